/*
 * The readiness UDP transport (portable/udp.h; docs/design.md, "UDP"): one
 * implementation for every poller and, through its watch hook, libevent's
 * events (libevent/udp.c).
 *
 * 1. A datagram is sent at once when nothing waits: sendto either takes
 *    it whole or fails (EWOULDBLOCK: the socket buffer is full); only then
 *    is it queued and write interest asked for (FD_WRITE comes then).
 * 2. A queued datagram that then fails (the peer's port is closed on a
 *    connected socket, say) is dropped and reported; the next goes on.
 * 3. Reads: up to READS_PER_EVENT datagrams per readiness event (one where
 *    the poller re-posts FD_READ after each), into the loop's read buffer
 *    when recv_size fits it, else into a buffer of the handle's own.
 *    A receive error (an ICMP report on a connected socket) goes to
 *    on_error and reading goes on.
 * 4. Close takes the socket out of the poller before closing it; the
 *    handle's memory and its receive buffer live until on_close ran,
 *    after the dispatch, so a callback may close any handle, its own
 *    included, and still read the datagram it was given.
 */
#include "xpr_sockets.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sock.h"
#include "udp.h"
#include "udp_sock.h"

#define READS_PER_EVENT 16

static struct xpr__udp_ready *to_ready(xpr_udp *u)
{
    return (struct xpr__udp_ready *)u;
}

struct xpr__io *xpr__udp_ready_io(xpr_udp *u)
{
    return &to_ready(u)->io;
}

static int set_interest(struct xpr__udp_ready *ru, unsigned mask)
{
    int rc;
    if (ru->io.mask == mask)
        return 0;
    rc = ru->base.ops->watch(&ru->base, &ru->io, mask);
    if (rc == 0)
        ru->io.mask = mask;
    return rc;
}

static long send_one(xpr_udp *u, const struct xpr__addr *to, const void *p,
                     size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    long rc;
    if (to != NULL)
        len = (socklen_t)xpr__sock_addr_to_os(to, &ss);
    do {
        rc = (long)sendto(u->sock, (const char *)p, (int)n, 0,
                          to != NULL ? (struct sockaddr *)&ss : NULL, len);
    } while (rc < 0 && XPR__SOCK_INTERRUPTED());
    return rc < 0 ? (long)xpr__sock_error() : rc;
}

/* Item 1, 2: sends the queue until the socket would block. */
static void flush(struct xpr__udp_ready *ru)
{
    xpr_udp *u = &ru->base;
    while (ru->head != NULL && !u->closing) {
        struct xpr__udp_dgram *d = ru->head;
        long rc = send_one(u, d->has_to ? &d->to : NULL, d->data, d->len);
        if (rc == XPR_EAGAIN)
            return;
        ru->head = d->next;
        if (ru->head == NULL)
            ru->tail = NULL;
        xpr__udp_sent(u, d->len, rc < 0 ? (int)rc : 0);
        free(d);
    }
    if (!u->closing) {
        int rc = set_interest(ru, XPR__IO_READ);
        if (rc != 0)
            xpr__udp_failed(u, rc);
    }
}

static void receive(struct xpr__udp_ready *ru)
{
    xpr_udp *u = &ru->base;
    xpr_loop *loop = u->loop;
    unsigned char *buf = ru->own_buf ? ru->own_buf : loop->read_buf;
    int reads = (loop->poller != NULL &&
                 (loop->poller->flags & XPR__POLLER_ONE_READ_PER_EVENT))
                    ? 1
                    : READS_PER_EVENT;
    while (reads-- > 0 && !u->closing) {
        struct xpr__addr from;
        int truncated = 0;
        long n = xpr__udp_sock_recvfrom(u->sock, buf, u->recv_size, &from,
                                        &truncated);
        if (n == XPR_EAGAIN)
            return;
        if (n < 0)
            xpr__udp_error(u, (int)n); /* item 3 */
        else
            xpr__udp_received(u, buf, (size_t)n, &from,
                              truncated ? XPR_UDP_TRUNCATED : 0u);
    }
}

static void udp_ready(struct xpr__io *io, unsigned events)
{
    struct xpr__udp_ready *ru = XPR__CONTAINER(io, struct xpr__udp_ready, io);
    if (events & (XPR__IO_WRITE | XPR__IO_ERROR))
        flush(ru);
    if (events & (XPR__IO_READ | XPR__IO_ERROR))
        receive(ru);
}

int xpr__udp_ready_start(xpr_udp *u)
{
    struct xpr__udp_ready *ru = to_ready(u);
    int rc;
    if (u->recv_size > u->loop->read_buf_size) {
        ru->own_buf = xpr__malloc(u->recv_size);
        if (ru->own_buf == NULL)
            return XPR_ENOMEM;
    }
    ru->io.sock = u->sock;
    ru->io.mask = 0;
    ru->io.ready = udp_ready;
    ru->io.poller_data = NULL;
    rc = set_interest(ru, XPR__IO_READ);
    if (rc != 0) {
        free(ru->own_buf);
        ru->own_buf = NULL;
    }
    return rc;
}

int xpr__udp_ready_send(xpr_udp *u, const struct xpr__addr *to, const void *p,
                        size_t n)
{
    struct xpr__udp_ready *ru = to_ready(u);
    struct xpr__udp_dgram *d;
    int rc;
    if (ru->head == NULL) {
        long sent = send_one(u, to, p, n);
        if (sent >= 0)
            return 0;
        if (sent != XPR_EAGAIN)
            return (int)sent;
    }
    d = xpr__malloc(sizeof(*d) + n);
    if (d == NULL)
        return XPR_ENOMEM;
    d->next = NULL;
    d->has_to = to != NULL;
    if (to != NULL)
        d->to = *to;
    d->len = n;
    if (n > 0)
        memcpy(d->data, p, n);
    rc = set_interest(ru, XPR__IO_READ | XPR__IO_WRITE);
    if (rc != 0) {
        free(d);
        return rc;
    }
    if (ru->tail != NULL)
        ru->tail->next = d;
    else
        ru->head = d;
    ru->tail = d;
    return 1;
}

void xpr__udp_ready_close(xpr_udp *u)
{
    struct xpr__udp_ready *ru = to_ready(u);
    set_interest(ru, 0);
    ru->io.mask = 0; /* never reported again, even if removal failed */
    while (ru->head != NULL) {
        struct xpr__udp_dgram *d = ru->head;
        ru->head = d->next;
        free(d);
    }
    ru->tail = NULL;
    xpr__sock_close(u->sock, 0);
    u->sock = XPR__INVALID_SOCKET;
    xpr__udp_closed(u);
}

/* The receive buffer goes only now: an on_recv that closed its handle
 * still reads the datagram it was given. */
void xpr__udp_ready_release(xpr_udp *u)
{
    struct xpr__udp_ready *ru = to_ready(u);
    free(ru->own_buf);
    ru->own_buf = NULL;
}

static int poller_watch(xpr_udp *u, struct xpr__io *io, unsigned mask)
{
    return u->loop->poller->update(u->loop->poller_state, io, mask);
}

const struct xpr__udp_ops xpr__udp_ready_ops = {
    .size = sizeof(struct xpr__udp_ready),
    .start = xpr__udp_ready_start,
    .send = xpr__udp_ready_send,
    .close = xpr__udp_ready_close,
    .release = xpr__udp_ready_release,
    .watch = poller_watch,
};
