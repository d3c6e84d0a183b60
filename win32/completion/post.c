/*
 * Posting of the completion engine: WSARecv and WSASend wait in their
 * conn's outbox and each round posts them (completion.h, "Workers": with
 * workers outside the run lock); AcceptEx, ConnectEx and IOCTL_AFD_POLL are
 * posted by their callers and accounted here; sockets join the harvester.
 *
 * Windows behaviours handled here:
 * - Done at once. WSARecv / WSASend / AcceptEx / ConnectEx may complete at
 *   once. A port still queues a packet unless the socket has
 *   FILE_SKIP_COMPLETION_PORT_ON_SUCCESS; only then, or with no port
 *   (events), does the engine queue the outcome itself. A completion
 *   routine is queued in every case.
 * - Skip-on-success needs a base provider (ChainLen == BASE_PROTOCOL): a
 *   layered provider may complete "at once" and still queue a packet, which
 *   would be handled twice (KB 2568167).
 * - Failed at once. An op that fails at once gets no notification. A
 *   WSARecv / WSASend failure is queued with its error, and nothing more of
 *   that conn is posted (a later send would leave a gap in the stream); an
 *   AcceptEx or ConnectEx failure goes back to its caller (xpr_connect
 *   returns it, a listener pauses).
 */
#include "completion.h"
#include "fault.h"

int xpr__op_started(struct xpr__completion_loop *engine, struct xpr__op *op,
                    int skip, int err)
{
    if (err == WSA_IO_PENDING) {
        if (engine->harvester->track_pending != NULL)
            engine->harvester->track_pending(engine, op);
        return 0;
    }
    if (err != 0) /* "Failed at once" */
        return 1;
    if (engine->harvester->routine != NULL && xpr__op_has_routine(op->kind))
        return 0; /* "Done at once" */
    return engine->harvester->port ? skip : 1;
}

int xpr__op_posted(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int skip, int err)
{
    if (err != 0 && err != WSA_IO_PENDING) { /* "Failed at once" */
        xpr__op_put(engine, op);
        return xpr__error_from_os(err);
    }
    xpr__op_count(engine, op, owner_pending, 1);
    if (xpr__op_started(engine, op, skip, err)) {
        engine->inline_completions++;
        xpr__op_complete(engine, op, (DWORD)op->ov.InternalHigh, 0);
    }
    return 0;
}

static void queue_post(struct xpr__completion_loop *engine,
                       struct xpr__completion_conn *conn)
{
    conn->post_queued = 1;
    conn->next_post = NULL;
    if (engine->post_tail != NULL)
        engine->post_tail->next_post = conn;
    else
        engine->post_head = conn;
    engine->post_tail = conn;
}

int xpr__op_send_later(struct xpr__completion_loop *engine,
                       struct xpr__completion_conn *conn, struct xpr__op *op)
{
    int rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    xpr__op_count(engine, op, &conn->pending, 1);
    xpr__op_append(&conn->outbox_head, &conn->outbox_tail, op);
    if (!conn->post_queued && !conn->posting) /* a poster requeues it */
        queue_post(engine, conn);
    return 0;
}

/* WSARecv or WSASend of op. Outside the run lock with workers: returns 1
 * when no notification will come (done here, or failed at once), and only
 * then may op be touched again, since another worker may reap it before
 * this one has the lock back. */
static int post_transfer(struct xpr__completion_loop *engine, SOCKET s,
                         struct xpr__op *op, int skip)
{
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine = engine->harvester->routine;
    DWORD flags = 0;
    int rc, err;
    if (xpr__fault(op->kind == XPR__OP_READ ? XPR__FAULT_RECV
                                            : XPR__FAULT_SEND)) {
        WSASetLastError(WSAENOBUFS); /* injected: fails like a full pool */
        rc = SOCKET_ERROR;
    } else if (op->kind == XPR__OP_READ) {
        rc = WSARecv(s, op->bufs, op->nbufs, NULL, &flags, &op->ov, routine);
    } else {
        rc = WSASend(s, op->bufs, op->nbufs, NULL, 0, &op->ov, routine);
    }
    err = rc == 0 ? 0 : WSAGetLastError();
    if (!xpr__op_started(engine, op, skip, err))
        return 0; /* tracked by one worker, the only one, if at all */
    op->os_error = err;
    return 1;
}

/* Posts the outboxes queued so far, outside the run lock (completion.h,
 * "Workers"), and queues the outcomes that get no notification. After a
 * failure at once ("Failed at once") a conn's other ops end with the same
 * error. Each next is read before the post: a pending op may be reaped
 * and reused by another worker meanwhile. */
static void post_some(struct xpr__completion_loop *engine)
{
    struct xpr__completion_conn *mine = engine->post_head, *conn;
    struct xpr__completion_conn *failed = NULL;
    struct xpr__op *posts = NULL, *posts_tail = NULL, *op, *next;
    struct xpr__op *done = NULL, *done_tail = NULL;
    engine->post_head = engine->post_tail = NULL;
    for (conn = mine; conn != NULL; conn = conn->next_post) {
        conn->post_queued = 0;
        conn->posting = 1; /* its socket stays open (conn_close waits) */
        for (op = conn->outbox_head; op != NULL; op = next) {
            next = op->next;
            if (xpr__conn_done(&conn->base) || conn->post_error != 0) {
                op->os_error = conn->post_error != 0 ? conn->post_error
                                                     : WSA_OPERATION_ABORTED;
                xpr__op_append(&done, &done_tail, op);
            } else {
                xpr__op_append(&posts, &posts_tail, op);
            }
        }
        conn->outbox_head = conn->outbox_tail = NULL;
    }
    xpr__loop_wait_begin(engine->loop);
    for (op = posts; op != NULL; op = next) {
        struct xpr__completion_conn *owner = op->owner;
        next = op->next;
        if (owner == failed) { /* an earlier op of it failed at once */
            op->os_error = failed->post_error;
        } else if (!post_transfer(engine, (SOCKET)owner->base.sock, op,
                                  owner->skip_on_success)) {
            continue;
        } else if (op->os_error != 0) { /* ops of a conn are in a row */
            failed = owner;
            owner->post_error = op->os_error; /* only its poster reads it */
        }
        xpr__op_append(&done, &done_tail, op);
    }
    xpr__loop_wait_end(engine->loop);
    for (op = done; op != NULL; op = next) {
        next = op->next;
        if (op->os_error == 0)
            engine->inline_completions++;
        xpr__op_complete(engine, op, (DWORD)op->ov.InternalHigh, op->os_error);
    }
    while ((conn = mine) != NULL) {
        mine = conn->next_post;
        conn->posting = 0;
        if (conn->close_deferred)
            xpr__completion_close_deferred(conn);
        if (conn->outbox_head != NULL) /* queued meanwhile */
            queue_post(engine, conn);
    }
}

void xpr__completion_post_outboxes(struct xpr__completion_loop *engine)
{
    while (engine->post_head != NULL)
        post_some(engine);
}

/* ---- association ---- */

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
    int rc = xpr__harvester_associate(engine, s);
    *skip = 0;
    if (rc != 0)
        return rc;
    if (engine->harvester->port && base_provider(engine, s, family) &&
        SetFileCompletionNotificationModes(
            (HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                           FILE_SKIP_SET_EVENT_ON_HANDLE))
        *skip = 1;
    return 0;
}

int xpr__completion_lookup_extensions(struct xpr__completion_loop *engine,
                                      SOCKET s)
{
    GUID guids[2] = {WSAID_CONNECTEX, WSAID_ACCEPTEX};
    void *fns[2];
    DWORD bytes = 0;
    int i;
    fns[0] = (void *)&engine->connect_ex;
    fns[1] = (void *)&engine->accept_ex;
    for (i = 0; i < 2 && engine->accept_ex == NULL; i++)
        if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guids[i],
                     sizeof(GUID), fns[i], sizeof(engine->accept_ex), &bytes,
                     NULL, NULL) != 0)
            return xpr__wsa_error();
    return 0;
}
