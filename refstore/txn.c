/* txn.c - the store's transactions: the open write transaction, a nested
 * child per operation, commit and sync, failure, and map growth. */
#include <stdio.h>

#include "store.h"

/*
 * How writes reach the disk.
 *
 * The store keeps at most one top-level write transaction, top, open
 * between calls.  Applies go into run, a child of top, and commit into
 * top, not to disk, so a batch of applies costs no sync.  A durable write
 * (log append and truncate, hard state, records, map, refstore_write)
 * runs in a child of its own and then commits top, pending applies
 * included: one commit and one sync however many entries or applies it
 * carries.  Any other operation that fails aborts its child alone; the
 * pending applies stay.
 *
 * The apply run.  Consecutive applies share one child, run, which every
 * other operation first commits into top (end_run).  A child of its own
 * for each apply was most of its cost: LMDB copies into a child each
 * page it touches that is dirty in the parent (the meta database's, for
 * the applied index, every time), and merges the child's dirty pages into
 * the parent at its commit.  An apply that fails leaves its partial writes
 * in run, so the whole run is aborted: the applies before it in the run
 * are lost with it, and the store runs the apply hook again for each of
 * them (replay, below) before it returns the failure.
 *
 * refstore_propose adds a level: its records go into propose, a child of
 * top, and the log append that refraft_propose() makes runs in a child of
 * propose, so that one commit takes records and references to disk
 * together.
 *
 * A full map cannot grow while a transaction is open (LMDB's rule for
 * mdb_env_set_mapsize).  So the child that ran out is aborted, the pending
 * applies are committed (each apply's writes and its applied index are in
 * one child, so they stay together), a propose transaction is given up
 * (refstore_propose starts over), the map doubles up to map_size_max, and
 * the operation runs again.
 *
 * The commit of top itself can run out of map (LMDB allocates pages for
 * its free list then), and it takes the pending applies with it although
 * the node counts them as applied.  Their entries are still in the log,
 * which is never truncated at or below the applied index, nor compacted
 * past the committed one (a compaction commits the applies of the entries
 * it drops, snapshot.c), so once the map has grown the store runs the
 * apply hook for each of them again (replay).
 * If that is impossible (the map is at its maximum, the hook now fails),
 * or the commit failed otherwise (an I/O error), the store is failed and
 * refuses every later call: reopening it and recreating the node applies
 * them again.
 */

static bool has_pending(const refstore *store)
{
    return store->applied_pending != store->applied;
}

static bool must_replay(const refstore *store)
{
    return store->replay_to > store->applied_pending;
}

static int ensure_top(refstore *store)
{
    if (store->top != NULL)
        return 0;
    MDB_txn *top;
    int rc = mdb_txn_begin(store->env, NULL, 0, &top);
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a write transaction");
    store->top = top;
    return 0;
}

static int replay(refstore *store, bool soft);
static int
fail_store(refstore *store, refraft_index lost_to, const char *cause);

/* The applies of the run are gone (LMDB aborted it): replay() runs them
 * again. */
static void run_lost(refstore *store)
{
    store->run = NULL;
    if (store->applied_pending == store->run_from)
        return;
    if (store->replay_to < store->applied_pending)
        store->replay_to = store->applied_pending;
    store->applied_pending = store->run_from;
}

/* Commit the apply run into top, which no other operation may use while
 * it is open (LMDB gives a transaction one child at a time).  When memory
 * runs out here, the run's applies run again; when top itself is marked
 * failed (MDB_BAD_TXN), nothing more can commit and the store fails. */
static int end_run(refstore *store)
{
    if (store->run == NULL)
        return 0;
    int rc = mdb_txn_commit(store->run);
    if (rc == 0) {
        store->run = NULL;
        return 0;
    }
    run_lost(store);
    store_mdb_error(store, rc, "committing the applies of a run");
    if (rc == MDB_BAD_TXN)
        return fail_store(store, store->replay_to, store->errmsg);
    store->errmsg[0] = '\0';
    return replay(store, true);
}

/* top, opened if need be, with no run open. */
static int open_top(refstore *store)
{
    int rv = end_run(store);
    return rv != 0 ? rv : ensure_top(store);
}

static int begin_run(refstore *store)
{
    if (store->run != NULL)
        return 0;
    int rv = ensure_top(store);
    if (rv != 0)
        return rv;
    MDB_txn *run;
    int rc = mdb_txn_begin(store->env, store->top, 0, &run);
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a nested transaction");
    store->run = run;
    store->run_from = store->applied_pending;
    return 0;
}

/* Refuse every later call; the applies after the committed applied index
 * up to lost_to are gone.  cause may be store->errmsg. */
static int fail_store(refstore *store, refraft_index lost_to, const char *cause)
{
    char why[REFRAFT_ERRMSG_LEN];
    snprintf(why, sizeof(why), "%s", cause);
    store->failed = true;
    if (lost_to > store->applied)
        store_errorf(store, REFRAFT_EIO,
                     "store %s has failed: %s; the applies of indexes "
                     "%llu..%llu were lost with their applied index: close "
                     "the store, reopen it and recreate the node, which "
                     "applies them again",
                     store->path, why, (unsigned long long)store->applied + 1,
                     (unsigned long long)lost_to);
    else
        store_errorf(store, REFRAFT_EIO,
                     "store %s has failed: %s; close it and reopen it",
                     store->path, why);
    store->applied_pending = store->replay_to = store->applied;
    return REFRAFT_EIO;
}

static int commit_top(refstore *store)
{
    int rv = end_run(store);
    if (rv != 0)
        return rv;
    MDB_txn *top = store->top;
    store->top = NULL;
    int rc = mdb_txn_commit(top);
    if (rc == 0) {
        store->applied = store->applied_pending;
        store->commits++;
        apply_forget_committed(store);
        return 0;
    }
    if (has_pending(store) && rc != MDB_MAP_FULL)
        return fail_store(store, store->applied_pending, mdb_strerror(rc));
    if (has_pending(store)) {
        /* Lost with top; grow() replays them. */
        if (store->replay_to < store->applied_pending)
            store->replay_to = store->applied_pending;
        store->applied_pending = store->applied;
    }
    return store_mdb_error(store, rc, "committing");
}

/* Close top: commit its pending applies, or drop it when it has none
 * (then it holds nothing: every other write commits at once). */
static int end_top(refstore *store)
{
    if (store->top == NULL)
        return 0;
    if (has_pending(store))
        return commit_top(store);
    mdb_txn_abort(store->top);
    store->top = NULL;
    return 0;
}

static int grow(refstore *store);

/*
 * Run the apply hook again for lost applies (a failed commit's, or a
 * failed run's), in index order, each in a child of top.  Growth on the
 * way may lose some of them again; the loop starts over from the applied
 * index then.  When the hook fails, a soft replay (of a run's applies)
 * leaves the rest to the next txn_replay() and returns the error, with
 * the store still usable: the node counts them applied, so the store
 * makes them before any later apply, and until then commits the applied
 * index below them (as after a crash).  Otherwise, or when the map is
 * full at its maximum, the store fails.
 */
static int replay(refstore *store, bool soft)
{
    if (store->replaying)
        return 0;
    store->replaying = true;
    int rv = 0;
    while (rv == 0 && must_replay(store)) {
        store->map_full = false;
        refraft_index index = store->applied_pending + 1;
        rv = ensure_top(store);
        if (rv == 0)
            rv = apply_again(store, index);
        if (rv != 0 && store->map_full && !store->failed) {
            rv = grow(store);
        } else if (rv != 0 && !store->failed) {
            char cause[REFRAFT_ERRMSG_LEN];
            snprintf(cause, sizeof(cause), "%s", store->errmsg);
            store_errorf(store, rv, "applying index %llu again: %s",
                         (unsigned long long)index, cause);
        }
    }
    store->replaying = false;
    if (rv != 0 && !store->failed && !soft)
        return fail_store(store, store->replay_to, store->errmsg);
    return rv;
}

/* The map is full and the operation's child was aborted.  Returns 0 when
 * the map grew, REFRAFT_ENOSPC at map_size_max (then nothing changed:
 * pending applies and propose stay), or the error that failed the store. */
static int grow(refstore *store)
{
    if (store->map_size >= store->map_size_max) {
        store_errorf(store, REFRAFT_ENOSPC,
                     "store %s is full at %zu bytes (map_size_max)",
                     store->path, store->map_size);
        if (must_replay(store))
            return fail_store(store, store->replay_to, store->errmsg);
        return REFRAFT_ENOSPC;
    }
    if (store->propose != NULL) {
        mdb_txn_abort(store->propose);
        store->propose = NULL;
        store->propose_lost = true;
    }
    int rv = end_top(store);
    if (store->failed)
        return rv;
    size_t next = store->map_size <= store->map_size_max / 2
                      ? store->map_size * 2
                      : store->map_size_max;
    int rc = mdb_env_set_mapsize(store->env, next);
    if (rc != 0) {
        /* The old map is gone and no new one took its place. */
        char cause[REFRAFT_ERRMSG_LEN];
        snprintf(cause, sizeof(cause), "growing the map to %zu bytes: %s", next,
                 mdb_strerror(rc));
        return fail_store(store, store->replay_to, cause);
    }
    store->map_size = next;
    store->map_grows++;
    store->errmsg[0] = '\0';
    return replay(store, false);
}

static int run_child(refstore *store, MDB_txn *parent, txn_fn fn, void *arg)
{
    MDB_txn *child;
    int rc = mdb_txn_begin(store->env, parent, 0, &child);
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a nested transaction");
    int rv = fn(store, child, arg);
    if (rv != 0) {
        mdb_txn_abort(child);
        return rv;
    }
    rc = mdb_txn_commit(child);
    if (rc != 0)
        return store_mdb_error(store, rc, "committing a nested transaction");
    return 0;
}

int txn_child(refstore *store, txn_fn fn, void *arg)
{
    int rv = open_top(store);
    return rv != 0 ? rv : run_child(store, store->top, fn, arg);
}

/* Fold the propose transaction (records, and now the append) into top. */
static int merge_propose(refstore *store)
{
    MDB_txn *propose = store->propose;
    store->propose = NULL;
    int rc = mdb_txn_commit(propose);
    if (rc != 0)
        return store_mdb_error(store, rc, "committing the proposed records");
    return 0;
}

/* Run fn in a child of the current transaction: propose's while a
 * propose is open, else top (opened if need be). */
static int run_in_current(refstore *store, txn_fn fn, void *arg)
{
    int rv = open_top(store);
    if (rv != 0)
        return rv;
    return run_child(
        store, store->propose != NULL ? store->propose : store->top, fn, arg);
}

/* Growing the map gave up the open propose: the whole propose must run
 * again (refstore_propose does). */
static int propose_lost(refstore *store)
{
    return store_errorf(store, REFRAFT_ENOSPC,
                        "store %s: the map grew to %zu bytes during a "
                        "propose, which must start over",
                        store->path, store->map_size);
}

/* A write that commits would take staged entries to disk behind the
 * node's back, and one that fails would lose them. */
static int refuse_if_staged(refstore *store)
{
    if (store->staged == 0)
        return 0;
    return store_errorf(store, REFRAFT_EINVAL,
                        "%zu log entries are staged and not synced: the "
                        "log's sync must come first",
                        store->staged);
}

/* A write that failed may have taken the running propose's or receive's
 * records with it: refstore_record_has looks them up from now on rather
 * than count them put (records.c). */
static int forget_put_on_failure(refstore *store, int rv)
{
    if (rv != 0)
        store->n_put_refs = 0;
    return rv;
}

static int durable(refstore *store, txn_fn fn, void *arg)
{
    int staged = refuse_if_staged(store);
    if (staged != 0)
        return staged;
    for (;;) {
        store->map_full = false;
        bool merged = false;
        int rv = run_in_current(store, fn, arg);
        if (rv == 0 && store->propose != NULL) {
            merged = true;
            rv = merge_propose(store);
        }
        if (rv == 0)
            rv = commit_top(store);
        if (rv == 0 || !store->map_full || store->failed)
            return rv;
        /* A commit that ran out of map took propose's records with it. */
        if (merged)
            store->propose_lost = true;
        rv = grow(store);
        if (rv != 0)
            return rv;
        /* Retrying here would commit references without their records. */
        if (store->propose_lost)
            return propose_lost(store);
    }
}

/* The run's applies before the failed one, which went with the run, run
 * again; fn's error and its message are what the caller gets, unless
 * the replay failed (then its own). */
static int replay_after_failure(refstore *store, int rv)
{
    char why[REFRAFT_ERRMSG_LEN];
    snprintf(why, sizeof(why), "%s", store->errmsg);
    store->errmsg[0] = '\0';
    int replayed = replay(store, true);
    if (replayed != 0)
        return replayed;
    store_errorf(store, rv, "%s", why);
    return rv;
}

int txn_replay(refstore *store)
{
    return must_replay(store) ? replay(store, true) : 0;
}

/* While the propose transaction is open, top has a child already and
 * LMDB refuses another (MDB_BAD_TXN): an apply cannot slip into a propose
 * that may still be rolled back.  refraft_propose() applies only after
 * its append, which commits the propose transaction. */
int txn_apply(refstore *store, txn_fn fn, void *arg)
{
    /* Growing the map for it would commit staged entries early. */
    int staged = refuse_if_staged(store);
    if (staged != 0)
        return staged;
    for (;;) {
        store->map_full = false;
        int rv = begin_run(store);
        if (rv == 0) {
            rv = fn(store, store->run, arg);
            if (rv == 0)
                return 0;
            mdb_txn_abort(store->run);
            run_lost(store);
        }
        if (store->failed)
            return rv;
        bool full = store->map_full;
        uint64_t grows = store->map_grows;
        rv = replay_after_failure(store, rv);
        if (!full || store->failed || must_replay(store))
            return rv;
        /* With the lost applies back in top: growing at map_size_max then
         * changes nothing, and the apply fails with REFRAFT_ENOSPC.  The
         * replay may have grown the map already. */
        if (store->map_grows == grows) {
            rv = grow(store);
            if (rv != 0)
                return rv;
        }
    }
}

int txn_read(refstore *store, txn_fn fn, void *arg)
{
    /* propose and run are never open together: both are children of top. */
    MDB_txn *txn = store->propose != NULL ? store->propose
                   : store->run != NULL   ? store->run
                                          : store->top;
    if (txn != NULL)
        return fn(store, txn, arg);
    int rc;
    if (store->reader == NULL) {
        MDB_txn *reader;
        rc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &reader);
        if (rc == 0)
            store->reader = reader;
    } else {
        rc = mdb_txn_renew(store->reader);
    }
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a read transaction");
    int rv = fn(store, store->reader, arg);
    /* Reset, not kept: a live snapshot would pin old pages and forbid
     * growing the map. */
    mdb_txn_reset(store->reader);
    return rv;
}

/* Commit the pending applies; a commit that runs out of map grows it (and
 * replays them) and commits again. */
static int flush(refstore *store)
{
    for (;;) {
        store->map_full = false;
        int rv = end_top(store);
        if (rv == 0 || !store->map_full || store->failed)
            return rv;
        rv = grow(store);
        if (rv != 0)
            return rv;
    }
}

/* Committing top would commit the open propose transaction with it (LMDB
 * commits a parent's open child), records without their references, and
 * leave store->propose dangling. */
int txn_flush(refstore *store)
{
    if (store->propose != NULL)
        return store_errorf(store, REFRAFT_EINVAL,
                            "flush called during a propose, before its "
                            "append");
    int rv = refuse_if_staged(store);
    return rv != 0 ? rv : flush(store);
}

int txn_stage(refstore *store, txn_fn fn, void *arg)
{
    for (;;) {
        store->map_full = false;
        int rv = run_in_current(store, fn, arg);
        if (rv == 0 || !store->map_full || store->failed)
            return rv;
        rv = grow(store);
        if (rv != 0)
            return rv;
        /* Retrying here would stage references without their records. */
        if (store->propose_lost)
            return propose_lost(store);
    }
}

/* The staged entries and the propose's records, written again into a
 * top that lost them. */
static int restage(refstore *store, MDB_txn *txn, void *arg)
{
    (void)arg;
    int rv = 0;
    if (store->records_put != NULL)
        rv = store->records_put(store, txn, store->records_arg);
    return rv != 0 ? rv : log_restage(store, txn);
}

int txn_durable(refstore *store, txn_fn fn, void *arg)
{
    return forget_put_on_failure(store, durable(store, fn, arg));
}

static int sync_staged(refstore *store)
{
    store->map_full = false;
    if (store->top == NULL)
        return store_errorf(store, REFRAFT_EIO,
                            "store %s: the staged entries were committed or "
                            "dropped before their sync",
                            store->path);
    int rv = 0;
    if (store->propose != NULL)
        rv = merge_propose(store);
    if (rv == 0)
        rv = commit_top(store);
    /* A commit that ran out of map took the staged entries (and the
     * propose's records) with it; the applies with them run again once
     * the map has grown (grow).  The node has sent the entries already,
     * so they are written again, the same at the same indexes, and
     * committed: a map that could grow is not a failed sync. */
    while (rv != 0 && store->map_full && !store->failed) {
        rv = grow(store);
        if (rv != 0)
            return rv;
        store->map_full = false;
        rv = ensure_top(store);
        if (rv == 0)
            rv = run_child(store, store->top, restage, NULL);
        if (rv == 0)
            rv = commit_top(store);
    }
    return rv;
}

int txn_sync(refstore *store)
{
    return forget_put_on_failure(store, sync_staged(store));
}

int txn_propose_begin(refstore *store, txn_fn fn, void *arg)
{
    for (;;) {
        store->map_full = false;
        int rv = open_top(store);
        MDB_txn *propose = NULL;
        if (rv == 0) {
            int rc = mdb_txn_begin(store->env, store->top, 0, &propose);
            if (rc != 0)
                rv = store_mdb_error(store, rc,
                                     "beginning a nested transaction");
        }
        if (rv == 0) {
            rv = fn(store, propose, arg);
            if (rv == 0) {
                store->propose = propose;
                return 0;
            }
            mdb_txn_abort(propose);
        }
        if (!store->map_full || store->failed)
            return rv;
        rv = grow(store);
        if (rv != 0)
            return rv;
    }
}

bool txn_propose_end(refstore *store)
{
    if (store->propose == NULL)
        return true;
    mdb_txn_abort(store->propose);
    store->propose = NULL;
    /* Entries staged into it and never synced went with it. */
    log_unstage(store);
    return false;
}

int txn_app_result(refstore *store, int rv, const char *what)
{
    /* An LMDB code passed through as LMDB returned it. */
    if (rv < 0)
        return store_mdb_error(store, rv, what);
    if (rv == REFRAFT_ENOSPC)
        store->map_full = true;
    if (rv != 0 && store->errmsg[0] == '\0')
        store_errorf(store, rv, "%s returned %d (%s)", what, rv,
                     refraft_strerror(rv));
    return rv;
}

int txn_call_app(refstore *store, MDB_txn *parent,
                 int (*fn)(void *arg, MDB_txn *txn), void *arg,
                 const char *what)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, parent, 0, &txn);
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a nested transaction");
    store->in_callback = true;
    int rv = fn(arg, txn);
    store->in_callback = false;
    rv = txn_app_result(store, rv, what);
    if (rv != 0) {
        mdb_txn_abort(txn);
        return rv;
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : store_mdb_error(store, rc, what);
}

void txn_release(refstore *store, bool commit)
{
    if (commit && !store->failed)
        (void)flush(store);
    /* Open still when there was no commit, or it failed. */
    if (store->top != NULL) {
        mdb_txn_abort(store->top); /* and run, its child */
        store->top = NULL;
        store->run = NULL;
    }
    if (store->reader != NULL) {
        mdb_txn_abort(store->reader);
        store->reader = NULL;
    }
}
