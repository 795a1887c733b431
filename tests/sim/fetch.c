/* fetch.c - the simulated fetcher: a sweeper's fetch travels to the peer
 * over the simulated network, the peer's sweeper answers, the answer
 * travels back. */
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "push.h"
#include "trace.h"
#include "xalloc.h"

static const char *status_name(int status)
{
    static const char *names[] = {"OK", "ABSENT", "UNKNOWN", "FAILED"};
    return status >= 0 && status <= 3 ? names[status] : "?";
}

/* The request goes out on the network (cuts, loss and delays apply) and
 * waits for its answer until its time-out; start() never answers from
 * inside itself (refraft_fetcher's contract). */
static int start(void *ctx, const refraft_fetch_request *req)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    int to = cluster_node_index(cl, req->peer_id);
    if (to < 0 || to == sn->idx) {
        check_fail(&cl->check, "API Contract",
                   "n%d's sweeper fetched from \"%s\", not one of its peers",
                   sn->idx + 1, req->peer_id != NULL ? req->peer_id : "(null)");
        return REFRAFT_EUNKNOWNPEER;
    }
    sn->fetches = xgrow(sn->fetches, &sn->fetches_cap, sn->n_fetches + 1,
                        sizeof(*sn->fetches));
    sn->fetches[sn->n_fetches++] = (fetch_pending){
        .token = req->token, .deadline = cl->now + FETCH_TIMEOUT_MS};
    rec_wire w;
    memset(&w, 0, sizeof(w));
    w.kind = REC_FETCH;
    rec_wire_set_ref(&w, req->ref);
    w.incarnation = sn->incarnation;
    w.token = req->token;
    w.term = req->term;
    w.index = req->index;
    cl->rstats.fetches++;
    if (cl->verbose) {
        char id[RECORD_ID_MAX + 1];
        record_id_str(w.id, w.id_len, id, sizeof(id));
        trace_note(cl->now, "n%d -> n%d  fetch %s (index %llu, #%llu)",
                   sn->idx + 1, to + 1, id, (unsigned long long)w.index,
                   (unsigned long long)w.token);
    }
    if (!cl->rec_cut[to])
        net_send_data(&cl->net, sn->idx, to, &w, sizeof(w), cl->now, 0);
    return 0;
}

static size_t find(const sim_node *sn, uint64_t token)
{
    for (size_t k = 0; k < sn->n_fetches; k++) {
        if (sn->fetches[k].token == token)
            return k;
    }
    return sn->n_fetches;
}

static void drop(sim_node *sn, size_t k)
{
    sn->fetches[k] = sn->fetches[--sn->n_fetches];
}

static void cancel(void *ctx, uint64_t token)
{
    sim_node *sn = ctx;
    size_t k = find(sn, token);
    if (k < sn->n_fetches)
        drop(sn, k);
}

void fetch_fill(refraft_fetcher *f, sim_node *sn)
{
    *f = (refraft_fetcher){.ctx = sn, .start = start, .cancel = cancel};
}

uint64_t fetch_next_timeout(const sim_node *sn)
{
    uint64_t t = UINT64_MAX;
    for (size_t k = 0; k < sn->n_fetches; k++) {
        if (sn->fetches[k].deadline < t)
            t = sn->fetches[k].deadline;
    }
    return t;
}

static void hand_over(cluster *cl, int i, const refraft_fetch_result *res)
{
    int rv = refraft_sweeper_on_fetch(cl->nodes[i].sw, res);
    if (rv != 0)
        cluster_sweeper_fail(cl, i, "sweeper_on_fetch", rv);
}

/* One at a time: handing a failure over may start new fetches. */
void fetch_expire(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    for (;;) {
        size_t k = 0;
        while (k < sn->n_fetches && sn->fetches[k].deadline > cl->now)
            k++;
        if (k == sn->n_fetches || sn->sw == NULL)
            return;
        uint64_t token = sn->fetches[k].token;
        drop(sn, k);
        cl->rstats.timeouts++;
        if (cl->verbose)
            trace_note(cl->now, "n%d: fetch #%llu timed out", i + 1,
                       (unsigned long long)token);
        refraft_fetch_result res = {.token = token,
                                    .status = REFRAFT_FETCH_FAILED};
        hand_over(cl, i, &res);
    }
}

void fetch_forget(sim_node *sn)
{
    free(sn->fetches);
    sn->fetches = NULL;
    sn->n_fetches = sn->fetches_cap = 0;
}

/* The peer's sweeper says how to answer; the bytes come from its store,
 * and the fault schedule may flip one on the way. */
void fetch_serve(cluster *cl, int from, int to, const rec_wire *w)
{
    sim_node *peer = &cl->nodes[to];
    if (peer->rn == NULL || peer->sw == NULL || cl->rec_cut[to])
        return;
    refraft_ref ref = rec_wire_ref(w);
    int status = refraft_sweeper_answer(peer->sw, &ref, w->term);
    const rstore_item *it = NULL;
    if (status == REFRAFT_FETCH_OK) {
        it = rstore_find(&peer->records, w->id, w->id_len);
        if (it == NULL || it->bytes == NULL)
            status = REFRAFT_FETCH_FAILED;
    }
    size_t len = status == REFRAFT_FETCH_OK ? (size_t)it->size : 0;
    size_t size = sizeof(rec_wire) + len;
    rec_wire *a = xcalloc(1, size);
    *a = *w;
    a->kind = REC_ANSWER;
    a->status = status;
    a->peer_data_index = refraft_data_index(peer->rn);
    a->len = len;
    if (len > 0) {
        memcpy(a->bytes, it->bytes, len);
        if (prng_chance(&cl->rec_rng, cl->rf.corrupt_pm)) {
            cl->rstats.corrupted++;
            a->corrupted = true;
            push_corrupt(cl, a->bytes, len);
        }
    }
    net_send_data(&cl->net, to, from, a, size, cl->now, 0);
    free(a);
}

/* An answer reaches only the sweeper that asked: not one of a later start
 * of the node.  One that comes after its time-out is handed over all the
 * same: the sweeper must ignore a token it no longer waits for. */
void fetch_answer(cluster *cl, int from, int to, const rec_wire *w)
{
    sim_node *sn = &cl->nodes[to];
    if (sn->rn == NULL || sn->sw == NULL || w->incarnation != sn->incarnation ||
        cl->rec_cut[from])
        return;
    size_t k = find(sn, w->token);
    if (k < sn->n_fetches)
        drop(sn, k);
    if (cl->verbose) {
        char id[RECORD_ID_MAX + 1];
        record_id_str(w->id, w->id_len, id, sizeof(id));
        trace_note(cl->now, "n%d -> n%d  answer %s #%llu: %s%s", from + 1,
                   to + 1, id, (unsigned long long)w->token,
                   status_name(w->status), w->corrupted ? " (corrupted)" : "");
    }
    refraft_fetch_result res = {
        .token = w->token,
        .status = w->status,
        .bytes = w->len > 0 ? w->bytes : NULL,
        .len = w->len,
        .peer_data_index = w->peer_data_index,
    };
    hand_over(cl, to, &res);
}
