/* refstore.h - refraft's LMDB store: log, hard state, records, cluster map. */
#ifndef REFRAFT_REFSTORE_H
#define REFRAFT_REFSTORE_H

#include <lmdb.h>

#include "refraft/refraft.h"
#include "refraft/sweeper.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One LMDB environment per node, in a directory of its own, holding five
 * named databases:
 *
 *   log      index -> term, type, reference or members (the Raft log)
 *   meta     current term, voted-for, applied index, data index, format
 *            version, cluster id, node id, records identity, index up to
 *            which records were lost, the log's base (see Snapshots)
 *   records  record id -> bytes                   (the application's records)
 *   record_digests
 *            record id -> SHA-256 digest and size  (of the record under it)
 *   map      node id -> URL                       (the cluster map)
 *
 * and any databases the application opens for its own state.  Because they
 * share the environment, the application's writes can commit in the same
 * LMDB transaction as the log's: applying an entry and recording that it
 * was applied happen together or not at all (exactly-once apply), and so do
 * truncating entries and undoing what they did (DESIGN.md contract 7).
 *
 * Threads: a store is used from one thread, the one that drives its node.
 *
 * Transactions.  The store keeps at most one write transaction open.  Writes
 * that must be durable before refstore returns (log append, truncate,
 * compact and install, hard state, records, cluster map, data index, lost
 * records, refstore_write) commit it, synced as the sync setting says;
 * application writes made in the apply hook stay in it until the next durable
 * write or refstore_flush(), so applying a batch of entries costs no sync of
 * its own.  Appending K entries in one call is one commit and one sync (group
 * commit).  A crash loses only applies that were not yet committed,
 * together with their applied index: they are applied again on restart.
 * Each operation runs in a nested transaction of its own, so one that
 * fails takes back its own writes and nothing else; consecutive applies
 * share one, and a failed apply's earlier ones are made again (see the
 * apply hook).
 *
 * The application must not begin its own write transaction on the
 * environment (LMDB allows one writer, and the store may hold it): it
 * writes through the apply hook, the truncate hook or refstore_write(),
 * and reads through refstore_read() or the hooks' transaction.  Any read
 * transaction of its own must be closed before its next call into the
 * store, because growing the map requires that no transaction be open.
 *
 * Errors: every function returns 0 or a refraft error code and, on error,
 * has changed nothing; refstore_errmsg() says what was wrong.  LMDB's
 * MDB_MAP_FULL grows the map (doubling, up to map_size_max) and retries;
 * past the maximum the call fails with REFRAFT_ENOSPC and a message naming
 * the path and the size.  Other LMDB errors become REFRAFT_ENOMEM,
 * REFRAFT_ECORRUPT (MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
 * MDB_VERSION_MISMATCH, MDB_INCOMPATIBLE), REFRAFT_ETOOBIG (MDB_TXN_FULL),
 * REFRAFT_ENOSPC (a full disk) or REFRAFT_EIO, with LMDB's own text in the
 * message.  Besides the errors each function lists, any call may return
 * those, REFRAFT_EFAILED on a failed store (below), and REFRAFT_EINVAL
 * when made from inside a hook or callback of the store.
 *
 * Failure.  Committing the write transaction can run out of map too
 * (LMDB allocates pages for its free list then), taking the pending
 * applies with it while the node counts them as applied; their entries are
 * still in the log, so the store grows the map and runs the apply hook
 * for each of them again.  If that is impossible (the map is at
 * map_size_max, or the hook now fails), or the commit failed for another
 * reason (an I/O error), the applies are lost with their applied index:
 * that call returns REFRAFT_EIO and the store is failed.  Every later call
 * returns REFRAFT_EFAILED and refstore_errmsg() keeps the cause.  Close
 * the store, reopen it and recreate the node (with
 * refraft_config.applied_index = refstore_applied_index()): the lost
 * applies run again.  Nothing durable is lost.  LMDB's MDB_PANIC (after a
 * failed write of its commit record LMDB refuses every transaction) fails
 * the store the same way.
 *
 * On disk (formats 1 to 3; integers are 8-byte big-endian):
 *
 *   log      key: index.  value: term, type (1 byte), size, SHA-256
 *            digest (32 bytes), then the record id (1..255 bytes).  A REF
 *            (type 2) has all of them.  A NOOP (type 1) has no id and a
 *            zero size and digest.  A VOID (type 3) has no id, a zero
 *            digest, and its voided index (1 or more, below the entry's
 *            own index) where a REF has its size.  A CONFIG (type 5,
 *            format 2 only) has, after its term and type, a layout byte
 *            (1), the member count (1..REFRAFT_MAX_PEERS, 1 byte), then
 *            for each member a flags byte (bit 0: voter, the others 0),
 *            the id's length (1..REFRAFT_ID_MAX, 1 byte), the address's
 *            length (0..REFRAFT_ADDRESS_MAX, 1 byte), the id and the
 *            address (no NUL in either), and nothing after the last
 *            member.  Another type, a REF without an id, a NOOP or VOID
 *            with one, a VOID whose voided index is out of range, or a
 *            CONFIG that is cut short, of another layout, or whose
 *            members break refraft_entry's rules is REFRAFT_ECORRUPT
 *            when read, with a message naming the entry's index.
 *   meta     "format_version" (4 for a store created by this library;
 *            an older store's 1, 2 once a CONFIG entry was stored, 3
 *            once a base was: see REFSTORE_FORMAT_VERSION),
 *            "applied_index", "data_index",
 *            "records_lost_upto" (0 or absent: nothing lost): integers;
 *            "log_base" (format 3 only; absent: the log never compacted
 *            and starts at index 1): the base's last index (1 or more),
 *            its configuration index (at most the last index), then a
 *            log value as above whose term is the base's last term: a
 *            CONFIG entry holding the members of the configuration in
 *            effect at the last index, or a NOOP when the base has no
 *            members (only with configuration index 0, the initial
 *            configuration, which may also come with its members).  The log
 *            then holds exactly the indexes after the last index, and
 *            "applied_index" is at least the last index.  A base that is
 *            cut short or breaks these rules, or one in a store of format
 *            1 or 2, is REFRAFT_ECORRUPT at open;
 *            "cluster_id", "node_id": the strings without NUL;
 *            "hard_state": the term, then the voted-for id (may be empty);
 *            "records_identity": 16 random bytes naming the records
 *            database (see Lost records)
 *   records  key: record id.  value: the record's bytes.  Besides the
 *            records, one key of 256 bytes (a zero byte, then
 *            "refraft:records-identity", padded with zero bytes; before
 *            format 4, "refraft:records-identity" padded with zero bytes),
 *            longer than any record id, holds the same 16 bytes as meta's
 *            "records_identity"
 *   record_digests
 *            key: record id.  value: the SHA-256 digest (32 bytes) and
 *            the size of the record stored under that id in records,
 *            written and deleted in the same transaction as the record.
 *            A record without its digest here counts as absent (see
 *            refstore_record_has); a digest without its record counts for
 *            nothing.  The same 256-byte key as in records holds the
 *            records identity
 *   map      key: node id.  value: URL (neither with a NUL)
 *
 * Stores written before VOID entries, the records identity or
 * record_digests existed read as format 1 too: their first open creates
 * record_digests, names the records database and, having no identity to
 * compare, counts every entry's record as possibly lost (see Lost
 * records), which only makes the node cautious until its sweeper has
 * caught up.  Their records have no digests, so they count as absent and
 * the sweeper fetches them again; putting the same bytes again stores the
 * digest.
 *
 * Lost records.  The log and the records share one environment, but the
 * records can still be lost while the log stays (a restore of the data
 * file from an older copy of the records, a repair tool, a recovery drill
 * through refstore_records_wipe()).  A node in that state must answer
 * "unknown", never "absent", when a leader asks for a record it lacks
 * (DESIGN.md, hole filling).  So a new store names its records database
 * with 16 random bytes kept in meta, in the records database and in
 * record_digests (without its digests a record counts as absent, so
 * losing them is losing the records).  When refstore_open() finds any of
 * the three missing or different, it records, in the transaction that
 * opens the store: records_lost_upto = the log's last index (if that is
 * higher than the value kept), a data index of 0 (it vouched for records
 * that may be gone), and a fresh identity in all three places.
 * refstore_records_lost_upto() then says how far the loss reaches
 * (refraft_sweeper_config.lost_upto), and the sweeper calls
 * refstore_clear_records_lost() (record store clear_lost) once it has the
 * records back.
 */
typedef struct refstore refstore;

/* The on-disk format of a new store.  Format 2 is format 1 with CONFIG
 * entries in the log: the transaction that stores a store's first CONFIG
 * entry also moves it to format 2, and it stays there (also when a
 * truncation removes the entry), so that a library that reads only format
 * 1 refuses it rather than running on a log whose configuration it cannot
 * read.  Format 3 is format 2 with a base ("log_base" in meta): the
 * transaction that writes a store's first base (its first compaction or
 * install) moves it to format 3, from 1 or 2, and it stays there, so that
 * a library that reads formats 1 and 2 refuses it rather than taking a
 * log that starts after its base for a corrupt one.  Format 4 is format 3
 * with the records identity under a key that starts with a zero byte (see
 * records, above), so that it sorts before the record ids: a store is
 * created at format 4, and one of format 1 to 3 keeps its format and its
 * key (moving on to 2 and 3 as above), so that a library that reads
 * formats 1 to 3 refuses a store of format 4 rather than finding its
 * identity missing and counting every record lost.  (Under the old key,
 * last in the database, the identity sat after the newest ids of an
 * application that numbers its records in order; LMDB splits a page in
 * half for an insert before its last key, so every page of records and
 * digests was left half empty and each commit wrote twice the pages.)
 * This library reads formats 1 to 4; a store of another version is
 * refused with REFRAFT_EWRONGSTORE. */
#define REFSTORE_FORMAT_VERSION 4

typedef enum refstore_sync {
    /* Default.  A durable write is on stable storage when the call
     * returns: a power loss or kernel crash loses nothing acknowledged. */
    REFSTORE_SYNC_FULL = 0,
    /* LMDB's MDB_NOMETASYNC: data is synced, the commit record is not.  A
     * process crash loses nothing; a system crash may undo the last
     * transaction (a vote or an append already acknowledged), which can
     * break Raft's safety if a majority crash together.  Never corrupts. */
    REFSTORE_SYNC_NO_META = 1,
    /* LMDB's MDB_NOSYNC: nothing is synced.  A process crash loses
     * nothing; a system crash may lose any recent write or corrupt the
     * store.  For tests and benchmarks only. */
    REFSTORE_SYNC_NONE = 2
} refstore_sync;

/*
 * Apply hook: apply the committed entry at index to the application's state
 * inside txn, a transaction nested in the store's write transaction.  It
 * may read the entry's record (refstore_record_dbi) and read and write its
 * own databases.  Called from refstore_apply(), on the store's thread.
 * entry->type is what the node handed to refstore_apply(): NOOP, REF,
 * VOID (entry->voided names the entry it abandons; nothing to do for it
 * beyond what the ABANDONED apply of that entry did), CONFIG (a new
 * configuration committed, entry->members; nothing to do for the
 * application's records, but the hook may keep the members, say for the
 * cluster map), or ABANDONED: the
 * REF entry at index was abandoned by a committed VOID, its record was
 * lost, and the application treats it as a write that failed (a copy of
 * the record that turns up later is to be ignored).  When the hook runs
 * again for an index (below), it gets the same type again.
 *
 * Return 0, or a refraft error code: txn is then aborted (none of the
 * hook's writes remain), no applied index is recorded for this entry, and
 * refstore_apply() returns the code to the node, which retries the entry
 * later.  When an LMDB call fails with MDB_MAP_FULL, return REFRAFT_ENOSPC
 * (or MDB_MAP_FULL itself): the store grows the map and calls the hook
 * again in a fresh transaction.  So the hook may run more than once for an
 * index, also after it returned 0: when a commit that ran out of map lost
 * its writes (see Failure above), and when a later apply failed, because
 * consecutive applies share one transaction and a failure takes back all
 * of it (the store then runs the hook again for the earlier ones, in
 * order, before refstore_apply() returns the failure; should the hook
 * fail for one of them, that is the error returned, and the store makes
 * them again before its next apply).  Only its writes in the transaction
 * that commits count, so it should have no other lasting effects.
 *
 * txn must not be committed, aborted or kept; cursors opened on it must be
 * closed before returning.  The hook must not call refstore functions
 * other than the inspection ones (refstore_record_dbi, refstore_env,
 * refstore_path, refstore_errmsg, refstore_applied_index,
 * refstore_data_index, refstore_records_lost_upto, refstore_get_stats):
 * others return REFRAFT_EINVAL (so do the log API's calls).
 * entry, its id and its members are valid during the call only.
 */
typedef int (*refstore_apply_fn)(void *app_ctx, MDB_txn *txn,
                                 refraft_index index,
                                 const refraft_entry *entry);

/*
 * Truncate hook: entries at from and after have been removed from the log
 * (they were never committed) inside txn, a transaction nested in the
 * store's write transaction.  Undo, inside txn, what the application did
 * for them when they were appended; the removal and the undo commit
 * together.  A non-zero return aborts the truncation (REFRAFT_ENOSPC or
 * MDB_MAP_FULL: the map grows and the hook runs again, as for the apply
 * hook).  The same rules as for the apply hook hold for txn and for calls
 * into the store.
 */
typedef int (*refstore_truncate_fn)(void *app_ctx, MDB_txn *txn,
                                    refraft_index from);

/*
 * Install hook: the node installs the snapshot meta describes (the log
 * API's install; see Snapshots below).  Make, inside txn, the
 * application's state what it is once every entry up to
 * meta->last_index has been applied and nothing after it: typically
 * replace its reference state with the snapshot's chunks, which it
 * staged with refstore_write() as hull.snapshot_write handed them over.
 * txn is nested in the transaction that also empties the log, makes meta
 * its base and sets the applied index and the data index to
 * meta->last_index and records_lost_upto to at least meta->last_index:
 * all of it commits together, durably, or none of it.  The log's entries
 * go without the truncate hook: what the application did when they were
 * appended (or applied) is this hook's to undo.  A non-zero return
 * aborts the install, which the node tries again later (REFRAFT_ENOSPC or
 * MDB_MAP_FULL: the map grows and the hook runs again, in a fresh
 * transaction).  The rules of the apply hook hold for txn and for calls
 * into the store; meta and its members are valid during the call only.
 * Optional: without it the install changes the log and the indexes
 * alone.
 */
typedef int (*refstore_install_fn)(void *app_ctx, MDB_txn *txn,
                                   const refraft_snapshot_meta *meta);

/*
 * Installed hook: the install transaction (above) committed.  Called once
 * per install, after the commit and before the log's install returns,
 * outside any transaction, so never for an install that failed or was
 * tried again: the place for what the application keeps outside the store
 * (database handles, caches) to follow the state its install hook wrote.
 * Must not call into the store.  Optional.
 */
typedef void (*refstore_installed_fn)(void *app_ctx,
                                      const refraft_snapshot_meta *meta);

typedef struct refstore_options {
    const char *path;       /* directory, created if missing: required */
    const char *cluster_id; /* 1..REFRAFT_ID_MAX bytes: required */
    const char *node_id;    /* 1..REFRAFT_ID_MAX bytes: required */
    int sync;               /* refstore_sync; default REFSTORE_SYNC_FULL */
    /* Initial LMDB map size in bytes, rounded up to whole pages; default
     * 64 MiB.  A store whose map grew before reopens at its grown size. */
    size_t map_size;
    /* The map doubles up to this when full; default 64 GiB (the data file
     * grows only as pages are written).  Set it equal to map_size to turn
     * growth off; below map_size is REFRAFT_EINVAL. */
    size_t map_size_max;
    /* Named databases the application may open besides refstore's five;
     * default 8, at most 1024. */
    unsigned int app_dbs;
    refstore_apply_fn apply;            /* optional */
    refstore_truncate_fn on_truncate;   /* optional */
    refstore_install_fn on_install;     /* optional */
    void *app_ctx;                      /* passed to the hooks */
    refstore_installed_fn on_installed; /* optional */
} refstore_options;

/*
 * Open (or create) the store at options->path, creating missing
 * directories (mode 0700).  A new store records the format version,
 * cluster id and node id; an existing one must carry the same three, else
 * REFRAFT_EWRONGSTORE, with a message naming what was expected and what
 * was found, and nothing is written.  Errors: REFRAFT_EINVAL (bad
 * options), REFRAFT_EWRONGSTORE, REFRAFT_ECORRUPT (meta or log
 * unreadable), REFRAFT_EIO (LMDB or the file system failed),
 * REFRAFT_ENOMEM.  On error *out is untouched and errbuf (when not NULL)
 * gets the cause, at most errbuf_len bytes, NUL-terminated.  The options'
 * strings are copied.  Free the store with refstore_close().  A process
 * must not have one store open twice at a time (LMDB's rule: closing one
 * handle would drop the other's locks).
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_open(const refstore_options *options, refstore **out, char *errbuf,
              size_t errbuf_len);

/* Commit what is pending (as refstore_flush does; if that fails, the
 * pending applies are lost with their applied index and run again after
 * the next open) and close.  NULL is allowed. */
REFRAFT_API void refstore_close(refstore *store);

/* Close without committing the pending applies: they are lost with their
 * applied index, exactly as in a crash of the process.  For tests that
 * simulate crashes.  NULL is allowed. */
REFRAFT_API void refstore_close_discard(refstore *store);

/*
 * Fill *api with the log API over store, for refraft_node_create().  The
 * store must outlive every node created with it.  The log API is of
 * version 5: it stores CONFIG entries (their members checked with
 * refraft_check_members; an address of NULL reads back as "") and
 * compacts (compact, install, base; see Snapshots below).  size is the
 * log database's branch, leaf and overflow pages (mdb_stat, in a read
 * that sees the pending applies and staged entries) times the page size.
 * Besides the contract in refraft.h: truncate refuses, with
 * REFRAFT_EINVAL, to remove an entry at or below the applied index
 * (committed entries are never truncated) or below first_index; it
 * lowers the data index to from - 1 when the data index was at or past
 * from, and runs the truncate hook.
 * get below first_index is REFRAFT_ENOTFOUND, and so is term_at below the
 * base's last index.  The ids and members get and base return, and the
 * members' strings, are owned by the store and valid until the next call
 * into the log API; refstore_apply() and the record calls do not
 * invalidate them.  The store keeps get's in one buffer that holds the
 * last get's alone.  Calls on a failed store return REFRAFT_EFAILED.
 *
 * Snapshots (Raft §7, thesis §5).  The log's base is the snapshot its
 * first entry follows, kept in meta ("log_base"); first_index is its last
 * index + 1 (1 while the log never compacted), and term_at answers for
 * the base's last index with its last term.  base() copies it out (all
 * zero without one).  Every call below is one durable write that also
 * commits the pending applies; on error nothing changed.
 *
 *   compact(meta) drops the entries up to meta->last_index and makes meta
 *   the base.  The compacted entries can never be applied again, so their
 *   pending applies commit with it.  REFRAFT_EINVAL (nothing changed)
 *   when meta->last_index is below first_index, past the last index or
 *   past the applied index (committed or pending), when meta->last_term
 *   is not the term of the entry there, or when meta is bad (below).
 *
 *   install(meta) runs the install hook, drops every entry, makes meta
 *   the base, sets the applied index and the data index to
 *   meta->last_index and raises records_lost_upto to it (the snapshot's
 *   references name records this node may not have: the sweeper fetches
 *   them, see refraft_sweeper_snapshot_installed), all in one transaction.
 *   Afterwards refstore_applied_index(), refstore_data_index() and
 *   refstore_records_lost_upto() say so, and the next refstore_apply() is
 *   for meta->last_index + 1.  REFRAFT_EINVAL (nothing changed) unless
 *   meta->last_index is past the applied index (committed or pending):
 *   an install never takes the application's state back.  The hook's
 *   error aborts it all.  The hard state stays.
 *
 * meta is bad (REFRAFT_EINVAL) when it is NULL, its last index or term is
 * 0, its config_index is past its last index, it has no members with a
 * config_index of 1 or more, or members that break refraft_entry's rules
 * (refraft_check_members).  The initial configuration (config_index 0)
 * may come with its members or without (NULL and 0); base() hands back
 * what was stored.
 *
 * The hull's snapshot members over a store (refraft.h, refraft_hull):
 *
 *   snapshot_read: the application reads its reference state from its
 *   own databases through refstore_read() (which sees the pending
 *   applies); the store adds nothing.  Its state at an index the node has
 *   applied must stay readable while later entries apply (keep it by
 *   entry index, say).
 *
 *   snapshot_write: the application stages each chunk in databases of
 *   its own through refstore_write(), aside from its state.
 *
 *   snapshot_install may simply return 0: the node calls the log's
 *   install right after it, and the install hook does the application's
 *   work there, in the transaction that empties the log and moves the
 *   indexes.  That transaction is what makes the install durable and
 *   atomic: a crash before it commits leaves the application's state,
 *   the log and the indexes as they were, and one after leaves all of
 *   them installed.
 */
REFRAFT_API void refstore_log_api(refstore *store, refraft_log_api *api);

/*
 * For the hull's apply(): run the apply hook (if any) for the entry at
 * index inside the store's write transaction and record index as the
 * applied index in the same transaction.  Not synced until the next
 * durable write or refstore_flush().  entry is what the node hands to
 * hull.apply(): of type NOOP, REF, VOID or CONFIG as the log holds it (a
 * CONFIG entry is applied as a NOOP is: the hook runs, the applied index
 * moves), or ABANDONED for a REF entry that a committed VOID abandoned;
 * the log must then hold a REF entry at index with the same reference
 * (id, size and digest).  The store remembers an ABANDONED apply until it
 * commits, so that running the hook again (see the apply hook) passes
 * ABANDONED again, not the REF the log holds.  Errors: REFRAFT_EINVAL
 * when entry is NULL, of another type, ABANDONED where the log holds no
 * REF entry with its reference, or index is not the applied index + 1 or
 * past the log's last index (entries come in index order);
 * REFRAFT_ENOMEM (no room to remember an ABANDONED apply); the hook's
 * error (nothing recorded), also when it ran again for an earlier entry
 * of the failed apply's run (the message names that index; the store
 * goes on, and makes the rest again before the next apply, compaction or
 * truncation, which fail with the same error while it cannot);
 * REFRAFT_ENOSPC when the map is full at map_size_max; REFRAFT_EIO when
 * the pending applies could not be committed to make room (the store has
 * failed); REFRAFT_EFAILED.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refstore_apply(refstore *store,
                                                   refraft_index index,
                                                   const refraft_entry *entry);

/* Commit the applies pending in the store's write transaction.  Call it
 * after each batch of calls into the node (say, once per event-loop turn).
 * With nothing pending it writes nothing.  Errors: REFRAFT_EIO (the
 * commit failed: the store has failed), REFRAFT_EFAILED. */
REFRAFT_API REFRAFT_WARN_UNUSED int refstore_flush(refstore *store);

/* The applied index as committed, for refraft_config.applied_index. */
REFRAFT_API refraft_index refstore_applied_index(const refstore *store);

/* The data index as last saved (see the sweeper); 0 for a new store, and
 * 0 after records were found lost (see Lost records). */
REFRAFT_API refraft_index refstore_data_index(const refstore *store);

/* Save index as the data index: every entry up to it has its record here.
 * Durable on return.  REFRAFT_EINVAL past the log's last index.  An index
 * below the log's first index is allowed: the records of the references
 * in a compacted or installed snapshot can go missing too. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_set_data_index(refstore *store, refraft_index index);

/*
 * Run fn(ctx, txn) inside the store's write transaction and commit it (a
 * durable write).  This is how the application writes its own databases
 * outside the hooks, and where it opens them (mdb_dbi_open with
 * MDB_CREATE; the handle lives until the store closes).  txn is nested in
 * the store's transaction, so fn sees the pending applies.  fn returns 0
 * or a refraft error code; a non-zero return aborts fn's writes (and only
 * fn's) and is returned, except REFRAFT_ENOSPC (or MDB_MAP_FULL), which
 * grows the map and runs fn again.  fn follows the rules of the hooks for
 * txn and for calls into the store.  REFRAFT_EINVAL when fn is NULL.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_write(refstore *store, int (*fn)(void *ctx, MDB_txn *txn), void *ctx);

/*
 * Run fn(ctx, txn) to read the application's databases (or the store's)
 * as the store sees them, pending applies included: txn is the store's
 * write transaction when one is open (or the applies' transaction nested
 * in it), else a read-only one.  fn must only
 * read; txn and whatever LMDB hands out through it are valid during the
 * call only.  Returns what fn returned; REFRAFT_EINVAL when fn is NULL.
 * fn follows the rules of the hooks for calls into the store.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_read(refstore *store, int (*fn)(void *ctx, MDB_txn *txn), void *ctx);

/* ---- Records ------------------------------------------------------- */

/*
 * Store a record under ref->id after checking it against its reference:
 * len must equal ref->size and the SHA-256 of bytes must equal
 * ref->digest, else REFRAFT_EDIGEST and nothing is stored.  The digest
 * and size are stored beside the record, in the same transaction.  A
 * record that is already present with the same bytes is left as it is
 * (its digest is stored if it had none, which makes it present for
 * refstore_record_has again); a different record under the same id is
 * REFRAFT_EDIGEST (records are never overwritten).  Durable on return.
 * REFRAFT_EINVAL for a NULL ref, bytes NULL with len > 0, or an id that is
 * NULL, empty or longer than REFRAFT_RECORD_ID_MAX.  The bytes are copied.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_record_put(refstore *store, const refraft_ref *ref, const void *bytes,
                    size_t len);

/*
 * Store n records in one durable transaction (one commit, one sync), as a
 * follower does with a batch its leader pushed.  Each record is checked
 * as refstore_record_put checks it (bytes[i] holds refs[i].size bytes);
 * results[i] gets 0 when records[i] is stored (or was there already), or
 * why it was refused (REFRAFT_EDIGEST, REFRAFT_EINVAL).  A refused record
 * leaves the others alone.  Returns 0, or the store's error when the
 * transaction failed: then none of the batch was stored and each record
 * that passed its check has that error in results.  REFRAFT_EINVAL for
 * NULL arrays with n > 0.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_record_put_batch(refstore *store, const refraft_ref *refs,
                          const void *const *bytes, size_t n, int *results);

/*
 * Call fn(ctx, bytes, len) with the record stored under id.  bytes is
 * owned by LMDB and valid only during the call; fn must not call into the
 * store.  REFRAFT_ENOTFOUND when there is no such record (fn is then not
 * called); REFRAFT_EINVAL for a bad id or a NULL fn.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_record_get(refstore *store, const uint8_t *id, size_t id_len,
                    void (*fn)(void *ctx, const void *bytes, size_t len),
                    void *ctx);

/*
 * For each of the n refs, present[i] = whether the record refs[i] names
 * is stored here, verified: a record is stored under refs[i].id, and the
 * SHA-256 digest and size kept beside it (computed when it was put) equal
 * refs[i].digest and refs[i].size.  A record stored under the id with
 * another digest (another record that got the same id) is not present,
 * and neither is a record without a digest (see On disk).  Nothing is
 * hashed: one read transaction and two lookups per ref for the whole
 * batch.  This is hull.have_records and the sweeper's have.  It only
 * reads, so it may be called while refstore_propose() runs
 * refraft_propose() (the node's have_records asks about the entries just
 * appended).  REFRAFT_EINVAL for a bad id (before anything is read); on
 * error present[] is unspecified.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_record_has(refstore *store, const refraft_ref *refs, size_t n,
                    bool *present);

/* Remove the record stored under id and its digest, in one transaction
 * (REFRAFT_ENOTFOUND if there is no record; REFRAFT_EINVAL for a bad
 * id).  Durable on return.  Lowering the data index if an entry at or
 * below it loses its record is the caller's business. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_record_delete(refstore *store, const uint8_t *id, size_t id_len);

/* The records database (key: id, value: bytes), for reading records inside
 * the hooks' transaction; valid until the store closes.  It also holds the
 * store's records identity under a key of 256 bytes, which no record id
 * can equal: code that walks the database with a cursor skips keys longer
 * than REFRAFT_RECORD_ID_MAX, and nothing may write or delete that key.
 * Records are written only through refstore_record_put() and
 * refstore_propose(), which store each record's digest beside it (in
 * record_digests); a hook that deletes a record through this handle
 * leaves its digest behind, which counts for nothing without the record
 * and is replaced when a record is put under the id again. */
REFRAFT_API MDB_dbi refstore_record_dbi(const refstore *store);

/*
 * Fill *out with the sweeper's record store over store
 * (refraft_sweeper_config.store): have is refstore_record_has(), put is
 * refstore_record_put() (which checks size and digest again), put_batch
 * is refstore_record_put_batch() without hashing the records again (the
 * sweeper has checked them: sweeper.h), remove is
 * refstore_record_delete() and clear_lost is
 * refstore_clear_records_lost().  The store must outlive the sweeper.
 * Nothing happens when out is NULL.
 */
REFRAFT_API void
refstore_record_store(refstore *store, refraft_record_store *out);

/* ---- Lost records -------------------------------------------------- */

/*
 * The index up to which records may have been lost (see Lost records
 * above), as committed: 0 when nothing was lost, or once
 * refstore_clear_records_lost() said they are back.  Pass it to the
 * sweeper as refraft_sweeper_config.lost_upto.  0 for a NULL store.
 */
REFRAFT_API refraft_index refstore_records_lost_upto(const refstore *store);

/*
 * The records lost up to refstore_records_lost_upto() have all been
 * fetched again: set it back to 0.  Durable on return; with nothing lost
 * it writes nothing.  Errors: those every call may return.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_clear_records_lost(refstore *store);

/*
 * Delete every record, their digests and the records identity, as a lost
 * disk would: the hook for recovery drills and tests, never for normal
 * operation.  Durable on return.  The store counts the loss at once, as
 * the next open would (records_lost_upto rises to the log's last index,
 * the data index drops to 0), and the next refstore_open() finds the
 * identity missing, counts the loss again and names the records afresh.
 * Meant to be followed by a restart (close the store, reopen it, recreate
 * the node and the sweeper with refstore_records_lost_upto()), as after a
 * real loss.  Errors: those every call may return.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int refstore_records_wipe(refstore *store);

/*
 * Leader: store n records and propose their references to node in one
 * LMDB transaction, so a reference is never durable on the leader ahead
 * of its record.  bytes[i] holds refs[i].size bytes.  Every record is
 * checked against its ref first (REFRAFT_EDIGEST or REFRAFT_EINVAL, as
 * refstore_record_put says; nothing stored).  Then refraft_propose()
 * runs; its log append commits records and references together, one
 * commit and one sync.  If it fails (REFRAFT_ENOTLEADER,
 * REFRAFT_ENOLEADER, ...) the records are not stored and its error is
 * returned (refstore_errmsg() repeats refraft_errmsg()).  On success
 * *first_index (when not NULL) gets the index of refs[0].  If the map
 * fills on the way, it grows and the whole propose runs again.  node must
 * use this store's log API: else REFRAFT_EINVAL after the fact (the
 * references went to the other log, the records were not stored).
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_propose(refstore *store, refraft_node *node, const refraft_ref *refs,
                 const void *const *bytes, size_t n,
                 refraft_index *first_index);

/*
 * refstore_propose() for a caller that has just computed each refs[i]'s
 * digest from bytes[i] itself (a service that names its clients' records
 * by their SHA-256, say): ids and bytes are checked as there, the digests
 * are not computed again (on a leader at 1,024 writes in flight, the
 * second SHA-256 was 5.5% of its time).  A digest that does not match its
 * bytes is then stored and sent as it is, and followers refuse the record
 * (they check every record they receive), so use it only for digests
 * computed from the very bytes passed.
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_propose_hashed(refstore *store, refraft_node *node,
                        const refraft_ref *refs, const void *const *bytes,
                        size_t n, refraft_index *first_index);

/*
 * Follower: deliver msg to node (refraft_on_message, with reply and
 * reply_ctx) with the n records its entries name, which came with it, in
 * one LMDB transaction: the append the message causes commits the
 * records with the entries, one commit and one sync, and the data index
 * the node reports already counts them.  The records are stored only
 * then (*records_stored true): when msg is not an AppendEntries of the
 * node's current term (a newer term is saved first, a write of its own)
 * with entries past the node's last index, when a record does not match its
 * ref (size, SHA-256), or when the message appends nothing (refused,
 * stale, a log that disagrees), msg is delivered alone and the records
 * are dropped (the sweeper fetches what is missing).  Returns what
 * refraft_on_message returned (refstore_errmsg() repeats
 * refraft_errmsg()), or REFRAFT_EINVAL for a NULL node, msg or
 * records_stored.  If the map fills on the way, it grows and the message
 * is delivered again (a node takes a message twice without harm).
 */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_receive(refstore *store, refraft_node *node, const refraft_ref *refs,
                 const void *const *bytes, size_t n, const refraft_msg *msg,
                 refraft_reply_fn reply, void *reply_ctx, bool *records_stored);

/* ---- Cluster map --------------------------------------------------- */

/* Record url (1..1024 bytes) as node_id's (1..REFRAFT_ID_MAX bytes)
 * address, replacing any earlier one.  Durable on return.  REFRAFT_EINVAL
 * for a bad id or URL. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_map_set(refstore *store, const char *node_id, const char *url);

/* Copy node_id's URL into url (cap bytes with the NUL): REFRAFT_ENOTFOUND
 * when unknown, REFRAFT_ETOOBIG when cap is too small (url untouched),
 * REFRAFT_EINVAL for a bad id or a NULL url. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_map_get(refstore *store, const char *node_id, char *url, size_t cap);

/* Remove node_id from the map (REFRAFT_ENOTFOUND if absent).  Durable on
 * return. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_map_delete(refstore *store, const char *node_id);

/* Call fn for every entry, in node id order (bytewise); strings valid
 * during the call only, and fn must not call into the store.  A non-zero
 * return from fn stops the walk and is returned. */
REFRAFT_API REFRAFT_WARN_UNUSED int
refstore_map_list(refstore *store,
                  int (*fn)(void *ctx, const char *node_id, const char *url),
                  void *ctx);

/* ---- Inspection ---------------------------------------------------- */

/* The environment, for mdb_env_stat() and the like.  The rules above hold:
 * no write transaction, no read transaction left open across calls into
 * the store, no change to its flags or map size. */
REFRAFT_API MDB_env *refstore_env(const refstore *store);
/* The directory, as given to refstore_open(); owned by the store. */
REFRAFT_API const char *refstore_path(const refstore *store);
/* The cause of the error the last call into the store returned ("" after
 * a call that succeeded); owned by the store, valid until its next call.
 * A failed store keeps the message that failed it. */
REFRAFT_API const char *refstore_errmsg(const refstore *store);

/* Counters since the store was opened, for metrics and tests. */
typedef struct refstore_stats {
    /* Write transactions committed: one per durable write or flush that
     * had something to commit; each one is a sync under
     * REFSTORE_SYNC_FULL. */
    uint64_t commits;
    uint64_t map_grows; /* times the map doubled */
    size_t map_size;    /* the map's size now, in bytes */
} refstore_stats;

/* Fill *stats.  Nothing happens when store or stats is NULL. */
REFRAFT_API void
refstore_get_stats(const refstore *store, refstore_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* REFRAFT_REFSTORE_H */
