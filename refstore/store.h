/* store.h - refstore's internal state and what its source files share. */
#ifndef REFRAFT_REFSTORE_STORE_H
#define REFRAFT_REFSTORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refraft/refstore.h"

/* Database names and meta keys: the on-disk format, documented in
 * refstore.h.  Changing any of them needs a new REFSTORE_FORMAT_VERSION. */
#define DB_LOG "log"
#define DB_META "meta"
#define DB_RECORDS "records"
#define DB_RECORD_DIGESTS "record_digests"
#define DB_MAP "map"
#define META_FORMAT "format_version"
#define META_CLUSTER "cluster_id"
#define META_NODE "node_id"
#define META_HARD_STATE "hard_state"
#define META_APPLIED "applied_index"
#define META_DATA "data_index"
#define META_RECORDS_IDENTITY "records_identity"
#define META_RECORDS_LOST "records_lost_upto"
#define META_BASE "log_base"

/* The records database's identity (lost.c): RECORDS_IDENTITY_LEN random
 * bytes, kept in meta, in the records database and in record_digests,
 * under a key of IDENTITY_KEY_LEN bytes, one more than any record id can
 * have, so that no record or digest ever takes its place or is mistaken
 * for it. */
#define RECORDS_IDENTITY_LEN 16
#define IDENTITY_KEY_LEN (REFRAFT_RECORD_ID_MAX + 1)
#define IDENTITY_KEY_PREFIX "refraft:records-identity"

/* A record_digests value: the SHA-256 digest of the record stored under
 * the same id in records, then its size (8 bytes, big-endian). */
#define DIGEST_VALUE_LEN (REFRAFT_DIGEST_LEN + 8)

/* Formats this library reads: STORE_FORMAT_FIRST to
 * REFSTORE_FORMAT_VERSION, what a new store records.  Format 1 is the
 * first.  Format 2 is format 1 with CONFIG entries in the
 * log: the transaction that stores a store's first CONFIG entry moves it
 * to 2 (log.c), so that a library that reads only format 1 refuses the
 * store at open rather than running on a log whose configuration it
 * cannot read. */
#define STORE_FORMAT_FIRST 1
#define STORE_FORMAT_CONFIG 2
/* Format 3 is format 2 with a base in meta (META_BASE): the log starts
 * after it, not at index 1.  The transaction that writes a store's first
 * base (a compaction or an install: snapshot.c) moves it to 3, so that a
 * library that reads formats 1 and 2 refuses the store at open rather
 * than finding its log corrupt, or running without the entries it lost. */
#define STORE_FORMAT_BASE 3
/* Format 4 is format 3 with the records identity under a key that sorts
 * first (lost.c).  New stores are created at format 4; older ones keep
 * their format and their key. */
#define STORE_FORMAT_IDENTITY_FIRST 4
_Static_assert(REFSTORE_FORMAT_VERSION == STORE_FORMAT_IDENTITY_FIRST,
               "a new store has the newest format");

/* A log value (log.c): term (8), type (1), then what the type carries.
 * NOOP, REF and VOID: size (8), digest (32), then the record id. */
#define LOG_HEAD_LEN (8 + 1 + 8 + REFRAFT_DIGEST_LEN)
#define LOG_REF_VALUE_MAX (LOG_HEAD_LEN + REFRAFT_RECORD_ID_MAX)
/* CONFIG: its layout (1), the member count (1), then for each member
 * flags (1), id length (1), address length (1), the id, the address. */
#define LOG_CONFIG_HEAD_LEN (8 + 1 + 1 + 1)
#define LOG_MEMBER_HEAD_LEN 3
#define LOG_CONFIG_VALUE_MAX                                                   \
    (LOG_CONFIG_HEAD_LEN +                                                     \
     REFRAFT_MAX_PEERS *                                                       \
         (LOG_MEMBER_HEAD_LEN + REFRAFT_ID_MAX + REFRAFT_ADDRESS_MAX))
#define LOG_VALUE_MAX                                                          \
    (LOG_REF_VALUE_MAX > LOG_CONFIG_VALUE_MAX ? LOG_REF_VALUE_MAX              \
                                              : LOG_CONFIG_VALUE_MAX)
/* A CONFIG entry's strings, decoded: each id and address with its NUL. */
#define LOG_MEMBER_STRINGS_MAX                                                 \
    (REFRAFT_MAX_PEERS * (REFRAFT_ID_MAX + 1 + REFRAFT_ADDRESS_MAX + 1))

/* Room for what one decoded entry points to: its record id, or its
 * members and their strings. */
typedef struct log_entry_buf {
    uint8_t id[REFRAFT_RECORD_ID_MAX];
    refraft_member members[REFRAFT_MAX_PEERS];
    char strings[LOG_MEMBER_STRINGS_MAX];
} log_entry_buf;

/* URLs in the cluster map. */
#define MAP_URL_MAX 1024

/* An operation on a transaction: returns 0 or a refraft error code. */
typedef int (*txn_fn)(refstore *store, MDB_txn *txn, void *arg);

struct refstore {
    MDB_env *env;
    MDB_dbi db_log;
    MDB_dbi db_meta;
    MDB_dbi db_records;
    MDB_dbi db_record_digests; /* id -> digest and size (records.c) */
    MDB_dbi db_map;

    /* Transactions (txn.c).  top is the one write transaction the store
     * keeps open between calls, holding applies not yet committed;
     * propose, a child of top, holds refstore_propose's records until the
     * log append commits them.  reader is reused for reads when no write
     * transaction is open, reset between calls.  run, a child of top,
     * holds the applies made since the last other operation (the apply
     * run); run_from is the applied index in top when it began. */
    MDB_txn *top;
    MDB_txn *propose;
    MDB_txn *run;
    refraft_index run_from;
    MDB_txn *reader;
    bool propose_lost; /* growing the map aborted propose */
    bool replaying;    /* applies lost with a commit are running again */
    bool map_full;     /* the operation under way ran out of map */
    bool in_callback;  /* application code is running (hooks, callbacks) */
    bool failed;       /* applies lost, or LMDB gave up: refuse all calls */

    /* The log's tail, kept in memory (loaded at open).  The log holds
     * the indexes base.last_index + 1..last_index; when it is empty,
     * last_index and last_term are the base's. */
    refraft_index last_index;
    refraft_term last_term;
    /* The log's base (snapshot.c), committed: the snapshot its first
     * entry follows, all zero for a log that never compacted.  Its
     * members point into base_buf. */
    refraft_snapshot_meta base;
    log_entry_buf base_buf;
    /* Entries staged (the log API's stage) and not yet synced: the last
     * staged ones of the tail above, written into propose or top but not
     * committed; the term before the first of them; and their encoded
     * values, one after the other (staged_len bytes), so that a sync
     * whose commit ran out of map writes them again once it has grown. */
    size_t staged;
    refraft_term staged_prev_term;
    bool staged_config; /* a CONFIG entry is among them */
    uint8_t *staged_buf;
    size_t staged_len;
    size_t staged_cap;
    /* While refstore_propose or refstore_receive runs: what wrote its
     * records into propose, to write them again in that case. */
    txn_fn records_put;
    void *records_arg;
    /* ... and the n_put_refs refs whose records it put, in its caller's
     * order: refstore_record_has knows them present without a lookup
     * (records.c).  put_cursor is where the next one is looked for. */
    const refraft_ref *put_refs;
    size_t n_put_refs;
    size_t put_cursor;
    /* What get() hands out, valid until the next log API call: the
     * CONFIG entries' members (an array of refraft_member at the start),
     * then the record ids and the members' strings (log.c).  It holds
     * the last get's alone, and grows to the largest. */
    uint8_t *arena;
    size_t arena_cap;
    /* The store's format, committed: REFSTORE_FORMAT_VERSION for a new
     * store; for an older one, the format it was written with, then
     * STORE_FORMAT_CONFIG once a CONFIG entry was stored and
     * STORE_FORMAT_BASE once a base was; never lower. */
    uint64_t format;

    refraft_index applied; /* applied index, committed */
    /* applied index in top and run (>= applied) */
    refraft_index applied_pending;
    /* Applies up to here were lost (a commit of top ran out of map, an
     * apply failed in their run); they run again (txn.c). */
    refraft_index replay_to;
    refraft_index data_index; /* committed */
    /* Records of entries up to here may have been lost (0: none),
     * committed (lost.c). */
    refraft_index records_lost_upto;

    /* Indexes applied as REFRAFT_ENTRY_ABANDONED and not yet committed,
     * ascending: their log entries are REFs, so a replay of lost applies
     * must be told (apply.c).  Entries at or below applied are dropped. */
    refraft_index *abandoned;
    size_t n_abandoned;
    size_t abandoned_cap;

    size_t map_size;
    size_t map_size_max;
    uint64_t commits;
    uint64_t map_grows;

    refstore_apply_fn apply;
    refstore_truncate_fn on_truncate;
    refstore_install_fn on_install;
    refstore_installed_fn on_installed;
    void *app_ctx;

    char *path;
    char *errmsg; /* errmsg_cap bytes, room for the path and a cause */
    size_t errmsg_cap;
};

/* ---- store.c -------------------------------------------------------- */

int store_errorf(refstore *store, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Translate LMDB's rc, saying what was being done; a full map also sets
 * store->map_full so that the transaction machinery grows it. */
int store_mdb_error(refstore *store, int rc, const char *what);
/* Start a public call: REFRAFT_EINVAL for a NULL store or a call from
 * inside a callback, REFRAFT_EFAILED for a failed store; else clears the
 * error message and returns 0. */
int store_enter(refstore *store);
/* Length of s if it is at most max bytes, else max + 1. */
size_t store_bounded_len(const char *s, size_t max);

static inline void store_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t store_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Write or read a meta key holding an integer.  get gives 0 for an
 * absent key and REFRAFT_ECORRUPT for a malformed one. */
int store_meta_put_u64(refstore *store, MDB_txn *txn, const char *key,
                       uint64_t value);
int store_meta_get_u64(refstore *store, MDB_txn *txn, const char *key,
                       uint64_t *value);

/* ---- txn.c ---------------------------------------------------------- */

/* A durable write: fn runs in a child of the current transaction, then
 * everything (pending applies, propose's records) commits, synced as the
 * sync setting says.  A full map grows and fn runs again. */
int txn_durable(refstore *store, txn_fn fn, void *arg);
/* An apply: fn runs in the apply run, a child of the open write
 * transaction, and stays there, uncommitted, until the next durable write
 * or flush.  fn must record store->applied_pending's next value, and the
 * caller moves applied_pending when it returns 0.  When fn fails, the
 * earlier applies of its run were lost with it and have run again
 * (apply_again) before this returns fn's error. */
int txn_apply(refstore *store, txn_fn fn, void *arg);
/* Make the applies a failed apply run left to make again (txn.c,
 * replay): before any later apply.  Returns 0, or the apply hook's error
 * (then some are still to make, and the store goes on). */
int txn_replay(refstore *store);
/* Run fn in a child of its own of the open write transaction, once: a
 * full map is left to the caller (store->map_full).  For replays. */
int txn_child(refstore *store, txn_fn fn, void *arg);
/* A read: fn runs in the open write transaction (so it sees pending
 * applies), or in the reusable read-only one. */
int txn_read(refstore *store, txn_fn fn, void *arg);
/* Commit the pending applies (or drop an empty write transaction). */
int txn_flush(refstore *store);
/* A staged write (one at a time: the caller refuses a second): fn runs
 * in a child of the current transaction, which stays open, uncommitted,
 * until txn_sync().  A full map grows and fn
 * runs again, unless that lost a propose (REFRAFT_ENOSPC). */
int txn_stage(refstore *store, txn_fn fn, void *arg);
/* Commit what txn_stage() wrote, with the propose's records and the
 * pending applies, as a durable write does.  On error the staged writes
 * are gone, and the applies fare as in any commit: replayed after a full
 * map grew, else the store fails.  A full map that can grow is not an
 * error: the entries and the records are written again and committed. */
int txn_sync(refstore *store);
/* Open the propose transaction and run fn (storing the records) in it;
 * it stays open for the log append to commit. */
int txn_propose_begin(refstore *store, txn_fn fn, void *arg);
/* Abort the propose transaction if nothing committed it; true when it was
 * committed (or lost to map growth: see store->propose_lost). */
bool txn_propose_end(refstore *store);
/* Read what application code (a hook, refstore_write's fn) returned:
 * REFRAFT_ENOSPC or MDB_MAP_FULL mean the map is full.  what names the
 * code in the error message.  The caller sets store->in_callback around
 * the call, so that the code cannot call back into the store. */
int txn_app_result(refstore *store, int rv, const char *what);
/* Run application code fn(arg, txn) in a transaction of its own nested in
 * parent, with store->in_callback set, and read its result with
 * txn_app_result().  LMDB marks a transaction that hit an error so that
 * committing it fails and marks its parent too: should the application
 * ignore an LMDB error and return 0, the failure stays within parent,
 * which the caller then aborts, and never reaches the store's open write
 * transaction and its pending applies. */
int txn_call_app(refstore *store, MDB_txn *parent,
                 int (*fn)(void *arg, MDB_txn *txn), void *arg,
                 const char *what);
/* Release the transactions; pending applies are committed when commit is
 * true, else dropped.  Before closing the environment. */
void txn_release(refstore *store, bool commit);

/* ---- log.c ---------------------------------------------------------- */

/* Load the log's base and tail into memory, checking that the log holds
 * exactly the indexes base + 1..last.  After the format is known. */
int log_load(refstore *store, MDB_txn *txn);

/* Encode a validated entry into buf (at most LOG_VALUE_MAX bytes);
 * returns its length. */
size_t log_encode(const refraft_entry *e, uint8_t *buf);
/* Decode a stored entry, checking it (REFRAFT_ECORRUPT with a message
 * naming index); its id or members go into buf.  Whatever a type does
 * not carry reads back zeroed. */
int log_decode(refstore *store, refraft_index index, const MDB_val *v,
               refraft_entry *e, log_entry_buf *buf);

/* Move the store to format (when it is below) inside txn, the
 * transaction that writes what needs it; once that commits,
 * log_raise_format() moves the in-memory copy.  Formats never go back. */
int log_note_format(refstore *store, MDB_txn *txn, uint64_t format);
void log_raise_format(refstore *store, uint64_t format);

/* Read the entry at index (in the log) into *entry; its id or members
 * point into buf. */
int log_read_entry(refstore *store, refraft_index index, refraft_entry *entry,
                   log_entry_buf *buf);

/* The staged entries were lost with their transaction: drop them from
 * the tail (nothing when none are staged). */
void log_unstage(refstore *store);
/* Write the staged entries into txn again, at the same indexes. */
int log_restage(refstore *store, MDB_txn *txn);

/* ---- snapshot.c ----------------------------------------------------- */

/* Load the base from meta into store->base (zero when there is none);
 * log_load() calls it first. */
int base_load(refstore *store, MDB_txn *txn);

/* The log API's version 5 members (refraft_log_api.compact, install,
 * base). */
int log_compact(void *ctx, const refraft_snapshot_meta *meta);
int log_install(void *ctx, const refraft_snapshot_meta *meta);
int log_base(void *ctx, refraft_snapshot_meta *out);

/* ---- apply.c -------------------------------------------------------- */

/* Apply the entry at index (the applied index + 1, read from the log)
 * again, once, in a child of top: for the replay of lost applies.  An
 * entry first applied as abandoned is applied as abandoned again. */
int apply_again(refstore *store, refraft_index index);
/* Forget the abandoned applies at or below the applied index: they are
 * committed and will never be replayed.  After every commit of top. */
void apply_forget_committed(refstore *store);

/* ---- records.c ------------------------------------------------------ */

/* Check a record against its reference (id, size, SHA-256). */
int record_check(refstore *store, const refraft_ref *ref, const void *bytes,
                 size_t len);
/* record_check() but for the digest, for bytes a caller has hashed. */
int record_check_shape(refstore *store, const refraft_ref *ref,
                       const void *bytes, size_t len);
/* Store a checked record and its digest in txn, or accept the identical
 * record there (writing its digest if that is missing or stale). */
int record_put_in(refstore *store, MDB_txn *txn, const refraft_ref *ref,
                  const void *bytes, size_t len);

/* ---- lost.c --------------------------------------------------------- */

/* At open, in the loading transaction, after the log and the indexes are
 * loaded: check the records database's identity against meta's, and
 * record a loss when they differ (or write the identity of a new store). */
int lost_check(refstore *store, MDB_txn *txn);

#endif /* REFRAFT_REFSTORE_STORE_H */
