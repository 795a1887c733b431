/* bench.h - refraft-bench's subcommands and the statistics they share. */
#ifndef REFRAFT_BENCH_BENCH_H
#define REFRAFT_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* `refraft-bench core ...` and `refraft-bench store ...`: argv[1] is the
 * subcommand's name.  Each prints its JSON lines and returns the process's
 * exit status (2 after printing its usage for bad arguments). */
int bench_core(int argc, char **argv);
int bench_store(int argc, char **argv);
int bench_sweep(int argc, char **argv);
int bench_limit(int argc, char **argv);
int bench_http_cluster(int argc, char **argv);
int bench_recover(int argc, char **argv);
int bench_decode(int argc, char **argv);
int bench_install(int argc, char **argv);

/* What the disk behind a directory syncs: LMDB write transactions of a
 * given number of small puts, each committed with its sync. */
typedef struct disk_limit {
    double txns_per_s;
    double puts_per_s;
    double p50_us, p99_us, max_us; /* of one transaction's commit */
} disk_limit;

/* Measure for `seconds` in a new environment file `path` (deleted
 * after).  Returns 0, or -1 (printed). */
int bench_limit_measure(const char *path, unsigned puts, double seconds,
                        disk_limit *out);
/* `repeat` measurements in dir (as dir/limit.mdb); the medians of each
 * figure. */
int bench_limit_repeat(const char *dir, unsigned puts, double seconds,
                       unsigned repeat, disk_limit *out);

/* A numeric option of a subcommand: "--name value", the value a number
 * in [min, max]. */
typedef struct bench_opt {
    const char *name; /* with its dashes: "--seconds" */
    double min, max;
    double *value; /* set when the option is given, else left alone */
} bench_opt;

/* Parse argv[2..] (what follows the subcommand) as "--name value" pairs
 * of the n opts.  0, or -1 for an odd count, an unknown name, or a value
 * that is not a number in its range. */
int bench_parse_opts(int argc, char **argv, const bench_opt *opts, size_t n);

/* Sort the n (> 0) values of v ascending, in place, and return their
 * median; v[0] and v[n - 1] are then the minimum and the maximum. */
double bench_median(double *v, size_t n);

/* A monotonic clock in microseconds. */
uint64_t bench_now_us(void);

#endif /* REFRAFT_BENCH_BENCH_H */
