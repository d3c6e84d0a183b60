/*
 * Watchers of application sockets on the readiness engine (docs/design.md,
 * "Watchers of application sockets"): one more socket in the loop's
 * poller, dispatched with the conns; freed watchers stay in memory until
 * the round's dispatch is over (poller.h).
 *
 * 1. With XPR__POLLER_PROBES_WATCHERS a watcher's report only ends the
 *    wait; after each dispatch every started watcher is asked with a
 *    zero-timeout poll of its socket (xpr__sock_ready_now): what holds runs
 *    the callback, and while a probe finds something the next wait does
 *    not block (level-triggered, like the other pollers).
 * 2. A hang-up or an error (XPR__IO_ERROR) makes every watched event
 *    hold, so the application's read or write learns what happened; an
 *    error the socket holds (SO_ERROR) is the callback's status.
 */
#include <stdlib.h>

#include "sock_models.h"
#include "stream_watch.h"

static struct xpr__stream_watch *to_watch(struct xpr__io *io)
{
    return XPR__CONTAINER(io, struct xpr__stream_watch, io);
}

static void fire(struct xpr__stream_watch *sw, unsigned events)
{
    unsigned ready = events & (XPR__IO_READ | XPR__IO_WRITE);
    int status = 0;
    if (events & XPR__IO_ERROR) { /* quirk 2 */
        ready = sw->io.mask;
        status = xpr__sock_pending_error(sw->io.sock);
    }
    xpr__watch_fire(&sw->base,
                    ((ready & XPR__IO_READ) ? XPR_READABLE : 0u) |
                        ((ready & XPR__IO_WRITE) ? XPR_WRITABLE : 0u),
                    status);
}

static int probes(const xpr_loop *loop)
{
    return (loop->poller->flags & XPR__POLLER_PROBES_WATCHERS) != 0;
}

static void watch_ready(struct xpr__io *io, unsigned events)
{
    struct xpr__stream_watch *sw = to_watch(io);
    if (!probes(sw->base.loop)) /* quirk 1: else the probe tells */
        fire(sw, events);
}

int xpr__stream_watch_set(xpr_watch *w, unsigned events)
{
    struct xpr__stream_watch *sw = (struct xpr__stream_watch *)w;
    xpr_loop *loop = w->loop;
    unsigned mask = ((events & XPR_READABLE) ? XPR__IO_READ : 0u) |
                    ((events & XPR_WRITABLE) ? XPR__IO_WRITE : 0u);
    int rc;
    if (sw->io.ready == NULL) {
        sw->io.sock = w->sock;
        sw->io.ready = watch_ready;
    }
    if (sw->io.mask == mask)
        return 0;
    rc = loop->poller->update(loop->poller_state, &sw->io, mask);
    if (rc == 0)
        sw->io.mask = mask;
    return rc;
}

void xpr__stream_watch_release(xpr_watch *w)
{
    struct xpr__stream_watch *sw = (struct xpr__stream_watch *)w;
    struct xpr__stream_watches *all = w->loop->backend;
    xpr__stream_watch_set(w, 0);
    sw->io.mask = 0; /* never reported again, even if removal failed */
    sw->next_released = all->released;
    all->released = sw;
}

int xpr__stream_watches_timeout(const struct xpr__stream_watches *all,
                                int timeout_ms)
{
    return all->probe_soon ? 0 : timeout_ms;
}

/* Quirk 1: what holds for every started watcher, then its callback. The
 * list is filled before any callback runs, which may free or stop any
 * watcher: each entry is masked with its interest when reached. */
static void probe(xpr_loop *loop, struct xpr__stream_watches *all)
{
    struct xpr__link *link;
    size_t i;
    all->probed.count = 0;
    for (link = loop->watchers.head.next; link != &loop->watchers.head;
         link = link->next) {
        struct xpr__stream_watch *sw =
            (struct xpr__stream_watch *)XPR__CONTAINER(link, xpr_watch, link);
        unsigned events;
        if (sw->io.mask == 0)
            continue;
        events = xpr__sock_ready_now(sw->io.sock, sw->io.mask);
        if (events != 0) /* out of memory: the next probe finds it again */
            xpr__fired_push(&all->probed, &sw->io, events);
    }
    all->probe_soon = all->probed.count > 0;
    for (i = 0; i < all->probed.count; i++) {
        struct xpr__io *io = all->probed.items[i].io;
        unsigned events =
            all->probed.items[i].events & (io->mask | XPR__IO_ERROR);
        if (io->mask != 0 && events != 0)
            fire(to_watch(io), events);
    }
}

static void free_released(struct xpr__stream_watches *all)
{
    while (all->released != NULL) {
        struct xpr__stream_watch *sw = all->released;
        all->released = sw->next_released;
        free(sw);
    }
}

void xpr__stream_watches_round(xpr_loop *loop, struct xpr__stream_watches *all)
{
    if (probes(loop) && !xpr__list_empty(&loop->watchers))
        probe(loop, all);
    else
        all->probe_soon = 0;
    free_released(all);
}

void xpr__stream_watches_free(struct xpr__stream_watches *all)
{
    free_released(all);
    free(all->probed.items);
}
