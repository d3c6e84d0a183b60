/* Winsock and Win32 codes -> XPR_E*, the Windows half of the error table
 * (portable/error.c). */
#ifndef XPR_ERRORS_H
#define XPR_ERRORS_H

#include "xpr_winsock.h"

/* What Wine reports for I/O pending on a socket that was closed. */
#ifndef ERROR_HANDLES_CLOSED
#define ERROR_HANDLES_CLOSED 676L
#endif

/* ERROR_UNEXP_NET_ERR is what a failed AcceptEx reports under Wine for a
 * connection reset while it waited in the backlog (Windows reports
 * ERROR_NETNAME_DELETED); the connection is gone, not the listener.
 * ERROR_NO_SYSTEM_RESOURCES is what STATUS_INSUFFICIENT_RESOURCES (too much
 * locked memory for pending overlapped I/O) becomes in Win32 terms. */
#define XPR__OS_ERROR_MAP(X)                                                   \
    X(WSAEINVAL, XPR_EINVAL)                                                   \
    X(WSAEFAULT, XPR_EINVAL)                                                   \
    X(WSAENOTSOCK, XPR_EINVAL)                                                 \
    X(WSA_INVALID_PARAMETER, XPR_EINVAL)                                       \
    X(WSAEWOULDBLOCK, XPR_EAGAIN)                                              \
    X(WSAEINPROGRESS, XPR_EAGAIN)                                              \
    X(WSAEALREADY, XPR_EAGAIN)                                                 \
    X(WSAEADDRINUSE, XPR_EADDRINUSE)                                           \
    X(WSAEADDRNOTAVAIL, XPR_EADDRNOTAVAIL)                                     \
    X(WSAECONNREFUSED, XPR_ECONNREFUSED)                                       \
    X(ERROR_CONNECTION_REFUSED, XPR_ECONNREFUSED)                              \
    X(WSAECONNRESET, XPR_ECONNRESET)                                           \
    X(ERROR_NETNAME_DELETED, XPR_ECONNRESET)                                   \
    X(WSAECONNABORTED, XPR_ECONNABORTED)                                       \
    X(ERROR_CONNECTION_ABORTED, XPR_ECONNABORTED)                              \
    X(ERROR_REQUEST_ABORTED, XPR_ECONNABORTED)                                 \
    X(ERROR_UNEXP_NET_ERR, XPR_ECONNABORTED)                                   \
    X(WSAETIMEDOUT, XPR_ETIMEDOUT)                                             \
    X(ERROR_SEM_TIMEOUT, XPR_ETIMEDOUT)                                        \
    X(WSAENETUNREACH, XPR_ENETUNREACH)                                         \
    X(ERROR_NETWORK_UNREACHABLE, XPR_ENETUNREACH)                              \
    X(WSAEHOSTUNREACH, XPR_EHOSTUNREACH)                                       \
    X(ERROR_HOST_UNREACHABLE, XPR_EHOSTUNREACH)                                \
    X(WSAEMFILE, XPR_EMFILE)                                                   \
    X(WSAENOBUFS, XPR_ENOBUFS)                                                 \
    X(ERROR_NO_SYSTEM_RESOURCES, XPR_ENOBUFS)                                  \
    X(WSA_NOT_ENOUGH_MEMORY, XPR_ENOMEM)                                       \
    X(WSAESHUTDOWN, XPR_EPIPE)                                                 \
    X(WSAEACCES, XPR_EACCES)                                                   \
    X(ERROR_ACCESS_DENIED, XPR_EACCES)                                         \
    X(WSA_OPERATION_ABORTED, XPR_ECANCELED)                                    \
    X(ERROR_HANDLES_CLOSED, XPR_ECANCELED)                                     \
    X(WSAEAFNOSUPPORT, XPR_EAFNOSUPPORT)                                       \
    X(WSAEOPNOTSUPP, XPR_ENOTSUP)

#endif
