/* sim.c - one simulated run, stepped one event at a time. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "liveness.h"
#include "schedule.h"
#include "sim.h"
#include "tmpdir.h"
#include "trace.h"

/* After a heal, a leader must be elected and a new proposal commit within
 * this many election timeouts. */
#define LIVENESS_TIMEOUTS 20
/* Steps at one virtual instant before the run is declared stuck: a node
 * whose deadline never moves past the clock would spin forever. */
#define STUCK_STEPS 100000

typedef struct sim {
    const sim_options *opt;
    cluster cl;
    schedule sched;
    client cli;
    liveness live;
    uint64_t steps;
    uint64_t same_time_steps;
    bool done;
} sim;

typedef enum event_kind { EV_NET, EV_TIMER, EV_FAULT, EV_CLIENT } event_kind;

/* Settings drawn per run, so that many runs cover many configurations;
 * pre-vote and check-quorum stay on in most runs, as in production. */
static void draw_params(prng *p, const sim_options *opt, cluster_params *cp)
{
    static const uint32_t max_entries[] = {1, 1, 2, 4, 64};
    *cp = (cluster_params){
        .n_nodes = opt->n_nodes,
        .election_timeout_ms = (uint32_t)prng_range(p, 100, 150),
        .heartbeat_ms = (uint32_t)prng_range(p, 20, 30),
        .max_entries_per_msg = max_entries[prng_below(p, 5)],
        .max_inflight = (uint32_t)prng_range(p, 1, 8),
        .disable_pre_vote = prng_chance(p, 150),
        .disable_check_quorum = prng_chance(p, 150),
        .rpc_replies = prng_chance(p, 500),
        .persist_applied = prng_chance(p, 500),
        .inject_bugs = opt->inject_bugs,
    };
}

/* The store is drawn from a stream of its own, so that the choice shifts
 * no other draw: a seed gets the same settings and faults on either
 * store.  Half the refstores start with a map so small that they grow it
 * during the run (unless --map-kib sets the size). */
static void draw_store(const sim_options *opt, cluster_params *cp)
{
    prng p;
    prng_seed(&p, opt->seed, 8);
    bool chosen = prng_below(&p, SIM_REFSTORE_ONE_IN) == 0;
    bool small_map = prng_chance(&p, 500);
    cp->refstore = opt->store == SIM_STORE_MIXED
                       ? chosen
                       : opt->store == SIM_STORE_REFSTORE;
    cp->map_size = opt->map_size != 0 ? opt->map_size
                   : small_map        ? SIM_SMALL_MAP
                                      : 0;
}

static void describe_params(const cluster_params *cp, char *buf, size_t len)
{
    char store[48] = "memlog";
    if (cp->refstore && cp->map_size != 0)
        snprintf(store, sizeof(store), "refstore, first map %zu KiB",
                 cp->map_size / 1024);
    else if (cp->refstore)
        snprintf(store, sizeof(store), "refstore, default map");
    snprintf(buf, len,
             "timeout %u ms, heartbeat %u ms, %u entries/msg, inflight %u, "
             "pre-vote %s, check-quorum %s, %s replies, applied index %s, "
             "on %s",
             cp->election_timeout_ms, cp->heartbeat_ms, cp->max_entries_per_msg,
             cp->max_inflight, cp->disable_pre_vote ? "off" : "on",
             cp->disable_check_quorum ? "off" : "on",
             cp->rpc_replies ? "rpc" : "one-way",
             cp->refstore          ? "in the store"
             : cp->persist_applied ? "persisted"
                                   : "lost on crash",
             store);
}

static void on_event(void *ctx, int node, const refraft_event *ev)
{
    sim *s = ctx;
    schedule_on_event(&s->sched, node, ev, s->cl.now);
}

static void
on_apply(void *ctx, int node, refraft_index index, const refraft_entry *entry)
{
    (void)index;
    sim *s = ctx;
    const refraft_node *rn = s->cl.nodes[node].rn;
    bool leads = rn != NULL && refraft_role(rn) == REFRAFT_LEADER;
    liveness_on_apply(&s->live, leads, client_seq_of(entry));
}

static void on_send(void *ctx, int from, int to, const refraft_msg *msg)
{
    sim *s = ctx;
    schedule_on_send(&s->sched, from, to, msg, s->cl.now);
}

static uint64_t client_gap(sim *s)
{
    if (s->sched.phase == PHASE_HEALED)
        return prng_range(&s->cli.rng, 5, 30);
    return prng_range(&s->cli.rng, 10, 80);
}

/* The next event: the earliest of a delivery, a node timer, a fault action
 * and a client proposal; ties go in that order, so runs are repeatable. */
static event_kind next_event(sim *s, uint64_t *at, int *node)
{
    event_kind kind = EV_NET;
    *at = net_next_time(&s->cl.net);
    uint64_t t = cluster_next_timer(&s->cl, node);
    if (t < *at) {
        *at = t;
        kind = EV_TIMER;
    }
    t = schedule_next_time(&s->sched);
    if (t < *at) {
        *at = t;
        kind = EV_FAULT;
    }
    if (s->cli.next_time < *at) {
        *at = s->cli.next_time;
        kind = EV_CLIENT;
    }
    return kind;
}

static void start_liveness(sim *s)
{
    uint64_t bound =
        (uint64_t)LIVENESS_TIMEOUTS * s->cl.params.election_timeout_ms;
    liveness_start(&s->live, s->cl.now, bound, s->cli.next_seq);
    s->cli.next_time = s->cl.now;
}

static void process(sim *s, event_kind kind, int node)
{
    switch (kind) {
    case EV_NET:
        cluster_deliver(&s->cl, net_pop(&s->cl.net));
        break;
    case EV_TIMER:
        cluster_tick(&s->cl, node);
        break;
    case EV_FAULT:
        if (schedule_act(&s->sched, &s->cl))
            start_liveness(s);
        break;
    case EV_CLIENT:
        node = client_propose(&s->cli, &s->cl);
        if (node >= 0)
            schedule_on_proposal(&s->sched, node, s->cl.now);
        s->cli.next_time = s->cl.now + client_gap(s);
        break;
    }
}

/* Between steps: a passed liveness test opens the next fault phase, or
 * ends the run once the step budget is spent; a spent budget brings the
 * final heal forward. */
static void advance_phases(sim *s)
{
    bool spent = s->steps >= s->opt->steps;
    if (s->sched.phase == PHASE_HEALED && !s->live.waiting) {
        if (spent) {
            s->done = true;
            return;
        }
        schedule_begin_phase(&s->sched, &s->cl);
        if (s->cl.verbose)
            trace_note(s->cl.now, "phase %d: %s", s->sched.fault_phases,
                       schedule_phase_name(s->sched.phase));
    } else if (spent) {
        schedule_end_phase(&s->sched, s->cl.now);
    }
}

static void check_progress(sim *s, uint64_t at)
{
    if (at > s->cl.now) {
        s->cl.now = at;
        s->same_time_steps = 0;
    } else if (++s->same_time_steps > STUCK_STEPS) {
        check_fail(&s->cl.check, "Progress",
                   "virtual time stuck at %llu ms: %d events there and "
                   "counting",
                   (unsigned long long)s->cl.now, STUCK_STEPS);
    }
}

static void step(sim *s)
{
    int node = -1;
    uint64_t at = 0;
    event_kind kind = next_event(s, &at, &node);
    check_progress(s, at);
    process(s, kind, node);
    cluster_end_step(&s->cl);
    s->steps++;
    cluster_check(&s->cl);
    liveness_step(&s->live, cluster_leader(&s->cl), s->cl.now, &s->cl.check);
    advance_phases(s);
}

static void fill_result(const sim *s, sim_result *res)
{
    res->failed = s->cl.check.failed;
    res->v = s->cl.check.v;
    res->step = s->steps;
    res->time = s->cl.now;
    res->fault_phases = s->sched.fault_phases;
    res->heals_passed = s->live.passed;
    res->committed = s->cl.check.n_committed;
    res->proposed = s->cli.accepted;
    res->messages = s->cl.net.stats;
    for (int i = 0; i < s->cl.params.n_nodes; i++) {
        res->crashes += s->cl.nodes[i].crashes;
        res->store_failures += s->cl.nodes[i].store_failures;
    }
}

void sim_run(const sim_options *opt, sim_result *res)
{
    sim s;
    memset(&s, 0, sizeof(s));
    memset(res, 0, sizeof(*res));
    s.opt = opt;
    prng p;
    prng_seed(&p, opt->seed, 6);
    cluster_params cp;
    draw_params(&p, opt, &cp);
    draw_store(opt, &cp);
    res->refstore = cp.refstore;
    describe_params(&cp, res->config, sizeof(res->config));
    schedule_init(&s.sched, opt->seed, &cp);
    client_init(&s.cli, opt->seed);
    liveness_init(&s.live);
    cluster_observer obs = {&s, on_event, on_apply, on_send};
    if (cluster_init(&s.cl, &cp, opt->seed, &obs, opt->verbose) == 0) {
        start_liveness(&s);
        while (!s.done && !s.cl.check.failed && !tmpdir_interrupted())
            step(&s);
    }
    fill_result(&s, res);
    cluster_free(&s.cl);
}
