/* The back ends of a Windows build. The first row is the default. */
#include "backend.h"
#include "platform_backends.h"

#ifdef XPR_HAVE_LIBEVENT
#include "base.h" /* XPR__LEVENT_IOCP */
#endif

const struct xpr_backend_entry xpr__platform_backends[] = {
    /* the completion engine; variant = enum xpr__harvester_kind */
    {.name = "iocp",
     .ops = &xpr__completion_ops,
     .flags = XPR__BACKEND_WORKERS,
     .variant = 0},
    {.name = "overlapped", .ops = &xpr__completion_ops, .variant = 1},
    {.name = "completion-routine", .ops = &xpr__completion_ops, .variant = 2},
    /* the readiness engine */
    {.name = "select", .ops = &xpr__stream_ops, .poller = &xpr__select_poller},
    {.name = "eventselect",
     .ops = &xpr__stream_ops,
     .poller = &xpr__eventselect_poller},
    {.name = "asyncselect",
     .ops = &xpr__stream_ops,
     .poller = &xpr__asyncselect_poller},
    {.name = "nonblocking",
     .ops = &xpr__stream_ops,
     .poller = &xpr__nonblocking_poller},
    {.name = "blocking", .ops = &xpr__blocking_ops},
#ifdef XPR_HAVE_LIBEVENT
    {.name = "libevent",
     .ops = &xpr__stream_ops,
     .poller = &xpr__libevent_poller},
    {.name = "libevent-bev", .ops = &xpr__bev_ops},
    {.name = "libevent-iocp",
     .ops = &xpr__bev_ops,
     .variant = XPR__LEVENT_IOCP},
#endif
};

const size_t xpr__platform_backend_count =
    sizeof(xpr__platform_backends) / sizeof(xpr__platform_backends[0]);
