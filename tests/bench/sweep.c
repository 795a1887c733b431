/* sweep.c - refraft-bench sweep: how fast the sweeper refetches the
 * records of a follower that lost them all. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bench.h"
#include "refraft/memlog.h"
#include "refraft/sweeper.h"

#define RUNS_MAX 1000
#define ENTRIES_MAX 10000000u
#define RECORD_MAX (1u << 20)
#define ID_LEN 12 /* "r" and 11 digits */

/*
 * The setting.  A follower, "n2", restarts on a log of N REF entries with
 * every record gone (lost_upto N); its one peer, "n1", holds them all.  The
 * fetcher answers from memory with no latency: each request the sweeper
 * starts is answered on the next turn of the loop (never from inside
 * start()), with bytes generated from the entry's index.  The follower's
 * store keeps ids only (a hash set): what is measured is the sweeper and
 * the core around it (scan, presence checks, SHA-256 of every record, the
 * data index advancing on each refraft_records_stored), not a disk.
 */
typedef struct sweep_args {
    uint32_t entries;
    uint32_t size;
    uint32_t in_flight;
    uint32_t repeat;
} sweep_args;

typedef struct id_set {
    char (*ids)[ID_LEN];
    bool *used;
    size_t mask;
    size_t n;
} id_set;

typedef struct pending {
    uint64_t token;
    refraft_index index;
} pending;

typedef struct sweep_run {
    const sweep_args *a;
    uint8_t (*digests)[REFRAFT_DIGEST_LEN]; /* of record i at [i - 1] */
    uint8_t *bytes;                         /* scratch for one record */
    id_set stored;
    refraft_memlog *memlog;
    refraft_log_api log;
    refraft_node *node;
    refraft_sweeper *sw;
    pending *queue; /* fetches started, not yet answered */
    size_t n_queued;
    size_t queue_cap;
    bool failed;
} sweep_run;

static void usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench sweep [--entries N] [--size B] "
            "[--in-flight F] [--repeat R]\n"
            "Records per second and MB/s a follower that lost every record "
            "of an\nN-entry log (default 100000) recovers through an "
            "in-memory fetcher with\nno latency: records of B bytes "
            "(default 1024), F fetches in flight\n(default 16), the median "
            "of R runs (default 3).\n");
}

static int parse_args(int argc, char **argv, sweep_args *a)
{
    *a = (sweep_args){
        .entries = 100000, .size = 1024, .in_flight = 16, .repeat = 3};
    if (argc % 2 != 0)
        return -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        char *end = NULL;
        double v = strtod(argv[i + 1], &end);
        if (*end != '\0' || v < 1)
            return -1;
        if (strcmp(argv[i], "--entries") == 0 && v <= ENTRIES_MAX)
            a->entries = (uint32_t)v;
        else if (strcmp(argv[i], "--size") == 0 && v <= RECORD_MAX)
            a->size = (uint32_t)v;
        else if (strcmp(argv[i], "--in-flight") == 0 && v <= 4096)
            a->in_flight = (uint32_t)v;
        else if (strcmp(argv[i], "--repeat") == 0 && v <= RUNS_MAX)
            a->repeat = (uint32_t)v;
        else
            return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- records ---------------------------------------------------------- */

static void record_id(refraft_index index, char id[ID_LEN])
{
    char buf[32];
    snprintf(buf, sizeof(buf), "r%011llu", (unsigned long long)index);
    memcpy(id, buf, ID_LEN);
}

/* The bytes of record index: a pattern that differs per record. */
static void record_bytes(refraft_index index, uint8_t *out, size_t size)
{
    uint64_t x = index * 0x9E3779B97F4A7C15ULL;
    for (size_t k = 0; k < size; k++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ULL;
        out[k] = (uint8_t)(x >> 56);
    }
}

static size_t id_hash(const uint8_t *id, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t k = 0; k < len; k++)
        h = (h ^ id[k]) * 1099511628211ULL;
    return (size_t)h;
}

static int set_init(id_set *s, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    s->ids = calloc(cap, sizeof(*s->ids));
    s->used = calloc(cap, sizeof(*s->used));
    s->mask = cap - 1;
    s->n = 0;
    return s->ids != NULL && s->used != NULL ? 0 : -1;
}

static void set_free(id_set *s)
{
    free(s->ids);
    free(s->used);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t set_slot(const id_set *s, const uint8_t *id, size_t len)
{
    size_t k = id_hash(id, len) & s->mask;
    while (s->used[k] && !(len == ID_LEN && memcmp(s->ids[k], id, len) == 0))
        k = (k + 1) & s->mask;
    return k;
}

/* ---- the follower's record store -------------------------------------- */

static int
store_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    sweep_run *r = ctx;
    for (size_t k = 0; k < n; k++)
        present[k] =
            r->stored.used[set_slot(&r->stored, refs[k].id, refs[k].id_len)];
    return 0;
}

static int
store_put(void *ctx, const refraft_ref *ref, const void *bytes, size_t len)
{
    sweep_run *r = ctx;
    (void)bytes;
    (void)len;
    if (ref->id_len != ID_LEN || r->stored.n >= r->stored.mask)
        return REFRAFT_EINVAL;
    size_t k = set_slot(&r->stored, ref->id, ref->id_len);
    if (!r->stored.used[k]) {
        memcpy(r->stored.ids[k], ref->id, ID_LEN);
        r->stored.used[k] = true;
        r->stored.n++;
    }
    return 0;
}

/* ---- the fetcher ------------------------------------------------------ */

static int fetch_start(void *ctx, const refraft_fetch_request *req)
{
    sweep_run *r = ctx;
    if (r->n_queued == r->queue_cap) {
        size_t cap = r->queue_cap > 0 ? r->queue_cap * 2 : 64;
        pending *q = realloc(r->queue, cap * sizeof(*q));
        if (q == NULL)
            return REFRAFT_ENOMEM;
        r->queue = q;
        r->queue_cap = cap;
    }
    r->queue[r->n_queued++] = (pending){req->token, req->index};
    return 0;
}

/* Answer every queued fetch as n1 would: the record's bytes.  Fetches
 * started meanwhile wait for the next call, as they would on a real
 * event loop. */
static int answer_queued(sweep_run *r)
{
    size_t n = r->n_queued;
    pending *batch = malloc((n > 0 ? n : 1) * sizeof(*batch));
    if (batch == NULL)
        return REFRAFT_ENOMEM;
    if (n > 0)
        memcpy(batch, r->queue, n * sizeof(*batch));
    r->n_queued = 0;
    int rv = 0;
    for (size_t k = 0; k < n && rv == 0; k++) {
        record_bytes(batch[k].index, r->bytes, r->a->size);
        refraft_fetch_result res = {.token = batch[k].token,
                                    .status = REFRAFT_FETCH_OK,
                                    .bytes = r->bytes,
                                    .len = r->a->size,
                                    .peer_data_index = r->a->entries};
        rv = refraft_sweeper_on_fetch(r->sw, &res);
    }
    free(batch);
    return rv;
}

/* ---- the node's hull -------------------------------------------------- */

static int hull_send(void *ctx, const char *to, const refraft_msg *msg)
{
    (void)ctx;
    (void)to;
    (void)msg;
    return 0; /* n1 does not exist: reports to it are lost */
}

static uint64_t hull_now(void *ctx)
{
    (void)ctx;
    return (uint64_t)(now_s() * 1000);
}

static uint64_t hull_random(void *ctx)
{
    (void)ctx;
    return 12345;
}

static int hull_apply(void *ctx, refraft_index index, const refraft_entry *e)
{
    (void)ctx;
    (void)index;
    (void)e;
    return 0;
}

static void hull_event(void *ctx, const refraft_event *event)
{
    sweep_run *r = ctx;
    if (event->type == REFRAFT_EVENT_DATA && r->sw != NULL)
        refraft_sweeper_kick(r->sw);
}

/* ---- one run ---------------------------------------------------------- */

/* n1's log of N REF entries, as the follower held it before the loss. */
static int fill_log(sweep_run *r)
{
    refraft_entry e[256];
    char ids[256][ID_LEN];
    uint32_t n = r->a->entries;
    for (uint32_t done = 0; done < n;) {
        uint32_t m = n - done < 256 ? n - done : 256;
        for (uint32_t k = 0; k < m; k++) {
            refraft_index index = done + k + 1;
            record_id(index, ids[k]);
            memset(&e[k], 0, sizeof(e[k]));
            e[k].term = 1;
            e[k].type = REFRAFT_ENTRY_REF;
            e[k].ref.id = (const uint8_t *)ids[k];
            e[k].ref.id_len = ID_LEN;
            e[k].ref.size = r->a->size;
            memcpy(e[k].ref.digest, r->digests[index - 1], REFRAFT_DIGEST_LEN);
        }
        int rv = r->log.append(r->log.ctx, e, m);
        if (rv != 0)
            return rv;
        done += m;
    }
    return r->log.save_hard_state(r->log.ctx, 1, "n1");
}

static int
hull_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    return store_have(ctx, refs, n, present);
}

static int start_node(sweep_run *r)
{
    static const char *const peers[] = {"n1"};
    refraft_config config = {.id = "n2", .peers = peers, .n_peers = 1};
    refraft_hull hull = {.version = REFRAFT_HULL_VERSION,
                         .ctx = r,
                         .send = hull_send,
                         .now_ms = hull_now,
                         .random = hull_random,
                         .apply = hull_apply,
                         .on_event = hull_event,
                         .have_records = hull_have};
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_node_create(&config, &hull, &r->log, &r->node, err,
                                 sizeof(err));
    if (rv != 0) {
        fprintf(stderr, "refraft-bench: node: %s\n", err);
        return rv;
    }
    refraft_sweeper_config sc = {
        .node = r->node,
        .log = r->log,
        .store = {.ctx = r, .have = store_have, .put = store_put},
        .fetcher = {.ctx = r, .start = fetch_start},
        .clock_ctx = r,
        .now_ms = hull_now,
        .random = hull_random,
        .max_in_flight = r->a->in_flight,
        .lost_upto = r->a->entries};
    rv = refraft_sweeper_create(&sc, &r->sw, err, sizeof(err));
    if (rv != 0)
        fprintf(stderr, "refraft-bench: sweeper: %s\n", err);
    return rv;
}

/* Drive the sweeper until the data index reaches the end of the log. */
static int recover(sweep_run *r)
{
    refraft_index last = r->a->entries;
    while (refraft_data_index(r->node) < last) {
        if (refraft_sweeper_next_deadline(r->sw) <= hull_now(r)) {
            int rv = refraft_sweeper_tick(r->sw);
            if (rv != 0)
                return rv;
        }
        int rv = answer_queued(r);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static void run_free(sweep_run *r)
{
    refraft_sweeper_destroy(r->sw);
    refraft_node_destroy(r->node);
    refraft_memlog_destroy(r->memlog);
    set_free(&r->stored);
    free(r->queue);
}

/* One run; *rate gets records per second. */
static int run_once(const sweep_args *a, uint8_t (*digests)[32], uint8_t *bytes,
                    double *rate, uint64_t *fetched)
{
    sweep_run r;
    memset(&r, 0, sizeof(r));
    r.a = a;
    r.digests = digests;
    r.bytes = bytes;
    int rv = set_init(&r.stored, a->entries);
    if (rv == 0)
        rv = refraft_memlog_create(&r.memlog);
    if (rv == 0) {
        refraft_memlog_api(r.memlog, &r.log);
        rv = fill_log(&r);
    }
    if (rv == 0)
        rv = start_node(&r);
    double t0 = now_s();
    if (rv == 0)
        rv = recover(&r);
    double elapsed = now_s() - t0;
    if (rv == 0) {
        refraft_sweeper_stats s;
        refraft_sweeper_get_stats(r.sw, &s);
        *fetched = s.fetched;
        if (s.fetched != a->entries || s.digest_failures != 0)
            rv = REFRAFT_ECORRUPT;
    }
    *rate = elapsed > 0 ? (double)a->entries / elapsed : 0;
    run_free(&r);
    if (rv != 0)
        fprintf(stderr, "refraft-bench: sweep run failed: %s\n",
                refraft_strerror(rv));
    return rv;
}

/* The digests of every record, computed once, outside the runs. */
static uint8_t (*make_digests(const sweep_args *a, uint8_t *bytes))[32]
{
    uint8_t(*d)[32] = malloc((size_t)a->entries * sizeof(*d));
    if (d == NULL)
        return NULL;
    for (uint32_t i = 0; i < a->entries; i++) {
        unsigned int len = 0;
        record_bytes(i + 1, bytes, a->size);
        if (EVP_Digest(bytes, a->size, d[i], &len, EVP_sha256(), NULL) != 1) {
            free(d);
            return NULL;
        }
    }
    return d;
}

int bench_sweep(int argc, char **argv)
{
    sweep_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    uint8_t *bytes = malloc(a.size);
    uint8_t(*digests)[32] = bytes != NULL ? make_digests(&a, bytes) : NULL;
    if (digests == NULL) {
        fprintf(stderr, "refraft-bench: out of memory\n");
        free(bytes);
        return 1;
    }
    double rates[RUNS_MAX];
    uint64_t fetched = 0;
    int rv = 0;
    for (uint32_t i = 0; i < a.repeat && rv == 0; i++) {
        uint64_t n = 0;
        rv = run_once(&a, digests, bytes, &rates[i], &n);
        fetched += n;
    }
    free(digests);
    free(bytes);
    if (rv != 0)
        return 1;
    double median = bench_median(rates, a.repeat);
    double mb = (double)a.size / 1e6;
    printf("{\"bench\":\"sweep\",\"entries\":%u,\"record_bytes\":%u,"
           "\"in_flight\":%u,\"runs\":%u,\"records_per_s\":%.0f,"
           "\"mb_per_s\":%.1f,\"min\":%.0f,\"max\":%.0f,\"fetched\":%llu}\n",
           a.entries, a.size, a.in_flight, a.repeat, median, median * mb,
           rates[0], rates[a.repeat - 1], (unsigned long long)fetched);
    return 0;
}
