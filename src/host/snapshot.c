/* snapshot.c - the node runtime's reference state by index, and the
 * snapshot hooks that read, stage and install it (Raft §7, thesis §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Why.  A reference snapshot at S is the references of the REF entries up
 * to S that were applied as REF, each with its entry's index, in index
 * order (refraft.h).  The database "applied" is keyed by record id and
 * keeps only the first index per id, so it cannot be read in index
 * order: the apply hook also writes each applied REF entry into
 * "applied_by_index", which the leader's hull.snapshot_read and the
 * sweeper read a prefix of.  A snapshot stays readable while later
 * entries apply, since entries are only ever added past it.
 *
 * Two copies.  The state is kept in one of two pairs of databases,
 * "applied" and "applied_by_index" or "applied.b" and
 * "applied_by_index.b"; the other pair is the spare.  A follower writes
 * the chunks it receives straight into the spare pair, one transaction
 * per chunk, and the log's install transaction (refstore's on_install
 * hook) only marks the spare complete, empties the live pair and names
 * the spare live: the state, the emptied log, the applied and data index
 * and the lost records mark all commit together, or none of them does.
 * Staging aside and moving every row in the install's one transaction
 * made LMDB copy each page the state filled into its dirty list, and keep
 * those buffers for the life of the environment: the heap of a follower
 * that installed a state of a few hundred thousand references grew by
 * tens of MiB, in proportion to the state.  Now the install's transaction
 * writes a few pages and the list of the old copy's pages it frees, and
 * what a chunk's transaction dirties is bounded by the chunk.
 *
 * On disk.  applied_by_index (and applied_by_index.b): key the entry index
 * (8-byte big-endian), value the record's size (8-byte big-endian), its
 * SHA-256 digest (32 bytes) and its id (1..REFRAFT_RECORD_ID_MAX bytes).
 * Key 0, which no entry has, says the table is complete (written on a new
 * store, after a rebuild, and with every install).  snapshot_staging:
 * under key 0 (8 zero bytes) the last index of the snapshot being
 * received and the index its chunks reach so far (two 8-byte big-endian
 * integers) and the copy its rows are in (one byte, 0 or 1), and under key
 * "live" the name of the live "applied" ("applied" when the key is
 * missing, as in every store written before the second pair).  Stores
 * written before kept the staged rows themselves in snapshot_staging,
 * under their indexes, after a header of 16 bytes: opening one drops
 * them, and the node receives that snapshot again from its start.  A runtime
 * from before the second pair refuses a store whose live pair is the second: it
 * finds "applied" and "applied_by_index" incomplete, and a compacted log it
 * cannot rebuild them from.
 */
#define STAGING_DB "snapshot_staging"
#define ROW_FIXED (8 + REFRAFT_DIGEST_LEN)
#define HEADER_LEN 17
#define LEGACY_HEADER_LEN 16

/* The two pairs: [copy][0] by id, [copy][1] by index. */
static const char *const copy_names[2][2] = {
    {"applied", "applied_by_index"},
    {"applied.b", "applied_by_index.b"},
};
static const char live_key[] = "live";

/* Write index -> ref into dbi (flags: 0 or MDB_APPEND). */
static int put_row(MDB_txn *txn, MDB_dbi dbi, refraft_index index,
                   const refraft_ref *ref, unsigned flags)
{
    uint8_t key[8], value[ROW_FIXED + REFRAFT_RECORD_ID_MAX];
    host_put_u64(key, index);
    host_put_u64(value, ref->size);
    memcpy(value + 8, ref->digest, REFRAFT_DIGEST_LEN);
    memcpy(value + ROW_FIXED, ref->id, ref->id_len);
    MDB_val k = {sizeof key, key};
    MDB_val v = {ROW_FIXED + (size_t)ref->id_len, value};
    return host_mdb_code(mdb_put(txn, dbi, &k, &v, flags));
}

/* Decode a row; its id points into v (valid as LMDB says).  false for a
 * row of another shape (a store that is not ours). */
static bool get_row(const MDB_val *k, const MDB_val *v, refraft_snapshot_ref *r)
{
    if (k->mv_size != 8 || v->mv_size <= ROW_FIXED ||
        v->mv_size > ROW_FIXED + REFRAFT_RECORD_ID_MAX)
        return false;
    const uint8_t *p = v->mv_data;
    r->index = host_get_u64(k->mv_data);
    r->ref.size = host_get_u64(p);
    memcpy(r->ref.digest, p + 8, REFRAFT_DIGEST_LEN);
    r->ref.id = p + ROW_FIXED;
    r->ref.id_len = (uint16_t)(v->mv_size - ROW_FIXED);
    return r->index != 0;
}

static int mark_built(MDB_txn *txn, MDB_dbi dbi)
{
    uint8_t key[8] = {0};
    MDB_val k = {sizeof key, key}, v = {0, (void *)""};
    return host_mdb_code(mdb_put(txn, dbi, &k, &v, 0));
}

/* ---- opening, the apply hook, the rebuild ----------------------------- */

/* Which pair is live: 0 or 1 into copy_names, from the "live" key
 * (*named: the key is there). */
static int live_copy(MDB_txn *txn, MDB_dbi staging, int *copy, bool *named)
{
    MDB_val k = {sizeof live_key - 1, (void *)live_key}, v;
    int rc = mdb_get(txn, staging, &k, &v);
    *copy = 0;
    *named = rc == 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return host_mdb_code(rc);
    for (int c = 0; c < 2; c++)
        if (v.mv_size == strlen(copy_names[c][0]) &&
            memcmp(v.mv_data, copy_names[c][0], v.mv_size) == 0) {
            *copy = c;
            return 0;
        }
    return REFRAFT_ECORRUPT;
}

/* Name copy live in the staging database. */
static int put_live(MDB_txn *txn, MDB_dbi staging, int copy)
{
    const char *name = copy_names[copy][0];
    MDB_val k = {sizeof live_key - 1, (void *)live_key};
    MDB_val v = {strlen(name), (void *)name};
    return host_mdb_code(mdb_put(txn, staging, &k, &v, 0));
}

/* A store written before the second pair may hold a snapshot it was
 * receiving in snapshot_staging: a header of 16 bytes and the rows
 * themselves, under their indexes.  Drop them, but not the "live" key
 * (named: there was one, naming live); nothing else would.  A restarted
 * node never goes on with a snapshot it was receiving (the core keeps
 * how far it got in memory): the leader sends it again from its start. */
static int
drop_legacy_staging(MDB_txn *txn, MDB_dbi staging, int live, bool named)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, staging, &cur);
    if (rc != 0)
        return host_mdb_code(rc);
    uint8_t key[8] = {0};
    MDB_val k = {sizeof key, key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    bool legacy = false;
    for (; rc == 0 && k.mv_size == sizeof key && !legacy;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        legacy = host_get_u64(k.mv_data) != 0 || v.mv_size == LEGACY_HEADER_LEN;
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return host_mdb_code(rc);
    if (!legacy)
        return 0;
    int rv = host_mdb_code(mdb_drop(txn, staging, 0));
    return rv == 0 && named ? put_live(txn, staging, live) : rv;
}

int host_index_open(host *h, MDB_txn *txn, bool mark, bool *built)
{
    int rc = mdb_dbi_open(txn, STAGING_DB, MDB_CREATE, &h->staging_dbi);
    if (rc != 0)
        return host_mdb_code(rc);
    int live = 0;
    bool named = false;
    int rv = live_copy(txn, h->staging_dbi, &live, &named);
    if (rv == 0)
        rv = drop_legacy_staging(txn, h->staging_dbi, live, named);
    if (rv != 0)
        return rv;
    MDB_dbi dbi[2][2];
    for (int c = 0; c < 2 && rc == 0; c++)
        for (int t = 0; t < 2 && rc == 0; t++)
            rc = mdb_dbi_open(txn, copy_names[c][t], MDB_CREATE, &dbi[c][t]);
    if (rc != 0)
        return host_mdb_code(rc);
    h->applied_dbi = dbi[live][0];
    h->index_dbi = dbi[live][1];
    h->spare_applied_dbi = dbi[!live][0];
    h->spare_index_dbi = dbi[!live][1];
    h->live_copy = live;
    uint8_t key[8] = {0};
    MDB_val k = {sizeof key, key}, v;
    rc = mdb_get(txn, h->index_dbi, &k, &v);
    *built = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return host_mdb_code(rc);
    if (*built || !mark)
        return 0;
    *built = true;
    return mark_built(txn, h->index_dbi);
}

int host_index_put(host *h, MDB_txn *txn, refraft_index index,
                   const refraft_ref *ref)
{
    return put_row(txn, h->index_dbi, index, ref, 0);
}

int host_index_mark_built(host *h, MDB_txn *txn)
{
    return mark_built(txn, h->index_dbi);
}

/* What walk_rows does with a row: 0 to go on, WALK_STOP to stop there,
 * or an error that stops the walk and is returned. */
#define WALK_STOP (-1)
typedef int (*row_fn)(void *arg, MDB_txn *txn, const refraft_snapshot_ref *row);

/* Call fn for each row of dbi (an index table) from
 * index from on, in index order.  REFRAFT_ECORRUPT for a row that does
 * not parse. */
static int
walk_rows(MDB_txn *txn, MDB_dbi dbi, refraft_index from, row_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return host_mdb_code(rc);
    uint8_t key[8];
    host_put_u64(key, from);
    MDB_val k = {sizeof key, key}, v;
    int rv = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && rv == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        refraft_snapshot_ref r;
        rv = get_row(&k, &v, &r) ? fn(arg, txn, &r) : REFRAFT_ECORRUPT;
    }
    mdb_cursor_close(cur);
    if (rv == WALK_STOP)
        return 0;
    if (rv == 0 && rc != MDB_NOTFOUND)
        rv = host_mdb_code(rc);
    return rv;
}

struct from_index {
    host *h;
    MDB_dbi applied_dbi;
    uint64_t n;
};

static int
record_applied(void *arg, MDB_txn *txn, const refraft_snapshot_ref *row)
{
    struct from_index *f = arg;
    f->n++;
    return host_applied_record(txn, f->applied_dbi, row->index, &row->ref);
}

/* Record every row of the index table in "applied", in index order (so
 * each id keeps its first index), and mark "applied" complete. */
static int applied_from_index(void *ctx, MDB_txn *txn)
{
    struct from_index *f = ctx;
    f->n = 0;
    int rv = walk_rows(txn, f->h->index_dbi, 1, record_applied, f);
    return rv != 0 ? rv : host_applied_mark_built(txn, f->applied_dbi);
}

int host_index_rebuild_applied(host *h, MDB_dbi applied_dbi)
{
    struct from_index f = {h, applied_dbi, 0};
    int rv = refstore_write(h->store, applied_from_index, &f);
    if (rv == 0)
        host_log(h, HOST_LOG_INFO,
                 "rebuilt the applied records from the reference state: "
                 "%llu REF entries",
                 (unsigned long long)f.n);
    return rv;
}

/* ---- snapshot_read: the leader's chunks and the sweeper's scan --------- */

struct read_ctx {
    host *h;
    struct host_snap_reader *rd;
    refraft_index last, after;
    refraft_snapshot_ref *out;
    size_t max, n;
};

static int copy_ref(void *arg, MDB_txn *txn, const refraft_snapshot_ref *row)
{
    struct read_ctx *c = arg;
    (void)txn;
    if (c->n == c->max || row->index > c->last)
        return WALK_STOP;
    /* The ids go into the reader's buffer: LMDB's memory is gone once the
     * read transaction ends. */
    refraft_snapshot_ref r = *row;
    uint8_t *id = c->rd->ids + c->n * REFRAFT_RECORD_ID_MAX;
    memcpy(id, r.ref.id, r.ref.id_len);
    r.ref.id = id;
    c->out[c->n++] = r;
    return 0;
}

static int read_refs(void *ctx, MDB_txn *txn)
{
    struct read_ctx *c = ctx;
    return walk_rows(txn, c->h->index_dbi, c->after + 1, copy_ref, c);
}

/* Fill out[] with the refs of (after, last] in index order, up to max;
 * their ids live in rd's buffer until the next read through rd. */
static int read_state(host *h, struct host_snap_reader *rd, refraft_index last,
                      refraft_index after, refraft_snapshot_ref *out,
                      size_t max, size_t *n)
{
    *n = 0;
    if (after >= last || max == 0)
        return 0;
    if (max > rd->cap) {
        if (max > SIZE_MAX / REFRAFT_RECORD_ID_MAX)
            return REFRAFT_ENOMEM;
        uint8_t *p = realloc(rd->ids, max * REFRAFT_RECORD_ID_MAX);
        if (p == NULL)
            return REFRAFT_ENOMEM;
        rd->ids = p;
        rd->cap = max;
    }
    struct read_ctx c = {h, rd, last, after, out, max, 0};
    int rv = refstore_read(h->store, read_refs, &c);
    if (rv != 0) {
        host_log(h, HOST_LOG_ERROR,
                 "reading the reference state after %llu: %s",
                 (unsigned long long)after, refraft_strerror(rv));
        return rv;
    }
    *n = c.n;
    return 0;
}

int host_snapshot_read(void *ctx, refraft_index last, refraft_index after,
                       refraft_snapshot_ref *out, size_t max, size_t *n)
{
    host *h = ctx;
    return read_state(h, &h->snap_node, last, after, out, max, n);
}

int host_snapshot_sweep_read(void *ctx, refraft_index last, refraft_index after,
                             refraft_snapshot_ref *out, size_t max, size_t *n)
{
    host *h = ctx;
    return read_state(h, &h->snap_sweeper, last, after, out, max, n);
}

void host_snapshot_free(host *h)
{
    free(h->snap_node.ids);
    free(h->snap_sweeper.ids);
    h->snap_node = (struct host_snap_reader){NULL, 0};
    h->snap_sweeper = (struct host_snap_reader){NULL, 0};
}

/* ---- snapshot_write: staging a follower's chunks ---------------------- */

/* The staged snapshot's last index and how far its chunks reach;
 * REFRAFT_ENOTFOUND when nothing is staged, REFRAFT_ECORRUPT when its
 * rows are not in h's spare copy. */
static int
staged(MDB_txn *txn, const host *h, refraft_index *last, refraft_index *upto)
{
    uint8_t key[8] = {0};
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, h->staging_dbi, &k, &v);
    if (rc != 0)
        return host_mdb_code(rc);
    const uint8_t *p = v.mv_data;
    if (v.mv_size != HEADER_LEN || p[16] != !h->live_copy)
        return REFRAFT_ECORRUPT;
    *last = host_get_u64(p);
    *upto = host_get_u64(p + 8);
    return 0;
}

struct write_ctx {
    host *h;
    const refraft_snapshot_meta *meta;
    refraft_index after;
    const refraft_snapshot_ref *refs;
    size_t n;
    char why[160];
};

static int write_chunk(void *ctx, MDB_txn *txn)
{
    struct write_ctx *c = ctx;
    host *h = c->h;
    MDB_dbi dbi = h->staging_dbi;
    refraft_index last = c->meta->last_index, at = c->after;
    int rv;
    if (c->after == 0) {
        /* A new snapshot: whatever was staged before goes. */
        rv = host_mdb_code(mdb_drop(txn, h->spare_applied_dbi, 0));
        if (rv == 0)
            rv = host_mdb_code(mdb_drop(txn, h->spare_index_dbi, 0));
    } else {
        refraft_index s_last = 0, s_upto = 0;
        rv = staged(txn, h, &s_last, &s_upto);
        if (rv == REFRAFT_ENOTFOUND) {
            snprintf(c->why, sizeof c->why,
                     "a chunk after %llu, with no snapshot staged",
                     (unsigned long long)c->after);
            rv = REFRAFT_EINVAL;
        } else if (rv == 0 && (last < s_upto || s_upto != c->after)) {
            /* A chunk of a later snapshot may continue the staged one:
             * the staged refs are a prefix of it (refraft.h). */
            snprintf(c->why, sizeof c->why,
                     "a chunk after %llu of the snapshot at %llu, while "
                     "the one staged is at %llu and reaches %llu",
                     (unsigned long long)c->after, (unsigned long long)last,
                     (unsigned long long)s_last, (unsigned long long)s_upto);
            rv = REFRAFT_EINVAL;
        }
    }
    for (size_t i = 0; rv == 0 && i < c->n; i++) {
        const refraft_snapshot_ref *r = &c->refs[i];
        if (r->index <= at || r->index > last || r->ref.id == NULL ||
            r->ref.id_len == 0 || r->ref.id_len > REFRAFT_RECORD_ID_MAX) {
            snprintf(c->why, sizeof c->why,
                     "reference %zu of the chunk is out of order, past "
                     "%llu or without a valid id",
                     i, (unsigned long long)last);
            rv = REFRAFT_EINVAL;
            break;
        }
        /* Into the spare pair, as the apply hook writes the live one:
         * rows come in index order, so "applied" keeps each id's first
         * index. */
        rv = put_row(txn, h->spare_index_dbi, r->index, &r->ref, MDB_APPEND);
        if (rv == 0)
            rv = host_applied_record(txn, h->spare_applied_dbi, r->index,
                                     &r->ref);
        at = r->index;
    }
    if (rv != 0)
        return rv;
    uint8_t key[8] = {0}, header[HEADER_LEN];
    host_put_u64(header, last);
    host_put_u64(header + 8, at);
    header[16] = (uint8_t)!h->live_copy;
    MDB_val k = {sizeof key, key}, v = {sizeof header, header};
    return host_mdb_code(mdb_put(txn, dbi, &k, &v, 0));
}

int host_snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                        refraft_index after, const refraft_snapshot_ref *refs,
                        size_t n)
{
    host *h = ctx;
    struct write_ctx c = {h, meta, after, refs, n, ""};
    int rv = refstore_write(h->store, write_chunk, &c);
    if (rv != 0)
        host_log(h, HOST_LOG_WARN,
                 "cannot stage the snapshot chunk after %llu: %s",
                 (unsigned long long)after,
                 c.why[0] != '\0' ? c.why : refstore_errmsg(h->store));
    else if (after == 0)
        host_log(h, HOST_LOG_INFO,
                 "receiving the snapshot at %llu (term %llu) from the "
                 "leader",
                 (unsigned long long)meta->last_index,
                 (unsigned long long)meta->last_term);
    return rv;
}

/* ---- snapshot_install and the log's install transaction -------------- */

struct check_ctx {
    host *h;
    refraft_index last;
};

static int check_staged(void *ctx, MDB_txn *txn)
{
    struct check_ctx *c = ctx;
    refraft_index last = 0, upto = 0;
    int rv = staged(txn, c->h, &last, &upto);
    return rv == 0 && last != c->last ? REFRAFT_EINVAL : rv;
}

int host_snapshot_install(void *ctx, const refraft_snapshot_meta *meta)
{
    host *h = ctx;
    struct check_ctx c = {h, meta->last_index};
    int rv = refstore_read(h->store, check_staged, &c);
    if (rv != 0) {
        host_log(h, HOST_LOG_ERROR,
                 "no snapshot at %llu is staged to install: %s",
                 (unsigned long long)meta->last_index, refraft_strerror(rv));
        return rv == REFRAFT_ENOTFOUND ? REFRAFT_EINVAL : rv;
    }
    /* The state itself changes in the log's install transaction
     * (host_snapshot_on_install), together with the log.  Its records
     * may be missing here: the sweeper looks for them through the
     * reference state, in lost mode up to the snapshot's last index. */
    rv = refraft_sweeper_snapshot_installed(h->sw, meta->last_index);
    if (rv != 0)
        host_log(h, HOST_LOG_ERROR, "the sweeper refused the snapshot: %s",
                 refraft_strerror(rv));
    return rv;
}

int host_snapshot_on_install(void *app_ctx, MDB_txn *txn,
                             const refraft_snapshot_meta *meta)
{
    host *h = app_ctx;
    if (!h->applied_ready)
        return REFRAFT_EINVAL; /* host_applied_open comes first */
    refraft_index last = 0, upto = 0;
    int rv = staged(txn, h, &last, &upto);
    if (rv == 0 && last != meta->last_index)
        rv = REFRAFT_EINVAL;
    if (rv != 0) {
        host_log(h, HOST_LOG_ERROR, "installing the snapshot at %llu: %s",
                 (unsigned long long)meta->last_index,
                 rv == REFRAFT_EINVAL || rv == REFRAFT_ENOTFOUND
                     ? "another snapshot is staged, or none"
                     : refraft_strerror(rv));
        return rv == REFRAFT_ENOTFOUND ? REFRAFT_EINVAL : rv;
    }
    /* The snapshot replaces the state: as if every entry up to its last
     * index had been applied, and nothing after (refraft.h).  The spare
     * pair holds it: it becomes the live one, complete, and the live one
     * the spare, empty.  The handles follow once this transaction has
     * committed (host_snapshot_installed). */
    MDB_stat st;
    rv = host_mdb_code(mdb_stat(txn, h->spare_index_dbi, &st));
    if (rv == 0)
        rv = mark_built(txn, h->spare_index_dbi);
    if (rv == 0)
        rv = host_applied_mark_built(txn, h->spare_applied_dbi);
    if (rv == 0)
        rv = host_mdb_code(mdb_drop(txn, h->applied_dbi, 0));
    if (rv == 0)
        rv = host_mdb_code(mdb_drop(txn, h->index_dbi, 0));
    if (rv == 0)
        rv = put_live(txn, h->staging_dbi, !h->live_copy);
    if (rv == 0) {
        uint8_t key[8] = {0};
        MDB_val k = {sizeof key, key};
        rv = host_mdb_code(mdb_del(txn, h->staging_dbi, &k, NULL));
    }
    /* Said once the install committed (host_snapshot_installed): this
     * transaction may still fail, or run again. */
    if (rv == 0)
        h->install_refs = st.ms_entries;
    else if (rv != REFRAFT_ENOSPC)
        host_log(h, HOST_LOG_ERROR, "installing the snapshot at %llu: %s",
                 (unsigned long long)meta->last_index, refraft_strerror(rv));
    return rv;
}

void host_snapshot_installed(void *app_ctx, const refraft_snapshot_meta *meta)
{
    host *h = app_ctx;
    host_log(h, HOST_LOG_INFO,
             "installed the snapshot at %llu (term %llu): %llu references; "
             "the sweeper fetches their records",
             (unsigned long long)meta->last_index,
             (unsigned long long)meta->last_term,
             (unsigned long long)h->install_refs);
    MDB_dbi applied = h->applied_dbi, index = h->index_dbi;
    h->applied_dbi = h->spare_applied_dbi;
    h->index_dbi = h->spare_index_dbi;
    h->spare_applied_dbi = applied;
    h->spare_index_dbi = index;
    h->live_copy = !h->live_copy;
}
