/* want.c - the records known missing here, and the rounds that ask peers
 * for them: fetch, verify, store, void, report. */
#include <string.h>

#include "core/alloc.h"
#include "sweeper_internal.h"

/* ---- the want table --------------------------------------------------- */

/* Position in sw->order of the first want whose index is >= index. */
static size_t lower_bound(const refraft_sweeper *sw, refraft_index index)
{
    size_t lo = 0, hi = sw->n_want;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sw->pool[sw->order[mid]].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct sw_want *sw_want_find(refraft_sweeper *sw, refraft_index index)
{
    size_t pos = lower_bound(sw, index);
    if (pos < sw->n_want && sw->pool[sw->order[pos]].index == index)
        return &sw->pool[sw->order[pos]];
    return NULL;
}

/* A free slot of the pool in *slot, growing the pool (never past
 * max_missing slots in use: the caller checks n_want). */
static int take_slot(refraft_sweeper *sw, uint32_t *slot)
{
    if (sw->n_free > 0) {
        *slot = sw->free_slots[--sw->n_free];
        return 0;
    }
    size_t need = sw->pool_used + 1;
    if (refraft_grow((void **)&sw->pool, &sw->pool_cap, need,
                     sizeof(*sw->pool)) != 0 ||
        refraft_grow((void **)&sw->free_slots, &sw->free_cap, need,
                     sizeof(*sw->free_slots)) != 0)
        return REFRAFT_ENOMEM;
    *slot = (uint32_t)sw->pool_used++;
    return 0;
}

/* Room for one more slot at the end of order: the window moves back to
 * the start of order_buf, or order_buf grows. */
static int order_reserve(refraft_sweeper *sw)
{
    size_t head =
        sw->order_buf != NULL ? (size_t)(sw->order - sw->order_buf) : 0;
    if (sw->order_buf != NULL && head + sw->n_want < sw->order_cap)
        return 0;
    if (head > 0) {
        memmove(sw->order_buf, sw->order, sw->n_want * sizeof(*sw->order));
        sw->order = sw->order_buf;
        return 0;
    }
    if (refraft_grow((void **)&sw->order_buf, &sw->order_cap, sw->n_want + 1,
                     sizeof(*sw->order_buf)) != 0)
        return REFRAFT_ENOMEM;
    sw->order = sw->order_buf;
    return 0;
}

int sw_want_add(refraft_sweeper *sw, refraft_index index,
                const refraft_ref *ref)
{
    size_t pos = lower_bound(sw, index);
    if (pos < sw->n_want && sw->pool[sw->order[pos]].index == index)
        return 0;
    if (order_reserve(sw) != 0)
        return REFRAFT_ENOMEM;
    uint32_t slot;
    if (take_slot(sw, &slot) != 0)
        return REFRAFT_ENOMEM;
    struct sw_want *w = &sw->pool[slot];
    memset(w, 0, sizeof(*w));
    w->index = index;
    w->size = ref->size;
    memcpy(w->digest, ref->digest, REFRAFT_DIGEST_LEN);
    w->id_len = ref->id_len;
    memcpy(w->id, ref->id, ref->id_len);
    /* The first round waits for the record to arrive on its own, unless
     * it is known lost (lost mode covers it): nothing is bringing it, and
     * the wait would pace a whole recovery (max_missing records per
     * delay). */
    w->retry_at = sw_now(sw);
    w->delayed = index > sw->cfg.lost_upto && sw->cfg.fetch_delay_ms > 0;
    if (w->delayed)
        w->retry_at += sw->cfg.fetch_delay_ms;
    memmove(&sw->order[pos + 1], &sw->order[pos],
            (sw->n_want - pos) * sizeof(*sw->order));
    sw->order[pos] = slot;
    sw->n_want++;
    sw->stats.missing = sw->n_want;
    return 0;
}

/* ---- fetches in flight ------------------------------------------------ */

/* The position of token's fetch in sw->fetches; n_fetch when no fetch in
 * flight has it (cancelled, answered, or never ours).  A recovery answers
 * thousands of fetches a batch: a scan of the fetches for each was 6% of
 * a recovering follower. */
static size_t fetch_find(const refraft_sweeper *sw, uint64_t token)
{
    uint32_t slot = (uint32_t)token;
    if (slot >= sw->pool_used)
        return sw->n_fetch;
    const struct sw_want *w = &sw->pool[slot];
    if (!w->in_flight || w->token != token || w->fetch_pos >= sw->n_fetch)
        return sw->n_fetch;
    return w->fetch_pos;
}

static void fetch_remove(refraft_sweeper *sw, size_t k)
{
    sw->fetches[k] = sw->fetches[--sw->n_fetch];
    if (k < sw->n_fetch)
        sw->pool[sw->fetches[k].want].fetch_pos = (uint32_t)k;
    sw->stats.in_flight = sw->n_fetch;
}

/* Abandon w's fetch: the fetcher is told, and an answer that still comes
 * finds no token and is ignored. */
static void fetch_cancel(refraft_sweeper *sw, struct sw_want *w)
{
    if (!w->in_flight)
        return;
    size_t k = fetch_find(sw, w->token);
    if (k < sw->n_fetch)
        fetch_remove(sw, k);
    w->in_flight = false;
    if (sw->cfg.fetcher.cancel != NULL)
        sw->cfg.fetcher.cancel(sw->cfg.fetcher.ctx, w->token);
}

void sw_want_drop(refraft_sweeper *sw, refraft_index index)
{
    size_t pos = lower_bound(sw, index);
    if (pos == sw->n_want || sw->pool[sw->order[pos]].index != index)
        return;
    uint32_t slot = sw->order[pos];
    struct sw_want *w = &sw->pool[slot];
    fetch_cancel(sw, w);
    if (w->unrecoverable)
        sw->stats.unrecoverable--;
    sw->free_slots[sw->n_free++] = slot;
    /* A batch of fetched records is dropped from the front, one by one:
     * the side with fewer slots moves. */
    if (pos < sw->n_want / 2) {
        memmove(&sw->order[1], &sw->order[0], pos * sizeof(*sw->order));
        sw->order++;
    } else {
        memmove(&sw->order[pos], &sw->order[pos + 1],
                (sw->n_want - pos - 1) * sizeof(*sw->order));
    }
    sw->n_want--;
    sw->stats.missing = sw->n_want;
}

void sw_want_cancel_all(refraft_sweeper *sw)
{
    for (size_t k = 0; k < sw->n_want; k++)
        fetch_cancel(sw, &sw->pool[sw->order[k]]);
}

void sw_want_follow_config(refraft_sweeper *sw)
{
    refraft_index at = refraft_config_index(sw->cfg.node);
    if (at == sw->config_index)
        return;
    sw->config_index = at;
    sw_want_cancel_all(sw);
    for (size_t k = 0; k < sw->n_want; k++) {
        struct sw_want *w = &sw->pool[sw->order[k]];
        w->round_active = false;
        w->asked = 0;
        memset(w->answer, 0, sizeof w->answer);
        memset(w->answer_term, 0, sizeof w->answer_term);
    }
    memset(sw->peer_data, 0, sizeof sw->peer_data);
    memset(sw->peer_down_until, 0, sizeof sw->peer_down_until);
}

/* ---- choosing whom to ask --------------------------------------------- */

/* The leader when it is not a member of this node's configuration: a
 * leader that removed itself leads until that commits, and may hold
 * records nobody else has. */
static const char *outside_leader(const refraft_sweeper *sw)
{
    const refraft_node *node = sw->cfg.node;
    const char *leader = refraft_leader_id(node);
    if (leader == NULL || strcmp(leader, refraft_id(node)) == 0)
        return NULL;
    for (size_t p = 0; p < refraft_n_peers(node); p++)
        if (strcmp(refraft_peer_id(node, p), leader) == 0)
            return NULL;
    return leader;
}

/* The peers to ask: the configuration's, then such a leader. */
static size_t n_peers(const refraft_sweeper *sw)
{
    size_t n = refraft_n_peers(sw->cfg.node);
    if (n > REFRAFT_MAX_PEERS)
        n = REFRAFT_MAX_PEERS;
    return n + (outside_leader(sw) != NULL);
}

/* Peer p's id (p < n_peers). */
static const char *sw_peer_id(const refraft_sweeper *sw, size_t p)
{
    const char *id = refraft_peer_id(sw->cfg.node, p);
    return id != NULL ? id : outside_leader(sw);
}

/* Peer p's data index as far as this node knows (0: not known).  A
 * leader has it from the AppendEntries results of its term; everyone
 * learns it from fetch answers. */
static refraft_index peer_data_index(const refraft_sweeper *sw, size_t p)
{
    refraft_index known = sw->peer_data[p];
    if (refraft_role(sw->cfg.node) == REFRAFT_LEADER) {
        refraft_peer_progress pr;
        if (refraft_peer_progress_get(sw->cfg.node, sw_peer_id(sw, p), &pr) ==
                0 &&
            pr.data_index > known)
            known = pr.data_index;
    }
    return known;
}

/*
 * The next peer to ask in w's round, or -1 when every peer was asked.
 * The leader comes first (it normally holds every record), then the
 * peers whose data index covers the entry or is not known, then the
 * others: a data index below the entry only says some earlier record is
 * missing there, not this one, and a record lost before commit leaves
 * every node's data index below it, so hole filling needs the answers of
 * those peers too.  The leader is looked up afresh each time, so a round
 * that began under an old leader turns to the new one next.
 */
static int pick_peer(const refraft_sweeper *sw, const struct sw_want *w)
{
    refraft_node *node = sw->cfg.node;
    size_t n = n_peers(sw);
    const char *leader = refraft_leader_id(node);
    if (leader != NULL && strcmp(leader, refraft_id(node)) != 0) {
        for (size_t p = 0; p < n; p++) {
            if (!(w->asked & (1u << p)) &&
                sw->peer_down_until[p] <= sw_now(sw) &&
                strcmp(sw_peer_id(sw, p), leader) == 0)
                return (int)p;
        }
    }
    uint64_t now = sw_now(sw);
    for (int tier = 0; tier < 3; tier++) {
        for (size_t p = 0; p < n; p++) {
            if (w->asked & (1u << p))
                continue;
            refraft_index known = peer_data_index(sw, p);
            bool likely = known == 0 || known >= w->index;
            int t = sw->peer_down_until[p] > now ? 2 : likely ? 0 : 1;
            if (t == tier)
                return (int)p;
        }
    }
    return -1;
}

static int fetch_start(refraft_sweeper *sw, struct sw_want *w, size_t p)
{
    refraft_node *node = sw->cfg.node;
    refraft_ref ref = sw_want_ref(w);
    struct sw_fetch *f = &sw->fetches[sw->n_fetch];
    f->want = (uint32_t)(w - sw->pool);
    f->token = sw->next_token++ << 32 | f->want;
    f->peer = (uint8_t)p;
    f->term = refraft_current_term(node);
    refraft_fetch_request req = {.token = f->token,
                                 .peer_id = sw_peer_id(sw, p),
                                 .ref = &ref,
                                 .index = w->index,
                                 .term = f->term};
    /* start() never answers from inside itself, so the fetch can be
     * counted before it is made and uncounted if it fails. */
    w->in_flight = true;
    w->token = f->token;
    w->fetch_pos = (uint32_t)sw->n_fetch;
    sw->n_fetch++;
    sw->stats.in_flight = sw->n_fetch;
    int rv = sw->cfg.fetcher.start(sw->cfg.fetcher.ctx, &req);
    if (rv != 0) {
        sw->n_fetch--;
        sw->stats.in_flight = sw->n_fetch;
        w->in_flight = false;
        return rv;
    }
    sw->n_started++;
    return 0;
}

/* ---- rounds ----------------------------------------------------------- */

/* Attempts-based exponential backoff: the wait before round a + 1 is
 * drawn from [b/2, b), b = backoff_min_ms * 2^(a - 1) capped at
 * backoff_max_ms; never 0, so a round with nobody to ask does not
 * spin. */
static void backoff(refraft_sweeper *sw, struct sw_want *w, uint64_t now)
{
    if (w->attempts < UINT32_MAX)
        w->attempts++;
    uint64_t b = sw->cfg.backoff_min_ms;
    for (uint32_t a = 1; a < w->attempts && b < sw->cfg.backoff_max_ms; a++)
        b *= 2;
    if (b > sw->cfg.backoff_max_ms)
        b = sw->cfg.backoff_max_ms;
    uint64_t half = b / 2, span = b - half;
    uint64_t wait = half + sw->cfg.random(sw->cfg.clock_ctx) % span;
    w->retry_at = now + (wait > 0 ? wait : 1);
}

/* An error stopped w's round (storing, reading the log): the record is
 * asked for again, from the leader on, after a backoff. */
static void retry_later(refraft_sweeper *sw, struct sw_want *w, uint64_t now)
{
    w->round_active = false;
    backoff(sw, w, now);
}

/* Whether a majority of the voters, this node included when it is one,
 * answered authoritatively in the current term that it lacks w's record.
 * This node lacks it (it is wanted) and vouches for that unless it lost
 * records it has not yet fetched again.  Learners' answers do not count:
 * a durable commit needs no learner's copy. */
static bool majority_absent(const refraft_sweeper *sw, const struct sw_want *w)
{
    const refraft_node *node = sw->cfg.node;
    refraft_term term = refraft_current_term(node);
    size_t n = n_peers(sw);
    bool self_voter = refraft_is_voter(node, refraft_id(node));
    size_t voters = self_voter;
    size_t count = self_voter && sw->cfg.lost_upto == 0 ? 1 : 0;
    for (size_t p = 0; p < n; p++) {
        if (!refraft_is_voter(node, sw_peer_id(sw, p)))
            continue;
        voters++;
        if (w->answer[p] == SW_ANS_ABSENT && w->answer_term[p] == term)
            count++;
    }
    return count >= voters / 2 + 1;
}

/* Whether this node, leading, may void w's entry now: uncommitted, the
 * durable policy (refraft_void), and a majority lacks the record. */
static bool voidable(const refraft_sweeper *sw, const struct sw_want *w)
{
    const refraft_node *node = sw->cfg.node;
    return refraft_role(node) == REFRAFT_LEADER &&
           w->index > refraft_commit_index(node) &&
           refraft_commit_policy_of(node) == REFRAFT_COMMIT_DURABLE &&
           majority_absent(sw, w);
}

static void report_unrecoverable(refraft_sweeper *sw, struct sw_want *w)
{
    if (w->unrecoverable)
        return;
    w->unrecoverable = true;
    sw->stats.unrecoverable++;
    if (sw->cfg.on_unrecoverable != NULL) {
        refraft_ref ref = sw_want_ref(w);
        sw->cfg.on_unrecoverable(sw->cfg.app_ctx, w->index, &ref);
    }
}

/*
 * Every peer was asked and none gave the record.  On the leader an
 * uncommitted entry whose record a majority lacks is voided (hole
 * filling, DESIGN.md "Records lost before commit"); a committed entry
 * that every answering peer lacks is reported unrecoverable, and stays
 * wanted: it is never skipped.  Either way the next round waits.
 * *dropped says whether w is gone.
 */
static void
end_round(refraft_sweeper *sw, struct sw_want *w, uint64_t now, bool *dropped)
{
    refraft_node *node = sw->cfg.node;
    refraft_index commit = refraft_commit_index(node);
    w->round_active = false;
    if (refraft_role(node) == REFRAFT_LEADER && w->index > commit) {
        refraft_index void_index;
        if (voidable(sw, w) && refraft_void(node, w->index, &void_index) == 0) {
            sw->stats.voided++;
            sw_want_drop(sw, w->index);
            *dropped = true;
            return;
        }
    } else if (w->index <= commit && w->round_answered && !w->round_bad) {
        report_unrecoverable(sw, w);
    }
    backoff(sw, w, now);
}

/* The record came another way (with an AppendEntries) while
 * fetch_delay_ms held the first round.  The node is told, in case
 * whoever stored it did not. */
static bool arrived_meanwhile(refraft_sweeper *sw, const struct sw_want *w)
{
    /* A record known lost was not waited for: nothing brings it but this
     * sweeper, and looking costs a read per record of a recovery. */
    if (!w->delayed || w->attempts > 0)
        return false;
    refraft_ref ref = sw_want_ref(w);
    bool present = false;
    if (sw->cfg.store.have(sw->cfg.store.ctx, &ref, 1, &present) != 0 ||
        !present)
        return false;
    /* A node that cannot take it now hears again at the next store. */
    int told = refraft_records_stored(sw->cfg.node);
    (void)told;
    return true;
}

/* Ask the next peer of w's round (beginning a round if none is under
 * way), or end the round when nobody is left. */
static void
advance(refraft_sweeper *sw, struct sw_want *w, uint64_t now, bool *dropped)
{
    *dropped = false;
    if (!w->round_active) {
        /* A VOID appended meanwhile (here or by the leader) settles it. */
        if (sw_abandoned(sw, w->index) || arrived_meanwhile(sw, w)) {
            sw_want_drop(sw, w->index);
            *dropped = true;
            return;
        }
        w->round_active = true;
        w->asked = 0;
        w->round_answered = false;
        w->round_bad = false;
    }
    for (;;) {
        /* A majority of absent answers decides; the peers not yet asked
         * (a dead leader, say) need not be waited for. */
        int p = voidable(sw, w) ? -1 : pick_peer(sw, w);
        if (p < 0) {
            end_round(sw, w, now, dropped);
            return;
        }
        if (sw->n_fetch >= sw->cfg.max_in_flight)
            return; /* the round goes on when a fetch slot frees */
        w->asked |= 1u << p;
        if (fetch_start(sw, w, (size_t)p) == 0)
            return;
        sw->stats.fetch_failures++; /* start() failed: FAILED at once */
    }
}

/* Start rounds for the wants at or past position from (index order)
 * that are due, while fetch slots are free. */
static void dispatch_from(refraft_sweeper *sw, size_t from, uint64_t now)
{
    size_t k = from;
    while (k < sw->n_want && sw->n_fetch < sw->cfg.max_in_flight) {
        struct sw_want *w = &sw->pool[sw->order[k]];
        if (w->in_flight || w->retry_at > now) {
            k++;
            continue;
        }
        bool dropped;
        advance(sw, w, now, &dropped);
        if (!dropped)
            k++;
    }
}

/* A leader serves the wants past its commit index first: they may need a
 * VOID, and until they are settled nothing after them commits; committed
 * records it lacks (after a wipe, say) only wait to be applied here. */
void sw_want_dispatch(refraft_sweeper *sw, uint64_t now)
{
    if (refraft_role(sw->cfg.node) == REFRAFT_LEADER)
        dispatch_from(
            sw, lower_bound(sw, refraft_commit_index(sw->cfg.node) + 1), now);
    dispatch_from(sw, 0, now);
}

void sw_want_flush(refraft_sweeper *sw, uint64_t started_before)
{
    if (sw->n_started != started_before && sw->cfg.fetcher.flush != NULL)
        sw->cfg.fetcher.flush(sw->cfg.fetcher.ctx);
}

uint64_t sw_want_next_retry(const refraft_sweeper *sw)
{
    uint64_t next = UINT64_MAX;
    if (sw->n_fetch >= sw->cfg.max_in_flight)
        return next;
    for (size_t k = 0; k < sw->n_want; k++) {
        const struct sw_want *w = &sw->pool[sw->order[k]];
        if (!w->in_flight && w->retry_at < next)
            next = w->retry_at;
    }
    return next;
}

/* ---- answers ----------------------------------------------------------
 *
 * refraft_sweeper_on_fetches() takes a batch of answers in three steps:
 * note each answer (verifying the bytes of an OK one), store the records
 * that verified and are still wanted, all in one store.put_batch, and
 * ask the next peer for the records whose answers said no.  Storing the
 * batch together is the point: a recovery then costs one sync per batch,
 * not one per record.  Nothing in the first two steps starts a fetch, so
 * the answers of one batch cannot be mixed up with fetches it started.
 */

static void
note_answer(struct sw_want *w, const struct sw_fetch *f, uint8_t answer)
{
    w->answer[f->peer] = answer;
    w->answer_term[f->peer] = f->term;
    if (answer == SW_ANS_BAD)
        w->round_bad = true;
    else
        w->round_answered = true;
}

/*
 * Take one answer: its fetch is over and the peer's state is noted.  An
 * OK answer whose bytes verify is kept in sw->taken for storing; any
 * other is noted in its want's round.  Unknown and cancelled tokens are
 * ignored, and so is a fetch that is not its want's current one (never
 * seen: a want has one fetch at a time, and dropping it removes the
 * fetch).  Returns 0, or REFRAFT_ENOMEM when the digest could not be
 * computed (the record is then asked for again).
 */
static int take_answer(refraft_sweeper *sw, const refraft_fetch_result *r,
                       uint64_t now, size_t *n_taken)
{
    size_t k = fetch_find(sw, r->token);
    if (k == sw->n_fetch)
        return 0; /* cancelled, or never ours */
    struct sw_fetch f = sw->fetches[k];
    fetch_remove(sw, k);
    struct sw_want *w = &sw->pool[f.want];
    if (!w->in_flight || w->token != f.token)
        return 0;
    w->in_flight = false;
    if (r->peer_data_index != 0)
        sw->peer_data[f.peer] = r->peer_data_index;
    bool answered = r->status == REFRAFT_FETCH_OK ||
                    r->status == REFRAFT_FETCH_ABSENT ||
                    r->status == REFRAFT_FETCH_UNKNOWN;
    /* A peer that answered at all is up; one that did not is asked last
     * for a while. */
    sw->peer_down_until[f.peer] = answered ? 0 : now + sw->cfg.interval_ms;
    struct sw_taken *t = &sw->taken[(*n_taken)++];
    *t = (struct sw_taken){.want = f.want, .index = w->index};

    switch (r->status) {
    case REFRAFT_FETCH_OK: {
        refraft_ref ref = sw_want_ref(w);
        bool ok;
        int rv = sw_digest_check(&ref, r->bytes, r->len, &ok);
        if (rv != 0) {
            retry_later(sw, w, now);
            return rv;
        }
        if (ok) {
            t->bytes = r->bytes != NULL ? r->bytes : "";
            t->len = r->len;
            return 0;
        }
        sw->stats.digest_failures++;
        note_answer(w, &f, SW_ANS_BAD);
        break;
    }
    case REFRAFT_FETCH_ABSENT:
        note_answer(w, &f, SW_ANS_ABSENT);
        break;
    case REFRAFT_FETCH_UNKNOWN:
        note_answer(w, &f, SW_ANS_UNKNOWN);
        break;
    default: /* REFRAFT_FETCH_FAILED, or a status we do not know */
        sw->stats.fetch_failures++;
        break;
    }
    return 0;
}

/*
 * Whether the log (or, below it, the reference state in lost mode) still
 * wants w's record, whose bytes verified: the entry at its index may
 * have been truncated and replaced, or abandoned by a VOID meanwhile (a
 * late copy is ignored), or the record may have arrived another way.  A want no
 * longer wanted is dropped; one whose entry could not be read is asked for
 * again (the error is returned).
 */
/* For a batch of answers: the log's base and the snapshot part's keep
 * (sw_log_base, sw_snapshot_keep), and its entries [first, first + n) in
 * sw->entries, read at once (n 0: none; each is read on its own). */
struct log_window {
    refraft_index base, keep;
    refraft_index first;
    size_t n;
};

/* Whether still_wanted() decides on w from lw alone, with no log call. */
static bool in_window(const struct log_window *lw, refraft_index index)
{
    return index <= lw->base ||
           (index >= lw->first && index - lw->first < lw->n);
}

static int still_wanted(refraft_sweeper *sw, const struct log_window *lw,
                        struct sw_want *w, uint64_t now, bool *wanted)
{
    *wanted = false;
    refraft_index index = w->index;
    /* Below the log: the snapshot part's want, named by the reference
     * state, which never drops a reference it holds. */
    if (index <= lw->base) {
        if (index <= lw->keep)
            *wanted = true;
        else
            sw_want_drop(sw, index);
        return 0;
    }
    refraft_entry e;
    size_t n = 0;
    int rv = 0;
    if (index >= lw->first && index - lw->first < lw->n) {
        e = sw->entries[index - lw->first];
        n = 1;
    } else {
        rv = sw->cfg.log.get(sw->cfg.log.ctx, index, 1, &e, &n);
    }
    if (rv == REFRAFT_ENOTFOUND || (rv == 0 && n == 0)) {
        sw_want_drop(sw, index);
        return 0;
    }
    if (rv != 0) {
        retry_later(sw, w, now);
        return rv;
    }
    refraft_ref ref = sw_want_ref(w);
    if (e.type != REFRAFT_ENTRY_REF || !refraft_ref_equal(&e.ref, &ref) ||
        sw_abandoned(sw, index) || index <= sw_floor(sw)) {
        sw_want_drop(sw, index);
        return 0;
    }
    *wanted = true;
    return 0;
}

/* Put the m records gathered in sw->put_refs: in one durable write when
 * the store can, else one by one.  sw->put_results gets each one's
 * outcome. */
static void put_records(refraft_sweeper *sw, size_t m)
{
    const refraft_record_store *st = &sw->cfg.store;
    if (st->put_batch != NULL) {
        int rv = st->put_batch(st->ctx, sw->put_refs, sw->put_bytes, m,
                               sw->put_results);
        /* A failed write stored none, whatever results says. */
        for (size_t i = 0; rv != 0 && i < m; i++)
            sw->put_results[i] = rv;
        return;
    }
    for (size_t i = 0; i < m; i++)
        sw->put_results[i] =
            st->put(st->ctx, &sw->put_refs[i], sw->put_bytes[i],
                    (size_t)sw->put_refs[i].size);
}

/*
 * Store the records of the batch that verified and are still wanted,
 * then tell the node once, which advances its data index and reports it
 * to the leader at once.  A record that could not be stored is asked for
 * again after a backoff.  Returns the first error.
 */
/*
 * Read at once the log entries the answers that verified name, when they
 * fit sw->entries (a fetch request asks for records in index order, so
 * a batch's usually do): one log read rather than one per answer.  The
 * entries' ids stay valid until the next log call, so store_taken()
 * looks at every answer in_window() before it reads any other.
 */
static struct log_window read_window(refraft_sweeper *sw, size_t n_taken)
{
    refraft_index base = sw_log_base(sw);
    struct log_window lw = {base, sw_snapshot_keep(sw), 0, 0};
    refraft_index lo = UINT64_MAX, hi = 0;
    for (size_t j = 0; j < n_taken; j++) {
        refraft_index index = sw->taken[j].index;
        if (sw->taken[j].bytes == NULL || index <= base)
            continue;
        lo = index < lo ? index : lo;
        hi = index > hi ? index : hi;
    }
    if (hi == 0 || hi - lo >= sw->cfg.scan_batch)
        return lw;
    size_t got = 0;
    if (sw->cfg.log.get(sw->cfg.log.ctx, lo, (size_t)(hi - lo + 1), sw->entries,
                        &got) == 0 &&
        got <= hi - lo + 1)
        lw = (struct log_window){base, lw.keep, lo, got};
    return lw;
}

static int store_taken(refraft_sweeper *sw, size_t n_taken, uint64_t now)
{
    int first_rv = 0;
    size_t m = 0;
    struct log_window lw = read_window(sw, n_taken);
    /* Twice: the answers the window decides on, then the others. */
    for (size_t k = 0; k < 2 * n_taken; k++) {
        size_t j = k % n_taken;
        struct sw_taken *t = &sw->taken[j];
        if (t->bytes == NULL || in_window(&lw, t->index) != (k < n_taken))
            continue;
        struct sw_want *w = &sw->pool[t->want];
        bool wanted;
        int rv = still_wanted(sw, &lw, w, now, &wanted);
        if (first_rv == 0)
            first_rv = rv;
        if (!wanted)
            continue;
        /* The id points into w, which stays put: nothing below adds a
         * want, so the pool does not move. */
        sw->put_refs[m] = sw_want_ref(w);
        sw->put_bytes[m] = t->bytes;
        sw->put_taken[m] = (uint32_t)j;
        m++;
    }
    if (m == 0)
        return first_rv;
    put_records(sw, m);
    size_t stored = 0;
    for (size_t i = 0; i < m; i++) {
        struct sw_taken *t = &sw->taken[sw->put_taken[i]];
        struct sw_want *w = &sw->pool[t->want];
        int rv = sw->put_results[i];
        if (rv == 0) {
            sw->stats.fetched++;
            sw->stats.bytes_fetched += t->len;
            sw_want_drop(sw, t->index);
            stored++;
            continue;
        }
        /* Another record holds the id: a discarded entry's, collected at
         * the next tick; the retry then stores this one. */
        if (rv == REFRAFT_EDIGEST && sw_orphan_hasten(sw, &sw->put_refs[i]))
            rv = 0;
        retry_later(sw, w, now);
        if (first_rv == 0)
            first_rv = rv;
    }
    if (stored > 0) {
        /* One of them may be the last lost record: the next tick, due at
         * once, ends lost mode then. */
        if (sw->cfg.lost_upto != 0)
            sw->kicked = true;
        int rv = refraft_records_stored(sw->cfg.node);
        if (first_rv == 0)
            first_rv = rv;
    }
    return first_rv;
}

/* Ask the next peer of each round an answer of the batch left going:
 * its fetch's slot just came free.  A want dropped meanwhile, or
 * stored, is not there any more under its index and is skipped. */
static void advance_taken(refraft_sweeper *sw, size_t n_taken, uint64_t now)
{
    for (size_t j = 0; j < n_taken; j++) {
        const struct sw_taken *t = &sw->taken[j];
        if (t->bytes != NULL)
            continue;
        struct sw_want *w = &sw->pool[t->want];
        if (sw_want_find(sw, t->index) != w || w->in_flight || !w->round_active)
            continue;
        bool dropped;
        advance(sw, w, now, &dropped);
    }
}

int refraft_sweeper_on_fetches(refraft_sweeper *sw,
                               const refraft_fetch_result *results, size_t n)
{
    if (sw == NULL || (results == NULL && n > 0))
        return REFRAFT_EINVAL;
    uint64_t now = sw_now(sw);
    uint64_t started = sw->n_started;
    sw_want_follow_config(sw);
    int first_rv = 0;
    size_t n_taken = 0;
    for (size_t i = 0; i < n; i++) {
        int rv = take_answer(sw, &results[i], now, &n_taken);
        if (first_rv == 0)
            first_rv = rv;
    }
    int rv = store_taken(sw, n_taken, now);
    if (first_rv == 0)
        first_rv = rv;
    advance_taken(sw, n_taken, now);
    sw_want_flush(sw, started);
    return first_rv;
}

int refraft_sweeper_on_fetch(refraft_sweeper *sw,
                             const refraft_fetch_result *result)
{
    if (sw == NULL || result == NULL)
        return REFRAFT_EINVAL;
    return refraft_sweeper_on_fetches(sw, result, 1);
}
