/* xfer.c - one HTTP exchange with a node over a reusable libcurl handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonget.h"
#include "xfer.h"

static void reset_answer(cli_xfer *x)
{
    x->status = 0;
    x->len = 0;
    if (x->body != NULL)
        x->body[0] = '\0';
    x->too_big = false;
    x->location[0] = '\0';
    x->leader[0] = '\0';
    x->repr_digest[0] = '\0';
    x->retry_after = 0;
    x->error[0] = '\0';
    x->curl_errbuf[0] = '\0';
}

int cli_xfer_init(cli_xfer *x, size_t max_body)
{
    memset(x, 0, sizeof(*x));
    x->max_body = max_body;
    x->easy = curl_easy_init();
    if (x->easy == NULL)
        return -1;
    return 0;
}

void cli_xfer_free(cli_xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    memset(x, 0, sizeof(*x));
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    cli_xfer *x = ctx;
    size_t n = size * nmemb;
    if (n > x->max_body - x->len) {
        x->too_big = true;
        return 0; /* CURLE_WRITE_ERROR ends the transfer */
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap == 0 ? 4096 : x->cap;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *grown = realloc(x->body, cap);
        if (grown == NULL)
            return 0;
        x->body = grown;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    x->body[x->len] = '\0';
    return n;
}

/* Copy a header's value (without surrounding blanks and CRLF) if name
 * matches. */
static bool
take_header(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return false;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
                       end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
    cli_xfer *x = ctx;
    size_t n = size * nmemb;
    char num[32];
    /* Every response (a "100 Continue" before the real one too) starts
     * with a status line: only the last response's headers count. */
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        x->leader[0] = '\0';
        x->repr_digest[0] = '\0';
        x->retry_after = 0;
        return n;
    }
    take_header(line, n, "Refraft-Leader", x->leader, sizeof(x->leader));
    take_header(line, n, "Repr-Digest", x->repr_digest, sizeof(x->repr_digest));
    if (take_header(line, n, "Retry-After", num, sizeof(num))) {
        /* Delta-seconds only; an HTTP date (which nodes never send)
         * reads as 0 and the caller's default applies. */
        unsigned long v = strtoul(num, NULL, 10);
        x->retry_after = v > 3600 ? 3600 : (unsigned)v;
    }
    return n;
}

static void prepare(cli_xfer *x, const char *url, long timeout_ms)
{
    CURL *e = x->easy;
    /* curl_easy_reset keeps the handle's live connections and caches. */
    curl_easy_reset(e);
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    reset_answer(x);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "refraft-cli/0.1");
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    /* Redirects are followed by the callers, which count the hops and
     * name the leader; curl only reports where one points. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
}

void cli_xfer_get(cli_xfer *x, const char *url, long timeout_ms)
{
    prepare(x, url, timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
}

void cli_xfer_post(cli_xfer *x, const char *url, const void *body, size_t len,
                   const char *const *headers, long timeout_ms)
{
    prepare(x, url, timeout_ms);
    x->headers = curl_slist_append(NULL, "Content-Type: "
                                         "application/octet-stream");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *l = curl_slist_append(x->headers, headers[i]);
        if (l != NULL)
            x->headers = l;
    }
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
}

int cli_xfer_finish(cli_xfer *x, CURLcode result)
{
    if (result != CURLE_OK) {
        x->status = 0;
        if (x->too_big)
            snprintf(x->error, sizeof(x->error), "answer larger than %zu bytes",
                     x->max_body);
        else
            snprintf(x->error, sizeof(x->error), "%s",
                     x->curl_errbuf[0] != '\0' ? x->curl_errbuf
                                               : curl_easy_strerror(result));
        return -1;
    }
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    char *loc = NULL;
    if (curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
        loc != NULL)
        snprintf(x->location, sizeof(x->location), "%s", loc);
    return 0;
}

int cli_xfer_perform(cli_xfer *x)
{
    return cli_xfer_finish(x, curl_easy_perform(x->easy));
}

const char *cli_xfer_errtext(cli_xfer *x, char *buf, size_t cap)
{
    if (x->status == 0)
        return x->error;
    if (x->body != NULL && cli_json_str(x->body, x->len, "error", buf, cap))
        return buf;
    if (x->body != NULL && x->len > 0) {
        snprintf(buf, cap, "%.*s", (int)(x->len < 200 ? x->len : 200), x->body);
        size_t n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        return buf;
    }
    return "(no body)";
}

void cli_xfer_method(cli_xfer *x, const char *method)
{
    curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
}
