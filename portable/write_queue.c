/* FIFO of bytes to send; see write_queue.h. Chunks are at least
 * CHUNK_MIN bytes so a stream of small writes costs one allocation per
 * CHUNK_MIN bytes, not one per write. */
#include "write_queue.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "xpr.h"

#define CHUNK_MIN 16384

struct xpr__wq_chunk {
    struct xpr__wq_chunk *next;
    size_t start; /* first unsent byte */
    size_t end;   /* one past the last stored byte */
    size_t capacity;
    /* Lent chunks: the caller's bytes, and how to give them back. */
    const unsigned char *lent;
    xpr_write_release_cb release;
    void *release_arg;
    int status;
    unsigned char data[];
};

static const unsigned char *bytes_of(const struct xpr__wq_chunk *c)
{
    return c->lent != NULL ? c->lent : c->data;
}

/* A chunk leaves the queue: freed, or released when lent. */
static void drop_chunk(struct xpr__wq_chunk *c,
                       struct xpr__wq_released *released, int status)
{
    if (c->lent != NULL)
        xpr__wq_release(released, c, status);
    else
        free(c);
}

void xpr__wq_init(struct xpr__write_queue *q)
{
    q->head = q->tail = NULL;
    q->bytes = 0;
}

void xpr__wq_clear(struct xpr__write_queue *q,
                   struct xpr__wq_released *released)
{
    struct xpr__wq_chunk *c = q->head;
    while (c != NULL) {
        struct xpr__wq_chunk *next = c->next;
        drop_chunk(c, released, XPR_ECANCELED);
        c = next;
    }
    xpr__wq_init(q);
}

struct xpr__wq_chunk *xpr__wq_lent_new(const void *p, size_t n,
                                       xpr_write_release_cb release, void *arg)
{
    struct xpr__wq_chunk *c = xpr__calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->end = c->capacity = n;
    c->lent = p;
    c->release = release;
    c->release_arg = arg;
    return c;
}

void xpr__wq_lent_discard(struct xpr__wq_chunk *c)
{
    free(c);
}

void xpr__wq_push_lent(struct xpr__write_queue *q, struct xpr__wq_chunk *c,
                       size_t skip)
{
    c->start = skip;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->bytes += c->end - c->start;
}

void xpr__wq_release(struct xpr__wq_released *released, struct xpr__wq_chunk *c,
                     int status)
{
    c->next = NULL;
    c->status = status;
    if (released->tail)
        released->tail->next = c;
    else
        released->head = c;
    released->tail = c;
}

void xpr__wq_run_released(struct xpr__wq_released *released)
{
    struct xpr__wq_chunk *c;
    while ((c = released->head) != NULL) {
        released->head = c->next;
        if (released->head == NULL)
            released->tail = NULL;
        c->release(c->release_arg, c->status);
        free(c);
    }
}

int xpr__wq_push(struct xpr__write_queue *q, const void *p, size_t n)
{
    struct xpr__wq_chunk *tail = q->tail;
    size_t room = tail && !tail->lent ? tail->capacity - tail->end : 0;
    size_t first = n < room ? n : room;
    size_t rest = n - first;
    if (rest > 0) {
        size_t cap = rest > CHUNK_MIN ? rest : CHUNK_MIN;
        struct xpr__wq_chunk *c;
        if (cap > (size_t)-1 - sizeof(*c))
            return XPR_ENOMEM;
        c = xpr__malloc(sizeof(*c) + cap);
        if (c == NULL)
            return XPR_ENOMEM;
        c->next = NULL;
        c->start = 0;
        c->end = rest;
        c->capacity = cap;
        c->lent = NULL;
        memcpy(c->data, (const unsigned char *)p + first, rest);
        if (tail)
            tail->next = c;
        else
            q->head = c;
        q->tail = c;
    }
    if (first > 0) {
        memcpy(tail->data + tail->end, p, first);
        tail->end += first;
    }
    q->bytes += n;
    return 0;
}

const void *xpr__wq_peek(const struct xpr__write_queue *q, size_t *len)
{
    if (q->head == NULL) {
        *len = 0;
        return NULL;
    }
    *len = q->head->end - q->head->start;
    return bytes_of(q->head) + q->head->start;
}

size_t xpr__wq_peekv(const struct xpr__write_queue *q, size_t skip,
                     const void **bases, size_t *lens, size_t max_runs)
{
    size_t n = 0;
    const struct xpr__wq_chunk *c;
    for (c = q->head; c != NULL && n < max_runs; c = c->next) {
        size_t len = c->end - c->start;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        bases[n] = bytes_of(c) + c->start + skip;
        lens[n] = len - skip;
        skip = 0;
        n++;
    }
    return n;
}

void xpr__wq_consume(struct xpr__write_queue *q, size_t n,
                     struct xpr__wq_released *released)
{
    if (n > q->bytes)
        n = q->bytes;
    q->bytes -= n;
    while (n > 0) {
        struct xpr__wq_chunk *c = q->head;
        size_t avail = c->end - c->start;
        if (n < avail) {
            c->start += n;
            return;
        }
        n -= avail;
        q->head = c->next;
        drop_chunk(c, released, 0);
    }
    if (q->head == NULL)
        q->tail = NULL;
}
