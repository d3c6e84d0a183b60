/*
 * xpr — cross-platform reactor: one event-loop interface over libevent on POSIX
 * and every classic Winsock I/O model on Windows.
 *
 * This is the whole public surface. Conventions:
 *   - Handles are opaque. Every fallible call returns int: 0 on success or a
 *     negative XPR_E* code; objects come back through out-parameters, which are
 *     left untouched on failure.
 *   - Thread rules: a loop and everything created on it (listeners,
 *     connections, timers) belong to the thread(s) that run the loop. Only
 *     xpr_loop_post() and xpr_loop_stop() may be called from any thread.
 *     Other calls from another thread while the loop runs leave it untouched
 *     and return XPR_ETHREAD (void ones just return), xpr_loop_run and
 *     xpr_loop_stats included; of two threads calling xpr_loop_run at once,
 *     one runs the loop. A loop that does not run may be used from any
 *     thread, one at a time: a thread whose call finds the run over (no
 *     XPR_ETHREAD) also sees everything the run did.
 *   - Callbacks run on the loop's thread(s); for one connection they never
 *     overlap and arrive in order. With workers (cfg.workers) callbacks may
 *     run on any of the loop's worker threads, one at a time: no two
 *     callbacks of one loop ever overlap, so callback code needs no locks of
 *     its own for state only callbacks touch.
 *   - Memory: xpr copies what it is given (addresses, written bytes); data
 *     handed to on_data is valid during that call only.
 */
#ifndef XPR_H
#define XPR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * XPR_API marks the public functions: the only symbols the shared library
 * exports. On ELF the library is built with hidden visibility and these are
 * "default". A Windows DLL exports them (XPR_BUILDING_DLL, set by xpr's own
 * build) and its users import them; programs that link the static library
 * on Windows define XPR_STATIC (xpr.pc and the CMake package add it for a
 * static install; the Meson dependency does it for a static subproject).
 */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(XPR_BUILDING_DLL)
#define XPR_API __declspec(dllexport)
#elif defined(XPR_STATIC)
#define XPR_API
#else
#define XPR_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define XPR_API __attribute__((visibility("default")))
#else
#define XPR_API
#endif

#define XPR_VERSION_MAJOR 0
#define XPR_VERSION_MINOR 1
#define XPR_VERSION_PATCH 0
#define XPR_VERSION_STRING "0.1.0"

/* The version of the library linked in, as MAJOR*10000 + MINOR*100 + PATCH. */
XPR_API int xpr_version(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* X(name, value, message). Values are stable; new codes are appended. */
#define XPR_ERROR_LIST(X)                                                      \
    X(XPR_EINVAL, -1, "invalid argument")                                      \
    X(XPR_ENOMEM, -2, "out of memory")                                         \
    X(XPR_ENOTSUP, -3, "not supported by this back end or build")              \
    X(XPR_ECLOSED, -4, "object is closing or closed")                          \
    X(XPR_ESHUTDOWN, -5, "write side already shut down")                       \
    X(XPR_ETHREAD, -6, "called from a thread that does not own the loop")      \
    X(XPR_EBUSY, -7, "resource busy (loop already running)")                   \
    X(XPR_EAGAIN, -8, "resource temporarily unavailable")                      \
    X(XPR_EADDRINUSE, -9, "address already in use")                            \
    X(XPR_EADDRNOTAVAIL, -10, "address not available")                         \
    X(XPR_ECONNREFUSED, -11, "connection refused")                             \
    X(XPR_ECONNRESET, -12, "connection reset by peer")                         \
    X(XPR_ECONNABORTED, -13, "connection aborted")                             \
    X(XPR_ETIMEDOUT, -14, "timed out")                                         \
    X(XPR_ENETUNREACH, -15, "network unreachable")                             \
    X(XPR_EHOSTUNREACH, -16, "host unreachable")                               \
    X(XPR_EMFILE, -17, "too many open sockets")                                \
    X(XPR_ENOBUFS, -18, "no buffer space (system resources exhausted)")        \
    X(XPR_EPIPE, -19, "broken pipe")                                           \
    X(XPR_EACCES, -20, "permission denied")                                    \
    X(XPR_ECANCELED, -21, "operation canceled")                                \
    X(XPR_EAFNOSUPPORT, -22, "address family not supported")                   \
    X(XPR_EIO, -23, "input/output error (unmapped system error)")              \
    X(XPR_ENOTFOUND, -24, "host name not found")

enum xpr_error {
    XPR_OK = 0,
#define XPR_ERROR_ENUM_(name, value, msg) name = value,
    XPR_ERROR_LIST(XPR_ERROR_ENUM_)
#undef XPR_ERROR_ENUM_
};

/* A static, human-readable message for an XPR_E* code (or "unknown error"). */
XPR_API const char *xpr_strerror(int code);
/* The symbolic name of a code ("XPR_ECONNRESET"), or "XPR_E?" if unknown. */
XPR_API const char *xpr_err_name(int code);
/*
 * The raw operating-system code (errno, WSAGetLastError() or GetLastError())
 * behind the most recent system error translated on the calling thread, or 0.
 */
XPR_API int xpr_last_os_error(void);

/* ------------------------------------------------------------------------ */
/* Back ends                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Back ends are named: "libevent", "libevent-bev", "poll" (POSIX), and on
 * Windows "libevent-iocp", "select", "eventselect", "asyncselect",
 * "overlapped", "completion-routine", "iocp".
 */
#define XPR_BACKEND_DEFAULT NULL

/* How many back ends this build offers, and their names by index. */
XPR_API size_t xpr_backend_count(void);
XPR_API const char *xpr_backend_name_at(size_t index); /* NULL past the end */
/*
 * 0 if this build offers the named back end; XPR_ENOTSUP if it is a known back
 * end that this build or platform lacks; XPR_EINVAL for an unknown name.
 */
XPR_API int xpr_backend_supported(const char *name);
/* The back end a loop gets with XPR_BACKEND_DEFAULT and no XPR_BACKEND set. */
XPR_API const char *xpr_backend_default(void);

/* ------------------------------------------------------------------------ */
/* Loop                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct xpr_loop xpr_loop;
typedef struct xpr_listener xpr_listener;
typedef struct xpr_conn xpr_conn;
typedef struct xpr_timer xpr_timer;

enum xpr_read_mode {
    XPR_READ_DEFAULT = 0, /* the back end's choice (iocp: zero-byte) */
    XPR_READ_ZERO_BYTE =
        1, /* completion back ends: zero-byte recv, then drain */
    XPR_READ_PREPOSTED = 2 /* completion back ends: N buffers posted per conn */
};

/*
 * Loop configuration. A zeroed struct (or a NULL pointer) means defaults for
 * every field. Fields a back end has no use for are ignored.
 */
struct xpr_loop_config {
    /* Back-end name, or XPR_BACKEND_DEFAULT: then the environment variable
     * XPR_BACKEND decides, else the platform default. A named back end this
     * build lacks is XPR_ENOTSUP, never a silent fallback. */
    const char *backend;
    /* Threads running the loop: the caller of xpr_loop_run plus workers - 1
     * more, started by xpr_loop_run and joined before it returns. 0 = one
     * per CPU the process may run on (its affinity mask) where the back end
     * supports workers (iocp), else 1. Back ends without workers return
     * XPR_ENOTSUP for workers > 1; more than 64 is XPR_EINVAL. The workers
     * wait on the kernel and make their reads and writes in parallel, and
     * take turns to run callbacks (a dispatch lock): see the README. */
    unsigned workers;
    /* Completion back ends: how reads are posted, and how many buffers per
     * connection in XPR_READ_PREPOSTED mode (0 = 2). */
    enum xpr_read_mode read_mode;
    unsigned preposted_reads;
    /* Completion back ends: sends in flight per connection (0 = 4). */
    unsigned max_sends_in_flight;
    /* Bytes per read / pooled buffer (0 = 64 KiB). */
    size_t read_buffer_size;
    /* Free buffers and contexts kept in pools (0 = 256). */
    unsigned pool_free_max;
};

/* Statistics of a loop, a snapshot taken by xpr_loop_stats. */
struct xpr_loop_stats {
    uint64_t live_connections; /* connections whose on_close has not run */
    uint64_t live_listeners;
    uint64_t active_timers; /* started public timers */
    uint64_t accepted_connections;
    /* Closed as soon as accepted: over max_connections, or shed from the
     * backlog while the process is out of descriptors. */
    uint64_t refused_connections;
    uint64_t timed_out_connections;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t queued_write_bytes; /* as xpr_conn_queued, for every conn */
    uint64_t pending_posts;
    /* Waits for events that failed (out of memory or buffers, ...) and were
     * retried after a short pause. */
    uint64_t wait_failures;
    /* Times a listener stopped accepting for a short, growing pause because
     * accept failed for want of descriptors or memory. */
    uint64_t accept_pauses;
    /* UDP handles not closed yet: xpr_udp_close (or a failure) and the
     * kernel letting go of the socket end it; on_close follows. */
    uint64_t live_udp_handles;
};

/* What the completion back ends (iocp, overlapped, completion-routine)
 * hold in the kernel: xpr_loop_completion_stats(). */
struct xpr_completion_stats {
    uint64_t pending_operations; /* all kinds below together */
    uint64_t pending_accepts;
    uint64_t pending_connects;
    uint64_t pending_reads;
    uint64_t pending_writes;
    uint64_t inline_completions;   /* completed at once, skip-on-success */
    uint64_t dequeue_calls;        /* batched dequeues ... */
    uint64_t dequeued_completions; /* ... and the packets they returned */
    uint64_t pooled_buffers;       /* free buffers kept in pools */
    uint64_t pooled_buffer_bytes;
    uint64_t pinned_buffer_bytes; /* buffers the kernel currently holds */
};

/*
 * Creates a loop. cfg may be NULL. Errors: XPR_EINVAL (NULL loop_out or a bad
 * field), XPR_ENOTSUP (back end not in this build, or workers > 1 where not
 * supported), XPR_ENOMEM, or a system error from creating the back end.
 */
XPR_API int xpr_loop_new(xpr_loop **loop_out,
                         const struct xpr_loop_config *cfg);

/*
 * Runs callbacks until xpr_loop_stop() is called or nothing is left to do (no
 * live connection or listener, no started timer, no pending post).
 * Returns 0, XPR_EINVAL, XPR_EBUSY if the loop is already running on this
 * thread (from a callback), or XPR_ETHREAD if on another; with workers,
 * XPR_ENOMEM (or a system error) when a worker thread cannot be started. A
 * failed wait for events (out of memory, out of buffers) does not end the
 * run: it is retried after a pause of 1 ms that doubles up to 100 ms while
 * failures repeat, and counted in stats.wait_failures. Only a wait that has
 * failed without a break for 30 s ends the run, with its error. A stop
 * requested before the call makes it return after one iteration.
 */
XPR_API int xpr_loop_run(xpr_loop *loop);

/* How xpr_loop_run_mode runs the loop (libuv's uv_run modes). */
enum xpr_run_mode {
    XPR_RUN_DEFAULT = 0, /* as xpr_loop_run */
    /* One round: runs what is due (posts, closes), waits for events up to
     * the nearest timer (not at all when posts wait), runs what they and
     * the timers bring, returns. A wait may end early (nonblocking's short
     * sleeps, a Windows timer tick): that round runs nothing. */
    XPR_RUN_ONCE = 1,
    XPR_RUN_NOWAIT = 2 /* one round that does not wait */
};

/*
 * Runs the loop as mode says, on the calling thread only for XPR_RUN_ONCE
 * and XPR_RUN_NOWAIT (workers run under XPR_RUN_DEFAULT). Errors as
 * xpr_loop_run, and XPR_EINVAL for an unknown mode. Otherwise
 * XPR_RUN_DEFAULT returns 0, and the one-round modes return 1 while the
 * loop still has work (xpr_loop_run would go on) and 0 once it has none.
 */
XPR_API int xpr_loop_run_mode(xpr_loop *loop, enum xpr_run_mode mode);

/* The loop's clock in milliseconds (monotonic, arbitrary origin), as read
 * when the loop was made, at the start of each round and again after its
 * wait: callbacks of one batch see one time, without a system call each.
 * Timers measure from the clock as it is when they are started. */
XPR_API uint64_t xpr_loop_now(const xpr_loop *loop);
/* Reads the clock again (a long callback, say). Loop thread only. */
XPR_API void xpr_loop_update_time(xpr_loop *loop);

/* Any thread. Makes xpr_loop_run return soon. 0 or XPR_EINVAL. */
XPR_API int xpr_loop_stop(xpr_loop *loop);

/*
 * Any thread. Runs fn(arg) once on the loop's thread (one of its workers), in
 * the order posted.
 * Posts still queued when the loop is freed run inside xpr_loop_free, so arg
 * is always handed back. Errors: XPR_EINVAL, XPR_ENOMEM.
 */
XPR_API int xpr_loop_post(xpr_loop *loop, void (*fn)(void *arg), void *arg);

/*
 * Closes everything still open: each live connection gets on_close(conn,
 * XPR_ECANCELED) exactly once, listeners and timers are freed (their pointers
 * die), pending posts run. No callback runs after it returns. Must not be
 * called from a callback of the same loop. NULL is ignored.
 */
XPR_API void xpr_loop_free(xpr_loop *loop);

/* Name of the back end in use ("iocp", "libevent", ...). */
XPR_API const char *xpr_loop_backend(const xpr_loop *loop);

/* Fills *stats. Errors: XPR_EINVAL, XPR_ETHREAD (another thread while the
 * loop runs). */
XPR_API int xpr_loop_stats(xpr_loop *loop, struct xpr_loop_stats *stats);

/* Fills *stats for a loop on a completion back end. Errors: XPR_EINVAL,
 * XPR_ENOTSUP (a back end without completions), XPR_ETHREAD (as
 * xpr_loop_stats). */
XPR_API int xpr_loop_completion_stats(xpr_loop *loop,
                                      struct xpr_completion_stats *stats);

/* ------------------------------------------------------------------------ */
/* Timers                                                                    */
/* ------------------------------------------------------------------------ */

typedef void (*xpr_timer_cb)(xpr_timer *timer, void *arg);

/* Creates a stopped timer. Errors: XPR_EINVAL, XPR_ENOMEM. */
XPR_API int xpr_timer_new(xpr_loop *loop, xpr_timer_cb cb, void *arg,
                          xpr_timer **out);
/*
 * (Re)starts the timer: cb runs after timeout_ms, then every repeat_ms if
 * repeat_ms > 0. Timers due at the same time run in the order started. A
 * started timer keeps xpr_loop_run running. Errors: XPR_EINVAL, XPR_ETHREAD.
 */
XPR_API int xpr_timer_start(xpr_timer *timer, uint64_t timeout_ms,
                            uint64_t repeat_ms);
/* Stops the timer; safe inside its own callback. XPR_EINVAL on NULL. */
XPR_API int xpr_timer_stop(xpr_timer *timer);
/* Stops and frees; safe inside its own callback. NULL is ignored. */
XPR_API void xpr_timer_free(xpr_timer *timer);
/* An unreferenced timer does not keep xpr_loop_run running (a repeating
 * housekeeping timer, say); it still fires while other work does. New
 * timers are referenced. Idempotent. Errors: XPR_EINVAL, XPR_ETHREAD. */
XPR_API int xpr_timer_unref(xpr_timer *timer);
XPR_API int xpr_timer_ref(xpr_timer *timer);

/* ------------------------------------------------------------------------ */
/* Name resolution                                                           */
/* ------------------------------------------------------------------------ */

typedef struct xpr_resolve xpr_resolve;

/* The answer: err 0 and count >= 1 addresses as text ("192.0.2.1:80",
 * "[2001:db8::1]:80"), in the order the system prefers (getaddrinfo's),
 * valid during the call only; or err XPR_ENOTFOUND (no such name),
 * XPR_EAGAIN (a temporary failure: try again later), XPR_ECANCELED
 * (xpr_resolve_cancel, or the loop was freed), XPR_ENOMEM or XPR_EIO, with
 * no address. The request is freed when the callback returns. */
typedef void (*xpr_resolve_cb)(xpr_resolve *req, int err,
                               const char *const *addresses, size_t count,
                               void *arg);

/*
 * Looks up "host:port" (a name, "localhost", or a numeric address; the
 * port is a number, IPv6 literals in brackets) on a thread of the loop's
 * resolver pool (getaddrinfo blocks; at most four lookups run at once per
 * loop, the rest wait in order), then runs cb once on the loop's thread,
 * never from inside this call. Errors returned here: XPR_EINVAL (NULL, or
 * text that is not host:port), XPR_ENOMEM, XPR_ETHREAD.
 */
XPR_API int xpr_resolve_start(xpr_loop *loop, const char *host_port,
                              xpr_resolve_cb cb, void *arg, xpr_resolve **out);
/* Makes the callback of a request whose callback has not run yet report
 * XPR_ECANCELED (from the loop, never from inside this call); a lookup
 * already under way finishes on its thread, unseen. Errors: XPR_EINVAL,
 * XPR_ETHREAD. */
XPR_API int xpr_resolve_cancel(xpr_resolve *req);

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct xpr_signal xpr_signal;

/* What a signal watcher hears. POSIX: the signals of those names. Windows:
 * console control events: Ctrl+C and Ctrl+Break are XPR_SIGINT, closing
 * the console is XPR_SIGHUP, log-off and shutdown are XPR_SIGTERM. */
enum { XPR_SIGHUP = 1, XPR_SIGINT = 2, XPR_SIGTERM = 15 };

typedef void (*xpr_signal_cb)(xpr_signal *signal, int signum, void *arg);

/*
 * Watches signum (XPR_SIG*) for the loop: each time the process gets it, cb
 * runs on the loop's thread, from the loop; signals that arrive close
 * together may run it once. Every watcher of a signal hears it, on any
 * loop. While a signal has a watcher, its default action (ending the
 * process) does not happen; the last watcher freed puts back the handler
 * that was there before. A watcher does not keep xpr_loop_run running
 * unless referenced (xpr_signal_ref).
 * On POSIX xpr installs a handler with sigaction and a thread that hands
 * what the handler saw to the loops; on Windows a console control handler.
 * Errors: XPR_EINVAL (NULL, or a signum not listed), XPR_ENOMEM, XPR_ETHREAD,
 * or the system's error installing the handler.
 */
XPR_API int xpr_signal_new(xpr_loop *loop, int signum, xpr_signal_cb cb,
                           void *arg, xpr_signal **out);
/* Stops watching and frees; safe inside its own callback; no callback of it
 * runs afterwards. xpr_loop_free frees the loop's watchers. NULL is
 * ignored. */
XPR_API void xpr_signal_free(xpr_signal *signal);
/* A referenced watcher keeps xpr_loop_run running while it lives, as a
 * libuv signal handle does; new watchers are unreferenced (see above).
 * Idempotent. Errors: XPR_EINVAL, XPR_ETHREAD. */
XPR_API int xpr_signal_ref(xpr_signal *signal);
XPR_API int xpr_signal_unref(xpr_signal *signal);

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Connection callbacks. The struct is copied. Every pointer may be NULL
 * except where noted.
 */
struct xpr_conn_callbacks {
    /* Accepted, or connect completed (also when xpr_conn_close was called
     * while connecting: the close then goes on). Not called when a connect
     * fails. */
    void (*on_open)(xpr_conn *conn);
    /* n > 0 bytes arrived; p is valid during the call only. */
    void (*on_data)(xpr_conn *conn, const void *p, size_t n);
    /* Queued writes fell to zero after a write could not go out whole at
     * once (never from inside xpr_conn_write). */
    void (*on_drain)(xpr_conn *conn);
    /* Peer half-closed. NULL means: flush what is queued, then close. */
    void (*on_eof)(xpr_conn *conn);
    /* Exactly once per connection, also after errors, aborts, timeouts, and
     * xpr_loop_free. err is 0 when the application closed or aborted it,
     * otherwise why it ended (XPR_ECONNRESET, XPR_ECONNREFUSED,
     * XPR_ETIMEDOUT, XPR_ECANCELED for xpr_loop_free, ...). After it
     * returns the conn pointer is dead. */
    void (*on_close)(xpr_conn *conn, int err);
};

/* Options of a listener. Zeroed = defaults. */
struct xpr_listen_config {
    int backlog;                    /* 0 = SOMAXCONN */
    unsigned max_connections;       /* 0 = unlimited; beyond it accept+close */
    uint32_t first_data_timeout_ms; /* 0 = off; silent new conns closed */
    uint32_t keepalive_idle_ms;     /* 0 = off; else TCP keepalive */
    uint32_t keepalive_interval_ms; /* 0 = idle_ms */
    int nodelay;              /* non-zero: TCP_NODELAY on accepted conns */
    unsigned accepts_initial; /* iocp: AcceptEx posted at start (0 = 16) */
    unsigned accepts_max;     /* iocp: most AcceptEx pending (0 = 256) */
    /* Completion back ends: non-zero = AcceptEx also waits for the client's
     * first bytes, which on_data gets right after on_open (a round trip less
     * per connection). A client silent for first_data_timeout_ms (counted in
     * whole seconds, rounded up: SO_CONNECT_TIME) is then dropped before the
     * application sees it: no on_open, counted in timed_out_connections.
     * Needs first_data_timeout_ms (else XPR_EINVAL); ignored elsewhere. */
    int accepts_with_data;
};

/*
 * Starts listening on address ("127.0.0.1:5150", "[::1]:0", "localhost:80",
 * "host.example:80"; port 0 picks a free port). A host name is looked up
 * inside this call, on the caller's thread (getaddrinfo blocks until the
 * system's resolver answers), and its addresses are tried in the system's
 * order until one binds ("localhost" is ::1 or 127.0.0.1, as the system
 * says: xpr_listener_address tells which). Accepted connections get a copy
 * of *callbacks and arg as their initial userdata. cfg may be NULL.
 * Errors: XPR_EINVAL (bad text or arguments; never for a well-formed name),
 * XPR_ENOTFOUND (no such name), XPR_EAGAIN (the resolver failed for now),
 * XPR_EADDRINUSE, XPR_EACCES, XPR_EADDRNOTAVAIL (for a name: the first
 * address's error when none binds), XPR_ETHREAD, XPR_ENOMEM, other system
 * errors.
 */
XPR_API int xpr_listen(xpr_loop *loop, const char *address,
                       const struct xpr_listen_config *cfg,
                       const struct xpr_conn_callbacks *callbacks, void *arg,
                       xpr_listener **out);

/*
 * Writes the bound address as text ("127.0.0.1:40123", "[::1]:40123") into
 * buf. Errors: XPR_EINVAL (NULL or buffer too small: nothing is truncated).
 */
XPR_API int xpr_listener_address(const xpr_listener *listener, char *buf,
                                 size_t len);

/*
 * Stops accepting and frees the listener. Connections already accepted stay
 * open. XPR_EINVAL on NULL, XPR_ETHREAD.
 */
XPR_API int xpr_listener_close(xpr_listener *listener);

/*
 * Stops taking connections until xpr_listener_resume: clients that connect
 * meanwhile wait in the kernel's backlog (or are refused once it is full).
 * On the completion back ends accepts already posted stay posted and may
 * still complete (at most the listener's accepts_initial, more after
 * growth); pausing before the loop first runs posts none. Idempotent.
 * Errors: XPR_EINVAL, XPR_ETHREAD, or the back end's error (the listener
 * keeps its state).
 */
XPR_API int xpr_listener_pause(xpr_listener *listener);
XPR_API int xpr_listener_resume(xpr_listener *listener);

/* The system's socket type: a SOCKET on Windows, a descriptor elsewhere. */
#ifdef _WIN32
typedef uintptr_t xpr_os_socket;
#else
typedef int xpr_os_socket;
#endif

/*
 * The listener's or conn's socket, for options xpr does not offer
 * (setsockopt). It stays xpr's: do not close it, read or write it, or
 * change its blocking mode. Errors: XPR_EINVAL, XPR_ECLOSED (a conn that is
 * ending), XPR_EAGAIN (a conn whose socket is not made yet).
 */
XPR_API int xpr_listener_socket(const xpr_listener *listener,
                                xpr_os_socket *out);
XPR_API int xpr_conn_socket(const xpr_conn *conn, xpr_os_socket *out);

/*
 * Starts connecting. On success *out is valid at once (writes are queued
 * until connected) and exactly one of on_open or on_close(conn, err) follows
 * from the loop, never from inside this call. Errors returned here: XPR_EINVAL
 * (bad text or arguments), XPR_ENOMEM, XPR_ETHREAD, XPR_EMFILE, ... A socket
 * that ends up connected to itself (a TCP simultaneous open where nothing
 * listens: a local port equal to the port connected to) is refused:
 * on_close(conn, XPR_ECONNREFUSED), never on_open.
 */
XPR_API int xpr_connect(xpr_loop *loop, const char *address,
                        const struct xpr_conn_callbacks *callbacks, void *arg,
                        xpr_conn **out);

/* Options of a connect. Zeroed = what xpr_connect does. */
struct xpr_connect_config {
    /* Numeric local address to bind before connecting ("127.0.0.1:0",
     * "[::1]:5000"); NULL = the system picks. Bound without SO_REUSEADDR:
     * an address in use is XPR_EADDRINUSE. With a host name, addresses of
     * the other family are skipped (none left: XPR_EAFNOSUPPORT). */
    const char *local_address;
    /* Milliseconds from this call until connected, in total: the name
     * lookup and every address tried share it (0 = no limit, as
     * xpr_connect). When it passes the conn ends: on_close(conn,
     * XPR_ETIMEDOUT), counted in timed_out_connections. */
    uint32_t timeout_ms;
};

/*
 * xpr_connect with options (cfg may be NULL). Errors returned here as
 * xpr_connect's, and: XPR_EINVAL (local_address is not a numeric address),
 * XPR_EAFNOSUPPORT (numeric address and local address of two families),
 * or the bind's error for a numeric address (XPR_EADDRINUSE,
 * XPR_EADDRNOTAVAIL, XPR_EACCES); for a name the bind's error reaches
 * on_close. Every back end.
 */
XPR_API int xpr_connect_ex(xpr_loop *loop, const char *address,
                           const struct xpr_connect_config *cfg,
                           const struct xpr_conn_callbacks *callbacks,
                           void *arg, xpr_conn **out);

/*
 * Makes a conn of sock, a TCP socket (IPv4 or IPv6) the application has
 * connected. On success xpr owns the socket: it makes it non-blocking (the
 * blocking back end: blocking), closes it when the conn ends, and the
 * application must not use it any more except through xpr_conn_socket.
 * on_open follows from the loop (never from inside this call), as after a
 * connect; then the conn is like any other. On an error the socket stays
 * the application's, open, though it may have been made non-blocking.
 * Windows, completion back ends (iocp, overlapped, completion-routine)
 * and libevent-iocp: the socket must be overlapped (socket() and WSASocket
 * with WSA_FLAG_OVERLAPPED make such). iocp and libevent-iocp associate it
 * with their completion port for the rest of its life; a socket has one
 * port: iocp refuses one associated with another port already
 * (XPR_EINVAL), libevent-iocp cannot tell and must not be given one.
 * Every back end. Errors: XPR_EINVAL (NULL, an invalid socket, or not a
 * connected stream socket), XPR_ENOMEM, XPR_ETHREAD, XPR_EMFILE (past what
 * libevent's select method can watch), XPR_ENOTSUP (a back end without
 * adoption; none at present).
 */
XPR_API int xpr_conn_adopt(xpr_loop *loop, xpr_os_socket sock,
                           const struct xpr_conn_callbacks *callbacks,
                           void *arg, xpr_conn **out);

/*
 * Copies n bytes and sends them, now if possible; what cannot go now is
 * queued (never blocks). n == 0 is a no-op. Errors: XPR_EINVAL (NULL conn, or
 * NULL p with n > 0), XPR_ECLOSED (closing or closed), XPR_ESHUTDOWN (after
 * xpr_conn_shutdown), XPR_ENOMEM, XPR_ETHREAD, or the system error of a
 * send that failed at once (XPR_ECONNRESET, XPR_EPIPE, ...): the conn then
 * closes, and on_close(conn, that error) follows from the loop.
 */
XPR_API int xpr_conn_write(xpr_conn *conn, const void *p, size_t n);

/* One buffer of a vectored write. */
struct xpr_buf {
    const void *base;
    size_t len;
};

/*
 * xpr_conn_write of count buffers in order, as one write: sent together
 * where the transport can (one vectored send), copied where it must queue.
 * Zero-length buffers are skipped. Errors as xpr_conn_write; XPR_EINVAL also
 * for NULL bufs with count > 0 or a NULL base with len > 0.
 */
XPR_API int xpr_conn_writev(xpr_conn *conn, const struct xpr_buf *bufs,
                            size_t count);

/* Gives lent bytes back: status 0 once all of them were handed to the
 * kernel, XPR_ECANCELED when the conn ended first (some may have been
 * sent). Runs on the loop thread, never from inside an xpr_* call, before
 * the conn's on_close when the conn ends. */
typedef void (*xpr_write_release_cb)(void *arg, int status);

/*
 * Sends n > 0 bytes the caller lends instead of copying them: p must stay
 * valid and unchanged until release(arg, status) runs, exactly once, when
 * this call returned 0. On the readiness back ends the bytes go from p to
 * the socket; on the completion back ends (overlapped, completion-routine,
 * iocp) p is the buffer of the posted WSASend, which the kernel owns until
 * the send completes; libevent-bev and libevent-iocp copy them into
 * libevent's output buffer, and release runs once libevent has written
 * them. On an error returned nothing was sent, release is not called and
 * the bytes are the caller's again. Errors as xpr_conn_write, and
 * XPR_EINVAL for n == 0 or a NULL release.
 */
XPR_API int xpr_conn_write_lent(xpr_conn *conn, const void *p, size_t n,
                                xpr_write_release_cb release, void *arg);

/* Bytes accepted by xpr_conn_write and not yet sent: waiting, or (on the
 * completion back ends and libevent-bev) handed to a send that has not
 * completed. */
XPR_API size_t xpr_conn_queued(const xpr_conn *conn);

/* Stop / restart delivering on_data (and on_eof). Idempotent. Errors:
 * XPR_EINVAL, XPR_ECLOSED, XPR_ETHREAD. */
XPR_API int xpr_conn_pause_reading(xpr_conn *conn);
XPR_API int xpr_conn_resume_reading(xpr_conn *conn);

/* Half-close: send FIN once the queue has drained. Reading goes on.
 * Errors: XPR_EINVAL, XPR_ECLOSED, XPR_ETHREAD. Idempotent. */
XPR_API int xpr_conn_shutdown(xpr_conn *conn);

/* Graceful close: stop reading, flush the queue, close, then on_close(conn,
 * 0) from the loop. Idempotent while closing. Errors: XPR_EINVAL,
 * XPR_ETHREAD. */
XPR_API int xpr_conn_close(xpr_conn *conn);

/* Reset now (SO_LINGER 0); queued data are dropped; on_close(conn, 0) follows
 * from the loop. Errors: XPR_EINVAL, XPR_ETHREAD. */
XPR_API int xpr_conn_abort(xpr_conn *conn);

XPR_API void xpr_conn_set_userdata(xpr_conn *conn, void *userdata);
XPR_API void *xpr_conn_userdata(const xpr_conn *conn);
XPR_API xpr_loop *xpr_conn_loop(const xpr_conn *conn);

/* The peer's address as text. Errors: XPR_EINVAL (NULL, or too small),
 * XPR_ECLOSED, XPR_EAGAIN while still connecting. */
XPR_API int xpr_conn_peer_address(const xpr_conn *conn, char *buf, size_t len);
/* The conn's own address as text (getsockname), with the errors of
 * xpr_conn_peer_address. */
XPR_API int xpr_conn_local_address(const xpr_conn *conn, char *buf, size_t len);

/* TCP_NODELAY on (non-zero) or off. Errors: XPR_EINVAL, XPR_ECLOSED. */
XPR_API int xpr_conn_set_nodelay(xpr_conn *conn, int enable);

/* TCP keepalive: idle_ms == 0 turns it off; interval_ms == 0 = idle_ms.
 * Errors: XPR_EINVAL, XPR_ECLOSED, XPR_ENOTSUP where the OS lacks it. */
XPR_API int xpr_conn_set_keepalive(xpr_conn *conn, uint32_t idle_ms,
                                   uint32_t interval_ms);

/* on_close(conn, XPR_ETIMEDOUT) after ms without incoming data (0 = off).
 * Errors: XPR_EINVAL, XPR_ECLOSED, XPR_ETHREAD. */
XPR_API int xpr_conn_set_idle_timeout(xpr_conn *conn, uint32_t ms);

/* ------------------------------------------------------------------------ */
/* Watchers of sockets the application owns                                  */
/* ------------------------------------------------------------------------ */

typedef struct xpr_watch xpr_watch;

/* What a watcher waits for, and what its callback hears. */
enum { XPR_READABLE = 1, XPR_WRITABLE = 2 };

/* events: the ones watched that hold now (a recv or send would not block;
 * a hang-up or an error makes every watched one hold, so that the read or
 * write that follows tells what happened). status: 0, or the XPR_E* error
 * the system holds for the socket (its SO_ERROR, say XPR_ECONNRESET),
 * which reporting it clears. Level-triggered, like libuv's uv_poll: the
 * callback runs again on every round while the condition holds (read the
 * data, or stop watching that event). */
typedef void (*xpr_watch_cb)(xpr_watch *watch, unsigned events, int status,
                             void *arg);

/*
 * A stopped watcher of sock, a socket (on POSIX any descriptor poll()
 * takes: a pipe, a terminal) that stays the application's: xpr never reads,
 * writes or closes it, and freeing the watcher leaves it open. Watching a
 * socket xpr owns (xpr_conn_socket, xpr_listener_socket), watching one
 * socket with two watchers, or closing the socket while its watcher is
 * started is undefined, as in libuv. The socket's blocking mode is the
 * application's, except on eventselect and asyncselect: WSAEventSelect and
 * WSAAsyncSelect make it non-blocking, and it stays so. Where it lives:
 * the readiness back ends (poll, select, eventselect, asyncselect, the
 * libevent poller, nonblocking) watch it with their poller, eventselect,
 * asyncselect and nonblocking confirming each round with a zero-timeout
 * poll of the socket; libevent-bev and libevent-iocp with a libevent
 * event; the completion back ends (iocp, overlapped, completion-routine)
 * with IOCTL_AFD_POLL requests; blocking with a thread per watcher
 * blocked in poll() / select() of the socket. Errors: XPR_EINVAL (NULL, a
 * loop being freed, or a value that is not an open socket or descriptor),
 * XPR_ENOMEM, XPR_ETHREAD.
 */
XPR_API int xpr_watch_new(xpr_loop *loop, xpr_os_socket sock, xpr_watch_cb cb,
                          void *arg, xpr_watch **out);
/* Starts watching for events (XPR_READABLE | XPR_WRITABLE); on a started
 * watcher it replaces the set, and the same set arms it again (after the
 * callback reported an error, this tries again). A started watcher keeps
 * xpr_loop_run running unless unreferenced. Errors: XPR_EINVAL (NULL, events 0
 * or unknown bits), XPR_ETHREAD, or the system's error registering the socket
 * (the watcher keeps its previous set). */
XPR_API int xpr_watch_start(xpr_watch *watch, unsigned events);
/* Stops; no callback runs until the next start. Idempotent; safe inside
 * its own callback. Errors: XPR_EINVAL, XPR_ETHREAD. */
XPR_API int xpr_watch_stop(xpr_watch *watch);
/* Stops and frees; safe inside its own callback; never closes the socket.
 * xpr_loop_free frees the loop's watchers. NULL is ignored, and so is a
 * call from another thread while the loop runs. */
XPR_API void xpr_watch_free(xpr_watch *watch);
/* An unreferenced watcher does not keep xpr_loop_run running; its
 * callback still runs while other work does. New watchers are referenced.
 * Idempotent. Errors: XPR_EINVAL, XPR_ETHREAD. */
XPR_API int xpr_watch_unref(xpr_watch *watch);
XPR_API int xpr_watch_ref(xpr_watch *watch);

/* Longest text xpr_listener_address / xpr_conn_peer_address write. */
#define XPR_ADDRSTRLEN 64

/* ------------------------------------------------------------------------ */
/* UDP                                                                       */
/* ------------------------------------------------------------------------ */

/*
 * A UDP socket bound to a local address, receiving from the moment it is
 * made. Every back end has them: the readiness ones (poll, select,
 * eventselect, asyncselect, nonblocking, libevent), libevent-bev and
 * libevent-iocp (libevent's events), blocking (a thread per handle waits
 * for its socket; callbacks stay on the loop thread), and the completion
 * ones (iocp, overlapped, completion-routine: pre-posted WSARecvFrom,
 * WSASendTo). Every call below belongs to the loop's thread(s)
 * (XPR_ETHREAD otherwise) and returns 0 or an XPR_E* code.
 */
typedef struct xpr_udp xpr_udp;

/* on_recv flags */
enum {
    /* The datagram was longer than cfg.recv_size: p holds its first
     * recv_size bytes, the rest is lost (POSIX MSG_TRUNC, Winsock
     * WSAEMSGSIZE). */
    XPR_UDP_TRUNCATED = 1u << 0
};

/* Largest datagram xpr_udp_send takes (IPv4: 65,535 - 20 - 8; IPv6 without
 * jumbograms: 65,535 - 8). */
#define XPR_UDP_MAX_DATAGRAM_V4 65507
#define XPR_UDP_MAX_DATAGRAM_V6 65527

/* UDP callbacks. The struct is copied; on_recv is required. */
struct xpr_udp_callbacks {
    /* A datagram of n bytes (n may be 0) came from peer ("127.0.0.1:5000",
     * "[::1]:5000"); flags: XPR_UDP_TRUNCATED. p and peer are valid during
     * the call only. */
    void (*on_recv)(xpr_udp *udp, const void *p, size_t n, const char *peer,
                    unsigned flags);
    /* A queued datagram could not be sent (it is dropped), or a receive
     * failed (XPR_ECONNREFUSED: a connected peer's port is closed, as ICMP
     * said; Windows' own report of it, WSAECONNRESET on an unconnected
     * socket, is switched off). The handle stays open. May be NULL. */
    void (*on_error)(xpr_udp *udp, int err);
    /* Exactly once per handle, from the loop (never from inside an xpr
     * call): err 0 after xpr_udp_close, XPR_ECANCELED from xpr_loop_free,
     * or the error that ended it (the back end could not go on receiving:
     * XPR_ENOMEM, XPR_ENOBUFS). The handle is freed when it returns. May
     * be NULL. */
    void (*on_close)(xpr_udp *udp, int err);
};

/* Options of a UDP handle. Zeroed = defaults. */
struct xpr_udp_config {
    /* Largest datagram received whole (0 = 65,536): longer ones arrive
     * cut to this size with XPR_UDP_TRUNCATED. */
    size_t recv_size;
    /* Bytes of datagrams accepted by xpr_udp_send and not yet sent, at
     * most (0 = 256 KiB): beyond it xpr_udp_send returns XPR_EAGAIN. */
    size_t send_queue_max;
    /* Completion back ends: receives kept posted, each with a buffer of
     * recv_size bytes that the kernel holds (0 = 4). */
    unsigned recvs_posted;
    /* Non-zero: SO_REUSEADDR before the bind, so several sockets can
     * receive one multicast group's port. */
    int reuse_address;
};

/*
 * Makes a UDP socket bound to address ("127.0.0.1:0", "[::1]:0",
 * "0.0.0.0:5000"; port 0 picks a free one) that receives into cb.on_recv
 * until closed. cfg may be NULL. A live handle keeps xpr_loop_run running.
 * Errors: XPR_EINVAL (NULL loop, cb, on_recv or out; bad address text),
 * XPR_EADDRINUSE, XPR_EACCES, XPR_EADDRNOTAVAIL, XPR_EAFNOSUPPORT,
 * XPR_ENOMEM (also: blocking could not start the handle's thread),
 * XPR_ETHREAD, other system errors.
 */
XPR_API int xpr_udp_new(xpr_loop *loop, const char *address,
                        const struct xpr_udp_config *cfg,
                        const struct xpr_udp_callbacks *cb, void *userdata,
                        xpr_udp **out);

/* The bound address as text (the real port). Errors: XPR_EINVAL (NULL, or
 * buf too small: nothing is truncated). */
XPR_API int xpr_udp_address(const xpr_udp *udp, char *buf, size_t len);

/*
 * Connects the socket to address: it then receives only from there and
 * sends there (xpr_udp_send with to NULL). On POSIX a connected socket
 * also hears that the peer's port is closed (on_error(XPR_ECONNREFUSED),
 * after a send); Windows' report of it is switched off. Connect again to
 * change the peer. Errors: XPR_EINVAL (NULL or bad
 * text), XPR_EAFNOSUPPORT (another family than the bound one),
 * XPR_ECLOSED, XPR_ETHREAD, system errors.
 */
XPR_API int xpr_udp_connect(xpr_udp *udp, const char *address);

/*
 * Copies one datagram of n bytes (0 allowed) and sends it to `to` (address
 * text; NULL on a connected socket), now if the socket takes it, else from
 * the loop: a datagram is never split. Datagrams queued here are sent in
 * order; one that then fails is dropped and reported to on_error. Errors
 * returned here: XPR_EINVAL (NULL udp, NULL p with n > 0, bad text, `to`
 * NULL on an unconnected or non-NULL on a connected socket, n above
 * XPR_UDP_MAX_DATAGRAM_V4 / _V6), XPR_EAFNOSUPPORT (another family than
 * the bound one), XPR_EAGAIN (the queue would pass cfg.send_queue_max:
 * nothing is queued; send again once xpr_udp_queued has fallen),
 * XPR_ECLOSED, XPR_ETHREAD, XPR_ENOMEM, or the system's error for a send
 * that failed at once (XPR_ECONNREFUSED, XPR_ENETUNREACH, ...). The
 * completion back ends hand every datagram to a WSASendTo posted from the
 * loop: there a send's failure always reaches on_error.
 */
XPR_API int xpr_udp_send(xpr_udp *udp, const char *to, const void *p, size_t n);

/* Bytes accepted by xpr_udp_send and not yet sent (0 for NULL). */
XPR_API size_t xpr_udp_queued(const xpr_udp *udp);

/* SO_BROADCAST on (non-zero) or off. Errors: XPR_EINVAL, XPR_ECLOSED,
 * XPR_ETHREAD, system errors. */
XPR_API int xpr_udp_set_broadcast(xpr_udp *udp, int on);

/*
 * Joins (join non-zero) or leaves the multicast group `group` (an address
 * without port: "239.1.2.3", "ff02::1") on the interface of address
 * `iface` (IPv4, NULL = the system's choice; must be NULL for IPv6).
 * Errors: XPR_EINVAL (NULL, bad text, not a multicast address, another
 * family than the bound one), XPR_ECLOSED, XPR_ETHREAD, system errors.
 */
XPR_API int xpr_udp_set_membership(xpr_udp *udp, const char *group,
                                   const char *iface, int join);
/* Whether multicast datagrams sent come back to this host's members
 * (IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP), and their TTL / hop limit
 * (0..255). Errors: XPR_EINVAL, XPR_ECLOSED, XPR_ETHREAD, system errors. */
XPR_API int xpr_udp_set_multicast_loop(xpr_udp *udp, int on);
XPR_API int xpr_udp_set_multicast_ttl(xpr_udp *udp, int ttl);

/* The handle's socket, for options xpr does not offer. It stays xpr's (as
 * xpr_conn_socket). Errors: XPR_EINVAL, XPR_ECLOSED. */
XPR_API int xpr_udp_socket(const xpr_udp *udp, xpr_os_socket *out);

XPR_API void xpr_udp_set_userdata(xpr_udp *udp, void *userdata);
XPR_API void *xpr_udp_userdata(const xpr_udp *udp);
XPR_API xpr_loop *xpr_udp_loop(const xpr_udp *udp);

/*
 * Stops receiving, drops what is queued, closes the socket; on_close(udp,
 * 0) follows from the loop, once the kernel has given back every buffer
 * posted on the completion back ends. No on_recv or on_error runs after
 * this call. Errors: XPR_EINVAL, XPR_ECLOSED (closed already),
 * XPR_ETHREAD.
 */
XPR_API int xpr_udp_close(xpr_udp *udp);

#ifdef __cplusplus
}
#endif
#endif /* XPR_H */
