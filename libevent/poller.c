/*
 * The libevent readiness poller: libevent's event_base under the shared
 * stream engine (docs/design.md, "Why libevent is a poller"). Timers are
 * the core's heap and wake() is event_active() (base.c).
 *
 * libevent quirks handled here:
 *   1. Each socket gets two persistent events, EV_READ and EV_WRITE:
 *      libevent merges a descriptor's events into one kernel registration
 *      (evmap), so toggling the write event, as the engine does on every
 *      blocked send, is one epoll_ctl(MOD), where deleting and re-adding a
 *      combined event is DEL + ADD (the changelist is off by default). The
 *      read event lives in the socket's allocation, assigned with
 *      event_assign() at event_get_struct_event_size() (no struct layout
 *      is compiled in); the write event is made the first time a socket
 *      wants to write, so an idle server conn pays nothing for it.
 *   2. The event callbacks run inside event_base_loop(), so they only
 *      append to the fired list the engine dispatches after the wait: one
 *      entry per callback run, merged with the previous one when it is the
 *      same socket's. An entry that finds no memory is dropped: the socket
 *      is still ready and is reported again on the next pass.
 *   3. Hang-up and error come as EV_READ (and EV_WRITE where asked): the
 *      engine reads or finishes the connect to learn what happened, so
 *      XPR__IO_ERROR is never reported. On Windows libevent's win32 select
 *      method reports the except set (a failed connect) as EV_WRITE, which
 *      is what the engine waits for while connecting.
 */
#include <stddef.h>
#include <stdlib.h>

#include "alloc.h"
#include "base.h"
#include "fault.h"
#include "platform_backends.h"
#include "poller.h"
#include "sock.h"

struct levent_poller {
    struct xpr__levent *lv;
    struct xpr__fired_list fired; /* quirk 2 */
};

/* io->poller_data: the poller, the write event once one was needed, then
 * the read event (quirk 1). The interest libevent has is io->mask: the
 * engine stores a new mask only once update() succeeded. */
struct io_events {
    struct levent_poller *poller;
    struct event *write_ev;
    max_align_t read_ev[];
};

static struct event *read_event(struct io_events *ie)
{
    return (struct event *)(void *)ie->read_ev;
}

static void io_fired(evutil_socket_t fd, short what, void *arg)
{
    struct xpr__io *io = arg;
    struct io_events *ie = io->poller_data;
    struct xpr__fired_list *fired = &ie->poller->fired;
    unsigned events = (what & EV_READ) ? XPR__IO_READ : XPR__IO_WRITE;
    (void)fd;
    if (fired->count > 0 && fired->items[fired->count - 1].io == io)
        fired->items[fired->count - 1].events |= events; /* one entry */
    else
        xpr__fired_push(fired, io, events);
}

static struct io_events *io_events_new(struct levent_poller *lp,
                                       struct xpr__io *io)
{
    struct io_events *ie =
        xpr__malloc(sizeof(*ie) + event_get_struct_event_size());
    if (ie == NULL)
        return NULL;
    ie->poller = lp;
    ie->write_ev = NULL;
    if (event_assign(read_event(ie), lp->lv->base, (evutil_socket_t)io->sock,
                     EV_READ | EV_PERSIST, io_fired, io) != 0) {
        free(ie);
        return NULL;
    }
    return ie;
}

/* Adds or deletes one of the two events. */
static int set_event(struct event *ev, int on)
{
    if (on && xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    if ((on ? event_add(ev, NULL) : event_del(ev)) == 0)
        return 0;
    return xpr__sock_error();
}

static int set_write_event(struct xpr__io *io, struct io_events *ie, int on)
{
    if (on && ie->write_ev == NULL) {
        ie->write_ev =
            event_new(ie->poller->lv->base, (evutil_socket_t)io->sock,
                      EV_WRITE | EV_PERSIST, io_fired, io);
        if (ie->write_ev == NULL)
            return XPR_ENOMEM;
    }
    return ie->write_ev != NULL ? set_event(ie->write_ev, on) : 0;
}

static void io_events_free(struct xpr__io *io)
{
    struct io_events *ie = io->poller_data;
    if (ie == NULL)
        return;
    event_del(read_event(ie));
    if (ie->write_ev != NULL)
        event_free(ie->write_ev);
    free(ie);
    io->poller_data = NULL;
}

static int levent_update(void *state, struct xpr__io *io, unsigned new_mask)
{
    struct levent_poller *lp = state;
    struct io_events *ie = io->poller_data;
    unsigned old_mask = ie != NULL ? io->mask : 0, changed;
    int rc = 0;
    if (new_mask == 0) {
        io_events_free(io);
        return 0;
    }
    if (ie == NULL) {
        if (!xpr__levent_fd_fits(lp->lv, (evutil_socket_t)io->sock))
            return XPR_EMFILE; /* past what the select method can watch */
        ie = io_events_new(lp, io);
        if (ie == NULL)
            return XPR_ENOMEM;
        io->poller_data = ie;
    }
    changed = old_mask ^ new_mask;
    if (changed & XPR__IO_READ)
        rc = set_event(read_event(ie), new_mask & XPR__IO_READ);
    if (rc == 0 && (changed & XPR__IO_WRITE)) {
        rc = set_write_event(io, ie, new_mask & XPR__IO_WRITE);
        if (rc != 0 && (changed & XPR__IO_READ))
            set_event(read_event(ie), old_mask & XPR__IO_READ);
    }
    /* On failure the old interest stands, as the contract expects; a
     * socket that had none keeps no memory here either. */
    if (rc != 0 && old_mask == 0)
        io_events_free(io);
    return rc;
}

static int levent_init(struct xpr_loop *loop, void **state)
{
    struct levent_poller *lp = xpr__calloc(1, sizeof(*lp));
    int rc;
    (void)loop;
    if (lp == NULL)
        return XPR_ENOMEM;
    rc = xpr__levent_new(0, &lp->lv);
    if (rc != 0) {
        free(lp);
        return rc;
    }
    *state = lp;
    return 0;
}

static void levent_free(void *state)
{
    struct levent_poller *lp = state;
    xpr__levent_free(lp->lv);
    free(lp->fired.items);
    free(lp);
}

static int levent_wait(void *state, int timeout_ms,
                       const struct xpr__fired **fired)
{
    struct levent_poller *lp = state;
    int rc;
    lp->fired.count = 0;
    rc = xpr__levent_run(lp->lv, timeout_ms);
    *fired = lp->fired.items;
    return rc < 0 ? rc : (int)lp->fired.count;
}

static void levent_wake(void *state)
{
    struct levent_poller *lp = state;
    xpr__levent_wake(lp->lv);
}

const struct xpr_poller_ops xpr__libevent_poller = {
    .init = levent_init,
    .free = levent_free,
    .update = levent_update,
    .wait = levent_wait,
    .wake = levent_wake,
};
