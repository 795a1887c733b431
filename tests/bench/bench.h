/* bench.h - refraft-bench's subcommands and the statistics they share. */
#ifndef REFRAFT_BENCH_BENCH_H
#define REFRAFT_BENCH_BENCH_H

#include <stddef.h>

/* `refraft-bench core ...` and `refraft-bench store ...`: argv[1] is the
 * subcommand's name.  Each prints its JSON lines and returns the process's
 * exit status (2 after printing its usage for bad arguments). */
int bench_core(int argc, char **argv);
int bench_store(int argc, char **argv);
int bench_sweep(int argc, char **argv);

/* Sort the n (> 0) values of v ascending, in place, and return their
 * median; v[0] and v[n - 1] are then the minimum and the maximum. */
double bench_median(double *v, size_t n);

#endif /* REFRAFT_BENCH_BENCH_H */
