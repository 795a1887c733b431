/* replication.c - log replication (Raft §5.3), commitment (§5.4.2) and
 * in-order apply. */
#include <string.h>

#include "core/node.h"

/* Entries below this many are applied per read from the log. */
#define APPLY_CHUNK 256

static int term_at(refraft_node *node, refraft_index index, refraft_term *term)
{
    if (index == node->last_index) {
        *term = node->last_term;
        return 0;
    }
    return node->log.term_at(node->log.ctx, index, term);
}

typedef int (*append_fn)(void *ctx, const refraft_entry *entries, size_t n);

/* Append through write (the log's append or stage) and take note of what
 * the log gained. */
static int append_with(refraft_node *node, append_fn write,
                       const refraft_entry *entries, size_t n)
{
    int rv = data_reserve_voids(node, entries, n);
    if (rv != 0)
        return rv;
    rv = write(node->log.ctx, entries, n);
    if (rv != 0)
        return node_errorf(node, rv,
                           "appending %zu entries at index %llu "
                           "failed: %s",
                           n, (unsigned long long)node->last_index + 1,
                           refraft_strerror(rv));
    refraft_index first = node->last_index + 1;
    node->last_index += n;
    node->last_term = entries[n - 1].term;
    data_note_voids(node, first, entries, n);
    data_after_append(node, first, entries, n);
    membership_after_append(node, first, entries, n);
    return 0;
}

/* What send_append returns when the log has compacted the entries p needs
 * (REFRAFT_ENOTFOUND): p needs the snapshot. */
#define SEND_COMPACTED (-2)

/* Send one AppendEntries to p whose entries follow prev; with_entries false
 * makes it a heartbeat.  Returns how many entries it carried, -1 when
 * nothing could be sent (the log could not be read), or SEND_COMPACTED. */
static long send_append(refraft_node *node, struct peer *p, refraft_index prev,
                        bool with_entries)
{
    refraft_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = REFRAFT_MSG_APPEND_ENTRIES;
    refraft_append_entries *ae = &msg.u.append_entries;
    ae->term = node->term;
    ae->leader_id = node->id;
    ae->prev_log_index = prev;
    ae->read_round = node->read_round;
    ae->epoch = p->epoch;
    int rv = term_at(node, prev, &ae->prev_log_term);
    if (rv == 0 && with_entries && prev < node->last_index) {
        refraft_index left = node->last_index - prev;
        size_t want = left < node->max_entries_per_msg
                          ? (size_t)left
                          : node->max_entries_per_msg;
        rv = node_reserve_scratch(node, want);
        if (rv == 0)
            rv = node->log.get(node->log.ctx, prev + 1, want, node->scratch,
                               &ae->n_entries);
        ae->entries = node->scratch;
    }
    if (rv != 0)
        return rv == REFRAFT_ENOTFOUND ? SEND_COMPACTED : -1;
    /* The follower commits up to the last entry this message leaves it
     * with; that must not fall inside a VOID's span (data_clip). */
    refraft_index end = prev + ae->n_entries;
    ae->leader_commit =
        data_clip(node, node->commit_index < end ? node->commit_index : end);
    (void)node->hull.send(node->hull.ctx, p->id, &msg);
    return (long)ae->n_entries;
}

static bool inflight_full(const refraft_node *node, const struct peer *p)
{
    return p->inflight_count >= node->max_inflight;
}

static void inflight_add(refraft_node *node, struct peer *p, refraft_index last)
{
    uint32_t slot = (p->inflight_head + p->inflight_count) % node->max_inflight;
    p->inflight[slot] = last;
    p->inflight_count++;
}

/* Forget the messages the follower has acknowledged up to match. */
static void
inflight_ack(refraft_node *node, struct peer *p, refraft_index match)
{
    while (p->inflight_count > 0 && p->inflight[p->inflight_head] <= match) {
        p->inflight_head = (p->inflight_head + 1) % node->max_inflight;
        p->inflight_count--;
    }
}

static void enter_probe(struct peer *p, refraft_index next)
{
    p->next_index = next;
    p->pipeline = false;
    p->paused = false;
    p->inflight_count = 0;
}

/*
 * Keep p's pipe full.  A follower whose log is not yet known to match gets
 * one AppendEntries at a time (probe); once one succeeds, entries stream
 * out without waiting for answers, up to max_inflight messages beyond what
 * the follower acknowledged.
 */
static void replicate(refraft_node *node, struct peer *p)
{
    /* A follower that needs entries compacted away gets the snapshot
     * first (Raft §7); its chunks move on answers and heartbeats. */
    if (p->snap_index != 0)
        return;
    if (p->next_index <= node->base_index) {
        snapshot_start(node, p);
        return;
    }
    if (!p->pipeline) {
        long sent =
            p->paused ? 0 : send_append(node, p, p->next_index - 1, true);
        if (sent == SEND_COMPACTED)
            snapshot_start(node, p);
        else if (!p->paused && sent >= 0)
            p->paused = true;
        return;
    }
    while (p->next_index <= node->last_index && !inflight_full(node, p)) {
        long n = send_append(node, p, p->next_index - 1, true);
        if (n == SEND_COMPACTED)
            snapshot_start(node, p);
        if (n <= 0)
            return;
        p->next_index += (refraft_index)n;
        inflight_add(node, p, p->next_index - 1);
    }
}

void replication_replicate(refraft_node *node, struct peer *p)
{
    replicate(node, p);
}

static void send_all(refraft_node *node)
{
    /* A commit just now may have ended a leader's term as a member. */
    if (node->role != REFRAFT_LEADER)
        return;
    for (size_t i = 0; i < node->n_peers; i++)
        replicate(node, &node->peers[i]);
}

static int
append_local(refraft_node *node, const refraft_entry *entries, size_t n)
{
    return append_with(node, node->log.append, entries, n);
}

/* The staged entries from first on are gone with a failed sync: forget
 * them as a truncation would, and stop leading.  Followers may have them
 * already, so no other entry may take their indexes in this term (Log
 * Matching, Raft §5.3); a follower cannot propose.  The data index goes
 * back to data_before, where it stood before they were staged: the look
 * that settled them may have settled earlier entries too, on records the
 * failed write carried (a record proposed again for an entry whose
 * record was missing), and those went with it. */
static int sync_failed(refraft_node *node, refraft_index first,
                       refraft_term prev_term, refraft_index data_before,
                       int rv)
{
    size_t n = (size_t)(node->last_index - first + 1);
    node->last_index = first - 1;
    node->last_term = prev_term;
    data_on_truncate(node, first);
    if (node->data_index > data_before)
        node->data_index = data_before;
    int config_rv = membership_on_truncate(node, first);
    if (node->hull.on_truncate != NULL)
        node->hull.on_truncate(node->hull.ctx, first);
    if (config_rv != 0)
        return config_rv;
    (void)election_become_follower(node, node->term, NULL);
    return node_errorf(node, rv,
                       "syncing %zu entries at index %llu failed: %s; the "
                       "node stepped down, and another leader may still "
                       "commit them (they were sent)",
                       n, (unsigned long long)first, refraft_strerror(rv));
}

/*
 * The leader's own new entries.  With a log that stages, the entries go
 * to the followers before they are durable here, and the leader syncs
 * while they travel (Raft thesis §10.2.1); it counts itself toward a
 * commit only after the sync.  Otherwise they are appended durably first.
 * Either way the followers have been sent them when this returns 0.
 */
int replication_append_leader(refraft_node *node, const refraft_entry *entries,
                              size_t n)
{
    if (node->log.stage == NULL) {
        int rv = append_local(node, entries, n);
        if (rv != 0)
            return rv;
        replication_advance_commit(node);
        send_all(node);
        return 0;
    }
    refraft_index first = node->last_index + 1;
    refraft_term prev_term = node->last_term;
    refraft_index data_before = node->data_index;
    int rv = append_with(node, node->log.stage, entries, n);
    if (rv != 0)
        return rv;
    /* No commit is counted in between: nothing here calls
     * replication_advance_commit(), and the hull must not call in. */
    send_all(node);
    if (node->hull.flush != NULL)
        node->hull.flush(node->hull.ctx);
    rv = node->log.sync(node->log.ctx);
    if (rv != 0)
        return sync_failed(node, first, prev_term, data_before, rv);
    replication_advance_commit(node);
    return 0;
}

int replication_start_term(refraft_node *node)
{
    refraft_entry noop;
    memset(&noop, 0, sizeof noop);
    noop.term = node->term;
    noop.type = REFRAFT_ENTRY_NOOP;
    int rv = replication_append_leader(node, &noop, 1);
    /* A leader that cannot write cannot lead. */
    if (rv != 0 && node->role == REFRAFT_LEADER)
        (void)election_become_follower(node, node->term, NULL);
    return rv;
}

/* A heartbeat's prev: where p's log is known or probed to match, but never
 * below the log's base, the oldest entry whose term the leader knows.  A
 * follower being sent a snapshot may refuse it; its answer still shows
 * that it follows (check-quorum, read rounds). */
static refraft_index
heartbeat_prev(const refraft_node *node, const struct peer *p)
{
    refraft_index prev = p->pipeline ? p->match_index : p->next_index - 1;
    return prev > node->base_index ? prev : node->base_index;
}

void replication_send_heartbeat(refraft_node *node, struct peer *p)
{
    (void)send_append(node, p, heartbeat_prev(node, p), false);
}

/* Heartbeats (Raft §5.2) also restart replication that stalled: a
 * pipeline that saw no progress since the last heartbeat (messages lost)
 * falls back to probing, and a probe whose answer was lost is repeated,
 * without entries: its answer unpauses the flow. */
void replication_heartbeat(refraft_node *node)
{
    for (size_t i = 0; i < node->n_peers; i++) {
        struct peer *p = &node->peers[i];
        if (p->pipeline && p->inflight_count > 0 && !p->acked_since_heartbeat)
            enter_probe(p, p->match_index + 1);
        /* A chunk unanswered since the last heartbeat is sent again
         * (lost); one that cannot be read leaves an AppendEntries at the
         * base instead, so that the follower still hears from its leader.
         * A follower probed below the base (the log was compacted past
         * it meanwhile) cannot match any AppendEntries: the heartbeat's
         * answer would be taken for a stale one, so it gets the
         * snapshot. */
        if (p->snap_index != 0) {
            if (!p->acked_since_heartbeat && !snapshot_send(node, p))
                replication_send_heartbeat(node, p);
        } else if (p->next_index <= node->base_index)
            snapshot_start(node, p);
        else if (p->pipeline || p->paused)
            replication_send_heartbeat(node, p);
        else
            replicate(node, p);
        p->acked_since_heartbeat = false;
    }
    node->heartbeat_deadline = node_now(node) + node->heartbeat_ms;
}

static void set_commit(refraft_node *node, refraft_index index)
{
    if (index <= node->commit_index)
        return;
    refraft_index old = node->commit_index;
    node->commit_index = index;
    node_emit(node, REFRAFT_EVENT_COMMIT);
    membership_after_commit(node, old);
    readindex_advance(node);
    if (node->defer_follower_apply && node->role != REFRAFT_LEADER)
        node->apply_due = true; /* refraft_tick() applies */
    else
        replication_apply(node);
}

/* How far a node holds the leader's log: its match index, and under the
 * durable policy only as far as its records are settled too. */
static refraft_index
held(const refraft_node *node, refraft_index match, refraft_index data)
{
    if (node->commit_policy == REFRAFT_COMMIT_REFERENCE)
        return match;
    return match < data ? match : data;
}

/*
 * Raft §5.4.2 and Figure 2: "If there exists an N such that N > commitIndex,
 * a majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
 * commitIndex = N."  Counting replicas never commits an entry of an
 * earlier term directly (Figure 8); it commits with the first entry of the
 * current term that reaches a majority.  Under the durable policy a
 * replica counts only up to its data index (DESIGN.md: the record of a
 * committed entry is on a majority), and no commit lands inside a VOID's
 * span (data_clip).  The majority is of the voters of the configuration
 * in effect, committed or not (thesis §4.1); a leader that removed itself
 * is not one of them.
 */
void replication_advance_commit(refraft_node *node)
{
    if (node->role != REFRAFT_LEADER)
        return;
    refraft_index match[REFRAFT_MAX_PEERS];
    size_t n = 0;
    if (node->self_voter)
        match[n++] = held(node, node->last_index, node->data_index);
    for (size_t i = 0; i < node->n_peers; i++)
        if (node->peers[i].voter)
            match[n++] = held(node, node->peers[i].match_index,
                              node->peers[i].data_index);
    /* Sort descending; the quorum-th largest is held by a majority. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && match[j] > match[j - 1]; j--) {
            refraft_index t = match[j];
            match[j] = match[j - 1];
            match[j - 1] = t;
        }
    refraft_index candidate = data_clip(node, match[node_quorum(node) - 1]);
    if (candidate <= node->commit_index)
        return;
    refraft_term term;
    if (term_at(node, candidate, &term) != 0)
        return;
    if (term != node->term &&
        !(node->inject_bugs & REFRAFT_INJECT_COMMIT_OLD_TERM))
        return;
    set_commit(node, candidate);
}

/*
 * What apply() gets for the settled entry e at index: a REF entry that a
 * committed VOID abandons is handed over as ABANDONED.  A REF entry that
 * only an uncommitted VOID settles (a VOID of a deposed leader, still in
 * this log past the commit index) is not settled for applying: its record
 * must be here.  False when it is not (the sweeper fetches it).
 */
static bool
apply_form(refraft_node *node, refraft_index index, refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_REF)
        return true;
    refraft_index v = data_void_of(node, index);
    if (v == 0)
        return true;
    if (v <= node->commit_index) {
        e->type = REFRAFT_ENTRY_ABANDONED;
        return true;
    }
    bool present = false;
    if (node->hull.have_records == NULL)
        return true;
    if (node->hull.have_records(node->hull.ctx, &e->ref, 1, &present) == 0 &&
        present)
        return true;
    /* The sweeper fetches it: it looks from the applied index on. */
    node_emit(node, REFRAFT_EVENT_DATA);
    return false;
}

/* Figure 2: "If commitIndex > lastApplied: increment lastApplied, apply
 * log[lastApplied] to state machine", in index order, once each; gated on
 * data: only entries up to min(commit_index, data_index) (DESIGN.md: no
 * node applies an entry whose record it lacks). */
void replication_apply(refraft_node *node)
{
    node->apply_stalled = false;
    node->apply_due = false;
    for (;;) {
        refraft_index limit = node->commit_index < node->data_index
                                  ? node->commit_index
                                  : node->data_index;
        if (node->applied_index >= limit)
            break;
        refraft_index left = limit - node->applied_index;
        size_t want = left < APPLY_CHUNK ? (size_t)left : APPLY_CHUNK;
        size_t n = 0;
        int rv = node_reserve_scratch(node, want);
        if (rv == 0)
            rv = node->log.get(node->log.ctx, node->applied_index + 1, want,
                               node->scratch, &n);
        if (rv == 0 && n == 0)
            rv = REFRAFT_ENOTFOUND;
        for (size_t i = 0; rv == 0 && i < n; i++) {
            refraft_index index = node->applied_index + 1;
            if (!apply_form(node, index, &node->scratch[i])) {
                snapshot_after_apply(node);
                return;
            }
            rv = node->hull.apply(node->hull.ctx, index, &node->scratch[i]);
            if (rv == 0)
                node->applied_index++;
        }
        if (rv != 0) {
            node->apply_stalled = true;
            node_errorf(node, rv, "applying index %llu failed: %s",
                        (unsigned long long)node->applied_index + 1,
                        refraft_strerror(rv));
            break;
        }
    }
    snapshot_after_apply(node);
}

/* ---- Follower side ---------------------------------------------------- */

/* The first index of term in our log at or below index, not looking below
 * the commit index: committed entries match every leader anyway. */
static refraft_index
first_of_term(refraft_node *node, refraft_term term, refraft_index index)
{
    while (index > node->commit_index + 1) {
        refraft_term t;
        if (term_at(node, index - 1, &t) != 0 || t != term)
            break;
        index--;
    }
    return index;
}

/* Figure 2, AppendEntries receiver step 2: "Reply false if log doesn't
 * contain an entry at prevLogIndex whose term matches prevLogTerm", with a
 * hint that lets the leader skip the whole conflicting term. */
static bool consistency_check(refraft_node *node,
                              const refraft_append_entries *ae,
                              refraft_append_entries_result *res)
{
    res->rejected_index = ae->prev_log_index;
    /* Entries up to the base were applied here, so they are committed,
     * and every leader holds the committed entries (Leader Completeness,
     * §5.4): the leader's entry at prev_log_index matches ours. */
    if (ae->prev_log_index < node->base_index)
        return true;
    if (ae->prev_log_index > node->last_index) {
        res->conflict_term = 0;
        res->conflict_index = node->last_index + 1;
        return false;
    }
    refraft_term t;
    if (term_at(node, ae->prev_log_index, &t) != 0) {
        /* Not readable (compacted): report as a conflict at our commit. */
        res->conflict_term = 0;
        res->conflict_index = node->commit_index + 1;
        return false;
    }
    if (t == ae->prev_log_term)
        return true;
    res->conflict_term = t;
    res->conflict_index = first_of_term(node, t, ae->prev_log_index);
    return false;
}

/* Tell the host, entry by entry, what a truncation from index removes (its
 * records may become orphans); before the log changes, so the entries can
 * still be read. */
int replication_discard(refraft_node *node, refraft_index index)
{
    if (node->hull.on_discard == NULL)
        return 0;
    while (index <= node->last_index) {
        refraft_index left = node->last_index - index + 1;
        size_t want = left < APPLY_CHUNK ? (size_t)left : APPLY_CHUNK;
        size_t n = 0;
        int rv = node_reserve_scratch(node, want);
        if (rv == 0)
            rv = node->log.get(node->log.ctx, index, want, node->scratch, &n);
        if (rv == 0 && n == 0)
            rv = REFRAFT_ENOTFOUND;
        if (rv != 0)
            return node_errorf(node, rv,
                               "reading the entries at %llu to "
                               "discard failed: %s",
                               (unsigned long long)index, refraft_strerror(rv));
        for (size_t i = 0; i < n; i++)
            node->hull.on_discard(node->hull.ctx, index + i, &node->scratch[i]);
        index += n;
    }
    return 0;
}

/* Figure 2, steps 3 and 4: "If an existing entry conflicts with a new one
 * (same index but different terms), delete the existing entry and all that
 * follow it.  Append any new entries not already in the log."  Entries that
 * match stay: a late or duplicated message must not cut the log short. */
static int merge_entries(refraft_node *node, const refraft_append_entries *ae)
{
    size_t i = 0;
    refraft_index index = ae->prev_log_index + 1;
    /* Entries this node compacted are committed and match (see
     * consistency_check). */
    while (i < ae->n_entries && index <= node->base_index) {
        i++;
        index++;
    }
    while (i < ae->n_entries && index <= node->last_index) {
        refraft_term t;
        int rv = term_at(node, index, &t);
        if (rv != 0)
            return node_errorf(node, rv, "reading term at %llu failed",
                               (unsigned long long)index);
        if (t != ae->entries[i].term)
            break;
        i++;
        index++;
    }
    if (i == ae->n_entries)
        return 0;
    if (index <= node->last_index) {
        /* Committed entries are never truncated (Leader Completeness). */
        if (index <= node->commit_index)
            return node_errorf(node, REFRAFT_ECORRUPT,
                               "leader \"%s\" conflicts with committed "
                               "index %llu",
                               ae->leader_id, (unsigned long long)index);
        /* Room for the VOIDs to come, before anything changes. */
        int rv = data_reserve_voids(node, ae->entries + i, ae->n_entries - i);
        if (rv == 0)
            rv = replication_discard(node, index);
        if (rv == 0)
            rv = node->log.truncate(node->log.ctx, index);
        if (rv != 0)
            return node_errorf(node, rv, "truncating from %llu failed: %s",
                               (unsigned long long)index, refraft_strerror(rv));
        /* The entry before index matched the leader: its term is known
         * without reading the log again. */
        node->last_index = index - 1;
        node->last_term = i > 0 ? ae->entries[i - 1].term : ae->prev_log_term;
        data_on_truncate(node, index);
        int config_rv = membership_on_truncate(node, index);
        if (node->hull.on_truncate != NULL)
            node->hull.on_truncate(node->hull.ctx, index);
        if (config_rv != 0)
            return config_rv;
    }
    return append_local(node, ae->entries + i, ae->n_entries - i);
}

refraft_append_entries_result *
replication_result_init(refraft_node *node, refraft_msg *out)
{
    memset(out, 0, sizeof *out);
    out->type = REFRAFT_MSG_APPEND_ENTRIES_RESULT;
    refraft_append_entries_result *res = &out->u.append_entries_result;
    res->term = node->term;
    res->follower_id = node->id;
    res->last_log_index = node->last_index;
    res->epoch = node->leader_epoch;
    res->records_behind = node->snap_pending;
    return res;
}

/* The data index a follower reports with match: settled entries of the
 * leader's log only, so no further than match, and never inside a VOID's
 * span, where settled-by-VOID needs the VOID counted too. */
static refraft_index
reported_data(const refraft_node *node, refraft_index match)
{
    return data_clip(node, node->data_index < match ? node->data_index : match);
}

int replication_on_append_entries(refraft_node *node, const refraft_msg *msg,
                                  refraft_reply_fn reply, void *reply_ctx)
{
    const refraft_append_entries *ae = &msg->u.append_entries;
    if (node->role == REFRAFT_LEADER)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "\"%s\" claims to lead term %llu, which this node "
                           "leads",
                           ae->leader_id, (unsigned long long)ae->term);
    /* §5.2: a candidate that hears from the leader of its term steps
     * down. */
    int rv = election_become_follower(node, node->term, ae->leader_id);
    if (rv != 0)
        return rv;
    node->leader_contact_ms = node_now(node);
    node->leader_epoch = ae->epoch;

    refraft_msg out;
    refraft_append_entries_result *res = replication_result_init(node, &out);
    res->read_round = ae->read_round;
    if (consistency_check(node, ae, res)) {
        rv = merge_entries(node, ae);
        if (rv != 0)
            return rv;
        res->success = true;
        res->match_index = ae->prev_log_index + ae->n_entries;
        res->rejected_index = 0;
        if (res->match_index > node->acked_match)
            node->acked_match = res->match_index;
        /* Step 5: "If leaderCommit > commitIndex, set commitIndex =
         * min(leaderCommit, index of last new entry)". */
        set_commit(node, ae->leader_commit < res->match_index
                             ? ae->leader_commit
                             : res->match_index);
    }
    res->last_log_index = node->last_index;
    if (res->success)
        res->data_index = reported_data(node, res->match_index);
    node_respond(node, ae->leader_id, &out, reply, reply_ctx);
    return 0;
}

void replication_report_data(refraft_node *node)
{
    if (node->role != REFRAFT_FOLLOWER || node->leader_id[0] == '\0' ||
        node->acked_match == 0)
        return;
    refraft_msg out;
    refraft_append_entries_result *res = replication_result_init(node, &out);
    res->success = true;
    res->match_index = node->acked_match;
    res->data_index = reported_data(node, node->acked_match);
    (void)node->hull.send(node->hull.ctx, node->leader_id, &out);
}

/* ---- Leader side ------------------------------------------------------ */

/* Where to resume after a rejection (Raft §5.3, last paragraph): past our
 * last entry of the follower's conflicting term if we have that term, else
 * at the first index the follower holds of it. */
static refraft_index next_from_hint(refraft_node *node, const struct peer *p,
                                    const refraft_append_entries_result *res)
{
    if (res->conflict_term == 0)
        return res->conflict_index;
    refraft_index index = res->rejected_index < node->last_index
                              ? res->rejected_index
                              : node->last_index;
    while (index > p->match_index) {
        refraft_term t;
        if (term_at(node, index, &t) != 0 || t < res->conflict_term)
            break;
        if (t == res->conflict_term)
            return index + 1;
        index--;
    }
    return res->conflict_index;
}

/* A rejection moves next_index back, unless it answers a message older
 * than the current probe (reordered or duplicated), which is ignored. */
static bool on_reject(refraft_node *node, struct peer *p,
                      const refraft_append_entries_result *res)
{
    bool stale = p->pipeline ? res->rejected_index <= p->match_index ||
                                   res->rejected_index >= p->next_index
                             : res->rejected_index != p->next_index - 1;
    if (stale)
        return false;
    refraft_index next = next_from_hint(node, p, res);
    if (next > res->rejected_index)
        next = res->rejected_index;
    if (next <= p->match_index)
        next = p->match_index + 1;
    enter_probe(p, next);
    return true;
}

/* Progress, or the answer to the current probe, starts (or keeps) the
 * pipeline from just after the acknowledged index.  A late success for an
 * older message only raises match_index. */
static void on_success(refraft_node *node, struct peer *p,
                       const refraft_append_entries_result *res)
{
    bool answers_probe = !p->pipeline && res->match_index >= p->next_index - 1;
    /* The latest report, not the largest: a follower that lost its
     * records reports less than before, and must be counted so.  A result
     * with a lower match index is older (match only grows in a term). */
    if (res->match_index >= p->match_index)
        p->data_index = res->data_index;
    if (res->match_index > p->match_index) {
        p->match_index = res->match_index;
        p->acked_since_heartbeat = true;
    }
    if (answers_probe) {
        p->pipeline = true;
        p->inflight_count = 0;
        p->next_index = p->match_index + 1;
    } else if (p->pipeline) {
        inflight_ack(node, p, res->match_index);
    } else if (res->match_index >= p->next_index) {
        p->next_index = p->match_index + 1;
    }
    p->paused = false;
    /* The follower's log reaches the snapshot's last entry after all
     * (a heartbeat found it): it needs the snapshot no more. */
    if (p->snap_index != 0 && res->match_index >= p->snap_index)
        p->snap_index = 0;
    replication_advance_commit(node);
    transfer_on_progress(node, p);
}

/* A follower's answer names indexes of this leader's log; anything else is
 * refused before it can move next_index out of the log. */
static int
check_result(refraft_node *node, const refraft_append_entries_result *res)
{
    refraft_index index = res->success ? res->match_index : res->rejected_index;
    bool bad = res->success ? index > node->last_index
                            : index == 0 || index > node->last_index ||
                                  res->conflict_index == 0;
    if (res->success && res->data_index > res->match_index)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "\"%s\" reported data index %llu above its "
                           "match index %llu",
                           res->follower_id,
                           (unsigned long long)res->data_index,
                           (unsigned long long)res->match_index);
    if (!bad)
        return 0;
    return node_errorf(node, REFRAFT_EBADMSG,
                       "\"%s\" answered for index %llu, outside this "
                       "leader's log (last index %llu)",
                       res->follower_id, (unsigned long long)index,
                       (unsigned long long)node->last_index);
}

int replication_on_append_entries_result(
    refraft_node *node, const refraft_append_entries_result *res)
{
    if (node->role != REFRAFT_LEADER)
        return 0;
    struct peer *p = node_find_peer(node, res->follower_id);
    int rv = check_result(node, res);
    if (rv != 0)
        return rv;
    /* An answer to what went to an earlier member of this id. */
    if (res->epoch != 0 && res->epoch != p->epoch)
        return 0;
    p->recent_contact = true;
    p->records_behind = res->records_behind;
    /* Any answer of this term, even a refusal, shows p still followed
     * this leader when it answered. */
    if (res->read_round > p->read_round &&
        res->read_round <= node->read_round) {
        p->read_round = res->read_round;
        readindex_advance(node);
    }
    if (res->success)
        on_success(node, p, res);
    else if (!on_reject(node, p, res))
        return 0;
    /* A commit may have ended this leader's term as a member. */
    if (node->role == REFRAFT_LEADER)
        replicate(node, p);
    return 0;
}

/* ---- Hole filling ----------------------------------------------------- */

/* The checks refraft_void() documents, on the entry at index. */
static int check_voidable(refraft_node *node, refraft_index index)
{
    /* Only a durable commit puts a committed entry's record on a
     * majority, which is what makes a majority of "absent" answers prove
     * the entry uncommitted.  Under the reference policy a new leader's
     * commit index can lag an entry its predecessor committed. */
    if (node->commit_policy != REFRAFT_COMMIT_DURABLE)
        return node_errorf(node, REFRAFT_EINVAL,
                           "VOIDs need the durable commit policy");
    /* The caller counts absent answers of the voters of the configuration
     * in effect.  Any CONFIG entry appended after an entry e was appended
     * by a leader that had first committed, durably, an entry of its own
     * term past e (check_may_change's term_first_index rule), unless that
     * leader appended e itself; so e can only have committed under a
     * configuration at most one change away from the one in effect, and
     * single-server changes make majorities of neighbouring
     * configurations overlap (thesis §4.2).  This proof leans on that
     * rule and on the durable policy: relax neither without it. */
    if (index <= node->commit_index || index > node->last_index)
        return node_errorf(node, REFRAFT_EINVAL,
                           "index %llu is not an uncommitted entry (commit "
                           "index %llu, last index %llu)",
                           (unsigned long long)index,
                           (unsigned long long)node->commit_index,
                           (unsigned long long)node->last_index);
    if (data_void_of(node, index) != 0)
        return node_errorf(node, REFRAFT_EINVAL,
                           "entry %llu is already voided at %llu",
                           (unsigned long long)index,
                           (unsigned long long)data_void_of(node, index));
    size_t n = 0;
    int rv = node_reserve_scratch(node, 1);
    if (rv == 0)
        rv = node->log.get(node->log.ctx, index, 1, node->scratch, &n);
    if (rv == 0 && n == 0)
        rv = REFRAFT_ENOTFOUND;
    if (rv != 0)
        return node_errorf(node, rv, "reading entry %llu failed: %s",
                           (unsigned long long)index, refraft_strerror(rv));
    if (node->scratch[0].type != REFRAFT_ENTRY_REF)
        return node_errorf(node, REFRAFT_EINVAL,
                           "entry %llu carries no reference",
                           (unsigned long long)index);
    bool present = true;
    if (node->hull.have_records != NULL &&
        node->hull.have_records(node->hull.ctx, &node->scratch[0].ref, 1,
                                &present) != 0)
        return node_errorf(node, REFRAFT_EIO,
                           "could not tell whether the record of entry "
                           "%llu is here",
                           (unsigned long long)index);
    if (present)
        return node_errorf(node, REFRAFT_EINVAL,
                           "the record of entry %llu is present here",
                           (unsigned long long)index);
    return 0;
}

int replication_void(refraft_node *node, refraft_index index,
                     refraft_index *void_index)
{
    int rv = check_voidable(node, index);
    if (rv != 0)
        return rv;
    refraft_entry v;
    memset(&v, 0, sizeof v);
    v.term = node->term;
    v.type = REFRAFT_ENTRY_VOID;
    v.voided = index;
    refraft_index at = node->last_index + 1;
    rv = replication_append_leader(node, &v, 1);
    if (rv == 0 && void_index != NULL)
        *void_index = at;
    return rv;
}
