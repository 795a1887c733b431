/* node.c - node lifecycle, getters, message dispatch and the term rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/node.h"

int node_errorf(refraft_node *node, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(node->errmsg, sizeof node->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

uint64_t node_now(refraft_node *node)
{
    return node->hull.now_ms(node->hull.ctx);
}

/* Votes needed for a majority of the voters of the configuration in
 * effect (this node among them only when it is one). */
size_t node_quorum(const refraft_node *node)
{
    return membership_voters(node) / 2 + 1;
}

struct peer *node_find_peer(refraft_node *node, const char *id)
{
    for (size_t i = 0; i < node->n_peers; i++)
        if (strcmp(node->peers[i].id, id) == 0)
            return &node->peers[i];
    return NULL;
}

void node_emit(refraft_node *node, int type)
{
    if (node->hull.on_event == NULL)
        return;
    refraft_event ev = {
        .type = (uint8_t)type,
        .role = node->role,
        .term = node->term,
        .leader_id = node->leader_id[0] != '\0' ? node->leader_id : NULL,
        .commit_index = node->commit_index,
        .data_index = node->data_index,
        .last_index = node->last_index,
    };
    node->hull.on_event(node->hull.ctx, &ev);
}

void node_set_leader(refraft_node *node, const char *leader_id)
{
    const char *id = leader_id != NULL ? leader_id : "";
    if (strcmp(node->leader_id, id) == 0)
        return;
    snprintf(node->leader_id, sizeof node->leader_id, "%s", id);
    node_emit(node, REFRAFT_EVENT_LEADER);
}

/* Persist term and vote first, then mirror them in memory: if the write
 * fails nothing has changed (Figure 2: persistent state is "updated on
 * stable storage before responding to RPCs"). */
int node_save_hard_state(refraft_node *node, refraft_term term,
                         const char *voted_for)
{
    int rv = node->log.save_hard_state(node->log.ctx, term, voted_for);
    if (rv != 0)
        return node_errorf(node, rv, "saving term %llu and vote failed: %s",
                           (unsigned long long)term, refraft_strerror(rv));
    bool term_changed = term != node->term;
    node->term = term;
    if (term_changed) {
        node->acked_match = 0;
        node->leader_epoch = 0;
    }
    snprintf(node->voted_for, sizeof node->voted_for, "%s",
             voted_for != NULL ? voted_for : "");
    if (term_changed)
        node_emit(node, REFRAFT_EVENT_TERM);
    return 0;
}

int node_reserve_scratch(refraft_node *node, size_t n)
{
    void *buf = node->scratch;
    if (refraft_grow(&buf, &node->scratch_cap, n, sizeof(refraft_entry)) != 0)
        return node_errorf(node, REFRAFT_ENOMEM,
                           "no memory for %zu entries of scratch space", n);
    node->scratch = buf;
    return 0;
}

/* DESIGN.md contract 2: answer through the caller's reply callback when it
 * gave one (RPC comms), else send the result back through the hull. */
void node_respond(refraft_node *node, const char *to_id,
                  const refraft_msg *result, refraft_reply_fn reply,
                  void *reply_ctx)
{
    if (reply != NULL)
        reply(reply_ctx, result);
    else
        (void)node->hull.send(node->hull.ctx, to_id, result);
}

static void apply_defaults(refraft_node *node, const refraft_config *config)
{
    node->election_timeout_ms =
        config->election_timeout_ms != 0 ? config->election_timeout_ms : 1000;
    node->heartbeat_ms = config->heartbeat_ms != 0
                             ? config->heartbeat_ms
                             : node->election_timeout_ms / 10;
    if (node->heartbeat_ms == 0)
        node->heartbeat_ms = 1;
    node->max_entries_per_msg =
        config->max_entries_per_msg != 0 ? config->max_entries_per_msg : 1024;
    node->max_inflight = config->max_inflight != 0 ? config->max_inflight : 8;
    node->promote_lag = config->promote_lag != 0 ? config->promote_lag
                                                 : node->max_entries_per_msg;
    node->pre_vote = !config->disable_pre_vote;
    node->check_quorum = !config->disable_check_quorum;
    node->defer_follower_apply = config->defer_follower_apply;
    node->commit_policy = config->commit_policy;
    node->inject_bugs = config->inject_bugs;
    node->compact_entries = config->compact_entries;
    node->compact_bytes = config->compact_bytes;
    /* The default keeps a message's worth, within the entries bound when
     * there is one. */
    node->compact_keep = config->compact_keep;
    if (node->compact_keep == 0 && config->compact_entries != 0)
        node->compact_keep =
            node->max_entries_per_msg < config->compact_entries / 2
                ? node->max_entries_per_msg
                : config->compact_entries / 2;
    else if (node->compact_keep == 0 && config->compact_bytes != 0)
        node->compact_keep = node->max_entries_per_msg;
    node->snapshot_chunk = config->snapshot_chunk != 0
                               ? config->snapshot_chunk
                               : node->max_entries_per_msg;
}

/* A ring for every peer a configuration can have, so that a membership
 * change never allocates. */
static int alloc_inflight(refraft_node *node, char *errbuf, size_t errbuf_len)
{
    node->inflight_slots =
        refraft_calloc(REFRAFT_MAX_PEERS * (size_t)node->max_inflight,
                       sizeof *node->inflight_slots);
    if (node->inflight_slots == NULL) {
        snprintf(errbuf, errbuf_len, "no memory for the replication window");
        return REFRAFT_ENOMEM;
    }
    return 0;
}

/* Read the log's tail and the hard state, and check they agree: a term
 * behind the last entry's term means the storage lost a write. */
static int load_state(refraft_node *node, refraft_index applied_index,
                      char *errbuf, size_t errbuf_len)
{
    const refraft_log_api *log = &node->log;
    node->last_index = log->last_index(log->ctx);
    int rv = log->term_at(log->ctx, node->last_index, &node->last_term);
    if (rv == 0)
        rv = log->load_hard_state(log->ctx, &node->term, node->voted_for);
    if (rv != 0) {
        snprintf(errbuf, errbuf_len, "reading the log failed: %s",
                 refraft_strerror(rv));
        return rv;
    }
    node->voted_for[REFRAFT_ID_MAX] = '\0';
    if (node->term > REFRAFT_TERM_MAX) {
        snprintf(errbuf, errbuf_len, "stored term %llu is above %llu",
                 (unsigned long long)node->term,
                 (unsigned long long)REFRAFT_TERM_MAX);
        return REFRAFT_ECORRUPT;
    }
    if (node->term < node->last_term) {
        snprintf(errbuf, errbuf_len,
                 "stored term %llu is behind the last entry's term %llu",
                 (unsigned long long)node->term,
                 (unsigned long long)node->last_term);
        return REFRAFT_ECORRUPT;
    }
    if (applied_index > node->last_index) {
        snprintf(errbuf, errbuf_len,
                 "applied index %llu is beyond the last log index %llu",
                 (unsigned long long)applied_index,
                 (unsigned long long)node->last_index);
        return REFRAFT_EINVAL;
    }
    if (node->inject_bugs & REFRAFT_INJECT_FORGET_VOTE)
        node->voted_for[0] = '\0';
    /* Whatever the application applied was committed. */
    node->applied_index = applied_index;
    node->commit_index = applied_index;
    return 0;
}

int refraft_node_create(const refraft_config *config, const refraft_hull *hull,
                        const refraft_log_api *log, refraft_node **out,
                        char *errbuf, size_t errbuf_len)
{
    char scratch_err[REFRAFT_ERRMSG_LEN];
    if (errbuf == NULL || errbuf_len == 0) {
        errbuf = scratch_err;
        errbuf_len = sizeof scratch_err;
    }
    errbuf[0] = '\0';
    if (out == NULL) {
        snprintf(errbuf, errbuf_len, "out must not be NULL");
        return REFRAFT_EINVAL;
    }
    int rv = validate_config(config, hull, log, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    refraft_node *node = refraft_calloc(1, sizeof *node);
    if (node == NULL) {
        snprintf(errbuf, errbuf_len, "no memory for the node");
        return REFRAFT_ENOMEM;
    }
    snprintf(node->id, sizeof node->id, "%s", config->id);
    /* A host built against an older header gave shorter structs: the
     * members it does not know of stay NULL. */
    memcpy(&node->hull, hull,
           hull->version >= 5   ? sizeof *hull
           : hull->version == 4 ? offsetof(refraft_hull, snapshot_read)
           : hull->version == 3 ? offsetof(refraft_hull, on_read)
                                : offsetof(refraft_hull, flush));
    memcpy(&node->log, log,
           log->version >= 5   ? sizeof *log
           : log->version >= 3 ? offsetof(refraft_log_api, compact)
                               : offsetof(refraft_log_api, stage));
    apply_defaults(node, config);
    rv = alloc_inflight(node, errbuf, errbuf_len);
    if (rv == 0)
        rv = load_state(node, config->applied_index, errbuf, errbuf_len);
    if (rv == 0)
        membership_init(node, config);
    if (rv == 0)
        rv = snapshot_load(node, config->applied_index, errbuf, errbuf_len);
    if (rv == 0)
        rv = data_init(node, config->data_index, errbuf, errbuf_len);
    if (rv != 0) {
        refraft_node_destroy(node);
        return rv;
    }
    node->role = REFRAFT_FOLLOWER;
    election_reset_timer(node);
    *out = node;
    return 0;
}

void refraft_node_destroy(refraft_node *node)
{
    if (node == NULL)
        return;
    refraft_free(node->scratch);
    refraft_free(node->inflight_slots);
    readindex_free(node);
    snapshot_free(node);
    data_free(node);
    refraft_free(node);
}

static void records_stored(refraft_node *node);

/* Guards every call that changes the node: it refuses a failed node and a
 * call made from inside one of the node's own callbacks. */
static int enter(refraft_node *node)
{
    if (node->failed)
        return REFRAFT_EFAILED;
    if (node->busy)
        return node_errorf(node, REFRAFT_EINVAL,
                           "called from inside one of this node's callbacks");
    node->busy = true;
    node->errmsg[0] = '\0';
    return 0;
}

static int leave(refraft_node *node, int rv)
{
    /* A contradiction of committed entries means storage or a peer broke
     * Raft's guarantees; carrying on could spread the damage. */
    if (rv == REFRAFT_ECORRUPT)
        node->failed = true;
    node->busy = false;
    return rv;
}

/* A request from an older term is refused with our term, so its sender
 * learns it is behind (Figure 2: "Reply false if term < currentTerm"). */
static int reject_stale(refraft_node *node, const refraft_msg *msg,
                        refraft_reply_fn reply, void *reply_ctx)
{
    refraft_msg res;
    memset(&res, 0, sizeof res);
    if (msg->type == REFRAFT_MSG_APPEND_ENTRIES) {
        /* A well-formed refusal: a leader of this node's term may get
         * it (its own message from an earlier term, delivered late) and
         * at worst probes again from the hint. */
        refraft_append_entries_result *r = replication_result_init(node, &res);
        r->rejected_index = msg->u.append_entries.prev_log_index;
        r->conflict_index = node->commit_index + 1;
    } else if (msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT) {
        /* after 0, not installed: a leader of this term that sent it
         * earlier at worst starts its send over. */
        snapshot_result_init(node, &res,
                             msg->u.install_snapshot.meta.last_index);
    } else {
        res.type = REFRAFT_MSG_REQUEST_VOTE_RESULT;
        res.u.request_vote_result.term = node->term;
        res.u.request_vote_result.voter_id = node->id;
        res.u.request_vote_result.pre_vote = msg->u.request_vote.pre_vote;
    }
    node_respond(node, message_sender(msg), &res, reply, reply_ctx);
    return node_errorf(node, REFRAFT_ESTALE,
                       "message term %llu is older than current term %llu",
                       (unsigned long long)message_term(msg),
                       (unsigned long long)node->term);
}

/*
 * DESIGN.md contract 6, the term rule: any message whose term is larger
 * than ours makes us adopt the term, clear the vote and become follower,
 * before it is processed (Raft §5.1).  Two messages are exempt because
 * their term is a proposal, not a claim: a pre-vote request, and a granted
 * pre-vote result, which echoes the term the pre-candidate asked about.
 */
static bool raises_term(const refraft_msg *msg)
{
    if (msg->type == REFRAFT_MSG_REQUEST_VOTE)
        return !msg->u.request_vote.pre_vote;
    if (msg->type == REFRAFT_MSG_REQUEST_VOTE_RESULT)
        return !(msg->u.request_vote_result.pre_vote &&
                 msg->u.request_vote_result.vote_granted);
    return true;
}

/*
 * Thesis §4.2.3: a server that hears from a leader ignores a vote request
 * of a higher term (it neither adopts the term nor votes): a server
 * removed from the configuration, which never learns it was, would
 * otherwise depose the leader again and again.  A candidate the leader
 * chose (a transfer) is exempt.  Pre-votes raise no term; they are
 * refused in election.c on the same ground.
 */
static bool disrupts_leader(refraft_node *node, const refraft_msg *msg)
{
    if (msg->type != REFRAFT_MSG_REQUEST_VOTE)
        return false;
    const refraft_request_vote *rv = &msg->u.request_vote;
    return !rv->pre_vote && !rv->transfer && rv->term > node->term &&
           election_leader_is_alive(node);
}

static int dispatch(refraft_node *node, const refraft_msg *msg,
                    refraft_reply_fn reply, void *reply_ctx)
{
    if (disrupts_leader(node, msg))
        return 0;
    refraft_term term = message_term(msg);
    bool request = msg->type == REFRAFT_MSG_APPEND_ENTRIES ||
                   msg->type == REFRAFT_MSG_REQUEST_VOTE ||
                   msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT;
    if (term > node->term && raises_term(msg)) {
        const char *leader = msg->type == REFRAFT_MSG_APPEND_ENTRIES
                                 ? msg->u.append_entries.leader_id
                             : msg->type == REFRAFT_MSG_INSTALL_SNAPSHOT
                                 ? msg->u.install_snapshot.leader_id
                                 : NULL;
        int rv = election_become_follower(node, term, leader);
        if (rv != 0)
            return rv;
    } else if (term < node->term) {
        if (request)
            return reject_stale(node, msg, reply, reply_ctx);
        return node_errorf(node, REFRAFT_ESTALE,
                           "result of term %llu is older than current term "
                           "%llu",
                           (unsigned long long)term,
                           (unsigned long long)node->term);
    }
    switch (msg->type) {
    case REFRAFT_MSG_TIMEOUT_NOW:
        return transfer_on_timeout_now(node, &msg->u.timeout_now);
    case REFRAFT_MSG_APPEND_ENTRIES:
        return replication_on_append_entries(node, msg, reply, reply_ctx);
    case REFRAFT_MSG_APPEND_ENTRIES_RESULT:
        return replication_on_append_entries_result(
            node, &msg->u.append_entries_result);
    case REFRAFT_MSG_REQUEST_VOTE:
        return election_on_request_vote(node, msg, reply, reply_ctx);
    case REFRAFT_MSG_INSTALL_SNAPSHOT:
        return snapshot_on_install(node, msg, reply, reply_ctx);
    case REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return snapshot_on_result(node, &msg->u.install_snapshot_result);
    default:
        return election_on_request_vote_result(node,
                                               &msg->u.request_vote_result);
    }
}

int refraft_on_message(refraft_node *node, const refraft_msg *msg,
                       refraft_reply_fn reply, void *reply_ctx)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    if (msg == NULL)
        return node_errorf(node, REFRAFT_EINVAL, "message is NULL");
    int rv = enter(node);
    if (rv != 0)
        return rv;
    rv = validate_message(node, msg);
    if (rv == 0)
        rv = dispatch(node, msg, reply, reply_ctx);
    return leave(node, rv);
}

int refraft_tick(refraft_node *node)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    int rv = enter(node);
    if (rv != 0)
        return rv;
    uint64_t now = node_now(node);
    if (node->role == REFRAFT_LEADER) {
        transfer_tick(node, now);
        if (node->check_quorum && now >= node->quorum_deadline)
            rv = election_check_quorum(node);
        if (node->role == REFRAFT_LEADER && now >= node->heartbeat_deadline)
            replication_heartbeat(node);
    } else if (now >= node->election_deadline) {
        rv = election_timeout(node);
    }
    if (node->data_retry)
        records_stored(node);
    else if (node->apply_stalled || node->apply_due)
        replication_apply(node);
    return leave(node, rv);
}

uint64_t refraft_next_deadline(const refraft_node *node)
{
    if (node == NULL)
        return UINT64_MAX;
    uint64_t next;
    if (node->role == REFRAFT_LEADER) {
        next = node->heartbeat_deadline;
        if (node->check_quorum && node->quorum_deadline < next)
            next = node->quorum_deadline;
        if (node->transfer_target[0] != '\0' && node->transfer_deadline < next)
            next = node->transfer_deadline;
    } else {
        next = node->election_deadline;
    }
    if (node->apply_due && !node->failed)
        return node->hull.now_ms(node->hull.ctx);
    /* A stalled apply or records check is retried at heartbeat pace, not
     * in a busy loop. */
    if (node->apply_stalled || node->data_retry) {
        uint64_t retry = node->hull.now_ms(node->hull.ctx) + node->heartbeat_ms;
        if (retry < next)
            next = retry;
    }
    return next;
}

static int validate_refs(refraft_node *node, const refraft_ref *refs, size_t n)
{
    if (refs == NULL || n == 0)
        return node_errorf(node, REFRAFT_EINVAL, "empty batch of references");
    for (size_t i = 0; i < n; i++) {
        int rv = validate_ref(&refs[i], node->errmsg, sizeof node->errmsg);
        if (rv != 0) {
            char cause[REFRAFT_ERRMSG_LEN];
            snprintf(cause, sizeof cause, "%s", node->errmsg);
            return node_errorf(node, rv, "reference %zu: %s", i, cause);
        }
    }
    return 0;
}

static int not_leader(refraft_node *node)
{
    if (node->leader_id[0] == '\0')
        return node_errorf(node, REFRAFT_ENOLEADER,
                           "no leader is known in term %llu",
                           (unsigned long long)node->term);
    return node_errorf(node, REFRAFT_ENOTLEADER, "the leader is \"%s\"",
                       node->leader_id);
}

/* DESIGN.md contract 3: the leader appends the batch uncommitted and
 * replicates it; it commits once a majority holds it (Raft §5.3). */
static int propose(refraft_node *node, const refraft_ref *refs, size_t n,
                   refraft_index *first_index)
{
    if (node->role != REFRAFT_LEADER)
        return not_leader(node);
    int rv = transfer_refuse(node);
    if (rv == 0)
        rv = validate_refs(node, refs, n);
    if (rv == 0)
        rv = node_reserve_scratch(node, n);
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < n; i++) {
        refraft_entry *e = &node->scratch[i];
        e->term = node->term;
        e->type = REFRAFT_ENTRY_REF;
        e->ref = refs[i];
    }
    refraft_index first = node->last_index + 1;
    rv = replication_append_leader(node, node->scratch, n);
    if (rv == 0 && first_index != NULL)
        *first_index = first;
    return rv;
}

int refraft_propose(refraft_node *node, const refraft_ref *refs, size_t n,
                    refraft_index *first_index)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    int rv = enter(node);
    if (rv == 0)
        rv = leave(node, propose(node, refs, n, first_index));
    return rv;
}

/* A late record or a sweeper fetch: the data index may move, which can
 * let entries apply, let the leader commit (durable policy), and must
 * reach the leader at once rather than with the next heartbeat. */
static void records_stored(refraft_node *node)
{
    if (data_advance(node)) {
        node_emit(node, REFRAFT_EVENT_DATA);
        if (node->role == REFRAFT_LEADER)
            replication_advance_commit(node);
        else
            replication_report_data(node);
    }
    replication_apply(node);
}

int refraft_records_stored(refraft_node *node)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    int rv = enter(node);
    if (rv != 0)
        return rv;
    records_stored(node);
    return leave(node, 0);
}

/* The calls only a leader may make: what each asks for. */
enum leader_op {
    OP_VOID,
    OP_ADD_LEARNER,
    OP_PROMOTE,
    OP_REMOVE,
    OP_TRANSFER,
    OP_READ_INDEX
};

struct leader_call {
    enum leader_op op;
    const char *id;       /* the server (changes, transfer) */
    const char *address;  /* OP_ADD_LEARNER */
    refraft_index voided; /* OP_VOID */
    refraft_index *index; /* where the appended entry went */
    uint64_t *read_id;    /* OP_READ_INDEX */
};

static int run_leader_call(refraft_node *node, const struct leader_call *c)
{
    switch (c->op) {
    case OP_VOID:
        return replication_void(node, c->voided, c->index);
    case OP_ADD_LEARNER:
        return membership_add_learner(node, c->id, c->address, c->index);
    case OP_PROMOTE:
        return membership_promote(node, c->id, c->index);
    case OP_REMOVE:
        return membership_remove(node, c->id, c->index);
    case OP_TRANSFER:
        return transfer_start(node, c->id);
    default:
        return readindex_request(node, c->read_id);
    }
}

/* Run c on a node that leads; refuse it elsewhere. */
static int leader_call(refraft_node *node, const struct leader_call *c)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    int rv = enter(node);
    if (rv != 0)
        return rv;
    if (node->role != REFRAFT_LEADER)
        rv = not_leader(node);
    else
        rv = run_leader_call(node, c);
    return leave(node, rv);
}

int refraft_void(refraft_node *node, refraft_index index,
                 refraft_index *void_index)
{
    struct leader_call c = {
        .op = OP_VOID, .voided = index, .index = void_index};
    return leader_call(node, &c);
}

int refraft_add_learner(refraft_node *node, const char *id, const char *address,
                        refraft_index *index)
{
    struct leader_call c = {
        .op = OP_ADD_LEARNER, .id = id, .address = address, .index = index};
    return leader_call(node, &c);
}

int refraft_promote(refraft_node *node, const char *id, refraft_index *index)
{
    struct leader_call c = {.op = OP_PROMOTE, .id = id, .index = index};
    return leader_call(node, &c);
}

int refraft_remove(refraft_node *node, const char *id, refraft_index *index)
{
    struct leader_call c = {.op = OP_REMOVE, .id = id, .index = index};
    return leader_call(node, &c);
}

int refraft_transfer(refraft_node *node, const char *target_id)
{
    struct leader_call c = {.op = OP_TRANSFER, .id = target_id};
    return leader_call(node, &c);
}

int refraft_read_index(refraft_node *node, uint64_t *read_id)
{
    struct leader_call c = {.op = OP_READ_INDEX, .read_id = read_id};
    return leader_call(node, &c);
}

int refraft_compact(refraft_node *node, refraft_index upto)
{
    if (node == NULL)
        return REFRAFT_EINVAL;
    int rv = enter(node);
    if (rv != 0)
        return rv;
    return leave(node, snapshot_compact_now(node, upto));
}

refraft_index refraft_snapshot_index(const refraft_node *node)
{
    return node != NULL ? node->base_index : 0;
}

const char *refraft_transfer_target(const refraft_node *node)
{
    return node != NULL && node->transfer_target[0] != '\0'
               ? node->transfer_target
               : NULL;
}

refraft_index refraft_void_of(const refraft_node *node, refraft_index index)
{
    return node != NULL ? data_void_of(node, index) : 0;
}

int refraft_peer_progress_get(const refraft_node *node, const char *id,
                              refraft_peer_progress *out)
{
    if (node == NULL || id == NULL || out == NULL)
        return REFRAFT_EINVAL;
    for (size_t i = 0; i < node->n_peers; i++) {
        const struct peer *p = &node->peers[i];
        if (strcmp(p->id, id) != 0)
            continue;
        bool leader = node->role == REFRAFT_LEADER;
        out->match_index = leader ? p->match_index : 0;
        out->data_index = leader ? p->data_index : 0;
        out->recent_contact = leader && p->recent_contact;
        out->voter = p->voter;
        out->snapshot_index = leader ? p->snap_index : 0;
        out->records_behind = leader && p->records_behind;
        return 0;
    }
    return REFRAFT_EUNKNOWNPEER;
}

size_t refraft_n_peers(const refraft_node *node)
{
    return node != NULL ? node->n_peers : 0;
}

const char *refraft_peer_id(const refraft_node *node, size_t i)
{
    return node != NULL && i < node->n_peers ? node->peers[i].id : NULL;
}

int refraft_commit_policy_of(const refraft_node *node)
{
    return node != NULL ? node->commit_policy : REFRAFT_COMMIT_DURABLE;
}

refraft_index refraft_data_index(const refraft_node *node)
{
    return node != NULL ? node->data_index : 0;
}

bool refraft_records_behind(const refraft_node *node)
{
    return node != NULL && node->snap_pending;
}

const char *refraft_id(const refraft_node *node)
{
    return node != NULL ? node->id : NULL;
}

int refraft_role(const refraft_node *node)
{
    return node != NULL ? node->role : 0;
}

refraft_term refraft_current_term(const refraft_node *node)
{
    return node != NULL ? node->term : 0;
}

const char *refraft_leader_id(const refraft_node *node)
{
    return node != NULL && node->leader_id[0] != '\0' ? node->leader_id : NULL;
}

const char *refraft_voted_for(const refraft_node *node)
{
    return node != NULL && node->voted_for[0] != '\0' ? node->voted_for : NULL;
}

refraft_index refraft_commit_index(const refraft_node *node)
{
    return node != NULL ? node->commit_index : 0;
}

refraft_index refraft_applied_index(const refraft_node *node)
{
    return node != NULL ? node->applied_index : 0;
}

refraft_index refraft_last_index(const refraft_node *node)
{
    return node != NULL ? node->last_index : 0;
}

const char *refraft_errmsg(const refraft_node *node)
{
    return node != NULL ? node->errmsg : "node is NULL";
}

const char *refraft_role_name(int role)
{
    switch (role) {
    case REFRAFT_FOLLOWER:
        return "follower";
    case REFRAFT_PRECANDIDATE:
        return "pre-candidate";
    case REFRAFT_CANDIDATE:
        return "candidate";
    case REFRAFT_LEADER:
        return "leader";
    default:
        return "unknown";
    }
}
