/* sweep.h - one sweeper per simulated node: created with the node,
 * destroyed in its crash, ticked like the node's timers. */
#ifndef REFRAFT_SIM_SWEEP_H
#define REFRAFT_SIM_SWEEP_H

#include "cluster.h"

/* Backoff of the sweepers' rounds (ms). */
#define SWEEP_BACKOFF_MIN_MS 10
#define SWEEP_BACKOFF_MAX_MS 500

/* Create node i's sweeper (its node was just created).  Returns 0 or the
 * refraft error, recorded as a violation. */
int sweep_start(cluster *cl, int i);

/* Destroy node i's sweeper (before its node), keeping its counters. */
void sweep_stop(cluster *cl, int i);

/* When node i's sweeper next has work; UINT64_MAX when it has none. */
uint64_t sweep_deadline(const sim_node *sn);

void sweep_tick(cluster *cl, int i);

/* node i's sweeper counters: those of its past sweepers and its own. */
void sweep_stats(const sim_node *sn, refraft_sweeper_stats *out);

#endif /* REFRAFT_SIM_SWEEP_H */
