/* fetch.h - the simulated fetcher: a sweeper's fetch travels to the peer
 * over the simulated network, the peer's sweeper answers, the answer
 * travels back. */
#ifndef REFRAFT_SIM_FETCH_H
#define REFRAFT_SIM_FETCH_H

#include "cluster.h"

/* A fetch that got no answer this long after it was sent has failed: the
 * longest round trip the schedule sets, with room to spare. */
#define FETCH_TIMEOUT_MS 100

/* The fetcher of node sn's sweeper. */
void fetch_fill(refraft_fetcher *f, sim_node *sn);

/* The earliest time-out of sn's fetches; UINT64_MAX when none waits. */
uint64_t fetch_next_timeout(const sim_node *sn);

/* Fail the fetches of node i whose time is up (REFRAFT_FETCH_FAILED). */
void fetch_expire(cluster *cl, int i);

/* Node i crashed: its fetches die with its sweeper. */
void fetch_forget(sim_node *sn);

/* A REC_FETCH from node from arrived at node to: its sweeper answers. */
void fetch_serve(cluster *cl, int from, int to, const rec_wire *w);

/* A REC_ANSWER from node from arrived at node to, the asker. */
void fetch_answer(cluster *cl, int from, int to, const rec_wire *w);

#endif /* REFRAFT_SIM_FETCH_H */
