/* disk.c - a node's simulated disk: a memlog the checker watches. */
#include <string.h>

#include "disk.h"

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
    return d->inner.term_at(d->inner.ctx, index, term);
}

static int
get(void *ctx, refraft_index from, size_t max, refraft_entry *out, size_t *n)
{
    disk *d = ctx;
    return d->inner.get(d->inner.ctx, from, max, out, n);
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
        return rv;
    rv = d->inner.append(d->inner.ctx, entries, n);
    if (rv == 0)
        check_appended(d->check, d->node, first, prev_term, entries, n);
    return rv;
}

static int truncate_log(void *ctx, refraft_index from)
{
    disk *d = ctx;
    int rv = d->inner.truncate(d->inner.ctx, from);
    if (rv == 0)
        check_truncated(d->check, d->node, from);
    return rv;
}

static int save_hard_state(void *ctx, refraft_term term, const char *voted_for)
{
    disk *d = ctx;
    return d->inner.save_hard_state(d->inner.ctx, term, voted_for);
}

static int load_hard_state(void *ctx, refraft_term *term, char *voted_for)
{
    disk *d = ctx;
    return d->inner.load_hard_state(d->inner.ctx, term, voted_for);
}

int disk_init(disk *d, int node, checker *check)
{
    memset(d, 0, sizeof(*d));
    int rv = refraft_memlog_create(&d->log);
    if (rv != 0)
        return rv;
    refraft_memlog_api(d->log, &d->inner);
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
    return 0;
}

void disk_free(disk *d)
{
    refraft_memlog_destroy(d->log);
    d->log = NULL;
}
