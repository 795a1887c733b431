/* refdisk.c - a node's simulated disk on refstore: open, apply, failure. */
#include <stdio.h>
#include <string.h>

#include "disk.h"

/* The simulated state machine's database in the store's environment:
 * index (8 bytes, big-endian) -> hash of the entry applied there. */
#define STATE_DB "sim_state"

static void index_key(uint8_t key[8], refraft_index index)
{
    for (int i = 7; i >= 0; i--) {
        key[i] = (uint8_t)index;
        index >>= 8;
    }
}

static refraft_index key_index(const MDB_val *key)
{
    const uint8_t *p = key->mv_data;
    refraft_index index = 0;
    for (size_t i = 0; i < key->mv_size; i++)
        index = index << 8 | p[i];
    return index;
}

/* refstore's apply hook: the state machine records the entry in its own
 * database, in the transaction that records index as applied.  It may run
 * more than once for an index (when the map grows under it), so it has no
 * other effect: the simulator hears of the apply when refstore_apply()
 * succeeds. */
static int apply_hook(void *app_ctx, MDB_txn *txn, refraft_index index,
                      const refraft_entry *entry)
{
    disk *d = app_ctx;
    uint8_t key[8];
    index_key(key, index);
    entry_sig sig;
    entry_sig_make(&sig, entry);
    MDB_val k = {sizeof(key), key};
    MDB_val v = {sizeof(sig.hash), &sig.hash};
    int rc = mdb_put(txn, d->state_dbi, &k, &v, 0);
    if (rc == MDB_MAP_FULL)
        return rc;
    if (rc != 0) {
        check_fail(d->check, "Storage", "n%d: state machine: mdb_put: %s",
                   d->node + 1, mdb_strerror(rc));
        return REFRAFT_EIO;
    }
    return 0;
}

/* What the state machine's database ends with. */
typedef struct state_tail {
    disk *d;
    refraft_index index; /* 0 when it is empty */
    uint64_t hash;
    int rc; /* LMDB's code, when it failed */
} state_tail;

/* Open the state machine's database (the handle lives until the store
 * closes) and read its last row.  refstore_write() is where an
 * application opens its databases. */
static int open_state(void *ctx, MDB_txn *txn)
{
    state_tail *t = ctx;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    t->index = 0;
    t->rc = mdb_dbi_open(txn, STATE_DB, MDB_CREATE, &t->d->state_dbi);
    if (t->rc == 0)
        t->rc = mdb_cursor_open(txn, t->d->state_dbi, &cur);
    if (t->rc == 0) {
        t->rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        mdb_cursor_close(cur);
    }
    if (t->rc == MDB_NOTFOUND) {
        t->rc = 0;
    } else if (t->rc == 0 && k.mv_size == 8 && v.mv_size == sizeof(t->hash)) {
        t->index = key_index(&k);
        memcpy(&t->hash, v.mv_data, sizeof(t->hash));
    } else if (t->rc == 0) {
        t->rc = MDB_CORRUPTED;
    }
    /* A full map is handed back as is: refstore grows it and calls again. */
    return t->rc == 0 || t->rc == MDB_MAP_FULL ? t->rc : REFRAFT_EIO;
}

/*
 * No sync: a simulated crash is a process crash, and the writes of a
 * process that dies stay with the operating system.  The store then holds
 * the state machine, so the node resumes after the store's applied index,
 * which must be where the state machine's own rows end.
 */
int refdisk_open(disk *d)
{
    char node_id[16], err[REFRAFT_ERRMSG_LEN] = "";
    snprintf(node_id, sizeof(node_id), "n%d", d->node + 1);
    refstore_options o = {
        .path = d->path,
        .cluster_id = "sim",
        .node_id = node_id,
        .sync = REFSTORE_SYNC_NONE,
        .map_size = d->map_size,
        .apply = apply_hook,
        .app_ctx = d,
    };
    d->failed = false;
    d->errmsg[0] = '\0';
    int rv = refstore_open(&o, &d->store, err, sizeof(err));
    if (rv != 0) {
        check_fail(d->check, "Storage", "n%d: refstore_open %s: %s (%s)",
                   d->node + 1, d->path, refraft_strerror(rv), err);
        return rv;
    }
    refstore_log_api(d->store, &d->inner);
    state_tail t = {.d = d};
    rv = refstore_write(d->store, open_state, &t);
    if (rv != 0) {
        check_fail(d->check, "Storage", "n%d: state machine: %s (%s)",
                   d->node + 1, t.rc != 0 ? mdb_strerror(t.rc) : "",
                   refstore_errmsg(d->store));
        return rv;
    }
    check_stored_state(d->check, d->node, refstore_applied_index(d->store),
                       t.index, t.hash);
    return 0;
}

int refdisk_apply(disk *d, refraft_index index, const refraft_entry *entry)
{
    int rv = refstore_apply(d->store, index, entry);
    if (rv == 0)
        d->on_apply(d->apply_ctx, index, entry);
    else
        disk_check_rv(d, "refstore_apply", rv);
    return rv;
}

/* refstore's Failure contract: a commit that fails while it holds applies
 * fails the store, and from then on every call returns REFRAFT_EFAILED;
 * a read is the call that changes nothing. */
static int probe(void *ctx, MDB_txn *txn)
{
    (void)ctx;
    (void)txn;
    return 0;
}

bool refdisk_failed(disk *d)
{
    return refstore_read(d->store, probe, NULL) == REFRAFT_EFAILED;
}
