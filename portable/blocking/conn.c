/*
 * The blocking back end's conns: two threads each, and the transport
 * operations the core calls on the loop thread. Reading, the send buffer,
 * close and threads that cannot start are in docs/design.md ("blocking: a
 * thread per connection"); what it leaves out:
 *
 * 1. A graceful close waits for the writer's NEWS_FLUSHED before it
 *    cancels; an error or a reset cuts the send. The last thread to return
 *    queues NEWS_EXITED; the loop thread joins both, closes the socket if
 *    cancelling left it open, and reports the conn closed. A conn whose
 *    threads are gone already is finished inside conn_close. A cancel that
 *    lands between the reader's check and its connect call finds nothing
 *    to cancel: that close waits for the connect to end.
 * 2. News is handled in the order it happened: the connect's end, the
 *    send buffer's, a send's error, data, EOF, a read error, the flush's
 *    end, the threads' end. Data and EOF that arrive while the application
 *    has paused reading stay with the conn until reading is turned back
 *    on, which queues the conn again.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "blocking.h"
#include "sock.h"
#include "sock_models.h"

static struct blocking_conn *to_blocking(xpr_conn *c)
{
    return (struct blocking_conn *)c;
}

/* With bl->lock held: news for the loop thread. */
static void tell_loop(struct blocking_conn *bc, unsigned news)
{
    bc->news |= news;
    xpr__blocking_make_ready(bc->bl, &bc->ready);
}

/* With bl->lock held, as a thread returns (quirk 1). */
static void thread_returns(struct blocking_conn *bc)
{
    if (--bc->threads_live == 0 && bc->closing)
        tell_loop(bc, NEWS_EXITED);
}

static void reader_main(void *arg)
{
    struct blocking_conn *bc = arg;
    struct blocking_loop *bl = bc->bl;
    xpr_socket_t sock = bc->base.sock;
    xpr__mutex_lock(&bl->lock);
    if (bc->connecting && !bc->closing) {
        int rc;
        xpr__mutex_unlock(&bl->lock);
        rc = bc->adopted ? 0 /* connected already: report it */
                         : xpr__sock_connect_blocking(sock, &bc->connect_to);
        xpr__mutex_lock(&bl->lock);
        bc->connect_err = rc;
        if (!bc->closing)
            tell_loop(bc, NEWS_CONNECTED);
        if (rc != 0) {
            thread_returns(bc);
            xpr__mutex_unlock(&bl->lock);
            return;
        }
    }
    for (;;) {
        long n;
        while (!bc->closing && (!bc->reading_on || bc->chunk_len > 0))
            xpr__cond_wait(&bc->cond, &bl->lock, -1);
        if (bc->closing)
            break;
        xpr__mutex_unlock(&bl->lock);
        n = xpr__sock_recv(sock, bc->in_buf, XPR__BLOCKING_CHUNK);
        xpr__mutex_lock(&bl->lock);
        if (bc->closing)
            break;
        if (n > 0) {
            bc->chunk_len = (size_t)n;
            tell_loop(bc, NEWS_DATA);
        } else if (n == 0) {
            tell_loop(bc, NEWS_EOF);
            break;
        } else if (n != XPR_EAGAIN) {
            bc->read_err = (int)n;
            tell_loop(bc, NEWS_READ_ERR);
            break;
        }
    }
    thread_returns(bc);
    xpr__mutex_unlock(&bl->lock);
}

/* Sends len bytes from p; 0 or the error. */
static int send_all(xpr_socket_t sock, const unsigned char *p, size_t len)
{
    while (len > 0) {
        const void *base = p;
        long n = xpr__sock_sendv(sock, &base, &len, 1);
        if (n == XPR_EAGAIN)
            continue;
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The send buffer, a FIN after it, and the flush of a graceful close
 * (docs/design.md, "Writes" and "Close"). */
static void writer_main(void *arg)
{
    struct blocking_conn *bc = arg;
    struct blocking_loop *bl = bc->bl;
    xpr_socket_t sock = bc->base.sock;
    xpr__mutex_lock(&bl->lock);
    for (;;) {
        int rc;
        while (!bc->cut && !bc->closing && bc->out_len == 0 && !bc->fin_wanted)
            xpr__cond_wait(&bc->cond, &bl->lock, -1);
        if (bc->cut)
            break;
        if (bc->out_len > 0) {
            size_t len = bc->out_len;
            bc->in_send = 1;
            xpr__mutex_unlock(&bl->lock);
            rc = send_all(sock, bc->out_buf, len);
            xpr__mutex_lock(&bl->lock);
            bc->in_send = 0;
            bc->out_len = 0;
            if (bc->cut)
                break;
            if (rc != 0) {
                bc->write_err = rc;
                tell_loop(bc, NEWS_WRITE_ERR);
                break;
            }
            if (bc->want_writable) {
                bc->want_writable = 0;
                tell_loop(bc, NEWS_WRITABLE);
            }
        } else if (bc->fin_wanted) {
            bc->fin_wanted = 0;
            xpr__mutex_unlock(&bl->lock);
            xpr__sock_shutdown_write(sock); /* a failure shows on reading */
            xpr__mutex_lock(&bl->lock);
        } else { /* closing, everything sent */
            tell_loop(bc, NEWS_FLUSHED);
            break;
        }
    }
    thread_returns(bc);
    xpr__mutex_unlock(&bl->lock);
}

/* The buffers, the condition and both threads, or an error with
 * nothing left behind. The writer starts first: it only waits, so it can
 * be stopped at once if the reader cannot start. */
static int start_threads(struct blocking_conn *bc, int connecting)
{
    struct blocking_loop *bl = bc->base.loop->backend;
    int rc;
    bc->bl = bl;
    bc->connecting = (unsigned char)connecting;
    bc->in_buf = xpr__malloc(XPR__BLOCKING_CHUNK + XPR__BLOCKING_SEND_BUFFER);
    if (bc->in_buf == NULL)
        return XPR_ENOMEM;
    bc->out_buf = bc->in_buf + XPR__BLOCKING_CHUNK;
    if (xpr__cond_init(&bc->cond) != 0) {
        free(bc->in_buf);
        return XPR_ENOMEM;
    }
    bc->threads_live = 2;
    rc = xpr__thread_start_sized(&bc->writer, writer_main, bc,
                                 XPR__BLOCKING_STACK);
    if (rc != 0)
        goto no_threads;
    rc = xpr__thread_start_sized(&bc->reader, reader_main, bc,
                                 XPR__BLOCKING_STACK);
    if (rc == 0)
        return 0;
    xpr__mutex_lock(&bl->lock);
    bc->closing = bc->cut = 1;
    xpr__cond_broadcast(&bc->cond);
    xpr__mutex_unlock(&bl->lock);
    xpr__thread_join(&bc->writer);
no_threads:
    xpr__cond_destroy(&bc->cond);
    free(bc->in_buf);
    bc->in_buf = bc->out_buf = NULL;
    return rc;
}

/* Close (docs/design.md): every blocking call on the socket returns. */
static void cancel(struct blocking_conn *bc, int reset, int sending)
{
    if (bc->cancelled)
        return;
    bc->cancelled = 1;
    xpr__sock_cancel_blocking(bc->base.sock, !reset || sending);
}

/* Quirk 1: both threads have returned; the conn ends. */
static void finish(struct blocking_conn *bc)
{
    xpr_conn *c = &bc->base;
    if (bc->finished)
        return;
    bc->finished = 1;
    xpr__thread_join(&bc->reader);
    xpr__thread_join(&bc->writer);
    xpr__mutex_lock(&bc->bl->lock);
    xpr__blocking_unready(bc->bl, &bc->ready);
    xpr__mutex_unlock(&bc->bl->lock);
    xpr__cond_destroy(&bc->cond);
    free(bc->in_buf);
    bc->in_buf = bc->out_buf = NULL;
    xpr__sock_close(c->sock, 0);
    c->sock = XPR__INVALID_SOCKET;
    xpr__conn_closed(c);
}

void xpr__blocking_conn_news(struct blocking_conn *bc)
{
    xpr_conn *c = &bc->base;
    struct blocking_loop *bl = bc->bl;
    unsigned news;
    int connect_err, read_err, write_err;
    size_t chunk;
    xpr__mutex_lock(&bl->lock);
    news = bc->news;
    bc->news = 0;
    connect_err = bc->connect_err;
    read_err = bc->read_err;
    write_err = bc->write_err;
    chunk = bc->chunk_len;
    xpr__mutex_unlock(&bl->lock);
    /* quirk 2 */
    if ((news & NEWS_CONNECTED) && !xpr__conn_done(c)) {
        if (connect_err != 0)
            xpr__conn_failed(c, connect_err);
        else
            xpr__conn_connected(c);
    }
    if ((news & NEWS_WRITABLE) && !xpr__conn_done(c))
        xpr__conn_writable(c);
    if ((news & NEWS_WRITE_ERR) && !xpr__conn_done(c))
        xpr__conn_failed(c, write_err);
    if ((news & NEWS_DATA) && !xpr__conn_done(c) && xpr__conn_wants_data(c)) {
        xpr__conn_received(c, bc->in_buf, chunk);
        xpr__mutex_lock(&bl->lock);
        bc->chunk_len = 0;
        xpr__cond_broadcast(&bc->cond);
        xpr__mutex_unlock(&bl->lock);
        news &= ~(unsigned)NEWS_DATA;
    }
    if ((news & NEWS_EOF) && !(news & NEWS_DATA) && !xpr__conn_done(c) &&
        xpr__conn_wants_data(c)) {
        xpr__conn_eof(c);
        news &= ~(unsigned)NEWS_EOF;
    }
    if ((news & NEWS_READ_ERR) && !xpr__conn_done(c))
        xpr__conn_failed(c, read_err);
    if (news & NEWS_FLUSHED)
        cancel(bc, 0, 1);
    if (news & NEWS_EXITED) {
        finish(bc);
        return;
    }
    if (!xpr__conn_done(c) && (news & (NEWS_DATA | NEWS_EOF))) {
        /* held until reading is on again (quirk 2) */
        xpr__mutex_lock(&bl->lock);
        bc->news |= news & (NEWS_DATA | NEWS_EOF);
        xpr__mutex_unlock(&bl->lock);
    }
}

/* ---- transport operations (loop thread) ---- */

void xpr__blocking_conn_accepted(xpr_listener *l, xpr_socket_t s)
{
    xpr_conn *c = xpr__conn_new_accepted(l, s);
    if (c == NULL) {
        xpr__sock_close(s, 0);
        return;
    }
    c->connected = 1;
    if (start_threads(to_blocking(c), 0) != 0) { /* refused */
        xpr__conn_discard(c);
        xpr__sock_close(s, 0);
        l->loop->stats.refused_connections++;
        return;
    }
    xpr__listener_conn_opened(l, c);
}

int xpr__blocking_conn_connect(xpr_conn *c, const struct xpr__addr *addr)
{
    struct blocking_conn *bc = to_blocking(c);
    xpr_socket_t s;
    int bound, rc = xpr__conn_open_socket(c, addr->family, &s, &bound);
    if (rc != 0)
        return rc;
    rc = xpr__sock_set_blocking(s, 1);
    if (rc == 0) {
        c->sock = s;
        bc->connect_to = *addr;
        rc = start_threads(bc, 1);
    }
    if (rc != 0) {
        xpr__sock_close(s, 0);
        c->sock = XPR__INVALID_SOCKET;
    }
    return rc;
}

/* The reader reports the adopted socket connected, as after a connect. On
 * an error the socket goes back to the application non-blocking, as
 * xpr_conn_adopt found it after xpr__sock_take. */
int xpr__blocking_conn_adopt(xpr_conn *c)
{
    struct blocking_conn *bc = to_blocking(c);
    int rc = xpr__sock_set_blocking(c->sock, 1);
    bc->adopted = 1;
    if (rc == 0)
        rc = start_threads(bc, 1);
    if (rc != 0)
        xpr__sock_set_blocking(c->sock, 0);
    return rc;
}

int xpr__blocking_conn_set_reading(xpr_conn *c, int on)
{
    struct blocking_conn *bc = to_blocking(c);
    xpr__mutex_lock(&bc->bl->lock);
    bc->reading_on = (unsigned char)on;
    if (on && (bc->news & (NEWS_DATA | NEWS_EOF)))
        xpr__blocking_make_ready(bc->bl, &bc->ready);
    xpr__cond_broadcast(&bc->cond);
    xpr__mutex_unlock(&bc->bl->lock);
    return 0;
}

/* The send buffer (docs/design.md, "Writes"). The writer touches out_buf only
 * while out_len > 0. */
long xpr__blocking_conn_send(xpr_conn *c, const void *const *bases,
                             const size_t *lens, size_t runs)
{
    struct blocking_conn *bc = to_blocking(c);
    size_t taken = 0, offered = 0, i;
    int busy;
    xpr__mutex_lock(&bc->bl->lock);
    busy = bc->out_len > 0 || bc->fin_wanted;
    if (busy)
        bc->want_writable = 1;
    xpr__mutex_unlock(&bc->bl->lock);
    if (busy)
        return 0;
    for (i = 0; i < runs; i++) {
        size_t len = lens[i];
        offered += len;
        if (len > XPR__BLOCKING_SEND_BUFFER - taken)
            len = XPR__BLOCKING_SEND_BUFFER - taken;
        memcpy(bc->out_buf + taken, bases[i], len);
        taken += len;
    }
    if (taken == 0)
        return 0;
    xpr__mutex_lock(&bc->bl->lock);
    bc->out_len = taken;
    bc->want_writable = taken < offered;
    xpr__cond_broadcast(&bc->cond);
    xpr__mutex_unlock(&bc->bl->lock);
    return (long)taken;
}

/* A FIN asked for while the writer sends goes out after it. */
int xpr__blocking_conn_shutdown(xpr_conn *c)
{
    struct blocking_conn *bc = to_blocking(c);
    int now;
    xpr__mutex_lock(&bc->bl->lock);
    now = bc->out_len == 0;
    if (!now) {
        bc->fin_wanted = 1;
        xpr__cond_broadcast(&bc->cond);
    }
    xpr__mutex_unlock(&bc->bl->lock);
    return now ? xpr__sock_shutdown_write(c->sock) : 0;
}

/* Quirk 1. */
void xpr__blocking_conn_close(xpr_conn *c, int reset)
{
    struct blocking_conn *bc = to_blocking(c);
    int live, sending, flushing;
    if (bc->finished)
        return;
    xpr__mutex_lock(&bc->bl->lock);
    bc->closing = 1;
    if (reset || c->close_err != 0)
        bc->cut = 1;
    live = bc->threads_live;
    sending = bc->in_send;
    flushing = !bc->cut && (bc->out_len > 0 || bc->fin_wanted);
    xpr__cond_broadcast(&bc->cond);
    xpr__mutex_unlock(&bc->bl->lock);
    if (reset)
        xpr__sock_set_linger0(c->sock);
    if (live == 0) {
        finish(bc);
        return;
    }
    if (!flushing) /* else after NEWS_FLUSHED */
        cancel(bc, reset, sending);
}

void xpr__blocking_cut_flushes(xpr_loop *loop)
{
    struct xpr__link *link;
    for (link = loop->conns.head.next; link != &loop->conns.head;
         link = link->next) {
        struct blocking_conn *bc =
            to_blocking(XPR__CONTAINER(link, xpr_conn, link));
        int cut_now;
        if (bc->finished || bc->cancelled)
            continue;
        xpr__mutex_lock(&bc->bl->lock);
        cut_now = bc->closing && !bc->cut;
        if (cut_now) {
            bc->cut = 1;
            xpr__cond_broadcast(&bc->cond);
        }
        xpr__mutex_unlock(&bc->bl->lock);
        if (cut_now)
            cancel(bc, 0, 1);
    }
}
