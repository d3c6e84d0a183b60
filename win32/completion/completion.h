/*
 * The Windows completion engine, shared by the completion back ends (iocp,
 * overlapped, completion-routine): a transport of the core's connection
 * state machine (backend.h) that posts WSARecv / WSASend / AcceptEx /
 * ConnectEx and owns the posted operations (struct xpr__op). The back ends
 * differ only in how finished operations are reaped: struct
 * xpr__harvester_ops. docs/design.md, "The completion engine and its
 * harvesters", says which file does what.
 *
 * One completed queue (docs/design.md): every outcome is appended to it
 * (xpr__op_complete); the run cycle handles the queue as it stands, in
 * order, one switch on the op's kind (engine.c, handle). What handling
 * appends waits for the next round, which then does not block. No handler
 * runs from inside the call that posted its op.
 *
 * Ownership (docs/design.md, "Kernel-owned memory"): a posted op holds one
 * count in its owner's `pending` until it is handled; a conn is reported
 * closed (a listener freed) only at pending == 0.
 *
 * Workers (iocp only, cfg.workers > 1). N threads run one loop and share
 * one port; each blocks in its own GetQueuedCompletionStatusEx without the
 * loop's run lock and holds the lock for everything else, so callbacks
 * never overlap. A conn's WSARecv and WSASend wait in its outbox, counted
 * as pending; the worker that ends a round posts every outbox after letting
 * go of the lock. One worker at a time posts a conn's outbox, in order (its
 * `posting` flag), so the kernel queues its reads and sends in the order
 * they were asked for; its socket is not closed meanwhile (the number could
 * go to a new socket). After a call the poster touches the op again only
 * when no notification will come (done at once with skip-on-success, or
 * failed at once), and queues it once it has the lock back. Reads reaped by
 * two workers are put back in posting order by sequence numbers (conn.c,
 * parked reads); Wine needs more (engine.c, "Wine"). Each worker passes a
 * wake packet on as it leaves, so the run ends for all (portable/loop.c).
 * With one worker the same protocol runs without a lock.
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
    XPR__OP_KICK,     /* not posted: a conn's reading was turned back on */
    XPR__OP_POLL,     /* IOCTL_AFD_POLL of a watcher (afd_poll.c) */
    XPR__OP_UDP_RECV, /* WSARecvFrom of a UDP handle (udp.c) */
    XPR__OP_UDP_SEND, /* WSASendTo */
    XPR__OP_UDP_POST, /* not posted: post a UDP handle's I/O from the loop */
    XPR__OP_KINDS
};

/* Kinds whose completion a completion routine reports (routine.c). */
static inline int xpr__op_has_routine(unsigned kind)
{
    return kind == XPR__OP_READ || kind == XPR__OP_WRITE ||
           kind == XPR__OP_UDP_RECV || kind == XPR__OP_UDP_SEND;
}

static inline int xpr__op_is_udp(unsigned kind)
{
    return kind >= XPR__OP_UDP_RECV && kind <= XPR__OP_UDP_POST;
}

/* A posted operation. The OVERLAPPED comes first: a harvester hands back
 * the OVERLAPPED pointer and CONTAINING_RECORD recovers the op. */
struct xpr__op {
    OVERLAPPED ov;
    struct xpr__op *next; /* pool, outbox, completed queue or parked list */
    void *owner;          /* a conn, listener, UDP handle or watcher */
    unsigned char kind;   /* enum xpr__op_kind */
    unsigned char large;  /* buf holds read_buffer_size bytes */
    unsigned char warm;   /* a buffered read of zero-byte mode (conn.c) */
    DWORD queued_ms;      /* reads: GetTickCount when queued */
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
    unsigned pending;     /* ops posted, queued or completed, not handled */
    unsigned sends_in_flight;
    unsigned reads_posted;
    uint64_t read_seq_next;    /* next read posted */
    uint64_t read_seq_deliver; /* next read delivered */
    struct xpr__op *parked;    /* completed reads, sorted by seq */
    struct xpr__op *outbox_head, *outbox_tail; /* WSARecv / WSASend to post */
    struct xpr__completion_conn *next_post;    /* engine's post queue */
    int post_error; /* a WSARecv / WSASend failed at once: no more posts */
    unsigned char skip_on_success; /* no notification for ops done at once */
    unsigned char write_shut;      /* FIN sent (conn_shutdown) */
    unsigned char kicked;          /* a KICK op is queued */
    unsigned char post_queued;     /* on the engine's post queue */
    unsigned char posting;         /* a worker posts its outbox now */
    unsigned char close_deferred;  /* closesocket once posting ends */
    unsigned char close_reset;     /* ... abortively */
    unsigned char read_warm; /* zero-byte mode: the next read has a buffer */
};

struct xpr__completion_loop;

/* A watcher of an application socket (afd_poll.c): at most one
 * IOCTL_AFD_POLL of it in flight. */
struct xpr__afd_watch {
    struct xpr_watch base;  /* first: the core sees an xpr_watch */
    SOCKET base_sock;       /* the socket's base handle, polled */
    struct xpr__op *op;     /* the poll in flight, or NULL */
    unsigned op_events;     /* the AFD_POLL_* events op asked for */
    unsigned pending;       /* op is counted (xpr__op_posted) */
    unsigned char firing;   /* its callback runs: the handler posts next */
    unsigned char released; /* xpr_watch_free: freed once op is back */
};

/*
 * How completions are reaped: one table per harvester, exported by its
 * file. Every hook runs on the loop's thread (with workers, under the run
 * lock) except wait_and_reap's wait and wake.
 *   init / free    the harvester's state in engine->harvester_state
 *                  (state_size bytes, zeroed; the engine frees them);
 *   associate      NULL, or a new socket joins (iocp: its port);
 *   wait_and_reap  waits up to timeout_ms (-1 = no limit) and appends each
 *                  finished op to the completed queue (xpr__op_reaped);
 *   wake           any thread: makes a blocked wait_and_reap return;
 *   port           notifications are packets on a port (post.c, "Done at
 *                  once"); workers: several threads may run the loop;
 *   arm            NULL, or each op gets an event object right before it is
 *                  posted (0 or an error: the op is then not posted), which
 *                  track_pending watches while it is pending and disarm
 *                  takes back when the op returns to the pool;
 *   routine        non-NULL: passed to WSARecv / WSASend, which then report
 *                  every outcome through it, done at once or not.
 */
struct xpr__harvester_ops {
    const char *name;
    size_t state_size;
    int (*init)(struct xpr__completion_loop *engine);
    void (*free)(struct xpr__completion_loop *engine);
    int (*associate)(struct xpr__completion_loop *engine, SOCKET s);
    int (*wait_and_reap)(struct xpr__completion_loop *engine, int timeout_ms);
    void (*wake)(struct xpr__completion_loop *engine);
    unsigned char port;
    unsigned char workers;
    int (*arm)(struct xpr__completion_loop *engine, struct xpr__op *op);
    void (*track_pending)(struct xpr__completion_loop *engine,
                          struct xpr__op *op);
    void (*disarm)(struct xpr__completion_loop *engine, struct xpr__op *op);
    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
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
    unsigned char read_batches;        /* Wine with workers (engine.c) */
    unsigned char confirm_empty_reads; /* Wine (engine.c) */
    unsigned warm_reads; /* buffered reads of zero-byte mode posted */
    unsigned pool_free_max;
    size_t buf_size;
    struct xpr__op_pool {
        struct xpr__op *head;
        unsigned count;
    } pools[2]; /* small ops, and large ones (buf_size bytes) */
    struct xpr__op *completed_head, *completed_tail; /* the one queue */
    unsigned looks_skipped; /* rounds in a row that did not look (engine.c) */
    unsigned char last_look_empty; /* the last look reaped nothing */
    struct xpr__completion_conn *post_head, *post_tail; /* outboxes */
    signed char base_provider[2]; /* by family (IPv4, IPv6); -1 unknown */
    struct xpr__list listeners, closed_listeners;
    LPFN_ACCEPTEX accept_ex;
    LPFN_CONNECTEX connect_ex;
    /* stats */
    uint64_t pending[XPR__OP_KINDS];
    uint64_t inline_completions, dequeue_calls, dequeued_completions;
    uint64_t pinned_bytes;
    volatile LONG accept_signalled; /* FD_ACCEPT since the last look */
    HANDLE afd; /* the AFD device, opened by the first watcher (afd_poll.c) */
};

/* Appends op to the list that head and tail hold: op->next is the link. */
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

/* Appends op to the completed queue with its outcome: os_error 0, or the
 * WSA / Win32 code of its failure. */
void xpr__op_complete(struct xpr__completion_loop *engine, struct xpr__op *op,
                      DWORD bytes, int os_error);
/* For harvesters: a reaped notification; failed non-zero when the op
 * failed (WSAGetOverlappedResult then gives its WSA code). */
void xpr__op_reaped(struct xpr__completion_loop *engine, OVERLAPPED *ov,
                    DWORD bytes, int failed);

/* ---- engine internals shared by the files of win32/completion ---- */

/* The loop an op belongs to, whatever its owner. */
xpr_loop *xpr__op_loop(const struct xpr__op *op);

/* An op of kind for owner: from a pool (small, or large: buf_size bytes),
 * or of its own size (cap bytes; UDP ops); xpr__op_put pools or frees it. */
struct xpr__op *xpr__op_get(struct xpr__completion_loop *engine, int large,
                            unsigned kind, void *owner);
struct xpr__op *xpr__op_new(size_t cap, unsigned kind, void *owner);
void xpr__op_put(struct xpr__completion_loop *engine, struct xpr__op *op);
/* Counts op as pending on its owner and in the stats (sign 1), or takes
 * that back (sign -1). */
void xpr__op_count(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int sign);
/* Counts an op that is not posted (KICK, UDP_POST, an adopted conn's
 * CONNECT) and queues it as completed. */
void xpr__op_queue(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending);
/* After op was posted (err: 0, WSA_IO_PENDING or its failure): 1 when no
 * notification will come and the engine queues its outcome itself
 * (post.c, "Done at once", "Failed at once"); a pending op is tracked. */
int xpr__op_started(struct xpr__completion_loop *engine, struct xpr__op *op,
                    int skip, int err);
static inline int xpr__harvester_associate(struct xpr__completion_loop *engine,
                                           SOCKET s)
{
    return engine->harvester->associate
               ? engine->harvester->associate(engine, s)
               : 0;
}
/* Right before an op is posted: lends it an event if the harvester wants
 * one. 0 or an error (the op is then not posted; the caller releases it). */
int xpr__op_arm(struct xpr__completion_loop *engine, struct xpr__op *op);
/* AcceptEx / ConnectEx / IOCTL_AFD_POLL was called (err: 0, WSA_IO_PENDING
 * or its failure): accounts the op on *owner_pending, or on failure at once
 * returns the error and releases the op. */
int xpr__op_posted(struct xpr__completion_loop *engine, struct xpr__op *op,
                   unsigned *owner_pending, int skip, int err);
/* Queues a WSARecv or WSASend (op->bufs) in the conn's outbox, counted as
 * pending; the round posts it. 0, or an error of arm (op released). */
int xpr__op_send_later(struct xpr__completion_loop *engine,
                       struct xpr__completion_conn *conn, struct xpr__op *op);
/* Whether a read with a buffer that completed with 0 bytes and no error
 * is the end of the stream (on Windows always; engine.c, "Wine"). */
int xpr__completion_empty_read_ends(struct xpr__completion_loop *engine,
                                    SOCKET s);
/* Posts every outbox queued so far (a worker leaves nothing queued when
 * it goes on to wait). */
void xpr__completion_post_outboxes(struct xpr__completion_loop *engine);
/* Joins a socket to the harvester; sets skip-on-success when it is safe. */
int xpr__completion_associate(struct xpr__completion_loop *engine, SOCKET s,
                              int family, unsigned char *skip);
int xpr__completion_lookup_extensions(struct xpr__completion_loop *engine,
                                      SOCKET s);

/* conn.c: the transport operations (backend.h) */
int xpr__completion_conn_connect(xpr_conn *c, const struct xpr__addr *addr);
int xpr__completion_conn_adopt(xpr_conn *c);
int xpr__completion_conn_set_reading(xpr_conn *c, int on);
long xpr__completion_conn_send(xpr_conn *c, const void *const *bases,
                               const size_t *lens, size_t runs);
int xpr__completion_conn_shutdown(xpr_conn *c);
void xpr__completion_conn_close(xpr_conn *c, int reset);
/* conn.c: the socket part of a close, once no worker posts on it. */
void xpr__completion_close_deferred(struct xpr__completion_conn *conn);
/* conn.c: the handler of the completed queue's conn kinds (takes the op
 * and its count in conn->pending); reports the conn closed once its socket
 * is closed and nothing of it is pending. */
void xpr__completion_conn_done(struct xpr__completion_conn *conn,
                               struct xpr__op *op);
/* A conn the core made for an accepted socket, joined to the harvester:
 * announces it and starts reading. first: NULL, or the accept's op holding
 * the conn's first bytes. */
void xpr__completion_conn_accepted(xpr_listener *l,
                                   struct xpr__completion_conn *conn,
                                   struct xpr__op *first);

/* udp.c: the UDP transport (portable/udp.h) and the handler of the UDP
 * kinds (takes the op and its count on the handle). */
extern const struct xpr__udp_ops xpr__completion_udp_ops;
void xpr__completion_udp_done(struct xpr__completion_loop *engine,
                              struct xpr__op *op);

/* listener.c */
int xpr__completion_listen(xpr_loop *loop, const struct xpr__addr *addr,
                           int backlog, xpr_listener **out);
void xpr__completion_listener_close(xpr_listener *l);
int xpr__completion_listener_set_accepting(xpr_listener *l, int on);
/* The handler of the completed queue's ACCEPT kind. */
void xpr__completion_accept_done(struct xpr__completion_loop *engine,
                                 struct xpr__op *op);
/* Posts what each listener lacks. Non-zero when a listener that is not
 * paused is left with no AcceptEx posted: the round must not wait long. */
int xpr__completion_listeners_top_up(struct xpr__completion_loop *engine);
void xpr__completion_listeners_reap(struct xpr__completion_loop *engine);

/* afd_poll.c: the watcher hooks (backend.h) and the handler of the
 * completed queue's POLL kind. */
int xpr__afd_watch_set(xpr_watch *w, unsigned events);
void xpr__afd_watch_release(xpr_watch *w);
void xpr__afd_poll_done(struct xpr__completion_loop *engine,
                        struct xpr__op *op);

static inline struct xpr__completion_loop *xpr__completion_of(xpr_loop *loop)
{
    return (struct xpr__completion_loop *)loop->backend;
}

/* overlapped.c: manual-reset events lent to one posted op at a time and
 * kept for reuse, at most max_free of them (overlapped; completion-routine's
 * AcceptEx and ConnectEx). */
struct xpr__event_pool {
    HANDLE *spare;
    unsigned count, capacity;
};
/* An unsignalled event, reused or new: 0 or the CreateEvent error. */
int xpr__event_pool_get(struct xpr__event_pool *pool, HANDLE *out);
/* Takes op's event back, if it holds one (returns 1 then): resets it and
 * keeps it, or closes it when max_free are kept already. */
int xpr__event_pool_put(struct xpr__event_pool *pool, struct xpr__op *op,
                        unsigned max_free);
void xpr__event_pool_free(struct xpr__event_pool *pool);

#endif
