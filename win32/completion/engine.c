/*
 * The completion engine's loop: configuration, pools of ops, the completed
 * queue and its switch, the run cycle, stats and the backend ops table of
 * the completion back ends (completion.h: the queue, workers; post.c:
 * posting).
 *
 * Windows behaviours handled here:
 * - Failure codes are NTSTATUS. OVERLAPPED.Internal holds one;
 *   WSAGetOverlappedResult turns it into a WSA code, asked only while the
 *   socket is open (a closed SOCKET value may name another socket).
 *   Completions are routed by the op's owner, never by SOCKET value.
 * - Each look at the harvester is a system call: with completions queued a
 *   round looks with a zero timeout, or not at all when the last look found
 *   nothing (up to SKIPPED_LOOKS_MAX rounds in a row).
 */
#include "alloc.h"
#include "completion.h"
#include "udp.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREPOSTED 2
#define DEFAULT_SENDS 4
#define DEFAULT_POOL_FREE 256
/* Small ops hold AcceptEx's two addresses, or a send's WSABUF array. */
#define ACCEPT_ADDRS (2 * (sizeof(SOCKADDR_STORAGE) + 16))
#define SEND_BUFS (XPR__SEND_RUNS * sizeof(WSABUF))
#define SMALL_CAP (ACCEPT_ADDRS > SEND_BUFS ? ACCEPT_ADDRS : SEND_BUFS)
#define FREE_REAP_ROUNDS 500
/* The longest wait while a listener has no AcceptEx posted and no retry
 * timer could be armed (see "Posting can fail" in listener.c). */
#define STARVED_RETRY_MS 10
#define SKIPPED_LOOKS_MAX 16

/* Indexed by the registry row's variant (win32/backends.c). */
static const struct xpr__harvester_ops *const harvesters[] = {
    &xpr__iocp_harvester,
    &xpr__overlapped_harvester,
    &xpr__routine_harvester,
};

/* ---- pools ---- */

static struct xpr__op *op_init(struct xpr__op *op, size_t cap, unsigned kind,
                               void *owner)
{
    if (op == NULL)
        return NULL;
    memset(op, 0, sizeof(*op));
    op->kind = (unsigned char)kind;
    op->owner = owner;
    op->cap = cap;
    op->accept_sock = INVALID_SOCKET;
    return op;
}

struct xpr__op *xpr__op_new(size_t cap, unsigned kind, void *owner)
{
    return op_init(xpr__malloc(sizeof(struct xpr__op) + cap), cap, kind, owner);
}

struct xpr__op *xpr__op_get(struct xpr__completion_loop *engine, int large,
                            unsigned kind, void *owner)
{
    struct xpr__op_pool *pool = &engine->pools[large != 0];
    size_t cap = large ? engine->buf_size : SMALL_CAP;
    struct xpr__op *op = pool->head;
    if (op != NULL) {
        pool->head = op->next;
        pool->count--;
        op_init(op, cap, kind, owner);
    } else if ((op = xpr__op_new(cap, kind, owner)) == NULL) {
        return NULL;
    }
    op->large = (unsigned char)(large != 0);
    return op;
}

void xpr__op_put(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    struct xpr__op_pool *pool = &engine->pools[op->large];
    if (engine->harvester->disarm != NULL)
        engine->harvester->disarm(engine, op);
    if (xpr__op_is_udp(op->kind) || pool->count >= engine->pool_free_max) {
        free(op); /* UDP ops have their own sizes: never pooled */
        return;
    }
    op->next = pool->head;
    pool->head = op;
    pool->count++;
}

int xpr__op_arm(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    return engine->harvester->arm ? engine->harvester->arm(engine, op) : 0;
}

/* ---- the completed queue ---- */

void xpr__op_complete(struct xpr__completion_loop *engine, struct xpr__op *op,
                      DWORD bytes, int os_error)
{
    op->bytes = bytes;
    op->os_error = os_error;
    xpr__op_append(&engine->completed_head, &engine->completed_tail, op);
}

/* Each owner starts with the core's part: an xpr_listener, xpr_udp,
 * xpr_watch or xpr_conn. */
xpr_loop *xpr__op_loop(const struct xpr__op *op)
{
    if (op->kind == XPR__OP_ACCEPT)
        return ((xpr_listener *)op->owner)->loop;
    if (xpr__op_is_udp(op->kind))
        return ((xpr_udp *)op->owner)->loop;
    if (op->kind == XPR__OP_POLL)
        return ((xpr_watch *)op->owner)->loop;
    return ((xpr_conn *)op->owner)->loop;
}

/* "Failure codes are NTSTATUS". A closed owner's socket is
 * XPR__INVALID_SOCKET, which is INVALID_SOCKET. */
static int failure_code(struct xpr__op *op)
{
    SOCKET s = INVALID_SOCKET; /* a watcher's: its handler reads the status */
    DWORD bytes = 0, flags = 0;
    if (op->kind == XPR__OP_ACCEPT)
        s = (SOCKET)((xpr_listener *)op->owner)->sock;
    else if (xpr__op_is_udp(op->kind))
        s = (SOCKET)((xpr_udp *)op->owner)->sock;
    else if (op->kind != XPR__OP_POLL)
        s = (SOCKET)((xpr_conn *)op->owner)->sock;
    if (s == INVALID_SOCKET)
        return WSA_OPERATION_ABORTED;
    if (!WSAGetOverlappedResult(s, &op->ov, &bytes, FALSE, &flags)) {
        int err = WSAGetLastError();
        return err != 0 ? err : WSAECONNRESET;
    }
    return WSAECONNRESET; /* reported failed, yet no code: say reset */
}

void xpr__op_reaped(struct xpr__completion_loop *engine, OVERLAPPED *ov,
                    DWORD bytes, int failed)
{
    struct xpr__op *op = CONTAINING_RECORD(ov, struct xpr__op, ov);
    engine->dequeued_completions++;
    xpr__op_complete(engine, op, bytes, failed ? failure_code(op) : 0);
}

/* Bytes of memory the kernel holds while op is pending: its buffer, or
 * for a send the runs of the core's queue it points at. */
static size_t pinned_by(const struct xpr__op *op)
{
    if (op->large || op->kind == XPR__OP_UDP_RECV ||
        op->kind == XPR__OP_UDP_SEND)
        return op->cap;
    return op->kind == XPR__OP_WRITE ? op->len : 0;
}

void xpr__op_count(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int sign)
{
    *owner_pending += (unsigned)sign;
    engine->pending[op->kind] += (uint64_t)(int64_t)sign;
    engine->pinned_bytes += (uint64_t)(int64_t)sign * pinned_by(op);
}

void xpr__op_queue(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending)
{
    xpr__op_count(engine, op, owner_pending, 1);
    xpr__op_complete(engine, op, 0, 0);
}

/* The one switch: every outcome is handled here, in queue order. */
static void handle(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    engine->pinned_bytes -= pinned_by(op);
    if (op->kind != XPR__OP_ACCEPT) /* a closed listener's are counted out */
        engine->pending[op->kind]--;
    switch (op->kind) {
    case XPR__OP_ACCEPT:
        xpr__completion_accept_done(engine, op);
        break;
    case XPR__OP_POLL: /* a watcher's (afd_poll.c) */
        xpr__afd_poll_done(engine, op);
        break;
    case XPR__OP_UDP_RECV:
    case XPR__OP_UDP_SEND:
    case XPR__OP_UDP_POST:
        xpr__completion_udp_done(engine, op);
        break;
    default: /* CONNECT, READ, WRITE, KICK: a conn's (conn.c) */
        xpr__completion_conn_done(op->owner, op);
        break;
    }
}

/* Handles the queue as it stands; what handling appends waits for the
 * next round. Each next is read first: a handled op may be reused. */
static void handle_completed(struct xpr__completion_loop *engine)
{
    struct xpr__op *op = engine->completed_head;
    engine->completed_head = engine->completed_tail = NULL;
    while (op != NULL) {
        struct xpr__op *next = op->next;
        handle(engine, op);
        op = next;
    }
}

/* ---- Wine ----
 * Two Wine behaviours that Windows does not have; under Wine
 * (xpr__under_wine) the engine works around both, and only there.
 *
 * Pending transfers run in the posting thread. Wine performs the transfer
 * of a pending overlapped WSARecv or WSASend in an APC of the thread that
 * posted it, so transfers of one socket posted by two workers can take the
 * socket's bytes out of order; one thread runs its APCs in order. Windows
 * queues a socket's transfers in posting order whichever thread posts
 * them. A loop with workers therefore keeps one send in flight per conn
 * (tests/close.c, test_close_flushes_backlog, sees bytes out of order
 * without it) and posts a conn's reads in batches, only when none is
 * pending, so that one thread posted every pending read (tests/hostile.c,
 * test_slow_reader on iocp-w4-preposted, sees EOF before the last bytes
 * without it).
 *
 * A pending read may complete with 0 bytes while data wait. On Windows a
 * WSARecv with a buffer that completes with 0 bytes and no error is the
 * end of the stream. Wine sometimes completes a pending one so while the
 * socket still holds data, ahead of the peer's FIN (tests/hostile.c,
 * test_half_close_large on iocp-w4-preposted, sees EOF up to a few
 * hundred KiB early without the check). Under Wine such a completion is
 * the end only when no byte waits in the socket (FIONREAD, which Wine
 * answers from the host socket); otherwise it is an empty read and
 * reading goes on, and the bytes reach the reads posted after it, in
 * order. A MSG_PEEK recv cannot tell: Wine queues it behind the reads
 * still pending and answers WSAEWOULDBLOCK, and the read pending behind
 * the end never completes (the same test then waits forever). */
static void wine_workarounds(struct xpr__completion_loop *engine)
{
    if (!xpr__under_wine())
        return;
    engine->confirm_empty_reads = 1;
    if (engine->loop->workers > 1) {
        engine->max_sends = 1;
        engine->read_batches = 1;
    }
}

int xpr__completion_empty_read_ends(struct xpr__completion_loop *engine,
                                    SOCKET s)
{
    u_long waiting = 0;
    return !engine->confirm_empty_reads ||
           ioctlsocket(s, FIONREAD, &waiting) != 0 || waiting == 0;
}

/* ---- the loop ---- */

static int completion_loop_init(xpr_loop *loop)
{
    struct xpr__completion_loop *engine;
    const struct xpr_loop_config *cfg = &loop->cfg;
    int rc;
    if (loop->entry->variant >= sizeof(harvesters) / sizeof(harvesters[0]) ||
        (loop->workers > 1 && !harvesters[loop->entry->variant]->workers))
        return XPR_ENOTSUP;
    engine = xpr__calloc(1, sizeof(*engine));
    if (engine == NULL)
        return XPR_ENOMEM;
    engine->loop = loop;
    engine->harvester = harvesters[loop->entry->variant];
    engine->read_mode = cfg->read_mode ? cfg->read_mode : XPR_READ_ZERO_BYTE;
    engine->preposted_reads =
        cfg->preposted_reads ? cfg->preposted_reads : DEFAULT_PREPOSTED;
    engine->max_sends =
        cfg->max_sends_in_flight ? cfg->max_sends_in_flight : DEFAULT_SENDS;
    engine->pool_free_max =
        cfg->pool_free_max ? cfg->pool_free_max : DEFAULT_POOL_FREE;
    engine->buf_size = loop->read_buf_size;
    engine->base_provider[0] = engine->base_provider[1] = -1;
    wine_workarounds(engine);
    xpr__list_init(&engine->listeners);
    xpr__list_init(&engine->closed_listeners);
    engine->harvester_state = xpr__calloc(1, engine->harvester->state_size);
    rc = engine->harvester_state != NULL ? engine->harvester->init(engine)
                                         : XPR_ENOMEM;
    if (rc != 0) {
        free(engine->harvester_state);
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

/* Waits for and reaps notifications; with completions already queued,
 * looks without waiting, or not at all (see the file's head). */
static int look(struct xpr__completion_loop *engine, int timeout_ms)
{
    uint64_t reaped = engine->dequeued_completions;
    int rc;
    if (engine->completed_head != NULL) {
        if (engine->last_look_empty &&
            engine->looks_skipped < SKIPPED_LOOKS_MAX) {
            engine->looks_skipped++;
            return 0;
        }
        timeout_ms = 0;
    }
    rc = engine->harvester->wait_and_reap(engine, timeout_ms);
    engine->looks_skipped = 0;
    engine->last_look_empty = engine->dequeued_completions == reaped;
    return rc;
}

static int completion_run_once(xpr_loop *loop, int timeout_ms)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    int rc;
    if (xpr__completion_listeners_top_up(engine) &&
        (timeout_ms < 0 || timeout_ms > STARVED_RETRY_MS))
        timeout_ms = STARVED_RETRY_MS;
    xpr__completion_post_outboxes(
        engine); /* what callbacks outside the round queued */
    rc = look(engine, timeout_ms);
    handle_completed(engine);
    xpr__completion_post_outboxes(engine);
    xpr__completion_listeners_reap(engine);
    return rc;
}

static void completion_loop_free(xpr_loop *loop)
{
    struct xpr__completion_loop *engine = xpr__completion_of(loop);
    struct xpr__op_pool *pool;
    struct xpr__op *op;
    int rounds;
    /* sockets are closed: reap what the kernel still owns */
    for (rounds = 0; rounds < FREE_REAP_ROUNDS; rounds++) {
        xpr__completion_post_outboxes(
            engine); /* the conns are closed: cancelled */
        handle_completed(engine);
        xpr__completion_listeners_reap(engine);
        if (pending_total(engine) == 0 && engine->completed_head == NULL &&
            xpr__list_empty(&engine->closed_listeners))
            break;
        engine->harvester->wait_and_reap(engine, 10);
    }
    if (engine->afd != NULL) /* every watcher's poll is reaped */
        CloseHandle(engine->afd);
    engine->harvester->free(engine);
    for (pool = engine->pools; pool < engine->pools + 2; pool++)
        while ((op = pool->head) != NULL) {
            pool->head = op->next;
            free(op);
        }
    free(engine->harvester_state);
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
    st->pending_operations = pending_total(engine) -
                             engine->pending[XPR__OP_KICK] -
                             engine->pending[XPR__OP_POLL] - /* watchers' */
                             engine->pending[XPR__OP_UDP_POST];
    st->inline_completions = engine->inline_completions;
    st->dequeue_calls = engine->dequeue_calls;
    st->dequeued_completions = engine->dequeued_completions;
    st->pooled_buffers = engine->pools[1].count;
    st->pooled_buffer_bytes =
        (uint64_t)engine->pools[1].count * engine->buf_size;
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
    .conn_adopt = xpr__completion_conn_adopt,
    .conn_set_reading = xpr__completion_conn_set_reading,
    .conn_send = xpr__completion_conn_send,
    .conn_shutdown = xpr__completion_conn_shutdown,
    .conn_close = xpr__completion_conn_close,
    .completion_stats = completion_stats,
    .watch_size = sizeof(struct xpr__afd_watch),
    .watch_set = xpr__afd_watch_set,
    .watch_release = xpr__afd_watch_release,
    .udp = &xpr__completion_udp_ops,
};
