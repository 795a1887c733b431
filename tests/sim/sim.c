/* sim.c - one simulated run, stepped one event at a time. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "convergence.h"
#include "faults.h"
#include "liveness.h"
#include "schedule.h"
#include "sim.h"
#include "sweep.h"
#include "tmpdir.h"
#include "trace.h"

/* After a heal, a leader must be elected and a new proposal commit within
 * this many election timeouts. */
#define LIVENESS_TIMEOUTS 20
/* One round trip of replication at most, on the simulated network. */
#define CATCH_UP_ROUND_MS 40
/* After a heal, every node must hold every committed record within this
 * many election timeouts, plus CONVERGENCE_ROUND_MS for each round of
 * fetches (as many as a sweeper has in flight) that the node missing most
 * records needs: a round trip at the longest delay, and one more to
 * another peer after a corrupted answer. */
#define CONVERGENCE_TIMEOUTS 40
#define CONVERGENCE_ROUND_MS (3 * FAULTS_MAX_DELAY_MS)
/* Steps at one virtual instant before the run is declared stuck: a node
 * whose deadline never moves past the clock would spin forever. */
#define STUCK_STEPS 100000

typedef struct sim {
    const sim_options *opt;
    cluster cl;
    schedule sched;
    client cli;
    liveness live;
    convergence conv;
    bool phase_test; /* a lost-leader phase opened a liveness test */
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
    static const uint32_t in_flight[] = {8, 16, 32, 64};
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
        .commit_policy = prng_chance(p, 200) ? REFRAFT_COMMIT_REFERENCE
                                             : REFRAFT_COMMIT_DURABLE,
        .sweeper_in_flight = in_flight[prng_below(p, 4)],
        .inject_bugs = opt->inject_bugs,
        .sim_inject = opt->sim_inject,
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

/* Whether the disks stage (SIM_STAGE_ONE_IN - 1 runs in SIM_STAGE_ONE_IN)
 * and how often a memlog's sync fails, from a stream of its own too: the
 * draws shift no other.  With --inject keep-staged every run stages. */
static void draw_disk(const sim_options *opt, cluster_params *cp)
{
    prng p;
    prng_seed(&p, opt->seed, 13);
    cp->stage = prng_below(&p, SIM_STAGE_ONE_IN) != 0 ||
                (opt->sim_inject & SIM_INJECT_KEEP_STAGED) != 0;
    cp->sync_fail_pm =
        (uint32_t)prng_range(&p, SIM_SYNC_FAIL_MIN_PM, SIM_SYNC_FAIL_MAX_PM);
}

/* Whether the run changes its membership, how many of its nodes start as
 * voters (the others are spares, at least one voter), and the promote
 * lag, from a stream of their own: the draws shift no other.  A single
 * node has nobody to add. */
static void draw_membership(const sim_options *opt, cluster_params *cp)
{
    static const uint32_t lags[] = {0, 4, 32, 256};
    prng p;
    prng_seed(&p, opt->seed, 20);
    bool chosen = prng_below(&p, SIM_MEMBERSHIP_ONE_IN) == 0;
    int most =
        opt->n_nodes - 1 < SIM_SPARES_MAX ? opt->n_nodes - 1 : SIM_SPARES_MAX;
    int spares = most > 0 ? (int)prng_below(&p, (uint64_t)most + 1) : 0;
    uint32_t lag = lags[prng_below(&p, 4)];
    cp->membership = opt->membership == SIM_MEMBERSHIP_MIXED
                         ? chosen
                         : opt->membership == SIM_MEMBERSHIP_ON;
    if (opt->n_nodes < 2)
        cp->membership = false;
    cp->n_voters = cp->membership ? opt->n_nodes - spares : opt->n_nodes;
    cp->promote_lag = cp->membership ? lag : 0;
}

/* Whether the run compacts, and how eagerly, from a stream of its own:
 * the draws shift no other.  Small thresholds, so that logs compact
 * every few dozen entries and lagging followers (a crash, a partition)
 * need a snapshot; compact_keep below compact_entries (at or above it
 * the log would compact at every apply).  Snapshots go in chunks of 32
 * to 64 refs, and no fewer than four times what the leader replicates in
 * a round trip (max_entries_per_msg times max_inflight): one chunk
 * travels per round trip, and a send that gains on the log's growth only
 * slowly (4 refs a chunk against a client that keeps the log growing:
 * seed 90303 with --compaction --membership) takes longer than the
 * liveness bound, with no bug in the core.  States run to thousands of
 * refs, so sends still take many chunks. */
/* Whether followers defer their applies to their tick, in half the
 * runs, from a stream of its own: the draw shifts no other. */
static void draw_apply(const sim_options *opt, cluster_params *cp)
{
    prng p;
    prng_seed(&p, opt->seed, 23);
    cp->defer_follower_apply = prng_chance(&p, 500);
}

static void draw_compaction(const sim_options *opt, cluster_params *cp)
{
    prng p;
    prng_seed(&p, opt->seed, 23);
    bool chosen = prng_below(&p, SIM_COMPACTION_ONE_IN) == 0;
    uint32_t entries = (uint32_t)prng_range(&p, 20, 200);
    uint32_t keep =
        (uint32_t)prng_range(&p, 0, entries / 2 < 50 ? entries / 2 : 50);
    uint32_t chunk = (uint32_t)prng_range(&p, 32, 64);
    uint32_t round = cp->max_entries_per_msg * cp->max_inflight;
    cp->compaction = opt->compaction == SIM_COMPACTION_MIXED
                         ? chosen
                         : opt->compaction == SIM_COMPACTION_ON;
    if (!cp->compaction)
        return;
    cp->compact_entries = entries;
    /* compact_keep 0 would mean "the default": keep at least one. */
    cp->compact_keep = keep > 0 ? keep : 1;
    cp->snapshot_chunk = chunk > 4 * round ? chunk : 4 * round;
}

static void describe_params(const cluster_params *cp, char *buf, size_t len)
{
    char store[48] = "memlog";
    if (cp->refstore && cp->map_size != 0)
        snprintf(store, sizeof(store), "refstore, first map %zu KiB",
                 cp->map_size / 1024);
    else if (cp->refstore)
        snprintf(store, sizeof(store), "refstore, default map");
    char stage[48] = "no stage/sync";
    if (cp->stage && cp->refstore)
        snprintf(stage, sizeof(stage), "stage/sync");
    else if (cp->stage)
        snprintf(stage, sizeof(stage), "stage/sync, syncs fail %u/1000",
                 cp->sync_fail_pm);
    char members[80] = "";
    if (cp->membership && cp->promote_lag != 0)
        snprintf(members, sizeof(members),
                 ", membership changes from %d voters and %d spares, "
                 "promote lag %u",
                 cp->n_voters, cp->n_nodes - cp->n_voters, cp->promote_lag);
    else if (cp->membership)
        snprintf(members, sizeof(members),
                 ", membership changes from %d voters and %d spares",
                 cp->n_voters, cp->n_nodes - cp->n_voters);
    char compact[96] = "";
    if (cp->compaction)
        snprintf(compact, sizeof(compact),
                 ", compaction past %u entries keeping %u, %u refs/chunk",
                 cp->compact_entries, cp->compact_keep, cp->snapshot_chunk);
    snprintf(buf, len,
             "timeout %u ms, heartbeat %u ms, %u entries/msg, inflight %u, "
             "pre-vote %s, check-quorum %s, %s replies, applied index %s, "
             "commit %s, %s, %u fetches in flight, on %s, %s%s%s",
             cp->election_timeout_ms, cp->heartbeat_ms, cp->max_entries_per_msg,
             cp->max_inflight, cp->disable_pre_vote ? "off" : "on",
             cp->disable_check_quorum ? "off" : "on",
             cp->rpc_replies ? "rpc" : "one-way",
             cp->refstore          ? "in the store"
             : cp->persist_applied ? "persisted"
                                   : "lost on crash",
             cp->commit_policy == REFRAFT_COMMIT_DURABLE ? "durable"
                                                         : "reference",
             cp->defer_follower_apply ? "followers apply in ticks"
                                      : "applies at once",
             cp->sweeper_in_flight, store, stage, members, compact);
}

static void on_event(void *ctx, int node, const refraft_event *ev)
{
    sim *s = ctx;
    schedule_on_event(&s->sched, node, ev, s->cl.now);
}

static void on_send(void *ctx, int from, int to, const refraft_msg *msg)
{
    sim *s = ctx;
    schedule_on_send(&s->sched, from, to, msg, s->cl.now);
}

static void on_sync_failed(void *ctx, int node)
{
    sim *s = ctx;
    schedule_on_sync_failed(&s->sched, node, s->cl.now);
}

static uint64_t client_gap(sim *s)
{
    if (s->sched.phase == PHASE_HEALED)
        return prng_range(&s->cli.rng, 5, 30);
    return prng_range(&s->cli.rng, 10, 80);
}

/* The next event: the earliest of a delivery, a node timer, a fault action
 * and a client proposal; ties go in that order, so runs are repeatable. */
static event_kind next_event(sim *s, uint64_t *at, int *node, timer_kind *timer)
{
    event_kind kind = EV_NET;
    *at = net_next_time(&s->cl.net);
    uint64_t t = cluster_next_timer(&s->cl, node, timer);
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

static uint64_t timeouts(const sim *s, uint64_t n)
{
    return n * s->cl.params.election_timeout_ms;
}

/* The nodes that must converge (a bit each): every node, or with
 * membership changes the members, voters and learners, of the leader's
 * configuration (of the committed one while none leads).  Removed
 * servers and spares not added are none of their business. */
static uint32_t members(const sim *s)
{
    const cluster *cl = &s->cl;
    if (!cl->params.membership)
        return (1u << cl->params.n_nodes) - 1;
    int leader = cluster_leader(cl);
    sim_conf conf;
    const sim_conf *c = check_committed_conf(&cl->check);
    if (leader >= 0) {
        sim_conf_of_node(&conf, cl->nodes[leader].rn);
        c = &conf;
    }
    uint32_t mask = 0;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        if (cluster_in_conf(cl, i, c))
            mask |= 1u << i;
    }
    return mask;
}

/* The members (voters) of any node's configuration, or the committed one:
 * whom a bound on catching up must wait for, whichever leads next. */
static uint32_t anyone(const sim *s, bool voters)
{
    const cluster *cl = &s->cl;
    uint32_t mask = 0;
    for (int j = -1; j < cl->params.n_nodes; j++) {
        const sim_conf *c = j < 0 ? check_committed_conf(&cl->check)
                                  : check_conf_of(&cl->check, j);
        for (int i = 0; i < cl->params.n_nodes; i++) {
            if (voters ? cluster_votes_in(cl, i, c) : cluster_in_conf(cl, i, c))
                mask |= 1u << i;
        }
    }
    return mask;
}

/* Time for the nodes in mask to catch up before they can commit: a node
 * that was behind must take every entry it lacks, at most max_entries
 * per message and max_inflight messages per round trip. */
static uint64_t catch_up_ms(const sim *s, uint32_t mask)
{
    refraft_index lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < s->cl.params.n_nodes; i++) {
        if (!cluster_alive(&s->cl, i) || !(mask & (1u << i)))
            continue;
        refraft_index last = refraft_last_index(s->cl.nodes[i].rn);
        lo = last < lo ? last : lo;
        hi = last > hi ? last : hi;
    }
    if (hi <= lo)
        return 0;
    uint64_t per_round =
        (uint64_t)s->cl.params.max_entries_per_msg * s->cl.params.max_inflight;
    return (hi - lo + per_round - 1) / per_round * CATCH_UP_ROUND_MS;
}

/* A node behind the leader's log base first takes a snapshot of the
 * leader's reference state: one chunk per round trip. */
static uint64_t snapshot_ms(const sim *s)
{
    const cluster_params *p = &s->cl.params;
    if (!p->compaction)
        return 0;
    size_t most = 0;
    for (int i = 0; i < p->n_nodes; i++)
        most = s->cl.nodes[i].state.n > most ? s->cl.nodes[i].state.n : most;
    return (most / p->snapshot_chunk + 1) * CATCH_UP_ROUND_MS;
}

/* A heal opens two tests: a leader and a new commit (Liveness), and every
 * committed record on every member, and, in runs with membership changes
 * and at the end of every run, every committed entry applied there
 * (Record Convergence); a node that is behind, a learner just added among
 * them, first takes the entries it lacks. */
static void start_liveness(sim *s)
{
    /* With membership changes a voter may be far behind: one promoted
     * within the promote lag of the leader's log, one added back. */
    uint64_t behind =
        (s->cl.params.membership ? catch_up_ms(s, anyone(s, true)) : 0) +
        snapshot_ms(s);
    liveness_start(&s->live, "Liveness", "the heal", s->cl.now,
                   timeouts(s, LIVENESS_TIMEOUTS) + behind, s->cli.next_seq);
    uint32_t in_flight = s->cl.params.sweeper_in_flight;
    uint32_t mask = members(s);
    /* Applies too after every heal of a run with membership changes, and
     * after the final heal of every run. */
    bool applies = s->cl.params.membership || s->steps >= s->opt->steps;
    convergence_start(
        &s->conv, &s->cl.check, s->cl.now,
        timeouts(s, CONVERGENCE_TIMEOUTS) + snapshot_ms(s) +
            catch_up_ms(s, s->cl.params.membership ? anyone(s, false) : mask),
        in_flight != 0 ? in_flight : 16, CONVERGENCE_ROUND_MS, mask, applies,
        s->cl.params.membership &&
            s->cl.params.commit_policy == REFRAFT_COMMIT_REFERENCE);
    s->cli.next_time = s->cl.now;
    s->phase_test = false;
}

/* The lost leader is gone: the survivors must void its entries and
 * commit anew within the same bound as after a heal, plus the time to
 * catch up a survivor that was behind. */
static void start_phase_test(sim *s)
{
    liveness_start(&s->live, "Hole Filling Liveness",
                   "the loss of the leader holding the only records", s->cl.now,
                   timeouts(s, LIVENESS_TIMEOUTS) + snapshot_ms(s) +
                       catch_up_ms(s, s->cl.params.membership
                                          ? anyone(s, true)
                                          : (1u << s->cl.params.n_nodes) - 1),
                   s->cli.next_seq);
    s->phase_test = true;
}

static void process(sim *s, event_kind kind, int node, timer_kind timer)
{
    switch (kind) {
    case EV_NET:
        cluster_deliver(&s->cl, net_pop(&s->cl.net));
        break;
    case EV_TIMER:
        cluster_tick(&s->cl, node, timer);
        break;
    case EV_FAULT:
        switch (schedule_act(&s->sched, &s->cl)) {
        case ACT_HEALED:
            start_liveness(s);
            break;
        case ACT_LIVENESS:
            start_phase_test(s);
            break;
        default:
            break;
        }
        break;
    case EV_CLIENT:
        node = client_propose(&s->cli, &s->cl);
        if (node >= 0)
            schedule_on_proposal(&s->sched, node, s->cl.now);
        s->cli.next_time = s->cl.now + client_gap(s);
        break;
    }
}

/* Between steps: passed liveness and convergence tests open the next
 * fault phase, or end the run once the step budget is spent; a spent
 * budget brings the final heal forward, and so does a lost-leader phase
 * whose test passed. */
static void advance_phases(sim *s)
{
    bool spent = s->steps >= s->opt->steps;
    if (s->sched.phase == PHASE_LOST_LEADER && s->phase_test &&
        !s->live.waiting) {
        s->phase_test = false;
        schedule_end_phase(&s->sched, s->cl.now);
    }
    if (s->sched.phase == PHASE_HEALED && !s->live.waiting &&
        !s->conv.waiting) {
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
    timer_kind timer = TIMER_NODE;
    uint64_t at = 0;
    event_kind kind = next_event(s, &at, &node, &timer);
    check_progress(s, at);
    process(s, kind, node, timer);
    cluster_end_step(&s->cl);
    s->steps++;
    cluster_check(&s->cl);
    schedule_after_step(&s->sched, &s->cl);
    bool live = s->live.waiting, conv = s->conv.waiting;
    liveness_step(&s->live, cluster_leader(&s->cl), s->cl.now, &s->cl.check);
    if (s->conv.waiting)
        convergence_step(&s->conv, &s->cl.check, s->cl.now, members(s));
    if (s->cl.verbose && live && !s->live.waiting && !s->cl.check.failed)
        trace_note(s->cl.now, "%s: passed, %llu ms after %s", s->live.name,
                   (unsigned long long)(s->cl.now - s->live.heal_time),
                   s->live.what);
    if (s->cl.verbose && conv && !s->conv.waiting && !s->cl.check.failed)
        trace_note(s->cl.now,
                   "Record Convergence: every member holds the %zu "
                   "records it lacked and applied all, %llu ms after the "
                   "heal",
                   s->conv.initially_missing,
                   (unsigned long long)(s->cl.now - s->conv.heal_time));
    advance_phases(s);
}

static void fill_result(const sim *s, sim_result *res)
{
    res->failed = s->cl.check.failed;
    res->v = s->cl.check.v;
    res->step = s->steps;
    res->time = s->cl.now;
    res->fault_phases = s->sched.fault_phases;
    res->sync_crashes = s->sched.sync_crashes;
    res->heals_passed = s->live.passed;
    res->committed = s->cl.check.n_committed;
    res->proposed = s->cli.accepted;
    res->messages = s->cl.net.stats;
    res->membership = s->cl.params.membership;
    res->changes = s->sched.cs;
    res->compaction = s->cl.params.compaction;
    res->compacts = s->sched.compacts;
    res->transfers = s->sched.ts;
    for (int i = 0; i < s->cl.params.n_nodes; i++) {
        res->crashes += s->cl.nodes[i].crashes;
        res->store_failures += s->cl.nodes[i].store_failures;
        res->syncs += s->cl.nodes[i].disk.syncs;
        res->sync_failures += s->cl.nodes[i].disk.sync_failures;
        res->compactions += s->cl.nodes[i].disk.compactions;
        res->installs += s->cl.nodes[i].disk.installs;
        refraft_sweeper_stats st;
        sweep_stats(&s->cl.nodes[i], &st);
        res->sweepers.fetched += st.fetched;
        res->sweepers.digest_failures += st.digest_failures;
        res->sweepers.fetch_failures += st.fetch_failures;
        res->sweepers.voided += st.voided;
        res->sweepers.orphans_collected += st.orphans_collected;
    }
    res->records = s->cl.rstats;
    res->converged = s->conv.converged;
    res->converge_max_ms = s->conv.max_ms;
    res->converge_total_ms = s->conv.total_ms;
    res->converge_max_missing = s->conv.max_missing;
    res->converge_max_bound = s->conv.max_bound;
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
    draw_disk(opt, &cp);
    draw_membership(opt, &cp);
    draw_compaction(opt, &cp);
    draw_apply(opt, &cp);
    if (opt->in_flight != 0)
        cp.sweeper_in_flight = opt->in_flight;
    res->refstore = cp.refstore;
    res->stage = cp.stage;
    describe_params(&cp, res->config, sizeof(res->config));
    schedule_init(&s.sched, opt->seed, &cp);
    client_init(&s.cli, opt->seed);
    liveness_init(&s.live);
    convergence_init(&s.conv);
    cluster_observer obs = {&s, on_event, NULL, on_send, on_sync_failed};
    schedule_attach(&s.sched, &s.cl);
    if (cluster_init(&s.cl, &cp, opt->seed, &obs, opt->verbose) == 0) {
        s.cl.check.durable_strict = opt->durable_strict;
        start_liveness(&s);
        while (!s.done && !s.cl.check.failed && !tmpdir_interrupted())
            step(&s);
    }
    fill_result(&s, res);
    cluster_free(&s.cl);
    convergence_free(&s.conv);
}
