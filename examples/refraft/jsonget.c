/* jsonget.c - find one value in a JSON object by its member path. */
#include <string.h>

#include "jsonget.h"

/* Objects and arrays nest at most this deep; deeper text is refused. */
#define MAX_DEPTH 32

typedef struct scan {
    const char *p;
    const char *end;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Step over a string literal, s->p at its opening quote. */
static bool skip_string(scan *s)
{
    s->p++;
    while (s->p < s->end) {
        char c = *s->p++;
        if (c == '"')
            return true;
        if (c == '\\') {
            if (s->p == s->end)
                return false;
            s->p++;
        }
    }
    return false;
}

static bool skip_value(scan *s, int depth)
{
    skip_ws(s);
    if (s->p == s->end || depth > MAX_DEPTH)
        return false;
    char open = *s->p;
    if (open == '"')
        return skip_string(s);
    if (open != '{' && open != '[') {
        /* number, true, false, null: up to the next delimiter */
        const char *start = s->p;
        while (s->p < s->end && strchr(",}] \t\r\n", *s->p) == NULL)
            s->p++;
        return s->p > start;
    }
    char close = open == '{' ? '}' : ']';
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (open == '{') {
            skip_ws(s);
            if (s->p == s->end || *s->p != '"' || !skip_string(s))
                return false;
            skip_ws(s);
            if (s->p == s->end || *s->p++ != ':')
                return false;
        }
        if (!skip_value(s, depth + 1))
            return false;
        skip_ws(s);
        if (s->p == s->end)
            return false;
        char c = *s->p++;
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

/* With s->p at an object, leave it at the value of member key (len
 * bytes, compared with the raw, still escaped, member name). */
static bool find_member(scan *s, const char *key, size_t keylen)
{
    skip_ws(s);
    if (s->p == s->end || *s->p != '{')
        return false;
    s->p++;
    for (;;) {
        skip_ws(s);
        if (s->p == s->end || *s->p != '"')
            return false;
        const char *name = s->p + 1;
        if (!skip_string(s))
            return false;
        size_t namelen = (size_t)(s->p - 1 - name);
        skip_ws(s);
        if (s->p == s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        if (namelen == keylen && memcmp(name, key, keylen) == 0)
            return true;
        if (!skip_value(s, 1))
            return false;
        skip_ws(s);
        if (s->p == s->end || *s->p++ != ',')
            return false;
    }
}

static bool find_path(const char *json, size_t len, const char *path, scan *s)
{
    s->p = json;
    s->end = json + len;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t keylen = dot != NULL ? (size_t)(dot - path) : strlen(path);
        if (!find_member(s, path, keylen))
            return false;
        if (dot == NULL)
            return true;
        path = dot + 1;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool unescape(scan *s, char *out, size_t cap)
{
    size_t n = 0;
    s->p++; /* the opening quote */
    while (s->p < s->end && *s->p != '"') {
        char c = *s->p++;
        if (c == '\\') {
            if (s->p == s->end)
                return false;
            char e = *s->p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                if (s->end - s->p < 4)
                    return false;
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(s->p[i]);
                    if (h < 0)
                        return false;
                    v = v * 16 + h;
                }
                s->p += 4;
                c = v < 0x80 ? (char)v : '?';
                break;
            }
            default:
                c = e;
                break; /* \" \\ \/ */
            }
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    if (s->p == s->end)
        return false;
    out[n] = '\0';
    return true;
}

bool cli_json_str(const char *json, size_t len, const char *path, char *out,
                  size_t cap)
{
    scan s;
    if (cap == 0 || !find_path(json, len, path, &s) || s.p == s.end ||
        *s.p != '"')
        return false;
    return unescape(&s, out, cap);
}

bool cli_json_u64(const char *json, size_t len, const char *path, uint64_t *out)
{
    scan s;
    if (!find_path(json, len, path, &s) || s.p == s.end || *s.p < '0' ||
        *s.p > '9')
        return false;
    uint64_t v = 0;
    while (s.p < s.end && *s.p >= '0' && *s.p <= '9') {
        uint64_t d = (uint64_t)(*s.p++ - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (s.p < s.end && (*s.p == '.' || *s.p == 'e' || *s.p == 'E'))
        return false;
    *out = v;
    return true;
}
