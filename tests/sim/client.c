/* client.c - the simulated client: proposes refs to whoever leads. */
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

void client_make_ref(refraft_ref *ref, uint8_t *idbuf, const char *name)
{
    size_t len = strlen(name);
    if (len > CLIENT_ID_MAX)
        len = CLIENT_ID_MAX;
    memcpy(idbuf, name, len);
    prng p;
    uint64_t h = 0;
    for (size_t i = 0; i < len; i++)
        h = h * 31 + idbuf[i];
    prng_seed(&p, h, 4);
    *ref = (refraft_ref){.id = idbuf, .id_len = (uint16_t)len};
    ref->size = 1 + prng_below(&p, 4096);
    for (size_t i = 0; i < REFRAFT_DIGEST_LEN; i++)
        ref->digest[i] = (uint8_t)prng_next(&p);
}

static bool acceptable(int rv)
{
    return rv == REFRAFT_ENOTLEADER || rv == REFRAFT_ENOLEADER;
}

/* Returns 0 when accepted, -1 when the leader is too far behind on
 * commits to take more, or what refraft_propose() returned. */
static int propose_to(cluster *cl, int i, const refraft_ref *refs, size_t n)
{
    const refraft_node *rn = cl->nodes[i].rn;
    if (refraft_role(rn) == REFRAFT_LEADER &&
        refraft_last_index(rn) - refraft_commit_index(rn) >= MAX_UNCOMMITTED)
        return -1;
    refraft_index first = 0;
    int rv = refraft_propose(cl->nodes[i].rn, refs, n, &first);
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
    refraft_ref refs[BATCH_MAX];
    uint8_t ids[BATCH_MAX][CLIENT_ID_MAX];
    for (size_t k = 0; k < n; k++) {
        char name[CLIENT_ID_MAX];
        snprintf(name, sizeof(name), "r%llu",
                 (unsigned long long)(c->next_seq + k));
        client_make_ref(&refs[k], ids[k], name);
    }
    int rv = propose_to(cl, i, refs, n);
    if (rv == REFRAFT_ENOTLEADER) {
        int hint = cluster_node_index(cl, refraft_leader_id(cl->nodes[i].rn));
        if (hint < 0 || !cluster_alive(cl, hint))
            return -1;
        i = hint;
        rv = propose_to(cl, i, refs, n);
    }
    if (rv != 0)
        return -1;
    c->next_seq += n;
    c->accepted += n;
    return i;
}

uint64_t client_seq_of(const refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_REF || e->ref.id_len < 2 ||
        e->ref.id_len >= CLIENT_ID_MAX || e->ref.id[0] != 'r')
        return 0;
    uint64_t seq = 0;
    for (size_t i = 1; i < e->ref.id_len; i++) {
        uint8_t d = e->ref.id[i];
        if (d < '0' || d > '9')
            return 0;
        seq = seq * 10 + (uint64_t)(d - '0');
    }
    return seq;
}
