/*
 * UDP on the blocking back end: the readiness transport
 * (portable/udp_ready.c) with a socket waiter per handle (waiter.c), its
 * thread blocked in xpr__sock_wait of the handle's socket
 * (docs/design.md, "UDP").
 *
 * 1. The socket stays non-blocking, as every UDP transport has it: the
 *    thread only waits, the loop thread receives and sends, so a send
 *    from a callback never holds up the loop.
 * 2. The thread starts with the first interest, at start: a handle whose
 *    thread cannot start is not made (xpr_udp_new returns the error).
 *    Interest changes wake the thread to wait for the new mask.
 * 3. No interest is asked only by close, which closes the socket next:
 *    the thread is ended and joined first, so it never waits on a
 *    descriptor or handle that was reused. A callback that closes its own
 *    handle joins the thread from inside the news; the handle's memory
 *    lives until on_close ran (release).
 * 4. The news hands the readiness to the transport only while it asks for
 *    some: what the thread saw before the interest changed is not
 *    reported past it.
 */
#include "blocking.h"
#include "poller.h"
#include "udp.h"

struct blocking_udp {
    struct xpr__udp_ready ready; /* first: the core sees an xpr_udp */
    struct blocking_waiter waiter;
};

static int udp_news(struct blocking_waiter *waiter, unsigned seen)
{
    struct blocking_udp *bu =
        XPR__CONTAINER(waiter, struct blocking_udp, waiter);
    struct xpr__io *io = &bu->ready.io;
    unsigned events = seen & (io->mask | XPR__IO_ERROR); /* item 4 */
    if (io->mask != 0 && events != 0)
        io->ready(io, events);
    return 0;
}

static int blocking_udp_watch(xpr_udp *u, struct xpr__io *io, unsigned mask)
{
    struct blocking_udp *bu = (struct blocking_udp *)u;
    if (mask == 0) {
        xpr__blocking_waiter_end(&bu->waiter); /* item 3 */
        return 0;
    }
    if (!bu->waiter.running) { /* item 2 */
        int rc = xpr__blocking_waiter_start(&bu->waiter, u->loop->backend,
                                            io->sock, udp_news);
        if (rc != 0)
            return rc;
    }
    xpr__blocking_waiter_want(&bu->waiter, mask);
    return 0;
}

static void blocking_udp_release(xpr_udp *u)
{
    struct blocking_udp *bu = (struct blocking_udp *)u;
    xpr__blocking_waiter_end(&bu->waiter);
    xpr__udp_ready_release(u);
}

const struct xpr__udp_ops xpr__blocking_udp_ops = {
    .size = sizeof(struct blocking_udp),
    .start = xpr__udp_ready_start,
    .send = xpr__udp_ready_send,
    .close = xpr__udp_ready_close,
    .release = blocking_udp_release,
    .watch = blocking_udp_watch,
};
