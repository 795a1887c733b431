/* member.c - `refraft member add|promote|remove|list` and `refraft
 * transfer`: membership changes and leadership transfer from the command
 * line, through any node (docs/operations.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"
#include "xfer.h"

#define DEFAULT_TIMEOUT_S 30ul
#define MAX_TIMEOUT_S 3600ul
#define MAX_HOPS 5

static void member_usage(FILE *f)
{
    fprintf(f,
            "usage: refraft member add ID URL --to URL [--timeout S]\n"
            "       refraft member promote ID --to URL [--timeout S]\n"
            "       refraft member remove ID --to URL [--timeout S]\n"
            "       refraft member list --to URL\n"
            "Change the cluster's membership through the node at --to (a "
            "follower\nsends the request on to the leader), one server at a "
            "time: add ID,\nstarted with `refraft node --join` and reachable "
            "at URL, as a learner;\npromote it to a voter once it has caught "
            "up (retried until then, for\nat most --timeout seconds, default "
            "30); remove a server; list the\nmembers.  Each change is "
            "answered once it has committed.  See\ndocs/operations.md.\n");
}

static void transfer_usage(FILE *f)
{
    fprintf(f, "usage: refraft transfer ID --to URL [--timeout S]\n"
               "Hand leadership over to the voter ID; answered once ID "
               "leads.\n");
}

/* base (trailing slashes dropped) + path into out. */
static int join_url(const char *base, const char *path, char *out, size_t cap)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%.*s%s", (int)n, base, path);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/*
 * One request, seen through to its answer: redirects to the leader are
 * followed (at most MAX_HOPS), 503 (no leader, a change under way) is
 * retried after its Retry-After, and so is 409 (the learner has not
 * caught up) when retry_lagging, all until timeout_s.  Prints the answer
 * of a 200 and returns CLI_EXIT_OK; otherwise prints why (prefixed with
 * who) and returns CLI_EXIT_FAIL.
 */
static int exchange(const char *to, const char *method, const char *path,
                    const char *body, unsigned long timeout_s,
                    bool retry_lagging, const char *who)
{
    cli_xfer x;
    char at[CLI_URL_MAX], msg[512];
    if (cli_xfer_init(&x, CLI_JSON_MAX) != 0) {
        fprintf(stderr, "refraft %s: libcurl failed to start\n", who);
        return CLI_EXIT_FAIL;
    }
    int rv = CLI_EXIT_FAIL;
    if (join_url(to, path, at, sizeof(at)) != 0) {
        fprintf(stderr, "refraft %s: URL too long\n", who);
        goto out;
    }
    uint64_t deadline = cli_now_ms() + timeout_s * 1000u;
    int hops = 0;
    for (;;) {
        uint64_t now = cli_now_ms();
        long left = now < deadline ? (long)(deadline - now) : 1;
        if (strcmp(method, "GET") == 0) {
            cli_xfer_get(&x, at, left);
        } else {
            cli_xfer_post(&x, at, body != NULL ? body : "",
                          body != NULL ? strlen(body) : 0, NULL, left);
            if (strcmp(method, "POST") != 0)
                cli_xfer_method(&x, method);
        }
        if (cli_xfer_perform(&x) != 0) {
            fprintf(stderr, "refraft %s: %s: %s\n", who, at, x.error);
            goto out;
        }
        if ((x.status == 307 || x.status == 308) && x.location[0] != '\0') {
            if (++hops > MAX_HOPS) {
                fprintf(stderr, "refraft %s: more than %d redirects\n", who,
                        MAX_HOPS);
                goto out;
            }
            snprintf(at, sizeof(at), "%s", x.location);
            continue;
        }
        bool again = x.status == 503 || (x.status == 409 && retry_lagging);
        if (again && cli_now_ms() < deadline && !cli_interrupted) {
            cli_sleep_ms(x.retry_after > 0 ? 1000u * x.retry_after : 500u);
            continue;
        }
        break;
    }
    if (x.status == 200) {
        fwrite(x.body, 1, x.len, stdout);
        if (x.len == 0 || x.body[x.len - 1] != '\n')
            putchar('\n');
        rv = CLI_EXIT_OK;
    } else {
        fprintf(stderr, "refraft %s: %ld %s\n", who, x.status,
                cli_xfer_errtext(&x, msg, sizeof(msg)));
    }
out:
    cli_xfer_free(&x);
    return rv;
}

/* --to and --timeout; the rest are positional.  Returns 0, or the exit
 * status of a usage error or of --help. */
static int parse_opts(int argc, char **argv, void (*usage)(FILE *),
                      const char **to, unsigned long *timeout_s, int *done)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    *done = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            *to = optarg;
            break;
        case 'T':
            if (cli_parse_uint("--timeout", optarg, 1, MAX_TIMEOUT_S,
                               timeout_s) != 0) {
                *done = 1;
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            *done = 1;
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            *done = 1;
            return CLI_EXIT_USAGE;
        }
    }
    if (*to == NULL) {
        fprintf(stderr, "refraft: --to URL is required\n");
        usage(stderr);
        *done = 1;
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* A node id as the node takes it: 1..64 printable ASCII, no spaces, and
 * none of the characters JSON would need escaped. */
static bool id_ok(const char *id, const char *what)
{
    size_t n = strlen(id);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = id[i] > 0x20 && id[i] < 0x7f && id[i] != '"' && id[i] != '\\';
    if (!ok)
        fprintf(stderr,
                "refraft: %s \"%s\" is not a node id (1 to 64 printable "
                "ASCII characters, no spaces, quotes or backslashes)\n",
                what, id);
    return ok;
}

/* "/v1/members/<id, percent-encoded><suffix>" into out. */
static int
member_path(const char *id, const char *suffix, char *out, size_t cap)
{
    CURL *e = curl_easy_init();
    char *esc = e != NULL ? curl_easy_escape(e, id, (int)strlen(id)) : NULL;
    int w =
        esc != NULL ? snprintf(out, cap, "/v1/members/%s%s", esc, suffix) : -1;
    curl_free(esc);
    if (e != NULL)
        curl_easy_cleanup(e);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int cli_cmd_member(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        member_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    const char *to = NULL;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    int done;
    int rv =
        parse_opts(argc - 1, argv + 1, member_usage, &to, &timeout_s, &done);
    if (done)
        return rv;
    char **pos = argv + 1 + optind;
    int npos = argc - 1 - optind;
    char path[512], body[1024];
    if (strcmp(sub, "list") == 0 && npos == 0)
        return exchange(to, "GET", "/v1/members", NULL, timeout_s, false,
                        "member list");
    if (strcmp(sub, "add") == 0 && npos == 2) {
        if (!id_ok(pos[0], "ID"))
            return CLI_EXIT_USAGE;
        if (strncmp(pos[1], "http://", 7) != 0 &&
            strncmp(pos[1], "https://", 8) != 0) {
            fprintf(stderr,
                    "refraft member add: URL \"%s\" must be "
                    "http(s)://HOST[:PORT], the new node's --url\n",
                    pos[1]);
            return CLI_EXIT_USAGE;
        }
        if (strpbrk(pos[1], "\"\\ ") != NULL ||
            snprintf(body, sizeof(body), "{\"id\":\"%s\",\"url\":\"%s\"}",
                     pos[0], pos[1]) >= (int)sizeof(body)) {
            fprintf(stderr, "refraft member add: bad URL \"%s\"\n", pos[1]);
            return CLI_EXIT_USAGE;
        }
        return exchange(to, "POST", "/v1/members", body, timeout_s, false,
                        "member add");
    }
    bool promote = strcmp(sub, "promote") == 0;
    if ((promote || strcmp(sub, "remove") == 0) && npos == 1) {
        if (!id_ok(pos[0], "ID") ||
            member_path(pos[0], promote ? "/promote" : "", path,
                        sizeof(path)) != 0)
            return CLI_EXIT_USAGE;
        return exchange(to, promote ? "POST" : "DELETE", path, NULL, timeout_s,
                        promote, promote ? "member promote" : "member remove");
    }
    if (strcmp(sub, "add") != 0 && strcmp(sub, "promote") != 0 &&
        strcmp(sub, "remove") != 0 && strcmp(sub, "list") != 0)
        fprintf(stderr, "refraft member: unknown subcommand \"%s\"\n", sub);
    else
        fprintf(stderr, "refraft member %s: wrong number of arguments\n", sub);
    member_usage(stderr);
    return CLI_EXIT_USAGE;
}

int cli_cmd_transfer(int argc, char **argv)
{
    const char *to = NULL;
    unsigned long timeout_s = DEFAULT_TIMEOUT_S;
    int done;
    int rv = parse_opts(argc, argv, transfer_usage, &to, &timeout_s, &done);
    if (done)
        return rv;
    if (argc - optind != 1) {
        fprintf(stderr, "refraft transfer: name one voter to hand over to\n");
        transfer_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *id = argv[optind];
    char body[256];
    if (!id_ok(id, "ID"))
        return CLI_EXIT_USAGE;
    snprintf(body, sizeof(body), "{\"to\":\"%s\"}", id);
    return exchange(to, "POST", "/v1/transfer", body, timeout_s, false,
                    "transfer");
}
