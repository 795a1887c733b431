/* orphans.c - records stored for entries that were later discarded: kept
 * for a grace period, then deleted unless some log entry names them. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "sweeper_internal.h"

static int
id_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (a_len != b_len)
        return a_len < b_len ? -1 : 1;
    return memcmp(a, b, a_len);
}

static int orphan_cmp(const void *a, const void *b)
{
    const struct sw_orphan *x = a, *y = b;
    return id_cmp(x->id, x->id_len, y->id, y->id_len);
}

static uint64_t ripe_at(const refraft_sweeper *sw, const struct sw_orphan *o)
{
    return o->hasten ? 0 : o->since + sw->cfg.orphan_grace_ms;
}

static void update_gc_at(refraft_sweeper *sw)
{
    sw->orphan_gc_at = UINT64_MAX;
    for (size_t k = 0; k < sw->n_orphans; k++) {
        uint64_t at = ripe_at(sw, &sw->orphans[k]);
        if (at < sw->orphan_gc_at)
            sw->orphan_gc_at = at;
    }
}

/* Whether o is the very record ref names (id, size and digest). */
static bool names(const refraft_ref *ref, const struct sw_orphan *o)
{
    return id_cmp(o->id, o->id_len, ref->id, ref->id_len) == 0 &&
           o->size == ref->size &&
           memcmp(o->digest, ref->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* A record discarded twice is one candidate, whose grace restarts. */
int sw_orphan_add(refraft_sweeper *sw, const refraft_ref *ref,
                  refraft_index index, uint64_t now)
{
    for (size_t k = 0; k < sw->n_orphans; k++) {
        struct sw_orphan *o = &sw->orphans[k];
        if (names(ref, o)) {
            o->since = now;
            if (index > o->index)
                o->index = index;
            o->hasten = false;
            update_gc_at(sw);
            return 0;
        }
    }
    if (sw->n_orphans >= SW_MAX_ORPHANS ||
        refraft_grow((void **)&sw->orphans, &sw->orphans_cap, sw->n_orphans + 1,
                     sizeof(*sw->orphans)) != 0)
        return REFRAFT_ENOMEM;
    struct sw_orphan *o = &sw->orphans[sw->n_orphans++];
    memset(o, 0, sizeof(*o));
    o->since = now;
    o->index = index;
    o->size = ref->size;
    memcpy(o->digest, ref->digest, REFRAFT_DIGEST_LEN);
    o->id_len = ref->id_len;
    memcpy(o->id, ref->id, ref->id_len);
    if (now + sw->cfg.orphan_grace_ms < sw->orphan_gc_at)
        sw->orphan_gc_at = now + sw->cfg.orphan_grace_ms;
    return 0;
}

bool sw_orphan_hasten(refraft_sweeper *sw, const refraft_ref *wanted)
{
    bool found = false;
    for (size_t k = 0; k < sw->n_orphans; k++) {
        struct sw_orphan *o = &sw->orphans[k];
        if (id_cmp(o->id, o->id_len, wanted->id, wanted->id_len) == 0 &&
            !names(wanted, o)) {
            o->hasten = true;
            found = true;
        }
    }
    if (found)
        update_gc_at(sw);
    return found;
}

/* The ripe candidate (among the first n, sorted) whose id is id, or -1.
 * Two candidates may share an id (two records under one id, each
 * discarded): the search finds one; mark_named checks its neighbours. */
static long
find_ripe(const refraft_sweeper *sw, size_t n, const uint8_t *id, size_t id_len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sw_orphan *o = &sw->orphans[mid];
        int c = id_cmp(o->id, o->id_len, id, id_len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Mark done[k] for each of the first n candidates (sorted) that ref
 * names: it is no orphan. */
static void
mark_ref(refraft_sweeper *sw, size_t n, uint8_t *done, const refraft_ref *ref)
{
    long k = find_ripe(sw, n, ref->id, ref->id_len);
    if (k < 0)
        return;
    /* Named only by a ref that names that very record: a ref naming
     * another record under the id wants this one gone. */
    size_t lo = (size_t)k, hi = (size_t)k + 1;
    while (lo > 0 && id_cmp(sw->orphans[lo - 1].id, sw->orphans[lo - 1].id_len,
                            ref->id, ref->id_len) == 0)
        lo--;
    while (hi < n && id_cmp(sw->orphans[hi].id, sw->orphans[hi].id_len, ref->id,
                            ref->id_len) == 0)
        hi++;
    for (size_t m = lo; m < hi; m++)
        if (names(ref, &sw->orphans[m]))
            done[m] = 1;
}

/* Read the reference state up to the log's base (the references of
 * entries compacted away, or of an installed snapshot) and mark the
 * candidates it names.  A reference of a bad shape is skipped: it names
 * nothing a candidate could be. */
static int mark_named_in_state(refraft_sweeper *sw, refraft_index base,
                               size_t n, uint8_t *done)
{
    refraft_index after = 0;
    for (;;) {
        size_t got = 0;
        int rv = sw->cfg.snapshot_read(sw->cfg.snapshot_ctx, base, after,
                                       sw->snap_refs, sw->cfg.scan_batch, &got);
        if (rv != 0)
            return rv;
        if (got > sw->cfg.scan_batch)
            return REFRAFT_ECORRUPT;
        for (size_t t = 0; t < got; t++) {
            const refraft_snapshot_ref *r = &sw->snap_refs[t];
            if (r->index <= after)
                return REFRAFT_ECORRUPT; /* would read forever */
            after = r->index;
            if (r->ref.id != NULL && r->ref.id_len > 0 &&
                r->ref.id_len <= REFRAFT_RECORD_ID_MAX)
                mark_ref(sw, n, done, &r->ref);
        }
        if (got < sw->cfg.scan_batch)
            return 0;
    }
}

/* Read the whole log, and below it the reference state, and mark
 * done[k] for each of the first n candidates (sorted) that some entry
 * or reference names: it is no orphan. */
static int mark_named(refraft_sweeper *sw, size_t n, uint8_t *done)
{
    const refraft_log_api *log = &sw->cfg.log;
    refraft_index index = log->first_index(log->ctx);
    refraft_index last = log->last_index(log->ctx);
    while (index <= last) {
        refraft_index left = last - index + 1;
        size_t max =
            left < sw->cfg.scan_batch ? (size_t)left : sw->cfg.scan_batch;
        size_t got = 0;
        int rv = log->get(log->ctx, index, max, sw->entries, &got);
        if (rv != 0)
            return rv;
        if (got == 0)
            break;
        for (size_t j = 0; j < got; j++) {
            const refraft_entry *e = &sw->entries[j];
            if (e->type == REFRAFT_ENTRY_REF)
                mark_ref(sw, n, done, &e->ref);
        }
        index += got;
    }
    refraft_index base = sw_log_base(sw);
    return base > 0 ? mark_named_in_state(sw, base, n, done) : 0;
}

/* Delete the first n candidates' records unless done[k] (named); a
 * candidate whose record is not stored is simply forgotten. */
static int delete_unnamed(refraft_sweeper *sw, size_t n, uint8_t *done)
{
    const refraft_record_store *store = &sw->cfg.store;
    for (size_t k = 0; k < n; k++) {
        if (done[k])
            continue;
        const struct sw_orphan *o = &sw->orphans[k];
        refraft_ref ref = {.id = o->id, .id_len = o->id_len, .size = o->size};
        memcpy(ref.digest, o->digest, REFRAFT_DIGEST_LEN);
        bool present = false;
        int rv = store->have(store->ctx, &ref, 1, &present);
        if (rv == 0 && present) {
            rv = store->remove(store->ctx, o->id, o->id_len);
            if (rv == 0)
                sw->stats.orphans_collected++;
        }
        if (rv != 0)
            return rv;
        done[k] = 1;
    }
    return 0;
}

/*
 * Once the oldest candidate's grace has passed, read the whole log (and
 * the reference state below it) once for every candidate whose grace has
 * passed: those nothing names are deleted.  On error the candidates not yet
 * handled stay and the next attempt waits interval_ms.
 */
int sw_orphans_collect(refraft_sweeper *sw, uint64_t now)
{
    if (sw->n_orphans == 0 || now < sw->orphan_gc_at)
        return 0;
    /* Below a compacted log only the reference state names records:
     * without a way to read it, no candidate can be shown unnamed, so
     * all are kept (sweeper.h, snapshot_read). */
    if (sw->cfg.snapshot_read == NULL && sw_log_base(sw) > 0) {
        sw->orphan_gc_at = now + sw->cfg.interval_ms;
        return 0;
    }
    /* Not before the commit index passes the discarded index: until then
     * the entry may still commit elsewhere (Raft's Figure 8), and under
     * the reference policy this copy may be its only one.  Once it has,
     * the log names the record if the committed entry does. */
    refraft_index commit = refraft_commit_index(sw->cfg.node);
    size_t ripe = 0;
    for (size_t k = 0; k < sw->n_orphans; k++) {
        if (ripe_at(sw, &sw->orphans[k]) <= now &&
            sw->orphans[k].index <= commit) {
            struct sw_orphan tmp = sw->orphans[ripe];
            sw->orphans[ripe] = sw->orphans[k];
            sw->orphans[k] = tmp;
            ripe++;
        }
    }
    if (ripe == 0) { /* waiting for the commit index */
        sw->orphan_gc_at = now + sw->cfg.interval_ms;
        return 0;
    }
    qsort(sw->orphans, ripe, sizeof(*sw->orphans), orphan_cmp);
    uint8_t *done = refraft_calloc(ripe, 1);
    int rv = done != NULL ? 0 : REFRAFT_ENOMEM;
    if (rv == 0)
        rv = mark_named(sw, ripe, done);
    if (rv == 0)
        rv = delete_unnamed(sw, ripe, done);
    if (done != NULL) {
        size_t kept = 0;
        for (size_t k = 0; k < sw->n_orphans; k++) {
            if (k < ripe && done[k])
                continue;
            sw->orphans[kept++] = sw->orphans[k];
        }
        sw->n_orphans = kept;
        refraft_free(done);
    }
    update_gc_at(sw);
    if (rv != 0 && sw->orphan_gc_at <= now)
        sw->orphan_gc_at = now + sw->cfg.interval_ms;
    return rv;
}
