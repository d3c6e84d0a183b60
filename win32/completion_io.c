/*
 * Connections of the completion engine: ConnectEx, the two read modes,
 * the write queue and closing. Observable behaviour matches the readiness
 * engine (portable/stream.c): on_drain, EOF, shutdown-after-drain,
 * flush-then-close, connect failures through on_close.
 *
 * 1. ConnectEx wants a bound socket (WSAEINVAL otherwise): bind to the
 *    wildcard address of the family first. After it completes,
 *    SO_UPDATE_CONNECT_CONTEXT, or getpeername/shutdown fail.
 * 2. A refused loopback connect takes ~2 s on Windows (SYN retries):
 *    SIO_TCP_INITIAL_RTO with no SYN retransmissions makes it fail at once
 *    (Windows 8+; older systems and Wine refuse the ioctl: ignored).
 * 3. A zero-byte WSARecv completes with 0 bytes both when data arrived and
 *    at end of stream; only the non-blocking recv that follows tells them
 *    apart (> 0 data, 0 EOF, WSAEWOULDBLOCK spurious). An idle conn then
 *    pins no buffer: the kernel holds only the context.
 * 4. With several WSARecv posted, completions may be handled out of order
 *    (several workers, or inline completions next to queued packets): each
 *    read has a sequence number and early ones wait, parked in order. A
 *    0-byte completion of a buffered read is the end of stream; reads
 *    after it are dropped.
 * 5. An overlapped WSASend completes in full or fails; at most
 *    max_sends_in_flight per conn are posted, the rest waits (FIFO), so a
 *    peer that never reads cannot pin unbounded memory in the kernel.
 *    Posted bytes are handed to the kernel: they leave xpr_conn_queued
 *    (and count in bytes_written, as libevent-bev counts bytes leaving its
 *    output buffer) then, not when the completion is reaped: the peer may
 *    have read them already, and with workers another thread may be about
 *    to reap it (or, completion.c trap 10, still be posting it).
 *    The queue is empty (drain, shutdown, flush-then-close) only once no
 *    send is in flight either: closesocket would cancel them.
 * 6. closesocket cancels every pending operation, but their packets still
 *    come (ERROR_OPERATION_ABORTED; Wine: ERROR_HANDLES_CLOSED). The conn
 *    is finished (on_close) only once all of them are reaped.
 * 7. Under Wine an abortive close (SO_LINGER 0) is seen as a reset by the
 *    peer only if a receive was pending there, else as EOF; both happen on
 *    Windows too, so either is accepted.
 * 8. WSAENOBUFS / ERROR_NO_SYSTEM_RESOURCES from a post (too much locked
 *    memory) ends that conn with XPR_ENOBUFS; the loop goes on.
 * 9. ConnectEx needs the bind of trap 1, so the local port comes from the
 *    same allocator as a listener's port 0. Connecting to a port whose
 *    listener just closed can get that very port as the local one: a TCP
 *    simultaneous open connects the socket to itself (seen under Wine on
 *    Linux, about 1 run in 15 of tcp/test_connect_to_closed_port; possible
 *    on any TCP stack). Nothing listened there, or the bind would have
 *    failed, so it is reported as what it is: XPR_ECONNREFUSED.
 * 10. An AcceptEx with a receive buffer (accepts_with_data) hands over the
 *    conn with its first bytes (0 bytes: the client closed at once). They
 *    become read number 0, parked like an early pre-posted read, so they
 *    reach on_data first even when on_open paused reading; zero-byte mode
 *    posts no read while anything is parked.
 * 11. Zero-byte mode pays a second operation per read: the zero-byte
 *    WSARecv, then the recv that fetches the data. Under Wine 8 every
 *    Winsock call is two or three wineserver requests (get_handle_fd,
 *    recv_socket / send_socket, set_async_direct_result; socket fds are
 *    never cached), and a read that waits adds an APC round (get_handle_fd,
 *    select) and its packet: measured 9.2 requests per echoed message on
 *    1 x 64 B and 2.6 per message on 100 x 4 KiB, against 6.2 and 2.0 with
 *    one buffered read (select: 8.3 and 1.55). So a conn that has received
 *    data ("hot") posts one buffered WSARecv instead of the zero-byte one,
 *    as in preposted mode with one read; a conn that never sent anything
 *    (the idle ones) still pins no buffer. At most pool_free_max buffered
 *    reads are posted at once in this mode (the memory a hot conn that
 *    went quiet keeps pinned is bounded); beyond that, hot conns post
 *    zero-byte reads too.
 * 12. Fault injection (portable/fault.h): WSARecv, WSASend and ConnectEx
 *    told to fail return at once with WSAENOBUFS (trap 8), the bind of
 *    trap 1 fails with WSAENOBUFS (no port left), and
 *    SO_UPDATE_CONNECT_CONTEXT with WSAENETDOWN. A buffered WSARecv may
 *    be posted with a shorter buffer (a read may always return fewer
 *    bytes). Overlapped sends are not made short: an overlapped WSASend on
 *    a stream socket completes in full or fails, and with several sends in
 *    flight the rest of a short one could not follow in order; should one
 *    ever complete short, the conn ends (write_completed).
 * 13. A write whose bytes cannot all be queued (no memory for a context)
 *    ends the conn with XPR_ENOMEM. Part of them may be queued already,
 *    and the caller cannot tell how many: sending that part and whatever
 *    is written next would leave a gap in the stream the peer cannot see.
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"

#include <mstcpip.h>
#include <stdlib.h>
#include <string.h>

#include "sock.h"

#define READS_PER_COMPLETION 16

static struct xpr__cx_loop *cx_of(struct xpr__cx_conn *cc)
{
    return xpr__cx_of(cc->base.loop);
}

struct xpr__cx_conn *xpr__cx_conn_new(void)
{
    return xpr__calloc(1, sizeof(struct xpr__cx_conn));
}

static void maybe_finish(struct xpr__cx_conn *cc)
{
    /* not while a worker posts on it: its packets may all be reaped by
     * another worker before the poster has the lock back */
    if (cc->dying && cc->pending == 0 && !cc->posting)
        xpr__conn_finish(&cc->base, cc->dying_err);
}

static void drop_list(struct xpr__cx_loop *cx, struct xpr__io_ctx **head)
{
    while (*head != NULL) {
        struct xpr__io_ctx *io = *head;
        *head = io->next;
        xpr__cx_io_put(cx, io);
    }
}

static void close_handle(struct xpr__cx_conn *cc, int reset)
{
    xpr_conn *c = &cc->base;
    if (c->sock == XPR__INVALID_SOCKET)
        return;
    if (reset)
        xpr__sock_set_linger0(c->sock);
    else if (cc->connected && !cc->write_shut)
        shutdown((SOCKET)c->sock, SD_SEND); /* FIN before the close */
    /* closesocket cancels the socket's pending I/O on Windows; under Wine
     * sends (and reads) towards a peer that neither reads nor closes stay
     * pending after it, and the conn would never finish. */
    if (cc->pending != 0)
        CancelIoEx((HANDLE)c->sock, NULL);
    closesocket((SOCKET)c->sock);
    c->sock = XPR__INVALID_SOCKET;
}

/* Closes the socket (cancelling its I/O); the conn finishes once every
 * operation is reaped (trap 6). */
static void close_socket(struct xpr__cx_conn *cc, int err, int reset)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    xpr_conn *c = &cc->base;
    if (cc->dying || (c->flags & XPR__CONN_FLAG_FINISHED))
        return;
    cc->dying = 1;
    cc->dying_err = err;
    c->flags |= XPR__CONN_FLAG_CLOSING; /* the API now answers XPR_ECLOSED */
    c->loop->stats.queued_write_bytes -= cc->queued_bytes;
    cc->queued_bytes = 0;
    drop_list(cx, &cc->send_head);
    cc->send_tail = NULL;
    drop_list(cx, &cc->parked);
    if (cc->posting) {
        /* a worker is posting on this socket outside the run lock: closing
         * it now could let a new socket take its number under that post
         * (completion.c trap 10); the worker closes it when done */
        cc->close_deferred = 1;
        cc->close_reset = (unsigned char)reset;
        return;
    }
    close_handle(cc, reset);
    maybe_finish(cc);
}

void xpr__cx_close_deferred(struct xpr__cx_conn *cc)
{
    cc->close_deferred = 0;
    close_handle(cc, cc->close_reset);
    maybe_finish(cc);
}

static int reading_wanted(const struct xpr__cx_conn *cc)
{
    /* zero-byte mode drains the socket itself: not past parked bytes (an
     * accept's first data, trap 10) */
    if (cc->parked != NULL &&
        xpr__cx_of(cc->base.loop)->read_mode == XPR_READ_ZERO_BYTE)
        return 0;
    return cc->connected && !cc->dying &&
           !(cc->base.flags & (XPR__CONN_PAUSED | XPR__CONN_FLAG_CLOSING |
                               XPR__CONN_EOF | XPR__CONN_FLAG_FINISHED));
}

static int post_one_read(struct xpr__cx_conn *cc, int large, int hot)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    struct xpr__io_ctx *io = xpr__cx_io_get(cx, large);
    DWORD flags = 0;
    int ok, rc;
    if (io == NULL)
        return XPR_ENOMEM;
    io->hot = (unsigned char)hot;
    io->kind = XPR__OP_READ;
    io->owner = cc;
    io->seq = cc->read_seq_next++;
    io->wsabuf.buf = (char *)io->buf;
    io->wsabuf.len = /* trap 3, 12 */
        large ? (ULONG)xpr__fault_short(XPR__FAULT_RECV, io->cap) : 0;
    rc = xpr__cx_io_arm(cx, io);
    if (rc != 0) {
        xpr__cx_io_put(cx, io);
        return rc;
    }
    if (xpr__cx_defers_posts(cx)) { /* completion.c trap 10 */
        xpr__cx_outbox_add(cx, cc, io);
        rc = 0;
    } else {
        if (xpr__fault(XPR__FAULT_RECV)) { /* trap 12 */
            WSASetLastError(WSAENOBUFS);
            ok = 0;
        } else {
            ok = WSARecv((SOCKET)cc->base.sock, &io->wsabuf, 1, NULL, &flags,
                         &io->ov, cx->harvester->routine) == 0;
        }
        rc = xpr__cx_posted(cx, io, &cc->pending, cc->skip_on_success, ok);
    }
    if (rc == 0 && hot)
        cx->hot_reads++;
    return rc;
}

/* trap 11: zero-byte mode, a conn that has received data */
static int hot_read(const struct xpr__cx_conn *cc)
{
    const struct xpr__cx_loop *cx = xpr__cx_of(cc->base.loop);
    return cc->read_hot && cx->hot_reads < cx->pool_free_max;
}

static void post_reads(struct xpr__cx_conn *cc)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    int preposted = cx->read_mode == XPR_READ_PREPOSTED;
    unsigned want = preposted ? cx->preposted_reads : 1;
    while (reading_wanted(cc) && cc->reads_posted < want) {
        int hot = !preposted && hot_read(cc);
        int rc = post_one_read(cc, preposted || hot, hot);
        if (rc != 0) {
            close_socket(cc, rc, 0); /* trap 8 */
            return;
        }
        cc->reads_posted++;
    }
}

/* Zero-byte mode: the socket is readable; read it dry (bounded). */
static void drain(struct xpr__cx_conn *cc)
{
    xpr_conn *c = &cc->base;
    xpr_loop *loop = c->loop;
    int i;
    for (i = 0; i < READS_PER_COMPLETION && reading_wanted(cc); i++) {
        long n = xpr__sock_recv(c->sock, loop->read_buf, loop->read_buf_size);
        if (n > 0) {
            cc->read_hot = 1; /* trap 11 */
            xpr__conn_note_read(c, (size_t)n);
            if (c->cb.on_data != NULL)
                c->cb.on_data(c, loop->read_buf, (size_t)n);
            if ((size_t)n < loop->read_buf_size)
                break; /* most likely dry: the next read tells */
        } else if (n == 0) {
            c->flags |= XPR__CONN_EOF;
            xpr__conn_deliver_eof(c);
            return;
        } else if (n == XPR_EAGAIN) {
            break;
        } else {
            close_socket(cc, (int)n, 0);
            return;
        }
    }
    post_reads(cc);
}

/* Preposted mode: delivers parked reads in sequence (trap 4). */
static void deliver_parked(struct xpr__cx_conn *cc)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    xpr_conn *c = &cc->base;
    while (cc->parked != NULL && cc->parked->seq == cc->read_seq_deliver) {
        struct xpr__io_ctx *io = cc->parked;
        if (cc->dying ||
            (c->flags & (XPR__CONN_PAUSED | XPR__CONN_FLAG_CLOSING |
                         XPR__CONN_FLAG_FINISHED)))
            return;
        cc->parked = io->next;
        cc->read_seq_deliver++;
        if (io->os_error != 0) {
            int err = xpr__error_from_os(io->os_error);
            xpr__cx_io_put(cx, io);
            close_socket(cc, err, 0);
            return;
        }
        if (io->bytes == 0) {
            xpr__cx_io_put(cx, io);
            drop_list(cx, &cc->parked);
            c->flags |= XPR__CONN_EOF;
            xpr__conn_deliver_eof(c);
            return;
        }
        xpr__conn_note_read(c, io->bytes);
        if (c->cb.on_data != NULL)
            c->cb.on_data(c, io->buf, io->bytes);
        xpr__cx_io_put(cx, io);
    }
}

static void park(struct xpr__cx_conn *cc, struct xpr__io_ctx *io)
{
    struct xpr__io_ctx **at = &cc->parked;
    while (*at != NULL && (*at)->seq < io->seq)
        at = &(*at)->next;
    io->next = *at;
    *at = io;
}

static void read_completed(struct xpr__cx_conn *cc, struct xpr__io_ctx *io)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    cc->reads_posted--;
    if (io->hot)
        cx->hot_reads--;
    if (cc->dying || (cc->base.flags & XPR__CONN_EOF)) {
        xpr__cx_io_put(cx, io);
        return;
    }
    if (io->large) {
        park(cc, io);
        deliver_parked(cc);
        post_reads(cc);
        return;
    }
    cc->read_seq_deliver = io->seq + 1; /* one read at a time here */
    if (io->os_error != 0) {
        int err = xpr__error_from_os(io->os_error);
        xpr__cx_io_put(cx, io);
        close_socket(cc, err, 0);
        return;
    }
    xpr__cx_io_put(cx, io);
    drain(cc);
}

/* ---- writes ---- */

/* The queue is empty (nothing waiting, nothing in flight). */
static void queue_empty(struct xpr__cx_conn *cc, int had_bytes)
{
    xpr_conn *c = &cc->base;
    if (had_bytes && !(c->flags & XPR__CONN_FLAG_CLOSING))
        xpr__conn_deliver_drain(c);
    if (cc->dying || (c->flags & XPR__CONN_FLAG_FINISHED))
        return;
    /* on_drain may have written again (and asked for a FIN or a close):
     * those wait until that is sent too; its completion comes back here. */
    if (cc->queued_bytes != 0 || cc->sends_in_flight != 0)
        return;
    if (c->flags & XPR__CONN_FLAG_CLOSING) {
        close_socket(cc, 0, 0);
        return;
    }
    if ((c->flags & XPR__CONN_SHUT_WANTED) && !cc->write_shut) {
        int rc = xpr__sock_shutdown_write(c->sock);
        cc->write_shut = 1;
        if (rc != 0 && rc != XPR_ENOTSUP)
            close_socket(cc, rc, 0);
    }
}

static int pump_sends(struct xpr__cx_conn *cc)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    while (cc->connected && !cc->dying && cc->send_head != NULL &&
           cc->sends_in_flight < cx->max_sends) {
        struct xpr__io_ctx *io = cc->send_head;
        size_t len = io->len;
        int ok, rc;
        cc->send_head = io->next;
        if (cc->send_head == NULL)
            cc->send_tail = NULL;
        io->wsabuf.buf = (char *)io->buf;
        io->wsabuf.len = (ULONG)len;
        rc = xpr__cx_io_arm(cx, io);
        if (rc != 0) { /* its bytes leave the count with the rest */
            xpr__cx_io_put(cx, io);
            close_socket(cc, rc, 0);
            return rc;
        }
        if (xpr__cx_defers_posts(cx)) { /* completion.c trap 10 */
            xpr__cx_outbox_add(cx, cc, io);
        } else {
            if (xpr__fault(XPR__FAULT_SEND)) { /* trap 12 */
                WSASetLastError(WSAENOBUFS);
                ok = 0;
            } else {
                ok = WSASend((SOCKET)cc->base.sock, &io->wsabuf, 1, NULL, 0,
                             &io->ov, cx->harvester->routine) == 0;
            }
            rc = xpr__cx_posted(cx, io, &cc->pending, cc->skip_on_success, ok);
            if (rc != 0) {
                close_socket(cc, rc, 0);
                return rc;
            }
        }
        cc->sends_in_flight++;
        cc->queued_bytes -= len; /* handed to the kernel (trap 5) */
        cc->base.loop->stats.queued_write_bytes -= len;
        cc->base.loop->stats.bytes_written += len;
    }
    return 0;
}

static int sends_idle(const struct xpr__cx_conn *cc)
{
    return cc->queued_bytes == 0 && cc->sends_in_flight == 0;
}

static void write_completed(struct xpr__cx_conn *cc, struct xpr__io_ctx *io)
{
    struct xpr__cx_loop *cx = cx_of(cc);
    size_t len = io->len;
    DWORD sent = io->bytes;
    int err = io->os_error;
    cc->sends_in_flight--;
    xpr__cx_io_put(cx, io);
    if (cc->dying)
        return;
    if (err != 0 || sent != len) {
        close_socket(cc, err ? xpr__error_from_os(err) : XPR_ECONNRESET, 0);
        return;
    }
    if (pump_sends(cc) == 0 && sends_idle(cc))
        queue_empty(cc, 1);
}

int xpr__cx_write(xpr_conn *c, const void *p, size_t n)
{
    struct xpr__cx_conn *cc = (struct xpr__cx_conn *)c;
    struct xpr__cx_loop *cx = cx_of(cc);
    const unsigned char *from = p;
    if (cc->dying)
        return XPR_ECLOSED;
    while (n > 0) {
        struct xpr__io_ctx *io = cc->send_tail;
        size_t k;
        if (io == NULL || io->len == io->cap) {
            io = xpr__cx_io_get(cx, 1);
            if (io == NULL) { /* trap 13 */
                close_socket(cc, XPR_ENOMEM, 0);
                return XPR_ENOMEM;
            }
            io->kind = XPR__OP_WRITE;
            io->owner = cc;
            xpr__io_append(&cc->send_head, &cc->send_tail, io);
        }
        k = io->cap - io->len;
        if (k > n)
            k = n;
        memcpy(io->buf + io->len, from, k);
        io->len += k;
        from += k;
        n -= k;
        cc->queued_bytes += k;
        c->loop->stats.queued_write_bytes += k;
    }
    return pump_sends(cc);
}

size_t xpr__cx_queued(const xpr_conn *c)
{
    return ((const struct xpr__cx_conn *)c)->queued_bytes;
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
    /* trap 2: absent before Windows 8 and under Wine; harmless then */
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
    if (xpr__fault(XPR__FAULT_BIND)) { /* trap 12 */
        WSASetLastError(WSAENOBUFS);
        return xpr__wsa_error();
    }
    return bind(s, (struct sockaddr *)&ss, len) == 0 ? 0 : xpr__wsa_error();
}

int xpr__cx_connect(xpr_loop *loop, const struct xpr__addr *addr,
                    const struct xpr_conn_callbacks *cb, void *arg,
                    xpr_conn **out)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    struct sockaddr_storage ss;
    int len = xpr__sock_addr_to_os(addr, &ss);
    struct xpr__cx_conn *cc;
    struct xpr__io_ctx *io;
    xpr_socket_t opened;
    SOCKET s;
    int rc = xpr__sock_open(addr->family, &opened), ok;
    if (rc != 0)
        return rc;
    s = (SOCKET)opened;
    cc = xpr__cx_conn_new();
    io = xpr__cx_io_get(cx, 0);
    rc = cc == NULL || io == NULL ? XPR_ENOMEM : bind_any(s, addr->family);
    if (rc == 0)
        rc = xpr__cx_lookup_extensions(cx, s);
    if (rc == 0)
        rc = xpr__cx_associate(cx, s, addr->family, &cc->skip_on_success);
    if (rc != 0) {
        closesocket(s);
        free(cc);
        if (io != NULL)
            xpr__cx_io_put(cx, io);
        return rc;
    }
    initial_rto(s, addr);
    xpr__conn_init(&cc->base, loop, cb, arg, opened);
    io->kind = XPR__OP_CONNECT;
    io->owner = cc;
    rc = xpr__cx_io_arm(cx, io);
    if (rc == 0) {
        if (xpr__fault(XPR__FAULT_CONNECT)) { /* trap 12 */
            WSASetLastError(WSAENOBUFS);
            ok = FALSE;
        } else {
            ok = cx->connect_ex(s, (struct sockaddr *)&ss, len, NULL, 0, NULL,
                                &io->ov);
        }
        rc = xpr__cx_posted(cx, io, &cc->pending, cc->skip_on_success, ok);
    } else {
        xpr__cx_io_put(cx, io);
    }
    if (rc != 0) /* known to the core already: on_close reports it */
        close_socket(cc, rc, 0);
    *out = &cc->base;
    return 0;
}

/* Accepted, or connected: reads start, waiting writes go. An accept's
 * first bytes become the conn's first read (trap 10). */
void xpr__cx_conn_start(struct xpr__cx_conn *cc, struct xpr__io_ctx *first)
{
    if (first != NULL) {
        if (cc->dying || xpr__conn_done(&cc->base)) { /* on_open closed it */
            xpr__cx_io_put(cx_of(cc), first);
            return;
        }
        first->kind = XPR__OP_READ;
        first->owner = cc;
        first->os_error = 0;
        first->seq = cc->read_seq_next++;
        park(cc, first);
        if (!cc->dying)
            deliver_parked(cc);
    }
    if (cc->dying || xpr__conn_done(&cc->base))
        return;
    post_reads(cc);
    if (pump_sends(cc) == 0 && sends_idle(cc))
        queue_empty(cc, 0);
}

/* trap 9: a TCP simultaneous open of a socket with itself. */
static int connected_to_itself(SOCKET s)
{
    struct sockaddr_storage local, peer;
    int local_len = (int)sizeof(local), peer_len = (int)sizeof(peer);
    memset(&local, 0, sizeof(local));
    memset(&peer, 0, sizeof(peer));
    if (getsockname(s, (struct sockaddr *)&local, &local_len) != 0 ||
        getpeername(s, (struct sockaddr *)&peer, &peer_len) != 0)
        return 0;
    return local_len == peer_len && memcmp(&local, &peer, local_len) == 0;
}

static void connect_completed(struct xpr__cx_conn *cc, struct xpr__io_ctx *io)
{
    int err = io->os_error;
    xpr__cx_io_put(cx_of(cc), io);
    if (cc->dying)
        return;
    if (err == 0 && xpr__fault(XPR__FAULT_SOCKOPT)) /* trap 12 */
        err = WSAENETDOWN;
    else if (err == 0 && setsockopt((SOCKET)cc->base.sock, SOL_SOCKET,
                                    SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
        err = WSAGetLastError();
    if (err == 0 && connected_to_itself((SOCKET)cc->base.sock))
        err = WSAECONNREFUSED; /* trap 9 */
    if (err != 0) {
        close_socket(cc, xpr__error_from_os(err), 0);
        return;
    }
    cc->connected = 1;
    xpr__conn_opened(&cc->base);
    xpr__cx_conn_start(cc, NULL);
}

/* ---- routing and the ops ---- */

void xpr__cx_conn_completed(struct xpr__cx_loop *cx, struct xpr__io_ctx *io)
{
    struct xpr__cx_conn *cc = io->owner;
    (void)cx;
    cc->pending--;
    switch (io->kind) {
    case XPR__OP_CONNECT:
        connect_completed(cc, io);
        break;
    case XPR__OP_READ:
        read_completed(cc, io);
        break;
    default:
        write_completed(cc, io);
        break;
    }
    maybe_finish(cc);
}

void xpr__cx_conn_kicked(struct xpr__cx_conn *cc)
{
    cc->pending--;
    if (!cc->dying) {
        deliver_parked(cc);
        post_reads(cc);
    }
    maybe_finish(cc);
}

int xpr__cx_set_reading(xpr_conn *c, int on)
{
    struct xpr__cx_conn *cc = (struct xpr__cx_conn *)c;
    if (!on || cc->dying)
        return 0;           /* paused: simply no more reads are posted */
    if (cc->parked != NULL) /* delivered from the loop, not from here */
        xpr__cx_kick(cx_of(cc), cc);
    post_reads(cc);
    return 0;
}

int xpr__cx_shutdown(xpr_conn *c)
{
    struct xpr__cx_conn *cc = (struct xpr__cx_conn *)c;
    if (cc->connected && sends_idle(cc))
        queue_empty(cc, 0);
    return 0;
}

int xpr__cx_close(xpr_conn *c)
{
    struct xpr__cx_conn *cc = (struct xpr__cx_conn *)c;
    if (cc->connected && sends_idle(cc))
        queue_empty(cc, 0);
    return 0;
}

void xpr__cx_close_now(xpr_conn *c, int err, int reset)
{
    close_socket((struct xpr__cx_conn *)c, err, reset);
}

void xpr__cx_conn_free(xpr_conn *c)
{
    free(c);
}
