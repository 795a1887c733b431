/* check_commit.c - Leader Completeness (Raft §5.4). */
#include <stdio.h>

#include "check.h"
#include "xalloc.h"

/* Raft §5.4: "If a log entry is committed in a given term, then that entry
 * will be present in the logs of the leaders for all higher-numbered
 * terms." */

/*
 * The checker learns what is committed from the nodes' commit indexes: when
 * one passes the end of the known committed prefix, the prefix is extended
 * from that node's log.  A node's commit index that covers an index whose
 * entry differs from the known committed one means two different entries
 * were committed at one index.
 *
 * A committed entry only binds leaders of the term it was committed in and
 * later ones (a stale leader cut off in an older term may well lack it).
 * The exact term is not observable, but a node whose commit index covers an
 * index learned it from a leader of its own current term or an earlier one,
 * so that term bounds it from above: must_have[t] is the longest prefix
 * reported committed by a node in term t or before.
 */

typedef enum why {
    WHY_COMMIT, /* the node's commit index covers the index */
    WHY_LEADER, /* the node leads a term that must hold the index */
    WHY_COMPACT /* the node compacts its log past the index */
} why;

/* Read the entry at index from a node's log; false when it has none. */
static bool
read_sig(const refraft_log_api *log, refraft_index index, entry_sig *sig)
{
    refraft_entry e;
    size_t n = 0;
    if (log->get(log->ctx, index, 1, &e, &n) != 0 || n != 1)
        return false;
    entry_sig_make(sig, &e);
    return true;
}

static void report(checker *c, int node, const refraft_node *rn, why reason,
                   refraft_index index, const entry_sig *has)
{
    char want[64], got[64] = "nothing";
    entry_sig_describe(&c->committed[index], want, sizeof(want));
    if (has != NULL)
        entry_sig_describe(has, got, sizeof(got));
    if (reason == WHY_COMPACT) {
        check_fail(c, "State Machine Safety",
                   "n%d compacts its log past index %llu, where it holds %s "
                   "but %s was committed",
                   node + 1, (unsigned long long)index, got, want);
        return;
    }
    unsigned long long term = refraft_current_term(rn);
    if (reason == WHY_LEADER) {
        check_fail(c, "Leader Completeness",
                   "n%d, leader of term %llu, lacks committed entry %llu "
                   "(%s): its log has %s there",
                   node + 1, term, (unsigned long long)index, want, got);
    } else {
        check_fail(c, "Leader Completeness",
                   "n%d (term %llu) has commit index %llu covering index "
                   "%llu where it holds %s, but %s was committed there",
                   node + 1, term, (unsigned long long)refraft_commit_index(rn),
                   (unsigned long long)index, got, want);
    }
}

/* Extend what is known of node's log holding the committed prefix to
 * upto (at most n_committed), comparing entry by entry: each index is
 * compared once per node until a truncation below it. */
static void verify(checker *c, int node, const refraft_node *rn,
                   const refraft_log_api *log, refraft_index upto, why reason)
{
    check_node *cn = &c->nodes[node];
    while (cn->verified < upto && !c->failed) {
        refraft_index i = cn->verified + 1;
        entry_sig sig;
        bool found = read_sig(log, i, &sig);
        if (!found || !entry_sig_equal(&sig, &c->committed[i])) {
            report(c, node, rn, reason, i, found ? &sig : NULL);
            return;
        }
        cn->verified = i;
    }
}

/* Append the node's entries up to upto to the committed prefix, keeping
 * what the record checks need of each (check_records.c). */
static void extend_committed(checker *c, int node, const refraft_node *rn,
                             const refraft_log_api *log, refraft_index upto)
{
    c->committed =
        xgrow(c->committed, &c->committed_cap, upto + 1, sizeof(*c->committed));
    refraft_index after = c->n_committed;
    while (c->n_committed < upto) {
        refraft_index i = c->n_committed + 1;
        refraft_entry e;
        size_t n = 0;
        if (log->get(log->ctx, i, 1, &e, &n) != 0 || n != 1) {
            check_fail(
                c, "Leader Completeness",
                "n%d has %s %llu but its log does not hold index %llu",
                node + 1, rn != NULL ? "commit index" : "applied (compacting)",
                (unsigned long long)(rn != NULL ? refraft_commit_index(rn)
                                                : upto),
                (unsigned long long)i);
            return;
        }
        entry_sig_make(&c->committed[i], &e);
        check_records_note(c, i, &e);
        check_member_note(c, i, &e);
        c->n_committed = i;
    }
    c->nodes[node].verified = upto;
    check_records_committed(c, after, upto);
}

/* Record that everything up to index was committed by term: must_have is
 * kept non-decreasing in the term, and a term past its end reads as its
 * last slot, so only slots from term on can need raising. */
static void
note_committed_by(checker *c, refraft_term term, refraft_index index)
{
    size_t old_len = c->must_have_len;
    if (term >= old_len) {
        c->must_have = xgrow(c->must_have, &c->must_have_cap, term + 1,
                             sizeof(*c->must_have));
        for (size_t t = old_len; t <= term; t++)
            c->must_have[t] = t > 0 ? c->must_have[t - 1] : 0;
        c->must_have_len = term + 1;
    }
    for (size_t t = term; t < c->must_have_len && c->must_have[t] < index; t++)
        c->must_have[t] = index;
}

void check_commit(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log)
{
    refraft_index commit = refraft_commit_index(rn);
    if (commit <= c->nodes[node].verified)
        return;
    refraft_index known = commit < c->n_committed ? commit : c->n_committed;
    verify(c, node, rn, log, known, WHY_COMMIT);
    if (commit > c->n_committed && !c->failed)
        extend_committed(c, node, rn, log, commit);
    note_committed_by(c, refraft_current_term(rn), commit);
}

/* Compaction drops applied entries only: the checker reads them one last
 * time, as the committed prefix (extending it when this node's commit ran
 * ahead of the others within the step), so that no later check needs to
 * read below the log's first index. */
void check_compacting(checker *c, int node, const refraft_log_api *log,
                      const refraft_snapshot_meta *meta)
{
    refraft_index last = meta->last_index;
    if (c->failed)
        return;
    if (last > c->nodes[node].applied) {
        check_fail(c, "State Machine Safety",
                   "n%d compacts its log up to index %llu, beyond its "
                   "applied index %llu",
                   node + 1, (unsigned long long)last,
                   (unsigned long long)c->nodes[node].applied);
        return;
    }
    refraft_index known = last < c->n_committed ? last : c->n_committed;
    verify(c, node, NULL, log, known, WHY_COMPACT);
    if (last > c->n_committed && !c->failed)
        extend_committed(c, node, NULL, log, last);
    if (!c->failed)
        check_snapshot_meta(c, node, "compacts its log", meta);
}

void check_leader(checker *c, int node, const refraft_node *rn,
                  const refraft_log_api *log)
{
    refraft_term term = refraft_current_term(rn);
    if (c->must_have_len == 0)
        return;
    size_t slot = term < c->must_have_len ? term : c->must_have_len - 1;
    verify(c, node, rn, log, c->must_have[slot], WHY_LEADER);
}
