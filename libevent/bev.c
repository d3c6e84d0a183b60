/*
 * libevent-bev: a transport (backend.h) made of evconnlistener and
 * bufferevents, kept for comparison with `libevent` (poller.c), the fast
 * way to use libevent (docs/design.md). Timers are evtimers; posts wake
 * the base with event_active() (base.c).
 *
 * libevent quirks handled here:
 *   1. A bufferevent queues every write and sends it on the next writable
 *      event. conn_send copies every run offered into the output buffer
 *      (IOCP: quirk 16); the bytes stay in flight in the core's queue until
 *      libevent drains them, so on_drain follows every burst.
 *   2. The write callback runs only when the output falls to its low
 *      watermark (0: empty). The watermark is set to the largest size, so
 *      it runs after every write that sent something and reports what the
 *      output's evbuffer callback (output_changed) counted as drained. It
 *      also runs with nothing written: nothing drained, nothing reported.
 *   3. bufferevent_free() only drops a reference; the teardown (and the
 *      close of BEV_OPT_CLOSE_ON_FREE) runs on a later pass, or never. On
 *      plain sockets xpr owns the descriptor: disable (out of the poll set
 *      at once), free, close, then xpr__conn_closed. IOCP bufferevents keep
 *      BEV_OPT_CLOSE_ON_FREE: their free closes the socket at once, and
 *      libevent holds the buffers until its overlapped operations end.
 *   4. That reference keeps a bufferevent alive while its own callback runs,
 *      so a conn may close from on_open, on_data or on_drain: free clears
 *      the callbacks and this file never touches the bufferevent again.
 *   5. BEV_EVENT_CONNECTED comes from inside the write callback, which goes
 *      on writing if EV_WRITE is enabled: a release disables both first.
 *   6. On EOF the bufferevent disables EV_READ; enabling it again would
 *      read the EOF once more, so a conn that saw EOF is not re-enabled.
 *   7. Bytes already in the input raise no new read event: turning reading
 *      on with some held (or an EOF not delivered) triggers the read
 *      callback, deferred. EV_READ is off while reading is, so the input
 *      holds at most one read's worth (16 KiB by default).
 *   8. The read callback hands the input's first chain to the core in place
 *      and drains it after the call.
 *   9. bufferevent_socket_connect() turns an immediate refusal (BSD and
 *      Wine loopback) into a deferred BEV_EVENT_ERROR whose saved error may,
 *      on Windows, be the thread's last error after a successful
 *      getsockopt() (Wine: 0, or WSAEWOULDBLOCK). So a failed connect reads
 *      SO_ERROR first (error_of): Winsock keeps it; on Linux libevent's read
 *      cleared it and errno is the answer. xpr makes the socket itself
 *      (close-on-exec, the FD_SETSIZE check of base.c).
 *  10. writev() cannot take MSG_NOSIGNAL: SIGPIPE is ignored on POSIX
 *      unless the application set a handler (base.c).
 *  11. evconnlistener accepts until EAGAIN in one callback and may be freed
 *      inside it. Accept errors go to an error callback (else libevent
 *      warns each time); out of descriptors the socket stays readable, so
 *      the core pauses accepting (evconnlistener_disable) for a while.
 *  12. A bufferevent registers its events when enabled (checked) and when
 *      its output goes from empty to non-empty (not checked by libevent: a
 *      failed add would leave bytes in flight forever). So a send to an
 *      empty output enables EV_WRITE itself and every enable is checked:
 *      the error ends the conn.
 *
 * IOCP bufferevents (libevent-iocp, libevent's "socket_async"):
 *  13. Completions run on libevent's IOCP threads; bufferevent callbacks
 *      are deferred to the loop thread, evbuffer callbacks are not:
 *      output_changed runs on an IOCP thread, under the output's lock, and
 *      only adds to bc->drained, which the write callback takes under that
 *      lock. The output holds copies: a WSASend may read its buffer after
 *      the conn's queue is freed.
 *  14. Output drains when its WSASend (one in flight) completes, and the
 *      write callback is deferred: a byte is reported sent on the loop's
 *      pass after its send completed.
 *  15. A 0-byte read (EOF) clears the bufferevent's "ok" flag: no WSASend
 *      starts after it, so no half-close and no flush on EOF. Only
 *      bufferevent_setfd() with another descriptor sets it again:
 *      rearm_after_eof() sets EVUTIL_INVALID_SOCKET, then the socket (both
 *      get ERROR_INVALID_PARAMETER from CreateIoCompletionPort, which setfd
 *      tolerates); should libevent refuse, the conn fails with XPR_EIO
 *      after its EOF. A send completing while the flag is clear runs no
 *      write callback: the EOF handler reports what was drained.
 *  16. The deferred report of quirk 14 lets the peer hold bytes the sender
 *      still counts as queued. So the output counts as the kernel's
 *      (XPR__TRANSPORT_KERNEL_TAKES: written when taken, out of
 *      xpr_conn_queued), and conn_send fills it up to read_buffer_size
 *      bytes only: the rest waits in the core's queue, where the
 *      application sees it and a paused peer holds it back.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "alloc.h"
#include "base.h"
#include "fault.h"
#include "platform_backends.h"
#include "sock.h"

struct bev_conn {
    struct xpr_conn base;    /* first: the core sees an xpr_conn */
    struct bufferevent *bev; /* NULL once released */
    struct evbuffer_cb_entry *out_cb;
    /* Bytes libevent drained from the output and not yet reported sent.
     * Quirk 13: written under the output buffer's lock, possibly on an
     * IOCP thread. */
    size_t drained;
    unsigned char eof_seen; /* the bufferevent read EOF */
};

struct bev_listener {
    struct xpr_listener base;
    struct evconnlistener *evl;
};

static struct bev_conn *to_bev(xpr_conn *c)
{
    return (struct bev_conn *)c;
}

static struct xpr__levent *levent_of(const xpr_loop *loop)
{
    return loop->backend;
}

/* Quirk 3: who closes a conn's socket. */
static int libevent_closes_sockets(const xpr_loop *loop)
{
    return (levent_of(loop)->flags & XPR__LEVENT_IOCP) != 0;
}

static struct evbuffer *output_of(const struct bev_conn *bc)
{
    return bufferevent_get_output(bc->bev);
}

/* Quirk 12: bufferevent_enable, checked. 0 or the error. */
static int enable(struct bufferevent *bev, short what)
{
    int rc;
    if (xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    if (bufferevent_enable(bev, what) == 0)
        return 0;
    rc = xpr__sock_error();
    return rc == 0 || rc == XPR_EAGAIN ? XPR_ENOMEM : rc;
}

/* Frees the bufferevent and closes the socket (quirk 3). */
static void release_bev(struct bev_conn *bc, int reset)
{
    struct bufferevent *bev = bc->bev;
    xpr_conn *c = &bc->base;
    struct evbuffer *out;
    if (bev == NULL)
        return;
    bc->bev = NULL;
    out = bufferevent_get_output(bev);
    /* Sent but not reported: counted here, unless they counted when taken
     * (IOCP, quirk 16). The rest is dropped (an IOCP send still in flight
     * may complete later). */
    evbuffer_lock(out);
    if (bc->out_cb != NULL)
        evbuffer_remove_cb_entry(out, bc->out_cb);
    if (!libevent_closes_sockets(c->loop))
        c->loop->stats.bytes_written += bc->drained;
    bc->drained = 0;
    evbuffer_unlock(out);
    bufferevent_disable(bev, EV_READ | EV_WRITE); /* quirk 5 */
    if (libevent_closes_sockets(c->loop)) {
        if (reset && c->sock != XPR__INVALID_SOCKET)
            xpr__sock_set_linger0((xpr_socket_t)bufferevent_getfd(bev));
        bufferevent_free(bev);
    } else {
        bufferevent_free(bev);
        if (c->sock != XPR__INVALID_SOCKET)
            xpr__sock_close(c->sock, reset);
    }
    c->sock = XPR__INVALID_SOCKET;
}

/* ---- bufferevent callbacks ---- */

/* Hands buffered input to the core while it wants data, then a pending
 * EOF (quirks 7, 8). */
static void deliver_input(struct bufferevent *bev, void *arg)
{
    struct bev_conn *bc = arg;
    xpr_conn *c = &bc->base;
    (void)bev;
    while (xpr__conn_wants_data(c)) {
        struct evbuffer *in = bufferevent_get_input(bc->bev);
        struct evbuffer_iovec chunk;
        if (evbuffer_get_length(in) == 0) {
            if (bc->eof_seen)
                xpr__conn_eof(c);
            return;
        }
        if (evbuffer_peek(in, -1, NULL, &chunk, 1) < 1)
            return;
        if (chunk.iov_len == 0) { /* an empty leading chain: join up */
            chunk.iov_len = evbuffer_get_length(in);
            chunk.iov_base = evbuffer_pullup(in, -1);
        }
        xpr__conn_received(c, chunk.iov_base, chunk.iov_len);
        if (bc->bev == NULL)
            return; /* closed by the callback; the buffer went with it */
        evbuffer_drain(in, chunk.iov_len);
    }
}

/* Quirks 2, 13, 14: reports what libevent drained since the last call. */
static void report_drained(struct bufferevent *bev, void *arg)
{
    struct bev_conn *bc = arg;
    struct evbuffer *out = output_of(bc);
    size_t n;
    (void)bev;
    evbuffer_lock(out);
    n = bc->drained;
    bc->drained = 0;
    evbuffer_unlock(out);
    if (n > 0)
        xpr__conn_sent(&bc->base, n);
}

/* Quirk 13: may run on an IOCP thread, with the output buffer locked. */
static void output_changed(struct evbuffer *buf,
                           const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    ((struct bev_conn *)arg)->drained += info->n_deleted; /* drained = sent */
}

/* Why a bufferevent failed, given the socket error saved for its event. */
static int error_of(struct bev_conn *bc, int os_error)
{
    xpr_conn *c = &bc->base;
    int rc;
    if (!c->connected && c->sock != XPR__INVALID_SOCKET) {
        rc = xpr__sock_connect_result(c->sock); /* quirk 9 */
        if (rc != 0 && rc != XPR_EAGAIN)
            return rc;
    }
    rc = os_error != 0 ? xpr__error_from_os(os_error) : XPR_EIO;
    return rc == XPR_EAGAIN ? XPR_EIO : rc; /* no error is no reason */
}

/* Quirk 15: lets an IOCP bufferevent write again after it read EOF.
 * Returns 0, or -1 when libevent would not. */
static int rearm_after_eof(struct bev_conn *bc)
{
    struct bufferevent *bev = bc->bev;
    evutil_socket_t fd = bufferevent_getfd(bev);
    int rc;
    bufferevent_disable(bev, EV_READ); /* another read would see EOF again */
    bufferevent_lock(bev);
    rc = bufferevent_setfd(bev, EVUTIL_INVALID_SOCKET);
    if (rc == 0)
        rc = bufferevent_setfd(bev, fd);
    bufferevent_unlock(bev);
    if (rc != 0 || bufferevent_enable(bev, EV_WRITE) != 0)
        return -1;
    return 0;
}

static void bev_event(struct bufferevent *bev, short what, void *arg)
{
    int os_error = EVUTIL_SOCKET_ERROR(); /* quirk 9: before anything */
    struct bev_conn *bc = arg;
    xpr_conn *c = &bc->base;
    if (xpr__conn_done(c))
        return;
    if (what & BEV_EVENT_CONNECTED) {
        xpr__conn_connected(c);
    } else if (what & BEV_EVENT_ERROR) {
        xpr__conn_failed(c, error_of(bc, os_error));
    } else if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
        int stuck = libevent_closes_sockets(c->loop) && rearm_after_eof(bc);
        report_drained(bev, bc); /* quirk 15: sends completed meanwhile */
        if (bc->bev == NULL || xpr__conn_done(c))
            return;
        bc->eof_seen = 1;
        deliver_input(bev, bc); /* what was held while paused, then EOF */
        if (stuck && !xpr__conn_done(c))
            xpr__conn_failed(c, XPR_EIO); /* nothing can be written */
    } else if (what & BEV_EVENT_EOF) {
        xpr__conn_failed(c, XPR_EIO); /* a send that wrote nothing */
    }
}

/* A bufferevent on the conn's socket. 0, or XPR_ENOMEM with the socket
 * closed, or with keep_socket still open (an adopted socket goes back to
 * the application). */
static int attach_bev(struct bev_conn *bc, int keep_socket)
{
    xpr_conn *c = &bc->base;
    int options = libevent_closes_sockets(c->loop) ? BEV_OPT_CLOSE_ON_FREE : 0;
    bc->bev = bufferevent_socket_new(levent_of(c->loop)->base,
                                     (evutil_socket_t)c->sock, options);
    if (bc->bev == NULL) {
        if (!keep_socket) {
            xpr__sock_close(c->sock, 0);
            c->sock = XPR__INVALID_SOCKET;
        }
        return XPR_ENOMEM;
    }
    bc->out_cb = evbuffer_add_cb(output_of(bc), output_changed, bc);
    if (bc->out_cb == NULL) {
        xpr_socket_t s = c->sock;
        if (keep_socket) { /* the free must not close it */
            if (libevent_closes_sockets(c->loop))
                bufferevent_setfd(bc->bev, EVUTIL_INVALID_SOCKET);
            c->sock = XPR__INVALID_SOCKET;
        }
        release_bev(bc, 0);
        if (keep_socket)
            c->sock = s;
        return XPR_ENOMEM;
    }
    bufferevent_setwatermark(bc->bev, EV_WRITE, SIZE_MAX, 0); /* quirk 2 */
    bufferevent_setcb(bc->bev, deliver_input, report_drained, bev_event, bc);
    return 0;
}

/* ---- listener ---- */

static void bev_accepted(struct evconnlistener *evl, evutil_socket_t fd,
                         struct sockaddr *sa, int salen, void *arg)
{
    struct bev_listener *bl = arg;
    xpr_listener *l = &bl->base;
    xpr_conn *c;
    (void)evl;
    (void)sa;
    (void)salen;
    if (!xpr__levent_fd_fits(levent_of(l->loop), fd) ||
        (c = xpr__conn_new_accepted(l, (xpr_socket_t)fd)) == NULL) {
        xpr__sock_close((xpr_socket_t)fd, 0);
        return;
    }
    /* A socket libevent cannot watch (past the select method's
     * FD_SETSIZE, above) or a bufferevent that cannot be made is dropped
     * unseen, like a failed accept. Reading starts when the core asks,
     * after on_open: a conn paused there never reads. */
    if (attach_bev(to_bev(c), 0) != 0) {
        xpr__conn_discard(c);
        return;
    }
    /* on_open may close the listener: bl is not touched after this */
    xpr__listener_conn_opened(l, c);
}

/* Quirk 11. */
static void bev_accept_failed(struct evconnlistener *evl, void *arg)
{
    struct bev_listener *bl = arg;
    (void)evl;
    xpr__listener_accept_failed(&bl->base, xpr__sock_accept_error());
}

static int bev_listener_set_accepting(xpr_listener *l, int on)
{
    struct bev_listener *bl = (struct bev_listener *)l;
    if (!on)
        return evconnlistener_disable(bl->evl) == 0 ? 0 : XPR_ENOMEM;
    if (xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    return evconnlistener_enable(bl->evl) == 0 ? 0 : XPR_ENOMEM;
}

static int bev_listen(xpr_loop *loop, const struct xpr__addr *addr, int backlog,
                      xpr_listener **out)
{
    /* REUSEABLE matters only to evconnlistener_new_bind; the socket layer
     * already bound with the platform's reuse rule. The socket listens, so
     * backlog 0 tells libevent not to call listen() again. */
    const unsigned options =
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
    struct bev_listener *bl = xpr__calloc(1, sizeof(*bl));
    int rc;
    if (bl == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_listen(addr, backlog, &bl->base.sock, &bl->base.bound);
    if (rc != 0) {
        free(bl);
        return rc;
    }
    rc = XPR_EMFILE;
    if (xpr__levent_fd_fits(levent_of(loop), (evutil_socket_t)bl->base.sock)) {
        rc = XPR_ENOMEM;
        bl->evl =
            evconnlistener_new(levent_of(loop)->base, bev_accepted, bl, options,
                               0, (evutil_socket_t)bl->base.sock);
    }
    if (bl->evl == NULL) {
        xpr__sock_close(bl->base.sock, 0);
        free(bl);
        return rc;
    }
    evconnlistener_set_error_cb(bl->evl, bev_accept_failed);
    *out = &bl->base;
    return 0;
}

static void bev_listener_close(xpr_listener *l)
{
    struct bev_listener *bl = (struct bev_listener *)l;
    /* Closes the socket now, or when a running accept callback returns. */
    evconnlistener_free(bl->evl);
    free(bl);
}

/* ---- transport operations ---- */

static int bev_conn_connect(xpr_conn *c, const struct xpr__addr *addr)
{
    struct bev_conn *bc = to_bev(c);
    struct sockaddr_storage ss;
    int sslen = xpr__sock_addr_to_os(addr, &ss);
    xpr_socket_t s;
    int bound, rc = xpr__conn_open_socket(c, addr->family, &s, &bound);
    if (rc != 0)
        return rc;
    if (!xpr__levent_fd_fits(levent_of(c->loop), (evutil_socket_t)s)) {
        xpr__sock_close(s, 0);
        return XPR_EMFILE;
    }
    c->sock = s;
    rc = attach_bev(bc, 0);
    if (rc != 0)
        return rc;
    /* libevent calls connect() on our socket (ConnectEx with IOCP); the
     * core turns reading on once connected */
    if (bufferevent_socket_connect(bc->bev, (struct sockaddr *)&ss, sslen) !=
        0) {
        rc = xpr__sock_error();
        release_bev(bc, 0);
        return rc;
    }
    return 0;
}

/* The adopted socket is connected already: BEV_EVENT_CONNECTED, deferred
 * to the loop, reports it as a connect's would. libevent-iocp joins it to
 * libevent's completion port here (for good: a socket never leaves a
 * port). */
static int bev_conn_adopt(xpr_conn *c)
{
    struct bev_conn *bc = to_bev(c);
    int rc;
    if (!xpr__levent_fd_fits(levent_of(c->loop), (evutil_socket_t)c->sock))
        return XPR_EMFILE;
    rc = attach_bev(bc, 1);
    if (rc == 0)
        bufferevent_trigger_event(bc->bev, BEV_EVENT_CONNECTED,
                                  BEV_TRIG_DEFER_CALLBACKS);
    return rc;
}

static int bev_conn_set_reading(xpr_conn *c, int on)
{
    struct bev_conn *bc = to_bev(c);
    if (!on)
        return bufferevent_disable(bc->bev, EV_READ) == 0 ? 0 : XPR_EIO;
    if (!bc->eof_seen && !(bufferevent_get_enabled(bc->bev) & EV_READ)) {
        int rc = enable(bc->bev, EV_READ); /* quirk 6 */
        if (rc != 0)
            return rc;
    }
    if (bc->eof_seen ||
        evbuffer_get_length(bufferevent_get_input(bc->bev)) > 0) /* quirk 7 */
        bufferevent_trigger(bc->bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS |
                                BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

/* Quirk 1: the runs go into the output buffer, in flight; on IOCP up to
 * its cap (quirk 16). */
static long bev_conn_send(xpr_conn *c, const void *const *bases,
                          const size_t *lens, size_t runs)
{
    struct bev_conn *bc = to_bev(c);
    struct evbuffer *out = output_of(bc);
    size_t held = evbuffer_get_length(out);
    size_t room = SIZE_MAX, taken = 0, i;
    if (libevent_closes_sockets(c->loop))
        room =
            held < c->loop->read_buf_size ? c->loop->read_buf_size - held : 0;
    for (i = 0; i < runs && taken < room; i++) {
        size_t n = lens[i] < room - taken ? lens[i] : room - taken;
        if (evbuffer_add(out, bases[i], n) != 0)
            return XPR_ENOMEM;
        taken += n;
    }
    /* Quirk 12; IOCP bufferevents register nothing. */
    if (held == 0 && !libevent_closes_sockets(c->loop)) {
        int rc = enable(bc->bev, EV_WRITE);
        if (rc != 0)
            return rc;
    }
    return (long)taken;
}

static int bev_conn_shutdown(xpr_conn *c)
{
    return xpr__sock_shutdown_write(c->sock);
}

static void bev_conn_close(xpr_conn *c, int reset)
{
    release_bev(to_bev(c), reset);
    xpr__conn_closed(c);
}

/* ---- loop ---- */

/* libevent-iocp is this back end with XPR__LEVENT_IOCP (Windows): its
 * registry row carries the flag as its variant. */
static int bev_loop_init(xpr_loop *loop)
{
    struct xpr__levent *lv;
    int rc = xpr__levent_new(loop->entry->variant | XPR__LEVENT_EVTIMERS, &lv);
    if (rc != 0)
        return rc;
    if (loop->entry->variant & XPR__LEVENT_IOCP) /* quirk 16 */
        loop->conn_flags |= XPR__TRANSPORT_KERNEL_TAKES;
    xpr__levent_ignore_sigpipe();
    loop->backend = lv;
    return 0;
}

static void bev_loop_free(xpr_loop *loop)
{
    xpr__levent_free(loop->backend);
    loop->backend = NULL;
}

static int bev_run_once(xpr_loop *loop, int timeout_ms)
{
    return xpr__levent_run(loop->backend, timeout_ms);
}

static void bev_wake(xpr_loop *loop)
{
    xpr__levent_wake(loop->backend);
}

const struct xpr_backend_ops xpr__bev_ops = {
    .loop_init = bev_loop_init,
    .loop_free = bev_loop_free,
    .run_once = bev_run_once,
    .wake = bev_wake,
    .timer_arm = xpr__levent_timer_arm,
    .timer_disarm = xpr__levent_timer_disarm,
    .timer_release = xpr__levent_timer_release,
    .listen = bev_listen,
    .listener_close = bev_listener_close,
    .listener_set_accepting = bev_listener_set_accepting,
    .conn_size = sizeof(struct bev_conn),
    .conn_connect = bev_conn_connect,
    .conn_adopt = bev_conn_adopt,
    .conn_set_reading = bev_conn_set_reading,
    .conn_send = bev_conn_send,
    .conn_shutdown = bev_conn_shutdown,
    .conn_close = bev_conn_close,
    .watch_size = sizeof(struct xpr__levent_watch),
    .watch_set = xpr__levent_watch_set,
    .watch_release = xpr__levent_watch_release,
    .udp = &xpr__bev_udp_ops,
};
