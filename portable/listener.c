/* Listeners: the public calls and the accept-side rules every back end
 * shares (max_connections, per-connection options). */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "loop_internal.h"
#include "resolve.h"
#include "sock.h"

/* Pauses of accepting after a resource failure: the first, and the most. */
#define ACCEPT_PAUSE_FIRST_MS 10
#define ACCEPT_PAUSE_MAX_MS 1000
/* Connections shed from the backlog per failure, at most. */
#define SHED_PER_FAILURE 64

static void retry_accepting(xpr_timer *t, void *arg);

/* Holds a spare socket for the loop when it has none. */
static void hold_reserve(xpr_loop *loop)
{
    if (loop->reserve_sock == XPR__INVALID_SOCKET &&
        xpr__sock_open(XPR__AF_INET, &loop->reserve_sock) != 0)
        loop->reserve_sock = XPR__INVALID_SOCKET;
}

/* Binds a back end's listener to address: a numeric address, or a name
 * looked up here, on the caller's thread (getaddrinfo blocks; a listener
 * is made once, where the answer is wanted before anything can be served),
 * whose addresses are tried in the system's order until one binds. The
 * first address's error is reported when none does. */
static int bind_listener(xpr_loop *loop, const char *address, int backlog,
                         xpr_listener **out)
{
    struct xpr__addr addr, *addrs = NULL;
    size_t count = 0, i;
    int rc, first_err = 0;
    if (xpr__addr_parse_numeric(address, &addr) == 0)
        return loop->ops->listen(loop, &addr, backlog, out);
    rc = xpr__resolve_check(address);
    if (rc == 0)
        rc = xpr__resolve_now(address, &addrs, &count);
    for (i = 0; rc == 0 && i < count; i++) {
        int err = loop->ops->listen(loop, &addrs[i], backlog, out);
        if (err == 0)
            break;
        if (first_err == 0)
            first_err = err;
    }
    free(addrs);
    if (rc == 0 && i == count)
        rc = first_err;
    return rc;
}

int xpr_listen(xpr_loop *loop, const char *address,
               const struct xpr_listen_config *cfg,
               const struct xpr_conn_callbacks *callbacks, void *arg,
               xpr_listener **out)
{
    struct xpr__shared_callbacks *shared;
    xpr_listener *l;
    int rc;
    /* waiting for first bytes with no deadline lets silent clients hold
     * every posted accept */
    rc = xpr__loop_check_new(
        loop, address != NULL && callbacks != NULL && out != NULL &&
                  (cfg == NULL ||
                   (cfg->backlog >= 0 && (!cfg->accepts_with_data ||
                                          cfg->first_data_timeout_ms != 0))));
    if (rc != 0)
        return rc;
    shared = xpr__callbacks_new(callbacks);
    if (shared == NULL)
        return XPR_ENOMEM;
    rc = bind_listener(loop, address, cfg ? cfg->backlog : 0, &l);
    if (rc != 0) {
        xpr__callbacks_release(shared);
        return rc;
    }
    l->loop = loop;
    l->callbacks = shared;
    l->arg = arg;
    if (cfg != NULL)
        l->cfg = *cfg;
    else
        memset(&l->cfg, 0, sizeof(l->cfg));
    l->live_conns = 0;
    l->pause_ms = 0;
    xpr__timer_init(&l->retry, loop, retry_accepting, l);
    hold_reserve(loop);
    xpr__list_push_back(&loop->listeners, &l->link);
    loop->stats.live_listeners++;
    *out = l;
    return 0;
}

int xpr_listener_address(const xpr_listener *listener, char *buf, size_t len)
{
    return listener == NULL ? XPR_EINVAL
                            : xpr__addr_format(&listener->bound, buf, len);
}

int xpr_listener_close(xpr_listener *listener)
{
    xpr_loop *loop = listener != NULL ? listener->loop : NULL;
    struct xpr__link *link;
    int rc = loop == NULL ? XPR_EINVAL : xpr__loop_check_thread(loop);
    if (rc != 0)
        return rc;
    for (link = loop->conns.head.next; link != &loop->conns.head;
         link = link->next) {
        xpr_conn *c = XPR__CONTAINER(link, xpr_conn, link);
        if (c->listener == listener)
            c->listener = NULL;
    }
    xpr__list_remove(&listener->link);
    loop->stats.live_listeners--;
    xpr__timer_release(&listener->retry);
    xpr__callbacks_release(listener->callbacks);
    loop->ops->listener_close(listener);
    return 0;
}

/* Out of descriptors, connections wait in the backlog that the listener
 * cannot take: their clients would hang until descriptors free up. The
 * reserve makes room for one at a time, so they are accepted and closed at
 * once (the client sees the connection end) and counted as refused. */
static void shed_backlog(xpr_listener *l)
{
    xpr_loop *loop = l->loop;
    int i;
    if (loop->reserve_sock == XPR__INVALID_SOCKET)
        return;
    xpr__sock_close(loop->reserve_sock, 0);
    loop->reserve_sock = XPR__INVALID_SOCKET;
    for (i = 0; i < SHED_PER_FAILURE; i++) {
        xpr_socket_t s;
        if (xpr__sock_accept(l->sock, &s) != 0)
            break;
        xpr__sock_close(s, 0);
        loop->stats.refused_connections++;
    }
    hold_reserve(loop);
}

int xpr__listener_accept_failed(xpr_listener *l, int err)
{
    xpr_loop *loop = l->loop;
    if (err == XPR_ECONNABORTED || err == XPR_ECONNRESET)
        return 0;
    loop->stats.accept_pauses++;
    if (err == XPR_EMFILE)
        shed_backlog(l);
    l->pause_ms = l->pause_ms == 0 ? ACCEPT_PAUSE_FIRST_MS : l->pause_ms * 2;
    if (l->pause_ms > ACCEPT_PAUSE_MAX_MS)
        l->pause_ms = ACCEPT_PAUSE_MAX_MS;
    /* Without the timer there is no way back: accepting stays on. */
    if (loop->ops->listener_set_accepting != NULL &&
        xpr__timer_arm(&l->retry, l->pause_ms, 0) == 0)
        loop->ops->listener_set_accepting(l, 0);
    return 1;
}

static void retry_accepting(xpr_timer *t, void *arg)
{
    xpr_listener *l = arg;
    (void)t;
    if (l->paused)
        return; /* xpr_listener_resume restarts it */
    hold_reserve(l->loop);
    /* A failure to watch the socket again is tried again later. */
    if (l->loop->ops->listener_set_accepting(l, 1) != 0)
        xpr__timer_arm(&l->retry, l->pause_ms, 0);
}

void xpr__listener_conn_opened(xpr_listener *l, xpr_conn *c)
{
    l->live_conns++;
    l->pause_ms = 0;
    c->listener = l;
    l->loop->stats.accepted_connections++;
    if (l->cfg.nodelay)
        xpr__sock_set_nodelay(c->sock, 1);
    if (l->cfg.keepalive_idle_ms)
        xpr__sock_set_keepalive(c->sock, l->cfg.keepalive_idle_ms,
                                l->cfg.keepalive_interval_ms);
    xpr__conn_opened(c);
}

static int set_paused(xpr_listener *l, int paused)
{
    int rc = l == NULL ? XPR_EINVAL : xpr__loop_check_thread(l->loop);
    if (rc != 0 || l->paused == paused)
        return rc;
    if (l->loop->ops->listener_set_accepting == NULL)
        return XPR_ENOTSUP;
    /* A pause after failed accepts ends with the user's, not before. */
    xpr__timer_disarm(&l->retry);
    if (!paused)
        hold_reserve(l->loop);
    rc = l->loop->ops->listener_set_accepting(l, !paused);
    if (rc != 0)
        return rc;
    l->paused = (unsigned char)paused;
    l->pause_ms = 0;
    return 0;
}

int xpr_listener_pause(xpr_listener *listener)
{
    return set_paused(listener, 1);
}

int xpr_listener_resume(xpr_listener *listener)
{
    return set_paused(listener, 0);
}

int xpr_listener_socket(const xpr_listener *listener, xpr_os_socket *out)
{
    if (listener == NULL || out == NULL)
        return XPR_EINVAL;
    *out = (xpr_os_socket)listener->sock;
    return 0;
}
