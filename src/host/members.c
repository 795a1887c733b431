/* members.c - the client endpoints of membership changes and leadership
 * transfer (docs/operations.md): list the members, add a learner,
 * promote it, remove a server, hand leadership over; each change is
 * answered once its CONFIG entry commits, a transfer once the target
 * leads. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Longest body a change takes: an id and a URL, with room to spare. */
#define MEMBERS_BODY_MAX 4096

static const char *const retry_later[] = {"Retry-After: 1", NULL};

/* ---- request bodies ----------------------------------------------------- */

/* The bytes from *p to the end of a JSON string (*p at its opening
 * quote) into out (cap bytes), unescaped; escapes of code points above
 * 0x7e, control bytes and NUL are refused (ids and URLs are printable
 * ASCII).  Advances *p past the closing quote.  False when malformed. */
static bool json_string(const char **p, const char *end, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (s == end || *s != '"')
        return false;
    for (s++; s < end && *s != '"'; s++) {
        unsigned c = (unsigned char)*s;
        if (c == '\\') {
            if (++s == end)
                return false;
            switch (*s) {
            case '"':
            case '\\':
            case '/':
                c = (unsigned char)*s;
                break;
            case 'u': {
                if (end - s < 5)
                    return false;
                char hex[5] = {s[1], s[2], s[3], s[4], '\0'};
                char *stop;
                unsigned long v = strtoul(hex, &stop, 16);
                if (*stop != '\0' || v < 0x20 || v > 0x7e)
                    return false;
                c = (unsigned)v;
                s += 4;
                break;
            }
            default:
                return false;
            }
        } else if (c < 0x20 || c > 0x7e) {
            return false;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    if (s == end)
        return false;
    out[n] = '\0';
    *p = s + 1;
    return true;
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    return s;
}

/* A body {"name": "value", ...} whose members are exactly some of
 * names[0..n) with string values, each at most once: values[i] gets
 * name i's value ("" when absent; caps[i] bytes).  False, with why, for
 * anything else. */
static bool parse_body(const char *body, size_t len, const char *const *names,
                       char *const *values, const size_t *caps, size_t n,
                       char *why, size_t why_len)
{
    const char *end = body + len, *s = skip_ws(body, end);
    bool seen[4] = {false};
    for (size_t i = 0; i < n; i++)
        values[i][0] = '\0';
    if (s == end || *s != '{') {
        snprintf(why, why_len, "the body must be a JSON object");
        return false;
    }
    s = skip_ws(s + 1, end);
    if (s < end && *s == '}')
        return skip_ws(s + 1, end) == end ||
               (snprintf(why, why_len, "text after the JSON object"), false);
    for (;;) {
        char name[64];
        if (!json_string(&s, end, name, sizeof name)) {
            snprintf(why, why_len, "malformed JSON: a member name expected");
            return false;
        }
        size_t k = 0;
        while (k < n && strcmp(names[k], name) != 0)
            k++;
        if (k == n || seen[k]) {
            snprintf(why, why_len, "%s member \"%s\"",
                     k == n ? "unknown" : "repeated", name);
            return false;
        }
        seen[k] = true;
        s = skip_ws(s, end);
        if (s == end || *s != ':') {
            snprintf(why, why_len, "malformed JSON: ':' expected");
            return false;
        }
        s = skip_ws(s + 1, end);
        if (!json_string(&s, end, values[k], caps[k])) {
            snprintf(why, why_len,
                     "\"%s\" must be a string of at most %zu printable "
                     "ASCII characters",
                     name, caps[k] - 1);
            return false;
        }
        s = skip_ws(s, end);
        if (s < end && *s == ',') {
            s = skip_ws(s + 1, end);
            continue;
        }
        if (s < end && *s == '}' && skip_ws(s + 1, end) == end)
            return true;
        snprintf(why, why_len, "malformed JSON: ',' or '}' expected");
        return false;
    }
}

/* ---- answers ------------------------------------------------------------ */

/* Not the leader: 307 to the leader's same path, or 503 when no leader
 * (or no address for it) is known. */
static void to_leader(host *h, http_request *req)
{
    const char *leader = refraft_leader_id(h->node);
    struct host_peer *p = leader != NULL ? host_peer_find(h, leader) : NULL;
    if (p == NULL || p->url[0] == '\0') {
        static const char none[] =
            "{\"error\":\"no leader is known; retry\"}\n";
        host_respond(req, 503, "application/json", none, sizeof none - 1,
                     retry_later);
        return;
    }
    char location[HOST_URL_MAX + 512], who[REFRAFT_ID_MAX + 32];
    snprintf(location, sizeof location, "Location: %s%.400s", p->url,
             http_request_path(req));
    snprintf(who, sizeof who, "Refraft-Leader: %s", p->id);
    const char *hdrs[] = {location, who, NULL};
    static const char body[] = "{\"error\":\"this node is not the leader\"}\n";
    host_respond(req, 307, "application/json", body, sizeof body - 1, hdrs);
}

/* The core refused a change or a transfer with rv. */
static void refused(host *h, http_request *req, int rv)
{
    const char *why = refraft_errmsg(h->node);
    if (why == NULL || why[0] == '\0')
        why = refraft_strerror(rv);
    char quoted[600], body[700];
    json_escape(why, quoted, sizeof quoted);
    int n = snprintf(body, sizeof body, "{\"error\":%s}\n", quoted);
    switch (rv) {
    case REFRAFT_ENOTLEADER:
        to_leader(h, req);
        return;
    case REFRAFT_EINVAL:
        host_respond(req, 400, "application/json", body, (size_t)n, NULL);
        return;
    case REFRAFT_EBUSY:
    case REFRAFT_ENOLEADER:
        host_respond(req, 503, "application/json", body, (size_t)n,
                     retry_later);
        return;
    case REFRAFT_ELAGGING:
        host_respond(req, 409, "application/json", body, (size_t)n, NULL);
        return;
    default:
        host_log(h, HOST_LOG_ERROR, "membership change failed: %s", why);
        host_respond(req, 500, "application/json", body, (size_t)n, NULL);
        return;
    }
}

/* Wait for the outcome (host_members_run), or 503 when too many wait. */
static void wait_for(host *h, http_request *req, refraft_index index,
                     bool transfer, const char *target)
{
    if (h->n_changes == HOST_CHANGES_MAX) {
        host_respond_error(req, 503,
                           "%d changes wait already; the change was made "
                           "(index %" PRIu64 "): watch GET /v1/members",
                           HOST_CHANGES_MAX, index);
        return;
    }
    struct host_change *c = &h->changes[h->n_changes++];
    memset(c, 0, sizeof *c);
    c->req = req;
    c->index = index;
    c->term = refraft_current_term(h->node);
    c->transfer = transfer;
    /* A change commits within an election or two, even across a change
     * of leader; a transfer ends within an election time-out (the core
     * gives up then) plus the target's election. */
    c->deadline = host_now_ms() + (transfer ? 3u : 5u) * h->election_ms;
    if (target != NULL)
        snprintf(c->target, sizeof c->target, "%s", target);
}

/* ---- the endpoints ------------------------------------------------------ */

/* Leader only: a POST or DELETE that changes something starts here.
 * True when this node leads (else the client was sent on). */
static bool leading(host *h, http_request *req)
{
    if (refraft_role(h->node) == REFRAFT_LEADER)
        return true;
    to_leader(h, req);
    return false;
}

static bool read_body(http_request *req, const char *const *names,
                      char *const *values, const size_t *caps, size_t n)
{
    size_t len;
    const char *body = (const char *)http_request_body(req, &len);
    char why[200];
    if (len > MEMBERS_BODY_MAX) {
        host_respond_error(req, 400, "the body is longer than %d bytes",
                           MEMBERS_BODY_MAX);
        return false;
    }
    if (!parse_body(body != NULL ? body : "", len, names, values, caps, n, why,
                    sizeof why)) {
        host_respond_error(req, 400, "%s", why);
        return false;
    }
    return true;
}

/* POST /v1/members {"id":ID,"url":URL}: add a learner. */
static void serve_add(host *h, http_request *req)
{
    if (!leading(h, req))
        return;
    char id[REFRAFT_ID_MAX + 1], url[REFRAFT_ADDRESS_MAX + 1];
    const char *const names[] = {"id", "url"};
    char *const values[] = {id, url};
    const size_t caps[] = {sizeof id, sizeof url};
    if (!read_body(req, names, values, caps, 2))
        return;
    if (!host_id_ok(id)) {
        host_respond_error(req, 400,
                           "\"id\" must be 1 to %d printable ASCII "
                           "characters without spaces",
                           REFRAFT_ID_MAX);
        return;
    }
    if (!host_url_ok(url)) {
        host_respond_error(req, 400,
                           "\"url\" must be http(s)://HOST[:PORT] with no "
                           "path, reachable by the peers");
        return;
    }
    refraft_index index = 0;
    int rv = refraft_add_learner(h->node, id, url, &index);
    if (rv != 0) {
        refused(h, req, rv);
        return;
    }
    host_log(h, HOST_LOG_INFO,
             "adding %s at %s as a learner (index %" PRIu64 ")", id, url,
             index);
    wait_for(h, req, index, false, NULL);
}

/* POST /v1/members/{id}/promote and DELETE /v1/members/{id}. */
static void
serve_change(host *h, http_request *req, const char *id, bool promote)
{
    if (!leading(h, req))
        return;
    refraft_index index = 0;
    int rv = promote ? refraft_promote(h->node, id, &index)
                     : refraft_remove(h->node, id, &index);
    if (rv != 0) {
        refused(h, req, rv);
        return;
    }
    host_log(h, HOST_LOG_INFO, "%s %s (index %" PRIu64 ")",
             promote ? "promoting" : "removing", id, index);
    wait_for(h, req, index, false, NULL);
}

/* POST /v1/transfer {"to":ID}. */
static void serve_transfer(host *h, http_request *req)
{
    if (!leading(h, req))
        return;
    char to[REFRAFT_ID_MAX + 1];
    const char *const names[] = {"to"};
    char *const values[] = {to};
    const size_t caps[] = {sizeof to};
    if (!read_body(req, names, values, caps, 1))
        return;
    if (!host_id_ok(to)) {
        host_respond_error(req, 400, "\"to\" must name a voter");
        return;
    }
    int rv = refraft_transfer(h->node, to);
    if (rv != 0) {
        refused(h, req, rv);
        return;
    }
    host_log(h, HOST_LOG_INFO, "handing leadership over to %s", to);
    wait_for(h, req, 0, true, to);
}

/* The address a member is reached at, as a JSON value. */
static void member_url(host *h, const refraft_member *m, char *out, size_t cap)
{
    const char *url = m->address != NULL ? m->address : "";
    if (strcmp(m->id, h->id) == 0) {
        url = h->url;
    } else {
        const struct host_peer *p = host_peer_find(h, m->id);
        if (p != NULL && p->url[0] != '\0')
            url = p->url;
    }
    if (url[0] == '\0')
        snprintf(out, cap, "null");
    else
        json_escape(url, out, cap);
}

/* GET /v1/members: the configuration in effect, as this node knows it. */
static void serve_list(host *h, http_request *req)
{
    const refraft_node *n = h->node;
    bool leader = refraft_role(n) == REFRAFT_LEADER;
    const char *lid = refraft_leader_id(n);
    char lq[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)] = "null";
    if (lid != NULL)
        json_escape(lid, lq, sizeof lq);
    json_buf b;
    json_buf_init(&b, 1u << 20);
    refraft_index ci = refraft_config_index(n);
    json_buf_printf(&b,
                    "{\"config_index\":%" PRIu64 ",\"committed\":%s,"
                    "\"leader\":%s,\"transfer_to\":",
                    ci, ci <= refraft_commit_index(n) ? "true" : "false", lq);
    const char *tt = refraft_transfer_target(n);
    char tq[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)] = "null";
    if (tt != NULL)
        json_escape(tt, tq, sizeof tq);
    json_buf_printf(&b, "%s,\"members\":[", tq);
    size_t count = refraft_n_members(n);
    for (size_t i = 0; i < count; i++) {
        refraft_member m;
        if (refraft_member_get(n, i, &m) != 0)
            continue;
        char id[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)];
        char url[JSON_ESCAPED_MAX(HOST_URL_MAX)];
        json_escape(m.id, id, sizeof id);
        member_url(h, &m, url, sizeof url);
        json_buf_printf(&b, "%s{\"id\":%s,\"url\":%s,\"voter\":%s",
                        i > 0 ? "," : "", id, url, m.voter ? "true" : "false");
        refraft_peer_progress pp;
        if (leader && strcmp(m.id, h->id) == 0)
            json_buf_printf(
                &b, ",\"match_index\":%" PRIu64 ",\"data_index\":%" PRIu64,
                refraft_last_index(n), refraft_data_index(n));
        else if (leader && refraft_peer_progress_get(n, m.id, &pp) == 0)
            json_buf_printf(
                &b, ",\"match_index\":%" PRIu64 ",\"data_index\":%" PRIu64,
                pp.match_index, pp.data_index);
        json_buf_printf(&b, "}");
    }
    json_buf_printf(&b, "]}\n");
    if (b.failed)
        host_respond_error(req, 500, "the member list does not fit");
    else
        host_respond(req, 200, "application/json", b.data, b.len, NULL);
    json_buf_free(&b);
}

bool host_serve_members(host *h, http_request *req)
{
    const char *path = http_request_path(req);
    const char *method = http_request_method(req);
    static const char prefix[] = "/v1/members/";
    static const char promote[] = "/promote";
    if (strcmp(path, "/v1/transfer") == 0) {
        if (strcmp(method, "POST") == 0)
            serve_transfer(h, req);
        else
            host_respond_error(req, 405, "POST /v1/transfer only");
        return true;
    }
    if (strcmp(path, "/v1/members") == 0) {
        if (strcmp(method, "GET") == 0)
            serve_list(h, req);
        else if (strcmp(method, "POST") == 0)
            serve_add(h, req);
        else
            host_respond_error(req, 405, "GET or POST /v1/members only");
        return true;
    }
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *seg = path + sizeof prefix - 1;
    size_t len = strcspn(seg, "/");
    bool is_promote = strcmp(seg + len, promote) == 0;
    char id[REFRAFT_ID_MAX + 1];
    if ((seg[len] != '\0' && !is_promote) || !host_decode_id(seg, len, id)) {
        host_respond_error(req, seg[len] != '\0' && !is_promote ? 404 : 400,
                           "%s is neither /v1/members/{id} nor "
                           "/v1/members/{id}/promote with a node id",
                           path);
        return true;
    }
    if (is_promote && strcmp(method, "POST") == 0)
        serve_change(h, req, id, true);
    else if (!is_promote && strcmp(method, "DELETE") == 0)
        serve_change(h, req, id, false);
    else
        host_respond_error(req, 405, "%s",
                           is_promote ? "POST /v1/members/{id}/promote only"
                                      : "DELETE /v1/members/{id} only");
    return true;
}

/* ---- outcomes ----------------------------------------------------------- */

/* The outcome of c, or 0 while it is still open: the status, with the
 * answer's body in body. */
static unsigned outcome(host *h, const struct host_change *c, uint64_t now,
                        char *body, size_t cap)
{
    const refraft_node *n = h->node;
    if (c->transfer) {
        const char *lid = refraft_leader_id(n);
        if (refraft_role(n) != REFRAFT_LEADER && lid != NULL &&
            strcmp(lid, c->target) == 0) {
            char q[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)];
            json_escape(c->target, q, sizeof q);
            snprintf(body, cap, "{\"leader\":%s,\"term\":%" PRIu64 "}\n", q,
                     refraft_current_term(n));
            return 200;
        }
        if (now < c->deadline)
            return 0;
        snprintf(body, cap,
                 "{\"error\":\"%s did not take over within %u ms; this node "
                 "takes writes again if it still leads\"}\n",
                 c->target, 3u * h->election_ms);
        return 504;
    }
    if (refraft_commit_index(n) >= c->index) {
        refraft_term t = 0;
        int rv = h->log.term_at(h->log.ctx, c->index, &t);
        if (rv == 0 && t == c->term) {
            snprintf(body, cap, "{\"index\":%" PRIu64 "}\n", c->index);
            return 200;
        }
        snprintf(body, cap,
                 "{\"error\":\"index %" PRIu64 " holds another entry: the "
                 "change was lost with a change of leader; look at GET "
                 "/v1/members and make it again\"}\n",
                 c->index);
        return 503;
    }
    if (now < c->deadline)
        return 0;
    snprintf(body, cap,
             "{\"error\":\"index %" PRIu64 " did not commit within %u ms; "
             "it may still: look at GET /v1/members\"}\n",
             c->index, 5u * h->election_ms);
    return 504;
}

void host_members_run(host *h, bool all)
{
    uint64_t now = host_now_ms();
    size_t k = 0;
    for (size_t i = 0; i < h->n_changes; i++) {
        struct host_change *c = &h->changes[i];
        char body[512];
        unsigned status = outcome(h, c, now, body, sizeof body);
        if (status == 0 && all) {
            status = 503;
            snprintf(body, sizeof body,
                     "{\"error\":\"the node is stopping; the change may "
                     "still take effect\"}\n");
        }
        if (status == 0) {
            h->changes[k++] = *c;
            continue;
        }
        host_respond(c->req, status, "application/json", body, strlen(body),
                     status == 503 ? retry_later : NULL);
    }
    h->n_changes = k;
}
