/* sim.h - one simulated run, stepped one event at a time. */
#ifndef REFRAFT_SIM_SIM_H
#define REFRAFT_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "cluster.h"
#include "net.h"
#include "schedule.h"

/* Where the nodes keep their logs: refstore runs are slower (an LMDB
 * transaction per write), so by default only some runs use it. */
typedef enum sim_store {
    SIM_STORE_MIXED, /* refstore in about one run in SIM_REFSTORE_ONE_IN */
    SIM_STORE_MEM,
    SIM_STORE_REFSTORE
} sim_store;

#define SIM_REFSTORE_ONE_IN 20

/* Membership changes: in every run, in none, or (the default) in about
 * one run in SIM_MEMBERSHIP_ONE_IN, drawn from the seed. */
typedef enum sim_membership {
    SIM_MEMBERSHIP_MIXED,
    SIM_MEMBERSHIP_ON,
    SIM_MEMBERSHIP_OFF
} sim_membership;

#define SIM_MEMBERSHIP_ONE_IN 4

/* Log compaction: in every run, in none, or (the default) in about one
 * run in SIM_COMPACTION_ONE_IN, drawn from the seed. */
typedef enum sim_compaction {
    SIM_COMPACTION_MIXED,
    SIM_COMPACTION_ON,
    SIM_COMPACTION_OFF
} sim_compaction;

#define SIM_COMPACTION_ONE_IN 2
/* The most spare servers a run with membership starts with (never all of
 * its nodes: at least one is an initial voter). */
#define SIM_SPARES_MAX 3
/* The disks offer stage and sync in all runs but about one in
 * SIM_STAGE_ONE_IN, so that both of the leader's ways to append are
 * covered; on a memlog a sync then fails with a chance drawn per run
 * between these (per mille, in fault phases but lost-leader ones). */
#define SIM_STAGE_ONE_IN 5
#define SIM_SYNC_FAIL_MIN_PM 5
#define SIM_SYNC_FAIL_MAX_PM 50
/* The first LMDB map of half the refstores, in bytes: small enough that
 * runs make refstore double it three or four times. */
#define SIM_SMALL_MAP ((size_t)32 * 1024)

typedef struct sim_options {
    int n_nodes;
    uint64_t seed;
    uint64_t steps;       /* fault-phase steps before the final heal */
    uint32_t inject_bugs; /* refraft_inject: the core's */
    uint32_t sim_inject;  /* sim_inject (cluster.h): the host's */
    sim_store store;
    size_t map_size; /* refstore's first map, bytes; 0: drawn per run */
    /* Durable Commit counts no follower by a report it sent just before
     * its record store was wiped (check_records.c). */
    bool durable_strict;
    uint32_t in_flight; /* the sweepers' fetches in flight; 0: drawn */
    sim_membership membership;
    sim_compaction compaction;
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
    bool stage;              /* the disks staged (disk.h) */
    uint64_t syncs;          /* syncs of staged entries */
    uint64_t sync_failures;  /* injected: failed syncs */
    uint64_t sync_crashes;   /* crashes right after one */
    net_stats messages;
    bool membership;      /* the run changed its membership */
    change_stats changes; /* schedule.h */
    bool refstore;        /* the nodes ran on refstore */
    bool compaction;      /* the run compacted (its settings did) */
    uint64_t compactions; /* logs compacted, all nodes */
    uint64_t installs;    /* snapshots installed, all nodes */
    uint64_t compacts;    /* refraft_compact calls of the schedule */
    transfer_stats transfers;
    char config[560]; /* the run's randomized settings, readable */

    /* Records. */
    record_stats records;
    refraft_sweeper_stats sweepers; /* every node's sweepers, summed */
    /* Heals after which records were missing somewhere, how long the
     * longest took to converge and all of them together (ms), and the
     * most records missing after one heal. */
    uint64_t converged;
    uint64_t converge_max_ms;
    uint64_t converge_total_ms;
    uint64_t converge_max_missing;
    uint64_t converge_max_bound; /* the bound of the slowest heal */
} sim_result;

/* Run one simulation; everything in it derives from opt->seed. */
void sim_run(const sim_options *opt, sim_result *res);

#endif /* REFRAFT_SIM_SIM_H */
