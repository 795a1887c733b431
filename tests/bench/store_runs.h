/* store_runs.h - timed runs of refstore appends and of plain LMDB puts. */
#ifndef REFRAFT_BENCH_STORE_RUNS_H
#define REFRAFT_BENCH_STORE_RUNS_H

#include <stdint.h>

/*
 * Both runs write the same entries, in batches of the same size, each
 * batch one synced transaction, into a fresh environment in dir (an empty
 * directory the caller made and removes).  The entries are REF entries of
 * term 1 with 16-byte ids, size 256 and digest bytes that differ per
 * entry.  A run appends whole batches until seconds have passed (or it
 * reached STORE_RUN_ENTRIES_MAX entries, or tmpdir_interrupted()), and
 * *rate gets the entries written per second.  Returns 0, or -1 after
 * printing what failed; what was opened is closed either way.
 */
#define STORE_RUN_ENTRIES_MAX 8000000

/* Through refstore's log API (refstore_log_api() -> append), opened with
 * REFSTORE_SYNC_FULL. */
int store_run_refstore(const char *dir, uint32_t batch, double seconds,
                       double *rate);

/* Plain LMDB as an application would write such a log: default (synced)
 * environment flags, one transaction per batch, one mdb_put per entry
 * under its 8-byte big-endian index with MDB_APPEND, the value as long as
 * refstore's encoding of the entry. */
int store_run_lmdb(const char *dir, uint32_t batch, double seconds,
                   double *rate);

#endif /* REFRAFT_BENCH_STORE_RUNS_H */
