/* test_rules.c - Figure 2 "Rules for All Servers", §5.1 and the term rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

#define T FX_ELECTION_TIMEOUT

/* A 3-node cluster in which n1 won term 1 and every log holds its NOOP. */
static fixture *cluster_with_leader(void)
{
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_pending(fx), 0);
    return fx;
}

static void assert_follower_without_vote(fixture *fx, int i, refraft_term term)
{
    refraft_node *node = fx_raft(fx, i);
    refraft_term saved;
    char vote[REFRAFT_ID_MAX + 1];
    assert_int_equal(refraft_role(node), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(node), term);
    assert_null(refraft_voted_for(node));
    /* Figure 2: currentTerm and votedFor live on stable storage. */
    fx_hard_state(fx, i, &saved, vote);
    assert_int_equal(saved, term);
    assert_string_equal(vote, "");
}

/*
 * DESIGN.md contract 6: "Any message whose term is larger than ours: adopt
 * the term, clear the vote, become follower, then process it."
 * Message: AppendEntries, reaching a leader (§5.1: "If a candidate or
 * leader discovers that its term is out of date, it immediately reverts
 * to follower state.").
 */
static void test_term_rule_append_entries(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader();
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n1");

    refraft_msg ae = fx_append_entries(3, "n2", 1, 1, 1, NULL, 0);
    assert_int_equal(fx_inject(fx, 1, &ae), 0);

    assert_follower_without_vote(fx, 1, 3);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 1)), "n2");
    /* ...then process it: the heartbeat matches n1's log and is acked. */
    fx_msg *res = fx_find(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_int_equal(res->msg.u.append_entries_result.term, 3);
    assert_true(res->msg.u.append_entries_result.success);
    assert_int_equal(res->msg.u.append_entries_result.match_index, 1);
    assert_int_equal(fx_pending(fx), 1);
}

/*
 * DESIGN.md contract 6: "Any message whose term is larger than ours: adopt
 * the term, clear the vote, become follower, then process it."
 * Message: an AppendEntries result, reaching the leader that asked.
 */
static void test_term_rule_append_entries_result(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader();

    refraft_msg res = fx_append_result(4, "n2", false, 0);
    assert_int_equal(fx_inject(fx, 1, &res), 0);

    assert_follower_without_vote(fx, 1, 4);
    assert_null(refraft_leader_id(fx_raft(fx, 1)));
    /* A follower has nothing to do with a result: nothing is sent. */
    assert_int_equal(fx_pending(fx), 0);
}

/*
 * DESIGN.md contract 6: "Any message whose term is larger than ours: adopt
 * the term, clear the vote, become follower, then process it."
 * Message: RequestVote, reaching a follower that voted in an older term;
 * processing it means granting the vote, which the cleared vote allows.
 */
static void test_term_rule_request_vote(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader();
    assert_string_equal(refraft_voted_for(fx_raft(fx, 2)), "n1");
    /* Long enough since n1 was heard that no lease is involved. */
    fx_advance(fx, 2 * T);

    refraft_msg rv = fx_request_vote(3, "n3", 1, 1, false);
    assert_int_equal(fx_inject(fx, 2, &rv), 0);

    refraft_node *n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_role(n2), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n2), 3);
    assert_null(refraft_leader_id(n2));
    assert_string_equal(refraft_voted_for(n2), "n3");
    fx_msg *res = fx_find(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.request_vote_result.vote_granted);
    assert_int_equal(res->msg.u.request_vote_result.term, 3);
}

/*
 * DESIGN.md contract 6: "Any message whose term is larger than ours: adopt
 * the term, clear the vote, become follower, then process it."
 * Message: a RequestVote result, reaching a candidate: a voter that is
 * ahead turns the candidate back into a follower of the newer term.
 */
static void test_term_rule_request_vote_result(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_start(fx);
    fx_timeout(fx, 1);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_CANDIDATE);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg res = fx_vote_result(3, "n2", false, false);
    assert_int_equal(fx_inject(fx, 1, &res), 0);

    assert_follower_without_vote(fx, 1, 3);
    assert_int_equal(fx_pending(fx), 0);
}

/*
 * DESIGN.md contract 6: "Any message whose term is larger than ours: adopt
 * the term, clear the vote, become follower, then process it."
 * Message: a rejected pre-vote result.  It carries the voter's term, and a
 * pre-candidate behind it must catch up (a granted one echoes the
 * requested term instead: see the next test).
 */
static void test_term_rule_rejected_pre_vote_result(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_timeout(fx, 1);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_PRECANDIDATE);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg res = fx_vote_result(5, "n2", false, true);
    assert_int_equal(fx_inject(fx, 1, &res), 0);

    assert_follower_without_vote(fx, 1, 5);
    assert_int_equal(fx_pending(fx), 0);
}

/*
 * DESIGN.md contract 6: "(Pre-vote requests do not raise terms.)"  A
 * pre-vote request names the term its sender would campaign in; the
 * receiver answers it, rejected or granted, and keeps its own term and
 * vote.
 */
static void test_pre_vote_request_does_not_raise_term(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader();
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_msg rv = fx_request_vote(5, "n3", 1, 1, true);

    /* n2 heard from its leader just now: rejected, with n2's term. */
    assert_int_equal(fx_inject(fx, 2, &rv), 0);
    fx_msg *res = fx_find(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.request_vote_result.vote_granted);
    assert_true(res->msg.u.request_vote_result.pre_vote);
    assert_int_equal(res->msg.u.request_vote_result.term, 1);
    assert_int_equal(refraft_current_term(n2), 1);
    assert_string_equal(refraft_voted_for(n2), "n1");
    assert_string_equal(refraft_leader_id(n2), "n1");
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    /* An election timeout later the leader is silent: granted, echoing
     * the requested term, and still n2's term and vote do not move. */
    fx_advance(fx, 2 * T);
    assert_int_equal(fx_inject(fx, 2, &rv), 0);
    res = fx_find(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.request_vote_result.vote_granted);
    assert_true(res->msg.u.request_vote_result.pre_vote);
    assert_int_equal(res->msg.u.request_vote_result.term, 5);
    assert_int_equal(refraft_role(n2), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n2), 1);
    assert_string_equal(refraft_voted_for(n2), "n1");
    refraft_term saved;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, 2, &saved, vote);
    assert_int_equal(saved, 1);
    assert_string_equal(vote, "n1");
}

/*
 * DESIGN.md contract 6: "(Pre-vote requests do not raise terms.)"  Nor do
 * their grants: a granted pre-vote echoes the term the pre-candidate asked
 * about, which is larger than its own, and that must not count as news of
 * a newer term.  In a 5-node cluster one grant is not yet a majority, so
 * n1 stays a pre-candidate in term 0.
 */
static void test_granted_pre_vote_result_does_not_raise_term(void **state)
{
    (void)state;
    fixture *fx = fx_new(5);
    fx_start(fx);
    fx_timeout(fx, 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg res = fx_vote_result(1, "n2", true, true);
    assert_int_equal(fx_inject(fx, 1, &res), 0);

    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(refraft_role(n1), REFRAFT_PRECANDIDATE);
    assert_int_equal(refraft_current_term(n1), 0);
    assert_null(refraft_voted_for(n1));
}

/* A follower n2 that is in term 3 with an empty log and no leader. */
static fixture *follower_in_term_3(void)
{
    fixture *fx = fx_new(3);
    fx_set_hard_state(fx, 2, 3, NULL);
    fx_start(fx);
    return fx;
}

/* Nothing changed but the rejection that went out (sent and queued). */
static void assert_unchanged_but_one_rejection_sent(fixture *fx, int i,
                                                    const fx_state *before)
{
    fx_state expect = *before;
    expect.n_sent++;
    expect.n_queued++;
    fx_assert_state_unchanged(fx, i, &expect);
}

/*
 * §5.1: "If a server receives a request with a stale term number, it
 * rejects the request."  Figure 2, AppendEntries RPC, receiver
 * implementation 1: "Reply false if term < currentTerm (§5.1)".  The
 * rejection carries the newer term so the stale leader learns of it, and
 * a stale leader does not count as hearing from a leader: the election
 * timer keeps running.
 */
static void test_stale_append_entries_rejected(void **state)
{
    (void)state;
    fixture *fx = follower_in_term_3();
    fx_state before;
    fx_state_get(fx, 2, &before);
    uint64_t deadline = refraft_next_deadline(fx_raft(fx, 2));
    fx_advance(fx, 10);

    refraft_entry e = fx_entry(2, "r1");
    refraft_msg ae = fx_append_entries(2, "n1", 0, 0, 1, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_ESTALE);

    assert_unchanged_but_one_rejection_sent(fx, 2, &before);
    assert_int_equal(refraft_next_deadline(fx_raft(fx, 2)), deadline);
    fx_msg *res = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.append_entries_result.success);
    assert_int_equal(res->msg.u.append_entries_result.term, 3);
    assert_string_equal(res->msg.u.append_entries_result.follower_id, "n2");
}

/*
 * §5.1: "If a server receives a request with a stale term number, it
 * rejects the request."  Figure 2, RequestVote RPC, receiver
 * implementation 1: "Reply false if term < currentTerm (§5.1)".
 */
static void test_stale_request_vote_rejected(void **state)
{
    (void)state;
    fixture *fx = follower_in_term_3();
    fx_state before;
    fx_state_get(fx, 2, &before);

    refraft_msg rv = fx_request_vote(2, "n1", 5, 2, false);
    assert_int_equal(fx_inject(fx, 2, &rv), REFRAFT_ESTALE);

    assert_unchanged_but_one_rejection_sent(fx, 2, &before);
    assert_null(refraft_voted_for(fx_raft(fx, 2)));
    fx_msg *res = fx_find(fx, 2, 1, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.request_vote_result.vote_granted);
    assert_int_equal(res->msg.u.request_vote_result.term, 3);
    assert_string_equal(res->msg.u.request_vote_result.voter_id, "n2");
}

static void
assert_applied_exactly(fixture *fx, int i, const char *const *want, size_t n)
{
    fx_node *fn = fx_node_at(fx, i);
    assert_int_equal(fn->n_applied, n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(fn->applied[k].index, k + 1);
        assert_string_equal(fn->applied[k].record, want[k]);
    }
    assert_int_equal(refraft_applied_index(fx_raft(fx, i)), n);
}

/*
 * Figure 2, Rules for All Servers: "If commitIndex > lastApplied:
 * increment lastApplied, apply log[lastApplied] to state machine (§5.3)".
 * Every committed entry is applied once, in index order, on every server,
 * and nothing uncommitted is applied.
 */
static void test_apply_committed_entries_in_order_once(void **state)
{
    (void)state;
    static const char *const want[] = {"", "r1", "r2", "r3"};
    fixture *fx = cluster_with_leader();
    /* The leader's NOOP is committed (all three hold it) and applied. */
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_applied_exactly(fx, 1, want, 1);

    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);
    assert_int_equal(fx_propose(fx, 1, "r2", &idx), 0);
    assert_int_equal(fx_propose(fx, 1, "r3", &idx), 0);
    assert_int_equal(idx, 4);
    /* Appended but not committed: not applied. */
    assert_applied_exactly(fx, 1, want, 1);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 4);
    assert_applied_exactly(fx, 1, want, 4);

    /* Followers learn the commit index from the next AppendEntries. */
    fx_run(fx, T);
    for (int i = 1; i <= 3; i++)
        assert_applied_exactly(fx, i, want, 4);

    /* Time passing and heartbeats flowing apply nothing twice. */
    fx_run(fx, 5 * T);
    for (int i = 1; i <= 3; i++)
        assert_applied_exactly(fx, i, want, 4);
    fx_assert_state_machine_safety(fx);
}

/*
 * DESIGN.md contract 2: "with one-way comms it passes NULL and the node
 * sends the result through the hull's send(to_id, msg)."  The result is
 * addressed by the id the request names.
 */
static void test_reply_null_sends_result_to_requester(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);

    refraft_msg rv = fx_request_vote(1, "n3", 0, 0, false);
    assert_int_equal(refraft_on_message(fx_raft(fx, 2), &rv, NULL, NULL), 0);
    assert_int_equal(fx_count(fx, 2, FX_ANY, FX_ANY), 1);
    fx_msg *res = fx_find(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_string_equal(res->to_id, "n3");
    assert_true(res->msg.u.request_vote_result.vote_granted);

    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 0, NULL, 0);
    assert_int_equal(refraft_on_message(fx_raft(fx, 2), &ae, NULL, NULL), 0);
    res = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_string_equal(res->to_id, "n1");
    assert_true(res->msg.u.append_entries_result.success);
}

/*
 * DESIGN.md contract 2: "with RPC comms the caller passes a reply callback
 * that answers the request in place".  The result goes to the callback,
 * once, before on_message returns, and not through send(); a stale
 * request's rejection too.
 */
static void test_reply_callback_answers_in_place(void **state)
{
    (void)state;
    fixture *fx = follower_in_term_3();
    refraft_node *n2 = fx_raft(fx, 2);
    fx_capture cap;
    memset(&cap, 0, sizeof(cap));

    refraft_msg rv = fx_request_vote(3, "n3", 0, 0, false);
    assert_int_equal(refraft_on_message(n2, &rv, fx_capture_reply, &cap), 0);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.last.msg.type, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_true(cap.last.msg.u.request_vote_result.vote_granted);
    assert_string_equal(cap.last.msg.u.request_vote_result.voter_id, "n2");

    refraft_msg ae = fx_append_entries(3, "n3", 0, 0, 0, NULL, 0);
    assert_int_equal(refraft_on_message(n2, &ae, fx_capture_reply, &cap), 0);
    assert_int_equal(cap.calls, 2);
    assert_int_equal(cap.last.msg.type, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_true(cap.last.msg.u.append_entries_result.success);

    refraft_msg stale = fx_append_entries(2, "n1", 0, 0, 0, NULL, 0);
    assert_int_equal(refraft_on_message(n2, &stale, fx_capture_reply, &cap),
                     REFRAFT_ESTALE);
    assert_int_equal(cap.calls, 3);
    assert_false(cap.last.msg.u.append_entries_result.success);
    assert_int_equal(cap.last.msg.u.append_entries_result.term, 3);

    assert_int_equal(fx_node_at(fx, 2)->n_sent, 0);
}

/*
 * DESIGN.md contract 2: "Messages that are not responses always go through
 * send, addressed by opaque id."  Header: "Results (the *_RESULT types)
 * never produce a reply."  The vote that makes n1 leader arrives with a
 * reply callback; the callback is not called and the new leader's
 * AppendEntries go out through send().
 */
static void test_results_never_reply_requests_go_through_send(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_start(fx);
    fx_timeout(fx, 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_capture cap;
    memset(&cap, 0, sizeof(cap));

    refraft_msg res = fx_vote_result(1, "n2", true, false);
    assert_int_equal(
        refraft_on_message(fx_raft(fx, 1), &res, fx_capture_reply, &cap), 0);

    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(fx_count(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES), 1);
    assert_int_equal(fx_count(fx, 1, 3, REFRAFT_MSG_APPEND_ENTRIES), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_term_rule_append_entries, fx_cleanup),
        cmocka_unit_test_teardown(test_term_rule_append_entries_result,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_term_rule_request_vote, fx_cleanup),
        cmocka_unit_test_teardown(test_term_rule_request_vote_result,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_term_rule_rejected_pre_vote_result,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_pre_vote_request_does_not_raise_term,
                                  fx_cleanup),
        cmocka_unit_test_teardown(
            test_granted_pre_vote_result_does_not_raise_term, fx_cleanup),
        cmocka_unit_test_teardown(test_stale_append_entries_rejected,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_stale_request_vote_rejected, fx_cleanup),
        cmocka_unit_test_teardown(test_apply_committed_entries_in_order_once,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_reply_null_sends_result_to_requester,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_reply_callback_answers_in_place,
                                  fx_cleanup),
        cmocka_unit_test_teardown(
            test_results_never_reply_requests_go_through_send, fx_cleanup),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
