/* node.h - the node's internal state, shared by the core's source files. */
#ifndef REFRAFT_CORE_NODE_H
#define REFRAFT_CORE_NODE_H

#include "refraft/refraft.h"

/* An id buffer: up to REFRAFT_ID_MAX bytes plus the NUL.  "" means none. */
typedef char node_id_buf[REFRAFT_ID_MAX + 1];

/* What the leader knows about one follower (Figure 2 "Volatile state on
 * leaders", plus the flow control of the replication pipeline). */
struct peer {
    node_id_buf id;
    refraft_index next_index;  /* next entry to send */
    refraft_index match_index; /* highest entry known replicated */
    /* The follower's data index as it last reported it in this term,
     * already clipped to the match_index it reported with it. */
    refraft_index data_index;
    /*
     * Probe mode: one AppendEntries at a time, until the follower's log is
     * found to match; then pipeline mode: up to max_inflight messages in
     * flight, next_index advancing optimistically as they are sent.
     */
    bool pipeline;
    bool paused; /* probe mode: an AppendEntries awaits its answer */
    /* Pipeline mode: the last index each unacknowledged AppendEntries
     * carried, oldest first, in a ring of max_inflight slots. */
    refraft_index *inflight;
    uint32_t inflight_head;
    uint32_t inflight_count;
    bool acked_since_heartbeat;
    bool recent_contact; /* answered during this check-quorum period */
    bool vote_granted;   /* in the (pre-)election under way */
    bool voter;          /* false: a learner */
    uint64_t read_round; /* the highest read round it echoed, this term */
    /* Its epoch (refraft_append_entries.epoch): drawn when the leader
     * starts tracking it; only results that echo it (or 0) count. */
    uint64_t epoch;
    /* It said records below its log's base may be missing there: not
     * promoted, not a transfer's target meanwhile. */
    bool records_behind;
    /* Snapshot sending (snapshot.c, Raft §7): the last index of the
     * snapshot it is being sent (0: none) and the index the chunk in
     * flight starts after.  While snap_index is set, AppendEntries with
     * entries wait: one chunk is in flight at a time. */
    refraft_index snap_index;
    refraft_index snap_after;
};

/* Follower: the snapshot whose chunks it is receiving (snapshot.c). */
struct incoming_snapshot {
    bool active;
    refraft_index after; /* the chunks up to here are written */
};

/* A read waiting for its confirmation (readindex.c). */
struct pending_read {
    uint64_t id;
    uint64_t round;      /* confirmed once a majority echoed it */
    refraft_index index; /* 0 until an entry of the term has committed */
};

/* A member of a configuration, its strings held here. */
struct member_rec {
    node_id_buf id;
    char address[REFRAFT_ADDRESS_MAX + 1];
    bool voter;
};

/* A configuration (membership.c). */
struct configuration {
    refraft_index index; /* its CONFIG entry; 0: the initial one */
    size_t n;
    struct member_rec members[REFRAFT_MAX_PEERS];
};

/* A VOID in the log: the entry at index at abandons the entry at voided. */
struct void_span {
    refraft_index voided;
    refraft_index at;
};

struct refraft_node {
    node_id_buf id;
    refraft_hull hull;
    refraft_log_api log;
    /* The other members of the configuration in effect: as many as a
     * configuration has members, for a node that is not one of them. */
    struct peer peers[REFRAFT_MAX_PEERS];
    size_t n_peers;
    /* The configuration in effect (the last CONFIG entry in the log, or
     * the initial one), the one before it when known, and the initial
     * one from refraft_config.  self_member and self_voter say what this
     * node is in config. */
    struct configuration config;
    struct configuration prev_config;
    bool prev_valid;
    struct configuration initial;
    bool self_member;
    bool self_voter;
    /* Leader: the index of its term's no-op; membership changes wait for
     * it to commit. */
    refraft_index term_first_index;
    uint32_t promote_lag;

    /* Snapshots (snapshot.c).  The log's base: entries up to base_index
     * are compacted away (0: never).  can_snapshot: the log and the hull
     * have the snapshot members. */
    refraft_index base_index;
    refraft_term base_term;
    bool can_snapshot;
    uint32_t compact_entries;
    uint32_t compact_keep;
    uint64_t compact_bytes;
    uint32_t snapshot_chunk;
    struct incoming_snapshot incoming;
    /* The leader's buffer for a chunk's refs (snapshot_chunk of them),
     * also the records check's below the base (data.c). */
    refraft_snapshot_ref *snap_refs;
    /* Records below the log's base: after an install, or a start whose
     * saved data index does not reach the base, the references of the
     * reference state may name records missing here.  snap_pending until
     * all are found; every one up to snap_checked is (data.c). */
    bool snap_pending;
    refraft_index snap_checked;

    /* Leader: a leadership transfer under way (transfer.c); target ""
     * when none. */
    node_id_buf transfer_target;
    uint64_t transfer_deadline;
    bool timeout_now_sent;

    /* Leader: reads waiting for confirmation, oldest first (readindex.c);
     * read_round is the latest round AppendEntries carry. */
    struct pending_read *reads;
    size_t n_reads;
    size_t reads_cap;
    uint64_t read_round;
    uint64_t next_read_id;

    /* Leader: the last epoch drawn for a peer.  Follower: the epoch of
     * the last request taken from the leader of its term, which its
     * results echo (0: none yet). */
    uint64_t last_epoch;
    uint64_t leader_epoch;

    uint32_t election_timeout_ms;
    uint32_t heartbeat_ms;
    uint32_t max_entries_per_msg;
    uint32_t max_inflight;
    bool pre_vote;
    bool check_quorum;
    uint8_t commit_policy; /* refraft_commit_policy */
    uint32_t inject_bugs;

    /* Persistent state (Figure 2), mirrored from the log API. */
    int role;
    refraft_term term;
    node_id_buf voted_for;
    node_id_buf leader_id;

    /* Volatile state.  last_index/last_term cache the log's tail. */
    refraft_index commit_index;
    refraft_index applied_index;
    refraft_index last_index;
    refraft_term last_term;
    /* Every entry up to data_index is settled here (data.c). */
    refraft_index data_index;
    /* Follower: the highest match_index it acknowledged to the leader of
     * the current term (0: none yet), for reports of its data index. */
    refraft_index acked_match;
    /* Every VOID in the log, in log order. */
    struct void_span *voids;
    size_t n_voids;
    size_t voids_cap;

    uint64_t election_deadline;  /* follower and (pre)candidate */
    uint64_t heartbeat_deadline; /* leader */
    uint64_t quorum_deadline;    /* leader with check-quorum */
    uint64_t leader_contact_ms;  /* when the leader was last heard from */
    bool apply_stalled;          /* hull apply() failed; retry on tick */
    bool defer_follower_apply;   /* config: see refraft.h */
    bool apply_due;              /* deferred: commits wait for the tick */
    bool data_retry;             /* the records check failed; retry on tick */
    bool busy;                   /* inside a call that changes the node */
    bool failed; /* saw its committed log contradicted; refuses all calls */

    /* Scratch space for entries read from the log (sending, applying) or
     * built for an append (proposals, the no-op).  Reused, never shrunk. */
    refraft_entry *scratch;
    size_t scratch_cap;
    /* The data index's own scratch space: DATA_CHUNK entries, their refs
     * and the answers of have_records. */
    refraft_entry *data_entries;
    refraft_ref *data_refs;
    bool *data_present;
    /* Backing store of the peers' inflight rings: REFRAFT_MAX_PEERS
     * rings of max_inflight slots, one per peer slot in use. */
    refraft_index *inflight_slots;

    char errmsg[REFRAFT_ERRMSG_LEN];
};

/* node.c */
int node_errorf(refraft_node *node, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t node_now(refraft_node *node);
size_t node_quorum(const refraft_node *node);
struct peer *node_find_peer(refraft_node *node, const char *id);
void node_emit(refraft_node *node, int type);
void node_set_leader(refraft_node *node, const char *leader_id);
int node_save_hard_state(refraft_node *node, refraft_term term,
                         const char *voted_for);
int node_reserve_scratch(refraft_node *node, size_t n);
void node_respond(refraft_node *node, const char *to_id,
                  const refraft_msg *result, refraft_reply_fn reply,
                  void *reply_ctx);

/* checks.c and validate.c: 0, or an error code with node->errmsg (or
 * errbuf) set.  validate_fail formats into errbuf (when not NULL) and
 * returns code. */
int validate_fail(char *errbuf, size_t errbuf_len, int code, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
int validate_id(const char *id, const char *what, char *errbuf,
                size_t errbuf_len);
int validate_ref(const refraft_ref *ref, char *errbuf, size_t errbuf_len);
int validate_config(const refraft_config *config, const refraft_hull *hull,
                    const refraft_log_api *log, char *errbuf,
                    size_t errbuf_len);
int validate_message(refraft_node *node, const refraft_msg *msg);
/* The id of the node that sent msg (leader_id, candidate_id, ...). */
const char *message_sender(const refraft_msg *msg);
refraft_term message_term(const refraft_msg *msg);

/* election.c */
void election_reset_timer(refraft_node *node);
int election_timeout(refraft_node *node);
int election_become_follower(refraft_node *node, refraft_term term,
                             const char *leader_id);
int election_on_request_vote(refraft_node *node, const refraft_msg *msg,
                             refraft_reply_fn reply, void *reply_ctx);
int election_on_request_vote_result(refraft_node *node,
                                    const refraft_request_vote_result *res);
int election_check_quorum(refraft_node *node);
/* Campaign now, without a pre-vote (a leadership transfer). */
int election_campaign(refraft_node *node);
/* It leads, or heard from its leader within the election timeout. */
bool election_leader_is_alive(refraft_node *node);

/* snapshot.c */
/* At creation: take the log's base (its configuration, its index as the
 * lowest applied index). */
int snapshot_load(refraft_node *node, refraft_index applied_index, char *errbuf,
                  size_t errbuf_len);
void snapshot_free(refraft_node *node);
/* After entries were applied: compact when compact_entries or
 * compact_bytes says so. */
void snapshot_after_apply(refraft_node *node);
/* refraft_compact(). */
int snapshot_compact_now(refraft_node *node, refraft_index upto);
/* Leader: start sending p the log's base snapshot. */
void snapshot_start(refraft_node *node, struct peer *p);
/* Leader: (re)send p the chunk of its snapshot after p->snap_after (of
 * the snapshot at the log's base, which may have moved since the last
 * chunk); false when no chunk could be sent. */
bool snapshot_send(refraft_node *node, struct peer *p);
int snapshot_on_install(refraft_node *node, const refraft_msg *msg,
                        refraft_reply_fn reply, void *reply_ctx);
int snapshot_on_result(refraft_node *node,
                       const refraft_install_snapshot_result *res);
/* The result refusing a stale InstallSnapshot, in this node's term. */
void snapshot_result_init(refraft_node *node, refraft_msg *out,
                          refraft_index last_index);

/* data.c */
int data_init(refraft_node *node, refraft_index hint, char *errbuf,
              size_t errbuf_len);
void data_free(refraft_node *node);
/* Make room for the VOIDs among entries, before they are appended. */
int data_reserve_voids(refraft_node *node, const refraft_entry *entries,
                       size_t n);
/* Remember the VOIDs among entries, appended at first (room reserved). */
void data_note_voids(refraft_node *node, refraft_index first,
                     const refraft_entry *entries, size_t n);
/* After an append of entries at first: advance and tell the host. */
void data_after_append(refraft_node *node, refraft_index first,
                       const refraft_entry *entries, size_t n);
void data_on_truncate(refraft_node *node, refraft_index from);
/* Re-check records past the data index; true when it advanced. */
bool data_advance(refraft_node *node);
refraft_index data_void_of(const refraft_node *node, refraft_index index);
refraft_index data_clip(const refraft_node *node, refraft_index n);
/* The log was compacted up to upto: forget the VOIDs at or below it. */
void data_on_compact(refraft_node *node, refraft_index upto);
/* The log was emptied by an installed snapshot ending at last. */
void data_on_install(refraft_node *node, refraft_index last);

/* membership.c */
void membership_init(refraft_node *node, const refraft_config *config);
/* The entries at first, read from the log at start. */
void membership_load(refraft_node *node, refraft_index first,
                     const refraft_entry *entries, size_t n);
/* After an append of entries at first: CONFIG entries take effect. */
void membership_after_append(refraft_node *node, refraft_index first,
                             const refraft_entry *entries, size_t n);
/* Entries from from on left the log; an error when the configuration
 * before them could not be read. */
int membership_on_truncate(refraft_node *node, refraft_index from);
/* The commit index moved up from old_commit. */
void membership_after_commit(refraft_node *node, refraft_index old_commit);
/* The configuration in the log's base, before the log's CONFIG entries
 * are loaded (start) or in place of them (install). */
void membership_from_base(refraft_node *node,
                          const refraft_snapshot_meta *base);
/* The configuration in effect at index (at most the last index): its
 * index and members (pointing into the node).  REFRAFT_ENOTFOUND when
 * the node no longer knows it. */
int membership_at(const refraft_node *node, refraft_index index,
                  refraft_index *config_index, refraft_member *members,
                  size_t *n);
/* Whether this node may start an election (membership.c). */
bool membership_may_campaign(const refraft_node *node);
/* Voters of the configuration in effect, this node included if one. */
size_t membership_voters(const refraft_node *node);
int membership_add_learner(refraft_node *node, const char *id,
                           const char *address, refraft_index *index);
int membership_promote(refraft_node *node, const char *id,
                       refraft_index *index);
int membership_remove(refraft_node *node, const char *id, refraft_index *index);

/* transfer.c */
int transfer_start(refraft_node *node, const char *target_id);
/* Leader: proposals and changes wait while this is set (REFRAFT_EBUSY). */
int transfer_refuse(refraft_node *node);
/* p answered: send TimeoutNow when it is the target and caught up. */
void transfer_on_progress(refraft_node *node, const struct peer *p);
/* Tick: a transfer that timed out ends. */
void transfer_tick(refraft_node *node, uint64_t now);
void transfer_clear(refraft_node *node);
int transfer_on_timeout_now(refraft_node *node, const refraft_timeout_now *t);

/* readindex.c */
int readindex_request(refraft_node *node, uint64_t *read_id);
/* A peer echoed a round, or the commit index moved: decide what can be. */
void readindex_advance(refraft_node *node);
/* This node stopped leading: every pending read fails. */
void readindex_fail_all(refraft_node *node);
void readindex_free(refraft_node *node);

/* replication.c */
int replication_start_term(refraft_node *node);
/* The leader's own new entries: appended (staged and synced when the log
 * stages) and sent to every follower; may commit them.  On error the
 * log is as before; a failed sync has made the node a follower. */
int replication_append_leader(refraft_node *node, const refraft_entry *entries,
                              size_t n);
void replication_heartbeat(refraft_node *node);
/* One AppendEntries without entries to p, at its match index (pipeline)
 * or its probe (it carries the current read round). */
void replication_send_heartbeat(refraft_node *node, struct peer *p);
/* Keep p's pipe full (or start its snapshot). */
void replication_replicate(refraft_node *node, struct peer *p);
/* Tell the host about the entries from index on before they leave the
 * log (on_discard). */
int replication_discard(refraft_node *node, refraft_index index);
int replication_on_append_entries(refraft_node *node, const refraft_msg *msg,
                                  refraft_reply_fn reply, void *reply_ctx);
int replication_on_append_entries_result(
    refraft_node *node, const refraft_append_entries_result *res);
void replication_advance_commit(refraft_node *node);
void replication_apply(refraft_node *node);
/* Clear *out into an AppendEntries result from this node, in its term,
 * with its last log index; returns the result's body. */
refraft_append_entries_result *
replication_result_init(refraft_node *node, refraft_msg *out);
/* Follower: tell the leader the data index moved (an unsolicited
 * successful AppendEntries result). */
void replication_report_data(refraft_node *node);
int replication_void(refraft_node *node, refraft_index index,
                     refraft_index *void_index);

#endif /* REFRAFT_CORE_NODE_H */
