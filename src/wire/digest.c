/* digest.c - the Repr-Digest header (RFC 9530) that carries a record's
 * SHA-256 on the record service's GET /v1/records/{id}. */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "wire/internal.h"

#define PREFIX "sha-256=:"
#define PREFIX_LEN (sizeof PREFIX - 1)
/* Base64 of 32 bytes: 43 characters and one "=" of padding. */
#define B64_LEN 44

void refraft_wire_format_digest(const uint8_t *digest, char *buf)
{
    memcpy(buf, PREFIX, PREFIX_LEN);
    int n = EVP_EncodeBlock((unsigned char *)buf + PREFIX_LEN, digest,
                            REFRAFT_DIGEST_LEN);
    buf[PREFIX_LEN + (size_t)n] = ':';
    buf[PREFIX_LEN + (size_t)n + 1] = '\0';
}

/*
 * The header is a Structured Field dictionary (RFC 8941 section 3.2):
 * comma-separated members "key=value;param=value", where a byte
 * sequence value is ":base64:".  We read it member by member, keep the
 * last sha-256 member (RFC 8941: a repeated key overrides) and step over
 * the others, whatever algorithm or syntax they use, as long as the
 * header parses: a header that does not parse is ignored whole, as RFC
 * 8941 requires.
 */
typedef struct cursor {
    const char *p;
} cursor;

static bool is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
    return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_b64(char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}

/* tchar (RFC 9110 section 5.6.2), which tokens use with ":" and "/". */
static bool is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void skip_sp(cursor *c)
{
    while (*c->p == ' ')
        c->p++;
}

static void skip_ows(cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
 * Sets *start and *len; false when there is no key here. */
static bool parse_key(cursor *c, const char **start, size_t *len)
{
    const char *s = c->p;
    if (!is_lcalpha(*s) && *s != '*')
        return false;
    while (is_lcalpha(*c->p) || is_digit(*c->p) ||
           (*c->p != '\0' && strchr("_-.*", *c->p) != NULL))
        c->p++;
    *start = s;
    *len = (size_t)(c->p - s);
    return true;
}

static bool skip_quoted(cursor *c)
{
    for (c->p++; *c->p != '"'; c->p++) {
        if (*c->p == '\\') {
            c->p++;
            if (*c->p != '"' && *c->p != '\\')
                return false;
        } else if (*c->p < 0x20 || *c->p > 0x7e) {
            return false; /* also the end of the string */
        }
    }
    c->p++;
    return true;
}

/* A byte sequence ":...:"; *start and *len get its content. */
static bool parse_bytes(cursor *c, const char **start, size_t *len)
{
    const char *s = ++c->p;
    while (is_b64(*c->p) || *c->p == '=')
        c->p++;
    if (*c->p != ':')
        return false;
    *start = s;
    *len = (size_t)(c->p - s);
    c->p++;
    return true;
}

/* Any bare item: integer, decimal, string, token, byte sequence, boolean
 * or date (RFC 9651). */
static bool skip_bare_item(cursor *c)
{
    char ch = *c->p;
    const char *s;
    size_t n;
    if (ch == '"')
        return skip_quoted(c);
    if (ch == ':')
        return parse_bytes(c, &s, &n);
    if (ch == '?') {
        if (c->p[1] != '0' && c->p[1] != '1')
            return false;
        c->p += 2;
        return true;
    }
    if (ch == '-' || ch == '@' || is_digit(ch)) {
        c->p++;
        if (!is_digit(*c->p) && !is_digit(ch))
            return false;
        while (is_digit(*c->p) || *c->p == '.')
            c->p++;
        return true;
    }
    if (is_alpha(ch) || ch == '*') {
        while (is_tchar(*c->p) || *c->p == ':' || *c->p == '/')
            c->p++;
        return true;
    }
    return false;
}

static bool skip_params(cursor *c)
{
    while (*c->p == ';') {
        c->p++;
        skip_sp(c);
        const char *k;
        size_t n;
        if (!parse_key(c, &k, &n))
            return false;
        if (*c->p == '=') {
            c->p++;
            if (!skip_bare_item(c))
                return false;
        }
    }
    return true;
}

static bool skip_inner_list(cursor *c)
{
    c->p++;
    for (;;) {
        skip_sp(c);
        if (*c->p == ')') {
            c->p++;
            return skip_params(c);
        }
        if (!skip_bare_item(c) || !skip_params(c))
            return false;
        if (*c->p != ' ' && *c->p != ')')
            return false;
    }
}

/* The content of a sha-256 byte sequence: 44 characters of base64 with
 * its padding, or 43 without (RFC 8941 asks parsers to accept both). */
static bool decode_sha256(const char *s, size_t len, uint8_t *digest)
{
    char in[B64_LEN];
    if (len != B64_LEN && len != B64_LEN - 1)
        return false;
    for (size_t i = 0; i < B64_LEN - 1; i++)
        if (!is_b64(s[i]))
            return false;
    if (len == B64_LEN && s[B64_LEN - 1] != '=')
        return false;
    memcpy(in, s, B64_LEN - 1);
    in[B64_LEN - 1] = '=';
    unsigned char out[B64_LEN / 4 * 3];
    if (EVP_DecodeBlock(out, (const unsigned char *)in, B64_LEN) !=
        (int)sizeof out)
        return false;
    memcpy(digest, out, REFRAFT_DIGEST_LEN);
    return true;
}

/* One member's value.  For sha-256 it must be a digest (found is set and
 * digest filled); other keys may have any value. */
static bool parse_value(cursor *c, bool is_sha256, uint8_t *digest, bool *found)
{
    if (*c->p != '=')
        return !is_sha256; /* a bare key is boolean true */
    c->p++;
    if (is_sha256) {
        const char *s;
        size_t n;
        if (*c->p != ':' || !parse_bytes(c, &s, &n) ||
            !decode_sha256(s, n, digest))
            return false;
        *found = true;
        return true;
    }
    return *c->p == '(' ? skip_inner_list(c) : skip_bare_item(c);
}

int refraft_wire_parse_digest(const char *header, uint8_t *digest)
{
    if (digest == NULL)
        return REFRAFT_EINVAL;
    if (header == NULL)
        return REFRAFT_EBADMSG; /* no header: no sha-256 member */
    cursor c = {header};
    uint8_t got[REFRAFT_DIGEST_LEN];
    bool found = false;
    skip_sp(&c);
    while (*c.p != '\0') {
        const char *key;
        size_t n;
        if (!parse_key(&c, &key, &n))
            return REFRAFT_EBADMSG;
        bool sha256 = n == PREFIX_LEN - 2 && memcmp(key, PREFIX, n) == 0;
        if (!parse_value(&c, sha256, got, &found) || !skip_params(&c))
            return REFRAFT_EBADMSG;
        skip_ows(&c);
        if (*c.p == '\0')
            break;
        if (*c.p != ',')
            return REFRAFT_EBADMSG;
        c.p++;
        skip_ows(&c);
        if (*c.p == '\0')
            return REFRAFT_EBADMSG; /* a trailing comma */
    }
    if (!found)
        return REFRAFT_EBADMSG;
    memcpy(digest, got, REFRAFT_DIGEST_LEN);
    return 0;
}
