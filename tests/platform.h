/*
 * The little the tests need from the operating system: threads (for posts
 * and stops from other threads) and flags they share, a monotonic clock (to
 * check that timers do not fire early), process CPU time (to check that an idle
 * loop sleeps) and the open-file limit (for the many-connections tests).
 * platform.c is the only file in tests/ that tests _WIN32.
 */
#ifndef XPR_TESTS_PLATFORM_H
#define XPR_TESTS_PLATFORM_H

#include <stdint.h>

struct test_thread;

/* Starts fn(arg) on a new thread. 0 or -1. */
int test_thread_start(struct test_thread **out, void (*fn)(void *arg),
                      void *arg);
/* Waits for the thread to end and frees it. */
void test_thread_join(struct test_thread *thread);

/* Flags the tests' own threads share: sequentially consistent loads and
 * stores, and a yield for the loops that wait on them. */
long test_atomic_load(volatile long *p);
void test_atomic_store(volatile long *p, long v);
void test_yield(void);

/* Monotonic milliseconds. */
uint64_t test_now_ms(void);
/* CPU time this process has used (all threads), in milliseconds. */
uint64_t test_cpu_ms(void);

/* Raises the soft limit on open sockets to at least want if the hard limit
 * allows (no-op where there is no such limit). */
void test_raise_socket_limit(unsigned long want);

/* Windows: an alertable wait of zero time, then a pump of every message
 * of the thread, as an application may do inside a callback; returns how
 * many APC batches and messages ran. Elsewhere a no-op returning 0, and
 * test_has_alertable_waits() says 0. */
unsigned test_alertable_wait_and_pump(void);
int test_has_alertable_waits(void);

#endif
