/* internal.h - the node runtime's state, shared by src/host's files. */
#ifndef REFRAFT_HOST_INTERNAL_H
#define REFRAFT_HOST_INTERNAL_H

#include <stdarg.h>

#include "host.h"
#include "http.h"
#include "refraft/refstore.h"
#include "refraft/sweeper.h"
#include "refraft/wire.h"

#define HOST_TOKEN_MAX 256
/* Longest a client's write waits for its entry to be applied. */
#define HOST_WRITE_TIMEOUT_MS 30000
/* GET /v1/log: entries per answer, by default and at most; the largest
 * answer the body may grow to (10000 entries whose 255-byte ids escape
 * to 6 characters a byte take about 17 MB). */
#define HOST_LOG_PAGE_DEFAULT 1000
#define HOST_LOG_PAGE_MAX 10000
#define HOST_LOG_BODY_MAX (64u << 20)
/* Time-outs of peer exchanges. */
#define HOST_MSG_TIMEOUT_MS 2000
#define HOST_FETCH_TIMEOUT_MS 5000
/* Most client writes proposed in one batch (one transaction, one sync). */
#define HOST_BATCH_MAX 1024
/* Most record bytes that travel with one AppendEntries; the records past
 * it are left to the follower's sweeper. */
#define HOST_BUNDLE_MAX (8u << 20)
/* Raft messages waiting for their peer's connection, at most. */
#define HOST_MSG_QUEUE_MAX 4096
/* Longest applies wait in refstore's open transaction for a commit. */
#define HOST_FLUSH_MS 50

struct host_peer {
    char id[REFRAFT_ID_MAX + 1];
    char url[HOST_URL_MAX + 1];
};

/* What a message's completion needs: the host and the peer it went to. */
struct host_peer_ctx {
    host *h;
    size_t peer;
};

/* Who waits for a write: a client over HTTP (req), or in-process code
 * (done, ctx). */
struct host_client {
    http_request *req;
    host_write_fn done;
    void *ctx;
};

/* A client's record, waiting for the next batch of proposals. */
struct host_write {
    struct host_client client;
    refraft_ref ref;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    const uint8_t *bytes; /* the body, valid until the client is answered */
};

/* A proposed record whose client waits for its entry to be applied. */
struct host_waiter {
    refraft_index index;
    struct host_client client;
    uint64_t deadline;
    refraft_ref ref;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
};

/* A sweeper fetch in flight: its token and the HTTP request carrying it. */
struct host_fetch {
    uint64_t token;
    uint64_t http_id;
    void *ctx; /* the completion's context, freed with the fetch */
};

struct host {
    char id[REFRAFT_ID_MAX + 1];
    char cluster_id[REFRAFT_ID_MAX + 1];
    char url[HOST_URL_MAX + 1];
    char data_dir[HOST_URL_MAX + 1];
    char auth[HOST_TOKEN_MAX + 32]; /* "Authorization: Bearer ..." */
    char token[HOST_TOKEN_MAX + 1];
    bool no_push;
    host_log_level log_level;
    /* --fault-hook: POST /raft/v1/fault serves; dropping[k] cuts this
     * node off from peers[k] both ways (fault.c). */
    bool fault_hook;
    bool dropping[REFRAFT_MAX_PEERS - 1];

    struct host_peer peers[REFRAFT_MAX_PEERS - 1];
    struct host_peer_ctx peer_ctx[REFRAFT_MAX_PEERS - 1];
    size_t n_peers;
    bool stopping; /* new requests get 503 */

    refstore *store;
    refraft_log_api log; /* the store's log, as the node uses it: reads */
    refraft_node *node;
    refraft_sweeper *sw;
    http_server *srv;
    http_client *cli;     /* records: pushes and the sweeper's fetches */
    http_client *msg_cli; /* Raft messages, one connection per peer */

    struct host_write *batch;
    size_t n_batch;
    /* What one refstore_propose and one push of a batch take. */
    refraft_ref *prop_refs;
    const void **prop_bytes;
    /* waiters[waiters_head .. waiters_head + n_waiters), in index order:
     * entries apply in order, so the first one leaves first. */
    struct host_waiter *waiters;
    size_t waiters_head;
    size_t n_waiters;
    size_t waiters_cap;
    void (*on_turn)(void *ctx, host *h);
    void *turn_ctx;
    struct host_fetch *fetches;
    size_t n_fetches;
    size_t fetches_cap;

    uint64_t started_ms;
    uint64_t flushed_ms; /* when the loop last committed pending applies */
    uint64_t writes_ok;
    uint64_t writes_failed;
    uint64_t msgs_sent;
    uint64_t msgs_failed;
    uint64_t records_sent;     /* with AppendEntries, as leader */
    uint64_t records_received; /* stored with the append they came with */
    uint64_t records_refused;  /* came with a message, not stored */
    uint64_t peer_requests_refused;
    uint64_t fault_dropped; /* messages and requests the fault hook cut */
};

/* log.c */
void host_log(const host *h, host_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t host_now_ms(void);

/* peers.c: the peer protocol, both ways. */
struct host_peer *host_peer_find(host *h, const char *id);
/* A URL peers can reach: http(s)://host[:port], no path, not a wildcard
 * address.  A node id: 1..REFRAFT_ID_MAX printable ASCII bytes, no
 * spaces (it travels in headers and logs). */
bool host_url_ok(const char *url);
bool host_id_ok(const char *id);
/* Answer a request to /raft/...; true when the path was one of them. */
bool host_serve_peer(host *h, http_request *req);
/* The hull's send(): msg to peer to_id over POST /raft/v1/msg. */
int host_send_msg(void *ctx, const char *to_id, const refraft_msg *msg);
/* The sweeper's fetcher over GET /raft/v1/records/{id}. */
int host_fetch_start(void *ctx, const refraft_fetch_request *req);
void host_fetch_cancel(void *ctx, uint64_t token);

/* service.c: the record service a client talks to. */
bool host_serve_client(host *h, http_request *req);
/* Propose the writes gathered this turn of the loop as one batch. */
void host_flush_writes(host *h);
/* The entry at index was applied (type REF or ABANDONED) or discarded:
 * answer the client waiting for it, if any. */
void host_write_applied(host *h, refraft_index index,
                        const refraft_entry *entry);
void host_write_discarded(host *h, refraft_index index);
/* Answer writes that waited too long; on stop, every one (503). */
void host_expire_writes(host *h, bool all);

/* status.c */
void host_serve_status(host *h, http_request *req);
void host_serve_metrics(host *h, http_request *req);

/* logview.c: GET /v1/log, the log's entries as JSON. */
void host_serve_log(host *h, http_request *req);

/* fault.c: the fault hook (--fault-hook), a test hook for drills. */
/* Whether the fault hook cuts this node off from the peer id (false
 * without the hook, or for an id that is not a peer). */
bool host_fault_drops(const host *h, const char *peer_id);
/* POST /raft/v1/fault?drop=ID,...: replace the set of peers cut off.
 * The request is authenticated; only with the hook enabled. */
void host_serve_fault(host *h, http_request *req);
/* The drop set as a JSON array of ids, into out (cap bytes). */
void host_fault_json(const host *h, char *out, size_t cap);

/* peers.c: a decimal number and nothing else (no sign, no space, no
 * overflow), as headers and query parameters carry them. */
bool host_parse_u64(const char *s, uint64_t *out);

/* http_respond, falling back to a bare 500 when it refuses the answer,
 * so every request is answered. */
void host_respond(http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len, const char *const *headers);
/* Answer req with a JSON error {"error": msg} and status. */
void host_respond_error(http_request *req, unsigned status, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

#endif /* REFRAFT_HOST_INTERNAL_H */
