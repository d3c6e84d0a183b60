/*
 * A conn's idle and first-data timeouts. Most conns have neither, so the
 * timer and its settings live in an object made when a timeout is first
 * set (xpr_conn_set_idle_timeout, or a listener's first_data_timeout_ms).
 *
 * The first-data timeout runs from open to the first bytes received; the
 * idle timeout then runs from the last bytes received. The timer is not
 * moved on every read: when it fires it checks how long the conn has been
 * silent and re-arms for the rest.
 */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"

struct xpr__conn_timeout {
    xpr_timer timer;
    uint32_t idle_ms;
    uint32_t first_data_ms; /* non-zero until the first data */
    uint64_t last_read_ms;
};

static void timeout_fired(xpr_timer *timer, void *arg)
{
    xpr_conn *c = arg;
    struct xpr__conn_timeout *t = c->timeout;
    (void)timer;
    if (t->first_data_ms == 0 && t->idle_ms != 0) {
        uint64_t silent = xpr__now_ms() - t->last_read_ms;
        if (silent < t->idle_ms) {
            int rc = xpr__timer_arm(&t->timer, t->idle_ms - silent, 0);
            if (rc != 0)
                xpr__conn_failed(c, rc);
            return;
        }
    }
    c->loop->stats.timed_out_connections++;
    xpr__conn_failed(c, XPR_ETIMEDOUT);
}

/* The conn's timeout, made on first use; NULL when out of memory. */
static struct xpr__conn_timeout *timeout_of(xpr_conn *c)
{
    if (c->timeout == NULL) {
        c->timeout = xpr__calloc(1, sizeof(*c->timeout));
        if (c->timeout != NULL)
            xpr__timer_init(&c->timeout->timer, c->loop, timeout_fired, c);
    }
    return c->timeout;
}

/* 0, or the error of a timer that could not be armed (out of memory): a
 * conn must not lose its timeout silently, so callers end it. */
static int arm(xpr_conn *c)
{
    struct xpr__conn_timeout *t = c->timeout;
    uint32_t ms;
    if (t == NULL)
        return 0;
    ms = t->first_data_ms != 0 ? t->first_data_ms : t->idle_ms;
    if (ms == 0) {
        xpr__timer_disarm(&t->timer);
        return 0;
    }
    return xpr__timer_arm(&t->timer, ms, 0);
}

int xpr__conn_timeout_start(xpr_conn *c)
{
    uint32_t first_data_ms =
        c->listener != NULL ? c->listener->cfg.first_data_timeout_ms : 0;
    if (first_data_ms != 0) {
        if (timeout_of(c) == NULL)
            return XPR_ENOMEM;
        c->timeout->first_data_ms = first_data_ms;
    }
    if (c->timeout != NULL)
        c->timeout->last_read_ms = xpr__now_ms();
    return arm(c);
}

int xpr__conn_timeout_note_read(xpr_conn *c)
{
    struct xpr__conn_timeout *t = c->timeout;
    if (t == NULL)
        return 0;
    t->last_read_ms = xpr__now_ms();
    if (t->first_data_ms == 0)
        return 0;
    t->first_data_ms = 0;
    return arm(c);
}

void xpr__conn_timeout_stop(xpr_conn *c)
{
    if (c->timeout != NULL)
        xpr__timer_disarm(&c->timeout->timer);
}

void xpr__conn_timeout_release(xpr_conn *c)
{
    if (c->timeout != NULL)
        xpr__timer_release(&c->timeout->timer);
}

void xpr__conn_timeout_free(xpr_conn *c)
{
    xpr__conn_timeout_release(c);
    free(c->timeout);
    c->timeout = NULL;
}

int xpr_conn_set_idle_timeout(xpr_conn *conn, uint32_t ms)
{
    int rc = xpr__conn_usable(conn);
    if (rc != 0)
        return rc;
    if (ms == 0 && conn->timeout == NULL)
        return 0;
    if (timeout_of(conn) == NULL)
        return XPR_ENOMEM;
    conn->timeout->idle_ms = ms;
    conn->timeout->last_read_ms = xpr__now_ms();
    return conn->state == XPR__CONN_OPEN ? arm(conn) : 0;
}
