/* membership.c - the configuration a node goes by, and single-server
 * membership changes (Raft thesis §4.1-§4.3). */
#include <stdio.h>
#include <string.h>

#include "core/node.h"

/* ---- configurations ---------------------------------------------------- */

static void config_from_members(struct configuration *c, refraft_index index,
                                const refraft_member *m, size_t n)
{
    memset(c, 0, sizeof *c);
    c->index = index;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(c->members[i].id, sizeof c->members[i].id, "%s", m[i].id);
        snprintf(c->members[i].address, sizeof c->members[i].address, "%s",
                 m[i].address != NULL ? m[i].address : "");
        c->members[i].voter = m[i].voter;
    }
}

static const struct member_rec *
config_find(const struct configuration *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->members[i].id, id) == 0)
            return &c->members[i];
    return NULL;
}

/* The members of c as the public type, pointing into c. */
static void config_members(const struct configuration *c, refraft_member *out)
{
    for (size_t i = 0; i < c->n; i++) {
        out[i].id = c->members[i].id;
        out[i].address = c->members[i].address;
        out[i].voter = c->members[i].voter;
    }
}

/* Which inflight ring (of REFRAFT_MAX_PEERS) p uses. */
static size_t ring_of(const refraft_node *node, const struct peer *p)
{
    return (size_t)(p->inflight - node->inflight_slots) / node->max_inflight;
}

static void fresh_peer(refraft_node *node, struct peer *p, const char *id)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->next_index = node->last_index + 1;
    /* A new epoch: answers to what went to a member of this id before
     * (a server since removed) no longer count. */
    p->epoch = ++node->last_epoch;
}

/*
 * Make node->peers the other members of node->config.  A peer that stays
 * keeps what the leader knows of it (its progress, its window); a new one
 * starts as a leader's followers do at the start of its term: probed from
 * the end of the log.
 */
static void apply_config(refraft_node *node)
{
    struct peer old[REFRAFT_MAX_PEERS];
    size_t n_old = node->n_peers;
    memcpy(old, node->peers, n_old * sizeof *old);
    bool ring_used[REFRAFT_MAX_PEERS] = {false};
    const struct configuration *c = &node->config;
    node->self_member = false;
    node->self_voter = false;
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct member_rec *m = &c->members[i];
        if (strcmp(m->id, node->id) == 0) {
            node->self_member = true;
            node->self_voter = m->voter;
            continue;
        }
        struct peer *p = &node->peers[n++];
        size_t k = 0;
        while (k < n_old && strcmp(old[k].id, m->id) != 0)
            k++;
        if (k < n_old) {
            *p = old[k];
            ring_used[ring_of(node, p)] = true;
        } else {
            fresh_peer(node, p, m->id);
        }
        p->voter = m->voter;
    }
    /* The new peers take the rings nobody keeps. */
    size_t ring = 0;
    for (size_t i = 0; i < n; i++) {
        struct peer *p = &node->peers[i];
        if (p->inflight != NULL)
            continue;
        while (ring_used[ring])
            ring++;
        ring_used[ring] = true;
        p->inflight = node->inflight_slots + ring * node->max_inflight;
    }
    node->n_peers = n;
}

/* ---- loading and following the log ------------------------------------ */

void membership_init(refraft_node *node, const refraft_config *config)
{
    struct configuration *c = &node->initial;
    memset(c, 0, sizeof *c);
    if (!config->join) {
        snprintf(c->members[0].id, sizeof c->members[0].id, "%s", node->id);
        c->members[0].voter = true;
        c->n = 1;
        for (size_t i = 0; i < config->n_peers; i++) {
            struct member_rec *m = &c->members[c->n++];
            snprintf(m->id, sizeof m->id, "%s", config->peers[i]);
            if (config->peer_addresses != NULL &&
                config->peer_addresses[i] != NULL)
                snprintf(m->address, sizeof m->address, "%s",
                         config->peer_addresses[i]);
            m->voter = true;
        }
    }
    node->config = node->initial;
    node->prev_valid = false;
    apply_config(node);
}

void membership_from_base(refraft_node *node, const refraft_snapshot_meta *base)
{
    if (base->config_index != 0)
        config_from_members(&node->config, base->config_index, base->members,
                            base->n_members);
    else
        node->config = node->initial;
    /* The configuration before it was compacted away with its entry. */
    node->prev_valid = false;
    apply_config(node);
}

int membership_at(const refraft_node *node, refraft_index index,
                  refraft_index *config_index, refraft_member *members,
                  size_t *n)
{
    const struct configuration *c = NULL;
    if (node->config.index <= index)
        c = &node->config;
    else if (node->prev_valid && node->prev_config.index <= index)
        c = &node->prev_config;
    if (c == NULL)
        return REFRAFT_ENOTFOUND;
    /* The initial configuration travels as index 0 alone (each node
     * knows its own). */
    *config_index = c->index;
    *n = c->index != 0 ? c->n : 0;
    config_members(c, members);
    return 0;
}

/* Take note of the CONFIG entries among entries (the entries at first),
 * as they join the log; true when there was one. */
static bool note_configs(refraft_node *node, refraft_index first,
                         const refraft_entry *entries, size_t n)
{
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        const refraft_entry *e = &entries[i];
        if (e->type != REFRAFT_ENTRY_CONFIG)
            continue;
        node->prev_config = node->config;
        node->prev_valid = true;
        config_from_members(&node->config, first + i, e->members, e->n_members);
        changed = true;
    }
    return changed;
}

void membership_load(refraft_node *node, refraft_index first,
                     const refraft_entry *entries, size_t n)
{
    if (note_configs(node, first, entries, n))
        apply_config(node);
}

void membership_after_append(refraft_node *node, refraft_index first,
                             const refraft_entry *entries, size_t n)
{
    if (!note_configs(node, first, entries, n))
        return;
    apply_config(node);
    node_emit(node, REFRAFT_EVENT_CONFIG);
}

/*
 * Entries from index from on left the log.  When the configuration in
 * effect went with them, the one before takes over.  Only the last CONFIG
 * entry of a log can be uncommitted: a leader appends one only once the
 * one before has committed, and committed entries are never truncated.
 * So the one before is the one kept at the last append, and a truncation
 * that would remove it too is refused as a broken log.
 */
int membership_on_truncate(refraft_node *node, refraft_index from)
{
    if (node->config.index < from)
        return 0;
    if (!node->prev_valid || node->prev_config.index >= from)
        return node_errorf(node, REFRAFT_ECORRUPT,
                           "removing the entries from %llu removes the "
                           "configuration at %llu and the one before it, "
                           "but only the last can be uncommitted",
                           (unsigned long long)from,
                           (unsigned long long)node->config.index);
    node->config = node->prev_config;
    node->prev_valid = false;
    apply_config(node);
    node_emit(node, REFRAFT_EVENT_CONFIG);
    return 0;
}

void membership_after_commit(refraft_node *node, refraft_index old_commit)
{
    refraft_index at = node->config.index;
    if (at <= old_commit || at > node->commit_index)
        return;
    node_emit(node, REFRAFT_EVENT_CONFIG);
    /* Thesis §4.2.2: a leader that removed itself steps down once the
     * change is committed; until then it led without counting itself. */
    if (node->role == REFRAFT_LEADER && !node->self_member)
        (void)election_become_follower(node, node->term, NULL);
}

/*
 * A voter campaigns, and so does a voter whose removal is in its log but
 * not yet committed as far as it knows (thesis §4.2.2): the other voters
 * may not have the removal, and if it was the leader and stepped down,
 * only it may hold the newest entries and be electable.  Its own vote
 * does not count (count_votes).
 */
bool membership_may_campaign(const refraft_node *node)
{
    if (node->self_voter)
        return true;
    if (node->self_member || node->config.index <= node->commit_index ||
        !node->prev_valid)
        return false;
    const struct member_rec *was = config_find(&node->prev_config, node->id);
    return was != NULL && was->voter;
}

size_t membership_voters(const refraft_node *node)
{
    size_t n = node->self_voter;
    for (size_t i = 0; i < node->n_peers; i++)
        n += node->peers[i].voter;
    return n;
}

/* ---- changes ---------------------------------------------------------- */

/* Whether this leader may append a configuration now: the last one has
 * committed, and so has an entry of its own term.  The second condition
 * is the fix to single-server changes across leader changes (Ongaro,
 * raft-dev, 2015): without it two leaders of successive terms could each
 * append a change the other never saw, and their majorities need not
 * overlap. */
static int check_may_change(refraft_node *node)
{
    int rv = transfer_refuse(node);
    if (rv != 0)
        return rv;
    if (node->log.version < 4)
        return node_errorf(node, REFRAFT_EINVAL,
                           "log API version %d cannot store configuration "
                           "entries (4 is needed)",
                           node->log.version);
    if (node->config.index > node->commit_index)
        return node_errorf(node, REFRAFT_EBUSY,
                           "the configuration at index %llu has not "
                           "committed yet",
                           (unsigned long long)node->config.index);
    if (node->commit_index < node->term_first_index)
        return node_errorf(node, REFRAFT_EBUSY,
                           "this leader has not committed an entry of its "
                           "term yet");
    return 0;
}

/* Append next as the new configuration. */
static int append_config(refraft_node *node, const struct configuration *next,
                         refraft_index *index)
{
    refraft_member members[REFRAFT_MAX_PEERS];
    config_members(next, members);
    refraft_entry e;
    memset(&e, 0, sizeof e);
    e.term = node->term;
    e.type = REFRAFT_ENTRY_CONFIG;
    e.members = members;
    e.n_members = next->n;
    refraft_index at = node->last_index + 1;
    int rv = replication_append_leader(node, &e, 1);
    if (rv == 0 && index != NULL)
        *index = at;
    return rv;
}

int membership_add_learner(refraft_node *node, const char *id,
                           const char *address, refraft_index *index)
{
    int rv = validate_id(id, "server id", node->errmsg, sizeof node->errmsg);
    if (rv != 0)
        return rv;
    if (address == NULL || strlen(address) > REFRAFT_ADDRESS_MAX)
        return node_errorf(node, REFRAFT_EINVAL,
                           "the address is NULL or longer than %d bytes",
                           REFRAFT_ADDRESS_MAX);
    rv = check_may_change(node);
    if (rv != 0)
        return rv;
    if (config_find(&node->config, id) != NULL)
        return node_errorf(node, REFRAFT_EINVAL, "\"%s\" is a member already",
                           id);
    if (node->config.n == REFRAFT_MAX_PEERS)
        return node_errorf(node, REFRAFT_EINVAL,
                           "the configuration has %d members, the most "
                           "there can be",
                           REFRAFT_MAX_PEERS);
    struct configuration next = node->config;
    struct member_rec *m = &next.members[next.n++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->address, sizeof m->address, "%s", address);
    m->voter = false;
    return append_config(node, &next, index);
}

/* The member a promote or remove names, once a change may be made: *m,
 * or an error. */
static int member_to_change(refraft_node *node, const char *id,
                            const struct member_rec **m)
{
    int rv = validate_id(id, "server id", node->errmsg, sizeof node->errmsg);
    if (rv == 0)
        rv = check_may_change(node);
    if (rv != 0)
        return rv;
    *m = config_find(&node->config, id);
    if (*m == NULL)
        return node_errorf(node, REFRAFT_EINVAL, "\"%s\" is not a member", id);
    return 0;
}

int membership_promote(refraft_node *node, const char *id, refraft_index *index)
{
    const struct member_rec *m;
    int rv = member_to_change(node, id, &m);
    if (rv != 0)
        return rv;
    if (m->voter)
        return node_errorf(node, REFRAFT_EINVAL, "\"%s\" is not a learner", id);
    const struct peer *p = node_find_peer(node, id);
    if (p == NULL)
        return node_errorf(node, REFRAFT_EINVAL, "\"%s\" is this node", id);
    refraft_index behind_match = node->last_index - p->match_index;
    refraft_index data =
        p->data_index < p->match_index ? p->data_index : p->match_index;
    refraft_index behind_data = node->last_index - data;
    if (behind_match > node->promote_lag || behind_data > node->promote_lag)
        return node_errorf(
            node, REFRAFT_ELAGGING,
            "\"%s\" holds the log to %llu and its records to "
            "%llu; the leader's last index is %llu and at "
            "most %u behind is allowed",
            id, (unsigned long long)p->match_index, (unsigned long long)data,
            (unsigned long long)node->last_index, node->promote_lag);
    /* Its data index covers its log only: a voter still fetching the
     * records of a snapshot would count as holding them. */
    if (p->records_behind)
        return node_errorf(node, REFRAFT_ELAGGING,
                           "\"%s\" is still fetching the records of the "
                           "snapshot it installed",
                           id);
    struct configuration next = node->config;
    next.members[m - node->config.members].voter = true;
    return append_config(node, &next, index);
}

int membership_remove(refraft_node *node, const char *id, refraft_index *index)
{
    const struct member_rec *m;
    int rv = member_to_change(node, id, &m);
    if (rv != 0)
        return rv;
    if (m->voter && membership_voters(node) == 1)
        return node_errorf(node, REFRAFT_EINVAL, "\"%s\" is the last voter",
                           id);
    struct configuration next = node->config;
    size_t k = (size_t)(m - node->config.members);
    memmove(&next.members[k], &next.members[k + 1],
            (next.n - k - 1) * sizeof next.members[0]);
    next.n--;
    return append_config(node, &next, index);
}

/* ---- getters ---------------------------------------------------------- */

refraft_index refraft_config_index(const refraft_node *node)
{
    return node != NULL ? node->config.index : 0;
}

size_t refraft_n_members(const refraft_node *node)
{
    return node != NULL ? node->config.n : 0;
}

int refraft_member_get(const refraft_node *node, size_t i, refraft_member *out)
{
    if (node == NULL || out == NULL || i >= node->config.n)
        return REFRAFT_EINVAL;
    const struct member_rec *m = &node->config.members[i];
    out->id = m->id;
    out->address = m->address;
    out->voter = m->voter;
    return 0;
}

bool refraft_is_voter(const refraft_node *node, const char *id)
{
    if (node == NULL || id == NULL)
        return false;
    const struct member_rec *m = config_find(&node->config, id);
    return m != NULL && m->voter;
}
