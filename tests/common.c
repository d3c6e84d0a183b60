#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static struct {
    xpr_loop *loop;
    xpr_timer *deadline;
    xpr_timer *empty_watch;
    int deadline_passed;
    int failed;
    int callback_depth;
    char first_failure[512];
} harness;

static void record_failure(const char *message)
{
    if (!harness.failed) {
        harness.failed = 1;
        snprintf(harness.first_failure, sizeof(harness.first_failure), "%s",
                 message);
    }
    if (harness.loop != NULL) {
        xpr_loop_stop(harness.loop);
    }
}

int check_true_(int ok, const char *expr, const char *file, int line)
{
    char message[512];
    if (!ok) {
        snprintf(message, sizeof(message), "%s:%d: CHECK(%s) failed", file,
                 line, expr);
        record_failure(message);
    }
    return ok;
}

int check_eq_(long long a, long long b, const char *expr_a, const char *expr_b,
              const char *file, int line)
{
    char message[512];
    if (a != b) {
        snprintf(message, sizeof(message),
                 "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld", file, line,
                 expr_a, expr_b, a, b);
        record_failure(message);
    }
    return a == b;
}

void check_no_failure(void)
{
    if (harness.failed) {
        fail_msg("%s", harness.first_failure);
    }
}

void callback_enter(void)
{
    CHECK_EQ(harness.callback_depth, 0);
    harness.callback_depth++;
}

void callback_leave(void)
{
    harness.callback_depth--;
}

static void never_runs(xpr_timer *timer, void *arg)
{
    (void)timer;
    (void)arg;
}

int on_loop_thread(xpr_loop *loop)
{
    xpr_timer *probe = NULL;
    int rc = xpr_timer_new(loop, never_runs, NULL, &probe);
    if (rc == 0)
        xpr_timer_free(probe);
    return rc == 0;
}

const char *test_backend_env(void)
{
    const char *name = getenv("XPR_BACKEND");
    return name != NULL && name[0] != '\0' ? name : NULL;
}

/* A decimal count in [1, max] from the environment, else 0. */
static unsigned knob_count(const char *name, unsigned max)
{
    const char *text = getenv(name);
    char *end = NULL;
    long n;
    if (text == NULL || text[0] == '\0')
        return 0;
    n = strtol(text, &end, 10);
    if (*end != '\0' || n < 1 || (unsigned long)n > max) {
        fprintf(stderr, "# %s=%s ignored (not a count in 1..%u)\n", name, text,
                max);
        return 0;
    }
    return (unsigned)n;
}

void test_loop_config(struct xpr_loop_config *cfg)
{
    const char *mode = getenv("XPR_READ_MODE");

    if (cfg->workers == 0)
        cfg->workers = knob_count("XPR_WORKERS", 64);
    if (cfg->read_mode == XPR_READ_DEFAULT && mode != NULL) {
        if (strcmp(mode, "preposted") == 0)
            cfg->read_mode = XPR_READ_PREPOSTED;
        else if (strcmp(mode, "zero-byte") == 0)
            cfg->read_mode = XPR_READ_ZERO_BYTE;
    }
    if (cfg->preposted_reads == 0)
        cfg->preposted_reads = knob_count("XPR_PREPOSTED_READS", 1023);
}

int test_loop_new(xpr_loop **loop_out, const struct xpr_loop_config *cfg)
{
    struct xpr_loop_config config;
    int rc;

    if (cfg != NULL)
        config = *cfg;
    else
        memset(&config, 0, sizeof(config));
    test_loop_config(&config);
    rc = xpr_loop_new(loop_out, &config);
    if (rc == XPR_ENOTSUP && config.workers > 1 &&
        (cfg == NULL || cfg->workers == 0)) {
        config.workers = 0;
        rc = xpr_loop_new(loop_out, &config);
    }
    return rc;
}

static void on_deadline(xpr_timer *timer, void *arg)
{
    (void)timer;
    harness.deadline_passed = 1;
    xpr_loop_stop(arg);
}

static void on_empty_watch(xpr_timer *timer, void *arg)
{
    struct xpr_loop_stats stats;
    if (xpr_loop_stats(arg, &stats) != 0) {
        CHECK(!"xpr_loop_stats failed");
        return;
    }
    if (stats.live_connections == 0) {
        xpr_timer_stop(timer);
        xpr_loop_stop(arg);
    }
}

xpr_loop *tloop_new(void)
{
    return tloop_new_config(NULL);
}

xpr_loop *tloop_new_config(const struct xpr_loop_config *cfg)
{
    xpr_loop *loop = NULL;
    const char *wanted = test_backend_env();

    memset(&harness, 0, sizeof(harness));
    assert_int_equal(test_loop_new(&loop, cfg), 0);
    assert_non_null(loop);
    assert_non_null(xpr_loop_backend(loop));
    if (wanted != NULL) {
        assert_string_equal(xpr_loop_backend(loop), wanted);
    }
    assert_int_equal(xpr_timer_new(loop, on_deadline, loop, &harness.deadline),
                     0);
    assert_int_equal(
        xpr_timer_new(loop, on_empty_watch, loop, &harness.empty_watch), 0);
    harness.loop = loop;
    return loop;
}

static void free_harness_loop(xpr_loop *loop)
{
    xpr_timer_free(harness.deadline);
    xpr_timer_free(harness.empty_watch);
    harness.loop = NULL;
    xpr_loop_free(loop);
}

int test_completion_stats(xpr_loop *loop, struct xpr_completion_stats *st)
{
    int rc = xpr_loop_completion_stats(loop, st);
    if (rc == XPR_ENOTSUP) {
        memset(st, 0, sizeof(*st));
        rc = 0;
    }
    return rc;
}

/* The deadline's failure says what the loop still held: what the test
 * waited for that never ended. */
static void fail_deadline(xpr_loop *loop, uint64_t deadline_ms)
{
    struct xpr_loop_stats st;
    struct xpr_completion_stats cs;

    if (xpr_loop_stats(loop, &st) != 0 || test_completion_stats(loop, &cs) != 0)
        fail_msg("deadline of %llu ms passed before the test ended",
                 (unsigned long long)deadline_ms);
    fail_msg("deadline of %llu ms passed before the test ended (the loop "
             "holds %llu conns, %llu listeners, %llu UDP handles, %llu "
             "timers, %llu queued bytes, %llu posts, %llu posted operations)",
             (unsigned long long)deadline_ms,
             (unsigned long long)st.live_connections,
             (unsigned long long)st.live_listeners,
             (unsigned long long)st.live_udp_handles,
             (unsigned long long)st.active_timers,
             (unsigned long long)st.queued_write_bytes,
             (unsigned long long)st.pending_posts,
             (unsigned long long)cs.pending_operations);
}

void tloop_run(xpr_loop *loop, uint64_t deadline_ms)
{
    int rc;

    assert_ptr_equal(loop, harness.loop);
    assert_int_equal(xpr_timer_start(harness.deadline, deadline_ms, 0), 0);
    rc = xpr_loop_run(loop);
    xpr_timer_stop(harness.deadline);
    xpr_timer_stop(harness.empty_watch);
    /* On failure the loop is left as it is (leaked): freeing it could run
     * callbacks into state the failed test no longer keeps consistent, and
     * threads of the test may still post to it. */
    if (rc != 0 || harness.deadline_passed || harness.failed) {
        int passed = harness.deadline_passed;
        harness.loop = NULL;
        if (rc != 0) {
            fail_msg("xpr_loop_run returned %s", xpr_err_name(rc));
        }
        if (harness.failed) {
            fail_msg("%s%s", harness.first_failure,
                     passed ? " (then the deadline passed)" : "");
        }
        fail_deadline(loop, deadline_ms);
    }
}

void tloop_let_idle(xpr_loop *loop)
{
    (void)loop;
    xpr_timer_stop(harness.deadline);
}

void tloop_stop_when_empty(xpr_loop *loop)
{
    (void)loop;
    CHECK_EQ(xpr_timer_start(harness.empty_watch, 2, 2), 0);
}

void tloop_free(xpr_loop *loop)
{
    struct xpr_loop_stats stats;
    struct xpr_completion_stats completion;
    int rc, completion_rc;

    assert_ptr_equal(loop, harness.loop);
    memset(&stats, 0xff, sizeof(stats));
    memset(&completion, 0xff, sizeof(completion));
    rc = xpr_loop_stats(loop, &stats);
    completion_rc = test_completion_stats(loop, &completion);
    free_harness_loop(loop);
    check_no_failure();
    assert_int_equal(rc, 0);
    assert_int_equal(completion_rc, 0);
    assert_int_equal(stats.live_connections, 0);
    assert_int_equal(stats.live_listeners, 0);
    assert_int_equal(stats.live_udp_handles, 0);
    assert_int_equal(stats.active_timers, 0);
    assert_int_equal(stats.queued_write_bytes, 0);
    assert_int_equal(stats.pending_posts, 0);
    assert_int_equal(completion.pending_operations, 0);
}

void tloop_forget(xpr_loop *loop)
{
    assert_ptr_equal(loop, harness.loop);
    xpr_timer_free(harness.deadline);
    xpr_timer_free(harness.empty_watch);
    harness.deadline = NULL;
    harness.empty_watch = NULL;
    harness.loop = NULL;
}

long address_port(const char *address)
{
    const char *colon = strrchr(address, ':');
    char *end = NULL;
    long port;

    if (colon == NULL || colon[1] == '\0') {
        return -1;
    }
    port = strtol(colon + 1, &end, 10);
    return *end == '\0' ? port : -1;
}

xpr_listener *tloop_listen(xpr_loop *loop, const struct xpr_listen_config *cfg,
                           const struct xpr_conn_callbacks *callbacks,
                           void *arg, char address[XPR_ADDRSTRLEN])
{
    xpr_listener *listener = NULL;
    long port;

    assert_int_equal(
        xpr_listen(loop, "127.0.0.1:0", cfg, callbacks, arg, &listener), 0);
    assert_non_null(listener);
    assert_int_equal(xpr_listener_address(listener, address, XPR_ADDRSTRLEN),
                     0);
    assert_memory_equal(address, "127.0.0.1:", 10);
    port = address_port(address);
    assert_true(port > 0 && port <= 65535);
    return listener;
}

xpr_conn *tloop_connect(xpr_loop *loop, const char *address,
                        const struct xpr_conn_callbacks *callbacks, void *arg)
{
    xpr_conn *conn = NULL;
    assert_int_equal(xpr_connect(loop, address, callbacks, arg, &conn), 0);
    assert_non_null(conn);
    return conn;
}
