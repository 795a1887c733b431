/* http_cluster.c - refraft-bench cluster: commits per second and
 * propose-to-commit latency of a 3-node cluster of real processes on
 * loopback, over HTTP, on refstore with sync on. */
#define _GNU_SOURCE /* getline, strdup */

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "cluster.h"
#include "host.h"
#include "util.h"

#define WINDOWS_MAX 16
#define RUNS_MAX 100
#define SIZE_MAX_BYTES (1u << 20)
#define WARMUP_S 1.0
/* The followers' election time-out is long, the leader's short: the
 * process that generates the load is the one that leads. */
#define LEADER_ELECTION_MS 1000
#define FOLLOWER_ELECTION_MS "5000"
#define START_TIMEOUT_MS 20000
#define LEADER_TIMEOUT_MS 20000

typedef struct cluster_args {
    unsigned windows[WINDOWS_MAX];
    size_t n_windows;
    unsigned size;
    double seconds;
    unsigned repeat;
    bool append_before_send;
    bool limit;      /* also measure the disk (bench_limit) for the ratios */
    bool random_ids; /* ids: the records' SHA-256, not a sequence */
} cluster_args;

typedef enum phase { WAIT_LEADER, WARMUP, MEASURE, DRAIN, DONE } phase;

typedef struct load load;

/* One write in flight: its record's bytes stay here until it is done. */
typedef struct slot {
    load *l;
    uint64_t t0_us;
    bool measured; /* started inside the measured window */
    uint8_t *bytes;
} slot;

struct load {
    const cluster_args *a;
    phase ph;
    size_t w;     /* which window size */
    unsigned run; /* which repeat */
    uint64_t phase_end_us;
    uint64_t leader_deadline_us;
    uint64_t seq;
    slot *slots;
    size_t *free_slots;
    size_t n_free;
    size_t inflight;
    /* The measured window. */
    uint64_t measure_start_us;
    uint64_t committed;
    double *lat;
    size_t n_lat, lat_cap;
    uint64_t failed;
    char first_failure[256];
    /* Medians over the runs of the current window size. */
    double rate[RUNS_MAX], p50[RUNS_MAX], p99[RUNS_MAX], max[RUNS_MAX];
    disk_limit limit_one, limit_batch;
    bool have_limit;
    int status;
    volatile sig_atomic_t stop;
};

/* Resident anonymous memory of a process, in KiB: the heap and stacks,
 * not LMDB's file-backed map.  0 when unknown. */
static uint64_t rss_anon_kib(const char *pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    uint64_t kib = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "RssAnon:", 8) == 0)
            kib = strtoull(line + 8, NULL, 10);
    fclose(f);
    return kib;
}

static void
on_done(void *ctx, unsigned status, refraft_index index, const char *why)
{
    (void)index;
    slot *s = ctx;
    load *l = s->l;
    if (status != 201) {
        if (l->failed++ == 0)
            snprintf(l->first_failure, sizeof l->first_failure, "%u %s", status,
                     why);
    } else if (s->measured && l->ph == MEASURE) {
        if (l->n_lat == l->lat_cap) {
            size_t cap = l->lat_cap ? 2 * l->lat_cap : 65536;
            double *p = realloc(l->lat, cap * sizeof *p);
            if (p != NULL) {
                l->lat = p;
                l->lat_cap = cap;
            }
        }
        if (l->n_lat < l->lat_cap)
            l->lat[l->n_lat++] = (double)(bench_now_us() - s->t0_us);
        l->committed++;
    }
    l->free_slots[l->n_free++] = (size_t)(s - l->slots);
    l->inflight--;
}

static void fill(load *l, host *h)
{
    unsigned window = l->a->windows[l->w];
    while (l->inflight < window && l->n_free > 0) {
        slot *s = &l->slots[l->free_slots[l->n_free - 1]];
        uint64_t seq = ++l->seq;
        memcpy(s->bytes, &seq,
               sizeof seq < l->a->size ? sizeof seq : l->a->size);
        s->t0_us = bench_now_us();
        s->measured = l->ph == MEASURE;
        /* A log's records have ids in order (offsets, sequence numbers):
         * new ones go to the end of the store's tree. */
        char id[32];
        int id_len =
            l->a->random_ids ? 0 : snprintf(id, sizeof id, "r%016" PRIx64, seq);
        if (host_write(h, (const uint8_t *)id, (size_t)id_len, s->bytes,
                       l->a->size, on_done, s) != 0)
            return; /* this turn's batch is full */
        l->n_free--;
        l->inflight++;
    }
}

static void print_window(load *l)
{
    unsigned n = l->a->repeat;
    double rate = bench_median(l->rate, n), p50 = bench_median(l->p50, n);
    double p99 = bench_median(l->p99, n), max = bench_median(l->max, n);
    printf("{\"bench\":\"cluster\",\"nodes\":3,\"inflight\":%u,"
           "\"record_bytes\":%u,\"seconds\":%.1f,\"runs\":%u,"
           "\"ids\":\"%s\",\"parallel_append\":%s,\"commits_per_s\":%.0f,\"p50_"
           "us\":%.0f,"
           "\"p99_us\":%.0f,\"max_us\":%.0f,\"leader_rss_anon_kib\":%" PRIu64,
           l->a->windows[l->w], l->a->size, l->a->seconds, n,
           l->a->random_ids ? "sha256" : "sequence",
           l->a->append_before_send ? "false" : "true", rate, p50, p99, max,
           rss_anon_kib("self"));
    if (l->have_limit)
        printf(",\"disk_txns_per_s\":%.0f,\"disk_sync_p50_us\":%.0f,"
               "\"disk_puts_per_s_batch1024\":%.0f,"
               "\"ratio_to_disk_batch1024\":%.3f,"
               "\"p99_over_disk_sync_p50\":%.2f",
               l->limit_one.txns_per_s, l->limit_one.p50_us,
               l->limit_batch.puts_per_s, rate / l->limit_batch.puts_per_s,
               p99 / l->limit_one.p50_us);
    printf(",\"failed\":%" PRIu64 "}\n", l->failed);
    fflush(stdout);
}

/* The end of a measured window: its figures, then the next run, the
 * next window size, or the end. */
static void end_run(load *l)
{
    double secs = (double)(bench_now_us() - l->measure_start_us) / 1e6;
    unsigned r = l->run;
    l->rate[r] = (double)l->committed / secs;
    if (l->n_lat > 0) {
        l->p50[r] = bench_median(l->lat, l->n_lat);
        l->p99[r] = l->lat[(size_t)((double)(l->n_lat - 1) * 0.99)];
        l->max[r] = l->lat[l->n_lat - 1];
    } else {
        l->p50[r] = l->p99[r] = l->max[r] = 0;
    }
    l->ph = DRAIN;
}

static void next_after_drain(load *l)
{
    if (++l->run == l->a->repeat) {
        print_window(l);
        l->run = 0;
        if (++l->w == l->a->n_windows) {
            l->ph = DONE;
            l->stop = 1;
            return;
        }
    }
    l->ph = WARMUP;
    l->phase_end_us = bench_now_us() + (uint64_t)(WARMUP_S * 1e6);
}

static void on_turn(void *ctx, host *h)
{
    load *l = ctx;
    uint64_t now = bench_now_us();
    const refraft_node *node = host_node(h);
    switch (l->ph) {
    case WAIT_LEADER:
        if (refraft_role(node) == REFRAFT_LEADER &&
            refraft_commit_index(node) >= refraft_last_index(node)) {
            l->ph = WARMUP;
            l->phase_end_us = now + (uint64_t)(WARMUP_S * 1e6);
        } else if (now > l->leader_deadline_us) {
            fprintf(stderr, "refraft-bench cluster: the load's node did "
                            "not become leader\n");
            l->status = 1;
            l->stop = 1;
        }
        return;
    case WARMUP:
        if (now >= l->phase_end_us) {
            l->ph = MEASURE;
            l->measure_start_us = now;
            l->phase_end_us = now + (uint64_t)(l->a->seconds * 1e6);
            l->committed = 0;
            l->n_lat = 0;
        }
        break;
    case MEASURE:
        if (now >= l->phase_end_us) {
            end_run(l);
            return;
        }
        break;
    case DRAIN:
        if (l->inflight == 0)
            next_after_drain(l);
        return;
    case DONE:
        return;
    }
    if (refraft_role(node) != REFRAFT_LEADER) {
        fprintf(stderr, "refraft-bench cluster: the leader lost its "
                        "leadership\n");
        l->status = 1;
        l->stop = 1;
        return;
    }
    fill(l, h);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench cluster [--inflight W[,W...]] [--size S] "
            "[--seconds T]\n"
            "                             [--repeat R] [--append-before-send] "
            "[--no-limit]\n"
            "                             [--random-ids]\n"
            "  3 nodes on 127.0.0.1: this process leads and writes through "
            "host_write();\n"
            "  two `refraft node` processes follow.  One JSON line per W "
            "(default 1,16,256,1024).\n"
            "  Record ids run in sequence, as a log's do; --random-ids uses "
            "their SHA-256.\n");
    return 2;
}

static int parse(int argc, char **argv, cluster_args *a)
{
    static const unsigned defaults[] = {1, 16, 256, 1024};
    memset(a, 0, sizeof *a);
    memcpy(a->windows, defaults, sizeof defaults);
    a->n_windows = 4;
    a->size = 256;
    a->seconds = 5;
    a->repeat = 3;
    a->limit = true;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--append-before-send") == 0) {
            a->append_before_send = true;
            continue;
        }
        if (strcmp(o, "--no-limit") == 0) {
            a->limit = false;
            continue;
        }
        if (strcmp(o, "--random-ids") == 0) {
            a->random_ids = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        if (strcmp(o, "--inflight") == 0) {
            a->n_windows = 0;
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t != NULL;
                 t = strtok_r(NULL, ",", &save)) {
                unsigned w = (unsigned)strtoul(t, NULL, 10);
                if (w < 1 || w > 1024 || a->n_windows == WINDOWS_MAX) {
                    free(copy);
                    return -1;
                }
                a->windows[a->n_windows++] = w;
            }
            free(copy);
        } else if (strcmp(o, "--size") == 0) {
            a->size = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(o, "--seconds") == 0) {
            a->seconds = strtod(v, NULL);
        } else if (strcmp(o, "--repeat") == 0) {
            a->repeat = (unsigned)strtoul(v, NULL, 10);
        } else {
            return -1;
        }
    }
    bool ok = a->n_windows > 0 && a->size >= 8 && a->size <= SIZE_MAX_BYTES &&
              a->seconds > 0 && a->seconds <= 3600 && a->repeat >= 1 &&
              a->repeat <= RUNS_MAX;
    return ok ? 0 : -1;
}

/* The token cli_cluster_init wrote, without its newline. */
static int read_token(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(out, (int)cap, f) == NULL) {
        if (f != NULL)
            fclose(f);
        fprintf(stderr, "refraft-bench cluster: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int run_leader(load *l, cli_cluster *c)
{
    char token[256];
    if (read_token(c->token_file, token, sizeof token) != 0)
        return -1;
    host_peer_config peers[2];
    for (size_t i = 1; i < 3; i++)
        peers[i - 1] = (host_peer_config){c->nodes[i].id, c->nodes[i].url};
    host_config cfg = {
        .id = c->nodes[0].id,
        .listen_port = c->nodes[0].port,
        .url = c->nodes[0].url,
        .data_dir = c->nodes[0].dir,
        .peers = peers,
        .n_peers = 2,
        .token = token,
        .election_timeout_ms = LEADER_ELECTION_MS,
        .log_level = HOST_LOG_WARN,
        .on_turn = on_turn,
        .turn_ctx = l,
        .append_before_send = l->a->append_before_send,
    };
    host *h = NULL;
    char err[512];
    if (host_create(&cfg, &h, err, sizeof err) != 0) {
        fprintf(stderr, "refraft-bench cluster: %s\n", err);
        return -1;
    }
    int rv = 0;
    for (size_t i = 1; i < 3 && rv == 0; i++)
        rv = cli_cluster_start_node(c, i, START_TIMEOUT_MS);
    if (rv == 0) {
        l->leader_deadline_us = bench_now_us() + LEADER_TIMEOUT_MS * 1000u;
        rv = host_run(h, &l->stop);
    }
    host_destroy(h);
    if (l->failed > 0)
        fprintf(stderr,
                "refraft-bench cluster: %" PRIu64 " writes failed; the "
                "first: %s\n",
                l->failed, l->first_failure);
    return rv == 0 ? l->status : -1;
}

static int load_init(load *l, const cluster_args *a)
{
    memset(l, 0, sizeof *l);
    l->a = a;
    unsigned most = 0;
    for (size_t i = 0; i < a->n_windows; i++)
        most = a->windows[i] > most ? a->windows[i] : most;
    l->slots = calloc(most, sizeof *l->slots);
    l->free_slots = calloc(most, sizeof *l->free_slots);
    if (l->slots == NULL || l->free_slots == NULL)
        return -1;
    for (unsigned i = 0; i < most; i++) {
        l->slots[i].l = l;
        l->slots[i].bytes = malloc(a->size);
        if (l->slots[i].bytes == NULL)
            return -1;
        memset(l->slots[i].bytes, 0x5a, a->size);
        l->free_slots[l->n_free++] = most - 1 - i;
    }
    return 0;
}

static void load_free(load *l)
{
    if (l->slots != NULL)
        for (size_t i = 0; i < l->n_free + l->inflight; i++)
            free(l->slots[i].bytes);
    free(l->slots);
    free(l->free_slots);
    free(l->lat);
}

/* Where `refraft` is: beside this executable. */
static int find_refraft(char *out, size_t cap)
{
    char self[4096];
    if (cli_self_exe(self, sizeof self) != 0)
        return -1;
    snprintf(out, cap, "%s/refraft", dirname(self));
    struct stat st;
    if (stat(out, &st) != 0) {
        fprintf(stderr, "refraft-bench cluster: %s: %s\n", out,
                strerror(errno));
        return -1;
    }
    return 0;
}

int bench_http_cluster(int argc, char **argv)
{
    cluster_args a;
    if (parse(argc, argv, &a) != 0)
        return usage();
    char exe[4096], dir[4096];
    if (find_refraft(exe, sizeof exe) != 0)
        return 1;
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/refraft-bench-cluster-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("refraft-bench cluster: mkdtemp");
        return 1;
    }
    load l;
    cli_cluster c;
    int rv = load_init(&l, &a);
    if (rv == 0 && a.limit)
        rv = bench_limit_repeat(dir, 1, 1.0, 3, &l.limit_one) == 0 &&
                     bench_limit_repeat(dir, 1024, 1.0, 3, &l.limit_batch) == 0
                 ? 0
                 : -1;
    l.have_limit = a.limit && rv == 0;
    if (rv == 0)
        rv = cli_cluster_init(&c, dir, 3, NULL, exe, true);
    if (rv == 0) {
        c.log_level = "warn";
        c.election_ms = FOLLOWER_ELECTION_MS;
        for (size_t i = 0; i < 3 && rv == 0; i++)
            rv = cli_cluster_new_port(&c, i);
        if (rv == 0)
            rv = mkdir(c.nodes[0].dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
        if (rv == 0)
            rv = run_leader(&l, &c);
        uint64_t follower_kib = 0;
        for (size_t i = 1; i < 3; i++) {
            char pid[32];
            snprintf(pid, sizeof pid, "%d", (int)c.nodes[i].pid);
            uint64_t k = c.nodes[i].pid > 0 ? rss_anon_kib(pid) : 0;
            follower_kib = k > follower_kib ? k : follower_kib;
        }
        if (rv == 0)
            fprintf(stderr,
                    "refraft-bench cluster: followers' resident anonymous "
                    "memory at the end: at most %" PRIu64 " KiB\n",
                    follower_kib);
        if (cli_cluster_stop_all(&c, 10000) != 0)
            rv = -1;
        cli_cluster_free(&c);
    }
    load_free(&l);
    cli_rmtree(dir);
    return rv == 0 ? 0 : 1;
}
