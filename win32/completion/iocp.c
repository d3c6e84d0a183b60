/*
 * The iocp harvester: completions are reaped from one I/O completion port
 * (docs/design.md, "I/O completion port").
 *
 * 1. GetQueuedCompletionStatusEx returns a batch; every entry with an
 *    OVERLAPPED is one finished operation, success or not: a failure leaves
 *    an NTSTATUS in OVERLAPPED.Internal (engine.c, "Failure codes are
 *    NTSTATUS"). FALSE with WAIT_TIMEOUT is an empty wait; a wait may also
 *    end early (a ~15.6 ms tick): the core simply comes back.
 * 2. Wakes are packets with a NULL OVERLAPPED (PostQueuedCompletionStatus),
 *    not a loopback socket pair (antivirus); each costs one empty entry. A
 *    batch may hold several, so the run's exit packets are passed on, one
 *    by each worker as it leaves (loop.c).
 * 3. Sockets join with completion key 0: the op comes from the OVERLAPPED
 *    (CONTAINING_RECORD), never from the key or the SOCKET value. A socket
 *    leaves the port only when closed; packets of the operations
 *    closesocket cancelled still arrive and are reaped like any other.
 * 4. Workers (completion.h) wait each with its own entry array, without the
 *    run lock; the port's concurrency value is the worker count, so the
 *    kernel wakes no more of them than may run.
 * 5. A GetQueuedCompletionStatusEx that fails for another reason has
 *    removed no entry: the error goes to the core, which retries. Fault
 *    injection (portable/fault.h) fails it that way, and an association,
 *    both with ERROR_NOT_ENOUGH_MEMORY (the engine then drops or ends that
 *    socket's conn).
 */
#include "completion.h"
#include "fault.h"

#define BATCH 128
#define WAKE_KEY ((ULONG_PTR)1)

/* The harvester state: the port. */
#define PORT(engine) (*(HANDLE *)(engine)->harvester_state)

static int iocp_init(struct xpr__completion_loop *engine)
{
    PORT(engine) = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0,
                                          (DWORD)engine->loop->workers);
    return PORT(engine) != NULL ? 0 : xpr__error_from_os((int)GetLastError());
}

static void iocp_free(struct xpr__completion_loop *engine)
{
    CloseHandle(PORT(engine));
}

static int iocp_associate(struct xpr__completion_loop *engine, SOCKET s)
{
    if (xpr__fault(XPR__FAULT_WATCH)) /* trap 5 */
        return xpr__error_from_os(ERROR_NOT_ENOUGH_MEMORY);
    if (CreateIoCompletionPort((HANDLE)s, PORT(engine), 0, 0) == NULL)
        return xpr__error_from_os((int)GetLastError());
    return 0;
}

static int iocp_wait_and_reap(struct xpr__completion_loop *engine,
                              int timeout_ms)
{
    OVERLAPPED_ENTRY entries[BATCH]; /* per worker (trap 4) */
    ULONG count = 0, i;
    DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    DWORD err = 0;
    engine->dequeue_calls++;
    if (xpr__fault(XPR__FAULT_WAIT)) /* trap 5: no entry removed */
        return xpr__error_from_os(ERROR_NOT_ENOUGH_MEMORY);
    xpr__loop_wait_begin(engine->loop);
    if (!GetQueuedCompletionStatusEx(PORT(engine), entries, BATCH, &count, wait,
                                     FALSE))
        err = GetLastError();
    xpr__loop_wait_end(engine->loop);
    if (err != 0)
        return err == WAIT_TIMEOUT ? 0 : xpr__error_from_os((int)err);
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
    PostQueuedCompletionStatus(PORT(engine), 0, WAKE_KEY, NULL);
}

const struct xpr__harvester_ops xpr__iocp_harvester = {
    .name = "iocp",
    .state_size = sizeof(HANDLE),
    .init = iocp_init,
    .free = iocp_free,
    .associate = iocp_associate,
    .wait_and_reap = iocp_wait_and_reap,
    .wake = iocp_wake,
    .port = 1,
    .workers = 1,
};
