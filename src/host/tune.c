/* tune.c - what a process that runs a node sets for itself: malloc's
 * thresholds. */
#include <malloc.h>

#include "host.h"

/*
 * Why.  LMDB allocates about 3 MiB for every nested transaction it
 * begins (a dirty-page list and a free-page list of MDB_IDL_UM_MAX
 * slots), and refstore begins one or two for every write: the write
 * itself runs in a child of the store's transaction, and so does a run
 * of applies.  Under glibc's defaults that block comes from the top of
 * the heap and goes back to the kernel when freed (the heap is trimmed
 * once more than twice the mmap threshold lies free at its top), so
 * every write grew the heap with brk, faulted its pages in and trimmed
 * them again: a tenth of a follower's time at one write in flight
 * (docs/performance.md).
 *
 * So: blocks below 4 MiB come from the heap, and up to 16 MiB of free
 * heap stays mapped.  Setting either turns off glibc's own adjustment of
 * both, hence both.  A malloc that does not take these (ASan's) ignores
 * them, and so does this function: nothing depends on them but speed.
 */
#define HOST_MMAP_THRESHOLD (4 << 20)
#define HOST_TRIM_THRESHOLD (16 << 20)

void host_tune_malloc(void)
{
    (void)mallopt(M_MMAP_THRESHOLD, HOST_MMAP_THRESHOLD);
    (void)mallopt(M_TRIM_THRESHOLD, HOST_TRIM_THRESHOLD);
}
