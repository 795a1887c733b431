/* reads.c - linearizable reads (GET /v1/records/{id}?consistent=1): the
 * pending-read table, the leader's ReadIndex (Raft thesis §6.4) through
 * refraft_read_index, and a follower's read index asked of the leader
 * over POST /raft/v1/read-index.  No lease-based reads: they would rest on
 * bounded clock drift, which the runtime does not assume. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Answer req with status and {"error": why}; a 503 adds Retry-After. */
static void respond(http_request *req, unsigned status, const char *why)
{
    static const char *const retry_later[] = {"Retry-After: 1", NULL};
    char quoted[600], body[700];
    json_escape(why, quoted, sizeof quoted);
    int n = snprintf(body, sizeof body, "{\"error\":%s}\n", quoted);
    host_respond(req, status, "application/json", body, (size_t)n,
                 status == 503 ? retry_later : NULL);
}

static struct host_read *slot_alloc(host *h)
{
    for (size_t i = 0; i < HOST_READS_MAX; i++)
        if (h->reads[i].state == HOST_READ_FREE) {
            struct host_read *r = &h->reads[i];
            memset(r, 0, sizeof *r);
            r->deadline = host_now_ms() + HOST_READ_TIMEOUT_MS;
            h->n_reads++;
            return r;
        }
    return NULL;
}

static void slot_free(host *h, struct host_read *r)
{
    r->state = HOST_READ_FREE;
    r->req = NULL;
    h->n_reads--;
}

/* Answer r's request (when it still has one) and forget r. */
static void
read_fail(host *h, struct host_read *r, unsigned status, const char *why)
{
    if (r->req != NULL) {
        h->reads_failed++;
        respond(r->req, status, why);
        r->req = NULL;
    }
    slot_free(h, r);
}

/* r's read index is known and applied here: serve the record as a plain
 * GET would (a peer's read-index request gets the index instead). */
static void read_serve(host *h, struct host_read *r)
{
    if (r->req == NULL) {
        slot_free(h, r);
        return;
    }
    if (r->kind == HOST_READ_PEER) {
        char body[64];
        int n =
            snprintf(body, sizeof body, "{\"index\":%" PRIu64 "}\n", r->index);
        host_respond(r->req, 200, "application/json", body, (size_t)n, NULL);
    } else {
        h->reads_ok++;
        host_serve_record(h, r->req, r->id, r->id_len);
    }
    r->req = NULL;
    slot_free(h, r);
}

/* The read index of r is index: serve it now if this node has applied
 * that far, else wait for the applies (host_reads_applied).  A peer's
 * request is answered at once: the asker does the waiting. */
static void read_ready(host *h, struct host_read *r, refraft_index index)
{
    r->index = index;
    r->state = HOST_READ_APPLY;
    if (r->kind == HOST_READ_PEER || refraft_applied_index(h->node) >= index)
        read_serve(h, r);
}

/* Ask the node for a read index for r.  On an error r is answered and
 * freed.  hull.on_read may run inside refraft_read_index (a node alone
 * confirms at once): h->reads_asking tells it which slot is meant. */
static void ask_node(host *h, struct host_read *r)
{
    uint64_t read_id = 0;
    r->state = HOST_READ_LEADER;
    h->reads_asking = r;
    int rv = refraft_read_index(h->node, &read_id);
    h->reads_asking = NULL;
    if (rv != 0) {
        read_fail(h, r,
                  rv == REFRAFT_ENOTLEADER || rv == REFRAFT_ENOLEADER ? 503
                                                                      : 500,
                  refraft_errmsg(h->node));
        return;
    }
    if (r->state == HOST_READ_LEADER)
        r->read_id = read_id;
}

void host_on_read(void *ctx, uint64_t read_id, int status, refraft_index index)
{
    host *h = ctx;
    struct host_read *r = NULL;
    for (size_t i = 0; i < HOST_READS_MAX && r == NULL; i++)
        if (h->reads[i].state == HOST_READ_LEADER &&
            h->reads[i].read_id == read_id && &h->reads[i] != h->reads_asking)
            r = &h->reads[i];
    /* The read being asked for has no id yet: ids only grow, so an id
     * unknown here is that one's. */
    if (r == NULL && h->reads_asking != NULL &&
        h->reads_asking->state == HOST_READ_LEADER)
        r = h->reads_asking;
    if (r == NULL)
        return;
    if (status != 0)
        read_fail(h, r, 503,
                  "this node stopped leading before the read was "
                  "confirmed; retry");
    else
        read_ready(h, r, index);
}

/* ---- a follower asks the leader ---------------------------------------- */

/* Parse {"index":N}. */
static bool parse_index(const uint8_t *body, size_t len, refraft_index *out)
{
    char text[64];
    if (len == 0 || len >= sizeof text)
        return false;
    memcpy(text, body, len);
    text[len] = '\0';
    uint64_t v;
    if (sscanf(text, " {\"index\":%" SCNu64 "}", &v) != 1)
        return false;
    *out = v;
    return true;
}

static void leader_answered(void *ctx, const http_response *res)
{
    struct host_read *r = ctx;
    host *h = r->h;
    refraft_index index = 0;
    if (r->req == NULL) { /* answered 504 already, or stopping */
        slot_free(h, r);
        return;
    }
    if (res->status == 200 && parse_index(res->body, res->len, &index)) {
        read_ready(h, r, index);
        return;
    }
    char why[256];
    snprintf(why, sizeof why,
             "the leader did not confirm a read index (%u%s%s); retry",
             res->status, res->status == 0 ? ": " : "",
             res->status == 0 && res->errmsg != NULL ? res->errmsg : "");
    read_fail(h, r, 503, why);
}

/* Ask the leader p for a read index (POST /raft/v1/read-index).  On an
 * error r is answered and freed. */
static void ask_leader(host *h, struct host_read *r, struct host_peer *p)
{
    if (host_fault_drops(h, p->id)) {
        h->fault_dropped++;
        read_fail(h, r, 503, "the leader cannot be reached; retry");
        return;
    }
    char url[HOST_URL_MAX + 32], node_hdr[96], url_hdr[HOST_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/raft/v1/read-index", p->url);
    const char *hdrs[8];
    host_peer_headers(h, node_hdr, sizeof node_hdr, url_hdr, sizeof url_hdr,
                      hdrs, NULL, NULL, NULL);
    r->state = HOST_READ_REMOTE;
    r->h = h;
    int rv =
        http_client_request(h->cli, "POST", url, hdrs, NULL, 0,
                            HOST_READ_TIMEOUT_MS, leader_answered, r, NULL);
    if (rv != 0)
        read_fail(h, r, 503, "cannot ask the leader for a read index; retry");
}

/* ---- entry points -------------------------------------------------------- */

void host_serve_consistent_read(host *h, http_request *req, const uint8_t *id,
                                size_t id_len)
{
    bool leading = refraft_role(h->node) == REFRAFT_LEADER;
    const char *leader = refraft_leader_id(h->node);
    struct host_peer *p =
        leading || leader == NULL ? NULL : host_peer_find(h, leader);
    if (!leading && p == NULL) {
        h->reads_failed++;
        respond(req, 503, "no leader is known; retry");
        return;
    }
    struct host_read *r = slot_alloc(h);
    if (r == NULL) {
        h->reads_failed++;
        respond(req, 503, "too many reads pending; retry");
        return;
    }
    r->kind = HOST_READ_CLIENT;
    r->req = req;
    memcpy(r->id, id, id_len);
    r->id_len = id_len;
    if (leading)
        ask_node(h, r);
    else
        ask_leader(h, r, p);
}

void host_serve_read_index(host *h, http_request *req)
{
    if (refraft_role(h->node) != REFRAFT_LEADER) {
        respond(req, 503, "this node is not the leader");
        return;
    }
    struct host_read *r = slot_alloc(h);
    if (r == NULL) {
        respond(req, 503, "too many reads pending");
        return;
    }
    r->kind = HOST_READ_PEER;
    r->req = req;
    ask_node(h, r);
}

void host_reads_applied(host *h, refraft_index applied)
{
    if (h->n_reads == 0)
        return;
    for (size_t i = 0; i < HOST_READS_MAX; i++)
        if (h->reads[i].state == HOST_READ_APPLY &&
            h->reads[i].index <= applied)
            read_serve(h, &h->reads[i]);
}

void host_reads_expire(host *h, bool all)
{
    if (h->n_reads == 0)
        return;
    uint64_t now = host_now_ms();
    host_reads_applied(h, refraft_applied_index(h->node));
    for (size_t i = 0; i < HOST_READS_MAX; i++) {
        struct host_read *r = &h->reads[i];
        if (r->state == HOST_READ_FREE || (!all && now < r->deadline) ||
            r->req == NULL)
            continue;
        const char *why =
            all ? "the node is stopping"
            : r->state == HOST_READ_APPLY
                ? "this node did not apply up to the read index in time"
                : "the read index was not confirmed in time";
        h->reads_failed++;
        respond(r->req, all ? 503 : 504, why);
        r->req = NULL;
        /* A read the node or the leader still owes an answer keeps its
         * slot until that answer comes (on_read, or the HTTP client's
         * callback, both bounded); the others go now. */
        if (r->state == HOST_READ_APPLY)
            slot_free(h, r);
    }
}
