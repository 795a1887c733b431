/* test_snapshot.c - log compaction and reference snapshots (Raft §7,
 * thesis §5): compaction, InstallSnapshot in chunks, the follower's
 * install, restarts from a compacted log, malformed messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define TEST(f) cmocka_unit_test_teardown(f, fx_cleanup)

/* Every node compacts once more than `entries` applied entries are in
 * its log, keeping `keep`, and sends snapshots in chunks of `chunk`. */
static void
compaction_on(fixture *fx, uint32_t entries, uint32_t keep, uint32_t chunk)
{
    for (int i = 1; i <= fx->n; i++) {
        refraft_config *c = &fx_node_at(fx, i)->config;
        c->compact_entries = entries;
        c->compact_keep = keep;
        c->snapshot_chunk = chunk;
    }
}

/* Propose record "<prefix><k>" for k in [from, to) on leader i, each
 * replicated before the next. */
static void
propose_range(fixture *fx, int i, const char *prefix, int from, int to)
{
    for (int k = from; k < to; k++) {
        char record[32];
        snprintf(record, sizeof record, "%s%d", prefix, k);
        assert_int_equal(fx_propose(fx, i, record, NULL), 0);
        fx_deliver_all(fx);
    }
}

/* A heartbeat interval passes: every node whose deadline came ticks, and
 * every message is delivered. */
static void heartbeat_round(fixture *fx)
{
    fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
    fx_tick_due(fx);
    fx_deliver_all(fx);
}

/* n3 is cut off while the leader n1 applies and compacts records
 * r0..r<n-1>; returns the leader's snapshot index. */
static refraft_index compact_past_n3(fixture *fx, int n)
{
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);
    propose_range(fx, 1, "r", 0, n);
    fx_isolate(fx, 3, false);
    refraft_index s = refraft_snapshot_index(fx_raft(fx, 1));
    assert_true(s > refraft_last_index(fx_raft(fx, 3)));
    return s;
}

/* n3 holds what n1 holds: the same log over the indexes both keep, the
 * same reference state and the same applied index. */
static void assert_caught_up(fixture *fx, int leader, int i)
{
    refraft_node *l = fx_raft(fx, leader), *f = fx_raft(fx, i);
    assert_int_equal(refraft_last_index(f), refraft_last_index(l));
    assert_int_equal(refraft_applied_index(f), refraft_applied_index(l));
    assert_true(fx_logs_equal(fx, leader, i));
    assert_true(fx_states_equal(fx, leader, i, refraft_applied_index(l)));
    fx_assert_state_machine_safety(fx);
}

/* ---- compaction ------------------------------------------------------- */

/* Every node of three compacted, keeping at least keep applied entries,
 * and none needed a snapshot (compaction alone sends none). */
static void assert_all_compacted(fixture *fx, refraft_index keep)
{
    for (int i = 1; i <= 3; i++) {
        refraft_node *node = fx_raft(fx, i);
        assert_true(refraft_snapshot_index(node) > 0);
        assert_true(refraft_snapshot_index(node) <=
                    refraft_applied_index(node) - keep);
        assert_int_equal(fx_node_at(fx, i)->n_installs, 0);
    }
    fx_assert_state_machine_safety(fx);
}

/* refraft_config.compact_entries: "once more than compact_entries applied
 * entries are in the log, the node compacts it up to compact_keep entries
 * behind its applied index". */
static void test_automatic_compaction_bounds_the_log(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 10, 4, 8);
    fx_start(fx);
    fx_elect(fx, 1);
    for (int k = 0; k < 40; k++) {
        propose_range(fx, 1, "a", k, k + 1);
        heartbeat_round(fx);
        for (int i = 1; i <= 3; i++) {
            refraft_node *node = fx_raft(fx, i);
            refraft_index applied = refraft_applied_index(node);
            refraft_index base = refraft_snapshot_index(node);
            assert_true(applied - base <= 10);
            assert_int_equal(fx_log_first(fx, i), base + 1);
        }
    }
    assert_all_compacted(fx, 4);
}

/* refraft_compact: "Compact the log now, up to upto (at most the applied
 * index; 0: up to compact_keep behind it)". */
static void test_refraft_compact_compacts_up_to_the_applied_index(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 0, 3, 0);
    fx_start(fx);
    fx_elect(fx, 1);
    propose_range(fx, 1, "c", 0, 10);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index applied = refraft_applied_index(n1);
    assert_int_equal(applied, 11);
    assert_int_equal(refraft_snapshot_index(n1), 0);

    assert_int_equal(refraft_compact(n1, 5), 0);
    assert_int_equal(refraft_snapshot_index(n1), 5);
    assert_int_equal(fx_log_first(fx, 1), 6);
    /* Past the applied index: refused, nothing changed. */
    assert_int_equal(refraft_compact(n1, applied + 1), REFRAFT_EINVAL);
    assert_non_null(strstr(refraft_errmsg(n1), "applied"));
    assert_int_equal(refraft_snapshot_index(n1), 5);
    /* Below the base: nothing to do. */
    assert_int_equal(refraft_compact(n1, 3), 0);
    assert_int_equal(refraft_snapshot_index(n1), 5);
    /* 0: compact_keep behind the applied index. */
    assert_int_equal(refraft_compact(n1, 0), 0);
    assert_int_equal(refraft_snapshot_index(n1), applied - 3);
    /* The configuration at the base is the initial one: index 0, no
     * members (every node knows its own). */
    refraft_log_api *log = &fx_node_at(fx, 1)->log;
    refraft_snapshot_meta base;
    assert_int_equal(log->base(log->ctx, &base), 0);
    assert_int_equal(base.last_index, applied - 3);
    assert_int_equal(base.config_index, 0);
    assert_int_equal(base.n_members, 0);
    /* The cluster goes on. */
    propose_range(fx, 1, "d", 0, 3);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 2);
}

/* Snapshot hooks "All three, or none"; compaction needs them. */
static void test_compaction_needs_the_snapshot_hooks(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node *fn = fx_node_at(fx, 1);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    hull.snapshot_write = NULL;
    char err[REFRAFT_ERRMSG_LEN];
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "snapshot"));
    hull.snapshot_read = NULL;
    hull.snapshot_install = NULL;
    fn->config.compact_entries = 5;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "compact_entries"));
    fn->config.compact_entries = 0;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     0);
    assert_int_equal(refraft_compact(fn->node, 0), REFRAFT_EINVAL);
}

/* ---- compaction by size ---------------------------------------------- */

/* What node i's log says its entries take (log.size). */
static uint64_t log_bytes(fixture *fx, int i)
{
    refraft_log_api *log = &fx_node_at(fx, i)->log;
    uint64_t bytes = 0;
    assert_int_equal(log->size(log->ctx, &bytes), 0);
    return bytes;
}

/* Every node bounds its log by bytes alone: compact_entries 0. */
static void bytes_bound_on(fixture *fx, uint64_t bytes, uint32_t keep)
{
    for (int i = 1; i <= fx->n; i++) {
        refraft_config *c = &fx_node_at(fx, i)->config;
        c->compact_bytes = bytes;
        c->compact_keep = keep;
    }
}

/* refraft_config.compact_bytes: "once the log's entries take more than
 * compact_bytes (log.size), the node compacts ... up to compact_keep
 * entries behind its applied index", with compact_entries 0. */
static void test_compact_bytes_alone_bounds_the_log(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    /* Twenty of these small entries (56 bytes each in a memlog, and a
     * few bytes of id) are past the bound. */
    const uint64_t bound = 20 * 56;
    bytes_bound_on(fx, bound, 4);
    fx_start(fx);
    fx_elect(fx, 1);
    for (int k = 0; k < 60; k++) {
        propose_range(fx, 1, "b", k, k + 1);
        heartbeat_round(fx);
        for (int i = 1; i <= 3; i++) {
            refraft_node *node = fx_raft(fx, i);
            refraft_index held =
                refraft_applied_index(node) - refraft_snapshot_index(node);
            /* Above the bound only while the anti-thrash rule holds it. */
            assert_true(log_bytes(fx, i) <= bound || held <= 2 * 4);
            assert_int_equal(fx_log_first(fx, i),
                             refraft_snapshot_index(node) + 1);
        }
    }
    assert_all_compacted(fx, 4);
}

/* "0: no bytes bound", and below the bound nothing is compacted. */
static void test_no_compaction_below_compact_bytes(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    bytes_bound_on(fx, 1 << 20, 4);
    fx_node_at(fx, 3)->config.compact_bytes = 0;
    fx_start(fx);
    fx_elect(fx, 1);
    propose_range(fx, 1, "n", 0, 40);
    heartbeat_round(fx);
    for (int i = 1; i <= 3; i++) {
        refraft_node *node = fx_raft(fx, i);
        assert_int_equal(refraft_applied_index(node), 41);
        assert_true(log_bytes(fx, i) > 40 * 56);
        assert_int_equal(refraft_snapshot_index(node), 0);
        assert_int_equal(fx_log_first(fx, i), 1);
    }
}

/* "a compaction the bytes bound triggers must remove at least as many
 * entries as it keeps": with every entry over the bound, the node
 * compacts only once more than 2 * compact_keep applied entries are in
 * its log, not after every apply. */
static void test_compact_bytes_does_not_thrash(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    bytes_bound_on(fx, 1, 10);
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_index base[4] = {0, 0, 0, 0};
    size_t compactions[4] = {0, 0, 0, 0};
    for (int k = 0; k < 60; k++) {
        propose_range(fx, 1, "t", k, k + 1);
        heartbeat_round(fx);
        for (int i = 1; i <= 3; i++) {
            refraft_node *node = fx_raft(fx, i);
            refraft_index now = refraft_snapshot_index(node);
            assert_true(refraft_applied_index(node) - now <= 2 * 10);
            if (now != base[i]) {
                /* It removed more entries than it kept. */
                assert_true(now - base[i] > 10);
                assert_true(refraft_applied_index(node) - now >= 10);
                compactions[i]++;
            }
            base[i] = now;
        }
    }
    /* 61 applied entries, at least 11 removed each time. */
    for (int i = 1; i <= 3; i++) {
        assert_true(compactions[i] >= 3);
        assert_true(compactions[i] <= 5);
    }
}

/* "compact_keep ... defaults to ... max_entries_per_msg when only
 * compact_bytes is set". */
static void test_compact_bytes_keeps_a_message_by_default(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node *fn = fx_node_at(fx, 1);
    fn->config.compact_bytes = 1;
    fn->config.max_entries_per_msg = 5;
    fx_start(fx);
    fx_elect(fx, 1);
    propose_range(fx, 1, "k", 0, 30);
    refraft_node *node = fx_raft(fx, 1);
    assert_int_equal(refraft_applied_index(node), 31);
    /* Compacted up to 5 behind the applied index once more than 10 were
     * in the log: every 6 applies. */
    refraft_index held =
        refraft_applied_index(node) - refraft_snapshot_index(node);
    assert_true(refraft_snapshot_index(node) > 0);
    assert_true(held >= 5 && held <= 10);
}

/* compact_bytes "Needs log.size besides the snapshot members
 * (REFRAFT_EINVAL otherwise)"; compact_keep need not be below anything
 * when compact_entries is 0. */
static void test_compact_bytes_validation(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node *fn = fx_node_at(fx, 1);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    char err[REFRAFT_ERRMSG_LEN];
    fn->config.compact_bytes = 4096;
    fn->config.compact_keep = 100000;

    refraft_hull no_hooks = hull;
    no_hooks.snapshot_read = NULL;
    no_hooks.snapshot_write = NULL;
    no_hooks.snapshot_install = NULL;
    assert_int_equal(refraft_node_create(&fn->config, &no_hooks, &fn->log,
                                         &fn->node, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "compact_bytes"));
    assert_null(fn->node);

    refraft_log_api no_size = fn->log;
    no_size.size = NULL;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &no_size,
                                         &fn->node, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "size"));
    assert_null(fn->node);
    /* A version 4 log has no size (nor compaction). */
    refraft_log_api v4 = fn->log;
    v4.version = 4;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &v4, &fn->node,
                                         err, sizeof err),
                     REFRAFT_EINVAL);
    assert_null(fn->node);

    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     0);
}

/* ---- sending a snapshot ----------------------------------------------- */

/* Raft §7: "the leader must occasionally send snapshots to followers
 * that lag behind", in chunks, one in flight at a time; afterwards the
 * follower is replicated to from the log again. */
static void test_lagging_follower_gets_a_multi_chunk_snapshot(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 6, 2, 3);
    fx_start(fx);
    refraft_index s = compact_past_n3(fx, 20);
    size_t chunks = 0;
    for (int step = 0; step < 2000 && fx_node_at(fx, 3)->n_installs == 0;
         step++) {
        if (fx_pending(fx) == 0) {
            fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
            fx_tick_due(fx);
            continue;
        }
        /* One chunk in flight at a time. */
        assert_true(fx_count(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT) <= 1);
        if (fx_find(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT) == fx_peek(fx, 0)) {
            chunks++;
            refraft_peer_progress pp;
            assert_int_equal(
                refraft_peer_progress_get(fx_raft(fx, 1), "n3", &pp), 0);
            assert_int_equal(pp.snapshot_index, s);
        }
        int rv = fx_deliver(fx, 0);
        assert_true(rv == 0 || rv == REFRAFT_ESTALE);
    }
    fx_node *n3 = fx_node_at(fx, 3);
    assert_int_equal(n3->n_installs, 1);
    assert_int_equal(n3->installed.last_index, s);
    assert_true(chunks >= 4); /* ten or so refs, three a chunk */
    assert_int_equal(refraft_snapshot_index(fx_raft(fx, 3)), s);
    fx_deliver_all(fx);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 3);
    /* Then entries flow from the log again, with no new snapshot. */
    propose_range(fx, 1, "x", 0, 3);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 3);
    assert_int_equal(n3->n_installs, 1);
    refraft_peer_progress pp;
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, 1), "n3", &pp), 0);
    assert_int_equal(pp.snapshot_index, 0);
    assert_int_equal(pp.match_index, refraft_last_index(fx_raft(fx, 1)));
}

/* Messages may be "lost, late, duplicated or reordered": a lost chunk is
 * sent again on the heartbeat, a duplicate and a late first chunk change
 * nothing, and the snapshot installs once. */
static void test_lost_duplicated_and_late_chunks(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 6, 2, 2);
    fx_start(fx);
    refraft_index s = compact_past_n3(fx, 20);
    /* The leader found n3 needing entries it compacted while n3 was cut
     * off; its heartbeat sends the first chunk again. */
    fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
    assert_int_equal(fx_tick(fx, 1), 0);
    fx_drop_matching(fx, 1, 2, FX_ANY);
    fx_msg *first = fx_find(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_non_null(first);
    assert_int_equal(first->msg.u.install_snapshot.after, 0);
    assert_int_equal(first->msg.u.install_snapshot.meta.last_index, s);

    /* Lost: nothing more goes out until the heartbeat resends it. */
    assert_int_equal(fx_drop_matching(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT),
                     1);
    fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
    assert_int_equal(fx_tick(fx, 1), 0);
    first = fx_find(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_non_null(first);
    assert_int_equal(first->msg.u.install_snapshot.after, 0);
    fx_drop_matching(fx, 1, 2, FX_ANY);

    /* Delivered twice: the copy still queued arrives late, after the
     * second chunk. */
    assert_int_equal(fx_inject(fx, 3, &first->msg), 0);
    size_t writes = fx_node_at(fx, 3)->n_snapshot_writes;
    assert_int_equal(writes, 1);
    fx_deliver_first(fx, 3, 1, REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT);
    fx_msg *second = NULL;
    for (size_t k = 0; k < fx_pending(fx); k++)
        if (fx_peek(fx, k) != first &&
            fx_peek(fx, k)->msg.type == REFRAFT_MSG_INSTALL_SNAPSHOT)
            second = fx_peek(fx, k);
    assert_non_null(second);
    assert_true(second->msg.u.install_snapshot.after > 0);
    assert_int_equal(fx_count(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT), 2);
    /* Deliver the second chunk, then the late first one. */
    for (size_t k = 0; k < fx_pending(fx); k++)
        if (fx_peek(fx, k) == second) {
            assert_int_equal(fx_deliver(fx, k), 0);
            break;
        }
    assert_int_equal(fx_node_at(fx, 3)->n_snapshot_writes, 2);
    fx_deliver_first(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_int_equal(fx_node_at(fx, 3)->n_snapshot_writes, 2);
    /* Two answers: the one that moves the send on, then the late one,
     * which the leader ignores: still one chunk in flight. */
    fx_deliver_first(fx, 3, 1, REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT);
    fx_deliver_first(fx, 3, 1, REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT);
    assert_int_equal(fx_count(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT), 1);
    for (int round = 0; round < 20 && fx_node_at(fx, 3)->n_installs == 0;
         round++) {
        fx_deliver_all(fx);
        heartbeat_round(fx);
    }
    assert_int_equal(fx_node_at(fx, 3)->n_installs, 1);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 3);
}

/* refraft.h, snapshot_write: "A chunk may belong to a later snapshot than
 * the chunks before it (the leader compacted meanwhile) ... the chunks
 * kept are a prefix of the new one."  The leader compacts while n3 is
 * halfway: the send goes on from n3's cursor in the new snapshot, never
 * from the start, and n3 installs the new one. */
static void test_compaction_mid_send_continues_from_the_cursor(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 6, 2, 2);
    fx_start(fx);
    refraft_index s = compact_past_n3(fx, 20);
    fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
    assert_int_equal(fx_tick(fx, 1), 0);
    fx_drop_matching(fx, 1, 2, FX_ANY);
    /* The first chunk and its answer. */
    fx_deliver_first(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_int_equal(fx_node_at(fx, 3)->n_snapshot_writes, 1);
    fx_deliver_first(fx, 3, 1, REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT);
    fx_msg *next = fx_find(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_non_null(next);
    refraft_index cursor = next->msg.u.install_snapshot.after;
    assert_true(cursor > 0);
    /* n3 is cut off again while the leader compacts further. */
    fx_isolate(fx, 3, true);
    propose_range(fx, 1, "m", 0, 20);
    refraft_index s2 = refraft_snapshot_index(fx_raft(fx, 1));
    assert_true(s2 > s);
    fx_isolate(fx, 3, false);
    /* The chunk in flight went unanswered: a heartbeat after the one
     * that follows its answer sends it again. */
    for (int beat = 0; beat < 2; beat++) {
        fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
        assert_int_equal(fx_tick(fx, 1), 0);
    }
    next = fx_find(fx, 1, 3, REFRAFT_MSG_INSTALL_SNAPSHOT);
    assert_non_null(next);
    assert_int_equal(next->msg.u.install_snapshot.meta.last_index, s2);
    assert_int_equal(next->msg.u.install_snapshot.after, cursor);
    for (int round = 0; round < 40 && fx_node_at(fx, 3)->n_installs == 0;
         round++) {
        fx_deliver_all(fx);
        heartbeat_round(fx);
    }
    assert_int_equal(fx_node_at(fx, 3)->n_installs, 1);
    assert_true(fx_node_at(fx, 3)->installed.last_index >= s2);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 3);
}

/* refraft.h, records_behind: "the leader neither promotes it nor hands
 * it leadership meanwhile."  n3 installs a snapshot without its records
 * and gets every record but r0's, whose entry the snapshot covers: its
 * log and data index are the leader's, yet it says records are behind,
 * and its leader will not transfer to it until r0 is stored. */
static void test_records_behind_hold_back_a_transfer(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_records_on(fx);
    compaction_on(fx, 6, 2, 4);
    fx_start(fx);
    for (int k = 0; k < 20; k++) {
        char record[32];
        snprintf(record, sizeof record, "r%d", k);
        fx_record_put(fx, 1, record);
        fx_record_put(fx, 2, record);
    }
    refraft_index s = compact_past_n3(fx, 20);
    fx_node *n3 = fx_node_at(fx, 3);
    for (int round = 0; round < 40 && n3->n_installs == 0; round++) {
        fx_deliver_all(fx);
        heartbeat_round(fx);
    }
    assert_int_equal(n3->n_installs, 1);
    refraft_index installed = n3->installed.last_index;
    assert_true(installed >= s);
    for (int k = 1; k < 20; k++) {
        char record[32];
        snprintf(record, sizeof record, "r%d", k);
        assert_int_equal(fx_records_stored(fx, 3, record), 0);
    }
    heartbeat_round(fx);
    refraft_index last = refraft_last_index(fx_raft(fx, 1));
    assert_int_equal(refraft_data_index(fx_raft(fx, 3)), last);
    assert_true(refraft_records_behind(fx_raft(fx, 3)));
    refraft_peer_progress pp;
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, 1), "n3", &pp), 0);
    assert_true(pp.records_behind);
    assert_int_equal(pp.data_index, last);
    /* A transfer waits: no TimeoutNow while n3 lacks r0. */
    assert_int_equal(refraft_transfer(fx_raft(fx, 1), "n3"), 0);
    heartbeat_round(fx);
    assert_int_equal(refraft_role(fx_raft(fx, 1)), REFRAFT_LEADER);
    assert_int_equal(fx_count(fx, 1, 3, REFRAFT_MSG_TIMEOUT_NOW), 0);
    assert_int_equal(fx_records_stored(fx, 3, "r0"), 0);
    assert_false(refraft_records_behind(fx_raft(fx, 3)));
    /* The unsolicited report says so at once; then the transfer goes. */
    fx_deliver_all(fx);
    assert_int_equal(refraft_peer_progress_get(fx_raft(fx, 1), "n3", &pp), 0);
    assert_false(pp.records_behind);
    for (int round = 0;
         round < 10 && refraft_role(fx_raft(fx, 3)) != REFRAFT_LEADER; round++)
        heartbeat_round(fx);
    assert_int_equal(refraft_role(fx_raft(fx, 3)), REFRAFT_LEADER);
}

/* refraft_config.compact_keep "must be below compact_entries": at or
 * above it, the log would be past the bound right after each
 * compaction. */
static void test_compact_keep_must_be_below_compact_entries(void **state)
{
    (void)state;
    fixture *fx = fx_new(1);
    fx_node *fn = fx_node_at(fx, 1);
    refraft_hull hull;
    fx_hull(fx, 1, &hull);
    fn->config.compact_entries = 8;
    fn->config.compact_keep = 8;
    char err[REFRAFT_ERRMSG_LEN];
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     REFRAFT_EINVAL);
    assert_non_null(strstr(err, "compact_keep"));
    fn->config.compact_keep = 7;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log,
                                         &fn->node, err, sizeof err),
                     0);
}

/* Raft §7: "If existing log entry has same index and term as snapshot's
 * last included entry, retain log entries following it and reply". */
static void test_follower_holding_the_last_entry_keeps_its_tail(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);
    propose_range(fx, 1, "t", 0, 6);
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_index last = refraft_last_index(n2);
    assert_int_equal(last, 7);
    refraft_term term = refraft_current_term(n2);
    /* n2 has 1..7 but has committed only up to what n1 told it. */
    refraft_msg m;
    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_INSTALL_SNAPSHOT;
    m.u.install_snapshot.term = term;
    m.u.install_snapshot.leader_id = "n1";
    m.u.install_snapshot.meta.last_index = 5;
    m.u.install_snapshot.meta.last_term = fx_log_term(fx, 2, 5);
    m.u.install_snapshot.done = true;
    fx_capture cap = {0};
    assert_int_equal(refraft_on_message(n2, &m, fx_capture_reply, &cap), 0);
    assert_int_equal(cap.calls, 1);
    const refraft_install_snapshot_result *r =
        &cap.last.msg.u.install_snapshot_result;
    assert_true(r->installed);
    assert_int_equal(r->after, 5);
    assert_int_equal(r->last_index, 5);
    assert_int_equal(refraft_last_index(n2), last);
    assert_int_equal(fx_node_at(fx, 2)->n_installs, 0);
    assert_int_equal(fx_node_at(fx, 2)->n_truncated, 0);
    assert_int_equal(fx_node_at(fx, 2)->n_snapshot_writes, 0);
}

/* A leader change mid-transfer: the new leader sends its own base; the
 * follower ends with one install and the cluster's state. */
static void test_leader_change_mid_transfer(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    compaction_on(fx, 6, 2, 2);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);
    propose_range(fx, 1, "r", 0, 20);
    heartbeat_round(fx); /* n2 learns the commit index and compacts */
    fx_isolate(fx, 3, false);
    assert_true(refraft_snapshot_index(fx_raft(fx, 2)) >
                refraft_last_index(fx_raft(fx, 3)));
    /* Two chunks reach n3, then n1 crashes. */
    for (int step = 0; step < 200 && fx_node_at(fx, 3)->n_snapshot_writes < 2;
         step++) {
        if (fx_pending(fx) == 0) {
            fx_advance(fx, FX_ELECTION_TIMEOUT / 10);
            fx_tick_due(fx);
        } else {
            (void)fx_deliver(fx, 0);
        }
    }
    assert_int_equal(fx_node_at(fx, 3)->n_snapshot_writes, 2);
    assert_int_equal(fx_node_at(fx, 3)->n_installs, 0);
    fx_crash(fx, 1);
    fx_drop_matching(fx, FX_ANY, FX_ANY, FX_ANY);
    fx_advance(fx, 3 * FX_ELECTION_TIMEOUT);
    fx_elect(fx, 2);
    for (int round = 0; round < 40 && fx_node_at(fx, 3)->n_installs == 0;
         round++)
        heartbeat_round(fx);
    assert_int_equal(fx_node_at(fx, 3)->n_installs, 1);
    propose_range(fx, 2, "y", 0, 3);
    heartbeat_round(fx);
    assert_caught_up(fx, 2, 3);
}

/* ---- membership and restarts ------------------------------------------ */

/* A server added after compaction gets the snapshot first (of the
 * initial configuration, which it does not know: it follows all the
 * same), then the CONFIG entry that adds it, and can be promoted once
 * caught up. */
static void test_learner_added_after_compaction_is_promoted(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    compaction_on(fx, 6, 2, 4);
    fx_start(fx);
    fx_elect(fx, 1);
    propose_range(fx, 1, "l", 0, 15);
    refraft_node *n1 = fx_raft(fx, 1);
    assert_true(refraft_snapshot_index(n1) > 0);
    refraft_index at = 0;
    assert_int_equal(refraft_add_learner(n1, "n4", "", &at), 0);
    for (int round = 0; round < 20; round++)
        heartbeat_round(fx);
    fx_node *n4 = fx_node_at(fx, 4);
    assert_int_equal(n4->n_installs, 1);
    assert_int_equal(n4->installed.config_index, 0);
    assert_int_equal(n4->installed.n_members, 0);
    assert_caught_up(fx, 1, 4);
    assert_int_equal(refraft_config_index(fx_raft(fx, 4)), at);
    assert_int_equal(refraft_promote(n1, "n4", &at), 0);
    for (int round = 0; round < 5; round++)
        heartbeat_round(fx);
    assert_true(refraft_is_voter(fx_raft(fx, 4), "n4"));
    assert_int_equal(refraft_commit_index(fx_raft(fx, 4)),
                     refraft_commit_index(n1));
}

/* A configuration change compacted away reaches a lagging follower
 * through the snapshot's meta. */
static void test_snapshot_meta_configuration_is_honoured(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    compaction_on(fx, 6, 2, 4);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_isolate(fx, 3, true);
    refraft_node *n1 = fx_raft(fx, 1);
    refraft_index added = 0, promoted = 0;
    assert_int_equal(refraft_add_learner(n1, "n4", "http://n4", &added), 0);
    for (int round = 0; round < 5; round++)
        heartbeat_round(fx);
    assert_int_equal(refraft_promote(n1, "n4", &promoted), 0);
    for (int round = 0; round < 5; round++)
        heartbeat_round(fx);
    propose_range(fx, 1, "m", 0, 15);
    assert_true(refraft_snapshot_index(n1) > promoted);
    refraft_node *n3 = fx_raft(fx, 3);
    assert_int_equal(refraft_n_members(n3), 3);
    fx_isolate(fx, 3, false);
    for (int round = 0; round < 30 && fx_node_at(fx, 3)->n_installs == 0;
         round++)
        heartbeat_round(fx);
    assert_int_equal(fx_node_at(fx, 3)->n_installs, 1);
    assert_int_equal(fx_node_at(fx, 3)->installed.config_index, promoted);
    assert_int_equal(refraft_config_index(n3), promoted);
    assert_int_equal(refraft_n_members(n3), 4);
    assert_true(refraft_is_voter(n3, "n4"));
    refraft_member m;
    assert_int_equal(refraft_member_get(n3, 3, &m), 0);
    assert_string_equal(m.id, "n4");
    assert_string_equal(m.address, "http://n4");
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 3);
}

/* A node restarts from its compacted log: its configuration comes from
 * the base (the CONFIG entry is gone), its term and vote from the hard
 * state; an application state older than the base is refused. */
static void test_restart_from_a_compacted_log(void **state)
{
    (void)state;
    fixture *fx = fx_new_joining(3, 1);
    compaction_on(fx, 6, 2, 4);
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_index added = 0;
    assert_int_equal(refraft_add_learner(fx_raft(fx, 1), "n4", "", &added), 0);
    fx_deliver_all(fx);
    propose_range(fx, 1, "s", 0, 15);
    heartbeat_round(fx);
    refraft_node *n2 = fx_raft(fx, 2);
    refraft_index base = refraft_snapshot_index(n2);
    assert_true(base > added);
    refraft_term term = refraft_current_term(n2);
    refraft_index applied = refraft_applied_index(n2);

    fx_crash(fx, 2);
    fx_node *fn = fx_node_at(fx, 2);
    refraft_hull hull;
    fx_hull(fx, 2, &hull);
    fn->config.applied_index = base - 1;
    char err[REFRAFT_ERRMSG_LEN];
    refraft_node *bad = NULL;
    assert_int_equal(refraft_node_create(&fn->config, &hull, &fn->log, &bad,
                                         err, sizeof err),
                     REFRAFT_ECORRUPT);
    assert_null(bad);
    assert_non_null(strstr(err, "snapshot"));

    fx_restart(fx, 2);
    n2 = fx_raft(fx, 2);
    assert_int_equal(refraft_snapshot_index(n2), base);
    assert_int_equal(refraft_applied_index(n2), applied);
    assert_int_equal(refraft_current_term(n2), term);
    assert_int_equal(refraft_config_index(n2), added);
    assert_int_equal(refraft_n_members(n2), 4);
    propose_range(fx, 1, "u", 0, 4);
    heartbeat_round(fx);
    assert_caught_up(fx, 1, 2);
}

/* ---- malformed messages ----------------------------------------------- */

static refraft_msg install_msg(refraft_term term, refraft_index last,
                               refraft_index after,
                               const refraft_snapshot_ref *refs, size_t n)
{
    refraft_msg m;
    memset(&m, 0, sizeof m);
    m.type = REFRAFT_MSG_INSTALL_SNAPSHOT;
    m.u.install_snapshot.term = term;
    m.u.install_snapshot.leader_id = "n1";
    m.u.install_snapshot.meta.last_index = last;
    m.u.install_snapshot.meta.last_term = term;
    m.u.install_snapshot.after = after;
    m.u.install_snapshot.refs = refs;
    m.u.install_snapshot.n_refs = n;
    return m;
}

/* "Bad input gets a clear error and changes nothing": each malformed
 * InstallSnapshot (or result) is refused whole with REFRAFT_EBADMSG. */
static void test_malformed_snapshot_messages_change_nothing(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    refraft_term t = refraft_current_term(fx_raft(fx, 2));
    refraft_snapshot_ref refs[3];
    memset(refs, 0, sizeof refs);
    refs[0].index = 3;
    refs[0].ref = fx_ref("a");
    refs[1].index = 5;
    refs[1].ref = fx_ref("b");
    refs[2].index = 5;
    refs[2].ref = fx_ref("c");
    const refraft_member twice[] = {{"n1", "", true}, {"n1", "", true}};
    refraft_msg bad[14];
    size_t n = 0;
    bad[n++] = install_msg(t, 0, 0, NULL, 0); /* no last entry */
    bad[n] = install_msg(t, 9, 0, NULL, 0);
    bad[n++].u.install_snapshot.meta.last_term = 0;
    bad[n] = install_msg(t, 9, 0, NULL, 0);
    bad[n++].u.install_snapshot.meta.last_term = t + 1;
    bad[n] = install_msg(t, 9, 0, NULL, 0);
    bad[n++].u.install_snapshot.meta.config_index = 10;
    bad[n] = install_msg(t, 9, 0, NULL, 0);
    bad[n++].u.install_snapshot.meta.config_index = 4; /* no members */
    bad[n] = install_msg(t, 9, 0, NULL, 0);
    bad[n].u.install_snapshot.meta.members = twice;
    bad[n++].u.install_snapshot.meta.n_members = 2;
    bad[n++] = install_msg(t, 9, 10, NULL, 0); /* after past it */
    bad[n++] = install_msg(t, 9, 0, refs, 3);  /* 5 twice */
    bad[n++] = install_msg(t, 4, 0, refs, 2);  /* 5 past last */
    bad[n++] = install_msg(t, 9, 3, refs, 2);  /* 3 not after 3 */
    bad[n++] = install_msg(t, 9, 0, NULL, 2);  /* no array */
    bad[n++] = install_msg(t, 9, 0, refs,      /* too many */
                           (size_t)REFRAFT_MAX_ENTRIES_PER_MSG + 1);
    refraft_snapshot_ref empty = refs[0];
    empty.ref.id_len = 0;
    bad[n++] = install_msg(t, 9, 0, &empty, 1); /* an empty record id */
    for (size_t k = 0; k < n; k++) {
        fx_state before;
        fx_state_get(fx, 2, &before);
        assert_int_equal(fx_inject(fx, 2, &bad[k]), REFRAFT_EBADMSG);
        fx_assert_state_unchanged(fx, 2, &before);
        assert_int_equal(fx_node_at(fx, 2)->n_snapshot_writes, 0);
    }
    /* Results, at the leader. */
    refraft_msg res[3];
    for (size_t k = 0; k < 3; k++) {
        memset(&res[k], 0, sizeof res[k]);
        res[k].type = REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT;
        res[k].u.install_snapshot_result.term = t;
        res[k].u.install_snapshot_result.follower_id = "n2";
        res[k].u.install_snapshot_result.last_index = 9;
    }
    res[0].u.install_snapshot_result.last_index = 0;
    res[1].u.install_snapshot_result.after = 10;
    res[2].u.install_snapshot_result.installed = true;
    res[2].u.install_snapshot_result.after = 8;
    for (size_t k = 0; k < 3; k++) {
        fx_state before;
        fx_state_get(fx, 1, &before);
        assert_int_equal(fx_inject(fx, 1, &res[k]), REFRAFT_EBADMSG);
        fx_assert_state_unchanged(fx, 1, &before);
    }
}

/* Figure 13 "Reply immediately if term < currentTerm": a stale chunk is
 * answered with our term and not written. */
static void test_stale_snapshot_is_answered_with_our_term(void **state)
{
    (void)state;
    fixture *fx = fx_new(3);
    fx_start(fx);
    fx_elect(fx, 1);
    fx_elect(fx, 2);
    refraft_term t = refraft_current_term(fx_raft(fx, 3));
    refraft_msg m = install_msg(t - 1, 9, 0, NULL, 0);
    m.u.install_snapshot.done = true;
    fx_capture cap = {0};
    assert_int_equal(
        refraft_on_message(fx_raft(fx, 3), &m, fx_capture_reply, &cap),
        REFRAFT_ESTALE);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.last.msg.type, REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT);
    assert_int_equal(cap.last.msg.u.install_snapshot_result.term, t);
    assert_false(cap.last.msg.u.install_snapshot_result.installed);
    assert_int_equal(fx_node_at(fx, 3)->n_snapshot_writes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_automatic_compaction_bounds_the_log),
        TEST(test_refraft_compact_compacts_up_to_the_applied_index),
        TEST(test_compaction_needs_the_snapshot_hooks),
        TEST(test_compact_bytes_alone_bounds_the_log),
        TEST(test_no_compaction_below_compact_bytes),
        TEST(test_compact_bytes_does_not_thrash),
        TEST(test_compact_bytes_keeps_a_message_by_default),
        TEST(test_compact_bytes_validation),
        TEST(test_lagging_follower_gets_a_multi_chunk_snapshot),
        TEST(test_lost_duplicated_and_late_chunks),
        TEST(test_compaction_mid_send_continues_from_the_cursor),
        TEST(test_records_behind_hold_back_a_transfer),
        TEST(test_compact_keep_must_be_below_compact_entries),
        TEST(test_follower_holding_the_last_entry_keeps_its_tail),
        TEST(test_leader_change_mid_transfer),
        TEST(test_learner_added_after_compaction_is_promoted),
        TEST(test_snapshot_meta_configuration_is_honoured),
        TEST(test_restart_from_a_compacted_log),
        TEST(test_malformed_snapshot_messages_change_nothing),
        TEST(test_stale_snapshot_is_answered_with_our_term),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
