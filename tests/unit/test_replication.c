/* test_replication.c - §5.3 log replication. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

#define T FX_ELECTION_TIMEOUT
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A cluster of n in which n1 won term 1 and every log holds its NOOP. */
static fixture *cluster_with_leader(int n)
{
    fixture *fx = fx_new(n);
    fx_start(fx);
    fx_elect(fx, 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_pending(fx), 0);
    return fx;
}

static void
assert_record(const refraft_entry *e, refraft_term term, const char *record)
{
    refraft_ref want = fx_ref(record);
    assert_int_equal(e->term, term);
    assert_int_equal(e->type, REFRAFT_ENTRY_REF);
    assert_int_equal(e->ref.id_len, want.id_len);
    assert_memory_equal(e->ref.id, want.id, want.id_len);
    assert_int_equal(e->ref.size, want.size);
    assert_memory_equal(e->ref.digest, want.digest, REFRAFT_DIGEST_LEN);
}

/*
 * §5.3: "The leader appends the command to its log as a new entry, then
 * issues AppendEntries RPCs in parallel to each of the other servers to
 * replicate the entry."  The entry is uncommitted until a majority holds
 * it (DESIGN.md contract 3).
 */
static void test_leader_appends_proposal_and_replicates(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    refraft_index idx = 0;

    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);

    assert_int_equal(idx, 2);
    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), 2);
    fx_record e = fx_log_entry(fx, 1, 2);
    assert_int_equal(e.term, 1);
    assert_string_equal(e.record, "r1");
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    for (int to = 2; to <= 3; to++) {
        fx_msg *m = fx_find(fx, 1, to, REFRAFT_MSG_APPEND_ENTRIES);
        assert_non_null(m);
        const refraft_append_entries *ae = &m->msg.u.append_entries;
        assert_int_equal(ae->term, 1);
        assert_string_equal(ae->leader_id, "n1");
        assert_int_equal(ae->prev_log_index, 1);
        assert_int_equal(ae->prev_log_term, 1);
        assert_int_equal(ae->leader_commit, 1);
        assert_int_equal(ae->n_entries, 1);
        assert_record(&ae->entries[0], 1, "r1");
    }
}

/*
 * §5.3: "A log entry is committed once the leader that created the entry
 * has replicated it on a majority of the servers".  In a 5-node cluster,
 * the leader plus one follower is not enough; plus two is.
 */
static void test_entry_committed_once_on_majority(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(5);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);

    assert_int_equal(fx_deliver_first(fx, 1, 2, FX_ANY), 0);
    fx_msg *res = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.append_entries_result.success);
    assert_int_equal(res->msg.u.append_entries_result.match_index, 2);
    assert_int_equal(fx_deliver_first(fx, 2, 1, FX_ANY), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_node_at(fx, 1)->n_applied, 1);

    assert_int_equal(fx_deliver_first(fx, 1, 3, FX_ANY), 0);
    assert_int_equal(fx_deliver_first(fx, 3, 1, FX_ANY), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    assert_int_equal(fx_node_at(fx, 1)->n_applied, 2);
    assert_string_equal(fx_node_at(fx, 1)->applied[1].record, "r1");
}

/*
 * §5.3: "The leader keeps track of the highest index it knows to be
 * committed, and it includes that index in future AppendEntries RPCs
 * (including heartbeats) so that the other servers eventually find out.
 * Once a follower learns that a log entry is committed, it applies the
 * entry to its local state machine (in log order)."
 */
static void test_followers_learn_commit_from_heartbeats(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    /* The followers hold the entry but do not know it is committed. */
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 1);
    assert_int_equal(fx_node_at(fx, 2)->n_applied, 1);

    fx_advance(fx, T / 10);
    assert_int_equal(fx_tick(fx, 1), 0);
    fx_msg *hb = fx_find(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES);
    assert_non_null(hb);
    assert_int_equal(hb->msg.u.append_entries.leader_commit, 2);
    assert_int_equal(hb->msg.u.append_entries.n_entries, 0);
    fx_deliver_all(fx);

    for (int i = 2; i <= 3; i++) {
        assert_int_equal(refraft_commit_index(fx_raft(fx, i)), 2);
        fx_node *fn = fx_node_at(fx, i);
        assert_int_equal(fn->n_applied, 2);
        assert_int_equal(fn->applied[0].index, 1);
        assert_int_equal(fn->applied[0].type, REFRAFT_ENTRY_NOOP);
        assert_int_equal(fn->applied[1].index, 2);
        assert_string_equal(fn->applied[1].record, "r1");
    }
}

/*
 * refraft_config.defer_follower_apply: a follower answers the
 * AppendEntries that tells it of a commit before it applies, and applies
 * in its next tick, which is due at once.  The leader applies at once
 * all the same: its clients wait for it.
 */
static void test_deferred_follower_apply_runs_in_the_tick(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.defer_follower_apply = true;
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    assert_int_equal(refraft_applied_index(fx_raft(fx, 1)), 2);
    assert_string_equal(fx_node_at(fx, 1)->applied[1].record, "r1");

    fx_advance(fx, T / 10);
    assert_int_equal(fx_tick(fx, 1), 0); /* a heartbeat: commit 2 */
    assert_int_equal(fx_deliver_first(fx, 1, 2, FX_ANY), 0);
    refraft_node *n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_commit_index(n2), 2);
    assert_non_null(fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT));
    assert_true(refraft_applied_index(n2) < 2); /* answered, not applied */
    assert_int_equal(refraft_next_deadline(n2), fx->now);

    assert_int_equal(fx_tick(fx, 2), 0);
    assert_int_equal(refraft_applied_index(n2), 2);
    fx_node *fn = fx_node_at(fx, 2);
    assert_string_equal(fn->applied[fn->n_applied - 1].record, "r1");
    assert_true(refraft_next_deadline(n2) > fx->now);
}

/* Follower n2 of a 3-node cluster, started on a log holding terms[] and
 * with current term `term`. */
static fixture *
follower_with_log(const refraft_term *terms, size_t n, refraft_term term)
{
    return fx_new_with_log(2, terms, n, term);
}

static const refraft_append_entries_result *
result_to(fixture *fx, int from, int to)
{
    fx_msg *m = fx_find(fx, from, to, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(m);
    return &m->msg.u.append_entries_result;
}

/*
 * §5.3: "If the follower does not find an entry in its log with the same
 * index and term, then it refuses the new entries."  Figure 2: "Reply
 * false if log doesn't contain an entry at prevLogIndex whose term matches
 * prevLogTerm (§5.3)".  The rejection carries the hint of §5.3's last
 * paragraph: "the follower can include the term of the conflicting entry
 * and the first index it stores for that term."  A refusal changes
 * nothing in the log.
 */
static void test_consistency_check_refuses_entries(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 2, 2};
    fixture *fx = follower_with_log(terms, COUNT(terms), 2);
    refraft_entry e = fx_entry(3, "x");

    /* prevLogIndex beyond the log: conflict term 0, index last + 1. */
    refraft_msg ae = fx_append_entries(3, "n1", 6, 3, 0, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    const refraft_append_entries_result *res = result_to(fx, 2, 1);
    assert_false(res->success);
    assert_int_equal(res->term, 3);
    assert_int_equal(res->rejected_index, 6);
    assert_int_equal(res->conflict_term, 0);
    assert_int_equal(res->conflict_index, 5);
    assert_int_equal(res->last_log_index, 4);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    /* A term mismatch at prevLogIndex: the follower's term there and the
     * first index it holds of that term. */
    ae = fx_append_entries(3, "n1", 4, 3, 0, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    res = result_to(fx, 2, 1);
    assert_false(res->success);
    assert_int_equal(res->rejected_index, 4);
    assert_int_equal(res->conflict_term, 2);
    assert_int_equal(res->conflict_index, 3);

    assert_int_equal(fx_log_last(fx, 2), 4);
    assert_int_equal(fx_log_term(fx, 2, 4), 2);
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 0);
}

/*
 * Figure 2, AppendEntries receiver implementation 3 and 4: "If an existing
 * entry conflicts with a new one (same index but different terms), delete
 * the existing entry and all that follow it (§5.3)" and "Append any new
 * entries not already in the log".  The host hears of the deletion through
 * on_truncate(from) (DESIGN.md contract 7).
 */
static void test_conflicting_entries_deleted_and_reported(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 2, 2};
    fixture *fx = follower_with_log(terms, COUNT(terms), 2);
    refraft_entry e = fx_entry(3, "x");

    refraft_msg ae = fx_append_entries(3, "n1", 2, 1, 0, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);

    const refraft_append_entries_result *res = result_to(fx, 2, 1);
    assert_true(res->success);
    assert_int_equal(res->match_index, 3);
    assert_int_equal(fx_log_last(fx, 2), 3);
    assert_int_equal(fx_log_term(fx, 2, 1), 1);
    assert_int_equal(fx_log_term(fx, 2, 2), 1);
    fx_record r = fx_log_entry(fx, 2, 3);
    assert_int_equal(r.term, 3);
    assert_string_equal(r.record, "x");
    fx_node *fn = fx_node_at(fx, 2);
    assert_int_equal(fn->n_truncated, 1);
    assert_int_equal(fn->truncated[0], 3);
}

/*
 * DESIGN.md contract 7: "Committed entries are never truncated."  A
 * request that contradicts a committed entry can only come from broken
 * storage or a broken peer: the follower refuses it with an error, keeps
 * its log and acknowledges nothing.
 */
static void test_committed_entries_never_truncated(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 1};
    fixture *fx = follower_with_log(terms, COUNT(terms), 1);
    refraft_msg ae = fx_append_entries(1, "n1", 3, 1, 3, NULL, 0);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 3);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_entry e = fx_entry(2, "x");
    ae = fx_append_entries(2, "n3", 1, 1, 1, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_ECORRUPT);

    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
    assert_int_equal(fx_log_last(fx, 2), 3);
    for (refraft_index k = 1; k <= 3; k++)
        assert_int_equal(fx_log_term(fx, 2, k), 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 3);
    fx_msg *res = fx_find(fx, 2, 3, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_true(res == NULL || !res->msg.u.append_entries_result.success);

    /* Header: "the node is failed and every later call returns
     * REFRAFT_EFAILED": it must not go on acting on a broken history. */
    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_EFAILED);
    assert_int_equal(fx_tick(fx, 2), REFRAFT_EFAILED);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 2, "y", &idx), REFRAFT_EFAILED);
    assert_int_equal(fx_log_last(fx, 2), 3);
}

/*
 * Figure 2, AppendEntries receiver implementation 5: "If leaderCommit >
 * commitIndex, set commitIndex = min(leaderCommit, index of last new
 * entry)".  The last new entry is the last one this request vouches for
 * (prevLogIndex + entries): entries past it may come from another leader.
 * The commit index never goes back.
 */
static void test_commit_index_is_min_of_leader_commit_and_last_new(void **state)
{
    (void)state;
    static const refraft_term terms[] = {1, 1, 1};
    fixture *fx = follower_with_log(terms, COUNT(terms), 1);
    refraft_node *n2 = fx_raft(fx, 2);

    refraft_msg ae = fx_append_entries(1, "n1", 1, 1, 3, NULL, 0);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(refraft_commit_index(n2), 1);
    assert_int_equal(fx_node_at(fx, 2)->n_applied, 1);

    refraft_entry e = fx_entry(1, "a");
    ae = fx_append_entries(1, "n1", 3, 1, 9, &e, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(refraft_commit_index(n2), 4);
    assert_int_equal(fx_node_at(fx, 2)->n_applied, 4);

    ae = fx_append_entries(1, "n1", 1, 1, 1, NULL, 0);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(refraft_commit_index(n2), 4);
}

/* Counts rejected AppendEntries per follower while delivering all. */
static bool count_rejections(fixture *fx, const fx_msg *m, void *arg)
{
    size_t *rejections = arg;
    (void)fx;
    if (m->msg.type == REFRAFT_MSG_APPEND_ENTRIES_RESULT &&
        !m->msg.u.append_entries_result.success)
        rejections[m->from]++;
    return true;
}

/* Figure 7's leader for term 8, as n1 (it will lead term 7 here). */
static const refraft_term figure7_leader[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
/* Figure 7 (a): missing one entry. */
static const refraft_term figure7_a[] = {1, 1, 1, 4, 4, 5, 5, 6, 6};
/* Figure 7 (b): missing six entries. */
static const refraft_term figure7_b[] = {1, 1, 1, 4};
/* Figure 7 (f): extra uncommitted entries from terms 2 and 3. */
static const refraft_term figure7_f[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};

/* n1 holds Figure 7's leader log and n2, n3 the given logs; n1 is
 * elected (term 7) and the cluster runs until quiet.  rejections[i] counts
 * the AppendEntries ni refused. */
static fixture *figure7(const refraft_term *n2_log, size_t n2_len,
                        refraft_term n2_term, const refraft_term *n3_log,
                        size_t n3_len, refraft_term n3_term, size_t *rejections)
{
    fixture *fx = fx_new(3);
    fx_log_terms(fx, 1, figure7_leader, COUNT(figure7_leader));
    fx_set_hard_state(fx, 1, 6, NULL);
    fx_log_terms(fx, 2, n2_log, n2_len);
    fx_set_hard_state(fx, 2, n2_term, NULL);
    fx_log_terms(fx, 3, n3_log, n3_len);
    fx_set_hard_state(fx, 3, n3_term, NULL);
    fx_start(fx);
    for (int round = 0; round < 3; round++) {
        if (refraft_role(fx_raft(fx, 1)) == REFRAFT_LEADER)
            break;
        fx_timeout(fx, 1);
        fx_deliver_filtered(fx, count_rejections, rejections);
    }
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 7);
    return fx;
}

/*
 * §5.3: "When a leader first comes to power, it initializes all nextIndex
 * values to the index just after the last one in its log ... After a
 * rejection, the leader decrements nextIndex and retries the AppendEntries
 * RPC.  Eventually nextIndex will reach a point where the leader and
 * follower logs match."  Followers (a) and (b) of Figure 7 miss entries;
 * with the conflict hint ("one AppendEntries RPC will be required for
 * each term with conflicting entries, rather than one RPC per entry")
 * each is found with a single refusal.
 */
static void test_leader_backs_up_to_follower_missing_entries(void **state)
{
    (void)state;
    size_t rejections[FX_MAX_NODES + 1] = {0};
    fixture *fx = figure7(figure7_a, COUNT(figure7_a), 6, figure7_b,
                          COUNT(figure7_b), 4, rejections);

    /* 11 is the new leader's NOOP, committed on all three. */
    assert_int_equal(fx_log_last(fx, 1), 11);
    assert_int_equal(fx_log_term(fx, 1, 11), 7);
    assert_true(fx_logs_equal(fx, 1, 2));
    assert_true(fx_logs_equal(fx, 1, 3));
    assert_int_equal(rejections[2], 1);
    assert_int_equal(rejections[3], 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 11);
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
    assert_int_equal(fx_node_at(fx, 3)->n_truncated, 0);
}

/*
 * §5.3: "In Raft, the leader handles inconsistencies by forcing the
 * followers' logs to duplicate its own.  This means that conflicting
 * entries in follower logs will be overwritten with entries from the
 * leader's log."  Follower (f) of Figure 7 holds extra entries of terms 2
 * and 3; they go (on_truncate(4)) and the leader's take their place, with
 * at most one refusal per conflicting term.
 */
static void test_leader_overwrites_follower_extra_entries(void **state)
{
    (void)state;
    size_t rejections[FX_MAX_NODES + 1] = {0};
    fixture *fx = figure7(figure7_a, COUNT(figure7_a), 6, figure7_f,
                          COUNT(figure7_f), 3, rejections);

    assert_true(fx_logs_equal(fx, 1, 3));
    assert_true(fx_logs_equal(fx, 1, 2));
    assert_true(rejections[3] >= 1 && rejections[3] <= 2);
    fx_node *n3 = fx_node_at(fx, 3);
    assert_int_equal(n3->n_truncated, 1);
    assert_int_equal(n3->truncated[0], 4);
    fx_run(fx, T);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 3)), 11);
}

/*
 * Figure 3, Leader Append-Only: "a leader never overwrites or deletes
 * entries in its log; it only appends new entries."  While it overwrites
 * follower (f), and even when a follower sends a wild hint, the leader's
 * own entries stay as they were.
 */
static void test_leader_never_overwrites_its_own_log(void **state)
{
    (void)state;
    size_t rejections[FX_MAX_NODES + 1] = {0};
    fixture *fx = figure7(figure7_a, COUNT(figure7_a), 6, figure7_f,
                          COUNT(figure7_f), 3, rejections);

    refraft_msg wild = fx_append_result(7, "n3", false, 0);
    wild.u.append_entries_result.rejected_index = 11;
    wild.u.append_entries_result.conflict_term = 9;
    wild.u.append_entries_result.conflict_index = 2;
    assert_int_equal(fx_inject(fx, 1, &wild), 0);
    fx_deliver_all(fx);

    assert_int_equal(fx_node_at(fx, 1)->n_truncated, 0);
    assert_int_equal(fx_log_last(fx, 1), 11);
    for (refraft_index k = 1; k <= COUNT(figure7_leader); k++)
        assert_int_equal(fx_log_term(fx, 1, k), figure7_leader[k - 1]);
    assert_true(fx_logs_equal(fx, 1, 3));
}

/*
 * §8: "Raft handles this by having each leader commit a blank no-op entry
 * into the log at the start of its term."  The NOOP is in the leader's
 * log, of its term, the moment it wins, and commits like any entry.
 */
static void test_new_leader_appends_noop(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_timeout(fx, 1);
    while (refraft_role(fx_raft(fx, 1)) != REFRAFT_LEADER)
        assert_int_equal(fx_deliver(fx, 0), 0);

    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), 1);
    fx_record e = fx_log_entry(fx, 1, 1);
    assert_int_equal(e.type, REFRAFT_ENTRY_NOOP);
    assert_int_equal(e.term, 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 0);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_node_at(fx, 1)->n_applied, 1);
    assert_int_equal(fx_node_at(fx, 1)->applied[0].type, REFRAFT_ENTRY_NOOP);
    assert_int_equal(fx_log_term(fx, 2, 1), 1);
}

/*
 * DESIGN.md contract 4: "refraft_propose() on a non-leader returns
 * REFRAFT_ENOTLEADER and the node exposes the leader id (or
 * REFRAFT_ENOLEADER: retry later)."  Nothing is appended or sent.
 */
static void test_propose_on_non_leader_names_leader(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    refraft_index idx = 42;

    assert_int_equal(fx_propose(fx, 2, "r1", &idx), REFRAFT_ENOLEADER);
    assert_null(refraft_leader_id(fx_raft(fx, 2)));

    /* A pre-candidate knows no leader either. */
    fx_timeout(fx, 1);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_PRECANDIDATE);
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), REFRAFT_ENOLEADER);
    fx_deliver_all(fx);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);

    size_t sent = fx_node_at(fx, 2)->n_sent;
    assert_int_equal(fx_propose(fx, 2, "r1", &idx), REFRAFT_ENOTLEADER);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 2)), "n1");
    assert_int_equal(refraft_last_index(fx_raft(fx, 2)), 1);
    assert_int_equal(fx_log_last(fx, 2), 1);
    assert_int_equal(fx_node_at(fx, 2)->n_sent, sent);
    assert_int_equal(idx, 42);
}

/*
 * Figure 2, AppendEntries receiver implementation 3: only an entry that
 * "conflicts with a new one (same index but different terms)" is deleted.
 * A late duplicate of an earlier request carries entries the follower
 * already has: it is acked for what it covers and truncates nothing.
 */
static void test_duplicate_append_entries_do_not_truncate(void **state)
{
    (void)state;
    fixture *fx = follower_with_log(NULL, 0, 1);
    refraft_entry three[] = {fx_entry(1, NULL), fx_entry(1, "a"),
                             fx_entry(1, "b")};

    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 0, three, 3);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(fx_log_last(fx, 2), 3);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    /* The same request again, then an older, shorter one. */
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(result_to(fx, 2, 1)->match_index, 3);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    ae = fx_append_entries(1, "n1", 0, 0, 0, three, 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_true(result_to(fx, 2, 1)->success);
    assert_int_equal(result_to(fx, 2, 1)->match_index, 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    ae = fx_append_entries(1, "n1", 1, 1, 0, &three[1], 1);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(result_to(fx, 2, 1)->match_index, 2);

    assert_int_equal(fx_log_last(fx, 2), 3);
    assert_string_equal(fx_log_entry(fx, 2, 3).record, "b");
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
}

/* Index in the queue of the nth (from 0) message matching. */
static size_t nth_queued(fixture *fx, int from, int to, int type, int nth)
{
    for (size_t k = 0; k < fx_pending(fx); k++) {
        fx_msg *m = fx_peek(fx, k);
        if (m->from == from && m->to == to && m->msg.type == type && nth-- == 0)
            return k;
    }
    fail_msg("no such queued message");
    return 0;
}

/*
 * Header, AppendEntries result: "the prev_log_index of the rejected
 * request, so the leader can tell a fresh rejection from a stale one".
 * Two pipelined AppendEntries reach n2 in the wrong order: the second is
 * refused, the first accepted, and the leader brings n2 up to date
 * without truncating anything and commits both entries.
 */
static void test_reordered_append_entries_converge(void **state)
{
    (void)state;
    fixture *fx = cluster_with_leader(3);
    refraft_index idx;
    assert_int_equal(fx_propose(fx, 1, "r1", &idx), 0);
    assert_int_equal(fx_propose(fx, 1, "r2", &idx), 0);
    assert_int_equal(fx_count(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES), 2);
    fx_drop_matching(fx, 1, 3, FX_ANY);

    assert_int_equal(
        fx_deliver(fx, nth_queued(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES, 1)), 0);
    assert_false(result_to(fx, 2, 1)->success);
    assert_int_equal(fx_log_last(fx, 2), 1);
    assert_int_equal(
        fx_deliver(fx, nth_queued(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES, 0)), 0);
    assert_int_equal(fx_log_last(fx, 2), 2);
    fx_deliver_all(fx);

    assert_int_equal(fx_log_last(fx, 2), 3);
    assert_true(fx_logs_equal(fx, 1, 2));
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 3);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, fx_cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_leader_appends_proposal_and_replicates),
        TEST(test_entry_committed_once_on_majority),
        TEST(test_followers_learn_commit_from_heartbeats),
        TEST(test_deferred_follower_apply_runs_in_the_tick),
        TEST(test_consistency_check_refuses_entries),
        TEST(test_conflicting_entries_deleted_and_reported),
        TEST(test_committed_entries_never_truncated),
        TEST(test_commit_index_is_min_of_leader_commit_and_last_new),
        TEST(test_leader_backs_up_to_follower_missing_entries),
        TEST(test_leader_overwrites_follower_extra_entries),
        TEST(test_leader_never_overwrites_its_own_log),
        TEST(test_new_leader_appends_noop),
        TEST(test_propose_on_non_leader_names_leader),
        TEST(test_duplicate_append_entries_do_not_truncate),
        TEST(test_reordered_append_entries_converge),
    };
    return cmocka_run_group_tests_name("replication", tests, NULL, NULL);
}
