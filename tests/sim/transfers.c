/* transfers.c - the schedule's leadership transfers (thesis §3.10): now
 * and then whoever leads is asked to hand over to a random voter, and
 * every transfer must end, the target leading or not (Transfer
 * Liveness).  Safety needs no check of its own: the checkers watch every
 * election and every log. */
#include <string.h>

#include "schedule.h"
#include "trace.h"

/* The prng stream of these draws: they shift no other. */
#define TRANSFERS_STREAM 22
/* refraft_transfer: a transfer ends when its leader stops leading, or
 * after an election timeout (the node's own, which it draws between one
 * and two of election_timeout_ms); the bound leaves a heartbeat to see
 * it. */
#define TRANSFER_TIMEOUTS 2

void transfers_init(schedule *s, uint64_t seed, const cluster_params *p)
{
    (void)p;
    prng_seed(&s->trng, seed, TRANSFERS_STREAM);
    s->next_transfer = UINT64_MAX;
    for (int i = 0; i < NET_MAX_NODES; i++)
        s->transfer_to[i] = -1;
}

static uint64_t gap(schedule *s)
{
    uint64_t t = s->election_timeout_ms;
    return prng_range(&s->trng, 2 * t, 8 * t);
}

void transfers_begin_phase(schedule *s, const cluster *cl)
{
    bool on = s->n_nodes >= 2 && s->phase != PHASE_LOST_LEADER;
    s->next_transfer = on ? cl->now + gap(s) : UINT64_MAX;
}

/* The other voters of the leader's configuration whose server is still
 * there; none while the leader is no voter of it (it removed itself and
 * leads only until that commits). */
static int targets(const cluster *cl, int leader, int *out)
{
    sim_conf conf;
    sim_conf_of_node(&conf, cl->nodes[leader].rn);
    int n = 0;
    if (!cluster_votes_in(cl, leader, &conf))
        return 0;
    for (int i = 0; i < cl->params.n_nodes; i++) {
        if (i != leader && cluster_votes_in(cl, i, &conf))
            out[n++] = i;
    }
    return n;
}

void transfers_act(schedule *s, cluster *cl)
{
    s->next_transfer = cl->now + gap(s);
    int leader = cluster_leader(cl);
    int cand[NET_MAX_NODES];
    int n = leader >= 0 ? targets(cl, leader, cand) : 0;
    if (n == 0)
        return;
    int target = cand[prng_below(&s->trng, (uint64_t)n)];
    s->ts.asked++;
    int rv = refraft_transfer(cl->nodes[leader].rn, cl->nodes[target].id);
    if (cl->verbose)
        trace_note(cl->now, "schedule: n%d is asked to hand over to %s: %s",
                   leader + 1, cl->nodes[target].id,
                   rv == 0 ? "under way" : refraft_strerror(rv));
    if (rv == 0)
        s->ts.started++;
    else if (rv == REFRAFT_EBUSY)
        s->ts.busy++;
    else
        cluster_api_fail(cl, leader, "refraft_transfer", rv);
}

void transfers_after_step(schedule *s, cluster *cl)
{
    uint64_t bound =
        TRANSFER_TIMEOUTS * (uint64_t)s->election_timeout_ms + s->heartbeat_ms;
    for (int i = 0; i < s->n_nodes; i++) {
        const refraft_node *rn = cl->nodes[i].rn;
        const char *target = rn != NULL ? refraft_transfer_target(rn) : NULL;
        int to = target != NULL ? cluster_node_index(cl, target) : -1;
        if (s->transfer_to[i] >= 0 && to < 0)
            s->ts.ended++;
        if (to >= 0 && s->transfer_to[i] < 0)
            s->transfer_since[i] = cl->now;
        s->transfer_to[i] = to;
        if (to >= 0 && cl->now - s->transfer_since[i] > bound) {
            check_fail(&cl->check, "Transfer Liveness",
                       "n%d's transfer of its leadership to %s has been under "
                       "way since t=%llu, %llu ms (bound %llu ms)",
                       i + 1, target, (unsigned long long)s->transfer_since[i],
                       (unsigned long long)(cl->now - s->transfer_since[i]),
                       (unsigned long long)bound);
            s->transfer_to[i] = -1;
        }
    }
}
