/* put.h - storing a record: follow the redirect to the leader, wait out
 * an election. */
#ifndef REFRAFT_CLI_PUT_H
#define REFRAFT_CLI_PUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfer.h"

/* A follower's 307 names the leader; a leader that lost its place in
 * between can answer 307 again, so a few hops are allowed, no more. */
#define CLI_PUT_MAX_HOPS 5
/* Retry-After when a 503 carries none. */
#define CLI_PUT_DEFAULT_RETRY_MS 1000u

typedef enum cli_put_next {
    CLI_PUT_DONE,   /* stored: x->status is 2xx, x->body the JSON */
    CLI_PUT_AGAIN,  /* send again to p->url, not before p->not_before_ms */
    CLI_PUT_FAILED, /* p->error says why */
} cli_put_next;

/*
 * The state of one record's POST /v1/records.  The same steps serve the
 * blocking `refraft put` and the demo's concurrent writes: send to
 * p->url, hand the answer to cli_put_answer, and do what it says.
 *
 *  - 307/308: the node is a follower; Location names the leader's
 *    /v1/records.  The body is sent again there (at most
 *    CLI_PUT_MAX_HOPS hops in a row).
 *  - 503: no leader yet.  After Retry-After the request starts over at
 *    the node first asked (the next leader may be any node), until the
 *    deadline.
 *  - no answer from a node a redirect led to: the leader may have just
 *    died; start over at the first node after a short wait, until the
 *    deadline.  No answer from the first node itself is an error.
 *  - anything else is the final answer: 2xx done, other statuses failed.
 */
typedef struct cli_put {
    char origin[CLI_URL_MAX]; /* <base>/v1/records of the node asked */
    char url[CLI_URL_MAX];    /* where the next attempt goes */
    unsigned hops;
    unsigned redirects; /* in total, for reports */
    unsigned retries;   /* starts over after a 503 or a lost leader */
    uint64_t deadline_ms;
    uint64_t not_before_ms;
    char leader[256]; /* the last Refraft-Leader seen */
    /* Why the put failed; while it goes on, why it last started over.
     * Room for two URLs and a node's message. */
    char error[3072];
} cli_put;

/* Start a put against a node's base URL (http://host:port, with or
 * without a trailing slash).  Returns 0, or -1 if the URL is too long. */
int cli_put_begin(cli_put *p, const char *base_url, uint64_t timeout_ms);

/* Decide what follows the answer in x (finished with cli_xfer_finish). */
cli_put_next cli_put_answer(cli_put *p, cli_xfer *x);

/* Headers for the POST: Refraft-Record-Id when id is not NULL.  hdr
 * holds the line; out gets a NULL-terminated array (2 entries). */
void cli_put_headers(const char *id, char *hdr, size_t cap, const char *out[2]);

/* Blocking: store body (len bytes) under id (NULL: the node names it by
 * its SHA-256) through the node at base_url.  Returns CLI_PUT_DONE with
 * x holding the node's answer, or CLI_PUT_FAILED with p->error set. */
cli_put_next cli_put_run(cli_put *p, cli_xfer *x, const char *base_url,
                         const char *id, const void *body, size_t len,
                         uint64_t timeout_ms);

#endif /* REFRAFT_CLI_PUT_H */
