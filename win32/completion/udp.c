/*
 * UDP handles on the completion engine (portable/udp.h): receives are
 * WSARecvFrom posted in advance, each with its own buffer, and sends are
 * WSASendTo of a copy. Every op goes through the engine's completed queue,
 * like a conn's.
 *
 * 1. Posted buffers belong to the kernel until their completion is
 *    handled, and so do the sender's address and its length (lpFrom,
 *    lpFromlen): they live in the op's buffer, in front of the data. A
 *    handle is reported closed only when its socket is closed and its
 *    `pending` count is back to 0.
 * 2. Receives (cfg.recvs_posted, each of recv_size bytes) are handled in
 *    queue order, whichever worker reaped them: UDP keeps no order either.
 * 3. A datagram longer than the buffer fills it and completes with
 *    WSAEMSGSIZE (STATUS_BUFFER_OVERFLOW): delivered with
 *    XPR_UDP_TRUNCATED. That status is success-class: a WSARecvFrom that
 *    returns it at once still gets its packet (unless the socket skips
 *    packets on success) or its routine, so it is handled like a success
 *    at once, never like a failure at once (which would handle it twice).
 * 4. Posting happens from the loop: xpr_udp_new and xpr_udp_send may run
 *    on a thread that will not run the loop, and a completion routine runs
 *    only on the thread that posted its op. New handles and new sends queue
 *    a UDP_POST op (like a conn's KICK), whose handler posts the handle's
 *    receives and waiting sends.
 * 5. A receive that fails with what one peer caused (WSAECONNRESET: the
 *    ICMP report when SIO_UDP_CONNRESET could not switch it off;
 *    WSAENETUNREACH, WSAEHOSTUNREACH, WSAETIMEDOUT) goes to on_error and
 *    the receive is posted again. Any other failure ends the handle.
 * 6. Close drops the sends not posted yet, cancels what is posted
 *    (CancelIoEx, then closesocket, as for a conn: conn.c, item 6) and
 *    waits for their packets.
 */
#include "completion.h"

#include <stdlib.h>
#include <string.h>

#include "sock.h"
#include "udp.h"

/* item 1: the op's buffer holds the address, its length, then the data */
#define FROM_LEN_AT sizeof(struct sockaddr_storage)
#define DATA_AT (FROM_LEN_AT + sizeof(INT) + 8)

struct completion_udp {
    struct xpr_udp base; /* first: the core sees an xpr_udp */
    unsigned pending;    /* ops posted or queued, not handled (item 1) */
    unsigned recvs;      /* receives posted (item 2) */
    struct xpr__op *outbox_head, *outbox_tail; /* sends to post (item 4) */
    unsigned char kicked;                      /* a UDP_POST op is queued */
    unsigned char skip_on_success;
};

static struct completion_udp *to_cu(xpr_udp *u)
{
    return (struct completion_udp *)u;
}

static struct xpr__completion_loop *engine_of(const xpr_udp *u)
{
    return xpr__completion_of(u->loop);
}

/* Item 1: closed and nothing pending. */
static void settle(struct completion_udp *cu)
{
    if (cu->base.closing && cu->base.sock == XPR__INVALID_SOCKET &&
        cu->pending == 0)
        xpr__udp_closed(&cu->base);
}

/* After WSARecvFrom / WSASendTo returned rc (0 or SOCKET_ERROR): accounts
 * the op and queues its outcome where no notification will come. */
static void posted(struct completion_udp *cu, struct xpr__op *op, int rc,
                   DWORD bytes)
{
    struct xpr__completion_loop *engine = engine_of(&cu->base);
    int err = rc == 0 ? 0 : WSAGetLastError();
    int ok = err == 0 || err == WSAEMSGSIZE; /* item 3 */
    xpr__op_count(engine, op, &cu->pending, 1);
    if (!xpr__op_started(engine, op, cu->skip_on_success, ok ? 0 : err))
        return;
    if (ok)
        engine->inline_completions++;
    xpr__op_complete(engine, op, ok ? bytes : 0, err);
}

static int post_recv(struct completion_udp *cu)
{
    xpr_udp *u = &cu->base;
    struct xpr__completion_loop *engine = engine_of(u);
    struct xpr__op *op =
        xpr__op_new(DATA_AT + u->recv_size, XPR__OP_UDP_RECV, u);
    INT *from_len;
    DWORD bytes = 0, flags = 0;
    int rc;
    if (op == NULL)
        return XPR_ENOMEM;
    rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    from_len = (INT *)(void *)(op->buf + FROM_LEN_AT);
    *from_len = (INT)sizeof(struct sockaddr_storage);
    op->wsabuf.buf = (char *)op->buf + DATA_AT;
    op->wsabuf.len = (ULONG)u->recv_size;
    rc = WSARecvFrom((SOCKET)u->sock, &op->wsabuf, 1, &bytes, &flags,
                     (struct sockaddr *)(void *)op->buf, from_len, &op->ov,
                     engine->harvester->routine);
    cu->recvs++;
    posted(cu, op, rc, bytes);
    return 0;
}

static void post_send(struct completion_udp *cu, struct xpr__op *op)
{
    xpr_udp *u = &cu->base;
    DWORD bytes = 0;
    int rc = xpr__op_arm(engine_of(u), op);
    if (rc == 0)
        rc = WSASendTo((SOCKET)u->sock, &op->wsabuf, 1, &bytes, 0,
                       op->nbufs ? (struct sockaddr *)(void *)op->buf : NULL,
                       (int)op->nbufs, &op->ov,
                       engine_of(u)->harvester->routine);
    else
        WSASetLastError(WSAENOBUFS); /* no event to lend: fails at once */
    posted(cu, op, rc, bytes);
}

/* Item 4: queues the handle's UDP_POST op, once. */
static int kick(struct completion_udp *cu)
{
    struct xpr__completion_loop *engine = engine_of(&cu->base);
    struct xpr__op *op;
    if (cu->kicked)
        return 0;
    op = xpr__op_new(0, XPR__OP_UDP_POST, &cu->base);
    if (op == NULL)
        return XPR_ENOMEM;
    cu->kicked = 1;
    xpr__op_queue(engine, op, &cu->pending);
    return 0;
}

/* Item 4, from the loop: the receives the handle lacks, then its sends. */
static void post_all(struct completion_udp *cu)
{
    xpr_udp *u = &cu->base;
    while (!u->closing && cu->recvs < u->recvs_posted) {
        int rc = post_recv(cu);
        if (rc != 0) {
            xpr__udp_failed(u, rc);
            return;
        }
    }
    while (!u->closing && cu->outbox_head != NULL) {
        struct xpr__op *op = cu->outbox_head;
        cu->outbox_head = op->next;
        if (cu->outbox_head == NULL)
            cu->outbox_tail = NULL;
        /* counted again as posted */
        xpr__op_count(engine_of(u), op, &cu->pending, -1);
        post_send(cu, op);
    }
}

/* Item 5. */
static int peer_caused(int os_error)
{
    return os_error == WSAECONNRESET || os_error == WSAENETUNREACH ||
           os_error == WSAEHOSTUNREACH || os_error == WSAETIMEDOUT ||
           os_error == WSAENETRESET || os_error == WSAECONNREFUSED;
}

static void recv_done(struct completion_udp *cu, struct xpr__op *op)
{
    xpr_udp *u = &cu->base;
    cu->recvs--;
    if (u->closing)
        return;
    if (op->os_error == 0 || op->os_error == WSAEMSGSIZE) { /* item 3 */
        struct sockaddr_storage ss;
        struct xpr__addr from;
        INT len;
        memcpy(&len, op->buf + FROM_LEN_AT, sizeof(len));
        memcpy(&ss, op->buf, sizeof(ss));
        if (len < 0 || xpr__sock_addr_from_os((struct sockaddr *)&ss,
                                              (size_t)len, &from) != 0)
            memset(&from, 0, sizeof(from));
        xpr__udp_received(u, op->buf + DATA_AT,
                          op->os_error ? u->recv_size : op->bytes, &from,
                          op->os_error ? XPR_UDP_TRUNCATED : 0u);
    } else if (peer_caused(op->os_error)) {
        xpr__udp_error(u, xpr__error_from_os(op->os_error));
    } else {
        xpr__udp_failed(u, xpr__error_from_os(op->os_error));
        return;
    }
    post_all(cu);
}

void xpr__completion_udp_done(struct xpr__completion_loop *engine,
                              struct xpr__op *op)
{
    struct completion_udp *cu = op->owner;
    cu->pending--;
    if (op->kind == XPR__OP_UDP_RECV) {
        recv_done(cu, op);
    } else if (op->kind == XPR__OP_UDP_SEND) {
        xpr__udp_sent(&cu->base, op->len,
                      op->os_error ? xpr__error_from_os(op->os_error) : 0);
    } else { /* XPR__OP_UDP_POST */
        cu->kicked = 0;
        post_all(cu);
    }
    xpr__op_put(engine, op);
    settle(cu);
}

/* ---- the transport ---- */

static int cu_start(xpr_udp *u)
{
    struct completion_udp *cu = to_cu(u);
    int rc = xpr__completion_associate(engine_of(u), (SOCKET)u->sock,
                                       u->bound.family, &cu->skip_on_success);
    return rc != 0 ? rc : kick(cu);
}

static int cu_send(xpr_udp *u, const struct xpr__addr *to, const void *p,
                   size_t n)
{
    struct completion_udp *cu = to_cu(u);
    struct xpr__completion_loop *engine = engine_of(u);
    struct xpr__op *op = xpr__op_new(DATA_AT + n, XPR__OP_UDP_SEND, u);
    int rc;
    if (op == NULL)
        return XPR_ENOMEM;
    if (to != NULL)
        op->nbufs = (DWORD)xpr__sock_addr_to_os(
            to, (struct sockaddr_storage *)(void *)op->buf);
    if (n > 0)
        memcpy(op->buf + DATA_AT, p, n);
    op->wsabuf.buf = (char *)op->buf + DATA_AT;
    op->wsabuf.len = (ULONG)n;
    op->len = n;
    rc = kick(cu);
    if (rc != 0) {
        free(op);
        return rc;
    }
    xpr__op_count(engine, op, &cu->pending, 1);
    xpr__op_append(&cu->outbox_head, &cu->outbox_tail, op);
    return 1;
}

static void cu_close(xpr_udp *u)
{
    struct completion_udp *cu = to_cu(u);
    struct xpr__completion_loop *engine = engine_of(u);
    while (cu->outbox_head != NULL) { /* item 6 */
        struct xpr__op *op = cu->outbox_head;
        cu->outbox_head = op->next;
        xpr__op_count(engine, op, &cu->pending, -1);
        free(op);
    }
    cu->outbox_tail = NULL;
    if (cu->pending != 0)
        CancelIoEx((HANDLE)u->sock, NULL);
    closesocket((SOCKET)u->sock);
    u->sock = XPR__INVALID_SOCKET;
    settle(cu);
}

const struct xpr__udp_ops xpr__completion_udp_ops = {
    .size = sizeof(struct completion_udp),
    .start = cu_start,
    .send = cu_send,
    .close = cu_close,
};
