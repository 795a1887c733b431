/* pool.h - a benchmark allocator that reuses large freed blocks. */
#ifndef REFRAFT_BENCH_POOL_H
#define REFRAFT_BENCH_POOL_H

/*
 * Memlogs grow by doubling arrays and each run starts on fresh memlogs.
 * With the system allocator, every run touches a few hundred MB of fresh
 * pages, and on a virtual machine the page faults cost more than all the
 * core does: perf shows most of the time in the kernel's fault handler
 * and in memmove() of arrays being grown.
 * The pool keeps large blocks that are freed and hands them out again,
 * already faulted in, to later requests of the same or a smaller size.
 * Installed with refraft_set_allocator(), the hook the library offers for
 * exactly this.  Not thread-safe, like the rest of the benchmark.
 */

/* Route the library's allocations through the pool. */
void pool_install(void);

/* Give every cached block back to the system. */
void pool_release(void);

#endif /* REFRAFT_BENCH_POOL_H */
