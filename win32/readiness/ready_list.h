/* What the pollers that record Winsock's events as they come (eventselect,
 * asyncselect) share, from how Winsock reports network events:
 *   1. FD_READ, FD_WRITE and FD_ACCEPT are edges, re-enabled by the next
 *      recv/send/accept; FD_WRITE only by a send that FAILED with
 *      WSAEWOULDBLOCK, not by a partial one (XPR__POLLER_WRITE_EDGE).
 *      FD_CONNECT and FD_CLOSE come once.
 *   2. A second registration replaces the first and clears what was
 *      recorded: a socket is registered once for all five events, and each
 *      slot keeps what was seen and not yet reported (pending) until the
 *      engine's interest comes back; a slot with something to report is in
 *      the ready list, which the wait turns into the fired list.
 *   3. FD_CLOSE may come with data unread: a closed socket stays readable
 *      (level) while the engine wants to read (it stops at EOF).
 *   4. An accepted socket inherits the listener's registration: it is
 *      registered again, as its own, when the engine adds it.
 *   5. A registration made after a connect already failed may record no
 *      FD_CONNECT (seen under Wine): see xpr__ready_start.
 *   6. The edges say nothing of an application's socket that xpr only
 *      watches (its reads and writes re-enable them):
 *      XPR__POLLER_PROBES_WATCHERS (portable/stream_watch.c). The
 *      registration leaves that socket non-blocking. */
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

/* A socket registered with interest mask: what the registration may not
 * announce is reported once: read interest (data that came before it, or
 * to the listener's registration: item 4) and, for a socket only waiting
 * for its connect, a connect that already failed (item 5; a zero-timeout
 * select() of its except set). */
void xpr__ready_start(struct xpr__list *ready, struct xpr__ready_slot *s,
                      struct xpr__io *io, unsigned mask);
/* New interest of a registered socket. Interest that comes back is reported
 * once: the engine waits for writability after a short send too (item 1),
 * a reader that resumes may have data no FD_READ announces, and an event
 * the engine's dispatch dropped (an earlier callback had turned that
 * interest off) is not lost. */
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
