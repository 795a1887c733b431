/* client.c - `refraft put`, `refraft get` and `refraft status`: one
 * node's client API from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jsonget.h"
#include "put.h"
#include "util.h"
#include "xfer.h"

#define DEFAULT_TIMEOUT_S 30ul
#define MAX_TIMEOUT_S 3600ul
/* GETs are sent to any node and need no redirect, but a node may one day
 * send a client elsewhere; follow as put does. */
#define GET_MAX_HOPS 5

int cli_parse_uint(const char *opt, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
        v > max) {
        fprintf(stderr,
                "refraft: %s wants a whole number in %lu..%lu, not "
                "\"%s\"\n",
                opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void put_usage(FILE *f)
{
    fprintf(f, "usage: refraft put --to URL [--id ID] [--timeout S] FILE|-\n"
               "Store FILE (or standard input) as a record through the node "
               "at URL,\nfollowing its redirect to the leader; print the "
               "node's JSON answer.\n");
}

int cli_cmd_put(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"id", required_argument, NULL, 'i'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *to = NULL, *id = NULL;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:i:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'T':
            if (cli_parse_uint("--timeout", optarg, 1, MAX_TIMEOUT_S,
                               &timeout_s))
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            put_usage(stdout);
            return CLI_EXIT_OK;
        default:
            put_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (to == NULL || optind != argc - 1) {
        put_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    uint8_t *body;
    size_t len;
    char err[512];
    if (cli_read_file(argv[optind], CLI_RECORD_MAX, &body, &len, err,
                      sizeof(err)) != 0) {
        fprintf(stderr, "refraft put: %s\n", err);
        return CLI_EXIT_FAIL;
    }
    if (len == 0) {
        fprintf(stderr, "refraft put: a record holds at least one byte\n");
        free(body);
        return CLI_EXIT_FAIL;
    }
    int rv = CLI_EXIT_FAIL;
    cli_xfer x;
    cli_put p;
    if (cli_xfer_init(&x, CLI_JSON_MAX) != 0) {
        fprintf(stderr, "refraft put: libcurl failed to start\n");
        goto out_after_body;
    }
    if (cli_put_run(&p, &x, to, id, body, len, timeout_s * 1000u) ==
        CLI_PUT_DONE) {
        fwrite(x.body, 1, x.len, stdout);
        if (x.len == 0 || x.body[x.len - 1] != '\n')
            putchar('\n');
        rv = CLI_EXIT_OK;
    } else {
        fprintf(stderr, "refraft put: %s\n", p.error);
    }
    cli_xfer_free(&x);
out_after_body:
    free(body);
    return rv;
}

static void get_usage(FILE *f)
{
    fprintf(f, "usage: refraft get --to URL [-o FILE] [--timeout S] "
               "[--consistent] ID\n"
               "Fetch record ID from the node at URL, check its bytes against "
               "the\nnode's Repr-Digest (SHA-256), and write them to FILE or "
               "standard output.\nWith --consistent the node answers once it "
               "has applied every write\nacknowledged before the request (a "
               "linearizable read, confirmed by the\nleader: ReadIndex); "
               "without it, from what it has applied so far.\nExit 1 when "
               "the record is missing, its digest does not match, or\nno "
               "leader confirmed a consistent read in time (503, 504).\n");
}

/* base + "/v1/records/" + id, percent-encoded. */
static int
record_url(CURL *easy, const char *base, const char *id, char *out, size_t cap)
{
    char *esc = curl_easy_escape(easy, id, (int)strlen(id));
    if (esc == NULL)
        return -1;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%.*s/v1/records/%s", (int)n, base, esc);
    curl_free(esc);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* GET url, following redirects; on return x holds the final answer.
 * Returns 0 when an answer came. */
static int
get_following(cli_xfer *x, const char *url, long timeout_ms, const char *who)
{
    char at[CLI_URL_MAX];
    snprintf(at, sizeof(at), "%s", url);
    for (int hops = 0;; hops++) {
        cli_xfer_get(x, at, timeout_ms);
        if (cli_xfer_perform(x) != 0) {
            fprintf(stderr, "refraft %s: %s: %s\n", who, at, x->error);
            return -1;
        }
        bool redirect = x->status == 301 || x->status == 302 ||
                        x->status == 303 || x->status == 307 ||
                        x->status == 308;
        if (!redirect || x->location[0] == '\0')
            return 0;
        if (hops == GET_MAX_HOPS) {
            fprintf(stderr, "refraft %s: more than %d redirects\n", who,
                    GET_MAX_HOPS);
            return -1;
        }
        snprintf(at, sizeof(at), "%s", x->location);
    }
}

int cli_cmd_get(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 'T'},
        {"consistent", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *to = NULL, *out = NULL;
    bool consistent = false;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:o:T:ch", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            consistent = true;
            break;
        case 'T':
            if (cli_parse_uint("--timeout", optarg, 1, MAX_TIMEOUT_S,
                               &timeout_s))
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            get_usage(stdout);
            return CLI_EXIT_OK;
        default:
            get_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (to == NULL || optind != argc - 1) {
        get_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *id = argv[optind];
    int rv = CLI_EXIT_FAIL;
    cli_xfer x;
    char url[CLI_URL_MAX], msg[256];
    if (cli_xfer_init(&x, CLI_RECORD_MAX) != 0) {
        fprintf(stderr, "refraft get: libcurl failed to start\n");
        return CLI_EXIT_FAIL;
    }
    /* GET /v1/records/{id}?consistent=1: any node serves it, a follower
     * after asking its leader for the read index (docs/http.md). */
    if (record_url(x.easy, to, id, url, sizeof(url)) != 0 ||
        (consistent && strlen(url) + sizeof "?consistent=1" > sizeof(url))) {
        fprintf(stderr, "refraft get: URL too long\n");
        goto out;
    }
    if (consistent)
        strcat(url, "?consistent=1");
    if (get_following(&x, url, (long)timeout_s * 1000, "get") != 0)
        goto out;
    if (x.status != 200) {
        fprintf(stderr, "refraft get: %s: %ld %s\n", id, x.status,
                cli_xfer_errtext(&x, msg, sizeof(msg)));
        goto out;
    }
    uint8_t digest[CLI_SHA256_LEN];
    cli_sha256(x.body, x.len, digest);
    int match = cli_repr_digest_check(x.repr_digest, digest);
    if (match < 0) {
        fprintf(stderr,
                "refraft get: %s: the answer carries no sha-256 "
                "Repr-Digest (\"%s\"); nothing written\n",
                id, x.repr_digest);
        goto out;
    }
    if (match == 0) {
        fprintf(stderr,
                "refraft get: %s: the bytes do not match the node's "
                "Repr-Digest; nothing written\n",
                id);
        goto out;
    }
    if (cli_write_file(out, x.body, x.len, 0644) != 0) {
        fprintf(stderr, "refraft get: %s: %s\n", out ? out : "stdout",
                strerror(errno));
        goto out;
    }
    rv = CLI_EXIT_OK;
out:
    cli_xfer_free(&x);
    return rv;
}

static void status_usage(FILE *f)
{
    fprintf(f, "usage: refraft status --to URL [--field NAME]\n"
               "Print the node's status (JSON), or one field of it "
               "(\"role\", \"sweeper.fetched\").\n");
}

int cli_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"field", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *to = NULL, *field = NULL;
    unsigned long timeout_s = 10;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:f:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'f':
            field = optarg;
            break;
        case 'T':
            if (cli_parse_uint("--timeout", optarg, 1, MAX_TIMEOUT_S,
                               &timeout_s))
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            status_usage(stdout);
            return CLI_EXIT_OK;
        default:
            status_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (to == NULL || optind != argc) {
        status_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int rv = CLI_EXIT_FAIL;
    cli_xfer x;
    char url[CLI_URL_MAX], msg[256];
    if (cli_xfer_init(&x, CLI_JSON_MAX) != 0) {
        fprintf(stderr, "refraft status: libcurl failed to start\n");
        return CLI_EXIT_FAIL;
    }
    size_t n = strlen(to);
    while (n > 0 && to[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s/v1/status", (int)n, to);
    if (get_following(&x, url, (long)timeout_s * 1000, "status") != 0)
        goto out;
    if (x.status != 200) {
        fprintf(stderr, "refraft status: %ld %s\n", x.status,
                cli_xfer_errtext(&x, msg, sizeof(msg)));
        goto out;
    }
    if (field != NULL) {
        char s[1024];
        uint64_t v;
        if (cli_json_str(x.body, x.len, field, s, sizeof(s)))
            printf("%s\n", s);
        else if (cli_json_u64(x.body, x.len, field, &v))
            printf("%llu\n", (unsigned long long)v);
        else {
            fprintf(stderr, "refraft status: no field \"%s\"\n", field);
            goto out;
        }
    } else {
        fwrite(x.body, 1, x.len, stdout);
        if (x.len == 0 || x.body[x.len - 1] != '\n')
            putchar('\n');
    }
    rv = CLI_EXIT_OK;
out:
    cli_xfer_free(&x);
    return rv;
}
