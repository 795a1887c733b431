/* disk.h - a node's simulated disk: a memlog or a refstore, watched. */
#ifndef REFRAFT_SIM_DISK_H
#define REFRAFT_SIM_DISK_H

#include <stdbool.h>

#include "check.h"
#include "prng.h"
#include "refraft/memlog.h"
#include "refraft/refraft.h"
#include "refraft/refstore.h"
#include "refstate.h"
#include "tmpdir.h"

/* The run's directory, "/" and a node id (members.h: SIM_ID_LEN). */
#define DISK_PATH_MAX (TMPDIR_PATH_MAX + 32)
#define DISK_ERRMSG_LEN 512

typedef enum disk_kind {
    /* A refraft_memlog: the node's log and hard state in process memory;
     * the state machine lives in the simulator. */
    DISK_MEMLOG,
    /* A refstore in a directory of its own: log, hard state, the applied
     * index and the state machine in one LMDB environment. */
    DISK_REFSTORE
} disk_kind;

/* The state machine: told of each entry applied, in index order. */
typedef void (*disk_apply_fn)(void *ctx, refraft_index index,
                              const refraft_entry *entry);

/*
 * The node talks to api, which forwards every call to the store's own log
 * API (inner) and, when an append or a truncate succeeds, tells the checker
 * what changed.  So the checker sees each entry exactly once, when a log
 * gains it, without rereading logs.  The disk outlives the node: a crash
 * destroys the node and keeps the disk (disk_crash says what survives).
 *
 * In most runs the disk also offers stage and sync (stage), the leader's
 * append in two steps: the entries are in the log, and the checker hears
 * of them, from the stage on.  refstore stages and syncs for real; a
 * memlog has no staging, so the disk emulates it: stage appends, and sync
 * succeeds, or, at sync_fail_pm per mille (the one storage fault the
 * simulator injects, in fault phases of memlog runs), truncates what was
 * staged and returns REFRAFT_EIO, as a log whose sync failed must.  The
 * checker hears of that truncation, and of one after a failed refstore
 * sync.  The node then steps down and its call returns REFRAFT_EIO:
 * sync_fault tells the cluster that this error was injected, until the
 * end of the step.
 *
 * Apart from that, a store error is a violation, with one exception that
 * refstore documents (its "Failure" contract): a commit that fails while
 * it holds applies (the map filled at that moment) fails the store, and
 * every later call returns REFRAFT_EFAILED until the application closes
 * the store, reopens it and recreates the node.  The disk notices
 * (failed) and the cluster does that after the step.
 *
 * A version 5 log's compact and install are forwarded too: before a
 * compaction the checker reads the entries it drops (they must be the
 * committed ones), and after an install it takes the snapshot's base as
 * the log's committed prefix (check_snapshot.c).
 *
 * Between a stage and its sync the node may only read the log
 * (refraft_log_api): an append, stage, truncate or hard-state call then
 * is an API Contract violation, and so is a call into the node that
 * returns with entries staged (the cluster checks that).
 */
typedef struct disk {
    disk_kind kind;
    refraft_memlog *log;      /* DISK_MEMLOG */
    refstore *store;          /* DISK_REFSTORE: NULL while the node is down */
    MDB_dbi state_dbi;        /* DISK_REFSTORE: the state machine's database */
    MDB_dbi refs_dbi;         /* DISK_REFSTORE: its reference state */
    bool failed;              /* DISK_REFSTORE: the store failed, as above */
    size_t map_size;          /* DISK_REFSTORE: refstore's first map; 0: its
                               * default */
    char path[DISK_PATH_MAX]; /* DISK_REFSTORE: the store's directory */
    char errmsg[DISK_ERRMSG_LEN]; /* the store's last error message */
    disk_apply_fn on_apply;
    void *apply_ctx;
    /* The application's reference state (the node's): on refstore it is
     * kept in the store too, read back on open and replaced by the
     * install hook. */
    refstate *state;
    refraft_log_api inner; /* the store's own API, while it is open */
    refraft_log_api api;   /* what the node is given */
    checker *check;
    int node;

    /* Staging: stage and fault_rng set by disk_set_stage, sync_fail_pm
     * by the fault schedule; a crash changes none of it. */
    bool stage;             /* api has stage and sync */
    uint32_t sync_fail_pm;  /* DISK_MEMLOG: a sync fails at this per mille */
    prng *fault_rng;        /* draws the failures */
    refraft_index staged;   /* first index staged, not synced; 0: none */
    bool sync_fault;        /* a sync failed by injection in this step */
    uint64_t syncs;         /* syncs of staged entries */
    uint64_t sync_failures; /* those that failed by injection */
    /* --inject keep-staged: a failed memlog sync leaves the staged entries
     * in the log (the log API says they are gone). */
    bool keep_staged;
    /* Version 5 logs: compactions and snapshot installs that succeeded. */
    uint64_t compactions;
    uint64_t installs;
    /* For --verbose: the cluster's virtual clock. */
    const uint64_t *clock;
    bool verbose;
} disk;

/* An empty disk of kind for node; a refstore disk lives in directory path
 * (created when first opened).  Nothing is opened yet. */
void disk_init(disk *d, disk_kind kind, const char *path, int node,
               checker *check, disk_apply_fn on_apply, void *apply_ctx);

/* Give the node's log API stage and sync, or not (the default).  Failed
 * syncs, on a memlog, are drawn from rng at d->sync_fail_pm per mille,
 * which the fault schedule sets (0 at first). */
void disk_set_stage(disk *d, bool stage, prng *rng);

/* Make the disk ready for the node to start on: create the memlog the
 * first time, (re)open the refstore.  Returns 0 or a refraft error
 * (recorded as a violation). */
int disk_open(disk *d);

/* The state machine's applied index kept on the disk: what the store
 * committed on refstore; 0 on a memlog, which keeps no state machine. */
refraft_index disk_applied_index(const disk *d);

/* The index the log's base snapshot ends at: 0 when it never compacted
 * or installed. */
refraft_index disk_base(disk *d);

/* Apply a committed entry (the hull's apply): through refstore_apply() on
 * refstore, which runs the state machine's hook; straight to on_apply on
 * a memlog.  Returns 0 or the store's error. */
int disk_apply(disk *d, refraft_index index, const refraft_entry *entry);

/* End of an event-loop turn: commit the applies pending on a refstore. */
void disk_flush(disk *d);

/* The node's process died: the disk keeps what a process crash leaves.
 * On refstore the store is closed with refstore_close_discard(): the
 * applies pending in its write transaction are lost with their applied
 * index, as in a crash. */
void disk_crash(disk *d);

/* The disk of a crashed node is lost for good: its memlog, or its
 * refstore's directory, is gone, and the next disk_open() starts an empty
 * one.  Returns 0, or -1 (recorded as a violation). */
int disk_wipe(disk *d);

/* Close and free everything; the directory is the caller's to remove. */
void disk_free(disk *d);

/* The store's message for its last error ("" when it has none). */
const char *disk_errmsg(const disk *d);

/* A call that reached the store (named what) returned rv != 0: note a
 * failed store, or record a violation.  Returns rv. */
int disk_check_rv(disk *d, const char *what, int rv);

/* Internal to the disk's files: offer compaction when the store's log
 * does (version 5, all three members); the refstore side of the calls
 * above. */
void disk_offer_compaction(disk *d);
int refdisk_open(disk *d);
int refdisk_apply(disk *d, refraft_index index, const refraft_entry *entry);
bool refdisk_failed(disk *d);

#endif /* REFRAFT_SIM_DISK_H */
