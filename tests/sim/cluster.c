/* cluster.c - N simulated nodes on their disks: start, crash, deliver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "fetch.h"
#include "hull.h"
#include "push.h"
#include "sweep.h"
#include "trace.h"

int cluster_node_index(const cluster *cl, const char *id)
{
    int slot = -1;
    uint32_t gen = 0;
    if (!sim_id_parse(id, &slot, &gen) || slot >= cl->params.n_nodes)
        return -1;
    if (gen == cl->nodes[slot].gen)
        return slot;
    return gen < cl->nodes[slot].gen ? CLUSTER_GONE(cl) : -1;
}

bool cluster_in_conf(const cluster *cl, int i, const sim_conf *conf)
{
    return sim_conf_has(conf, i, cl->nodes[i].gen);
}

bool cluster_votes_in(const cluster *cl, int i, const sim_conf *conf)
{
    return sim_conf_votes(conf, i, cl->nodes[i].gen);
}

/* The peers of an initial voter: the other initial voters, in slot order
 * (every node when there are no membership changes).  A spare, or a new
 * server, joins: it has none. */
static size_t initial_peers(const cluster *cl, const sim_node *sn,
                            const char **peers, const char **addresses)
{
    /* The servers first in the slots, whatever runs there now. */
    static char ids[NET_MAX_NODES][SIM_ID_LEN];
    static char addr[NET_MAX_NODES][SIM_ID_LEN + 8];
    size_t n_peers = 0;
    if (sn->join)
        return 0;
    int voters =
        cl->params.membership ? cl->params.n_voters : cl->params.n_nodes;
    for (int j = 0; j < voters; j++) {
        if (j == sn->idx)
            continue;
        sim_id_format(ids[j], sizeof(ids[j]), j, 0);
        sim_address_format(addr[j], sizeof(addr[j]), ids[j]);
        addresses[n_peers] = addr[j];
        peers[n_peers++] = ids[j];
    }
    return n_peers;
}

static void fill_config(const cluster *cl, const sim_node *sn,
                        const char **peers, const char **addresses,
                        refraft_config *cfg)
{
    const cluster_params *p = &cl->params;
    size_t n_peers = initial_peers(cl, sn, peers, addresses);
    *cfg = (refraft_config){
        .id = sn->id,
        .peers = peers,
        .n_peers = n_peers,
        .election_timeout_ms = p->election_timeout_ms,
        .heartbeat_ms = p->heartbeat_ms,
        .max_entries_per_msg = p->max_entries_per_msg,
        .max_inflight = p->max_inflight,
        .defer_follower_apply = p->defer_follower_apply,
        .disable_pre_vote = p->disable_pre_vote,
        .disable_check_quorum = p->disable_check_quorum,
        .applied_index = sn->sm_applied,
        .commit_policy = p->commit_policy,
        /* The data index is not kept across restarts: the node checks
         * its whole log for records when it starts. */
        .data_index = 0,
        .inject_bugs = p->inject_bugs,
        .peer_addresses = p->membership ? addresses : NULL,
        .join = sn->join,
        .promote_lag = p->promote_lag,
        .compact_entries = p->compact_entries,
        .compact_keep = p->compact_keep,
        .snapshot_chunk = p->snapshot_chunk,
    };
}

/* The configuration a node starts with, as the core builds it from its
 * refraft_config: itself first, then its peers, all voters. */
static void note_initial(cluster *cl, const sim_node *sn)
{
    const char *peers[NET_MAX_NODES], *addresses[NET_MAX_NODES];
    refraft_member m[NET_MAX_NODES];
    size_t n = 0;
    if (!sn->join)
        m[n++] = (refraft_member){.id = sn->id, .address = "", .voter = true};
    size_t n_peers = initial_peers(cl, sn, peers, addresses);
    for (size_t k = 0; k < n_peers; k++)
        m[n++] = (refraft_member){
            .id = peers[k], .address = addresses[k], .voter = true};
    sim_conf conf;
    sim_conf_from(&conf, 0, 0, m, n);
    check_set_initial(&cl->check, sn->idx, &conf);
}

/* A restart after a wipe: every record of an entry in the log may be
 * lost, and the host keeps that with its store until the sweeper says
 * they are back (unless --inject forget-lost makes it forget). */
static void note_lost(cluster *cl, sim_node *sn)
{
    if (!sn->wiped)
        return;
    sn->wiped = false;
    refraft_index last = sn->disk.api.last_index(sn->disk.api.ctx);
    if (last > sn->lost_mark)
        sn->lost_mark = last;
    if (cl->params.sim_inject & SIM_INJECT_FORGET_LOST)
        return;
    if (last > sn->lost_upto)
        sn->lost_upto = last;
    if (cl->verbose)
        trace_note(cl->now,
                   "n%d: its record store was wiped: records up to "
                   "index %llu may be lost",
                   sn->idx + 1, (unsigned long long)sn->lost_upto);
}

/* Start node i on its disk.  Its state machine resumes where it was if it
 * survives crashes, else from scratch; on refstore it is in the store. */
static int start(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    int rv = disk_open(&sn->disk);
    if (rv != 0)
        return rv;
    if (cl->params.refstore)
        sn->sm_applied = disk_applied_index(&sn->disk);
    else if (!cl->params.persist_applied)
        sn->sm_applied = disk_base(&sn->disk);
    /* The state machine kept its state at least up to the log's base:
     * the entries below it cannot be applied again. */
    refstate_rollback(&sn->state, sn->sm_applied);
    check_restarted(&cl->check, i, sn->sm_applied);
    note_lost(cl, sn);
    const char *peers[NET_MAX_NODES], *addresses[NET_MAX_NODES];
    refraft_config cfg;
    fill_config(cl, sn, peers, addresses, &cfg);
    refraft_hull hull;
    hull_fill(&hull, sn);
    char err[REFRAFT_ERRMSG_LEN] = "";
    rv = refraft_node_create(&cfg, &hull, &sn->disk.api, &sn->rn, err,
                             sizeof(err));
    if (rv != 0) {
        sn->rn = NULL;
        check_fail(&cl->check, "API Contract",
                   "n%d could not start on its own disk: %s (%s)", i + 1,
                   refraft_strerror(rv), err);
        return rv;
    }
    sn->commit_seen = refraft_commit_index(sn->rn);
    sn->incarnation++;
    return sweep_start(cl, i);
}

/* Each node's refstore gets a directory of its own in the run's. */
static void init_disk(cluster *cl, sim_node *sn)
{
    char path[DISK_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", cl->dir, sn->id);
    disk_kind kind = cl->params.refstore ? DISK_REFSTORE : DISK_MEMLOG;
    disk_init(&sn->disk, kind, path, sn->idx, &cl->check,
              hull_state_machine_apply, sn);
    sn->disk.map_size = cl->params.map_size;
    sn->disk.state = &sn->state;
    disk_set_stage(&sn->disk, cl->params.stage, &cl->disk_rng);
    sn->disk.keep_staged =
        (cl->params.sim_inject & SIM_INJECT_KEEP_STAGED) != 0;
    sn->disk.clock = &cl->now;
    sn->disk.verbose = cl->verbose;
}

int cluster_init(cluster *cl, const cluster_params *params, uint64_t seed,
                 const cluster_observer *obs, bool verbose)
{
    memset(cl, 0, sizeof(*cl));
    cl->params = *params;
    if (obs != NULL)
        cl->obs = *obs;
    cl->verbose = verbose;
    prng_seed(&cl->rng, seed, 2);
    prng_seed(&cl->flush_rng, seed, 7);
    prng_seed(&cl->rec_rng, seed, 9);
    prng_seed(&cl->sw_rng, seed, 11);
    prng_seed(&cl->disk_rng, seed, 14);
    cl->seed = seed;
    net_init(&cl->net, params->n_nodes, seed);
    check_init(&cl->check, params->n_nodes);
    const rstore *stores[NET_MAX_NODES];
    for (int i = 0; i < params->n_nodes; i++) {
        rstore_init(&cl->nodes[i].records);
        refstate_init(&cl->nodes[i].state);
        stores[i] = &cl->nodes[i].records;
    }
    check_records_init(&cl->check,
                       params->commit_policy == REFRAFT_COMMIT_DURABLE, stores);
    if (params->refstore &&
        tmpdir_create("refraft-sim", cl->dir, sizeof(cl->dir)) != 0) {
        check_fail(&cl->check, "Storage",
                   "no temporary directory for the refstores: %s",
                   strerror(errno));
        cl->dir[0] = '\0';
        return REFRAFT_EIO;
    }
    int voters = params->membership ? params->n_voters : params->n_nodes;
    refraft_member initial[NET_MAX_NODES];
    for (int i = 0; i < params->n_nodes; i++) {
        sim_node *sn = &cl->nodes[i];
        sn->cl = cl;
        sn->idx = i;
        sim_id_format(sn->id, sizeof(sn->id), i, 0);
        sn->join = i >= voters;
        init_disk(cl, sn);
        initial[i] = (refraft_member){.id = sn->id, .voter = true};
    }
    sim_conf conf;
    sim_conf_from(&conf, 0, 0, initial, (size_t)voters);
    check_set_cluster_initial(&cl->check, &conf);
    for (int i = 0; i < params->n_nodes; i++)
        note_initial(cl, &cl->nodes[i]);
    for (int i = 0; i < params->n_nodes; i++) {
        int rv = start(cl, i);
        if (rv != 0)
            return rv;
    }
    return 0;
}

void cluster_free(cluster *cl)
{
    for (int i = 0; i < cl->params.n_nodes; i++) {
        sweep_stop(cl, i);
        refraft_node_destroy(cl->nodes[i].rn);
        cl->nodes[i].rn = NULL;
        disk_free(&cl->nodes[i].disk);
        rstore_free(&cl->nodes[i].records);
        refstate_free(&cl->nodes[i].state);
    }
    if (cl->dir[0] != '\0' && tmpdir_remove(cl->dir) != 0)
        fprintf(stderr, "refraft-sim: could not remove %s: %s\n", cl->dir,
                strerror(errno));
    cl->dir[0] = '\0';
    net_free(&cl->net);
    check_free(&cl->check);
}

void cluster_crash(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    sweep_stop(cl, i);
    refraft_node_destroy(sn->rn);
    sn->rn = NULL;
    disk_crash(&sn->disk);
    sn->crashes++;
}

int cluster_restart(cluster *cl, int i)
{
    return start(cl, i);
}

int cluster_renew(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (disk_wipe(&sn->disk) != 0)
        return REFRAFT_EIO;
    rstore_wipe(&sn->records);
    refstate_clear(&sn->state);
    sn->wiped = false;
    sn->lost_mark = 0;
    sn->lost_upto = 0;
    sn->wipes++;
    check_wiped(&cl->check, i);
    sn->sm_applied = 0;
    if (!(cl->params.sim_inject & SIM_INJECT_REUSE_ID))
        sn->gen++;
    sim_id_format(sn->id, sizeof(sn->id), i, sn->gen);
    sn->join = true;
    sn->out = false;
    check_renewed(&cl->check, i, sn->gen);
    note_initial(cl, sn);
    net_drop_to(&cl->net, i);
    return start(cl, i);
}

void cluster_wipe_records(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    rstore_wipe(&sn->records);
    sn->wiped = true;
    sn->wipes++;
    check_wiped(&cl->check, i);
    cl->rstats.wipes++;
}

/* Lost as far as the node's sweeper knows (it answers "unknown" until
 * it has applied up to lost_upto, also after a later crash), and as far
 * as the simulator knows (records not all back yet, whatever the host
 * says). */
bool cluster_lost(const cluster *cl, int i)
{
    const sim_node *sn = &cl->nodes[i];
    return sn->wiped || sn->lost_upto != 0 || sn->lost_mark != 0;
}

static void note_recovered(sim_node *sn)
{
    if (sn->rn != NULL && sn->lost_mark != 0 &&
        refraft_data_index(sn->rn) >= sn->lost_mark &&
        refraft_applied_index(sn->rn) >= sn->lost_mark)
        sn->lost_mark = 0;
}

/* The rule for one configuration, conf, that names i a voter. */
static bool may_wipe_in(const cluster *cl, int i, const sim_conf *conf)
{
    int lost = 0;
    for (int j = 0; j < cl->params.n_nodes; j++)
        lost += j != i && cluster_votes_in(cl, j, conf) && cluster_lost(cl, j);
    return lost + 1 <= (conf->n_voters - 1) / 2;
}

bool cluster_may_wipe(const cluster *cl, int i)
{
    if (cl->params.commit_policy != REFRAFT_COMMIT_DURABLE)
        return false;
    if (!cl->params.membership) {
        int lost = 0;
        for (int j = 0; j < cl->params.n_nodes; j++)
            lost += j != i && cluster_lost(cl, j);
        return lost + 1 <= (cl->params.n_nodes - 1) / 2;
    }
    for (int j = 0; j < cl->params.n_nodes; j++) {
        const sim_conf *conf = check_conf_of(&cl->check, j);
        if (cluster_votes_in(cl, i, conf) && !may_wipe_in(cl, i, conf))
            return false;
    }
    return true;
}

bool cluster_alive(const cluster *cl, int i)
{
    return cl->nodes[i].rn != NULL;
}

/* The store failed (refstore's Failure contract), or a sync failed by
 * injection: the error is expected. */
static bool expected_error(const cluster *cl, int i, int rv)
{
    const disk *d = &cl->nodes[i].disk;
    if (d->failed && (rv == REFRAFT_EIO || rv == REFRAFT_EFAILED))
        return true;
    return d->sync_fault && rv == REFRAFT_EIO;
}

void cluster_api_fail(cluster *cl, int i, const char *what, int rv)
{
    if (expected_error(cl, i, rv))
        return;
    check_fail(&cl->check, "API Contract", "n%d: %s returned %s (%s%s%s)",
               i + 1, what, refraft_strerror(rv),
               refraft_errmsg(cl->nodes[i].rn),
               cl->params.refstore ? "; refstore: " : "",
               disk_errmsg(&cl->nodes[i].disk));
}

/* Only errors that a well-formed message from a peer may legitimately get
 * are accepted: the simulator delivers only what cores produced. */
static void check_rv(cluster *cl, int i, const char *what, int rv)
{
    if (rv != 0 && rv != REFRAFT_ESTALE)
        cluster_api_fail(cl, i, what, rv);
}

static const char *sender_of(const refraft_msg *m)
{
    switch (m->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return m->u.append_entries.leader_id;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return m->u.append_entries_result.follower_id;
    case REFRAFT_MSG_REQUEST_VOTE:
        return m->u.request_vote.candidate_id;
    case REFRAFT_MSG_REQUEST_VOTE_RESULT:
        return m->u.request_vote_result.voter_id;
    case REFRAFT_MSG_TIMEOUT_NOW:
        return m->u.timeout_now.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return m->u.install_snapshot.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return m->u.install_snapshot_result.follower_id;
    default:
        return NULL;
    }
}

/* refraft_on_message: results (and TimeoutNow) count only from members;
 * one from a server the receiver's configuration does not name (a
 * removed one, or one not yet added there) is refused with
 * REFRAFT_EUNKNOWNPEER, which is then no violation. */
static bool from_stranger(const refraft_node *rn, const refraft_msg *m)
{
    if (m->type == REFRAFT_MSG_APPEND_ENTRIES ||
        m->type == REFRAFT_MSG_REQUEST_VOTE ||
        m->type == REFRAFT_MSG_INSTALL_SNAPSHOT)
        return false;
    const char *from = sender_of(m);
    refraft_peer_progress pr;
    return from != NULL &&
           refraft_peer_progress_get(rn, from, &pr) == REFRAFT_EUNKNOWNPEER;
}

/* Records travel between the hosts, beside Raft. */
static void deliver_record(cluster *cl, const net_packet *p)
{
    const rec_wire *w = p->data;
    switch (w->kind) {
    case REC_PUSH:
        push_deliver(cl, p->from, p->to, w);
        break;
    case REC_FETCH:
        fetch_serve(cl, p->from, p->to, w);
        break;
    case REC_ANSWER:
        fetch_answer(cl, p->from, p->to, w);
        break;
    default:
        break;
    }
}

/* What a leader hears of a follower's records, and when the follower
 * sent it: a report sent before the follower's record store was wiped
 * says more than the store now holds (check_records.c). */
static void note_report(cluster *cl, const net_packet *p)
{
    const refraft_msg *m = p->msg;
    if (m->type != REFRAFT_MSG_APPEND_ENTRIES_RESULT ||
        !m->u.append_entries_result.success)
        return;
    const refraft_append_entries_result *r = &m->u.append_entries_result;
    /* Not from a server gone for good, whose slot a new one runs now. */
    if (cluster_node_index(cl, r->follower_id) != p->from)
        return;
    check_data_report(&cl->check, p->to, p->from, r->term, r->match_index,
                      r->data_index, p->tag);
}

void cluster_deliver(cluster *cl, net_packet *p)
{
    sim_node *dst = &cl->nodes[p->to];
    if (p->data != NULL) {
        if (dst->rn != NULL && net_link_up(&cl->net, p->from, p->to))
            deliver_record(cl, p);
    } else if (dst->rn != NULL && net_link_up(&cl->net, p->from, p->to)) {
        /* A reply to a server gone for good since it asked is lost. */
        int asker = cluster_node_index(cl, sender_of(p->msg));
        hull_reply_ctx rc = {cl, p->to,
                             asker == CLUSTER_GONE(cl) ? asker : p->from};
        refraft_reply_fn reply = cl->params.rpc_replies ? hull_reply : NULL;
        note_report(cl, p);
        int rv = refraft_on_message(dst->rn, p->msg, reply, &rc);
        if (rv != REFRAFT_EUNKNOWNPEER || !from_stranger(dst->rn, p->msg))
            check_rv(cl, p->to, "on_message", rv);
    }
    net_packet_free(p);
}

/* Ties go to the lowest node, then node before sweeper before fetches. */
uint64_t cluster_next_timer(const cluster *cl, int *node, timer_kind *kind)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        const sim_node *sn = &cl->nodes[i];
        if (sn->rn == NULL)
            continue;
        uint64_t t[3] = {refraft_next_deadline(sn->rn), sweep_deadline(sn),
                         fetch_next_timeout(sn)};
        for (int k = 0; k < 3; k++) {
            if (t[k] < best) {
                best = t[k];
                *node = i;
                *kind = (timer_kind)k;
            }
        }
    }
    return best;
}

void cluster_tick(cluster *cl, int i, timer_kind kind)
{
    switch (kind) {
    case TIMER_NODE:
        check_rv(cl, i, "tick", refraft_tick(cl->nodes[i].rn));
        break;
    case TIMER_SWEEPER:
        sweep_tick(cl, i);
        break;
    case TIMER_FETCH:
        fetch_expire(cl, i);
        break;
    }
}

void cluster_sweeper_fail(cluster *cl, int i, const char *what, int rv)
{
    if (expected_error(cl, i, rv))
        return;
    check_fail(&cl->check, "API Contract", "n%d: %s returned %s (node: %s)",
               i + 1, what, refraft_strerror(rv),
               refraft_errmsg(cl->nodes[i].rn));
}

int cluster_leader(const cluster *cl)
{
    int best = -1;
    refraft_term best_term = 0;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        const refraft_node *rn = cl->nodes[i].rn;
        if (rn == NULL || refraft_role(rn) != REFRAFT_LEADER)
            continue;
        if (best < 0 || refraft_current_term(rn) > best_term) {
            best = i;
            best_term = refraft_current_term(rn);
        }
    }
    return best;
}

void cluster_check(cluster *cl)
{
    check_view view;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        const sim_node *sn = &cl->nodes[i];
        view.rn[i] = sn->rn;
        view.log[i] = &sn->disk.api;
        view.state[i] = &sn->state;
        if (sn->rn != NULL && !cl->check.failed)
            check_node_state(&cl->check, i, sn->rn, &sn->disk.api);
    }
    if (!cl->check.failed)
        check_records_step(&cl->check, &view);
}

/* refstore's Failure contract: "Close the store, reopen it and recreate
 * the node": the applies the failed commit lost run again. */
static void recover(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (cl->verbose)
        trace_note(cl->now, "n%d: its store failed (%s); reopening it", i + 1,
                   disk_errmsg(&sn->disk));
    sweep_stop(cl, i);
    refraft_node_destroy(sn->rn);
    sn->rn = NULL;
    disk_crash(&sn->disk);
    sn->store_failures++;
    (void)start(cl, i);
}

/* Every call into a node syncs what it staged before it returns. */
static void end_sync(cluster *cl, int i)
{
    disk *d = &cl->nodes[i].disk;
    if (d->staged != 0) {
        check_fail(&cl->check, "API Contract",
                   "n%d returned with its entries from index %llu staged "
                   "and not synced",
                   i + 1, (unsigned long long)d->staged);
        d->staged = 0;
    }
    if (!d->sync_fault)
        return;
    d->sync_fault = false;
    if (cl->obs.on_sync_failed != NULL)
        cl->obs.on_sync_failed(cl->obs.ctx, i);
}

void cluster_end_step(cluster *cl)
{
    for (int i = 0; i < cl->params.n_nodes; i++) {
        end_sync(cl, i);
        note_recovered(&cl->nodes[i]);
    }
    if (!cl->params.refstore)
        return;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        sim_node *sn = &cl->nodes[i];
        if (sn->rn != NULL && prng_chance(&cl->flush_rng, 500))
            disk_flush(&sn->disk);
        if (sn->rn != NULL && sn->disk.failed)
            recover(cl, i);
    }
}
