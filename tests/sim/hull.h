/* hull.h - the hull of a simulated node: virtual time, network, apply. */
#ifndef REFRAFT_SIM_HULL_H
#define REFRAFT_SIM_HULL_H

#include "cluster.h"

/* Fill hull with callbacks whose ctx is sn. */
void hull_fill(refraft_hull *hull, sim_node *sn);

/* The simulated state machine of node ctx (a sim_node): records that the
 * entry at index was applied.  The node's disk calls it (a disk_apply_fn). */
void hull_state_machine_apply(void *ctx, refraft_index index,
                              const refraft_entry *entry);

/* Context of an RPC-style reply: the responder answers the requester. */
typedef struct hull_reply_ctx {
    cluster *cl;
    int from;
    int to;
} hull_reply_ctx;

/* The reply callback handed to refraft_on_message(): the answer goes on
 * the wire like any message (it must not reach the requester while the
 * responder is still inside its call). */
void hull_reply(void *reply_ctx, const refraft_msg *result);

#endif /* REFRAFT_SIM_HULL_H */
