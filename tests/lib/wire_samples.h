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

/* The first and last chunk (after 0, done) of a snapshot n1 sends in
 * term 3, up to index 40 of term 2, carrying the n refs at refs (indexes
 * 1 to 40, increasing); with members, its configuration is the CONFIG
 * entry at 7 with those n_members, else the initial one.  Both arrays
 * must outlive the message. */
refraft_msg
wire_sample_install_snapshot(const refraft_snapshot_ref *refs, size_t n,
                             const refraft_member *members, size_t n_members);

#endif /* REFRAFT_TESTS_WIRE_SAMPLES_H */
