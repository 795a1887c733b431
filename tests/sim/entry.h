/* entry.h - compact signatures of log entries, for comparing them. */
#ifndef REFRAFT_SIM_ENTRY_H
#define REFRAFT_SIM_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/refraft.h"

#define ENTRY_LABEL_LEN 24

/* FNV-1a over len bytes at data, continuing from h (start with
 * SIM_HASH_START), then sim_hash_mix, the final avalanche (splitmix's
 * mixer), so that inputs differing in one byte differ in every bit. */
#define SIM_HASH_START 0xcbf29ce484222325u
uint64_t sim_hash_bytes(uint64_t h, const void *data, size_t len);
uint64_t sim_hash_mix(uint64_t z);

/*
 * What the checker remembers of an entry: its term, a 64-bit hash of its
 * content (type; ref id bytes, size and digest of a REF or ABANDONED
 * entry; the voided index of a VOID; the members of a CONFIG: ids,
 * addresses and voter flags, in order) and a printable label.  An ABANDONED
 * entry differs from the REF entry it abandons: a node that applies the
 * one where another applied the other breaks State Machine Safety.  Two
 * entries are taken as equal when term and hash agree; a hash collision
 * between two different entries at the same index and term (the only
 * comparison the checker makes) has odds near 2^-64 per comparison.
 */
typedef struct entry_sig {
    refraft_term term;
    uint64_t hash;
    uint8_t type; /* refraft_entry_type */
    /* "noop", "void(12)", the ref id, "abandoned r7", or "cfg n1 n2 n4~"
     * (~: a learner), cut to fit */
    char label[ENTRY_LABEL_LEN];
} entry_sig;

void entry_sig_make(entry_sig *sig, const refraft_entry *e);

bool entry_sig_equal(const entry_sig *a, const entry_sig *b);

/* "term 4 r17" into buf (always NUL-terminated). */
void entry_sig_describe(const entry_sig *sig, char *buf, size_t len);

#endif /* REFRAFT_SIM_ENTRY_H */
