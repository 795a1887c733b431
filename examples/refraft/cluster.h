/* cluster.h - a local cluster of `refraft node` processes on 127.0.0.1:
 * ports, token, starting, stopping, status. */
#ifndef REFRAFT_CLI_CLUSTER_H
#define REFRAFT_CLI_CLUSTER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xfer.h"

#define CLI_MAX_NODES 9
#define CLI_PATH_MAX 4096
/* Most words cli_cluster.node_flags passes on. */
#define CLI_NODE_FLAGS_MAX 16

/* The fields of GET /v1/status the CLI reads. */
typedef struct cli_status {
    char id[128];
    char role[32];
    char leader[128];
    char leader_url[CLI_URL_MAX];
    uint64_t term, commit_index, applied_index, last_index, data_index;
    uint64_t records;
    uint64_t sw_missing, sw_in_flight, sw_fetched, sw_bytes_fetched;
    uint64_t sw_digest_failures, sw_fetch_failures, sw_unrecoverable;
} cli_status;

typedef struct cli_node {
    char id[16];            /* n1, n2, ... */
    char dir[CLI_PATH_MAX]; /* <cluster dir>/nK: the node's --data */
    char url[64];           /* http://HOST:PORT */
    uint16_t port;
    /* The address it listens on: "" for 127.0.0.1.  With netns set, it
     * runs in that network namespace (`ip netns exec`), reached at host. */
    char host[40];
    char netns[32];
    pid_t pid; /* 0 when not running */
    /* Started with --join and no --peer: a server to be added to the
     * running cluster (cli_cluster_add_node). */
    bool join;
} cli_node;

/*
 * A cluster under one directory:
 *   DIR/token      the shared credential (64 hex digits, mode 0600)
 *   DIR/nK/        node K's data directory (--data), holding also
 *     log          its standard error
 *     pid          its process id while it runs
 *     url          written by the node once it listens
 *
 * Processes are started from exe (the refraft executable).  With
 * tie_to_parent the nodes die with the process that started them
 * (PR_SET_PDEATHSIG: the demo and the tests, which must leave nothing
 * behind); without it they get a session of their own and outlive it
 * (`refraft cluster up`).
 */
typedef struct cli_cluster {
    char dir[CLI_PATH_MAX];
    char token_file[CLI_PATH_MAX];
    char exe[CLI_PATH_MAX];
    const char *log_level;   /* --log-level for the nodes; NULL: theirs */
    const char *election_ms; /* --election-ms for the nodes; NULL: theirs */
    /* The ip(8) executable, for nodes with a netns (absolute path). */
    char ip_exe[CLI_PATH_MAX];
    /* --fault-hook for the nodes started from now on (POST
     * /raft/v1/fault: partitions without root; a test hook). */
    bool fault_hook;
    /* More flags for the nodes started from now on, NULL-terminated (at
     * most CLI_NODE_FLAGS_MAX words; NULL: none), e.g. the compaction
     * settings. */
    const char *const *node_flags;
    bool tie_to_parent;
    size_t n;
    cli_node nodes[CLI_MAX_NODES];
    cli_xfer x; /* for status requests */
} cli_cluster;

/* Set up c for n nodes under dir (created, mode 0700; made absolute).
 * token_file NULL: DIR/token, created if missing.  exe NULL: this very
 * executable.  Prints what fails.  Returns 0 or -1. */
int cli_cluster_init(cli_cluster *c, const char *dir, size_t n,
                     const char *token_file, const char *exe,
                     bool tie_to_parent);
/* Free what init took; running nodes are left alone (see stop_all). */
void cli_cluster_free(cli_cluster *c);

/* Pick ports, start every node, wait until each answers /v1/status.  On
 * failure the nodes started are stopped and -1 is returned. */
int cli_cluster_start(cli_cluster *c, uint64_t timeout_ms);

/* Start node i at its current port and URL (its peers at theirs) and
 * wait until it answers.  Prints what fails. */
int cli_cluster_start_node(cli_cluster *c, size_t i, uint64_t timeout_ms);
/* Give node i a new free port (its URL follows). */
int cli_cluster_new_port(cli_cluster *c, size_t i);
/* Start the stopped node i on a new free port: its peers are not told
 * (they learn the new URL from its requests).  Tries another port once
 * if the first fails.  Prints what fails. */
int cli_cluster_start_elsewhere(cli_cluster *c, size_t i, uint64_t timeout_ms);

/* Start node i as cli_cluster_start_node would, then wait for it to
 * exit, at most timeout_ms (then SIGKILL): for a start that must be
 * refused.  Returns its wait status, or -1 (printed) when it could not
 * start or did not exit in time. */
int cli_cluster_run_node(cli_cluster *c, size_t i, uint64_t timeout_ms);
/* Delete everything in the stopped node i's directory but its "log" (the
 * harness's capture of its output, no data of the node's): a lost data
 * directory.  Returns 0 or -1 (printed). */
int cli_cluster_wipe_dir(cli_cluster *c, size_t i);

/* One more node, n<K> with K the first number from c->n + 1 that no
 * node of c and no directory under c->dir holds, on a free port, to be
 * started with --join (cli_cluster_start_node): a server the running
 * cluster adds.  *i gets its index.  Returns 0 or -1 (printed; the cluster is
 * full at CLI_MAX_NODES). */
int cli_cluster_add_node(cli_cluster *c, size_t *i);

/* Send sig to node i by its pid (nothing if it is not running). */
void cli_cluster_signal(cli_cluster *c, size_t i, int sig);
/* Wait for node i, one of our children, to exit (at most timeout_ms;
 * then SIGKILL).  Removes its pid file.  Returns its wait status, or -1
 * when it was not running. */
int cli_cluster_reap(cli_cluster *c, size_t i, uint64_t timeout_ms);
/* SIGTERM every running node, wait up to timeout_ms, SIGKILL the rest.
 * Returns how many did not exit with status 0 (each is named on
 * stderr): a node stops cleanly on SIGTERM. */
int cli_cluster_stop_all(cli_cluster *c, uint64_t timeout_ms);

/* Run `refraft wipe-records --data <node i's dir> --id <its id>` (node i
 * stopped).
 * Returns 0 or -1 (printed). */
int cli_cluster_wipe_records(cli_cluster *c, size_t i);

/* GET /v1/status of node i into *st.  Returns 0, or -1 when it does not
 * answer 200 with the fields. */
int cli_cluster_status(cli_cluster *c, size_t i, cli_status *st);
/* Parse a status body. */
int cli_status_parse(const char *json, size_t len, cli_status *st);

/* Wait until every running node names the same leader, itself a leader
 * at that term.  *leader gets its index.  Returns 0 or -1 (timeout or
 * interrupted). */
int cli_cluster_wait_leader(cli_cluster *c, uint64_t timeout_ms,
                            size_t *leader);

#endif /* REFRAFT_CLI_CLUSTER_H */
