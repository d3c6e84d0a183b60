/* See ready_list.h. */
#include "ready_list.h"

#include <stdlib.h>

#include "alloc.h"
#include "poller.h"
#include "xpr.h"

int xpr__ready_push(struct xpr__ready_list *r, void *slot)
{
    if (r->count == r->capacity) {
        /* both arrays grow together: a batch becomes the queue next time */
        size_t cap = r->capacity ? r->capacity * 2 : 64;
        void **items = xpr__realloc(r->items, cap * sizeof(*items));
        void **batch;
        if (items == NULL)
            return XPR_ENOMEM;
        r->items = items;
        batch = xpr__realloc(r->batch, cap * sizeof(*batch));
        if (batch == NULL)
            return XPR_ENOMEM;
        r->batch = batch;
        r->capacity = cap;
    }
    r->items[r->count++] = slot;
    return 0;
}

void **xpr__ready_take(struct xpr__ready_list *r, size_t *count)
{
    void **taken = r->items;
    *count = r->count;
    r->items = r->batch;
    r->batch = taken;
    r->count = 0;
    return taken;
}

void xpr__ready_free(struct xpr__ready_list *r)
{
    free(r->items);
    free(r->batch);
    r->items = r->batch = NULL;
    r->count = r->capacity = 0;
}

unsigned xpr__ready_events(unsigned mask, unsigned pending, int closed)
{
    unsigned events = 0;
    if (mask & XPR__IO_READ) {
        events |= pending & (XPR__IO_READ | XPR__IO_ERROR);
        if (closed)
            events |= XPR__IO_READ | XPR__IO_ERROR;
    }
    if (mask & XPR__IO_WRITE)
        events |= pending & (XPR__IO_WRITE | XPR__IO_ERROR);
    return events;
}
