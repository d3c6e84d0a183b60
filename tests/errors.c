/* Bad input gets an error code, never a crash: bad addresses, NULL
 * arguments, calls on closing conns, short buffers, wrong threads. */
#include <string.h>

#include "common.h"
#include "platform.h"

static const char *const bad_addresses[] = {
    "",
    "1.2.3.4",
    "1.2.3.4:",
    "1.2.3.4:99999",
    "256.1.1.1:80",
    "[::1:80",
    "[::1]",
    "nohost:80",
    "1.2.3:80",
    "[::1]:",
    "127.0.0.1:x",
    ":80",
};
#define BAD_ADDRESS_COUNT (sizeof(bad_addresses) / sizeof(bad_addresses[0]))

static const struct xpr_conn_callbacks no_callbacks = {0};

/* Of the texts above, those xpr_connect takes as a host name to look up:
 * no brackets, a host and a port that is a number up to 65535. */
static int is_host_name(const char *text)
{
    return strcmp(text, "nohost:80") == 0 ||
           strcmp(text, "256.1.1.1:80") == 0 || strcmp(text, "1.2.3:80") == 0;
}

static void test_bad_addresses(void **state)
{
    xpr_loop *loop = tloop_new();
    size_t i;
    (void)state;

    for (i = 0; i < BAD_ADDRESS_COUNT; i++) {
        xpr_listener *listener = NULL;
        xpr_conn *conn = NULL;
        const char *text = bad_addresses[i];
        int rc;

        rc = xpr_listen(loop, text, NULL, &no_callbacks, NULL, &listener);
        assert_null(listener);
        /* Text that is a host name with a port is looked up: listening
         * fails with what the lookup or bind says, never XPR_EINVAL
         * (tests/tcp.c); connecting reaches on_close
         * (tests/connect_name.c). */
        if (is_host_name(text)) {
            if (rc == 0 || rc == XPR_EINVAL)
                fail_msg("xpr_listen(\"%s\") = %s, expected a lookup or "
                         "bind error",
                         text, xpr_err_name(rc));
            continue;
        }
        if (rc != XPR_EINVAL) {
            fail_msg("xpr_listen(\"%s\") = %s, expected XPR_EINVAL", text,
                     xpr_err_name(rc));
        }
        rc = xpr_connect(loop, text, &no_callbacks, NULL, &conn);
        if (rc != XPR_EINVAL) {
            fail_msg("xpr_connect(\"%s\") = %s, expected XPR_EINVAL", text,
                     xpr_err_name(rc));
        }
        assert_null(conn);
    }
    tloop_free(loop); /* nothing was created: stats are all zero */
}

static void test_null_arguments(void **state)
{
    xpr_loop *loop = tloop_new();
    xpr_listener *listener = NULL;
    xpr_conn *conn = NULL;
    char address[XPR_ADDRSTRLEN];
    struct xpr_loop_stats stats;
    (void)state;

    /* Loop. */
    assert_int_equal(xpr_loop_run(NULL), XPR_EINVAL);
    assert_int_equal(xpr_loop_stop(NULL), XPR_EINVAL);
    assert_int_equal(xpr_loop_stats(NULL, &stats), XPR_EINVAL);
    assert_int_equal(xpr_loop_stats(loop, NULL), XPR_EINVAL);

    /* Listen and connect. */
    assert_int_equal(
        xpr_listen(NULL, "127.0.0.1:0", NULL, &no_callbacks, NULL, &listener),
        XPR_EINVAL);
    assert_int_equal(
        xpr_listen(loop, NULL, NULL, &no_callbacks, NULL, &listener),
        XPR_EINVAL);
    assert_int_equal(
        xpr_listen(loop, "127.0.0.1:0", NULL, &no_callbacks, NULL, NULL),
        XPR_EINVAL);
    assert_null(listener);
    assert_int_equal(
        xpr_connect(NULL, "127.0.0.1:1", &no_callbacks, NULL, &conn),
        XPR_EINVAL);
    assert_int_equal(xpr_connect(loop, NULL, &no_callbacks, NULL, &conn),
                     XPR_EINVAL);
    assert_int_equal(
        xpr_connect(loop, "127.0.0.1:1", &no_callbacks, NULL, NULL),
        XPR_EINVAL);
    assert_null(conn);

    /* Listener. */
    assert_int_equal(xpr_listener_address(NULL, address, sizeof(address)),
                     XPR_EINVAL);
    assert_int_equal(xpr_listener_close(NULL), XPR_EINVAL);
    listener = tloop_listen(loop, NULL, &no_callbacks, NULL, address);
    assert_int_equal(xpr_listener_address(listener, NULL, 64), XPR_EINVAL);

    /* Conn. */
    assert_int_equal(xpr_conn_write(NULL, "x", 1), XPR_EINVAL);
    assert_int_equal(xpr_conn_pause_reading(NULL), XPR_EINVAL);
    assert_int_equal(xpr_conn_resume_reading(NULL), XPR_EINVAL);
    assert_int_equal(xpr_conn_shutdown(NULL), XPR_EINVAL);
    assert_int_equal(xpr_conn_close(NULL), XPR_EINVAL);
    assert_int_equal(xpr_conn_abort(NULL), XPR_EINVAL);
    assert_int_equal(xpr_conn_peer_address(NULL, address, sizeof(address)),
                     XPR_EINVAL);
    assert_int_equal(xpr_conn_set_nodelay(NULL, 1), XPR_EINVAL);
    assert_int_equal(xpr_conn_set_keepalive(NULL, 1000, 0), XPR_EINVAL);
    assert_int_equal(xpr_conn_set_idle_timeout(NULL, 1000), XPR_EINVAL);

    conn = tloop_connect(loop, address, &no_callbacks, NULL);
    assert_int_equal(xpr_conn_write(conn, NULL, 5), XPR_EINVAL);
    assert_int_equal(xpr_conn_write(conn, NULL, 0), 0); /* n == 0: no-op */
    assert_int_equal(xpr_conn_write(conn, "abc", 0), 0);
    assert_int_equal(xpr_conn_queued(conn), 0);
    assert_int_equal(xpr_conn_peer_address(conn, NULL, 64), XPR_EINVAL);

    assert_int_equal(xpr_conn_abort(conn), 0);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_stop_when_empty(loop);
    tloop_run(loop, 20000);
    tloop_free(loop);
}

/* ---- calls on a closing conn, and inside its on_close ---- */

struct closing_run {
    xpr_loop *loop;
    xpr_listener *listener;
    unsigned closes; /* either end */
    unsigned client_closes, server_opens, server_closes;
    int use_abort;
};

static void expect_closed_calls(xpr_conn *conn)
{
    CHECK_EQ(xpr_conn_write(conn, "x", 1), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_pause_reading(conn), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_resume_reading(conn), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_shutdown(conn), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_set_nodelay(conn, 1), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_set_keepalive(conn, 1000, 0), XPR_ECLOSED);
    CHECK_EQ(xpr_conn_set_idle_timeout(conn, 1000), XPR_ECLOSED);
}

/* Inside on_close the conn is finished: even its address is gone. */
static void expect_finished_calls(xpr_conn *conn)
{
    char address[XPR_ADDRSTRLEN];

    expect_closed_calls(conn);
    CHECK_EQ(xpr_conn_peer_address(conn, address, sizeof(address)),
             XPR_ECLOSED);
}

static void closing_client_on_open(xpr_conn *conn)
{
    struct closing_run *run = xpr_conn_userdata(conn);

    if (run->use_abort) {
        CHECK_EQ(xpr_conn_abort(conn), 0);
    } else {
        CHECK_EQ(xpr_conn_close(conn), 0);
    }
    expect_closed_calls(conn);
    CHECK_EQ(xpr_conn_close(conn), 0); /* idempotent while closing */
}

static void closing_ends(struct closing_run *run)
{
    CHECK_EQ(xpr_listener_close(run->listener), 0);
    tloop_stop_when_empty(run->loop);
}

/* An aborted connection may never reach the server: a peer's reset while
 * it waits in the backlog fails its accept (Windows documents
 * WSAECONNRESET), and the listener goes on. So the run ends when the
 * client is closed and the server is done with what it accepted. A closed
 * one reaches it (with its FIN): the run ends with both sides closed. */
static void closing_client_on_close(xpr_conn *conn, int err)
{
    struct closing_run *run = xpr_conn_userdata(conn);

    expect_finished_calls(conn);
    run->client_closes++;
    if (run->use_abort || run->server_closes == 1)
        closing_ends(run);
    (void)err;
}

static void closing_server_on_open(xpr_conn *conn)
{
    struct closing_run *run = xpr_conn_userdata(conn);

    run->server_opens++;
}

static void closing_server_on_close(xpr_conn *conn, int err)
{
    struct closing_run *run = xpr_conn_userdata(conn);

    expect_finished_calls(conn);
    run->server_closes++;
    if (!run->use_abort && run->client_closes == 1)
        closing_ends(run);
    (void)err;
}

static void run_closing_case(int use_abort)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = closing_server_on_open,
        .on_close = closing_server_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = closing_client_on_open,
        .on_close = closing_client_on_close,
    };
    struct closing_run run;
    struct xpr_loop_stats stats;
    char address[XPR_ADDRSTRLEN];

    memset(&run, 0, sizeof(run));
    run.use_abort = use_abort;
    run.loop = tloop_new();
    run.listener =
        tloop_listen(run.loop, NULL, &server_callbacks, &run, address);
    tloop_connect(run.loop, address, &client_callbacks, &run);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.client_closes, 1);
    assert_int_equal(run.server_closes, run.server_opens);
    if (!use_abort) {
        assert_int_equal(run.server_opens, 1);
    }
    /* A connection gone before its accept is not the listener's failure. */
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.accept_pauses, 0);
    tloop_free(run.loop);
}

static void test_calls_on_closing_conn(void **state)
{
    (void)state;
    run_closing_case(0);
}

static void test_calls_on_aborted_conn(void **state)
{
    (void)state;
    run_closing_case(1);
}

/* ---- write after shutdown ---- */

static void shut_client_on_open(xpr_conn *conn)
{
    CHECK_EQ(xpr_conn_write(conn, "before", 6), 0);
    CHECK_EQ(xpr_conn_shutdown(conn), 0);
    CHECK_EQ(xpr_conn_write(conn, "after", 5), XPR_ESHUTDOWN);
    CHECK_EQ(xpr_conn_shutdown(conn), 0);
    /* Reading goes on after a half-close. */
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    CHECK_EQ(xpr_conn_resume_reading(conn), 0);
}

static void shut_on_close(xpr_conn *conn, int err)
{
    struct closing_run *run = xpr_conn_userdata(conn);
    CHECK_EQ(err, 0);
    if (++run->closes == 2) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
}

static void test_write_after_shutdown(void **state)
{
    /* The server has no on_eof: it flushes and closes; so does the
     * client when the server's FIN arrives. */
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_close = shut_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = shut_client_on_open,
        .on_close = shut_on_close,
    };
    struct closing_run run;
    char address[XPR_ADDRSTRLEN];
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    run.listener =
        tloop_listen(run.loop, NULL, &server_callbacks, &run, address);
    tloop_connect(run.loop, address, &client_callbacks, &run);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.closes, 2);
    tloop_free(run.loop);
}

/* ---- buffers too small for an address ---- */

static void peer_small_on_open(xpr_conn *conn)
{
    struct closing_run *run = xpr_conn_userdata(conn);
    char buf[XPR_ADDRSTRLEN];
    char full[XPR_ADDRSTRLEN];
    size_t len;

    if (!CHECK_EQ(xpr_conn_peer_address(conn, full, sizeof(full)), 0)) {
        return;
    }
    len = strlen(full);
    memset(buf, 'X', sizeof(buf));
    CHECK_EQ(xpr_conn_peer_address(conn, buf, len), XPR_EINVAL);
    CHECK(buf[0] == 'X' || buf[0] == '\0');
    CHECK_EQ(xpr_conn_peer_address(conn, buf, len + 1), 0);
    CHECK(strcmp(buf, full) == 0);
    CHECK_EQ(xpr_conn_close(conn), 0);
    (void)run;
}

static void test_address_buffer_too_small(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = peer_small_on_open,
        .on_close = shut_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = peer_small_on_open,
        .on_close = shut_on_close,
    };
    struct closing_run run;
    char address[XPR_ADDRSTRLEN];
    char buf[XPR_ADDRSTRLEN];
    size_t len;
    size_t short_len;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    run.listener =
        tloop_listen(run.loop, NULL, &server_callbacks, &run, address);
    len = strlen(address);
    for (short_len = 0; short_len <= len; short_len++) {
        memset(buf, 'X', sizeof(buf));
        assert_int_equal(xpr_listener_address(run.listener, buf, short_len),
                         XPR_EINVAL);
        assert_true(buf[0] == 'X' || buf[0] == '\0');
        assert_int_equal(buf[short_len], 'X'); /* nothing past len */
    }
    assert_int_equal(xpr_listener_address(run.listener, buf, len + 1), 0);
    assert_string_equal(buf, address);
    tloop_connect(run.loop, address, &client_callbacks, &run);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.closes, 2);
    tloop_free(run.loop);
}

/* ---- calls from a thread that does not run the loop ---- */

enum foreign_call {
    FOREIGN_WRITE,
    FOREIGN_PAUSE,
    FOREIGN_RESUME,
    FOREIGN_SHUTDOWN,
    FOREIGN_CLOSE,
    FOREIGN_ABORT,
    FOREIGN_IDLE_TIMEOUT,
    FOREIGN_LISTEN,
    FOREIGN_CONNECT,
    FOREIGN_LISTENER_CLOSE,
    FOREIGN_TIMER_START,
    FOREIGN_RUN,
    FOREIGN_POST,
    FOREIGN_CALL_COUNT
};

struct foreign_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *client;
    xpr_timer *timer;
    struct test_thread *thread;
    int results[FOREIGN_CALL_COUNT];
    xpr_listener *stray_listener;
    xpr_conn *stray_conn;
    unsigned opens, closes;
};

static void on_foreign_done(void *arg)
{
    struct foreign_run *run = arg;
    /* Back on the loop thread: the conn is intact, close everything. */
    CHECK_EQ(xpr_conn_write(run->client, "ok", 2), 0);
    CHECK_EQ(xpr_conn_close(run->client), 0);
    CHECK_EQ(xpr_listener_close(run->listener), 0);
    tloop_stop_when_empty(run->loop);
}

static void foreign_thread_main(void *arg)
{
    struct foreign_run *run = arg;
    int *r = run->results;

    r[FOREIGN_WRITE] = xpr_conn_write(run->client, "x", 1);
    r[FOREIGN_PAUSE] = xpr_conn_pause_reading(run->client);
    r[FOREIGN_RESUME] = xpr_conn_resume_reading(run->client);
    r[FOREIGN_SHUTDOWN] = xpr_conn_shutdown(run->client);
    r[FOREIGN_CLOSE] = xpr_conn_close(run->client);
    r[FOREIGN_ABORT] = xpr_conn_abort(run->client);
    r[FOREIGN_IDLE_TIMEOUT] = xpr_conn_set_idle_timeout(run->client, 10);
    r[FOREIGN_LISTEN] = xpr_listen(run->loop, "127.0.0.1:0", NULL,
                                   &no_callbacks, NULL, &run->stray_listener);
    r[FOREIGN_CONNECT] = xpr_connect(run->loop, run->address, &no_callbacks,
                                     NULL, &run->stray_conn);
    r[FOREIGN_LISTENER_CLOSE] = xpr_listener_close(run->listener);
    r[FOREIGN_TIMER_START] = xpr_timer_start(run->timer, 1, 0);
    r[FOREIGN_RUN] = xpr_loop_run(run->loop);
    /* Posting is allowed from any thread; the post ends the test. */
    r[FOREIGN_POST] = xpr_loop_post(run->loop, on_foreign_done, run);
}

/* Once both ends are open (a conn the listener has not taken yet would
 * be dropped unseen when on_foreign_done closes it). */
static void foreign_on_open(xpr_conn *conn)
{
    struct foreign_run *run = xpr_conn_userdata(conn);
    if (++run->opens == 2)
        CHECK_EQ(test_thread_start(&run->thread, foreign_thread_main, run), 0);
}

static void foreign_on_close(xpr_conn *conn, int err)
{
    struct foreign_run *run = xpr_conn_userdata(conn);
    CHECK_EQ(err, 0);
    run->closes++;
}

static void on_unused_timer(xpr_timer *timer, void *arg)
{
    (void)timer;
    (void)arg;
    CHECK(!"a timer started from another thread ran");
}

static void test_calls_from_another_thread(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = foreign_on_open,
        .on_close = foreign_on_close,
    };
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = foreign_on_open,
        .on_close = foreign_on_close,
    };
    struct foreign_run run;
    int i;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    assert_int_equal(xpr_timer_new(run.loop, on_unused_timer, &run, &run.timer),
                     0);
    run.listener =
        tloop_listen(run.loop, NULL, &server_callbacks, &run, run.address);
    run.client = tloop_connect(run.loop, run.address, &callbacks, &run);
    tloop_run(run.loop, 20000);
    assert_non_null(run.thread);
    test_thread_join(run.thread);
    for (i = 0; i < FOREIGN_CALL_COUNT; i++) {
        int rc = run.results[i];
        if (i == FOREIGN_POST) {
            assert_int_equal(rc, 0);
        } else if (i == FOREIGN_RUN) {
            assert_true(rc == XPR_ETHREAD || rc == XPR_EBUSY);
        } else if (rc != XPR_ETHREAD) {
            fail_msg("call %d from another thread: %s, expected XPR_ETHREAD", i,
                     xpr_err_name(rc));
        }
    }
    assert_null(run.stray_listener);
    assert_null(run.stray_conn);
    assert_int_equal(run.closes, 2);
    xpr_timer_free(run.timer);
    tloop_free(run.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_calls_on_closing_conn),
        cmocka_unit_test(test_calls_on_aborted_conn),
        cmocka_unit_test(test_write_after_shutdown),
        cmocka_unit_test(test_address_buffer_too_small),
        cmocka_unit_test(test_calls_from_another_thread),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
