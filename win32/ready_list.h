/* Slots with events waiting to be handed to the engine, for the pollers that
 * record events as Winsock reports them (eventselect, asyncselect). Two
 * arrays take turns, so a dispatch can queue slots again while it walks the
 * batch it took. */
#ifndef XPR_READY_LIST_H
#define XPR_READY_LIST_H

#include <stddef.h>

struct xpr__ready_list {
    void **items; /* queued */
    void **batch; /* handed out by the last take */
    size_t count, capacity;
};

/* Queues slot: 0 or XPR_ENOMEM. */
int xpr__ready_push(struct xpr__ready_list *r, void *slot);
/* Takes everything queued; the array stays valid until the next take. */
void **xpr__ready_take(struct xpr__ready_list *r, size_t *count);
void xpr__ready_free(struct xpr__ready_list *r);

/* The events a slot can hand over: what Winsock recorded (pending) that the
 * engine wants (mask); a socket the peer closed stays readable (the read
 * sees EOF or the error), whatever came with the close. */
unsigned xpr__ready_events(unsigned mask, unsigned pending, int closed);

#endif
