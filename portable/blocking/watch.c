/*
 * Watchers of application sockets on the blocking back end: a thread per
 * watcher, blocked in xpr__sock_wait of its socket and its waker
 * (docs/design.md, "Watchers of application sockets").
 *
 * 1. The thread waits only while the watcher is started and the loop has
 *    delivered its last news: a condition that still holds after the
 *    callback is found at once and handed over again (level-triggered, one
 *    report per round at most).
 * 2. A new set, a stop or a free wakes the thread: it waits for the new
 *    set, or returns. The free joins the thread before the memory goes,
 *    also from inside the watcher's own callback (the news handler frees
 *    it after the callback returns).
 */
#include <stdlib.h>

#include "blocking.h"
#include "poller.h"
#include "sock_models.h"

static void watch_main(void *arg)
{
    struct blocking_watch *bw = arg;
    struct blocking_loop *bl = bw->bl;
    xpr__mutex_lock(&bl->lock);
    while (!bw->quit) {
        unsigned want = bw->want, got;
        if (want == 0 || bw->handed) {
            xpr__cond_wait(&bw->cond, &bl->lock, -1);
            continue;
        }
        xpr__mutex_unlock(&bl->lock);
        got = xpr__sock_wait(bw->base.sock, want, &bw->waker);
        xpr__mutex_lock(&bl->lock);
        if (got != 0 && !bw->quit && bw->want != 0) {
            bw->seen = got;
            bw->handed = 1;
            xpr__blocking_make_ready(bl, &bw->ready);
        }
    }
    xpr__mutex_unlock(&bl->lock);
}

static void end_thread(struct blocking_watch *bw)
{
    struct blocking_loop *bl = bw->bl;
    if (!bw->has_thread)
        return;
    xpr__mutex_lock(&bl->lock);
    bw->quit = 1;
    xpr__blocking_unready(bl, &bw->ready);
    xpr__cond_signal(&bw->cond);
    xpr__mutex_unlock(&bl->lock);
    xpr__waker_wake(&bw->waker); /* quirk 2 */
    xpr__thread_join(&bw->thread);
    xpr__cond_destroy(&bw->cond);
    xpr__waker_close(&bw->waker);
    bw->has_thread = 0;
}

static int start_thread(struct blocking_watch *bw)
{
    int rc = xpr__waker_open(&bw->waker);
    if (rc != 0)
        return rc;
    rc = xpr__cond_init(&bw->cond) != 0 ? XPR_ENOMEM : 0;
    if (rc == 0) {
        rc = xpr__thread_start_sized(&bw->thread, watch_main, bw,
                                     XPR__BLOCKING_STACK);
        if (rc == 0) {
            bw->has_thread = 1;
            return 0;
        }
        xpr__cond_destroy(&bw->cond);
    }
    xpr__waker_close(&bw->waker);
    return rc;
}

int xpr__blocking_watch_set(xpr_watch *w, unsigned events)
{
    struct blocking_watch *bw = (struct blocking_watch *)w;
    unsigned want = ((events & XPR_READABLE) ? XPR__IO_READ : 0u) |
                    ((events & XPR_WRITABLE) ? XPR__IO_WRITE : 0u);
    if (bw->bl == NULL) {
        bw->bl = w->loop->backend;
        bw->ready.is_watch = 1;
    }
    if (want != 0 && !bw->has_thread) {
        int rc = start_thread(bw);
        if (rc != 0)
            return rc;
    }
    if (!bw->has_thread)
        return 0;
    xpr__mutex_lock(&bw->bl->lock);
    bw->want = want;
    xpr__cond_signal(&bw->cond);
    xpr__mutex_unlock(&bw->bl->lock);
    xpr__waker_wake(&bw->waker); /* quirk 2: wait again, for want */
    return 0;
}

void xpr__blocking_watch_release(xpr_watch *w)
{
    struct blocking_watch *bw = (struct blocking_watch *)w;
    end_thread(bw);
    if (bw->firing)
        bw->released = 1; /* quirk 2: the news handler frees it */
    else
        free(bw);
}

void xpr__blocking_watch_news(struct blocking_ready *r)
{
    struct blocking_watch *bw = XPR__CONTAINER(r, struct blocking_watch, ready);
    struct blocking_loop *bl = bw->bl;
    unsigned seen, events;
    int status = 0;
    xpr__mutex_lock(&bl->lock);
    seen = bw->seen;
    xpr__mutex_unlock(&bl->lock);
    events = ((seen & XPR__IO_READ) ? XPR_READABLE : 0u) |
             ((seen & XPR__IO_WRITE) ? XPR_WRITABLE : 0u);
    if (seen & XPR__IO_ERROR) {
        events = bw->base.events;
        status = xpr__sock_pending_error(bw->base.sock);
    }
    bw->firing = 1;
    xpr__watch_fire(&bw->base, events, status);
    bw->firing = 0;
    if (bw->released) {
        free(bw);
        return;
    }
    xpr__mutex_lock(&bl->lock);
    bw->handed = 0; /* quirk 1 */
    bw->seen = 0;
    xpr__cond_signal(&bw->cond);
    xpr__mutex_unlock(&bl->lock);
}
