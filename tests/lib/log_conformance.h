/* log_conformance.h - one test suite that every log API backend must pass. */
#ifndef REFRAFT_TESTS_LOG_CONFORMANCE_H
#define REFRAFT_TESTS_LOG_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include "refraft/refraft.h"

/*
 * A log backend under test.  The suite calls open before each test and
 * close after it, so every test starts from an empty log and none sees
 * another's data.
 */
typedef struct log_backend {
    /* Shown in the group name, e.g. "memlog" gives "log_conformance/memlog". */
    const char *name;
    /* Handed to open unchanged (a directory template, settings...). */
    void *ctx;
    /*
     * Create a new, empty log (first index 1, last index 0, term 0, no
     * vote), fill *api with the log API over it and set *handle to what
     * reopen and close need.  Returns 0 or a refraft error code.
     */
    int (*open)(void *ctx, refraft_log_api *api, void **handle);
    /*
     * Simulate a process restart: drop every in-memory structure, open the
     * same storage again and refill *api (its ctx may change).  Everything
     * a successful append, truncate or save_hard_state wrote must be there
     * afterwards.  A backend without a process to restart (memlog) only
     * refills *api.  Returns 0 or a refraft error code.
     */
    int (*reopen)(void *handle, refraft_log_api *api);
    /* Release the log and delete its storage. */
    void (*close)(void *handle);
} log_backend;

/*
 * Run the whole suite against backend as one cmocka group named
 * "log_conformance/<name>".  Returns the number of failed tests, like
 * cmocka_run_group_tests(), so main() can return it.
 */
int log_conformance_run(const log_backend *backend);

/*
 * Helpers for backend-specific tests.  They check with cmocka assertions,
 * so call them only from inside a running cmocka test.
 */

/*
 * n REF entries of one term whose contents (an id of 1..255 bytes, size,
 * digest) are a function of key + i alone, so two batches made with the
 * same key hold equal entries.  The entries point into ids, which the
 * batch owns; free both with log_batch_free().
 */
typedef struct log_batch {
    refraft_entry *e;
    uint8_t *ids;
    size_t n;
} log_batch;

log_batch log_batch_make(size_t n, uint64_t key, refraft_term term);
void log_batch_free(log_batch *b);

/* Assert that the log holds expected[0..n) at indexes from..from+n-1, read
 * through get (in one call and in small pieces) and term_at. */
void log_assert_entries(const refraft_log_api *api, refraft_index from,
                        const refraft_entry *expected, size_t n);

/* A deep copy of a log's whole content and hard state, to check that a
 * failed call changed nothing.  Allocated with malloc, not through
 * refraft_set_allocator(), so a test may fail the library's allocations
 * while it holds one. */
typedef struct log_snapshot log_snapshot;

log_snapshot *log_snapshot_take(const refraft_log_api *api);
/* Assert that the log now holds exactly what snap recorded. */
void log_assert_snapshot(const refraft_log_api *api, const log_snapshot *snap);
void log_snapshot_free(log_snapshot *snap);

#endif /* REFRAFT_TESTS_LOG_CONFORMANCE_H */
