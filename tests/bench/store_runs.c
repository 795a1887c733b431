/* store_runs.c - timed runs of refstore appends and of plain LMDB puts. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "refraft/refstore.h"
#include "store_runs.h"
#include "tmpdir.h"

#define ID_LEN 16
#define REF_SIZE 256
/* Both environments start with this map, which holds
 * STORE_RUN_ENTRIES_MAX entries: neither grows it during a run (plain LMDB
 * would fail; refstore would grow it, at a cost plain LMDB never pays). */
#define MAP_SIZE ((size_t)2 << 30)
/* refstore's encoding of a REF entry in its log database (refstore/log.c):
 * term 8 bytes, type 1, size 8, digest 32, then the id. */
#define VALUE_LEN (8 + 1 + 8 + REFRAFT_DIGEST_LEN + ID_LEN)

/* One batch of entries, rewritten before each transaction. */
typedef struct batch {
    refraft_entry *entries;
    uint8_t *ids;
    uint32_t n;
} batch;

static int batch_init(batch *b, uint32_t n)
{
    b->n = n;
    b->entries = calloc(n, sizeof(*b->entries));
    b->ids = calloc(n, ID_LEN);
    if (b->entries != NULL && b->ids != NULL)
        return 0;
    fprintf(stderr, "refraft-bench: out of memory\n");
    free(b->entries);
    free(b->ids);
    return -1;
}

static void batch_free(batch *b)
{
    free(b->entries);
    free(b->ids);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* splitmix64's mixer: digest bytes that differ in every entry. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Entries first .. first + n - 1: the id is "ref:" padded, then the
 * entry's number; the digest is derived from the number. */
static void batch_fill(batch *b, uint64_t first)
{
    for (uint32_t i = 0; i < b->n; i++) {
        uint64_t k = first + i;
        uint8_t *id = b->ids + (size_t)i * ID_LEN;
        memcpy(id, "ref:....", 8);
        put_be64(id + 8, k);
        refraft_entry *e = &b->entries[i];
        *e = (refraft_entry){.term = 1, .type = REFRAFT_ENTRY_REF};
        e->ref = (refraft_ref){.id = id, .id_len = ID_LEN, .size = REF_SIZE};
        for (int j = 0; j < REFRAFT_DIGEST_LEN / 8; j++)
            put_be64(e->ref.digest + 8 * j, mix(k * 4 + (uint64_t)j));
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool run_over(uint64_t done, double elapsed, double seconds)
{
    return elapsed >= seconds || done >= STORE_RUN_ENTRIES_MAX ||
           tmpdir_interrupted();
}

int store_run_refstore(const char *dir, uint32_t n, double seconds,
                       double *rate)
{
    refstore_options o = {
        .path = dir,
        .cluster_id = "bench",
        .node_id = "b1",
        .sync = REFSTORE_SYNC_FULL,
        .map_size = MAP_SIZE,
    };
    refstore *st = NULL;
    char err[REFRAFT_ERRMSG_LEN] = "";
    int rv = refstore_open(&o, &st, err, sizeof(err));
    if (rv != 0) {
        fprintf(stderr, "refraft-bench: refstore_open %s: %s (%s)\n", dir,
                refraft_strerror(rv), err);
        return -1;
    }
    refraft_log_api api;
    refstore_log_api(st, &api);
    batch b;
    if (batch_init(&b, n) != 0)
        goto err_after_open;
    uint64_t done = 0;
    double t0 = now_s(), elapsed = 0;
    do {
        batch_fill(&b, done + 1);
        rv = api.append(api.ctx, b.entries, n);
        if (rv != 0) {
            fprintf(stderr, "refraft-bench: refstore append: %s (%s)\n",
                    refraft_strerror(rv), refstore_errmsg(st));
            goto err_after_batch;
        }
        done += n;
        elapsed = now_s() - t0;
    } while (!run_over(done, elapsed, seconds));
    *rate = (double)done / elapsed;
    batch_free(&b);
    refstore_close(st);
    return 0;

err_after_batch:
    batch_free(&b);
err_after_open:
    refstore_close(st);
    return -1;
}

/* The value refstore would store for e. */
static void encode(uint8_t *v, const refraft_entry *e)
{
    put_be64(v, e->term);
    v[8] = e->type;
    put_be64(v + 9, e->ref.size);
    memcpy(v + 17, e->ref.digest, REFRAFT_DIGEST_LEN);
    memcpy(v + 17 + REFRAFT_DIGEST_LEN, e->ref.id, ID_LEN);
}

/* One synced transaction: the batch's entries at first, first + 1, ... */
static int put_batch(MDB_env *env, MDB_dbi dbi, const batch *b, uint64_t first)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc != 0)
        return rc;
    uint8_t key[8], value[VALUE_LEN];
    for (uint32_t i = 0; i < b->n && rc == 0; i++) {
        put_be64(key, first + i);
        encode(value, &b->entries[i]);
        MDB_val k = {sizeof(key), key}, v = {sizeof(value), value};
        rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* A named database, as refstore's log is one: committing it also updates
 * its record in the main database. */
static int open_lmdb(const char *dir, MDB_env **env, MDB_dbi *dbi)
{
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(env);
    if (rc != 0)
        return rc;
    if ((rc = mdb_env_set_mapsize(*env, MAP_SIZE)) != 0 ||
        (rc = mdb_env_set_maxdbs(*env, 1)) != 0 ||
        (rc = mdb_env_open(*env, dir, 0, 0600)) != 0 ||
        (rc = mdb_txn_begin(*env, NULL, 0, &txn)) != 0)
        goto err_after_env;
    if ((rc = mdb_dbi_open(txn, "log", MDB_CREATE, dbi)) != 0) {
        mdb_txn_abort(txn);
        goto err_after_env;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        goto err_after_env;
    return 0;

err_after_env:
    mdb_env_close(*env);
    return rc;
}

int store_run_lmdb(const char *dir, uint32_t n, double seconds, double *rate)
{
    MDB_env *env = NULL;
    MDB_dbi dbi = 0;
    int rc = open_lmdb(dir, &env, &dbi);
    if (rc != 0) {
        fprintf(stderr, "refraft-bench: LMDB in %s: %s\n", dir,
                mdb_strerror(rc));
        return -1;
    }
    batch b;
    if (batch_init(&b, n) != 0)
        goto err_after_env;
    uint64_t done = 0;
    double t0 = now_s(), elapsed = 0;
    do {
        batch_fill(&b, done + 1);
        rc = put_batch(env, dbi, &b, done + 1);
        if (rc != 0) {
            fprintf(stderr, "refraft-bench: LMDB put: %s\n", mdb_strerror(rc));
            goto err_after_batch;
        }
        done += n;
        elapsed = now_s() - t0;
    } while (!run_over(done, elapsed, seconds));
    *rate = (double)done / elapsed;
    batch_free(&b);
    mdb_env_close(env);
    return 0;

err_after_batch:
    batch_free(&b);
err_after_env:
    mdb_env_close(env);
    return -1;
}
