/* xpr_conn_adopt: a socket the test connected itself (to an xpr listener)
 * becomes a conn that echoes verified bytes, hears on_open from the loop
 * (not inside the call) and on_close once, and is closed by xpr: the
 * process holds as many descriptors or handles afterwards as before. Bad
 * input is XPR_EINVAL and leaves the socket the caller's. */
#include <string.h>

#include "common.h"
#include "pattern.h"
#include "platform.h"

#define ECHO_BYTES (256u * 1024u)
#define PATTERN_SEED 7u

struct adopt_run {
    xpr_loop *loop;
    xpr_listener *listener;
    int in_adopt_call;
    unsigned opens, closes, server_opens, server_closes;
    int close_err;
    size_t sent, echoed;
    char local[XPR_ADDRSTRLEN];       /* the adopted conn's own address */
    char server_peer[XPR_ADDRSTRLEN]; /* what the server sees */
};

static void note_closed(struct adopt_run *r)
{
    if (r->closes == 1 && r->server_closes == 1 && r->listener != NULL) {
        CHECK_EQ(xpr_listener_close(r->listener), 0);
        r->listener = NULL;
        tloop_stop_when_empty(r->loop);
    }
}

static void server_on_open(xpr_conn *conn)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    /* fails once the peer reset it (test_adopt_then_abort) */
    if (xpr_conn_peer_address(conn, r->server_peer, sizeof(r->server_peer)))
        r->server_peer[0] = '\0';
    callback_leave();
}

static void server_on_data(xpr_conn *conn, const void *p, size_t n)
{
    callback_enter();
    CHECK_EQ(xpr_conn_write(conn, p, n), 0);
    callback_leave();
}

static void server_on_close(xpr_conn *conn, int err)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    (void)err; /* the adopted end may reset it */
    r->server_closes++;
    note_closed(r);
    callback_leave();
}

static const struct xpr_conn_callbacks server_cb = {.on_open = server_on_open,
                                                    .on_data = server_on_data,
                                                    .on_close =
                                                        server_on_close};

static void client_on_open(xpr_conn *conn)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    unsigned char chunk[4096];
    callback_enter();
    CHECK(!r->in_adopt_call);
    r->opens++;
    CHECK_EQ(xpr_conn_local_address(conn, r->local, sizeof(r->local)), 0);
    while (r->sent < ECHO_BYTES) {
        pattern_fill(PATTERN_SEED, r->sent, chunk, sizeof(chunk));
        CHECK_EQ(xpr_conn_write(conn, chunk, sizeof(chunk)), 0);
        r->sent += sizeof(chunk);
    }
    callback_leave();
}

static void client_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    CHECK(r->echoed + n <= ECHO_BYTES);
    CHECK_EQ(pattern_mismatch(PATTERN_SEED, r->echoed, p, n), n);
    r->echoed += n;
    if (r->echoed == ECHO_BYTES)
        CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void client_on_close(xpr_conn *conn, int err)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    r->closes++;
    r->close_err = err;
    note_closed(r);
    callback_leave();
}

static const struct xpr_conn_callbacks client_cb = {.on_open = client_on_open,
                                                    .on_data = client_on_data,
                                                    .on_close =
                                                        client_on_close};

/* A socket connected by the test, outside xpr, to r's listener. */
static test_socket connect_outside(struct adopt_run *r, const char *address)
{
    test_socket s;
    (void)r;
    assert_int_equal(test_socket_connect(address_port(address), &s), 0);
    return s;
}

static void test_adopt_echoes(void **state)
{
    long handles_before = test_handles_baseline();
    struct adopt_run r;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *c = NULL;
    test_socket s;
    xpr_os_socket own;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.loop = tloop_new();
    r.listener = tloop_listen(r.loop, NULL, &server_cb, &r, address);
    s = connect_outside(&r, address);
    r.in_adopt_call = 1;
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)s, &client_cb, &r, &c), 0);
    r.in_adopt_call = 0;
    assert_non_null(c);
    assert_int_equal(r.opens, 0); /* from the loop, never inside the call */
    assert_int_equal(xpr_conn_socket(c, &own), 0);
    assert_true(own == (xpr_os_socket)s);
    tloop_run(r.loop, 30000);
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.echoed, ECHO_BYTES);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, 0);
    assert_int_equal(r.server_closes, 1);
    /* the adopted conn's address is the one the server saw */
    assert_string_equal(r.local, r.server_peer);
    tloop_free(r.loop);
    assert_int_equal(test_open_handles(), handles_before);
}

static void count_open(xpr_conn *conn)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    r->opens++;
}

/* The server may never see this conn: a connection reset in the backlog
 * is dropped there on Windows, accepted and then reset on Linux. */
static void aborted_on_close(xpr_conn *conn, int err)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    r->closes++;
    r->close_err = err;
    CHECK_EQ(xpr_listener_close(r->listener), 0);
    r->listener = NULL;
    tloop_stop_when_empty(r->loop);
    callback_leave();
}

static const struct xpr_conn_callbacks abort_cb = {
    .on_open = count_open, .on_close = aborted_on_close};

/* Aborted before its on_open: one on_close(0), no on_open, the socket
 * closed. */
static void test_adopt_then_abort(void **state)
{
    long handles_before = test_handles_baseline();
    struct adopt_run r;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *c = NULL;
    test_socket s;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.loop = tloop_new();
    r.listener = tloop_listen(r.loop, NULL, &server_cb, &r, address);
    s = connect_outside(&r, address);
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)s, &abort_cb, &r, &c), 0);
    assert_int_equal(xpr_conn_abort(c), 0);
    tloop_run(r.loop, 30000);
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, 0);
    assert_true(r.server_closes <= 1);
    tloop_free(r.loop);
    assert_int_equal(test_open_handles(), handles_before);
}

static void greet_on_open(xpr_conn *conn)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    r->server_opens++;
    CHECK_EQ(xpr_conn_write(conn, "greeting", 8), 0);
    callback_leave();
}

static const struct xpr_conn_callbacks greet_cb = {.on_open = greet_on_open,
                                                   .on_close = server_on_close};

static void greeted_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct adopt_run *r = xpr_conn_userdata(conn);
    callback_enter();
    CHECK(r->echoed + n <= 8 && memcmp(p, &"greeting"[r->echoed], n) == 0);
    r->echoed += n;
    if (r->echoed == 8)
        CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static const struct xpr_conn_callbacks greeted_cb = {.on_open = count_open,
                                                     .on_data = greeted_on_data,
                                                     .on_close =
                                                         client_on_close};

/* Bytes the peer sent before the socket was adopted are delivered: the
 * transport reads what already waits (no edge it missed). */
static void test_adopt_with_bytes_waiting(void **state)
{
    struct adopt_run r;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *c = NULL;
    uint64_t until;
    test_socket s;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.loop = tloop_new();
    r.listener = tloop_listen(r.loop, NULL, &greet_cb, &r, address);
    s = connect_outside(&r, address);
    /* serve the greeting, and give it time to reach s */
    until = test_now_ms() + 10000;
    while (r.server_opens == 0 && test_now_ms() < until) {
        assert_true(xpr_loop_run_mode(r.loop, XPR_RUN_NOWAIT) >= 0);
        test_yield(); /* the blocking back end's accept thread must run */
    }
    assert_int_equal(r.server_opens, 1);
    until = test_now_ms() + 100;
    while (test_now_ms() < until) {
        assert_true(xpr_loop_run_mode(r.loop, XPR_RUN_NOWAIT) >= 0);
        test_yield();
    }
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)s, &greeted_cb, &r, &c), 0);
    tloop_run(r.loop, 30000);
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.echoed, 8);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, 0);
    assert_int_equal(r.server_closes, 1);
    tloop_free(r.loop);
}

/* Bad input: XPR_EINVAL, and the socket stays the caller's. */
static void test_adopt_bad_input(void **state)
{
    struct adopt_run r;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *c = NULL;
    xpr_os_socket listening;
    test_socket s;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.loop = tloop_new();
    r.listener = tloop_listen(r.loop, NULL, &server_cb, &r, address);
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)-1, &client_cb, &r, &c),
        XPR_EINVAL);
    /* a listening socket is not connected */
    assert_int_equal(xpr_listener_socket(r.listener, &listening), 0);
    assert_int_equal(xpr_conn_adopt(r.loop, listening, &client_cb, &r, &c),
                     XPR_EINVAL);
    s = connect_outside(&r, address);
    assert_int_equal(xpr_conn_adopt(NULL, (xpr_os_socket)s, &client_cb, &r, &c),
                     XPR_EINVAL);
    assert_int_equal(xpr_conn_adopt(r.loop, (xpr_os_socket)s, NULL, &r, &c),
                     XPR_EINVAL);
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)s, &client_cb, &r, NULL),
        XPR_EINVAL);
    assert_null(c);
    /* still the test's, still connected: it can send */
    assert_int_equal(test_socket_send_all(s, "x", 1), 0);
    test_socket_close(s);
    /* s waited in the backlog: the loop never ran, nothing took it */
    assert_int_equal(xpr_listener_close(r.listener), 0);
    tloop_free(r.loop);
}

/* iocp only (main): a socket has one completion port for life, so a
 * second loop's port refuses a socket the first one adopted (XPR_EINVAL).
 * Other back ends cannot tell and are not asked. */
static void test_adopt_second_port_refused(void **state)
{
    struct adopt_run r;
    char address[XPR_ADDRSTRLEN];
    xpr_loop *other = NULL;
    xpr_conn *c = NULL, *again = NULL;
    test_socket s;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.loop = tloop_new();
    r.listener = tloop_listen(r.loop, NULL, &server_cb, &r, address);
    s = connect_outside(&r, address);
    assert_int_equal(
        xpr_conn_adopt(r.loop, (xpr_os_socket)s, &abort_cb, &r, &c), 0);
    assert_int_equal(test_loop_new(&other, NULL), 0);
    assert_int_equal(
        xpr_conn_adopt(other, (xpr_os_socket)s, &abort_cb, &r, &again),
        XPR_EINVAL);
    assert_null(again);
    xpr_loop_free(other);
    assert_int_equal(xpr_conn_abort(c), 0);
    tloop_run(r.loop, 30000);
    assert_int_equal(r.closes, 1);
    tloop_free(r.loop);
}

int main(void)
{
    const char *backend = test_backend_env();
    struct CMUnitTest tests[5];
    size_t n = 0;

    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_adopt_echoes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_adopt_then_abort);
    tests[n++] =
        (struct CMUnitTest)cmocka_unit_test(test_adopt_with_bytes_waiting);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_adopt_bad_input);
    if (backend != NULL && strcmp(backend, "iocp") == 0)
        tests[n++] =
            (struct CMUnitTest)cmocka_unit_test(test_adopt_second_port_refused);
    return _cmocka_run_group_tests("adopt", tests, n, NULL, NULL);
}
