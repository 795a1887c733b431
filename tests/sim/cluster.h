/* cluster.h - N simulated nodes on their disks: start, crash, deliver. */
#ifndef REFRAFT_SIM_CLUSTER_H
#define REFRAFT_SIM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "disk.h"
#include "net.h"
#include "prng.h"
#include "refraft/refraft.h"
#include "tmpdir.h"

#define NODE_ID_LEN 16

/* Settings shared by every node of a run. */
typedef struct cluster_params {
    int n_nodes;
    uint32_t election_timeout_ms;
    uint32_t heartbeat_ms;
    uint32_t max_entries_per_msg;
    uint32_t max_inflight;
    bool disable_pre_vote;
    bool disable_check_quorum;
    /* Answer requests through on_message's reply callback (RPC comms)
     * rather than through send() (one-way comms). */
    bool rpc_replies;
    /* The state machine's applied index survives a crash with the disk;
     * otherwise the state machine restarts empty and re-applies.  Always
     * so on refstore, which keeps it. */
    bool persist_applied;
    /* The nodes' disks are refstores in a temporary directory of the
     * run's own, rather than memlogs, with LMDB maps of map_size bytes at
     * first (0: refstore's default). */
    bool refstore;
    size_t map_size;
    uint32_t inject_bugs;
} cluster_params;

/* Hooks for whoever drives the cluster: the narration of the demo, the
 * fault schedule's reactions and the liveness monitor.  Any may be NULL.
 * They run inside node callbacks: they must not call into a node. */
typedef struct cluster_observer {
    void *ctx;
    void (*on_event)(void *ctx, int node, const refraft_event *ev);
    void (*on_apply)(void *ctx, int node, refraft_index index,
                     const refraft_entry *entry);
    void (*on_send)(void *ctx, int from, int to, const refraft_msg *msg);
} cluster_observer;

typedef struct cluster cluster;

typedef struct sim_node {
    cluster *cl;
    int idx;
    char id[NODE_ID_LEN]; /* "n1", "n2", ... */
    refraft_node *rn;     /* NULL while crashed */
    disk disk;
    refraft_index sm_applied; /* the simulated state machine */
    uint64_t crashes;
    uint64_t store_failures; /* refstore failed and was reopened */
} sim_node;

struct cluster {
    cluster_params params;
    sim_node nodes[NET_MAX_NODES];
    net net;
    checker check;
    prng rng;       /* the hull's random(): election timeouts */
    prng flush_rng; /* which refstores commit their applies each turn */
    uint64_t now;
    cluster_observer obs;
    bool verbose;
    char dir[TMPDIR_PATH_MAX]; /* the refstores' directory; "" if none */
};

/* Set up the disks, the network and the checker, and start every node,
 * reporting to obs (NULL for none) and tracing every message and event
 * when verbose.  Returns 0 or the refraft error of the first node that
 * failed to start (recorded as a violation).  Call cluster_free() in
 * either case: it also removes the refstores' directory. */
int cluster_init(cluster *cl, const cluster_params *params, uint64_t seed,
                 const cluster_observer *obs, bool verbose);
void cluster_free(cluster *cl);

/* Kill a node: destroy it, keep what its disk keeps across a process
 * crash.  Messages in flight to it will be lost; those it sent are still
 * on the wire. */
void cluster_crash(cluster *cl, int i);

/* Start a crashed node again on its disk.  Returns 0 or a refraft error
 * (recorded as a violation: the core refused its own disk). */
int cluster_restart(cluster *cl, int i);

bool cluster_alive(const cluster *cl, int i);

/* Hand a packet from the network to its destination (if it is up and the
 * link still is), then free it. */
void cluster_deliver(cluster *cl, net_packet *p);

/* The earliest timer deadline of a running node; UINT64_MAX if none runs.
 * *node gets that node. */
uint64_t cluster_next_timer(const cluster *cl, int *node);

void cluster_tick(cluster *cl, int i);

/* The running node that is leader with the highest term, or -1. */
int cluster_leader(const cluster *cl);

/* Run the checker over every running node: called after each step. */
void cluster_check(cluster *cl);

/*
 * End of an event-loop turn (a step), for nodes on refstore.  Each running
 * node commits its pending applies, or, at random, keeps them pending, so
 * that some crashes find applies not yet committed and lose them.  Then a
 * node whose store failed (see disk.h) is recovered as refstore says:
 * store closed and reopened, node recreated.
 */
void cluster_end_step(cluster *cl);

/* Record that a call into node i (named what) returned rv, which it must
 * not have, as an API Contract violation; the message carries the node's
 * and its store's account of the error.  Not when the node's store failed
 * (disk.h): then the error is the store's documented way to say so. */
void cluster_api_fail(cluster *cl, int i, const char *what, int rv);

/* Map "n3" to 2; -1 for an id outside the cluster. */
int cluster_node_index(const cluster *cl, const char *id);

#endif /* REFRAFT_SIM_CLUSTER_H */
