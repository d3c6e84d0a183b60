/*
 * Idle connections for the ramp: each connects, sets nothing and sends
 * nothing. One that the server closes or resets counts as dropped; one that
 * never opens as failed, with the first error kept as the reason.
 */
#include <stdlib.h>

#include "ramp.h"

enum ramp_state { RAMP_CONNECTING, RAMP_OPEN, RAMP_CLOSING, RAMP_CLOSED };

struct ramp_conn {
    struct ramp *ramp;
    xpr_conn *conn;
    unsigned char state;
};

struct ramp {
    xpr_loop *loop;
    const char *address;
    struct ramp_conn *conns;
    size_t target, attempted, pending, open, failed, dropped;
    int first_error;
};

static void note_error(struct ramp *r, int err)
{
    if (r->first_error == 0)
        r->first_error = err;
}

static void on_open(xpr_conn *conn)
{
    struct ramp_conn *rc = xpr_conn_userdata(conn);

    if (rc->state != RAMP_CONNECTING)
        return;
    rc->state = RAMP_OPEN;
    rc->ramp->pending--;
    rc->ramp->open++;
}

static void on_data(xpr_conn *conn, const void *p, size_t n)
{
    (void)conn;
    (void)p;
    (void)n;
}

static void on_eof(xpr_conn *conn)
{
    struct ramp_conn *rc = xpr_conn_userdata(conn);

    if (rc->state == RAMP_OPEN)
        xpr_conn_close(conn);
}

static void on_close(xpr_conn *conn, int err)
{
    struct ramp_conn *rc = xpr_conn_userdata(conn);
    struct ramp *r = rc->ramp;

    switch (rc->state) {
    case RAMP_CONNECTING:
        r->pending--;
        r->failed++;
        note_error(r, err != 0 ? err : XPR_ECONNRESET);
        break;
    case RAMP_OPEN:
        r->open--;
        r->dropped++;
        note_error(r, err != 0 ? err : XPR_ECONNRESET);
        break;
    case RAMP_CLOSING:
        r->open--;
        break;
    default:
        break;
    }
    rc->state = RAMP_CLOSED;
    rc->conn = NULL;
}

struct ramp *ramp_new(xpr_loop *loop, const char *address, size_t target)
{
    struct ramp *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    r->conns = calloc(target > 0 ? target : 1, sizeof *r->conns);
    if (r->conns == NULL) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->address = address;
    r->target = target;
    return r;
}

size_t ramp_start(struct ramp *r, size_t n)
{
    static const struct xpr_conn_callbacks callbacks = {on_open, on_data, NULL,
                                                        on_eof, on_close};
    size_t started = 0;

    while (started < n && r->attempted < r->target) {
        struct ramp_conn *rc = &r->conns[r->attempted];
        int err;

        rc->ramp = r;
        rc->state = RAMP_CONNECTING;
        r->attempted++;
        started++;
        err = xpr_connect(r->loop, r->address, &callbacks, rc, &rc->conn);
        if (err != 0) {
            rc->state = RAMP_CLOSED;
            r->failed++;
            note_error(r, err);
            break;
        }
        r->pending++;
    }
    return started;
}

size_t ramp_attempted(const struct ramp *r)
{
    return r->attempted;
}

size_t ramp_pending(const struct ramp *r)
{
    return r->pending;
}

size_t ramp_open(const struct ramp *r)
{
    return r->open;
}

size_t ramp_failed(const struct ramp *r)
{
    return r->failed;
}

size_t ramp_dropped(const struct ramp *r)
{
    return r->dropped;
}

int ramp_first_error(const struct ramp *r)
{
    return r->first_error;
}

size_t ramp_release(struct ramp *r, size_t n)
{
    size_t i, released = 0;

    for (i = r->attempted; i > 0 && released < n; i--) {
        struct ramp_conn *rc = &r->conns[i - 1];

        if (rc->state != RAMP_OPEN && rc->state != RAMP_CONNECTING)
            continue;
        if (rc->state == RAMP_CONNECTING) {
            r->pending--;
            r->open++; /* on_close of a closing conn counts it down */
        }
        rc->state = RAMP_CLOSING;
        xpr_conn_abort(rc->conn);
        released++;
    }
    return released;
}

void ramp_free(struct ramp *r)
{
    if (r == NULL)
        return;
    free(r->conns);
    free(r);
}
