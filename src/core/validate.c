/* validate.c - checks on configuration and incoming messages, before any
 * state changes, so that bad input is refused whole. */
#include <stdio.h>
#include <string.h>

#include "core/node.h"

static int
validate_peers(const refraft_config *config, char *errbuf, size_t errbuf_len)
{
    if (config->n_peers > REFRAFT_MAX_PEERS - 1)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "%zu peers; at most %d are supported",
                             config->n_peers, REFRAFT_MAX_PEERS - 1);
    if (config->join && config->n_peers > 0)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "a joining node starts with no peers (it has %zu)",
                             config->n_peers);
    if (config->n_peers > 0 && config->peers == NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "n_peers is %zu but peers is NULL",
                             config->n_peers);
    for (size_t i = 0; i < config->n_peers; i++) {
        const char *p = config->peers[i];
        int rv = validate_id(p, "peer id", errbuf, errbuf_len);
        if (rv != 0)
            return rv;
        const char *address =
            config->peer_addresses != NULL ? config->peer_addresses[i] : NULL;
        if (address != NULL && strlen(address) > REFRAFT_ADDRESS_MAX)
            return validate_fail(
                errbuf, errbuf_len, REFRAFT_EINVAL,
                "peer \"%s\" has an address longer than %d bytes", p,
                REFRAFT_ADDRESS_MAX);
        if (strcmp(p, config->id) == 0)
            return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                                 "peer \"%s\" is this node itself", p);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p, config->peers[j]) == 0)
                return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                                     "peer \"%s\" is listed twice", p);
    }
    return 0;
}

static int
validate_hull(const refraft_hull *hull, char *errbuf, size_t errbuf_len)
{
    if (hull->version < REFRAFT_HULL_VERSION_MIN ||
        hull->version > REFRAFT_HULL_VERSION)
        return validate_fail(
            errbuf, errbuf_len, REFRAFT_EINVAL,
            "hull version %d is not supported (expected %d to %d)",
            hull->version, REFRAFT_HULL_VERSION_MIN, REFRAFT_HULL_VERSION);
    const char *missing = hull->send == NULL     ? "send"
                          : hull->now_ms == NULL ? "now_ms"
                          : hull->random == NULL ? "random"
                          : hull->apply == NULL  ? "apply"
                                                 : NULL;
    if (missing != NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "hull callback %s is NULL", missing);
    return 0;
}

static int
validate_log_api(const refraft_log_api *log, char *errbuf, size_t errbuf_len)
{
    if (log->version < REFRAFT_LOG_API_VERSION_MIN ||
        log->version > REFRAFT_LOG_API_VERSION)
        return validate_fail(
            errbuf, errbuf_len, REFRAFT_EINVAL,
            "log API version %d is not supported (expected %d to %d)",
            log->version, REFRAFT_LOG_API_VERSION_MIN, REFRAFT_LOG_API_VERSION);
    const char *missing = log->first_index == NULL       ? "first_index"
                          : log->last_index == NULL      ? "last_index"
                          : log->term_at == NULL         ? "term_at"
                          : log->get == NULL             ? "get"
                          : log->append == NULL          ? "append"
                          : log->truncate == NULL        ? "truncate"
                          : log->save_hard_state == NULL ? "save_hard_state"
                          : log->load_hard_state == NULL ? "load_hard_state"
                                                         : NULL;
    if (missing != NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "log API function %s is NULL", missing);
    if (log->version >= 3 && (log->stage == NULL) != (log->sync == NULL))
        return validate_fail(
            errbuf, errbuf_len, REFRAFT_EINVAL,
            "log API function %s is NULL but %s is not: give both "
            "or neither",
            log->stage == NULL ? "stage" : "sync",
            log->stage == NULL ? "sync" : "stage");
    int given = log->version >= 5
                    ? (log->compact != NULL) + (log->install != NULL) +
                          (log->base != NULL)
                    : 0;
    if (given != 0 && given != 3)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "log API functions compact, install and base: "
                             "give all three or none");
    return 0;
}

/* The snapshot hooks of a version 5 hull: all three or none. */
static int validate_hull_snapshot(const refraft_hull *hull, char *errbuf,
                                  size_t errbuf_len)
{
    int given = hull->version >= 5 ? (hull->snapshot_read != NULL) +
                                         (hull->snapshot_write != NULL) +
                                         (hull->snapshot_install != NULL)
                                   : 0;
    if (given != 0 && given != 3)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "hull callbacks snapshot_read, snapshot_write "
                             "and snapshot_install: give all three or none");
    return 0;
}

static int
validate_compaction(const refraft_config *config, const refraft_hull *hull,
                    const refraft_log_api *log, char *errbuf, size_t errbuf_len)
{
    if (config->snapshot_chunk > REFRAFT_MAX_ENTRIES_PER_MSG)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "snapshot_chunk of %u is above %d",
                             config->snapshot_chunk,
                             REFRAFT_MAX_ENTRIES_PER_MSG);
    bool can = log->version >= 5 && log->compact != NULL &&
               hull->version >= 5 && hull->snapshot_read != NULL;
    if (config->compact_entries != 0 && !can)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "compact_entries is set, but compaction needs "
                             "log API version 5 with compact, install and "
                             "base, and the hull's snapshot hooks");
    if (config->compact_bytes != 0 && !can)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "compact_bytes is set, but compaction needs "
                             "log API version 5 with compact, install and "
                             "base, and the hull's snapshot hooks");
    if (config->compact_bytes != 0 && log->size == NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "compact_bytes is set, but the log API has no "
                             "size function to measure the log with");
    /* Else every apply would compact again, the log being past the bound
     * right after a compaction. */
    if (config->compact_entries != 0 &&
        config->compact_keep >= config->compact_entries)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "compact_keep (%u) must be below "
                             "compact_entries (%u)",
                             config->compact_keep, config->compact_entries);
    return 0;
}

int validate_config(const refraft_config *config, const refraft_hull *hull,
                    const refraft_log_api *log, char *errbuf, size_t errbuf_len)
{
    if (config == NULL || hull == NULL || log == NULL)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "config, hull and log must not be NULL");
    int rv = validate_id(config->id, "node id", errbuf, errbuf_len);
    if (rv == 0)
        rv = validate_peers(config, errbuf, errbuf_len);
    if (rv == 0)
        rv = validate_hull(hull, errbuf, errbuf_len);
    if (rv == 0)
        rv = validate_hull_snapshot(hull, errbuf, errbuf_len);
    if (rv == 0)
        rv = validate_log_api(log, errbuf, errbuf_len);
    if (rv == 0)
        rv = validate_compaction(config, hull, log, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    uint32_t election =
        config->election_timeout_ms != 0 ? config->election_timeout_ms : 1000;
    if (config->heartbeat_ms >= election)
        return validate_fail(
            errbuf, errbuf_len, REFRAFT_EINVAL,
            "heartbeat of %u ms is not below the election timeout "
            "of %u ms",
            config->heartbeat_ms, election);
    if (election > UINT32_MAX / 2)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "election timeout of %u ms is too large",
                             election);
    if (config->max_inflight > REFRAFT_MAX_INFLIGHT)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "max_inflight of %u is above %d",
                             config->max_inflight, REFRAFT_MAX_INFLIGHT);
    if (config->commit_policy != REFRAFT_COMMIT_DURABLE &&
        config->commit_policy != REFRAFT_COMMIT_REFERENCE)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "commit policy %u is neither durable (%d) nor "
                             "reference (%d)",
                             (unsigned)config->commit_policy,
                             REFRAFT_COMMIT_DURABLE, REFRAFT_COMMIT_REFERENCE);
    if (config->max_entries_per_msg > REFRAFT_MAX_ENTRIES_PER_MSG)
        return validate_fail(errbuf, errbuf_len, REFRAFT_EINVAL,
                             "max_entries_per_msg of %u is above %d",
                             config->max_entries_per_msg,
                             REFRAFT_MAX_ENTRIES_PER_MSG);
    return 0;
}

const char *message_sender(const refraft_msg *msg)
{
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return msg->u.append_entries.leader_id;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return msg->u.append_entries_result.follower_id;
    case REFRAFT_MSG_REQUEST_VOTE:
        return msg->u.request_vote.candidate_id;
    case REFRAFT_MSG_REQUEST_VOTE_RESULT:
        return msg->u.request_vote_result.voter_id;
    case REFRAFT_MSG_TIMEOUT_NOW:
        return msg->u.timeout_now.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return msg->u.install_snapshot.leader_id;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return msg->u.install_snapshot_result.follower_id;
    default:
        return NULL;
    }
}

/* The entries must be a consistent continuation of the header: terms never
 * decrease, none exceeds the leader's term or precedes prev_log_term. */
static int
validate_entries(refraft_node *node, const refraft_append_entries *ae)
{
    if (ae->n_entries > 0 && ae->entries == NULL)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "AppendEntries has %zu entries but no array",
                           ae->n_entries);
    if (ae->n_entries > UINT64_MAX - ae->prev_log_index)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "AppendEntries runs past the largest index");
    refraft_term prev = ae->prev_log_term;
    for (size_t i = 0; i < ae->n_entries; i++) {
        const refraft_entry *e = &ae->entries[i];
        if (e->type != REFRAFT_ENTRY_NOOP && e->type != REFRAFT_ENTRY_REF &&
            e->type != REFRAFT_ENTRY_VOID && e->type != REFRAFT_ENTRY_CONFIG)
            return node_errorf(node, REFRAFT_EBADMSG,
                               "entry %zu has unknown type %u", i,
                               (unsigned)e->type);
        if (e->type == REFRAFT_ENTRY_VOID &&
            (e->voided == 0 || e->voided > ae->prev_log_index + i))
            return node_errorf(
                node, REFRAFT_EBADMSG,
                "entry %zu is a VOID of index %llu, not below "
                "its own index %llu",
                i, (unsigned long long)e->voided,
                (unsigned long long)(ae->prev_log_index + i + 1));
        if (e->term == 0 || e->term < prev || e->term > ae->term)
            return node_errorf(node, REFRAFT_EBADMSG,
                               "entry %zu has term %llu, outside [%llu, %llu]",
                               i, (unsigned long long)e->term,
                               (unsigned long long)prev,
                               (unsigned long long)ae->term);
        if (e->type == REFRAFT_ENTRY_REF &&
            validate_ref(&e->ref, node->errmsg, sizeof node->errmsg) != 0)
            return REFRAFT_EBADMSG;
        if (e->type == REFRAFT_ENTRY_CONFIG &&
            refraft_check_members(e->members, e->n_members, node->errmsg,
                                  sizeof node->errmsg) != 0)
            return REFRAFT_EBADMSG;
        prev = e->term;
    }
    return 0;
}

static int
validate_append_entries(refraft_node *node, const refraft_append_entries *ae)
{
    if (ae->prev_log_term > ae->term)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "prev_log_term %llu is above the message term %llu",
                           (unsigned long long)ae->prev_log_term,
                           (unsigned long long)ae->term);
    if ((ae->prev_log_index == 0) != (ae->prev_log_term == 0))
        return node_errorf(node, REFRAFT_EBADMSG,
                           "prev_log_term %llu does not fit prev_log_index "
                           "%llu (only index 0 has term 0)",
                           (unsigned long long)ae->prev_log_term,
                           (unsigned long long)ae->prev_log_index);
    return validate_entries(node, ae);
}

static int
validate_request_vote(refraft_node *node, const refraft_request_vote *rv)
{
    if (rv->last_log_term > rv->term ||
        (rv->last_log_index == 0) != (rv->last_log_term == 0))
        return node_errorf(node, REFRAFT_EBADMSG,
                           "RequestVote last log (index %llu, term %llu) is "
                           "inconsistent with its term %llu",
                           (unsigned long long)rv->last_log_index,
                           (unsigned long long)rv->last_log_term,
                           (unsigned long long)rv->term);
    return 0;
}

/* A snapshot's meta: its last entry (index and term 1 or more, the term
 * not above the message's) and the configuration in effect there. */
static int validate_meta(refraft_node *node, const refraft_snapshot_meta *m,
                         refraft_term term)
{
    if (m->last_index == 0 || m->last_term == 0 || m->last_term > term)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "snapshot ends at index %llu of term %llu, "
                           "outside [1, %llu]",
                           (unsigned long long)m->last_index,
                           (unsigned long long)m->last_term,
                           (unsigned long long)term);
    if (m->config_index > m->last_index)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "snapshot configuration at %llu is past its last "
                           "index %llu",
                           (unsigned long long)m->config_index,
                           (unsigned long long)m->last_index);
    if ((m->n_members == 0) != (m->config_index == 0))
        return node_errorf(node, REFRAFT_EBADMSG,
                           "snapshot configuration at %llu has %zu members "
                           "(the initial one, at 0, has none)",
                           (unsigned long long)m->config_index, m->n_members);
    if (m->n_members > 0 &&
        refraft_check_members(m->members, m->n_members, node->errmsg,
                              sizeof node->errmsg) != 0)
        return REFRAFT_EBADMSG;
    return 0;
}

/* A chunk: refs in index order, each in (after, last_index], each a valid
 * reference. */
static int validate_install_snapshot(refraft_node *node,
                                     const refraft_install_snapshot *is)
{
    int rv = validate_meta(node, &is->meta, is->term);
    if (rv != 0)
        return rv;
    if (is->after > is->meta.last_index)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "snapshot chunk starts after %llu, past its last "
                           "index %llu",
                           (unsigned long long)is->after,
                           (unsigned long long)is->meta.last_index);
    if (is->n_refs > REFRAFT_MAX_ENTRIES_PER_MSG ||
        (is->n_refs > 0 && is->refs == NULL))
        return node_errorf(node, REFRAFT_EBADMSG,
                           "snapshot chunk has %zu refs%s", is->n_refs,
                           is->refs == NULL ? " but no array" : ", too many");
    refraft_index prev = is->after;
    for (size_t i = 0; i < is->n_refs; i++) {
        const refraft_snapshot_ref *r = &is->refs[i];
        if (r->index <= prev || r->index > is->meta.last_index)
            return node_errorf(node, REFRAFT_EBADMSG,
                               "snapshot ref %zu is at index %llu, outside "
                               "(%llu, %llu]",
                               i, (unsigned long long)r->index,
                               (unsigned long long)prev,
                               (unsigned long long)is->meta.last_index);
        if (validate_ref(&r->ref, node->errmsg, sizeof node->errmsg) != 0)
            return REFRAFT_EBADMSG;
        prev = r->index;
    }
    return 0;
}

static int validate_install_result(refraft_node *node,
                                   const refraft_install_snapshot_result *res)
{
    if (res->last_index == 0 || res->after > res->last_index ||
        (res->installed && res->after != res->last_index))
        return node_errorf(node, REFRAFT_EBADMSG,
                           "InstallSnapshot result for index %llu stands "
                           "after %llu%s",
                           (unsigned long long)res->last_index,
                           (unsigned long long)res->after,
                           res->installed ? ", installed" : "");
    return 0;
}

refraft_term message_term(const refraft_msg *msg)
{
    switch (msg->type) {
    case REFRAFT_MSG_APPEND_ENTRIES:
        return msg->u.append_entries.term;
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return msg->u.append_entries_result.term;
    case REFRAFT_MSG_REQUEST_VOTE:
        return msg->u.request_vote.term;
    case REFRAFT_MSG_TIMEOUT_NOW:
        return msg->u.timeout_now.term;
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return msg->u.install_snapshot.term;
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return msg->u.install_snapshot_result.term;
    default:
        return msg->u.request_vote_result.term;
    }
}

int validate_message(refraft_node *node, const refraft_msg *msg)
{
    if (msg->type < REFRAFT_MSG_APPEND_ENTRIES ||
        msg->type > REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT)
        return node_errorf(node, REFRAFT_EBADMSG, "unknown message type %u",
                           (unsigned)msg->type);
    const char *sender = message_sender(msg);
    if (validate_id(sender, "sender id", node->errmsg, sizeof node->errmsg))
        return REFRAFT_EBADMSG;
    /* Requests are taken from anyone (thesis §4.1: servers process
     * requests without consulting their configurations; a new server
     * hears from a leader it has no entry for yet).  Results, and the
     * TimeoutNow that starts an election, count only from members. */
    bool request = msg->type == REFRAFT_MSG_APPEND_ENTRIES ||
                   msg->type == REFRAFT_MSG_REQUEST_VOTE ||
                   msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT;
    if (strcmp(sender, node->id) == 0)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "message from this node's own id \"%s\"", sender);
    if (!request && node_find_peer(node, sender) == NULL)
        return node_errorf(node, REFRAFT_EUNKNOWNPEER,
                           "message from \"%s\", which is not a member",
                           sender);
    refraft_term term = message_term(msg);
    if (term == 0 || term > REFRAFT_TERM_MAX)
        return node_errorf(
            node, REFRAFT_EBADMSG, "message term %llu is outside [1, %llu]",
            (unsigned long long)term, (unsigned long long)REFRAFT_TERM_MAX);
    if (msg->type == REFRAFT_MSG_APPEND_ENTRIES)
        return validate_append_entries(node, &msg->u.append_entries);
    if (msg->type == REFRAFT_MSG_REQUEST_VOTE)
        return validate_request_vote(node, &msg->u.request_vote);
    if (msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT)
        return validate_install_snapshot(node, &msg->u.install_snapshot);
    if (msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT)
        return validate_install_result(node, &msg->u.install_snapshot_result);
    return 0;
}
