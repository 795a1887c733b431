/* test_sweeper.c - the sweeper, one test per case DESIGN.md ("References,
 * data index and durable commit") says it handles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "failalloc.h"
#include "fixture.h"
#include "refraft/sweeper.h"

#define T FX_ELECTION_TIMEOUT
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The harness.  Real nodes on memlogs, built by the fixture (its message
 * queue, clock and apply log), each with two additions: a record store in
 * memory (id -> bytes) that is both the hull's have_records and the
 * sweeper's store, and a sweeper whose fetcher only queues requests, so a
 * test decides when, and how, each is answered.  h_serve() answers as the
 * addressed peer would: through its own sweeper's refraft_sweeper_answer()
 * and its own store; h_reply() answers however the test says, and
 * h_reply_batch() gives a sweeper several answers in one call.  The
 * fetcher has a flush() that checks its contract: called only when a
 * fetch was started since the last one, and after every call that
 * started one (h_tick_sweeper and h_reply check that nothing is left
 * unflushed).
 */

typedef struct h_record {
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    uint16_t id_len;
    uint8_t *bytes;
    size_t len;
} h_record;

typedef struct h_store {
    h_record *recs;
    size_t n;
    size_t clear_calls;
    int fail_have; /* error code have() returns while non-zero */
    int fail_put;
    /* put_batch is offered when batch is set before the node starts;
     * fail_batch fails the whole write (nothing stored).  The calls are
     * counted, and the ids of the last batch kept. */
    bool batch;
    int fail_batch;
    size_t put_calls;
    size_t batch_calls;
    size_t last_batch_n;
    char last_batch_ids[16][8];
} h_store;

/* A fetch a sweeper started: everything in the request, copied. */
typedef struct h_req {
    int from, to;
    uint64_t token;
    refraft_index index;
    refraft_term term;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    uint16_t id_len;
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    bool done; /* answered or cancelled */
    bool cancelled;
} h_req;

typedef struct h_node {
    int num;
    h_store store;
    refraft_sweeper *sw;
    /* Settings a test may change before the node starts; the harness
     * fills in node, log, store, fetcher and clock. */
    refraft_sweeper_config knobs;
    refraft_hull fx_hull; /* the fixture's hull, to pass events on */
    h_req *reqs;
    size_t n_reqs;
    size_t outstanding;
    size_t max_outstanding;
    size_t unflushed; /* fetches started since the last flush() */
    size_t flushes;
    refraft_index unrecoverable[16];
    size_t n_unrecoverable;
    /* random(): rnd_value when rnd_fixed, else a linear congruence. */
    bool rnd_fixed;
    uint64_t rnd_value;
    uint64_t rnd_state;
    /* The log as the sweeper sees it has been compacted up to base (its
     * first index is base + 1), and the application's reference state
     * (the REF entries it applied) is read through the sweeper's
     * snapshot_read; state_fail makes that read fail, state_disorder
     * hands out the references of a batch in reverse order. */
    refraft_index base;
    refraft_log_api real_log;
    int state_fail;
    bool state_disorder;
    size_t state_reads;
} h_node;

static struct {
    fixture *fx;
    int n;
    h_node nodes[FX_MAX_NODES + 1];
} H;

static h_node *hn(int i)
{
    if (i < 1 || i > H.n)
        fail_msg("harness: no node %d", i);
    return &H.nodes[i];
}

static refraft_sweeper *sw_of(int i)
{
    if (hn(i)->sw == NULL)
        fail_msg("harness: n%d has no sweeper", i);
    return hn(i)->sw;
}

static refraft_sweeper_stats stats_of(int i)
{
    refraft_sweeper_stats s;
    refraft_sweeper_get_stats(sw_of(i), &s);
    return s;
}

/* ---- records ---------------------------------------------------------- */

/* The bytes of the record named id: deterministic, a few dozen bytes. */
static size_t payload(const char *id, uint8_t *buf, size_t cap)
{
    int n =
        snprintf((char *)buf, cap, "record %s, its bytes; record %s", id, id);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* A reference to id's record (id must outlive it: tests use literals). */
static refraft_ref h_ref(const char *id)
{
    uint8_t buf[600];
    size_t len = payload(id, buf, sizeof(buf));
    refraft_ref ref;
    memset(&ref, 0, sizeof(ref));
    ref.id = (const uint8_t *)id;
    ref.id_len = (uint16_t)strlen(id);
    ref.size = len;
    unsigned int dlen = 0;
    assert_int_equal(
        EVP_Digest(buf, len, ref.digest, &dlen, EVP_sha256(), NULL), 1);
    return ref;
}

static long store_find(const h_store *st, const uint8_t *id, size_t id_len)
{
    for (size_t k = 0; k < st->n; k++) {
        if (st->recs[k].id_len == id_len &&
            memcmp(st->recs[k].id, id, id_len) == 0)
            return (long)k;
    }
    return -1;
}

static void store_add(h_store *st, const uint8_t *id, size_t id_len,
                      const void *bytes, size_t len)
{
    if (store_find(st, id, id_len) >= 0)
        return;
    st->recs = realloc(st->recs, (st->n + 1) * sizeof(*st->recs));
    assert_non_null(st->recs);
    h_record *r = &st->recs[st->n++];
    memcpy(r->id, id, id_len);
    r->id_len = (uint16_t)id_len;
    r->bytes = malloc(len > 0 ? len : 1);
    assert_non_null(r->bytes);
    memcpy(r->bytes, bytes, len);
    r->len = len;
}

static void store_wipe(h_store *st)
{
    for (size_t k = 0; k < st->n; k++)
        free(st->recs[k].bytes);
    free(st->recs);
    st->recs = NULL;
    st->n = 0;
}

static bool has_record(int i, const char *id)
{
    return store_find(&hn(i)->store, (const uint8_t *)id, strlen(id)) >= 0;
}

/* Whether the record stored under ref's id is the one ref names. */
static bool store_matches(const h_record *r, const refraft_ref *ref)
{
    uint8_t digest[REFRAFT_DIGEST_LEN];
    unsigned int dlen = 0;
    assert_int_equal(
        EVP_Digest(r->bytes, r->len, digest, &dlen, EVP_sha256(), NULL), 1);
    return r->len == ref->size &&
           memcmp(digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* Like refstore: present means the very record the ref names. */
static int
store_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    h_store *st = ctx;
    if (st->fail_have != 0)
        return st->fail_have;
    for (size_t k = 0; k < n; k++) {
        long r = store_find(st, refs[k].id, refs[k].id_len);
        present[k] = r >= 0 && store_matches(&st->recs[r], &refs[k]);
    }
    return 0;
}

/* Like refstore: records are never overwritten; another record under the
 * id is REFRAFT_EDIGEST. */
static int
put_one(h_store *st, const refraft_ref *ref, const void *bytes, size_t len)
{
    long r = store_find(st, ref->id, ref->id_len);
    if (r >= 0)
        return store_matches(&st->recs[r], ref) ? 0 : REFRAFT_EDIGEST;
    store_add(st, ref->id, ref->id_len, bytes, len);
    return 0;
}

static int
store_put(void *ctx, const refraft_ref *ref, const void *bytes, size_t len)
{
    h_store *st = ctx;
    st->put_calls++;
    if (st->fail_put != 0)
        return st->fail_put;
    return put_one(st, ref, bytes, len);
}

/* Like refstore_record_put_batch: each record on its own, or none when
 * the write fails (and then, unlike refstore, results is not filled in:
 * the sweeper goes by the return). */
static int store_put_batch(void *ctx, const refraft_ref *refs,
                           const void *const *bytes, size_t n, int *results)
{
    h_store *st = ctx;
    st->batch_calls++;
    st->last_batch_n = n;
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(st->last_batch_ids[i], sizeof(st->last_batch_ids[i]), "%.*s",
                 (int)refs[i].id_len, (const char *)refs[i].id);
    for (size_t i = 0; i < n; i++)
        assert_non_null(bytes[i]);
    /* results is left as it was: the return says nothing was stored. */
    if (st->fail_batch != 0)
        return st->fail_batch;
    for (size_t i = 0; i < n; i++)
        results[i] = put_one(st, &refs[i], bytes[i], (size_t)refs[i].size);
    return 0;
}

static int store_remove(void *ctx, const uint8_t *id, size_t id_len)
{
    h_store *st = ctx;
    long k = store_find(st, id, id_len);
    if (k < 0)
        return REFRAFT_ENOTFOUND;
    free(st->recs[k].bytes);
    st->recs[k] = st->recs[--st->n];
    return 0;
}

static int store_clear_lost(void *ctx)
{
    h_store *st = ctx;
    st->clear_calls++;
    return 0;
}

/* ---- the hull's additions --------------------------------------------- */

static h_node *of_ctx(void *fx_node_ctx)
{
    return hn(((fx_node *)fx_node_ctx)->num);
}

static int
hull_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    /* What refstore's hull does: the very record, not just its id. */
    h_store *st = &of_ctx(ctx)->store;
    for (size_t k = 0; k < n; k++) {
        long r = store_find(st, refs[k].id, refs[k].id_len);
        present[k] = r >= 0 && store_matches(&st->recs[r], &refs[k]);
    }
    return 0;
}

static void
hull_discard(void *ctx, refraft_index index, const refraft_entry *entry)
{
    h_node *h = of_ctx(ctx);
    if (h->sw != NULL)
        assert_int_equal(refraft_sweeper_on_discard(h->sw, index, entry), 0);
}

/* REFRAFT_EVENT_DATA: the sweeper has work (sweeper.h says kick). */
static void hull_event(void *ctx, const refraft_event *event)
{
    h_node *h = of_ctx(ctx);
    h->fx_hull.on_event(ctx, event);
    if (event->type == REFRAFT_EVENT_DATA && h->sw != NULL)
        refraft_sweeper_kick(h->sw);
}

/* ---- a compacted log and the reference state -------------------------- */

/* The node's memlog keeps every entry; the sweeper is shown a log whose
 * entries up to base are gone, as after refraft_compact or an installed
 * snapshot.  Only the members the sweeper calls are wrapped. */
static refraft_index view_first(void *ctx)
{
    h_node *h = ctx;
    refraft_index first = h->real_log.first_index(h->real_log.ctx);
    return first > h->base ? first : h->base + 1;
}

static refraft_index view_last(void *ctx)
{
    h_node *h = ctx;
    refraft_index last = h->real_log.last_index(h->real_log.ctx);
    return last > h->base ? last : h->base;
}

static int view_get(void *ctx, refraft_index from, size_t max,
                    refraft_entry *out, size_t *n)
{
    h_node *h = ctx;
    if (from <= h->base)
        return REFRAFT_ENOTFOUND;
    return h->real_log.get(h->real_log.ctx, from, max, out, n);
}

/* sweeper.h snapshot_read: the REF entries node i applied (its
 * application's state), those in (after, last], in index order. */
static int state_read(void *ctx, refraft_index last, refraft_index after,
                      refraft_snapshot_ref *out, size_t max, size_t *n)
{
    h_node *h = ctx;
    h->state_reads++;
    if (h->state_fail != 0)
        return h->state_fail;
    fx_node *fn = fx_node_at(H.fx, h->num);
    size_t m = 0;
    for (size_t k = 0; k < fn->n_applied && m < max; k++) {
        const fx_record *a = &fn->applied[k];
        if (a->type != REFRAFT_ENTRY_REF || a->index <= after ||
            a->index > last)
            continue;
        out[m].index = a->index;
        out[m].ref = h_ref(a->record);
        m++;
    }
    for (size_t k = 0; h->state_disorder && k < m / 2; k++) {
        refraft_snapshot_ref t = out[k];
        out[k] = out[m - 1 - k];
        out[m - 1 - k] = t;
    }
    *n = m;
    return 0;
}

/* ---- the fetcher and the clock ---------------------------------------- */

static int fetch_start(void *ctx, const refraft_fetch_request *req)
{
    h_node *h = ctx;
    int to = 0;
    for (int i = 1; i <= H.n; i++) {
        if (strcmp(fx_node_at(H.fx, i)->id, req->peer_id) == 0)
            to = i;
    }
    if (to == 0 || to == h->num)
        fail_msg("harness: n%d asked bad peer \"%s\"", h->num, req->peer_id);
    h->reqs = realloc(h->reqs, (h->n_reqs + 1) * sizeof(*h->reqs));
    assert_non_null(h->reqs);
    h_req *q = &h->reqs[h->n_reqs++];
    memset(q, 0, sizeof(*q));
    q->from = h->num;
    q->to = to;
    q->token = req->token;
    q->index = req->index;
    q->term = req->term;
    memcpy(q->id, req->ref->id, req->ref->id_len);
    q->id_len = req->ref->id_len;
    q->size = req->ref->size;
    memcpy(q->digest, req->ref->digest, REFRAFT_DIGEST_LEN);
    h->outstanding++;
    if (h->outstanding > h->max_outstanding)
        h->max_outstanding = h->outstanding;
    h->unflushed++;
    return 0;
}

/* sweeper.h: flush() comes at the end of every call "that started
 * fetches"; never after one that started none. */
static void fetch_flush(void *ctx)
{
    h_node *h = ctx;
    if (h->unflushed == 0)
        fail_msg("harness: n%d flushed with no fetch started", h->num);
    h->unflushed = 0;
    h->flushes++;
}

static void assert_flushed(int i)
{
    if (hn(i)->unflushed != 0)
        fail_msg("harness: n%d left %zu fetches unflushed", i,
                 hn(i)->unflushed);
}

static void fetch_cancel(void *ctx, uint64_t token)
{
    h_node *h = ctx;
    for (size_t k = 0; k < h->n_reqs; k++) {
        h_req *q = &h->reqs[k];
        if (q->token == token && !q->done) {
            q->done = true;
            q->cancelled = true;
            h->outstanding--;
            return;
        }
    }
    fail_msg("harness: n%d cancelled unknown fetch %llu", h->num,
             (unsigned long long)token);
}

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return H.fx->now;
}

static uint64_t clock_random(void *ctx)
{
    h_node *h = ctx;
    if (h->rnd_fixed)
        return h->rnd_value;
    h->rnd_state =
        h->rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return h->rnd_state >> 11;
}

/* ---- nodes ------------------------------------------------------------ */

static void sweeper_config(int i, refraft_sweeper_config *c)
{
    h_node *h = hn(i);
    fx_node *fn = fx_node_at(H.fx, i);
    *c = h->knobs;
    c->node = fn->node;
    h->real_log = fn->log;
    c->log = fn->log;
    c->log.ctx = h;
    c->log.first_index = view_first;
    c->log.last_index = view_last;
    c->log.get = view_get;
    c->store = (refraft_record_store){
        .ctx = &h->store,
        .have = store_have,
        .put = store_put,
        .remove = store_remove,
        .clear_lost = store_clear_lost,
        .put_batch = h->store.batch ? store_put_batch : NULL};
    c->fetcher = (refraft_fetcher){.ctx = h,
                                   .start = fetch_start,
                                   .cancel = fetch_cancel,
                                   .flush = fetch_flush};
    c->clock_ctx = h;
    c->now_ms = clock_now;
    c->random = clock_random;
}

static void
on_unrecoverable(void *app_ctx, refraft_index index, const refraft_ref *ref)
{
    h_node *h = app_ctx;
    assert_non_null(ref);
    assert_true(h->n_unrecoverable < 16);
    h->unrecoverable[h->n_unrecoverable++] = index;
}

static void h_start(int i)
{
    h_node *h = hn(i);
    fx_node *fn = fx_node_at(H.fx, i);
    refraft_hull hull;
    char err[REFRAFT_ERRMSG_LEN] = "";
    fx_hull(H.fx, i, &hull);
    h->fx_hull = hull;
    hull.have_records = hull_have;
    hull.on_discard = hull_discard;
    hull.on_event = hull_event;
    int rv = refraft_node_create(&fn->config, &hull, &fn->log, &fn->node, err,
                                 sizeof(err));
    if (rv != 0)
        fail_msg("creating n%d: %s (%s)", i, refraft_strerror(rv), err);
    refraft_sweeper_config c;
    sweeper_config(i, &c);
    rv = refraft_sweeper_create(&c, &h->sw, err, sizeof(err));
    if (rv != 0)
        fail_msg("creating n%d's sweeper: %s (%s)", i, refraft_strerror(rv),
                 err);
}

/* n nodes, not started.  Sweepers scan every 100 ms and back off from 10
 * to 80 ms; orphans wait 1000 ms. */
static void h_new(int n)
{
    memset(&H, 0, sizeof(H));
    H.fx = fx_new(n);
    H.n = n;
    for (int i = 1; i <= n; i++) {
        h_node *h = hn(i);
        h->num = i;
        h->rnd_state = (uint64_t)i * 977;
        h->knobs.interval_ms = 100;
        h->knobs.backoff_min_ms = 10;
        h->knobs.backoff_max_ms = 80;
        h->knobs.orphan_grace_ms = 1000;
        h->knobs.app_ctx = h;
        h->knobs.on_unrecoverable = on_unrecoverable;
        h->knobs.snapshot_ctx = h;
        h->knobs.snapshot_read = state_read;
    }
}

static void h_start_all(void)
{
    for (int i = 1; i <= H.n; i++)
        h_start(i);
}

static void h_crash(int i)
{
    refraft_sweeper_destroy(hn(i)->sw);
    hn(i)->sw = NULL;
    fx_crash(H.fx, i);
}

/* Restart on the same log and store; the application's state is
 * durable, as in fx_restart(). */
static void h_restart(int i)
{
    fx_node *fn = fx_node_at(H.fx, i);
    fn->config.applied_index =
        fn->n_applied > 0 ? fn->applied[fn->n_applied - 1].index : 0;
    h_start(i);
}

static int h_teardown(void **state)
{
    for (int i = 1; i <= H.n; i++) {
        h_node *h = &H.nodes[i];
        refraft_sweeper_destroy(h->sw);
        h->sw = NULL;
        store_wipe(&h->store);
        free(h->reqs);
        h->reqs = NULL;
    }
    H.n = 0;
    return fx_cleanup(state);
}

/* ---- proposals and pushes --------------------------------------------- */

/* Node i (the leader) proposes id's ref; with_record, the application
 * stored the record on the leader first, as the record service does. */
static refraft_index h_propose(int i, const char *id, bool with_record)
{
    if (with_record) {
        uint8_t buf[600];
        size_t len = payload(id, buf, sizeof(buf));
        store_add(&hn(i)->store, (const uint8_t *)id, strlen(id), buf, len);
    }
    refraft_ref ref = h_ref(id);
    refraft_index index = 0;
    assert_int_equal(refraft_propose(fx_raft(H.fx, i), &ref, 1, &index), 0);
    return index;
}

/* The application's own replication stored id's record on node i. */
static void h_push(int i, const char *id)
{
    uint8_t buf[600];
    size_t len = payload(id, buf, sizeof(buf));
    store_add(&hn(i)->store, (const uint8_t *)id, strlen(id), buf, len);
    if (fx_node_at(H.fx, i)->node != NULL)
        assert_int_equal(refraft_records_stored(fx_raft(H.fx, i)), 0);
}

/* ---- fetches ---------------------------------------------------------- */

/* Index in node i's requests of the first one not yet answered, or -1. */
static long h_next(int i)
{
    h_node *h = hn(i);
    for (size_t k = 0; k < h->n_reqs; k++) {
        if (!h->reqs[k].done)
            return (long)k;
    }
    return -1;
}

static h_req *h_req_at(int i, long k)
{
    if (k < 0 || (size_t)k >= hn(i)->n_reqs)
        fail_msg("harness: n%d has no request %ld", i, k);
    return &hn(i)->reqs[k];
}

/* Answer node i's request k with this result (token filled in). */
static int h_reply(int i, long k, int status, const void *bytes, size_t len,
                   refraft_index peer_data_index)
{
    h_req *q = h_req_at(i, k);
    if (q->done)
        fail_msg("harness: n%d's request %ld was already answered", i, k);
    q->done = true;
    hn(i)->outstanding--;
    refraft_fetch_result res = {.token = q->token,
                                .status = status,
                                .bytes = bytes,
                                .len = len,
                                .peer_data_index = peer_data_index};
    int rv = refraft_sweeper_on_fetch(sw_of(i), &res);
    assert_flushed(i);
    return rv;
}

/* Answer node i's request k as its peer would: FAILED when either is
 * down or isolated, else what the peer's sweeper says, with the bytes
 * from the peer's store. */
static int h_serve(int i, long k)
{
    h_req q = *h_req_at(i, k);
    fx_node *peer = fx_node_at(H.fx, q.to);
    h_node *ph = hn(q.to);
    if (peer->node == NULL || ph->sw == NULL || peer->isolated ||
        fx_node_at(H.fx, i)->isolated)
        return h_reply(i, k, REFRAFT_FETCH_FAILED, NULL, 0, 0);
    refraft_ref ref = {.id = q.id, .id_len = q.id_len, .size = q.size};
    memcpy(ref.digest, q.digest, REFRAFT_DIGEST_LEN);
    int status = refraft_sweeper_answer(ph->sw, &ref, q.term);
    const void *bytes = NULL;
    size_t len = 0;
    if (status == REFRAFT_FETCH_OK) {
        long r = store_find(&ph->store, q.id, q.id_len);
        assert_true(r >= 0);
        bytes = ph->store.recs[r].bytes;
        len = ph->store.recs[r].len;
    }
    return h_reply(i, k, status, bytes, len, refraft_data_index(peer->node));
}

/* Serve every request of every node, those made meanwhile included. */
static size_t h_serve_all(void)
{
    size_t served = 0;
    for (int i = 1; i <= H.n; i++) {
        for (long k = h_next(i); k >= 0; k = h_next(i)) {
            assert_int_equal(h_serve(i, k), 0);
            served++;
        }
    }
    return served;
}

static void h_tick_sweeper(int i)
{
    int rv = refraft_sweeper_tick(sw_of(i));
    if (rv != 0)
        fail_msg("n%d's sweeper tick: %s", i, refraft_strerror(rv));
    assert_flushed(i);
}

/* Deliver messages, tick sweepers that are due and serve fetches at the
 * current time until nothing more happens.  A sweeper due again and again
 * with nothing to show for it would spin here: that fails the test. */
static void h_pump(void)
{
    for (int round = 0;; round++) {
        if (round == 10000)
            fail_msg("harness: the cluster never settles");
        fx_deliver_all(H.fx);
        bool busy = false;
        for (int i = 1; i <= H.n; i++) {
            h_node *h = hn(i);
            if (h->sw != NULL &&
                refraft_sweeper_next_deadline(h->sw) <= H.fx->now) {
                h_tick_sweeper(i);
                busy = true;
            }
        }
        busy |= h_serve_all() > 0;
        if (!busy && fx_pending(H.fx) == 0)
            return;
    }
}

/* Run the cluster for ms milliseconds, a millisecond at a time. */
static void h_run(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t++) {
        H.fx->now++;
        fx_tick_due(H.fx);
        h_pump();
    }
}

/* Start every node and elect n1; its NOOP is applied. */
static void h_cluster(void)
{
    h_start_all();
    fx_elect(H.fx, 1);
    h_pump();
    assert_int_equal(refraft_commit_index(fx_raft(H.fx, 1)), 1);
}

/* The type node i applied at index, or 0 when it has not applied it. */
static int applied_type(int i, refraft_index index)
{
    fx_node *fn = fx_node_at(H.fx, i);
    for (size_t k = 0; k < fn->n_applied; k++) {
        if (fn->applied[k].index == index)
            return fn->applied[k].type;
    }
    return 0;
}

static size_t n_requests(int i)
{
    return hn(i)->n_reqs;
}

/* Node i's latest unanswered request for the entry at index, or -1. */
static long h_req_for(int i, refraft_index index)
{
    long found = -1;
    for (size_t k = 0; k < hn(i)->n_reqs; k++) {
        if (hn(i)->reqs[k].index == index && !hn(i)->reqs[k].done)
            found = (long)k;
    }
    return found;
}

/* One answer of a batch: node i's request k, or when k < 0 a token that
 * names none. */
typedef struct h_answer {
    long k;
    uint64_t token;
    int status;
    const void *bytes;
    size_t len;
} h_answer;

/* Give node i's sweeper these answers in one refraft_sweeper_on_fetches()
 * call. */
static int h_reply_batch(int i, const h_answer *a, size_t n)
{
    refraft_fetch_result res[16];
    assert_true(n <= 16);
    for (size_t j = 0; j < n; j++) {
        uint64_t token = a[j].token;
        if (a[j].k >= 0) {
            h_req *q = h_req_at(i, a[j].k);
            token = q->token;
            if (!q->done) {
                q->done = true;
                hn(i)->outstanding--;
            }
        }
        res[j] = (refraft_fetch_result){.token = token,
                                        .status = a[j].status,
                                        .bytes = a[j].bytes,
                                        .len = a[j].len};
    }
    int rv = refraft_sweeper_on_fetches(sw_of(i), res, n);
    assert_flushed(i);
    return rv;
}

/* Node 1 (the leader) proposes ids[0..n) with their records, and the
 * followers get the entries but not the records; the first index. */
static refraft_index h_propose_all(const char *const *ids, size_t n)
{
    refraft_index first = 0;
    for (size_t k = 0; k < n; k++) {
        refraft_index idx = h_propose(1, ids[k], true);
        if (k == 0)
            first = idx;
        assert_int_equal(idx, first + k);
    }
    fx_deliver_all(H.fx);
    return first;
}

/* ---- the cases -------------------------------------------------------- */

/*
 * DESIGN.md: "in the example record service, the leader's host ships
 * each new record to the followers with, or just ahead of, the
 * AppendEntries that references it, so the follower stores it before its
 * core sees the reference"; the sweeper handles "record arrives before
 * its entry": it has nothing to fetch.
 */
static void test_record_before_entry_needs_no_fetch(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_push(2, "a");
    h_push(3, "a");
    refraft_index idx = h_propose(1, "a", true);
    fx_deliver_all(H.fx);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx);
    h_run(2 * T);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(n_requests(i), 0);
        assert_int_equal(stats_of(i).missing, 0);
        assert_true(stats_of(i).scans > 0);
        assert_int_equal(applied_type(i, idx), REFRAFT_ENTRY_REF);
    }
}

/*
 * DESIGN.md: the sweeper "scans (data_index, last_index], finds missing
 * records ..., asks the leader first ..., verifies size and digest,
 * stores the record, advances data_index, and reports it", and "When a
 * follower's data_index advances outside an AppendEntries (a late
 * record, a sweeper fetch), it tells the leader at once: durable commit
 * latency must not wait for a heartbeat."
 */
static void test_entry_before_record_is_fetched_from_leader(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index idx = h_propose(1, "a", true);
    fx_deliver_all(H.fx);
    /* Durable commit: only n1 holds the record. */
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx - 1);
    assert_true(refraft_commit_index(fx_raft(H.fx, 1)) < idx);

    h_tick_sweeper(2);
    long k = h_next(2);
    assert_true(k >= 0);
    assert_int_equal(h_req_at(2, k)->to, 1); /* the leader first */
    assert_int_equal(h_req_at(2, k)->index, idx);
    assert_int_equal(h_serve(2, k), 0);

    assert_true(has_record(2, "a"));
    assert_int_equal(stats_of(2).fetched, 1);
    assert_int_equal(stats_of(2).bytes_fetched, h_ref("a").size);
    assert_int_equal(stats_of(2).missing, 0);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx);
    /* At once: n2's report is queued before any heartbeat is due. */
    assert_int_equal(fx_count(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT),
                     1);
    assert_int_equal(
        fx_deliver_first(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT), 0);
    refraft_peer_progress pr;
    assert_int_equal(refraft_peer_progress_get(fx_raft(H.fx, 1), "n2", &pr), 0);
    assert_int_equal(pr.data_index, idx);
    assert_int_equal(refraft_commit_index(fx_raft(H.fx, 1)), idx);
    h_run(T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/*
 * DESIGN.md: the sweeper handles a "crash between the two": n2 stored the
 * entry and crashed before its record arrived; it restarts with the log
 * and without the record, and fetches it.
 */
static void test_crash_between_entry_and_record(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_push(3, "c");
    refraft_index idx = h_propose(1, "c", true);
    fx_deliver_all(H.fx);
    assert_int_equal(refraft_commit_index(fx_raft(H.fx, 1)), idx);
    fx_deliver_all(H.fx);
    h_crash(2);
    h_restart(2);
    assert_int_equal(refraft_last_index(fx_raft(H.fx, 2)), idx);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx - 1);
    assert_int_equal(applied_type(2, idx), 0);

    h_run(2 * T);
    assert_true(has_record(2, "c"));
    assert_int_equal(stats_of(2).fetched, 1);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
    fx_assert_state_machine_safety(H.fx);
}

/*
 * n1 leads term 1, is cut off and appends "x" (its record stored first)
 * that nobody else gets; n2 wins the next term.  Returns x's index; n1
 * is back in the cluster, not yet told of the new leader.
 */
static refraft_index lone_entry_then_new_leader(void)
{
    h_cluster();
    fx_isolate(H.fx, 1, true);
    refraft_index idx = h_propose(1, "x", true);
    fx_elect(H.fx, 2);
    fx_isolate(H.fx, 1, false);
    return idx;
}

/*
 * DESIGN.md: the sweeper handles a "truncated entry whose record was
 * stored (orphan, collected later)"; sweeper.h: "once no log entry names
 * them and orphan_grace_ms passed".
 */
static void test_orphan_collected_after_grace(void **state)
{
    (void)state;
    h_new(3);
    refraft_index idx = lone_entry_then_new_leader();
    h_run(T); /* n2's heartbeat: n1 truncates x */
    assert_int_not_equal(fx_log_entry(H.fx, 1, idx).type, REFRAFT_ENTRY_REF);
    uint64_t discarded = H.fx->now; /* within a heartbeat of it */

    H.fx->now = discarded + 1000 - T - 1;
    h_pump();
    assert_true(has_record(1, "x"));
    assert_int_equal(stats_of(1).orphans_collected, 0);

    h_run(2 * T);
    assert_false(has_record(1, "x"));
    assert_int_equal(stats_of(1).orphans_collected, 1);
}

/* sweeper.h: orphans are collected "once no log entry names them": the
 * client retried "x" through the new leader, so the entry that names it
 * now keeps it. */
static void test_orphan_kept_while_an_entry_names_it(void **state)
{
    (void)state;
    h_new(3);
    refraft_index lost = lone_entry_then_new_leader();
    refraft_index again = h_propose(2, "x", true);
    assert_true(again > lost);
    h_run(T);
    assert_int_equal(fx_log_entry(H.fx, 1, again).type, REFRAFT_ENTRY_REF);
    assert_string_equal(fx_log_entry(H.fx, 1, again).record, "x");

    h_run(1000 + 2 * T);
    assert_true(has_record(1, "x"));
    assert_int_equal(stats_of(1).orphans_collected, 0);
    assert_int_equal(applied_type(1, again), REFRAFT_ENTRY_REF);
}

/*
 * Two records under one id: n1's discarded "x" stays as an orphan while
 * the new leader commits another record under "x".  n1 cannot store the
 * new one beside the old (records are never overwritten), so the orphan
 * is collected at once, not after its grace, and the fetch retried.
 */
static void test_orphan_holding_a_wanted_id_is_collected_early(void **state)
{
    (void)state;
    h_new(3);
    lone_entry_then_new_leader();
    h_run(T); /* n1 discards its "x" */
    static const char other[] = "another record, also called x";
    refraft_ref ref = {
        .id = (const uint8_t *)"x", .id_len = 1, .size = sizeof other - 1};
    unsigned int dlen = 0;
    assert_int_equal(
        EVP_Digest(other, ref.size, ref.digest, &dlen, EVP_sha256(), NULL), 1);
    for (int i = 2; i <= 3; i++)
        store_add(&hn(i)->store, ref.id, ref.id_len, other, ref.size);
    refraft_index idx = 0;
    assert_int_equal(refraft_propose(fx_raft(H.fx, 2), &ref, 1, &idx), 0);
    uint64_t start = H.fx->now;
    h_run(4 * T);
    assert_true(H.fx->now - start < 1000); /* well within the grace */
    assert_int_equal(stats_of(1).orphans_collected, 1);
    long r = store_find(&hn(1)->store, ref.id, ref.id_len);
    assert_true(r >= 0);
    assert_true(store_matches(&hn(1)->store.recs[r], &ref));
    assert_int_equal(applied_type(1, idx), REFRAFT_ENTRY_REF);
}

/*
 * A discarded entry can still commit elsewhere (Raft's Figure 8), and
 * under the reference policy this node's copy of its record may be the
 * only one: an orphan is collected only once the commit index has passed
 * the index it was discarded at.
 */
static void test_orphan_waits_for_the_commit_index(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_push(1, "z"); /* stored, named by no entry */
    refraft_index commit = refraft_commit_index(fx_raft(H.fx, 1));
    refraft_entry e = {.term = 1, .type = REFRAFT_ENTRY_REF, .ref = h_ref("z")};
    assert_int_equal(refraft_sweeper_on_discard(sw_of(1), commit + 3, &e), 0);
    h_run(1000 + 2 * T); /* past the grace */
    assert_true(has_record(1, "z"));
    assert_int_equal(stats_of(1).orphans_collected, 0);

    static const char *const ids[] = {"p1", "p2", "p3"};
    for (size_t k = 0; k < 3; k++) {
        h_push(2, ids[k]);
        h_push(3, ids[k]);
        h_propose(1, ids[k], true);
    }
    h_run(2 * T);
    assert_true(refraft_commit_index(fx_raft(H.fx, 1)) >= commit + 3);
    h_run(2 * T);
    assert_false(has_record(1, "z"));
    assert_int_equal(stats_of(1).orphans_collected, 1);
}

/* sweeper.h: on_discard makes "a fetch for it stop"; "Unknown or
 * cancelled tokens are ignored". */
static void test_discard_cancels_the_fetch(void **state)
{
    (void)state;
    h_new(5);
    h_cluster();
    refraft_index idx = h_propose(1, "x", true);
    /* Only n2 gets the entry, and n1 never hears back. */
    assert_int_equal(fx_deliver_first(H.fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES),
                     0);
    fx_drop_matching(H.fx, FX_ANY, FX_ANY, FX_ANY);
    h_tick_sweeper(2);
    long k = h_next(2);
    assert_true(k >= 0);
    assert_int_equal(h_req_at(2, k)->index, idx);
    h_crash(1);

    fx_elect(H.fx, 3);
    fx_deliver_all(H.fx);
    assert_int_not_equal(fx_log_entry(H.fx, 2, idx).type, REFRAFT_ENTRY_REF);
    assert_true(h_req_at(2, k)->cancelled);
    assert_int_equal(stats_of(2).in_flight, 0);
    assert_int_equal(stats_of(2).missing, 0);

    /* The answer comes anyway: ignored. */
    uint8_t buf[600];
    size_t len = payload("x", buf, sizeof(buf));
    refraft_fetch_result res = {.token = h_req_at(2, k)->token,
                                .status = REFRAFT_FETCH_OK,
                                .bytes = buf,
                                .len = len};
    assert_int_equal(refraft_sweeper_on_fetch(sw_of(2), &res), 0);
    assert_false(has_record(2, "x"));
    assert_int_equal(stats_of(2).fetched, 0);
}

/*
 * DESIGN.md: the sweeper handles "digest mismatch (reject, count, try
 * another peer)".
 */
static void test_digest_mismatch_rejected_and_next_peer_asked(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_push(3, "d");
    refraft_index idx = h_propose(1, "d", true);
    fx_deliver_all(H.fx);
    h_tick_sweeper(2);
    long k = h_next(2);
    assert_int_equal(h_req_at(2, k)->to, 1);

    uint8_t bad[600];
    size_t len = payload("d", bad, sizeof(bad));
    bad[0] ^= 1; /* same size, other bytes */
    assert_int_equal(h_reply(2, k, REFRAFT_FETCH_OK, bad, len, idx), 0);
    assert_false(has_record(2, "d"));
    assert_int_equal(stats_of(2).digest_failures, 1);
    /* A short copy is as bad. */
    k = h_next(2);
    assert_true(k >= 0);
    assert_int_equal(h_req_at(2, k)->to, 3);
    assert_int_equal(h_reply(2, k, REFRAFT_FETCH_OK, bad, len - 1, idx), 0);
    assert_int_equal(stats_of(2).digest_failures, 2);
    assert_false(has_record(2, "d"));

    /* The next round gets a good copy. */
    h_run(100);
    assert_true(has_record(2, "d"));
    uint8_t good[600];
    long r = store_find(&hn(2)->store, (const uint8_t *)"d", 1);
    assert_int_equal(hn(2)->store.recs[r].len,
                     payload("d", good, sizeof(good)));
    assert_memory_equal(hn(2)->store.recs[r].bytes, good, len);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/*
 * n1 leads, appends "h" with its record and replicates the entry, but no
 * follower gets the record; n1 crashes before anything commits (durable
 * commit needs the record on a majority).  Returns h's index.
 */
static refraft_index record_lost_with_leader(void)
{
    h_cluster();
    refraft_index idx = h_propose(1, "h", true);
    fx_deliver_all(H.fx);
    assert_true(refraft_commit_index(fx_raft(H.fx, 1)) < idx);
    h_crash(1);
    return idx;
}

/*
 * DESIGN.md: "The new leader asks the nodes, itself included, for such a
 * record; when a majority answer authoritatively that they lack it, it
 * appends VOID(k) in its own term. ... When the VOID commits, each node's
 * application is told that index k was abandoned; a late copy of the
 * record is ignored."
 */
static void test_record_lost_before_commit_is_voided(void **state)
{
    (void)state;
    h_new(3);
    refraft_index idx = record_lost_with_leader();
    fx_elect(H.fx, 2);
    h_tick_sweeper(3); /* n3 asks its new leader, n2; it waits */
    long late = h_next(3);
    assert_int_equal(h_req_at(3, late)->to, 2);

    h_tick_sweeper(2);
    for (long k = h_next(2); k >= 0; k = h_next(2))
        assert_int_equal(h_serve(2, k), 0); /* n1 fails, n3 says absent */
    assert_int_equal(stats_of(2).voided, 1);
    refraft_index v = refraft_void_of(fx_raft(H.fx, 2), idx);
    assert_true(v > idx);
    assert_int_equal(fx_log_entry(H.fx, 2, v).type, REFRAFT_ENTRY_VOID);
    fx_deliver_all(H.fx);
    fx_run(H.fx, T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_ABANDONED);
    assert_int_equal(applied_type(3, idx), REFRAFT_ENTRY_ABANDONED);

    /* A late copy reaches n3: ignored. */
    uint8_t buf[600];
    size_t len = payload("h", buf, sizeof(buf));
    assert_int_equal(h_reply(3, late, REFRAFT_FETCH_OK, buf, len, 0), 0);
    assert_false(has_record(3, "h"));
    assert_int_equal(stats_of(3).fetched, 0);

    /* n1 comes back with the record; the entry is abandoned there too. */
    h_restart(1);
    h_run(3 * T);
    assert_int_equal(applied_type(1, idx), REFRAFT_ENTRY_ABANDONED);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(stats_of(i).missing, 0);
    fx_assert_state_machine_safety(H.fx);
}

/*
 * A majority of absent answers decides: the leader voids without waiting
 * for the peers it has not asked yet (here n5, after the dead n1 cost a
 * failed fetch).
 */
static void test_void_needs_no_answer_beyond_a_majority(void **state)
{
    (void)state;
    h_new(5);
    refraft_index idx = record_lost_with_leader();
    fx_elect(H.fx, 2);
    h_tick_sweeper(2);
    for (long k = h_next(2); k >= 0; k = h_next(2)) {
        assert_int_not_equal(h_req_at(2, k)->to, 5);
        assert_int_equal(h_serve(2, k), 0);
    }
    assert_int_equal(stats_of(2).voided, 1);
    assert_true(refraft_void_of(fx_raft(H.fx, 2), idx) > idx);
}

/*
 * DESIGN.md: "A node that knows it lost records ... answers "unknown",
 * never "absent", until it has fetched them again: an "absent" from a
 * node that lost data could void a committed record."  With n1 down and
 * n3 in lost mode, only n2 can vouch: a minority, so no VOID; the record
 * comes back with n1.
 */
static void test_lost_node_answers_unknown_and_blocks_void(void **state)
{
    (void)state;
    h_new(3);
    refraft_index idx = record_lost_with_leader();
    h_crash(3);
    store_wipe(&hn(3)->store);
    hn(3)->knobs.lost_upto = fx_log_last(H.fx, 3);
    h_restart(3);
    assert_int_equal(stats_of(3).lost_upto, idx);
    fx_elect(H.fx, 2);
    refraft_term term = refraft_current_term(fx_raft(H.fx, 2));
    refraft_ref ref = h_ref("h");
    assert_int_equal(refraft_sweeper_answer(sw_of(3), &ref, term),
                     REFRAFT_FETCH_UNKNOWN);
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &ref, term),
                     REFRAFT_FETCH_ABSENT);

    refraft_index last = fx_log_last(H.fx, 2);
    h_run(500); /* many rounds */
    assert_int_equal(stats_of(2).voided, 0);
    assert_int_equal(refraft_void_of(fx_raft(H.fx, 2), idx), 0);
    assert_int_equal(fx_log_last(H.fx, 2), last);
    assert_true(stats_of(2).missing > 0);
    assert_int_equal(applied_type(2, idx), 0);

    h_restart(1);
    h_run(3 * T);
    for (int i = 1; i <= 3; i++) {
        assert_true(has_record(i, "h"));
        assert_int_equal(applied_type(i, idx), REFRAFT_ENTRY_REF);
    }
    assert_int_equal(stats_of(3).lost_upto, 0);
    assert_int_equal(hn(3)->store.clear_calls, 1);
}

/*
 * DESIGN.md: "The new leader asks the nodes, itself included"; a leader
 * that lost records counts itself only once it can vouch: here n2 wins
 * with its record store wiped, n3 alone says absent, and no VOID is
 * appended.
 */
static void test_lost_leader_does_not_vouch_for_itself(void **state)
{
    (void)state;
    h_new(3);
    refraft_index idx = record_lost_with_leader();
    h_crash(2);
    store_wipe(&hn(2)->store);
    hn(2)->knobs.lost_upto = fx_log_last(H.fx, 2);
    h_restart(2);
    fx_elect(H.fx, 2);
    refraft_index last = fx_log_last(H.fx, 2);
    h_run(500);
    assert_true(stats_of(2).lost_upto != 0);
    assert_int_equal(stats_of(2).voided, 0);
    assert_int_equal(refraft_void_of(fx_raft(H.fx, 2), idx), 0);
    assert_int_equal(fx_log_last(H.fx, 2), last);

    h_restart(1);
    h_run(3 * T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
    assert_int_equal(stats_of(2).lost_upto, 0);
}

/*
 * sweeper.h: ABSENT means the peer "answered in the asker's term"; a
 * request carries the asker's term and an ABSENT to a request of an
 * older term does not count towards a VOID.  A peer asked in a term not
 * its own answers UNKNOWN.
 */
static void test_absent_from_another_term_does_not_count(void **state)
{
    (void)state;
    h_new(3);
    refraft_index idx = record_lost_with_leader();
    fx_elect(H.fx, 2);
    refraft_term old_term = refraft_current_term(fx_raft(H.fx, 2));
    h_tick_sweeper(2);
    long k = h_next(2);
    assert_int_equal(h_req_at(2, k)->to, 1);
    assert_int_equal(h_serve(2, k), 0); /* n1 is down */
    long to_n3 = h_next(2);
    assert_int_equal(h_req_at(2, to_n3)->to, 3);
    assert_int_equal(h_req_at(2, to_n3)->term, old_term);

    /* n2 moves to a later term (still leading) before n3's answer. */
    /* A transfer's vote request: a plain one is ignored while n2 leads
     * (thesis §4.2.3). */
    refraft_msg rv = fx_request_vote(old_term + 1, "n3", 1000, old_term, false);
    rv.u.request_vote.transfer = true;
    assert_int_equal(fx_inject(H.fx, 2, &rv), 0);
    fx_drop_matching(H.fx, FX_ANY, FX_ANY, FX_ANY);
    fx_elect(H.fx, 2);
    refraft_term new_term = refraft_current_term(fx_raft(H.fx, 2));
    assert_true(new_term > old_term);
    fx_deliver_all(H.fx);

    refraft_ref ref = h_ref("h");
    assert_int_equal(refraft_sweeper_answer(sw_of(3), &ref, old_term),
                     REFRAFT_FETCH_UNKNOWN);
    assert_int_equal(h_reply(2, to_n3, REFRAFT_FETCH_ABSENT, NULL, 0, idx - 1),
                     0);
    assert_int_equal(stats_of(2).voided, 0);
    assert_int_equal(refraft_void_of(fx_raft(H.fx, 2), idx), 0);

    /* The next round asks in the new term: now a majority vouches. */
    while (h_next(2) < 0) {
        H.fx->now = refraft_sweeper_next_deadline(sw_of(2));
        h_tick_sweeper(2);
    }
    for (k = h_next(2); k >= 0; k = h_next(2)) {
        assert_int_equal(h_req_at(2, k)->term, new_term);
        assert_int_equal(h_serve(2, k), 0);
    }
    assert_int_equal(stats_of(2).voided, 1);
    assert_true(refraft_void_of(fx_raft(H.fx, 2), idx) > idx);
}

/*
 * DESIGN.md: the sweeper handles a "record of a committed entry missing
 * on every reachable node (reported as unrecoverable with its index,
 * never applied, never skipped; possible only in `reference` mode or
 * when a majority lost disks)".
 */
static void
test_committed_record_missing_everywhere_is_unrecoverable(void **state)
{
    (void)state;
    h_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(H.fx, i)->config.commit_policy = REFRAFT_COMMIT_REFERENCE;
    h_cluster();
    refraft_index idx = h_propose(1, "u", false);
    h_run(T);
    assert_int_equal(refraft_commit_index(fx_raft(H.fx, 2)), idx);

    h_run(100);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(stats_of(i).unrecoverable, 1);
        assert_int_equal(hn(i)->n_unrecoverable, 1);
        assert_int_equal(hn(i)->unrecoverable[0], idx);
        assert_int_equal(applied_type(i, idx), 0);
        assert_true(refraft_applied_index(fx_raft(H.fx, i)) < idx);
    }
    /* It keeps asking, and reports once. */
    size_t asked = n_requests(2);
    h_run(500);
    assert_true(n_requests(2) > asked);
    assert_int_equal(hn(2)->n_unrecoverable, 1);
    assert_int_equal(stats_of(2).missing, 1);

    /* A copy turns up on n3: everyone gets it and applies. */
    h_push(3, "u");
    h_run(200);
    for (int i = 1; i <= 3; i++) {
        assert_true(has_record(i, "u"));
        assert_int_equal(stats_of(i).unrecoverable, 0);
        assert_int_equal(applied_type(i, idx), REFRAFT_ENTRY_REF);
    }
}

/* DESIGN.md: the sweeper handles a "leader change mid-resend": the fetch
 * to the old leader fails, and the next asks the new one. */
static void test_leader_change_mid_resend(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_push(3, "m");
    refraft_index idx = h_propose(1, "m", true);
    fx_deliver_all(H.fx);
    fx_deliver_all(H.fx);
    h_tick_sweeper(2);
    long k = h_next(2);
    assert_int_equal(h_req_at(2, k)->to, 1);

    h_crash(1);
    fx_elect(H.fx, 3);
    assert_int_equal(h_serve(2, k), 0); /* FAILED: n1 is down */
    assert_int_equal(stats_of(2).fetch_failures, 1);
    k = h_next(2);
    assert_true(k >= 0);
    assert_int_equal(h_req_at(2, k)->to, 3);
    assert_int_equal(h_serve(2, k), 0);
    assert_true(has_record(2, "m"));
    h_run(T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/*
 * DESIGN.md: the sweeper handles "a node restarted with its record store
 * wiped but its log intact"; sweeper.h: "Until the node has applied
 * every entry up to it, the sweeper answers UNKNOWN, never ABSENT".  The
 * application's state survived, so the node restarts with everything
 * applied: lost mode lasts until the records are back.
 */
static void test_wiped_record_store_is_refetched(void **state)
{
    (void)state;
    static const char *const ids[] = {"r1", "r2", "r3", "r4", "r5"};
    h_new(3);
    h_cluster();
    for (size_t k = 0; k < 5; k++) {
        h_push(2, ids[k]);
        h_push(3, ids[k]);
        h_propose(1, ids[k], true);
    }
    h_run(T);
    refraft_index last = fx_log_last(H.fx, 2);
    assert_int_equal(refraft_applied_index(fx_raft(H.fx, 2)), last);

    h_crash(2);
    store_wipe(&hn(2)->store);
    hn(2)->knobs.lost_upto = last;
    h_restart(2);
    assert_true(refraft_data_index(fx_raft(H.fx, 2)) < last);
    refraft_term term = refraft_current_term(fx_raft(H.fx, 2));
    refraft_ref other = h_ref("never-proposed");
    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).lost_upto, last);
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &other, term),
                     REFRAFT_FETCH_UNKNOWN);

    h_run(2 * T);
    assert_int_equal(stats_of(2).fetched, 5);
    for (size_t k = 0; k < 5; k++)
        assert_true(has_record(2, ids[k]));
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), last);
    assert_int_equal(stats_of(2).lost_upto, 0);
    assert_int_equal(hn(2)->store.clear_calls, 1);
    term = refraft_current_term(fx_raft(H.fx, 2));
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &other, term),
                     REFRAFT_FETCH_ABSENT);
}

/*
 * DESIGN.md: "with bounded concurrency and exponential backoff with
 * jitter"; sweeper.h: the wait "starts at backoff_min_ms and doubles up
 * to backoff_max_ms, each wait drawn from [b/2, b)".
 */
static void test_backoff_grows_with_jitter_within_bounds(void **state)
{
    (void)state;
    h_new(3);
    hn(2)->knobs.interval_ms = 1000000;
    hn(2)->knobs.max_in_flight = 1;
    hn(2)->knobs.backoff_min_ms = 10;
    hn(2)->knobs.backoff_max_ms = 80;
    h_cluster();
    refraft_index idx = h_propose(1, "b", false);
    fx_deliver_all(H.fx);
    h_tick_sweeper(2);
    uint64_t b = 10;
    for (int round = 0; round < 8; round++) {
        /* Low, then high end of [b/2, b). */
        uint64_t half = b / 2;
        hn(2)->rnd_fixed = true;
        hn(2)->rnd_value = round % 2 == 0 ? 0 : (b - half) - 1;
        long k = h_next(2);
        assert_int_equal(h_req_at(2, k)->to, 1);
        assert_int_equal(h_reply(2, k, REFRAFT_FETCH_ABSENT, NULL, 0, 1), 0);
        k = h_next(2);
        assert_int_equal(h_req_at(2, k)->to, 3);
        assert_int_equal(h_reply(2, k, REFRAFT_FETCH_ABSENT, NULL, 0, 1), 0);
        assert_int_equal(h_next(2), -1);
        uint64_t wait = refraft_sweeper_next_deadline(sw_of(2)) - H.fx->now;
        assert_int_equal(wait, round % 2 == 0 ? half : b - 1);
        /* Nothing is asked before the wait is over. */
        H.fx->now += wait - 1;
        h_tick_sweeper(2);
        assert_int_equal(h_next(2), -1);
        H.fx->now += 1;
        h_tick_sweeper(2);
        b = b * 2 > 80 ? 80 : b * 2;
    }
    /* Jitter: any draw stays in [b/2, b) at the cap. */
    hn(2)->rnd_fixed = false;
    for (int round = 0; round < 20; round++) {
        for (long k = h_next(2); k >= 0; k = h_next(2))
            assert_int_equal(h_reply(2, k, REFRAFT_FETCH_ABSENT, NULL, 0, 1),
                             0);
        uint64_t wait = refraft_sweeper_next_deadline(sw_of(2)) - H.fx->now;
        assert_true(wait >= 40 && wait < 80);
        H.fx->now += wait;
        h_tick_sweeper(2);
    }
    assert_int_equal(stats_of(2).missing, 1);
    assert_int_equal(stats_of(2).voided, 0); /* a follower never voids */
    assert_int_equal(applied_type(2, idx), 0);
}

/* sweeper.h: "with at most max_in_flight fetches at a time"; "Missing
 * records tracked at once (the rest wait for a later scan)". */
static void test_concurrency_is_bounded(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09",
        "c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19",
        "c20", "c21", "c22", "c23", "c24", "c25", "c26", "c27", "c28", "c29"};
    const size_t n = sizeof(ids) / sizeof(ids[0]);
    h_new(3);
    hn(2)->knobs.max_in_flight = 4;
    hn(2)->knobs.max_missing = 8;
    hn(2)->knobs.scan_batch = 5;
    h_cluster();
    for (size_t k = 0; k < n; k++)
        h_propose(1, ids[k], true);
    fx_deliver_all(H.fx);
    refraft_index last = fx_log_last(H.fx, 1);

    bool full = false;
    for (int step = 0; refraft_data_index(fx_raft(H.fx, 2)) < last; step++) {
        if (step == 1000)
            fail_msg("n2 never caught up");
        if (refraft_sweeper_next_deadline(sw_of(2)) <= H.fx->now)
            h_tick_sweeper(2);
        refraft_sweeper_stats s = stats_of(2);
        assert_true(hn(2)->outstanding <= 4);
        assert_true(s.in_flight <= 4);
        assert_true(s.missing <= 8);
        full |= hn(2)->outstanding == 4;
        long k = h_next(2);
        if (k >= 0)
            assert_int_equal(h_serve(2, k), 0);
        else
            H.fx->now++;
        fx_deliver_all(H.fx);
    }
    assert_true(full);
    assert_int_equal(hn(2)->max_outstanding, 4);
    assert_int_equal(stats_of(2).fetched, n);
    assert_int_equal(n_requests(2), n);
}

/* sweeper.h: tick returns "an error from the node, the log or the record
 * store (... the next one retries)"; on_fetch: "Errors from the record
 * store or the node are returned; the record is then asked for again." */
static void test_store_errors_are_returned_and_retried(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index idx = h_propose(1, "e", true);
    fx_deliver_all(H.fx);
    hn(2)->store.fail_have = REFRAFT_EIO;
    assert_int_equal(refraft_sweeper_tick(sw_of(2)), REFRAFT_EIO);
    assert_int_equal(h_next(2), -1);
    refraft_ref ref = h_ref("e");
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &ref, 1),
                     REFRAFT_FETCH_FAILED);
    hn(2)->store.fail_have = 0;

    H.fx->now = refraft_sweeper_next_deadline(sw_of(2));
    h_tick_sweeper(2);
    long k = h_next(2);
    assert_true(k >= 0);
    hn(2)->store.fail_put = REFRAFT_ENOSPC;
    assert_int_equal(h_serve(2, k), REFRAFT_ENOSPC);
    assert_false(has_record(2, "e"));
    assert_int_equal(stats_of(2).missing, 1);
    hn(2)->store.fail_put = 0;

    h_run(100);
    assert_true(has_record(2, "e"));
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/* The allocator that fails the allocations the test below names. */
static failalloc fault;

/* STYLE.md: "A pluggable allocator lets tests fail every allocation in
 * turn and assert a clean REFRAFT_ENOMEM"; sweeper.h: "on error changes
 * nothing". */
static void test_allocation_failures_are_clean(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index idx = h_propose(1, "f", true);
    fx_deliver_all(H.fx);
    refraft_sweeper_destroy(hn(2)->sw);
    hn(2)->sw = NULL;
    refraft_sweeper_config c;
    sweeper_config(2, &c);

    refraft_sweeper *sw = NULL;
    int rv = REFRAFT_ENOMEM;
    for (long k = 1; rv == REFRAFT_ENOMEM; k++) {
        failalloc_from(&fault, k);
        rv = refraft_sweeper_create(&c, &sw, NULL, 0);
        failalloc_off();
        if (rv == REFRAFT_ENOMEM)
            assert_null(sw);
    }
    assert_int_equal(rv, 0);
    hn(2)->sw = sw;

    /* A tick that cannot remember the missing record says so, and the
     * next one does the work. */
    failalloc_from(&fault, 1);
    rv = refraft_sweeper_tick(sw);
    failalloc_off();
    assert_int_equal(rv, REFRAFT_ENOMEM);
    assert_int_equal(stats_of(2).missing, 0);
    h_run(2 * T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/* STYLE.md: errors carry "the specific cause ... so a user sees *what*
 * was wrong"; sweeper.h: "REFRAFT_EINVAL (errbuf says which field)". */
static void test_bad_config_is_refused_with_a_reason(void **state)
{
    (void)state;
    h_new(1);
    h_start_all();
    refraft_sweeper_config good;
    sweeper_config(1, &good);
    refraft_sweeper *sw = (refraft_sweeper *)&good; /* must stay untouched */
    refraft_sweeper *const before = sw;
    char err[REFRAFT_ERRMSG_LEN];
    struct {
        refraft_sweeper_config c;
        const char *says;
    } bad[8];
    for (int k = 0; k < 8; k++)
        bad[k].c = good;
    bad[0].c.node = NULL, bad[0].says = "node";
    bad[1].c.store.put = NULL, bad[1].says = "store.put";
    bad[2].c.fetcher.start = NULL, bad[2].says = "fetcher.start";
    bad[3].c.log.get = NULL, bad[3].says = "log.get";
    bad[4].c.random = NULL, bad[4].says = "random";
    bad[5].c.max_in_flight = 5000, bad[5].says = "max_in_flight";
    bad[6].c.max_in_flight = 32, bad[6].c.max_missing = 8,
    bad[6].says = "max_missing";
    bad[7].c.backoff_min_ms = 500, bad[7].c.backoff_max_ms = 100,
    bad[7].says = "backoff_min_ms";
    for (int k = 0; k < 8; k++) {
        err[0] = '\0';
        assert_int_equal(
            refraft_sweeper_create(&bad[k].c, &sw, err, sizeof(err)),
            REFRAFT_EINVAL);
        assert_ptr_equal(sw, before);
        if (strstr(err, bad[k].says) == NULL)
            fail_msg("case %d: \"%s\" does not name %s", k, err, bad[k].says);
    }
    assert_int_equal(refraft_sweeper_create(NULL, &sw, err, sizeof(err)),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_sweeper_create(&good, NULL, NULL, 0),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_sweeper_create(&good, &sw, err, sizeof(err)), 0);
    refraft_sweeper_destroy(sw);
}

/*
 * sweeper.h, fetch_delay_ms: "How long a record found missing is waited
 * for before the first fetch ... Default 0: at once."  n2 finds the
 * record missing at t0: no fetch starts before t0 + D, however often the
 * sweeper is ticked, its deadline does not sleep past t0 + D, and the
 * fetch starts then (from the leader, as any first round).
 */
static void test_fetch_delay_holds_the_first_fetch(void **state)
{
    (void)state;
    const uint64_t D = 50;
    h_new(3);
    hn(2)->knobs.fetch_delay_ms = (uint32_t)D;
    h_cluster();
    refraft_index idx = h_propose(1, "d", true);
    fx_deliver_all(H.fx);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx - 1);
    uint64_t t0 = H.fx->now;

    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).missing, 1);
    assert_int_equal(n_requests(2), 0);
    assert_true(refraft_sweeper_next_deadline(sw_of(2)) <= t0 + D);
    for (uint64_t t = 1; t < D; t++) {
        H.fx->now = t0 + t;
        h_tick_sweeper(2);
        if (n_requests(2) != 0)
            fail_msg("n2 fetched at t0 + %llu, before the delay of %llu ms",
                     (unsigned long long)t, (unsigned long long)D);
    }
    H.fx->now = t0 + D;
    h_tick_sweeper(2);
    assert_int_equal(n_requests(2), 1);
    long k = h_next(2);
    assert_int_equal(h_req_at(2, k)->to, 1);
    assert_int_equal(h_req_at(2, k)->index, idx);
    assert_int_equal(h_serve(2, k), 0);
    assert_true(has_record(2, "d"));
    assert_int_equal(stats_of(2).fetched, 1);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx);
    h_run(T);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/*
 * sweeper.h, fetch_delay_ms: "Records of entries up to lost_upto are
 * known lost: they are fetched at once."  n3 restarts with a wiped record
 * store and a fetch delay far longer than the test: it still fetches the
 * record in the first tick that finds it missing.
 */
static void test_lost_records_are_fetched_without_the_delay(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index idx = h_propose(1, "w", true);
    h_run(2 * T);
    assert_true(has_record(3, "w"));
    h_crash(3);
    store_wipe(&hn(3)->store);
    hn(3)->knobs.lost_upto = fx_log_last(H.fx, 3);
    hn(3)->knobs.fetch_delay_ms = 1000000;
    h_restart(3);
    h_tick_sweeper(3);
    if (n_requests(3) == 0)
        fail_msg("n3 waited the fetch delay for a record it knows it lost");
    long k = h_next(3);
    assert_int_equal(h_req_at(3, k)->index, idx);
}

/*
 * sweeper.h, fetch_delay_ms: "A record that arrives meanwhile is never
 * fetched."  The followers find the record missing, the application's
 * own replication delivers it within the delay, the cluster runs on:
 * nobody ever asks for it, and it is applied everywhere.
 */
static void
test_record_arriving_within_the_fetch_delay_is_not_fetched(void **state)
{
    (void)state;
    const uint64_t D = 50;
    h_new(3);
    hn(2)->knobs.fetch_delay_ms = (uint32_t)D;
    hn(3)->knobs.fetch_delay_ms = (uint32_t)D;
    h_cluster();
    refraft_index idx = h_propose(1, "a", true);
    fx_deliver_all(H.fx);
    h_tick_sweeper(2);
    h_tick_sweeper(3);
    assert_int_equal(stats_of(2).missing, 1);
    assert_int_equal(stats_of(3).missing, 1);

    h_run(D / 2);
    h_push(2, "a");
    h_push(3, "a");
    h_run(2 * T);

    for (int i = 2; i <= 3; i++) {
        assert_int_equal(n_requests(i), 0);
        assert_int_equal(stats_of(i).fetched, 0);
        assert_int_equal(stats_of(i).missing, 0);
        assert_int_equal(refraft_data_index(fx_raft(H.fx, i)), idx);
        assert_int_equal(applied_type(i, idx), REFRAFT_ENTRY_REF);
    }
}

/*
 * The same when the record arrives before the entry is committed here:
 * the delay (5 ms) is shorter than a heartbeat (10 ms), so the follower
 * holds the record, and has reported it, before the leader's next
 * AppendEntries brings the commit index.  The record is present when
 * the delay ends, and "a record that arrives meanwhile is never
 * fetched".
 */
static void test_record_arriving_before_its_commit_is_not_fetched(void **state)
{
    (void)state;
    const uint64_t D = 5;
    h_new(3);
    hn(2)->knobs.fetch_delay_ms = (uint32_t)D;
    h_cluster();
    refraft_index idx = h_propose(1, "early", true);
    fx_deliver_all(H.fx);
    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).missing, 1);

    H.fx->now++;
    h_push(2, "early");
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), idx);
    h_run(2 * T);

    assert_int_equal(n_requests(2), 0);
    assert_int_equal(stats_of(2).fetched, 0);
    assert_int_equal(stats_of(2).missing, 0);
    assert_int_equal(applied_type(2, idx), REFRAFT_ENTRY_REF);
}

/*
 * sweeper.h, on_fetches: "n answers at once (a batched request's),
 * handled as n on_fetch calls would be, except that the records that
 * verified are stored together (store.put_batch when set) and the node
 * is told once."  n2 gets, in one call, answers of every kind to its
 * eight fetches, plus one for a cancelled fetch, one for a token never
 * its own and a second one for a fetch already answered in the batch.
 */
static void test_answers_in_one_call_are_stored_in_one_write(void **state)
{
    (void)state;
    static const char *const ids[] = {"b0", "b1", "b2", "b3",
                                      "b4", "b5", "b6", "b7"};
    h_new(3);
    hn(2)->store.batch = true;
    h_cluster();
    refraft_index first = h_propose_all(ids, 8);
    h_tick_sweeper(2);
    assert_int_equal(n_requests(2), 8);
    assert_int_equal(hn(2)->flushes, 1); /* eight fetches, one flush */
    long k_of[8];
    for (size_t k = 0; k < 8; k++) {
        k_of[k] = h_req_for(2, first + k);
        assert_true(k_of[k] >= 0);
        assert_int_equal(h_req_at(2, k_of[k])->to, 1);
    }
    /* b7's entry goes: its fetch is cancelled. */
    assert_int_equal(refraft_sweeper_on_discard(sw_of(2), first + 7, NULL), 0);
    assert_true(h_req_at(2, k_of[7])->cancelled);

    uint8_t good[8][64], bad[64];
    size_t len[8];
    for (size_t k = 0; k < 8; k++)
        len[k] = payload(ids[k], good[k], sizeof(good[k]));
    memcpy(bad, good[5], len[5]);
    bad[0] ^= 1;
    const h_answer a[] = {
        {k_of[0], 0, REFRAFT_FETCH_OK, good[0], len[0]},
        {k_of[1], 0, REFRAFT_FETCH_OK, good[1], len[1]},
        {k_of[2], 0, REFRAFT_FETCH_ABSENT, NULL, 0},
        {k_of[3], 0, REFRAFT_FETCH_UNKNOWN, NULL, 0},
        {k_of[4], 0, REFRAFT_FETCH_FAILED, NULL, 0},
        {k_of[5], 0, REFRAFT_FETCH_OK, bad, len[5]},
        {k_of[6], 0, REFRAFT_FETCH_OK, good[6], len[6]},
        {k_of[7], 0, REFRAFT_FETCH_OK, good[7], len[7]}, /* cancelled */
        {-1, 424242, REFRAFT_FETCH_OK, good[0], len[0]}, /* never ours */
        {k_of[2], 0, REFRAFT_FETCH_OK, good[2], len[2]}, /* answered */
    };
    assert_int_equal(fx_count(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT),
                     0);
    assert_int_equal(h_reply_batch(2, a, sizeof(a) / sizeof(a[0])), 0);

    /* The three records that verified, in one write, nothing else. */
    const h_store *st = &hn(2)->store;
    assert_int_equal(st->batch_calls, 1);
    assert_int_equal(st->put_calls, 0);
    assert_int_equal(st->last_batch_n, 3);
    assert_string_equal(st->last_batch_ids[0], "b0");
    assert_string_equal(st->last_batch_ids[1], "b1");
    assert_string_equal(st->last_batch_ids[2], "b6");
    assert_int_equal(st->n, 3);
    assert_true(has_record(2, "b0") && has_record(2, "b1"));
    assert_true(has_record(2, "b6"));
    refraft_sweeper_stats s = stats_of(2);
    assert_int_equal(s.fetched, 3);
    assert_int_equal(s.bytes_fetched, len[0] + len[1] + len[6]);
    assert_int_equal(s.digest_failures, 1);
    assert_int_equal(s.fetch_failures, 1);
    /* The node was told once: one step of the data index, one report. */
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), first + 1);
    assert_int_equal(fx_count(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT),
                     1);
    /* b2 to b5 go on with the next peer, in flight at once and flushed
     * once; b7 is no longer wanted. */
    assert_int_equal(s.missing, 4);
    assert_int_equal(s.in_flight, 4);
    assert_int_equal(n_requests(2), 12);
    assert_int_equal(hn(2)->flushes, 2);
    for (size_t k = 2; k <= 5; k++) {
        long next = h_req_for(2, first + k);
        assert_true(next > k_of[k]);
        assert_int_equal(h_req_at(2, next)->to, 3);
    }

    /* The rest comes in time (b7 with the next full scan). */
    h_run(300);
    for (size_t k = 0; k < 8; k++) {
        assert_true(has_record(2, ids[k]));
        assert_int_equal(applied_type(2, first + k), REFRAFT_ENTRY_REF);
    }
}

/*
 * An answer finds its fetch by its token, whatever the order: n2's eight
 * fetches are answered one call each, from the last started to the
 * first, and then each token once more (answered already: ignored).
 * Every record is stored once and nothing is left in flight.
 */
static void test_answers_in_any_order_find_their_fetch(void **state)
{
    (void)state;
    static const char *const ids[] = {"o0", "o1", "o2", "o3",
                                      "o4", "o5", "o6", "o7"};
    h_new(3);
    h_cluster();
    refraft_index first = h_propose_all(ids, 8);
    h_tick_sweeper(2);
    assert_int_equal(n_requests(2), 8);
    long k_of[8];
    uint8_t good[8][64];
    size_t len[8];
    for (size_t k = 0; k < 8; k++) {
        k_of[k] = h_req_for(2, first + k);
        assert_true(k_of[k] >= 0);
        len[k] = payload(ids[k], good[k], sizeof(good[k]));
    }
    for (size_t n = 8; n-- > 0;) {
        assert_int_equal(
            h_reply(2, k_of[n], REFRAFT_FETCH_OK, good[n], len[n], 0), 0);
        assert_int_equal(stats_of(2).in_flight, n);
        assert_true(has_record(2, ids[n]));
    }
    for (size_t n = 0; n < 8; n++) {
        refraft_fetch_result again = {.token = h_req_at(2, k_of[n])->token,
                                      .status = REFRAFT_FETCH_OK,
                                      .bytes = good[n],
                                      .len = len[n]};
        assert_int_equal(refraft_sweeper_on_fetch(sw_of(2), &again), 0);
    }
    refraft_sweeper_stats s = stats_of(2);
    assert_int_equal(s.fetched, 8);
    assert_int_equal(s.missing, 0);
    assert_int_equal(s.in_flight, 0);
    assert_int_equal(n_requests(2), 8);
    assert_int_equal(hn(2)->store.n, 8);
}

/*
 * put_batch: "results[i] is 0 or the error for record i alone
 * (REFRAFT_EDIGEST: a different record holds its id)".  As with put, a
 * discarded entry's record that holds the id is collected at once rather
 * than after its grace, and the record asked for again; the rest of the
 * batch is stored.
 */
static void test_record_refused_in_a_batch_hastens_its_orphan(void **state)
{
    (void)state;
    h_new(3);
    hn(2)->store.batch = true;
    h_cluster();
    static const char other[] = "another record, also called x";
    refraft_ref old = {
        .id = (const uint8_t *)"x", .id_len = 1, .size = sizeof other - 1};
    unsigned int dlen = 0;
    assert_int_equal(
        EVP_Digest(other, old.size, old.digest, &dlen, EVP_sha256(), NULL), 1);
    store_add(&hn(2)->store, old.id, old.id_len, other, old.size);
    refraft_entry e = {.term = 1, .type = REFRAFT_ENTRY_REF, .ref = old};
    assert_int_equal(refraft_sweeper_on_discard(sw_of(2), 1, &e), 0);

    static const char *const ids[] = {"x", "y"};
    refraft_index first = h_propose_all(ids, 2);
    h_tick_sweeper(2);
    uint8_t bx[64], by[64];
    size_t lx = payload("x", bx, sizeof(bx)), ly = payload("y", by, sizeof(by));
    const h_answer a[] = {
        {h_req_for(2, first), 0, REFRAFT_FETCH_OK, bx, lx},
        {h_req_for(2, first + 1), 0, REFRAFT_FETCH_OK, by, ly},
    };
    assert_int_equal(h_reply_batch(2, a, 2), 0);
    assert_int_equal(hn(2)->store.batch_calls, 1);
    assert_int_equal(hn(2)->store.last_batch_n, 2);
    assert_true(has_record(2, "y"));
    assert_int_equal(stats_of(2).fetched, 1);
    assert_int_equal(stats_of(2).missing, 1);
    assert_int_equal(stats_of(2).in_flight, 0); /* after a backoff */

    uint64_t start = H.fx->now;
    h_run(200);
    assert_true(H.fx->now - start < 1000); /* well within the grace */
    assert_int_equal(stats_of(2).orphans_collected, 1);
    refraft_ref ref = h_ref("x");
    long r = store_find(&hn(2)->store, ref.id, ref.id_len);
    assert_true(r >= 0);
    assert_true(store_matches(&hn(2)->store.recs[r], &ref));
    assert_int_equal(stats_of(2).fetched, 2);
    assert_int_equal(applied_type(2, first), REFRAFT_ENTRY_REF);
}

/*
 * put_batch: "the return is 0, or an error that stored none of them";
 * on_fetches: "Returns the first error; every answer is still taken (a
 * record that could not be stored is asked for again)".  Nothing counts
 * as fetched and the node is not told.
 */
static void test_failed_batch_write_retries_every_record(void **state)
{
    (void)state;
    static const char *const ids[] = {"f0", "f1", "f2"};
    h_new(3);
    hn(2)->store.batch = true;
    h_cluster();
    refraft_index first = h_propose_all(ids, 3);
    h_tick_sweeper(2);
    uint8_t buf[3][64];
    h_answer a[3];
    for (size_t k = 0; k < 3; k++)
        a[k] = (h_answer){h_req_for(2, first + k), 0, REFRAFT_FETCH_OK, buf[k],
                          payload(ids[k], buf[k], sizeof(buf[k]))};
    hn(2)->store.fail_batch = REFRAFT_ENOSPC;
    assert_int_equal(h_reply_batch(2, a, 3), REFRAFT_ENOSPC);
    assert_int_equal(hn(2)->store.batch_calls, 1);
    assert_int_equal(hn(2)->store.last_batch_n, 3);
    assert_int_equal(hn(2)->store.n, 0);
    refraft_sweeper_stats s = stats_of(2);
    assert_int_equal(s.fetched, 0);
    assert_int_equal(s.bytes_fetched, 0);
    assert_int_equal(s.missing, 3);
    assert_int_equal(s.in_flight, 0);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), first - 1);
    assert_int_equal(fx_count(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT),
                     0);

    hn(2)->store.fail_batch = 0;
    h_run(100);
    assert_int_equal(stats_of(2).fetched, 3);
    assert_true(hn(2)->store.batch_calls >= 2);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(applied_type(2, first + k), REFRAFT_ENTRY_REF);
}

/* sweeper.h: put_batch is optional; without it each record is put on its
 * own, and the node is still told once for the call. */
static void test_answers_in_one_call_without_put_batch(void **state)
{
    (void)state;
    static const char *const ids[] = {"p0", "p1", "p2"};
    h_new(3);
    h_cluster();
    refraft_index first = h_propose_all(ids, 3);
    h_tick_sweeper(2);
    uint8_t buf[3][64];
    h_answer a[3];
    for (size_t k = 0; k < 3; k++)
        a[k] = (h_answer){h_req_for(2, first + k), 0, REFRAFT_FETCH_OK, buf[k],
                          payload(ids[k], buf[k], sizeof(buf[k]))};
    assert_int_equal(h_reply_batch(2, a, 3), 0);
    assert_int_equal(hn(2)->store.put_calls, 3);
    assert_int_equal(hn(2)->store.batch_calls, 0);
    assert_int_equal(stats_of(2).fetched, 3);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), first + 2);
    assert_int_equal(fx_count(H.fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT),
                     1);
}

/*
 * sweeper.h, flush(): "the sweeper calls it at the end of every tick,
 * on_fetch and on_fetches that started fetches".  The harness's fetcher
 * fails the test on a flush with nothing started, and h_tick_sweeper and
 * h_reply on a fetch left unflushed; here the count is checked call by
 * call.
 */
static void test_flush_ends_each_call_that_started_fetches(void **state)
{
    (void)state;
    static const char *const ids[] = {"g0", "g1"};
    h_new(3);
    h_cluster();
    h_tick_sweeper(2); /* nothing missing */
    assert_int_equal(hn(2)->flushes, 0);
    refraft_index first = h_propose_all(ids, 2);
    h_tick_sweeper(2);
    assert_int_equal(n_requests(2), 2);
    assert_int_equal(hn(2)->flushes, 1);
    h_tick_sweeper(2); /* both in flight: nothing to start */
    assert_int_equal(hn(2)->flushes, 1);

    uint8_t buf[64];
    size_t len = payload("g0", buf, sizeof(buf));
    assert_int_equal(
        h_reply(2, h_req_for(2, first), REFRAFT_FETCH_OK, buf, len, 0), 0);
    assert_int_equal(hn(2)->flushes, 1); /* stored, nothing started */
    assert_int_equal(
        h_reply(2, h_req_for(2, first + 1), REFRAFT_FETCH_ABSENT, NULL, 0, 0),
        0);
    assert_int_equal(n_requests(2), 3); /* the next peer, at once */
    assert_int_equal(hn(2)->flushes, 2);

    refraft_fetch_result stray = {.token = 424242, .status = REFRAFT_FETCH_OK};
    assert_int_equal(refraft_sweeper_on_fetches(sw_of(2), &stray, 1), 0);
    assert_int_equal(refraft_sweeper_on_fetches(sw_of(2), NULL, 0), 0);
    assert_int_equal(hn(2)->flushes, 2);
    assert_int_equal(refraft_sweeper_on_fetches(NULL, &stray, 1),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_sweeper_on_fetches(sw_of(2), NULL, 1),
                     REFRAFT_EINVAL);
}

/* ---- reference snapshots ------------------------------------------------ */

/* Records r1..r<n> proposed through n1 and stored on every node, all
 * applied everywhere; the last index. */
static refraft_index h_applied_everywhere(size_t n)
{
    static const char *const ids[] = {"r1", "r2", "r3", "r4", "r5",
                                      "r6", "r7", "r8", "r9", "r10"};
    assert_true(n <= COUNT_OF(ids));
    for (size_t k = 0; k < n; k++) {
        for (int i = 2; i <= H.n; i++)
            h_push(i, ids[k]);
        h_propose(1, ids[k], true);
    }
    h_run(T);
    refraft_index last = fx_log_last(H.fx, 1);
    for (int i = 1; i <= H.n; i++)
        assert_int_equal(refraft_applied_index(fx_raft(H.fx, i)), last);
    return last;
}

/* Node i installs a snapshot up to its last index, as its host would
 * after hull.snapshot_install: its log ends at the snapshot, and its
 * record store holds none of the snapshot's records yet. */
static refraft_index h_install(int i)
{
    refraft_index s = fx_log_last(H.fx, i);
    hn(i)->base = s;
    store_wipe(&hn(i)->store);
    assert_int_equal(refraft_sweeper_snapshot_installed(sw_of(i), s), 0);
    return s;
}

/*
 * sweeper.h: after refraft_sweeper_snapshot_installed the sweeper
 * "enters lost mode up to last_index ...: it answers UNKNOWN for records
 * it lacks and fetches them through snapshot_read", asking for each as
 * for a committed entry's record (the leader first, by the reference's
 * entry index); lost mode ends once they are all back.
 */
static void test_installed_snapshot_records_are_fetched(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index last = h_applied_everywhere(5);
    assert_int_equal(refraft_sweeper_snapshot_installed(sw_of(2), 0),
                     REFRAFT_EINVAL);
    assert_int_equal(refraft_sweeper_snapshot_installed(NULL, 3),
                     REFRAFT_EINVAL);
    assert_int_equal(stats_of(2).lost_upto, 0);
    refraft_index s = h_install(2);
    assert_int_equal(stats_of(2).lost_upto, s);
    /* Raised, never lowered. */
    assert_int_equal(refraft_sweeper_snapshot_installed(sw_of(2), s - 2), 0);
    assert_int_equal(stats_of(2).lost_upto, s);
    assert_int_equal(refraft_sweeper_next_deadline(sw_of(2)), H.fx->now);
    refraft_term term = refraft_current_term(fx_raft(H.fx, 2));
    refraft_ref r1 = h_ref("r1");
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &r1, term),
                     REFRAFT_FETCH_UNKNOWN);

    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).missing, 5);
    assert_int_equal(n_requests(2), 5);
    for (size_t k = 0; k < 5; k++) {
        const h_req *q = h_req_at(2, (long)k);
        assert_int_equal(q->to, 1); /* the leader first */
        assert_int_equal(q->index, last - 4 + k);
        char id[8];
        snprintf(id, sizeof id, "r%zu", k + 1);
        assert_int_equal(q->id_len, strlen(id));
        assert_memory_equal(q->id, id, q->id_len);
    }
    h_run(2 * T);
    assert_int_equal(stats_of(2).fetched, 5);
    assert_int_equal(stats_of(2).missing, 0);
    for (size_t k = 1; k <= 5; k++) {
        char id[8];
        snprintf(id, sizeof id, "r%zu", k);
        assert_true(has_record(2, id));
    }
    assert_int_equal(stats_of(2).lost_upto, 0);
    assert_int_equal(hn(2)->store.clear_calls, 1);
    term = refraft_current_term(fx_raft(H.fx, 2));
    refraft_ref other = h_ref("never-proposed");
    assert_int_equal(refraft_sweeper_answer(sw_of(2), &other, term),
                     REFRAFT_FETCH_ABSENT);
}

/* sweeper.h: the state is read "from a cursor kept across ticks (at most
 * max_missing references per tick)", and missing records "wait in the
 * same bounded table as log entries' (max_missing)". */
static void test_snapshot_scan_resumes_within_max_missing(void **state)
{
    (void)state;
    h_new(3);
    hn(2)->knobs.max_in_flight = 2;
    hn(2)->knobs.max_missing = 4;
    hn(2)->knobs.scan_batch = 3;
    h_cluster();
    h_applied_everywhere(10);
    h_install(2);
    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).missing, 4);
    assert_int_equal(hn(2)->outstanding, 2);
    size_t reads = hn(2)->state_reads;
    assert_true(reads >= 2 && reads <= 3);

    /* Each answer frees room; the scan resumes once half the table is
     * free, and never holds more than max_missing. */
    for (int round = 0; stats_of(2).lost_upto != 0; round++) {
        assert_true(round < 100);
        assert_true(stats_of(2).missing <= 4);
        h_pump();
        H.fx->now++;
    }
    assert_int_equal(stats_of(2).fetched, 10);
    assert_true(hn(2)->max_outstanding <= 2);
    assert_true(hn(2)->state_reads > reads);
}

/*
 * The records a snapshot names are committed entries': "never voided",
 * and "reported as unrecoverable with its index" when no node has one;
 * lost mode lasts until it turns up.
 */
static void test_snapshot_record_missing_everywhere_is_unrecoverable(void **s)
{
    (void)s;
    h_new(3);
    h_cluster();
    refraft_index last = h_applied_everywhere(3);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(store_remove(&hn(i)->store, (const uint8_t *)"r2", 2),
                         0);
    h_install(2);
    h_run(500);
    assert_int_equal(stats_of(2).fetched, 2);
    assert_int_equal(stats_of(2).missing, 1);
    assert_int_equal(stats_of(2).unrecoverable, 1);
    assert_int_equal(hn(2)->n_unrecoverable, 1);
    assert_int_equal(hn(2)->unrecoverable[0], last - 1);
    assert_int_equal(stats_of(2).voided, 0);
    assert_int_equal(stats_of(1).voided, 0);
    assert_int_equal(stats_of(2).lost_upto, last);
    assert_int_equal(hn(2)->store.clear_calls, 0);

    h_push(3, "r2");
    h_run(200);
    assert_true(has_record(2, "r2"));
    assert_int_equal(stats_of(2).unrecoverable, 0);
    assert_int_equal(stats_of(2).lost_upto, 0);
    assert_int_equal(hn(2)->store.clear_calls, 1);
}

/* sweeper.h lost_upto: with a record store lost under a compacted log,
 * the records below the log come back through the state, those past
 * its first index through the log's scan, and lost mode ends once both
 * are back. */
static void test_lost_store_under_a_compacted_log(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    refraft_index last = h_applied_everywhere(6);
    h_crash(2);
    store_wipe(&hn(2)->store);
    hn(2)->knobs.lost_upto = last;
    hn(2)->base = last - 3; /* r1..r3 compacted away */
    h_restart(2);
    h_tick_sweeper(2);
    assert_int_equal(stats_of(2).missing, 6);
    h_run(2 * T);
    assert_int_equal(stats_of(2).fetched, 6);
    assert_int_equal(refraft_data_index(fx_raft(H.fx, 2)), last);
    assert_int_equal(stats_of(2).lost_upto, 0);
    assert_int_equal(hn(2)->store.clear_calls, 1);
}

/* sweeper.h snapshot_read: "without it ... lost mode cannot end while
 * lost_upto reaches below the log ..., and orphans are never
 * deleted". */
static void test_without_snapshot_read_below_the_log_nothing_ends(void **s)
{
    (void)s;
    h_new(3);
    hn(2)->knobs.snapshot_read = NULL;
    h_cluster();
    refraft_index last = h_applied_everywhere(3);
    h_push(2, "z"); /* stored, named by nothing */
    refraft_entry e = {.term = 1, .type = REFRAFT_ENTRY_REF, .ref = h_ref("z")};
    assert_int_equal(refraft_sweeper_on_discard(sw_of(2), 1, &e), 0);
    h_install(2);
    h_push(2, "z");
    h_run(1000 + 2 * T);
    assert_int_equal(n_requests(2), 0);
    assert_int_equal(stats_of(2).lost_upto, last);
    assert_int_equal(hn(2)->store.clear_calls, 0);
    assert_true(has_record(2, "z"));
    assert_int_equal(stats_of(2).orphans_collected, 0);
}

/* Orphan collection counts "the names in the state at the log's base as
 * well as the log's entries": a discarded record that a reference below
 * the log still names is kept; one nothing names goes. */
static void test_orphan_named_below_the_log_is_kept(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_applied_everywhere(3);
    h_push(2, "z");
    refraft_entry z = {.term = 1, .type = REFRAFT_ENTRY_REF, .ref = h_ref("z")};
    refraft_entry r2 = {
        .term = 1, .type = REFRAFT_ENTRY_REF, .ref = h_ref("r2")};
    assert_int_equal(refraft_sweeper_on_discard(sw_of(2), 1, &z), 0);
    assert_int_equal(refraft_sweeper_on_discard(sw_of(2), 1, &r2), 0);
    hn(2)->base = fx_log_last(H.fx, 2); /* compacted: r2 is in the state */
    size_t reads = hn(2)->state_reads;
    h_run(1000 + 2 * T);
    assert_true(hn(2)->state_reads > reads);
    assert_false(has_record(2, "z"));
    assert_true(has_record(2, "r2"));
    assert_int_equal(stats_of(2).orphans_collected, 1);
}

/* sweeper.h snapshot_read: "References out of order or range ... are
 * refused (REFRAFT_ECORRUPT from the tick); a failed read is retried
 * after interval_ms". */
static void test_bad_state_reads_are_refused_and_retried(void **state)
{
    (void)state;
    h_new(3);
    h_cluster();
    h_applied_everywhere(4);
    hn(2)->state_fail = REFRAFT_EIO;
    h_install(2);
    assert_int_equal(refraft_sweeper_tick(sw_of(2)), REFRAFT_EIO);
    assert_int_equal(refraft_sweeper_next_deadline(sw_of(2)),
                     H.fx->now + 100); /* interval_ms, no spinning */
    hn(2)->state_fail = 0;
    hn(2)->state_disorder = true;
    H.fx->now += 100;
    assert_int_equal(refraft_sweeper_tick(sw_of(2)), REFRAFT_ECORRUPT);
    assert_int_equal(n_requests(2), 0);
    hn(2)->state_disorder = false;
    h_run(2 * T);
    assert_int_equal(stats_of(2).fetched, 4);
    assert_int_equal(stats_of(2).lost_upto, 0);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_record_before_entry_needs_no_fetch),
        TEST(test_entry_before_record_is_fetched_from_leader),
        TEST(test_crash_between_entry_and_record),
        TEST(test_orphan_collected_after_grace),
        TEST(test_orphan_kept_while_an_entry_names_it),
        TEST(test_orphan_holding_a_wanted_id_is_collected_early),
        TEST(test_orphan_waits_for_the_commit_index),
        TEST(test_discard_cancels_the_fetch),
        TEST(test_digest_mismatch_rejected_and_next_peer_asked),
        TEST(test_record_lost_before_commit_is_voided),
        TEST(test_void_needs_no_answer_beyond_a_majority),
        TEST(test_lost_node_answers_unknown_and_blocks_void),
        TEST(test_lost_leader_does_not_vouch_for_itself),
        TEST(test_absent_from_another_term_does_not_count),
        TEST(test_committed_record_missing_everywhere_is_unrecoverable),
        TEST(test_leader_change_mid_resend),
        TEST(test_wiped_record_store_is_refetched),
        TEST(test_backoff_grows_with_jitter_within_bounds),
        TEST(test_concurrency_is_bounded),
        TEST(test_store_errors_are_returned_and_retried),
        TEST(test_allocation_failures_are_clean),
        TEST(test_bad_config_is_refused_with_a_reason),
        TEST(test_fetch_delay_holds_the_first_fetch),
        TEST(test_lost_records_are_fetched_without_the_delay),
        TEST(test_record_arriving_within_the_fetch_delay_is_not_fetched),
        TEST(test_record_arriving_before_its_commit_is_not_fetched),
        TEST(test_answers_in_one_call_are_stored_in_one_write),
        TEST(test_answers_in_any_order_find_their_fetch),
        TEST(test_record_refused_in_a_batch_hastens_its_orphan),
        TEST(test_failed_batch_write_retries_every_record),
        TEST(test_answers_in_one_call_without_put_batch),
        TEST(test_flush_ends_each_call_that_started_fetches),
        TEST(test_installed_snapshot_records_are_fetched),
        TEST(test_snapshot_scan_resumes_within_max_missing),
        TEST(test_snapshot_record_missing_everywhere_is_unrecoverable),
        TEST(test_lost_store_under_a_compacted_log),
        TEST(test_without_snapshot_read_below_the_log_nothing_ends),
        TEST(test_orphan_named_below_the_log_is_kept),
        TEST(test_bad_state_reads_are_refused_and_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
