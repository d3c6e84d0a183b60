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

/* A socket registered with interest mask: what the registration will not
 * announce is reported once, read interest (data may have come before the
 * registration, or the socket is an accepted one whose events went to the
 * listener's) and, for a socket only waiting for its connect, a connect
 * that failed before the registration (which then records no FD_CONNECT). */
void xpr__ready_start(struct xpr__list *ready, struct xpr__ready_slot *s,
                      struct xpr__io *io, unsigned mask);
/* New interest of a registered socket. Interest that comes back is reported
 * once: FD_WRITE comes only after a send failed with WSAEWOULDBLOCK (not
 * after a short one, after which the engine waits for writability too), a
 * reader that resumes may have data no FD_READ announces, and an event the
 * engine's dispatch dropped (an earlier callback had turned that interest
 * off) is not lost. */
void xpr__ready_set_interest(struct xpr__list *ready, struct xpr__ready_slot *s,
                             unsigned mask);
/* Records FD_* network events (with an error code when error is set). */
void xpr__ready_record(struct xpr__list *ready, struct xpr__ready_slot *s,
                       long network_events, int error);
/* Takes s out of the list (a slot about to be freed or reused). */
void xpr__ready_remove(struct xpr__ready_slot *s);
/* Moves what the queued slots have for the engine into fired, after
 * reserving room for all the poller's slots: 0, or XPR_ENOMEM with the
 * slots untouched. A slot stays queued only while it still has something
 * (a closed socket stays readable). */
int xpr__ready_take(struct xpr__list *ready, size_t slots,
                    struct xpr__fired_list *fired);

#endif
