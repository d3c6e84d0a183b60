/*
 * The stream-level contract between the portable core and a back end.
 *
 * The core (portable/loop.c, conn.c, timer.c, post.c) owns what every back end
 * shares: argument checks, thread checks, the list of live objects, timeouts,
 * max_connections, statistics and the delivery of on_close. A back end owns
 * sockets and I/O. Three families implement struct xpr_backend_ops:
 *   - the shared readiness engine (portable/stream.c) over a poller
 *     (portable/poller.h): poll, select, eventselect, asyncselect, libevent;
 *   - libevent's bufferevents (libevent/bev.c): libevent-bev, libevent-iocp;
 *   - the Windows completion engine (win32/): overlapped,
 *     completion-routine, iocp.
 *
 * Rules every back end follows:
 *   1. Each accepted or connected conn is set up with xpr__conn_init() and
 *      ends with exactly one xpr__conn_finish(conn, err), called once the
 *      socket is closed and no I/O of it is pending. The core then runs
 *      on_close from the loop (never from inside an API call) and calls
 *      ops->conn_free.
 *   2. Accepts go through xpr__listener_admit(): over max_connections the
 *      back end closes the new socket at once.
 *   3. Every read that delivers data calls xpr__conn_note_read() (idle and
 *      first-data timeouts) before on_data.
 */
#ifndef XPR_BACKEND_H
#define XPR_BACKEND_H

#include "xpr.h"
#include "xpr_sys.h" /* from posix/ or win32/: xpr_socket_t, mutex, clock */
#include "address.h"
#include "list.h"
#include "timer_heap.h"

struct xpr_poller_ops;

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
    unsigned char is_public; /* counts as work for xpr_loop_run */
};

enum xpr__conn_flags {
    XPR__CONN_CONNECTING = 1u << 0,
    XPR__CONN_OPEN = 1u << 1,        /* on_open ran (or is running) */
    XPR__CONN_PAUSED = 1u << 2,      /* the application paused reading */
    XPR__CONN_SHUT_WANTED = 1u << 3, /* xpr_conn_shutdown called */
    XPR__CONN_EOF = 1u << 4,         /* peer half-closed */
    XPR__CONN_CLOSING = 1u << 5,     /* xpr_conn_close: flushing */
    XPR__CONN_FINISHED = 1u << 6     /* xpr__conn_finish called */
};

struct xpr_conn {
    xpr_loop *loop;
    struct xpr_conn_callbacks cb;
    void *userdata;
    xpr_listener *listener; /* accepted from; NULL once it closes */
    xpr_socket_t sock;
    unsigned flags;
    int close_err;
    struct xpr__addr peer;
    int has_peer;
    struct xpr_timer timeout; /* idle / first-data timer (internal) */
    uint32_t idle_timeout_ms;
    uint32_t first_data_timeout_ms; /* non-zero until the first data */
    uint64_t last_read_ms;
    struct xpr__link link; /* loop->conns, then loop->finished */
};

struct xpr_listener {
    xpr_loop *loop;
    struct xpr_conn_callbacks cb;
    void *arg;
    struct xpr_listen_config cfg;
    struct xpr__addr bound;
    xpr_socket_t sock;
    unsigned live_conns;
    struct xpr__link link;  /* loop->listeners */
    struct xpr_timer retry; /* ends a pause of accepting (internal) */
    uint32_t pause_ms;      /* the last pause; 0 once an accept succeeds */
};

/* ---- the table ---- */

struct xpr_backend_ops {
    /* Creates loop->backend. The loop's config, poller and read buffer are
     * set. Returns 0 or an XPR_E* code. */
    int (*loop_init)(xpr_loop *loop);
    /* Frees loop->backend once every conn and listener is gone. */
    void (*loop_free)(xpr_loop *loop);
    /* Waits up to timeout_ms (-1 = no limit, 0 = poll) and dispatches what is
     * ready. May return early. Returns 0 or an XPR_E* code. */
    int (*run_once)(xpr_loop *loop, int timeout_ms);
    /* Any thread: makes a blocked run_once return soon. */
    void (*wake)(xpr_loop *loop);

    /* Optional: back ends whose own timers should run xpr timers. NULL =
     * the core's heap, whose nearest deadline becomes run_once's timeout.
     * timer_arm calls xpr__timer_expired(t) when due. */
    int (*timer_arm)(xpr_timer *t, uint64_t timeout_ms);
    void (*timer_disarm)(xpr_timer *t);
    void (*timer_release)(xpr_timer *t); /* frees backend_timer */

    /* Binds and listens. The back end allocates the listener (embedding
     * struct xpr_listener first) and fills sock and bound; the core fills
     * the rest. */
    int (*listen)(xpr_loop *loop, const struct xpr__addr *addr, int backlog,
                  xpr_listener **out);
    /* Stops accepting, closes the socket, frees the listener. */
    void (*listener_close)(xpr_listener *l);
    /* Stops (0) or restarts (1) accepting, for xpr__listener_accept_failed.
     * 0 or an XPR_E* code. */
    int (*listener_set_accepting)(xpr_listener *l, int on);

    /* Starts a connect; the back end allocates the conn, calls
     * xpr__conn_init, and later either opens it or finishes it with err. */
    int (*connect)(xpr_loop *loop, const struct xpr__addr *addr,
                   const struct xpr_conn_callbacks *cb, void *arg,
                   xpr_conn **out);

    int (*write)(xpr_conn *c, const void *p, size_t n);
    size_t (*queued)(const xpr_conn *c);
    /* Reading on (1) or off (0), after the core updated XPR__CONN_PAUSED. */
    int (*set_reading)(xpr_conn *c, int on);
    /* XPR__CONN_SHUT_WANTED is set: send FIN when the queue drains. */
    int (*shutdown)(xpr_conn *c);
    /* XPR__CONN_CLOSING is set: stop reading, flush, then close + finish. */
    int (*close)(xpr_conn *c);
    /* Close now, dropping the queue; reset (SO_LINGER 0) when reset is set;
     * finish with err. */
    void (*close_now)(xpr_conn *c, int err, int reset);
    /* Frees the memory of a finished conn after its on_close ran. */
    void (*conn_free)(xpr_conn *c);

    /* Optional: adds back-end figures to a stats snapshot. */
    void (*stats)(xpr_loop *loop, struct xpr_loop_stats *stats);
};

/* One row of the registry: a name a user can ask for. */
struct xpr_backend_entry {
    const char *name;
    const struct xpr_backend_ops *ops;
    const struct xpr_poller_ops *poller; /* readiness engine only */
    int supports_workers;                /* cfg.workers > 1 allowed */
    unsigned variant; /* the back end's own flags for this row */
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

    unsigned char *read_buf; /* one buffer for every synchronous read */
    size_t read_buf_size;

    struct xpr__heap timer_heap;
    struct xpr__list timers;   /* public timers, started or not */
    struct xpr__list conns;    /* live conns */
    struct xpr__list finished; /* finished conns awaiting on_close */
    struct xpr__list listeners;

    uint64_t active_public_timers;
    struct xpr_loop_stats stats;   /* counters the core and back ends bump */
    unsigned wait_failures_in_row; /* failed waits since the last success */
    uint64_t wait_failing_since_ms;
    /* A spare socket, closed to make room to shed backlogged connections
     * when accept runs out of descriptors (the reserve-descriptor trick);
     * XPR__INVALID_SOCKET when none is held. */
    xpr_socket_t reserve_sock;

    xpr__mutex post_lock; /* guards the fields below */
    struct xpr__post *post_head;
    struct xpr__post *post_tail;
    uint64_t posts_queued;
    int stop_requested;

    /* Atomic: the checks of calls from any thread read them. xpr_loop_run
     * claims running for the whole run with a compare-and-swap;
     * xpr_loop_free sets freeing. */
    xpr__atomic_int running;
    xpr__atomic_int freeing;

    /* Workers (back ends with supports_workers): the threads of one
     * xpr_loop_run take run_lock for everything but the back end's wait
     * (xpr__loop_wait_begin/end), so the core and the back end's state stay
     * single-threaded and callbacks never overlap. */
    unsigned workers; /* resolved: 1 .. XPR__MAX_WORKERS */
    xpr__mutex run_lock;
    int locked_run;           /* a run with workers > 1 is under way */
    int leaving;              /* a worker ended the run: the others follow */
    unsigned workers_running; /* in the run cycle now */
    int run_rc;
};

#define XPR__MAX_WORKERS 64

/* ---- services of the core to back ends ---- */

/* Fills the common part of a new conn and links it into loop->conns. */
void xpr__conn_init(xpr_conn *c, xpr_loop *loop,
                    const struct xpr_conn_callbacks *cb, void *arg,
                    xpr_socket_t sock);
/* The conn is open: start timeouts, run on_open. */
void xpr__conn_opened(xpr_conn *c);
/* Exactly once per conn, after its socket is closed and no I/O is pending. */
void xpr__conn_finish(xpr_conn *c, int err);
/* Bytes arrived (before on_data): restart idle / end first-data timeouts. */
void xpr__conn_note_read(xpr_conn *c, size_t n);
/* True when the conn is finished: the back end must stop dispatching. */
static inline int xpr__conn_done(const xpr_conn *c)
{
    return (c->flags & XPR__CONN_FINISHED) != 0;
}
/* Delivers on_eof, or without one starts the default flush-then-close. */
void xpr__conn_deliver_eof(xpr_conn *c);
/* Runs on_drain if set. */
void xpr__conn_deliver_drain(xpr_conn *c);

/* An accept failed with err. Returns 0 when only that connection is lost
 * (aborted or reset before it was accepted): go on accepting. Otherwise the
 * listener is out of descriptors or memory, or the error is unknown: the
 * core sheds what waits in the backlog where it can, stops accepting through
 * ops->listener_set_accepting and restarts it after a pause that grows while
 * failures repeat; returns 1 and the back end stops its accept loop. */
int xpr__listener_accept_failed(xpr_listener *l, int err);
/* For an accepted socket: 0 to take it (conn count raised), or XPR_EAGAIN
 * when over max_connections (counted as refused; close the socket). */
int xpr__listener_admit(xpr_listener *l);
/* Applies the listener's per-conn options (nodelay, keepalive, first-data
 * timeout) to an accepted conn, then opens it. */
void xpr__listener_conn_opened(xpr_listener *l, xpr_conn *c);

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
