/* test_stage.c - the leader's append in two steps (refraft_log_api.stage
 * and sync; Raft thesis §10.2.1): its AppendEntries go out before its own
 * copy is durable, the hull's flush puts them on the wire while the log
 * syncs, and the leader counts itself toward a commit only once the sync
 * returned 0.  A failed sync takes the staged entries back and the leader
 * steps down.
 *
 * The nodes run on the fixture's memlogs under a wrapper that stages
 * (a memlog append) and syncs (nothing to do, or, when the test says so,
 * a failure that drops what was staged, as the contract requires), and
 * that writes every stage, append, send, flush and sync into one trace,
 * so that a test can assert their order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "mentions.h"

/* ---- the trace -------------------------------------------------------- */

typedef enum ev_kind {
    EV_STAGE = 1,
    EV_APPEND,
    EV_SEND,
    EV_FLUSH,
    EV_SYNC
} ev_kind;

/* One call into a node's log or hull, as the node made it. */
typedef struct ev {
    ev_kind kind;
    int node; /* the fixture's number of the node that made the call */
    /* EV_STAGE, EV_APPEND: the index of the first entry and how many.
     * EV_SEND of an AppendEntries: prev_log_index + 1 and the entries it
     * carries.  EV_SYNC: what was staged. */
    refraft_index first;
    size_t n;
    int to;       /* EV_SEND: the addressee's number */
    uint8_t type; /* EV_SEND: the message type */
    int rv;       /* EV_SYNC: what it returned */
    /* The node's commit and applied index when the call was made. */
    refraft_index commit;
    refraft_index applied;
} ev;

#define TRACE_MAX 1024

/* A memlog under the wrapper: the memlog's own API, and what the wrapper
 * keeps between stage and sync. */
typedef struct staged_log {
    fx_node *fn;
    refraft_log_api memlog;
    bool fail_sync;       /* every sync fails (REFRAFT_EIO) until cleared */
    refraft_index staged; /* the first index staged and not synced; 0: none */
} staged_log;

/* One test's trace and wrappers; trace_reset() clears it before each. */
static struct {
    ev events[TRACE_MAX];
    size_t n;
    staged_log logs[FX_MAX_NODES];
    bool no_flush;    /* start() gives the hull no flush */
    int hull_version; /* start() gives the hull this version (0: current) */
    int (*fixture_send)(void *ctx, const char *to_id, const refraft_msg *msg);
} tr;

static int trace_reset(void **state)
{
    (void)state;
    memset(&tr, 0, sizeof tr);
    return 0;
}

static ev *trace_add(ev_kind kind, const fx_node *fn)
{
    if (tr.n == TRACE_MAX)
        fail_msg("the trace is full");
    ev *e = &tr.events[tr.n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->node = fn->num;
    /* The getters may be called from inside a callback. */
    if (fn->node != NULL) {
        e->commit = refraft_commit_index(fn->node);
        e->applied = refraft_applied_index(fn->node);
    }
    return e;
}

static const char *msg_name(uint8_t type)
{
    switch (type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return "AE";
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return "AER";
    case REFRAFT_MSG_REQUEST_VOTE:
        return "RV";
    default:
        return "RVR";
    }
}

static void describe(const ev *e, char *out, size_t cap)
{
    unsigned long long first = e->first;
    switch (e->kind) {
    case EV_STAGE:
        snprintf(out, cap, "stage %llu+%zu", first, e->n);
        break;
    case EV_APPEND:
        snprintf(out, cap, "append %llu+%zu", first, e->n);
        break;
    case EV_SEND:
        if (e->type == REFRAFT_MSG_APPEND_ENTRIES)
            snprintf(out, cap, "send n%d AE %llu+%zu", e->to, first, e->n);
        else
            snprintf(out, cap, "send n%d %s", e->to, msg_name(e->type));
        break;
    case EV_FLUSH:
        snprintf(out, cap, "flush");
        break;
    case EV_SYNC:
        snprintf(out, cap, "sync%s", e->rv == 0 ? "" : " failed");
        break;
    }
}

/* Node i's calls from trace position mark on, e.g. "stage 2+1, send n2
 * AE 2+1, flush, sync". */
static const char *trace_of(int i, size_t mark)
{
    static char buf[8192];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = mark; k < tr.n; k++) {
        if (tr.events[k].node != i)
            continue;
        char one[64];
        describe(&tr.events[k], one, sizeof one);
        int w = snprintf(buf + len, sizeof buf - len, "%s%s",
                         len > 0 ? ", " : "", one);
        if (w < 0 || (size_t)w >= sizeof buf - len)
            fail_msg("the trace of n%d is too long to show", i);
        len += (size_t)w;
    }
    return buf;
}

/* Node i's calls, from the start of the trace, include calls in a row. */
static void assert_trace_has(int i, const char *calls)
{
    const char *t = trace_of(i, 0);
    if (strstr(t, calls) == NULL)
        fail_msg("n%d's calls \"%s\" do not include \"%s\"", i, t, calls);
}

static size_t count(int i, ev_kind kind, size_t mark)
{
    size_t c = 0;
    for (size_t k = mark; k < tr.n; k++)
        c += tr.events[k].node == i && tr.events[k].kind == kind;
    return c;
}

/* Node i's last call of kind; fails the test when there is none. */
static const ev *last(int i, ev_kind kind)
{
    for (size_t k = tr.n; k > 0; k--)
        if (tr.events[k - 1].node == i && tr.events[k - 1].kind == kind)
            return &tr.events[k - 1];
    fail_msg("n%d made no call of kind %d", i, kind);
    return NULL;
}

/* ---- the staged log --------------------------------------------------- */

static staged_log *log_of(void *ctx)
{
    for (size_t i = 0; i < FX_MAX_NODES; i++)
        if (tr.logs[i].fn != NULL && tr.logs[i].memlog.ctx == ctx)
            return &tr.logs[i];
    fail_msg("no staged log wraps this memlog");
    return NULL;
}

static int staged_append(void *ctx, const refraft_entry *entries, size_t n)
{
    staged_log *l = log_of(ctx);
    ev *e = trace_add(EV_APPEND, l->fn);
    e->first = l->memlog.last_index(ctx) + 1;
    e->n = n;
    return l->memlog.append(ctx, entries, n);
}

static int staged_stage(void *ctx, const refraft_entry *entries, size_t n)
{
    staged_log *l = log_of(ctx);
    refraft_index first = l->memlog.last_index(ctx) + 1;
    ev *e = trace_add(EV_STAGE, l->fn);
    e->first = first;
    e->n = n;
    int rv = l->memlog.append(ctx, entries, n);
    if (rv == 0 && n > 0 && l->staged == 0)
        l->staged = first;
    return rv;
}

/* Memory needs no sync.  A failing one drops what was staged: "On error
 * every staged entry is gone: the log is what it was before stage." */
static int staged_sync(void *ctx)
{
    staged_log *l = log_of(ctx);
    ev *e = trace_add(EV_SYNC, l->fn);
    refraft_index last_index = l->memlog.last_index(ctx);
    e->first = l->staged;
    e->n = l->staged != 0 ? (size_t)(last_index - l->staged + 1) : 0;
    if (l->fail_sync) {
        if (l->staged != 0)
            assert_int_equal(l->memlog.truncate(ctx, l->staged), 0);
        e->rv = REFRAFT_EIO;
    }
    l->staged = 0;
    return e->rv;
}

/* Put node i's memlog under the wrapper, before the node starts: appends
 * are traced, and with stages the log has stage and sync. */
static void wrap_log(fixture *fx, int i, bool stages)
{
    fx_node *fn = fx_node_at(fx, i);
    staged_log *l = &tr.logs[i - 1];
    l->fn = fn;
    l->memlog = fn->log;
    fn->log.append = staged_append;
    if (stages) {
        fn->log.stage = staged_stage;
        fn->log.sync = staged_sync;
    }
}

/* ---- the traced hull -------------------------------------------------- */

static int traced_send(void *ctx, const char *to_id, const refraft_msg *msg)
{
    fx_node *fn = ctx;
    ev *e = trace_add(EV_SEND, fn);
    e->to = to_id != NULL && to_id[0] == 'n' ? atoi(to_id + 1) : 0;
    e->type = msg->type;
    if (msg->type == REFRAFT_MSG_APPEND_ENTRIES) {
        e->first = msg->u.append_entries.prev_log_index + 1;
        e->n = msg->u.append_entries.n_entries;
    }
    return tr.fixture_send(ctx, to_id, msg);
}

static void traced_flush(void *ctx)
{
    (void)trace_add(EV_FLUSH, ctx);
}

/* Create node i on its (wrapped) log with the fixture's hull, its send
 * traced and a traced flush (unless tr.no_flush). */
static void start(fixture *fx, int i)
{
    fx_node *fn = fx_node_at(fx, i);
    refraft_hull hull;
    fx_hull(fx, i, &hull);
    tr.fixture_send = hull.send;
    hull.send = traced_send;
    hull.flush = tr.no_flush ? NULL : traced_flush;
    if (tr.hull_version != 0)
        hull.version = tr.hull_version;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refraft_node_create(&fn->config, &hull, &fn->log, &fn->node, err,
                                 sizeof err);
    if (rv != 0)
        fail_msg("creating n%d failed: %s (%s)", i, refraft_strerror(rv), err);
}

/* A started cluster of n whose logs stage (or, without stages, only trace
 * their appends).  With records, every node answers have_records from its
 * own set (fx_records_on). */
static fixture *cluster(int n, bool stages, bool records)
{
    fixture *fx = fx_new(n);
    if (records)
        fx_records_on(fx);
    for (int i = 1; i <= n; i++)
        wrap_log(fx, i, stages);
    for (int i = 1; i <= n; i++)
        start(fx, i);
    return fx;
}

/* A cluster of n on staged logs in which n1 leads term 1 and every node
 * holds its committed no-op. */
static fixture *cluster_with_leader(int n)
{
    fixture *fx = cluster(n, true, false);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    return fx;
}

static bool applied_record(fixture *fx, int i, const char *record)
{
    fx_node *fn = fx_node_at(fx, i);
    for (size_t k = 0; k < fn->n_applied; k++)
        if (strcmp(fn->applied[k].record, record) == 0)
            return true;
    return false;
}

/* Deliver every queued message (and what they cause), counting the
 * deliveries that returned REFRAFT_EIO, the last one's errmsg in errmsg;
 * any other error fails the test. */
static int deliver_all_counting_eio(fixture *fx, char *errmsg, size_t cap)
{
    int eio = 0;
    for (int k = 0; fx_pending(fx) > 0; k++) {
        if (k == 10000)
            fail_msg("messages never stop flowing");
        int to = fx_peek(fx, 0)->to;
        int rv = fx_deliver(fx, 0);
        if (rv == REFRAFT_EIO) {
            eio++;
            snprintf(errmsg, cap, "%s", refraft_errmsg(fx_raft(fx, to)));
        } else if (rv != 0 && rv != REFRAFT_ESTALE && rv != FX_DROPPED) {
            fail_msg("a delivery failed: %s", refraft_strerror(rv));
        }
    }
    return eio;
}

/* ---- order ------------------------------------------------------------ */

/* refraft.h, stage: "so that its AppendEntries go out while its disk
 * syncs".  A proposal is staged, sent to every follower, flushed, and
 * only then synced; what went out is the entry itself. */
static void test_proposal_is_sent_between_stage_and_sync(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    size_t mark = tr.n;
    refraft_index index = 0;

    assert_int_equal(fx_propose(fx, 1, "r1", &index), 0);

    assert_int_equal(index, 2);
    assert_string_equal(trace_of(1, mark), "stage 2+1, send n2 AE 2+1, "
                                           "send n3 AE 2+1, flush, sync");
    for (int to = 2; to <= 3; to++) {
        fx_msg *m = fx_find(fx, 1, to, REFRAFT_MSG_APPEND_ENTRIES);
        assert_non_null(m);
        const refraft_append_entries *ae = &m->msg.u.append_entries;
        assert_int_equal(ae->prev_log_index, 1);
        assert_int_equal(ae->n_entries, 1);
        assert_int_equal(ae->entries[0].type, REFRAFT_ENTRY_REF);
        assert_int_equal(ae->entries[0].term, 1);
        assert_memory_equal(ae->entries[0].ref.id, "r1", 2);
        /* The staged entry is not committed yet. */
        assert_int_equal(ae->leader_commit, 1);
    }
    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), 2);
    assert_string_equal(fx_log_entry(fx, 1, 2).record, "r1");
    /* The followers write it as usual, and it commits. */
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    assert_true(applied_record(fx, 1, "r1"));
}

/* A batch is one stage and one sync; without a hull flush ("Optional: a
 * host that sends from within send() needs none") the order is the same
 * less the flush. */
static void test_batch_without_hull_flush(void **state)
{
    (void)state;
    tr.no_flush = true;
    fixture *fx = cluster_with_leader(3);
    size_t mark = tr.n;
    refraft_ref refs[2] = {fx_ref("a"), fx_ref("b")};
    refraft_index first = 0;

    assert_int_equal(refraft_propose(fx_raft(fx, 1), refs, 2, &first), 0);

    assert_int_equal(first, 2);
    assert_string_equal(trace_of(1, mark),
                        "stage 2+2, send n2 AE 2+2, send n3 AE 2+2, sync");
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 3);
}

/* "The node stages only as leader, for the entries it creates (its no-op
 * ...)": the no-op of a new term goes the same way. */
static void test_noop_of_a_new_term_is_staged(void **state)
{
    (void)state;
    fixture *fx = cluster(3, true, false);
    fx_elect(fx, 1);
    assert_trace_has(1, "stage 1+1, send n2 AE 1+1, send n3 AE 1+1, flush, "
                        "sync");
    assert_int_equal(count(1, EV_STAGE, 0), 1);
    assert_int_equal(count(1, EV_APPEND, 0), 0);
    assert_int_equal(last(1, EV_SYNC)->commit, 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
}

/* Without stage and sync the leader appends durably, counts itself, then
 * sends (the path logs like memlog keep). */
static void test_log_without_stage_appends_before_sending(void **state)
{
    (void)state;
    fixture *fx = cluster(3, false, false);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    size_t mark = tr.n;
    assert_int_equal(fx_propose(fx, 1, "r1", NULL), 0);
    assert_string_equal(trace_of(1, mark),
                        "append 2+1, send n2 AE 2+1, send n3 AE 2+1");
    assert_int_equal(count(1, EV_STAGE, 0), 0);
    assert_int_equal(count(1, EV_FLUSH, 0), 0);
}

/* "The node stages only as leader": a follower writes its leader's
 * entries with append, through elections too, and the leader that lost
 * its lead appends like any follower. */
static void test_followers_append_and_never_stage(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    assert_int_equal(fx_propose(fx, 1, "b", NULL), 0);
    fx_deliver_all(fx);
    fx_run(fx, 2 * FX_ELECTION_TIMEOUT);
    for (int i = 2; i <= 3; i++) {
        assert_int_equal(count(i, EV_STAGE, 0), 0);
        assert_int_equal(count(i, EV_SYNC, 0), 0);
        assert_true(count(i, EV_APPEND, 0) >= 1);
        assert_true(fx_logs_equal(fx, 1, i));
    }
    /* n2 takes over in term 2: now it stages, and n1 appends. */
    size_t mark = tr.n;
    fx_isolate(fx, 1, true);
    fx_run(fx, 3 * FX_ELECTION_TIMEOUT); /* n1 loses its quorum */
    fx_isolate(fx, 1, false);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_elect(fx, 2);
    assert_int_equal(fx_propose(fx, 2, "c", NULL), 0);
    fx_deliver_all(fx);
    fx_run(fx, 2 * FX_ELECTION_TIMEOUT);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_FOLLOWER);
    assert_int_equal(count(1, EV_STAGE, mark), 0);
    assert_int_equal(count(1, EV_SYNC, mark), 0);
    assert_true(count(1, EV_APPEND, mark) >= 1);
    assert_int_equal(count(3, EV_STAGE, 0), 0);
    assert_int_equal(count(2, EV_STAGE, mark), 2); /* its no-op and "c" */
    assert_true(fx_logs_equal(fx, 1, 2));
    assert_true(applied_record(fx, 1, "c"));
    fx_assert_state_machine_safety(fx);
}

/* ---- the leader counts itself only after the sync --------------------- */

/* "It counts its own copy of the entries toward a commit only once sync
 * has returned 0."  Alone, the leader is its own majority: during the
 * sync nothing of the new entry is committed or applied; when propose
 * returns it is both. */
static void test_single_leader_commits_only_after_sync(void **state)
{
    (void)state;
    fixture *fx = cluster(1, true, false);
    fx_elect(fx, 1);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(last(1, EV_SYNC)->commit, 0); /* its no-op */
    assert_int_equal(refraft_commit_index(n1), 1);
    size_t mark = tr.n;
    refraft_index index = 0;

    assert_int_equal(fx_propose(fx, 1, "solo", &index), 0);

    assert_int_equal(index, 2);
    assert_string_equal(trace_of(1, mark), "stage 2+1, flush, sync");
    const ev *sync = last(1, EV_SYNC);
    assert_int_equal(sync->commit, 1);
    assert_int_equal(sync->applied, 1);
    assert_int_equal(refraft_commit_index(n1), 2);
    assert_int_equal(refraft_applied_index(n1), 2);
    fx_node *fn = fx_node_at(fx, 1);
    assert_int_equal(fn->applied[fn->n_applied - 1].index, 2);
    assert_string_equal(fn->applied[fn->n_applied - 1].record, "solo");
}

/* Three nodes under the durable policy.  n2 holds "a" (index 2) with its
 * record; n1 and n3 lack it, so "a" waits for a second holder.  n1 gets
 * the record without being told; its proposal of "b" then settles "a" and
 * "b" on n1 as the stage appends b.  Counting its own staged copy, n1 and
 * n2 would make a majority for "a" at once; the leader must wait for the
 * sync, so "a" commits only after it, and the AppendEntries sent meanwhile
 * carry the old commit index. */
static void test_follower_ack_commits_nothing_during_the_sync(void **state)
{
    (void)state;
    fixture *fx = cluster(3, true, true);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    refraft_node *n1 = fx_raft(fx, 1);
    fx_record_put(fx, 2, "a");
    refraft_index a = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    fx_deliver_all(fx);
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(n1, "n2", &p), 0);
    assert_int_equal(p.match_index, a);
    assert_int_equal(p.data_index, a);
    assert_int_equal(refraft_commit_index(n1), a - 1);
    assert_int_equal(refraft_data_index(n1), a - 1);

    fx_record_put(fx, 1, "a");
    fx_record_put(fx, 1, "b");
    size_t mark = tr.n;
    refraft_index b = 0;
    assert_int_equal(fx_propose(fx, 1, "b", &b), 0);

    assert_int_equal(b, a + 1);
    assert_string_equal(trace_of(1, mark), "stage 3+1, send n2 AE 3+1, "
                                           "send n3 AE 3+1, flush, sync");
    assert_int_equal(last(1, EV_SYNC)->commit, a - 1);
    for (int to = 2; to <= 3; to++)
        assert_int_equal(fx_find(fx, 1, to, REFRAFT_MSG_APPEND_ENTRIES)
                             ->msg.u.append_entries.leader_commit,
                         a - 1);
    /* After the sync the leader counts itself: "a" is on n1 and n2. */
    assert_int_equal(refraft_data_index(n1), b);
    assert_int_equal(refraft_commit_index(n1), a);
}

/* ---- a failed sync ---------------------------------------------------- */

/* "If sync fails it steps down: its followers may hold entries its log no
 * longer has, and no other entry may take their indexes in this term."
 * The proposal fails with the log's error and a message naming the index;
 * the node is a follower of the same term, its log is what it was, the
 * application is told of the truncation and applies nothing.  Later it
 * can lead again. */
static void test_failed_sync_takes_the_entries_back_and_steps_down(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    fx_node *fn = fx_node_at(fx, 1);
    refraft_node *n1 = fn->node;
    size_t applied = fn->n_applied;
    size_t truncated = fn->n_truncated;
    tr.logs[0].fail_sync = true;
    size_t mark = tr.n;
    refraft_index index = 77;

    assert_int_equal(fx_propose(fx, 1, "doomed", &index), REFRAFT_EIO);

    assert_int_equal(index, 77);
    assert_mentions(refraft_errmsg(n1), "index 2");
    assert_string_equal(trace_of(1, mark),
                        "stage 2+1, send n2 AE 2+1, "
                        "send n3 AE 2+1, flush, sync failed");
    assert_int_equal(refraft_role(n1), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n1), 1);
    assert_null(refraft_leader_id(n1));
    assert_int_equal(refraft_last_index(n1), 1);
    assert_int_equal(fx_log_last(fx, 1), 1);
    assert_int_equal(refraft_commit_index(n1), 1);
    assert_int_equal(refraft_data_index(n1), 1);
    assert_int_equal(refraft_applied_index(n1), 1);
    assert_int_equal(fn->n_applied, applied);
    assert_int_equal(fn->n_truncated, truncated + 1);
    assert_int_equal(fn->truncated[truncated], 2);
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, 1, &term, vote);
    assert_int_equal(term, 1);
    assert_string_equal(vote, "n1");
    /* No longer a leader, it proposes nothing at that index. */
    assert_int_equal(fx_propose(fx, 1, "other", NULL), REFRAFT_ENOLEADER);

    /* The AppendEntries are lost.  The disk recovers; n1 leads term 2. */
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    tr.logs[0].fail_sync = false;
    fx_elect(fx, 1);
    assert_int_equal(refraft_current_term(n1), 2);
    refraft_index later = 0;
    assert_int_equal(fx_propose(fx, 1, "later", &later), 0);
    assert_int_equal(later, 3); /* after term 1's and term 2's no-ops */
    fx_deliver_all(fx);
    fx_run(fx, FX_ELECTION_TIMEOUT);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(refraft_applied_index(fx_raft(fx, i)), later);
        assert_true(applied_record(fx, i, "later"));
        assert_false(applied_record(fx, i, "doomed"));
        assert_true(fx_logs_equal(fx, 1, i));
    }
    fx_assert_state_machine_safety(fx);
}

/* A failed sync takes back the data index its staged entries moved, not
 * just the part over them: the look that settled them settled entry 2 as
 * well, on a record the failed write carried (proposed again while entry
 * 2's was missing here), which went with it. */
static void test_failed_sync_takes_back_the_data_index(void **state)
{
    (void)state;
    fixture *fx = cluster(3, true, true);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(fx_propose(fx, 1, "r", NULL), 0); /* n1 lacks r */
    assert_int_equal(refraft_data_index(n1), 1);
    /* The next write carries r again, with s: both are there while it
     * runs, and both are lost with its sync. */
    fx_record_put(fx, 1, "r");
    fx_record_put(fx, 1, "s");
    tr.logs[0].fail_sync = true;
    assert_int_equal(fx_propose(fx, 1, "s", NULL), REFRAFT_EIO);
    fx_record_drop(fx, 1, "r");
    fx_record_drop(fx, 1, "s");
    assert_int_equal(refraft_last_index(n1), 2);
    assert_int_equal(refraft_data_index(n1), 1);
    tr.logs[0].fail_sync = false;
}

/* "another leader may still commit them (they were sent)": the followers
 * got the entry whose sync failed; the next leader commits it, and the
 * old leader, now a follower, takes it back from there with append. */
static void
test_entries_of_a_failed_sync_may_commit_under_the_next_leader(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    tr.logs[0].fail_sync = true;
    assert_int_equal(fx_propose(fx, 1, "sent", NULL), REFRAFT_EIO);
    tr.logs[0].fail_sync = false;
    fx_deliver_all(fx); /* n2 and n3 append it; n1 ignores their answers */
    assert_int_equal(fx_log_last(fx, 2), 2);
    assert_int_equal(fx_log_last(fx, 1), 1);
    size_t mark = tr.n;

    fx_elect(fx, 2);
    fx_deliver_all(fx);

    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), 2);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 3);
    assert_string_equal(fx_log_entry(fx, 1, 2).record, "sent");
    assert_int_equal(count(1, EV_STAGE, mark), 0);
    assert_true(count(1, EV_APPEND, mark) >= 1);
    fx_run(fx, FX_ELECTION_TIMEOUT);
    for (int i = 1; i <= 3; i++)
        assert_true(applied_record(fx, i, "sent"));
    fx_assert_state_machine_safety(fx);
}

/* "A leader that cannot write cannot lead": the no-op of its new term
 * fails to sync, so the node that just won steps down, in that term.  It
 * had sent the no-op: the followers hold it, and the next leader commits
 * it. */
static void test_failed_sync_of_the_noop_steps_down(void **state)
{
    (void)state;
    fixture *fx = cluster(3, true, false);
    fx_node *fn = fx_node_at(fx, 1);
    tr.logs[0].fail_sync = true;

    fx_timeout(fx, 1);
    char err[REFRAFT_ERRMSG_LEN] = "";
    int eio = deliver_all_counting_eio(fx, err, sizeof err);

    /* The vote that made it leader is the delivery that failed. */
    assert_int_equal(eio, 1);
    assert_mentions(err, "index 1");
    assert_trace_has(1, "stage 1+1, send n2 AE 1+1, send n3 AE 1+1, flush, "
                        "sync failed");
    refraft_node *n1 = fn->node;
    assert_int_equal(refraft_role(n1), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n1), 1);
    assert_int_equal(refraft_last_index(n1), 0);
    assert_int_equal(fx_log_last(fx, 1), 0);
    assert_int_equal(refraft_commit_index(n1), 0);
    assert_int_equal(fn->n_truncated, 1);
    assert_int_equal(fn->truncated[0], 1);
    assert_int_equal(fn->n_applied, 0);
    assert_int_equal(fx_log_last(fx, 2), 1);

    tr.logs[0].fail_sync = false;
    fx_elect(fx, 2);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 2);
    assert_true(fx_logs_equal(fx, 1, 2));
    assert_int_equal(fx_log_term(fx, 1, 1), 1);
}

/* Alone, the node wins its election inside refraft_tick(), which returns
 * the sync's error; it is a follower of that term, and at its next
 * timeout, its disk healthy again, it leads the next term. */
static void test_failed_sync_of_a_lone_nodes_noop_is_retried(void **state)
{
    (void)state;
    fixture *fx = cluster(1, true, false);
    refraft_node *n1 = fx_raft(fx, 1);
    tr.logs[0].fail_sync = true;
    fx_advance(fx, refraft_next_deadline(n1) - fx->now);

    assert_int_equal(fx_tick(fx, 1), REFRAFT_EIO);

    assert_mentions(refraft_errmsg(n1), "index 1");
    assert_string_equal(trace_of(1, 0), "stage 1+1, flush, sync failed");
    assert_int_equal(refraft_role(n1), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n1), 1);
    assert_int_equal(refraft_last_index(n1), 0);
    assert_int_equal(refraft_commit_index(n1), 0);
    tr.logs[0].fail_sync = false;
    fx_timeout(fx, 1);
    assert_int_equal(refraft_role(n1), REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(n1), 2);
    assert_int_equal(refraft_commit_index(n1), 1);
    assert_int_equal(fx_log_term(fx, 1, 1), 2);
}

/* ---- VOIDs ------------------------------------------------------------ */

/* A 3-node cluster under the durable policy after n1, leading term 1,
 * replicated the reference "lost" (index 2) but never its record, then
 * died: n2 leads term 2 with "lost" uncommitted (index 3 is its no-op). */
static fixture *leader_died_with_record(void)
{
    fixture *fx = cluster(3, true, true);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    fx_record_put(fx, 1, "lost");
    assert_int_equal(fx_propose(fx, 1, "lost", NULL), 0);
    fx_deliver_all(fx);
    fx_crash(fx, 1);
    fx_elect(fx, 2);
    fx_deliver_all(fx);
    assert_int_equal(refraft_last_index(fx_raft(fx, 2)), 3);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 1);
    return fx;
}

/* "The node stages only as leader, for the entries it creates (its no-op,
 * proposals, VOIDs)". */
static void test_void_is_staged(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    refraft_node *n2 = fx_raft(fx, 2);
    size_t mark = tr.n;
    refraft_index v = 0;

    assert_int_equal(refraft_void(n2, 2, &v), 0);

    assert_int_equal(v, 4);
    /* n1 is down: n2's probe to it is still unanswered, so it sends it
     * nothing new. */
    assert_string_equal(trace_of(2, mark),
                        "stage 4+1, send n3 AE 4+1, flush, sync");
    assert_int_equal(last(2, EV_SYNC)->commit, 1);
    fx_record e = fx_log_entry(fx, 2, 4);
    assert_int_equal(e.type, REFRAFT_ENTRY_VOID);
    assert_int_equal(e.voided, 2);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n2), 4);
}

/* A VOID whose sync failed is forgotten with its entry: the entry it
 * named is unsettled again, and the node steps down. */
static void test_failed_sync_of_a_void_forgets_it(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    refraft_node *n2 = fx_raft(fx, 2);
    fx_node *fn = fx_node_at(fx, 2);
    size_t truncated = fn->n_truncated;
    assert_int_equal(refraft_data_index(n2), 1);
    tr.logs[1].fail_sync = true;
    refraft_index v = 0;

    assert_int_equal(refraft_void(n2, 2, &v), REFRAFT_EIO);

    assert_int_equal(v, 0);
    assert_mentions(refraft_errmsg(n2), "index 4");
    assert_int_equal(refraft_void_of(n2, 2), 0);
    assert_int_equal(refraft_last_index(n2), 3);
    assert_int_equal(fx_log_last(fx, 2), 3);
    assert_int_equal(refraft_data_index(n2), 1);
    assert_int_equal(refraft_role(n2), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n2), 2);
    assert_int_equal(fn->n_truncated, truncated + 1);
    assert_int_equal(fn->truncated[truncated], 4);
}

/* ---- validation ------------------------------------------------------- */

/* "Optional, both or neither": refraft_node_create refuses one without the
 * other, naming the one that is missing, and writes nothing. */
static void expect_create_refused(fixture *fx, const refraft_log_api *log,
                                  const char *missing)
{
    fx_node *fn = fx_node_at(fx, 1);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    refraft_node *node = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    assert_int_equal(
        refraft_node_create(&fn->config, &hull, log, &node, err, sizeof err),
        REFRAFT_EINVAL);
    assert_null(node);
    char phrase[32];
    snprintf(phrase, sizeof phrase, "%s is NULL", missing);
    assert_mentions(err, phrase);
    refraft_term term = 9;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, 1, &term, vote);
    assert_int_equal(term, 0);
    assert_int_equal(fx_log_last(fx, 1), 0);
}

static void test_stage_and_sync_come_together(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    wrap_log(fx, 1, true);
    refraft_log_api log = fx_node_at(fx, 1)->log;
    log.sync = NULL;
    expect_create_refused(fx, &log, "sync");
    log = fx_node_at(fx, 1)->log;
    log.stage = NULL;
    expect_create_refused(fx, &log, "stage");
    /* Both, or neither, is fine. */
    start(fx, 1);
    fx_crash(fx, 1);
    fx_node_at(fx, 1)->log.stage = NULL;
    fx_node_at(fx, 1)->log.sync = NULL;
    start(fx, 1);
}

/* A host built against the previous header gives a log API or a hull of
 * version 2 (REFRAFT_*_VERSION_MIN), structs that end before stage and
 * sync, or before flush: the node takes them and never reads those
 * members, whatever lies where they would be.  Here they hold the traced
 * functions, which must not be called.  Returns n1's calls for a
 * proposal. */
static const char *propose_with_versions(int log_version, int hull_version)
{
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++) {
        wrap_log(fx, i, true);
        fx_node_at(fx, i)->log.version = log_version;
    }
    tr.hull_version = hull_version;
    for (int i = 1; i <= 3; i++)
        start(fx, i);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    size_t mark = tr.n;
    assert_int_equal(fx_propose(fx, 1, "old", NULL), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(count(i, EV_FLUSH, 0), 0);
    return trace_of(1, mark);
}

static void test_version_2_log_api_has_no_stage_or_sync(void **state)
{
    (void)state;
    assert_string_equal(propose_with_versions(REFRAFT_LOG_API_VERSION_MIN, 0),
                        "append 2+1, send n2 AE 2+1, send n3 AE 2+1");
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(count(i, EV_STAGE, 0), 0);
        assert_int_equal(count(i, EV_SYNC, 0), 0);
    }
}

static void test_version_2_hull_has_no_flush(void **state)
{
    (void)state;
    assert_string_equal(propose_with_versions(REFRAFT_LOG_API_VERSION,
                                              REFRAFT_HULL_VERSION_MIN),
                        "stage 2+1, send n2 AE 2+1, send n3 AE 2+1, sync");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, trace_reset, fx_cleanup)
    const struct CMUnitTest tests[] = {
        T(test_proposal_is_sent_between_stage_and_sync),
        T(test_batch_without_hull_flush),
        T(test_noop_of_a_new_term_is_staged),
        T(test_log_without_stage_appends_before_sending),
        T(test_followers_append_and_never_stage),
        T(test_single_leader_commits_only_after_sync),
        T(test_follower_ack_commits_nothing_during_the_sync),
        T(test_failed_sync_takes_the_entries_back_and_steps_down),
        T(test_failed_sync_takes_back_the_data_index),
        T(test_entries_of_a_failed_sync_may_commit_under_the_next_leader),
        T(test_failed_sync_of_the_noop_steps_down),
        T(test_failed_sync_of_a_lone_nodes_noop_is_retried),
        T(test_void_is_staged),
        T(test_failed_sync_of_a_void_forgets_it),
        T(test_stage_and_sync_come_together),
        T(test_version_2_log_api_has_no_stage_or_sync),
        T(test_version_2_hull_has_no_flush),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
