/* Back-end registry: names -> ops. The platform supplies its rows
 * (posix/backends.c, win32/backends.c); this file knows every name xpr has
 * anywhere, so that a name this build lacks is XPR_ENOTSUP, not unknown. */
#include <string.h>

#include "backend.h"
#include "platform_backends.h"

static const char *const known_backends[] = {
    "libevent",    "libevent-bev", "libevent-iocp",
    "poll",        "select",       "eventselect",
    "asyncselect", "overlapped",   "completion-routine",
    "iocp",        "blocking",     "nonblocking",
};

const struct xpr_backend_entry *xpr__backend_find(const char *name)
{
    size_t i;
    for (i = 0; i < xpr__platform_backend_count; i++)
        if (strcmp(xpr__platform_backends[i].name, name) == 0)
            return &xpr__platform_backends[i];
    return NULL;
}

size_t xpr_backend_count(void)
{
    return xpr__platform_backend_count;
}

const char *xpr_backend_name_at(size_t index)
{
    return index < xpr__platform_backend_count
               ? xpr__platform_backends[index].name
               : NULL;
}

int xpr_backend_supported(const char *name)
{
    size_t i;
    if (name == NULL)
        return XPR_EINVAL;
    if (xpr__backend_find(name) != NULL)
        return 0;
    for (i = 0; i < sizeof(known_backends) / sizeof(known_backends[0]); i++)
        if (strcmp(known_backends[i], name) == 0)
            return XPR_ENOTSUP;
    return XPR_EINVAL;
}

const char *xpr_backend_default(void)
{
    return xpr__platform_backends[0].name;
}
