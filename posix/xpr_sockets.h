/* BSD sockets for the files the platforms share: the headers, and what the
 * socket layer (portable/sock.c) needs that Winsock spells differently. */
#ifndef XPR_SOCKETS_H
#define XPR_SOCKETS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xpr_sys.h"

#define XPR__SOCK_ERRNO errno
#define XPR__SOCK_SET_ERRNO(code) (errno = (code))
/* A call a signal interrupted: made again. */
#define XPR__SOCK_INTERRUPTED() (errno == EINTR)
#define XPR__SOCK_NOT_CONNECTED ENOTCONN

#define XPR__SOCK_NEW(family) socket(family, SOCK_STREAM, 0)
#define XPR__SOCK_CLOSE(s) close(s)
/* A listener may bind a port whose connections are in TIME_WAIT. */
#define XPR__SOCK_REUSE_OPTION SO_REUSEADDR
#define XPR__SOCK_SHUT_SEND SHUT_WR

/* What an injected fault (portable/fault.h) fails a call with. */
#define XPR__SOCK_FAULT_EMFILE EMFILE         /* socket, accept */
#define XPR__SOCK_FAULT_EADDRINUSE EADDRINUSE /* bind */
#define XPR__SOCK_FAULT_ENOBUFS ENOBUFS       /* listen, connect, send */
#define XPR__SOCK_FAULT_RECV ENOMEM
#define XPR__SOCK_FAULT_OPTION ENOMEM /* fcntl, setsockopt */

/* posix/sock.c. Each returns what the system call does: -1 with errno set
 * on failure. */
/* Non-blocking and close-on-exec, for sockets made or accepted. */
int xpr__sock_os_own(xpr_socket_t s);
/* sendmsg of up to XPR__SEND_RUNS runs: bytes sent or -1. */
long xpr__sock_os_sendv(xpr_socket_t s, const void *const *bases,
                        const size_t *lens, size_t count);
/* SO_KEEPALIVE, and the timings where the system has them. */
int xpr__sock_os_keepalive(xpr_socket_t s, uint32_t idle_ms,
                           uint32_t interval_ms);

#endif
