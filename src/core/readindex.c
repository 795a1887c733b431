/* readindex.c - linearizable reads without log writes (ReadIndex, Raft
 * thesis §6.4). */
#include <string.h>

#include "core/alloc.h"
#include "core/node.h"

/* Send every voter an AppendEntries carrying the new read round. */
static void send_round(refraft_node *node)
{
    for (size_t i = 0; i < node->n_peers; i++)
        if (node->peers[i].voter)
            replication_send_heartbeat(node, &node->peers[i]);
}

int readindex_request(refraft_node *node, uint64_t *read_id)
{
    if (node->hull.on_read == NULL)
        return node_errorf(node, REFRAFT_EINVAL,
                           "reads need hull.on_read (hull version 4)");
    void *buf = node->reads;
    if (refraft_grow(&buf, &node->reads_cap, node->n_reads + 1,
                     sizeof *node->reads) != 0)
        return node_errorf(node, REFRAFT_ENOMEM,
                           "no memory for %zu pending reads",
                           node->n_reads + 1);
    node->reads = buf;
    struct pending_read *r = &node->reads[node->n_reads++];
    r->id = ++node->next_read_id;
    r->round = ++node->read_round;
    r->index = 0;
    if (read_id != NULL)
        *read_id = r->id;
    send_round(node);
    readindex_advance(node);
    return 0;
}

/* The highest round a majority of voters has echoed (this node echoes
 * every round it sends). */
static uint64_t confirmed_round(const refraft_node *node)
{
    uint64_t rounds[REFRAFT_MAX_PEERS];
    size_t n = 0;
    if (node->self_voter)
        rounds[n++] = node->read_round;
    for (size_t i = 0; i < node->n_peers; i++)
        if (node->peers[i].voter)
            rounds[n++] = node->peers[i].read_round;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && rounds[j] > rounds[j - 1]; j--) {
            uint64_t t = rounds[j];
            rounds[j] = rounds[j - 1];
            rounds[j - 1] = t;
        }
    size_t q = node_quorum(node);
    return q <= n ? rounds[q - 1] : 0;
}

/*
 * Thesis §6.4: the read index is the commit index once the leader has
 * committed an entry of its term (before that its commit index may miss
 * writes an earlier leader acknowledged); the read may be served once a
 * majority has answered an AppendEntries sent after the read was asked
 * for, which proves no other leader had been elected by then.  Reads are
 * decided in the order they were asked.
 */
void readindex_advance(refraft_node *node)
{
    if (node->role != REFRAFT_LEADER || node->n_reads == 0)
        return;
    if (node->commit_index >= node->term_first_index)
        for (size_t i = 0; i < node->n_reads; i++)
            if (node->reads[i].index == 0)
                node->reads[i].index = node->commit_index;
    uint64_t confirmed = confirmed_round(node);
    size_t k = 0;
    while (k < node->n_reads && node->reads[k].index != 0 &&
           node->reads[k].round <= confirmed)
        k++;
    for (size_t i = 0; i < k; i++)
        node->hull.on_read(node->hull.ctx, node->reads[i].id, 0,
                           node->reads[i].index);
    memmove(node->reads, node->reads + k,
            (node->n_reads - k) * sizeof *node->reads);
    node->n_reads -= k;
}

void readindex_fail_all(refraft_node *node)
{
    size_t n = node->n_reads;
    node->n_reads = 0;
    for (size_t i = 0; i < n; i++)
        node->hull.on_read(node->hull.ctx, node->reads[i].id,
                           REFRAFT_ENOTLEADER, 0);
}

void readindex_free(refraft_node *node)
{
    refraft_free(node->reads);
}
