/* test_membership.c - single-server membership changes (Raft thesis
 * §4.1-§4.3): learners, promotion, removal, rollback and reload. */
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

#define T FX_ELECTION_TIMEOUT

/* ---- helpers ---------------------------------------------------------- */

/* The members of node i's configuration in effect, in order, as
 * "n1 n2 n4/l" (a learner marked /l). */
static const char *describe(fixture *fx, int i)
{
    static char buf[16 * (REFRAFT_ID_MAX + 4)];
    refraft_node *node = fx_raft(fx, i);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < refraft_n_members(node); k++) {
        refraft_member m;
        assert_int_equal(refraft_member_get(node, k, &m), 0);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s%s",
                                k > 0 ? " " : "", m.id, m.voter ? "" : "/l");
    }
    return buf;
}

static size_t count_events(fixture *fx, int i, uint8_t type)
{
    const fx_node *fn = fx_node_at(fx, i);
    size_t n = 0;
    for (size_t k = 0; k < fn->n_events; k++)
        n += fn->events[k].type == type;
    return n;
}

static const char *address_of(const char *id)
{
    static char buf[64];
    snprintf(buf, sizeof(buf), "http://%s:7000", id);
    return buf;
}

/* fx_new_joining(n_members, n_joining), started, with n1 elected and its
 * no-op (index 1) committed everywhere it was sent. */
static fixture *cluster(int n_members, int n_joining)
{
    fixture *fx = fx_new_joining(n_members, n_joining);
    fx_start(fx);
    fx_elect(fx, 1);
    return fx;
}

/* Add id as a learner through leader i and deliver every message. */
static refraft_index add_learner(fixture *fx, int i, const char *id)
{
    refraft_index index = 0;
    int rv = refraft_add_learner(fx_raft(fx, i), id, address_of(id), &index);
    if (rv != 0)
        fail_msg("adding %s failed: %s (%s)", id, refraft_strerror(rv),
                 refraft_errmsg(fx_raft(fx, i)));
    fx_deliver_all(fx);
    return index;
}

static refraft_index propose(fixture *fx, int i, const char *record)
{
    refraft_index index = 0;
    assert_int_equal(fx_propose(fx, i, record, &index), 0);
    return index;
}

/* Deliver, until none is left, the messages between a and b (either
 * way), sent meanwhile included; every other message stays queued. */
static void deliver_between(fixture *fx, int a, int b)
{
    for (;;) {
        size_t k = 0;
        while (k < fx_pending(fx)) {
            const fx_msg *m = fx_peek(fx, k);
            if ((m->from == a && m->to == b) || (m->from == b && m->to == a))
                break;
            k++;
        }
        if (k == fx_pending(fx))
            return;
        int rv = fx_deliver(fx, k);
        if (rv != 0 && rv != REFRAFT_ESTALE && rv != FX_DROPPED)
            fail_msg("a node refused a message: %s", refraft_strerror(rv));
    }
}

/* Time node i out and deliver only election messages until it leads:
 * its AppendEntries (with its no-op) stay queued. */
static void elect_without_replicating(fixture *fx, int i)
{
    fx_timeout(fx, i);
    while (refraft_role(fx_raft(fx, i)) != REFRAFT_LEADER) {
        size_t k = 0;
        while (k < fx_pending(fx)) {
            int type = fx_peek(fx, k)->msg.type;
            if (type == REFRAFT_MSG_REQUEST_VOTE ||
                type == REFRAFT_MSG_REQUEST_VOTE_RESULT)
                break;
            k++;
        }
        if (k == fx_pending(fx))
            fail_msg("n%d did not win its election", i);
        (void)fx_deliver(fx, k);
    }
}

static refraft_peer_progress progress(fixture *fx, int leader, const char *id)
{
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, leader), id, &p), 0);
    return p;
}

static void assert_role(fixture *fx, int i, int role)
{
    assert_string_equal(refraft_role_name(refraft_role(fx_raft(fx, i))),
                        refraft_role_name(role));
}

/* What a refused change must leave as it was. */
typedef struct change_state {
    refraft_index last;
    refraft_index config_index;
    size_t n_members;
} change_state;

static change_state change_state_of(fixture *fx, int i)
{
    refraft_node *node = fx_raft(fx, i);
    return (change_state){refraft_last_index(node), refraft_config_index(node),
                          refraft_n_members(node)};
}

static void
check_refused(fixture *fx, int i, int rv, int code, change_state before)
{
    refraft_node *node = fx_raft(fx, i);
    if (rv != code)
        fail_msg("got %s, want %s (%s)", refraft_strerror(rv),
                 refraft_strerror(code), refraft_errmsg(node));
    assert_true(refraft_errmsg(node)[0] != '\0');
    change_state now = change_state_of(fx, i);
    assert_int_equal(now.last, before.last);
    assert_int_equal(now.config_index, before.config_index);
    assert_int_equal(now.n_members, before.n_members);
}

/* Make a change on node i, expecting it refused with code, with a message
 * saying why: nothing appended, the configuration as it was. */
#define assert_change_refused(fx, i, call, code)                               \
    do {                                                                       \
        change_state before_ = change_state_of(fx, i);                         \
        check_refused(fx, i, (call), code, before_);                           \
    } while (0)

/* ---- learners ------------------------------------------------------- */

/*
 * Thesis §4.2.1: a new server first joins as a non-voting member, to
 * which the leader replicates its log but which counts toward no
 * majority.  A learner added by the leader receives the whole log, the
 * CONFIG naming it included, from a leader it had no configuration for.
 */
static void test_learner_receives_the_log(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 1);
    assert_int_equal(refraft_n_members(fx_raft(fx, 4)), 0);
    size_t events = count_events(fx, 1, REFRAFT_EVENT_CONFIG);
    refraft_index index = 0;
    assert_int_equal(
        refraft_add_learner(fx_raft(fx, 1), "n4", address_of("n4"), &index), 0);
    assert_int_equal(index, 2);
    /* In effect on the leader at once, before it commits. */
    assert_int_equal(refraft_config_index(fx_raft(fx, 1)), 2);
    assert_string_equal(describe(fx, 1), "n1 n2 n3 n4/l");
    assert_false(refraft_is_voter(fx_raft(fx, 1), "n4"));
    assert_false(progress(fx, 1, "n4").voter);
    assert_true(progress(fx, 1, "n2").voter);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(count_events(fx, 1, REFRAFT_EVENT_CONFIG), events + 1);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 2);
    /* Appended, then committed: two events. */
    assert_int_equal(count_events(fx, 1, REFRAFT_EVENT_CONFIG), events + 2);
    assert_true(fx_logs_equal(fx, 1, 4));
    assert_int_equal(refraft_config_index(fx_raft(fx, 4)), 2);
    assert_string_equal(describe(fx, 4), "n1 n2 n3 n4/l");
    assert_true(count_events(fx, 4, REFRAFT_EVENT_CONFIG) >= 1);
    refraft_member m;
    assert_int_equal(refraft_member_get(fx_raft(fx, 4), 3, &m), 0);
    assert_string_equal(m.address, address_of("n4"));
    assert_int_equal(progress(fx, 1, "n4").match_index, 2);

    /* A follower says so when it learns that the change committed. */
    size_t n2_events = count_events(fx, 2, REFRAFT_EVENT_CONFIG);
    fx_run(fx, T / 10);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 2);
    assert_int_equal(count_events(fx, 2, REFRAFT_EVENT_CONFIG), n2_events + 1);

    /* Later entries reach it too. */
    refraft_index r1 = propose(fx, 1, "r1");
    fx_deliver_all(fx);
    assert_int_equal(refraft_last_index(fx_raft(fx, 4)), r1);
    assert_true(fx_logs_equal(fx, 1, 4));
}

/*
 * Thesis §4.2.1: a non-voting member counts toward no majority.  With two
 * of three voters holding back, the leader and the learner hold an entry:
 * two of the four members, which would be a majority of the three voters
 * if the learner counted.  It commits only once a voter has it.
 */
static void test_learner_is_not_counted_for_commit(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 1);
    add_learner(fx, 1, "n4");
    refraft_index commit = refraft_commit_index(fx_raft(fx, 1));
    refraft_index r1 = propose(fx, 1, "r1");
    deliver_between(fx, 1, 4);
    assert_int_equal(progress(fx, 1, "n4").match_index, r1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), commit);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), r1);
}

/*
 * refraft_config.join: "until a CONFIG entry in its log names it a voter
 * it never campaigns".  A server started to join, alone with an empty
 * configuration, waits through many election timeouts without a word.
 */
static void test_joining_server_never_campaigns(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(1, 1);
    fx_start(fx);
    for (int round = 0; round < 20; round++) {
        fx_timeout(fx, 2);
        assert_role(fx, 2, REFRAFT_FOLLOWER);
    }
    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), 0);
    assert_int_equal(fx_node_at(fx, 2)->n_sent, 0);
}

/* A learner that loses its leader does not campaign either: it is not a
 * voter of the configuration its log holds (thesis §4.2.1). */
static void test_learner_never_campaigns(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 1);
    add_learner(fx, 1, "n4");
    fx_crash(fx, 1);
    refraft_term term = refraft_current_term(fx_raft(fx, 4));
    size_t sent = fx_node_at(fx, 4)->n_sent;
    for (int round = 0; round < 20; round++) {
        fx_timeout(fx, 4);
        assert_role(fx, 4, REFRAFT_FOLLOWER);
    }
    assert_int_equal(refraft_current_term(fx_raft(fx, 4)), term);
    assert_int_equal(fx_node_at(fx, 4)->n_sent, sent);
    assert_int_equal(fx_count(fx, 4, FX_ANY, REFRAFT_MSG_REQUEST_VOTE), 0);
}

/* Votes count only from voters (thesis §4.2.1): a candidate does not ask
 * a learner, and a vote a learner grants anyway moves nothing. */
static void test_learner_votes_are_not_counted(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 1);
    add_learner(fx, 1, "n4");
    fx_crash(fx, 1);
    refraft_term term = refraft_current_term(fx_raft(fx, 2));

    fx_timeout(fx, 2); /* pre-vote */
    assert_role(fx, 2, REFRAFT_PRECANDIDATE);
    assert_int_equal(fx_count(fx, 2, 4, REFRAFT_MSG_REQUEST_VOTE), 0);
    assert_int_equal(fx_count(fx, 2, 3, REFRAFT_MSG_REQUEST_VOTE), 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    refraft_msg pre = fx_vote_result(term + 1, "n4", true, true);
    assert_int_equal(fx_inject(fx, 2, &pre), 0);
    assert_role(fx, 2, REFRAFT_PRECANDIDATE);
    pre = fx_vote_result(term + 1, "n3", true, true);
    assert_int_equal(fx_inject(fx, 2, &pre), 0);
    assert_role(fx, 2, REFRAFT_CANDIDATE);

    assert_int_equal(fx_count(fx, 2, 4, REFRAFT_MSG_REQUEST_VOTE), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    refraft_msg vote = fx_vote_result(term + 1, "n4", true, false);
    assert_int_equal(fx_inject(fx, 2, &vote), 0);
    assert_role(fx, 2, REFRAFT_CANDIDATE);
    vote = fx_vote_result(term + 1, "n3", true, false);
    assert_int_equal(fx_inject(fx, 2, &vote), 0);
    assert_role(fx, 2, REFRAFT_LEADER);
}

/* ---- promotion -------------------------------------------------------- */

/*
 * Thesis §4.2.1: a server becomes a voter only once it has caught up
 * with the leader's log.  refraft_promote() refuses (REFRAFT_ELAGGING) a
 * learner whose match index is more than promote_lag entries behind the
 * leader's last index, and takes one exactly promote_lag behind.
 */
static void test_promote_refused_while_learner_lags(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(2, 1);
    fx_node_at(fx, 1)->config.promote_lag = 2;
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);
    add_learner(fx, 1, "n3");
    propose(fx, 1, "r1");
    propose(fx, 1, "r2");
    fx_deliver_all(fx);
    refraft_index last = refraft_last_index(fx_raft(fx, 1));
    refraft_index index = 0;
    assert_change_refused(fx, 1, refraft_promote(fx_raft(fx, 1), "n3", &index),
                          REFRAFT_ELAGGING);
    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), last);
    assert_int_equal(index, 0);

    /* Caught up, then three behind: still too far. */
    fx_isolate(fx, 3, false);
    fx_run(fx, 3 * T / 10);
    assert_int_equal(progress(fx, 1, "n3").match_index, last);
    fx_isolate(fx, 3, true);
    propose(fx, 1, "r3");
    propose(fx, 1, "r4");
    propose(fx, 1, "r5");
    fx_deliver_all(fx);
    assert_change_refused(fx, 1, refraft_promote(fx_raft(fx, 1), "n3", &index),
                          REFRAFT_ELAGGING);

    /* Caught up, then two behind: close enough. */
    fx_isolate(fx, 3, false);
    fx_run(fx, 3 * T / 10);
    last = refraft_last_index(fx_raft(fx, 1));
    assert_int_equal(progress(fx, 1, "n3").match_index, last);
    fx_isolate(fx, 3, true);
    propose(fx, 1, "r6");
    propose(fx, 1, "r7");
    assert_int_equal(refraft_promote(fx_raft(fx, 1), "n3", &index), 0);
    assert_int_equal(index, last + 3);
    assert_true(refraft_is_voter(fx_raft(fx, 1), "n3"));
    assert_true(progress(fx, 1, "n3").voter);
}

/* "refraft_promote() refuses (REFRAFT_ELAGGING) a learner whose match or
 * data index is more than this many entries behind": a learner that holds
 * the log but not the records of its entries has not caught up. */
static void test_promote_refused_while_learner_lacks_records(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(2, 1);
    fx_node_at(fx, 1)->config.promote_lag = 1;
    fx_records_on(fx);
    fx_start(fx);
    fx_elect(fx, 1);
    add_learner(fx, 1, "n3");
    const char *records[] = {"r1", "r2", "r3"};
    for (size_t k = 0; k < 3; k++) {
        fx_record_put(fx, 1, records[k]);
        fx_record_put(fx, 2, records[k]);
        propose(fx, 1, records[k]);
    }
    fx_deliver_all(fx);
    refraft_index last = refraft_last_index(fx_raft(fx, 1));
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), last);
    assert_int_equal(progress(fx, 1, "n3").match_index, last);
    assert_true(progress(fx, 1, "n3").data_index < last - 1);
    refraft_index index = 0;
    assert_change_refused(fx, 1, refraft_promote(fx_raft(fx, 1), "n3", &index),
                          REFRAFT_ELAGGING);

    for (size_t k = 0; k < 3; k++)
        assert_int_equal(fx_records_stored(fx, 3, records[k]), 0);
    fx_deliver_all(fx);
    assert_int_equal(progress(fx, 1, "n3").data_index, last);
    assert_int_equal(refraft_promote(fx_raft(fx, 1), "n3", &index), 0);
}

/*
 * Once promoted, the server counts: in a configuration of n1 and n2, n1
 * and the learner n3 cannot commit (n3 is not a voter); after n3's
 * promotion, n1 and n3 are two of three voters and commit without n2 -
 * the promotion itself first of all.
 */
static void test_promoted_learner_counts_for_commit(void **state)
{
    (void)state;
    fixture *fx = cluster(2, 1);
    add_learner(fx, 1, "n3");
    refraft_index commit = refraft_commit_index(fx_raft(fx, 1));
    refraft_index r1 = propose(fx, 1, "r1");
    deliver_between(fx, 1, 3);
    assert_int_equal(progress(fx, 1, "n3").match_index, r1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), commit);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), r1);

    refraft_index index = 0;
    assert_int_equal(refraft_promote(fx_raft(fx, 1), "n3", &index), 0);
    assert_string_equal(describe(fx, 1), "n1 n2 n3");
    deliver_between(fx, 1, 3);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), index);
    refraft_index r2 = propose(fx, 1, "r2");
    deliver_between(fx, 1, 3);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), r2);
    assert_string_equal(describe(fx, 3), "n1 n2 n3");
    assert_true(refraft_is_voter(fx_raft(fx, 3), "n3"));
}

/* ---- when a change may be made ---------------------------------------- */

/*
 * The fix to single-server changes (Ongaro, raft-dev 2015, in the errata
 * of thesis §4.1): "a leader may not append a new configuration entry
 * until it has committed an entry from its current term".  A new leader
 * refuses every change with REFRAFT_EBUSY until its no-op commits.
 */
static void
test_change_refused_until_leader_commits_entry_of_its_term(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    elect_without_replicating(fx, 1);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_int_equal(refraft_last_index(n1), 1);
    assert_int_equal(refraft_commit_index(n1), 0);
    refraft_index index = 0;
    assert_change_refused(fx, 1, refraft_add_learner(n1, "n9", "", &index),
                          REFRAFT_EBUSY);
    assert_change_refused(fx, 1, refraft_remove(n1, "n3", &index),
                          REFRAFT_EBUSY);
    assert_int_equal(refraft_last_index(n1), 1);
    assert_int_equal(refraft_config_index(n1), 0);
    assert_int_equal(index, 0);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n1), 1);
    assert_int_equal(refraft_add_learner(n1, "n9", "", &index), 0);
    assert_int_equal(index, 2);
}

/* Thesis §4.1: a leader starts no membership change until the previous
 * one has committed (REFRAFT_EBUSY meanwhile), so that at most one
 * configuration in a log is uncommitted. */
static void test_change_refused_while_previous_change_uncommitted(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index index = 0, other = 0;
    assert_int_equal(refraft_add_learner(n1, "n9", "", &index), 0);
    assert_change_refused(fx, 1, refraft_add_learner(n1, "n8", "", &other),
                          REFRAFT_EBUSY);
    assert_change_refused(fx, 1, refraft_promote(n1, "n9", &other),
                          REFRAFT_EBUSY);
    assert_change_refused(fx, 1, refraft_remove(n1, "n9", &other),
                          REFRAFT_EBUSY);
    assert_int_equal(refraft_last_index(n1), index);
    assert_int_equal(refraft_config_index(n1), index);

    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n1), index);
    assert_int_equal(refraft_remove(n1, "n9", &other), 0);
    assert_int_equal(other, index + 1);
}

/* A leader that inherits an uncommitted CONFIG from its predecessor is
 * busy until its own no-op commits, which commits the inherited change
 * too (thesis §4.1; Raft §5.4.2). */
static void test_new_leader_waits_for_inherited_change(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_index index = 0;
    assert_int_equal(refraft_add_learner(fx_raft(fx, 1), "n9", "", &index), 0);
    fx_deliver_first(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_crash(fx, 1);
    assert_int_equal(refraft_config_index(fx_raft(fx, 2)), index);

    elect_without_replicating(fx, 2);
    refraft_node *n2 = fx_raft(fx, 2);
    assert_true(refraft_commit_index(n2) < index);
    refraft_index other = 0;
    assert_change_refused(fx, 2, refraft_add_learner(n2, "n8", "", &other),
                          REFRAFT_EBUSY);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n2), refraft_last_index(n2));
    assert_int_equal(refraft_add_learner(n2, "n8", "", &other), 0);
    assert_string_equal(describe(fx, 2), "n1 n2 n3 n9/l n8/l");
}

/* ---- bad changes ------------------------------------------------------ */

/* refraft_add_learner(), refraft_promote(), refraft_remove(): "REFRAFT_EINVAL
 * for a bad id or address, a server already a member (add), not a learner
 * (promote), not a member ... (remove)"; nothing is appended. */
static void test_bad_changes_are_einval(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    char long_id[REFRAFT_ID_MAX + 2];
    memset(long_id, 'i', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    char address[REFRAFT_ADDRESS_MAX + 2];
    memset(address, 'a', sizeof(address) - 1);
    address[sizeof(address) - 1] = '\0';
    refraft_index last = refraft_last_index(n1), index = 0;

    const char *bad_ids[] = {NULL, "", long_id, "n1", "n2"};
    for (size_t k = 0; k < 5; k++)
        assert_change_refused(fx, 1,
                              refraft_add_learner(n1, bad_ids[k], "", &index),
                              REFRAFT_EINVAL);
    assert_change_refused(fx, 1, refraft_add_learner(n1, "n9", NULL, &index),
                          REFRAFT_EINVAL);
    /* One byte over REFRAFT_ADDRESS_MAX is refused; the limit is fine. */
    assert_change_refused(fx, 1, refraft_add_learner(n1, "n9", address, &index),
                          REFRAFT_EINVAL);
    assert_int_equal(refraft_last_index(n1), last);
    assert_int_equal(refraft_config_index(n1), 0);
    address[REFRAFT_ADDRESS_MAX] = '\0';
    assert_int_equal(refraft_add_learner(n1, "n9", address, &index), 0);
    fx_deliver_all(fx);
    last = refraft_last_index(n1);

    assert_change_refused(fx, 1, refraft_add_learner(n1, "n9", "", &index),
                          REFRAFT_EINVAL);
    const char *not_learners[] = {NULL, "", "n1", "n2", "n7"};
    for (size_t k = 0; k < 5; k++)
        assert_change_refused(fx, 1,
                              refraft_promote(n1, not_learners[k], &index),
                              REFRAFT_EINVAL);
    const char *not_members[] = {NULL, "", long_id, "n7"};
    for (size_t k = 0; k < 4; k++)
        assert_change_refused(fx, 1, refraft_remove(n1, not_members[k], &index),
                              REFRAFT_EINVAL);
    assert_int_equal(refraft_last_index(n1), last);
    assert_string_equal(describe(fx, 1), "n1 n2 n3 n9/l");

    /* Only the leader changes the configuration. */
    assert_change_refused(fx, 2,
                          refraft_add_learner(fx_raft(fx, 2), "n8", "", &index),
                          REFRAFT_ENOTLEADER);
    assert_change_refused(fx, 2, refraft_remove(fx_raft(fx, 2), "n3", &index),
                          REFRAFT_ENOTLEADER);
}

/* "REFRAFT_EINVAL for ... the last voter (remove)": a configuration needs
 * a voter; its learners can go. */
static void test_removing_the_last_voter_is_einval(void **state)
{
    (void)state;
    fixture *fx = cluster(1, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    add_learner(fx, 1, "l1");
    refraft_index last = refraft_last_index(n1), index = 0;
    assert_change_refused(fx, 1, refraft_remove(n1, "n1", &index),
                          REFRAFT_EINVAL);
    assert_int_equal(refraft_last_index(n1), last);
    assert_int_equal(refraft_remove(n1, "l1", &index), 0);
    assert_string_equal(describe(fx, 1), "n1");
    assert_change_refused(fx, 1, refraft_remove(n1, "n1", &index),
                          REFRAFT_EINVAL);
}

/* "REFRAFT_EINVAL for ... a configuration already at REFRAFT_MAX_PEERS
 * members".  A lone voter commits each change at once. */
static void test_configuration_holds_at_most_max_peers_members(void **state)
{
    (void)state;
    fixture *fx = cluster(1, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    char id[16];
    refraft_index index = 0;
    for (int k = 1; k < REFRAFT_MAX_PEERS; k++) {
        snprintf(id, sizeof(id), "l%d", k);
        assert_int_equal(refraft_add_learner(n1, id, "", &index), 0);
        assert_int_equal(refraft_commit_index(n1), index);
    }
    assert_int_equal(refraft_n_members(n1), REFRAFT_MAX_PEERS);
    assert_int_equal(refraft_n_peers(n1), REFRAFT_MAX_PEERS - 1);
    refraft_index last = refraft_last_index(n1);
    assert_change_refused(fx, 1, refraft_add_learner(n1, "l15", "", &index),
                          REFRAFT_EINVAL);
    assert_int_equal(refraft_last_index(n1), last);
    assert_int_equal(refraft_remove(n1, "l3", &index), 0);
    assert_int_equal(refraft_add_learner(n1, "l15", "", &index), 0);
    assert_int_equal(refraft_n_members(n1), REFRAFT_MAX_PEERS);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
}

/* "REFRAFT_EINVAL for ... a log API older than version 4": such a log
 * cannot store CONFIG entries. */
static void test_log_api_version_3_cannot_change_membership(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node_at(fx, 1)->log.version = 3;
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index index = 0;
    assert_change_refused(fx, 1, refraft_add_learner(n1, "n2", "", &index),
                          REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n1), "version"));
    assert_change_refused(fx, 1, refraft_remove(n1, "n1", &index),
                          REFRAFT_EINVAL);
    assert_int_equal(refraft_last_index(n1), 1);
    assert_int_equal(refraft_n_members(n1), 1);
}

/* ---- removal ---------------------------------------------------------- */

/*
 * Thesis §4.1: a configuration takes effect on each server as soon as it
 * is added to that server's log, committed or not.  A removed follower gets no
 * more entries or heartbeats, and the two left form the majority: both are
 * needed, the removed one is not.
 */
static void test_removed_follower_gets_nothing_and_two_commit(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index index = 0;
    assert_int_equal(refraft_remove(n1, "n3", &index), 0);
    assert_string_equal(describe(fx, 1), "n1 n2");
    assert_int_equal(refraft_n_peers(n1), 1);
    refraft_peer_progress p;
    assert_int_equal(refraft_peer_progress_get(n1, "n3", &p),
                     REFRAFT_EUNKNOWNPEER);
    assert_int_equal(fx_count(fx, 1, 3, FX_ANY), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n1), index);
    assert_true(refraft_last_index(fx_raft(fx, 3)) < index);

    refraft_index r1 = propose(fx, 1, "r1");
    fx_run(fx, 3 * T / 10);
    assert_int_equal(refraft_commit_index(n1), r1);
    assert_int_equal(fx_count(fx, 1, 3, FX_ANY), 0);
    assert_true(refraft_last_index(fx_raft(fx, 3)) < index);

    /* n2 holding back stops commits: the majority of {n1, n2} is both. */
    refraft_index r2 = propose(fx, 1, "r2");
    fx_drop_matching(fx, 1, 2, FX_ANY);
    assert_int_equal(refraft_commit_index(n1), r1);
    fx_run(fx, 3 * T / 10);
    assert_int_equal(refraft_commit_index(n1), r2);
}

/*
 * refraft_append_entries.epoch: "a late answer from a server that was
 * removed is never counted for a new server added under its id."  n3
 * acknowledges r1, its answer is held back, n3 is removed and a new
 * server is added under the id n3.  The old answer then arrives: the new
 * n3's match index stays 0 (counting it could commit entries the new
 * server never had).
 */
static void test_late_answer_of_a_removed_server_is_not_counted(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index r1 = propose(fx, 1, "r1");
    while (fx_count(fx, 1, 3, FX_ANY) > 0)
        fx_deliver_first(fx, 1, 3, FX_ANY);
    fx_msg *late = NULL;
    for (size_t k = 0; k < fx_pending(fx) && late == NULL; k++) {
        fx_msg *m = fx_peek(fx, k);
        if (m->from == 3 && m->msg.type == REFRAFT_MSG_APPEND_ENTRIES_RESULT &&
            m->msg.u.append_entries_result.match_index >= r1)
            late = m;
    }
    assert_non_null(late);
    void *buf = malloc(msgcopy_size(&late->msg));
    assert_non_null(buf);
    refraft_msg *old = msgcopy_pack(&late->msg, buf);
    fx_drop_matching(fx, 3, 1, FX_ANY);
    fx_isolate(fx, 3, true);

    refraft_index index = 0;
    assert_int_equal(refraft_remove(n1, "n3", &index), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(n1), index);
    assert_int_equal(refraft_add_learner(n1, "n3", address_of("n3"), &index),
                     0);
    assert_int_equal(progress(fx, 1, "n3").match_index, 0);
    assert_int_equal(fx_inject(fx, 1, old), 0);
    assert_int_equal(progress(fx, 1, "n3").match_index, 0);
    free(buf);
}

/*
 * Thesis §4.2.2: a leader removed from the configuration steps down once
 * the entry that removes it has committed; until then it leads a cluster
 * that does not include it, replicating entries without counting itself
 * in majorities.  It never campaigns again, and the others elect a leader
 * among themselves.
 */
static void test_leader_removes_itself(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index index = 0;
    size_t events = count_events(fx, 1, REFRAFT_EVENT_CONFIG);
    assert_int_equal(refraft_remove(n1, "n1", &index), 0);
    assert_string_equal(describe(fx, 1), "n2 n3");
    assert_false(refraft_is_voter(n1, "n1"));
    assert_role(fx, 1, REFRAFT_LEADER);
    refraft_index r1 = propose(fx, 1, "r1");

    /* n1 and n2 hold everything: a majority of the old configuration,
     * but one of the two voters of the new one. */
    deliver_between(fx, 1, 2);
    assert_int_equal(refraft_last_index(fx_raft(fx, 2)), r1);
    assert_true(refraft_commit_index(n1) < index);
    assert_role(fx, 1, REFRAFT_LEADER);

    deliver_between(fx, 1, 3);
    assert_true(refraft_commit_index(n1) >= index);
    assert_role(fx, 1, REFRAFT_FOLLOWER);
    assert_int_equal(count_events(fx, 1, REFRAFT_EVENT_CONFIG), events + 2);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    refraft_term term = refraft_current_term(n1);
    size_t sent = fx_node_at(fx, 1)->n_sent;
    for (int round = 0; round < 20; round++) {
        fx_timeout(fx, 1);
        assert_role(fx, 1, REFRAFT_FOLLOWER);
    }
    assert_int_equal(refraft_current_term(n1), term);
    assert_int_equal(fx_node_at(fx, 1)->n_sent, sent);

    fx_elect(fx, 2);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 3)), "n2");
    assert_string_equal(describe(fx, 2), "n2 n3");
    refraft_index r2 = propose(fx, 2, "r2");
    assert_int_equal(fx_count(fx, 2, 1, FX_ANY), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), r2);
}

/* Thesis §4.2.3 on removed servers, which hear no heartbeats and time
 * out: with pre-vote (§9.6), their campaigns disturb no one while the
 * leader is heard from. */
static void test_removed_server_does_not_disrupt(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_index index = 0;
    assert_int_equal(refraft_remove(fx_raft(fx, 1), "n3", &index), 0);
    fx_deliver_all(fx);
    refraft_term term = refraft_current_term(fx_raft(fx, 1));
    fx_run(fx, 5 * T);
    assert_true(fx_node_at(fx, 3)->n_sent > 0); /* it tried */
    assert_role(fx, 1, REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), term);
    assert_int_equal(refraft_current_term(fx_raft(fx, 2)), term);
}

/*
 * Thesis §4.2.3: "if a server receives a RequestVote request within the
 * minimum election timeout of hearing from a current leader, it does not
 * update its term or grant its vote."  Without pre-vote, only that rule
 * keeps a removed server, which hears no heartbeats, from deposing the
 * leader over and over.
 */
static void test_removed_server_without_pre_vote_does_not_disrupt(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_index index = 0;
    assert_int_equal(refraft_remove(fx_raft(fx, 1), "n3", &index), 0);
    fx_deliver_all(fx);
    refraft_term term = refraft_current_term(fx_raft(fx, 1));
    fx_run(fx, 5 * T);
    assert_true(fx_node_at(fx, 3)->n_sent > 0); /* it tried */
    assert_role(fx, 1, REFRAFT_LEADER);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), term);
}

/*
 * Found while testing membership changes, though not about them: a
 * follower refuses a stale AppendEntries (Figure 2: "Reply false if term <
 * currentTerm") with a result that carries its term but no conflict
 * index.  When the result reaches its addressee after that node has won
 * the follower's term, the leader calls a correct follower's answer
 * malformed (REFRAFT_EBADMSG).  Here n1 leads term 1, its AppendEntries
 * to n2 is held back while n1 restarts and wins term 2 with n2's vote,
 * and then n2 answers the old message.
 */
static void test_late_refusal_of_a_stale_request_is_not_malformed(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    for (int i = 1; i <= 3; i++)
        fx_node_at(fx, i)->config.disable_pre_vote = true;
    fx_start(fx);
    fx_elect(fx, 1);
    propose(fx, 1, "r1");
    fx_drop_matching(fx, 1, 3, FX_ANY); /* the AppendEntries to n2 waits */
    fx_crash(fx, 1);
    fx_restart(fx, 1);
    fx_timeout(fx, 1);
    assert_int_equal(refraft_current_term(fx_raft(fx, 1)), 2);
    fx_deliver_first(fx, 1, 2, REFRAFT_MSG_REQUEST_VOTE);
    fx_deliver_first(fx, 2, 1, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_role(fx, 1, REFRAFT_LEADER);
    /* The old AppendEntries of term 1, then n2's refusal of it. */
    assert_int_equal(fx_deliver_first(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES),
                     REFRAFT_ESTALE);
    assert_int_equal(
        fx_deliver_first(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT), 0);
}

/* ---- rollback and reload ---------------------------------------------- */

/*
 * Thesis §4.1: a configuration entry can be removed from a log when
 * leadership changes, and the server then falls back to the previous
 * configuration in its log.  n2 and n1 hold n1's
 * uncommitted removal of n5; n3, elected by n4 and n5, replaces it.  Both
 * go back to five voters, and say so with REFRAFT_EVENT_CONFIG - n1 after
 * a restart that reloaded the removal from its log.
 */
static void test_truncated_config_rolls_back(void **state)
{
    (void)state;
    fixture *fx = cluster(5, 0);
    refraft_index index = 0;
    assert_int_equal(refraft_remove(fx_raft(fx, 1), "n5", &index), 0);
    fx_deliver_first(fx, 1, 2, REFRAFT_MSG_APPEND_ENTRIES);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    refraft_node *n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_config_index(n2), index);
    assert_string_equal(describe(fx, 2), "n1 n2 n3 n4");
    assert_int_equal(refraft_n_peers(n2), 3);
    assert_false(refraft_is_voter(n2, "n5"));
    size_t events = count_events(fx, 2, REFRAFT_EVENT_CONFIG);

    fx_crash(fx, 1);
    fx_isolate(fx, 2, true);
    fx_elect(fx, 3);
    assert_int_equal(fx_log_term(fx, 3, index),
                     refraft_current_term(fx_raft(fx, 3)));
    fx_isolate(fx, 2, false);
    fx_run(fx, 3 * T / 10);
    assert_true(fx_logs_equal(fx, 2, 3));
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 1);
    assert_int_equal(fx_node_at(fx, 2)->truncated[0], index);
    assert_int_equal(refraft_config_index(n2), 0);
    assert_string_equal(describe(fx, 2), "n2 n1 n3 n4 n5");
    assert_int_equal(refraft_n_peers(n2), 4);
    assert_true(refraft_is_voter(n2, "n5"));
    assert_int_equal(count_events(fx, 2, REFRAFT_EVENT_CONFIG), events + 1);

    events = count_events(fx, 1, REFRAFT_EVENT_CONFIG);
    fx_restart(fx, 1);
    assert_int_equal(refraft_config_index(fx_raft(fx, 1)), index);
    assert_string_equal(describe(fx, 1), "n1 n2 n3 n4");
    fx_run(fx, 3 * T / 10);
    assert_true(fx_logs_equal(fx, 1, 3));
    assert_int_equal(refraft_config_index(fx_raft(fx, 1)), 0);
    assert_string_equal(describe(fx, 1), "n1 n2 n3 n4 n5");
    assert_int_equal(count_events(fx, 1, REFRAFT_EVENT_CONFIG), events + 1);
}

/* The configuration is the last CONFIG entry in the log, committed or
 * not (thesis §4.1), so a restart finds it there: ids, addresses (those
 * refraft_config.peer_addresses gave the first CONFIG included), voter
 * flags and order. */
static void test_configuration_is_reloaded_on_restart(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    const char *addresses[] = {"http://n2:7000", "http://n3:7000"};
    fx_node_at(fx, 1)->config.peer_addresses = addresses;
    fx_start(fx);
    fx_elect(fx, 1);
    add_learner(fx, 1, "n4");
    refraft_index index = 0;
    assert_int_equal(refraft_promote(fx_raft(fx, 1), "n4", &index), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_remove(fx_raft(fx, 1), "n3", &index), 0);
    fx_deliver_all(fx);
    assert_int_equal(refraft_add_learner(fx_raft(fx, 1), "n9", "", &index), 0);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY); /* n9's stays uncommitted */
    assert_string_equal(describe(fx, 1), "n1 n2 n4 n9/l");

    for (int i = 1; i <= 2; i++) {
        refraft_member before[REFRAFT_MAX_PEERS];
        char strings[REFRAFT_MAX_PEERS][2][REFRAFT_ADDRESS_MAX + 1];
        refraft_node *node = fx_raft(fx, i);
        refraft_index at = refraft_config_index(node);
        size_t n = refraft_n_members(node);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(refraft_member_get(node, k, &before[k]), 0);
            snprintf(strings[k][0], sizeof(strings[k][0]), "%s", before[k].id);
            snprintf(strings[k][1], sizeof(strings[k][1]), "%s",
                     before[k].address);
        }
        fx_crash(fx, i);
        fx_restart(fx, i);
        node = fx_raft(fx, i);
        assert_int_equal(refraft_config_index(node), at);
        assert_int_equal(refraft_n_members(node), n);
        for (size_t k = 0; k < n; k++) {
            refraft_member m;
            assert_int_equal(refraft_member_get(node, k, &m), 0);
            assert_string_equal(m.id, strings[k][0]);
            assert_string_equal(m.address, strings[k][1]);
            assert_int_equal(m.voter, before[k].voter);
        }
    }
    assert_int_equal(refraft_config_index(fx_raft(fx, 1)), index);
    assert_true(refraft_config_index(fx_raft(fx, 2)) < index);
    refraft_member m;
    assert_int_equal(refraft_member_get(fx_raft(fx, 2), 1, &m), 0);
    assert_string_equal(m.id, "n2");
    assert_string_equal(m.address, "http://n2:7000");
    assert_int_equal(refraft_member_get(fx_raft(fx, 2), 2, &m), 0);
    assert_string_equal(m.id, "n4");
    assert_string_equal(m.address, address_of("n4"));
    assert_true(m.voter);
}

/* ---- messages --------------------------------------------------------- */

/*
 * refraft_on_message(): "Requests are taken from any id (thesis §4.1: a
 * server added by a CONFIG entry this node has not received yet may lead
 * already)"; "REFRAFT_EUNKNOWNPEER when a result comes from an id outside
 * the configuration: nothing changed and nothing was sent."
 */
static void test_requests_from_any_id_results_only_from_members(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    fx_start(fx);
    /* A joining server follows whichever leader reaches it. */
    refraft_entry noop = fx_entry(1, NULL);
    refraft_msg ae = fx_append_entries(1, "n1", 0, 0, 0, &noop, 1);
    assert_int_equal(fx_inject(fx, 4, &ae), 0);
    assert_int_equal(refraft_last_index(fx_raft(fx, 4)), 1);
    assert_string_equal(refraft_leader_id(fx_raft(fx, 4)), "n1");
    assert_int_equal(fx_count(fx, 4, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT), 1);
    /* A member answers a stranger's vote request. */
    refraft_msg rv = fx_request_vote(2, "zz", 5, 1, false);
    assert_int_equal(fx_inject(fx, 2, &rv), 0);
    const fx_msg *answer =
        fx_find(fx, 2, FX_ANY, REFRAFT_MSG_REQUEST_VOTE_RESULT);
    assert_non_null(answer);
    assert_string_equal(answer->to_id, "zz");
    assert_true(answer->msg.u.request_vote_result.vote_granted);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);

    /* Results from strangers change nothing. */
    fixture *fy = cluster(3, 0);
    fx_state before;
    fx_state_get(fy, 1, &before);
    refraft_msg res = fx_append_result(1, "zz", true, 1);
    assert_int_equal(fx_inject(fy, 1, &res), REFRAFT_EUNKNOWNPEER);
    refraft_msg vote = fx_vote_result(1, "zz", true, false);
    assert_int_equal(fx_inject(fy, 1, &vote), REFRAFT_EUNKNOWNPEER);
    fx_assert_state_unchanged(fy, 1, &before);

    /* Nor do those of a server just removed. */
    refraft_index index = 0;
    assert_int_equal(refraft_remove(fx_raft(fy, 1), "n3", &index), 0);
    fx_deliver_all(fy);
    fx_state_get(fy, 1, &before);
    res = fx_append_result(refraft_current_term(fx_raft(fy, 1)), "n3", true,
                           index);
    assert_int_equal(fx_inject(fy, 1, &res), REFRAFT_EUNKNOWNPEER);
    fx_assert_state_unchanged(fy, 1, &before);
}

/* An AppendEntries with a CONFIG entry whose members break the rules of
 * refraft_entry is malformed: REFRAFT_EBADMSG, and nothing changes, the
 * good entries before it included. */
static void test_config_entry_with_bad_members_is_ebadmsg(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 0);
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_term term = refraft_current_term(n2);
    refraft_index last = refraft_last_index(n2);
    char long_address[REFRAFT_ADDRESS_MAX + 2];
    memset(long_address, 'a', sizeof(long_address) - 1);
    long_address[sizeof(long_address) - 1] = '\0';
    refraft_member many[REFRAFT_MAX_PEERS + 1];
    char ids[REFRAFT_MAX_PEERS + 1][8];
    for (size_t k = 0; k < REFRAFT_MAX_PEERS + 1; k++) {
        snprintf(ids[k], sizeof(ids[k]), "m%zu", k);
        many[k] = (refraft_member){ids[k], "", true};
    }
    const refraft_member dup[] = {{"n1", "", true}, {"n1", "", true}};
    const refraft_member empty_id[] = {{"n1", "", true}, {"", "", true}};
    const refraft_member no_voter[] = {{"n1", "", false}, {"n2", "", false}};
    const refraft_member too_long[] = {{"n1", long_address, true}};
    const struct {
        const refraft_member *members;
        size_t n;
    } bad[] = {{many, 0},     {many, REFRAFT_MAX_PEERS + 1},
               {dup, 2},      {empty_id, 2},
               {no_voter, 2}, {too_long, 1},
               {NULL, 1}};
    const refraft_member good[] = {{"n1", "", true}, {"n2", "", true}};

    fx_state before;
    fx_state_get(fx, 2, &before);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        refraft_entry e[2] = {fx_entry(term, NULL), fx_entry(term, NULL)};
        e[0].type = REFRAFT_ENTRY_CONFIG;
        e[0].members = good;
        e[0].n_members = 2;
        e[1].type = REFRAFT_ENTRY_CONFIG;
        e[1].members = bad[k].members;
        e[1].n_members = bad[k].n;
        refraft_msg ae = fx_append_entries(term, "n1", last, term, 0, e, 2);
        assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_EBADMSG);
        fx_assert_state_unchanged(fx, 2, &before);
        assert_string_equal(describe(fx, 2), "n2 n1 n3");
    }
}

/* Check-quorum (thesis §6.2) counts voters: a leader that hears only from
 * a learner has lost its cluster and steps down, while one that hears
 * from a voter stays. */
static void test_check_quorum_counts_only_voters(void **state)
{
    (void)state;
    fixture *fx = cluster(3, 1);
    add_learner(fx, 1, "n4");
    fx_isolate(fx, 3, true);
    fx_run(fx, 3 * T);
    assert_role(fx, 1, REFRAFT_LEADER);
    fx_isolate(fx, 2, true);
    fx_run(fx, 3 * T);
    assert_true(refraft_role(fx_raft(fx, 1)) != REFRAFT_LEADER);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, fx_cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_learner_receives_the_log),
        TEST(test_learner_is_not_counted_for_commit),
        TEST(test_joining_server_never_campaigns),
        TEST(test_learner_never_campaigns),
        TEST(test_learner_votes_are_not_counted),
        TEST(test_promote_refused_while_learner_lags),
        TEST(test_promote_refused_while_learner_lacks_records),
        TEST(test_promoted_learner_counts_for_commit),
        TEST(test_change_refused_until_leader_commits_entry_of_its_term),
        TEST(test_change_refused_while_previous_change_uncommitted),
        TEST(test_new_leader_waits_for_inherited_change),
        TEST(test_bad_changes_are_einval),
        TEST(test_removing_the_last_voter_is_einval),
        TEST(test_configuration_holds_at_most_max_peers_members),
        TEST(test_log_api_version_3_cannot_change_membership),
        TEST(test_late_answer_of_a_removed_server_is_not_counted),
        TEST(test_removed_follower_gets_nothing_and_two_commit),
        TEST(test_leader_removes_itself),
        TEST(test_removed_server_does_not_disrupt),
        TEST(test_truncated_config_rolls_back),
        TEST(test_configuration_is_reloaded_on_restart),
        TEST(test_requests_from_any_id_results_only_from_members),
        TEST(test_config_entry_with_bad_members_is_ebadmsg),
        TEST(test_check_quorum_counts_only_voters),
        TEST(test_removed_server_without_pre_vote_does_not_disrupt),
        TEST(test_late_refusal_of_a_stale_request_is_not_malformed),
    };
    return cmocka_run_group_tests_name("membership", tests, NULL, NULL);
}
