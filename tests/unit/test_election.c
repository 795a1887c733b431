/* test_election.c - §5.2 leader election, pre-vote and check-quorum. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixture.h"

#define T FX_ELECTION_TIMEOUT

/* A cluster of n that runs plain Raft elections (no pre-vote). */
static fixture *cluster_without_pre_vote(int n)
{
    fixture *fx = fx_new(n);
    for (int i = 1; i <= n; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_start(fx);
    return fx;
}

static void assert_role(fixture *fx, int i, int role, refraft_term term)
{
    assert_string_equal(refraft_role_name(refraft_role(fx_raft(fx, i))),
                        refraft_role_name(role));
    assert_int_equal(refraft_current_term(fx_raft(fx, i)), term);
}

/*
 * §5.2: "When servers start up, they begin as followers."  A fresh node
 * is a follower in term 0 with no vote and no leader, and says nothing.
 */
static void test_servers_start_as_followers(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    for (int i = 1; i <= 3; i++) {
        assert_role(fx, i, REFRAFT_FOLLOWER, 0);
        assert_null(refraft_voted_for(fx_raft(fx, i)));
        assert_null(refraft_leader_id(fx_raft(fx, i)));
        assert_int_equal(refraft_commit_index(fx_raft(fx, i)), 0);
    }
    assert_int_equal(fx_pending(fx), 0);
}

/*
 * Figure 2, Persistent state on all servers: "(Updated on stable storage
 * before responding to RPCs)".  A node starts from the term and vote its
 * log API holds, still as a follower.
 */
static void test_start_loads_persisted_term_and_vote(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_set_hard_state(fx, 1, 7, "n2");
    fx_start(fx);
    assert_role(fx, 1, REFRAFT_FOLLOWER, 7);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n2");
}

/*
 * §5.2: "If a follower receives no communication over a period of time
 * called the election timeout, then it assumes there is no viable leader
 * and begins an election to choose a new leader."
 */
static void test_follower_election_timeout_starts_election(void **state)
{
    (void)state;
    fixture *fx = cluster_without_pre_vote(3);
    /* n1's random value is 0: its timeout is exactly T. */
    fx_advance(fx, T - 1);
    assert_int_equal(fx_tick(fx, 1), 0);
    assert_role(fx, 1, REFRAFT_FOLLOWER, 0);
    assert_int_equal(fx_pending(fx), 0);

    fx_advance(fx, 1);
    assert_int_equal(fx_tick(fx, 1), 0);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
}

/*
 * §5.2: "To begin an election, a follower increments its current term and
 * transitions to candidate state.  It then votes for itself and issues
 * RequestVote RPCs in parallel to each of the other servers in the
 * cluster."  The vote for itself is on stable storage before any request
 * leaves.
 */
static void test_candidate_increments_term_votes_for_itself(void **state)
{
    (void)state;
    fixture *fx = cluster_without_pre_vote(3);
    fx_timeout(fx, 1);

    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n1");
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, 1, &term, vote);
    assert_int_equal(term, 1);
    assert_string_equal(vote, "n1");
    for (int to = 2; to <= 3; to++) {
        fx_msg *m = fx_find(fx, 1, to, REFRAFT_MSG_REQUEST_VOTE);
        assert_non_null(m);
        const refraft_request_vote *rv = &m->msg.u.request_vote;
        assert_int_equal(rv->term, 1);
        assert_string_equal(rv->candidate_id, "n1");
        assert_int_equal(rv->last_log_index, 0);
        assert_int_equal(rv->last_log_term, 0);
        assert_false(rv->pre_vote);
    }
    assert_int_equal(fx_pending(fx), 2);
}

/*
 * §5.2: "A candidate wins an election if it receives votes from a majority
 * of the servers in the full cluster for the same term. ... Once a
 * candidate wins an election, it becomes leader.  It then sends heartbeat
 * messages to all of the other servers to establish its authority and
 * prevent new elections."  In a 5-node cluster the second granted vote
 * (three with its own) makes the candidate leader.
 */
static void test_candidate_wins_with_majority(void **state)
{
    (void)state;
    fixture *fx = cluster_without_pre_vote(5);
    fx_timeout(fx, 1);
    assert_int_equal(fx_count(fx, 1, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 4);

    assert_int_equal(fx_deliver_first(fx, 1, 2, FX_ANY), 0);
    assert_int_equal(fx_deliver_first(fx, 2, 1, FX_ANY), 0);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);

    /* A repeated grant from the same voter does not count twice. */
    refraft_msg again = fx_vote_result(1, "n2", true, false);
    assert_int_equal(fx_inject(fx, 1, &again), 0);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);

    assert_int_equal(fx_deliver_first(fx, 1, 3, FX_ANY), 0);
    assert_int_equal(fx_deliver_first(fx, 3, 1, FX_ANY), 0);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 1)), "n1");
    for (int to = 2; to <= 5; to++)
        assert_int_equal(fx_count(fx, 1, to, REFRAFT_MSG_APPEND_ENTRIES), 1);
}

/*
 * §5.2: "Each server will vote for at most one candidate in a given term,
 * on a first-come-first-served basis".  A repeated request from the
 * candidate it chose is granted again (its first answer may have been
 * lost).
 */
static void test_vote_first_come_first_served(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    refraft_msg from_n1 = fx_request_vote(1, "n1", 0, 0, false);
    refraft_msg from_n2 = fx_request_vote(1, "n2", 0, 0, false);

    assert_int_equal(fx_inject(fx, 3, &from_n1), 0);
    fx_msg *res = fx_find(fx, 3, 1, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.request_vote_result.vote_granted);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 3)), "n1");

    assert_int_equal(fx_inject(fx, 3, &from_n2), 0);
    res = fx_find(fx, 3, 2, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.request_vote_result.vote_granted);
    assert_int_equal(res->msg.u.request_vote_result.term, 1);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 3)), "n1");

    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    assert_int_equal(fx_inject(fx, 3, &from_n1), 0);
    res = fx_find(fx, 3, 1, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.request_vote_result.vote_granted);
}

/*
 * Figure 2, Persistent state on all servers: "votedFor: candidateId that
 * received vote in current term (or null if none)", updated on stable
 * storage before responding.  A voter that crashes and restarts still
 * refuses a second candidate in the same term.
 */
static void test_vote_survives_restart(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    refraft_msg from_n1 = fx_request_vote(1, "n1", 0, 0, false);
    assert_int_equal(fx_inject(fx, 3, &from_n1), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    fx_crash(fx, 3);
    fx_restart(fx, 3);
    assert_role(fx, 3, REFRAFT_FOLLOWER, 1);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 3)), "n1");

    refraft_msg from_n2 = fx_request_vote(1, "n2", 0, 0, false);
    assert_int_equal(fx_inject(fx, 3, &from_n2), 0);
    fx_msg *res = fx_find(fx, 3, 2, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.request_vote_result.vote_granted);
}

/*
 * Figure 2, Rules for Servers, Followers: "If election timeout elapses
 * without receiving AppendEntries RPC from current leader or granting vote
 * to candidate: convert to candidate."  Granting a vote restarts the
 * election timer; refusing one does not.
 */
static void test_granting_vote_restarts_election_timer(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_node_at(fx, 3)->random = 0;
    fx_start(fx);
    refraft_node *n3 = fx_raft(fx, 3);
    uint64_t deadline = refraft_next_deadline(n3);

    fx_advance(fx, T / 2);
    refraft_msg from_n2 = fx_request_vote(1, "n2", 0, 0, false);
    assert_int_equal(fx_inject(fx, 3, &from_n2), 0);
    assert_string_equal(refraft_voted_for(n3), "n2");
    assert_int_equal(refraft_next_deadline(n3), fx->now + T);
    assert_true(refraft_next_deadline(n3) > deadline);

    /* A refused vote (n1 asks in the same term) leaves the timer alone. */
    deadline = refraft_next_deadline(n3);
    fx_advance(fx, T / 2);
    refraft_msg from_n1 = fx_request_vote(1, "n1", 0, 0, false);
    assert_int_equal(fx_inject(fx, 3, &from_n1), 0);
    assert_string_equal(refraft_voted_for(n3), "n2");
    assert_int_equal(refraft_next_deadline(n3), deadline);
}

/*
 * §5.2: "If the leader's term (included in its RPC) is at least as large as
 * the candidate's current term, then the candidate recognizes the leader
 * as legitimate and returns to follower state."
 */
static void test_candidate_returns_to_follower_on_append_entries(void **state)
{
    (void)state;
    fixture *fx = cluster_without_pre_vote(3);
    fx_timeout(fx, 1);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg ae = fx_append_entries(1, "n2", 0, 0, 0, NULL, 0);
    assert_int_equal(fx_inject(fx, 1, &ae), 0);

    assert_role(fx, 1, REFRAFT_FOLLOWER, 1);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 1)), "n2");
    /* Its vote in term 1 stands: it was cast and persisted. */
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n1");
    fx_msg *res = fx_find(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.append_entries_result.success);
}

/*
 * The same rule for a pre-candidate (thesis §9.6): it has not left its
 * term, and an AppendEntries of that term comes from a legitimate leader.
 */
static void
test_precandidate_returns_to_follower_on_append_entries(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_set_hard_state(fx, 1, 2, NULL);
    fx_start(fx);
    fx_timeout(fx, 1);
    assert_role(fx, 1, REFRAFT_PRECANDIDATE, 2);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg ae = fx_append_entries(2, "n3", 0, 0, 0, NULL, 0);
    assert_int_equal(fx_inject(fx, 1, &ae), 0);

    assert_role(fx, 1, REFRAFT_FOLLOWER, 2);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 1)), "n3");
}

/*
 * §5.2: "If the term in the RPC is smaller than the candidate's current
 * term, then the candidate rejects the RPC and continues in candidate
 * state."
 */
static void test_candidate_rejects_append_entries_of_older_term(void **state)
{
    (void)state;
    fixture *fx = cluster_without_pre_vote(3);
    fx_timeout(fx, 1);
    fx_timeout(fx, 1);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 2);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg ae = fx_append_entries(1, "n2", 0, 0, 0, NULL, 0);
    assert_int_equal(fx_inject(fx, 1, &ae), REFRAFT_ESTALE);

    assert_role(fx, 1, REFRAFT_CANDIDATE, 2);
    assert_null(refraft_leader_id(fx_raft(fx, 1)));
    fx_msg *res = fx_find(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_false(res->msg.u.append_entries_result.success);
    assert_int_equal(res->msg.u.append_entries_result.term, 2);
}

/*
 * §5.2: "When this happens, each candidate will time out and start a new
 * election by incrementing its term and initiating another round of
 * RequestVote RPCs."  n1 and n2 time out together and vote for
 * themselves; n3 is down, so neither wins term 1.  n1 times out first
 * next time and wins term 2.
 */
static void test_split_vote_leads_to_new_election(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_node_at(fx, 2)->random = 0;
    fx_start(fx);
    fx_crash(fx, 3);
    fx_timeout(fx, 1);
    assert_int_equal(fx_tick(fx, 2), 0);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
    assert_role(fx, 2, REFRAFT_CANDIDATE, 1);

    fx_deliver_all(fx);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
    assert_role(fx, 2, REFRAFT_CANDIDATE, 1);

    /* Only n1 is ticked: it times out first this time. */
    fx_timeout(fx, 1);
    assert_role(fx, 1, REFRAFT_CANDIDATE, 2);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n1");
    fx_msg *rv = fx_find(fx, 1, 2, REFRAFT_MSG_REQUEST_VOTE);
    assert_non_null(rv);
    assert_int_equal(rv->msg.u.request_vote.term, 2);
    assert_non_null(fx_find(fx, 1, 3, REFRAFT_MSG_REQUEST_VOTE));

    fx_deliver_all(fx);
    assert_role(fx, 1, REFRAFT_LEADER, 2);
    assert_role(fx, 2, REFRAFT_FOLLOWER, 2);
}

/*
 * §5.2: "Raft uses randomized election timeouts to ensure that split votes
 * are rare and that they are resolved quickly.  To prevent split votes in
 * the first place, election timeouts are chosen randomly from a fixed
 * interval (e.g., 150-300ms)."  Here the interval is [T, 2T): each wait
 * is T + random() % T, drawn again for every wait.
 */
static void test_randomized_election_timeouts(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_node_at(fx, 1)->random = 0;
    fx_node_at(fx, 2)->random = 37;
    fx_node_at(fx, 3)->random = 3 * T + 99;
    uint64_t start = fx->now;
    fx_start(fx);
    assert_int_equal(refraft_next_deadline(fx_raft(fx, 1)), start + T);
    assert_int_equal(refraft_next_deadline(fx_raft(fx, 2)), start + T + 37);
    assert_int_equal(refraft_next_deadline(fx_raft(fx, 3)), start + T + 99);

    /* A candidate's next wait is drawn again. */
    fx_node_at(fx, 2)->random = 5;
    fx_timeout(fx, 2);
    assert_role(fx, 2, REFRAFT_CANDIDATE, 1);
    assert_int_equal(refraft_next_deadline(fx_raft(fx, 2)),
                     start + T + 37 + T + 5);
}

/*
 * §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry
 * no log entries) to all followers in order to maintain their authority."
 * A heartbeat goes out every heartbeat_ms (default T / 10) and, run for
 * many election timeouts, nobody starts an election.
 */
static void test_leader_heartbeats_prevent_elections(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    assert_int_equal(fx_pending(fx), 0);

    fx_advance(fx, T / 10);
    assert_int_equal(fx_tick(fx, 1), 0);
    for (int to = 2; to <= 3; to++) {
        fx_msg *hb = fx_find(fx, 1, to, REFRAFT_MSG_APPEND_ENTRIES);
        assert_non_null(hb);
        assert_int_equal(hb->msg.u.append_entries.n_entries, 0);
        assert_int_equal(hb->msg.u.append_entries.term, 1);
    }
    fx_deliver_all(fx);

    fx_run(fx, 20 * T);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
    for (int i = 2; i <= 3; i++) {
        assert_role(fx, i, REFRAFT_FOLLOWER, 1);
        assert_string_equal(refraft_leader_id(fx_raft(fx, i)), "n1");
    }
}

/*
 * Thesis §9.6: "In the Pre-Vote algorithm, a candidate only increments its
 * term if it first learns from a majority of the cluster that they would
 * be willing to grant the candidate their votes".  On timeout the node
 * asks about term + 1 and changes neither its term nor its vote.
 */
static void test_pre_vote_does_not_change_term(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_timeout(fx, 1);

    assert_role(fx, 1, REFRAFT_PRECANDIDATE, 0);
    assert_null(refraft_voted_for(fx_raft(fx, 1)));
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(fx, 1, &term, vote);
    assert_int_equal(term, 0);
    assert_string_equal(vote, "");
    for (int to = 2; to <= 3; to++) {
        fx_msg *m = fx_find(fx, 1, to, REFRAFT_MSG_REQUEST_VOTE);
        assert_non_null(m);
        assert_true(m->msg.u.request_vote.pre_vote);
        assert_int_equal(m->msg.u.request_vote.term, 1);
    }

    /* With no pre-vote granted, timing out again still changes nothing. */
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_timeout(fx, 1);
    assert_role(fx, 1, REFRAFT_PRECANDIDATE, 0);
    assert_int_equal(fx_count(fx, 1, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 2);
}

/*
 * Thesis §9.6: "a candidate only increments its term if it first learns
 * from a majority of the cluster that they would be willing to grant the
 * candidate their votes".  Once it has, it does increment its term and
 * starts a normal election; one grant is a majority of three with the
 * pre-candidate's own.
 */
static void test_pre_vote_majority_starts_real_election(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_timeout(fx, 1);
    assert_int_equal(fx_deliver_first(fx, 1, 2, REFRAFT_MSG_REQUEST_VOTE), 0);
    fx_msg *grant = fx_find(fx, 2, 1, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(grant);
    assert_true(grant->msg.u.request_vote_result.vote_granted);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_msg res = fx_vote_result(1, "n2", true, true);
    assert_int_equal(fx_inject(fx, 1, &res), 0);

    assert_role(fx, 1, REFRAFT_CANDIDATE, 1);
    assert_string_equal(refraft_voted_for(fx_raft(fx, 1)), "n1");
    for (int to = 2; to <= 3; to++) {
        fx_msg *m = fx_find(fx, 1, to, REFRAFT_MSG_REQUEST_VOTE);
        assert_non_null(m);
        assert_false(m->msg.u.request_vote.pre_vote);
        assert_int_equal(m->msg.u.request_vote.term, 1);
    }
    /* The voter's term did not move when it granted the pre-vote. */
    assert_role(fx, 2, REFRAFT_FOLLOWER, 0);
}

/*
 * Thesis §9.6: "The Pre-Vote algorithm solves the issue of a partitioned
 * server disrupting the cluster when it rejoins."  n3 is cut off while n1
 * leads; it times out again and again without raising its term, and when the
 * partition heals its pre-votes are refused (n2 hears from n1, n1 leads) so n1
 * stays leader in term 1 and n3 follows it.
 */
static void test_partitioned_node_rejoining_does_not_disrupt(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);

    fx_run(fx, 10 * T);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
    assert_role(fx, 3, REFRAFT_PRECANDIDATE, 1);

    /* Heal the partition but hold n1's heartbeats to n3 back until n3
     * times out again and asks for pre-votes. */
    fx_isolate(fx, 3, false);
    for (uint64_t t = 0; t < 3 * T; t++) {
        fx_advance(fx, 1);
        fx_tick_due(fx);
        fx_drop_matching(fx, 1, 3, REFRAFT_MSG_APPEND_ENTRIES);
        if (fx_find(fx, 3, FX_ANY, REFRAFT_MSG_REQUEST_VOTE) != NULL)
            break;
        fx_deliver_all(fx);
    }
    assert_int_equal(fx_count(fx, 3, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 2);
    assert_int_equal(fx_deliver_first(fx, 3, 1, REFRAFT_MSG_REQUEST_VOTE), 0);
    assert_int_equal(fx_deliver_first(fx, 3, 2, REFRAFT_MSG_REQUEST_VOTE), 0);
    for (int voter = 1; voter <= 2; voter++) {
        fx_msg *res = fx_find(fx, voter, 3, REFRAFT_MSG_REQUEST_VOTE_RESULT);
        assert_non_null(res);
        assert_false(res->msg.u.request_vote_result.vote_granted);
    }
    fx_deliver_all(fx);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
    assert_role(fx, 2, REFRAFT_FOLLOWER, 1);
    assert_int_equal(refraft_current_term(fx_raft(fx, 3)), 1);

    fx_run(fx, T);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
    assert_role(fx, 3, REFRAFT_FOLLOWER, 1);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 3)), "n1");
}

/* Tick the isolated leader n1 every millisecond until it steps down;
 * returns how long that took, or 0 if it still leads after limit ms. */
static uint64_t ms_until_step_down(fixture *fx, uint64_t limit)
{
    for (uint64_t t = 1; t <= limit; t++) {
        fx_advance(fx, 1);
        assert_int_equal(fx_tick(fx, 1), 0);
        fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
        if (refraft_role(fx_raft(fx, 1)) != REFRAFT_LEADER)
            return t;
    }
    return 0;
}

/*
 * Thesis §6.2: "a leader steps down if an election timeout elapses without
 * a successful round of heartbeats to a majority of its cluster".  The
 * isolated leader keeps its term, becomes a follower and forgets that it
 * led; not before a full election timeout without answers.
 */
static void test_check_quorum_isolated_leader_steps_down(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 1, true);

    uint64_t took = ms_until_step_down(fx, 3 * T);
    assert_true(took >= T);
    assert_true(took > 0 && took <= 3 * T);
    assert_role(fx, 1, REFRAFT_FOLLOWER, 1);
    assert_null(refraft_leader_id(fx_raft(fx, 1)));
}

/* With disable_check_quorum, the same isolated leader stays leader. */
static void test_check_quorum_can_be_disabled(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_node_at(fx, 1)->config.disable_check_quorum = true;
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 1, true);

    assert_int_equal(ms_until_step_down(fx, 5 * T), 0);
    assert_role(fx, 1, REFRAFT_LEADER, 1);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, fx_cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_servers_start_as_followers),
        TEST(test_start_loads_persisted_term_and_vote),
        TEST(test_follower_election_timeout_starts_election),
        TEST(test_candidate_increments_term_votes_for_itself),
        TEST(test_candidate_wins_with_majority),
        TEST(test_vote_first_come_first_served),
        TEST(test_vote_survives_restart),
        TEST(test_granting_vote_restarts_election_timer),
        TEST(test_candidate_returns_to_follower_on_append_entries),
        TEST(test_precandidate_returns_to_follower_on_append_entries),
        TEST(test_candidate_rejects_append_entries_of_older_term),
        TEST(test_split_vote_leads_to_new_election),
        TEST(test_randomized_election_timeouts),
        TEST(test_leader_heartbeats_prevent_elections),
        TEST(test_pre_vote_does_not_change_term),
        TEST(test_pre_vote_majority_starts_real_election),
        TEST(test_partitioned_node_rejoining_does_not_disrupt),
        TEST(test_check_quorum_isolated_leader_steps_down),
        TEST(test_check_quorum_can_be_disabled),
    };
    return cmocka_run_group_tests_name("election", tests, NULL, NULL);
}
