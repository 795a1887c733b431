/* app.c - the torture test's application: its databases and its hooks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "torture.h"

void app_key(uint8_t key[8], refraft_index index)
{
    for (int i = 7; i >= 0; i--) {
        key[i] = (uint8_t)(index & 0xff);
        index >>= 8;
    }
}

refraft_index app_key_index(const MDB_val *key)
{
    if (key->mv_size != 8)
        return 0;
    const uint8_t *p = key->mv_data;
    refraft_index v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void app_value_of(const refraft_entry *e, app_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = e->type;
    if (e->type != REFRAFT_ENTRY_REF)
        return;
    v->size = e->ref.size;
    memcpy(v->digest, e->ref.digest, REFRAFT_DIGEST_LEN);
}

void app_value_encode(const app_value *v, uint8_t out[APP_VALUE_LEN])
{
    out[0] = v->type;
    app_key(out + 1, v->size);
    memcpy(out + 9, v->digest, REFRAFT_DIGEST_LEN);
}

bool app_value_decode(const MDB_val *data, app_value *v)
{
    if (data->mv_size < APP_VALUE_LEN)
        return false;
    const uint8_t *p = data->mv_data;
    MDB_val size = {.mv_size = 8, .mv_data = (void *)(p + 1)};
    v->type = p[0];
    v->size = app_key_index(&size);
    memcpy(v->digest, p + 9, REFRAFT_DIGEST_LEN);
    return true;
}

bool app_value_equal(const app_value *a, const app_value *b)
{
    return a->type == b->type && a->size == b->size &&
           memcmp(a->digest, b->digest, REFRAFT_DIGEST_LEN) == 0;
}

const char *app_member_address(const char *id)
{
    static const char *const known[][2] = {
        {TORTURE_LEADER_ID, ""},
        {TORTURE_LEARNER_ID, "http://n9.torture:7009"},
        {"n1", "http://n1.torture:7001"},
        {"n2", "http://n2.torture:7002"},
        {"n3", "http://n3.torture:7003"},
        {"n4", "http://n4.torture:7004"},
        {"n5", "http://n5.torture:7005"},
        {"n6", "http://n6.torture:7006"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(id, known[i][0]) == 0)
            return known[i][1];
    return NULL;
}

bool app_members_known(const refraft_member *m, size_t n)
{
    if (refraft_check_members(m, n, NULL, 0) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *address = app_member_address(m[i].id);
        const char *got = m[i].address != NULL ? m[i].address : "";
        if (address == NULL || (got[0] != '\0' && strcmp(got, address) != 0))
            return false;
    }
    return true;
}

int app_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *out)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc != 0)
        return rc;
    if (d.mv_size != 8)
        return MDB_CORRUPTED;
    *out = app_key_index(&d);
    return 0;
}

int app_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v)
{
    uint8_t buf[8];
    app_key(buf, v);
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val d = {.mv_size = sizeof(buf), .mv_data = buf};
    return mdb_put(txn, dbi, &k, &d, 0);
}

/* A hook may only return refraft codes; LMDB's are folded into EIO (and
 * a full map into ENOSPC, so the store can tell). */
static int from_mdb(int rc)
{
    if (rc == 0)
        return 0;
    return rc == MDB_MAP_FULL ? REFRAFT_ENOSPC : REFRAFT_EIO;
}

/*
 * Apply hook.  Besides writing the app row and "applied" in the store's
 * txn, it checks what a careful application would: entries arrive once
 * each and in order (its own "applied" is index - 1), and a REF entry's
 * record is present in the same txn with the right size and digest
 * (DESIGN.md: apply is gated on data).
 */
static int app_apply(void *ctx, MDB_txn *txn, refraft_index index,
                     const refraft_entry *entry)
{
    app *a = ctx;
    uint64_t applied;
    int rc = app_meta_get(txn, a->db_meta, TORTURE_KEY_APPLIED, &applied);
    if (rc != 0)
        return from_mdb(rc);
    if (applied + 1 != index && a->fail != NULL)
        a->fail(a,
                "apply hook: asked to apply %llu but the app's applied "
                "index is %llu (not exactly once, or out of order)",
                (unsigned long long)index, (unsigned long long)applied);
    if (entry->type == REFRAFT_ENTRY_REF) {
        MDB_val k = {.mv_size = entry->ref.id_len,
                     .mv_data = (void *)entry->ref.id};
        MDB_val d;
        rc = mdb_get(txn, refstore_record_dbi(a->store), &k, &d);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return from_mdb(rc);
        uint8_t digest[REFRAFT_DIGEST_LEN];
        if (rc == 0)
            record_sha256(d.mv_data, d.mv_size, digest);
        if ((rc != 0 || d.mv_size != entry->ref.size ||
             memcmp(digest, entry->ref.digest, REFRAFT_DIGEST_LEN) != 0) &&
            a->fail != NULL)
            a->fail(a, "apply hook: index %llu: record " ID_FMT " %s",
                    (unsigned long long)index,
                    ID_ARGS(entry->ref.id, entry->ref.id_len),
                    rc != 0 ? "missing" : "does not match its reference");
    }
    /* A configuration means nothing to the application's state (apply.c
     * applies it like a NOOP), but its members must be whole. */
    if (entry->type == REFRAFT_ENTRY_CONFIG &&
        !app_members_known(entry->members, entry->n_members) && a->fail != NULL)
        a->fail(a,
                "apply hook: index %llu: a CONFIG entry with %zu members "
                "the workload never wrote",
                (unsigned long long)index, entry->n_members);
    app_value v;
    uint8_t key[8], buf[APP_VALUE_LEN];
    app_value_of(entry, &v);
    app_key(key, index);
    app_value_encode(&v, buf);
    MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
    MDB_val d = {.mv_size = sizeof(buf), .mv_data = buf};
    rc = mdb_put(txn, a->db_app, &k, &d, 0);
    if (rc == 0)
        rc = app_meta_put(txn, a->db_meta, TORTURE_KEY_APPLIED, index);
    return from_mdb(rc);
}

/* Delete every row of dbi whose key is >= from; *n gets how many.  For
 * staged rows the entry's record goes too: the application stored it
 * early, and the entry that referenced it is gone (DESIGN.md contract 7). */
static int delete_from(app *a, MDB_txn *txn, MDB_dbi dbi, refraft_index from,
                       bool records, size_t *n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0)
        return rc;
    uint8_t key[8];
    app_key(key, from);
    MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
    MDB_val d;
    *n = 0;
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    while (rc == 0) {
        if (records && d.mv_size > APP_VALUE_LEN) {
            MDB_val id = {.mv_size = d.mv_size - APP_VALUE_LEN,
                          .mv_data = (uint8_t *)d.mv_data + APP_VALUE_LEN};
            rc = mdb_del(txn, refstore_record_dbi(a->store), &id, NULL);
            if (rc != 0 && rc != MDB_NOTFOUND)
                break;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0)
            break;
        (*n)++;
        /* After a delete LMDB's MDB_NEXT lands on the row that followed
         * the deleted one, skipping nothing. */
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Truncate hook: undo the application's "on append" work for the entries
 * being removed, in the truncation's own txn.  Applied entries are
 * committed and Raft never truncates those: finding an app row at or
 * after from means the store truncated into applied entries.
 */
static int app_truncate(void *ctx, MDB_txn *txn, refraft_index from)
{
    app *a = ctx;
    size_t n_app, n_staged;
    int rc = delete_from(a, txn, a->db_app, from, false, &n_app);
    if (rc == 0)
        rc = delete_from(a, txn, a->db_staged, from, true, &n_staged);
    if (rc != 0)
        return from_mdb(rc);
    if (n_app > 0 && a->fail != NULL)
        a->fail(a,
                "truncate hook: truncating from %llu removes %zu applied "
                "entries",
                (unsigned long long)from, n_app);
    return 0;
}

void app_store_options(app *a, const char *path, const char *node_id,
                       const torture_opts *topts, refstore_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->path = path;
    opts->cluster_id = TORTURE_CLUSTER_ID;
    opts->node_id = node_id;
    opts->sync = topts->sync;
    opts->map_size = topts->map_size;
    opts->apply = app_apply;
    opts->on_truncate = app_truncate;
    opts->app_ctx = a;
}

static int open_dbs_fn(void *ctx, MDB_txn *txn)
{
    app *a = ctx;
    int rc = mdb_dbi_open(txn, TORTURE_DB_APP, MDB_CREATE, &a->db_app);
    if (rc == 0)
        rc = mdb_dbi_open(txn, TORTURE_DB_META, MDB_CREATE, &a->db_meta);
    if (rc == 0)
        rc = mdb_dbi_open(txn, TORTURE_DB_STAGED, MDB_CREATE, &a->db_staged);
    return from_mdb(rc);
}

int app_open_dbs(app *a)
{
    return refstore_write(a->store, open_dbs_fn, a);
}

struct commit_ctx {
    app *a;
    uint64_t commit;
};

static int write_commit_fn(void *ctx, MDB_txn *txn)
{
    struct commit_ctx *c = ctx;
    return from_mdb(
        app_meta_put(txn, c->a->db_meta, TORTURE_KEY_COMMIT, c->commit));
}

int app_write_commit(app *a, refraft_index commit)
{
    struct commit_ctx c = {.a = a, .commit = commit};
    return refstore_write(a->store, write_commit_fn, &c);
}

struct read_meta_ctx {
    app *a;
    uint64_t applied, commit;
};

static int read_meta_fn(void *ctx, MDB_txn *txn)
{
    struct read_meta_ctx *c = ctx;
    int rc = app_meta_get(txn, c->a->db_meta, TORTURE_KEY_APPLIED, &c->applied);
    if (rc == 0)
        rc = app_meta_get(txn, c->a->db_meta, TORTURE_KEY_COMMIT, &c->commit);
    return from_mdb(rc);
}

int app_read_meta(app *a, uint64_t *applied, uint64_t *commit)
{
    struct read_meta_ctx c = {.a = a};
    int rv = refstore_read(a->store, read_meta_fn, &c);
    if (rv == 0) {
        *applied = c.applied;
        *commit = c.commit;
    }
    return rv;
}
