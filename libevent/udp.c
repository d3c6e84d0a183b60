/*
 * UDP on the bufferevent back ends: the readiness transport
 * (portable/udp_ready.c) on libevent's own events (docs/design.md, "UDP").
 *
 * 1. One persistent event per direction, made at start (read) and at the
 *    first blocked send (write); interest changes are event_add and
 *    event_del. With EVENT_BASE_FLAG_STARTUP_IOCP (libevent-iocp) plain
 *    events still go through the base's select method.
 * 2. The callbacks run inside event_base_loop, as the bufferevent
 *    callbacks of this back end do, and hand the event straight to the
 *    transport. The events are freed only once on_close ran (release), so
 *    a callback that closes its own handle frees no event under libevent.
 */
#include <stdlib.h>

#include "alloc.h"
#include "base.h"
#include "fault.h"
#include "platform_backends.h"
#include "sock.h"
#include "udp.h"

struct udp_events {
    struct event *read_ev, *write_ev;
};

static void fired(evutil_socket_t fd, short what, void *arg)
{
    struct xpr__io *io = arg;
    (void)fd;
    if (io->mask != 0)
        io->ready(io, (what & EV_READ) ? XPR__IO_READ : XPR__IO_WRITE);
}

/* Adds (on) or deletes the event of one direction, made when first
 * needed (item 1). */
static int set_event(xpr_udp *u, struct event **ev, short what, int on)
{
    struct xpr__levent *lv = u->loop->backend;
    struct xpr__io *io = xpr__udp_ready_io(u);
    if (!on)
        return *ev == NULL || event_del(*ev) == 0 ? 0 : xpr__sock_error();
    if (xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    if (*ev == NULL) {
        if (!xpr__levent_fd_fits(lv, (evutil_socket_t)io->sock))
            return XPR_EMFILE; /* past what the select method can watch */
        *ev = event_new(lv->base, (evutil_socket_t)io->sock,
                        (short)(what | EV_PERSIST), fired, io);
        if (*ev == NULL)
            return XPR_ENOMEM;
    }
    return event_add(*ev, NULL) == 0 ? 0 : xpr__sock_error();
}

static int levent_watch(xpr_udp *u, struct xpr__io *io, unsigned mask)
{
    struct udp_events *ue = io->poller_data;
    unsigned changed = mask ^ io->mask;
    int rc = 0;
    if (ue == NULL) {
        ue = xpr__calloc(1, sizeof(*ue));
        if (ue == NULL)
            return XPR_ENOMEM;
        io->poller_data = ue;
    }
    if (changed & XPR__IO_READ)
        rc = set_event(u, &ue->read_ev, EV_READ, (mask & XPR__IO_READ) != 0);
    if (rc == 0 && (changed & XPR__IO_WRITE))
        rc = set_event(u, &ue->write_ev, EV_WRITE, (mask & XPR__IO_WRITE) != 0);
    if (rc != 0 && (changed & XPR__IO_READ) && (mask & XPR__IO_READ))
        set_event(u, &ue->read_ev, EV_READ, 0); /* the old interest stands */
    return rc;
}

/* Item 2. */
static void levent_release(xpr_udp *u)
{
    struct xpr__io *io = xpr__udp_ready_io(u);
    struct udp_events *ue = io->poller_data;
    xpr__udp_ready_release(u);
    if (ue == NULL)
        return;
    if (ue->read_ev != NULL)
        event_free(ue->read_ev);
    if (ue->write_ev != NULL)
        event_free(ue->write_ev);
    free(ue);
    io->poller_data = NULL;
}

const struct xpr__udp_ops xpr__bev_udp_ops = {
    .size = sizeof(struct xpr__udp_ready),
    .start = xpr__udp_ready_start,
    .send = xpr__udp_ready_send,
    .close = xpr__udp_ready_close,
    .release = levent_release,
    .watch = levent_watch,
};
