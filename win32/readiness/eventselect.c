/*
 * The WSAEventSelect poller (Winsock's event-object model); the events'
 * behaviour it shares with asyncselect is in ready_list.h.
 *
 * 1. Groups of 63 slots plus one event (docs/design.md, "WSAEventSelect"):
 *    the loop thread waits on group 0, whose event is the loop event (wakes
 *    and group reports); a thread per further group waits on its slots and
 *    a control event, and only reports: it flags its group, sets the loop
 *    event and parks on its control event until the loop thread has
 *    harvested the group (WSAEnumNetworkEvents) and releases it.
 * 2. Closing a handle another thread waits on is undefined: each slot owns
 *    its event for the life of the group, and a socket borrows the event of
 *    the slot it occupies. A group thread's handle array never changes;
 *    the slot of a removed socket is unregistered (lEvents 0) and reset,
 *    and a stray signal on an empty slot is only reset.
 * 3. The wait reports the lowest signalled index only: after every wake the
 *    rest of the group is collected with zero-timeout waits from the index
 *    past the last hit.
 * 4. A registration records the events that already happened (data
 *    waiting, a connect completed or refused, a close), so nothing else is
 *    probed, and harvests run in slot order, so a listener (added first)
 *    accepts before a client of the same loop runs its on_open.
 * 5. Per-event errors are in iErrorCode[FD_*_BIT]: a refused connect is
 *    FD_CONNECT with an error, reported as WRITE|ERROR (the engine reads
 *    SO_ERROR); a reset is FD_CLOSE with an error.
 * 6. Groups follow the load down, as far as they can without moving a
 *    registered socket (a new registration clears what Winsock recorded):
 *    at the start of a wait, while the last group is empty and the others
 *    have half a group of free slots to spare, its thread stops and its
 *    events close. Slots are taken from the first group with room, so
 *    the last groups empty first.
 * 7. Fault injection (portable/fault.h): the loop thread's wait, told to
 *    fail, returns WSA_WAIT_FAILED with WSA_NOT_ENOUGH_MEMORY before
 *    anything is harvested (signalled events and the ready list stay for
 *    the retry); a registration (WSAEventSelect of a socket that joins)
 *    fails with WSAENOBUFS and the engine ends that socket's conn. Group
 *    threads' waits are not failed: a failed wait there is only a report
 *    that finds nothing, and the loop's wait is the one the core retries.
 */
#include "alloc.h"
#include "xpr_winsock.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fault.h"
#include "poller.h"
#include "ready_list.h"

#define GROUP_SLOTS (WSA_MAXIMUM_WAIT_EVENTS - 1)
#define ALL_EVENTS (FD_READ | FD_WRITE | FD_ACCEPT | FD_CONNECT | FD_CLOSE)

struct group;

struct slot {
    struct xpr__ready_slot r; /* r.closed: FD_CLOSE seen */
    struct group *group;
    unsigned index; /* events[index + 1] of the group */
};

struct eventselect_state;

struct group {
    struct eventselect_state *st;
    /* [0]: the loop event (group 0) or the control event (others) */
    WSAEVENT events[WSA_MAXIMUM_WAIT_EVENTS];
    struct slot slots[GROUP_SLOTS];
    unsigned used;
    unsigned high; /* slots ever used: group 0 waits on 1 + high handles */
    HANDLE thread; /* NULL for group 0 */
    volatile LONG signalled;
    volatile LONG stop; /* the thread returns (quirk 6) */
};

struct eventselect_state {
    struct group **groups;
    size_t group_count, group_capacity;
    struct xpr__list ready; /* slots with something to report */
    struct xpr__fired_list fired;
    HANDLE loop_event; /* group 0's events[0]: a wake or a group's report */
    volatile LONG quit;
};

static DWORD WINAPI group_thread(LPVOID arg)
{
    struct group *g = arg;
    struct eventselect_state *st = g->st;
    while (InterlockedCompareExchange(&st->quit, 0, 0) == 0 &&
           InterlockedCompareExchange(&g->stop, 0, 0) == 0) {
        DWORD r = WSAWaitForMultipleEvents(WSA_MAXIMUM_WAIT_EVENTS, g->events,
                                           FALSE, WSA_INFINITE, FALSE);
        if (r == WSA_WAIT_EVENT_0)
            continue; /* a release without a report, or quit */
        InterlockedExchange(&g->signalled, 1);
        SetEvent(st->loop_event);
        /* Parked: signalled events stay set until the loop harvests them. */
        WaitForSingleObject(g->events[0], INFINITE);
    }
    return 0;
}

static void group_free(struct group *g)
{
    unsigned i;
    if (g->thread != NULL) {
        InterlockedExchange(&g->stop, 1);
        SetEvent(g->events[0]);
        WaitForSingleObject(g->thread, INFINITE);
        CloseHandle(g->thread);
    }
    for (i = 0; i < WSA_MAXIMUM_WAIT_EVENTS; i++)
        if (g->events[i] != NULL)
            WSACloseEvent(g->events[i]);
    free(g);
}

/* events[0], auto-reset: group 0's is the loop event, the others' their
 * thread's control event. */
static int group_add(struct eventselect_state *st)
{
    struct group *g;
    unsigned i;
    if (st->group_count == st->group_capacity) {
        size_t cap = st->group_capacity ? st->group_capacity * 2 : 4;
        struct group **groups = xpr__realloc(st->groups, cap * sizeof(*groups));
        if (groups == NULL)
            return XPR_ENOMEM;
        st->groups = groups;
        st->group_capacity = cap;
    }
    g = xpr__calloc(1, sizeof(*g));
    if (g == NULL)
        return XPR_ENOMEM;
    g->st = st;
    for (i = 0; i < GROUP_SLOTS; i++) {
        g->slots[i].group = g;
        g->slots[i].index = i;
        g->events[i + 1] = WSACreateEvent();
        if (g->events[i + 1] == WSA_INVALID_EVENT) {
            int rc = xpr__wsa_error();
            g->events[i + 1] = NULL;
            group_free(g);
            return rc;
        }
    }
    g->events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (g->events[0] != NULL && st->group_count > 0)
        g->thread = CreateThread(NULL, 64 * 1024, group_thread, g,
                                 STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (g->events[0] == NULL || (st->group_count > 0 && g->thread == NULL)) {
        int rc = xpr__error_from_os((int)GetLastError());
        group_free(g);
        return rc;
    }
    if (st->group_count == 0)
        st->loop_event = g->events[0];
    st->groups[st->group_count++] = g;
    return 0;
}

static int eventselect_init(xpr_loop *loop, void **state)
{
    struct eventselect_state *st = xpr__calloc(1, sizeof(*st));
    int rc;
    (void)loop;
    if (st == NULL)
        return XPR_ENOMEM;
    xpr__list_init(&st->ready);
    rc = group_add(st);
    if (rc != 0) {
        free(st->groups);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void eventselect_free(void *state)
{
    struct eventselect_state *st = state;
    size_t i;
    InterlockedExchange(&st->quit, 1);
    /* group 0 last: the other groups' threads set its loop event */
    for (i = st->group_count; i-- > 0;)
        group_free(st->groups[i]);
    free(st->groups);
    free(st->fired.items);
    free(st);
}

static struct slot *take_slot(struct eventselect_state *st, int *rc)
{
    size_t i;
    unsigned k;
    for (i = 0;; i++) {
        struct group *g;
        if (i == st->group_count) {
            *rc = group_add(st);
            if (*rc != 0)
                return NULL;
        }
        g = st->groups[i];
        if (g->used == GROUP_SLOTS)
            continue;
        for (k = 0; k < GROUP_SLOTS; k++) {
            if (g->slots[k].r.io == NULL) {
                g->used++;
                if (k + 1 > g->high)
                    g->high = k + 1;
                return &g->slots[k];
            }
        }
    }
}

static int eventselect_update(void *state, struct xpr__io *io,
                              unsigned new_mask)
{
    struct eventselect_state *st = state;
    struct slot *sl = io->poller_data;
    WSAEVENT ev;
    int rc = 0;
    if (sl != NULL && new_mask != 0) { /* ready_list.h 2 */
        xpr__ready_set_interest(&st->ready, &sl->r, new_mask);
        return 0;
    }
    if (sl != NULL) {
        ev = sl->group->events[sl->index + 1];
        WSAEventSelect((SOCKET)io->sock, ev, 0);
        WSAResetEvent(ev);
        xpr__ready_remove(&sl->r);
        memset(&sl->r, 0, sizeof(sl->r));
        sl->group->used--;
        io->poller_data = NULL;
        return 0;
    }
    if (new_mask == 0)
        return 0;
    sl = take_slot(st, &rc);
    if (sl == NULL)
        return rc;
    ev = sl->group->events[sl->index + 1];
    if (xpr__fault(XPR__FAULT_WATCH)) { /* quirk 7 */
        WSASetLastError(WSAENOBUFS);
        rc = SOCKET_ERROR;
    } else {
        rc = WSAEventSelect((SOCKET)io->sock, ev, ALL_EVENTS);
    }
    if (rc != 0) {
        rc = xpr__wsa_error();
        sl->group->used--;
        return rc;
    }
    xpr__ready_start(&st->ready, &sl->r, io,
                     new_mask); /* quirk 4; ready_list.h 4 */
    io->poller_data = sl;
    return 0;
}

static void harvest_slot(struct eventselect_state *st, struct slot *sl)
{
    WSAEVENT ev = sl->group->events[sl->index + 1];
    WSANETWORKEVENTS ne;
    int i, error = 0;
    if (sl->r.io == NULL) {
        WSAResetEvent(ev); /* quirk 2: a signal left from a removed socket */
        return;
    }
    if (WSAEnumNetworkEvents((SOCKET)sl->r.io->sock, ev, &ne) != 0) {
        WSAResetEvent(ev); /* the engine's reads and sends will tell */
        xpr__ready_record(&st->ready, &sl->r, FD_READ | FD_WRITE, 1);
        return;
    }
    for (i = 0; i < FD_MAX_EVENTS; i++) /* quirk 5 */
        if ((ne.lNetworkEvents & (1L << i)) && ne.iErrorCode[i] != 0)
            error = 1;
    xpr__ready_record(&st->ready, &sl->r, ne.lNetworkEvents, error);
}

/* Quirk 3: every signalled slot event of g from events[first] on. */
static void harvest_group(struct eventselect_state *st, struct group *g,
                          unsigned first)
{
    while (first <= g->high) {
        DWORD r = WSAWaitForMultipleEvents(g->high + 1 - first,
                                           &g->events[first], FALSE, 0, FALSE);
        if (r >= WSA_WAIT_EVENT_0 + (g->high + 1 - first))
            break; /* timeout or failure: nothing more is signalled */
        first += r - WSA_WAIT_EVENT_0;
        harvest_slot(st, &g->slots[first - 1]);
        first++;
    }
}

/* Quirk 6. The spare half group keeps a load near a group boundary from
 * making and stopping a thread each round. */
static void shrink(struct eventselect_state *st)
{
    while (st->group_count > 1) {
        struct group *last = st->groups[st->group_count - 1];
        size_t i, spare = 0;
        for (i = 0; i + 1 < st->group_count; i++)
            spare += GROUP_SLOTS - st->groups[i]->used;
        if (last->used != 0 || spare < GROUP_SLOTS / 2)
            return;
        st->group_count--;
        group_free(last);
    }
}

static int eventselect_wait(void *state, int timeout_ms,
                            const struct xpr__fired **fired)
{
    struct eventselect_state *st = state;
    struct group *g0 = st->groups[0];
    DWORD timeout = timeout_ms < 0 ? WSA_INFINITE : (DWORD)timeout_ms;
    DWORD r;
    size_t i;
    shrink(st);
    st->fired.count = 0;
    *fired = st->fired.items;
    if (!xpr__list_empty(&st->ready))
        timeout = 0; /* ready_list.h 3: closed sockets to be read */
    if (xpr__fault(XPR__FAULT_WAIT)) { /* quirk 7 */
        WSASetLastError(WSA_NOT_ENOUGH_MEMORY);
        r = WSA_WAIT_FAILED;
    } else {
        r = WSAWaitForMultipleEvents(g0->high + 1, g0->events, FALSE, timeout,
                                     FALSE);
    }
    if (r == WSA_WAIT_FAILED)
        return xpr__wsa_error();
    if (r != WSA_WAIT_TIMEOUT && r <= WSA_WAIT_EVENT_0 + g0->high) {
        unsigned first = (unsigned)(r - WSA_WAIT_EVENT_0);
        harvest_group(st, g0, first == 0 ? 1 : first);
    }
    for (i = 1; i < st->group_count; i++) {
        struct group *g = st->groups[i];
        if (InterlockedExchange(&g->signalled, 0) != 0) {
            harvest_group(st, g, 1);
            SetEvent(g->events[0]); /* release the parked thread */
        }
    }
    if (xpr__ready_take(&st->ready, st->group_count * GROUP_SLOTS,
                        &st->fired) != 0)
        return XPR_ENOMEM; /* what was harvested stays pending */
    *fired = st->fired.items;
    return (int)st->fired.count;
}

static void eventselect_wake(void *state)
{
    struct eventselect_state *st = state;
    SetEvent(st->loop_event);
}

const struct xpr_poller_ops xpr__eventselect_poller = {
    .flags = XPR__POLLER_WRITE_EDGE | XPR__POLLER_PROBES_WATCHERS,
    .init = eventselect_init,
    .free = eventselect_free,
    .update = eventselect_update,
    .wait = eventselect_wait,
    .wake = eventselect_wake,
};
