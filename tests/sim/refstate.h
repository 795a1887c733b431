/* refstate.h - the simulated application's reference state: the refs of
 * the REF entries it applied as REF, by index, and the snapshot chunks it
 * keeps aside until it installs them (refraft.h, "Reference snapshots"). */
#ifndef REFRAFT_SIM_REFSTATE_H
#define REFRAFT_SIM_REFSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "refraft/refraft.h"

/* One reference of the state, its id copied (the sim's ids fit). */
typedef struct refstate_item {
    refraft_index index;
    uint16_t id_len;
    uint8_t id[RECORD_ID_MAX];
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
} refstate_item;

/*
 * items: the state, in index order; it only grows at its end (applies
 * come in index order), so the state at an earlier applied index is a
 * prefix of it, which is what snapshot_read reads.  staged: the chunks of
 * the snapshot being received (staged_last its last index, staged_after
 * where the next chunk must start), kept aside from items until the
 * install replaces items with them.
 */
typedef struct refstate {
    refstate_item *items;
    size_t n, cap;
    refstate_item *staged;
    size_t n_staged, staged_cap;
    bool staging;
    refraft_index staged_last;
    refraft_index staged_after;
} refstate;

void refstate_init(refstate *rs);
void refstate_free(refstate *rs);

/* The entry at index was applied as REF: its ref joins the state (in
 * place of any it held from index on). */
void refstate_apply(refstate *rs, refraft_index index, const refraft_ref *ref);

/* A crash took the state back to what was durable at upto: drop the refs
 * above it, and the chunks staged (kept in memory only). */
void refstate_rollback(refstate *rs, refraft_index upto);

/* Forget everything (the disk is lost). */
void refstate_clear(refstate *rs);

/* hull.snapshot_read: up to max refs of the state with index in
 * (after, last], in index order; the ids point into the state, valid until
 * it next changes. */
void refstate_read(const refstate *rs, refraft_index last, refraft_index after,
                   refraft_snapshot_ref *out, size_t max, size_t *n);

/* hull.snapshot_write: keep a chunk aside.  after 0 starts a new snapshot;
 * any other chunk must continue the one staged for the same last index
 * where it stands, with refs in (after, last] in increasing order.
 * Returns false (nothing kept) when it does not; why says how. */
bool refstate_stage(refstate *rs, const refraft_snapshot_meta *meta,
                    refraft_index after, const refraft_snapshot_ref *refs,
                    size_t n, char *why, size_t why_len);

/* hull.snapshot_install: the chunks staged for meta's snapshot become the
 * state.  drop_first (--inject drop-snapshot-ref) loses the first of them
 * on the way.  Returns false, changing nothing, when no snapshot with
 * that last index is staged. */
bool refstate_install(refstate *rs, const refraft_snapshot_meta *meta,
                      bool drop_first);

#endif /* REFRAFT_SIM_REFSTATE_H */
