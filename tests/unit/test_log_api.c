/* test_log_api.c - the log API conformance suite and fault tests on memlog. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "log_conformance.h"
#include "refraft/memlog.h"

/* ------------------------------------------------------------------------
 * memlog as a conformance backend
 * ------------------------------------------------------------------------ */

static int memlog_open(void *ctx, refraft_log_api *api, void **handle)
{
    (void)ctx;
    refraft_memlog *log = NULL;
    int rv = refraft_memlog_create(&log);
    if (rv != 0)
        return rv;
    refraft_memlog_api(log, api);
    *handle = log;
    return 0;
}

/* The memlog is the "disk": a restart only rebuilds the API over it. */
static int memlog_reopen(void *handle, refraft_log_api *api)
{
    refraft_memlog_api(handle, api);
    return 0;
}

static void memlog_close(void *handle)
{
    refraft_memlog_destroy(handle);
}

static const log_backend memlog_backend = {"memlog", NULL, memlog_open,
                                           memlog_reopen, memlog_close};

/* ------------------------------------------------------------------------
 * A failing allocator: the k-th allocation from now on returns NULL.  It
 * also counts the allocations made and the blocks not yet freed.
 * ------------------------------------------------------------------------ */

struct fault {
    unsigned countdown; /* allocations left before the failing one; 0: off */
    unsigned failed;    /* allocations refused so far */
    unsigned long made; /* malloc and realloc calls that succeeded */
    long live;          /* blocks allocated minus blocks freed */
};

static struct fault fault;

/* True when this allocation is the one that must fail. */
static int fault_hit(void)
{
    if (fault.countdown == 0 || --fault.countdown > 0)
        return 0;
    fault.failed++;
    return 1;
}

static void *fault_malloc(void *ctx, size_t size)
{
    (void)ctx;
    void *p = fault_hit() ? NULL : malloc(size);
    if (p != NULL) {
        fault.made++;
        fault.live++;
    }
    return p;
}

static void *fault_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    void *p = fault_hit() ? NULL : realloc(ptr, size);
    if (p != NULL)
        fault.made++;
    if (p != NULL && ptr == NULL)
        fault.live++;
    return p;
}

static void fault_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr != NULL)
        fault.live--;
    free(ptr);
}

/* From now on, fail the k-th allocation the library makes (k >= 1). */
static void fail_allocation(unsigned k)
{
    static const refraft_allocator alloc = {NULL, fault_malloc, fault_realloc,
                                            fault_free};
    fault.countdown = k;
    refraft_set_allocator(&alloc);
}

static void allocate_normally(void)
{
    fault.countdown = 0;
    refraft_set_allocator(NULL);
}

/* From now on, count the allocations the library makes (fault.made) and
 * the blocks it holds (fault.live), failing none.  Only blocks allocated
 * from here on are counted, so a test that uses it creates its own memlog
 * afterwards. */
static void count_allocations(void)
{
    fail_allocation(0);
    fault.made = 0;
    fault.live = 0;
}

/* ------------------------------------------------------------------------
 * Fixture for the memlog-specific tests
 * ------------------------------------------------------------------------ */

struct fixture {
    refraft_memlog *log;
    refraft_log_api api;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || refraft_memlog_create(&f->log) != 0) {
        free(f);
        return -1;
    }
    refraft_memlog_api(f->log, &f->api);
    fault.failed = 0;
    *state = f;
    return 0;
}

/* A failed assertion can leave the failing allocator installed; the next
 * test must not inherit it. */
static int restore_allocator(void **state)
{
    (void)state;
    allocate_normally();
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    restore_allocator(state);
    refraft_memlog_destroy(f->log);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------
 * refraft_memlog_fail_writes
 * ------------------------------------------------------------------------ */

/* "every call that would change the log or the hard state fails with code
 * and changes nothing" */
static void fail_writes_fails_every_write_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch b = log_batch_make(5, 1, 1);
    assert_int_equal(api->append(api->ctx, b.e, 3), 0);
    assert_int_equal(api->save_hard_state(api->ctx, 1, "node-a"), 0);
    log_snapshot *snap = log_snapshot_take(api);

    refraft_memlog_fail_writes(f->log, REFRAFT_EIO);
    assert_int_equal(api->append(api->ctx, b.e + 3, 2), REFRAFT_EIO);
    assert_int_equal(api->truncate(api->ctx, 2), REFRAFT_EIO);
    assert_int_equal(api->save_hard_state(api->ctx, 2, "node-b"), REFRAFT_EIO);
    refraft_memlog_fail_writes(f->log, REFRAFT_ENOSPC);
    assert_int_equal(api->append(api->ctx, b.e + 3, 2), REFRAFT_ENOSPC);
    log_assert_snapshot(api, snap);

    log_snapshot_free(snap);
    log_batch_free(&b);
}

/* Reads keep working while writes fail, so a node can still answer. */
static void fail_writes_leaves_reads_working(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch b = log_batch_make(4, 1, 2);
    assert_int_equal(api->append(api->ctx, b.e, b.n), 0);
    refraft_memlog_fail_writes(f->log, REFRAFT_EIO);
    log_assert_entries(api, 1, b.e, b.n);
    refraft_term term = 0;
    char vote[REFRAFT_ID_MAX + 1];
    assert_int_equal(api->load_hard_state(api->ctx, &term, vote), 0);
    log_batch_free(&b);
}

/* "... until called again with code 0" */
static void writes_succeed_again_after_fail_writes_0(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch b = log_batch_make(5, 1, 1);
    refraft_memlog_fail_writes(f->log, REFRAFT_EIO);
    assert_int_equal(api->append(api->ctx, b.e, b.n), REFRAFT_EIO);
    refraft_memlog_fail_writes(f->log, 0);
    assert_int_equal(api->append(api->ctx, b.e, b.n), 0);
    assert_int_equal(api->truncate(api->ctx, 4), 0);
    assert_int_equal(api->save_hard_state(api->ctx, 7, "node-z"), 0);
    assert_int_equal(api->last_index(api->ctx), 3);
    log_assert_entries(api, 1, b.e, 3);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Allocation failure
 * ------------------------------------------------------------------------ */

/*
 * Fail the 1st, 2nd, ... allocation of one append until the append gets
 * through, checking that each failure is a clean REFRAFT_ENOMEM that left
 * the log as it was.  Returns how many attempts failed.
 */
static unsigned
append_under_allocation_faults(const refraft_log_api *api, const log_batch *b)
{
    unsigned k;
    for (k = 1;; k++) {
        log_snapshot *snap = log_snapshot_take(api);
        fail_allocation(k);
        int rv = api->append(api->ctx, b->e, b->n);
        allocate_normally();
        if (rv == 0) {
            log_snapshot_free(snap);
            break;
        }
        assert_int_equal(rv, REFRAFT_ENOMEM);
        log_assert_snapshot(api, snap);
        log_snapshot_free(snap);
    }
    return k - 1;
}

/* The first append allocates both the entry array and the id arena. */
static void append_to_empty_log_is_all_or_nothing_under_enomem(void **state)
{
    struct fixture *f = *state;
    log_batch b = log_batch_make(3, 1, 1);
    assert_true(append_under_allocation_faults(&f->api, &b) >= 2);
    assert_int_equal(f->api.last_index(f->api.ctx), 3);
    log_assert_entries(&f->api, 1, b.e, b.n);
    log_batch_free(&b);
}

/*
 * A batch that outgrows the space of a non-empty log must allocate: a
 * small one (usually) more room for its ids, a big one (10,000 entries,
 * several chunks unless memlog.c is built with very large ones) new
 * chunks as well.  Failing any of those allocations leaves the entries
 * already there intact.
 */
static void
append_that_grows_the_log_is_all_or_nothing_under_enomem(void **state)
{
    struct fixture *f = *state;
    log_batch a = log_batch_make(5, 1, 1);
    log_batch b = log_batch_make(200, 100, 2);
    log_batch c = log_batch_make(10000, 1000, 2);
    assert_int_equal(f->api.append(f->api.ctx, a.e, a.n), 0);
    append_under_allocation_faults(&f->api, &b);
    assert_true(append_under_allocation_faults(&f->api, &c) >= 1);
    assert_int_equal(f->api.last_index(f->api.ctx), 10205);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 6, b.e, b.n);
    log_assert_entries(&f->api, 206, c.e, c.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/*
 * The same when the log ends exactly where a chunk does (4096 entries is
 * a whole number of chunks of any power-of-two size up to 4096), so the
 * batch goes into new chunks only, and then when it starts inside one.
 */
static void
append_at_a_chunk_boundary_is_all_or_nothing_under_enomem(void **state)
{
    struct fixture *f = *state;
    log_batch a = log_batch_make(4096, 1, 1);
    log_batch b = log_batch_make(3000, 5000, 1);
    log_batch c = log_batch_make(5000, 9000, 2);
    assert_int_equal(f->api.append(f->api.ctx, a.e, a.n), 0);
    assert_true(append_under_allocation_faults(&f->api, &b) >= 1);
    assert_true(append_under_allocation_faults(&f->api, &c) >= 1);
    assert_int_equal(f->api.last_index(f->api.ctx), 12096);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 4097, b.e, b.n);
    log_assert_entries(&f->api, 7097, c.e, c.n);
    log_batch_free(&a);
    log_batch_free(&b);
    log_batch_free(&c);
}

/*
 * The memlog promises more than the log API does: an append that fails
 * for lack of memory changed nothing, so ids read before it stay where
 * they were (ASan and valgrind see a read of a moved arena).
 */
static void ids_read_before_a_failed_append_stay_valid(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch a = log_batch_make(100, 1, 1);
    log_batch b = log_batch_make(10000, 500, 1);
    assert_int_equal(api->append(api->ctx, a.e, a.n), 0);
    refraft_entry out[100];
    size_t n = 0;
    assert_int_equal(api->get(api->ctx, 1, 100, out, &n), 0);
    assert_int_equal(n, 100);
    for (unsigned k = 1;; k++) {
        fail_allocation(k);
        int rv = api->append(api->ctx, b.e, b.n);
        allocate_normally();
        if (rv == 0)
            break;
        assert_int_equal(rv, REFRAFT_ENOMEM);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(out[i].ref.id_len, a.e[i].ref.id_len);
            assert_memory_equal(out[i].ref.id, a.e[i].ref.id,
                                a.e[i].ref.id_len);
        }
    }
    log_assert_entries(api, 1, a.e, a.n);
    log_assert_entries(api, 101, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
}

/* ------------------------------------------------------------------------
 * Chunks
 * ------------------------------------------------------------------------ */

/*
 * Cut and refill the log at and around every power of two up to 8192, so
 * that whatever (power-of-two) number of entries a chunk holds, the cut
 * falls on a chunk's first and last entry, just after a chunk, and on the
 * first entry of the log.  What stays must read back untouched and what
 * comes after must not see the removed entries' ids.
 */
static void truncate_and_reappend_around_chunk_boundaries(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch a = log_batch_make(10000, 1, 1);
    log_batch c = log_batch_make(3000, 77777, 1);
    c.e[0].type = REFRAFT_ENTRY_NOOP;
    c.e[0].ref.id_len = 0;
    c.e[0].ref.id = NULL;
    /* A VOID, which has no id either, wherever c lands. */
    memset(&c.e[1].ref, 0, sizeof(c.e[1].ref));
    c.e[1].type = REFRAFT_ENTRY_VOID;
    c.e[1].voided = 1;
    assert_int_equal(api->append(api->ctx, a.e, a.n), 0);
    for (size_t k = 0; k <= 13; k++) {
        size_t p = (size_t)1 << k;
        size_t cuts[] = {p - 1, p, p + 1, p + 2};
        for (size_t j = 0; j < sizeof(cuts) / sizeof(cuts[0]); j++) {
            size_t from = cuts[j];
            if (from == 0)
                continue;
            assert_int_equal(api->truncate(api->ctx, from), 0);
            assert_int_equal(api->last_index(api->ctx), from - 1);
            assert_int_equal(api->append(api->ctx, c.e, c.n), 0);
            assert_int_equal(api->last_index(api->ctx), from - 1 + c.n);
            log_assert_entries(api, 1, a.e, from - 1);
            log_assert_entries(api, from, c.e, c.n);
            /* Put a's entries back for the next cut. */
            assert_int_equal(api->truncate(api->ctx, from), 0);
            assert_int_equal(
                api->append(api->ctx, a.e + from - 1, a.n - (from - 1)), 0);
        }
    }
    log_assert_entries(api, 1, a.e, a.n);
    log_batch_free(&a);
    log_batch_free(&c);
}

/* A follower fed one entry at a time fills chunk after chunk, mixing
 * NOOPs and VOIDs in; its ids' space grows many times along the way. */
static void many_single_entry_appends_read_back(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch a = log_batch_make(9000, 3, 1);
    for (size_t i = 0; i < a.n; i += 97) {
        a.e[i].type = REFRAFT_ENTRY_NOOP;
        a.e[i].ref.id = NULL;
        a.e[i].ref.id_len = 0;
    }
    /* VOID(i) at index i + 1 (position i), naming the entry just before. */
    for (size_t i = 50; i < a.n; i += 89) {
        memset(&a.e[i].ref, 0, sizeof(a.e[i].ref));
        a.e[i].type = REFRAFT_ENTRY_VOID;
        a.e[i].voided = i;
    }
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(api->append(api->ctx, &a.e[i], 1), 0);
    assert_int_equal(api->last_index(api->ctx), a.n);
    log_assert_entries(api, 1, a.e, a.n);
    log_batch_free(&a);
}

/* Truncate frees whole chunks past the cut: a log cut back to one entry
 * holds a few blocks however long it was, and destroy frees the rest. */
static void truncate_frees_the_chunks_past_the_cut(void **state)
{
    (void)state;
    log_batch a = log_batch_make(20000, 1, 1);
    count_allocations();
    refraft_memlog *log = NULL;
    assert_int_equal(refraft_memlog_create(&log), 0);
    refraft_log_api api;
    refraft_memlog_api(log, &api);
    assert_int_equal(api.append(api.ctx, a.e, a.n), 0);
    long full = fault.live;
    assert_int_equal(api.truncate(api.ctx, 2), 0);
    /* The log itself, its chunk table, one chunk and that chunk's ids. */
    assert_true(fault.live <= 4);
    assert_true(fault.live <= full);
    assert_int_equal(api.truncate(api.ctx, 1), 0);
    assert_true(fault.live <= 2);
    assert_int_equal(api.append(api.ctx, a.e, a.n), 0);
    assert_int_equal(fault.live, full);
    log_assert_entries(&api, 1, a.e, a.n);
    refraft_memlog_destroy(log);
    assert_int_equal(fault.live, 0);
    allocate_normally();
    log_batch_free(&a);
}

/* Truncate gives back the id space of the entries it removes, so a log
 * that keeps replacing its last entry settles and stops allocating. */
static void
replacing_the_last_entry_over_and_over_stops_allocating(void **state)
{
    (void)state;
    log_batch a = log_batch_make(2, 254, 1); /* ids of 255 and 1 bytes */
    count_allocations();
    refraft_memlog *log = NULL;
    assert_int_equal(refraft_memlog_create(&log), 0);
    refraft_log_api api;
    refraft_memlog_api(log, &api);
    assert_int_equal(api.append(api.ctx, a.e, 2), 0);
    /* Once the longer id has been last, there is room for either. */
    assert_int_equal(api.truncate(api.ctx, 2), 0);
    assert_int_equal(api.append(api.ctx, &a.e[0], 1), 0);
    unsigned long made = fault.made;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(api.truncate(api.ctx, 2), 0);
        assert_int_equal(api.append(api.ctx, &a.e[i % 2], 1), 0);
    }
    assert_int_equal(fault.made, made);
    log_assert_entries(&api, 1, a.e, 2);
    refraft_memlog_destroy(log);
    allocate_normally();
    log_batch_free(&a);
}

/* Truncation and hard state need no memory, so they cannot hit ENOMEM. */
static void truncate_and_hard_state_do_not_allocate(void **state)
{
    struct fixture *f = *state;
    refraft_log_api *api = &f->api;
    log_batch b = log_batch_make(5, 1, 1);
    assert_int_equal(api->append(api->ctx, b.e, b.n), 0);
    fail_allocation(1);
    assert_int_equal(api->truncate(api->ctx, 3), 0);
    assert_int_equal(api->save_hard_state(api->ctx, 4, "node-a"), 0);
    allocate_normally();
    assert_int_equal(fault.failed, 0);
    log_batch_free(&b);
}

/* "REFRAFT_ENOMEM with *out untouched" */
static void memlog_create_under_enomem_leaves_out_untouched(void **state)
{
    (void)state;
    /* Any address that refraft_memlog_create cannot return will do. */
    static char canary;
    refraft_memlog *sentinel = (refraft_memlog *)(void *)&canary;
    unsigned k;
    for (k = 1;; k++) {
        refraft_memlog *log = sentinel;
        fail_allocation(k);
        int rv = refraft_memlog_create(&log);
        allocate_normally();
        if (rv == 0) {
            assert_true(log != sentinel);
            refraft_memlog_destroy(log);
            break;
        }
        assert_int_equal(rv, REFRAFT_ENOMEM);
        assert_ptr_equal(log, sentinel);
    }
    assert_true(k > 1);
}

/* "Returns 0, or REFRAFT_EINVAL (out is NULL)" */
static void memlog_create_with_null_out_is_einval(void **state)
{
    (void)state;
    assert_int_equal(refraft_memlog_create(NULL), REFRAFT_EINVAL);
}

/* "NULL is allowed." */
static void memlog_destroy_accepts_null(void **state)
{
    (void)state;
    refraft_memlog_destroy(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest memlog_tests[] = {
        T(fail_writes_fails_every_write_and_changes_nothing),
        T(fail_writes_leaves_reads_working),
        T(writes_succeed_again_after_fail_writes_0),
        T(append_to_empty_log_is_all_or_nothing_under_enomem),
        T(append_that_grows_the_log_is_all_or_nothing_under_enomem),
        T(append_at_a_chunk_boundary_is_all_or_nothing_under_enomem),
        T(ids_read_before_a_failed_append_stay_valid),
        T(truncate_and_reappend_around_chunk_boundaries),
        T(many_single_entry_appends_read_back),
        T(truncate_frees_the_chunks_past_the_cut),
        T(replacing_the_last_entry_over_and_over_stops_allocating),
        T(truncate_and_hard_state_do_not_allocate),
        cmocka_unit_test_teardown(
            memlog_create_under_enomem_leaves_out_untouched, restore_allocator),
        cmocka_unit_test(memlog_create_with_null_out_is_einval),
        cmocka_unit_test(memlog_destroy_accepts_null),
    };
    int failed = log_conformance_run(&memlog_backend);
    failed += cmocka_run_group_tests_name("memlog", memlog_tests, NULL, NULL);
    return failed;
}
