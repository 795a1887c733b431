/* http_cluster.c - refraft-bench cluster: commits per second and
 * propose-to-commit latency of a 3-node cluster of real processes on
 * loopback, over HTTP, on refstore with sync on.  This process leads and
 * writes through host_write(); --client-http (client_http.c) writes
 * through POST /v1/records instead. */
#define _GNU_SOURCE /* strdup */

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_cluster.h"

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
    const proc_cluster *p;
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
    uint64_t measure_start_us;
    cluster_runs runs;
    uint64_t failed;
    char first_failure[256];
    const disk_limit *limit_one, *limit_batch; /* NULL: not measured */
    int status;
    volatile sig_atomic_t stop;
};

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
        cluster_runs_add(&l->runs, (double)(bench_now_us() - s->t0_us));
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
        proc_record_bytes(seq, s->bytes, l->a->size);
        s->t0_us = bench_now_us();
        s->measured = l->ph == MEASURE;
        char id[PROC_ID_CAP];
        size_t id_len = l->a->random_ids ? 0 : proc_record_id(seq, id);
        if (host_write(h, (const uint8_t *)id, id_len, s->bytes, l->a->size,
                       on_done, s) != 0)
            return; /* this turn's batch is full */
        l->n_free--;
        l->inflight++;
    }
}

static void print_window(load *l)
{
    cluster_line ln = {.inflight = l->a->windows[l->w],
                       .leader_kib = proc_rss_anon_kib(0),
                       .failed = l->failed,
                       .one = l->limit_one,
                       .batch = l->limit_batch};
    cluster_print_window(l->a, &l->runs, &ln);
}

/* The end of a measured window: its figures, then the next run, the
 * next window size, or the end. */
static void end_run(load *l)
{
    double secs = (double)(bench_now_us() - l->measure_start_us) / 1e6;
    cluster_runs_end(&l->runs, l->run, secs);
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
    l->phase_end_us = bench_now_us() + (uint64_t)(CLUSTER_WARMUP_S * 1e6);
}

static void on_turn(void *ctx, host *h)
{
    load *l = ctx;
    uint64_t now = bench_now_us();
    switch (l->ph) {
    case WAIT_LEADER: {
        int ready = proc_leader_ready(l->p, h, &l->leader_deadline_us);
        if (ready > 0) {
            l->ph = WARMUP;
            l->phase_end_us = now + (uint64_t)(CLUSTER_WARMUP_S * 1e6);
        } else if (ready < 0) {
            l->status = 1;
            l->stop = 1;
        }
        return;
    }
    case WARMUP:
        if (now >= l->phase_end_us) {
            l->ph = MEASURE;
            l->measure_start_us = now;
            l->phase_end_us = now + (uint64_t)(l->a->seconds * 1e6);
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
    if (refraft_role(host_node(h)) != REFRAFT_LEADER) {
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
            "                             [--random-ids] [--client-http]\n"
            "  3 nodes on 127.0.0.1: this process leads and writes through "
            "host_write();\n"
            "  two `refraft node` processes follow.  One JSON line per W "
            "(default 1,16,256,1024).\n"
            "  Record ids run in sequence, as a log's do; --random-ids uses "
            "their SHA-256.\n"
            "  --client-http: three `refraft node` processes; this process "
            "is their client,\n"
            "  keeping W POST /v1/records in flight to the leader over "
            "HTTP/1.1 keep-alive\n"
            "  (no --append-before-send).\n");
    return 2;
}

static int parse_windows(const char *v, cluster_args *a)
{
    a->n_windows = 0;
    char *copy = strdup(v), *save = NULL;
    if (copy == NULL)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        unsigned w = (unsigned)strtoul(t, NULL, 10);
        if (w < 1 || w > 1024 || a->n_windows == CLUSTER_WINDOWS_MAX) {
            free(copy);
            return -1;
        }
        a->windows[a->n_windows++] = w;
    }
    free(copy);
    return 0;
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
        bool *flag = strcmp(o, "--append-before-send") == 0
                         ? &a->append_before_send
                     : strcmp(o, "--random-ids") == 0  ? &a->random_ids
                     : strcmp(o, "--client-http") == 0 ? &a->client_http
                                                       : NULL;
        if (flag != NULL) {
            *flag = true;
            continue;
        }
        if (strcmp(o, "--no-limit") == 0) {
            a->limit = false;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        if (strcmp(o, "--inflight") == 0) {
            if (parse_windows(v, a) != 0)
                return -1;
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
    bool ok = a->n_windows > 0 && a->size >= 8 && a->size <= (1u << 20) &&
              a->seconds > 0 && a->seconds <= 3600 && a->repeat >= 1 &&
              a->repeat <= CLUSTER_RUNS_MAX &&
              !(a->client_http && a->append_before_send);
    return ok ? 0 : -1;
}

static int load_init(load *l, const cluster_args *a, const proc_cluster *p)
{
    memset(l, 0, sizeof *l);
    l->a = a;
    l->p = p;
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
    cluster_runs_free(&l->runs);
}

/* The in-process mode: node 0 leads in this process and writes. */
static int run_in_process(const cluster_args *a, proc_cluster *p,
                          const disk_limit *one, const disk_limit *batch)
{
    load l;
    int rv = load_init(&l, a, p);
    if (rv == 0) {
        l.limit_one = one;
        l.limit_batch = batch;
        rv = proc_cluster_run_leader(p, on_turn, &l, a->append_before_send,
                                     &l.stop);
    }
    if (l.failed > 0)
        fprintf(stderr,
                "refraft-bench cluster: %" PRIu64 " writes failed; the "
                "first: %s\n",
                l.failed, l.first_failure);
    uint64_t follower_kib = 0;
    for (size_t i = 1; i < PROC_NODES; i++) {
        pid_t pid = p->c.nodes[i].pid;
        uint64_t k = pid > 0 ? proc_rss_anon_kib(pid) : 0;
        follower_kib = k > follower_kib ? k : follower_kib;
    }
    if (rv == 0 && l.status == 0)
        fprintf(stderr,
                "refraft-bench cluster: followers' resident anonymous "
                "memory at the end: at most %" PRIu64 " KiB\n",
                follower_kib);
    load_free(&l);
    return rv == 0 ? l.status : 1;
}

int bench_http_cluster(int argc, char **argv)
{
    cluster_args a;
    if (parse(argc, argv, &a) != 0)
        return usage();
    proc_cluster p;
    if (proc_cluster_init(&p, "cluster") != 0)
        return 1;
    disk_limit one, batch;
    int rv = 0;
    bool limit = a.limit;
    if (limit)
        rv = bench_limit_repeat(p.dir, 1, 1.0, 3, &one) == 0 &&
                     bench_limit_repeat(p.dir, 1024, 1.0, 3, &batch) == 0
                 ? 0
                 : 1;
    if (rv == 0 && a.client_http)
        rv = cluster_client_http(&a, &p, limit ? &one : NULL,
                                 limit ? &batch : NULL);
    else if (rv == 0)
        rv = run_in_process(&a, &p, limit ? &one : NULL, limit ? &batch : NULL);
    if (proc_cluster_free(&p) != 0)
        rv = 1;
    return rv;
}

/* ---- the figures both modes report ------------------------------------ */

void cluster_runs_add(cluster_runs *r, double us)
{
    r->committed++;
    if (r->n_lat == r->lat_cap) {
        size_t cap = r->lat_cap ? 2 * r->lat_cap : 65536;
        double *p = realloc(r->lat, cap * sizeof *p);
        if (p == NULL)
            return;
        r->lat = p;
        r->lat_cap = cap;
    }
    r->lat[r->n_lat++] = us;
}

void cluster_runs_end(cluster_runs *r, unsigned run, double secs)
{
    r->rate[run] = (double)r->committed / secs;
    if (r->n_lat > 0) {
        r->p50[run] = bench_median(r->lat, r->n_lat);
        r->p99[run] = r->lat[(size_t)((double)(r->n_lat - 1) * 0.99)];
        r->max[run] = r->lat[r->n_lat - 1];
    } else {
        r->p50[run] = r->p99[run] = r->max[run] = 0;
    }
    r->n_lat = 0;
    r->committed = 0;
}

void cluster_runs_free(cluster_runs *r)
{
    free(r->lat);
    r->lat = NULL;
    r->n_lat = r->lat_cap = 0;
}

void cluster_print_window(const cluster_args *a, cluster_runs *r,
                          const cluster_line *ln)
{
    unsigned n = a->repeat;
    double rate = bench_median(r->rate, n), p50 = bench_median(r->p50, n);
    double p99 = bench_median(r->p99, n), max = bench_median(r->max, n);
    printf("{\"bench\":\"cluster\"");
    if (ln->mode != NULL)
        printf(",\"mode\":\"%s\"", ln->mode);
    printf(",\"nodes\":3,\"inflight\":%u", ln->inflight);
    if (ln->conns > 0)
        printf(",\"connections\":%u", ln->conns);
    printf(",\"record_bytes\":%u,\"seconds\":%.1f,\"runs\":%u,"
           "\"ids\":\"%s\",\"parallel_append\":%s,\"commits_per_s\":%.0f,"
           "\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,"
           "\"leader_rss_anon_kib\":%" PRIu64,
           a->size, a->seconds, n, a->random_ids ? "sha256" : "sequence",
           a->append_before_send ? "false" : "true", rate, p50, p99, max,
           ln->leader_kib);
    if (ln->one != NULL && ln->batch != NULL)
        printf(",\"disk_txns_per_s\":%.0f,\"disk_sync_p50_us\":%.0f,"
               "\"disk_puts_per_s_batch1024\":%.0f,"
               "\"ratio_to_disk_batch1024\":%.3f,"
               "\"p99_over_disk_sync_p50\":%.2f",
               ln->one->txns_per_s, ln->one->p50_us, ln->batch->puts_per_s,
               rate / ln->batch->puts_per_s, p99 / ln->one->p50_us);
    printf(",\"failed\":%" PRIu64 "}\n", ln->failed);
    fflush(stdout);
}
