/* logview.c - GET /v1/log: the entries of this node's log as JSON, read
 * through the same log API the node uses, so that a tool (refraft drill)
 * can compare what the nodes hold index by index. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Entries read from the log per call.  The ids they hold are valid only
 * until the next call (refraft_log_api.get): each chunk is written out
 * before the next one is read. */
#define LOG_CHUNK 128

/* The page a request asks for: from=N (default 1) and max=M (default
 * HOST_LOG_PAGE_DEFAULT, at most HOST_LOG_PAGE_MAX).  false with a
 * message in why. */
static bool page_of(http_request *req, uint64_t *from, uint64_t *max, char *why,
                    size_t why_len)
{
    const char *f = http_request_query(req, "from");
    const char *m = http_request_query(req, "max");
    *from = 1;
    *max = HOST_LOG_PAGE_DEFAULT;
    if (f != NULL && (!host_parse_u64(f, from) || *from == 0)) {
        snprintf(why, why_len, "from= takes an index, 1 or more");
        return false;
    }
    if (m != NULL &&
        (!host_parse_u64(m, max) || *max == 0 || *max > HOST_LOG_PAGE_MAX)) {
        snprintf(why, why_len, "max= takes a number of entries from 1 to %d",
                 HOST_LOG_PAGE_MAX);
        return false;
    }
    return true;
}

/* Append entry e at index as one JSON object.  false for a type the log
 * API never returns. */
static bool write_entry(json_buf *b, refraft_index index,
                        const refraft_entry *e, bool comma)
{
    const char *sep = comma ? "," : "";
    switch (e->type) {
    case REFRAFT_ENTRY_NOOP:
        json_buf_printf(b,
                        "%s{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                        ",\"type\":\"noop\"}",
                        sep, index, e->term);
        return true;
    case REFRAFT_ENTRY_VOID:
        json_buf_printf(b,
                        "%s{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                        ",\"type\":\"void\",\"voided\":%" PRIu64 "}",
                        sep, index, e->term, e->voided);
        return true;
    case REFRAFT_ENTRY_CONFIG: {
        json_buf_printf(b,
                        "%s{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                        ",\"type\":\"config\",\"members\":[",
                        sep, index, e->term);
        for (size_t k = 0; k < e->n_members; k++) {
            const refraft_member *m = &e->members[k];
            char id[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)];
            char url[JSON_ESCAPED_MAX(REFRAFT_ADDRESS_MAX)];
            json_escape_bytes((const uint8_t *)m->id, strlen(m->id), id,
                              sizeof id);
            json_escape_bytes((const uint8_t *)m->address, strlen(m->address),
                              url, sizeof url);
            json_buf_printf(b, "%s{\"id\":%s,\"url\":%s,\"voter\":%s}",
                            k > 0 ? "," : "", id, url,
                            m->voter ? "true" : "false");
        }
        json_buf_printf(b, "]}");
        return true;
    }
    case REFRAFT_ENTRY_REF: {
        /* Record ids are arbitrary bytes: escaped in full, never cut. */
        char id[JSON_ESCAPED_MAX(REFRAFT_RECORD_ID_MAX)];
        char digest[2 * REFRAFT_DIGEST_LEN + 1];
        json_escape_bytes(e->ref.id, e->ref.id_len, id, sizeof id);
        json_hex(e->ref.digest, REFRAFT_DIGEST_LEN, digest);
        json_buf_printf(b,
                        "%s{\"index\":%" PRIu64 ",\"term\":%" PRIu64
                        ",\"type\":\"ref\",\"id\":%s,\"size\":%" PRIu64
                        ",\"digest\":\"%s\"}",
                        sep, index, e->term, id, e->ref.size, digest);
        return true;
    }
    default:
        return false;
    }
}

/* Append up to max entries from index from on (none past the last);
 * returns 0, a log API error, or REFRAFT_ECORRUPT for an entry of an
 * unknown type (at *bad). */
static int write_entries(host *h, json_buf *b, refraft_index from, uint64_t max,
                         refraft_index *bad)
{
    refraft_entry chunk[LOG_CHUNK];
    refraft_index at = from;
    uint64_t left = max;
    while (left > 0 && !b->failed) {
        size_t n = 0;
        int rv =
            h->log.get(h->log.ctx, at,
                       left < LOG_CHUNK ? (size_t)left : LOG_CHUNK, chunk, &n);
        if (rv != 0)
            return rv;
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            if (!write_entry(b, at + i, &chunk[i], at + i > from)) {
                *bad = at + i;
                return REFRAFT_ECORRUPT;
            }
        at += n;
        left -= n;
    }
    return 0;
}

void host_serve_log(host *h, http_request *req)
{
    uint64_t from, max;
    char why[128];
    if (!page_of(req, &from, &max, why, sizeof why)) {
        host_respond_error(req, 400, "%s", why);
        return;
    }
    refraft_index first = h->log.first_index(h->log.ctx);
    refraft_index last = h->log.last_index(h->log.ctx);
    json_buf b;
    json_buf_init(&b, HOST_LOG_BODY_MAX);
    json_buf_printf(
        &b,
        "{\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"snapshot\":%" PRIu64
        ",\"commit\":%" PRIu64 ",\"applied\":%" PRIu64 ",\"data\":%" PRIu64
        ",\"entries\":[",
        first, last, refraft_snapshot_index(h->node),
        refraft_commit_index(h->node), refraft_applied_index(h->node),
        refraft_data_index(h->node));
    /* Entries below the first one were compacted away (or came in a
     * snapshot, "snapshot" its last index): the page starts at the
     * first, and an empty log (first past last) lists none. */
    refraft_index bad = 0;
    int rv = write_entries(h, &b, from < first ? first : from, max, &bad);
    json_buf_printf(&b, "]}\n");
    if (rv == REFRAFT_ECORRUPT)
        host_respond_error(req, 500, "entry %" PRIu64 " has an unknown type",
                           bad);
    else if (rv != 0)
        host_respond_error(req, 500, "cannot read the log: %s",
                           refstore_errmsg(h->store));
    else if (b.failed)
        host_respond_error(req, 500, "the answer does not fit in %u bytes",
                           (unsigned)HOST_LOG_BODY_MAX);
    else
        host_respond(req, 200, "application/json", b.data, b.len, NULL);
    json_buf_free(&b);
}
