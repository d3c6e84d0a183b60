/*
 * The shared readiness stream engine: accept, connect, read, queued write,
 * half-close, close and abort on top of a poller (poller.h) and the socket
 * layer (sock.h). Every readiness back end (poll, select, eventselect,
 * asyncselect, libevent) is this file plus a poller.
 *
 * Rules it keeps:
 *   1. Writes go to the socket at once; the queue and write interest are
 *      used only after a send would block. This is why the libevent back end
 *      is faster than bufferevents, which defer every write to the next
 *      writable event (docs/design.md, "Why libevent is a poller").
 *   2. Interest follows state: reading is off while paused, closing, or
 *      after EOF (a level-triggered poller would report EOF forever);
 *      writing is on only while a blocked queue waits.
 *   3. Sockets leave the poller before they are closed, and memory of a
 *      conn lives until the core ran its on_close, so a callback may close
 *      any conn, even one the current dispatch has yet to visit.
 *   4. Closed listeners are freed after the dispatch that closed them: an
 *      on_open callback may close the listener whose accept loop runs it.
 */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "platform_backends.h"
#include "poller.h"
#include "sock.h"
#include "write_queue.h"

/* Fairness: at most this many reads or accepts per readiness event. */
#define READS_PER_EVENT 16
#define ACCEPTS_PER_EVENT 64
#define SEND_RUNS 16

struct stream_conn {
    struct xpr_conn base; /* first: the core sees an xpr_conn */
    struct xpr__io io;
    struct xpr__write_queue queue;
    unsigned char write_blocked; /* a send would block: wait to be writable */
    unsigned char write_shut;    /* FIN sent */
};

struct stream_listener {
    struct xpr_listener base;
    struct xpr__io io;
    struct stream_listener *next_closed;
};

struct stream_state {
    struct stream_listener *closed_listeners;
};

static struct stream_conn *to_stream(xpr_conn *c)
{
    return (struct stream_conn *)c;
}

static int set_interest(xpr_loop *loop, struct xpr__io *io, unsigned want)
{
    int rc;
    if (io->mask == want)
        return 0;
    rc = loop->poller->update(loop->poller_state, io, want);
    if (rc == 0)
        io->mask = want;
    return rc;
}

static void stream_close_now(xpr_conn *c, int err, int reset);

/* 0, or the error that ended the conn. */
static int update_interest(struct stream_conn *sc)
{
    unsigned flags = sc->base.flags;
    unsigned want = 0;
    int rc;
    if (flags & XPR__CONN_FINISHED)
        return 0;
    if (flags & XPR__CONN_CONNECTING) {
        want = XPR__IO_WRITE;
    } else {
        if (!(flags & (XPR__CONN_PAUSED | XPR__CONN_CLOSING | XPR__CONN_EOF)))
            want |= XPR__IO_READ;
        if (sc->write_blocked && xpr__wq_bytes(&sc->queue) > 0)
            want |= XPR__IO_WRITE;
    }
    /* A socket the poller cannot take (out of memory, or past what its
     * method can watch) would hang silent: end it with the reason. */
    rc = set_interest(sc->base.loop, &sc->io, want);
    if (rc != 0)
        stream_close_now(&sc->base, rc, 0);
    return rc;
}

static void drop_queue(struct stream_conn *sc)
{
    sc->base.loop->stats.queued_write_bytes -= xpr__wq_bytes(&sc->queue);
    xpr__wq_clear(&sc->queue);
}

static void stream_close_now(xpr_conn *c, int err, int reset)
{
    struct stream_conn *sc = to_stream(c);
    if (c->flags & XPR__CONN_FINISHED)
        return;
    set_interest(c->loop, &sc->io, 0);
    drop_queue(sc);
    if (c->sock != XPR__INVALID_SOCKET)
        xpr__sock_close(c->sock, reset);
    c->sock = XPR__INVALID_SOCKET;
    xpr__conn_finish(c, err);
}

/* The queue is empty: a wanted FIN or close can happen now. */
static void queue_empty(struct stream_conn *sc)
{
    xpr_conn *c = &sc->base;
    if ((c->flags & XPR__CONN_CLOSING) && !(c->flags & XPR__CONN_FINISHED)) {
        stream_close_now(c, 0, 0);
        return;
    }
    if ((c->flags & XPR__CONN_SHUT_WANTED) && !sc->write_shut) {
        int rc = xpr__sock_shutdown_write(c->sock);
        sc->write_shut = 1;
        if (rc != 0 && rc != XPR_ENOTSUP)
            stream_close_now(c, rc, 0);
    }
}

/* Sends from the queue until it empties or the socket would block. */
static void flush_queue(struct stream_conn *sc)
{
    xpr_conn *c = &sc->base;
    xpr_loop *loop = c->loop;
    int had_bytes = xpr__wq_bytes(&sc->queue) > 0;
    while (xpr__wq_bytes(&sc->queue) > 0) {
        const void *bases[SEND_RUNS];
        size_t lens[SEND_RUNS];
        size_t runs = xpr__wq_peekv(&sc->queue, bases, lens, SEND_RUNS);
        long n = xpr__sock_sendv(c->sock, bases, lens, runs);
        if (n == XPR_EAGAIN) {
            sc->write_blocked = 1;
            update_interest(sc);
            return;
        }
        if (n < 0) {
            stream_close_now(c, (int)n, 0);
            return;
        }
        xpr__wq_consume(&sc->queue, (size_t)n);
        loop->stats.queued_write_bytes -= (uint64_t)n;
        loop->stats.bytes_written += (uint64_t)n;
    }
    sc->write_blocked = 0;
    update_interest(sc);
    if (had_bytes && !(c->flags & XPR__CONN_CLOSING))
        xpr__conn_deliver_drain(c);
    /* on_drain may have written again (and asked for a FIN or a close):
     * those wait until that is sent too. */
    if (!(c->flags & XPR__CONN_FINISHED) && xpr__wq_bytes(&sc->queue) == 0)
        queue_empty(sc);
}

static void conn_readable(struct stream_conn *sc)
{
    xpr_conn *c = &sc->base;
    xpr_loop *loop = c->loop;
    int reads = (loop->poller->flags & XPR__POLLER_ONE_READ_PER_EVENT)
                    ? 1
                    : READS_PER_EVENT;
    while (reads-- > 0) {
        long n;
        if (c->flags & (XPR__CONN_PAUSED | XPR__CONN_CLOSING | XPR__CONN_EOF |
                        XPR__CONN_FINISHED))
            break;
        n = xpr__sock_recv(c->sock, loop->read_buf, loop->read_buf_size);
        if (n > 0) {
            xpr__conn_note_read(c, (size_t)n);
            if (c->cb.on_data != NULL)
                c->cb.on_data(c, loop->read_buf, (size_t)n);
            if ((size_t)n < loop->read_buf_size)
                break; /* most likely drained; a level poller says if not */
        } else if (n == 0) {
            c->flags |= XPR__CONN_EOF;
            update_interest(sc);
            xpr__conn_deliver_eof(c);
            break;
        } else if (n == XPR_EAGAIN) {
            break;
        } else {
            stream_close_now(c, (int)n, 0);
            return;
        }
    }
    update_interest(sc);
}

static void conn_connected(struct stream_conn *sc)
{
    xpr_conn *c = &sc->base;
    int rc = xpr__sock_connect_result(c->sock);
    if (rc != 0) {
        stream_close_now(c, rc, 0);
        return;
    }
    xpr__conn_opened(c);
    if (c->flags & XPR__CONN_FINISHED)
        return;
    flush_queue(sc);
}

static void conn_ready(struct xpr__io *io, unsigned events)
{
    struct stream_conn *sc = XPR__CONTAINER(io, struct stream_conn, io);
    xpr_conn *c = &sc->base;
    if (c->flags & XPR__CONN_FINISHED)
        return;
    if (c->flags & XPR__CONN_CONNECTING) {
        if (events & (XPR__IO_WRITE | XPR__IO_ERROR))
            conn_connected(sc);
        return;
    }
    if ((events & (XPR__IO_WRITE | XPR__IO_ERROR)) && sc->write_blocked)
        flush_queue(sc);
    if (c->flags & XPR__CONN_FINISHED)
        return;
    if (events & (XPR__IO_READ | XPR__IO_ERROR))
        conn_readable(sc);
}

/* A conn not yet known to the core (no callbacks can reach it). */
static struct stream_conn *conn_alloc(xpr_socket_t sock)
{
    struct stream_conn *sc = xpr__calloc(1, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    sc->io.sock = sock;
    sc->io.mask = 0;
    sc->io.ready = conn_ready;
    sc->io.poller_data = NULL;
    xpr__wq_init(&sc->queue);
    return sc;
}

/* ---- listener ---- */

static void listener_ready(struct xpr__io *io, unsigned events)
{
    struct stream_listener *sl = XPR__CONTAINER(io, struct stream_listener, io);
    xpr_listener *l = &sl->base;
    int i;
    (void)events;
    for (i = 0; i < ACCEPTS_PER_EVENT && io->mask != 0; i++) {
        struct xpr__addr peer;
        struct stream_conn *sc;
        xpr_socket_t s;
        int rc = xpr__sock_accept(l->sock, &s, &peer);
        if (rc == XPR_EAGAIN)
            break;
        if (rc != 0) {
            if (xpr__listener_accept_failed(l, rc))
                break; /* accepting pauses (out of descriptors, ...) */
            continue;
        }
        if (xpr__listener_admit(l) != 0) {
            xpr__sock_close(s, 0);
            continue;
        }
        /* Watched before the application hears of it: a socket the poller
         * cannot take (past what its method can watch) is dropped unseen,
         * like a failed accept. */
        sc = conn_alloc(s);
        if (sc == NULL || set_interest(l->loop, &sc->io, XPR__IO_READ) != 0) {
            xpr__sock_close(s, 0);
            free(sc);
            continue;
        }
        xpr__conn_init(&sc->base, l->loop, &l->cb, l->arg, s);
        sc->base.peer = peer;
        sc->base.flags &= ~(unsigned)XPR__CONN_CONNECTING;
        xpr__listener_conn_opened(l, &sc->base);
        update_interest(sc);
    }
}

static int stream_listen(xpr_loop *loop, const struct xpr__addr *addr,
                         int backlog, xpr_listener **out)
{
    struct stream_listener *sl = xpr__calloc(1, sizeof(*sl));
    int rc;
    if (sl == NULL)
        return XPR_ENOMEM;
    rc = xpr__sock_listen(addr, backlog, &sl->base.sock, &sl->base.bound);
    if (rc != 0) {
        free(sl);
        return rc;
    }
    sl->io.sock = sl->base.sock;
    sl->io.ready = listener_ready;
    rc = loop->poller->update(loop->poller_state, &sl->io, XPR__IO_READ);
    if (rc != 0) {
        xpr__sock_close(sl->base.sock, 0);
        free(sl);
        return rc;
    }
    sl->io.mask = XPR__IO_READ;
    *out = &sl->base;
    return 0;
}

static void stream_listener_close(xpr_listener *l)
{
    struct stream_listener *sl = (struct stream_listener *)l;
    struct stream_state *st = l->loop->backend;
    set_interest(l->loop, &sl->io, 0);
    sl->io.mask = 0; /* ends a running accept loop even if update failed */
    xpr__sock_close(l->sock, 0);
    sl->next_closed = st->closed_listeners;
    st->closed_listeners = sl;
}

static int stream_listener_set_accepting(xpr_listener *l, int on)
{
    struct stream_listener *sl = (struct stream_listener *)l;
    return set_interest(l->loop, &sl->io, on ? XPR__IO_READ : 0);
}

static void free_closed_listeners(struct stream_state *st)
{
    while (st->closed_listeners != NULL) {
        struct stream_listener *sl = st->closed_listeners;
        st->closed_listeners = sl->next_closed;
        free(sl);
    }
}

/* ---- connect ---- */

static int stream_connect(xpr_loop *loop, const struct xpr__addr *addr,
                          const struct xpr_conn_callbacks *cb, void *arg,
                          xpr_conn **out)
{
    xpr_socket_t s = XPR__INVALID_SOCKET;
    struct stream_conn *sc;
    int rc = xpr__sock_connect(addr, &s);
    if (rc != 0 && rc != XPR_EAGAIN && !xpr__is_connect_outcome(rc))
        return rc;
    sc = conn_alloc(s);
    if (sc == NULL) {
        if (s != XPR__INVALID_SOCKET)
            xpr__sock_close(s, 0);
        return XPR_ENOMEM;
    }
    xpr__conn_init(&sc->base, loop, cb, arg, s);
    if (rc != 0 && rc != XPR_EAGAIN) {
        xpr__conn_finish(&sc->base, rc); /* on_close comes from the loop */
    } else {
        /* connected at once or not: writability reports it either way */
        update_interest(sc);
    }
    *out = &sc->base;
    return 0;
}

/* ---- stream operations ---- */

static int stream_write(xpr_conn *c, const void *p, size_t n)
{
    struct stream_conn *sc = to_stream(c);
    size_t sent = 0;
    int rc;
    if (!(c->flags & XPR__CONN_CONNECTING) && xpr__wq_bytes(&sc->queue) == 0) {
        /* Send until done or the socket would block: WSAAsyncSelect and
         * WSAEventSelect post FD_WRITE only after a send failed with
         * WSAEWOULDBLOCK, so a short send alone must not start a wait. */
        while (sent < n) {
            const void *base = (const unsigned char *)p + sent;
            size_t left = n - sent;
            long r = xpr__sock_sendv(c->sock, &base, &left, 1);
            if (r == XPR_EAGAIN)
                break;
            if (r < 0) {
                stream_close_now(c, (int)r, 0);
                return (int)r;
            }
            sent += (size_t)r;
            c->loop->stats.bytes_written += (uint64_t)r;
        }
        if (sent == n)
            return 0;
        sc->write_blocked = 1;
    }
    rc = xpr__wq_push(&sc->queue, (const unsigned char *)p + sent, n - sent);
    if (rc != 0) {
        /* Part of the bytes may be sent already, and the caller cannot
         * tell how many: what it writes next would follow a gap the peer
         * cannot see. The conn ends with the error instead. */
        stream_close_now(c, rc, 0);
        return rc;
    }
    c->loop->stats.queued_write_bytes += n - sent;
    return update_interest(sc);
}

static size_t stream_queued(const xpr_conn *c)
{
    return xpr__wq_bytes(&((const struct stream_conn *)c)->queue);
}

static int stream_set_reading(xpr_conn *c, int on)
{
    (void)on;
    return update_interest(to_stream(c));
}

static int stream_shutdown(xpr_conn *c)
{
    struct stream_conn *sc = to_stream(c);
    if (!(c->flags & XPR__CONN_CONNECTING) && xpr__wq_bytes(&sc->queue) == 0)
        queue_empty(sc);
    return 0;
}

static int stream_close(xpr_conn *c)
{
    struct stream_conn *sc = to_stream(c);
    if (!(c->flags & XPR__CONN_CONNECTING) && xpr__wq_bytes(&sc->queue) == 0)
        queue_empty(sc);
    else
        update_interest(sc);
    return 0;
}

static void stream_conn_free(xpr_conn *c)
{
    free(to_stream(c));
}

/* ---- loop ---- */

static int stream_loop_init(xpr_loop *loop)
{
    struct stream_state *st = xpr__calloc(1, sizeof(*st));
    if (st == NULL)
        return XPR_ENOMEM;
    loop->backend = st;
    return 0;
}

static void stream_loop_free(xpr_loop *loop)
{
    struct stream_state *st = loop->backend;
    free_closed_listeners(st);
    free(st);
}

/* Rules 3 and 4 keep every io the poller listed in memory until the
 * dispatch ends, which poller.h asks of the engine. */
static int stream_run_once(xpr_loop *loop, int timeout_ms)
{
    const struct xpr__fired *fired;
    int n = loop->poller->wait(loop->poller_state, timeout_ms, &fired);
    if (n > 0)
        xpr__io_dispatch(fired, n);
    free_closed_listeners(loop->backend);
    return n < 0 ? n : 0;
}

static void stream_wake(xpr_loop *loop)
{
    loop->poller->wake(loop->poller_state);
}

const struct xpr_backend_ops xpr__stream_ops = {
    .loop_init = stream_loop_init,
    .loop_free = stream_loop_free,
    .run_once = stream_run_once,
    .wake = stream_wake,
    .listen = stream_listen,
    .listener_close = stream_listener_close,
    .listener_set_accepting = stream_listener_set_accepting,
    .connect = stream_connect,
    .write = stream_write,
    .queued = stream_queued,
    .set_reading = stream_set_reading,
    .shutdown = stream_shutdown,
    .close = stream_close,
    .close_now = stream_close_now,
    .conn_free = stream_conn_free,
};
