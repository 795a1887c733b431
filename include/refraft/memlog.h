/* memlog.h - an in-memory implementation of the refraft log API. */
#ifndef REFRAFT_MEMLOG_H
#define REFRAFT_MEMLOG_H

#include "refraft/refraft.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A log and hard state kept in process memory: for tests, the simulator,
 * benchmarks and applications that do not need durability.  "Durable" here
 * means "survives refraft_node_destroy()": a simulated crash destroys the
 * node and keeps the memlog, like a disk.  Not thread-safe.  Memory comes
 * from the allocator set with refraft_set_allocator().
 */
typedef struct refraft_memlog refraft_memlog;

/* Create an empty log (first index 1, last index 0, term 0, no vote).
 * Returns 0, or REFRAFT_EINVAL (out is NULL) or REFRAFT_ENOMEM with *out
 * untouched. */
REFRAFT_API REFRAFT_WARN_UNUSED int refraft_memlog_create(refraft_memlog **out);

/* Free the log and every entry it holds.  NULL is allowed. */
REFRAFT_API void refraft_memlog_destroy(refraft_memlog *log);

/* Fill *api with the log API over log.  The log must outlive every node
 * created with the API. */
REFRAFT_API void refraft_memlog_api(refraft_memlog *log, refraft_log_api *api);

/*
 * Fault injection for tests: from now on every call that would change the
 * log or the hard state fails with code and changes nothing, until called
 * again with code 0.
 */
REFRAFT_API void refraft_memlog_fail_writes(refraft_memlog *log, int code);

#ifdef __cplusplus
}
#endif

#endif /* REFRAFT_MEMLOG_H */
