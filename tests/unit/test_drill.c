/* test_drill.c - `refraft drill`'s checker and report
 * (examples/refraft/drill.h): each of the five rules on results built by
 * hand, firing exactly when it should; the table, the JSON document and
 * the SVG timeline; a drill of 100,000 writes. */
#define _POSIX_C_SOURCE 200809L /* fileno */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

#define AP "acknowledged-present"
#define NP "no-phantom"
#define OE "one-entry-per-index"
#define FA "failed-absent"
#define RT "real-time-order"

/* ---- results built by hand ----------------------------------------------
 *
 * fx(n_nodes, n_acked): seed 7; op k (id "d7-k", size 100 + k) runs from
 * 100k to 100k + 50 ms and is acknowledged at index k + 2; every node
 * holds NOOP(term 1) at index 1 and op k's REF at k + 2, all committed,
 * and every record.  A clean result: L = n_acked + 1 entries.
 */

static drill_entry ref_of(const drill_op *op, uint64_t term)
{
    drill_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = DRILL_REF;
    memcpy(e.id, op->id, sizeof(e.id));
    e.size = op->size;
    memcpy(e.digest, op->digest, sizeof(e.digest));
    return e;
}

static drill_entry noop(uint64_t term)
{
    drill_entry e;
    memset(&e, 0, sizeof(e));
    e.term = term;
    e.type = DRILL_NOOP;
    return e;
}

static drill_entry void_of(uint64_t term, uint64_t voided)
{
    drill_entry e = noop(term);
    e.type = DRILL_VOID;
    e.voided = voided;
    return e;
}

static void
make_op(drill_op *op, const char *id, size_t k, drill_outcome outcome)
{
    memset(op, 0, sizeof(*op));
    snprintf(op->id, sizeof(op->id), "%s", id);
    op->size = 100 + k;
    cli_sha256(op->id, strlen(op->id), op->digest);
    op->outcome = outcome;
    op->start_ms = 100 * (uint64_t)k;
    op->end_ms = op->start_ms + 50;
}

static drill_result *fx(size_t n_nodes, size_t n_acked)
{
    drill_result *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->seed = 7;
    r->n_nodes = n_nodes;
    snprintf(r->command, sizeof(r->command), "refraft drill --seed 7");
    snprintf(r->partition_method, sizeof(r->partition_method),
             "transport hook");
    r->n_ops = n_acked;
    r->ops = calloc(n_acked + 1, sizeof(*r->ops));
    r->nodes = calloc(n_nodes, sizeof(*r->nodes));
    assert_non_null(r->ops);
    assert_non_null(r->nodes);
    for (size_t k = 0; k < n_acked; k++) {
        char id[32];
        snprintf(id, sizeof(id), "d7-%zu", k);
        make_op(&r->ops[k], id, k, DRILL_ACKED);
        r->ops[k].index = k + 2;
    }
    for (size_t n = 0; n < n_nodes; n++) {
        drill_node_view *v = &r->nodes[n];
        snprintf(v->id, sizeof(v->id), "n%u", (unsigned)(uint8_t)(n + 1));
        v->log_len = n_acked + 1;
        v->log = calloc(v->log_len, sizeof(*v->log));
        v->has_record = calloc(n_acked + 1, sizeof(*v->has_record));
        v->record_digest = calloc(n_acked + 1, sizeof(*v->record_digest));
        assert_non_null(v->log);
        assert_non_null(v->has_record);
        assert_non_null(v->record_digest);
        v->log[0] = noop(1);
        for (size_t k = 0; k < n_acked; k++) {
            v->log[k + 1] = ref_of(&r->ops[k], 1);
            v->has_record[k] = true;
            memcpy(v->record_digest[k], r->ops[k].digest, CLI_SHA256_LEN);
        }
        v->commit_index = v->applied_index = v->data_index = v->log_len;
    }
    return r;
}

/* Add an op that is in no log yet; its record is on every node only if
 * it is acknowledged.  Returns its position in ops[] (which moves). */
static size_t add_op(drill_result *r, const char *id, drill_outcome outcome)
{
    size_t k = r->n_ops++;
    r->ops = realloc(r->ops, r->n_ops * sizeof(*r->ops));
    assert_non_null(r->ops);
    make_op(&r->ops[k], id, k, outcome);
    for (size_t n = 0; n < r->n_nodes; n++) {
        drill_node_view *v = &r->nodes[n];
        v->has_record =
            realloc(v->has_record, r->n_ops * sizeof(*v->has_record));
        v->record_digest =
            realloc(v->record_digest, r->n_ops * sizeof(*v->record_digest));
        assert_non_null(v->has_record);
        assert_non_null(v->record_digest);
        v->has_record[k] = outcome == DRILL_ACKED;
        memcpy(v->record_digest[k], r->ops[k].digest, CLI_SHA256_LEN);
    }
    return k;
}

/* Append e to node n's log (its commit index stays). */
static void append(drill_result *r, size_t n, drill_entry e)
{
    drill_node_view *v = &r->nodes[n];
    v->log = realloc(v->log, (v->log_len + 1) * sizeof(*v->log));
    assert_non_null(v->log);
    v->log[v->log_len++] = e;
}

static void append_all(drill_result *r, drill_entry e)
{
    for (size_t n = 0; n < r->n_nodes; n++)
        append(r, n, e);
}

static void commit_all(drill_result *r, uint64_t index)
{
    for (size_t n = 0; n < r->n_nodes; n++)
        r->nodes[n].commit_index = index;
}

static void fx_free(drill_result *r)
{
    if (r == NULL)
        return;
    for (size_t n = 0; n < r->n_nodes; n++) {
        free(r->nodes[n].log);
        free(r->nodes[n].has_record);
        free(r->nodes[n].record_digest);
    }
    free(r->nodes);
    free(r->ops);
    free(r->faults);
    free(r->samples);
    free(r->scenarios);
    free(r);
}

/* Tests keep their result in *state: freed even when an assertion
 * fails. */
static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static drill_result *fx_state(void **state, size_t n_nodes, size_t n_acked)
{
    drill_result *r = fx(n_nodes, n_acked);
    *state = r;
    return r;
}

/* ---- running the checker ----------------------------------------------- */

typedef struct found {
    size_t n;
    drill_violation v[64];
} found;

static found F; /* the last check's violations */

static size_t check(const drill_result *r)
{
    memset(&F, 0, sizeof(F));
    F.n = drill_check(r, F.v, 64);
    /* Counting alone gives the same number. */
    assert_int_equal(drill_check(r, NULL, 0), F.n);
    for (size_t i = 0; i < F.n && i < 64; i++)
        print_message("    %s: %s\n", F.v[i].rule, F.v[i].detail);
    return F.n;
}

static size_t n_rule(const char *rule)
{
    size_t c = 0;
    for (size_t i = 0; i < F.n && i < 64; i++)
        c += strcmp(F.v[i].rule, rule) == 0;
    return c;
}

/* Whether some violation of rule has a detail holding needle. */
static bool said(const char *rule, const char *needle)
{
    for (size_t i = 0; i < F.n && i < 64; i++)
        if (strcmp(F.v[i].rule, rule) == 0 &&
            strstr(F.v[i].detail, needle) != NULL)
            return true;
    return false;
}

/* The check finds exactly n violations, all of rule. */
static void expect_only(const drill_result *r, const char *rule, size_t n)
{
    assert_int_equal(check(r), n);
    assert_int_equal(n_rule(rule), n);
}

/* ---- a clean result ---------------------------------------------------- */

static void test_clean_result_has_no_violations(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    assert_int_equal(check(r), 0);

    /* Unknown ops may commit or not; failed ops absent; entries above the
     * commit index are anything; a REF a committed VOID abandons too. */
    size_t u1 = add_op(r, "d7-u1", DRILL_UNKNOWN);
    append_all(r, ref_of(&r->ops[u1], 2)); /* at 8 */
    (void)add_op(r, "d7-u2", DRILL_UNKNOWN);
    size_t f1 = add_op(r, "d7-f1", DRILL_FAILED);
    append_all(r, ref_of(&r->ops[f1], 2)); /* at 9 */
    append_all(r, void_of(2, 9));          /* at 10 */
    commit_all(r, 10);
    append(r, 0, noop(3));
    append(r, 1, noop(4));
    drill_entry x = ref_of(&r->ops[u1], 3);
    snprintf(x.id, sizeof(x.id), "never-written");
    append(r, 2, x);
    assert_int_equal(check(r), 0);
}

static void test_max_bounds_what_is_written(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    for (size_t n = 0; n < 3; n++)
        r->nodes[n].has_record[2] = false;
    drill_violation v[2];
    memset(v, 0x5a, sizeof(v));
    assert_int_equal(drill_check(r, v, 1), 3);
    assert_string_equal(v[0].rule, AP);
    assert_int_equal((unsigned char)v[1].rule[0], 0x5a);
    assert_int_equal(drill_check(r, NULL, 0), 3);
}

/* ---- acknowledged-present ---------------------------------------------- */

static void test_acked_record_missing_on_one_node(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[1].has_record[3] = false;
    expect_only(r, AP, 1);
    assert_true(said(AP, "op d7-3 (index 5): n2 has no record"));

    /* The same for an op with no final answer is fine. */
    r->ops[3].outcome = DRILL_UNKNOWN;
    assert_int_equal(check(r), 0);
}

static void test_acked_record_with_another_digest(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[2].record_digest[0][5] ^= 1;
    expect_only(r, AP, 1);
    assert_true(said(AP, "op d7-0 (index 2): n3 returned a record with "
                         "digest"));
}

static void test_acked_entry_missing_from_short_log(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[2].log_len = 6; /* op 5 was at 7 */
    r->nodes[2].commit_index = 6;
    expect_only(r, AP, 1);
    assert_true(said(AP, "op d7-5 (index 7): n3's log ends at index 6"));
}

static void test_acked_entry_with_another_digest_or_size(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[1].log[4].digest[0] ^= 1; /* op 3 */
    assert_int_equal(check(r), 3);
    assert_int_equal(n_rule(AP), 1);
    assert_true(said(AP, "op d7-3 (index 5): n2's REF there has digest"));
    /* That REF names a record nobody wrote, and differs from n1's. */
    assert_int_equal(n_rule(NP), 1);
    assert_true(said(NP, "n2 index 5 (committed): REF d7-3 has digest"));
    assert_int_equal(n_rule(OE), 1);
    assert_true(said(OE, "index 5 (committed on both): digest differs"));

    r->nodes[1].log[4].digest[0] ^= 1;
    r->nodes[1].log[4].size++;
    assert_int_equal(check(r), 2);
    assert_true(said(AP, "op d7-3 (index 5): n2's REF there has size 104, "
                         "the op wrote 103"));
    assert_true(said(OE, "size differs: n1 holds term 1 REF d7-3 size 103, "
                         "n2 holds term 1 REF d7-3 size 104"));
}

static void test_acked_at_another_index(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->ops[3].index = 4; /* where op 2 is */
    check(r);
    assert_int_equal(n_rule(AP), 3);
    assert_true(said(AP, "op d7-3 (index 4): n1's REF there names d7-2"));
    assert_true(said(AP, "op d7-3 (index 4): n3's REF there names d7-2"));
    /* Op 2 was acknowledged at 4 before op 3 started. */
    assert_int_equal(n_rule(RT), 1);
    assert_int_equal(F.n, 4);

    /* Another entry type there. */
    r->ops[3].index = 1;
    check(r);
    assert_true(said(AP, "op d7-3 (index 1): n2 holds a NOOP there"));
}

static void test_acked_above_commit_index(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[2].commit_index = 6; /* op 5 at 7: in the log, not committed */
    expect_only(r, AP, 1);
    assert_true(said(AP, "op d7-5 (index 7): above n3's commit index 6"));

    r->ops[5].outcome = DRILL_UNKNOWN;
    r->nodes[2].has_record[5] = false;
    assert_int_equal(check(r), 0);
}

static void test_acked_abandoned_by_a_committed_void(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    append_all(r, void_of(2, 5));  /* op 3, at 8 */
    assert_int_equal(check(r), 0); /* not committed: settles nothing */
    commit_all(r, 8);
    expect_only(r, AP, 3);
    assert_true(said(AP, "op d7-3 (index 5): abandoned on n2 by the VOID at "
                         "index 8"));
}

static void test_acked_without_an_index(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->ops[0].index = 0;
    expect_only(r, AP, 1);
    assert_true(said(AP, "op d7-0: acknowledged without an index"));
}

/* ---- no-phantom -------------------------------------------------------- */

static void test_phantom_committed_vs_not(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    drill_entry x = ref_of(&r->ops[0], 2);
    snprintf(x.id, sizeof(x.id), "x-1");
    append_all(r, x); /* at 8 */
    assert_int_equal(check(r), 0);
    commit_all(r, 8);
    expect_only(r, NP, 3);
    assert_true(said(NP, "n1 index 8 (committed): REF x-1 names no record "
                         "the workload wrote"));
    assert_true(said(NP, "n3 index 8"));
}

static void test_phantom_voided_vs_void_uncommitted(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    drill_entry x = ref_of(&r->ops[0], 2);
    snprintf(x.id, sizeof(x.id), "x-1");
    append_all(r, x);             /* at 8 */
    append_all(r, void_of(2, 8)); /* at 9 */
    commit_all(r, 9);
    assert_int_equal(check(r), 0);
    /* The VOID above the commit index abandons nothing yet. */
    commit_all(r, 8);
    expect_only(r, NP, 3);
}

static void test_phantom_digest_of_a_known_id(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    size_t u = add_op(r, "d7-u", DRILL_UNKNOWN);
    append_all(r, ref_of(&r->ops[u], 2));
    commit_all(r, 8);
    assert_int_equal(check(r), 0); /* an unknown op may commit */
    for (size_t n = 0; n < 3; n++)
        r->nodes[n].log[7].digest[31] ^= 0x80;
    expect_only(r, NP, 3);
    assert_true(said(NP, "n2 index 8 (committed): REF d7-u has digest"));
}

/* ---- one-entry-per-index ----------------------------------------------- */

static void test_entries_differ_at_a_committed_index(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    r->nodes[2].log[0].term = 2;
    expect_only(r, OE, 1);
    assert_true(said(OE, "index 1 (committed on both): term differs: n1 "
                         "holds term 1 NOOP, n3 holds term 2 NOOP "
                         "(1 of 2 other nodes differ from n1)"));
}

static void test_entries_differ_above_one_commit_index(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    append(r, 0, noop(2)); /* at 8 */
    append(r, 1, noop(2));
    append(r, 2, noop(3));
    r->nodes[0].commit_index = 8; /* n3 did not commit 8: no violation */
    assert_int_equal(check(r), 0);
    r->nodes[2].commit_index = 8;
    expect_only(r, OE, 1);
    assert_true(said(OE, "index 8 (committed on both): term differs: n1 "
                         "holds term 2 NOOP, n3 holds term 3 NOOP"));
}

static void test_entries_differ_in_ref_or_void(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    size_t u1 = add_op(r, "d7-u1", DRILL_UNKNOWN);
    size_t u2 = add_op(r, "d7-u2", DRILL_UNKNOWN);
    append(r, 0, ref_of(&r->ops[u1], 2)); /* at 8 */
    append(r, 1, ref_of(&r->ops[u2], 2));
    append(r, 2, ref_of(&r->ops[u1], 2));
    commit_all(r, 8);
    expect_only(r, OE, 1);
    assert_true(said(OE, "index 8 (committed on both): id differs: n1 holds "
                         "term 2 REF d7-u1, n2 holds term 2 REF d7-u2"));

    /* VOIDs at 9 abandoning what no rule minds (u1, the NOOP). */
    r->nodes[1].log[7] = ref_of(&r->ops[u1], 2);
    append(r, 0, void_of(2, 8));
    append(r, 1, void_of(2, 1));
    commit_all(r, 8);
    r->nodes[0].commit_index = r->nodes[1].commit_index = 9;
    expect_only(r, OE, 1);
    assert_true(said(OE, "index 9 (committed on both): voided index "
                         "differs: n1 holds term 2 VOID(8), n2 holds term 2 "
                         "VOID(1)"));
}

/* Membership changes are log entries too: two nodes that committed
 * different members at one index break the rule. */
static void test_entries_differ_in_members(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    drill_entry c = noop(2);
    c.type = DRILL_CONFIG;
    cli_sha256("[n1 n2 n3]", 10, c.digest);
    for (size_t i = 0; i < 3; i++)
        append(r, i, c); /* at 8 */
    commit_all(r, 8);
    assert_int_equal(check(r), 0);
    cli_sha256("[n1 n2 n4]", 10, r->nodes[1].log[7].digest);
    expect_only(r, OE, 1);
    assert_true(said(OE, "index 8 (committed on both): member list differs: "
                         "n1 holds term 2 CONFIG, n2 holds term 2 CONFIG"));
}

static void test_one_violation_per_index_among_five(void **state)
{
    drill_result *r = fx_state(state, 5, 4);
    r->nodes[3].log[0].term = 9;
    expect_only(r, OE, 1);
    assert_true(said(OE, "n4 holds term 9 NOOP (1 of 4 other nodes differ from "
                         "n1)"));
    r->nodes[3].log[0].term = 1;
    r->nodes[0].log[0].term = 9;
    expect_only(r, OE, 1);
    assert_true(said(OE, "(4 of 4 other nodes differ from n1)"));
}

/* ---- failed-absent ----------------------------------------------------- */

static void test_failed_op_committed_vs_not(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    size_t f = add_op(r, "d7-f", DRILL_FAILED);
    append_all(r, ref_of(&r->ops[f], 2)); /* at 8 */
    assert_int_equal(check(r), 0);
    commit_all(r, 8);
    expect_only(r, FA, 3);
    assert_true(said(FA, "op d7-f failed, but n2 holds its REF at committed "
                         "index 8"));
}

static void test_failed_op_voided_or_retried(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    size_t f = add_op(r, "d7-f", DRILL_FAILED);
    append_all(r, ref_of(&r->ops[f], 2)); /* at 8 */
    append_all(r, void_of(2, 8));         /* at 9: the write failed */
    commit_all(r, 9);
    assert_int_equal(check(r), 0);

    /* The same record written again by an op without a final answer. */
    commit_all(r, 8);
    expect_only(r, FA, 3);
    (void)add_op(r, "d7-f", DRILL_UNKNOWN);
    assert_int_equal(check(r), 0);
}

/* ---- real-time-order --------------------------------------------------- */

/* Ops 2 and 3 committed in the opposite order: 3 at 4, 2 at 5. */
static void swap_2_3(drill_result *r)
{
    r->ops[2].index = 5;
    r->ops[3].index = 4;
    for (size_t n = 0; n < r->n_nodes; n++) {
        r->nodes[n].log[3] = ref_of(&r->ops[3], 1);
        r->nodes[n].log[4] = ref_of(&r->ops[2], 1);
    }
}

static void test_real_time_order_inverted(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    swap_2_3(r); /* op 2 ended at 250, op 3 started at 300 */
    expect_only(r, RT, 1);
    assert_true(said(RT, "op d7-3 (index 4, started at 300 ms) comes after "
                         "op d7-2 (index 5, acknowledged at 250 ms)"));
}

static void test_real_time_order_overlapping_ops_any_order(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    swap_2_3(r);
    r->ops[3].start_ms = 240; /* before op 2's answer */
    assert_int_equal(check(r), 0);
    r->ops[3].start_ms = 250; /* the same millisecond: not "before" */
    assert_int_equal(check(r), 0);
    r->ops[3].start_ms = 251;
    expect_only(r, RT, 1);
}

static void test_real_time_order_against_the_highest_earlier(void **state)
{
    drill_result *r = fx_state(state, 3, 6);
    /* Op 0 committed last (at 7): ops 1..4 all follow it in real time;
     * op 5 (at 2) too. */
    r->ops[0].index = 7;
    r->ops[5].index = 2;
    for (size_t n = 0; n < 3; n++) {
        r->nodes[n].log[6] = ref_of(&r->ops[0], 1);
        r->nodes[n].log[1] = ref_of(&r->ops[5], 1);
    }
    expect_only(r, RT, 5);
    assert_true(said(RT, "op d7-1 (index 3, started at 100 ms) comes after "
                         "op d7-0 (index 7"));
    assert_true(said(RT, "op d7-5 (index 2, started at 500 ms) comes after "
                         "op d7-0 (index 7"));
}

/* ---- the report -------------------------------------------------------- */

/* Two scenarios, "kill" [0, 20000] with the 100 ops and two overlapping
 * faults, "part<&>" [20000, 30000] with one fault that never recovered. */
static drill_result *reported(void **state)
{
    drill_result *r = fx_state(state, 3, 100);
    r->n_scenarios = 2;
    r->scenarios = calloc(2, sizeof(*r->scenarios));
    assert_non_null(r->scenarios);
    snprintf(r->scenarios[0].name, DRILL_NAME_MAX, "kill");
    r->scenarios[0].end_ms = 20000;
    snprintf(r->scenarios[1].name, DRILL_NAME_MAX, "part<&>");
    r->scenarios[1].start_ms = 20001;
    r->scenarios[1].end_ms = 30000;
    r->n_faults = 3;
    r->faults = calloc(3, sizeof(*r->faults));
    assert_non_null(r->faults);
    drill_fault *f = r->faults;
    snprintf(f[0].scenario, DRILL_NAME_MAX, "kill");
    snprintf(f[0].what, sizeof(f[0].what), "SIGKILL n2, restart after 2 s");
    f[0].node = 1;
    f[0].start_ms = 2000;
    f[0].end_ms = 4000;
    f[0].recovered_ms = 4500; /* 500 ms */
    snprintf(f[1].scenario, DRILL_NAME_MAX, "kill");
    snprintf(f[1].what, sizeof(f[1].what), "SIGSTOP n3 \"paused\"");
    f[1].node = 2;
    f[1].start_ms = 3000;
    f[1].end_ms = 5000;
    f[1].recovered_ms = 5300; /* 300 ms */
    snprintf(f[2].scenario, DRILL_NAME_MAX, "part<&>");
    snprintf(f[2].what, sizeof(f[2].what), "isolate n1 <leader>\tnow");
    f[2].node = 0;
    f[2].start_ms = 21000;
    f[2].end_ms = 25000;
    return r;
}

static char *capture(int (*fn)(FILE *, const drill_result *,
                               const drill_violation *, size_t),
                     const drill_result *r, const drill_violation *v, size_t nv)
{
    FILE *m = tmpfile();
    assert_non_null(m);
    assert_int_equal(fn(m, r, v, nv), 0);
    long len = ftell(m);
    assert_true(len >= 0);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    rewind(m);
    assert_int_equal(fread(buf, 1, (size_t)len, m), (size_t)len);
    buf[len] = '\0';
    assert_int_equal(fclose(m), 0);
    return buf;
}

/* The line of the table starting with name and a space. */
static const char *row_of(const char *table, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = table; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return p;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    fail_msg("no row %s in\n%s", name, table);
    return NULL;
}

/* The whitespace-separated field col (0: the name) of a row. */
static unsigned long field(const char *row, int col)
{
    const char *p = row;
    for (int c = 0; c < col; c++) {
        while (*p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    return strtoul(p, NULL, 10);
}

static size_t line_len(const char *p)
{
    const char *e = strchr(p, '\n');
    return e != NULL ? (size_t)(e - p) : strlen(p);
}

/* How many distinct ops the checker's acknowledged-present violations
 * name ("op ID ..."). */
static size_t ops_named(const drill_violation *v, size_t n)
{
    char seen[64][DRILL_ID_MAX];
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].rule, AP) != 0)
            continue;
        char id[DRILL_ID_MAX];
        assert_int_equal(sscanf(v[i].detail, "op %63[^ :]", id), 1);
        bool dup = false;
        for (size_t j = 0; j < ns; j++)
            dup |= strcmp(seen[j], id) == 0;
        if (!dup && ns < 64)
            snprintf(seen[ns++], DRILL_ID_MAX, "%s", id);
    }
    return ns;
}

static void test_table_figures_and_lost_column(void **state)
{
    drill_result *r = reported(state);
    /* Lost in "kill": op 10 (no record on n2), op 20 (a NOOP at its index
     * on n1 and n3).  Op 60 has no record on n2 but had no final
     * answer. */
    r->nodes[1].has_record[10] = false;
    r->nodes[0].log[21] = noop(1);
    r->nodes[2].log[21] = noop(1);
    r->ops[60].outcome = DRILL_UNKNOWN;
    r->nodes[1].has_record[60] = false;
    /* Op 99 moves into the second scenario by its start. */
    r->ops[99].start_ms = 20500;
    r->ops[99].end_ms = 20600;
    r->nodes[1].has_record[99] = false;

    assert_int_equal(check(r), 5);
    assert_int_equal(n_rule(AP), 4);
    assert_int_equal(n_rule(OE), 1);
    bool lost[100];
    assert_int_equal(drill_check_lost(r, lost), 3);
    assert_int_equal(ops_named(F.v, F.n), 3);

    char *t = capture(drill_report_table, r, F.v, F.n);
    const char *head = row_of(t, "scenario");
    const char *kill = row_of(t, "kill");
    const char *part = row_of(t, "part<&>");
    const char *total = row_of(t, "total");
    /* faults, acked, lost */
    assert_int_equal(field(kill, 1), 2);
    assert_int_equal(field(kill, 2), 98);
    assert_int_equal(field(kill, 3), 2);
    assert_int_equal(field(part, 1), 1);
    assert_int_equal(field(part, 2), 1);
    assert_int_equal(field(part, 3), 1);
    assert_int_equal(field(total, 3), ops_named(F.v, F.n));
    /* Recovery 300 and 500 ms: median 400, max 500; the second scenario
     * recovered none.  Throughput: the windows overlap, [2000, 5000]: 30
     * acks in 3 s; 68 others in the remaining 17 s (op 99 ended in the
     * second scenario, op 60 had no answer). */
    assert_non_null(strstr(kill, " 2/2  "));
    assert_non_null(strstr(kill, " 400 ms "));
    assert_non_null(strstr(kill, " 500 ms "));
    assert_non_null(strstr(kill, " 10.0 "));
    assert_non_null(strstr(kill, " 4.0\n"));
    assert_non_null(strstr(part, " 0/1 "));
    /* Aligned: every row as long as the head. */
    assert_int_equal(line_len(kill), line_len(head));
    assert_int_equal(line_len(part), line_len(head));
    assert_int_equal(line_len(total), line_len(head));
    assert_non_null(strstr(t, "100 writes: 99 acknowledged, 0 failed, 1 "
                              "unknown; 3 acknowledged lost"));
    assert_non_null(strstr(t, "acknowledged-present: op d7-10"));
    assert_non_null(strstr(t, "reproduce: refraft drill --seed 7"));
    free(t);
}

/* ---- a JSON parser, enough to tell a document from something else ------ */

typedef struct jp {
    const char *p;
} jp;

static void j_ws(jp *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static bool j_value(jp *j, int depth);

static bool j_string(jp *j)
{
    if (*j->p++ != '"')
        return false;
    for (;;) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        c = (unsigned char)*j->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (!isxdigit((unsigned char)*j->p++))
                    return false;
        } else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
            return false;
        }
    }
}

static bool j_digits(jp *j)
{
    if (!isdigit((unsigned char)*j->p))
        return false;
    while (isdigit((unsigned char)*j->p))
        j->p++;
    return true;
}

static bool j_number(jp *j)
{
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (!j_digits(j))
        return false;
    if (*j->p == '.') {
        j->p++;
        if (!j_digits(j))
            return false;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!j_digits(j))
            return false;
    }
    return true;
}

static bool j_list(jp *j, int depth, char close, bool object)
{
    j->p++;
    j_ws(j);
    if (*j->p == close) {
        j->p++;
        return true;
    }
    for (;;) {
        j_ws(j);
        if (object) {
            if (!j_string(j))
                return false;
            j_ws(j);
            if (*j->p++ != ':')
                return false;
        }
        if (!j_value(j, depth + 1))
            return false;
        j_ws(j);
        char c = *j->p++;
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool j_value(jp *j, int depth)
{
    if (depth > 32)
        return false;
    j_ws(j);
    switch (*j->p) {
    case '{':
        return j_list(j, depth, '}', true);
    case '[':
        return j_list(j, depth, ']', false);
    case '"':
        return j_string(j);
    case 't':
        return strncmp(j->p, "true", 4) == 0 && (j->p += 4);
    case 'f':
        return strncmp(j->p, "false", 5) == 0 && (j->p += 5);
    case 'n':
        return strncmp(j->p, "null", 4) == 0 && (j->p += 4);
    default:
        return j_number(j);
    }
}

static bool json_ok(const char *doc)
{
    jp j = {doc};
    if (!j_value(&j, 0))
        return false;
    j_ws(&j);
    return *j.p == '\0';
}

static void test_json_parser_refuses_broken_documents(void **state)
{
    (void)state;
    assert_true(json_ok("{\"a\": [1, -2.5e3, true, null, \"x\\\"\\u00e9\"]}"));
    assert_false(json_ok("{\"a\": [1, 2}"));
    assert_false(json_ok("{\"a\": \"line\nbreak\"}"));
    assert_false(json_ok("{\"a\": \"\\q\"}"));
    assert_false(json_ok("{\"a\": 1,}"));
    assert_false(json_ok("{\"a\": 01}"));
    assert_false(json_ok("{\"a\": 1} x"));
}

static void test_json_document(void **state)
{
    drill_result *r = reported(state);
    snprintf(r->command, sizeof(r->command),
             "refraft drill --dir \"/tmp/a b\" \\\n --seed 7");
    r->nodes[1].has_record[10] = false;
    drill_entry x = ref_of(&r->ops[0], 2);
    snprintf(x.id, sizeof(x.id), "x\"\x01\xff-1"); /* as a node sent it */
    append_all(r, x);
    commit_all(r, 102);
    check(r);
    assert_int_equal(n_rule(AP), 1);
    assert_int_equal(n_rule(NP), 3);

    char *j = capture(drill_report_json, r, F.v, F.n);
    assert_true(json_ok(j));
    assert_non_null(strstr(j, "\"seed\": 7,"));
    assert_non_null(strstr(j, "\"nodes\": 3,"));
    assert_non_null(
        strstr(j, "\"command\": \"refraft drill --dir \\\"/tmp/a b\\\" "
                  "\\\\\\n --seed 7\""));
    assert_non_null(strstr(j, "\"partition_method\": \"transport hook\""));
    assert_non_null(strstr(j, "{\"name\": \"kill\", \"start_ms\": 0, "
                              "\"end_ms\": 20000, \"faults\": 2, "
                              "\"recovered\": 2, \"ops\": 100, \"acked\": "
                              "100, \"lost\": 1, \"recovery_median_ms\": "
                              "400.0, \"recovery_max_ms\": 500"));
    assert_non_null(strstr(j, "\"acks_per_s_during_faults\": 10.000"));
    assert_non_null(strstr(j, "{\"scenario\": \"kill\", \"scenario_run\": 0, "
                              "\"what\": \"SIGSTOP n3 \\\"paused\\\"\", "
                              "\"node\": \"n3\", \"node_index\": 2, "
                              "\"start_ms\": 3000, \"end_ms\": 5000, "
                              "\"recovered\": true, \"recovered_ms\": 5300, "
                              "\"recovery_ms\": 300}"));
    assert_non_null(strstr(j, "\"what\": \"isolate n1 <leader>\\tnow\""));
    assert_non_null(strstr(j, "\"recovered\": false, \"recovered_ms\": null, "
                              "\"recovery_ms\": null}"));
    assert_non_null(strstr(j, "{\"rule\": \"acknowledged-present\", "
                              "\"detail\": \"op d7-10 (index 12): n2 has no "
                              "record\"}"));
    assert_non_null(strstr(j, "REF x\\\"\\u0001\\ufffd-1 names no record"));
    assert_non_null(strstr(j, "\"totals\": {\"failed\": 0, \"unknown\": 0, "
                              "\"violations\": 4, \"faults\": 3, "
                              "\"recovered\": 2, \"ops\": 100, \"acked\": "
                              "100, \"lost\": 1,"));
    free(j);

    /* Nothing at all is a document too. */
    drill_result empty;
    memset(&empty, 0, sizeof(empty));
    j = capture(drill_report_json, &empty, NULL, 0);
    assert_true(json_ok(j));
    assert_non_null(strstr(j, "\"scenarios\": [],"));
    assert_non_null(strstr(j, "\"violations\": [],"));
    free(j);
}

/* ---- the SVG ----------------------------------------------------------- */

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The number of points of the first polyline after the first match of
 * marker. */
static size_t points_after(const char *svg, const char *marker)
{
    const char *p = strstr(svg, marker);
    assert_non_null(p);
    p = strstr(p, "points=\"");
    assert_non_null(p);
    p += strlen("points=\"");
    size_t n = 0;
    for (; *p != '"'; p++)
        n += *p == ',';
    return n;
}

static int svg_of(FILE *out, const drill_result *r, const drill_violation *v,
                  size_t scenario)
{
    (void)v;
    return drill_report_svg(out, r, scenario);
}

static void test_svg_timeline(void **state)
{
    drill_result *r = reported(state);
    /* Each node every 500 ms over both scenarios; n3 does not answer at
     * 3000, 3500 and 4000, n2 not at 8000. */
    r->n_samples = 3 * 61;
    r->samples = calloc(r->n_samples, sizeof(*r->samples));
    assert_non_null(r->samples);
    for (size_t i = 0; i < r->n_samples; i++) {
        drill_sample *s = &r->samples[i];
        s->node = (int)(i % 3);
        s->t_ms = 500 * (uint64_t)(i / 3);
        s->up = !((s->node == 2 && s->t_ms >= 3000 && s->t_ms <= 4000) ||
                  (s->node == 1 && s->t_ms == 8000));
        s->commit_index = s->t_ms / 100;
        s->data_index = s->node == 2 && s->commit_index >= 3
                            ? s->commit_index - 3
                            : s->commit_index;
    }

    char *svg = capture(svg_of, r, NULL, 0);
    assert_int_equal(strncmp(svg, "<?xml version=\"1.0\"", 19), 0);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "viewBox=\"0 0 "));
    assert_int_equal(count(svg, "<svg"), 1);
    assert_int_equal(count(svg, "</svg>"), 1);
    assert_int_equal(strcmp(svg + strlen(svg) - 7, "</svg>\n"), 0);
    assert_int_equal(count(svg, "<polyline class=\"commit\""), 3);
    assert_int_equal(count(svg, "<polyline class=\"data\""), 3);
    assert_int_equal(count(svg, "stroke-dasharray=\"6 3\" points="), 3);
    /* The faults of this scenario, not the other's. */
    assert_int_equal(count(svg, "<rect class=\"fault\""), 2);
    assert_non_null(strstr(svg, "SIGSTOP n3 &quot;paused&quot;"));
    assert_null(strstr(svg, "isolate"));
    assert_int_equal(count(svg, "<line class=\"recovered\""), 2);
    /* Down: one band each; the lines skip those samples ([0, 20000]: 41
     * samples a node). */
    assert_int_equal(count(svg, "<rect class=\"down\""), 2);
    assert_non_null(strstr(svg, "n3 down 3.0-4.5 s"));
    assert_non_null(strstr(svg, "n2 down 8.0-8.5 s"));
    assert_int_equal(points_after(svg, "stroke=\"#1f77b4\""), 41);
    assert_int_equal(points_after(svg, "stroke=\"#2ca02c\""), 40);
    assert_int_equal(points_after(svg, "stroke=\"#9467bd\""), 38);
    assert_non_null(strstr(svg, "time in the scenario (s)"));
    assert_non_null(strstr(svg, "log index"));
    assert_non_null(strstr(svg, "n1 commit index</text>"));
    assert_non_null(strstr(svg, "n3 data index</text>"));
    /* Nothing external: the namespace is the only address. */
    assert_int_equal(count(svg, "http"), 1);
    assert_null(strstr(svg, "href"));
    free(svg);

    /* The second scenario: its name escaped, its one fault, no down. */
    svg = capture(svg_of, r, NULL, 1);
    assert_non_null(strstr(svg, "scenario part&lt;&amp;&gt;"));
    assert_int_equal(count(svg, "<rect class=\"fault\""), 1);
    assert_non_null(strstr(svg, "isolate n1 &lt;leader&gt;"));
    assert_int_equal(count(svg, "<rect class=\"down\""), 0);
    assert_int_equal(count(svg, "<polyline class=\"commit\""), 3);
    free(svg);

    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    errno = 0;
    assert_int_equal(drill_report_svg(null, r, 2), -1);
    assert_int_equal(errno, EINVAL);
    fclose(null);
}

/* A write error is reported. */
static void test_report_write_error(void **state)
{
    drill_result *r = reported(state);
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL)
        skip();
    errno = 0;
    assert_int_equal(drill_report_json(full, r, NULL, 0), -1);
    assert_int_not_equal(errno, 0);
    fclose(full);
}

/* ---- scale ------------------------------------------------------------- */

static void test_100000_ops_on_3_nodes(void **state)
{
    drill_result *r = fx_state(state, 3, 100000);
    assert_int_equal(drill_check(r, NULL, 0), 0);
    /* One break among them is found, once. */
    r->nodes[2].log[77776].digest[3] ^= 1; /* op 77775, at 77777 */
    r->nodes[2].record_digest[99999][0] ^= 1;
    check(r);
    assert_int_equal(F.n, 4);
    assert_int_equal(n_rule(AP), 2);
    assert_int_equal(n_rule(NP), 1);
    assert_int_equal(n_rule(OE), 1);
    assert_true(said(AP, "op d7-77775 (index 77777): n3's REF there"));
    assert_true(said(AP, "op d7-99999 (index 100001): n3 returned a record"));

    r->n_scenarios = 1;
    r->scenarios = calloc(1, sizeof(*r->scenarios));
    assert_non_null(r->scenarios);
    snprintf(r->scenarios[0].name, DRILL_NAME_MAX, "all");
    r->scenarios[0].end_ms = 100 * 100000;
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    assert_int_equal(drill_report_table(null, r, F.v, F.n), 0);
    assert_int_equal(drill_report_json(null, r, F.v, F.n), 0);
    fclose(null);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_clean_result_has_no_violations,
                                  teardown),
        cmocka_unit_test_teardown(test_max_bounds_what_is_written, teardown),
        cmocka_unit_test_teardown(test_acked_record_missing_on_one_node,
                                  teardown),
        cmocka_unit_test_teardown(test_acked_record_with_another_digest,
                                  teardown),
        cmocka_unit_test_teardown(test_acked_entry_missing_from_short_log,
                                  teardown),
        cmocka_unit_test_teardown(test_acked_entry_with_another_digest_or_size,
                                  teardown),
        cmocka_unit_test_teardown(test_acked_at_another_index, teardown),
        cmocka_unit_test_teardown(test_acked_above_commit_index, teardown),
        cmocka_unit_test_teardown(test_acked_abandoned_by_a_committed_void,
                                  teardown),
        cmocka_unit_test_teardown(test_acked_without_an_index, teardown),
        cmocka_unit_test_teardown(test_phantom_committed_vs_not, teardown),
        cmocka_unit_test_teardown(test_phantom_voided_vs_void_uncommitted,
                                  teardown),
        cmocka_unit_test_teardown(test_phantom_digest_of_a_known_id, teardown),
        cmocka_unit_test_teardown(test_entries_differ_at_a_committed_index,
                                  teardown),
        cmocka_unit_test_teardown(test_entries_differ_above_one_commit_index,
                                  teardown),
        cmocka_unit_test_teardown(test_entries_differ_in_ref_or_void, teardown),
        cmocka_unit_test_teardown(test_entries_differ_in_members, teardown),
        cmocka_unit_test_teardown(test_one_violation_per_index_among_five,
                                  teardown),
        cmocka_unit_test_teardown(test_failed_op_committed_vs_not, teardown),
        cmocka_unit_test_teardown(test_failed_op_voided_or_retried, teardown),
        cmocka_unit_test_teardown(test_real_time_order_inverted, teardown),
        cmocka_unit_test_teardown(
            test_real_time_order_overlapping_ops_any_order, teardown),
        cmocka_unit_test_teardown(
            test_real_time_order_against_the_highest_earlier, teardown),
        cmocka_unit_test_teardown(test_table_figures_and_lost_column, teardown),
        cmocka_unit_test(test_json_parser_refuses_broken_documents),
        cmocka_unit_test_teardown(test_json_document, teardown),
        cmocka_unit_test_teardown(test_svg_timeline, teardown),
        cmocka_unit_test_teardown(test_report_write_error, teardown),
        cmocka_unit_test_teardown(test_100000_ops_on_3_nodes, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
