/* Vectored writes and lent writes (xpr_conn_writev, xpr_conn_write_lent):
 * the bytes arrive in order and intact, a lent buffer is given back exactly
 * once (0 once sent, XPR_ECANCELED when the conn ends first), from the loop
 * and before the conn's on_close, and bad arguments are errors that leave
 * the buffer with the caller. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_server.h"
#include "pattern.h"

#define SEED 77u
#define LENT_LEN (8u * 1024 * 1024)
/* Far more than loopback socket buffers hold while the peer does not
 * read: part of it is still queued when the writer aborts. */
#define STUCK_LEN (32u * 1024 * 1024)

struct writer {
    xpr_loop *loop;
    struct echo_server server;
    unsigned char *data; /* the stream the client writes, from offset 0 */
    uint64_t total;      /* bytes the client writes */
    uint64_t received;   /* echoed back, verified */
    unsigned releases;
    int release_status;
    int in_write_call; /* inside an xpr_conn_write* of the test */
    int closed;        /* the client's on_close ran */
    unsigned closes;
    int close_err;
};

static void client_release(void *arg, int status)
{
    struct writer *w = arg;
    callback_enter();
    CHECK(!w->in_write_call);
    CHECK(!w->closed); /* before on_close */
    w->releases++;
    w->release_status = status;
    callback_leave();
}

static void client_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct writer *w = xpr_conn_userdata(conn);
    callback_enter();
    if (CHECK(w->received + n <= w->total))
        CHECK_EQ(pattern_mismatch(SEED, w->received, p, n), n);
    w->received += n;
    if (w->received == w->total)
        CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void client_on_close(xpr_conn *conn, int err)
{
    struct writer *w = xpr_conn_userdata(conn);
    callback_enter();
    w->closed = 1;
    w->closes++;
    w->close_err = err;
    tloop_stop_when_empty(w->loop);
    callback_leave();
}

/* ---- a vectored write of many pieces, some empty ---- */

static void writev_on_open(xpr_conn *conn)
{
    struct writer *w = xpr_conn_userdata(conn);
    /* More pieces than one vectored send takes, sizes from 0 to 200 KiB. */
    static const size_t sizes[] = {
        1, 0,     1000, 70000, 3, 0,     4096, 17,  65536, 1, 200000,
        5, 16384, 0,    999,   2, 33333, 7,    100, 12,    8, 131072};
    struct xpr_buf bufs[sizeof(sizes) / sizeof(sizes[0])];
    size_t i, at = 0;
    callback_enter();
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        bufs[i].base = w->data + at;
        bufs[i].len = sizes[i];
        at += sizes[i];
    }
    CHECK_EQ(at, w->total);
    w->in_write_call = 1;
    CHECK_EQ(xpr_conn_writev(conn, bufs, i), 0);
    w->in_write_call = 0;
    callback_leave();
}

static void test_writev_echo(void **state)
{
    static const struct xpr_conn_callbacks client_cb = {
        .on_open = writev_on_open,
        .on_data = client_on_data,
        .on_close = client_on_close};
    struct writer w;
    (void)state;
    memset(&w, 0, sizeof(w));
    w.total = 1 + 1000 + 70000 + 3 + 4096 + 17 + 65536 + 1 + 200000 + 5 +
              16384 + 999 + 2 + 33333 + 7 + 100 + 12 + 8 + 131072;
    w.data = pattern_alloc(SEED, (size_t)w.total);
    w.loop = tloop_new();
    echo_server_start(&w.server, w.loop, NULL);
    tloop_connect(w.loop, w.server.address, &client_cb, &w);
    tloop_run(w.loop, 20000);
    assert_int_equal(w.received, w.total);
    assert_int_equal(w.closes, 1);
    assert_int_equal(w.close_err, 0);
    echo_server_stop_listening(&w.server);
    tloop_free(w.loop);
    free(w.data);
}

/* ---- a lent write: echoed intact, released once with 0 ---- */

static void lent_on_open(xpr_conn *conn)
{
    struct writer *w = xpr_conn_userdata(conn);
    callback_enter();
    w->in_write_call = 1;
    CHECK_EQ(xpr_conn_write_lent(conn, w->data, LENT_LEN, client_release, w),
             0);
    /* Copied bytes queue behind the lent ones, in order. */
    CHECK_EQ(xpr_conn_write(conn, w->data + LENT_LEN, 100), 0);
    CHECK_EQ(xpr_conn_write_lent(conn, w->data + LENT_LEN + 100, 1,
                                 client_release, w),
             0);
    w->in_write_call = 0;
    CHECK_EQ(w->releases, 0);
    callback_leave();
}

static void test_lent_write_echo(void **state)
{
    static const struct xpr_conn_callbacks client_cb = {
        .on_open = lent_on_open,
        .on_data = client_on_data,
        .on_close = client_on_close};
    struct writer w;
    (void)state;
    memset(&w, 0, sizeof(w));
    w.total = LENT_LEN + 101;
    w.data = pattern_alloc(SEED, (size_t)w.total);
    w.release_status = -1;
    w.loop = tloop_new();
    echo_server_start(&w.server, w.loop, NULL);
    tloop_connect(w.loop, w.server.address, &client_cb, &w);
    tloop_run(w.loop, 60000);
    assert_int_equal(w.received, w.total);
    assert_int_equal(w.releases, 2);
    assert_int_equal(w.release_status, 0);
    assert_int_equal(w.closes, 1);
    assert_int_equal(w.close_err, 0);
    echo_server_stop_listening(&w.server);
    tloop_free(w.loop);
    free(w.data);
}

/* ---- a lent write the peer never reads: released with XPR_ECANCELED ---- */

struct stuck {
    struct writer w;
    xpr_listener *listener;
    xpr_conn *server_conn;
    xpr_conn *client;
    xpr_timer *timer;
};

static void silent_on_open(xpr_conn *conn)
{
    struct stuck *s = xpr_conn_userdata(conn);
    callback_enter();
    s->server_conn = conn;
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    callback_leave();
}

static void silent_on_close(xpr_conn *conn, int err)
{
    struct stuck *s = xpr_conn_userdata(conn);
    (void)err;
    s->server_conn = NULL;
}

static void stuck_on_open(xpr_conn *conn)
{
    struct stuck *s = xpr_conn_userdata(conn);
    callback_enter();
    s->w.in_write_call = 1;
    CHECK_EQ(
        xpr_conn_write_lent(conn, s->w.data, STUCK_LEN, client_release, &s->w),
        0);
    s->w.in_write_call = 0;
    callback_leave();
}

static void stuck_on_close(xpr_conn *conn, int err)
{
    struct stuck *s = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(s->w.releases, 1); /* released before on_close */
    s->w.closed = 1;
    s->w.closes++;
    s->w.close_err = err;
    if (s->server_conn != NULL)
        CHECK_EQ(xpr_conn_abort(s->server_conn), 0);
    CHECK_EQ(xpr_listener_close(s->listener), 0);
    tloop_stop_when_empty(s->w.loop);
    callback_leave();
}

static void stuck_check(xpr_timer *t, void *arg)
{
    struct stuck *s = arg;
    (void)t;
    callback_enter();
    /* The peer reads nothing: the buffer is still lent. */
    CHECK(xpr_conn_queued(s->client) > 0);
    CHECK_EQ(s->w.releases, 0);
    s->w.in_write_call = 1;
    CHECK_EQ(xpr_conn_abort(s->client), 0);
    s->w.in_write_call = 0;
    CHECK_EQ(s->w.releases, 0); /* from the loop, not from inside abort */
    callback_leave();
}

static void test_lent_write_cancelled(void **state)
{
    static const struct xpr_conn_callbacks silent_cb = {
        .on_open = silent_on_open, .on_close = silent_on_close};
    static const struct xpr_conn_callbacks client_cb = {
        .on_open = stuck_on_open, .on_close = stuck_on_close};
    struct stuck s;
    char address[XPR_ADDRSTRLEN];
    (void)state;
    memset(&s, 0, sizeof(s));
    s.w.data = pattern_alloc(SEED, STUCK_LEN);
    s.w.release_status = -1;
    s.w.loop = tloop_new();
    s.listener = tloop_listen(s.w.loop, NULL, &silent_cb, &s, address);
    s.client = tloop_connect(s.w.loop, address, &client_cb, &s);
    assert_int_equal(xpr_timer_new(s.w.loop, stuck_check, &s, &s.timer), 0);
    assert_int_equal(xpr_timer_start(s.timer, 500, 0), 0);
    tloop_run(s.w.loop, 30000);
    assert_int_equal(s.w.releases, 1);
    assert_int_equal(s.w.release_status, XPR_ECANCELED);
    assert_int_equal(s.w.closes, 1);
    xpr_timer_free(s.timer);
    tloop_free(s.w.loop);
    free(s.w.data);
}

/* ---- bad arguments: errors, and the buffer stays the caller's ---- */

static void bad_on_open(xpr_conn *conn)
{
    struct writer *w = xpr_conn_userdata(conn);
    static const char byte = 'x';
    struct xpr_buf bufs[2];
    callback_enter();
    bufs[0].base = &byte;
    bufs[0].len = 1;
    bufs[1].base = NULL;
    bufs[1].len = 1;
    CHECK_EQ(xpr_conn_write_lent(conn, &byte, 0, client_release, w),
             XPR_EINVAL);
    CHECK_EQ(xpr_conn_write_lent(conn, NULL, 1, client_release, w), XPR_EINVAL);
    CHECK_EQ(xpr_conn_write_lent(conn, &byte, 1, NULL, w), XPR_EINVAL);
    CHECK_EQ(xpr_conn_write_lent(NULL, &byte, 1, client_release, w),
             XPR_EINVAL);
    CHECK_EQ(xpr_conn_writev(conn, NULL, 1), XPR_EINVAL);
    CHECK_EQ(xpr_conn_writev(conn, bufs, 2), XPR_EINVAL);
    CHECK_EQ(xpr_conn_writev(NULL, bufs, 1), XPR_EINVAL);
    CHECK_EQ(xpr_conn_writev(conn, bufs, 0), 0);
    CHECK_EQ(xpr_conn_shutdown(conn), 0);
    CHECK_EQ(xpr_conn_write_lent(conn, &byte, 1, client_release, w),
             XPR_ESHUTDOWN);
    CHECK_EQ(xpr_conn_writev(conn, bufs, 1), XPR_ESHUTDOWN);
    CHECK_EQ(xpr_conn_close(conn), 0);
    CHECK_EQ(xpr_conn_write_lent(conn, &byte, 1, client_release, w),
             XPR_ECLOSED);
    CHECK_EQ(xpr_conn_writev(conn, bufs, 1), XPR_ECLOSED);
    callback_leave();
}

static void test_bad_arguments(void **state)
{
    static const struct xpr_conn_callbacks client_cb = {
        .on_open = bad_on_open, .on_close = client_on_close};
    struct writer w;
    (void)state;
    memset(&w, 0, sizeof(w));
    w.loop = tloop_new();
    echo_server_start(&w.server, w.loop, NULL);
    tloop_connect(w.loop, w.server.address, &client_cb, &w);
    tloop_run(w.loop, 20000);
    assert_int_equal(w.releases, 0); /* no call returned 0 */
    assert_int_equal(w.closes, 1);
    echo_server_stop_listening(&w.server);
    tloop_free(w.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writev_echo),
        cmocka_unit_test(test_lent_write_echo),
        cmocka_unit_test(test_lent_write_cancelled),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("writes", tests, NULL, NULL);
}
