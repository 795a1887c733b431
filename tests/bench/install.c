/* install.c - refraft-bench install: what a follower's snapshot install
 * costs the node runtime in time and memory, from the first chunk staged
 * to the log's install transaction: once into a new node, then once more
 * over the state the first one left. */
#define _GNU_SOURCE /* mallinfo2 */

#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "internal.h" /* the snapshot hooks and the log the host holds */
#include "proc_cluster.h"
#include "tmpdir.h"

#define RUNS_MAX 100
#define REFS_MAX 100000000.0
#define SIZE_MAX_REF 1e15 /* a ref's size field; no bytes are written */
#define NODE_ID "n1"
#define TOKEN "refraft-bench-install-token"
#define DIR_LEN (TMPDIR_PATH_MAX + 16)

typedef struct install_args {
    uint64_t refs;
    uint32_t chunk;
    uint64_t size;
    uint32_t repeat;
    bool random_ids; /* ids in no order, as content addresses are */
} install_args;

/* A run's figures, in the order its JSON line gives them: seconds, then
 * KiB. */
enum {
    STAGE_S = 0,
    INSTALL_S,
    STAGE2_S,
    INSTALL2_S,
    HEAP_BEFORE,
    HEAP_STAGED,
    HEAP_INSTALLED,
    HEAP_INSTALLED2,
    RSS_ANON,
    RSS_PEAK,
    N_FIGURES
};
static const char *const figure_keys[N_FIGURES] = {
    "stage_s",
    "install_s",
    "second_stage_s",
    "second_install_s",
    "heap_before_kib",
    "heap_after_stage_kib",
    "heap_after_install_kib",
    "heap_after_second_install_kib",
    "rss_anon_after_kib",
    "rss_peak_kib"};
#define N_SECONDS 4 /* the figures in seconds come first */

typedef struct install_run {
    double v[N_FIGURES];
} install_run;

/* The chunk being staged: refs and the ids they point at. */
typedef struct chunk_buf {
    refraft_snapshot_ref *refs;
    char *ids; /* chunk * PROC_ID_CAP bytes */
} chunk_buf;

static void usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench install [--refs N] [--chunk C] [--size S] "
            "[--repeat R]\n"
            "                             [--random-ids]\n"
            "A single node (no peers, not running its loop) stages a "
            "reference snapshot\n"
            "of N refs (default 300000, at most %.0f), one per index, "
            "C refs a chunk\n"
            "(default %d, at most %d), each naming a record of S bytes "
            "(default 256;\n"
            "no record bytes are written), then installs it as a "
            "follower does; then a\n"
            "second snapshot of N refs over the state the first left.  "
            "Ids are in index\n"
            "order, or with --random-ids in none.  R runs (default 1, at "
            "most %d), each\n"
            "in a fresh directory under $TMPDIR (or /tmp): one JSON line "
            "each with the\n"
            "seconds to stage and to install (both snapshots), the heap "
            "in use (mallinfo2)\n"
            "before, after the first staging and after each install, "
            "RssAnon after and\n"
            "VmHWM (LMDB's file pages included); with R > 1, a last line "
            "with the medians.\n",
            REFS_MAX, HOST_SNAPSHOT_CHUNK, HOST_SNAPSHOT_CHUNK_MAX, RUNS_MAX);
}

#define ARGS_MAX 16

static int parse_args(int argc, char **argv, install_args *a)
{
    double refs = 300000, chunk = HOST_SNAPSHOT_CHUNK, size = 256, repeat = 1;
    const bench_opt opts[] = {{"--refs", 1, REFS_MAX, &refs},
                              {"--chunk", 1, HOST_SNAPSHOT_CHUNK_MAX, &chunk},
                              {"--size", 1, SIZE_MAX_REF, &size},
                              {"--repeat", 1, RUNS_MAX, &repeat}};
    /* --random-ids takes no value: the numeric options get the rest. */
    char *rest[ARGS_MAX];
    int n_rest = 0;
    bool random_ids = false;
    for (int i = 0; i < argc; i++) {
        if (i >= 2 && strcmp(argv[i], "--random-ids") == 0)
            random_ids = true;
        else if (n_rest < ARGS_MAX)
            rest[n_rest++] = argv[i];
        else
            return -1;
    }
    if (bench_parse_opts(n_rest, rest, opts, sizeof opts / sizeof opts[0]) != 0)
        return -1;
    *a = (install_args){(uint64_t)refs, (uint32_t)chunk, (uint64_t)size,
                        (uint32_t)repeat, random_ids};
    /* Counts: "--refs 1.5" is a mistake, not 1. */
    bool whole = (double)a->refs == refs && (double)a->chunk == chunk &&
                 (double)a->size == size && (double)a->repeat == repeat;
    return whole ? 0 : -1;
}

/* The malloc'ed bytes in use, mapped blocks included, in KiB. */
static double heap_kib(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)(mi.uordblks + mi.hblkhd) / 1024.0;
}

/* Start VmHWM over from the current RSS, so that each run's peak is its
 * own (Linux >= 4.0; where it is refused, the peak is the process's). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return;
    (void)fputs("5", f);
    (void)fclose(f);
}

static int chunk_alloc(chunk_buf *c, uint32_t chunk)
{
    c->refs = calloc(chunk, sizeof *c->refs);
    c->ids = malloc((size_t)chunk * PROC_ID_CAP);
    return c->refs != NULL && c->ids != NULL ? 0 : -1;
}

static void chunk_free(chunk_buf *c)
{
    free(c->refs);
    free(c->ids);
}

/* A bijection of 64-bit values (splitmix64's finalizer): ids from it
 * follow no order, as content addresses do. */
static uint64_t scramble(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Fill c with the n refs of indexes first.., as a leader's chunk. */
static void
chunk_fill(chunk_buf *c, const install_args *a, refraft_index first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        refraft_index index = first + i;
        char *id = c->ids + i * PROC_ID_CAP;
        size_t len =
            proc_record_id(a->random_ids ? scramble(index) : index, id);
        refraft_snapshot_ref *r = &c->refs[i];
        r->index = index;
        r->ref.id = (const uint8_t *)id;
        r->ref.id_len = (uint16_t)len;
        r->ref.size = a->size;
        /* Any 32 bytes do: nothing fetches the records. */
        memset(r->ref.digest, 0xa5, REFRAFT_DIGEST_LEN);
        host_put_u64(r->ref.digest, index);
    }
}

static int open_host(const char *dir, host **h)
{
    char err[256];
    host_config cfg = {.id = NODE_ID,
                       .listen_host = "127.0.0.1",
                       .listen_port = 0, /* an ephemeral port */
                       .data_dir = dir,
                       .token = TOKEN,
                       .log_level = HOST_LOG_WARN};
    int rv = host_create(&cfg, h, err, sizeof err);
    if (rv != 0) {
        fprintf(stderr, "refraft-bench install: cannot start the node: %s\n",
                err);
        return -1;
    }
    return 0;
}

/* Stage the snapshot meta describes chunk by chunk, as
 * host_snapshot_write gets it from the core (after: the last index of
 * the chunk before, 0 first): a->refs refs at the indexes up to its last
 * one. */
static int stage(host *h, const install_args *a,
                 const refraft_snapshot_meta *meta, chunk_buf *c)
{
    refraft_index first = meta->last_index - a->refs + 1, after = 0;
    for (uint64_t done = 0; done < a->refs;) {
        uint64_t left = a->refs - done;
        size_t n = left < a->chunk ? (size_t)left : a->chunk;
        chunk_fill(c, a, first + done, n);
        int rv = host_snapshot_write(h, meta, after, c->refs, n);
        if (rv != 0) {
            fprintf(stderr,
                    "refraft-bench install: staging the chunk after "
                    "%llu: %s\n",
                    (unsigned long long)after, refraft_strerror(rv));
            return -1;
        }
        done += n;
        after = first + done - 1;
    }
    return 0;
}

/* Install as the core does (src/core/snapshot.c, install()): the hull's
 * check, then the log's transaction, which runs the host's on_install. */
static int install(host *h, const refraft_snapshot_meta *meta)
{
    int rv = host_snapshot_install(h, meta);
    if (rv != 0) {
        fprintf(stderr,
                "refraft-bench install: host_snapshot_install: "
                "%s\n",
                refraft_strerror(rv));
        return -1;
    }
    rv = h->log.install(h->log.ctx, meta);
    if (rv != 0) {
        fprintf(stderr, "refraft-bench install: the log's install: %s (%s)\n",
                refraft_strerror(rv), refstore_errmsg(h->store));
        return -1;
    }
    return 0;
}

/* Stage and install meta's snapshot in h: its seconds into r. */
static int round_trip(host *h, const install_args *a,
                      const refraft_snapshot_meta *meta, chunk_buf *c,
                      install_run *r, int stage_s, int install_s, int heap)
{
    uint64_t start = bench_now_us();
    if (stage(h, a, meta, c) != 0)
        return -1;
    uint64_t staged = bench_now_us();
    if (heap == HEAP_INSTALLED)
        r->v[HEAP_STAGED] = heap_kib();
    if (install(h, meta) != 0)
        return -1;
    uint64_t installed = bench_now_us();
    r->v[heap] = heap_kib();
    r->v[stage_s] = (double)(staged - start) / 1e6;
    r->v[install_s] = (double)(installed - staged) / 1e6;
    return 0;
}

/* Two snapshots into h, filling r: N refs at indexes 1..N into the new
 * node, then N at N + 1..2N over the state the first one left, which the
 * second install empties. */
static int measure(host *h, const install_args *a, install_run *r)
{
    chunk_buf c = {NULL, NULL};
    if (chunk_alloc(&c, a->chunk) != 0) {
        fprintf(stderr, "refraft-bench install: out of memory\n");
        chunk_free(&c);
        return -1;
    }
    /* This node as the only voter, as of the configuration at index 1. */
    refraft_member self = {.id = NODE_ID, .address = "", .voter = true};
    refraft_snapshot_meta meta = {.last_index = a->refs,
                                  .last_term = 1,
                                  .config_index = 1,
                                  .members = &self,
                                  .n_members = 1};
    /* The chunk buffer above is the bench's own: allocated before the
     * first figure, it is not in the differences. */
    reset_peak_rss();
    r->v[HEAP_BEFORE] = heap_kib();
    int rv = round_trip(h, a, &meta, &c, r, STAGE_S, INSTALL_S, HEAP_INSTALLED);
    meta.last_index = 2 * a->refs;
    if (rv == 0)
        rv = round_trip(h, a, &meta, &c, r, STAGE2_S, INSTALL2_S,
                        HEAP_INSTALLED2);
    if (rv == 0) {
        r->v[RSS_ANON] = (double)proc_status_kib(0, "RssAnon");
        r->v[RSS_PEAK] = (double)proc_status_kib(0, "VmHWM");
    }
    chunk_free(&c);
    return rv;
}

/* One run in a fresh directory, removed afterwards whatever happened. */
static int run_once(const install_args *a, install_run *r)
{
    char base[TMPDIR_PATH_MAX], dir[DIR_LEN];
    if (tmpdir_create("refraft-bench-install", base, sizeof base) != 0) {
        fprintf(stderr, "refraft-bench install: no temporary directory: %s\n",
                strerror(errno));
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/%s", base, NODE_ID);
    host *h = NULL;
    int rv = open_host(dir, &h);
    if (rv == 0)
        rv = measure(h, a, r);
    host_destroy(h);
    if (tmpdir_remove(base) != 0) {
        fprintf(stderr, "refraft-bench install: removing %s: %s\n", base,
                strerror(errno));
        rv = -1;
    }
    return rv;
}

/* A run's JSON line; with runs > 0, the line of the medians of runs. */
static void
print_line(const install_args *a, const install_run *r, uint32_t runs)
{
    printf("{\"bench\":\"install\",\"refs\":%llu,\"chunk\":%u,\"ids\":\"%s\"",
           (unsigned long long)a->refs, a->chunk,
           a->random_ids ? "random" : "sequence");
    if (runs > 0)
        printf(",\"runs\":%u", runs);
    for (size_t f = 0; f < N_FIGURES; f++)
        printf(f < N_SECONDS ? ",\"%s\":%.6f" : ",\"%s\":%.0f", figure_keys[f],
               r->v[f]);
    printf("}\n");
    fflush(stdout);
}

/* The median of each figure over the n runs. */
static install_run medians(const install_run *runs, uint32_t n)
{
    install_run m;
    double v[RUNS_MAX];
    for (size_t f = 0; f < N_FIGURES; f++) {
        for (uint32_t i = 0; i < n; i++)
            v[i] = runs[i].v[f];
        m.v[f] = bench_median(v, n);
    }
    return m;
}

int bench_install(int argc, char **argv)
{
    install_args a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr, "refraft-bench install: bad arguments: each option "
                        "takes a whole number in its range\n");
        usage();
        return 2;
    }
    /* As `refraft node` does first: LMDB's per-transaction buffers stay
     * mapped between writes (src/host/tune.c). */
    host_tune_malloc();
    install_run runs[RUNS_MAX];
    int rv = 0;
    for (uint32_t i = 0; i < a.repeat && rv == 0; i++) {
        rv = run_once(&a, &runs[i]);
        if (rv == 0)
            print_line(&a, &runs[i], 0);
        if (tmpdir_interrupted()) {
            fprintf(stderr, "refraft-bench install: interrupted\n");
            return 130;
        }
    }
    if (rv != 0)
        return 1;
    if (a.repeat > 1) {
        install_run m = medians(runs, a.repeat);
        print_line(&a, &m, a.repeat);
    }
    return 0;
}
