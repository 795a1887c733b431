/* scan.c - finding the records missing here, a batch at a time: those
 * of the entries past the data index, and in lost mode those the
 * application's reference state names below the log's first index. */
#include <string.h>

#include "sweeper_internal.h"

/*
 * Forget wants the log no longer needs: settled (at or below the data
 * index: the record came, or a VOID abandons the entry) or gone from the
 * log, both cheap to find since wants are sorted by index; on a full
 * pass (every want) also those a VOID not yet reached abandons.  The
 * snapshot part's wants (at or below keep, all of them below the log)
 * are not the log's to judge: they stay.
 */
static void prune(refraft_sweeper *sw, refraft_index data, refraft_index first,
                  refraft_index last, bool full)
{
    refraft_index keep = sw_snapshot_keep(sw);
    size_t from = 0;
    while (from < sw->n_want && sw->pool[sw->order[from]].index <= keep)
        from++;
    while (sw->n_want > from) {
        refraft_index index = sw->pool[sw->order[from]].index;
        if (index > data && index >= first)
            break;
        sw_want_drop(sw, index);
    }
    while (sw->n_want > from) {
        refraft_index index = sw->pool[sw->order[sw->n_want - 1]].index;
        if (index <= last)
            break;
        sw_want_drop(sw, index);
    }
    size_t k = from;
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
            if (sw->present[t] || !refraft_ref_equal(&have, &sw->refs[t])) {
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
 * Where a scan between full passes starts: past the entries the node's
 * data index has passed with their records.  Those were present then,
 * and the sweeper never collects a record the log names, so only the
 * full pass looks at them again.  An entry a VOID abandons is still
 * looked at (should that VOID go, its record is wanted after all), and
 * so is every entry in lost mode, where the data index may name records
 * the store lost.  Amortised, each entry is stepped over once.
 */
static refraft_index
past_settled(const refraft_sweeper *sw, refraft_index cursor)
{
    if (sw->cfg.lost_upto != 0)
        return cursor;
    refraft_index data = refraft_data_index(sw->cfg.node);
    while (cursor <= data && refraft_void_of(sw->cfg.node, cursor) == 0)
        cursor++;
    return cursor;
}

/*
 * Scan from the cursor towards the end of the log, until the end or until
 * the want table is full (the next scan resumes there).  A full pass
 * (restart) begins at sw_floor() + 1 and also re-checks the wants it
 * passes, so a record that arrived another way stops being fetched; the
 * scans in between start past_settled().
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
    if (!sw->pass_full)
        sw->cursor = past_settled(sw, sw->cursor);
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

/* ---- the snapshot part ------------------------------------------------- */

refraft_index sw_log_base(const refraft_sweeper *sw)
{
    refraft_index first = sw->cfg.log.first_index(sw->cfg.log.ctx);
    return first > 0 ? first - 1 : 0;
}

/* min(lost_upto, log base): the lost references below the log. */
static refraft_index lost_below_log(const refraft_sweeper *sw)
{
    refraft_index base = sw_log_base(sw);
    return sw->cfg.lost_upto < base ? sw->cfg.lost_upto : base;
}

refraft_index sw_snapshot_keep(const refraft_sweeper *sw)
{
    return sw->cfg.snapshot_read != NULL ? lost_below_log(sw) : 0;
}

void sw_snapshot_restart(refraft_sweeper *sw)
{
    sw->snap_last = 0;
    sw->snap_cursor = 0;
    sw->snap_scanned = false;
    sw->snap_more = false;
    sw->snap_retry_at = 0;
}

/*
 * Follow the range the pass must cover.  It grows when the log compacts
 * in lost mode: the state at a later index holds the same references up
 * to the earlier one (they are committed entries, applied the same way
 * on every node), so the pass goes on from where it stands.  It shrinks
 * only when lost mode ends (or a compaction never happened): start over.
 */
static void follow_range(refraft_sweeper *sw, refraft_index keep)
{
    if (keep == sw->snap_last)
        return;
    if (keep < sw->snap_last) {
        sw_snapshot_restart(sw);
    } else if (sw->snap_scanned) {
        sw->snap_cursor = sw->snap_last;
        sw->snap_scanned = false;
    }
    sw->snap_last = keep;
}

bool sw_snapshot_due(const refraft_sweeper *sw, uint64_t now)
{
    refraft_index keep = sw_snapshot_keep(sw);
    if (keep == 0 || now < sw->snap_retry_at)
        return false;
    if (keep == sw->snap_last && sw->snap_scanned)
        return false;
    return !sw->snap_more || sw->n_want <= sw->cfg.max_missing / 2;
}

bool sw_snapshot_settled(const refraft_sweeper *sw)
{
    refraft_index lost = lost_below_log(sw);
    if (lost == 0)
        return true;
    if (sw->cfg.snapshot_read == NULL || sw->snap_last != lost ||
        !sw->snap_scanned)
        return false;
    return sw->n_want == 0 || sw->pool[sw->order[0]].index > lost;
}

/* Read the next batch of the state after the cursor into sw->refs and
 * sw->ref_index (the ids stay the application's, valid until the next
 * read); refuse what the hook's contract rules out, which would
 * otherwise make the pass go round in circles or overrun a want. */
static int read_state(refraft_sweeper *sw, size_t *n)
{
    *n = 0;
    size_t got = 0;
    int rv = sw->cfg.snapshot_read(sw->cfg.snapshot_ctx, sw->snap_last,
                                   sw->snap_cursor, sw->snap_refs,
                                   sw->cfg.scan_batch, &got);
    if (rv != 0)
        return rv;
    if (got > sw->cfg.scan_batch)
        return REFRAFT_ECORRUPT;
    refraft_index prev = sw->snap_cursor;
    for (size_t t = 0; t < got; t++) {
        const refraft_snapshot_ref *r = &sw->snap_refs[t];
        if (r->index <= prev || r->index > sw->snap_last || r->ref.id == NULL ||
            r->ref.id_len == 0 || r->ref.id_len > REFRAFT_RECORD_ID_MAX)
            return REFRAFT_ECORRUPT;
        sw->refs[t] = r->ref;
        sw->ref_index[t] = r->index;
        prev = r->index;
    }
    *n = got;
    return 0;
}

/* Want the missing records of a batch read (a want whose index now names
 * another record is replaced).  Returns 1 when the want table filled up
 * (the cursor then stands just before the first reference not taken
 * in), 0, or REFRAFT_ENOMEM. */
static int take_state(refraft_sweeper *sw, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        refraft_index index = sw->ref_index[t];
        struct sw_want *w = sw_want_find(sw, index);
        if (w != NULL) {
            refraft_ref have = sw_want_ref(w);
            if (!sw->present[t] && refraft_ref_equal(&have, &sw->refs[t]))
                continue;
            sw_want_drop(sw, index);
        }
        if (sw->present[t])
            continue;
        if (sw->n_want >= sw->cfg.max_missing) {
            sw->snap_cursor = index - 1;
            return 1;
        }
        int rv = sw_want_add(sw, index, &sw->refs[t]);
        if (rv != 0) {
            sw->snap_cursor = index - 1;
            return rv;
        }
    }
    return 0;
}

/*
 * The records of an installed snapshot's references (or of compacted
 * entries whose records a lost record store took along) are found only
 * through the application's state: the log no longer names them (Raft
 * section 7).  They are committed entries' records, so they are fetched
 * like any committed entry's, never voided, and reported unrecoverable
 * when no peer has them.  One step reads at most max_missing references,
 * so a large state is read across ticks, never held in memory.
 */
int sw_snapshot_scan(refraft_sweeper *sw, uint64_t now)
{
    follow_range(sw, sw_snapshot_keep(sw));
    if (!sw_snapshot_due(sw, now))
        return 0;
    sw->snap_more = false;
    size_t budget = sw->cfg.max_missing;
    while (!sw->snap_scanned && budget > 0) {
        if (sw->n_want >= sw->cfg.max_missing) {
            sw->snap_more = true;
            return 0;
        }
        size_t n;
        int rv = read_state(sw, &n);
        if (rv == 0 && n > 0)
            rv =
                sw->cfg.store.have(sw->cfg.store.ctx, sw->refs, n, sw->present);
        if (rv == 0 && n > 0) {
            rv = take_state(sw, n);
            if (rv == 1) {
                sw->snap_more = true;
                return 0;
            }
        }
        if (rv != 0) {
            sw->snap_retry_at = now + sw->cfg.interval_ms;
            return rv;
        }
        if (n > 0)
            sw->snap_cursor = sw->ref_index[n - 1];
        if (n < sw->cfg.scan_batch) {
            sw->snap_cursor = sw->snap_last;
            sw->snap_scanned = true;
        }
        budget -= n < budget ? n : budget;
    }
    return 0;
}
