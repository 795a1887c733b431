/* check_snapshot.c - compaction and snapshot installs (Raft §7): the
 * snapshot's meta, the log it leaves, and Snapshot State. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "xalloc.h"

/*
 * Raft §7: a snapshot replaces the committed entries up to its last
 * index, and "the snapshot also includes the latest configuration as of
 * last included index".  A node that installs one applies none of those
 * entries, so State Machine Safety, which compares applies index by
 * index, says nothing about it: Snapshot State compares what its
 * application holds afterwards with the reference state the committed
 * prefix makes, the refs of the committed REF entries up to the
 * snapshot's last index that no committed VOID abandons (their fate is
 * known once the prefix reaches that index: no commit index lands
 * inside a VOID's span, check_records.c).
 */

/* The committed configuration in effect at index: the last committed
 * CONFIG entry at or below it, NULL for the initial one. */
static const sim_conf *
committed_conf_at(const checker *c, refraft_index index, size_t *count)
{
    size_t k = 0;
    while (k < c->n_committed_confs && c->committed_confs[k].index <= index)
        k++;
    *count = k;
    return k > 0 ? &c->committed_confs[k - 1] : NULL;
}

void check_snapshot_meta(checker *c, int node, const char *what,
                         const refraft_snapshot_meta *meta)
{
    refraft_index last = meta->last_index;
    if (last == 0 || last > c->n_committed) {
        check_fail(c, "Snapshot",
                   "n%d %s up to index %llu, which is not committed (the "
                   "committed prefix ends at %llu)",
                   node + 1, what, (unsigned long long)last,
                   (unsigned long long)c->n_committed);
        return;
    }
    if (c->committed[last].term != meta->last_term) {
        check_fail(c, "Snapshot",
                   "n%d %s up to index %llu of term %llu, but the entry "
                   "committed there has term %llu",
                   node + 1, what, (unsigned long long)last,
                   (unsigned long long)meta->last_term,
                   (unsigned long long)c->committed[last].term);
        return;
    }
    size_t count;
    const sim_conf *want = committed_conf_at(c, last, &count);
    sim_conf have;
    sim_conf_from(&have, meta->config_index, 0, meta->members, meta->n_members);
    /* The initial configuration travels as index 0 and no members
     * (refraft_snapshot_meta): each node has its own account of it. */
    bool same = want == NULL ? meta->config_index == 0 && meta->n_members == 0
                             : meta->config_index == want->index &&
                                   sim_conf_same_members(&have, want, true);
    if (same)
        return;
    char h[160] = "none", w[160] = "the initial one, no members";
    if (meta->n_members > 0)
        sim_conf_describe(&have, h, sizeof(h));
    if (want != NULL)
        sim_conf_describe(want, w, sizeof(w));
    check_fail(c, "Snapshot",
               "n%d %s up to index %llu with the configuration at index "
               "%llu (%s), but the one in effect there is at index %llu (%s)",
               node + 1, what, (unsigned long long)last,
               (unsigned long long)meta->config_index, h,
               (unsigned long long)(want != NULL ? want->index : 0), w);
}

/* The log stands for the committed prefix up to the snapshot's last index
 * now: what the other checks know of its entries becomes that prefix's
 * (Leader Completeness: verified; Commit Quorum: terms; Membership: its
 * CONFIG entries, the committed ones up to there). */
void check_log_installed(checker *c, int node,
                         const refraft_snapshot_meta *meta)
{
    check_snapshot_meta(c, node, "installed a snapshot", meta);
    if (c->failed)
        return;
    refraft_index last = meta->last_index;
    c->nodes[node].verified = last;
    node_log *l = &c->logs[node];
    l->terms = xgrow(l->terms, &l->terms_cap, last + 1, sizeof(*l->terms));
    for (refraft_index i = 1; i <= last; i++)
        l->terms[i] = c->committed[i].term;
    l->last = last;
    size_t count;
    (void)committed_conf_at(c, last, &count);
    l->confs = xgrow(l->confs, &l->confs_cap, count + 1, sizeof(*l->confs));
    if (count > 0)
        memcpy(l->confs, c->committed_confs, count * sizeof(*l->confs));
    l->n_confs = count;
    l->confs_checked = count;
    l->seen_rn = NULL;
}

static bool same_ref(const refstate_item *it, const committed_entry *ce)
{
    return it->id_len == ce->id_len &&
           memcmp(it->id, ce->id, ce->id_len) == 0 && it->size == ce->size &&
           memcmp(it->digest, ce->digest, REFRAFT_DIGEST_LEN) == 0;
}

void check_snapshot_state(checker *c, int node, refraft_index last,
                          const refstate *state)
{
    c->nodes[node].applied = last;
    if (c->failed)
        return;
    if (last > c->n_committed) {
        check_fail(c, "Snapshot State",
                   "n%d installed a snapshot up to index %llu, beyond the "
                   "committed prefix (%llu)",
                   node + 1, (unsigned long long)last,
                   (unsigned long long)c->n_committed);
        return;
    }
    size_t k = 0;
    for (refraft_index i = 1; i <= last; i++) {
        const committed_entry *ce = &c->centries[i];
        if (ce->type != REFRAFT_ENTRY_REF || ce->fate != FATE_KEPT)
            continue;
        if (k < state->n && state->items[k].index == i &&
            same_ref(&state->items[k], ce)) {
            k++;
            continue;
        }
        char id[RECORD_ID_MAX + 1];
        record_id_str(ce->id, ce->id_len, id, sizeof(id));
        check_fail(
            c, "Snapshot State",
            "n%d installed the snapshot up to index %llu without the "
            "ref %s of committed index %llu (its state has %zu refs, "
            "the %zuth at index %llu)",
            node + 1, (unsigned long long)last, id, (unsigned long long)i,
            state->n, k + 1,
            (unsigned long long)(k < state->n ? state->items[k].index : 0));
        return;
    }
    if (k == state->n)
        return;
    check_fail(c, "Snapshot State",
               "n%d installed the snapshot up to index %llu with a ref at "
               "index %llu that is no committed REF entry kept there",
               node + 1, (unsigned long long)last,
               (unsigned long long)state->items[k].index);
}
