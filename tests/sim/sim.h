/* sim.h - one simulated run, stepped one event at a time. */
#ifndef REFRAFT_SIM_SIM_H
#define REFRAFT_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "net.h"

typedef struct sim_options {
    int n_nodes;
    uint64_t seed;
    uint64_t steps; /* fault-phase steps before the final heal */
    uint32_t inject_bugs;
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
    net_stats messages;
    char config[160]; /* the run's randomized settings, readable */
} sim_result;

/* Run one simulation; everything in it derives from opt->seed. */
void sim_run(const sim_options *opt, sim_result *res);

#endif /* REFRAFT_SIM_SIM_H */
