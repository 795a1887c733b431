/* peers.c - the peer protocol: Raft messages with the records they carry,
 * both the serving and the asking side, and the serving side of the
 * sweeper's fetches (fetcher.c asks). */
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

/* A slot for id, not a member yet: a free one, else one no member holds
 * (its old occupant's late answers no longer match: msg_done).  NULL
 * when every slot holds a member, which cannot happen for a member of a
 * configuration (at most REFRAFT_MAX_PEERS, this node included). */
static struct host_peer *peer_slot(host *h, const char *id, const char *url)
{
    size_t k = h->n_peers;
    if (k == HOST_PEERS_MAX) {
        k = 0;
        while (k < h->n_peers && h->peers[k].member)
            k++;
        if (k == h->n_peers)
            return NULL;
    } else {
        h->n_peers++;
    }
    struct host_peer *p = &h->peers[k];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->url, sizeof p->url, "%s", url);
    h->dropping[k] = false;
    h->peer_ctx[k] = (struct host_peer_ctx){h, k};
    return p;
}

/* Whether the table's view of p changes to member/voter with address
 * addr from the configuration; updates it. */
static bool
follow_member(host *h, struct host_peer *p, const char *addr, bool voter)
{
    bool changed = !p->member || p->voter != voter;
    /* A server that (re)joins comes with the address it was added at; a
     * member keeps the one its accepted requests gave. */
    if (addr[0] != '\0' && (!p->member || p->url[0] == '\0') &&
        strcmp(p->url, addr) != 0 && host_url_ok(addr)) {
        host_log(h, HOST_LOG_INFO, "peer %s is at %s", p->id, addr);
        snprintf(p->url, sizeof p->url, "%s", addr);
        changed = true;
    }
    p->member = true;
    p->voter = voter;
    return changed;
}

/* Log once each time this node's place in the configuration changes:
 * added (as a learner or a voter), promoted, removed.  h->self_member is
 * -1 before the first look, then 0 (not a member), 1 (learner) or 2
 * (voter). */
static void note_self(host *h, bool member, bool voter)
{
    int now = member ? (voter ? 2 : 1) : 0;
    int was = h->self_member;
    h->self_member = now;
    if (now == was || (was == -1 && now == 2))
        return;
    unsigned long long at = (unsigned long long)refraft_config_index(h->node);
    if (now > 0)
        host_log(h, HOST_LOG_INFO,
                 "the configuration at index %llu names this node a %s", at,
                 now == 2 ? "voter" : "learner");
    else if (was > 0)
        host_log(h, HOST_LOG_WARN,
                 "the configuration at index %llu no longer names this "
                 "node: it takes no part in the cluster any more and "
                 "serves reads of what it holds",
                 at);
    else
        host_log(h, HOST_LOG_INFO,
                 "not a member of the cluster: waiting to be added");
}

void host_peers_sync(host *h)
{
    if (h->node == NULL)
        return;
    bool seen[HOST_PEERS_MAX] = {false};
    bool self = false, self_voter = false;
    size_t n = refraft_n_members(h->node);
    for (size_t i = 0; i < n; i++) {
        refraft_member m;
        if (refraft_member_get(h->node, i, &m) != 0)
            continue;
        if (strcmp(m.id, h->id) == 0) {
            self = true;
            self_voter = m.voter;
            continue;
        }
        const char *addr = m.address != NULL ? m.address : "";
        struct host_peer *p = host_peer_find(h, m.id);
        if (p == NULL) {
            p = peer_slot(h, m.id, host_url_ok(addr) ? addr : "");
            if (p == NULL) {
                host_log(h, HOST_LOG_ERROR, "no room for peer %s", m.id);
                continue;
            }
            host_log(h, HOST_LOG_INFO, "peer %s joins%s%s", m.id,
                     p->url[0] != '\0' ? " at " : " (address unknown)", p->url);
            p->member = true;
            p->voter = m.voter;
            h->peers_dirty = true;
        } else if (follow_member(h, p, addr, m.voter)) {
            h->peers_dirty = true;
        }
        seen[p - h->peers] = true;
    }
    for (size_t k = 0; k < h->n_peers; k++) {
        if (seen[k] || !h->peers[k].member)
            continue;
        /* Kept, so that answers in flight still find their slot; nothing
         * more is sent to it (host_send_msg). */
        host_log(h, HOST_LOG_INFO, "peer %s is no longer a member",
                 h->peers[k].id);
        h->peers[k].member = false;
        h->peers[k].voter = false;
        h->peers_dirty = true;
    }
    note_self(h, self, self_voter);
}

struct map_gone {
    host *h;
    char ids[4 * REFRAFT_MAX_PEERS][REFRAFT_ID_MAX + 1];
    size_t n;
};

static int note_gone(void *ctx, const char *node_id, const char *url)
{
    (void)url;
    struct map_gone *g = ctx;
    const struct host_peer *p = host_peer_find(g->h, node_id);
    if ((p == NULL || !p->member) && g->n < sizeof g->ids / sizeof g->ids[0])
        snprintf(g->ids[g->n++], sizeof g->ids[0], "%s", node_id);
    return 0;
}

void host_peers_save(host *h)
{
    if (!h->peers_dirty)
        return;
    h->peers_dirty = false;
    int rv = 0;
    for (size_t k = 0; rv == 0 && k < h->n_peers; k++)
        if (h->peers[k].member && h->peers[k].url[0] != '\0')
            rv = refstore_map_set(h->store, h->peers[k].id, h->peers[k].url);
    struct map_gone *g = rv == 0 ? calloc(1, sizeof *g) : NULL;
    if (g != NULL) {
        g->h = h;
        rv = refstore_map_list(h->store, note_gone, g);
        for (size_t i = 0; rv == 0 && i < g->n; i++)
            rv = refstore_map_delete(h->store, g->ids[i]);
        free(g);
    }
    if (rv != 0)
        host_log(h, HOST_LOG_WARN, "cannot update the cluster map: %s",
                 refstore_errmsg(h->store));
}

/* The headers every peer request carries: the credential, and who sends
 * it from where (so a peer learns a new address after a restart). */
void host_peer_headers(host *h, char node_hdr[], size_t node_len,
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
bool host_peer_authorized(const host *h, const http_request *req)
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

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

bool host_decode_id(const char *s, size_t len, char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || n == REFRAFT_ID_MAX)
            return false;
        id[n++] = (char)c;
    }
    id[n] = '\0';
    return host_id_ok(id);
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
    if (!host_id_ok(id) || strcmp(id, h->id) == 0)
        return;
    struct host_peer *p = host_peer_find(h, id);
    if (p == NULL) {
        /* A sender the table lacks (a leader this node has not seen in
         * a configuration yet, a learner answering): the core took its
         * request, so its answers must find their way back.  Kept in
         * memory only: the cluster map holds members. */
        p = peer_slot(h, id, url);
        if (p != NULL)
            host_log(h, HOST_LOG_INFO, "peer %s is at %s", id, url);
        return;
    }
    if (strcmp(p->url, url) == 0)
        return;
    if (p->member) {
        int rv = refstore_map_set(h->store, id, url);
        if (rv != 0) {
            host_log(h, HOST_LOG_WARN, "cannot save %s's new address %s: %s",
                     id, url, refstore_errmsg(h->store));
            return;
        }
    }
    host_log(h, HOST_LOG_INFO, "peer %s moved from %s to %s", id,
             p->url[0] != '\0' ? p->url : "(unknown)", url);
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
                 refraft_ref_equal(&ae->entries[k].ref, ref)))
            k++;
        if (k == ae->n_entries)
            continue;
        refs[m] = *ref;
        bytes[m++] = recs->records[i].bytes;
        e = k + 1;
    }
    return m;
}

/* Deliver m; records that came with it are stored in the transaction of
 * the append it causes (refstore_receive). */
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
                             : m.msg.type == REFRAFT_MSG_TIMEOUT_NOW
                                 ? m.msg.u.timeout_now.leader_id
                             : m.msg.type == REFRAFT_MSG_INSTALL_SNAPSHOT
                                 ? m.msg.u.install_snapshot.leader_id
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

/* What a fetch response is built from: each answer, and the bytes of
 * the OK ones one after the other (the answers point into it once it has
 * stopped moving). */
struct fetch_out {
    refraft_wire_fetch_answer *answers;
    uint8_t *bytes;
    size_t len, cap;
    bool copied; /* the last record read fitted and was copied */
};

static void copy_answer(void *ctx, const void *bytes, size_t len)
{
    struct fetch_out *o = ctx;
    o->copied = false;
    if (len > HOST_FETCH_ANSWER_MAX - o->len)
        return;
    if (o->len + len > o->cap) {
        size_t cap = o->cap != 0 ? 2 * o->cap : 64 * 1024;
        while (cap < o->len + len)
            cap *= 2;
        if (cap > HOST_FETCH_ANSWER_MAX)
            cap = HOST_FETCH_ANSWER_MAX;
        uint8_t *p = realloc(o->bytes, cap);
        if (p == NULL)
            return;
        o->bytes = p;
        o->cap = cap;
    }
    if (len > 0)
        memcpy(o->bytes + o->len, bytes, len);
    o->len += len;
    o->copied = true;
}

/* Answer each ref of fr as refraft_sweeper_answer says, reading the
 * records this node holds.  Once the bytes would pass
 * HOST_FETCH_ANSWER_MAX, the ref that does not fit and all after it are
 * FAILED: the asker asks again. */
static void
answer_refs(host *h, const refraft_wire_fetch_request *fr, struct fetch_out *o)
{
    bool full = false;
    for (size_t i = 0; i < fr->n; i++) {
        const refraft_ref *ref = &fr->refs[i];
        refraft_wire_fetch_answer *a = &o->answers[i];
        a->status = REFRAFT_FETCH_FAILED;
        if (full)
            continue;
        if (ref->size > HOST_FETCH_ANSWER_MAX - o->len) {
            full = true;
            continue;
        }
        a->status = refraft_sweeper_answer(h->sw, ref, fr->term);
        if (a->status != REFRAFT_FETCH_OK)
            continue;
        size_t at = o->len;
        if (refstore_record_get(h->store, ref->id, ref->id_len, copy_answer,
                                o) != 0 ||
            !o->copied) {
            o->len = at;
            a->status = REFRAFT_FETCH_FAILED;
            continue;
        }
        a->len = o->len - at;
    }
    /* The bytes stay where they are now. */
    size_t at = 0;
    for (size_t i = 0; i < fr->n; i++) {
        if (o->answers[i].status != REFRAFT_FETCH_OK)
            continue;
        o->answers[i].bytes = o->bytes + at;
        at += o->answers[i].len;
    }
}

/* POST /raft/v1/fetch: a peer's sweeper asks for records it lacks, by
 * reference, in its term.  200 with a FetchResponse answering each in
 * order (OK with the bytes, ABSENT or UNKNOWN as refraft_sweeper_answer
 * decides, FAILED when unread); 400 for a malformed request, which
 * changes nothing. */
static void serve_fetch(host *h, http_request *req)
{
    size_t len;
    const uint8_t *body = http_request_body(req, &len);
    refraft_wire_fetch_request fr;
    char err[256];
    int rv = refraft_wire_decode_fetch_request(body, len, &fr, err, sizeof err);
    if (rv != 0) {
        if (rv == REFRAFT_EBADMSG)
            h->peer_requests_refused++;
        host_respond_error(req, rv == REFRAFT_EBADMSG ? 400 : 500,
                           "bad fetch: %s", err);
        return;
    }
    learn_address(h, req, fr.sender_id);
    struct fetch_out o = {.answers = calloc(fr.n, sizeof *o.answers)};
    refraft_wire_buf out = {NULL, 0};
    rv = o.answers != NULL ? 0 : REFRAFT_ENOMEM;
    if (rv == 0) {
        answer_refs(h, &fr, &o);
        rv = refraft_wire_encode_fetch_response(
            h->id, refraft_data_index(h->node), o.answers, fr.n, &out);
    }
    if (rv == 0)
        host_respond(req, 200, "application/x-protobuf", out.data, out.len,
                     NULL);
    else
        host_respond_error(req, 500, "cannot answer the fetch: %s",
                           refraft_strerror(rv));
    refraft_wire_free(&out);
    free(o.answers);
    free(o.bytes);
    refraft_wire_fetch_request_free(&fr);
}

bool host_serve_peer(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    if (strncmp(path, "/raft/", 6) != 0)
        return false;
    if (!host_peer_authorized(h, req)) {
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
    else if (strcmp(path, "/raft/v1/fetch") == 0 && strcmp(method, "POST") == 0)
        serve_fetch(h, req);
    else if (strcmp(path, "/raft/v1/read-index") == 0 &&
             strcmp(method, "POST") == 0)
        host_serve_read_index(h, req); /* reads.c */
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
                       : m.msg.type == REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT
                           ? m.msg.u.install_snapshot_result.follower_id
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

int host_send_msg(void *ctx, const char *to_id, const refraft_msg *msg)
{
    host *h = ctx;
    struct host_peer *p = host_peer_find(h, to_id);
    if (p == NULL || !p->member || p->url[0] == '\0') {
        /* The configuration may have changed inside the call that sends
         * (a change appended, its event not yet out): look again. */
        host_peers_sync(h);
        p = host_peer_find(h, to_id);
    }
    if (p == NULL || !p->member || p->url[0] == '\0') {
        host_log(h, HOST_LOG_DEBUG, "no message to %s: %s", to_id,
                 p == NULL    ? "not a peer"
                 : !p->member ? "not a member any more"
                              : "its address is not known yet");
        h->msgs_failed++;
        return REFRAFT_EUNKNOWNPEER;
    }
    if (host_fault_drops(h, to_id)) {
        /* Lost on the way (the fault hook): the core counts it lost. */
        h->fault_dropped++;
        h->msgs_failed++;
        return REFRAFT_EIO;
    }
    uint8_t *body;
    size_t len, msg_len, n_recs;
    int rv = host_bundle_encode(h, msg, &body, &len, &msg_len, &n_recs);
    if (rv != 0) {
        /* The core's message does not pass the codec: a bug to see. */
        host_log(h, HOST_LOG_ERROR,
                 "cannot encode a message (type %u) to %s: %s",
                 (unsigned)msg->type, to_id, refraft_strerror(rv));
        h->msgs_failed++;
        return rv;
    }
    char url[HOST_URL_MAX + 32], node_hdr[96], url_hdr[HOST_URL_MAX + 16];
    char len_hdr[64];
    snprintf(url, sizeof url, "%s/raft/v1/msg", p->url);
    snprintf(len_hdr, sizeof len_hdr, "Refraft-Msg-Length: %zu", msg_len);
    const char *hdrs[8];
    host_peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr,
                      hdrs, "Content-Type: application/x-protobuf",
                      n_recs > 0 ? len_hdr : NULL, NULL);
    rv = http_client_request_take(h->msg_cli, url, hdrs, body, len,
                                  HOST_MSG_TIMEOUT_MS, msg_done,
                                  &h->peer_ctx[p - h->peers], NULL);
    if (rv == 0)
        h->records_sent += n_recs;
    if (rv == 0)
        h->msgs_sent++;
    else
        h->msgs_failed++;
    return rv;
}
