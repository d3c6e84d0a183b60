/*
 * The select() poller (Winsock's I/O multiplexing model; docs/design.md,
 * "select").
 *
 * 1. The sets are counted arrays sized at run time for every socket.
 * 2. select() with three empty sets fails at once (WSAEINVAL): the wake
 *    socket is always in the read set, so an idle loop really sleeps.
 * 3. A socket waiting to write is in the write and except sets: except (a
 *    failed connect) maps to XPR__IO_ERROR, on which the engine reads
 *    SO_ERROR.
 * 4. The first argument (nfds) is ignored by Winsock.
 * 5. Results come back as lists of SOCKET values: a table rebuilt with the
 *    sets maps them to slots, and the events a socket has in the three sets
 *    become one fired entry. Nothing changes the slots between the build of
 *    the sets and the gathering (no callback runs in the wait), so a
 *    SOCKET value always finds the socket that was in the sets; a removed
 *    socket's slot takes the last one at once.
 * 6. Wakeups: select waits only on sockets, so the wake is a datagram to a
 *    UDP socket connected to itself (the waker of win32/sock_models.c):
 *    nothing listens, and a firewall has no connection to block.
 * 7. Fault injection (portable/fault.h): a select() told to fail returns
 *    SOCKET_ERROR with WSAENOBUFS, having reported nothing; the core
 *    retries the wait.
 */
#include "alloc.h"
#include "sock_models.h"
#include "xpr_winsock.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fault.h"
#include "poller.h"

struct counted_set { /* the layout of fd_set, with a run-time capacity */
    u_int fd_count;
    SOCKET fd_array[1];
};

struct slot {
    struct xpr__io *io; /* io->poller_data holds the index + 1 */
    unsigned events;    /* gathered from the three result sets */
};

struct select_state {
    struct slot *slots;
    size_t count, capacity;
    struct xpr__fired_list fired;
    struct counted_set *sets[3]; /* read, write, except */
    size_t set_capacity;
    size_t *table; /* SOCKET -> slot index + 1, open addressing */
    size_t table_size;
    struct xpr__waker waker; /* one UDP socket: ends[0] == ends[1] */
};

static int select_init(xpr_loop *loop, void **state)
{
    struct select_state *st = xpr__calloc(1, sizeof(*st));
    int rc;
    (void)loop;
    if (st == NULL)
        return XPR_ENOMEM;
    rc = xpr__waker_open(&st->waker);
    if (rc != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void select_free(void *state)
{
    struct select_state *st = state;
    size_t i;
    for (i = 0; i < 3; i++)
        free(st->sets[i]);
    xpr__waker_close(&st->waker);
    free(st->slots);
    free(st->table);
    free(st->fired.items);
    free(st);
}

static int select_update(void *state, struct xpr__io *io, unsigned new_mask)
{
    struct select_state *st = state;
    size_t i = (size_t)(uintptr_t)io->poller_data;
    if (i != 0) {
        if (new_mask == 0) { /* quirk 5 */
            st->slots[i - 1] = st->slots[--st->count];
            st->slots[i - 1].io->poller_data = (void *)(uintptr_t)i;
            io->poller_data = NULL;
        }
        return 0; /* the mask is read from io when the sets are built */
    }
    if (new_mask == 0)
        return 0;
    if (st->count == st->capacity) {
        size_t cap = st->capacity ? st->capacity * 2 : 64;
        struct slot *slots = xpr__realloc(st->slots, cap * sizeof(*slots));
        if (slots == NULL)
            return XPR_ENOMEM;
        st->slots = slots;
        st->capacity = cap;
    }
    st->slots[st->count].io = io;
    st->slots[st->count].events = 0;
    io->poller_data = (void *)(uintptr_t)++st->count;
    return 0;
}

static size_t hash_socket(SOCKET s, size_t size)
{
    /* SOCKET values are multiples of 4 */
    return (size_t)((s >> 2) * 2654435761u) & (size - 1);
}

/* Sizes the sets, the table and the fired list for st->count sockets (+1
 * wake). */
static int reserve(struct select_state *st)
{
    size_t need = st->count + 1, i, size = 16;
    if (xpr__fired_reserve(&st->fired, st->count) != 0)
        return XPR_ENOMEM;
    if (need > st->set_capacity) {
        size_t cap = need * 2;
        for (i = 0; i < 3; i++) {
            void *p = xpr__realloc(st->sets[i], sizeof(struct counted_set) +
                                                    cap * sizeof(SOCKET));
            if (p == NULL)
                return XPR_ENOMEM;
            st->sets[i] = p;
        }
        st->set_capacity = cap;
    }
    while (size < need * 2)
        size *= 2;
    if (size != st->table_size) {
        size_t *table = xpr__realloc(st->table, size * sizeof(*table));
        if (table == NULL)
            return XPR_ENOMEM;
        st->table = table;
        st->table_size = size;
    }
    memset(st->table, 0, st->table_size * sizeof(*st->table));
    return 0;
}

static void table_put(struct select_state *st, SOCKET s, size_t index)
{
    size_t h = hash_socket(s, st->table_size);
    while (st->table[h] != 0)
        h = (h + 1) & (st->table_size - 1);
    st->table[h] = index + 1;
}

static struct slot *table_get(struct select_state *st, SOCKET s)
{
    size_t h = hash_socket(s, st->table_size);
    while (st->table[h] != 0) {
        struct slot *sl = &st->slots[st->table[h] - 1];
        if ((SOCKET)sl->io->sock == s)
            return sl;
        h = (h + 1) & (st->table_size - 1);
    }
    return NULL;
}

static void gather(struct select_state *st, struct counted_set *set,
                   unsigned event)
{
    u_int i;
    for (i = 0; i < set->fd_count; i++) {
        struct slot *sl = table_get(st, set->fd_array[i]);
        if (sl != NULL)
            sl->events |= event;
    }
}

static int select_wait(void *state, int timeout_ms,
                       const struct xpr__fired **fired)
{
    struct select_state *st = state;
    struct counted_set **sets = st->sets;
    struct timeval tv, *tvp = NULL;
    SOCKET wake = (SOCKET)st->waker.ends[0];
    size_t i;
    int rc;

    st->fired.count = 0;
    *fired = st->fired.items;
    rc = reserve(st);
    if (rc != 0)
        return rc;
    sets[0]->fd_count = sets[1]->fd_count = sets[2]->fd_count = 0;
    sets[0]->fd_array[sets[0]->fd_count++] = wake;
    for (i = 0; i < st->count; i++) {
        struct xpr__io *io = st->slots[i].io;
        SOCKET s = (SOCKET)io->sock;
        st->slots[i].events = 0;
        table_put(st, s, i);
        if (io->mask & XPR__IO_READ)
            sets[0]->fd_array[sets[0]->fd_count++] = s;
        if (io->mask & XPR__IO_WRITE) {
            sets[1]->fd_array[sets[1]->fd_count++] = s;
            sets[2]->fd_array[sets[2]->fd_count++] = s;
        }
    }
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    if (xpr__fault(XPR__FAULT_WAIT)) { /* quirk 7 */
        WSASetLastError(WSAENOBUFS);
        rc = SOCKET_ERROR;
    } else {
        rc = select(0, (fd_set *)sets[0],
                    sets[1]->fd_count ? (fd_set *)sets[1] : NULL,
                    sets[2]->fd_count ? (fd_set *)sets[2] : NULL, tvp);
    }
    if (rc == SOCKET_ERROR)
        return xpr__wsa_error();
    if (rc == 0)
        return 0;
    for (i = 0; i < sets[0]->fd_count; i++) {
        if (sets[0]->fd_array[i] == wake) {
            char buf[64];
            while (recv(wake, buf, sizeof(buf), 0) > 0) {
            }
        }
    }
    gather(st, sets[0], XPR__IO_READ);
    gather(st, sets[1], XPR__IO_WRITE);
    gather(st, sets[2], XPR__IO_ERROR);
    for (i = 0; i < st->count; i++) {
        if (st->slots[i].events != 0)
            xpr__fired_push(&st->fired, st->slots[i].io, st->slots[i].events);
    }
    *fired = st->fired.items;
    return (int)st->fired.count;
}

static void select_wake(void *state)
{
    struct select_state *st = state;
    xpr__waker_wake(&st->waker);
}

const struct xpr_poller_ops xpr__select_poller = {
    .init = select_init,
    .free = select_free,
    .update = select_update,
    .wait = select_wait,
    .wake = select_wake,
};
