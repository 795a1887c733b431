/* service.c - the record service clients talk to: writes go to the
 * leader, which stores each record and proposes its reference (group
 * commit: the writes of one loop turn share one transaction and one sync)
 * and answers once the entry is applied; reads are served anywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "json.h"

/* Largest record a client may write. */
#define HOST_RECORD_MAX REFRAFT_WIRE_MAX_RECORD

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256(const void *bytes, size_t len, uint8_t *digest)
{
    unsigned int n = 0;
    return EVP_Digest(bytes, len, digest, &n, EVP_sha256(), NULL) == 1
               ? 0
               : REFRAFT_ENOMEM;
}

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

/* Not the leader: send the client there, or ask it to come back. */
static void redirect(host *h, http_request *req)
{
    const char *leader = refraft_leader_id(h->node);
    struct host_peer *p = leader != NULL ? host_peer_find(h, leader) : NULL;
    if (p == NULL) {
        static const char *hdrs[] = {"Retry-After: 1", NULL};
        static const char body[] = "{\"error\":\"no leader is known; "
                                   "retry\"}\n";
        host_respond(req, 503, "application/json", body, sizeof body - 1, hdrs);
        return;
    }
    char location[HOST_URL_MAX + 32], who[REFRAFT_ID_MAX + 32];
    snprintf(location, sizeof location, "Location: %s/v1/records", p->url);
    snprintf(who, sizeof who, "Refraft-Leader: %s", p->id);
    const char *hdrs[] = {location, who, NULL};
    static const char body[] = "{\"error\":\"this node is not the "
                               "leader\"}\n";
    host_respond(req, 307, "application/json", body, sizeof body - 1, hdrs);
}

static void accept_write(host *h, http_request *req)
{
    if (refraft_role(h->node) != REFRAFT_LEADER) {
        redirect(h, req);
        return;
    }
    size_t len;
    const uint8_t *body = http_request_body(req, &len);
    if (len == 0 || len > HOST_RECORD_MAX) {
        host_respond_error(req, len == 0 ? 400 : 413,
                           "a record has 1 to %u bytes, not %zu",
                           (unsigned)HOST_RECORD_MAX, len);
        return;
    }
    struct host_write *w = &h->batch[h->n_batch];
    memset(w, 0, sizeof *w);
    if (sha256(body, len, w->ref.digest) != 0) {
        host_respond_error(req, 500, "cannot compute SHA-256");
        return;
    }
    const char *id = http_request_header(req, "Refraft-Record-Id");
    char hexid[2 * REFRAFT_DIGEST_LEN + 1];
    if (id == NULL) {
        hex(w->ref.digest, REFRAFT_DIGEST_LEN, hexid);
        id = hexid;
    } else if (!id_ok(id)) {
        host_respond_error(req, 400,
                           "Refraft-Record-Id must be 1 to 255 printable "
                           "ASCII bytes");
        return;
    }
    w->req = req;
    w->ref.id_len = (uint16_t)strlen(id);
    memcpy(w->id, id, w->ref.id_len);
    w->ref.id = w->id;
    w->ref.size = len;
    w->bytes = body;
    if (++h->n_batch == HOST_BATCH_MAX)
        host_flush_writes(h);
}

/* Room for n more waiters. */
static int waiters_reserve(host *h, size_t n)
{
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
    struct host_waiter *wt = &h->waiters[h->n_waiters++];
    wt->index = index;
    wt->req = w->req;
    wt->deadline = host_now_ms() + HOST_WRITE_TIMEOUT_MS;
    wt->ref = w->ref;
    memcpy(wt->id, w->id, w->ref.id_len);
    wt->ref.id = NULL; /* wt moves with the array: use wt->id */
}

static void fail_writes(host *h, struct host_write *ws, size_t n, int rv)
{
    for (size_t i = 0; i < n; i++) {
        h->writes_failed++;
        if (rv == REFRAFT_ENOTLEADER || rv == REFRAFT_ENOLEADER)
            redirect(h, ws[i].req);
        else if (rv == REFRAFT_EDIGEST)
            host_respond_error(ws[i].req, 409,
                               "another record is stored under this id");
        else
            host_respond_error(ws[i].req, 500, "cannot store the record: %s",
                               refstore_errmsg(h->store));
    }
}

/* One refstore_propose for n writes: the records and their references in
 * one transaction and one sync, then pushed to the followers. */
static int propose(host *h, struct host_write *ws, size_t n)
{
    refraft_ref *refs = h->prop_refs;
    const void **bytes = h->prop_bytes;
    refraft_wire_record *recs = h->prop_recs;
    for (size_t i = 0; i < n; i++) {
        refs[i] = ws[i].ref;
        refs[i].id = ws[i].id;
        bytes[i] = ws[i].bytes;
        recs[i].ref = refs[i];
        recs[i].bytes = ws[i].bytes;
    }
    /* The clients wait from before the proposal: a node alone commits
     * and applies inside it.  The entries land right after the log's
     * last one. */
    int rv = waiters_reserve(h, n);
    if (rv != 0)
        return rv;
    /* The records leave first, so a follower normally has them when the
     * entries naming them arrive (a proposal that then fails leaves them
     * unnamed there, which costs space, not correctness). */
    if (refraft_role(h->node) == REFRAFT_LEADER)
        host_push_records(h, recs, n);
    refraft_index expect = refraft_last_index(h->node) + 1;
    for (size_t i = 0; i < n; i++)
        waiter_add(h, expect + i, &ws[i]);
    refraft_index first = 0;
    rv = refstore_propose(h->store, h->node, refs, bytes, n, &first);
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
    int rv = propose(h, h->batch, n);
    if (rv == 0)
        return;
    if (rv != REFRAFT_EDIGEST && rv != REFRAFT_EINVAL) {
        fail_writes(h, h->batch, n, rv);
        return;
    }
    /* One record spoiled the batch: propose them one by one, so only it
     * fails. */
    for (size_t i = 0; i < n; i++) {
        rv = propose(h, &h->batch[i], 1);
        if (rv != 0)
            fail_writes(h, &h->batch[i], 1, rv);
    }
}

/* The waiter for index, or NULL (waiters are in index order). */
static struct host_waiter *
waiter_find(host *h, refraft_index index, size_t *pos)
{
    size_t lo = 0, hi = h->n_waiters;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->waiters[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < h->n_waiters && h->waiters[lo].index == index ? &h->waiters[lo]
                                                              : NULL;
}

static void waiter_remove(host *h, size_t pos)
{
    memmove(&h->waiters[pos], &h->waiters[pos + 1],
            (h->n_waiters - pos - 1) * sizeof *h->waiters);
    h->n_waiters--;
}

void host_write_applied(host *h, refraft_index index,
                        const refraft_entry *entry)
{
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
        host_respond_error(w->req, 503,
                           "index %" PRIu64 " holds another entry: the "
                           "write was lost with a change of leader; write "
                           "it again",
                           index);
    } else if (entry->type == REFRAFT_ENTRY_ABANDONED) {
        h->writes_failed++;
        host_respond_error(w->req, 409,
                           "entry %" PRIu64 " was abandoned: its record was "
                           "lost before it committed; write it again",
                           index);
    } else {
        char id[3 * REFRAFT_RECORD_ID_MAX], digest[2 * REFRAFT_DIGEST_LEN + 1];
        /* w->id, not w->ref.id: waiters move when the array does. */
        json_escape_bytes(w->id, w->ref.id_len, id, sizeof id);
        hex(w->ref.digest, REFRAFT_DIGEST_LEN, digest);
        char body[1024];
        int n = snprintf(body, sizeof body,
                         "{\"id\":%s,\"index\":%" PRIu64 ",\"size\":%" PRIu64
                         ",\"digest\":\"%s\"}\n",
                         id, index, w->ref.size, digest);
        h->writes_ok++;
        host_respond(w->req, 201, "application/json", body, (size_t)n, NULL);
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
    static const char *hdrs[] = {"Retry-After: 1", NULL};
    static const char body[] = "{\"error\":\"a new leader removed the "
                               "entry from this node before it committed "
                               "here; it may still commit through another "
                               "node: read the record before writing it "
                               "again\"}\n";
    host_respond(w->req, 503, "application/json", body, sizeof body - 1, hdrs);
    waiter_remove(h, pos);
}

void host_expire_writes(host *h, bool all)
{
    uint64_t now = host_now_ms();
    size_t k = 0;
    while (k < h->n_waiters) {
        struct host_waiter *w = &h->waiters[k];
        if (!all && w->deadline > now) {
            k++;
            continue;
        }
        h->writes_failed++;
        if (all)
            host_respond_error(w->req, 503,
                               "the node is stopping; the entry may still "
                               "commit");
        else
            host_respond_error(w->req, 504,
                               "index %" PRIu64 " was not applied within "
                               "%d ms; it may still commit",
                               w->index, HOST_WRITE_TIMEOUT_MS);
        waiter_remove(h, k);
    }
    if (all) {
        for (size_t i = 0; i < h->n_batch; i++)
            host_respond_error(h->batch[i].req, 503, "the node is stopping");
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
    if (sha256(bytes, len, digest) != 0) {
        host_respond_error(o->req, 500, "cannot compute SHA-256");
        return;
    }
    char hdr[REFRAFT_WIRE_DIGEST_HEADER_LEN + 16] = "Repr-Digest: ";
    refraft_wire_format_digest(digest, hdr + strlen(hdr));
    const char *hdrs[] = {hdr, NULL};
    host_respond(o->req, 200, "application/octet-stream", bytes, len, hdrs);
}

static void serve_read(host *h, http_request *req, const char *enc_id)
{
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t id_len = 0;
    if (refraft_wire_decode_id(enc_id, id, &id_len) != 0) {
        host_respond_error(req, 400, "bad record id in the path");
        return;
    }
    struct read_out o = {req};
    int rv = refstore_record_get(h->store, id, id_len, send_bytes, &o);
    if (rv == REFRAFT_ENOTFOUND)
        host_respond_error(req, 404, "no such record here");
    else if (rv != 0)
        host_respond_error(req, 500, "cannot read the record: %s",
                           refstore_errmsg(h->store));
}

bool host_serve_client(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    const char *method = http_request_method(req);
    static const char records[] = "/v1/records/";
    if (strcmp(path, "/v1/records") == 0 && strcmp(method, "POST") == 0)
        accept_write(h, req);
    else if (strncmp(path, records, sizeof records - 1) == 0 &&
             strcmp(method, "GET") == 0)
        serve_read(h, req, path + sizeof records - 1);
    else if (strcmp(path, "/v1/status") == 0 && strcmp(method, "GET") == 0)
        host_serve_status(h, req);
    else if (strcmp(path, "/metrics") == 0 && strcmp(method, "GET") == 0)
        host_serve_metrics(h, req);
    else
        return false;
    return true;
}
