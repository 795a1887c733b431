/* snapshot.c - log compaction and reference snapshots (Raft §7, thesis
 * §5): the leader's sending of its log's base snapshot in chunks, the
 * follower's receiving and installing of it. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/node.h"

/* ---- the base and compaction ------------------------------------------ */

/* The log's base, or an error (logs older than version 5 have none). */
static int read_base(refraft_node *node, refraft_snapshot_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    if (node->log.base == NULL)
        return 0;
    return node->log.base(node->log.ctx, meta);
}

int snapshot_load(refraft_node *node, refraft_index applied_index, char *errbuf,
                  size_t errbuf_len)
{
    node->can_snapshot =
        node->log.compact != NULL && node->hull.snapshot_read != NULL;
    if (node->can_snapshot) {
        node->snap_refs =
            refraft_calloc(node->snapshot_chunk, sizeof *node->snap_refs);
        if (node->snap_refs == NULL) {
            snprintf(errbuf, errbuf_len, "no memory for a snapshot chunk");
            return REFRAFT_ENOMEM;
        }
    }
    refraft_snapshot_meta base;
    int rv = read_base(node, &base);
    if (rv != 0) {
        snprintf(errbuf, errbuf_len, "reading the log's base failed: %s",
                 refraft_strerror(rv));
        return rv;
    }
    if (base.last_index == 0)
        return 0;
    if (!node->can_snapshot) {
        snprintf(errbuf, errbuf_len,
                 "the log was compacted up to %llu, but the hull has no "
                 "snapshot hooks: a follower that needs those entries "
                 "could never catch up",
                 (unsigned long long)base.last_index);
        return REFRAFT_EINVAL;
    }
    /* Entries up to the base can no longer be applied: the application's
     * state must reach it (it is saved with the log: refstore compacts
     * and installs in the transaction that saves it). */
    if (applied_index < base.last_index) {
        snprintf(errbuf, errbuf_len,
                 "applied index %llu is below the log's snapshot at %llu: "
                 "the application's state is older than its log",
                 (unsigned long long)applied_index,
                 (unsigned long long)base.last_index);
        return REFRAFT_ECORRUPT;
    }
    node->base_index = base.last_index;
    node->base_term = base.last_term;
    membership_from_base(node, &base);
    return 0;
}

void snapshot_free(refraft_node *node)
{
    refraft_free(node->snap_refs);
}

/*
 * Compact up to upto (at most the applied index).  The snapshot never
 * ends inside a VOID's span (data_clip), so every VOID of an entry it
 * covers is covered too, and the VOIDs at or below it can be forgotten.
 * The configuration it records is the one in effect at upto.
 */
static int compact(refraft_node *node, refraft_index upto)
{
    upto = data_clip(node, upto);
    if (upto <= node->base_index)
        return 0;
    refraft_snapshot_meta meta;
    refraft_member members[REFRAFT_MAX_PEERS];
    memset(&meta, 0, sizeof meta);
    meta.last_index = upto;
    meta.members = members;
    /* A configuration this node no longer knows (a truncation removed the
     * one after it): it compacts once a later CONFIG entry is applied. */
    if (membership_at(node, upto, &meta.config_index, members,
                      &meta.n_members) != 0)
        return 0;
    int rv = node->log.term_at(node->log.ctx, upto, &meta.last_term);
    if (rv == 0)
        rv = node->log.compact(node->log.ctx, &meta);
    if (rv != 0)
        return node_errorf(node, rv, "compacting the log up to %llu failed: %s",
                           (unsigned long long)upto, refraft_strerror(rv));
    node->base_index = upto;
    node->base_term = meta.last_term;
    data_on_compact(node, upto);
    return 0;
}

/* Whether the log's entries take more than compact_bytes.  The bound
 * counts only when a compaction would remove at least as many entries as
 * it keeps: when the kept entries alone take more than the bound, the log
 * stays above it after each compaction, and compacting after every apply
 * would cost a durable write per apply for a few entries each time. */
static bool over_bytes(refraft_node *node)
{
    if (node->compact_bytes == 0 || node->applied_index - node->base_index <=
                                        2 * (refraft_index)node->compact_keep)
        return false;
    uint64_t bytes = 0;
    int rv = node->log.size(node->log.ctx, &bytes);
    if (rv != 0) {
        node_errorf(node, rv, "measuring the log failed: %s",
                    refraft_strerror(rv));
        return false;
    }
    return bytes > node->compact_bytes;
}

/* Once more than compact_entries applied entries are in the log, or its
 * entries take more than compact_bytes, keep the last compact_keep of them
 * (a follower a little behind catches up from the log rather than
 * through a snapshot).  A failure is retried after the next apply. */
void snapshot_after_apply(refraft_node *node)
{
    if (!node->can_snapshot || node->applied_index <= node->compact_keep)
        return;
    bool over_entries =
        node->compact_entries != 0 &&
        node->applied_index - node->base_index > node->compact_entries;
    if (over_entries || over_bytes(node))
        (void)compact(node, node->applied_index - node->compact_keep);
}

int snapshot_compact_now(refraft_node *node, refraft_index upto)
{
    if (!node->can_snapshot)
        return node_errorf(node, REFRAFT_EINVAL,
                           "the log or the hull cannot snapshot (log API "
                           "version 5 and the hull's snapshot hooks are "
                           "needed)");
    if (upto > node->applied_index)
        return node_errorf(node, REFRAFT_EINVAL,
                           "cannot compact up to %llu, past the applied "
                           "index %llu",
                           (unsigned long long)upto,
                           (unsigned long long)node->applied_index);
    if (upto == 0) {
        if (node->applied_index <= node->compact_keep)
            return 0;
        upto = node->applied_index - node->compact_keep;
    }
    return compact(node, upto);
}

/* ---- leader: sending -------------------------------------------------- */

void snapshot_start(refraft_node *node, struct peer *p)
{
    if (!node->can_snapshot || node->base_index == 0)
        return;
    p->snap_index = node->base_index;
    p->snap_after = 0;
    p->pipeline = false;
    p->paused = true;
    p->inflight_count = 0;
    /* The first chunk awaits its answer: unanswered at the next
     * heartbeat, it goes again. */
    p->acked_since_heartbeat = false;
    snapshot_send(node, p);
}

/* The refs the application gave are what a chunk after `after` of the
 * snapshot at last may carry. */
static bool chunk_ok(const refraft_node *node, refraft_index last,
                     refraft_index after, size_t n)
{
    if (n > node->snapshot_chunk)
        return false;
    for (size_t i = 0; i < n; i++) {
        const refraft_snapshot_ref *r = &node->snap_refs[i];
        if (r->index <= after || r->index > last ||
            validate_ref(&r->ref, NULL, 0) != 0)
            return false;
        after = r->index;
    }
    return true;
}

/*
 * Each chunk is of the snapshot at the log's current base.  When the log
 * was compacted further during the send, the send goes on from where it
 * stands, in the new snapshot: the reference state up to a committed
 * index is the same in every later snapshot (it is made of the committed
 * entries up to there, applied in order), so the chunks the follower has
 * are a prefix of the new one too.  Starting over instead would never end
 * while compactions come faster than a whole state travels.
 */
bool snapshot_send(refraft_node *node, struct peer *p)
{
    refraft_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.type = REFRAFT_MSG_INSTALL_SNAPSHOT;
    refraft_install_snapshot *is = &msg.u.install_snapshot;
    if (read_base(node, &is->meta) != 0 || is->meta.last_index == 0)
        return false;
    p->snap_index = is->meta.last_index;
    size_t n = 0;
    int rv =
        node->hull.snapshot_read(node->hull.ctx, p->snap_index, p->snap_after,
                                 node->snap_refs, node->snapshot_chunk, &n);
    if (rv != 0)
        return false; /* the heartbeat tries again */
    if (!chunk_ok(node, p->snap_index, p->snap_after, n)) {
        node_errorf(node, REFRAFT_EINVAL,
                    "snapshot_read gave refs outside (%llu, %llu] or out "
                    "of order",
                    (unsigned long long)p->snap_after,
                    (unsigned long long)p->snap_index);
        return false;
    }
    is->term = node->term;
    is->leader_id = node->id;
    is->after = p->snap_after;
    is->refs = node->snap_refs;
    is->n_refs = n;
    is->done = n < node->snapshot_chunk;
    is->epoch = p->epoch;
    (void)node->hull.send(node->hull.ctx, p->id, &msg);
    return true;
}

/* The follower has the snapshot (installed, or its log held the last
 * entry): replication resumes after it, probing (§7). */
static void
snapshot_done(refraft_node *node, struct peer *p, refraft_index last)
{
    p->snap_index = 0;
    p->snap_after = 0;
    if (last > p->match_index)
        p->match_index = last;
    p->next_index = last + 1;
    p->pipeline = false;
    p->paused = false;
    p->inflight_count = 0;
    p->acked_since_heartbeat = true;
    transfer_on_progress(node, p);
    replication_replicate(node, p);
}

/*
 * An answer moves the send on when it is for the snapshot being sent or
 * an earlier one of this term (the base moved since; the follower's
 * chunks are a prefix of the new snapshot too): to the chunk after what
 * the follower stored, or from the start when it answers 0.  The
 * follower's cursor rules, also when it lies before the chunk in flight:
 * the follower may have started over (it installed an earlier snapshot
 * whose answer was lost, then took a late first chunk), and a leader
 * that waited for it to catch up would wait for ever.  A late answer
 * costs one chunk sent again, which the follower answers with where it
 * stands.  An answer that repeats where the chunk in flight starts
 * changes nothing: the heartbeat sends that chunk again if it went
 * unanswered.  An installed one ends the send at the snapshot the
 * follower installed; if the base has moved past it, replication finds
 * that and sends the next.
 */
int snapshot_on_result(refraft_node *node,
                       const refraft_install_snapshot_result *res)
{
    if (node->role != REFRAFT_LEADER)
        return 0;
    struct peer *p = node_find_peer(node, res->follower_id);
    /* An answer to what went to an earlier member of this id. */
    if (res->epoch != 0 && res->epoch != p->epoch)
        return 0;
    p->recent_contact = true;
    if (p->snap_index == 0 || res->last_index > p->snap_index)
        return 0;
    p->acked_since_heartbeat = true;
    if (res->installed) {
        snapshot_done(node, p, res->last_index);
        return 0;
    }
    if (res->after == p->snap_after)
        return 0;
    p->snap_after = res->after;
    snapshot_send(node, p);
    return 0;
}

/* ---- follower: receiving and installing ------------------------------- */

void snapshot_result_init(refraft_node *node, refraft_msg *out,
                          refraft_index last_index)
{
    memset(out, 0, sizeof *out);
    out->type = REFRAFT_MSG_INSTALL_SNAPSHOT_RESULT;
    out->u.install_snapshot_result.term = node->term;
    out->u.install_snapshot_result.follower_id = node->id;
    out->u.install_snapshot_result.last_index = last_index;
    out->u.install_snapshot_result.epoch = node->leader_epoch;
}

/* Whether this node holds the snapshot's last entry already: committed
 * here (committed entries are the same in every log, §5.4), or in its log
 * with the same term.  Then it keeps the entries after it (§7: "If
 * existing log entry has same index and term as snapshot's last included
 * entry, retain log entries following it"). */
static int
holds_last(refraft_node *node, const refraft_snapshot_meta *meta, bool *holds)
{
    *holds = meta->last_index <= node->commit_index;
    if (*holds || meta->last_index > node->last_index)
        return 0;
    /* A read error is not "another term": installing would drop entries
     * this node may have acknowledged. */
    refraft_term t;
    int rv = node->log.term_at(node->log.ctx, meta->last_index, &t);
    if (rv != 0)
        return node_errorf(node, rv, "reading the term at %llu failed: %s",
                           (unsigned long long)meta->last_index,
                           refraft_strerror(rv));
    *holds = t == meta->last_term;
    return 0;
}

/* Whether the chunks this node keeps are a prefix of the snapshot meta
 * describes: they hold the reference state up to in->after, which is the
 * same in every snapshot of a committed index at or past it, whichever
 * leader sends it (State Machine Safety, §5.4.3). */
static bool
keeps_prefix(const refraft_node *node, const refraft_snapshot_meta *meta)
{
    return node->incoming.active && meta->last_index >= node->incoming.after;
}

/*
 * Write the chunk when it continues where this node stands (in this
 * snapshot or a later one: the leader compacted meanwhile, or a new
 * leader sends its own base), or starts a snapshot when the chunks kept
 * are no prefix of this one.  A first chunk while the chunks kept are a
 * prefix (late, duplicated, or of a later snapshot) does not start over:
 * the answer, our cursor, lets the leader go on from there.  *stored:
 * whether it was written.
 */
static int write_chunk(refraft_node *node, const refraft_install_snapshot *is,
                       bool *stored)
{
    struct incoming_snapshot *in = &node->incoming;
    *stored =
        keeps_prefix(node, &is->meta) ? is->after == in->after : is->after == 0;
    if (!*stored)
        return 0;
    int rv = node->hull.snapshot_write(node->hull.ctx, &is->meta, is->after,
                                       is->refs, is->n_refs);
    if (rv != 0) {
        /* A chunk after 0 has dropped the earlier ones. */
        if (is->after == 0)
            in->active = false;
        return node_errorf(node, REFRAFT_EIO,
                           "writing the snapshot chunk after %llu failed "
                           "(%d); the leader sends it again",
                           (unsigned long long)is->after, rv);
    }
    in->active = true;
    in->after = is->n_refs > 0 ? is->refs[is->n_refs - 1].index : is->after;
    return 0;
}

/*
 * Every chunk is written: the application takes the snapshot, then the
 * log drops every entry.  The entries after the snapshot that go are
 * reported as a truncation would report them; those up to it are covered
 * by the snapshot.  The node then stands at last_index: committed,
 * applied, settled, in the snapshot's configuration.
 */
static int install(refraft_node *node, const refraft_snapshot_meta *meta)
{
    refraft_index last = meta->last_index;
    bool cut = node->last_index > last;
    /* Every uncommitted entry goes, those the snapshot covers too (their
     * records may be orphans now; the sweeper checks the reference state
     * before it deletes one).  Should the install fail, they are
     * reported again with the next attempt, which the sweeper takes as
     * one discard. */
    int rv = replication_discard(node, node->commit_index + 1);
    if (rv != 0)
        return rv;
    rv = node->hull.snapshot_install(node->hull.ctx, meta);
    if (rv != 0)
        return node_errorf(node, REFRAFT_EIO,
                           "installing the snapshot at %llu failed (%d)",
                           (unsigned long long)last, rv);
    rv = node->log.install(node->log.ctx, meta);
    if (rv != 0) {
        /* The application holds the snapshot's state and the log does
         * not: applying the log's entries again on top of it would apply
         * them twice.  Only a restart can tell which one survived (an
         * application whose state commits with the log's install, as
         * refstore's does, never gets here with two views). */
        node->failed = true;
        return node_errorf(node, REFRAFT_EFAILED,
                           "installing the snapshot at %llu in the log "
                           "failed after the application took it: %s",
                           (unsigned long long)last, refraft_strerror(rv));
    }
    node->incoming.active = false;
    node->base_index = last;
    node->base_term = meta->last_term;
    node->last_index = last;
    node->last_term = meta->last_term;
    node->commit_index = last;
    node->applied_index = last;
    node->apply_stalled = false;
    if (node->acked_match < last)
        node->acked_match = last;
    data_on_install(node, last);
    membership_from_base(node, meta);
    node_emit(node, REFRAFT_EVENT_CONFIG);
    if (cut && node->hull.on_truncate != NULL)
        node->hull.on_truncate(node->hull.ctx, last + 1);
    node_emit(node, REFRAFT_EVENT_COMMIT);
    node_emit(node, REFRAFT_EVENT_DATA);
    return 0;
}

/* InstallSnapshot follows the rules of AppendEntries for terms and
 * leaders (Raft §7 and Figure 13: "Reply immediately if term <
 * currentTerm"; the leader of the term is heard from). */
int snapshot_on_install(refraft_node *node, const refraft_msg *msg,
                        refraft_reply_fn reply, void *reply_ctx)
{
    const refraft_install_snapshot *is = &msg->u.install_snapshot;
    if (node->role == REFRAFT_LEADER)
        return node_errorf(node, REFRAFT_EBADMSG,
                           "\"%s\" claims to lead term %llu, which this node "
                           "leads",
                           is->leader_id, (unsigned long long)is->term);
    if (!node->can_snapshot || node->log.install == NULL)
        return node_errorf(node, REFRAFT_EINVAL,
                           "this node cannot install snapshots (log API "
                           "version 5 and the hull's snapshot hooks are "
                           "needed)");
    int rv = election_become_follower(node, node->term, is->leader_id);
    if (rv != 0)
        return rv;
    node->leader_contact_ms = node_now(node);
    node->leader_epoch = is->epoch;
    refraft_msg out;
    snapshot_result_init(node, &out, is->meta.last_index);
    refraft_install_snapshot_result *res = &out.u.install_snapshot_result;
    bool holds;
    rv = holds_last(node, &is->meta, &holds);
    if (rv != 0)
        return rv;
    if (holds) {
        res->after = is->meta.last_index;
        res->installed = true;
        if (node->acked_match < is->meta.last_index)
            node->acked_match = is->meta.last_index;
        node_respond(node, is->leader_id, &out, reply, reply_ctx);
        return 0;
    }
    bool stored;
    rv = write_chunk(node, is, &stored);
    if (rv == 0 && stored && is->done)
        rv = install(node, &is->meta);
    if (rv != 0)
        return rv;
    struct incoming_snapshot *in = &node->incoming;
    bool installed = stored && is->done;
    res->installed = installed;
    res->after = installed                       ? is->meta.last_index
                 : keeps_prefix(node, &is->meta) ? in->after
                                                 : 0;
    node_respond(node, is->leader_id, &out, reply, reply_ctx);
    return 0;
}
