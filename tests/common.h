/*
 * The harness every public-API test uses: a loop on the back end named by
 * XPR_BACKEND, run under a deadline, and checks that work inside callbacks.
 *
 * Why CHECK and not assert_*() inside callbacks: a CMocka assertion
 * longjmps out of the test, which from a callback would leave xpr_loop_run
 * in the middle of a dispatch. CHECK records the first failure and stops the
 * loop; tloop_run then fails the test once the loop has returned.
 */
#ifndef XPR_TESTS_COMMON_H
#define XPR_TESTS_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xpr.h"

#define CHECK(cond) check_true_((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                         \
    check_eq_((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)

int check_true_(int ok, const char *expr, const char *file, int line);
int check_eq_(long long a, long long b, const char *expr_a, const char *expr_b,
              const char *file, int line);
/* Fails the test now if a CHECK failed (outside callbacks only). */
void check_no_failure(void);

/* Callbacks never overlap: no callback runs inside another one (say
 * on_drain from inside the xpr_conn_write of an on_data). Test callbacks
 * call these at entry and exit; a nested entry fails the test. */
void callback_enter(void);
void callback_leave(void);

/* Whether this thread runs loop (any of its workers): the loop accepts
 * calls from it (a timer can be made) instead of answering XPR_ETHREAD. */
int on_loop_thread(xpr_loop *loop);

/* The XPR_BACKEND the suite runs against, or NULL when unset. */
const char *test_backend_env(void);

/*
 * The suite's knobs, set per back-end row in tests/meson.build and read here
 * (the library reads none of them): XPR_WORKERS=N, XPR_READ_MODE=zero-byte|
 * preposted and XPR_PREPOSTED_READS=N. Fills the fields of cfg that are 0
 * and that a variable sets; the rest stay as they are.
 */
void test_loop_config(struct xpr_loop_config *cfg);
/*
 * xpr_loop_new with cfg (NULL = zeroed) after test_loop_config. Where the
 * back end has no workers, a worker count taken from XPR_WORKERS is dropped
 * (it names iocp's count): XPR_ENOTSUP then comes only from what cfg asked.
 * Every test that makes a loop makes it here or through tloop_new*.
 */
int test_loop_new(xpr_loop **loop_out, const struct xpr_loop_config *cfg);

/*
 * A new loop with cfg.backend = XPR_BACKEND_DEFAULT and the suite's knobs
 * (test_loop_new); asserts that
 * xpr_loop_backend() is the one XPR_BACKEND names. Resets the CHECK state.
 * One harness loop at a time.
 */
xpr_loop *tloop_new(void);
/* The same with a config (its backend field must be XPR_BACKEND_DEFAULT). */
xpr_loop *tloop_new_config(const struct xpr_loop_config *cfg);
/*
 * Runs the loop with a deadline timer: when deadline_ms pass, the test
 * fails. Asserts xpr_loop_run returned 0 and no CHECK failed. On failure
 * the loop is left unfreed.
 */
void tloop_run(xpr_loop *loop, uint64_t deadline_ms);
/* xpr_loop_completion_stats, all zero on a back end without completions;
 * 0 or the error. */
int test_completion_stats(xpr_loop *loop, struct xpr_completion_stats *st);
/* Stops the deadline timer: the loop must now return by itself once nothing
 * is alive. Call from a callback. */
void tloop_let_idle(xpr_loop *loop);
/* Stops the loop once no connection is left (checked every few
 * milliseconds by a timer of the harness). Listeners may stay open. */
void tloop_stop_when_empty(xpr_loop *loop);
/* Frees the loop after asserting that nothing is left: no live connection,
 * listener, started timer, queued write byte or pending post. */
void tloop_free(xpr_loop *loop);

/* Frees the harness's own timers and forgets the loop, for tests that
 * free it themselves with xpr_loop_free. */
void tloop_forget(xpr_loop *loop);

/* Listens on 127.0.0.1:0 and writes the real address to address; asserts a
 * port was picked. */
xpr_listener *tloop_listen(xpr_loop *loop, const struct xpr_listen_config *cfg,
                           const struct xpr_conn_callbacks *callbacks,
                           void *arg, char address[XPR_ADDRSTRLEN]);
/* xpr_connect that asserts success (not for use inside callbacks). */
xpr_conn *tloop_connect(xpr_loop *loop, const char *address,
                        const struct xpr_conn_callbacks *callbacks, void *arg);

/* The port of "host:port" text, or -1. */
long address_port(const char *address);

/* The descriptors (POSIX) or handles (Windows) this process holds, as the
 * baseline of a test that counts them, or -1 where they cannot be counted.
 * The first call runs one echo connection (echo_clients.c) on a loop of
 * the test's back end and frees it: the system keeps some state for a
 * process after its first sockets, threads and windows (Winsock's
 * providers, the thread pool, a window class), which a test must not count
 * as its own leak. */
long test_handles_baseline(void);

#endif
