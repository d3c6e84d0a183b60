/*
 * The completion engine's loop: configuration, pools of per-I/O contexts,
 * the accounting of posted operations, routing of completions, the run
 * cycle, stats and the struct xpr_backend_ops table shared by the
 * completion back ends (completion.h says which file does what).
 *
 * 1. WSARecv / WSASend / AcceptEx / ConnectEx may complete at once (return
 *    0 / TRUE). A notification is still queued for it unless the socket has
 *    FILE_SKIP_COMPLETION_PORT_ON_SUCCESS; only then is the result handled
 *    here, from an inline list the run cycle drains after the harvester,
 *    with a per-round cap (fairness) and never from inside the call that
 *    posted it (no re-entrant callbacks).
 * 2. Skip-on-success is only asked for when the socket's protocol chain is
 *    a base provider (ChainLen == BASE_PROTOCOL): a layered service
 *    provider may complete "at once" and still queue a packet, which would
 *    then be handled twice (KB 2568167).
 * 3. A failed operation comes back with an NTSTATUS in OVERLAPPED.Internal;
 *    WSAGetOverlappedResult turns it into the WSA code the error table
 *    knows. It is only asked while the socket is open: a closed SOCKET value
 *    may already name another socket.
 * 4. An operation that fails at once (not WSA_IO_PENDING) queues nothing:
 *    its context is released on the spot and the error reported.
 * 5. Completions are routed through the context's owner pointer, never by
 *    SOCKET value (values are reused as soon as a socket is closed).
 * 6. Contexts the kernel may still write are never freed: each holds a
 *    count on its owner until reaped; xpr_loop_free keeps reaping until
 *    nothing is pending.
 * 7. The read mode and the pre-posted read count come from the config
 *    alone (cfg.read_mode, cfg.preposted_reads; 0 = zero-byte reads, 2).
 * 8. An empty poll of the harvester is not free: under Wine 8 a
 *    GetQueuedCompletionStatusEx with timeout 0 on an empty port is two
 *    wineserver requests (remove_completion answered PENDING, then a
 *    select with timeout 0), about as much as a recv. While the inline list
 *    has work, a round handles it and returns to the core without asking
 *    the harvester; it is polled (timeout 0) once per poll_interval inline
 *    completions and waited on when no inline work is left. A ping-pong
 *    conn otherwise paid one empty poll per inline round, 2 of its 11
 *    requests per echoed message (measured with wineserver -d1 and perf
 *    stat on the server's write syscalls). The interval adapts: an empty
 *    poll doubles it (up to INLINE_PER_ROUND), a poll that found packets
 *    puts it back to POLL_INTERVAL_MIN. With a fixed 1,024, 10 ping-pong
 *    conns kept the port unasked for ~0.1 s at a time, and a burst of
 *    2,000 connects was accepted at ~200/s, 16 accepts per poll (10 active
 *    + 2,000 idle bench). Nothing depends on the order of packets and
 *    inline work across conns (a posted send has left its conn's queue
 *    already: completion_io.c trap 5). Only with one worker: with several,
 *    the others may hold dequeued packets while they wait for the run
 *    lock, and a worker that kept running inline rounds without waiting
 *    kept them out (SRW locks are not fair): models/iocp-w4 hung, 3 runs
 *    in 3; the wait is where a worker lets go of the lock.
 * 9. Wine finishes a pending overlapped WSASend in the thread that posted
 *    it (a system APC runs the actual send). Two sends of one socket posted
 *    by two workers can thus reach the wire out of order: tests/close.c
 *    saw mismatched bytes in 4 of 16 runs with 4 workers and 4 sends in
 *    flight, none in 16 with 1. So under Wine (ntdll exports
 *    wine_get_version) a loop with workers keeps one send in flight per
 *    conn, whatever max_sends_in_flight says. (Keeping all of a conn's
 *    sends in flight on the thread that posted the first was tried: 9
 *    failures in 16, so the race is with the APC of the pending send, not
 *    only with its thread.) Windows queues a socket's sends in the order
 *    they were posted, whichever thread posted them. Pre-posted reads from
 *    several workers were not seen out of order (0 of 16 runs).
 * 10. With workers, a conn's WSARecv / WSASend are not called under the run
 *    lock: they wait in the conn's outbox (counted as posted already) and
 *    the worker that ends a round posts them after letting go of the lock,
 *    half the queued conns at a time, so that another worker (woken if it
 *    sleeps in its wait) posts the rest meanwhile. Under Wine every call
 *    is a synchronous wineserver request (3 per send or recv); made one at
 *    a time under the lock, the workers overlapped only their port waits,
 *    and libevent-iocp, whose threads make their calls at once, kept more
 *    requests in flight: 10 active + 2,000 idle conns went from ~5,500 to
 *    ~6,500 msgs/s with 2 workers. Rules that keep it safe: a conn's
 *    outbox is posted by one worker at a time, in order (pre-posted reads
 *    keep their sequence); while it is being posted, closesocket waits
 *    (completion_io.c close_socket: its number could go to a new socket
 *    under the post) and the conn does not finish; after the call only an
 *    operation that will get no packet (done with skip-on-success, or
 *    failed at once) is touched again, since another worker may reap a
 *    packet before this one has the lock back. Failures at once and the
 *    operations of a conn that died first go through the inline list with
 *    their error, like any completion. With one worker, calls are made at
 *    once as before.
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREPOSTED 2
#define DEFAULT_SENDS 4
#define DEFAULT_POOL_FREE 256
#define INLINE_PER_ROUND 1024 /* inline completions handled per round */
#define POLL_INTERVAL_MIN 16  /* trap 8: inline completions between polls */
#define SMALL_CAP (2 * (sizeof(SOCKADDR_STORAGE) + 16)) /* AcceptEx addrs */
#define FREE_REAP_ROUNDS 500
/* The longest wait while a listener has no AcceptEx posted and no retry
 * timer could be armed (see "Posting can fail" in completion_accept.c). */
#define STARVED_RETRY_MS 10

static const struct xpr__harvester_ops *const harvesters[] = {
    &xpr__iocp_harvester,       /* XPR__HARVEST_IOCP */
    &xpr__overlapped_harvester, /* XPR__HARVEST_OVERLAPPED */
    &xpr__routine_harvester,    /* XPR__HARVEST_ROUTINE */
};

/* ---- pools ---- */

struct xpr__io_ctx *xpr__cx_io_get(struct xpr__cx_loop *cx, int large)
{
    struct xpr__io_ctx **pool = large ? &cx->pool_large : &cx->pool_small;
    unsigned *count = large ? &cx->pool_large_count : &cx->pool_small_count;
    size_t cap = large ? cx->buf_size : SMALL_CAP;
    struct xpr__io_ctx *io = *pool;
    if (io != NULL) {
        *pool = io->next;
        (*count)--;
    } else {
        io = xpr__malloc(sizeof(*io) + cap);
        if (io == NULL)
            return NULL;
    }
    memset(io, 0, sizeof(*io));
    io->large = (unsigned char)large;
    io->cap = cap;
    io->accept_sock = INVALID_SOCKET;
    return io;
}

int xpr__cx_io_arm(struct xpr__cx_loop *cx, struct xpr__io_ctx *io)
{
    if (cx->harvester->arm == NULL)
        return 0;
    return cx->harvester->arm(cx, io);
}

void xpr__cx_io_put(struct xpr__cx_loop *cx, struct xpr__io_ctx *io)
{
    struct xpr__io_ctx **pool = io->large ? &cx->pool_large : &cx->pool_small;
    unsigned *count = io->large ? &cx->pool_large_count : &cx->pool_small_count;
    if (cx->harvester->io_fini != NULL)
        cx->harvester->io_fini(cx, io);
    if (*count >= cx->pool_free_max) {
        free(io);
        return;
    }
    io->next = *pool;
    *pool = io;
    (*count)++;
}

static void pool_drain(struct xpr__io_ctx *io)
{
    while (io != NULL) {
        struct xpr__io_ctx *next = io->next;
        free(io);
        io = next;
    }
}

/* ---- posting and association ---- */

/* A completion with no packet: handled from the inline list (trap 1). */
static void push_inline(struct xpr__cx_loop *cx, struct xpr__io_ctx *io,
                        int os_error)
{
    io->bytes = (DWORD)io->ov.InternalHigh; /* the bytes are in there */
    io->os_error = os_error;
    xpr__io_append(&cx->inline_head, &cx->inline_tail, io);
    cx->inline_completions++;
}

int xpr__cx_posted(struct xpr__cx_loop *cx, struct xpr__io_ctx *io,
                   unsigned *owner_pending, int skip, int ok)
{
    if (!ok) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            xpr__cx_io_put(cx, io);
            return xpr__error_from_os(err);
        }
    }
    (*owner_pending)++;
    cx->pending[io->kind]++;
    if (io->large)
        cx->pinned_bytes += io->cap;
    if (cx->harvester->posted != NULL)
        skip = cx->harvester->posted(cx, io, ok); /* its own rule */
    if (ok && skip) /* trap 1: no packet will come */
        push_inline(cx, io, 0);
    return 0;
}

/* ---- posting outside the run lock (trap 10) ---- */

int xpr__cx_defers_posts(const struct xpr__cx_loop *cx)
{
    /* post_now makes the calls bare: no harvester hook, no routine */
    return cx->loop->workers > 1 && cx->harvester->posted == NULL &&
           cx->harvester->routine == NULL;
}

static void queue_conn(struct xpr__cx_loop *cx, struct xpr__cx_conn *cc)
{
    if (cc->post_queued || cc->posting)
        return; /* a posting worker requeues it when done */
    cc->post_queued = 1;
    cc->next_post = NULL;
    if (cx->post_tail != NULL)
        cx->post_tail->next_post = cc;
    else
        cx->post_head = cc;
    cx->post_tail = cc;
}

void xpr__cx_outbox_add(struct xpr__cx_loop *cx, struct xpr__cx_conn *cc,
                        struct xpr__io_ctx *io)
{
    cc->pending++;
    cx->pending[io->kind]++;
    if (io->large)
        cx->pinned_bytes += io->cap;
    xpr__io_append(&cc->outbox_head, &cc->outbox_tail, io);
    queue_conn(cx, cc);
}

/* Outside the lock. Returns 1 when no packet will come (done with
 * skip-on-success, or failed at once): only then may io be touched again,
 * since another worker may reap its packet before this one has the lock
 * back. */
static int post_now(SOCKET s, struct xpr__io_ctx *io, int skip)
{
    DWORD flags = 0;
    int rc, err;
    if (xpr__fault(io->kind == XPR__OP_READ ? XPR__FAULT_RECV
                                            : XPR__FAULT_SEND)) {
        WSASetLastError(WSAENOBUFS); /* injected: fails like a full pool */
        rc = SOCKET_ERROR;
    } else if (io->kind == XPR__OP_READ) {
        rc = WSARecv(s, &io->wsabuf, 1, NULL, &flags, &io->ov, NULL);
    } else {
        rc = WSASend(s, &io->wsabuf, 1, NULL, 0, &io->ov, NULL);
    }
    err = rc == 0 ? 0 : WSAGetLastError();
    if (rc != 0 && err == WSA_IO_PENDING)
        return 0;
    if (rc == 0 && !skip)
        return 0;
    io->os_error = err;
    return 1;
}

/* Chains io at the end of *done. */
static void chain(struct xpr__io_ctx ***done_tail, struct xpr__io_ctx *io)
{
    io->next = NULL;
    **done_tail = io;
    *done_tail = &io->next;
}

static void flush_some(struct xpr__cx_loop *cx)
{
    struct xpr__cx_conn *mine = NULL, **mine_tail = &mine, *cc;
    struct xpr__io_ctx *done = NULL, **done_tail = &done, *io;
    unsigned n = 0, keep;
    for (cc = cx->post_head; cc != NULL; cc = cc->next_post)
        n++;
    /* half: another worker may post the rest meanwhile (woken below if
     * it sleeps in its wait); what is left when this one is back it
     * takes itself (xpr__cx_flush_posts) */
    keep = n > 1 ? (n + 1) / 2 : n;
    while (keep-- > 0) {
        cc = cx->post_head;
        cx->post_head = cc->next_post;
        cc->post_queued = 0;
        cc->outbox_taken = cc->outbox_head;
        cc->outbox_head = cc->outbox_tail = NULL;
        if (cc->dying) { /* the socket may be closed: cancel them */
            while ((io = cc->outbox_taken) != NULL) {
                cc->outbox_taken = io->next;
                io->os_error = WSA_OPERATION_ABORTED;
                chain(&done_tail, io);
            }
            continue;
        }
        cc->posting = 1; /* closesocket waits (completion_io.c) */
        cc->next_post = NULL;
        *mine_tail = cc;
        mine_tail = &cc->next_post;
    }
    if (cx->post_head == NULL)
        cx->post_tail = NULL;
    else if (cx->blocked_waiters > 0)
        cx->harvester->wake(cx);
    xpr__loop_wait_begin(cx->loop);
    for (cc = mine; cc != NULL; cc = cc->next_post) {
        while ((io = cc->outbox_taken) != NULL) {
            cc->outbox_taken = io->next;
            if (post_now((SOCKET)cc->base.sock, io, cc->skip_on_success))
                chain(&done_tail, io);
        }
    }
    xpr__loop_wait_end(cx->loop);
    for (io = done; io != NULL;) {
        struct xpr__io_ctx *next = io->next;
        push_inline(cx, io, io->os_error);
        io = next;
    }
    while ((cc = mine) != NULL) {
        mine = cc->next_post;
        cc->posting = 0;
        if (cc->close_deferred)
            xpr__cx_close_deferred(cc);
        if (cc->outbox_head != NULL) /* queued meanwhile */
            queue_conn(cx, cc);
    }
}

/* Half the queue at a time: another worker may take the rest meanwhile,
 * so two keep requests in flight; none is left behind when this one goes
 * on to wait. */
void xpr__cx_flush_posts(struct xpr__cx_loop *cx)
{
    while (cx->post_head != NULL)
        flush_some(cx);
}

static int base_provider(struct xpr__cx_loop *cx, SOCKET s, int family)
{
    signed char *known = &cx->base_provider[family == XPR__AF_INET6];
    WSAPROTOCOL_INFOW info;
    int len = (int)sizeof(info);
    if (*known < 0) {
        if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) !=
            0)
            return 0; /* not known yet: ask again next time */
        *known = info.ProtocolChain.ChainLen == BASE_PROTOCOL;
    }
    return *known;
}

int xpr__cx_associate(struct xpr__cx_loop *cx, SOCKET s, int family,
                      unsigned char *skip)
{
    int rc = cx->harvester->associate(cx, s);
    *skip = 0;
    if (rc != 0)
        return rc;
    if (cx->harvester->skip_on_success && base_provider(cx, s, family) &&
        SetFileCompletionNotificationModes(
            (HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                           FILE_SKIP_SET_EVENT_ON_HANDLE))
        *skip = 1;
    return 0;
}

static int lookup(SOCKET s, GUID guid, void *fn, size_t fn_size)
{
    DWORD bytes = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof(guid), fn,
                 (DWORD)fn_size, &bytes, NULL, NULL) != 0)
        return xpr__wsa_error();
    return 0;
}

int xpr__cx_lookup_extensions(struct xpr__cx_loop *cx, SOCKET s)
{
    GUID accept_guid = WSAID_ACCEPTEX;
    GUID connect_guid = WSAID_CONNECTEX;
    GUID addrs_guid = WSAID_GETACCEPTEXSOCKADDRS;
    int rc;
    if (cx->accept_ex != NULL)
        return 0;
    rc = lookup(s, connect_guid, &cx->connect_ex, sizeof(cx->connect_ex));
    if (rc == 0)
        rc = lookup(s, addrs_guid, &cx->get_sockaddrs,
                    sizeof(cx->get_sockaddrs));
    if (rc == 0)
        rc = lookup(s, accept_guid, &cx->accept_ex, sizeof(cx->accept_ex));
    return rc;
}

void xpr__cx_kick(struct xpr__cx_loop *cx, struct xpr__cx_conn *cc)
{
    if (cc->kicked)
        return;
    cc->kicked = 1;
    cc->pending++; /* the kick list holds the conn like an operation */
    cc->next_kick = NULL;
    if (cx->kick_tail != NULL)
        cx->kick_tail->next_kick = cc;
    else
        cx->kick_head = cc;
    cx->kick_tail = cc;
}

/* ---- routing ---- */

static SOCKET owner_socket(struct xpr__io_ctx *io)
{
    if (io->kind == XPR__OP_ACCEPT) {
        struct xpr__cx_listener *cl = io->owner;
        return cl->closed ? INVALID_SOCKET : (SOCKET)cl->base.sock;
    }
    return (SOCKET)((struct xpr__cx_conn *)io->owner)->base.sock;
}

/* trap 3 */
static int failure_code(struct xpr__io_ctx *io)
{
    SOCKET s = owner_socket(io);
    DWORD bytes = 0, flags = 0;
    if (s == INVALID_SOCKET)
        return WSA_OPERATION_ABORTED;
    if (!WSAGetOverlappedResult(s, &io->ov, &bytes, FALSE, &flags)) {
        int err = WSAGetLastError();
        return err != 0 ? err : WSAECONNRESET;
    }
    return WSAECONNRESET; /* reported failed, yet no code: say reset */
}

static void dispatch(struct xpr__cx_loop *cx, struct xpr__io_ctx *io)
{
    if (io->kind == XPR__OP_ACCEPT) {
        struct xpr__cx_listener *cl = io->owner;
        if (cl->closed) {
            /* counted out of the stats when it closed: only memory left */
            if (io->accept_sock != INVALID_SOCKET)
                closesocket(io->accept_sock);
            if (io->large)
                cx->pinned_bytes -= io->cap;
            xpr__cx_accept_unlink(io);
            cl->held--;
            xpr__cx_io_put(cx, io);
            return;
        }
    }
    cx->pending[io->kind]--;
    if (io->large)
        cx->pinned_bytes -= io->cap;
    if (io->kind == XPR__OP_ACCEPT)
        xpr__cx_accept_completed(cx, io);
    else
        xpr__cx_conn_completed(cx, io);
}

void xpr__completion_done(struct xpr__cx_loop *cx, OVERLAPPED *ov, DWORD bytes,
                          int failed)
{
    struct xpr__io_ctx *io = CONTAINING_RECORD(ov, struct xpr__io_ctx, ov);
    io->bytes = bytes;
    io->os_error = failed ? failure_code(io) : 0;
    dispatch(cx, io);
}

static void run_inline(struct xpr__cx_loop *cx)
{
    struct xpr__io_ctx *io = cx->inline_head;
    int n = 0;
    cx->inline_head = cx->inline_tail = NULL;
    while (io != NULL && n++ < INLINE_PER_ROUND) {
        struct xpr__io_ctx *next = io->next;
        cx->inline_since_poll++;
        dispatch(cx, io);
        io = next;
    }
    if (io != NULL) { /* over the cap: put the rest back in front */
        struct xpr__io_ctx *last = io;
        while (last->next != NULL)
            last = last->next;
        last->next = cx->inline_head;
        if (cx->inline_head == NULL)
            cx->inline_tail = last;
        cx->inline_head = io;
    }
}

static void run_kicks(struct xpr__cx_loop *cx)
{
    struct xpr__cx_conn *cc = cx->kick_head;
    cx->kick_head = cx->kick_tail = NULL;
    while (cc != NULL) {
        struct xpr__cx_conn *next = cc->next_kick;
        cc->kicked = 0;
        xpr__cx_conn_kicked(cc);
        cc = next;
    }
}

/* ---- the loop ---- */

/* Wine's ntdll exports wine_get_version; Windows' does not. */
static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static int cx_loop_init(xpr_loop *loop)
{
    struct xpr__cx_loop *cx = xpr__calloc(1, sizeof(*cx));
    unsigned variant = loop->entry->variant;
    int rc;
    if (cx == NULL)
        return XPR_ENOMEM;
    if (variant >= sizeof(harvesters) / sizeof(harvesters[0])) {
        free(cx);
        return XPR_ENOTSUP;
    }
    cx->loop = loop;
    cx->harvester = harvesters[variant];
    cx->read_mode =
        loop->cfg.read_mode ? loop->cfg.read_mode : XPR_READ_ZERO_BYTE;
    cx->preposted_reads = loop->cfg.preposted_reads ? loop->cfg.preposted_reads
                                                    : DEFAULT_PREPOSTED;
    cx->max_sends = loop->cfg.max_sends_in_flight
                        ? loop->cfg.max_sends_in_flight
                        : DEFAULT_SENDS;
    if (loop->workers > 1 && under_wine())
        cx->max_sends = 1; /* trap 9 */
    cx->pool_free_max =
        loop->cfg.pool_free_max ? loop->cfg.pool_free_max : DEFAULT_POOL_FREE;
    cx->buf_size = loop->read_buf_size;
    cx->poll_interval = POLL_INTERVAL_MIN;
    cx->base_provider[0] = cx->base_provider[1] = -1;
    xpr__list_init(&cx->listeners);
    xpr__list_init(&cx->closed_listeners);
    rc = cx->harvester->init(cx);
    if (rc != 0) {
        free(cx);
        return rc;
    }
    loop->backend = cx;
    return 0;
}

static uint64_t pending_total(const struct xpr__cx_loop *cx)
{
    uint64_t n = 0;
    int k;
    for (k = 0; k < XPR__OP_KINDS; k++)
        n += cx->pending[k];
    return n;
}

/* trap 8: inline work may run without asking the harvester first */
static int poll_skippable(const struct xpr__cx_loop *cx)
{
    return cx->loop->workers == 1 &&
           (cx->inline_head != NULL || cx->kick_head != NULL) &&
           cx->inline_since_poll < cx->poll_interval;
}

/* trap 8: poll again soon while polls find packets, back off while not */
static void adapt_poll_interval(struct xpr__cx_loop *cx, int found)
{
    if (found)
        cx->poll_interval = POLL_INTERVAL_MIN;
    else if (cx->poll_interval < INLINE_PER_ROUND)
        cx->poll_interval *= 2;
}

static int cx_run_once(xpr_loop *loop, int timeout_ms)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    uint64_t dequeued;
    int rc = 0;
    if (xpr__cx_listeners_top_up(cx) &&
        (timeout_ms < 0 || timeout_ms > STARVED_RETRY_MS))
        timeout_ms = STARVED_RETRY_MS;
    xpr__cx_flush_posts(cx); /* what the core's callbacks queued */
    if (poll_skippable(cx)) {
        run_inline(cx);
        run_kicks(cx);
        xpr__cx_listeners_reap(cx);
        return 0; /* the core acts on what the callbacks did, then again */
    }
    if (cx->inline_head != NULL || cx->kick_head != NULL)
        timeout_ms = 0;
    cx->inline_since_poll = 0;
    dequeued = cx->dequeued_completions;
    if (timeout_ms != 0)
        cx->blocked_waiters++; /* trap 10: may be handed posts */
    rc = cx->harvester->wait_and_reap(cx, timeout_ms);
    if (timeout_ms != 0)
        cx->blocked_waiters--;
    if (timeout_ms == 0)
        adapt_poll_interval(cx, cx->dequeued_completions != dequeued);
    run_inline(cx);
    run_kicks(cx);
    xpr__cx_flush_posts(cx);
    xpr__cx_listeners_reap(cx);
    return rc;
}

static void cx_loop_free(xpr_loop *loop)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    int rounds;
    /* contract 3: sockets are closed; reap what the kernel still owns */
    for (rounds = 0; rounds < FREE_REAP_ROUNDS; rounds++) {
        xpr__cx_flush_posts(cx); /* the conns are dying: cancelled */
        run_inline(cx);
        run_kicks(cx);
        xpr__cx_listeners_reap(cx);
        if (pending_total(cx) == 0 && cx->inline_head == NULL &&
            xpr__list_empty(&cx->closed_listeners))
            break;
        cx->harvester->wait_and_reap(cx, 10);
    }
    cx->harvester->free(cx);
    pool_drain(cx->pool_small);
    pool_drain(cx->pool_large);
    free(cx);
}

static void cx_wake(xpr_loop *loop)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    cx->harvester->wake(cx);
}

static void cx_stats(xpr_loop *loop, struct xpr_loop_stats *st)
{
    struct xpr__cx_loop *cx = xpr__cx_of(loop);
    st->pending_accepts = cx->pending[XPR__OP_ACCEPT];
    st->pending_connects = cx->pending[XPR__OP_CONNECT];
    st->pending_reads = cx->pending[XPR__OP_READ];
    st->pending_writes = cx->pending[XPR__OP_WRITE];
    st->pending_operations = pending_total(cx);
    st->inline_completions = cx->inline_completions;
    st->dequeue_calls = cx->dequeue_calls;
    st->dequeued_completions = cx->dequeued_completions;
    st->pooled_buffers = cx->pool_large_count;
    st->pooled_buffer_bytes = (uint64_t)cx->pool_large_count * cx->buf_size;
    st->pinned_buffer_bytes = cx->pinned_bytes;
}

const struct xpr_backend_ops xpr__completion_ops = {
    .loop_init = cx_loop_init,
    .loop_free = cx_loop_free,
    .run_once = cx_run_once,
    .wake = cx_wake,
    .listen = xpr__cx_listen,
    .listener_close = xpr__cx_listener_close,
    .listener_set_accepting = xpr__cx_listener_set_accepting,
    .connect = xpr__cx_connect,
    .write = xpr__cx_write,
    .queued = xpr__cx_queued,
    .set_reading = xpr__cx_set_reading,
    .shutdown = xpr__cx_shutdown,
    .close = xpr__cx_close,
    .close_now = xpr__cx_close_now,
    .conn_free = xpr__cx_conn_free,
    .stats = cx_stats,
};

int xpr__event_pool_get(struct xpr__event_pool *pool, HANDLE *out)
{
    if (pool->count > 0) {
        *out = pool->spare[--pool->count];
        return 0;
    }
    *out = CreateEventW(NULL, TRUE, FALSE, NULL);
    return *out != NULL ? 0 : xpr__error_from_os((int)GetLastError());
}

void xpr__event_pool_put(struct xpr__event_pool *pool, HANDLE ev,
                         unsigned max_free)
{
    /* a completed operation left its event signalled: reset it before a
     * new operation may be waited on with it */
    ResetEvent(ev);
    if (pool->count == pool->capacity && pool->count < max_free) {
        unsigned cap = pool->capacity ? 2 * pool->capacity : 64;
        HANDLE *p = xpr__realloc(pool->spare, cap * sizeof(*p));
        if (p != NULL) {
            pool->spare = p;
            pool->capacity = cap;
        }
    }
    if (pool->count < pool->capacity && pool->count < max_free)
        pool->spare[pool->count++] = ev;
    else
        CloseHandle(ev);
}

void xpr__event_pool_free(struct xpr__event_pool *pool)
{
    unsigned i;
    for (i = 0; i < pool->count; i++)
        CloseHandle(pool->spare[i]);
    free(pool->spare);
    pool->spare = NULL;
    pool->count = pool->capacity = 0;
}
