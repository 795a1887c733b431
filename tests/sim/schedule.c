/* schedule.c - the seeded fault schedule: fault phases and heals. */
#include <string.h>

#include "faults.h"
#include "schedule.h"

void schedule_init(schedule *s, uint64_t seed, const cluster_params *p)
{
    memset(s, 0, sizeof(*s));
    prng_seed(&s->rng, seed, 5);
    s->n_nodes = p->n_nodes;
    s->election_timeout_ms = p->election_timeout_ms;
    s->heartbeat_ms = p->heartbeat_ms;
    s->durable = p->commit_policy == REFRAFT_COMMIT_DURABLE;
    s->forget_lost = (p->sim_inject & SIM_INJECT_FORGET_LOST) != 0;
    s->phase = PHASE_HEALED;
    changes_init(s, seed, p);
    compactions_init(s, seed, p);
    transfers_init(s, seed, p);
}

void schedule_attach(schedule *s, const cluster *cl)
{
    s->cl = cl;
}

const char *schedule_phase_name(phase_kind kind)
{
    static const char *names[] = {
        "chaos",      "leader killer", "rolling isolation",
        "split vote", "lost leader",   "healed"};
    return names[kind];
}

static uint64_t random_gap(schedule *s)
{
    return prng_range(&s->rng, 10, 3 * (uint64_t)s->election_timeout_ms);
}

static int random_node(schedule *s)
{
    return (int)prng_below(&s->rng, (uint64_t)s->n_nodes);
}

/* A minority that holds node i: i and (N - 1) / 2 - 1 others; with
 * membership changes, of the voters of i's configuration. */
static uint32_t minority_with(schedule *s, int i)
{
    if (s->membership && s->cl != NULL && s->cl->nodes[i].rn != NULL)
        return changes_minority_with(s, s->cl, i);
    uint32_t group = 1u << i;
    for (int k = 1; k < (s->n_nodes - 1) / 2; k++)
        group |= 1u << random_node(s);
    return group;
}

static void plan(schedule *s, planned p)
{
    if (s->n_plan < SCHEDULE_PLANNED_MAX)
        s->plan[s->n_plan++] = p;
}

/*
 * Two camps of (N - 1) / 2 nodes each that cannot talk to each other, and
 * one swing node that reaches both: the leader, if there is one.  It is
 * crashed for a while, so that both camps are leaderless when it returns,
 * and their candidates compete for its vote.
 */
static void set_camps(schedule *s, cluster *cl)
{
    int swing = cluster_leader(cl);
    if (swing < 0)
        swing = random_node(s);
    int perm[NET_MAX_NODES];
    int n = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        if (i == swing)
            continue;
        int j = (int)prng_below(&s->rng, (uint64_t)n + 1);
        perm[n] = perm[j];
        perm[j] = i;
        n++;
    }
    uint32_t a = 0, b = 0;
    for (int i = 0; i < n; i++)
        *(i < n / 2 ? &a : &b) |= 1u << perm[i];
    net_heal(&cl->net);
    fault_camps(cl, a, b);
    fault_crash(cl, swing);
    uint64_t t = s->election_timeout_ms;
    plan(s, (planned){.at = cl->now + prng_range(&s->rng, t / 2, 2 * t),
                      .kind = PLAN_RESTART,
                      .node = swing});
}

/*
 * The leader keeps its new records to itself, then dies with them: a few
 * election timeouts of proposals first, so that entries without records
 * elsewhere pile up.  No other fault in this phase: with wipes of the
 * survivors a majority could not vouch for the records' absence, and
 * hole filling would rightly wait for the heal.
 */
static void lose_leader(schedule *s, cluster *cl, int leader)
{
    uint64_t t = s->election_timeout_ms;
    fault_cut_records(cl, leader);
    plan(s, (planned){.at = cl->now + prng_range(&s->rng, 2 * t, 4 * t),
                      .kind = PLAN_LOSE_LEADER,
                      .node = leader,
                      .wipe = prng_chance(&s->rng, 500)});
    s->next_random = UINT64_MAX;
    s->phase_end = UINT64_MAX;
}

/* A lost-leader phase needs a leader, durable commit (under the reference
 * policy the leader's entries commit without their records, and nobody
 * may void them), and survivors that all can vouch for what they lack: a
 * node still fetching back records it lost answers "unknown", and with a
 * majority of those, hole filling rightly waits. */
static bool may_lose_leader(const schedule *s, const cluster *cl, int leader)
{
    if (!s->durable || s->n_nodes < 3 || leader < 0)
        return false;
    for (int i = 0; i < s->n_nodes; i++) {
        if (cluster_lost(cl, i))
            return false;
    }
    return !s->membership || changes_may_lose_leader(s, cl, leader);
}

void schedule_begin_phase(schedule *s, cluster *cl)
{
    uint64_t dice = prng_below(&s->rng, 23);
    int leader = cluster_leader(cl);
    if (dice >= 20 && !may_lose_leader(s, cl, leader))
        dice = 0;
    s->phase = dice < 8    ? PHASE_CHAOS
               : dice < 12 ? PHASE_LEADER_KILLER
               : dice < 17 ? PHASE_ROLLING_ISOLATION
               : dice < 20 ? PHASE_SPLIT_VOTE
                           : PHASE_LOST_LEADER;
    s->phase_end =
        cl->now + prng_range(&s->rng, 5, 30) * s->election_timeout_ms;
    s->next_random = cl->now + random_gap(s);
    s->fault_phases++;
    fault_record_rates(cl, &s->rng);
    fault_sync_failures(cl, s->phase != PHASE_LOST_LEADER);
    if (s->phase == PHASE_SPLIT_VOTE)
        set_camps(s, cl);
    if (s->phase == PHASE_LOST_LEADER)
        lose_leader(s, cl, leader);
    changes_begin_phase(s, cl);
    compactions_begin_phase(s, cl);
    transfers_begin_phase(s, cl);
}

void schedule_end_phase(schedule *s, uint64_t now)
{
    if (s->phase != PHASE_HEALED && s->phase_end > now)
        s->phase_end = now;
}

static size_t earliest_plan(const schedule *s)
{
    size_t best = 0;
    for (size_t i = 1; i < s->n_plan; i++) {
        if (s->plan[i].at < s->plan[best].at)
            best = i;
    }
    return best;
}

uint64_t schedule_next_time(const schedule *s)
{
    uint64_t t = UINT64_MAX;
    if (s->n_plan > 0)
        t = s->plan[earliest_plan(s)].at;
    if (s->phase == PHASE_HEALED)
        return t;
    if (s->phase_end < t)
        t = s->phase_end;
    if (s->membership && changes_next_time(s) < t)
        t = changes_next_time(s);
    if (s->next_compact < t)
        t = s->next_compact;
    if (s->next_transfer < t)
        t = s->next_transfer;
    return s->next_random < t ? s->next_random : t;
}

/* A random node other than i (there must be one). */
static int other_node(schedule *s, int i)
{
    uint64_t k = prng_below(&s->rng, (uint64_t)s->n_nodes - 1);
    return (i + 1 + (int)k) % s->n_nodes;
}

/* Partitions need two nodes: a single-node cluster only crashes, restarts
 * and changes message rates. */
static void chaos(schedule *s, cluster *cl)
{
    int i = random_node(s);
    uint64_t dice = prng_below(&s->rng, 8);
    if (s->n_nodes < 2 && dice >= 3 && dice <= 5)
        dice = 6;
    switch (dice) {
    case 0:
        fault_crash(cl, i);
        break;
    case 1:
        if (prng_chance(&s->rng, 400))
            (void)fault_crash_wipe(cl, i);
        else
            fault_crash(cl, i);
        break;
    case 2:
        fault_restart(cl, i);
        break;
    case 3:
        fault_partition(
            cl, 1 + (uint32_t)prng_below(&s->rng, (1u << s->n_nodes) - 2));
        break;
    case 4:
        fault_cut_oneway(cl, i, other_node(s, i));
        break;
    case 5:
        fault_heal_links(cl);
        break;
    default:
        fault_net_rates(cl, &s->rng);
        break;
    }
}

/* The random actions of the reactive phases keep them moving: bring
 * crashed nodes back, and now and then change who is cut off. */
static void reactive(schedule *s, cluster *cl)
{
    int leader = cluster_leader(cl);
    uint64_t dice = prng_below(&s->rng, 4);
    if (dice > 1) {
        fault_restart(cl, random_node(s));
    } else if (s->phase == PHASE_SPLIT_VOTE) {
        set_camps(s, cl);
    } else if (dice == 0 && leader >= 0) {
        fault_isolate(cl, minority_with(s, leader));
    } else {
        fault_heal_links(cl);
    }
}

static void random_fault(schedule *s, cluster *cl)
{
    if (s->phase == PHASE_CHAOS)
        chaos(s, cl);
    else
        reactive(s, cl);
    s->next_random = cl->now + random_gap(s);
}

static act_result run_plan(schedule *s, cluster *cl)
{
    size_t k = earliest_plan(s);
    planned p = s->plan[k];
    s->plan[k] = s->plan[--s->n_plan];
    switch (p.kind) {
    case PLAN_CRASH:
        if (p.wipe)
            (void)fault_crash_wipe(cl, p.node);
        else
            fault_crash(cl, p.node);
        break;
    case PLAN_LOSE_LEADER:
        if (p.wipe)
            (void)fault_crash_wipe(cl, p.node);
        else
            fault_crash(cl, p.node);
        return ACT_LIVENESS;
    case PLAN_RESTART:
        fault_restart(cl, p.node);
        break;
    case PLAN_ISOLATE:
        fault_isolate(cl, p.group);
        break;
    case PLAN_CUT:
        fault_cut_oneway(cl, p.node, p.peer);
        break;
    }
    return ACT_FAULT;
}

act_result schedule_act(schedule *s, cluster *cl)
{
    if (s->n_plan > 0 && s->plan[earliest_plan(s)].at <= cl->now)
        return run_plan(s, cl);
    if (s->phase != PHASE_HEALED && s->phase_end <= cl->now) {
        fault_heal_all(cl, &s->rng);
        s->phase = PHASE_HEALED;
        s->n_plan = 0;
        s->next_compact = s->next_transfer = UINT64_MAX;
        changes_stop(s);
        return ACT_HEALED;
    }
    if (changes_due(s, cl->now)) {
        changes_act(s, cl);
        return ACT_FAULT;
    }
    if (s->next_compact <= cl->now) {
        compactions_act(s, cl);
        return ACT_FAULT;
    }
    if (s->next_transfer <= cl->now) {
        transfers_act(s, cl);
        return ACT_FAULT;
    }
    random_fault(s, cl);
    return ACT_FAULT;
}

static void
plan_isolation(schedule *s, int leader, uint64_t now, uint32_t per_mille)
{
    if (s->phase != PHASE_ROLLING_ISOLATION || !prng_chance(&s->rng, per_mille))
        return;
    plan(s, (planned){.at = now,
                      .kind = PLAN_ISOLATE,
                      .group = minority_with(s, leader)});
}

static void plan_kill(schedule *s, int leader, uint64_t now)
{
    if (s->phase != PHASE_LEADER_KILLER || !prng_chance(&s->rng, 700))
        return;
    uint64_t at = now + prng_below(&s->rng, 2 * (uint64_t)s->heartbeat_ms);
    uint64_t back =
        at + prng_range(&s->rng, 10, 4 * (uint64_t)s->election_timeout_ms);
    plan(s, (planned){.at = at,
                      .kind = PLAN_CRASH,
                      .node = leader,
                      .wipe = prng_chance(&s->rng, 250)});
    plan(s, (planned){.at = back, .kind = PLAN_RESTART, .node = leader});
}

/*
 * Right after a leader commits, a follower that may have counted loses its
 * record store and the leader crashes before the others learn of the
 * commit, so a new leader may ask the wiped follower for a record it no
 * longer has.  It must answer "unknown": the record is committed, and a
 * majority of "absent" would void it (DESIGN.md: BookKeeper's lesson).
 * In leader-killer phases of durable runs, and, as the self-test of
 * --inject forget-lost (whose host forgets its loss and answers
 * "absent": Void Safety), in every fault phase but lost-leader ones.
 */
static void plan_wipe_after_commit(schedule *s, int leader, uint64_t now)
{
    bool phase = s->forget_lost
                     ? s->phase != PHASE_HEALED && s->phase != PHASE_LOST_LEADER
                     : s->phase == PHASE_LEADER_KILLER;
    if (!s->durable || s->n_nodes < 3 || !phase || !prng_chance(&s->rng, 100))
        return;
    int follower = other_node(s, leader);
    uint64_t t = s->election_timeout_ms;
    plan(s, (planned){
                .at = now, .kind = PLAN_CRASH, .node = follower, .wipe = true});
    plan(s, (planned){.at = now + 1, .kind = PLAN_RESTART, .node = follower});
    plan(s, (planned){.at = now + 1, .kind = PLAN_CRASH, .node = leader});
    plan(s, (planned){.at = now + prng_range(&s->rng, 2 * t, 4 * t),
                      .kind = PLAN_RESTART,
                      .node = leader});
}

void schedule_on_event(schedule *s, int node, const refraft_event *ev,
                       uint64_t now)
{
    if (ev->role != REFRAFT_LEADER)
        return;
    if (ev->type == REFRAFT_EVENT_ROLE) {
        plan_kill(s, node, now);
        plan_isolation(s, node, now, 500);
    } else if (ev->type == REFRAFT_EVENT_COMMIT) {
        plan_isolation(s, node, now, 300);
        plan_wipe_after_commit(s, node, now);
    }
}

void schedule_on_proposal(schedule *s, int leader, uint64_t now)
{
    plan_isolation(s, leader, now, 300);
}

void schedule_on_send(schedule *s, int from, int to, const refraft_msg *msg,
                      uint64_t now)
{
    if (s->phase != PHASE_SPLIT_VOTE ||
        msg->type != REFRAFT_MSG_REQUEST_VOTE_RESULT ||
        !msg->u.request_vote_result.vote_granted ||
        msg->u.request_vote_result.pre_vote || !prng_chance(&s->rng, 600))
        return;
    uint64_t back = now + prng_range(&s->rng, 1, 5);
    plan(s, (planned){.at = now, .kind = PLAN_CRASH, .node = from});
    plan(s, (planned){.at = back, .kind = PLAN_RESTART, .node = from});
    plan(s, (planned){.at = now, .kind = PLAN_CUT, .node = to, .peer = from});
}

/*
 * A leader whose sync failed stepped down with its entries already sent:
 * its followers may hold entries it no longer has.  Now and then it also
 * dies right after (the crash is planned for the same virtual instant: a
 * node is never destroyed inside its own call), and comes back later.
 */
void schedule_on_sync_failed(schedule *s, int node, uint64_t now)
{
    if (s->phase == PHASE_HEALED || !prng_chance(&s->rng, 300))
        return;
    uint64_t back =
        now + prng_range(&s->rng, 10, 4 * (uint64_t)s->election_timeout_ms);
    plan(s, (planned){.at = now, .kind = PLAN_CRASH, .node = node});
    plan(s, (planned){.at = back, .kind = PLAN_RESTART, .node = node});
    s->sync_crashes++;
}
