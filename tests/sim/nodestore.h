/* nodestore.h - a simulated node's record store as its host and its
 * sweeper use it: presence, checked puts, orphans, the lost mark. */
#ifndef REFRAFT_SIM_NODESTORE_H
#define REFRAFT_SIM_NODESTORE_H

#include "cluster.h"

/* Store a record that was verified (or, with --inject unverified-push,
 * was not): the checker sees every put first (Record Integrity). */
void nodestore_put(sim_node *sn, const refraft_ref *ref, const void *bytes,
                   size_t len);

/* The hull's have_records: which of the refs' records the store holds.
 * With --inject lie-have it says "present" for half of those it lacks. */
int nodestore_hull_have(void *ctx, const refraft_ref *refs, size_t n,
                        bool *present);

/* The sweeper's refraft_record_store over sn's store. */
void nodestore_api(sim_node *sn, refraft_record_store *out);

#endif /* REFRAFT_SIM_NODESTORE_H */
