/* drill_check.c - the drill's checker: the five rules drill.h states, run
 * over what a drill gathered.
 *
 * Cost: every rule is linear in the ops and the log entries, up to the
 * sorts (op ids for the REF look-ups, acknowledgement and start times for
 * the real-time order): O(ops log ops + nodes x entries log ops). */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

#define R_ACKED "acknowledged-present"
#define R_PHANTOM "no-phantom"
#define R_ONE "one-entry-per-index"
#define R_FAILED "failed-absent"
#define R_ORDER "real-time-order"

/* ---- violations -------------------------------------------------------- */

typedef struct sink {
    drill_violation *out;
    size_t max, n;
} sink;

static void emit(sink *s, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit(sink *s, const char *rule, const char *fmt, ...)
{
    if (s->out != NULL && s->n < s->max) {
        drill_violation *v = &s->out[s->n];
        snprintf(v->rule, sizeof(v->rule), "%s", rule);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
        va_end(ap);
    }
    s->n++;
}

/* ---- names in details -------------------------------------------------- */

/* Ids are NUL-terminated when they fit; never read past the array. */
static int idlen(const char *id)
{
    return (int)strnlen(id, DRILL_ID_MAX);
}

static int idcmp(const char *a, const char *b)
{
    return strncmp(a, b, DRILL_ID_MAX);
}

typedef struct label {
    char s[128];
} label;

static label node_name(const drill_result *r, size_t n)
{
    label l;
    const char *id = r->nodes[n].id;
    size_t len = strnlen(id, sizeof(r->nodes[n].id));
    if (len > 0)
        snprintf(l.s, sizeof(l.s), "%.*s", (int)len, id);
    else
        snprintf(l.s, sizeof(l.s), "node %zu", n + 1);
    return l;
}

/* The first 8 bytes of a digest in hex: enough to tell two apart. */
typedef struct hex8 {
    char s[17];
} hex8;

static hex8 short_digest(const uint8_t d[CLI_SHA256_LEN])
{
    hex8 l;
    cli_hex(d, 8, l.s);
    return l;
}

static const char *type_name(drill_entry_type t)
{
    switch (t) {
    case DRILL_NOOP:
        return "NOOP";
    case DRILL_REF:
        return "REF";
    case DRILL_VOID:
        return "VOID";
    case DRILL_CONFIG:
        return "CONFIG";
    }
    return "entry of unknown type";
}

/* ---- what every rule needs --------------------------------------------- */

typedef struct ctx {
    const drill_result *r;
    size_t n_nodes;
    /* Per node: the last index both committed and read (min(commit
     * index, log length)), and, when a VOID at or below it abandons
     * anything, void_of[k]: the index of the first such VOID abandoning
     * k (0: none), for k up to top. */
    uint64_t *top;
    uint64_t **void_of;
} ctx;

static void ctx_free(ctx *c)
{
    for (size_t n = 0; c->void_of != NULL && n < c->n_nodes; n++)
        free(c->void_of[n]);
    free(c->void_of);
    free(c->top);
}

static int ctx_init(ctx *c, const drill_result *r)
{
    memset(c, 0, sizeof(*c));
    c->r = r;
    c->n_nodes = r->nodes != NULL ? r->n_nodes : 0;
    if (c->n_nodes == 0)
        return 0;
    c->top = calloc(c->n_nodes, sizeof(*c->top));
    c->void_of = calloc(c->n_nodes, sizeof(*c->void_of));
    if (c->top == NULL || c->void_of == NULL)
        return -1;
    for (size_t n = 0; n < c->n_nodes; n++) {
        const drill_node_view *v = &r->nodes[n];
        uint64_t top = v->log != NULL ? v->log_len : 0;
        if (v->commit_index < top)
            top = v->commit_index;
        c->top[n] = top;
        for (uint64_t i = 1; i <= top; i++) {
            const drill_entry *e = &v->log[i - 1];
            /* A VOID abandons an index below its own (anything else is
             * malformed and abandons nothing). */
            if (e->type != DRILL_VOID || e->voided == 0 || e->voided >= i)
                continue;
            if (c->void_of[n] == NULL) {
                c->void_of[n] = calloc(top + 1, sizeof(uint64_t));
                if (c->void_of[n] == NULL)
                    return -1;
            }
            if (c->void_of[n][e->voided] == 0)
                c->void_of[n][e->voided] = i;
        }
    }
    return 0;
}

/* The committed VOID abandoning index k on node n, or 0. */
static uint64_t voided_by(const ctx *c, size_t n, uint64_t k)
{
    if (c->void_of[n] == NULL || k == 0 || k > c->top[n])
        return 0;
    return c->void_of[n][k];
}

/* ---- acknowledged-present ---------------------------------------------- */

/* Op k on every node: its record (returned, same digest) and its REF
 * entry (at its index, naming id, size and digest, committed).  A REF a
 * committed VOID abandons is not present: the write is lost. */
static void check_acked(const ctx *c, size_t k, sink *s)
{
    const drill_result *r = c->r;
    const drill_op *op = &r->ops[k];
    if (op->outcome != DRILL_ACKED)
        return;
    int il = idlen(op->id);
    if (op->index == 0) {
        emit(s, R_ACKED, "op %.*s: acknowledged without an index", il, op->id);
        return;
    }
    for (size_t n = 0; n < c->n_nodes; n++) {
        const drill_node_view *v = &r->nodes[n];
        label nn = node_name(r, n);
        if (v->has_record == NULL || !v->has_record[k])
            emit(s, R_ACKED, "op %.*s (index %" PRIu64 "): %s has no record",
                 il, op->id, op->index, nn.s);
        else if (v->record_digest == NULL ||
                 memcmp(v->record_digest[k], op->digest, CLI_SHA256_LEN) != 0)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): %s returned a record with "
                 "digest %s, the op wrote %s",
                 il, op->id, op->index, nn.s,
                 v->record_digest != NULL ? short_digest(v->record_digest[k]).s
                                          : "(none)",
                 short_digest(op->digest).s);

        uint64_t len = v->log != NULL ? v->log_len : 0;
        if (op->index > len) {
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): %s's log ends at index %" PRIu64,
                 il, op->id, op->index, nn.s, len);
            continue;
        }
        const drill_entry *e = &v->log[op->index - 1];
        if (e->type != DRILL_REF)
            emit(s, R_ACKED, "op %.*s (index %" PRIu64 "): %s holds a %s there",
                 il, op->id, op->index, nn.s, type_name(e->type));
        else if (idcmp(e->id, op->id) != 0)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): %s's REF there names %.*s", il,
                 op->id, op->index, nn.s, idlen(e->id), e->id);
        else if (e->size != op->size)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): %s's REF there has size %" PRIu64
                 ", the op wrote %" PRIu64,
                 il, op->id, op->index, nn.s, e->size, op->size);
        else if (memcmp(e->digest, op->digest, CLI_SHA256_LEN) != 0)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): %s's REF there has digest %s, "
                 "the op wrote %s",
                 il, op->id, op->index, nn.s, short_digest(e->digest).s,
                 short_digest(op->digest).s);

        uint64_t vo;
        if (op->index > v->commit_index)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64
                 "): above %s's commit index %" PRIu64,
                 il, op->id, op->index, nn.s, v->commit_index);
        else if ((vo = voided_by(c, n, op->index)) != 0)
            emit(s, R_ACKED,
                 "op %.*s (index %" PRIu64 "): abandoned on %s by the VOID at "
                 "index %" PRIu64,
                 il, op->id, op->index, nn.s, vo);
    }
}

/* ---- one-entry-per-index ----------------------------------------------- */

/* The first field in which two entries differ, or NULL. */
static const char *entry_diff(const drill_entry *a, const drill_entry *b)
{
    if (a->term != b->term)
        return "term";
    if (a->type != b->type)
        return "type";
    if (a->type == DRILL_REF) {
        if (idcmp(a->id, b->id) != 0)
            return "id";
        if (a->size != b->size)
            return "size";
        if (memcmp(a->digest, b->digest, CLI_SHA256_LEN) != 0)
            return "digest";
    }
    if (a->type == DRILL_VOID && a->voided != b->voided)
        return "voided index";
    if (a->type == DRILL_CONFIG &&
        memcmp(a->digest, b->digest, CLI_SHA256_LEN) != 0)
        return "member list";
    return NULL;
}

/* An entry for a detail: term and type, a REF's id, and the field that
 * differs when it is the size or the digest. */
static label describe(const drill_entry *e, const char *what)
{
    label l;
    if (e->type == DRILL_REF) {
        int n = snprintf(l.s, sizeof(l.s), "term %" PRIu64 " REF %.*s", e->term,
                         idlen(e->id), e->id);
        size_t at = n > 0 && (size_t)n < sizeof(l.s) ? (size_t)n : 0;
        if (strcmp(what, "size") == 0)
            snprintf(l.s + at, sizeof(l.s) - at, " size %" PRIu64, e->size);
        else if (strcmp(what, "digest") == 0)
            snprintf(l.s + at, sizeof(l.s) - at, " digest %s",
                     short_digest(e->digest).s);
    } else if (e->type == DRILL_VOID) {
        snprintf(l.s, sizeof(l.s), "term %" PRIu64 " VOID(%" PRIu64 ")",
                 e->term, e->voided);
    } else {
        snprintf(l.s, sizeof(l.s), "term %" PRIu64 " %s", e->term,
                 type_name(e->type));
    }
    return l;
}

/* Nodes that both committed index i must hold the same entry there.  One
 * violation per index: the first node holding it against each that
 * differs from it, the first of them named. */
static void check_one_entry(const ctx *c, sink *s)
{
    const drill_result *r = c->r;
    uint64_t maxtop = 0;
    for (size_t n = 0; n < c->n_nodes; n++)
        if (c->top[n] > maxtop)
            maxtop = c->top[n];
    for (uint64_t i = 1; i <= maxtop; i++) {
        size_t ref = SIZE_MAX, other = SIZE_MAX, ndiff = 0, holders = 0;
        const char *what = NULL;
        for (size_t n = 0; n < c->n_nodes; n++) {
            if (c->top[n] < i)
                continue;
            holders++;
            if (ref == SIZE_MAX) {
                ref = n;
                continue;
            }
            const char *d =
                entry_diff(&r->nodes[ref].log[i - 1], &r->nodes[n].log[i - 1]);
            if (d == NULL)
                continue;
            if (ndiff++ == 0) {
                other = n;
                what = d;
            }
        }
        if (ndiff == 0)
            continue;
        const drill_entry *a = &r->nodes[ref].log[i - 1];
        const drill_entry *b = &r->nodes[other].log[i - 1];
        emit(s, R_ONE,
             "index %" PRIu64 " (committed on both): %s differs: %s holds %s"
             ", %s holds %s (%zu of %zu other nodes differ from %s)",
             i, what, node_name(r, ref).s, describe(a, what).s,
             node_name(r, other).s, describe(b, what).s, ndiff, holders - 1,
             node_name(r, ref).s);
    }
}

/* ---- no-phantom and failed-absent -------------------------------------- */

/* The ops sorted by (id, digest, failed last): a committed REF looks up
 * its (id, digest); the first op it finds tells whether any op that did
 * not fail wrote that record. */
typedef struct idref {
    const drill_op *op;
} idref;

static int failed_rank(const drill_op *op)
{
    return op->outcome == DRILL_FAILED ? 1 : 0;
}

static int cmp_key(const char *id, const uint8_t *digest, const drill_op *op)
{
    int d = idcmp(id, op->id);
    if (d != 0)
        return d;
    return memcmp(digest, op->digest, CLI_SHA256_LEN);
}

static int cmp_idref(const void *pa, const void *pb)
{
    const drill_op *a = ((const idref *)pa)->op;
    const drill_op *b = ((const idref *)pb)->op;
    int d = cmp_key(a->id, a->digest, b);
    if (d != 0)
        return d;
    d = failed_rank(a) - failed_rank(b);
    if (d != 0)
        return d;
    return a < b ? -1 : a > b;
}

/* The first position whose op is not below (id, digest). */
static size_t
lower_bound(const idref *ids, size_t n, const char *id, const uint8_t *digest)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(id, digest, ids[mid].op) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int check_refs(const ctx *c, sink *s)
{
    const drill_result *r = c->r;
    idref *ids = NULL;
    if (r->n_ops > 0) {
        ids = malloc(r->n_ops * sizeof(*ids));
        if (ids == NULL)
            return -1;
    }
    for (size_t k = 0; k < r->n_ops; k++)
        ids[k].op = &r->ops[k];
    if (r->n_ops > 1)
        qsort(ids, r->n_ops, sizeof(*ids), cmp_idref);

    for (size_t n = 0; n < c->n_nodes; n++) {
        const drill_node_view *v = &r->nodes[n];
        for (uint64_t i = 1; i <= c->top[n]; i++) {
            const drill_entry *e = &v->log[i - 1];
            if (e->type != DRILL_REF || voided_by(c, n, i) != 0)
                continue;
            size_t p = lower_bound(ids, r->n_ops, e->id, e->digest);
            const drill_op *hit =
                p < r->n_ops && cmp_key(e->id, e->digest, ids[p].op) == 0
                    ? ids[p].op
                    : NULL;
            if (hit != NULL && hit->outcome != DRILL_FAILED)
                continue;
            label nn = node_name(r, n);
            if (hit != NULL) {
                emit(s, R_FAILED,
                     "op %.*s failed, but %s holds its REF at committed "
                     "index %" PRIu64,
                     idlen(hit->id), hit->id, nn.s, i);
                continue;
            }
            /* An op of that id with another digest sorts next to p. */
            const drill_op *same = NULL;
            if (p < r->n_ops && idcmp(ids[p].op->id, e->id) == 0)
                same = ids[p].op;
            else if (p > 0 && idcmp(ids[p - 1].op->id, e->id) == 0)
                same = ids[p - 1].op;
            if (same != NULL)
                emit(s, R_PHANTOM,
                     "%s index %" PRIu64 " (committed): REF %.*s has digest "
                     "%s, the op wrote %s",
                     nn.s, i, idlen(e->id), e->id, short_digest(e->digest).s,
                     short_digest(same->digest).s);
            else
                emit(s, R_PHANTOM,
                     "%s index %" PRIu64 " (committed): REF %.*s names no "
                     "record the workload wrote",
                     nn.s, i, idlen(e->id), e->id);
        }
    }
    free(ids);
    return 0;
}

/* ---- real-time-order --------------------------------------------------- */

typedef struct timed {
    uint64_t t;
    size_t k;
} timed;

static int cmp_timed(const void *pa, const void *pb)
{
    const timed *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->k < b->k ? -1 : a->k > b->k;
}

/* For each acknowledged B, in start order: the highest index among the
 * ops acknowledged strictly before B started must be below B's.  Ops
 * acknowledged without an index are left to "acknowledged-present". */
static int check_order(const ctx *c, sink *s)
{
    const drill_result *r = c->r;
    size_t m = 0;
    for (size_t k = 0; k < r->n_ops; k++)
        if (r->ops[k].outcome == DRILL_ACKED && r->ops[k].index > 0)
            m++;
    if (m < 2)
        return 0;
    timed *by_end = malloc(m * sizeof(*by_end));
    timed *by_start = malloc(m * sizeof(*by_start));
    if (by_end == NULL || by_start == NULL) {
        free(by_end);
        free(by_start);
        return -1;
    }
    size_t j = 0;
    for (size_t k = 0; k < r->n_ops; k++) {
        const drill_op *op = &r->ops[k];
        if (op->outcome != DRILL_ACKED || op->index == 0)
            continue;
        by_end[j] = (timed){op->end_ms, k};
        by_start[j] = (timed){op->start_ms, k};
        j++;
    }
    qsort(by_end, m, sizeof(*by_end), cmp_timed);
    qsort(by_start, m, sizeof(*by_start), cmp_timed);

    size_t e = 0, best = SIZE_MAX; /* best: the highest index acked so far */
    for (size_t b = 0; b < m; b++) {
        const drill_op *B = &r->ops[by_start[b].k];
        for (; e < m && by_end[e].t < B->start_ms; e++)
            if (best == SIZE_MAX ||
                r->ops[by_end[e].k].index > r->ops[best].index)
                best = by_end[e].k;
        if (best == SIZE_MAX || best == by_start[b].k)
            continue;
        const drill_op *A = &r->ops[best];
        if (A->index < B->index)
            continue;
        emit(s, R_ORDER,
             "op %.*s (index %" PRIu64 ", started at %" PRIu64
             " ms) comes after op %.*s (index %" PRIu64
             ", acknowledged at %" PRIu64 " ms)",
             idlen(B->id), B->id, B->index, B->start_ms, idlen(A->id), A->id,
             A->index, A->end_ms);
    }
    free(by_end);
    free(by_start);
    return 0;
}

/* ---- entry points ------------------------------------------------------ */

size_t drill_check(const drill_result *r, drill_violation *out, size_t max)
{
    sink s = {out, max, 0};
    ctx c;
    if (ctx_init(&c, r) != 0)
        goto oom;
    for (size_t k = 0; k < r->n_ops; k++)
        check_acked(&c, k, &s);
    check_one_entry(&c, &s);
    if (check_refs(&c, &s) != 0 || check_order(&c, &s) != 0)
        goto oom;
    ctx_free(&c);
    return s.n;
oom:
    /* Never a clean pass that did not check everything. */
    ctx_free(&c);
    emit(&s, "checker", "out of memory: the check did not complete");
    return s.n;
}

size_t drill_check_lost(const drill_result *r, bool *lost)
{
    ctx c;
    if (ctx_init(&c, r) != 0) {
        ctx_free(&c);
        return SIZE_MAX;
    }
    size_t n = 0;
    for (size_t k = 0; k < r->n_ops; k++) {
        sink s = {NULL, 0, 0};
        check_acked(&c, k, &s);
        lost[k] = s.n > 0;
        n += lost[k];
    }
    ctx_free(&c);
    return n;
}
