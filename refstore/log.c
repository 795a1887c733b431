/* log.c - the log API over the store: entries, truncation, hard state. */
#include <string.h>

#include "core/alloc.h"
#include "store.h"

/*
 * An entry is stored under its index as 8 big-endian bytes, so LMDB's
 * byte order is index order and appends go in with MDB_APPEND.  Its value
 * is term (8 bytes), type (1), size (8), digest (32) and the record id,
 * whose length is what remains (none for a NOOP or VOID).  A VOID keeps
 * its voided index where a REF keeps its size; a NOOP keeps zeros there.
 */

typedef struct log_key {
    uint8_t b[8];
    MDB_val val;
} log_key;

static void key_init(log_key *k, refraft_index index)
{
    store_put_u64(k->b, index);
    k->val.mv_size = sizeof(k->b);
    k->val.mv_data = k->b;
}

static int corrupt(refstore *store, refraft_index index, const char *why)
{
    return store_errorf(store, REFRAFT_ECORRUPT, "store %s: log entry %llu %s",
                        store->path, (unsigned long long)index, why);
}

/* A VOID holds no record id and abandons an entry before its own. */
static int decode_void(refstore *store, refraft_index index, const uint8_t *p,
                       size_t id_len, refraft_entry *e)
{
    if (id_len != 0)
        return corrupt(store, index, "is a VOID with a record id");
    e->voided = store_get_u64(p + 9);
    if (e->voided == 0 || e->voided >= index)
        return corrupt(store, index,
                       "is a VOID whose voided index is 0 or not below "
                       "its own");
    return 0;
}

/* Decode a stored entry; the id points into v.  Whatever a type does not
 * carry reads back zeroed. */
static int
decode(refstore *store, refraft_index index, const MDB_val *v, refraft_entry *e)
{
    if (v->mv_size < LOG_HEAD_LEN || v->mv_size > LOG_VALUE_MAX)
        return corrupt(store, index, "has a value of the wrong size");
    const uint8_t *p = v->mv_data;
    size_t id_len = v->mv_size - LOG_HEAD_LEN;
    memset(e, 0, sizeof(*e));
    e->term = store_get_u64(p);
    e->type = p[8];
    if (e->term == 0)
        return corrupt(store, index, "has term 0");
    if (e->type == REFRAFT_ENTRY_NOOP && id_len == 0)
        return 0;
    if (e->type == REFRAFT_ENTRY_VOID)
        return decode_void(store, index, p, id_len, e);
    if (e->type != REFRAFT_ENTRY_REF || id_len == 0)
        return corrupt(store, index, "has a bad type or record id");
    e->ref.size = store_get_u64(p + 9);
    memcpy(e->ref.digest, p + 17, REFRAFT_DIGEST_LEN);
    e->ref.id = p + LOG_HEAD_LEN;
    e->ref.id_len = (uint16_t)id_len;
    return 0;
}

/* Encode a validated entry into buf (LOG_VALUE_MAX bytes). */
static size_t encode(const refraft_entry *e, uint8_t *buf)
{
    memset(buf, 0, LOG_HEAD_LEN);
    store_put_u64(buf, e->term);
    buf[8] = e->type;
    if (e->type == REFRAFT_ENTRY_VOID)
        store_put_u64(buf + 9, e->voided);
    if (e->type != REFRAFT_ENTRY_REF)
        return LOG_HEAD_LEN;
    store_put_u64(buf + 9, e->ref.size);
    memcpy(buf + 17, e->ref.digest, REFRAFT_DIGEST_LEN);
    memcpy(buf + LOG_HEAD_LEN, e->ref.id, e->ref.id_len);
    return LOG_HEAD_LEN + e->ref.id_len;
}

int log_load(refstore *store, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_stat st;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return 0;
    }
    int rv = 0;
    if (rc == 0 && k.mv_size == 8) {
        refraft_entry e;
        store->last_index = store_get_u64(k.mv_data);
        rv = decode(store, store->last_index, &v, &e);
        store->last_term = rv == 0 ? e.term : 0;
    }
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == 0)
        rc = mdb_stat(txn, store->db_log, &st);
    mdb_cursor_close(cur);
    if (rv != 0)
        return rv;
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    if (k.mv_size != 8 || store_get_u64(k.mv_data) != 1 ||
        st.ms_entries != store->last_index)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the log does not hold exactly the "
                            "indexes 1..%llu",
                            store->path, (unsigned long long)store->last_index);
    return 0;
}

/* ---- Reads ------------------------------------------------------------ */

/* The log never compacts. */
static refraft_index log_first_index(void *ctx)
{
    (void)ctx;
    return 1;
}

static refraft_index log_last_index(void *ctx)
{
    const refstore *store = ctx;
    return store->last_index;
}

typedef struct entry_arg {
    refraft_index index;
    refraft_entry *entry;
    uint8_t *id;
} entry_arg;

static int entry_op(refstore *store, MDB_txn *txn, void *arg)
{
    entry_arg *a = arg;
    log_key k;
    MDB_val v;
    key_init(&k, a->index);
    int rc = mdb_get(txn, store->db_log, &k.val, &v);
    if (rc == MDB_NOTFOUND)
        return corrupt(store, a->index, "is missing");
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    int rv = decode(store, a->index, &v, a->entry);
    if (rv == 0 && a->entry->type == REFRAFT_ENTRY_REF) {
        memcpy(a->id, a->entry->ref.id, a->entry->ref.id_len);
        a->entry->ref.id = a->id;
    }
    return rv;
}

int log_read_entry(refstore *store, refraft_index index, refraft_entry *entry,
                   uint8_t *id)
{
    entry_arg a = {index, entry, id};
    return txn_read(store, entry_op, &a);
}

typedef struct term_arg {
    refraft_index index;
    refraft_term term;
} term_arg;

static int term_op(refstore *store, MDB_txn *txn, void *arg)
{
    term_arg *t = arg;
    refraft_entry e;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    entry_arg a = {t->index, &e, id};
    int rv = entry_op(store, txn, &a);
    if (rv == 0)
        t->term = e.term;
    return rv;
}

static int log_term_at(void *ctx, refraft_index index, refraft_term *term)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (term == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "term is NULL");
    if (index > store->last_index)
        return store_errorf(
            store, REFRAFT_ENOTFOUND, "index %llu is past the last index %llu",
            (unsigned long long)index, (unsigned long long)store->last_index);
    /* Index 0 lies just before the first entry; Raft gives it term 0. */
    if (index == 0 || index == store->last_index) {
        *term = index == 0 ? 0 : store->last_term;
        return 0;
    }
    term_arg a = {index, 0};
    rv = txn_read(store, term_op, &a);
    if (rv == 0)
        *term = a.term;
    return rv;
}

typedef struct get_arg {
    refraft_index from;
    size_t count;
    refraft_entry *out;
} get_arg;

/*
 * Walk the count entries from a->from.  Without out, only check them and
 * total the bytes of their ids; with it, decode them, copying the ids into
 * the arena (which the first walk sized), so that a failure leaves out
 * untouched.
 */
static int walk(refstore *store, MDB_txn *txn, const get_arg *a,
                refraft_entry *out, size_t *id_bytes)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the log");
    log_key k;
    key_init(&k, a->from);
    MDB_val key = k.val, v;
    MDB_cursor_op op = MDB_SET_KEY;
    size_t used = 0;
    int rv = 0;
    for (size_t i = 0; i < a->count; i++, op = MDB_NEXT) {
        refraft_index index = a->from + i;
        refraft_entry e;
        rc = mdb_cursor_get(cur, &key, &v, op);
        if (rc == 0 &&
            (key.mv_size != 8 || store_get_u64(key.mv_data) != index))
            rc = MDB_NOTFOUND;
        if (rc == MDB_NOTFOUND)
            rv = corrupt(store, index, "is missing");
        else if (rc != 0)
            rv = store_mdb_error(store, rc, "reading the log");
        else
            rv = decode(store, index, &v, &e);
        if (rv != 0)
            break;
        if (out != NULL && e.type == REFRAFT_ENTRY_REF) {
            memcpy(store->arena + used, e.ref.id, e.ref.id_len);
            e.ref.id = store->arena + used;
        }
        if (out != NULL)
            out[i] = e;
        used += e.ref.id_len;
    }
    mdb_cursor_close(cur);
    *id_bytes = used;
    return rv;
}

static int get_op(refstore *store, MDB_txn *txn, void *arg)
{
    const get_arg *a = arg;
    size_t need;
    int rv = walk(store, txn, a, NULL, &need);
    if (rv != 0)
        return rv;
    if (refraft_grow((void **)&store->arena, &store->arena_cap, need, 1) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "out of memory for %zu bytes of record ids", need);
    return walk(store, txn, a, a->out, &need);
}

static int log_get(void *ctx, refraft_index from, size_t max,
                   refraft_entry *out, size_t *n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (n == NULL || (out == NULL && max > 0))
        return store_errorf(store, REFRAFT_EINVAL, "n or out is NULL");
    if (from == 0)
        return store_errorf(store, REFRAFT_ENOTFOUND,
                            "index 0 is before the first index 1");
    if (from > store->last_index || max == 0) {
        *n = 0;
        return 0;
    }
    refraft_index left = store->last_index - from + 1;
    get_arg a = {from, left < max ? (size_t)left : max, out};
    rv = txn_read(store, get_op, &a);
    if (rv == 0)
        *n = a.count;
    return rv;
}

/* ---- Append and truncate ---------------------------------------------- */

/* Why e cannot go at index after an entry of prev_term (memlog's rules),
 * or NULL. */
static const char *
bad_entry(const refraft_entry *e, refraft_index index, refraft_term prev_term)
{
    /* Term 0 belongs to index 0 alone; terms never go back (Raft §5.3). */
    if (e->term == 0)
        return "has term 0";
    if (e->term < prev_term)
        return "has a term below the entry before it";
    if (e->type == REFRAFT_ENTRY_NOOP)
        return NULL;
    /* A VOID abandons an earlier entry, never itself or a later one. */
    if (e->type == REFRAFT_ENTRY_VOID)
        return e->voided >= 1 && e->voided < index
                   ? NULL
                   : "is a VOID whose voided index is 0 or not below its "
                     "own";
    if (e->type != REFRAFT_ENTRY_REF)
        return "has a type other than NOOP, REF and VOID";
    if (e->ref.id == NULL || e->ref.id_len == 0 ||
        e->ref.id_len > REFRAFT_RECORD_ID_MAX)
        return "has a record id that is not 1..255 bytes";
    return NULL;
}

typedef struct append_arg {
    const refraft_entry *entries;
    size_t n;
} append_arg;

static int append_op(refstore *store, MDB_txn *txn, void *arg)
{
    const append_arg *a = arg;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "appending to the log");
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        uint8_t buf[LOG_VALUE_MAX];
        log_key k;
        key_init(&k, store->last_index + 1 + i);
        MDB_val v = {encode(&a->entries[i], buf), buf};
        rc = mdb_cursor_put(cur, &k.val, &v, MDB_APPEND);
    }
    mdb_cursor_close(cur);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "appending to the log");
}

/* What append and stage check before writing. */
static int check_batch(refstore *store, const refraft_entry *entries, size_t n)
{
    if (entries == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "entries is NULL");
    refraft_term prev = store->last_term;
    for (size_t i = 0; i < n; i++) {
        const char *why =
            bad_entry(&entries[i], store->last_index + 1 + i, prev);
        if (why != NULL)
            return store_errorf(store, REFRAFT_EINVAL,
                                "entry %zu of the batch %s", i, why);
        prev = entries[i].term;
    }
    return 0;
}

/* Group commit: the whole batch is one transaction and one sync. */
static int log_append(void *ctx, const refraft_entry *entries, size_t n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0 || n == 0)
        return rv;
    rv = check_batch(store, entries, n);
    if (rv != 0)
        return rv;
    append_arg a = {entries, n};
    rv = txn_durable(store, append_op, &a);
    if (rv == 0) {
        store->last_index += n;
        store->last_term = entries[n - 1].term;
    }
    return rv;
}

/* Keep the encoded entries (a 2-byte length before each value) for
 * log_restage. */
static int keep_staged(refstore *store, const refraft_entry *entries, size_t n)
{
    if (refraft_grow((void **)&store->staged_buf, &store->staged_cap,
                     n * (2 + LOG_VALUE_MAX), 1) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "no memory to keep %zu staged entries", n);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = encode(&entries[i], store->staged_buf + at + 2);
        store->staged_buf[at] = (uint8_t)(len >> 8);
        store->staged_buf[at + 1] = (uint8_t)len;
        at += 2 + len;
    }
    store->staged_len = at;
    return 0;
}

/* The staged entries go at the indexes after staged_prev's: from
 * last_index + 1 while stage runs (staged still 0), at the same indexes
 * when a sync writes them again. */
int log_restage(refstore *store, MDB_txn *txn)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "staging log entries");
    refraft_index index = store->last_index - store->staged + 1;
    for (size_t at = 0; rc == 0 && at < store->staged_len; index++) {
        size_t len =
            (size_t)store->staged_buf[at] << 8 | store->staged_buf[at + 1];
        log_key k;
        key_init(&k, index);
        MDB_val v = {len, store->staged_buf + at + 2};
        rc = mdb_cursor_put(cur, &k.val, &v, MDB_APPEND);
        at += 2 + len;
    }
    mdb_cursor_close(cur);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "staging log entries");
}

static int restage_op(refstore *store, MDB_txn *txn, void *arg)
{
    (void)arg;
    return log_restage(store, txn);
}

/* The leader's append in two steps (refraft_log_api.stage and sync): the
 * entries go into the open write transaction (into a propose's, beside
 * its records), readable at once, and commit with the sync. */
static int log_stage(void *ctx, const refraft_entry *entries, size_t n)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0 || n == 0)
        return rv;
    if (store->staged > 0)
        return store_errorf(store, REFRAFT_EINVAL,
                            "%zu entries are staged already: sync them "
                            "before staging more",
                            store->staged);
    rv = check_batch(store, entries, n);
    if (rv == 0)
        rv = keep_staged(store, entries, n);
    if (rv == 0)
        rv = txn_stage(store, restage_op, NULL);
    if (rv == 0) {
        store->staged = n;
        store->staged_prev_term = store->last_term;
        store->last_index += n;
        store->last_term = entries[n - 1].term;
    }
    return rv;
}

static int log_sync(void *ctx)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (store == NULL || store->staged == 0)
        return rv;
    /* Whatever happens, the node counts the staged entries as durable
     * only on 0: the store forgets them on every other answer. */
    if (rv == 0)
        rv = txn_sync(store);
    if (rv != 0)
        log_unstage(store);
    else
        store->staged = 0;
    return rv;
}

void log_unstage(refstore *store)
{
    if (store->staged == 0)
        return;
    store->last_index -= store->staged;
    store->last_term = store->staged_prev_term;
    store->staged = 0;
}

typedef struct truncate_arg {
    refraft_index from;
    refraft_term term; /* of the entry at from - 1, the new last */
    refstore *store;
} truncate_arg;

static int call_truncate_hook(void *arg, MDB_txn *txn)
{
    const truncate_arg *a = arg;
    return a->store->on_truncate(a->store->app_ctx, txn, a->from);
}

static int delete_from(refstore *store, MDB_txn *txn, refraft_index from)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store->db_log, &cur);
    if (rc != 0)
        return store_mdb_error(store, rc, "truncating the log");
    log_key k;
    key_init(&k, from);
    MDB_val key = k.val, v;
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    /* After a delete the cursor already points at the next entry, which
     * MDB_NEXT then returns. */
    while (rc == 0) {
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0)
            rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return store_mdb_error(store, rc, "truncating the log");
    return 0;
}

static int truncate_op(refstore *store, MDB_txn *txn, void *arg)
{
    truncate_arg *a = arg;
    int rv = delete_from(store, txn, a->from);
    a->term = 0;
    if (rv == 0 && a->from > 1) {
        term_arg t = {a->from - 1, 0};
        rv = term_op(store, txn, &t);
        a->term = t.term;
    }
    /* The data index counts entries whose records are here; the entries
     * that will take the removed ones' places are not known yet. */
    if (rv == 0 && store->data_index >= a->from)
        rv = store_meta_put_u64(store, txn, META_DATA, a->from - 1);
    if (rv == 0 && store->on_truncate != NULL)
        rv = txn_call_app(store, txn, call_truncate_hook, a,
                          "the truncate hook");
    return rv;
}

static int log_truncate(void *ctx, refraft_index from)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (from == 0 || from > store->last_index + 1)
        return store_errorf(store, REFRAFT_EINVAL,
                            "truncating from %llu, outside 1..%llu",
                            (unsigned long long)from,
                            (unsigned long long)store->last_index + 1);
    /* Applied entries are committed, and committed entries are never
     * truncated (Raft §5.4): a request to is a bug above us. */
    if (from <= store->applied_pending)
        return store_errorf(store, REFRAFT_EINVAL,
                            "truncating from %llu would remove applied "
                            "entries (applied index %llu)",
                            (unsigned long long)from,
                            (unsigned long long)store->applied_pending);
    if (from == store->last_index + 1)
        return 0;
    truncate_arg a = {from, 0, store};
    rv = txn_durable(store, truncate_op, &a);
    if (rv == 0) {
        store->last_index = from - 1;
        store->last_term = a.term;
        if (store->data_index >= from)
            store->data_index = from - 1;
    }
    return rv;
}

/* ---- Hard state ------------------------------------------------------- */

/* Stored as the term (8 bytes) followed by the voted-for id. */
typedef struct hard_state {
    refraft_term term;
    size_t vote_len;
    char vote[REFRAFT_ID_MAX + 1];
} hard_state;

static int save_op(refstore *store, MDB_txn *txn, void *arg)
{
    const hard_state *h = arg;
    uint8_t buf[8 + REFRAFT_ID_MAX];
    store_put_u64(buf, h->term);
    memcpy(buf + 8, h->vote, h->vote_len);
    MDB_val k = {strlen(META_HARD_STATE), META_HARD_STATE};
    MDB_val v = {8 + h->vote_len, buf};
    int rc = mdb_put(txn, store->db_meta, &k, &v, 0);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "saving the hard state");
}

static int
log_save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    hard_state h = {term, 0, ""};
    if (voted_for != NULL)
        h.vote_len = store_bounded_len(voted_for, REFRAFT_ID_MAX);
    if (h.vote_len > REFRAFT_ID_MAX)
        return store_errorf(store, REFRAFT_EINVAL,
                            "voted_for is longer than %d bytes",
                            REFRAFT_ID_MAX);
    memcpy(h.vote, voted_for != NULL ? voted_for : "", h.vote_len);
    return txn_durable(store, save_op, &h);
}

static int load_op(refstore *store, MDB_txn *txn, void *arg)
{
    hard_state *h = arg;
    MDB_val k = {strlen(META_HARD_STATE), META_HARD_STATE}, v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_mdb_error(store, rc, "loading the hard state");
    if (v.mv_size < 8 || v.mv_size > 8 + REFRAFT_ID_MAX ||
        memchr((const uint8_t *)v.mv_data + 8, '\0', v.mv_size - 8) != NULL)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the hard state is malformed",
                            store->path);
    h->term = store_get_u64(v.mv_data);
    h->vote_len = v.mv_size - 8;
    memcpy(h->vote, (const uint8_t *)v.mv_data + 8, h->vote_len);
    return 0;
}

static int log_load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    refstore *store = ctx;
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (term == NULL || voted_for == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "term or voted_for is NULL");
    hard_state h = {0, 0, ""};
    rv = txn_read(store, load_op, &h);
    if (rv != 0)
        return rv;
    *term = h.term;
    memcpy(voted_for, h.vote, h.vote_len);
    voted_for[h.vote_len] = '\0';
    return 0;
}

void refstore_log_api(refstore *store, refraft_log_api *api)
{
    if (api == NULL)
        return;
    memset(api, 0, sizeof(*api));
    api->version = REFRAFT_LOG_API_VERSION;
    api->ctx = store;
    api->first_index = log_first_index;
    api->last_index = log_last_index;
    api->term_at = log_term_at;
    api->get = log_get;
    api->append = log_append;
    api->truncate = log_truncate;
    api->save_hard_state = log_save_hard_state;
    api->load_hard_state = log_load_hard_state;
    api->stage = log_stage;
    api->sync = log_sync;
}
