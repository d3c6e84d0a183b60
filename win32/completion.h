/*
 * The Windows completion engine, shared by the completion back ends
 * (iocp now; overlapped events and completion routines next). It posts
 * WSARecv / WSASend / AcceptEx / ConnectEx, owns the per-handle and per-I/O
 * contexts, and implements struct xpr_backend_ops once. What differs
 * between the three back ends is only how finished operations are reaped:
 * that is struct xpr__harvester_ops below.
 *
 * Files: completion.c (loop, pools, dispatch, stats, the ops table),
 * completion_accept.c (listeners, AcceptEx), completion_io.c (connect,
 * reads, writes, close), iocp.c (the completion-port harvester),
 * overlapped.c (event objects), completion_routine.c (APCs).
 *
 * Ownership rule (docs/design.md, contract "kernel-owned memory"): every posted
 * operation holds one count in its owner's `pending`; an owner is freed only at
 * pending == 0, and a per-I/O context is released only after its completion was
 * reaped (from the harvester or from the inline list).
 */
#ifndef XPR_COMPLETION_H
#define XPR_COMPLETION_H

#include "xpr_winsock.h"

#include "backend.h"

enum xpr__op_kind {
    XPR__OP_ACCEPT,
    XPR__OP_CONNECT,
    XPR__OP_READ,
    XPR__OP_WRITE,
    XPR__OP_KINDS
};

/* Per-I/O context. The OVERLAPPED comes first: the harvester hands back the
 * OVERLAPPED pointer and CONTAINING_RECORD recovers the context. */
struct xpr__io_ctx {
    OVERLAPPED ov;
    struct xpr__io_ctx *next; /* pool, send queue, parked or inline list */
    void *owner;              /* struct xpr__cx_conn or xpr__cx_listener */
    unsigned char kind;       /* enum xpr__op_kind */
    unsigned char large;      /* buf holds read_buffer_size bytes */
    unsigned char hot;        /* zero-byte mode: a buffered read (hot conn) */
    uint64_t seq;             /* reads: the order they were posted in */
    DWORD bytes;              /* result, once complete */
    int os_error;             /* 0, or the WSA / Win32 code of a failure */
    SOCKET accept_sock;       /* AcceptEx: the socket being accepted */
    HANDLE wait; /* completion-routine: registered wait of accept / connect */
    struct xpr__link accept_link; /* accepts with data: cl->accepts_waiting */
    WSABUF wsabuf;
    size_t cap; /* bytes in buf */
    size_t len; /* writes: bytes filled */
    unsigned char buf[];
};

/* Per-handle context of a connection. */
struct xpr__cx_conn {
    struct xpr_conn base; /* first: the core sees an xpr_conn */
    unsigned pending;     /* operations the kernel (or inline list) owns */
    unsigned sends_in_flight;
    unsigned reads_posted;
    struct xpr__io_ctx *send_head, *send_tail; /* waiting, not posted */
    size_t queued_bytes;        /* waiting, not yet posted (xpr_conn_queued) */
    uint64_t read_seq_next;     /* next read posted */
    uint64_t read_seq_deliver;  /* next read delivered */
    struct xpr__io_ctx *parked; /* completed reads, sorted by seq */
    int dying_err;
    unsigned char skip_on_success; /* no packet for inline completions */
    unsigned char connected;
    unsigned char dying; /* socket closed: waiting for pending == 0 */
    unsigned char write_shut;
    unsigned char kicked;   /* on the engine's kick list */
    unsigned char read_hot; /* zero-byte mode: data came; buffered reads */
    struct xpr__cx_conn *next_kick;
    /* Workers: WSARecv / WSASend waiting to be posted outside the run
     * lock, in order (completion.c trap 10) */
    struct xpr__io_ctx *outbox_head, *outbox_tail;
    struct xpr__io_ctx *outbox_taken; /* being posted by a worker */
    struct xpr__cx_conn *next_post;
    unsigned char post_queued;    /* on cx's post queue */
    unsigned char posting;        /* a worker is posting its outbox now */
    unsigned char close_deferred; /* closesocket once posting ends */
    unsigned char close_reset;    /* ... abortively */
};

struct xpr__cx_listener {
    struct xpr_listener base;
    struct xpr__cx_loop *cx;
    unsigned pending;    /* AcceptEx posted and counted in stats */
    unsigned held;       /* contexts whose packet is still to come */
    unsigned target;     /* AcceptEx kept posted */
    HANDLE accept_event; /* FD_ACCEPT: the posted accepts ran out */
    HANDLE accept_wait;  /* RegisterWaitForSingleObject on it */
    int family;
    unsigned char skip_on_success;
    unsigned char closed;
    unsigned char started;   /* cfg read (first round after xpr_listen) */
    unsigned char with_data; /* cfg.accepts_with_data */
    unsigned char paused;    /* no AcceptEx posted until the core resumes */
    struct xpr__list accepts_waiting; /* posted AcceptEx with a buffer */
    struct xpr_timer sweep;           /* drops silent ones: SO_CONNECT_TIME */
    struct xpr__link link; /* cx->listeners, then cx->closed_listeners */
};

/*
 * How completions are reaped: one table per back end.
 *   init / free       the harvester's state in cx->harvester_state;
 *   associate         a new socket joins (iocp: CreateIoCompletionPort);
 *   skip_on_success   non-zero when an operation that completes at once
 *                     queues no notification once the engine asked for
 *                     FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (iocp);
 *   wait_and_reap     waits up to timeout_ms (-1 = no limit) and calls
 *                     xpr__completion_done once per finished operation;
 *   wake              any thread: makes a blocked wait_and_reap return.
 * Optional hooks (NULL in iocp), for harvesters without a port:
 *   arm / io_fini     a context is about to be posted (kind and owner set)
 *                     / is given back to the pool (overlapped: lends it an
 *                     event for OVERLAPPED.hEvent, and takes it back);
 *   posted            an operation was accepted by the system (done_now: it
 *                     completed at once); returns non-zero when no
 *                     notification will be reaped for it, so the engine
 *                     handles it from its inline list (replaces the
 *                     skip-on-success test for this harvester);
 *   routine           passed to WSARecv / WSASend as the completion routine.
 */
struct xpr__harvester_ops {
    const char *name;
    int (*init)(struct xpr__cx_loop *cx);
    void (*free)(struct xpr__cx_loop *cx);
    int (*associate)(struct xpr__cx_loop *cx, SOCKET s);
    int (*wait_and_reap)(struct xpr__cx_loop *cx, int timeout_ms);
    void (*wake)(struct xpr__cx_loop *cx);
    int skip_on_success;
    int (*arm)(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
    void (*io_fini)(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
    int (*posted)(struct xpr__cx_loop *cx, struct xpr__io_ctx *io,
                  int done_now);
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
};

/* Which harvester a registry row uses (its variant). */
enum xpr__harvester_kind {
    XPR__HARVEST_IOCP = 0,
    XPR__HARVEST_OVERLAPPED = 1,
    XPR__HARVEST_ROUTINE = 2
};

extern const struct xpr__harvester_ops xpr__iocp_harvester;
extern const struct xpr__harvester_ops xpr__overlapped_harvester;
extern const struct xpr__harvester_ops xpr__routine_harvester;
extern const struct xpr_backend_ops xpr__completion_ops;

struct xpr__cx_loop {
    xpr_loop *loop;
    const struct xpr__harvester_ops *harvester;
    void *harvester_state;
    enum xpr_read_mode read_mode;
    unsigned preposted_reads;
    unsigned max_sends;
    unsigned pool_free_max;
    size_t buf_size;
    struct xpr__io_ctx *pool_small, *pool_large;
    unsigned pool_small_count, pool_large_count;
    struct xpr__io_ctx *inline_head, *inline_tail;
    unsigned inline_since_poll;   /* inline completions since the last poll */
    unsigned poll_interval;       /* ... allowed before the next (trap 8) */
    unsigned hot_reads;           /* zero-byte mode: buffered reads posted */
    signed char base_provider[2]; /* by family (IPv4, IPv6); -1 unknown */
    struct xpr__cx_conn *kick_head, *kick_tail;
    struct xpr__list listeners, closed_listeners;
    LPFN_ACCEPTEX accept_ex;
    LPFN_CONNECTEX connect_ex;
    LPFN_GETACCEPTEXSOCKADDRS get_sockaddrs;
    /* stats */
    uint64_t pending[XPR__OP_KINDS];
    uint64_t inline_completions, dequeue_calls, dequeued_completions;
    uint64_t pinned_bytes;
    volatile LONG accept_signalled; /* FD_ACCEPT since the last look */
    struct xpr__cx_conn *post_head, *post_tail; /* conns with an outbox */
    unsigned blocked_waiters; /* workers in a blocking harvester wait */
};

/* Appends io to the list that head and tail hold (inline list, outbox,
 * send queue): io->next is the link. */
static inline void xpr__io_append(struct xpr__io_ctx **head,
                                  struct xpr__io_ctx **tail,
                                  struct xpr__io_ctx *io)
{
    io->next = NULL;
    if (*tail != NULL)
        (*tail)->next = io;
    else
        *head = io;
    *tail = io;
}

/* Called by harvesters: one operation finished; failed non-zero when it
 * failed (the engine then asks WSAGetOverlappedResult for the WSA code). */
void xpr__completion_done(struct xpr__cx_loop *cx, OVERLAPPED *ov, DWORD bytes,
                          int failed);

/* ---- engine internals shared by the completion_*.c files ---- */

struct xpr__io_ctx *xpr__cx_io_get(struct xpr__cx_loop *cx, int large);
/* Right before a context is posted: the harvester's arm hook; 0 or an
 * error (the context is then not posted; the caller releases it). */
int xpr__cx_io_arm(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
void xpr__cx_io_put(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
/* Accounts a posted operation; its outcome from WSARecv & co: 0 = queued or
 * done, else the error to report (the context is released). */
int xpr__cx_posted(struct xpr__cx_loop *cx, struct xpr__io_ctx *io,
                   unsigned *owner_pending, int skip, int ok);
/* Workers (trap 10): non-zero when a conn's WSARecv / WSASend go to its
 * outbox, posted later outside the run lock, instead of at once. */
int xpr__cx_defers_posts(const struct xpr__cx_loop *cx);
/* Puts a read or write in its conn's outbox, counted as posted. */
void xpr__cx_outbox_add(struct xpr__cx_loop *cx, struct xpr__cx_conn *cc,
                        struct xpr__io_ctx *io);
/* Posts every outbox (the run lock let go meanwhile). */
void xpr__cx_flush_posts(struct xpr__cx_loop *cx);
/* Joins a socket to the harvester; sets skip-on-success when it is safe. */
int xpr__cx_associate(struct xpr__cx_loop *cx, SOCKET s, int family,
                      unsigned char *skip);
int xpr__cx_lookup_extensions(struct xpr__cx_loop *cx, SOCKET s);
void xpr__cx_kick(struct xpr__cx_loop *cx, struct xpr__cx_conn *cc);

/* completion_io.c */
/* The socket part of a close that waited for a posting worker. */
void xpr__cx_close_deferred(struct xpr__cx_conn *cc);
void xpr__cx_conn_completed(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
void xpr__cx_conn_kicked(struct xpr__cx_conn *cc);
struct xpr__cx_conn *xpr__cx_conn_new(void);
/* first: NULL, or an accept's context holding the conn's first bytes. */
void xpr__cx_conn_start(struct xpr__cx_conn *cc, struct xpr__io_ctx *first);
int xpr__cx_connect(xpr_loop *loop, const struct xpr__addr *addr,
                    const struct xpr_conn_callbacks *cb, void *arg,
                    xpr_conn **out);
int xpr__cx_write(xpr_conn *c, const void *p, size_t n);
size_t xpr__cx_queued(const xpr_conn *c);
int xpr__cx_set_reading(xpr_conn *c, int on);
int xpr__cx_shutdown(xpr_conn *c);
int xpr__cx_close(xpr_conn *c);
void xpr__cx_close_now(xpr_conn *c, int err, int reset);
void xpr__cx_conn_free(xpr_conn *c);

/* completion_accept.c */
int xpr__cx_listen(xpr_loop *loop, const struct xpr__addr *addr, int backlog,
                   xpr_listener **out);
void xpr__cx_listener_close(xpr_listener *l);
int xpr__cx_listener_set_accepting(xpr_listener *l, int on);
void xpr__cx_accept_completed(struct xpr__cx_loop *cx, struct xpr__io_ctx *io);
/* Posts what each listener lacks. Non-zero when a listener that is not
 * paused is left with no AcceptEx posted: the round must not wait long. */
int xpr__cx_listeners_top_up(struct xpr__cx_loop *cx);
void xpr__cx_listeners_reap(struct xpr__cx_loop *cx);
/* An accept context is reaped: leaves its listener's waiting list. */
void xpr__cx_accept_unlink(struct xpr__io_ctx *io);

static inline struct xpr__cx_loop *xpr__cx_of(xpr_loop *loop)
{
    return (struct xpr__cx_loop *)loop->backend;
}

/* Manual-reset events lent to one posted operation at a time and kept for
 * reuse, at most max_free of them (overlapped; completion-routine's
 * AcceptEx and ConnectEx). */
struct xpr__event_pool {
    HANDLE *spare;
    unsigned count, capacity;
};
/* An unsignalled event, reused or new: 0 or the CreateEvent error. */
int xpr__event_pool_get(struct xpr__event_pool *pool, HANDLE *out);
/* Resets ev and keeps it, or closes it when max_free are kept already. */
void xpr__event_pool_put(struct xpr__event_pool *pool, HANDLE ev,
                         unsigned max_free);
void xpr__event_pool_free(struct xpr__event_pool *pool);

#endif
