/* Connections: the public calls (checks, then the back end) and the core's
 * bookkeeping every back end shares: the live list, timeouts, on_close. */
#include <string.h>

#include "backend.h"
#include "loop_internal.h"
#include "sock.h"

static void conn_timeout_fired(xpr_timer *t, void *arg);

void xpr__conn_init(xpr_conn *c, xpr_loop *loop,
                    const struct xpr_conn_callbacks *cb, void *arg,
                    xpr_socket_t sock)
{
    c->loop = loop;
    c->cb = *cb;
    c->userdata = arg;
    c->listener = NULL;
    c->sock = sock;
    c->flags = XPR__CONN_CONNECTING;
    c->close_err = 0;
    c->has_peer = 0;
    c->idle_timeout_ms = 0;
    c->first_data_timeout_ms = 0;
    c->last_read_ms = 0;
    xpr__timer_init(&c->timeout, loop, conn_timeout_fired, c);
    xpr__list_push_back(&loop->conns, &c->link);
    loop->stats.live_connections++;
}

/* 0, or the error of a timer that could not be armed (out of memory): a
 * conn must not lose its timeout silently, so callers end it. */
static int arm_timeout(xpr_conn *c)
{
    uint32_t ms = c->first_data_timeout_ms ? c->first_data_timeout_ms
                                           : c->idle_timeout_ms;
    if (ms == 0) {
        xpr__timer_disarm(&c->timeout);
        return 0;
    }
    return xpr__timer_arm(&c->timeout, ms, 0);
}

static void end_unless_armed(xpr_conn *c, int rc)
{
    if (rc != 0 && !(c->flags & XPR__CONN_FINISHED))
        c->loop->ops->close_now(c, rc, 0);
}

void xpr__conn_opened(xpr_conn *c)
{
    int rc;
    c->flags = (c->flags & ~(unsigned)XPR__CONN_CONNECTING) | XPR__CONN_OPEN;
    c->has_peer = 1; /* accepted: set by the back end; connected: by us */
    c->last_read_ms = xpr__now_ms();
    rc = arm_timeout(c);
    if (c->cb.on_open != NULL)
        c->cb.on_open(c);
    end_unless_armed(c, rc);
}

void xpr__conn_finish(xpr_conn *c, int err)
{
    xpr_loop *loop = c->loop;
    if (c->flags & XPR__CONN_FINISHED)
        return;
    c->flags |= XPR__CONN_FINISHED;
    c->close_err = err;
    xpr__timer_release(&c->timeout);
    if (c->listener != NULL)
        c->listener->live_conns--;
    xpr__list_remove(&c->link);
    xpr__list_push_back(&loop->finished, &c->link);
    loop->stats.live_connections--;
}

void xpr__conn_note_read(xpr_conn *c, size_t n)
{
    c->loop->stats.bytes_read += n;
    if (c->first_data_timeout_ms != 0) {
        c->first_data_timeout_ms = 0;
        c->last_read_ms = xpr__now_ms();
        end_unless_armed(c, arm_timeout(c));
    } else if (c->idle_timeout_ms != 0) {
        /* the timer is not moved on every read: it checks when it fires */
        c->last_read_ms = xpr__now_ms();
    }
}

static void conn_timeout_fired(xpr_timer *t, void *arg)
{
    xpr_conn *c = arg;
    (void)t;
    if (c->first_data_timeout_ms == 0 && c->idle_timeout_ms != 0) {
        uint64_t silent = xpr__now_ms() - c->last_read_ms;
        if (silent < c->idle_timeout_ms) {
            end_unless_armed(
                c, xpr__timer_arm(&c->timeout, c->idle_timeout_ms - silent, 0));
            return;
        }
    }
    c->loop->stats.timed_out_connections++;
    c->loop->ops->close_now(c, XPR_ETIMEDOUT, 0);
}

void xpr__conn_deliver_eof(xpr_conn *c)
{
    if (c->cb.on_eof != NULL) {
        c->cb.on_eof(c);
    } else if (!(c->flags & (XPR__CONN_CLOSING | XPR__CONN_FINISHED))) {
        c->flags |= XPR__CONN_CLOSING;
        c->loop->ops->close(c);
    }
}

void xpr__conn_deliver_drain(xpr_conn *c)
{
    if (c->cb.on_drain != NULL && !(c->flags & XPR__CONN_FINISHED))
        c->cb.on_drain(c);
}

/* ---- public API ---- */

/* Common checks: 0, or the error to return. */
static int usable(const xpr_conn *c)
{
    int rc;
    if (c == NULL)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(c->loop);
    if (rc != 0)
        return rc;
    if (c->flags & (XPR__CONN_CLOSING | XPR__CONN_FINISHED))
        return XPR_ECLOSED;
    return 0;
}

int xpr_conn_write(xpr_conn *conn, const void *p, size_t n)
{
    int rc;
    if (conn == NULL || (p == NULL && n > 0))
        return XPR_EINVAL;
    rc = usable(conn);
    if (rc != 0)
        return rc;
    if (conn->flags & XPR__CONN_SHUT_WANTED)
        return XPR_ESHUTDOWN;
    if (n == 0)
        return 0;
    return conn->loop->ops->write(conn, p, n);
}

size_t xpr_conn_queued(const xpr_conn *conn)
{
    if (conn == NULL || (conn->flags & XPR__CONN_FINISHED))
        return 0;
    return conn->loop->ops->queued(conn);
}

/* The flag changes first (the back end reads it); a back end that fails
 * puts it back, so the state reported is the state in force. */
static int set_paused(xpr_conn *conn, int paused)
{
    unsigned before;
    int rc = usable(conn);
    if (rc != 0)
        return rc;
    if (!!(conn->flags & XPR__CONN_PAUSED) == paused)
        return 0;
    before = conn->flags & XPR__CONN_PAUSED;
    if (paused)
        conn->flags |= XPR__CONN_PAUSED;
    else
        conn->flags &= ~(unsigned)XPR__CONN_PAUSED;
    rc = conn->loop->ops->set_reading(conn, !paused);
    if (rc != 0)
        conn->flags = (conn->flags & ~(unsigned)XPR__CONN_PAUSED) | before;
    return rc;
}

int xpr_conn_pause_reading(xpr_conn *conn)
{
    return set_paused(conn, 1);
}

int xpr_conn_resume_reading(xpr_conn *conn)
{
    return set_paused(conn, 0);
}

int xpr_conn_shutdown(xpr_conn *conn)
{
    int rc = usable(conn);
    if (rc != 0)
        return rc;
    if (conn->flags & XPR__CONN_SHUT_WANTED)
        return 0;
    conn->flags |= XPR__CONN_SHUT_WANTED;
    return conn->loop->ops->shutdown(conn);
}

int xpr_conn_close(xpr_conn *conn)
{
    int rc;
    if (conn == NULL)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(conn->loop);
    if (rc != 0)
        return rc;
    if (conn->flags & (XPR__CONN_CLOSING | XPR__CONN_FINISHED))
        return 0;
    conn->flags |= XPR__CONN_CLOSING;
    xpr__timer_disarm(&conn->timeout);
    return conn->loop->ops->close(conn);
}

int xpr_conn_abort(xpr_conn *conn)
{
    int rc;
    if (conn == NULL)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(conn->loop);
    if (rc != 0)
        return rc;
    if (!(conn->flags & XPR__CONN_FINISHED))
        conn->loop->ops->close_now(conn, 0, 1);
    return 0;
}

void xpr_conn_set_userdata(xpr_conn *conn, void *userdata)
{
    if (conn != NULL)
        conn->userdata = userdata;
}

void *xpr_conn_userdata(const xpr_conn *conn)
{
    return conn ? conn->userdata : NULL;
}

xpr_loop *xpr_conn_loop(const xpr_conn *conn)
{
    return conn ? conn->loop : NULL;
}

int xpr_conn_peer_address(const xpr_conn *conn, char *buf, size_t len)
{
    if (conn == NULL || buf == NULL)
        return XPR_EINVAL;
    if (conn->flags & XPR__CONN_FINISHED)
        return XPR_ECLOSED;
    if (!conn->has_peer)
        return XPR_EAGAIN;
    return xpr__addr_format(&conn->peer, buf, len);
}

int xpr_conn_set_nodelay(xpr_conn *conn, int enable)
{
    int rc = usable(conn);
    if (rc != 0)
        return rc;
    return xpr__sock_set_nodelay(conn->sock, enable);
}

int xpr_conn_set_keepalive(xpr_conn *conn, uint32_t idle_ms,
                           uint32_t interval_ms)
{
    int rc = usable(conn);
    if (rc != 0)
        return rc;
    return xpr__sock_set_keepalive(conn->sock, idle_ms, interval_ms);
}

int xpr_conn_set_idle_timeout(xpr_conn *conn, uint32_t ms)
{
    int rc = usable(conn);
    if (rc != 0)
        return rc;
    conn->idle_timeout_ms = ms;
    conn->last_read_ms = xpr__now_ms();
    if (conn->flags & XPR__CONN_OPEN)
        return arm_timeout(conn);
    return 0;
}

int xpr__is_connect_outcome(int err)
{
    return err == XPR_ECONNREFUSED || err == XPR_ENETUNREACH ||
           err == XPR_EHOSTUNREACH || err == XPR_ETIMEDOUT ||
           err == XPR_ECONNRESET || err == XPR_EADDRNOTAVAIL;
}

int xpr_connect(xpr_loop *loop, const char *address,
                const struct xpr_conn_callbacks *callbacks, void *arg,
                xpr_conn **out)
{
    struct xpr__addr addr;
    xpr_conn *c;
    int rc;
    if (loop == NULL || address == NULL || callbacks == NULL || out == NULL ||
        xpr__atomic_load(&loop->freeing))
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(loop);
    if (rc != 0)
        return rc;
    rc = xpr__addr_parse(address, &addr);
    if (rc != 0)
        return rc;
    rc = loop->ops->connect(loop, &addr, callbacks, arg, &c);
    if (rc != 0)
        return rc;
    c->peer = addr; /* reported once open: XPR_EAGAIN until then */
    *out = c;
    return 0;
}
