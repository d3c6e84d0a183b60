/* Unit tests of the write queue (portable/write_queue.c): what comes out of
 * peek/peekv is always the front of what went in, across chunk boundaries,
 * whatever the sizes of pushes and consumes, copied or lent; every lent
 * chunk is released exactly once, with 0 when consumed and XPR_ECANCELED
 * when cleared, and only when its owner runs the released list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "write_queue.h"
#include "xpr.h"

#define MAX_RUNS 16
/* Byte o of the test stream is reference[o % REFERENCE_LEN]; the length is
 * prime so no chunk size lines up with it. */
#define REFERENCE_LEN 1000003u

static unsigned char reference[REFERENCE_LEN];

static uint32_t rng_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static int group_setup(void **state)
{
    uint32_t rng = 0x12345678u;
    size_t i;
    (void)state;
    for (i = 0; i < REFERENCE_LEN; i++) {
        reference[i] = (unsigned char)rng_next(&rng);
    }
    return 0;
}

static void stream_fill(uint64_t offset, unsigned char *buf, size_t n)
{
    while (n > 0) {
        size_t at = (size_t)(offset % REFERENCE_LEN);
        size_t piece = REFERENCE_LEN - at < n ? REFERENCE_LEN - at : n;
        memcpy(buf, reference + at, piece);
        buf += piece;
        offset += piece;
        n -= piece;
    }
}

/* Non-zero when p[0..n) is the stream at offset. */
static int stream_matches(uint64_t offset, const void *p, size_t n)
{
    const unsigned char *in = p;
    while (n > 0) {
        size_t at = (size_t)(offset % REFERENCE_LEN);
        size_t piece = REFERENCE_LEN - at < n ? REFERENCE_LEN - at : n;
        if (memcmp(in, reference + at, piece) != 0) {
            return 0;
        }
        in += piece;
        offset += piece;
        n -= piece;
    }
    return 1;
}

/* The queue holds stream bytes consumed .. pushed-1. */
struct model {
    struct xpr__write_queue q;
    struct xpr__wq_released released;
    uint64_t pushed;
    uint64_t consumed;
    unsigned lent, released_ok, released_cancelled;
};

struct lent_buf {
    struct model *m;
    unsigned char bytes[];
};

static void lent_released(void *arg, int status)
{
    struct lent_buf *b = arg;
    assert_true(status == 0 || status == XPR_ECANCELED);
    if (status == 0)
        b->m->released_ok++;
    else
        b->m->released_cancelled++;
    free(b);
}

/* Appends n > 0 bytes of the stream, lent instead of copied. */
static void model_push_lent(struct model *m, size_t n)
{
    struct lent_buf *b = malloc(sizeof(*b) + n);
    struct xpr__wq_chunk *c;
    assert_non_null(b);
    b->m = m;
    stream_fill(m->pushed, b->bytes, n);
    c = xpr__wq_lent_new(b->bytes, n, lent_released, b);
    assert_non_null(c);
    xpr__wq_push_lent(&m->q, c, 0);
    m->lent++;
    m->pushed += n;
    assert_int_equal(xpr__wq_bytes(&m->q), m->pushed - m->consumed);
}

/* Every lent chunk given back: released exactly once each. */
static void assert_all_released(struct model *m)
{
    xpr__wq_run_released(&m->released);
    assert_null(m->released.head);
    assert_int_equal(m->released_ok + m->released_cancelled, m->lent);
}

static void model_push(struct model *m, size_t n)
{
    unsigned char *buf = malloc(n > 0 ? n : 1);
    assert_non_null(buf);
    stream_fill(m->pushed, buf, n);
    assert_int_equal(xpr__wq_push(&m->q, buf, n), 0);
    free(buf);
    m->pushed += n;
    assert_int_equal(xpr__wq_bytes(&m->q), m->pushed - m->consumed);
}

static void assert_peek_is_front(const struct model *m)
{
    size_t len = 12345;
    const void *run = xpr__wq_peek(&m->q, &len);
    uint64_t queued = m->pushed - m->consumed;

    if (queued == 0) {
        assert_null(run);
        assert_int_equal(len, 0);
        return;
    }
    assert_non_null(run);
    assert_true(len > 0 && len <= queued);
    assert_true(stream_matches(m->consumed, run, len));
}

/* peekv after skip bytes returns the stream from consumed + skip on. */
static void assert_peekv_after(const struct model *m, size_t skip,
                               size_t max_runs)
{
    const void *bases[MAX_RUNS];
    size_t lens[MAX_RUNS];
    size_t runs = xpr__wq_peekv(&m->q, skip, bases, lens, max_runs);
    uint64_t queued = m->pushed - m->consumed - skip;
    uint64_t offset = m->consumed + skip;
    size_t i;

    assert_true(runs <= max_runs);
    for (i = 0; i < runs; i++) {
        assert_non_null(bases[i]);
        assert_true(lens[i] > 0);
        assert_true(stream_matches(offset, bases[i], lens[i]));
        offset += lens[i];
    }
    assert_true(offset - m->consumed - skip <= queued);
    /* Fewer bytes than queued only when the run budget was used up. */
    if (offset - m->consumed - skip < queued) {
        assert_int_equal(runs, max_runs);
    }
    if (queued == 0) {
        assert_int_equal(runs, 0);
    }
}

static void assert_peekv_is_front(const struct model *m, size_t max_runs)
{
    assert_peekv_after(m, 0, max_runs);
}

static void model_consume(struct model *m, size_t n)
{
    xpr__wq_consume(&m->q, n, &m->released);
    m->consumed += n;
    assert_int_equal(xpr__wq_bytes(&m->q), m->pushed - m->consumed);
}

static void test_empty_queue(void **state)
{
    struct model m;
    (void)state;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    assert_int_equal(xpr__wq_bytes(&m.q), 0);
    assert_peek_is_front(&m);
    assert_peekv_is_front(&m, 4);
    model_push(&m, 0); /* n == 0 appends nothing */
    assert_peek_is_front(&m);
    xpr__wq_clear(&m.q, &m.released);
    assert_int_equal(xpr__wq_bytes(&m.q), 0);
}

static void test_random_push_consume(void **state)
{
    struct model m;
    uint32_t rng = 0x9e3779b9u;
    size_t round;
    (void)state;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    for (round = 0; round < 2000; round++) {
        uint32_t action = rng_next(&rng) % 8;
        uint64_t queued = m.pushed - m.consumed;

        if (action < 4) {
            /* Sizes from 1 byte to well over any sensible chunk size; one
             * push in four lent. */
            size_t sizes[] = {1, 7, 100, 4096, 20000, 70000};
            size_t limit = sizes[rng_next(&rng) % 6];
            size_t n = 1 + rng_next(&rng) % limit;
            if (rng_next(&rng) % 4 == 0)
                model_push_lent(&m, n);
            else
                model_push(&m, n);
        } else if (action < 6 && queued > 0) {
            model_consume(&m, 1 + rng_next(&rng) % queued);
        } else if (queued > 0) {
            /* Consume exactly the first run: lands on a chunk boundary. */
            size_t len = 0;
            xpr__wq_peek(&m.q, &len);
            model_consume(&m, len);
        }
        assert_peek_is_front(&m);
        assert_peekv_is_front(&m, 1 + rng_next(&rng) % MAX_RUNS);
        /* As a transport with bytes in flight sees it: after a skip that
         * may end inside a chunk, on its boundary, or at the very end. */
        assert_peekv_after(
            &m, (size_t)(rng_next(&rng) % (m.pushed - m.consumed + 1)),
            1 + rng_next(&rng) % MAX_RUNS);
        if (m.pushed - m.consumed > 256u * 1024) {
            model_consume(&m, (size_t)(m.pushed - m.consumed) / 2);
        }
    }
    /* Drain through peekv, as a vectored send would. */
    while (m.pushed > m.consumed) {
        const void *bases[MAX_RUNS];
        size_t lens[MAX_RUNS];
        size_t runs = xpr__wq_peekv(&m.q, 0, bases, lens, MAX_RUNS);
        size_t total = 0;
        size_t i;
        assert_true(runs > 0);
        for (i = 0; i < runs; i++) {
            total += lens[i];
        }
        assert_peekv_is_front(&m, MAX_RUNS);
        model_consume(&m, total);
    }
    assert_peek_is_front(&m);
    xpr__wq_clear(&m.q, &m.released);
    assert_true(m.lent > 0);
    assert_int_equal(m.released_cancelled, 0); /* all consumed */
    assert_all_released(&m);
}

/* Lent chunks wait on the released list until its owner runs it; cleared
 * ones report XPR_ECANCELED. */
static void test_lent_release(void **state)
{
    struct model m;
    (void)state;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    model_push(&m, 10);
    model_push_lent(&m, 1000);
    model_push(&m, 5); /* not packed into the lent chunk */
    model_push_lent(&m, 2000);
    assert_peek_is_front(&m);
    assert_peekv_is_front(&m, MAX_RUNS);
    model_consume(&m, 10 + 999); /* one byte short of the first */
    xpr__wq_run_released(&m.released);
    assert_int_equal(m.released_ok, 0);
    model_consume(&m, 1);
    assert_int_equal(m.released_ok, 0); /* due, not run yet */
    assert_non_null(m.released.head);
    xpr__wq_run_released(&m.released);
    assert_int_equal(m.released_ok, 1);
    assert_peek_is_front(&m);
    xpr__wq_clear(&m.q, &m.released);
    assert_int_equal(m.released_cancelled, 0);
    assert_all_released(&m);
    assert_int_equal(m.released_cancelled, 1);
}

static void test_clear_drops_everything(void **state)
{
    struct model m;
    size_t i;
    (void)state;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    for (i = 0; i < 50; i++) {
        model_push(&m, 10000 + i);
    }
    model_consume(&m, 12345);
    xpr__wq_clear(&m.q, &m.released);
    assert_int_equal(xpr__wq_bytes(&m.q), 0);
    m.consumed = m.pushed;
    assert_peek_is_front(&m);
    assert_peekv_is_front(&m, MAX_RUNS);
    /* Usable again after clear. */
    model_push(&m, 300000);
    assert_peek_is_front(&m);
    assert_peekv_is_front(&m, MAX_RUNS);
    xpr__wq_clear(&m.q, &m.released);
    xpr__wq_clear(&m.q, &m.released); /* clearing an empty queue is fine */
    assert_int_equal(xpr__wq_bytes(&m.q), 0);
}

static void test_small_writes_are_packed(void **state)
{
    struct model m;
    const void *bases[MAX_RUNS];
    size_t lens[MAX_RUNS];
    size_t runs;
    size_t i;
    (void)state;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    for (i = 0; i < 1000; i++) {
        model_push(&m, 1);
    }
    /* 1000 one-byte writes must not become 1000 runs. */
    runs = xpr__wq_peekv(&m.q, 0, bases, lens, MAX_RUNS);
    assert_true(runs >= 1 && runs < MAX_RUNS);
    assert_peekv_is_front(&m, MAX_RUNS);
    xpr__wq_clear(&m.q, &m.released);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_queue),
        cmocka_unit_test(test_random_push_consume),
        cmocka_unit_test(test_clear_drops_everything),
        cmocka_unit_test(test_small_writes_are_packed),
        cmocka_unit_test(test_lent_release),
    };
    return cmocka_run_group_tests_name("unit/write-queue", tests, group_setup,
                                       NULL);
}
