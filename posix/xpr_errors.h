/* errno -> XPR_E*, the POSIX half of the error table (portable/error.c). */
#ifndef XPR_ERRORS_H
#define XPR_ERRORS_H

#include <errno.h>

/* EWOULDBLOCK is EAGAIN on most systems; where it is not, it is one more
 * row. */
#if EWOULDBLOCK != EAGAIN
#define XPR_EWOULDBLOCK_ROW_(X) X(EWOULDBLOCK, XPR_EAGAIN)
#else
#define XPR_EWOULDBLOCK_ROW_(X)
#endif

#define XPR__OS_ERROR_MAP(X)                                                   \
    XPR_EWOULDBLOCK_ROW_(X)                                                    \
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

#endif
