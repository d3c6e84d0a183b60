/* The back ends a platform offers: posix/backends.c or win32/backends.c. */
#ifndef XPR_PLATFORM_BACKENDS_H
#define XPR_PLATFORM_BACKENDS_H

#include <stddef.h>

struct xpr_backend_entry;

extern const struct xpr_backend_entry xpr__platform_backends[];
extern const size_t xpr__platform_backend_count;
/* The name used when neither the config nor XPR_BACKEND names one. */
const char *xpr__platform_default_backend(void);

/* The shared readiness engine's ops (portable/stream.c). */
extern const struct xpr_backend_ops xpr__stream_ops;
/* The polling poller under it (portable/nonblocking.c). */
extern const struct xpr_poller_ops xpr__nonblocking_poller;
/* Thread per connection (portable/blocking/). */
extern const struct xpr_backend_ops xpr__blocking_ops;

#endif
