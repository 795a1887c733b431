/* test_readindex.c - linearizable reads without log writes (ReadIndex,
 * Raft thesis §6.4): refraft_read_index and hull.on_read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"

/* What hull.on_read was told, per node (the fixture's hull has no
 * on_read: this file wraps it). */
#define MAX_READS 16
typedef struct read_call {
    uint64_t id;
    int status;
    refraft_index index;
} read_call;

static read_call calls[FX_MAX_NODES + 1][MAX_READS];
static size_t n_calls[FX_MAX_NODES + 1];

static void
record_read(void *ctx, uint64_t read_id, int status, refraft_index index)
{
    fx_node *fn = ctx; /* the fixture's hull context */
    if (n_calls[fn->num] == MAX_READS)
        fail_msg("n%d: more than %d on_read calls", fn->num, MAX_READS);
    calls[fn->num][n_calls[fn->num]++] =
        (read_call){.id = read_id, .status = status, .index = index};
}

/* Start every node of fx with the fixture's hull plus on_read. */
static void start_reading(fixture *fx)
{
    memset(n_calls, 0, sizeof(n_calls));
    for (int i = 1; i <= fx->n; i++) {
        fx_node *fn = fx_node_at(fx, i);
        refraft_hull hull;
        char err[REFRAFT_ERRMSG_LEN] = "";
        fx_hull(fx, i, &hull);
        hull.on_read = record_read;
        int rv = refraft_node_create(&fn->config, &hull, &fn->log, &fn->node,
                                     err, sizeof(err));
        if (rv != 0)
            fail_msg("creating n%d failed: %s (%s)", i, refraft_strerror(rv),
                     err);
    }
}

/* n nodes reading, n1 elected, every message delivered (its no-op is
 * committed on n1). */
static fixture *reading_cluster(int n)
{
    fixture *fx = fx_new(n);
    start_reading(fx);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    return fx;
}

static uint64_t read_index(fixture *fx, int i)
{
    uint64_t id = 0;
    int rv = refraft_read_index(fx_raft(fx, i), &id);
    if (rv != 0)
        fail_msg("read_index on n%d: %s (%s)", i, refraft_strerror(rv),
                 refraft_errmsg(fx_raft(fx, i)));
    return id;
}

/* The read round the first queued AppendEntries from..to carries. */
static uint64_t round_to(fixture *fx, int from, int to)
{
    fx_msg *m = fx_find(fx, from, to, REFRAFT_MSG_APPEND_ENTRIES);
    assert_non_null(m);
    return m->msg.u.append_entries.read_round;
}

/*
 * §6.4: the leader "needs to make sure it hasn't been superseded by a
 * newer leader ... [it] issues a new round of heartbeats and waits for
 * their acknowledgments from a majority of the cluster."  The read is
 * decided only when one follower's echo makes a majority with the leader,
 * and an echo of an older round does not count.
 */
static void test_read_confirmed_by_majority_echo(void **state)
{
    (void)state;
    fixture *fx = reading_cluster(3);
    refraft_index commit = refraft_commit_index(fx_raft(fx, 1));
    assert_true(commit >= 1);
    uint64_t id = read_index(fx, 1);
    assert_int_equal(n_calls[1], 0);
    uint64_t round = round_to(fx, 1, 2);
    assert_true(round >= 1);
    assert_int_equal(round_to(fx, 1, 3), round);

    /* An echo of an earlier round (round 0: an unsolicited result). */
    refraft_msg old = fx_append_result(refraft_current_term(fx_raft(fx, 1)),
                                       "n2", true, commit);
    old.u.append_entries_result.data_index = commit;
    old.u.append_entries_result.read_round = round - 1;
    assert_int_equal(fx_inject(fx, 1, &old), 0);
    assert_int_equal(n_calls[1], 0);

    /* n2 gets the round and answers; n3's copy stays queued. */
    fx_deliver_first(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES);
    assert_int_equal(n_calls[1], 0);
    fx_msg *echo = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(echo);
    assert_int_equal(echo->msg.u.append_entries_result.read_round, round);
    fx_deliver_first(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_int_equal(n_calls[1], 1);
    assert_int_equal(calls[1][0].id, id);
    assert_int_equal(calls[1][0].status, 0);
    assert_int_equal(calls[1][0].index, commit);

    /* n3's late echo decides nothing more. */
    fx_deliver_all(fx);
    assert_int_equal(n_calls[1], 1);
}

/*
 * §6.4: "If the leader has not yet marked an entry from its current term
 * committed, it waits until it has done so."  A read asked for before
 * the new leader's no-op commits is decided once it has, with that
 * commit index, even when the round was confirmed first.
 */
static bool no_append_results(fixture *fx, const fx_msg *m, void *arg)
{
    (void)fx;
    (void)arg;
    return m->msg.type != REFRAFT_MSG_APPEND_ENTRIES_RESULT;
}

static void test_read_waits_for_leader_noop(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    start_reading(fx);
    /* Elect n1, but lose every AppendEntries result: the no-op (index 1)
     * stays uncommitted. */
    for (int round = 0;
         round < 4 && refraft_role(fx_raft(fx, 1)) != REFRAFT_LEADER; round++) {
        fx_timeout(fx, 1);
        fx_deliver_filtered(fx, no_append_results, NULL);
    }
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 0);
    refraft_term term = refraft_current_term(fx_raft(fx, 1));

    uint64_t id = read_index(fx, 1);
    uint64_t round = round_to(fx, 1, 2);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    /* n2 echoes the round but matches nothing yet: the round is
     * confirmed, the no-op is not committed. */
    refraft_msg echo = fx_append_result(term, "n2", true, 0);
    echo.u.append_entries_result.read_round = round;
    assert_int_equal(fx_inject(fx, 1, &echo), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 0);
    assert_int_equal(n_calls[1], 0);

    /* The no-op commits: the read is decided with index 1. */
    refraft_msg match = fx_append_result(term, "n2", true, 1);
    match.u.append_entries_result.data_index = 1;
    match.u.append_entries_result.read_round = round;
    assert_int_equal(fx_inject(fx, 1, &match), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(n_calls[1], 1);
    assert_int_equal(calls[1][0].id, id);
    assert_int_equal(calls[1][0].status, 0);
    assert_int_equal(calls[1][0].index, 1);
}

/*
 * §6.4 / refraft.h: a read is decided with REFRAFT_ENOTLEADER when the
 * node "stopped leading first": a leader that learns of a higher term
 * fails every pending read, in the order they were asked.
 */
static void test_step_down_fails_pending_reads(void **state)
{
    (void)state;
    fixture *fx = reading_cluster(3);
    uint64_t a = read_index(fx, 1), b = read_index(fx, 1);
    assert_true(b > a);
    assert_int_equal(n_calls[1], 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    refraft_term term = refraft_current_term(fx_raft(fx, 1));
    refraft_msg ae = fx_append_entries(term + 1, "n2", 0, 0, 0, NULL, 0);
    assert_int_equal(fx_inject(fx, 1, &ae), 0);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_FOLLOWER);
    assert_int_equal(n_calls[1], 2);
    assert_int_equal(calls[1][0].id, a);
    assert_int_equal(calls[1][0].status, REFRAFT_ENOTLEADER);
    assert_int_equal(calls[1][1].id, b);
    assert_int_equal(calls[1][1].status, REFRAFT_ENOTLEADER);
}

/*
 * A node alone is a majority of itself: once its no-op has committed, a
 * read is decided inside refraft_read_index with the commit index, and
 * *read_id names it already.
 */
static void test_single_node_confirms_at_once(void **state)
{
    (void)state;
    fixture *fx = reading_cluster(1);
    refraft_index commit = refraft_commit_index(fx_raft(fx, 1));
    assert_true(commit >= 1);
    uint64_t id = read_index(fx, 1);
    assert_int_equal(n_calls[1], 1);
    assert_int_equal(calls[1][0].id, id);
    assert_int_equal(calls[1][0].status, 0);
    assert_int_equal(calls[1][0].index, commit);
    uint64_t next = read_index(fx, 1);
    assert_true(next > id);
    assert_int_equal(n_calls[1], 2);
}

/* refraft.h: "Leader only": a follower that knows the leader gets
 * REFRAFT_ENOTLEADER, one that knows none REFRAFT_ENOLEADER; no read is
 * recorded and on_read is never called. */
static void test_read_index_on_follower_refused(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    start_reading(fx);
    uint64_t id = 77;
    int rv = refraft_read_index(fx_raft(fx, 2), &id);
    assert_true(rv == REFRAFT_ENOLEADER || rv == REFRAFT_ENOTLEADER);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    assert_int_equal(refraft_read_index(fx_raft(fx, 2), &id),
                     REFRAFT_ENOTLEADER);
    assert_int_equal(id, 77);
    fx_run(fx, 3 * FX_ELECTION_TIMEOUT);
    assert_int_equal(n_calls[2], 0);
}

/* refraft.h: "Optional; without it refraft_read_index() is refused":
 * REFRAFT_EINVAL with a message naming on_read, and nothing sent. */
static void test_read_index_without_on_read_is_einval(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_deliver_all(fx);
    size_t queued = fx_pending(fx);
    uint64_t id = 0;
    assert_int_equal(refraft_read_index(fx_raft(fx, 1), &id), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(fx_raft(fx, 1)), "on_read"));
    assert_int_equal(fx_pending(fx), queued);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_read_confirmed_by_majority_echo,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_read_waits_for_leader_noop, fx_cleanup),
        cmocka_unit_test_teardown(test_step_down_fails_pending_reads,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_single_node_confirms_at_once,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_read_index_on_follower_refused,
                                  fx_cleanup),
        cmocka_unit_test_teardown(test_read_index_without_on_read_is_einval,
                                  fx_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
