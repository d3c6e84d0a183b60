/* The loop's lifecycle, back-end selection and the error table. */
#include <string.h>

#include "common.h"
#include "platform.h"

static const char *const known_backends[] = {
    "libevent",    "libevent-bev", "libevent-iocp",
    "poll",        "select",       "eventselect",
    "asyncselect", "overlapped",   "completion-routine",
    "iocp",        "blocking",     "nonblocking",
};
#define KNOWN_BACKEND_COUNT (sizeof(known_backends) / sizeof(known_backends[0]))

static int offered_by_build(const char *name)
{
    size_t i;
    for (i = 0; i < xpr_backend_count(); i++) {
        if (strcmp(xpr_backend_name_at(i), name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* xpr_loop_new itself with a NULL and a zeroed config: the library's
 * defaults, without the suite's knobs (test_loop_new). */
static void test_new_and_free(void **state)
{
    xpr_loop *loop = NULL;
    struct xpr_loop_config cfg;
    const char *wanted = test_backend_env();
    (void)state;

    assert_int_equal(xpr_loop_new(&loop, NULL), 0);
    assert_non_null(loop);
    assert_string_equal(xpr_loop_backend(loop),
                        wanted != NULL ? wanted : xpr_backend_default());
    xpr_loop_free(loop);

    memset(&cfg, 0, sizeof(cfg)); /* zeroed = defaults */
    loop = NULL;
    assert_int_equal(xpr_loop_new(&loop, &cfg), 0);
    assert_non_null(loop);
    assert_string_equal(xpr_loop_backend(loop),
                        wanted != NULL ? wanted : xpr_backend_default());
    xpr_loop_free(loop);

    xpr_loop_free(NULL); /* ignored */
    assert_int_equal(xpr_loop_new(NULL, NULL), XPR_EINVAL);
}

static void test_run_with_nothing_returns(void **state)
{
    xpr_loop *loop = NULL;
    (void)state;

    assert_int_equal(test_loop_new(&loop, NULL), 0);
    assert_int_equal(xpr_loop_run(loop), 0);
    assert_int_equal(xpr_loop_run(loop), 0); /* and again */
    xpr_loop_free(loop);
}

static void on_stop_requested_early(xpr_timer *timer, void *arg)
{
    int *fired = arg;
    (void)timer;
    (*fired)++;
}

/* A stop requested before xpr_loop_run makes it return after one iteration,
 * although a started timer would keep it running. */
static void test_stop_before_run(void **state)
{
    xpr_loop *loop = tloop_new();
    xpr_timer *far = NULL;
    int fired = 0;
    (void)state;

    assert_int_equal(xpr_timer_new(loop, on_stop_requested_early, &fired, &far),
                     0);
    assert_int_equal(xpr_timer_start(far, 60000, 0), 0);
    assert_int_equal(xpr_loop_stop(loop), 0);
    tloop_run(loop, 10000);
    assert_int_equal(fired, 0);
    xpr_timer_free(far);
    tloop_free(loop);
}

static void on_run_inside_callback(xpr_timer *timer, void *arg)
{
    xpr_loop *loop = arg;
    (void)timer;
    CHECK_EQ(xpr_loop_run(loop), XPR_EBUSY);
    xpr_loop_stop(loop);
}

static void test_run_while_running_is_busy(void **state)
{
    xpr_loop *loop = tloop_new();
    xpr_timer *timer = NULL;
    (void)state;

    assert_int_equal(xpr_timer_new(loop, on_run_inside_callback, loop, &timer),
                     0);
    assert_int_equal(xpr_timer_start(timer, 0, 0), 0);
    tloop_run(loop, 10000);
    xpr_timer_free(timer);
    tloop_free(loop);
}

static void on_idle_wait_over(xpr_timer *timer, void *arg)
{
    (void)timer;
    xpr_loop_stop(arg);
}

/* Waiting must sleep, not spin: with nothing but a timer (Windows select()
 * with empty sets returns at once), and with an idle listener and an idle
 * connection pair. */
static void test_idle_loop_sleeps(void **state)
{
    static const struct xpr_conn_callbacks no_callbacks = {0};
    xpr_loop *loop = tloop_new();
    xpr_timer *wait = NULL;
    xpr_listener *listener;
    xpr_conn *client;
    char address[XPR_ADDRSTRLEN];
    uint64_t cpu_before;
    uint64_t cpu_used;
    (void)state;

    assert_int_equal(xpr_timer_new(loop, on_idle_wait_over, loop, &wait), 0);
    assert_int_equal(xpr_timer_start(wait, 300, 0), 0);
    cpu_before = test_cpu_ms();
    tloop_run(loop, 10000);
    cpu_used = test_cpu_ms() - cpu_before;
    if (cpu_used > 150) {
        fail_msg("%llu ms of CPU in a 300 ms wait with no sockets",
                 (unsigned long long)cpu_used);
    }

    listener = tloop_listen(loop, NULL, &no_callbacks, NULL, address);
    client = tloop_connect(loop, address, &no_callbacks, NULL);
    assert_int_equal(xpr_timer_start(wait, 300, 0), 0);
    cpu_before = test_cpu_ms();
    tloop_run(loop, 10000);
    cpu_used = test_cpu_ms() - cpu_before;
    if (cpu_used > 150) {
        fail_msg("%llu ms of CPU in a 300 ms wait with idle sockets",
                 (unsigned long long)cpu_used);
    }
    assert_int_equal(xpr_conn_close(client), 0);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_stop_when_empty(loop);
    tloop_run(loop, 10000);
    xpr_timer_free(wait);
    tloop_free(loop);
}

static void test_unknown_backend_is_einval(void **state)
{
    struct xpr_loop_config cfg;
    xpr_loop *loop = (xpr_loop *)&cfg; /* must stay untouched */
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.backend = "no-such-backend";
    assert_int_equal(xpr_loop_new(&loop, &cfg), XPR_EINVAL);
    assert_ptr_equal(loop, (xpr_loop *)&cfg);
    cfg.backend = "";
    assert_int_equal(xpr_loop_new(&loop, &cfg), XPR_EINVAL);
    assert_int_equal(xpr_backend_supported("no-such-backend"), XPR_EINVAL);
    assert_int_equal(xpr_backend_supported(""), XPR_EINVAL);
}

/* Known back ends this build lacks ("iocp" on Linux, "poll" on Windows)
 * are XPR_ENOTSUP, never a fallback to another back end. */
static void test_missing_backend_is_enotsup(void **state)
{
    size_t missing = 0;
    size_t i;
    (void)state;

    for (i = 0; i < KNOWN_BACKEND_COUNT; i++) {
        struct xpr_loop_config cfg;
        xpr_loop *loop = NULL;
        const char *name = known_backends[i];

        if (offered_by_build(name)) {
            continue;
        }
        missing++;
        assert_int_equal(xpr_backend_supported(name), XPR_ENOTSUP);
        memset(&cfg, 0, sizeof(cfg));
        cfg.backend = name;
        assert_int_equal(xpr_loop_new(&loop, &cfg), XPR_ENOTSUP);
        assert_null(loop);
    }
    /* No platform has every back end: iocp and poll exclude each other. */
    assert_true(missing > 0);
}

static void test_backend_enumeration(void **state)
{
    size_t count = xpr_backend_count();
    const char *wanted = test_backend_env();
    size_t i;
    size_t j;
    (void)state;

    assert_true(count >= 1);
    assert_null(xpr_backend_name_at(count));
    assert_null(xpr_backend_name_at(count + 100));
    for (i = 0; i < count; i++) {
        const char *name = xpr_backend_name_at(i);
        int known = 0;
        assert_non_null(name);
        assert_int_equal(xpr_backend_supported(name), 0);
        for (j = 0; j < KNOWN_BACKEND_COUNT; j++) {
            known |= strcmp(name, known_backends[j]) == 0;
        }
        assert_true(known);
        for (j = 0; j < i; j++) {
            assert_string_not_equal(name, xpr_backend_name_at(j));
        }
    }
    assert_non_null(xpr_backend_default());
    assert_true(offered_by_build(xpr_backend_default()));
    if (wanted != NULL) {
        assert_true(offered_by_build(wanted));
    }
}

/* cfg.backend wins over XPR_BACKEND; every offered back end can be made. */
static void test_every_backend_by_name(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < xpr_backend_count(); i++) {
        struct xpr_loop_config cfg;
        xpr_loop *loop = NULL;

        memset(&cfg, 0, sizeof(cfg));
        cfg.backend = xpr_backend_name_at(i);
        assert_int_equal(test_loop_new(&loop, &cfg), 0);
        assert_string_equal(xpr_loop_backend(loop), cfg.backend);
        assert_int_equal(xpr_loop_run(loop), 0);
        xpr_loop_free(loop);
    }
}

static void test_workers_need_support(void **state)
{
    struct xpr_loop_config cfg;
    xpr_loop *loop = NULL;
    int rc;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.workers = 2;
    rc = test_loop_new(&loop, &cfg);
    if (rc == 0) {
        /* Only iocp runs callbacks on several threads. */
        assert_string_equal(xpr_loop_backend(loop), "iocp");
        xpr_loop_free(loop);
    } else {
        assert_int_equal(rc, XPR_ENOTSUP);
        assert_null(loop);
    }
    cfg.workers = 1; /* one worker is the caller's thread: always fine */
    assert_int_equal(test_loop_new(&loop, &cfg), 0);
    xpr_loop_free(loop);
    loop = NULL;
    cfg.workers = 65; /* more than any back end takes */
    assert_int_equal(test_loop_new(&loop, &cfg), XPR_EINVAL);
    assert_null(loop);
}

static void test_error_table(void **state)
{
    struct error_row {
        int code;
        const char *name;
        const char *message;
    };
    static const struct error_row rows[] = {
#define XPR_TEST_ERROR_ROW_(name, value, msg) {name, #name, msg},
        XPR_ERROR_LIST(XPR_TEST_ERROR_ROW_)
#undef XPR_TEST_ERROR_ROW_
    };
    size_t count = sizeof(rows) / sizeof(rows[0]);
    size_t i;
    size_t j;
    (void)state;

    for (i = 0; i < count; i++) {
        assert_true(rows[i].code < 0);
        assert_string_equal(xpr_strerror(rows[i].code), rows[i].message);
        assert_string_equal(xpr_err_name(rows[i].code), rows[i].name);
        for (j = 0; j < i; j++) {
            assert_int_not_equal(rows[i].code, rows[j].code);
            assert_string_not_equal(xpr_strerror(rows[i].code),
                                    xpr_strerror(rows[j].code));
        }
    }
    assert_string_equal(xpr_strerror(-9999), "unknown error");
    assert_string_equal(xpr_strerror(12345), "unknown error");
    assert_string_equal(xpr_err_name(-9999), "XPR_E?");
    assert_string_equal(xpr_err_name(12345), "XPR_E?");
    assert_non_null(xpr_strerror(0));
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(xpr_version(), XPR_VERSION_MAJOR * 10000 +
                                        XPR_VERSION_MINOR * 100 +
                                        XPR_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test(test_run_with_nothing_returns),
        cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_run_while_running_is_busy),
        cmocka_unit_test(test_idle_loop_sleeps),
        cmocka_unit_test(test_unknown_backend_is_einval),
        cmocka_unit_test(test_missing_backend_is_enotsup),
        cmocka_unit_test(test_backend_enumeration),
        cmocka_unit_test(test_every_backend_by_name),
        cmocka_unit_test(test_workers_need_support),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
