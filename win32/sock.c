/*
 * The Winsock socket layer (portable/sock.h) for the readiness back ends,
 * and helpers the completion engine shares.
 *
 * 1. WSAStartup runs once per process (InitOnceExecuteOnce); xpr never calls
 *    WSACleanup, as other code in the process may still use Winsock.
 * 2. Sockets are created with WSA_FLAG_OVERLAPPED (every back end can use
 *    them) and WSA_FLAG_NO_HANDLE_INHERIT (no leak into child processes).
 * 3. SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows the latter lets
 *    another process bind the same port and steal connections.
 * 4. An accepted socket inherits the listener's non-blocking mode and its
 *    WSAEventSelect/WSAAsyncSelect registration; back ends re-register it.
 * 5. Keepalive timings go through SIO_KEEPALIVE_VALS (milliseconds).
 * 6. Fault injection (portable/fault.h): each call below asks the seam
 *    first and, when told to, fails as Winsock documents for it, with the
 *    thread's error set (WSASetLastError) so the normal path maps it:
 *    WSAEMFILE from WSASocket and accept, WSAEADDRINUSE from bind,
 *    WSAENOBUFS from listen, connect, recv and WSASend, WSAENETDOWN (the
 *    one error documented for all three) from ioctlsocket, setsockopt and
 *    WSAIoctl. recv and WSASend may also be made short: a smaller length
 *    is asked for, which the calls may always return.
 */
#include "xpr_winsock.h"

#include <mstcpip.h>
#include <limits.h>
#include <string.h>

#include "backend.h"
#include "fault.h"
#include "sock.h"

static xpr__once_flag wsa_once = XPR__ONCE_INIT;
static int wsa_startup_result;

static void wsa_startup(void)
{
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    wsa_startup_result = rc == 0 ? 0 : xpr__error_from_os(rc);
}

int xpr__sock_global_init(void)
{
    xpr__call_once(&wsa_once, wsa_startup);
    return wsa_startup_result;
}

int xpr__wsa_error(void)
{
    return xpr__error_from_os(WSAGetLastError());
}

/* An injected fault (quirk 6): the call fails with err as Winsock would. */
static int injected(int err)
{
    WSASetLastError(err);
    return xpr__wsa_error();
}

static int set_nonblocking(SOCKET s)
{
    u_long nonblocking = 1;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(WSAENETDOWN);
    return ioctlsocket(s, FIONBIO, &nonblocking) == 0 ? 0 : xpr__wsa_error();
}

int xpr__sock_open(int family, xpr_socket_t *out)
{
    SOCKET s;
    int rc;
    if (xpr__fault(XPR__FAULT_SOCKET))
        return injected(WSAEMFILE);
    s = WSASocketW(family == XPR__AF_INET ? AF_INET : AF_INET6, SOCK_STREAM,
                   IPPROTO_TCP, NULL, 0,
                   WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return xpr__wsa_error();
    rc = set_nonblocking(s);
    if (rc != 0) {
        closesocket(s);
        return rc;
    }
    *out = (xpr_socket_t)s;
    return 0;
}

int xpr__sock_listen(const struct xpr__addr *addr, int backlog,
                     xpr_socket_t *out, struct xpr__addr *bound)
{
    struct sockaddr_storage ss;
    int len = xpr__sock_addr_to_os(addr, &ss);
    BOOL one = TRUE;
    xpr_socket_t opened;
    SOCKET s;
    int rc = xpr__sock_open(addr->family, &opened);
    if (rc != 0)
        return rc;
    s = (SOCKET)opened;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
               sizeof(one));
    if (xpr__fault(XPR__FAULT_BIND))
        rc = injected(WSAEADDRINUSE);
    else if (bind(s, (struct sockaddr *)&ss, len) != 0)
        rc = xpr__wsa_error();
    else if (xpr__fault(XPR__FAULT_LISTEN))
        rc = injected(WSAENOBUFS);
    else if (listen(s, backlog > 0 ? backlog : SOMAXCONN) != 0)
        rc = xpr__wsa_error();
    if (rc != 0) {
        closesocket(s);
        return rc;
    }
    len = (int)sizeof(ss);
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
        rc = xpr__wsa_error();
        closesocket(s);
        return rc;
    }
    xpr__sock_addr_from_os((struct sockaddr *)&ss, (size_t)len, bound);
    *out = (xpr_socket_t)s;
    return 0;
}

int xpr__sock_accept(xpr_socket_t listener, xpr_socket_t *out,
                     struct xpr__addr *peer)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss), rc;
    SOCKET s;
    if (xpr__fault(XPR__FAULT_ACCEPT))
        return injected(WSAEMFILE);
    s = accept((SOCKET)listener, (struct sockaddr *)&ss, &len);
    if (s == INVALID_SOCKET)
        return xpr__wsa_error();
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    rc = set_nonblocking(s);
    if (rc == 0 &&
        xpr__sock_addr_from_os((struct sockaddr *)&ss, (size_t)len, peer) != 0)
        rc = XPR_EAFNOSUPPORT;
    if (rc != 0) {
        closesocket(s);
        return rc;
    }
    *out = (xpr_socket_t)s;
    return 0;
}

int xpr__sock_connect(const struct xpr__addr *addr, xpr_socket_t *out)
{
    struct sockaddr_storage ss;
    int len = xpr__sock_addr_to_os(addr, &ss);
    xpr_socket_t opened;
    SOCKET s;
    int rc = xpr__sock_open(addr->family, &opened);
    if (rc != 0)
        return rc;
    s = (SOCKET)opened;
    if (xpr__fault(XPR__FAULT_CONNECT)) {
        closesocket(s);
        return injected(WSAENOBUFS);
    }
    if (connect(s, (struct sockaddr *)&ss, len) == 0) {
        *out = (xpr_socket_t)s;
        return 0;
    }
    rc = xpr__wsa_error();
    if (rc == XPR_EAGAIN) {
        *out = (xpr_socket_t)s;
        return XPR_EAGAIN;
    }
    closesocket(s);
    return rc;
}

int xpr__sock_connect_result(xpr_socket_t s)
{
    int err = 0, len = (int)sizeof(err);
    if (getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0)
        return xpr__wsa_error();
    return err == 0 ? 0 : xpr__error_from_os(err);
}

long xpr__sock_recv(xpr_socket_t s, void *buf, size_t len)
{
    int n;
    if (xpr__fault(XPR__FAULT_RECV))
        return injected(WSAENOBUFS);
    len = xpr__fault_short(XPR__FAULT_RECV, len);
    n = recv((SOCKET)s, buf, len > INT_MAX ? INT_MAX : (int)len, 0);
    return n >= 0 ? (long)n : (long)xpr__wsa_error();
}

long xpr__sock_sendv(xpr_socket_t s, const void *const *bases,
                     const size_t *lens, size_t count)
{
    WSABUF bufs[16];
    DWORD sent = 0;
    size_t i;
    if (xpr__fault(XPR__FAULT_SEND))
        return injected(WSAENOBUFS);
    if (count > 16)
        count = 16;
    for (i = 0; i < count; i++) {
        bufs[i].buf = (char *)(uintptr_t)bases[i];
        bufs[i].len = lens[i] > 0x7fffffff ? 0x7fffffff : (ULONG)lens[i];
    }
    bufs[0].len = (ULONG)xpr__fault_short(XPR__FAULT_SEND, bufs[0].len);
    if (bufs[0].len < lens[0])
        count = 1;
    if (WSASend((SOCKET)s, bufs, (DWORD)count, &sent, 0, NULL, NULL) != 0)
        return xpr__wsa_error();
    return (long)sent;
}

int xpr__sock_shutdown_write(xpr_socket_t s)
{
    return shutdown((SOCKET)s, SD_SEND) == 0 ? 0 : xpr__wsa_error();
}

int xpr__sock_set_linger0(xpr_socket_t s)
{
    struct linger lg;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(WSAENETDOWN);
    lg.l_onoff = 1;
    lg.l_linger = 0;
    return setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
                      sizeof(lg)) == 0
               ? 0
               : xpr__wsa_error();
}

void xpr__sock_close(xpr_socket_t s, int reset)
{
    if (reset)
        xpr__sock_set_linger0(s);
    closesocket((SOCKET)s);
}

int xpr__sock_set_nodelay(xpr_socket_t s, int enable)
{
    BOOL on = enable ? TRUE : FALSE;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(WSAENETDOWN);
    return setsockopt((SOCKET)s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on,
                      sizeof(on)) == 0
               ? 0
               : xpr__wsa_error();
}

int xpr__sock_set_keepalive(xpr_socket_t s, uint32_t idle_ms,
                            uint32_t interval_ms)
{
    struct tcp_keepalive ka;
    DWORD returned = 0;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(WSAENETDOWN);
    ka.onoff = idle_ms ? 1 : 0;
    ka.keepalivetime = idle_ms;
    ka.keepaliveinterval = interval_ms ? interval_ms : idle_ms;
    if (WSAIoctl((SOCKET)s, SIO_KEEPALIVE_VALS, &ka, sizeof(ka), NULL, 0,
                 &returned, NULL, NULL) != 0)
        return xpr__wsa_error();
    return 0;
}

int xpr__sock_peer(xpr_socket_t s, struct xpr__addr *peer)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    if (getpeername((SOCKET)s, (struct sockaddr *)&ss, &len) != 0)
        return xpr__wsa_error();
    return xpr__sock_addr_from_os((struct sockaddr *)&ss, (size_t)len, peer);
}
