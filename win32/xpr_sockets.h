/* Winsock for the files the platforms share: its one include point, and
 * what the socket layer (portable/sock.c) needs that BSD sockets spell
 * differently. */
#ifndef XPR_SOCKETS_H
#define XPR_SOCKETS_H

#include "xpr_winsock.h"

#include "xpr_sys.h"

#define XPR__SOCK_ERRNO WSAGetLastError()
#define XPR__SOCK_SET_ERRNO(code) WSASetLastError(code)
/* Non-blocking calls are not interrupted. */
#define XPR__SOCK_INTERRUPTED() 0
#define XPR__SOCK_NOT_CONNECTED WSAENOTCONN

/* WSA_FLAG_OVERLAPPED: every back end can use the socket;
 * WSA_FLAG_NO_HANDLE_INHERIT: no leak into child processes. */
#define XPR__SOCK_NEW(family)                                                  \
    WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,                      \
               WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT)
#define XPR__SOCK_CLOSE(s) closesocket(s)
/* SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows the latter lets another
 * process bind the same port and steal connections. */
#define XPR__SOCK_REUSE_OPTION SO_EXCLUSIVEADDRUSE
#define XPR__SOCK_SHUT_SEND SD_SEND

/* What an injected fault (portable/fault.h) fails a call with, as Winsock
 * documents for it: WSAENETDOWN is the one error documented for all of
 * ioctlsocket, setsockopt and WSAIoctl. */
#define XPR__SOCK_FAULT_EMFILE WSAEMFILE         /* WSASocket, accept */
#define XPR__SOCK_FAULT_EADDRINUSE WSAEADDRINUSE /* bind */
#define XPR__SOCK_FAULT_ENOBUFS WSAENOBUFS       /* listen, connect, WSASend */
#define XPR__SOCK_FAULT_RECV WSAENOBUFS
#define XPR__SOCK_FAULT_OPTION WSAENETDOWN

/* win32/sock.c. Each returns what the Winsock call does: SOCKET_ERROR (-1)
 * with the thread's error set on failure. */
/* Non-blocking and not inherited, for sockets made or accepted. */
int xpr__sock_os_own(xpr_socket_t s);
/* WSASend of up to XPR__SEND_RUNS runs: bytes sent or -1. */
long xpr__sock_os_sendv(xpr_socket_t s, const void *const *bases,
                        const size_t *lens, size_t count);
/* SIO_KEEPALIVE_VALS: on when idle_ms is not 0, timings in milliseconds. */
int xpr__sock_os_keepalive(xpr_socket_t s, uint32_t idle_ms,
                           uint32_t interval_ms);

#endif
