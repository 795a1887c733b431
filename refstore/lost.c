/* lost.c - lost records: the records database's identity, the check at
 * open that notices a wiped or replaced record store, and the wipe that
 * recovery drills use. */
#include <string.h>

#include <openssl/rand.h>

#include "store.h"

/*
 * Why an identity.  A node that lost its records but kept its log (a disk
 * replaced under the records, a restore from an old backup, a drill) must
 * not tell a leader that a record is absent: the leader counts such
 * answers to void entries (hole filling, DESIGN.md), and an "absent" from
 * a node that merely forgot could void a committed record.  So the store
 * names its records database with random bytes kept in meta, in the
 * records database itself and in record_digests.  The digests count as
 * part of the records: refstore_record_has() calls a record without its
 * digest absent, so digests lost while the records stayed are a loss as
 * much as lost records are (and a store written before record_digests
 * existed opens with none).  At open, if the three differ or any is
 * missing, the records were lost while the log stayed: every entry in the
 * log may name a record that is gone, or that the store no longer counts
 * as present.  The store then saves the log's last index as
 * records_lost_upto (the node answers "unknown" for those until it has
 * fetched them again), resets the data index, and names the records
 * afresh, all in the transaction that opens the store.
 */

/*
 * The key under which the records database and record_digests keep their
 * identity: a zero byte, then the prefix, padded with zeros to
 * IDENTITY_KEY_LEN bytes, longer than any record id, so that
 * refstore_record_get, has, put and delete, which accept ids of
 * 1..REFRAFT_RECORD_ID_MAX bytes only, never reach it.  The zero byte
 * sorts it before every id that does not start with one, out of the way
 * of ids that grow: LMDB fills a page that keys are appended to, but
 * splits one in half for an insert before its last key, which is where
 * every new id went while the key sorted last (stores before format 4,
 * which keep it there: the prefix without the zero byte).
 */
static MDB_val
identity_key(const refstore *store, uint8_t buf[IDENTITY_KEY_LEN])
{
    _Static_assert(sizeof(IDENTITY_KEY_PREFIX) < IDENTITY_KEY_LEN,
                   "identity key prefix too long");
    size_t at = store->format >= STORE_FORMAT_IDENTITY_FIRST ? 1 : 0;
    memset(buf, 0, IDENTITY_KEY_LEN);
    memcpy(buf + at, IDENTITY_KEY_PREFIX, sizeof(IDENTITY_KEY_PREFIX) - 1);
    MDB_val k = {IDENTITY_KEY_LEN, buf};
    return k;
}

static MDB_val meta_identity_key(void)
{
    MDB_val k = {sizeof(META_RECORDS_IDENTITY) - 1,
                 (void *)META_RECORDS_IDENTITY};
    return k;
}

/* Read the identity stored in dbi under k into out; *found is false when
 * there is none.  An identity of the wrong size is corruption. */
static int read_identity(refstore *store, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                         const char *where, uint8_t *out, bool *found)
{
    MDB_val v;
    int rc = mdb_get(txn, dbi, k, &v);
    *found = false;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the records identity");
    if (v.mv_size != RECORDS_IDENTITY_LEN)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: the records identity in %s has %zu "
                            "bytes, not %d",
                            store->path, where, v.mv_size,
                            RECORDS_IDENTITY_LEN);
    memcpy(out, v.mv_data, RECORDS_IDENTITY_LEN);
    *found = true;
    return 0;
}

/* Name the records afresh, in meta, the records database and
 * record_digests. */
static int write_identity(refstore *store, MDB_txn *txn)
{
    uint8_t id[RECORDS_IDENTITY_LEN];
    if (RAND_bytes(id, (int)sizeof(id)) != 1)
        return store_errorf(store, REFRAFT_EIO,
                            "store %s: OpenSSL gave no random bytes for the "
                            "records identity",
                            store->path);
    uint8_t buf[IDENTITY_KEY_LEN];
    MDB_val mk = meta_identity_key(), rk = identity_key(store, buf);
    MDB_val v = {sizeof(id), id};
    int rc = mdb_put(txn, store->db_meta, &mk, &v, 0);
    if (rc == 0)
        rc = mdb_put(txn, store->db_records, &rk, &v, 0);
    if (rc == 0)
        rc = mdb_put(txn, store->db_record_digests, &rk, &v, 0);
    return rc == 0 ? 0
                   : store_mdb_error(store, rc, "writing the records identity");
}

/*
 * Count the records of every entry now in the log as possibly lost:
 * records_lost_upto rises to the last index (it never falls here; only
 * refstore_clear_records_lost() lowers it), and the data index, which
 * vouched for records that are gone, drops to 0.  The in-memory copies
 * follow once the caller's transaction commits.
 */
static int record_loss(refstore *store, MDB_txn *txn, refraft_index *lost)
{
    int rv = store_meta_get_u64(store, txn, META_RECORDS_LOST, lost);
    if (rv == 0 && store->last_index > *lost) {
        *lost = store->last_index;
        rv = store_meta_put_u64(store, txn, META_RECORDS_LOST, *lost);
    }
    if (rv == 0 && store->data_index > 0)
        rv = store_meta_put_u64(store, txn, META_DATA, 0);
    return rv;
}

int lost_check(refstore *store, MDB_txn *txn)
{
    uint8_t in_meta[RECORDS_IDENTITY_LEN], in_records[RECORDS_IDENTITY_LEN],
        in_digests[RECORDS_IDENTITY_LEN];
    uint8_t buf[IDENTITY_KEY_LEN];
    bool meta_found, records_found, digests_found;
    MDB_val mk = meta_identity_key(), rk = identity_key(store, buf);
    int rv = read_identity(store, txn, store->db_meta, &mk, "meta", in_meta,
                           &meta_found);
    if (rv == 0)
        rv = read_identity(store, txn, store->db_records, &rk,
                           "the records database", in_records, &records_found);
    if (rv == 0)
        rv = read_identity(store, txn, store->db_record_digests, &rk,
                           "record_digests", in_digests, &digests_found);
    if (rv != 0)
        return rv;
    refraft_index lost = 0;
    if (meta_found && records_found && digests_found &&
        memcmp(in_meta, in_records, RECORDS_IDENTITY_LEN) == 0 &&
        memcmp(in_meta, in_digests, RECORDS_IDENTITY_LEN) == 0) {
        rv = store_meta_get_u64(store, txn, META_RECORDS_LOST, &lost);
        if (rv == 0)
            store->records_lost_upto = lost;
        return rv;
    }
    /* A new store (its log is empty, so nothing counts as lost), records
     * or digests that are not the ones the log was written with, or a
     * store from before record_digests. */
    rv = record_loss(store, txn, &lost);
    if (rv == 0)
        rv = write_identity(store, txn);
    if (rv != 0)
        return rv;
    store->records_lost_upto = lost;
    store->data_index = 0;
    return 0;
}

refraft_index refstore_records_lost_upto(const refstore *store)
{
    return store != NULL ? store->records_lost_upto : 0;
}

/* ---- Clearing the loss ------------------------------------------------ */

static int clear_op(refstore *store, MDB_txn *txn, void *arg)
{
    (void)arg;
    return store_meta_put_u64(store, txn, META_RECORDS_LOST, 0);
}

int refstore_clear_records_lost(refstore *store)
{
    int rv = store_enter(store);
    if (rv != 0 || store->records_lost_upto == 0)
        return rv;
    rv = txn_durable(store, clear_op, NULL);
    if (rv == 0)
        store->records_lost_upto = 0;
    return rv;
}

/* ---- Wipe --------------------------------------------------------------- */

typedef struct wipe_arg {
    refraft_index lost;
} wipe_arg;

/* Empty the records database and record_digests, identity included, and
 * count the loss at once, as the next open would. */
static int wipe_op(refstore *store, MDB_txn *txn, void *arg)
{
    wipe_arg *a = arg;
    int rc = mdb_drop(txn, store->db_records, 0);
    if (rc == 0)
        rc = mdb_drop(txn, store->db_record_digests, 0);
    if (rc != 0)
        return store_mdb_error(store, rc, "wiping the records");
    return record_loss(store, txn, &a->lost);
}

int refstore_records_wipe(refstore *store)
{
    int rv = store_enter(store);
    if (rv != 0)
        return rv;
    wipe_arg a = {0};
    rv = txn_durable(store, wipe_op, &a);
    if (rv == 0) {
        store->records_lost_upto = a.lost;
        store->data_index = 0;
    }
    return rv;
}
