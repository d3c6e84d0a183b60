/*
 * The blocking back end's loop side (docs/design.md, "Hand-over"): the
 * ready list on which I/O threads hand news to the loop thread, run_once,
 * wake, and the ops table.
 *
 * 1. run_once sleeps on the loop's condition variable, up to the nearest
 *    timer, until news is queued or wake() signals it.
 * 2. It handles as many entries as the list held when it woke, one at a
 *    time (taken off under the lock, handled without it), so threads that
 *    keep queueing cannot hold the loop thread in one round.
 */
#include <stdlib.h>

#include "alloc.h"
#include "blocking.h"
#include "fault.h"
#include "platform_backends.h"

void xpr__blocking_make_ready(struct blocking_loop *bl,
                              struct blocking_ready *r)
{
    if (r->queued)
        return;
    r->queued = 1;
    xpr__list_push_back(&bl->ready, &r->link);
    if (bl->ready_count++ == 0)
        xpr__cond_signal(&bl->cond);
}

void xpr__blocking_unready(struct blocking_loop *bl, struct blocking_ready *r)
{
    if (!r->queued)
        return;
    r->queued = 0;
    xpr__list_remove(&r->link);
    bl->ready_count--;
}

static int blocking_loop_init(xpr_loop *loop)
{
    struct blocking_loop *bl = xpr__calloc(1, sizeof(*bl));
    if (bl == NULL)
        return XPR_ENOMEM;
    if (xpr__mutex_init(&bl->lock) == 0) {
        if (xpr__cond_init(&bl->cond) == 0) {
            xpr__list_init(&bl->ready);
            loop->backend = bl;
            return 0;
        }
        xpr__mutex_destroy(&bl->lock);
    }
    free(bl);
    return XPR_ENOMEM;
}

/* Every conn and listener is gone: their threads are joined. */
static void blocking_loop_free(xpr_loop *loop)
{
    struct blocking_loop *bl = loop->backend;
    xpr__blocking_free_closed_listeners(bl);
    xpr__cond_destroy(&bl->cond);
    xpr__mutex_destroy(&bl->lock);
    free(bl);
}

static int blocking_run_once(xpr_loop *loop, int timeout_ms)
{
    struct blocking_loop *bl = loop->backend;
    size_t count;
    if (xpr__fault(XPR__FAULT_WAIT))
        return XPR_ENOMEM;
    xpr__blocking_arm_listeners(loop);
    if (xpr__atomic_load(&loop->freeing))
        xpr__blocking_cut_flushes(loop);
    xpr__mutex_lock(&bl->lock);
    if (bl->ready_count == 0 && !bl->woken && timeout_ms != 0)
        xpr__cond_wait(&bl->cond, &bl->lock, timeout_ms); /* quirk 1 */
    bl->woken = 0;
    count = bl->ready_count;
    xpr__mutex_unlock(&bl->lock);
    while (count-- > 0) { /* quirk 2 */
        struct blocking_ready *r;
        struct xpr__link *link;
        xpr__mutex_lock(&bl->lock);
        link = xpr__list_first(&bl->ready);
        r = link ? XPR__CONTAINER(link, struct blocking_ready, link) : NULL;
        if (r != NULL)
            xpr__blocking_unready(bl, r);
        xpr__mutex_unlock(&bl->lock);
        if (r == NULL)
            break;
        if (r->is_waiter)
            xpr__blocking_waiter_news(r);
        else if (r->is_listener)
            xpr__blocking_listener_news(
                XPR__CONTAINER(r, struct blocking_listener, ready));
        else
            xpr__blocking_conn_news(
                XPR__CONTAINER(r, struct blocking_conn, ready));
    }
    xpr__blocking_free_closed_listeners(bl);
    return 0;
}

static void blocking_wake(xpr_loop *loop)
{
    struct blocking_loop *bl = loop->backend;
    xpr__mutex_lock(&bl->lock);
    bl->woken = 1;
    xpr__cond_signal(&bl->cond);
    xpr__mutex_unlock(&bl->lock);
}

const struct xpr_backend_ops xpr__blocking_ops = {
    .loop_init = blocking_loop_init,
    .loop_free = blocking_loop_free,
    .run_once = blocking_run_once,
    .wake = blocking_wake,
    .listen = xpr__blocking_listen,
    .listener_close = xpr__blocking_listener_close,
    .listener_set_accepting = xpr__blocking_listener_set_accepting,
    .conn_size = sizeof(struct blocking_conn),
    /* conn_send copies into the conn's send buffer (docs/design.md, "Writes")
     */
    .conn_flags = XPR__TRANSPORT_SENDS_AT_ONCE,
    .conn_connect = xpr__blocking_conn_connect,
    .conn_adopt = xpr__blocking_conn_adopt,
    .conn_set_reading = xpr__blocking_conn_set_reading,
    .conn_send = xpr__blocking_conn_send,
    .conn_shutdown = xpr__blocking_conn_shutdown,
    .conn_close = xpr__blocking_conn_close,
    .watch_size = sizeof(struct blocking_watch),
    .watch_set = xpr__blocking_watch_set,
    .watch_release = xpr__blocking_watch_release,
    .udp = &xpr__blocking_udp_ops,
};
