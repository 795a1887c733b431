/* json.c - JSON string literals for the node's answers and logs, and the
 * growing buffer larger answers are built in. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void json_escape_bytes(const uint8_t *s, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 3) {
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        size_t n = c == '"' || c == '\\' ? 2 : c < 0x20 || c > 0x7e ? 6 : 1;
        if (o + n + 2 > cap)
            break;
        if (n == 6) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = digits[c >> 4];
            out[o + 5] = digits[c & 15];
        } else if (n == 2) {
            out[o] = '\\';
            out[o + 1] = (char)c;
        } else {
            out[o] = (char)c;
        }
        o += n;
    }
    out[o++] = '"';
    out[o] = '\0';
}

void json_escape(const char *s, char *out, size_t cap)
{
    json_escape_bytes((const uint8_t *)s, strlen(s), out, cap);
}

void json_buf_init(json_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

/* Room for need more bytes and a NUL, within max; false fails b. */
static bool reserve(json_buf *b, size_t need)
{
    if (need < b->cap - b->len)
        return true;
    if (need >= b->max - b->len) {
        b->failed = true;
        return false;
    }
    size_t cap = b->cap != 0 ? b->cap : 4096;
    while (cap - b->len <= need)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void json_buf_printf(json_buf *b, const char *fmt, ...)
{
    if (b->failed || !reserve(b, 0))
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
    } else if ((size_t)n >= b->cap - b->len) {
        /* Cut short: make room and write it again. */
        b->data[b->len] = '\0';
        if (!reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    if (!b->failed)
        b->len += (size_t)n;
}

void json_buf_free(json_buf *b)
{
    free(b->data);
    json_buf_init(b, b->max);
}

void json_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}
