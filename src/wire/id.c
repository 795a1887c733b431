/* id.c - record ids in URL paths (the record service's
 * /v1/records/{id}): percent-encoding (RFC 3986 section 2.1) of opaque
 * bytes. */
#include <stdbool.h>
#include <string.h>

#include "wire/internal.h"

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 2.3) */
static bool is_unreserved(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* Characters a path segment may carry unescaped besides the unreserved
 * ones (RFC 3986 3.3: pchar = unreserved / pct-encoded / sub-delims / ":"
 * / "@").  We never write them raw, but a client that does still names
 * the same bytes. */
static bool is_pchar_extra(uint8_t c)
{
    return c != '\0' && strchr("!$&'()*+,;=:@", c) != NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void refraft_wire_encode_id(const uint8_t *id, size_t id_len, char *buf)
{
    static const char hex[] = "0123456789ABCDEF";
    /* An id no decoder accepts comes out empty, which none accepts
     * either, rather than overrunning buf. */
    if (id == NULL || id_len > REFRAFT_RECORD_ID_MAX)
        id_len = 0;
    char *out = buf;
    for (size_t i = 0; i < id_len; i++) {
        uint8_t c = id[i];
        if (is_unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
}

int refraft_wire_decode_id(const char *path_part, uint8_t *id, size_t *id_len)
{
    if (path_part == NULL || id == NULL || id_len == NULL)
        return REFRAFT_EINVAL;
    uint8_t got[REFRAFT_RECORD_ID_MAX];
    size_t n = 0;
    for (const char *p = path_part; *p != '\0'; n++) {
        if (n == REFRAFT_RECORD_ID_MAX)
            return REFRAFT_EINVAL; /* over the longest id */
        uint8_t c = (uint8_t)*p;
        if (c == '%') {
            int hi = hex_value(p[1]);
            int lo = hi < 0 ? -1 : hex_value(p[2]);
            if (lo < 0)
                return REFRAFT_EINVAL; /* a malformed escape */
            got[n] = (uint8_t)(hi << 4 | lo);
            p += 3;
        } else if (is_unreserved(c) || is_pchar_extra(c)) {
            got[n] = c;
            p++;
        } else {
            return REFRAFT_EINVAL; /* "/", "?", "#", space, non-ASCII... */
        }
    }
    if (n == 0)
        return REFRAFT_EINVAL;
    memcpy(id, got, n);
    *id_len = n;
    return 0;
}
