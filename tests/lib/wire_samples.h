/* wire_samples.h - messages and references for the wire codec's tests
 * and the fuzzer's seed corpus. */
#ifndef REFRAFT_TESTS_WIRE_SAMPLES_H
#define REFRAFT_TESTS_WIRE_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "refraft/refraft.h"

/* A reference to the len bytes at id (which must outlive it) of size
 * bytes.  The digest is made up from size: the codec carries digests
 * without checking them. */
refraft_ref wire_sample_ref(const void *id, size_t len, uint64_t size);

/* A heartbeat: AppendEntries from n1 in term 3, after index 4 of term
 * 2, with commit index 4 and no entries. */
refraft_msg wire_sample_heartbeat(void);

/* That heartbeat carrying the n entries at e (which must outlive it). */
refraft_msg wire_sample_append_entries(const refraft_entry *e, size_t n);

#endif /* REFRAFT_TESTS_WIRE_SAMPLES_H */
