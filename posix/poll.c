/*
 * The poll() poller: the reference readiness back end, so that Linux CI runs
 * the shared stream engine under ASan and valgrind without libevent.
 *
 * 1. Wakeups use a non-blocking self-pipe; its read end is slot 0.
 * 2. poll() reports POLLHUP/POLLERR/POLLNVAL whatever was asked: they map to
 *    XPR__IO_ERROR, on which the engine reads to learn what happened.
 * 3. A socket's slot index lives in io->poller_data (slots start at 1, so
 *    NULL means "not watched"). A removed socket's slot takes the last one:
 *    nothing walks the array while the engine dispatches, which works from
 *    the fired list.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc.h"
#include "backend.h"
#include "fault.h"
#include "poller.h"

struct poll_state {
    struct pollfd *fds;
    struct xpr__io **ios; /* parallel to fds; slot 0 is the wake pipe */
    size_t count;
    size_t capacity;
    struct xpr__fired_list fired;
    int wake_pipe[2];
};

static int make_pipe(int fds[2])
{
    int i;
    if (pipe(fds) != 0)
        return xpr__error_from_os(errno);
    for (i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

static int poll_init(xpr_loop *loop, void **state)
{
    struct poll_state *ps = xpr__calloc(1, sizeof(*ps));
    int rc;
    (void)loop;
    if (ps == NULL)
        return XPR_ENOMEM;
    ps->capacity = 64;
    ps->fds = xpr__malloc(ps->capacity * sizeof(*ps->fds));
    ps->ios = xpr__malloc(ps->capacity * sizeof(*ps->ios));
    rc = ps->fds && ps->ios ? make_pipe(ps->wake_pipe) : XPR_ENOMEM;
    if (rc != 0) {
        free(ps->fds);
        free(ps->ios);
        free(ps);
        return rc;
    }
    ps->fds[0].fd = ps->wake_pipe[0];
    ps->fds[0].events = POLLIN;
    ps->ios[0] = NULL;
    ps->count = 1;
    *state = ps;
    return 0;
}

static void poll_free(void *state)
{
    struct poll_state *ps = state;
    close(ps->wake_pipe[0]);
    close(ps->wake_pipe[1]);
    free(ps->fds);
    free(ps->ios);
    free(ps->fired.items);
    free(ps);
}

static short to_poll_events(unsigned mask)
{
    return (short)(((mask & XPR__IO_READ) ? POLLIN : 0) |
                   ((mask & XPR__IO_WRITE) ? POLLOUT : 0));
}

static int poll_update(void *state, struct xpr__io *io, unsigned new_mask)
{
    struct poll_state *ps = state;
    size_t i = (size_t)(uintptr_t)io->poller_data;
    if (i == 0) {
        if (new_mask == 0)
            return 0;
        if (ps->count == ps->capacity) {
            size_t cap = ps->capacity * 2;
            struct pollfd *fds = xpr__realloc(ps->fds, cap * sizeof(*fds));
            struct xpr__io **ios;
            if (fds == NULL)
                return XPR_ENOMEM;
            ps->fds = fds;
            ios = xpr__realloc(ps->ios, cap * sizeof(*ios));
            if (ios == NULL)
                return XPR_ENOMEM;
            ps->ios = ios;
            ps->capacity = cap;
        }
        i = ps->count++;
        io->poller_data = (void *)(uintptr_t)i;
        ps->ios[i] = io;
        ps->fds[i].fd = io->sock;
    } else if (new_mask == 0) { /* quirk 3 */
        size_t last = --ps->count;
        ps->fds[i] = ps->fds[last];
        ps->ios[i] = ps->ios[last];
        ps->ios[i]->poller_data = (void *)(uintptr_t)i;
        io->poller_data = NULL;
        return 0;
    }
    ps->fds[i].events = to_poll_events(new_mask);
    return 0;
}

static int poll_wait(void *state, int timeout_ms,
                     const struct xpr__fired **fired)
{
    struct poll_state *ps = state;
    size_t i;
    int ready;
    ps->fired.count = 0;
    *fired = ps->fired.items;
    if (xpr__fired_reserve(&ps->fired, ps->count) != 0)
        return XPR_ENOMEM;
    if (xpr__fault(XPR__FAULT_WAIT)) {
        errno = ENOMEM;
        ready = -1;
    } else {
        ready = poll(ps->fds, (nfds_t)ps->count, timeout_ms);
    }
    if (ready < 0)
        return errno == EINTR ? 0 : xpr__error_from_os(errno);
    if (ps->fds[0].revents) {
        char buf[64];
        while (read(ps->wake_pipe[0], buf, sizeof(buf)) > 0) {
        }
        ready--;
    }
    for (i = 1; i < ps->count && ready > 0; i++) {
        short re = ps->fds[i].revents;
        unsigned events = 0;
        if (re == 0)
            continue;
        ready--;
        if (re & POLLIN)
            events |= XPR__IO_READ;
        if (re & POLLOUT)
            events |= XPR__IO_WRITE;
        if (re & (POLLERR | POLLHUP | POLLNVAL))
            events |= XPR__IO_ERROR; /* quirk 2 */
        xpr__fired_push(&ps->fired, ps->ios[i], events);
    }
    *fired = ps->fired.items;
    return (int)ps->fired.count;
}

static void poll_wake(void *state)
{
    struct poll_state *ps = state;
    char one = 1;
    /* a full pipe already guarantees a wakeup */
    if (write(ps->wake_pipe[1], &one, 1) < 0) {
    }
}

const struct xpr_poller_ops xpr__poll_poller = {
    .init = poll_init,
    .free = poll_free,
    .update = poll_update,
    .wait = poll_wait,
    .wake = poll_wake,
};
