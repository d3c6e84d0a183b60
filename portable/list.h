/* An intrusive circular doubly-linked list. */
#ifndef XPR_LIST_H
#define XPR_LIST_H

#include <stddef.h>

struct xpr__link {
    struct xpr__link *prev;
    struct xpr__link *next;
};

struct xpr__list {
    struct xpr__link head;
};

#define XPR__CONTAINER(ptr, type, member)                                      \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void xpr__list_init(struct xpr__list *l)
{
    l->head.prev = l->head.next = &l->head;
}

static inline int xpr__list_empty(const struct xpr__list *l)
{
    return l->head.next == &l->head;
}

static inline void xpr__list_push_back(struct xpr__list *l, struct xpr__link *n)
{
    n->prev = l->head.prev;
    n->next = &l->head;
    l->head.prev->next = n;
    l->head.prev = n;
}

static inline void xpr__list_remove(struct xpr__link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

static inline struct xpr__link *xpr__list_first(const struct xpr__list *l)
{
    return xpr__list_empty(l) ? NULL : l->head.next;
}

#endif
