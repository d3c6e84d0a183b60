/*
 * UDP sockets the Winsock way (portable/udp_sock.h).
 *
 * 1. After a datagram sent from a socket draws an ICMP port unreachable,
 *    Windows fails that socket's next recvfrom (and a pending
 *    WSARecvFrom) with WSAECONNRESET, connected or not: on an unconnected
 *    socket one peer that went away would look like an error of the
 *    socket. SIO_UDP_CONNRESET FALSE switches the report off at creation.
 *    Where the report comes all the same (the ioctl refused; Wine fails
 *    pending WSARecvFrom of a connected socket with WSAECONNREFUSED), it
 *    reaches on_error and the handle goes on.
 * 2. A datagram longer than the buffer fails recvfrom with WSAEMSGSIZE,
 *    with the buffer filled with its head: that is a truncated datagram,
 *    not an error.
 */
#include "xpr_sockets.h"

#include <limits.h>
#include <mstcpip.h>
#include <string.h>

#include "backend.h"
#include "sock.h"
#include "udp_sock.h"

#ifndef SIO_UDP_CONNRESET
#define SIO_UDP_CONNRESET _WSAIOW(IOC_VENDOR, 12)
#endif

int xpr__udp_sock_open(int family, xpr_socket_t *out)
{
    BOOL off = FALSE;
    DWORD bytes = 0;
    SOCKET s = WSASocketW(family == XPR__AF_INET ? AF_INET : AF_INET6,
                          SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return xpr__wsa_error();
    if (xpr__sock_os_own((xpr_socket_t)s) != 0) {
        int rc = xpr__wsa_error();
        closesocket(s);
        return rc;
    }
    /* item 1: refused (old systems) is fine, on_error then hears it */
    WSAIoctl(s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &bytes, NULL,
             NULL);
    *out = (xpr_socket_t)s;
    return 0;
}

long xpr__udp_sock_recvfrom(xpr_socket_t s, void *buf, size_t len,
                            struct xpr__addr *from, int *truncated)
{
    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    int n;
    memset(&ss, 0, sizeof(ss));
    *truncated = 0;
    n = recvfrom((SOCKET)s, (char *)buf, (int)(len > INT_MAX ? INT_MAX : len),
                 0, (struct sockaddr *)&ss, &sslen);
    if (n == SOCKET_ERROR) {
        if (WSAGetLastError() != WSAEMSGSIZE)
            return xpr__wsa_error();
        *truncated = 1; /* item 2 */
        n = (int)(len > INT_MAX ? INT_MAX : len);
    }
    if (xpr__sock_addr_from_os((struct sockaddr *)&ss, (size_t)sslen, from) !=
        0)
        memset(from, 0, sizeof(*from));
    return (long)n;
}
