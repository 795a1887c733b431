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

/*
 * Fill *api with the log API over log (version REFRAFT_LOG_API_VERSION,
 * without stage and sync, with compact, install, base and size).  The log
 * must outlive every node created with the API.
 *
 * Compaction frees the memory of the entries it drops (in chunks of 2048
 * entries); its first index is the base's last index + 1, 1 until the
 * log is first compacted or installed.  The base keeps a copy of the
 * meta's members.  size counts 56 bytes an entry, plus a REF's id and a
 * CONFIG entry's members and their strings; it is kept as entries come
 * and go, so it costs nothing to ask.
 *
 * It stores every type an entry of that version may have: NOOP, REF, VOID
 * and CONFIG.  append copies a CONFIG entry's members, ids and addresses
 * (a NULL address is stored as ""), and refuses (REFRAFT_EINVAL, nothing
 * appended) one whose members refraft_check_members() refuses.  The
 * entries get returns point into memory the log owns, valid until the
 * next call into the log API: a REF's id, a CONFIG's members array and
 * their strings.  Entries of the other types read back with members NULL
 * and n_members 0.  A truncation frees the memory of the entries it
 * removes.
 */
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
