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
 * A heal restarts every node, brings every link up, stops message loss
 * and failed syncs; the schedule then stays quiet while the liveness test
 * runs.
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
} schedule;

void schedule_init(schedule *s, uint64_t seed, const cluster_params *p);

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

#endif /* REFRAFT_SIM_SCHEDULE_H */
