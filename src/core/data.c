/* data.c - the data index (DESIGN.md "References, data index and durable
 * commit"): which entries are settled here, the VOIDs that abandon
 * entries, and the clip that keeps commit indexes out of a VOID's span. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/node.h"

/* Entries read and checked per step of a scan. */
#define DATA_CHUNK 256

int data_init(refraft_node *node, refraft_index hint, char *errbuf,
              size_t errbuf_len)
{
    node->data_entries = refraft_calloc(DATA_CHUNK, sizeof(refraft_entry));
    node->data_refs = refraft_calloc(DATA_CHUNK, sizeof(refraft_ref));
    node->data_present = refraft_calloc(DATA_CHUNK, sizeof(bool));
    if (node->data_entries == NULL || node->data_refs == NULL ||
        node->data_present == NULL) {
        snprintf(errbuf, errbuf_len, "no memory for the data index");
        return REFRAFT_ENOMEM;
    }
    if (hint > node->last_index) {
        snprintf(errbuf, errbuf_len,
                 "data index %llu is beyond the last log index %llu",
                 (unsigned long long)hint,
                 (unsigned long long)node->last_index);
        return REFRAFT_EINVAL;
    }
    /* Every VOID in the log: a leader clips the commit index it advertises
     * to a lagging follower with VOIDs far below its own commit index. */
    refraft_index index = node->log.first_index(node->log.ctx);
    while (index <= node->last_index) {
        refraft_index left = node->last_index - index + 1;
        size_t want = left < DATA_CHUNK ? (size_t)left : DATA_CHUNK;
        size_t n = 0;
        int rv =
            node->log.get(node->log.ctx, index, want, node->data_entries, &n);
        if (rv == 0 && n == 0)
            rv = REFRAFT_ENOTFOUND;
        if (rv == 0)
            rv = data_reserve_voids(node, node->data_entries, n);
        for (size_t i = 0; rv == 0 && i < n; i++) {
            const refraft_entry *e = &node->data_entries[i];
            if (e->type == REFRAFT_ENTRY_VOID &&
                (e->voided == 0 || e->voided >= index + i))
                rv = REFRAFT_ECORRUPT;
        }
        if (rv != 0) {
            snprintf(errbuf, errbuf_len,
                     "reading the log at %llu for VOIDs failed: %s",
                     (unsigned long long)index, refraft_strerror(rv));
            return rv;
        }
        data_note_voids(node, index, node->data_entries, n);
        /* The same pass finds the configuration the log holds. */
        membership_load(node, index, node->data_entries, n);
        index += n;
    }
    /* A saved data index can vouch for entries a truncation replaced
     * before the node stopped; applied entries cannot be replaced.  The
     * entries up to the log's base were applied (snapshot_load). */
    node->data_index = hint < node->applied_index ? hint : node->applied_index;
    if (node->data_index < node->base_index)
        node->data_index = node->base_index;
    /* A saved data index at or past the base vouches for the records
     * below it; otherwise (an install whose records were still coming, a
     * record store lost since) they are looked for again. */
    node->snap_pending = node->base_index > 0 && hint < node->base_index &&
                         node->can_snapshot && node->hull.have_records != NULL;
    node->snap_checked = 0;
    (void)data_advance(node);
    return 0;
}

void data_free(refraft_node *node)
{
    refraft_free(node->data_entries);
    refraft_free(node->data_refs);
    refraft_free(node->data_present);
    refraft_free(node->voids);
}

int data_reserve_voids(refraft_node *node, const refraft_entry *entries,
                       size_t n)
{
    size_t need = node->n_voids;
    for (size_t i = 0; i < n; i++)
        need += entries[i].type == REFRAFT_ENTRY_VOID;
    void *buf = node->voids;
    if (refraft_grow(&buf, &node->voids_cap, need, sizeof *node->voids) != 0)
        return node_errorf(node, REFRAFT_ENOMEM, "no memory for %zu VOIDs",
                           need);
    node->voids = buf;
    return 0;
}

void data_note_voids(refraft_node *node, refraft_index first,
                     const refraft_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (entries[i].type == REFRAFT_ENTRY_VOID) {
            struct void_span *s = &node->voids[node->n_voids++];
            s->voided = entries[i].voided;
            s->at = first + i;
        }
}

void data_on_truncate(refraft_node *node, refraft_index from)
{
    if (node->data_index >= from)
        node->data_index = from - 1;
    /* Spans are kept in log order, so the removed ones are at the end.  An
     * entry a removed VOID settled is unsettled again. */
    while (node->n_voids > 0 && node->voids[node->n_voids - 1].at >= from) {
        const struct void_span *s = &node->voids[--node->n_voids];
        if (node->data_index >= s->voided)
            node->data_index = s->voided - 1;
    }
}

/* A compaction never ends inside a VOID's span (snapshot.c), so the VOIDs
 * at or below upto abandon entries below it too: both are gone. */
void data_on_compact(refraft_node *node, refraft_index upto)
{
    size_t gone = 0;
    while (gone < node->n_voids && node->voids[gone].at <= upto)
        gone++;
    if (gone > 0 && gone < node->n_voids)
        memmove(node->voids, node->voids + gone,
                (node->n_voids - gone) * sizeof *node->voids);
    node->n_voids -= gone;
    /* The data index counts entries of the log, and these are gone.  A
     * node applies entries whose records it lost (its state survived, its
     * record store did not), and may compact them: their records are the
     * sweeper's to find through the reference state (lost mode), and
     * every entry up to upto is committed, so durable commit no longer
     * asks about them. */
    if (node->data_index < upto)
        node->data_index = upto;
}

/* The snapshot settles every entry up to last as far as the log goes
 * (it holds no entry, so no VOID); the records its references name may
 * still be missing here (snap_pending). */
void data_on_install(refraft_node *node, refraft_index last)
{
    node->n_voids = 0;
    node->data_index = last;
    node->data_retry = false;
    node->snap_pending = node->hull.have_records != NULL;
    node->snap_checked = 0;
}

/*
 * Look for the records of the reference state below the base, from where
 * the last look stopped: the first missing one stops it (the sweeper
 * fetches it; refraft_records_stored() looks again).  True when
 * snap_checked moved.  A read or a presence check that fails is retried
 * on the tick.
 */
static bool check_below_base(refraft_node *node)
{
    if (!node->snap_pending)
        return false;
    refraft_index before = node->snap_checked;
    size_t chunk =
        node->snapshot_chunk < DATA_CHUNK ? node->snapshot_chunk : DATA_CHUNK;
    for (;;) {
        size_t n = 0;
        if (node->hull.snapshot_read(node->hull.ctx, node->base_index,
                                     node->snap_checked, node->snap_refs, chunk,
                                     &n) != 0 ||
            n > chunk) {
            node->data_retry = true;
            break;
        }
        for (size_t i = 0; i < n; i++)
            node->data_refs[i] = node->snap_refs[i].ref;
        if (n > 0 && node->hull.have_records(node->hull.ctx, node->data_refs, n,
                                             node->data_present) != 0) {
            node->data_retry = true;
            break;
        }
        size_t k = 0;
        while (k < n && node->data_present[k])
            node->snap_checked = node->snap_refs[k++].index;
        if (k < n)
            break;
        if (n < chunk) {
            node->snap_pending = false;
            return true;
        }
    }
    return node->snap_checked != before;
}

refraft_index data_void_of(const refraft_node *node, refraft_index index)
{
    for (size_t i = 0; i < node->n_voids; i++)
        if (node->voids[i].voided == index)
            return node->voids[i].at;
    return 0;
}

/*
 * The largest M <= n such that no VOID at an index above M abandons an
 * entry at or below M.  An entry is settled by a VOID only when the VOID is
 * counted too, so a commit index inside a VOID's span would let a node
 * apply the abandoned entry before it knows its fate: the leader never
 * commits there, never advertises a commit index there, and a follower
 * never reports a data index there.
 */
refraft_index data_clip(const refraft_node *node, refraft_index n)
{
    bool moved = true;
    while (moved) {
        moved = false;
        for (size_t i = 0; i < node->n_voids; i++) {
            const struct void_span *s = &node->voids[i];
            if (s->voided <= n && n < s->at) {
                n = s->voided - 1;
                moved = true;
            }
        }
    }
    return n;
}

/* Scan state: entries up to data are settled counting up to data; pending
 * is the highest VOID an unsettled entry seen so far waits for. */
struct scan {
    refraft_index data;
    refraft_index pending;
    bool stop;
};

/* Continue the scan over entries[0..n), the entries at first.  A store
 * that cannot answer counts as "none present"; the node asks again on its
 * next tick. */
static void settle_run(refraft_node *node, refraft_index first,
                       const refraft_entry *entries, size_t n, struct scan *s)
{
    size_t n_refs = 0;
    for (size_t i = 0; i < n; i++)
        if (entries[i].type == REFRAFT_ENTRY_REF)
            node->data_refs[n_refs++] = entries[i].ref;
    if (n_refs > 0 &&
        node->hull.have_records(node->hull.ctx, node->data_refs, n_refs,
                                node->data_present) != 0) {
        memset(node->data_present, 0, n_refs * sizeof(bool));
        node->data_retry = true;
    }
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        refraft_index index = first + i;
        if (entries[i].type == REFRAFT_ENTRY_REF && !node->data_present[r++]) {
            refraft_index v = data_void_of(node, index);
            if (v == 0) {
                s->stop = true;
                return;
            }
            if (v > s->pending)
                s->pending = v;
        }
        if (index >= s->pending)
            s->data = index;
    }
}

/* Reads start with one entry and double up to DATA_CHUNK: a hole that
 * persists (the sweeper is still fetching it) costs one entry read and
 * one presence check per call, not a chunk. */
static void scan_from_log(refraft_node *node, struct scan *s)
{
    refraft_index index = node->data_index + 1;
    size_t chunk = 1;
    while (!s->stop && index <= node->last_index) {
        refraft_index left = node->last_index - index + 1;
        size_t want = left < chunk ? (size_t)left : chunk;
        if (chunk < DATA_CHUNK)
            chunk *= 2;
        size_t n = 0;
        if (node->log.get(node->log.ctx, index, want, node->data_entries, &n) !=
                0 ||
            n == 0) {
            node->data_retry = true; /* unreadable now: the tick retries */
            return;
        }
        settle_run(node, index, node->data_entries, n, s);
        index += n;
    }
}

static void scan_entries(refraft_node *node, refraft_index first,
                         const refraft_entry *entries, size_t n, struct scan *s)
{
    for (size_t done = 0; !s->stop && done < n; done += DATA_CHUNK) {
        size_t m = n - done < DATA_CHUNK ? n - done : DATA_CHUNK;
        settle_run(node, first + done, entries + done, m, s);
    }
}

/* Move the data index as far as the log's settled entries reach; entries
 * (n of them, at first) are the log's tail when the caller has them in
 * memory, else NULL.  True when it moved. */
static bool advance(refraft_node *node, refraft_index first,
                    const refraft_entry *entries, size_t n)
{
    node->data_retry = false;
    if (node->data_index >= node->last_index)
        return false;
    refraft_index before = node->data_index;
    if (node->hull.have_records == NULL) {
        node->data_index = node->last_index;
        return true;
    }
    struct scan s = {.data = before, .pending = 0, .stop = false};
    if (entries != NULL && first == before + 1)
        scan_entries(node, first, entries, n, &s);
    else
        scan_from_log(node, &s);
    node->data_index = s.data;
    return s.data != before;
}

bool data_advance(refraft_node *node)
{
    /* advance() clears data_retry: the look below the base comes after. */
    bool moved = advance(node, 0, NULL, 0);
    bool below = check_below_base(node);
    return below || moved;
}

void data_after_append(refraft_node *node, refraft_index first,
                       const refraft_entry *entries, size_t n)
{
    bool moved = advance(node, first, entries, n);
    /* Without have_records there are no records to look for. */
    if (node->hull.have_records != NULL &&
        (moved || node->data_index < node->last_index))
        node_emit(node, REFRAFT_EVENT_DATA);
}
