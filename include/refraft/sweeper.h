/* sweeper.h - the sweeper: finds log entries whose record is missing here
 * and fetches the records from peers. */
#ifndef REFRAFT_SWEEPER_H
#define REFRAFT_SWEEPER_H

#include "refraft/refraft.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A node's log can run ahead of its records: a follower that crashed
 * between storing an entry and its record, lagged behind the leader's
 * pushes, or lost its record store.  The sweeper repairs that.  It runs on
 * the node's thread, on a timer and whenever the node says an append left
 * records missing (REFRAFT_EVENT_DATA: call refraft_sweeper_kick).  Each
 * pass it:
 *
 *  - scans the entries past the node's data index (batched presence checks
 *    through the record store), skipping entries a VOID already abandons;
 *  - asks for each missing record, one peer at a time: the leader first,
 *    then the peers whose reported data index covers the entry (or is not
 *    known yet), then the others (a data index below the entry says only
 *    that some earlier record is missing there, and a record lost before
 *    commit keeps every node's data index below it, so hole filling needs
 *    their answers too); at most max_in_flight fetches at a time, through
 *    the fetcher;
 *  - checks each answer's size and SHA-256 against the reference (a
 *    mismatch is rejected, counted, and the next peer asked), stores it,
 *    and tells the node (refraft_records_stored), which advances its data
 *    index and reports it to the leader at once;
 *  - retries a record nobody gave it after an exponential backoff with
 *    jitter; on the leader, voids an uncommitted entry whose record a
 *    majority lacks (refraft_void); reports a committed entry whose record
 *    no reachable node has as unrecoverable (never applied, never
 *    skipped: it keeps asking);
 *  - collects orphans: records stored for entries that were later
 *    discarded, once no log entry names them and orphan_grace_ms passed.
 *
 * docs/edge-cases.md lists every case and its test.  Not thread-safe: call
 * everything from the node's thread.  Every function returns 0 or a
 * refraft error code and on error changes nothing.
 */

typedef struct refraft_sweeper refraft_sweeper;

/* A peer's answer to a fetch, and the sweeper's answer to a peer. */
typedef enum refraft_fetch_status {
    /* The record's bytes (not yet verified by the asker). */
    REFRAFT_FETCH_OK = 0,
    /* The peer does not hold the record and vouches for it: it never lost
     * records it had, and it answered in the asker's term. */
    REFRAFT_FETCH_ABSENT = 1,
    /* The peer does not hold the record and cannot vouch for it (it lost
     * its record store and has not caught up, or is in another term). */
    REFRAFT_FETCH_UNKNOWN = 2,
    /* No answer: unreachable, timed out, refused, malformed. */
    REFRAFT_FETCH_FAILED = 3
} refraft_fetch_status;

/* One fetch the sweeper asks the fetcher to make. */
typedef struct refraft_fetch_request {
    uint64_t token;      /* names the fetch in refraft_sweeper_on_fetch */
    const char *peer_id; /* whom to ask */
    const refraft_ref *ref;
    refraft_index index; /* the entry that names the record */
    refraft_term term;   /* the asker's term: ABSENT counts only in it */
} refraft_fetch_request;

/*
 * How records travel: the HTTP fetcher (POST /raft/v1/fetch, many records
 * per request), the simulator's, or the application's.  start() begins
 * one fetch and returns 0; the answer comes later through
 * refraft_sweeper_on_fetch() or refraft_sweeper_on_fetches() from the
 * host's event loop (never from inside start).  A non-zero return counts
 * as REFRAFT_FETCH_FAILED at once.  The request and its strings are valid
 * only during the call.  cancel() (optional) abandons a fetch started and
 * not yet answered; its answer, if it still comes, is ignored.
 *
 * flush() (optional) lets a fetcher gather the fetches of one pass into
 * few requests: the sweeper calls it at the end of every tick, on_fetch
 * and on_fetches that started fetches, and a fetcher that held requests
 * back sends them then.  start() may hold a request back only until the
 * next flush().
 */
typedef struct refraft_fetcher {
    void *ctx;
    int (*start)(void *ctx, const refraft_fetch_request *req);
    void (*cancel)(void *ctx, uint64_t token);
    void (*flush)(void *ctx);
} refraft_fetcher;

/* A fetch's answer.  bytes (len bytes) for REFRAFT_FETCH_OK only; the
 * sweeper copies what it keeps. */
typedef struct refraft_fetch_result {
    uint64_t token;
    int status; /* refraft_fetch_status */
    const void *bytes;
    size_t len;
    /* The responder's data index when it said (0: not known). */
    refraft_index peer_data_index;
} refraft_fetch_result;

/*
 * Where the node's records live (refstore_record_store() adapts refstore).
 * have: as refraft_hull.have_records.  put: store a record the sweeper
 * verified, durable on return.  remove (optional; orphans are kept when
 * NULL): delete the record stored under id.  clear_lost (optional): the
 * records lost up to lost_upto are all back; forget it durably, so a
 * restart no longer answers UNKNOWN for them.
 *
 * put_batch (optional): store n verified records (bytes[i] holds
 * refs[i].size bytes) in one durable write, as refstore_record_put_batch
 * does.  results[i] is 0 or the error for record i alone (REFRAFT_EDIGEST:
 * a different record holds its id); the return is 0, or an error that
 * stored none of them (results then all say it).  The sweeper uses it for
 * the records of one on_fetches() call, so a recovery costs one sync per
 * batch rather than one per record.
 */
typedef struct refraft_record_store {
    void *ctx;
    int (*have)(void *ctx, const refraft_ref *refs, size_t n, bool *present);
    int (*put)(void *ctx, const refraft_ref *ref, const void *bytes,
               size_t len);
    int (*remove)(void *ctx, const uint8_t *id, size_t id_len);
    int (*clear_lost)(void *ctx);
    int (*put_batch)(void *ctx, const refraft_ref *refs,
                     const void *const *bytes, size_t n, int *results);
} refraft_record_store;

/* Settings.  Zero fields take the documented default. */
typedef struct refraft_sweeper_config {
    refraft_node *node; /* required; must outlive the sweeper */
    /* The node's log, to read entries past its data index and to look for
     * names of orphan candidates.  Required. */
    refraft_log_api log;
    refraft_record_store store; /* have and put required */
    refraft_fetcher fetcher;    /* start required */
    /* Monotonic milliseconds and 64 random bits (backoff jitter), usually
     * the node's hull functions.  Required. */
    void *clock_ctx;
    uint64_t (*now_ms)(void *clock_ctx);
    uint64_t (*random)(void *clock_ctx);
    /* Scan period while nothing is missing.  Default 1000 ms. */
    uint32_t interval_ms;
    /* Fetches in flight at once.  Default 16, at most 4096. */
    uint32_t max_in_flight;
    /* Missing records tracked at once (the rest wait for a later scan).
     * Default 1024, at least max_in_flight. */
    uint32_t max_missing;
    /* Entries per presence check.  Default 256. */
    uint32_t scan_batch;
    /* Backoff after a round in which no peer had a record: starts at
     * backoff_min_ms and doubles up to backoff_max_ms, each wait drawn
     * from [b/2, b).  Defaults 50 ms and 10000 ms. */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    /* How long a record of a discarded entry is kept before it may be
     * collected.  Default 60000 ms. */
    uint32_t orphan_grace_ms;
    /* Records of entries up to this index may have been lost (the host
     * found its record store replaced: its identity differs from the one
     * the log recorded, and it persisted this index before starting).
     * Until every entry up to it is settled here again (the node's data
     * index reached it) and applied, and every record the reference
     * state names below the log's first index is back (snapshot_read),
     * the sweeper answers UNKNOWN, never ABSENT, for a record it lacks,
     * and as leader does not count itself among the nodes that lack a
     * record; then it calls store.clear_lost.  The data index is what
     * counts: an application whose state survived restarts with
     * everything applied while the records are still missing.  0:
     * nothing lost. */
    refraft_index lost_upto;
    /* A committed entry's record is missing on every node that answered
     * (reported once per index; see refraft_sweeper_stats).  Optional. */
    void *app_ctx;
    void (*on_unrecoverable)(void *app_ctx, refraft_index index,
                             const refraft_ref *ref);
    /* How long a record found missing is waited for before the first
     * fetch: where the application sends records along with (or just
     * ahead of) the entries naming them, a record found missing has
     * usually only not arrived yet, and fetching it would copy it twice.
     * A record that arrives meanwhile is never fetched.  Records of
     * entries up to lost_upto are known lost: they are fetched at once.
     * Default 0: at once. */
    uint32_t fetch_delay_ms;
    /*
     * The application's reference state, read as refraft_hull's
     * snapshot_read reads it (same contract: references in (after, last]
     * in index order, fewer than max only at the end, ids valid until the
     * next call).  Records named only by references below the log's
     * first index (compacted, or from an installed snapshot) are found
     * through it:
     *
     *  - while lost_upto reaches below the log (after
     *    refraft_sweeper_snapshot_installed, or a lost record store in a
     *    compacted log), the sweeper reads the state at min(lost_upto,
     *    log base) in chunks of scan_batch, from a cursor kept across
     *    ticks (at most max_missing references per tick), checks which
     *    records are here (store.have) and fetches the others as it does
     *    a committed entry's (fetch_request.index is the reference's
     *    entry index; leader first, then peers; never voided; reported
     *    unrecoverable when no peer has it).  Missing records wait in the
     *    same bounded table as log entries' (max_missing), the log's
     *    first.  Lost mode ends only once the log's entries up to
     *    lost_upto are settled and applied and one whole pass over the
     *    state wanted every missing record and all of them are back;
     *  - orphan collection counts the names in the state at the log's
     *    base as well as the log's entries.
     *
     * References out of order or range, or with a bad id, are refused
     * (REFRAFT_ECORRUPT from the tick); a failed read is retried after
     * interval_ms.  Optional, but without it, once the log's base is
     * above 0: lost mode cannot end while lost_upto reaches below the
     * log (those records cannot be checked, so the node keeps answering
     * UNKNOWN), and orphans are never deleted (none can be shown
     * unnamed).
     */
    void *snapshot_ctx;
    int (*snapshot_read)(void *snapshot_ctx, refraft_index last,
                         refraft_index after, refraft_snapshot_ref *out,
                         size_t max, size_t *n);
} refraft_sweeper_config;

/*
 * Create a sweeper for a node.  The config is copied; the contexts it
 * points to must outlive the sweeper.  REFRAFT_EINVAL (errbuf says which
 * field) or REFRAFT_ENOMEM; *out is untouched on error.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_sweeper_create(const refraft_sweeper_config *config,
                       refraft_sweeper **out, char *errbuf, size_t errbuf_len);

/* Cancel the fetches in flight (fetcher.cancel) and free the sweeper.
 * NULL is allowed. */
REFRAFT_API void refraft_sweeper_destroy(refraft_sweeper *sw);

/*
 * Do what is due: end lost mode, scan, start fetches, retry, void, collect
 * orphans.  Call it at refraft_sweeper_next_deadline() or earlier.
 * Returns 0, or the first error from the log or the record store (or
 * REFRAFT_ENOMEM): the step that failed stopped there and is retried (a
 * scan at the next kick or periodic pass, orphan collection after
 * interval_ms), and the other steps still ran, so fetches go on.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refraft_sweeper_tick(refraft_sweeper *sw);

/* Hull time (ms) at which refraft_sweeper_tick() next has work. */
REFRAFT_API uint64_t refraft_sweeper_next_deadline(const refraft_sweeper *sw);

/* Make the next tick due now.  Changes nothing else, so it may be called
 * from inside the node's callbacks (on REFRAFT_EVENT_DATA). */
REFRAFT_API void refraft_sweeper_kick(refraft_sweeper *sw);

/*
 * The node installed a snapshot up to last_index (hull.snapshot_install):
 * the records its references name may be missing here.  The sweeper
 * enters lost mode up to last_index (lost_upto, raised, never lowered):
 * it answers UNKNOWN for records it lacks and fetches them through
 * snapshot_read, as after a lost record store; its pass over the state
 * starts over at the next tick (which this makes due).  The host persists
 * the index with the install (refstore raises records_lost_upto in the
 * same transaction), and passes it as lost_upto when it starts again
 * before the records are all back; store.clear_lost ends it.  May be
 * called from inside the node's callbacks.  REFRAFT_EINVAL for a NULL
 * sweeper or last_index 0 (nothing changes).
 */
REFRAFT_API int refraft_sweeper_snapshot_installed(refraft_sweeper *sw,
                                                   refraft_index last_index);

/*
 * The answer to a fetch the sweeper started.  Unknown or cancelled tokens
 * are ignored (0).  An OK answer whose size or digest does not match is
 * rejected (counted in digest_failures) and the next peer asked; one that
 * matches is stored and the node told.  Must not be called from inside
 * the node's callbacks or the fetcher's start().  Errors from the record
 * store or the node are returned; the record is then asked for again.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_sweeper_on_fetch(refraft_sweeper *sw,
                         const refraft_fetch_result *result);

/*
 * n answers at once (a batched request's), handled as n on_fetch calls
 * would be, except that the records that verified are stored together
 * (store.put_batch when set) and the node is told once.  Returns the
 * first error; every answer is still taken (a record that could not be
 * stored is asked for again).
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refraft_sweeper_on_fetches(refraft_sweeper *sw,
                           const refraft_fetch_result *results, size_t n);

/* The node discarded the entry at index (hull.on_discard): its record, if
 * stored, becomes an orphan candidate, and a fetch for it stops.  May be
 * called from inside the node's callbacks.  REFRAFT_ENOMEM when the
 * candidate could not be remembered (the record is then never
 * collected). */
REFRAFT_API int refraft_sweeper_on_discard(refraft_sweeper *sw,
                                           refraft_index index,
                                           const refraft_entry *entry);

/*
 * How to answer a peer asking for ref's record in term asker_term:
 * REFRAFT_FETCH_OK when it is stored here (the caller reads and sends the
 * bytes), REFRAFT_FETCH_ABSENT when it is not and this node can vouch for
 * it (it lost no records it has not recovered, and asker_term is its
 * current term), REFRAFT_FETCH_UNKNOWN otherwise, and
 * REFRAFT_FETCH_FAILED when the record store could not be read.
 */
REFRAFT_API int refraft_sweeper_answer(refraft_sweeper *sw,
                                       const refraft_ref *ref,
                                       refraft_term asker_term);

/* Counters a host can read (monitoring, GET /v1/status). */
typedef struct refraft_sweeper_stats {
    uint64_t missing;         /* records known missing now */
    uint64_t in_flight;       /* fetches started, not yet answered */
    uint64_t fetched;         /* records fetched, verified and stored */
    uint64_t bytes_fetched;   /* their bytes */
    uint64_t digest_failures; /* answers whose size or digest was wrong */
    uint64_t fetch_failures;  /* answers FAILED (no answer at all) */
    uint64_t unrecoverable;   /* committed entries no node had, now */
    uint64_t voided;          /* VOIDs this node appended as leader */
    uint64_t orphans_collected;
    uint64_t scans;          /* passes over the entries past data index */
    refraft_index lost_upto; /* 0 once the lost records are back */
} refraft_sweeper_stats;

REFRAFT_API void refraft_sweeper_get_stats(const refraft_sweeper *sw,
                                           refraft_sweeper_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* REFRAFT_SWEEPER_H */
