/* http_cluster.h - refraft-bench cluster: its settings and the figures
 * both of its modes (in-process writes, --client-http) report. */
#ifndef REFRAFT_BENCH_HTTP_CLUSTER_H
#define REFRAFT_BENCH_HTTP_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "proc_cluster.h"

#define CLUSTER_WINDOWS_MAX 16
#define CLUSTER_RUNS_MAX 100
#define CLUSTER_WARMUP_S 1.0

typedef struct cluster_args {
    unsigned windows[CLUSTER_WINDOWS_MAX];
    size_t n_windows;
    unsigned size;
    double seconds;
    unsigned repeat;
    bool append_before_send;
    bool limit;       /* also measure the disk (bench_limit) for the ratios */
    bool random_ids;  /* ids: the records' SHA-256, not a sequence */
    bool client_http; /* write through POST /v1/records from this process */
} cluster_args;

/*
 * The latencies of one measured run and the figures of the runs of one
 * window size.  lat grows as needed (a write that finds no memory is left
 * out of the latencies, not of the count).
 */
typedef struct cluster_runs {
    double *lat; /* microseconds, of the current run */
    size_t n_lat, lat_cap;
    uint64_t committed; /* in the current run */
    double rate[CLUSTER_RUNS_MAX], p50[CLUSTER_RUNS_MAX];
    double p99[CLUSTER_RUNS_MAX], max[CLUSTER_RUNS_MAX];
} cluster_runs;

/* A write of the measured window answered 201 after us microseconds. */
void cluster_runs_add(cluster_runs *r, double us);
/* Run `run` (< CLUSTER_RUNS_MAX) lasted secs: keep its rate and
 * percentiles, and empty the latencies for the next. */
void cluster_runs_end(cluster_runs *r, unsigned run, double secs);
void cluster_runs_free(cluster_runs *r);

/* What one JSON line says besides the window's medians. */
typedef struct cluster_line {
    const char *mode;    /* NULL: in-process (no "mode" key) */
    unsigned inflight;   /* the window */
    unsigned conns;      /* client connections, 0: none (in-process) */
    uint64_t leader_kib; /* the leader's RssAnon */
    uint64_t failed;     /* writes answered other than 201 so far */
    const disk_limit *one, *batch; /* NULL: the disk was not measured */
} cluster_line;

/* Print the JSON line of a window: the medians of its a->repeat runs in
 * r (which are sorted). */
void cluster_print_window(const cluster_args *a, cluster_runs *r,
                          const cluster_line *ln);

/* --client-http: the load through POST /v1/records of three `refraft
 * node` processes.  Returns the process's exit status. */
int cluster_client_http(const cluster_args *a, proc_cluster *p,
                        const disk_limit *one, const disk_limit *batch);

#endif /* REFRAFT_BENCH_HTTP_CLUSTER_H */
