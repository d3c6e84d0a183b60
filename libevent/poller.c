/*
 * The libevent readiness poller: libevent's event_base under the shared
 * stream engine (portable/stream.c), which writes at once and asks for
 * writability only after a send would block. Timers are the core's heap
 * (its nearest deadline is the wait's timeout) and wake() is
 * event_active() (base.c).
 *
 * libevent quirks handled here:
 *   1. Each socket gets two persistent events, one for EV_READ and one for
 *      EV_WRITE, not one event re-assigned whenever the mask changes.
 *      libevent merges all events of a descriptor into one kernel
 *      registration (evmap), so switching the write event on or off is a
 *      single epoll_ctl(MOD); deleting and re-adding a combined event is
 *      DEL + ADD, two system calls, because the changelist that would merge
 *      them is off by default. The engine toggles write interest on every
 *      blocked send, and read interest stays on, so two events are cheaper.
 *      Both live in one allocation, assigned with event_assign() at the
 *      size event_get_struct_event_size() reports (no struct layout is
 *      compiled in).
 *   2. event_del() also takes an event off the active queue, so a socket
 *      removed by a callback is not dispatched later in the same pass.
 *      The events may be freed inside their own callback: libevent copies
 *      what it needs before calling and does not look at them afterwards.
 *   3. Hang-up and error come as EV_READ (and EV_WRITE where asked): the
 *      engine reads or finishes the connect to learn what happened, so
 *      XPR__IO_ERROR is never reported. On Windows libevent's win32 select
 *      method reports the except set (a failed connect) as EV_WRITE, which
 *      is what the engine waits for while connecting.
 */
#include <stdlib.h>

#include "alloc.h"
#include "base.h"
#include "fault.h"
#include "libevent_backends.h"
#include "poller.h"

enum { READ_EV = 0, WRITE_EV = 1 };

static struct event *io_event(void *events, int which)
{
    return (struct event *)(void *)((char *)events +
                                    (size_t)which *
                                        event_get_struct_event_size());
}

static void io_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    xpr__io_ready(arg, XPR__IO_READ);
}

static void io_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    xpr__io_ready(arg, XPR__IO_WRITE);
}

static void *io_events_new(struct xpr__levent *lv, struct xpr__io *io)
{
    void *events = xpr__malloc(2 * event_get_struct_event_size());
    evutil_socket_t fd = (evutil_socket_t)io->sock;
    if (events == NULL)
        return NULL;
    if (event_assign(io_event(events, READ_EV), lv->base, fd,
                     EV_READ | EV_PERSIST, io_readable, io) != 0 ||
        event_assign(io_event(events, WRITE_EV), lv->base, fd,
                     EV_WRITE | EV_PERSIST, io_writable, io) != 0) {
        free(events);
        return NULL;
    }
    return events;
}

/* Adds or deletes one of the two events. */
static int set_event(struct event *ev, int on)
{
    if (on && xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    if ((on ? event_add(ev, NULL) : event_del(ev)) == 0)
        return 0;
    return xpr__levent_socket_error();
}

static void io_events_free(struct xpr__io *io)
{
    void *events = io->poller_data;
    if (events == NULL)
        return;
    event_del(io_event(events, READ_EV));
    event_del(io_event(events, WRITE_EV));
    free(events);
    io->poller_data = NULL;
}

static int levent_update(void *state, struct xpr__io *io, unsigned old_mask,
                         unsigned new_mask)
{
    unsigned changed = old_mask ^ new_mask;
    int rc = 0;
    if (new_mask == 0) {
        io_events_free(io);
        return 0;
    }
    if (io->poller_data == NULL) {
        if (!xpr__levent_fd_fits(state, (evutil_socket_t)io->sock))
            return XPR_EMFILE; /* base.c quirk 8 */
        io->poller_data = io_events_new(state, io);
        if (io->poller_data == NULL)
            return XPR_ENOMEM;
        old_mask = 0; /* nothing of it is added yet */
        changed = new_mask;
    }
    if (changed & XPR__IO_READ)
        rc = set_event(io_event(io->poller_data, READ_EV),
                       new_mask & XPR__IO_READ);
    if (rc == 0 && (changed & XPR__IO_WRITE)) {
        rc = set_event(io_event(io->poller_data, WRITE_EV),
                       new_mask & XPR__IO_WRITE);
        if (rc != 0 && (changed & XPR__IO_READ))
            set_event(io_event(io->poller_data, READ_EV),
                      old_mask & XPR__IO_READ);
    }
    /* On failure the old interest stands, as the contract expects; a
     * socket that had none keeps no memory here either. */
    if (rc != 0 && old_mask == 0)
        io_events_free(io);
    return rc;
}

static int levent_init(struct xpr_loop *loop, void **state)
{
    struct xpr__levent *lv;
    int rc;
    (void)loop;
    rc = xpr__levent_new(0, &lv);
    if (rc != 0)
        return rc;
    *state = lv;
    return 0;
}

static void levent_free(void *state)
{
    xpr__levent_free(state);
}

static int levent_wait(void *state, int timeout_ms)
{
    return xpr__levent_run(state, timeout_ms);
}

static void levent_wake(void *state)
{
    xpr__levent_wake(state);
}

const struct xpr_poller_ops xpr__libevent_poller = {
    .flags = 0,
    .init = levent_init,
    .free = levent_free,
    .update = levent_update,
    .wait = levent_wait,
    .wake = levent_wake,
};
