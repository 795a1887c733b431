/* test_api.c - the public API contract: bad input, errors, allocation
 * faults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "fixture.h"
#include "mentions.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 65 bytes: one more than REFRAFT_ID_MAX. */
#define ID_65                                                                  \
    "n1234567890123456789012345678901"                                         \
    "234567890123456789012345678901234"

/* A pointer no call returns, to check that an out parameter is left
 * untouched. */
static void *sentinel_ptr(void)
{
    static int target;
    return &target;
}

/* ---- refraft_node_create ---------------------------------------------- */

/* What refraft_node_create gets: node n1's config, hull and log from an
 * unstarted 3-node fixture. */
typedef struct create_args {
    fixture *fx;
    refraft_config config;
    refraft_hull hull;
    refraft_log_api log;
} create_args;

static void create_args_init(create_args *a)
{
    a->fx = fx_new(3);
    a->config = fx_node_at(a->fx, 1)->config;
    fx_hull(a->fx, 1, &a->hull);
    a->log = fx_node_at(a->fx, 1)->log;
}

/*
 * Header, refraft_node_create: "On error *out is untouched, nothing is
 * written to the log, and when errbuf is not NULL it receives a message
 * saying what was wrong".  The message must mention `cause` (NULL: only
 * be non-empty).
 */
static void expect_create_error(create_args *a, int code, const char *cause)
{
    refraft_node *const sentinel = sentinel_ptr();
    refraft_node *out = sentinel;
    char err[REFRAFT_ERRMSG_LEN];
    memset(err, 0, sizeof(err));

    int rv = refraft_node_create(&a->config, &a->hull, &a->log, &out, err,
                                 sizeof(err));

    assert_int_equal(rv, code);
    assert_ptr_equal(out, sentinel);
    assert_true(strlen(err) > 0);
    if (cause != NULL)
        assert_mentions(err, cause);
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    fx_hard_state(a->fx, 1, &term, vote);
    assert_int_equal(term, 0);
    assert_string_equal(vote, "");
    assert_int_equal(fx_log_last(a->fx, 1), 0);
}

static void expect_create_ok(create_args *a)
{
    refraft_node *node = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    assert_int_equal(refraft_node_create(&a->config, &a->hull, &a->log, &node,
                                         err, sizeof(err)),
                     0);
    assert_non_null(node);
    refraft_node_destroy(node);
}

/* Header: "Errors: REFRAFT_EINVAL (bad config, hull or log API)"; NULL
 * pointers included. */
static void test_create_rejects_null_arguments(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);
    refraft_node *out = NULL;
    char err[REFRAFT_ERRMSG_LEN];

    assert_int_equal(
        refraft_node_create(NULL, &a.hull, &a.log, &out, err, sizeof(err)),
        REFRAFT_EINVAL);
    assert_int_equal(
        refraft_node_create(&a.config, NULL, &a.log, &out, err, sizeof(err)),
        REFRAFT_EINVAL);
    assert_int_equal(
        refraft_node_create(&a.config, &a.hull, NULL, &out, err, sizeof(err)),
        REFRAFT_EINVAL);
    assert_null(out);
    assert_int_equal(
        refraft_node_create(&a.config, &a.hull, &a.log, NULL, err, sizeof(err)),
        REFRAFT_EINVAL);
    assert_int_equal(fx_log_last(a.fx, 1), 0);
}

/* refraft.h: "Node ids are opaque strings of 1..REFRAFT_ID_MAX bytes". */
static void test_create_rejects_bad_node_id(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);

    a.config.id = NULL;
    expect_create_error(&a, REFRAFT_EINVAL, "id");
    a.config.id = "";
    expect_create_error(&a, REFRAFT_EINVAL, "id");
    a.config.id = ID_65;
    expect_create_error(&a, REFRAFT_EINVAL, "id");
    /* Exactly REFRAFT_ID_MAX bytes is fine. */
    a.config.id = &ID_65[1];
    expect_create_ok(&a);
}

/* refraft_config.peers: "the other voters' ids (not this node)", n_peers
 * "0..REFRAFT_MAX_PEERS - 1"; each a valid id, none twice. */
static void test_create_rejects_bad_peers(void **state)
{
    (void)state;
    static const char *const self[] = {"n2", "n1"};
    static const char *const twice[] = {"n2", "n3", "n2"};
    static const char *const empty[] = {"n2", ""};
    static const char *const too_long[] = {ID_65};
    static const char *const null_peer[] = {"n2", NULL};
    static const char *const many[] = {"p1",  "p2",  "p3",  "p4",  "p5",
                                       "p6",  "p7",  "p8",  "p9",  "p10",
                                       "p11", "p12", "p13", "p14", "p15"};
    create_args a;
    create_args_init(&a);

    a.config.peers = self;
    a.config.n_peers = COUNT(self);
    expect_create_error(&a, REFRAFT_EINVAL, "n1");
    a.config.peers = twice;
    a.config.n_peers = COUNT(twice);
    expect_create_error(&a, REFRAFT_EINVAL, "n2");
    a.config.peers = empty;
    a.config.n_peers = COUNT(empty);
    expect_create_error(&a, REFRAFT_EINVAL, "peer");
    a.config.peers = too_long;
    a.config.n_peers = COUNT(too_long);
    expect_create_error(&a, REFRAFT_EINVAL, "peer");
    a.config.peers = null_peer;
    a.config.n_peers = COUNT(null_peer);
    expect_create_error(&a, REFRAFT_EINVAL, "peer");
    a.config.peers = NULL;
    a.config.n_peers = 2;
    expect_create_error(&a, REFRAFT_EINVAL, "peer");
    a.config.peers = many;
    a.config.n_peers = COUNT(many);
    expect_create_error(&a, REFRAFT_EINVAL, "peer");
    /* REFRAFT_MAX_PEERS - 1 peers is the most allowed. */
    a.config.n_peers = REFRAFT_MAX_PEERS - 1;
    expect_create_ok(&a);
}

/* Names of the hull's required callbacks, and a way to clear each. */
static const char *const hull_required[] = {"send", "now_ms", "random",
                                            "apply"};

static void clear_hull_member(refraft_hull *h, size_t which)
{
    switch (which) {
    case 0:
        h->send = NULL;
        break;
    case 1:
        h->now_ms = NULL;
        break;
    case 2:
        h->random = NULL;
        break;
    default:
        h->apply = NULL;
        break;
    }
}

/* Does text name word as a whole word ("last_index" does not name
 * "first_index", "get" is not found inside "target")? */
static bool names_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p != NULL;
         p = strstr(p + 1, word)) {
        bool start =
            p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool end = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (start && end)
            return true;
    }
    return false;
}

/* Creation fails with a message that names the missing member, names[k],
 * and none of the members that are present. */
static void expect_names_only(create_args *a, const char *const *names,
                              size_t n, size_t missing)
{
    expect_create_error(a, REFRAFT_EINVAL, NULL);
    char err[REFRAFT_ERRMSG_LEN] = "";
    refraft_node *out = NULL;
    assert_int_equal(refraft_node_create(&a->config, &a->hull, &a->log, &out,
                                         err, sizeof(err)),
                     REFRAFT_EINVAL);
    for (size_t k = 0; k < n; k++) {
        if (names_word(err, names[k]) != (k == missing))
            fail_msg("\"%s\" should name %s and only it", err, names[missing]);
    }
}

/*
 * Header, struct refraft_hull: send, now_ms, random and apply are
 * "Required", on_truncate and on_event "Optional (may be NULL)"; version
 * must be REFRAFT_HULL_VERSION.  STYLE.md: errmsg says "the specific
 * cause", so the message names the missing callback.
 */
static void test_create_rejects_bad_hull(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);
    refraft_hull good = a.hull;

    a.hull.version = REFRAFT_HULL_VERSION + 1;
    expect_create_error(&a, REFRAFT_EINVAL, "version");
    a.hull.version = 0;
    expect_create_error(&a, REFRAFT_EINVAL, "version");
    a.hull = good;
    a.hull.on_truncate = NULL;
    a.hull.on_event = NULL;
    expect_create_ok(&a);
    for (size_t k = 0; k < COUNT(hull_required); k++) {
        a.hull = good;
        clear_hull_member(&a.hull, k);
        expect_names_only(&a, hull_required, COUNT(hull_required), k);
    }
}

static const char *const log_required[] = {
    "first_index", "last_index", "term_at",         "get",
    "append",      "truncate",   "save_hard_state", "load_hard_state"};

static void clear_log_member(refraft_log_api *l, size_t which)
{
    switch (which) {
    case 0:
        l->first_index = NULL;
        break;
    case 1:
        l->last_index = NULL;
        break;
    case 2:
        l->term_at = NULL;
        break;
    case 3:
        l->get = NULL;
        break;
    case 4:
        l->append = NULL;
        break;
    case 5:
        l->truncate = NULL;
        break;
    case 6:
        l->save_hard_state = NULL;
        break;
    default:
        l->load_hard_state = NULL;
        break;
    }
}

/*
 * Header, struct refraft_log_api: every member is called by the node, and
 * version must be REFRAFT_LOG_API_VERSION.  The message names the missing
 * function (STYLE.md: "the specific cause").
 */
static void test_create_rejects_bad_log_api(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);
    refraft_log_api good = a.log;

    a.log.version = REFRAFT_LOG_API_VERSION + 1;
    expect_create_error(&a, REFRAFT_EINVAL, "version");
    for (size_t k = 0; k < COUNT(log_required); k++) {
        a.log = good;
        clear_log_member(&a.log, k);
        expect_names_only(&a, log_required, COUNT(log_required), k);
    }
}

/* refraft_config.heartbeat_ms: "must be below the election timeout". */
static void test_create_rejects_heartbeat_not_below_timeout(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);

    a.config.election_timeout_ms = 100;
    a.config.heartbeat_ms = 100;
    expect_create_error(&a, REFRAFT_EINVAL, "heartbeat");
    a.config.heartbeat_ms = 250;
    expect_create_error(&a, REFRAFT_EINVAL, "heartbeat");
    /* With the default timeout (1000 ms) too. */
    a.config.election_timeout_ms = 0;
    a.config.heartbeat_ms = 1000;
    expect_create_error(&a, REFRAFT_EINVAL, "heartbeat");
    a.config.heartbeat_ms = 99;
    a.config.election_timeout_ms = 100;
    expect_create_ok(&a);
}

/* Header: errbuf "(at most errbuf_len bytes, NUL-terminated)", and "when
 * errbuf is not NULL": NULL is allowed. */
static void test_create_errbuf_is_bounded_and_optional(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);
    a.config.id = "";
    refraft_node *out = NULL;
    char err[16];
    memset(err, 'X', sizeof(err));

    assert_int_equal(
        refraft_node_create(&a.config, &a.hull, &a.log, &out, err, 8),
        REFRAFT_EINVAL);
    assert_true(memchr(err, '\0', 8) != NULL);
    for (size_t k = 8; k < sizeof(err); k++)
        assert_int_equal(err[k], 'X');
    assert_int_equal(
        refraft_node_create(&a.config, &a.hull, &a.log, &out, NULL, 0),
        REFRAFT_EINVAL);
    assert_null(out);
}

/* Header: "REFRAFT_ECORRUPT (hard state behind the log)": the log holds
 * an entry of term 3 but the saved current term is 1. */
static void test_create_rejects_hard_state_behind_log(void **state)
{
    (void)state;
    create_args a;
    create_args_init(&a);
    fx_log_append(a.fx, 1, 3, NULL);
    assert_int_equal(a.log.save_hard_state(a.log.ctx, 1, NULL), 0);
    refraft_node *out = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";

    assert_int_equal(
        refraft_node_create(&a.config, &a.hull, &a.log, &out, err, sizeof(err)),
        REFRAFT_ECORRUPT);
    assert_null(out);
    assert_true(strlen(err) > 0);
    assert_int_equal(fx_log_last(a.fx, 1), 1);
}

/* ---- NULL handles ----------------------------------------------------- */

/* "Bad input to the public API (NULL, ...) returns a clear error and
 * leaves state unchanged"; destroy functions accept NULL. */
static void test_null_handles_are_rejected(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    refraft_msg ae = fx_append_entries(1, "n2", 0, 0, 0, NULL, 0);
    refraft_ref ref = fx_ref("r1");
    refraft_index idx = 0;

    assert_int_equal(refraft_on_message(NULL, &ae, NULL, NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_tick(NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_propose(NULL, &ref, 1, &idx), REFRAFT_EINVAL);
    assert_int_equal(refraft_memlog_create(NULL), REFRAFT_EINVAL);
    refraft_node_destroy(NULL);
    refraft_memlog_destroy(NULL);

    fx_state before;
    fx_state_get(fx, 1, &before);
    assert_int_equal(refraft_on_message(fx_raft(fx, 1), NULL, NULL, NULL),
                     REFRAFT_EINVAL);
    assert_true(strlen(refraft_errmsg(fx_raft(fx, 1))) > 0);
    fx_assert_state_unchanged(fx, 1, &before);
}

/* ---- refraft_on_message ----------------------------------------------- */

/* A 3-node cluster led by n1; n2 is a follower in term 1 holding the
 * NOOP, with a vote, a leader and a commit index to lose. */
static fixture *cluster_with_follower(void)
{
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_run(fx, 20);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 2)), 1);
    return fx;
}

/*
 * Header, refraft_on_message: "REFRAFT_EINVAL or REFRAFT_EBADMSG when the
 * message is malformed ... and REFRAFT_EUNKNOWNPEER when a result comes
 * from an id outside the configuration: nothing changed and nothing was
 * sent.
 * ... refraft_errmsg() says what was wrong."  The bad messages carry a
 * high term, so "nothing changed" includes the term rule not firing; and
 * the election timer does not restart.
 */
static void
expect_rejected(fixture *fx, const refraft_msg *m, int code, const char *cause)
{
    refraft_node *n2 = fx_raft(fx, 2);
    fx_state before;
    fx_state_get(fx, 2, &before);
    uint64_t deadline = refraft_next_deadline(n2);
    fx_advance(fx, 1);

    int rv = fx_inject(fx, 2, m);

    if (code == REFRAFT_EBADMSG) {
        if (rv != REFRAFT_EINVAL && rv != REFRAFT_EBADMSG)
            fail_msg("got %s, want EINVAL or EBADMSG (%s)",
                     refraft_strerror(rv), refraft_errmsg(n2));
    } else {
        assert_int_equal(rv, code);
    }
    assert_true(strlen(refraft_errmsg(n2)) > 0);
    if (cause != NULL)
        assert_mentions(refraft_errmsg(n2), cause);
    fx_assert_state_unchanged(fx, 2, &before);
    assert_int_equal(refraft_next_deadline(n2), deadline);
}

static void test_on_message_rejects_unknown_type(void **state)
{
    (void)state;
    fixture *fx = cluster_with_follower();
    refraft_msg m = fx_append_entries(9, "n1", 1, 1, 1, NULL, 0);

    m.type = 0;
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "type");
    m.type = 8; /* one past REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT */
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "type");
    m.type = 255;
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "type");
}

/* DESIGN.md contract 1: leader_id and candidate_id are "opaque strings
 * (validated: 1..64 bytes)"; so are follower_id and voter_id. */
static void test_on_message_rejects_bad_sender_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {NULL, "", ID_65};
    fixture *fx = cluster_with_follower();

    for (size_t k = 0; k < COUNT(bad); k++) {
        refraft_msg m = fx_append_entries(9, bad[k], 1, 1, 1, NULL, 0);
        expect_rejected(fx, &m, REFRAFT_EBADMSG, "id");
        m = fx_request_vote(9, bad[k], 5, 5, false);
        expect_rejected(fx, &m, REFRAFT_EBADMSG, "id");
        m = fx_append_result(9, bad[k], false, 0);
        expect_rejected(fx, &m, REFRAFT_EBADMSG, "id");
        m = fx_vote_result(9, bad[k], false, false);
        expect_rejected(fx, &m, REFRAFT_EBADMSG, "id");
    }
}

/* Terms start at 1 for every message: 0 is never a valid term. */
static void test_on_message_rejects_zero_term(void **state)
{
    (void)state;
    fixture *fx = cluster_with_follower();
    refraft_msg m = fx_append_entries(0, "n1", 0, 0, 0, NULL, 0);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_request_vote(0, "n3", 0, 0, false);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_request_vote(0, "n3", 0, 0, true);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_append_result(0, "n3", true, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_vote_result(0, "n3", true, false);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
}

/*
 * Header: "entries inconsistent with the header" are malformed.  A leader
 * of term t sends entries of terms <= t, never decreasing, none below
 * prev_log_term ("term regressions"); entries exist when n_entries says
 * so and carry valid types and record ids.
 */
static void test_on_message_rejects_inconsistent_entries(void **state)
{
    (void)state;
    fixture *fx = cluster_with_follower();
    refraft_entry newer[] = {fx_entry(3, "a")};
    refraft_entry decreasing[] = {fx_entry(3, "a"), fx_entry(2, "b")};
    refraft_entry below_prev[] = {fx_entry(1, "a")};
    refraft_entry bad_type[] = {fx_entry(2, "a")};
    refraft_entry no_id[] = {fx_entry(2, "a")};
    refraft_entry long_id[] = {fx_entry(2, "a")};
    bad_type[0].type = 7;
    no_id[0].ref.id = NULL;
    long_id[0].ref.id_len = REFRAFT_RECORD_ID_MAX + 1;

    refraft_msg m = fx_append_entries(2, "n1", 1, 1, 1, newer, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_append_entries(3, "n1", 1, 1, 1, decreasing, 2);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_append_entries(3, "n1", 1, 2, 1, below_prev, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "term");
    m = fx_append_entries(3, "n1", 1, 1, 1, NULL, 2);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "entries");
    m = fx_append_entries(3, "n1", 1, 1, 1, bad_type, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "type");
    m = fx_append_entries(3, "n1", 1, 1, 1, no_id, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "record");
    m = fx_append_entries(3, "n1", 1, 1, 1, long_id, 1);
    expect_rejected(fx, &m, REFRAFT_EBADMSG, "record");
}

/* Header: "REFRAFT_EUNKNOWNPEER when a result comes from an id outside
 * the configuration"; the message names the id. */
static void test_on_message_rejects_unknown_sender(void **state)
{
    (void)state;
    fixture *fx = cluster_with_follower();
    /* Requests from outside the configuration are taken (thesis §4.1);
     * results are not. */
    refraft_msg m = fx_append_result(9, "n9", true, 1);
    expect_rejected(fx, &m, REFRAFT_EUNKNOWNPEER, "n9");
    m = fx_vote_result(9, "n9", true, false);
    expect_rejected(fx, &m, REFRAFT_EUNKNOWNPEER, "n9");
}

/*
 * Header, refraft_on_message: "A log API error (REFRAFT_EIO, ...) is
 * returned as is: no answer is sent ... the leader retries."  A follower
 * whose append fails must not acknowledge the entries, and takes them when
 * the leader sends them again.
 */
static void test_on_message_log_failure_is_returned_and_retried(void **state)
{
    (void)state;
    fixture *fx = cluster_with_follower();
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_memlog_fail_writes(fx_node_at(fx, 2)->memlog, REFRAFT_EIO);
    refraft_entry e = fx_entry(1, "a");
    refraft_msg ae = fx_append_entries(1, "n1", 1, 1, 1, &e, 1);

    assert_int_equal(fx_inject(fx, 2, &ae), REFRAFT_EIO);
    assert_mentions(refraft_errmsg(n2), "storage error");
    assert_null(fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT));
    assert_int_equal(fx_log_last(fx, 2), 1);

    /* The leader's retry succeeds once the storage works again. */
    refraft_memlog_fail_writes(fx_node_at(fx, 2)->memlog, 0);
    assert_int_equal(fx_inject(fx, 2, &ae), 0);
    assert_int_equal(fx_log_last(fx, 2), 2);
    fx_msg *res = fx_find(fx, 2, 1, REFRAFT_MSG_APPEND_ENTRIES_RESULT);
    assert_non_null(res);
    assert_true(res->msg.u.append_entries_result.success);
    assert_int_equal(res->msg.u.append_entries_result.match_index, 2);
}

/* ---- refraft_propose -------------------------------------------------- */

static void expect_propose_rejected(fixture *fx, const refraft_ref *refs,
                                    size_t n, const char *cause)
{
    fx_state before;
    fx_state_get(fx, 1, &before);
    refraft_index idx = 77;
    assert_int_equal(refraft_propose(fx_raft(fx, 1), refs, n, &idx),
                     REFRAFT_EINVAL);
    assert_int_equal(idx, 77);
    assert_true(strlen(refraft_errmsg(fx_raft(fx, 1))) > 0);
    if (cause != NULL)
        assert_mentions(refraft_errmsg(fx_raft(fx, 1)), cause);
    fx_assert_state_unchanged(fx, 1, &before);
    assert_int_equal(fx_log_last(fx, 1), before.last);
}

/*
 * Header, refraft_propose: "REFRAFT_EINVAL for an empty batch or a bad ref
 * (id NULL, empty, or longer than REFRAFT_RECORD_ID_MAX)", "(nothing
 * appended)": a batch with one bad ref is refused whole.
 */
static void test_propose_rejects_bad_batches(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    static uint8_t id255[REFRAFT_RECORD_ID_MAX + 1];
    memset(id255, 'r', sizeof(id255));
    refraft_ref refs[2] = {fx_ref("ok"), fx_ref("r2")};

    expect_propose_rejected(fx, refs, 0, NULL);
    expect_propose_rejected(fx, NULL, 1, NULL);
    refs[1].id = NULL;
    expect_propose_rejected(fx, refs, 2, "record");
    refs[1].id = id255;
    refs[1].id_len = 0;
    expect_propose_rejected(fx, refs, 2, "record");
    refs[1].id_len = REFRAFT_RECORD_ID_MAX + 1;
    expect_propose_rejected(fx, refs, 2, "record");

    /* REFRAFT_RECORD_ID_MAX bytes is fine. */
    refs[1].id_len = REFRAFT_RECORD_ID_MAX;
    refraft_index idx = 0;
    assert_int_equal(refraft_propose(fx_raft(fx, 1), refs, 2, &idx), 0);
    assert_int_equal(idx, 2);
    assert_int_equal(fx_log_last(fx, 1), 3);
}

/* Header, refraft_propose: "REFRAFT_EIO etc. from the log" with "nothing
 * appended"; the log API contract: "on error the call has no effect". */
static void test_propose_log_failure_appends_nothing(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    size_t sent = fx_node_at(fx, 1)->n_sent;
    refraft_memlog_fail_writes(fx_node_at(fx, 1)->memlog, REFRAFT_EIO);
    refraft_index idx = 77;

    assert_int_equal(fx_propose(fx, 1, "r1", &idx), REFRAFT_EIO);

    assert_int_equal(idx, 77);
    assert_true(strlen(refraft_errmsg(fx_raft(fx, 1))) > 0);
    assert_int_equal(refraft_last_index(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_log_last(fx, 1), 1);
    assert_int_equal(refraft_commit_index(fx_raft(fx, 1)), 1);
    assert_int_equal(fx_node_at(fx, 1)->n_sent, sent);
    refraft_memlog_fail_writes(fx_node_at(fx, 1)->memlog, 0);
}

/* ---- errors ----------------------------------------------------------- */

/* STYLE.md: "One X-macro lists every code with its message;
 * refraft_strerror() is generated from it."  Header: "unknown error" for
 * a code not in the table. */
static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *msg;
    } table[] = {
#define ROW(name, num, msg) {num, msg},
        REFRAFT_ERRNO_MAP(ROW)
#undef ROW
    };
    for (size_t k = 0; k < COUNT(table); k++) {
        assert_int_equal(table[k].code, (int)k);
        assert_string_equal(refraft_strerror(table[k].code), table[k].msg);
    }
    assert_string_equal(refraft_strerror(-1), "unknown error");
    assert_string_equal(refraft_strerror((int)COUNT(table)), "unknown error");
    assert_string_equal(refraft_strerror(100000), "unknown error");
}

/* Each role has its own name. */
/* FIPS 180-2's examples, and the digest of nothing. */
static void test_digest_matches_known_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *hex;
    } cases[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t digest[REFRAFT_DIGEST_LEN];
        assert_int_equal(
            refraft_digest(cases[c].text, strlen(cases[c].text), digest), 0);
        char hex[2 * REFRAFT_DIGEST_LEN + 1];
        for (size_t i = 0; i < REFRAFT_DIGEST_LEN; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        assert_string_equal(hex, cases[c].hex);
    }
}

static void test_digest_rejects_null_buffers(void **state)
{
    (void)state;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    memset(digest, 0x5a, sizeof digest);
    assert_int_equal(refraft_digest(NULL, 1, digest), REFRAFT_EINVAL);
    for (size_t i = 0; i < sizeof digest; i++)
        assert_int_equal(digest[i], 0x5a); /* untouched */
    assert_int_equal(refraft_digest("x", 1, NULL), REFRAFT_EINVAL);
    assert_int_equal(refraft_digest(NULL, 0, digest), 0); /* nothing */
}

/* refraft_ref_equal: every field counts, the id by its bytes (not its
 * address), and NULLs are never equal. */
static void test_ref_equal_compares_every_field(void **state)
{
    (void)state;
    const uint8_t id1[] = "rec-1", id2[] = "rec-1";
    refraft_ref a = {.id = id1, .id_len = 5, .size = 10};
    memset(a.digest, 7, REFRAFT_DIGEST_LEN);
    refraft_ref b = a;
    b.id = id2;
    assert_true(refraft_ref_equal(&a, &b));
    refraft_ref c = b;
    c.id_len = 4;
    assert_false(refraft_ref_equal(&a, &c));
    c = b;
    c.id = (const uint8_t *)"rec-2";
    assert_false(refraft_ref_equal(&a, &c));
    c = b;
    c.size = 11;
    assert_false(refraft_ref_equal(&a, &c));
    c = b;
    c.digest[REFRAFT_DIGEST_LEN - 1] ^= 1;
    assert_false(refraft_ref_equal(&a, &c));
    c = b;
    c.id = NULL;
    assert_false(refraft_ref_equal(&a, &c));
    assert_false(refraft_ref_equal(&c, &a));
    assert_false(refraft_ref_equal(NULL, &a));
    assert_false(refraft_ref_equal(&a, NULL));
}

static void test_role_names_are_distinct(void **state)
{
    (void)state;
    static const int roles[] = {REFRAFT_FOLLOWER, REFRAFT_PRECANDIDATE,
                                REFRAFT_CANDIDATE, REFRAFT_LEADER};
    for (size_t k = 0; k < COUNT(roles); k++) {
        const char *name = refraft_role_name(roles[k]);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        for (size_t j = 0; j < k; j++)
            assert_string_not_equal(name, refraft_role_name(roles[j]));
    }
}

/* ---- events ----------------------------------------------------------- */

static bool has_event(const fx_node *fn, uint8_t type, int role,
                      refraft_term term, const char *leader)
{
    for (size_t k = 0; k < fn->n_events; k++) {
        const fx_event *ev = &fn->events[k];
        if (ev->type == type && (role == 0 || ev->role == role) &&
            ev->term == term &&
            (leader == NULL || strcmp(ev->leader, leader) == 0))
            return true;
    }
    return false;
}

/*
 * Header, refraft_hull.on_event: "Role, term, leader or commit index
 * changed."  An election reports each step once, on the winner and on a
 * follower: roles only when they change, terms only upwards.
 */
static void test_events_report_each_change(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    const fx_node *n1 = fx_node_at(fx, 1);
    const fx_node *n2 = fx_node_at(fx, 2);

    assert_true(
        has_event(n1, REFRAFT_EVENT_ROLE, REFRAFT_PRECANDIDATE, 0, NULL));
    assert_true(has_event(n1, REFRAFT_EVENT_ROLE, REFRAFT_CANDIDATE, 1, NULL));
    assert_true(has_event(n1, REFRAFT_EVENT_TERM, 0, 1, NULL));
    assert_true(has_event(n1, REFRAFT_EVENT_ROLE, REFRAFT_LEADER, 1, NULL));
    assert_true(has_event(n1, REFRAFT_EVENT_LEADER, 0, 1, "n1"));
    assert_true(has_event(n2, REFRAFT_EVENT_TERM, 0, 1, NULL));
    assert_true(has_event(n2, REFRAFT_EVENT_LEADER, 0, 1, "n1"));

    bool commit_seen = false;
    int last_role = REFRAFT_FOLLOWER;
    refraft_term last_term = 0;
    for (size_t k = 0; k < n1->n_events; k++) {
        const fx_event *ev = &n1->events[k];
        if (ev->type == REFRAFT_EVENT_ROLE) {
            assert_int_not_equal(ev->role, last_role);
            last_role = ev->role;
        } else if (ev->type == REFRAFT_EVENT_TERM) {
            assert_true(ev->term > last_term);
            last_term = ev->term;
        } else if (ev->type == REFRAFT_EVENT_COMMIT) {
            assert_int_equal(ev->commit_index, 1);
            commit_seen = true;
        }
    }
    assert_true(commit_seen);
}

/* ---- allocation faults ------------------------------------------------ */

static int restore_allocator(void **state)
{
    refraft_set_allocator(NULL);
    return fx_cleanup(state);
}

/* Become leader of a 1-node cluster: a timeout or two.  Returns 0 or the
 * tick's error. */
static int elect_alone(fixture *fx, refraft_node *node)
{
    for (int round = 0; round < 3; round++) {
        if (refraft_role(node) == REFRAFT_LEADER)
            return 0;
        uint64_t deadline = refraft_next_deadline(node);
        if (deadline > fx->now)
            fx->now = deadline;
        int rv = refraft_tick(node);
        if (rv != 0)
            return rv;
    }
    if (refraft_role(node) != REFRAFT_LEADER)
        fail_msg("a lone node did not become leader (%s)",
                 refraft_role_name(refraft_role(node)));
    return 0;
}

/* The scenario swept: create a memlog and a node, elect it alone,
 * propose a batch of three.  Every step either succeeds or fails with a
 * clean REFRAFT_ENOMEM that changed nothing. */
static void run_scenario(fixture *fx, refraft_memlog **log)
{
    refraft_memlog *const untouched = sentinel_ptr();
    refraft_memlog *ml = untouched;
    int rv = refraft_memlog_create(&ml);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_ptr_equal(ml, untouched);
        return;
    }
    *log = ml;
    refraft_log_api api;
    refraft_memlog_api(ml, &api);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    refraft_node *const no_node = sentinel_ptr();
    refraft_node *node = no_node;
    rv = refraft_node_create(&fx_node_at(fx, 1)->config, &hull, &api, &node,
                             NULL, 0);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_ptr_equal(node, no_node);
        assert_int_equal(api.last_index(api.ctx), 0);
        return;
    }
    rv = elect_alone(fx, node);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        /* The log API appends all or none. */
        assert_true(api.last_index(api.ctx) <= 1);
        refraft_node_destroy(node);
        return;
    }
    refraft_ref refs[3] = {fx_ref("a"), fx_ref("bb"), fx_ref("ccc")};
    refraft_index last = refraft_last_index(node);
    refraft_index commit = refraft_commit_index(node);
    refraft_index idx = 0;
    rv = refraft_propose(node, refs, 3, &idx);
    if (rv != 0) {
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_int_equal(refraft_last_index(node), last);
        assert_int_equal(api.last_index(api.ctx), last);
        assert_int_equal(refraft_commit_index(node), commit);
    } else {
        assert_int_equal(idx, last + 1);
        assert_int_equal(api.last_index(api.ctx), last + 3);
    }
    refraft_node_destroy(node);
}

/* One run of the sweep: the scenario, then freeing the memlog it made. */
static void sweep_run(void *arg)
{
    refraft_memlog *log = NULL;
    run_scenario(arg, &log);
    refraft_memlog_destroy(log);
}

/*
 * STYLE.md: "A pluggable allocator lets tests fail every allocation in
 * turn and assert a clean REFRAFT_ENOMEM".  For k = 1, 2, ... the k-th
 * allocation fails; the sweep ends when the scenario makes fewer than k
 * allocations.  ASan checks that no failure path leaks.
 */
static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    long points = failalloc_sweep(sweep_run, fx);
    /* The scenario allocates something (or the sweep tested nothing). */
    assert_true(points >= 1);
    print_message("allocation sweep: %ld allocation points\n", points);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, fx_cleanup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_create_rejects_null_arguments),
        TEST(test_create_rejects_bad_node_id),
        TEST(test_create_rejects_bad_peers),
        TEST(test_create_rejects_bad_hull),
        TEST(test_create_rejects_bad_log_api),
        TEST(test_create_rejects_heartbeat_not_below_timeout),
        TEST(test_create_errbuf_is_bounded_and_optional),
        TEST(test_create_rejects_hard_state_behind_log),
        TEST(test_null_handles_are_rejected),
        TEST(test_on_message_rejects_unknown_type),
        TEST(test_on_message_rejects_bad_sender_ids),
        TEST(test_on_message_rejects_zero_term),
        TEST(test_on_message_rejects_inconsistent_entries),
        TEST(test_on_message_rejects_unknown_sender),
        TEST(test_on_message_log_failure_is_returned_and_retried),
        TEST(test_propose_rejects_bad_batches),
        TEST(test_propose_log_failure_appends_nothing),
        TEST(test_strerror_covers_every_code),
        TEST(test_role_names_are_distinct),
        TEST(test_digest_matches_known_vectors),
        TEST(test_digest_rejects_null_buffers),
        TEST(test_ref_equal_compares_every_field),
        TEST(test_events_report_each_change),
        cmocka_unit_test_teardown(test_every_allocation_failure_is_clean,
                                  restore_allocator),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
