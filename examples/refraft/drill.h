/* drill.h - `refraft drill`: a real cluster under a client workload and
 * injected faults, then a check that nothing acknowledged was lost.  The
 * data a drill gathers, shared by the driver (drill.c), the checker
 * (drill_check.c) and the report (drill_report.c). */
#ifndef REFRAFT_CLI_DRILL_H
#define REFRAFT_CLI_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster.h"
#include "util.h"

#define DRILL_ID_MAX 64 /* record ids the workload makes: "d<seed>-<n>" */
#define DRILL_NAME_MAX 32

/* How one client write ended. */
typedef enum drill_outcome {
    DRILL_ACKED = 1,  /* 201: committed at index */
    DRILL_FAILED = 2, /* a final refusal: the write is not in the log */
    DRILL_UNKNOWN = 3 /* no final answer (time-out, 503 "may still
                       * commit", the drill ended): either way is fine */
} drill_outcome;

/* One client write: times are milliseconds since the drill started. */
typedef struct drill_op {
    uint64_t start_ms, end_ms;
    char id[DRILL_ID_MAX];
    uint64_t size;
    uint8_t digest[CLI_SHA256_LEN];
    drill_outcome outcome;
    uint64_t index; /* DRILL_ACKED: the index the leader answered */
} drill_op;

/* A log entry as a node's GET /v1/log gives it. */
typedef enum drill_entry_type {
    DRILL_NOOP = 1,
    DRILL_REF = 2,
    DRILL_VOID = 3,
    DRILL_CONFIG = 5 /* a membership change: digest is the SHA-256 of
                      * its members as GET /v1/log lists them */
} drill_entry_type;

typedef struct drill_entry {
    uint64_t index, term;
    drill_entry_type type;
    char id[DRILL_ID_MAX]; /* DRILL_REF; ids the workload did not make
                            * are kept as they come, cut to fit */
    uint64_t size;
    uint8_t digest[CLI_SHA256_LEN]; /* DRILL_REF, DRILL_CONFIG */
    uint64_t voided;                /* DRILL_VOID: the index it abandons */
} drill_entry;

/* What the drill read from one node at the end. */
typedef struct drill_node_view {
    char id[16];
    uint64_t commit_index, applied_index, data_index;
    drill_entry *log; /* log[i] is the entry at index i + 1 */
    size_t log_len;
    /* For each acknowledged op (same order as ops[], only meaningful
     * where ops[k].outcome == DRILL_ACKED): whether this node returned
     * its record, and the SHA-256 of the bytes it returned. */
    bool *has_record;
    uint8_t (*record_digest)[CLI_SHA256_LEN];
} drill_node_view;

/* One injected fault. */
typedef struct drill_fault {
    char scenario[DRILL_NAME_MAX]; /* "follower-kill", ... */
    char what[96];                 /* "SIGKILL n2, restart after 812 ms" */
    int node;                      /* the node it hit (index), or -1 */
    uint64_t start_ms, end_ms;     /* the fault's window */
    /* When the affected node's data index and commit index first both
     * reached the leader's commit index as it was at end_ms (a deposed
     * leader's data index alone may cover a log that still disagrees
     * with the new leader's); 0: never seen. */
    uint64_t recovered_ms;
} drill_fault;

/* A sample of one node's indexes, for the timeline. */
typedef struct drill_sample {
    uint64_t t_ms;
    int node;
    bool up; /* answered its status */
    uint64_t commit_index, data_index;
} drill_sample;

/* One scenario's run inside a drill. */
typedef struct drill_scenario_run {
    char name[DRILL_NAME_MAX];
    uint64_t start_ms, end_ms;
} drill_scenario_run;

/* Everything a drill gathered. */
typedef struct drill_result {
    uint64_t seed;
    size_t n_nodes;
    char command[1024];        /* the command line that reproduces it */
    char partition_method[64]; /* "network namespaces" or "transport hook" */
    drill_op *ops;
    size_t n_ops;
    drill_fault *faults;
    size_t n_faults;
    drill_sample *samples;
    size_t n_samples;
    drill_scenario_run *scenarios;
    size_t n_scenarios;
    drill_node_view *nodes; /* n_nodes of them, read at the end */
} drill_result;

/* One thing the checker found wrong. */
typedef struct drill_violation {
    char rule[32];    /* "acknowledged-present", "no-phantom", ... */
    char detail[256]; /* which op, node, index */
} drill_violation;

/*
 * The checker (drill_check.c).  The rules, each named in violations:
 *  - "acknowledged-present": every DRILL_ACKED op's record is on every
 *    node with the same digest, and every node's log holds a REF entry
 *    naming it (id, size, digest) at the index the leader answered, at or
 *    below that node's commit index.
 *  - "no-phantom": every REF entry at or below a node's commit index
 *    names a record some op wrote (its id and digest), unless a VOID at
 *    or below the commit index abandons it.
 *  - "one-entry-per-index": no index at or below both nodes' commit
 *    indexes holds different entries (term, type, ref, voided index,
 *    members) on two nodes.
 *  - "failed-absent": no DRILL_FAILED op's record is named by a
 *    committed REF entry.
 *  - "real-time-order": if op A was acknowledged before op B started,
 *    A's index is below B's.
 * Returns how many violations there were; up to max of them are written
 * to out (max 0: only counted).
 */
size_t drill_check(const drill_result *r, drill_violation *out, size_t max);

/* For each op k, lost[k] (n_ops of them) = whether it is acknowledged and
 * breaks "acknowledged-present": the report's "lost" column, from the
 * rule's one implementation.  Returns how many are lost, or SIZE_MAX
 * when memory ran out. */
size_t drill_check_lost(const drill_result *r, bool *lost);

/*
 * The report (drill_report.c).
 *  - drill_report_table: the summary table, one row per scenario:
 *    scenario, faults injected, writes acknowledged, writes lost (acked
 *    ops whose check failed: must be 0), recovery time median and max
 *    (faults with recovered_ms), throughput (acks/s) during faults and
 *    outside them.
 *  - drill_report_json: the same figures, every fault, the violations
 *    and the reproducing command, as one JSON document.
 *  - drill_report_svg: a timeline of one scenario: commit and data index
 *    of each node over time, fault windows shaded, down time marked;
 *    a standalone SVG a browser opens.
 * Return 0, or -1 when writing failed (errno set).
 */
int drill_report_table(FILE *out, const drill_result *r,
                       const drill_violation *v, size_t n_violations);
int drill_report_json(FILE *out, const drill_result *r,
                      const drill_violation *v, size_t n_violations);
int drill_report_svg(FILE *out, const drill_result *r, size_t scenario);

#endif /* REFRAFT_CLI_DRILL_H */
