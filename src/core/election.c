/* election.c - leader election (Raft §5.2), pre-vote and check-quorum. */
#include <string.h>

#include "core/node.h"

/* A fresh randomized timeout in [T, 2T) (Raft §5.2: "election timeouts are
 * chosen randomly from a fixed interval"), so split votes are rare. */
void election_reset_timer(refraft_node *node)
{
    uint64_t t = node->election_timeout_ms;
    node->election_deadline =
        node_now(node) + t + node->hull.random(node->hull.ctx) % t;
}

static void set_role(refraft_node *node, int role)
{
    if (node->role == role)
        return;
    node->role = role;
    node_emit(node, REFRAFT_EVENT_ROLE);
}

/*
 * Step down to follower.  A larger term is persisted first (with the vote
 * cleared); on failure nothing changes.  The election timer restarts only
 * when the leader is heard from (leader_id given) or when this node led and
 * so had no timer running.  A follower that merely learns a larger term
 * keeps its deadline (Figure 2 resets it only for the leader's
 * AppendEntries or a granted vote): otherwise candidates whose logs are too
 * old to win would keep the nodes that can win from ever timing out.
 */
int election_become_follower(refraft_node *node, refraft_term term,
                             const char *leader_id)
{
    if (term > node->term) {
        int rv = node_save_hard_state(node, term, NULL);
        if (rv != 0)
            return rv;
    }
    bool was_leader = node->role == REFRAFT_LEADER;
    set_role(node, REFRAFT_FOLLOWER);
    if (was_leader) {
        transfer_clear(node);
        readindex_fail_all(node);
    }
    node_set_leader(node, leader_id);
    if (was_leader || leader_id != NULL)
        election_reset_timer(node);
    return 0;
}

static void clear_votes(refraft_node *node)
{
    for (size_t i = 0; i < node->n_peers; i++)
        node->peers[i].vote_granted = false;
}

/* Votes of voters only: a learner's vote is not asked for and would not
 * count (thesis §4.2.1). */
static size_t count_votes(const refraft_node *node)
{
    size_t votes = node->self_voter; /* our own */
    for (size_t i = 0; i < node->n_peers; i++)
        votes += node->peers[i].voter && node->peers[i].vote_granted;
    return votes;
}

static void send_vote_requests(refraft_node *node, bool pre_vote, bool transfer)
{
    refraft_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = REFRAFT_MSG_REQUEST_VOTE;
    refraft_request_vote *rv = &msg.u.request_vote;
    rv->term = pre_vote ? node->term + 1 : node->term;
    rv->candidate_id = node->id;
    rv->last_log_index = node->last_index;
    rv->last_log_term = node->last_term;
    rv->pre_vote = pre_vote;
    rv->transfer = transfer;
    for (size_t i = 0; i < node->n_peers; i++)
        if (node->peers[i].voter)
            (void)node->hull.send(node->hull.ctx, node->peers[i].id, &msg);
}

/* The leader starts its term: every follower is probed from the end of the
 * leader's log, and a no-op entry of the new term is appended so entries of
 * earlier terms can commit through it (Raft §5.4.2 and §8). */
static int become_leader(refraft_node *node)
{
    for (size_t i = 0; i < node->n_peers; i++) {
        struct peer *p = &node->peers[i];
        p->next_index = node->last_index + 1;
        p->match_index = 0;
        p->data_index = 0;
        p->pipeline = false;
        p->paused = false;
        p->inflight_count = 0;
        p->acked_since_heartbeat = false;
        p->recent_contact = false;
        p->read_round = 0;
        /* A snapshot sent in an earlier term is not this term's. */
        p->snap_index = 0;
        p->snap_after = 0;
        p->epoch = ++node->last_epoch;
        p->records_behind = false;
    }
    transfer_clear(node);
    set_role(node, REFRAFT_LEADER);
    node_set_leader(node, node->id);
    node->term_first_index = node->last_index + 1;
    uint64_t now = node_now(node);
    node->quorum_deadline = now + node->election_timeout_ms;
    node->heartbeat_deadline = now + node->heartbeat_ms;
    return replication_start_term(node);
}

/* Raft §5.2: "a candidate wins an election if it receives votes from a
 * majority of the servers in the full cluster for the same term". */
static int become_candidate(refraft_node *node, bool transfer)
{
    /* The timer restarts even if the vote cannot be saved, so a failing
     * disk is retried once per timeout rather than on every tick. */
    election_reset_timer(node);
    int rv = node_save_hard_state(node, node->term + 1, node->id);
    if (rv != 0)
        return rv;
    set_role(node, REFRAFT_CANDIDATE);
    node_set_leader(node, NULL);
    clear_votes(node);
    if (count_votes(node) >= node_quorum(node))
        return become_leader(node);
    send_vote_requests(node, false, transfer);
    return 0;
}

/* Pre-vote (Raft thesis §9.6): ask first whether an election could be won,
 * without touching any term, so a node that was cut off cannot disrupt a
 * healthy cluster when it returns. */
static int become_precandidate(refraft_node *node)
{
    set_role(node, REFRAFT_PRECANDIDATE);
    node_set_leader(node, NULL);
    clear_votes(node);
    election_reset_timer(node);
    if (count_votes(node) >= node_quorum(node))
        return become_candidate(node, false);
    send_vote_requests(node, true, false);
    return 0;
}

int election_campaign(refraft_node *node)
{
    return become_candidate(node, true);
}

int election_timeout(refraft_node *node)
{
    /* A learner, or a node its configuration does not name, waits for a
     * leader; it never campaigns, unless it is a voter being removed. */
    if (!membership_may_campaign(node)) {
        election_reset_timer(node);
        return 0;
    }
    if (node->pre_vote)
        return become_precandidate(node);
    return become_candidate(node, false);
}

/* Raft §5.4.1: "If the logs have last entries with different terms, then
 * the log with the later term is more up-to-date.  If the logs end with the
 * same term, then whichever log is longer is more up-to-date." */
static bool
log_up_to_date(const refraft_node *node, const refraft_request_vote *req)
{
    if (node->inject_bugs & REFRAFT_INJECT_VOTE_ANY_LOG)
        return true;
    if (req->last_log_term != node->last_term)
        return req->last_log_term > node->last_term;
    return req->last_log_index >= node->last_index;
}

/* Whether a leader is in charge as far as this node can tell: it leads, or
 * it heard from the leader within the minimum election timeout. */
bool election_leader_is_alive(refraft_node *node)
{
    if (node->role == REFRAFT_LEADER)
        return true;
    return node->leader_id[0] != '\0' &&
           node_now(node) - node->leader_contact_ms < node->election_timeout_ms;
}

static bool grant_pre_vote(refraft_node *node, const refraft_request_vote *req)
{
    return req->term > node->term && log_up_to_date(node, req) &&
           !election_leader_is_alive(node);
}

/* Raft §5.2: "each server will vote for at most one candidate in a given
 * term, on a first-come-first-served basis"; the vote is persisted before
 * the answer leaves. */
static int
grant_vote(refraft_node *node, const refraft_request_vote *req, bool *granted)
{
    *granted = false;
    if (req->term != node->term || !log_up_to_date(node, req))
        return 0;
    /* A leader or candidate of this term has voted for itself. */
    if (node->voted_for[0] != '\0') {
        *granted = strcmp(node->voted_for, req->candidate_id) == 0;
    } else {
        int rv = node_save_hard_state(node, node->term, req->candidate_id);
        if (rv != 0)
            return rv;
        *granted = true;
    }
    if (*granted)
        election_reset_timer(node);
    return 0;
}

int election_on_request_vote(refraft_node *node, const refraft_msg *msg,
                             refraft_reply_fn reply, void *reply_ctx)
{
    const refraft_request_vote *req = &msg->u.request_vote;
    bool granted;
    if (req->pre_vote) {
        granted = grant_pre_vote(node, req);
    } else {
        int rv = grant_vote(node, req, &granted);
        if (rv != 0)
            return rv;
    }
    refraft_msg res;
    memset(&res, 0, sizeof res);
    res.type = REFRAFT_MSG_REQUEST_VOTE_RESULT;
    res.u.request_vote_result.term =
        req->pre_vote && granted ? req->term : node->term;
    res.u.request_vote_result.voter_id = node->id;
    res.u.request_vote_result.vote_granted = granted;
    res.u.request_vote_result.pre_vote = req->pre_vote;
    node_respond(node, req->candidate_id, &res, reply, reply_ctx);
    return 0;
}

int election_on_request_vote_result(refraft_node *node,
                                    const refraft_request_vote_result *res)
{
    /* Only answers to the election under way count: a pre-vote result for
     * the term we asked about, or a vote for our current term. */
    bool current =
        res->pre_vote
            ? node->role == REFRAFT_PRECANDIDATE && res->term == node->term + 1
            : node->role == REFRAFT_CANDIDATE && res->term == node->term;
    struct peer *p = node_find_peer(node, res->voter_id);
    if (!current || !res->vote_granted || !p->voter)
        return 0;
    p->vote_granted = true;
    if (count_votes(node) < node_quorum(node))
        return 0;
    return res->pre_vote ? become_candidate(node, false) : become_leader(node);
}

/*
 * Check-quorum (Raft thesis §6.2): "a leader steps down if an election
 * timeout elapses without a successful round of heartbeats to a majority of
 * its cluster", so clients of a partitioned leader find the real one.
 */
int election_check_quorum(refraft_node *node)
{
    size_t contacts = node->self_voter;
    for (size_t i = 0; i < node->n_peers; i++) {
        contacts += node->peers[i].voter && node->peers[i].recent_contact;
        node->peers[i].recent_contact = false;
    }
    node->quorum_deadline = node_now(node) + node->election_timeout_ms;
    if (contacts >= node_quorum(node))
        return 0;
    return election_become_follower(node, node->term, NULL);
}
