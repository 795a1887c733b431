/* push.h - records on the write path: the leader's host stores a new
 * record, pushes it to the followers, proposes its reference; a
 * follower's host checks what arrives and stores it. */
#ifndef REFRAFT_SIM_PUSH_H
#define REFRAFT_SIM_PUSH_H

#include "cluster.h"

/* A REC_PUSH from node from arrived at node to. */
void push_deliver(cluster *cl, int from, int to, const rec_wire *w);

/* Flip one byte of the len bytes at b, drawn from the record faults'
 * stream (the fault schedule's corruption). */
void push_corrupt(cluster *cl, uint8_t *b, size_t len);

#endif /* REFRAFT_SIM_PUSH_H */
