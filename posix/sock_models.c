/* POSIX socket calls of the blocking and nonblocking back ends
 * (portable/sock_models.h).
 *
 * 1. shutdown wakes the threads blocked on the socket (docs/design.md,
 *    "Close"): SHUT_RD makes recv return 0, accept fail with EINVAL and a
 *    connect in progress abort; SHUT_WR makes a blocked send fail with
 *    EPIPE; later calls fail at once. close() would wake none of them.
 * 2. Writability is asked with a zero-timeout poll() for POLLOUT, which
 *    also reports the end of a connect (POLLOUT or POLLERR) without
 *    reading SO_ERROR: that would clear the error xpr__sock_connect_result
 *    reports next.
 * 3. Watchers take any descriptor poll() takes (pipes, terminals):
 *    fcntl(F_GETFD) says whether one is open; POLLHUP, POLLERR and
 *    POLLNVAL come whatever was asked; getsockopt(SO_ERROR) fails with
 *    ENOTSOCK on what is no socket, which holds no error then.
 * 4. A thread blocked in poll() is woken through a non-blocking pipe in
 *    the same poll; EINTR only repeats the poll.
 */
#include "sock_models.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"
#include "poller.h"
#include "sock.h"

int xpr__sock_set_blocking(xpr_socket_t s, int blocking)
{
    int fl = fcntl(s, F_GETFL);
    if (fl < 0)
        return xpr__error_from_os(errno);
    fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(s, F_SETFL, fl) < 0)
        return xpr__error_from_os(errno);
    return 0;
}

int xpr__sock_connect_blocking(xpr_socket_t s, const struct xpr__addr *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(addr, &ss);
    if (xpr__fault(XPR__FAULT_CONNECT)) {
        errno = ENOBUFS;
        return xpr__error_from_os(errno);
    }
    if (connect(s, (struct sockaddr *)&ss, len) == 0)
        return 0;
    if (errno != EINTR)
        return xpr__error_from_os(errno);
    /* interrupted: the connect goes on; wait for its end (quirk 2) */
    for (;;) {
        struct pollfd p;
        p.fd = s;
        p.events = POLLOUT;
        p.revents = 0;
        if (poll(&p, 1, -1) > 0)
            return xpr__sock_connect_result(s);
        if (errno != EINTR)
            return xpr__error_from_os(errno);
    }
}

void xpr__sock_cancel_blocking(xpr_socket_t s, int sending)
{
    shutdown(s, sending ? SHUT_RDWR : SHUT_RD); /* quirk 1 */
}

int xpr__sock_writable_now(xpr_socket_t s)
{
    struct pollfd p;
    p.fd = s;
    p.events = POLLOUT;
    p.revents = 0;
    return poll(&p, 1, 0) > 0; /* quirk 2 */
}

int xpr__sock_is_open(xpr_socket_t s)
{
    return s >= 0 && fcntl(s, F_GETFD) != -1; /* quirk 3 */
}

unsigned xpr__sock_ready_now(xpr_socket_t s, unsigned want)
{
    struct pollfd p;
    unsigned got = 0;
    p.fd = s;
    p.events = (short)(((want & XPR__IO_READ) ? POLLIN : 0) |
                       ((want & XPR__IO_WRITE) ? POLLOUT : 0));
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & POLLIN)
        got |= XPR__IO_READ;
    if (p.revents & POLLOUT)
        got |= XPR__IO_WRITE;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
        got |= XPR__IO_ERROR;
    return got;
}

int xpr__sock_pending_error(xpr_socket_t s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0)
        return 0; /* quirk 3 */
    return xpr__error_from_os(err);
}

int xpr__waker_open(struct xpr__waker *w)
{
    int fds[2], i;
    if (pipe(fds) != 0)
        return xpr__error_from_os(errno);
    for (i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        w->ends[i] = fds[i];
    }
    return 0;
}

void xpr__waker_close(struct xpr__waker *w)
{
    close(w->ends[0]);
    close(w->ends[1]);
}

void xpr__waker_wake(struct xpr__waker *w)
{
    char one = 1;
    if (write(w->ends[1], &one, 1) < 0) { /* full: a wake is pending */
    }
}

unsigned xpr__sock_wait(xpr_socket_t s, unsigned want, struct xpr__waker *waker)
{
    struct pollfd p[2];
    unsigned got = 0;
    p[0].fd = s;
    p[0].events = (short)(((want & XPR__IO_READ) ? POLLIN : 0) |
                          ((want & XPR__IO_WRITE) ? POLLOUT : 0));
    p[1].fd = waker->ends[0];
    p[1].events = POLLIN;
    do {
        p[0].revents = p[1].revents = 0;
    } while (poll(p, 2, -1) < 0 && errno == EINTR); /* quirk 4 */
    if (p[1].revents != 0) {
        char buf[64];
        while (read(waker->ends[0], buf, sizeof(buf)) > 0) {
        }
        return 0;
    }
    if (p[0].revents & POLLIN)
        got |= XPR__IO_READ;
    if (p[0].revents & POLLOUT)
        got |= XPR__IO_WRITE;
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
        got |= XPR__IO_ERROR;
    return got;
}
