/* test_data.c - the data index, apply gated on data, durable commit and
 * VOIDs (DESIGN.md "References, data index and durable commit"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

/* VOID(voided) of term. */
static refraft_entry void_entry(refraft_term term, refraft_index voided)
{
    refraft_entry v = fx_entry(term, NULL);
    v.type = REFRAFT_ENTRY_VOID;
    v.voided = voided;
    return v;
}

/* A cluster of n whose nodes answer have_records from their own record
 * sets, under commit policy, in which n1 won term 1 and everyone holds
 * and applied its NOOP. */
static fixture *cluster(int n, uint8_t policy)
{
    fixture *fx = fx_new(n);
    fx_records_on(fx);
    for (int i = 1; i <= n; i++)
        fx_node_at(fx, i)->config.commit_policy = policy;
    fx_start(fx);
    fx_elect(fx, 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    return fx;
}

static const fx_record *applied_at(fixture *fx, int i, refraft_index index)
{
    fx_node *fn = fx_node_at(fx, i);
    for (size_t k = 0; k < fn->n_applied; k++)
        if (fn->applied[k].index == index)
            return &fn->applied[k];
    return NULL;
}

/* DESIGN.md: "data_index: largest N such that the records of every entry
 * <= N are present locally and verified"; entries without a reference are
 * settled. */
static void test_data_index_follows_records(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(refraft_data_index(n1), 1); /* the NOOP */

    refraft_index a = 0, b = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    assert_int_equal(fx_propose(fx, 1, "b", &b), 0);
    assert_int_equal(refraft_data_index(n1), 1);

    /* b's record alone does not move it: a, below b, is still missing. */
    assert_int_equal(fx_records_stored(fx, 1, "b"), 0);
    assert_int_equal(refraft_data_index(n1), 1);
    assert_int_equal(fx_records_stored(fx, 1, "a"), 0);
    assert_int_equal(refraft_data_index(n1), b);
}

/* An append that leaves records missing tells the host (the sweeper's
 * kick), with the data index and the last index. */
static void test_append_with_missing_records_emits_data_event(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_node *fn = fx_node_at(fx, 1);
    size_t before = fn->n_events;
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    bool seen = false;
    for (size_t k = before; k < fn->n_events; k++)
        seen |= fn->events[k].type == REFRAFT_EVENT_DATA &&
                fn->events[k].data_index == 1;
    assert_true(seen);
}

/* DESIGN.md: "durable (default): the leader commits N when a majority has
 * min(match_index, data_index) >= N (and term(N) = current term)". */
static void test_durable_commit_waits_for_records_on_majority(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    refraft_node *n1 = fx_raft(fx, 1);
    fx_record_put(fx, 1, "a");
    refraft_index a = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    fx_deliver_all(fx);
    /* Every log matches, but only the leader holds the record. */
    assert_int_equal(refraft_last_index(fx_raft(fx, 2)), a);
    assert_int_equal(refraft_last_index(fx_raft(fx, 3)), a);
    assert_int_equal(refraft_commit_index(n1), a - 1);

    /* A follower's record arrives late: it reports at once, without
     * waiting for a heartbeat, and that makes a majority. */
    assert_int_equal(fx_records_stored(fx, 2, "a"), 0);
    fx_msg *m = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(m);
    assert_true(m->msg.u.append_entries_result.success);
    assert_int_equal(m->msg.u.append_entries_result.data_index, a);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n1), a);
}

/* DESIGN.md: "reference: commit on match_index alone (plain Raft)". */
static void test_reference_commit_ignores_records(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_REFERENCE);
    refraft_index a = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), a);
    /* Committed, but nobody holds the record: nobody applies it. */
    for (int i = 1; i <= 3; i++)
        assert_null(applied_at(fx, i, a));
}

/* DESIGN.md: "apply gated on data: applied_index <= min(commit_index,
 * data_index).  No node applies an entry whose record it lacks." */
static void test_apply_waits_for_the_record(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_record_put(fx, 1, "a");
    fx_record_put(fx, 2, "a");
    refraft_index a = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    fx_run(fx, 3 * FX_ELECTION_TIMEOUT);
    refraft_node *n3 = fx_raft(fx, 3);
    assert_int_equal(refraft_commit_index(n3), a);
    assert_int_equal(refraft_applied_index(n3), a - 1);
    assert_null(applied_at(fx, 3, a));

    assert_int_equal(fx_records_stored(fx, 3, "a"), 0);
    assert_int_equal(refraft_applied_index(n3), a);
    const fx_record *r = applied_at(fx, 3, a);
    assert_non_null(r);
    assert_int_equal(r->type, REFRAFT_ENTRY_REF);
    assert_string_equal(r->record, "a");
}

/* A follower reports its data index no further than the match index of
 * the same result: beyond it, its log may not be the leader's. */
static void test_reported_data_index_is_within_match(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_record_put(fx, 2, "a");
    fx_record_put(fx, 2, "b");
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    assert_int_equal(fx_propose(fx, 1, "b", NULL), 0);
    fx_deliver_all(fx);
    fx_node *fn = fx_node_at(fx, 2);
    assert_int_equal(refraft_data_index(fn->node), 3);
    /* A heartbeat probing below the tail gets a result clipped there. */
    refraft_msg hb = fx_append_entries(1, "n1", 2, 1, 1, NULL, 0);
    fx_capture cap = {0};
    assert_int_equal(refraft_on_message(fn->node, &hb, fx_capture_reply, &cap),
                     0);
    assert_true(cap.last.msg.u.append_entries_result.success);
    assert_int_equal(cap.last.msg.u.append_entries_result.match_index, 2);
    assert_int_equal(cap.last.msg.u.append_entries_result.data_index, 2);
}

/* The leader refuses a result that claims more data than match. */
static void test_result_with_data_above_match_is_refused(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    refraft_msg res = fx_append_result(1, "n2", true, 1);
    res.u.append_entries_result.data_index = 2;
    fx_state before;
    fx_state_get(fx, 1, &before);
    assert_int_equal(fx_inject(fx, 1, &res), REFRAFT_EBADMSG);
    fx_assert_state_unchanged(fx, 1, &before);
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, 1), "n2", &p), 0);
    assert_int_equal(p.data_index, 1);
}

static void test_peer_progress_and_peer_ids(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(refraft_n_peers(n1), 2);
    assert_string_equal(refraft_peer_id(n1, 0), "n2");
    assert_string_equal(refraft_peer_id(n1, 1), "n3");
    assert_null(refraft_peer_id(n1, 2));
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(n1, "n3", &p), 0);
    assert_int_equal(p.match_index, 1);
    assert_int_equal(p.data_index, 1);
    assert_int_equal(refraft_peer_progress_get(n1, "n9", &p),
                     REFRAFT_EUNKNOWNPEER);
    assert_int_equal(refraft_peer_progress_get(n1, NULL, &p), REFRAFT_EINVAL);
    /* A follower knows nothing of its peers' progress. */
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, 2), "n1", &p), 0);
    assert_int_equal(p.match_index, 0);
}

/* ---- VOIDs -------------------------------------------------------------- */

/* A 3-node cluster after n1, leading term 1, appended "lost" at index 2
 * and replicated the reference but never the record, then died: n2 leads
 * term 2 with "lost" uncommitted in its log. */
static fixture *leader_died_with_record(void)
{
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_record_put(fx, 1, "lost");
    assert_int_equal(fx_propose(fx, 1, "lost", NULL), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    fx_crash(fx, 1);
    fx_elect(fx, 2);
    assert_int_equal(refraft_last_index(fx_raft(fx, 2)), 3);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 1);
    return fx;
}

/* DESIGN.md, hole filling: "when a majority answer authoritatively that
 * they lack it, it appends VOID(k) in its own term ... When the VOID
 * commits, each node's application is told that index k was abandoned". */
static void test_void_abandons_entry_everywhere(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    refraft_node *n2 = fx_raft(fx, 2);
    /* Durable commit is stuck behind the missing record. */
    fx_run(fx, 3 * FX_ELECTION_TIMEOUT);
    assert_int_equal(refraft_commit_index(n2), 1);

    refraft_index v = 0;
    assert_int_equal(refraft_void(n2, 2, &v), 0);
    assert_int_equal(v, 4);
    assert_int_equal(refraft_void_of(n2, 2), 4);
    fx_record e = fx_log_entry(fx, 2, 4);
    assert_int_equal(e.type, REFRAFT_ENTRY_VOID);
    assert_int_equal(e.voided, 2);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n2), 4);
    fx_run(fx, FX_ELECTION_TIMEOUT); /* a heartbeat carries commit 4 */
    for (int i = 2; i <= 3; i++) {
        const fx_record *r = applied_at(fx, i, 2);
        assert_non_null(r);
        assert_int_equal(r->type, REFRAFT_ENTRY_ABANDONED);
        assert_string_equal(r->record, "lost");
        assert_int_equal(applied_at(fx, i, 4)->type, REFRAFT_ENTRY_VOID);
    }
    fx_assert_state_machine_safety(fx);
}

/* DESIGN.md: "a late copy of the record is ignored": the old leader comes
 * back with the record; the entry stays abandoned there too. */
static void test_late_copy_of_voided_record_is_ignored(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    assert_int_equal(refraft_void(fx_raft(fx, 2), 2, NULL), 0);
    fx_deliver_all(fx);
    fx_restart(fx, 1);
    fx_run(fx, 5 * FX_ELECTION_TIMEOUT);
    assert_int_equal(refraft_applied_index(fx_raft(fx, 1)), 4);
    const fx_record *r = applied_at(fx, 1, 2);
    assert_non_null(r);
    assert_int_equal(r->type, REFRAFT_ENTRY_ABANDONED);
    fx_assert_state_machine_safety(fx);
}

/* The leader neither commits nor advertises a commit index between the
 * voided entry and its VOID, so no node applies the entry before it knows
 * its fate, even a node that holds a late copy of the record. */
static void test_no_commit_inside_void_span(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    refraft_node *n2 = fx_raft(fx, 2);
    fx_record_put(fx, 3, "lost"); /* a late copy reaches n3 only */
    assert_int_equal(refraft_void(n2, 2, NULL), 0);
    /* n3's report alone would let the leader commit 3 (its own NOOP, at
     * a majority with the late copy), inside the span [2, 4). */
    fx_msg *m = fx_find(fx, 2, 3, REFRAFT_MSG_APPEND_ENTRIES);
    assert_non_null(m);
    assert_int_equal(fx_records_stored(fx, 2, "lost"), 0);
    refraft_msg res = fx_append_result(2, "n3", true, 3);
    res.u.append_entries_result.data_index = 3;
    assert_int_equal(fx_inject(fx, 2, &res), 0);
    assert_int_equal(refraft_commit_index(n2), 1);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n2), 4);
    fx_run(fx, FX_ELECTION_TIMEOUT);
    assert_non_null(applied_at(fx, 3, 2));
    assert_int_equal(applied_at(fx, 3, 2)->type, REFRAFT_ENTRY_ABANDONED);
}

/* Keeps every message; fails the test on an AppendEntries that leaves
 * its receiver's log inside [2, 4), the span of VOID(2) at 4, with a
 * commit index that reaches 2. */
static bool commit_outside_span(fixture *fx, const fx_msg *m, void *arg)
{
    (void)fx;
    (void)arg;
    if (m->msg.type == REFRAFT_MSG_APPEND_ENTRIES) {
        const refraft_append_entries *a = &m->msg.u.append_entries;
        refraft_index end = a->prev_log_index + a->n_entries;
        if (end >= 2 && end < 4)
            assert_true(a->leader_commit < 2);
    }
    return true;
}

/* A follower whose log ends inside a committed VOID's span is told a
 * commit index below the voided entry, not the leader's: it does not yet
 * hold the VOID, and might hold a late copy of the record. */
static void test_advertised_commit_is_clipped_for_lagging_follower(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.max_entries_per_msg = 1;
    fx_start(fx);
    fx_elect(fx, 1);
    /* n1 appends "lost" and dies before anyone hears of it; it comes back
     * later holding a late copy of the record. */
    fx_isolate(fx, 1, true);
    fx_record_put(fx, 1, "lost");
    assert_int_equal(fx_propose(fx, 1, "lost", NULL), 0);
    fx_crash(fx, 1);
    fx_isolate(fx, 1, false);
    /* n2 leads term 2; suppose its log had "lost" too: give it by hand. */
    refraft_entry lost = fx_entry(1, "lost");
    refraft_msg ae = fx_append_entries(1, "n1", 1, 1, 1, &lost, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_elect(fx, 2);
    refraft_node *n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_void(n2, 2, NULL), 0);
    fx_deliver_all(fx);
    fx_run(fx, FX_ELECTION_TIMEOUT);
    assert_int_equal(refraft_commit_index(n2), 4);

    fx_restart(fx, 1);
    for (int t = 0; t < 5 * FX_ELECTION_TIMEOUT; t++) {
        fx_advance(fx, 1);
        fx_tick_due(fx);
        fx_deliver_filtered(fx, commit_outside_span, NULL);
    }
    assert_int_equal(refraft_applied_index(fx_raft(fx, 1)), 4);
    assert_int_equal(applied_at(fx, 1, 2)->type, REFRAFT_ENTRY_ABANDONED);
    fx_assert_state_machine_safety(fx);
}

/* refraft_void() refuses what it can tell is wrong, changing nothing. */
static void test_void_refusals(void **state)
{
    (void)state;
    fixture *fx = leader_died_with_record();
    refraft_node *n2 = fx_raft(fx, 2);
    fx_state before;
    fx_state_get(fx, 2, &before);
    /* Committed (the NOOP at 1), not a REF (n2's NOOP at 3), outside. */
    assert_int_equal(refraft_void(n2, 1, NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_void(n2, 3, NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_void(n2, 9, NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_void(n2, 0, NULL), REFRAFT_EINVAL);
    /* Not the leader. */
    assert_int_equal(refraft_void(fx_raft(fx, 3), 2, NULL), REFRAFT_ENOTLEADER);
    /* The record is here after all. */
    fx_record_put(fx, 2, "lost");
    assert_int_equal(refraft_void(n2, 2, NULL), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n2), "present"));
    fx_assert_state_unchanged(fx, 2, &before);
    fx_record_drop(fx, 2, "lost");
    /* Already voided. */
    assert_int_equal(refraft_void(n2, 2, NULL), 0);
    assert_int_equal(refraft_void(n2, 2, NULL), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n2), "already voided"));
}

/* Under the reference policy a majority lacking a record proves nothing
 * (the entry may have committed without it), so there are no VOIDs. */
static void test_void_needs_the_durable_policy(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_REFERENCE);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(fx_propose(fx, 1, "lost", NULL), 0);
    fx_state before;
    fx_state_get(fx, 1, &before);
    assert_int_equal(refraft_void(n1, 2, NULL), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n1), "durable"));
    fx_assert_state_unchanged(fx, 1, &before);
    assert_int_equal(refraft_commit_policy_of(n1), REFRAFT_COMMIT_REFERENCE);
}

/* A VOID naming an index at or above its own is malformed. */
static void test_malformed_void_is_refused(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    refraft_entry v = void_entry(1, 2);
    refraft_msg ae = fx_append_entries(1, "n1", 1, 1, 1, &v, 1);
    fx_state before;
    fx_state_get(fx, 2, &before);
    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_EBADMSG);
    v.voided = 0;
    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_EBADMSG);
    fx_assert_state_unchanged(fx, 2, &before);
}

/* A started 3-node cluster whose n3 holds what two deposed leaders left:
 * n1's term 1 (a NOOP at 1, record at 2) and n2's term 2 (a NOOP at 3 and
 * VOID(2) at 4), told commit index commit (0 or 1) with each. */
static fixture *deposed_leaders_void(const char *record, refraft_index commit)
{
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    fx_start(fx);
    refraft_entry t1[2] = {fx_entry(1, NULL), fx_entry(1, record)};
    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, commit, t1, 2);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    refraft_entry t2[2] = {fx_entry(2, NULL), void_entry(2, 2)};
    ae = fx_append_entries(2, "n2", 2, 1, commit, t2, 2);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    return fx;
}

/*
 * A VOID of a deposed leader, still in a follower's log past the commit
 * index, settles nothing for applying: when another leader commits the
 * entry with its record, the follower applies it only with the record,
 * and reports no data index past it.
 */
static void test_uncommitted_void_does_not_settle_committed_entry(void **s)
{
    (void)s;
    fixture *fx = deposed_leaders_void("r", 1);
    refraft_node *n3 = fx_raft(fx, 3);
    assert_int_equal(refraft_data_index(n3), 4);
    /* n1 leads term 3 with "r" committed at 2 (its NOOP of term 3 went
     * elsewhere): it tells n3 commit 2 through a heartbeat at 2. */
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    refraft_msg hb = fx_append_entries(3, "n1", 2, 1, 2, NULL, 0);
    fx_capture cap = {0};
    assert_int_equal(refraft_on_message(n3, &hb, fx_capture_reply, &cap), 0);
    assert_int_equal(refraft_commit_index(n3), 2);
    assert_int_equal(cap.last.msg.u.append_entries_result.data_index, 1);
    assert_int_equal(refraft_applied_index(n3), 1);
    assert_null(applied_at(fx, 3, 2));
    /* With the record, it applies "r" as an ordinary REF. */
    assert_int_equal(fx_records_stored(fx, 3, "r"), 0);
    assert_int_equal(refraft_applied_index(n3), 2);
    assert_int_equal(applied_at(fx, 3, 2)->type, REFRAFT_ENTRY_REF);
}

/* A follower that took a deposed leader's VOID(2) and then has it
 * truncated by the next leader: entry 2 is unsettled again (its record is
 * missing), and it says so in its very next result. */
static void test_truncating_a_void_unsettles_its_entry(void **state)
{
    (void)state;
    fixture *fx = deposed_leaders_void("r", 0);
    refraft_node *n3 = fx_raft(fx, 3);
    assert_int_equal(refraft_data_index(n3), 4);

    refraft_entry t3 = fx_entry(3, NULL);
    refraft_msg ae = fx_append_entries(3, "n1", 2, 1, 0, &t3, 1);
    fx_capture cap = {0};
    assert_int_equal(refraft_on_message(n3, &ae, fx_capture_reply, &cap), 0);
    assert_int_equal(refraft_void_of(n3, 2), 0);
    assert_int_equal(refraft_data_index(n3), 1);
    assert_int_equal(cap.last.msg.u.append_entries_result.match_index, 3);
    assert_int_equal(cap.last.msg.u.append_entries_result.data_index, 1);
}

/* Appends t1 entries {NOOP, a, b, c, d} and t2 entries {VOID(3), NOOP,
 * e, f, VOID(5)} to node 3 of fx; it holds a, c, e and f. */
static void nested_voids(fixture *fx)
{
    const char *rec[] = {"a", "c", "e", "f"};
    for (size_t k = 0; k < 4; k++)
        fx_record_put(fx, 3, rec[k]);
    refraft_entry t1[5] = {fx_entry(1, NULL), fx_entry(1, "a"),
                           fx_entry(1, "b"), fx_entry(1, "c"),
                           fx_entry(1, "d")};
    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 0, t1, 5);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    refraft_entry t2[5] = {void_entry(2, 3), fx_entry(2, NULL),
                           fx_entry(2, "e"), fx_entry(2, "f"),
                           void_entry(2, 5)};
    ae = fx_append_entries(2, "n2", 5, 1, 0, t2, 5);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
}

/* Spans nest: VOID(3) at 6 and VOID(5) at 10.  Index 7 lies in [5, 10);
 * below it, 4 lies in [3, 6): the report for match 7 is 2. */
static void test_nested_void_spans_clip_fully(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    fx_start(fx);
    nested_voids(fx);
    refraft_node *n3 = fx_raft(fx, 3);
    assert_int_equal(refraft_data_index(n3), 10);
    refraft_msg hb = fx_append_entries(2, "n2", 7, 2, 0, NULL, 0);
    fx_capture cap = {0};
    assert_int_equal(refraft_on_message(n3, &hb, fx_capture_reply, &cap), 0);
    assert_int_equal(cap.last.msg.u.append_entries_result.match_index, 7);
    assert_int_equal(cap.last.msg.u.append_entries_result.data_index, 2);
}

/* DESIGN.md: "An entry is settled when its record is present or a VOID
 * for it stands in the log at or before the index being counted": a VOID
 * further on settles nothing before the scan reaches it. */
static void test_void_settles_only_once_counted(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    fx_start(fx);
    refraft_entry t1[3] = {fx_entry(1, NULL), fx_entry(1, "x"),
                           fx_entry(1, "y")};
    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 0, t1, 3);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    refraft_entry v = void_entry(2, 2);
    ae = fx_append_entries(2, "n2", 3, 1, 0, &v, 1);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    /* x (2) waits for the VOID at 4, y (3) has none: nothing past 1. */
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 1);
    assert_int_equal(fx_records_stored(fx, 3, "y"), 0);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 4);
}

/* A node that restarts holding an uncommitted VOID(2) and a late copy of
 * the record applies 2 as ABANDONED once the VOID commits: the node finds
 * the VOIDs in its log at creation. */
static void test_restart_finds_voids_in_the_log(void **state)
{
    (void)state;
    fixture *fx = deposed_leaders_void("lost", 1);
    fx_crash(fx, 3);
    fx_record_put(fx, 3, "lost");
    fx_restart(fx, 3);
    assert_int_equal(refraft_void_of(fx_raft(fx, 3), 2), 4);
    refraft_msg hb = fx_append_entries(2, "n2", 4, 2, 4, NULL, 0);
    assert_int_equal(fx_inject(fx, 3, &hb), 0);
    assert_int_equal(refraft_applied_index(fx_raft(fx, 3)), 4);
    assert_int_equal(applied_at(fx, 3, 2)->type, REFRAFT_ENTRY_ABANDONED);
}

/* A result with a lower match index than one already seen is older: its
 * data index is not taken.  One with the same match index is taken even
 * when lower (a follower that lost records). */
static void test_older_result_does_not_set_data_index(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    for (int i = 1; i <= 3; i++) {
        fx_record_put(fx, i, "a");
        fx_record_put(fx, i, "b");
    }
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    assert_int_equal(fx_propose(fx, 1, "b", NULL), 0);
    fx_deliver_all(fx);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(n1, "n2", &p), 0);
    assert_int_equal(p.data_index, 3);

    refraft_msg res = fx_append_result(1, "n2", true, 2);
    res.u.append_entries_result.data_index = 2;
    assert_int_equal(fx_inject(fx, 1, &res), 0);
    assert_int_equal(refraft_peer_progress_get(n1, "n2", &p), 0);
    assert_int_equal(p.data_index, 3);

    res = fx_append_result(1, "n2", true, 3);
    res.u.append_entries_result.data_index = 1;
    assert_int_equal(fx_inject(fx, 1, &res), 0);
    assert_int_equal(refraft_peer_progress_get(n1, "n2", &p), 0);
    assert_int_equal(p.data_index, 1);
}

/* A follower reports its data index only with a match index acknowledged
 * to the leader of its current term: a match from an older term's leader
 * names another log. */
static void test_report_needs_an_ack_in_the_current_term(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_record_put(fx, 1, "a");
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    fx_deliver_all(fx);
    /* n3 leads term 2 as far as n2 knows: a probe n2 must reject. */
    refraft_msg ae = fx_append_entries(2, "n3", 9, 2, 0, NULL, 0);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    assert_int_equal(fx_records_stored(fx, 2, "a"), 0);
    assert_int_equal(fx_count(fx, 2, FX_ANY, FX_ANY), 0);
}

/* The leader's own record counts toward durable commit the moment it is
 * stored: no message needs to arrive. */
static void test_leader_commits_when_its_own_record_arrives(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_record_put(fx, 2, "a");
    refraft_index a = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &a), 0);
    fx_deliver_all(fx);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(refraft_commit_index(n1), a - 1);
    assert_int_equal(fx_records_stored(fx, 1, "a"), 0);
    assert_int_equal(refraft_commit_index(n1), a);
}

/* A records check that fails counts as "none present" and is retried on
 * the node's next tick, at heartbeat pace. */
static void test_failed_records_check_is_retried_on_tick(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    fx_node *fn = fx_node_at(fx, 2);
    fx_record_put(fx, 2, "a");
    fn->have_fails = true;
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    fx_deliver_all(fx);
    refraft_node *n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_data_index(n2), 1);
    uint64_t due = refraft_next_deadline(n2);
    assert_true(due <= fx->now + FX_ELECTION_TIMEOUT / 10);
    fn->have_fails = false;
    fx_advance(fx, due - fx->now);
    assert_int_equal(fx_tick(fx, 2), 0);
    assert_int_equal(refraft_data_index(n2), 2);
}

/* ---- truncation, restart, configuration -------------------------------- */

/* on_discard names every removed entry before the log loses it, and the
 * data index falls back below the truncation. */
static void test_truncation_discards_and_lowers_data_index(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    fx_start(fx);
    fx_record_put(fx, 3, "x");
    fx_record_put(fx, 3, "y");
    refraft_entry t1[3] = {fx_entry(1, NULL), fx_entry(1, "x"),
                           fx_entry(1, "y")};
    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 1, t1, 3);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 3);
    refraft_entry t2 = fx_entry(2, NULL);
    ae = fx_append_entries(2, "n2", 1, 1, 1, &t2, 1);
    assert_int_equal(fx_inject(fx, 3, &ae), 0);
    fx_node *fn = fx_node_at(fx, 3);
    assert_int_equal(fn->n_discarded, 2);
    assert_int_equal(fn->discarded[0].index, 2);
    assert_string_equal(fn->discarded[0].record, "x");
    assert_int_equal(fn->discarded[1].index, 3);
    assert_string_equal(fn->discarded[1].record, "y");
    assert_int_equal(fn->n_truncated, 1);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 2);
}

/* A restart checks the whole log for records: with the record store
 * wiped, the data index starts over; a data_index hint skips the check. */
static void test_restart_rechecks_records(void **state)
{
    (void)state;
    fixture *fx = cluster(3, REFRAFT_COMMIT_DURABLE);
    for (int i = 1; i <= 3; i++)
        fx_record_put(fx, i, "a");
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    fx_run(fx, 3 * FX_ELECTION_TIMEOUT);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 2);

    fx_crash(fx, 3);
    fx_record_drop(fx, 3, "a");
    fx_restart(fx, 3);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 1);

    fx_crash(fx, 3);
    fx_node_at(fx, 3)->config.data_index = 2;
    fx_node_at(fx, 3)->n_have_calls = 0;
    fx_restart(fx, 3);
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), 2);
    assert_int_equal(fx_node_at(fx, 3)->n_have_calls, 0);
}

static void test_config_errors(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node *fn = fx_node_at(fx, 1);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    refraft_node *node = NULL;
    char err[REFRAFT_ERRMSG_LEN];
    fn->config.id = fn->id;
    fn->config.commit_policy = 7;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log, &node,
                                         err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "commit policy"));
    fn->config.commit_policy = REFRAFT_COMMIT_DURABLE;
    fn->config.data_index = 5;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log, &node,
                                         err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "data index"));
    assert_null(node);
}

/* Without have_records every record counts as present. */
static void test_without_have_records_data_follows_log(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    assert_int_equal(fx_propose(fx, 1, "a", NULL), 0);
    assert_int_equal(refraft_data_index(fx_raft(fx, 1)), 2);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_data_index_follows_records, fx_cleanup),
        cmocka_unit_test_teardown(
            test_append_with_missing_records_emits_data_event, fx_cleanup),
        cmocka_unit_test_teardown(
            test_durable_commit_waits_for_records_on_majority, fx_cleanup),
        cmocka_unit_test_teardown(test_reference_commit_ignores_records,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_apply_waits_for_the_record, fx_cleanup),
        cmocka_unit_test_teardown(test_reported_data_index_is_within_match,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_result_with_data_above_match_is_refused,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_peer_progress_and_peer_ids, fx_cleanup),
        cmocka_unit_test_teardown(test_void_abandons_entry_everywhere,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_late_copy_of_voided_record_is_ignored,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_no_commit_inside_void_span, fx_cleanup),
        cmocka_unit_test_teardown(
            test_advertised_commit_is_clipped_for_lagging_follower, fx_cleanup),
        cmocka_unit_test_teardown(test_void_refusals, fx_cleanup),
        cmocka_unit_test_teardown(test_void_needs_the_durable_policy,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_malformed_void_is_refused, fx_cleanup),
        cmocka_unit_test_teardown(
            test_uncommitted_void_does_not_settle_committed_entry, fx_cleanup),
        cmocka_unit_test_teardown(test_truncating_a_void_unsettles_its_entry,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_nested_void_spans_clip_fully,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_void_settles_only_once_counted,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_restart_finds_voids_in_the_log,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_older_result_does_not_set_data_index,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_report_needs_an_ack_in_the_current_term,
                                  fx_cleanup),
        cmocka_unit_test_teardown(
            test_leader_commits_when_its_own_record_arrives, fx_cleanup),
        cmocka_unit_test_teardown(test_failed_records_check_is_retried_on_tick,
                                  fx_cleanup),
        cmocka_unit_test_teardown(
            test_truncation_discards_and_lowers_data_index, fx_cleanup),
        cmocka_unit_test_teardown(test_restart_rechecks_records, fx_cleanup),
        cmocka_unit_test_teardown(test_config_errors, fx_cleanup),
        cmocka_unit_test_teardown(test_without_have_records_data_follows_log,
                                  fx_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
