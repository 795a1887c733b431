/* refstate.c - the simulated application's reference state and the
 * snapshot chunks it keeps aside until it installs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refstate.h"
#include "xalloc.h"

void refstate_init(refstate *rs)
{
    memset(rs, 0, sizeof(*rs));
}

void refstate_free(refstate *rs)
{
    free(rs->items);
    free(rs->staged);
    memset(rs, 0, sizeof(*rs));
}

static void fill(refstate_item *it, refraft_index index, const refraft_ref *ref)
{
    it->index = index;
    it->id_len =
        (uint16_t)(ref->id_len < RECORD_ID_MAX ? ref->id_len : RECORD_ID_MAX);
    if (ref->id != NULL)
        memcpy(it->id, ref->id, it->id_len);
    it->size = ref->size;
    memcpy(it->digest, ref->digest, REFRAFT_DIGEST_LEN);
}

void refstate_apply(refstate *rs, refraft_index index, const refraft_ref *ref)
{
    /* An index applied again (State Machine Safety says whether it may
     * be) replaces what the state held from there on. */
    while (rs->n > 0 && rs->items[rs->n - 1].index >= index)
        rs->n--;
    rs->items = xgrow(rs->items, &rs->cap, rs->n + 1, sizeof(*rs->items));
    fill(&rs->items[rs->n++], index, ref);
}

void refstate_rollback(refstate *rs, refraft_index upto)
{
    while (rs->n > 0 && rs->items[rs->n - 1].index > upto)
        rs->n--;
    rs->staging = false;
    rs->n_staged = 0;
}

void refstate_clear(refstate *rs)
{
    rs->n = 0;
    rs->staging = false;
    rs->n_staged = 0;
}

/* The first item whose index is above after. */
static size_t first_after(const refstate *rs, refraft_index after)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->items[mid].index <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void refstate_read(const refstate *rs, refraft_index last, refraft_index after,
                   refraft_snapshot_ref *out, size_t max, size_t *n)
{
    size_t k = first_after(rs, after);
    *n = 0;
    for (; k < rs->n && *n < max && rs->items[k].index <= last; k++) {
        const refstate_item *it = &rs->items[k];
        refraft_snapshot_ref *r = &out[(*n)++];
        r->index = it->index;
        r->ref =
            (refraft_ref){.id = it->id, .id_len = it->id_len, .size = it->size};
        memcpy(r->ref.digest, it->digest, REFRAFT_DIGEST_LEN);
    }
}

bool refstate_stage(refstate *rs, const refraft_snapshot_meta *meta,
                    refraft_index after, const refraft_snapshot_ref *refs,
                    size_t n, char *why, size_t why_len)
{
    /* A chunk of a later snapshot may continue the staged one: the
     * staged refs are a prefix of it (refraft.h, snapshot_write). */
    if (after != 0 && (!rs->staging || meta->last_index < rs->staged_after ||
                       rs->staged_after != after)) {
        snprintf(why, why_len,
                 "a chunk of the snapshot up to %llu starting after %llu, "
                 "where the one staged %s",
                 (unsigned long long)meta->last_index,
                 (unsigned long long)after,
                 rs->staging ? "ends elsewhere or reaches past it" : "is none");
        return false;
    }
    refraft_index prev = after;
    for (size_t k = 0; k < n; k++) {
        if (refs[k].index <= prev || refs[k].index > meta->last_index) {
            snprintf(why, why_len,
                     "a chunk of the snapshot up to %llu after %llu holds a "
                     "ref at index %llu, out of order or beyond it",
                     (unsigned long long)meta->last_index,
                     (unsigned long long)after,
                     (unsigned long long)refs[k].index);
            return false;
        }
        prev = refs[k].index;
    }
    if (after == 0)
        rs->n_staged = 0;
    rs->staging = true;
    rs->staged_last = meta->last_index;
    rs->staged = xgrow(rs->staged, &rs->staged_cap, rs->n_staged + n + 1,
                       sizeof(*rs->staged));
    for (size_t k = 0; k < n; k++)
        fill(&rs->staged[rs->n_staged++], refs[k].index, &refs[k].ref);
    rs->staged_after = prev;
    return true;
}

bool refstate_install(refstate *rs, const refraft_snapshot_meta *meta,
                      bool drop_first)
{
    if (!rs->staging || rs->staged_last != meta->last_index)
        return false;
    size_t skip = drop_first && rs->n_staged > 0 ? 1 : 0;
    rs->n = 0;
    rs->items =
        xgrow(rs->items, &rs->cap, rs->n_staged + 1, sizeof(*rs->items));
    if (rs->n_staged > skip)
        memcpy(rs->items, rs->staged + skip,
               (rs->n_staged - skip) * sizeof(*rs->items));
    rs->n = rs->n_staged - skip;
    rs->staging = false;
    rs->n_staged = 0;
    return true;
}
