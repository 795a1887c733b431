/* faults.h - fault actions on a simulated cluster, traced if verbose. */
#ifndef REFRAFT_SIM_FAULTS_H
#define REFRAFT_SIM_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "prng.h"

/* The longest one-way message delay the schedule ever sets, in ms. */
#define FAULTS_MAX_DELAY_MS 30

/* Crash a running node / restart a crashed one; no-ops otherwise (and
 * for a removed node whose host was shut down: cluster.h, out). */
void fault_crash(cluster *cl, int i);
void fault_restart(cluster *cl, int i);

/* Crash a running node and, when cluster_may_wipe() allows it, wipe its
 * record store (a lost disk; the log stays).  True when it wiped. */
bool fault_crash_wipe(cluster *cl, int i);

/* Lose node i's record traffic (pushes from it, fetches to it) while its
 * Raft messages still flow: its records stay its own. */
void fault_cut_records(cluster *cl, int i);

/* Draw new rates of record faults: pushes that never arrive, arrive late,
 * or arrive corrupted (fetch answers too). */
void fault_record_rates(cluster *cl, prng *p);

/* Let syncs fail on the memlog disks that stage, at the run's rate
 * (cluster_params.sync_fail_pm), or stop them failing. */
void fault_sync_failures(cluster *cl, bool on);

/* Cut the nodes in the bit set group off from the others, in both
 * directions, on top of whatever is already cut. */
void fault_partition(cluster *cl, uint32_t group);

/* Bring every link up, then cut group off: the previous partition heals
 * as the new one starts. */
void fault_isolate(cluster *cl, uint32_t group);

/* Cut one link, one way. */
void fault_cut_oneway(cluster *cl, int from, int to);

/* Cut every link between the nodes of camp a and those of camp b, both
 * ways; nodes in neither camp still reach everyone. */
void fault_camps(cluster *cl, uint32_t a, uint32_t b);

void fault_heal_links(cluster *cl);

/* Draw new loss, duplication and delay rates for messages sent from now. */
void fault_net_rates(cluster *cl, prng *p);

/* Restart every node (but removed ones shut down), bring every link up
 * and stop message loss (delays and duplicates remain: they never stop
 * Raft from making progress); no push is lost any more, some still arrive
 * late or corrupted; no sync fails. */
void fault_heal_all(cluster *cl, prng *p);

#endif /* REFRAFT_SIM_FAULTS_H */
