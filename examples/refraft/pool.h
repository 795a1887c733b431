/* pool.h - many HTTP exchanges at once over libcurl's multi interface. */
#ifndef REFRAFT_CLI_POOL_H
#define REFRAFT_CLI_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfer.h"

/* One lane of the pool: a reusable exchange and the job it works on. */
typedef struct cli_slot {
    cli_xfer x;
    size_t index; /* which slot, 0..concurrency-1 (for per-slot state) */
    size_t job;   /* free for the callbacks: the job's number */
    bool busy;    /* holds a job */
    bool running; /* its transfer is in the multi handle */
    uint64_t not_before_ms; /* when a prepared transfer may start */
} cli_slot;

typedef enum cli_pool_verdict {
    CLI_POOL_FREE,  /* the job is over; the slot takes the next one */
    CLI_POOL_AGAIN, /* the callback prepared s->x again: run it once
                       s->not_before_ms has come */
    CLI_POOL_ABORT, /* stop everything: cli_pool_run returns -1 */
} cli_pool_verdict;

typedef struct cli_pool_ops {
    /* Give an idle slot its next job: prepare s->x (cli_xfer_get or
     * cli_xfer_post), set s->job and optionally s->not_before_ms.
     * Return false when there are no more jobs. */
    bool (*next)(void *ctx, cli_slot *s);
    /* s->x's transfer has ended (cli_xfer_finish has run). */
    cli_pool_verdict (*done)(void *ctx, cli_slot *s);
} cli_pool_ops;

/*
 * Run jobs with at most concurrency transfers at once (connections are
 * kept open and reused by the multi handle's pool) until next() has no
 * more and every slot is idle.  Callbacks run on the calling thread.
 * Returns 0, or -1 when a callback aborted, cli_interrupted was set or
 * libcurl failed (err says which).
 */
int cli_pool_run(size_t concurrency, size_t max_body, const cli_pool_ops *ops,
                 void *ctx, char *err, size_t errlen);

#endif /* REFRAFT_CLI_POOL_H */
