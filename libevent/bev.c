/*
 * libevent-bev: the stream contract (backend.h) implemented with libevent's
 * own buffering, evconnlistener + bufferevent, the way the libevent book
 * writes an echo server. It is kept for comparison: `libevent` (poller.c
 * under the shared engine) is the fast way to use libevent. Timers are
 * evtimers and posts wake the base with event_active() (base.c).
 *
 * libevent quirks handled here:
 *   1. A bufferevent queues every write and sends it on the next writable
 *      event, one more trip through the loop per write
 *      (docs/benchmarks.md measures the cost). So on_drain follows every
 *      burst, not only backpressure: the queued bytes did fall to zero
 *      after being non-zero.
 *   2. bufferevent_free() only drops a reference; the teardown, and with
 *      BEV_OPT_CLOSE_ON_FREE the close of a socket bufferevent's descriptor,
 *      runs in a finalizer on a later pass, or never if the loop is not run
 *      again. The core finishes a conn after its socket is closed, so on
 *      plain sockets xpr owns the descriptor: disable the bufferevent (that
 *      takes it out of the kernel's poll set at once), free it, close.
 *      IOCP bufferevents (libevent-iocp) keep BEV_OPT_CLOSE_ON_FREE: their
 *      free closes the socket at once, and libevent holds the bufferevent
 *      until its pending overlapped operations are reaped.
 *   3. The same reference count keeps a bufferevent alive while its own
 *      callback runs, so the application may close a conn from on_open,
 *      on_data or on_drain. bufferevent_free() clears the callbacks; this
 *      file drops its pointer and never touches the bufferevent again.
 *   4. BEV_EVENT_CONNECTED is delivered from inside the bufferevent's write
 *      callback, which then goes on writing the output buffer if EV_WRITE
 *      is still enabled: every release disables EV_READ|EV_WRITE first.
 *   5. On EOF the bufferevent disables EV_READ by itself; enabling it again
 *      would read the EOF once more. A conn that saw EOF is not re-enabled.
 *   6. Bytes already in the input buffer raise no new read event. Resuming
 *      a paused conn that still holds some triggers the read callback,
 *      deferred so it never runs inside the API call. While paused EV_READ
 *      is off, so the input holds at most what one read brought (16 KiB by
 *      default): memory stays bounded.
 *   7. on_data gets the first chain of the input buffer in place (no copy)
 *      and the chain is drained after the call.
 *   8. bufferevent_socket_connect() turns an immediate refusal (BSD
 *      loopback; Wine's loopback too) into a deferred BEV_EVENT_ERROR and
 *      saves the socket error for it; other immediate failures return -1
 *      with the socket error set. The event callback reads
 *      EVUTIL_SOCKET_ERROR() before anything else, but that saved value is
 *      not always the refusal: on Windows libevent learns it from
 *      getsockopt(SO_ERROR) after connect() failed with WSAEWOULDBLOCK, and
 *      what it then saves is the thread's last error, which that
 *      successful getsockopt() may have reset (Wine: 0) or left at
 *      WSAEWOULDBLOCK. So a connect that fails reads SO_ERROR first
 *      (error_of): Winsock keeps it, while Linux clears it on the read
 *      libevent already made, and there errno is the answer.
 *      Left to make the socket itself, libevent would skip close-on-exec
 *      and could hand the select method a descriptor it aborts on (base.c
 *      quirk 8), so xpr makes it and lets libevent connect it.
 *   9. writev() cannot take MSG_NOSIGNAL: SIGPIPE is ignored on POSIX
 *      unless the application set a handler (base.c).
 *  10. evconnlistener accepts until EAGAIN in one callback and may be freed
 *      from inside it (reference counted). Accept errors go to an error
 *      callback; without one libevent prints a warning for each. Out of
 *      descriptors the listening socket stays readable, so the error
 *      callback hands the failure to the core, which pauses accepting
 *      (evconnlistener_disable) for a while.
 *
 * IOCP bufferevents (libevent-iocp, "socket_async" in libevent's terms):
 *  11. Overlapped completions run on libevent's own IOCP threads, not on
 *      the loop's. The bufferevent's read, write and event callbacks are
 *      deferred to the loop thread, but evbuffer callbacks are not: the
 *      output buffer's callback (output_changed) runs on an IOCP thread
 *      when a WSASend completes, holding the bufferevent's lock. It only
 *      adds to bc->drained; the loop thread takes that under the same lock
 *      and moves it into loop->stats (fold_drained: xpr_loop_stats, and a
 *      last time on release). Nothing else of xpr runs on those threads.
 *  12. libevent drains output only when the overlapped WSASend completes:
 *      until then its bytes (one send in flight per bufferevent, at most
 *      bufferevent_get_max_single_write(), 16 KiB by default) stay in the
 *      output buffer, and libevent has no call that tells how many are in
 *      flight. So for this back end a byte counts as handed to the kernel
 *      (in bytes_written, out of xpr_conn_queued and queued_write_bytes)
 *      when its overlapped send completes, not when the send is posted.
 *  13. ConnectEx completes on an IOCP thread, which also starts sending
 *      whatever the output buffer holds: bytes written before on_open
 *      would leave while the loop is not even running, unlike on every
 *      other back end ("writes are queued until connected", and counted as
 *      queued until then). A connecting IOCP bufferevent has EV_WRITE off;
 *      bev_connected turns it on, on the loop thread.
 *  14. A read that completes with 0 bytes (EOF) clears the IOCP
 *      bufferevent's internal "ok" flag, after which it never starts
 *      another WSASend (bufferevent_enable() fails) and queued bytes stay
 *      queued: no half-close, and not even the flush of the default
 *      on_eof. libevent sets the flag again only in bufferevent_setfd()
 *      with a different descriptor, so rearm_after_eof() turns reading off
 *      and sets EVUTIL_INVALID_SOCKET, then the socket again. Both setfd
 *      calls ask CreateIoCompletionPort to associate the descriptor with
 *      the port, and both get ERROR_INVALID_PARAMETER (INVALID_HANDLE_VALUE
 *      with a port; a socket already associated; checked under Wine), the
 *      one error setfd tolerates, as libevent itself relies on for the
 *      second case. Should libevent refuse anyway, a conn still open after
 *      its EOF was delivered ends with XPR_EIO instead of waiting forever.
 *  15. The write callback of an IOCP bufferevent is deferred: it runs some
 *      time after the output emptied, and the application may have written
 *      again meanwhile (say from a timer). on_drain means "the queue is
 *      empty now", so it is only delivered when the output still is; the
 *      bytes written meanwhile bring a callback of their own once sent.
 *  16. The write callback also runs when the write event fires with the
 *      output empty and nothing written (bufferevent_writecb: "res ||
 *      !connected"), as it does once right after an accept, where EV_WRITE
 *      is enabled before anything is queued. on_drain follows bytes
 *      queued, so it is delivered only when some were written since the
 *      last one (drain_due).
 *  17. A bufferevent registers its events (epoll_ctl) when enabled and
 *      when its output goes from empty to non-empty. bufferevent_enable()
 *      returns -1 when that fails, but the add made from inside
 *      bufferevent_write() is not checked by libevent: a conn whose write
 *      event failed to register would wait forever with bytes queued. So a
 *      write to an empty output enables EV_WRITE itself (a no-op when the
 *      event is already added), and every enable is checked: a conn that
 *      cannot be registered ends with the error.
 */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "alloc.h"
#include "base.h"
#include "fault.h"
#include "libevent_backends.h"
#include "sock.h"

struct bev_conn {
    struct xpr_conn base;    /* first: the core sees an xpr_conn */
    struct bufferevent *bev; /* NULL once released */
    struct evbuffer_cb_entry *out_cb;
    /* Bytes libevent drained from the output. Quirk 11: written under the
     * output buffer's lock, possibly on an IOCP thread. */
    uint64_t drained;
    uint64_t drained_counted; /* loop thread: the part in loop->stats */
    unsigned char eof_seen;   /* the bufferevent read EOF */
    unsigned char write_shut; /* FIN sent */
    unsigned char drain_due;  /* written since the last on_drain (quirk 16) */
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

/* Quirk 2: who closes a conn's socket. */
static int libevent_closes_sockets(const xpr_loop *loop)
{
    return (levent_of(loop)->flags & XPR__LEVENT_IOCP) != 0;
}

static struct evbuffer *output_of(const struct bev_conn *bc)
{
    return bufferevent_get_output(bc->bev);
}

/* ---- statistics (quirks 11, 12) ---- */

/* Loop thread: moves what libevent drained since the last call from
 * queued_write_bytes to bytes_written. The caller holds the output lock. */
static void count_drained(struct bev_conn *bc)
{
    struct xpr_loop_stats *stats = &bc->base.loop->stats;
    uint64_t n = bc->drained - bc->drained_counted;
    bc->drained_counted = bc->drained;
    stats->queued_write_bytes -= n;
    stats->bytes_written += n;
}

static void fold_drained(struct bev_conn *bc)
{
    struct evbuffer *out = output_of(bc);
    evbuffer_lock(out);
    count_drained(bc);
    evbuffer_unlock(out);
}

/* ---- teardown ---- */

static void release_bev(struct bev_conn *bc, int reset)
{
    struct bufferevent *bev = bc->bev;
    xpr_conn *c = &bc->base;
    struct evbuffer *out;
    if (bev == NULL)
        return;
    bc->bev = NULL;
    out = bufferevent_get_output(bev);
    /* One look under the lock: drained and the rest, which is dropped
     * (an IOCP send still in flight may complete later, uncounted). */
    evbuffer_lock(out);
    if (bc->out_cb != NULL)
        evbuffer_remove_cb_entry(out, bc->out_cb);
    count_drained(bc);
    c->loop->stats.queued_write_bytes -= evbuffer_get_length(out);
    evbuffer_unlock(out);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
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

static void finish(struct bev_conn *bc, int err, int reset)
{
    if (xpr__conn_done(&bc->base))
        return;
    release_bev(bc, reset);
    xpr__conn_finish(&bc->base, err);
}

/* Quirk 17: bufferevent_enable, checked. 0 or the error. */
static int enable(struct bufferevent *bev, short what)
{
    int rc;
    if (xpr__fault(XPR__FAULT_WATCH))
        return XPR_ENOMEM;
    if (bufferevent_enable(bev, what) == 0)
        return 0;
    rc = xpr__levent_socket_error();
    return rc == 0 || rc == XPR_EAGAIN ? XPR_ENOMEM : rc;
}

/* The output buffer is empty: a wanted close or FIN can happen now. */
static void output_empty(struct bev_conn *bc)
{
    xpr_conn *c = &bc->base;
    if (c->flags & XPR__CONN_FLAG_CLOSING) {
        finish(bc, 0, 0);
        return;
    }
    if ((c->flags & XPR__CONN_SHUT_WANTED) && !bc->write_shut) {
        int rc = xpr__sock_shutdown_write(c->sock);
        bc->write_shut = 1;
        if (rc != 0 && rc != XPR_ENOTSUP)
            finish(bc, rc, 0);
    }
}

/* ---- bufferevent callbacks ---- */

/* Hands buffered input to on_data, then a pending EOF to the core. */
static void deliver_input(struct bev_conn *bc)
{
    const unsigned stop =
        XPR__CONN_PAUSED | XPR__CONN_FLAG_CLOSING | XPR__CONN_FLAG_FINISHED;
    xpr_conn *c = &bc->base;
    struct evbuffer *in;
    while (bc->bev != NULL && !(c->flags & stop)) {
        struct evbuffer_iovec chunk;
        in = bufferevent_get_input(bc->bev);
        if (evbuffer_get_length(in) == 0 ||
            evbuffer_peek(in, -1, NULL, &chunk, 1) < 1)
            break;
        if (chunk.iov_len == 0) { /* an empty leading chain: join up */
            chunk.iov_len = evbuffer_get_length(in);
            chunk.iov_base = evbuffer_pullup(in, -1);
        }
        xpr__conn_note_read(c, chunk.iov_len);
        if (c->cb.on_data != NULL)
            c->cb.on_data(c, chunk.iov_base, chunk.iov_len);
        if (bc->bev == NULL)
            return; /* released by the callback; the buffer went with it */
        evbuffer_drain(in, chunk.iov_len);
    }
    if (bc->eof_seen && bc->bev != NULL &&
        !(c->flags & (stop | XPR__CONN_EOF)) &&
        evbuffer_get_length(bufferevent_get_input(bc->bev)) == 0) {
        c->flags |= XPR__CONN_EOF;
        xpr__conn_deliver_eof(c);
    }
}

static void bev_readable(struct bufferevent *bev, void *arg)
{
    (void)bev;
    deliver_input(arg);
}

static void bev_written(struct bufferevent *bev, void *arg)
{
    struct bev_conn *bc = arg;
    xpr_conn *c = &bc->base;
    (void)bev;
    if (xpr__conn_done(c))
        return;
    if (!(c->flags & XPR__CONN_FLAG_CLOSING) && bc->drain_due &&
        evbuffer_get_length(output_of(bc)) == 0) { /* quirks 15, 16 */
        bc->drain_due = 0;
        xpr__conn_deliver_drain(c);
    }
    /* on_drain may have written again, or closed the conn */
    if (bc->bev != NULL && !xpr__conn_done(c) &&
        evbuffer_get_length(output_of(bc)) == 0)
        output_empty(bc);
}

/* Reading (unless paused or closing) and, for IOCP, writing (quirk 13) are
 * turned on before on_open: a conn that cannot be registered ends with the
 * error instead of opening. */
static void bev_connected(struct bev_conn *bc)
{
    xpr_conn *c = &bc->base;
    short what = 0;
    int rc;
    if (libevent_closes_sockets(c->loop))
        what |= EV_WRITE;
    if (!(c->flags & (XPR__CONN_PAUSED | XPR__CONN_FLAG_CLOSING)))
        what |= EV_READ;
    rc = what != 0 ? enable(bc->bev, what) : 0;
    if (rc != 0) {
        finish(bc, rc, 0);
        return;
    }
    xpr__conn_opened(c);
    if (bc->bev == NULL || xpr__conn_done(c))
        return;
    /* written meanwhile: the write callback that runs this goes on sending */
    if (evbuffer_get_length(output_of(bc)) == 0)
        output_empty(bc);
}

/* Why a bufferevent failed, given the socket error saved for its event. */
static int error_of(struct bev_conn *bc, int os_error)
{
    xpr_conn *c = &bc->base;
    int rc;
    if ((c->flags & XPR__CONN_FLAG_CONNECTING) &&
        c->sock != XPR__INVALID_SOCKET) {
        rc = xpr__sock_connect_result(c->sock); /* quirk 8 */
        if (rc != 0 && rc != XPR_EAGAIN)
            return rc;
    }
    rc = os_error != 0 ? xpr__error_from_os(os_error) : XPR_EIO;
    return rc == XPR_EAGAIN ? XPR_EIO : rc; /* no error is no reason */
}

/* Quirk 14: lets an IOCP bufferevent write again after it read EOF.
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
    int os_error = EVUTIL_SOCKET_ERROR(); /* quirk 8: before anything */
    struct bev_conn *bc = arg;
    (void)bev;
    if (xpr__conn_done(&bc->base))
        return;
    if (what & BEV_EVENT_CONNECTED) {
        bev_connected(bc);
    } else if (what & BEV_EVENT_ERROR) {
        finish(bc, error_of(bc, os_error), 0);
    } else if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
        int stuck =
            libevent_closes_sockets(bc->base.loop) && rearm_after_eof(bc) != 0;
        bc->eof_seen = 1;
        deliver_input(bc); /* what a resume left, then the EOF */
        if (stuck && bc->bev != NULL)
            finish(bc, XPR_EIO, 0); /* nothing could be written any more */
    } else if (what & BEV_EVENT_EOF) {
        finish(bc, XPR_EIO, 0); /* a send that wrote nothing */
    }
}

/* Quirk 11: may run on an IOCP thread, with the output buffer locked.
 * Additions are counted by bev_write. */
static void output_changed(struct evbuffer *buf,
                           const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    ((struct bev_conn *)arg)->drained += info->n_deleted; /* drained = sent */
}

/* A conn around a new bufferevent on fd, which it owns from here: on
 * failure fd is closed. */
static struct bev_conn *conn_new(xpr_loop *loop, evutil_socket_t fd)
{
    struct bev_conn *bc = xpr__calloc(1, sizeof(*bc));
    int options = libevent_closes_sockets(loop) ? BEV_OPT_CLOSE_ON_FREE : 0;
    if (bc == NULL) {
        xpr__sock_close((xpr_socket_t)fd, 0);
        return NULL;
    }
    bc->base.loop = loop;
    bc->base.sock = (xpr_socket_t)fd;
    bc->bev = bufferevent_socket_new(levent_of(loop)->base, fd, options);
    if (bc->bev == NULL) {
        xpr__sock_close((xpr_socket_t)fd, 0);
        free(bc);
        return NULL;
    }
    bc->out_cb = evbuffer_add_cb(output_of(bc), output_changed, bc);
    if (bc->out_cb == NULL) {
        release_bev(bc, 0);
        free(bc);
        return NULL;
    }
    bufferevent_setcb(bc->bev, bev_readable, bev_written, bev_event, bc);
    return bc;
}

/* ---- listener ---- */

static void bev_accepted(struct evconnlistener *evl, evutil_socket_t fd,
                         struct sockaddr *sa, int salen, void *arg)
{
    struct bev_listener *bl = arg;
    xpr_listener *l = &bl->base;
    struct bev_conn *bc;
    (void)evl;
    if (!xpr__levent_fd_fits(levent_of(l->loop), fd) ||
        xpr__listener_admit(l) != 0) {
        xpr__sock_close((xpr_socket_t)fd, 0);
        return;
    }
    bc = conn_new(l->loop, fd);
    if (bc == NULL)
        return;
    /* Registered before the application hears of it: a socket libevent
     * cannot watch is dropped unseen, like a failed accept. */
    if (enable(bc->bev, EV_READ | EV_WRITE) != 0) {
        release_bev(bc, 0);
        free(bc);
        return;
    }
    xpr__conn_init(&bc->base, l->loop, &l->cb, l->arg, (xpr_socket_t)fd);
    bc->base.has_peer =
        xpr__sock_addr_from_os(sa, (size_t)salen, &bc->base.peer) == 0;
    bc->base.flags &= ~(unsigned)XPR__CONN_FLAG_CONNECTING;
    /* on_open may close the listener: bl is not touched after this */
    xpr__listener_conn_opened(l, &bc->base);
}

/* Quirk 10. */
static void bev_accept_failed(struct evconnlistener *evl, void *arg)
{
    struct bev_listener *bl = arg;
    (void)evl;
    xpr__listener_accept_failed(&bl->base, xpr__levent_socket_error());
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
    if (!xpr__levent_fd_fits(levent_of(loop), (evutil_socket_t)bl->base.sock)) {
        xpr__sock_close(bl->base.sock, 0);
        free(bl);
        return XPR_EMFILE;
    }
    bl->evl = evconnlistener_new(levent_of(loop)->base, bev_accepted, bl,
                                 options, 0, (evutil_socket_t)bl->base.sock);
    if (bl->evl == NULL) {
        xpr__sock_close(bl->base.sock, 0);
        free(bl);
        return XPR_ENOMEM;
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

/* ---- connect ---- */

static int bev_connect(xpr_loop *loop, const struct xpr__addr *addr,
                       const struct xpr_conn_callbacks *cb, void *arg,
                       xpr_conn **out)
{
    struct sockaddr_storage ss;
    int sslen = xpr__sock_addr_to_os(addr, &ss);
    struct bev_conn *bc;
    xpr_socket_t sock;
    evutil_socket_t fd;
    int rc = xpr__sock_open(addr->family, &sock);
    if (rc != 0)
        return rc;
    fd = (evutil_socket_t)sock;
    if (!xpr__levent_fd_fits(levent_of(loop), fd)) {
        xpr__sock_close(sock, 0);
        return XPR_EMFILE;
    }
    bc = conn_new(loop, fd);
    if (bc == NULL)
        return XPR_ENOMEM;
    if (libevent_closes_sockets(loop))
        bufferevent_disable(bc->bev, EV_WRITE); /* quirk 13 */
    /* libevent calls connect() on our socket (ConnectEx with IOCP) */
    if (bufferevent_socket_connect(bc->bev, (struct sockaddr *)&ss, sslen) !=
        0) {
        rc = xpr__levent_socket_error();
        release_bev(bc, 0);
        if (!xpr__is_connect_outcome(rc)) {
            free(bc);
            return rc;
        }
        xpr__conn_init(&bc->base, loop, cb, arg, XPR__INVALID_SOCKET);
        xpr__conn_finish(&bc->base, rc); /* on_close comes from the loop */
        *out = &bc->base;
        return 0;
    }
    xpr__conn_init(&bc->base, loop, cb, arg, (xpr_socket_t)fd);
    /* reading is enabled once connected (bev_connected) */
    *out = &bc->base;
    return 0;
}

/* ---- stream operations ---- */

static int bev_write(xpr_conn *c, const void *p, size_t n)
{
    struct bev_conn *bc = to_bev(c);
    int was_empty, rc;
    if (bc->bev == NULL)
        return XPR_ECLOSED;
    was_empty = evbuffer_get_length(output_of(bc)) == 0;
    if (bufferevent_write(bc->bev, p, n) != 0)
        return XPR_ENOMEM;
    bc->drain_due = 1;
    c->loop->stats.queued_write_bytes += n;
    /* Quirk 17; IOCP bufferevents register nothing (quirk 13 keeps
     * writing off while connecting). */
    if (was_empty && !(c->flags & XPR__CONN_FLAG_CONNECTING) &&
        !libevent_closes_sockets(c->loop)) {
        rc = enable(bc->bev, EV_WRITE);
        if (rc != 0) {
            finish(bc, rc, 0);
            return rc;
        }
    }
    return 0;
}

static size_t bev_queued(const xpr_conn *c)
{
    const struct bev_conn *bc = (const struct bev_conn *)c;
    return bc->bev != NULL ? evbuffer_get_length(output_of(bc)) : 0;
}

static int bev_set_reading(xpr_conn *c, int on)
{
    struct bev_conn *bc = to_bev(c);
    if (bc->bev == NULL || (c->flags & XPR__CONN_FLAG_CONNECTING))
        return 0; /* bev_connected enables reading unless paused */
    if (!on)
        return bufferevent_disable(bc->bev, EV_READ) == 0 ? 0 : XPR_EIO;
    if (!bc->eof_seen) {
        int rc = enable(bc->bev, EV_READ);
        if (rc != 0) {
            finish(bc, rc, 0); /* cannot read again: ends with the reason */
            return rc;
        }
    }
    if (evbuffer_get_length(bufferevent_get_input(bc->bev)) > 0 ||
        (bc->eof_seen && !(c->flags & XPR__CONN_EOF)))
        bufferevent_trigger(bc->bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS |
                                BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

static int bev_shutdown(xpr_conn *c)
{
    struct bev_conn *bc = to_bev(c);
    if (bc->bev != NULL && !(c->flags & XPR__CONN_FLAG_CONNECTING) &&
        evbuffer_get_length(output_of(bc)) == 0)
        output_empty(bc);
    return 0;
}

static int bev_close(xpr_conn *c)
{
    struct bev_conn *bc = to_bev(c);
    if (bc->bev == NULL)
        return 0;
    bufferevent_disable(bc->bev, EV_READ);
    if (!(c->flags & XPR__CONN_FLAG_CONNECTING) &&
        evbuffer_get_length(output_of(bc)) == 0)
        output_empty(bc);
    return 0;
}

static void bev_close_now(xpr_conn *c, int err, int reset)
{
    finish(to_bev(c), err, reset);
}

static void bev_conn_free(xpr_conn *c)
{
    release_bev(to_bev(c), 0);
    free(c);
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

static int bev_timer_arm(xpr_timer *t, uint64_t timeout_ms)
{
    return xpr__levent_timer_arm(t->loop->backend, t, timeout_ms);
}

/* Quirk 11: brings the byte counters up to date before a snapshot. */
static void bev_stats(xpr_loop *loop, struct xpr_loop_stats *stats)
{
    struct xpr__link *it;
    for (it = loop->conns.head.next; it != &loop->conns.head; it = it->next) {
        struct bev_conn *bc =
            (struct bev_conn *)XPR__CONTAINER(it, struct xpr_conn, link);
        if (bc->bev != NULL)
            fold_drained(bc);
    }
    stats->queued_write_bytes = loop->stats.queued_write_bytes;
    stats->bytes_written = loop->stats.bytes_written;
}

const struct xpr_backend_ops xpr__bev_ops = {
    .loop_init = bev_loop_init,
    .loop_free = bev_loop_free,
    .run_once = bev_run_once,
    .wake = bev_wake,
    .timer_arm = bev_timer_arm,
    .timer_disarm = xpr__levent_timer_disarm,
    .timer_release = xpr__levent_timer_release,
    .listen = bev_listen,
    .listener_close = bev_listener_close,
    .listener_set_accepting = bev_listener_set_accepting,
    .connect = bev_connect,
    .write = bev_write,
    .queued = bev_queued,
    .set_reading = bev_set_reading,
    .shutdown = bev_shutdown,
    .close = bev_close,
    .close_now = bev_close_now,
    .conn_free = bev_conn_free,
    .stats = bev_stats,
};
