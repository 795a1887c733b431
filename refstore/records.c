/* records.c - the application's records, checked against their references
 * (size and SHA-256) on the way in and kept with their digests, and the
 * data index that counts them. */
#include <string.h>

#include "core/alloc.h"
#include "store.h"

static int check_id(refstore *store, const uint8_t *id, size_t id_len)
{
    if (id == NULL || id_len == 0 || id_len > REFRAFT_RECORD_ID_MAX)
        return store_errorf(store, REFRAFT_EINVAL,
                            "record id of %zu bytes: ids are 1..%d bytes",
                            id != NULL ? id_len : 0, REFRAFT_RECORD_ID_MAX);
    return 0;
}

static MDB_val id_key(const uint8_t *id, size_t id_len)
{
    MDB_val k = {id_len, (void *)id};
    return k;
}

int record_check_shape(refstore *store, const refraft_ref *ref,
                       const void *bytes, size_t len)
{
    if (ref == NULL)
        return store_errorf(store, REFRAFT_EINVAL, "ref is NULL");
    int rv = check_id(store, ref->id, ref->id_len);
    if (rv != 0)
        return rv;
    if (bytes == NULL && len > 0)
        return store_errorf(store, REFRAFT_EINVAL, "bytes is NULL");
    if (len != ref->size)
        return store_errorf(store, REFRAFT_EDIGEST,
                            "record is %zu bytes; its reference says %llu", len,
                            (unsigned long long)ref->size);
    return 0;
}

int record_check(refstore *store, const refraft_ref *ref, const void *bytes,
                 size_t len)
{
    int rv = record_check_shape(store, ref, bytes, len);
    if (rv != 0)
        return rv;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    if (refraft_digest(bytes, len, digest) != 0)
        return store_errorf(store, REFRAFT_ENOMEM,
                            "computing SHA-256 failed (OpenSSL)");
    if (memcmp(digest, ref->digest, REFRAFT_DIGEST_LEN) != 0)
        return store_errorf(store, REFRAFT_EDIGEST,
                            "record's SHA-256 differs from its reference's");
    return 0;
}

/* ---- Digests ------------------------------------------------------------ */

/*
 * Beside each record, record_digests keeps its SHA-256 digest and size
 * under the same id, written and deleted in the same transaction as the
 * record.  refstore_record_has() compares a reference with them, so it can
 * tell the record a reference names from another record stored under the
 * same id (two leaders proposed different records under one id, and the
 * entry of the one kept here was discarded) without hashing the bytes.
 */

static void digest_value(uint8_t out[DIGEST_VALUE_LEN], const refraft_ref *ref)
{
    memcpy(out, ref->digest, REFRAFT_DIGEST_LEN);
    store_put_u64(out + REFRAFT_DIGEST_LEN, ref->size);
}

/* Whether v, a record_digests value, is ref's digest and size.  A value
 * of another length matches nothing: its record counts as absent until a
 * put writes the digest again. */
static bool digest_matches(const MDB_val *v, const refraft_ref *ref)
{
    uint8_t want[DIGEST_VALUE_LEN];
    digest_value(want, ref);
    return v->mv_size == DIGEST_VALUE_LEN &&
           memcmp(v->mv_data, want, DIGEST_VALUE_LEN) == 0;
}

/* Save ref's digest and size beside its record, over whatever the id
 * had: an entry left by a record deleted behind the store's back (a hook
 * deleting through refstore_record_dbi) is replaced. */
static int digest_write(refstore *store, MDB_txn *txn, const refraft_ref *ref)
{
    MDB_val k = id_key(ref->id, ref->id_len);
    uint8_t buf[DIGEST_VALUE_LEN];
    digest_value(buf, ref);
    MDB_val v = {sizeof(buf), buf};
    int rc = mdb_put(txn, store->db_record_digests, &k, &v, 0);
    return rc == 0 ? 0
                   : store_mdb_error(store, rc, "storing a record's digest");
}

/* The same, unless the digest is there already (then nothing is written:
 * no page of record_digests is dirtied for it). */
static int digest_put(refstore *store, MDB_txn *txn, const refraft_ref *ref)
{
    MDB_val k = id_key(ref->id, ref->id_len), v;
    int rc = mdb_get(txn, store->db_record_digests, &k, &v);
    if (rc == 0 && digest_matches(&v, ref))
        return 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_mdb_error(store, rc, "reading a record's digest");
    return digest_write(store, txn, ref);
}

/* ---- Put, get, has, delete ---------------------------------------------- */

/* An id names one record for good: a second, different record under it
 * is refused, so nothing is ever overwritten.  The same record again
 * gets its digest written if it has none (a store from before
 * record_digests, or one whose digest was lost), which is how a record
 * that counted as absent becomes present again. */
int record_put_in(refstore *store, MDB_txn *txn, const refraft_ref *ref,
                  const void *bytes, size_t len)
{
    MDB_val k = id_key(ref->id, ref->id_len), v = {len, (void *)bytes};
    int rc = mdb_put(txn, store->db_records, &k, &v, MDB_NOOVERWRITE);
    if (rc != 0 && rc != MDB_KEYEXIST)
        return store_mdb_error(store, rc, "storing a record");
    /* A new record: any digest under its id is stale (one whose record a
     * hook deleted), so no need to look. */
    if (rc == 0)
        return digest_write(store, txn, ref);
    /* On MDB_KEYEXIST v holds the record already there. */
    if (v.mv_size != len || (len > 0 && memcmp(v.mv_data, bytes, len) != 0))
        return store_errorf(store, REFRAFT_EDIGEST,
                            "a different record is stored under this id");
    return digest_put(store, txn, ref);
}

typedef struct put_arg {
    const refraft_ref *ref;
    const void *bytes;
    size_t len;
} put_arg;

static int put_op(refstore *store, MDB_txn *txn, void *arg)
{
    const put_arg *a = arg;
    return record_put_in(store, txn, a->ref, a->bytes, a->len);
}

int refstore_record_put(refstore *store, const refraft_ref *ref,
                        const void *bytes, size_t len)
{
    int rv = store_enter(store);
    if (rv == 0)
        rv = record_check(store, ref, bytes, len);
    if (rv != 0)
        return rv;
    put_arg a = {ref, bytes, len};
    return txn_durable(store, put_op, &a);
}

typedef struct put_batch_arg {
    const refraft_ref *refs;
    const void *const *bytes;
    size_t n;
    const bool *passed; /* the records that passed their check */
    int *results;
} put_batch_arg;

/* The records that passed their check, each put or refused on its own
 * (a different record under its id); any other failure ends the batch. */
static int put_batch_op(refstore *store, MDB_txn *txn, void *arg)
{
    const put_batch_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        if (!a->passed[i])
            continue;
        const refraft_ref *r = &a->refs[i];
        int rv = record_put_in(store, txn, r, a->bytes[i], (size_t)r->size);
        if (rv != 0 && rv != REFRAFT_EDIGEST)
            return rv;
        a->results[i] = rv;
    }
    return 0;
}

/* refstore_record_put_batch; hashed: the caller has checked each
 * record's SHA-256 against its ref (the sweeper has), so it is not
 * computed again. */
static int put_batch(refstore *store, const refraft_ref *refs,
                     const void *const *bytes, size_t n, int *results,
                     bool hashed)
{
    int rv = store_enter(store);
    if (rv == 0 && n > 0 && (refs == NULL || bytes == NULL || results == NULL))
        rv = store_errorf(store, REFRAFT_EINVAL,
                          "refs, bytes or results is NULL");
    if (rv != 0)
        return rv;
    bool *passed = refraft_calloc(n > 0 ? n : 1, sizeof *passed);
    if (passed == NULL)
        return store_errorf(store, REFRAFT_ENOMEM, "no memory for a batch");
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)refs[i].size;
        results[i] = hashed ? record_check_shape(store, &refs[i], bytes[i], len)
                            : record_check(store, &refs[i], bytes[i], len);
        passed[i] = results[i] == 0;
        ok += passed[i];
    }
    store->errmsg[0] = '\0';
    rv = 0;
    if (ok > 0) {
        put_batch_arg a = {refs, bytes, n, passed, results};
        rv = txn_durable(store, put_batch_op, &a);
        for (size_t i = 0; rv != 0 && i < n; i++)
            if (passed[i])
                results[i] = rv;
    }
    refraft_free(passed);
    return rv;
}

int refstore_record_put_batch(refstore *store, const refraft_ref *refs,
                              const void *const *bytes, size_t n, int *results)
{
    return put_batch(store, refs, bytes, n, results, false);
}

typedef struct get_arg {
    MDB_val key;
    void (*fn)(void *ctx, const void *bytes, size_t len);
    void *ctx;
} get_arg;

static int get_op(refstore *store, MDB_txn *txn, void *arg)
{
    get_arg *a = arg;
    MDB_val v;
    int rc = mdb_get(txn, store->db_records, &a->key, &v);
    if (rc == MDB_NOTFOUND)
        return store_errorf(store, REFRAFT_ENOTFOUND, "no such record");
    if (rc != 0)
        return store_mdb_error(store, rc, "reading a record");
    store->in_callback = true;
    a->fn(a->ctx, v.mv_data, v.mv_size);
    store->in_callback = false;
    return 0;
}

int refstore_record_get(refstore *store, const uint8_t *id, size_t id_len,
                        void (*fn)(void *ctx, const void *bytes, size_t len),
                        void *ctx)
{
    int rv = store_enter(store);
    if (rv == 0)
        rv = check_id(store, id, id_len);
    if (rv == 0 && fn == NULL)
        rv = store_errorf(store, REFRAFT_EINVAL, "fn is NULL");
    if (rv != 0)
        return rv;
    get_arg a = {id_key(id, id_len), fn, ctx};
    return txn_read(store, get_op, &a);
}

typedef struct has_arg {
    const refraft_ref *refs;
    size_t n;
    bool *present;
} has_arg;

/*
 * Whether ref's record is one that the running propose or receive has
 * just put (store->put_refs), so present.  The node asks about the
 * entries it has just appended, which name those records in the same
 * order: ref is looked for where the last one was found, or at the
 * start, which costs no LMDB lookup.  Any other ref is looked up.  Not
 * once the propose transaction was lost, a write failed or a record was
 * deleted (txn.c, refstore_record_delete): the records may be gone.
 */
static bool just_put(refstore *store, const refraft_ref *ref)
{
    if (store->n_put_refs == 0 || store->propose_lost)
        return false;
    size_t j = store->put_cursor < store->n_put_refs ? store->put_cursor : 0;
    if (!refraft_ref_equal(&store->put_refs[j], ref)) {
        if (j == 0 || !refraft_ref_equal(&store->put_refs[0], ref))
            return false;
        j = 0;
    }
    store->put_cursor = j + 1;
    return true;
}

/* Present: the record is there, of the ref's size, and the digest and
 * size kept beside it are the ref's.  Both lookups hand out pointers into
 * the map; no record is copied or hashed. */
static int has_op(refstore *store, MDB_txn *txn, void *arg)
{
    const has_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        const refraft_ref *ref = &a->refs[i];
        if (just_put(store, ref)) {
            a->present[i] = true;
            continue;
        }
        MDB_val k = id_key(ref->id, ref->id_len), digest, record;
        int rc = mdb_get(txn, store->db_record_digests, &k, &digest);
        if (rc == 0)
            rc = mdb_get(txn, store->db_records, &k, &record);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return store_mdb_error(store, rc, "reading a record");
        a->present[i] = rc == 0 && digest_matches(&digest, ref) &&
                        record.mv_size == ref->size;
    }
    return 0;
}

int refstore_record_has(refstore *store, const refraft_ref *refs, size_t n,
                        bool *present)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (n > 0 && (refs == NULL || present == NULL))
        return store_errorf(store, REFRAFT_EINVAL, "refs or present is NULL");
    for (size_t i = 0; i < n; i++) {
        rv = check_id(store, refs[i].id, refs[i].id_len);
        if (rv != 0)
            return rv;
    }
    has_arg a = {refs, n, present};
    return n > 0 ? txn_read(store, has_op, &a) : 0;
}

/* The record and its digest go together; a record without a digest (a
 * store from before record_digests) is deleted all the same. */
static int delete_op(refstore *store, MDB_txn *txn, void *arg)
{
    MDB_val *k = arg;
    int rc = mdb_del(txn, store->db_records, k, NULL);
    if (rc == MDB_NOTFOUND)
        return store_errorf(store, REFRAFT_ENOTFOUND, "no such record");
    if (rc != 0)
        return store_mdb_error(store, rc, "deleting a record");
    rc = mdb_del(txn, store->db_record_digests, k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_mdb_error(store, rc, "deleting a record's digest");
    return 0;
}

int refstore_record_delete(refstore *store, const uint8_t *id, size_t id_len)
{
    int rv = store_enter(store);
    if (rv == 0)
        rv = check_id(store, id, id_len);
    if (rv != 0)
        return rv;
    MDB_val k = id_key(id, id_len);
    store->n_put_refs = 0; /* it may be one a running propose put */
    return txn_durable(store, delete_op, &k);
}

/* ---- Data index ------------------------------------------------------- */

static int data_index_op(refstore *store, MDB_txn *txn, void *arg)
{
    const refraft_index *index = arg;
    return store_meta_put_u64(store, txn, META_DATA, *index);
}

int refstore_set_data_index(refstore *store, refraft_index index)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    if (index > store->last_index)
        return store_errorf(store, REFRAFT_EINVAL,
                            "data index %llu is past the last index %llu",
                            (unsigned long long)index,
                            (unsigned long long)store->last_index);
    rv = txn_durable(store, data_index_op, &index);
    if (rv == 0)
        store->data_index = index;
    return rv;
}

/* ---- The sweeper's record store --------------------------------------- */

/* The sweeper calls through void * contexts; these pass the store on. */

static int
adapter_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    return refstore_record_has(ctx, refs, n, present);
}

static int
adapter_put(void *ctx, const refraft_ref *ref, const void *bytes, size_t len)
{
    return refstore_record_put(ctx, ref, bytes, len);
}

/* The sweeper hands over records it has verified (sweeper.h). */
static int adapter_put_batch(void *ctx, const refraft_ref *refs,
                             const void *const *bytes, size_t n, int *results)
{
    return put_batch(ctx, refs, bytes, n, results, true);
}

static int adapter_remove(void *ctx, const uint8_t *id, size_t id_len)
{
    return refstore_record_delete(ctx, id, id_len);
}

static int adapter_clear_lost(void *ctx)
{
    return refstore_clear_records_lost(ctx);
}

void refstore_record_store(refstore *store, refraft_record_store *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    out->ctx = store;
    out->have = adapter_have;
    out->put = adapter_put;
    out->remove = adapter_remove;
    out->clear_lost = adapter_clear_lost;
    out->put_batch = adapter_put_batch;
}
