/*
 * Signal watchers (docs/design.md, "Signals"): the platform calls
 * xpr__signal_raised on a thread of its own, and this file posts it to
 * every loop with a watcher for it.
 *
 * Two locks. list_lock guards the list of watchers and their counts; the
 * platform's thread takes only it. setup_lock serialises xpr_signal_new,
 * xpr_signal_free and xpr__signals_loop_free around the platform's start,
 * stop, watch and unwatch, which run with list_lock released: stopping
 * the platform joins its thread, which may be waiting for list_lock.
 *
 * A watcher lives while it is in the list or a post carrying it is queued:
 * refs counts both, under list_lock, and the last reference frees it.
 */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "signals.h"

struct xpr_signal {
    xpr_loop *loop;
    xpr_signal_cb cb;
    void *arg;
    int signum;
    int active;               /* in the list: its callback may run */
    unsigned char referenced; /* xpr_signal_ref: keeps xpr_loop_run going */
    unsigned refs; /* the list's (while active) + one per queued post */
    struct xpr_signal *next;
};

static xpr__once_flag locks_once = XPR__ONCE_INIT;
static xpr__mutex list_lock, setup_lock;
static struct xpr_signal *watchers;

static void init_locks(void)
{
    xpr__mutex_init(&list_lock);
    xpr__mutex_init(&setup_lock);
}

static void lock_setup(void)
{
    xpr__call_once(&locks_once, init_locks);
    xpr__mutex_lock(&setup_lock);
}

/* Watchers of signum in the list (any signum when signum is 0). */
static unsigned count_watchers(int signum)
{
    const struct xpr_signal *s;
    unsigned n = 0;
    for (s = watchers; s != NULL; s = s->next)
        n += signum == 0 || s->signum == signum;
    return n;
}

/* Under list_lock. */
static void drop_ref(struct xpr_signal *s)
{
    if (--s->refs == 0)
        free(s);
}

/* Under list_lock: takes s out of the list and drops the list's
 * reference. */
static void unlink_watcher(struct xpr_signal *s)
{
    struct xpr_signal **at = &watchers;
    while (*at != s)
        at = &(*at)->next;
    *at = s->next;
    s->active = 0;
    drop_ref(s);
}

static const int signums[] = {XPR_SIGHUP, XPR_SIGINT, XPR_SIGTERM};
#define SIGNUMS (sizeof(signums) / sizeof(signums[0]))

/* Under setup_lock, after watchers left the list: removed[i] says whether
 * watchers of signums[i] did. The list changes only under setup_lock. */
static void release_platform(const int removed[SIGNUMS])
{
    size_t i;
    int any = 0;
    for (i = 0; i < SIGNUMS; i++) {
        any |= removed[i];
        if (removed[i] && count_watchers(signums[i]) == 0)
            xpr__signal_platform_unwatch(signums[i]);
    }
    if (any && count_watchers(0) == 0)
        xpr__signal_platform_stop();
}

static size_t index_of(int signum)
{
    size_t i = 0;
    while (signums[i] != signum)
        i++;
    return i;
}

/* On the loop's thread. */
static void deliver(void *arg)
{
    struct xpr_signal *s = arg;
    int active;
    xpr__mutex_lock(&list_lock);
    active = s->active;
    xpr__mutex_unlock(&list_lock);
    /* Only the loop's thread frees a watcher: s stays active until cb or
     * a later call of this thread frees it. */
    if (active)
        s->cb(s, s->signum, s->arg);
    xpr__mutex_lock(&list_lock);
    drop_ref(s);
    xpr__mutex_unlock(&list_lock);
}

int xpr__signal_raised(int signum)
{
    struct xpr_signal *s;
    int heard = 0;
    xpr__call_once(&locks_once, init_locks);
    xpr__mutex_lock(&list_lock);
    for (s = watchers; s != NULL; s = s->next) {
        if (s->signum != signum)
            continue;
        heard = 1;
        s->refs++;
        if (xpr_loop_post(s->loop, deliver, s) != 0)
            s->refs--; /* out of memory: this loop misses the signal */
    }
    xpr__mutex_unlock(&list_lock);
    return heard;
}

int xpr_signal_new(xpr_loop *loop, int signum, xpr_signal_cb cb, void *arg,
                   xpr_signal **out)
{
    struct xpr_signal *s;
    int rc = xpr__loop_check_new(loop, cb != NULL && out != NULL &&
                                           (signum == XPR_SIGHUP ||
                                            signum == XPR_SIGINT ||
                                            signum == XPR_SIGTERM));
    if (rc != 0)
        return rc;
    s = xpr__calloc(1, sizeof(*s));
    if (s == NULL)
        return XPR_ENOMEM;
    s->loop = loop;
    s->cb = cb;
    s->arg = arg;
    s->signum = signum;
    s->active = 1;
    s->refs = 1;
    lock_setup();
    if (count_watchers(0) == 0)
        rc = xpr__signal_platform_start();
    if (rc == 0 && count_watchers(signum) == 0) {
        rc = xpr__signal_platform_watch(signum);
        if (rc != 0 && count_watchers(0) == 0)
            xpr__signal_platform_stop();
    }
    if (rc == 0) {
        xpr__mutex_lock(&list_lock);
        s->next = watchers;
        watchers = s;
        xpr__mutex_unlock(&list_lock);
    }
    xpr__mutex_unlock(&setup_lock);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static int set_referenced(xpr_signal *s, int referenced)
{
    int rc = s == NULL ? XPR_EINVAL : xpr__loop_check_thread(s->loop);
    if (rc != 0 || s->referenced == referenced)
        return rc;
    xpr__recount(&s->loop->referenced_signals, s->referenced, referenced);
    s->referenced = (unsigned char)referenced;
    return 0;
}

int xpr_signal_ref(xpr_signal *s)
{
    return set_referenced(s, 1);
}

int xpr_signal_unref(xpr_signal *s)
{
    return set_referenced(s, 0);
}

void xpr_signal_free(xpr_signal *s)
{
    int removed[SIGNUMS] = {0};
    if (s == NULL)
        return;
    set_referenced(s, 0);
    removed[index_of(s->signum)] = 1;
    lock_setup();
    xpr__mutex_lock(&list_lock);
    unlink_watcher(s); /* s may be gone now */
    xpr__mutex_unlock(&list_lock);
    release_platform(removed);
    xpr__mutex_unlock(&setup_lock);
}

void xpr__signals_loop_free(xpr_loop *loop)
{
    int removed[SIGNUMS] = {0};
    struct xpr_signal *s, *next;
    lock_setup();
    xpr__mutex_lock(&list_lock);
    for (s = watchers; s != NULL; s = next) {
        next = s->next;
        if (s->loop == loop) {
            removed[index_of(s->signum)] = 1;
            unlink_watcher(s);
        }
    }
    xpr__mutex_unlock(&list_lock);
    release_platform(removed);
    xpr__mutex_unlock(&setup_lock);
}
