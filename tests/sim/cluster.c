/* cluster.c - N simulated nodes on their disks: start, crash, deliver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "hull.h"
#include "trace.h"

int cluster_node_index(const cluster *cl, const char *id)
{
    if (id == NULL || id[0] != 'n')
        return -1;
    char *end = NULL;
    long k = strtol(id + 1, &end, 10);
    if (*end != '\0' || k < 1 || k > cl->params.n_nodes)
        return -1;
    return (int)k - 1;
}

static void fill_config(const cluster *cl, const sim_node *sn,
                        const char **peers, refraft_config *cfg)
{
    const cluster_params *p = &cl->params;
    size_t n_peers = 0;
    for (int j = 0; j < p->n_nodes; j++) {
        if (j != sn->idx)
            peers[n_peers++] = cl->nodes[j].id;
    }
    *cfg = (refraft_config){
        .id = sn->id,
        .peers = peers,
        .n_peers = n_peers,
        .election_timeout_ms = p->election_timeout_ms,
        .heartbeat_ms = p->heartbeat_ms,
        .max_entries_per_msg = p->max_entries_per_msg,
        .max_inflight = p->max_inflight,
        .disable_pre_vote = p->disable_pre_vote,
        .disable_check_quorum = p->disable_check_quorum,
        .applied_index = sn->sm_applied,
        .inject_bugs = p->inject_bugs,
    };
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
        sn->sm_applied = 0;
    check_restarted(&cl->check, i, sn->sm_applied);
    const char *peers[NET_MAX_NODES];
    refraft_config cfg;
    fill_config(cl, sn, peers, &cfg);
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
    }
    return rv;
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
    net_init(&cl->net, params->n_nodes, seed);
    check_init(&cl->check, params->n_nodes);
    if (params->refstore &&
        tmpdir_create("refraft-sim", cl->dir, sizeof(cl->dir)) != 0) {
        check_fail(&cl->check, "Storage",
                   "no temporary directory for the refstores: %s",
                   strerror(errno));
        cl->dir[0] = '\0';
        return REFRAFT_EIO;
    }
    for (int i = 0; i < params->n_nodes; i++) {
        sim_node *sn = &cl->nodes[i];
        sn->cl = cl;
        sn->idx = i;
        snprintf(sn->id, sizeof(sn->id), "n%d", i + 1);
        init_disk(cl, sn);
    }
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
        refraft_node_destroy(cl->nodes[i].rn);
        cl->nodes[i].rn = NULL;
        disk_free(&cl->nodes[i].disk);
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
    refraft_node_destroy(sn->rn);
    sn->rn = NULL;
    disk_crash(&sn->disk);
    sn->crashes++;
}

int cluster_restart(cluster *cl, int i)
{
    return start(cl, i);
}

bool cluster_alive(const cluster *cl, int i)
{
    return cl->nodes[i].rn != NULL;
}

void cluster_api_fail(cluster *cl, int i, const char *what, int rv)
{
    if (cl->nodes[i].disk.failed &&
        (rv == REFRAFT_EIO || rv == REFRAFT_EFAILED))
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

void cluster_deliver(cluster *cl, net_packet *p)
{
    sim_node *dst = &cl->nodes[p->to];
    if (dst->rn != NULL && net_link_up(&cl->net, p->from, p->to)) {
        hull_reply_ctx rc = {cl, p->to, p->from};
        refraft_reply_fn reply = cl->params.rpc_replies ? hull_reply : NULL;
        int rv = refraft_on_message(dst->rn, p->msg, reply, &rc);
        check_rv(cl, p->to, "on_message", rv);
    }
    net_packet_free(p);
}

uint64_t cluster_next_timer(const cluster *cl, int *node)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        const refraft_node *rn = cl->nodes[i].rn;
        if (rn == NULL)
            continue;
        uint64_t t = refraft_next_deadline(rn);
        if (t < best) {
            best = t;
            *node = i;
        }
    }
    return best;
}

void cluster_tick(cluster *cl, int i)
{
    check_rv(cl, i, "tick", refraft_tick(cl->nodes[i].rn));
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
    for (int i = 0; i < cl->params.n_nodes && !cl->check.failed; i++) {
        const sim_node *sn = &cl->nodes[i];
        if (sn->rn != NULL)
            check_node_state(&cl->check, i, sn->rn, &sn->disk.api);
    }
}

/* refstore's Failure contract: "Close the store, reopen it and recreate
 * the node": the applies the failed commit lost run again. */
static void recover(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (cl->verbose)
        trace_note(cl->now, "n%d: its store failed (%s); reopening it", i + 1,
                   disk_errmsg(&sn->disk));
    refraft_node_destroy(sn->rn);
    sn->rn = NULL;
    disk_crash(&sn->disk);
    sn->store_failures++;
    (void)start(cl, i);
}

void cluster_end_step(cluster *cl)
{
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
