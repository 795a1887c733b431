/* changes.c - the schedule's membership changes: servers added as
 * learners, promoted, removed (the leader itself among them) and added
 * back, at random times of fault phases. */
#include <stdio.h>
#include <string.h>

#include "faults.h"
#include "schedule.h"
#include "trace.h"

/* The prng stream of the changes' draws: they shift no fault's. */
#define CHANGES_STREAM 19
/* A change not taken within this many election timeouts is given up. */
#define CHANGE_GIVE_UP_TIMEOUTS 20

static const char *kind_name(change_kind k)
{
    static const char *names[] = {"add", "promote", "remove"};
    return names[k];
}

void changes_init(schedule *s, uint64_t seed, const cluster_params *p)
{
    s->membership = p->membership;
    s->pre_vote = !p->disable_pre_vote;
    s->reuse_id = (p->sim_inject & SIM_INJECT_REUSE_ID) != 0;
    prng_seed(&s->mrng, seed, CHANGES_STREAM);
    s->next_change = UINT64_MAX;
    int voters = p->membership ? p->n_voters : p->n_nodes;
    for (int i = 0; i < p->n_nodes; i++)
        s->in_committed[i] = s->was_member[i] = i < voters;
}

static uint64_t gap(schedule *s)
{
    uint64_t t = s->election_timeout_ms;
    return prng_range(&s->mrng, t, 5 * t);
}

void changes_begin_phase(schedule *s, const cluster *cl)
{
    if (!s->membership)
        return;
    if (s->phase == PHASE_LOST_LEADER) {
        changes_stop(s);
        return;
    }
    s->next_change = cl->now + gap(s);
}

void changes_stop(schedule *s)
{
    if (s->ch.active)
        s->cs.given_up++;
    s->ch.active = false;
    s->next_change = UINT64_MAX;
}

uint64_t changes_next_time(const schedule *s)
{
    uint64_t t = s->next_change;
    if (s->ch.active && s->ch.due < t)
        t = s->ch.due;
    return t;
}

bool changes_due(const schedule *s, uint64_t now)
{
    return s->membership && changes_next_time(s) <= now;
}

/* The configuration the leader goes by. */
static void leader_conf(const cluster *cl, int leader, sim_conf *conf)
{
    sim_conf_of_node(conf, cl->nodes[leader].rn);
}

/* The voters of conf still recovering records a wipe took (cluster.h),
 * counting node's server as a voter or not. */
static int
lost_voters(const cluster *cl, const sim_conf *conf, int node, bool node_votes)
{
    int lost = 0;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        bool votes = i == node ? node_votes : cluster_votes_in(cl, i, conf);
        lost += votes && cluster_lost(cl, i);
    }
    return lost;
}

/*
 * Whether the change still makes sense in conf (another leader's, or
 * after other changes): a removal keeps a voter.  And whether the voters
 * it leaves can still vouch for what they lack: hole filling needs a
 * majority of them to answer authoritatively, which a voter fetching
 * back what a wipe took cannot, so at most (V - 1) / 2 of the V voters
 * after the change may be such (the rule of cluster_may_wipe).  Removing
 * a voter whose records are gone with it, or promoting a learner that
 * lost its own, could otherwise leave a hole no one may fill.
 */
static bool applies(const cluster *cl, const change *ch, const sim_conf *conf)
{
    bool member = cluster_in_conf(cl, ch->node, conf);
    bool voter = cluster_votes_in(cl, ch->node, conf);
    int after = conf->n_voters;
    switch (ch->kind) {
    case CHANGE_ADD:
        return !member && conf->n < REFRAFT_MAX_PEERS;
    case CHANGE_PROMOTE:
        if (!member || voter)
            return false;
        after++;
        return lost_voters(cl, conf, ch->node, true) <= (after - 1) / 2;
    case CHANGE_REMOVE:
        if (!member || (voter && conf->n_voters < 2))
            return false;
        after -= voter;
        return lost_voters(cl, conf, ch->node, false) <= (after - 1) / 2;
    }
    return false;
}

static int call(cluster *cl, int leader, const change *ch, refraft_index *at)
{
    refraft_node *rn = cl->nodes[leader].rn;
    const char *id = cl->nodes[ch->node].id;
    char address[SIM_ID_LEN + 8];
    switch (ch->kind) {
    case CHANGE_ADD:
        sim_address_format(address, sizeof(address), id);
        return refraft_add_learner(rn, id, address, at);
    case CHANGE_PROMOTE:
        return refraft_promote(rn, id, at);
    case CHANGE_REMOVE:
        return refraft_remove(rn, id, at);
    }
    return REFRAFT_EINVAL;
}

static void taken(schedule *s, cluster *cl, int leader, refraft_index at)
{
    change *ch = &s->ch;
    ch->active = false;
    switch (ch->kind) {
    case CHANGE_ADD:
        s->cs.added++;
        break;
    case CHANGE_PROMOTE:
        s->cs.promoted++;
        break;
    case CHANGE_REMOVE:
        s->cs.removed++;
        s->cs.self += ch->node == leader;
        break;
    }
    if (cl->verbose)
        trace_note(
            cl->now,
            "membership: n%d, leader of term %llu, appends the %s of "
            "%s at index %llu",
            leader + 1,
            (unsigned long long)refraft_current_term(cl->nodes[leader].rn),
            kind_name(ch->kind), cl->nodes[ch->node].id,
            (unsigned long long)at);
}

/* Ask whoever leads now; try again a little later when it refuses for
 * now. */
static void attempt(schedule *s, cluster *cl)
{
    change *ch = &s->ch;
    if (cl->now > ch->give_up) {
        s->cs.given_up++;
        ch->active = false;
        if (cl->verbose)
            trace_note(cl->now, "membership: the %s of %s is given up",
                       kind_name(ch->kind), cl->nodes[ch->node].id);
        return;
    }
    ch->due = cl->now + prng_range(&s->mrng, 5, 2 * (uint64_t)s->heartbeat_ms);
    int leader = cluster_leader(cl);
    if (leader < 0)
        return;
    sim_conf conf;
    leader_conf(cl, leader, &conf);
    if (!applies(cl, ch, &conf)) {
        ch->active = false;
        return;
    }
    refraft_index at = 0;
    int rv = call(cl, leader, ch, &at);
    if (rv == 0) {
        taken(s, cl, leader, at);
        return;
    }
    if (rv == REFRAFT_EBUSY) {
        s->cs.busy++;
    } else if (rv == REFRAFT_ELAGGING) {
        s->cs.lagging++;
    } else if (rv != REFRAFT_ENOTLEADER && rv != REFRAFT_ENOLEADER) {
        char what[32];
        snprintf(what, sizeof(what), "refraft_%s",
                 ch->kind == CHANGE_ADD ? "add_learner" : kind_name(ch->kind));
        cluster_api_fail(cl, leader, what, rv);
        ch->active = false;
    }
}

/*
 * A server about to be added again, whose host was shut down when it was
 * removed: it comes back with its disk, or, having lost it, as a new
 * server (members.h says why not under its old id).  With its disk it
 * goes by its old configuration until the leader reaches it, and may
 * campaign; without pre-vote each of its elections would depose the
 * leader (thesis §4.2.3: servers should ignore a RequestVote within the
 * minimum election timeout of hearing from a leader, which refraft does
 * for pre-votes only), so in such runs it always comes back new.
 */
static void bring_back(schedule *s, cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (!sn->out) {
        s->cs.returned += s->was_member[i];
        return;
    }
    bool renew = prng_chance(&s->mrng, 500) || !s->pre_vote || s->reuse_id;
    if (cl->verbose)
        trace_note(cl->now, "membership: %s comes back%s", sn->id,
                   renew ? " as a new server, its disk lost"
                         : " with its disk");
    if (renew) {
        s->cs.renewed++;
        s->in_committed[i] = s->was_member[i] = false;
        (void)cluster_renew(cl, i);
        if (cl->verbose)
            trace_note(cl->now, "membership: slot %d now runs %s", i + 1,
                       sn->id);
    } else {
        s->cs.returned++;
        sn->out = false;
        (void)cluster_restart(cl, i);
    }
}

/* The slots whose server fits kind in conf (the leader's): candidates to
 * be added are in neither conf nor the committed configuration (a
 * removal not yet committed is not over). */
static int candidates(const schedule *s, const cluster *cl,
                      const sim_conf *conf, change_kind kind, int *out)
{
    const sim_conf *committed = check_committed_conf(&cl->check);
    int n = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        change ch = {.kind = kind, .node = i};
        if (kind == CHANGE_ADD && cluster_in_conf(cl, i, committed))
            continue;
        if (applies(cl, &ch, conf))
            out[n++] = i;
    }
    return n;
}

static void choose(schedule *s, cluster *cl)
{
    int leader = cluster_leader(cl);
    if (leader < 0)
        return;
    sim_conf conf;
    leader_conf(cl, leader, &conf);
    int cand[3][NET_MAX_NODES], n[3];
    uint32_t weight[3] = {3, 4, 3}, total = 0;
    for (int k = 0; k < 3; k++) {
        n[k] = candidates(s, cl, &conf, (change_kind)k, cand[k]);
        if (n[k] == 0)
            weight[k] = 0;
        total += weight[k];
    }
    if (total == 0)
        return;
    uint64_t dice = prng_below(&s->mrng, total);
    int k = 0;
    while (dice >= weight[k])
        dice -= weight[k++];
    int node = cand[k][prng_below(&s->mrng, (uint64_t)n[k])];
    if (k == CHANGE_REMOVE && cluster_votes_in(cl, leader, &conf) &&
        conf.n_voters >= 2 && prng_chance(&s->mrng, 250))
        node = leader;
    s->cs.asked++;
    s->ch = (change){
        .active = true,
        .kind = (change_kind)k,
        .node = node,
        .due = cl->now,
        .give_up = cl->now +
                   CHANGE_GIVE_UP_TIMEOUTS * (uint64_t)s->election_timeout_ms,
    };
    if (cl->verbose)
        trace_note(cl->now, "membership: the schedule asks for the %s of %s",
                   kind_name(s->ch.kind), cl->nodes[node].id);
    if (k == CHANGE_ADD)
        bring_back(s, cl, node);
    attempt(s, cl);
}

void changes_act(schedule *s, cluster *cl)
{
    if (s->ch.active && s->ch.due <= cl->now) {
        attempt(s, cl);
        return;
    }
    s->next_change = cl->now + gap(s);
    if (!s->ch.active)
        choose(s, cl);
}

/* A server out of the committed configuration: its host shuts it down,
 * or, in runs with pre-vote (where a removed server that missed its
 * removal cannot disrupt the cluster), now and then leaves it running. */
static void on_removed(schedule *s, cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (sn->out)
        return;
    if (cluster_alive(cl, i) && s->pre_vote && prng_chance(&s->mrng, 250))
        return;
    if (cl->verbose)
        trace_note(cl->now,
                   "membership: %s's removal committed; its host shuts it "
                   "down",
                   sn->id);
    if (cluster_alive(cl, i))
        cluster_crash(cl, i);
    sn->out = true;
    s->cs.shut_down++;
}

void schedule_after_step(schedule *s, cluster *cl)
{
    if (!cl->check.failed)
        transfers_after_step(s, cl);
    if (!s->membership || cl->check.failed)
        return;
    const sim_conf *committed = check_committed_conf(&cl->check);
    if (committed->index == s->conf_seen)
        return;
    s->conf_seen = committed->index;
    for (int i = 0; i < s->n_nodes; i++) {
        bool in = cluster_in_conf(cl, i, committed);
        if (s->in_committed[i] && !in)
            on_removed(s, cl, i);
        s->in_committed[i] = in;
        s->was_member[i] |= in;
    }
}

uint32_t changes_minority_with(schedule *s, const cluster *cl, int leader)
{
    sim_conf conf;
    leader_conf(cl, leader, &conf);
    int voters[NET_MAX_NODES], n = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        if (i != leader && cluster_votes_in(cl, i, &conf))
            voters[n++] = i;
    }
    uint32_t group = 1u << leader;
    for (int k = 1; k < (conf.n_voters - 1) / 2 && n > 0; k++)
        group |= 1u << voters[prng_below(&s->rng, (uint64_t)n)];
    return group;
}

bool changes_may_lose_leader(const schedule *s, const cluster *cl, int leader)
{
    if (s->ch.active)
        return false;
    const refraft_node *rn = cl->nodes[leader].rn;
    sim_conf conf;
    sim_conf_of_node(&conf, rn);
    uint32_t voters = check_voter_slots(&cl->check, &conf);
    unsigned n = 0;
    for (; voters != 0; voters &= voters - 1)
        n++;
    /* Every voter a server still there, and the configuration settled. */
    return conf.n_voters >= 3 && n == conf.n_voters &&
           conf.index <= refraft_commit_index(rn);
}
