/* schedule.h - the seeded fault schedule: fault phases and heals. */
#ifndef REFRAFT_SIM_SCHEDULE_H
#define REFRAFT_SIM_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "prng.h"

/*
 * A run alternates fault phases and heals.  Each fault phase has a kind:
 *
 * - chaos: random crashes, restarts, partitions (symmetric and one-way),
 *   message loss, duplication and delay;
 * - leader killer: each new leader is likely crashed soon after it is
 *   elected, often before it replicated its no-op or the client's latest
 *   entries, and restarted later;
 * - rolling isolation: the network cuts off a minority holding the leader
 *   right after the leader is elected, accepts a proposal, or advances its
 *   commit index, letting the previous minority back in.  Leaders that
 *   replicate to a minority and vanish, again and again, with old leaders
 *   returning: the history of Raft Figure 8, which an unsafe commit rule
 *   needs in order to show;
 * - split vote: two camps that cannot talk to each other and one swing
 *   node that reaches both (the leader, crashed for a while so that both
 *   camps campaign when it returns); a node that grants a vote crashes at
 *   once, restarts a few ms later, and no longer hears from the candidate
 *   it voted for, so the other camp's candidate asks it for its vote in
 *   the same term: a vote that was not persisted is cast twice;
 * - lost leader (durable runs of three nodes or more): the leader's
 *   records stop leaving it (no push arrives, no fetch from it is
 *   answered) while its Raft messages flow, so it alone holds the records
 *   of its new entries, which therefore cannot commit; then it crashes,
 *   its record store wiped or not, and stays down.  The survivors, a
 *   majority, must void those entries and commit new proposals within the
 *   liveness bound (a liveness test opens at the crash, and the phase
 *   heals once it passed).
 *
 * Crashes in chaos and leader-killer phases wipe the node's record store
 * now and then (cluster_may_wipe says when that is safe), and every phase
 * draws its own rates of record faults (pushes lost, late, corrupted).
 * In every phase but lost-leader ones, a leader's sync of the entries it
 * staged may fail (memlog runs that stage, at the run's rate: disk.h);
 * the leader then steps down, and in some of those failures it crashes
 * right after (at the same virtual instant) and restarts later.
 *
 * In runs with membership changes, every phase but lost-leader ones also
 * asks whoever leads, every one to five election timeouts, to add a spare
 * or removed server as a learner, promote a learner, or remove a member
 * (now and then itself), retrying while the leader refuses for now
 * (changes.c).  A server whose removal commits is shut down by its host;
 * one added back returns with its disk or as a new server.
 *
 * In runs with compaction, every phase also has a random node compact its
 * log now and then (refraft_compact, compactions.c), and in every phase
 * but lost-leader ones whoever leads is asked now and then to hand its
 * leadership to a random voter (refraft_transfer, transfers.c).
 *
 * A heal restarts every node (but removed ones shut down), brings every
 * link up, stops message loss, failed syncs and membership changes; the
 * schedule then stays quiet while the liveness test runs.
 */
typedef enum phase_kind {
    PHASE_CHAOS,
    PHASE_LEADER_KILLER,
    PHASE_ROLLING_ISOLATION,
    PHASE_SPLIT_VOTE,
    PHASE_LOST_LEADER,
    PHASE_HEALED
} phase_kind;

typedef enum planned_kind {
    PLAN_CRASH,
    PLAN_RESTART,
    PLAN_ISOLATE,
    PLAN_CUT,
    PLAN_LOSE_LEADER /* crash the lost leader for good; liveness test */
} planned_kind;

/* An action planned for a precise time, as a reaction to what a node just
 * did (reactions run inside node callbacks, where a node must not be
 * destroyed, so they only plan). */
typedef struct planned {
    uint64_t at;
    planned_kind kind;
    int node;       /* crash, restart; the sending end of a cut */
    int peer;       /* the receiving end of a cut */
    uint32_t group; /* isolate */
    bool wipe;      /* crash: wipe the record store if that is safe */
} planned;

#define SCHEDULE_PLANNED_MAX 64

/* Membership changes (changes.c). */
typedef enum change_kind {
    CHANGE_ADD,
    CHANGE_PROMOTE,
    CHANGE_REMOVE
} change_kind;

/* The change the schedule asked for, retried with whichever node leads
 * until one takes it (refraft_add_learner and the others refuse with
 * REFRAFT_EBUSY while the last change is not committed, REFRAFT_ELAGGING
 * while a learner is behind), until it no longer applies, or until it is
 * given up. */
typedef struct change {
    bool active;
    change_kind kind;
    int node;     /* the server added, promoted or removed: its slot */
    uint64_t due; /* the next attempt */
    uint64_t give_up;
} change;

typedef struct change_stats {
    uint64_t asked;     /* changes the schedule chose */
    uint64_t added;     /* learners added (appended) */
    uint64_t promoted;  /* learners promoted */
    uint64_t removed;   /* members removed, the leader itself among them */
    uint64_t self;      /* leaders that removed themselves */
    uint64_t renewed;   /* removed servers back as new ones (disk lost) */
    uint64_t returned;  /* removed servers added back with their disk */
    uint64_t busy;      /* refused: REFRAFT_EBUSY */
    uint64_t lagging;   /* refused: REFRAFT_ELAGGING */
    uint64_t given_up;  /* changes never taken */
    uint64_t shut_down; /* removed servers whose host shut down */
} change_stats;

/* Leadership transfers the schedule asked for (transfers.c). */
typedef struct transfer_stats {
    uint64_t asked;   /* refraft_transfer calls */
    uint64_t started; /* taken (0) */
    uint64_t busy;    /* refused: REFRAFT_EBUSY */
    uint64_t ended;   /* transfers seen under way, then over */
} transfer_stats;

typedef struct schedule {
    prng rng;
    int n_nodes;
    uint32_t election_timeout_ms;
    uint32_t heartbeat_ms;
    bool durable;     /* the run's commit policy: lost-leader phases need it */
    bool forget_lost; /* --inject forget-lost: provoke what it breaks */
    phase_kind phase;
    uint64_t phase_end;   /* the heal of a fault phase */
    uint64_t next_random; /* the next random fault of the phase */
    planned plan[SCHEDULE_PLANNED_MAX];
    size_t n_plan;
    int fault_phases;
    uint64_t sync_crashes; /* crashes right after a failed sync */

    /* Membership changes (changes.c), in runs with membership. */
    bool membership;
    bool pre_vote;
    bool reuse_id;        /* --inject reuse-id: every removed server comes back
                           * having lost its disk */
    prng mrng;            /* their draws, apart from the faults' */
    uint64_t next_change; /* the schedule asks for the next one then */
    change ch;
    change_stats cs;
    refraft_index conf_seen;          /* the last committed CONFIG seen */
    bool in_committed[NET_MAX_NODES]; /* slot's server in it */
    bool was_member[NET_MAX_NODES];   /* in a committed one, ever */
    const cluster *cl; /* the cluster, for reactions (schedule_attach) */

    /* Random compactions (compactions.c), in runs with compaction. */
    bool compaction;
    prng crng;
    uint64_t next_compact;
    uint64_t compacts; /* refraft_compact calls */

    /* Leadership transfers (transfers.c), in runs of two nodes or more. */
    prng trng;
    uint64_t next_transfer;
    transfer_stats ts;
    /* Each node's transfer under way, as last seen after a step: its
     * target's slot (-1: none) and since when. */
    int transfer_to[NET_MAX_NODES];
    uint64_t transfer_since[NET_MAX_NODES];
} schedule;

void schedule_init(schedule *s, uint64_t seed, const cluster_params *p);

/* The cluster the schedule acts on, which its reactions (inside node
 * callbacks) may read. */
void schedule_attach(schedule *s, const cluster *cl);

/* Start a fault phase of a random kind at cl->now. */
void schedule_begin_phase(schedule *s, cluster *cl);

/* Bring the heal of the current fault phase forward to now. */
void schedule_end_phase(schedule *s, uint64_t now);

/* Virtual time of the next action; UINT64_MAX when there is none. */
uint64_t schedule_next_time(const schedule *s);

typedef enum act_result {
    ACT_FAULT,   /* a fault, or nothing */
    ACT_HEALED,  /* the heal: a liveness test opens */
    ACT_LIVENESS /* the lost leader is gone: a liveness test opens */
} act_result;

/* Carry out the next action (it is due at cl->now). */
act_result schedule_act(schedule *s, cluster *cl);

/* Reactions: a node's event, a message a node sends, a proposal a leader
 * accepted. */
void schedule_on_event(schedule *s, int node, const refraft_event *ev,
                       uint64_t now);
void schedule_on_send(schedule *s, int from, int to, const refraft_msg *msg,
                      uint64_t now);
void schedule_on_proposal(schedule *s, int leader, uint64_t now);
/* At the end of the step in which node's sync failed (by injection). */
void schedule_on_sync_failed(schedule *s, int node, uint64_t now);

const char *schedule_phase_name(phase_kind kind);

/* After every step (the checks done): every transfer under way ends in
 * time (Transfer Liveness); a server whose removal just committed is
 * shut down by its host, as a removed server should be
 * (thesis §4.2.2), now and then left running in runs with pre-vote. */
void schedule_after_step(schedule *s, cluster *cl);

/* Internal to the schedule's files: random compactions (compactions.c)
 * and leadership transfers (transfers.c), each on a timer of its own
 * during fault phases; transfers_after_step checks that every transfer
 * ends (Transfer Liveness). */
void compactions_init(schedule *s, uint64_t seed, const cluster_params *p);
void compactions_begin_phase(schedule *s, const cluster *cl);
void compactions_act(schedule *s, cluster *cl);
void transfers_init(schedule *s, uint64_t seed, const cluster_params *p);
void transfers_begin_phase(schedule *s, const cluster *cl);
void transfers_act(schedule *s, cluster *cl);
void transfers_after_step(schedule *s, cluster *cl);

/* Internal to the schedule's files: membership changes (changes.c). */
void changes_init(schedule *s, uint64_t seed, const cluster_params *p);
void changes_begin_phase(schedule *s, const cluster *cl);
void changes_stop(schedule *s);
uint64_t changes_next_time(const schedule *s);
/* Whether a change is due at now; then changes_act() carries it out. */
bool changes_due(const schedule *s, uint64_t now);
void changes_act(schedule *s, cluster *cl);
/* A minority of the voters of the leader's configuration that holds the
 * leader, as a bit set of slots. */
uint32_t changes_minority_with(schedule *s, const cluster *cl, int leader);
/* Whether the leader's configuration allows a lost-leader phase: no change
 * under way, at least three voters (so that the others are a majority). */
bool changes_may_lose_leader(const schedule *s, const cluster *cl, int leader);

#endif /* REFRAFT_SIM_SCHEDULE_H */
