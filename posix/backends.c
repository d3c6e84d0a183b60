/* The back ends of a POSIX build. The first row is the default. */
#include "backend.h"
#include "platform_backends.h"

const struct xpr_backend_entry xpr__platform_backends[] = {
#ifdef XPR_HAVE_LIBEVENT
    {.name = "libevent",
     .ops = &xpr__stream_ops,
     .poller = &xpr__libevent_poller},
    {.name = "libevent-bev", .ops = &xpr__bev_ops},
#endif
    {.name = "poll", .ops = &xpr__stream_ops, .poller = &xpr__poll_poller},
    {.name = "nonblocking",
     .ops = &xpr__stream_ops,
     .poller = &xpr__nonblocking_poller},
    {.name = "blocking", .ops = &xpr__blocking_ops},
};

const size_t xpr__platform_backend_count =
    sizeof(xpr__platform_backends) / sizeof(xpr__platform_backends[0]);
