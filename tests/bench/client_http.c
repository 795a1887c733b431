/* client_http.c - refraft-bench cluster --client-http: the record service
 * end to end.  Three `refraft node` processes; this process is their
 * client, keeping W POST /v1/records in flight to the leader over HTTP/1.1
 * keep-alive connections (libcurl's multi interface). */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_cluster.h"

/* The node's HTTP server serves at most 256 connections at once
 * (DEFAULT_MAX_CONNECTIONS in src/http/server.c, no `refraft node` flag),
 * its peers' included, and leaves the others in the listen backlog until
 * one closes: a keep-alive connection past that would wait there for
 * good.  So the client opens at most this many; the requests of a larger
 * window wait inside libcurl for a free connection, and that wait counts
 * in their latency, as it would for any client. */
#define CLIENT_CONNECTIONS_MAX 240
#define CLIENT_TIMEOUT_MS 30000
#define CLIENT_POLL_MS 10

typedef struct client client;

/* One easy handle, reused request after request; its record's bytes stay
 * here until the request is done. */
typedef struct request {
    client *cl;
    CURL *easy;
    struct curl_slist *headers;
    uint8_t *bytes;
    uint64_t t0_us;
    bool measured;    /* started inside the measured window */
    char answer[200]; /* the start of the answer's body, for messages */
    size_t answer_len;
    char errbuf[CURL_ERROR_SIZE];
} request;

struct client {
    const cluster_args *a;
    char url[CLI_URL_MAX + 16];
    CURLM *multi;
    request *reqs;
    size_t n_reqs;
    size_t *idle;
    size_t n_idle;
    size_t inflight;
    bool measuring;
    uint64_t seq;
    cluster_runs runs;
    uint64_t failed;
    char first_failure[512];
};

static size_t keep_answer(char *data, size_t size, size_t n, void *ctx)
{
    request *r = ctx;
    size_t len = size * n, room = sizeof r->answer - 1 - r->answer_len;
    size_t take = len < room ? len : room;
    memcpy(r->answer + r->answer_len, data, take);
    r->answer_len += take;
    r->answer[r->answer_len] = '\0';
    return len;
}

static int request_init(client *cl, request *r)
{
    memset(r, 0, sizeof *r);
    r->cl = cl;
    r->easy = curl_easy_init();
    r->bytes = malloc(cl->a->size);
    if (r->easy == NULL || r->bytes == NULL)
        return -1;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->bytes);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)cl->a->size);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CLIENT_TIMEOUT_MS);
    /* The leader is the target: a redirect is an error, not followed. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    return 0;
}

static void request_free(request *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->bytes);
}

/* Start the next record's POST on an idle handle. */
static int start(client *cl)
{
    request *r = &cl->reqs[cl->idle[--cl->n_idle]];
    uint64_t seq = ++cl->seq;
    proc_record_bytes(seq, r->bytes, cl->a->size);
    char id[PROC_ID_CAP], hdr[PROC_ID_CAP + 32];
    proc_record_id(seq, id);
    snprintf(hdr, sizeof hdr, "Refraft-Record-Id: %s", id);
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    const char *const hdrs[] = {"Content-Type: application/octet-stream",
                                "Expect:", cl->a->random_ids ? NULL : hdr};
    for (size_t i = 0; i < 3 && hdrs[i] != NULL; i++) {
        struct curl_slist *s = curl_slist_append(r->headers, hdrs[i]);
        if (s == NULL)
            return -1;
        r->headers = s;
    }
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    r->answer_len = 0;
    r->answer[0] = r->errbuf[0] = '\0';
    r->measured = cl->measuring;
    r->t0_us = bench_now_us();
    if (curl_multi_add_handle(cl->multi, r->easy) != CURLM_OK)
        return -1;
    cl->inflight++;
    return 0;
}

static void finish(client *cl, request *r, CURLcode result)
{
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(cl->multi, r->easy);
    if (result == CURLE_OK && status == 201) {
        if (r->measured && cl->measuring)
            cluster_runs_add(&cl->runs, (double)(bench_now_us() - r->t0_us));
    } else if (cl->failed++ == 0) {
        if (result != CURLE_OK)
            snprintf(cl->first_failure, sizeof cl->first_failure, "%s",
                     r->errbuf[0] ? r->errbuf : curl_easy_strerror(result));
        else
            snprintf(cl->first_failure, sizeof cl->first_failure, "%ld %s",
                     status, r->answer);
    }
    cl->idle[cl->n_idle++] = (size_t)(r - cl->reqs);
    cl->inflight--;
}

/* Take the answers libcurl has finished.  Returns how many. */
static size_t take_answers(client *cl)
{
    size_t n = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(cl->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        request *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(cl, r, m->data.result);
        n++;
    }
    return n;
}

/* One turn: keep `window` requests in flight, let libcurl work and take
 * the answers until none is left to take (a request answered starts the
 * next one at once, not after the wait), then wait for the sockets. */
static int step(client *cl, unsigned window)
{
    do {
        while (cl->inflight < window && cl->n_idle > 0)
            if (start(cl) != 0)
                return -1;
        int running = 0;
        if (curl_multi_perform(cl->multi, &running) != CURLM_OK)
            return -1;
    } while (take_answers(cl) > 0);
    return curl_multi_poll(cl->multi, NULL, 0, CLIENT_POLL_MS, NULL) == CURLM_OK
               ? 0
               : -1;
}

/* Keep window requests in flight until until_us (0: none, until the ones
 * in flight are answered). */
static int run_until(client *cl, unsigned window, uint64_t until_us)
{
    while (window > 0 ? bench_now_us() < until_us : cl->inflight > 0)
        if (step(cl, window) != 0)
            return -1;
    return 0;
}

static int open_multi(client *cl, unsigned conns)
{
    cl->multi = curl_multi_init();
    if (cl->multi == NULL)
        return -1;
    curl_multi_setopt(cl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    curl_multi_setopt(cl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, (long)conns);
    curl_multi_setopt(cl->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    return 0;
}

/* The a->repeat runs of one window size on fresh connections, and its
 * JSON line. */
static int run_window(client *cl, size_t w, const proc_cluster *p,
                      size_t leader, const cluster_line *base)
{
    const cluster_args *a = cl->a;
    unsigned window = a->windows[w];
    unsigned conns =
        window < CLIENT_CONNECTIONS_MAX ? window : CLIENT_CONNECTIONS_MAX;
    if (open_multi(cl, conns) != 0)
        return -1;
    int rv = 0;
    for (unsigned run = 0; run < a->repeat && rv == 0; run++) {
        uint64_t t = bench_now_us() + (uint64_t)(CLUSTER_WARMUP_S * 1e6);
        rv = run_until(cl, window, t);
        cl->measuring = true;
        uint64_t start_us = bench_now_us();
        if (rv == 0)
            rv = run_until(cl, window, start_us + (uint64_t)(a->seconds * 1e6));
        cluster_runs_end(&cl->runs, run,
                         (double)(bench_now_us() - start_us) / 1e6);
        cl->measuring = false;
        if (rv == 0)
            rv = run_until(cl, 0, 0);
    }
    if (rv == 0) {
        cluster_line ln = *base;
        ln.inflight = window;
        ln.conns = conns;
        ln.leader_kib = proc_rss_anon_kib(p->c.nodes[leader].pid);
        ln.failed = cl->failed;
        cluster_print_window(a, &cl->runs, &ln);
    } else {
        fprintf(stderr, "refraft-bench cluster: libcurl failed\n");
    }
    /* Every handle is idle after the drain (or the run is over anyway). */
    for (size_t i = 0; i < cl->n_reqs; i++)
        curl_multi_remove_handle(cl->multi, cl->reqs[i].easy);
    curl_multi_cleanup(cl->multi);
    cl->multi = NULL;
    cl->inflight = 0;
    cl->n_idle = 0;
    for (size_t i = cl->n_reqs; i > 0; i--)
        cl->idle[cl->n_idle++] = i - 1;
    return rv;
}

static int client_init(client *cl, const cluster_args *a)
{
    memset(cl, 0, sizeof *cl);
    cl->a = a;
    for (size_t i = 0; i < a->n_windows; i++)
        cl->n_reqs = a->windows[i] > cl->n_reqs ? a->windows[i] : cl->n_reqs;
    cl->reqs = calloc(cl->n_reqs, sizeof *cl->reqs);
    cl->idle = calloc(cl->n_reqs, sizeof *cl->idle);
    if (cl->reqs == NULL || cl->idle == NULL)
        return -1;
    for (size_t i = cl->n_reqs; i > 0; i--) {
        if (request_init(cl, &cl->reqs[i - 1]) != 0)
            return -1;
        cl->idle[cl->n_idle++] = i - 1;
    }
    return 0;
}

static void client_free(client *cl)
{
    if (cl->reqs != NULL)
        for (size_t i = 0; i < cl->n_reqs; i++)
            request_free(&cl->reqs[i]);
    free(cl->reqs);
    free(cl->idle);
    cluster_runs_free(&cl->runs);
}

/* Start the three nodes, node 0 with the short election time-out so that
 * it leads, and find the leader they agree on. */
static int start_nodes(proc_cluster *p, size_t *leader)
{
    for (size_t i = 0; i < PROC_NODES; i++)
        if (proc_cluster_start(p, i,
                               i == 0 ? PROC_LEADER_ELECTION_ARG
                                      : PROC_FOLLOWER_ELECTION_MS) != 0)
            return -1;
    if (cli_cluster_wait_leader(&p->c, PROC_LEADER_TIMEOUT_MS, leader) != 0) {
        fprintf(stderr, "refraft-bench cluster: no leader elected\n");
        return -1;
    }
    return 0;
}

int cluster_client_http(const cluster_args *a, proc_cluster *p,
                        const disk_limit *one, const disk_limit *batch)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    client cl;
    size_t leader = 0;
    int rv = client_init(&cl, a);
    if (rv == 0)
        rv = start_nodes(p, &leader);
    if (rv == 0) {
        snprintf(cl.url, sizeof cl.url, "%s/v1/records",
                 p->c.nodes[leader].url);
        for (size_t i = 0; i < cl.n_reqs; i++)
            curl_easy_setopt(cl.reqs[i].easy, CURLOPT_URL, cl.url);
    }
    cluster_line base = {.mode = "client-http", .one = one, .batch = batch};
    for (size_t w = 0; w < a->n_windows && rv == 0; w++)
        rv = run_window(&cl, w, p, leader, &base);
    if (cl.failed > 0)
        fprintf(stderr,
                "refraft-bench cluster: %" PRIu64 " writes failed; the "
                "first: %s\n",
                cl.failed, cl.first_failure);
    client_free(&cl);
    curl_global_cleanup();
    return rv == 0 ? 0 : 1;
}
