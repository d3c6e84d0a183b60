/*
 * Watchers of application sockets on the blocking back end: a socket
 * waiter per watcher (waiter.c), its thread blocked in xpr__sock_wait of
 * the socket (docs/design.md, "Watchers of application sockets").
 *
 * 1. The thread starts with the first set that asks for something; a stop
 *    leaves it waiting for nothing, a free ends and joins it.
 * 2. A free from inside the watcher's own callback leaves the memory to
 *    the news, which frees it once the callback returned.
 */
#include <stdlib.h>

#include "blocking.h"
#include "poller.h"
#include "sock_models.h"

static int watch_news(struct blocking_waiter *waiter, unsigned seen)
{
    struct blocking_watch *bw =
        XPR__CONTAINER(waiter, struct blocking_watch, waiter);
    unsigned events = ((seen & XPR__IO_READ) ? XPR_READABLE : 0u) |
                      ((seen & XPR__IO_WRITE) ? XPR_WRITABLE : 0u);
    int status = 0;
    if (seen & XPR__IO_ERROR) {
        events = bw->base.events;
        status = xpr__sock_pending_error(bw->base.sock);
    }
    bw->firing = 1;
    xpr__watch_fire(&bw->base, events, status);
    bw->firing = 0;
    if (!bw->released)
        return 0;
    free(bw); /* item 2 */
    return 1;
}

int xpr__blocking_watch_set(xpr_watch *w, unsigned events)
{
    struct blocking_watch *bw = (struct blocking_watch *)w;
    unsigned want = ((events & XPR_READABLE) ? XPR__IO_READ : 0u) |
                    ((events & XPR_WRITABLE) ? XPR__IO_WRITE : 0u);
    if (want != 0 && !bw->waiter.running) { /* item 1 */
        int rc = xpr__blocking_waiter_start(&bw->waiter, w->loop->backend,
                                            w->sock, watch_news);
        if (rc != 0)
            return rc;
    }
    if (bw->waiter.running)
        xpr__blocking_waiter_want(&bw->waiter, want);
    return 0;
}

void xpr__blocking_watch_release(xpr_watch *w)
{
    struct blocking_watch *bw = (struct blocking_watch *)w;
    xpr__blocking_waiter_end(&bw->waiter);
    if (bw->firing)
        bw->released = 1; /* item 2 */
    else
        free(bw);
}
