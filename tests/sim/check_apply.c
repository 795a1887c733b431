/* check_apply.c - State Machine Safety (Raft §5.4.3). */
#include <stdio.h>

#include "check.h"
#include "xalloc.h"

/* Raft §5.4.3: "if a server has applied a log entry at a given index to
 * its state machine, no other server will ever apply a different log entry
 * for the same index."  Each node must also apply in index order, without
 * gaps, resuming after what its state machine kept across a restart. */

/* The first node to apply an index defines what every other node must
 * apply there; applied[] is 1-based like the log. */
static void compare_with_others(checker *c, int node, refraft_index index,
                                const entry_sig *sig)
{
    if (index > c->n_applied) {
        c->applied =
            xgrow(c->applied, &c->applied_cap, index + 1, sizeof(*c->applied));
        for (refraft_index i = c->n_applied + 1; i <= index; i++)
            c->applied[i].term = 0;
        c->n_applied = index;
    }
    entry_sig *known = &c->applied[index];
    if (known->term == 0) {
        *known = *sig;
        return;
    }
    if (entry_sig_equal(known, sig))
        return;
    char mine[64], theirs[64];
    entry_sig_describe(sig, mine, sizeof(mine));
    entry_sig_describe(known, theirs, sizeof(theirs));
    check_fail(c, "State Machine Safety",
               "n%d applied %s at index %llu where another node applied %s",
               node + 1, mine, (unsigned long long)index, theirs);
}

void check_applied(checker *c, int node, refraft_index index,
                   const refraft_entry *entry, refraft_index commit)
{
    check_node *cn = &c->nodes[node];
    if (index != cn->applied + 1) {
        check_fail(c, "State Machine Safety",
                   "n%d applied index %llu right after index %llu", node + 1,
                   (unsigned long long)index, (unsigned long long)cn->applied);
    } else if (index > commit) {
        check_fail(c, "State Machine Safety",
                   "n%d applied index %llu beyond its commit index %llu",
                   node + 1, (unsigned long long)index,
                   (unsigned long long)commit);
    }
    cn->applied = index;
    entry_sig sig;
    entry_sig_make(&sig, entry);
    compare_with_others(c, node, index, &sig);
}

/* A restarted node resumes applying after what its state machine kept: 0
 * when the state machine lives in memory and re-applies from the start. */
void check_restarted(checker *c, int node, refraft_index applied_index)
{
    c->nodes[node].applied = applied_index;
    /* A new node: its configuration is compared afresh (check_member.c). */
    c->logs[node].seen_rn = NULL;
}

/* DESIGN.md contract 7: applying an entry and recording that it was
 * applied commit together or not at all, so a crash can undo both but
 * never one of them. */
void check_stored_state(checker *c, int node, refraft_index applied_index,
                        refraft_index last, const uint64_t *hash)
{
    if (last != applied_index) {
        check_fail(c, "Exactly-once Apply",
                   "n%d reopened its store at applied index %llu, but its "
                   "state machine ends at index %llu",
                   node + 1, (unsigned long long)applied_index,
                   (unsigned long long)last);
    } else if (hash != NULL && last > 0 && last <= c->n_applied &&
               c->applied[last].term != 0 && c->applied[last].hash != *hash) {
        char want[64];
        entry_sig_describe(&c->applied[last], want, sizeof(want));
        check_fail(c, "Exactly-once Apply",
                   "n%d's stored state machine holds a different entry at "
                   "index %llu from the one applied there (%s)",
                   node + 1, (unsigned long long)last, want);
    }
}
