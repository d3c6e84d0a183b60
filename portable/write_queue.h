/* A FIFO of bytes accepted for sending: copies in, contiguous runs out.
 * Small writes are packed into the tail chunk. */
#ifndef XPR_WRITE_QUEUE_H
#define XPR_WRITE_QUEUE_H

#include <stddef.h>

struct xpr__wq_chunk;

struct xpr__write_queue {
    struct xpr__wq_chunk *head;
    struct xpr__wq_chunk *tail;
    size_t bytes; /* queued, not yet consumed */
};

void xpr__wq_init(struct xpr__write_queue *q);
/* Drops everything queued. */
void xpr__wq_clear(struct xpr__write_queue *q);
/* Appends a copy of n bytes. 0 or XPR_ENOMEM (then nothing was appended). */
int xpr__wq_push(struct xpr__write_queue *q, const void *p, size_t n);
/* The first contiguous run: *len == 0 and NULL when empty. */
const void *xpr__wq_peek(const struct xpr__write_queue *q, size_t *len);
/* Up to max_runs runs after the first skip bytes (skip <= bytes), for
 * vectored sends; returns how many. */
size_t xpr__wq_peekv(const struct xpr__write_queue *q, size_t skip,
                     const void **bases, size_t *lens, size_t max_runs);
/* Drops n bytes from the front (n <= bytes). */
void xpr__wq_consume(struct xpr__write_queue *q, size_t n);
static inline size_t xpr__wq_bytes(const struct xpr__write_queue *q)
{
    return q->bytes;
}

#endif
