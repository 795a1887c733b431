/* xfer.h - one HTTP exchange with a node over a reusable libcurl handle. */
#ifndef REFRAFT_CLI_XFER_H
#define REFRAFT_CLI_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define CLI_URL_MAX 1024
/* The largest record a node takes (its 413 limit), and so the largest
 * body GET /v1/records/{id} can answer. */
#define CLI_RECORD_MAX (16u * 1024u * 1024u)
/* Answers other than records (JSON) are far smaller than this. */
#define CLI_JSON_MAX (1024u * 1024u)

/*
 * A cli_xfer owns one libcurl easy handle and the answer to the last
 * request made with it.  The handle is kept across requests so that its
 * connection to the node stays open (curl_easy_reset keeps live
 * connections); when the handle runs inside a multi handle, the multi's
 * connection pool does the same.
 *
 * Use: cli_xfer_init once; per request cli_xfer_get or cli_xfer_post,
 * then either cli_xfer_perform (blocking) or add x->easy to a multi handle
 * and call cli_xfer_finish with the transfer's result; read the fields;
 * cli_xfer_free at the end.
 */
typedef struct cli_xfer {
    CURL *easy;
    struct curl_slist *headers;
    size_t max_body;
    /* The answer.  body is NUL-terminated (not counted in len) and owned
     * by the xfer until the next request or cli_xfer_free. */
    long status; /* HTTP status; 0 when none came (see error) */
    char *body;
    size_t len;
    bool too_big; /* the body went past max_body: the transfer failed */
    char location[CLI_URL_MAX];       /* absolute URL of a redirect, or "" */
    char leader[256];                 /* Refraft-Leader, or "" */
    char repr_digest[256];            /* Repr-Digest, or "" */
    unsigned retry_after;             /* Retry-After seconds; 0 when absent */
    char error[CURL_ERROR_SIZE + 64]; /* why status is 0 */
    char curl_errbuf[CURL_ERROR_SIZE];
    size_t cap;
} cli_xfer;

/* Returns 0, or -1 when libcurl could not make a handle. */
int cli_xfer_init(cli_xfer *x, size_t max_body);
void cli_xfer_free(cli_xfer *x);

/* Prepare a GET of url.  timeout_ms bounds the whole exchange. */
void cli_xfer_get(cli_xfer *x, const char *url, long timeout_ms);
/* Prepare a POST of len bytes at body (not copied: they must stay valid
 * until the exchange is over) with extra headers ("Name: value", NULL
 * terminated; NULL for none). */
void cli_xfer_post(cli_xfer *x, const char *url, const void *body, size_t len,
                   const char *const *headers, long timeout_ms);

/* Send the prepared request with another method ("DELETE"): call after
 * cli_xfer_get or cli_xfer_post. */
void cli_xfer_method(cli_xfer *x, const char *method);

/* Run the prepared request to its end.  Returns 0 when an answer came
 * (x->status says which), -1 when none did (x->error says why). */
int cli_xfer_perform(cli_xfer *x);
/* Record the end of a transfer run by a multi handle; the return value
 * is cli_xfer_perform's. */
int cli_xfer_finish(cli_xfer *x, CURLcode result);

/* The error text of a JSON answer {"error":"..."}, else its body, for
 * messages; never NULL. */
const char *cli_xfer_errtext(cli_xfer *x, char *buf, size_t cap);

#endif /* REFRAFT_CLI_XFER_H */
