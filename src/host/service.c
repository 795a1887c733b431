/* service.c - the record service clients talk to: writes go to the
 * leader, which stores each record and proposes its reference (group
 * commit: the writes of one loop turn share one transaction and one sync)
 * and answers once the entry is applied; reads are served anywhere, of
 * the records whose entries were applied there. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Largest record a client may write. */
#define HOST_RECORD_MAX REFRAFT_WIRE_MAX_RECORD

/* A client-chosen id: 1..255 printable ASCII bytes. */
static bool id_ok(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > REFRAFT_RECORD_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return false;
    return true;
}

static const char *const retry_later[] = {"Retry-After: 1", NULL};

/* Answer a write's client with an error: over HTTP a JSON body
 * {"error": why} with the headers hdrs (NULL: none), in process through
 * its callback. */
static void answer_error(const struct host_client *c, unsigned status,
                         const char *const *hdrs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void answer_error(const struct host_client *c, unsigned status,
                         const char *const *hdrs, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (c->req == NULL) {
        c->done(c->ctx, status, 0, why);
        return;
    }
    char quoted[1100], body[1200];
    json_escape(why, quoted, sizeof quoted);
    int n = snprintf(body, sizeof body, "{\"error\":%s}\n", quoted);
    host_respond(c->req, status, "application/json", body, (size_t)n, hdrs);
}

/* Not the leader: send the client there, or ask it to come back. */
static void redirect(host *h, const struct host_client *c)
{
    const char *leader = refraft_leader_id(h->node);
    struct host_peer *p = leader != NULL ? host_peer_find(h, leader) : NULL;
    if (p == NULL || p->url[0] == '\0') {
        answer_error(c, 503, retry_later, "no leader is known; retry");
        return;
    }
    char location[HOST_URL_MAX + 32], who[REFRAFT_ID_MAX + 32];
    snprintf(location, sizeof location, "Location: %s/v1/records", p->url);
    snprintf(who, sizeof who, "Refraft-Leader: %s", p->id);
    const char *hdrs[] = {location, who, NULL};
    answer_error(c, 307, hdrs, "this node is not the leader");
}

/* Add a record to this turn's batch: its reference (id, or the SHA-256 in
 * hex when id_len is 0) and bytes.  Returns 0, or the HTTP status that
 * refuses it with a message in why. */
static unsigned batch_add(host *h, const struct host_client *c,
                          const uint8_t *id, size_t id_len, const void *bytes,
                          size_t len, char *why, size_t why_len)
{
    if (len == 0 || len > HOST_RECORD_MAX) {
        snprintf(why, why_len, "a record has 1 to %u bytes, not %zu",
                 (unsigned)HOST_RECORD_MAX, len);
        return len == 0 ? 400 : 413;
    }
    struct host_write *w = &h->batch[h->n_batch];
    memset(w, 0, sizeof *w);
    if (refraft_digest(bytes, len, w->ref.digest) != 0) {
        snprintf(why, why_len, "cannot compute SHA-256");
        return 500;
    }
    if (id_len == 0) {
        char hexid[2 * REFRAFT_DIGEST_LEN + 1];
        json_hex(w->ref.digest, REFRAFT_DIGEST_LEN, hexid);
        id_len = strlen(hexid);
        memcpy(w->id, hexid, id_len);
    } else {
        memcpy(w->id, id, id_len);
    }
    w->client = *c;
    w->ref.id_len = (uint16_t)id_len;
    w->ref.id = w->id;
    w->ref.size = len;
    w->bytes = bytes;
    h->n_batch++;
    return 0;
}

static void accept_write(host *h, http_request *req)
{
    struct host_client c = {.req = req};
    if (refraft_role(h->node) != REFRAFT_LEADER) {
        redirect(h, &c);
        return;
    }
    const char *id = http_request_header(req, "Refraft-Record-Id");
    if (id != NULL && !id_ok(id)) {
        host_respond_error(req, 400,
                           "Refraft-Record-Id must be 1 to 255 printable "
                           "ASCII bytes");
        return;
    }
    size_t len;
    const uint8_t *body = http_request_body(req, &len);
    char why[128];
    unsigned status =
        batch_add(h, &c, (const uint8_t *)id, id != NULL ? strlen(id) : 0, body,
                  len, why, sizeof why);
    if (status != 0)
        host_respond_error(req, status, "%s", why);
    else if (h->n_batch == HOST_BATCH_MAX)
        host_flush_writes(h);
}

int host_write(host *h, const uint8_t *id, size_t id_len, const void *bytes,
               size_t len, host_write_fn done, void *ctx)
{
    if (h == NULL || done == NULL || (id == NULL && id_len > 0) ||
        id_len > REFRAFT_RECORD_ID_MAX || (bytes == NULL && len > 0))
        return REFRAFT_EINVAL;
    /* Proposing here could answer from inside this call. */
    if (h->n_batch == HOST_BATCH_MAX)
        return REFRAFT_ETOOBIG;
    struct host_client c = {.done = done, .ctx = ctx};
    char why[128];
    return batch_add(h, &c, id, id_len, bytes, len, why, sizeof why) == 0
               ? 0
               : REFRAFT_EINVAL;
}

/* Room for n more waiters. */
static int waiters_reserve(host *h, size_t n)
{
    if (h->waiters_head + h->n_waiters + n <= h->waiters_cap)
        return 0;
    if (h->n_waiters > 0)
        memmove(h->waiters, &h->waiters[h->waiters_head],
                h->n_waiters * sizeof *h->waiters);
    h->waiters_head = 0;
    if (h->n_waiters + n <= h->waiters_cap)
        return 0;
    size_t cap = h->waiters_cap ? h->waiters_cap : 256;
    while (cap < h->n_waiters + n)
        cap *= 2;
    void *p = realloc(h->waiters, cap * sizeof *h->waiters);
    if (p == NULL)
        return REFRAFT_ENOMEM;
    h->waiters = p;
    h->waiters_cap = cap;
    return 0;
}

/* Room reserved by waiters_reserve. */
static void waiter_add(host *h, refraft_index index, const struct host_write *w)
{
    struct host_waiter *wt = &h->waiters[h->waiters_head + h->n_waiters++];
    wt->index = index;
    wt->client = w->client;
    wt->deadline = host_now_ms() + HOST_WRITE_TIMEOUT_MS;
    wt->ref = w->ref;
    memcpy(wt->id, w->id, w->ref.id_len);
    wt->ref.id = NULL; /* wt moves with the array: use wt->id */
    wt->bytes = w->bytes;
}

/* The proposal of ws failed with rv.  A leader whose sync failed after
 * it sent the entries has stepped down (refraft_log_api.sync): another
 * leader may still commit them, so their outcome is unknown. */
static void
fail_writes(host *h, struct host_write *ws, size_t n, int rv, bool was_leader)
{
    bool unknown = was_leader && rv != REFRAFT_ENOTLEADER &&
                   rv != REFRAFT_ENOLEADER &&
                   refraft_role(h->node) != REFRAFT_LEADER;
    for (size_t i = 0; i < n; i++) {
        const struct host_client *c = &ws[i].client;
        h->writes_failed++;
        if (unknown)
            answer_error(c, 503, retry_later,
                         "the leader failed to store the record after "
                         "sending it and stepped down (%s); it may still "
                         "commit: read it before writing it again",
                         refstore_errmsg(h->store));
        else if (rv == REFRAFT_ENOTLEADER || rv == REFRAFT_ENOLEADER)
            redirect(h, c);
        else if (rv == REFRAFT_EDIGEST)
            answer_error(c, 409, NULL,
                         "another record is stored under this id");
        else if (rv == REFRAFT_EBUSY) /* a leadership transfer */
            answer_error(c, 503, retry_later,
                         "leadership is being handed over; retry");
        else
            answer_error(c, 500, NULL, "cannot store the record: %s",
                         refstore_errmsg(h->store));
    }
}

/* One refstore_propose for n writes: the records and their references in
 * one transaction and one sync (the AppendEntries carry the records to
 * the followers: host_send_msg). */
static int propose(host *h, struct host_write *ws, size_t n)
{
    refraft_ref *refs = h->prop_refs;
    const void **bytes = h->prop_bytes;
    for (size_t i = 0; i < n; i++) {
        refs[i] = ws[i].ref;
        refs[i].id = ws[i].id;
        bytes[i] = ws[i].bytes;
    }
    /* The clients wait from before the proposal: a node alone commits
     * and applies inside it.  The entries land right after the log's
     * last one. */
    int rv = waiters_reserve(h, n);
    if (rv != 0)
        return rv;
    refraft_index expect = refraft_last_index(h->node) + 1;
    for (size_t i = 0; i < n; i++)
        waiter_add(h, expect + i, &ws[i]);
    /* The records travel with the AppendEntries that name them (the
     * host's send takes them from the waiters, or else from the store,
     * where this proposal puts them), so a follower stores records and
     * entries in one transaction. */
    refraft_index first = 0;
    /* batch_add computed each digest from these bytes. */
    rv = refstore_propose_hashed(h->store, h->node, refs, bytes, n, &first);
    if (rv != 0) {
        h->n_waiters -= n; /* nothing was appended: none was answered */
        return rv;
    }
    if (first != expect)
        host_log(h, HOST_LOG_ERROR,
                 "proposed at %" PRIu64 ", not %" PRIu64 " as expected", first,
                 expect);
    return 0;
}

void host_flush_writes(host *h)
{
    size_t n = h->n_batch;
    h->n_batch = 0;
    if (n == 0)
        return;
    bool was_leader = refraft_role(h->node) == REFRAFT_LEADER;
    int rv = propose(h, h->batch, n);
    if (rv == 0)
        return;
    if (rv != REFRAFT_EDIGEST && rv != REFRAFT_EINVAL) {
        fail_writes(h, h->batch, n, rv, was_leader);
        return;
    }
    /* One record spoiled the batch: propose them one by one, so only it
     * fails. */
    for (size_t i = 0; i < n; i++) {
        was_leader = refraft_role(h->node) == REFRAFT_LEADER;
        rv = propose(h, &h->batch[i], 1);
        if (rv != 0)
            fail_writes(h, &h->batch[i], 1, rv, was_leader);
    }
}

/* The waiter for index, or NULL (waiters are in index order). */
/* The i-th waiter in index order. */
static struct host_waiter *waiter_at(host *h, size_t i)
{
    return &h->waiters[h->waiters_head + i];
}

/* The waiter for index, or NULL; *pos gets where it is or would be. */
static struct host_waiter *
waiter_find(host *h, refraft_index index, size_t *pos)
{
    size_t lo = 0, hi = h->n_waiters;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (waiter_at(h, mid)->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < h->n_waiters && waiter_at(h, lo)->index == index
               ? waiter_at(h, lo)
               : NULL;
}

const uint8_t *
host_waiting_bytes(host *h, refraft_index index, const refraft_ref *ref)
{
    size_t pos;
    const struct host_waiter *w = waiter_find(h, index, &pos);
    if (w == NULL)
        return NULL;
    refraft_ref mine = w->ref;
    mine.id = w->id;
    return refraft_ref_equal(&mine, ref) ? w->bytes : NULL;
}

static void waiter_remove(host *h, size_t pos)
{
    if (pos == 0)
        h->waiters_head++;
    else
        memmove(waiter_at(h, pos), waiter_at(h, pos + 1),
                (h->n_waiters - pos - 1) * sizeof *h->waiters);
    if (--h->n_waiters == 0)
        h->waiters_head = 0;
}

void host_write_applied(host *h, refraft_index index,
                        const refraft_entry *entry)
{
    host_reads_applied(h, index);
    size_t pos;
    struct host_waiter *w = waiter_find(h, index, &pos);
    if (w == NULL)
        return;
    bool ours =
        (entry->type == REFRAFT_ENTRY_REF ||
         entry->type == REFRAFT_ENTRY_ABANDONED) &&
        entry->ref.id_len == w->ref.id_len &&
        memcmp(entry->ref.id, w->id, w->ref.id_len) == 0 &&
        memcmp(entry->ref.digest, w->ref.digest, REFRAFT_DIGEST_LEN) == 0;
    if (!ours) {
        h->writes_failed++;
        answer_error(&w->client, 503, NULL,
                     "index %" PRIu64 " holds another entry: the write was "
                     "lost with a change of leader; write it again",
                     index);
    } else if (entry->type == REFRAFT_ENTRY_ABANDONED) {
        h->writes_failed++;
        answer_error(&w->client, 409, NULL,
                     "entry %" PRIu64 " was abandoned: its record was lost "
                     "before it committed; write it again",
                     index);
    } else if (w->client.req == NULL) {
        h->writes_ok++;
        w->client.done(w->client.ctx, 201, index, "");
    } else {
        char id[3 * REFRAFT_RECORD_ID_MAX], digest[2 * REFRAFT_DIGEST_LEN + 1];
        /* w->id, not w->ref.id: waiters move when the array does. */
        json_escape_bytes(w->id, w->ref.id_len, id, sizeof id);
        json_hex(w->ref.digest, REFRAFT_DIGEST_LEN, digest);
        char body[1024];
        int n = snprintf(body, sizeof body,
                         "{\"id\":%s,\"index\":%" PRIu64 ",\"size\":%" PRIu64
                         ",\"digest\":\"%s\"}\n",
                         id, index, w->ref.size, digest);
        h->writes_ok++;
        host_respond(w->client.req, 201, "application/json", body, (size_t)n,
                     NULL);
    }
    waiter_remove(h, pos);
}

void host_write_discarded(host *h, refraft_index index)
{
    size_t pos;
    struct host_waiter *w = waiter_find(h, index, &pos);
    if (w == NULL)
        return;
    h->writes_failed++;
    answer_error(&w->client, 503, retry_later,
                 "a new leader removed the entry from this node before it "
                 "committed here; it may still commit through another "
                 "node: read the record before writing it again");
    waiter_remove(h, pos);
}

void host_expire_writes(host *h, bool all)
{
    host_reads_expire(h, all);
    uint64_t now = host_now_ms();
    size_t k = 0;
    while (k < h->n_waiters) {
        struct host_waiter *w = waiter_at(h, k);
        if (!all && w->deadline > now) {
            k++;
            continue;
        }
        h->writes_failed++;
        if (all)
            answer_error(&w->client, 503, NULL,
                         "the node is stopping; the entry may still commit");
        else
            answer_error(&w->client, 504, NULL,
                         "index %" PRIu64 " was not applied within %d ms; "
                         "it may still commit",
                         w->index, HOST_WRITE_TIMEOUT_MS);
        waiter_remove(h, k);
    }
    if (all) {
        for (size_t i = 0; i < h->n_batch; i++)
            answer_error(&h->batch[i].client, 503, NULL,
                         "the node is stopping");
        h->n_batch = 0;
    }
}

struct read_out {
    http_request *req;
};

static void send_bytes(void *ctx, const void *bytes, size_t len)
{
    struct read_out *o = ctx;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    if (refraft_digest(bytes, len, digest) != 0) {
        host_respond_error(o->req, 500, "cannot compute SHA-256");
        return;
    }
    char hdr[REFRAFT_WIRE_DIGEST_HEADER_LEN + 16] = "Repr-Digest: ";
    refraft_wire_format_digest(digest, hdr + strlen(hdr));
    const char *hdrs[] = {hdr, NULL};
    host_respond(o->req, 200, "application/octet-stream", bytes, len, hdrs);
}

/* Only a record whose REF entry this node applied is served: a record is
 * stored before its entry commits, and that entry may still be truncated
 * (the write fails), so holding it proves nothing (applied.c).  A write
 * applied here whose record is not here (records wiped or lost, not yet
 * fetched back by the sweeper) is 503: it exists, just not here yet. */
void host_serve_record(host *h, http_request *req, const uint8_t *id,
                       size_t id_len)
{
    struct host_applied a;
    int rv = host_applied_find(h, id, id_len, &a);
    if (rv == REFRAFT_ENOTFOUND) {
        host_respond_error(req, 404, "no such record here");
        return;
    }
    if (rv != 0) {
        host_respond_error(req, 500, "cannot read the record: %s",
                           refraft_strerror(rv));
        return;
    }
    /* The record held under the id must be the one applied: same size
     * and digest (checked against the digest stored beside it). */
    refraft_ref ref = {.id = id, .id_len = (uint16_t)id_len, .size = a.size};
    memcpy(ref.digest, a.digest, REFRAFT_DIGEST_LEN);
    bool present = false;
    rv = refstore_record_has(h->store, &ref, 1, &present);
    struct read_out o = {req};
    if (rv == 0 && present)
        rv = refstore_record_get(h->store, id, id_len, send_bytes, &o);
    struct host_client c = {.req = req};
    if ((rv == 0 && !present) || rv == REFRAFT_ENOTFOUND)
        answer_error(&c, 503, retry_later,
                     "the record's write was applied (index %" PRIu64
                     ") but the record is not on this node yet: its "
                     "sweeper fetches it; retry, or read it from another "
                     "node",
                     a.index);
    else if (rv != 0)
        host_respond_error(req, 500, "cannot read the record: %s",
                           refstore_errmsg(h->store));
}

/* GET /v1/records/{id}: what this node holds, at once; with
 * ?consistent=1 a linearizable read (reads.c). */
static void serve_read(host *h, http_request *req, const char *enc_id)
{
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t id_len = 0;
    if (refraft_wire_decode_id(enc_id, id, &id_len) != 0) {
        host_respond_error(req, 400, "bad record id in the path");
        return;
    }
    const char *c = http_request_query(req, "consistent");
    if (c != NULL && strcmp(c, "0") != 0 && strcmp(c, "1") != 0) {
        host_respond_error(req, 400, "consistent must be 0 or 1");
        return;
    }
    if (c != NULL && strcmp(c, "1") == 0)
        host_serve_consistent_read(h, req, id, id_len);
    else
        host_serve_record(h, req, id, id_len);
}

bool host_serve_client(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    const char *method = http_request_method(req);
    static const char records[] = "/v1/records/";
    if (host_serve_members(h, req)) /* members.c */
        return true;
    if (strcmp(path, "/v1/records") == 0 && strcmp(method, "POST") == 0)
        accept_write(h, req);
    else if (strncmp(path, records, sizeof records - 1) == 0 &&
             strcmp(method, "GET") == 0)
        serve_read(h, req, path + sizeof records - 1);
    else if (strcmp(path, "/v1/status") == 0 && strcmp(method, "GET") == 0)
        host_serve_status(h, req);
    else if (strcmp(path, "/v1/log") == 0 && strcmp(method, "GET") == 0)
        host_serve_log(h, req);
    else if (strcmp(path, "/metrics") == 0 && strcmp(method, "GET") == 0)
        host_serve_metrics(h, req);
    else
        return false;
    return true;
}
