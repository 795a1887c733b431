/* fetch.h - the simulated fetcher: a sweeper's fetch travels to the peer
 * over the simulated network, the peer's sweeper answers, the answer
 * travels back. */
#ifndef REFRAFT_SIM_FETCH_H
#define REFRAFT_SIM_FETCH_H

#include "cluster.h"

/* A fetch that got no answer this long after it was sent has failed: the
 * longest round trip the schedule sets, with room to spare. */
#define FETCH_TIMEOUT_MS 100

/*
 * How a run's sweepers meet their fetcher and record store, drawn from
 * the run's seed alone (a stream of its own, so no other draw shifts):
 * in some runs answers are handed over several at once
 * (refraft_sweeper_on_fetches), as an HTTP fetcher's batched request
 * returns them; in some the fetcher holds each request until its flush(),
 * as one that gathers a pass's fetches into few requests does; in some
 * the record store offers put_batch (sweep.c).
 */
enum fetch_mode {
    FETCH_MODE_BATCH_ANSWERS = 1u << 0,
    FETCH_MODE_HOLD_REQUESTS = 1u << 1,
    FETCH_MODE_PUT_BATCH = 1u << 2
};

unsigned fetch_run_mode(const cluster *cl);

/* The fetcher of node sn's sweeper (its node just started). */
void fetch_fill(refraft_fetcher *f, sim_node *sn);

/* A call into node i's sweeper returned: a request its fetcher still
 * holds was never flushed, an API Contract violation (the requests are
 * sent all the same). */
void fetch_check_flushed(cluster *cl, int i);

/* The earliest time-out of sn's fetches, or time its held answers are
 * handed over; UINT64_MAX when none waits. */
uint64_t fetch_next_timeout(const sim_node *sn);

/* Fail the fetches of node i whose time is up (REFRAFT_FETCH_FAILED), and
 * hand over the answers held back whose time is up. */
void fetch_expire(cluster *cl, int i);

/* Node i crashed: its fetches, and what its fetcher held back, die with
 * its sweeper. */
void fetch_forget(sim_node *sn);

/* A REC_FETCH from node from arrived at node to: its sweeper answers. */
void fetch_serve(cluster *cl, int from, int to, const rec_wire *w);

/* A REC_ANSWER from node from arrived at node to, the asker. */
void fetch_answer(cluster *cl, int from, int to, const rec_wire *w);

#endif /* REFRAFT_SIM_FETCH_H */
