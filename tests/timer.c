/* Timers: order, repeats, stop / free / restart inside callbacks, and
 * never firing early. */
#include <string.h>

#include "common.h"
#include "platform.h"

#define MAX_EVENTS 64

/* What fired, in order. */
struct timeline {
    xpr_loop *loop;
    int events[MAX_EVENTS];
    size_t count;
    size_t stop_after; /* stop the loop after this many events (0 = never) */
    size_t idle_after; /* let the loop go idle after this many */
};

struct probe {
    struct timeline *timeline;
    int id;
    xpr_timer *timer;
    unsigned calls;
    unsigned stop_at_call;  /* xpr_timer_stop itself at this call */
    unsigned free_at_call;  /* xpr_timer_free itself at this call */
    unsigned restarts_left; /* xpr_timer_start itself again this often */
    xpr_timer *victim;      /* stop (or free) this other timer */
    int free_victim;
    int stop_loop; /* xpr_loop_stop at the first call */
    uint64_t started_ms;
    uint64_t timeout_ms;
    uint64_t fired_ms;
};

static void record(struct timeline *t, int id)
{
    if (CHECK(t->count < MAX_EVENTS)) {
        t->events[t->count++] = id;
    }
    if (t->stop_after != 0 && t->count == t->stop_after) {
        xpr_loop_stop(t->loop);
    }
    if (t->idle_after != 0 && t->count == t->idle_after) {
        tloop_let_idle(t->loop);
    }
}

static void on_probe(xpr_timer *timer, void *arg)
{
    struct probe *p = arg;

    CHECK(timer == p->timer);
    p->calls++;
    p->fired_ms = test_now_ms();
    if (p->calls == 1) {
        /* Never early: at least timeout_ms after the start. */
        CHECK(p->fired_ms - p->started_ms >= p->timeout_ms);
    }
    if (p->victim != NULL) {
        if (p->free_victim) {
            xpr_timer_free(p->victim);
        } else {
            CHECK_EQ(xpr_timer_stop(p->victim), 0);
        }
        p->victim = NULL;
    }
    if (p->calls == p->stop_at_call) {
        CHECK_EQ(xpr_timer_stop(timer), 0);
    }
    if (p->restarts_left > 0) {
        p->restarts_left--;
        p->started_ms = test_now_ms();
        CHECK_EQ(xpr_timer_start(timer, p->timeout_ms, 0), 0);
    }
    if (p->calls == p->free_at_call) {
        xpr_timer_free(timer);
        p->timer = NULL;
    }
    record(p->timeline, p->id);
    if (p->stop_loop) {
        xpr_loop_stop(p->timeline->loop);
    }
}

static void probe_new(struct probe *p, struct timeline *t, int id)
{
    memset(p, 0, sizeof(*p));
    p->timeline = t;
    p->id = id;
    assert_int_equal(xpr_timer_new(t->loop, on_probe, p, &p->timer), 0);
    assert_non_null(p->timer);
}

static void probe_start(struct probe *p, uint64_t timeout_ms,
                        uint64_t repeat_ms)
{
    p->timeout_ms = timeout_ms;
    p->started_ms = test_now_ms();
    assert_int_equal(xpr_timer_start(p->timer, timeout_ms, repeat_ms), 0);
}

static void timeline_init(struct timeline *t, xpr_loop *loop)
{
    memset(t, 0, sizeof(*t));
    t->loop = loop;
}

static void assert_events(const struct timeline *t, const int *expected,
                          size_t count)
{
    size_t i;
    assert_int_equal(t->count, count);
    for (i = 0; i < count; i++) {
        assert_int_equal(t->events[i], expected[i]);
    }
}

static void test_distinct_timeouts_fire_in_order(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe p[3];
    const int expected[] = {1, 2, 0};
    (void)state;

    timeline_init(&t, loop);
    t.stop_after = 3;
    probe_new(&p[0], &t, 0);
    probe_new(&p[1], &t, 1);
    probe_new(&p[2], &t, 2);
    probe_start(&p[0], 60, 0);
    probe_start(&p[1], 10, 0);
    probe_start(&p[2], 30, 0);
    tloop_run(loop, 10000);
    assert_events(&t, expected, 3);
    xpr_timer_free(p[0].timer);
    xpr_timer_free(p[1].timer);
    xpr_timer_free(p[2].timer);
    tloop_free(loop);
}

static void test_equal_timeouts_fire_in_start_order(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe p[6];
    const int expected[] = {5, 4, 3, 2, 1, 0};
    int i;
    (void)state;

    timeline_init(&t, loop);
    t.stop_after = 6;
    for (i = 0; i < 6; i++) {
        probe_new(&p[i], &t, i);
    }
    for (i = 5; i >= 0; i--) {
        probe_start(&p[i], 5, 0);
    }
    tloop_run(loop, 10000);
    assert_events(&t, expected, 6);
    for (i = 0; i < 6; i++) {
        xpr_timer_free(p[i].timer);
    }
    tloop_free(loop);
}

/* One-shot timers are the only work: the loop returns by itself after the
 * last one (the harness deadline is stopped from that callback). */
static void test_run_returns_after_last_timer(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe p[2];
    const int expected[] = {0, 1};
    (void)state;

    timeline_init(&t, loop);
    t.idle_after = 1;
    probe_new(&p[0], &t, 0);
    probe_new(&p[1], &t, 1);
    probe_start(&p[0], 1, 0);
    probe_start(&p[1], 20, 0);
    tloop_run(loop, 10000);
    assert_events(&t, expected, 2);
    xpr_timer_free(p[0].timer);
    xpr_timer_free(p[1].timer);
    tloop_free(loop);
}

static void test_repeat_counts(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe fast;
    struct probe slow;
    struct probe end;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&fast, &t, 0);
    probe_new(&slow, &t, 1);
    probe_new(&end, &t, 2);
    fast.stop_at_call = 5;
    slow.stop_at_call = 2;
    probe_start(&fast, 1, 2);
    probe_start(&slow, 3, 25);
    /* Long after both stopped themselves (slow is done at ~28 ms). */
    end.stop_loop = 1;
    probe_start(&end, 300, 0);
    tloop_run(loop, 10000);
    assert_int_equal(fast.calls, 5);
    assert_int_equal(slow.calls, 2);
    assert_int_equal(end.calls, 1);
    assert_int_equal(t.events[t.count - 1], 2);
    xpr_timer_free(fast.timer);
    xpr_timer_free(slow.timer);
    xpr_timer_free(end.timer);
    tloop_free(loop);
}

static void test_stop_inside_own_callback(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe self_stopper;
    struct probe end;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&self_stopper, &t, 0);
    probe_new(&end, &t, 1);
    self_stopper.stop_at_call = 1;
    probe_start(&self_stopper, 1, 1);
    end.stop_loop = 1;
    probe_start(&end, 60, 0);
    tloop_run(loop, 10000);
    assert_int_equal(self_stopper.calls, 1);
    assert_int_equal(end.calls, 1);
    /* Stopped timers can start again. */
    self_stopper.stop_at_call = 0;
    self_stopper.stop_loop = 1;
    probe_start(&self_stopper, 1, 0);
    tloop_run(loop, 10000);
    assert_int_equal(self_stopper.calls, 2);
    xpr_timer_free(self_stopper.timer);
    xpr_timer_free(end.timer);
    tloop_free(loop);
}

static void test_free_inside_own_callback(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe repeating;
    struct probe one_shot;
    struct probe end;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&repeating, &t, 0);
    probe_new(&one_shot, &t, 1);
    probe_new(&end, &t, 2);
    repeating.free_at_call = 2;
    one_shot.free_at_call = 1;
    probe_start(&repeating, 1, 1);
    probe_start(&one_shot, 2, 0);
    end.stop_loop = 1;
    probe_start(&end, 60, 0);
    tloop_run(loop, 10000);
    assert_int_equal(repeating.calls, 2);
    assert_null(repeating.timer);
    assert_int_equal(one_shot.calls, 1);
    assert_null(one_shot.timer);
    assert_int_equal(end.calls, 1);
    xpr_timer_free(end.timer);
    tloop_free(loop);
}

static void test_restart(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe again;
    struct probe moved;
    struct probe end;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&again, &t, 0);
    probe_new(&moved, &t, 1);
    probe_new(&end, &t, 2);
    /* Restarted from its own callback, three times: four calls. */
    again.restarts_left = 3;
    probe_start(&again, 2, 0);
    /* Started far away, then restarted near: fires once, soon. */
    probe_start(&moved, 60000, 0);
    probe_start(&moved, 5, 0);
    end.stop_loop = 1;
    probe_start(&end, 300, 0);
    tloop_run(loop, 10000);
    assert_int_equal(again.calls, 4);
    assert_int_equal(moved.calls, 1);
    assert_int_equal(end.calls, 1);
    /* A repeating timer restarted as a one-shot stops repeating. */
    probe_start(&again, 1, 1);
    probe_start(&again, 1, 0);
    probe_start(&end, 50, 0);
    tloop_run(loop, 10000);
    assert_int_equal(again.calls, 5);
    xpr_timer_free(again.timer);
    xpr_timer_free(moved.timer);
    xpr_timer_free(end.timer);
    tloop_free(loop);
}

/* A callback stops, or frees, another timer due in the same iteration: the
 * other one must not run. */
static void run_victim_case(int free_victim)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe killer;
    struct probe victim;
    struct probe end;

    timeline_init(&t, loop);
    probe_new(&killer, &t, 0);
    probe_new(&victim, &t, 1);
    probe_new(&end, &t, 2);
    killer.victim = victim.timer;
    killer.free_victim = free_victim;
    probe_start(&killer, 5, 0);
    probe_start(&victim, 5, 0); /* same due time, started after */
    end.stop_loop = 1;
    probe_start(&end, 60, 0);
    tloop_run(loop, 10000);
    assert_int_equal(killer.calls, 1);
    assert_int_equal(victim.calls, 0);
    xpr_timer_free(killer.timer);
    if (!free_victim) {
        xpr_timer_free(victim.timer);
    }
    xpr_timer_free(end.timer);
    tloop_free(loop);
}

static void test_stop_other_timer_due_now(void **state)
{
    (void)state;
    run_victim_case(0);
}

static void test_free_other_timer_due_now(void **state)
{
    (void)state;
    run_victim_case(1);
}

static void test_zero_timeout_fires(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe now;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&now, &t, 0);
    now.stop_loop = 1;
    probe_start(&now, 0, 0);
    tloop_run(loop, 10000);
    assert_int_equal(now.calls, 1);
    xpr_timer_free(now.timer);
    tloop_free(loop);
}

static void test_active_timer_count(void **state)
{
    xpr_loop *loop = tloop_new();
    struct timeline t;
    struct probe a;
    struct probe b;
    struct xpr_loop_stats stats;
    (void)state;

    timeline_init(&t, loop);
    probe_new(&a, &t, 0);
    probe_new(&b, &t, 1);
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.active_timers, 0); /* created, not started */
    probe_start(&a, 1000, 0);
    probe_start(&b, 1000, 10);
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.active_timers, 2);
    probe_start(&b, 500, 0); /* restart: still one timer */
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.active_timers, 2);
    assert_int_equal(xpr_timer_stop(a.timer), 0);
    assert_int_equal(xpr_timer_stop(a.timer), 0); /* twice is fine */
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.active_timers, 1);
    xpr_timer_free(b.timer); /* freeing a started timer stops it */
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.active_timers, 0);
    xpr_timer_free(a.timer);
    tloop_free(loop);
}

static void on_never(xpr_timer *timer, void *arg)
{
    (void)timer;
    (void)arg;
}

static void test_bad_arguments(void **state)
{
    xpr_loop *loop = tloop_new();
    xpr_timer *timer = NULL;
    (void)state;

    assert_int_equal(xpr_timer_new(NULL, on_never, NULL, &timer), XPR_EINVAL);
    assert_int_equal(xpr_timer_new(loop, NULL, NULL, &timer), XPR_EINVAL);
    assert_int_equal(xpr_timer_new(loop, on_never, NULL, NULL), XPR_EINVAL);
    assert_null(timer);
    assert_int_equal(xpr_timer_start(NULL, 1, 0), XPR_EINVAL);
    assert_int_equal(xpr_timer_stop(NULL), XPR_EINVAL);
    xpr_timer_free(NULL); /* ignored */
    tloop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_timeouts_fire_in_order),
        cmocka_unit_test(test_equal_timeouts_fire_in_start_order),
        cmocka_unit_test(test_run_returns_after_last_timer),
        cmocka_unit_test(test_repeat_counts),
        cmocka_unit_test(test_stop_inside_own_callback),
        cmocka_unit_test(test_free_inside_own_callback),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_stop_other_timer_due_now),
        cmocka_unit_test(test_free_other_timer_due_now),
        cmocka_unit_test(test_zero_timeout_fires),
        cmocka_unit_test(test_active_timer_count),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
