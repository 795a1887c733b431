/* refdisk.c - a node's simulated disk on refstore: open, apply, failure. */
#include <stdio.h>
#include <string.h>

#include "disk.h"

/* The simulated state machine's databases in the store's environment:
 * index (8 bytes, big-endian) -> hash of the entry applied there, and the
 * reference state: index -> the ref of the REF entry applied there (id
 * length, 2 bytes big-endian; id; size, 8 bytes big-endian; digest).  An
 * install replaces both: the state with the snapshot's refs, and the
 * hashes with one row at the snapshot's last index, INSTALLED. */
#define STATE_DB "sim_state"
#define REFS_DB "sim_refs"
#define INSTALLED 0

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

#define REF_ROW_MAX (2 + RECORD_ID_MAX + 8 + REFRAFT_DIGEST_LEN)

static size_t ref_row(uint8_t *row, const refstate_item *it)
{
    size_t at = 0;
    row[at++] = (uint8_t)(it->id_len >> 8);
    row[at++] = (uint8_t)it->id_len;
    memcpy(row + at, it->id, it->id_len);
    at += it->id_len;
    index_key(row + at, it->size);
    at += 8;
    memcpy(row + at, it->digest, REFRAFT_DIGEST_LEN);
    return at + REFRAFT_DIGEST_LEN;
}

static bool ref_unrow(const MDB_val *v, refstate_item *it)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 2)
        return false;
    it->id_len = (uint16_t)(p[0] << 8 | p[1]);
    if (it->id_len > RECORD_ID_MAX ||
        v->mv_size != 2u + it->id_len + 8 + REFRAFT_DIGEST_LEN)
        return false;
    memcpy(it->id, p + 2, it->id_len);
    MDB_val size = {8, (void *)(p + 2 + it->id_len)};
    it->size = key_index(&size);
    memcpy(it->digest, p + 2 + it->id_len + 8, REFRAFT_DIGEST_LEN);
    return true;
}

/* mdb_put, with a full map handed back as is (refstore grows it and runs
 * the hook again) and any other failure recorded. */
static int put(disk *d, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    int rc = mdb_put(txn, dbi, k, v, 0);
    if (rc == MDB_MAP_FULL)
        return rc;
    if (rc != 0) {
        check_fail(d->check, "Storage", "n%d: state machine: mdb_put: %s",
                   d->node + 1, mdb_strerror(rc));
        return REFRAFT_EIO;
    }
    return 0;
}

static int put_ref(disk *d, MDB_txn *txn, const refstate_item *it)
{
    uint8_t key[8], row[REF_ROW_MAX];
    index_key(key, it->index);
    MDB_val k = {sizeof(key), key};
    MDB_val v = {ref_row(row, it), row};
    return put(d, txn, d->refs_dbi, &k, &v);
}

static int put_hash(disk *d, MDB_txn *txn, refraft_index index, uint64_t hash)
{
    uint8_t key[8];
    index_key(key, index);
    MDB_val k = {sizeof(key), key};
    MDB_val v = {sizeof(hash), &hash};
    return put(d, txn, d->state_dbi, &k, &v);
}

/* refstore's apply hook: the state machine records the entry in its own
 * databases, in the transaction that records index as applied.  It may
 * run more than once for an index (when the map grows under it), so it
 * has no other effect: the simulator hears of the apply when
 * refstore_apply() succeeds. */
static int apply_hook(void *app_ctx, MDB_txn *txn, refraft_index index,
                      const refraft_entry *entry)
{
    disk *d = app_ctx;
    entry_sig sig;
    entry_sig_make(&sig, entry);
    int rv = put_hash(d, txn, index, sig.hash);
    if (rv != 0 || entry->type != REFRAFT_ENTRY_REF)
        return rv;
    refstate_item it = {.index = index};
    it.id_len = (uint16_t)(entry->ref.id_len < RECORD_ID_MAX ? entry->ref.id_len
                                                             : RECORD_ID_MAX);
    memcpy(it.id, entry->ref.id, it.id_len);
    it.size = entry->ref.size;
    memcpy(it.digest, entry->ref.digest, REFRAFT_DIGEST_LEN);
    return put_ref(d, txn, &it);
}

/*
 * refstore's install hook: the snapshot's refs (the node's application
 * took them in hull.snapshot_install, just before) replace the reference
 * state, and one INSTALLED row at the snapshot's last index the hashes,
 * in the transaction that empties the log and moves the applied index
 * there.  It may run again in a fresh transaction (a full map): it
 * rewrites everything each time.
 */
static int
install_hook(void *app_ctx, MDB_txn *txn, const refraft_snapshot_meta *meta)
{
    disk *d = app_ctx;
    int rc = mdb_drop(txn, d->state_dbi, 0);
    if (rc == 0)
        rc = mdb_drop(txn, d->refs_dbi, 0);
    if (rc != 0) {
        check_fail(d->check, "Storage", "n%d: state machine: mdb_drop: %s",
                   d->node + 1, mdb_strerror(rc));
        return REFRAFT_EIO;
    }
    int rv = put_hash(d, txn, meta->last_index, INSTALLED);
    for (size_t k = 0; rv == 0 && k < d->state->n; k++)
        rv = put_ref(d, txn, &d->state->items[k]);
    return rv;
}

/* What the state machine's database ends with. */
typedef struct state_tail {
    disk *d;
    refraft_index index; /* 0 when it is empty */
    uint64_t hash;
    int rc; /* LMDB's code, when it failed */
} state_tail;

/* Read the reference state back into the node's (refstate.h), in index
 * order. */
static int load_refs(disk *d, MDB_txn *txn)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    refstate_clear(d->state);
    int rc = mdb_cursor_open(txn, d->refs_dbi, &cur);
    for (MDB_cursor_op op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        refstate_item it;
        if (rc != 0)
            break;
        if (k.mv_size != 8 || !ref_unrow(&v, &it)) {
            rc = MDB_CORRUPTED;
            break;
        }
        refraft_ref ref = {.id = it.id, .id_len = it.id_len, .size = it.size};
        memcpy(ref.digest, it.digest, REFRAFT_DIGEST_LEN);
        refstate_apply(d->state, key_index(&k), &ref);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Open the state machine's databases (the handles live until the store
 * closes), read its reference state and the last row of its hashes.
 * refstore_write() is where an application opens its databases. */
static int open_state(void *ctx, MDB_txn *txn)
{
    state_tail *t = ctx;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    t->index = 0;
    t->rc = mdb_dbi_open(txn, STATE_DB, MDB_CREATE, &t->d->state_dbi);
    if (t->rc == 0)
        t->rc = mdb_dbi_open(txn, REFS_DB, MDB_CREATE, &t->d->refs_dbi);
    if (t->rc == 0)
        t->rc = load_refs(t->d, txn);
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
        .on_install = install_hook,
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
    disk_offer_compaction(d);
    state_tail t = {.d = d};
    rv = refstore_write(d->store, open_state, &t);
    if (rv != 0) {
        check_fail(d->check, "Storage", "n%d: state machine: %s (%s)",
                   d->node + 1, t.rc != 0 ? mdb_strerror(t.rc) : "",
                   refstore_errmsg(d->store));
        return rv;
    }
    check_stored_state(d->check, d->node, refstore_applied_index(d->store),
                       t.index, t.hash == INSTALLED ? NULL : &t.hash);
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
