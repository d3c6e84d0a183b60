#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_clients.h"
#include "pattern.h"
#include "platform.h"

static void client_on_open(xpr_conn *conn)
{
    struct echo_client *c = xpr_conn_userdata(conn);
    struct echo_run *run = c->run;

    callback_enter();
    CHECK(conn == c->conn);
    CHECK_EQ(c->opens, 0);
    CHECK_EQ(c->closes, 0);
    c->opens++;
    run->clients_opened++;
    callback_leave();
}

static void client_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct echo_client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK_EQ(c->opens, 1);
    if (CHECK(c->received + n <= c->total)) {
        CHECK_EQ(pattern_mismatch(c->seed, c->received, p, n), n);
        c->received += n;
    }
    if (c->received == c->total) {
        c->run->clients_echoed++;
        if (!c->run->hold_close) {
            CHECK_EQ(xpr_conn_close(conn), 0);
        }
    }
    callback_leave();
}

static void default_on_all_closed(struct echo_run *run)
{
    echo_server_stop_listening(&run->server);
    tloop_stop_when_empty(run->loop);
}

static void client_on_close(xpr_conn *conn, int err)
{
    struct echo_client *c = xpr_conn_userdata(conn);
    struct echo_run *run = c->run;

    callback_enter();
    CHECK(conn == c->conn);
    CHECK_EQ(c->closes, 0);
    c->closes++;
    c->close_err = err;
    if (++run->clients_closed == run->client_count) {
        if (run->on_all_closed != NULL) {
            run->on_all_closed(run);
        } else {
            default_on_all_closed(run);
        }
    }
    callback_leave();
}

static const struct xpr_conn_callbacks client_callbacks = {
    .on_open = client_on_open,
    .on_data = client_on_data,
    .on_close = client_on_close,
};

void echo_clients_start(struct echo_run *run, unsigned count,
                        size_t (*size_of)(unsigned index))
{
    unsigned i;

    run->clients = calloc(count, sizeof(*run->clients));
    assert_non_null(run->clients);
    run->client_count = count;
    for (i = 0; i < count; i++) {
        struct echo_client *c = &run->clients[i];
        unsigned char *data;

        c->run = run;
        c->seed = 1000 + i;
        c->total = size_of(i);
        c->conn =
            tloop_connect(run->loop, run->server.address, &client_callbacks, c);
        data = pattern_alloc(c->seed, c->total);
        assert_non_null(data);
        assert_int_equal(xpr_conn_write(c->conn, data, c->total), 0);
        /* Not connected yet: everything waits in the queue. */
        assert_int_equal(xpr_conn_queued(c->conn), c->total);
        free(data);
    }
}

void echo_clients_close_echoed(struct echo_run *run)
{
    unsigned i;

    run->hold_close = 0;
    for (i = 0; i < run->client_count; i++) {
        struct echo_client *c = &run->clients[i];
        if (c->total == c->received && c->closes == 0) {
            CHECK_EQ(xpr_conn_close(c->conn), 0);
        }
    }
}

void echo_clients_assert_all_echoed(const struct echo_run *run)
{
    unsigned i;

    for (i = 0; i < run->client_count; i++) {
        const struct echo_client *c = &run->clients[i];
        assert_int_equal(c->opens, 1);
        assert_int_equal(c->closes, 1);
        assert_int_equal(c->close_err, 0);
        assert_int_equal(c->received, c->total);
    }
    assert_int_equal(run->server.opened, run->client_count);
    assert_int_equal(run->server.closed, run->client_count);
    assert_int_equal(run->server.closed_with_error, 0);
}

void echo_clients_free(struct echo_run *run)
{
    free(run->clients);
    run->clients = NULL;
}

static size_t warm_up_bytes(unsigned index)
{
    (void)index;
    return 1;
}

long test_handles_baseline(void)
{
    static int warmed_up;
    if (!warmed_up && test_open_handles() >= 0) {
        struct echo_run run;
        memset(&run, 0, sizeof(run));
        run.loop = tloop_new();
        echo_server_start(&run.server, run.loop, NULL);
        echo_clients_start(&run, 1, warm_up_bytes);
        tloop_run(run.loop, 30000);
        echo_clients_assert_all_echoed(&run);
        echo_clients_free(&run);
        tloop_free(run.loop);
        warmed_up = 1;
    }
    return test_open_handles();
}
