/*
 * The socket layer: what the shared readiness engine and the core need from
 * the OS (portable/sock.c over the platform's xpr_sockets.h).
 * Every function returns 0 (or a byte count) on success and an XPR_E* code
 * on failure; XPR_EAGAIN means "would block".
 */
#ifndef XPR_SOCK_H
#define XPR_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "xpr_sys.h"

struct sockaddr;
struct sockaddr_storage;

/* The thread's last socket error (errno, WSAGetLastError) as XPR_E*. */
int xpr__sock_error(void);
/* One-time process setup (WSAStartup, SIGPIPE). Idempotent, thread-safe. */
int xpr__sock_global_init(void);

/* A new non-blocking TCP socket of addr's family, not inherited by child
 * processes. */
int xpr__sock_open(int family, xpr_socket_t *out);
/* struct xpr__addr -> the OS's form; returns the length to pass. */
int xpr__sock_addr_to_os(const struct xpr__addr *a,
                         struct sockaddr_storage *ss);
/* The OS's form (len bytes) -> struct xpr__addr; XPR_EAFNOSUPPORT. */
int xpr__sock_addr_from_os(const struct sockaddr *sa, size_t len,
                           struct xpr__addr *a);
/* SO_LINGER 0: the next close resets the connection. */
int xpr__sock_set_linger0(xpr_socket_t s);

/* Non-blocking listening socket bound to addr; fills *bound (real port). */
int xpr__sock_listen(const struct xpr__addr *addr, int backlog,
                     xpr_socket_t *out, struct xpr__addr *bound);
/* Non-blocking accept. XPR_EAGAIN when none is waiting, XPR_ECONNABORTED
 * when the connection it took was gone. */
int xpr__sock_accept(xpr_socket_t listener, xpr_socket_t *out);
/* The error of an accept that just failed (errno / WSAGetLastError), as
 * xpr__sock_accept reports it. */
int xpr__sock_accept_error(void);
/* Starts a non-blocking connect: 0 when connected at once, XPR_EAGAIN when
 * in progress (wait for writability, then xpr__sock_connect_result). */
int xpr__sock_connect(const struct xpr__addr *addr, xpr_socket_t *out);
/* The same on a socket already made (bound or not); s stays open. */
int xpr__sock_start_connect(xpr_socket_t s, const struct xpr__addr *addr);
/* Binds s to local (a connect's own address): no SO_REUSEADDR, so an
 * address another socket holds is XPR_EADDRINUSE. */
int xpr__sock_bind(xpr_socket_t s, const struct xpr__addr *local);
/* A socket the application hands over (xpr_conn_adopt): XPR_EINVAL unless
 * it is a connected stream socket of IPv4 or IPv6; else made non-blocking
 * and not inherited, as xpr's own. s stays open either way. */
int xpr__sock_take(xpr_socket_t s);
/* The outcome of a finished connect (SO_ERROR). */
int xpr__sock_connect_result(xpr_socket_t s);

/* Bytes read (> 0), 0 at end of stream, or an error (XPR_EAGAIN). */
long xpr__sock_recv(xpr_socket_t s, void *buf, size_t len);
/* Bytes sent from up to count runs, or an error (XPR_EAGAIN). */
long xpr__sock_sendv(xpr_socket_t s, const void *const *bases,
                     const size_t *lens, size_t count);
int xpr__sock_shutdown_write(xpr_socket_t s);
/* Close; with reset, SO_LINGER 0 first so the peer sees RST. */
void xpr__sock_close(xpr_socket_t s, int reset);

/* The address of the connected peer (getpeername). */
int xpr__sock_peer(xpr_socket_t s, struct xpr__addr *peer);
/* The socket's own address (getsockname). */
int xpr__sock_local(xpr_socket_t s, struct xpr__addr *local);
/* Whether a connected socket's peer is the socket itself: a TCP
 * simultaneous open of a socket bound to the address it connects to (a
 * port 0 bind may hand out the port of a listener that just closed). */
int xpr__sock_connected_to_itself(xpr_socket_t s);

int xpr__sock_set_nodelay(xpr_socket_t s, int enable);
int xpr__sock_set_keepalive(xpr_socket_t s, uint32_t idle_ms,
                            uint32_t interval_ms);

#endif
