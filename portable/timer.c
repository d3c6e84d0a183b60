/* Timers: the public API, and internal timers (connection timeouts) that do
 * not keep the loop alive. A back end with timers of its own (libevent-bev)
 * arms them through its ops; the others use the core's heap, whose nearest
 * deadline is the wait timeout. */
#include <limits.h>
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"

static int backend_arm(xpr_timer *t, uint64_t ms)
{
    xpr_loop *loop = t->loop;
    if (loop->ops->timer_arm != NULL)
        return loop->ops->timer_arm(t, ms);
    return xpr__heap_push(&loop->timer_heap, &t->node, xpr__now_ms() + ms);
}

static void backend_disarm(xpr_timer *t)
{
    xpr_loop *loop = t->loop;
    if (loop->ops->timer_disarm != NULL)
        loop->ops->timer_disarm(t);
    else
        xpr__heap_remove(&loop->timer_heap, &t->node);
}

static void set_active(xpr_timer *t, int active)
{
    if (t->active == active)
        return;
    t->active = (unsigned char)active;
    if (t->is_public) {
        xpr__recount(&t->loop->stats.active_timers, !active, active);
        xpr__recount(&t->loop->referenced_timers, !active && !t->unref,
                     active && !t->unref);
    }
}

void xpr__timer_init(xpr_timer *t, xpr_loop *loop, xpr_timer_cb cb, void *arg)
{
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    t->repeat_ms = 0;
    t->node.index = XPR__HEAP_NONE;
    t->backend_timer = NULL;
    t->active = 0;
    t->is_public = 0;
    t->unref = 0;
    t->link.prev = t->link.next = &t->link;
}

int xpr__timer_arm(xpr_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
    int rc;
    xpr__timer_disarm(t);
    t->repeat_ms = repeat_ms;
    rc = backend_arm(t, timeout_ms);
    if (rc == 0)
        set_active(t, 1);
    return rc;
}

void xpr__timer_disarm(xpr_timer *t)
{
    if (!t->active)
        return;
    backend_disarm(t);
    set_active(t, 0);
}

void xpr__timer_release(xpr_timer *t)
{
    xpr__timer_disarm(t);
    if (t->loop->ops->timer_release != NULL)
        t->loop->ops->timer_release(t);
}

void xpr__timer_expired(xpr_timer *t)
{
    if (!t->active)
        return;
    /* Back ends with timers of their own fire them inside their wait,
     * after the round's clock was read. */
    if (t->loop->ops->timer_arm != NULL)
        t->loop->now_ms = xpr__now_ms();
    if (t->repeat_ms > 0) {
        if (backend_arm(t, t->repeat_ms) != 0)
            set_active(t, 0);
    } else {
        set_active(t, 0);
    }
    /* t may be freed by its callback: nothing touches it afterwards */
    t->cb(t, t->arg);
}

int xpr__timers_timeout(xpr_loop *loop)
{
    const struct xpr__heap_node *top = xpr__heap_top(&loop->timer_heap);
    uint64_t now;
    if (top == NULL)
        return -1;
    now = xpr__now_ms();
    if (top->due_ms <= now)
        return 0;
    return top->due_ms - now > INT_MAX ? INT_MAX : (int)(top->due_ms - now);
}

void xpr__timers_run(xpr_loop *loop)
{
    uint64_t now = xpr__now_ms();
    struct xpr__heap_node *top;
    /* timers re-armed here are due at now + repeat >= now + 1: no spin */
    while ((top = xpr__heap_top(&loop->timer_heap)) != NULL &&
           top->due_ms <= now) {
        xpr_timer *t = XPR__CONTAINER(top, xpr_timer, node);
        xpr__heap_remove(&loop->timer_heap, top);
        xpr__timer_expired(t);
    }
}

/* ---- public API ---- */

/* About 34 years: far enough, and no overflow of now + timeout. */
#define MAX_TIMEOUT_MS ((uint64_t)1 << 40)

int xpr_timer_new(xpr_loop *loop, xpr_timer_cb cb, void *arg, xpr_timer **out)
{
    xpr_timer *t;
    int rc = xpr__loop_check_new(loop, cb != NULL && out != NULL);
    if (rc != 0)
        return rc;
    t = xpr__malloc(sizeof(*t));
    if (t == NULL)
        return XPR_ENOMEM;
    xpr__timer_init(t, loop, cb, arg);
    t->is_public = 1;
    xpr__list_push_back(&loop->timers, &t->link);
    *out = t;
    return 0;
}

int xpr_timer_start(xpr_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms)
{
    int rc;
    if (timer == NULL || timeout_ms > MAX_TIMEOUT_MS ||
        repeat_ms > MAX_TIMEOUT_MS)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(timer->loop);
    if (rc != 0)
        return rc;
    return xpr__timer_arm(timer, timeout_ms, repeat_ms);
}

int xpr_timer_stop(xpr_timer *timer)
{
    int rc = timer == NULL ? XPR_EINVAL : xpr__loop_check_thread(timer->loop);
    if (rc != 0)
        return rc;
    xpr__timer_disarm(timer);
    return 0;
}

void xpr_timer_free(xpr_timer *timer)
{
    if (timer == NULL || xpr__loop_check_thread(timer->loop) != 0)
        return;
    xpr__timer_release(timer);
    xpr__list_remove(&timer->link);
    free(timer);
}

static int set_unref(xpr_timer *timer, int unref)
{
    int rc = timer == NULL ? XPR_EINVAL : xpr__loop_check_thread(timer->loop);
    if (rc != 0 || timer->unref == unref)
        return rc;
    xpr__recount(&timer->loop->referenced_timers,
                 timer->active && !timer->unref, timer->active && !unref);
    timer->unref = (unsigned char)unref;
    return 0;
}

int xpr_timer_ref(xpr_timer *timer)
{
    return set_unref(timer, 0);
}

int xpr_timer_unref(xpr_timer *timer)
{
    return set_unref(timer, 1);
}
