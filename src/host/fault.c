/* fault.c - the fault hook (--fault-hook): cuts this node off from chosen
 * peers, both ways, so that a drill partitions a cluster without root (no
 * network namespaces, no firewall).  A test hook, never for production:
 * the token holder can silence a node with it. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Room for the drop list as a log line: every peer's id and a comma. */
#define FAULT_LIST_MAX ((REFRAFT_MAX_PEERS - 1) * (REFRAFT_ID_MAX + 1) + 8)

bool host_fault_drops(const host *h, const char *peer_id)
{
    if (!h->fault_hook)
        return false;
    for (size_t k = 0; k < h->n_peers; k++)
        if (strcmp(h->peers[k].id, peer_id) == 0)
            return h->dropping[k];
    return false;
}

void host_fault_json(const host *h, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3) {
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    out[o++] = '[';
    for (size_t k = 0; k < h->n_peers; k++) {
        if (!h->dropping[k])
            continue;
        char id[JSON_ESCAPED_MAX(REFRAFT_ID_MAX)];
        json_escape(h->peers[k].id, id, sizeof id);
        size_t n = strlen(id);
        if (o + n + 3 > cap)
            break;
        if (out[o - 1] != '[')
            out[o++] = ',';
        memcpy(out + o, id, n);
        o += n;
    }
    out[o++] = ']';
    out[o] = '\0';
}

/* The ids in set, comma-separated, or "none". */
static void list_ids(const host *h, const bool *set, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t k = 0; k < h->n_peers; k++) {
        if (!set[k])
            continue;
        int n = snprintf(out + o, cap - o, "%s%s", o > 0 ? "," : "",
                         h->peers[k].id);
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
    if (o == 0)
        snprintf(out, cap, "none");
}

/* Parse the list (comma-separated ids, each percent-decoded; "" for
 * none) into set.  Returns 0, or the HTTP status refusing it with a
 * message in why. */
static unsigned
parse_drop(host *h, const char *list, bool *set, char *why, size_t why_len)
{
    memset(set, 0, (REFRAFT_MAX_PEERS - 1) * sizeof *set);
    if (*list == '\0')
        return 0;
    for (const char *item = list;;) {
        size_t len = strcspn(item, ",");
        char id[REFRAFT_ID_MAX + 1];
        if (!host_decode_id(item, len, id)) {
            snprintf(why, why_len,
                     "drop= takes peer ids separated by commas (drop= for "
                     "none), not \"%.100s\"",
                     list);
            return 400;
        }
        struct host_peer *p = host_peer_find(h, id);
        if (p == NULL) {
            snprintf(why, why_len, "%s is not a peer of %s", id, h->id);
            return 400;
        }
        set[p - h->peers] = true;
        if (item[len] == '\0')
            return 0;
        item += len + 1;
    }
}

void host_serve_fault(host *h, http_request *req)
{
    const char *list = http_request_query(req, "drop");
    if (list == NULL) {
        host_respond_error(req, 400,
                           "POST /raft/v1/fault needs drop=ID,ID,... (the "
                           "peers to cut off; drop= for none)");
        return;
    }
    bool set[REFRAFT_MAX_PEERS - 1];
    char why[256];
    unsigned status = parse_drop(h, list, set, why, sizeof why);
    if (status != 0) {
        host_respond_error(req, status, "%s", why);
        return;
    }
    if (memcmp(set, h->dropping, sizeof set) != 0) {
        char was[FAULT_LIST_MAX], now[FAULT_LIST_MAX];
        list_ids(h, h->dropping, was, sizeof was);
        list_ids(h, set, now, sizeof now);
        host_log(h, HOST_LOG_INFO, "fault hook: dropping %s (was %s)", now,
                 was);
        memcpy(h->dropping, set, sizeof set);
    }
    host_respond(req, 204, NULL, NULL, 0, NULL);
}
