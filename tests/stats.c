/* xpr_loop_stats follows the work: live objects while they live, bytes
 * both ways, and every "live" and "queued" figure back to zero at the end. */
#include <string.h>

#include "common.h"
#include "echo_clients.h"

#define CLIENTS 10u
#define CLIENT_BYTES (10u * 1024)

struct stats_run {
    struct echo_run echo;
    xpr_timer *user_timer;
    unsigned user_timer_calls;
    int mid_run_checked;
};

static size_t client_bytes(unsigned index)
{
    (void)index;
    return CLIENT_BYTES;
}

/* Clients hold their conns open once echoed; when all are echoed and
 * accepted, the counts are checked and the clients close. */
static void on_user_timer(xpr_timer *timer, void *arg)
{
    struct stats_run *run = arg;
    struct xpr_loop_stats stats;
    (void)timer;

    run->user_timer_calls++;
    if (run->mid_run_checked || run->echo.server.opened < CLIENTS ||
        run->echo.clients_echoed < CLIENTS) {
        return;
    }
    run->mid_run_checked = 1;
    CHECK_EQ(xpr_loop_stats(run->echo.loop, &stats), 0);
    CHECK_EQ(stats.live_connections, 2 * CLIENTS);
    CHECK_EQ(stats.live_listeners, 1);
    CHECK_EQ(stats.active_timers, 2); /* this one and the deadline */
    CHECK_EQ(stats.accepted_connections, CLIENTS);
    CHECK_EQ(stats.refused_connections, 0);
    CHECK_EQ(stats.queued_write_bytes, 0);
    CHECK_EQ(stats.bytes_written, 2 * CLIENTS * CLIENT_BYTES);
    CHECK_EQ(stats.bytes_read, 2 * CLIENTS * CLIENT_BYTES);
    echo_clients_close_echoed(&run->echo);
}

/* Everything the test made is closed or stopped: with nothing alive the
 * loop must return by itself, so the deadline stops too. */
static void on_all_closed(struct echo_run *echo)
{
    struct stats_run *run = (struct stats_run *)echo;

    CHECK(run->mid_run_checked);
    echo_server_stop_listening(&echo->server);
    CHECK_EQ(xpr_timer_stop(run->user_timer), 0);
    tloop_let_idle(echo->loop);
}

static void test_stats_follow_work_and_return_to_zero(void **state)
{
    struct stats_run run;
    struct xpr_loop_stats stats;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.echo.loop = tloop_new();
    run.echo.hold_close = 1;
    run.echo.on_all_closed = on_all_closed;
    assert_int_equal(
        xpr_timer_new(run.echo.loop, on_user_timer, &run, &run.user_timer), 0);
    assert_int_equal(xpr_timer_start(run.user_timer, 1, 1), 0);
    echo_server_start(&run.echo.server, run.echo.loop, NULL);

    assert_int_equal(xpr_loop_stats(run.echo.loop, &stats), 0);
    assert_int_equal(stats.live_listeners, 1);
    assert_int_equal(stats.live_connections, 0);
    assert_int_equal(stats.active_timers, 1);

    echo_clients_start(&run.echo, CLIENTS, client_bytes);
    assert_int_equal(xpr_loop_stats(run.echo.loop, &stats), 0);
    assert_int_equal(stats.live_connections, CLIENTS);
    assert_int_equal(stats.queued_write_bytes, CLIENTS * CLIENT_BYTES);

    tloop_run(run.echo.loop, 30000);
    echo_clients_assert_all_echoed(&run.echo);
    assert_true(run.mid_run_checked);

    assert_int_equal(xpr_loop_stats(run.echo.loop, &stats), 0);
    assert_int_equal(stats.live_connections, 0);
    assert_int_equal(stats.live_listeners, 0);
    assert_int_equal(stats.active_timers, 0);
    assert_int_equal(stats.queued_write_bytes, 0);
    assert_int_equal(stats.pending_posts, 0);
    assert_int_equal(stats.accepted_connections, CLIENTS);
    assert_int_equal(stats.refused_connections, 0);
    assert_int_equal(stats.timed_out_connections, 0);
    /* Each byte went client -> server -> client, all on this loop. */
    assert_int_equal(stats.bytes_written, 2 * CLIENTS * CLIENT_BYTES);
    assert_int_equal(stats.bytes_read, 2 * CLIENTS * CLIENT_BYTES);
    xpr_timer_free(run.user_timer);
    tloop_free(run.echo.loop);
    echo_clients_free(&run.echo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_follow_work_and_return_to_zero),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
