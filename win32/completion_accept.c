/*
 * Listeners of the completion engine: pre-posted AcceptEx.
 *
 * 1. AcceptEx needs a socket made in advance, of the listener's family,
 *    and completes on that socket, which knows nothing of the listener
 *    until SO_UPDATE_ACCEPT_CONTEXT (without it getpeername, shutdown and
 *    SO_* queries fail with WSAENOTCONN).
 * 2. The addresses come packed in the AcceptEx buffer (each slot needs
 *    sizeof(address) + 16 bytes); GetAcceptExSockaddrs unpacks them.
 * 3. By default AcceptEx is posted WITHOUT a receive buffer
 *    (dwReceiveDataLength 0; trap 8 is the opt-in other way).
 *    With one, AcceptEx completes only when the client's first bytes
 *    arrive, so a silent client holds a posted accept (and its buffer)
 *    until a periodic SO_CONNECT_TIME sweep drops it. Without one the
 *    accept completes on connect, the conn is an ordinary conn at once,
 *    and the core's first-data timer (first_data_timeout_ms, shared by
 *    every back end) closes silent clients; nothing pins a buffer either.
 * 4. A client that resets before its AcceptEx completes makes AcceptEx
 *    fail (WSAECONNRESET / ERROR_NETNAME_DELETED): that is no listener
 *    error; the accept is simply posted again.
 * 5. Running out of posted accepts is noticed two ways: the last one
 *    completing, and FD_ACCEPT through WSAEventSelect (a connection waits in
 *    the backlog with no AcceptEx to take it). A wait registered on the
 *    event (RegisterWaitForSingleObject) wakes the loop; the next round
 *    posts a batch more, up to accepts_max. During a burst of connects
 *    FD_ACCEPT fires again after every AcceptEx posted (each re-enables
 *    it) while the backlog is not empty: under Wine 2,000 connects made
 *    ~3.6 wakes per accept. So the wait callback runs in the wait thread
 *    (it only flags and posts) and posts one wake until the loop has
 *    looked at the flag.
 * 6. Closing the listener's socket cancels its pending AcceptEx; their
 *    packets still come (ERROR_OPERATION_ABORTED, or ERROR_HANDLES_CLOSED
 *    under Wine). They are counted out of the stats at once, but the
 *    listener's memory lives until the last of them is reaped.
 * 7. UnregisterWaitEx(INVALID_HANDLE_VALUE) waits for a running callback
 *    of the wait, so none can touch the loop after the listener closed.
 * 8. accepts_with_data turns trap 3 around on request: AcceptEx gets a
 *    receive buffer and completes with the conn's first bytes, a round trip
 *    less for request/response protocols. A client that connects and stays
 *    silent then holds a posted accept: a sweep every SWEEP_MS asks each
 *    one's SO_CONNECT_TIME (whole seconds; ~0 while nobody connected) and
 *    closes the accept socket of those past first_data_timeout_ms, which
 *    fails that AcceptEx; it is reposted like any failed accept (trap 4).
 *    The application never saw the conn: it counts as timed out only.
 * 9. Posting can fail: no socket for the accept (WSAEMFILE, WSAENOBUFS),
 *    no memory for its context, or AcceptEx itself (WSAENOBUFS). Posting
 *    again at once would fail again, and a listener left with no AcceptEx
 *    posted takes no connection at all: the clients wait in the backlog,
 *    and FD_ACCEPT, re-enabled only by the next accept call, wakes the
 *    loop only once. So a failure goes to the core
 *    (xpr__listener_accept_failed), which sheds the backlog when out of
 *    descriptors, pauses the listener (listener_set_accepting 0: nothing
 *    is posted, the accepts already posted stay) and resumes it after a
 *    pause that grows while failures repeat. Should the core be unable to
 *    schedule that retry (no memory for its timer), the listener stays
 *    unpaused with nothing posted, and the run cycle waits at most
 *    STARVED_RETRY_MS before it tries again. A failure that concerns only
 *    one connection (it was reset before AcceptEx took it) is retried at
 *    once, a bounded number of times.
 * 10. Fault injection (portable/fault.h): AcceptEx told to fail returns at
 *    once with WSAENOBUFS; WSAEventSelect of the listener fails with
 *    WSAENOBUFS, SO_UPDATE_ACCEPT_CONTEXT with WSAENETDOWN (that
 *    connection is closed, like an accept that failed, trap 4).
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"

#include <stdlib.h>
#include <string.h>

#include "sock.h"

#define DEFAULT_ACCEPTS 16
#define DEFAULT_ACCEPTS_MAX 256
#define ADDR_SLOT ((DWORD)(sizeof(SOCKADDR_STORAGE) + 16))
#define SWEEP_MS 500

/* Bytes of an accept context's buffer left for data after the addresses. */
static DWORD receive_len(const struct xpr__io_ctx *io)
{
    return io->large ? (DWORD)(io->cap - 2 * ADDR_SLOT) : 0;
}

static void CALLBACK accept_signalled(PVOID arg, BOOLEAN timed_out)
{
    struct xpr__cx_loop *cx = arg;
    (void)timed_out;
    if (InterlockedExchange(&cx->accept_signalled, 1) == 0)
        cx->harvester->wake(cx); /* trap 5: one wake until the loop looks */
}

/* trap 8: drops the silent clients of posted accepts with data. */
static void sweep_due(xpr_timer *t, void *arg)
{
    struct xpr__cx_listener *cl = arg;
    uint32_t limit_ms = cl->base.cfg.first_data_timeout_ms;
    struct xpr__link *link = cl->accepts_waiting.head.next;
    (void)t;
    while (link != &cl->accepts_waiting.head) {
        struct xpr__link *next = link->next;
        struct xpr__io_ctx *io =
            XPR__CONTAINER(link, struct xpr__io_ctx, accept_link);
        DWORD secs = ~(DWORD)0;
        int len = (int)sizeof(secs);
        if (getsockopt(io->accept_sock, SOL_SOCKET, SO_CONNECT_TIME,
                       (char *)&secs, &len) == 0 &&
            secs != ~(DWORD)0 && (uint64_t)secs * 1000 >= limit_ms) {
            xpr__list_remove(link);
            closesocket(io->accept_sock);
            io->accept_sock = INVALID_SOCKET;
            cl->base.loop->stats.timed_out_connections++;
        }
        link = next;
    }
}

void xpr__cx_accept_unlink(struct xpr__io_ctx *io)
{
    if (io->accept_link.next != NULL)
        xpr__list_remove(&io->accept_link);
}

static void free_listener(struct xpr__cx_listener *cl)
{
    if (cl->accept_wait != NULL)
        UnregisterWaitEx(cl->accept_wait, INVALID_HANDLE_VALUE);
    if (cl->accept_event != NULL)
        CloseHandle(cl->accept_event);
    cl->accept_wait = cl->accept_event = NULL;
}

int xpr__cx_listen(xpr_loop *loop, const struct xpr__addr *addr, int backlog,
                   xpr_listener **out)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    struct xpr__cx_listener *cl = xpr__calloc(1, sizeof(*cl));
    SOCKET s;
    int rc;
    if (cl == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_listen(addr, backlog, &cl->base.sock, &cl->base.bound);
    if (rc != 0) {
        free(cl);
        return rc;
    }
    s = (SOCKET)cl->base.sock;
    cl->cx = cx;
    cl->family = addr->family;
    xpr__list_init(&cl->accepts_waiting);
    xpr__timer_init(&cl->sweep, loop, sweep_due, cl);
    rc = xpr__cx_lookup_extensions(cx, s);
    if (rc == 0)
        rc = xpr__cx_associate(cx, s, addr->family, &cl->skip_on_success);
    if (rc == 0) {
        cl->accept_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (cl->accept_event == NULL)
            rc = xpr__error_from_os((int)GetLastError());
        else if (xpr__fault(XPR__FAULT_WATCH)) /* trap 10 */
            rc = xpr__error_from_os(WSAENOBUFS);
        else if (WSAEventSelect(s, cl->accept_event, FD_ACCEPT) != 0)
            rc = xpr__wsa_error();
        else if (!RegisterWaitForSingleObject(
                     &cl->accept_wait, cl->accept_event, accept_signalled, cx,
                     INFINITE, WT_EXECUTEINWAITTHREAD))
            rc = xpr__error_from_os((int)GetLastError());
    }
    if (rc != 0) {
        free_listener(cl);
        closesocket(s);
        free(cl);
        return rc;
    }
    xpr__list_push_back(&cx->listeners, &cl->link);
    *out = &cl->base;
    return 0;
}

void xpr__cx_listener_close(xpr_listener *l)
{
    struct xpr__cx_listener *cl = (struct xpr__cx_listener *)l;
    struct xpr__cx_loop *cx = cl->cx;
    /* trap 6: cancel first, so Wine lets go of the listening socket before
     * closesocket returns (a connect right after must be refused) */
    CancelIoEx((HANDLE)l->sock, NULL);
    closesocket((SOCKET)l->sock);
    l->sock = XPR__INVALID_SOCKET;
    free_listener(cl);
    xpr__timer_release(&cl->sweep);
    cl->closed = 1;
    cx->pending[XPR__OP_ACCEPT] -= cl->pending;
    cl->held += cl->pending;
    cl->pending = 0;
    xpr__list_remove(&cl->link);
    xpr__list_push_back(&cx->closed_listeners, &cl->link);
}

void xpr__cx_listeners_reap(struct xpr__cx_loop *cx)
{
    struct xpr__link *link = cx->closed_listeners.head.next;
    while (link != &cx->closed_listeners.head) {
        struct xpr__link *next = link->next;
        struct xpr__cx_listener *cl =
            XPR__CONTAINER(link, struct xpr__cx_listener, link);
        if (cl->held == 0) {
            xpr__list_remove(link);
            free(cl);
        }
        link = next;
    }
}

static int post_accept(struct xpr__cx_loop *cx, struct xpr__cx_listener *cl)
{
    struct xpr__io_ctx *io = xpr__cx_io_get(cx, cl->with_data);
    xpr_socket_t as;
    DWORD bytes = 0;
    BOOL ok;
    int rc;
    if (io == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_open(cl->family, &as);
    if (rc != 0) {
        xpr__cx_io_put(cx, io);
        return rc;
    }
    io->kind = XPR__OP_ACCEPT;
    io->owner = cl;
    io->accept_sock = (SOCKET)as;
    rc = xpr__cx_io_arm(cx, io);
    if (rc != 0) {
        xpr__cx_io_put(cx, io);
        closesocket((SOCKET)as);
        return rc;
    }
    if (xpr__fault(XPR__FAULT_ACCEPT)) { /* trap 10 */
        WSASetLastError(WSAENOBUFS);
        ok = FALSE;
    } else {
        ok = cx->accept_ex((SOCKET)cl->base.sock, (SOCKET)as, io->buf,
                           receive_len(io), ADDR_SLOT, ADDR_SLOT, &bytes,
                           &io->ov);
    }
    rc = xpr__cx_posted(cx, io, &cl->pending, cl->skip_on_success, ok);
    if (rc != 0)
        closesocket((SOCKET)as);
    else if (cl->with_data)
        xpr__list_push_back(&cl->accepts_waiting, &io->accept_link);
    return rc;
}

static unsigned accepts_max(const struct xpr__cx_listener *cl)
{
    return cl->base.cfg.accepts_max ? cl->base.cfg.accepts_max
                                    : DEFAULT_ACCEPTS_MAX;
}

/* The posted accepts ran out: aim a batch higher next time. */
static void grow_target(struct xpr__cx_listener *cl)
{
    unsigned batch = cl->base.cfg.accepts_initial ? cl->base.cfg.accepts_initial
                                                  : DEFAULT_ACCEPTS;
    cl->target += batch;
    if (cl->target > accepts_max(cl))
        cl->target = accepts_max(cl);
}

/* The first round after xpr_listen: the core has set cfg by now. */
static void start(struct xpr__cx_listener *cl)
{
    cl->started = 1;
    cl->target = cl->base.cfg.accepts_initial ? cl->base.cfg.accepts_initial
                                              : DEFAULT_ACCEPTS;
    if (cl->target > accepts_max(cl))
        cl->target = accepts_max(cl);
    cl->with_data = cl->base.cfg.accepts_with_data != 0;
    if (cl->with_data)
        xpr__timer_arm(&cl->sweep, SWEEP_MS, SWEEP_MS);
}

/* trap 9: a failure pauses the listener, through the core. */
static void top_up(struct xpr__cx_loop *cx, struct xpr__cx_listener *cl)
{
    unsigned failures = 0;
    while (!cl->closed && !cl->paused && cl->pending < cl->target) {
        int rc = post_accept(cx, cl);
        if (rc != 0 && (xpr__listener_accept_failed(&cl->base, rc) ||
                        ++failures >= cl->target))
            break;
    }
}

/* trap 9: a listener that takes no connection and has no retry coming */
static int starved(const struct xpr__cx_listener *cl)
{
    return cl->started && !cl->closed && !cl->paused && cl->pending == 0;
}

int xpr__cx_listener_set_accepting(xpr_listener *l, int on)
{
    struct xpr__cx_listener *cl = (struct xpr__cx_listener *)l;
    cl->paused = (unsigned char)!on;
    /* A failure here pauses it again, with the next retry scheduled. */
    if (on && cl->started)
        top_up(cl->cx, cl);
    return 0;
}

int xpr__cx_listeners_top_up(struct xpr__cx_loop *cx)
{
    struct xpr__link *link;
    int signalled = InterlockedExchange(&cx->accept_signalled, 0) != 0;
    int any_starved = 0;
    for (link = cx->listeners.head.next; link != &cx->listeners.head;
         link = link->next) {
        struct xpr__cx_listener *cl =
            XPR__CONTAINER(link, struct xpr__cx_listener, link);
        if (!cl->started)
            start(cl);
        if (signalled) {
            WSANETWORKEVENTS ne;
            if (WSAEnumNetworkEvents((SOCKET)cl->base.sock, NULL, &ne) == 0 &&
                (ne.lNetworkEvents & FD_ACCEPT))
                grow_target(cl);
        }
        if (cl->pending < cl->target)
            top_up(cx, cl);
        any_starved |= starved(cl);
    }
    return any_starved;
}

/* first: NULL, or the accept's context with the first bytes (trap 8). */
static void take_conn(struct xpr__cx_loop *cx, struct xpr__cx_listener *cl,
                      SOCKET s, const struct xpr__addr *peer,
                      struct xpr__io_ctx *first)
{
    struct xpr__cx_conn *cc = NULL;
    if (xpr__listener_admit(&cl->base) == 0)
        cc = xpr__cx_conn_new();
    if (cc == NULL ||
        xpr__cx_associate(cx, s, cl->family, &cc->skip_on_success) != 0) {
        closesocket(s); /* refused, or dropped unseen like a failed accept */
        free(cc);
        if (first != NULL)
            xpr__cx_io_put(cx, first);
        return;
    }
    xpr__conn_init(&cc->base, cx->loop, &cl->base.cb, cl->base.arg,
                   (xpr_socket_t)s);
    cc->base.peer = *peer;
    cc->base.flags &= ~(unsigned)XPR__CONN_FLAG_CONNECTING;
    cc->connected = 1;
    xpr__listener_conn_opened(&cl->base, &cc->base);
    xpr__cx_conn_start(cc, first);
}

void xpr__cx_accept_completed(struct xpr__cx_loop *cx, struct xpr__io_ctx *io)
{
    struct xpr__cx_listener *cl = io->owner;
    SOCKET s = io->accept_sock, ls = (SOCKET)cl->base.sock;
    struct sockaddr *local = NULL, *remote = NULL;
    int local_len = 0, remote_len = 0;
    struct xpr__addr peer;
    int rc = io->os_error;
    cl->pending--;
    xpr__cx_accept_unlink(io);
    if (rc == 0 && xpr__fault(XPR__FAULT_SOCKOPT)) /* trap 10 */
        rc = WSAENETDOWN;
    else if (rc == 0 && setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                                   (char *)&ls, sizeof(ls)) != 0)
        rc = WSAGetLastError();
    if (rc == 0) {
        cx->get_sockaddrs(io->buf, receive_len(io), ADDR_SLOT, ADDR_SLOT,
                          &local, &local_len, &remote, &remote_len);
        if (remote == NULL ||
            xpr__sock_addr_from_os(remote, (size_t)remote_len, &peer) != 0)
            rc = WSAEAFNOSUPPORT;
    }
    if (cl->pending == 0)
        grow_target(cl); /* trap 5: every posted accept was used */
    if (rc != 0) {
        xpr__cx_io_put(cx, io);
        if (s != INVALID_SOCKET) /* else swept: closed already (trap 8) */
            closesocket(s);      /* trap 4; reposted below */
    } else if (io->large) {
        take_conn(cx, cl, s, &peer, io); /* the bytes go with the conn */
    } else {
        xpr__cx_io_put(cx, io);
        take_conn(cx, cl, s, &peer, NULL);
    }
    if (!cl->closed) /* on_open may have closed the listener */
        top_up(cx, cl);
}
