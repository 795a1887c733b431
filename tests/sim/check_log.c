/* check_log.c - Log Matching (Raft §5.3), O(1) per appended entry. */
#include <stdio.h>

#include "check.h"
#include "xalloc.h"

/*
 * Raft §5.3: "If two entries in different logs have the same index and
 * term, then the logs are identical in all preceding entries."
 *
 * Checking it pairwise over whole logs would cost O(length) per
 * step.  Instead the checker keeps one map (index, term) -> (entry, term at
 * index - 1) for the whole run, and checks each entry once, when a log
 * gains it: the entry must equal the map's, and so must the term beneath
 * it; if the map has no item there yet, the entry defines it.  That is O(1)
 * per appended entry.
 *
 * Why that suffices, by induction on the index i.  Claim: two logs whose
 * entries at i have the same term t agree on 1..i.  Both entries were
 * checked against the map item (i, t), so they are equal, and the entries
 * at i - 1 beneath them both have the item's prev_term p (a log only loses
 * entries from its tail, so whatever lay beneath i when i was appended
 * still lies there while i does).  For i = 1 that is all there is.  For
 * i > 1, the two logs hold entries with the same term p at i - 1, so by the
 * induction hypothesis they agree on 1..i - 1, hence on 1..i.
 */

static lm_item *find(checker *c, refraft_index index, refraft_term term)
{
    if (index >= c->lm_head_cap)
        return NULL;
    for (uint32_t k = c->lm_head[index]; k != 0; k = c->lm_pool[k - 1].next) {
        if (c->lm_pool[k - 1].sig.term == term)
            return &c->lm_pool[k - 1];
    }
    return NULL;
}

static void insert(checker *c, refraft_index index, const entry_sig *sig,
                   refraft_term prev_term)
{
    size_t old_cap = c->lm_head_cap;
    c->lm_head =
        xgrow(c->lm_head, &c->lm_head_cap, index + 1, sizeof(*c->lm_head));
    for (size_t i = old_cap; i < c->lm_head_cap; i++)
        c->lm_head[i] = 0;
    c->lm_pool =
        xgrow(c->lm_pool, &c->lm_cap, c->lm_len + 1, sizeof(*c->lm_pool));
    lm_item *item = &c->lm_pool[c->lm_len++];
    item->sig = *sig;
    item->prev_term = prev_term;
    item->next = c->lm_head[index];
    c->lm_head[index] = (uint32_t)c->lm_len;
}

static void check_one(checker *c, int node, refraft_index index,
                      refraft_term prev_term, const refraft_entry *e)
{
    entry_sig sig;
    entry_sig_make(&sig, e);
    const lm_item *item = find(c, index, e->term);
    if (item == NULL) {
        insert(c, index, &sig, prev_term);
        return;
    }
    if (entry_sig_equal(&item->sig, &sig) && item->prev_term == prev_term)
        return;
    char mine[64], theirs[64];
    entry_sig_describe(&sig, mine, sizeof(mine));
    entry_sig_describe(&item->sig, theirs, sizeof(theirs));
    check_fail(c, "Log Matching",
               "n%d appended index %llu (%s, term %llu below it) but another "
               "log holds index %llu as (%s, term %llu below it)",
               node + 1, (unsigned long long)index, mine,
               (unsigned long long)prev_term, (unsigned long long)index, theirs,
               (unsigned long long)item->prev_term);
}

void check_appended(checker *c, int node, refraft_index first,
                    refraft_term prev_term, const refraft_entry *entries,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_one(c, node, first + i, prev_term, &entries[i]);
        prev_term = entries[i].term;
    }
    check_log_appended(c, node, first, entries, n);
}

/* Only committed entries are ever verified (see check_commit.c), and a
 * committed entry is never truncated: the leader whose AppendEntries
 * removes it would be a leader lacking a committed entry. */
void check_truncated(checker *c, int node, refraft_index from)
{
    check_node *cn = &c->nodes[node];
    check_log_truncated(c, node, from);
    if (from == 0 || from > cn->verified)
        return;
    char what[64];
    entry_sig_describe(&c->committed[from], what, sizeof(what));
    check_fail(c, "Leader Completeness",
               "n%d truncated its log from index %llu, removing committed "
               "entry %llu (%s)",
               node + 1, (unsigned long long)from, (unsigned long long)from,
               what);
    cn->verified = from - 1;
}
