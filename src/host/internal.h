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

/* 8-byte big-endian integers, as the host's own LMDB keys and values
 * hold them (LMDB orders keys bytewise, so indexes sort in order). */
static inline void host_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t host_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
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
/* The sweeper's fetches to one peer travel HOST_FETCH_BATCH_MAX refs to a
 * POST /raft/v1/fetch at most, and at most HOST_FETCH_BATCH_BYTES of
 * records by their refs' sizes (a larger record goes alone), so that a
 * response stays well under the body cap and its time-out. */
#define HOST_FETCH_BATCH_MAX 1024
#define HOST_FETCH_BATCH_BYTES (4u << 20)
/* The record bytes a fetch response carries at most: the rest of the
 * body cap is room for the framing of REFRAFT_WIRE_MAX_FETCH answers (a
 * dozen bytes each) and the responder's id.  Records past it are
 * answered FAILED, and asked for again. */
#define HOST_FETCH_ANSWER_MAX (REFRAFT_WIRE_MAX_BODY - (1u << 20))
/* Raft messages waiting for their peer's connection, at most. */
#define HOST_MSG_QUEUE_MAX 4096
/* The most entries an AppendEntries carries (host.c, create_node). */
#define HOST_MAX_ENTRIES_PER_MSG 4096
/* Longest applies wait in refstore's open transaction for a durable
 * write to commit them, before the loop commits them itself. */
#define HOST_FLUSH_MS 50
/* Consistent reads (reads.c): how many may wait at once (more get 503),
 * and how long one waits for its read index and for this node to apply
 * up to it (then 504): a few default election time-outs. */
#define HOST_READS_MAX 256
#define HOST_READ_TIMEOUT_MS 5000

/* Slots of the peer table: every other member of a configuration fits
 * (REFRAFT_MAX_PEERS - 1); a sender outside it (a new leader not yet
 * known, a removed node) takes a slot no member holds. */
#define HOST_PEERS_MAX (REFRAFT_MAX_PEERS - 1)
/* Membership changes and transfers waiting for their outcome, at most. */
#define HOST_CHANGES_MAX 64

/* A slot of the peer table.  Slots never move, so a message's completion
 * can name its slot (struct host_peer_ctx); a slot is only reused for
 * another id once no member holds it, and a late answer is checked
 * against the id the slot holds then (msg_done). */
struct host_peer {
    char id[REFRAFT_ID_MAX + 1];
    char url[HOST_URL_MAX + 1]; /* "" while unknown: nothing is sent */
    bool member;                /* of the configuration in effect */
    bool voter;
};

/* What a message's completion needs: the host and the peer it went to. */
struct host_peer_ctx {
    host *h;
    size_t peer;
};

/* A client waiting for a membership change to commit (index, appended in
 * term) or for a leadership transfer to target to end (members.c). */
struct host_change {
    http_request *req;
    refraft_index index;
    refraft_term term;
    uint64_t deadline;
    bool transfer;
    char target[REFRAFT_ID_MAX + 1];
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
    const uint8_t *bytes; /* the client's, valid while it waits */
};

/* The sweeper's fetcher (fetcher.c): the fetches start() queued until
 * the next flush() (or, when a flush could not send them, until the loop
 * answers them FAILED), and the POST /raft/v1/fetch requests in flight,
 * a list. */
struct host_fetch_item;
struct host_fetch_batch;
struct host_fetcher {
    struct host_fetch_item *pending;
    size_t n_pending;
    size_t cap_pending;
    struct host_fetch_batch *in_flight;
};

/* A consistent read waiting (reads.c): for the node's read index
 * (LEADER: hull.on_read will name read_id), for the leader's answer
 * (REMOTE: POST /raft/v1/read-index in flight), or for this node to
 * apply up to index (APPLY).  A client's read (CLIENT) is then served
 * from the store; a peer's read-index request (PEER) gets the index.
 * req is NULL once the request was answered (a time-out) while the slot
 * still waits for the answer owed to it. */
enum host_read_state {
    HOST_READ_FREE = 0,
    HOST_READ_LEADER,
    HOST_READ_REMOTE,
    HOST_READ_APPLY
};
enum host_read_kind { HOST_READ_CLIENT = 0, HOST_READ_PEER };
struct host_read {
    host *h;
    uint8_t state; /* enum host_read_state */
    uint8_t kind;  /* enum host_read_kind */
    uint64_t read_id;
    refraft_index index;
    uint64_t deadline;
    http_request *req;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t id_len;
};

/* A reader of the reference state (snapshot.c): the ids of the refs the
 * last read handed out, cap refs' worth. */
struct host_snap_reader {
    uint8_t *ids;
    size_t cap;
};

/* The start guard (guard.c): whether this node may take part yet, and
 * the store's incarnation and uid.  answer[k] and asking[k] follow the
 * peer table's slots, which stay put while the guard waits (no Raft
 * message is taken then). */
enum host_guard_state {
    HOST_GUARD_OFF = 0, /* taking part (or never guarded) */
    HOST_GUARD_WAITING, /* a fresh store: no tick, no Raft message */
    HOST_GUARD_REFUSED  /* host_run stops with REFRAFT_EWRONGSTORE */
};
struct host_guard {
    MDB_dbi dbi;
    uint64_t incarnation;
    uint8_t uid[8];
    char uid_hex[17];
    bool cleared;
    uint8_t state; /* enum host_guard_state */
    uint64_t next_ms, said_ms;
    uint8_t answer[HOST_PEERS_MAX];
    bool asking[HOST_PEERS_MAX];
    char why[HOST_PEERS_MAX][96]; /* why a peer's last hello failed */
};

/* The encoded records of the last run of entries sent (bundle.c). */
struct host_bundle {
    bool valid;
    refraft_index first; /* the run: first index, length, term */
    size_t n_entries;
    refraft_term term;
    refraft_wire_buf recs; /* a record batch of n_recs (none: empty) */
    size_t n_recs;
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
    bool dropping[HOST_PEERS_MAX];

    /* The peer table: peers[0 .. n_peers), following the configuration
     * (host_peers_sync) and the addresses accepted requests give. */
    struct host_peer peers[HOST_PEERS_MAX];
    struct host_peer_ctx peer_ctx[HOST_PEERS_MAX];
    size_t n_peers;
    bool peers_dirty; /* the cluster map is to be saved (host_peers_save) */
    /* This node in the configuration in effect: -1 not looked at yet, 0
     * not a member, 1 a learner, 2 a voter; each change is logged once
     * (peers.c). */
    int self_member;
    uint32_t election_ms;
    struct host_change changes[HOST_CHANGES_MAX];
    size_t n_changes;
    bool stopping; /* new requests get 503 */

    refstore *store;
    /* The application's database "applied" (applied.c): record id -> the
     * entry that applied it.  Only its records are served to clients. */
    MDB_dbi applied_dbi;
    bool applied_ready;
    /* The reference state by index (snapshot.c); the node's and the
     * sweeper's reads of the state.  applied_dbi and index_dbi are the live
     * pair of the two copies of the state (live_copy: 0 or 1), the spare
     * pair receives a snapshot's chunks, and staging_dbi says how far. */
    MDB_dbi index_dbi;
    MDB_dbi spare_applied_dbi;
    MDB_dbi spare_index_dbi;
    int live_copy;
    uint64_t install_refs; /* the references of the install under way */
    MDB_dbi staging_dbi;
    struct host_snap_reader snap_node;
    struct host_snap_reader snap_sweeper;
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
    struct host_fetcher fetcher;
    struct host_read reads[HOST_READS_MAX];
    size_t n_reads;                 /* slots not FREE */
    struct host_read *reads_asking; /* inside refraft_read_index */

    struct host_bundle bundle; /* the records of the last run sent */

    uint64_t started_ms;
    /* When the loop last saw pending applies committed (by its own
     * flush, or with a durable write), and the store's commit count then. */
    uint64_t flushed_ms;
    uint64_t flushed_commits;
    uint64_t writes_ok;
    uint64_t writes_failed;
    uint64_t msgs_sent;
    uint64_t msgs_failed;
    uint64_t records_sent;     /* with AppendEntries, as leader */
    uint64_t records_received; /* stored with the append they came with */
    uint64_t records_refused;  /* came with a message, not stored */
    uint64_t peer_requests_refused;
    uint64_t fault_dropped; /* messages and requests the fault hook cut */
    uint64_t reads_ok;      /* consistent reads served (200 or 404) */
    uint64_t reads_failed;  /* consistent reads answered 503 or 504 */
    struct host_guard guard;
};

/* log.c */
void host_log(const host *h, host_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t host_now_ms(void);

/* peers.c: the peer protocol, both ways. */
struct host_peer *host_peer_find(host *h, const char *id);
/* Whether req carries the cluster's bearer token (compared in constant
 * time). */
bool host_peer_authorized(const host *h, const http_request *req);
/* Make the peer table follow the configuration in effect: members gain a
 * slot (with the address the configuration gives, when the slot has none
 * or held a non-member), others are marked non-members.  Memory only;
 * safe inside the node's callbacks.  The cluster map follows in
 * host_peers_save, from the loop. */
void host_peers_sync(host *h);
/* Save the members' addresses in the store's cluster map and forget the
 * others there, when host_peers_sync changed something. */
void host_peers_save(host *h);
/* A URL peers can reach: http(s)://host[:port], no path, not a wildcard
 * address.  A node id: 1..REFRAFT_ID_MAX printable ASCII bytes, no
 * spaces (it travels in headers and logs). */
bool host_url_ok(const char *url);
bool host_id_ok(const char *id);
/* Percent-decode the len bytes at s (a path segment, an item of a list)
 * into id (REFRAFT_ID_MAX + 1 bytes): false for a bad escape, a NUL, or a
 * result host_id_ok refuses. */
bool host_decode_id(const char *s, size_t len, char *id);
/* Answer a request to /raft/...; true when the path was one of them. */
bool host_serve_peer(host *h, http_request *req);
/* The hull's send(): msg to peer to_id over POST /raft/v1/msg. */
int host_send_msg(void *ctx, const char *to_id, const refraft_msg *msg);

/* bundle.c: the body of msg to a peer, in *body (len bytes, from
 * refraft_malloc: the caller's): msg's encoding (its first *msg_len
 * bytes), then for an AppendEntries with entries the *n_recs records
 * they name that this store holds (up to HOST_BUNDLE_MAX bytes; none
 * under no_push).  0, or the encoder's error for msg (REFRAFT_EINVAL: a
 * bug), REFRAFT_ENOMEM. */
int host_bundle_encode(host *h, const refraft_msg *msg, uint8_t **body,
                       size_t *len, size_t *msg_len, size_t *n_recs);
/* Drop the records kept for the last run. */
void host_bundle_free(host *h);
/* The headers every peer request carries (the token, Refraft-Node and
 * Refraft-URL, written into node_hdr and url_hdr) and up to three more
 * (NULL: none), into hdrs (8 slots), NULL-terminated. */
void host_peer_headers(host *h, char node_hdr[], size_t node_len,
                       char url_hdr[], size_t url_len, const char *hdrs[],
                       const char *extra1, const char *extra2,
                       const char *extra3);

/* fetcher.c: the sweeper's fetcher (refraft_fetcher) over
 * POST /raft/v1/fetch.  start() queues, flush() sends a request per peer
 * (and per HOST_FETCH_BATCH_MAX refs), answers come from the loop. */
int host_fetch_start(void *ctx, const refraft_fetch_request *req);
void host_fetch_cancel(void *ctx, uint64_t token);
void host_fetch_flush(void *ctx);
/* Once a turn of the loop: answer FAILED the fetches a flush could not
 * send (after one more try), so that the sweeper moves on. */
void host_fetch_run(host *h);
/* Free what the fetcher holds; after the HTTP client is gone (no
 * callback runs any more). */
void host_fetcher_free(host *h);

/* service.c: the record service a client talks to. */
bool host_serve_client(host *h, http_request *req);
/* Propose the writes gathered this turn of the loop as one batch. */
void host_flush_writes(host *h);
/* The entry at index was applied (type REF or ABANDONED) or discarded:
 * answer the client waiting for it, if any. */
void host_write_applied(host *h, refraft_index index,
                        const refraft_entry *entry);
void host_write_discarded(host *h, refraft_index index);
/* The bytes of the record that a client waits on at index, if its
 * reference is ref (else NULL): valid until the loop's next call into
 * the node or the service.  They spare a leader reading back from its
 * store the records of the entries it sends. */
const uint8_t *
host_waiting_bytes(host *h, refraft_index index, const refraft_ref *ref);
/* Answer writes that waited too long; on stop, every one (503).  Reads
 * too (host_reads_expire). */
void host_expire_writes(host *h, bool all);
/* Serve the record id as GET /v1/records/{id} does: 200 with its bytes
 * and Repr-Digest, or 404. */
void host_serve_record(host *h, http_request *req, const uint8_t *id,
                       size_t id_len);

/* applied.c: the records clients may read, those whose REF entry this
 * node applied (a record is stored before its entry commits, and that
 * entry may still be truncated). */
struct host_applied {
    refraft_index index; /* the first REF entry applied for the id */
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
};
/* Open (create) the database in the store's environment; a store that
 * applied entries before it existed gets it rebuilt from the log.  Before
 * the node is created.  errbuf gets the cause of an error. */
int host_applied_open(host *h, char *errbuf, size_t len);
/* refstore's apply hook (refstore_options.apply, app_ctx the host). */
int host_applied_hook(void *app_ctx, MDB_txn *txn, refraft_index index,
                      const refraft_entry *entry);
/* What applied the record id: 0, REFRAFT_ENOTFOUND (never applied here),
 * or an error (REFRAFT_EINVAL for a bad id; the store's errors). */
int host_applied_find(host *h, const uint8_t *id, size_t id_len,
                      struct host_applied *out);
/* Inside a store transaction (snapshot.c): record in dbi (an "applied")
 * that the entry at index applied ref (an id keeps its first index); mark
 * the database complete. */
int host_applied_record(MDB_txn *txn, MDB_dbi dbi, refraft_index index,
                        const refraft_ref *ref);
int host_applied_mark_built(MDB_txn *txn, MDB_dbi dbi);
/* An LMDB code as refstore's hooks must return it: MDB_MAP_FULL is
 * REFRAFT_ENOSPC, so that refstore grows the map and runs them again. */
int host_mdb_code(int rc);

/* snapshot.c: the reference state by index ("applied_by_index", written
 * with "applied"), and the snapshot hooks (Raft §7). */
/* Open (create) both copies of the state and the staging database in txn,
 * and take the live copy's handles into h; *built says whether its index
 * table is complete (mark: make a new one complete). */
int host_index_open(host *h, MDB_txn *txn, bool mark, bool *built);
int host_index_put(host *h, MDB_txn *txn, refraft_index index,
                   const refraft_ref *ref);
int host_index_mark_built(host *h, MDB_txn *txn);
/* Rebuild "applied" from the index table (a compacted log cannot). */
int host_index_rebuild_applied(host *h, MDB_dbi applied_dbi);
/* The hull's snapshot_read, snapshot_write and snapshot_install; the
 * sweeper's snapshot_read (a buffer of its own); refstore's on_install and
 * on_installed (which swaps h's handles of the two copies). ctx is the
 * host. */
int host_snapshot_read(void *ctx, refraft_index last, refraft_index after,
                       refraft_snapshot_ref *out, size_t max, size_t *n);
int host_snapshot_sweep_read(void *ctx, refraft_index last, refraft_index after,
                             refraft_snapshot_ref *out, size_t max, size_t *n);
int host_snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                        refraft_index after, const refraft_snapshot_ref *refs,
                        size_t n);
int host_snapshot_install(void *ctx, const refraft_snapshot_meta *meta);
int host_snapshot_on_install(void *app_ctx, MDB_txn *txn,
                             const refraft_snapshot_meta *meta);
void host_snapshot_installed(void *app_ctx, const refraft_snapshot_meta *meta);
/* Free the readers' buffers. */
void host_snapshot_free(host *h);

/* reads.c: linearizable reads (ReadIndex, Raft thesis §6.4). */
/* GET /v1/records/{id}?consistent=1, id decoded: served once this node
 * has applied up to a read index the leader confirmed (503 without a
 * leader or with too many reads pending, 504 past HOST_READ_TIMEOUT_MS). */
void host_serve_consistent_read(host *h, http_request *req, const uint8_t *id,
                                size_t id_len);
/* POST /raft/v1/read-index (authenticated): 200 {"index":N} once the
 * node confirmed the read index N; 503 when it does not lead. */
void host_serve_read_index(host *h, http_request *req);
/* The hull's on_read. */
void host_on_read(void *ctx, uint64_t read_id, int status, refraft_index index);
/* The node applied up to applied: serve the reads waiting for it. */
void host_reads_applied(host *h, refraft_index applied);
/* Answer reads that waited too long (504); on stop, every one (503). */
void host_reads_expire(host *h, bool all);

/* members.c: GET/POST /v1/members, POST /v1/members/{id}/promote,
 * DELETE /v1/members/{id}, POST /v1/transfer; true when the path was one
 * of them. */
bool host_serve_members(host *h, http_request *req);
/* Once a turn: answer the changes that committed or were lost, and the
 * transfers that ended; with all (stopping), every one (503). */
void host_members_run(host *h, bool all);

/* guard.c: the start guard (a node whose whole data directory is new
 * must not vote or count as if it still had its log) and GET
 * /raft/v1/hello.  host_guard_open, after the node is created: open the
 * database "node", raise the store's incarnation, and start waiting when
 * the store is fresh, peers are configured and join is false; errbuf
 * gets the cause of an error.  host_guard_run, once a turn: ask the
 * peers again; REFRAFT_EWRONGSTORE once the guard refused this node (it
 * logged why).  host_guard_holds: no tick and no Raft message yet.
 * host_guard_serve: answer /raft/v1/hello, and while the guard holds,
 * every other /raft/ path (503); true when it answered req. */
int host_guard_open(host *h, bool join, char *errbuf, size_t len);
int host_guard_run(host *h);
bool host_guard_holds(const host *h);
bool host_guard_refused(const host *h);
bool host_guard_serve(host *h, http_request *req);

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
