/* The back ends a platform offers (posix/backends.c, win32/backends.c), and
 * the tables their rows name. */
#ifndef XPR_PLATFORM_BACKENDS_H
#define XPR_PLATFORM_BACKENDS_H

#include <stddef.h>

struct xpr_backend_entry;
struct xpr_backend_ops;
struct xpr_poller_ops;
struct xpr__udp_ops;

/* The first row is the default: the back end used when neither the config
 * nor XPR_BACKEND names one. */
extern const struct xpr_backend_entry xpr__platform_backends[];
extern const size_t xpr__platform_backend_count;

/* The readiness engine (portable/stream.c) and its pollers: posix/poll.c,
 * win32/readiness/, libevent/poller.c. */
extern const struct xpr_backend_ops xpr__stream_ops;
extern const struct xpr_poller_ops xpr__poll_poller;
extern const struct xpr_poller_ops xpr__select_poller;
extern const struct xpr_poller_ops xpr__eventselect_poller;
extern const struct xpr_poller_ops xpr__asyncselect_poller;
extern const struct xpr_poller_ops xpr__libevent_poller;
/* The completion engine (win32/completion/). */
extern const struct xpr_backend_ops xpr__completion_ops;
/* libevent-bev: evconnlistener + bufferevents, libevent's own idiom
 * (libevent/bev.c). */
extern const struct xpr_backend_ops xpr__bev_ops;
/* Its UDP: the readiness transport on libevent's events (libevent/udp.c). */
extern const struct xpr__udp_ops xpr__bev_udp_ops;
/* The polling poller under it (portable/nonblocking.c). */
extern const struct xpr_poller_ops xpr__nonblocking_poller;
/* Thread per connection (portable/blocking/). */
extern const struct xpr_backend_ops xpr__blocking_ops;

#endif
