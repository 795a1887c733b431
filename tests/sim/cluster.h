/* cluster.h - N simulated nodes on their disks: start, crash, deliver. */
#ifndef REFRAFT_SIM_CLUSTER_H
#define REFRAFT_SIM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "disk.h"
#include "members.h"
#include "net.h"
#include "prng.h"
#include "records.h"
#include "refraft/refraft.h"
#include "refstate.h"
#include "refraft/sweeper.h"
#include "tmpdir.h"

#define NODE_ID_LEN SIM_ID_LEN

/* Settings shared by every node of a run. */
typedef struct cluster_params {
    int n_nodes;
    uint32_t election_timeout_ms;
    uint32_t heartbeat_ms;
    uint32_t max_entries_per_msg;
    uint32_t max_inflight;
    bool disable_pre_vote;
    bool disable_check_quorum;
    /* Answer requests through on_message's reply callback (RPC comms)
     * rather than through send() (one-way comms). */
    bool rpc_replies;
    /* Followers apply in their tick, not while they answer
     * (refraft_config.defer_follower_apply). */
    bool defer_follower_apply;
    /* The state machine's applied index survives a crash with the disk;
     * otherwise the state machine restarts empty and re-applies.  Always
     * so on refstore, which keeps it. */
    bool persist_applied;
    /* The nodes' disks are refstores in a temporary directory of the
     * run's own, rather than memlogs, with LMDB maps of map_size bytes at
     * first (0: refstore's default). */
    bool refstore;
    size_t map_size;
    /* refraft_commit_policy: durable in most runs, reference in some. */
    uint8_t commit_policy;
    /* The sweepers' fetches in flight at once. */
    uint32_t sweeper_in_flight;
    /* The disks offer stage and sync: a leader appends its own entries in
     * two steps, sending them while its disk syncs (disk.h). */
    bool stage;
    /* With stage, on a memlog: the chance per mille that a sync fails
     * (in fault phases but lost-leader ones; the schedule sets it). */
    uint32_t sync_fail_pm;
    uint32_t inject_bugs; /* refraft_inject: the core's */
    uint32_t sim_inject;  /* sim_inject: the simulated host's */
    /* Membership changes (schedule.c): the nodes n1..n<n_voters> form the
     * initial configuration, all voters; the others are spare servers,
     * started with refraft_config.join and no peers, that the schedule
     * adds.  Without membership every node is an initial voter. */
    bool membership;
    int n_voters;
    uint32_t promote_lag; /* refraft_config.promote_lag (0: its default) */
    /* Log compaction (refraft_config): compact_entries 0 never compacts;
     * otherwise small enough that compactions and snapshot installs are
     * frequent.  The schedule also compacts at random (compaction). */
    bool compaction;
    uint32_t compact_entries;
    uint32_t compact_keep;
    uint32_t snapshot_chunk;
} cluster_params;

/* Deliberate mistakes of the simulated host (--inject), to show that the
 * record invariants catch them. */
typedef enum sim_inject {
    /* A follower stores a pushed record without checking its digest, so
     * corrupted pushes are stored: Record Integrity. */
    SIM_INJECT_UNVERIFIED_PUSH = 1u << 0,
    /* have_records says "present" for half the records a node lacks, so
     * the core applies and counts entries without them: Apply Needs
     * Record, Durable Commit. */
    SIM_INJECT_LIE_HAVE = 1u << 1,
    /* A node restarted on a wiped record store does not tell its sweeper
     * (lost_upto 0), so it answers "absent" for records it lost: a
     * committed record can be voided (Void Safety). */
    SIM_INJECT_FORGET_LOST = 1u << 2,
    /* A memlog's failed sync leaves the entries it staged in the log,
     * which the node no longer counts as its own: its log and what it
     * believes it holds part ways (Leader Completeness, State Machine
     * Safety, Log Matching). */
    SIM_INJECT_KEEP_STAGED = 1u << 3,
    /* A removed server that lost its disk comes back under its old id
     * (members.h says why it must not): configurations in old entries,
     * and stale leaders and candidates, count a voter that forgot its
     * votes and entries.  Membership runs only. */
    SIM_INJECT_REUSE_ID = 1u << 4,
    /* A follower's application loses the first reference of a snapshot
     * when it installs it (Snapshot State).  Compaction runs only. */
    SIM_INJECT_DROP_SNAPSHOT_REF = 1u << 5
} sim_inject;

/* Faults of the records' own traffic, drawn per phase. */
typedef struct record_faults {
    uint32_t never_pm;   /* pushes that never arrive */
    uint32_t late_pm;    /* pushes that arrive late_min..late_max ms late */
    uint32_t corrupt_pm; /* pushes and fetch answers with a byte flipped */
    uint64_t late_min;
    uint64_t late_max;
} record_faults;

/* Counters of the records' traffic, for --verbose and tuning. */
typedef struct record_stats {
    uint64_t pushed;    /* records pushed to a follower */
    uint64_t never;     /* pushes the fault schedule dropped */
    uint64_t late;      /* pushes it delayed */
    uint64_t corrupted; /* pushes and answers it corrupted */
    uint64_t refused;   /* corrupted pushes a follower refused */
    uint64_t fetches;   /* fetch requests sent */
    uint64_t timeouts;  /* fetches that got no answer in time */
    uint64_t wipes;     /* record stores wiped in a crash */
} record_stats;

/* A fetch a node's sweeper started and has not had answered. */
typedef struct fetch_pending {
    uint64_t token;
    uint64_t deadline; /* virtual ms: then it fails */
} fetch_pending;

/* Hooks for whoever drives the cluster: the narration of the demo, the
 * fault schedule's reactions and the liveness monitor.  Any may be NULL.
 * They run inside node callbacks: they must not call into a node. */
typedef struct cluster_observer {
    void *ctx;
    void (*on_event)(void *ctx, int node, const refraft_event *ev);
    void (*on_apply)(void *ctx, int node, refraft_index index,
                     const refraft_entry *entry);
    void (*on_send)(void *ctx, int from, int to, const refraft_msg *msg);
    /* At the end of a step in which node's sync failed by injection (the
     * node stepped down): it may be crashed now. */
    void (*on_sync_failed)(void *ctx, int node);
} cluster_observer;

typedef struct cluster cluster;

typedef struct sim_node {
    cluster *cl;
    int idx;
    char id[NODE_ID_LEN]; /* "n1", "n2", ..., "n3.1" (members.h) */
    uint32_t gen;         /* the generation of the server in the slot */
    refraft_node *rn;     /* NULL while crashed */
    /* Started with an empty configuration (refraft_config.join): a spare
     * server, or one that came back as a new server after losing its disk;
     * otherwise one of the initial voters. */
    bool join;
    /* Removed from the cluster (its removal committed) and shut down by
     * its host: nothing restarts it until the schedule adds it again. */
    bool out;
    disk disk;
    refraft_index sm_applied; /* the simulated state machine */
    /* Its reference state (refstate.h): on a memlog it survives a crash
     * when its applied index does, and otherwise only up to the log's
     * base (an application keeps its state at least up to where the log
     * it can replay from begins); on refstore up to the store's applied
     * index. */
    refstate state;
    uint64_t crashes;
    uint64_t store_failures; /* refstore failed and was reopened */

    /* The node's record store: like the disk it survives a crash of the
     * process, unless the crash wipes it (a lost disk).  Then the host
     * knows, on restart, that it lost the records of the entries in its
     * log: it keeps lost_upto (the log's last index then) with the store
     * and passes it to the sweeper, until the sweeper's clear_lost says
     * they are back. */
    rstore records;
    bool wiped; /* wiped in the last crash; the restart sets lost_upto */
    /* What the simulator knows, whatever the host says (--inject
     * forget-lost): the records up to lost_mark are not all back yet. */
    refraft_index lost_mark;
    uint64_t wipes; /* its messages carry it: sent before or after a wipe */
    refraft_index lost_upto;

    refraft_sweeper *sw;  /* NULL while crashed */
    uint64_t incarnation; /* starts of the node: fetch answers name it */
    fetch_pending *fetches;
    size_t n_fetches;
    size_t fetches_cap;
    struct fetch_hold *hold; /* fetch.c's: what its fetcher holds back */
    /* The node's commit index at its last COMMIT event (or its start):
     * what a leader's next commit newly covers. */
    refraft_index commit_seen;
    refraft_sweeper_stats sw_total; /* of the sweepers it had, summed */
} sim_node;

struct cluster {
    cluster_params params;
    sim_node nodes[NET_MAX_NODES];
    net net;
    checker check;
    prng rng;       /* the hull's random(): election timeouts */
    prng flush_rng; /* which refstores commit their applies each turn */
    prng sw_rng;    /* the sweepers' random(): backoff jitter */
    prng rec_rng;   /* record faults, and the injected lies */
    prng disk_rng;  /* failed syncs (disk.h) */
    uint64_t seed;  /* the run's: record contents derive from it */
    record_faults rf;
    /* rec_cut[i]: node i's record traffic is lost (pushes from it,
     * fetches to it, answers from it) while its Raft messages flow. */
    bool rec_cut[NET_MAX_NODES];
    record_stats rstats;
    uint64_t now;
    cluster_observer obs;
    bool verbose;
    char dir[TMPDIR_PATH_MAX]; /* the refstores' directory; "" if none */
};

/* Set up the disks, the network and the checker, and start every node,
 * reporting to obs (NULL for none) and tracing every message and event
 * when verbose.  Returns 0 or the refraft error of the first node that
 * failed to start (recorded as a violation).  Call cluster_free() in
 * either case: it also removes the refstores' directory. */
int cluster_init(cluster *cl, const cluster_params *params, uint64_t seed,
                 const cluster_observer *obs, bool verbose);
void cluster_free(cluster *cl);

/* Kill a node: destroy it and its sweeper, keep what its disk and its
 * record store keep across a process crash.  Messages in flight to it
 * will be lost; those it sent are still on the wire. */
void cluster_crash(cluster *cl, int i);

/* Wipe crashed node i's record store (a lost disk); its log stays.  The
 * restart tells the sweeper which records may be lost. */
void cluster_wipe_records(cluster *cl, int i);

/* Whether node i's record store may be wiped without risking a committed
 * record: durable runs only, and only while fewer than (N - 1) / 2 other
 * nodes are still recovering from a wipe.  A committed record is then on
 * a majority, at most a minority of which has lost it.  With membership
 * changes N is the number of voters of a configuration, and the rule
 * holds for the configuration of every node's log that names i a voter
 * (a change keeps a majority of the new configuration's voters holding
 * every committed record only once it commits). */
bool cluster_may_wipe(const cluster *cl, int i);

/* Node i lost its records and has not yet fetched them all back, or its
 * sweeper does not know yet that it has. */
bool cluster_lost(const cluster *cl, int i);

/* Start a crashed node again on its disk.  Returns 0 or a refraft error
 * (recorded as a violation: the core refused its own disk). */
int cluster_restart(cluster *cl, int i);

bool cluster_alive(const cluster *cl, int i);

/* Hand a packet from the network to its destination (if it is up and the
 * link still is), then free it. */
void cluster_deliver(cluster *cl, net_packet *p);

/* What a timer drives: the node, its sweeper, or its fetches' time-outs. */
typedef enum timer_kind { TIMER_NODE, TIMER_SWEEPER, TIMER_FETCH } timer_kind;

/* The earliest timer deadline of a running node; UINT64_MAX if none runs.
 * *node and *kind get that node and timer. */
uint64_t cluster_next_timer(const cluster *cl, int *node, timer_kind *kind);

void cluster_tick(cluster *cl, int i, timer_kind kind);

/*
 * The host of node i takes a client's batch of n records: on a leader it
 * stores them first (durable commit needs the leader's own copy), pushes
 * them to the followers, then proposes their references (push.c).  On
 * another node it only proposes, which tells who leads.  Returns what
 * refraft_propose() returned; *first gets the first entry's index.
 */
int cluster_propose(cluster *cl, int i, const record *recs, size_t n,
                    refraft_index *first);

/* The running node that is leader with the highest term, or -1. */
int cluster_leader(const cluster *cl);

/* Run the checker over every running node: called after each step. */
void cluster_check(cluster *cl);

/*
 * End of an event-loop turn (a step).  No node has entries staged and not
 * synced (API Contract); a node whose sync failed by injection is
 * reported to the observer (on_sync_failed).  A node that lost its records and
 * has them all back (settled and applied up to the log's end at its
 * restart) no longer counts as lost.  On refstore, each running node
 * commits its pending applies, or, at random, keeps them pending, so that
 * some crashes find applies not yet committed and lose them; then a node
 * whose store failed (see disk.h) is recovered as refstore says: store
 * closed and reopened, node recreated.
 */
void cluster_end_step(cluster *cl);

/* Record that a call into node i (named what) returned rv, which it must
 * not have, as an API Contract violation; the message carries the node's
 * and its store's account of the error.  Not when the node's store failed
 * (disk.h): then the error is the store's documented way to say so; nor
 * REFRAFT_EIO after a sync that failed by injection in this step: the
 * node stepped down and said so. */
void cluster_api_fail(cluster *cl, int i, const char *what, int rv);

/* Record that sweeper call what of node i returned rv. */
void cluster_sweeper_fail(cluster *cl, int i, const char *what, int rv);

/* Map "n3" to 2 (and "n3.2" to 2 when slot 2 runs generation 2); an id
 * of a server that is gone for good (an older generation of its slot) to
 * CLUSTER_GONE(cl), a node that never runs, where whatever is sent to it
 * is lost; -1 for an id the simulator never gave out. */
int cluster_node_index(const cluster *cl, const char *id);
#define CLUSTER_GONE(cl) ((cl)->params.n_nodes)

/* Whether slot i's current server is a member / a voter of conf. */
bool cluster_in_conf(const cluster *cl, int i, const sim_conf *conf);
bool cluster_votes_in(const cluster *cl, int i, const sim_conf *conf);

/* Crashed node i lost its disk (log, hard state, state machine and record
 * store) and comes back as a brand-new server: the next generation of its
 * slot, with a new id, started with join and an empty log.  Whatever was
 * in flight to it is lost.  Returns what the restart returned. */
int cluster_renew(cluster *cl, int i);

#endif /* REFRAFT_SIM_CLUSTER_H */
