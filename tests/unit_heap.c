/* Unit tests of the timer heap (portable/timer_heap.c) against a reference
 * ordering: earliest due time first, equal due times in push order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timer_heap.h"
#include "xpr.h"

#define NODE_COUNT 1500

struct tracked_node {
    struct xpr__heap_node node;
    int in_heap;
    uint64_t due_ms;
    uint64_t push_order;
};

static uint32_t rng_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static void init_nodes(struct tracked_node *nodes, size_t count)
{
    size_t i;
    memset(nodes, 0, count * sizeof(*nodes));
    for (i = 0; i < count; i++) {
        nodes[i].node.index = XPR__HEAP_NONE;
    }
}

/* Every node the heap holds sits at its recorded index, and each parent is
 * due no later than its children. */
static void assert_heap_consistent(const struct xpr__heap *heap)
{
    size_t i;
    for (i = 0; i < heap->count; i++) {
        const struct xpr__heap_node *n = heap->items[i];
        assert_int_equal(n->index, i);
        if (i > 0) {
            const struct xpr__heap_node *parent = heap->items[(i - 1) / 2];
            assert_true(parent->due_ms < n->due_ms ||
                        (parent->due_ms == n->due_ms && parent->seq < n->seq));
        }
    }
}

/* The in-heap node that must come out first by (due, push order). */
static struct tracked_node *reference_min(struct tracked_node *nodes,
                                          size_t count)
{
    struct tracked_node *best = NULL;
    size_t i;
    for (i = 0; i < count; i++) {
        struct tracked_node *t = &nodes[i];
        if (t->in_heap &&
            (best == NULL || t->due_ms < best->due_ms ||
             (t->due_ms == best->due_ms && t->push_order < best->push_order))) {
            best = t;
        }
    }
    return best;
}

static void test_empty_heap(void **state)
{
    struct xpr__heap heap;
    struct xpr__heap_node lone = {0, 0, XPR__HEAP_NONE};
    (void)state;

    xpr__heap_init(&heap);
    assert_null(xpr__heap_top(&heap));
    xpr__heap_remove(&heap, &lone); /* not in the heap: no-op */
    assert_int_equal(heap.count, 0);
    assert_int_equal(xpr__heap_push(&heap, &lone, 7), 0);
    assert_ptr_equal(xpr__heap_top(&heap), &lone);
    assert_int_equal(lone.due_ms, 7);
    xpr__heap_remove(&heap, &lone);
    assert_int_equal(lone.index, XPR__HEAP_NONE);
    assert_null(xpr__heap_top(&heap));
    xpr__heap_free(&heap);
}

static void test_equal_due_pop_in_push_order(void **state)
{
    struct tracked_node nodes[64];
    struct xpr__heap heap;
    size_t i;
    (void)state;

    init_nodes(nodes, 64);
    xpr__heap_init(&heap);
    /* Pushed in a scrambled index order, all due at the same time. */
    for (i = 0; i < 64; i++) {
        size_t k = (i * 37) % 64;
        assert_int_equal(xpr__heap_push(&heap, &nodes[k].node, 100), 0);
        nodes[k].push_order = i;
    }
    assert_heap_consistent(&heap);
    for (i = 0; i < 64; i++) {
        struct xpr__heap_node *top = xpr__heap_top(&heap);
        assert_non_null(top);
        assert_ptr_equal(top, &nodes[(i * 37) % 64].node);
        xpr__heap_remove(&heap, top);
    }
    assert_null(xpr__heap_top(&heap));
    xpr__heap_free(&heap);
}

static void test_random_against_reference(void **state)
{
    static struct tracked_node nodes[NODE_COUNT];
    struct xpr__heap heap;
    uint32_t rng = 0x2545f491u;
    uint64_t push_order = 0;
    size_t round;
    (void)state;

    init_nodes(nodes, NODE_COUNT);
    xpr__heap_init(&heap);
    for (round = 0; round < 20000; round++) {
        struct tracked_node *t = &nodes[rng_next(&rng) % NODE_COUNT];
        uint32_t action = rng_next(&rng) % 10;

        if (action < 5 && !t->in_heap) {
            /* Few distinct due times, so ties are common. */
            t->due_ms = rng_next(&rng) % 50;
            assert_int_equal(xpr__heap_push(&heap, &t->node, t->due_ms), 0);
            t->in_heap = 1;
            t->push_order = push_order++;
        } else if (action < 8) {
            xpr__heap_remove(&heap, &t->node); /* no-op when not in it */
            t->in_heap = 0;
            assert_int_equal(t->node.index, XPR__HEAP_NONE);
        } else {
            struct tracked_node *expected = reference_min(nodes, NODE_COUNT);
            struct xpr__heap_node *top = xpr__heap_top(&heap);
            if (expected == NULL) {
                assert_null(top);
            } else {
                assert_ptr_equal(top, &expected->node);
                xpr__heap_remove(&heap, top);
                expected->in_heap = 0;
            }
        }
        if (round % 1000 == 0) {
            assert_heap_consistent(&heap);
        }
    }
    assert_heap_consistent(&heap);
    /* Drain: everything left comes out in reference order. */
    for (;;) {
        struct tracked_node *expected = reference_min(nodes, NODE_COUNT);
        struct xpr__heap_node *top = xpr__heap_top(&heap);
        if (expected == NULL) {
            assert_null(top);
            break;
        }
        assert_ptr_equal(top, &expected->node);
        xpr__heap_remove(&heap, top);
        expected->in_heap = 0;
    }
    assert_int_equal(heap.count, 0);
    xpr__heap_free(&heap);
}

static void test_remove_from_middle_keeps_order(void **state)
{
    struct tracked_node nodes[200];
    struct xpr__heap heap;
    uint64_t last_due = 0;
    size_t i;
    (void)state;

    init_nodes(nodes, 200);
    xpr__heap_init(&heap);
    for (i = 0; i < 200; i++) {
        assert_int_equal(
            xpr__heap_push(&heap, &nodes[i].node, (i * 7919) % 1000), 0);
    }
    for (i = 0; i < 200; i += 3) {
        xpr__heap_remove(&heap, &nodes[i].node);
        xpr__heap_remove(&heap, &nodes[i].node); /* twice: no-op */
    }
    assert_heap_consistent(&heap);
    for (i = 0; xpr__heap_top(&heap) != NULL; i++) {
        struct xpr__heap_node *top = xpr__heap_top(&heap);
        assert_true(top->due_ms >= last_due);
        assert_true(((size_t)((struct tracked_node *)top - nodes)) % 3 != 0);
        last_due = top->due_ms;
        xpr__heap_remove(&heap, top);
    }
    assert_int_equal(i, 200 - 67);
    xpr__heap_free(&heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_heap),
        cmocka_unit_test(test_equal_due_pop_in_push_order),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_remove_from_middle_keeps_order),
    };
    return cmocka_run_group_tests_name("unit/heap", tests, NULL, NULL);
}
