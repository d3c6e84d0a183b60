/*
 * The iocp harvester: completions are reaped from one I/O completion port
 * (docs/design.md, "I/O completion port"). Everything else is the shared engine
 * (engine.c).
 *
 * 1. GetQueuedCompletionStatusEx returns a batch; every entry with an
 *    OVERLAPPED is one finished operation, success or not. The "FALSE with
 *    a non-NULL OVERLAPPED means a failed I/O" trap of the single-packet
 *    call becomes: OVERLAPPED.Internal holds a failure NTSTATUS (the engine
 *    resolves it to a WSA code while the socket is open).
 * 2. A FALSE return with WAIT_TIMEOUT is an empty wait, not an error; the
 *    wait may also end early (a ~15.6 ms tick): the core simply comes back.
 * 3. Wakes are packets with a NULL OVERLAPPED and WAKE_KEY, posted with
 *    PostQueuedCompletionStatus: no loopback socket pair (antivirus).
 *    Several wakes may be pending at once; each costs one empty entry.
 * 4. Sockets are associated with the completion key 0: the context comes
 *    from the OVERLAPPED (CONTAINING_RECORD), never from the key or the
 *    SOCKET value, so a reused socket number cannot misroute a packet.
 * 5. A socket cannot leave a port; it leaves when it is closed. Packets of
 *    operations cancelled by closesocket still arrive (Wine:
 *    ERROR_HANDLES_CLOSED, Windows: ERROR_OPERATION_ABORTED) and are reaped
 *    like any other before their context is released.
 * 6. Workers (cfg.workers > 1, completion.h "Workers"): every worker
 *    blocks in its own GetQueuedCompletionStatusEx on the one port, with
 *    its own entry array and without the loop's run lock, and appends its
 *    batch to the completed queue once it has the lock back. The port's
 *    concurrency value is the worker count, so the kernel does not wake
 *    more of them than may run.
 * 7. A batch may hold several wake packets: the run's exit packets are
 *    therefore passed on, one by each worker as it leaves (loop.c).
 * 8. A GetQueuedCompletionStatusEx that fails for another reason than
 *    WAIT_TIMEOUT has removed no entry: its packets stay queued for the
 *    next call, and the error goes to the core, which retries the wait.
 *    Fault injection (portable/fault.h) fails it that way, with
 *    ERROR_NOT_ENOUGH_MEMORY, and fails an association
 *    (CreateIoCompletionPort) with ERROR_NOT_ENOUGH_MEMORY too: the engine
 *    then drops or ends that socket's conn.
 */
#include "completion.h"
#include "fault.h"

#define BATCH 128
#define WAKE_KEY ((ULONG_PTR)1)

struct iocp_state {
    HANDLE port;
};

static int iocp_init(struct xpr__completion_loop *engine)
{
    struct iocp_state *st = engine->harvester_state;
    st->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0,
                                      (DWORD)engine->loop->workers);
    return st->port != NULL ? 0 : xpr__error_from_os((int)GetLastError());
}

static void iocp_free(struct xpr__completion_loop *engine)
{
    struct iocp_state *st = engine->harvester_state;
    CloseHandle(st->port);
}

static int iocp_associate(struct xpr__completion_loop *engine, SOCKET s)
{
    struct iocp_state *st = engine->harvester_state;
    if (xpr__fault(XPR__FAULT_WATCH)) { /* trap 8 */
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return xpr__error_from_os((int)GetLastError());
    }
    if (CreateIoCompletionPort((HANDLE)s, st->port, 0, 0) == NULL)
        return xpr__error_from_os((int)GetLastError());
    return 0;
}

static int iocp_wait_and_reap(struct xpr__completion_loop *engine,
                              int timeout_ms)
{
    struct iocp_state *st = engine->harvester_state;
    OVERLAPPED_ENTRY entries[BATCH]; /* per worker (trap 6) */
    ULONG count = 0, i;
    DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    DWORD err = 0;
    BOOL ok;
    xpr__loop_wait_begin(engine->loop);
    if (xpr__fault(XPR__FAULT_WAIT)) { /* trap 8: no entry removed */
        ok = FALSE;
        err = ERROR_NOT_ENOUGH_MEMORY;
    } else {
        ok = GetQueuedCompletionStatusEx(st->port, entries, BATCH, &count, wait,
                                         FALSE);
        if (!ok)
            err = GetLastError();
    }
    xpr__loop_wait_end(engine->loop);
    engine->dequeue_calls++;
    if (!ok) {
        if (err == WAIT_TIMEOUT)
            return 0;
        return xpr__error_from_os((int)err);
    }
    for (i = 0; i < count; i++) {
        OVERLAPPED *ov = entries[i].lpOverlapped;
        if (ov != NULL) /* else a wake */
            xpr__op_reaped(engine, ov, entries[i].dwNumberOfBytesTransferred,
                           ov->Internal != 0);
    }
    return 0;
}

static void iocp_wake(struct xpr__completion_loop *engine)
{
    struct iocp_state *st = engine->harvester_state;
    PostQueuedCompletionStatus(st->port, 0, WAKE_KEY, NULL);
}

const struct xpr__harvester_ops xpr__iocp_harvester = {
    .name = "iocp",
    .state_size = sizeof(struct iocp_state),
    .init = iocp_init,
    .free = iocp_free,
    .associate = iocp_associate,
    .wait_and_reap = iocp_wait_and_reap,
    .wake = iocp_wake,
    .port = 1,
    .workers = 1,
};
