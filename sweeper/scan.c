/* scan.c - finding the entries past the data index whose record is
 * missing here, a batch at a time. */
#include <string.h>

#include "sweeper_internal.h"

/*
 * Forget wants the log no longer needs: settled (at or below the data
 * index: the record came, or a VOID abandons the entry) or gone from the
 * log, both cheap to find since wants are sorted by index; on a full
 * pass (every want) also those a VOID not yet reached abandons.
 */
static void prune(refraft_sweeper *sw, refraft_index data, refraft_index first,
                  refraft_index last, bool full)
{
    while (sw->n_want > 0) {
        refraft_index index = sw->pool[sw->order[0]].index;
        if (index > data && index >= first)
            break;
        sw_want_drop(sw, index);
    }
    while (sw->n_want > 0) {
        refraft_index index = sw->pool[sw->order[sw->n_want - 1]].index;
        if (index <= last)
            break;
        sw_want_drop(sw, index);
    }
    size_t k = 0;
    while (full && k < sw->n_want) {
        refraft_index index = sw->pool[sw->order[k]].index;
        if (sw_abandoned(sw, index))
            sw_want_drop(sw, index);
        else
            k++;
    }
}

/* Read up to max entries from sw->cursor and keep, in sw->refs, copies
 * of the refs of REF entries no VOID abandons; *got gets the entries
 * read, *m the refs kept. */
static int read_batch(refraft_sweeper *sw, size_t max, size_t *got, size_t *m)
{
    *m = 0;
    int rv =
        sw->cfg.log.get(sw->cfg.log.ctx, sw->cursor, max, sw->entries, got);
    if (rv != 0)
        return rv;
    for (size_t j = 0; j < *got; j++) {
        const refraft_entry *e = &sw->entries[j];
        refraft_index index = sw->cursor + j;
        if (e->type != REFRAFT_ENTRY_REF || e->ref.id_len == 0 ||
            e->ref.id_len > REFRAFT_RECORD_ID_MAX)
            continue;
        uint8_t *id = &sw->ids[*m * REFRAFT_RECORD_ID_MAX];
        memcpy(id, e->ref.id, e->ref.id_len);
        sw->refs[*m] = e->ref;
        sw->refs[*m].id = id;
        sw->ref_index[*m] = index;
        (*m)++;
    }
    /* Asked only after the copies: the node may read its log. */
    size_t kept = 0;
    for (size_t t = 0; t < *m; t++) {
        if (sw_abandoned(sw, sw->ref_index[t]))
            continue;
        if (kept != t) {
            memcpy(&sw->ids[kept * REFRAFT_RECORD_ID_MAX], sw->refs[t].id,
                   sw->refs[t].id_len);
            sw->refs[kept] = sw->refs[t];
            sw->refs[kept].id = &sw->ids[kept * REFRAFT_RECORD_ID_MAX];
            sw->ref_index[kept] = sw->ref_index[t];
        }
        kept++;
    }
    *m = kept;
    return 0;
}

/*
 * Act on one batch's presence answers.  A want whose entry now names
 * another ref (the log was truncated and rewritten under it) is replaced.
 * Returns 1 when the want table filled up (sw->cursor then names the
 * first entry not taken in), 0, or an error.
 */
static int take_batch(refraft_sweeper *sw, size_t m)
{
    for (size_t t = 0; t < m; t++) {
        refraft_index index = sw->ref_index[t];
        struct sw_want *w = sw_want_find(sw, index);
        if (w != NULL) {
            refraft_ref have = sw_want_ref(w);
            if (sw->present[t] || !sw_ref_equal(&have, &sw->refs[t])) {
                sw_want_drop(sw, index);
                w = NULL;
            }
        }
        if (sw->present[t] || w != NULL)
            continue;
        if (sw->n_want >= sw->cfg.max_missing) {
            sw->cursor = index;
            return 1;
        }
        int rv = sw_want_add(sw, index, &sw->refs[t]);
        if (rv != 0) {
            sw->cursor = index;
            return rv;
        }
    }
    return 0;
}

/*
 * Scan from the cursor towards the end of the log, until the end or until
 * the want table is full (the next scan resumes there).  A full pass
 * (restart) begins at data index + 1 and also re-checks the wants it
 * passes, so a record that arrived another way stops being fetched.
 */
int sw_scan(refraft_sweeper *sw, bool restart)
{
    refraft_index data = sw_floor(sw);
    refraft_index first = sw->cfg.log.first_index(sw->cfg.log.ctx);
    refraft_index last = sw->cfg.log.last_index(sw->cfg.log.ctx);
    prune(sw, data, first, last, restart);
    if (restart) {
        sw->cursor = data + 1;
        sw->pass_full = true;
    }
    if (sw->cursor <= data)
        sw->cursor = data + 1;
    if (sw->cursor < first)
        sw->cursor = first;
    sw->scan_more = false;
    while (sw->cursor <= last) {
        if (sw->n_want >= sw->cfg.max_missing) {
            sw->scan_more = true;
            return 0;
        }
        refraft_index left = last - sw->cursor + 1;
        size_t max =
            left < sw->cfg.scan_batch ? (size_t)left : sw->cfg.scan_batch;
        size_t got, m;
        int rv = read_batch(sw, max, &got, &m);
        if (rv != 0)
            return rv;
        if (got == 0)
            break;
        if (m > 0) {
            rv =
                sw->cfg.store.have(sw->cfg.store.ctx, sw->refs, m, sw->present);
            if (rv != 0)
                return rv;
            rv = take_batch(sw, m);
            if (rv == 1) {
                sw->scan_more = true;
                return 0;
            }
            if (rv != 0)
                return rv;
        }
        sw->cursor += got;
    }
    if (sw->pass_full) {
        sw->pass_full = false;
        sw->stats.scans++;
    }
    return 0;
}
