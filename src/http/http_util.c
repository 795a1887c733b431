/* http_util.c - small helpers the HTTP server and client share. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "http_util.h"
#include "refraft/refraft.h"

#define MAX_FILE (1u << 20)

uint64_t http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void http_errf(char *errbuf, size_t errbuf_len, const char *fmt, ...)
{
    if (errbuf == NULL || errbuf_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errbuf_len, fmt, ap);
    va_end(ap);
}

char *http_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = refraft_malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

int http_strncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (ca == '\0')
            return 0;
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca + 32);
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb + 32);
        if (ca != cb)
            return 0;
    }
    return a[n] == '\0';
}

int http_read_file(const char *path, char **out, char *errbuf,
                   size_t errbuf_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        http_errf(errbuf, errbuf_len, "cannot read %s: %s", path,
                  strerror(errno));
        return REFRAFT_EINVAL;
    }
    char *buf = refraft_malloc(MAX_FILE + 1);
    if (buf == NULL) {
        fclose(f);
        http_errf(errbuf, errbuf_len, "out of memory");
        return REFRAFT_ENOMEM;
    }
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n == 0 || n > MAX_FILE) {
        http_errf(errbuf, errbuf_len, "cannot read %s: %s", path,
                  failed ? "read error"
                         : (n == 0 ? "empty file" : "larger than 1 MiB"));
        refraft_free(buf);
        return REFRAFT_EINVAL;
    }
    buf[n] = '\0';
    char *shrunk = refraft_realloc(buf, n + 1);
    *out = shrunk != NULL ? shrunk : buf;
    return 0;
}
