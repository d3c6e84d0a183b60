/* UDP sockets the POSIX way (portable/udp_sock.h): recvmsg says in
 * msg_flags (MSG_TRUNC) that a datagram was longer than the buffer; the
 * kernel has dropped the rest. */
#include "xpr_sockets.h"

#include <string.h>
#include <sys/uio.h>

#include "backend.h"
#include "sock.h"
#include "udp_sock.h"

int xpr__udp_sock_open(int family, xpr_socket_t *out)
{
    xpr_socket_t s =
        socket(family == XPR__AF_INET ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    if (s < 0)
        return xpr__sock_error();
    if (xpr__sock_os_own(s) != 0) {
        int rc = xpr__sock_error();
        close(s);
        return rc;
    }
    *out = s;
    return 0;
}

long xpr__udp_sock_recvfrom(xpr_socket_t s, void *buf, size_t len,
                            struct xpr__addr *from, int *truncated)
{
    struct sockaddr_storage ss;
    struct iovec iov;
    struct msghdr msg;
    ssize_t n;
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = buf;
    iov.iov_len = len;
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof(ss);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    do {
        n = recvmsg(s, &msg, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return xpr__sock_error();
    *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    if (xpr__sock_addr_from_os((struct sockaddr *)&ss, msg.msg_namelen, from) !=
        0)
        memset(from, 0, sizeof(*from)); /* an unnamed sender */
    return (long)n;
}
