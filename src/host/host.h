/* host.h - the node runtime: one refraft node on refstore, with its
 * sweeper, served and reached over HTTP, driven by one event loop. */
#ifndef REFRAFT_HOST_HOST_H
#define REFRAFT_HOST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "refraft/refraft.h"

#define HOST_URL_MAX 1024
/* Compaction's defaults (docs/operations.md, Compaction), and the most
 * references a snapshot chunk may carry: 65536 refs of the longest ids
 * make about 20 MB, well under the wire's 64 MiB body. */
#define HOST_COMPACT_ENTRIES 65536
#define HOST_COMPACT_KEEP 8192
#define HOST_SNAPSHOT_CHUNK 8192
#define HOST_SNAPSHOT_CHUNK_MAX 65536

typedef enum host_log_level {
    HOST_LOG_DEBUG = 0,
    HOST_LOG_INFO = 1,
    HOST_LOG_WARN = 2,
    HOST_LOG_ERROR = 3
} host_log_level;

typedef struct host host;

typedef struct host_peer_config {
    const char *id;
    const char *url; /* base URL, e.g. http://127.0.0.1:7001 */
} host_peer_config;

/* Settings.  Zero fields take the documented default. */
typedef struct host_config {
    const char *id;          /* required */
    const char *listen_host; /* default "127.0.0.1" */
    uint16_t listen_port;    /* 0: an ephemeral port */
    /* The URL peers and clients reach this node at; default
     * http://listen_host:actual_port. */
    const char *url;
    const char *data_dir;   /* the node's refstore: required */
    const char *cluster_id; /* default "refraft" */
    /* The other voters, with their URLs.  NULL/0: those the store's
     * cluster map remembers from an earlier run. */
    const host_peer_config *peers;
    size_t n_peers;
    /* The cluster credential peers present (Authorization: Bearer);
     * required, at least 16 bytes. */
    const char *token;
    /* Mutual TLS between peers: all three, or none. */
    const char *cert_file;
    const char *key_file;
    const char *ca_file;
    uint32_t election_timeout_ms; /* default 1000 */
    uint8_t commit_policy;        /* refraft_commit_policy */
    /* Do not push new records to followers: they get them through their
     * sweepers only (to exercise the repair path). */
    bool no_push;
    host_log_level log_level; /* default HOST_LOG_INFO */
    /* Written with the node's URL once it listens (NULL: none). */
    const char *url_file;
    /* Called once per turn of the event loop, before the turn's writes
     * are proposed: where an in-process application makes its
     * host_write() calls (NULL: none). */
    void (*on_turn)(void *ctx, host *h);
    void *turn_ctx;
    /* Append the leader's entries durably before sending them, instead
     * of sending them while its disk syncs (refraft_log_api.stage): only
     * to measure what the overlap gains. */
    bool append_before_send;
    /* A test hook for drills, never for production: serve POST
     * /raft/v1/fault, which cuts this node off from chosen peers (no
     * message sent to them, no record fetched from them, their requests
     * answered 503), so that a partition needs no root.  Off: that path
     * is unknown (404). */
    bool fault_hook;
    /* A server being added to a running cluster: start with no
     * configuration (no peers: REFRAFT_EINVAL with any) and wait for a
     * leader to add it (refraft_config.join; docs/operations.md). */
    bool join;
    /* Log compaction (Raft §7): once more than compact_entries applied
     * entries are in the log, it is compacted up to compact_keep entries
     * behind the applied index (compact_keep below compact_entries), and
     * a follower that needs what is gone gets a snapshot of the reference
     * state, snapshot_chunk references per message (at most
     * HOST_SNAPSHOT_CHUNK_MAX).  Defaults HOST_COMPACT_ENTRIES,
     * HOST_COMPACT_KEEP and HOST_SNAPSHOT_CHUNK.  no_compaction: no
     * entries bound (snapshots from a leader that compacts are still
     * installed).  compact_bytes: it is also compacted once its entries
     * take more than this many bytes in the store (refraft_config's
     * compact_bytes); 0 (the default): no bytes bound.  With
     * no_compaction and no bytes bound it never compacts. */
    uint32_t compact_entries;
    uint32_t compact_keep;
    uint32_t snapshot_chunk;
    bool no_compaction;
    uint64_t compact_bytes;
} host_config;

/* Open the store, create node and sweeper, start listening.  errbuf says
 * what failed.  Returns 0 or a refraft error code. */
int host_create(const host_config *cfg, host **out, char *errbuf,
                size_t errbuf_len);

/* Run the event loop until *stop becomes non-zero (a signal handler sets
 * it): then stop accepting, answer what is open, commit pending applies.
 * Returns 0, or the error that stopped the loop: REFRAFT_EWRONGSTORE
 * when the start guard refused this node (its data directory is new but
 * the cluster knows it from another store, or a peer is of another
 * cluster; guard.c, docs/operations.md). */
int host_run(host *h, volatile sig_atomic_t *stop);

/* Close the store and free everything.  NULL is allowed. */
void host_destroy(host *h);

/* Set malloc's thresholds for a process that runs a node, so that
 * LMDB's per-transaction buffers stay mapped between writes (tune.c says
 * why).  `refraft node` calls it first; a program that runs a node in
 * its own process may too (the benchmarks' leader does).  Process-wide;
 * glibc's mallopt() takes its own lock. */
void host_tune_malloc(void);

/*
 * The answer to an in-process write, as POST /v1/records would give it:
 * status 201 with the entry's index once it is applied; 307 (another node
 * leads) or 503 (no leader known, or the outcome is unknown: read the
 * record before writing it again), 409 (another record under this id, or
 * the entry was abandoned), 413, 500 or 504, with a message in why (valid
 * during the call) and index 0 unless one is known.
 */
typedef void (*host_write_fn)(void *ctx, unsigned status, refraft_index index,
                              const char *why);

/*
 * Write a record from inside the node's process (an embedding
 * application, a benchmark) without HTTP: it joins this turn's batch like
 * a client's POST /v1/records, with the id given (id_len 0: the record's
 * SHA-256 in hex).  bytes must stay valid until done is called, which is
 * never from inside this call.  Call it from on_turn (or another callback
 * of this host's loop).  Returns 0, REFRAFT_EINVAL (empty or oversized
 * record, bad id) or REFRAFT_ETOOBIG (this turn's batch is full: write
 * again next turn); done is then not called.
 */
int host_write(host *h, const uint8_t *id, size_t id_len, const void *bytes,
               size_t len, host_write_fn done, void *ctx);

/* This node's core (read-only use: role, indexes). */
const refraft_node *host_node(const host *h);

const char *host_url(const host *h);

#endif /* REFRAFT_HOST_HOST_H */
