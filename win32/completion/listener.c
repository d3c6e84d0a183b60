/*
 * Listeners of the completion engine: pre-posted AcceptEx.
 *
 * 1. AcceptEx needs a socket made in advance, of the listener's family,
 *    which knows nothing of the listener until SO_UPDATE_ACCEPT_CONTEXT
 *    (without it getpeername, shutdown and SO_* queries fail).
 * 2. AcceptEx writes both addresses into its buffer, after any received
 *    bytes (sizeof(address) + 16 each). Nothing unpacks them: the core asks
 *    getpeername when the application wants the peer.
 * 3. By default AcceptEx has no receive buffer: it completes on connect,
 *    and the core's first-data timer (first_data_timeout_ms) closes silent
 *    clients, as on every back end; nothing pins a buffer.
 * 4. A client that resets before its AcceptEx completes makes it fail
 *    (WSAECONNRESET / ERROR_NETNAME_DELETED): no listener error; the accept
 *    is posted again.
 * 5. Running out of posted accepts is noticed two ways: the last one
 *    completing, and FD_ACCEPT through WSAEventSelect (a connection waits in
 *    the backlog with no AcceptEx to take it), whose registered wait wakes
 *    the loop; the next round posts a batch more, up to accepts_max. During
 *    a burst FD_ACCEPT fires after every AcceptEx posted while the backlog
 *    is not empty, so the callback runs in the wait thread, only flags, and
 *    wakes the loop once until the loop has looked at the flag.
 * 6. Closing the listener's socket cancels its pending AcceptEx; their
 *    packets still come (ERROR_OPERATION_ABORTED; Wine:
 *    ERROR_HANDLES_CLOSED). They leave the stats at once, but the
 *    listener's memory lives until the last of them is handled.
 * 7. UnregisterWaitEx(INVALID_HANDLE_VALUE) waits for a running callback,
 *    so none touches the loop after the listener closed.
 * 8. accepts_with_data turns item 3 around: AcceptEx gets a receive buffer
 *    and completes with the conn's first bytes, a round trip less. A silent
 *    client then holds a posted accept: a sweep every SWEEP_MS asks each
 *    one's SO_CONNECT_TIME (whole seconds) and closes the accept socket of
 *    those past first_data_timeout_ms, which fails that AcceptEx, reposted
 *    like any failed accept (item 4). It counts as timed out only.
 * 9. Posting can fail: no socket (WSAEMFILE, WSAENOBUFS), no memory, or
 *    AcceptEx itself (WSAENOBUFS). Posting again at once would fail again,
 *    and a listener with no AcceptEx posted takes no connection (FD_ACCEPT
 *    wakes the loop only once). So a failure goes to the core
 *    (xpr__listener_accept_failed), which pauses the listener and resumes
 *    it later; should the core be unable to schedule that retry, the run
 *    cycle waits at most STARVED_RETRY_MS. A failure of one connection
 *    (reset before AcceptEx took it) is retried at once, a few times.
 * 10. Fault injection (portable/fault.h): AcceptEx and WSAEventSelect fail
 *    with WSAENOBUFS, SO_UPDATE_ACCEPT_CONTEXT with WSAENETDOWN (that
 *    connection is closed like a failed accept, item 4).
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"

#include <stdlib.h>
#include <string.h>

#include "sock.h"

struct xpr__completion_listener {
    struct xpr_listener base;
    struct xpr__completion_loop *engine;
    unsigned pending;    /* AcceptEx posted (in the stats until it closes) */
    unsigned target;     /* AcceptEx kept posted */
    HANDLE accept_event; /* FD_ACCEPT: the posted accepts ran out */
    HANDLE accept_wait;  /* RegisterWaitForSingleObject on it */
    int family;
    unsigned char skip_on_success;
    unsigned char closed;
    unsigned char started;   /* cfg read (first round after xpr_listen) */
    unsigned char with_data; /* cfg.accepts_with_data */
    unsigned char paused;    /* no AcceptEx posted until the core resumes */
    struct xpr__list accepts_waiting; /* posted AcceptEx with a buffer */
    struct xpr_timer sweep;           /* drops silent ones: SO_CONNECT_TIME */
    struct xpr__link link; /* engine->listeners, then closed_listeners */
};

#define DEFAULT_ACCEPTS 16
#define DEFAULT_ACCEPTS_MAX 256
#define ADDR_SLOT ((DWORD)(sizeof(SOCKADDR_STORAGE) + 16))
#define SWEEP_MS 500

static void CALLBACK accept_signalled(PVOID arg, BOOLEAN timed_out)
{
    struct xpr__completion_loop *engine = arg;
    (void)timed_out;
    if (InterlockedExchange(&engine->accept_signalled, 1) == 0)
        engine->harvester->wake(
            engine); /* item 5: one wake until the loop looks */
}

/* item 8: drops the silent clients of posted accepts with data. */
static void sweep_due(xpr_timer *t, void *arg)
{
    struct xpr__completion_listener *listener = arg;
    uint32_t limit_ms = listener->base.cfg.first_data_timeout_ms;
    struct xpr__link *link = listener->accepts_waiting.head.next;
    (void)t;
    while (link != &listener->accepts_waiting.head) {
        struct xpr__link *next = link->next;
        struct xpr__op *op = XPR__CONTAINER(link, struct xpr__op, accept_link);
        DWORD secs = ~(DWORD)0;
        int len = (int)sizeof(secs);
        if (getsockopt(op->accept_sock, SOL_SOCKET, SO_CONNECT_TIME,
                       (char *)&secs, &len) == 0 &&
            secs != ~(DWORD)0 && (uint64_t)secs * 1000 >= limit_ms) {
            xpr__list_remove(link);
            closesocket(op->accept_sock);
            op->accept_sock = INVALID_SOCKET;
            listener->base.loop->stats.timed_out_connections++;
        }
        link = next;
    }
}

static void free_listener(struct xpr__completion_listener *listener)
{
    if (listener->accept_wait != NULL)
        UnregisterWaitEx(listener->accept_wait, INVALID_HANDLE_VALUE);
    if (listener->accept_event != NULL)
        CloseHandle(listener->accept_event);
    listener->accept_wait = listener->accept_event = NULL;
}

int xpr__completion_listen(xpr_loop *loop, const struct xpr__addr *addr,
                           int backlog, xpr_listener **out)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    struct xpr__completion_listener *listener =
        xpr__calloc(1, sizeof(*listener));
    SOCKET s;
    int rc;
    if (listener == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_listen(addr, backlog, &listener->base.sock,
                          &listener->base.bound);
    if (rc != 0) {
        free(listener);
        return rc;
    }
    s = (SOCKET)listener->base.sock;
    listener->engine = engine;
    listener->family = addr->family;
    xpr__list_init(&listener->accepts_waiting);
    xpr__timer_init(&listener->sweep, loop, sweep_due, listener);
    rc = xpr__completion_lookup_extensions(engine, s);
    if (rc == 0)
        rc = xpr__completion_associate(engine, s, addr->family,
                                       &listener->skip_on_success);
    if (rc == 0) {
        listener->accept_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (listener->accept_event == NULL)
            rc = xpr__error_from_os((int)GetLastError());
        else if (xpr__fault(XPR__FAULT_WATCH)) /* item 10 */
            rc = xpr__error_from_os(WSAENOBUFS);
        else if (WSAEventSelect(s, listener->accept_event, FD_ACCEPT) != 0)
            rc = xpr__wsa_error();
        else if (!RegisterWaitForSingleObject(&listener->accept_wait,
                                              listener->accept_event,
                                              accept_signalled, engine,
                                              INFINITE, WT_EXECUTEINWAITTHREAD))
            rc = xpr__error_from_os((int)GetLastError());
    }
    if (rc != 0) {
        free_listener(listener);
        closesocket(s);
        free(listener);
        return rc;
    }
    xpr__list_push_back(&engine->listeners, &listener->link);
    *out = &listener->base;
    return 0;
}

void xpr__completion_listener_close(xpr_listener *l)
{
    struct xpr__completion_listener *listener =
        (struct xpr__completion_listener *)l;
    struct xpr__completion_loop *engine = listener->engine;
    /* item 6: cancel first, so Wine lets go of the listening socket before
     * closesocket returns (a connect right after must be refused) */
    CancelIoEx((HANDLE)l->sock, NULL);
    closesocket((SOCKET)l->sock);
    l->sock = XPR__INVALID_SOCKET;
    free_listener(listener);
    xpr__timer_release(&listener->sweep);
    listener->closed = 1;
    engine->pending[XPR__OP_ACCEPT] -= listener->pending;
    xpr__list_remove(&listener->link);
    xpr__list_push_back(&engine->closed_listeners, &listener->link);
}

void xpr__completion_listeners_reap(struct xpr__completion_loop *engine)
{
    struct xpr__link *link = engine->closed_listeners.head.next;
    while (link != &engine->closed_listeners.head) {
        struct xpr__link *next = link->next;
        struct xpr__completion_listener *listener =
            XPR__CONTAINER(link, struct xpr__completion_listener, link);
        if (listener->pending == 0) {
            xpr__list_remove(link);
            free(listener);
        }
        link = next;
    }
}

static int post_accept(struct xpr__completion_loop *engine,
                       struct xpr__completion_listener *listener)
{
    struct xpr__op *op =
        xpr__op_get(engine, listener->with_data, XPR__OP_ACCEPT, listener);
    xpr_socket_t as;
    DWORD bytes = 0;
    int rc, err = 0;
    if (op == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_open(listener->family, &as);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    op->accept_sock = (SOCKET)as;
    rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        xpr__op_put(engine, op);
        closesocket((SOCKET)as);
        return rc;
    }
    if (xpr__fault(XPR__FAULT_ACCEPT)) /* item 10 */
        err = WSAENOBUFS;
    else if (!engine->accept_ex((SOCKET)listener->base.sock, (SOCKET)as,
                                op->buf, /* data, then the addresses */
                                op->large ? (DWORD)(op->cap - 2 * ADDR_SLOT)
                                          : 0,
                                ADDR_SLOT, ADDR_SLOT, &bytes, &op->ov))
        err = WSAGetLastError();
    rc = xpr__op_posted(engine, op, &listener->pending,
                        listener->skip_on_success, err);
    if (rc != 0)
        closesocket((SOCKET)as);
    else if (listener->with_data)
        xpr__list_push_back(&listener->accepts_waiting, &op->accept_link);
    return rc;
}

/* The posted accepts ran out (or none are yet): aim a batch higher. */
static void grow_target(struct xpr__completion_listener *listener)
{
    const struct xpr_listen_config *cfg = &listener->base.cfg;
    unsigned max = cfg->accepts_max ? cfg->accepts_max : DEFAULT_ACCEPTS_MAX;
    listener->target +=
        cfg->accepts_initial ? cfg->accepts_initial : DEFAULT_ACCEPTS;
    if (listener->target > max)
        listener->target = max;
}

/* The first round after xpr_listen: the core has set cfg by now. */
static void start(struct xpr__completion_listener *listener)
{
    listener->started = 1;
    grow_target(listener); /* from 0 */
    listener->with_data = listener->base.cfg.accepts_with_data != 0;
    if (listener->with_data)
        xpr__timer_arm(&listener->sweep, SWEEP_MS, SWEEP_MS);
}

/* item 9: a failure pauses the listener, through the core. */
static void top_up(struct xpr__completion_loop *engine,
                   struct xpr__completion_listener *listener)
{
    unsigned failures = 0;
    while (!listener->closed && !listener->paused &&
           listener->pending < listener->target) {
        int rc = post_accept(engine, listener);
        if (rc != 0 && (xpr__listener_accept_failed(&listener->base, rc) ||
                        ++failures >= listener->target))
            break;
    }
}

int xpr__completion_listener_set_accepting(xpr_listener *l, int on)
{
    struct xpr__completion_listener *listener =
        (struct xpr__completion_listener *)l;
    listener->paused = (unsigned char)!on;
    /* A failure here pauses it again, with the next retry scheduled. */
    if (on && listener->started)
        top_up(listener->engine, listener);
    return 0;
}

int xpr__completion_listeners_top_up(struct xpr__completion_loop *engine)
{
    struct xpr__link *link;
    int signalled = InterlockedExchange(&engine->accept_signalled, 0) != 0;
    int any_starved = 0;
    WSANETWORKEVENTS ne;
    for (link = engine->listeners.head.next; link != &engine->listeners.head;
         link = link->next) {
        struct xpr__completion_listener *listener =
            XPR__CONTAINER(link, struct xpr__completion_listener, link);
        if (!listener->started)
            start(listener);
        if (signalled && /* item 5 */
            WSAEnumNetworkEvents((SOCKET)listener->base.sock, NULL, &ne) == 0 &&
            (ne.lNetworkEvents & FD_ACCEPT))
            grow_target(listener);
        if (listener->pending < listener->target)
            top_up(engine, listener);
        /* item 9: starved, it takes no connection and no retry is coming */
        any_starved |=
            !listener->closed && !listener->paused && listener->pending == 0;
    }
    return any_starved;
}

/* first: NULL, or the accept's context with the first bytes (item 8). */
static void take_conn(struct xpr__completion_loop *engine,
                      struct xpr__completion_listener *listener, SOCKET s,
                      struct xpr__op *first)
{
    xpr_conn *c = xpr__conn_new_accepted(&listener->base, (xpr_socket_t)s);
    struct xpr__completion_conn *conn = (struct xpr__completion_conn *)c;
    if (c != NULL && xpr__completion_associate(engine, s, listener->family,
                                               &conn->skip_on_success) != 0) {
        xpr__conn_discard(c); /* dropped unseen, like a failed accept */
        c = NULL;
    }
    if (c == NULL) { /* refused (max_connections), or dropped */
        closesocket(s);
        if (first != NULL)
            xpr__op_put(engine, first);
        return;
    }
    xpr__completion_conn_accepted(&listener->base, conn, first);
}

void xpr__completion_accept_done(struct xpr__completion_loop *engine,
                                 struct xpr__op *op)
{
    struct xpr__completion_listener *listener = op->owner;
    SOCKET s = op->accept_sock, ls = (SOCKET)listener->base.sock;
    int rc = op->os_error;
    if (op->accept_link.next != NULL)
        xpr__list_remove(&op->accept_link);
    listener->pending--;
    if (listener->closed) {
        rc = WSA_OPERATION_ABORTED; /* item 6: out of the stats already */
    } else {
        engine->pending[XPR__OP_ACCEPT]--;
        if (listener->pending == 0)
            grow_target(listener); /* item 5: every posted accept was used */
    }
    if (rc == 0 && xpr__fault(XPR__FAULT_SOCKOPT)) /* item 10 */
        rc = WSAENETDOWN;
    else if (rc == 0 && setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                                   (char *)&ls, sizeof(ls)) != 0)
        rc = WSAGetLastError();
    if (rc != 0) {
        xpr__op_put(engine, op);
        if (s != INVALID_SOCKET) /* else swept: closed already (item 8) */
            closesocket(s);      /* item 4; reposted below unless closed */
    } else if (op->large) {
        take_conn(engine, listener, s, op); /* the bytes go with the conn */
    } else {
        xpr__op_put(engine, op);
        take_conn(engine, listener, s, NULL);
    }
    if (!listener->closed) /* on_open may have closed the listener */
        top_up(engine, listener);
}
