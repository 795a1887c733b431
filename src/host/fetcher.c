/* fetcher.c - the sweeper's fetcher: the fetches of one sweeper pass
 * travel to each peer as a few POST /raft/v1/fetch requests, many records
 * each, and their answers go back to the sweeper a batch at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * start() only queues a fetch: the sweeper calls flush() once it has
 * started a pass's fetches, and flush() sends the queue, grouped by peer
 * and term, as requests of at most HOST_FETCH_BATCH_MAX refs and
 * HOST_FETCH_BATCH_BYTES of records.  A response's answers go to
 * refraft_sweeper_on_fetches() in one call, so the sweeper stores them
 * in one write.  A fetch flush() could not send (no memory, the HTTP
 * client refused, the peer gone or cut off by the fault hook) stays
 * queued and is answered FAILED from the loop (host_fetch_run): the
 * sweeper must not get an answer from inside start() or flush().
 */

/* A fetch start() queued, until a flush() sends it. */
struct host_fetch_item {
    uint64_t token;
    refraft_term term;
    refraft_ref ref; /* id NULL here: it is id[], which moves with us */
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    char peer[REFRAFT_ID_MAX + 1];
    uint8_t state; /* FETCH_QUEUED, or during a flush one of the others */
};

enum {
    FETCH_QUEUED = 0,
    FETCH_SENT, /* in a request now: leaves the queue */
    FETCH_HELD  /* could not be sent: stays queued */
};

/* One POST /raft/v1/fetch in flight.  results[i] is the answer to its
 * ref i (the token set, the rest filled in when the response comes);
 * cancelled[i] says the sweeper no longer wants it. */
struct host_fetch_batch {
    struct host_fetch_batch *next, *prev;
    host *h;
    char peer[REFRAFT_ID_MAX + 1];
    uint64_t http_id;
    size_t n, n_live;
    bool *cancelled;
    refraft_fetch_result results[];
};

/* ---- the batches in flight ------------------------------------------- */

static void batch_link(struct host_fetcher *f, struct host_fetch_batch *b)
{
    b->prev = NULL;
    b->next = f->in_flight;
    if (f->in_flight != NULL)
        f->in_flight->prev = b;
    f->in_flight = b;
}

static void batch_unlink(struct host_fetcher *f, struct host_fetch_batch *b)
{
    if (b->prev != NULL)
        b->prev->next = b->next;
    else
        f->in_flight = b->next;
    if (b->next != NULL)
        b->next->prev = b->prev;
    b->next = b->prev = NULL;
}

static struct host_fetch_batch *batch_new(host *h, const char *peer, size_t n)
{
    struct host_fetch_batch *b =
        malloc(sizeof *b + n * (sizeof(refraft_fetch_result) + sizeof(bool)));
    if (b == NULL)
        return NULL;
    memset(b, 0, sizeof *b);
    b->h = h;
    snprintf(b->peer, sizeof b->peer, "%s", peer);
    b->n = b->n_live = n;
    b->cancelled = (bool *)(void *)(b->results + n);
    memset(b->results, 0, n * sizeof(refraft_fetch_result));
    memset(b->cancelled, 0, n * sizeof(bool));
    return b;
}

/* Fill b's results from a 200 response: the answers, in the order of the
 * refs asked, from the peer asked, as many as were asked.  Anything else
 * leaves every result FAILED.  True when *out holds the decoded response,
 * which OK results point into: free it after delivery. */
static bool batch_answers(struct host_fetch_batch *b, const http_response *res,
                          refraft_wire_fetch_response *out)
{
    host *h = b->h;
    char err[256];
    if (res->status != 200) {
        host_log(h, HOST_LOG_DEBUG, "fetch of %zu records from %s: %u %s", b->n,
                 b->peer, res->status, res->errmsg != NULL ? res->errmsg : "");
        return false;
    }
    if (refraft_wire_decode_fetch_response(res->body, res->len, out, err,
                                           sizeof err) != 0) {
        host_log(h, HOST_LOG_WARN, "bad fetch response from %s: %s", b->peer,
                 err);
        return false;
    }
    bool ok = true;
    if (strcmp(out->sender_id, b->peer) != 0) {
        /* Another process at the peer's address: its answer is not the
         * peer's (an "absent" counted twice could void a record). */
        host_log(h, HOST_LOG_WARN, "the fetch answer from %s's address is %s's",
                 b->peer, out->sender_id);
        ok = false;
    } else if (out->n != b->n) {
        host_log(h, HOST_LOG_WARN,
                 "%s answered %zu of the %zu records asked for", b->peer,
                 out->n, b->n);
        ok = false;
    }
    if (!ok) {
        refraft_wire_fetch_response_free(out);
        return false;
    }
    for (size_t i = 0; i < b->n; i++) {
        refraft_fetch_result *r = &b->results[i];
        r->status = out->answers[i].status;
        r->bytes = out->answers[i].bytes;
        r->len = out->answers[i].len;
        r->peer_data_index = out->data_index;
    }
    return true;
}

/* The response to a batch: its answers, those the sweeper still wants,
 * go to it in one call. */
static void batch_done(void *ctx, const http_response *res)
{
    struct host_fetch_batch *b = ctx;
    host *h = b->h;
    batch_unlink(&h->fetcher, b);
    refraft_wire_fetch_response fr;
    bool answered = batch_answers(b, res, &fr);
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!b->cancelled[i])
            b->results[m++] = b->results[i];
    int rv = m > 0 ? refraft_sweeper_on_fetches(h->sw, b->results, m) : 0;
    if (rv != 0)
        host_log(h, HOST_LOG_WARN, "storing fetched records failed: %s",
                 refraft_strerror(rv));
    if (answered)
        refraft_wire_fetch_response_free(&fr);
    free(b);
}

/* ---- sending ---------------------------------------------------------- */

/* The fetches from pending[from] on that go into one request with it: the
 * unsent ones to the same peer in the same term, up to the batch limits
 * (a record larger than HOST_FETCH_BATCH_BYTES goes alone).  Their
 * positions go into pick[]; returns how many. */
static size_t
pick_batch(const struct host_fetcher *f, size_t from, size_t *pick)
{
    const struct host_fetch_item *first = &f->pending[from];
    uint64_t bytes = 0;
    size_t n = 0;
    for (size_t k = from; k < f->n_pending && n < HOST_FETCH_BATCH_MAX; k++) {
        const struct host_fetch_item *it = &f->pending[k];
        if (it->state != FETCH_QUEUED || it->term != first->term ||
            strcmp(it->peer, first->peer) != 0)
            continue;
        if (n > 0 && bytes >= HOST_FETCH_BATCH_BYTES)
            break;
        if (n > 0 && it->ref.size > HOST_FETCH_BATCH_BYTES - bytes)
            continue; /* a smaller one further on may fit */
        bytes += it->ref.size;
        pick[n++] = k;
    }
    return n;
}

/* Send the picked fetches as one request.  0, or an error with nothing
 * sent (the fetches stay queued). */
static int send_batch(host *h, const size_t *pick, size_t n, refraft_ref *refs)
{
    struct host_fetcher *f = &h->fetcher;
    const struct host_fetch_item *first = &f->pending[pick[0]];
    struct host_peer *p = host_peer_find(h, first->peer);
    if (p == NULL)
        return REFRAFT_EUNKNOWNPEER;
    if (host_fault_drops(h, first->peer)) {
        h->fault_dropped++;
        return REFRAFT_EIO;
    }
    for (size_t k = 0; k < n; k++) {
        refs[k] = f->pending[pick[k]].ref;
        refs[k].id = f->pending[pick[k]].id;
    }
    refraft_wire_buf body;
    int rv =
        refraft_wire_encode_fetch_request(h->id, first->term, refs, n, &body);
    if (rv != 0)
        return rv;
    struct host_fetch_batch *b = batch_new(h, first->peer, n);
    if (b == NULL) {
        refraft_wire_free(&body);
        return REFRAFT_ENOMEM;
    }
    for (size_t k = 0; k < n; k++)
        b->results[k] = (refraft_fetch_result){
            .token = f->pending[pick[k]].token, .status = REFRAFT_FETCH_FAILED};
    char url[HOST_URL_MAX + 32], node_hdr[96], url_hdr[HOST_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/raft/v1/fetch", p->url);
    const char *hdrs[8];
    host_peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr,
                      hdrs, "Content-Type: application/x-protobuf", NULL, NULL);
    rv = http_client_request(h->cli, "POST", url, hdrs, body.data, body.len,
                             HOST_FETCH_TIMEOUT_MS, batch_done, b, &b->http_id);
    refraft_wire_free(&body);
    if (rv != 0) {
        free(b);
        return rv;
    }
    batch_link(f, b);
    for (size_t k = 0; k < n; k++)
        f->pending[pick[k]].state = FETCH_SENT;
    return 0;
}

/* Drop the queued fetches that were sent, keeping the others in order
 * and queued again. */
static void compact_pending(struct host_fetcher *f)
{
    size_t m = 0;
    for (size_t k = 0; k < f->n_pending; k++) {
        if (f->pending[k].state == FETCH_SENT)
            continue;
        f->pending[k].state = FETCH_QUEUED;
        f->pending[m++] = f->pending[k];
    }
    f->n_pending = m;
}

void host_fetch_flush(void *ctx)
{
    host *h = ctx;
    struct host_fetcher *f = &h->fetcher;
    if (f->n_pending == 0)
        return;
    size_t *pick = malloc(HOST_FETCH_BATCH_MAX * sizeof *pick);
    refraft_ref *refs = malloc(HOST_FETCH_BATCH_MAX * sizeof *refs);
    for (size_t k = 0; pick != NULL && refs != NULL && k < f->n_pending; k++) {
        if (f->pending[k].state != FETCH_QUEUED)
            continue;
        size_t n = pick_batch(f, k, pick);
        int rv = send_batch(h, pick, n, refs);
        if (rv == 0)
            continue;
        /* Held back: answered FAILED from the loop (host_fetch_run).  The
         * other requests of this flush still go. */
        host_log(h, HOST_LOG_DEBUG, "cannot ask %s for %zu records: %s",
                 f->pending[k].peer, n, refraft_strerror(rv));
        for (size_t j = 0; j < n; j++)
            f->pending[pick[j]].state = FETCH_HELD;
    }
    free(pick);
    free(refs);
    compact_pending(f);
    /* The new requests leave now, not at the loop's next turn. */
    http_client_push(h->cli);
}

/* ---- the sweeper's side ------------------------------------------------ */

int host_fetch_start(void *ctx, const refraft_fetch_request *req)
{
    host *h = ctx;
    struct host_fetcher *f = &h->fetcher;
    if (host_peer_find(h, req->peer_id) == NULL)
        return REFRAFT_EUNKNOWNPEER;
    if (host_fault_drops(h, req->peer_id)) {
        /* Cut off by the fault hook: the fetch fails at once (FAILED). */
        h->fault_dropped++;
        return REFRAFT_EIO;
    }
    if (req->ref->id_len == 0 || req->ref->id_len > REFRAFT_RECORD_ID_MAX)
        return REFRAFT_EINVAL;
    if (f->n_pending == f->cap_pending) {
        size_t cap = f->cap_pending != 0 ? 2 * f->cap_pending : 64;
        void *p = realloc(f->pending, cap * sizeof *f->pending);
        if (p == NULL)
            return REFRAFT_ENOMEM;
        f->pending = p;
        f->cap_pending = cap;
    }
    struct host_fetch_item *it = &f->pending[f->n_pending++];
    it->token = req->token;
    it->term = req->term;
    it->ref = *req->ref;
    it->ref.id = NULL;
    memcpy(it->id, req->ref->id, req->ref->id_len);
    snprintf(it->peer, sizeof it->peer, "%s", req->peer_id);
    it->state = FETCH_QUEUED;
    return 0;
}

/* Cancel token in batch b, if it is there; the request goes when nothing
 * in it is wanted any more. */
static bool batch_cancel(host *h, struct host_fetch_batch *b, uint64_t token)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->results[i].token != token || b->cancelled[i])
            continue;
        b->cancelled[i] = true;
        if (--b->n_live == 0) {
            /* The callback will not run: the batch is ours to free. */
            http_client_cancel(h->cli, b->http_id);
            batch_unlink(&h->fetcher, b);
            free(b);
        }
        return true;
    }
    return false;
}

void host_fetch_cancel(void *ctx, uint64_t token)
{
    host *h = ctx;
    struct host_fetcher *f = &h->fetcher;
    for (size_t k = 0; k < f->n_pending; k++)
        if (f->pending[k].token == token) {
            memmove(&f->pending[k], &f->pending[k + 1],
                    (f->n_pending - k - 1) * sizeof *f->pending);
            f->n_pending--;
            return;
        }
    for (struct host_fetch_batch *b = f->in_flight; b != NULL; b = b->next)
        if (batch_cancel(h, b, token))
            return;
}

/* ---- the loop's side --------------------------------------------------- */

void host_fetch_run(host *h)
{
    struct host_fetcher *f = &h->fetcher;
    if (f->n_pending == 0)
        return;
    /* Queued past a flush: held back by a failure.  Try once more. */
    host_fetch_flush(h);
    if (f->n_pending == 0)
        return;
    /* The rest fail.  The queue is taken first: the sweeper starts other
     * fetches as it takes these answers. */
    struct host_fetch_item *items = f->pending;
    size_t n = f->n_pending;
    f->pending = NULL;
    f->n_pending = f->cap_pending = 0;
    refraft_fetch_result rs[64];
    for (size_t k = 0; k < n;) {
        size_t m = 0;
        while (k < n && m < sizeof rs / sizeof rs[0])
            rs[m++] = (refraft_fetch_result){.token = items[k++].token,
                                             .status = REFRAFT_FETCH_FAILED};
        int rv = refraft_sweeper_on_fetches(h->sw, rs, m);
        if (rv != 0)
            host_log(h, HOST_LOG_WARN, "sweeper: %s", refraft_strerror(rv));
    }
    free(items);
}

void host_fetcher_free(host *h)
{
    struct host_fetcher *f = &h->fetcher;
    while (f->in_flight != NULL) {
        struct host_fetch_batch *b = f->in_flight;
        batch_unlink(f, b);
        free(b);
    }
    free(f->pending);
    memset(f, 0, sizeof *f);
}
