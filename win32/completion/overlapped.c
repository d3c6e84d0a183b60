/*
 * The overlapped harvester: every operation carries an event object in
 * OVERLAPPED.hEvent, and finished operations are found by waiting on those
 * events (docs/design.md, "Overlapped I/O").
 *
 * 1. A wait takes at most WSA_MAXIMUM_WAIT_EVENTS (64) handles. Pending
 *    operations are kept in groups of 63, each with a waiting thread that
 *    waits on its control event plus the group's events and only signals
 *    the loop thread (`ready`, the group's `signalled` flag). Operations
 *    are reaped, and callbacks run, on the loop thread alone, after the
 *    wait: nothing posts into a group while it is scanned.
 * 2. A waiting thread waits on a copy of its group's handles taken under
 *    the group's lock, so the loop thread may change the group at any time;
 *    the control event makes it take a fresh copy. After reporting, it
 *    waits for the control event only: the event stays signalled until the
 *    loop reaps it, and waiting on it again would spin.
 * 3. A copy may hold the event of an operation already reaped, now lent to
 *    another one (events are pooled): its signal wakes the wrong group, the
 *    loop finds nothing there and the thread takes a fresh copy. Event
 *    handles are closed only after every thread has stopped.
 * 4. An operation done at once has set its event already: the engine
 *    queues it itself and it never enters a group, so it cannot be
 *    delivered twice. With no port there is no skip-on-success.
 * 5. Events are manual-reset: the system only sets them; one is reset when
 *    its op goes back to the pool, before it is lent again.
 * 6. The result is read from the OVERLAPPED (Internal / InternalHigh, as
 *    HasOverlappedIoCompleted does).
 * 7. Wakes set a reserved auto-reset event the loop thread waits on next
 *    to `ready`.
 * 8. If no waiting thread can be started for a group, the loop polls that
 *    group itself every round, its wait capped at POLL_MS.
 * 9. A posted operation must find a slot: it is under way and cannot be
 *    taken back. Slots are reserved when the op is armed (right before the
 *    post), where running out of memory can still be reported (XPR_ENOMEM
 *    ends that conn, not the loop). Only ops about to be posted hold an
 *    event, not queued writes, so the handle count (one wineserver for all
 *    processes under Wine) stays near the number of pending operations.
 * 10. A failed wait of the loop thread returns before anything is reaped:
 *    `ready` and the groups' flags stay set for the next wait, which the
 *    core retries. Fault injection (portable/fault.h) fails it with
 *    ERROR_NOT_ENOUGH_MEMORY; waiting threads' waits are not failed.
 * 11. Groups follow the load down: at the start of a wait, while the armed
 *    ops fit in one group fewer with half a group to spare, the last
 *    group's pending ops move to free slots of the others (their events
 *    stay signalled if they were: the other threads take fresh copies)
 *    and the last group's thread stops and its handles close.
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX (WSA_MAXIMUM_WAIT_EVENTS - 1) /* + the control event */
#define POLL_MS 10

struct overlapped_state;

struct group {
    struct overlapped_state *st;
    HANDLE thread;  /* NULL: polled by the loop (trap 8) */
    HANDLE control; /* auto-reset: take a fresh copy */
    CRITICAL_SECTION lock;
    volatile LONG signalled; /* the thread saw an event */
    volatile LONG stop;
    unsigned count;
    int dirty; /* changed since the thread's copy */
    HANDLE events[GROUP_MAX];
    struct xpr__op *ops[GROUP_MAX];
};

struct overlapped_state {
    HANDLE wake;  /* trap 7 */
    HANDLE ready; /* a waiting thread saw an event */
    struct group **groups;
    unsigned ngroups, cap_groups;
    struct xpr__event_pool events; /* trap 3, 5 */
    unsigned armed;                /* contexts holding an event (trap 9) */
};

static DWORD WINAPI group_thread(LPVOID arg)
{
    struct group *g = arg;
    HANDLE h[WSA_MAXIMUM_WAIT_EVENTS];
    for (;;) {
        DWORD n, r;
        EnterCriticalSection(&g->lock); /* trap 2 */
        h[0] = g->control;
        memcpy(h + 1, g->events, g->count * sizeof(HANDLE));
        n = g->count + 1;
        LeaveCriticalSection(&g->lock);
        r = WSAWaitForMultipleEvents(n, h, FALSE, WSA_INFINITE, FALSE);
        if (g->stop)
            break;
        if (r == WSA_WAIT_EVENT_0)
            continue; /* the set changed */
        InterlockedExchange(&g->signalled, 1);
        SetEvent(g->st->ready);
        /* trap 2: until the loop has reaped this group */
        WaitForSingleObject(g->control, INFINITE);
        if (g->stop)
            break;
    }
    return 0;
}

static struct group *group_new(struct overlapped_state *st)
{
    struct group *g;
    if (st->ngroups == st->cap_groups) {
        unsigned cap = st->cap_groups ? 2 * st->cap_groups : 8;
        struct group **p = xpr__realloc(st->groups, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        st->groups = p;
        st->cap_groups = cap;
    }
    g = xpr__calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->st = st;
    g->control = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (g->control == NULL) {
        free(g);
        return NULL;
    }
    InitializeCriticalSection(&g->lock);
    g->thread = CreateThread(NULL, 64 * 1024, group_thread, g,
                             STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    st->groups[st->ngroups++] = g;
    return g;
}

/* The thread stops before the handles go (trap 3); the events left are
 * those of leaked operations. */
static void group_free(struct group *g)
{
    unsigned i;
    if (g->thread != NULL) {
        InterlockedExchange(&g->stop, 1);
        SetEvent(g->control);
        WaitForSingleObject(g->thread, INFINITE);
        CloseHandle(g->thread);
    }
    for (i = 0; i < g->count; i++)
        CloseHandle(g->events[i]);
    CloseHandle(g->control);
    DeleteCriticalSection(&g->lock);
    free(g);
}

static int overlapped_init(struct xpr__completion_loop *engine)
{
    struct overlapped_state *st = engine->harvester_state;
    st->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    st->ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (st->wake == NULL || st->ready == NULL) {
        int rc = xpr__error_from_os((int)GetLastError());
        if (st->wake != NULL)
            CloseHandle(st->wake);
        if (st->ready != NULL)
            CloseHandle(st->ready);
        return rc;
    }
    return 0;
}

static void overlapped_free(struct xpr__completion_loop *engine)
{
    struct overlapped_state *st = engine->harvester_state;
    unsigned i;
    for (i = 0; i < st->ngroups; i++)
        group_free(st->groups[i]);
    xpr__event_pool_free(&st->events);
    CloseHandle(st->wake);
    CloseHandle(st->ready);
    free(st->groups);
}

/* Lends the context an event, and makes sure a group slot is free for it
 * should it be pending (trap 9). */
static int overlapped_arm(struct xpr__completion_loop *engine,
                          struct xpr__op *op)
{
    struct overlapped_state *st = engine->harvester_state;
    int rc;
    if (st->armed >= st->ngroups * GROUP_MAX && group_new(st) == NULL)
        return XPR_ENOMEM;
    rc = xpr__event_pool_get(&st->events, &op->ov.hEvent); /* trap 5 */
    if (rc == 0)
        st->armed++;
    return rc;
}

static void overlapped_disarm(struct xpr__completion_loop *engine,
                              struct xpr__op *op)
{
    struct overlapped_state *st = engine->harvester_state;
    if (xpr__event_pool_put(&st->events, op, engine->pool_free_max))
        st->armed--; /* trap 4, 5 */
}

/* The op is pending: its event joins a group with a free slot. */
static void overlapped_track_pending(struct xpr__completion_loop *engine,
                                     struct xpr__op *op)
{
    struct overlapped_state *st = engine->harvester_state;
    struct group *g = NULL;
    unsigned i;
    for (i = 0; i < st->ngroups && g == NULL; i++)
        if (st->groups[i]->count < GROUP_MAX)
            g = st->groups[i];
    if (g == NULL) /* cannot happen: overlapped_arm reserved a slot (trap 9) */
        g = group_new(st);
    if (g == NULL) {
        WaitForSingleObject(op->ov.hEvent, INFINITE);
        xpr__op_reaped(engine, &op->ov, (DWORD)op->ov.InternalHigh,
                       op->ov.Internal != 0);
        return;
    }
    EnterCriticalSection(&g->lock);
    g->events[g->count] = op->ov.hEvent;
    g->ops[g->count] = op;
    g->count++;
    LeaveCriticalSection(&g->lock);
    g->dirty = 1;
}

/* Takes the finished operations of one group (at most GROUP_MAX) out of it,
 * onto the completed queue. */
static void reap_group(struct xpr__completion_loop *engine, struct group *g)
{
    unsigned n;
    for (n = 0; n < GROUP_MAX && g->count > 0; n++) {
        DWORD r =
            WSAWaitForMultipleEvents(g->count, g->events, FALSE, 0, FALSE);
        struct xpr__op *op;
        unsigned idx;
        if (r >= WSA_WAIT_EVENT_0 + g->count)
            break; /* none (or a timeout) */
        idx = (unsigned)(r - WSA_WAIT_EVENT_0);
        op = g->ops[idx];
        EnterCriticalSection(&g->lock);
        g->count--;
        g->events[idx] = g->events[g->count];
        g->ops[idx] = g->ops[g->count];
        LeaveCriticalSection(&g->lock);
        g->dirty = 1;
        xpr__op_reaped(engine, &op->ov, (DWORD)op->ov.InternalHigh,
                       op->ov.Internal != 0); /* trap 6 */
    }
}

/* Moves the op in slot idx of from to a group among the first count that
 * has a free slot (trap 11). */
static void move_op(struct overlapped_state *st, struct group *from,
                    unsigned idx, unsigned count)
{
    struct group *to = NULL;
    unsigned i;
    for (i = 0; i < count && to == NULL; i++)
        if (st->groups[i]->count < GROUP_MAX)
            to = st->groups[i];
    assert(to != NULL); /* shrink moves ops only where they fit */
    EnterCriticalSection(&to->lock);
    to->events[to->count] = from->events[idx];
    to->ops[to->count] = from->ops[idx];
    to->count++;
    LeaveCriticalSection(&to->lock);
    to->dirty = 1;
    EnterCriticalSection(&from->lock);
    from->count--;
    from->events[idx] = from->events[from->count];
    from->ops[idx] = from->ops[from->count];
    LeaveCriticalSection(&from->lock);
}

/* Trap 11. The spare half group keeps a load near a group boundary from
 * making and stopping a thread each round. */
static void shrink(struct overlapped_state *st)
{
    while (st->ngroups > 1 &&
           st->armed + GROUP_MAX / 2 <= (st->ngroups - 1) * GROUP_MAX) {
        struct group *last = st->groups[st->ngroups - 1];
        while (last->count > 0)
            move_op(st, last, last->count - 1, st->ngroups - 1);
        st->ngroups--;
        group_free(last);
    }
}

/* Lets every thread whose set changed take a fresh copy (trap 2). */
static int flush(struct overlapped_state *st)
{
    unsigned i;
    int polled = 0;
    for (i = 0; i < st->ngroups; i++) {
        struct group *g = st->groups[i];
        if (g->thread == NULL) {
            polled |= g->count > 0;
        } else if (g->dirty) {
            g->dirty = 0;
            SetEvent(g->control);
        }
    }
    return polled;
}

static int overlapped_wait_and_reap(struct xpr__completion_loop *engine,
                                    int timeout_ms)
{
    struct overlapped_state *st = engine->harvester_state;
    HANDLE h[2];
    DWORD wait = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, r;
    unsigned i;
    shrink(st);
    if (flush(st) && wait > POLL_MS)
        wait = POLL_MS; /* trap 8 */
    h[0] = st->wake;
    h[1] = st->ready;
    engine->dequeue_calls++;
    if (xpr__fault(XPR__FAULT_WAIT)) /* trap 10 */
        return xpr__error_from_os(ERROR_NOT_ENOUGH_MEMORY);
    r = WaitForMultipleObjects(2, h, FALSE, wait);
    if (r == WAIT_FAILED)
        return xpr__error_from_os((int)GetLastError());
    for (i = 0; i < st->ngroups; i++) {
        struct group *g = st->groups[i];
        if (g->thread == NULL) {
            reap_group(engine, g);
        } else if (InterlockedExchange(&g->signalled, 0) != 0) {
            reap_group(engine, g);
            g->dirty = 1; /* the thread waits for its control event */
        }
    }
    flush(st);
    return 0;
}

static void overlapped_wake(struct xpr__completion_loop *engine)
{
    struct overlapped_state *st = engine->harvester_state;
    SetEvent(st->wake);
}

/* ---- events lent to ops (here, and completion-routine's accepts and
 * connects) ---- */

int xpr__event_pool_get(struct xpr__event_pool *pool, HANDLE *out)
{
    if (pool->count > 0) {
        *out = pool->spare[--pool->count];
        return 0;
    }
    *out = CreateEventW(NULL, TRUE, FALSE, NULL);
    return *out != NULL ? 0 : xpr__error_from_os((int)GetLastError());
}

int xpr__event_pool_put(struct xpr__event_pool *pool, struct xpr__op *op,
                        unsigned max_free)
{
    HANDLE ev = op->ov.hEvent;
    op->ov.hEvent = NULL;
    if (ev == NULL)
        return 0;
    /* a completed op left its event signalled: reset it before a new op
     * may be waited on with it */
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
    return 1;
}

void xpr__event_pool_free(struct xpr__event_pool *pool)
{
    unsigned i;
    for (i = 0; i < pool->count; i++)
        CloseHandle(pool->spare[i]);
    free(pool->spare);
}

const struct xpr__harvester_ops xpr__overlapped_harvester = {
    .name = "overlapped",
    .state_size = sizeof(struct overlapped_state),
    .init = overlapped_init,
    .free = overlapped_free,
    .wait_and_reap = overlapped_wait_and_reap,
    .wake = overlapped_wake,
    .arm = overlapped_arm,
    .track_pending = overlapped_track_pending,
    .disarm = overlapped_disarm,
};
