/* core.c - refraft-bench core: commit throughput as one JSON line. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_cluster.h"
#include "pool.h"

/* Memlogs never compact: each run stops after this many entries, and its
 * cluster is destroyed before the next (about 72 bytes of memlog per entry
 * and node). */
#define ENTRIES_PER_RUN_MAX 1500000
/* Uncommitted batches the leader may hold: enough to keep the pipeline
 * full, few enough to measure commits rather than appends. */
#define WINDOW_BATCHES 4
#define RUNS_MAX 1000

typedef struct bench_args {
    double seconds;
    uint32_t batch;
    uint32_t repeat;
    /* The system allocator (default) is what an embedding application
     * gets: each run faults its memory in afresh.  The pool keeps freed
     * blocks across runs, so it measures the core and memlog on warm
     * memory. */
    bool pool_alloc;
} bench_args;

static void usage(void)
{
    fprintf(stderr, "usage: refraft-bench core [--seconds T] [--batch B] "
                    "[--repeat R] [--alloc system|pool]\n");
}

static int parse_option(bench_args *a, const char *opt, const char *val)
{
    if (strcmp(opt, "--alloc") == 0) {
        a->pool_alloc = strcmp(val, "pool") == 0;
        return a->pool_alloc || strcmp(val, "system") == 0 ? 0 : -1;
    }
    char *end = NULL;
    double v = strtod(val, &end);
    if (*end != '\0' || v <= 0)
        return -1;
    if (strcmp(opt, "--seconds") == 0)
        a->seconds = v;
    else if (strcmp(opt, "--batch") == 0 && v <= 65536)
        a->batch = (uint32_t)v;
    else if (strcmp(opt, "--repeat") == 0 && v <= RUNS_MAX)
        a->repeat = (uint32_t)v;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.seconds = 1.0, .batch = 256, .repeat = 5};
    if (argc < 2 || strcmp(argv[1], "core") != 0)
        return -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (parse_option(a, argv[i], argv[i + 1]) != 0)
            return -1;
    }
    return argc % 2 == 0 && a->batch >= 1 && a->repeat >= 1 ? 0 : -1;
}

/* One run on a fresh cluster; *rate gets committed entries per second. */
static int run_once(const bench_args *a, double *rate, uint64_t *entries)
{
    bench_cluster bc;
    int rv = bench_cluster_init(&bc, a->batch);
    if (rv != 0)
        return rv;
    double elapsed = 0;
    rv = bench_cluster_run(&bc, ENTRIES_PER_RUN_MAX, a->seconds, WINDOW_BATCHES,
                           entries, &elapsed);
    *rate = elapsed > 0 ? (double)*entries / elapsed : 0;
    bench_cluster_free(&bc);
    return rv;
}

int bench_core(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    if (a.pool_alloc)
        pool_install();
    double rates[RUNS_MAX];
    uint64_t total = 0;
    for (uint32_t i = 0; i < a.repeat; i++) {
        uint64_t entries = 0;
        if (run_once(&a, &rates[i], &entries) != 0)
            return 1;
        total += entries;
    }
    pool_release();
    double median = bench_median(rates, a.repeat);
    printf("{\"bench\":\"core\",\"nodes\":%d,\"batch\":%u,\"alloc\":\"%s\","
           "\"runs\":%u,\"commits_per_s\":%.0f,\"min\":%.0f,\"max\":%.0f,"
           "\"entries\":%llu}\n",
           BENCH_NODES, a.batch, a.pool_alloc ? "pool" : "system", a.repeat,
           median, rates[0], rates[a.repeat - 1], (unsigned long long)total);
    return 0;
}
