/* xpr_loop_free with work still open: every conn gets on_close(conn,
 * XPR_ECANCELED) exactly once, pending posts run, timers do not fire, and
 * nothing runs after it returns. */
#include <string.h>

#include "common.h"

#define OPEN_PAIRS 2u

struct free_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *clients[OPEN_PAIRS + 1]; /* the last one is still connecting */
    unsigned client_opens;
    unsigned server_opens;
    unsigned closes;
    unsigned canceled_closes;
    unsigned posts_run;
    unsigned timer_calls;
    int freed; /* xpr_loop_free returned */
    int freeing;
};

static void free_on_open(xpr_conn *conn)
{
    struct free_run *run = xpr_conn_userdata(conn);
    unsigned i;
    int is_client = 0;

    CHECK(!run->freed);
    for (i = 0; i < OPEN_PAIRS + 1; i++) {
        is_client |= run->clients[i] == conn;
    }
    if (is_client) {
        run->client_opens++;
    } else {
        run->server_opens++;
    }
    if (run->client_opens == OPEN_PAIRS && run->server_opens == OPEN_PAIRS) {
        xpr_loop_stop(run->loop);
    }
}

static void free_on_close(xpr_conn *conn, int err)
{
    struct free_run *run = xpr_conn_userdata(conn);

    CHECK(run->freeing);
    CHECK(!run->freed);
    CHECK_EQ(err, XPR_ECANCELED);
    /* The conn is dead for work, but the call is safe. */
    CHECK_EQ(xpr_conn_write(conn, "x", 1), XPR_ECLOSED);
    run->closes++;
    run->canceled_closes += err == XPR_ECANCELED;
}

static void on_free_post(void *arg)
{
    struct free_run *run = arg;
    CHECK(run->freeing);
    CHECK(!run->freed);
    run->posts_run++;
}

static void on_free_timer(xpr_timer *timer, void *arg)
{
    struct free_run *run = arg;
    (void)timer;
    CHECK(!run->freeing); /* timers do not fire while the loop is freed */
    run->timer_calls++;
}

static void test_free_with_everything_open(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = free_on_open,
        .on_close = free_on_close,
    };
    struct free_run run;
    xpr_timer *far = NULL;
    xpr_timer *ticking = NULL;
    xpr_timer *idle = NULL;
    unsigned timer_calls_before;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    run.listener = tloop_listen(run.loop, NULL, &callbacks, &run, run.address);
    for (i = 0; i < OPEN_PAIRS; i++) {
        run.clients[i] = tloop_connect(run.loop, run.address, &callbacks, &run);
    }
    assert_int_equal(xpr_timer_new(run.loop, on_free_timer, &run, &far), 0);
    assert_int_equal(xpr_timer_new(run.loop, on_free_timer, &run, &ticking), 0);
    assert_int_equal(xpr_timer_new(run.loop, on_free_timer, &run, &idle), 0);
    assert_int_equal(xpr_timer_start(far, 60000, 0), 0);
    assert_int_equal(xpr_timer_start(ticking, 1, 1), 0);
    tloop_run(run.loop, 20000);
    assert_int_equal(run.client_opens, OPEN_PAIRS);
    assert_int_equal(run.server_opens, OPEN_PAIRS);
    assert_int_equal(run.closes, 0);

    /* More work that never gets to run: a connect, queued bytes, posts. */
    run.clients[OPEN_PAIRS] =
        tloop_connect(run.loop, run.address, &callbacks, &run);
    assert_int_equal(xpr_conn_write(run.clients[0], "pending", 7), 0);
    assert_int_equal(xpr_conn_write(run.clients[OPEN_PAIRS], "queued", 6), 0);
    assert_int_equal(xpr_loop_post(run.loop, on_free_post, &run), 0);
    assert_int_equal(xpr_loop_post(run.loop, on_free_post, &run), 0);

    timer_calls_before = run.timer_calls;
    tloop_forget(run.loop);
    run.freeing = 1;
    xpr_loop_free(run.loop); /* the listener and the timers die here */
    run.freed = 1;
    check_no_failure();
    /* 2 clients + 2 accepted + 1 connecting. */
    assert_int_equal(run.closes, 2 * OPEN_PAIRS + 1);
    assert_int_equal(run.canceled_closes, 2 * OPEN_PAIRS + 1);
    assert_int_equal(run.client_opens, OPEN_PAIRS);
    assert_int_equal(run.posts_run, 2);
    assert_int_equal(run.timer_calls, timer_calls_before);
}

static void unrun_on_open(xpr_conn *conn)
{
    unsigned *counts = xpr_conn_userdata(conn);
    counts[0]++;
}

static void unrun_on_close(xpr_conn *conn, int err)
{
    unsigned *counts = xpr_conn_userdata(conn);
    counts[1]++;
    counts[2] = (unsigned)-err;
}

static void on_unrun_timer(xpr_timer *timer, void *arg)
{
    unsigned *counts = arg;
    (void)timer;
    counts[3]++;
}

/* A loop that never ran: the connect still ends with one on_close. */
static void test_free_loop_that_never_ran(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = unrun_on_open,
        .on_close = unrun_on_close,
    };
    static const struct xpr_conn_callbacks no_callbacks = {0};
    xpr_loop *loop = NULL;
    xpr_conn *conn = NULL;
    xpr_listener *listener = NULL;
    xpr_timer *timer = NULL;
    unsigned counts[4] = {0, 0, 0, 0}; /* opens, closes, -err, timer calls */
    (void)state;

    assert_int_equal(test_loop_new(&loop, NULL), 0);
    assert_int_equal(
        xpr_listen(loop, "127.0.0.1:0", NULL, &no_callbacks, NULL, &listener),
        0);
    assert_int_equal(
        xpr_connect(loop, "127.0.0.1:9", &callbacks, counts, &conn), 0);
    assert_int_equal(xpr_timer_new(loop, on_unrun_timer, counts, &timer), 0);
    assert_int_equal(xpr_timer_start(timer, 0, 1), 0);
    xpr_loop_free(loop);
    assert_int_equal(counts[0], 0);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], (unsigned)-XPR_ECANCELED);
    assert_int_equal(counts[3], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_with_everything_open),
        cmocka_unit_test(test_free_loop_that_never_ran),
    };
    return cmocka_run_group_tests_name("free", tests, NULL, NULL);
}
