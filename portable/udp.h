/*
 * UDP between the core (portable/udp.c) and a transport that receives and
 * sends (struct xpr__udp_ops; docs/design.md, "UDP").
 *
 * Rules every transport follows:
 *   1. start begins receiving on a bound, non-blocking socket; each
 *      datagram goes to xpr__udp_received while the handle is not closing.
 *   2. send copies what it cannot send at once and returns 1: the core
 *      counts its bytes as queued until xpr__udp_sent reports them (sent,
 *      or dropped with an error). Datagrams leave in the order given.
 *   3. close stops receiving and sending, drops the queue (reporting
 *      nothing), closes the socket and calls xpr__udp_closed once nothing
 *      of the handle is pending in the kernel (from inside close when
 *      nothing is). Nothing is reported after close but xpr__udp_closed.
 *   4. Nothing is reported from inside start or send.
 */
#ifndef XPR_UDP_H
#define XPR_UDP_H

#include "backend.h"
#include "poller.h"

struct xpr_udp {
    xpr_loop *loop;
    const struct xpr__udp_ops *ops;
    struct xpr_udp_callbacks cb;
    void *userdata;
    struct xpr__link link; /* loop->udps, then loop->udp_finished */
    xpr_socket_t sock;
    struct xpr__addr bound;
    size_t recv_size;
    size_t send_queue_max;
    size_t queued; /* bytes the transport holds (rule 2) */
    unsigned recvs_posted;
    int close_err;
    unsigned char closing;   /* xpr_udp_close, a failure, or loop free */
    unsigned char connected; /* xpr_udp_connect */
};

struct xpr__udp_ops {
    size_t size; /* bytes per handle, struct xpr_udp first */
    /* Rule 1. 0 or an error: the core closes the socket and frees. */
    int (*start)(xpr_udp *u);
    /* Rule 2. to is NULL on a connected socket. 0 sent, 1 queued, or the
     * error of a send that failed at once (nothing queued). */
    int (*send)(xpr_udp *u, const struct xpr__addr *to, const void *p,
                size_t n);
    /* Rule 3. */
    void (*close)(xpr_udp *u);
    /* Optional: frees what the transport keeps beyond u, after on_close. */
    void (*release)(xpr_udp *u);
    /* Readiness transports: the interest of io becomes mask (XPR__IO_*). 0
     * or an error, the old interest standing. */
    int (*watch)(xpr_udp *u, struct xpr__io *io, unsigned mask);
};

/* 0, or what a public call on u returns: XPR_EINVAL (NULL), XPR_ETHREAD,
 * XPR_ECLOSED (closing). */
int xpr__udp_usable(const xpr_udp *u);

/* The readiness transport (portable/udp_ready.c) over the loop's poller,
 * and its operations for transports that only watch differently. */
struct xpr__udp_dgram { /* a queued datagram */
    struct xpr__udp_dgram *next;
    struct xpr__addr to;
    int has_to;
    size_t len;
    unsigned char data[];
};

struct xpr__udp_ready {
    struct xpr_udp base; /* first: the core sees an xpr_udp */
    struct xpr__io io;
    struct xpr__udp_dgram *head, *tail; /* waiting for writability */
    unsigned char *own_buf; /* recv_size past the loop's read buffer */
};

extern const struct xpr__udp_ops xpr__udp_ready_ops;
int xpr__udp_ready_start(xpr_udp *u);
int xpr__udp_ready_send(xpr_udp *u, const struct xpr__addr *to, const void *p,
                        size_t n);
void xpr__udp_ready_close(xpr_udp *u);
void xpr__udp_ready_release(xpr_udp *u);
/* The io a readiness handle watches. */
struct xpr__io *xpr__udp_ready_io(xpr_udp *u);

/* ---- what transports report ---- */

/* A datagram (flags XPR_UDP_*) from `from`; runs on_recv. */
void xpr__udp_received(xpr_udp *u, const void *p, size_t n,
                       const struct xpr__addr *from, unsigned flags);
/* A queued datagram of n bytes left (err 0) or was dropped (err: on_error
 * runs). */
void xpr__udp_sent(xpr_udp *u, size_t n, int err);
/* A receive failed; the handle goes on (on_error runs). */
void xpr__udp_error(xpr_udp *u, int err);
/* The handle cannot go on: it closes with err (close follows). */
void xpr__udp_failed(xpr_udp *u, int err);
/* Rule 3: the socket is closed and nothing is pending. */
void xpr__udp_closed(xpr_udp *u);

/* ---- the loop's part (portable/loop.c) ---- */

/* Whether a handle keeps the loop running. */
int xpr__udp_alive(const xpr_loop *loop);
/* Runs on_close for handles that finished, and frees them. */
void xpr__udp_deliver_closes(xpr_loop *loop);
/* xpr_loop_free: closes every live handle with XPR_ECANCELED. */
void xpr__udp_cancel_all(xpr_loop *loop);
/* Whether handles still wait for the kernel to let go of them. */
int xpr__udp_closing(const xpr_loop *loop);

#endif
