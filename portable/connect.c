/*
 * xpr_connect: a numeric address goes to the transport at once; a name is
 * looked up first (resolve.c, off the loop thread), then its addresses are
 * tried in order until one answers (docs/design.md, "Names and connects").
 * The conn stays CONNECTING throughout; its plan says where it is: idle
 * (looking up, or between two addresses: no socket, so ending it needs no
 * conn_close) or attempting. The local address of xpr_connect_ex skips
 * addresses of the other family; its deadline covers the whole connect.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "resolve.h"
#include "sock.h"

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
    int has_local; /* every attempt's socket is bound to local */
    struct xpr__addr local;
    int has_deadline; /* deadline is set up: XPR_ETIMEDOUT when it passes */
    xpr_timer deadline;
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
    /* none of the local address's family, or none at all */
    int rc = plan->has_local ? XPR_EAFNOSUPPORT : XPR_ECONNREFUSED;
    while (plan->next < plan->count) {
        const struct xpr__addr *addr = &plan->addrs[plan->next++];
        if (plan->has_local && addr->family != plan->local.family)
            continue;
        rc = c->loop->ops->conn_connect(c, addr);
        if (rc == 0) {
            plan->attempting = 1;
            return;
        }
        if (!xpr__is_connect_outcome(rc))
            break;
    }
    end_idle(c, rc);
}

int xpr__conn_open_socket(xpr_conn *c, int family, xpr_socket_t *out,
                          int *bound)
{
    const struct xpr__connect_plan *plan = c->plan;
    int rc = xpr__sock_open(family, out);
    *bound = 0;
    if (rc != 0 || plan == NULL || !plan->has_local)
        return rc;
    rc = xpr__sock_bind(*out, &plan->local);
    if (rc != 0) {
        xpr__sock_close(*out, 0);
        *out = XPR__INVALID_SOCKET;
        return rc;
    }
    *bound = 1;
    return 0;
}

/* The whole connect took too long: no next address, the conn ends. */
static void deadline_passed(xpr_timer *t, void *arg)
{
    xpr_conn *c = arg;
    (void)t;
    if (c->state >= XPR__CONN_ENDING && !xpr__connect_between(c))
        return; /* ending anyway */
    c->plan->next = c->plan->count;
    c->loop->stats.timed_out_connections++;
    xpr__conn_end(c, XPR_ETIMEDOUT);
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
    if (plan->has_deadline)
        xpr__timer_release(&plan->deadline);
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

/* A plan for cfg's options: 0, or an error (the caller frees the conn,
 * and its plan with it). */
static int plan_options(xpr_conn *c, const struct xpr_connect_config *cfg,
                        const struct xpr__addr *local)
{
    struct xpr__connect_plan *plan = xpr__calloc(1, sizeof(*plan));
    if (plan == NULL)
        return XPR_ENOMEM;
    c->plan = plan;
    if (local != NULL) {
        plan->has_local = 1;
        plan->local = *local;
    }
    if (cfg != NULL && cfg->timeout_ms != 0) {
        xpr__timer_init(&plan->deadline, c->loop, deadline_passed, c);
        plan->has_deadline = 1;
        return xpr__timer_arm(&plan->deadline, cfg->timeout_ms, 0);
    }
    return 0;
}

static int connect_numeric(xpr_loop *loop, const struct xpr__addr *addr,
                           const struct xpr_connect_config *cfg,
                           const struct xpr__addr *local,
                           const struct xpr_conn_callbacks *cb, void *arg,
                           xpr_conn **out)
{
    xpr_conn *c = new_conn(loop, cb, arg);
    int rc = 0;
    if (c == NULL)
        return XPR_ENOMEM;
    if (local != NULL || (cfg != NULL && cfg->timeout_ms != 0))
        rc = plan_options(c, cfg, local);
    if (rc == 0)
        rc = loop->ops->conn_connect(c, addr);
    if (rc != 0 && !xpr__is_connect_outcome(rc)) {
        xpr__conn_discard(c);
        return rc;
    }
    if (rc != 0) {
        /* on_close reports it, from the loop */
        c->state = XPR__CONN_ENDING;
        c->close_err = rc;
        xpr__conn_closed(c);
    } else if (c->plan != NULL) {
        c->plan->attempting = 1;
    }
    *out = c;
    return 0;
}

/* A name to look up, or (address NULL) the answer already: count texts. */
static int connect_by_name(xpr_loop *loop, const char *address,
                           const char *const *answer, size_t count,
                           const struct xpr_connect_config *cfg,
                           const struct xpr__addr *local,
                           const struct xpr_conn_callbacks *cb, void *arg,
                           xpr_conn **out)
{
    xpr_conn *c = new_conn(loop, cb, arg);
    int rc;
    if (c == NULL)
        return XPR_ENOMEM;
    rc = plan_options(c, cfg, local);
    if (rc == 0 && address != NULL)
        rc = xpr_resolve_start(loop, address, resolved, c, &c->plan->lookup);
    if (rc != 0) {
        xpr__conn_discard(c);
        return rc;
    }
    *out = c;
    if (address == NULL)
        resolved(NULL, 0, answer, count, c);
    return 0;
}

int xpr_connect_ex(xpr_loop *loop, const char *address,
                   const struct xpr_connect_config *cfg,
                   const struct xpr_conn_callbacks *callbacks, void *arg,
                   xpr_conn **out)
{
    struct xpr__addr addr, local;
    const struct xpr__addr *local_given = NULL;
    int rc = xpr__loop_check_new(loop, address != NULL && callbacks != NULL &&
                                           out != NULL);
    if (rc != 0)
        return rc;
    /* Bad text is refused before anything of the loop is touched. */
    if (cfg != NULL && cfg->local_address != NULL) {
        rc = xpr__addr_parse_numeric(cfg->local_address, &local);
        if (rc != 0)
            return rc;
        local_given = &local;
    }
    if (xpr__addr_parse_numeric(address, &addr) == 0) {
        if (local_given != NULL && local.family != addr.family)
            return XPR_EAFNOSUPPORT;
        return connect_numeric(loop, &addr, cfg, local_given, callbacks, arg,
                               out);
    }
    rc = xpr__resolve_check(address);
    if (rc != 0)
        return rc;
    return connect_by_name(loop, address, NULL, 0, cfg, local_given, callbacks,
                           arg, out);
}

int xpr_connect(xpr_loop *loop, const char *address,
                const struct xpr_conn_callbacks *callbacks, void *arg,
                xpr_conn **out)
{
    return xpr_connect_ex(loop, address, NULL, callbacks, arg, out);
}

int xpr__connect_addresses(xpr_loop *loop, const char *const *addresses,
                           size_t count, const struct xpr_conn_callbacks *cb,
                           void *arg, xpr_conn **out)
{
    return connect_by_name(loop, NULL, addresses, count, NULL, NULL, cb, arg,
                           out);
}
