/* The back ends of a Windows build. The first row is the default. */
#include "backend.h"
#include "platform_backends.h"

#ifdef XPR_HAVE_LIBEVENT
#include "base.h" /* XPR__LEVENT_IOCP */
#include "libevent_backends.h"
#endif

extern const struct xpr_poller_ops xpr__select_poller;
extern const struct xpr_poller_ops xpr__eventselect_poller;
extern const struct xpr_poller_ops xpr__asyncselect_poller;
extern const struct xpr_backend_ops xpr__completion_ops;

const struct xpr_backend_entry xpr__platform_backends[] = {
    /* the completion engine; variant = enum xpr__harvester_kind */
    {"iocp", &xpr__completion_ops, NULL, 1, 0},
    {"overlapped", &xpr__completion_ops, NULL, 0, 1},
    {"completion-routine", &xpr__completion_ops, NULL, 0, 2},
    {"select", &xpr__stream_ops, &xpr__select_poller, 0, 0},
    {"eventselect", &xpr__stream_ops, &xpr__eventselect_poller, 0, 0},
    {"asyncselect", &xpr__stream_ops, &xpr__asyncselect_poller, 0, 0},
#ifdef XPR_HAVE_LIBEVENT
    {"libevent", &xpr__stream_ops, &xpr__libevent_poller, 0, 0},
    {"libevent-bev", &xpr__bev_ops, NULL, 0, 0},
    {"libevent-iocp", &xpr__bev_ops, NULL, 0, XPR__LEVENT_IOCP},
#endif
};

const size_t xpr__platform_backend_count =
    sizeof(xpr__platform_backends) / sizeof(xpr__platform_backends[0]);

const char *xpr__platform_default_backend(void)
{
    return xpr__platform_backends[0].name;
}
