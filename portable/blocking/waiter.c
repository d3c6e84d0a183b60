/*
 * Socket waiters on the blocking back end: a thread blocked in
 * xpr__sock_wait of one socket and its waker, handing what it finds to the
 * loop thread on the ready list. A watcher of an application socket
 * (watch.c) and a UDP handle (udp.c) each have one.
 *
 * 1. The thread waits only while it is asked to wait for something and the
 *    loop has handled its last news: a condition that still holds then is
 *    found at once and handed over again (level-triggered, one report per
 *    round at most).
 * 2. A new interest or an end wakes the thread through the waker: it waits
 *    for the new interest, or returns. The end joins the thread, so the
 *    owner may close the socket and free the memory after it; it runs on
 *    the loop thread, from inside the owner's news too (the thread is then
 *    parked on its condition variable, not in the wait).
 */
#include "blocking.h"
#include "poller.h"
#include "sock_models.h"

static void waiter_main(void *arg)
{
    struct blocking_waiter *w = arg;
    struct blocking_loop *bl = w->bl;
    xpr__mutex_lock(&bl->lock);
    while (!w->quit) {
        unsigned want = w->want, got;
        if (want == 0 || w->handed) {
            xpr__cond_wait(&w->cond, &bl->lock, -1);
            continue;
        }
        xpr__mutex_unlock(&bl->lock);
        got = xpr__sock_wait(w->sock, want, &w->waker);
        xpr__mutex_lock(&bl->lock);
        if (got != 0 && !w->quit && w->want != 0) {
            w->seen = got;
            w->handed = 1;
            xpr__blocking_make_ready(bl, &w->ready);
        }
    }
    xpr__mutex_unlock(&bl->lock);
}

int xpr__blocking_waiter_start(struct blocking_waiter *w,
                               struct blocking_loop *bl, xpr_socket_t s,
                               int (*news)(struct blocking_waiter *w,
                                           unsigned seen))
{
    int rc;
    w->ready.is_waiter = 1;
    w->bl = bl;
    w->sock = s;
    w->news = news;
    w->want = w->seen = 0;
    w->handed = w->quit = 0;
    rc = xpr__waker_open(&w->waker);
    if (rc != 0)
        return rc;
    rc = xpr__cond_init(&w->cond) != 0 ? XPR_ENOMEM : 0;
    if (rc == 0) {
        rc = xpr__thread_start_sized(&w->thread, waiter_main, w,
                                     XPR__BLOCKING_STACK);
        if (rc == 0) {
            w->running = 1;
            return 0;
        }
        xpr__cond_destroy(&w->cond);
    }
    xpr__waker_close(&w->waker);
    return rc;
}

void xpr__blocking_waiter_want(struct blocking_waiter *w, unsigned want)
{
    struct blocking_loop *bl = w->bl;
    xpr__mutex_lock(&bl->lock);
    w->want = want;
    xpr__cond_signal(&w->cond);
    xpr__mutex_unlock(&bl->lock);
    xpr__waker_wake(&w->waker); /* item 2: wait again, for want */
}

void xpr__blocking_waiter_end(struct blocking_waiter *w)
{
    struct blocking_loop *bl = w->bl;
    if (!w->running)
        return;
    xpr__mutex_lock(&bl->lock);
    w->quit = 1;
    xpr__blocking_unready(bl, &w->ready);
    xpr__cond_signal(&w->cond);
    xpr__mutex_unlock(&bl->lock);
    xpr__waker_wake(&w->waker); /* item 2 */
    xpr__thread_join(&w->thread);
    xpr__cond_destroy(&w->cond);
    xpr__waker_close(&w->waker);
    w->running = 0;
}

void xpr__blocking_waiter_news(struct blocking_ready *r)
{
    struct blocking_waiter *w =
        XPR__CONTAINER(r, struct blocking_waiter, ready);
    struct blocking_loop *bl = w->bl;
    unsigned seen;
    xpr__mutex_lock(&bl->lock);
    seen = w->seen;
    xpr__mutex_unlock(&bl->lock);
    if (w->news(w, seen) != 0 || !w->running)
        return; /* freed, or ended from inside the news */
    xpr__mutex_lock(&bl->lock);
    w->handed = 0; /* item 1 */
    w->seen = 0;
    xpr__cond_signal(&w->cond);
    xpr__mutex_unlock(&bl->lock);
}
