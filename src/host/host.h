/* host.h - the node runtime: one refraft node on refstore, with its
 * sweeper, served and reached over HTTP, driven by one event loop. */
#ifndef REFRAFT_HOST_HOST_H
#define REFRAFT_HOST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "refraft/refraft.h"

#define HOST_URL_MAX 1024

typedef enum host_log_level {
    HOST_LOG_DEBUG = 0,
    HOST_LOG_INFO = 1,
    HOST_LOG_WARN = 2,
    HOST_LOG_ERROR = 3
} host_log_level;

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
} host_config;

typedef struct host host;

/* Open the store, create node and sweeper, start listening.  errbuf says
 * what failed.  Returns 0 or a refraft error code. */
int host_create(const host_config *cfg, host **out, char *errbuf,
                size_t errbuf_len);

/* Run the event loop until *stop becomes non-zero (a signal handler sets
 * it): then stop accepting, answer what is open, commit pending applies.
 * Returns 0, or the error that stopped the loop. */
int host_run(host *h, volatile sig_atomic_t *stop);

/* Close the store and free everything.  NULL is allowed. */
void host_destroy(host *h);

const char *host_url(const host *h);

#endif /* REFRAFT_HOST_HOST_H */
