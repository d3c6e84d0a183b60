/*
 * Watchers of application sockets on libevent-bev and libevent-iocp
 * (docs/design.md, "Watchers of application sockets").
 *
 * 1. An event's flags are fixed when it is made, and event_assign() must
 *    not touch a pending event: a new set is a new event, added before the
 *    old one is freed, so a failed add leaves the old set in place.
 *    event_free() is safe inside the event's own callback.
 * 2. Hang-ups and errors come as EV_READ (and EV_WRITE where asked): the
 *    application's read or write tells what happened; status stays 0.
 * 3. The select method cannot take a descriptor at or above FD_SETSIZE on
 *    POSIX (base.c, quirk 8): XPR_EMFILE.
 */
#include <stdlib.h>

#include "base.h"
#include "fault.h"

static void watch_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    xpr__watch_fire(arg,
                    ((what & EV_READ) ? XPR_READABLE : 0u) |
                        ((what & EV_WRITE) ? XPR_WRITABLE : 0u),
                    0); /* quirk 2 */
}

int xpr__levent_watch_set(xpr_watch *w, unsigned events)
{
    struct xpr__levent_watch *lw = (struct xpr__levent_watch *)w;
    struct xpr__levent *lv = w->loop->backend;
    struct event *ev;
    short what = EV_PERSIST;
    if (events & XPR_READABLE)
        what |= EV_READ;
    if (events & XPR_WRITABLE)
        what |= EV_WRITE;
    if (events != 0) { /* quirk 1 */
        if (!xpr__levent_fd_fits(lv, (evutil_socket_t)w->sock))
            return XPR_EMFILE; /* quirk 3 */
        if (xpr__fault(XPR__FAULT_WATCH))
            return XPR_ENOMEM;
        ev =
            event_new(lv->base, (evutil_socket_t)w->sock, what, watch_fired, w);
        if (ev == NULL)
            return XPR_ENOMEM;
        if (event_add(ev, NULL) != 0) {
            event_free(ev);
            return XPR_ENOMEM;
        }
    } else {
        ev = NULL;
    }
    if (lw->ev != NULL)
        event_free(lw->ev);
    lw->ev = ev;
    return 0;
}

void xpr__levent_watch_release(xpr_watch *w)
{
    struct xpr__levent_watch *lw = (struct xpr__levent_watch *)w;
    if (lw->ev != NULL)
        event_free(lw->ev);
    free(lw);
}
