/* convergence.c - after a heal, every node holds every committed record,
 * in bounded time. */
#include <stdlib.h>
#include <string.h>

#include "convergence.h"
#include "xalloc.h"

typedef unsigned long long ull;

void convergence_init(convergence *cv)
{
    memset(cv, 0, sizeof(*cv));
}

void convergence_free(convergence *cv)
{
    free(cv->missing);
    memset(cv, 0, sizeof(*cv));
}

static bool holds(const checker *c, int node, refraft_index index)
{
    const committed_entry *ce = &c->centries[index];
    refraft_ref ref = {.id = ce->id, .id_len = ce->id_len, .size = ce->size};
    memcpy(ref.digest, ce->digest, REFRAFT_DIGEST_LEN);
    return rstore_has(c->stores[node], &ref);
}

static bool
held_by_member(const checker *c, uint32_t members, refraft_index index)
{
    for (int i = 0; i < c->n_nodes; i++) {
        if ((members & (1u << i)) && holds(c, i, index))
            return true;
    }
    return false;
}

static void passed(convergence *cv, uint64_t now)
{
    cv->waiting = false;
    if (cv->initially_missing == 0)
        return;
    uint64_t took = now - cv->heal_time;
    cv->converged++;
    cv->total_ms += took;
    if (took > cv->max_ms) {
        cv->max_ms = took;
        cv->max_bound = cv->bound;
    }
}

void convergence_start(convergence *cv, const checker *c, uint64_t now,
                       uint64_t base, uint32_t in_flight, uint64_t per_round,
                       uint32_t members, bool applies, bool reference)
{
    cv->waiting = true;
    cv->heal_time = now;
    cv->upto = c->n_committed;
    cv->members = members;
    cv->applies = applies;
    cv->reference = reference;
    cv->apply_upto = cv->upto;
    cv->waived = 0;
    cv->n_missing = 0;
    cv->puts_seen = c->store_puts;
    uint64_t per_node[NET_MAX_NODES] = {0}, most = 0;
    for (refraft_index k = 1; k <= cv->upto; k++) {
        if (c->centries[k].fate != FATE_KEPT)
            continue;
        if (reference && !held_by_member(c, members, k)) {
            cv->waived++;
            if (cv->apply_upto >= k)
                cv->apply_upto = k - 1;
            continue;
        }
        for (int i = 0; i < c->n_nodes; i++) {
            if (!(members & (1u << i)) || holds(c, i, k))
                continue;
            cv->missing = xgrow(cv->missing, &cv->missing_cap,
                                cv->n_missing + 1, sizeof(*cv->missing));
            cv->missing[cv->n_missing++] = (missing_record){i, k};
            if (++per_node[i] > most)
                most = per_node[i];
        }
    }
    uint64_t rounds = (most + in_flight - 1) / (in_flight > 0 ? in_flight : 1);
    cv->bound = base + rounds * per_round;
    cv->deadline = now + cv->bound;
    cv->initially_missing = cv->n_missing;
    if (cv->n_missing > cv->max_missing)
        cv->max_missing = cv->n_missing;
    if (cv->n_missing == 0 && !applies)
        passed(cv, now);
}

/* The first member that has not applied everything committed at the
 * heal, or -1. */
static int behind(const convergence *cv, const checker *c)
{
    for (int i = 0; cv->applies && i < c->n_nodes; i++) {
        if ((cv->members & (1u << i)) && c->nodes[i].applied < cv->apply_upto)
            return i;
    }
    return -1;
}

/* Whether a record still has to arrive: its node is still a member, and,
 * under the reference policy, some member still holds it (a removed
 * server may have taken the last copy). */
static bool
still_due(convergence *cv, const checker *c, const missing_record *m)
{
    if (!(cv->members & (1u << m->node)))
        return false;
    if (!cv->reference || held_by_member(c, cv->members, m->index))
        return true;
    cv->waived++;
    if (cv->apply_upto >= m->index)
        cv->apply_upto = m->index - 1;
    return false;
}

/* Strike what is held now, and, when the members changed, what no longer
 * has to be. */
static void strike(convergence *cv, const checker *c, bool puts, bool moved)
{
    size_t k = 0;
    while (k < cv->n_missing) {
        const missing_record *m = &cv->missing[k];
        if ((moved && !still_due(cv, c, m)) ||
            (puts && holds(c, m->node, m->index)))
            cv->missing[k] = cv->missing[--cv->n_missing];
        else
            k++;
    }
}

void convergence_step(convergence *cv, checker *c, uint64_t now,
                      uint32_t members)
{
    if (!cv->waiting)
        return;
    bool puts = c->store_puts != cv->puts_seen;
    bool moved = members != cv->members;
    if (puts || moved) {
        cv->puts_seen = c->store_puts;
        cv->members = members;
        strike(cv, c, puts, moved);
    }
    int late = behind(cv, c);
    if (cv->n_missing == 0 && late < 0) {
        passed(cv, now);
        return;
    }
    if (now <= cv->deadline)
        return;
    cv->waiting = false;
    if (cv->n_missing == 0) {
        check_fail(c, "Record Convergence",
                   "n%d has applied up to index %llu, short of the %llu "
                   "entries committed at the heal at t=%llu, %llu ms after "
                   "the heal (bound %llu ms)",
                   late + 1, (ull)c->nodes[late].applied, (ull)cv->apply_upto,
                   (ull)cv->heal_time, (ull)(now - cv->heal_time),
                   (ull)cv->bound);
        return;
    }
    const missing_record *m = &cv->missing[0];
    const committed_entry *ce = &c->centries[m->index];
    char id[RECORD_ID_MAX + 1];
    record_id_str(ce->id, ce->id_len, id, sizeof(id));
    check_fail(c, "Record Convergence",
               "n%d still lacks the record %s of committed index %llu (%zu "
               "of %zu records missing at the heal at t=%llu still are), "
               "%llu ms after the heal (bound %llu ms)",
               m->node + 1, id, (ull)m->index, cv->n_missing,
               cv->initially_missing, (ull)cv->heal_time,
               (ull)(now - cv->heal_time), (ull)cv->bound);
}
