/* itest.c - integration tests: real `refraft node` processes on
 * 127.0.0.1, driven over HTTP.  One scenario per run:
 *
 *   refraft-itest PATH/TO/refraft SCENARIO
 *
 * Every scenario starts its own cluster in a fresh temporary directory
 * and stops it and removes the directory on every way out: the nodes are
 * tied to this process (PR_SET_PDEATHSIG), so even a crash or ctest's
 * time-out kill takes them along. */
#define _GNU_SOURCE /* mkdtemp */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "refraft/sweeper.h"
#include "refraft/wire.h"

#include "cluster.h"
#include "jsonget.h"
#include "put.h"
#include "util.h"
#include "xfer.h"

#define START_MS 15000u
#define LEADER_MS 15000u
#define CATCH_UP_MS 15000u
#define PUT_MS 15000u

static const char *refraft_exe;
static char tmp[1024]; /* TMPDIR/refraft-itest.XXXXXX */
static cli_cluster cl;
static bool cl_ready;
static cli_xfer x;                 /* the test's own requests */
static char cli_dir[CLI_PATH_MAX]; /* the `cluster up` scenario's DIR */
static uint64_t t0;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    printf("[%6.2fs] ", (double)(cli_now_ms() - t0) / 1000.0);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static void fail_at(int line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_at(int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL (itest.c:%d): ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* Check cond; when it does not hold, say why and leave the scenario. */
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fail_at(__LINE__, __VA_ARGS__);                                    \
            return -1;                                                         \
        }                                                                      \
    } while (0)

/* ---- helpers ---------------------------------------------------------- */

static int start_cluster(size_t n, size_t *leader)
{
    if (cli_cluster_init(&cl, tmp, n, NULL, refraft_exe, true) != 0)
        return -1;
    cl_ready = true;
    cl.log_level = "debug";
    if (cli_cluster_start(&cl, START_MS) != 0)
        return -1;
    if (cli_cluster_wait_leader(&cl, LEADER_MS, leader) != 0) {
        fprintf(stderr, "no leader within %u ms\n", LEADER_MS);
        return -1;
    }
    note("%zu nodes up; %s leads", n, cl.nodes[*leader].id);
    return 0;
}

/* A follower other than skip (pass cl.n to skip none). */
static size_t follower(size_t leader, size_t skip)
{
    for (size_t i = 0; i < cl.n; i++)
        if (i != leader && i != skip)
            return i;
    return cl.n;
}

typedef struct record {
    char id[CLI_SHA256_HEX];
    uint8_t bytes[1024];
    size_t len;
    uint8_t digest[CLI_SHA256_LEN];
} record;

static void make_record(record *r, size_t len)
{
    r->len = len;
    if (cli_random(r->bytes, len) != 0)
        memset(r->bytes, 0x5a, len);
    cli_sha256(r->bytes, len, r->digest);
    cli_hex(r->digest, CLI_SHA256_LEN, r->id);
}

/* Store r through the node at base (following redirects); the answer
 * must be 201 naming it by its digest. */
static int put_record(const char *base, const record *r, cli_put *p)
{
    char id[CLI_SHA256_HEX + 8];
    if (cli_put_run(p, &x, base, NULL, r->bytes, r->len, PUT_MS) !=
        CLI_PUT_DONE) {
        fprintf(stderr, "put through %s: %s\n", base, p->error);
        return -1;
    }
    if (x.status != 201 || !cli_json_str(x.body, x.len, "id", id, sizeof(id)) ||
        strcmp(id, r->id) != 0) {
        fprintf(stderr, "put through %s: %ld %s\n", base, x.status, x.body);
        return -1;
    }
    return 0;
}

static int put_many(const char *base, record *rs, size_t n)
{
    cli_put p;
    for (size_t i = 0; i < n; i++)
        if (put_record(base, &rs[i], &p) != 0)
            return -1;
    return 0;
}

/* GET r from node i until it is there (at most timeout_ms); its bytes
 * and its Repr-Digest must match. */
static int expect_record(size_t i, const record *r, uint64_t timeout_ms)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/records/%s", cl.nodes[i].url, r->id);
    uint64_t deadline = cli_now_ms() + timeout_ms;
    for (;;) {
        cli_xfer_get(&x, url, 5000);
        cli_xfer_perform(&x);
        if (x.status == 200)
            break;
        if (cli_now_ms() >= deadline || cli_interrupted) {
            fprintf(stderr, "%s: GET %s: %ld %s\n", cl.nodes[i].id, r->id,
                    x.status, x.status ? x.body : x.error);
            return -1;
        }
        cli_sleep_ms(50);
    }
    if (x.len != r->len || memcmp(x.body, r->bytes, r->len) != 0 ||
        cli_repr_digest_check(x.repr_digest, r->digest) != 1) {
        fprintf(stderr, "%s: %s: wrong bytes or Repr-Digest \"%s\"\n",
                cl.nodes[i].id, r->id, x.repr_digest);
        return -1;
    }
    return 0;
}

static int
expect_records(size_t i, const record *rs, size_t n, uint64_t timeout_ms)
{
    for (size_t k = 0; k < n; k++)
        if (expect_record(i, &rs[k], timeout_ms) != 0)
            return -1;
    return 0;
}

/* Wait until node i reports at least records records and a data index
 * at least data_index. */
static int
wait_holds(size_t i, uint64_t records, uint64_t data_index, cli_status *st)
{
    uint64_t deadline = cli_now_ms() + CATCH_UP_MS;
    for (;;) {
        bool have = cli_cluster_status(&cl, i, st) == 0;
        if (have && st->records >= records && st->data_index >= data_index)
            return 0;
        if (cli_now_ms() >= deadline || cli_interrupted) {
            if (have)
                fprintf(stderr,
                        "%s holds %llu records (want %llu), data index "
                        "%llu (want %llu)\n",
                        cl.nodes[i].id, (unsigned long long)st->records,
                        (unsigned long long)records,
                        (unsigned long long)st->data_index,
                        (unsigned long long)data_index);
            else
                fprintf(stderr, "%s does not answer /v1/status\n",
                        cl.nodes[i].id);
            return -1;
        }
        cli_sleep_ms(50);
    }
}

static void kill9(size_t i)
{
    note("SIGKILL %s (pid %ld)", cl.nodes[i].id, (long)cl.nodes[i].pid);
    cli_cluster_signal(&cl, i, SIGKILL);
    cli_cluster_reap(&cl, i, 5000);
}

static int read_token(char *out, size_t cap)
{
    FILE *f = fopen(cl.token_file, "r");
    if (f == NULL || fgets(out, (int)cap, f) == NULL) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* POST body to node i's path with the given headers; x has the answer. */
static long post(size_t i, const char *path, const void *body, size_t len,
                 const char *const *headers)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s%s", cl.nodes[i].url, path);
    cli_xfer_post(&x, url, body, len, headers, 30000);
    cli_xfer_perform(&x);
    return x.status;
}

/* GET url into x (at most 5 s); returns the status, 0 when no answer. */
static long get(const char *url)
{
    cli_xfer_get(&x, url, 5000);
    cli_xfer_perform(&x);
    return x.status;
}

/* The value of one metric in node i's GET /metrics; false when it does
 * not answer or has no such sample. */
static bool metric_of(size_t i, const char *name, uint64_t *out)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/metrics", cl.nodes[i].url);
    if (get(url) != 200)
        return false;
    size_t n = strlen(name);
    for (const char *l = x.body; l != NULL && *l != '\0';) {
        if (strncmp(l, name, n) == 0 && l[n] == ' ') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(l + n + 1, &end, 10);
            if (errno != 0 || end == l + n + 1)
                return false;
            *out = (uint64_t)v;
            return true;
        }
        l = strchr(l, '\n');
        if (l != NULL)
            l++;
    }
    return false;
}

/* Whether the file at path holds needle anywhere. */
static bool file_holds(const char *path, const char *needle)
{
    uint8_t *bytes;
    size_t len;
    char err[256];
    if (cli_read_file(path, 64u << 20, &bytes, &len, err, sizeof(err)) != 0)
        return false;
    bool found = memmem(bytes, len, needle, strlen(needle)) != NULL;
    free(bytes);
    return found;
}

/* Run argv (stdout into out, up to cap bytes); returns the exit status,
 * or -1. */
static int run(char *const *argv, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fds[0], out + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    out[n] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Start `refraft node --config path` in the background, tied to this
 * process; its pid, or -1. */
static pid_t spawn_config_node(const char *path, const char *log)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    FILE *f = freopen(log, "w", stderr);
    (void)f;
    char *argv[] = {(char *)refraft_exe, "node", "--config", (char *)path,
                    NULL};
    execv(argv[0], argv);
    _exit(127);
}

/* ---- GET /v1/log ------------------------------------------------------ */

/* One entry of a GET /v1/log answer. */
typedef struct log_entry {
    uint64_t index, term, size, voided;
    char type[8];
    char id[256];
    char digest[CLI_SHA256_HEX];
} log_entry;

/* A GET /v1/log answer. */
typedef struct log_page {
    uint64_t first, last, commit, applied, data;
    log_entry *e;
    size_t n;
} log_page;

static void log_page_free(log_page *pg)
{
    free(pg->e);
    memset(pg, 0, sizeof(*pg));
}

/* Past the JSON object at p (its '{'), strings and all; NULL when it does
 * not close before end. */
static const char *object_end(const char *p, const char *end)
{
    int depth = 0;
    bool in_string = false;
    for (; p < end; p++) {
        if (in_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* Parse the entry object at o (len bytes): index, term and type always;
 * id, size and digest for "ref"; voided for "void". */
static bool parse_entry(const char *o, size_t len, log_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (!cli_json_u64(o, len, "index", &e->index) ||
        !cli_json_u64(o, len, "term", &e->term) ||
        !cli_json_str(o, len, "type", e->type, sizeof(e->type)))
        return false;
    if (strcmp(e->type, "ref") == 0)
        return cli_json_str(o, len, "id", e->id, sizeof(e->id)) &&
               cli_json_u64(o, len, "size", &e->size) &&
               cli_json_str(o, len, "digest", e->digest, sizeof(e->digest)) &&
               strlen(e->digest) == 2 * CLI_SHA256_LEN;
    if (strcmp(e->type, "void") == 0)
        return cli_json_u64(o, len, "voided", &e->voided);
    return strcmp(e->type, "noop") == 0;
}

/* GET node i's /v1/log with query (from "?" on, or ""): the status, and
 * on 200 the answer parsed into *pg (a malformed 200 answer: -1). */
static long get_log(size_t i, const char *query, log_page *pg)
{
    char url[CLI_URL_MAX];
    memset(pg, 0, sizeof(*pg));
    snprintf(url, sizeof(url), "%s/v1/log%s", cl.nodes[i].url, query);
    long s = get(url);
    if (s != 200)
        return s;
    if (!cli_json_u64(x.body, x.len, "first", &pg->first) ||
        !cli_json_u64(x.body, x.len, "last", &pg->last) ||
        !cli_json_u64(x.body, x.len, "commit", &pg->commit) ||
        !cli_json_u64(x.body, x.len, "applied", &pg->applied) ||
        !cli_json_u64(x.body, x.len, "data", &pg->data)) {
        fprintf(stderr, "%s: GET /v1/log%s: %.300s\n", cl.nodes[i].id, query,
                x.body);
        return -1;
    }
    /* The other members are numbers: the array is the only '['. */
    const char *p = strstr(x.body, "\"entries\":[");
    const char *end = x.body + x.len;
    if (p == NULL)
        return -1;
    p += strlen("\"entries\":[");
    size_t cap = 0;
    while (p < end && *p != ']') {
        if (*p == ',') {
            p++;
            continue;
        }
        const char *o = p, *oe = *p == '{' ? object_end(p, end) : NULL;
        if (oe == NULL)
            return -1;
        if (pg->n == cap) {
            cap = cap != 0 ? 2 * cap : 64;
            log_entry *ne = realloc(pg->e, cap * sizeof(*ne));
            if (ne == NULL)
                return -1;
            pg->e = ne;
        }
        if (!parse_entry(o, (size_t)(oe - o), &pg->e[pg->n])) {
            fprintf(stderr, "%s: a bad entry: %.*s\n", cl.nodes[i].id,
                    (int)(oe - o), o);
            return -1;
        }
        pg->n++;
        p = oe;
    }
    return p < end ? 200 : -1;
}

static bool same_entry(const log_entry *a, const log_entry *b)
{
    return a->index == b->index && a->term == b->term &&
           strcmp(a->type, b->type) == 0 && strcmp(a->id, b->id) == 0 &&
           a->size == b->size && strcmp(a->digest, b->digest) == 0 &&
           a->voided == b->voided;
}

/* A write whose answer named its index, to find in the logs. */
typedef struct logged {
    char id[256];
    uint8_t bytes[300];
    size_t len;
    char digest[CLI_SHA256_HEX];
    uint64_t index;
} logged;

/* Write w through the node at base (its leader), keeping the index the
 * 201 answer names. */
static int put_logged(const char *base, logged *w)
{
    cli_put p;
    uint8_t d[CLI_SHA256_LEN];
    if (cli_random(w->bytes, w->len) != 0)
        memset(w->bytes, 0x33, w->len);
    cli_sha256(w->bytes, w->len, d);
    cli_hex(d, CLI_SHA256_LEN, w->digest);
    if (cli_put_run(&p, &x, base, w->id, w->bytes, w->len, PUT_MS) !=
            CLI_PUT_DONE ||
        x.status != 201 || !cli_json_u64(x.body, x.len, "index", &w->index)) {
        fprintf(stderr, "put %s through %s: %ld %s\n", w->id, base, x.status,
                x.status != 0 ? x.body : p.error);
        return -1;
    }
    return 0;
}

/* Whether pg (a page from index 1) holds each write at its index. */
static bool
log_holds(const log_page *pg, const logged *ws, size_t n, const char *node)
{
    for (size_t k = 0; k < n; k++) {
        const logged *w = &ws[k];
        const log_entry *e =
            w->index >= 1 && w->index <= pg->n ? &pg->e[w->index - 1] : NULL;
        if (e == NULL || e->index != w->index || strcmp(e->type, "ref") != 0 ||
            strcmp(e->id, w->id) != 0 || e->size != w->len ||
            strcmp(e->digest, w->digest) != 0) {
            fprintf(stderr,
                    "%s: index %llu does not hold %s (size %zu, digest "
                    "%s): %s %s %llu %s\n",
                    node, (unsigned long long)w->index, w->id, w->len,
                    w->digest, e != NULL ? e->type : "(none)",
                    e != NULL ? e->id : "",
                    e != NULL ? (unsigned long long)e->size : 0ull,
                    e != NULL ? e->digest : "");
            return false;
        }
    }
    return true;
}

/* ---- scenarios -------------------------------------------------------- */

/* `refraft node --config FILE`: a one-node cluster from a file elects
 * itself and stores a record; a file with a flag missing its value is
 * refused, naming the flag. */
static int scenario_config(void)
{
    uint16_t port;
    EXPECT(cli_free_ports(&port, 1) == 0, "no free port");
    char token[CLI_PATH_MAX + 16], conf[CLI_PATH_MAX + 16],
        log[CLI_PATH_MAX + 16], text[4 * CLI_PATH_MAX];
    snprintf(token, sizeof(token), "%s/token", tmp);
    snprintf(conf, sizeof(conf), "%s/n1.conf", tmp);
    snprintf(log, sizeof(log), "%s/n1.log", tmp);
    EXPECT(cli_write_file(token, "0123456789abcdef0123\n", 21, 0600) == 0,
           "write token");
    int n = snprintf(text, sizeof(text),
                     "# one node\nid = n1\nlisten = 127.0.0.1:%u\n"
                     "data = %s/n1\ntoken-file %s\nlog-level = debug\n",
                     (unsigned)port, tmp, token);
    EXPECT(cli_write_file(conf, text, (size_t)n, 0600) == 0, "write conf");
    pid_t pid = spawn_config_node(conf, log);
    EXPECT(pid > 0, "fork");
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/records",
             (unsigned)port);
    bool stored = false;
    for (uint64_t end = cli_now_ms() + START_MS; cli_now_ms() < end;) {
        cli_xfer_post(&x, url, "from a config", 13, NULL, 2000);
        if (cli_xfer_perform(&x) == 0 && x.status == 201) {
            stored = true;
            break;
        }
        cli_sleep_ms(100);
    }
    kill(pid, SIGTERM);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!stored)
        cli_tail_file(log, 20, "  n1: ");
    EXPECT(stored, "the node from %s never stored a record: %ld %s", conf,
           x.status, x.status != 0 ? x.body : x.error);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "the node did not stop cleanly");
    note("a node configured by file stored a record and stopped cleanly");

    EXPECT(cli_write_file(conf, "id\n", 3, 0600) == 0, "write conf");
    char *bad[] = {(char *)refraft_exe, "node", "--config", conf, NULL};
    char out[1024];
    EXPECT(run(bad, out, sizeof(out)) == 2, "a bad config did not exit 2");
    note("a config line without its value is refused");
    return 0;
}

/* Three nodes elect one leader, which all agree on; a record stored
 * through it can be read back from every node. */
static int scenario_election(void)
{
    size_t leader;
    cli_status st;
    record r;
    cli_put p;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    uint64_t term = 0;
    for (size_t i = 0; i < cl.n; i++) {
        EXPECT(cli_cluster_status(&cl, i, &st) == 0, "status of %zu", i);
        EXPECT(strcmp(st.role, i == leader ? "leader" : "follower") == 0,
               "%s is %s", st.id, st.role);
        EXPECT(strcmp(st.leader_url, cl.nodes[leader].url) == 0,
               "%s names leader URL %s, not %s", st.id, st.leader_url,
               cl.nodes[leader].url);
        EXPECT(term == 0 || st.term == term, "terms differ");
        term = st.term;
    }
    note("one leader, %s, in term %llu, and all agree", cl.nodes[leader].id,
         (unsigned long long)term);
    make_record(&r, 100);
    EXPECT(put_record(cl.nodes[leader].url, &r, &p) == 0, "put");
    EXPECT(p.redirects == 0, "the leader redirected");
    for (size_t i = 0; i < cl.n; i++)
        EXPECT(expect_record(i, &r, CATCH_UP_MS) == 0, "get from %zu", i);
    note("the record reads back from all three nodes");
    return 0;
}

/* A follower answers a write with 307 to the leader's /v1/records and
 * Refraft-Leader; the client that follows it stores the record. */
static int scenario_redirect(void)
{
    size_t leader;
    record r;
    cli_put p;
    char want[CLI_URL_MAX], hdr[300];
    const char *headers[2];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    make_record(&r, 64);
    cli_put_headers("redirected", hdr, sizeof(hdr), headers);
    long status = post(f, "/v1/records", r.bytes, r.len, headers);
    snprintf(want, sizeof(want), "%s/v1/records", cl.nodes[leader].url);
    EXPECT(status == 307, "follower answered %ld, not 307", status);
    EXPECT(strcmp(x.location, want) == 0, "Location %s, not %s", x.location,
           want);
    EXPECT(strcmp(x.leader, cl.nodes[leader].id) == 0,
           "Refraft-Leader \"%s\", not %s", x.leader, cl.nodes[leader].id);
    note("%s answers 307, Location %s, Refraft-Leader %s", cl.nodes[f].id,
         x.location, x.leader);
    EXPECT(put_record(cl.nodes[f].url, &r, &p) == 0, "put via follower");
    EXPECT(p.redirects == 1, "%u redirects", p.redirects);
    for (size_t i = 0; i < cl.n; i++)
        EXPECT(expect_record(i, &r, CATCH_UP_MS) == 0, "get from %zu", i);
    note("following it stores the record on all nodes");
    return 0;
}

/* A follower killed with SIGKILL and restarted (same port) catches up
 * with what was written while it was down. */
static int scenario_restart(void)
{
    size_t leader;
    cli_status st;
    static record rs[40];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < 40; i++)
        make_record(&rs[i], 200);
    EXPECT(put_many(cl.nodes[leader].url, rs, 20) == 0, "first puts");
    kill9(f);
    EXPECT(put_many(cl.nodes[leader].url, rs + 20, 20) == 0,
           "puts while %s is down", cl.nodes[f].id);
    note("20 records written while %s was down", cl.nodes[f].id);
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    EXPECT(cli_cluster_status(&cl, leader, &st) == 0, "leader status");
    EXPECT(wait_holds(f, 40, st.commit_index, &st) == 0, "catch up");
    EXPECT(expect_records(f, rs, 40, CATCH_UP_MS) == 0, "records");
    note("%s restarted and holds all 40 records", cl.nodes[f].id);
    return 0;
}

/* A follower restarted on another port rejoins: the others learn its
 * address from its authenticated requests.  With the third node down,
 * nothing commits unless the leader reaches it at its new address. */
static int scenario_rejoin(void)
{
    size_t leader;
    cli_status st;
    static record rs[10];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    size_t other = follower(leader, f);
    for (size_t i = 0; i < 10; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, 5) == 0, "first puts");
    kill9(f);
    char old[sizeof(cl.nodes[f].url)];
    memcpy(old, cl.nodes[f].url, sizeof(old));
    EXPECT(cli_cluster_start_elsewhere(&cl, f, START_MS) == 0, "restart");
    note("%s restarted at %s (was %s)", cl.nodes[f].id, cl.nodes[f].url, old);
    kill9(other);
    /* The leader may have to wait for the moved node's first request
     * (a pre-vote after an election time-out) to learn where it is. */
    size_t now_leader;
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &now_leader) == 0,
           "no leader with %s down", cl.nodes[other].id);
    EXPECT(put_many(cl.nodes[now_leader].url, rs + 5, 5) == 0,
           "puts that need %s at its new address", cl.nodes[f].id);
    EXPECT(cli_cluster_status(&cl, now_leader, &st) == 0, "leader status");
    EXPECT(wait_holds(f, 10, st.commit_index, &st) == 0, "catch up");
    EXPECT(expect_records(f, rs, 10, CATCH_UP_MS) == 0, "records");
    note("with %s down, writes commit through %s at its new address",
         cl.nodes[other].id, cl.nodes[f].id);
    return 0;
}

/* A follower whose records were wiped (its log kept) gets every record
 * back from its peers over HTTP, through its sweeper. */
static int scenario_wiped_recovery(void)
{
    size_t leader;
    cli_status st, ls;
    static record rs[50];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < 50; i++)
        make_record(&rs[i], 1000);
    EXPECT(put_many(cl.nodes[leader].url, rs, 50) == 0, "puts");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(f, 50, ls.commit_index, &st) == 0, "replication");
    kill9(f);
    EXPECT(cli_cluster_wipe_records(&cl, f) == 0, "wipe-records");
    note("wiped %s's records", cl.nodes[f].id);
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    EXPECT(wait_holds(f, 50, ls.commit_index, &st) == 0, "sweeper");
    /* Nothing was written since: every record the restarted process
     * holds, its sweeper fetched (the counters start at 0 with it). */
    EXPECT(st.sw_fetched >= 50, "the sweeper fetched only %llu records",
           (unsigned long long)st.sw_fetched);
    EXPECT(st.sw_digest_failures == 0, "digest failures");
    EXPECT(expect_records(f, rs, 50, CATCH_UP_MS) == 0, "records");
    note("the sweeper fetched %llu records (%llu bytes) back",
         (unsigned long long)st.sw_fetched,
         (unsigned long long)st.sw_bytes_fetched);
    return 0;
}

/* Peer endpoints refuse requests without the cluster credential, and
 * such a request changes nothing. */
static int scenario_unauthorized(void)
{
    size_t leader;
    cli_status before, after;
    char token[128], bearer[160];
    static const uint8_t junk[] = {0x0a, 0x02, 0x6e, 0x39};
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    EXPECT(cli_cluster_status(&cl, f, &before) == 0, "status");
    const char *none[] = {NULL};
    long s = post(f, "/raft/v1/msg", junk, sizeof(junk), none);
    EXPECT(s == 401, "no token: %ld, not 401", s);
    const char *wrong[] = {"Authorization: Bearer 0123456789abcdef0123456789",
                           NULL};
    s = post(f, "/raft/v1/msg", junk, sizeof(junk), wrong);
    EXPECT(s == 401, "wrong token: %ld, not 401", s);
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Basic %s", token);
    const char *basic[] = {bearer, NULL};
    s = post(f, "/raft/v1/msg", junk, sizeof(junk), basic);
    EXPECT(s == 401, "Basic scheme: %ld, not 401", s);
    const char *proto[] = {"Content-Type: application/x-protobuf", NULL};
    s = post(f, "/raft/v1/fetch", junk, sizeof(junk), proto);
    EXPECT(s == 401, "a record fetch without token: %ld, not 401", s);
    EXPECT(cli_cluster_status(&cl, f, &after) == 0, "status");
    EXPECT(after.term == before.term && after.last_index == before.last_index,
           "a refused request changed the node");
    note("POST /raft/v1/msg without, with a wrong or a non-Bearer token, "
         "and POST /raft/v1/fetch without one: 401, nothing changed");
    return 0;
}

/* Authenticated but refused peer requests (an unknown endpoint, a
 * malformed message) claiming the leader moved do
 * not move it: a follower still reaches the leader where it was. */
static int scenario_peer_input(void)
{
    size_t leader;
    cli_status st;
    char token[128], bearer[160], who[160];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    snprintf(who, sizeof(who), "Refraft-Node: %s", cl.nodes[leader].id);
    const char *lie[] = {bearer, who, "Refraft-URL: http://127.0.0.1:2", NULL};
    static const uint8_t junk[] = {0x0a, 0x02, 0x6e, 0x39};
    long s = post(f, "/raft/v1/msg", junk, sizeof(junk), lie);
    EXPECT(s == 400, "a malformed message: %ld, not 400", s);
    s = post(f, "/raft/v1/nothing", junk, sizeof(junk), lie);
    EXPECT(s == 404, "an unknown endpoint: %ld, not 404", s);
    EXPECT(cli_cluster_status(&cl, f, &st) == 0, "status");
    EXPECT(strcmp(st.leader_url, cl.nodes[leader].url) == 0,
           "the follower now reaches the leader at %s, not %s", st.leader_url,
           cl.nodes[leader].url);
    note("refused peer requests did not move the leader's address");
    return 0;
}

/* What a follower's state is, as far as bad input could change it: term,
 * log, records, the record counters of GET /metrics and the peers (with
 * their addresses: the cluster map) of GET /v1/status. */
typedef struct node_state {
    cli_status st;
    uint64_t received, refused;
    char peers[2048];
} node_state;

static int node_state_of(size_t i, node_state *s)
{
    char url[CLI_URL_MAX];
    memset(s, 0, sizeof(*s));
    if (cli_cluster_status(&cl, i, &s->st) != 0 ||
        !metric_of(i, "refraft_records_received_total", &s->received) ||
        !metric_of(i, "refraft_records_refused_total", &s->refused))
        return -1;
    snprintf(url, sizeof(url), "%s/v1/status", cl.nodes[i].url);
    const char *peers = get(url) == 200 ? strstr(x.body, "\"peers\":") : NULL;
    if (peers == NULL)
        return -1;
    snprintf(s->peers, sizeof(s->peers), "%s", peers);
    return 0;
}

/* Whether b is a as far as bad input is concerned; says what differs. */
static bool same_state(const node_state *a, const node_state *b)
{
    if (a->st.term != b->st.term || a->st.last_index != b->st.last_index ||
        a->st.records != b->st.records || a->received != b->received ||
        a->refused != b->refused) {
        fprintf(stderr,
                "term %llu -> %llu, last index %llu -> %llu, records "
                "%llu -> %llu, records received %llu -> %llu, refused "
                "%llu -> %llu\n",
                (unsigned long long)a->st.term, (unsigned long long)b->st.term,
                (unsigned long long)a->st.last_index,
                (unsigned long long)b->st.last_index,
                (unsigned long long)a->st.records,
                (unsigned long long)b->st.records,
                (unsigned long long)a->received,
                (unsigned long long)b->received, (unsigned long long)a->refused,
                (unsigned long long)b->refused);
        return false;
    }
    if (strcmp(a->peers, b->peers) != 0 ||
        strcmp(a->st.leader_url, b->st.leader_url) != 0) {
        fprintf(stderr, "peers %s -> %s\n", a->peers, b->peers);
        return false;
    }
    return true;
}

/* A body of the message m followed by tail (tail_len bytes) POSTed to
 * node i's /raft/v1/msg with the token, naming from (claiming url) as the
 * sender and, unless msg_len is NULL, Refraft-Msg-Length: msg_len. */
static long post_bundle(size_t i, const char *bearer, const char *from,
                        const char *url_claim, const refraft_wire_buf *m,
                        const uint8_t *tail, size_t tail_len,
                        const char *msg_len)
{
    char who[160], where[CLI_URL_MAX + 16], len_hdr[96];
    snprintf(who, sizeof(who), "Refraft-Node: %s", from);
    snprintf(where, sizeof(where), "Refraft-URL: %s", url_claim);
    snprintf(len_hdr, sizeof(len_hdr), "Refraft-Msg-Length: %s",
             msg_len != NULL ? msg_len : "");
    const char *hdrs[] = {bearer,
                          who,
                          where,
                          "Content-Type: application/x-protobuf",
                          msg_len != NULL ? len_hdr : NULL,
                          NULL};
    uint8_t *body = malloc(m->len + tail_len + 1);
    if (body == NULL)
        return -1;
    memcpy(body, m->data, m->len);
    if (tail_len > 0)
        memcpy(body + m->len, tail, tail_len);
    long s = post(i, "/raft/v1/msg", body, m->len + tail_len, hdrs);
    free(body);
    return s;
}

/* An AppendEntries carries the records its entries name after it in the
 * body (Refraft-Msg-Length: the message's length).  A malformed bundle
 * gets 400 and changes nothing on the follower: a bad Refraft-Msg-Length,
 * records after a RequestVote, a record batch that does not decode, or
 * records from another node than the AppendEntries' leader.  Every one is
 * otherwise a message the follower would take (the leader's, in its term,
 * at the end of its log; the vote would raise its term), and each claims
 * the sender moved to an address it does not have.  POST /raft/v1/records
 * (the old push) is gone: 404.  Last, a well-formed bundle (a heartbeat
 * with a record, so nothing to append) gets 200 and its record is
 * counted as refused: the bodies above are built right. */
static int scenario_bundle_input(void)
{
    size_t leader;
    record r, b;
    cli_put p;
    cli_status ls, fs;
    node_state before, after;
    char token[128], bearer[160];
    static const char lie[] = "http://127.0.0.9:1";
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    size_t o = follower(leader, f);
    const char *lid = cl.nodes[leader].id, *oid = cl.nodes[o].id;
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    make_record(&r, 100);
    EXPECT(put_record(cl.nodes[leader].url, &r, &p) == 0, "put");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(f, 1, ls.commit_index, &fs) == 0, "replication");
    EXPECT(fs.last_index == ls.last_index && fs.term == ls.term &&
               strcmp(fs.leader, lid) == 0,
           "%s is at index %llu of term %llu under %s; the leader at %llu "
           "of %llu",
           cl.nodes[f].id, (unsigned long long)fs.last_index,
           (unsigned long long)fs.term, fs.leader,
           (unsigned long long)ls.last_index, (unsigned long long)ls.term);
    refraft_term term = fs.term;

    /* A record to append, named by an entry at the end of f's log (whose
     * last entry, the put above, is of this term). */
    static const char bid[] = "itest-bundle";
    make_record(&b, 200);
    refraft_ref ref = {.id = (const uint8_t *)bid,
                       .id_len = (uint16_t)strlen(bid),
                       .size = b.len};
    memcpy(ref.digest, b.digest, sizeof(ref.digest));
    refraft_wire_record wr = {.ref = ref, .bytes = b.bytes};
    refraft_entry e = {.term = term, .type = REFRAFT_ENTRY_REF, .ref = ref};
    refraft_msg ae = {.type = REFRAFT_MSG_APPEND_ENTRIES};
    ae.u.append_entries =
        (refraft_append_entries){.term = term,
                                 .leader_id = lid,
                                 .prev_log_index = fs.last_index,
                                 .prev_log_term = term,
                                 .leader_commit = fs.commit_index,
                                 .entries = &e,
                                 .n_entries = 1};
    refraft_msg hb = ae;
    hb.u.append_entries.entries = NULL;
    hb.u.append_entries.n_entries = 0;
    refraft_msg rv = {.type = REFRAFT_MSG_REQUEST_VOTE};
    rv.u.request_vote = (refraft_request_vote){.term = term + 1,
                                               .candidate_id = oid,
                                               .last_log_index = fs.last_index,
                                               .last_log_term = term};
    refraft_wire_buf m_ae = {0}, m_hb = {0}, m_rv = {0}, r_lead = {0},
                     r_other = {0};
    bool encoded =
        refraft_wire_encode_msg(&ae, &m_ae) == 0 &&
        refraft_wire_encode_msg(&hb, &m_hb) == 0 &&
        refraft_wire_encode_msg(&rv, &m_rv) == 0 &&
        refraft_wire_encode_records(lid, term, &wr, 1, &r_lead) == 0 &&
        refraft_wire_encode_records(oid, term, &wr, 1, &r_other) == 0;
    int rc = -1;
    if (!encoded) {
        fail_at(__LINE__, "encoding the messages failed");
        goto out;
    }

    /* Each Refraft-Msg-Length case is built so that reading the header
     * loosely would accept it: the body alone is a valid AppendEntries
     * (taken if the header counted as absent, or as clamped to the
     * body), or "L" is followed by junk (a parse of the number's digits
     * would find a valid bundle). */
    char past_end[32], cut[32], ae_len[32], rv_len[32], hb_len[32], ae_x[40];
    snprintf(past_end, sizeof(past_end), "%zu", m_ae.len + 1);
    snprintf(cut, sizeof(cut), "%zu", m_ae.len - 1);
    snprintf(ae_len, sizeof(ae_len), "%zu", m_ae.len);
    snprintf(ae_x, sizeof(ae_x), "%zux", m_ae.len);
    snprintf(rv_len, sizeof(rv_len), "%zu", m_rv.len);
    snprintf(hb_len, sizeof(hb_len), "%zu", m_hb.len);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x07};
    const struct {
        const char *what;
        const char *from;
        const refraft_wire_buf *m;
        const uint8_t *tail;
        size_t tail_len;
        const char *msg_len;
    } bad[] = {
        {"Refraft-Msg-Length: abc", lid, &m_ae, NULL, 0, "abc"},
        {"Refraft-Msg-Length: 0", lid, &m_ae, NULL, 0, "0"},
        {"Refraft-Msg-Length: -1", lid, &m_ae, NULL, 0, "-1"},
        {"Refraft-Msg-Length: 2^64", lid, &m_ae, NULL, 0,
         "18446744073709551616"},
        {"Refraft-Msg-Length one past the body", lid, &m_ae, NULL, 0, past_end},
        {"Refraft-Msg-Length: the message's length and an x", lid, &m_ae,
         r_lead.data, r_lead.len, ae_x},
        {"Refraft-Msg-Length cutting the message", lid, &m_ae, r_lead.data,
         r_lead.len, cut},
        {"records after a RequestVote", oid, &m_rv, r_other.data, r_other.len,
         rv_len},
        {"a record batch that is not protobuf", lid, &m_ae, junk, sizeof(junk),
         ae_len},
        {"a truncated record batch", lid, &m_ae, r_lead.data, r_lead.len - 1,
         ae_len},
        {"records from another node than the leader", lid, &m_ae, r_other.data,
         r_other.len, ae_len},
    };
    if (node_state_of(f, &before) != 0) {
        fail_at(__LINE__, "state of %s", cl.nodes[f].id);
        goto out;
    }
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        long s = post_bundle(f, bearer, bad[k].from, lie, bad[k].m, bad[k].tail,
                             bad[k].tail_len, bad[k].msg_len);
        if (s != 400) {
            fail_at(__LINE__, "%s: %ld, not 400 (%s)", bad[k].what, s,
                    s != 0 ? x.body : x.error);
            goto out;
        }
        note("%s: 400 %.*s", bad[k].what, (int)strcspn(x.body, "\n"), x.body);
    }
    if (node_state_of(f, &after) != 0 || !same_state(&before, &after)) {
        fail_at(__LINE__, "a refused bundle changed %s", cl.nodes[f].id);
        goto out;
    }
    char log[CLI_PATH_MAX + 8];
    snprintf(log, sizeof(log), "%s/log", cl.nodes[f].dir);
    if (file_holds(log, "127.0.0.9")) {
        fail_at(__LINE__, "%s took the address %s from a refused request",
                cl.nodes[f].id, lie);
        goto out;
    }
    note("%zu malformed bundles: 400; term, log, records, record counters "
         "and cluster map unchanged",
         sizeof(bad) / sizeof(bad[0]));

    /* The push endpoint of old: an unknown path now. */
    const char *push[] = {bearer, "Content-Type: application/x-protobuf", NULL};
    long s = post(f, "/raft/v1/records", r_lead.data, r_lead.len, push);
    if (s != 404) {
        fail_at(__LINE__, "POST /raft/v1/records: %ld, not 404", s);
        goto out;
    }
    if (node_state_of(f, &after) != 0 || !same_state(&before, &after)) {
        fail_at(__LINE__, "POST /raft/v1/records changed %s", cl.nodes[f].id);
        goto out;
    }
    note("POST /raft/v1/records: 404, nothing changed");

    /* The same framing, well formed: taken, and the record (which no
     * entry of the heartbeat names) is refused, not stored. */
    s = post_bundle(f, bearer, lid, cl.nodes[leader].url, &m_hb, r_lead.data,
                    r_lead.len, hb_len);
    if (s != 200 && s != 204) {
        fail_at(__LINE__, "a well-formed heartbeat with a record: %ld (%s)", s,
                s != 0 ? x.body : x.error);
        goto out;
    }
    before.refused++;
    if (node_state_of(f, &after) != 0 || !same_state(&before, &after)) {
        fail_at(__LINE__, "a heartbeat with a record: not as expected on %s",
                cl.nodes[f].id);
        goto out;
    }
    note("a well-formed heartbeat with a record: %ld; the record refused", s);
    rc = 0;
out:
    refraft_wire_free(&m_ae);
    refraft_wire_free(&m_hb);
    refraft_wire_free(&m_rv);
    refraft_wire_free(&r_lead);
    refraft_wire_free(&r_other);
    return rc;
}

/* ---- POST /raft/v1/fetch ---------------------------------------------- */

/* A protobuf varint into out; returns its length. */
static size_t pb_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            out[n] |= 0x80;
        n++;
    } while (v != 0);
    return n;
}

/* A FetchRequest's refs field (number 3) holding a Ref the encoder would
 * never write: an id of id_len bytes (all 'i') and a digest of
 * digest_len bytes.  Into out (at least 600 bytes); returns its length. */
static size_t bad_ref_field(uint8_t *out, size_t id_len, size_t digest_len)
{
    uint8_t sub[600];
    size_t n = 0;
    sub[n++] = 0x0a; /* id */
    n += pb_varint(sub + n, id_len);
    memset(sub + n, 'i', id_len);
    n += id_len;
    sub[n++] = 0x10; /* size */
    n += pb_varint(sub + n, 5);
    sub[n++] = 0x1a; /* digest */
    n += pb_varint(sub + n, digest_len);
    memset(sub + n, 0xd1, digest_len);
    n += digest_len;
    size_t m = 0;
    out[m++] = 0x1a; /* refs */
    m += pb_varint(out + m, n);
    memcpy(out + m, sub, n);
    return m + n;
}

/* POST body to node i's /raft/v1/fetch with the token, naming from
 * (claiming url) as the sender. */
static long post_fetch(size_t i, const char *bearer, const char *from,
                       const char *url_claim, const uint8_t *body, size_t len)
{
    char who[160], where[CLI_URL_MAX + 16];
    snprintf(who, sizeof(who), "Refraft-Node: %s", from);
    snprintf(where, sizeof(where), "Refraft-URL: %s", url_claim);
    const char *hdrs[] = {bearer, who, where,
                          "Content-Type: application/x-protobuf", NULL};
    return post(i, "/raft/v1/fetch", body, len, hdrs);
}

/* A sweeper's batched fetch: malformed requests (not protobuf, no refs,
 * more than REFRAFT_WIRE_MAX_FETCH, a digest of 31 bytes, a record id of
 * 256) each get 400 with the decoder's reason and change nothing on the
 * follower, not even the address the request claims for its sender; a
 * well-formed request for a record the node holds and one nobody has
 * gets 200 with the record (OK) and ABSENT (or UNKNOWN), in order, from
 * the node asked. */
static int scenario_fetch_input(void)
{
    size_t leader;
    record r;
    cli_put p;
    cli_status ls, fs;
    node_state before, after;
    char token[128], bearer[160];
    static const char lie[] = "http://127.0.0.9:1";
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    const char *lid = cl.nodes[leader].id;
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    make_record(&r, 300);
    EXPECT(put_record(cl.nodes[leader].url, &r, &p) == 0, "put");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(f, 1, ls.commit_index, &fs) == 0, "replication");

    /* What the bodies are made of: a request of one ref and one of the
     * same ref twice (the second ref field is what a ref adds); the
     * well-formed request is two, the record and one nobody has. */
    static const char unknown_id[] = "itest-nobody-has-this";
    refraft_ref refs[2] = {{.id = (const uint8_t *)r.id,
                            .id_len = CLI_SHA256_HEX - 1,
                            .size = r.len},
                           {.id = (const uint8_t *)unknown_id,
                            .id_len = (uint16_t)strlen(unknown_id),
                            .size = 7}};
    memcpy(refs[0].digest, r.digest, sizeof(refs[0].digest));
    memset(refs[1].digest, 0x42, sizeof(refs[1].digest));
    refraft_wire_buf one = {0}, twice = {0}, two = {0};
    refraft_ref same[2] = {refs[0], refs[0]};
    uint8_t *body = NULL;
    int rc = -1;
    if (refraft_wire_encode_fetch_request(lid, fs.term, refs, 1, &one) != 0 ||
        refraft_wire_encode_fetch_request(lid, fs.term, same, 2, &twice) != 0 ||
        refraft_wire_encode_fetch_request(lid, fs.term, refs, 2, &two) != 0) {
        fail_at(__LINE__, "encoding the requests failed");
        goto out;
    }
    size_t ref_len = twice.len - one.len, head = one.len - ref_len;
    size_t many = REFRAFT_WIRE_MAX_FETCH + 1;
    body = malloc(head + many * ref_len + 600);
    if (body == NULL) {
        fail_at(__LINE__, "no memory");
        goto out;
    }
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x07};
    const struct {
        const char *what;
        size_t refs;       /* copies of the good ref after the head */
        size_t bad_id;     /* then a bad ref: its id length (0: none) */
        size_t bad_digest; /* and its digest length */
        const char *word;  /* in the 400's message */
    } bad[] = {
        {"a body that is not protobuf", 0, 0, 0, "not a valid FetchRequest"},
        {"no refs", 0, 0, 0, "FetchRequest has no refs"},
        {"4097 refs", REFRAFT_WIRE_MAX_FETCH + 1, 0, 0,
         "FetchRequest has 4097 refs, over the limit of 4096"},
        {"a digest of 31 bytes", 1, 5, 31,
         "record 1: digest of 31 bytes is not 32"},
        {"a record id of 256 bytes", 1, 256, 32,
         "record 1: record id of 256 bytes is over 255"},
    };
    if (node_state_of(f, &before) != 0) {
        fail_at(__LINE__, "state of %s", cl.nodes[f].id);
        goto out;
    }
    uint64_t refused0 = 0, refused1 = 0;
    if (!metric_of(f, "refraft_peer_requests_refused_total", &refused0)) {
        fail_at(__LINE__, "metrics of %s", cl.nodes[f].id);
        goto out;
    }
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        size_t len = 0;
        if (k == 0) {
            memcpy(body, junk, sizeof(junk));
            len = sizeof(junk);
        } else {
            memcpy(body, one.data, head);
            len = head;
            for (size_t j = 0; j < bad[k].refs; j++, len += ref_len)
                memcpy(body + len, one.data + head, ref_len);
            if (bad[k].bad_id > 0)
                len +=
                    bad_ref_field(body + len, bad[k].bad_id, bad[k].bad_digest);
        }
        long s = post_fetch(f, bearer, lid, lie, body, len);
        if (s != 400 || strstr(x.body, bad[k].word) == NULL) {
            fail_at(__LINE__, "%s: %ld, not 400 saying \"%s\" (%s)",
                    bad[k].what, s, bad[k].word, s != 0 ? x.body : x.error);
            goto out;
        }
        note("%s: 400 %.*s", bad[k].what, (int)strcspn(x.body, "\n"), x.body);
    }
    if (node_state_of(f, &after) != 0 || !same_state(&before, &after)) {
        fail_at(__LINE__, "a refused fetch changed %s", cl.nodes[f].id);
        goto out;
    }
    if (!metric_of(f, "refraft_peer_requests_refused_total", &refused1) ||
        refused1 != refused0 + sizeof(bad) / sizeof(bad[0])) {
        fail_at(__LINE__, "%s counted %llu refused requests, not %zu",
                cl.nodes[f].id, (unsigned long long)(refused1 - refused0),
                sizeof(bad) / sizeof(bad[0]));
        goto out;
    }
    char log[CLI_PATH_MAX + 8];
    snprintf(log, sizeof(log), "%s/log", cl.nodes[f].dir);
    if (file_holds(log, "127.0.0.9")) {
        fail_at(__LINE__, "%s took the address %s from a refused fetch",
                cl.nodes[f].id, lie);
        goto out;
    }
    note("%zu malformed fetches: 400; term, log, records, record counters "
         "and cluster map unchanged",
         sizeof(bad) / sizeof(bad[0]));

    /* Well formed: the record, and the one nobody has. */
    long s =
        post_fetch(f, bearer, lid, cl.nodes[leader].url, two.data, two.len);
    refraft_wire_fetch_response res;
    char err[256];
    if (s != 200 ||
        refraft_wire_decode_fetch_response((const uint8_t *)x.body, x.len, &res,
                                           err, sizeof(err)) != 0) {
        fail_at(__LINE__, "a well-formed fetch: %ld (%s)", s,
                s == 200 ? err
                : s != 0 ? x.body
                         : x.error);
        goto out;
    }
    bool good = strcmp(res.sender_id, cl.nodes[f].id) == 0 && res.n == 2 &&
                res.answers[0].status == REFRAFT_FETCH_OK &&
                res.answers[0].len == r.len &&
                memcmp(res.answers[0].bytes, r.bytes, r.len) == 0 &&
                (res.answers[1].status == REFRAFT_FETCH_ABSENT ||
                 res.answers[1].status == REFRAFT_FETCH_UNKNOWN);
    if (!good)
        fail_at(__LINE__,
                "the answer from %s with %zu answers (status %d, %zu bytes; "
                "status %d), not %s's record and ABSENT or UNKNOWN",
                res.sender_id, res.n, res.n > 0 ? res.answers[0].status : -1,
                res.n > 0 ? res.answers[0].len : 0,
                res.n > 1 ? res.answers[1].status : -1, cl.nodes[f].id);
    else
        note("a fetch of the record and an unknown one: 200 from %s, OK "
             "with its %zu bytes, then %s (data index %llu)",
             res.sender_id, res.answers[0].len,
             res.answers[1].status == REFRAFT_FETCH_ABSENT ? "ABSENT"
                                                           : "UNKNOWN",
             (unsigned long long)res.data_index);
    refraft_wire_fetch_response_free(&res);
    if (!good)
        goto out;
    if (node_state_of(f, &after) != 0 || !same_state(&before, &after)) {
        fail_at(__LINE__, "a fetch changed %s", cl.nodes[f].id);
        goto out;
    }
    rc = 0;
out:
    free(body);
    refraft_wire_free(&one);
    refraft_wire_free(&twice);
    refraft_wire_free(&two);
    return rc;
}

/* Records travel with the AppendEntries that name them: after 20 writes
 * every follower has received each record with its entry and its sweeper
 * fetched none. */
static int scenario_with_entries(void)
{
    size_t leader;
    cli_status ls, st;
    static record rs[20];
    const size_t n = sizeof(rs) / sizeof(rs[0]);
    uint64_t received, sent;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    for (size_t i = 0; i < n; i++)
        make_record(&rs[i], 1000);
    EXPECT(put_many(cl.nodes[leader].url, rs, n) == 0, "puts");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    for (size_t i = 0; i < cl.n; i++) {
        if (i == leader)
            continue;
        EXPECT(wait_holds(i, n, ls.commit_index, &st) == 0, "replication");
        EXPECT(metric_of(i, "refraft_records_received_total", &received),
               "%s: no refraft_records_received_total", cl.nodes[i].id);
        EXPECT(received >= n && st.sw_fetched == 0,
               "%s received %llu records with entries (want %zu), its "
               "sweeper fetched %llu (want 0)",
               cl.nodes[i].id, (unsigned long long)received, n,
               (unsigned long long)st.sw_fetched);
        EXPECT(expect_records(i, rs, n, CATCH_UP_MS) == 0, "records");
        note("%s received %llu records with their entries, fetched none",
             cl.nodes[i].id, (unsigned long long)received);
    }
    EXPECT(metric_of(leader, "refraft_records_sent_total", &sent),
           "no refraft_records_sent_total");
    EXPECT(sent >= 2 * n, "the leader sent %llu records with entries, not %zu",
           (unsigned long long)sent, 2 * n);
    note("the leader sent %llu", (unsigned long long)sent);
    return 0;
}

/* A record larger than 16 MiB is refused with 413, an empty one or a bad
 * id with 400; the log does not move. */
static int scenario_oversized(void)
{
    size_t leader;
    cli_status before, after;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    EXPECT(cli_cluster_status(&cl, leader, &before) == 0, "status");
    size_t big = CLI_RECORD_MAX + 1;
    uint8_t *body = calloc(1, big);
    EXPECT(body != NULL, "out of memory");
    long s = post(leader, "/v1/records", body, big, NULL);
    free(body);
    EXPECT(s == 413, "16 MiB + 1 byte: %ld, not 413 (%s)", s, x.error);
    s = post(leader, "/v1/records", "", 0, NULL);
    EXPECT(s == 400, "empty record: %ld, not 400", s);
    char longid[300];
    memset(longid, 'a', sizeof(longid));
    memcpy(longid, "Refraft-Record-Id: ", 19);
    longid[19 + 256] = '\0'; /* 256 bytes: one too many */
    const char *h1[] = {longid, NULL};
    s = post(leader, "/v1/records", "x", 1, h1);
    EXPECT(s == 400, "256-byte id: %ld, not 400", s);
    EXPECT(cli_cluster_status(&cl, leader, &after) == 0, "status");
    EXPECT(after.last_index == before.last_index,
           "the log moved from %llu to %llu",
           (unsigned long long)before.last_index,
           (unsigned long long)after.last_index);
    note("16 MiB + 1: 413; empty: 400; 256-byte id: 400; log unchanged");
    return 0;
}

/* A peer message that is not valid protobuf is refused with 400, even
 * with the right credential; the node carries on. */
static int scenario_malformed(void)
{
    size_t leader;
    cli_status before, after;
    char token[128], bearer[160];
    record r;
    cli_put p;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    const char *auth[] = {bearer, "Content-Type: application/x-protobuf", NULL};
    EXPECT(cli_cluster_status(&cl, f, &before) == 0, "status");
    /* A field 1 length-delimited claiming 100 bytes it does not have;
     * then a byte soup with an invalid wire type 7. */
    static const uint8_t truncated[] = {0x0a, 0x64, 0x01, 0x02};
    static const uint8_t soup[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x07};
    long s = post(f, "/raft/v1/msg", truncated, sizeof(truncated), auth);
    EXPECT(s == 400, "truncated protobuf: %ld, not 400", s);
    s = post(f, "/raft/v1/msg", soup, sizeof(soup), auth);
    EXPECT(s == 400, "invalid wire type: %ld, not 400", s);
    EXPECT(cli_cluster_status(&cl, f, &after) == 0, "status");
    EXPECT(after.term == before.term && after.last_index == before.last_index,
           "a refused message changed the node");
    make_record(&r, 10);
    EXPECT(put_record(cl.nodes[f].url, &r, &p) == 0, "put afterwards");
    note("malformed peer messages: 400, nothing changed, writes go on");
    return 0;
}

/* The commands themselves: cluster up prints the nodes, put/get/status
 * work against them, a second up refuses, down stops them all. */
static int scenario_cli(void)
{
    char out[4096], url[CLI_URL_MAX] = "", file[CLI_PATH_MAX + 16];
    char got[CLI_PATH_MAX + 16];
    snprintf(cli_dir, sizeof(cli_dir), "%s/c", tmp);
    char *up[] = {(char *)refraft_exe,
                  "cluster",
                  "up",
                  "--nodes",
                  "3",
                  "--dir",
                  cli_dir,
                  NULL};
    int rc = run(up, out, sizeof(out));
    EXPECT(rc == 0, "cluster up exited %d", rc);
    EXPECT(sscanf(out, "n1 %1000s", url) == 1, "cluster up printed: %s", out);
    EXPECT(strstr(out, "\nn3 http://127.0.0.1:") != NULL, "printed: %s", out);
    note("cluster up printed:\n%s", out);
    rc = run(up, out, sizeof(out));
    EXPECT(rc == 1, "a second cluster up exited %d, not 1", rc);

    snprintf(file, sizeof(file), "%s/in", tmp);
    snprintf(got, sizeof(got), "%s/out", tmp);
    EXPECT(cli_write_file(file, "a record\n", 9, 0600) == 0, "write");
    char *put[] = {
        (char *)refraft_exe, "put", "--to", url, "--id", "r/1?x%", file, NULL};
    rc = run(put, out, sizeof(out));
    EXPECT(rc == 0, "put exited %d", rc);
    EXPECT(strstr(out, "\"id\":\"r/1?x%\"") != NULL ||
               strstr(out, "\"id\": \"r/1?x%\"") != NULL,
           "put printed %s", out);
    char *get[] = {
        (char *)refraft_exe, "get", "--to", url, "-o", got, "r/1?x%", NULL};
    /* A plain read serves only what the node applied: n1 may be a
     * follower that has not applied the write the leader answered. */
    uint64_t get_deadline = cli_now_ms() + CATCH_UP_MS;
    while ((rc = run(get, out, sizeof(out))) != 0 &&
           cli_now_ms() < get_deadline && !cli_interrupted)
        cli_sleep_ms(100);
    EXPECT(rc == 0, "get");
    uint8_t *bytes;
    size_t len;
    char err[256];
    EXPECT(cli_read_file(got, 100, &bytes, &len, err, sizeof(err)) == 0, "%s",
           err);
    bool same = len == 9 && memcmp(bytes, "a record\n", 9) == 0;
    free(bytes);
    EXPECT(same, "get wrote other bytes");
    char *missing[] = {(char *)refraft_exe, "get", "--to", url, "nope", NULL};
    EXPECT(run(missing, out, sizeof(out)) == 1, "get of a missing id");
    char *status[] = {(char *)refraft_exe, "status",  "--to", url,
                      "--field",           "records", NULL};
    EXPECT(run(status, out, sizeof(out)) == 0, "status");
    EXPECT(strcmp(out, "1\n") == 0, "status --field records: %s", out);
    note("put, get (id with '/', '?' and '%%'), status through the CLI");

    char *down[] = {
        (char *)refraft_exe, "cluster", "down", "--dir", cli_dir, NULL};
    EXPECT(run(down, out, sizeof(out)) == 0, "cluster down");
    EXPECT(strstr(out, "n3 stopped") != NULL, "down printed %s", out);
    cli_dir[0] = '\0';
    cli_xfer_get(&x, url, 1000);
    EXPECT(cli_xfer_perform(&x) != 0, "n1 still answers after down");
    note("cluster down stopped the nodes");
    return 0;
}

/* GET /v1/log on every node lists each write's entry (id, size, digest)
 * at the index its 201 answer named; from/max page through the same
 * entries; bad from/max get 400. */
static int scenario_log_endpoint(void)
{
    size_t leader;
    cli_status ls, st;
    log_page all, pg;
    static logged ws[12];
    const size_t n = sizeof(ws) / sizeof(ws[0]);
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    /* Ids that need escaping in JSON, and one of the longest kind. */
    for (size_t k = 0; k < n; k++) {
        snprintf(ws[k].id, sizeof(ws[k].id), "log/%zu\"q\\%%{x}", k);
        ws[k].len = 10 + 20 * k;
    }
    memset(ws[n - 1].id, '"', 255);
    ws[n - 1].id[255] = '\0';
    ws[n - 1].id[0] = 'L';
    for (size_t k = 0; k < n; k++)
        EXPECT(put_logged(cl.nodes[leader].url, &ws[k]) == 0, "put %zu", k);
    note("%zu writes answered at indexes %llu to %llu", n,
         (unsigned long long)ws[0].index, (unsigned long long)ws[n - 1].index);
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    for (size_t i = 0; i < cl.n; i++) {
        EXPECT(wait_holds(i, n, ws[n - 1].index, &st) == 0, "replication");
        long s = get_log(i, "", &all);
        EXPECT(s == 200, "%s: GET /v1/log: %ld", cl.nodes[i].id, s);
        bool ok = all.first == 1 && all.n == all.last && all.n >= n + 1 &&
                  all.data >= ws[n - 1].index && all.commit <= all.last &&
                  all.applied <= all.commit;
        for (size_t k = 0; ok && k < all.n; k++)
            ok = all.e[k].index == k + 1;
        ok = ok && log_holds(&all, ws, n, cl.nodes[i].id);
        log_page got = all;
        free(all.e);
        EXPECT(ok,
               "%s: first %llu, last %llu, %zu entries, data %llu: not the "
               "log written",
               cl.nodes[i].id, (unsigned long long)got.first,
               (unsigned long long)got.last, got.n,
               (unsigned long long)got.data);
        size_t listed = got.n;
        note("%s lists %zu entries, the %zu writes at their indexes",
             cl.nodes[i].id, listed, n);
    }

    /* Pages of 5 from 1 on, and one from 2 of 3: the same entries. */
    EXPECT(get_log(leader, "", &all) == 200, "GET /v1/log");
    size_t seen = 0;
    for (uint64_t from = 1;; from += 5) {
        char q[64];
        snprintf(q, sizeof(q), "?from=%llu&max=5", (unsigned long long)from);
        long s = get_log(leader, q, &pg);
        if (s != 200 || pg.n > 5 || (pg.n == 0 && seen < all.n)) {
            fail_at(__LINE__, "GET /v1/log%s: %ld, %zu entries", q, s, pg.n);
            goto bad_page;
        }
        for (size_t k = 0; k < pg.n; k++)
            if (seen + k >= all.n || !same_entry(&pg.e[k], &all.e[seen + k])) {
                fail_at(__LINE__, "GET /v1/log%s: entry %zu differs", q, k);
                goto bad_page;
            }
        seen += pg.n;
        size_t got = pg.n;
        log_page_free(&pg);
        if (got == 0)
            break;
    }
    if (get_log(leader, "?max=3&from=2", &pg) != 200 || pg.n != 3 ||
        !same_entry(&pg.e[0], &all.e[1]) || !same_entry(&pg.e[2], &all.e[3])) {
        fail_at(__LINE__, "GET /v1/log?max=3&from=2: %zu entries", pg.n);
        goto bad_page;
    }
    log_page_free(&pg);
    char past[64];
    snprintf(past, sizeof(past), "?from=%llu", (unsigned long long)all.n + 1);
    if (get_log(leader, past, &pg) != 200 || pg.n != 0) {
        fail_at(__LINE__, "GET /v1/log%s: %zu entries, not 0", past, pg.n);
        goto bad_page;
    }
    log_page_free(&pg);
    if (get_log(leader, "?max=10000", &pg) != 200 || pg.n != all.n) {
        fail_at(__LINE__, "GET /v1/log?max=10000: %zu entries", pg.n);
        goto bad_page;
    }
    log_page_free(&pg);
    log_page_free(&all);
    note("pages of 5, from=2&max=3, from past the end and max=10000 list "
         "the same entries");

    static const char *const bad[] = {
        "?from=0",
        "?from=-1",
        "?from=abc",
        "?from=",
        "?from=1x",
        "?from=+1",
        "?max=0",
        "?max=10001",
        "?max=",
        "?max=1e3",
        "?max=-5",
        "?from=1&max=99999",
        "?from=18446744073709551616",
        "?max=%31",
    };
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "status");
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char err[256];
        long s = get_log(leader, bad[k], &pg);
        log_page_free(&pg);
        EXPECT(s == 400 &&
                   cli_json_str(x.body, x.len, "error", err, sizeof(err)),
               "GET /v1/log%s: %ld, not 400 with a message", bad[k], s);
    }
    EXPECT(cli_cluster_status(&cl, leader, &st) == 0, "status");
    EXPECT(st.last_index == ls.last_index && st.term == ls.term,
           "bad requests moved the log");
    note("%zu bad from/max: 400 with a message", sizeof(bad) / sizeof(bad[0]));
    return 0;
bad_page:
    log_page_free(&pg);
    log_page_free(&all);
    return -1;
}

/* POST node i's /raft/v1/fault?drop=list with the cluster token (bearer,
 * or none when NULL); the status. */
static long fault(size_t i, const char *bearer, const char *list)
{
    char path[512];
    const char *auth[] = {bearer, NULL};
    snprintf(path, sizeof(path), "/raft/v1/fault?drop=%s", list);
    return post(i, path, "", 0, auth);
}

/* Whether node i's status says it drops exactly the JSON array want. */
static bool drops(size_t i, const char *want)
{
    char url[CLI_URL_MAX], member[256];
    snprintf(url, sizeof(url), "%s/v1/status", cl.nodes[i].url);
    snprintf(member, sizeof(member), "\"dropping\":%s", want);
    return get(url) == 200 && strstr(x.body, member) != NULL;
}

/* Wait until one of a and b leads in a term above term and the other
 * follows it; its index, or cl.n. */
static size_t
wait_leader_of(size_t a, size_t b, uint64_t term, uint64_t timeout_ms)
{
    uint64_t deadline = cli_now_ms() + timeout_ms;
    while (cli_now_ms() < deadline && !cli_interrupted) {
        cli_status sa, sb;
        if (cli_cluster_status(&cl, a, &sa) == 0 &&
            cli_cluster_status(&cl, b, &sb) == 0 && sa.term > term &&
            strcmp(sa.leader, sb.leader) == 0) {
            if (strcmp(sa.leader, cl.nodes[a].id) == 0 &&
                strcmp(sa.role, "leader") == 0)
                return a;
            if (strcmp(sb.leader, cl.nodes[b].id) == 0 &&
                strcmp(sb.role, "leader") == 0)
                return b;
        }
        cli_sleep_ms(50);
    }
    return cl.n;
}

/* Wait until every node is at the same last index and commit index, all
 * committed, at least at index at; false on time-out. */
static bool wait_converged(uint64_t at, uint64_t timeout_ms)
{
    uint64_t deadline = cli_now_ms() + timeout_ms;
    cli_status st[CLI_MAX_NODES];
    for (;;) {
        bool same = true;
        for (size_t i = 0; same && i < cl.n; i++)
            same = cli_cluster_status(&cl, i, &st[i]) == 0 &&
                   st[i].last_index >= at &&
                   st[i].commit_index == st[i].last_index &&
                   st[i].last_index == st[0].last_index;
        if (same)
            return true;
        if (cli_now_ms() >= deadline || cli_interrupted) {
            for (size_t i = 0; i < cl.n; i++)
                if (cli_cluster_status(&cl, i, &st[i]) == 0)
                    fprintf(stderr, "%s: %s, last %llu, commit %llu\n",
                            st[i].id, st[i].role,
                            (unsigned long long)st[i].last_index,
                            (unsigned long long)st[i].commit_index);
            return false;
        }
        cli_sleep_ms(50);
    }
}

/* The fault hook: off, POST /raft/v1/fault is an unknown path (404, 401
 * without the token).  On: 401 without the token, 400 for an unknown id or
 * a malformed list (nothing changes).  Cutting the leader off from both
 * followers (drop lists on all three) lets them elect a new leader that
 * takes writes while the old one commits nothing; healing (drop= on
 * all) brings the old leader to the same log and commit index. */
static int scenario_fault_hook(void)
{
    size_t leader;
    cli_status ls, st;
    char token[128], bearer[160];
    static record before[5], during[5];
    record r;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    for (size_t i = 0; i < cl.n; i++) {
        long s = fault(i, bearer, "");
        EXPECT(s == 404, "%s without --fault-hook: %ld, not 404",
               cl.nodes[i].id, s);
        s = fault(i, NULL, "");
        EXPECT(s == 401, "%s without --fault-hook nor token: %ld, not 401",
               cl.nodes[i].id, s);
        EXPECT(!drops(i, "["), "%s shows a drop set without the hook",
               cl.nodes[i].id);
    }
    note("without --fault-hook: 404 (401 without the token)");

    EXPECT(cli_cluster_stop_all(&cl, 10000) == 0, "stop");
    cl.fault_hook = true;
    EXPECT(cli_cluster_start(&cl, START_MS) == 0, "start with --fault-hook");
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &leader) == 0, "leader");
    size_t f1 = follower(leader, cl.n), f2 = follower(leader, f1);
    const char *lid = cl.nodes[leader].id;
    char both[64], both_json[64];
    /* A node's peers are the others in index order. */
    size_t lo = f1 < f2 ? f1 : f2, hi = f1 < f2 ? f2 : f1;
    snprintf(both, sizeof(both), "%s,%s", cl.nodes[lo].id, cl.nodes[hi].id);
    snprintf(both_json, sizeof(both_json), "[\"%s\",\"%s\"]", cl.nodes[lo].id,
             cl.nodes[hi].id);
    note("restarted with --fault-hook; %s leads", lid);

    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "status");
    long s = fault(leader, NULL, cl.nodes[f1].id);
    EXPECT(s == 401, "no token: %ld, not 401", s);
    const char *wrong[] = {"n9",  "n1,n9",  lid,   ",",   "n2,",
                           ",n2", "n2,,n3", "%zz", "%00", "n%"};
    for (size_t k = 0; k < sizeof(wrong) / sizeof(wrong[0]); k++) {
        s = fault(leader, bearer, wrong[k]);
        EXPECT(s == 400, "drop=%s: %ld, not 400", wrong[k], s);
    }
    s = post(leader, "/raft/v1/fault", "", 0, (const char *[]){bearer, NULL});
    EXPECT(s == 400, "no drop=: %ld, not 400", s);
    EXPECT(drops(leader, "[]"), "the drop set changed: %s", x.body);
    EXPECT(cli_cluster_status(&cl, leader, &st) == 0, "status");
    EXPECT(st.term == ls.term && strcmp(st.role, "leader") == 0,
           "refused fault requests changed the leader");
    note("no token: 401; unknown ids, its own id, malformed lists and no "
         "drop=: 400, the drop set still empty");

    for (size_t k = 0; k < 5; k++) {
        make_record(&before[k], 100);
        make_record(&during[k], 100);
    }
    make_record(&r, 100);
    EXPECT(put_many(cl.nodes[leader].url, before, 5) == 0, "puts");

    EXPECT(fault(leader, bearer, both) == 204, "drop=%s on %s: %ld", both, lid,
           x.status);
    EXPECT(fault(f1, bearer, lid) == 204, "drop=%s: %ld", lid, x.status);
    EXPECT(fault(f2, bearer, lid) == 204, "drop=%s: %ld", lid, x.status);
    EXPECT(drops(leader, both_json), "%s's status: %s", lid, x.body);
    char one_json[64];
    snprintf(one_json, sizeof(one_json), "[\"%s\"]", lid);
    EXPECT(drops(f1, one_json) && drops(f2, one_json), "followers' status");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "status");
    note("partitioned: %s drops %s; both drop %s", lid, both, lid);

    size_t nl = wait_leader_of(f1, f2, ls.term, 30000);
    EXPECT(nl < cl.n, "no new leader among %s and %s", cl.nodes[f1].id,
           cl.nodes[f2].id);
    EXPECT(put_many(cl.nodes[nl].url, during, 5) == 0,
           "writes through the new leader");
    cli_status ns;
    EXPECT(cli_cluster_status(&cl, nl, &ns) == 0, "new leader's status");
    note("%s leads in term %llu and took 5 writes (commit %llu)",
         cl.nodes[nl].id, (unsigned long long)ns.term,
         (unsigned long long)ns.commit_index);

    /* The old leader, cut off, cannot commit: a write to it gets no 201
     * (it waits for a majority it cannot reach, or it stepped down). */
    cli_status os;
    EXPECT(cli_cluster_status(&cl, leader, &os) == 0, "old leader's status");
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/records", cl.nodes[leader].url);
    cli_xfer_post(&x, url, r.bytes, r.len, NULL, 3000);
    cli_xfer_perform(&x);
    EXPECT(x.status != 201, "the cut-off old leader stored a write");
    long old_answer = x.status;
    EXPECT(cli_cluster_status(&cl, leader, &st) == 0, "old leader's status");
    EXPECT(
        st.commit_index <= os.last_index && st.commit_index < ns.commit_index,
        "the old leader committed: commit %llu, last index %llu before "
        "the write, the new leader's commit %llu",
        (unsigned long long)st.commit_index, (unsigned long long)os.last_index,
        (unsigned long long)ns.commit_index);
    note("the old leader answered the write %ld and stayed at commit %llu",
         old_answer, (unsigned long long)st.commit_index);

    for (size_t i = 0; i < cl.n; i++) {
        s = fault(i, bearer, "");
        EXPECT(s == 204, "%s: drop=: %ld", cl.nodes[i].id, s);
        EXPECT(drops(i, "[]"), "%s still drops: %s", cl.nodes[i].id, x.body);
    }
    note("healed");
    EXPECT(wait_converged(ns.commit_index, 30000),
           "the nodes did not converge");
    size_t now_leader;
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &now_leader) == 0,
           "no leader after healing");
    EXPECT(expect_records(leader, during, 5, CATCH_UP_MS) == 0,
           "the old leader lacks the records written without it");
    log_page a, b;
    EXPECT(get_log(leader, "", &a) == 200, "old leader's log");
    bool same = get_log(nl, "", &b) == 200 && a.n == b.n;
    for (size_t k = 0; same && k < a.n; k++)
        same = same_entry(&a.e[k], &b.e[k]);
    size_t na = a.n;
    log_page_free(&a);
    log_page_free(&b);
    EXPECT(same, "the old leader's log (%zu entries) differs from %s's", na,
           cl.nodes[nl].id);
    EXPECT(cli_cluster_status(&cl, leader, &st) == 0, "status");
    note("%s caught up: last index %llu, commit %llu, the same %zu entries "
         "as %s",
         lid, (unsigned long long)st.last_index,
         (unsigned long long)st.commit_index, na, cl.nodes[nl].id);
    return 0;
}

/* GET node i's record r with ?consistent=1 (at most 15 s: a read waits
 * up to 5 s on the node); the status, with x holding the answer. */
static long consistent_get(size_t i, const record *r)
{
    char url[CLI_URL_MAX];
    int n = snprintf(url, sizeof(url), "%s/v1/records/%s?consistent=1",
                     cl.nodes[i].url, r->id);
    if (n < 0 || (size_t)n >= sizeof(url))
        return 0;
    cli_xfer_get(&x, url, 15000);
    cli_xfer_perform(&x);
    return x.status;
}

/* x holds r exactly: its bytes and its Repr-Digest. */
static bool holds_record(const record *r)
{
    return x.len == r->len && memcmp(x.body, r->bytes, r->len) == 0 &&
           cli_repr_digest_check(x.repr_digest, r->digest) == 1;
}

/* Drop lists that cut node a off from node b, both ways (other links
 * untouched: lists name every peer a node drops). */
static int cut(const char *bearer, size_t a, const char *a_drops, size_t b,
               const char *b_drops)
{
    if (fault(a, bearer, a_drops) != 204 || fault(b, bearer, b_drops) != 204)
        return -1;
    return 0;
}

/* Linearizable reads (ReadIndex, Raft thesis §6.4): a record written
 * through the leader reads back with ?consistent=1 at once from every
 * node, a follower waiting until it has applied the leader's read index
 * (never a 404 for a write already answered 201); an absent record is
 * 404.  A node cut off from the leader answers 503 or 504, never what it
 * holds: an old leader cut off from the majority that elected another
 * still answers a plain GET from its stale store (404 for a record
 * written since), but not a consistent one. */
static int scenario_consistent_read(void)
{
    size_t leader;
    char token[128], bearer[160];
    static record rs[8];
    record r2, absent;
    cli_put p;
    if (cli_cluster_init(&cl, tmp, 3, NULL, refraft_exe, true) != 0)
        return -1;
    cl_ready = true;
    cl.log_level = "debug";
    cl.fault_hook = true;
    EXPECT(cli_cluster_start(&cl, START_MS) == 0, "start");
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &leader) == 0, "leader");
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    size_t f1 = follower(leader, cl.n), f2 = follower(leader, f1);
    const char *lid = cl.nodes[leader].id;
    note("3 nodes up with --fault-hook; %s leads", lid);

    /* Followers first: right after the 201 they may not have applied
     * the entry yet, and must wait rather than answer 404. */
    size_t order[3] = {f1, f2, leader};
    for (size_t k = 0; k < sizeof(rs) / sizeof(rs[0]); k++) {
        make_record(&rs[k], 64 + k);
        EXPECT(put_record(cl.nodes[leader].url, &rs[k], &p) == 0, "put %zu", k);
        for (size_t j = 0; j < 3; j++) {
            size_t i = order[(j + k) % 3];
            long s = consistent_get(i, &rs[k]);
            EXPECT(s == 200, "%s: consistent GET of record %zu: %ld %s",
                   cl.nodes[i].id, k, s, s != 0 ? x.body : x.error);
            EXPECT(holds_record(&rs[k]), "%s: record %zu: wrong bytes",
                   cl.nodes[i].id, k);
        }
    }
    note("%zu records, each read back with ?consistent=1 from all three "
         "nodes right after its 201",
         sizeof(rs) / sizeof(rs[0]));

    make_record(&absent, 32);
    for (size_t i = 0; i < cl.n; i++) {
        long s = consistent_get(i, &absent);
        EXPECT(s == 404, "%s: consistent GET of an absent record: %ld %s",
               cl.nodes[i].id, s, s != 0 ? x.body : x.error);
    }
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/records/%s?consistent=yes",
             cl.nodes[leader].url, rs[0].id);
    EXPECT(get(url) == 400, "consistent=yes: %ld, not 400", x.status);
    note("an absent record: 404 everywhere; consistent=yes: 400");

    /* f1 alone cut off from the leader: it cannot get a read index. */
    char drop_f1[64], drop_lead[64];
    snprintf(drop_f1, sizeof(drop_f1), "%s", cl.nodes[f1].id);
    snprintf(drop_lead, sizeof(drop_lead), "%s", lid);
    EXPECT(cut(bearer, leader, drop_f1, f1, drop_lead) == 0, "cut %s",
           cl.nodes[f1].id);
    long s = consistent_get(f1, &rs[0]);
    EXPECT(s == 503 || s == 504,
           "%s, cut off from the leader: %ld, not "
           "503/504",
           cl.nodes[f1].id, s);
    note("%s cut off from %s: consistent read %ld", cl.nodes[f1].id, lid, s);
    EXPECT(cut(bearer, leader, "", f1, "") == 0, "heal");

    /* The leader cut off from both: the followers elect another, which
     * takes r2.  The old leader's store lacks r2. */
    cli_status ls;
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "status");
    size_t lo = f1 < f2 ? f1 : f2, hi = f1 < f2 ? f2 : f1;
    char both[64];
    snprintf(both, sizeof(both), "%s,%s", cl.nodes[lo].id, cl.nodes[hi].id);
    EXPECT(fault(leader, bearer, both) == 204, "drop=%s", both);
    EXPECT(fault(f1, bearer, lid) == 204 && fault(f2, bearer, lid) == 204,
           "drop=%s on the followers", lid);
    size_t nl = wait_leader_of(f1, f2, ls.term, 30000);
    EXPECT(nl < cl.n, "no new leader among %s and %s", cl.nodes[f1].id,
           cl.nodes[f2].id);
    make_record(&r2, 100);
    EXPECT(put_record(cl.nodes[nl].url, &r2, &p) == 0, "put via %s",
           cl.nodes[nl].id);
    size_t other = nl == f1 ? f2 : f1;
    s = consistent_get(other, &r2);
    EXPECT(s == 200 && holds_record(&r2), "%s: consistent GET of r2: %ld",
           cl.nodes[other].id, s);
    s = consistent_get(nl, &r2);
    EXPECT(s == 200 && holds_record(&r2), "%s: consistent GET of r2: %ld",
           cl.nodes[nl].id, s);
    note("%s leads; r2 written through it reads back consistently there "
         "and on %s",
         cl.nodes[nl].id, cl.nodes[other].id);
    snprintf(url, sizeof(url), "%s/v1/records/%s", cl.nodes[leader].url, r2.id);
    EXPECT(get(url) == 404, "the cut-off old leader holds r2: %ld", x.status);
    for (int k = 0; k < 3; k++) {
        s = consistent_get(leader, &r2);
        EXPECT(s == 503 || s == 504,
               "the cut-off old leader answered a consistent read %ld, not "
               "503/504",
               s);
        s = consistent_get(leader, &rs[0]);
        EXPECT(s == 503 || s == 504,
               "the cut-off old leader answered a consistent read of an "
               "old record %ld, not 503/504",
               s);
    }
    note("the cut-off %s: plain GET of r2 404 (stale), consistent 503/504",
         lid);

    for (size_t i = 0; i < cl.n; i++)
        EXPECT(fault(i, bearer, "") == 204, "%s: drop=", cl.nodes[i].id);
    uint64_t deadline = cli_now_ms() + CATCH_UP_MS;
    for (;;) {
        s = consistent_get(leader, &r2);
        if (s == 200)
            break;
        EXPECT(s == 503 || s == 504, "%s after healing: %ld", lid, s);
        EXPECT(cli_now_ms() < deadline, "%s: still %ld after healing", lid, s);
        cli_sleep_ms(100);
    }
    EXPECT(holds_record(&r2), "%s: r2: wrong bytes", lid);
    note("healed: %s reads r2 consistently", lid);
    return 0;
}

/* Whether node i's GET /v1/log (its first page) names the record id. */
static bool log_names(size_t i, const char *id)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/log?max=10000", cl.nodes[i].url);
    return get(url) == 200 && strstr(x.body, id) != NULL;
}

/* Plain GET of r from node i; the status. */
static long plain_get(size_t i, const record *r)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/records/%s", cl.nodes[i].url, r->id);
    return get(url);
}

/* Reads return only records whose entry the node applied: a record is
 * stored before its entry commits (the leader stores it with the
 * proposal), and that entry may never commit.  A leader cut off from
 * both followers stores a write it cannot commit; a plain GET of it
 * there is 404, not the record.  Once healed, the new leader's term
 * truncates the entry: 404 everywhere, plain and consistent, while the
 * writes that committed read back everywhere. */
static int scenario_uncommitted_not_served(void)
{
    size_t leader;
    char token[128], bearer[160];
    record c1, c2, u;
    cli_put p;
    if (cli_cluster_init(&cl, tmp, 3, NULL, refraft_exe, true) != 0)
        return -1;
    cl_ready = true;
    cl.log_level = "debug";
    cl.fault_hook = true;
    EXPECT(cli_cluster_start(&cl, START_MS) == 0, "start");
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &leader) == 0, "leader");
    EXPECT(read_token(token, sizeof(token)) == 0, "token file");
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
    size_t f1 = follower(leader, cl.n), f2 = follower(leader, f1);
    const char *lid = cl.nodes[leader].id;
    make_record(&c1, 200);
    make_record(&c2, 200);
    make_record(&u, 200);
    EXPECT(put_record(cl.nodes[leader].url, &c1, &p) == 0, "put c1");
    for (size_t i = 0; i < cl.n; i++)
        EXPECT(expect_record(i, &c1, CATCH_UP_MS) == 0, "c1 on %s",
               cl.nodes[i].id);
    note("3 nodes up with --fault-hook; %s leads; c1 committed, read "
         "everywhere",
         lid);

    /* Cut the leader off first and write to it at once, before it can
     * step down: it stores u and proposes it, and cannot commit it. */
    cli_status ls;
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "status");
    size_t lo = f1 < f2 ? f1 : f2, hi = f1 < f2 ? f2 : f1;
    char both[64];
    snprintf(both, sizeof(both), "%s,%s", cl.nodes[lo].id, cl.nodes[hi].id);
    EXPECT(fault(leader, bearer, both) == 204, "drop=%s", both);
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/records", cl.nodes[leader].url);
    cli_xfer_post(&x, url, u.bytes, u.len, NULL, 1500);
    cli_xfer_perform(&x);
    EXPECT(x.status != 201, "the cut-off leader answered 201");
    long answer = x.status;
    EXPECT(fault(f1, bearer, lid) == 204 && fault(f2, bearer, lid) == 204,
           "drop=%s on the followers", lid);
    EXPECT(log_names(leader, u.id),
           "the cut-off %s did not take the write (answered %ld): its log "
           "lacks u",
           lid, answer);
    cli_status os;
    EXPECT(cli_cluster_status(&cl, leader, &os) == 0, "status");
    EXPECT(os.records > ls.records, "%s does not hold u (%llu records)", lid,
           (unsigned long long)os.records);
    long s = plain_get(leader, &u);
    EXPECT(s == 404, "%s served its uncommitted u: %ld, not 404", lid, s);
    for (size_t i = 0; i < cl.n; i++) {
        if (i == leader)
            continue;
        s = plain_get(i, &u);
        EXPECT(s == 404, "%s: u: %ld, not 404", cl.nodes[i].id, s);
    }
    note("%s holds u in its log and store (write answered %ld, commit "
         "%llu < last %llu): plain GET 404",
         lid, answer, (unsigned long long)os.commit_index,
         (unsigned long long)os.last_index);

    size_t nl = wait_leader_of(f1, f2, ls.term, 30000);
    EXPECT(nl < cl.n, "no new leader among %s and %s", cl.nodes[f1].id,
           cl.nodes[f2].id);
    EXPECT(put_record(cl.nodes[nl].url, &c2, &p) == 0, "put c2 via %s",
           cl.nodes[nl].id);
    cli_status ns;
    EXPECT(cli_cluster_status(&cl, nl, &ns) == 0, "new leader's status");
    s = plain_get(leader, &u);
    EXPECT(s == 404, "%s served u after %s took over: %ld", lid,
           cl.nodes[nl].id, s);
    note("%s leads in term %llu and committed c2; %s still 404 for u",
         cl.nodes[nl].id, (unsigned long long)ns.term, lid);

    for (size_t i = 0; i < cl.n; i++)
        EXPECT(fault(i, bearer, "") == 204, "%s: drop=", cl.nodes[i].id);
    EXPECT(wait_converged(ns.commit_index, 30000),
           "the nodes did not converge");
    EXPECT(!log_names(leader, u.id), "%s's log still names u after healing",
           lid);
    for (size_t i = 0; i < cl.n; i++) {
        s = plain_get(i, &u);
        EXPECT(s == 404, "%s: plain GET of u after healing: %ld, not 404",
               cl.nodes[i].id, s);
        s = consistent_get(i, &u);
        EXPECT(s == 404, "%s: consistent GET of u after healing: %ld, not 404",
               cl.nodes[i].id, s);
        EXPECT(expect_record(i, &c1, CATCH_UP_MS) == 0 &&
                   expect_record(i, &c2, CATCH_UP_MS) == 0,
               "c1, c2 on %s", cl.nodes[i].id);
        s = consistent_get(i, &c2);
        EXPECT(s == 200 && holds_record(&c2), "%s: consistent GET of c2: %ld",
               cl.nodes[i].id, s);
    }
    note("healed: u truncated from %s's log; u 404 everywhere (plain and "
         "consistent), c1 and c2 served everywhere",
         lid);
    return 0;
}

/* Run fn on the database name of the store in dir (its node stopped), in
 * a write transaction committed when fn returns 0.  Returns LMDB's code,
 * after saying what failed on stderr. */
static int with_db(const char *dir, const char *name,
                   int (*fn)(MDB_txn *txn, MDB_dbi dbi, void *ctx), void *ctx)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_open(env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == 0)
        rc = fn(txn, dbi, ctx);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    if (rc != 0)
        fprintf(stderr, "database %s in %s: %s\n", name, dir, mdb_strerror(rc));
    return rc;
}

static int drop(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    (void)ctx;
    return mdb_drop(txn, dbi, 1);
}

/* Delete the database name ("applied", "applied_by_index") from the
 * store in dir (its node stopped), as a store written before it existed
 * lacks it. */
static int drop_db(const char *dir, const char *name)
{
    return with_db(dir, name, drop, NULL) == 0 ? 0 : -1;
}

/* The key in "applied" that says it is complete: under the name an older
 * runtime gave it (without the first zero byte), or the current one. */
struct built_key {
    bool move, legacy; /* in: put it under the legacy name (or not) */
    int found;         /* out: 1 legacy, 0 current, -1 neither or both */
};

static int built_key_op(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    struct built_key *b = ctx;
    uint8_t cur[256] = "\0refraft:applied-built";
    uint8_t old[256] = "refraft:applied-built";
    MDB_val ck = {256, cur}, ok = {256, old}, v = {0, ""};
    if (b->move) {
        int rc = mdb_del(txn, dbi, b->legacy ? &ck : &ok, NULL);
        b->found = b->legacy;
        return rc == 0 ? mdb_put(txn, dbi, b->legacy ? &ok : &ck, &v, 0) : rc;
    }
    bool has_cur = mdb_get(txn, dbi, &ck, &v) == 0;
    bool has_old = mdb_get(txn, dbi, &ok, &v) == 0;
    b->found = has_cur && !has_old ? 0 : has_old && !has_cur ? 1 : -1;
    return 0;
}

/* With move, put the built key of the store in dir under the legacy
 * name (legacy) or the current one, deleting the other; without, say
 * which one it is under: 1 for legacy, 0 for the current one, -1
 * otherwise. */
static int built_key(const char *dir, bool move, bool legacy)
{
    struct built_key b = {move, legacy, -1};
    return with_db(dir, "applied", built_key_op, &b) == 0 ? b.found : -1;
}

/* A store whose "applied" database is missing (one written before the
 * database existed) gets it rebuilt from the log at start: the records
 * of every REF entry up to the applied index are served again.  One whose
 * key saying it is complete is where an older runtime put it has the key
 * moved, and nothing rebuilt. */
static int scenario_applied_rebuild(void)
{
    size_t leader;
    static record rs[20];
    record absent;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < 20; i++)
        make_record(&rs[i], 300);
    make_record(&absent, 30);
    EXPECT(put_many(cl.nodes[leader].url, rs, 20) == 0, "puts");
    EXPECT(expect_records(f, rs, 20, CATCH_UP_MS) == 0, "records on %s",
           cl.nodes[f].id);
    cli_cluster_signal(&cl, f, SIGTERM);
    EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
           cl.nodes[f].id);
    EXPECT(drop_db(cl.nodes[f].dir, "applied") == 0, "drop applied");
    note("stopped %s and deleted its applied database", cl.nodes[f].id);
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    char path[CLI_PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/log", cl.nodes[f].dir);
    EXPECT(file_holds(path, "rebuilt the applied records from the log: 20 "
                            "REF entries"),
           "%s's log does not tell of the rebuild", cl.nodes[f].id);
    EXPECT(expect_records(f, rs, 20, 2000) == 0, "records on %s",
           cl.nodes[f].id);
    EXPECT(plain_get(f, &absent) == 404, "an absent record: %ld", x.status);
    note("%s rebuilt applied from its log: its 20 records are served, an "
         "absent one is 404",
         cl.nodes[f].id);
    for (int round = 0; round < 2; round++) {
        cli_cluster_signal(&cl, f, SIGTERM);
        EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
               cl.nodes[f].id);
        EXPECT(built_key(cl.nodes[f].dir, false, false) == 0,
               "the built key is not where it belongs (round %d)", round);
        if (round == 1)
            break;
        EXPECT(built_key(cl.nodes[f].dir, true, true) == 1, "legacy key");
        EXPECT(remove(path) == 0, "removing %s's log", cl.nodes[f].id);
        EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
        EXPECT(expect_records(f, rs, 20, 2000) == 0, "records on %s",
               cl.nodes[f].id);
        EXPECT(!file_holds(path, "rebuilt the applied records"),
               "%s rebuilt applied under the legacy key", cl.nodes[f].id);
    }
    note("%s, with the built key where an older runtime put it, moved the "
         "key and rebuilt nothing",
         cl.nodes[f].id);
    return 0;
}

/* ---- membership changes and leadership transfer ----------------------- */

/* A membership request to node i: method and path, with body (NULL:
 * none); x has the answer.  Returns the status, 0 when none came. */
static long
member_req(size_t i, const char *method, const char *path, const char *body)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s%s", cl.nodes[i].url, path);
    if (strcmp(method, "GET") == 0) {
        cli_xfer_get(&x, url, 30000);
    } else {
        cli_xfer_post(&x, url, body != NULL ? body : "",
                      body != NULL ? strlen(body) : 0, NULL, 30000);
        if (strcmp(method, "POST") != 0)
            cli_xfer_method(&x, method);
    }
    cli_xfer_perform(&x);
    return x.status;
}

/* How many times needle occurs in the last answer's body. */
static size_t occurrences(const char *needle)
{
    size_t n = 0;
    for (const char *p = x.body; p != NULL && (p = strstr(p, needle)) != NULL;
         p += strlen(needle))
        n++;
    return n;
}

/* Node i's configuration index (GET /v1/status), or UINT64_MAX. */
static uint64_t config_index_of(size_t i)
{
    char url[CLI_URL_MAX];
    uint64_t v;
    snprintf(url, sizeof(url), "%s/v1/status", cl.nodes[i].url);
    if (get(url) != 200 || !cli_json_u64(x.body, x.len, "config_index", &v))
        return UINT64_MAX;
    return v;
}

/* Promote id through the leader, retrying while it is behind (409). */
static long promote_when_caught_up(size_t leader, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/members/%s/promote", id);
    uint64_t deadline = cli_now_ms() + CATCH_UP_MS;
    for (;;) {
        long status = member_req(leader, "POST", path, NULL);
        if ((status != 409 && status != 503) || cli_now_ms() >= deadline ||
            cli_interrupted)
            return status;
        cli_sleep_ms(100);
    }
}

/* Thesis §4.1-§4.3: a server joins as a learner, catches up (records
 * included, through its sweeper), is promoted, and counts; a follower
 * removed gets nothing more while writes go on without it. */
static int scenario_membership(void)
{
    size_t leader, j;
    cli_status st, ls;
    static record rs[35];
    char body[512];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    for (size_t i = 0; i < 35; i++)
        make_record(&rs[i], 500);
    EXPECT(put_many(cl.nodes[leader].url, rs, 20) == 0, "first puts");
    EXPECT(cli_cluster_add_node(&cl, &j) == 0, "a fourth node");
    EXPECT(cli_cluster_start_node(&cl, j, START_MS) == 0, "start %s --join",
           cl.nodes[j].id);
    EXPECT(get(strcat(strcpy(body, cl.nodes[j].url), "/v1/status")) == 200 &&
               strstr(x.body, "\"member\":false") != NULL,
           "a joining node is no member yet: %s", x.body);
    note("%s started with --join at %s", cl.nodes[j].id, cl.nodes[j].url);

    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"url\":\"%s\"}",
             cl.nodes[j].id, cl.nodes[j].url);
    long status = member_req(leader, "POST", "/v1/members", body);
    EXPECT(status == 200, "add: %ld %s", status, x.body);
    note("added %s as a learner: %s", cl.nodes[j].id, x.body);
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(j, 20, ls.commit_index, &st) == 0, "learner catch-up");
    EXPECT(expect_records(j, rs, 20, CATCH_UP_MS) == 0, "learner records");
    note("%s holds the 20 records", cl.nodes[j].id);

    status = promote_when_caught_up(leader, cl.nodes[j].id);
    EXPECT(status == 200, "promote: %ld %s", status, x.body);
    EXPECT(member_req(leader, "GET", "/v1/members", NULL) == 200, "members");
    EXPECT(occurrences("\"voter\":true") == 4 &&
               occurrences("\"voter\":false") == 0,
           "not 4 voters: %s", x.body);
    EXPECT(strstr(x.body, cl.nodes[j].url) != NULL, "no URL for %s: %s",
           cl.nodes[j].id, x.body);
    note("promoted: %s", x.body);
    EXPECT(get(strcat(strcpy(body, cl.nodes[j].url), "/v1/status")) == 200 &&
               strstr(x.body, "\"member\":true") != NULL &&
               strstr(x.body, "\"voter\":true") != NULL,
           "%s does not know it votes: %s", cl.nodes[j].id, x.body);

    size_t f = follower(leader, j);
    char path[128];
    snprintf(path, sizeof(path), "/v1/members/%s", cl.nodes[f].id);
    status = member_req(leader, "DELETE", path, NULL);
    EXPECT(status == 200, "remove: %ld %s", status, x.body);
    note("removed %s: %s", cl.nodes[f].id, x.body);
    cli_sleep_ms(500);
    cli_status fs, fs2;
    EXPECT(cli_cluster_status(&cl, f, &fs) == 0, "removed node's status");
    EXPECT(put_many(cl.nodes[leader].url, rs + 20, 10) == 0,
           "puts after the removal");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(j, 30, ls.commit_index, &st) == 0, "new voter");
    EXPECT(expect_records(j, rs + 20, 10, CATCH_UP_MS) == 0, "new records");
    EXPECT(cli_cluster_status(&cl, f, &fs2) == 0, "removed node's status");
    EXPECT(fs2.last_index == fs.last_index,
           "the removed %s got entries: last index %llu, then %llu",
           cl.nodes[f].id, (unsigned long long)fs.last_index,
           (unsigned long long)fs2.last_index);
    EXPECT(member_req(leader, "GET", "/v1/members", NULL) == 200 &&
               occurrences("\"voter\":true") == 3,
           "not 3 voters: %s", x.body);
    note("writes commit without %s, which stays at %llu", cl.nodes[f].id,
         (unsigned long long)fs2.last_index);

    /* Thesis §4.2.2: a leader that removes itself leads until the
     * change commits, then steps down; the others elect a leader. */
    snprintf(path, sizeof(path), "/v1/members/%s", cl.nodes[leader].id);
    status = member_req(leader, "DELETE", path, NULL);
    EXPECT(status == 200, "removing the leader: %ld %s", status, x.body);
    snprintf(body, sizeof(body), "%s/v1/status", cl.nodes[leader].url);
    EXPECT(get(body) == 200 && strstr(x.body, "\"member\":false") != NULL &&
               strstr(x.body, "\"role\":\"leader\"") == NULL,
           "the removed leader: %s", x.body);
    note("%s removed itself and stepped down", cl.nodes[leader].id);
    size_t gone[] = {f, leader};
    for (size_t k = 0; k < 2; k++) {
        cli_cluster_signal(&cl, gone[k], SIGTERM);
        int ws = cli_cluster_reap(&cl, gone[k], 10000);
        EXPECT(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "%s did not stop cleanly",
               cl.nodes[gone[k]].id);
    }
    size_t nl;
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &nl) == 0,
           "no leader among the two left");
    EXPECT(put_many(cl.nodes[nl].url, rs + 30, 5) == 0, "puts under %s",
           cl.nodes[nl].id);
    EXPECT(expect_records(j, rs + 30, 5, CATCH_UP_MS) == 0, "records on %s",
           cl.nodes[j].id);
    note("%s leads the two voters left; writes go on", cl.nodes[nl].id);
    return 0;
}

/* Thesis §3.10: the leader hands over to a named follower, which leads
 * within a few election time-outs; writes go on through it. */
static int scenario_transfer(void)
{
    size_t leader, now;
    static record rs[10];
    char body[128];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    for (size_t i = 0; i < 10; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, 5) == 0, "first puts");
    size_t t = follower(leader, cl.n);
    snprintf(body, sizeof(body), "{\"to\":\"%s\"}", cl.nodes[t].id);
    uint64_t at = cli_now_ms();
    long status = member_req(leader, "POST", "/v1/transfer", body);
    EXPECT(status == 200, "transfer: %ld %s", status, x.body);
    note("transfer answered after %llu ms: %s",
         (unsigned long long)(cli_now_ms() - at), x.body);
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &now) == 0, "no leader");
    EXPECT(now == t, "%s leads, not %s", cl.nodes[now].id, cl.nodes[t].id);
    EXPECT(put_many(cl.nodes[leader].url, rs + 5, 5) == 0,
           "puts through the old leader");
    for (size_t i = 0; i < cl.n; i++)
        EXPECT(expect_records(i, rs, 10, CATCH_UP_MS) == 0, "records on %zu",
               i);
    /* A follower sends a transfer to the leader. */
    status = member_req(leader, "POST", "/v1/transfer", body);
    EXPECT(status == 307 && strcmp(x.leader, cl.nodes[t].id) == 0,
           "a follower answered %ld (leader \"%s\")", status, x.leader);
    note("%s leads and writes go on", cl.nodes[t].id);
    /* And back with the CLI, through a follower. */
    char out[4096];
    char *back[] = {(char *)refraft_exe,  "transfer",
                    cl.nodes[leader].id,  "--to",
                    cl.nodes[leader].url, NULL};
    EXPECT(run(back, out, sizeof(out)) == 0, "refraft transfer: %s", out);
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &now) == 0 && now == leader,
           "%s does not lead again", cl.nodes[leader].id);
    note("refraft transfer handed it back to %s: %s", cl.nodes[leader].id, out);
    return 0;
}

/* Bad membership requests get 400 and change no configuration. */
static int scenario_member_input(void)
{
    size_t leader;
    record r;
    cli_put p;
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    make_record(&r, 64);
    EXPECT(put_record(cl.nodes[leader].url, &r, &p) == 0, "put");
    uint64_t before = config_index_of(leader);
    char existing[256], path[128];
    size_t f = follower(leader, cl.n);
    snprintf(existing, sizeof(existing),
             "{\"id\":\"%s\",\"url\":\"http://127.0.0.1:1\"}", cl.nodes[f].id);
    static const struct {
        const char *method, *path, *body;
    } bad[] = {
        {"POST", "/v1/members", "{\"id\":\"n9\""},
        {"POST", "/v1/members", "[\"n9\"]"},
        {"POST", "/v1/members", "{\"id\":\"n9\",\"url\":\"ftp://x\"}"},
        {"POST", "/v1/members", "{\"id\":\"n9\",\"url\":7}"},
        {"POST", "/v1/members",
         "{\"id\":\"n9\",\"url\":\"http://a:1\",\"x\":\"\"}"},
        {"POST", "/v1/members", "{\"id\":\"\",\"url\":\"http://a:1\"}"},
        {"DELETE", "/v1/members/n9", NULL},
        {"POST", "/v1/members/n9/promote", NULL},
        {"POST", "/v1/transfer", "{\"to\":\"n9\"}"},
        {"POST", "/v1/transfer", "{}"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        long status =
            member_req(leader, bad[k].method, bad[k].path, bad[k].body);
        EXPECT(status == 400, "%s %s %s: %ld %s", bad[k].method, bad[k].path,
               bad[k].body != NULL ? bad[k].body : "", status, x.body);
    }
    long status = member_req(leader, "POST", "/v1/members", existing);
    EXPECT(status == 400, "adding %s again: %ld %s", cl.nodes[f].id, status,
           x.body);
    snprintf(path, sizeof(path), "/v1/members/%s/promote", cl.nodes[f].id);
    status = member_req(leader, "POST", path, NULL);
    EXPECT(status == 400, "promoting the voter %s: %ld %s", cl.nodes[f].id,
           status, x.body);
    note("every bad request: 400 (%s)", x.body);
    EXPECT(config_index_of(leader) == before,
           "the configuration moved from %llu", (unsigned long long)before);
    status = member_req(f, "POST", "/v1/members", existing);
    EXPECT(status == 307 && strcmp(x.leader, cl.nodes[leader].id) == 0,
           "a follower answered %ld, not 307 to the leader", status);
    EXPECT(member_req(f, "GET", "/v1/members", NULL) == 200 &&
               occurrences("\"voter\":true") == 3,
           "a follower's member list: %s", x.body);
    /* The CLI: usage errors exit 2, refusals 1, a list 0. */
    char out[4096];
    char *list[] = {(char *)refraft_exe, "member", "list", "--to",
                    cl.nodes[f].url,     NULL};
    EXPECT(run(list, out, sizeof(out)) == 0 && strstr(out, "\"members\""),
           "refraft member list: %s", out);
    char *no_to[] = {(char *)refraft_exe, "member", "remove", "n9", NULL};
    EXPECT(run(no_to, out, sizeof(out)) == 2, "member remove without --to");
    char *extra[] = {(char *)refraft_exe, "member", "add", "n9", "--to",
                     cl.nodes[f].url,     NULL};
    EXPECT(run(extra, out, sizeof(out)) == 2, "member add without a URL");
    char *unknown[] = {(char *)refraft_exe, "member", "remove", "n9", "--to",
                       cl.nodes[f].url,     NULL};
    EXPECT(run(unknown, out, sizeof(out)) == 1, "removing n9 succeeded");
    EXPECT(config_index_of(leader) == before,
           "the configuration moved from %llu", (unsigned long long)before);
    note("refraft member: list 0, usage errors 2, a refusal 1");
    return 0;
}

/* ---- the start guard: a lost data directory --------------------------- */

/* GET /raft/v1/hello of node i, with the cluster token; x has the
 * answer.  Returns the status. */
static long hello_of(size_t i)
{
    char url[CLI_URL_MAX], token[128], auth[160];
    if (read_token(token, sizeof(token)) != 0)
        return 0;
    snprintf(url, sizeof(url), "%s/raft/v1/hello", cl.nodes[i].url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *hdrs[] = {auth, NULL};
    cli_xfer_post(&x, url, "", 0, hdrs, 5000); /* for the headers */
    cli_xfer_method(&x, "GET");
    cli_xfer_perform(&x);
    return x.status;
}

/* Node i's start guard ("waiting" or "passed") from GET /v1/status. */
static bool guard_is(size_t i, const char *state)
{
    char url[CLI_URL_MAX], want[64];
    snprintf(url, sizeof(url), "%s/v1/status", cl.nodes[i].url);
    snprintf(want, sizeof(want), "\"start_guard\":\"%s\"", state);
    return get(url) == 200 && strstr(x.body, want) != NULL;
}

/* `refraft ARGS...` with the CLI; its exit status, its output in out. */
static int cli_run(char *out, size_t cap, const char *a1, const char *a2,
                   const char *a3, const char *a4, const char *a5)
{
    char *argv[] = {(char *)refraft_exe, (char *)a1, (char *)a2, (char *)a3,
                    (char *)a4,          (char *)a5, NULL};
    return run(argv, out, cap);
}

/* Start node i with its old arguments: the start guard must refuse it,
 * exit status 2, with the message that says what to do. */
static int expect_refused(size_t i, const char *peer_hint)
{
    char log[CLI_PATH_MAX + 8];
    snprintf(log, sizeof(log), "%s/log", cl.nodes[i].dir);
    uint64_t at = cli_now_ms();
    int ws = cli_cluster_run_node(&cl, i, 20000);
    EXPECT(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 2,
           "%s with a new data directory was not refused (wait status %d)",
           cl.nodes[i].id, ws);
    char want[128];
    snprintf(want, sizeof(want), "remove it (refraft member remove %s)",
             cl.nodes[i].id);
    EXPECT(file_holds(log, want) && file_holds(log, "start it with --join") &&
               file_holds(log, peer_hint),
           "%s's log does not say what to do", cl.nodes[i].id);
    note("%s refused after %llu ms (exit 2): its log names the peer and "
         "says remove + --join",
         cl.nodes[i].id, (unsigned long long)(cli_now_ms() - at));
    return 0;
}

/* A follower whose whole data directory is lost must not vote or count
 * as if it still had its log (Raft §5.2, §5.4: voters keep their vote
 * and log): restarted with its old arguments it refuses to start (exit
 * 2), twice; removed and replaced by a server started with --join under
 * a new id, added as a learner and promoted, the cluster serves every
 * record from it and elects with it. */
static int scenario_wipe_node(void)
{
    size_t leader;
    cli_status st, ls;
    static record rs[40];
    char out[4096];
    EXPECT(start_cluster(3, &leader) == 0, "cluster did not start");
    for (size_t i = 0; i < 40; i++)
        make_record(&rs[i], 400);
    EXPECT(put_many(cl.nodes[leader].url, rs, 20) == 0, "first puts");
    size_t f = follower(leader, cl.n);
    EXPECT(hello_of(f) == 200, "hello: %ld %s", x.status, x.body);
    uint64_t term, last, inc;
    EXPECT(cli_json_u64(x.body, x.len, "term", &term) && term > 0 &&
               cli_json_u64(x.body, x.len, "last_index", &last) && last > 0 &&
               cli_json_u64(x.body, x.len, "incarnation", &inc) && inc == 1 &&
               strstr(x.body, "\"fresh\":false") != NULL &&
               strstr(x.body, "\"cluster_id\":\"refraft\"") != NULL,
           "%s's hello: %s", cl.nodes[f].id, x.body);
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/raft/v1/hello", cl.nodes[f].url);
    EXPECT(get(url) == 401, "hello without the token: %ld", x.status);
    note("%s's hello: %s", cl.nodes[f].id, "term, log, incarnation 1");

    kill9(f);
    EXPECT(cli_cluster_wipe_dir(&cl, f) == 0, "wipe %s", cl.nodes[f].id);
    note("wiped %s's whole data directory", cl.nodes[f].id);
    EXPECT(expect_refused(f, "is at term") == 0, "first refusal");
    /* The refused start left a store that never passed the guard: still
     * fresh, still refused. */
    EXPECT(expect_refused(f, "knew this node from another store") == 0,
           "second refusal");
    EXPECT(put_many(cl.nodes[leader].url, rs + 20, 10) == 0,
           "puts while %s is out", cl.nodes[f].id);
    for (size_t i = 0; i < cl.n; i++)
        if (i != f)
            EXPECT(expect_records(i, rs, 30, CATCH_UP_MS) == 0, "records on %s",
                   cl.nodes[i].id);
    note("the two others hold all 30 records");

    EXPECT(cli_run(out, sizeof(out), "member", "remove", cl.nodes[f].id, "--to",
                   cl.nodes[leader].url) == 0,
           "refraft member remove: %s", out);
    note("refraft member remove %s: %s", cl.nodes[f].id, out);
    /* It comes back as a new server, under a new id: a late answer of
     * the old one must not pass for the new one's (operations.md). */
    size_t j;
    EXPECT(cli_cluster_add_node(&cl, &j) == 0, "a new server");
    EXPECT(cli_cluster_start_node(&cl, j, START_MS) == 0, "start %s --join",
           cl.nodes[j].id);
    EXPECT(guard_is(j, "passed"), "a joining node waits: %s", x.body);
    char *add[] = {(char *)refraft_exe,
                   "member",
                   "add",
                   cl.nodes[j].id,
                   cl.nodes[j].url,
                   "--to",
                   cl.nodes[leader].url,
                   NULL};
    EXPECT(run(add, out, sizeof(out)) == 0, "refraft member add: %s", out);
    EXPECT(cli_run(out, sizeof(out), "member", "promote", cl.nodes[j].id,
                   "--to", cl.nodes[leader].url) == 0,
           "refraft member promote: %s", out);
    note("%s replaced %s: added as a learner, promoted", cl.nodes[j].id,
         cl.nodes[f].id);
    EXPECT(put_many(cl.nodes[leader].url, rs + 30, 10) == 0, "last puts");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(j, 40, ls.commit_index, &st) == 0, "catch-up");
    EXPECT(expect_records(j, rs, 40, CATCH_UP_MS) == 0, "records on %s",
           cl.nodes[j].id);
    /* It votes: with the leader stopped, the two voters left elect one. */
    cli_cluster_signal(&cl, leader, SIGTERM);
    cli_cluster_reap(&cl, leader, 10000);
    size_t nl;
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &nl) == 0,
           "no leader without %s", cl.nodes[leader].id);
    note("%s serves all 40 records; without %s, %s leads", cl.nodes[j].id,
         cl.nodes[leader].id, cl.nodes[nl].id);
    return 0;
}

/* A new cluster whose nodes start one after another, seconds apart: the
 * first waits (it neither campaigns nor votes) until a majority of the
 * voters answered empty; the last starts into a cluster that already has
 * a log, which does not know it, and takes part. */
static int scenario_staggered_start(void)
{
    if (cli_cluster_init(&cl, tmp, 3, NULL, refraft_exe, true) != 0)
        return -1;
    cl_ready = true;
    cl.log_level = "debug";
    for (size_t i = 0; i < cl.n; i++)
        EXPECT(cli_cluster_new_port(&cl, i) == 0, "a port");
    EXPECT(cli_cluster_start_node(&cl, 0, START_MS) == 0, "start n1");
    cli_sleep_ms(1500);
    EXPECT(guard_is(0, "waiting") && strstr(x.body, "\"term\":0") != NULL,
           "n1 alone: %s", x.body);
    note("n1 alone waits: %s", "start_guard waiting, term 0");
    EXPECT(cli_cluster_start_node(&cl, 1, START_MS) == 0, "start n2");
    size_t leader;
    EXPECT(cli_cluster_wait_leader(&cl, LEADER_MS, &leader) == 0,
           "no leader of n1 and n2");
    record rs[6];
    for (size_t i = 0; i < 6; i++)
        make_record(&rs[i], 100);
    EXPECT(put_many(cl.nodes[leader].url, rs, 3) == 0, "puts");
    note("n1 and n2 bootstrapped; %s leads", cl.nodes[leader].id);
    cli_sleep_ms(1500);
    EXPECT(cli_cluster_start_node(&cl, 2, START_MS) == 0, "start n3");
    EXPECT(put_many(cl.nodes[leader].url, rs + 3, 3) == 0, "more puts");
    EXPECT(expect_records(2, rs, 6, CATCH_UP_MS) == 0, "records on n3");
    EXPECT(guard_is(2, "passed"), "n3: %s", x.body);
    char log[CLI_PATH_MAX + 8];
    snprintf(log, sizeof(log), "%s/log", cl.nodes[2].dir);
    EXPECT(file_holds(log, "none knows this node from another store"),
           "n3's log does not say why it took part");
    /* refraft get --consistent through n3: the last write, at once. */
    char path[CLI_PATH_MAX + 16], out[256];
    snprintf(path, sizeof(path), "%s/got", tmp);
    char *getc[] = {(char *)refraft_exe,
                    "get",
                    "--consistent",
                    "--to",
                    cl.nodes[2].url,
                    "-o",
                    path,
                    rs[5].id,
                    NULL};
    EXPECT(run(getc, out, sizeof(out)) == 0, "refraft get --consistent");
    uint8_t *got;
    size_t got_len;
    char err[256];
    EXPECT(cli_read_file(path, 4096, &got, &got_len, err, sizeof(err)) == 0,
           "%s", err);
    bool same = got_len == rs[5].len && memcmp(got, rs[5].bytes, got_len) == 0;
    free(got);
    EXPECT(same, "refraft get --consistent wrote other bytes");
    note("n3 started into the running cluster and holds every record; "
         "refraft get --consistent reads the last one through it");
    return 0;
}

/* ---- compaction and snapshots (Raft §7) ------------------------------- */

/* Small compaction settings, so that a few hundred writes compact the
 * log several times and a snapshot takes several chunks. */
static const char *const compact_flags[] = {"--compact-entries",
                                            "40",
                                            "--compact-keep",
                                            "10",
                                            "--snapshot-chunk",
                                            "16",
                                            NULL};

#define COMPACT_RECORDS 120

static int start_compacting(size_t n, size_t *leader)
{
    if (cli_cluster_init(&cl, tmp, n, NULL, refraft_exe, true) != 0)
        return -1;
    cl_ready = true;
    cl.log_level = "debug";
    cl.node_flags = compact_flags;
    if (cli_cluster_start(&cl, START_MS) != 0)
        return -1;
    if (cli_cluster_wait_leader(&cl, LEADER_MS, leader) != 0) {
        fprintf(stderr, "no leader within %u ms\n", LEADER_MS);
        return -1;
    }
    note("%zu nodes up with %s %s %s %s %s %s; %s leads", n, compact_flags[0],
         compact_flags[1], compact_flags[2], compact_flags[3], compact_flags[4],
         compact_flags[5], cl.nodes[*leader].id);
    return 0;
}

/* Node i's first log index and snapshot index (GET /v1/status). */
static int compaction_of(size_t i, uint64_t *first, uint64_t *snapshot)
{
    char url[CLI_URL_MAX];
    snprintf(url, sizeof(url), "%s/v1/status", cl.nodes[i].url);
    if (get(url) != 200 || !cli_json_u64(x.body, x.len, "first_index", first) ||
        !cli_json_u64(x.body, x.len, "snapshot_index", snapshot))
        return -1;
    return 0;
}

/* Wait until node i's log was compacted past index at (its snapshot
 * index above it, its first index right after the snapshot's). */
static int wait_compacted(size_t i, uint64_t at, uint64_t *snapshot)
{
    uint64_t first = 0;
    uint64_t deadline = cli_now_ms() + CATCH_UP_MS;
    for (;;) {
        bool have = compaction_of(i, &first, snapshot) == 0;
        if (have && *snapshot > at && first == *snapshot + 1)
            return 0;
        if (cli_now_ms() >= deadline || cli_interrupted) {
            fprintf(stderr,
                    "%s: first index %llu, snapshot index %llu (want past "
                    "%llu)\n",
                    cl.nodes[i].id, (unsigned long long)first,
                    (unsigned long long)*snapshot, (unsigned long long)at);
            return -1;
        }
        cli_sleep_ms(50);
    }
}

/* Node i's log tells of a snapshot it installed. */
static bool installed_snapshot(size_t i)
{
    char path[CLI_PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/log", cl.nodes[i].dir);
    return file_holds(path, "installed the snapshot at");
}

/* A store from before the reference state by index (its node stopped,
 * "applied_by_index" dropped) gets it rebuilt from the log at start, and
 * completely: once that node has compacted, a wipe of its records gets
 * every one back, those named only by the rebuilt table included. */
static int scenario_index_rebuild(void)
{
    size_t leader;
    cli_status st, ls;
    static record rs[COMPACT_RECORDS];
    EXPECT(start_compacting(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < COMPACT_RECORDS; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, 20) == 0, "first puts");
    EXPECT(expect_records(f, rs, 20, CATCH_UP_MS) == 0, "records on %s",
           cl.nodes[f].id);
    cli_cluster_signal(&cl, f, SIGTERM);
    EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
           cl.nodes[f].id);
    EXPECT(drop_db(cl.nodes[f].dir, "applied_by_index") == 0, "drop");
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    char path[CLI_PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/log", cl.nodes[f].dir);
    EXPECT(file_holds(path, "rebuilt the applied records from the log: 20 "
                            "REF entries"),
           "%s's log does not tell of the rebuild", cl.nodes[f].id);
    note("%s rebuilt its reference state by index from its log",
         cl.nodes[f].id);
    EXPECT(put_many(cl.nodes[leader].url, rs + 20, COMPACT_RECORDS - 20) == 0,
           "more puts");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(f, COMPACT_RECORDS, ls.commit_index, &st) == 0,
           "replication");
    uint64_t snap;
    EXPECT(wait_compacted(f, 21, &snap) == 0, "%s compacted", cl.nodes[f].id);
    kill9(f);
    EXPECT(cli_cluster_wipe_records(&cl, f) == 0, "wipe-records");
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    EXPECT(wait_holds(f, COMPACT_RECORDS, ls.commit_index, &st) == 0,
           "sweeper");
    EXPECT(expect_records(f, rs, COMPACT_RECORDS, CATCH_UP_MS) == 0, "records");
    note("%s compacted up to %llu, lost its records and got all %d back",
         cl.nodes[f].id, (unsigned long long)snap, COMPACT_RECORDS);
    return 0;
}

/* Raft §7, thesis §5: a server added once the leader compacted the
 * entries it lacks gets them as a snapshot of references; its sweeper
 * fetches every record the snapshot names, it serves them all, and it
 * is promoted. */
static int scenario_snapshot_join(void)
{
    size_t leader, j;
    cli_status st, ls;
    static record rs[COMPACT_RECORDS];
    char body[512];
    EXPECT(start_compacting(3, &leader) == 0, "cluster did not start");
    char dir[CLI_PATH_MAX + 8], out[1024];
    snprintf(dir, sizeof(dir), "%s/refused", tmp);
    char *keep[] = {(char *)refraft_exe,
                    "node",
                    "--id",
                    "n9",
                    "--data",
                    dir,
                    "--token-file",
                    cl.token_file,
                    "--compact-entries",
                    "10",
                    "--compact-keep",
                    "10",
                    NULL};
    EXPECT(run(keep, out, sizeof(out)) == 1,
           "--compact-keep not below --compact-entries was not refused");
    for (size_t i = 0; i < COMPACT_RECORDS; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, COMPACT_RECORDS) == 0, "puts");
    uint64_t snap;
    EXPECT(wait_compacted(leader, 1, &snap) == 0, "the leader compacted");
    note("%s compacted its log up to %llu", cl.nodes[leader].id,
         (unsigned long long)snap);

    EXPECT(cli_cluster_add_node(&cl, &j) == 0, "a fourth node");
    EXPECT(cli_cluster_start_node(&cl, j, START_MS) == 0, "start %s --join",
           cl.nodes[j].id);
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"url\":\"%s\"}",
             cl.nodes[j].id, cl.nodes[j].url);
    long status = member_req(leader, "POST", "/v1/members", body);
    EXPECT(status == 200, "add: %ld %s", status, x.body);
    note("added %s as a learner", cl.nodes[j].id);
    uint64_t jsnap;
    EXPECT(wait_compacted(j, 0, &jsnap) == 0, "%s got no snapshot",
           cl.nodes[j].id);
    EXPECT(installed_snapshot(j), "%s's log tells of no install",
           cl.nodes[j].id);
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(j, COMPACT_RECORDS, ls.commit_index, &st) == 0,
           "learner catch-up");
    EXPECT(st.sw_fetched > 0 && st.sw_digest_failures == 0,
           "the sweeper fetched %llu records, %llu digest failures",
           (unsigned long long)st.sw_fetched,
           (unsigned long long)st.sw_digest_failures);
    EXPECT(expect_records(j, rs, COMPACT_RECORDS, CATCH_UP_MS) == 0,
           "learner records");
    note("%s installed a snapshot (now at %llu), fetched %llu records and "
         "serves all %d",
         cl.nodes[j].id, (unsigned long long)jsnap,
         (unsigned long long)st.sw_fetched, COMPACT_RECORDS);

    status = promote_when_caught_up(leader, cl.nodes[j].id);
    EXPECT(status == 200, "promote: %ld %s", status, x.body);
    EXPECT(member_req(leader, "GET", "/v1/members", NULL) == 200 &&
               occurrences("\"voter\":true") == 4,
           "not 4 voters: %s", x.body);
    note("promoted %s", cl.nodes[j].id);
    return 0;
}

/* The "live" key of the store in dir (its node stopped): the name of the
 * runtime's live copy of the state, "" when the key is missing. */
struct live_key {
    char name[32];
};

static int live_key_op(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    struct live_key *l = ctx;
    MDB_val k = {4, "live"}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0 && v.mv_size < sizeof(l->name))
        memcpy(l->name, v.mv_data, v.mv_size);
    return rc;
}

static const char *live_copy(const char *dir, struct live_key *l)
{
    memset(l, 0, sizeof(*l));
    return with_db(dir, "snapshot_staging", live_key_op, l) == 0 ? l->name
                                                                 : "?";
}

/* A snapshot half received by a runtime from before the second copy: its
 * header under key 0 and a row under its index, in snapshot_staging
 * itself, and with no_live no "live" key either, as such a runtime
 * wrote it (put); or (count) how many keys of 8 bytes it holds. */
struct legacy_staging {
    bool put, no_live;
    int keys;
};

static int legacy_staging_op(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
    struct legacy_staging *l = ctx;
    uint8_t zero[8] = {0}, five[8] = {0, 0, 0, 0, 0, 0, 0, 5};
    uint8_t header[16] = {0}, row[8 + 32 + 2] = {0};
    header[7] = 9;  /* snapshot at 9 */
    header[15] = 5; /* reaching 5 */
    row[7] = 42;
    row[40] = 'z';
    row[41] = 'z';
    if (l->put) {
        MDB_val k0 = {8, zero}, v0 = {sizeof(header), header};
        MDB_val k5 = {8, five}, v5 = {sizeof(row), row};
        MDB_val live = {4, "live"};
        int rc = mdb_put(txn, dbi, &k0, &v0, 0);
        if (rc == 0)
            rc = mdb_put(txn, dbi, &k5, &v5, 0);
        if (rc == 0 && l->no_live)
            rc = mdb_del(txn, dbi, &live, NULL);
        return rc;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    MDB_val k, v;
    l->keys = 0;
    while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
        l->keys += k.mv_size == 8;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

#define RESTART_ROUNDS 2
#define RESTART_FIRST 10
#define RESTART_RECORDS (RESTART_FIRST + RESTART_ROUNDS * COMPACT_RECORDS)

/* Raft §7: a follower down while the others compact far past its log
 * catches up by a snapshot once it is back, records included.  Twice:
 * the runtime stages a snapshot in the spare copy of its state and the
 * install makes that copy the live one (src/host/snapshot.c), so the
 * first install moves the state to the second copy and the second back
 * to the first; a plain restart after each serves every record from the
 * copy the store names. */
static int scenario_snapshot_restart(void)
{
    size_t leader;
    cli_status st, ls;
    static record rs[RESTART_RECORDS];
    EXPECT(start_compacting(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < RESTART_RECORDS; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, RESTART_FIRST) == 0,
           "first puts");
    EXPECT(expect_records(f, rs, RESTART_FIRST, CATCH_UP_MS) == 0,
           "records on %s", cl.nodes[f].id);
    char path[CLI_PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/log", cl.nodes[f].dir);
    static const char *const want_live[RESTART_ROUNDS] = {"applied.b",
                                                          "applied"};
    for (size_t round = 0; round < RESTART_ROUNDS; round++) {
        size_t have = RESTART_FIRST + round * COMPACT_RECORDS;
        EXPECT(cli_cluster_status(&cl, f, &st) == 0, "%s's status",
               cl.nodes[f].id);
        uint64_t f_last = st.last_index;
        kill9(f);
        EXPECT(put_many(cl.nodes[leader].url, rs + have, COMPACT_RECORDS) == 0,
               "puts while %s is down", cl.nodes[f].id);
        have += COMPACT_RECORDS;
        uint64_t snap;
        EXPECT(wait_compacted(leader, f_last, &snap) == 0,
               "the leader compacted past %llu", (unsigned long long)f_last);
        note("%s compacted up to %llu, past %s's last index %llu",
             cl.nodes[leader].id, (unsigned long long)snap, cl.nodes[f].id,
             (unsigned long long)f_last);
        /* A fresh log file, so that it tells of this round's install. */
        EXPECT(remove(path) == 0, "removing %s's log", cl.nodes[f].id);
        EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
        EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
        EXPECT(wait_holds(f, have, ls.commit_index, &st) == 0, "catch up");
        EXPECT(installed_snapshot(f), "%s's log tells of no install",
               cl.nodes[f].id);
        EXPECT(expect_records(f, rs, have, CATCH_UP_MS) == 0, "records");
        cli_cluster_signal(&cl, f, SIGTERM);
        EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
               cl.nodes[f].id);
        struct live_key l;
        const char *live = live_copy(cl.nodes[f].dir, &l);
        EXPECT(strcmp(live, want_live[round]) == 0,
               "install %zu left \"%s\" live, not \"%s\"", round + 1, live,
               want_live[round]);
        EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
        EXPECT(expect_records(f, rs, have, CATCH_UP_MS) == 0,
               "records after a restart");
        note("%s installed snapshot %zu, its state now in \"%s\", and "
             "after a restart serves all %zu records",
             cl.nodes[f].id, round + 1, live, have);
    }
    /* Rows an older runtime staged in snapshot_staging are dropped at
     * open, its header with them; the state and its "live" key (there, or
     * missing as an older runtime left it) are untouched. */
    for (int no_live = 0; no_live < 2; no_live++) {
        cli_cluster_signal(&cl, f, SIGTERM);
        EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
               cl.nodes[f].id);
        struct legacy_staging put = {true, no_live, 0}, count = {0};
        EXPECT(with_db(cl.nodes[f].dir, "snapshot_staging", legacy_staging_op,
                       &put) == 0,
               "writing legacy staged rows");
        EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
        EXPECT(expect_records(f, rs, RESTART_RECORDS, CATCH_UP_MS) == 0,
               "records after the legacy rows");
        cli_cluster_signal(&cl, f, SIGTERM);
        EXPECT(cli_cluster_reap(&cl, f, 10000) == 0, "%s did not stop cleanly",
               cl.nodes[f].id);
        EXPECT(with_db(cl.nodes[f].dir, "snapshot_staging", legacy_staging_op,
                       &count) == 0,
               "counting staged keys");
        EXPECT(count.keys == 0, "%d keys of 8 bytes left in snapshot_staging",
               count.keys);
        struct live_key l;
        const char *want = no_live ? "" : "applied";
        EXPECT(strcmp(live_copy(cl.nodes[f].dir, &l), want) == 0,
               "the live key is \"%s\", not \"%s\"", l.name, want);
        EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
        note("%s dropped the rows an older runtime staged (%s \"live\" "
             "key) and kept its state",
             cl.nodes[f].id, no_live ? "no" : "with its");
    }
    EXPECT(expect_records(f, rs, RESTART_RECORDS, CATCH_UP_MS) == 0,
           "records at the end");
    return 0;
}

/* A follower of a compacted cluster whose records were wiped gets every
 * record back, those named only below its log's first index included:
 * its sweeper finds them through the reference state (lost mode). */
static int scenario_snapshot_wiped(void)
{
    size_t leader;
    cli_status st, ls;
    static record rs[COMPACT_RECORDS];
    EXPECT(start_compacting(3, &leader) == 0, "cluster did not start");
    size_t f = follower(leader, cl.n);
    for (size_t i = 0; i < COMPACT_RECORDS; i++)
        make_record(&rs[i], 300);
    EXPECT(put_many(cl.nodes[leader].url, rs, COMPACT_RECORDS) == 0, "puts");
    EXPECT(cli_cluster_status(&cl, leader, &ls) == 0, "leader status");
    EXPECT(wait_holds(f, COMPACT_RECORDS, ls.commit_index, &st) == 0,
           "replication");
    uint64_t snap;
    EXPECT(wait_compacted(f, 1, &snap) == 0, "%s compacted", cl.nodes[f].id);
    kill9(f);
    EXPECT(cli_cluster_wipe_records(&cl, f) == 0, "wipe-records");
    note("%s compacted up to %llu; wiped its records", cl.nodes[f].id,
         (unsigned long long)snap);
    EXPECT(cli_cluster_start_node(&cl, f, START_MS) == 0, "restart");
    EXPECT(wait_holds(f, COMPACT_RECORDS, ls.commit_index, &st) == 0,
           "sweeper");
    /* Nothing was written since: every record the restarted process
     * holds, its sweeper fetched. */
    EXPECT(st.sw_fetched >= COMPACT_RECORDS,
           "the sweeper fetched only %llu records",
           (unsigned long long)st.sw_fetched);
    EXPECT(expect_records(f, rs, COMPACT_RECORDS, CATCH_UP_MS) == 0, "records");
    note("the sweeper fetched %llu records back, those of entries up to "
         "%llu through the reference state",
         (unsigned long long)st.sw_fetched, (unsigned long long)snap);
    return 0;
}

typedef struct scenario {
    const char *name;
    int (*run)(void);
} scenario;

static const scenario scenarios[] = {
    {"election", scenario_election},
    {"redirect", scenario_redirect},
    {"restart", scenario_restart},
    {"rejoin", scenario_rejoin},
    {"wiped_recovery", scenario_wiped_recovery},
    {"unauthorized", scenario_unauthorized},
    {"oversized", scenario_oversized},
    {"malformed", scenario_malformed},
    {"cli", scenario_cli},
    {"config", scenario_config},
    {"peer_input", scenario_peer_input},
    {"bundle_input", scenario_bundle_input},
    {"fetch_input", scenario_fetch_input},
    {"with_entries", scenario_with_entries},
    {"log_endpoint", scenario_log_endpoint},
    {"fault_hook", scenario_fault_hook},
    {"consistent_read", scenario_consistent_read},
    {"uncommitted_not_served", scenario_uncommitted_not_served},
    {"applied_rebuild", scenario_applied_rebuild},
    {"membership", scenario_membership},
    {"transfer", scenario_transfer},
    {"member_input", scenario_member_input},
    {"wipe_node", scenario_wipe_node},
    {"staggered_start", scenario_staggered_start},
    {"snapshot_join", scenario_snapshot_join},
    {"snapshot_restart", scenario_snapshot_restart},
    {"snapshot_wiped", scenario_snapshot_wiped},
    {"index_rebuild", scenario_index_rebuild},
};

/* A sanitizer's report in a node's log: its first lines say what and
 * where; the shadow-byte legend at its end says nothing useful. */
static void show_report(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int shown = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL && shown < 16) {
        if (shown < 0 && (strstr(line, "ERROR: AddressSanitizer") != NULL ||
                          strstr(line, "ERROR: LeakSanitizer") != NULL ||
                          strstr(line, "runtime error:") != NULL))
            shown = 0;
        if (shown >= 0) {
            fprintf(stderr, "%s%s", prefix, line);
            shown++;
        }
    }
    if (f != NULL)
        fclose(f);
}

static void show_logs(void)
{
    for (size_t i = 0; i < cl.n; i++) {
        char path[CLI_PATH_MAX + 8], prefix[32];
        snprintf(path, sizeof(path), "%s/log", cl.nodes[i].dir);
        snprintf(prefix, sizeof(prefix), "%s| ", cl.nodes[i].id);
        fprintf(stderr, "--- the end of %s's log\n", cl.nodes[i].id);
        cli_tail_file(path, 20, prefix);
        show_report(path, prefix);
    }
}

/* Stop everything and remove the directory.  Returns false when a node
 * did not stop cleanly on SIGTERM (exit status 0): a sanitizer's report
 * at exit, a crash on the way out. */
static bool teardown(bool failed)
{
    bool ok = true;
    if (cli_dir[0] != '\0') {
        char out[1024];
        char *down[] = {
            (char *)refraft_exe, "cluster", "down", "--dir", cli_dir, NULL};
        run(down, out, sizeof(out));
    }
    if (cl_ready) {
        if (failed)
            show_logs();
        int unclean = cli_cluster_stop_all(&cl, 10000);
        if (unclean > 0 && !failed) {
            ok = false;
            fprintf(stderr, "FAIL: %d node(s) did not stop cleanly\n", unclean);
            show_logs();
        }
        cli_cluster_free(&cl);
    }
    cli_xfer_free(&x);
    if (tmp[0] != '\0')
        cli_rmtree(tmp);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: refraft-itest PATH/TO/refraft SCENARIO\n");
        return 2;
    }
    refraft_exe = argv[1];
    const scenario *sc = NULL;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(argv[2], scenarios[i].name) == 0)
            sc = &scenarios[i];
    if (sc == NULL) {
        fprintf(stderr, "refraft-itest: no scenario \"%s\"\n", argv[2]);
        return 2;
    }
    t0 = cli_now_ms();
    cli_catch_signals();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *base = getenv("TMPDIR");
    int n = snprintf(tmp, sizeof(tmp), "%s/refraft-itest.XXXXXX",
                     base != NULL && base[0] != '\0' ? base : "/tmp");
    int rv = 1;
    if (n < 0 || (size_t)n >= sizeof(tmp) || mkdtemp(tmp) == NULL) {
        perror("refraft-itest: mkdtemp");
        tmp[0] = '\0';
    } else if (cli_xfer_init(&x, CLI_RECORD_MAX) == 0) {
        rv = sc->run() == 0 && !cli_interrupted ? 0 : 1;
    }
    if (!teardown(rv != 0))
        rv = 1;
    curl_global_cleanup();
    printf("%s: %s\n", sc->name, rv == 0 ? "ok" : "FAILED");
    return rv;
}
