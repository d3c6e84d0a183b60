/* errno -> XPR_E*, the POSIX half of the error table. */
#include <errno.h>

#include "xpr.h"

int xpr__os_error_map(int os_code);

#define XPR_ERRNO_MAP(X)                                                       \
    X(EINVAL, XPR_EINVAL)                                                      \
    X(ENOMEM, XPR_ENOMEM)                                                      \
    X(EAGAIN, XPR_EAGAIN)                                                      \
    X(EINPROGRESS, XPR_EAGAIN)                                                 \
    X(EADDRINUSE, XPR_EADDRINUSE)                                              \
    X(EADDRNOTAVAIL, XPR_EADDRNOTAVAIL)                                        \
    X(ECONNREFUSED, XPR_ECONNREFUSED)                                          \
    X(ECONNRESET, XPR_ECONNRESET)                                              \
    X(ECONNABORTED, XPR_ECONNABORTED)                                          \
    X(ETIMEDOUT, XPR_ETIMEDOUT)                                                \
    X(ENETUNREACH, XPR_ENETUNREACH)                                            \
    X(EHOSTUNREACH, XPR_EHOSTUNREACH)                                          \
    X(EMFILE, XPR_EMFILE)                                                      \
    X(ENFILE, XPR_EMFILE)                                                      \
    X(ENOBUFS, XPR_ENOBUFS)                                                    \
    X(EPIPE, XPR_EPIPE)                                                        \
    X(EACCES, XPR_EACCES)                                                      \
    X(EPERM, XPR_EACCES)                                                       \
    X(ECANCELED, XPR_ECANCELED)                                                \
    X(EAFNOSUPPORT, XPR_EAFNOSUPPORT)                                          \
    X(EOPNOTSUPP, XPR_ENOTSUP)

int xpr__os_error_map(int os_code)
{
#if EWOULDBLOCK != EAGAIN
    if (os_code == EWOULDBLOCK)
        return XPR_EAGAIN;
#endif
    switch (os_code) {
#define XPR_ERRNO_CASE_(os, xpr)                                               \
    case os:                                                                   \
        return xpr;
        XPR_ERRNO_MAP(XPR_ERRNO_CASE_)
#undef XPR_ERRNO_CASE_
    }
    return XPR_EIO;
}
