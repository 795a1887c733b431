/* guard.c - the start guard: a node whose whole data directory is new must
 * not vote or count as if it still had its log; GET /raft/v1/hello. */
#define _DEFAULT_SOURCE /* getentropy */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "json.h"

/*
 * Why.  Raft's safety rests on every voter keeping what it stored: its
 * vote and its log (Raft §5.2, §5.4; thesis §3.8).  A server that lost
 * its whole data directory and comes back empty could vote twice in a
 * term, or make a majority without entries it acknowledged, and a
 * committed entry could be lost.  Yet it looks like a brand-new server:
 * term 0, no entries.  So a node whose store is *fresh* (it never held a
 * term or an entry, and never passed this guard) and that has peers and
 * was not started with --join asks its peers GET /raft/v1/hello before it
 * ticks or takes any Raft message (host.c), and goes on only when
 *   - no peer has a log and a majority of the voters, itself included,
 *     are empty (term 0, no entry): no vote was cast and no entry can
 *     have committed; a new cluster bootstraps; or
 *   - every peer answered, none knows this node from another store: a
 *     voter that starts late, into a cluster that formed without it.
 * It refuses to run (host_run returns REFRAFT_EWRONGSTORE, `refraft node`
 * exits 2) when a peer of the same cluster knows it from another store,
 * or when a peer belongs to another cluster.  Such a node rejoins as a
 * new server: removed from the configuration, started with --join, added
 * as a learner and promoted (docs/operations.md).
 *
 * Knowing a node.  Each store gets a random uid when it is made.  A node
 * answering the hello of a fresh asker remembers the asker's uid, durably
 * and before it answers, unless it remembers another one; a hello from
 * that id with another uid then comes from a node that lost the store it
 * started with.  An asker passes only once the peers that answered
 * remember it (a majority with itself, or every peer), so whichever of
 * them answers a later hello knows it, and a later fresh start that hears
 * a log waits for all of them.  What remains out of reach: a fresh start
 * that hears only empty peers while every node with a log is down (a
 * majority of the voters would then have lost their state).  A start
 * that lost its directory before it ever passed the guard is refused too,
 * on the safe side.
 *
 * On disk, the application's database "node" in the store's environment:
 *   "incarnation"   8-byte big-endian: starts of this store, this one
 *                   included (raised durably at each start)
 *   "uid"           8 random bytes naming the store, made with it
 *   "cleared"       present once the guard let this store's node take
 *                   part (or it was started with --join)
 *   "knows:" + ID   8 bytes: the uid of node ID's store, remembered from
 *                   its first hello as a fresh node
 */
#define GUARD_DB "node"
#define GUARD_ROUND_MS 250u   /* between rounds of hellos */
#define GUARD_SAY_MS 5000u    /* between log lines while waiting */
#define GUARD_ANSWER_MAX 4096 /* bytes of a hello answer read */
#define KNOWS_PREFIX "knows:"

enum { ANSWER_NONE = 0, ANSWER_EMPTY, ANSWER_LOG };

/* ---- the store's incarnation, uid and admissions ---------------------- */

static int get_key(MDB_txn *txn, MDB_dbi dbi, const char *key, MDB_val *v)
{
    MDB_val k = {strlen(key), (void *)key};
    return mdb_get(txn, dbi, &k, v);
}

static int put_key(MDB_txn *txn, MDB_dbi dbi, const char *key,
                   const void *bytes, size_t len)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val v = {len, (void *)bytes};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* Open the database, make the uid of a new store, raise the incarnation. */
static int open_fn(void *ctx, MDB_txn *txn)
{
    host *h = ctx;
    struct host_guard *g = &h->guard;
    int rc = mdb_dbi_open(txn, GUARD_DB, MDB_CREATE, &g->dbi);
    if (rc != 0)
        return host_mdb_code(rc);
    MDB_val v;
    rc = get_key(txn, g->dbi, "uid", &v);
    if (rc == 0 && v.mv_size == sizeof g->uid) {
        memcpy(g->uid, v.mv_data, sizeof g->uid);
    } else if (rc == MDB_NOTFOUND) {
        if (getentropy(g->uid, sizeof g->uid) != 0)
            return REFRAFT_EIO;
        rc = put_key(txn, g->dbi, "uid", g->uid, sizeof g->uid);
    } else {
        return rc != 0 ? host_mdb_code(rc) : REFRAFT_ECORRUPT;
    }
    if (rc != 0)
        return host_mdb_code(rc);
    g->incarnation = 0;
    rc = get_key(txn, g->dbi, "incarnation", &v);
    if (rc == 0 && v.mv_size == 8)
        g->incarnation = host_get_u64(v.mv_data);
    else if (rc != MDB_NOTFOUND)
        return rc != 0 ? host_mdb_code(rc) : REFRAFT_ECORRUPT;
    uint8_t inc[8];
    host_put_u64(inc, ++g->incarnation);
    rc = put_key(txn, g->dbi, "incarnation", inc, sizeof inc);
    if (rc != 0)
        return host_mdb_code(rc);
    rc = get_key(txn, g->dbi, "cleared", &v);
    g->cleared = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : host_mdb_code(rc);
}

static int clear_fn(void *ctx, MDB_txn *txn)
{
    host *h = ctx;
    static const uint8_t one = 1;
    return host_mdb_code(put_key(txn, h->guard.dbi, "cleared", &one, 1));
}

struct knows_ctx {
    host *h;
    char key[sizeof KNOWS_PREFIX + REFRAFT_ID_MAX];
    uint8_t uid[8];
    bool other; /* out: another uid is remembered */
};

/* Remember the asker's uid unless another one is: the first store a node
 * id came with is the one its peers admitted. */
static int knows_fn(void *ctx, MDB_txn *txn)
{
    struct knows_ctx *kc = ctx;
    MDB_val v;
    int rc = get_key(txn, kc->h->guard.dbi, kc->key, &v);
    if (rc == 0) {
        kc->other = v.mv_size != sizeof kc->uid ||
                    memcmp(v.mv_data, kc->uid, sizeof kc->uid) != 0;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return host_mdb_code(rc);
    kc->other = false;
    return host_mdb_code(
        put_key(txn, kc->h->guard.dbi, kc->key, kc->uid, sizeof kc->uid));
}

static bool store_fresh(const host *h)
{
    return !h->guard.cleared && refraft_current_term(h->node) == 0 &&
           refraft_last_index(h->node) == 0;
}

int host_guard_open(host *h, bool join, char *errbuf, size_t len)
{
    struct host_guard *g = &h->guard;
    int rv = refstore_write(h->store, open_fn, h);
    if (rv != 0) {
        snprintf(errbuf, len, "opening the database %s: %s", GUARD_DB,
                 rv == REFRAFT_ECORRUPT ? "a key has the wrong size"
                                        : refstore_errmsg(h->store));
        return rv;
    }
    json_hex(g->uid, sizeof g->uid, g->uid_hex);
    if (!store_fresh(h))
        return 0;
    if (join) {
        /* A joining server takes part only once a leader added it, and
         * what it holds then came from that leader. */
        rv = refstore_write(h->store, clear_fn, h);
        if (rv != 0)
            snprintf(errbuf, len, "writing the database %s: %s", GUARD_DB,
                     refstore_errmsg(h->store));
        g->cleared = rv == 0;
        return rv;
    }
    if (h->n_peers == 0) /* a cluster of one: nobody to ask */
        return 0;
    g->state = HOST_GUARD_WAITING;
    host_log(h, HOST_LOG_INFO,
             "the data directory is new (store %s): asking the %zu peers "
             "whether the cluster has a log before taking part",
             g->uid_hex, h->n_peers);
    return 0;
}

/* ---- asking the peers -------------------------------------------------- */

/* The value after "key": in text, or NULL. */
static const char *field(const char *text, const char *key)
{
    char pat[48];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    return p != NULL ? p + strlen(pat) : NULL;
}

static bool field_u64(const char *text, const char *key, uint64_t *out)
{
    const char *p = field(text, key);
    char digits[24];
    size_t n = 0;
    while (p != NULL && n < sizeof digits - 1 && p[n] >= '0' && p[n] <= '9') {
        digits[n] = p[n];
        n++;
    }
    digits[n] = '\0';
    return p != NULL && host_parse_u64(digits, out);
}

static bool field_true(const char *text, const char *key)
{
    const char *p = field(text, key);
    return p != NULL && strncmp(p, "true", 4) == 0;
}

static void refuse(host *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void refuse(host *h, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->guard.state = HOST_GUARD_REFUSED;
    host_log(h, HOST_LOG_ERROR, "refusing to start: %s", msg);
}

static void clear(host *h, bool late)
{
    int rv = refstore_write(h->store, clear_fn, h);
    if (rv != 0) {
        /* Not taking part yet: the next answer tries again. */
        host_log(h, HOST_LOG_ERROR, "cannot record the start guard: %s",
                 refstore_errmsg(h->store));
        return;
    }
    h->guard.cleared = true;
    h->guard.state = HOST_GUARD_OFF;
    host_log(h, HOST_LOG_INFO, "%s: taking part",
             late ? "every peer answered and none knows this node from "
                    "another store"
                  : "a majority of the voters is empty: a new cluster");
}

/* Whether the answers so far let the node take part (see Why). */
static void evaluate(host *h)
{
    struct host_guard *g = &h->guard;
    size_t empty = 1, answered = 0;
    bool log = false;
    for (size_t k = 0; k < h->n_peers; k++) {
        if (g->answer[k] != ANSWER_NONE)
            answered++;
        if (g->answer[k] == ANSWER_EMPTY)
            empty++;
        log = log || g->answer[k] == ANSWER_LOG;
    }
    if (log ? answered == h->n_peers : empty > (h->n_peers + 1) / 2)
        clear(h, log);
}

static void hello_done(void *ctx, const http_response *res)
{
    const struct host_peer_ctx *pc = ctx;
    host *h = pc->h;
    struct host_guard *g = &h->guard;
    struct host_peer *p = &h->peers[pc->peer];
    g->asking[pc->peer] = false;
    if (g->state != HOST_GUARD_WAITING)
        return;
    if (res->status != 200) {
        g->answer[pc->peer] = ANSWER_NONE;
        snprintf(g->why[pc->peer], sizeof g->why[0], "%u %s", res->status,
                 res->status == 0 && res->errmsg != NULL ? res->errmsg : "");
        return;
    }
    char text[GUARD_ANSWER_MAX + 1];
    size_t n = res->len < GUARD_ANSWER_MAX ? res->len : GUARD_ANSWER_MAX;
    memcpy(text, res->body, n);
    text[n] = '\0';
    char want[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)];
    json_escape(h->cluster_id, want, sizeof want);
    const char *cid = field(text, "cluster_id");
    uint64_t term, last;
    if (!field_u64(text, "term", &term) ||
        !field_u64(text, "last_index", &last) || cid == NULL) {
        snprintf(g->why[pc->peer], sizeof g->why[0],
                 "an answer without cluster_id, term and last_index");
        return;
    }
    if (strncmp(cid, want, strlen(want)) != 0) {
        refuse(h,
               "peer %s at %s belongs to another cluster (its hello says "
               "cluster_id %.80s; this node's is %s): check --cluster and "
               "--peer",
               p->id, p->url, cid, want);
        return;
    }
    if (field_true(text, "knows_you")) {
        refuse(h,
               "this node's data directory is new but the cluster has a "
               "log: peer %s is at term %" PRIu64 " with entries up to %" PRIu64
               " and knew this node from another store; remove it (refraft "
               "member remove %s) and start it with --join, under a new id "
               "and an empty data directory, to rejoin as a learner; "
               "docs/operations.md",
               p->id, term, last, h->id);
        return;
    }
    g->answer[pc->peer] = term == 0 && last == 0 ? ANSWER_EMPTY : ANSWER_LOG;
    g->why[pc->peer][0] = '\0';
    evaluate(h);
}

static void ask(host *h, size_t k)
{
    struct host_guard *g = &h->guard;
    struct host_peer *p = &h->peers[k];
    char url[HOST_URL_MAX + 64], node_hdr[REFRAFT_ID_MAX + 16],
        url_hdr[HOST_URL_MAX + 16];
    const char *hdrs[8];
    snprintf(url, sizeof url, "%s/raft/v1/hello?fresh=1&uid=%s", p->url,
             g->uid_hex);
    host_peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr,
                      hdrs, NULL, NULL, NULL);
    int rv = http_client_request(h->cli, "GET", url, hdrs, NULL, 0,
                                 HOST_MSG_TIMEOUT_MS, hello_done,
                                 &h->peer_ctx[k], NULL);
    g->asking[k] = rv == 0;
    if (rv != 0)
        snprintf(g->why[k], sizeof g->why[0], "not asked: %s",
                 refraft_strerror(rv));
}

/* While waiting, say now and then which peers have not answered. */
static void say_waiting(host *h)
{
    struct host_guard *g = &h->guard;
    char list[1024] = "";
    size_t len = 0;
    for (size_t k = 0; k < h->n_peers && len < sizeof list; k++)
        if (g->answer[k] != ANSWER_EMPTY)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s (%s)",
                                    len ? ", " : "", h->peers[k].id,
                                    g->answer[k] == ANSWER_LOG ? "has a log"
                                    : g->why[k][0] != '\0'     ? g->why[k]
                                                           : "no answer yet");
    host_log(h, HOST_LOG_WARN,
             "start guard: not taking part yet; waiting for a majority of "
             "empty voters, or for every peer once one has a log: %s",
             list);
}

int host_guard_run(host *h)
{
    struct host_guard *g = &h->guard;
    if (g->state == HOST_GUARD_REFUSED)
        return REFRAFT_EWRONGSTORE;
    uint64_t now = host_now_ms();
    if (g->state != HOST_GUARD_WAITING || now < g->next_ms)
        return 0;
    g->next_ms = now + GUARD_ROUND_MS;
    for (size_t k = 0; k < h->n_peers; k++)
        if (!g->asking[k] && h->peers[k].url[0] != '\0')
            ask(h, k);
    if (g->said_ms == 0)
        g->said_ms = now;
    else if (now >= g->said_ms + GUARD_SAY_MS) {
        g->said_ms = now;
        say_waiting(h);
    }
    return 0;
}

bool host_guard_holds(const host *h)
{
    return h->guard.state == HOST_GUARD_WAITING;
}

bool host_guard_refused(const host *h)
{
    return h->guard.state == HOST_GUARD_REFUSED;
}

/* ---- answering --------------------------------------------------------- */

static bool parse_uid(const char *hex, uint8_t uid[8])
{
    if (hex == NULL || strlen(hex) != 16)
        return false;
    for (size_t i = 0; i < 8; i++) {
        unsigned b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1 ||
            strchr("0123456789abcdef", hex[2 * i]) == NULL ||
            strchr("0123456789abcdef", hex[2 * i + 1]) == NULL)
            return false;
        uid[i] = (uint8_t)b;
    }
    return true;
}

/* GET /raft/v1/hello[?fresh=1&uid=HEX] (docs/http.md). */
static void serve_hello(host *h, http_request *req)
{
    if (strcmp(http_request_method(req), "GET") != 0) {
        host_respond_error(req, 405, "hello takes GET");
        return;
    }
    const char *from = http_request_header(req, "Refraft-Node");
    const char *fresh = http_request_query(req, "fresh");
    bool asker_fresh = fresh != NULL && strcmp(fresh, "1") == 0;
    struct knows_ctx kc = {.h = h};
    if (asker_fresh &&
        (from == NULL || !host_id_ok(from) || strcmp(from, h->id) == 0 ||
         !parse_uid(http_request_query(req, "uid"), kc.uid))) {
        host_respond_error(req, 400,
                           "a fresh node's hello needs its id in "
                           "Refraft-Node and uid=16 lowercase hex digits");
        return;
    }
    if (asker_fresh) {
        snprintf(kc.key, sizeof kc.key, KNOWS_PREFIX "%s", from);
        int rv = refstore_write(h->store, knows_fn, &kc);
        if (rv != 0) {
            host_respond_error(req, 503, "cannot remember %s's store: %s", from,
                               refstore_errmsg(h->store));
            return;
        }
        if (kc.other)
            host_log(h, HOST_LOG_WARN,
                     "%s says its data directory is new, but it took part "
                     "with another store: it must rejoin as a new server",
                     from);
    }
    char cid[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)],
        nid[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)], body[1024];
    json_escape(h->cluster_id, cid, sizeof cid);
    json_escape(h->id, nid, sizeof nid);
    int n = snprintf(
        body, sizeof body,
        "{\"cluster_id\":%s,\"node_id\":%s,\"incarnation\":%" PRIu64
        ",\"uid\":\"%s\",\"term\":%" PRIu64 ",\"last_index\":%" PRIu64
        ",\"commit_index\":%" PRIu64 ",\"fresh\":%s,\"knows_you\":%s}\n",
        cid, nid, h->guard.incarnation, h->guard.uid_hex,
        refraft_current_term(h->node), refraft_last_index(h->node),
        refraft_commit_index(h->node), store_fresh(h) ? "true" : "false",
        kc.other ? "true" : "false");
    host_respond(req, 200, "application/json", body, (size_t)n, NULL);
}

bool host_guard_serve(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    if (strcmp(path, "/raft/v1/hello") == 0) {
        if (!host_peer_authorized(h, req)) {
            h->peer_requests_refused++;
            static const char *hdrs[] = {"WWW-Authenticate: Bearer", NULL};
            static const char body[] = "{\"error\":\"the cluster token is "
                                       "missing or wrong\"}\n";
            host_respond(req, 401, "application/json", body, sizeof body - 1,
                         hdrs);
        } else {
            serve_hello(h, req);
        }
        return true;
    }
    if (h->guard.state == HOST_GUARD_WAITING &&
        strncmp(path, "/raft/", 6) == 0) {
        /* No vote, no entry, no record while the guard waits: peers
         * retry, as after any lost message. */
        host_respond_error(req, 503,
                           "this node's data directory is new: it is asking "
                           "its peers whether it may take part (start guard)");
        return true;
    }
    return false;
}
