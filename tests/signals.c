/* Signal watchers (xpr_signal_new): a signal the process gets runs every
 * watcher's callback once, on the loop, never after xpr_signal_free;
 * freeing the last watcher puts the earlier action back; xpr_loop_free
 * frees what is left; watchers do not keep xpr_loop_run running. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

struct heard {
    xpr_loop *loop;
    xpr_signal *watcher[2];
    unsigned calls[2];
    int signum[2];
    unsigned expected; /* calls in all, then the loop stops */
    int free_in_callback;
};

static void on_signal(xpr_signal *signal, int signum, void *arg)
{
    struct heard *h = arg;
    int i = signal == h->watcher[0] ? 0 : 1;
    callback_enter();
    CHECK(signal == h->watcher[i]);
    CHECK(on_loop_thread(h->loop));
    h->calls[i]++;
    h->signum[i] = signum;
    if (h->free_in_callback) {
        xpr_signal_free(signal);
        h->watcher[i] = NULL;
    }
    if (h->calls[0] + h->calls[1] == h->expected)
        CHECK_EQ(xpr_loop_stop(h->loop), 0);
    callback_leave();
}

static void raise_from_timer(xpr_timer *t, void *arg)
{
    int *signum = arg;
    (void)t;
    callback_enter();
    CHECK_EQ(test_raise_signal(*signum), 0);
    callback_leave();
}

/* Raises signum from a timer of the loop and runs the loop until the
 * watchers stop it. */
static void run_raising(struct heard *h, int signum)
{
    xpr_timer *t;
    assert_int_equal(xpr_timer_new(h->loop, raise_from_timer, &signum, &t), 0);
    assert_int_equal(xpr_timer_start(t, 10, 0), 0);
    tloop_run(h->loop, 10000);
    xpr_timer_free(t);
}

static void test_signal_runs_watcher(void **state)
{
    static const int signums[] = {XPR_SIGINT, XPR_SIGTERM, XPR_SIGHUP};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
        struct heard h;
        memset(&h, 0, sizeof(h));
        h.loop = tloop_new();
        h.expected = 1;
        assert_int_equal(
            xpr_signal_new(h.loop, signums[i], on_signal, &h, &h.watcher[0]),
            0);
        assert_int_not_equal(test_signal_is_initial(signums[i]), 1);
        run_raising(&h, signums[i]);
        assert_int_equal(h.calls[0], 1);
        assert_int_equal(h.signum[0], signums[i]);
        xpr_signal_free(h.watcher[0]);
        assert_int_not_equal(test_signal_is_initial(signums[i]), 0);
        tloop_free(h.loop);
    }
}

/* Two watchers of one signal both hear it, and may free themselves inside
 * their callbacks. */
static void test_two_watchers_free_in_callback(void **state)
{
    struct heard h;
    (void)state;
    memset(&h, 0, sizeof(h));
    h.loop = tloop_new();
    assert_int_equal(
        xpr_signal_new(h.loop, XPR_SIGTERM, on_signal, &h, &h.watcher[0]), 0);
    assert_int_equal(
        xpr_signal_new(h.loop, XPR_SIGTERM, on_signal, &h, &h.watcher[1]), 0);
    h.free_in_callback = 1;
    h.expected = 2;
    run_raising(&h, XPR_SIGTERM);
    assert_int_equal(h.calls[0], 1);
    assert_int_equal(h.calls[1], 1);
    assert_null(h.watcher[0]);
    assert_null(h.watcher[1]);
    assert_int_not_equal(0, test_signal_is_initial(XPR_SIGTERM));
    tloop_free(h.loop);
}

/* A watcher keeps the signal's default action away, but not the loop
 * alive: with nothing else, xpr_loop_run returns at once. */
static void test_watcher_does_not_keep_loop_alive(void **state)
{
    struct heard h;
    xpr_loop *loop;
    (void)state;
    memset(&h, 0, sizeof(h));
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    h.loop = loop;
    assert_int_equal(
        xpr_signal_new(loop, XPR_SIGINT, on_signal, &h, &h.watcher[0]), 0);
    assert_int_equal(xpr_loop_run(loop), 0);
    assert_int_equal(h.calls[0], 0);
    xpr_signal_free(h.watcher[0]);
    xpr_loop_free(loop);
}

/* A signal heard while the loop does not run waits for it; a loop freed
 * instead frees its watchers without running them, and puts the earlier
 * action back. */
static void test_loop_free_frees_watchers(void **state)
{
    struct heard h;
    xpr_loop *loop;
    (void)state;
    memset(&h, 0, sizeof(h));
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    h.loop = loop;
    assert_int_equal(
        xpr_signal_new(loop, XPR_SIGHUP, on_signal, &h, &h.watcher[0]), 0);
    assert_int_equal(
        xpr_signal_new(loop, XPR_SIGINT, on_signal, &h, &h.watcher[1]), 0);
    assert_int_equal(test_raise_signal(XPR_SIGHUP), 0);
    xpr_loop_free(loop);
    assert_int_equal(h.calls[0] + h.calls[1], 0);
    assert_int_not_equal(0, test_signal_is_initial(XPR_SIGHUP));
    assert_int_not_equal(0, test_signal_is_initial(XPR_SIGINT));
}

static void test_bad_arguments(void **state)
{
    struct heard h;
    xpr_loop *loop;
    xpr_signal *s = NULL;
    (void)state;
    memset(&h, 0, sizeof(h));
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    assert_int_equal(xpr_signal_new(loop, 3, on_signal, &h, &s), XPR_EINVAL);
    assert_int_equal(xpr_signal_new(loop, 0, on_signal, &h, &s), XPR_EINVAL);
    assert_int_equal(xpr_signal_new(NULL, XPR_SIGINT, on_signal, &h, &s),
                     XPR_EINVAL);
    assert_int_equal(xpr_signal_new(loop, XPR_SIGINT, NULL, &h, &s),
                     XPR_EINVAL);
    assert_int_equal(xpr_signal_new(loop, XPR_SIGINT, on_signal, &h, NULL),
                     XPR_EINVAL);
    assert_null(s);
    xpr_signal_free(NULL);
    assert_int_not_equal(0, test_signal_is_initial(XPR_SIGINT));
    xpr_loop_free(loop);
}

/* xpr_signal_ref: a referenced watcher keeps the run going (here until
 * the signal an unreferenced timer raises arrives and the callback frees
 * the watcher); unreferenced, the default, it does not. */
static void raise_and_let_idle(xpr_timer *t, void *arg)
{
    struct heard *h = arg;
    (void)t;
    callback_enter();
    tloop_let_idle(h->loop);
    CHECK_EQ(test_raise_signal(XPR_SIGINT), 0);
    callback_leave();
}

static void test_referenced_watcher(void **state)
{
    struct heard h;
    xpr_timer *t;
    (void)state;
    memset(&h, 0, sizeof(h));
    h.loop = tloop_new();
    h.free_in_callback = 1;
    assert_int_equal(xpr_signal_ref(NULL), XPR_EINVAL);
    assert_int_equal(xpr_signal_unref(NULL), XPR_EINVAL);
    assert_int_equal(
        xpr_signal_new(h.loop, XPR_SIGINT, on_signal, &h, &h.watcher[0]), 0);
    assert_int_equal(xpr_loop_run_mode(h.loop, XPR_RUN_NOWAIT), 0);
    assert_int_equal(xpr_signal_ref(h.watcher[0]), 0);
    assert_int_equal(xpr_signal_ref(h.watcher[0]), 0); /* idempotent */
    assert_int_equal(xpr_loop_run_mode(h.loop, XPR_RUN_NOWAIT), 1);
    assert_int_equal(xpr_signal_unref(h.watcher[0]), 0);
    assert_int_equal(xpr_loop_run_mode(h.loop, XPR_RUN_NOWAIT), 0);
    assert_int_equal(xpr_signal_ref(h.watcher[0]), 0);
    assert_int_equal(xpr_timer_new(h.loop, raise_and_let_idle, &h, &t), 0);
    assert_int_equal(xpr_timer_start(t, 10, 0), 0);
    assert_int_equal(xpr_timer_unref(t), 0);
    tloop_run(h.loop, 10000);
    xpr_timer_free(t);
    assert_int_equal(h.calls[0], 1);
    assert_null(h.watcher[0]);
    assert_int_equal(xpr_loop_run_mode(h.loop, XPR_RUN_NOWAIT), 0);
    tloop_free(h.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_runs_watcher),
        cmocka_unit_test(test_two_watchers_free_in_callback),
        cmocka_unit_test(test_watcher_does_not_keep_loop_alive),
        cmocka_unit_test(test_loop_free_frees_watchers),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_referenced_watcher),
    };
    test_signal_record_initial();
    return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
