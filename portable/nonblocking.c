/*
 * The nonblocking poller: non-blocking sockets polled in a loop, the model
 * as courses teach it before select(). Every pass reports each watched
 * socket as ready for its whole interest; the readiness transport
 * (portable/stream.c) then calls accept, recv and send on it until they
 * fail with EWOULDBLOCK. No system call says which socket is ready: the
 * tries are the polling, and their cost is this model's CPU cost.
 *
 * 1. A pass that moved nothing (no byte read or written, no connection
 *    accepted, refused or ended: the loop's counters are unchanged since
 *    the previous wait) makes the next wait sleep: 0 ms after the first
 *    such pass, then 1, 2, 4 ms, and 4 ms on while passes stay idle.
 *    Progress or a wake resets the back-off. The sleep never outlasts the
 *    wait's timeout (the nearest timer).
 * 2. The sleep is a wait on a condition variable that wake() signals, so a
 *    post from another thread cuts it short.
 * 3. A socket that is still connecting cannot be tried: a second connect
 *    starts another attempt on some systems, and reading SO_ERROR clears
 *    the error the engine reports next. So write interest is reported only
 *    when a zero-timeout probe (xpr__sock_writable_now) says the connect
 *    has ended or a send would go; the poller cannot tell a connecting
 *    socket from a connected one waiting to send, and probes both.
 * 4. A socket's slot index lives in io->poller_data (index + 1, so NULL
 *    means "not watched"); a removed socket's slot takes the last one.
 * 5. Reporting every socket says nothing of an application's socket that
 *    xpr only watches: XPR__POLLER_PROBES_WATCHERS (stream_watch.c).
 */
#include <stdlib.h>

#include "alloc.h"
#include "backend.h"
#include "fault.h"
#include "poller.h"
#include "sock_models.h"

#define BACKOFF_MAX_MS 4

struct nonblocking_state {
    xpr_loop *loop;
    struct xpr__io **ios;
    size_t count, capacity;
    struct xpr__fired_list fired;
    /* The loop's counters as the previous wait saw them (quirk 1). */
    uint64_t progress_mark[5];
    unsigned idle_passes;
    xpr__mutex lock; /* guards woken */
    xpr__cond cond;
    int woken;
};

static void progress_now(const xpr_loop *loop, uint64_t mark[5])
{
    mark[0] = loop->stats.bytes_read;
    mark[1] = loop->stats.bytes_written;
    mark[2] = loop->stats.accepted_connections;
    mark[3] = loop->stats.refused_connections;
    mark[4] = loop->stats.live_connections;
}

static int nonblocking_init(xpr_loop *loop, void **state)
{
    struct nonblocking_state *st = xpr__calloc(1, sizeof(*st));
    if (st == NULL)
        return XPR_ENOMEM;
    if (xpr__mutex_init(&st->lock) != 0) {
        free(st);
        return XPR_ENOMEM;
    }
    if (xpr__cond_init(&st->cond) != 0) {
        xpr__mutex_destroy(&st->lock);
        free(st);
        return XPR_ENOMEM;
    }
    st->loop = loop;
    *state = st;
    return 0;
}

static void nonblocking_free(void *state)
{
    struct nonblocking_state *st = state;
    xpr__cond_destroy(&st->cond);
    xpr__mutex_destroy(&st->lock);
    free(st->ios);
    free(st->fired.items);
    free(st);
}

static int nonblocking_update(void *state, struct xpr__io *io,
                              unsigned new_mask)
{
    struct nonblocking_state *st = state;
    size_t slot = (size_t)(uintptr_t)io->poller_data;
    if (slot == 0 && new_mask != 0) {
        if (st->count == st->capacity) {
            size_t cap = st->capacity ? st->capacity * 2 : 64;
            struct xpr__io **ios = xpr__realloc(st->ios, cap * sizeof(*ios));
            if (ios == NULL)
                return XPR_ENOMEM;
            st->ios = ios;
            st->capacity = cap;
        }
        st->ios[st->count++] = io;
        io->poller_data = (void *)(uintptr_t)st->count;
    } else if (slot != 0 && new_mask == 0) { /* quirk 4 */
        struct xpr__io *last = st->ios[--st->count];
        st->ios[slot - 1] = last;
        last->poller_data = (void *)(uintptr_t)slot;
        io->poller_data = NULL;
    }
    return 0;
}

/* Quirk 1: the sleep before this pass. */
static int backoff_ms(struct nonblocking_state *st)
{
    uint64_t now[5];
    int moved = 0, i;
    progress_now(st->loop, now);
    for (i = 0; i < 5; i++) {
        if (now[i] != st->progress_mark[i])
            moved = 1;
        st->progress_mark[i] = now[i];
    }
    if (moved) {
        st->idle_passes = 0;
        return 0;
    }
    if (st->idle_passes < 8)
        st->idle_passes++;
    if (st->idle_passes == 1)
        return 0;
    return st->idle_passes - 2 >= 3 ? BACKOFF_MAX_MS
                                    : 1 << (st->idle_passes - 2);
}

static void sleep_unless_woken(struct nonblocking_state *st, int ms)
{
    xpr__mutex_lock(&st->lock);
    if (!st->woken && ms > 0)
        xpr__cond_wait(&st->cond, &st->lock, ms); /* quirk 2 */
    if (st->woken)
        st->idle_passes = 0;
    st->woken = 0;
    xpr__mutex_unlock(&st->lock);
}

static int nonblocking_wait(void *state, int timeout_ms,
                            const struct xpr__fired **fired)
{
    struct nonblocking_state *st = state;
    int sleep_ms = backoff_ms(st);
    size_t i;
    st->fired.count = 0;
    *fired = st->fired.items;
    if (xpr__fired_reserve(&st->fired, st->count) != 0)
        return XPR_ENOMEM;
    if (xpr__fault(XPR__FAULT_WAIT))
        return XPR_ENOMEM;
    if (timeout_ms >= 0 && sleep_ms > timeout_ms)
        sleep_ms = timeout_ms;
    sleep_unless_woken(st, sleep_ms);
    for (i = 0; i < st->count; i++) {
        struct xpr__io *io = st->ios[i];
        unsigned events = io->mask;
        if ((events & XPR__IO_WRITE) && !xpr__sock_writable_now(io->sock))
            events &= ~(unsigned)XPR__IO_WRITE; /* quirk 3 */
        if (events != 0)
            xpr__fired_push(&st->fired, io, events);
    }
    *fired = st->fired.items;
    return (int)st->fired.count;
}

static void nonblocking_wake(void *state)
{
    struct nonblocking_state *st = state;
    xpr__mutex_lock(&st->lock);
    st->woken = 1;
    xpr__cond_signal(&st->cond);
    xpr__mutex_unlock(&st->lock);
}

const struct xpr_poller_ops xpr__nonblocking_poller = {
    .flags = XPR__POLLER_PROBES_WATCHERS,
    .init = nonblocking_init,
    .free = nonblocking_free,
    .update = nonblocking_update,
    .wait = nonblocking_wait,
    .wake = nonblocking_wake,
};
