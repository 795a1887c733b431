/* liveness.h - after a heal, a leader and a new commit, in bounded time. */
#ifndef REFRAFT_SIM_LIVENESS_H
#define REFRAFT_SIM_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

typedef struct liveness {
    bool waiting;       /* a heal happened and its test is open */
    uint64_t heal_time; /* virtual ms of the heal */
    uint64_t deadline;  /* heal_time + the bound */
    uint64_t first_seq; /* proposals numbered from here on count */
    int leader;         /* first leader seen after the heal, -1 none */
    uint64_t leader_time;
    int passed; /* heals whose test passed */
} liveness;

void liveness_init(liveness *l);

/* Open the test: everything healed at now; proposals numbered first_seq or
 * higher were submitted after the heal. */
void liveness_start(liveness *l, uint64_t now, uint64_t bound,
                    uint64_t first_seq);

/* A node applied the proposal numbered seq while leading: that closes the
 * test if the proposal came after the heal. */
void liveness_on_apply(liveness *l, bool is_leader, uint64_t seq);

/* After every step: note the first leader (node, -1 for none) and record
 * a violation in c once now is past the deadline. */
void liveness_step(liveness *l, int leader, uint64_t now, checker *c);

#endif /* REFRAFT_SIM_LIVENESS_H */
