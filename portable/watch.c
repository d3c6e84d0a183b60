/* Watchers of sockets the application owns: the public calls, the
 * reference count that keeps xpr_loop_run running, and the callback. The
 * back end watches (backend.h, watch_set / watch_release): the readiness
 * engine through its poller (portable/stream_watch.c), libevent-bev with
 * a libevent event (libevent/watch.c), the completion engine with
 * IOCTL_AFD_POLL (win32/completion/afd_poll.c). */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "sock_models.h"

#define ALL_EVENTS (XPR_READABLE | XPR_WRITABLE)

/* Whether w keeps xpr_loop_run running. */
static int counted(const xpr_watch *w)
{
    return w->events != 0 && !w->unref;
}

/* Keeps loop->referenced_watchers in step after w changed. */
static void count_ref(xpr_watch *w, int counted_before)
{
    xpr__recount(&w->loop->referenced_watchers, counted_before, counted(w));
}

void xpr__watch_fire(xpr_watch *w, unsigned events, int status)
{
    if (w->events == 0)
        return;
    events = status != 0 ? w->events : events & w->events;
    if (events != 0)
        w->cb(w, events, status, w->arg); /* w may be freed */
}

int xpr_watch_new(xpr_loop *loop, xpr_os_socket sock, xpr_watch_cb cb,
                  void *arg, xpr_watch **out)
{
    xpr_watch *w;
    int rc =
        xpr__loop_check_new(loop, cb != NULL && out != NULL &&
                                      xpr__sock_is_open((xpr_socket_t)sock));
    if (rc != 0)
        return rc;
    if (loop->ops->watch_set == NULL)
        return XPR_ENOTSUP;
    w = xpr__calloc(1, loop->ops->watch_size);
    if (w == NULL)
        return XPR_ENOMEM;
    w->loop = loop;
    w->cb = cb;
    w->arg = arg;
    w->sock = (xpr_socket_t)sock;
    xpr__list_push_back(&loop->watchers, &w->link);
    *out = w;
    return 0;
}

int xpr_watch_start(xpr_watch *w, unsigned events)
{
    int rc, before;
    if (w == NULL || events == 0 || (events & ~(unsigned)ALL_EVENTS) != 0)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(w->loop);
    if (rc != 0)
        return rc;
    rc = w->loop->ops->watch_set(w, events); /* the same set: armed again */
    if (rc != 0)
        return rc;
    before = counted(w);
    w->events = events;
    count_ref(w, before);
    return 0;
}

static void stop(xpr_watch *w)
{
    int before = counted(w);
    if (w->events == 0)
        return;
    w->loop->ops->watch_set(w, 0); /* removing interest does not fail */
    w->events = 0;
    count_ref(w, before);
}

int xpr_watch_stop(xpr_watch *w)
{
    int rc = w == NULL ? XPR_EINVAL : xpr__loop_check_thread(w->loop);
    if (rc == 0)
        stop(w);
    return rc;
}

void xpr_watch_free(xpr_watch *w)
{
    if (w == NULL || xpr__loop_check_thread(w->loop) != 0)
        return;
    stop(w);
    xpr__list_remove(&w->link);
    w->loop->ops->watch_release(w);
}

static int set_unref(xpr_watch *w, int unref)
{
    int rc, before;
    if (w == NULL)
        return XPR_EINVAL;
    rc = xpr__loop_check_thread(w->loop);
    if (rc != 0)
        return rc;
    before = counted(w);
    w->unref = (unsigned char)unref;
    count_ref(w, before);
    return 0;
}

int xpr_watch_unref(xpr_watch *w)
{
    return set_unref(w, 1);
}

int xpr_watch_ref(xpr_watch *w)
{
    return set_unref(w, 0);
}

void xpr__watchers_loop_free(xpr_loop *loop)
{
    struct xpr__link *link;
    while ((link = xpr__list_first(&loop->watchers)) != NULL)
        xpr_watch_free(XPR__CONTAINER(link, xpr_watch, link));
}
