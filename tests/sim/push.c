/* push.c - records on the write path: the leader's host stores a new
 * record, pushes it to the followers, proposes its reference; a
 * follower's host checks what arrives and stores it. */
#include <stdlib.h>
#include <string.h>

#include "nodestore.h"
#include "push.h"
#include "trace.h"
#include "xalloc.h"

void push_corrupt(cluster *cl, uint8_t *b, size_t len)
{
    if (len == 0)
        return;
    size_t at = (size_t)prng_below(&cl->rec_rng, len);
    b[at] ^= (uint8_t)(1 + prng_below(&cl->rec_rng, 255));
}

/*
 * The record goes to each follower on its own, as a Dora-style host ships
 * it with (here: just ahead of) the AppendEntries that references it.
 * The fault schedule drops some pushes (never), delays some by far more
 * than a message (late) and flips a byte in some (corrupted), on top of
 * the network's own loss and partitions.  Whatever does not arrive, or
 * arrives corrupted, the follower's sweeper fetches.
 */
static void push_one(cluster *cl, int from, int to, const record *r)
{
    size_t size = sizeof(rec_wire) + r->len;
    rec_wire *w = xcalloc(1, size);
    w->kind = REC_PUSH;
    rec_wire_set_ref(w, &r->ref);
    w->len = r->len;
    memcpy(w->bytes, r->bytes, r->len);
    const record_faults *f = &cl->rf;
    uint64_t extra = 0;
    cl->rstats.pushed++;
    if (cl->rec_cut[from] || prng_chance(&cl->rec_rng, f->never_pm)) {
        cl->rstats.never++;
        if (cl->verbose)
            trace_note(cl->now, "n%d -> n%d  push of a record lost", from + 1,
                       to + 1);
        free(w);
        return;
    }
    if (prng_chance(&cl->rec_rng, f->late_pm)) {
        cl->rstats.late++;
        extra = prng_range(&cl->rec_rng, f->late_min, f->late_max);
    }
    if (prng_chance(&cl->rec_rng, f->corrupt_pm)) {
        cl->rstats.corrupted++;
        w->corrupted = true;
        push_corrupt(cl, w->bytes, w->len);
    }
    if (cl->verbose) {
        char id[RECORD_ID_MAX + 1];
        record_id_str(w->id, w->id_len, id, sizeof(id));
        trace_note(cl->now, "n%d -> n%d  push %s%s%s", from + 1, to + 1, id,
                   extra > 0 ? " (late)" : "",
                   w->corrupted ? " (corrupted)" : "");
    }
    net_send_data(&cl->net, from, to, w, size, cl->now, extra);
    free(w);
}

/* To the leader's followers: the other members of its configuration,
 * voters and learners (the initial configuration names every node in
 * slot order, so runs without membership changes push to each other node
 * in turn).  A server gone for good gets nothing. */
static void push_records(cluster *cl, int leader, const record *recs, size_t n)
{
    const refraft_node *rn = cl->nodes[leader].rn;
    for (size_t p = 0; p < refraft_n_peers(rn); p++) {
        int j = cluster_node_index(cl, refraft_peer_id(rn, p));
        if (j < 0 || j == leader || j == CLUSTER_GONE(cl))
            continue;
        for (size_t k = 0; k < n; k++)
            push_one(cl, leader, j, &recs[k]);
    }
}

int cluster_propose(cluster *cl, int i, const record *recs, size_t n,
                    refraft_index *first)
{
    sim_node *sn = &cl->nodes[i];
    refraft_ref refs[8];
    if (n > sizeof(refs) / sizeof(refs[0]))
        return REFRAFT_ETOOBIG;
    for (size_t k = 0; k < n; k++) {
        refs[k] = recs[k].ref;
        refs[k].id = recs[k].id;
    }
    if (refraft_role(sn->rn) == REFRAFT_LEADER) {
        for (size_t k = 0; k < n; k++)
            nodestore_put(sn, &refs[k], recs[k].bytes, recs[k].len);
        push_records(cl, i, recs, n);
    }
    return refraft_propose(sn->rn, refs, n, first);
}

/* The follower's host checks size and digest before it stores anything:
 * a corrupted push is refused, and the sweeper fetches the record. */
void push_deliver(cluster *cl, int from, int to, const rec_wire *w)
{
    sim_node *sn = &cl->nodes[to];
    if (sn->rn == NULL || cl->rec_cut[from])
        return;
    refraft_ref ref = rec_wire_ref(w);
    bool verify = !(cl->params.sim_inject & SIM_INJECT_UNVERIFIED_PUSH);
    if (verify && !record_matches(&ref, w->bytes, w->len)) {
        cl->rstats.refused++;
        if (cl->verbose)
            trace_note(cl->now, "n%d: refuses a corrupted push from n%d",
                       to + 1, from + 1);
        return;
    }
    if (rstore_has(&sn->records, &ref))
        return;
    nodestore_put(sn, &ref, w->bytes, w->len);
    int rv = refraft_records_stored(sn->rn);
    if (rv != 0)
        cluster_api_fail(cl, to, "records_stored", rv);
}
