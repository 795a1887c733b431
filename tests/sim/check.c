/* check.c - checker bookkeeping, reports, and Election Safety (§5.2). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xalloc.h"

/* Raft §5.2, Election Safety: "at most one leader can be elected in a
 * given term." */

void check_init(checker *c, int n_nodes)
{
    memset(c, 0, sizeof(*c));
    c->n_nodes = n_nodes;
}

void check_free(checker *c)
{
    free(c->leader_of_term);
    free(c->lm_head);
    free(c->lm_pool);
    free(c->committed);
    free(c->must_have);
    free(c->applied);
    free(c->centries);
    free(c->pending);
    for (int i = 0; i < NET_MAX_NODES; i++) {
        free(c->logs[i].terms);
        free(c->logs[i].confs);
    }
    free(c->committed_confs);
    memset(c, 0, sizeof(*c));
}

void check_fail(checker *c, const char *invariant, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->v.invariant = invariant;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->v.detail, sizeof(c->v.detail), fmt, ap);
    va_end(ap);
}

/* The map term -> leader lives for the whole run, across crashes and
 * restarts: a node that forgot its vote and elected a second leader in an
 * old term is exactly what it must catch. */
void check_election(checker *c, int node, refraft_term term)
{
    size_t old_cap = c->leader_cap;
    c->leader_of_term = xgrow(c->leader_of_term, &c->leader_cap, term + 1,
                              sizeof(*c->leader_of_term));
    for (size_t t = old_cap; t < c->leader_cap; t++)
        c->leader_of_term[t] = -1;
    int known = c->leader_of_term[term];
    if (known < 0) {
        c->leader_of_term[term] = node;
    } else if (known != node) {
        check_fail(c, "Election Safety",
                   "term %llu has two leaders: n%d and n%d",
                   (unsigned long long)term, known + 1, node + 1);
    }
}

void check_node_state(checker *c, int node, const refraft_node *rn,
                      const refraft_log_api *log)
{
    check_commit(c, node, rn, log);
    if (refraft_role(rn) == REFRAFT_LEADER) {
        check_election(c, node, refraft_current_term(rn));
        check_leader(c, node, rn, log);
    }
    check_membership(c, node, rn);
}
