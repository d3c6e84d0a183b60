/* xpr_connect by name: "localhost" goes through the system's resolver, the
 * addresses are tried in order until one answers (a refused one first is
 * skipped), the last failure reaches on_close, an unknown name is
 * XPR_ENOTFOUND in on_close (never XPR_EINVAL from xpr_connect), and a
 * conn closed or aborted while its name is looked up ends once. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "loop_internal.h"

struct name_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    unsigned opens, closes, echoed;
    int close_err;
    int abort_at_once;
};

static void server_on_data(xpr_conn *conn, const void *p, size_t n)
{
    callback_enter();
    CHECK_EQ(xpr_conn_write(conn, p, n), 0);
    callback_leave();
}

static void server_on_close(xpr_conn *conn, int err)
{
    (void)conn;
    (void)err;
}

static void client_on_open(xpr_conn *conn)
{
    struct name_run *r = xpr_conn_userdata(conn);
    callback_enter();
    r->opens++;
    CHECK_EQ(xpr_conn_write(conn, "hello", 5), 0);
    callback_leave();
}

static void client_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct name_run *r = xpr_conn_userdata(conn);
    callback_enter();
    CHECK(r->echoed + n <= 5 && memcmp(p, &"hello"[r->echoed], n) == 0);
    r->echoed += (unsigned)n;
    if (r->echoed == 5)
        CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void client_on_close(xpr_conn *conn, int err)
{
    struct name_run *r = xpr_conn_userdata(conn);
    callback_enter();
    r->closes++;
    r->close_err = err;
    if (r->listener != NULL)
        CHECK_EQ(xpr_listener_close(r->listener), 0);
    r->listener = NULL;
    tloop_stop_when_empty(r->loop);
    callback_leave();
}

static const struct xpr_conn_callbacks server_cb = {
    .on_data = server_on_data, .on_close = server_on_close};
static const struct xpr_conn_callbacks client_cb = {.on_open = client_on_open,
                                                    .on_data = client_on_data,
                                                    .on_close =
                                                        client_on_close};

static void count_open(xpr_conn *conn)
{
    struct name_run *r = xpr_conn_userdata(conn);
    r->opens++;
}

static const struct xpr_conn_callbacks quiet_cb = {.on_open = count_open,
                                                   .on_close = client_on_close};

static void start_server(struct name_run *r)
{
    memset(r, 0, sizeof(*r));
    r->loop = tloop_new();
    r->listener = tloop_listen(r->loop, NULL, &server_cb, r, r->address);
}

/* A port nothing listens on: a listener's, closed again. */
static long closed_port(xpr_loop *loop)
{
    char address[XPR_ADDRSTRLEN];
    xpr_listener *l = tloop_listen(loop, NULL, &server_cb, NULL, address);
    assert_int_equal(xpr_listener_close(l), 0);
    return address_port(address);
}

static void test_localhost_by_name(void **state)
{
    struct name_run r;
    char text[64];
    xpr_conn *c;
    (void)state;
    start_server(&r);
    snprintf(text, sizeof(text), "localhost:%ld", address_port(r.address));
    assert_int_equal(xpr_connect(r.loop, text, &client_cb, &r, &c), 0);
    tloop_run(r.loop, 20000);
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.echoed, 5);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, 0);
    tloop_free(r.loop);
}

static void test_refused_address_skipped(void **state)
{
    struct name_run r;
    char refused[64], good[64];
    const char *texts[3];
    xpr_conn *c;
    (void)state;
    start_server(&r);
    snprintf(refused, sizeof(refused), "127.0.0.1:%ld", closed_port(r.loop));
    snprintf(good, sizeof(good), "%s", r.address);
    texts[0] = refused;
    texts[1] = refused;
    texts[2] = good;
    assert_int_equal(
        xpr__connect_addresses(r.loop, texts, 3, &client_cb, &r, &c), 0);
    tloop_run(r.loop, 20000);
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.echoed, 5);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, 0);
    tloop_free(r.loop);
}

static void test_all_refused(void **state)
{
    struct name_run r;
    char refused[64];
    const char *texts[2];
    xpr_conn *c;
    (void)state;
    start_server(&r);
    snprintf(refused, sizeof(refused), "127.0.0.1:%ld", closed_port(r.loop));
    texts[0] = texts[1] = refused;
    assert_int_equal(
        xpr__connect_addresses(r.loop, texts, 2, &client_cb, &r, &c), 0);
    tloop_run(r.loop, 20000);
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, XPR_ECONNREFUSED);
    tloop_free(r.loop);
}

static void test_unknown_name(void **state)
{
    struct name_run r;
    xpr_conn *c;
    (void)state;
    start_server(&r);
    assert_int_equal(
        xpr_connect(r.loop, "no-such-host.invalid:80", &client_cb, &r, &c), 0);
    tloop_run(r.loop, 60000);
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.closes, 1);
    assert_true(r.close_err == XPR_ENOTFOUND || r.close_err == XPR_EAGAIN);
    tloop_free(r.loop);
}

/* Closed (gracefully, then by abort) while its name is looked up: one
 * on_close, no on_open, nothing after. */
static void test_close_while_resolving(void **state)
{
    int use_abort;
    (void)state;
    for (use_abort = 0; use_abort < 2; use_abort++) {
        struct name_run r;
        char text[64];
        xpr_conn *c;
        start_server(&r);
        snprintf(text, sizeof(text), "localhost:%ld", address_port(r.address));
        assert_int_equal(xpr_connect(r.loop, text, &quiet_cb, &r, &c), 0);
        if (use_abort)
            assert_int_equal(xpr_conn_abort(c), 0);
        else
            assert_int_equal(xpr_conn_close(c), 0);
        tloop_run(r.loop, 20000);
        assert_int_equal(r.closes, 1);
        assert_int_equal(r.close_err, 0);
        assert_true(use_abort ? r.opens == 0 : r.opens <= 1);
        tloop_free(r.loop);
    }
}

static void test_bad_text(void **state)
{
    struct name_run r;
    xpr_conn *c;
    (void)state;
    start_server(&r);
    assert_int_equal(xpr_connect(r.loop, "no-port", &client_cb, &r, &c),
                     XPR_EINVAL);
    assert_int_equal(xpr_connect(r.loop, "host:http", &client_cb, &r, &c),
                     XPR_EINVAL);
    assert_int_equal(xpr_listener_close(r.listener), 0);
    tloop_free(r.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localhost_by_name),
        cmocka_unit_test(test_refused_address_skipped),
        cmocka_unit_test(test_all_refused),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_close_while_resolving),
        cmocka_unit_test(test_bad_text),
    };
    return cmocka_run_group_tests_name("connect-name", tests, NULL, NULL);
}
