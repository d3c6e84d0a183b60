/*
 * UDP handles, the core's part (portable/udp.h; docs/design.md, "UDP").
 *
 * 1. A send that would pass cfg.send_queue_max is refused with XPR_EAGAIN
 *    and nothing is queued. A datagram always goes whole: one above the
 *    family's largest UDP payload is XPR_EINVAL before the system sees it.
 * 2. A handle closes in two steps, as a conn does: the transport closes,
 *    and once it reports the socket closed with nothing pending the handle
 *    waits on loop->udp_finished until the loop runs on_close and frees it.
 * 3. Received and sent bytes count in the loop's bytes_read and
 *    bytes_written (the nonblocking poller's back-off reads them).
 */
#include "xpr_sockets.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "loop_internal.h"
#include "sock.h"
#include "udp.h"
#include "udp_sock.h"

#define DEFAULT_RECV_SIZE 65536
#define DEFAULT_SEND_QUEUE (256u * 1024u)
#define DEFAULT_RECVS_POSTED 4

int xpr__udp_usable(const xpr_udp *u)
{
    int rc = u == NULL ? XPR_EINVAL : xpr__loop_check_thread(u->loop);
    if (rc != 0)
        return rc;
    return u->closing ? XPR_ECLOSED : 0;
}

static int bind_socket(xpr_udp *u, const struct xpr__addr *addr, int reuse)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)xpr__sock_addr_to_os(addr, &ss);
    int one = 1;
    if (reuse && setsockopt(u->sock, SOL_SOCKET, SO_REUSEADDR,
                            (const char *)&one, sizeof(one)) != 0)
        return xpr__sock_error();
    if (bind(u->sock, (struct sockaddr *)&ss, len) != 0)
        return xpr__sock_error();
    return xpr__sock_local(u->sock, &u->bound);
}

int xpr_udp_new(xpr_loop *loop, const char *address,
                const struct xpr_udp_config *cfg,
                const struct xpr_udp_callbacks *cb, void *userdata,
                xpr_udp **out)
{
    const struct xpr__udp_ops *ops;
    struct xpr__addr addr;
    xpr_udp *u;
    int rc = xpr__loop_check_new(loop, address != NULL && cb != NULL &&
                                           cb->on_recv != NULL && out != NULL);
    if (rc != 0)
        return rc;
    if (xpr__addr_parse(address, &addr) != 0)
        return XPR_EINVAL;
    ops = loop->ops->udp;
    if (ops == NULL)
        return XPR_ENOTSUP;
    u = xpr__calloc(1, ops->size);
    if (u == NULL)
        return XPR_ENOMEM;
    u->loop = loop;
    u->ops = ops;
    u->cb = *cb;
    u->userdata = userdata;
    u->recv_size = cfg && cfg->recv_size ? cfg->recv_size : DEFAULT_RECV_SIZE;
    u->send_queue_max =
        cfg && cfg->send_queue_max ? cfg->send_queue_max : DEFAULT_SEND_QUEUE;
    u->recvs_posted =
        cfg && cfg->recvs_posted ? cfg->recvs_posted : DEFAULT_RECVS_POSTED;
    rc = xpr__udp_sock_open(addr.family, &u->sock);
    if (rc != 0) {
        free(u);
        return rc;
    }
    rc = bind_socket(u, &addr, cfg != NULL && cfg->reuse_address);
    if (rc == 0)
        rc = ops->start(u);
    if (rc != 0) {
        xpr__sock_close(u->sock, 0);
        if (ops->release != NULL)
            ops->release(u);
        free(u);
        return rc;
    }
    xpr__list_push_back(&loop->udps, &u->link);
    loop->stats.live_udp_handles++;
    *out = u;
    return 0;
}

int xpr_udp_address(const xpr_udp *udp, char *buf, size_t len)
{
    return udp == NULL ? XPR_EINVAL : xpr__addr_format(&udp->bound, buf, len);
}

/* Address text of the bound family: 0, XPR_EINVAL or XPR_EAFNOSUPPORT. */
static int parse_peer(const xpr_udp *u, const char *text, struct xpr__addr *a)
{
    if (text == NULL || xpr__addr_parse(text, a) != 0)
        return XPR_EINVAL;
    return a->family == u->bound.family ? 0 : XPR_EAFNOSUPPORT;
}

int xpr_udp_connect(xpr_udp *udp, const char *address)
{
    struct sockaddr_storage ss;
    struct xpr__addr peer;
    int rc = xpr__udp_usable(udp);
    if (rc == 0)
        rc = parse_peer(udp, address, &peer);
    if (rc != 0)
        return rc;
    if (connect(udp->sock, (struct sockaddr *)&ss,
                (socklen_t)xpr__sock_addr_to_os(&peer, &ss)) != 0)
        return xpr__sock_error();
    udp->connected = 1;
    return 0;
}

int xpr_udp_send(xpr_udp *udp, const char *to, const void *p, size_t n)
{
    struct xpr__addr dest;
    size_t max;
    int rc = xpr__udp_usable(udp);
    if (rc != 0)
        return rc;
    if ((p == NULL && n > 0) || (to == NULL) != (udp->connected != 0))
        return XPR_EINVAL;
    if (to != NULL && (rc = parse_peer(udp, to, &dest)) != 0)
        return rc;
    max = udp->bound.family == XPR__AF_INET ? XPR_UDP_MAX_DATAGRAM_V4
                                            : XPR_UDP_MAX_DATAGRAM_V6;
    if (n > max)
        return XPR_EINVAL; /* item 1 */
    if (udp->queued + n > udp->send_queue_max ||
        (n == 0 && udp->queued == udp->send_queue_max))
        return XPR_EAGAIN; /* item 1 */
    rc = udp->ops->send(udp, to != NULL ? &dest : NULL, p, n);
    if (rc < 0)
        return rc;
    if (rc == 1)
        udp->queued += n;
    else
        udp->loop->stats.bytes_written += n;
    return 0;
}

size_t xpr_udp_queued(const xpr_udp *udp)
{
    return udp ? udp->queued : 0;
}

int xpr_udp_socket(const xpr_udp *udp, xpr_os_socket *out)
{
    if (udp == NULL || out == NULL)
        return XPR_EINVAL;
    if (udp->closing)
        return XPR_ECLOSED;
    *out = (xpr_os_socket)udp->sock;
    return 0;
}

void xpr_udp_set_userdata(xpr_udp *udp, void *userdata)
{
    if (udp != NULL)
        udp->userdata = userdata;
}

void *xpr_udp_userdata(const xpr_udp *udp)
{
    return udp ? udp->userdata : NULL;
}

xpr_loop *xpr_udp_loop(const xpr_udp *udp)
{
    return udp ? udp->loop : NULL;
}

/* Item 2: the transport closes; it reports xpr__udp_closed. */
static void begin_close(xpr_udp *u, int err)
{
    u->closing = 1;
    u->close_err = err;
    u->queued = 0;
    u->ops->close(u);
}

int xpr_udp_close(xpr_udp *udp)
{
    int rc = xpr__udp_usable(udp);
    if (rc != 0)
        return rc;
    begin_close(udp, 0);
    return 0;
}

/* ---- what transports report ---- */

void xpr__udp_received(xpr_udp *u, const void *p, size_t n,
                       const struct xpr__addr *from, unsigned flags)
{
    char peer[XPR_ADDRSTRLEN];
    if (u->closing)
        return;
    if (xpr__addr_format(from, peer, sizeof(peer)) != 0)
        peer[0] = '\0';
    u->loop->stats.bytes_read += n; /* item 3 */
    u->cb.on_recv(u, p, n, peer, flags);
}

void xpr__udp_sent(xpr_udp *u, size_t n, int err)
{
    if (u->closing)
        return;
    u->queued -= n;
    if (err == 0)
        u->loop->stats.bytes_written += n;
    else if (u->cb.on_error != NULL)
        u->cb.on_error(u, err);
}

void xpr__udp_error(xpr_udp *u, int err)
{
    if (!u->closing && u->cb.on_error != NULL)
        u->cb.on_error(u, err);
}

void xpr__udp_failed(xpr_udp *u, int err)
{
    if (!u->closing)
        begin_close(u, err);
}

void xpr__udp_closed(xpr_udp *u)
{
    xpr__list_remove(&u->link);
    xpr__list_push_back(&u->loop->udp_finished, &u->link);
    u->loop->stats.live_udp_handles--;
}

/* ---- the loop's part ---- */

int xpr__udp_alive(const xpr_loop *loop)
{
    return !xpr__list_empty(&loop->udps) ||
           !xpr__list_empty(&loop->udp_finished);
}

void xpr__udp_deliver_closes(xpr_loop *loop)
{
    struct xpr__link *link;
    while ((link = xpr__list_first(&loop->udp_finished)) != NULL) {
        xpr_udp *u = XPR__CONTAINER(link, xpr_udp, link);
        xpr__list_remove(link);
        if (u->cb.on_close != NULL)
            u->cb.on_close(u, u->close_err);
        if (u->ops->release != NULL)
            u->ops->release(u);
        free(u);
    }
}

void xpr__udp_cancel_all(xpr_loop *loop)
{
    struct xpr__link *link = xpr__list_first(&loop->udps);
    while (link != NULL && link != &loop->udps.head) {
        struct xpr__link *next = link->next; /* closing may move it */
        xpr_udp *u = XPR__CONTAINER(link, xpr_udp, link);
        if (!u->closing)
            begin_close(u, XPR_ECANCELED);
        link = next;
    }
}

int xpr__udp_closing(const xpr_loop *loop)
{
    return !xpr__list_empty(&loop->udps);
}
