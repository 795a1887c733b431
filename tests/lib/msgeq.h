/* msgeq.h - do two messages say the same thing on the wire? */
#ifndef REFRAFT_TESTS_MSGEQ_H
#define REFRAFT_TESTS_MSGEQ_H

#include <stdbool.h>

#include "refraft/refraft.h"

/*
 * Equality on what the wire codec carries, for its round trips (the unit
 * tests and the fuzzer, which is why this file needs no cmocka).  Node
 * ids compare as strings, record ids as bytes.
 */

/* Same record id, size and digest. */
bool msgeq_ref(const refraft_ref *a, const refraft_ref *b);

/* Same term and type, and the field the type uses: a REF's ref, a
 * VOID's voided index.  The wire does not carry a NOOP's or VOID's ref
 * nor a NOOP's or REF's voided index, so those do not count. */
bool msgeq_entry(const refraft_entry *a, const refraft_entry *b);

/* Same type and every field of it, entries as msgeq_entry() compares
 * them.  False for a type that is not a refraft_msg_type. */
bool msgeq_msg(const refraft_msg *a, const refraft_msg *b);

#endif /* REFRAFT_TESTS_MSGEQ_H */
