/* client.c - the simulated client: writes records, whose references the
 * leader proposes, to whoever leads. */
#include <stdio.h>
#include <string.h>

#include "client.h"

#define BATCH_MAX 3
/* Like a real client that waits for its writes, this one stops proposing
 * to a leader holding this many uncommitted entries: an open-loop client
 * would grow the log faster than a slow configuration (one entry per
 * message, one message in flight, 30 ms links) can replicate it, and then
 * no new proposal could ever commit. */
#define MAX_UNCOMMITTED 8

void client_init(client *c, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    prng_seed(&c->rng, seed, 3);
    c->next_seq = 1;
}

/* Not leading, or handing its leadership over (refraft_transfer). */
static bool acceptable(int rv)
{
    return rv == REFRAFT_ENOTLEADER || rv == REFRAFT_ENOLEADER ||
           rv == REFRAFT_EBUSY;
}

/* Returns 0 when accepted, -1 when the leader is too far behind on
 * commits to take more, or what refraft_propose() returned. */
static int propose_to(cluster *cl, int i, const record *recs, size_t n)
{
    const refraft_node *rn = cl->nodes[i].rn;
    if (refraft_role(rn) == REFRAFT_LEADER &&
        refraft_last_index(rn) - refraft_commit_index(rn) >= MAX_UNCOMMITTED)
        return -1;
    refraft_index first = 0;
    int rv = cluster_propose(cl, i, recs, n, &first);
    if (rv > 0 && !acceptable(rv))
        cluster_api_fail(cl, i, "propose", rv);
    return rv;
}

static int random_running_node(client *c, const cluster *cl)
{
    int running[NET_MAX_NODES];
    int n = 0;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        if (cluster_alive(cl, i))
            running[n++] = i;
    }
    return n > 0 ? running[prng_below(&c->rng, (uint64_t)n)] : -1;
}

int client_propose(client *c, cluster *cl)
{
    int i = random_running_node(c, cl);
    if (i < 0)
        return -1;
    size_t n = 1 + prng_below(&c->rng, BATCH_MAX);
    record recs[BATCH_MAX];
    for (size_t k = 0; k < n; k++) {
        char name[CLIENT_ID_MAX + 1];
        snprintf(name, sizeof(name), "r%llu",
                 (unsigned long long)(c->next_seq + k));
        record_make(&recs[k], cl->seed, name);
    }
    int rv = propose_to(cl, i, recs, n);
    if (rv == REFRAFT_ENOTLEADER) {
        int hint = cluster_node_index(cl, refraft_leader_id(cl->nodes[i].rn));
        if (hint < 0 || !cluster_alive(cl, hint))
            return -1;
        i = hint;
        rv = propose_to(cl, i, recs, n);
    }
    if (rv != 0)
        return -1;
    c->next_seq += n;
    c->accepted += n;
    return i;
}
