/* check.c - after each kill: reopen a store and check every invariant. */
#define _XOPEN_SOURCE 700 /* PATH_MAX */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "torture.h"

/*
 * What "applied <= commit bound" means after a crash.
 *
 * Nothing persists a Raft commit index: it is learned again after a
 * restart.  What must hold on disk is that nothing is applied that was not
 * committed when it was applied.  The two stores give that a checkable
 * form each:
 *
 *  - follower: the workload plays the leader, so it knows the commit index
 *    and persists it as app_meta "commit" (refstore_write, durable) before
 *    applying any entry under it, as a follower learns leader_commit before
 *    applying.  So refstore_applied_index <= "commit" must hold on disk at
 *    every instant; and since the workload never truncates at or below
 *    "commit", every entry up to it must survive every crash unchanged.
 *
 *  - leader: a single voter commits an entry the moment its own append is
 *    durable, so its commit index is its durable last index, and the bound
 *    is last_index: applied <= last_index, and every applied entry is in
 *    the log.  The "commit" the workload writes now and then (the node's
 *    commit index) is only a lower bound of what was committed (applies
 *    become durable with the next append, before the next "commit" write),
 *    so the checker requires "commit" <= last_index: committed entries
 *    are never lost.  A lone leader never truncates, so its whole log must
 *    survive every later crash unchanged.
 */

/*
 * The checks, each after every kill, on both stores, and what a failure
 * would mean:
 *
 *  1. refstore_open succeeds with the same options: a crash at any point
 *     leaves a store that opens (no ECORRUPT, no EWRONGSTORE).
 *  2. the log holds every index first..last, through get() in chunks and
 *     through term_at(), and nothing past last nor below first; term_at
 *     answers for first - 1 with the base's term (0 for index 0): appends,
 *     truncations and compactions are all or nothing.  The leader's log
 *     starts at 1 (it never compacts); the follower's first index never
 *     goes down, its base's members are ones the workload writes, and the
 *     base is at or below the applied index (a compaction commits the
 *     applies of the entries it drops).
 *  3. terms are >= 1 and never go down along the log, and none is above
 *     the stored current term: hard state and log agree (Raft Figure 2).
 *  4. every REF entry's record is stored, with the size and SHA-256 of
 *     its reference; NOOPs read back zeroed: a reference is never durable
 *     without its record (refstore_propose; records first on followers).
 *     CONFIG entries read back with whole members, ones the workload
 *     writes, and nothing else; a store holding one is of format 2 or 3,
 *     and a compacted one of format 3 (the format moves in the
 *     transaction that writes the first CONFIG entry, or base).
 *  5. applied <= last and, on the follower, applied <= the commit bound;
 *     the commit bound <= last; the data index <= last: nothing is applied
 *     that was not committed, committed entries are never lost.
 *  6. the app's own "applied" equals refstore_applied_index, and the app
 *     holds a row for exactly 1..applied, each equal to the entry at its
 *     index (when that was not compacted away): exactly-once apply, hook
 *     writes and applied index atomic.
 *  7. every staged row matches the entry now at its index (none past the
 *     last): a truncation and its hook's undo are one transaction.
 *  8. across kills: the term, the applied index and the commit bound
 *     never go down, and the stable prefix (see above) never changes,
 *     CONFIG entries' members included.
 *  9. the vote is one the workload cast, and the cluster map holds only
 *     what the workload wrote.
 * 10. refraft_node_create over the store loads the same term, vote and
 *     last index: a restarted node starts (no ECORRUPT).
 *
 * The child checks some of the same at run time (apply hook, truncate
 * hook, restarts: workload.c) and exits with CHILD_EXIT_VIOLATION.
 */

#define CHECK_READ_CHUNK 256
/* Failures reported per store and kill; the rest are only counted. */
#define CHECK_REPORT_MAX 12

/* What the checker keeps of each log entry. */
typedef struct centry {
    refraft_term term;
    app_value v;
    uint64_t fp_ref; /* type, size, digest and id */
    uint64_t fp;     /* fp_ref and term */
} centry;

typedef struct checker {
    const char *where;
    bool leader;
    int failures;
    app a;
    refraft_log_api api;
    refraft_term term;
    char vote[REFRAFT_ID_MAX + 1];
    refraft_index first, last, applied, commit;
    centry *log; /* log[i - 1] is index i, known from first on */
    refraft_snapshot_meta base;
    bool has_config; /* the log holds a CONFIG entry */
    check_summary *sum;
} checker;

static __attribute__((format(printf, 2, 3))) void
failf(checker *k, const char *fmt, ...)
{
    k->failures++;
    if (k->failures > CHECK_REPORT_MAX) {
        if (k->failures == CHECK_REPORT_MAX + 1)
            fprintf(stderr, "FAIL %s: (further failures not shown)\n",
                    k->where);
        return;
    }
    va_list ap;
    fprintf(stderr, "FAIL %s: ", k->where);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

typedef unsigned long long ull;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t fp_ref(const app_value *v, const void *id, size_t id_len)
{
    uint8_t buf[APP_VALUE_LEN];
    app_value_encode(v, buf);
    return fnv(fnv(0xcbf29ce484222325ull, buf, sizeof(buf)), id, id_len);
}

/* ---- The log --------------------------------------------------------- */

struct record_seen {
    bool called;
    size_t len;
    uint8_t digest[REFRAFT_DIGEST_LEN];
};

static void record_seen_fn(void *ctx, const void *bytes, size_t len)
{
    struct record_seen *s = ctx;
    s->called = true;
    s->len = len;
    record_sha256(bytes, len, s->digest);
}

/* Every REF entry's record is stored and matches: the leader stores
 * records with their references in one txn (refstore_propose), the
 * follower stores them before appending and removes them only with the
 * entries (truncate hook). */
static void check_record(checker *k, refraft_index idx, const uint8_t *id,
                         uint16_t id_len, const refraft_ref *ref)
{
    struct record_seen s = {0};
    int rv = refstore_record_get(k->a.store, id, id_len, record_seen_fn, &s);
    const char *applied = idx <= k->applied ? "applied " : "";
    if (rv != 0 || !s.called) {
        failf(k, "%sentry %llu: record " ID_FMT " %s", applied, (ull)idx,
              ID_ARGS(id, id_len),
              rv == REFRAFT_ENOTFOUND ? "missing" : refraft_strerror(rv));
        return;
    }
    k->sum->record_bytes += s.len;
    if (s.len != ref->size ||
        memcmp(s.digest, ref->digest, REFRAFT_DIGEST_LEN) != 0)
        failf(k,
              "%sentry %llu: record " ID_FMT " has %zu bytes and %s "
              "digest; its reference says %llu bytes",
              applied, (ull)idx, ID_ARGS(id, id_len), s.len,
              memcmp(s.digest, ref->digest, REFRAFT_DIGEST_LEN) != 0
                  ? "another"
                  : "the same",
              (ull)ref->size);
}

/* What a CONFIG entry read at idx holds, checked, as a fingerprint (0
 * for another type, whose members must be none).  Called on the entry as
 * get returned it, before any other call into the store: its members
 * live only until then. */
static uint64_t
check_members(checker *k, refraft_index idx, const refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_CONFIG) {
        if (e->members != NULL || e->n_members != 0)
            failf(k, "entry %llu: type %u with %zu members", (ull)idx, e->type,
                  e->n_members);
        return 0;
    }
    k->has_config = true;
    k->sum->configs++;
    if (e->members == NULL || !app_members_known(e->members, e->n_members)) {
        failf(k,
              "entry %llu: a CONFIG entry whose %zu members are not "
              "whole, or not ones the workload writes",
              (ull)idx, e->n_members);
        return 0;
    }
    uint64_t h = fnv(0xcbf29ce484222325ull, &e->n_members, sizeof(size_t));
    for (size_t i = 0; i < e->n_members; i++) {
        const refraft_member *m = &e->members[i];
        uint8_t voter = m->voter;
        h = fnv(h, m->id, strlen(m->id) + 1);
        h = fnv(h, m->address, strlen(m->address) + 1);
        h = fnv(h, &voter, 1);
    }
    return h;
}

/* One entry, read at idx, after the one of term prev_term; members_fp is
 * check_members' fingerprint of it.  e and its id are the caller's
 * copies: the log's own live only until the next call into the log API,
 * and refstore_record_get may count as one. */
static void check_entry(checker *k, refraft_index idx, const refraft_entry *e,
                        refraft_term prev_term, uint64_t members_fp)
{
    centry *c = &k->log[idx - 1];
    uint16_t id_len = e->type == REFRAFT_ENTRY_REF ? e->ref.id_len : 0;
    bool id_ok = id_len <= REFRAFT_RECORD_ID_MAX && e->ref.id != NULL;
    c->term = e->term;
    app_value_of(e, &c->v);
    c->fp_ref = fp_ref(&c->v, id_ok ? e->ref.id : NULL, id_ok ? id_len : 0);
    c->fp = fnv(c->fp_ref, &c->term, sizeof(c->term));
    c->fp = fnv(c->fp, &members_fp, sizeof(members_fp));

    refraft_term t = 0;
    int rv = k->api.term_at(k->api.ctx, idx, &t);
    if (rv != 0 || t != e->term)
        failf(k, "entry %llu: get says term %llu, term_at says %llu (%s)",
              (ull)idx, (ull)e->term, (ull)t, refraft_strerror(rv));
    if (e->term == 0 || e->term < prev_term)
        failf(k, "entry %llu: term %llu after term %llu", (ull)idx,
              (ull)e->term, (ull)prev_term);
    if (e->term > k->term)
        failf(k, "entry %llu: term %llu is above the current term %llu",
              (ull)idx, (ull)e->term, (ull)k->term);
    if (e->type == REFRAFT_ENTRY_NOOP || e->type == REFRAFT_ENTRY_CONFIG) {
        static const uint8_t zero[REFRAFT_DIGEST_LEN];
        if (e->ref.id_len != 0 || e->ref.size != 0 || e->voided != 0 ||
            memcmp(e->ref.digest, zero, sizeof(zero)) != 0)
            failf(k, "entry %llu: a %s whose ref is not zeroed", (ull)idx,
                  e->type == REFRAFT_ENTRY_NOOP ? "no-op" : "CONFIG entry");
    } else if (e->type != REFRAFT_ENTRY_REF) {
        failf(k, "entry %llu: unknown type %u", (ull)idx, e->type);
    } else if (id_len == 0 || !id_ok) {
        failf(k, "entry %llu: a reference with an id of %u bytes", (ull)idx,
              id_len);
    } else {
        check_record(k, idx, e->ref.id, id_len, &e->ref);
    }
}

/* The log's base: where the log starts, the term before it, and a
 * configuration the workload wrote.  Only the follower compacts. */
static void check_base(checker *k)
{
    int rv = k->api.base(k->api.ctx, &k->base);
    if (rv != 0) {
        failf(k, "base: %s", refraft_strerror(rv));
        memset(&k->base, 0, sizeof(k->base));
    }
    refraft_index base = k->base.last_index;
    if (k->first != base + 1 || (k->leader && base != 0))
        failf(k, "log starts at %llu after a base at %llu", (ull)k->first,
              (ull)base);
    if (k->base.n_members > 0 &&
        !app_members_known(k->base.members, k->base.n_members))
        failf(k, "the base's %zu members are not ones the workload writes",
              k->base.n_members);
    if (base > k->applied)
        failf(k,
              "the base %llu is past the applied index %llu: compacted "
              "entries were never applied",
              (ull)base, (ull)k->applied);
    refraft_term t = 99;
    if (k->api.term_at(k->api.ctx, base, &t) != 0 || t != k->base.last_term)
        failf(k, "term_at(%llu) is %llu, not the base's term %llu", (ull)base,
              (ull)t, (ull)k->base.last_term);
    if (base > 0 &&
        k->api.term_at(k->api.ctx, base - 1, &t) != REFRAFT_ENOTFOUND)
        failf(k, "term_at(%llu), below the base, is not ENOTFOUND",
              (ull)base - 1);
}

/* The log is contiguous: every index first..last reads back, through get
 * in chunks and through term_at, and nothing beyond last does. */
static void check_log(checker *k)
{
    k->first = k->api.first_index(k->api.ctx);
    k->last = k->api.last_index(k->api.ctx);
    if (k->first == 0 || k->last + 1 < k->first) {
        failf(k, "log spans %llu..%llu", (ull)k->first, (ull)k->last);
        k->last = 0;
        return;
    }
    check_base(k);
    refraft_term t;
    if (k->api.term_at(k->api.ctx, k->last + 1, &t) != REFRAFT_ENOTFOUND)
        failf(k, "term_at(last + 1 = %llu) is not ENOTFOUND", (ull)k->last + 1);
    k->log = calloc(k->last > 0 ? (size_t)k->last : 1, sizeof(*k->log));
    if (k->log == NULL) {
        failf(k, "out of memory for %llu entries", (ull)k->last);
        k->last = 0;
        return;
    }
    refraft_entry buf[CHECK_READ_CHUNK];
    refraft_term prev_term = k->base.last_term;
    for (refraft_index from = k->first; from <= k->last;) {
        size_t want = k->last - from + 1 < CHECK_READ_CHUNK
                          ? (size_t)(k->last - from + 1)
                          : CHECK_READ_CHUNK;
        size_t n = 0;
        int rv = k->api.get(k->api.ctx, from, want, buf, &n);
        if (rv != 0 || n != want) {
            failf(k,
                  "get(%llu, %zu) gave %zu entries (%s): log has a hole "
                  "before last index %llu",
                  (ull)from, want, n, refraft_strerror(rv), (ull)k->last);
            k->last = from - 1;
            return;
        }
        /* Copy the chunk before check_entry calls into the store; the
         * members are checked now, and not kept. */
        refraft_entry es[CHECK_READ_CHUNK];
        uint8_t ids[CHECK_READ_CHUNK][REFRAFT_RECORD_ID_MAX];
        uint64_t members_fp[CHECK_READ_CHUNK];
        for (size_t i = 0; i < n; i++) {
            members_fp[i] = check_members(k, from + i, &buf[i]);
            es[i] = buf[i];
            es[i].members = NULL;
            if (buf[i].type == REFRAFT_ENTRY_REF && buf[i].ref.id != NULL &&
                buf[i].ref.id_len <= REFRAFT_RECORD_ID_MAX) {
                memcpy(ids[i], buf[i].ref.id, buf[i].ref.id_len);
                es[i].ref.id = ids[i];
            }
        }
        for (size_t i = 0; i < n; i++) {
            check_entry(k, from + i, &es[i], prev_term, members_fp[i]);
            prev_term = es[i].term;
        }
        from += n;
    }
    size_t n = 99;
    int rv = k->api.get(k->api.ctx, k->last + 1, 1, buf, &n);
    if (rv != 0 || n != 0)
        failf(k, "get(last + 1) gave %zu entries (%s)", n,
              refraft_strerror(rv));
}

/* ---- The application's state ---------------------------------------- */

/* dbi of the app database name; false (and no error) when it was never
 * created: a store killed before app_open_dbs committed. */
static bool
open_app_db(checker *k, MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
    int rc = mdb_dbi_open(txn, name, 0, dbi);
    if (rc == 0)
        return true;
    if (rc != MDB_NOTFOUND)
        failf(k, "opening app database %s: %s", name, mdb_strerror(rc));
    return false;
}

/* Exactly once: the app holds a row for each of 1..applied and nothing
 * else, each row is the entry at its index, and its own "applied" (written
 * in the same txns) equals the store's applied index. */
static void check_app_rows(checker *k, MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        failf(k, "app cursor: %s", mdb_strerror(rc));
        return;
    }
    MDB_val key, data;
    refraft_index want = 1;
    for (rc = mdb_cursor_get(cur, &key, &data, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT), want++) {
        refraft_index idx = app_key_index(&key);
        if (idx > k->applied) {
            failf(k,
                  "app holds a row for %llu, past the applied index %llu: "
                  "an apply survived without its applied index",
                  (ull)idx, (ull)k->applied);
            break;
        }
        if (idx != want) {
            failf(k,
                  "app has no row for %llu (next row: %llu), applied "
                  "index %llu: an applied entry's state is missing",
                  (ull)want, (ull)idx, (ull)k->applied);
            break;
        }
        app_value v;
        if (idx > k->last || !app_value_decode(&data, &v) ||
            (idx >= k->first && !app_value_equal(&v, &k->log[idx - 1].v)))
            failf(k, "app row %llu is not the entry at %llu", (ull)idx,
                  (ull)idx);
    }
    if (rc == MDB_NOTFOUND && want <= k->applied)
        failf(k,
              "app has rows 1..%llu, applied index is %llu: applied "
              "entries missing from the application's state",
              (ull)want - 1, (ull)k->applied);
    else if (rc != 0 && rc != MDB_NOTFOUND)
        failf(k, "app cursor: %s", mdb_strerror(rc));
    mdb_cursor_close(cur);
}

/* Each staged row belongs to the entry now at its index: a truncation
 * removed the rows of the entries it removed, in its own txn. */
static void check_staged(checker *k, MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        failf(k, "staged cursor: %s", mdb_strerror(rc));
        return;
    }
    MDB_val key, data;
    for (rc = mdb_cursor_get(cur, &key, &data, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT)) {
        refraft_index idx = app_key_index(&key);
        k->sum->staged++;
        app_value v;
        if (k->leader) {
            failf(k, "staged row for %llu in the leader's store", (ull)idx);
            continue;
        }
        if (idx < 1 || idx > k->last || !app_value_decode(&data, &v)) {
            failf(k,
                  "staged row for %llu, past the last index %llu: the "
                  "truncation that removed the entry kept its app state",
                  (ull)idx, (ull)k->last);
            continue;
        }
        if (idx >= k->first &&
            fp_ref(&v, (const uint8_t *)data.mv_data + APP_VALUE_LEN,
                   data.mv_size - APP_VALUE_LEN) != k->log[idx - 1].fp_ref)
            failf(k,
                  "staged row for %llu belongs to another entry: the "
                  "truncation that removed its entry kept its app state",
                  (ull)idx);
    }
    if (rc != MDB_NOTFOUND)
        failf(k, "staged cursor: %s", mdb_strerror(rc));
    mdb_cursor_close(cur);
}

/* The store's format: 1, 2 (format 1 with CONFIG entries), which it must
 * be at least once it holds a CONFIG entry, 3 (format 2 with a base),
 * which it must be at least once compacted, or 4 (format 3 with the
 * records identity first), which a new store is from the start: the
 * format moves in the transaction that writes the first CONFIG entry, or
 * base.  (The CONFIG entries a compaction dropped are not seen here:
 * format 3 covers them.) */
static void check_format(checker *k, MDB_txn *txn)
{
    MDB_dbi meta;
    MDB_val key = {.mv_size = 14, .mv_data = "format_version"}, v;
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0)
        rc = mdb_get(txn, meta, &key, &v);
    if (rc != 0 || v.mv_size != 8) {
        failf(k, "reading the store's format_version: %s",
              rc != 0 ? mdb_strerror(rc) : "not 8 bytes");
        return;
    }
    refraft_index format = app_key_index(&v);
    if (format < 1 || format > 4)
        failf(k, "the store has format %llu", (ull)format);
    else if (k->has_config && format < 2)
        failf(k,
              "the log holds a CONFIG entry, but the store is of format "
              "%llu, not 2 to 4",
              (ull)format);
    else if (k->first > 1 && format < 3)
        failf(k, "the log is compacted, but the store is of format %llu",
              (ull)format);
}

static void check_app(checker *k)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(refstore_env(k->a.store), NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        failf(k, "read txn: %s", mdb_strerror(rc));
        return;
    }
    MDB_dbi db_app, db_meta, db_staged;
    uint64_t app_applied = 0;
    k->commit = 0;
    if (open_app_db(k, txn, TORTURE_DB_META, &db_meta)) {
        rc = app_meta_get(txn, db_meta, TORTURE_KEY_APPLIED, &app_applied);
        if (rc == 0)
            rc = app_meta_get(txn, db_meta, TORTURE_KEY_COMMIT, &k->commit);
        if (rc != 0)
            failf(k, "reading app_meta: %s", mdb_strerror(rc));
    }
    if (app_applied != k->applied)
        failf(k,
              "the app's applied is %llu, the store's applied index %llu: "
              "apply and its record diverged",
              (ull)app_applied, (ull)k->applied);
    if (open_app_db(k, txn, TORTURE_DB_APP, &db_app))
        check_app_rows(k, txn, db_app);
    else if (k->applied > 0)
        failf(k, "applied index %llu but no app database", (ull)k->applied);
    if (open_app_db(k, txn, TORTURE_DB_STAGED, &db_staged))
        check_staged(k, txn, db_staged);
    check_format(k, txn);
    mdb_txn_abort(txn);
}

/* ---- Bounds, history, node ------------------------------------------ */

static void check_bounds(checker *k)
{
    if (k->applied > k->last)
        failf(k, "applied index %llu is past the last index %llu",
              (ull)k->applied, (ull)k->last);
    if (k->commit > k->last)
        failf(k,
              "commit bound %llu is past the last index %llu: committed "
              "entries lost",
              (ull)k->commit, (ull)k->last);
    /* Truncation lowers the data index with the entries (refstore.h). */
    if (k->sum->data > k->last)
        failf(k, "data index %llu is past the last index %llu",
              (ull)k->sum->data, (ull)k->last);
    if (!k->leader && k->applied > k->commit)
        failf(k, "applied index %llu is past the commit bound %llu",
              (ull)k->applied, (ull)k->commit);
}

static int check_map_fn(void *ctx, const char *node_id, const char *url)
{
    checker *k = ctx;
    if (strlen(node_id) != 2 || node_id[0] != 'n' ||
        strncmp(url, "http://127.0.0.1:", 17) != 0)
        failf(k, "cluster map has %s -> %s, never written", node_id, url);
    return 0;
}

/* What was durable at the last check is durable now: the term, the
 * applied index and the commit bound never go down, and the entries that
 * can never change (see the comment at the top) read the same. */
static void check_against_history(checker *k, check_history *h)
{
    if (k->term < h->term)
        failf(k, "current term went down from %llu to %llu", (ull)h->term,
              (ull)k->term);
    if (k->applied < h->applied)
        failf(k, "applied index went down from %llu to %llu", (ull)h->applied,
              (ull)k->applied);
    if (k->commit < h->commit)
        failf(k, "commit bound went down from %llu to %llu", (ull)h->commit,
              (ull)k->commit);
    if (k->leader && k->last < h->last)
        failf(k, "the leader's log shrank from %llu to %llu", (ull)h->last,
              (ull)k->last);
    if (k->first < h->first)
        failf(k, "the log's first index went down from %llu to %llu",
              (ull)h->first, (ull)k->first);
    /* Entries compacted away are no longer read: the rest are compared. */
    size_t same = h->n_fp < k->last ? h->n_fp : (size_t)k->last;
    for (size_t i = (size_t)k->first - 1; i < same; i++) {
        if (h->fp[i] != k->log[i].fp) {
            failf(k,
                  "entry %zu changed since the last kill, though it was "
                  "%s",
                  i + 1, k->leader ? "in a lone leader's log" : "committed");
            break;
        }
    }
    /* Keep the new stable prefix. */
    size_t keep = k->leader
                      ? (size_t)k->last
                      : (size_t)(k->commit < k->last ? k->commit : k->last);
    if (keep > h->fp_cap) {
        size_t cap = h->fp_cap ? h->fp_cap : 1024;
        while (cap < keep)
            cap *= 2;
        uint64_t *fp = realloc(h->fp, cap * sizeof(*fp));
        if (fp == NULL) {
            failf(k, "out of memory for the history");
            return;
        }
        h->fp = fp;
        h->fp_cap = cap;
    }
    /* Below the first index nothing is compared again (it never goes
     * down): those fingerprints are not kept. */
    for (size_t i = 0; i < keep; i++)
        h->fp[i] = i + 1 >= k->first ? k->log[i].fp : 0;
    h->n_fp = keep;
    h->first = k->first;
    h->term = k->term;
    h->applied = k->applied;
    h->commit = k->commit;
    h->last = k->last;
}

static int node_send(void *ctx, const char *to, const refraft_msg *msg)
{
    (void)ctx, (void)to, (void)msg;
    return 0;
}

static uint64_t node_now(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t node_random(void *ctx)
{
    (void)ctx;
    return 4;
}

static int node_apply(void *ctx, refraft_index index, const refraft_entry *e)
{
    checker *k = ctx;
    (void)e;
    failf(k, "refraft_node_create applied %llu", (ull)index);
    return REFRAFT_EINVAL;
}

/* The snapshot hooks a node on a compacted log must have.  The check
 * only loads the node, which never sends or takes a snapshot here. */
static int node_snapshot_read(void *ctx, refraft_index last,
                              refraft_index after, refraft_snapshot_ref *out,
                              size_t max, size_t *n)
{
    (void)ctx, (void)last, (void)after, (void)out, (void)max;
    *n = 0;
    return 0;
}

static int node_snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                               refraft_index after,
                               const refraft_snapshot_ref *refs, size_t n)
{
    (void)ctx, (void)meta, (void)after, (void)refs, (void)n;
    return REFRAFT_EINVAL;
}

static int node_snapshot_install(void *ctx, const refraft_snapshot_meta *meta)
{
    (void)ctx, (void)meta;
    return REFRAFT_EINVAL;
}

/* A node loads the store as a restarted node would: term, vote and log,
 * without REFRAFT_ECORRUPT (hard state behind the log). */
static void check_node(checker *k)
{
    refraft_log_api api;
    refstore_log_api(k->a.store, &api);
    refraft_config cfg = {
        .id = k->leader ? TORTURE_LEADER_ID : TORTURE_FOLLOWER_ID,
        .applied_index = k->applied,
    };
    refraft_hull hull = {
        .version = REFRAFT_HULL_VERSION,
        .ctx = k,
        .send = node_send,
        .now_ms = node_now,
        .random = node_random,
        .apply = node_apply,
        .snapshot_read = node_snapshot_read,
        .snapshot_write = node_snapshot_write,
        .snapshot_install = node_snapshot_install,
    };
    refraft_node *node = NULL;
    char err[REFRAFT_ERRMSG_LEN];
    err[0] = '\0';
    int rv = refraft_node_create(&cfg, &hull, &api, &node, err, sizeof(err));
    if (rv != 0) {
        failf(k, "refraft_node_create over the store: %s (%s)",
              refraft_strerror(rv), err);
        return;
    }
    const char *vote = refraft_voted_for(node);
    if (refraft_current_term(node) != k->term ||
        refraft_last_index(node) != k->last ||
        strcmp(vote != NULL ? vote : "", k->vote) != 0)
        failf(k,
              "the node loaded term %llu, vote \"%s\", last %llu; the "
              "store has %llu, \"%s\", %llu",
              (ull)refraft_current_term(node), vote != NULL ? vote : "",
              (ull)refraft_last_index(node), (ull)k->term, k->vote,
              (ull)k->last);
    refraft_node_destroy(node);
}

/* ---- Entry point ----------------------------------------------------- */

/* The votes the workload casts: a lone leader for itself, the follower
 * for one of a few candidates (workload.c). */
static bool vote_known(bool leader, const char *vote)
{
    static const char *const known[] = {"", "n2", "n3", TORTURE_FOLLOWER_ID};
    if (leader)
        return vote[0] == '\0' || strcmp(vote, TORTURE_LEADER_ID) == 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
        if (strcmp(vote, known[i]) == 0)
            return true;
    return false;
}

/* Whether the store was ever created: a child killed before its first
 * open leaves no data file, and the checker does not create one, so that
 * the next child still meets a store to create. */
static bool store_exists(const char *path)
{
    char file[PATH_MAX + 16];
    struct stat st;
    snprintf(file, sizeof(file), "%s/data.mdb", path);
    return stat(file, &st) == 0;
}

static bool open_store(checker *k, const char *path, const torture_opts *opts)
{
    refstore_options o;
    app_store_options(&k->a, path,
                      k->leader ? TORTURE_LEADER_ID : TORTURE_FOLLOWER_ID, opts,
                      &o);
    char err[REFRAFT_ERRMSG_LEN];
    err[0] = '\0';
    refstore *s = NULL;
    int rv = refstore_open(&o, &s, err, sizeof(err));
    if (rv != 0) {
        failf(k, "refstore_open: %s (%s)", refraft_strerror(rv), err);
        return false;
    }
    k->a.store = s;
    refstore_log_api(s, &k->api);
    return true;
}

int check_store(const char *dir, bool leader, const torture_opts *opts,
                check_history *hist, check_summary *sum, const char *where)
{
    checker k;
    memset(&k, 0, sizeof(k));
    memset(sum, 0, sizeof(*sum));
    k.where = where;
    k.leader = leader;
    k.sum = sum;
    k.a.name = leader ? "leader" : "follower";
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir,
             leader ? TORTURE_LEADER_DIR : TORTURE_FOLLOWER_DIR);
    if (!store_exists(path)) {
        if (hist->seen)
            failf(&k, "%s/data.mdb has gone", path);
        return k.failures; /* else nothing yet, and no history either */
    }
    hist->seen = true;
    if (!open_store(&k, path, opts))
        return k.failures;
    int rv = k.api.load_hard_state(k.api.ctx, &k.term, k.vote);
    if (rv != 0)
        failf(&k, "load_hard_state: %s", refraft_strerror(rv));
    else if (!vote_known(leader, k.vote))
        failf(&k, "voted for \"%s\", never voted for", k.vote);
    k.applied = refstore_applied_index(k.a.store);
    sum->data = refstore_data_index(k.a.store);
    refstore_stats stats;
    refstore_get_stats(k.a.store, &stats);
    sum->map_size = stats.map_size;
    check_log(&k);
    if (k.log != NULL) {
        check_app(&k);
        check_bounds(&k);
        check_against_history(&k, hist);
    }
    rv = refstore_map_list(k.a.store, check_map_fn, &k);
    if (rv != 0)
        failf(&k, "refstore_map_list: %s", refraft_strerror(rv));
    check_node(&k);
    sum->term = k.term;
    sum->first = k.first;
    sum->last = k.last;
    sum->applied = k.applied;
    sum->commit = k.commit;
    free(k.log);
    refstore_close(k.a.store);
    return k.failures;
}

void check_history_free(check_history *hist)
{
    free(hist->fp);
    memset(hist, 0, sizeof(*hist));
}
