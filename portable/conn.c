/*
 * Connections: the public calls and the one connection state machine
 * (backend.h, enum xpr__conn_state; the rules in docs/design.md, "The
 * connection state machine"). Nothing the application wrote is dropped
 * silently while the conn lives: an error of the transport ends the conn
 * with that error, and on_close reports it.
 */
#include <assert.h>
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "sock.h"

struct xpr__shared_callbacks *
xpr__callbacks_new(const struct xpr_conn_callbacks *cb)
{
    struct xpr__shared_callbacks *shared = xpr__malloc(sizeof(*shared));
    if (shared != NULL) {
        shared->cb = *cb;
        shared->refs = 1;
    }
    return shared;
}

void xpr__callbacks_release(struct xpr__shared_callbacks *shared)
{
    if (shared != NULL && --shared->refs == 0)
        free(shared);
}

xpr_conn *xpr__conn_new(xpr_loop *loop, struct xpr__shared_callbacks *shared,
                        void *arg, xpr_socket_t sock)
{
    xpr_conn *c = xpr__calloc(1, loop->ops->conn_size);
    if (c == NULL)
        return NULL;
    /* zeroed: no flag set, no timeout, nothing queued */
    c->loop = loop;
    c->cb = &shared->cb;
    shared->refs++;
    c->userdata = arg;
    c->sock = sock;
    c->state = XPR__CONN_CONNECTING;
    xpr__wq_init(&c->queue);
    xpr__list_push_back(&loop->conns, &c->link);
    loop->stats.live_connections++;
    return c;
}

void xpr__conn_discard(xpr_conn *c)
{
    xpr__list_remove(&c->link);
    c->loop->stats.live_connections--;
    xpr__conn_free(c);
}

static struct xpr__shared_callbacks *shared_of(const xpr_conn *c)
{
    return (struct xpr__shared_callbacks *)(void *)c->cb;
}

void xpr__conn_free(xpr_conn *c)
{
    xpr__connect_forget(c);
    xpr__conn_timeout_free(c);
    xpr__callbacks_release(shared_of(c));
    xpr__wq_clear(&c->queue, &c->loop->released);
    free(c);
}

/* ---- state machine ---- */

static void end(xpr_conn *c, int err, int reset);

/* Ends the conn unless rc is 0; returns rc. */
static int end_on_error(xpr_conn *c, int rc)
{
    if (rc != 0)
        end(c, rc, 0);
    return rc;
}

/* Tells the transport to read or not, as the state now asks. */
static int update_reading(xpr_conn *c)
{
    unsigned char want = c->connected && xpr__conn_wants_data(c);
    int rc;
    if (want == c->reading || c->state >= XPR__CONN_ENDING)
        return 0;
    rc = c->loop->ops->conn_set_reading(c, want);
    if (rc == 0)
        c->reading = want;
    return rc;
}

static int kernel_takes(const xpr_conn *c)
{
    return (c->loop->conn_flags & XPR__TRANSPORT_KERNEL_TAKES) != 0;
}

/* n bytes left the application's hands: handed to the kernel. */
static void count_written(xpr_conn *c, size_t n)
{
    c->loop->stats.queued_write_bytes -= n;
    c->loop->stats.bytes_written += n;
}

/* Bytes still counted in xpr_conn_queued. */
static size_t queued_bytes(const xpr_conn *c)
{
    return xpr__wq_bytes(&c->queue) - (kernel_takes(c) ? c->in_flight : 0);
}

/* Offers the transport what it does not hold yet. 0, or the error that
 * ended the conn. */
static int flush(xpr_conn *c)
{
    const struct xpr_backend_ops *ops = c->loop->ops;
    while (!c->send_full && c->connected &&
           (c->state == XPR__CONN_OPEN || c->state == XPR__CONN_CLOSING) &&
           xpr__wq_bytes(&c->queue) > c->in_flight) {
        const void *bases[XPR__SEND_RUNS];
        size_t lens[XPR__SEND_RUNS];
        size_t runs =
            xpr__wq_peekv(&c->queue, c->in_flight, bases, lens, XPR__SEND_RUNS);
        size_t offered = 0, i;
        long n;
        for (i = 0; i < runs; i++)
            offered += lens[i];
        n = ops->conn_send(c, bases, lens, runs);
        if (n < 0)
            return end_on_error(c, (int)n);
        if ((size_t)n < offered)
            c->send_full = 1;
        if (c->loop->conn_flags & XPR__TRANSPORT_SENDS_AT_ONCE) {
            xpr__wq_consume(&c->queue, (size_t)n, &c->loop->released);
            count_written(c, (size_t)n);
        } else {
            c->in_flight += (size_t)n;
            if (kernel_takes(c))
                count_written(c, (size_t)n);
        }
    }
    return 0;
}

static void send_fin(xpr_conn *c)
{
    int rc;
    c->shut_sent = 1;
    rc = c->loop->ops->conn_shutdown(c);
    if (rc != 0 && rc != XPR_ENOTSUP)
        end(c, rc, 0);
}

/* Nothing is queued or in flight: a close or FIN asked for can go now. */
static void queue_empty(xpr_conn *c)
{
    if (!c->connected || xpr__wq_bytes(&c->queue) != 0)
        return;
    if (c->state == XPR__CONN_CLOSING)
        end(c, 0, 0);
    else if (c->state == XPR__CONN_OPEN && c->shut_wanted && !c->shut_sent)
        send_fin(c);
}

/* After a report of the transport that may have emptied the queue. */
static void after_send_report(xpr_conn *c, int had_bytes)
{
    if (flush(c) != 0)
        return;
    if (!had_bytes || xpr__wq_bytes(&c->queue) != 0)
        return;
    if (c->state == XPR__CONN_OPEN && c->cb->on_drain != NULL)
        c->cb->on_drain(c);
    /* on_drain may have written again (and asked for a FIN or a close):
     * those wait until that is sent too. */
    queue_empty(c);
}

static void end(xpr_conn *c, int err, int reset)
{
    if (xpr__connect_between(c)) { /* ends once the attempt has closed */
        xpr__connect_stop(c, err);
        return;
    }
    if (c->state >= XPR__CONN_ENDING)
        return;
    c->state = XPR__CONN_ENDING;
    c->close_err = err;
    c->reading = 0;
    xpr__conn_timeout_release(c);
    if (xpr__connect_idle(c)) { /* looking up its name: no socket yet */
        xpr__connect_forget(c);
        xpr__conn_closed(c);
        return;
    }
    c->loop->ops->conn_close(c, reset);
}

static void start_close(xpr_conn *c)
{
    if (xpr__connect_between(c)) {
        xpr__connect_stop(c, 0);
        return;
    }
    if (c->state >= XPR__CONN_CLOSING)
        return;
    c->state = XPR__CONN_CLOSING;
    xpr__conn_timeout_stop(c);
    if (end_on_error(c, update_reading(c)) == 0)
        queue_empty(c);
}

/* The conn is connected (accepted or connect done): start timeouts and
 * reading, run on_open, send what waits. */
void xpr__conn_opened(xpr_conn *c)
{
    int rc;
    c->connected = 1;
    xpr__connect_forget(c); /* its deadline and addresses are done with */
    if (c->state == XPR__CONN_CONNECTING)
        c->state = XPR__CONN_OPEN;
    rc = xpr__conn_timeout_start(c);
    /* A conn closed while it connected still hears on_open, then ends. A
     * conn the application heard of ends with on_close, even when reading
     * cannot start. */
    if (c->cb->on_open != NULL)
        c->cb->on_open(c);
    end_on_error(c, rc);
    if (end_on_error(c, update_reading(c)) != 0)
        return;
    if (flush(c) == 0)
        queue_empty(c);
}

xpr_conn *xpr__conn_new_accepted(xpr_listener *l, xpr_socket_t sock)
{
    xpr_conn *c;
    if (l->cfg.max_connections != 0 &&
        l->live_conns >= l->cfg.max_connections) {
        l->loop->stats.refused_connections++;
        return NULL;
    }
    c = xpr__conn_new(l->loop, l->callbacks, l->arg, sock);
    if (c != NULL)
        c->state = XPR__CONN_OPEN;
    return c;
}

void xpr__conn_connected(xpr_conn *c)
{
    if (c->state >= XPR__CONN_ENDING)
        return;
    assert(!c->connected);
    /* Nothing listened where a socket that connected to itself connected
     * (a TCP simultaneous open): that connect was refused. */
    if (!c->adopted && xpr__sock_connected_to_itself(c->sock)) {
        xpr__conn_failed(c, XPR_ECONNREFUSED);
        return;
    }
    xpr__conn_opened(c);
}

void xpr__conn_received(xpr_conn *c, const void *p, size_t n)
{
    c->loop->stats.bytes_read += n;
    end_on_error(c, xpr__conn_timeout_note_read(c));
    if (c->cb->on_data != NULL && !xpr__conn_done(c))
        c->cb->on_data(c, p, n);
}

void xpr__conn_eof(xpr_conn *c)
{
    if (c->state >= XPR__CONN_ENDING || c->read_ended)
        return;
    c->read_ended = 1;
    if (end_on_error(c, update_reading(c)) != 0)
        return;
    if (c->cb->on_eof != NULL)
        c->cb->on_eof(c);
    else
        start_close(c);
}

void xpr__conn_writable(xpr_conn *c)
{
    if (c->state >= XPR__CONN_ENDING)
        return;
    c->send_full = 0;
    after_send_report(c, xpr__wq_bytes(&c->queue) > 0);
}

void xpr__conn_sent(xpr_conn *c, size_t n)
{
    if (c->state >= XPR__CONN_ENDING)
        return;
    assert(n <= c->in_flight);
    c->in_flight -= n;
    xpr__wq_consume(&c->queue, n, &c->loop->released);
    if (!kernel_takes(c))
        count_written(c, n);
    c->send_full = 0;
    after_send_report(c, 1);
}

void xpr__conn_failed(xpr_conn *c, int err)
{
    /* A connect by name with another address left: this attempt's socket
     * closes and the conn stays CONNECTING (connect.c). */
    if (!c->connected && c->state <= XPR__CONN_CLOSING &&
        xpr__connect_next_wanted(c, err)) {
        c->state = XPR__CONN_ENDING; /* to the transport, as any ending */
        c->loop->ops->conn_close(c, 0);
        return;
    }
    end(c, err, 0);
}

void xpr__conn_closed(xpr_conn *c)
{
    xpr_loop *loop = c->loop;
    if (c->state == XPR__CONN_FINISHED)
        return;
    assert(c->state == XPR__CONN_ENDING);
    if (xpr__connect_between(c)) {
        /* an attempt of a connect by name closed: the loop tries the next
         * address (xpr__loop_deliver_closes) */
        c->state = xpr__connect_attempt_closed(c);
        xpr__list_remove(&c->link);
        xpr__list_push_back(&loop->finished, &c->link);
        return;
    }
    c->state = XPR__CONN_FINISHED;
    loop->stats.queued_write_bytes -= queued_bytes(c);
    xpr__wq_clear(&c->queue, &loop->released);
    c->in_flight = 0;
    xpr__conn_timeout_release(c);
    if (c->listener != NULL)
        c->listener->live_conns--;
    xpr__list_remove(&c->link);
    xpr__list_push_back(&loop->finished, &c->link);
    loop->stats.live_connections--;
}

/* ---- public API ---- */

int xpr__conn_usable(const xpr_conn *c)
{
    int rc = c == NULL ? XPR_EINVAL : xpr__loop_check_thread(c->loop);
    if (rc != 0)
        return rc;
    if (xpr__connect_between(c))
        return 0; /* still connecting, to the next address */
    return c->state >= XPR__CONN_CLOSING ? XPR_ECLOSED : 0;
}

/* Straight to the socket when nothing waits (readiness transports): no
 * copy. Returns the bytes sent, or the error that ended the conn (< 0). */
static long send_at_once(xpr_conn *c, const void *const *bases,
                         const size_t *lens, size_t runs, size_t total)
{
    const struct xpr_backend_ops *ops = c->loop->ops;
    long sent;
    if (!(c->loop->conn_flags & XPR__TRANSPORT_SENDS_AT_ONCE) ||
        c->state != XPR__CONN_OPEN || !c->connected || c->send_full ||
        xpr__wq_bytes(&c->queue) != 0 || runs == 0)
        return 0;
    sent = ops->conn_send(c, bases, lens, runs);
    if (sent < 0)
        return end_on_error(c, (int)sent);
    c->loop->stats.bytes_written += (uint64_t)sent;
    if ((size_t)sent < total)
        c->send_full = 1;
    return sent;
}

/* Queues the n bytes from p that send_at_once did not send, then offers
 * the transport what waits. Part of the bytes may be sent already, and
 * the caller cannot tell how many: what it writes next would follow a gap
 * the peer cannot see. A push that fails ends the conn instead. */
static int queue_copy(xpr_conn *c, const void *p, size_t n)
{
    int rc = xpr__wq_push(&c->queue, p, n);
    if (rc != 0)
        return end_on_error(c, rc);
    c->loop->stats.queued_write_bytes += n;
    return 0;
}

/* 0 when a write may go ahead, or the error to return. */
static int writable(xpr_conn *conn)
{
    int rc = xpr__conn_usable(conn);
    if (rc != 0)
        return rc;
    return conn->shut_wanted ? XPR_ESHUTDOWN : 0;
}

int xpr_conn_write(xpr_conn *conn, const void *p, size_t n)
{
    struct xpr_buf buf;
    if (conn == NULL || (p == NULL && n > 0))
        return XPR_EINVAL;
    buf.base = p;
    buf.len = n;
    return xpr_conn_writev(conn, &buf, 1);
}

int xpr_conn_writev(xpr_conn *conn, const struct xpr_buf *bufs, size_t count)
{
    const void *bases[XPR__SEND_RUNS];
    size_t lens[XPR__SEND_RUNS];
    size_t runs = 0, total = 0, i;
    long sent;
    int rc;
    if (conn == NULL || (bufs == NULL && count > 0))
        return XPR_EINVAL;
    for (i = 0; i < count; i++)
        if (bufs[i].base == NULL && bufs[i].len > 0)
            return XPR_EINVAL;
    rc = writable(conn);
    if (rc != 0)
        return rc;
    for (i = 0; i < count && runs < XPR__SEND_RUNS; i++) {
        if (bufs[i].len == 0)
            continue;
        bases[runs] = bufs[i].base;
        lens[runs++] = bufs[i].len;
        total += bufs[i].len;
    }
    sent = send_at_once(conn, bases, lens, runs, total);
    if (sent < 0)
        return (int)sent;
    for (i = 0; i < count; i++) {
        size_t skip = (size_t)sent < bufs[i].len ? (size_t)sent : bufs[i].len;
        sent -= (long)skip;
        if (bufs[i].len > skip) {
            rc = queue_copy(conn, (const unsigned char *)bufs[i].base + skip,
                            bufs[i].len - skip);
            if (rc != 0)
                return rc;
        }
    }
    return flush(conn);
}

int xpr_conn_write_lent(xpr_conn *conn, const void *p, size_t n,
                        xpr_write_release_cb release, void *arg)
{
    struct xpr__wq_chunk *chunk;
    long sent;
    int rc;
    if (conn == NULL || p == NULL || n == 0 || release == NULL)
        return XPR_EINVAL;
    rc = writable(conn);
    if (rc != 0)
        return rc;
    /* Made first: once bytes are sent, the release must not fail. */
    chunk = xpr__wq_lent_new(p, n, release, arg);
    if (chunk == NULL)
        return XPR_ENOMEM;
    sent = send_at_once(conn, &p, &n, 1, n);
    if (sent < 0) {
        xpr__wq_lent_discard(chunk);
        return (int)sent;
    }
    if ((size_t)sent == n) {
        xpr__wq_release(&conn->loop->released, chunk, 0);
        return 0;
    }
    xpr__wq_push_lent(&conn->queue, chunk, (size_t)sent);
    conn->loop->stats.queued_write_bytes += n - (size_t)sent;
    return flush(conn);
}

size_t xpr_conn_queued(const xpr_conn *conn)
{
    if (conn == NULL || xpr__conn_done(conn))
        return 0;
    return queued_bytes(conn);
}

/* A transport that cannot change reading ends the conn; either way the
 * state reported is the state in force. */
static int set_paused(xpr_conn *conn, int paused)
{
    int rc = xpr__conn_usable(conn);
    if (rc != 0 || conn->paused == paused)
        return rc;
    conn->paused = (unsigned char)paused;
    rc = update_reading(conn);
    if (rc != 0) {
        conn->paused = (unsigned char)!paused;
        end(conn, rc, 0);
    }
    return rc;
}

int xpr_conn_pause_reading(xpr_conn *conn)
{
    return set_paused(conn, 1);
}

int xpr_conn_resume_reading(xpr_conn *conn)
{
    return set_paused(conn, 0);
}

int xpr_conn_shutdown(xpr_conn *conn)
{
    int rc = xpr__conn_usable(conn);
    if (rc != 0)
        return rc;
    if (!conn->shut_wanted) {
        conn->shut_wanted = 1;
        queue_empty(conn);
    }
    return 0;
}

/* xpr_conn_close (flush first) or xpr_conn_abort (reset). */
static int close_or_abort(xpr_conn *conn, int reset)
{
    int rc = conn == NULL ? XPR_EINVAL : xpr__loop_check_thread(conn->loop);
    if (rc == 0 && reset)
        end(conn, 0, 1);
    else if (rc == 0)
        start_close(conn);
    return rc;
}

int xpr_conn_close(xpr_conn *conn)
{
    return close_or_abort(conn, 0);
}

int xpr_conn_abort(xpr_conn *conn)
{
    return close_or_abort(conn, 1);
}

void xpr__conn_end(xpr_conn *c, int err)
{
    end(c, err, 0);
}
