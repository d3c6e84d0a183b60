/* Winsock calls of the blocking and nonblocking back ends
 * (portable/sock_models.h).
 *
 * 1. ioctlsocket(FIONBIO) switches a socket between blocking and
 *    non-blocking mode; accepted sockets inherit the listener's mode.
 * 2. A blocking Winsock call is an I/O request on the socket's handle that
 *    the calling thread waits for: CancelIoEx cancels the requests every
 *    thread has pending on the handle, and the calls fail. shutdown makes
 *    the calls that come later fail at once (SD_RECEIVE: recv; SD_SEND:
 *    send, after a FIN), which a request not yet made when CancelIoEx ran
 *    would otherwise miss; it does not end a pending one. closesocket would
 *    end them too, but a thread about to call could then reach another
 *    socket given the same handle value.
 * 3. Writability is asked with a zero-timeout select() on the write and
 *    except sets: a failed non-blocking connect is reported in the except
 *    set, a finished one in the write set, and SO_ERROR is left for
 *    xpr__sock_connect_result.
 */
#include "xpr_winsock.h"

#include "backend.h"
#include "fault.h"
#include "sock.h"
#include "sock_models.h"

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
