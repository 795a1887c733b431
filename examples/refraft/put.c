/* put.c - storing a record: follow the redirect to the leader, wait out
 * an election. */
#include <stdio.h>
#include <string.h>

#include "put.h"
#include "util.h"

/* How long to wait before starting over when the leader a redirect named
 * does not answer: about an election's worth of time, in small steps. */
#define LOST_LEADER_RETRY_MS 300u

int cli_put_begin(cli_put *p, const char *base_url, uint64_t timeout_ms)
{
    memset(p, 0, sizeof(*p));
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    int w = snprintf(p->origin, sizeof(p->origin), "%.*s/v1/records", (int)n,
                     base_url);
    if (w < 0 || (size_t)w >= sizeof(p->origin)) {
        snprintf(p->error, sizeof(p->error), "URL too long");
        return -1;
    }
    memcpy(p->url, p->origin, sizeof(p->url));
    p->deadline_ms = cli_now_ms() + timeout_ms;
    return 0;
}

static cli_put_next start_over(cli_put *p, uint64_t wait_ms, const char *why)
{
    uint64_t now = cli_now_ms();
    if (now + wait_ms > p->deadline_ms) {
        snprintf(p->error, sizeof(p->error), "gave up: %s", why);
        return CLI_PUT_FAILED;
    }
    /* Kept for reports: why the last retry was needed. */
    snprintf(p->error, sizeof(p->error), "%s", why);
    memcpy(p->url, p->origin, sizeof(p->url));
    p->hops = 0;
    p->retries++;
    p->not_before_ms = now + wait_ms;
    return CLI_PUT_AGAIN;
}

cli_put_next cli_put_answer(cli_put *p, cli_xfer *x)
{
    char text[2048];
    if (x->status == 0) {
        if (strcmp(p->url, p->origin) == 0) {
            snprintf(p->error, sizeof(p->error), "%s: %s", p->url, x->error);
            return CLI_PUT_FAILED;
        }
        snprintf(text, sizeof(text), "leader at %s does not answer: %s", p->url,
                 x->error);
        return start_over(p, LOST_LEADER_RETRY_MS, text);
    }
    if (x->status >= 200 && x->status < 300)
        return CLI_PUT_DONE;
    if (x->status == 307 || x->status == 308) {
        if (x->leader[0] != '\0')
            memcpy(p->leader, x->leader, sizeof(p->leader));
        if (x->location[0] == '\0') {
            snprintf(p->error, sizeof(p->error),
                     "%s answered %ld without a Location", p->url, x->status);
            return CLI_PUT_FAILED;
        }
        if (++p->hops > CLI_PUT_MAX_HOPS) {
            snprintf(p->error, sizeof(p->error),
                     "more than %d redirects in a row (last to %s)",
                     CLI_PUT_MAX_HOPS, x->location);
            return CLI_PUT_FAILED;
        }
        p->redirects++;
        memcpy(p->url, x->location, sizeof(p->url));
        p->not_before_ms = 0;
        return CLI_PUT_AGAIN;
    }
    if (x->status == 503) {
        uint64_t wait = x->retry_after > 0 ? x->retry_after * 1000u
                                           : CLI_PUT_DEFAULT_RETRY_MS;
        snprintf(text, sizeof(text), "%s: 503 %s", p->url,
                 cli_xfer_errtext(x, p->error, sizeof(p->error)));
        return start_over(p, wait, text);
    }
    char msg[256];
    snprintf(p->error, sizeof(p->error), "%s: %ld %s", p->url, x->status,
             cli_xfer_errtext(x, msg, sizeof(msg)));
    return CLI_PUT_FAILED;
}

void cli_put_headers(const char *id, char *hdr, size_t cap, const char *out[2])
{
    out[0] = NULL;
    out[1] = NULL;
    if (id != NULL) {
        snprintf(hdr, cap, "Refraft-Record-Id: %s", id);
        out[0] = hdr;
    }
}

cli_put_next cli_put_run(cli_put *p, cli_xfer *x, const char *base_url,
                         const char *id, const void *body, size_t len,
                         uint64_t timeout_ms)
{
    char hdr[300];
    const char *headers[2];
    if (cli_put_begin(p, base_url, timeout_ms) != 0)
        return CLI_PUT_FAILED;
    cli_put_headers(id, hdr, sizeof(hdr), headers);
    for (;;) {
        uint64_t now = cli_now_ms();
        if (p->not_before_ms > now)
            cli_sleep_ms(p->not_before_ms - now);
        if (cli_interrupted) {
            snprintf(p->error, sizeof(p->error), "interrupted");
            return CLI_PUT_FAILED;
        }
        now = cli_now_ms();
        long left = p->deadline_ms > now ? (long)(p->deadline_ms - now) : 1;
        cli_xfer_post(x, p->url, body, len, headers, left);
        cli_xfer_perform(x);
        cli_put_next next = cli_put_answer(p, x);
        if (next != CLI_PUT_AGAIN)
            return next;
    }
}
