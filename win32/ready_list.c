/* See ready_list.h. */
#include "ready_list.h"

#include <stdlib.h>

#include "alloc.h"
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

int xpr__ready_reserve(struct xpr__ready_list *r, size_t slots)
{
    struct xpr__ready_slot **items;
    size_t cap = r->capacity ? r->capacity : 64;
    if (slots <= r->capacity)
        return 0;
    while (cap < slots)
        cap *= 2;
    items = xpr__realloc(r->items, cap * sizeof(*items));
    if (items == NULL)
        return XPR_ENOMEM;
    r->items = items;
    r->capacity = cap;
    return 0;
}

void xpr__ready_queue(struct xpr__ready_list *r, struct xpr__ready_slot *s)
{
    if (s->queued == 0 && deliverable(s) != 0) {
        r->items[r->count++] = s;
        s->queued = r->count;
    }
}

void xpr__ready_remove(struct xpr__ready_list *r, struct xpr__ready_slot *s)
{
    if (s->queued != 0) {
        struct xpr__ready_slot *last = r->items[--r->count];
        r->items[s->queued - 1] = last;
        last->queued = s->queued;
        s->queued = 0;
    }
}

int xpr__ready_take(struct xpr__ready_list *r, struct xpr__fired_list *fired)
{
    size_t i = 0;
    fired->count = 0;
    if (xpr__fired_reserve(fired, r->count) != 0)
        return XPR_ENOMEM;
    while (i < r->count) {
        struct xpr__ready_slot *s = r->items[i];
        unsigned events = deliverable(s);
        s->pending &= ~events;
        if (s->closed && (events & XPR__IO_READ))
            s->closed = 2;
        if (events != 0)
            xpr__fired_push(fired, s->io, events);
        if (deliverable(s) != 0)
            i++;
        else
            xpr__ready_remove(r, s); /* the last one moves to i */
    }
    return 0;
}

void xpr__ready_free(struct xpr__ready_list *r)
{
    free(r->items);
    r->items = NULL;
    r->count = r->capacity = 0;
}
