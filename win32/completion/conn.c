/*
 * Connections of the completion engine, as a transport (backend.h): the
 * core (portable/conn.c) owns each conn's state, write queue and close
 * policy; this file posts ConnectEx, WSARecv and WSASend and reports what
 * they did.
 *
 * 1. ConnectEx wants a bound socket (WSAEINVAL otherwise): bind to the
 *    family's wildcard address first. After it completes,
 *    SO_UPDATE_CONNECT_CONTEXT, or getpeername/shutdown fail.
 * 2. A refused loopback connect takes ~2 s on Windows (SYN retries):
 *    SIO_TCP_INITIAL_RTO with no SYN retransmissions makes it fail at once
 *    (Windows 8+; older systems and Wine refuse the ioctl: ignored).
 * 3. A zero-byte WSARecv completes with 0 bytes both when data arrived and
 *    at end of stream; the non-blocking recv that follows tells them apart
 *    (> 0 data, 0 EOF, WSAEWOULDBLOCK spurious). An idle conn pins no
 *    buffer. While the core wants no data the data stay in the socket, and
 *    the zero-byte read posted when reading is back on completes at once.
 * 4. Several WSARecv posted may be handled out of order (several workers
 *    reap them): each read has a sequence number and early ones wait,
 *    parked in order. A 0-byte completion of a buffered read is the end of
 *    stream (under Wine once confirmed: engine.c, "Wine"); reads after it
 *    are dropped. Parked reads are delivered only while the core wants
 *    data; when reading is turned back on, a KICK op delivers them and
 *    posts reads from the loop.
 * 5. A WSASend's buffers are runs of the core's queue itself (no copy). An
 *    overlapped WSASend on a stream socket completes in full or fails, and
 *    a socket's sends complete in posting order, so reporting each
 *    completion's bytes consumes the queue from the front whatever order
 *    they are handled in. At most max_sends_in_flight sends of at most
 *    read_buffer_size bytes are posted per conn: a peer that never reads
 *    pins a bounded amount of kernel memory.
 * 6. closesocket cancels every pending operation, but their packets still
 *    come (ERROR_OPERATION_ABORTED; Wine: ERROR_HANDLES_CLOSED). Under Wine
 *    operations towards a peer that neither reads nor closes stay pending
 *    after closesocket, so CancelIoEx comes first. The conn is reported
 *    closed only once all of them are reaped.
 * 7. WSAENOBUFS / ERROR_NO_SYSTEM_RESOURCES from a post (too much locked
 *    memory) ends that conn with XPR_ENOBUFS; the loop goes on.
 * 8. The bind of item 1 takes the local port from the same allocator as a
 *    listener's port 0, so connecting to a port whose listener just closed
 *    can get that very port and connect the socket to itself: the core
 *    reports that as XPR_ECONNREFUSED (portable/conn.c).
 * 9. An AcceptEx with a receive buffer (accepts_with_data) hands over the
 *    conn with its first bytes (0 bytes: the client closed at once): read
 *    number 0, parked like an early pre-posted read, so they reach on_data
 *    first even when on_open paused reading; zero-byte mode posts no read
 *    while anything is parked.
 * 10. Fault injection (portable/fault.h): WSARecv, WSASend and ConnectEx
 *    fail at once with WSAENOBUFS (item 7), the bind of item 1 with
 *    WSAENOBUFS, SO_UPDATE_CONNECT_CONTEXT with WSAENETDOWN. A buffered
 *    WSARecv may get a shorter buffer. Sends are not made short (item 5);
 *    should one ever complete short, the conn ends.
 * 11. A zero-byte read costs two calls where data come (item 3), a WSARecv
 *    with a buffer one (docs/design.md, "Zero-byte mode lends buffers"): a
 *    conn whose last read brought data within QUIET_MS of being queued
 *    ("warm") posts its next read with a buffer, while fewer than
 *    pool_free_max such reads are posted; it parks like a pre-posted read.
 * 12. An adopted socket (xpr_conn_adopt) must be overlapped (WSASocket with
 *    WSA_FLAG_OVERLAPPED, or socket()); it joins the loop's harvester for
 *    its life (a socket is associated with one port). It was connected
 *    without ConnectEx, so no SO_UPDATE_CONNECT_CONTEXT.
 */
#include "completion.h"
#include "fault.h"

#include <mstcpip.h>
#include <string.h>

#include "sock.h"

#define READS_PER_COMPLETION 16
#define QUIET_MS 1000 /* item 11 */

static struct xpr__completion_conn *to_conn(xpr_conn *c)
{
    return (struct xpr__completion_conn *)c;
}

static struct xpr__completion_loop *engine_of(struct xpr__completion_conn *conn)
{
    return xpr__completion_of(conn->base.loop);
}

/* Item 6. Not while a worker posts on it: its packets may all be reaped
 * by another worker before the poster has the lock back. */
static void settle(struct xpr__completion_conn *conn)
{
    xpr_conn *c = &conn->base;
    if (c->state == XPR__CONN_ENDING && c->sock == XPR__INVALID_SOCKET &&
        conn->pending == 0 && !conn->posting)
        xpr__conn_closed(c);
}

static void drop_list(struct xpr__completion_loop *engine,
                      struct xpr__op **head)
{
    while (*head != NULL) {
        struct xpr__op *op = *head;
        *head = op->next;
        xpr__op_put(engine, op);
    }
}

/* Closes the socket asked to close (cancelling its I/O), unless a worker
 * posts on it outside the run lock: closing it now could let a new socket
 * take its number under that post, so the worker calls this when done. */
void xpr__completion_close_deferred(struct xpr__completion_conn *conn)
{
    xpr_conn *c = &conn->base;
    if (conn->posting)
        return;
    conn->close_deferred = 0;
    if (c->sock != XPR__INVALID_SOCKET) {
        if (conn->close_reset)
            xpr__sock_set_linger0(c->sock);
        else if (c->connected && !conn->write_shut)
            shutdown((SOCKET)c->sock, SD_SEND); /* FIN before the close */
        if (conn->pending != 0)
            CancelIoEx((HANDLE)c->sock, NULL); /* item 6 */
        closesocket((SOCKET)c->sock);
        c->sock = XPR__INVALID_SOCKET;
    }
    settle(conn);
}

/* ---- reads ---- */

static int reading_wanted(struct xpr__completion_conn *conn)
{
    /* zero-byte mode reads the socket itself: not past parked bytes (an
     * accept's first data, item 9) */
    if (conn->parked != NULL &&
        engine_of(conn)->read_mode == XPR_READ_ZERO_BYTE)
        return 0;
    return conn->base.connected && xpr__conn_wants_data(&conn->base);
}

static int post_one_read(struct xpr__completion_conn *conn, int large)
{
    struct xpr__completion_loop *engine = engine_of(conn);
    struct xpr__op *op = xpr__op_get(engine, large, XPR__OP_READ, conn);
    int rc;
    if (op == NULL)
        return XPR_ENOMEM;
    op->seq = conn->read_seq_next++;
    op->warm =
        (unsigned char)(large && engine->read_mode == XPR_READ_ZERO_BYTE);
    op->queued_ms = GetTickCount(); /* item 11 */
    op->wsabuf.buf = (char *)op->buf;
    op->wsabuf.len = /* items 3, 10 */
        large ? (ULONG)xpr__fault_short(XPR__FAULT_RECV, op->cap) : 0;
    op->bufs = &op->wsabuf;
    op->nbufs = 1;
    rc = xpr__op_send_later(engine, conn, op); /* item 7, 10 */
    if (rc == 0 && op->warm)
        engine->warm_reads++;
    return rc;
}

/* Posts the reads the conn lacks; a failed post ends it (item 7). From
 * the loop only. */
static void post_reads(struct xpr__completion_conn *conn)
{
    struct xpr__completion_loop *engine = engine_of(conn);
    int preposted = engine->read_mode == XPR_READ_PREPOSTED;
    unsigned want = preposted ? engine->preposted_reads : 1;
    if (engine->read_batches && conn->reads_posted > 0)
        return; /* engine.c, "Wine": pending transfers, posting thread */
    while (reading_wanted(conn) && conn->reads_posted < want) {
        int large = preposted || (conn->read_warm && /* item 11 */
                                  engine->warm_reads < engine->pool_free_max);
        int rc = post_one_read(conn, large);
        if (rc != 0) {
            xpr__conn_failed(&conn->base, rc);
            return;
        }
        conn->reads_posted++;
    }
}

/* Zero-byte mode: the socket is readable; read it dry (bounded). soon:
 * the zero-byte read was answered within QUIET_MS (item 11). */
static void drain(struct xpr__completion_conn *conn, int soon)
{
    xpr_conn *c = &conn->base;
    xpr_loop *loop = c->loop;
    int i;
    conn->read_warm = 0;
    for (i = 0; i < READS_PER_COMPLETION && reading_wanted(conn); i++) {
        long n = xpr__sock_recv(c->sock, loop->read_buf, loop->read_buf_size);
        if (n > 0) {
            conn->read_warm = (unsigned char)soon;
            xpr__conn_received(c, loop->read_buf, (size_t)n);
            if ((size_t)n < loop->read_buf_size)
                break; /* most likely dry: the next read tells */
        } else if (n == 0) {
            xpr__conn_eof(c);
            return;
        } else if (n == XPR_EAGAIN) {
            break;
        } else {
            xpr__conn_failed(c, (int)n);
            return;
        }
    }
    post_reads(conn);
}

/* Delivers parked reads in sequence while the core wants data (item 4). */
static void deliver_parked(struct xpr__completion_conn *conn)
{
    struct xpr__completion_loop *engine = engine_of(conn);
    xpr_conn *c = &conn->base;
    while (conn->parked != NULL &&
           conn->parked->seq == conn->read_seq_deliver &&
           xpr__conn_wants_data(c)) {
        struct xpr__op *op = conn->parked;
        int err = op->os_error ? xpr__error_from_os(op->os_error) : 0;
        int ends = err == 0 && op->bytes == 0 && /* else empty: "Wine" */
                   xpr__completion_empty_read_ends(engine, (SOCKET)c->sock);
        conn->parked = op->next;
        conn->read_seq_deliver++;
        if (err == 0 && op->bytes > 0)
            xpr__conn_received(c, op->buf, op->bytes);
        xpr__op_put(engine, op);
        if (err != 0) {
            xpr__conn_failed(c, err);
            return;
        }
        if (ends) {
            drop_list(engine, &conn->parked);
            xpr__conn_eof(c);
            return;
        }
    }
}

/* Delivers what is parked, then posts the reads the conn lacks. */
static void resume(struct xpr__completion_conn *conn)
{
    if (xpr__conn_done(&conn->base))
        return;
    deliver_parked(conn);
    if (!xpr__conn_done(&conn->base))
        post_reads(conn);
}

static void park(struct xpr__completion_conn *conn, struct xpr__op *op)
{
    struct xpr__op **at = &conn->parked;
    while (*at != NULL && (*at)->seq < op->seq)
        at = &(*at)->next;
    op->next = *at;
    *at = op;
}

static void read_done(struct xpr__completion_conn *conn, struct xpr__op *op)
{
    struct xpr__completion_loop *engine = engine_of(conn);
    xpr_conn *c = &conn->base;
    int soon;
    conn->reads_posted--;
    if (op->warm)
        engine->warm_reads--;
    if (xpr__conn_done(c) || c->read_ended) {
        xpr__op_put(engine, op);
        return;
    }
    soon = GetTickCount() - op->queued_ms < QUIET_MS; /* item 11 */
    if (op->large) {
        conn->read_warm = (unsigned char)(soon && op->bytes > 0);
        park(conn, op);
        resume(conn);
        return;
    }
    conn->read_seq_deliver = op->seq + 1; /* one read at a time here */
    if (op->os_error != 0) {
        int err = xpr__error_from_os(op->os_error);
        xpr__op_put(engine, op);
        xpr__conn_failed(c, err);
        return;
    }
    xpr__op_put(engine, op);
    drain(conn, soon);
}

/* ---- writes ---- */

long xpr__completion_conn_send(xpr_conn *c, const void *const *bases,
                               const size_t *lens, size_t runs)
{
    struct xpr__completion_conn *conn = to_conn(c);
    struct xpr__completion_loop *engine = engine_of(conn);
    size_t run = 0, used = 0; /* next byte: bases[run] + used */
    size_t taken = 0;
    while (run < runs && conn->sends_in_flight < engine->max_sends) {
        struct xpr__op *op = xpr__op_get(engine, 0, XPR__OP_WRITE, conn);
        WSABUF *bufs;
        DWORD count = 0;
        size_t len = 0;
        int rc;
        if (op == NULL)
            return XPR_ENOMEM;
        bufs = (WSABUF *)(void *)op->buf;
        while (run < runs && count < XPR__SEND_RUNS && len < engine->buf_size) {
            size_t k = lens[run] - used;
            if (k > engine->buf_size - len)
                k = engine->buf_size - len; /* item 5 */
            bufs[count].buf = (char *)bases[run] + used;
            bufs[count].len = (ULONG)k;
            count++;
            len += k;
            used += k;
            if (used == lens[run]) {
                run++;
                used = 0;
            }
        }
        op->bufs = bufs;
        op->nbufs = count;
        op->len = len;
        rc = xpr__op_send_later(engine, conn, op); /* item 7, 10 */
        if (rc != 0)
            return rc;
        conn->sends_in_flight++;
        taken += len;
    }
    return (long)taken;
}

static void write_done(struct xpr__completion_conn *conn, struct xpr__op *op)
{
    size_t len = op->len;
    DWORD sent = op->bytes;
    int err = op->os_error;
    conn->sends_in_flight--;
    xpr__op_put(engine_of(conn), op);
    if (xpr__conn_done(&conn->base))
        return;
    if (err != 0 || sent != len)
        xpr__conn_failed(&conn->base,
                         err ? xpr__error_from_os(err) : XPR_ECONNRESET);
    else
        xpr__conn_sent(&conn->base, len);
}

/* ---- connect ---- */

static void initial_rto(SOCKET s, const struct xpr__addr *addr)
{
    static const uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                            0, 0, 0, 0, 0, 0, 0, 1};
    TCP_INITIAL_RTO_PARAMETERS rto;
    DWORD bytes = 0;
    int loopback = addr->family == XPR__AF_INET
                       ? addr->ip[0] == 127
                       : memcmp(addr->ip, v6_loopback, 16) == 0;
    if (!loopback)
        return;
    rto.Rtt = TCP_INITIAL_RTO_UNSPECIFIED_RTT;
    rto.MaxSynRetransmissions = TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS;
    /* item 2: absent before Windows 8 and under Wine; harmless then */
    WSAIoctl(s, SIO_TCP_INITIAL_RTO, &rto, sizeof(rto), NULL, 0, &bytes, NULL,
             NULL);
}

static int bind_any(SOCKET s, int family)
{
    struct sockaddr_storage ss;
    int len = family == XPR__AF_INET ? (int)sizeof(struct sockaddr_in)
                                     : (int)sizeof(struct sockaddr_in6);
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = family == XPR__AF_INET ? AF_INET : AF_INET6;
    if (xpr__fault(XPR__FAULT_BIND)) /* item 10 */
        return xpr__error_from_os(WSAENOBUFS);
    return bind(s, (struct sockaddr *)&ss, len) == 0 ? 0 : xpr__wsa_error();
}

int xpr__completion_conn_connect(xpr_conn *c, const struct xpr__addr *addr)
{
    struct xpr__completion_conn *conn = to_conn(c);
    struct xpr__completion_loop *engine = engine_of(conn);
    struct sockaddr_storage ss;
    int len = xpr__sock_addr_to_os(addr, &ss);
    struct xpr__op *op;
    xpr_socket_t opened;
    SOCKET s;
    int bound, err = 0;
    int rc = xpr__conn_open_socket(c, addr->family, &opened, &bound);
    if (rc != 0)
        return rc;
    s = (SOCKET)opened;
    op = xpr__op_get(engine, 0, XPR__OP_CONNECT, conn);
    if (op == NULL)
        rc = XPR_ENOMEM;
    else if (!bound) /* else bound to xpr_connect_ex's local address */
        rc = bind_any(s, addr->family);
    if (rc == 0)
        rc = xpr__completion_lookup_extensions(engine, s);
    if (rc == 0)
        rc = xpr__completion_associate(engine, s, addr->family,
                                       &conn->skip_on_success);
    if (rc == 0)
        rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        closesocket(s);
        if (op != NULL)
            xpr__op_put(engine, op);
        return rc;
    }
    initial_rto(s, addr);
    if (xpr__fault(XPR__FAULT_CONNECT)) /* item 10 */
        err = WSAENOBUFS;
    else if (!engine->connect_ex(s, (struct sockaddr *)&ss, len, NULL, 0, NULL,
                                 &op->ov))
        err = WSAGetLastError();
    rc = xpr__op_posted(engine, op, &conn->pending, conn->skip_on_success, err);
    if (rc != 0) /* nothing pending: no socket is left */
        closesocket(s);
    else
        c->sock = opened;
    return rc;
}

/* Item 12: the socket joins the harvester, and a CONNECT op that is
 * complete already reports it connected from the loop. */
int xpr__completion_conn_adopt(xpr_conn *c)
{
    struct xpr__completion_conn *conn = to_conn(c);
    struct xpr__completion_loop *engine = engine_of(conn);
    struct xpr__op *op;
    struct xpr__addr local;
    int rc = xpr__sock_local(c->sock, &local);
    if (rc != 0)
        return rc;
    op = xpr__op_get(engine, 0, XPR__OP_CONNECT, conn);
    if (op == NULL)
        return XPR_ENOMEM;
    rc = xpr__completion_associate(engine, (SOCKET)c->sock, local.family,
                                   &conn->skip_on_success);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    xpr__op_queue(engine, op, &conn->pending);
    return 0;
}

static void connect_done(struct xpr__completion_conn *conn, struct xpr__op *op)
{
    SOCKET s = (SOCKET)conn->base.sock;
    int err = op->os_error;
    xpr__op_put(engine_of(conn), op);
    if (xpr__conn_done(&conn->base))
        return;
    if (conn->base.adopted)
        err = 0; /* item 12: connected by the application */
    else if (err == 0 && xpr__fault(XPR__FAULT_SOCKOPT)) /* item 10 */
        err = WSAENETDOWN;
    else if (err == 0 &&
             setsockopt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
        err = WSAGetLastError();
    if (err != 0)
        xpr__conn_failed(&conn->base, xpr__error_from_os(err));
    else
        xpr__conn_connected(&conn->base);
    if (!xpr__conn_done(&conn->base))
        post_reads(conn); /* in this round, like an accepted conn's */
}

/* ---- accepted conns ---- */

void xpr__completion_conn_accepted(xpr_listener *l,
                                   struct xpr__completion_conn *conn,
                                   struct xpr__op *first)
{
    if (first != NULL) { /* item 9 */
        first->kind = XPR__OP_READ;
        first->owner = conn;
        first->os_error = 0;
        first->seq = conn->read_seq_next++;
        park(conn, first);
    }
    xpr__listener_conn_opened(l, &conn->base);
    resume(conn);
}

/* ---- reading back on ---- */

static void kick_done(struct xpr__completion_conn *conn, struct xpr__op *op)
{
    conn->kicked = 0;
    xpr__op_put(engine_of(conn), op);
    resume(conn);
}

/* ---- the rest of the transport ---- */

/* Off: no more reads are posted; posted ones park (item 4). On: a KICK op
 * delivers what is parked and posts reads, from the loop, where a failed
 * post can end the conn (never from inside this call). It counts as
 * pending like a posted op. */
int xpr__completion_conn_set_reading(xpr_conn *c, int on)
{
    struct xpr__completion_conn *conn = to_conn(c);
    struct xpr__completion_loop *engine = engine_of(conn);
    struct xpr__op *op;
    if (!on || conn->kicked)
        return 0;
    op = xpr__op_get(engine, 0, XPR__OP_KICK, conn);
    if (op == NULL)
        return XPR_ENOMEM;
    conn->kicked = 1;
    xpr__op_queue(engine, op, &conn->pending);
    return 0;
}

int xpr__completion_conn_shutdown(xpr_conn *c)
{
    to_conn(c)->write_shut = 1;
    return xpr__sock_shutdown_write(c->sock);
}

/* Closes the socket (cancelling its I/O); the conn is reported closed once
 * every operation is reaped (item 6). */
void xpr__completion_conn_close(xpr_conn *c, int reset)
{
    struct xpr__completion_conn *conn = to_conn(c);
    drop_list(engine_of(conn), &conn->parked);
    conn->close_deferred = 1;
    conn->close_reset = (unsigned char)reset;
    xpr__completion_close_deferred(conn);
}

void xpr__completion_conn_done(struct xpr__completion_conn *conn,
                               struct xpr__op *op)
{
    static void (*const handlers[])(struct xpr__completion_conn * conn,
                                    struct xpr__op * op) = {
        [XPR__OP_CONNECT] = connect_done,
        [XPR__OP_READ] = read_done,
        [XPR__OP_WRITE] = write_done,
        [XPR__OP_KICK] = kick_done,
    };
    conn->pending--;
    handlers[op->kind](conn, op);
    settle(conn);
}
