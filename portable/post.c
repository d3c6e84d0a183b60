/* Cross-thread posts: a mutex-guarded FIFO, drained by the loop thread. The
 * back end's wake() makes a blocked wait return. */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"

struct xpr__post {
    struct xpr__post *next;
    void (*fn)(void *arg);
    void *arg;
};

int xpr_loop_post(xpr_loop *loop, void (*fn)(void *arg), void *arg)
{
    struct xpr__post *p;
    int was_empty;
    if (loop == NULL || fn == NULL)
        return XPR_EINVAL;
    p = xpr__malloc(sizeof(*p));
    if (p == NULL)
        return XPR_ENOMEM;
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    xpr__mutex_lock(&loop->post_lock);
    was_empty = loop->post_head == NULL;
    if (loop->post_tail != NULL)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    loop->posts_queued++;
    xpr__mutex_unlock(&loop->post_lock);
    /* one wake per batch: the loop takes the whole queue at once */
    if (was_empty)
        loop->ops->wake(loop);
    return 0;
}

int xpr__loop_run_posts(xpr_loop *loop, int *more)
{
    struct xpr__post *p;
    int stop;
    xpr__mutex_lock(&loop->post_lock);
    p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    loop->posts_queued = 0;
    stop = loop->stop_requested;
    loop->stop_requested = 0;
    xpr__mutex_unlock(&loop->post_lock);
    while (p != NULL) {
        struct xpr__post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
    xpr__mutex_lock(&loop->post_lock);
    *more = loop->post_head != NULL;
    xpr__mutex_unlock(&loop->post_lock);
    return stop;
}
