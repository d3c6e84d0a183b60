/*
 * The readiness poller contract (docs/design.md, "The readiness engine and
 * its pollers"): a poller tracks level-triggered interest and reports what
 * fired; the engine (portable/stream.c) does the I/O.
 *   - update() sets the interest of io to new_mask (kept in io->mask on
 *     success; on failure the old interest stands); 0 removes the socket,
 *     and the poller keeps nothing of io and never reports it again.
 *   - wait() runs no callback: it fills a list of fired entries and
 *     returns how many, or an XPR_E* error (< 0). The list stays as it is
 *     until the next wait() or free(), whatever update() is called.
 *   - Every listed io stays in memory until xpr__io_dispatch ends, even
 *     when removed: conns are freed only after their on_close, closed
 *     listeners only after the dispatch.
 *   - wake() from any thread makes a blocked wait() return, without a
 *     loopback socket pair.
 */
#ifndef XPR_POLLER_H
#define XPR_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "xpr.h"
#include "xpr_sys.h"

struct xpr_loop;

enum {
    XPR__IO_READ = 1u << 0,
    XPR__IO_WRITE = 1u << 1,
    XPR__IO_ERROR = 1u << 2 /* error or hang-up: the engine reads to learn */
};

/* One watched socket. Owned by the engine; the poller may keep a private
 * pointer in poller_data. */
struct xpr__io {
    xpr_socket_t sock;
    unsigned mask; /* current interest, kept by the engine */
    void (*ready)(struct xpr__io *io, unsigned events);
    void *poller_data;
};

/* What wait() saw of one socket. */
struct xpr__fired {
    struct xpr__io *io;
    unsigned events; /* XPR__IO_* */
};

/* A poller's fired list, grown as it needs. */
struct xpr__fired_list {
    struct xpr__fired *items;
    size_t count, capacity;
};

/* Room for n entries in all: 0 or XPR_ENOMEM. */
static inline int xpr__fired_reserve(struct xpr__fired_list *f, size_t n)
{
    struct xpr__fired *items;
    size_t cap = f->capacity ? f->capacity : 64;
    if (n <= f->capacity)
        return 0;
    while (cap < n)
        cap *= 2;
    items = xpr__realloc(f->items, cap * sizeof(*items));
    if (items == NULL)
        return XPR_ENOMEM;
    f->items = items;
    f->capacity = cap;
    return 0;
}

/* Appends an entry: 0 or XPR_ENOMEM. */
static inline int xpr__fired_push(struct xpr__fired_list *f, struct xpr__io *io,
                                  unsigned events)
{
    if (f->count == f->capacity && xpr__fired_reserve(f, f->count + 1) != 0)
        return XPR_ENOMEM;
    f->items[f->count].io = io;
    f->items[f->count].events = events;
    f->count++;
    return 0;
}

/* The engine's dispatch of what one wait() returned: the interest is read
 * again at each entry, since an earlier callback may have changed it. */
static inline void xpr__io_dispatch(const struct xpr__fired *fired, int count)
{
    int i;
    for (i = 0; i < count; i++) {
        struct xpr__io *io = fired[i].io;
        unsigned events = fired[i].events & (io->mask | XPR__IO_ERROR);
        if (io->mask != 0 && events != 0)
            io->ready(io, events);
    }
}

struct xpr_poller_ops {
    /* Poller behaviour flags the engine adapts to. */
    unsigned flags;
    int (*init)(struct xpr_loop *loop, void **state);
    void (*free)(void *state);
    int (*update)(void *state, struct xpr__io *io, unsigned new_mask);
    int (*wait)(void *state, int timeout_ms, const struct xpr__fired **fired);
    void (*wake)(void *state);
};

/* flags */
enum {
    /* Read at most once per read event (WSAAsyncSelect re-posts FD_READ
     * after each recv that leaves data). */
    XPR__POLLER_ONE_READ_PER_EVENT = 1u << 0,
    /* Writability is reported only after a send hit EWOULDBLOCK (FD_WRITE):
     * the engine must try to send before waiting for it. */
    XPR__POLLER_WRITE_EDGE = 1u << 1,
    /* What the poller reports does not say what holds now for a socket
     * the application reads and writes itself: watchers of application
     * sockets are probed after each dispatch (portable/stream_watch.c). */
    XPR__POLLER_PROBES_WATCHERS = 1u << 2
};

#endif
