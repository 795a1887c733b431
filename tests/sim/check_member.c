/* check_member.c - membership: each node's configuration, the change
 * rules (Raft thesis §4.1-§4.2), and Commit Quorum. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "xalloc.h"

/*
 * Raft thesis §4.1: "a server always uses the latest configuration in its
 * log, regardless of whether the entry is committed."  Single-server
 * changes are safe because two consecutive configurations have
 * overlapping majorities, so the checker holds the core to:
 *
 * - Configuration: a node goes by the last CONFIG entry in its log (its
 *   initial configuration while it has none), from the moment the entry is
 *   appended to the moment a truncation removes it.
 * - One Change at a Time: at most one CONFIG entry of any log is not
 *   committed, and a leader appends one only after the one before it
 *   committed and after it committed an entry of its own term (the fix
 *   for changes across leader changes, raft-dev 2015).
 * - Committed Configurations: every node's CONFIG entries up to its
 *   commit index are the committed ones, in the same order, with the same
 *   members.
 * - Voters Only: a learner, or a node its configuration does not name
 *   (a spare, a removed server), never campaigns or leads, with one
 *   exception (§4.2.2): a server removed by a configuration not yet
 *   committed as far as it knows.  A leader that removed itself leads on,
 *   not counting itself, until the change commits; and "a server that is
 *   not part of its own latest configuration should still start new
 *   elections, as it might still be needed until the Cnew entry is
 *   committed" (thesis, Figure 4.6).  It never counts its own vote.
 * - Commit Quorum: when a leader's commit index moves to k, a majority of
 *   the voters of its configuration then hold its entry k (§4.1: the
 *   latest configuration counts, committed or not).
 *
 * The checker sees every entry a log gains or loses (the disk's hooks),
 * so it keeps each node's CONFIG entries and the term of each entry
 * without rereading logs.
 */

static const char *role_name(int role)
{
    return refraft_role_name(role);
}

void check_set_initial(checker *c, int node, const sim_conf *initial)
{
    c->initial[node] = *initial;
}

void check_set_cluster_initial(checker *c, const sim_conf *initial)
{
    c->cluster_initial = *initial;
}

/* A new server in the slot: an empty log, a fresh state machine, no
 * reports, and an empty initial configuration (it joins). */
void check_renewed(checker *c, int node, uint32_t gen)
{
    node_log *l = &c->logs[node];
    c->gen[node] = gen;
    l->last = 0;
    l->n_confs = 0;
    l->confs_checked = 0;
    memset(&c->initial[node], 0, sizeof(c->initial[node]));
    c->nodes[node].verified = 0;
    c->nodes[node].applied = 0;
    for (int j = 0; j < NET_MAX_NODES; j++) {
        c->reports[j][node] = (data_report){0};
        c->reports[node][j] = (data_report){0};
    }
}

const sim_conf *check_conf_of(const checker *c, int node)
{
    const node_log *l = &c->logs[node];
    return l->n_confs > 0 ? &l->confs[l->n_confs - 1] : &c->initial[node];
}

const sim_conf *check_committed_conf(const checker *c)
{
    return c->n_committed_confs > 0
               ? &c->committed_confs[c->n_committed_confs - 1]
               : &c->cluster_initial;
}

uint32_t check_voter_slots(const checker *c, const sim_conf *conf)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < conf->n; i++) {
        const conf_member *m = &conf->m[i];
        if (m->voter && m->slot >= 0 && m->slot < c->n_nodes &&
            m->gen == c->gen[m->slot])
            mask |= 1u << m->slot;
    }
    return mask;
}

static void push_conf(sim_conf **v, size_t *n, size_t *cap, const sim_conf *s)
{
    *v = xgrow(*v, cap, *n + 1, sizeof(**v));
    (*v)[(*n)++] = *s;
}

void check_log_appended(checker *c, int node, refraft_index first,
                        const refraft_entry *entries, size_t n)
{
    node_log *l = &c->logs[node];
    if (n == 0)
        return;
    l->terms = xgrow(l->terms, &l->terms_cap, first + n, sizeof(*l->terms));
    for (size_t i = 0; i < n; i++) {
        const refraft_entry *e = &entries[i];
        l->terms[first + i] = e->term;
        if (e->type != REFRAFT_ENTRY_CONFIG)
            continue;
        sim_conf conf;
        sim_conf_from(&conf, first + i, e->term, e->members, e->n_members);
        push_conf(&l->confs, &l->n_confs, &l->confs_cap, &conf);
    }
    l->last = first + n - 1;
}

void check_log_truncated(checker *c, int node, refraft_index from)
{
    node_log *l = &c->logs[node];
    if (from == 0 || from > l->last)
        return;
    l->last = from - 1;
    while (l->n_confs > 0 && l->confs[l->n_confs - 1].index >= from)
        l->n_confs--;
    if (l->confs_checked > l->n_confs)
        l->confs_checked = l->n_confs;
}

void check_member_note(checker *c, refraft_index index, const refraft_entry *e)
{
    if (e->type != REFRAFT_ENTRY_CONFIG)
        return;
    sim_conf conf;
    sim_conf_from(&conf, index, e->term, e->members, e->n_members);
    push_conf(&c->committed_confs, &c->n_committed_confs,
              &c->committed_confs_cap, &conf);
}

/* "the configuration at index 12 (n1 n2 n4~)" or "its initial
 * configuration (n1 n2 n3)". */
static void conf_str(const sim_conf *conf, char *buf, size_t len)
{
    char who[128];
    sim_conf_describe(conf, who, sizeof(who));
    if (conf->index == 0)
        snprintf(buf, len, "its initial configuration (%s)", who);
    else
        snprintf(buf, len, "the configuration at index %llu (%s)",
                 (unsigned long long)conf->index, who);
}

/* Configuration: what the node goes by is what its log says.  The node's
 * configuration changes only with its log's CONFIG entries, or when it
 * starts, so it is compared again only then. */
static void check_in_effect(checker *c, int node, const refraft_node *rn)
{
    node_log *l = &c->logs[node];
    const sim_conf *want = check_conf_of(c, node);
    if (l->seen_rn == rn && l->seen_index == refraft_config_index(rn) &&
        l->seen_confs == l->n_confs && l->seen_hash == want->hash)
        return;
    sim_conf have;
    sim_conf_of_node(&have, rn);
    l->seen_rn = rn;
    l->seen_index = have.index;
    l->seen_confs = l->n_confs;
    l->seen_hash = want->hash;
    if (have.index == want->index &&
        sim_conf_same_members(&have, want, want->index > 0))
        return;
    l->seen_rn = NULL;
    char h[192], w[192];
    conf_str(&have, h, sizeof(h));
    conf_str(want, w, sizeof(w));
    check_fail(c, "Membership",
               "n%d goes by %s, but by its log it should go by %s", node + 1, h,
               w);
}

/* Whether conf, a CONFIG entry of some log, is the committed one. */
static bool is_committed(const checker *c, const sim_conf *conf)
{
    return conf->index <= c->n_committed &&
           c->committed[conf->index].term == conf->term;
}

/* One Change at a Time: the CONFIG entries not committed are the last
 * ones of a log (the ones below are committed, by Log Matching). */
static void check_one_uncommitted(checker *c, int node)
{
    const node_log *l = &c->logs[node];
    size_t k = l->n_confs;
    while (k > 0 && !is_committed(c, &l->confs[k - 1]))
        k--;
    if (l->n_confs - k <= 1)
        return;
    check_fail(c, "Membership",
               "n%d's log holds %zu CONFIG entries that are not committed "
               "(at indexes %llu and %llu); a leader appends one only once "
               "the one before it committed",
               node + 1, l->n_confs - k, (unsigned long long)l->confs[k].index,
               (unsigned long long)l->confs[k + 1].index);
}

/* Committed Configurations: the node's CONFIG entries up to its commit
 * index are the committed ones, one for one; each is compared once. */
static void check_committed_confs(checker *c, int node, const refraft_node *rn)
{
    node_log *l = &c->logs[node];
    refraft_index commit = refraft_commit_index(rn);
    refraft_index upto = commit < c->n_committed ? commit : c->n_committed;
    size_t p = l->confs_checked;
    for (;; p++) {
        const sim_conf *cc =
            p < c->n_committed_confs ? &c->committed_confs[p] : NULL;
        const sim_conf *nc = p < l->n_confs ? &l->confs[p] : NULL;
        if (cc != NULL && cc->index <= upto) {
            if (nc != NULL && nc->index == cc->index && nc->term == cc->term &&
                sim_conf_same_members(nc, cc, true))
                continue;
            char want[192], got[192] = "none";
            conf_str(cc, want, sizeof(want));
            if (nc != NULL)
                conf_str(nc, got, sizeof(got));
            check_fail(c, "Membership",
                       "n%d has commit index %llu, but its CONFIG entry "
                       "number %zu is %s where %s was committed",
                       node + 1, (unsigned long long)commit, p + 1, got, want);
        } else if (nc != NULL && nc->index <= upto) {
            char got[192];
            conf_str(nc, got, sizeof(got));
            check_fail(c, "Membership",
                       "n%d has commit index %llu and holds %s, but no "
                       "CONFIG entry was committed at that index",
                       node + 1, (unsigned long long)commit, got);
        }
        break;
    }
    l->confs_checked = p;
}

/* Voters Only: whether a node in role may be in it: a voter, or a server
 * that a configuration not committed yet (as far as it knows) removed;
 * otherwise why not, into why. */
static bool may_campaign(const checker *c, int node, const refraft_node *rn,
                         const sim_conf *have, char *why, size_t len)
{
    if (refraft_is_voter(rn, refraft_id(rn)))
        return true;
    bool member = sim_conf_has(have, node, c->gen[node]);
    if (!member && have->index > refraft_commit_index(rn))
        return true;
    char h[192];
    conf_str(have, h, sizeof(h));
    snprintf(why, len, "it is no voter of %s%s", h,
             member             ? ", in which it is a learner"
             : have->index == 0 ? ""
                                : ", which removed it and has committed as "
                                  "far as it knows");
    return false;
}

static void check_leader_voter(checker *c, int node, const refraft_node *rn)
{
    char why[320];
    if (refraft_role(rn) != REFRAFT_LEADER ||
        refraft_is_voter(rn, refraft_id(rn)))
        return;
    sim_conf have;
    sim_conf_of_node(&have, rn);
    if (may_campaign(c, node, rn, &have, why, sizeof(why)))
        return;
    check_fail(c, "Membership", "n%d leads term %llu but %s", node + 1,
               (unsigned long long)refraft_current_term(rn), why);
}

void check_membership(checker *c, int node, const refraft_node *rn)
{
    check_in_effect(c, node, rn);
    if (!c->failed)
        check_one_uncommitted(c, node);
    if (!c->failed)
        check_committed_confs(c, node, rn);
    if (!c->failed)
        check_leader_voter(c, node, rn);
}

void check_member_role(checker *c, int node, const refraft_node *rn, int role)
{
    if (role != REFRAFT_PRECANDIDATE && role != REFRAFT_CANDIDATE &&
        role != REFRAFT_LEADER)
        return;
    sim_conf have;
    char why[320];
    sim_conf_of_node(&have, rn);
    if (may_campaign(c, node, rn, &have, why, sizeof(why)))
        return;
    check_fail(c, "Membership", "n%d became %s in term %llu, but %s", node + 1,
               role_name(role), (unsigned long long)refraft_current_term(rn),
               why);
}

static refraft_term term_of(const node_log *l, refraft_index index)
{
    return index >= 1 && index <= l->last ? l->terms[index] : 0;
}

/* One Change at a Time, at the append: a leader's own new CONFIG entry
 * (the last of its log, of its term). */
void check_member_change(checker *c, int node, const refraft_node *rn)
{
    if (refraft_role(rn) != REFRAFT_LEADER)
        return;
    const node_log *l = &c->logs[node];
    refraft_term term = refraft_current_term(rn);
    refraft_index at = refraft_config_index(rn);
    if (at == 0 || at != refraft_last_index(rn) || term_of(l, at) != term)
        return;
    refraft_index commit = refraft_commit_index(rn);
    refraft_index before = l->n_confs >= 2 ? l->confs[l->n_confs - 2].index : 0;
    if (before > commit) {
        check_fail(c, "Membership",
                   "n%d, leader of term %llu, appended a CONFIG entry at "
                   "index %llu while the one before it, at index %llu, was "
                   "not committed (commit index %llu)",
                   node + 1, (unsigned long long)term, (unsigned long long)at,
                   (unsigned long long)before, (unsigned long long)commit);
    } else if (term_of(l, commit) != term) {
        check_fail(c, "Membership",
                   "n%d, leader of term %llu, appended a CONFIG entry at "
                   "index %llu before it committed an entry of its term "
                   "(commit index %llu, of term %llu)",
                   node + 1, (unsigned long long)term, (unsigned long long)at,
                   (unsigned long long)commit,
                   (unsigned long long)term_of(l, commit));
    }
}

void check_commit_quorum(checker *c, int node, const refraft_node *rn,
                         const sim_conf *conf)
{
    refraft_index k = refraft_commit_index(rn);
    refraft_term t = term_of(&c->logs[node], k);
    if (k == 0 || t == 0)
        return; /* a commit index beyond the log: check_commit says so */
    uint32_t held = 0;
    unsigned count = 0;
    for (size_t i = 0; i < conf->n; i++) {
        const conf_member *m = &conf->m[i];
        if (!m->voter || m->slot < 0 || m->slot >= c->n_nodes ||
            m->gen != c->gen[m->slot] || term_of(&c->logs[m->slot], k) != t)
            continue;
        held |= 1u << m->slot;
        count++;
    }
    unsigned need = conf->n_voters / 2u + 1u;
    if (count >= need)
        return;
    char who[128], voters[192];
    size_t used = 0;
    who[0] = '\0';
    for (int i = 0; i < c->n_nodes; i++) {
        if (!(held & (1u << i)))
            continue;
        int w = snprintf(who + used, sizeof(who) - used, "%sn%d",
                         used > 0 ? " " : "", i + 1);
        if (w > 0 && (size_t)w < sizeof(who) - used)
            used += (size_t)w;
    }
    sim_conf_describe(conf, voters, sizeof(voters));
    check_fail(c, "Commit Quorum",
               "n%d, leader of term %llu, moved its commit index to %llu "
               "(term %llu), which %s hold%s: %u of the %u voters of its "
               "configuration at index %llu (%s), not a majority",
               node + 1, (unsigned long long)refraft_current_term(rn),
               (unsigned long long)k, (unsigned long long)t,
               count > 0 ? who : "none", count == 1 ? "s" : "", count,
               (unsigned)conf->n_voters, (unsigned long long)conf->index,
               voters);
}
