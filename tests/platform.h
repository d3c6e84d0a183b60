/*
 * The little the tests need from the operating system: threads (for posts
 * and stops from other threads) and flags they share, a monotonic clock (to
 * check that timers do not fire early), process CPU time (to check that an
 * idle loop sleeps), the open-file limit (for the many-connections tests),
 * the count of open descriptors or handles (to check that nothing leaks),
 * child processes (a client in another process, killed while it writes) and
 * a blocking socket outside xpr.
 * platform.c is the only file in tests/ that tests _WIN32.
 */
#ifndef XPR_TESTS_PLATFORM_H
#define XPR_TESTS_PLATFORM_H

#include <stddef.h>
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

/* Whether this runs under Wine (whose wineserver may keep the sockets of
 * a killed process open: see tests/hostile.c). */
int test_under_wine(void);

/* Waits until count() is at most limit, or max_ms passed (100 ms steps);
 * returns the last count. For what the system gives back in its own time:
 * its thread pool retires idle threads, and their events, after a few
 * seconds. */
long test_count_settles(long (*count)(void), long limit, unsigned max_ms);

/* Descriptors (POSIX, counted in /proc/self/fd) or handles other than
 * threads (Windows, from the system's handle list) this process holds, or
 * -1 where they cannot be counted. */
long test_open_handles(void);
/* Threads of this process (POSIX: /proc/self/task; Windows: a Toolhelp
 * snapshot), or -1. */
long test_open_threads(void);

/* Makes the process receive signum (XPR_SIG*), as the OS delivers it.
 * POSIX: kill(getpid(), signum). Windows: the console control event for it
 * (CTRL_C_EVENT, CTRL_CLOSE_EVENT, CTRL_SHUTDOWN_EVENT) handed to xpr's
 * handler on a new thread, which is how Windows calls a console control
 * handler; the test process may have no console to raise one in. 0 or -1.
 */
int test_raise_signal(int signum);
/* Records the action each signal has at the start (first thing in main):
 * a runner may start the tests with some ignored (nohup: SIGHUP). */
void test_signal_record_initial(void);
/* Whether signum has the action it had when recorded: 1 or 0 on POSIX,
 * -1 (cannot tell) on Windows, where no call reads the console handler
 * list. */
int test_signal_is_initial(int signum);

struct test_process;

/* Starts this program again with the arguments args[0..n-1] (after the
 * program name), its standard output discarded. argv0 is the argv[0] this
 * process was started with (POSIX; Windows asks for its own module).
 * 0 or -1. */
int test_process_spawn_self(const char *argv0, const char *const *args,
                            unsigned n, struct test_process **out);
/* Kills it at once (SIGKILL, TerminateProcess). 0 or -1. */
int test_process_kill(struct test_process *process);
/* Waits for it to end and frees it: 1 if it ended by test_process_kill,
 * 0 if it exited by itself, -1 on error. */
int test_process_wait(struct test_process *process);

/* Lowers (or restores) the soft limit on descriptors so that the next one
 * opened fails with EMFILE: the limit becomes one above the highest open
 * descriptor. Returns the previous limit, or 0 where there is no such
 * limit (Windows); test_restore_descriptor_limit(previous) undoes it. */
unsigned long test_exhaust_descriptors(void);
void test_restore_descriptor_limit(unsigned long previous);

/* A blocking loopback TCP client outside xpr, for tests that watch an xpr
 * server from a socket xpr does not own. */
typedef intptr_t test_socket;
/* Connects to 127.0.0.1:port. 0 or -1. */
int test_socket_connect(long port, test_socket *out);
/* Sends all n bytes (blocking). 0 or -1. */
int test_socket_send_all(test_socket s, const void *p, size_t n);
/* Reads until the peer closes (EOF or reset: returns 1) or ms pass without
 * the close (returns 0); *received counts the bytes read meanwhile. */
int test_socket_wait_closed(test_socket s, unsigned ms, size_t *received);
void test_socket_close(test_socket s);
/* A connected loopback TCP pair (127.0.0.1), both ends non-blocking, for
 * watchers of application sockets. 0 or -1. */
int test_socket_pair(test_socket out[2]);
/* Closes s with a reset (SO_LINGER 0): the peer sees RST. */
void test_socket_reset(test_socket s);
/* Non-blocking send and recv: bytes moved (> 0), 0 at EOF (recv), -1 when
 * it would block, -2 on another error. */
long test_socket_send(test_socket s, const void *p, size_t n);
long test_socket_recv(test_socket s, void *p, size_t n);
/* POSIX: a non-blocking pipe, out[0] to read and out[1] to write, closed
 * with test_socket_close and used with test_pipe_read / _write (same
 * returns as recv / send). Windows: -1 (no pipe a socket call takes). */
int test_pipe(test_socket out[2]);
long test_pipe_read(test_socket fd, void *p, size_t n);
long test_pipe_write(test_socket fd, const void *p, size_t n);

#endif
