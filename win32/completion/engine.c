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
 * 8. A round asks the harvester (timeout 0 while operations done at once
 *    wait) before it handles those, and handles sends first, among the
 *    packets of one batch and on the inline list: a send's place in flight
 *    is free again before the round's reads run the application's
 *    callbacks, which may write.
 * 9. Wine finishes a pending overlapped WSASend in the thread that posted
 *    it (a system APC runs the actual send), so two sends of one socket
 *    posted by two workers can reach the wire out of order. Under Wine
 *    (ntdll exports wine_get_version) a loop with workers therefore keeps
 *    one send in flight per conn, whatever max_sends_in_flight says;
 *    tests/close.c sees the bytes out of order without it. Windows queues
 *    a socket's sends in the order they were posted, whichever thread
 *    posted them.
 * 10. With workers, a conn's WSARecv / WSASend are not called under the run
 *    lock: they wait in the conn's outbox (counted as posted already) and
 *    the worker that ends a round posts them after letting go of the lock,
 *    half the queued conns at a time, so that another worker (woken if it
 *    sleeps in its wait) posts the rest meanwhile. Rules that keep it
 *    safe: a conn's outbox is posted by one worker at a time, in order
 *    (pre-posted reads keep their sequence); while it is being posted,
 *    closesocket waits (conn.c, conn_close: its number could go
 *    to a new socket under the post) and the conn is not reported closed;
 *    after the call only an operation that will get no packet (done with
 *    skip-on-success, or failed at once) is touched again, since another
 *    worker may reap a packet before this one has the lock back. Failures
 *    at once and the operations of a conn that ended first go through the
 *    inline list with their error, like any completion. With one worker,
 *    calls are made at once.
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
/* Small ops hold AcceptEx's two addresses, or a send's WSABUF array. */
#define ACCEPT_ADDRS (2 * (sizeof(SOCKADDR_STORAGE) + 16))
#define SEND_BUFS (XPR__SEND_RUNS * sizeof(WSABUF))
#define SMALL_CAP (ACCEPT_ADDRS > SEND_BUFS ? ACCEPT_ADDRS : SEND_BUFS)
#define FREE_REAP_ROUNDS 500
/* The longest wait while a listener has no AcceptEx posted and no retry
 * timer could be armed (see "Posting can fail" in listener.c). */
#define STARVED_RETRY_MS 10

static const struct xpr__harvester_ops *const harvesters[] = {
    &xpr__iocp_harvester,       /* XPR__HARVEST_IOCP */
    &xpr__overlapped_harvester, /* XPR__HARVEST_OVERLAPPED */
    &xpr__routine_harvester,    /* XPR__HARVEST_ROUTINE */
};

/* ---- pools ---- */

struct xpr__op *xpr__op_get(struct xpr__completion_loop *engine, int large)
{
    struct xpr__op **pool = large ? &engine->pool_large : &engine->pool_small;
    unsigned *count =
        large ? &engine->pool_large_count : &engine->pool_small_count;
    size_t cap = large ? engine->buf_size : SMALL_CAP;
    struct xpr__op *op = *pool;
    if (op != NULL) {
        *pool = op->next;
        (*count)--;
    } else {
        op = xpr__malloc(sizeof(*op) + cap);
        if (op == NULL)
            return NULL;
    }
    memset(op, 0, sizeof(*op));
    op->large = (unsigned char)large;
    op->cap = cap;
    op->accept_sock = INVALID_SOCKET;
    return op;
}

int xpr__op_arm(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    if (engine->harvester->arm == NULL)
        return 0;
    return engine->harvester->arm(engine, op);
}

void xpr__op_put(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    struct xpr__op **pool =
        op->large ? &engine->pool_large : &engine->pool_small;
    unsigned *count =
        op->large ? &engine->pool_large_count : &engine->pool_small_count;
    if (engine->harvester->op_fini != NULL)
        engine->harvester->op_fini(engine, op);
    if (*count >= engine->pool_free_max) {
        free(op);
        return;
    }
    op->next = *pool;
    *pool = op;
    (*count)++;
}

static void pool_drain(struct xpr__op *op)
{
    while (op != NULL) {
        struct xpr__op *next = op->next;
        free(op);
        op = next;
    }
}

/* ---- posting and association ---- */

/* A completion with no packet: handled from the inline list (trap 1). */
static void push_inline(struct xpr__completion_loop *engine, struct xpr__op *op,
                        int os_error)
{
    op->bytes = (DWORD)op->ov.InternalHigh; /* the bytes are in there */
    op->os_error = os_error;
    engine->inline_completions++;
    if (op->kind == XPR__OP_WRITE) { /* after the sends, before the rest */
        struct xpr__op **at = engine->inline_sends_end != NULL
                                  ? &engine->inline_sends_end->next
                                  : &engine->inline_head;
        op->next = *at;
        *at = op;
        engine->inline_sends_end = op;
        if (op->next == NULL)
            engine->inline_tail = op;
        return;
    }
    xpr__op_append(&engine->inline_head, &engine->inline_tail, op);
}

/* Bytes of memory the kernel holds while op is pending: its buffer, or
 * for a send the runs of the core's queue it points at. */
static size_t pinned_by(const struct xpr__op *op)
{
    if (op->large)
        return op->cap;
    return op->kind == XPR__OP_WRITE ? op->len : 0;
}

static void count_posted(struct xpr__completion_loop *engine,
                         struct xpr__op *op, unsigned *owner_pending)
{
    (*owner_pending)++;
    engine->pending[op->kind]++;
    engine->pinned_bytes += pinned_by(op);
}

int xpr__op_posted(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int skip, int ok)
{
    if (!ok) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) { /* trap 4 */
            xpr__op_put(engine, op);
            return xpr__error_from_os(err);
        }
    }
    count_posted(engine, op, owner_pending);
    if (engine->harvester->posted != NULL)
        skip = engine->harvester->posted(engine, op, ok); /* its own rule */
    if (ok && skip) /* trap 1: no packet will come */
        push_inline(engine, op, 0);
    return 0;
}

/* ---- posting outside the run lock (trap 10) ---- */

static int defers_posts(const struct xpr__completion_loop *engine)
{
    /* post_now makes the calls bare: no harvester hook, no routine */
    return engine->loop->workers > 1 && engine->harvester->posted == NULL &&
           engine->harvester->routine == NULL;
}

static void queue_conn(struct xpr__completion_loop *engine,
                       struct xpr__completion_conn *conn)
{
    if (conn->post_queued || conn->posting)
        return; /* a posting worker requeues it when done */
    conn->post_queued = 1;
    conn->next_post = NULL;
    if (engine->post_tail != NULL)
        engine->post_tail->next_post = conn;
    else
        engine->post_head = conn;
    engine->post_tail = conn;
}

/* WSARecv or WSASend of op (no completion routine with workers). */
static int start_transfer(SOCKET s, struct xpr__op *op,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
    DWORD flags = 0;
    if (xpr__fault(op->kind == XPR__OP_READ ? XPR__FAULT_RECV
                                            : XPR__FAULT_SEND)) {
        WSASetLastError(WSAENOBUFS); /* injected: fails like a full pool */
        return SOCKET_ERROR;
    }
    if (op->kind == XPR__OP_READ)
        return WSARecv(s, op->bufs, op->nbufs, NULL, &flags, &op->ov, routine);
    return WSASend(s, op->bufs, op->nbufs, NULL, 0, &op->ov, routine);
}

int xpr__op_post_transfer(struct xpr__completion_loop *engine,
                          struct xpr__completion_conn *conn, struct xpr__op *op)
{
    int rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    if (defers_posts(engine)) {
        count_posted(engine, op, &conn->pending);
        xpr__op_append(&conn->outbox_head, &conn->outbox_tail, op);
        queue_conn(engine, conn);
        return 0;
    }
    rc =
        start_transfer((SOCKET)conn->base.sock, op, engine->harvester->routine);
    return xpr__op_posted(engine, op, &conn->pending, conn->skip_on_success,
                          rc == 0);
}

/* Outside the lock. Returns 1 when no packet will come (done with
 * skip-on-success, or failed at once): only then may op be touched again,
 * since another worker may reap its packet before this one has the lock
 * back. */
static int post_now(SOCKET s, struct xpr__op *op, int skip)
{
    int rc = start_transfer(s, op, NULL), err;
    err = rc == 0 ? 0 : WSAGetLastError();
    if (rc != 0 && err == WSA_IO_PENDING)
        return 0;
    if (rc == 0 && !skip)
        return 0;
    op->os_error = err;
    return 1;
}

/* Chains op at the end of *done. */
static void chain(struct xpr__op ***done_tail, struct xpr__op *op)
{
    op->next = NULL;
    **done_tail = op;
    *done_tail = &op->next;
}

static void flush_some(struct xpr__completion_loop *engine)
{
    struct xpr__completion_conn *mine = NULL, **mine_tail = &mine, *conn;
    struct xpr__op *done = NULL, **done_tail = &done, *op;
    unsigned n = 0, keep;
    for (conn = engine->post_head; conn != NULL; conn = conn->next_post)
        n++;
    /* half: another worker may post the rest meanwhile (woken below if
     * it sleeps in its wait); what is left when this one is back it
     * takes itself (xpr__completion_flush_posts) */
    keep = n > 1 ? (n + 1) / 2 : n;
    while (keep-- > 0) {
        conn = engine->post_head;
        engine->post_head = conn->next_post;
        conn->post_queued = 0;
        conn->outbox_taken = conn->outbox_head;
        conn->outbox_head = conn->outbox_tail = NULL;
        if (xpr__conn_done(&conn->base)) { /* the socket is closed */
            while ((op = conn->outbox_taken) != NULL) {
                conn->outbox_taken = op->next;
                op->os_error = WSA_OPERATION_ABORTED;
                chain(&done_tail, op);
            }
            continue;
        }
        conn->posting = 1; /* closesocket waits (conn.c) */
        conn->next_post = NULL;
        *mine_tail = conn;
        mine_tail = &conn->next_post;
    }
    if (engine->post_head == NULL)
        engine->post_tail = NULL;
    else if (engine->blocked_waiters > 0)
        engine->harvester->wake(engine);
    xpr__loop_wait_begin(engine->loop);
    for (conn = mine; conn != NULL; conn = conn->next_post) {
        while ((op = conn->outbox_taken) != NULL) {
            conn->outbox_taken = op->next;
            if (post_now((SOCKET)conn->base.sock, op, conn->skip_on_success))
                chain(&done_tail, op);
        }
    }
    xpr__loop_wait_end(engine->loop);
    for (op = done; op != NULL;) {
        struct xpr__op *next = op->next;
        push_inline(engine, op, op->os_error);
        op = next;
    }
    while ((conn = mine) != NULL) {
        mine = conn->next_post;
        conn->posting = 0;
        if (conn->close_deferred)
            xpr__completion_close_deferred(conn);
        if (conn->outbox_head != NULL) /* queued meanwhile */
            queue_conn(engine, conn);
    }
}

/* Half the queue at a time: another worker may take the rest meanwhile,
 * so two keep requests in flight; none is left behind when this one goes
 * on to wait. */
void xpr__completion_flush_posts(struct xpr__completion_loop *engine)
{
    while (engine->post_head != NULL)
        flush_some(engine);
}

static int base_provider(struct xpr__completion_loop *engine, SOCKET s,
                         int family)
{
    signed char *known = &engine->base_provider[family == XPR__AF_INET6];
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

int xpr__completion_associate(struct xpr__completion_loop *engine, SOCKET s,
                              int family, unsigned char *skip)
{
    int rc = engine->harvester->associate(engine, s);
    *skip = 0;
    if (rc != 0)
        return rc;
    if (engine->harvester->skip_on_success &&
        base_provider(engine, s, family) &&
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

int xpr__completion_lookup_extensions(struct xpr__completion_loop *engine,
                                      SOCKET s)
{
    GUID accept_guid = WSAID_ACCEPTEX;
    GUID connect_guid = WSAID_CONNECTEX;
    GUID addrs_guid = WSAID_GETACCEPTEXSOCKADDRS;
    int rc;
    if (engine->accept_ex != NULL)
        return 0;
    rc = lookup(s, connect_guid, &engine->connect_ex,
                sizeof(engine->connect_ex));
    if (rc == 0)
        rc = lookup(s, addrs_guid, &engine->get_sockaddrs,
                    sizeof(engine->get_sockaddrs));
    if (rc == 0)
        rc = lookup(s, accept_guid, &engine->accept_ex,
                    sizeof(engine->accept_ex));
    return rc;
}

void xpr__completion_kick(struct xpr__completion_loop *engine,
                          struct xpr__completion_conn *conn)
{
    if (conn->kicked)
        return;
    conn->kicked = 1;
    conn->pending++; /* the kick list holds the conn like an operation */
    conn->next_kick = NULL;
    if (engine->kick_tail != NULL)
        engine->kick_tail->next_kick = conn;
    else
        engine->kick_head = conn;
    engine->kick_tail = conn;
}

/* ---- routing ---- */

static SOCKET owner_socket(struct xpr__op *op)
{
    if (op->kind == XPR__OP_ACCEPT) {
        struct xpr__completion_listener *listener = op->owner;
        return listener->closed ? INVALID_SOCKET : (SOCKET)listener->base.sock;
    }
    return (SOCKET)((struct xpr__completion_conn *)op->owner)->base.sock;
}

/* trap 3 */
static int failure_code(struct xpr__op *op)
{
    SOCKET s = owner_socket(op);
    DWORD bytes = 0, flags = 0;
    if (s == INVALID_SOCKET)
        return WSA_OPERATION_ABORTED;
    if (!WSAGetOverlappedResult(s, &op->ov, &bytes, FALSE, &flags)) {
        int err = WSAGetLastError();
        return err != 0 ? err : WSAECONNRESET;
    }
    return WSAECONNRESET; /* reported failed, yet no code: say reset */
}

static void dispatch(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    if (op->kind == XPR__OP_ACCEPT) {
        struct xpr__completion_listener *listener = op->owner;
        if (listener->closed) {
            /* counted out of the stats when it closed: only memory left */
            if (op->accept_sock != INVALID_SOCKET)
                closesocket(op->accept_sock);
            engine->pinned_bytes -= pinned_by(op);
            xpr__completion_accept_unlink(op);
            listener->held--;
            xpr__op_put(engine, op);
            return;
        }
    }
    engine->pending[op->kind]--;
    engine->pinned_bytes -= pinned_by(op);
    if (op->kind == XPR__OP_ACCEPT)
        xpr__completion_accept_completed(engine, op);
    else
        xpr__completion_conn_completed(engine, op);
}

static void run_inline(struct xpr__completion_loop *engine, int sends_only);

/* Sends done at once are handled before the next packet (trap 1). */
void xpr__completion_done(struct xpr__completion_loop *engine, OVERLAPPED *ov,
                          DWORD bytes, int failed)
{
    struct xpr__op *op = CONTAINING_RECORD(ov, struct xpr__op, ov);
    if (engine->inline_sends_end != NULL)
        run_inline(engine, 1);
    op->bytes = bytes;
    op->os_error = failed ? failure_code(op) : 0;
    dispatch(engine, op);
}

/* Handles the inline list from its head, sends first, what is appended
 * meanwhile included, up to a cap per round (fairness). */
static void run_inline(struct xpr__completion_loop *engine, int sends_only)
{
    int n = 0;
    while (engine->inline_head != NULL && n++ < INLINE_PER_ROUND) {
        struct xpr__op *op = engine->inline_head;
        if (sends_only && engine->inline_sends_end == NULL)
            break;
        engine->inline_head = op->next;
        if (engine->inline_head == NULL)
            engine->inline_tail = NULL;
        if (engine->inline_sends_end == op)
            engine->inline_sends_end = NULL;
        dispatch(engine, op);
    }
}

static void run_kicks(struct xpr__completion_loop *engine)
{
    struct xpr__completion_conn *conn = engine->kick_head;
    engine->kick_head = engine->kick_tail = NULL;
    while (conn != NULL) {
        struct xpr__completion_conn *next = conn->next_kick;
        conn->kicked = 0;
        xpr__completion_conn_kicked(conn);
        conn = next;
    }
}

/* ---- the loop ---- */

/* Wine's ntdll exports wine_get_version; Windows' does not. */
static int under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static int completion_loop_init(xpr_loop *loop)
{
    struct xpr__completion_loop *engine = xpr__calloc(1, sizeof(*engine));
    unsigned variant = loop->entry->variant;
    int rc;
    if (engine == NULL)
        return XPR_ENOMEM;
    if (variant >= sizeof(harvesters) / sizeof(harvesters[0])) {
        free(engine);
        return XPR_ENOTSUP;
    }
    engine->loop = loop;
    engine->harvester = harvesters[variant];
    engine->read_mode =
        loop->cfg.read_mode ? loop->cfg.read_mode : XPR_READ_ZERO_BYTE;
    engine->preposted_reads = loop->cfg.preposted_reads
                                  ? loop->cfg.preposted_reads
                                  : DEFAULT_PREPOSTED;
    engine->max_sends = loop->cfg.max_sends_in_flight
                            ? loop->cfg.max_sends_in_flight
                            : DEFAULT_SENDS;
    if (loop->workers > 1 && under_wine())
        engine->max_sends = 1; /* trap 9 */
    engine->pool_free_max =
        loop->cfg.pool_free_max ? loop->cfg.pool_free_max : DEFAULT_POOL_FREE;
    engine->buf_size = loop->read_buf_size;
    engine->base_provider[0] = engine->base_provider[1] = -1;
    xpr__list_init(&engine->listeners);
    xpr__list_init(&engine->closed_listeners);
    rc = engine->harvester->init(engine);
    if (rc != 0) {
        free(engine);
        return rc;
    }
    loop->backend = engine;
    return 0;
}

static uint64_t pending_total(const struct xpr__completion_loop *engine)
{
    uint64_t n = 0;
    int k;
    for (k = 0; k < XPR__OP_KINDS; k++)
        n += engine->pending[k];
    return n;
}

static int completion_run_once(xpr_loop *loop, int timeout_ms)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    int rc;
    if (xpr__completion_listeners_top_up(engine) &&
        (timeout_ms < 0 || timeout_ms > STARVED_RETRY_MS))
        timeout_ms = STARVED_RETRY_MS;
    xpr__completion_flush_posts(engine); /* what the core's callbacks queued */
    if (engine->inline_head != NULL || engine->kick_head != NULL)
        timeout_ms = 0; /* trap 8: the harvester first, but no waiting */
    if (timeout_ms != 0)
        engine->blocked_waiters++; /* trap 10: may be handed posts */
    rc = engine->harvester->wait_and_reap(engine, timeout_ms);
    if (timeout_ms != 0)
        engine->blocked_waiters--;
    run_inline(engine, 0);
    run_kicks(engine);
    xpr__completion_flush_posts(engine);
    xpr__completion_listeners_reap(engine);
    return rc;
}

static void completion_loop_free(xpr_loop *loop)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    int rounds;
    /* contract 3: sockets are closed; reap what the kernel still owns */
    for (rounds = 0; rounds < FREE_REAP_ROUNDS; rounds++) {
        xpr__completion_flush_posts(
            engine); /* the conns are dying: cancelled */
        run_inline(engine, 0);
        run_kicks(engine);
        xpr__completion_listeners_reap(engine);
        if (pending_total(engine) == 0 && engine->inline_head == NULL &&
            xpr__list_empty(&engine->closed_listeners))
            break;
        engine->harvester->wait_and_reap(engine, 10);
    }
    engine->harvester->free(engine);
    pool_drain(engine->pool_small);
    pool_drain(engine->pool_large);
    free(engine);
}

static void completion_wake(xpr_loop *loop)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    engine->harvester->wake(engine);
}

static void completion_stats(xpr_loop *loop, struct xpr_completion_stats *st)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    st->pending_accepts = engine->pending[XPR__OP_ACCEPT];
    st->pending_connects = engine->pending[XPR__OP_CONNECT];
    st->pending_reads = engine->pending[XPR__OP_READ];
    st->pending_writes = engine->pending[XPR__OP_WRITE];
    st->pending_operations = pending_total(engine);
    st->inline_completions = engine->inline_completions;
    st->dequeue_calls = engine->dequeue_calls;
    st->dequeued_completions = engine->dequeued_completions;
    st->pooled_buffers = engine->pool_large_count;
    st->pooled_buffer_bytes =
        (uint64_t)engine->pool_large_count * engine->buf_size;
    st->pinned_buffer_bytes = engine->pinned_bytes;
}

const struct xpr_backend_ops xpr__completion_ops = {
    .loop_init = completion_loop_init,
    .loop_free = completion_loop_free,
    .run_once = completion_run_once,
    .wake = completion_wake,
    .listen = xpr__completion_listen,
    .listener_close = xpr__completion_listener_close,
    .listener_set_accepting = xpr__completion_listener_set_accepting,
    .conn_size = sizeof(struct xpr__completion_conn),
    .conn_flags = XPR__TRANSPORT_KERNEL_TAKES,
    .conn_connect = xpr__completion_conn_connect,
    .conn_set_reading = xpr__completion_conn_set_reading,
    .conn_send = xpr__completion_conn_send,
    .conn_shutdown = xpr__completion_conn_shutdown,
    .conn_close = xpr__completion_conn_close,
    .completion_stats = completion_stats,
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
