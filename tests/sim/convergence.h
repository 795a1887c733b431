/* convergence.h - after a heal, every node holds every committed record,
 * in bounded time. */
#ifndef REFRAFT_SIM_CONVERGENCE_H
#define REFRAFT_SIM_CONVERGENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

/* A record a node lacked at the heal: (node, committed index). */
typedef struct missing_record {
    int node;
    refraft_index index;
} missing_record;

typedef struct convergence {
    bool waiting;       /* a heal's records are not all everywhere yet */
    uint64_t heal_time; /* virtual ms of the heal */
    uint64_t deadline;  /* heal_time + the bound */
    uint64_t bound;     /* ms */
    refraft_index upto; /* the committed prefix at the heal */
    uint32_t members;   /* the nodes that must converge, a bit each */
    bool applies;       /* and apply everything committed at the heal */
    /* Under the reference policy a committed record may have been on
     * removed servers alone: such records are waived, and the applies
     * stop short of the first. */
    bool reference;
    refraft_index apply_upto;
    size_t waived;
    missing_record *missing;
    size_t n_missing;
    size_t missing_cap;
    size_t initially_missing;
    uint64_t puts_seen; /* the checker's store_puts when last looked */
    /* Heals with records missing at first, and how long they took. */
    uint64_t converged;
    uint64_t total_ms;
    uint64_t max_ms;
    uint64_t max_missing; /* the most records missing at one heal */
    uint64_t max_bound;   /* the bound of the heal that took longest */
} convergence;

void convergence_init(convergence *cv);
void convergence_free(convergence *cv);

/*
 * A heal at now: every node in members (a bit each: the members of the
 * configuration, not removed servers or spares never added) must come to
 * hold the record of every entry committed so far and kept (an entry a
 * committed VOID abandons has no record to hold), and, when applies, apply
 * every entry committed so far.  Under the reference policy (reference),
 * where a committed record is the application's to keep, a record no
 * member holds (it was on removed servers) is waived.  The bound: base
 * ms, plus per_round ms for each round
 * of in_flight fetches that the node missing most records needs (a node
 * that lost its record store fetches the whole log again, and no faster
 * than its sweeper's concurrency allows).  Lists what each node lacks.
 */
void convergence_start(convergence *cv, const checker *c, uint64_t now,
                       uint64_t base, uint32_t in_flight, uint64_t per_round,
                       uint32_t members, bool applies, bool reference);

/* After every step, with the nodes that must converge now (a removal may
 * commit after the heal): strike what the stores now hold; the test
 * passes once nothing is missing and every member applied the entries
 * committed at the heal, and fails (Record Convergence, in c) past the
 * deadline. */
void convergence_step(convergence *cv, checker *c, uint64_t now,
                      uint32_t members);

#endif /* REFRAFT_SIM_CONVERGENCE_H */
