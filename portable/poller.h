/*
 * The readiness poller contract: everything a readiness back end supplies to
 * the shared stream engine (portable/stream.c). A poller only tracks interest
 * and waits; the engine does the I/O.
 *
 * Rules:
 *   - Interest is level-triggered: a socket that stays readable is reported
 *     again on the next wait.
 *   - update() is given the old and new masks (like libev's modify); new_mask
 *     0 removes the socket. After removal the poller must not report it, not
 *     even later in the same dispatch, and must not touch io again.
 *   - wait() dispatches by calling xpr__io_ready(io, events) for each ready
 *     socket; callbacks may add, change or remove any socket meanwhile.
 *     A report carries only what the socket's interest asks for when it is
 *     dispatched (plus XPR__IO_ERROR): a read turned off by an earlier
 *     callback of the same dispatch is not reported.
 *   - wake() may be called from any thread and must make a blocked wait()
 *     return; it never uses a loopback socket pair.
 */
#ifndef XPR_POLLER_H
#define XPR_POLLER_H

#include <stdint.h>

#include "xpr_sys.h"

struct xpr_loop;
struct xpr_timer;

enum {
    XPR__IO_READ = 1u << 0,
    XPR__IO_WRITE = 1u << 1,
    XPR__IO_ERROR = 1u << 2 /* error or hang-up: the engine reads to learn */
};

/* One watched socket. Owned by the engine; the poller may keep a private
 * pointer in poller_data. */
struct xpr__io {
    xpr_socket_t sock;
    unsigned mask; /* current interest, kept by the engine */
    void (*ready)(struct xpr__io *io, unsigned events);
    void *poller_data;
};

static inline void xpr__io_ready(struct xpr__io *io, unsigned events)
{
    io->ready(io, events);
}

struct xpr_poller_ops {
    /* Poller behaviour flags the engine adapts to. */
    unsigned flags;
    int (*init)(struct xpr_loop *loop, void **state);
    void (*free)(void *state);
    int (*update)(void *state, struct xpr__io *io, unsigned old_mask,
                  unsigned new_mask);
    int (*wait)(void *state, int timeout_ms);
    void (*wake)(void *state);
    /* Optional (NULL = the core's timer heap): pollers with timers of their
     * own (libevent) run xpr timers with them and call xpr__timer_expired(t)
     * when due; state is t->loop->poller_state. */
    int (*timer_arm)(struct xpr_timer *t, uint64_t timeout_ms);
    void (*timer_disarm)(struct xpr_timer *t);
    void (*timer_release)(struct xpr_timer *t); /* frees t->backend_timer */
};

/* flags */
enum {
    /* Read at most once per read event (WSAAsyncSelect re-posts FD_READ
     * after each recv that leaves data). */
    XPR__POLLER_ONE_READ_PER_EVENT = 1u << 0,
    /* Writability is reported only after a send hit EWOULDBLOCK (FD_WRITE):
     * the engine must try to send before waiting for it. */
    XPR__POLLER_WRITE_EDGE = 1u << 1
};

#endif
