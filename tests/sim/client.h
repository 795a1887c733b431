/* client.h - the simulated client: writes records, whose references the
 * leader proposes, to whoever leads. */
#ifndef REFRAFT_SIM_CLIENT_H
#define REFRAFT_SIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "prng.h"

#define CLIENT_ID_MAX RECORD_ID_MAX

typedef struct client {
    prng rng;
    uint64_t next_seq;  /* the next proposal's number, from 1 */
    uint64_t next_time; /* virtual ms of the next proposal */
    uint64_t accepted;  /* refs a leader accepted */
} client;

void client_init(client *c, uint64_t seed);

/*
 * Write a batch of one to three records named "r<seq>": a few dozen
 * random bytes each (record_make), whose references the leader's host
 * proposes (cluster_propose).  The client asks a random running node and,
 * when told another node leads, follows the hint once, as a real client
 * would.  Returns the node that accepted the batch, or -1; any answer
 * other than "not the leader" / "no leader" is recorded as a violation.
 */
int client_propose(client *c, cluster *cl);

#endif /* REFRAFT_SIM_CLIENT_H */
