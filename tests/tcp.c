/* TCP basics: listening, addresses, echo of verified data over one and over
 * many connections, refused connects. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_clients.h"
#include "echo_server.h"
#include "pattern.h"
#include "platform.h"

#define MANY_CLIENTS 500

static size_t four_mib(unsigned index)
{
    (void)index;
    return 4u * 1024 * 1024;
}

static void test_echo_4mib(void **state)
{
    struct echo_run run;
    struct xpr_loop_stats stats;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    echo_server_start(&run.server, run.loop, NULL);
    echo_clients_start(&run, 1, four_mib);
    tloop_run(run.loop, 60000);
    echo_clients_assert_all_echoed(&run);
    assert_int_equal(run.server.echoed_bytes, four_mib(0));
    /* Client and server share the loop: each byte went both ways. */
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.bytes_written, 2 * four_mib(0));
    assert_int_equal(stats.bytes_read, 2 * four_mib(0));
    assert_int_equal(stats.accepted_connections, 1);
    tloop_free(run.loop);
    echo_clients_free(&run);
}

static size_t varied_size(unsigned index)
{
    return 512 + (size_t)((index * 2654435761u) % 7000u);
}

static void test_many_concurrent_connections(void **state)
{
    struct echo_run run;
    struct xpr_listen_config cfg;
    struct xpr_loop_stats stats;
    uint64_t total = 0;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.backlog = 1024;
    run.loop = tloop_new();
    echo_server_start(&run.server, run.loop, &cfg);
    echo_clients_start(&run, MANY_CLIENTS, varied_size);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.live_connections, MANY_CLIENTS);
    tloop_run(run.loop, 60000);
    echo_clients_assert_all_echoed(&run);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.accepted_connections, MANY_CLIENTS);
    for (i = 0; i < MANY_CLIENTS; i++) {
        total += varied_size(i);
    }
    assert_int_equal(run.server.echoed_bytes, total);
    assert_int_equal(stats.bytes_read, 2 * total);
    assert_int_equal(stats.bytes_written, 2 * total);
    tloop_free(run.loop);
    echo_clients_free(&run);
}

struct address_check {
    xpr_loop *loop;
    const char *listen_address;
    char server_side_peer[XPR_ADDRSTRLEN];
    char client_side_peer[XPR_ADDRSTRLEN];
    unsigned server_opens;
    unsigned client_opens;
    unsigned closes;
    void *server_userdata;
};

static void address_server_on_open(xpr_conn *conn)
{
    struct address_check *a = xpr_conn_userdata(conn);
    a->server_opens++;
    a->server_userdata = xpr_conn_userdata(conn);
    CHECK(xpr_conn_loop(conn) == a->loop);
    CHECK_EQ(xpr_conn_peer_address(conn, a->server_side_peer,
                                   sizeof(a->server_side_peer)),
             0);
    CHECK_EQ(xpr_conn_close(conn), 0);
}

static void address_on_close(xpr_conn *conn, int err)
{
    struct address_check *a = xpr_conn_userdata(conn);
    CHECK_EQ(err, 0);
    if (++a->closes == 2) {
        tloop_stop_when_empty(a->loop);
    }
}

static void address_client_on_open(xpr_conn *conn)
{
    struct address_check *a = xpr_conn_userdata(conn);
    a->client_opens++;
    CHECK_EQ(xpr_conn_peer_address(conn, a->client_side_peer,
                                   sizeof(a->client_side_peer)),
             0);
}

static const struct xpr_conn_callbacks address_server_callbacks = {
    .on_open = address_server_on_open,
    .on_close = address_on_close,
};

static const struct xpr_conn_callbacks address_client_callbacks = {
    .on_open = address_client_on_open,
    .on_close = address_on_close,
};

/* Connects to the listener and checks the addresses both ends report. */
static void check_addresses(xpr_loop *loop, xpr_listener *listener,
                            struct address_check *a, const char *prefix)
{
    char bound[XPR_ADDRSTRLEN];

    assert_int_equal(xpr_listener_address(listener, bound, sizeof(bound)), 0);
    assert_memory_equal(bound, prefix, strlen(prefix));
    assert_true(address_port(bound) > 0 && address_port(bound) <= 65535);

    tloop_connect(loop, bound, &address_client_callbacks, a);
    tloop_run(loop, 20000);
    assert_int_equal(a->server_opens, 1);
    assert_int_equal(a->client_opens, 1);
    assert_ptr_equal(a->server_userdata, a);
    /* The client reaches the bound address; the server sees the client on
     * the same loopback address, from another port. */
    assert_string_equal(a->client_side_peer, bound);
    assert_memory_equal(a->server_side_peer, prefix, strlen(prefix));
    assert_true(address_port(a->server_side_peer) > 0);
    assert_true(address_port(a->server_side_peer) != address_port(bound));
}

static void test_listen_on_port_zero(void **state)
{
    xpr_loop *loop = tloop_new();
    struct address_check a;
    xpr_listener *listener = NULL;
    (void)state;

    memset(&a, 0, sizeof(a));
    a.loop = loop;
    assert_int_equal(xpr_listen(loop, "127.0.0.1:0", NULL,
                                &address_server_callbacks, &a, &listener),
                     0);
    assert_non_null(listener);
    check_addresses(loop, listener, &a, "127.0.0.1:");
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

/* "localhost" is what the system's resolver says: ::1 or 127.0.0.1. */
static void test_listen_on_localhost(void **state)
{
    xpr_loop *loop = tloop_new();
    struct address_check a;
    xpr_listener *listener = NULL;
    char bound[XPR_ADDRSTRLEN];
    const char *prefix;
    (void)state;

    memset(&a, 0, sizeof(a));
    a.loop = loop;
    assert_int_equal(xpr_listen(loop, "localhost:0", NULL,
                                &address_server_callbacks, &a, &listener),
                     0);
    assert_int_equal(xpr_listener_address(listener, bound, sizeof(bound)), 0);
    prefix = strncmp(bound, "[::1]:", 6) == 0 ? "[::1]:" : "127.0.0.1:";
    check_addresses(loop, listener, &a, prefix);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

/* A name the resolver does not know: XPR_ENOTFOUND (XPR_EAGAIN where no
 * resolver answers at all), never XPR_EINVAL, and nothing is left open. */
static void test_listen_on_unknown_name(void **state)
{
    static const struct xpr_conn_callbacks no_callbacks = {0};
    xpr_loop *loop = tloop_new();
    xpr_listener *listener = NULL;
    int rc;
    (void)state;

    rc = xpr_listen(loop, "no-such-host.invalid:0", NULL, &no_callbacks, NULL,
                    &listener);
    if (rc != XPR_ENOTFOUND && rc != XPR_EAGAIN)
        fail_msg("xpr_listen(no-such-host.invalid:0) = %s", xpr_err_name(rc));
    assert_null(listener);
    tloop_free(loop);
}

static void test_listen_on_ipv6_loopback(void **state)
{
    xpr_loop *loop = tloop_new();
    struct address_check a;
    xpr_listener *listener = NULL;
    int rc;
    (void)state;

    memset(&a, 0, sizeof(a));
    a.loop = loop;
    rc = xpr_listen(loop, "[::1]:0", NULL, &address_server_callbacks, &a,
                    &listener);
    if (rc == XPR_EADDRNOTAVAIL || rc == XPR_EAFNOSUPPORT) {
        tloop_free(loop);
        skip(); /* no IPv6 on this host */
    }
    assert_int_equal(rc, 0);
    check_addresses(loop, listener, &a, "[::1]:");
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

/* Until on_open the peer address is XPR_EAGAIN, as xpr.h documents. */
static void test_peer_address_while_connecting(void **state)
{
    xpr_loop *loop = tloop_new();
    struct address_check a;
    xpr_listener *listener = NULL;
    xpr_conn *client;
    char peer[XPR_ADDRSTRLEN];
    char address[XPR_ADDRSTRLEN];
    (void)state;

    memset(&a, 0, sizeof(a));
    a.loop = loop;
    listener = tloop_listen(loop, NULL, &address_server_callbacks, &a, address);
    client = tloop_connect(loop, address, &address_client_callbacks, &a);
    memset(peer, 'X', sizeof(peer));
    assert_int_equal(xpr_conn_peer_address(client, peer, sizeof(peer)),
                     XPR_EAGAIN);
    tloop_run(loop, 20000);
    assert_string_equal(a.client_side_peer, address);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

/* A listen on a port already taken fails with XPR_EADDRINUSE. */
static void test_listen_on_taken_port(void **state)
{
    xpr_loop *loop = tloop_new();
    static const struct xpr_conn_callbacks no_callbacks = {0};
    struct echo_server server;
    xpr_listener *second = NULL;
    (void)state;

    echo_server_start(&server, loop, NULL);
    assert_int_equal(
        xpr_listen(loop, server.address, NULL, &no_callbacks, NULL, &second),
        XPR_EADDRINUSE);
    assert_null(second);
    assert_int_equal(xpr_listener_close(server.listener), 0);
    tloop_free(loop);
}

struct refused {
    xpr_loop *loop;
    xpr_conn *conn;
    int in_connect_call;
    unsigned opens;
    unsigned closes;
    int close_err;
};

static void refused_on_open(xpr_conn *conn)
{
    struct refused *r = xpr_conn_userdata(conn);
    r->opens++;
}

static void refused_on_close(xpr_conn *conn, int err)
{
    struct refused *r = xpr_conn_userdata(conn);
    CHECK(conn == r->conn);
    CHECK(!r->in_connect_call);
    r->closes++;
    r->close_err = err;
    tloop_stop_when_empty(r->loop);
}

/* A closed port: exactly one on_close(XPR_ECONNREFUSED), no on_open, and
 * not from inside xpr_connect. Queued writes do not change that. */
static void test_connect_to_closed_port(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = refused_on_open,
        .on_close = refused_on_close,
    };
    xpr_loop *loop = tloop_new();
    struct echo_server server;
    char address[XPR_ADDRSTRLEN];
    struct refused r;
    int rc;
    (void)state;

    /* A port that was free a moment ago and is closed now. */
    echo_server_start(&server, loop, NULL);
    strcpy(address, server.address);
    assert_int_equal(xpr_listener_close(server.listener), 0);

    memset(&r, 0, sizeof(r));
    r.loop = loop;
    r.in_connect_call = 1;
    rc = xpr_connect(loop, address, &callbacks, &r, &r.conn);
    r.in_connect_call = 0;
    assert_int_equal(rc, 0);
    assert_non_null(r.conn);
    assert_int_equal(xpr_conn_write(r.conn, "hello", 5), 0);
    tloop_run(loop, 20000);
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.close_err, XPR_ECONNREFUSED);
    tloop_free(loop);
}

struct userdata_check;

/* Three distinct userdata values that all lead back to the check. */
struct userdata_tag {
    struct userdata_check *check;
};

struct userdata_check {
    xpr_loop *loop;
    struct userdata_tag listener_arg;
    struct userdata_tag replacement;
    struct userdata_tag client_arg;
    unsigned closes;
    int server_saw_listener_arg;
    int server_saw_replacement;
    int client_saw_client_arg;
};

static void userdata_closed(struct userdata_check *u)
{
    if (++u->closes == 2) {
        tloop_stop_when_empty(u->loop);
    }
}

static void userdata_server_on_open(xpr_conn *conn)
{
    struct userdata_tag *tag = xpr_conn_userdata(conn);
    struct userdata_check *u = tag->check;

    u->server_saw_listener_arg = tag == &u->listener_arg;
    xpr_conn_set_userdata(conn, &u->replacement);
    CHECK(xpr_conn_userdata(conn) == &u->replacement);
    CHECK_EQ(xpr_conn_close(conn), 0);
}

static void userdata_server_on_close(xpr_conn *conn, int err)
{
    struct userdata_tag *tag = xpr_conn_userdata(conn);
    struct userdata_check *u = tag->check;

    CHECK_EQ(err, 0);
    u->server_saw_replacement = tag == &u->replacement;
    userdata_closed(u);
}

static void userdata_client_on_close(xpr_conn *conn, int err)
{
    struct userdata_tag *tag = xpr_conn_userdata(conn);
    struct userdata_check *u = tag->check;

    CHECK_EQ(err, 0);
    u->client_saw_client_arg = tag == &u->client_arg;
    userdata_closed(u);
}

/* Accepted conns start with the listener's arg; set_userdata replaces it
 * and the replacement is what later callbacks see. */
static void test_userdata(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = userdata_server_on_open,
        .on_close = userdata_server_on_close,
    };
    static const struct xpr_conn_callbacks plain_client_callbacks = {
        .on_close = userdata_client_on_close,
    };
    xpr_loop *loop = tloop_new();
    struct userdata_check u;
    char address[XPR_ADDRSTRLEN];
    xpr_listener *listener;
    xpr_conn *client;
    (void)state;

    memset(&u, 0, sizeof(u));
    u.loop = loop;
    u.listener_arg.check = &u;
    u.replacement.check = &u;
    u.client_arg.check = &u;
    listener =
        tloop_listen(loop, NULL, &server_callbacks, &u.listener_arg, address);
    client =
        tloop_connect(loop, address, &plain_client_callbacks, &u.client_arg);
    assert_ptr_equal(xpr_conn_userdata(client), &u.client_arg);
    assert_ptr_equal(xpr_conn_loop(client), loop);
    tloop_run(loop, 20000);
    assert_true(u.server_saw_listener_arg);
    assert_true(u.server_saw_replacement);
    assert_true(u.client_saw_client_arg);
    assert_int_equal(u.closes, 2);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

static void options_on_open(xpr_conn *conn)
{
    int rc;
    CHECK_EQ(xpr_conn_set_nodelay(conn, 1), 0);
    CHECK_EQ(xpr_conn_set_nodelay(conn, 0), 0);
    rc = xpr_conn_set_keepalive(conn, 1000, 500);
    CHECK(rc == 0 || rc == XPR_ENOTSUP);
    rc = xpr_conn_set_keepalive(conn, 0, 0);
    CHECK(rc == 0 || rc == XPR_ENOTSUP);
    CHECK_EQ(xpr_conn_close(conn), 0);
}

static void options_on_close(xpr_conn *conn, int err)
{
    unsigned *closes = xpr_conn_userdata(conn);
    CHECK_EQ(err, 0);
    if (++*closes == 2) {
        tloop_stop_when_empty(xpr_conn_loop(conn));
    }
}

/* Socket options on open conns, and listeners that set them. */
static void test_socket_options(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = options_on_open,
        .on_close = options_on_close,
    };
    xpr_loop *loop = tloop_new();
    struct xpr_listen_config cfg;
    char address[XPR_ADDRSTRLEN];
    xpr_listener *listener;
    unsigned closes = 0;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nodelay = 1;
    cfg.keepalive_idle_ms = 2000;
    cfg.keepalive_interval_ms = 1000;
    listener = tloop_listen(loop, &cfg, &callbacks, &closes, address);
    tloop_connect(loop, address, &callbacks, &closes);
    tloop_run(loop, 20000);
    assert_int_equal(closes, 2);
    assert_int_equal(xpr_listener_close(listener), 0);
    tloop_free(loop);
}

static int group_setup(void **state)
{
    (void)state;
    test_raise_socket_limit(4096);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_on_port_zero),
        cmocka_unit_test(test_listen_on_localhost),
        cmocka_unit_test(test_listen_on_unknown_name),
        cmocka_unit_test(test_listen_on_ipv6_loopback),
        cmocka_unit_test(test_peer_address_while_connecting),
        cmocka_unit_test(test_listen_on_taken_port),
        cmocka_unit_test(test_echo_4mib),
        cmocka_unit_test(test_many_concurrent_connections),
        cmocka_unit_test(test_connect_to_closed_port),
        cmocka_unit_test(test_userdata),
        cmocka_unit_test(test_socket_options),
    };
    return cmocka_run_group_tests_name("tcp", tests, group_setup, NULL);
}
