/* status.c - GET /v1/status (JSON) and GET /metrics (Prometheus text). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json.h"

static int count_records(void *ctx, MDB_txn *txn)
{
    struct {
        host *h;
        uint64_t n;
    } *c = ctx;
    MDB_stat st;
    if (mdb_stat(txn, refstore_record_dbi(c->h->store), &st) != 0)
        return REFRAFT_EIO;
    c->n = st.ms_entries;
    return 0;
}

/* Records stored here (the records database also keeps one identity
 * key, not a record). */
static uint64_t n_records(host *h)
{
    struct {
        host *h;
        uint64_t n;
    } c = {h, 0};
    if (refstore_read(h->store, count_records, &c) != 0)
        return 0;
    return c.n > 0 ? c.n - 1 : 0;
}

static const char *leader_url(host *h)
{
    const char *leader = refraft_leader_id(h->node);
    if (leader == NULL)
        return NULL;
    if (strcmp(leader, h->id) == 0)
        return h->url;
    struct host_peer *p = host_peer_find(h, leader);
    return p != NULL ? p->url : NULL;
}

/* Whether the configuration in effect names this node. */
static bool self_member(host *h)
{
    size_t count = refraft_n_members(h->node);
    for (size_t i = 0; i < count; i++) {
        refraft_member m;
        if (refraft_member_get(h->node, i, &m) == 0 && strcmp(m.id, h->id) == 0)
            return true;
    }
    return false;
}

void host_serve_status(host *h, http_request *req)
{
    refraft_node *n = h->node;
    refraft_sweeper_stats s;
    refraft_sweeper_get_stats(h->sw, &s);
    char id[160], leader[160], lurl[2200], url[2200];
    json_escape(h->id, id, sizeof id);
    const char *l = refraft_leader_id(n);
    if (l != NULL)
        json_escape(l, leader, sizeof leader);
    else
        strcpy(leader, "null");
    const char *lu = leader_url(h);
    if (lu != NULL)
        json_escape(lu, lurl, sizeof lurl);
    else
        strcpy(lurl, "null");
    json_escape(h->url, url, sizeof url);
    char body[65536];
    int len = snprintf(
        body, sizeof body,
        "{\"id\":%s,\"url\":%s,\"role\":\"%s\",\"term\":%" PRIu64
        ",\"leader\":%s,\"leader_url\":%s,\"commit_index\":%" PRIu64
        ",\"applied_index\":%" PRIu64 ",\"last_index\":%" PRIu64
        ",\"data_index\":%" PRIu64 ",\"first_index\":%" PRIu64
        ",\"snapshot_index\":%" PRIu64 ",\"commit_policy\":\"%s\","
        "\"records\":%" PRIu64 ",\"sweeper\":{\"missing\":%" PRIu64
        ",\"in_flight\":%" PRIu64 ",\"fetched\":%" PRIu64
        ",\"bytes_fetched\":%" PRIu64 ",\"digest_failures\":%" PRIu64
        ",\"fetch_failures\":%" PRIu64 ",\"unrecoverable\":%" PRIu64
        ",\"voided\":%" PRIu64 ",\"orphans_collected\":%" PRIu64
        ",\"lost_upto\":%" PRIu64 "},\"config_index\":%" PRIu64
        ",\"member\":%s,\"voter\":%s,\"incarnation\":%" PRIu64
        ",\"store_uid\":\"%s\",\"start_guard\":\"%s\","
        "\"records_behind\":%s,\"peers\":[",
        id, url, refraft_role_name(refraft_role(n)), refraft_current_term(n),
        leader, lurl, refraft_commit_index(n), refraft_applied_index(n),
        refraft_last_index(n), refraft_data_index(n),
        h->log.first_index(h->log.ctx), refraft_snapshot_index(n),
        refraft_commit_policy_of(n) == REFRAFT_COMMIT_DURABLE ? "durable"
                                                              : "reference",
        n_records(h), s.missing, s.in_flight, s.fetched, s.bytes_fetched,
        s.digest_failures, s.fetch_failures, s.unrecoverable, s.voided,
        s.orphans_collected, s.lost_upto, refraft_config_index(n),
        self_member(h) ? "true" : "false",
        refraft_is_voter(n, h->id) ? "true" : "false", h->guard.incarnation,
        h->guard.uid_hex, host_guard_holds(h) ? "waiting" : "passed",
        refraft_records_behind(n) ? "true" : "false");
    /* The other members of the configuration in effect, with the
     * addresses this node reaches them at. */
    bool first = true;
    for (size_t k = 0; k < h->n_peers && len > 0 && (size_t)len < sizeof body;
         k++) {
        if (!h->peers[k].member)
            continue;
        char pid[160], purl[2200];
        json_escape(h->peers[k].id, pid, sizeof pid);
        json_escape(h->peers[k].url, purl, sizeof purl);
        len +=
            snprintf(body + len, sizeof body - (size_t)len,
                     "%s{\"id\":%s,\"url\":%s,\"voter\":%s}", first ? "" : ",",
                     pid, purl, h->peers[k].voter ? "true" : "false");
        first = false;
    }
    /* With the fault hook on, the peers it cuts this node off from (the
     * member is absent without the hook). */
    if (h->fault_hook && len > 0 && (size_t)len < sizeof body) {
        char dropping[(REFRAFT_MAX_PEERS - 1) *
                          (JSON_ESCAPED_MAX(REFRAFT_ID_MAX) + 1) +
                      8];
        host_fault_json(h, dropping, sizeof dropping);
        len += snprintf(body + len, sizeof body - (size_t)len,
                        "],\"dropping\":%s", dropping);
    } else if (len > 0 && (size_t)len < sizeof body) {
        len += snprintf(body + len, sizeof body - (size_t)len, "]");
    }
    if (len > 0 && (size_t)len < sizeof body)
        len += snprintf(body + len, sizeof body - (size_t)len, "}\n");
    if (len < 0 || (size_t)len >= sizeof body) {
        host_respond_error(req, 500, "status does not fit");
        return;
    }
    host_respond(req, 200, "application/json", body, (size_t)len, NULL);
}

/* Appends one metric (HELP, TYPE and its sample) to buf at *off. */
static void metric(char *buf, size_t cap, size_t *off, const char *name,
                   const char *type, const char *help, uint64_t value)
{
    if (*off >= cap)
        return;
    int n = snprintf(buf + *off, cap - *off,
                     "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help,
                     name, type, name, value);
    if (n > 0)
        *off += (size_t)n;
}

void host_serve_metrics(host *h, http_request *req)
{
    refraft_node *n = h->node;
    refraft_sweeper_stats s;
    refraft_sweeper_get_stats(h->sw, &s);
    refstore_stats st;
    refstore_get_stats(h->store, &st);
    char buf[8192];
    size_t off = 0, cap = sizeof buf;
    metric(buf, cap, &off, "refraft_term", "gauge", "Current term.",
           refraft_current_term(n));
    metric(buf, cap, &off, "refraft_is_leader", "gauge",
           "1 when this node leads.", refraft_role(n) == REFRAFT_LEADER);
    metric(buf, cap, &off, "refraft_commit_index", "gauge",
           "Highest committed index.", refraft_commit_index(n));
    metric(buf, cap, &off, "refraft_applied_index", "gauge",
           "Highest applied index.", refraft_applied_index(n));
    metric(buf, cap, &off, "refraft_last_index", "gauge",
           "Last index of the log.", refraft_last_index(n));
    metric(buf, cap, &off, "refraft_data_index", "gauge",
           "Every entry up to it has its record here.", refraft_data_index(n));
    metric(buf, cap, &off, "refraft_snapshot_index", "gauge",
           "The log is compacted up to here (0: never).",
           refraft_snapshot_index(n));
    metric(buf, cap, &off, "refraft_store_commits_total", "counter",
           "LMDB write transactions committed (each one a sync).", st.commits);
    metric(buf, cap, &off, "refraft_writes_total", "counter",
           "Client writes answered 201.", h->writes_ok);
    metric(buf, cap, &off, "refraft_writes_failed_total", "counter",
           "Client writes that failed.", h->writes_failed);
    metric(buf, cap, &off, "refraft_peer_messages_sent_total", "counter",
           "Raft messages sent to peers.", h->msgs_sent);
    metric(buf, cap, &off, "refraft_peer_messages_failed_total", "counter",
           "Raft messages that got no answer.", h->msgs_failed);
    metric(buf, cap, &off, "refraft_peer_requests_refused_total", "counter",
           "Peer requests refused (credential, malformed).",
           h->peer_requests_refused);
    if (h->fault_hook)
        metric(buf, cap, &off, "refraft_fault_dropped_total", "counter",
               "Messages, fetches and peer requests the fault hook cut.",
               h->fault_dropped);
    metric(buf, cap, &off, "refraft_records_sent_total", "counter",
           "Records sent with AppendEntries.", h->records_sent);
    metric(buf, cap, &off, "refraft_records_received_total", "counter",
           "Records that came with AppendEntries, stored with their entries.",
           h->records_received);
    metric(buf, cap, &off, "refraft_records_refused_total", "counter",
           "Records that came with AppendEntries and were not stored "
           "(a size or digest that does not match, or nothing appended).",
           h->records_refused);
    metric(buf, cap, &off, "refraft_sweeper_missing", "gauge",
           "Records known missing here.", s.missing);
    metric(buf, cap, &off, "refraft_sweeper_in_flight", "gauge",
           "Record fetches in flight.", s.in_flight);
    metric(buf, cap, &off, "refraft_sweeper_fetched_total", "counter",
           "Records fetched, verified and stored.", s.fetched);
    metric(buf, cap, &off, "refraft_sweeper_bytes_fetched_total", "counter",
           "Bytes of fetched records.", s.bytes_fetched);
    metric(buf, cap, &off, "refraft_sweeper_digest_failures_total", "counter",
           "Fetched copies refused for size or digest.", s.digest_failures);
    metric(buf, cap, &off, "refraft_sweeper_fetch_failures_total", "counter",
           "Fetches that got no answer.", s.fetch_failures);
    metric(buf, cap, &off, "refraft_sweeper_unrecoverable", "gauge",
           "Committed entries whose record no node has.", s.unrecoverable);
    metric(buf, cap, &off, "refraft_sweeper_voided_total", "counter",
           "VOIDs this node appended as leader.", s.voided);
    metric(buf, cap, &off, "refraft_sweeper_orphans_collected_total", "counter",
           "Records of discarded entries deleted.", s.orphans_collected);
    host_respond(req, 200, "text/plain; version=0.0.4", buf,
                 off < cap ? off : cap, NULL);
}
