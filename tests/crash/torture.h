/* torture.h - refstore-torture's shared declarations: options, app schema. */
#ifndef REFSTORE_TORTURE_H
#define REFSTORE_TORTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/refstore.h"

/*
 * The torture test runs two stores side by side in one child process, each
 * in a directory of its own under the run's directory:
 *
 *   leader/    a single-node refraft cluster: refraft_node over
 *              refstore_log_api, proposals through refstore_propose, the
 *              hull's apply calling refstore_apply.  Its log only grows.
 *   follower/  the log API driven directly, as a follower's core would:
 *              records stored ahead of their references, batches appended,
 *              uncommitted suffixes truncated by "new leaders" with higher
 *              terms, hard state saved, committed entries applied, the
 *              log compacted up to applied entries (log API version 5).
 *
 * Both carry the same application, whose state lives in three databases
 * of the store's environment:
 *
 *   app      index -> app_value of the entry applied there (apply hook)
 *   app_meta "applied" -> index (apply hook, same txn as the app row)
 *            "commit"  -> the commit bound (refstore_write; see check.c)
 *   staged   index -> app_value + record id, written after an append (the
 *            application's "on append" work); the truncate hook removes
 *            the rows and the records of truncated entries
 */

#define TORTURE_LEADER_DIR "leader"
#define TORTURE_FOLLOWER_DIR "follower"
#define TORTURE_CLUSTER_ID "torture"
#define TORTURE_LEADER_ID "leader"
#define TORTURE_FOLLOWER_ID "follower"
/* The learner the leader adds and removes again (workload.c): its CONFIG
 * entries go through the log like proposals.  It never answers, and a
 * learner never counts, so the lone voter still commits at once. */
#define TORTURE_LEARNER_ID "n9"

#define TORTURE_DB_APP "app"
#define TORTURE_DB_META "app_meta"
#define TORTURE_DB_STAGED "staged"
#define TORTURE_KEY_APPLIED "applied"
#define TORTURE_KEY_COMMIT "commit"

/* How a child that was not killed ended: the parent reports these. */
#define CHILD_EXIT_ERROR 2     /* an API call failed unexpectedly */
#define CHILD_EXIT_VIOLATION 3 /* the child saw an invariant broken */

/* Where kills land (torture_opts.kill_at). */
#define KILL_AT_TIME 0  /* the parent sleeps a random time, then kills */
#define KILL_AT_IO 1    /* the child stops at its K-th write, is killed */
#define KILL_AT_MIXED 2 /* a coin picks one of the two each round */

typedef struct torture_opts {
    uint64_t kills;        /* rounds: fork, run, SIGKILL, check */
    uint64_t seed;         /* everything random derives from it */
    const char *dir;       /* where the run's temporary directory goes */
    int sync;              /* refstore_sync for both stores */
    int kill_at;           /* KILL_AT_* */
    uint32_t max_delay_us; /* timed kills: after a uniform 0..max_delay_us */
    uint32_t max_io;       /* I/O kills: at a uniform 1..max_io-th call */
    uint32_t epoch;        /* kills per store lifetime (fresh stores after) */
    size_t map_size;       /* refstore_options.map_size; 0: default */
    bool verbose;
} torture_opts;

/* ---- Random numbers (splitmix64: tiny, and good enough here) -------- */

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t rng_below(rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* True with probability pct / 100. */
static inline bool rng_pct(rng *r, unsigned pct)
{
    return rng_below(r, 100) < pct;
}

/* ---- Application values (app.c) ------------------------------------- */

/* What the application records for an entry, in "app" and "staged". */
#define APP_VALUE_LEN (1 + 8 + REFRAFT_DIGEST_LEN)

typedef struct app_value {
    uint8_t type;
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
} app_value;

/*
 * The application bound to one store.  fail, when set, is called with a
 * message when a hook finds an invariant broken (the child reports it and
 * exits); the checker leaves it NULL and never runs the hooks.
 */
typedef struct app {
    refstore *store;
    const char *name; /* "leader" or "follower", for messages */
    MDB_dbi db_app;
    MDB_dbi db_meta;
    MDB_dbi db_staged;
    void (*fail)(const struct app *app, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
} app;

/* Fill *opts for the store of app under path (which must outlive it). */
void app_store_options(app *a, const char *path, const char *node_id,
                       const torture_opts *topts, refstore_options *opts);

/* Open (creating) the application's databases; call once after
 * refstore_open.  Returns 0 or a refraft error code. */
int app_open_dbs(app *a);

/* Key encodings: indexes are 8-byte big-endian so LMDB's default byte
 * order is index order. */
void app_key(uint8_t key[8], refraft_index index);
refraft_index app_key_index(const MDB_val *key);

void app_value_of(const refraft_entry *e, app_value *v);
void app_value_encode(const app_value *v, uint8_t out[APP_VALUE_LEN]);
/* Returns false when the stored bytes are not an app_value. */
bool app_value_decode(const MDB_val *data, app_value *v);
bool app_value_equal(const app_value *a, const app_value *b);

/* The members CONFIG entries may name, and their addresses: the leader
 * and the learner in the leader's log, n1..n6 in the follower's (given
 * there by the workload as the follower's leaders would).  Returns the
 * address the workload gives id (which may also be given as ""), or NULL
 * for an id it never writes. */
const char *app_member_address(const char *id);
/* Whether the members of a CONFIG entry are ones the workload writes:
 * refraft_check_members passes, and every id and address is known. */
bool app_members_known(const refraft_member *m, size_t n);

/* Read an 8-byte counter from app_meta (0 when absent): 0 or MDB error. */
int app_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *out);
int app_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v);

/* Durably set app_meta "commit" (through refstore_write). */
int app_write_commit(app *a, refraft_index commit);

/* Read app_meta "applied" and "commit" as the store sees them, pending
 * applies included (refstore_read). */
int app_read_meta(app *a, uint64_t *applied, uint64_t *commit);

/* ---- Records (record.c) --------------------------------------------- */

/* Record ids in messages: the first 24 bytes, then "..." if longer. */
#define ID_FMT "\"%.*s%s\""
#define ID_ARGS(id, len)                                                       \
    (int)((len) > 24 ? 24 : (len)), (const char *)(id), (len) > 24 ? "..." : ""

#define RECORD_MAX_BYTES (64 * 1024)

typedef struct record {
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    uint16_t id_len;
    uint8_t *bytes; /* malloc'd; record_free */
    size_t len;
    refraft_ref ref; /* ref.id points at id above */
} record;

/* A new record with a unique id (prefix, round, seq) and random bytes of a
 * random size; returns false when out of memory. */
bool record_make(record *rec, rng *r, char prefix, uint64_t round,
                 uint64_t seq);
void record_free(record *rec);
void record_sha256(const void *bytes, size_t len,
                   uint8_t digest[REFRAFT_DIGEST_LEN]);

/* ---- The child and the checker -------------------------------------- */

/* In the child: stop (SIGSTOP) at the k-th write or sync call on a file;
 * see crashpoint.c.  Never armed in the parent. */
void crashpoint_arm(uint64_t k);
/* Whether the interposed calls are the ones the process uses. */
bool crashpoint_works(void);

/* Run the workload in dir until killed; never returns. */
_Noreturn void
workload_run(const char *dir, const torture_opts *opts, uint64_t round);

/* What the checker carries from one kill to the next, per store. */
typedef struct check_history {
    bool seen; /* the store existed at an earlier check */
    refraft_term term;
    refraft_index applied;
    refraft_index commit;
    refraft_index last;
    refraft_index first; /* the log's first index: compactions last */
    /* Fingerprints of the entries that can never change again: the whole
     * leader log, the follower's log up to its commit bound (those below
     * the log's first index are no longer read). */
    uint64_t *fp;
    size_t n_fp;
    size_t fp_cap;
} check_history;

/* A summary of one store, for the verbose line. */
typedef struct check_summary {
    refraft_term term;
    refraft_index first;
    refraft_index last;
    refraft_index applied;
    refraft_index commit;
    refraft_index staged;
    refraft_index data;
    refraft_index configs; /* CONFIG entries in the log */
    uint64_t record_bytes;
    size_t map_size;
} check_summary;

/*
 * Reopen the store in dir/sub, run every check, close it.  Prints each
 * failure (prefixed with where) to stderr and returns how many checks
 * failed (0: all passed).
 */
int check_store(const char *dir, bool leader, const torture_opts *opts,
                check_history *hist, check_summary *sum, const char *where);

void check_history_free(check_history *hist);

#endif /* REFSTORE_TORTURE_H */
