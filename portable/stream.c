/*
 * The readiness transport: accept, connect, read, send, FIN and close on
 * top of a poller (poller.h) and the socket layer (sock.h); every readiness
 * back end (poll, select, eventselect, asyncselect, libevent) is this file
 * plus a poller (docs/design.md, "The readiness engine and its pollers").
 *
 * Rules it keeps:
 *   1. Sends are synchronous (XPR__TRANSPORT_SENDS_AT_ONCE).
 *   2. Interest follows state: readable while the core has reading on (a
 *      level-triggered poller would report EOF forever); writable while
 *      connecting or while a send waits.
 *   3. Sockets leave the poller before they are closed, and memory of a
 *      conn lives until the core ran its on_close, so a callback may close
 *      any conn, even one the current dispatch has yet to visit.
 *   4. Closed listeners are freed after the dispatch that closed them: an
 *      on_open callback may close the listener whose accept loop runs it.
 *      Freed watchers of application sockets too (stream_watch.c).
 */
#include <assert.h>
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "platform_backends.h"
#include "poller.h"
#include "sock.h"
#include "stream_watch.h"
#include "udp.h"

/* Fairness: at most this many reads or accepts per readiness event. */
#define READS_PER_EVENT 16
#define ACCEPTS_PER_EVENT 64

struct stream_conn {
    struct xpr_conn base; /* first: the core sees an xpr_conn */
    struct xpr__io io;
    unsigned char write_wanted; /* a send would block: wait to be writable */
};

struct stream_listener {
    struct xpr_listener base;
    struct xpr__io io;
    struct stream_listener *next_closed;
};

struct stream_state {
    struct xpr__stream_watches watches; /* first (stream_watch.h) */
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

/* Rule 2. A socket the poller cannot take (out of memory, or past what its
 * method can watch) would hang silent: the error goes back to the core,
 * which ends the conn. */
static int set_conn_interest(struct stream_conn *sc, int reading)
{
    unsigned want = reading ? XPR__IO_READ : 0u;
    if (!sc->base.connected || sc->write_wanted)
        want |= XPR__IO_WRITE;
    return set_interest(sc->base.loop, &sc->io, want);
}

static int update_interest(struct stream_conn *sc)
{
    return set_conn_interest(sc, sc->base.reading);
}

static void conn_readable(struct stream_conn *sc)
{
    xpr_conn *c = &sc->base;
    xpr_loop *loop = c->loop;
    int reads = (loop->poller->flags & XPR__POLLER_ONE_READ_PER_EVENT)
                    ? 1
                    : READS_PER_EVENT;
    while (reads-- > 0 && xpr__conn_wants_data(c)) {
        long n = xpr__sock_recv(c->sock, loop->read_buf, loop->read_buf_size);
        if (n > 0) {
            xpr__conn_received(c, loop->read_buf, (size_t)n);
            if ((size_t)n < loop->read_buf_size)
                break; /* most likely drained; a level poller says if not */
        } else {
            if (n == 0)
                xpr__conn_eof(c);
            else if (n != XPR_EAGAIN)
                xpr__conn_failed(c, (int)n);
            break;
        }
    }
}

static void conn_ready(struct xpr__io *io, unsigned events)
{
    struct stream_conn *sc = XPR__CONTAINER(io, struct stream_conn, io);
    xpr_conn *c = &sc->base;
    if (xpr__conn_done(c))
        return;
    if (!c->connected) {
        int rc;
        if (!(events & (XPR__IO_WRITE | XPR__IO_ERROR)))
            return;
        rc = xpr__sock_connect_result(c->sock);
        if (rc != 0)
            xpr__conn_failed(c, rc);
        else
            xpr__conn_connected(c);
        return;
    }
    if ((events & (XPR__IO_WRITE | XPR__IO_ERROR)) && sc->write_wanted) {
        int rc;
        sc->write_wanted = 0;
        xpr__conn_writable(c);
        if (xpr__conn_done(c))
            return;
        /* drained: write interest off (a new block turned it on again) */
        rc = sc->write_wanted ? 0 : update_interest(sc);
        if (rc != 0) {
            xpr__conn_failed(c, rc);
            return;
        }
    }
    if (events & (XPR__IO_READ | XPR__IO_ERROR))
        conn_readable(sc);
}

static void stream_init_io(struct stream_conn *sc, xpr_socket_t s)
{
    sc->io.sock = s;
    sc->io.mask = 0;
    sc->io.ready = conn_ready;
    sc->io.poller_data = NULL;
}

/* ---- transport operations ---- */

static int stream_conn_connect(xpr_conn *c, const struct xpr__addr *addr)
{
    struct stream_conn *sc = to_stream(c);
    xpr_socket_t s = XPR__INVALID_SOCKET;
    int bound, rc = xpr__conn_open_socket(c, addr->family, &s, &bound);
    if (rc != 0)
        return rc;
    rc = xpr__sock_start_connect(s, addr);
    if (rc != 0 && rc != XPR_EAGAIN) {
        xpr__sock_close(s, 0);
        return rc;
    }
    c->sock = s;
    stream_init_io(sc, s);
    /* connected at once or not: writability reports it either way */
    rc = update_interest(sc);
    if (rc != 0) {
        xpr__sock_close(s, 0);
        c->sock = XPR__INVALID_SOCKET;
    }
    return rc;
}

/* An adopted socket is connected already; waiting for writability, as a
 * connect does, reports it from the loop (at once: it is writable). */
static int stream_conn_adopt(xpr_conn *c)
{
    struct stream_conn *sc = to_stream(c);
    stream_init_io(sc, c->sock);
    return update_interest(sc);
}

static int stream_conn_set_reading(xpr_conn *c, int on)
{
    return set_conn_interest(to_stream(c), on);
}

/* Sends until everything went or the socket would block: WSAAsyncSelect
 * and WSAEventSelect post FD_WRITE only after a send failed with
 * WSAEWOULDBLOCK, so a short send alone must not start a wait. */
static long stream_conn_send(xpr_conn *c, const void *const *bases,
                             const size_t *lens, size_t runs)
{
    struct stream_conn *sc = to_stream(c);
    const void *run_base[XPR__SEND_RUNS];
    size_t run_len[XPR__SEND_RUNS];
    size_t first = 0, sent = 0, i;
    assert(runs <= XPR__SEND_RUNS);
    for (i = 0; i < runs; i++) {
        run_base[i] = bases[i];
        run_len[i] = lens[i];
    }
    while (first < runs) {
        long n = xpr__sock_sendv(c->sock, run_base + first, run_len + first,
                                 runs - first);
        if (n == XPR_EAGAIN)
            break;
        if (n < 0)
            return n;
        sent += (size_t)n;
        for (; n > 0 && (size_t)n >= run_len[first]; first++)
            n -= (long)run_len[first];
        if (n > 0) {
            run_base[first] = (const unsigned char *)run_base[first] + n;
            run_len[first] -= (size_t)n;
        }
    }
    if (first < runs) {
        int rc;
        sc->write_wanted = 1;
        rc = update_interest(sc);
        if (rc != 0)
            return rc;
    }
    return (long)sent;
}

static int stream_conn_shutdown(xpr_conn *c)
{
    return xpr__sock_shutdown_write(c->sock);
}

static void stream_conn_close(xpr_conn *c, int reset)
{
    struct stream_conn *sc = to_stream(c);
    set_interest(c->loop, &sc->io, 0);
    sc->io.mask = 0; /* never reported again, even if removal failed */
    if (c->sock != XPR__INVALID_SOCKET)
        xpr__sock_close(c->sock, reset);
    c->sock = XPR__INVALID_SOCKET;
    xpr__conn_closed(c);
}

/* ---- listener ---- */

static void listener_ready(struct xpr__io *io, unsigned events)
{
    struct stream_listener *sl = XPR__CONTAINER(io, struct stream_listener, io);
    xpr_listener *l = &sl->base;
    int i;
    (void)events;
    for (i = 0; i < ACCEPTS_PER_EVENT && io->mask != 0; i++) {
        struct stream_conn *sc;
        xpr_conn *c;
        xpr_socket_t s;
        int rc = xpr__sock_accept(l->sock, &s);
        if (rc == XPR_EAGAIN)
            break;
        if (rc != 0) {
            if (xpr__listener_accept_failed(l, rc))
                break; /* accepting pauses (out of descriptors, ...) */
            continue;
        }
        /* Watched before the application hears of it: a socket the poller
         * cannot take (past what its method can watch) is dropped unseen,
         * like a failed accept. */
        c = xpr__conn_new_accepted(l, s);
        if (c == NULL) {
            xpr__sock_close(s, 0);
            continue;
        }
        sc = to_stream(c);
        stream_init_io(sc, s);
        sc->base.connected = 1;
        if (set_interest(l->loop, &sc->io, XPR__IO_READ) != 0) {
            xpr__conn_discard(c);
            xpr__sock_close(s, 0);
            continue;
        }
        xpr__listener_conn_opened(l, c);
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
    rc = set_interest(loop, &sl->io, XPR__IO_READ);
    if (rc != 0) {
        xpr__sock_close(sl->base.sock, 0);
        free(sl);
        return rc;
    }
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
    xpr__stream_watches_free(&st->watches);
    free(st);
}

/* Rules 3 and 4 keep every io the poller listed in memory until the
 * dispatch ends, which poller.h asks of the engine. */
static int stream_run_once(xpr_loop *loop, int timeout_ms)
{
    struct stream_state *st = loop->backend;
    const struct xpr__fired *fired;
    int n = loop->poller->wait(
        loop->poller_state,
        xpr__stream_watches_timeout(&st->watches, timeout_ms), &fired);
    if (n > 0)
        xpr__io_dispatch(fired, n);
    xpr__stream_watches_round(loop, &st->watches);
    free_closed_listeners(st);
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
    .conn_size = sizeof(struct stream_conn),
    .conn_flags = XPR__TRANSPORT_SENDS_AT_ONCE,
    .conn_connect = stream_conn_connect,
    .conn_adopt = stream_conn_adopt,
    .conn_set_reading = stream_conn_set_reading,
    .conn_send = stream_conn_send,
    .conn_shutdown = stream_conn_shutdown,
    .conn_close = stream_conn_close,
    .watch_size = sizeof(struct xpr__stream_watch),
    .watch_set = xpr__stream_watch_set,
    .watch_release = xpr__stream_watch_release,
    .udp = &xpr__udp_ready_ops,
};
