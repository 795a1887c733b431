/* peers.c - the peer protocol: Raft messages, record pushes and record
 * fetches over HTTP, both the serving and the asking side. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

struct host_peer *host_peer_find(host *h, const char *id)
{
    for (size_t i = 0; i < h->n_peers; i++)
        if (strcmp(h->peers[i].id, id) == 0)
            return &h->peers[i];
    return NULL;
}

/* The headers every peer request carries: the credential, and who sends
 * it from where (so a peer learns a new address after a restart). */
static void peer_headers(host *h, char node_hdr[], size_t node_len,
                         char url_hdr[], size_t url_len, const char *hdrs[],
                         const char *extra1, const char *extra2,
                         const char *extra3)
{
    snprintf(node_hdr, node_len, "Refraft-Node: %s", h->id);
    snprintf(url_hdr, url_len, "Refraft-URL: %s", h->url);
    size_t k = 0;
    hdrs[k++] = h->auth;
    hdrs[k++] = node_hdr;
    hdrs[k++] = url_hdr;
    if (extra1 != NULL)
        hdrs[k++] = extra1;
    if (extra2 != NULL)
        hdrs[k++] = extra2;
    if (extra3 != NULL)
        hdrs[k++] = extra3;
    hdrs[k] = NULL;
}

/* ---- serving peers ---------------------------------------------------- */

/* Constant-time comparison of the bearer token (CRYPTO_memcmp). */
static bool authorized(const host *h, const http_request *req)
{
    const char *a = http_request_header(req, "Authorization");
    static const char prefix[] = "Bearer ";
    if (a == NULL || strncmp(a, prefix, sizeof prefix - 1) != 0)
        return false;
    a += sizeof prefix - 1;
    size_t len = strlen(a), want = strlen(h->token);
    /* Compare equal lengths only, always over the token's length. */
    char given[HOST_TOKEN_MAX + 1];
    memset(given, 0, sizeof given);
    memcpy(given, a, len < HOST_TOKEN_MAX ? len : HOST_TOKEN_MAX);
    bool same = CRYPTO_memcmp(given, h->token, want) == 0;
    return same && len == want;
}

bool host_url_ok(const char *url)
{
    size_t len = strlen(url);
    if (len == 0 || len > HOST_URL_MAX)
        return false;
    const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    if (rest == NULL || *rest == '\0')
        return false;
    for (const char *c = rest; *c != '\0'; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f ||
            *c == '/' || *c == '?' || *c == '#' || *c == '@')
            return false;
    /* Peers must be able to reach it: not a wildcard address. */
    return strncmp(rest, "0.0.0.0", 7) != 0 && strncmp(rest, "[::]", 4) != 0;
}

bool host_id_ok(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > REFRAFT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return false;
    return true;
}

bool host_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    uint64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* A peer that restarted elsewhere says so in its authenticated requests:
 * remember its new address, in memory and in the store's cluster map.
 * Only from a request that was accepted, and whose sender (when its body
 * names one) is the node the header names: bad input changes nothing. */
static void learn_address(host *h, const http_request *req, const char *sender)
{
    const char *id = http_request_header(req, "Refraft-Node");
    const char *url = http_request_header(req, "Refraft-URL");
    if (id == NULL || url == NULL || !host_url_ok(url) ||
        (sender != NULL && strcmp(sender, id) != 0))
        return;
    struct host_peer *p = host_peer_find(h, id);
    if (p == NULL || strcmp(p->url, url) == 0)
        return;
    int rv = refstore_map_set(h->store, id, url);
    if (rv != 0) {
        host_log(h, HOST_LOG_WARN, "cannot save %s's new address %s: %s", id,
                 url, refstore_errmsg(h->store));
        return;
    }
    host_log(h, HOST_LOG_INFO, "peer %s moved from %s to %s", id, p->url, url);
    snprintf(p->url, sizeof p->url, "%s", url);
}

struct reply_buf {
    refraft_wire_buf buf;
    int rv;
    bool set;
};

static void capture_reply(void *ctx, const refraft_msg *result)
{
    struct reply_buf *r = ctx;
    if (r->set)
        return;
    r->rv = refraft_wire_encode_msg(result, &r->buf);
    r->set = r->rv == 0;
}

/* The records that came after the message in the body (Refraft-Msg-Length
 * says where it ends): an AppendEntries' records, from its leader.
 * Returns 0 (none: recs->n is 0) or -1 with err filled. */
static int bundled_records(const uint8_t *body, size_t len,
                           const refraft_wire_msg *m, size_t msg_len,
                           refraft_wire_records *recs, char *err,
                           size_t err_len)
{
    memset(recs, 0, sizeof *recs);
    if (msg_len == len)
        return 0;
    if (m->msg.type != REFRAFT_MSG_APPEND_ENTRIES) {
        snprintf(err, err_len, "records come only with an AppendEntries");
        return -1;
    }
    char why[200];
    if (refraft_wire_decode_records(body + msg_len, len - msg_len, recs, why,
                                    sizeof why) != 0) {
        snprintf(err, err_len, "bad record batch after the message: %s", why);
        return -1;
    }
    if (strcmp(recs->sender_id, m->msg.u.append_entries.leader_id) != 0) {
        snprintf(err, err_len,
                 "records from \"%s\" with a message from "
                 "\"%s\"",
                 recs->sender_id, m->msg.u.append_entries.leader_id);
        refraft_wire_records_free(recs);
        return -1;
    }
    return 0;
}

/* Where the message ends in a body that carries records after it: the
 * Refraft-Msg-Length header (1..len), or len when it is absent.  Returns
 * false for a malformed header. */
static bool message_length(const http_request *req, size_t len, size_t *out)
{
    const char *v = http_request_header(req, "Refraft-Msg-Length");
    uint64_t n;
    if (v == NULL) {
        *out = len;
        return true;
    }
    if (!host_parse_u64(v, &n) || n == 0 || n > len)
        return false;
    *out = (size_t)n;
    return true;
}

/* Deliver m; records that came with it are stored in the transaction of
 * the append it causes (refstore_receive). */
static bool same_ref(const refraft_ref *a, const refraft_ref *b)
{
    return a->id_len == b->id_len && a->size == b->size &&
           memcmp(a->id, b->id, a->id_len) == 0 &&
           memcmp(a->digest, b->digest, REFRAFT_DIGEST_LEN) == 0;
}

/* The records of recs that this AppendEntries' entries name, in their
 * order (the leader sends them so): refs[], bytes[]; how many.  Others
 * are not stored, so that a record travels only with an entry naming it,
 * and none from a batch of another term. */
static size_t named_records(const refraft_append_entries *ae,
                            const refraft_wire_records *recs, refraft_ref *refs,
                            const void **bytes)
{
    size_t m = 0, e = 0;
    if (recs->term != ae->term)
        return 0;
    for (size_t i = 0; i < recs->n; i++) {
        const refraft_ref *ref = &recs->records[i].ref;
        size_t k = e;
        while (k < ae->n_entries &&
               !(ae->entries[k].type == REFRAFT_ENTRY_REF &&
                 same_ref(&ae->entries[k].ref, ref)))
            k++;
        if (k == ae->n_entries)
            continue;
        refs[m] = *ref;
        bytes[m++] = recs->records[i].bytes;
        e = k + 1;
    }
    return m;
}

static int deliver(host *h, const refraft_wire_msg *m,
                   const refraft_wire_records *recs, struct reply_buf *r)
{
    if (recs->n == 0)
        return refraft_on_message(h->node, &m->msg, capture_reply, r);
    refraft_ref *refs = calloc(recs->n, sizeof *refs);
    const void **bytes = calloc(recs->n, sizeof *bytes);
    int rv;
    bool stored = false;
    size_t n = 0;
    if (refs == NULL || bytes == NULL) {
        rv = refraft_on_message(h->node, &m->msg, capture_reply, r);
    } else {
        n = named_records(&m->msg.u.append_entries, recs, refs, bytes);
        rv = refstore_receive(h->store, h->node, refs, bytes, n, &m->msg,
                              capture_reply, r, &stored);
    }
    h->records_received += stored ? n : 0;
    h->records_refused += recs->n - (stored ? n : 0);
    free(refs);
    free(bytes);
    return rv;
}

/* POST /raft/v1/msg: the message goes to the node; its result, if any,
 * is the response body (RPC mode, DESIGN.md contract 2).  An
 * AppendEntries may bring the records its entries name after it in the
 * body (Refraft-Msg-Length: the message's length). */
static void serve_msg(host *h, http_request *req)
{
    size_t len, msg_len;
    const uint8_t *body = http_request_body(req, &len);
    if (!message_length(req, len, &msg_len)) {
        h->peer_requests_refused++;
        host_respond_error(req, 400,
                           "Refraft-Msg-Length must be a number from 1 to "
                           "the body's length, %zu",
                           len);
        return;
    }
    refraft_wire_msg m;
    refraft_wire_records recs;
    char err[256];
    int rv = refraft_wire_decode_msg(body, msg_len, &m, err, sizeof err);
    if (rv != 0) {
        h->peer_requests_refused++;
        host_respond_error(req, 400, "bad message: %s", err);
        return;
    }
    if (bundled_records(body, len, &m, msg_len, &recs, err, sizeof err) != 0) {
        refraft_wire_msg_free(&m);
        h->peer_requests_refused++;
        host_respond_error(req, 400, "%s", err);
        return;
    }
    struct reply_buf r = {0};
    rv = deliver(h, &m, &recs, &r);
    if (recs.n > 0)
        refraft_wire_records_free(&recs);
    if (rv == 0 || rv == REFRAFT_ESTALE) {
        const char *sender = m.msg.type == REFRAFT_MSG_APPEND_ENTRIES
                                 ? m.msg.u.append_entries.leader_id
                             : m.msg.type == REFRAFT_MSG_REQUEST_VOTE
                                 ? m.msg.u.request_vote.candidate_id
                                 : NULL;
        if (sender != NULL)
            learn_address(h, req, sender);
    }
    refraft_wire_msg_free(&m);
    if (rv != 0 && rv != REFRAFT_ESTALE) {
        unsigned status = rv == REFRAFT_EBADMSG || rv == REFRAFT_EINVAL ? 400
                          : rv == REFRAFT_EUNKNOWNPEER                  ? 403
                          : rv == REFRAFT_EFAILED                       ? 503
                                                                        : 500;
        if (status != 500)
            h->peer_requests_refused++;
        host_log(h, status == 500 ? HOST_LOG_ERROR : HOST_LOG_DEBUG,
                 "message refused: %s", refraft_errmsg(h->node));
        refraft_wire_free(&r.buf);
        host_respond_error(req, status, "%s", refraft_errmsg(h->node));
        return;
    }
    if (r.set)
        host_respond(req, 200, "application/x-protobuf", r.buf.data, r.buf.len,
                     NULL);
    else
        host_respond(req, 204, NULL, NULL, 0, NULL);
    refraft_wire_free(&r.buf);
}

struct record_out {
    http_request *req;
    const refraft_ref *ref;
    refraft_index data_index;
    const char *id; /* this node's */
};

static void send_record(void *ctx, const void *bytes, size_t len)
{
    struct record_out *o = ctx;
    char digest[REFRAFT_WIRE_DIGEST_HEADER_LEN + 16];
    char data[64], node_hdr[REFRAFT_ID_MAX + 32];
    strcpy(digest, "Repr-Digest: ");
    refraft_wire_format_digest(o->ref->digest, digest + strlen(digest));
    snprintf(data, sizeof data, "Refraft-Data-Index: %" PRIu64, o->data_index);
    snprintf(node_hdr, sizeof node_hdr, "Refraft-Node: %s", o->id);
    const char *hdrs[] = {digest, data, node_hdr, NULL};
    host_respond(o->req, 200, "application/octet-stream", bytes, len, hdrs);
}

/* GET /raft/v1/records/{id}: a peer's sweeper asks for a record, naming
 * its size, digest and its own term.  200 with the bytes; 404 saying
 * "absent" or "unknown" (refraft_sweeper_answer decides which). */
static void serve_fetch(host *h, http_request *req, const char *enc_id)
{
    refraft_ref ref;
    memset(&ref, 0, sizeof ref);
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    size_t id_len = 0;
    const char *size = http_request_header(req, "Refraft-Ref-Size");
    const char *digest = http_request_header(req, "Refraft-Ref-Digest");
    const char *term = http_request_header(req, "Refraft-Term");
    if (refraft_wire_decode_id(enc_id, id, &id_len) != 0 || size == NULL ||
        digest == NULL || term == NULL ||
        refraft_wire_parse_digest(digest, ref.digest) != 0) {
        h->peer_requests_refused++;
        host_respond_error(req, 400,
                           "a fetch needs a valid id and the headers "
                           "Refraft-Ref-Size, Refraft-Ref-Digest and "
                           "Refraft-Term");
        return;
    }
    refraft_term asker_term = 0;
    if (!host_parse_u64(size, &ref.size) ||
        !host_parse_u64(term, &asker_term)) {
        h->peer_requests_refused++;
        host_respond_error(req, 400,
                           "Refraft-Ref-Size and Refraft-Term must be "
                           "decimal numbers");
        return;
    }
    learn_address(h, req, NULL);
    ref.id = id;
    ref.id_len = (uint16_t)id_len;
    int answer = refraft_sweeper_answer(h->sw, &ref, asker_term);
    char data[64], node_hdr[REFRAFT_ID_MAX + 32];
    snprintf(data, sizeof data, "Refraft-Data-Index: %" PRIu64,
             refraft_data_index(h->node));
    snprintf(node_hdr, sizeof node_hdr, "Refraft-Node: %s", h->id);
    if (answer == REFRAFT_FETCH_OK) {
        struct record_out o = {req, &ref, refraft_data_index(h->node), h->id};
        if (refstore_record_get(h->store, id, id_len, send_record, &o) == 0)
            return;
        answer = REFRAFT_FETCH_FAILED;
    }
    if (answer == REFRAFT_FETCH_FAILED) {
        host_respond_error(req, 500, "the record store could not be read");
        return;
    }
    const char *hdrs[] = {answer == REFRAFT_FETCH_ABSENT
                              ? "Refraft-Answer: absent"
                              : "Refraft-Answer: unknown",
                          data, node_hdr, NULL};
    static const char body[] = "{\"error\":\"no such record here\"}\n";
    host_respond(req, 404, "application/json", body, sizeof body - 1, hdrs);
}

bool host_serve_peer(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    static const char records[] = "/raft/v1/records/";
    if (strncmp(path, "/raft/", 6) != 0)
        return false;
    if (!authorized(h, req)) {
        h->peer_requests_refused++;
        static const char *hdrs[] = {"WWW-Authenticate: Bearer", NULL};
        static const char body[] = "{\"error\":\"the cluster token is "
                                   "missing or wrong\"}\n";
        host_respond(req, 401, "application/json", body, sizeof body - 1, hdrs);
        return true;
    }
    const char *method = http_request_method(req);
    if (h->fault_hook && strcmp(path, "/raft/v1/fault") == 0 &&
        strcmp(method, "POST") == 0) {
        host_serve_fault(h, req);
        return true;
    }
    const char *from = http_request_header(req, "Refraft-Node");
    if (from != NULL && host_fault_drops(h, from)) {
        /* Cut off by the fault hook: as if the request never came. */
        h->fault_dropped++;
        host_respond_error(req, 503, "the fault hook drops %s's requests",
                           from);
        return true;
    }
    if (strcmp(path, "/raft/v1/msg") == 0 && strcmp(method, "POST") == 0)
        serve_msg(h, req);
    else if (strncmp(path, records, sizeof records - 1) == 0 &&
             strcmp(method, "GET") == 0)
        serve_fetch(h, req, path + sizeof records - 1);
    else
        host_respond_error(req, 404, "no such peer endpoint: %s %s", method,
                           path);
    return true;
}

/* ---- asking peers ----------------------------------------------------- */

/* The answer to a message we sent to a peer: a result, and from that
 * peer, handed to the node; anything else is dropped. */
static void msg_done(void *ctx, const http_response *res)
{
    const struct host_peer_ctx *pc = ctx;
    host *h = pc->h;
    const char *peer = h->peers[pc->peer].id;
    if (res->status == 0 || res->status >= 300) {
        h->msgs_failed++;
        host_log(h, HOST_LOG_DEBUG, "message not delivered: %u %s", res->status,
                 res->errmsg != NULL ? res->errmsg : "");
        return;
    }
    if (res->status != 200 || res->len == 0)
        return;
    refraft_wire_msg m;
    char err[256];
    if (refraft_wire_decode_msg(res->body, res->len, &m, err, sizeof err) !=
        0) {
        host_log(h, HOST_LOG_WARN, "bad result from a peer: %s", err);
        return;
    }
    const char *from = m.msg.type == REFRAFT_MSG_APPEND_ENTRIES_RESULT
                           ? m.msg.u.append_entries_result.follower_id
                       : m.msg.type == REFRAFT_MSG_REQUEST_VOTE_RESULT
                           ? m.msg.u.request_vote_result.voter_id
                           : NULL;
    if (from == NULL || strcmp(from, peer) != 0) {
        host_log(h, HOST_LOG_WARN,
                 "the answer from %s's address is not %s's result", peer, peer);
    } else {
        int rv = refraft_on_message(h->node, &m.msg, NULL, NULL);
        if (rv != 0 && rv != REFRAFT_ESTALE)
            host_log(h, HOST_LOG_DEBUG, "result refused: %s",
                     refraft_errmsg(h->node));
    }
    refraft_wire_msg_free(&m);
}

/* The records an AppendEntries' entries name, read from this node's
 * store to travel with it: the follower stores them in the transaction
 * of the append (refstore_receive), so it has a record as soon as the
 * entry naming it.  Records this store lacks are left out (the sweeper
 * fetches them), and so is everything past HOST_BUNDLE_MAX bytes. */
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

static int attach_records(host *h, const refraft_msg *msg, struct attached *a)
{
    memset(a, 0, sizeof *a);
    if (h->no_push || msg->type != REFRAFT_MSG_APPEND_ENTRIES)
        return 0;
    const refraft_append_entries *ae = &msg->u.append_entries;
    refraft_ref *refs = calloc(ae->n_entries + 1, sizeof *refs);
    bool *present = calloc(ae->n_entries + 1, sizeof *present);
    a->recs = calloc(ae->n_entries + 1, sizeof *a->recs);
    size_t m = 0;
    uint64_t total = 0;
    int rv =
        refs != NULL && present != NULL && a->recs != NULL ? 0 : REFRAFT_ENOMEM;
    for (size_t i = 0; rv == 0 && i < ae->n_entries; i++) {
        const refraft_entry *e = &ae->entries[i];
        if (e->type != REFRAFT_ENTRY_REF ||
            total + e->ref.size > HOST_BUNDLE_MAX)
            continue;
        total += e->ref.size;
        refs[m++] = e->ref;
    }
    if (rv == 0 && m > 0)
        rv = refstore_record_has(h->store, refs, m, present);
    if (rv == 0 && m > 0) {
        a->cap = (size_t)total;
        a->bytes = malloc(a->cap + 1);
        rv = a->bytes != NULL ? 0 : REFRAFT_ENOMEM;
    }
    for (size_t i = 0; rv == 0 && i < m; i++) {
        if (!present[i])
            continue;
        size_t at = a->len;
        if (refstore_record_get(h->store, refs[i].id, refs[i].id_len,
                                copy_record, a) != 0 ||
            a->len - at != refs[i].size) {
            a->len = at;
            continue;
        }
        a->recs[a->n].ref = refs[i];
        a->recs[a->n].bytes = a->bytes + at;
        a->n++;
    }
    free(refs);
    free(present);
    if (rv != 0)
        attached_free(a);
    return rv;
}

/* The body of a message with records after it: msg's bytes, then the
 * record batch; *msg_len says where the first ends. */
static int encode_bundle(host *h, const refraft_msg *msg,
                         const refraft_wire_record *recs, size_t n,
                         refraft_wire_buf *out, size_t *msg_len)
{
    refraft_wire_buf m, r;
    int rv = refraft_wire_encode_msg(msg, &m);
    if (rv != 0)
        return rv;
    rv = refraft_wire_encode_records(h->id, refraft_current_term(h->node), recs,
                                     n, &r);
    if (rv != 0) {
        refraft_wire_free(&m);
        return rv;
    }
    uint8_t *both = malloc(m.len + r.len);
    if (both != NULL) {
        memcpy(both, m.data, m.len);
        memcpy(both + m.len, r.data, r.len);
    }
    *msg_len = m.len;
    out->len = m.len + r.len;
    refraft_wire_free(&m);
    refraft_wire_free(&r);
    out->data = both;
    return both != NULL ? 0 : REFRAFT_ENOMEM;
}

int host_send_msg(void *ctx, const char *to_id, const refraft_msg *msg)
{
    host *h = ctx;
    struct host_peer *p = host_peer_find(h, to_id);
    if (p == NULL)
        return REFRAFT_EUNKNOWNPEER;
    if (host_fault_drops(h, to_id)) {
        /* Lost on the way (the fault hook): the core counts it lost. */
        h->fault_dropped++;
        h->msgs_failed++;
        return REFRAFT_EIO;
    }
    size_t msg_len = 0;
    struct attached a;
    if (attach_records(h, msg, &a) != 0)
        host_log(h, HOST_LOG_WARN, "cannot read records to send: %s",
                 refstore_errmsg(h->store));
    size_t n_recs = a.n;
    refraft_wire_buf buf;
    int rv = n_recs > 0 ? encode_bundle(h, msg, a.recs, n_recs, &buf, &msg_len)
                        : refraft_wire_encode_msg(msg, &buf);
    attached_free(&a);
    if (rv != 0)
        return rv;
    char url[HOST_URL_MAX + 32], node_hdr[96], url_hdr[HOST_URL_MAX + 16];
    char len_hdr[64];
    snprintf(url, sizeof url, "%s/raft/v1/msg", p->url);
    snprintf(len_hdr, sizeof len_hdr, "Refraft-Msg-Length: %zu", msg_len);
    const char *hdrs[8];
    peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr, hdrs,
                 "Content-Type: application/x-protobuf",
                 n_recs > 0 ? len_hdr : NULL, NULL);
    rv = http_client_request(h->msg_cli, "POST", url, hdrs, buf.data, buf.len,
                             HOST_MSG_TIMEOUT_MS, msg_done,
                             &h->peer_ctx[p - h->peers], NULL);
    if (n_recs > 0)
        free(buf.data);
    else
        refraft_wire_free(&buf);
    if (rv == 0)
        h->records_sent += n_recs;
    if (rv == 0)
        h->msgs_sent++;
    else
        h->msgs_failed++;
    return rv;
}

/* ---- the sweeper's fetcher -------------------------------------------- */

struct fetch_ctx {
    host *h;
    uint64_t token;
    char peer[REFRAFT_ID_MAX + 1];
};

static void fetch_forget(host *h, uint64_t token)
{
    for (size_t k = 0; k < h->n_fetches; k++)
        if (h->fetches[k].token == token) {
            h->fetches[k] = h->fetches[--h->n_fetches];
            return;
        }
}

static void fetch_done(void *ctx, const http_response *res)
{
    struct fetch_ctx fc = *(struct fetch_ctx *)ctx;
    free(ctx);
    host *h = fc.h;
    fetch_forget(h, fc.token);
    refraft_fetch_result r = {.token = fc.token,
                              .status = REFRAFT_FETCH_FAILED};
    const char *data = http_response_header(res, "Refraft-Data-Index");
    if (data != NULL && !host_parse_u64(data, &r.peer_data_index))
        r.peer_data_index = 0;
    const char *answer = http_response_header(res, "Refraft-Answer");
    const char *who = http_response_header(res, "Refraft-Node");
    if (who == NULL || strcmp(who, fc.peer) != 0) {
        /* Another process at the peer's address: its answer is not the
         * peer's (an "absent" counted twice could void a record). */
        r.status = REFRAFT_FETCH_FAILED;
    } else if (res->status == 200) {
        r.status = REFRAFT_FETCH_OK;
        r.bytes = res->body;
        r.len = res->len;
    } else if (res->status == 404 && answer != NULL) {
        r.status = strcmp(answer, "absent") == 0 ? REFRAFT_FETCH_ABSENT
                                                 : REFRAFT_FETCH_UNKNOWN;
    }
    int rv = refraft_sweeper_on_fetch(h->sw, &r);
    if (rv != 0)
        host_log(h, HOST_LOG_WARN, "storing a fetched record failed: %s",
                 refraft_strerror(rv));
}

int host_fetch_start(void *ctx, const refraft_fetch_request *req)
{
    host *h = ctx;
    struct host_peer *p = host_peer_find(h, req->peer_id);
    if (p == NULL)
        return REFRAFT_EUNKNOWNPEER;
    if (host_fault_drops(h, req->peer_id)) {
        /* Cut off by the fault hook: the fetch fails at once (FAILED). */
        h->fault_dropped++;
        return REFRAFT_EIO;
    }
    if (h->n_fetches == h->fetches_cap) {
        size_t cap = h->fetches_cap ? 2 * h->fetches_cap : 64;
        void *f = realloc(h->fetches, cap * sizeof *h->fetches);
        if (f == NULL)
            return REFRAFT_ENOMEM;
        h->fetches = f;
        h->fetches_cap = cap;
    }
    struct fetch_ctx *fc = malloc(sizeof *fc);
    if (fc == NULL)
        return REFRAFT_ENOMEM;
    fc->h = h;
    fc->token = req->token;
    snprintf(fc->peer, sizeof fc->peer, "%s", req->peer_id);
    char enc[3 * REFRAFT_RECORD_ID_MAX + 1];
    refraft_wire_encode_id(req->ref->id, req->ref->id_len, enc);
    char url[HOST_URL_MAX + sizeof enc + 32];
    snprintf(url, sizeof url, "%s/raft/v1/records/%s", p->url, enc);
    char size[64], term[64], digest[REFRAFT_WIRE_DIGEST_HEADER_LEN + 32];
    snprintf(size, sizeof size, "Refraft-Ref-Size: %" PRIu64, req->ref->size);
    snprintf(term, sizeof term, "Refraft-Term: %" PRIu64, req->term);
    strcpy(digest, "Refraft-Ref-Digest: ");
    refraft_wire_format_digest(req->ref->digest, digest + strlen(digest));
    char node_hdr[96], url_hdr[HOST_URL_MAX + 16];
    const char *hdrs[8];
    peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr, hdrs,
                 size, term, digest);
    uint64_t http_id = 0;
    int rv =
        http_client_request(h->cli, "GET", url, hdrs, NULL, 0,
                            HOST_FETCH_TIMEOUT_MS, fetch_done, fc, &http_id);
    if (rv != 0) {
        free(fc);
        return rv;
    }
    h->fetches[h->n_fetches++] = (struct host_fetch){req->token, http_id, fc};
    return 0;
}

void host_fetch_cancel(void *ctx, uint64_t token)
{
    host *h = ctx;
    for (size_t k = 0; k < h->n_fetches; k++)
        if (h->fetches[k].token == token) {
            /* The callback will not run: its context is ours to free. */
            http_client_cancel(h->cli, h->fetches[k].http_id);
            free(h->fetches[k].ctx);
            h->fetches[k] = h->fetches[--h->n_fetches];
            return;
        }
}
