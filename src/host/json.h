/* json.h - the little JSON the node writes: quoted strings. */
#ifndef REFRAFT_HOST_JSON_H
#define REFRAFT_HOST_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Write s as a JSON string literal, quotes included, into out (cap bytes,
 * NUL-terminated; cut short, still valid, when it does not fit).  Control
 * bytes and bytes above 0x7e are written as \u00XX. */
void json_escape(const char *s, char *out, size_t cap);
/* The same for len bytes that need not be text. */
void json_escape_bytes(const uint8_t *s, size_t len, char *out, size_t cap);

#endif /* REFRAFT_HOST_JSON_H */
