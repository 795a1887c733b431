/* bundle.c - the records that travel with an AppendEntries: taken from
 * the writes that wait for them or read from this node's store, encoded
 * once for a run of entries and reused for every follower sent the same
 * run. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "internal.h"

/* The records an AppendEntries' entries name, to travel with it: the
 * follower stores them in the transaction of the append
 * (refstore_receive), so it has a record as soon as the entry naming it.
 * A leader still holds the bytes of the records its clients wait on,
 * which are most of what it sends, and reads the others from its store.
 * Records this store lacks are left out (the sweeper fetches them), and
 * so is everything past HOST_BUNDLE_MAX bytes. */
struct attached {
    refraft_wire_record *recs;
    size_t n;
    uint8_t *bytes; /* the records' bytes, one after the other */
    size_t len, cap;
};

static void attached_free(struct attached *a)
{
    free(a->recs);
    free(a->bytes);
    memset(a, 0, sizeof *a);
}

static void copy_record(void *ctx, const void *bytes, size_t len)
{
    struct attached *a = ctx;
    if (a->len + len > a->cap)
        return; /* sized beforehand: cannot happen */
    memcpy(a->bytes + a->len, bytes, len);
    a->len += len;
}

/* Read the m records of a->recs[at[0..m)] (their refs set, bytes NULL)
 * from the store into a->bytes, which has room for stored bytes.  Those
 * the store lacks keep NULL. */
static int read_stored(host *h, struct attached *a, const size_t *at, size_t m,
                       size_t stored)
{
    refraft_ref *refs = calloc(m, sizeof *refs);
    bool *present = calloc(m, sizeof *present);
    a->cap = stored;
    a->bytes = malloc(stored + 1);
    int rv = refs != NULL && present != NULL && a->bytes != NULL
                 ? 0
                 : REFRAFT_ENOMEM;
    for (size_t i = 0; rv == 0 && i < m; i++)
        refs[i] = a->recs[at[i]].ref;
    if (rv == 0)
        rv = refstore_record_has(h->store, refs, m, present);
    for (size_t i = 0; rv == 0 && i < m; i++) {
        size_t from = a->len;
        if (!present[i] ||
            refstore_record_get(h->store, refs[i].id, refs[i].id_len,
                                copy_record, a) != 0 ||
            a->len - from != refs[i].size) {
            a->len = from;
            continue;
        }
        a->recs[at[i]].bytes = a->bytes + from;
    }
    free(refs);
    free(present);
    return rv;
}

static int attach_records(host *h, const refraft_msg *msg, struct attached *a)
{
    memset(a, 0, sizeof *a);
    if (h->no_push || msg->type != REFRAFT_MSG_APPEND_ENTRIES)
        return 0;
    const refraft_append_entries *ae = &msg->u.append_entries;
    size_t *at = calloc(ae->n_entries + 1, sizeof *at);
    a->recs = calloc(ae->n_entries + 1, sizeof *a->recs);
    int rv = at != NULL && a->recs != NULL ? 0 : REFRAFT_ENOMEM;
    size_t m = 0;
    uint64_t total = 0, stored = 0;
    for (size_t i = 0; rv == 0 && i < ae->n_entries; i++) {
        const refraft_entry *e = &ae->entries[i];
        if (e->type != REFRAFT_ENTRY_REF ||
            total + e->ref.size > HOST_BUNDLE_MAX)
            continue;
        total += e->ref.size;
        const uint8_t *held =
            host_waiting_bytes(h, ae->prev_log_index + 1 + i, &e->ref);
        if (held == NULL) {
            stored += e->ref.size;
            at[m++] = a->n;
        }
        a->recs[a->n++] = (refraft_wire_record){e->ref, held};
    }
    if (rv == 0 && m > 0)
        rv = read_stored(h, a, at, m, (size_t)stored);
    /* In entry order, without the records the store lacks. */
    size_t kept = 0;
    for (size_t i = 0; rv == 0 && i < a->n; i++)
        if (a->recs[i].bytes != NULL)
            a->recs[kept++] = a->recs[i];
    a->n = kept;
    free(at);
    if (rv != 0)
        attached_free(a);
    return rv;
}

void host_bundle_free(host *h)
{
    refraft_wire_free(&h->bundle.recs);
    memset(&h->bundle, 0, sizeof h->bundle);
}

/*
 * The encoded records of ae's entries, in *out (n of them; none when the
 * store has none of them).  A leader sends the same run of entries to
 * each follower it has brought level, and in one term a run of its log
 * never changes: the records of the last run are kept, keyed by its
 * first index, length and term, and a second follower's message reuses
 * them rather than reading and encoding them again.  Errors are logged
 * and leave the records out (the sweeper fetches them).
 */
static void encoded_records(host *h, const refraft_msg *msg,
                            const refraft_wire_buf **out, size_t *n)
{
    const refraft_append_entries *ae = &msg->u.append_entries;
    struct host_bundle *b = &h->bundle;
    refraft_term term = refraft_current_term(h->node);
    if (!b->valid || b->first != ae->prev_log_index + 1 ||
        b->n_entries != ae->n_entries || b->term != term) {
        host_bundle_free(h);
        struct attached a;
        int rv = attach_records(h, msg, &a);
        if (rv != 0)
            host_log(h, HOST_LOG_WARN, "cannot read records to send: %s",
                     refstore_errmsg(h->store));
        else if (a.n > 0)
            rv =
                refraft_wire_encode_records(h->id, term, a.recs, a.n, &b->recs);
        if (rv == 0) /* a failed read is not kept: the next may work */
            *b = (struct host_bundle){.valid = true,
                                      .first = ae->prev_log_index + 1,
                                      .n_entries = ae->n_entries,
                                      .term = term,
                                      .recs = b->recs,
                                      .n_recs = a.n};
        else if (a.n > 0)
            host_log(h, HOST_LOG_ERROR, "cannot encode %zu records: %s", a.n,
                     refraft_strerror(rv));
        attached_free(&a);
    }
    *out = &b->recs;
    *n = b->valid ? b->n_recs : 0;
}

int host_bundle_encode(host *h, const refraft_msg *msg, uint8_t **body,
                       size_t *len, size_t *msg_len, size_t *n_recs)
{
    *body = NULL;
    *len = *msg_len = *n_recs = 0;
    refraft_wire_buf m;
    int rv = refraft_wire_encode_msg(msg, &m);
    if (rv != 0)
        return rv;
    const refraft_wire_buf *r = NULL;
    if (!h->no_push && msg->type == REFRAFT_MSG_APPEND_ENTRIES &&
        msg->u.append_entries.n_entries > 0)
        encoded_records(h, msg, &r, n_recs);
    *msg_len = m.len;
    if (*n_recs == 0) {
        *body = m.data;
        *len = m.len;
        return 0;
    }
    uint8_t *both = refraft_malloc(m.len + r->len);
    if (both != NULL) {
        memcpy(both, m.data, m.len);
        memcpy(both + m.len, r->data, r->len);
    }
    refraft_wire_free(&m);
    *body = both;
    *len = both != NULL ? *msg_len + r->len : 0;
    return both != NULL ? 0 : REFRAFT_ENOMEM;
}
