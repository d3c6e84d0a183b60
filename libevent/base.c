/*
 * The event_base both libevent back ends run on, and xpr timers on evtimers
 * (libevent-bev; the libevent poller runs timers on the core's heap).
 *
 * libevent quirks handled here:
 *   1. Threading must be switched on (evthread_use_pthreads, on Windows
 *      evthread_use_windows_threads) before the first event_base exists:
 *      only then does a base get its lock and its own notification, which
 *      is what makes event_active() from another thread wake a blocked
 *      dispatch. Done once per process, whichever loop comes first.
 *   2. No EVENT_BASE_FLAG_IGNORE_ENV: EVENT_NOEPOLL, EVENT_NOPOLL, ... pick
 *      the method, which is how the suite runs on epoll, poll and select.
 *   3. By default a base reads CLOCK_MONOTONIC_COARSE (1-4 ms steps), so an
 *      evtimer could fire a few ms early: evtimers need
 *      EVENT_BASE_FLAG_PRECISE_TIMER (XPR__LEVENT_EVTIMERS), which the
 *      libevent poller leaves off (docs/design.md, "Timers, posts and
 *      wakeups").
 *   4. event_add() measures a timeout from the time cached at the start of
 *      the pass; armed from a slow callback, a timer would fire early.
 *      event_base_update_cache_time() first.
 *   5. The timer min-heap keeps no order among equal deadlines, while xpr
 *      promises that timers due together run in the order started. Two
 *      arms in the same microsecond would tie: the clock is made to move
 *      at least 2 us between arms (a spin only when arms come faster).
 *   6. event_base_loop() with nothing registered returns at once unless
 *      EVLOOP_NO_EXIT_ON_EMPTY; a wait without a deadline must block until
 *      woken. EVLOOP_ONCE returns only after a non-internal callback ran:
 *      libevent's notification event is internal, so the wake event is an
 *      ordinary one. EVLOOP_NONBLOCK alone loops until a dispatch finds
 *      nothing; with EVLOOP_ONCE it is one bounded pass.
 *   7. event_active() on an event that was never added is allowed; several
 *      wakes before the loop gets to it collapse into one callback.
 *   8. The POSIX "select" method (EVENT_NOEPOLL=1 EVENT_NOPOLL=1) sizes its
 *      fd_sets at run time, but distributions build libevent with
 *      _FORTIFY_SOURCE, whose FD_SET() aborts the process for a descriptor
 *      at or above FD_SETSIZE. Such a descriptor is refused with XPR_EMFILE
 *      before it reaches the base (fd_limit). The Windows "win32" method
 *      has no such limit.
 */
#include "base.h"

#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "alloc.h"
#include "fault.h"

#ifndef _WIN32
#include <netinet/in.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#endif

/* Far enough (34 years) and no time_t overflow where tv_sec is 32 bits. */
#define MAX_TIMEOUT_SEC ((long)1 << 30)

static xpr__once_flag threads_once = XPR__ONCE_INIT;
static int threads_result;

static void use_threads(void)
{
#ifdef _WIN32
    int rc = evthread_use_windows_threads();
#else
    int rc = evthread_use_pthreads();
#endif
    threads_result = rc == 0 ? 0 : XPR_ENOMEM;
}

static int use_threads_once(void)
{
    xpr__call_once(&threads_once, use_threads);
    return threads_result;
}

static void wake_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg; /* its only job was to end event_base_loop */
}

static struct event_base *base_new(unsigned flags)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;
    if (cfg == NULL)
        return NULL;
    if (flags & XPR__LEVENT_EVTIMERS)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    if (flags & XPR__LEVENT_IOCP)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_STARTUP_IOCP);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

int xpr__levent_new(unsigned flags, struct xpr__levent **out)
{
    struct xpr__levent *lv;
    int rc = use_threads_once();
    if (rc != 0)
        return rc;
    lv = xpr__calloc(1, sizeof(*lv));
    if (lv == NULL)
        return XPR_ENOMEM;
    lv->flags = flags;
    lv->base = base_new(flags);
    if (lv->base == NULL) {
        free(lv);
        return XPR_ENOMEM;
    }
#ifndef _WIN32
    if (strcmp(event_base_get_method(lv->base), "select") == 0)
        lv->fd_limit = FD_SETSIZE;
#endif
    lv->wake_ev = event_new(lv->base, -1, 0, wake_fired, NULL);
    lv->timeout_ev = evtimer_new(lv->base, wake_fired, NULL);
    lv->clock = evutil_monotonic_timer_new();
    if (lv->wake_ev == NULL || lv->timeout_ev == NULL || lv->clock == NULL ||
        evutil_configure_monotonic_time(lv->clock, EV_MONOT_PRECISE) != 0) {
        xpr__levent_free(lv);
        return XPR_ENOMEM;
    }
    *out = lv;
    return 0;
}

void xpr__levent_free(struct xpr__levent *lv)
{
    if (lv == NULL)
        return;
    if (lv->wake_ev != NULL)
        event_free(lv->wake_ev);
    if (lv->timeout_ev != NULL)
        event_free(lv->timeout_ev);
    if (lv->clock != NULL)
        evutil_monotonic_timer_free(lv->clock);
    event_base_free(lv->base); /* runs bufferevent finalizers */
    free(lv);
}

static void ms_to_timeval(uint64_t ms, struct timeval *tv)
{
    uint64_t sec = ms / 1000;
    if (sec > (uint64_t)MAX_TIMEOUT_SEC)
        sec = (uint64_t)MAX_TIMEOUT_SEC;
    tv->tv_sec = (long)sec;
    tv->tv_usec = (long)(ms % 1000) * 1000;
}

int xpr__levent_run(struct xpr__levent *lv, int timeout_ms)
{
    int flags = EVLOOP_ONCE;
    int rc;
    if (xpr__fault(XPR__FAULT_WAIT))
        return XPR_ENOMEM;
    if (timeout_ms == 0) {
        flags |= EVLOOP_NONBLOCK;
    } else if (timeout_ms < 0) {
        flags |= EVLOOP_NO_EXIT_ON_EMPTY;
    } else {
        struct timeval tv;
        ms_to_timeval((uint64_t)timeout_ms, &tv);
        if (event_add(lv->timeout_ev, &tv) != 0)
            return XPR_ENOMEM;
    }
    rc = event_base_loop(lv->base, flags);
    if (timeout_ms > 0)
        event_del(lv->timeout_ev);
    return rc < 0 ? XPR_EIO : 0;
}

void xpr__levent_wake(struct xpr__levent *lv)
{
    event_active(lv->wake_ev, EV_READ, 0);
}

/* ---- timers ---- */

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    xpr__timer_expired(arg);
}

/* Quirks 4 and 5: libevent's idea of now must be fresh and later than the
 * one used by the previous arm. The base reads the same monotonic source
 * after this returns; 2 us of our reading is at least 1 us of its own. */
static void advance_now(struct xpr__levent *lv)
{
    struct timeval now, since;
    do {
        evutil_gettime_monotonic(lv->clock, &now);
        evutil_timersub(&now, &lv->last_arm, &since);
    } while (since.tv_sec == 0 && since.tv_usec < 2);
    event_base_update_cache_time(lv->base);
}

int xpr__levent_timer_arm(xpr_timer *t, uint64_t timeout_ms)
{
    struct xpr__levent *lv = t->loop->backend;
    struct event *ev = t->backend_timer;
    struct timeval tv;
    if (ev == NULL) {
        ev = evtimer_new(lv->base, timer_fired, t);
        if (ev == NULL)
            return XPR_ENOMEM;
        t->backend_timer = ev;
    }
    ms_to_timeval(timeout_ms, &tv);
    advance_now(lv);
    if (event_add(ev, &tv) != 0)
        return XPR_ENOMEM;
    evutil_gettime_monotonic(lv->clock, &lv->last_arm);
    return 0;
}

void xpr__levent_timer_disarm(xpr_timer *t)
{
    if (t->backend_timer != NULL)
        event_del(t->backend_timer);
}

void xpr__levent_timer_release(xpr_timer *t)
{
    if (t->backend_timer != NULL) {
        event_free(t->backend_timer); /* safe inside its own callback */
        t->backend_timer = NULL;
    }
}

/* ---- sockets ---- */

void xpr__levent_ignore_sigpipe(void)
{
#ifndef _WIN32
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
#endif
}
