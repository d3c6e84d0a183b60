/*
 * The completion-routine harvester: WSARecv / WSASend name a completion
 * routine, which the system runs as an APC on the issuing thread while it
 * sits in an alertable wait (docs/design.md, "Overlapped I/O").
 *
 * 1. A routine runs only on the thread that issued the I/O, and only in an
 *    alertable wait: the engine posts reads and writes from the loop
 *    thread, which waits with WaitForSingleObjectEx(bAlertable TRUE).
 * 2. Routines only append their op to a list the loop drains after the
 *    wait, in the order they ran (the order the system queued them). No
 *    callback runs inside an APC, so one that waits alertably itself cannot
 *    re-enter the engine.
 * 3. An operation done at once still queues its routine: the engine does
 *    not queue it itself (the table's routine), or it would be handled
 *    twice.
 * 4. AcceptEx, ConnectEx and a watcher's IOCTL_AFD_POLL (afd_poll.c) take
 *    no routine. Their OVERLAPPED carries an event; a thread-pool wait on
 *    it (RegisterWaitForSingleObject, WT_EXECUTEONLYONCE), which scales past
 *    the 64 handles of one wait, puts the op on a locked list and sets the
 *    loop's event. Done at once, they are queued by the engine: the event
 *    was set synchronously and no wait is registered.
 * 5. The registered wait is unregistered on the loop thread with
 *    UnregisterWaitEx(INVALID_HANDLE_VALUE) when the op is reaped: it
 *    returns once the callback finished, so no callback outlives the loop.
 * 6. Wakes are APCs of a routine that does nothing. The loop may first run
 *    on another thread than the one that made it: the target thread is
 *    refreshed at each wait, and a wake also sets the loop's event, so a
 *    wake aimed at the old thread is not lost.
 * 7. The routine's error code is not kept: the engine resolves a failure
 *    through WSAGetOverlappedResult (engine.c, "Failure codes are
 *    NTSTATUS").
 * 8. Only ops without a routine are lent an event, right before they are
 *    posted: under Wine every event is one more handle in the one
 *    wineserver all processes share (~19,000), and thousands of idle reads
 *    would double the count for nothing.
 * 9. If a pool wait cannot be registered, the operation is under way all
 *    the same: the loop polls it (HasOverlappedIoCompleted) each round, its
 *    wait capped at POLL_MS.
 * 10. A failed wait returns before anything is reaped: routines not run
 *    yet stay queued to the thread, and reported operations stay on their
 *    lists for the next wait, which the core retries. Fault injection
 *    (portable/fault.h) fails it with ERROR_NOT_ENOUGH_MEMORY.
 */
#include "completion.h"
#include "fault.h"

#define POLL_MS 10

struct routine_state {
    HANDLE signal; /* auto-reset: accept / connect done, or a wake */
    CRITICAL_SECTION lock;
    HANDLE thread; /* the loop thread, for QueueUserAPC (under lock) */
    DWORD thread_id;
    struct xpr__op *apc_head, *apc_tail;       /* loop thread only */
    struct xpr__op *ev_head, *ev_tail;         /* under lock */
    struct xpr__op *polled_head, *polled_tail; /* trap 9 */
    struct xpr__event_pool events;
};

/* trap 2: runs on the loop thread, inside its alertable wait */
static void CALLBACK routine_routine(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov,
                                     DWORD flags)
{
    struct xpr__op *op = CONTAINING_RECORD(ov, struct xpr__op, ov);
    struct routine_state *st =
        xpr__completion_of(xpr__op_loop(op))->harvester_state;
    (void)flags;
    op->bytes = bytes;
    op->os_error = (int)err;
    xpr__op_append(&st->apc_head, &st->apc_tail, op);
}

/* trap 4: a pool thread */
static void CALLBACK routine_event_done(PVOID arg, BOOLEAN timed_out)
{
    struct xpr__op *op = arg;
    struct routine_state *st =
        xpr__completion_of(xpr__op_loop(op))->harvester_state;
    (void)timed_out;
    EnterCriticalSection(&st->lock);
    xpr__op_append(&st->ev_head, &st->ev_tail, op);
    LeaveCriticalSection(&st->lock);
    SetEvent(st->signal);
}

static void CALLBACK routine_wake_apc(ULONG_PTR arg)
{
    (void)arg; /* trap 6: ending the wait is all */
}

static int routine_init(struct xpr__completion_loop *engine)
{
    struct routine_state *st = engine->harvester_state;
    st->signal = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (st->signal == NULL)
        return xpr__error_from_os((int)GetLastError());
    InitializeCriticalSection(&st->lock);
    return 0;
}

static void routine_free(struct xpr__completion_loop *engine)
{
    struct routine_state *st = engine->harvester_state;
    xpr__event_pool_free(&st->events);
    if (st->thread != NULL)
        CloseHandle(st->thread);
    CloseHandle(st->signal);
    DeleteCriticalSection(&st->lock);
}

static int routine_arm(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    struct routine_state *st = engine->harvester_state;
    if (xpr__op_has_routine(op->kind))
        return 0; /* trap 8: routines need no event */
    return xpr__event_pool_get(&st->events, &op->ov.hEvent); /* trap 4 */
}

static void routine_disarm(struct xpr__completion_loop *engine,
                           struct xpr__op *op)
{
    struct routine_state *st = engine->harvester_state;
    xpr__event_pool_put(&st->events, op, engine->pool_free_max);
}

/* A pending accept or connect: a pool wait tracks its event (trap 4). */
static void routine_track_pending(struct xpr__completion_loop *engine,
                                  struct xpr__op *op)
{
    struct routine_state *st = engine->harvester_state;
    if (xpr__op_has_routine(op->kind))
        return; /* trap 3: the routine comes */
    if (!RegisterWaitForSingleObject(&op->wait, op->ov.hEvent,
                                     routine_event_done, op, INFINITE,
                                     WT_EXECUTEONLYONCE)) {
        op->wait = NULL; /* trap 9: polled by the loop */
        xpr__op_append(&st->polled_head, &st->polled_tail, op);
    }
}

/* trap 6: the thread that runs the loop now is the one APCs go to */
static void note_thread(struct routine_state *st)
{
    HANDLE h = NULL;
    if (st->thread_id == GetCurrentThreadId())
        return;
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(),
                         GetCurrentProcess(), &h, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
        h = NULL;
    EnterCriticalSection(&st->lock);
    if (st->thread != NULL)
        CloseHandle(st->thread);
    st->thread = h;
    st->thread_id = GetCurrentThreadId();
    LeaveCriticalSection(&st->lock);
}

static int routine_wait_and_reap(struct xpr__completion_loop *engine,
                                 int timeout_ms)
{
    struct routine_state *st = engine->harvester_state;
    DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, r;
    struct xpr__op *op, *next;
    note_thread(st);
    if (st->apc_head != NULL)
        wait = 0;
    else if (st->polled_head != NULL && wait > POLL_MS)
        wait = POLL_MS; /* trap 9 */
    engine->dequeue_calls++;
    if (xpr__fault(XPR__FAULT_WAIT)) /* trap 10 */
        return xpr__error_from_os(ERROR_NOT_ENOUGH_MEMORY);
    r = WaitForSingleObjectEx(st->signal, wait, TRUE); /* trap 1 */
    if (r == WAIT_FAILED)
        return xpr__error_from_os((int)GetLastError());
    EnterCriticalSection(&st->lock);
    op = st->ev_head;
    st->ev_head = st->ev_tail = NULL;
    LeaveCriticalSection(&st->lock);
    for (; op != NULL; op = next) { /* accepts and connects (trap 4, 5) */
        next = op->next;
        if (op->wait != NULL)
            UnregisterWaitEx(op->wait, INVALID_HANDLE_VALUE);
        op->wait = NULL;
        xpr__op_reaped(engine, &op->ov, (DWORD)op->ov.InternalHigh,
                       op->ov.Internal != 0);
    }
    op = st->polled_head; /* then the finished ones of those polled (trap 9) */
    st->polled_head = st->polled_tail = NULL;
    for (; op != NULL; op = next) {
        next = op->next;
        if (!HasOverlappedIoCompleted(&op->ov))
            xpr__op_append(&st->polled_head, &st->polled_tail, op);
        else
            xpr__op_reaped(engine, &op->ov, (DWORD)op->ov.InternalHigh,
                           op->ov.Internal != 0);
    }
    /* reads and writes, in the order their routines ran (trap 2, 7) */
    op = st->apc_head;
    st->apc_head = st->apc_tail = NULL;
    for (; op != NULL; op = next) {
        next = op->next;
        xpr__op_reaped(engine, &op->ov, op->bytes, op->os_error != 0);
    }
    return 0;
}

static void routine_wake(struct xpr__completion_loop *engine)
{
    struct routine_state *st = engine->harvester_state;
    EnterCriticalSection(&st->lock);
    if (st->thread != NULL)
        QueueUserAPC(routine_wake_apc, st->thread, 0);
    LeaveCriticalSection(&st->lock);
    SetEvent(st->signal); /* trap 6 */
}

const struct xpr__harvester_ops xpr__routine_harvester = {
    .name = "completion-routine",
    .state_size = sizeof(struct routine_state),
    .init = routine_init,
    .free = routine_free,
    .wait_and_reap = routine_wait_and_reap,
    .wake = routine_wake,
    .arm = routine_arm,
    .track_pending = routine_track_pending,
    .disarm = routine_disarm,
    .routine = routine_routine, /* trap 3 */
};
