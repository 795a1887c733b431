/* client.h - the simulated client: proposes refs to whoever leads. */
#ifndef REFRAFT_SIM_CLIENT_H
#define REFRAFT_SIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "prng.h"

#define CLIENT_ID_MAX 32

typedef struct client {
    prng rng;
    uint64_t next_seq;  /* the next proposal's number, from 1 */
    uint64_t next_time; /* virtual ms of the next proposal */
    uint64_t accepted;  /* refs a leader accepted */
} client;

void client_init(client *c, uint64_t seed);

/* Fill ref with the reference named name (copied into idbuf, which holds
 * CLIENT_ID_MAX bytes): a notional size and a digest derived from the
 * name, so equal names mean equal refs. */
void client_make_ref(refraft_ref *ref, uint8_t *idbuf, const char *name);

/*
 * Propose a batch of one to three refs named "r<seq>".  The client asks a
 * random running node and, when told another node leads, follows the hint
 * once, as a real client would.  Returns the node that accepted the
 * batch, or -1; any answer other than "not the leader" / "no leader" is
 * recorded as a violation.
 */
int client_propose(client *c, cluster *cl);

/* The proposal number of an entry this client made; 0 for others. */
uint64_t client_seq_of(const refraft_entry *e);

#endif /* REFRAFT_SIM_CLIENT_H */
