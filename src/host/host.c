/* host.c - the node runtime's life: wiring refstore, node, sweeper and
 * HTTP together, and the event loop that drives them. */
#define _DEFAULT_SOURCE /* getentropy */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "internal.h"

/* ---- the hull ----------------------------------------------------------- */

static uint64_t hull_now(void *ctx)
{
    (void)ctx;
    return host_now_ms();
}

static uint64_t hull_random(void *ctx)
{
    (void)ctx;
    uint64_t r = 0;
    if (getentropy(&r, sizeof r) != 0)
        r = host_now_ms() * 6364136223846793005ull + 1442695040888963407ull;
    return r;
}

static int
hull_apply(void *ctx, refraft_index index, const refraft_entry *entry)
{
    host *h = ctx;
    int rv = refstore_apply(h->store, index, entry);
    if (rv != 0) {
        host_log(h, HOST_LOG_ERROR, "applying %llu failed: %s",
                 (unsigned long long)index, refstore_errmsg(h->store));
        return rv;
    }
    host_write_applied(h, index, entry);
    return 0;
}

static int
hull_have(void *ctx, const refraft_ref *refs, size_t n, bool *present)
{
    host *h = ctx;
    return refstore_record_has(h->store, refs, n, present);
}

static void
hull_discard(void *ctx, refraft_index index, const refraft_entry *entry)
{
    host *h = ctx;
    (void)refraft_sweeper_on_discard(h->sw, index, entry);
    host_write_discarded(h, index);
}

/* The leader syncs staged entries next: its AppendEntries go out first,
 * so the followers write while it does. */
static void hull_flush(void *ctx)
{
    host *h = ctx;
    http_client_push(h->msg_cli);
    http_client_push(h->cli);
}

static void hull_event(void *ctx, const refraft_event *ev)
{
    host *h = ctx;
    switch (ev->type) {
    case REFRAFT_EVENT_DATA:
        if (h->sw != NULL)
            refraft_sweeper_kick(h->sw);
        break;
    case REFRAFT_EVENT_ROLE:
        host_log(h, HOST_LOG_INFO, "%s in term %llu",
                 refraft_role_name(ev->role), (unsigned long long)ev->term);
        break;
    case REFRAFT_EVENT_LEADER:
        host_log(h, HOST_LOG_INFO, "leader is %s",
                 ev->leader_id != NULL ? ev->leader_id : "unknown");
        break;
    case REFRAFT_EVENT_COMMIT:
        /* An installed snapshot moves the applied index without an
         * apply: the consistent reads waiting for it are served now. */
        if (h->node != NULL)
            host_reads_applied(h, refraft_applied_index(h->node));
        break;
    case REFRAFT_EVENT_CONFIG:
        if (h->node == NULL) /* inside refraft_node_create: synced after */
            break;
        host_log(h, HOST_LOG_INFO, "configuration at index %llu (%s)",
                 (unsigned long long)refraft_config_index(h->node),
                 refraft_config_index(h->node) <= ev->commit_index
                     ? "committed"
                     : "not committed yet");
        host_peers_sync(h);
        break;
    default:
        break;
    }
}

/* ---- creation ----------------------------------------------------------- */

static int fail(char *errbuf, size_t len, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *errbuf, size_t len, int rv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, len, fmt, ap);
    va_end(ap);
    return rv;
}

static int map_peer(void *ctx, const char *node_id, const char *url)
{
    host *h = ctx;
    if (strcmp(node_id, h->id) == 0 || host_peer_find(h, node_id) != NULL ||
        h->n_peers == REFRAFT_MAX_PEERS - 1)
        return 0;
    struct host_peer *p = &h->peers[h->n_peers++];
    snprintf(p->id, sizeof p->id, "%s", node_id);
    snprintf(p->url, sizeof p->url, "%s", url);
    return 0;
}

struct stale_ctx {
    host *h;
    char ids[REFRAFT_MAX_PEERS * 4][REFRAFT_ID_MAX + 1];
    size_t n;
};

static int note_stale(void *ctx, const char *node_id, const char *url)
{
    (void)url;
    struct stale_ctx *sc = ctx;
    if (host_peer_find(sc->h, node_id) == NULL &&
        sc->n < sizeof sc->ids / sizeof sc->ids[0])
        snprintf(sc->ids[sc->n++], sizeof sc->ids[0], "%s", node_id);
    return 0;
}

/* The configured peers are the voters: forget the map's others, so a
 * later start without --peer does not count voters the others do not. */
static int forget_other_peers(host *h, char *errbuf, size_t len)
{
    struct stale_ctx *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return fail(errbuf, len, REFRAFT_ENOMEM, "no memory");
    sc->h = h;
    int rv = refstore_map_list(h->store, note_stale, sc);
    for (size_t i = 0; rv == 0 && i < sc->n; i++)
        rv = refstore_map_delete(h->store, sc->ids[i]);
    if (rv != 0)
        fail(errbuf, len, rv, "updating the cluster map: %s",
             refstore_errmsg(h->store));
    free(sc);
    return rv;
}

/* The peers: as configured (and saved in the cluster map, which then
 * holds exactly them), or, with none configured, as the cluster map
 * remembers them.  Everything is checked before anything is saved. */
static int load_peers(host *h, const host_config *cfg, char *errbuf, size_t len)
{
    if (cfg->n_peers > REFRAFT_MAX_PEERS - 1)
        return fail(errbuf, len, REFRAFT_EINVAL, "%zu peers; at most %d",
                    cfg->n_peers, REFRAFT_MAX_PEERS - 1);
    if (cfg->join && cfg->n_peers > 0)
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "a joining node takes no peers: the leader that adds "
                    "it tells it the configuration");
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const host_peer_config *pc = &cfg->peers[i];
        if (pc->id == NULL || pc->url == NULL || !host_id_ok(pc->id) ||
            !host_url_ok(pc->url) || strcmp(pc->id, h->id) == 0)
            return fail(errbuf, len, REFRAFT_EINVAL,
                        "peer %zu: the id must be 1 to %d printable bytes "
                        "other than this node's, and the URL "
                        "http(s)://HOST[:PORT] with no path",
                        i + 1, REFRAFT_ID_MAX);
        for (size_t k = 0; k < i; k++)
            if (strcmp(cfg->peers[k].id, pc->id) == 0)
                return fail(errbuf, len, REFRAFT_EINVAL,
                            "peer %s is given twice", pc->id);
    }
    for (size_t i = 0; i < cfg->n_peers; i++) {
        const host_peer_config *pc = &cfg->peers[i];
        int rv = refstore_map_set(h->store, pc->id, pc->url);
        if (rv != 0)
            return fail(errbuf, len, rv, "saving peer %s: %s", pc->id,
                        refstore_errmsg(h->store));
        struct host_peer *p = &h->peers[h->n_peers++];
        snprintf(p->id, sizeof p->id, "%s", pc->id);
        snprintf(p->url, sizeof p->url, "%s", pc->url);
    }
    if (cfg->n_peers > 0) {
        int rv = forget_other_peers(h, errbuf, len);
        if (rv != 0)
            return rv;
    } else {
        int rv = refstore_map_list(h->store, map_peer, h);
        if (rv != 0)
            return fail(errbuf, len, rv, "reading the cluster map: %s",
                        refstore_errmsg(h->store));
    }
    for (size_t i = 0; i < h->n_peers; i++)
        h->peer_ctx[i] = (struct host_peer_ctx){h, i};
    return 0;
}

static void handle(void *ctx, http_request *req)
{
    host *h = ctx;
    if (h->stopping) {
        host_respond_error(req, 503, "the node is stopping");
        return;
    }
    if (!host_guard_serve(h, req) && !host_serve_peer(h, req) &&
        !host_serve_client(h, req))
        host_respond_error(req, 404, "no such endpoint: %s %s",
                           http_request_method(req), http_request_path(req));
}

static int open_store(host *h, const host_config *cfg, char *errbuf, size_t len)
{
    /* The apply hook keeps which records clients may read (applied.c)
     * and the reference state snapshots carry; the install hook replaces
     * that state with a snapshot's, with the log (snapshot.c). */
    refstore_options o = {.path = cfg->data_dir,
                          .cluster_id = h->cluster_id,
                          .node_id = h->id,
                          .apply = host_applied_hook,
                          .on_install = host_snapshot_on_install,
                          .on_installed = host_snapshot_installed,
                          .app_ctx = h};
    int rv = refstore_open(&o, &h->store, errbuf, len);
    if (rv == 0)
        rv = host_applied_open(h, errbuf, len);
    if (rv != 0)
        return rv;
    refraft_index lost = refstore_records_lost_upto(h->store);
    if (lost != 0)
        host_log(h, HOST_LOG_WARN,
                 "records of entries up to %llu were lost; the sweeper "
                 "fetches them again",
                 (unsigned long long)lost);
    return 0;
}

/* The data index the node may start from.  Records up to the store's
 * lost index may be missing (a record store lost, or a snapshot whose
 * records are still being fetched): the saved data index vouches only
 * for what lies before it, and the node looks for the rest again
 * (refraft_records_behind). */
static refraft_index saved_data_index(const refstore *store)
{
    refraft_index data = refstore_data_index(store);
    refraft_index lost = refstore_records_lost_upto(store);
    return lost > 0 && data >= lost ? lost - 1 : data;
}

static int
create_node(host *h, const host_config *cfg, char *errbuf, size_t len)
{
    /* The peers' URLs go into the first CONFIG entry this node writes as
     * leader, so that a server added later learns where they are. */
    const char *ids[REFRAFT_MAX_PEERS], *addrs[REFRAFT_MAX_PEERS];
    for (size_t i = 0; i < h->n_peers; i++) {
        ids[i] = h->peers[i].id;
        addrs[i] = strlen(h->peers[i].url) <= REFRAFT_ADDRESS_MAX
                       ? h->peers[i].url
                       : NULL;
    }
    refraft_config rc = {
        .id = h->id,
        .peers = ids,
        .peer_addresses = addrs,
        /* A joining server starts with no configuration: it waits to be
         * added (docs/operations.md). */
        .n_peers = cfg->join ? 0 : h->n_peers,
        .join = cfg->join,
        .election_timeout_ms = cfg->election_timeout_ms,
        /* One AppendEntries with entries in flight per follower: the
         * transport carries one request at a time to each peer (see
         * start_http), so more would only wait in line, each with the
         * few entries proposed before it was made and each costing the
         * follower a sync.  With one, what is proposed meanwhile leaves
         * together in the next.  Measured: docs/performance.md. */
        .max_inflight = 1,
        /* With one message in flight, a follower gains on the log only
         * when a message carries more than the leader appends in one of
         * its rounds.  At the default (1,024), as many as a busy leader
         * appends, a follower whose rounds ran a little slower than the
         * other's fell behind for good, until it needed a snapshot. */
        .max_entries_per_msg = HOST_MAX_ENTRIES_PER_MSG,
        /* A follower answers an AppendEntries once its entries are
         * synced, and applies afterwards, in its tick: the response goes
         * out as the handler returns (libmicrohttpd writes it at once),
         * so the leader need not wait for a batch of applies. */
        .defer_follower_apply = true,
        .applied_index = refstore_applied_index(h->store),
        .commit_policy = cfg->commit_policy,
        .data_index = saved_data_index(h->store),
        /* Compaction (docs/operations.md): the defaults keep the log
         * within tens of megabytes and let a follower a few seconds
         * behind catch up from the log rather than a snapshot. */
        .compact_entries = cfg->no_compaction          ? 0
                           : cfg->compact_entries != 0 ? cfg->compact_entries
                                                       : HOST_COMPACT_ENTRIES,
        .compact_keep =
            cfg->compact_keep != 0 ? cfg->compact_keep : HOST_COMPACT_KEEP,
        .snapshot_chunk = cfg->snapshot_chunk != 0 ? cfg->snapshot_chunk
                                                   : HOST_SNAPSHOT_CHUNK,
        .compact_bytes = cfg->compact_bytes,
    };
    refraft_hull hull = {.version = REFRAFT_HULL_VERSION,
                         .ctx = h,
                         .send = host_send_msg,
                         .now_ms = hull_now,
                         .random = hull_random,
                         .apply = hull_apply,
                         .on_event = hull_event,
                         .have_records = hull_have,
                         .on_discard = hull_discard,
                         .flush = hull_flush,
                         .on_read = host_on_read,
                         .snapshot_read = host_snapshot_read,
                         .snapshot_write = host_snapshot_write,
                         .snapshot_install = host_snapshot_install};
    refraft_log_api log;
    refstore_log_api(h->store, &log);
    h->log = log; /* GET /v1/log reads through it */
    if (cfg->append_before_send) {
        log.stage = NULL;
        log.sync = NULL;
    }
    int rv = refraft_node_create(&rc, &hull, &log, &h->node, errbuf, len);
    if (rv != 0)
        return rv;
    /* The log's configuration, when it holds one, rules over --peer. */
    host_peers_sync(h);
    refraft_sweeper_config sc = {
        .node = h->node,
        .log = log,
        .fetcher = {.ctx = h,
                    .start = host_fetch_start,
                    .cancel = host_fetch_cancel,
                    .flush = host_fetch_flush},
        .clock_ctx = h,
        .now_ms = hull_now,
        .random = hull_random,
        .interval_ms = 500,
        /* Fetches travel HOST_FETCH_BATCH_MAX to a request (fetcher.c):
         * enough of them in flight, missing and scanned at once to fill
         * two requests per pass, and the next ones queued behind. */
        .max_in_flight = 2 * HOST_FETCH_BATCH_MAX,
        .max_missing = 8 * HOST_FETCH_BATCH_MAX,
        .scan_batch = HOST_FETCH_BATCH_MAX,
        /* Records travel with the entries, or are pushed right after: a
         * missing one usually has not arrived yet.  A few heartbeats. */
        .fetch_delay_ms =
            cfg->election_timeout_ms != 0 ? cfg->election_timeout_ms / 4 : 250,
        .lost_upto = refstore_records_lost_upto(h->store),
        /* Records named below the log's first index are found through
         * the reference state (snapshot.c). */
        .snapshot_ctx = h,
        .snapshot_read = host_snapshot_sweep_read,
    };
    refstore_record_store(h->store, &sc.store);
    return refraft_sweeper_create(&sc, &h->sw, errbuf, len);
}

static int start_http(host *h, const host_config *cfg, char *errbuf, size_t len)
{
    http_server_config sc = {.host = cfg->listen_host,
                             .port = cfg->listen_port,
                             .max_body = REFRAFT_WIRE_MAX_BODY,
                             .cert_file = cfg->cert_file,
                             .key_file = cfg->key_file,
                             .ca_file = cfg->ca_file,
                             .handler = handle,
                             .ctx = h};
    int rv = http_server_start(&sc, &h->srv, errbuf, len);
    if (rv != 0)
        return rv;
    http_client_config cc = {.cert_file = cfg->cert_file,
                             .key_file = cfg->key_file,
                             .ca_file = cfg->ca_file};
    rv = http_client_create(&cc, &h->cli, errbuf, len);
    if (rv != 0)
        return rv;
    /* Raft messages to a peer go one at a time, in the order sent, so
     * several AppendEntries in flight reach the follower in order instead
     * of overtaking one another (each one that overtook would be refused
     * and sent again). */
    cc.max_host_connections = 1;
    cc.in_order = true;
    cc.max_queued = HOST_MSG_QUEUE_MAX;
    rv = http_client_create(&cc, &h->msg_cli, errbuf, len);
    if (rv != 0)
        return rv;
    if (cfg->url != NULL)
        snprintf(h->url, sizeof h->url, "%s", cfg->url);
    else
        snprintf(h->url, sizeof h->url, "%s://%s:%u",
                 cfg->cert_file != NULL ? "https" : "http",
                 cfg->listen_host != NULL ? cfg->listen_host : "127.0.0.1",
                 (unsigned)http_server_port(h->srv));
    if (cfg->url_file != NULL) {
        FILE *f = fopen(cfg->url_file, "w");
        if (f == NULL || fprintf(f, "%s\n", h->url) < 0 || fclose(f) != 0)
            return fail(errbuf, len, REFRAFT_EIO, "cannot write %s: %s",
                        cfg->url_file, strerror(errno));
    }
    return 0;
}

/* A full snapshot chunk must pass the peer's decoder. */
_Static_assert(HOST_SNAPSHOT_CHUNK_MAX <= REFRAFT_WIRE_MAX_SNAPSHOT_REFS,
               "a snapshot chunk the wire refuses");

static int check_config(const host_config *cfg, char *errbuf, size_t len)
{
    if (cfg == NULL || cfg->id == NULL || cfg->data_dir == NULL)
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "a node needs an id and a data directory");
    if (!host_id_ok(cfg->id))
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "the node id must be 1 to %d printable ASCII bytes "
                    "without spaces",
                    REFRAFT_ID_MAX);
    if (cfg->url != NULL && !host_url_ok(cfg->url))
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "--url must be http(s)://HOST[:PORT], with no path, "
                    "reachable by the peers");
    const char *lh = cfg->listen_host != NULL ? cfg->listen_host : "";
    if (cfg->url == NULL &&
        (strcmp(lh, "0.0.0.0") == 0 || strcmp(lh, "::") == 0))
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "listening on a wildcard address needs --url: the "
                    "address peers reach this node at");
    if (cfg->token == NULL || strlen(cfg->token) < 16 ||
        strlen(cfg->token) > HOST_TOKEN_MAX)
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "the cluster token must have 16 to %d bytes",
                    HOST_TOKEN_MAX);
    for (const char *c = cfg->token; *c != '\0'; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return fail(errbuf, len, REFRAFT_EINVAL,
                        "the cluster token must be printable ASCII "
                        "without spaces");
    uint32_t entries =
        cfg->compact_entries != 0 ? cfg->compact_entries : HOST_COMPACT_ENTRIES;
    uint32_t keep =
        cfg->compact_keep != 0 ? cfg->compact_keep : HOST_COMPACT_KEEP;
    if (!cfg->no_compaction && keep >= entries)
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "--compact-keep (%u) must be below --compact-entries "
                    "(%u)",
                    (unsigned)keep, (unsigned)entries);
    if (cfg->snapshot_chunk > HOST_SNAPSHOT_CHUNK_MAX)
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "--snapshot-chunk takes 1 to %d references",
                    HOST_SNAPSHOT_CHUNK_MAX);
    if ((cfg->cert_file != NULL) != (cfg->key_file != NULL) ||
        (cfg->cert_file != NULL) != (cfg->ca_file != NULL))
        return fail(errbuf, len, REFRAFT_EINVAL,
                    "mutual TLS needs a certificate, its key and a CA, "
                    "all three");
    return 0;
}

int host_create(const host_config *cfg, host **out, char *errbuf,
                size_t errbuf_len)
{
    int rv = check_config(cfg, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return fail(errbuf, errbuf_len, REFRAFT_ENOMEM, "no memory");
    snprintf(h->id, sizeof h->id, "%s", cfg->id);
    snprintf(h->cluster_id, sizeof h->cluster_id, "%s",
             cfg->cluster_id != NULL ? cfg->cluster_id : "refraft");
    snprintf(h->data_dir, sizeof h->data_dir, "%s", cfg->data_dir);
    snprintf(h->token, sizeof h->token, "%s", cfg->token);
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", h->token);
    h->no_push = cfg->no_push;
    h->fault_hook = cfg->fault_hook;
    h->log_level = cfg->log_level;
    h->on_turn = cfg->on_turn;
    h->turn_ctx = cfg->turn_ctx;
    h->started_ms = host_now_ms();
    h->self_member = -1;
    h->election_ms =
        cfg->election_timeout_ms != 0 ? cfg->election_timeout_ms : 1000;
    h->batch = calloc(HOST_BATCH_MAX, sizeof *h->batch);
    h->prop_refs = calloc(HOST_BATCH_MAX, sizeof *h->prop_refs);
    h->prop_bytes = calloc(HOST_BATCH_MAX, sizeof *h->prop_bytes);
    rv = h->batch != NULL && h->prop_refs != NULL && h->prop_bytes != NULL
             ? 0
             : REFRAFT_ENOMEM;
    if (rv == 0)
        rv = open_store(h, cfg, errbuf, errbuf_len);
    if (rv == 0)
        rv = load_peers(h, cfg, errbuf, errbuf_len);
    if (rv == 0)
        rv = start_http(h, cfg, errbuf, errbuf_len);
    if (rv == 0)
        rv = create_node(h, cfg, errbuf, errbuf_len);
    if (rv == 0)
        rv = host_guard_open(h, cfg->join, errbuf, errbuf_len);
    if (rv != 0) {
        host_destroy(h);
        return rv;
    }
    host_log(h, HOST_LOG_INFO, "listening at %s with %zu peers", h->url,
             h->n_peers);
    if (h->fault_hook)
        host_log(h, HOST_LOG_WARN,
                 "the fault hook is on (POST /raft/v1/fault): a test hook "
                 "for drills, not for production");
    *out = h;
    return 0;
}

void host_destroy(host *h)
{
    if (h == NULL)
        return;
    /* In dependency order: nothing answers peers or clients any more,
     * the sweeper cancels its fetches on a live client, then the client
     * goes; the node's data index is saved before the node is freed. */
    if (h->srv != NULL)
        http_server_stop(h->srv);
    refraft_sweeper_destroy(h->sw);
    http_client_destroy(h->msg_cli);
    http_client_destroy(h->cli);
    host_fetcher_free(h);
    host_bundle_free(h);
    if (h->store != NULL && h->node != NULL &&
        refstore_set_data_index(h->store, refraft_data_index(h->node)) != 0)
        host_log(h, HOST_LOG_WARN, "cannot save the data index: %s",
                 refstore_errmsg(h->store));
    refraft_node_destroy(h->node);
    if (h->store != NULL) {
        if (refstore_flush(h->store) != 0)
            host_log(h, HOST_LOG_ERROR, "committing applies failed: %s",
                     refstore_errmsg(h->store));
        refstore_close(h->store);
    }
    free(h->batch);
    free(h->prop_refs);
    free(h->prop_bytes);
    free(h->waiters);
    host_snapshot_free(h);
    free(h);
}

const char *host_url(const host *h)
{
    return h->url;
}

const refraft_node *host_node(const host *h)
{
    return h->node;
}

/* ---- the loop ----------------------------------------------------------- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* One turn: wait for sockets or the next deadline (at most 100 ms, so a
 * stop request is seen promptly), then let everything do its work. */
static int turn(host *h)
{
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    int max_fd = -1;
    http_server_fdset(h->srv, &rd, &wr, &ex, &max_fd);
    http_client_fdset(h->cli, &rd, &wr, &ex, &max_fd);
    http_client_fdset(h->msg_cli, &rd, &wr, &ex, &max_fd);
    uint64_t now = host_now_ms();
    uint64_t due = min_u64(refraft_next_deadline(h->node),
                           refraft_sweeper_next_deadline(h->sw));
    uint64_t wait = due > now ? due - now : 0;
    wait = min_u64(wait, http_server_timeout_ms(h->srv));
    wait = min_u64(wait, http_client_timeout_ms(h->cli));
    wait = min_u64(wait, http_client_timeout_ms(h->msg_cli));
    wait = min_u64(wait, 100);
    struct timeval tv = {(time_t)(wait / 1000),
                         (suseconds_t)(wait % 1000) * 1000};
    int n = select(max_fd + 1, &rd, &wr, &ex, &tv);
    if (n < 0 && errno != EINTR)
        return REFRAFT_EIO;
    if (n < 0) {
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_ZERO(&ex);
    }
    http_server_run(h->srv, &rd, &wr, &ex);
    http_client_run(h->msg_cli);
    http_client_run(h->cli);
    host_fetch_run(h);
    if (h->on_turn != NULL)
        h->on_turn(h->turn_ctx, h);
    host_flush_writes(h);
    int grv = host_guard_run(h);
    if (grv != 0)
        return grv;
    now = host_now_ms();
    /* A fresh store's node neither ticks nor takes Raft messages
     * (host_guard_serve answers them 503) until the start guard lets it
     * take part: it cannot campaign or vote before then (guard.c). */
    if (!host_guard_holds(h) && now >= refraft_next_deadline(h->node)) {
        /* The answers first: a follower's tick applies what the leader
         * committed (defer_follower_apply), which the leader's next
         * AppendEntries need not wait for. */
        http_server_flush(h->srv);
        host_flush_writes(h); /* any the flush took in */
        int rv = refraft_tick(h->node);
        if (rv == REFRAFT_EFAILED)
            return rv;
    }
    if (now >= refraft_sweeper_next_deadline(h->sw)) {
        int srv = refraft_sweeper_tick(h->sw);
        if (srv != 0)
            host_log(h, HOST_LOG_WARN, "sweeper: %s", refraft_strerror(srv));
    }
    host_expire_writes(h, false);
    host_members_run(h, false);
    host_peers_save(h);
    /* Applies ride along with the next durable write (an append, a
     * record); on their own they are committed once no write has for
     * HOST_FLUSH_MS, so that a busy node pays no sync for them.  A crash
     * loses at most that much applying, which runs again at the restart
     * (refstore's applied index is committed with it). */
    refstore_stats st;
    refstore_get_stats(h->store, &st);
    if (st.commits != h->flushed_commits) {
        h->flushed_commits = st.commits;
        h->flushed_ms = now;
    }
    if (now < h->flushed_ms + HOST_FLUSH_MS)
        return 0;
    h->flushed_ms = now;
    int rv = refstore_flush(h->store);
    if (rv != 0)
        host_log(h, HOST_LOG_ERROR, "committing applies failed: %s",
                 refstore_errmsg(h->store));
    return rv;
}

int host_run(host *h, volatile sig_atomic_t *stop)
{
    int rv = 0;
    while (!*stop && rv == 0)
        rv = turn(h);
    if (rv != 0 && !host_guard_refused(h)) /* the guard said why */
        host_log(h, HOST_LOG_ERROR, "stopping on an error: %s",
                 refraft_strerror(rv));
    host_log(h, HOST_LOG_INFO, "stopping");
    h->stopping = true;
    host_expire_writes(h, true);
    host_members_run(h, true);
    return rv;
}
