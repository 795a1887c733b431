/* liveness.h - after a heal, a leader and a new commit, in bounded time. */
#ifndef REFRAFT_SIM_LIVENESS_H
#define REFRAFT_SIM_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

typedef struct liveness {
    bool waiting;       /* a heal happened and its test is open */
    const char *name;   /* the invariant it checks, for the report */
    const char *what;   /* "the heal", "the leader's loss" */
    uint64_t heal_time; /* virtual ms of the heal */
    uint64_t deadline;  /* heal_time + the bound */
    uint64_t first_seq; /* proposals numbered from here on count */
    int leader;         /* first leader seen after the heal, -1 none */
    uint64_t leader_time;
    int passed; /* heals whose test passed */
} liveness;

void liveness_init(liveness *l);

/* Open the test named name (the invariant it reports): what ("the heal")
 * happened at now; proposals numbered first_seq or higher were submitted
 * after it. */
void liveness_start(liveness *l, const char *name, const char *what,
                    uint64_t now, uint64_t bound, uint64_t first_seq);

/* After every step: note the first leader (node, -1 for none); the test
 * passes once a proposal made after the heal is committed and kept (the
 * checker's committed prefix holds it, no VOID abandoning it), and fails
 * (a violation in c) once now is past the deadline.  Commit, not apply:
 * a leader that lost its records applies only once it fetched them all
 * back, which Record Convergence bounds. */
void liveness_step(liveness *l, int leader, uint64_t now, checker *c);

#endif /* REFRAFT_SIM_LIVENESS_H */
