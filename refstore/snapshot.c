/* snapshot.c - the log's base: compaction, snapshot install, and the
 * snapshot the log's first entry follows (Raft §7, thesis §5). */
#include <stdio.h>
#include <string.h>

#include "store.h"

/*
 * The base is kept in meta under "log_base": the snapshot's last index
 * (8 bytes), the index of the configuration in effect there (8), then a
 * log value (log.c) whose term is the snapshot's last term: a CONFIG
 * entry carrying the configuration's members, or a NOOP when the meta
 * names none (the initial configuration, index 0, whose members the node
 * may give or leave to refraft_config).  Reusing the entries' encoding
 * gives the members one codec, checked the same way on the way back in.
 *
 * Why the applies go with it.  A compaction drops entries the node has
 * applied, but their applies may still be pending in the store's write
 * transaction (txn.c): were they lost in a crash, the entries that would
 * apply them again are gone.  So a compaction is a durable write, which
 * commits the pending applies with it.  An install replaces the
 * application's state (the install hook) and the log in one transaction,
 * with the indexes that describe them: applied and data index at the
 * snapshot's last index, records lost up to there (the snapshot names
 * records this node may never have had).
 */

#define BASE_HEAD_LEN 16
#define BASE_VALUE_MAX (BASE_HEAD_LEN + LOG_VALUE_MAX)

static MDB_val base_key(void)
{
    MDB_val k = {sizeof(META_BASE) - 1, (void *)META_BASE};
    return k;
}

static int malformed(refstore *store, const char *why)
{
    char cause[REFRAFT_ERRMSG_LEN];
    snprintf(cause, sizeof(cause), "%s", why);
    return store_errorf(store, REFRAFT_ECORRUPT,
                        "store %s: the log's base (meta %s) %s", store->path,
                        META_BASE, cause);
}

/* Encode a checked meta into buf (BASE_VALUE_MAX bytes); returns the
 * length. */
static size_t base_encode(const refraft_snapshot_meta *m, uint8_t *buf)
{
    refraft_entry e;
    memset(&e, 0, sizeof(e));
    e.term = m->last_term;
    e.type = m->n_members > 0 ? REFRAFT_ENTRY_CONFIG : REFRAFT_ENTRY_NOOP;
    e.members = m->members;
    e.n_members = m->n_members;
    store_put_u64(buf, m->last_index);
    store_put_u64(buf + 8, m->config_index);
    return BASE_HEAD_LEN + log_encode(&e, buf + BASE_HEAD_LEN);
}

/* Decode a stored base into *out; its members go into buf. */
static int base_decode(refstore *store, const MDB_val *v,
                       refraft_snapshot_meta *out, log_entry_buf *buf)
{
    if (v->mv_size < BASE_HEAD_LEN)
        return malformed(store, "is cut short");
    const uint8_t *p = v->mv_data;
    refraft_index last = store_get_u64(p), config = store_get_u64(p + 8);
    if (last == 0 || config > last)
        return malformed(store, "has a last index of 0, or a configuration "
                                "index past it");
    MDB_val entry = {v->mv_size - BASE_HEAD_LEN, (void *)(p + BASE_HEAD_LEN)};
    refraft_entry e;
    if (log_decode(store, last, &entry, &e, buf) != 0)
        return malformed(store, store->errmsg);
    if (e.type != REFRAFT_ENTRY_CONFIG &&
        (e.type != REFRAFT_ENTRY_NOOP || config > 0))
        return malformed(store, "is neither a CONFIG value nor a NOOP for "
                                "the initial configuration");
    memset(out, 0, sizeof(*out));
    out->last_index = last;
    out->last_term = e.term;
    out->config_index = config;
    out->members = e.members;
    out->n_members = e.n_members;
    return 0;
}

int base_load(refstore *store, MDB_txn *txn)
{
    memset(&store->base, 0, sizeof(store->base));
    MDB_val k = base_key(), v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log's base");
    if (store->format < STORE_FORMAT_BASE)
        return malformed(store, "is there, but the store is of a format "
                                "without one");
    refraft_snapshot_meta base;
    int rv = base_decode(store, &v, &base, &store->base_buf);
    if (rv == 0)
        store->base = base;
    return rv;
}

/* Copy len bytes of str and its NUL to strings + *at; returns the offset
 * it went to. */
static size_t put_string(char *strings, size_t *at, const char *str)
{
    size_t offset = *at, size = strlen(str) + 1;
    memcpy(strings + offset, str, size);
    *at += size;
    return offset;
}

/* Make m (committed) the base in memory, its members copied into
 * base_buf.  They may be the base's own (handed out by base()), so they
 * are copied aside first. */
static void keep_base(refstore *store, const refraft_snapshot_meta *m)
{
    char strings[LOG_MEMBER_STRINGS_MAX];
    size_t at = 0, id_at[REFRAFT_MAX_PEERS], address_at[REFRAFT_MAX_PEERS];
    for (size_t i = 0; i < m->n_members; i++) {
        const refraft_member *from = &m->members[i];
        id_at[i] = put_string(strings, &at, from->id);
        address_at[i] = put_string(strings, &at,
                                   from->address != NULL ? from->address : "");
    }
    log_entry_buf *buf = &store->base_buf;
    memcpy(buf->strings, strings, at);
    for (size_t i = 0; i < m->n_members; i++) {
        buf->members[i].voter = m->members[i].voter;
        buf->members[i].id = buf->strings + id_at[i];
        buf->members[i].address = buf->strings + address_at[i];
    }
    store->base = *m;
    store->base.members = m->n_members > 0 ? buf->members : NULL;
}

/* What any base must be: a term, a configuration at or before its last
 * index whose members follow refraft_entry's rules; no members only for
 * the initial configuration (index 0), which may also come with its
 * members (the node knows them from refraft_config). */
static int
check_meta(refstore *store, const refraft_snapshot_meta *m, const char *what)
{
    if (m == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "%s: meta is NULL", what);
    if (m->last_index == 0 || m->last_term == 0)
        return store_errorf(store, REFRAFT_EINVAL,
                            "%s: the snapshot's last index and term must "
                            "not be 0",
                            what);
    if (m->config_index > m->last_index)
        return store_errorf(store, REFRAFT_EINVAL,
                            "%s: configuration index %llu is past the "
                            "snapshot's last index %llu",
                            what, (unsigned long long)m->config_index,
                            (unsigned long long)m->last_index);
    if (m->n_members == 0)
        return m->config_index == 0
                   ? 0
                   : store_errorf(store, REFRAFT_EINVAL,
                                  "%s: configuration %llu comes without its "
                                  "members",
                                  what, (unsigned long long)m->config_index);
    char why[REFRAFT_ERRMSG_LEN];
    if (refraft_check_members(m->members, m->n_members, why, sizeof(why)) != 0)
        return store_errorf(store, REFRAFT_EINVAL,
                            "%s: the snapshot's members are bad: %s", what,
                            why);
    return 0;
}

typedef struct base_arg {
    refstore *store;
    const refraft_snapshot_meta *meta;
    uint8_t value[BASE_VALUE_MAX];
    size_t len;
    refraft_index lost; /* install: records_lost_upto as written */
} base_arg;

static int put_base(refstore *store, MDB_txn *txn, const base_arg *a)
{
    MDB_val k = base_key(), v = {a->len, (void *)a->value};
    int rc = mdb_put(txn, store->db_meta, &k, &v, 0);
    if (rc != 0)
        return store_mdb_error(store, rc, "writing the log's base");
    return log_note_format(store, txn, STORE_FORMAT_BASE);
}

/* ---- Compaction --------------------------------------------------------- */

/* Remove the entries from the first up to last. */
static int delete_upto(refstore *store, MDB_txn *txn, refraft_index last)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "compacting the log");
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    /* After a delete the cursor already points at the next entry, which
     * MDB_NEXT then returns. */
    while (rc == 0 && k.mv_size == 8 && store_get_u64(k.mv_data) <= last) {
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_mdb_error(store, rc, "compacting the log");
    return 0;
}

static int compact_op(refstore *store, MDB_txn *txn, void *arg)
{
    const base_arg *a = arg;
    int rv = delete_upto(store, txn, a->meta->last_index);
    return rv != 0 ? rv : put_base(store, txn, a);
}

/* Only entries in the log, applied (committed or pending), and the
 * snapshot's term must be its last entry's. */
static int check_compact(refstore *store, const refraft_snapshot_meta *m)
{
    refraft_index last = m->last_index;
    if (last <= store->base.last_index || last > store->last_index)
        return store_errorf(store, REFRAFT_EINVAL,
                            "compacting up to %llu, outside the log's "
                            "%llu..%llu",
                            (unsigned long long)last,
                            (unsigned long long)store->base.last_index + 1,
                            (unsigned long long)store->last_index);
    if (last > store->applied_pending)
        return store_errorf(store, REFRAFT_EINVAL,
                            "compacting up to %llu, past the applied index "
                            "%llu: the entries after it are still to apply",
                            (unsigned long long)last,
                            (unsigned long long)store->applied_pending);
    refraft_term term = store->last_term;
    if (last != store->last_index) {
        refraft_entry e;
        log_entry_buf buf;
        int rv = log_read_entry(store, last, &e, &buf);
        if (rv != 0)
            return rv;
        term = e.term;
    }
    if (m->last_term != term)
        return store_errorf(store, REFRAFT_EINVAL,
                            "compacting up to %llu with term %llu, but the "
                            "entry there has term %llu",
                            (unsigned long long)last,
                            (unsigned long long)m->last_term,
                            (unsigned long long)term);
    return 0;
}

int log_compact(void *ctx, const refraft_snapshot_meta *meta)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    /* The entries of applies still to make again must stay (txn.c). */
    if (rv == 0)
        rv = txn_replay(store);
    if (rv == 0)
        rv = check_meta(store, meta, "compacting");
    if (rv == 0)
        rv = check_compact(store, meta);
    if (rv != 0)
        return rv;
    base_arg a = {store, meta, {0}, 0, 0};
    a.len = base_encode(meta, a.value);
    rv = txn_durable(store, compact_op, &a);
    if (rv != 0)
        return rv;
    keep_base(store, meta);
    log_raise_format(store, STORE_FORMAT_BASE);
    return 0;
}

/* ---- Install ------------------------------------------------------------ */

static int call_install_hook(void *arg, MDB_txn *txn)
{
    const base_arg *a = arg;
    return a->store->on_install(a->store->app_ctx, txn, a->meta);
}

/* The snapshot's references name records this node may lack: count them
 * lost up to its last index (never lowering what was lost before), as
 * refraft_sweeper_snapshot_installed() does for the sweeper. */
static int raise_lost(refstore *store, MDB_txn *txn, base_arg *a)
{
    int rv = store_meta_get_u64(store, txn, META_RECORDS_LOST, &a->lost);
    if (rv != 0 || a->lost >= a->meta->last_index)
        return rv;
    a->lost = a->meta->last_index;
    return store_meta_put_u64(store, txn, META_RECORDS_LOST, a->lost);
}

static int install_op(refstore *store, MDB_txn *txn, void *arg)
{
    base_arg *a = arg;
    refraft_index last = a->meta->last_index;
    int rv = 0;
    if (store->on_install != NULL)
        rv = txn_call_app(store, txn, call_install_hook, a, "the install hook");
    if (rv != 0)
        return rv;
    int rc = mdb_drop(txn, store->db_log, 0);
    if (rc != 0)
        return store_mdb_error(store, rc, "emptying the log");
    rv = put_base(store, txn, a);
    if (rv == 0)
        rv = store_meta_put_u64(store, txn, META_APPLIED, last);
    if (rv == 0)
        rv = store_meta_put_u64(store, txn, META_DATA, last);
    return rv != 0 ? rv : raise_lost(store, txn, a);
}

int log_install(void *ctx, const refraft_snapshot_meta *meta)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv == 0)
        rv = check_meta(store, meta, "installing a snapshot");
    if (rv != 0)
        return rv;
    /* The application's state would go back to an earlier index than it
     * has applied, and the log's base below entries already applied. */
    if (meta->last_index <= store->applied_pending)
        return store_errorf(store, REFRAFT_EINVAL,
                            "installing a snapshot up to %llu, not past the "
                            "applied index %llu",
                            (unsigned long long)meta->last_index,
                            (unsigned long long)store->applied_pending);
    base_arg a = {store, meta, {0}, 0, 0};
    a.len = base_encode(meta, a.value);
    rv = txn_durable(store, install_op, &a);
    if (rv != 0)
        return rv;
    store->last_index = meta->last_index;
    store->last_term = meta->last_term;
    /* The durable write committed the pending applies, all below the
     * snapshot's last index; what the install wrote replaces them. */
    store->applied = store->applied_pending = meta->last_index;
    store->data_index = meta->last_index;
    store->records_lost_upto = a.lost;
    keep_base(store, meta);
    log_raise_format(store, STORE_FORMAT_BASE);
    if (store->on_installed != NULL) {
        store->in_callback = true;
        store->on_installed(store->app_ctx, meta);
        store->in_callback = false;
    }
    return 0;
}

int log_base(void *ctx, refraft_snapshot_meta *out)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (out == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "out is NULL");
    *out = store->base;
    return 0;
}
