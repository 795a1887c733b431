/* client.c - the HTTP client: one libcurl multi handle, requests queued
 * and reused connections, completions reported from the loop. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "core/alloc.h"
#include "http.h"
#include "http_util.h"
#include "refraft/refraft.h"
#include "refraft/wire.h"

#define DEFAULT_MAX_QUEUED 1024u
#define DEFAULT_MAX_HOST_CONNECTIONS 4u
#define MAX_LIMIT 65536u
/* Response headers kept per request ("name\0value\0" pairs). */
#define MAX_HEADER_BYTES (64u * 1024u)
/* When libcurl has work it shows no descriptor for (see
 * curl_multi_fdset(3)), the loop comes back this soon. */
#define NO_FD_POLL_MS 100u

/*
 * A request is ACTIVE while its easy handle is in the multi handle.
 * Under in_order it is WAITING first, outside libcurl, while an earlier
 * request to its origin is WAITING or ACTIVE (see start_next()).
 * When libcurl reports it finished, it is taken out and becomes DONE,
 * queued on the done list; http_client_run() then calls back the DONE
 * ones in order (DISPATCHING) and frees them.  Collecting first and
 * calling back afterwards keeps callbacks out of libcurl's own calls,
 * so a callback may start, cancel or destroy anything.
 */
typedef enum creq_state {
    CREQ_WAITING,
    CREQ_ACTIVE,
    CREQ_DONE,
    CREQ_DISPATCHING
} creq_state;

typedef struct creq {
    http_client *cli;
    struct creq *prev, *next; /* cli->reqs: every request not yet freed */
    struct creq *done_next;   /* cli->done list */
    struct creq *wait_next;   /* cli->wait list (in_order) */
    char *origin;             /* "scheme://authority" (in_order) */
    uint64_t deadline_ms;     /* when its time-out ends (in_order) */
    uint64_t id;
    creq_state state;
    bool cancelled;
    CURL *easy;
    struct curl_slist *hdrs;
    uint8_t *req_body;
    http_done_fn done;
    void *ctx;
    /* The response as it arrives. */
    uint8_t *body;
    size_t len, cap;
    char *hbuf; /* "name\0value\0" pairs */
    size_t hlen, hcap;
    bool body_too_big;
    bool out_of_memory;
    CURLcode result;
    char errbuf[CURL_ERROR_SIZE];
} creq;

struct http_client {
    CURLM *multi;
    creq *reqs;
    creq *done_head, *done_tail;
    creq *wait_head, *wait_tail; /* WAITING, in the order made */
    size_t pending;
    uint32_t max_queued;
    size_t max_body;
    char *cert_file, *key_file, *ca_file;
    uint64_t next_id;
    bool no_fds; /* curl_multi_fdset() showed none the last time */
    bool running;
    bool destroy_pending;
    bool in_order;
};

static const uint8_t empty_body[1];

/* ---- libcurl callbacks ----------------------------------------------------
 */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    creq *r = userdata;
    size_t n = size * nmemb;
    size_t max = r->cli->max_body;
    if (n > max - r->len) {
        r->body_too_big = true;
        return 0; /* libcurl ends the transfer: CURLE_WRITE_ERROR */
    }
    if (r->len + n > r->cap) {
        size_t want = r->cap == 0 ? 16384 : r->cap * 2;
        if (want < r->len + n)
            want = r->len + n;
        if (want > max)
            want = max;
        uint8_t *p = refraft_realloc(r->body, want);
        if (p == NULL) {
            r->out_of_memory = true;
            return 0;
        }
        r->body = p;
        r->cap = want;
    }
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    return n;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Keep "Name: value" lines of the final response.  A status line starts
 * a new response (after a 100 Continue, say): what came before goes. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    creq *r = userdata;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        r->hlen = 0;
        return n;
    }
    const char *colon = memchr(buf, ':', n);
    if (colon == NULL || colon == buf)
        return n; /* the blank line ending the headers */
    size_t name_len = (size_t)(colon - buf);
    const char *v = colon + 1;
    const char *end = buf + n;
    while (v < end && is_blank(*v))
        v++;
    while (end > v && is_blank(end[-1]))
        end--;
    size_t value_len = (size_t)(end - v);
    size_t need = name_len + value_len + 2;
    if (need > MAX_HEADER_BYTES - r->hlen)
        return n; /* over the cap: dropped, the transfer goes on */
    if (r->hlen + need > r->hcap) {
        size_t want = r->hcap == 0 ? 1024 : r->hcap * 2;
        while (want < r->hlen + need)
            want *= 2;
        if (want > MAX_HEADER_BYTES)
            want = MAX_HEADER_BYTES;
        char *p = refraft_realloc(r->hbuf, want);
        if (p == NULL) {
            r->out_of_memory = true;
            return 0;
        }
        r->hbuf = p;
        r->hcap = want;
    }
    memcpy(r->hbuf + r->hlen, buf, name_len);
    r->hbuf[r->hlen + name_len] = '\0';
    memcpy(r->hbuf + r->hlen + name_len + 1, v, value_len);
    r->hbuf[r->hlen + name_len + 1 + value_len] = '\0';
    r->hlen += need;
    return n;
}

const char *http_response_header(const http_response *res, const char *name)
{
    if (res == NULL || res->priv == NULL || name == NULL)
        return NULL;
    const creq *r = res->priv;
    const char *found = NULL;
    size_t off = 0;
    while (off < r->hlen) {
        const char *h = r->hbuf + off;
        size_t hn = strlen(h);
        const char *v = h + hn + 1;
        if (http_strncaseeq(name, h, hn))
            found = v;
        off += hn + strlen(v) + 2;
    }
    return found;
}

/* ---- requests -------------------------------------------------------------
 */

/* Take r off the wait list (nothing when it is not there). */
static void wait_unlink(http_client *cli, creq *r)
{
    creq *prev = NULL;
    for (creq *w = cli->wait_head; w != NULL; prev = w, w = w->wait_next) {
        if (w != r)
            continue;
        if (prev != NULL)
            prev->wait_next = w->wait_next;
        else
            cli->wait_head = w->wait_next;
        if (cli->wait_tail == w)
            cli->wait_tail = prev;
        w->wait_next = NULL;
        return;
    }
}

static void creq_free(creq *r)
{
    http_client *cli = r->cli;
    if (r->state == CREQ_WAITING)
        wait_unlink(cli, r);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        cli->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    if (r->easy != NULL) {
        if (r->state == CREQ_ACTIVE)
            curl_multi_remove_handle(cli->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    refraft_free(r->req_body);
    refraft_free(r->body);
    refraft_free(r->hbuf);
    refraft_free(r->origin);
    refraft_free(r);
}

/* "scheme://host:port" of a URL valid_url() accepted, as libcurl parses
 * it (the port filled in when the URL leaves it out), or NULL (no
 * memory). */
static char *origin_of(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
            CURLUE_OK) {
        size_t n = strlen(scheme) + strlen(host) + strlen(port) + 5;
        o = refraft_malloc(n);
        if (o != NULL)
            snprintf(o, n, "%s://%s:%s", scheme, host, port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return o;
}

/* Whether a request to origin is ACTIVE, or also WAITING (in_order). */
static bool
origin_busy(const http_client *cli, const char *origin, bool or_waiting)
{
    for (const creq *r = cli->reqs; r != NULL; r = r->next)
        if ((r->state == CREQ_ACTIVE ||
             (or_waiting && r->state == CREQ_WAITING)) &&
            strcmp(r->origin, origin) == 0)
            return true;
    return false;
}

/* Queue r, finished, for http_client_run() to report. */
static void done_push(http_client *cli, creq *r)
{
    r->state = CREQ_DONE;
    if (cli->done_tail != NULL)
        cli->done_tail->done_next = r;
    else
        cli->done_head = r;
    cli->done_tail = r;
}

/* A WAITING request that will not go out fails with result and why. */
static void
fail_waiting(http_client *cli, creq *r, CURLcode result, const char *why)
{
    wait_unlink(cli, r);
    r->result = result;
    snprintf(r->errbuf, sizeof(r->errbuf), "%s", why);
    done_push(cli, r);
}

/*
 * in_order: start the first WAITING request to origin, unless one to it
 * is ACTIVE.  A connection carries one HTTP/1.1 request at a time, so
 * holding the others here costs no round trip; left in libcurl's queue
 * for a free connection, a request made later can take the connection
 * an earlier one was waiting for, and reach the server first.  Requests
 * whose time-out ended while they waited fail.  Returns whether one
 * started.
 */
static bool start_next(http_client *cli, const char *origin)
{
    if (origin_busy(cli, origin, false))
        return false;
    uint64_t now = http_now_ms();
    creq *w = cli->wait_head;
    while (w != NULL) {
        creq *next = w->wait_next;
        if (strcmp(w->origin, origin) != 0) {
            w = next;
            continue;
        }
        if (now >= w->deadline_ms) {
            fail_waiting(cli, w, CURLE_OPERATION_TIMEDOUT,
                         "timed out behind an earlier request to the same "
                         "server");
        } else if (curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS,
                                    (long)(w->deadline_ms - now)) != CURLE_OK ||
                   curl_multi_add_handle(cli->multi, w->easy) != CURLM_OK) {
            fail_waiting(cli, w, CURLE_OUT_OF_MEMORY,
                         "libcurl could not start the request");
        } else {
            wait_unlink(cli, w);
            w->state = CREQ_ACTIVE;
            return true;
        }
        w = next;
    }
    return false;
}

/* in_order: fail the WAITING requests whose time-out has ended. */
static void expire_waiting(http_client *cli)
{
    uint64_t now = http_now_ms();
    creq *w = cli->wait_head;
    while (w != NULL) {
        creq *next = w->wait_next;
        if (now >= w->deadline_ms)
            fail_waiting(cli, w, CURLE_OPERATION_TIMEDOUT,
                         "timed out behind an earlier request to the same "
                         "server");
        w = next;
    }
}

static bool valid_url(const char *url)
{
    CURLU *u = curl_url();
    if (u == NULL)
        return false;
    char *scheme = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

/* "Name: value", nothing that would split the line. */
static bool valid_header(const char *h)
{
    const char *colon = strchr(h, ':');
    if (colon == NULL || colon == h || strpbrk(h, "\r\n") != NULL)
        return false;
    for (const char *p = h; p < colon; p++)
        if (*p == ' ' || *p == '\t')
            return false;
    return true;
}

static int build_headers(creq *r, const char *const *headers, bool post)
{
    bool has_type = false;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (!valid_header(headers[i]))
            return REFRAFT_EINVAL;
        size_t nlen = (size_t)(strchr(headers[i], ':') - headers[i]);
        if (nlen == 12 && http_strncaseeq("content-type", headers[i], 12))
            has_type = true;
        struct curl_slist *l = curl_slist_append(r->hdrs, headers[i]);
        if (l == NULL)
            return REFRAFT_ENOMEM;
        r->hdrs = l;
    }
    if (post && !has_type) {
        struct curl_slist *l = curl_slist_append(
            r->hdrs, "Content-Type: application/octet-stream");
        if (l == NULL)
            return REFRAFT_ENOMEM;
        r->hdrs = l;
    }
    /* libcurl asks a server with "Expect: 100-continue" before sending a
     * larger body, and waits for its answer up to a second: a round trip
     * per message that peers, which take every body they can, never
     * need.  An empty header turns it off. */
    if (post) {
        struct curl_slist *l = curl_slist_append(r->hdrs, "Expect:");
        if (l == NULL)
            return REFRAFT_ENOMEM;
        r->hdrs = l;
    }
    return 0;
}

/*
 * libcurl sends a body one upload buffer (64 KiB by default) per
 * curl_multi_perform(), so a body of 300 KiB took five turns of the
 * caller's loop to leave, and a leader that synced its log after the
 * first push held the rest back from its followers for the whole sync.
 * A buffer the size of the body lets one push hand it all to the socket
 * (as much as the socket takes).  libcurl takes 16 KiB to 2 MiB.
 */
static long upload_buffer_size(size_t len)
{
    const size_t min = 16 * 1024, max = 2 * 1024 * 1024;
    return (long)(len < min ? min : len > max ? max : len);
}

#define SETOPT(e, opt, val)                                                    \
    do {                                                                       \
        if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK)                   \
            return REFRAFT_ENOMEM;                                             \
    } while (0)

static int setup_easy(http_client *cli, creq *r, const char *url, bool post,
                      size_t len, uint32_t timeout_ms)
{
    CURL *e = r->easy;
    SETOPT(e, CURLOPT_URL, url);
    SETOPT(e, CURLOPT_PRIVATE, (void *)r);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    SETOPT(e, CURLOPT_ERRORBUFFER, r->errbuf);
    SETOPT(e, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(e, CURLOPT_WRITEDATA, (void *)r);
    SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(e, CURLOPT_HEADERDATA, (void *)r);
    SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cli->max_body);
    SETOPT(e, CURLOPT_HTTPHEADER, r->hdrs);
    if (post) {
        SETOPT(e, CURLOPT_POST, 1L);
        SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        SETOPT(e, CURLOPT_POSTFIELDS,
               r->req_body != NULL ? (const char *)r->req_body : "");
        SETOPT(e, CURLOPT_UPLOAD_BUFFERSIZE, upload_buffer_size(len));
    } else {
        SETOPT(e, CURLOPT_HTTPGET, 1L);
    }
    if (cli->cert_file != NULL) {
        SETOPT(e, CURLOPT_SSLCERT, cli->cert_file);
        SETOPT(e, CURLOPT_SSLKEY, cli->key_file);
    }
    if (cli->ca_file != NULL)
        SETOPT(e, CURLOPT_CAINFO, cli->ca_file);
    return 0;
}

static int check_request(http_client *cli, const char *method, const char *url,
                         const void *body, size_t len, uint32_t timeout_ms,
                         http_done_fn done, bool *post)
{
    if (cli == NULL || method == NULL || url == NULL || done == NULL)
        return REFRAFT_EINVAL;
    *post = strcmp(method, "POST") == 0;
    if (!*post && strcmp(method, "GET") != 0)
        return REFRAFT_EINVAL;
    if ((!*post && len != 0) || (body == NULL && len != 0))
        return REFRAFT_EINVAL;
    if (timeout_ms == 0 || timeout_ms > INT32_MAX)
        return REFRAFT_EINVAL;
    if (cli->destroy_pending)
        return REFRAFT_EINVAL;
    if (cli->pending >= cli->max_queued)
        return REFRAFT_ETOOBIG;
    if (!valid_url(url))
        return REFRAFT_EINVAL;
    return 0;
}

/* http_client_request(), with the body copied, or taken (owned). */
static int request(http_client *cli, const char *method, const char *url,
                   const char *const *headers, uint8_t *body, size_t len,
                   bool owned, uint32_t timeout_ms, http_done_fn done,
                   void *ctx, uint64_t *id)
{
    bool post;
    int rv =
        check_request(cli, method, url, body, len, timeout_ms, done, &post);
    creq *r = rv == 0 ? refraft_calloc(1, sizeof(*r)) : NULL;
    if (r == NULL) {
        if (owned)
            refraft_free(body);
        return rv != 0 ? rv : REFRAFT_ENOMEM;
    }
    r->cli = cli;
    r->done = done;
    r->ctx = ctx;
    r->next = cli->reqs; /* linked first so creq_free() can unlink */
    if (cli->reqs != NULL)
        cli->reqs->prev = r;
    cli->reqs = r;
    r->state = CREQ_DONE; /* not in the multi handle yet */
    rv = build_headers(r, headers, post);
    if (rv != 0)
        goto err_after_req;
    rv = REFRAFT_ENOMEM;
    if (owned) {
        r->req_body = body;
        body = NULL;
    } else if (len > 0) {
        r->req_body = refraft_malloc(len);
        if (r->req_body == NULL)
            goto err_after_req;
        memcpy(r->req_body, body, len);
    }
    r->easy = curl_easy_init();
    if (r->easy == NULL)
        goto err_after_req;
    rv = setup_easy(cli, r, url, post, len, timeout_ms);
    if (rv != 0)
        goto err_after_req;
    if (cli->in_order) {
        rv = REFRAFT_ENOMEM;
        r->origin = origin_of(url);
        if (r->origin == NULL)
            goto err_after_req;
        r->deadline_ms = http_now_ms() + timeout_ms;
    }
    if (cli->in_order && origin_busy(cli, r->origin, true)) {
        r->state = CREQ_WAITING;
        if (cli->wait_tail != NULL)
            cli->wait_tail->wait_next = r;
        else
            cli->wait_head = r;
        cli->wait_tail = r;
    } else {
        /* Adding starts nothing: the transfer moves in
         * http_client_run(). */
        if (curl_multi_add_handle(cli->multi, r->easy) != CURLM_OK) {
            rv = REFRAFT_ENOMEM;
            goto err_after_req;
        }
        r->state = CREQ_ACTIVE;
    }
    r->id = ++cli->next_id;
    cli->pending++;
    if (id != NULL)
        *id = r->id;
    return 0;

err_after_req:
    if (owned)
        refraft_free(body); /* when not in r yet */
    creq_free(r);
    return rv;
}

int http_client_request(http_client *cli, const char *method, const char *url,
                        const char *const *headers, const void *body,
                        size_t len, uint32_t timeout_ms, http_done_fn done,
                        void *ctx, uint64_t *id)
{
    return request(cli, method, url, headers, (uint8_t *)body, len, false,
                   timeout_ms, done, ctx, id);
}

int http_client_request_take(http_client *cli, const char *url,
                             const char *const *headers, void *body, size_t len,
                             uint32_t timeout_ms, http_done_fn done, void *ctx,
                             uint64_t *id)
{
    return request(cli, "POST", url, headers, body, len, true, timeout_ms, done,
                   ctx, id);
}

void http_client_cancel(http_client *cli, uint64_t id)
{
    if (cli == NULL || id == 0)
        return;
    for (creq *r = cli->reqs; r != NULL; r = r->next) {
        if (r->id != id || r->cancelled)
            continue;
        if (r->state == CREQ_WAITING) {
            cli->pending--;
            creq_free(r);
        } else if (r->state == CREQ_ACTIVE) {
            cli->pending--;
            char *origin = r->origin;
            r->origin = NULL;
            creq_free(r);
            if (origin != NULL)
                (void)start_next(cli, origin);
            refraft_free(origin);
        } else if (r->state == CREQ_DONE) {
            /* On the done list: http_client_run() frees it unreported. */
            r->cancelled = true;
            cli->pending--;
        }
        return;
    }
}

size_t http_client_pending(const http_client *cli)
{
    return cli->pending;
}

/* ---- loop ------------------------------------------------------------------
 */

void http_client_fdset(http_client *cli, fd_set *rd, fd_set *wr, fd_set *ex,
                       int *max_fd)
{
    int max = -1;
    if (curl_multi_fdset(cli->multi, rd, wr, ex, &max) != CURLM_OK)
        max = -1;
    cli->no_fds = max < 0;
    if (max > *max_fd)
        *max_fd = max;
}

uint64_t http_client_timeout_ms(http_client *cli)
{
    if (cli->done_head != NULL)
        return 0;
    long t = -1;
    if (curl_multi_timeout(cli->multi, &t) != CURLM_OK)
        t = -1;
    uint64_t ms = t < 0 ? UINT64_MAX : (uint64_t)t;
    if (cli->pending > 0 && cli->no_fds && ms > NO_FD_POLL_MS)
        ms = NO_FD_POLL_MS;
    uint64_t now = http_now_ms();
    for (const creq *w = cli->wait_head; w != NULL; w = w->wait_next) {
        uint64_t left = w->deadline_ms > now ? w->deadline_ms - now : 0;
        if (left < ms)
            ms = left;
    }
    return ms;
}

/* Take finished transfers out of the multi handle onto the done list,
 * and (in_order) start the requests that waited for them.  Returns
 * whether any started. */
static bool collect(http_client *cli)
{
    creq *before = cli->done_tail;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(cli->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode result = m->data.result; /* m dies with remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        creq *r = (creq *)(void *)priv;
        curl_multi_remove_handle(cli->multi, e);
        r->result = result;
        done_push(cli, r);
    }
    if (!cli->in_order)
        return false;
    bool started = false;
    /* Those start_next() fails join the list, and are passed in turn. */
    for (creq *r = before != NULL ? before->done_next : cli->done_head;
         r != NULL; r = r->done_next)
        started |= start_next(cli, r->origin);
    return started;
}

/* Move transfers on, and on again for the requests that waited for the
 * ones that finished (in_order). */
static void progress(http_client *cli)
{
    int still;
    do
        (void)curl_multi_perform(cli->multi, &still);
    while (collect(cli));
}

static void report(creq *r)
{
    char msg[CURL_ERROR_SIZE + 64];
    http_response res = {0};
    res.priv = r;
    res.body = r->body != NULL ? r->body : empty_body;
    res.len = r->len;
    long code = 0;
    if (r->result == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (r->result == CURLE_OK && code > 0 && code < 1000) {
        res.status = (unsigned)code;
    } else {
        if (r->body_too_big || r->result == CURLE_FILESIZE_EXCEEDED)
            snprintf(msg, sizeof(msg), "response body larger than %zu bytes",
                     r->cli->max_body);
        else if (r->out_of_memory)
            snprintf(msg, sizeof(msg), "out of memory");
        else if (r->result == CURLE_OK)
            snprintf(msg, sizeof(msg), "no HTTP status in the answer");
        else if (r->errbuf[0] != '\0')
            snprintf(msg, sizeof(msg), "%s", r->errbuf);
        else
            snprintf(msg, sizeof(msg), "%s", curl_easy_strerror(r->result));
        res.errmsg = msg;
        res.body = empty_body;
        res.len = 0;
    }
    r->done(r->ctx, &res);
}

static void client_free(http_client *cli)
{
    while (cli->reqs != NULL)
        creq_free(cli->reqs);
    curl_multi_cleanup(cli->multi);
    refraft_free(cli->cert_file);
    refraft_free(cli->key_file);
    refraft_free(cli->ca_file);
    refraft_free(cli);
    curl_global_cleanup();
}

void http_client_push(http_client *cli)
{
    if (cli->destroy_pending)
        return;
    progress(cli);
}

void http_client_run(http_client *cli)
{
    if (cli->running)
        return; /* called from a callback: the outer run goes on */
    cli->running = true;
    if (cli->in_order)
        expire_waiting(cli);
    progress(cli);
    while (cli->done_head != NULL && !cli->destroy_pending) {
        creq *r = cli->done_head;
        cli->done_head = r->done_next;
        if (cli->done_head == NULL)
            cli->done_tail = NULL;
        if (!r->cancelled) {
            cli->pending--;
            r->state = CREQ_DISPATCHING;
            report(r);
        }
        creq_free(r);
    }
    cli->running = false;
    if (cli->destroy_pending)
        client_free(cli);
}

/* ---- create, destroy -------------------------------------------------------
 */

static int
copy_path(const char *path, char **out, char *errbuf, size_t errbuf_len)
{
    if (path == NULL)
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        http_errf(errbuf, errbuf_len, "cannot read %s: %s", path,
                  strerror(errno));
        return REFRAFT_EINVAL;
    }
    fclose(f);
    *out = http_strdup(path);
    if (*out == NULL) {
        http_errf(errbuf, errbuf_len, "out of memory");
        return REFRAFT_ENOMEM;
    }
    return 0;
}

static int check_client_config(const http_client_config *cfg, char *errbuf,
                               size_t errbuf_len)
{
    if (cfg->max_queued > MAX_LIMIT || cfg->max_host_connections > MAX_LIMIT) {
        http_errf(errbuf, errbuf_len,
                  "max_queued and max_host_connections are at most %u",
                  MAX_LIMIT);
        return REFRAFT_EINVAL;
    }
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
        http_errf(errbuf, errbuf_len, "cert_file and key_file go together");
        return REFRAFT_EINVAL;
    }
    return 0;
}

int http_client_create(const http_client_config *cfg, http_client **out,
                       char *errbuf, size_t errbuf_len)
{
    http_client_config none = {0};
    if (out == NULL) {
        http_errf(errbuf, errbuf_len, "no out pointer");
        return REFRAFT_EINVAL;
    }
    if (cfg == NULL)
        cfg = &none;
    int rv = check_client_config(cfg, errbuf, errbuf_len);
    if (rv != 0)
        return rv;
    http_client *cli = refraft_calloc(1, sizeof(*cli));
    if (cli == NULL) {
        http_errf(errbuf, errbuf_len, "out of memory");
        return REFRAFT_ENOMEM;
    }
    cli->max_queued =
        cfg->max_queued != 0 ? cfg->max_queued : DEFAULT_MAX_QUEUED;
    cli->in_order = cfg->in_order;
    cli->max_body = cfg->max_body != 0 ? cfg->max_body : REFRAFT_WIRE_MAX_BODY;
    rv = copy_path(cfg->cert_file, &cli->cert_file, errbuf, errbuf_len);
    if (rv == 0)
        rv = copy_path(cfg->key_file, &cli->key_file, errbuf, errbuf_len);
    if (rv == 0)
        rv = copy_path(cfg->ca_file, &cli->ca_file, errbuf, errbuf_len);
    if (rv != 0)
        goto err_after_cli;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        http_errf(errbuf, errbuf_len, "curl_global_init failed");
        rv = REFRAFT_EIO;
        goto err_after_cli;
    }
    cli->multi = curl_multi_init();
    if (cli->multi == NULL) {
        http_errf(errbuf, errbuf_len, "out of memory");
        rv = REFRAFT_ENOMEM;
        goto err_after_global;
    }
    long per_host = cfg->max_host_connections != 0
                        ? (long)cfg->max_host_connections
                        : (long)DEFAULT_MAX_HOST_CONNECTIONS;
    if (curl_multi_setopt(cli->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          per_host) != CURLM_OK) {
        http_errf(errbuf, errbuf_len, "libcurl refused max_host_connections");
        rv = REFRAFT_EINVAL;
        goto err_after_multi;
    }
    *out = cli;
    return 0;

err_after_multi:
    curl_multi_cleanup(cli->multi);
err_after_global:
    curl_global_cleanup();
err_after_cli:
    refraft_free(cli->cert_file);
    refraft_free(cli->key_file);
    refraft_free(cli->ca_file);
    refraft_free(cli);
    return rv;
}

void http_client_destroy(http_client *cli)
{
    if (cli == NULL)
        return;
    if (cli->running) {
        cli->destroy_pending = true;
        return;
    }
    client_free(cli);
}
