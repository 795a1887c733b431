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
    s->phase = PHASE_HEALED;
}

const char *schedule_phase_name(phase_kind kind)
{
    static const char *names[] = {"chaos", "leader killer", "rolling isolation",
                                  "split vote", "healed"};
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

/* A minority that holds node i: i and (N - 1) / 2 - 1 others. */
static uint32_t minority_with(schedule *s, int i)
{
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

void schedule_begin_phase(schedule *s, cluster *cl)
{
    uint64_t dice = prng_below(&s->rng, 20);
    s->phase = dice < 8    ? PHASE_CHAOS
               : dice < 12 ? PHASE_LEADER_KILLER
               : dice < 17 ? PHASE_ROLLING_ISOLATION
                           : PHASE_SPLIT_VOTE;
    s->phase_end =
        cl->now + prng_range(&s->rng, 5, 30) * s->election_timeout_ms;
    s->next_random = cl->now + random_gap(s);
    s->fault_phases++;
    if (s->phase == PHASE_SPLIT_VOTE)
        set_camps(s, cl);
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
    case 1:
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

static void run_plan(schedule *s, cluster *cl)
{
    size_t k = earliest_plan(s);
    planned p = s->plan[k];
    s->plan[k] = s->plan[--s->n_plan];
    switch (p.kind) {
    case PLAN_CRASH:
        fault_crash(cl, p.node);
        break;
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
}

bool schedule_act(schedule *s, cluster *cl)
{
    if (s->n_plan > 0 && s->plan[earliest_plan(s)].at <= cl->now) {
        run_plan(s, cl);
        return false;
    }
    if (s->phase != PHASE_HEALED && s->phase_end <= cl->now) {
        fault_heal_all(cl, &s->rng);
        s->phase = PHASE_HEALED;
        s->n_plan = 0;
        return true;
    }
    random_fault(s, cl);
    return false;
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
    plan(s, (planned){.at = at, .kind = PLAN_CRASH, .node = leader});
    plan(s, (planned){.at = back, .kind = PLAN_RESTART, .node = leader});
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
