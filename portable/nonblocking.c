/*
 * The nonblocking poller: every pass reports each watched socket as ready
 * for its whole interest, and the readiness transport (portable/stream.c)
 * tries accept, recv and send on it (docs/design.md, "nonblocking: every
 * socket, every pass": the back-off of idle passes and the probe of
 * connecting sockets, xpr__sock_writable_now, which also probes a
 * connected socket waiting to send: the poller cannot tell them apart).
 *
 * 1. A socket's slot index lives in io->poller_data (index + 1, so NULL
 *    means "not watched"); a removed socket's slot takes the last one.
 * 2. Reporting every socket says nothing of an application's socket that
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
    /* The loop's counters as the previous wait saw them (the back-off). */
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
    if (xpr__mutex_init(&st->lock) == 0) {
        if (xpr__cond_init(&st->cond) == 0) {
            st->loop = loop;
            *state = st;
            return 0;
        }
        xpr__mutex_destroy(&st->lock);
    }
    free(st);
    return XPR_ENOMEM;
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
    } else if (slot != 0 && new_mask == 0) { /* quirk 1 */
        struct xpr__io *last = st->ios[--st->count];
        st->ios[slot - 1] = last;
        last->poller_data = (void *)(uintptr_t)slot;
        io->poller_data = NULL;
    }
    return 0;
}

/* The back-off (docs/design.md): the sleep before this pass. */
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
        xpr__cond_wait(&st->cond, &st->lock, ms); /* wake() cuts it short */
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
            events &= ~(unsigned)XPR__IO_WRITE; /* the probe */
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
