/* The libevent back ends, as the registry rows (posix/backends.c,
 * win32/backends.c) name them. Built when XPR_HAVE_LIBEVENT is defined. */
#ifndef XPR_LIBEVENT_BACKENDS_H
#define XPR_LIBEVENT_BACKENDS_H

struct xpr_backend_ops;
struct xpr_poller_ops;

/* "libevent": the readiness poller under the shared stream engine. */
extern const struct xpr_poller_ops xpr__libevent_poller;
/* "libevent-bev": evconnlistener + bufferevents, libevent's own idiom. */
extern const struct xpr_backend_ops xpr__bev_ops;

#endif
