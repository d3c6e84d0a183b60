/* Run modes (xpr_loop_run_mode), unreferenced timers and the loop's clock:
 * one round waits or not as asked and says whether work is left; an
 * unreferenced timer fires while other work keeps the loop running but
 * does not keep it running itself; xpr_loop_now holds still within a batch
 * of callbacks and moves with xpr_loop_update_time. */
#include <string.h>

#include "common.h"
#include "platform.h"

struct ticks {
    unsigned fired;
    xpr_loop *loop;
    uint64_t now_first, now_later, now_updated;
};

static void count_tick(xpr_timer *t, void *arg)
{
    struct ticks *k = arg;
    (void)t;
    k->fired++;
}

static xpr_loop *plain_loop(void)
{
    xpr_loop *loop;
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    return loop;
}

static void test_nowait(void **state)
{
    xpr_loop *loop = plain_loop();
    xpr_timer *t;
    struct ticks k;
    uint64_t start;
    (void)state;
    memset(&k, 0, sizeof(k));
    assert_int_equal(xpr_loop_run_mode(loop, XPR_RUN_NOWAIT), 0); /* empty */
    assert_int_equal(xpr_timer_new(loop, count_tick, &k, &t), 0);
    assert_int_equal(xpr_timer_start(t, 2000, 0), 0);
    start = test_now_ms();
    assert_int_equal(xpr_loop_run_mode(loop, XPR_RUN_NOWAIT), 1);
    assert_true(test_now_ms() - start < 1000); /* it did not wait */
    assert_int_equal(k.fired, 0);
    assert_int_equal(xpr_loop_run_mode(loop, 7), XPR_EINVAL);
    xpr_timer_free(t);
    xpr_loop_free(loop);
}

static void test_once_waits_for_timer(void **state)
{
    xpr_loop *loop = plain_loop();
    xpr_timer *t;
    struct ticks k;
    uint64_t start = test_now_ms();
    int rc = 1;
    (void)state;
    memset(&k, 0, sizeof(k));
    assert_int_equal(xpr_timer_new(loop, count_tick, &k, &t), 0);
    assert_int_equal(xpr_timer_start(t, 50, 0), 0);
    /* A wait may end early (a Windows tick, nonblocking's short sleeps):
     * such a round does nothing and says work is left. */
    while (rc == 1 && test_now_ms() - start < 5000)
        rc = xpr_loop_run_mode(loop, XPR_RUN_ONCE);
    assert_int_equal(rc, 0); /* the one-shot timer ran: no work left */
    assert_int_equal(k.fired, 1);
    assert_true(test_now_ms() - start >= 40);
    xpr_timer_free(t);
    xpr_loop_free(loop);
}

static void test_unref_timer(void **state)
{
    xpr_loop *loop = plain_loop();
    xpr_timer *housekeeping, *work;
    struct ticks k, w;
    (void)state;
    memset(&k, 0, sizeof(k));
    memset(&w, 0, sizeof(w));
    assert_int_equal(xpr_timer_new(loop, count_tick, &k, &housekeeping), 0);
    assert_int_equal(xpr_timer_start(housekeeping, 10, 10), 0);
    assert_int_equal(xpr_timer_unref(housekeeping), 0);
    assert_int_equal(xpr_timer_unref(housekeeping), 0); /* idempotent */
    /* Alone, it keeps nothing running. */
    assert_int_equal(xpr_loop_run(loop), 0);
    assert_int_equal(k.fired, 0);
    /* Beside referenced work it fires. */
    assert_int_equal(xpr_timer_new(loop, count_tick, &w, &work), 0);
    assert_int_equal(xpr_timer_start(work, 200, 0), 0);
    assert_int_equal(xpr_loop_run(loop), 0);
    assert_int_equal(w.fired, 1);
    assert_true(k.fired >= 3);
    /* Referenced again, it keeps the loop running: one round says so. */
    assert_int_equal(xpr_timer_ref(housekeeping), 0);
    assert_int_equal(xpr_loop_run_mode(loop, XPR_RUN_NOWAIT), 1);
    assert_int_equal(xpr_timer_unref(NULL), XPR_EINVAL);
    assert_int_equal(xpr_timer_ref(NULL), XPR_EINVAL);
    xpr_timer_free(work);
    xpr_timer_free(housekeeping);
    xpr_loop_free(loop);
}

static void clock_tick(xpr_timer *t, void *arg)
{
    struct ticks *k = arg;
    uint64_t start = test_now_ms();
    (void)t;
    k->now_first = xpr_loop_now(k->loop);
    while (test_now_ms() - start < 30)
        ; /* a long callback */
    k->now_later = xpr_loop_now(k->loop);
    xpr_loop_update_time(k->loop);
    k->now_updated = xpr_loop_now(k->loop);
    k->fired++;
}

static void test_loop_clock(void **state)
{
    xpr_loop *loop = plain_loop();
    xpr_timer *t;
    struct ticks k;
    uint64_t made;
    (void)state;
    memset(&k, 0, sizeof(k));
    k.loop = loop;
    made = xpr_loop_now(loop);
    assert_true(made > 0);
    assert_int_equal(xpr_timer_new(loop, clock_tick, &k, &t), 0);
    assert_int_equal(xpr_timer_start(t, 20, 0), 0);
    assert_int_equal(xpr_loop_run(loop), 0);
    assert_int_equal(k.fired, 1);
    assert_true(k.now_first >= made + 15);
    assert_true(k.now_later == k.now_first);
    assert_true(k.now_updated >= k.now_first + 25);
    xpr_timer_free(t);
    xpr_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nowait),
        cmocka_unit_test(test_once_waits_for_timer),
        cmocka_unit_test(test_unref_timer),
        cmocka_unit_test(test_loop_clock),
    };
    return cmocka_run_group_tests_name("run-modes", tests, NULL, NULL);
}
