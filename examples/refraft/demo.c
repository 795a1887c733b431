/* demo.c - `refraft demo`: a 3-node cluster on loopback, 1,000 records
 * written through a follower, a follower killed, wiped and brought back
 * on a new port by its sweeper, and every record checked on every node. */
#define _GNU_SOURCE /* mkdtemp */

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "jsonget.h"
#include "pool.h"
#include "put.h"
#include "util.h"

#define DEMO_NODES 3
#define START_TIMEOUT_MS 15000u
#define LEADER_TIMEOUT_MS 15000u
#define PUT_TIMEOUT_MS 30000u
#define RECOVERY_TIMEOUT_MS 60000u
/* A follower applies a committed entry a moment after the leader
 * answers; a GET that finds nothing is retried this long. */
#define GET_RETRY_MS 10000u
#define STOP_TIMEOUT_MS 10000u
#define PROGRESS_POLL_MS 100u

typedef struct demo {
    cli_cluster cl;
    bool cl_ready;
    char tmp[CLI_PATH_MAX];
    uint64_t t0;

    /* options */
    unsigned long n_records, size, concurrency;
    bool keep;

    /* the records */
    uint8_t *data; /* n_records * size random bytes */
    uint8_t (*digest)[CLI_SHA256_LEN];
    char (*id)[CLI_SHA256_HEX];

    size_t via, leader, victim; /* node indexes */

    /* writing */
    cli_put *puts; /* one per slot */
    size_t next_job, written, redirected, retried;
    char first_retry[256]; /* why the first retry was needed */
    uint64_t last_index;
    char error[3200];

    /* checking */
    size_t n_jobs;
    uint64_t *retry_until; /* one per slot */
    size_t matched[DEMO_NODES], missing[DEMO_NODES], corrupt[DEMO_NODES];
} demo;

static void say(const demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const demo *d, const char *fmt, ...)
{
    double s = (double)(cli_now_ms() - d->t0) / 1000.0;
    printf("[%6.2fs] ", s);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static double secs(uint64_t ms)
{
    return (double)ms / 1000.0;
}

/* ---- writing ---------------------------------------------------------- */

static void put_prepare(demo *d, cli_slot *s)
{
    cli_put *p = &d->puts[s->index];
    uint64_t now = cli_now_ms();
    long left = p->deadline_ms > now ? (long)(p->deadline_ms - now) : 1;
    cli_xfer_post(&s->x, p->url, d->data + s->job * d->size, d->size, NULL,
                  left);
    s->not_before_ms = p->not_before_ms;
}

static bool put_next(void *ctx, cli_slot *s)
{
    demo *d = ctx;
    if (d->next_job == d->n_records)
        return false;
    s->job = d->next_job++;
    cli_put_begin(&d->puts[s->index], d->cl.nodes[d->via].url, PUT_TIMEOUT_MS);
    put_prepare(d, s);
    return true;
}

static cli_pool_verdict put_done(void *ctx, cli_slot *s)
{
    demo *d = ctx;
    cli_put *p = &d->puts[s->index];
    char id[CLI_SHA256_HEX + 8];
    uint64_t index;
    switch (cli_put_answer(p, &s->x)) {
    case CLI_PUT_AGAIN:
        put_prepare(d, s);
        return CLI_POOL_AGAIN;
    case CLI_PUT_FAILED:
        snprintf(d->error, sizeof(d->error), "record %zu: %s", s->job,
                 p->error);
        return CLI_POOL_ABORT;
    case CLI_PUT_DONE:
        break;
    }
    /* Without Refraft-Record-Id the node names a record by the hex
     * SHA-256 of its bytes: the answer must say so. */
    if (s->x.status != 201 ||
        !cli_json_str(s->x.body, s->x.len, "id", id, sizeof(id)) ||
        strcmp(id, d->id[s->job]) != 0 ||
        !cli_json_u64(s->x.body, s->x.len, "index", &index)) {
        snprintf(d->error, sizeof(d->error),
                 "record %zu: unexpected answer %ld: %.200s", s->job,
                 s->x.status, s->x.body != NULL ? s->x.body : "");
        return CLI_POOL_ABORT;
    }
    if (index > d->last_index)
        d->last_index = index;
    if (p->redirects > 0)
        d->redirected++;
    d->retried += p->retries;
    if (p->retries > 0 && d->first_retry[0] == '\0')
        snprintf(d->first_retry, sizeof(d->first_retry), "%.200s", p->error);
    d->written++;
    return CLI_POOL_FREE;
}

static int write_records(demo *d)
{
    static const cli_pool_ops ops = {put_next, put_done};
    char err[128];
    d->puts = calloc(d->concurrency, sizeof(*d->puts));
    if (d->puts == NULL)
        return -1;
    if (cli_pool_run(d->concurrency, CLI_JSON_MAX, &ops, d, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "refraft demo: writing failed: %s\n",
                d->error[0] != '\0' ? d->error : err);
        return -1;
    }
    return 0;
}

/* ---- checking --------------------------------------------------------- */

static void get_prepare(demo *d, cli_slot *s)
{
    char url[CLI_URL_MAX];
    size_t node = s->job / d->n_records, rec = s->job % d->n_records;
    snprintf(url, sizeof(url), "%s/v1/records/%s", d->cl.nodes[node].url,
             d->id[rec]);
    cli_xfer_get(&s->x, url, 10000);
}

static bool get_next(void *ctx, cli_slot *s)
{
    demo *d = ctx;
    if (d->next_job == d->n_jobs)
        return false;
    s->job = d->next_job++;
    d->retry_until[s->index] = cli_now_ms() + GET_RETRY_MS;
    get_prepare(d, s);
    return true;
}

static cli_pool_verdict get_done(void *ctx, cli_slot *s)
{
    demo *d = ctx;
    size_t node = s->job / d->n_records, rec = s->job % d->n_records;
    uint64_t now = cli_now_ms();
    if (s->x.status == 200) {
        uint8_t got[CLI_SHA256_LEN];
        cli_sha256(s->x.body, s->x.len, got);
        if (memcmp(got, d->digest[rec], CLI_SHA256_LEN) == 0 &&
            cli_repr_digest_check(s->x.repr_digest, got) == 1)
            d->matched[node]++;
        else
            d->corrupt[node]++;
        return CLI_POOL_FREE;
    }
    if ((s->x.status == 404 || s->x.status == 0) &&
        now < d->retry_until[s->index]) {
        get_prepare(d, s);
        s->not_before_ms = now + 100;
        return CLI_POOL_AGAIN;
    }
    d->missing[node]++;
    return CLI_POOL_FREE;
}

static int check_records(demo *d)
{
    static const cli_pool_ops ops = {get_next, get_done};
    char err[128];
    d->next_job = 0;
    d->n_jobs = DEMO_NODES * d->n_records;
    d->retry_until = calloc(d->concurrency, sizeof(*d->retry_until));
    if (d->retry_until == NULL)
        return -1;
    if (cli_pool_run(d->concurrency, CLI_RECORD_MAX, &ops, d, err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "refraft demo: checking failed: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- the run ---------------------------------------------------------- */

static int make_records(demo *d)
{
    d->data = malloc(d->n_records * d->size);
    d->digest = calloc(d->n_records, sizeof(*d->digest));
    d->id = calloc(d->n_records, sizeof(*d->id));
    if (d->data == NULL || d->digest == NULL || d->id == NULL ||
        cli_random(d->data, d->n_records * d->size) != 0)
        return -1;
    for (size_t i = 0; i < d->n_records; i++) {
        cli_sha256(d->data + i * d->size, d->size, d->digest[i]);
        cli_hex(d->digest[i], CLI_SHA256_LEN, d->id[i]);
    }
    return 0;
}

static int start_cluster(demo *d)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(d->tmp, sizeof(d->tmp), "%s/refraft-demo.XXXXXX", base);
    if (mkdtemp(d->tmp) == NULL) {
        perror("refraft demo: mkdtemp");
        d->tmp[0] = '\0';
        return -1;
    }
    if (cli_cluster_init(&d->cl, d->tmp, DEMO_NODES, NULL, NULL, true) != 0)
        return -1;
    d->cl_ready = true;
    say(d, "starting %d nodes on 127.0.0.1 under %s", DEMO_NODES, d->tmp);
    if (cli_cluster_start(&d->cl, START_TIMEOUT_MS) != 0)
        return -1;
    if (cli_cluster_wait_leader(&d->cl, LEADER_TIMEOUT_MS, &d->leader) != 0) {
        fprintf(stderr, "refraft demo: no leader within %u s\n",
                LEADER_TIMEOUT_MS / 1000);
        return -1;
    }
    cli_status st;
    if (cli_cluster_status(&d->cl, d->leader, &st) != 0)
        memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < DEMO_NODES; i++)
        say(d, "  %s %s  pid %-7ld %s", d->cl.nodes[i].id, d->cl.nodes[i].url,
            (long)d->cl.nodes[i].pid, i == d->leader ? "leader" : "follower");
    say(d, "%s leads in term %llu", d->cl.nodes[d->leader].id,
        (unsigned long long)st.term);
    /* Write through one follower; kill the other. */
    d->via = (d->leader + 1) % DEMO_NODES;
    d->victim = (d->leader + 2) % DEMO_NODES;
    return 0;
}

static void progress(const demo *d, const cli_status *st, bool tty, bool final)
{
    char line[256];
    snprintf(line, sizeof(line),
             "  %s recovering: %llu/%lu records, data index %llu/%llu, "
             "%llu fetched by its sweeper (%llu in flight)",
             d->cl.nodes[d->victim].id, (unsigned long long)st->records,
             d->n_records, (unsigned long long)st->data_index,
             (unsigned long long)st->last_index,
             (unsigned long long)st->sw_fetched,
             (unsigned long long)st->sw_in_flight);
    if (tty)
        printf("\r%s\033[K%s", line, final ? "\n" : "");
    else
        printf("%s\n", line);
    fflush(stdout);
}

/* Poll the restarted node until it holds every record and vouches for
 * the whole log (data index up to the leader's commit). */
static int watch_recovery(demo *d, uint64_t target, cli_status *st)
{
    bool tty = isatty(STDOUT_FILENO);
    uint64_t start = cli_now_ms(), last_print = 0;
    bool have = false;
    while (!cli_interrupted) {
        uint64_t now = cli_now_ms();
        have = cli_cluster_status(&d->cl, d->victim, st) == 0;
        bool done =
            have && st->records >= d->n_records && st->data_index >= target;
        if (have && (done || tty || now - last_print >= 1000)) {
            progress(d, st, tty, done);
            last_print = now;
        }
        if (done)
            return 0;
        if (now - start >= RECOVERY_TIMEOUT_MS) {
            if (tty)
                printf("\n");
            fprintf(stderr, "refraft demo: %s did not recover within %u s\n",
                    d->cl.nodes[d->victim].id, RECOVERY_TIMEOUT_MS / 1000);
            return -1;
        }
        cli_sleep_ms(PROGRESS_POLL_MS);
    }
    return -1;
}

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: refraft demo [--records N] [--size BYTES] "
               "[--concurrency C] [--keep]\n"
               "Start 3 nodes on 127.0.0.1 under a temporary directory, write "
               "N records\n(1000) of BYTES (256) random bytes through a "
               "follower, C (32) at a time,\nSIGKILL the other follower, wipe "
               "its records, restart it on a new port,\nwatch its sweeper "
               "fetch them back, check every record on every node, stop\n"
               "everything.  --keep keeps the directory.  Exit 0 only if all "
               "is well.\n");
}

static int parse_args(demo *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"records", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"concurrency", required_argument, NULL, 'c'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    d->n_records = 1000;
    d->size = 256;
    d->concurrency = 32;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:s:c:kh", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_uint("--records", optarg, 1, 1000000, &d->n_records))
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_uint("--size", optarg, 1, 1024 * 1024, &d->size))
                return CLI_EXIT_USAGE;
            break;
        case 'c':
            if (cli_parse_uint("--concurrency", optarg, 1, 256,
                               &d->concurrency))
                return CLI_EXIT_USAGE;
            break;
        case 'k':
            d->keep = true;
            break;
        case 'h':
            demo_usage(stdout);
            return -1;
        default:
            demo_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        demo_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Kill, wipe, restart on a new port, watch.  Fills the timings. */
static int break_and_heal(demo *d, uint64_t *recovery_ms, cli_status *st)
{
    cli_node *v = &d->cl.nodes[d->victim];
    char old_url[sizeof(v->url)];
    cli_status ls;
    say(d, "SIGKILL %s (pid %ld)", v->id, (long)v->pid);
    cli_cluster_signal(&d->cl, d->victim, SIGKILL);
    cli_cluster_reap(&d->cl, d->victim, 5000);
    if (cli_cluster_wipe_records(&d->cl, d->victim) != 0)
        return -1;
    say(d,
        "wiped %s's record store (refraft wipe-records --data %s): its "
        "log stays, its records are gone",
        v->id, v->dir);
    if (cli_cluster_status(&d->cl, d->leader, &ls) != 0) {
        fprintf(stderr, "refraft demo: the leader does not answer\n");
        return -1;
    }
    memcpy(old_url, v->url, sizeof(old_url));
    uint64_t t = cli_now_ms();
    if (cli_cluster_start_elsewhere(&d->cl, d->victim, START_TIMEOUT_MS) != 0)
        return -1;
    say(d,
        "restarted %s at %s (was %s); the others learn its address "
        "from its requests",
        v->id, v->url, old_url);
    if (watch_recovery(d, ls.commit_index, st) != 0)
        return -1;
    *recovery_ms = cli_now_ms() - t;
    say(d, "%s holds all %lu records again, %.2f s after its restart", v->id,
        d->n_records, secs(*recovery_ms));
    return 0;
}

static bool report_check(demo *d)
{
    bool ok = true;
    for (size_t i = 0; i < DEMO_NODES; i++) {
        bool node_ok = d->matched[i] == d->n_records;
        say(d, "  %s: %zu/%lu identical (SHA-256 and Repr-Digest)%s%s",
            d->cl.nodes[i].id, d->matched[i], d->n_records,
            d->missing[i] > 0 ? ", some missing" : "",
            d->corrupt[i] > 0 ? ", some corrupt" : "");
        ok = ok && node_ok;
    }
    return ok;
}

static void cleanup(demo *d, bool failed)
{
    if (d->cl_ready) {
        if (failed && !cli_interrupted) {
            for (size_t i = 0; i < DEMO_NODES; i++) {
                char path[CLI_PATH_MAX + 8], prefix[32];
                snprintf(path, sizeof(path), "%s/log", d->cl.nodes[i].dir);
                snprintf(prefix, sizeof(prefix), "  %s| ", d->cl.nodes[i].id);
                fprintf(stderr, "refraft demo: the end of %s's log:\n",
                        d->cl.nodes[i].id);
                cli_tail_file(path, 8, prefix);
            }
        }
        (void)cli_cluster_stop_all(&d->cl, STOP_TIMEOUT_MS);
        cli_cluster_free(&d->cl);
    }
    if (d->tmp[0] != '\0') {
        if (d->keep)
            printf("kept %s\n", d->tmp);
        else if (cli_rmtree(d->tmp) != 0)
            perror("refraft demo: removing the temporary directory");
    }
    free(d->data);
    free(d->digest);
    free(d->id);
    free(d->puts);
    free(d->retry_until);
}

int cli_cmd_demo(int argc, char **argv)
{
    demo d;
    memset(&d, 0, sizeof(d));
    int rv = parse_args(&d, argc, argv);
    if (rv != CLI_EXIT_OK)
        return rv < 0 ? CLI_EXIT_OK : rv;
    rv = CLI_EXIT_FAIL;
    cli_catch_signals();
    d.t0 = cli_now_ms();
    uint64_t write_ms = 0, recovery_ms = 0;
    cli_status vs;
    memset(&vs, 0, sizeof(vs));
    bool ok = false;

    if (make_records(&d) != 0) {
        fprintf(stderr, "refraft demo: out of memory or randomness\n");
        goto out;
    }
    if (start_cluster(&d) != 0)
        goto out;

    say(&d,
        "writing %lu records of %lu random bytes through follower %s, "
        "%lu at a time; it redirects each to leader %s",
        d.n_records, d.size, d.cl.nodes[d.via].id, d.concurrency,
        d.cl.nodes[d.leader].id);
    uint64_t t = cli_now_ms();
    if (write_records(&d) != 0)
        goto out;
    write_ms = cli_now_ms() - t;
    say(&d,
        "wrote %zu records in %.2f s (%.0f records/s), each answered "
        "after commit; %zu redirected; last index %llu",
        d.written, secs(write_ms),
        (double)d.written / (secs(write_ms) > 0 ? secs(write_ms) : 1e-3),
        d.redirected, (unsigned long long)d.last_index);
    if (d.retried > 0)
        say(&d, "%zu writes started over (first because: %s)", d.retried,
            d.first_retry);

    if (break_and_heal(&d, &recovery_ms, &vs) != 0)
        goto out;

    say(&d, "checking every record on every node: %lu GETs",
        DEMO_NODES * d.n_records);
    if (check_records(&d) != 0)
        goto out;
    ok = report_check(&d);
    say(&d, "stopping the nodes (SIGTERM)");
    int unclean = cli_cluster_stop_all(&d.cl, STOP_TIMEOUT_MS);
    if (unclean > 0) {
        fprintf(stderr, "refraft demo: %d node(s) did not stop cleanly\n",
                unclean);
        ok = false;
    }
    rv = ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;

out:
    if (cli_interrupted)
        fprintf(stderr, "refraft demo: interrupted; stopping the nodes\n");
    printf("\nsummary\n");
    printf("  records written      %zu of %lu, %lu bytes each", d.written,
           d.n_records, d.size);
    if (d.puts != NULL)
        printf(", through follower %s", d.cl.nodes[d.via].id);
    printf("\n");
    if (write_ms > 0)
        printf("  write time           %.2f s (%.0f records/s, %lu at a "
               "time)\n",
               secs(write_ms), (double)d.written / secs(write_ms),
               d.concurrency);
    if (recovery_ms > 0) {
        printf("  recovery time        %.2f s (%s: SIGKILL, records wiped, "
               "new port)\n",
               secs(recovery_ms), d.cl.nodes[d.victim].id);
        printf("  fetched by sweeper   %llu records, %llu bytes\n",
               (unsigned long long)vs.sw_fetched,
               (unsigned long long)vs.sw_bytes_fetched);
    }
    printf("  total time           %.2f s\n", secs(cli_now_ms() - d.t0));
    printf("  result               %s\n", ok ? "OK" : "FAIL");
    fflush(stdout);
    cleanup(&d, !ok);
    return rv;
}
