/* Loop services used across portable/ files (not by back ends). */
#ifndef XPR_LOOP_INTERNAL_H
#define XPR_LOOP_INTERNAL_H

#include "backend.h"

/* XPR_ETHREAD when the loop runs on another thread, else 0. */
int xpr__loop_check_thread(const xpr_loop *loop);
/* The checks of a call that makes an object on loop: XPR_EINVAL without a
 * loop, with args_ok false or while the loop is freed, else the above. */
int xpr__loop_check_new(const xpr_loop *loop, int args_ok);
/* Runs queued posts; returns whether a stop was requested (and clears it);
 * *more says whether posts arrived meanwhile. */
int xpr__loop_run_posts(xpr_loop *loop, int *more);
void xpr__loop_deliver_closes(xpr_loop *loop);
/* Ends the conn with err (a connect's deadline; XPR_ECANCELED from
 * xpr_loop_free), as an error would. */
void xpr__conn_end(xpr_conn *c, int err);
/* An accepted conn is announced (xpr__listener_conn_opened). */
void xpr__conn_opened(xpr_conn *c);
/* Frees a conn after its on_close ran. */
void xpr__conn_free(xpr_conn *c);
/* Common checks of the public conn calls: 0, or the error to return
 * (XPR_EINVAL, XPR_ETHREAD, XPR_ECLOSED once closing). */
int xpr__conn_usable(const xpr_conn *c);

/* A conn's timeouts (conn_timeout.c): start at open, note_read when bytes
 * arrive (both return an error that ends the conn: a timer that cannot be
 * armed), stop when closing (the flush has no deadline), release when the
 * conn ends, free with it. */
int xpr__conn_timeout_start(xpr_conn *c);
int xpr__conn_timeout_note_read(xpr_conn *c);
void xpr__conn_timeout_stop(xpr_conn *c);
void xpr__conn_timeout_release(xpr_conn *c);
void xpr__conn_timeout_free(xpr_conn *c);

/* A new conn (CONNECTING) taking a reference on shared, linked and
 * counted; NULL when out of memory. xpr__conn_discard undoes it. */
xpr_conn *xpr__conn_new(xpr_loop *loop, struct xpr__shared_callbacks *shared,
                        void *arg, xpr_socket_t sock);

/* Connects by name (connect.c). idle: looking up or between two addresses
 * (no socket). next_wanted: an attempt failed with err and another address
 * is left: its socket closes, the conn stays CONNECTING. attempt_closed:
 * that socket closed; returns the state to go back to (CLOSING when the
 * application closed it meanwhile); xpr__loop_deliver_closes then calls
 * retry (when retrying says so). forget: the plan goes. */
int xpr__connect_idle(const xpr_conn *c);
/* For tests: connects to count address texts in order, as if a lookup
 * had answered them (so a closed port can come first). */
int xpr__connect_addresses(xpr_loop *loop, const char *const *addresses,
                           size_t count, const struct xpr_conn_callbacks *cb,
                           void *arg, xpr_conn **out);
int xpr__connect_next_wanted(xpr_conn *c, int err);
/* between: an attempt's socket is closing or the next attempt waits for
 * the loop; a close or abort meanwhile stops it (stop) once it closed. */
int xpr__connect_between(const xpr_conn *c);
void xpr__connect_stop(xpr_conn *c, int err);
enum xpr__conn_state xpr__connect_attempt_closed(xpr_conn *c);
int xpr__connect_retrying(const xpr_conn *c);
void xpr__connect_retry(xpr_conn *c);
void xpr__connect_forget(xpr_conn *c);

/* Keeps one of the loop's counts of what keeps xpr_loop_run going (timers,
 * watchers, signals) in step when an object stops (was) or starts (now)
 * counting. */
static inline void xpr__recount(uint64_t *count, int was, int now)
{
    if (now && !was)
        (*count)++;
    else if (was && !now)
        (*count)--;
}

/* xpr_loop_free: frees the loop's watchers (watch.c). */
void xpr__watchers_loop_free(xpr_loop *loop);

/* A counted copy of callbacks (refs 1), or NULL when out of memory; release
 * drops one reference (NULL is ignored). */
struct xpr__shared_callbacks *
xpr__callbacks_new(const struct xpr_conn_callbacks *cb);
void xpr__callbacks_release(struct xpr__shared_callbacks *shared);

#endif
