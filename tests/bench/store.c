/* store.c - refraft-bench store: refstore appends against plain LMDB. */
#define _POSIX_C_SOURCE 200809L /* mkdir */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "store_runs.h"
#include "tmpdir.h"

#define RUNS_MAX 1000
#define BATCH_MAX 65536
#define DIR_LEN (TMPDIR_PATH_MAX + 16)

typedef struct store_args {
    double seconds;  /* per run */
    uint32_t repeat; /* runs of each kind per batch size */
    uint32_t batch;  /* 0: each of the default sizes */
} store_args;

static const uint32_t default_batches[] = {1, 64, 1024};

static void usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench store [--seconds T] [--repeat R] "
            "[--batch B]\n"
            "Appends per second, synced, for batches of 1, 64 and 1024 "
            "entries (or B):\n"
            "refstore's log API against plain LMDB puts, alternating, R "
            "runs of T s\n"
            "each; the stores live in a directory under $TMPDIR (or "
            "/tmp).\n");
}

static int parse_args(int argc, char **argv, store_args *a)
{
    double seconds = 1.0, repeat = 5, batch = 0;
    const bench_opt opts[] = {{"--seconds", 1e-3, 3600, &seconds},
                              {"--repeat", 1, RUNS_MAX, &repeat},
                              {"--batch", 1, BATCH_MAX, &batch}};
    if (bench_parse_opts(argc, argv, opts, sizeof opts / sizeof opts[0]) != 0)
        return -1;
    *a = (store_args){seconds, (uint32_t)repeat, (uint32_t)batch};
    return 0;
}

typedef int (*run_fn)(const char *dir, uint32_t batch, double seconds,
                      double *rate);

/* One run in a fresh directory under base, removed afterwards. */
static int run_in(const char *base, const char *name, run_fn run,
                  uint32_t batch, double seconds, double *rate)
{
    char dir[DIR_LEN];
    snprintf(dir, sizeof(dir), "%s/%s", base, name);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "refraft-bench: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rv = run(dir, batch, seconds, rate);
    if (tmpdir_remove(dir) != 0) {
        fprintf(stderr, "refraft-bench: removing %s: %s\n", dir,
                strerror(errno));
        rv = -1;
    }
    return rv;
}

/*
 * The two kinds of run alternate (refstore, LMDB, refstore, ...), so that
 * whatever else the machine does at the time slows both alike, and the
 * medians are compared.
 */
static int bench_batch(const store_args *a, const char *base, uint32_t batch)
{
    double refstore_rates[RUNS_MAX], lmdb_rates[RUNS_MAX];
    for (uint32_t r = 0; r < a->repeat; r++) {
        if (run_in(base, "refstore", store_run_refstore, batch, a->seconds,
                   &refstore_rates[r]) != 0 ||
            run_in(base, "lmdb", store_run_lmdb, batch, a->seconds,
                   &lmdb_rates[r]) != 0 ||
            tmpdir_interrupted())
            return -1;
    }
    double ref = bench_median(refstore_rates, a->repeat);
    double lmdb = bench_median(lmdb_rates, a->repeat);
    printf("{\"bench\":\"store\",\"batch\":%u,\"refstore_appends_per_s\":%.0f,"
           "\"lmdb_puts_per_s\":%.0f,\"ratio\":%.3f,\"runs\":%u,"
           "\"sync\":\"full\"}\n",
           batch, ref, lmdb, ref / lmdb, a->repeat);
    fflush(stdout);
    return 0;
}

int bench_store(int argc, char **argv)
{
    store_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    char base[TMPDIR_PATH_MAX];
    if (tmpdir_create("refraft-bench", base, sizeof(base)) != 0) {
        fprintf(stderr, "refraft-bench: no temporary directory: %s\n",
                strerror(errno));
        return 1;
    }
    size_t n = a.batch != 0 ? 1 : sizeof(default_batches) / sizeof(uint32_t);
    int rv = 0;
    for (size_t i = 0; i < n && rv == 0; i++)
        rv = bench_batch(&a, base, a.batch != 0 ? a.batch : default_batches[i]);
    if (tmpdir_remove(base) != 0) {
        fprintf(stderr, "refraft-bench: removing %s: %s\n", base,
                strerror(errno));
        rv = -1;
    }
    if (tmpdir_interrupted()) {
        fprintf(stderr, "refraft-bench: interrupted\n");
        return 130;
    }
    return rv == 0 ? 0 : 1;
}
