/* A binary min-heap of timers keyed by (due time, start sequence), so timers
 * due at the same millisecond run in the order they were started. */
#ifndef XPR_TIMER_HEAP_H
#define XPR_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define XPR__HEAP_NONE ((size_t)-1)

struct xpr__heap_node {
    uint64_t due_ms;
    uint64_t seq;
    size_t index; /* position in the heap, XPR__HEAP_NONE when not in it */
};

struct xpr__heap {
    struct xpr__heap_node **items;
    size_t count;
    size_t capacity;
    uint64_t next_seq;
};

void xpr__heap_init(struct xpr__heap *heap);
void xpr__heap_free(struct xpr__heap *heap); /* the nodes are the caller's */
/* Inserts node with due_ms; it must not be in a heap. 0 or XPR_ENOMEM. */
int xpr__heap_push(struct xpr__heap *heap, struct xpr__heap_node *node,
                   uint64_t due_ms);
/* Removes node if it is in the heap; no-op otherwise. */
void xpr__heap_remove(struct xpr__heap *heap, struct xpr__heap_node *node);
/* The earliest node, or NULL when empty. */
struct xpr__heap_node *xpr__heap_top(const struct xpr__heap *heap);

#endif
