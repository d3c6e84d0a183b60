#include <string.h>

#include "common.h"
#include "echo_server.h"

static void echo_on_open(xpr_conn *conn)
{
    struct echo_server *server = xpr_conn_userdata(conn);
    callback_enter();
    server->opened++;
    if (server->idle_timeout_ms != 0) {
        CHECK_EQ(xpr_conn_set_idle_timeout(conn, server->idle_timeout_ms), 0);
    }
    if (server->opened - server->closed > server->max_live) {
        server->max_live = server->opened - server->closed;
    }
    callback_leave();
}

static void echo_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct echo_server *server = xpr_conn_userdata(conn);
    size_t queued;
    int rc;

    callback_enter();
    CHECK(n > 0);
    rc = xpr_conn_write(conn, p, n);
    if (rc != 0) {
        /* A send that failed at once: the peer reset the conn, which now
         * closes with that error (on_close follows). */
        CHECK(rc == XPR_ECONNRESET || rc == XPR_EPIPE ||
              rc == XPR_ECONNABORTED);
        server->write_errors++;
        callback_leave();
        return;
    }
    server->echoed_bytes += n;
    queued = xpr_conn_queued(conn);
    if (queued > server->max_queued) {
        server->max_queued = queued;
    }
    if (queued > server->high_water) {
        CHECK_EQ(xpr_conn_pause_reading(conn), 0);
        server->pauses++;
    }
    callback_leave();
}

static void echo_on_drain(xpr_conn *conn)
{
    callback_enter();
    CHECK_EQ(xpr_conn_resume_reading(conn), 0);
    callback_leave();
}

static void echo_on_close(xpr_conn *conn, int err)
{
    struct echo_server *server = xpr_conn_userdata(conn);

    callback_enter();
    /* A second on_close of this conn would find the userdata cleared. */
    if (!CHECK(server != NULL)) {
        callback_leave();
        return;
    }
    xpr_conn_set_userdata(conn, NULL);
    server->closed++;
    if (err != 0) {
        server->closed_with_error++;
        server->last_error = err;
    }
    if (server->on_close_hook != NULL) {
        server->on_close_hook(server, conn, err);
    }
    callback_leave();
}

static const struct xpr_conn_callbacks echo_callbacks = {
    .on_open = echo_on_open,
    .on_data = echo_on_data,
    .on_drain = echo_on_drain,
    .on_close = echo_on_close,
};

void echo_server_start(struct echo_server *server, xpr_loop *loop,
                       const struct xpr_listen_config *cfg)
{
    memset(server, 0, sizeof(*server));
    server->high_water = 256 * 1024;
    server->listener =
        tloop_listen(loop, cfg, &echo_callbacks, server, server->address);
}

void echo_server_stop_listening(struct echo_server *server)
{
    if (server->listener != NULL) {
        CHECK_EQ(xpr_listener_close(server->listener), 0);
        server->listener = NULL;
    }
}
