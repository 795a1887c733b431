/* apply.c - where the application meets the store's transaction: the apply
 * hook, flush, refstore_write and refstore_read, and the propose path. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "store.h"

typedef struct apply_arg {
    refstore *store;
    refraft_index index;
    const refraft_entry *entry;
} apply_arg;

static int call_apply_hook(void *arg, MDB_txn *txn)
{
    const apply_arg *a = arg;
    return a->store->apply(a->store->app_ctx, txn, a->index, a->entry);
}

/*
 * The hook's writes and the applied index share one transaction, the
 * apply run (txn.c): both reach the disk, or neither does (exactly-once
 * apply).  The hook runs in the run itself, not in a child of it as
 * txn_call_app() would give it: LMDB allocates a 2 MiB dirty list for
 * every nested transaction and copies into it each page it touches, which
 * per applied entry was most of its cost.  The run still keeps a
 * failure away from the committed applies: should the hook ignore an LMDB
 * error and return 0, LMDB refuses the applied index's put in the failed
 * transaction, and txn_apply() aborts the run rather than commit it.
 */
static int apply_op(refstore *store, MDB_txn *txn, void *arg)
{
    if (store->apply != NULL) {
        store->in_callback = true;
        int rv = call_apply_hook(arg, txn);
        store->in_callback = false;
        rv = txn_app_result(store, rv, "the apply hook");
        if (rv != 0)
            return rv;
    }
    const apply_arg *a = arg;
    return store_meta_put_u64(store, txn, META_APPLIED, a->index);
}

/* ---- Abandoned entries ------------------------------------------------ */

/*
 * The node applies a REF entry that a committed VOID abandoned with type
 * REFRAFT_ENTRY_ABANDONED, but the log still holds it as a REF.  Should
 * the commit of the pending applies be lost (txn.c), the replay reads the
 * entries back from the log, so the store remembers which pending applies
 * were abandoned until they commit.  Such entries are rare (hole filling),
 * and the list only ever holds pending applies.
 */

static bool was_abandoned(const refstore *store, refraft_index index)
{
    size_t lo = 0, hi = store->n_abandoned;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (store->abandoned[mid] == index)
            return true;
        if (store->abandoned[mid] < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void apply_forget_committed(refstore *store)
{
    size_t keep = 0;
    while (keep < store->n_abandoned &&
           store->abandoned[keep] <= store->applied)
        keep++;
    if (keep == 0)
        return;
    store->n_abandoned -= keep;
    memmove(store->abandoned, store->abandoned + keep,
            store->n_abandoned * sizeof(*store->abandoned));
}

/* Make room to remember one more abandoned apply, so that remembering it
 * after the apply succeeded cannot fail. */
static int reserve_abandoned(refstore *store)
{
    if (refraft_grow((void **)&store->abandoned, &store->abandoned_cap,
                     store->n_abandoned + 1, sizeof(*store->abandoned)) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "out of memory for the list of abandoned "
                            "entries");
    return 0;
}

/* An abandoned entry must be the REF the log holds at index, ref and
 * all: the application is told that this very record was lost. */
static int check_abandoned(refstore *store, refraft_index index,
                           const refraft_entry *entry)
{
    refraft_entry logged;
    log_entry_buf buf;
    int rv = log_read_entry(store, index, &logged, &buf);
    if (rv != 0)
        return rv;
    if (logged.type != REFRAFT_ENTRY_REF ||
        !refraft_ref_equal(&logged.ref, &entry->ref))
        return store_errorf(store, REFRAFT_EINVAL,
                            "entry %llu is applied as abandoned, but the log "
                            "does not hold a REF entry with its reference "
                            "there",
                            (unsigned long long)index);
    return 0;
}

/* ---- Apply ------------------------------------------------------------ */

static int
check_apply(refstore *store, refraft_index index, const refraft_entry *entry)
{
    if (entry == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "entry is NULL");
    if (index != store->applied_pending + 1 || index > store->last_index)
        return store_errorf(store, REFRAFT_EINVAL,
                            "applying index %llu, but the next to apply is "
                            "%llu (the log ends at %llu)",
                            (unsigned long long)index,
                            (unsigned long long)store->applied_pending + 1,
                            (unsigned long long)store->last_index);
    switch (entry->type) {
    case REFRAFT_ENTRY_NOOP:
    case REFRAFT_ENTRY_REF:
    case REFRAFT_ENTRY_VOID:
    /* A configuration is the node's business: for the application it is
     * a NOOP (the hook still sees it, and may keep the members). */
    case REFRAFT_ENTRY_CONFIG:
        return 0;
    case REFRAFT_ENTRY_ABANDONED: {
        int rv = check_abandoned(store, index, entry);
        return rv == 0 ? reserve_abandoned(store) : rv;
    }
    default:
        return store_errorf(store, REFRAFT_EINVAL,
                            "entry %llu has type %d, not NOOP, REF, VOID, "
                            "CONFIG or ABANDONED",
                            (unsigned long long)index, entry->type);
    }
}

int refstore_apply(refstore *store, refraft_index index,
                   const refraft_entry *entry)
{
    int rv = store_enter(store);
    if (rv == 0)
        rv = txn_replay(store);
    if (rv == 0)
        rv = check_apply(store, index, entry);
    if (rv != 0)
        return rv;
    apply_arg a = {store, index, entry};
    rv = txn_apply(store, apply_op, &a);
    if (rv != 0)
        return rv;
    store->applied_pending = index;
    /* check_apply reserved the room.  Every index listed is a pending
     * apply, below this one, so the list stays in order. */
    if (entry->type == REFRAFT_ENTRY_ABANDONED)
        store->abandoned[store->n_abandoned++] = index;
    return 0;
}

int apply_again(refstore *store, refraft_index index)
{
    refraft_entry entry;
    log_entry_buf buf;
    int rv = log_read_entry(store, index, &entry, &buf);
    if (rv == 0 && entry.type == REFRAFT_ENTRY_REF &&
        was_abandoned(store, index))
        entry.type = REFRAFT_ENTRY_ABANDONED;
    apply_arg a = {store, index, &entry};
    if (rv == 0)
        rv = txn_child(store, apply_op, &a);
    if (rv == 0)
        store->applied_pending = index;
    return rv;
}

int refstore_flush(refstore *store)
{
    int rv = store_enter(store);
    return rv != 0 ? rv : txn_flush(store);
}

typedef struct app_fn_arg {
    int (*fn)(void *ctx, MDB_txn *txn);
    void *ctx;
} app_fn_arg;

static int write_op(refstore *store, MDB_txn *txn, void *arg)
{
    const app_fn_arg *a = arg;
    return txn_call_app(store, txn, a->fn, a->ctx, "refstore_write's fn");
}

int refstore_write(refstore *store, int (*fn)(void *ctx, MDB_txn *txn),
                   void *ctx)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (fn == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "fn is NULL");
    app_fn_arg a = {fn, ctx};
    return txn_durable(store, write_op, &a);
}

static int read_op(refstore *store, MDB_txn *txn, void *arg)
{
    const app_fn_arg *a = arg;
    store->in_callback = true;
    int rv = a->fn(a->ctx, txn);
    store->in_callback = false;
    return rv;
}

int refstore_read(refstore *store, int (*fn)(void *ctx, MDB_txn *txn),
                  void *ctx)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (fn == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "fn is NULL");
    app_fn_arg a = {fn, ctx};
    return txn_read(store, read_op, &a);
}

/* ---- Propose ---------------------------------------------------------- */

typedef struct propose_arg {
    const refraft_ref *refs;
    const void *const *bytes;
    size_t n;
} propose_arg;

static int put_records_op(refstore *store, MDB_txn *txn, void *arg)
{
    const propose_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        int rv = record_put_in(store, txn, &a->refs[i], a->bytes[i],
                               (size_t)a->refs[i].size);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* hashed: the caller computed each ref's digest from these bytes. */
static int check_batch(refstore *store, const refraft_ref *refs,
                       const void *const *bytes, size_t n, bool hashed)
{
    if (refs == NULL || bytes == NULL || n == 0)
        return store_errorf(store, REFRAFT_EINVAL,
                            "a propose needs refs, bytes and n > 0");
    for (size_t i = 0; i < n; i++) {
#if SIZE_MAX < UINT64_MAX
        if (refs[i].size > SIZE_MAX)
            return store_errorf(store, REFRAFT_EINVAL,
                                "record %zu is too large for memory", i);
#endif
        size_t len = (size_t)refs[i].size;
        int rv = hashed ? record_check_shape(store, &refs[i], bytes[i], len)
                        : record_check(store, &refs[i], bytes[i], len);
        if (rv != 0) {
            char cause[REFRAFT_ERRMSG_LEN];
            snprintf(cause, sizeof(cause), "%s", store->errmsg);
            return store_errorf(store, rv, "record %zu: %s", i, cause);
        }
    }
    return 0;
}

/* What runs with the records in the propose transaction: a call into the
 * node that writes to its log (or not).  Returns what that call returned;
 * the node's message goes to the store's when the store has none. */
typedef int (*with_records_fn)(refraft_node *node, void *ctx);

/*
 * The records go into the propose transaction; fn then makes the node
 * append (refraft_propose, refraft_on_message), and that append (a
 * durable write, or a staged one and its sync) commits the records with
 * it.  *committed tells whether it did: when fn appended nothing, the
 * records went with the transaction.  Growing the map while the append
 * runs gives up the propose transaction (txn.c), so the whole call runs
 * again.
 */
static int with_records(refstore *store, refraft_node *node,
                        const refraft_ref *refs, const void *const *bytes,
                        size_t n, with_records_fn fn, void *ctx,
                        const char *what, bool *ran, bool *committed)
{
    propose_arg a = {refs, bytes, n};
    *ran = false;
    for (;;) {
        store->propose_lost = false;
        uint64_t grows = store->map_grows;
        int rv = txn_propose_begin(store, put_records_op, &a);
        if (rv != 0)
            return rv;
        *ran = true;
        store->records_put = put_records_op;
        store->records_arg = &a;
        store->put_refs = refs;
        store->n_put_refs = n;
        store->put_cursor = 0;
        rv = fn(node, ctx);
        store->records_put = NULL;
        store->records_arg = NULL;
        store->put_refs = NULL;
        store->n_put_refs = 0;
        *committed = txn_propose_end(store);
        /* Start over only when the map grew: a map full at its maximum
         * would lose the propose the same way again, for ever. */
        if (rv != 0 && store->propose_lost && store->map_grows > grows &&
            !store->failed)
            continue;
        if (rv != 0 && store->errmsg[0] == '\0')
            store_errorf(store, rv, "%s: %s", what, refraft_errmsg(node));
        return rv;
    }
}

typedef struct propose_call {
    const refraft_ref *refs;
    size_t n;
    refraft_index *first_index;
} propose_call;

static int call_propose(refraft_node *node, void *ctx)
{
    const propose_call *c = ctx;
    return refraft_propose(node, c->refs, c->n, c->first_index);
}

static int propose(refstore *store, refraft_node *node, const refraft_ref *refs,
                   const void *const *bytes, size_t n,
                   refraft_index *first_index, bool hashed)
{
    int rv = store_enter(store);
    if (rv == 0 && node == NULL)
        rv = store_errorf(store, REFRAFT_EINVAL, "node is NULL");
    if (rv == 0)
        rv = check_batch(store, refs, bytes, n, hashed);
    if (rv != 0)
        return rv;
    propose_call c = {refs, n, first_index};
    bool ran, committed = false;
    rv = with_records(store, node, refs, bytes, n, call_propose, &c,
                      "refraft_propose", &ran, &committed);
    if (rv == 0 && !committed)
        return store_errorf(store, REFRAFT_EINVAL,
                            "the node does not write to this store: the "
                            "references went elsewhere, the records were "
                            "not stored");
    return rv;
}

int refstore_propose(refstore *store, refraft_node *node,
                     const refraft_ref *refs, const void *const *bytes,
                     size_t n, refraft_index *first_index)
{
    return propose(store, node, refs, bytes, n, first_index, false);
}

int refstore_propose_hashed(refstore *store, refraft_node *node,
                            const refraft_ref *refs, const void *const *bytes,
                            size_t n, refraft_index *first_index)
{
    return propose(store, node, refs, bytes, n, first_index, true);
}

typedef struct receive_call {
    const refraft_msg *msg;
    refraft_reply_fn reply;
    void *reply_ctx;
} receive_call;

static int call_on_message(refraft_node *node, void *ctx)
{
    const receive_call *c = ctx;
    return refraft_on_message(node, c->msg, c->reply, c->reply_ctx);
}

int refstore_receive(refstore *store, refraft_node *node,
                     const refraft_ref *refs, const void *const *bytes,
                     size_t n, const refraft_msg *msg, refraft_reply_fn reply,
                     void *reply_ctx, bool *records_stored)
{
    int rv = store_enter(store);
    if (rv == 0 && (node == NULL || msg == NULL || records_stored == NULL))
        rv = store_errorf(store, REFRAFT_EINVAL,
                          "node, msg and records_stored must not be NULL");
    if (rv != 0)
        return rv;
    *records_stored = false;
    /* Only an append commits the propose transaction; a message that
     * cannot append (no new entries) could apply inside it, which the
     * store refuses.  Bad records are not stored.  Either way the message
     * still goes in. */
    /* A newer term is saved (a durable write) before the entries are
     * looked at, which would commit the records on their own. */
    const refraft_append_entries *ae = &msg->u.append_entries;
    bool appends =
        msg->type == REFRAFT_MSG_APPEND_ENTRIES &&
        ae->term == refraft_current_term(node) &&
        ae->prev_log_index + ae->n_entries > refraft_last_index(node);
    receive_call c = {msg, reply, reply_ctx};
    bool ran = false, committed = false;
    if (n > 0 && appends && check_batch(store, refs, bytes, n, false) == 0)
        rv = with_records(store, node, refs, bytes, n, call_on_message, &c,
                          "refraft_on_message", &ran, &committed);
    /* Records that could not go in (a different record already under one
     * of the ids, say a discarded entry's, which only this message's
     * truncation lets the sweeper collect) never hold the message up. */
    if (!ran) {
        store->errmsg[0] = '\0';
        rv = refraft_on_message(node, msg, reply, reply_ctx);
        if (rv != 0)
            store_errorf(store, rv, "refraft_on_message: %s",
                         refraft_errmsg(node));
        return rv;
    }
    *records_stored = committed;
    return rv;
}
