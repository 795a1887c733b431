/* test_safety.c - §5.4 safety: election restriction, Figure 8, Leader
 * Completeness. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixture.h"

#define T FX_ELECTION_TIMEOUT
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Voter n3 of a 3-node cluster, on a log holding terms[], in term `term`. */
static fixture *
voter_with_log(const refraft_term *terms, size_t n, refraft_term term)
{
    return fx_new_with_log(3, terms, n, term);
}

/* n3's answer to a request from candidate `from` (1 or 2). */
static bool granted(fixture *fx, int from, const refraft_msg *rv)
{
    assert_int_equal(fx_inject(fx, 3, rv), 0);
    fx_msg *res = fx_find(fx, 3, from, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    bool yes = res->msg.u.request_vote_result.vote_granted;
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    return yes;
}

/*
 * §5.4.1: "the voter denies its vote if its own log is more up-to-date
 * than that of the candidate.  ...  If the logs have last entries with
 * different terms, then the log with the later term is more up-to-date."
 * A longer log does not help a candidate whose last term is older; a
 * shorter one with a later last term wins the vote.
 */
static void test_vote_denied_to_candidate_with_older_last_term(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 1, 2};
    fixture *fx = voter_with_log(terms, COUNT(terms), 2);

    refraft_msg rv = fx_request_vote(4, "n1", 9, 1, false);
    assert_false(granted(fx, 1, &rv));
    assert_null(refraft_voted_for(fx_raft(fx, 3)));
    assert_int_equal(refraft_current_term(fx_raft(fx, 3)), 4);

    rv = fx_request_vote(4, "n2", 1, 3, false);
    assert_true(granted(fx, 2, &rv));
    assert_string_equal(refraft_voted_for(fx_raft(fx, 3)), "n2");
}

/*
 * §5.4.1: "the voter denies its vote if its own log is more up-to-date
 * than that of the candidate.  ...  If the logs end with the same term,
 * then whichever log is longer is more up-to-date."  A candidate whose
 * log is as long ("at least as up-to-date") gets the vote.
 */
static void test_vote_denied_to_candidate_with_shorter_log(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 1};
    fixture *fx = voter_with_log(terms, COUNT(terms), 1);

    refraft_msg rv = fx_request_vote(2, "n1", 2, 1, false);
    assert_false(granted(fx, 1, &rv));
    assert_null(refraft_voted_for(fx_raft(fx, 3)));

    rv = fx_request_vote(2, "n2", 3, 1, false);
    assert_true(granted(fx, 2, &rv));
    assert_string_equal(refraft_voted_for(fx_raft(fx, 3)), "n2");
}

/*
 * The same restriction guards pre-votes (thesis §9.6: voters grant one
 * "if the candidate's log is sufficiently up-to-date"): "the voter denies
 * its vote if its own log is more up-to-date than that of the candidate."
 */
static void test_pre_vote_denied_to_candidate_with_stale_log(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 2};
    fixture *fx = voter_with_log(terms, COUNT(terms), 2);

    refraft_msg rv = fx_request_vote(3, "n1", 5, 1, true);
    assert_false(granted(fx, 1, &rv));
    rv = fx_request_vote(3, "n1", 2, 2, true);
    assert_false(granted(fx, 1, &rv));
    rv = fx_request_vote(3, "n2", 3, 2, true);
    assert_true(granted(fx, 2, &rv));
    assert_int_equal(refraft_current_term(fx_raft(fx, 3)), 2);
    assert_null(refraft_voted_for(fx_raft(fx, 3)));
}

/* Keep only RequestVote traffic: the new leader's AppendEntries are lost. */
static bool votes_only(fixture *fx, const fx_msg *m, void *arg)
{
    (void)fx;
    (void)arg;
    return m->msg.type == REFRAFT_MSG_REQUEST_VOTE ||
           m->msg.type == REFRAFT_MSG_REQUEST_VOTE_RESULT;
}

static bool carries_own_term_entry(const fx_msg *m)
{
    const refraft_append_entries *ae = &m->msg.u.append_entries;
    for (size_t k = 0; k < ae->n_entries; k++) {
        if (ae->entries[k].term == ae->term)
            return true;
    }
    return false;
}

/* Figure 8 (c): S4 hears nothing from the new leader, and S3 gets the
 * old-term entry at index 2 but nothing of the leader's own term. */
static bool figure8_c_links(fixture *fx, const fx_msg *m, void *arg)
{
    (void)arg;
    if (m->msg.type != REFRAFT_MSG_APPEND_ENTRIES)
        return true;
    if (m->to == 4)
        return false;
    return !(m->to == 3 && fx_log_last(fx, 3) >= 2 &&
             carries_own_term_entry(m));
}

/*
 * Figure 8 on five servers, up to its state (c).  Each leader here starts
 * its term with a NOOP, so our terms are one lower than the figure's and
 * S1's entry "a" is of term 1.  Returns with S1 leader of term 3, S1..S3
 * holding "a" at index 2, and S3 without S1's term-3 NOOP at index 3.
 * inject is S1's inject_bugs after its restart.
 */
static fixture *figure8_c(uint32_t inject)
{
    fixture *fx = fx_new(5);
    /* One entry per AppendEntries, so the old entry can travel alone. */
    fx_node_at(fx, 1)->config.max_entries_per_msg = 1;
    fx_start(fx);

    /* (a) "S1 is leader and partially replicates the log entry at index
     * 2": only S2 gets it. */
    fx_elect(fx, 1);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "a", &idx), 0);
    assert_int_equal(idx, 2);
    assert_int_equal(fx_deliver_first(fx, 1, 2, FX_ANY), 0);
    assert_int_equal(fx_deliver_first(fx, 2, 1, FX_ANY), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);

    /* (b) "S1 crashes; S5 is elected leader ... with votes from S3, S4,
     * and itself, and accepts a different entry at log index 2" (its
     * NOOP, term 2), which reaches nobody. */
    fx_crash(fx, 1);
    fx_timeout(fx, 5);
    fx_deliver_filtered(fx, votes_only, NULL);
    assert_int_equal(refraft_role(fx_raft(fx, 5)), REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 5)), 2);
    assert_int_equal(fx_log_term(fx, 5, 2), 2);

    /* (c) "S5 crashes; S1 restarts, is elected leader, and continues
     * replication."  A first pre-vote round only teaches S1 term 2. */
    fx_crash(fx, 5);
    fx_node_at(fx, 1)->config.inject_bugs = inject;
    fx_restart(fx, 1);
    for (int round = 0; round < 3; round++) {
        if (refraft_role(fx_raft(fx, 1)) == REFRAFT_LEADER)
            break;
        fx_timeout(fx, 1);
        fx_deliver_filtered(fx, figure8_c_links, NULL);
    }
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 3);
    assert_int_equal(fx_log_term(fx, 1, 3), 3);
    /* "At this point, the log entry from term 2 [our 1] has been
     * replicated on a majority of the servers": S1, S2, S3. */
    for (int i = 1; i <= 3; i++) {
        fx_record a = fx_log_entry(fx, i, 2);
        assert_int_equal(a.term, 1);
        assert_string_equal(a.record, "a");
    }
    assert_int_equal(fx_log_last(fx, 3), 2);
    return fx;
}

/*
 * §5.4.2: "Raft never commits log entries from previous terms by counting
 * replicas.  Only log entries from the leader's current term are committed
 * by counting replicas; once an entry from the current term has been
 * committed in this way, then all prior entries are committed indirectly
 * because of the Log Matching Property."  In Figure 8 (c) entry 2 is on a
 * majority but is not committed; in (e) the leader's own entry 3 reaches
 * a majority and commits 2 with it.
 */
static void test_figure8_old_term_entry_not_committed_by_counting(void **state)
{
    (void)state;
    fixture *fx = figure8_c(0);
    assert_true(refraft_commit_index(fx_raft(fx, 1)) < 2);
    assert_int_equal(fx_node_at(fx, 1)->n_applied, 1);

    /* (e): the leader keeps replicating and S3 gets entry 3. */
    fx_run(fx, T);
    assert_int_equal(fx_log_term(fx, 3, 3), 3);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 3);
    fx_node *s1 = fx_node_at(fx, 1);
    assert_int_equal(s1->n_applied, 3);
    assert_int_equal(s1->applied[1].index, 2);
    assert_string_equal(s1->applied[1].record, "a");
    assert_int_equal(s1->applied[2].index, 3);
}

/* Figure 8 (d): "If S1 crashes as in (d), S5 could be elected leader (with
 * votes from S2, S3, and S4) and overwrite the entry with its own entry
 * from term 3" (our term 2).  Here S2 holds S1's term-3 NOOP and refuses; S3
 * and S4 suffice.  The cluster runs until every log matches S5's. */
static void figure8_d(fixture *fx)
{
    fx_crash(fx, 1);
    fx_restart(fx, 5);
    fx_elect(fx, 5);
    fx_run(fx, T);
    assert_int_equal(refraft_role(fx_raft(fx, 5)), REFRAFT_LEADER);
    for (int i = 2; i <= 4; i++)
        assert_true(fx_logs_equal(fx, 5, i));
}

/*
 * §5.4.2: "Figure 8 illustrates a situation where an old log entry is
 * stored on a majority of servers, yet can still be overwritten by a
 * future leader."  That is why it must not count as committed.  From Figure 8
 * (c), S5 wins and entry 2 ("a", on S1..S3) is truncated on S3 and S2; no
 * server ever applied it.
 */
static void test_figure8_majority_entry_can_be_overwritten(void **state)
{
    (void)state;
    fixture *fx = figure8_c(0);
    figure8_d(fx);

    for (int i = 2; i <= 3; i++) {
        fx_node *fn = fx_node_at(fx, i);
        assert_int_equal(fn->n_truncated, 1);
        assert_int_equal(fn->truncated[0], 2);
        assert_int_equal(fx_log_term(fx, i, 2), 2);
    }
    assert_true(refraft_commit_index(fx_raft(fx, 5)) >= 2);
    fx_assert_state_machine_safety(fx);
}

/*
 * Simulator self-test: REFRAFT_INJECT_COMMIT_OLD_TERM breaks the rule of
 * §5.4.2 ("Raft never commits log entries from previous terms by counting
 * replicas") on purpose.  In the same Figure 8 (c), S1 then commits and
 * applies entry 2, and after (d) S5's servers apply a different entry at
 * index 2: the State Machine Safety violation Figure 8 warns about.
 */
static void test_inject_commit_old_term_breaks_figure8(void **state)
{
    (void)state;
    fixture *fx = figure8_c(REFRAFT_INJECT_COMMIT_OLD_TERM);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    fx_node *s1 = fx_node_at(fx, 1);
    assert_int_equal(s1->n_applied, 2);
    assert_string_equal(s1->applied[1].record, "a");

    figure8_d(fx);
    fx_node *s5 = fx_node_at(fx, 5);
    assert_true(s5->n_applied >= 2);
    assert_int_equal(s5->applied[1].index, 2);
    assert_int_equal(s5->applied[1].term, 2);
    assert_int_equal(s5->applied[1].type, REFRAFT_ENTRY_NOOP);
}

/*
 * Figure 3, Leader Completeness: "if a log entry is committed in a given
 * term, then that entry will be present in the logs of the leaders for
 * all higher-numbered terms."  §5.4.1: "a candidate must contact a
 * majority of the cluster in order to be elected, which means that every
 * committed entry must be present in at least one of those servers."
 * n1 commits r1 with n2 and crashes; n3, which lacks r1, cannot win; n2
 * can, and r1 survives everywhere.
 */
static void test_leader_completeness(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);
    assert_int_equal(fx_deliver_first(fx, 1, 2, FX_ANY), 0);
    assert_int_equal(fx_deliver_first(fx, 2, 1, FX_ANY), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_crash(fx, 1);

    for (int round = 0; round < 3; round++) {
        fx_timeout(fx, 3);
        fx_deliver_all(fx);
        assert_int_not_equal(refraft_role(fx_raft(fx, 3)), REFRAFT_LEADER);
    }
    assert_int_equal(refraft_current_term(fx_raft(fx, 3)), 1);

    fx_elect(fx, 2);
    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), 2);
    fx_record r = fx_log_entry(fx, 2, 2);
    assert_int_equal(r.term, 1);
    assert_string_equal(r.record, "r1");

    fx_run(fx, T);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 3)), 3);
    assert_string_equal(fx_node_at(fx, 3)->applied[1].record, "r1");
    fx_assert_state_machine_safety(fx);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, fx_cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_vote_denied_to_candidate_with_older_last_term),
        TEST(test_vote_denied_to_candidate_with_shorter_log),
        TEST(test_pre_vote_denied_to_candidate_with_stale_log),
        TEST(test_figure8_old_term_entry_not_committed_by_counting),
        TEST(test_figure8_majority_entry_can_be_overwritten),
        TEST(test_inject_commit_old_term_breaks_figure8),
        TEST(test_leader_completeness),
    };
    return cmocka_run_group_tests_name("safety", tests, NULL, NULL);
}
