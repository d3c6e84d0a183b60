/* The back ends a platform offers: posix/backends.c or win32/backends.c. */
#ifndef XPR_PLATFORM_BACKENDS_H
#define XPR_PLATFORM_BACKENDS_H

#include <stddef.h>

struct xpr_backend_entry;

/* The first row is the default: the back end used when neither the config
 * nor XPR_BACKEND names one. */
extern const struct xpr_backend_entry xpr__platform_backends[];
extern const size_t xpr__platform_backend_count;

/* The shared readiness engine's ops (portable/stream.c). */
extern const struct xpr_backend_ops xpr__stream_ops;

#endif
