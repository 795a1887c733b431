/* bench_cluster.h - the benchmark's in-process 3-node cluster. */
#ifndef REFRAFT_BENCH_CLUSTER_H
#define REFRAFT_BENCH_CLUSTER_H

#include <stdint.h>

#include "queue.h"
#include "refraft/memlog.h"
#include "refraft/refraft.h"

#define BENCH_NODES 3
#define BENCH_ID_LEN 16    /* bytes of each ref id */
#define BENCH_REF_SIZE 256 /* the notional record size */

typedef struct bench_cluster bench_cluster;

typedef struct bench_node {
    bench_cluster *bc;
    char id[4]; /* "b1", "b2", "b3" */
    refraft_memlog *log;
    refraft_node *rn;
    uint64_t applied; /* entries applied, no-ops included */
} bench_node;

struct bench_cluster {
    bench_node nodes[BENCH_NODES];
    queue q;
    uint64_t now; /* virtual ms */
    uint64_t rng;
    int leader;
    uint32_t batch;
    refraft_ref *refs; /* one batch, rewritten before each proposal */
    uint8_t *ids;
    uint64_t next_ref;
};

/* Create the cluster and elect a leader.  Returns 0, or a refraft error
 * (a message was printed and nothing is left to free). */
int bench_cluster_init(bench_cluster *bc, uint32_t batch);
void bench_cluster_free(bench_cluster *bc);

/*
 * Propose batches to the leader and deliver messages until the leader has
 * applied at least target entries or seconds of wall time passed, keeping
 * at most window batches uncommitted.  *entries gets the entries the
 * leader applied meanwhile and *elapsed the wall time in seconds.
 * Returns 0 or a refraft error (a message was printed).
 */
int bench_cluster_run(bench_cluster *bc, uint64_t target, double seconds,
                      uint32_t window, uint64_t *entries, double *elapsed);

#endif /* REFRAFT_BENCH_CLUSTER_H */
