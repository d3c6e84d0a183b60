/*
 * The calls of UDP sockets that differ between BSD sockets and Winsock
 * (posix/udp_sock.c, win32/udp_sock.c). Each returns 0 (or a byte count)
 * or an XPR_E* code; XPR_EAGAIN means "would block".
 */
#ifndef XPR_UDP_SOCK_H
#define XPR_UDP_SOCK_H

#include <stddef.h>

#include "address.h"
#include "xpr_sys.h"

/* A new non-blocking UDP socket of the family, not inherited. */
int xpr__udp_sock_open(int family, xpr_socket_t *out);
/* One datagram into buf: its length as received (at most len), its
 * sender in *from, *truncated set when it was longer than len. */
long xpr__udp_sock_recvfrom(xpr_socket_t s, void *buf, size_t len,
                            struct xpr__addr *from, int *truncated);

#endif
