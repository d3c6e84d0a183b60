/* The POSIX socket layer (portable/sock.h). */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"

/* send() must not raise SIGPIPE on a reset connection. */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

static int last_error(void)
{
    return xpr__error_from_os(errno);
}

/* An injected fault (fault.h): the call fails with err as the OS would. */
static int injected(int err)
{
    errno = err;
    return last_error();
}

int xpr__sock_global_init(void)
{
#ifndef MSG_NOSIGNAL
    signal(SIGPIPE, SIG_IGN);
#endif
    return 0;
}

static int set_nonblocking_cloexec(int fd)
{
    int fl;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(ENOMEM);
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return last_error();
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return last_error();
    return 0;
}

int xpr__sock_open(int family, xpr_socket_t *out)
{
    int fd, rc;
    if (xpr__fault(XPR__FAULT_SOCKET))
        return injected(EMFILE);
    fd = socket(family == XPR__AF_INET ? AF_INET : AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return last_error();
    rc = set_nonblocking_cloexec(fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int xpr__sock_listen(const struct xpr__addr *addr, int backlog,
                     xpr_socket_t *out, struct xpr__addr *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(addr, &ss);
    int fd, one = 1, rc;
    rc = xpr__sock_open(addr->family, &fd);
    if (rc != 0)
        return rc;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (xpr__fault(XPR__FAULT_BIND)) {
        rc = injected(EADDRINUSE);
    } else if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        rc = last_error();
    } else if (xpr__fault(XPR__FAULT_LISTEN)) {
        rc = injected(ENOBUFS);
    } else if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        rc = last_error();
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        xpr__sock_addr_from_os((struct sockaddr *)&ss, len, bound) != 0) {
        rc = last_error();
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int xpr__sock_accept(xpr_socket_t listener, xpr_socket_t *out,
                     struct xpr__addr *peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd, rc;
    if (xpr__fault(XPR__FAULT_ACCEPT))
        return injected(EMFILE);
    do {
        fd = accept(listener, (struct sockaddr *)&ss, &len);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return last_error();
    rc = set_nonblocking_cloexec(fd);
    if (rc == 0)
        rc = xpr__sock_addr_from_os((struct sockaddr *)&ss, len, peer);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int xpr__sock_connect(const struct xpr__addr *addr, xpr_socket_t *out)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(addr, &ss);
    int fd, rc;
    rc = xpr__sock_open(addr->family, &fd);
    if (rc != 0)
        return rc;
    if (xpr__fault(XPR__FAULT_CONNECT)) {
        close(fd);
        return injected(ENOBUFS);
    }
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
        *out = fd;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        *out = fd;
        return XPR_EAGAIN;
    }
    rc = last_error();
    close(fd);
    return rc;
}

int xpr__sock_connect_result(xpr_socket_t s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return last_error();
    return err == 0 ? 0 : xpr__error_from_os(err);
}

long xpr__sock_recv(xpr_socket_t s, void *buf, size_t len)
{
    ssize_t n;
    if (xpr__fault(XPR__FAULT_RECV))
        return injected(ENOMEM);
    len = xpr__fault_short(XPR__FAULT_RECV, len);
    do {
        n = recv(s, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    return n >= 0 ? (long)n : (long)last_error();
}

long xpr__sock_sendv(xpr_socket_t s, const void *const *bases,
                     const size_t *lens, size_t count)
{
    struct iovec iov[16];
    struct msghdr msg;
    ssize_t n;
    size_t i;
    if (xpr__fault(XPR__FAULT_SEND))
        return injected(ENOBUFS);
    if (count > 16)
        count = 16;
    for (i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(uintptr_t)bases[i];
        iov[i].iov_len = lens[i];
    }
    iov[0].iov_len = xpr__fault_short(XPR__FAULT_SEND, iov[0].iov_len);
    if (iov[0].iov_len < lens[0])
        count = 1;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    do {
        n = sendmsg(s, &msg, SEND_FLAGS);
    } while (n < 0 && errno == EINTR);
    return n >= 0 ? (long)n : (long)last_error();
}

int xpr__sock_shutdown_write(xpr_socket_t s)
{
    return shutdown(s, SHUT_WR) == 0 ? 0 : last_error();
}

int xpr__sock_set_linger0(xpr_socket_t s)
{
    struct linger lg;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(ENOMEM);
    lg.l_onoff = 1;
    lg.l_linger = 0;
    return setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0
               ? 0
               : last_error();
}

void xpr__sock_close(xpr_socket_t s, int reset)
{
    if (reset)
        xpr__sock_set_linger0(s);
    close(s);
}

int xpr__sock_set_nodelay(xpr_socket_t s, int enable)
{
    int on = enable ? 1 : 0;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(ENOMEM);
    return setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0
               ? 0
               : last_error();
}

int xpr__sock_set_keepalive(xpr_socket_t s, uint32_t idle_ms,
                            uint32_t interval_ms)
{
    int on = idle_ms ? 1 : 0;
    if (xpr__fault(XPR__FAULT_SOCKOPT))
        return injected(ENOMEM);
    if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0)
        return last_error();
    if (!on)
        return 0;
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL)
    {
        int idle = (int)((idle_ms + 999) / 1000);
        int intvl = (int)(((interval_ms ? interval_ms : idle_ms) + 999) / 1000);
        if (setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) !=
                0 ||
            setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) !=
                0)
            return last_error();
    }
#endif
    return 0;
}

int xpr__sock_peer(xpr_socket_t s, struct xpr__addr *peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(s, (struct sockaddr *)&ss, &len) != 0)
        return last_error();
    return xpr__sock_addr_from_os((struct sockaddr *)&ss, len, peer);
}
