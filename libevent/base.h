/*
 * What the libevent back ends share (libevent/base.c): one event_base per
 * loop, kept in loop->poller_state by the poller (poller.c) and in
 * loop->backend by the bufferevent back end (bev.c).
 */
#ifndef XPR_LIBEVENT_BASE_H
#define XPR_LIBEVENT_BASE_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/util.h>

#include "backend.h"

/* xpr__levent_new flags */
enum {
    /* EVENT_BASE_FLAG_STARTUP_IOCP: bufferevents and listeners use
     * overlapped I/O (Windows, libevent-iocp). */
    XPR__LEVENT_IOCP = 1u << 0,
    /* EVENT_BASE_FLAG_PRECISE_TIMER, for xpr timers on evtimers (quirk 3
     * of base.c) */
    XPR__LEVENT_EVTIMERS = 1u << 1
};

struct xpr__levent {
    struct event_base *base;
    unsigned flags;
    struct event *wake_ev;    /* made active by wake(); never added */
    struct event *timeout_ev; /* ends a wait with a positive timeout */
    struct evutil_monotonic_timer *clock;
    struct timeval last_arm; /* clock read just after the last timer arm */
    long fd_limit;           /* descriptors must stay below it; 0 = none */
};

int xpr__levent_new(unsigned flags, struct xpr__levent **out);
/* Frees the base; runs libevent's pending finalizers. Every event of the
 * caller must be gone. */
void xpr__levent_free(struct xpr__levent *lv);
/* One pass of the base: -1 blocks until something ran, 0 only polls. */
int xpr__levent_run(struct xpr__levent *lv, int timeout_ms);
/* Any thread. */
void xpr__levent_wake(struct xpr__levent *lv);

/* Timer hooks (backend.h) of a back end whose loop->backend is its
 * struct xpr__levent (libevent-bev). */
int xpr__levent_timer_arm(xpr_timer *t, uint64_t timeout_ms);
void xpr__levent_timer_disarm(xpr_timer *t);
void xpr__levent_timer_release(xpr_timer *t);

/* Watchers of application sockets of a back end whose loop->backend is its
 * struct xpr__levent (libevent-bev, libevent-iocp): libevent/watch.c. */
struct xpr__levent_watch {
    struct xpr_watch base; /* first: the core sees an xpr_watch */
    struct event *ev;
};
int xpr__levent_watch_set(xpr_watch *w, unsigned events);
void xpr__levent_watch_release(xpr_watch *w);

/* Whether the base's method can watch fd (a select method aborts on a
 * descriptor at or above FD_SETSIZE). */
static inline int xpr__levent_fd_fits(const struct xpr__levent *lv,
                                      evutil_socket_t fd)
{
    return lv->fd_limit == 0 || (long)fd < lv->fd_limit;
}

/* Ignores SIGPIPE unless the application set a handler (bev.c, quirk 10). */
void xpr__levent_ignore_sigpipe(void);

#endif
