/*
 * The blocking back end's listeners: a thread blocked in accept per
 * listener, handing accepted sockets to the loop thread (docs/design.md,
 * "Accepting"). The listening socket and every accepted socket before its
 * hand-over are in blocking mode.
 *
 * 1. The accept thread waits while the hand-over queue is full, while the
 *    core has paused accepting, and while a failed accept waits for the
 *    core's verdict. A pause cannot recall an accept already blocked: what
 *    it takes waits in the hand-over queue until accepting resumes.
 * 2. Close: the blocked accept is cancelled until the thread says it is
 *    done, then the thread is joined, the socket closed, and sockets
 *    accepted but not taken are closed. The listener is freed after the
 *    round that closed it: an on_open of the round may close it while its
 *    accepted sockets are being opened.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "blocking.h"
#include "sock.h"
#include "sock_models.h"

static void accept_main(void *arg)
{
    struct blocking_listener *sl = arg;
    struct blocking_loop *bl = sl->bl;
    xpr_socket_t lsock = sl->base.sock;
    xpr__mutex_lock(&bl->lock);
    for (;;) {
        xpr_socket_t s = XPR__INVALID_SOCKET;
        int rc;
        while (!sl->closing &&
               (!sl->accepting || sl->verdict_wanted ||
                sl->queued == XPR__BLOCKING_ACCEPT_QUEUE)) /* quirk 1 */
            xpr__cond_wait(&sl->cond, &bl->lock, -1);
        if (sl->closing)
            break;
        xpr__mutex_unlock(&bl->lock);
        rc = xpr__sock_accept(lsock, &s);
        if (rc == 0) {
            rc = xpr__sock_set_blocking(s, 1);
            if (rc != 0)
                xpr__sock_close(s, 0);
        }
        xpr__mutex_lock(&bl->lock);
        if (sl->closing) {
            if (rc == 0)
                xpr__sock_close(s, 0);
            break;
        }
        if (rc == 0) {
            sl->queue[sl->queued++] = s;
            if (sl->accepting)
                xpr__blocking_make_ready(bl, &sl->ready);
        } else if (rc != XPR_EAGAIN) {
            sl->accept_err = rc;
            sl->verdict_wanted = 1;
            xpr__blocking_make_ready(bl, &sl->ready);
        }
    }
    sl->returned = 1;
    xpr__cond_broadcast(&sl->cond);
    xpr__mutex_unlock(&bl->lock);
}

void xpr__blocking_listener_news(struct blocking_listener *sl)
{
    xpr_listener *l = &sl->base;
    struct blocking_loop *bl = sl->bl;
    xpr_socket_t taken[XPR__BLOCKING_ACCEPT_QUEUE];
    unsigned count, i;
    int verdict_wanted, err;
    xpr__mutex_lock(&bl->lock);
    count = sl->accepting ? sl->queued : 0; /* quirk 1: held while paused */
    memcpy(taken, sl->queue, count * sizeof(taken[0]));
    sl->queued -= count;
    verdict_wanted = sl->verdict_wanted;
    err = sl->accept_err;
    xpr__cond_broadcast(&sl->cond);
    xpr__mutex_unlock(&bl->lock);
    for (i = 0; i < count; i++) {
        if (sl->closed) /* an on_open closed it (quirk 2) */
            xpr__sock_close(taken[i], 0);
        else
            xpr__blocking_conn_accepted(l, taken[i]);
    }
    if (verdict_wanted && !sl->closed) {
        /* non-blocking for the core's verdict only */
        xpr__sock_set_blocking(l->sock, 0);
        xpr__listener_accept_failed(l, err);
        xpr__sock_set_blocking(l->sock, 1);
        xpr__mutex_lock(&bl->lock);
        sl->verdict_wanted = 0;
        xpr__cond_broadcast(&sl->cond);
        xpr__mutex_unlock(&bl->lock);
    }
}

int xpr__blocking_listen(xpr_loop *loop, const struct xpr__addr *addr,
                         int backlog, xpr_listener **out)
{
    struct blocking_loop *bl = loop->backend;
    struct blocking_listener *sl = xpr__calloc(1, sizeof(*sl));
    int rc;
    if (sl == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_listen(addr, backlog, &sl->base.sock, &sl->base.bound);
    if (rc != 0) {
        free(sl);
        return rc;
    }
    rc = xpr__sock_set_blocking(sl->base.sock, 1);
    if (rc == 0 && xpr__cond_init(&sl->cond) != 0) {
        rc = XPR_ENOMEM;
    } else if (rc == 0) {
        sl->bl = bl;
        sl->ready.is_listener = 1;
        rc = xpr__thread_start_sized(&sl->thread, accept_main, sl,
                                     XPR__BLOCKING_STACK);
        if (rc != 0)
            xpr__cond_destroy(&sl->cond);
    }
    if (rc != 0) {
        xpr__sock_close(sl->base.sock, 0);
        free(sl);
        return rc;
    }
    *out = &sl->base;
    return 0;
}

void xpr__blocking_listener_close(xpr_listener *l)
{
    struct blocking_listener *sl = (struct blocking_listener *)l;
    struct blocking_loop *bl = sl->bl;
    unsigned i;
    xpr__mutex_lock(&bl->lock);
    sl->closing = 1;
    xpr__cond_broadcast(&sl->cond);
    while (!sl->returned) { /* quirk 2 */
        xpr__mutex_unlock(&bl->lock);
        xpr__sock_cancel_blocking(l->sock, 0);
        xpr__mutex_lock(&bl->lock);
        if (!sl->returned)
            xpr__cond_wait(&sl->cond, &bl->lock, 10);
    }
    xpr__mutex_unlock(&bl->lock);
    xpr__thread_join(&sl->thread);
    xpr__sock_close(l->sock, 0);
    xpr__mutex_lock(&bl->lock);
    for (i = 0; i < sl->queued; i++)
        xpr__sock_close(sl->queue[i], 0);
    sl->queued = 0;
    xpr__blocking_unready(bl, &sl->ready);
    xpr__mutex_unlock(&bl->lock);
    xpr__cond_destroy(&sl->cond);
    sl->closed = 1;
    sl->next_closed = bl->closed_listeners;
    bl->closed_listeners = sl;
}

void xpr__blocking_arm_listeners(xpr_loop *loop)
{
    struct xpr__link *link;
    for (link = loop->listeners.head.next; link != &loop->listeners.head;
         link = link->next) {
        struct blocking_listener *sl =
            (struct blocking_listener *)XPR__CONTAINER(link, xpr_listener,
                                                       link);
        if (!sl->armed) {
            sl->armed = 1;
            xpr__blocking_listener_set_accepting(&sl->base, !sl->paused);
        }
    }
}

int xpr__blocking_listener_set_accepting(xpr_listener *l, int on)
{
    struct blocking_listener *sl = (struct blocking_listener *)l;
    sl->paused = (unsigned char)!on;
    xpr__mutex_lock(&sl->bl->lock);
    sl->accepting = (unsigned char)(on && sl->armed);
    if (sl->accepting && sl->queued > 0)
        xpr__blocking_make_ready(sl->bl, &sl->ready);
    xpr__cond_broadcast(&sl->cond);
    xpr__mutex_unlock(&sl->bl->lock);
    return 0;
}

void xpr__blocking_free_closed_listeners(struct blocking_loop *bl)
{
    while (bl->closed_listeners != NULL) {
        struct blocking_listener *sl = bl->closed_listeners;
        bl->closed_listeners = sl->next_closed;
        free(sl);
    }
}
