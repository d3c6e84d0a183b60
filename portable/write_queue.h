/* A FIFO of bytes accepted for sending: copies in, or bytes the caller
 * lends (xpr_conn_write_lent), contiguous runs out. Small copied writes are
 * packed into the tail chunk. A lent chunk, once consumed or cleared, goes
 * to a released list whose owner runs its release callback later, from
 * the loop (never inside the call that consumed it). */
#ifndef XPR_WRITE_QUEUE_H
#define XPR_WRITE_QUEUE_H

#include <stddef.h>

#include "xpr.h"

struct xpr__wq_chunk;

/* Lent chunks whose release is due, oldest first. Calls that take one may
 * get NULL for a queue that never holds a lent chunk. */
struct xpr__wq_released {
    struct xpr__wq_chunk *head;
    struct xpr__wq_chunk *tail;
};

struct xpr__write_queue {
    struct xpr__wq_chunk *head;
    struct xpr__wq_chunk *tail;
    size_t bytes; /* queued, not yet consumed */
};

void xpr__wq_init(struct xpr__write_queue *q);
/* Drops everything queued; lent chunks go to released with XPR_ECANCELED. */
void xpr__wq_clear(struct xpr__write_queue *q,
                   struct xpr__wq_released *released);
/* Appends a copy of n bytes. 0 or XPR_ENOMEM (then nothing was appended). */
int xpr__wq_push(struct xpr__write_queue *q, const void *p, size_t n);
/* A chunk lending the caller's n > 0 bytes from p, or NULL when out of
 * memory. Then exactly one of: appended with xpr__wq_push_lent (its first
 * skip bytes already sent), released (all of it was sent), or freed with
 * xpr__wq_lent_discard (nothing was sent: the bytes are the caller's). */
struct xpr__wq_chunk *xpr__wq_lent_new(const void *p, size_t n,
                                       xpr_write_release_cb release, void *arg);
void xpr__wq_push_lent(struct xpr__write_queue *q, struct xpr__wq_chunk *c,
                       size_t skip);
void xpr__wq_lent_discard(struct xpr__wq_chunk *c);
/* Puts a lent chunk on released with status. */
void xpr__wq_release(struct xpr__wq_released *released, struct xpr__wq_chunk *c,
                     int status);
/* Runs and frees every released chunk, including those its callbacks
 * release meanwhile. */
void xpr__wq_run_released(struct xpr__wq_released *released);
/* The first contiguous run: *len == 0 and NULL when empty. */
const void *xpr__wq_peek(const struct xpr__write_queue *q, size_t *len);
/* Up to max_runs runs after the first skip bytes (skip <= bytes), for
 * vectored sends; returns how many. */
size_t xpr__wq_peekv(const struct xpr__write_queue *q, size_t skip,
                     const void **bases, size_t *lens, size_t max_runs);
/* Drops n bytes from the front (n <= bytes); lent chunks used up go to
 * released with status 0. */
void xpr__wq_consume(struct xpr__write_queue *q, size_t n,
                     struct xpr__wq_released *released);
static inline size_t xpr__wq_bytes(const struct xpr__write_queue *q)
{
    return q->bytes;
}

#endif
