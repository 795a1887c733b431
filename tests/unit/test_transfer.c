/* test_transfer.c - leadership transfer (Raft thesis §3.10):
 * refraft_transfer and TimeoutNow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"

#define T FX_ELECTION_TIMEOUT

/*
 * The fixture's message queue cannot carry TimeoutNow (its deep copy
 * knows no sender field for REFRAFT_MSG_TIMEOUT_NOW and fails the test),
 * so this file wraps the fixture's send: TimeoutNow messages are kept
 * here, lost like the fixture's when either end is isolated, and handed
 * to the target by timeout_now_deliver(); every other message goes to
 * the fixture's queue.
 */
typedef struct timeout_now {
    int from, to;
    refraft_term term;
    char leader[REFRAFT_ID_MAX + 1];
} timeout_now;

#define MAX_TN 8
static timeout_now tns[MAX_TN];
static size_t n_tns;
static int (*fixture_send)(void *ctx, const char *to_id,
                           const refraft_msg *msg);

static int node_num(fixture *fx, const char *id)
{
    for (int i = 1; i <= fx->n; i++)
        if (strcmp(fx_node_at(fx, i)->id, id) == 0)
            return i;
    return 0;
}

static int send_wrap(void *ctx, const char *to_id, const refraft_msg *msg)
{
    if (msg->type != REFRAFT_MSG_TIMEOUT_NOW)
        return fixture_send(ctx, to_id, msg);
    fx_node *fn = ctx;
    int to = node_num(fn->fx, to_id);
    if (fn->isolated || (to != 0 && fx_node_at(fn->fx, to)->isolated))
        return 0;
    if (n_tns == MAX_TN)
        fail_msg("more than %d TimeoutNow messages", MAX_TN);
    timeout_now *t = &tns[n_tns++];
    t->from = fn->num;
    t->to = to;
    t->term = msg->u.timeout_now.term;
    snprintf(t->leader, sizeof(t->leader), "%s",
             msg->u.timeout_now.leader_id != NULL ? msg->u.timeout_now.leader_id
                                                  : "");
    return 0;
}

static size_t timeout_nows(int from, int to)
{
    size_t n = 0;
    for (size_t k = 0; k < n_tns; k++)
        n += (from == FX_ANY || tns[k].from == from) &&
             (to == FX_ANY || tns[k].to == to);
    return n;
}

/* Hand the first TimeoutNow kept for node to to it; its result. */
static int timeout_now_deliver(fixture *fx, int to)
{
    for (size_t k = 0; k < n_tns; k++) {
        if (tns[k].to != to)
            continue;
        timeout_now t = tns[k];
        memmove(&tns[k], &tns[k + 1], (n_tns - k - 1) * sizeof(tns[0]));
        n_tns--;
        refraft_msg m;
        memset(&m, 0, sizeof(m));
        m.type = REFRAFT_MSG_TIMEOUT_NOW;
        m.u.timeout_now.term = t.term;
        m.u.timeout_now.leader_id = t.leader;
        return refraft_on_message(fx_raft(fx, to), &m, NULL, NULL);
    }
    fail_msg("no TimeoutNow for n%d", to);
    return -1;
}

/* Start every node of fx with the fixture's hull, send wrapped. */
static void start_wrapped(fixture *fx)
{
    n_tns = 0;
    for (int i = 1; i <= fx->n; i++) {
        fx_node *fn = fx_node_at(fx, i);
        refraft_hull hull;
        char err[REFRAFT_ERRMSG_LEN] = "";
        fx_hull(fx, i, &hull);
        fixture_send = hull.send;
        hull.send = send_wrap;
        int rv = refraft_node_create(&fn->config, &hull, &fn->log, &fn->node,
                                     err, sizeof(err));
        if (rv != 0)
            fail_msg("creating n%d failed: %s (%s)", i, refraft_strerror(rv),
                     err);
    }
}

/* n nodes, n1 elected, every message delivered. */
static fixture *cluster(int n)
{
    fixture *fx = fx_new(n);
    start_wrapped(fx);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    return fx;
}

static int role_of(fixture *fx, int i)
{
    return refraft_role(fx_raft(fx, i));
}

/*
 * §3.10: "The prior leader sends a TimeoutNow request to the target
 * server.  This request has the same effect as the target server's
 * election timer firing: the target server starts a new election".  A
 * caught-up target gets TimeoutNow at once, campaigns without a
 * pre-vote, and wins the next term.
 */
static void test_transfer_to_caught_up_follower(void **state)
{
    (void)state;
    fixture *fx = cluster(3);
    refraft_term term = refraft_current_term(fx_raft(fx, 1));
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n2"), 0);
    assert_string_equal(refraft_transfer_target(fx_raft(fx, 1)), "n2");
    assert_int_equal(timeout_nows(1, 2), 1);
    assert_int_equal(timeout_nows(1, 3), 0);
    assert_int_equal(tns[0].term, term);
    assert_string_equal(tns[0].leader, "n1");

    assert_int_equal(timeout_now_deliver(fx, 2), 0);
    assert_int_equal(role_of(fx, 2), REFRAFT_CANDIDATE);
    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), term + 1);
    /* No pre-vote: a real RequestVote, marked as a transfer's. */
    fx_msg *rv = fx_find(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE);
    assert_non_null(rv);
    assert_false(rv->msg.u.request_vote.pre_vote);
    assert_true(rv->msg.u.request_vote.transfer);
    fx_deliver_all(fx);
    assert_int_equal(role_of(fx, 2), REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), term + 1);
    assert_int_equal(role_of(fx, 1), REFRAFT_FOLLOWER);
    assert_null(refraft_transfer_target(fx_raft(fx, 1)));
    assert_string_equal(refraft_leader_id(fx_raft(fx, 3)), "n2");
}

/*
 * §3.10: "the prior leader stops accepting new client requests" while
 * the transfer is under way: proposals get REFRAFT_EBUSY and append
 * nothing.
 */
static void test_proposals_busy_during_transfer(void **state)
{
    (void)state;
    fixture *fx = cluster(3);
    fx_isolate(fx, 3, true);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), 0);
    refraft_index last = refraft_last_index(fx_raft(fx, 1));
    refraft_index index = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &index), REFRAFT_EBUSY);
    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), last);
}

/*
 * §3.10: "The prior leader ... brings the target server's log up to
 * date": a target that lags gets no TimeoutNow until its match and data
 * index reach the leader's last index.
 */
static void test_lagging_target_caught_up_first(void **state)
{
    (void)state;
    fixture *fx = cluster(3);
    fx_isolate(fx, 3, true);
    refraft_index index = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &index), 0);
    assert_int_equal(fx_propose(fx, 1, "b", &index), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), index);
    assert_true(fx_log_last(fx, 3) < index);
    fx_isolate(fx, 3, false);

    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), 0);
    assert_int_equal(timeout_nows(FX_ANY, FX_ANY), 0);
    /* Heartbeats bring n3 up to date; only then does TimeoutNow go. */
    for (int k = 0; k < 20 && timeout_nows(1, 3) == 0; k++) {
        fx_advance(fx, T / 10);
        fx_tick(fx, 1);
        while (fx_pending(fx) > 0 && timeout_nows(1, 3) == 0)
            fx_deliver(fx, 0);
    }
    assert_int_equal(timeout_nows(1, 3), 1);
    assert_int_equal(fx_log_last(fx, 3), refraft_last_index(fx_raft(fx, 1)));
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    assert_int_equal(timeout_now_deliver(fx, 3), 0);
    fx_deliver_all(fx);
    assert_int_equal(role_of(fx, 3), REFRAFT_LEADER);
    assert_true(fx_logs_equal(fx, 1, 3));
}

/*
 * §3.10: "If the transfer does not complete within an election timeout,
 * the prior leader aborts the transfer and resumes accepting client
 * requests."
 */
static void test_transfer_times_out(void **state)
{
    (void)state;
    fixture *fx = cluster(3);
    fx_isolate(fx, 3, true);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), 0);
    fx_advance(fx, T - 1);
    fx_tick(fx, 1);
    fx_deliver_all(fx);
    assert_string_equal(refraft_transfer_target(fx_raft(fx, 1)), "n3");
    refraft_index index = 0;
    assert_int_equal(fx_propose(fx, 1, "a", &index), REFRAFT_EBUSY);

    fx_advance(fx, 1);
    fx_tick(fx, 1);
    assert_null(refraft_transfer_target(fx_raft(fx, 1)));
    assert_int_equal(role_of(fx, 1), REFRAFT_LEADER);
    assert_int_equal(fx_propose(fx, 1, "a", &index), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), index);
}

/* refraft.h: REFRAFT_EINVAL "when target_id is this node, not a member
 * or a learner"; nothing changes. */
static void test_transfer_bad_target_einval(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    start_wrapped(fx);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    refraft_index index = 0;
    assert_int_equal(
        refraft_add_learner(fx_raft(fx, 1), "n4", "http://n4:7000", &index), 0);
    fx_deliver_all(fx);
    const char *bad[] = {"n1", "n9", "n4", ""};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        assert_int_equal(refraft_transfer(fx_raft(fx, 1), bad[k]),
                         REFRAFT_EINVAL);
        assert_null(refraft_transfer_target(fx_raft(fx, 1)));
    }
    assert_int_equal(timeout_nows(FX_ANY, FX_ANY), 0);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), NULL), REFRAFT_EINVAL);
}

/* refraft.h: REFRAFT_EBUSY "when a transfer is under way already"; the
 * first one stands.  A follower is refused with REFRAFT_ENOTLEADER. */
static void test_second_transfer_busy(void **state)
{
    (void)state;
    fixture *fx = cluster(3);
    fx_isolate(fx, 3, true);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), 0);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n2"), REFRAFT_EBUSY);
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), REFRAFT_EBUSY);
    assert_string_equal(refraft_transfer_target(fx_raft(fx, 1)), "n3");
    assert_int_equal(refraft_transfer(fx_raft(fx, 2), "n3"),
                     REFRAFT_ENOTLEADER);
}

/* Only the leader this node follows, in this term, may make it campaign
 * out of turn: a stray TimeoutNow (another member's, or a late one from
 * a past term) changes nothing. */
static void test_timeout_now_only_from_the_leader(void **state)
{
    fixture *fx = cluster(3);
    *state = fx;
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_term term = refraft_current_term(n2);
    refraft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = REFRAFT_MSG_TIMEOUT_NOW;
    m.u.timeout_now.term = term;
    m.u.timeout_now.leader_id = "n3";
    assert_int_equal(refraft_on_message(n2, &m, NULL, NULL), 0);
    assert_int_equal(refraft_role(n2), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n2), term);
    assert_int_equal(fx_count(fx, 2, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 0);

    /* The leader named, of the term n2 is in: it campaigns. */
    m.u.timeout_now.leader_id = "n1";
    assert_int_equal(refraft_on_message(n2, &m, NULL, NULL), 0);
    assert_int_equal(refraft_role(n2), REFRAFT_CANDIDATE);
    assert_int_equal(refraft_current_term(n2), term + 1);

    /* One of a term n3 has not seen: n3 takes the term (the term rule)
     * but follows no leader in it, so it does not campaign. */
    refraft_node *n3 = fx_raft(fx, 3);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    m.u.timeout_now.term = term + 5;
    assert_int_equal(refraft_on_message(n3, &m, NULL, NULL), 0);
    assert_int_equal(refraft_role(n3), REFRAFT_FOLLOWER);
    assert_int_equal(refraft_current_term(n3), term + 5);
    assert_int_equal(fx_count(fx, 3, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 0);
}

/* A leader that removed itself cannot hand over: its target goes by a
 * configuration without it and would refuse its TimeoutNow; the removal's
 * commit ends its leadership instead (thesis §4.2.2). */
static void test_leader_being_removed_cannot_transfer(void **state)
{
    fixture *fx = cluster(3);
    *state = fx;
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index at = 0;
    assert_int_equal(refraft_remove(n1, "n1", &at), 0);
    assert_int_equal(refraft_transfer(n1, "n2"), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n1), "being removed"));
    assert_null(refraft_transfer_target(n1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_transfer_to_caught_up_follower,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_proposals_busy_during_transfer,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_lagging_target_caught_up_first,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_transfer_times_out, fx_cleanup),
        cmocka_unit_test_teardown(test_transfer_bad_target_einval, fx_cleanup),
        cmocka_unit_test_teardown(test_second_transfer_busy, fx_cleanup),
        cmocka_unit_test_teardown(test_timeout_now_only_from_the_leader,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_leader_being_removed_cannot_transfer,
                                  fx_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
