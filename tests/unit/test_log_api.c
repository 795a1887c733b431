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
 * A failing allocator: the k-th allocation from now on returns NULL
 * ------------------------------------------------------------------------ */

struct fault {
    unsigned countdown; /* allocations left before the failing one; 0: off */
    unsigned failed;    /* allocations refused so far */
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
    return fault_hit() ? NULL : malloc(size);
}

static void *fault_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return fault_hit() ? NULL : realloc(ptr, size);
}

static void fault_free(void *ctx, void *ptr)
{
    (void)ctx;
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

/* A batch that outgrows both arrays of a non-empty log must grow them
 * both; failing either leaves the entries already there intact. */
static void
append_that_grows_the_log_is_all_or_nothing_under_enomem(void **state)
{
    struct fixture *f = *state;
    log_batch a = log_batch_make(5, 1, 1);
    log_batch b = log_batch_make(200, 100, 2);
    assert_int_equal(f->api.append(f->api.ctx, a.e, a.n), 0);
    assert_true(append_under_allocation_faults(&f->api, &b) >= 2);
    assert_int_equal(f->api.last_index(f->api.ctx), 205);
    log_assert_entries(&f->api, 1, a.e, a.n);
    log_assert_entries(&f->api, 6, b.e, b.n);
    log_batch_free(&a);
    log_batch_free(&b);
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
