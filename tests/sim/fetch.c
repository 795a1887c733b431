/* fetch.c - the simulated fetcher: a sweeper's fetch travels to the peer
 * over the simulated network, the peer's sweeper answers, the answer
 * travels back. */
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "push.h"
#include "trace.h"
#include "xalloc.h"

/* prng streams (prng_seed) of the run mode and of each sweeper's holding
 * draws: apart from every other draw of the run. */
#define MODE_STREAM 17
#define HOLD_STREAM 18
/* Answers held back go over at most this many ms after the first... */
#define HOLD_MAX_MS 5
/* ...or once this many wait, in one refraft_sweeper_on_fetches(). */
#define HOLD_MAX_ANSWERS 12

/* A request or an answer held back: the peer it goes to or came from,
 * and a copy of the message, bytes included. */
typedef struct held {
    int peer;
    rec_wire *w;
} held;

/* What one sweeper's fetcher holds back (fetch_run_mode). */
struct fetch_hold {
    unsigned mode;
    prng rng;
    held *answers;
    size_t n_answers, answers_cap;
    uint64_t release_at; /* when the held answers go over */
    held *requests;      /* until flush() */
    size_t n_requests, requests_cap;
    size_t started; /* fetches started since the last flush() */
};

unsigned fetch_run_mode(const cluster *cl)
{
    prng p;
    prng_seed(&p, cl->seed, MODE_STREAM);
    return (unsigned)(prng_next(&p) >> 61);
}

static void
hold(held **list, size_t *n, size_t *cap, int peer, const rec_wire *w)
{
    size_t size = sizeof(*w) + w->len;
    rec_wire *copy = xmalloc(size);
    memcpy(copy, w, size);
    *list = xgrow(*list, cap, *n + 1, sizeof(**list));
    (*list)[(*n)++] = (held){.peer = peer, .w = copy};
}

static void free_held(held *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(list[k].w);
    free(list);
}

static void send_request(cluster *cl, int from, int to, const rec_wire *w)
{
    if (!cl->rec_cut[to])
        net_send_data(&cl->net, from, to, w, sizeof(*w), cl->now, 0);
}

/* Send the requests held back, in the order they were started. */
static void send_held(sim_node *sn)
{
    struct fetch_hold *h = sn->hold;
    for (size_t k = 0; k < h->n_requests; k++) {
        send_request(sn->cl, sn->idx, h->requests[k].peer, h->requests[k].w);
        free(h->requests[k].w);
    }
    h->n_requests = 0;
    h->started = 0;
}

static const char *status_name(int status)
{
    static const char *names[] = {"OK", "ABSENT", "UNKNOWN", "FAILED"};
    return status >= 0 && status <= 3 ? names[status] : "?";
}

/* The request goes out on the network (cuts, loss and delays apply), at
 * once or, when the run holds requests, at the sweeper's flush(), and
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
    struct fetch_hold *h = sn->hold;
    if (h->mode & FETCH_MODE_HOLD_REQUESTS) {
        hold(&h->requests, &h->n_requests, &h->requests_cap, to, &w);
        h->started++;
    } else {
        send_request(cl, sn->idx, to, &w);
    }
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

/* A request still held back is not sent at all. */
static void cancel(void *ctx, uint64_t token)
{
    sim_node *sn = ctx;
    size_t k = find(sn, token);
    if (k < sn->n_fetches)
        drop(sn, k);
    struct fetch_hold *h = sn->hold;
    for (size_t r = 0; h != NULL && r < h->n_requests; r++) {
        if (h->requests[r].w->token == token) {
            free(h->requests[r].w);
            memmove(&h->requests[r], &h->requests[r + 1],
                    (h->n_requests - r - 1) * sizeof(*h->requests));
            h->n_requests--;
            return;
        }
    }
}

/* sweeper.h: flush() comes at the end of a call that started fetches,
 * never of one that started none. */
static void flush(void *ctx)
{
    sim_node *sn = ctx;
    if (sn->hold->started == 0)
        check_fail(&sn->cl->check, "API Contract",
                   "n%d's sweeper flushed its fetcher with no fetch started",
                   sn->idx + 1);
    send_held(sn);
}

static void hold_free(sim_node *sn)
{
    struct fetch_hold *h = sn->hold;
    if (h == NULL)
        return;
    free_held(h->answers, h->n_answers);
    free_held(h->requests, h->n_requests);
    free(h);
    sn->hold = NULL;
}

void fetch_fill(refraft_fetcher *f, sim_node *sn)
{
    hold_free(sn);
    struct fetch_hold *h = xcalloc(1, sizeof(*h));
    h->mode = fetch_run_mode(sn->cl);
    prng_seed(&h->rng,
              sn->cl->seed ^ ((uint64_t)sn->idx << 48) ^ sn->incarnation,
              HOLD_STREAM);
    sn->hold = h;
    *f = (refraft_fetcher){.ctx = sn,
                           .start = start,
                           .cancel = cancel,
                           .flush = h->mode & FETCH_MODE_HOLD_REQUESTS ? flush
                                                                       : NULL};
}

void fetch_check_flushed(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (sn->hold == NULL || sn->hold->started == 0)
        return;
    check_fail(&cl->check, "API Contract",
               "n%d's sweeper returned with %zu fetches started and its "
               "fetcher not flushed",
               i + 1, sn->hold->started);
    send_held(sn);
}

uint64_t fetch_next_timeout(const sim_node *sn)
{
    uint64_t t = UINT64_MAX;
    for (size_t k = 0; k < sn->n_fetches; k++) {
        if (sn->fetches[k].deadline < t)
            t = sn->fetches[k].deadline;
    }
    if (sn->hold != NULL && sn->hold->n_answers > 0 && sn->hold->release_at < t)
        t = sn->hold->release_at;
    return t;
}

static void
hand_over(cluster *cl, int i, const refraft_fetch_result *res, size_t n)
{
    sim_node *sn = &cl->nodes[i];
    bool batch = sn->hold->mode & FETCH_MODE_BATCH_ANSWERS;
    if (batch && cl->verbose && n > 1)
        trace_note(cl->now, "n%d: %zu answers handed over at once", i + 1, n);
    int rv = batch ? refraft_sweeper_on_fetches(sn->sw, res, n)
                   : refraft_sweeper_on_fetch(sn->sw, res);
    if (rv != 0)
        cluster_sweeper_fail(
            cl, i, batch ? "sweeper_on_fetches" : "sweeper_on_fetch", rv);
    fetch_check_flushed(cl, i);
}

static refraft_fetch_result result_of(const rec_wire *w)
{
    return (refraft_fetch_result){
        .token = w->token,
        .status = w->status,
        .bytes = w->len > 0 ? w->bytes : NULL,
        .len = w->len,
        .peer_data_index = w->peer_data_index,
    };
}

/* Hand node i's held answers over in one call, with a failure for each
 * of the n_expired fetches whose time ran out.  The list is taken from
 * the hold first: the call may start fetches, never answer one. */
static void
release(cluster *cl, int i, const uint64_t *expired, size_t n_expired)
{
    struct fetch_hold *h = cl->nodes[i].hold;
    held *answers = h->answers;
    size_t n = h->n_answers;
    h->answers = NULL;
    h->n_answers = h->answers_cap = 0;
    if (n + n_expired > 0) {
        refraft_fetch_result *res = xcalloc(n + n_expired, sizeof(*res));
        for (size_t k = 0; k < n; k++)
            res[k] = result_of(answers[k].w);
        for (size_t k = 0; k < n_expired; k++)
            res[n + k] = (refraft_fetch_result){.token = expired[k],
                                                .status = REFRAFT_FETCH_FAILED};
        hand_over(cl, i, res, n + n_expired);
        free(res);
    }
    free_held(answers, n);
}

/* All at once, with the answers held back. */
static void expire_together(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    uint64_t *expired = xcalloc(sn->n_fetches + 1, sizeof(*expired));
    size_t n_expired = 0;
    for (size_t k = 0; k < sn->n_fetches;) {
        if (sn->fetches[k].deadline > cl->now) {
            k++;
            continue;
        }
        uint64_t token = sn->fetches[k].token;
        expired[n_expired++] = token;
        cl->rstats.timeouts++;
        drop(sn, k);
        if (cl->verbose)
            trace_note(cl->now, "n%d: fetch #%llu timed out", i + 1,
                       (unsigned long long)token);
    }
    if (n_expired > 0 ||
        (sn->hold->n_answers > 0 && sn->hold->release_at <= cl->now))
        release(cl, i, expired, n_expired);
    free(expired);
}

/* In runs that batch answers, all at once with the answers held back;
 * else one at a time: handing a failure over may start new fetches. */
void fetch_expire(cluster *cl, int i)
{
    sim_node *sn = &cl->nodes[i];
    if (sn->sw != NULL && sn->hold->mode & FETCH_MODE_BATCH_ANSWERS) {
        expire_together(cl, i);
        return;
    }
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
        hand_over(cl, i, &res, 1);
    }
}

void fetch_forget(sim_node *sn)
{
    free(sn->fetches);
    sn->fetches = NULL;
    sn->n_fetches = sn->fetches_cap = 0;
    hold_free(sn);
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
    struct fetch_hold *h = sn->hold;
    if (!(h->mode & FETCH_MODE_BATCH_ANSWERS)) {
        refraft_fetch_result res = result_of(w);
        hand_over(cl, to, &res, 1);
        return;
    }
    /* Held back a few ms for company, or handed over now with those
     * already held. */
    if (h->n_answers == 0)
        h->release_at = cl->now + prng_below(&h->rng, HOLD_MAX_MS + 1);
    hold(&h->answers, &h->n_answers, &h->answers_cap, from, w);
    if (h->n_answers >= HOLD_MAX_ANSWERS || prng_chance(&h->rng, 250))
        release(cl, to, NULL, 0);
}
