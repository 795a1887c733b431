/* check.h - the invariant checker: Raft's safety properties (Figure 3). */
#ifndef REFRAFT_SIM_CHECK_H
#define REFRAFT_SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "members.h"
#include "net.h"
#include "records.h"
#include "refraft/refraft.h"
#include "refstate.h"

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

/* How a committed REF entry ended (check_records.c). */
typedef enum fate {
    FATE_NONE = 0, /* not a REF entry, or not committed yet */
    FATE_KEPT,     /* committed with no VOID abandoning it */
    FATE_ABANDONED /* abandoned by a committed VOID */
} fate;

/* What the checker keeps of each entry of the committed prefix. */
typedef struct committed_entry {
    uint8_t type; /* refraft_entry_type */
    uint8_t fate; /* enum fate */
    refraft_index voided;
    uint16_t id_len;
    uint8_t id[RECORD_ID_MAX];
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
} committed_entry;

/* A check that waits for the end of the step (check_records.c). */
typedef enum pending_kind {
    PENDING_COMMIT,    /* a leader's commit index moved from..to */
    PENDING_ABANDONED, /* a node applied index from as ABANDONED */
    PENDING_REMOVED    /* a node removed the record id as an orphan */
} pending_kind;

typedef struct pending_check {
    pending_kind kind;
    int node;
    refraft_term term;
    refraft_index from;
    refraft_index to;
    /* PENDING_COMMIT: the voters of the leader's configuration then, as
     * the slots of the servers that are still themselves (a bit each),
     * and how many there are in all. */
    uint32_t voters;
    uint32_t n_voters;
    uint16_t id_len;
    uint8_t id[RECORD_ID_MAX];
} pending_check;

/* The last data index a follower reported to a leader (Durable Commit). */
typedef struct data_report {
    refraft_term term;
    refraft_index match_index; /* the highest reported in the term */
    refraft_index data_index;
    uint64_t wipes; /* the follower's wipes when it sent the report */
} data_report;

/* A node's log as the membership checks see it, kept from the disk's
 * hooks like the Log Matching map (check_member.c): the term of each of
 * its entries, for Commit Quorum, and its CONFIG entries.  Like the disk,
 * it outlives crashes. */
typedef struct node_log {
    refraft_term *terms; /* terms[k]: the term of entry k (1-based) */
    size_t terms_cap;
    refraft_index last;
    sim_conf *confs; /* its CONFIG entries, in index order */
    size_t n_confs;
    size_t confs_cap;
    size_t confs_checked; /* those compared with the committed ones */
    /* What Configuration last compared for this node, to compare again
     * only when the node, its configuration index or its log's last
     * CONFIG entry changed (building a node's configuration at every step
     * would cost a third of a run). */
    const refraft_node *seen_rn;
    refraft_index seen_index;
    size_t seen_confs;
    uint64_t seen_hash;
} node_log;

/* What the end-of-step checks may read of a node: NULL rn while down. */
typedef struct check_view {
    const refraft_node *rn[NET_MAX_NODES];
    const refraft_log_api *log[NET_MAX_NODES];
    const refstate *state[NET_MAX_NODES]; /* the application's refs */
} check_view;

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

    /* Records (check_records.c).  stores[i] is node i's record store;
     * centries[1..n_committed] the committed entries, with their fate;
     * store_puts counts records stored anywhere. */
    bool durable;
    const rstore *stores[NET_MAX_NODES];
    committed_entry *centries;
    size_t centries_cap;
    pending_check *pending;
    size_t n_pending;
    size_t pending_cap;
    uint64_t store_puts;
    /* reports[leader][follower]: the last successful AppendEntries
     * result the leader got from the follower. */
    data_report reports[NET_MAX_NODES][NET_MAX_NODES];
    uint64_t wipes[NET_MAX_NODES]; /* each node's record store wipes */
    /* Durable Commit counts no follower by a report it sent before its
     * store was wiped (--durable-strict). */
    bool durable_strict;
    /* Every index up to here committed once already: Durable Commit
     * checks an entry when it first commits, not when a later leader,
     * which may not know, commits it again. */
    refraft_index durable_upto;
    /* The highest client proposal number among the committed entries
     * that are kept (liveness.c). */
    uint64_t max_committed_seq;

    /* Membership (check_member.c).  gen[i]: the generation of the server
     * slot i runs (members.h); initial[i]: the configuration it starts
     * with; cluster_initial: the cluster's, in effect until a CONFIG entry
     * commits; committed_confs: the committed CONFIG entries, in order. */
    uint32_t gen[NET_MAX_NODES];
    sim_conf initial[NET_MAX_NODES];
    sim_conf cluster_initial;
    node_log logs[NET_MAX_NODES];
    sim_conf *committed_confs;
    size_t n_committed_confs;
    size_t committed_confs_cap;
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
 * entry hash *hash; last 0 when empty) must be the applied index, and the
 * entry every node applied there (hash NULL: the row an install wrote,
 * where this node applied nothing). */
void check_stored_state(checker *c, int node, refraft_index applied_index,
                        refraft_index last, const uint64_t *hash);

/* After every step, for each running node: Election Safety, the commit
 * index against the committed prefix, and Leader Completeness. */
void check_node_state(checker *c, int node, const refraft_node *rn,
                      const refraft_log_api *log);

/* A node leads term: called when it becomes leader (before it appends
 * anything as leader) and after every step while it leads. */
void check_election(checker *c, int node, refraft_term term);

/* Records.  Name the run's commit policy and each node's record store
 * (they outlive the nodes, like the checker). */
void check_records_init(checker *c, bool durable, const rstore **stores);

/* Record Integrity: node is about to store bytes (len) as the record ref
 * names; they must be that record. */
void check_record_put(checker *c, int node, const refraft_ref *ref,
                      const void *bytes, size_t len);

/* Orphan Safety: node's sweeper removes the record stored under id as
 * an orphan: no entry of its log, and no ref of its application's
 * reference state (which names records below a compacted log's first
 * index), may name it (checked at the end of the step). */
void check_record_removed(checker *c, int node, const uint8_t *id,
                          size_t id_len);

/* Apply Needs Record and Void Safety: node applied entry at index (a REF
 * one needs its record in the node's store; an ABANDONED one a committed
 * VOID, checked at the end of the step). */
void check_records_applied(checker *c, int node, refraft_index index,
                           const refraft_entry *entry);

/* A leader received a successful AppendEntries result from a follower,
 * reporting match_index and data_index in term, sent after the
 * follower's record store was wiped wipes times. */
void check_data_report(checker *c, int leader, int follower, refraft_term term,
                       refraft_index match_index, refraft_index data_index,
                       uint64_t wipes);

/* Node's record store was wiped. */
void check_wiped(checker *c, int node);

/* Durable Commit: node, leading term with configuration conf, moved its
 * commit index from from to to (checked at the end of the step, durable
 * runs only). */
void check_records_commit(checker *c, int node, refraft_term term,
                          refraft_index from, refraft_index to,
                          const sim_conf *conf);

/* The end-of-step checks above, on what the nodes' logs now say. */
void check_records_step(checker *c, const check_view *view);

/* Internal to the checker's files: the committed prefix grew from after
 * to upto (centries filled): Void Safety, fates. */
void check_records_committed(checker *c, refraft_index after,
                             refraft_index upto);
/* Keep what the checker needs of committed entry e at index. */
void check_records_note(checker *c, refraft_index index,
                        const refraft_entry *e);

/*
 * Membership (check_member.c).  The cluster names each node's initial
 * configuration (its own is always the first, and the cluster's), and a
 * node that lost its disk and came back as generation gen of its slot.
 */
void check_set_initial(checker *c, int node, const sim_conf *initial);
void check_set_cluster_initial(checker *c, const sim_conf *initial);
void check_renewed(checker *c, int node, uint32_t gen);

/* The configuration node's log says it goes by (its last CONFIG entry, or
 * its initial one), whether the node runs or not. */
const sim_conf *check_conf_of(const checker *c, int node);
/* The last committed configuration (the cluster's initial one before any
 * CONFIG entry commits). */
const sim_conf *check_committed_conf(const checker *c);
/* The slots whose current server is a voter of conf, a bit each. */
uint32_t check_voter_slots(const checker *c, const sim_conf *conf);

/* After every step, for each running node: its configuration is its
 * log's, at most one CONFIG entry of its log is uncommitted, its committed
 * ones are the committed ones, and a leader that is no voter removed
 * itself and the change has not committed. */
void check_membership(checker *c, int node, const refraft_node *rn);
/* Node rn took role (its ROLE event): only a voter campaigns or leads. */
void check_member_role(checker *c, int node, const refraft_node *rn, int role);
/* Node rn's configuration changed (its CONFIG event): a leader's new
 * CONFIG entry follows a committed one and a commit of its own term. */
void check_member_change(checker *c, int node, const refraft_node *rn);
/* Commit Quorum: leader node, with configuration conf, moved its commit
 * index to commit: a majority of conf's voters hold that entry. */
void check_commit_quorum(checker *c, int node, const refraft_node *rn,
                         const sim_conf *conf);

/* Internal to the checker's files: the disk's hooks, seen by the
 * membership checks; a committed entry at index. */
void check_log_appended(checker *c, int node, refraft_index first,
                        const refraft_entry *entries, size_t n);
void check_log_truncated(checker *c, int node, refraft_index from);
void check_member_note(checker *c, refraft_index index, const refraft_entry *e);

/*
 * Snapshots (check_snapshot.c; Raft §7).  A node's log is about to drop
 * the entries up to meta->last_index (log.compact): they must be applied
 * and the committed ones, and meta must name the committed entry's term
 * and the configuration in effect there.  A node's log installed meta's
 * snapshot (log.install): the log now stands for the committed prefix up
 * to there.  A node's application installed the snapshot up to last
 * (hull.snapshot_install) and now holds state: Snapshot State, it must be
 * the committed reference state at last (the refs of the committed REF
 * entries up to there that no committed VOID abandons), and the node
 * resumes applying after last.
 */
void check_compacting(checker *c, int node, const refraft_log_api *log,
                      const refraft_snapshot_meta *meta);
void check_log_installed(checker *c, int node,
                         const refraft_snapshot_meta *meta);
void check_snapshot_state(checker *c, int node, refraft_index last,
                          const refstate *state);
/* Internal to the checker's files: meta names the committed term at its
 * last index and the committed configuration in effect there (what names
 * the check, "compacted" or "installed"). */
void check_snapshot_meta(checker *c, int node, const char *what,
                         const refraft_snapshot_meta *meta);

/* Internal to the checker's files: Leader Completeness for one node. */
void check_commit(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log);
void check_leader(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log);

#endif /* REFRAFT_SIM_CHECK_H */
