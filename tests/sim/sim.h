/* sim.h - one simulated run, stepped one event at a time. */
#ifndef REFRAFT_SIM_SIM_H
#define REFRAFT_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "net.h"

/* Where the nodes keep their logs: refstore runs are slower (an LMDB
 * transaction per write), so by default only some runs use it. */
typedef enum sim_store {
    SIM_STORE_MIXED, /* refstore in about one run in SIM_REFSTORE_ONE_IN */
    SIM_STORE_MEM,
    SIM_STORE_REFSTORE
} sim_store;

#define SIM_REFSTORE_ONE_IN 20
/* The first LMDB map of half the refstores, in bytes: small enough that
 * runs make refstore double it three or four times. */
#define SIM_SMALL_MAP ((size_t)32 * 1024)

typedef struct sim_options {
    int n_nodes;
    uint64_t seed;
    uint64_t steps; /* fault-phase steps before the final heal */
    uint32_t inject_bugs;
    sim_store store;
    size_t map_size; /* refstore's first map, bytes; 0: drawn per run */
    bool verbose;
} sim_options;

typedef struct sim_result {
    bool failed;
    violation v;   /* when failed */
    uint64_t step; /* steps taken (the failing one when failed) */
    uint64_t time; /* virtual ms at the end */
    int fault_phases;
    int heals_passed;   /* liveness tests passed, the initial one included */
    uint64_t committed; /* length of the committed prefix */
    uint64_t proposed;  /* refs a leader accepted from the client */
    uint64_t crashes;
    uint64_t store_failures; /* refstores failed and reopened (disk.h) */
    net_stats messages;
    bool refstore;    /* the nodes ran on refstore */
    char config[240]; /* the run's randomized settings, readable */
} sim_result;

/* Run one simulation; everything in it derives from opt->seed. */
void sim_run(const sim_options *opt, sim_result *res);

#endif /* REFRAFT_SIM_SIM_H */
