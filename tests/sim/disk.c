/* disk.c - a node's simulated disk: the watched log API, and the memlog. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "disk.h"
#include "trace.h"

/* Keep the store's account of an error (later calls clear it), and notice
 * a store that failed. */
static int note(disk *d, int rv)
{
    if (rv == 0 || d->kind != DISK_REFSTORE)
        return rv;
    snprintf(d->errmsg, sizeof(d->errmsg), "%s", refstore_errmsg(d->store));
    if ((rv == REFRAFT_EIO || rv == REFRAFT_EFAILED) && refdisk_failed(d))
        d->failed = true;
    return rv;
}

static refraft_index first_index(void *ctx)
{
    disk *d = ctx;
    return d->inner.first_index(d->inner.ctx);
}

static refraft_index last_index(void *ctx)
{
    disk *d = ctx;
    return d->inner.last_index(d->inner.ctx);
}

static int term_at(void *ctx, refraft_index index, refraft_term *term)
{
    disk *d = ctx;
    return note(d, d->inner.term_at(d->inner.ctx, index, term));
}

static int
get(void *ctx, refraft_index from, size_t max, refraft_entry *out, size_t *n)
{
    disk *d = ctx;
    return note(d, d->inner.get(d->inner.ctx, from, max, out, n));
}

/* Between a stage and its sync the node may only read the log
 * (refraft_log_api: get, term_at, last_index). */
static void check_not_staged(disk *d, const char *what)
{
    if (d->staged != 0)
        check_fail(d->check, "API Contract",
                   "n%d: log %s called with entries staged from index %llu "
                   "and not synced",
                   d->node + 1, what, (unsigned long long)d->staged);
}

/* The term beneath the new entries is read before appending: it is part
 * of what Log Matching checks.  write is the store's append, or what
 * stages there. */
typedef int (*write_fn)(void *ctx, const refraft_entry *entries, size_t n);

static int append_with(disk *d, write_fn write, const refraft_entry *entries,
                       size_t n, refraft_index *first)
{
    *first = d->inner.last_index(d->inner.ctx) + 1;
    refraft_term prev_term = 0;
    int rv = d->inner.term_at(d->inner.ctx, *first - 1, &prev_term);
    if (rv != 0)
        return note(d, rv);
    rv = write(d->inner.ctx, entries, n);
    if (rv == 0)
        check_appended(d->check, d->node, *first, prev_term, entries, n);
    return note(d, rv);
}

static int append(void *ctx, const refraft_entry *entries, size_t n)
{
    disk *d = ctx;
    refraft_index first;
    check_not_staged(d, "append");
    return append_with(d, d->inner.append, entries, n, &first);
}

/* The entries are in the log from now on: the checker hears of them
 * now.  A memlog has no staging: there, staging is appending. */
static int stage(void *ctx, const refraft_entry *entries, size_t n)
{
    disk *d = ctx;
    refraft_index first;
    check_not_staged(d, "stage");
    int rv = append_with(
        d, d->kind == DISK_REFSTORE ? d->inner.stage : d->inner.append, entries,
        n, &first);
    if (rv == 0 && n > 0)
        d->staged = first;
    return rv;
}

/* A memlog's sync, emulated: it fails at sync_fail_pm per mille, and
 * then, as the log API demands, the staged entries are gone. */
static int memlog_sync(disk *d, refraft_index first)
{
    if (!prng_chance(d->fault_rng, d->sync_fail_pm))
        return 0;
    int rv = d->keep_staged ? 0 : d->inner.truncate(d->inner.ctx, first);
    if (rv != 0) {
        check_fail(d->check, "Storage",
                   "n%d: memlog: truncating the staged entries from index "
                   "%llu: %s",
                   d->node + 1, (unsigned long long)first,
                   refraft_strerror(rv));
        return rv;
    }
    if (!d->keep_staged)
        check_truncated(d->check, d->node, first);
    d->sync_failures++;
    d->sync_fault = true;
    if (d->verbose)
        trace_note(*d->clock,
                   "fault: n%d's sync of the entries it staged from index "
                   "%llu fails; they are %s its log",
                   d->node + 1, (unsigned long long)first,
                   d->keep_staged ? "still in (--inject keep-staged)"
                                  : "gone from");
    return REFRAFT_EIO;
}

static int sync_log(void *ctx)
{
    disk *d = ctx;
    refraft_index first = d->staged;
    d->staged = 0;
    if (first == 0)
        return d->kind == DISK_REFSTORE ? note(d, d->inner.sync(d->inner.ctx))
                                        : 0;
    d->syncs++;
    if (d->kind != DISK_REFSTORE)
        return memlog_sync(d, first);
    int rv = d->inner.sync(d->inner.ctx);
    if (rv != 0)
        check_truncated(d->check, d->node, first);
    return note(d, rv);
}

static int truncate_log(void *ctx, refraft_index from)
{
    disk *d = ctx;
    check_not_staged(d, "truncate");
    int rv = d->inner.truncate(d->inner.ctx, from);
    if (rv == 0)
        check_truncated(d->check, d->node, from);
    return note(d, rv);
}

static int save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    disk *d = ctx;
    check_not_staged(d, "save_hard_state");
    return note(d, d->inner.save_hard_state(d->inner.ctx, term, voted_for));
}

static int load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    disk *d = ctx;
    check_not_staged(d, "load_hard_state");
    return note(d, d->inner.load_hard_state(d->inner.ctx, term, voted_for));
}

/* The entries compact drops were applied: the checker compares them with
 * the committed ones while they are still there. */
static int compact(void *ctx, const refraft_snapshot_meta *meta)
{
    disk *d = ctx;
    check_not_staged(d, "compact");
    check_compacting(d->check, d->node, &d->api, meta);
    int rv = d->inner.compact(d->inner.ctx, meta);
    if (rv == 0) {
        d->compactions++;
        if (d->verbose)
            trace_note(*d->clock, "n%d compacts its log up to %llu (term %llu)",
                       d->node + 1, (unsigned long long)meta->last_index,
                       (unsigned long long)meta->last_term);
    }
    return note(d, rv);
}

static int install(void *ctx, const refraft_snapshot_meta *meta)
{
    disk *d = ctx;
    check_not_staged(d, "install");
    int rv = d->inner.install(d->inner.ctx, meta);
    if (rv == 0) {
        d->installs++;
        check_log_installed(d->check, d->node, meta);
        if (d->verbose)
            trace_note(*d->clock,
                       "n%d installs the snapshot up to %llu (term %llu); its "
                       "log is empty",
                       d->node + 1, (unsigned long long)meta->last_index,
                       (unsigned long long)meta->last_term);
    }
    return note(d, rv);
}

static int base(void *ctx, refraft_snapshot_meta *out)
{
    disk *d = ctx;
    return note(d, d->inner.base(d->inner.ctx, out));
}

void disk_offer_compaction(disk *d)
{
    bool has = d->inner.version >= 5 && d->inner.compact != NULL &&
               d->inner.install != NULL && d->inner.base != NULL;
    d->api.compact = has ? compact : NULL;
    d->api.install = has ? install : NULL;
    d->api.base = has ? base : NULL;
}

refraft_index disk_base(disk *d)
{
    refraft_snapshot_meta meta = {0};
    if (d->api.base == NULL || d->api.base(d->api.ctx, &meta) != 0)
        return 0;
    return meta.last_index;
}

void disk_init(disk *d, disk_kind kind, const char *path, int node,
               checker *check, disk_apply_fn on_apply, void *apply_ctx)
{
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    snprintf(d->path, sizeof(d->path), "%s", path);
    d->on_apply = on_apply;
    d->apply_ctx = apply_ctx;
    d->check = check;
    d->node = node;
    d->api = (refraft_log_api){
        .version = REFRAFT_LOG_API_VERSION,
        .ctx = d,
        .first_index = first_index,
        .last_index = last_index,
        .term_at = term_at,
        .get = get,
        .append = append,
        .truncate = truncate_log,
        .save_hard_state = save_hard_state,
        .load_hard_state = load_hard_state,
    };
}

void disk_set_stage(disk *d, bool stage_on, prng *rng)
{
    d->stage = stage_on;
    d->fault_rng = rng;
    d->api.stage = stage_on ? stage : NULL;
    d->api.sync = stage_on ? sync_log : NULL;
}

/* The memlog is the disk from the first start on: it is created once and
 * kept until the run ends. */
int disk_open(disk *d)
{
    if (d->kind == DISK_REFSTORE)
        return refdisk_open(d);
    if (d->log != NULL)
        return 0;
    int rv = refraft_memlog_create(&d->log);
    if (rv != 0) {
        check_fail(d->check, "Storage", "n%d: memlog: %s", d->node + 1,
                   refraft_strerror(rv));
        return rv;
    }
    refraft_memlog_api(d->log, &d->inner);
    disk_offer_compaction(d);
    return 0;
}

refraft_index disk_applied_index(const disk *d)
{
    return refstore_applied_index(d->store);
}

int disk_apply(disk *d, refraft_index index, const refraft_entry *entry)
{
    if (d->kind == DISK_REFSTORE)
        return refdisk_apply(d, index, entry);
    d->on_apply(d->apply_ctx, index, entry);
    return 0;
}

void disk_flush(disk *d)
{
    if (d->store == NULL)
        return;
    int rv = refstore_flush(d->store);
    if (rv != 0)
        disk_check_rv(d, "refstore_flush", rv);
}

/* A memlog is memory the node's process does not own: all of it
 * survives. */
void disk_crash(disk *d)
{
    refstore_close_discard(d->store);
    d->store = NULL;
}

int disk_wipe(disk *d)
{
    d->staged = 0;
    d->sync_fault = false;
    if (d->kind == DISK_MEMLOG) {
        refraft_memlog_destroy(d->log);
        d->log = NULL;
        return 0;
    }
    refstore_close_discard(d->store);
    d->store = NULL;
    if (tmpdir_remove(d->path) != 0 && errno != ENOENT) {
        check_fail(d->check, "Storage", "n%d: removing %s: %s", d->node + 1,
                   d->path, strerror(errno));
        return -1;
    }
    return 0;
}

void disk_free(disk *d)
{
    refstore_close(d->store);
    d->store = NULL;
    refraft_memlog_destroy(d->log);
    d->log = NULL;
}

const char *disk_errmsg(const disk *d)
{
    return d->errmsg;
}

int disk_check_rv(disk *d, const char *what, int rv)
{
    note(d, rv);
    if (!d->failed)
        check_fail(d->check, "Storage", "n%d: %s: %s (%s)", d->node + 1, what,
                   refraft_strerror(rv), d->errmsg);
    return rv;
}
