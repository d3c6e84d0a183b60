/*
 * The Windows completion engine, shared by the completion back ends (iocp,
 * overlapped, completion-routine): a transport of the core's connection
 * state machine (backend.h). It posts WSARecv / WSASend / AcceptEx /
 * ConnectEx and owns the posted operations (struct xpr__op). What differs
 * between the three back ends is only how finished operations are reaped:
 * that is struct xpr__harvester_ops below.
 *
 * Files: engine.c (loop, pools, dispatch, stats, the ops table),
 * listener.c (listeners, AcceptEx), conn.c (connect,
 * reads, sends, close), iocp.c (the completion-port harvester),
 * overlapped.c (event objects), routine.c (APCs).
 *
 * Ownership rule (docs/design.md, contract "kernel-owned memory"): every
 * posted operation holds one count in its owner's `pending`; a conn is
 * reported closed (and a listener freed) only at pending == 0, an op is
 * released only after its completion was reaped (from the harvester or
 * the inline list), and the core's queue memory a send points at lives
 * until its completion is reported or the conn is reported closed.
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

/* A posted operation. The OVERLAPPED comes first: the harvester hands back
 * the OVERLAPPED pointer and CONTAINING_RECORD recovers the op. */
struct xpr__op {
    OVERLAPPED ov;
    struct xpr__op *next; /* pool, outbox, parked or inline list */
    void *owner;          /* struct xpr__completion_conn or _listener */
    unsigned char kind;   /* enum xpr__op_kind */
    unsigned char large;  /* buf holds read_buffer_size bytes */
    unsigned char hot;    /* zero-byte mode: a buffered read (hot conn) */
    uint64_t seq;         /* reads: the order they were posted in */
    DWORD bytes;          /* result, once complete */
    int os_error;         /* 0, or the WSA / Win32 code of a failure */
    SOCKET accept_sock;   /* AcceptEx: the socket being accepted */
    HANDLE wait; /* completion-routine: registered wait of accept / connect */
    struct xpr__link accept_link; /* accepts with data: accepts_waiting */
    WSABUF *bufs; /* WSARecv / WSASend: the buffers (reads: &wsabuf) */
    DWORD nbufs;
    WSABUF wsabuf;
    size_t cap;          /* bytes in buf */
    size_t len;          /* writes: bytes posted (runs of the core's queue) */
    unsigned char buf[]; /* reads: the data; AcceptEx: the addresses;
                            writes: the WSABUF array (XPR__SEND_RUNS) */
};

/* A conn of the completion engine: the core's part, then the transport's. */
struct xpr__completion_conn {
    struct xpr_conn base; /* first: the core sees an xpr_conn */
    unsigned pending;     /* operations the kernel (or inline list) owns */
    unsigned sends_in_flight;
    unsigned reads_posted;
    uint64_t read_seq_next;        /* next read posted */
    uint64_t read_seq_deliver;     /* next read delivered */
    struct xpr__op *parked;        /* completed reads, sorted by seq */
    unsigned char skip_on_success; /* no packet for inline completions */
    unsigned char write_shut;      /* FIN sent (conn_shutdown) */
    unsigned char kicked;          /* on the engine's kick list */
    unsigned char read_hot; /* zero-byte mode: data came; buffered reads */
    struct xpr__completion_conn *next_kick;
    /* Workers: WSARecv / WSASend waiting to be posted outside the run
     * lock, in order (engine.c trap 10) */
    struct xpr__op *outbox_head, *outbox_tail;
    struct xpr__op *outbox_taken; /* being posted by a worker */
    struct xpr__completion_conn *next_post;
    unsigned char post_queued;    /* on the engine's post queue */
    unsigned char posting;        /* a worker is posting its outbox now */
    unsigned char close_deferred; /* closesocket once posting ends */
    unsigned char close_reset;    /* ... abortively */
};

struct xpr__completion_listener {
    struct xpr_listener base;
    struct xpr__completion_loop *engine;
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
    struct xpr__link
        link; /* engine->listeners, then engine->closed_listeners */
};

/*
 * How completions are reaped: one table per back end.
 *   init / free       the harvester's state in engine->harvester_state;
 *   associate         a new socket joins (iocp: CreateIoCompletionPort);
 *   skip_on_success   non-zero when an operation that completes at once
 *                     queues no notification once the engine asked for
 *                     FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (iocp);
 *   wait_and_reap     waits up to timeout_ms (-1 = no limit) and calls
 *                     xpr__completion_done once per finished operation;
 *   wake              any thread: makes a blocked wait_and_reap return.
 * Optional hooks (NULL in iocp), for harvesters without a port:
 *   arm / op_fini     a context is about to be posted (kind and owner set)
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
    int (*init)(struct xpr__completion_loop *engine);
    void (*free)(struct xpr__completion_loop *engine);
    int (*associate)(struct xpr__completion_loop *engine, SOCKET s);
    int (*wait_and_reap)(struct xpr__completion_loop *engine, int timeout_ms);
    void (*wake)(struct xpr__completion_loop *engine);
    int skip_on_success;
    int (*arm)(struct xpr__completion_loop *engine, struct xpr__op *op);
    void (*op_fini)(struct xpr__completion_loop *engine, struct xpr__op *op);
    int (*posted)(struct xpr__completion_loop *engine, struct xpr__op *op,
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

struct xpr__completion_loop {
    xpr_loop *loop;
    const struct xpr__harvester_ops *harvester;
    void *harvester_state;
    enum xpr_read_mode read_mode;
    unsigned preposted_reads;
    unsigned max_sends;
    unsigned pool_free_max;
    size_t buf_size;
    struct xpr__op *pool_small, *pool_large;
    unsigned pool_small_count, pool_large_count;
    /* Operations done at once (trap 1), sends first: a send done at once
     * has its bytes at the peer already, so its report goes before any
     * other completion (xpr_conn_queued counts it until then). */
    struct xpr__op *inline_head, *inline_tail;
    struct xpr__op *inline_sends_end; /* the last send in front, or NULL */
    unsigned hot_reads;           /* zero-byte mode: buffered reads posted */
    signed char base_provider[2]; /* by family (IPv4, IPv6); -1 unknown */
    struct xpr__completion_conn *kick_head, *kick_tail;
    struct xpr__list listeners, closed_listeners;
    LPFN_ACCEPTEX accept_ex;
    LPFN_CONNECTEX connect_ex;
    LPFN_GETACCEPTEXSOCKADDRS get_sockaddrs;
    /* stats */
    uint64_t pending[XPR__OP_KINDS];
    uint64_t inline_completions, dequeue_calls, dequeued_completions;
    uint64_t pinned_bytes;
    volatile LONG accept_signalled; /* FD_ACCEPT since the last look */
    struct xpr__completion_conn *post_head,
        *post_tail;           /* conns with an outbox */
    unsigned blocked_waiters; /* workers in a blocking harvester wait */
};

/* Appends op to the list that head and tail hold (inline list, outbox,
 * send queue): op->next is the link. */
static inline void xpr__op_append(struct xpr__op **head, struct xpr__op **tail,
                                  struct xpr__op *op)
{
    op->next = NULL;
    if (*tail != NULL)
        (*tail)->next = op;
    else
        *head = op;
    *tail = op;
}

/* Called by harvesters: one operation finished; failed non-zero when it
 * failed (the engine then asks WSAGetOverlappedResult for the WSA code). */
void xpr__completion_done(struct xpr__completion_loop *engine, OVERLAPPED *ov,
                          DWORD bytes, int failed);

/* ---- engine internals shared by the files of win32/completion ---- */

struct xpr__op *xpr__op_get(struct xpr__completion_loop *engine, int large);
/* Right before a context is posted: the harvester's arm hook; 0 or an
 * error (the context is then not posted; the caller releases it). */
int xpr__op_arm(struct xpr__completion_loop *engine, struct xpr__op *op);
void xpr__op_put(struct xpr__completion_loop *engine, struct xpr__op *op);
/* Accounts a posted operation; its outcome from WSARecv & co: 0 = queued or
 * done, else the error to report (the context is released). */
int xpr__op_posted(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int skip, int ok);
/* Posts a conn's WSARecv or WSASend (op->bufs), or with workers puts it in
 * the conn's outbox, counted as posted. 0, or the error of a failure at
 * once (the op is released). */
int xpr__op_post_transfer(struct xpr__completion_loop *engine,
                          struct xpr__completion_conn *conn,
                          struct xpr__op *op);
/* Posts every outbox (the run lock let go meanwhile). */
void xpr__completion_flush_posts(struct xpr__completion_loop *engine);
/* Joins a socket to the harvester; sets skip-on-success when it is safe. */
int xpr__completion_associate(struct xpr__completion_loop *engine, SOCKET s,
                              int family, unsigned char *skip);
int xpr__completion_lookup_extensions(struct xpr__completion_loop *engine,
                                      SOCKET s);
void xpr__completion_kick(struct xpr__completion_loop *engine,
                          struct xpr__completion_conn *conn);

/* conn.c: the transport operations (backend.h) */
int xpr__completion_conn_connect(xpr_conn *c, const struct xpr__addr *addr);
int xpr__completion_conn_set_reading(xpr_conn *c, int on);
long xpr__completion_conn_send(xpr_conn *c, const void *const *bases,
                               const size_t *lens, size_t runs);
int xpr__completion_conn_shutdown(xpr_conn *c);
void xpr__completion_conn_close(xpr_conn *c, int reset);
/* The socket part of a close that waited for a posting worker. */
void xpr__completion_close_deferred(struct xpr__completion_conn *conn);
void xpr__completion_conn_completed(struct xpr__completion_loop *engine,
                                    struct xpr__op *op);
void xpr__completion_conn_kicked(struct xpr__completion_conn *conn);
/* A conn the core made for an accepted socket, joined to the harvester:
 * announces it and starts reading. first: NULL, or the accept's op holding
 * the conn's first bytes. */
void xpr__completion_conn_accepted(xpr_listener *l,
                                   struct xpr__completion_conn *conn,
                                   struct xpr__op *first);

/* listener.c */
int xpr__completion_listen(xpr_loop *loop, const struct xpr__addr *addr,
                           int backlog, xpr_listener **out);
void xpr__completion_listener_close(xpr_listener *l);
int xpr__completion_listener_set_accepting(xpr_listener *l, int on);
void xpr__completion_accept_completed(struct xpr__completion_loop *engine,
                                      struct xpr__op *op);
/* Posts what each listener lacks. Non-zero when a listener that is not
 * paused is left with no AcceptEx posted: the round must not wait long. */
int xpr__completion_listeners_top_up(struct xpr__completion_loop *engine);
void xpr__completion_listeners_reap(struct xpr__completion_loop *engine);
/* An accept context is reaped: leaves its listener's waiting list. */
void xpr__completion_accept_unlink(struct xpr__op *op);

static inline struct xpr__completion_loop *xpr__completion_of(xpr_loop *loop)
{
    return (struct xpr__completion_loop *)loop->backend;
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
