/* What the POSIX socket layer does its own way (xpr_sockets.h); the rest
 * is portable/sock.c. */
#include "xpr_sockets.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "backend.h"
#include "sock.h"

/* send() must not raise SIGPIPE on a reset connection. */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

int xpr__sock_global_init(void)
{
#ifndef MSG_NOSIGNAL
    signal(SIGPIPE, SIG_IGN);
#endif
    return 0;
}

int xpr__sock_os_own(xpr_socket_t s)
{
    int fl = fcntl(s, F_GETFL);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    fl = fcntl(s, F_GETFD);
    if (fl < 0 || fcntl(s, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

long xpr__sock_os_sendv(xpr_socket_t s, const void *const *bases,
                        const size_t *lens, size_t count)
{
    struct iovec iov[XPR__SEND_RUNS];
    struct msghdr msg;
    size_t i;
    for (i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(uintptr_t)bases[i];
        iov[i].iov_len = lens[i];
    }
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    return (long)sendmsg(s, &msg, SEND_FLAGS);
}

int xpr__sock_os_keepalive(xpr_socket_t s, uint32_t idle_ms,
                           uint32_t interval_ms)
{
    int on = idle_ms ? 1 : 0;
    if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0)
        return -1;
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL)
    if (on) {
        int idle = (int)((idle_ms + 999) / 1000);
        int intvl = (int)((interval_ms + 999) / 1000);
        if (setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) !=
                0 ||
            setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) !=
                0)
            return -1;
    }
#endif
    return 0;
}
