/* check_records.c - the record invariants: Record Integrity, Apply Needs
 * Record, Durable Commit, Void Safety, Orphan Safety. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xalloc.h"

/*
 * DESIGN.md, "References, data index and durable commit":
 *
 * - Record Integrity: every record put into a node's record store is the
 *   record its reference names (size and SHA-256): a corrupted copy, pushed
 *   or fetched, is never stored.
 * - Apply Needs Record: "No node applies an entry whose record it lacks":
 *   apply() gets a REF entry only while the node's store holds its record,
 *   and an ABANDONED one only while its log holds VOID(k) at or below its
 *   commit index.
 * - Durable Commit: "A committed record then exists on a majority": when a
 *   leader's commit index moves, each REF entry it newly covers, and that
 *   no leader committed before (durable_upto), has its
 *   record in the record stores of a majority of the voters of the
 *   leader's configuration then (a crashed node's store counts, a wiped
 *   one has nothing to count, nor does a voter whose server is gone), or
 *   a VOID at or below the new commit index abandons it.  A follower whose last
 * report counted by the leader was sent before its store was wiped counts too,
 * unless durable_strict (see holders()).
 * - Void Safety: a VOID abandons only an entry that was lost before it
 *   committed.  Each committed REF entry has one fate: kept (committed with
 *   no VOID for it at or below the commit index that covered it) or
 *   abandoned (a committed VOID names it).  A committed VOID naming a kept
 *   entry, or a node applying an entry in the form its fate forbids, is a
 *   violation.
 * - Orphan Safety: the sweeper collects only orphans: a record that an
 *   entry of the node's log names is never removed.  (A lagging node may
 *   collect the record of an entry it discarded that committed elsewhere:
 *   it fetches it again when the entry comes back.)
 */

static void ref_str(const refraft_ref *ref, char *buf, size_t len)
{
    record_id_str(ref->id, ref->id_len, buf, len);
}

static void add_pending(checker *c, pending_check p)
{
    c->pending = xgrow(c->pending, &c->pending_cap, c->n_pending + 1,
                       sizeof(*c->pending));
    c->pending[c->n_pending++] = p;
}

void check_records_init(checker *c, bool durable, const rstore **stores)
{
    c->durable = durable;
    for (int i = 0; i < c->n_nodes; i++)
        c->stores[i] = stores[i];
}

void check_record_put(checker *c, int node, const refraft_ref *ref,
                      const void *bytes, size_t len)
{
    c->store_puts++;
    if (record_matches(ref, bytes, len))
        return;
    char id[RECORD_ID_MAX + 1];
    ref_str(ref, id, sizeof(id));
    check_fail(c, "Record Integrity",
               "n%d stored %zu bytes as record %s (size %llu) that do not "
               "match its SHA-256 digest or size",
               node + 1, len, id, (unsigned long long)ref->size);
}

void check_record_removed(checker *c, int node, const uint8_t *id,
                          size_t id_len)
{
    pending_check p = {.kind = PENDING_REMOVED, .node = node};
    p.id_len = (uint16_t)(id_len < RECORD_ID_MAX ? id_len : RECORD_ID_MAX);
    memcpy(p.id, id, p.id_len);
    add_pending(c, p);
}

/* The leader keeps the data index of the newest result of its term: one
 * whose match index is not below the highest it had (match indexes only
 * grow within a term, so a lower one is an older result). */
void check_data_report(checker *c, int leader, int follower, refraft_term term,
                       refraft_index match_index, refraft_index data_index,
                       uint64_t wipes)
{
    data_report *r = &c->reports[leader][follower];
    if (term < r->term)
        return;
    if (term > r->term)
        *r = (data_report){.term = term};
    if (match_index >= r->match_index) {
        r->match_index = match_index;
        r->data_index = data_index;
        r->wipes = wipes;
    }
}

void check_wiped(checker *c, int node)
{
    c->wipes[node]++;
}

static uint8_t fate_of(const checker *c, refraft_index index)
{
    return index >= 1 && index <= c->n_committed ? c->centries[index].fate
                                                 : FATE_NONE;
}

void check_records_applied(checker *c, int node, refraft_index index,
                           const refraft_entry *entry)
{
    char id[RECORD_ID_MAX + 1] = "";
    if (entry->type == REFRAFT_ENTRY_REF ||
        entry->type == REFRAFT_ENTRY_ABANDONED)
        ref_str(&entry->ref, id, sizeof(id));
    if (entry->type == REFRAFT_ENTRY_REF &&
        !rstore_has(c->stores[node], &entry->ref))
        check_fail(c, "Apply Needs Record",
                   "n%d applied index %llu (%s) without its record in its "
                   "store",
                   node + 1, (unsigned long long)index, id);
    uint8_t f = fate_of(c, index);
    if (entry->type == REFRAFT_ENTRY_REF && f == FATE_ABANDONED)
        check_fail(c, "Void Safety",
                   "n%d applied index %llu (%s) as a REF entry, but a "
                   "committed VOID abandons it",
                   node + 1, (unsigned long long)index, id);
    if (entry->type == REFRAFT_ENTRY_ABANDONED && f == FATE_KEPT)
        check_fail(c, "Void Safety",
                   "n%d applied index %llu (%s) as ABANDONED, but it was "
                   "committed with no VOID for it",
                   node + 1, (unsigned long long)index, id);
    if (entry->type == REFRAFT_ENTRY_ABANDONED)
        add_pending(c, (pending_check){.kind = PENDING_ABANDONED,
                                       .node = node,
                                       .from = index});
}

void check_records_commit(checker *c, int node, refraft_term term,
                          refraft_index from, refraft_index to,
                          const sim_conf *conf)
{
    if (c->durable && to > from)
        add_pending(c, (pending_check){.kind = PENDING_COMMIT,
                                       .node = node,
                                       .term = term,
                                       .from = from,
                                       .to = to,
                                       .voters = check_voter_slots(c, conf),
                                       .n_voters = conf->n_voters});
}

/* ---- the committed prefix ----------------------------------------------- */

/* Copy what the checks need of e: the log keeps its ids valid only until
 * its next call. */
static void keep_entry(committed_entry *ce, const refraft_entry *e)
{
    memset(ce, 0, sizeof(*ce));
    ce->type = e->type;
    ce->voided = e->voided;
    if (e->type != REFRAFT_ENTRY_REF || e->ref.id == NULL)
        return;
    ce->id_len = e->ref.id_len < RECORD_ID_MAX ? e->ref.id_len : RECORD_ID_MAX;
    memcpy(ce->id, e->ref.id, ce->id_len);
    ce->size = e->ref.size;
    memcpy(ce->digest, e->ref.digest, REFRAFT_DIGEST_LEN);
}

static refraft_ref kept_ref(const committed_entry *ce)
{
    refraft_ref ref = {.id = ce->id, .id_len = ce->id_len, .size = ce->size};
    memcpy(ref.digest, ce->digest, REFRAFT_DIGEST_LEN);
    return ref;
}

void check_records_note(checker *c, refraft_index index, const refraft_entry *e)
{
    c->centries =
        xgrow(c->centries, &c->centries_cap, index + 1, sizeof(*c->centries));
    keep_entry(&c->centries[index], e);
}

/* The apply recorded at index conflicts with the fate f. */
static void check_applied_form(checker *c, refraft_index index, uint8_t f)
{
    if (index > c->n_applied || c->applied[index].term == 0)
        return;
    uint8_t type = c->applied[index].type;
    if ((f == FATE_ABANDONED && type == REFRAFT_ENTRY_REF) ||
        (f == FATE_KEPT && type == REFRAFT_ENTRY_ABANDONED))
        check_fail(c, "Void Safety",
                   "index %llu was applied as %s, but it was committed %s",
                   (unsigned long long)index, c->applied[index].label,
                   f == FATE_KEPT ? "with no VOID for it"
                                  : "abandoned by a VOID");
}

/*
 * The prefix grew over (after, upto].  No commit index lands inside a
 * VOID's span (data_clip in the core), so every VOID of the new part
 * that names an entry of it commits with it: VOIDs first, then the REF
 * entries left are kept.  A VOID naming an entry committed earlier as
 * kept abandons a committed record.
 */
void check_records_committed(checker *c, refraft_index after,
                             refraft_index upto)
{
    for (refraft_index v = after + 1; v <= upto; v++) {
        const committed_entry *ve = &c->centries[v];
        if (ve->type != REFRAFT_ENTRY_VOID)
            continue;
        refraft_index k = ve->voided;
        if (k == 0 || k >= v || c->centries[k].type != REFRAFT_ENTRY_REF) {
            check_fail(c, "Void Safety",
                       "committed VOID at index %llu names index %llu, "
                       "which is not a REF entry below it",
                       (unsigned long long)v, (unsigned long long)k);
            return;
        }
        committed_entry *ke = &c->centries[k];
        if (ke->fate == FATE_KEPT) {
            check_fail(c, "Void Safety",
                       "VOID at index %llu committed, abandoning entry "
                       "%llu, which had committed with no VOID for it",
                       (unsigned long long)v, (unsigned long long)k);
            return;
        }
        ke->fate = FATE_ABANDONED;
        check_applied_form(c, k, FATE_ABANDONED);
    }
    for (refraft_index k = after + 1; k <= upto; k++) {
        committed_entry *ke = &c->centries[k];
        if (ke->type != REFRAFT_ENTRY_REF || ke->fate != FATE_NONE)
            continue;
        ke->fate = FATE_KEPT;
        uint64_t seq = record_seq(ke->id, ke->id_len);
        if (seq > c->max_committed_seq)
            c->max_committed_seq = seq;
        check_applied_form(c, k, FATE_KEPT);
    }
}

/* ---- checks at the end of a step ---------------------------------------- */

/* Read the entries (from, to] into out (to - from of them): those of the
 * committed prefix from the checker's copy (Leader Completeness holds the
 * node's log to it, and its log may have compacted them away), the others
 * from log. */
static bool read_range(const checker *c, const refraft_log_api *log,
                       refraft_index from, refraft_index to,
                       committed_entry *out)
{
    refraft_entry e[64];
    refraft_index at = from + 1;
    for (; at <= to && at <= c->n_committed; at++)
        out[at - from - 1] = c->centries[at];
    while (at <= to) {
        size_t want = to - at + 1 < 64 ? (size_t)(to - at + 1) : 64;
        size_t n = 0;
        if (log->get(log->ctx, at, want, e, &n) != 0 || n == 0)
            return false;
        for (size_t i = 0; i < n; i++)
            keep_entry(&out[at - from - 1 + i], &e[i]);
        at += n;
    }
    return true;
}

/* Append "n<i>" to the list in buf (used bytes so far). */
static void list_node(char *buf, size_t len, size_t *used, int i)
{
    int w =
        snprintf(buf + *used, len - *used, "%sn%d", *used ? " " : "", i + 1);
    if (w > 0 && (size_t)w < len - *used)
        *used += (size_t)w;
}

/*
 * Who holds ref's record (entry k) for the leader of p->term that counts
 * it, among the voters of its configuration: each store that holds it now
 * (listed in who), and, unless
 * durable_strict, a follower whose store lost it after it said so (listed
 * in gone).  The leader counts the last data index each follower
 * reported, and a report sent just before the follower's store was wiped
 * can be the last one it has when it commits: no leader can tell, and the
 * record was on a majority when the reports it counted were sent.
 */
static int holders(const checker *c, const pending_check *p, refraft_index k,
                   const refraft_ref *ref, char *who, char *gone, size_t len)
{
    int count = 0, leader = p->node;
    size_t used = 0, gone_used = 0;
    who[0] = gone[0] = '\0';
    for (int i = 0; i < c->n_nodes; i++) {
        const data_report *r = &c->reports[leader][i];
        if (!(p->voters & (1u << i)))
            continue;
        if (rstore_has(c->stores[i], ref)) {
            count++;
            list_node(who, len, &used, i);
        } else if (i != leader && r->wipes != c->wipes[i] &&
                   r->term == p->term && r->data_index >= k) {
            count += !c->durable_strict;
            list_node(gone, len, &gone_used, i);
        }
    }
    return count;
}

static bool voided_in(const committed_entry *e, size_t n, refraft_index k)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].type == REFRAFT_ENTRY_VOID && e[i].voided == k)
            return true;
    }
    return false;
}

static void
check_durable(checker *c, const check_view *view, const pending_check *p)
{
    const refraft_log_api *log = view->log[p->node];
    size_t n = (size_t)(p->to - p->from);
    committed_entry *e = xmalloc(n * sizeof(*e));
    if (!read_range(c, log, p->from, p->to, e)) {
        check_fail(c, "Durable Commit",
                   "n%d committed up to index %llu but cannot read its log "
                   "there",
                   p->node + 1, (unsigned long long)p->to);
        free(e);
        return;
    }
    /* A majority of the voters of the leader's configuration then: the
     * ones whose server is no longer there hold nothing. */
    int quorum = (int)p->n_voters / 2 + 1;
    for (size_t i = 0; i < n && !c->failed; i++) {
        if (e[i].type != REFRAFT_ENTRY_REF)
            continue;
        refraft_index k = p->from + 1 + i;
        /* Committed before, by a leader whose count this check took: the
         * record was on a majority then, and losing copies since is what
         * durable commit lets a minority do.  A later leader commits it
         * again counting what followers report of entries below their
         * log's base, which they hold as committed. */
        if (k <= c->durable_upto)
            continue;
        if (voided_in(e + i + 1, n - i - 1, k))
            continue;
        char who[64], gone[64], id[RECORD_ID_MAX + 1];
        refraft_ref ref = kept_ref(&e[i]);
        int count = holders(c, p, k, &ref, who, gone, sizeof(who));
        if (count >= quorum)
            continue;
        ref_str(&ref, id, sizeof(id));
        check_fail(c, "Durable Commit",
                   "n%d, leader of term %llu, committed index %llu (%s) "
                   "with its record held by %s (%d of %u voters, fewer than "
                   "a majority), and no VOID for it%s%s%s",
                   p->node + 1, (unsigned long long)p->term,
                   (unsigned long long)k, id, who[0] != '\0' ? who : "none",
                   count, (unsigned)p->n_voters,
                   gone[0] != '\0' ? "; not counted: " : "", gone,
                   gone[0] != '\0' ? ", whose last report said it held the "
                                     "record, sent before its store was wiped"
                                   : "");
    }
    if (p->to > c->durable_upto)
        c->durable_upto = p->to;
    free(e);
}

/* The node applied index k as ABANDONED: its log must hold VOID(k) at or
 * below its commit index. */
static void
check_abandoned(checker *c, const check_view *view, const pending_check *p)
{
    const refraft_node *rn = view->rn[p->node];
    if (rn == NULL)
        return;
    refraft_index k = p->from;
    refraft_index commit = refraft_commit_index(rn);
    size_t n = commit > k ? (size_t)(commit - k) : 0;
    committed_entry *e = xmalloc((n > 0 ? n : 1) * sizeof(*e));
    bool ok = n > 0 && read_range(c, view->log[p->node], k, commit, e) &&
              voided_in(e, n, k);
    free(e);
    if (!ok)
        check_fail(c, "Apply Needs Record",
                   "n%d applied index %llu as ABANDONED, but its log holds "
                   "no VOID for it at or below its commit index %llu",
                   p->node + 1, (unsigned long long)k,
                   (unsigned long long)commit);
}

/* The record p names is in node's reference state: which index. */
static refraft_index in_state(const refstate *state, const pending_check *p)
{
    for (size_t k = 0; k < state->n; k++) {
        const refstate_item *it = &state->items[k];
        if (it->id_len == p->id_len && memcmp(it->id, p->id, p->id_len) == 0)
            return it->index;
    }
    return 0;
}

/* The node's sweeper removed a record as an orphan: no entry of the
 * node's log, and no ref of its reference state, may name it.  The step
 * that removed it appended no REF entry and applied none (the record
 * would not be an orphan candidate then), so both are as they were. */
static void
check_removed(checker *c, const check_view *view, const pending_check *p)
{
    const refraft_log_api *log = view->log[p->node];
    if (view->rn[p->node] == NULL)
        return;
    refraft_index named = in_state(view->state[p->node], p);
    if (named != 0) {
        char name[RECORD_ID_MAX + 1];
        record_id_str(p->id, p->id_len, name, sizeof(name));
        check_fail(c, "Orphan Safety",
                   "n%d removed record %s as an orphan, but its reference "
                   "state names it (index %llu)",
                   p->node + 1, name, (unsigned long long)named);
        return;
    }
    refraft_index last = log->last_index(log->ctx);
    refraft_entry e[64];
    for (refraft_index at = log->first_index(log->ctx); at <= last;) {
        size_t want = last - at + 1 < 64 ? (size_t)(last - at + 1) : 64;
        size_t n = 0;
        if (log->get(log->ctx, at, want, e, &n) != 0 || n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            if (e[i].type != REFRAFT_ENTRY_REF ||
                e[i].ref.id_len != p->id_len ||
                memcmp(e[i].ref.id, p->id, p->id_len) != 0)
                continue;
            char name[RECORD_ID_MAX + 1];
            record_id_str(p->id, p->id_len, name, sizeof(name));
            check_fail(c, "Orphan Safety",
                       "n%d removed record %s as an orphan, but entry %llu "
                       "of its log names it",
                       p->node + 1, name, (unsigned long long)(at + i));
            return;
        }
        at += n;
    }
}

void check_records_step(checker *c, const check_view *view)
{
    for (size_t i = 0; i < c->n_pending && !c->failed; i++) {
        const pending_check *p = &c->pending[i];
        if (p->kind == PENDING_COMMIT && view->rn[p->node] != NULL)
            check_durable(c, view, p);
        else if (p->kind == PENDING_ABANDONED)
            check_abandoned(c, view, p);
        else if (p->kind == PENDING_REMOVED)
            check_removed(c, view, p);
    }
    c->n_pending = 0;
}
