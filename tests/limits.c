/* Limits that close connections: the idle timeout, the listener's
 * first-data timeout, and max_connections. */
#include <string.h>

#include "common.h"
#include "platform.h"

/* A feed stalled for IDLE_MS - FEED_EVERY_MS (a loaded machine, Wine's
 * scheduling) would let the fed conn time out: the margin is wide. */
#define IDLE_MS 400u
#define FEED_EVERY_MS 40u
#define FEED_BYTES 12u /* fed for 480 ms > IDLE_MS */

/* ---- idle timeout: on_close(XPR_ETIMEDOUT) after silence, reset by data */

struct idle_client {
    struct idle_run *run;
    xpr_conn *conn;
    uint64_t opened_ms;
    uint64_t last_data_ms;
    unsigned received;
    unsigned closes;
    int close_err;
};

struct idle_run {
    xpr_loop *loop;
    xpr_listener *listener;
    struct idle_client silent; /* the server never sends to it */
    struct idle_client fed;    /* gets a byte every FEED_EVERY_MS, then not */
    xpr_conn *fed_server_side;
    xpr_timer *feeder;
    unsigned fed_bytes;
    unsigned server_closes;
    unsigned client_closes;
};

static void idle_check_done(struct idle_run *run)
{
    if (run->client_closes == 2 && run->server_closes == 2) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
}

static void idle_client_on_open(xpr_conn *conn)
{
    struct idle_client *c = xpr_conn_userdata(conn);
    c->opened_ms = test_now_ms();
    c->last_data_ms = c->opened_ms;
    CHECK_EQ(xpr_conn_set_idle_timeout(conn, IDLE_MS), 0);
    if (c == &c->run->fed) {
        CHECK_EQ(xpr_conn_write(conn, "feed me", 7), 0);
    }
}

static void idle_client_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct idle_client *c = xpr_conn_userdata(conn);
    (void)p;
    c->received += (unsigned)n;
    c->last_data_ms = test_now_ms();
}

static void idle_client_on_close(xpr_conn *conn, int err)
{
    struct idle_client *c = xpr_conn_userdata(conn);
    uint64_t now = test_now_ms();

    CHECK_EQ(c->closes, 0);
    c->closes++;
    c->close_err = err;
    /* Not before IDLE_MS of silence (the slack covers the time between
     * the library's clock reading and ours, and coarse clocks). */
    CHECK(now - c->last_data_ms + 10 >= IDLE_MS);
    c->run->client_closes++;
    idle_check_done(c->run);
}

static void on_feed(xpr_timer *timer, void *arg)
{
    struct idle_run *run = arg;

    if (run->fed_server_side == NULL) {
        xpr_timer_stop(timer);
        return;
    }
    CHECK_EQ(xpr_conn_write(run->fed_server_side, "b", 1), 0);
    if (++run->fed_bytes == FEED_BYTES) {
        xpr_timer_stop(timer);
    }
}

static void idle_server_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct idle_run *run = xpr_conn_userdata(conn);
    (void)p;
    (void)n;
    if (run->fed_server_side == NULL) {
        run->fed_server_side = conn;
        CHECK_EQ(xpr_timer_start(run->feeder, FEED_EVERY_MS, FEED_EVERY_MS), 0);
    }
}

static void idle_server_on_close(xpr_conn *conn, int err)
{
    struct idle_run *run = xpr_conn_userdata(conn);

    /* The client's timeout closed it: EOF (0) or a reset. */
    CHECK(err == 0 || err == XPR_ECONNRESET);
    if (conn == run->fed_server_side) {
        run->fed_server_side = NULL;
    }
    run->server_closes++;
    idle_check_done(run);
}

static void test_idle_timeout(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_data = idle_server_on_data,
        .on_close = idle_server_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = idle_client_on_open,
        .on_data = idle_client_on_data,
        .on_close = idle_client_on_close,
    };
    struct idle_run run;
    char address[XPR_ADDRSTRLEN];
    struct xpr_loop_stats stats;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    run.silent.run = &run;
    run.fed.run = &run;
    assert_int_equal(xpr_timer_new(run.loop, on_feed, &run, &run.feeder), 0);
    run.listener =
        tloop_listen(run.loop, NULL, &server_callbacks, &run, address);
    run.silent.conn =
        tloop_connect(run.loop, address, &client_callbacks, &run.silent);
    run.fed.conn =
        tloop_connect(run.loop, address, &client_callbacks, &run.fed);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.silent.close_err, XPR_ETIMEDOUT);
    assert_int_equal(run.silent.received, 0);
    /* Data kept the fed conn alive past IDLE_MS until the feed ended. */
    assert_int_equal(run.fed.close_err, XPR_ETIMEDOUT);
    assert_int_equal(run.fed.received, FEED_BYTES);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.timed_out_connections, 2);
    xpr_timer_free(run.feeder);
    tloop_free(run.loop);
}

/* ---- first-data timeout: silent accepted conns go, talkers stay ---- */

#define FIRST_DATA_MS 100u
#define TALKER_CHECK_MS 400u

struct first_data_run {
    xpr_loop *loop;
    xpr_listener *listener;
    xpr_conn *talker;
    xpr_conn *silent;
    xpr_timer *check;
    int talker_server_closed;
    int talker_server_talked;
    unsigned server_timeouts;
    unsigned server_opens;
    unsigned server_closes;
    unsigned client_closes;
    int silent_client_err;
    int talker_client_err;
};

static void first_data_done(struct first_data_run *run)
{
    if (run->server_closes == 2 && run->client_closes == 2) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
}

static void fd_server_on_open(xpr_conn *conn)
{
    struct first_data_run *run = xpr_conn_userdata(conn);
    run->server_opens++;
}

static void fd_server_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct first_data_run *run = xpr_conn_userdata(conn);
    (void)p;
    CHECK(n > 0);
    run->talker_server_talked = 1;
}

static void fd_server_on_close(xpr_conn *conn, int err)
{
    struct first_data_run *run = xpr_conn_userdata(conn);

    if (err == XPR_ETIMEDOUT) {
        run->server_timeouts++;
    } else {
        /* The talker's server side ends only when its client closes. */
        CHECK_EQ(err, 0);
        run->talker_server_closed = 1;
    }
    run->server_closes++;
    first_data_done(run);
}

static void fd_client_on_open(xpr_conn *conn)
{
    struct first_data_run *run = xpr_conn_userdata(conn);
    if (conn == run->talker) {
        CHECK_EQ(xpr_conn_write(conn, "hello", 5), 0);
    }
}

static void fd_client_on_close(xpr_conn *conn, int err)
{
    struct first_data_run *run = xpr_conn_userdata(conn);
    if (conn == run->talker) {
        run->talker_client_err = err;
    } else {
        run->silent_client_err = err;
    }
    run->client_closes++;
    first_data_done(run);
}

/* Long after the first-data timeout: only the silent conn is gone. */
static void on_talker_check(xpr_timer *timer, void *arg)
{
    struct first_data_run *run = arg;
    (void)timer;
    CHECK_EQ(run->server_timeouts, 1);
    CHECK(!run->talker_server_closed);
    CHECK(run->talker_server_talked);
    CHECK_EQ(xpr_conn_close(run->talker), 0);
}

static void test_first_data_timeout(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = fd_server_on_open,
        .on_data = fd_server_on_data,
        .on_close = fd_server_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = fd_client_on_open,
        .on_close = fd_client_on_close,
    };
    struct first_data_run run;
    struct xpr_listen_config cfg;
    char address[XPR_ADDRSTRLEN];
    struct xpr_loop_stats stats;
    (void)state;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.first_data_timeout_ms = FIRST_DATA_MS;
    run.loop = tloop_new();
    assert_int_equal(xpr_timer_new(run.loop, on_talker_check, &run, &run.check),
                     0);
    run.listener =
        tloop_listen(run.loop, &cfg, &server_callbacks, &run, address);
    run.silent = tloop_connect(run.loop, address, &client_callbacks, &run);
    run.talker = tloop_connect(run.loop, address, &client_callbacks, &run);
    assert_int_equal(xpr_timer_start(run.check, TALKER_CHECK_MS, 0), 0);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.server_opens, 2);
    assert_int_equal(run.server_timeouts, 1);
    assert_true(run.talker_server_closed);
    assert_true(run.silent_client_err == 0 ||
                run.silent_client_err == XPR_ECONNRESET);
    assert_int_equal(run.talker_client_err, 0);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.timed_out_connections, 1);
    assert_int_equal(stats.accepted_connections, 2);
    xpr_timer_free(run.check);
    tloop_free(run.loop);
}

/* ---- max_connections: beyond it, accepted and closed at once ---- */

#define MAX_CONNS 2u
#define CLIENTS 4u

struct max_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *clients[CLIENTS];
    unsigned client_opens[CLIENTS];
    unsigned client_closes[CLIENTS];
    int client_errs[CLIENTS];
    unsigned connected; /* clients started */
    unsigned server_opens;
    unsigned server_closes;
    unsigned total_client_closes;
};

static const struct xpr_conn_callbacks max_client_callbacks;

static void max_connect_next(struct max_run *run)
{
    unsigned i = run->connected++;
    CHECK_EQ(xpr_connect(run->loop, run->address, &max_client_callbacks, run,
                         &run->clients[i]),
             0);
}

static int client_index(struct max_run *run, xpr_conn *conn)
{
    unsigned i;
    for (i = 0; i < run->connected; i++) {
        if (run->clients[i] != NULL && run->clients[i] == conn) {
            return (int)i;
        }
    }
    CHECK(!"unknown client conn");
    return 0;
}

static void max_server_on_open(xpr_conn *conn)
{
    struct max_run *run = xpr_conn_userdata(conn);
    struct xpr_loop_stats stats;

    run->server_opens++;
    CHECK(run->server_opens - run->server_closes <= MAX_CONNS);
    if (run->server_opens == MAX_CONNS) {
        /* Full: the third client is refused. */
        max_connect_next(run);
    } else if (run->server_opens == MAX_CONNS + 1) {
        /* The fourth got the place the first freed. */
        CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0);
        CHECK_EQ(stats.refused_connections, 1);
        CHECK_EQ(xpr_conn_close(run->clients[1]), 0);
        CHECK_EQ(xpr_conn_close(run->clients[3]), 0);
    }
}

static void max_server_on_close(xpr_conn *conn, int err)
{
    struct max_run *run = xpr_conn_userdata(conn);
    CHECK_EQ(err, 0);
    run->server_closes++;
    if (run->server_closes == 1) {
        max_connect_next(run); /* client 3 (index) */
    }
    if (run->server_closes == MAX_CONNS + 1 &&
        run->total_client_closes == CLIENTS) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
}

static void max_client_on_open(xpr_conn *conn)
{
    struct max_run *run = xpr_conn_userdata(conn);
    run->client_opens[client_index(run, conn)]++;
}

static void max_client_on_close(xpr_conn *conn, int err)
{
    struct max_run *run = xpr_conn_userdata(conn);
    int i = client_index(run, conn);

    run->client_closes[i]++;
    run->client_errs[i] = err;
    run->clients[i] = NULL; /* dead: its memory may serve a later conn */
    run->total_client_closes++;
    if (i == 2) {
        /* The refused one is gone: free a place by closing client 0. */
        CHECK_EQ(xpr_conn_close(run->clients[0]), 0);
    }
    if (run->server_closes == MAX_CONNS + 1 &&
        run->total_client_closes == CLIENTS) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
}

static const struct xpr_conn_callbacks max_client_callbacks = {
    .on_open = max_client_on_open,
    .on_close = max_client_on_close,
};

static void test_max_connections(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = max_server_on_open,
        .on_close = max_server_on_close,
    };
    struct max_run run;
    struct xpr_listen_config cfg;
    struct xpr_loop_stats stats;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_connections = MAX_CONNS;
    run.loop = tloop_new();
    run.listener =
        tloop_listen(run.loop, &cfg, &server_callbacks, &run, run.address);
    max_connect_next(&run);
    max_connect_next(&run);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.connected, CLIENTS);
    assert_int_equal(run.server_opens, MAX_CONNS + 1);
    assert_int_equal(run.server_closes, MAX_CONNS + 1);
    for (i = 0; i < CLIENTS; i++) {
        assert_int_equal(run.client_closes[i], 1);
    }
    /* The refused client may have seen the connect succeed before the
     * server closed it; either way it ended cleanly or by reset. */
    assert_true(run.client_errs[2] == 0 ||
                run.client_errs[2] == XPR_ECONNRESET);
    assert_int_equal(run.client_opens[0], 1);
    assert_int_equal(run.client_opens[1], 1);
    assert_int_equal(run.client_opens[3], 1);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.refused_connections, 1);
    assert_int_equal(stats.accepted_connections, MAX_CONNS + 1);
    tloop_free(run.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_first_data_timeout),
        cmocka_unit_test(test_max_connections),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
