/* fixture.c - a deterministic, step-by-step cluster of refraft nodes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "msgcopy.h"

/* A storm of messages this long means nodes are ping-ponging forever. */
#define FX_MAX_DELIVERIES 100000
/* Election rounds fx_elect() tries before giving up: a first round can
 * fail for a good reason (a pre-vote rejected with a newer term). */
#define FX_ELECT_ROUNDS 5

/* Fixtures not yet freed: fx_cleanup() frees them after a failed test. */
static fixture *live_fixtures;

/* The fixture's own memory comes from malloc, never from the refraft
 * allocator, so a test that fails the library's allocations does not
 * fail the fixture's. */
static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (q == NULL)
        fail_msg("fixture: out of memory");
    return q;
}

/* Make room for element n of an array of n: the capacity doubles each
 * time the count reaches a power of two, so it need not be stored. */
static void *grow(void *p, size_t n, size_t elem)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return p;
    return xrealloc(p, (n > 0 ? n * 2 : 1) * elem);
}

static void copy_id(char *dst, const char *id)
{
    snprintf(dst, REFRAFT_ID_MAX + 1, "%s", id != NULL ? id : "");
}

fx_node *fx_node_at(fixture *fx, int i)
{
    if (i < 1 || i > fx->n)
        fail_msg("fixture: no node %d", i);
    return &fx->nodes[i - 1];
}

refraft_node *fx_raft(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    if (fn->node == NULL)
        fail_msg("fixture: node n%d is down", i);
    return fn->node;
}

static int node_number(const fixture *fx, const char *id)
{
    for (int i = 0; i < fx->n; i++) {
        if (strcmp(fx->nodes[i].id, id) == 0)
            return i + 1;
    }
    return 0;
}

/* ---- deep copies of messages ------------------------------------------ */

/* Deep copy of msg into dst->msg, its entries and strings packed into
 * storage (msgcopy_size(msg) bytes); fails the test if msg carries an
 * invalid node id. */
static void msg_copy(fx_msg *dst, const refraft_msg *msg, void *storage)
{
    const char *id = msgcopy_sender(msg);
    if (id == NULL || *id == '\0' || strlen(id) > REFRAFT_ID_MAX)
        fail_msg("fixture: message of type %d carries a bad node id",
                 msg->type);
    dst->msg = *msgcopy_pack(msg, storage);
}

static void msg_free(fx_msg *m)
{
    free(m->copy);
    m->copy = NULL;
}

void fx_capture_reply(void *reply_ctx, const refraft_msg *result)
{
    fx_capture *cap = reply_ctx;
    if (result->type != REFRAFT_MSG_APPEND_ENTRIES_RESULT &&
        result->type != REFRAFT_MSG_REQUEST_VOTE_RESULT &&
        result->type != REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT)
        fail_msg("fixture: reply callback got a non-result (type %d)",
                 result->type);
    if (msgcopy_size(result) > sizeof(cap->storage))
        fail_msg("fixture: a result too large to capture");
    cap->calls++;
    cap->last.copy = NULL;
    msg_copy(&cap->last, result, cap->storage);
}

/* ---- the hull --------------------------------------------------------- */

static int hull_send(void *ctx, const char *to_id, const refraft_msg *msg)
{
    fx_node *fn = ctx;
    fixture *fx = fn->fx;
    fn->n_sent++;
    if (to_id == NULL || strlen(to_id) > REFRAFT_ID_MAX)
        fail_msg("fixture: n%d sent to a bad node id", fn->num);
    int to = node_number(fx, to_id);
    if (fn->isolated || (to != 0 && fx->nodes[to - 1].isolated))
        return 0;
    fx_msg *m = xrealloc(NULL, sizeof(*m));
    m->copy = xrealloc(NULL, msgcopy_size(msg));
    msg_copy(m, msg, m->copy);
    m->from = fn->num;
    m->to = to;
    copy_id(m->to_id, to_id);
    fx->queue = grow(fx->queue, fx->n_queued, sizeof(*fx->queue));
    fx->queue[fx->n_queued++] = m;
    return 0;
}

static uint64_t hull_now_ms(void *ctx)
{
    fx_node *fn = ctx;
    return fn->fx->now;
}

static uint64_t hull_random(void *ctx)
{
    fx_node *fn = ctx;
    return fn->random;
}

static void
record_entry(fx_record *r, refraft_index index, const refraft_entry *e)
{
    memset(r, 0, sizeof(*r));
    r->index = index;
    r->term = e->term;
    r->type = e->type;
    r->voided = e->type == REFRAFT_ENTRY_VOID ? e->voided : 0;
    r->n_members = e->type == REFRAFT_ENTRY_CONFIG ? e->n_members : 0;
    if ((e->type == REFRAFT_ENTRY_REF || e->type == REFRAFT_ENTRY_ABANDONED) &&
        e->ref.id != NULL && e->ref.id_len <= REFRAFT_RECORD_ID_MAX)
        memcpy(r->record, e->ref.id, e->ref.id_len);
}

/* Append (index, ref) to a reference state. */
static void state_add(fx_state_ref **state, size_t *n, refraft_index index,
                      const refraft_ref *ref)
{
    if (ref->id_len > REFRAFT_RECORD_ID_MAX)
        fail_msg("fixture: a ref id of %u bytes", (unsigned)ref->id_len);
    *state = grow(*state, *n, sizeof(**state));
    fx_state_ref *r = &(*state)[(*n)++];
    memset(r, 0, sizeof(*r));
    r->index = index;
    memcpy(r->record, ref->id, ref->id_len);
    r->ref = *ref;
    r->ref.id = (const uint8_t *)r->record;
}

/* State pointers into records move when the array grows: point them
 * back before handing them out. */
static void state_fix_ids(fx_state_ref *state, size_t n)
{
    for (size_t k = 0; k < n; k++)
        state[k].ref.id = (const uint8_t *)state[k].record;
}

static int
hull_apply(void *ctx, refraft_index index, const refraft_entry *entry)
{
    fx_node *fn = ctx;
    fn->applied = grow(fn->applied, fn->n_applied, sizeof(*fn->applied));
    record_entry(&fn->applied[fn->n_applied++], index, entry);
    if (entry->type == REFRAFT_ENTRY_REF)
        state_add(&fn->state, &fn->n_state, index, &entry->ref);
    fn->app_applied = index;
    return 0;
}

/* The reference state at last is the prefix of the state up to it. */
static int hull_snapshot_read(void *ctx, refraft_index last,
                              refraft_index after, refraft_snapshot_ref *out,
                              size_t max, size_t *n)
{
    fx_node *fn = ctx;
    if (last > fn->app_applied)
        fail_msg("fixture: n%d asked for its state at %llu, past what it "
                 "applied (%llu)",
                 fn->num, (unsigned long long)last,
                 (unsigned long long)fn->app_applied);
    state_fix_ids(fn->state, fn->n_state);
    *n = 0;
    for (size_t k = 0; k < fn->n_state && *n < max; k++) {
        const fx_state_ref *r = &fn->state[k];
        if (r->index > after && r->index <= last) {
            out[*n].index = r->index;
            out[*n].ref = r->ref;
            (*n)++;
        }
    }
    return 0;
}

static int hull_snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                               refraft_index after,
                               const refraft_snapshot_ref *refs, size_t n)
{
    fx_node *fn = ctx;
    (void)meta;
    if (fn->snapshot_write_fails)
        return 1;
    fn->n_snapshot_writes++;
    if (after == 0)
        fn->n_staged = 0;
    for (size_t k = 0; k < n; k++)
        state_add(&fn->staged, &fn->n_staged, refs[k].index, &refs[k].ref);
    return 0;
}

static int hull_snapshot_install(void *ctx, const refraft_snapshot_meta *meta)
{
    fx_node *fn = ctx;
    fn->n_state = 0;
    state_fix_ids(fn->staged, fn->n_staged);
    for (size_t k = 0; k < fn->n_staged; k++)
        state_add(&fn->state, &fn->n_state, fn->staged[k].index,
                  &fn->staged[k].ref);
    fn->n_staged = 0;
    fn->app_applied = meta->last_index;
    fn->n_installs++;
    fn->installed = *meta;
    fn->installed.members = NULL;
    return 0;
}

static void hull_on_truncate(void *ctx, refraft_index from)
{
    fx_node *fn = ctx;
    fn->truncated =
        grow(fn->truncated, fn->n_truncated, sizeof(*fn->truncated));
    fn->truncated[fn->n_truncated++] = from;
}

static void hull_on_event(void *ctx, const refraft_event *event)
{
    fx_node *fn = ctx;
    fn->events = grow(fn->events, fn->n_events, sizeof(*fn->events));
    fx_event *ev = &fn->events[fn->n_events++];
    ev->type = event->type;
    ev->role = event->role;
    ev->term = event->term;
    copy_id(ev->leader, event->leader_id);
    ev->commit_index = event->commit_index;
    ev->data_index = event->data_index;
}

/* ---- records ---------------------------------------------------------- */

static bool ref_is(const refraft_ref *ref, const char *record)
{
    return ref->id_len == strlen(record) &&
           memcmp(ref->id, record, ref->id_len) == 0;
}

static size_t record_slot(const fx_node *fn, const char *record)
{
    for (size_t i = 0; i < fn->n_records; i++)
        if (strcmp(fn->records[i], record) == 0)
            return i;
    return SIZE_MAX;
}

static int
hull_have_records(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    fx_node *fn = ctx;
    fn->n_have_calls++;
    if (fn->have_fails)
        return REFRAFT_EIO;
    for (size_t i = 0; i < n; i++) {
        present[i] = false;
        for (size_t j = 0; j < fn->n_records && !present[i]; j++)
            present[i] = ref_is(&refs[i], fn->records[j]);
    }
    return 0;
}

static void
hull_on_discard(void *ctx, refraft_index index, const refraft_entry *entry)
{
    fx_node *fn = ctx;
    fn->discarded =
        grow(fn->discarded, fn->n_discarded, sizeof(*fn->discarded));
    record_entry(&fn->discarded[fn->n_discarded++], index, entry);
}

void fx_records_on(fixture *fx)
{
    for (int i = 1; i <= fx->n; i++)
        fx_node_at(fx, i)->track_records = true;
}

void fx_record_put(fixture *fx, int i, const char *record)
{
    fx_node *fn = fx_node_at(fx, i);
    if (strlen(record) >= sizeof fn->records[0])
        fail_msg("fixture: record id \"%s\" too long", record);
    if (record_slot(fn, record) != SIZE_MAX)
        return;
    fn->records = grow(fn->records, fn->n_records, sizeof(*fn->records));
    snprintf(fn->records[fn->n_records++], sizeof fn->records[0], "%s", record);
}

void fx_record_drop(fixture *fx, int i, const char *record)
{
    fx_node *fn = fx_node_at(fx, i);
    size_t k = record_slot(fn, record);
    if (k == SIZE_MAX)
        return;
    memmove(fn->records[k], fn->records[k + 1],
            (fn->n_records - k - 1) * sizeof fn->records[0]);
    fn->n_records--;
}

bool fx_record_has(fixture *fx, int i, const char *record)
{
    return record_slot(fx_node_at(fx, i), record) != SIZE_MAX;
}

int fx_records_stored(fixture *fx, int i, const char *record)
{
    fx_record_put(fx, i, record);
    return refraft_records_stored(fx_raft(fx, i));
}

void fx_hull(fixture *fx, int i, refraft_hull *hull)
{
    fx_node *fn = fx_node_at(fx, i);
    *hull = (refraft_hull){.version = REFRAFT_HULL_VERSION,
                           .ctx = fn,
                           .send = hull_send,
                           .now_ms = hull_now_ms,
                           .random = hull_random,
                           .apply = hull_apply,
                           .on_truncate = hull_on_truncate,
                           .on_event = hull_on_event,
                           .on_discard = hull_on_discard,
                           .snapshot_read = hull_snapshot_read,
                           .snapshot_write = hull_snapshot_write,
                           .snapshot_install = hull_snapshot_install};
    if (fn->track_records)
        hull->have_records = hull_have_records;
}

/* ---- setup ------------------------------------------------------------ */

fixture *fx_new(int n)
{
    if (n < 1 || n > FX_MAX_NODES)
        fail_msg("fixture: %d nodes is not supported", n);
    fixture *fx = xrealloc(NULL, sizeof(*fx));
    memset(fx, 0, sizeof(*fx));
    fx->n = n;
    fx->now = 1000;
    fx->next_live = live_fixtures;
    live_fixtures = fx;
    for (int i = 0; i < n; i++) {
        fx_node *fn = &fx->nodes[i];
        fn->fx = fx;
        fn->num = i + 1;
        snprintf(fn->id, sizeof(fn->id), "n%d", i + 1);
        fn->random = (uint64_t)i * 10;
        assert_int_equal(refraft_memlog_create(&fn->memlog), 0);
        refraft_memlog_api(fn->memlog, &fn->log);
    }
    for (int i = 0; i < n; i++) {
        fx_node *fn = &fx->nodes[i];
        size_t k = 0;
        for (int j = 0; j < n; j++) {
            if (j != i)
                fn->peer_ids[k++] = fx->nodes[j].id;
        }
        fn->config.id = fn->id;
        fn->config.peers = fn->peer_ids;
        fn->config.n_peers = k;
        fn->config.election_timeout_ms = FX_ELECTION_TIMEOUT;
    }
    return fx;
}

fixture *fx_new_joining(int n_members, int n_joining)
{
    if (n_members < 1 || n_joining < 0)
        fail_msg("fixture: %d members and %d joining is not supported",
                 n_members, n_joining);
    fixture *fx = fx_new(n_members + n_joining);
    for (int i = 0; i < fx->n; i++) {
        fx_node *fn = &fx->nodes[i];
        size_t k = 0;
        for (int j = 0; j < n_members && i < n_members; j++) {
            if (j != i)
                fn->peer_ids[k++] = fx->nodes[j].id;
        }
        fn->config.n_peers = k;
        fn->config.join = i >= n_members;
    }
    return fx;
}

static void free_queue(fixture *fx)
{
    for (size_t k = 0; k < fx->n_queued; k++) {
        msg_free(fx->queue[k]);
        free(fx->queue[k]);
    }
    free(fx->queue);
}

static void fx_free(fixture *fx)
{
    for (int i = 0; i < fx->n; i++) {
        fx_node *fn = &fx->nodes[i];
        refraft_node_destroy(fn->node);
        refraft_memlog_destroy(fn->memlog);
        free(fn->applied);
        free(fn->truncated);
        free(fn->events);
        free(fn->records);
        free(fn->discarded);
        free(fn->state);
        free(fn->staged);
    }
    free_queue(fx);
    free(fx);
}

int fx_cleanup(void **state)
{
    (void)state;
    while (live_fixtures != NULL) {
        fixture *fx = live_fixtures;
        live_fixtures = fx->next_live;
        fx_free(fx);
    }
    return 0;
}

static void start_node(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    refraft_hull hull;
    char err[REFRAFT_ERRMSG_LEN] = "";
    if (fn->node != NULL)
        fail_msg("fixture: n%d is already running", i);
    fx_hull(fx, i, &hull);
    int rv = refraft_node_create(&fn->config, &hull, &fn->log, &fn->node, err,
                                 sizeof(err));
    if (rv != 0)
        fail_msg("fixture: creating n%d failed: %s (%s)", i,
                 refraft_strerror(rv), err);
}

void fx_start(fixture *fx)
{
    for (int i = 1; i <= fx->n; i++)
        start_node(fx, i);
}

void fx_crash(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    refraft_node_destroy(fn->node);
    fn->node = NULL;
}

void fx_restart(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    fn->config.applied_index = fn->app_applied;
    start_node(fx, i);
}

/* ---- time ------------------------------------------------------------- */

void fx_advance(fixture *fx, uint64_t ms)
{
    fx->now += ms;
}

int fx_tick(fixture *fx, int i)
{
    return refraft_tick(fx_raft(fx, i));
}

void fx_timeout(fixture *fx, int i)
{
    uint64_t deadline = refraft_next_deadline(fx_raft(fx, i));
    if (deadline > fx->now)
        fx->now = deadline;
    int rv = fx_tick(fx, i);
    if (rv != 0)
        fail_msg("fixture: tick of n%d failed: %s", i, refraft_strerror(rv));
}

void fx_tick_due(fixture *fx)
{
    for (int i = 1; i <= fx->n; i++) {
        refraft_node *node = fx->nodes[i - 1].node;
        if (node != NULL && refraft_next_deadline(node) <= fx->now &&
            refraft_tick(node) != 0)
            fail_msg("fixture: tick of n%d failed", i);
    }
}

void fx_run(fixture *fx, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t++) {
        fx->now++;
        fx_tick_due(fx);
        fx_deliver_all(fx);
    }
}

/* ---- messages --------------------------------------------------------- */

size_t fx_pending(const fixture *fx)
{
    return fx->n_queued;
}

fx_msg *fx_peek(fixture *fx, size_t k)
{
    if (k >= fx->n_queued)
        fail_msg("fixture: no queued message %zu", k);
    return fx->queue[k];
}

static bool matches(const fx_msg *m, int from, int to, int type)
{
    return (from == FX_ANY || m->from == from) &&
           (to == FX_ANY || m->to == to) &&
           (type == FX_ANY || m->msg.type == type);
}

static size_t find_index(const fixture *fx, int from, int to, int type)
{
    for (size_t k = 0; k < fx->n_queued; k++) {
        if (matches(fx->queue[k], from, to, type))
            return k;
    }
    return fx->n_queued;
}

fx_msg *fx_find(fixture *fx, int from, int to, int type)
{
    size_t k = find_index(fx, from, to, type);
    return k < fx->n_queued ? fx->queue[k] : NULL;
}

size_t fx_count(const fixture *fx, int from, int to, int type)
{
    size_t count = 0;
    for (size_t k = 0; k < fx->n_queued; k++)
        count += matches(fx->queue[k], from, to, type);
    return count;
}

static fx_msg *take(fixture *fx, size_t k)
{
    fx_msg *m = fx_peek(fx, k);
    memmove(&fx->queue[k], &fx->queue[k + 1],
            (fx->n_queued - k - 1) * sizeof(*fx->queue));
    fx->n_queued--;
    return m;
}

int fx_deliver(fixture *fx, size_t k)
{
    fx_msg *m = take(fx, k);
    int rv = FX_DROPPED;
    if (m->to != 0) {
        fx_node *dst = &fx->nodes[m->to - 1];
        bool lost = dst->node == NULL || dst->isolated ||
                    fx->nodes[m->from - 1].isolated;
        if (!lost)
            rv = refraft_on_message(dst->node, &m->msg, NULL, NULL);
    }
    msg_free(m);
    free(m);
    return rv;
}

int fx_deliver_first(fixture *fx, int from, int to, int type)
{
    size_t k = find_index(fx, from, to, type);
    if (k == fx->n_queued)
        fail_msg("fixture: no queued message from %d to %d of type %d", from,
                 to, type);
    return fx_deliver(fx, k);
}

static void drop_at(fixture *fx, size_t k)
{
    fx_msg *m = take(fx, k);
    msg_free(m);
    free(m);
}

void fx_deliver_filtered(fixture *fx, fx_filter keep, void *arg)
{
    for (size_t count = 0; fx->n_queued > 0; count++) {
        if (count == FX_MAX_DELIVERIES)
            fail_msg("fixture: messages never stop flowing");
        if (keep != NULL && !keep(fx, fx->queue[0], arg)) {
            drop_at(fx, 0);
            continue;
        }
        int rv = fx_deliver(fx, 0);
        if (rv != 0 && rv != REFRAFT_ESTALE && rv != FX_DROPPED)
            fail_msg("fixture: a node rejected a peer's message: %s",
                     refraft_strerror(rv));
    }
}

void fx_deliver_all(fixture *fx)
{
    fx_deliver_filtered(fx, NULL, NULL);
}

size_t fx_drop_matching(fixture *fx, int from, int to, int type)
{
    size_t dropped = 0;
    for (size_t k = 0; k < fx->n_queued;) {
        if (matches(fx->queue[k], from, to, type)) {
            drop_at(fx, k);
            dropped++;
        } else {
            k++;
        }
    }
    return dropped;
}

void fx_isolate(fixture *fx, int i, bool isolated)
{
    fx_node_at(fx, i)->isolated = isolated;
}

void fx_elect(fixture *fx, int i)
{
    for (int round = 0; round < FX_ELECT_ROUNDS; round++) {
        if (refraft_role(fx_raft(fx, i)) == REFRAFT_LEADER)
            return;
        fx_timeout(fx, i);
        fx_deliver_all(fx);
    }
    if (refraft_role(fx_raft(fx, i)) != REFRAFT_LEADER)
        fail_msg("fixture: n%d did not become leader (role %s, term %llu)", i,
                 refraft_role_name(refraft_role(fx_raft(fx, i))),
                 (unsigned long long)refraft_current_term(fx_raft(fx, i)));
}

/* ---- proposals and hand-made messages --------------------------------- */

refraft_ref fx_ref(const char *record)
{
    refraft_ref ref;
    memset(&ref, 0, sizeof(ref));
    ref.id = (const uint8_t *)record;
    ref.id_len = (uint16_t)strlen(record);
    ref.size = 100 * strlen(record);
    memset(ref.digest, record[0], sizeof(ref.digest));
    return ref;
}

refraft_entry fx_entry(refraft_term term, const char *record)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = REFRAFT_ENTRY_NOOP;
    if (record != NULL) {
        e.type = REFRAFT_ENTRY_REF;
        e.ref = fx_ref(record);
    }
    return e;
}

int fx_propose(fixture *fx, int i, const char *record, refraft_index *index)
{
    refraft_ref ref = fx_ref(record);
    return refraft_propose(fx_raft(fx, i), &ref, 1, index);
}

refraft_msg fx_append_entries(refraft_term term, const char *leader_id,
                              refraft_index prev_index, refraft_term prev_term,
                              refraft_index leader_commit,
                              const refraft_entry *entries, size_t n)
{
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_APPEND_ENTRIES;
    m.u.append_entries =
        (refraft_append_entries){.term = term,
                                 .leader_id = leader_id,
                                 .prev_log_index = prev_index,
                                 .prev_log_term = prev_term,
                                 .leader_commit = leader_commit,
                                 .entries = entries,
                                 .n_entries = n};
    return m;
}

refraft_msg fx_append_result(refraft_term term, const char *follower_id,
                             bool success, refraft_index match_index)
{
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_APPEND_ENTRIES_RESULT;
    m.u.append_entries_result.term = term;
    m.u.append_entries_result.follower_id = follower_id;
    m.u.append_entries_result.success = success;
    m.u.append_entries_result.match_index = match_index;
    m.u.append_entries_result.last_log_index = match_index;
    return m;
}

refraft_msg fx_request_vote(refraft_term term, const char *candidate_id,
                            refraft_index last_index, refraft_term last_term,
                            bool pre_vote)
{
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_REQUEST_VOTE;
    m.u.request_vote = (refraft_request_vote){.term = term,
                                              .candidate_id = candidate_id,
                                              .last_log_index = last_index,
                                              .last_log_term = last_term,
                                              .pre_vote = pre_vote};
    return m;
}

refraft_msg fx_vote_result(refraft_term term, const char *voter_id,
                           bool granted, bool pre_vote)
{
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_REQUEST_VOTE_RESULT;
    m.u.request_vote_result =
        (refraft_request_vote_result){term, voter_id, granted, pre_vote};
    return m;
}

int fx_inject(fixture *fx, int i, const refraft_msg *msg)
{
    return refraft_on_message(fx_raft(fx, i), msg, NULL, NULL);
}

/* ---- storage ---------------------------------------------------------- */

static fx_node *down_node(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    if (fn->node != NULL)
        fail_msg("fixture: n%d must be down to edit its log", i);
    return fn;
}

void fx_log_append(fixture *fx, int i, refraft_term term, const char *record)
{
    fx_node *fn = down_node(fx, i);
    refraft_entry e = fx_entry(term, record);
    assert_int_equal(fn->log.append(fn->log.ctx, &e, 1), 0);
}

void fx_log_terms(fixture *fx, int i, const refraft_term *terms, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fx_log_append(fx, i, terms[k], NULL);
}

void fx_set_hard_state(fixture *fx, int i, refraft_term term,
                       const char *voted_for)
{
    fx_node *fn = down_node(fx, i);
    assert_int_equal(fn->log.save_hard_state(fn->log.ctx, term, voted_for), 0);
}

fixture *
fx_new_with_log(int i, const refraft_term *terms, size_t n, refraft_term term)
{
    fixture *fx = fx_new(3);
    fx_log_terms(fx, i, terms, n);
    fx_set_hard_state(fx, i, term, NULL);
    fx_start(fx);
    return fx;
}

void fx_hard_state(fixture *fx, int i, refraft_term *term, char *voted_for)
{
    fx_node *fn = fx_node_at(fx, i);
    assert_int_equal(fn->log.load_hard_state(fn->log.ctx, term, voted_for), 0);
}

refraft_index fx_log_last(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    return fn->log.last_index(fn->log.ctx);
}

refraft_term fx_log_term(fixture *fx, int i, refraft_index index)
{
    fx_node *fn = fx_node_at(fx, i);
    refraft_term term = 0;
    if (fn->log.term_at(fn->log.ctx, index, &term) != 0)
        fail_msg("fixture: n%d has no entry %llu", i,
                 (unsigned long long)index);
    return term;
}

fx_record fx_log_entry(fixture *fx, int i, refraft_index index)
{
    fx_node *fn = fx_node_at(fx, i);
    refraft_entry e;
    size_t n = 0;
    fx_record r;
    if (fn->log.get(fn->log.ctx, index, 1, &e, &n) != 0 || n != 1)
        fail_msg("fixture: n%d has no entry %llu", i,
                 (unsigned long long)index);
    record_entry(&r, index, &e);
    return r;
}

refraft_index fx_log_first(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    return fn->log.first_index(fn->log.ctx);
}

/* Over the indexes both logs still hold. */
bool fx_logs_equal(fixture *fx, int a, int b)
{
    refraft_index last = fx_log_last(fx, a);
    if (fx_log_last(fx, b) != last)
        return false;
    refraft_index first = fx_log_first(fx, a);
    if (fx_log_first(fx, b) > first)
        first = fx_log_first(fx, b);
    for (refraft_index k = first; k <= last; k++) {
        fx_record ra = fx_log_entry(fx, a, k);
        fx_record rb = fx_log_entry(fx, b, k);
        if (ra.term != rb.term || ra.type != rb.type ||
            ra.n_members != rb.n_members || strcmp(ra.record, rb.record) != 0)
            return false;
    }
    return true;
}

/* ---- snapshots -------------------------------------------------------- */

bool fx_state_has(fixture *fx, int i, refraft_index index, const char *record)
{
    fx_node *fn = fx_node_at(fx, i);
    for (size_t k = 0; k < fn->n_state; k++)
        if (fn->state[k].index == index &&
            strcmp(fn->state[k].record, record) == 0)
            return true;
    return false;
}

bool fx_states_equal(fixture *fx, int a, int b, refraft_index upto)
{
    const fx_node *x = fx_node_at(fx, a), *y = fx_node_at(fx, b);
    size_t i = 0, j = 0;
    for (;;) {
        bool xi = i < x->n_state && x->state[i].index <= upto;
        bool yj = j < y->n_state && y->state[j].index <= upto;
        if (!xi || !yj)
            return xi == yj;
        if (x->state[i].index != y->state[j].index ||
            strcmp(x->state[i].record, y->state[j].record) != 0 ||
            x->state[i].ref.size != y->state[j].ref.size)
            return false;
        i++;
        j++;
    }
}

/* ---- state snapshots -------------------------------------------------- */

void fx_state_get(fixture *fx, int i, fx_state *s)
{
    refraft_node *node = fx_raft(fx, i);
    fx_node *fn = fx_node_at(fx, i);
    memset(s, 0, sizeof(*s));
    s->role = refraft_role(node);
    s->term = refraft_current_term(node);
    copy_id(s->vote, refraft_voted_for(node));
    copy_id(s->leader, refraft_leader_id(node));
    s->commit = refraft_commit_index(node);
    s->applied = refraft_applied_index(node);
    s->last = refraft_last_index(node);
    for (refraft_index k = fx_log_first(fx, i); k <= s->last && k <= 64; k++)
        s->log_terms[k - 1] = fx_log_term(fx, i, k);
    s->n_sent = fn->n_sent;
    s->n_queued = fx->n_queued;
    s->n_truncated = fn->n_truncated;
    s->config_index = refraft_config_index(node);
    s->n_members = refraft_n_members(node);
}

void fx_assert_state_unchanged(fixture *fx, int i, const fx_state *before)
{
    fx_state now;
    fx_state_get(fx, i, &now);
    assert_int_equal(now.role, before->role);
    assert_int_equal(now.term, before->term);
    assert_string_equal(now.vote, before->vote);
    assert_string_equal(now.leader, before->leader);
    assert_int_equal(now.commit, before->commit);
    assert_int_equal(now.applied, before->applied);
    assert_int_equal(now.last, before->last);
    assert_memory_equal(now.log_terms, before->log_terms,
                        sizeof(now.log_terms));
    assert_int_equal(now.n_sent, before->n_sent);
    assert_int_equal(now.n_queued, before->n_queued);
    assert_int_equal(now.n_truncated, before->n_truncated);
    assert_int_equal(now.config_index, before->config_index);
    assert_int_equal(now.n_members, before->n_members);
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, i, &term, vote);
    assert_int_equal(term, before->term);
    assert_string_equal(vote, before->vote);
}

void fx_assert_state_machine_safety(fixture *fx)
{
    for (int a = 0; a < fx->n; a++) {
        for (int b = a + 1; b < fx->n; b++) {
            const fx_node *x = &fx->nodes[a], *y = &fx->nodes[b];
            for (size_t k = 0; k < x->n_applied; k++) {
                for (size_t j = 0; j < y->n_applied; j++) {
                    const fx_record *p = &x->applied[k], *q = &y->applied[j];
                    if (p->index == q->index &&
                        (p->term != q->term || p->type != q->type ||
                         strcmp(p->record, q->record) != 0))
                        fail_msg("n%d and n%d applied different entries "
                                 "at index %llu",
                                 a + 1, b + 1, (unsigned long long)p->index);
                }
            }
        }
    }
}
