/* json.h - the little JSON the node writes: quoted strings, and a
 * growing buffer to build larger answers in. */
#ifndef REFRAFT_HOST_JSON_H
#define REFRAFT_HOST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write s as a JSON string literal, quotes included, into out (cap bytes,
 * NUL-terminated; cut short, still valid, when it does not fit).  Control
 * bytes and bytes above 0x7e are written as \u00XX. */
void json_escape(const char *s, char *out, size_t cap);
/* The same for len bytes that need not be text. */
void json_escape_bytes(const uint8_t *s, size_t len, char *out, size_t cap);
/* n bytes as 2n lowercase hex digits and a NUL (out: 2n + 1 bytes). */
void json_hex(const uint8_t *b, size_t n, char *out);
/* Room json_escape_bytes needs for n bytes never cut short: each byte
 * takes at most 6 characters (\u00XX), plus the quotes and the NUL. */
#define JSON_ESCAPED_MAX(n) (6 * (size_t)(n) + 3)

/*
 * A text buffer that grows as it is written, up to max bytes.  An append
 * that would pass max, or finds no memory, fails the buffer: what was
 * appended before stays, later appends do nothing, and failed says so.
 * A caller appends freely and checks failed once at the end.
 */
typedef struct json_buf {
    char *data; /* NUL-terminated once anything was appended; owned */
    size_t len;
    size_t cap;
    size_t max;
    bool failed;
} json_buf;

/* An empty buffer that may grow to max bytes; allocates nothing yet. */
void json_buf_init(json_buf *b, size_t max);
/* Append printf-style. */
void json_buf_printf(json_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Free the text; b is empty (and not failed) again, with the same max. */
void json_buf_free(json_buf *b);

#endif /* REFRAFT_HOST_JSON_H */
