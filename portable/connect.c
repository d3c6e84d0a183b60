/*
 * xpr_connect: a numeric address goes to the transport at once; a name is
 * looked up first (resolve.c, off the loop thread), then its addresses are
 * tried in the order the system gives them until one answers.
 *
 * The conn the application holds stays CONNECTING through the lookup and
 * every attempt; its plan says where it is:
 *   - looking up, or between two addresses: nothing of the conn is in the
 *     transport (no socket), so ending it needs no conn_close (idle);
 *   - attempting: the transport connects one address. A failure that is a
 *     connect outcome, with another address left, closes that attempt's
 *     socket through conn_close; when the transport reports it closed the
 *     conn waits on loop->finished, still CONNECTING, and the loop (never
 *     a transport callback) clears the transport's part of the conn and
 *     tries the next address. The last address's failure ends the conn,
 *     and on_close reports it.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "resolve.h"

struct xpr__connect_plan {
    xpr_resolve *lookup; /* while the name is looked up */
    struct xpr__addr *addrs;
    size_t count, next;
    int attempting;      /* the transport holds an attempt */
    int attempt_closing; /* that attempt failed; its socket is closing */
    int retry_waiting;   /* on loop->finished, the next address to try */
    int stopped;         /* closed or aborted meanwhile: no next attempt */
    enum xpr__conn_state resume_state; /* CONNECTING, or CLOSING */
    int stop_err;
};

int xpr__is_connect_outcome(int err)
{
    return err == XPR_ECONNREFUSED || err == XPR_ENETUNREACH ||
           err == XPR_EHOSTUNREACH || err == XPR_ETIMEDOUT ||
           err == XPR_ECONNRESET || err == XPR_EADDRNOTAVAIL;
}

/* Ends a conn the transport knows nothing of: on_close reports err from
 * the loop. */
static void end_idle(xpr_conn *c, int err)
{
    xpr__connect_forget(c);
    c->state = XPR__CONN_ENDING;
    c->close_err = err;
    xpr__conn_closed(c);
}

/* Tries the addresses left, from plan->next, until the transport takes
 * one; ends the conn when none is left. */
static void try_next(xpr_conn *c)
{
    struct xpr__connect_plan *plan = c->plan;
    int rc = XPR_ECONNREFUSED;
    while (plan->next < plan->count) {
        rc = c->loop->ops->conn_connect(c, &plan->addrs[plan->next++]);
        if (rc == 0) {
            plan->attempting = 1;
            return;
        }
        if (!xpr__is_connect_outcome(rc))
            break;
    }
    end_idle(c, rc);
}

static void resolved(xpr_resolve *req, int err, const char *const *addresses,
                     size_t count, void *arg)
{
    xpr_conn *c = arg;
    struct xpr__connect_plan *plan = c->plan;
    size_t i;
    (void)req;
    plan->lookup = NULL;
    if (err == 0) {
        plan->addrs = xpr__calloc(count, sizeof(*plan->addrs));
        if (plan->addrs == NULL)
            err = XPR_ENOMEM;
    }
    for (i = 0; err == 0 && i < count; i++)
        if (xpr__addr_parse(addresses[i], &plan->addrs[plan->count]) == 0)
            plan->count++;
    if (err != 0) {
        end_idle(c, err);
        return;
    }
    try_next(c);
}

int xpr__connect_idle(const xpr_conn *c)
{
    return c->plan != NULL && !c->plan->attempting;
}

int xpr__connect_next_wanted(xpr_conn *c, int err)
{
    struct xpr__connect_plan *plan = c->plan;
    if (plan == NULL || !plan->attempting || plan->next >= plan->count ||
        !xpr__is_connect_outcome(err))
        return 0;
    plan->attempt_closing = 1;
    plan->resume_state = c->state; /* closed while connecting: still so */
    return 1;
}

int xpr__connect_between(const xpr_conn *c)
{
    return c->plan != NULL &&
           (c->plan->attempt_closing || c->plan->retry_waiting);
}

void xpr__connect_stop(xpr_conn *c, int err)
{
    if (!c->plan->stopped) {
        c->plan->stopped = 1;
        c->plan->stop_err = err;
    }
}

enum xpr__conn_state xpr__connect_attempt_closed(xpr_conn *c)
{
    c->plan->attempting = 0;
    c->plan->attempt_closing = 0;
    c->plan->retry_waiting = 1;
    return c->plan->resume_state;
}

int xpr__connect_retrying(const xpr_conn *c)
{
    return c->plan != NULL && c->plan->retry_waiting;
}

void xpr__connect_retry(xpr_conn *c)
{
    xpr_loop *loop = c->loop;
    size_t core = sizeof(struct xpr_conn);
    c->plan->retry_waiting = 0;
    xpr__list_push_back(&loop->conns, &c->link);
    /* The transport's part starts over, as in a new conn. */
    memset((unsigned char *)c + core, 0, loop->ops->conn_size - core);
    c->sock = XPR__INVALID_SOCKET;
    c->send_full = 0;
    if (xpr__atomic_load(&loop->freeing))
        end_idle(c, XPR_ECANCELED);
    else if (c->plan->stopped)
        end_idle(c, c->plan->stop_err);
    else
        try_next(c);
}

void xpr__connect_forget(xpr_conn *c)
{
    struct xpr__connect_plan *plan = c->plan;
    if (plan == NULL)
        return;
    if (plan->lookup != NULL)
        xpr__resolve_abandon(plan->lookup);
    free(plan->addrs);
    free(plan);
    c->plan = NULL;
}

static xpr_conn *new_conn(xpr_loop *loop, const struct xpr_conn_callbacks *cb,
                          void *arg)
{
    struct xpr__shared_callbacks *shared = xpr__callbacks_new(cb);
    xpr_conn *c = NULL;
    if (shared != NULL)
        c = xpr__conn_new(loop, shared, arg, XPR__INVALID_SOCKET);
    xpr__callbacks_release(shared); /* the conn holds its own reference */
    return c;
}

static int connect_numeric(xpr_loop *loop, const struct xpr__addr *addr,
                           const struct xpr_conn_callbacks *cb, void *arg,
                           xpr_conn **out)
{
    xpr_conn *c = new_conn(loop, cb, arg);
    int rc;
    if (c == NULL)
        return XPR_ENOMEM;
    rc = loop->ops->conn_connect(c, addr);
    if (rc != 0 && !xpr__is_connect_outcome(rc)) {
        xpr__conn_unlink_free(c);
        return rc;
    }
    if (rc != 0) {
        /* on_close reports it, from the loop */
        c->state = XPR__CONN_ENDING;
        c->close_err = rc;
        xpr__conn_closed(c);
    }
    *out = c;
    return 0;
}

/* A name to look up, or (address NULL) the answer already: count texts. */
static int connect_by_name(xpr_loop *loop, const char *address,
                           const char *const *answer, size_t count,
                           const struct xpr_conn_callbacks *cb, void *arg,
                           xpr_conn **out)
{
    xpr_conn *c = new_conn(loop, cb, arg);
    int rc = 0;
    if (c == NULL)
        return XPR_ENOMEM;
    c->plan = xpr__calloc(1, sizeof(*c->plan));
    if (c->plan == NULL)
        rc = XPR_ENOMEM;
    else if (address != NULL)
        rc = xpr_resolve_start(loop, address, resolved, c, &c->plan->lookup);
    if (rc != 0) {
        xpr__conn_unlink_free(c);
        return rc;
    }
    *out = c;
    if (address == NULL)
        resolved(NULL, 0, answer, count, c);
    return 0;
}

int xpr_connect(xpr_loop *loop, const char *address,
                const struct xpr_conn_callbacks *callbacks, void *arg,
                xpr_conn **out)
{
    struct xpr__addr addr;
    int rc;
    if (loop == NULL || address == NULL || callbacks == NULL || out == NULL ||
        xpr__atomic_load(&loop->freeing))
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(loop);
    if (rc != 0)
        return rc;
    if (xpr__addr_parse_numeric(address, &addr) == 0)
        return connect_numeric(loop, &addr, callbacks, arg, out);
    /* Bad text is refused before anything of the loop is touched. */
    rc = xpr__resolve_check(address);
    if (rc != 0)
        return rc;
    return connect_by_name(loop, address, NULL, 0, callbacks, arg, out);
}

int xpr__connect_addresses(xpr_loop *loop, const char *const *addresses,
                           size_t count, const struct xpr_conn_callbacks *cb,
                           void *arg, xpr_conn **out)
{
    return connect_by_name(loop, NULL, addresses, count, cb, arg, out);
}
