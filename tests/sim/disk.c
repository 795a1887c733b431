/* disk.c - a node's simulated disk: the watched log API, and the memlog. */
#include <stdio.h>
#include <string.h>

#include "disk.h"

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

/* The term beneath the new entries is read before appending: it is part
 * of what Log Matching checks. */
static int append(void *ctx, const refraft_entry *entries, size_t n)
{
    disk *d = ctx;
    refraft_index first = d->inner.last_index(d->inner.ctx) + 1;
    refraft_term prev_term = 0;
    int rv = d->inner.term_at(d->inner.ctx, first - 1, &prev_term);
    if (rv != 0)
        return note(d, rv);
    rv = d->inner.append(d->inner.ctx, entries, n);
    if (rv == 0)
        check_appended(d->check, d->node, first, prev_term, entries, n);
    return note(d, rv);
}

static int truncate_log(void *ctx, refraft_index from)
{
    disk *d = ctx;
    int rv = d->inner.truncate(d->inner.ctx, from);
    if (rv == 0)
        check_truncated(d->check, d->node, from);
    return note(d, rv);
}

static int save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    disk *d = ctx;
    return note(d, d->inner.save_hard_state(d->inner.ctx, term, voted_for));
}

static int load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    disk *d = ctx;
    return note(d, d->inner.load_hard_state(d->inner.ctx, term, voted_for));
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
