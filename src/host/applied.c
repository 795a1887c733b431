/* applied.c - which records a client may read: the ids of the REF entries
 * this node has applied, kept in the application's own LMDB database
 * "applied" (or "applied.b": snapshot.c keeps the state in two copies) in
 * the store's environment, written by the apply hook. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Why.  A record is stored before its entry commits (the leader stores it
 * with the proposal, a follower with the AppendEntries that carries it),
 * and that entry may still be truncated: the write fails.  So having a
 * record proves nothing; having applied its entry does.  The apply hook
 * runs in the transaction that records the applied index, so "applied"
 * and the applied index commit together (refstore.h, exactly-once apply).
 *
 * On disk.  key: the record id (1..REFRAFT_RECORD_ID_MAX bytes).  value:
 * the index of the first REF entry applied for it, its size (8-byte
 * big-endian integers) and its SHA-256 digest (32 bytes).  One more key
 * of 256 bytes, longer than any record id (a zero byte, then
 * "refraft:applied-built", padded with zero bytes), says the database is
 * complete: written when it is created on a new store, or once the
 * rebuild from the log (below) finished.  Truncations never touch it: only
 * committed entries apply, and committed entries are never truncated.
 *
 * The zero byte puts the key before every record id that does not start
 * with one.  At the end of the database it sat after the newest ids of an
 * application that numbers its records in order, and LMDB fills a page
 * only when keys go after its last one: for an insert before the last key
 * it splits the page in half, so every page was left half empty and each
 * commit wrote twice the pages.  Stores written before have the key
 * without the zero byte (legacy_built_key); opening one moves it.
 */
#define APPLIED_VALUE_LEN (8 + 8 + REFRAFT_DIGEST_LEN)
#define BUILT_KEY_LEN 256
static const uint8_t built_key[BUILT_KEY_LEN] = "\0refraft:applied-built";
static const uint8_t legacy_built_key[BUILT_KEY_LEN] = "refraft:applied-built";

/* Entries read from the log per call (their ids are valid only until the
 * next call) and REF entries recorded per transaction in the rebuild. */
#define REBUILD_CHUNK 256

int host_mdb_code(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_MAP_FULL:
        return REFRAFT_ENOSPC;
    case MDB_TXN_FULL:
        return REFRAFT_ETOOBIG;
    case MDB_NOTFOUND:
        return REFRAFT_ENOTFOUND;
    default:
        return REFRAFT_EIO;
    }
}

/* A record written again under the same id (a second REF entry) keeps
 * the first index: the record was readable from then on.  So running
 * this twice for one index changes nothing (the hook may run again:
 * refstore.h). */
int host_applied_record(MDB_txn *txn, MDB_dbi dbi, refraft_index index,
                        const refraft_ref *ref)
{
    uint8_t value[APPLIED_VALUE_LEN];
    host_put_u64(value, index);
    host_put_u64(value + 8, ref->size);
    memcpy(value + 16, ref->digest, REFRAFT_DIGEST_LEN);
    MDB_val k = {ref->id_len, (void *)ref->id};
    MDB_val v = {sizeof value, value};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? 0 : host_mdb_code(rc);
}

/* ---- the apply hook ----------------------------------------------------- */

int host_applied_hook(void *app_ctx, MDB_txn *txn, refraft_index index,
                      const refraft_entry *entry)
{
    host *h = app_ctx;
    /* ABANDONED: the write failed, and a copy of its record that turns up
     * is to be ignored, so its id is not recorded (an earlier write of the
     * same id that applied stays readable).  NOOP, VOID, CONFIG: no
     * record. */
    if (entry->type != REFRAFT_ENTRY_REF)
        return 0;
    if (!h->applied_ready)
        return REFRAFT_EINVAL; /* host_applied_open comes first */
    int rv = host_applied_record(txn, h->applied_dbi, index, &entry->ref);
    /* The same entry by index: the reference state snapshots read. */
    if (rv == 0)
        rv = host_index_put(h, txn, index, &entry->ref);
    if (rv != 0 && rv != REFRAFT_ENOSPC)
        host_log(h, HOST_LOG_ERROR, "recording entry %llu as applied: %s",
                 (unsigned long long)index, refraft_strerror(rv));
    return rv;
}

/* ---- opening and the rebuild -------------------------------------------- */

struct open_ctx {
    host *h;
    MDB_dbi dbi;
    bool built;
    bool index_built; /* the reference state by index (snapshot.c) */
    bool mark;        /* write the built keys (nothing to rebuild) */
};

int host_applied_mark_built(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_val k = {BUILT_KEY_LEN, (void *)built_key};
    MDB_val v = {0, (void *)""};
    return host_mdb_code(mdb_put(txn, dbi, &k, &v, 0));
}

/* A store written before the built key moved: move it.  Returns LMDB's
 * code: MDB_NOTFOUND when the database has no built key at all. */
static int move_legacy_built_key(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_val old = {BUILT_KEY_LEN, (void *)legacy_built_key};
    MDB_val k = {BUILT_KEY_LEN, (void *)built_key}, v;
    int rc = mdb_get(txn, dbi, &old, &v);
    if (rc == 0)
        rc = mdb_del(txn, dbi, &old, NULL);
    if (rc == 0)
        rc = mdb_put(txn, dbi, &k, &(MDB_val){0, (void *)""}, 0);
    return rc;
}

/* Open (create) the databases and see whether they are complete. */
static int open_db(void *ctx, MDB_txn *txn)
{
    struct open_ctx *o = ctx;
    int rv = host_index_open(o->h, txn, o->mark, &o->index_built);
    if (rv != 0)
        return rv;
    o->dbi = o->h->applied_dbi;
    MDB_val k = {BUILT_KEY_LEN, (void *)built_key}, v;
    int rc = mdb_get(txn, o->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        rc = move_legacy_built_key(txn, o->dbi);
    if (rc == 0) {
        o->built = true;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return host_mdb_code(rc);
    if (!o->mark)
        return 0;
    o->built = true;
    return host_applied_mark_built(txn, o->dbi);
}

/* One rebuild transaction: n REF entries, and the built keys when last. */
struct rebuild_batch {
    host *h;
    MDB_dbi dbi;
    size_t n;
    bool last;
    refraft_index index[REBUILD_CHUNK];
    refraft_ref ref[REBUILD_CHUNK];
    uint8_t id[REBUILD_CHUNK][REFRAFT_RECORD_ID_MAX];
};

static int write_batch(void *ctx, MDB_txn *txn)
{
    struct rebuild_batch *b = ctx;
    for (size_t i = 0; i < b->n; i++) {
        int rv = host_applied_record(txn, b->dbi, b->index[i], &b->ref[i]);
        if (rv == 0)
            rv = host_index_put(b->h, txn, b->index[i], &b->ref[i]);
        if (rv != 0)
            return rv;
    }
    if (!b->last)
        return 0;
    int rv = host_applied_mark_built(txn, b->dbi);
    return rv != 0 ? rv : host_index_mark_built(b->h, txn);
}

static int cmp_index(const void *a, const void *b)
{
    refraft_index x = *(const refraft_index *)a;
    refraft_index y = *(const refraft_index *)b;
    return x < y ? -1 : x > y;
}

/* The indexes that the log's VOID entries abandon, sorted, into *out
 * (malloc'd; NULL when there are none). */
static int collect_voided(const refraft_log_api *log, refraft_entry *ents,
                          refraft_index **out, size_t *n_out)
{
    refraft_index *v = NULL;
    size_t n = 0, cap = 0;
    refraft_index last = log->last_index(log->ctx);
    for (refraft_index at = log->first_index(log->ctx); at <= last;) {
        size_t got = 0;
        int rv = log->get(log->ctx, at, REBUILD_CHUNK, ents, &got);
        if (rv == 0 && got == 0)
            rv = REFRAFT_ENOTFOUND;
        for (size_t i = 0; rv == 0 && i < got; i++) {
            if (ents[i].type != REFRAFT_ENTRY_VOID)
                continue;
            if (n == cap) {
                size_t c = cap != 0 ? 2 * cap : 64;
                refraft_index *p = realloc(v, c * sizeof *v);
                if (p == NULL) {
                    rv = REFRAFT_ENOMEM;
                    break;
                }
                v = p;
                cap = c;
            }
            v[n++] = ents[i].voided;
        }
        if (rv != 0) {
            free(v);
            return rv;
        }
        at += got;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_index);
    *out = v;
    *n_out = n;
    return 0;
}

/*
 * A store from before "applied" (or "applied_by_index") existed, or whose
 * rebuild was cut short, has applied entries the databases do not name.
 * Walk the log from its first index (1: it never compacted) up to the
 * applied index and record every REF entry in both, as the hook did, except
 * those a VOID in the log abandons: a committed VOID (at or below the applied
 * index) made the node apply them as ABANDONED, and for one above it whether it
 * commits is not known yet, so the write is taken as failed (never serve a
 * write that may have failed; the record stays readable through any node that
 * applied it otherwise). Each chunk is a transaction of its own; the built key
 * comes with the last, so a crash halfway means a rebuild from the start at the
 * next start, which records nothing twice.
 */
static int rebuild(host *h, MDB_dbi dbi)
{
    refraft_log_api log;
    refstore_log_api(h->store, &log);
    refraft_entry *ents = calloc(REBUILD_CHUNK, sizeof *ents);
    struct rebuild_batch *b = calloc(1, sizeof *b);
    refraft_index *voided = NULL;
    size_t n_voided = 0;
    int rv = ents != NULL && b != NULL ? 0 : REFRAFT_ENOMEM;
    if (rv == 0)
        rv = collect_voided(&log, ents, &voided, &n_voided);
    refraft_index upto = refstore_applied_index(h->store);
    refraft_index at = log.first_index(log.ctx);
    uint64_t recorded = 0;
    if (rv == 0) {
        b->h = h;
        b->dbi = dbi;
    }
    while (rv == 0 && !b->last) {
        size_t want = at <= upto && upto - at + 1 < REBUILD_CHUNK
                          ? (size_t)(upto - at + 1)
                          : REBUILD_CHUNK;
        size_t got = 0;
        if (at <= upto)
            rv = log.get(log.ctx, at, want, ents, &got);
        if (rv == 0 && at <= upto && got == 0)
            rv = REFRAFT_ENOTFOUND;
        b->n = 0;
        for (size_t i = 0; rv == 0 && i < got; i++) {
            refraft_index index = at + i;
            if (ents[i].type != REFRAFT_ENTRY_REF ||
                (n_voided > 0 && bsearch(&index, voided, n_voided,
                                         sizeof *voided, cmp_index) != NULL))
                continue;
            b->index[b->n] = index;
            b->ref[b->n] = ents[i].ref;
            memcpy(b->id[b->n], ents[i].ref.id, ents[i].ref.id_len);
            b->ref[b->n].id = b->id[b->n];
            b->n++;
        }
        at += got;
        b->last = at > upto;
        if (rv == 0)
            rv = refstore_write(h->store, write_batch, b);
        recorded += b->n;
    }
    if (rv == 0)
        host_log(h, HOST_LOG_INFO,
                 "rebuilt the applied records from the log: %llu REF "
                 "entries up to the applied index %llu",
                 (unsigned long long)recorded, (unsigned long long)upto);
    free(voided);
    free(b);
    free(ents);
    return rv;
}

int host_applied_open(host *h, char *errbuf, size_t len)
{
    /* A store that has applied nothing has nothing to rebuild: it is
     * complete from the start. */
    struct open_ctx o = {.h = h, .mark = refstore_applied_index(h->store) == 0};
    int rv = refstore_write(h->store, open_db, &o);
    refraft_log_api log;
    refstore_log_api(h->store, &log);
    refraft_index first = log.first_index(log.ctx);
    if (rv == 0 && (!o.built || !o.index_built)) {
        /* A log that never compacted holds every applied entry; one that
         * did (or installed a snapshot) holds the rest of the state only
         * in the reference state by index, which it has had since. */
        if (first <= 1) {
            rv = rebuild(h, o.dbi);
        } else if (o.index_built) {
            rv = host_index_rebuild_applied(h, o.dbi);
        } else {
            snprintf(errbuf, len,
                     "the log starts at %llu and the reference state by "
                     "index (\"applied_by_index\", or \"applied_by_index.b\" "
                     "after an install) is incomplete: the applied records "
                     "cannot be rebuilt",
                     (unsigned long long)first);
            return REFRAFT_ECORRUPT;
        }
    }
    if (rv != 0) {
        snprintf(errbuf, len, "opening the applied records: %s (%s)",
                 refraft_strerror(rv), refstore_errmsg(h->store));
        return rv;
    }
    h->applied_dbi = o.dbi;
    h->applied_ready = true;
    return 0;
}

/* ---- the lookup --------------------------------------------------------- */

struct find_ctx {
    MDB_dbi dbi;
    const uint8_t *id;
    size_t id_len;
    struct host_applied *out;
};

static int find(void *ctx, MDB_txn *txn)
{
    struct find_ctx *f = ctx;
    MDB_val k = {f->id_len, (void *)f->id}, v;
    int rc = mdb_get(txn, f->dbi, &k, &v);
    if (rc != 0)
        return host_mdb_code(rc);
    if (v.mv_size != APPLIED_VALUE_LEN)
        return REFRAFT_ECORRUPT;
    const uint8_t *p = v.mv_data;
    f->out->index = host_get_u64(p);
    f->out->size = host_get_u64(p + 8);
    memcpy(f->out->digest, p + 16, REFRAFT_DIGEST_LEN);
    return 0;
}

int host_applied_find(host *h, const uint8_t *id, size_t id_len,
                      struct host_applied *out)
{
    if (!h->applied_ready || id_len == 0 || id_len > REFRAFT_RECORD_ID_MAX)
        return REFRAFT_EINVAL;
    struct find_ctx f = {h->applied_dbi, id, id_len, out};
    return refstore_read(h->store, find, &f);
}
