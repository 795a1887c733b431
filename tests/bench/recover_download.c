/* recover_download.c - refraft-bench recover's baseline: the benchmark's
 * records downloaded from one node with plain libcurl over the peers'
 * batched fetch (POST /raft/v1/fetch), one request after another. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench.h"
#include "proc_cluster.h"
#include "recover.h"
#include "refraft/sweeper.h"
#include "refraft/wire.h"
#include "util.h"

#define DOWNLOAD_TIMEOUT_MS 60000L

/* The answer to one request, grown up to the body limit. */
typedef struct answer {
    uint8_t *data;
    size_t len, cap;
    bool too_big;
} answer;

static size_t take(char *data, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    size_t len = size * n;
    if (a->len + len > REFRAFT_WIRE_MAX_BODY) {
        a->too_big = true;
        return 0;
    }
    if (a->len + len > a->cap) {
        size_t cap = a->cap ? a->cap : 1u << 20;
        while (cap < a->len + len)
            cap *= 2;
        uint8_t *p = realloc(a->data, cap);
        if (p == NULL)
            return 0;
        a->data = p;
        a->cap = cap;
    }
    memcpy(a->data + a->len, data, len);
    a->len += len;
    return len;
}

/* The refs of records 1 to n: ids, sizes and digests, as the leader's
 * log names them.  ids holds n ids of PROC_ID_CAP bytes. */
static int make_refs(uint64_t n, unsigned size, refraft_ref **refs, char **ids)
{
    *refs = calloc(n, sizeof **refs);
    *ids = calloc(n, PROC_ID_CAP);
    uint8_t *bytes = malloc(size);
    if (*refs == NULL || *ids == NULL || bytes == NULL) {
        free(bytes);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        char *id = *ids + i * PROC_ID_CAP;
        refraft_ref *r = &(*refs)[i];
        r->id_len = (uint16_t)proc_record_id(i + 1, id);
        r->id = (const uint8_t *)id;
        r->size = size;
        proc_record_bytes(i + 1, bytes, size);
        cli_sha256(bytes, size, r->digest);
    }
    free(bytes);
    return 0;
}

/* How many answers, from the first, are OK with their record's bytes;
 * *bytes gets their total. */
static int count_ok(const answer *ans, const refraft_ref *refs, size_t n,
                    size_t *ok, uint64_t *bytes)
{
    refraft_wire_fetch_response res;
    char err[256];
    if (refraft_wire_decode_fetch_response(ans->data, ans->len, &res, err,
                                           sizeof err) != 0) {
        fprintf(stderr, "refraft-bench recover: a fetch response: %s\n", err);
        return -1;
    }
    *ok = 0;
    while (*ok < res.n && *ok < n &&
           res.answers[*ok].status == REFRAFT_FETCH_OK &&
           res.answers[*ok].len == refs[*ok].size)
        *bytes += res.answers[(*ok)++].len;
    int status = *ok < res.n ? res.answers[*ok].status : -1;
    refraft_wire_fetch_response_free(&res);
    if (*ok == 0) {
        fprintf(stderr,
                "refraft-bench recover: the fetch answered no record "
                "(the first answer's status: %d)\n",
                status);
        return -1;
    }
    return 0;
}

/* One POST of body; the answer in ans and the time it took added to
 * *seconds. */
static int
post(CURL *e, const refraft_wire_buf *body, answer *ans, double *seconds)
{
    ans->len = 0;
    ans->too_big = false;
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ans);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    uint64_t t0 = bench_now_us();
    CURLcode rc = curl_easy_perform(e);
    *seconds += (double)(bench_now_us() - t0) / 1e6;
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "refraft-bench recover: POST /raft/v1/fetch: %s\n",
                ans->too_big     ? "an answer over the body limit"
                : rc != CURLE_OK ? curl_easy_strerror(rc)
                                 : "not 200");
        if (rc == CURLE_OK)
            fprintf(stderr, "  status %ld: %.*s\n", status,
                    (int)(ans->len < 300 ? ans->len : 300),
                    ans->len > 0 ? (const char *)ans->data : "");
        return -1;
    }
    return 0;
}

static struct curl_slist *headers(const recover_asker *who)
{
    char auth[512], node[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", who->token);
    snprintf(node, sizeof node, "Refraft-Node: %s", who->id);
    const char *const all[] = {
        auth, node, "Content-Type: application/x-protobuf", "Expect:"};
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct curl_slist *s = curl_slist_append(list, all[i]);
        if (s == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = s;
    }
    return list;
}

static int fetch_all(CURL *e, const recover_asker *who, const refraft_ref *refs,
                     uint64_t n, unsigned batch, recover_download_result *out)
{
    answer ans = {0};
    int rv = 0;
    for (uint64_t next = 0; next < n && rv == 0;) {
        size_t k = n - next < batch ? (size_t)(n - next) : batch;
        refraft_wire_buf body = {0};
        if (refraft_wire_encode_fetch_request(who->id, who->term, refs + next,
                                              k, &body) != 0) {
            fprintf(stderr, "refraft-bench recover: cannot encode a fetch "
                            "request\n");
            rv = -1;
            break;
        }
        rv = post(e, &body, &ans, &out->seconds);
        refraft_wire_free(&body);
        size_t ok = 0;
        if (rv == 0)
            rv = count_ok(&ans, refs + next, k, &ok, &out->bytes);
        out->requests++;
        next += ok;
    }
    free(ans.data);
    return rv;
}

int recover_download(const char *url, const recover_asker *who, uint64_t n,
                     unsigned size, unsigned batch,
                     recover_download_result *out)
{
    memset(out, 0, sizeof *out);
    refraft_ref *refs = NULL;
    char *ids = NULL, endpoint[CLI_URL_MAX + 32];
    CURL *e = curl_easy_init();
    struct curl_slist *hdrs = headers(who);
    int rv = e != NULL && hdrs != NULL ? make_refs(n, size, &refs, &ids) : -1;
    if (rv == 0) {
        snprintf(endpoint, sizeof endpoint, "%s/raft/v1/fetch", url);
        curl_easy_setopt(e, CURLOPT_URL, endpoint);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, take);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, DOWNLOAD_TIMEOUT_MS);
        rv = fetch_all(e, who, refs, n, batch, out);
    }
    if (rv != 0 && e == NULL)
        fprintf(stderr, "refraft-bench recover: no libcurl handle\n");
    curl_slist_free_all(hdrs);
    if (e != NULL)
        curl_easy_cleanup(e);
    free(refs);
    free(ids);
    return rv;
}
