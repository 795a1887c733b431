/* net.h - the simulated network: messages in flight, faults, partitions. */
#ifndef REFRAFT_SIM_NET_H
#define REFRAFT_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "refraft/refraft.h"

/* The nodes of a cluster (at most REFRAFT_MAX_PEERS), and one more: the
 * black hole where messages to the ids of servers gone for good go
 * (cluster.h). */
#define NET_MAX_NODES (REFRAFT_MAX_PEERS + 1)

/* One message in flight: a Raft message (msg), or the application's own
 * traffic (data, len bytes: records pushed and fetched, records.h).  Either
 * lives in the same allocation as the packet; net_packet_free() releases
 * all of it. */
typedef struct net_packet {
    uint64_t deliver_at; /* virtual ms */
    uint64_t seq;        /* send order: ties deliver in the order sent */
    int from;
    int to;
    refraft_msg *msg; /* NULL for application data */
    void *data;       /* NULL for a Raft message */
    size_t len;
    uint64_t tag; /* the sender's, for the receiver (cluster.c) */
} net_packet;

/* Counters for the narration and for tuning runs. */
typedef struct net_stats {
    uint64_t sent;
    uint64_t dropped;
    uint64_t duplicated;
} net_stats;

typedef struct net {
    int n_nodes;
    prng rng;
    net_packet **heap; /* binary min-heap on (deliver_at, seq) */
    size_t len;
    size_t cap;
    uint64_t next_seq;
    bool cut[NET_MAX_NODES][NET_MAX_NODES]; /* cut[from][to]: link down */
    uint32_t drop_pm;                       /* per mille of sends lost */
    uint32_t dup_pm;                        /* per mille sent twice */
    uint64_t delay_min;                     /* ms; random delays reorder */
    uint64_t delay_max;
    net_stats stats;
} net;

void net_init(net *n, int n_nodes, uint64_t seed);

/* Free every packet still in flight. */
void net_free(net *n);

/* Set the fault rates applied to messages sent from now on. */
void net_set_faults(net *n, uint32_t drop_pm, uint32_t dup_pm,
                    uint64_t delay_min, uint64_t delay_max);

/* Copy msg (deeply: entries, ids, members) and put it in flight from node from
 * to node to, unless the link is cut or the drop dice say it is lost; maybe
 * twice.  tag travels with it. */
void net_send(net *n, int from, int to, const refraft_msg *msg, uint64_t now,
              uint64_t tag);

/* Put len bytes of application data in flight from one node to another,
 * like net_send (same cuts, loss, duplication and delays), arriving extra
 * ms later than a message would. */
void net_send_data(net *n, int from, int to, const void *data, size_t len,
                   uint64_t now, uint64_t extra);

/* Virtual time of the next delivery; UINT64_MAX when nothing is in flight. */
uint64_t net_next_time(const net *n);

/* Take the next packet off the queue (NULL when empty); the caller owns it.
 * The caller decides whether it arrives: see net_link_up(). */
net_packet *net_pop(net *n);

void net_packet_free(net_packet *p);

/* Drop every packet in flight to node to (a server that lost its disk
 * comes back as another one: what was sent to the old one is not for
 * it). */
void net_drop_to(net *n, int to);

bool net_link_up(const net *n, int from, int to);

/* Cut every link between the nodes in the bit set group and the others, in
 * both directions. */
void net_partition(net *n, uint32_t group);

/* Cut the link from one node to another, one way only. */
void net_cut_oneway(net *n, int from, int to);

/* Bring every link back up. */
void net_heal(net *n);

#endif /* REFRAFT_SIM_NET_H */
