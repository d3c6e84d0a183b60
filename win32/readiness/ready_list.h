/* What the pollers that record Winsock's events as they come (eventselect,
 * asyncselect) share: each slot keeps the events seen and not yet reported,
 * and a slot with something to report is in the ready list, which the wait
 * turns into the fired list. The events are edges that Winsock does not
 * repeat, so what the engine has no interest in stays pending until the
 * interest comes back. */
#ifndef XPR_READY_LIST_H
#define XPR_READY_LIST_H

#include <stddef.h>

#include "list.h"
#include "xpr_winsock.h"
#include "poller.h"

/* The part of a poller's slot the ready list reads. */
struct xpr__ready_slot {
    struct xpr__io *io;    /* NULL while the slot is free */
    unsigned mask;         /* the engine's interest */
    unsigned pending;      /* XPR__IO_* seen and not yet reported */
    unsigned char closed;  /* FD_CLOSE seen: 1, and 2 once reported readable */
    struct xpr__link link; /* in the ready list, or NULL / to itself */
};

/* For a socket registered while it connects: XPR__IO_WRITE |
 * XPR__IO_ERROR when the connect already failed (the registration then
 * records no FD_CONNECT), else 0. */
unsigned xpr__ready_missed_connect(SOCKET s);

/* Queues s if it has something the engine wants now and is not queued. */
void xpr__ready_queue(struct xpr__list *ready, struct xpr__ready_slot *s);
/* Takes s out of the list (a slot about to be freed or reused). */
void xpr__ready_remove(struct xpr__ready_slot *s);
/* Moves what the queued slots have for the engine into fired, after
 * reserving room for all the poller's slots: 0, or XPR_ENOMEM with the
 * slots untouched. A slot stays queued only while it still has something
 * (a closed socket stays readable). */
int xpr__ready_take(struct xpr__list *ready, size_t slots,
                    struct xpr__fired_list *fired);

#endif
