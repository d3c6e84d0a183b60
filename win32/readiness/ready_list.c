/* See ready_list.h. */
#include "ready_list.h"

#include "xpr.h"

/* What s can report now: what Winsock recorded (pending) that the engine
 * wants (mask); a socket the peer closed stays readable (the read sees EOF
 * or the error), whatever came with the close. */
static unsigned deliverable(const struct xpr__ready_slot *s)
{
    unsigned events = 0;
    if (s->io == NULL)
        return 0;
    if (s->mask & XPR__IO_READ) {
        events |= s->pending & (XPR__IO_READ | XPR__IO_ERROR);
        if (s->closed)
            events |= XPR__IO_READ | XPR__IO_ERROR;
    }
    if (s->mask & XPR__IO_WRITE)
        events |= s->pending & (XPR__IO_WRITE | XPR__IO_ERROR);
    return events;
}

static int queued(const struct xpr__ready_slot *s)
{
    return s->link.next != NULL && s->link.next != &s->link;
}

/* For a socket registered while it connects: XPR__IO_WRITE | XPR__IO_ERROR
 * when the connect already failed, else 0. */
static unsigned missed_connect(SOCKET s)
{
    fd_set except;
    struct timeval zero = {0, 0};
    FD_ZERO(&except);
    FD_SET(s, &except);
    if (select(0, NULL, NULL, &except, &zero) == 1)
        return XPR__IO_WRITE | XPR__IO_ERROR;
    return 0;
}

/* Queues s if it has something the engine wants now and is not queued. */
static void queue(struct xpr__list *ready, struct xpr__ready_slot *s)
{
    if (!queued(s) && deliverable(s) != 0)
        xpr__list_push_back(ready, &s->link);
}

void xpr__ready_remove(struct xpr__ready_slot *s)
{
    if (queued(s))
        xpr__list_remove(&s->link);
}

int xpr__ready_take(struct xpr__list *ready, size_t slots,
                    struct xpr__fired_list *fired)
{
    struct xpr__link *link = ready->head.next;
    fired->count = 0;
    if (xpr__fired_reserve(fired, slots) != 0)
        return XPR_ENOMEM;
    while (link != &ready->head) {
        struct xpr__ready_slot *s =
            XPR__CONTAINER(link, struct xpr__ready_slot, link);
        unsigned events = deliverable(s);
        link = link->next;
        s->pending &= ~events;
        if (s->closed && (events & XPR__IO_READ))
            s->closed = 2;
        if (events != 0)
            xpr__fired_push(fired, s->io, events);
        if (deliverable(s) == 0)
            xpr__list_remove(&s->link);
    }
    return 0;
}

void xpr__ready_start(struct xpr__list *ready, struct xpr__ready_slot *s,
                      struct xpr__io *io, unsigned mask)
{
    s->io = io;
    s->mask = mask;
    s->pending = mask & XPR__IO_READ;
    if (mask == XPR__IO_WRITE)
        s->pending = missed_connect((SOCKET)io->sock);
    queue(ready, s);
}

void xpr__ready_set_interest(struct xpr__list *ready, struct xpr__ready_slot *s,
                             unsigned mask)
{
    s->pending |= mask & ~s->mask;
    s->mask = mask;
    queue(ready, s);
}

void xpr__ready_record(struct xpr__list *ready, struct xpr__ready_slot *s,
                       long network_events, int error)
{
    unsigned events = error ? XPR__IO_ERROR : 0u;
    if (network_events & (FD_READ | FD_ACCEPT))
        events |= XPR__IO_READ;
    if (network_events & (FD_WRITE | FD_CONNECT))
        events |= XPR__IO_WRITE;
    if (network_events & FD_CLOSE) { /* hang-up: the engine reads to learn */
        s->closed = 1;
        events |= XPR__IO_READ | XPR__IO_WRITE | XPR__IO_ERROR;
    }
    s->pending |= events;
    queue(ready, s);
}
