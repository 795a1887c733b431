/* sweeper.c - the sweeper's life cycle and its pass: settings, tick,
 * deadline, discards, answers to peers, counters. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "sweeper_internal.h"

#define SW_DEFAULT_INTERVAL_MS 1000
#define SW_DEFAULT_MAX_IN_FLIGHT 16
#define SW_DEFAULT_MAX_MISSING 1024
#define SW_DEFAULT_SCAN_BATCH 256
#define SW_DEFAULT_BACKOFF_MIN_MS 50
#define SW_DEFAULT_BACKOFF_MAX_MS 10000
#define SW_DEFAULT_ORPHAN_GRACE_MS 60000

static int fail(char *errbuf, size_t errbuf_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errbuf_len, const char *fmt, ...)
{
    if (errbuf != NULL && errbuf_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errbuf_len, fmt, ap);
        va_end(ap);
    }
    return REFRAFT_EINVAL;
}

/* The name of the first required callback or field that is missing, or
 * NULL. */
static const char *missing_field(const refraft_sweeper_config *c)
{
    return c->node == NULL              ? "node"
           : c->log.first_index == NULL ? "log.first_index"
           : c->log.last_index == NULL  ? "log.last_index"
           : c->log.get == NULL         ? "log.get"
           : c->store.have == NULL      ? "store.have"
           : c->store.put == NULL       ? "store.put"
           : c->fetcher.start == NULL   ? "fetcher.start"
           : c->now_ms == NULL          ? "now_ms"
           : c->random == NULL          ? "random"
                                        : NULL;
}

static void fill_defaults(refraft_sweeper_config *c)
{
    if (c->interval_ms == 0)
        c->interval_ms = SW_DEFAULT_INTERVAL_MS;
    if (c->max_in_flight == 0)
        c->max_in_flight = SW_DEFAULT_MAX_IN_FLIGHT;
    if (c->max_missing == 0)
        c->max_missing = c->max_in_flight > SW_DEFAULT_MAX_MISSING
                             ? c->max_in_flight
                             : SW_DEFAULT_MAX_MISSING;
    if (c->scan_batch == 0)
        c->scan_batch = SW_DEFAULT_SCAN_BATCH;
    if (c->backoff_min_ms == 0)
        c->backoff_min_ms = SW_DEFAULT_BACKOFF_MIN_MS;
    if (c->backoff_max_ms == 0)
        c->backoff_max_ms = c->backoff_min_ms > SW_DEFAULT_BACKOFF_MAX_MS
                                ? c->backoff_min_ms
                                : SW_DEFAULT_BACKOFF_MAX_MS;
    if (c->orphan_grace_ms == 0)
        c->orphan_grace_ms = SW_DEFAULT_ORPHAN_GRACE_MS;
}

static int
validate(const refraft_sweeper_config *c, char *errbuf, size_t errbuf_len)
{
    const char *missing = missing_field(c);
    if (missing != NULL)
        return fail(errbuf, errbuf_len, "config.%s is NULL: it is required",
                    missing);
    /* The sweeper only reads the log: any version the node takes will do. */
    if (c->log.version < REFRAFT_LOG_API_VERSION_MIN ||
        c->log.version > REFRAFT_LOG_API_VERSION)
        return fail(errbuf, errbuf_len,
                    "log API version %d is not supported (expected %d to %d)",
                    c->log.version, REFRAFT_LOG_API_VERSION_MIN,
                    REFRAFT_LOG_API_VERSION);
    if (c->max_in_flight > SW_MAX_IN_FLIGHT)
        return fail(errbuf, errbuf_len,
                    "max_in_flight of %u is above the limit of %d",
                    c->max_in_flight, SW_MAX_IN_FLIGHT);
    if (c->max_missing < c->max_in_flight)
        return fail(errbuf, errbuf_len,
                    "max_missing of %u is below max_in_flight (%u)",
                    c->max_missing, c->max_in_flight);
    if (c->max_missing > UINT32_MAX / 2)
        return fail(errbuf, errbuf_len, "max_missing of %u is too large",
                    c->max_missing);
    if (c->scan_batch > SW_MAX_SCAN_BATCH)
        return fail(errbuf, errbuf_len,
                    "scan_batch of %u is above the limit of %d", c->scan_batch,
                    SW_MAX_SCAN_BATCH);
    if (c->backoff_min_ms > c->backoff_max_ms)
        return fail(errbuf, errbuf_len,
                    "backoff_min_ms (%u) is above backoff_max_ms (%u)",
                    c->backoff_min_ms, c->backoff_max_ms);
    return 0;
}

static void sweeper_free(refraft_sweeper *sw)
{
    refraft_free(sw->pool);
    refraft_free(sw->free_slots);
    refraft_free(sw->order_buf);
    refraft_free(sw->fetches);
    refraft_free(sw->taken);
    refraft_free(sw->put_refs);
    refraft_free(sw->put_bytes);
    refraft_free(sw->put_results);
    refraft_free(sw->put_taken);
    refraft_free(sw->entries);
    refraft_free(sw->refs);
    refraft_free(sw->ref_index);
    refraft_free(sw->present);
    refraft_free(sw->ids);
    refraft_free(sw->snap_refs);
    refraft_free(sw->orphans);
    refraft_free(sw);
}

int refraft_sweeper_create(const refraft_sweeper_config *config,
                           refraft_sweeper **out, char *errbuf,
                           size_t errbuf_len)
{
    if (config == NULL || out == NULL)
        return fail(errbuf, errbuf_len, "config and out must not be NULL");
    refraft_sweeper_config c = *config;
    fill_defaults(&c);
    int rv = validate(&c, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    refraft_sweeper *sw = refraft_calloc(1, sizeof(*sw));
    if (sw == NULL)
        goto err_nomem;
    sw->cfg = c;
    sw->config_index = refraft_config_index(c.node);
    size_t batch = c.scan_batch;
    size_t fl = c.max_in_flight;
    sw->fetches = refraft_calloc(fl, sizeof(*sw->fetches));
    sw->taken = refraft_calloc(fl, sizeof(*sw->taken));
    sw->put_refs = refraft_calloc(fl, sizeof(*sw->put_refs));
    sw->put_bytes = refraft_calloc(fl, sizeof(*sw->put_bytes));
    sw->put_results = refraft_calloc(fl, sizeof(*sw->put_results));
    sw->put_taken = refraft_calloc(fl, sizeof(*sw->put_taken));
    sw->entries = refraft_calloc(batch, sizeof(*sw->entries));
    sw->refs = refraft_calloc(batch, sizeof(*sw->refs));
    sw->ref_index = refraft_calloc(batch, sizeof(*sw->ref_index));
    sw->present = refraft_calloc(batch, sizeof(*sw->present));
    sw->ids = refraft_calloc(batch, REFRAFT_RECORD_ID_MAX);
    if (c.snapshot_read != NULL) {
        sw->snap_refs = refraft_calloc(batch, sizeof(*sw->snap_refs));
        if (sw->snap_refs == NULL)
            goto err_after_sweeper;
    }
    if (sw->fetches == NULL || sw->taken == NULL || sw->put_refs == NULL ||
        sw->put_bytes == NULL || sw->put_results == NULL ||
        sw->put_taken == NULL || sw->entries == NULL || sw->refs == NULL ||
        sw->ref_index == NULL || sw->present == NULL || sw->ids == NULL)
        goto err_after_sweeper;
    sw->next_token = 1;
    sw->kicked = true; /* the first tick scans */
    sw->orphan_gc_at = UINT64_MAX;
    sw->stats.lost_upto = c.lost_upto;
    *out = sw;
    return 0;

err_after_sweeper:
    sweeper_free(sw);
err_nomem:
    if (errbuf != NULL && errbuf_len > 0)
        snprintf(errbuf, errbuf_len, "out of memory creating the sweeper");
    return REFRAFT_ENOMEM;
}

void refraft_sweeper_destroy(refraft_sweeper *sw)
{
    if (sw == NULL)
        return;
    sw_want_cancel_all(sw);
    sweeper_free(sw);
}

uint64_t sw_now(const refraft_sweeper *sw)
{
    return sw->cfg.now_ms(sw->cfg.clock_ctx);
}

refraft_ref sw_want_ref(const struct sw_want *w)
{
    refraft_ref ref = {.id = w->id, .id_len = w->id_len, .size = w->size};
    memcpy(ref.digest, w->digest, REFRAFT_DIGEST_LEN);
    return ref;
}

refraft_index sw_floor(const refraft_sweeper *sw)
{
    refraft_index data = refraft_data_index(sw->cfg.node);
    refraft_index applied = refraft_applied_index(sw->cfg.node);
    return data < applied ? data : applied;
}

bool sw_abandoned(const refraft_sweeper *sw, refraft_index index)
{
    const refraft_node *node = sw->cfg.node;
    refraft_index v = refraft_void_of(node, index);
    return v != 0 && (v <= refraft_commit_index(node) ||
                      refraft_role(node) == REFRAFT_LEADER);
}

/*
 * Lost mode ends once every entry up to lost_upto is settled here (its
 * record is back, or a VOID abandons it) and applied, and every record
 * the reference state names below the log's first index is back too
 * (sw_snapshot_settled).  The data index is the test that matters for
 * the log: an application whose state survived the loss restarts with
 * applied_index already past lost_upto, while the records are still
 * missing, and an "absent" from it then could void a record a majority
 * holds.  Below the log the data index says nothing (an installed
 * snapshot sets it to its last index with no record here): only the
 * snapshot part's pass can.
 */
static int end_lost_mode(refraft_sweeper *sw)
{
    refraft_node *node = sw->cfg.node;
    if (sw->cfg.lost_upto == 0 ||
        refraft_data_index(node) < sw->cfg.lost_upto ||
        refraft_applied_index(node) < sw->cfg.lost_upto ||
        !sw_snapshot_settled(sw))
        return 0;
    if (sw->cfg.store.clear_lost != NULL) {
        int rv = sw->cfg.store.clear_lost(sw->cfg.store.ctx);
        if (rv != 0)
            return rv; /* still lost: the next tick tries again */
    }
    sw->cfg.lost_upto = 0;
    sw->stats.lost_upto = 0;
    return 0;
}

/* Whether the scan should resume before its next full pass: it stopped
 * on a full want table, and half of it has come free since. */
static bool scan_resumable(const refraft_sweeper *sw)
{
    return sw->scan_more && sw->n_want <= sw->cfg.max_missing / 2;
}

/*
 * Each phase runs even when an earlier one failed (a record store that
 * cannot be read must not stop the fetches already under way); the first
 * error is returned and the failed phase is retried next tick.
 */
int refraft_sweeper_tick(refraft_sweeper *sw)
{
    if (sw == NULL)
        return REFRAFT_EINVAL;
    uint64_t now = sw_now(sw);
    uint64_t started = sw->n_started;
    sw_want_follow_config(sw);
    int first_rv = end_lost_mode(sw);
    bool restart = now >= sw->rescan_at;
    if (restart)
        sw->rescan_at = now + sw->cfg.interval_ms;
    if (sw->kicked || restart || scan_resumable(sw)) {
        sw->kicked = false;
        int rv = sw_scan(sw, restart);
        if (first_rv == 0)
            first_rv = rv;
    }
    /* After the log's scan: its records gate the data index and so
     * commits and applies; the snapshot part takes what room is left. */
    int snap_rv = sw_snapshot_scan(sw, now);
    if (first_rv == 0)
        first_rv = snap_rv;
    sw_want_dispatch(sw, now);
    int rv = sw_orphans_collect(sw, now);
    sw_want_flush(sw, started);
    return first_rv != 0 ? first_rv : rv;
}

uint64_t refraft_sweeper_next_deadline(const refraft_sweeper *sw)
{
    if (sw == NULL)
        return UINT64_MAX;
    uint64_t now = sw_now(sw);
    if (sw->kicked || scan_resumable(sw) || sw_snapshot_due(sw, now))
        return now;
    uint64_t next = sw->rescan_at;
    uint64_t retry = sw_want_next_retry(sw);
    if (retry < next)
        next = retry;
    if (sw->orphan_gc_at < next)
        next = sw->orphan_gc_at;
    return next;
}

void refraft_sweeper_kick(refraft_sweeper *sw)
{
    if (sw != NULL)
        sw->kicked = true;
}

int refraft_sweeper_snapshot_installed(refraft_sweeper *sw,
                                       refraft_index last_index)
{
    if (sw == NULL || last_index == 0)
        return REFRAFT_EINVAL;
    if (last_index > sw->cfg.lost_upto) {
        sw->cfg.lost_upto = last_index;
        sw->stats.lost_upto = last_index;
    }
    /* A new state: its pass starts over at once. */
    sw_snapshot_restart(sw);
    sw->kicked = true;
    return 0;
}

int refraft_sweeper_on_discard(refraft_sweeper *sw, refraft_index index,
                               const refraft_entry *entry)
{
    if (sw == NULL)
        return REFRAFT_EINVAL;
    sw_want_drop(sw, index);
    /* Entries after a truncation point are new: scan them again. */
    if (index < sw->cursor)
        sw->cursor = index;
    if (entry == NULL || entry->type != REFRAFT_ENTRY_REF ||
        sw->cfg.store.remove == NULL || entry->ref.id == NULL ||
        entry->ref.id_len == 0 || entry->ref.id_len > REFRAFT_RECORD_ID_MAX)
        return 0;
    return sw_orphan_add(sw, &entry->ref, index, sw_now(sw));
}

int refraft_sweeper_answer(refraft_sweeper *sw, const refraft_ref *ref,
                           refraft_term asker_term)
{
    if (sw == NULL || ref == NULL)
        return REFRAFT_FETCH_FAILED;
    bool present = false;
    if (sw->cfg.store.have(sw->cfg.store.ctx, ref, 1, &present) != 0)
        return REFRAFT_FETCH_FAILED;
    if (present)
        return REFRAFT_FETCH_OK;
    /* "absent" voids records: only a node that lost nothing, answering
     * in the asker's own term, may say it (DESIGN.md, hole filling). */
    if (sw->cfg.lost_upto != 0 ||
        asker_term != refraft_current_term(sw->cfg.node))
        return REFRAFT_FETCH_UNKNOWN;
    return REFRAFT_FETCH_ABSENT;
}

void refraft_sweeper_get_stats(const refraft_sweeper *sw,
                               refraft_sweeper_stats *out)
{
    if (sw == NULL || out == NULL)
        return;
    *out = sw->stats;
}
