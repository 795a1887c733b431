/* hull.c - the hull of a simulated node: virtual time, network, apply. */
#include <inttypes.h>
#include <stdio.h>

#include "hull.h"
#include "nodestore.h"
#include "trace.h"

static int send_msg(void *ctx, const char *to_id, const refraft_msg *msg)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    int to = cluster_node_index(cl, to_id);
    if (to < 0 || to == sn->idx) {
        check_fail(&cl->check, "API Contract",
                   "n%d sent a message to \"%s\", not one of its peers",
                   sn->idx + 1, to_id != NULL ? to_id : "(null)");
        return REFRAFT_EUNKNOWNPEER;
    }
    /* A server gone for good (its slot runs a new one): no host answers
     * at its address any more. */
    if (to == CLUSTER_GONE(cl)) {
        if (cl->verbose)
            trace_note(cl->now, "n%d -> %s  lost: that server is gone",
                       sn->idx + 1, to_id);
        return 0;
    }
    if (cl->verbose)
        trace_msg(cl->now, sn->idx, to, msg);
    if (cl->obs.on_send != NULL)
        cl->obs.on_send(cl->obs.ctx, sn->idx, to, msg);
    net_send(&cl->net, sn->idx, to, msg, cl->now, sn->wipes);
    return 0;
}

void hull_reply(void *reply_ctx, const refraft_msg *result)
{
    hull_reply_ctx *rc = reply_ctx;
    cluster *cl = rc->cl;
    if (rc->to == CLUSTER_GONE(cl))
        return;
    if (cl->verbose)
        trace_msg(cl->now, rc->from, rc->to, result);
    if (cl->obs.on_send != NULL)
        cl->obs.on_send(cl->obs.ctx, rc->from, rc->to, result);
    net_send(&cl->net, rc->from, rc->to, result, cl->now,
             cl->nodes[rc->from].wipes);
}

static uint64_t now_ms(void *ctx)
{
    sim_node *sn = ctx;
    return sn->cl->now;
}

static uint64_t random_bits(void *ctx)
{
    sim_node *sn = ctx;
    return prng_next(&sn->cl->rng);
}

/* The simulated state machine only counts: what it applies is what the
 * checker compares across nodes.  The node may be mid-creation (rn still
 * NULL), in which case its commit index is not known yet. */
void hull_state_machine_apply(void *ctx, refraft_index index,
                              const refraft_entry *entry)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    refraft_index commit =
        sn->rn != NULL ? refraft_commit_index(sn->rn) : index;
    check_records_applied(&cl->check, sn->idx, index, entry);
    check_applied(&cl->check, sn->idx, index, entry, commit);
    if (entry->type == REFRAFT_ENTRY_REF)
        refstate_apply(&sn->state, index, &entry->ref);
    sn->sm_applied = index;
    if (cl->obs.on_apply != NULL)
        cl->obs.on_apply(cl->obs.ctx, sn->idx, index, entry);
}

/* The entry goes through the disk, which tells the state machine: at once
 * on a memlog, once refstore_apply() succeeded on refstore. */
static int apply(void *ctx, refraft_index index, const refraft_entry *entry)
{
    sim_node *sn = ctx;
    return disk_apply(&sn->disk, index, entry);
}

static void on_event(void *ctx, const refraft_event *ev)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    if (cl->verbose)
        trace_event(cl->now, sn->idx, ev);
    if (ev->type == REFRAFT_EVENT_ROLE && ev->role == REFRAFT_LEADER)
        check_election(&cl->check, sn->idx, ev->term);
    if (ev->type == REFRAFT_EVENT_ROLE && sn->rn != NULL)
        check_member_role(&cl->check, sn->idx, sn->rn, ev->role);
    if (ev->type == REFRAFT_EVENT_CONFIG && sn->rn != NULL) {
        if (cl->verbose)
            trace_config(cl->now, sn->idx, sn->rn);
        check_member_change(&cl->check, sn->idx, sn->rn);
    }
    if (ev->type == REFRAFT_EVENT_COMMIT) {
        if (ev->role == REFRAFT_LEADER && sn->rn != NULL) {
            /* The configuration the leader counted its majority in. */
            sim_conf conf;
            sim_conf_of_node(&conf, sn->rn);
            check_commit_quorum(&cl->check, sn->idx, sn->rn, &conf);
            check_records_commit(&cl->check, sn->idx, ev->term, sn->commit_seen,
                                 ev->commit_index, &conf);
        }
        sn->commit_seen = ev->commit_index;
    }
    /* The sweeper has work: an append left records missing, or the data
     * index moved.  Kicking is allowed from inside the node's calls. */
    if (ev->type == REFRAFT_EVENT_DATA && sn->sw != NULL)
        refraft_sweeper_kick(sn->sw);
    if (cl->obs.on_event != NULL)
        cl->obs.on_event(cl->obs.ctx, sn->idx, ev);
}

/* A truncation removed the entry: its record may become an orphan. */
static void
on_discard(void *ctx, refraft_index index, const refraft_entry *entry)
{
    sim_node *sn = ctx;
    if (sn->sw == NULL)
        return;
    int rv = refraft_sweeper_on_discard(sn->sw, index, entry);
    if (rv != 0)
        cluster_sweeper_fail(sn->cl, sn->idx, "sweeper_on_discard", rv);
}

/* The leader is about to sync what it staged: send() has put its
 * AppendEntries on the simulated network already, so there is nothing to
 * push out; the node may only flush between a stage and its sync. */
static void flush(void *ctx)
{
    sim_node *sn = ctx;
    if (sn->disk.staged == 0)
        check_fail(&sn->cl->check, "API Contract",
                   "n%d called the hull's flush with no entries staged",
                   sn->idx + 1);
}

/* The leader reads its state at an index it applied: a prefix of it
 * (refstate.h). */
static int snapshot_read(void *ctx, refraft_index last, refraft_index after,
                         refraft_snapshot_ref *out, size_t max, size_t *n)
{
    sim_node *sn = ctx;
    if (last > sn->sm_applied)
        check_fail(&sn->cl->check, "API Contract",
                   "n%d read its reference state at index %llu, beyond its "
                   "applied index %llu",
                   sn->idx + 1, (unsigned long long)last,
                   (unsigned long long)sn->sm_applied);
    refstate_read(&sn->state, last, after, out, max, n);
    return 0;
}

static int snapshot_write(void *ctx, const refraft_snapshot_meta *meta,
                          refraft_index after, const refraft_snapshot_ref *refs,
                          size_t n)
{
    sim_node *sn = ctx;
    char why[192];
    if (refstate_stage(&sn->state, meta, after, refs, n, why, sizeof(why)))
        return 0;
    check_fail(&sn->cl->check, "API Contract", "n%d was handed %s", sn->idx + 1,
               why);
    return REFRAFT_EINVAL;
}

/*
 * The chunks become the state, as if every entry up to the snapshot's
 * last index had been applied: Snapshot State compares it with the
 * committed one.  The records its refs name may be missing here: the
 * host keeps that with its record store (lost_upto, as after a wipe)
 * and tells the sweeper, which fetches them.  On a memlog the state
 * is durable as the memlog is; on refstore the install hook (refdisk.c)
 * writes it into the store in the log's install, which comes next.
 */
static int snapshot_install(void *ctx, const refraft_snapshot_meta *meta)
{
    sim_node *sn = ctx;
    cluster *cl = sn->cl;
    refraft_index last = meta->last_index;
    bool drop = (cl->params.sim_inject & SIM_INJECT_DROP_SNAPSHOT_REF) != 0;
    if (!refstate_install(&sn->state, meta, drop)) {
        check_fail(&cl->check, "API Contract",
                   "n%d installs the snapshot up to index %llu, which it "
                   "was not handed",
                   sn->idx + 1, (unsigned long long)last);
        return REFRAFT_EINVAL;
    }
    sn->sm_applied = last;
    check_snapshot_state(&cl->check, sn->idx, last, &sn->state);
    if (last > sn->lost_upto)
        sn->lost_upto = last;
    if (cl->verbose)
        trace_note(cl->now,
                   "n%d: its application installs the snapshot up to %llu "
                   "(%zu refs)%s",
                   sn->idx + 1, (unsigned long long)last, sn->state.n,
                   drop ? ", losing one (--inject drop-snapshot-ref)" : "");
    if (sn->sw != NULL) {
        int rv = refraft_sweeper_snapshot_installed(sn->sw, last);
        if (rv != 0)
            cluster_sweeper_fail(cl, sn->idx, "sweeper_snapshot_installed", rv);
    }
    return 0;
}

void hull_fill(refraft_hull *hull, sim_node *sn)
{
    *hull = (refraft_hull){
        .version = REFRAFT_HULL_VERSION,
        .ctx = sn,
        .send = send_msg,
        .now_ms = now_ms,
        .random = random_bits,
        .apply = apply,
        .on_truncate = NULL,
        .on_event = on_event,
        .have_records = nodestore_hull_have,
        .on_discard = on_discard,
        .flush = flush,
        .snapshot_read = snapshot_read,
        .snapshot_write = snapshot_write,
        .snapshot_install = snapshot_install,
    };
}
