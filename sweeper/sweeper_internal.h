/* sweeper_internal.h - the sweeper's state, shared by its source files. */
#ifndef REFRAFT_SWEEPER_INTERNAL_H
#define REFRAFT_SWEEPER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/sweeper.h"

/* A node outside its configuration has as many peers as it has members,
 * and a leader outside the configuration counts as one more (sw_peer_id). */
#define SW_MAX_PEERS (REFRAFT_MAX_PEERS + 1)
#define SW_MAX_IN_FLIGHT 4096
/* Entries per presence check at most: scan_batch sizes the scan
 * buffers, record ids included (255 bytes each). */
#define SW_MAX_SCAN_BATCH 4096
/* Orphan candidates remembered at once: discards come only from a
 * truncated tail, so a real cluster stays far below this. */
#define SW_MAX_ORPHANS 65536

/* What a peer last answered for one wanted record (bytes that verified
 * end the want, so they are never remembered). */
enum sw_answer {
    SW_ANS_NONE = 0,
    SW_ANS_ABSENT,  /* it vouched it lacks the record */
    SW_ANS_UNKNOWN, /* it lacks the record and cannot vouch */
    SW_ANS_BAD      /* it sent bytes whose size or digest was wrong */
};

/*
 * A record known missing here: the REF entry at index names it.  Each
 * round asks the peers one at a time (the leader first) until one gives
 * the record; a round in which none did ends with hole filling (leader,
 * uncommitted), an unrecoverable report (committed, nobody has it) or
 * simply a backoff, then the next round starts at retry_at.
 */
struct sw_want {
    refraft_index index;
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    uint16_t id_len;
    uint8_t id[REFRAFT_RECORD_ID_MAX];

    uint64_t retry_at;   /* the next round may start (hull ms) */
    uint32_t attempts;   /* rounds that ended without the record */
    uint32_t asked;      /* bit p: peer p was asked in this round */
    bool round_active;   /* a round is under way */
    bool round_answered; /* a peer answered ABSENT or UNKNOWN this round */
    bool round_bad;      /* a peer sent a bad copy this round */
    bool in_flight;      /* a fetch for it is out (token) */
    bool unrecoverable;  /* counted in stats.unrecoverable */
    bool delayed;        /* its first round waited fetch_delay_ms */
    uint32_t fetch_pos;  /* while in_flight: its fetch in sw->fetches */
    uint64_t token;      /* fetch number << 32 | its slot in sw->pool */
    /* Per peer: the last answer other than FAILED, and the term of the
     * request it answered (ABSENT counts for hole filling only when that
     * term is the current one). */
    uint8_t answer[SW_MAX_PEERS];
    refraft_term answer_term[SW_MAX_PEERS];
};

/* A fetch the fetcher is making. */
struct sw_fetch {
    uint64_t token;
    uint32_t want;     /* slot in sw->pool */
    uint8_t peer;      /* peer number (refraft_peer_id order) */
    refraft_term term; /* the term the request carried */
};

/* An answer of one refraft_sweeper_on_fetches() call whose fetch was
 * ours: its want (found again by slot and index, since a want dropped
 * meanwhile must not be touched) and, when its bytes verified, the bytes
 * to store (the caller's, valid during the call). */
struct sw_taken {
    uint32_t want; /* slot in sw->pool */
    refraft_index index;
    const void *bytes; /* NULL: nothing to store, advance the round */
    size_t len;
};

/* A record whose entry was discarded: collected once no entry names it
 * and orphan_grace_ms passed since the discard. */
struct sw_orphan {
    uint64_t since;
    refraft_index index; /* where its entry was discarded */
    bool hasten;         /* ripe now: its id is wanted for another record */
    uint64_t size;
    uint8_t digest[REFRAFT_DIGEST_LEN];
    uint16_t id_len;
    uint8_t id[REFRAFT_RECORD_ID_MAX];
};

struct refraft_sweeper {
    refraft_sweeper_config cfg; /* defaults filled in */
    refraft_sweeper_stats stats;

    /* Wanted records: a pool of slots (free ones chained through
     * free_slots) and, sorted by entry index, the slots in use. */
    struct sw_want *pool;
    size_t pool_cap;
    size_t pool_used; /* slots ever handed out: [0, pool_used) */
    uint32_t *free_slots;
    size_t free_cap;
    size_t n_free;
    /* The wants' slots in index order: order[0..n_want), a window into
     * order_buf (order_cap slots), so that dropping a want near either
     * end moves only the few slots on that side (want.c). */
    uint32_t *order;
    uint32_t *order_buf;
    size_t order_cap;
    size_t n_want;

    /* Fetches in flight, packed in [0, n_fetch); each want in flight
     * knows its position (fetch_pos), and a token names its want's slot,
     * so an answer finds its fetch at once. */
    struct sw_fetch *fetches;
    size_t n_fetch;
    uint64_t next_token;
    /* Fetches started ever: a call that raised it ends with
     * fetcher.flush. */
    uint64_t n_started;

    /* refraft_sweeper_on_fetches() scratch, max_in_flight elements each:
     * a call takes at most one answer per fetch in flight, so it never
     * needs more, and storing a batch allocates nothing. */
    struct sw_taken *taken;
    refraft_ref *put_refs;
    const void **put_bytes;
    int *put_results;
    uint32_t *put_taken; /* put_refs[i] is for taken[put_taken[i]] */

    /* The configuration the per-peer state below is numbered by
     * (refraft_config_index): peers are numbered by their position in
     * it, which a membership change reshuffles. */
    refraft_index config_index;
    /* Each peer's data index as learned from fetch answers (0: not
     * known). */
    refraft_index peer_data[SW_MAX_PEERS];
    /* A peer whose last fetch got no answer is asked last until then. */
    uint64_t peer_down_until[SW_MAX_PEERS];

    /* Scan state: the next index to examine; whether the scan stopped
     * early because the want table was full; whether the pass under way
     * started from data index + 1 (a full pass, counted in stats.scans
     * when it reaches the end); when the next full pass is due. */
    refraft_index cursor;
    bool scan_more;
    bool pass_full;
    bool kicked;
    uint64_t rescan_at;
    /* Scan buffers of cfg.scan_batch elements, and room for as many
     * record ids: refs[] point into ids, not into the log's memory,
     * which the log API keeps valid only until its next call. */
    refraft_entry *entries;
    refraft_ref *refs;
    refraft_index *ref_index;
    bool *present;
    uint8_t *ids;

    /*
     * The snapshot part of lost mode: the records named by the
     * application's reference state below the log's first index (read
     * through cfg.snapshot_read), checked a batch at a time and the
     * missing ones wanted like log entries' (keyed by their entries'
     * indexes, all below the log's).  snap_last is the state the pass
     * reads (min(lost_upto, log base) when it last looked; 0: none);
     * every reference at or below snap_cursor was examined; snap_scanned
     * once the pass reached snap_last; snap_more when it stopped on a
     * full want table; snap_retry_at after a failed read.  snap_refs
     * (scan_batch of them) receives what snapshot_read hands out.
     */
    refraft_snapshot_ref *snap_refs;
    refraft_index snap_last;
    refraft_index snap_cursor;
    bool snap_scanned;
    bool snap_more;
    uint64_t snap_retry_at;

    struct sw_orphan *orphans;
    size_t n_orphans;
    size_t orphans_cap;
    uint64_t orphan_gc_at; /* UINT64_MAX when there are none */
};

uint64_t sw_now(const refraft_sweeper *sw);
/* The ref of a want; its id points into w, valid while w is. */
refraft_ref sw_want_ref(const struct sw_want *w);
/* Entries at or below this index need nothing from the sweeper: applied,
 * or settled with their records.  It is min(data index, applied index):
 * past the applied index an entry can count as settled through a VOID
 * this node will not apply it by (a deposed leader's, past the commit
 * index), and then its record is wanted after all. */
refraft_index sw_floor(const refraft_sweeper *sw);
/* The entry at index needs no record here: a VOID abandons it that this
 * node goes by: committed, or its own as leader (a leader commits nothing
 * between an entry and its VOID). */
bool sw_abandoned(const refraft_sweeper *sw, refraft_index index);

/* digest.c: *ok says whether bytes match ref's size and SHA-256.
 * REFRAFT_ENOMEM when OpenSSL could not compute the digest. */
int sw_digest_check(const refraft_ref *ref, const void *bytes, size_t len,
                    bool *ok);

/* want.c */
struct sw_want *sw_want_find(refraft_sweeper *sw, refraft_index index);
/* REFRAFT_ENOMEM when the pool could not grow (nothing changed). */
int sw_want_add(refraft_sweeper *sw, refraft_index index,
                const refraft_ref *ref);
/* Forget the want at index, cancelling its fetch. */
void sw_want_drop(refraft_sweeper *sw, refraft_index index);
/* Start fetches for wants whose round may go on, within max_in_flight. */
void sw_want_dispatch(refraft_sweeper *sw, uint64_t now);
/* The earliest retry_at of a want that is waiting (UINT64_MAX if
 * none). */
uint64_t sw_want_next_retry(const refraft_sweeper *sw);
void sw_want_cancel_all(refraft_sweeper *sw);
/* The node's configuration changed since the sweeper last looked:
 * forget everything numbered by peer position (fetches in flight, the
 * answers of rounds under way, what peers reported), so rounds start over
 * with the new peers. */
void sw_want_follow_config(refraft_sweeper *sw);
/* Let the fetcher send what it held back, if a fetch was started since
 * n_started read started_before. */
void sw_want_flush(refraft_sweeper *sw, uint64_t started_before);

/* scan.c: one scan step; restart makes it a full pass from sw_floor()
 * + 1. */
int sw_scan(refraft_sweeper *sw, bool restart);
/* The log's base: the last index below its first (0: never compacted). */
refraft_index sw_log_base(const refraft_sweeper *sw);
/* Wants at or below this index are the snapshot part's: min(lost_upto,
 * log base) in lost mode with snapshot_read, else 0. */
refraft_index sw_snapshot_keep(const refraft_sweeper *sw);
/* Whether the snapshot part has work this tick. */
bool sw_snapshot_due(const refraft_sweeper *sw, uint64_t now);
/* One step of the snapshot part's pass (at most max_missing references,
 * fewer when the want table fills up).  0 or the hook's or the store's
 * error (REFRAFT_ECORRUPT for references out of order or range, or with
 * a bad id); the step is then retried after interval_ms. */
int sw_snapshot_scan(refraft_sweeper *sw, uint64_t now);
/* Whether every record the lost references below the log name is here:
 * true when lost mode reaches no index below the log; false without
 * snapshot_read (they cannot be checked); else once a whole pass over
 * the state up to min(lost_upto, log base) wanted each missing one and
 * no want below the log is left. */
bool sw_snapshot_settled(const refraft_sweeper *sw);
/* Start the snapshot part's pass over (a new snapshot was installed). */
void sw_snapshot_restart(refraft_sweeper *sw);

/* orphans.c */
int sw_orphan_add(refraft_sweeper *sw, const refraft_ref *ref,
                  refraft_index index, uint64_t now);
int sw_orphans_collect(refraft_sweeper *sw, uint64_t now);
/* The record wanted could not be stored because another record holds
 * its id: if that one is an orphan candidate, collect it at the next
 * tick rather than after its grace.  True when there was one. */
bool sw_orphan_hasten(refraft_sweeper *sw, const refraft_ref *wanted);

#endif /* REFRAFT_SWEEPER_INTERNAL_H */
