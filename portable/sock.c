/*
 * The socket layer (sock.h), once for BSD sockets and Winsock: the calls
 * and struct sockaddr_in/_in6 are the same on both, and what differs
 * (error variable, socket creation, non-blocking mode, close, vectored
 * send, keepalive) is in the platform's xpr_sockets.h.
 *
 * Fault injection (portable/fault.h): each call below asks the seam first
 * and, when told to, fails with the error the platform documents for it
 * (XPR__SOCK_FAULT_*), set as the thread's socket error so the normal path
 * maps it. recv and send may also be made short: a smaller length is asked
 * for, which the calls may always return.
 */
#include "xpr_sockets.h"

#include <limits.h>
#include <string.h>

#include "backend.h"
#include "fault.h"
#include "sock.h"

int xpr__sock_error(void)
{
    return xpr__error_from_os(XPR__SOCK_ERRNO);
}

static int injected(int os_code)
{
    XPR__SOCK_SET_ERRNO(os_code);
    return xpr__sock_error();
}

int xpr__sock_addr_to_os(const struct xpr__addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == XPR__AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip, 4);
        return (int)sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        memcpy(&sin6->sin6_addr, a->ip, 16);
        sin6->sin6_scope_id = a->scope_id;
        return (int)sizeof(*sin6);
    }
}

int xpr__sock_addr_from_os(const struct sockaddr *sa, size_t len,
                           struct xpr__addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        a->family = XPR__AF_INET;
        a->port = ntohs(sin->sin_port);
        memcpy(a->ip, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        a->family = XPR__AF_INET6;
        a->port = ntohs(sin6->sin6_port);
        memcpy(a->ip, &sin6->sin6_addr, 16);
        a->scope_id = sin6->sin6_scope_id;
        return 0;
    }
    return XPR_EAFNOSUPPORT;
}

/* Non-blocking and not inherited; closes s on failure. */
static int own(xpr_socket_t s)
{
    int rc = 0;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        rc = injected(XPR__SOCK_FAULT_OPTION);
    else if (xpr__sock_os_own(s) != 0)
        rc = xpr__sock_error();
    if (rc != 0)
        XPR__SOCK_CLOSE(s);
    return rc;
}

int xpr__sock_open(int family, xpr_socket_t *out)
{
    xpr_socket_t s;
    int rc;
    if (xpr__fault(XPR__FAULT_SOCKET))
        return injected(XPR__SOCK_FAULT_EMFILE);
    s = XPR__SOCK_NEW(family == XPR__AF_INET ? AF_INET : AF_INET6);
    if (s == XPR__INVALID_SOCKET)
        return xpr__sock_error();
    rc = own(s);
    if (rc == 0)
        *out = s;
    return rc;
}

int xpr__sock_listen(const struct xpr__addr *addr, int backlog,
                     xpr_socket_t *out, struct xpr__addr *bound)
{
    xpr_socket_t s;
    int one = 1, rc = xpr__sock_open(addr->family, &s);
    if (rc != 0)
        return rc;
    setsockopt(s, SOL_SOCKET, XPR__SOCK_REUSE_OPTION, (const char *)&one,
               sizeof(one));
    rc = xpr__sock_bind(s, addr);
    if (rc == 0 && xpr__fault(XPR__FAULT_LISTEN))
        rc = injected(XPR__SOCK_FAULT_ENOBUFS);
    else if (rc == 0 && listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0)
        rc = xpr__sock_error();
    if (rc == 0)
        rc = xpr__sock_local(s, bound);
    if (rc != 0) {
        XPR__SOCK_CLOSE(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* An accept that fails for the one connection it took, not for the
 * listener, ends with XPR_ECONNABORTED, which the core skips: the peer reset
 * the connection while it waited in the backlog. POSIX says ECONNABORTED,
 * Windows documents WSAECONNRESET, and Wine says WSAENOTCONN (the listener
 * of tests/errors.c, test_calls_on_aborted_conn, pauses without this). */
int xpr__sock_accept_error(void)
{
    int rc = xpr__sock_error();
    return XPR__SOCK_ERRNO == XPR__SOCK_NOT_CONNECTED ? XPR_ECONNABORTED : rc;
}

int xpr__sock_accept(xpr_socket_t listener, xpr_socket_t *out)
{
    xpr_socket_t s;
    int rc;
    if (xpr__fault(XPR__FAULT_ACCEPT))
        return injected(XPR__SOCK_FAULT_EMFILE);
    do {
        s = accept(listener, NULL, NULL);
    } while (s == XPR__INVALID_SOCKET && XPR__SOCK_INTERRUPTED());
    if (s == XPR__INVALID_SOCKET)
        return xpr__sock_accept_error();
    rc = own(s);
    if (rc == 0)
        *out = s;
    return rc;
}

int xpr__sock_start_connect(xpr_socket_t s, const struct xpr__addr *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(addr, &ss);
    if (xpr__fault(XPR__FAULT_CONNECT))
        return injected(XPR__SOCK_FAULT_ENOBUFS);
    if (connect(s, (struct sockaddr *)&ss, len) != 0)
        return XPR__SOCK_INTERRUPTED() ? XPR_EAGAIN : xpr__sock_error();
    return 0;
}

int xpr__sock_connect(const struct xpr__addr *addr, xpr_socket_t *out)
{
    xpr_socket_t s;
    int rc = xpr__sock_open(addr->family, &s);
    if (rc != 0)
        return rc;
    rc = xpr__sock_start_connect(s, addr);
    if (rc != 0 && rc != XPR_EAGAIN) { /* EAGAIN: in progress */
        XPR__SOCK_CLOSE(s);
        return rc;
    }
    *out = s;
    return rc;
}

int xpr__sock_bind(xpr_socket_t s, const struct xpr__addr *local)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(local, &ss);
    if (xpr__fault(XPR__FAULT_BIND))
        return injected(XPR__SOCK_FAULT_EADDRINUSE);
    return bind(s, (struct sockaddr *)&ss, len) == 0 ? 0 : xpr__sock_error();
}

int xpr__sock_take(xpr_socket_t s)
{
    struct xpr__addr peer;
    int type = 0;
    socklen_t len = sizeof(type);
    if (s == XPR__INVALID_SOCKET ||
        getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0 ||
        type != SOCK_STREAM || xpr__sock_peer(s, &peer) != 0)
        return XPR_EINVAL;
    return xpr__sock_os_own(s) == 0 ? 0 : xpr__sock_error();
}

int xpr__sock_connect_result(xpr_socket_t s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        return xpr__sock_error();
    return err == 0 ? 0 : xpr__error_from_os(err);
}

long xpr__sock_recv(xpr_socket_t s, void *buf, size_t len)
{
    long n;
    if (xpr__fault(XPR__FAULT_RECV))
        return injected(XPR__SOCK_FAULT_RECV);
    len = xpr__fault_short(XPR__FAULT_RECV, len);
    do {
        n = (long)recv(s, buf, (int)(len > INT_MAX ? INT_MAX : len), 0);
    } while (n < 0 && XPR__SOCK_INTERRUPTED());
    return n >= 0 ? n : (long)xpr__sock_error();
}

long xpr__sock_sendv(xpr_socket_t s, const void *const *bases,
                     const size_t *lens, size_t count)
{
    size_t first;
    long n;
    if (xpr__fault(XPR__FAULT_SEND))
        return injected(XPR__SOCK_FAULT_ENOBUFS);
    if (count > XPR__SEND_RUNS)
        count = XPR__SEND_RUNS;
    first = xpr__fault_short(XPR__FAULT_SEND, lens[0]);
    do {
        if (first < lens[0]) /* made short: the head of the first run */
            n = xpr__sock_os_sendv(s, bases, &first, 1);
        else
            n = xpr__sock_os_sendv(s, bases, lens, count);
    } while (n < 0 && XPR__SOCK_INTERRUPTED());
    return n >= 0 ? n : (long)xpr__sock_error();
}

int xpr__sock_shutdown_write(xpr_socket_t s)
{
    return shutdown(s, XPR__SOCK_SHUT_SEND) == 0 ? 0 : xpr__sock_error();
}

int xpr__sock_set_linger0(xpr_socket_t s)
{
    struct linger lg;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(XPR__SOCK_FAULT_OPTION);
    lg.l_onoff = 1;
    lg.l_linger = 0;
    return setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
                      sizeof(lg)) == 0
               ? 0
               : xpr__sock_error();
}

void xpr__sock_close(xpr_socket_t s, int reset)
{
    if (reset)
        xpr__sock_set_linger0(s);
    XPR__SOCK_CLOSE(s);
}

/* getpeername (peer) or getsockname. */
static int name_of(xpr_socket_t s, int peer, struct xpr__addr *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if ((peer ? getpeername(s, (struct sockaddr *)&ss, &len)
              : getsockname(s, (struct sockaddr *)&ss, &len)) != 0)
        return xpr__sock_error();
    return xpr__sock_addr_from_os((struct sockaddr *)&ss, (size_t)len, out);
}

int xpr__sock_peer(xpr_socket_t s, struct xpr__addr *peer)
{
    return name_of(s, 1, peer);
}

int xpr__sock_local(xpr_socket_t s, struct xpr__addr *local)
{
    return name_of(s, 0, local);
}

int xpr__sock_connected_to_itself(xpr_socket_t s)
{
    struct xpr__addr local, peer;
    return name_of(s, 0, &local) == 0 && name_of(s, 1, &peer) == 0 &&
           memcmp(&local, &peer, sizeof(local)) == 0; /* both zero-filled */
}

int xpr__sock_set_nodelay(xpr_socket_t s, int enable)
{
    int on = enable ? 1 : 0;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(XPR__SOCK_FAULT_OPTION);
    return setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on,
                      sizeof(on)) == 0
               ? 0
               : xpr__sock_error();
}

int xpr__sock_set_keepalive(xpr_socket_t s, uint32_t idle_ms,
                            uint32_t interval_ms)
{
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(XPR__SOCK_FAULT_OPTION);
    if (xpr__sock_os_keepalive(s, idle_ms, interval_ms ? interval_ms : idle_ms))
        return xpr__sock_error();
    return 0;
}
