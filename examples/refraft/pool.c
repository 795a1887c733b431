/* pool.c - many HTTP exchanges at once over libcurl's multi interface. */
#include <stdio.h>
#include <stdlib.h>

#include "pool.h"
#include "util.h"

/* The longest the loop sleeps, so that cli_interrupted and delayed
 * retries are noticed promptly. */
#define MAX_WAIT_MS 100u

static void free_slots(CURLM *multi, cli_slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slots[i].running)
            curl_multi_remove_handle(multi, slots[i].x.easy);
        cli_xfer_free(&slots[i].x);
    }
    free(slots);
}

/* Start what may start; say whether any slot still holds a job. */
static bool feed(CURLM *multi, cli_slot *slots, size_t n,
                 const cli_pool_ops *ops, void *ctx, bool *more,
                 uint64_t *wake_ms)
{
    bool busy = false;
    uint64_t now = cli_now_ms();
    for (size_t i = 0; i < n; i++) {
        cli_slot *s = &slots[i];
        if (!s->busy && *more) {
            s->not_before_ms = 0;
            if (ops->next(ctx, s))
                s->busy = true;
            else
                *more = false;
        }
        if (!s->busy)
            continue;
        busy = true;
        if (s->running)
            continue;
        if (s->not_before_ms > now) {
            if (s->not_before_ms < *wake_ms)
                *wake_ms = s->not_before_ms;
            continue;
        }
        curl_easy_setopt(s->x.easy, CURLOPT_PRIVATE, s);
        if (curl_multi_add_handle(multi, s->x.easy) == CURLM_OK)
            s->running = true;
    }
    return busy;
}

/* Hand every finished transfer to ops->done.  Returns how many there
 * were, or -1 when a callback aborted. */
static int collect(CURLM *multi, const cli_pool_ops *ops, void *ctx)
{
    CURLMsg *msg;
    int left, n = 0;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        cli_slot *s = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
        curl_multi_remove_handle(multi, easy);
        s->running = false;
        cli_xfer_finish(&s->x, result);
        n++;
        switch (ops->done(ctx, s)) {
        case CLI_POOL_FREE:
            s->busy = false;
            break;
        case CLI_POOL_AGAIN:
            break;
        case CLI_POOL_ABORT:
            return -1;
        }
    }
    return n;
}

int cli_pool_run(size_t concurrency, size_t max_body, const cli_pool_ops *ops,
                 void *ctx, char *err, size_t errlen)
{
    int rv = -1;
    CURLM *multi = curl_multi_init();
    cli_slot *slots = calloc(concurrency, sizeof(*slots));
    if (multi == NULL || slots == NULL) {
        snprintf(err, errlen, "out of memory");
        free(slots);
        slots = NULL;
        goto out;
    }
    for (size_t i = 0; i < concurrency; i++) {
        slots[i].index = i;
        if (cli_xfer_init(&slots[i].x, max_body) != 0) {
            snprintf(err, errlen, "libcurl failed to make a handle");
            goto out;
        }
    }
    bool more = true;
    for (;;) {
        if (cli_interrupted) {
            snprintf(err, errlen, "interrupted");
            goto out;
        }
        uint64_t wake = UINT64_MAX;
        if (!feed(multi, slots, concurrency, ops, ctx, &more, &wake))
            break;
        int still;
        CURLMcode mc = curl_multi_perform(multi, &still);
        if (mc != CURLM_OK) {
            snprintf(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
            goto out;
        }
        int finished = collect(multi, ops, ctx);
        if (finished < 0) {
            snprintf(err, errlen, "aborted");
            goto out;
        }
        /* Slots just freed take their next job without waiting. */
        if (finished > 0)
            continue;
        uint64_t now = cli_now_ms();
        uint64_t wait = MAX_WAIT_MS;
        if (wake != UINT64_MAX)
            wait = wake <= now ? 0 : (wake - now < wait ? wake - now : wait);
        curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
    }
    rv = 0;
out:
    if (slots != NULL)
        free_slots(multi, slots, concurrency);
    if (multi != NULL)
        curl_multi_cleanup(multi);
    return rv;
}
