/* Winsock calls of the blocking and nonblocking back ends
 * (portable/sock_models.h).
 *
 * 1. ioctlsocket(FIONBIO) switches a socket between blocking and
 *    non-blocking mode; accepted sockets inherit the listener's mode.
 * 2. Cancelling (docs/design.md, "Close"): CancelIoEx ends the blocking
 *    calls every thread has pending on the handle; shutdown (SD_RECEIVE,
 *    SD_SEND after a FIN) makes later calls fail at once, which a call not
 *    yet made when CancelIoEx ran would otherwise miss. closesocket would
 *    end them too, but a thread about to call could then reach another
 *    socket given the same handle value.
 * 3. Writability is asked with a zero-timeout select() on the write and
 *    except sets: a failed non-blocking connect is reported in the except
 *    set, a finished one in the write set, and SO_ERROR is left for
 *    xpr__sock_connect_result.
 * 4. Watchers: getsockopt(SO_TYPE) fails (WSAENOTSOCK) on a value that is
 *    no open socket. What holds now is a zero-timeout select() of the one
 *    socket: the read set (data, a close, a reset), the write set and the
 *    except set (a failed connect) when writability is wanted.
 * 5. select() waits on sockets only: a thread blocked in it is woken by a
 *    datagram to a UDP socket connected to itself on 127.0.0.1, in the
 *    same read set.
 * 6. Under Wine, a select() waiting on a connected UDP socket when an ICMP
 *    port unreachable reaches it never returns for that socket, not even
 *    for datagrams that come later; a select() made after the report sees
 *    them. Windows documents no such case, so under Wine only
 *    (xpr__under_wine; tests/udp.c, test_connected_refused on blocking)
 *    xpr__sock_wait waits WAIT_PERIOD_MS at most and then returns 0, and
 *    its caller waits again.
 */
#include "xpr_winsock.h"

#include <string.h>

#include "backend.h"
#include "fault.h"
#include "poller.h"
#include "sock.h"
#include "sock_models.h"

/* Longest single wait of xpr__sock_wait (quirk 6). */
#define WAIT_PERIOD_MS 500

int xpr__sock_set_blocking(xpr_socket_t s, int blocking)
{
    u_long nonblocking = blocking ? 0 : 1;
    return ioctlsocket((SOCKET)s, FIONBIO, &nonblocking) == 0
               ? 0
               : xpr__wsa_error();
}

int xpr__sock_connect_blocking(xpr_socket_t s, const struct xpr__addr *addr)
{
    struct sockaddr_storage ss;
    int len = xpr__sock_addr_to_os(addr, &ss);
    if (xpr__fault(XPR__FAULT_CONNECT)) {
        WSASetLastError(WSAENOBUFS);
        return xpr__wsa_error();
    }
    if (connect((SOCKET)s, (struct sockaddr *)&ss, len) == 0)
        return 0;
    return xpr__wsa_error();
}

void xpr__sock_cancel_blocking(xpr_socket_t s, int sending)
{
    shutdown((SOCKET)s, sending ? SD_BOTH : SD_RECEIVE); /* quirk 2 */
    CancelIoEx((HANDLE)s, NULL);
}

int xpr__sock_writable_now(xpr_socket_t s)
{
    fd_set writable, failed;
    struct timeval now = {0, 0};
    FD_ZERO(&writable);
    FD_ZERO(&failed);
    FD_SET((SOCKET)s, &writable);
    FD_SET((SOCKET)s, &failed);
    return select(0, NULL, &writable, &failed, &now) > 0; /* quirk 3 */
}

int xpr__sock_is_open(xpr_socket_t s)
{
    int type = 0, len = (int)sizeof(type);
    return (SOCKET)s != INVALID_SOCKET &&
           getsockopt((SOCKET)s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) ==
               0; /* quirk 4 */
}

/* One select() of s for want (XPR__IO_*), and of wake's read side unless
 * it is INVALID_SOCKET (then 0, the wake consumed). What holds, or 0. */
static unsigned select_one(SOCKET s, unsigned want, SOCKET wake,
                           struct timeval *timeout)
{
    fd_set readable, writable, failed;
    int writing = (want & XPR__IO_WRITE) != 0;
    unsigned got = 0;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_ZERO(&failed);
    if (wake != INVALID_SOCKET)
        FD_SET(wake, &readable);
    if (want & XPR__IO_READ)
        FD_SET(s, &readable);
    if (writing) {
        FD_SET(s, &writable);
        FD_SET(s, &failed);
    }
    if (select(0, readable.fd_count != 0 ? &readable : NULL,
               writing ? &writable : NULL, writing ? &failed : NULL,
               timeout) <= 0)
        return 0;
    if (wake != INVALID_SOCKET && FD_ISSET(wake, &readable)) {
        char buf[64];
        while (recv(wake, buf, sizeof(buf), 0) > 0) {
        }
        return 0;
    }
    if (FD_ISSET(s, &readable))
        got |= XPR__IO_READ;
    if (FD_ISSET(s, &writable))
        got |= XPR__IO_WRITE;
    if (FD_ISSET(s, &failed))
        got |= XPR__IO_ERROR;
    return got;
}

unsigned xpr__sock_ready_now(xpr_socket_t s, unsigned want)
{
    struct timeval now = {0, 0};
    return select_one((SOCKET)s, want, INVALID_SOCKET, &now);
}

int xpr__sock_pending_error(xpr_socket_t s)
{
    int err = 0, len = (int)sizeof(err);
    if (getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0 ||
        err == 0)
        return 0;
    return xpr__error_from_os(err);
}

int xpr__waker_open(struct xpr__waker *w)
{
    struct sockaddr_in sin;
    int len = (int)sizeof(sin);
    u_long nonblocking = 1;
    SOCKET s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                          WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return xpr__wsa_error();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&sin, len) != 0 ||
        getsockname(s, (struct sockaddr *)&sin, &len) != 0 ||
        connect(s, (struct sockaddr *)&sin, len) != 0 ||
        ioctlsocket(s, FIONBIO, &nonblocking) != 0) {
        int rc = xpr__wsa_error();
        closesocket(s);
        return rc;
    }
    w->ends[0] = w->ends[1] = (xpr_socket_t)s;
    return 0;
}

void xpr__waker_close(struct xpr__waker *w)
{
    closesocket((SOCKET)w->ends[0]);
}

void xpr__waker_wake(struct xpr__waker *w)
{
    char one = 1;
    send((SOCKET)w->ends[1], &one, 1, 0); /* quirk 5 */
}

unsigned xpr__sock_wait(xpr_socket_t s, unsigned want, struct xpr__waker *waker)
{
    struct timeval period = {0, WAIT_PERIOD_MS * 1000}; /* quirk 6 */
    return select_one((SOCKET)s, want, (SOCKET)waker->ends[0],
                      xpr__under_wine() ? &period : NULL);
}
