/* refraft.h - public API of the refraft core: the Raft state machine. */
#ifndef REFRAFT_REFRAFT_H
#define REFRAFT_REFRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define REFRAFT_API __attribute__((visibility("default")))
#define REFRAFT_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define REFRAFT_API
#define REFRAFT_WARN_UNUSED
#endif

#define REFRAFT_VERSION_MAJOR 0
#define REFRAFT_VERSION_MINOR 1
#define REFRAFT_VERSION_PATCH 0

/*
 * Limits.  Node ids are opaque strings of 1..REFRAFT_ID_MAX bytes (no NUL
 * inside); record ids are opaque byte strings of 1..REFRAFT_RECORD_ID_MAX
 * bytes.
 */
#define REFRAFT_ID_MAX 64
#define REFRAFT_RECORD_ID_MAX 255
#define REFRAFT_DIGEST_LEN 32
/* Members of a configuration, voters and learners, this node included. */
#define REFRAFT_MAX_PEERS 15
/* A member's address (opaque to the core: the host's URL for it). */
#define REFRAFT_ADDRESS_MAX 255
#define REFRAFT_ERRMSG_LEN 256
#define REFRAFT_MAX_INFLIGHT 4096
#define REFRAFT_MAX_ENTRIES_PER_MSG (1 << 20)
/* Terms above this are refused as malformed: no honest cluster gets near
 * it, and the bound keeps term + 1 from ever wrapping. */
#define REFRAFT_TERM_MAX (UINT64_MAX >> 1)

/*
 * Error codes.  One table, never renumbered: a new code takes the next free
 * number at the end.  refraft_strerror() is generated from it.
 */
#define REFRAFT_ERRNO_MAP(X)                                                   \
    X(OK, 0, "success")                                                        \
    X(EINVAL, 1, "invalid argument")                                           \
    X(ENOMEM, 2, "out of memory")                                              \
    X(ENOTLEADER, 3, "this node is not the leader")                            \
    X(ENOLEADER, 4, "no leader is known; retry later")                         \
    X(ESTALE, 5, "message from an older term")                                 \
    X(EUNKNOWNPEER, 6, "unknown node id")                                      \
    X(EBADMSG, 7, "malformed message")                                         \
    X(EIO, 8, "storage error")                                                 \
    X(ECORRUPT, 9, "persisted state is inconsistent")                          \
    X(ENOSPC, 10, "storage is full")                                           \
    X(ETOOBIG, 11, "batch or message too large")                               \
    X(ENOTFOUND, 12, "not found")                                              \
    X(EFAILED, 13, "node has failed and must be recreated")                    \
    X(EDIGEST, 14, "record does not match its reference")                      \
    X(EWRONGSTORE, 15, "store belongs to another cluster, node or format")     \
    X(EBUSY, 16, "a membership change or leadership transfer is under way")    \
    X(ELAGGING, 17, "the server has not caught up yet")

enum refraft_error {
#define REFRAFT_ERR_ENUM_(name, num, msg) REFRAFT_##name = (num),
    REFRAFT_ERRNO_MAP(REFRAFT_ERR_ENUM_)
#undef REFRAFT_ERR_ENUM_
};

/* Static text for an error code; "unknown error" for a code not in the
 * table.  Never NULL; the string is never freed. */
REFRAFT_API const char *refraft_strerror(int code);

typedef uint64_t refraft_index;
typedef uint64_t refraft_term;

/*
 * Memory.  Every allocation the library makes goes through these hooks, so
 * an embedding application can account for memory and tests can fail each
 * allocation in turn.  Set them before creating any node; NULL restores
 * malloc/realloc/free.  Returns 0, or REFRAFT_EINVAL (nothing changed) when
 * one of the three functions is NULL.  Not thread-safe.
 */
typedef struct refraft_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} refraft_allocator;

REFRAFT_API int refraft_set_allocator(const refraft_allocator *alloc);

/* ------------------------------------------------------------------------
 * References and log entries
 * ------------------------------------------------------------------------ */

/*
 * A reference names a record the application owns: its id, its size in
 * bytes and the SHA-256 digest of its bytes.  Raft orders and commits
 * references; it never sees the record itself.
 */
typedef struct refraft_ref {
    const uint8_t *id; /* 1..REFRAFT_RECORD_ID_MAX bytes */
    uint16_t id_len;
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
} refraft_ref;

/*
 * digest gets the SHA-256 of len bytes: what a ref's digest must be.
 * Thread-safe.  0; REFRAFT_EINVAL for a NULL digest, or bytes NULL with
 * len > 0; REFRAFT_ENOMEM when OpenSSL cannot compute it.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_digest(const void *bytes, size_t len,
               uint8_t digest[REFRAFT_DIGEST_LEN]);

/* Whether a and b name the same record: the same id (length and bytes),
 * size and digest.  false when either is NULL, or an id is NULL with a
 * length. */
REFRAFT_API bool refraft_ref_equal(const refraft_ref *a, const refraft_ref *b);

typedef enum refraft_entry_type {
    /* Appended by each new leader at the start of its term (Raft §8): it
     * lets the leader commit entries of earlier terms.  Carries no ref. */
    REFRAFT_ENTRY_NOOP = 1,
    /* An application reference (from refraft_propose). */
    REFRAFT_ENTRY_REF = 2,
    /* VOID(k): the record of the REF entry at index k (.voided) was lost
     * before that entry committed, and the leader that appended this entry
     * found a majority of nodes authoritatively without it (hole filling,
     * docs/edge-cases.md).  When the VOID commits, entry k is abandoned on
     * every node.  Carries no ref. */
    REFRAFT_ENTRY_VOID = 3,
    /* Never stored in a log: the type hull.apply() sees for a REF entry
     * that a committed VOID abandoned.  The ref names the record that was
     * lost; the application treats the entry as a write that failed (any
     * copy of the record that turns up later is to be ignored). */
    REFRAFT_ENTRY_ABANDONED = 4,
    /* The cluster's whole new configuration (.members).  A node goes by
     * the last CONFIG entry in its log from the moment it is appended,
     * committed or not, and by the one before when a truncation removes
     * it (Raft thesis §4.1).  Carries no ref. */
    REFRAFT_ENTRY_CONFIG = 5
} refraft_entry_type;

/*
 * A member of a configuration.  A voter votes and counts toward
 * elections and commits; a learner only receives the log (and its
 * records), until it is promoted.  address is the host's, opaque to the
 * core ("" when unknown), at most REFRAFT_ADDRESS_MAX bytes.
 */
typedef struct refraft_member {
    const char *id;
    const char *address;
    bool voter;
} refraft_member;

typedef struct refraft_entry {
    refraft_term term;
    uint8_t type;    /* refraft_entry_type */
    refraft_ref ref; /* REF and ABANDONED only; zeroed otherwise */
    /* VOID only: the index of the REF entry it abandons, below the VOID's
     * own index; 0 otherwise. */
    refraft_index voided;
    /* CONFIG only: 1..REFRAFT_MAX_PEERS members with distinct ids, at
     * least one of them a voter; NULL and 0 otherwise.  In entries a log
     * returns, the strings belong to the log like a ref's id. */
    const refraft_member *members;
    size_t n_members;
} refraft_entry;

/* ------------------------------------------------------------------------
 * Reference snapshots (Raft §7, thesis §5)
 * ------------------------------------------------------------------------ */

/*
 * A snapshot stands for every entry up to last_index.  Its state is the
 * application's reference state at last_index: the references of the REF
 * entries up to there that were applied as REF (not ABANDONED), each with
 * the index of its entry, in index order.  Never the records themselves:
 * a node that installs a snapshot fetches the records it lacks through
 * its sweeper, as it does after losing them.
 */
typedef struct refraft_snapshot_meta {
    refraft_index last_index; /* the last entry the snapshot covers */
    refraft_term last_term;   /* that entry's term */
    /* The configuration in effect at last_index: its CONFIG entry's
     * index and members, or 0, NULL and 0 for the initial configuration
     * (refraft_config's; a node that installs such a snapshot goes by
     * its own, which for a server that joined is empty until the CONFIG
     * entry that added it arrives). */
    refraft_index config_index;
    const refraft_member *members;
    size_t n_members;
} refraft_snapshot_meta;

/* A reference of a snapshot's state and the index of its REF entry. */
typedef struct refraft_snapshot_ref {
    refraft_index index;
    refraft_ref ref;
} refraft_snapshot_ref;

/* ------------------------------------------------------------------------
 * Messages (DESIGN.md contract 1: Raft fields only, no envelope)
 * ------------------------------------------------------------------------ */

typedef enum refraft_msg_type {
    REFRAFT_MSG_APPEND_ENTRIES = 1,
    REFRAFT_MSG_APPEND_ENTRIES_RESULT = 2,
    REFRAFT_MSG_REQUEST_VOTE = 3,
    REFRAFT_MSG_REQUEST_VOTE_RESULT = 4,
    /* A leader handing over leadership tells its target to campaign now
     * (thesis §3.10).  It has no result. */
    REFRAFT_MSG_TIMEOUT_NOW = 5,
    /* A chunk of a reference snapshot, for a follower that needs entries
     * the leader compacted away (Raft §7), and its answer. */
    REFRAFT_MSG_INSTALL_SNAPSHOT = 6,
    REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT = 7
} refraft_msg_type;

/* Strings in messages are NUL-terminated node ids of 1..REFRAFT_ID_MAX
 * bytes. */
typedef struct refraft_append_entries {
    refraft_term term;
    const char *leader_id;
    refraft_index prev_log_index;
    refraft_term prev_log_term;
    refraft_index leader_commit;
    const refraft_entry *entries;
    size_t n_entries;
    /* The leader's latest read round (0: none yet): the follower echoes
     * it in its result, and a majority of echoes of round r confirms that
     * the sender still led after the reads of round r were asked for
     * (refraft_read_index; thesis §6.4). */
    uint64_t read_round;
    /* The leader's epoch for the follower it goes to: a number it draws
     * each time it starts tracking that follower (a new term, or the id
     * joining the configuration).  Results echo the epoch of the last
     * request the follower took from this leader, and the leader counts a
     * result only with the epoch it holds for that follower (or 0, from
     * a follower that echoes none): a late answer from a server that was
     * removed is never counted for a new server added under its id. */
    uint64_t epoch;
} refraft_append_entries;

typedef struct refraft_append_entries_result {
    refraft_term term;
    const char *follower_id;
    bool success;
    /* On success: the index of the last entry the follower now holds that
     * matches the leader (prev_log_index + n_entries of the request). */
    refraft_index match_index;
    /* On rejection: the prev_log_index of the rejected request, so the
     * leader can tell a fresh rejection from a stale one, plus a hint that
     * skips a whole conflicting term at a time (Raft §5.3, last paragraph):
     * conflict_term is the follower's term at rejected_index (0 when its
     * log is shorter) and conflict_index the first index it holds of that
     * term (its last index + 1 when its log is shorter). */
    refraft_index rejected_index;
    refraft_term conflict_term;
    refraft_index conflict_index;
    /* The follower's last log index, for the leader's diagnostics. */
    refraft_index last_log_index;
    /* The follower's data index: every entry up to it is settled there
     * (its record is present and verified, or a VOID abandons it).  The
     * leader's durable commit counts min(match_index, data_index).  A
     * follower whose data index advances outside an AppendEntries (a late
     * record, a sweeper fetch) sends an unsolicited successful result at
     * once, with match_index the highest index it has acknowledged to
     * this leader in this term. */
    refraft_index data_index;
    /* The read_round of the AppendEntries answered (0 in an unsolicited
     * result). */
    uint64_t read_round;
    /* The epoch of the last request taken from this leader (see
     * refraft_append_entries.epoch). */
    uint64_t epoch;
    /* refraft_records_behind() on the follower: records named below its
     * log's base may be missing (it installed a snapshot whose records
     * its sweeper is still fetching).  Its data index covers its log
     * only, so the leader neither promotes it nor hands it leadership
     * meanwhile: a voter would count as holding records it lacks. */
    bool records_behind;
} refraft_append_entries_result;

typedef struct refraft_request_vote {
    /* For a pre-vote: the term the candidate would campaign in (its
     * current term + 1); no one adopts it. */
    refraft_term term;
    const char *candidate_id;
    refraft_index last_log_index;
    refraft_term last_log_term;
    bool pre_vote;
    /* The candidate campaigns because the leader handed leadership to it
     * (TimeoutNow): voters grant it even while they hear from that
     * leader, which they otherwise refuse to abandon (thesis §4.2.3). */
    bool transfer;
} refraft_request_vote;

typedef struct refraft_request_vote_result {
    /* A granted pre-vote echoes the requested term; every other result
     * carries the voter's current term. */
    refraft_term term;
    const char *voter_id;
    bool vote_granted;
    bool pre_vote;
} refraft_request_vote_result;

typedef struct refraft_timeout_now {
    refraft_term term; /* the leader's */
    const char *leader_id;
} refraft_timeout_now;

/*
 * One chunk of the snapshot meta describes.  A snapshot travels as a
 * sequence of chunks, one at a time: the first has after 0, and each
 * next one starts after the last index the one before carried (its
 * refs[n_refs - 1].index; after again when it carried none).  refs are
 * in index order, each index in (after, meta.last_index].  done marks
 * the last chunk: the follower then installs the snapshot.
 */
typedef struct refraft_install_snapshot {
    refraft_term term;
    const char *leader_id;
    refraft_snapshot_meta meta;
    refraft_index after;
    const refraft_snapshot_ref *refs;
    size_t n_refs;
    bool done;
    uint64_t epoch; /* as in refraft_append_entries */
} refraft_install_snapshot;

typedef struct refraft_install_snapshot_result {
    refraft_term term;
    const char *follower_id;
    /* The snapshot answered (meta.last_index of the request). */
    refraft_index last_index;
    /* The follower has stored the chunks up to here and wants the one
     * that starts after it: 0 to start over.  Once installed, or when its
     * log already held the snapshot's last entry, it equals last_index
     * and installed is set; the follower's log then matches the leader's
     * up to last_index. */
    refraft_index after;
    bool installed;
    uint64_t epoch; /* as in refraft_append_entries_result */
} refraft_install_snapshot_result;

typedef struct refraft_msg {
    uint8_t type; /* refraft_msg_type */
    union {
        refraft_append_entries append_entries;
        refraft_append_entries_result append_entries_result;
        refraft_request_vote request_vote;
        refraft_request_vote_result request_vote_result;
        refraft_timeout_now timeout_now;
        refraft_install_snapshot install_snapshot;
        refraft_install_snapshot_result install_snapshot_result;
    } u;
} refraft_msg;

/* ------------------------------------------------------------------------
 * The log API: where the node's entries and hard state live
 * ------------------------------------------------------------------------ */

/* Version 4 logs store CONFIG entries.  A leader on an older log refuses
 * membership changes, and a follower on one cannot append a CONFIG entry
 * (its log refuses it, so it stops following): every node of a cluster
 * needs a version 4 log before the first change.  Version 5 adds
 * compaction (compact, install, base, and optionally size): a node on an
 * older log never compacts and cannot install a snapshot. */
#define REFRAFT_LOG_API_VERSION 5
/* The oldest version the node still takes (without stage and sync). */
#define REFRAFT_LOG_API_VERSION_MIN 2

/*
 * Storage behind a node.  Implementations: refraft_memlog (memory, for
 * tests and simulation) and refstore (LMDB).  An embedding application may
 * supply its own, e.g. to make log writes transactional with its state.
 *
 * Indexes start at 1 and terms of entries at 1 (index 0 has term 0).  An
 * empty log has first_index 1 and last_index 0.  Every call returns 0 or a
 * refraft error code; on error the call has no effect and its output
 * parameters are untouched (NULL output pointers are REFRAFT_EINVAL).  All
 * calls are made from the thread that drives the node.
 * Durability: when append, truncate or save_hard_state returns 0, what they
 * wrote must survive a crash of the process (Raft Figure 2: "updated on
 * stable storage before responding to RPCs").
 * New members are only ever added at the end of the struct.
 */
typedef struct refraft_log_api {
    int version; /* REFRAFT_LOG_API_VERSION */
    void *ctx;
    refraft_index (*first_index)(void *ctx);
    refraft_index (*last_index)(void *ctx);
    /* Term of the entry at index (first_index - 1 <= index <= last_index;
     * index 0 has term 0).  REFRAFT_ENOTFOUND outside that range. */
    int (*term_at)(void *ctx, refraft_index index, refraft_term *term);
    /*
     * Read up to max entries starting at index from into out[]; *n gets the
     * count (0 when from > last_index).  REFRAFT_ENOTFOUND when from <
     * first_index.  The ids inside the returned refs are owned by the log
     * and valid until the next call into this log API.
     */
    int (*get)(void *ctx, refraft_index from, size_t max, refraft_entry *out,
               size_t *n);
    /* Append n entries at last_index + 1, all or none.  The log copies the
     * entries, their ids and members; the caller keeps ownership of its
     * arrays.  REFRAFT_EINVAL for a type other than NOOP, REF, VOID and
     * (version 4) CONFIG, a term of 0, terms that go down (within the
     * batch or from the current last entry), a REF entry whose id is NULL,
     * empty or longer than REFRAFT_RECORD_ID_MAX, a VOID whose voided
     * index is 0 or not below its own index, or a CONFIG entry whose
     * members break refraft_entry's rules.  The fields a type does not use
     * are ignored and read back zeroed. */
    int (*append)(void *ctx, const refraft_entry *entries, size_t n);
    /* Remove the entries at index from and after (first_index <= from <=
     * last_index + 1). */
    int (*truncate)(void *ctx, refraft_index from);
    /* Persist current term and vote.  voted_for is a node id, or NULL (or
     * "") for no vote. */
    int (*save_hard_state)(void *ctx, refraft_term term, const char *voted_for);
    /* Load what save_hard_state last stored (term 0 and "" when nothing was
     * ever saved).  voted_for must hold REFRAFT_ID_MAX + 1 bytes; it gets
     * the empty string for no vote. */
    int (*load_hard_state)(void *ctx, refraft_term *term, char *voted_for);
    /*
     * Optional, both or neither: a leader's own append in two steps, so
     * that its AppendEntries go out while its disk syncs (Raft thesis
     * §10.2.1: the leader may write to its disk in parallel with
     * replicating to its followers).
     *
     * stage: like append (same checks, same errors), except that the
     * entries need not be durable yet.  They are part of the log at once:
     * first_index, last_index, term_at and get see them.
     *
     * sync: make every staged entry durable.  On success the log is as if
     * append had been called.  On error every staged entry is gone: the
     * log is what it was before stage.
     *
     * The node stages only as leader, for the entries it creates (its
     * no-op, proposals, VOIDs, CONFIG entries), and calls sync before it
     * returns to the application, with only get, term_at and last_index and the
     * hull's send, flush, have_records and on_event in between.  It counts its
     * own copy of the entries toward a commit only once sync has returned 0. If
     * sync fails it steps down: its followers may hold entries its log no
     * longer has, and no other entry may take their indexes in this term.
     */
    int (*stage)(void *ctx, const refraft_entry *entries, size_t n);
    int (*sync)(void *ctx);
    /*
     * Version 5: compaction.  The log's base is the snapshot its first
     * entry follows: first_index is base.last_index + 1, and term_at
     * answers for base.last_index with base.last_term.  A log that never
     * compacted has base.last_index 0.
     *
     * compact: drop the entries up to meta->last_index (first_index <=
     * meta->last_index <= last_index; REFRAFT_EINVAL otherwise, or when
     * meta->last_term is not that entry's term), and make meta the base.
     * The node compacts only applied entries; a log that holds the
     * application's state beside it (refstore) makes that state durable
     * with the compaction, since the entries can no longer be applied
     * again.
     *
     * install: drop every entry and make meta the base: the log is then
     * empty, first_index meta->last_index + 1.  The node installs after
     * the application took the snapshot's state (hull.snapshot_install).
     * The hard state is unchanged.
     *
     * base: fill *out with the base; the members belong to the log, valid
     * until the next call into it.
     *
     * All three, or none.  Durable on return, like append.
     *
     * compact and install also refuse (REFRAFT_EINVAL, nothing changed)
     * a meta that describes no snapshot: last_index or last_term 0,
     * config_index above last_index, no members with a config_index
     * other than 0, or members refraft_check_members() refuses; install
     * refuses a last_index below the base's.
     */
    int (*compact)(void *ctx, const refraft_snapshot_meta *meta);
    int (*install)(void *ctx, const refraft_snapshot_meta *meta);
    int (*base)(void *ctx, refraft_snapshot_meta *out);
    /*
     * Version 5, optional (NULL: none): *bytes gets the bytes the log's
     * entries take in its storage, an estimate the log computes cheaply
     * (memlog sums a fixed overhead and the ids and members of its
     * entries; refstore counts the pages of its log database).  It grows
     * with append and stage and shrinks with truncate, compact and
     * install.  The node calls it after applying entries when
     * refraft_config.compact_bytes is set (which needs it).
     */
    int (*size)(void *ctx, uint64_t *bytes);
} refraft_log_api;

/* ------------------------------------------------------------------------
 * The hull: what the host provides
 * ------------------------------------------------------------------------ */

enum refraft_role {
    REFRAFT_FOLLOWER = 1,
    REFRAFT_PRECANDIDATE = 2,
    REFRAFT_CANDIDATE = 3,
    REFRAFT_LEADER = 4
};

REFRAFT_API const char *refraft_role_name(int role);

typedef enum refraft_event_type {
    REFRAFT_EVENT_ROLE = 1,   /* role changed; see refraft_role() */
    REFRAFT_EVENT_TERM = 2,   /* current term changed */
    REFRAFT_EVENT_LEADER = 3, /* known leader changed (may become unknown) */
    REFRAFT_EVENT_COMMIT = 4, /* commit index advanced */
    /* The data index moved, or an append left entries past it whose
     * records are missing: a sweeper has work (refraft_sweeper_kick). */
    REFRAFT_EVENT_DATA = 5,
    /* The configuration changed: a CONFIG entry was appended or truncated
     * away (refraft_config_index, refraft_member_get), or the one in
     * effect committed. */
    REFRAFT_EVENT_CONFIG = 6
} refraft_event_type;

typedef struct refraft_event {
    uint8_t type; /* refraft_event_type */
    int role;
    refraft_term term;
    const char *leader_id; /* NULL when no leader is known */
    refraft_index commit_index;
    refraft_index data_index;
    refraft_index last_index;
} refraft_event;

/* Version 4 adds on_read, version 5 the snapshot hooks. */
#define REFRAFT_HULL_VERSION 5
/* The oldest version the node still takes (without flush). */
#define REFRAFT_HULL_VERSION_MIN 2

/*
 * Callbacks into the host.  All of them are called synchronously from
 * inside a refraft_* call on the node's thread.  Pointers handed to a
 * callback are valid only for the duration of that call: the host copies
 * what it keeps.  A callback must not call refraft functions that change
 * the node (propose, on_message, tick, destroy); the read-only getters are
 * allowed.  New members are only ever added at the end.
 */
typedef struct refraft_hull {
    int version; /* REFRAFT_HULL_VERSION */
    void *ctx;
    /*
     * Deliver msg to the node with id to_id, however the host's comms
     * work.  Delivery may be lost, late, duplicated or reordered: Raft
     * tolerates all of that.  A non-zero return is treated like a lost
     * message.  Required.
     */
    int (*send)(void *ctx, const char *to_id, const refraft_msg *msg);
    /* Monotonic time in milliseconds.  Required. */
    uint64_t (*now_ms)(void *ctx);
    /* 64 random bits; used for election timeouts.  Required. */
    uint64_t (*random)(void *ctx);
    /*
     * Apply the committed entry at index to the application's state.
     * Called exactly once per index, in index order, for every entry
     * including no-ops and VOIDs, and only once the entry is settled here
     * (applied_index <= min(commit_index, data_index)): a REF entry is
     * applied with its record present and verified, or, when a committed
     * VOID abandoned it, with type REFRAFT_ENTRY_ABANDONED.  A non-zero
     * return stops applying: the node retries the same index on the next
     * refraft_tick().  Required.
     */
    int (*apply)(void *ctx, refraft_index index, const refraft_entry *entry);
    /*
     * Entries at index from and after were removed from the log (a new
     * leader's log disagreed with them, or this leader's sync of entries
     * it staged failed; they were not committed).  The
     * application undoes what it did when they were appended (DESIGN.md
     * contract 7).  Optional (may be NULL).
     */
    void (*on_truncate)(void *ctx, refraft_index from);
    /* Role, term, leader, commit index or data index changed.
     * Optional. */
    void (*on_event)(void *ctx, const refraft_event *event);
    /*
     * Records.  For each of the n refs set present[i]: whether the record
     * refs[i] names is stored here, its size and SHA-256 digest checked
     * when it was stored.  The node asks about the entries past its data
     * index whenever its log grows or refraft_records_stored() is called.
     * A non-zero return counts as "none present" (the data index waits).
     * Optional: when NULL every record counts as present, so the data
     * index follows the log and durable commit is plain Raft; the
     * application then vouches for its records itself.
     */
    int (*have_records)(void *ctx, const refraft_ref *refs, size_t n,
                        bool *present);
    /*
     * The entry at index is about to be removed from the log (a new
     * leader's log disagreed with it; it was never committed).  Called
     * for each removed entry, in index order, before on_truncate and
     * before the log is truncated; a record stored for a discarded REF
     * entry may become an orphan (the sweeper collects it once no entry
     * names it).  Optional.
     */
    void (*on_discard)(void *ctx, refraft_index index,
                       const refraft_entry *entry);
    /*
     * The node is about to wait for its log to sync entries it staged
     * (refraft_log_api.stage): put what send() has queued on the wire
     * now, so that followers receive and write the entries while the
     * leader's disk syncs.  Must not call into the node.  Optional: a
     * host that sends from within send() needs none.
     */
    void (*flush)(void *ctx);
    /*
     * A read asked for with refraft_read_index() is decided.  status 0:
     * index is its read index; the application answers the read from its
     * state once it has applied index (which the node may not have yet).
     * status REFRAFT_ENOTLEADER: this node stopped leading first, and the
     * read must be asked for again (of the new leader).  Optional; without
     * it refraft_read_index() is refused.
     */
    void (*on_read)(void *ctx, uint64_t read_id, int status,
                    refraft_index index);
    /*
     * Snapshots of the reference state (refraft_snapshot_meta).  All
     * three, or none: without them (or with a log API older than version
     * 5) the node never compacts and cannot install a snapshot.
     *
     * snapshot_read (leader): fill out[] with up to max references of the
     * reference state at last (an index the node has applied), those
     * whose index is in (after, last], in index order; *n gets the count.
     * Fewer than max only when no more follow.  The state at last must
     * stay readable while later entries are applied: an application whose
     * state is its references by index reads a prefix of it.  The ids
     * belong to the application, valid until the next call of this hook.
     *
     * snapshot_write (follower): keep a chunk of the snapshot meta
     * describes, aside from the application's state; after 0 starts a
     * new snapshot, dropping any earlier one not installed.  The node
     * hands the chunks in order, each after the one before.  A chunk may
     * belong to a later snapshot than the chunks before it (the leader
     * compacted meanwhile, or a new leader sends its own base): the
     * reference state up to a committed index is the same in every later
     * snapshot, so the chunks kept are a prefix of the new one and the
     * snapshot is the one the last chunk's meta describes.
     *
     * snapshot_install (follower): the chunks of meta's snapshot are all
     * written: make them the application's state, as if every entry up to
     * meta->last_index had been applied (and nothing after it), durably
     * and atomically with the log's install: should the log's install
     * fail after this hook took the state, the node fails
     * (REFRAFT_EFAILED), since its log and the application's state then
     * disagree (refstore commits both in one transaction).  The records
     * its references name are the sweeper's to fetch
     * (refraft_sweeper_snapshot_installed).
     *
     * Non-zero returns: the read or chunk is tried again later.
     */
    int (*snapshot_read)(void *ctx, refraft_index last, refraft_index after,
                         refraft_snapshot_ref *out, size_t max, size_t *n);
    int (*snapshot_write)(void *ctx, const refraft_snapshot_meta *meta,
                          refraft_index after, const refraft_snapshot_ref *refs,
                          size_t n);
    int (*snapshot_install)(void *ctx, const refraft_snapshot_meta *meta);
} refraft_hull;

/* ------------------------------------------------------------------------
 * Node
 * ------------------------------------------------------------------------ */

typedef struct refraft_node refraft_node;

/*
 * When the leader counts an entry as committed (docs/recovery.md says what
 * each promises).
 */
typedef enum refraft_commit_policy {
    /* Default.  N commits when a majority (the leader included) has
     * min(match_index, data_index) >= N and term(N) is the current term:
     * the record of every committed entry is held by a majority at the
     * moment it commits, so losing any minority of nodes, disks included,
     * loses no committed record. */
    REFRAFT_COMMIT_DURABLE = 0,
    /* Plain Raft on match_index: commit does not wait for records.  A
     * committed entry whose record every node lost cannot be applied
     * anywhere (the sweeper reports it as unrecoverable); the record's
     * durability is the application's business. */
    REFRAFT_COMMIT_REFERENCE = 1
} refraft_commit_policy;

/* Settings.  Zero fields take the documented default. */
typedef struct refraft_config {
    const char *id; /* this node's id: required */
    /* The initial configuration: this node and these peers, all voters.
     * The log overrides it from its first CONFIG entry on. */
    const char *const *peers; /* the other voters' ids (not this node) */
    size_t n_peers;           /* 0..REFRAFT_MAX_PEERS - 1 */
    /* Election timeout: each wait is drawn uniformly from [t, 2t).
     * Default 1000 ms. */
    uint32_t election_timeout_ms;
    /* Leader heartbeat interval; must be below the election timeout.
     * Default election_timeout_ms / 10. */
    uint32_t heartbeat_ms;
    /* Most entries per AppendEntries.  Default 1024, at most
     * REFRAFT_MAX_ENTRIES_PER_MSG. */
    uint32_t max_entries_per_msg;
    /* Most unacknowledged AppendEntries carrying entries per follower once
     * its log is known to match (pipelining).  While the window is full,
     * new entries wait and leave together in the next message.  Default 8,
     * at most REFRAFT_MAX_INFLIGHT. */
    uint32_t max_inflight;
    bool disable_pre_vote; /* pre-vote (Raft thesis §9.6) is on unless set */
    bool disable_check_quorum; /* check-quorum (thesis §6.2) is on unless set */
    /* The highest index the application has already applied (it survived
     * a restart); the node resumes applying after it.  Default 0. */
    refraft_index applied_index;
    /* One of refraft_commit_policy.  Default REFRAFT_COMMIT_DURABLE. */
    uint8_t commit_policy;
    /* An index up to which every entry is known to be settled here (the
     * host saved the data index and its record store is the one it was
     * saved with): the node checks records only after it, and after
     * applied_index when that is lower (a saved data index may vouch for
     * entries a truncation replaced; applied ones are never replaced).
     * Default 0: check the whole log at creation.  Above the log's last
     * index it is REFRAFT_EINVAL. */
    refraft_index data_index;
    /* Test hook: breaks one Raft rule on purpose so the simulator can show
     * it catches the violation (refraft_inject values, OR-ed).  Never set
     * it outside tests. */
    uint32_t inject_bugs;
    /* The peers' addresses, in peers' order (NULL: all ""): they go into
     * the first CONFIG entry this node writes as leader. */
    const char *const *peer_addresses;
    /* A server being added (docs/operations.md): its initial
     * configuration is empty (peers must be), so until a CONFIG entry in
     * its log names it a voter it never campaigns; it follows whichever
     * leader reaches it. */
    bool join;
    /* refraft_promote() refuses (REFRAFT_ELAGGING) a learner whose match
     * or data index is more than this many entries behind the leader's
     * last index.  Default max_entries_per_msg. */
    uint32_t promote_lag;
    /* Compaction (needs the log's and the hull's snapshot members): once
     * more than compact_entries applied entries are in the log, the node
     * compacts it up to compact_keep entries behind its applied index
     * (the entries kept let a follower that lags a little catch up
     * without a snapshot).  compact_entries 0: never (the default).
     * When compact_entries is set, compact_keep must be below it
     * (REFRAFT_EINVAL); it defaults to max_entries_per_msg or
     * compact_entries / 2, whichever is less (max_entries_per_msg when
     * only compact_bytes is set, 0 when neither is). */
    uint32_t compact_entries;
    uint32_t compact_keep;
    /* Most references per InstallSnapshot chunk.  Default
     * max_entries_per_msg. */
    uint32_t snapshot_chunk;
    /* Compaction by size: once the log's entries take more than
     * compact_bytes (log.size), the node compacts as compact_entries
     * says, up to compact_keep entries behind its applied index.  Either
     * bound triggers.  0: no bytes bound (the default).  Needs log.size
     * besides the snapshot members (REFRAFT_EINVAL otherwise).  To avoid
     * thrashing, a compaction the bytes bound triggers must remove at
     * least as many entries as it keeps (more than 2 * compact_keep
     * applied entries in the log): when the kept entries alone take more
     * than compact_bytes, the log is not compacted after every apply. */
    uint64_t compact_bytes;
    /* A node that is not the leader applies what a message commits in its
     * next refraft_tick() (refraft_next_deadline() is then due at once),
     * not inside refraft_on_message(): its answer to the AppendEntries
     * does not wait for the application's applies, which the leader
     * would otherwise wait for, a batch at a time, before each next
     * batch.  The leader applies at once either way (its clients wait
     * for it).  Default false. */
    bool defer_follower_apply;
} refraft_config;

/* Deliberate bugs for the simulator's self-test (refraft_config.inject_bugs).
 */
typedef enum refraft_inject {
    /* Commit an entry of an earlier term by counting replicas, the rule
     * Raft §5.4.2 / Figure 8 forbids. */
    REFRAFT_INJECT_COMMIT_OLD_TERM = 1u << 0,
    /* Grant votes without the "at least as up-to-date" check (§5.4.1). */
    REFRAFT_INJECT_VOTE_ANY_LOG = 1u << 1,
    /* Forget the vote on restart (violates "persist votedFor"). */
    REFRAFT_INJECT_FORGET_VOTE = 1u << 2
} refraft_inject;

/*
 * Create a node.  Loads the hard state and the log through log, validates
 * the configuration, and starts as a follower with a randomized election
 * deadline.  hull and log are copied by value; their ctx pointers must stay
 * valid until refraft_node_destroy().  On success *out gets the node (free
 * it with refraft_node_destroy) and 0 is returned.  On error *out is
 * untouched, nothing is written to the log, and when errbuf is not NULL it
 * receives a message saying what was wrong (at most errbuf_len bytes,
 * NUL-terminated).  Errors: REFRAFT_EINVAL (bad config, hull or log API),
 * REFRAFT_ENOMEM, REFRAFT_ECORRUPT (hard state behind the log), or what the
 * log API returned.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_node_create(const refraft_config *config, const refraft_hull *hull,
                    const refraft_log_api *log, refraft_node **out,
                    char *errbuf, size_t errbuf_len);

/* Free the node.  Does not touch the log.  Reads still pending
 * (refraft_read_index) are dropped without an on_read call.  NULL is
 * allowed. */
REFRAFT_API void refraft_node_destroy(refraft_node *node);

/*
 * Hand the node a message that arrived from a peer.
 *
 * reply: with RPC comms, pass a callback that answers this request in
 * place; it is called at most once, before on_message returns, with the
 * result (the result and its strings are valid only during the call).
 * With one-way comms pass NULL: the result goes to the sender through the
 * hull's send(), addressed by the id the request names (leader_id or
 * candidate_id).  Results (the *_RESULT types) never produce a reply.
 *
 * Returns 0 when the message was processed.  REFRAFT_ESTALE when its term
 * is older than ours: it was rejected and the rejection (carrying our term)
 * was sent, as Raft requires, but nothing else changed.  REFRAFT_EINVAL or
 * REFRAFT_EBADMSG when the message is malformed (unknown type, bad id, zero
 * term, entries inconsistent with the header, a sender with this node's
 * own id) and REFRAFT_EUNKNOWNPEER when a result comes from an id outside
 * the configuration: nothing changed and nothing was sent.  Requests are
 * taken from any id (thesis §4.1: a server added by a CONFIG entry this
 * node has not received yet may lead already).  A vote request of a
 * higher term that arrives while this node hears from a leader is ignored
 * (0, nothing changed, nothing sent; thesis §4.2.3), unless it is a
 * transfer's.  A log API error (REFRAFT_EIO, REFRAFT_ENOSPC, ...) is
 * returned as is: no answer is sent, and the log holds what the calls that
 * succeeded wrote (a truncation without the append that should follow it,
 * say), which is a state Raft recovers from; the leader retries.
 * REFRAFT_ECORRUPT when a leader contradicts an entry this node holds as
 * committed: the node is failed and every later call returns
 * REFRAFT_EFAILED.  REFRAFT_EINVAL also when called from inside one of
 * this node's callbacks.  refraft_errmsg() says what was wrong.
 */
typedef void (*refraft_reply_fn)(void *reply_ctx, const refraft_msg *result);

REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_on_message(refraft_node *node, const refraft_msg *msg,
                   refraft_reply_fn reply, void *reply_ctx);

/*
 * Drive timers: election timeout, heartbeats, check-quorum, and retry of
 * a stalled apply.  Call it at refraft_next_deadline() or earlier; calling
 * it more often is harmless.  Returns 0, or the log API's error when saving
 * the hard state for an election failed (the node stays as it was and
 * tries again at its next timeout), or REFRAFT_EFAILED.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refraft_tick(refraft_node *node);

/* The hull time (ms) at which refraft_tick() next has work to do. */
REFRAFT_API uint64_t refraft_next_deadline(const refraft_node *node);

/*
 * Leader only: append a batch of references to the log, uncommitted, and
 * start replicating them (DESIGN.md contract 3: append, then replicate;
 * the entries commit when a majority holds them, and are applied after).
 * On success *first_index gets the index of refs[0]; refs[i] is at
 * *first_index + i.  The refs (and their ids) are copied.
 *
 * Errors (nothing appended): REFRAFT_ENOTLEADER when another node leads
 * (refraft_leader_id() names it), REFRAFT_ENOLEADER when no leader is
 * known, REFRAFT_EBUSY during a leadership transfer (refraft_transfer),
 * REFRAFT_EINVAL for an empty batch or a bad ref (id NULL, empty, or
 * longer than REFRAFT_RECORD_ID_MAX), REFRAFT_EIO etc. from the log.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_propose(refraft_node *node, const refraft_ref *refs, size_t n,
                refraft_index *first_index);

/*
 * Records were stored here (a late push, a sweeper fetch): the node checks
 * the entries past its data index again, applies what became settled and
 * committed, and, when its data index advanced, reports it at once (a
 * follower to its leader; a leader re-counts durable commit).  Returns 0,
 * or REFRAFT_EFAILED.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refraft_records_stored(refraft_node *node);

/*
 * Leader only: append VOID(index), abandoning the REF entry at index whose
 * record was lost before it committed (hole filling).  The caller (the
 * sweeper) must have found the record absent on a majority of the voters
 * of the configuration in effect, this one included when it is one, each
 * answering authoritatively in the current term; the
 * node itself checks what it can know.  On success *void_index gets the
 * VOID's index.  Until the VOID commits, this leader commits nothing
 * between index and the VOID, and advertises no commit index there, so
 * that no node applies the entry before it knows its fate.
 * Only under the durable commit policy: there a committed entry's record
 * is on a majority, so a majority that lacks it proves the entry
 * uncommitted; under the reference policy nothing does.
 * Errors (nothing appended): REFRAFT_ENOTLEADER / REFRAFT_ENOLEADER as for
 * propose; REFRAFT_EINVAL under the reference policy, or when index is
 * committed, outside the log, not a REF entry, already voided, or its
 * record is present here; log errors.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refraft_void(refraft_node *node,
                                                 refraft_index index,
                                                 refraft_index *void_index);

/*
 * Membership changes, one server at a time (Raft thesis §4.1-§4.3).
 * Leader only.  Each appends a CONFIG entry with the current
 * configuration changed by one server and replicates it; the change is in
 * effect at once and done when *index commits.  A new server joins as a
 * learner (started with refraft_config.join), receives the log and, through
 * its sweeper, the records; it is promoted once it has caught up.  A
 * leader that removes itself keeps leading until the change commits, not
 * counting itself, then steps down.
 *
 * Errors (nothing appended): REFRAFT_ENOTLEADER / REFRAFT_ENOLEADER as for
 * propose; REFRAFT_EBUSY while the last change has not committed, or
 * before this leader has committed an entry of its own term (the
 * condition that makes single-server changes safe across leader changes);
 * REFRAFT_EINVAL for a bad id or address, a server already a member
 * (add), not a learner (promote), not a member or the last voter
 * (remove), a configuration already at REFRAFT_MAX_PEERS members, or a
 * log API older than version 4; REFRAFT_ELAGGING when the learner's match
 * or data index is more than promote_lag entries behind; log errors.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_add_learner(refraft_node *node, const char *id, const char *address,
                    refraft_index *index);
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_promote(refraft_node *node, const char *id, refraft_index *index);
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_remove(refraft_node *node, const char *id, refraft_index *index);

/* Check members as a CONFIG entry must have them (refraft_entry): 0, or
 * REFRAFT_EINVAL with errbuf saying what is wrong.  For log
 * implementations, which refuse such an entry. */
REFRAFT_API int refraft_check_members(const refraft_member *members, size_t n,
                                      char *errbuf, size_t errbuf_len);

/*
 * Leadership transfer (thesis §3.10).  Leader only: stop taking proposals
 * and membership changes (REFRAFT_EBUSY) while target_id, a voter, is
 * brought up to date (its match and data index reach the leader's last
 * index), then send it TimeoutNow: it campaigns at once, without a
 * pre-vote.  The transfer ends when this node stops leading, or after an
 * election timeout, when the leader takes proposals again.
 * Errors: REFRAFT_ENOTLEADER / REFRAFT_ENOLEADER; REFRAFT_EINVAL when
 * target_id is this node, not a member or a learner; REFRAFT_EBUSY when a
 * transfer is under way already.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_transfer(refraft_node *node, const char *target_id);
/* The target of the transfer under way, or NULL. */
REFRAFT_API const char *refraft_transfer_target(const refraft_node *node);

/*
 * A linearizable read (ReadIndex, thesis §6.4).  Leader only: the node
 * takes its commit index as the read index (once an entry of its own term
 * has committed, so that the index covers every write acknowledged
 * before), confirms with a round of AppendEntries that a majority still
 * follows it, and then calls hull.on_read(read_id, 0, index).  *read_id
 * gets the read's number, unique for the node's lifetime.  A follower
 * serves a read by asking the leader (over the host's transport) and
 * waiting until it has applied the answer.
 * Errors: REFRAFT_ENOTLEADER / REFRAFT_ENOLEADER; REFRAFT_EINVAL without
 * hull.on_read; REFRAFT_ENOMEM.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_read_index(refraft_node *node, uint64_t *read_id);

/*
 * Compact the log now, up to upto (at most the applied index; 0: up to
 * compact_keep behind it), whatever compact_entries says.  Returns 0
 * (also when there was nothing to compact), REFRAFT_EINVAL without the
 * snapshot members of the log and hull or for upto above the applied
 * index, or the log's error.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_compact(refraft_node *node, refraft_index upto);
/* The index the log's base snapshot ends at (0: never compacted or
 * installed).  Entries up to it are no longer in the log. */
REFRAFT_API refraft_index refraft_snapshot_index(const refraft_node *node);

/* The index of the CONFIG entry in effect (0: the initial configuration
 * from refraft_config). */
REFRAFT_API refraft_index refraft_config_index(const refraft_node *node);
/* The members of the configuration in effect, this node included when it
 * is one; i = 0..n - 1.  REFRAFT_EINVAL past the end.  The strings are
 * the node's, valid until the configuration changes. */
REFRAFT_API size_t refraft_n_members(const refraft_node *node);
REFRAFT_API int
refraft_member_get(const refraft_node *node, size_t i, refraft_member *out);
/* Whether id is a voter of the configuration in effect. */
REFRAFT_API bool refraft_is_voter(const refraft_node *node, const char *id);

/* The index of the VOID in this node's log that abandons the entry at
 * index, or 0 when there is none. */
REFRAFT_API refraft_index refraft_void_of(const refraft_node *node,
                                          refraft_index index);

/* What a leader knows of one follower.  match_index and data_index are 0
 * on a node that is not leader, and until the follower answers. */
typedef struct refraft_peer_progress {
    refraft_index match_index;
    refraft_index data_index; /* as last reported in this term */
    bool recent_contact;      /* answered during this check-quorum period */
    bool voter;               /* false: a learner */
    /* Leader: the last index of the snapshot being sent to it, 0 when
     * none. */
    refraft_index snapshot_index;
    /* It said records below its log's base may be missing there
     * (refraft_append_entries_result.records_behind). */
    bool records_behind;
} refraft_peer_progress;

/* Fill *out for the peer named id.  REFRAFT_EUNKNOWNPEER for an id that
 * is not a peer; REFRAFT_EINVAL for NULL arguments. */
REFRAFT_API int refraft_peer_progress_get(const refraft_node *node,
                                          const char *id,
                                          refraft_peer_progress *out);

/* Read-only getters.  Strings are owned by the node and valid until the
 * next call that changes it. */
REFRAFT_API const char *refraft_id(const refraft_node *node);
/* One of enum refraft_role. */
REFRAFT_API int refraft_role(const refraft_node *node);
REFRAFT_API refraft_term refraft_current_term(const refraft_node *node);
/* NULL when no leader is known. */
REFRAFT_API const char *refraft_leader_id(const refraft_node *node);
/* NULL when no vote was cast this term. */
REFRAFT_API const char *refraft_voted_for(const refraft_node *node);
REFRAFT_API refraft_index refraft_commit_index(const refraft_node *node);
REFRAFT_API refraft_index refraft_applied_index(const refraft_node *node);
REFRAFT_API refraft_index refraft_last_index(const refraft_node *node);
/* Largest N such that every entry up to N is settled here. */
REFRAFT_API refraft_index refraft_data_index(const refraft_node *node);
/* Whether records named below the log's base may be missing here: after
 * a snapshot was installed, or on a start whose config.data_index is
 * below the base, the node looks for the records of the reference
 * state (hull.snapshot_read, have_records) whenever
 * refraft_records_stored() is called, until it has found them all.  The
 * data index covers the log only; this covers what is below it. */
REFRAFT_API bool refraft_records_behind(const refraft_node *node);
/* One of refraft_commit_policy. */
REFRAFT_API int refraft_commit_policy_of(const refraft_node *node);
/* The other members of the configuration in effect, voters and learners
 * (not this node), i = 0..n - 1; NULL past the end.  Their order changes
 * when the configuration does. */
REFRAFT_API size_t refraft_n_peers(const refraft_node *node);
REFRAFT_API const char *refraft_peer_id(const refraft_node *node, size_t i);
/* The specific cause of the last error this node returned ("" if none). */
REFRAFT_API const char *refraft_errmsg(const refraft_node *node);

#ifdef __cplusplus
}
#endif

#endif /* REFRAFT_REFRAFT_H */
