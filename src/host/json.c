/* json.c - JSON string literals for the node's answers and logs. */
#include <stdio.h>
#include <string.h>

#include "json.h"

void json_escape_bytes(const uint8_t *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3) {
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        char esc[8];
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        else
            snprintf(esc, sizeof esc, "%c", c);
        size_t n = strlen(esc);
        if (o + n + 2 > cap)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o++] = '"';
    out[o] = '\0';
}

void json_escape(const char *s, char *out, size_t cap)
{
    json_escape_bytes((const uint8_t *)s, strlen(s), out, cap);
}
