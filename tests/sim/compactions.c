/* compactions.c - the schedule's random compactions: a running node
 * compacts its log now and then, besides what compact_entries makes it
 * do (runs with compaction). */
#include "schedule.h"
#include "trace.h"

/* The prng stream of these draws: they shift no other. */
#define COMPACTIONS_STREAM 21

void compactions_init(schedule *s, uint64_t seed, const cluster_params *p)
{
    s->compaction = p->compaction;
    prng_seed(&s->crng, seed, COMPACTIONS_STREAM);
    s->next_compact = UINT64_MAX;
}

static uint64_t gap(schedule *s)
{
    uint64_t t = s->election_timeout_ms;
    return prng_range(&s->crng, t / 4, 3 * t);
}

void compactions_begin_phase(schedule *s, const cluster *cl)
{
    s->next_compact = s->compaction ? cl->now + gap(s) : UINT64_MAX;
}

/* Up to compact_keep behind the applied index (upto 0), or up to a
 * random applied index: any is allowed, also one below the log's base
 * (nothing to do). */
void compactions_act(schedule *s, cluster *cl)
{
    s->next_compact = cl->now + gap(s);
    int i = (int)prng_below(&s->crng, (uint64_t)s->n_nodes);
    refraft_node *rn = cl->nodes[i].rn;
    if (rn == NULL)
        return;
    refraft_index applied = refraft_applied_index(rn);
    refraft_index upto = applied > 0 && prng_chance(&s->crng, 500)
                             ? prng_range(&s->crng, 1, applied)
                             : 0;
    s->compacts++;
    if (cl->verbose && upto == 0)
        trace_note(cl->now,
                   "schedule: n%d compacts its log up to compact_keep behind "
                   "its applied index",
                   i + 1);
    else if (cl->verbose)
        trace_note(cl->now, "schedule: n%d compacts its log up to %llu", i + 1,
                   (unsigned long long)upto);
    int rv = refraft_compact(rn, upto);
    if (rv != 0)
        cluster_api_fail(cl, i, "refraft_compact", rv);
}
