/* limit.c - refraft-bench limit: how many synced LMDB transactions a
 * directory's disk takes per second, the bound every durable write in
 * refraft runs into. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "bench.h"

#define LIMIT_VALUE_BYTES 64
#define LIMIT_MAP_BYTES ((size_t)1 << 30)

static int fail(const char *what, int rc)
{
    fprintf(stderr, "refraft-bench limit: %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

/* Commit synced transactions of `puts` puts each into a fresh environment
 * file path for `seconds`, then delete it. */
int bench_limit_measure(const char *path, unsigned puts, double seconds,
                        disk_limit *out)
{
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (rc != 0)
        return fail("mdb_env_create", rc);
    rc = mdb_env_set_mapsize(env, LIMIT_MAP_BYTES);
    if (rc == 0)
        rc = mdb_env_open(env, path, MDB_NOSUBDIR, 0600);
    if (rc != 0) {
        mdb_env_close(env);
        return fail(path, rc);
    }
    size_t cap = 1024, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    uint8_t value[LIMIT_VALUE_BYTES];
    memset(value, 0xab, sizeof value);
    uint64_t key = 0, start = bench_now_us();
    uint64_t until = start + (uint64_t)(seconds * 1e6);
    int rv = lat == NULL ? -1 : 0;
    while (rv == 0 && bench_now_us() < until) {
        uint64_t t0 = bench_now_us();
        MDB_txn *txn;
        MDB_dbi dbi;
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc == 0)
            rc = mdb_dbi_open(txn, NULL, 0, &dbi);
        for (unsigned i = 0; rc == 0 && i < puts; i++) {
            /* Big-endian, so that MDB_APPEND finds the keys in order. */
            uint8_t k[8];
            uint64_t v = ++key;
            for (int b = 7; b >= 0; b--, v >>= 8)
                k[b] = (uint8_t)v;
            MDB_val kv = {sizeof k, k}, vv = {sizeof value, value};
            rc = mdb_put(txn, dbi, &kv, &vv, MDB_APPEND);
        }
        rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
        if (rc != 0) {
            rv = fail("a synced transaction", rc);
            break;
        }
        if (n == cap) {
            double *p = realloc(lat, 2 * cap * sizeof *lat);
            if (p == NULL) {
                rv = -1;
                break;
            }
            lat = p;
            cap *= 2;
        }
        lat[n++] = (double)(bench_now_us() - t0);
    }
    double elapsed = (double)(bench_now_us() - start) / 1e6;
    mdb_env_close(env);
    unlink(path);
    char lock[4096];
    snprintf(lock, sizeof lock, "%s-lock", path);
    unlink(lock);
    if (rv == 0 && n > 0) {
        out->txns_per_s = (double)n / elapsed;
        out->puts_per_s = out->txns_per_s * puts;
        out->p50_us = bench_median(lat, n);
        out->p99_us = lat[(size_t)((double)(n - 1) * 0.99)];
        out->max_us = lat[n - 1];
    } else if (rv == 0) {
        rv = -1;
    }
    free(lat);
    return rv;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: refraft-bench limit [--dir DIR] [--seconds S] "
            "[--repeat R]\n"
            "  synced LMDB transactions per second in DIR (default: a new "
            "directory\n"
            "  under $TMPDIR or /tmp), with 1 and with 1024 puts of %d bytes "
            "each\n",
            LIMIT_VALUE_BYTES);
    return 2;
}

int bench_limit(int argc, char **argv)
{
    const char *dir = NULL;
    double seconds = 2;
    unsigned repeat = 3;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--repeat") == 0)
            repeat = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            return usage();
    }
    if (seconds <= 0 || seconds > 3600 || repeat < 1 || repeat > 100)
        return usage();
    char tmp[4096];
    if (dir == NULL) {
        const char *base = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/refraft-limit-XXXXXX",
                 base != NULL && base[0] != '\0' ? base : "/tmp");
        if (mkdtemp(tmp) == NULL) {
            perror("refraft-bench limit: mkdtemp");
            return 1;
        }
        dir = tmp;
    }
    static const unsigned batches[] = {1, 1024};
    int status = 0;
    for (size_t b = 0; b < 2 && status == 0; b++) {
        disk_limit r;
        if (bench_limit_repeat(dir, batches[b], seconds, repeat, &r) != 0) {
            status = 1;
            break;
        }
        printf("{\"bench\":\"limit\",\"puts_per_txn\":%u,\"runs\":%u,"
               "\"txns_per_s\":%.0f,\"puts_per_s\":%.0f,\"p50_us\":%.0f,"
               "\"p99_us\":%.0f,\"max_us\":%.0f}\n",
               batches[b], repeat, r.txns_per_s, r.puts_per_s, r.p50_us,
               r.p99_us, r.max_us);
        fflush(stdout);
    }
    if (dir == tmp)
        rmdir(tmp);
    return status;
}

int bench_limit_repeat(const char *dir, unsigned puts, double seconds,
                       unsigned repeat, disk_limit *out)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/limit.mdb", dir);
    double txns[100], p50[100], p99[100], max[100];
    for (unsigned i = 0; i < repeat && i < 100; i++) {
        disk_limit r;
        if (bench_limit_measure(file, puts, seconds, &r) != 0)
            return -1;
        txns[i] = r.txns_per_s;
        p50[i] = r.p50_us;
        p99[i] = r.p99_us;
        max[i] = r.max_us;
    }
    out->txns_per_s = bench_median(txns, repeat);
    out->puts_per_s = out->txns_per_s * puts;
    out->p50_us = bench_median(p50, repeat);
    out->p99_us = bench_median(p99, repeat);
    out->max_us = bench_median(max, repeat);
    return 0;
}
