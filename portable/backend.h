/*
 * The contract between the portable core and a back end (docs/design.md,
 * "The connection state machine"): the core owns each conn's state and
 * write queue; a transport owns sockets, moves bytes and reports through
 * the xpr__conn_* entry points below, never from inside a conn_* operation
 * except xpr__conn_closed from conn_close.
 */
#ifndef XPR_BACKEND_H
#define XPR_BACKEND_H

#include "xpr.h"
#include "xpr_sys.h" /* from posix/ or win32/: xpr_socket_t, mutex, clock */
#include "address.h"
#include "list.h"
#include "timer_heap.h"
#include "write_queue.h"

struct xpr_poller_ops;
struct xpr__udp_ops;

/* ---- objects: the parts the core owns; back ends embed these first ---- */

struct xpr_timer {
    xpr_loop *loop;
    xpr_timer_cb cb;
    void *arg;
    uint64_t repeat_ms;
    struct xpr__heap_node node; /* in loop->timer_heap (core timers) */
    void *backend_timer;        /* back ends with their own timers */
    struct xpr__link link;      /* loop->timers (public timers only) */
    unsigned char active;
    unsigned char is_public; /* started, counts in stats.active_timers */
    unsigned char unref;     /* xpr_timer_unref: no work for xpr_loop_run */
};

/* A watcher of a socket the application owns (portable/watch.c): the
 * core's part; a back end allocates watch_size bytes with it first. */
struct xpr_watch {
    xpr_loop *loop;
    xpr_watch_cb cb;
    void *arg;
    xpr_socket_t sock;
    struct xpr__link link; /* loop->watchers */
    unsigned events;       /* XPR_READABLE | XPR_WRITABLE; 0: stopped */
    unsigned char unref;   /* xpr_watch_unref: no work for xpr_loop_run */
};

/* Where a conn is in its life; transitions in docs/design.md and
 * portable/conn.c. Accepted conns start OPEN. */
enum xpr__conn_state {
    XPR__CONN_CONNECTING,
    XPR__CONN_OPEN,
    XPR__CONN_CLOSING,
    XPR__CONN_ENDING,
    XPR__CONN_FINISHED
};

/* Callbacks shared by a listener and the conns it accepted, which may
 * outlive it: the last of them frees the copy. */
struct xpr__shared_callbacks {
    struct xpr_conn_callbacks cb; /* first: conns point at it */
    unsigned refs;
};

struct xpr__conn_timeout;
struct xpr__connect_plan;

/* Kept small (one per connection): what only some conns need is elsewhere. */
struct xpr_conn {
    xpr_loop *loop;
    const struct xpr_conn_callbacks *cb; /* in a xpr__shared_callbacks */
    void *userdata;
    xpr_listener *listener;            /* accepted from; NULL once it closes */
    struct xpr__conn_timeout *timeout; /* made when a timeout is first set */
    struct xpr__connect_plan *plan;    /* a connect by name (connect.c) */
    /* Written and not yet reported sent; the first in_flight bytes are
     * the transport's. Kept until xpr__conn_closed (the kernel may read it). */
    struct xpr__write_queue queue;
    size_t in_flight;
    struct xpr__link link; /* loop->conns, then loop->finished */
    xpr_socket_t sock;
    enum xpr__conn_state state;
    int close_err;
    unsigned connected : 1;   /* the socket is connected (or accepted) */
    unsigned adopted : 1;     /* xpr_conn_adopt: connected by the app */
    unsigned paused : 1;      /* the application paused reading */
    unsigned reading : 1;     /* the transport was told to read */
    unsigned read_ended : 1;  /* the peer half-closed: no more reads */
    unsigned shut_wanted : 1; /* xpr_conn_shutdown: FIN once drained */
    unsigned shut_sent : 1;   /* FIN handed to the transport */
    unsigned send_full : 1;   /* conn_send took less than offered: more
                                 only after xpr__conn_writable/_sent */
};

struct xpr_listener {
    xpr_loop *loop;
    struct xpr__shared_callbacks *callbacks; /* one ref */
    void *arg;
    struct xpr_listen_config cfg;
    struct xpr__addr bound;
    xpr_socket_t sock;
    unsigned live_conns;
    struct xpr__link link;  /* loop->listeners */
    struct xpr_timer retry; /* ends a pause of accepting (internal) */
    uint32_t pause_ms;      /* the last pause; 0 once an accept succeeds */
    unsigned char paused;   /* xpr_listener_pause */
};

/* ---- the table ---- */

struct xpr_backend_ops {
    /* Creates loop->backend (config, poller, read buffer are set). */
    int (*loop_init)(xpr_loop *loop);
    /* Frees loop->backend once every conn and listener is gone. */
    void (*loop_free)(xpr_loop *loop);
    /* Waits up to timeout_ms (-1 = no limit, 0 = poll), may return early,
     * and dispatches what is ready. */
    int (*run_once)(xpr_loop *loop, int timeout_ms);
    /* Any thread: makes a blocked run_once return soon. */
    void (*wake)(xpr_loop *loop);

    /* Optional back-end timers (xpr__timer_expired when due). NULL: the
     * core's heap, whose nearest deadline bounds run_once. */
    int (*timer_arm)(xpr_timer *t, uint64_t timeout_ms);
    void (*timer_disarm)(xpr_timer *t);
    void (*timer_release)(xpr_timer *t); /* frees backend_timer */

    /* Binds and listens: allocates the listener (xpr_listener first) and
     * fills sock and bound; the core fills the rest. */
    int (*listen)(xpr_loop *loop, const struct xpr__addr *addr, int backlog,
                  xpr_listener **out);
    /* Stops accepting, closes the socket, frees the listener. */
    void (*listener_close)(xpr_listener *l);
    /* Stops (0) or restarts (1) accepting (xpr__listener_accept_failed). */
    int (*listener_set_accepting)(xpr_listener *l, int on);

    /* ---- conns: the core allocates conn_size bytes (xpr_conn first) */
    size_t conn_size;
    unsigned conn_flags; /* XPR__TRANSPORT_* */
    /* c is CONNECTING with no socket: make one and start connecting, then
     * report xpr__conn_connected or _failed. An error leaves no socket: a
     * connect outcome (xpr__is_connect_outcome) reaches on_close, any other
     * is returned by xpr_connect. */
    int (*conn_connect)(xpr_conn *c, const struct xpr__addr *addr);
    /* c is CONNECTING and c->sock a connected, non-blocking socket from
     * xpr_conn_adopt: take it and report xpr__conn_connected. On an error
     * c->sock stays open and untouched (the application keeps it). NULL:
     * XPR_ENOTSUP. */
    int (*conn_adopt)(xpr_conn *c);
    /* Reading on or off (on only while xpr__conn_wants_data); an error
     * ends the conn. */
    int (*conn_set_reading)(xpr_conn *c, int on);
    /* Takes bytes from the front of the queue's runs: how many, or an
     * error (the conn ends). Less than offered means full until
     * xpr__conn_writable or _sent. Without XPR__TRANSPORT_SENDS_AT_ONCE
     * they stay queued, in flight, until xpr__conn_sent. */
    long (*conn_send)(xpr_conn *c, const void *const *bases, const size_t *lens,
                      size_t runs);
    /* FIN, with nothing queued or in flight. XPR_ENOTSUP is ignored; any
     * other error ends the conn. */
    int (*conn_shutdown)(xpr_conn *c);
    /* Stops all I/O and closes the socket, abortively (RST) when reset is
     * set; calls xpr__conn_closed once no operation of the conn is pending
     * (from inside this call when none is). */
    void (*conn_close)(xpr_conn *c, int reset);

    /* Watchers (portable/watch.c; the core allocates watch_size bytes,
     * xpr_watch first); NULL watch_set: XPR_ENOTSUP. watch_set sets the
     * interest (0: none; on an error the old one stands), fired events go
     * to xpr__watch_fire; watch_release frees w once nothing reaches it. */
    size_t watch_size;
    int (*watch_set)(xpr_watch *w, unsigned events);
    void (*watch_release)(xpr_watch *w);

    /* Completion back ends: fills xpr_loop_completion_stats(). */
    void (*completion_stats)(xpr_loop *loop,
                             struct xpr_completion_stats *stats);
    /* UDP handles (portable/udp.h); NULL: xpr_udp_new is XPR_ENOTSUP. */
    const struct xpr__udp_ops *udp;
};

/* Runs of the queue conn_send is offered at most. */
#define XPR__SEND_RUNS 16

/* conn_flags */
enum {
    /* conn_send's bytes are sent when it returns (readiness) */
    XPR__TRANSPORT_SENDS_AT_ONCE = 1u << 0,
    /* conn_send hands its bytes to the kernel (overlapped; libevent-iocp's
     * capped output): they count as written when taken, though queued
     * until xpr__conn_sent; without it (libevent's user-space buffer on a
     * readiness base) they count when reported sent */
    XPR__TRANSPORT_KERNEL_TAKES = 1u << 1
};

/* One row of the registry: a name a user can ask for. */
struct xpr_backend_entry {
    const char *name;
    const struct xpr_backend_ops *ops;
    const struct xpr_poller_ops *poller; /* readiness back ends only */
    unsigned flags;                      /* XPR__BACKEND_* */
    unsigned variant; /* the back end's own choice for this row */
};

/* xpr_backend_entry flags */
enum {
    /* cfg.workers > 1 allowed; 0 means one worker per CPU */
    XPR__BACKEND_WORKERS = 1u << 0
};

/* ---- the loop ---- */

struct xpr__post;

struct xpr_loop {
    const struct xpr_backend_entry *entry;
    const struct xpr_backend_ops *ops;
    const struct xpr_poller_ops *poller;
    void *backend;
    void *poller_state;
    struct xpr_loop_config cfg;
    unsigned conn_flags; /* ops->conn_flags; loop_init may add to them */

    unsigned char *read_buf; /* one buffer for every synchronous read */
    size_t read_buf_size;

    struct xpr__heap timer_heap;
    struct xpr__list timers;   /* public timers, started or not */
    struct xpr__list conns;    /* live conns */
    struct xpr__list finished; /* finished conns awaiting on_close */
    struct xpr__list listeners;
    uint64_t now_ms;              /* xpr_loop_now: read at each round's start */
    uint64_t referenced_timers;   /* started public timers not unref'd */
    struct xpr__list watchers;    /* every xpr_watch of the loop */
    uint64_t referenced_watchers; /* started, not unref'd */
    uint64_t referenced_signals;  /* xpr_signal_ref'd signal watchers */
    struct xpr__list udps;        /* live UDP handles (portable/udp.c) */
    struct xpr__list udp_finished;  /* closed ones awaiting on_close */
    struct xpr__resolver *resolver; /* made by the first xpr_resolve_start */
    unsigned resolves_pending;      /* started, callback not run yet */
    /* Lent writes given back, whose release callbacks run from the loop
     * before the closes (xpr__loop_deliver_closes). */
    struct xpr__wq_released released;

    struct xpr_loop_stats stats;   /* counters the core and back ends bump */
    unsigned wait_failures_in_row; /* failed waits since the last success */
    uint64_t wait_failing_since_ms;
    /* A spare descriptor, closed to shed the backlog when accept runs out
     * of them (listener.c); XPR__INVALID_SOCKET when none is held. */
    xpr_socket_t reserve_sock;

    xpr__mutex post_lock; /* guards the fields below */
    struct xpr__post *post_head;
    struct xpr__post *post_tail;
    uint64_t posts_queued;
    int stop_requested;

    /* Atomic: read by the checks of calls from any thread. */
    xpr__atomic_int running;
    xpr__atomic_int freeing;

    /* Workers (XPR__BACKEND_WORKERS; docs/design.md, "Workers") hold
     * run_lock for everything but the back end's wait. */
    unsigned workers; /* resolved: 1 .. XPR__MAX_WORKERS */
    xpr__mutex run_lock;
    int locked_run;           /* a run with workers > 1 is under way */
    int leaving;              /* a worker ended the run: the others follow */
    unsigned workers_running; /* in the run cycle now */
    int run_rc;
};

#define XPR__MAX_WORKERS 64

/* ---- what transports report ----
 * Each entry point may run application callbacks; the conn may end (and
 * the transport's conn_close run) inside any of them. */

/* A conn for an accepted socket (OPEN, not announced), or NULL at
 * max_connections (counted as refused) or out of memory: the caller closes
 * the socket. The transport attaches its state and calls
 * xpr__listener_conn_opened, or else xpr__conn_discard and closes it. */
xpr_conn *xpr__conn_new_accepted(xpr_listener *l, xpr_socket_t sock);
void xpr__conn_discard(xpr_conn *c);
/* The connect completed: on_open runs, queued writes go out. */
void xpr__conn_connected(xpr_conn *c);
/* Whether the transport should deliver data now (OPEN, not paused, before
 * EOF). A transport holding data it cannot deliver keeps it until
 * conn_set_reading(c, 1). */
static inline int xpr__conn_wants_data(const xpr_conn *c)
{
    return c->state == XPR__CONN_OPEN && !c->paused && !c->read_ended;
}
/* Bytes arrived (only while xpr__conn_wants_data). */
void xpr__conn_received(xpr_conn *c, const void *p, size_t n);
/* The peer half-closed. */
void xpr__conn_eof(xpr_conn *c);
/* The transport can take more (after conn_send took less than offered). */
void xpr__conn_writable(xpr_conn *c);
/* n bytes in flight were sent (transports without SENDS_AT_ONCE). */
void xpr__conn_sent(xpr_conn *c, size_t n);
/* The conn fails with err (the core ends it: conn_close follows). */
void xpr__conn_failed(xpr_conn *c, int err);
/* After conn_close: the socket is closed and no I/O is pending. */
void xpr__conn_closed(xpr_conn *c);
/* True once the conn ends: the transport must not report it any more,
 * except xpr__conn_closed. */
static inline int xpr__conn_done(const xpr_conn *c)
{
    return c->state >= XPR__CONN_ENDING;
}

/* An accept failed with err. 0: only that connection is lost, go on.
 * 1: out of descriptors or memory (or unknown): the core sheds the backlog
 * where it can and pauses accepting (listener_set_accepting), for longer
 * while failures repeat; the back end stops its accept loop. */
int xpr__listener_accept_failed(xpr_listener *l, int err);
/* Applies the listener's per-conn options (nodelay, keepalive, first-data
 * timeout) to an accepted conn, then opens it. */
void xpr__listener_conn_opened(xpr_listener *l, xpr_conn *c);

/* A watcher's socket is ready for events (XPR_READABLE | XPR_WRITABLE,
 * masked here with what it watches), or status is an error the system
 * holds for it: runs the callback, after which w may be freed. */
void xpr__watch_fire(xpr_watch *w, unsigned events, int status);

/* Called by back ends with their own timers when t is due. */
void xpr__timer_expired(xpr_timer *t);
/* Internal timers (not public, no alive count). */
void xpr__timer_init(xpr_timer *t, xpr_loop *loop, xpr_timer_cb cb, void *arg);
int xpr__timer_arm(xpr_timer *t, uint64_t timeout_ms, uint64_t repeat_ms);
void xpr__timer_disarm(xpr_timer *t);
void xpr__timer_release(xpr_timer *t);
/* Core heap timers: ms until the nearest (-1 none), and running due ones. */
int xpr__timers_timeout(xpr_loop *loop);
void xpr__timers_run(xpr_loop *loop);

/* For conn_connect: a new socket of family for c, bound to the local
 * address of xpr_connect_ex when it named one (bound then says 1). 0 or
 * the error (no socket is left). */
int xpr__conn_open_socket(xpr_conn *c, int family, xpr_socket_t *out,
                          int *bound);

/* Whether a failed connect's error is its outcome (on_close reports it)
 * rather than a failure of xpr_connect itself (returned). */
int xpr__is_connect_outcome(int err);

/* Back ends that support workers call these around the blocking wait in
 * run_once: other workers may run the loop meanwhile. No-ops without
 * workers. The wait must touch no loop state between the two calls. */
void xpr__loop_wait_begin(xpr_loop *loop);
void xpr__loop_wait_end(xpr_loop *loop);

/* Registry. */
const struct xpr_backend_entry *xpr__backend_find(const char *name);

/* Errors: raw OS code -> XPR_E* (the platform's table); remembers the raw
 * code for xpr_last_os_error(). */
int xpr__error_from_os(int os_code);

#endif
