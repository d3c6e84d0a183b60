/* Loop services used across portable/ files (not by back ends). */
#ifndef XPR_LOOP_INTERNAL_H
#define XPR_LOOP_INTERNAL_H

#include "backend.h"

/* XPR_ETHREAD when the loop runs on another thread, else 0. */
int xpr__loop_check_thread(const xpr_loop *loop);
/* Runs queued posts; returns whether a stop was requested (and clears it);
 * *more says whether posts arrived meanwhile. */
int xpr__loop_run_posts(xpr_loop *loop, int *more);
void xpr__loop_deliver_closes(xpr_loop *loop);
/* xpr_loop_free: ends a live conn with XPR_ECANCELED. */
void xpr__conn_cancel(xpr_conn *c);
/* An accepted conn is announced (xpr__listener_conn_opened). */
void xpr__conn_opened(xpr_conn *c);
/* Frees a conn after its on_close ran. */
void xpr__conn_free(xpr_conn *c);
/* Common checks of the public conn calls: 0, or the error to return
 * (XPR_EINVAL, XPR_ETHREAD, XPR_ECLOSED once closing). */
int xpr__conn_usable(const xpr_conn *c);

/* A conn's timeouts (conn_timeout.c). start: at open (the listener's
 * first-data timeout, the idle timeout set while connecting); note_read:
 * bytes arrived; stop: closing (the flush has no deadline); release: the
 * conn ends; free: with the conn. start and note_read return 0 or an
 * error that ends the conn (a timer that cannot be armed). */
int xpr__conn_timeout_start(xpr_conn *c);
int xpr__conn_timeout_note_read(xpr_conn *c);
void xpr__conn_timeout_stop(xpr_conn *c);
void xpr__conn_timeout_release(xpr_conn *c);
void xpr__conn_timeout_free(xpr_conn *c);

/* A counted copy of callbacks (refs 1), or NULL when out of memory; release
 * drops one reference (NULL is ignored). */
struct xpr__shared_callbacks *
xpr__callbacks_new(const struct xpr_conn_callbacks *cb);
void xpr__callbacks_release(struct xpr__shared_callbacks *shared);

#endif
