/* drill.c - `refraft drill`: a cluster of node processes under a steady
 * client workload, faults injected on a seeded schedule, then a check
 * that every acknowledged write is on every node (drill_check.c) and a
 * report (drill_report.c). */
#define _GNU_SOURCE /* mkdtemp */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "drill.h"
#include "jsonget.h"
#include "netns.h"
#include "pool.h"
#include "put.h"

#define DRILL_MAX_NODES 5
#define START_TIMEOUT_MS 20000u
#define LEADER_TIMEOUT_MS 20000u
#define PUT_TIMEOUT_MS 10000u
/* One attempt of a write: a node that does not answer in this time (a
 * deposed leader holding it, a node just killed) is left for another,
 * as a real client would. */
#define ATTEMPT_TIMEOUT_MS 2000u
#define SAMPLE_MS 100u
#define PROGRESS_MS 1000u
/* After a fault heals, how long its node may take to catch up before the
 * drill goes on without it (the report then shows it never recovered). */
#define RECOVERY_TIMEOUT_MS 30000u
#define CONVERGE_TIMEOUT_MS 60000u
#define STOP_TIMEOUT_MS 10000u
#define LOG_PAGE 5000u
/* How long a membership request is retried while it cannot be answered
 * yet (no leader, a learner still behind), and how long a node whose
 * data directory was wiped may take to refuse to start. */
#define MEMBER_TIMEOUT_MS 30000u
#define REFUSE_TIMEOUT_MS 20000u

static const char *const all_scenarios[] = {
    "follower-kill", "leader-kill",   "wipe-records", "new-port",
    "partition",     "slow-follower", "wipe-node",    "membership",
};
#define N_SCENARIOS (sizeof(all_scenarios) / sizeof(all_scenarios[0]))

typedef struct drill {
    /* options */
    size_t n_nodes;
    unsigned long duration_s, clients, size;
    uint64_t seed;
    const char *report_dir;
    bool keep;
    const char *partition_opt; /* "auto", "netns" or "hook" */
    const char *scenarios[N_SCENARIOS];
    size_t n_scenarios;

    cli_cluster cl;
    bool cl_ready;
    drill_net net;
    bool use_netns;
    char ip_exe[CLI_PATH_MAX];
    char tmp[CLI_PATH_MAX];
    char token[128];
    uint64_t t0;
    uint64_t rng;
    drill_result r;
    size_t ops_cap, faults_cap, samples_cap, scenarios_cap;
    /* What went wrong outside the checker's rules: a node that exited on
     * its own, a fault that could not be injected, no convergence. */
    drill_violation *problems;
    size_t n_problems, problems_cap;
    cli_xfer x; /* the main thread's requests */

    /* Shared with the workload thread, under mu. */
    pthread_mutex_t mu;
    char urls[DRILL_MAX_NODES][sizeof(((cli_node *)0)->url)];
    bool up[DRILL_MAX_NODES];
    bool stop;
    uint64_t acked, failed, unknown;

    /* The workload thread's own. */
    pthread_t worker;
    bool worker_running;
    cli_put *puts;
    unsigned *restarts; /* per slot: the write started over elsewhere */
    uint8_t *bodies;    /* clients * size */
    uint64_t wrng;
    char werr[256];

    /* The current fault awaiting recovery: its index in r.faults, the
     * leader's commit index when it healed; -1 when none. */
    long pending_fault;
    uint64_t recovery_target;
    size_t leader;
    /* A learner to promote once it recovered (wipe-node), or -1. */
    long promote_after;
} drill;

static uint64_t rand64(uint64_t *s)
{
    /* xorshift64*: seeded, so a drill's schedule repeats. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static uint64_t between(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + rand64(s) % (hi - lo + 1);
}

static uint64_t now_rel(const drill *d)
{
    return cli_now_ms() - d->t0;
}

static void say(const drill *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const drill *d, const char *fmt, ...)
{
    printf("[%7.2fs] ", (double)now_rel(d) / 1000.0);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static void problem(drill *d, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a finding of the driver's own (main thread only). */
static void problem(drill *d, const char *rule, const char *fmt, ...)
{
    if (grow((void **)&d->problems, &d->problems_cap, d->n_problems + 1,
             sizeof(*d->problems)) != 0)
        return;
    drill_violation *v = &d->problems[d->n_problems++];
    snprintf(v->rule, sizeof v->rule, "%s", rule);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof v->detail, fmt, ap);
    va_end(ap);
    say(d, "%s: %s", v->rule, v->detail);
}

/* ---- the workload (its own thread) ------------------------------------ */

/* The bytes of op n: a function of the seed and n alone. */
static void op_bytes(const drill *d, uint64_t n, uint8_t *out)
{
    uint64_t s = d->seed * 0x9e3779b97f4a7c15ull + n + 1;
    for (size_t i = 0; i < d->size; i++)
        out[i] = (uint8_t)(rand64(&s) >> 56);
}

/* A node to send a write to: one that answered its last status. */
static void pick_url(drill *d, char *url)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->n_nodes, start = (size_t)(rand64(&d->wrng) % n);
    size_t pick = start;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (d->up[i]) {
            pick = i;
            break;
        }
    }
    snprintf(url, CLI_URL_MAX, "%s", d->urls[pick]);
    pthread_mutex_unlock(&d->mu);
}

static void put_prepare(drill *d, cli_slot *s)
{
    cli_put *p = &d->puts[s->index];
    drill_op *op = &d->r.ops[s->job];
    uint64_t now = cli_now_ms();
    long left = p->deadline_ms > now ? (long)(p->deadline_ms - now) : 1;
    if (left > (long)ATTEMPT_TIMEOUT_MS)
        left = ATTEMPT_TIMEOUT_MS;
    char hdr[DRILL_ID_MAX + 32];
    const char *hdrs[2];
    cli_put_headers(op->id, hdr, sizeof hdr, hdrs);
    cli_xfer_post(&s->x, p->url, d->bodies + s->index * d->size, d->size, hdrs,
                  left);
    s->not_before_ms = p->not_before_ms;
}

static bool put_next(void *ctx, cli_slot *s)
{
    drill *d = ctx;
    pthread_mutex_lock(&d->mu);
    bool stop = d->stop;
    pthread_mutex_unlock(&d->mu);
    if (stop || grow((void **)&d->r.ops, &d->ops_cap, d->r.n_ops + 1,
                     sizeof(*d->r.ops)) != 0)
        return false;
    s->job = d->r.n_ops++;
    drill_op *op = &d->r.ops[s->job];
    memset(op, 0, sizeof *op);
    snprintf(op->id, sizeof op->id, "d%" PRIu64 "-%zu", d->seed, s->job);
    op->size = d->size;
    op_bytes(d, s->job, d->bodies + s->index * d->size);
    cli_sha256(d->bodies + s->index * d->size, d->size, op->digest);
    op->start_ms = now_rel(d);
    char url[CLI_URL_MAX];
    pick_url(d, url);
    cli_put_begin(&d->puts[s->index], url, PUT_TIMEOUT_MS);
    d->restarts[s->index] = 0;
    put_prepare(d, s);
    return true;
}

/* A definite refusal (4xx, or 500: nothing was appended) of a write sent
 * once is FAILED.  No answer, 503 and 504 leave its fate open, and so
 * does any refusal of a write sent again (an earlier attempt may have
 * committed). */
static drill_outcome outcome_of(long status, bool sent_again)
{
    if (status == 201)
        return DRILL_ACKED;
    if (!sent_again && ((status >= 400 && status < 500) || status == 500))
        return DRILL_FAILED;
    return DRILL_UNKNOWN;
}

static cli_pool_verdict put_done(void *ctx, cli_slot *s)
{
    drill *d = ctx;
    cli_put *p = &d->puts[s->index];
    drill_op *op = &d->r.ops[s->job];
    cli_put_next next = cli_put_answer(p, &s->x);
    uint64_t now = cli_now_ms();
    /* The node asked first did not answer: another may (the cluster
     * goes on without a dead or cut-off node). */
    if (next == CLI_PUT_FAILED && s->x.status == 0 && now < p->deadline_ms) {
        char url[CLI_URL_MAX];
        uint64_t deadline = p->deadline_ms;
        pick_url(d, url);
        cli_put_begin(p, url, deadline - now);
        d->restarts[s->index]++;
        put_prepare(d, s);
        s->not_before_ms = now + 100;
        return CLI_POOL_AGAIN;
    }
    if (next == CLI_PUT_AGAIN) {
        put_prepare(d, s);
        return CLI_POOL_AGAIN;
    }
    op->end_ms = now_rel(d);
    op->outcome =
        outcome_of(s->x.status, p->retries > 0 || d->restarts[s->index] > 0);
    /* A 201 whose index cannot be read stays acknowledged, at index 0:
     * the checker reports it rather than let it pass as unknown. */
    if (op->outcome == DRILL_ACKED &&
        !cli_json_u64(s->x.body, s->x.len, "index", &op->index))
        op->index = 0;
    pthread_mutex_lock(&d->mu);
    if (op->outcome == DRILL_ACKED)
        d->acked++;
    else if (op->outcome == DRILL_FAILED)
        d->failed++;
    else
        d->unknown++;
    pthread_mutex_unlock(&d->mu);
    return CLI_POOL_FREE;
}

static void *workload(void *arg)
{
    drill *d = arg;
    static const cli_pool_ops ops = {put_next, put_done};
    if (cli_pool_run(d->clients, CLI_JSON_MAX, &ops, d, d->werr,
                     sizeof d->werr) != 0 &&
        d->werr[0] == '\0')
        snprintf(d->werr, sizeof d->werr, "the workload stopped");
    return NULL;
}

/* ---- watching the nodes ----------------------------------------------- */

static void set_url(drill *d, size_t i)
{
    pthread_mutex_lock(&d->mu);
    memcpy(d->urls[i], d->cl.nodes[i].url, sizeof d->cl.nodes[i].url);
    pthread_mutex_unlock(&d->mu);
}

static void add_sample(drill *d, const drill_sample *s)
{
    if (grow((void **)&d->r.samples, &d->samples_cap, d->r.n_samples + 1,
             sizeof(*d->r.samples)) == 0)
        d->r.samples[d->r.n_samples++] = *s;
}

/* One round of status requests: samples, who is up, the leader, and
 * whether the fault awaiting recovery has recovered. */
static void sample(drill *d)
{
    uint64_t t = now_rel(d);
    for (size_t i = 0; i < d->n_nodes; i++) {
        /* A node that exits is a finding, unless the drill killed it. */
        int wst;
        pid_t pid = d->cl.nodes[i].pid;
        if (pid > 0 && waitpid(pid, &wst, WNOHANG) == pid) {
            d->cl.nodes[i].pid = 0;
            problem(d, "node-exited",
                    "%s (pid %ld) exited on its own (%s %d); its log: "
                    "%s/log",
                    d->cl.nodes[i].id, (long)pid,
                    WIFSIGNALED(wst) ? "signal" : "status",
                    WIFSIGNALED(wst) ? WTERMSIG(wst) : WEXITSTATUS(wst),
                    d->cl.nodes[i].dir);
            d->keep = true;
        }
        cli_status st;
        bool up =
            d->cl.nodes[i].pid > 0 && cli_cluster_status(&d->cl, i, &st) == 0;
        drill_sample s = {t, (int)i, up, up ? st.commit_index : 0,
                          up ? st.data_index : 0};
        add_sample(d, &s);
        pthread_mutex_lock(&d->mu);
        d->up[i] = up;
        pthread_mutex_unlock(&d->mu);
        if (up && strcmp(st.role, "leader") == 0)
            d->leader = i;
        /* Both: a deposed leader's data index covers its own log, which
         * may still disagree with the new leader's. */
        if (d->pending_fault >= 0 && up) {
            drill_fault *f = &d->r.faults[d->pending_fault];
            if (f->node == (int)i && f->end_ms > 0 &&
                st.data_index >= d->recovery_target &&
                st.commit_index >= d->recovery_target) {
                f->recovered_ms = t;
                d->pending_fault = -1;
            }
        }
    }
}

static void progress(drill *d, const char *scenario)
{
    pthread_mutex_lock(&d->mu);
    uint64_t a = d->acked, f = d->failed, u = d->unknown;
    pthread_mutex_unlock(&d->mu);
    char nodes[DRILL_MAX_NODES][64];
    size_t first =
        d->r.n_samples >= d->n_nodes ? d->r.n_samples - d->n_nodes : 0;
    for (size_t k = 0; k < d->n_nodes; k++) {
        const drill_sample *s = &d->r.samples[first + k];
        if (s->up)
            snprintf(nodes[k], sizeof nodes[k], " %s %" PRIu64 "/%" PRIu64,
                     d->cl.nodes[s->node].id, s->commit_index, s->data_index);
        else
            snprintf(nodes[k], sizeof nodes[k], " %s down",
                     d->cl.nodes[s->node].id);
    }
    say(d,
        "%-13s acked %" PRIu64 " failed %" PRIu64 " unknown %" PRIu64
        "; leader %s; commit/data%s%s%s%s%s",
        scenario, a, f, u, d->cl.nodes[d->leader].id, nodes[0], nodes[1],
        d->n_nodes > 2 ? nodes[2] : "", d->n_nodes > 3 ? nodes[3] : "",
        d->n_nodes > 4 ? nodes[4] : "");
}

/* Sample for ms milliseconds, printing progress now and then. */
static void watch(drill *d, uint64_t ms, const char *scenario)
{
    uint64_t end = cli_now_ms() + ms;
    static uint64_t last_progress;
    while (!cli_interrupted && cli_now_ms() < end) {
        sample(d);
        if (cli_now_ms() - last_progress >= PROGRESS_MS) {
            progress(d, scenario);
            last_progress = cli_now_ms();
        }
        cli_sleep_ms(SAMPLE_MS);
    }
}

/* ---- faults ----------------------------------------------------------- */

static drill_fault *
fault_begin(drill *d, const char *scenario, int node, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static drill_fault *
fault_begin(drill *d, const char *scenario, int node, const char *fmt, ...)
{
    if (grow((void **)&d->r.faults, &d->faults_cap, d->r.n_faults + 1,
             sizeof(*d->r.faults)) != 0)
        return NULL;
    drill_fault *f = &d->r.faults[d->r.n_faults++];
    memset(f, 0, sizeof *f);
    snprintf(f->scenario, sizeof f->scenario, "%s", scenario);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->what, sizeof f->what, fmt, ap);
    va_end(ap);
    f->node = node;
    f->start_ms = now_rel(d);
    say(d, "fault: %s", f->what);
    return f;
}

/* The fault is over: its node must now catch up with the leader's
 * commit index as it is now. */
static void fault_end(drill *d, drill_fault *f)
{
    f->end_ms = now_rel(d);
    cli_status st;
    d->recovery_target = 0;
    for (size_t i = 0; i < d->n_nodes; i++)
        if (d->cl.nodes[i].pid > 0 && cli_cluster_status(&d->cl, i, &st) == 0 &&
            st.commit_index > d->recovery_target)
            d->recovery_target = st.commit_index;
    d->pending_fault = f - d->r.faults;
    say(d, "healed: %s; %s must reach index %" PRIu64, f->what,
        f->node >= 0 ? d->cl.nodes[f->node].id : "every node",
        d->recovery_target);
}

static int restart(drill *d, size_t i, bool elsewhere)
{
    int rv = elsewhere
                 ? cli_cluster_start_elsewhere(&d->cl, i, START_TIMEOUT_MS)
                 : cli_cluster_start_node(&d->cl, i, START_TIMEOUT_MS);
    set_url(d, i);
    return rv;
}

static void kill_node(drill *d, size_t i)
{
    cli_cluster_signal(&d->cl, i, SIGKILL);
    int st = cli_cluster_reap(&d->cl, i, STOP_TIMEOUT_MS);
    if (st != -1 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
        problem(d, "node-exited", "%s had exited before the drill killed it",
                d->cl.nodes[i].id);
        d->keep = true;
    }
}

static size_t a_follower(drill *d)
{
    return (d->leader + 1 + (size_t)(rand64(&d->rng) % (d->n_nodes - 1))) %
           d->n_nodes;
}

/* POST /raft/v1/fault?drop=... to node i (the transport's hook). */
static int set_drops(drill *d, size_t i, const char *list)
{
    char url[CLI_URL_MAX + 256], auth[160];
    snprintf(url, sizeof url, "%s/raft/v1/fault?drop=%s", d->cl.nodes[i].url,
             list);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
    const char *hdrs[] = {auth, NULL};
    cli_xfer_post(&d->x, url, "", 0, hdrs, 5000);
    if (cli_xfer_perform(&d->x) != 0 || d->x.status != 204) {
        say(d, "partition: %s answered %ld to %s", d->cl.nodes[i].id,
            d->x.status, url);
        return -1;
    }
    return 0;
}

/* Cut the leader (and, with 5 nodes, one follower) from the others. */
static int partition(drill *d, drill_fault *f, bool heal)
{
    bool minority[DRILL_MAX_NODES] = {false};
    minority[f->node] = true;
    if (d->n_nodes == 5)
        minority[((size_t)f->node + 1) % d->n_nodes] = true;
    int rv = 0;
    /* A real cut: each side's packets to the other go nowhere. */
    for (size_t i = 0; d->use_netns && i < d->n_nodes; i++)
        for (size_t j = 0; j < d->n_nodes; j++)
            if (minority[i] != minority[j] &&
                drill_net_cut(&d->net, i, j, !heal) != 0)
                rv = -1;
    for (size_t i = 0; !d->use_netns && i < d->n_nodes; i++) {
        char list[128] = "";
        for (size_t j = 0; j < d->n_nodes && !heal; j++)
            if (minority[i] != minority[j]) {
                if (list[0] != '\0')
                    strcat(list, ",");
                strcat(list, d->cl.nodes[j].id);
            }
        if (set_drops(d, i, list) != 0)
            rv = -1;
    }
    return rv;
}

/* ---- membership ------------------------------------------------------ */

/* A membership request (method, path, body NULL: none) to the node that
 * leads as the last sample saw it, following redirects, retried while it
 * cannot be answered yet: no answer, 503 (no leader), 409 (a learner
 * still behind, a change under way).  Returns the last status; d->x has
 * the answer. */
static long member_call(drill *d, const char *method, const char *path,
                        const char *body, const char *scenario)
{
    uint64_t deadline = cli_now_ms() + MEMBER_TIMEOUT_MS;
    char at[CLI_URL_MAX + 128];
    snprintf(at, sizeof at, "%s%s", d->cl.nodes[d->leader].url, path);
    for (;;) {
        cli_xfer_post(&d->x, at, body != NULL ? body : "",
                      body != NULL ? strlen(body) : 0, NULL, 10000);
        if (strcmp(method, "POST") != 0)
            cli_xfer_method(&d->x, method);
        cli_xfer_perform(&d->x);
        long st = d->x.status;
        if (st == 307 && d->x.location[0] != '\0') {
            snprintf(at, sizeof at, "%s", d->x.location);
            continue;
        }
        if ((st != 0 && st != 409 && st != 503) || cli_now_ms() >= deadline ||
            cli_interrupted)
            return st;
        watch(d, 200, scenario);
        snprintf(at, sizeof at, "%s%s", d->cl.nodes[d->leader].url, path);
    }
}

/* Check a membership answer: 200, else say what came and return -1. */
static int member_ok(drill *d, long status, const char *what)
{
    if (status == 200)
        return 0;
    char msg[256];
    say(d, "%s: %ld %s", what, status,
        cli_xfer_errtext(&d->x, msg, sizeof msg));
    return -1;
}

/* Add node i (started with --join) as a learner (thesis §4.2.1). */
static int add_learner(drill *d, size_t i, const char *scenario)
{
    const cli_node *nd = &d->cl.nodes[i];
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"url\":\"%s\"}", nd->id,
             nd->url);
    return member_ok(d, member_call(d, "POST", "/v1/members", body, scenario),
                     "adding a learner");
}

/* Promote the learner i, retried until it caught up. */
static int promote(drill *d, size_t i, const char *scenario)
{
    const cli_node *nd = &d->cl.nodes[i];
    char path[64];
    snprintf(path, sizeof path, "/v1/members/%s/promote", nd->id);
    if (member_ok(d, member_call(d, "POST", path, NULL, scenario),
                  "promoting it") != 0)
        return -1;
    say(d, "%s promoted", nd->id);
    return 0;
}

static int add_and_promote(drill *d, size_t i, const char *scenario)
{
    return add_learner(d, i, scenario) == 0 && promote(d, i, scenario) == 0
               ? 0
               : -1;
}

static int remove_member(drill *d, size_t i, const char *scenario)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/members/%s", d->cl.nodes[i].id);
    if (member_ok(d, member_call(d, "DELETE", path, NULL, scenario),
                  "removing a member") != 0)
        return -1;
    say(d, "%s removed", d->cl.nodes[i].id);
    return 0;
}

/* Start a new server with --join (in old's network namespace, if any)
 * to take old's place: a server that lost its disk, or that is replaced,
 * comes back under a new id (docs/operations.md).  *x gets its index. */
static int start_new_server(drill *d, size_t old, size_t *x)
{
    if (cli_cluster_add_node(&d->cl, x) != 0)
        return -1;
    cli_node *nx = &d->cl.nodes[*x];
    if (d->use_netns) {
        memcpy(nx->host, d->cl.nodes[old].host, sizeof nx->host);
        memcpy(nx->netns, d->cl.nodes[old].netns, sizeof nx->netns);
        if (cli_cluster_new_port(&d->cl, *x) != 0)
            return -1;
    }
    if (cli_cluster_start_node(&d->cl, *x, START_TIMEOUT_MS) != 0)
        return -1;
    say(d, "%s started with --join at %s", nx->id, nx->url);
    return 0;
}

/* The new server x takes the place of old, stopped and no member any
 * more, in the drill: old's index (and namespace) from now on, so that
 * the workload, the samples and the checks follow it.  x is the last
 * node of the cluster (cli_cluster_add_node). */
static void take_place(drill *d, size_t old, size_t x)
{
    say(d, "%s takes the place of %s", d->cl.nodes[x].id, d->cl.nodes[old].id);
    pthread_mutex_lock(&d->mu);
    d->cl.nodes[old] = d->cl.nodes[x];
    d->cl.n--;
    pthread_mutex_unlock(&d->mu);
    set_url(d, old);
}

/* Node i lost its whole data directory: started with its old arguments
 * it must refuse (exit 2: the start guard, docs/operations.md).  Then it
 * is replaced as an operator would: removed, a new server started with
 * --join and added as a learner, and promoted once it recovered
 * (run_scenario), so that the recovery time is its catching up with the
 * whole log. */
static int wiped_rejoin(drill *d, size_t i, const char *scenario)
{
    uint64_t at = cli_now_ms();
    int ws = cli_cluster_run_node(&d->cl, i, REFUSE_TIMEOUT_MS);
    if (ws == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 2) {
        problem(d, "wiped-refused",
                "%s, restarted with a wiped data directory and its old "
                "arguments, was not refused (wait status %d); its log: %s/log",
                d->cl.nodes[i].id, ws, d->cl.nodes[i].dir);
        d->keep = true;
    } else {
        say(d, "%s refused to start (exit 2) after %" PRIu64 " ms",
            d->cl.nodes[i].id, cli_now_ms() - at);
    }
    size_t x;
    if (remove_member(d, i, scenario) != 0 || start_new_server(d, i, &x) != 0 ||
        add_learner(d, x, scenario) != 0)
        return -1;
    take_place(d, i, x);
    d->promote_after = (long)i;
    return 0;
}

/* Wait (at most CATCH_UP_WAIT_MS) until x's data index is within
 * CATCH_UP_LAG entries of the leader's commit index, as an operator
 * checks `refraft status` before a transfer: the core gives a transfer
 * one election time-out, which a target a few hundred entries behind
 * misses under a slow build. */
#define CATCH_UP_WAIT_MS 5000
#define CATCH_UP_LAG 16
static void wait_caught_up(drill *d, size_t x)
{
    uint64_t until = cli_now_ms() + CATCH_UP_WAIT_MS;
    while (cli_now_ms() < until) {
        cli_status tx, tl;
        if (cli_cluster_status(&d->cl, x, &tx) == 0 &&
            cli_cluster_status(&d->cl, d->leader, &tl) == 0 &&
            tx.data_index + CATCH_UP_LAG >= tl.commit_index)
            return;
        cli_sleep_ms(50);
    }
}

/* Hand leadership to node x (thesis §3.10), once it has caught up.  A
 * transfer that did not end in time (504: the target was still catching
 * up, under a slow build) is asked again, as an operator would, unless
 * x leads by then. */
static int transfer_to(drill *d, size_t x, const char *scenario)
{
    char body[64];
    snprintf(body, sizeof body, "{\"to\":\"%s\"}", d->cl.nodes[x].id);
    for (int attempt = 1;; attempt++) {
        wait_caught_up(d, x);
        long st = member_call(d, "POST", "/v1/transfer", body, scenario);
        cli_status now;
        if (st == 504 && cli_cluster_status(&d->cl, x, &now) == 0 &&
            strcmp(now.role, "leader") == 0)
            return 0;
        if (st != 504 || attempt == 5)
            return member_ok(d, st, "the transfer");
        say(d, "the transfer to %s did not end in time: again",
            d->cl.nodes[x].id);
    }
}

/* Replace the voter old by a new server: start it with --join, add it as
 * a learner, promote it, hand it leadership (thesis §3.10), remove old
 * and stop it; the new server takes old's place. */
static int replace_voter(drill *d, size_t old, const char *scenario)
{
    size_t x;
    if (start_new_server(d, old, &x) != 0 ||
        add_and_promote(d, x, scenario) != 0)
        return -1;
    if (transfer_to(d, x, scenario) != 0)
        return -1;
    say(d, "%s leads", d->cl.nodes[x].id);
    if (remove_member(d, old, scenario) != 0)
        return -1;
    cli_cluster_signal(&d->cl, old, SIGTERM);
    (void)cli_cluster_reap(&d->cl, old, STOP_TIMEOUT_MS);
    take_place(d, old, x);
    d->leader = old;
    return 0;
}

static int run_fault(drill *d, const char *name)
{
    uint64_t pause = between(&d->rng, 500, 2500);
    /* Who leads now, as every node sees it: the fault's target is chosen
     * relative to it. */
    if (cli_cluster_wait_leader(&d->cl, LEADER_TIMEOUT_MS, &d->leader) != 0)
        return -1;
    size_t leader = d->leader, v = a_follower(d);
    drill_fault *f = NULL;
    int rv = 0;
    if (strcmp(name, "follower-kill") == 0 ||
        strcmp(name, "leader-kill") == 0) {
        size_t i = name[0] == 'l' ? leader : v;
        f = fault_begin(
            d, name, (int)i, "SIGKILL %s (%s), restart after %" PRIu64 " ms",
            d->cl.nodes[i].id, i == leader ? "leader" : "follower", pause);
        kill_node(d, i);
        watch(d, pause, name);
        rv = restart(d, i, false);
    } else if (strcmp(name, "wipe-records") == 0) {
        f = fault_begin(d, name, (int)v,
                        "SIGKILL %s, wipe its records, restart after %" PRIu64
                        " ms",
                        d->cl.nodes[v].id, pause);
        kill_node(d, v);
        rv = cli_cluster_wipe_records(&d->cl, v);
        watch(d, pause, name);
        if (rv == 0)
            rv = restart(d, v, false);
    } else if (strcmp(name, "new-port") == 0) {
        f = fault_begin(d, name, (int)v,
                        "SIGKILL %s, restart on a new port after %" PRIu64
                        " ms",
                        d->cl.nodes[v].id, pause);
        kill_node(d, v);
        watch(d, pause, name);
        rv = restart(d, v, true);
        if (rv == 0)
            say(d, "%s now at %s", d->cl.nodes[v].id, d->cl.nodes[v].url);
    } else if (strcmp(name, "partition") == 0) {
        f = fault_begin(
            d, name, (int)leader,
            "cut %s (the leader)%s from the others for %" PRIu64 " ms",
            d->cl.nodes[leader].id, d->n_nodes == 5 ? " and its neighbour" : "",
            pause + 1000);
        rv = partition(d, f, false);
        watch(d, pause + 1000, name);
        if (partition(d, f, true) != 0)
            rv = -1;
    } else if (strcmp(name, "wipe-node") == 0) {
        f = fault_begin(d, name, (int)v,
                        "SIGKILL %s, wipe its data dir, restart after %" PRIu64
                        " ms: refused; replace by a learner",
                        d->cl.nodes[v].id, pause);
        kill_node(d, v);
        rv = cli_cluster_wipe_dir(&d->cl, v);
        watch(d, pause, name);
        if (rv == 0)
            rv = wiped_rejoin(d, v, name);
    } else if (strcmp(name, "membership") == 0) {
        f = fault_begin(d, name, (int)leader,
                        "replace %s (the leader): add a learner, promote it, "
                        "transfer to it, remove %s",
                        d->cl.nodes[leader].id, d->cl.nodes[leader].id);
        rv = replace_voter(d, leader, name);
    } else { /* slow-follower */
        f = fault_begin(d, name, (int)v,
                        "freeze %s 200 ms in every 300 for %" PRIu64 " ms",
                        d->cl.nodes[v].id, pause + 1000);
        uint64_t end = cli_now_ms() + pause + 1000;
        while (!cli_interrupted && cli_now_ms() < end) {
            cli_cluster_signal(&d->cl, v, SIGSTOP);
            cli_sleep_ms(200);
            cli_cluster_signal(&d->cl, v, SIGCONT);
            watch(d, 100, name);
        }
    }
    if (f == NULL)
        return -1;
    fault_end(d, f);
    return rv;
}

static int run_scenario(drill *d, const char *name)
{
    if (grow((void **)&d->r.scenarios, &d->scenarios_cap, d->r.n_scenarios + 1,
             sizeof(*d->r.scenarios)) != 0)
        return -1;
    drill_scenario_run *s = &d->r.scenarios[d->r.n_scenarios++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->start_ms = now_rel(d);
    say(d, "scenario %s", name);
    uint64_t end = cli_now_ms() + d->duration_s * 1000;
    watch(d, 1000, name);
    int rv = run_fault(d, name);
    uint64_t healed = cli_now_ms();
    while (!cli_interrupted && d->pending_fault >= 0 &&
           cli_now_ms() - healed < RECOVERY_TIMEOUT_MS)
        watch(d, SAMPLE_MS, name);
    if (d->pending_fault >= 0) {
        say(d, "%s did not recover within %u s",
            d->cl.nodes[d->r.faults[d->pending_fault].node].id,
            RECOVERY_TIMEOUT_MS / 1000);
        d->pending_fault = -1;
    } else {
        const drill_fault *f = &d->r.faults[d->r.n_faults - 1];
        say(d, "%s recovered %" PRIu64 " ms after the fault ended",
            f->node >= 0 ? d->cl.nodes[f->node].id : "",
            f->recovered_ms - f->end_ms);
    }
    if (d->promote_after >= 0 && rv == 0)
        rv = promote(d, (size_t)d->promote_after, name);
    d->promote_after = -1;
    if (cli_now_ms() < end)
        watch(d, end - cli_now_ms(), name);
    s = &d->r.scenarios[d->r.n_scenarios - 1];
    s->end_ms = now_rel(d);
    return rv;
}

/* ---- the end: convergence, the nodes' views --------------------------- */

/* Wait until every node is up with the same commit index and holds the
 * records up to it. */
static int converge(drill *d)
{
    uint64_t start = cli_now_ms();
    while (!cli_interrupted && cli_now_ms() - start < CONVERGE_TIMEOUT_MS) {
        cli_status st[DRILL_MAX_NODES];
        bool ok = true;
        for (size_t i = 0; i < d->n_nodes && ok; i++)
            ok = cli_cluster_status(&d->cl, i, &st[i]) == 0;
        for (size_t i = 1; i < d->n_nodes && ok; i++)
            ok = st[i].commit_index == st[0].commit_index;
        for (size_t i = 0; i < d->n_nodes && ok; i++)
            ok = st[i].data_index >= st[i].commit_index &&
                 st[i].applied_index >= st[i].commit_index;
        if (ok)
            return 0;
        cli_sleep_ms(200);
    }
    return -1;
}

/* The span of one JSON object starting at p (a '{'), strings skipped. */
static size_t object_len(const char *p, const char *end)
{
    int depth = 0;
    bool str = false, esc = false;
    for (const char *q = p; q < end; q++) {
        if (str) {
            if (esc)
                esc = false;
            else if (*q == '\\')
                esc = true;
            else if (*q == '"')
                str = false;
        } else if (*q == '"') {
            str = true;
        } else if (*q == '{') {
            depth++;
        } else if (*q == '}' && --depth == 0) {
            return (size_t)(q - p) + 1;
        }
    }
    return 0;
}

static int hex_digest(const char *hex, uint8_t *out)
{
    for (size_t i = 0; i < CLI_SHA256_LEN; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* One entry of GET /v1/log. */
static int parse_entry(const char *o, size_t len, drill_entry *e)
{
    char type[16], hex[2 * CLI_SHA256_LEN + 1];
    memset(e, 0, sizeof *e);
    if (!cli_json_u64(o, len, "index", &e->index) ||
        !cli_json_u64(o, len, "term", &e->term) ||
        !cli_json_str(o, len, "type", type, sizeof type))
        return -1;
    if (strcmp(type, "noop") == 0) {
        e->type = DRILL_NOOP;
    } else if (strcmp(type, "void") == 0) {
        e->type = DRILL_VOID;
        if (!cli_json_u64(o, len, "voided", &e->voided))
            return -1;
    } else if (strcmp(type, "config") == 0) {
        /* Nodes must agree on the members too: the checker compares the
         * SHA-256 of their list, as written (no nested array in it). */
        e->type = DRILL_CONFIG;
        const char *m = memmem(o, len, "\"members\":[", 11);
        const char *end =
            m != NULL ? memchr(m, ']', len - (size_t)(m - o)) : NULL;
        if (end == NULL)
            return -1;
        cli_sha256(m, (size_t)(end - m), e->digest);
    } else if (strcmp(type, "ref") == 0) {
        e->type = DRILL_REF;
        if (!cli_json_u64(o, len, "size", &e->size) ||
            !cli_json_str(o, len, "digest", hex, sizeof hex) ||
            hex_digest(hex, e->digest) != 0)
            return -1;
        /* An id longer than ours is nobody's: cut it, the checker still
         * finds it is no op's. */
        char id[3 * 255 + 1];
        if (!cli_json_str(o, len, "id", id, sizeof id))
            return -1;
        size_t n =
            strlen(id) < sizeof e->id - 1 ? strlen(id) : sizeof e->id - 1;
        memcpy(e->id, id, n);
        e->id[n] = '\0';
    } else {
        return -1;
    }
    return 0;
}

/* Node i's whole log, a page at a time. */
static int read_log(drill *d, size_t i, drill_node_view *v)
{
    size_t cap = 0;
    uint64_t from = 1;
    for (;;) {
        char url[CLI_URL_MAX + 64];
        snprintf(url, sizeof url, "%s/v1/log?from=%" PRIu64 "&max=%u",
                 d->cl.nodes[i].url, from, LOG_PAGE);
        cli_xfer_get(&d->x, url, 30000);
        if (cli_xfer_perform(&d->x) != 0 || d->x.status != 200) {
            say(d, "reading %s's log failed: %ld", d->cl.nodes[i].id,
                d->x.status);
            return -1;
        }
        const char *body = d->x.body, *end = body + d->x.len;
        const char *p = strstr(body, "\"entries\":[");
        if (p == NULL)
            return -1;
        p += strlen("\"entries\":[");
        size_t got = 0;
        while (p < end && *p != ']') {
            if (*p != '{') {
                p++;
                continue;
            }
            size_t len = object_len(p, end);
            if (len == 0 ||
                grow((void **)&v->log, &cap, v->log_len + 1, sizeof(*v->log)) !=
                    0 ||
                parse_entry(p, len, &v->log[v->log_len]) != 0 ||
                v->log[v->log_len].index != v->log_len + 1)
                return -1;
            v->log_len++;
            got++;
            p += len;
        }
        if (got == 0)
            return 0;
        from += got;
    }
}

/* GET every acknowledged record from every node. */
typedef struct fetch_all {
    drill *d;
    size_t next; /* job: node * n_ops + op */
    size_t jobs;
} fetch_all;

static bool get_next(void *ctx, cli_slot *s)
{
    fetch_all *a = ctx;
    drill *d = a->d;
    while (a->next < a->jobs &&
           d->r.ops[a->next % d->r.n_ops].outcome != DRILL_ACKED)
        a->next++;
    if (a->next == a->jobs)
        return false;
    s->job = a->next++;
    char url[CLI_URL_MAX + DRILL_ID_MAX + 32];
    snprintf(url, sizeof url, "%s/v1/records/%s",
             d->cl.nodes[s->job / d->r.n_ops].url,
             d->r.ops[s->job % d->r.n_ops].id);
    cli_xfer_get(&s->x, url, 30000);
    return true;
}

static cli_pool_verdict get_done(void *ctx, cli_slot *s)
{
    fetch_all *a = ctx;
    drill *d = a->d;
    drill_node_view *v = &d->r.nodes[s->job / d->r.n_ops];
    size_t op = s->job % d->r.n_ops;
    if (s->x.status == 200) {
        v->has_record[op] = true;
        cli_sha256(s->x.body, s->x.len, v->record_digest[op]);
    }
    return CLI_POOL_FREE;
}

static int read_views(drill *d)
{
    d->r.nodes = calloc(d->n_nodes, sizeof(*d->r.nodes));
    if (d->r.nodes == NULL)
        return -1;
    for (size_t i = 0; i < d->n_nodes; i++) {
        drill_node_view *v = &d->r.nodes[i];
        cli_status st;
        snprintf(v->id, sizeof v->id, "%s", d->cl.nodes[i].id);
        v->has_record = calloc(d->r.n_ops + 1, sizeof(*v->has_record));
        v->record_digest = calloc(d->r.n_ops + 1, sizeof(*v->record_digest));
        if (v->has_record == NULL || v->record_digest == NULL)
            return -1;
        int tries = 0;
        while (tries < 10 && cli_cluster_status(&d->cl, i, &st) != 0) {
            tries++;
            cli_sleep_ms(500);
        }
        /* A node that does not answer holds nothing, as far as anyone can
         * tell: the checker then finds what it should hold. */
        if (tries == 10) {
            problem(d, "node-unreadable", "%s does not answer its status",
                    v->id);
            continue;
        }
        v->commit_index = st.commit_index;
        v->applied_index = st.applied_index;
        v->data_index = st.data_index;
        if (read_log(d, i, v) != 0)
            return -1;
    }
    if (d->r.n_ops == 0)
        return 0;
    static const cli_pool_ops ops = {get_next, get_done};
    fetch_all a = {d, 0, d->n_nodes * d->r.n_ops};
    char err[128];
    return cli_pool_run(16, CLI_RECORD_MAX, &ops, &a, err, sizeof err);
}

/* ---- setup and the command ---------------------------------------------- */

static int start(drill *d)
{
    const char *base = getenv("TMPDIR");
    snprintf(d->tmp, sizeof d->tmp, "%s/refraft-drill.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(d->tmp) == NULL) {
        perror("refraft drill: mkdtemp");
        d->tmp[0] = '\0';
        return -1;
    }
    if (cli_cluster_init(&d->cl, d->tmp, d->n_nodes, NULL, NULL, true) != 0)
        return -1;
    d->cl_ready = true;
    d->cl.log_level = "warn";
    d->cl.fault_hook = true;
    if (d->use_netns) {
        snprintf(d->cl.ip_exe, sizeof d->cl.ip_exe, "%s", d->ip_exe);
        if (drill_net_create(&d->net, d->ip_exe, d->n_nodes) != 0) {
            d->use_netns = false;
            if (strcmp(d->partition_opt, "netns") == 0)
                return -1;
            /* auto: what this machine allows. */
            snprintf(d->r.partition_method, sizeof d->r.partition_method,
                     "transport hook");
            say(d, "network namespaces unavailable: partitions by the "
                   "transport hook");
        }
    }
    if (d->use_netns) {
        for (size_t i = 0; i < d->n_nodes; i++) {
            snprintf(d->cl.nodes[i].host, sizeof d->cl.nodes[i].host, "%s",
                     d->net.host[i]);
            snprintf(d->cl.nodes[i].netns, sizeof d->cl.nodes[i].netns, "%s",
                     d->net.ns[i]);
        }
    }
    uint8_t *tok = NULL;
    size_t len = 0;
    char err[256];
    if (cli_read_file(d->cl.token_file, sizeof d->token - 1, &tok, &len, err,
                      sizeof err) != 0) {
        fprintf(stderr, "refraft drill: %s\n", err);
        return -1;
    }
    memcpy(d->token, tok, len);
    d->token[len] = '\0';
    d->token[strcspn(d->token, "\r\n")] = '\0';
    free(tok);
    say(d, "starting %zu nodes on 127.0.0.1 under %s", d->n_nodes, d->tmp);
    if (cli_cluster_start(&d->cl, START_TIMEOUT_MS) != 0 ||
        cli_cluster_wait_leader(&d->cl, LEADER_TIMEOUT_MS, &d->leader) != 0)
        return -1;
    for (size_t i = 0; i < d->n_nodes; i++) {
        set_url(d, i);
        d->up[i] = true;
    }
    say(d, "%s leads", d->cl.nodes[d->leader].id);
    return 0;
}

static int start_workload(drill *d)
{
    d->puts = calloc(d->clients, sizeof(*d->puts));
    d->restarts = calloc(d->clients, sizeof(*d->restarts));
    d->bodies = malloc(d->clients * d->size);
    if (d->puts == NULL || d->restarts == NULL || d->bodies == NULL)
        return -1;
    d->wrng = d->seed ^ 0x5bd1e995u;
    if (pthread_create(&d->worker, NULL, workload, d) != 0)
        return -1;
    d->worker_running = true;
    return 0;
}

static void stop_workload(drill *d)
{
    if (!d->worker_running)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->worker, NULL);
    d->worker_running = false;
    /* Writes that never ended: their fate is open. */
    for (size_t k = 0; k < d->r.n_ops; k++)
        if (d->r.ops[k].outcome == 0) {
            d->r.ops[k].outcome = DRILL_UNKNOWN;
            d->r.ops[k].end_ms = now_rel(d);
        }
}

static int write_report(drill *d, const drill_violation *v, size_t nv)
{
    if (mkdir(d->report_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "refraft drill: %s: %s\n", d->report_dir,
                strerror(errno));
        return -1;
    }
    char path[CLI_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/report.json", d->report_dir);
    FILE *f = fopen(path, "w");
    int rv = f != NULL ? drill_report_json(f, &d->r, v, nv) : -1;
    if (f != NULL && fclose(f) != 0)
        rv = -1;
    for (size_t s = 0; rv == 0 && s < d->r.n_scenarios; s++) {
        snprintf(path, sizeof path, "%s/%s.svg", d->report_dir,
                 d->r.scenarios[s].name);
        f = fopen(path, "w");
        rv = f != NULL ? drill_report_svg(f, &d->r, s) : -1;
        if (f != NULL && fclose(f) != 0)
            rv = -1;
    }
    if (rv != 0)
        fprintf(stderr, "refraft drill: writing %s: %s\n", path,
                strerror(errno));
    else
        say(d, "report written to %s (report.json and one SVG per scenario)",
            d->report_dir);
    return rv;
}

static void drill_usage(FILE *f)
{
    fprintf(f,
            "usage: refraft drill [SCENARIO ...] [--nodes 3|5] "
            "[--duration SECONDS]\n"
            "                     [--seed N] [--report DIR] [--clients C] "
            "[--size BYTES]\n"
            "                     [--partition auto|netns|hook] [--keep]\n"
            "Run a cluster of node processes on 127.0.0.1 under a client "
            "workload, inject\neach scenario's fault, then check that every "
            "acknowledged write is on every\nnode.  Scenarios: follower-kill "
            "leader-kill wipe-records new-port partition\nslow-follower "
            "wipe-node membership, or all (the default).  --duration is\n"
            "per scenario (10 s).\n"
            "Exit 0 when every check held, 1 when one did not (the seed and "
            "command\nthat reproduce it are printed), 2 for a bad command "
            "line.  See docs/drills.md.\n");
}

static int parse(drill *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},
        {"report", required_argument, NULL, 'r'},
        {"clients", required_argument, NULL, 'c'},
        {"size", required_argument, NULL, 'z'},
        {"partition", required_argument, NULL, 'p'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_uint("--nodes", optarg, 3, 5, &v) != 0 ||
                (v != 3 && v != 5)) {
                fprintf(stderr, "refraft drill: --nodes takes 3 or 5\n");
                return -1;
            }
            d->n_nodes = v;
            break;
        case 'd':
            if (cli_parse_uint("--duration", optarg, 5, 86400,
                               &d->duration_s) != 0)
                return -1;
            break;
        case 's':
            if (cli_parse_uint("--seed", optarg, 0, ULONG_MAX, &v) != 0)
                return -1;
            d->seed = v;
            break;
        case 'r':
            d->report_dir = optarg;
            break;
        case 'c':
            if (cli_parse_uint("--clients", optarg, 1, 256, &d->clients) != 0)
                return -1;
            break;
        case 'z':
            if (cli_parse_uint("--size", optarg, 1, 1u << 20, &d->size) != 0)
                return -1;
            break;
        case 'p':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "netns") != 0 &&
                strcmp(optarg, "hook") != 0) {
                fprintf(stderr, "refraft drill: --partition takes auto, "
                                "netns or hook\n");
                return -1;
            }
            d->partition_opt = optarg;
            break;
        case 'k':
            d->keep = true;
            break;
        case 'h':
            drill_usage(stdout);
            exit(CLI_EXIT_OK);
        default:
            return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        bool known = strcmp(argv[i], "all") == 0;
        for (size_t k = 0; k < N_SCENARIOS && !known; k++)
            known = strcmp(argv[i], all_scenarios[k]) == 0;
        if (!known) {
            fprintf(stderr, "refraft drill: no scenario \"%s\"\n", argv[i]);
            return -1;
        }
        if (strcmp(argv[i], "all") == 0) {
            d->n_scenarios = 0;
            for (size_t k = 0; k < N_SCENARIOS; k++)
                d->scenarios[d->n_scenarios++] = all_scenarios[k];
            break;
        }
        if (d->n_scenarios < N_SCENARIOS)
            d->scenarios[d->n_scenarios++] = argv[i];
    }
    if (d->n_scenarios == 0)
        for (size_t k = 0; k < N_SCENARIOS; k++)
            d->scenarios[d->n_scenarios++] = all_scenarios[k];
    return 0;
}

/* The command that repeats this drill. */
static void describe(drill *d)
{
    int off =
        snprintf(d->r.command, sizeof d->r.command,
                 "refraft drill --nodes %zu --duration %lu --seed %" PRIu64
                 " --clients %lu --size %lu",
                 d->n_nodes, d->duration_s, d->seed, d->clients, d->size);
    for (size_t k = 0;
         k < d->n_scenarios && off > 0 && (size_t)off < sizeof d->r.command;
         k++)
        off += snprintf(d->r.command + off, sizeof d->r.command - (size_t)off,
                        " %s", d->scenarios[k]);
}

static void free_result(drill_result *r)
{
    for (size_t i = 0; r->nodes != NULL && i < r->n_nodes; i++) {
        free(r->nodes[i].log);
        free(r->nodes[i].has_record);
        free(r->nodes[i].record_digest);
    }
    free(r->nodes);
    free(r->ops);
    free(r->faults);
    free(r->samples);
    free(r->scenarios);
}

static int finish(drill *d)
{
    say(d, "stopping the workload");
    stop_workload(d);
    say(d, "waiting for every node to hold the same committed log");
    if (converge(d) != 0)
        problem(d, "converged",
                "the nodes did not reach the same commit index, with the "
                "records up to it, within %u s",
                CONVERGE_TIMEOUT_MS / 1000);
    say(d, "reading every node's log and every acknowledged record");
    if (read_views(d) != 0) {
        fprintf(stderr,
                "refraft drill: could not read the nodes' views "
                "(seed %" PRIu64 ")\n",
                d->seed);
        d->keep = true;
        return -1;
    }
    /* Every node must stop cleanly (a sanitizer's report, a crash at
     * exit). */
    int unclean = cli_cluster_stop_all(&d->cl, STOP_TIMEOUT_MS);
    if (unclean > 0)
        problem(d, "node-exited", "%d nodes did not stop cleanly on SIGTERM",
                unclean);
    size_t nc = drill_check(&d->r, NULL, 0), nv = nc + d->n_problems;
    drill_violation *v = calloc(nv + 1, sizeof *v);
    if (v == NULL)
        return -1;
    (void)drill_check(&d->r, v, nc);
    if (d->n_problems > 0)
        memcpy(v + nc, d->problems, d->n_problems * sizeof *v);
    printf("\n");
    (void)drill_report_table(stdout, &d->r, v, nv);
    int rv = d->report_dir != NULL ? write_report(d, v, nv) : 0;
    free(v);
    if (nv > 0) {
        d->keep = true;
        printf("\n%zu violations (seed %" PRIu64 ")\n", nv, d->seed);
        return 1;
    }
    printf("\nevery check held (seed %" PRIu64 ")\n", d->seed);
    return rv;
}

int cli_cmd_drill(int argc, char **argv)
{
    drill *d = calloc(1, sizeof *d);
    if (d == NULL)
        return CLI_EXIT_FAIL;
    d->n_nodes = 3;
    d->duration_s = 10;
    d->clients = 8;
    d->size = 256;
    d->partition_opt = "auto";
    d->pending_fault = -1;
    d->promote_after = -1;
    uint64_t now = cli_now_ms();
    d->seed = now;
    if (parse(d, argc, argv) != 0) {
        drill_usage(stderr);
        free(d);
        return CLI_EXIT_USAGE;
    }
    d->rng = d->seed * 0x2545f4914f6cdd1dull + 1;
    d->r.seed = d->seed;
    d->r.n_nodes = d->n_nodes;
    /* Network namespaces when this process may make them (root, ip(8)),
     * else the transport's hook. */
    d->use_netns = strcmp(d->partition_opt, "hook") != 0 &&
                   drill_net_available(d->ip_exe, sizeof d->ip_exe);
    if (!d->use_netns && strcmp(d->partition_opt, "netns") == 0) {
        fprintf(stderr, "refraft drill: --partition netns needs root and "
                        "ip(8)\n");
        free(d);
        return CLI_EXIT_FAIL;
    }
    snprintf(d->r.partition_method, sizeof d->r.partition_method, "%s",
             d->use_netns ? "network namespaces" : "transport hook");
    describe(d);
    pthread_mutex_init(&d->mu, NULL);
    cli_catch_signals();
    d->t0 = cli_now_ms();
    int rv = cli_xfer_init(&d->x, CLI_JSON_MAX * 64) == 0 ? 0 : -1;
    say(d, "drill: %s", d->r.command);
    if (rv == 0)
        rv = start(d);
    if (rv == 0)
        rv = start_workload(d);
    for (size_t k = 0; rv == 0 && k < d->n_scenarios && !cli_interrupted; k++)
        if (run_scenario(d, d->scenarios[k]) != 0) {
            /* A node left down or a partition left in place would make
             * every later figure meaningless. */
            problem(d, "fault-injection",
                    "scenario %s: the fault could not be injected or "
                    "healed as planned; the scenarios after it were not run",
                    d->scenarios[k]);
            break;
        }
    if (rv == 0 && cli_interrupted)
        rv = -1;
    if (rv == 0)
        rv = finish(d);
    else
        stop_workload(d);
    if (d->werr[0] != '\0')
        fprintf(stderr, "refraft drill: workload: %s\n", d->werr);
    if (d->cl_ready) {
        (void)cli_cluster_stop_all(&d->cl, STOP_TIMEOUT_MS);
        cli_cluster_free(&d->cl);
    }
    if (d->use_netns)
        drill_net_destroy(&d->net);
    /* The nodes' logs are the evidence of a failed drill. */
    if (rv != 0 && !cli_interrupted)
        d->keep = true;
    if (d->tmp[0] != '\0' && !d->keep)
        cli_rmtree(d->tmp);
    else if (d->tmp[0] != '\0')
        printf("kept %s\n", d->tmp);
    cli_xfer_free(&d->x);
    free(d->puts);
    free(d->restarts);
    free(d->bodies);
    free(d->problems);
    free_result(&d->r);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return rv == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
