/* fixture.h - a deterministic, step-by-step cluster of refraft nodes. */
#ifndef REFRAFT_TESTS_FIXTURE_H
#define REFRAFT_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/memlog.h"
#include "refraft/refraft.h"

/*
 * A fixture holds nodes "n1".."nN", each on its own memlog, sharing one
 * virtual clock.  Nothing happens on its own: a node acts only when the
 * test ticks it or delivers a message to it, so every test decides the
 * order of events and can assert the state after each one.  Nodes are
 * numbered 1..N, like their ids.
 *
 * Every message a node sends is deep-copied into one FIFO queue, tagged
 * with sender and addressee; the test delivers, drops or inspects it.
 * The hull records, per node, every apply(), on_truncate() and event.
 *
 * Test failures inside helpers go through cmocka (fail_msg), so a test
 * reads as a sequence of steps.  Register every test that calls fx_new()
 * with fx_cleanup as its teardown: it frees the fixture even when the
 * test failed half-way.
 */

#define FX_MAX_NODES 7
/* Wildcard for a node number or message type in queries. */
#define FX_ANY 0
/* fx_deliver(): the addressee is down, isolated or not in the fixture. */
#define FX_DROPPED (-1)
/* Election timeout T given to every node unless the test changes it. */
#define FX_ELECTION_TIMEOUT 100

/*
 * A message as a node sent it.  The copy owns its strings, entries and
 * record ids, so it stays valid after the sender's call returned; msg's
 * pointers point into this struct, which therefore never moves.
 */
typedef struct fx_msg {
    int from; /* sender's node number */
    int to;   /* addressee's node number, 0 when no node has to_id */
    char to_id[REFRAFT_ID_MAX + 1];
    /* A deep copy: its entries, refs, members and strings live in copy
     * (msgcopy.h), or in an fx_capture's storage. */
    refraft_msg msg;
    void *copy;
} fx_msg;

/* One entry as apply() saw it, or as read from a log. */
typedef struct fx_record {
    refraft_index index;
    refraft_term term;
    uint8_t type;
    char record[REFRAFT_RECORD_ID_MAX + 1]; /* ref id as text, "" if NOOP */
    refraft_index voided;                   /* a VOID's voided index */
    size_t n_members;                       /* a CONFIG's member count */
} fx_record;

/* One on_event() call, with the leader id copied. */
typedef struct fx_event {
    uint8_t type;
    int role;
    refraft_term term;
    char leader[REFRAFT_ID_MAX + 1]; /* "" when no leader was named */
    refraft_index commit_index;
    refraft_index data_index;
} fx_event;

/* One reference of an application's reference state (the snapshot
 * hooks): a REF entry applied as REF, with its index. */
typedef struct fx_state_ref {
    refraft_index index;
    char record[REFRAFT_RECORD_ID_MAX + 1];
    refraft_ref ref; /* ref.id points at record */
} fx_state_ref;

typedef struct fixture fixture;

typedef struct fx_node {
    fixture *fx;
    int num;
    char id[REFRAFT_ID_MAX + 1];
    refraft_memlog *memlog;
    refraft_log_api log;
    /* Knobs the test may set before fx_start() or fx_restart(); id and
     * peers are filled in by the fixture. */
    refraft_config config;
    refraft_node *node; /* NULL before fx_start() and while crashed */
    uint64_t random;    /* what the hull's random() returns */
    bool isolated;      /* messages to and from it are lost */
    size_t n_sent;      /* send() calls, lost ones included */
    fx_record *applied;
    size_t n_applied;
    refraft_index *truncated; /* on_truncate() arguments, in order */
    size_t n_truncated;
    fx_event *events;
    size_t n_events;
    const char *peer_ids[FX_MAX_NODES];
    /* Records (fx_records_on): the ids this node holds; the hull's
     * have_records answers from them. */
    bool track_records;
    bool have_fails; /* have_records returns REFRAFT_EIO */
    char (*records)[64];
    size_t n_records;
    size_t n_have_calls;
    fx_record *discarded; /* on_discard() calls, in order */
    size_t n_discarded;
    /* The application (durable, like the memlog): its applied index, by
     * apply() and by installed snapshots, and its reference state, which
     * the snapshot hooks read and replace.  staged holds the chunks
     * snapshot_write() kept, not yet installed. */
    refraft_index app_applied;
    fx_state_ref *state;
    size_t n_state;
    fx_state_ref *staged;
    size_t n_staged;
    size_t n_snapshot_writes;
    size_t n_installs;
    refraft_snapshot_meta installed; /* the last install's (members NULL) */
    bool snapshot_write_fails;       /* snapshot_write returns 1 */
} fx_node;

struct fixture {
    int n;
    fx_node nodes[FX_MAX_NODES];
    uint64_t now;
    fx_msg **queue;
    size_t n_queued;
    fixture *next_live; /* fixtures not yet freed, for fx_cleanup */
};

/* ---- setup ------------------------------------------------------------ */

/* n nodes with empty memlogs, not started.  Every node gets election
 * timeout FX_ELECTION_TIMEOUT and random value (num - 1) * 10, so n1
 * times out first unless the test says otherwise. */
fixture *fx_new(int n);
/* n_members nodes n1..n<n_members> that form the initial configuration
 * (each has the others as peers), plus n_joining nodes after them started
 * with config.join and no peers: servers to be added with
 * refraft_add_learner().  Not started. */
fixture *fx_new_joining(int n_members, int n_joining);
/* cmocka teardown: frees every fixture made by fx_new(). */
int fx_cleanup(void **state);
fx_node *fx_node_at(fixture *fx, int i);
refraft_node *fx_raft(fixture *fx, int i);
/* Create every node (fails the test if any creation fails). */
void fx_start(fixture *fx);
/* Crash: destroy the node, keep its memlog (its "disk").  Messages to it
 * are lost until it restarts. */
void fx_crash(fixture *fx, int i);
/*
 * Restart on the same memlog with the node's current config.  The
 * application's state is modelled as durable: the applied records are
 * kept and config.applied_index is set to the last one.
 */
void fx_restart(fixture *fx, int i);
/* The hull the fixture gives node i (for tests that create nodes by
 * hand). */
void fx_hull(fixture *fx, int i, refraft_hull *hull);

/* ---- time ------------------------------------------------------------- */

void fx_advance(fixture *fx, uint64_t ms);
/* refraft_tick() on node i at the current time; returns its result. */
int fx_tick(fixture *fx, int i);
/* Move the clock to node i's next deadline (if it is in the future) and
 * tick it: for a follower, that is its election timeout. */
void fx_timeout(fixture *fx, int i);
/* Tick, in order, every live node whose deadline has come. */
void fx_tick_due(fixture *fx);
/* Run the whole cluster for ms milliseconds, one millisecond at a time:
 * tick each live node whose deadline has come, then deliver every
 * message. */
void fx_run(fixture *fx, uint64_t ms);

/* ---- messages --------------------------------------------------------- */

size_t fx_pending(const fixture *fx);
fx_msg *fx_peek(fixture *fx, size_t k);
/* First queued message matching (FX_ANY matches anything), or NULL. */
fx_msg *fx_find(fixture *fx, int from, int to, int type);
size_t fx_count(const fixture *fx, int from, int to, int type);
/* Remove the k-th queued message and hand it to its addressee's
 * refraft_on_message() with reply NULL; returns what that returned, or
 * FX_DROPPED. */
int fx_deliver(fixture *fx, size_t k);
/* Deliver the first queued message matching; fails the test if none. */
int fx_deliver_first(fixture *fx, int from, int to, int type);
/* Deliver until the queue is empty (messages sent meanwhile included).
 * Fails the test on a result other than 0, ESTALE or FX_DROPPED. */
void fx_deliver_all(fixture *fx);
/* Like fx_deliver_all(), but drop each message for which keep() says
 * false. */
typedef bool (*fx_filter)(fixture *fx, const fx_msg *m, void *arg);
void fx_deliver_filtered(fixture *fx, fx_filter keep, void *arg);
/* Drop every queued message matching; returns how many. */
size_t fx_drop_matching(fixture *fx, int from, int to, int type);
/* Lose every message to or from node i from now on (or stop losing). */
void fx_isolate(fixture *fx, int i, bool isolated);

/* Elect node i: time it out and deliver every message until it leads
 * (a few rounds at most); fails the test if it does not. */
void fx_elect(fixture *fx, int i);

/* ---- proposals and hand-made messages --------------------------------- */

/* A ref whose id is the bytes of record (which must outlive the ref). */
refraft_ref fx_ref(const char *record);
/* An entry of term; a NOOP when record is NULL, else a REF to record. */
refraft_entry fx_entry(refraft_term term, const char *record);
int fx_propose(fixture *fx, int i, const char *record, refraft_index *index);

refraft_msg fx_append_entries(refraft_term term, const char *leader_id,
                              refraft_index prev_index, refraft_term prev_term,
                              refraft_index leader_commit,
                              const refraft_entry *entries, size_t n);
refraft_msg fx_append_result(refraft_term term, const char *follower_id,
                             bool success, refraft_index match_index);
refraft_msg fx_request_vote(refraft_term term, const char *candidate_id,
                            refraft_index last_index, refraft_term last_term,
                            bool pre_vote);
refraft_msg fx_vote_result(refraft_term term, const char *voter_id,
                           bool granted, bool pre_vote);
/* refraft_on_message(node i, msg, NULL, NULL): what a peer would cause. */
int fx_inject(fixture *fx, int i, const refraft_msg *msg);

/* A reply callback (reply_ctx: an fx_capture) that keeps a copy of the
 * last result it was given; fails the test if given anything but a
 * result.  Results carry no entries and fit in storage, so a capture
 * needs no freeing. */
typedef struct fx_capture {
    size_t calls;
    fx_msg last;
    max_align_t storage[16];
} fx_capture;
void fx_capture_reply(void *reply_ctx, const refraft_msg *result);

/* ---- storage ---------------------------------------------------------- */

/* Append to node i's memlog directly, as if an earlier run had: only
 * while the node is down (before fx_start or after fx_crash). */
void fx_log_append(fixture *fx, int i, refraft_term term, const char *record);
/* Append one NOOP per term in terms[] (Figure 7 style logs). */
void fx_log_terms(fixture *fx, int i, const refraft_term *terms, size_t n);
void fx_set_hard_state(fixture *fx, int i, refraft_term term,
                       const char *voted_for);
/* A started 3-node cluster whose node i came up on a log holding terms[]
 * (fx_log_terms) in current term `term`, with no vote. */
fixture *
fx_new_with_log(int i, const refraft_term *terms, size_t n, refraft_term term);
/* What node i's memlog holds as hard state (vote "" when none). */
void fx_hard_state(fixture *fx, int i, refraft_term *term, char *voted_for);
refraft_index fx_log_last(fixture *fx, int i);
/* Term of the entry at index in node i's log; fails the test if absent. */
refraft_term fx_log_term(fixture *fx, int i, refraft_index index);
fx_record fx_log_entry(fixture *fx, int i, refraft_index index);
/* Same entries (term, type, ref, member count) at every index of both
 * logs. */
bool fx_logs_equal(fixture *fx, int a, int b);

/* ---- records ---------------------------------------------------------- */

/* ---- snapshots -------------------------------------------------------- */

/* Whether node i's reference state holds record at index. */
bool fx_state_has(fixture *fx, int i, refraft_index index, const char *record);
/* Same reference state on both nodes up to index upto. */
bool fx_states_equal(fixture *fx, int a, int b, refraft_index upto);
/* First index node i's log holds (its base + 1). */
refraft_index fx_log_first(fixture *fx, int i);

/* Give every node a have_records hook answering from its own set of record
 * ids (call before fx_start).  Without it nodes have no have_records and
 * every record counts as present. */
void fx_records_on(fixture *fx);
/* Add a record id to (or remove it from) node i's set; the node is not
 * told (a record that arrives before its entry). */
void fx_record_put(fixture *fx, int i, const char *record);
void fx_record_drop(fixture *fx, int i, const char *record);
bool fx_record_has(fixture *fx, int i, const char *record);
/* fx_record_put, then refraft_records_stored(node i); returns its result. */
int fx_records_stored(fixture *fx, int i, const char *record);

/* ---- state snapshots -------------------------------------------------- */

/* Everything a rejected call must leave unchanged. */
typedef struct fx_state {
    int role;
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    char leader[REFRAFT_ID_MAX + 1];
    refraft_index commit;
    refraft_index applied;
    refraft_index last;
    refraft_term log_terms[64]; /* terms of entries 1..64 */
    size_t n_sent;
    size_t n_queued;
    size_t n_truncated;
    refraft_index config_index;
    size_t n_members;
} fx_state;

void fx_state_get(fixture *fx, int i, fx_state *s);
void fx_assert_state_unchanged(fixture *fx, int i, const fx_state *before);

/* State Machine Safety (Figure 3): no two nodes applied different entries
 * at the same index. */
void fx_assert_state_machine_safety(fixture *fx);

#endif /* REFRAFT_TESTS_FIXTURE_H */
