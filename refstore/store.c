/* store.c - opening and closing a store: options, environment, format and
 * identity checks; error messages and inspection. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "store.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
/* 64 GiB where size_t holds it: address space is cheap, and the data file
 * only grows as pages are written. */
#define DEFAULT_MAP_SIZE_MAX ((size_t)1 << (sizeof(size_t) >= 8 ? 36 : 31))
#define DEFAULT_APP_DBS 8
/* Every open named database costs each transaction a few words and each
 * mdb_dbi_open() a linear search, so the count is kept moderate. */
#define APP_DBS_MAX 1024
#define REFSTORE_DBS 5

int store_errorf(refstore *store, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(store->errmsg, store->errmsg_cap, fmt, ap);
    va_end(ap);
    return code;
}

static int translate(int rc)
{
    switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
        return REFRAFT_ENOSPC;
    case ENOMEM:
        return REFRAFT_ENOMEM;
    case MDB_TXN_FULL:
        return REFRAFT_ETOOBIG;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:
        return REFRAFT_ECORRUPT;
    default:
        return REFRAFT_EIO;
    }
}

int store_mdb_error(refstore *store, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL)
        store->map_full = true;
    /* LMDB refuses every transaction after a failed write of its meta
     * page: say so once, with the cause, rather than on every call. */
    if (rc == MDB_PANIC)
        store->failed = true;
    return store_errorf(store, translate(rc), "%s in store %s: %s%s", what,
                        store->path, mdb_strerror(rc),
                        rc == MDB_PANIC ? "; the store has failed: close "
                                          "and reopen it"
                                        : "");
}

int store_enter(refstore *store)
{
    if (store == NULL)
        return REFRAFT_EINVAL;
    /* The message that failed the store stays, for whoever looks. */
    if (store->failed)
        return REFRAFT_EFAILED;
    if (store->in_callback)
        return store_errorf(store, REFRAFT_EINVAL,
                            "called from inside a refstore hook or callback");
    store->errmsg[0] = '\0';
    return 0;
}

size_t store_bounded_len(const char *s, size_t max)
{
    size_t len = 0;
    while (len <= max && s[len] != '\0')
        len++;
    return len;
}

static MDB_val meta_key(const char *key)
{
    MDB_val k = {strlen(key), (void *)key};
    return k;
}

int store_meta_put_u64(refstore *store, MDB_txn *txn, const char *key,
                       uint64_t value)
{
    uint8_t buf[8];
    store_put_u64(buf, value);
    MDB_val k = meta_key(key), v = {sizeof(buf), buf};
    int rc = mdb_put(txn, store->db_meta, &k, &v, 0);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "writing the meta data");
}

int store_meta_get_u64(refstore *store, MDB_txn *txn, const char *key,
                       uint64_t *value)
{
    MDB_val k = meta_key(key), v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *value = 0;
        return 0;
    }
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the meta data");
    if (v.mv_size != 8)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: meta %s has %zu bytes, not 8",
                            store->path, key, v.mv_size);
    *value = store_get_u64(v.mv_data);
    return 0;
}

/* ---- Options -------------------------------------------------------- */

static int check_id(const char *id, const char *what, char *msg, size_t cap)
{
    size_t len = id != NULL ? store_bounded_len(id, REFRAFT_ID_MAX) : 0;
    if (len >= 1 && len <= REFRAFT_ID_MAX)
        return 0;
    snprintf(msg, cap, "%s must be 1..%d bytes", what, REFRAFT_ID_MAX);
    return REFRAFT_EINVAL;
}

static int check_options(const refstore_options *o, char *msg, size_t cap)
{
    if (o->path == NULL || o->path[0] == '\0') {
        snprintf(msg, cap, "options.path is required");
        return REFRAFT_EINVAL;
    }
    int rv = check_id(o->cluster_id, "options.cluster_id", msg, cap);
    if (rv == 0)
        rv = check_id(o->node_id, "options.node_id", msg, cap);
    if (rv != 0)
        return rv;
    if (o->sync < REFSTORE_SYNC_FULL || o->sync > REFSTORE_SYNC_NONE) {
        snprintf(msg, cap, "options.sync %d is not a refstore_sync", o->sync);
        return REFRAFT_EINVAL;
    }
    size_t map_size = o->map_size ? o->map_size : DEFAULT_MAP_SIZE;
    if (o->map_size_max != 0 && o->map_size_max < map_size) {
        snprintf(msg, cap, "options.map_size_max %zu is below map_size %zu",
                 o->map_size_max, map_size);
        return REFRAFT_EINVAL;
    }
    if (o->app_dbs > APP_DBS_MAX) {
        snprintf(msg, cap, "options.app_dbs %u is above %d", o->app_dbs,
                 APP_DBS_MAX);
        return REFRAFT_EINVAL;
    }
    return 0;
}

/* LMDB wants map sizes in whole pages. */
static size_t page_round(size_t v)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    size_t rem = v % p;
    if (rem == 0)
        return v;
    return v <= SIZE_MAX - p ? v + (p - rem) : v - rem;
}

static char *copy_string(const char *s)
{
    size_t len = strlen(s);
    char *copy = refraft_malloc(len + 1);
    if (copy != NULL)
        memcpy(copy, s, len + 1);
    return copy;
}

static void store_free(refstore *store)
{
    if (store->env != NULL)
        mdb_env_close(store->env);
    refraft_free(store->arena);
    refraft_free(store->staged_buf);
    refraft_free(store->abandoned);
    refraft_free(store->path);
    refraft_free(store->errmsg);
    refraft_free(store);
}

static refstore *store_new(const refstore_options *o)
{
    refstore *store = refraft_calloc(1, sizeof(*store));
    if (store == NULL)
        return NULL;
    store->path = copy_string(o->path);
    store->errmsg_cap = 2 * REFRAFT_ERRMSG_LEN + strlen(o->path);
    store->errmsg = refraft_calloc(1, store->errmsg_cap);
    if (store->path == NULL || store->errmsg == NULL) {
        store_free(store);
        return NULL;
    }
    store->map_size = page_round(o->map_size ? o->map_size : DEFAULT_MAP_SIZE);
    store->map_size_max =
        page_round(o->map_size_max ? o->map_size_max : DEFAULT_MAP_SIZE_MAX);
    if (store->map_size_max < store->map_size)
        store->map_size_max = store->map_size;
    store->apply = o->apply;
    store->on_truncate = o->on_truncate;
    store->on_install = o->on_install;
    store->on_installed = o->on_installed;
    store->app_ctx = o->app_ctx;
    return store;
}

/* ---- The environment ------------------------------------------------ */

/* mkdir -p, each missing directory private to the user. */
static int make_dirs(refstore *store)
{
    char *p = copy_string(store->path);
    if (p == NULL)
        return store_errorf(store, REFRAFT_ENOMEM, "out of memory");
    int rv = 0;
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char end = *c;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            rv = store_errorf(store, REFRAFT_EIO, "creating directory %s: %s",
                              p, strerror(errno));
            break;
        }
        *c = end;
        if (end == '\0')
            break;
    }
    refraft_free(p);
    return rv;
}

static unsigned int sync_flags(int sync)
{
    switch (sync) {
    case REFSTORE_SYNC_NO_META:
        return MDB_NOMETASYNC;
    case REFSTORE_SYNC_NONE:
        return MDB_NOSYNC;
    default:
        return 0;
    }
}

/*
 * A map that grew in an earlier run had its size recorded by the next
 * commit, but LMDB opens the environment at the configured size (or what
 * the data needs, if more).  Take the recorded size back when it is the
 * larger, rather than growing again one full-map error at a time.
 */
static int adopt_map_size(refstore *store)
{
    MDB_envinfo info;
    int rc = mdb_env_set_mapsize(store->env, 0);
    if (rc == 0)
        rc = mdb_env_info(store->env, &info);
    if (rc == 0 && info.me_mapsize < store->map_size)
        rc = mdb_env_set_mapsize(store->env, store->map_size);
    if (rc == 0)
        rc = mdb_env_info(store->env, &info);
    if (rc != 0)
        return store_mdb_error(store, rc, "sizing the map");
    store->map_size = info.me_mapsize;
    return 0;
}

static int open_env(refstore *store, const refstore_options *o)
{
    unsigned int app_dbs = o->app_dbs ? o->app_dbs : DEFAULT_APP_DBS;
    int rc = mdb_env_create(&store->env);
    if (rc != 0)
        return store_mdb_error(store, rc, "creating the environment");
    rc = mdb_env_set_maxdbs(store->env, REFSTORE_DBS + app_dbs);
    if (rc == 0)
        rc = mdb_env_set_mapsize(store->env, store->map_size);
    /* MDB_NOTLS: the store's reusable read transaction is tied to its
     * handle, not to the thread, and may coexist with the write one. */
    if (rc == 0)
        rc = mdb_env_open(store->env, store->path,
                          MDB_NOTLS | sync_flags(o->sync), 0600);
    if (rc != 0)
        return store_mdb_error(store, rc, "opening the environment");
    /* The records identity's key is longer than any record id (lost.c). */
    if (mdb_env_get_maxkeysize(store->env) < IDENTITY_KEY_LEN)
        return store_errorf(store, REFRAFT_EIO,
                            "store %s: LMDB was built with keys of at most "
                            "%d bytes; refstore needs %d",
                            store->path, mdb_env_get_maxkeysize(store->env),
                            IDENTITY_KEY_LEN);
    return adopt_map_size(store);
}

/* ---- Format and identity -------------------------------------------- */

static int open_dbs(refstore *store, MDB_txn *txn)
{
    /* MDB_CREATE: a store written before record_digests existed gets it
     * empty here; lost_check() then finds no identity in it and counts
     * the records as lost until the sweeper has fetched them again. */
    static const char *const names[REFSTORE_DBS] = {DB_LOG, DB_META, DB_RECORDS,
                                                    DB_RECORD_DIGESTS, DB_MAP};
    MDB_dbi *dbis[REFSTORE_DBS] = {&store->db_log, &store->db_meta,
                                   &store->db_records,
                                   &store->db_record_digests, &store->db_map};
    for (size_t i = 0; i < REFSTORE_DBS; i++) {
        int rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
        if (rc != 0)
            return store_mdb_error(store, rc, "opening a database");
    }
    return 0;
}

static int
put_string(refstore *store, MDB_txn *txn, const char *key, const char *value)
{
    MDB_val k = meta_key(key), v = {strlen(value), (void *)value};
    int rc = mdb_put(txn, store->db_meta, &k, &v, 0);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "writing the meta data");
}

static int
create_identity(refstore *store, MDB_txn *txn, const refstore_options *o)
{
    int rv =
        store_meta_put_u64(store, txn, META_FORMAT, REFSTORE_FORMAT_VERSION);
    if (rv == 0)
        rv = put_string(store, txn, META_CLUSTER, o->cluster_id);
    if (rv == 0)
        rv = put_string(store, txn, META_NODE, o->node_id);
    return rv;
}

/* The store must name the same cluster (or node) as the options. */
static int check_string(refstore *store, MDB_txn *txn, const char *key,
                        const char *want, const char *what)
{
    MDB_val k = meta_key(key), v;
    int rc = mdb_get(txn, store->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return store_errorf(store, REFRAFT_ECORRUPT, "store %s has no %s id",
                            store->path, what);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the meta data");
    if (v.mv_size == strlen(want) && memcmp(v.mv_data, want, v.mv_size) == 0)
        return 0;
    int shown = v.mv_size > REFRAFT_ID_MAX ? REFRAFT_ID_MAX : (int)v.mv_size;
    return store_errorf(store, REFRAFT_EWRONGSTORE,
                        "store %s belongs to %s \"%.*s\", not \"%s\"",
                        store->path, what, shown, (const char *)v.mv_data,
                        want);
}

/* A new store records who it belongs to; an existing one must match. */
static int
check_identity(refstore *store, MDB_txn *txn, const refstore_options *o)
{
    MDB_stat st;
    int rc = mdb_stat(txn, store->db_meta, &st);
    if (rc != 0)
        return store_mdb_error(store, rc, "reading the meta data");
    store->format = REFSTORE_FORMAT_VERSION;
    if (st.ms_entries == 0)
        return create_identity(store, txn, o);
    uint64_t version = 0;
    int rv = store_meta_get_u64(store, txn, META_FORMAT, &version);
    if (rv != 0)
        return rv;
    if (version == 0)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s has no format version", store->path);
    /* Format 2 adds CONFIG entries to format 1 (STORE_FORMAT_CONFIG),
     * format 3 a base to format 2 (STORE_FORMAT_BASE), format 4 moves the
     * records identity (STORE_FORMAT_IDENTITY_FIRST). */
    if (version < STORE_FORMAT_FIRST || version > REFSTORE_FORMAT_VERSION)
        return store_errorf(store, REFRAFT_EWRONGSTORE,
                            "store %s has format version %llu; this library "
                            "reads versions %d to %d",
                            store->path, (unsigned long long)version,
                            STORE_FORMAT_FIRST, REFSTORE_FORMAT_VERSION);
    store->format = version;
    rv = check_string(store, txn, META_CLUSTER, o->cluster_id, "cluster");
    if (rv == 0)
        rv = check_string(store, txn, META_NODE, o->node_id, "node");
    return rv;
}

/* Neither index can pass the end of the log: truncation never removes an
 * applied entry and lowers the data index with the entries it removes.
 * Nor can the applied index lie below the base: a compaction commits the
 * applies of the entries it drops, and an install sets the applied index
 * to its base.  (The data index may: the records of a compacted log's
 * references can be lost, or never fetched after an install.) */
static int load_indexes(refstore *store, MDB_txn *txn)
{
    uint64_t applied = 0, data = 0;
    int rv = store_meta_get_u64(store, txn, META_APPLIED, &applied);
    if (rv == 0)
        rv = store_meta_get_u64(store, txn, META_DATA, &data);
    if (rv != 0)
        return rv;
    if (applied > store->last_index || data > store->last_index)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: applied index %llu or data index %llu "
                            "is past the log's last index %llu",
                            store->path, (unsigned long long)applied,
                            (unsigned long long)data,
                            (unsigned long long)store->last_index);
    if (applied < store->base.last_index)
        return store_errorf(store, REFRAFT_ECORRUPT,
                            "store %s: applied index %llu is below the log's "
                            "base %llu",
                            store->path, (unsigned long long)applied,
                            (unsigned long long)store->base.last_index);
    store->applied = store->applied_pending = applied;
    store->data_index = data;
    return 0;
}

/* One transaction opens the databases, checks or writes the identity,
 * loads the state kept in memory and checks the records database (a new
 * one gets its identity, a lost one is recorded: lost.c); it writes
 * nothing to a store it refuses. */
static int load(refstore *store, const refstore_options *o)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != 0)
        return store_mdb_error(store, rc, "beginning a transaction");
    int rv = open_dbs(store, txn);
    if (rv == 0)
        rv = check_identity(store, txn, o);
    if (rv == 0)
        rv = log_load(store, txn);
    if (rv == 0)
        rv = load_indexes(store, txn);
    if (rv == 0)
        rv = lost_check(store, txn);
    if (rv != 0) {
        mdb_txn_abort(txn);
        return rv;
    }
    /* Commits the database handles too; free when nothing was written. */
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : store_mdb_error(store, rc, "creating the store");
}

/* Creating a store writes its identity; a first map smaller than that
 * grows as any other full map does (no transaction is open here). */
static int load_growing(refstore *store, const refstore_options *o)
{
    store->map_full = false;
    int rv = load(store, o);
    while (rv == REFRAFT_ENOSPC && store->map_full &&
           store->map_size < store->map_size_max) {
        size_t next = store->map_size <= store->map_size_max / 2
                          ? store->map_size * 2
                          : store->map_size_max;
        int rc = mdb_env_set_mapsize(store->env, next);
        if (rc != 0)
            return store_mdb_error(store, rc, "growing the map");
        store->map_size = next;
        store->map_grows++;
        store->map_full = false;
        rv = load(store, o);
    }
    if (rv == REFRAFT_ENOSPC && store->map_full)
        return store_errorf(store, REFRAFT_ENOSPC,
                            "store %s is full at %zu bytes (map_size_max)",
                            store->path, store->map_size);
    return rv;
}

int refstore_open(const refstore_options *options, refstore **out, char *errbuf,
                  size_t errbuf_len)
{
    char msg[REFRAFT_ERRMSG_LEN] = "";
    int rv = REFRAFT_EINVAL;
    if (options == NULL || out == NULL)
        snprintf(msg, sizeof(msg), "options and out are required");
    else
        rv = check_options(options, msg, sizeof(msg));
    refstore *store = NULL;
    if (rv == 0) {
        store = store_new(options);
        if (store == NULL) {
            rv = REFRAFT_ENOMEM;
            snprintf(msg, sizeof(msg), "out of memory");
        }
    }
    if (store != NULL) {
        rv = make_dirs(store);
        if (rv == 0)
            rv = open_env(store, options);
        if (rv == 0)
            rv = load_growing(store, options);
    }
    if (rv == 0) {
        *out = store;
        return 0;
    }
    if (errbuf != NULL && errbuf_len > 0)
        snprintf(errbuf, errbuf_len, "%s", store != NULL ? store->errmsg : msg);
    if (store != NULL)
        store_free(store);
    return rv;
}

void refstore_close(refstore *store)
{
    if (store == NULL)
        return;
    txn_release(store, true);
    store_free(store);
}

void refstore_close_discard(refstore *store)
{
    if (store == NULL)
        return;
    txn_release(store, false);
    store_free(store);
}

/* ---- Inspection ----------------------------------------------------- */

refraft_index refstore_applied_index(const refstore *store)
{
    return store != NULL ? store->applied : 0;
}

refraft_index refstore_data_index(const refstore *store)
{
    return store != NULL ? store->data_index : 0;
}

MDB_dbi refstore_record_dbi(const refstore *store)
{
    return store != NULL ? store->db_records : 0;
}

MDB_env *refstore_env(const refstore *store)
{
    return store != NULL ? store->env : NULL;
}

const char *refstore_path(const refstore *store)
{
    return store != NULL ? store->path : NULL;
}

const char *refstore_errmsg(const refstore *store)
{
    return store != NULL ? store->errmsg : "";
}

void refstore_get_stats(const refstore *store, refstore_stats *stats)
{
    if (store == NULL || stats == NULL)
        return;
    memset(stats, 0, sizeof(*stats));
    stats->commits = store->commits;
    stats->map_grows = store->map_grows;
    stats->map_size = store->map_size;
}
