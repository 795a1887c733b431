/* failalloc.h - an allocator for refraft_set_allocator() that fails the
 * allocations a test names, so that it can fail each one in turn. */
#ifndef REFRAFT_TESTS_FAILALLOC_H
#define REFRAFT_TESTS_FAILALLOC_H

#include <stdbool.h>

/*
 * STYLE.md: "A pluggable allocator lets tests fail every allocation in
 * turn and assert a clean REFRAFT_ENOMEM".  Allocations are counted from
 * 1 (malloc and realloc alike; refraft_malloc(0) does not reach the
 * allocator, so it does not count).  Whatever is not failed comes from
 * malloc and realloc, and everything is freed with free(), so memory
 * allocated before or after a failalloc is installed mixes freely.
 */
typedef struct failalloc {
    long fail_at;    /* the allocation that fails; 0: none */
    bool fail_after; /* every allocation after fail_at fails too */
    long count;      /* allocations asked for since it was installed */
    bool fired;      /* at least one allocation failed */
} failalloc;

/* Install f as the library's allocator, its count at zero, failing
 * allocation number n and no other (n = 0: none).  f is used until
 * failalloc_off() or another refraft_set_allocator(): it must live that
 * long. */
void failalloc_at(failalloc *f, long n);

/* The same, failing allocation number n and every one after it. */
void failalloc_from(failalloc *f, long n);

/* Restore malloc/realloc/free (refraft_set_allocator(NULL)). */
void failalloc_off(void);

/*
 * Run scenario(arg) with allocation 1 failing, then 2, and so on, until
 * a run in which no allocation failed (or 100000 runs), with the
 * allocator restored after each run.  The scenario checks that each
 * failure is clean.  Returns the number of allocation points: the runs
 * in which an allocation failed.  A test that can stop in the middle of
 * a run (a failed assertion) restores the allocator in its teardown.
 */
long failalloc_sweep(void (*scenario)(void *arg), void *arg);

#endif /* REFRAFT_TESTS_FAILALLOC_H */
