/* Binary min-heap of timer nodes; see timer_heap.h. */
#include "timer_heap.h"

#include <stdlib.h>

#include "alloc.h"
#include "xpr.h"

static int node_before(const struct xpr__heap_node *a,
                       const struct xpr__heap_node *b)
{
    if (a->due_ms != b->due_ms)
        return a->due_ms < b->due_ms;
    return a->seq < b->seq;
}

static void place(struct xpr__heap *heap, size_t i, struct xpr__heap_node *n)
{
    heap->items[i] = n;
    n->index = i;
}

static void sift_up(struct xpr__heap *heap, size_t i)
{
    struct xpr__heap_node *n = heap->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!node_before(n, heap->items[parent]))
            break;
        place(heap, i, heap->items[parent]);
        i = parent;
    }
    place(heap, i, n);
}

static void sift_down(struct xpr__heap *heap, size_t i)
{
    struct xpr__heap_node *n = heap->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap->count)
            break;
        if (child + 1 < heap->count &&
            node_before(heap->items[child + 1], heap->items[child]))
            child++;
        if (!node_before(heap->items[child], n))
            break;
        place(heap, i, heap->items[child]);
        i = child;
    }
    place(heap, i, n);
}

void xpr__heap_init(struct xpr__heap *heap)
{
    heap->items = NULL;
    heap->count = 0;
    heap->capacity = 0;
    heap->next_seq = 0;
}

void xpr__heap_free(struct xpr__heap *heap)
{
    free(heap->items);
    xpr__heap_init(heap);
}

int xpr__heap_push(struct xpr__heap *heap, struct xpr__heap_node *node,
                   uint64_t due_ms)
{
    if (heap->count == heap->capacity) {
        size_t cap = heap->capacity ? heap->capacity * 2 : 16;
        struct xpr__heap_node **items =
            xpr__realloc(heap->items, cap * sizeof(*items));
        if (items == NULL)
            return XPR_ENOMEM;
        heap->items = items;
        heap->capacity = cap;
    }
    node->due_ms = due_ms;
    node->seq = heap->next_seq++;
    heap->items[heap->count] = node;
    node->index = heap->count++;
    sift_up(heap, node->index);
    return 0;
}

void xpr__heap_remove(struct xpr__heap *heap, struct xpr__heap_node *node)
{
    size_t i = node->index;
    if (i == XPR__HEAP_NONE || i >= heap->count || heap->items[i] != node)
        return;
    node->index = XPR__HEAP_NONE;
    heap->count--;
    if (i == heap->count)
        return;
    place(heap, i, heap->items[heap->count]);
    if (i > 0 && node_before(heap->items[i], heap->items[(i - 1) / 2]))
        sift_up(heap, i);
    else
        sift_down(heap, i);
}

struct xpr__heap_node *xpr__heap_top(const struct xpr__heap *heap)
{
    return heap->count ? heap->items[0] : NULL;
}
