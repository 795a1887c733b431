/* check.h - the invariant checker: Raft's safety properties (Figure 3). */
#ifndef REFRAFT_SIM_CHECK_H
#define REFRAFT_SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "net.h"
#include "refraft/refraft.h"

#define CHECK_DETAIL_LEN 400

/* The first violation of a run; later ones are consequences, not news. */
typedef struct violation {
    const char *invariant; /* "Election Safety", "Log Matching", ... */
    char detail[CHECK_DETAIL_LEN];
} violation;

/* What the checker knows of one node; it outlives crashes, like the disk. */
typedef struct check_node {
    /* The node's log is known to hold the committed entries 1..verified:
     * only committed entries are ever verified, so these may never be
     * truncated. */
    refraft_index verified;
    /* The last index the node's state machine applied. */
    refraft_index applied;
} check_node;

/* One (index, term) of the Log Matching map: the entry every log holds
 * there, and the term at index - 1 beneath it. */
typedef struct lm_item {
    entry_sig sig;
    refraft_term prev_term;
    uint32_t next; /* next item at the same index, 0 for none (1-based) */
} lm_item;

typedef struct checker {
    int n_nodes;
    bool failed;
    violation v;
    check_node nodes[NET_MAX_NODES];

    /* Election Safety: the leader of each term (-1: none seen yet). */
    int *leader_of_term;
    size_t leader_cap;

    /* Log Matching: lm_head[index] is the first item at that index. */
    uint32_t *lm_head;
    size_t lm_head_cap;
    lm_item *lm_pool;
    size_t lm_len;
    size_t lm_cap;

    /* Leader Completeness: the committed prefix 1..n_committed, and for
     * each term t the longest prefix committed by term t (must_have[t]),
     * which every leader of term t or later must hold. */
    entry_sig *committed;
    size_t committed_cap;
    refraft_index n_committed;
    refraft_index *must_have;
    size_t must_have_len;
    size_t must_have_cap;

    /* State Machine Safety: what was applied at each index. */
    entry_sig *applied;
    size_t applied_cap;
    refraft_index n_applied;
} checker;

void check_init(checker *c, int n_nodes);
void check_free(checker *c);

/* Record a violation unless one is already recorded.  The simulator uses it
 * for liveness and for broken API contracts too. */
void check_fail(checker *c, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Log hooks, called by the simulated disk when a node's log gains entries
 * (entries[0] lands at first; the entry below it has prev_term) or loses
 * its entries from index from on. */
void check_appended(checker *c, int node, refraft_index first,
                    refraft_term prev_term, const refraft_entry *entries,
                    size_t n);
void check_truncated(checker *c, int node, refraft_index from);

/* Apply hooks: a node applied entry at index while its commit index was
 * commit; a node (re)started with its state machine at applied_index. */
void check_applied(checker *c, int node, refraft_index index,
                   const refraft_entry *entry, refraft_index commit);
void check_restarted(checker *c, int node, refraft_index applied_index);

/* A node's store keeps its state machine next to its applied index
 * (refstore): on reopening, the state machine's last row (index last,
 * entry hash hash; last 0 when empty) must be the applied index, and the
 * entry every node applied there. */
void check_stored_state(checker *c, int node, refraft_index applied_index,
                        refraft_index last, uint64_t hash);

/* After every step, for each running node: Election Safety, the commit
 * index against the committed prefix, and Leader Completeness. */
void check_node_state(checker *c, int node, const refraft_node *rn,
                      const refraft_log_api *log);

/* A node leads term: called when it becomes leader (before it appends
 * anything as leader) and after every step while it leads. */
void check_election(checker *c, int node, refraft_term term);

/* Internal to the checker's files: Leader Completeness for one node. */
void check_commit(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log);
void check_leader(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log);

#endif /* REFRAFT_SIM_CHECK_H */
