/*
 * Socket calls only the thread-per-connection (`blocking`) and polling
 * (`nonblocking`) back ends and watchers of application sockets make,
 * beside the socket layer (sock.h);
 * implemented once per platform (posix/sock_models.c, win32/sock_models.c).
 * Every function returns 0 or an XPR_E* code unless it says otherwise.
 */
#ifndef XPR_SOCK_MODELS_H
#define XPR_SOCK_MODELS_H

#include "address.h"
#include "xpr_sys.h"

/* Blocking (1) or non-blocking (0) mode. */
int xpr__sock_set_blocking(xpr_socket_t s, int blocking);
/* connect() on a blocking socket: returns once connected or failed. */
int xpr__sock_connect_blocking(xpr_socket_t s, const struct xpr__addr *addr);
/* Makes threads blocked in recv, accept or connect on s return, and with
 * sending those blocked in send too; without it no FIN leaves (a close
 * with SO_LINGER 0 is to follow). Later recv (and, with sending, send)
 * calls fail at once. s stays open: the caller closes it once those
 * threads are gone, so none of them can call into a reused descriptor. */
void xpr__sock_cancel_blocking(xpr_socket_t s, int sending);
/* 1 when a send on s would not block now or a connect in progress has
 * ended, either way (xpr__sock_connect_result then tells which); 0 while
 * the connect goes on or the send buffer is full. Asks without waiting and
 * leaves the socket's pending error in place. */
int xpr__sock_writable_now(xpr_socket_t s);

/* What wakes a thread blocked in xpr__sock_wait (blocking's waiters): a
 * pipe on POSIX, a UDP socket connected to itself on Windows. */
struct xpr__waker {
    xpr_socket_t ends[2];
};
int xpr__waker_open(struct xpr__waker *w);
void xpr__waker_close(struct xpr__waker *w);
/* Any thread: the next (or current) xpr__sock_wait returns. */
void xpr__waker_wake(struct xpr__waker *w);
/* Blocks until something of want (XPR__IO_*) holds for s, or an error or
 * hang-up (XPR__IO_ERROR), or waker is woken (then 0, the wake consumed).
 * It may also return 0 with nothing woken (win32/sock_models.c, a bounded
 * wait): the caller waits again. */
unsigned xpr__sock_wait(xpr_socket_t s, unsigned want,
                        struct xpr__waker *waker);

/* Watchers (portable/watch.c, stream_watch.c). Whether s is an open socket
 * (POSIX: an open descriptor of any kind). */
int xpr__sock_is_open(xpr_socket_t s);
/* What holds for s now, asked without waiting: XPR__IO_READ and
 * XPR__IO_WRITE out of want, XPR__IO_ERROR for a hang-up or an error. */
unsigned xpr__sock_ready_now(xpr_socket_t s, unsigned want);
/* The error the system holds for s (SO_ERROR, cleared by reading it) as
 * XPR_E*, or 0: none, or s is no socket (a pipe). */
int xpr__sock_pending_error(xpr_socket_t s);

#endif
