/*
 * The connection ramp of xpr-echo compare: idle connections to one server,
 * opened in batches on the caller's loop and held open until released.
 */
#ifndef ECHO_RAMP_H
#define ECHO_RAMP_H

#include <stddef.h>

#include <xpr.h>

struct ramp;

/* Room for up to target connections to address. NULL when out of memory. */
struct ramp *ramp_new(xpr_loop *loop, const char *address, size_t target);

/* Starts up to n more connections (never beyond the target). Returns the
 * number started; a connect refused at once counts as failed. */
size_t ramp_start(struct ramp *r, size_t n);

size_t ramp_attempted(const struct ramp *r); /* connects started */
size_t ramp_pending(const struct ramp *r);   /* neither open nor failed yet */
size_t ramp_open(const struct ramp *r);      /* open now */
size_t ramp_failed(const struct ramp *r);    /* connects that failed */
size_t ramp_dropped(const struct ramp *r);   /* opened, then closed by peer */
/* The first error a connection met (an XPR_E* code), or 0. */
int ramp_first_error(const struct ramp *r);

/* Aborts up to n open connections (a reset each, so no TIME_WAIT is left on
 * the client's ports); the on_close of each follows from the loop. Returns
 * how many it aborted. */
size_t ramp_release(struct ramp *r, size_t n);

/* Frees the ramp: once every connection is closed, or after the loop is
 * freed. */
void ramp_free(struct ramp *r);

#endif
