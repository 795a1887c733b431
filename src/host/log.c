/* log.c - structured log lines, the clock, and JSON error answers. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "json.h"

static const char *level_name(host_log_level level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return (unsigned)level < 4 ? names[level] : "info";
}

/* One line per event on stderr: ts=... level=... node=... msg="...", the
 * message escaped so a line is always one record. */
void host_log(const host *h, host_log_level level, const char *fmt, ...)
{
    if (level < h->log_level)
        return;
    char msg[1024], quoted[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_escape(msg, quoted, sizeof quoted);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "ts=%s.%03ldZ level=%s node=%s msg=%s\n", when,
            ts.tv_nsec / 1000000, level_name(level), h->id, quoted);
}

uint64_t host_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void host_respond(http_request *req, unsigned status, const char *content_type,
                  const void *body, size_t len, const char *const *headers)
{
    /* http_respond refuses a malformed answer and keeps the request open:
     * answer it plainly rather than leave the client hanging. */
    if (http_respond(req, status, content_type, body, len, headers) != 0)
        (void)http_respond(req, 500, NULL, NULL, 0, NULL);
}

void host_respond_error(http_request *req, unsigned status, const char *fmt,
                        ...)
{
    char msg[512], quoted[1100], body[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_escape(msg, quoted, sizeof quoted);
    int n = snprintf(body, sizeof body, "{\"error\":%s}\n", quoted);
    host_respond(req, status, "application/json", body, (size_t)n, NULL);
}
