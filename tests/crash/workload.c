/* workload.c - the child: a leader node and a follower log under load. */
#define _XOPEN_SOURCE 700 /* snprintf of paths, PATH_MAX */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torture.h"

#define BATCH_MAX 8
#define APPLY_CHUNK 16

/* Ids a "new leader" may vote for; "" is no vote. */
static const char *const votes[] = {"", "n2", "n3", TORTURE_FOLLOWER_ID};

typedef struct child {
    const torture_opts *opts;
    uint64_t round;
    rng r;
    uint64_t seq;    /* record sequence within this round */
    uint64_t now_ms; /* the leader's hull clock: ours to move */
    char leader_path[PATH_MAX];
    char follower_path[PATH_MAX];

    /* Leader: a single-node cluster over refstore. */
    app la;
    refraft_node *node;

    /* Follower: the log API driven directly. */
    app fa;
    refraft_log_api fapi;
    refraft_term fterm;
    char fvote[REFRAFT_ID_MAX + 1];
    refraft_index flast;
    refraft_index fcommit;  /* the commit bound, durable before use */
    refraft_index fapplied; /* applied, including pending applies */
} child;

static uint64_t g_round; /* for messages from the hooks */

/* Print the child's last words in one write, so that they come out whole
 * even when the parent's kill follows at once. */
static void
say(const app *a, const char *what, const char *fmt, va_list ap, bool errmsg)
{
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "child (round %llu): %s: %s",
                                (unsigned long long)g_round, a->name, what);
    if (n < sizeof(buf))
        n += (size_t)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    if (errmsg && n < sizeof(buf) && a->store != NULL &&
        refstore_errmsg(a->store)[0] != '\0')
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " (%s)",
                              refstore_errmsg(a->store));
    if (n >= sizeof(buf) - 1)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    fwrite(buf, 1, n, stderr);
}

/* An API call failed where the workload expects none to: not a crash the
 * parent caused, so the run fails. */
static _Noreturn __attribute__((format(printf, 2, 3))) void
die(const app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(a, "", fmt, ap, true);
    va_end(ap);
    _exit(CHILD_EXIT_ERROR);
}

static __attribute__((format(printf, 2, 3))) void
child_fail(const app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(a, "VIOLATION: ", fmt, ap, false);
    va_end(ap);
    _exit(CHILD_EXIT_VIOLATION);
}

#define CALL(a, expr)                                                          \
    do {                                                                       \
        int rv_ = (expr);                                                      \
        if (rv_ != 0)                                                          \
            die((a), "%s: %s", #expr, refraft_strerror(rv_));                  \
    } while (0)

static void open_store(child *c, app *a, const char *path, const char *id)
{
    refstore_options o;
    app_store_options(a, path, id, c->opts, &o);
    char err[REFRAFT_ERRMSG_LEN];
    err[0] = '\0';
    refstore *s = NULL;
    int rv = refstore_open(&o, &s, err, sizeof(err));
    if (rv != 0)
        die(a, "refstore_open(%s): %s (%s)", path, refraft_strerror(rv), err);
    a->store = s;
    CALL(a, app_open_dbs(a));
}

/* Close, or (discard) drop the pending applies as a crash would. */
static void close_store(app *a, bool discard)
{
    if (discard)
        refstore_close_discard(a->store);
    else
        refstore_close(a->store);
    a->store = NULL;
}

/* ---- Leader ---------------------------------------------------------- */

static int hull_send(void *ctx, const char *to_id, const refraft_msg *msg)
{
    (void)ctx, (void)to_id, (void)msg;
    return 0; /* no peers: nothing is ever sent */
}

static uint64_t hull_now(void *ctx)
{
    return ((child *)ctx)->now_ms;
}

static uint64_t hull_random(void *ctx)
{
    return rng_next(&((child *)ctx)->r);
}

/* The hull's apply is refstore_apply: the app hook runs in the store's
 * txn.  A failure would stall the node; here it ends the run. */
static int
hull_apply(void *ctx, refraft_index index, const refraft_entry *entry)
{
    child *c = ctx;
    CALL(&c->la, refstore_apply(c->la.store, index, entry));
    return 0;
}

static void leader_start(child *c)
{
    open_store(c, &c->la, c->leader_path, TORTURE_LEADER_ID);
    refraft_log_api api;
    refstore_log_api(c->la.store, &api);
    refraft_config cfg = {
        .id = TORTURE_LEADER_ID,
        .election_timeout_ms = 100,
        .applied_index = refstore_applied_index(c->la.store),
    };
    refraft_hull hull = {
        .version = REFRAFT_HULL_VERSION,
        .ctx = c,
        .send = hull_send,
        .now_ms = hull_now,
        .random = hull_random,
        .apply = hull_apply,
    };
    char err[REFRAFT_ERRMSG_LEN];
    err[0] = '\0';
    int rv = refraft_node_create(&cfg, &hull, &api, &c->node, err, sizeof(err));
    if (rv != 0)
        die(&c->la, "refraft_node_create: %s (%s)", refraft_strerror(rv), err);
    /* A lone voter elects itself at its first timeout (pre-vote, then the
     * vote), appends its term's no-op, commits it and so everything
     * before it, and applies what the last run left unapplied. */
    for (int i = 0; i < 10 && refraft_role(c->node) != REFRAFT_LEADER; i++) {
        uint64_t deadline = refraft_next_deadline(c->node);
        if (c->now_ms < deadline)
            c->now_ms = deadline;
        CALL(&c->la, refraft_tick(c->node));
    }
    if (refraft_role(c->node) != REFRAFT_LEADER)
        die(&c->la, "a single node did not elect itself in 10 timeouts");
    refraft_index last = refraft_last_index(c->node);
    if (refraft_commit_index(c->node) != last ||
        refraft_applied_index(c->node) != last)
        child_fail(&c->la,
                   "after election: last %llu, commit %llu, applied %llu",
                   (unsigned long long)last,
                   (unsigned long long)refraft_commit_index(c->node),
                   (unsigned long long)refraft_applied_index(c->node));
}

static void leader_stop(child *c, bool discard)
{
    refraft_node_destroy(c->node);
    c->node = NULL;
    close_store(&c->la, discard);
}

static void leader_propose(child *c)
{
    record recs[BATCH_MAX];
    refraft_ref refs[BATCH_MAX];
    const void *bytes[BATCH_MAX];
    size_t n = 1 + (size_t)rng_below(&c->r, BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!record_make(&recs[i], &c->r, 'L', c->round, c->seq++))
            die(&c->la, "out of memory");
        refs[i] = recs[i].ref;
        bytes[i] = recs[i].bytes;
    }
    refraft_index before = refraft_last_index(c->node);
    refraft_index first = 0;
    CALL(&c->la,
         refstore_propose(c->la.store, c->node, refs, bytes, n, &first));
    for (size_t i = 0; i < n; i++)
        record_free(&recs[i]);
    /* One voter is a majority: the batch commits and applies at once. */
    refraft_index last = refraft_last_index(c->node);
    if (first != before + 1 || last != before + n ||
        refraft_commit_index(c->node) != last ||
        refraft_applied_index(c->node) != last)
        child_fail(&c->la,
                   "proposed %zu at %llu after %llu: last %llu, commit "
                   "%llu, applied %llu",
                   n, (unsigned long long)first, (unsigned long long)before,
                   (unsigned long long)last,
                   (unsigned long long)refraft_commit_index(c->node),
                   (unsigned long long)refraft_applied_index(c->node));
}

/* A membership change: the learner joins, or leaves again.  Its CONFIG
 * entry goes through the log's stage and sync like a proposal, and a
 * learner never counts, so the lone voter commits and applies it at once;
 * a kill may land anywhere in that, the store's move to format 2
 * included. */
static void leader_change_membership(child *c)
{
    refraft_index before = refraft_last_index(c->node), index = 0;
    bool join = refraft_n_members(c->node) == 1; /* the leader alone */
    int rv = join ? refraft_add_learner(c->node, TORTURE_LEARNER_ID,
                                        app_member_address(TORTURE_LEARNER_ID),
                                        &index)
                  : refraft_remove(c->node, TORTURE_LEARNER_ID, &index);
    if (rv != 0)
        die(&c->la, "%s %s: %s (%s)", join ? "adding" : "removing",
            TORTURE_LEARNER_ID, refraft_strerror(rv), refraft_errmsg(c->node));
    refraft_index last = refraft_last_index(c->node);
    if (index != before + 1 || last != index ||
        refraft_commit_index(c->node) != last ||
        refraft_applied_index(c->node) != last ||
        refraft_config_index(c->node) != index)
        child_fail(&c->la,
                   "%s the learner at %llu after %llu: last %llu, commit "
                   "%llu, applied %llu, configuration at %llu",
                   join ? "added" : "removed", (unsigned long long)index,
                   (unsigned long long)before, (unsigned long long)last,
                   (unsigned long long)refraft_commit_index(c->node),
                   (unsigned long long)refraft_applied_index(c->node),
                   (unsigned long long)refraft_config_index(c->node));
}

static void map_set(child *c, app *a)
{
    char id[8], url[64];
    snprintf(id, sizeof(id), "n%u", (unsigned)rng_below(&c->r, 3) + 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/r%llu",
             (unsigned)rng_below(&c->r, 60000) + 1024,
             (unsigned long long)c->round);
    CALL(a, refstore_map_set(a->store, id, url));
}

static void leader_step(child *c)
{
    uint64_t p = rng_below(&c->r, 100);
    if (p < 67) {
        leader_propose(c);
    } else if (p < 70) {
        leader_change_membership(c);
    } else if (p < 82) {
        /* The commit bound for the checker (see check.c). */
        CALL(&c->la, app_write_commit(&c->la, refraft_commit_index(c->node)));
    } else if (p < 92) {
        CALL(&c->la, refstore_flush(c->la.store));
    } else if (p < 97) {
        c->now_ms += 1 + rng_below(&c->r, 50);
        if (c->now_ms >= refraft_next_deadline(c->node))
            CALL(&c->la, refraft_tick(c->node));
    } else if (p < 99) {
        map_set(c, &c->la);
    } else {
        /* A restart in process: close commits what is pending, or drops
         * it as a crash would (refstore_close_discard). */
        leader_stop(c, rng_pct(&c->r, 50));
        leader_start(c);
    }
}

/* ---- Follower -------------------------------------------------------- */

struct stage_ctx {
    app *a;
    refraft_index first;
    const refraft_entry *entries;
    size_t n;
};

/* The application's "on append" work: a staged row per entry. */
static int stage_fn(void *ctx, MDB_txn *txn)
{
    struct stage_ctx *s = ctx;
    for (size_t i = 0; i < s->n; i++) {
        const refraft_entry *e = &s->entries[i];
        uint8_t key[8], buf[APP_VALUE_LEN + REFRAFT_RECORD_ID_MAX];
        app_value v;
        app_value_of(e, &v);
        app_value_encode(&v, buf);
        size_t len = APP_VALUE_LEN;
        if (e->type == REFRAFT_ENTRY_REF) {
            memcpy(buf + len, e->ref.id, e->ref.id_len);
            len += e->ref.id_len;
        }
        app_key(key, s->first + i);
        MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
        MDB_val d = {.mv_size = len, .mv_data = buf};
        int rc = mdb_put(txn, s->a->db_staged, &k, &d, 0);
        if (rc != 0)
            return rc == MDB_MAP_FULL ? REFRAFT_ENOSPC : REFRAFT_EIO;
    }
    return 0;
}

/* Members of a configuration the follower's leaders could send: 1..4 of
 * n1..n6, the first a voter, each address known or "". */
#define CONFIG_IDS 6
#define CONFIG_MEMBERS_MAX 4

static size_t make_members(child *c, refraft_member *m)
{
    static const char *const ids[CONFIG_IDS] = {"n1", "n2", "n3",
                                                "n4", "n5", "n6"};
    size_t n = 1 + (size_t)rng_below(&c->r, CONFIG_MEMBERS_MAX);
    size_t first = (size_t)rng_below(&c->r, CONFIG_IDS);
    for (size_t i = 0; i < n; i++) {
        m[i].id = ids[(first + i) % CONFIG_IDS];
        m[i].address = rng_pct(&c->r, 70) ? app_member_address(m[i].id) : "";
        m[i].voter = i == 0 || rng_pct(&c->r, 50);
    }
    return n;
}

/* Store the records first (durable), then append their references, then
 * stage: a reference is never in the log without its record. */
static void follower_append(child *c)
{
    record recs[BATCH_MAX];
    refraft_entry entries[BATCH_MAX];
    refraft_member members[BATCH_MAX][CONFIG_MEMBERS_MAX];
    size_t n = 1 + (size_t)rng_below(&c->r, BATCH_MAX);
    memset(entries, 0, sizeof(entries));
    for (size_t i = 0; i < n; i++) {
        entries[i].term = c->fterm;
        recs[i].bytes = NULL;
        if (rng_pct(&c->r, 5)) {
            entries[i].type = REFRAFT_ENTRY_CONFIG;
            entries[i].members = members[i];
            entries[i].n_members = make_members(c, members[i]);
            continue;
        }
        if (rng_pct(&c->r, 10)) {
            /* A NOOP's ref is ignored and reads back zeroed (refraft.h):
             * give it one that is not. */
            static const uint8_t junk[] = "not a record";
            entries[i].type = REFRAFT_ENTRY_NOOP;
            entries[i].ref.id = junk;
            entries[i].ref.id_len = (uint16_t)(sizeof(junk) - 1);
            entries[i].ref.size = rng_next(&c->r);
            memset(entries[i].ref.digest, 0xa5, REFRAFT_DIGEST_LEN);
            continue;
        }
        if (!record_make(&recs[i], &c->r, 'F', c->round, c->seq++))
            die(&c->fa, "out of memory");
        CALL(&c->fa, refstore_record_put(c->fa.store, &recs[i].ref,
                                         recs[i].bytes, recs[i].len));
        if (rng_pct(&c->r, 5)) /* again: present with the same bytes */
            CALL(&c->fa, refstore_record_put(c->fa.store, &recs[i].ref,
                                             recs[i].bytes, recs[i].len));
        entries[i].type = REFRAFT_ENTRY_REF;
        entries[i].ref = recs[i].ref;
    }
    CALL(&c->fa, c->fapi.append(c->fapi.ctx, entries, n));
    struct stage_ctx s = {
        .a = &c->fa, .first = c->flast + 1, .entries = entries, .n = n};
    c->flast += n;
    CALL(&c->fa, refstore_write(c->fa.store, stage_fn, &s));
    for (size_t i = 0; i < n; i++)
        record_free(&recs[i]);
    if (c->fapi.last_index(c->fapi.ctx) != c->flast)
        child_fail(&c->fa, "appended up to %llu, log says last is %llu",
                   (unsigned long long)c->flast,
                   (unsigned long long)c->fapi.last_index(c->fapi.ctx));
}

/*
 * Commit, then apply.  The commit bound is written durably before any
 * entry under it is applied, as a follower learns leader_commit before
 * applying: applied <= commit bound holds at every instant on disk.
 */
static void follower_commit_apply(child *c)
{
    if (c->flast > c->fcommit && rng_pct(&c->r, 70)) {
        c->fcommit += 1 + rng_below(&c->r, c->flast - c->fcommit);
        CALL(&c->fa, app_write_commit(&c->fa, c->fcommit));
    }
    refraft_index target =
        c->fapplied + rng_below(&c->r, c->fcommit - c->fapplied + 1);
    while (c->fapplied < target) {
        refraft_entry es[APPLY_CHUNK];
        size_t want = target - c->fapplied < APPLY_CHUNK
                          ? (size_t)(target - c->fapplied)
                          : APPLY_CHUNK;
        size_t n = 0;
        /* One read, then the applies, as the core does: the ids the read
         * returned must stay valid across refstore_apply. */
        CALL(&c->fa, c->fapi.get(c->fapi.ctx, c->fapplied + 1, want, es, &n));
        if (n != want)
            child_fail(&c->fa, "get(%llu, %zu) returned %zu entries",
                       (unsigned long long)c->fapplied + 1, want, n);
        for (size_t i = 0; i < n; i++) {
            CALL(&c->fa, refstore_apply(c->fa.store, c->fapplied + 1, &es[i]));
            c->fapplied++;
        }
    }
    if (rng_pct(&c->r, 50))
        CALL(&c->fa, refstore_flush(c->fa.store));
}

/* A configuration copied out of the log, whose strings live only until
 * its next call. */
typedef struct config_copy {
    refraft_index index;
    size_t n;
    refraft_member m[REFRAFT_MAX_PEERS];
    char ids[REFRAFT_MAX_PEERS][REFRAFT_ID_MAX + 1];
    char addresses[REFRAFT_MAX_PEERS][REFRAFT_ADDRESS_MAX + 1];
} config_copy;

static void config_keep(config_copy *k, refraft_index index,
                        const refraft_member *m, size_t n)
{
    k->index = index;
    k->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(k->ids[i], sizeof(k->ids[i]), "%s", m[i].id);
        snprintf(k->addresses[i], sizeof(k->addresses[i]), "%s",
                 m[i].address != NULL ? m[i].address : "");
        k->m[i] = (refraft_member){k->ids[i], k->addresses[i], m[i].voter};
    }
}

/*
 * Compact up to an applied index, as a node does after applying (Raft
 * §7), with the configuration in effect there: the last CONFIG entry up
 * to it, else the base's.  The compaction commits the pending applies
 * with it (the entries it drops can never be applied again), so the
 * store's applied index must be the follower's once it returns.
 */
static void follower_compact(child *c)
{
    refraft_snapshot_meta base;
    CALL(&c->fa, c->fapi.base(c->fapi.ctx, &base));
    if (c->fapplied <= base.last_index)
        return;
    refraft_index upto =
        base.last_index + 1 + rng_below(&c->r, c->fapplied - base.last_index);
    config_copy cfg;
    config_keep(&cfg, base.config_index, base.members, base.n_members);
    for (refraft_index from = base.last_index + 1; from <= upto;) {
        refraft_entry es[APPLY_CHUNK];
        size_t n = 0;
        size_t want = upto - from + 1 < APPLY_CHUNK ? (size_t)(upto - from + 1)
                                                    : APPLY_CHUNK;
        CALL(&c->fa, c->fapi.get(c->fapi.ctx, from, want, es, &n));
        if (n != want)
            child_fail(&c->fa, "get(%llu, %zu) returned %zu entries",
                       (unsigned long long)from, want, n);
        for (size_t i = 0; i < n; i++)
            if (es[i].type == REFRAFT_ENTRY_CONFIG)
                config_keep(&cfg, from + i, es[i].members, es[i].n_members);
        from += n;
    }
    refraft_snapshot_meta meta = {.last_index = upto,
                                  .config_index = cfg.index,
                                  .members = cfg.n > 0 ? cfg.m : NULL,
                                  .n_members = cfg.n};
    CALL(&c->fa, c->fapi.term_at(c->fapi.ctx, upto, &meta.last_term));
    CALL(&c->fa, c->fapi.compact(c->fapi.ctx, &meta));
    if (c->fapi.first_index(c->fapi.ctx) != upto + 1 ||
        refstore_applied_index(c->fa.store) != c->fapplied)
        child_fail(&c->fa,
                   "compacted up to %llu with %llu applied: first index "
                   "%llu, applied index %llu",
                   (unsigned long long)upto, (unsigned long long)c->fapplied,
                   (unsigned long long)c->fapi.first_index(c->fapi.ctx),
                   (unsigned long long)refstore_applied_index(c->fa.store));
}

/* A new leader: a higher term (and perhaps a vote) saved first, then its
 * log overrides our uncommitted suffix (Raft §5.3), never a committed
 * entry. */
static void follower_new_leader(child *c)
{
    c->fterm += 1 + rng_below(&c->r, 2);
    const char *vote = votes[rng_below(&c->r, sizeof(votes) / sizeof(*votes))];
    CALL(&c->fa, c->fapi.save_hard_state(c->fapi.ctx, c->fterm, vote));
    snprintf(c->fvote, sizeof(c->fvote), "%s", vote);
    if (c->flast > c->fcommit && rng_pct(&c->r, 85)) {
        refraft_index from =
            c->fcommit + 1 + rng_below(&c->r, c->flast - c->fcommit + 1);
        CALL(&c->fa, c->fapi.truncate(c->fapi.ctx, from));
        c->flast = from - 1;
        if (c->fapi.last_index(c->fapi.ctx) != c->flast)
            child_fail(&c->fa, "truncated from %llu, log says last is %llu",
                       (unsigned long long)from,
                       (unsigned long long)c->fapi.last_index(c->fapi.ctx));
    }
    follower_append(c);
}

/* A record stored and deleted again, never referenced. */
static void follower_orphan(child *c)
{
    record rec;
    if (!record_make(&rec, &c->r, 'O', c->round, c->seq++))
        die(&c->fa, "out of memory");
    CALL(&c->fa,
         refstore_record_put(c->fa.store, &rec.ref, rec.bytes, rec.len));
    CALL(&c->fa, refstore_record_delete(c->fa.store, rec.id, rec.id_len));
    record_free(&rec);
}

static void follower_start(child *c)
{
    open_store(c, &c->fa, c->follower_path, TORTURE_FOLLOWER_ID);
    refstore_log_api(c->fa.store, &c->fapi);
    CALL(&c->fa, c->fapi.load_hard_state(c->fapi.ctx, &c->fterm, c->fvote));
    c->flast = c->fapi.last_index(c->fapi.ctx);
    uint64_t app_applied;
    CALL(&c->fa, app_read_meta(&c->fa, &app_applied, &c->fcommit));
    c->fapplied = refstore_applied_index(c->fa.store);
    if (app_applied != c->fapplied || c->fapplied > c->fcommit ||
        c->fcommit > c->flast)
        child_fail(
            &c->fa,
            "on open: applied %llu (app says %llu), commit bound "
            "%llu, last %llu",
            (unsigned long long)c->fapplied, (unsigned long long)app_applied,
            (unsigned long long)c->fcommit, (unsigned long long)c->flast);
    if (c->fterm == 0) {
        c->fterm = 1;
        CALL(&c->fa, c->fapi.save_hard_state(c->fapi.ctx, c->fterm, NULL));
    }
}

static void follower_step(child *c)
{
    uint64_t p = rng_below(&c->r, 100);
    if (p < 35) {
        follower_append(c);
    } else if (p < 60) {
        follower_commit_apply(c);
    } else if (p < 80) {
        follower_new_leader(c);
    } else if (p < 84) {
        if (c->fvote[0] == '\0') { /* grant a vote in the current term */
            CALL(&c->fa, c->fapi.save_hard_state(c->fapi.ctx, c->fterm, "n2"));
            snprintf(c->fvote, sizeof(c->fvote), "n2");
        }
    } else if (p < 88) {
        follower_orphan(c);
    } else if (p < 91) {
        CALL(&c->fa, refstore_set_data_index(c->fa.store, c->flast));
    } else if (p < 93) {
        follower_compact(c);
    } else if (p < 95) {
        map_set(c, &c->fa);
    } else if (p < 99) {
        CALL(&c->fa, refstore_flush(c->fa.store));
    } else {
        close_store(&c->fa, rng_pct(&c->r, 50));
        follower_start(c);
    }
}

_Noreturn void
workload_run(const char *dir, const torture_opts *opts, uint64_t round)
{
    static child c; /* static: the parent's frame is no business of ours */
    memset(&c, 0, sizeof(c));
    g_round = round;
    c.opts = opts;
    c.round = round;
    c.r.s = opts->seed * 0x100000001b3ull + round;
    c.la.name = "leader";
    c.la.fail = child_fail;
    c.fa.name = "follower";
    c.fa.fail = child_fail;
    snprintf(c.leader_path, sizeof(c.leader_path), "%s/%s", dir,
             TORTURE_LEADER_DIR);
    snprintf(c.follower_path, sizeof(c.follower_path), "%s/%s", dir,
             TORTURE_FOLLOWER_DIR);
    /* Start in a random order, so kills land in either store's recovery. */
    bool leader_first = rng_pct(&c.r, 50);
    if (leader_first)
        leader_start(&c);
    follower_start(&c);
    if (!leader_first)
        leader_start(&c);
    for (;;) {
        if (rng_pct(&c.r, 45))
            leader_step(&c);
        else
            follower_step(&c);
    }
}
