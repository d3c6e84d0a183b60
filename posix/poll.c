/*
 * The poll() poller: the reference readiness back end, so that Linux CI runs
 * the shared stream engine under ASan and valgrind without libevent.
 *
 * 1. poll() reports POLLHUP/POLLERR even for events == 0, so a socket with no
 *    interest is parked as fd -1 (poll ignores negative descriptors).
 * 2. Removal during dispatch must stop later reports of that io in the same
 *    pass: slots are cleared (io = NULL, fd = -1) and compacted only before
 *    the next poll().
 * 3. Wakeups use a non-blocking self-pipe; its read end is slot 0.
 * 4. revents were gathered before the dispatch: interest a callback turned
 *    off meanwhile (a pause) is masked out with the socket's current mask.
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
    size_t holes; /* cleared slots awaiting compaction */
    int wake_pipe[2];
};

struct slot_ref {
    size_t index;
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
    rc = make_pipe(ps->wake_pipe);
    if (rc != 0) {
        free(ps);
        return rc;
    }
    ps->capacity = 64;
    ps->fds = xpr__malloc(ps->capacity * sizeof(*ps->fds));
    ps->ios = xpr__malloc(ps->capacity * sizeof(*ps->ios));
    if (ps->fds == NULL || ps->ios == NULL) {
        free(ps->fds);
        free(ps->ios);
        close(ps->wake_pipe[0]);
        close(ps->wake_pipe[1]);
        free(ps);
        return XPR_ENOMEM;
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
    size_t i;
    for (i = 1; i < ps->count; i++)
        if (ps->ios[i] != NULL)
            free(ps->ios[i]->poller_data);
    close(ps->wake_pipe[0]);
    close(ps->wake_pipe[1]);
    free(ps->fds);
    free(ps->ios);
    free(ps);
}

static short to_poll_events(unsigned mask)
{
    return (short)(((mask & XPR__IO_READ) ? POLLIN : 0) |
                   ((mask & XPR__IO_WRITE) ? POLLOUT : 0));
}

static int poll_update(void *state, struct xpr__io *io, unsigned old_mask,
                       unsigned new_mask)
{
    struct poll_state *ps = state;
    struct slot_ref *ref = io->poller_data;
    (void)old_mask;
    if (ref == NULL) {
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
        ref = xpr__malloc(sizeof(*ref));
        if (ref == NULL)
            return XPR_ENOMEM;
        ref->index = ps->count++;
        io->poller_data = ref;
        ps->ios[ref->index] = io;
        ps->fds[ref->index].fd = io->sock;
        ps->fds[ref->index].events = to_poll_events(new_mask);
        ps->fds[ref->index].revents = 0;
        return 0;
    }
    if (new_mask == 0) {
        ps->ios[ref->index] = NULL;
        ps->fds[ref->index].fd = -1;
        ps->fds[ref->index].revents = 0;
        ps->holes++;
        free(ref);
        io->poller_data = NULL;
        return 0;
    }
    ps->fds[ref->index].fd = io->sock;
    ps->fds[ref->index].events = to_poll_events(new_mask);
    return 0;
}

static void compact(struct poll_state *ps)
{
    size_t from, to = 1;
    for (from = 1; from < ps->count; from++) {
        struct xpr__io *io = ps->ios[from];
        if (io == NULL)
            continue;
        ps->fds[to] = ps->fds[from];
        ps->ios[to] = io;
        ((struct slot_ref *)io->poller_data)->index = to;
        to++;
    }
    ps->count = to;
    ps->holes = 0;
}

static int poll_wait(void *state, int timeout_ms)
{
    struct poll_state *ps = state;
    size_t i, n;
    int ready;
    if (ps->holes > 0)
        compact(ps);
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
    n = ps->count; /* sockets added during dispatch wait for the next poll */
    for (i = 1; i < n && ready > 0; i++) {
        short re = ps->fds[i].revents;
        unsigned events = 0;
        struct xpr__io *io = ps->ios[i];
        if (re == 0 || io == NULL)
            continue;
        ready--;
        ps->fds[i].revents = 0;
        if (re & POLLIN)
            events |= XPR__IO_READ;
        if (re & POLLOUT)
            events |= XPR__IO_WRITE;
        if (re & (POLLERR | POLLHUP | POLLNVAL))
            events |= XPR__IO_ERROR;
        events &= io->mask | XPR__IO_ERROR; /* rule 4 */
        if (events != 0)
            xpr__io_ready(io, events);
    }
    return 0;
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
    0,         poll_init, poll_free, poll_update, poll_wait,
    poll_wake, NULL,      NULL,      NULL,
};
