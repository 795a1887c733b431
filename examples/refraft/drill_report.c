/* drill_report.c - the drill's report: the summary table, the JSON
 * document and the SVG timeline of a scenario (drill.h).
 *
 * A fault belongs to the first scenario whose window [start, end] holds
 * its start, an op to the first one holding its start.  Throughput is a
 * rate over the scenario's window: the acknowledgements ending in it,
 * split by whether they end inside one of its faults' windows (clipped
 * to the scenario, overlaps counted once), over the seconds of each
 * part. */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

/* ---- figures ----------------------------------------------------------- */

typedef struct figures {
    size_t faults, recovered; /* recovered: faults with recovered_ms */
    size_t ops, acked, lost;
    double rec_median;
    uint64_t rec_max;
    uint64_t fault_ms, outside_ms; /* the window split in two */
    size_t acks_during, acks_outside;
} figures;

typedef struct fspan {
    uint64_t a, b;
} fspan;

static size_t scenario_of(const drill_result *r, uint64_t t)
{
    for (size_t s = 0; s < r->n_scenarios; s++)
        if (r->scenarios[s].start_ms <= t && t <= r->scenarios[s].end_ms)
            return s;
    return SIZE_MAX;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

static int cmp_span(const void *pa, const void *pb)
{
    const fspan *a = pa, *b = pb;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

static uint64_t recovery_of(const drill_fault *f)
{
    return f->recovered_ms > f->end_ms ? f->recovered_ms - f->end_ms : 0;
}

/* Median and max of n recovery times (sorted here). */
static void recovery_stats(uint64_t *rec, size_t n, figures *f)
{
    f->recovered = n;
    if (n == 0)
        return;
    qsort(rec, n, sizeof(*rec), cmp_u64);
    f->rec_max = rec[n - 1];
    f->rec_median = n % 2 == 1
                        ? (double)rec[n / 2]
                        : ((double)rec[n / 2 - 1] + (double)rec[n / 2]) / 2;
}

/* Whether t falls in one of the merged, sorted spans. */
static bool in_spans(const fspan *sp, size_t n, uint64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp[mid].b < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && sp[lo].a <= t;
}

/* Scenario s's figures; lost[k] from drill_check_lost. */
static int
scenario_figures(const drill_result *r, size_t s, const bool *lost, figures *f)
{
    memset(f, 0, sizeof(*f));
    const drill_scenario_run *sc = &r->scenarios[s];
    uint64_t *rec = NULL;
    fspan *sp = NULL;
    if (r->n_faults > 0) {
        rec = malloc(r->n_faults * sizeof(*rec));
        sp = malloc(r->n_faults * sizeof(*sp));
        if (rec == NULL || sp == NULL) {
            free(rec);
            free(sp);
            errno = ENOMEM;
            return -1;
        }
    }
    size_t nrec = 0, nsp = 0;
    for (size_t i = 0; i < r->n_faults; i++) {
        const drill_fault *fa = &r->faults[i];
        if (scenario_of(r, fa->start_ms) != s)
            continue;
        f->faults++;
        if (fa->recovered_ms > 0)
            rec[nrec++] = recovery_of(fa);
        uint64_t a = fa->start_ms,
                 b = fa->end_ms < sc->end_ms ? fa->end_ms : sc->end_ms;
        if (a <= b)
            sp[nsp++] = (fspan){a, b};
    }
    recovery_stats(rec, nrec, f);

    /* Merge the fault windows: overlaps count once. */
    size_t m = 0;
    if (nsp > 0) {
        qsort(sp, nsp, sizeof(*sp), cmp_span);
        for (size_t i = 1; i < nsp; i++) {
            if (sp[i].a <= sp[m].b) {
                if (sp[i].b > sp[m].b)
                    sp[m].b = sp[i].b;
            } else {
                sp[++m] = sp[i];
            }
        }
        m++;
    }
    for (size_t i = 0; i < m; i++)
        f->fault_ms += sp[i].b - sp[i].a;
    uint64_t len = sc->end_ms > sc->start_ms ? sc->end_ms - sc->start_ms : 0;
    f->outside_ms = len > f->fault_ms ? len - f->fault_ms : 0;

    for (size_t k = 0; k < r->n_ops; k++) {
        const drill_op *op = &r->ops[k];
        if (scenario_of(r, op->start_ms) == s) {
            f->ops++;
            if (op->outcome == DRILL_ACKED) {
                f->acked++;
                f->lost += lost[k];
            }
        }
        if (op->outcome == DRILL_ACKED && sc->start_ms <= op->end_ms &&
            op->end_ms <= sc->end_ms) {
            if (in_spans(sp, m, op->end_ms))
                f->acks_during++;
            else
                f->acks_outside++;
        }
    }
    free(rec);
    free(sp);
    return 0;
}

/* Every scenario's figures and, in figs[n_scenarios], the whole drill's:
 * counts and seconds summed, recovery over every fault, lost over every
 * op.  lost_out: the per-op flags (the caller frees both). */
static int
all_figures(const drill_result *r, figures **figs_out, bool **lost_out)
{
    figures *figs = calloc(r->n_scenarios + 1, sizeof(*figs));
    bool *lost = calloc(r->n_ops + 1, sizeof(*lost));
    uint64_t *rec = calloc(r->n_faults + 1, sizeof(*rec));
    if (figs == NULL || lost == NULL || rec == NULL)
        goto oom;
    size_t n_lost = drill_check_lost(r, lost);
    if (n_lost == SIZE_MAX)
        goto oom;
    figures *t = &figs[r->n_scenarios];
    for (size_t s = 0; s < r->n_scenarios; s++) {
        figures *f = &figs[s];
        if (scenario_figures(r, s, lost, f) != 0)
            goto oom;
        t->fault_ms += f->fault_ms;
        t->outside_ms += f->outside_ms;
        t->acks_during += f->acks_during;
        t->acks_outside += f->acks_outside;
    }
    size_t nrec = 0;
    for (size_t i = 0; i < r->n_faults; i++)
        if (r->faults[i].recovered_ms > 0)
            rec[nrec++] = recovery_of(&r->faults[i]);
    recovery_stats(rec, nrec, t);
    t->faults = r->n_faults;
    t->ops = r->n_ops;
    for (size_t k = 0; k < r->n_ops; k++)
        t->acked += r->ops[k].outcome == DRILL_ACKED;
    t->lost = n_lost;
    free(rec);
    *figs_out = figs;
    *lost_out = lost;
    return 0;
oom:
    free(figs);
    free(lost);
    free(rec);
    errno = ENOMEM;
    return -1;
}

/* Acknowledgements per second, or false when the part lasted no time. */
static bool rate(size_t acks, uint64_t ms, double *out)
{
    if (ms == 0)
        return false;
    *out = (double)acks * 1000.0 / (double)ms;
    return true;
}

static int finish(FILE *out)
{
    if (fflush(out) != 0 || ferror(out)) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

static size_t name_len(const char *s, size_t cap)
{
    return strnlen(s, cap);
}

/* ---- the table --------------------------------------------------------- */

#define T_COLS 9
#define T_CELL 48

static void fmt_ms(char *cell, bool have, double ms)
{
    if (!have)
        snprintf(cell, T_CELL, "-");
    else if (ms == (double)(uint64_t)ms)
        snprintf(cell, T_CELL, "%" PRIu64 " ms", (uint64_t)ms);
    else
        snprintf(cell, T_CELL, "%.1f ms", ms);
}

static void fmt_rate(char *cell, size_t acks, uint64_t ms)
{
    double v;
    if (rate(acks, ms, &v))
        snprintf(cell, T_CELL, "%.1f", v);
    else
        snprintf(cell, T_CELL, "-");
}

static void table_row(char (*row)[T_CELL], const char *name, size_t name_cap,
                      const figures *f)
{
    snprintf(row[0], T_CELL, "%.*s", (int)name_len(name, name_cap), name);
    snprintf(row[1], T_CELL, "%zu", f->faults);
    snprintf(row[2], T_CELL, "%zu", f->acked);
    snprintf(row[3], T_CELL, "%zu", f->lost);
    snprintf(row[4], T_CELL, "%zu/%zu", f->recovered, f->faults);
    fmt_ms(row[5], f->recovered > 0, f->rec_median);
    fmt_ms(row[6], f->recovered > 0, (double)f->rec_max);
    fmt_rate(row[7], f->acks_during, f->fault_ms);
    fmt_rate(row[8], f->acks_outside, f->outside_ms);
}

/* How many violations the table lists; the JSON has them all. */
#define T_MAX_VIOLATIONS 20

int drill_report_table(FILE *out, const drill_result *r,
                       const drill_violation *v, size_t n_violations)
{
    static const char *const head[T_COLS] = {
        "scenario",     "faults",           "acked",
        "lost",         "recovered",        "recovery median",
        "recovery max", "acks/s in faults", "acks/s outside"};
    figures *figs;
    bool *lost;
    if (all_figures(r, &figs, &lost) != 0)
        return -1;
    size_t rows = r->n_scenarios + 2; /* the head, the scenarios, total */
    char(*cells)[T_COLS][T_CELL] = calloc(rows, sizeof(*cells));
    if (cells == NULL) {
        free(figs);
        free(lost);
        errno = ENOMEM;
        return -1;
    }
    for (size_t c = 0; c < T_COLS; c++)
        snprintf(cells[0][c], T_CELL, "%s", head[c]);
    for (size_t s = 0; s < r->n_scenarios; s++)
        table_row(cells[s + 1], r->scenarios[s].name,
                  sizeof(r->scenarios[s].name), &figs[s]);
    table_row(cells[rows - 1], "total", sizeof("total"), &figs[r->n_scenarios]);
    int width[T_COLS] = {0};
    for (size_t i = 0; i < rows; i++)
        for (size_t c = 0; c < T_COLS; c++) {
            int w = (int)strlen(cells[i][c]);
            if (w > width[c])
                width[c] = w;
        }

    size_t failed = 0, unknown = 0;
    for (size_t k = 0; k < r->n_ops; k++) {
        failed += r->ops[k].outcome == DRILL_FAILED;
        unknown += r->ops[k].outcome != DRILL_ACKED &&
                   r->ops[k].outcome != DRILL_FAILED;
    }
    const figures *t = &figs[r->n_scenarios];
    fprintf(out,
            "refraft drill: seed %" PRIu64
            ", %zu nodes, partitions by %.*s\n\n",
            r->seed, r->n_nodes,
            (int)name_len(r->partition_method, sizeof(r->partition_method)),
            r->partition_method);
    for (size_t i = 0; i < rows; i++) {
        for (size_t c = 0; c < T_COLS; c++) {
            if (c == 0)
                fprintf(out, "%-*s", width[c], cells[i][c]);
            else
                fprintf(out, "  %*s", width[c], cells[i][c]);
        }
        fputc('\n', out);
    }
    fprintf(out,
            "\n%zu writes: %zu acknowledged, %zu failed, %zu unknown; "
            "%zu acknowledged lost\n",
            r->n_ops, t->acked, failed, unknown, t->lost);
    if (n_violations == 0) {
        fprintf(out, "no violations\n");
    } else {
        fprintf(out, "%zu violation%s:\n", n_violations,
                n_violations == 1 ? "" : "s");
        for (size_t i = 0;
             v != NULL && i < n_violations && i < T_MAX_VIOLATIONS; i++)
            fprintf(out, "  %.*s: %.*s\n",
                    (int)name_len(v[i].rule, sizeof(v[i].rule)), v[i].rule,
                    (int)name_len(v[i].detail, sizeof(v[i].detail)),
                    v[i].detail);
        if (n_violations > T_MAX_VIOLATIONS)
            fprintf(out, "  ... and %zu more (the JSON report lists them)\n",
                    n_violations - T_MAX_VIOLATIONS);
    }
    fprintf(out, "reproduce: %.*s\n",
            (int)name_len(r->command, sizeof(r->command)), r->command);
    free(cells);
    free(figs);
    free(lost);
    return finish(out);
}

/* ---- text in JSON and XML ---------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at p (at most n bytes),
 * or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string of at most cap bytes of s: quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 as U+FFFD. */
static void json_str(FILE *out, const char *s, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, cap);
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = utf8_seq(p + i, n - i);
        if (len == 0) {
            fputs("\\ufffd", out);
            i++;
        } else if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            i++;
        } else if (c == '\n') {
            fputs("\\n", out);
            i++;
        } else if (c == '\t') {
            fputs("\\t", out);
            i++;
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
            i++;
        } else {
            fwrite(p + i, 1, len, out);
            i += len;
        }
    }
    fputc('"', out);
}

/* XML character data or attribute text: markup escaped, characters XML
 * does not allow as '?', bytes that are not UTF-8 as U+FFFD. */
static void xml_str(FILE *out, const char *s, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, cap);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = utf8_seq(p + i, n - i);
        if (len == 0) {
            fputs("\xef\xbf\xbd", out);
            i++;
            continue;
        }
        if (len > 1) {
            fwrite(p + i, 1, len, out);
            i += len;
            continue;
        }
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(c < 0x20 && c != '\t' ? '?' : (int)c, out);
        }
        i++;
    }
}

/* ---- JSON -------------------------------------------------------------- */

static void json_ms(FILE *out, bool have, double ms)
{
    if (have)
        fprintf(out, "%.1f", ms);
    else
        fputs("null", out);
}

static void json_rate(FILE *out, size_t acks, uint64_t ms)
{
    double v;
    if (rate(acks, ms, &v))
        fprintf(out, "%.3f", v);
    else
        fputs("null", out);
}

static void json_figures(FILE *out, const figures *f)
{
    fprintf(out,
            "\"faults\": %zu, \"recovered\": %zu, \"ops\": %zu, "
            "\"acked\": %zu, \"lost\": %zu, \"recovery_median_ms\": ",
            f->faults, f->recovered, f->ops, f->acked, f->lost);
    json_ms(out, f->recovered > 0, f->rec_median);
    fputs(", \"recovery_max_ms\": ", out);
    if (f->recovered > 0)
        fprintf(out, "%" PRIu64, f->rec_max);
    else
        fputs("null", out);
    fprintf(out,
            ", \"fault_ms\": %" PRIu64 ", \"outside_ms\": %" PRIu64
            ", \"acks_during_faults\": %zu, \"acks_outside_faults\": %zu"
            ", \"acks_per_s_during_faults\": ",
            f->fault_ms, f->outside_ms, f->acks_during, f->acks_outside);
    json_rate(out, f->acks_during, f->fault_ms);
    fputs(", \"acks_per_s_outside_faults\": ", out);
    json_rate(out, f->acks_outside, f->outside_ms);
}

int drill_report_json(FILE *out, const drill_result *r,
                      const drill_violation *v, size_t n_violations)
{
    figures *figs;
    bool *lost;
    if (all_figures(r, &figs, &lost) != 0)
        return -1;
    size_t failed = 0, unknown = 0;
    for (size_t k = 0; k < r->n_ops; k++) {
        failed += r->ops[k].outcome == DRILL_FAILED;
        unknown += r->ops[k].outcome != DRILL_ACKED &&
                   r->ops[k].outcome != DRILL_FAILED;
    }

    fprintf(out, "{\n  \"seed\": %" PRIu64 ",\n  \"nodes\": %zu,\n", r->seed,
            r->n_nodes);
    fputs("  \"command\": ", out);
    json_str(out, r->command, sizeof(r->command));
    fputs(",\n  \"partition_method\": ", out);
    json_str(out, r->partition_method, sizeof(r->partition_method));

    fputs(",\n  \"scenarios\": [", out);
    for (size_t s = 0; s < r->n_scenarios; s++) {
        const drill_scenario_run *sc = &r->scenarios[s];
        fputs(s == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ", out);
        json_str(out, sc->name, sizeof(sc->name));
        fprintf(out, ", \"start_ms\": %" PRIu64 ", \"end_ms\": %" PRIu64 ", ",
                sc->start_ms, sc->end_ms);
        json_figures(out, &figs[s]);
        fputc('}', out);
    }
    fputs(r->n_scenarios > 0 ? "\n  ],\n" : "],\n", out);

    fputs("  \"faults\": [", out);
    for (size_t i = 0; i < r->n_faults; i++) {
        const drill_fault *f = &r->faults[i];
        size_t s = scenario_of(r, f->start_ms);
        fputs(i == 0 ? "\n    {\"scenario\": " : ",\n    {\"scenario\": ", out);
        json_str(out, f->scenario, sizeof(f->scenario));
        fputs(", \"scenario_run\": ", out);
        if (s == SIZE_MAX)
            fputs("null", out);
        else
            fprintf(out, "%zu", s);
        fputs(", \"what\": ", out);
        json_str(out, f->what, sizeof(f->what));
        fputs(", \"node\": ", out);
        if (f->node >= 0 && r->nodes != NULL && (size_t)f->node < r->n_nodes)
            json_str(out, r->nodes[f->node].id, sizeof(r->nodes[f->node].id));
        else
            fputs("null", out);
        fprintf(out, ", \"node_index\": ");
        if (f->node >= 0)
            fprintf(out, "%d", f->node);
        else
            fputs("null", out);
        fprintf(out,
                ", \"start_ms\": %" PRIu64 ", \"end_ms\": %" PRIu64
                ", \"recovered\": %s, \"recovered_ms\": ",
                f->start_ms, f->end_ms, f->recovered_ms > 0 ? "true" : "false");
        if (f->recovered_ms > 0)
            fprintf(out, "%" PRIu64 ", \"recovery_ms\": %" PRIu64 "}",
                    f->recovered_ms, recovery_of(f));
        else
            fputs("null, \"recovery_ms\": null}", out);
    }
    fputs(r->n_faults > 0 ? "\n  ],\n" : "],\n", out);

    fputs("  \"violations\": [", out);
    for (size_t i = 0; v != NULL && i < n_violations; i++) {
        fputs(i == 0 ? "\n    {\"rule\": " : ",\n    {\"rule\": ", out);
        json_str(out, v[i].rule, sizeof(v[i].rule));
        fputs(", \"detail\": ", out);
        json_str(out, v[i].detail, sizeof(v[i].detail));
        fputc('}', out);
    }
    fputs(v != NULL && n_violations > 0 ? "\n  ],\n" : "],\n", out);

    const figures *t = &figs[r->n_scenarios];
    fprintf(out,
            "  \"totals\": {\"failed\": %zu, \"unknown\": %zu, "
            "\"violations\": %zu, ",
            failed, unknown, n_violations);
    json_figures(out, t);
    fputs("}\n}\n", out);
    free(figs);
    free(lost);
    return finish(out);
}

/* ---- SVG --------------------------------------------------------------- */

#define SVG_W 1000
#define SVG_H 560
#define SVG_LEFT 70.0
#define SVG_RIGHT 790.0 /* the legend is to the right of it */
#define SVG_LANE 11.0   /* one lane per node for its down time */
#define SVG_BOTTOM 500.0

static const char *const palette[] = {"#1f77b4", "#2ca02c", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf",
                                      "#7f7f7f", "#bcbd22", "#ff7f0e"};
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

typedef struct plot {
    uint64_t t0, t1; /* the scenario's window, t1 > t0 */
    uint64_t ymax;
    double top; /* the plot area's top: below the lanes */
} plot;

static double xs(const plot *p, uint64_t t)
{
    if (t < p->t0)
        t = p->t0;
    if (t > p->t1)
        t = p->t1;
    return SVG_LEFT + (double)(t - p->t0) * (SVG_RIGHT - SVG_LEFT) /
                          (double)(p->t1 - p->t0);
}

static double ys(const plot *p, uint64_t v)
{
    return SVG_BOTTOM - (double)v * (SVG_BOTTOM - p->top) / (double)p->ymax;
}

/* A step of 1, 2 or 5 times a power of ten giving at most 8 ticks. */
static uint64_t tick_step(uint64_t span)
{
    static const uint64_t m[] = {1, 2, 5};
    for (uint64_t p = 1;; p *= 10)
        for (size_t i = 0; i < 3; i++)
            if (span / (m[i] * p) <= 8 || p > UINT64_MAX / 100)
                return m[i] * p;
}

static void svg_node_name(FILE *out, const drill_result *r, size_t n)
{
    if (r->nodes != NULL && r->nodes[n].id[0] != '\0')
        xml_str(out, r->nodes[n].id, sizeof(r->nodes[n].id));
    else
        fprintf(out, "n%zu", n + 1);
}

static int cmp_sample(const void *pa, const void *pb)
{
    const drill_sample *a = *(const drill_sample *const *)pa;
    const drill_sample *b = *(const drill_sample *const *)pb;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    if (a->t_ms != b->t_ms)
        return a->t_ms < b->t_ms ? -1 : 1;
    return a < b ? -1 : a > b;
}

static void svg_axes(FILE *out, const plot *p)
{
    uint64_t step = tick_step(p->ymax);
    for (uint64_t v = 0; v <= p->ymax; v += step) {
        double y = ys(p, v);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64
                "</text>\n",
                SVG_LEFT, y, SVG_RIGHT, y, SVG_LEFT - 6, y + 4, v);
        if (v > UINT64_MAX - step)
            break;
    }
    uint64_t span = p->t1 - p->t0;
    step = tick_step(span);
    for (uint64_t t = 0; t <= span; t += step) {
        double x = xs(p, p->t0 + t);
        fprintf(
            out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#333\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            x, SVG_BOTTOM, x, SVG_BOTTOM + 5, x, SVG_BOTTOM + 18,
            (double)t / 1000.0);
        if (t > UINT64_MAX - step)
            break;
    }
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#333\"/>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#333\"/>\n",
            SVG_LEFT, SVG_BOTTOM, SVG_RIGHT, SVG_BOTTOM, SVG_LEFT, p->top,
            SVG_LEFT, SVG_BOTTOM);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time in the "
            "scenario (s)</text>\n"
            "<text transform=\"translate(18 %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">log index</text>\n",
            (SVG_LEFT + SVG_RIGHT) / 2, SVG_BOTTOM + 38,
            (p->top + SVG_BOTTOM) / 2);
}

static void
svg_faults(FILE *out, const drill_result *r, size_t scenario, const plot *p)
{
    size_t j = 0;
    for (size_t i = 0; i < r->n_faults; i++) {
        const drill_fault *f = &r->faults[i];
        if (scenario_of(r, f->start_ms) != scenario)
            continue;
        double x0 = xs(p, f->start_ms), x1 = xs(p, f->end_ms);
        if (x1 < x0 + 1)
            x1 = x0 + 1;
        fprintf(out,
                "<rect class=\"fault\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\" fill=\"#ffb347\" fill-opacity=\"0.22\" "
                "stroke=\"#e08a00\" stroke-opacity=\"0.5\"><title>",
                x0, p->top, x1 - x0, SVG_BOTTOM - p->top);
        xml_str(out, f->what, sizeof(f->what));
        /* Labels near the right edge end at their window's end. */
        bool right = x0 > SVG_RIGHT - 220;
        fprintf(out,
                "</title></rect>\n<text x=\"%.1f\" y=\"%.1f\"%s "
                "font-size=\"10\" fill=\"#a35a00\">",
                right ? x1 - 3 : x0 + 3, p->top + 12 + (double)(j % 4) * 12,
                right ? " text-anchor=\"end\"" : "");
        xml_str(out, f->what, sizeof(f->what));
        fputs("</text>\n", out);
        if (f->recovered_ms > 0 && f->recovered_ms <= p->t1) {
            double xr = xs(p, f->recovered_ms);
            fprintf(out,
                    "<line class=\"recovered\" x1=\"%.1f\" y1=\"%.1f\" "
                    "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2a9d2a\" "
                    "stroke-dasharray=\"2 3\"><title>recovered %" PRIu64
                    " ms after the fault ended</title></line>\n",
                    xr, p->top, xr, SVG_BOTTOM, recovery_of(f));
        }
        j++;
    }
}

/* One node's lane (red where it did not answer) and its two lines.
 * s[0..n): its samples in the window, in time order. */
static void svg_node(FILE *out, const drill_result *r, size_t node,
                     const drill_sample *const *s, size_t n, const plot *p)
{
    const char *color = palette[node % PALETTE_N];
    double lane = 40 + (double)node * SVG_LANE;
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
            "font-size=\"9\">",
            SVG_LEFT - 6, lane + 8);
    svg_node_name(out, r, node);
    fprintf(out,
            " down</text>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"8\" fill=\"#f2f2f2\"/>\n",
            SVG_LEFT, lane, SVG_RIGHT - SVG_LEFT);
    for (size_t i = 0; i < n;) {
        if (s[i]->up) {
            i++;
            continue;
        }
        size_t j = i;
        while (j + 1 < n && !s[j + 1]->up)
            j++;
        /* Down from the first sample that got no answer to the next one
         * that did (or the last that did not). */
        uint64_t until = j + 1 < n ? s[j + 1]->t_ms : s[j]->t_ms;
        double x0 = xs(p, s[i]->t_ms), x1 = xs(p, until);
        if (x1 < x0 + 2)
            x1 = x0 + 2;
        fprintf(out,
                "<rect class=\"down\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"8\" fill=\"#d62728\"><title>",
                x0, lane, x1 - x0);
        svg_node_name(out, r, node);
        fprintf(out, " down %.1f-%.1f s</title></rect>\n",
                (double)(s[i]->t_ms - p->t0) / 1000.0,
                (double)(until - p->t0) / 1000.0);
        i = j + 1;
    }
    for (int data = 0; data < 2; data++) {
        fprintf(out,
                "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"1.5\"%s points=\"",
                data ? "data" : "commit", color,
                data ? " stroke-dasharray=\"6 3\"" : "");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (!s[i]->up)
                continue;
            fprintf(out, "%s%.1f,%.1f", first ? "" : " ", xs(p, s[i]->t_ms),
                    ys(p, data ? s[i]->data_index : s[i]->commit_index));
            first = false;
        }
        fputs("\"><title>", out);
        svg_node_name(out, r, node);
        fprintf(out, " %s index</title></polyline>\n",
                data ? "data" : "commit");
    }
}

static void svg_legend(FILE *out, const drill_result *r)
{
    double x = SVG_RIGHT + 25, y = 60;
    for (size_t n = 0; n < r->n_nodes; n++) {
        for (int data = 0; data < 2; data++, y += 16) {
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\" stroke-width=\"1.5\"%s/>\n"
                    "<text x=\"%.1f\" y=\"%.1f\">",
                    x, y, x + 28, y, palette[n % PALETTE_N],
                    data ? " stroke-dasharray=\"6 3\"" : "", x + 34, y + 4);
            svg_node_name(out, r, n);
            fprintf(out, " %s index</text>\n", data ? "data" : "commit");
        }
    }
    y += 6;
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"12\" "
            "fill=\"#ffb347\" fill-opacity=\"0.22\" stroke=\"#e08a00\" "
            "stroke-opacity=\"0.5\"/>\n<text x=\"%.1f\" y=\"%.1f\">fault "
            "window</text>\n",
            x, y - 6, x + 34, y + 4);
    y += 18;
    fprintf(out,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"8\" "
            "fill=\"#d62728\"/>\n<text x=\"%.1f\" y=\"%.1f\">node "
            "down (no status)</text>\n",
            x, y - 4, x + 34, y + 4);
    y += 18;
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#2a9d2a\" stroke-dasharray=\"2 3\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\">recovered</text>\n",
            x, y, x + 28, y, x + 34, y + 4);
}

int drill_report_svg(FILE *out, const drill_result *r, size_t scenario)
{
    if (scenario >= r->n_scenarios) {
        errno = EINVAL;
        return -1;
    }
    const drill_scenario_run *sc = &r->scenarios[scenario];
    plot p = {sc->start_ms,
              sc->end_ms > sc->start_ms ? sc->end_ms : sc->start_ms + 1, 1,
              40 + (double)r->n_nodes * SVG_LANE + 10};

    const drill_sample **s = NULL;
    size_t n = 0;
    if (r->n_samples > 0) {
        s = malloc(r->n_samples * sizeof(*s));
        if (s == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }
    for (size_t i = 0; i < r->n_samples; i++) {
        const drill_sample *x = &r->samples[i];
        if (x->node < 0 || (size_t)x->node >= r->n_nodes || x->t_ms < p.t0 ||
            x->t_ms > p.t1)
            continue;
        s[n++] = x;
        if (x->up && x->commit_index > p.ymax)
            p.ymax = x->commit_index;
        if (x->up && x->data_index > p.ymax)
            p.ymax = x->data_index;
    }
    if (n > 1)
        qsort(s, n, sizeof(*s), cmp_sample);
    /* Round the top of the y axis up to a tick. */
    uint64_t step = tick_step(p.ymax);
    if (p.ymax % step != 0 && p.ymax <= UINT64_MAX - step)
        p.ymax += step - p.ymax % step;

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<title>refraft "
            "drill, seed %" PRIu64 ": ",
            SVG_W, SVG_H, SVG_W, SVG_H, r->seed);
    xml_str(out, sc->name, sizeof(sc->name));
    fprintf(out,
            "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
            "<text x=\"%.1f\" y=\"22\" font-size=\"15\" "
            "font-weight=\"bold\">refraft drill, seed %" PRIu64 ": scenario ",
            SVG_W, SVG_H, SVG_LEFT, r->seed);
    xml_str(out, sc->name, sizeof(sc->name));
    fprintf(out, " (%.1f s, %zu nodes)</text>\n",
            (double)(p.t1 - p.t0) / 1000.0, r->n_nodes);

    svg_axes(out, &p);
    svg_faults(out, r, scenario, &p);
    size_t i = 0;
    for (size_t node = 0; node < r->n_nodes; node++) {
        size_t j = i;
        while (j < n && (size_t)s[j]->node == node)
            j++;
        svg_node(out, r, node, s + i, j - i, &p);
        i = j;
    }
    svg_legend(out, r);
    fputs("</svg>\n", out);
    free(s);
    return finish(out);
}
