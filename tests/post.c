/* xpr_loop_post and xpr_loop_stop from other threads. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

#define POST_THREADS 4
#define POSTS_PER_THREAD 2500

struct post_item {
    struct post_run *run;
    unsigned thread;
    unsigned seq;
};

struct post_run {
    xpr_loop *loop;
    struct post_item items[POST_THREADS][POSTS_PER_THREAD];
    unsigned char delivered[POST_THREADS][POSTS_PER_THREAD];
    long next_seq[POST_THREADS];
    unsigned total;
    struct test_thread *threads[POST_THREADS];
};

static void on_post_item(void *arg)
{
    struct post_item *item = arg;
    struct post_run *run = item->run;

    CHECK(on_loop_thread(run->loop)); /* a worker, not the posting thread */
    CHECK_EQ(run->delivered[item->thread][item->seq], 0);
    run->delivered[item->thread][item->seq]++;
    /* Posts from one thread run in the order posted. */
    CHECK_EQ(item->seq, run->next_seq[item->thread]);
    run->next_seq[item->thread] = item->seq + 1;
    if (++run->total == POST_THREADS * POSTS_PER_THREAD) {
        xpr_loop_stop(run->loop);
    }
}

struct poster {
    struct post_run *run;
    unsigned thread;
    unsigned post_errors; /* read after join */
};

static struct poster posters[POST_THREADS];

static void poster_main(void *arg)
{
    struct poster *p = arg;
    unsigned i;

    for (i = 0; i < POSTS_PER_THREAD; i++) {
        struct post_item *item = &p->run->items[p->thread][i];
        if (xpr_loop_post(p->run->loop, on_post_item, item) != 0) {
            p->post_errors++;
        }
    }
}

/* The threads start once the loop runs, so posts race with dispatch. */
static void start_posters(void *arg)
{
    struct post_run *run = arg;
    unsigned t;

    for (t = 0; t < POST_THREADS; t++) {
        posters[t].run = run;
        posters[t].thread = t;
        posters[t].post_errors = 0;
        CHECK_EQ(test_thread_start(&run->threads[t], poster_main, &posters[t]),
                 0);
    }
}

static void test_posts_from_four_threads(void **state)
{
    xpr_loop *loop = tloop_new();
    struct post_run *run = calloc(1, sizeof(*run));
    unsigned t;
    unsigned i;
    (void)state;

    assert_non_null(run);
    run->loop = loop;
    for (t = 0; t < POST_THREADS; t++) {
        for (i = 0; i < POSTS_PER_THREAD; i++) {
            run->items[t][i].run = run;
            run->items[t][i].thread = t;
            run->items[t][i].seq = i;
        }
    }
    assert_int_equal(xpr_loop_post(loop, start_posters, run), 0);
    tloop_run(loop, 30000);
    for (t = 0; t < POST_THREADS; t++) {
        assert_non_null(run->threads[t]);
        test_thread_join(run->threads[t]);
        assert_int_equal(posters[t].post_errors, 0);
    }
    assert_int_equal(run->total, POST_THREADS * POSTS_PER_THREAD);
    for (t = 0; t < POST_THREADS; t++) {
        for (i = 0; i < POSTS_PER_THREAD; i++) {
            assert_int_equal(run->delivered[t][i], 1);
        }
    }
    tloop_free(loop);
    free(run);
}

struct stopper {
    xpr_loop *loop;
    struct test_thread *thread;
    int stop_rc;
    int ran;
};

static void stopper_main(void *arg)
{
    struct stopper *s = arg;
    s->stop_rc = xpr_loop_stop(s->loop);
}

static void start_stopper(xpr_timer *timer, void *arg)
{
    struct stopper *s = arg;
    (void)timer;
    s->ran = 1;
    CHECK_EQ(test_thread_start(&s->thread, stopper_main, s), 0);
}

/* The loop waits on a far deadline; a stop from another thread wakes it. */
static void test_stop_from_another_thread(void **state)
{
    xpr_loop *loop = tloop_new();
    struct stopper s;
    xpr_timer *kick = NULL;
    xpr_timer *far = NULL;
    (void)state;

    memset(&s, 0, sizeof(s));
    s.loop = loop;
    s.stop_rc = -100;
    assert_int_equal(xpr_timer_new(loop, start_stopper, &s, &kick), 0);
    assert_int_equal(xpr_timer_new(loop, start_stopper, &s, &far), 0);
    assert_int_equal(xpr_timer_start(kick, 1, 0), 0);
    assert_int_equal(xpr_timer_start(far, 60000, 0), 0);
    tloop_run(loop, 20000);
    assert_true(s.ran);
    test_thread_join(s.thread);
    assert_int_equal(s.stop_rc, 0);
    xpr_timer_free(kick);
    xpr_timer_free(far);
    tloop_free(loop);
}

struct waker {
    xpr_loop *loop;
    struct test_thread *thread;
    int post_rc;
    int delivered;
};

static void on_woken(void *arg)
{
    struct waker *w = arg;
    CHECK(on_loop_thread(w->loop));
    w->delivered++;
    xpr_loop_stop(w->loop);
}

static void waker_main(void *arg)
{
    struct waker *w = arg;
    w->post_rc = xpr_loop_post(w->loop, on_woken, w);
}

static void start_waker(xpr_timer *timer, void *arg)
{
    struct waker *w = arg;
    (void)timer;
    CHECK_EQ(test_thread_start(&w->thread, waker_main, w), 0);
}

/* A post from another thread wakes a loop blocked on a far timer. */
static void test_post_wakes_blocked_loop(void **state)
{
    xpr_loop *loop = tloop_new();
    struct waker w;
    xpr_timer *kick = NULL;
    xpr_timer *far = NULL;
    (void)state;

    memset(&w, 0, sizeof(w));
    w.loop = loop;
    w.post_rc = -100;
    assert_int_equal(xpr_timer_new(loop, start_waker, &w, &kick), 0);
    assert_int_equal(xpr_timer_new(loop, start_waker, &w, &far), 0);
    assert_int_equal(xpr_timer_start(kick, 1, 0), 0);
    assert_int_equal(xpr_timer_start(far, 60000, 0), 0);
    tloop_run(loop, 20000);
    test_thread_join(w.thread);
    assert_int_equal(w.post_rc, 0);
    assert_int_equal(w.delivered, 1);
    xpr_timer_free(kick);
    xpr_timer_free(far);
    tloop_free(loop);
}

struct ordered {
    xpr_loop *loop;
    int order[8];
    int count;
    int posted_inside;
};

static void on_nested(void *arg);

static void on_ordered(void *arg)
{
    struct ordered *o = arg;
    o->count++;
    o->order[o->count - 1] = o->count;
    if (!o->posted_inside) {
        /* Posted from a post: runs later, not inside this call. */
        o->posted_inside = 1;
        CHECK_EQ(xpr_loop_post(o->loop, on_nested, o), 0);
        CHECK_EQ(o->count, 1);
    }
}

static void on_nested(void *arg)
{
    struct ordered *o = arg;
    o->order[o->count] = 100;
    o->count++;
    tloop_let_idle(o->loop);
}

/* Posts keep the loop alive until they ran, then it returns by itself. */
static void test_posts_run_in_order_then_loop_returns(void **state)
{
    xpr_loop *loop = tloop_new();
    struct ordered o;
    (void)state;

    memset(&o, 0, sizeof(o));
    o.loop = loop;
    assert_int_equal(xpr_loop_post(loop, on_ordered, &o), 0);
    assert_int_equal(xpr_loop_post(loop, on_ordered, &o), 0);
    assert_int_equal(xpr_loop_post(loop, on_ordered, &o), 0);
    tloop_run(loop, 10000);
    assert_int_equal(o.count, 4);
    assert_int_equal(o.order[0], 1);
    assert_int_equal(o.order[1], 2);
    assert_int_equal(o.order[2], 3);
    assert_int_equal(o.order[3], 100);
    tloop_free(loop);
}

static void on_counted(void *arg)
{
    int *count = arg;
    (*count)++;
}

/* Posts still queued when the loop is freed run inside xpr_loop_free. */
static void test_pending_posts_run_at_free(void **state)
{
    xpr_loop *loop = NULL;
    struct xpr_loop_stats stats;
    int count = 0;
    (void)state;

    assert_int_equal(test_loop_new(&loop, NULL), 0);
    assert_int_equal(xpr_loop_post(loop, on_counted, &count), 0);
    assert_int_equal(xpr_loop_post(loop, on_counted, &count), 0);
    assert_int_equal(xpr_loop_post(loop, on_counted, &count), 0);
    assert_int_equal(xpr_loop_stats(loop, &stats), 0);
    assert_int_equal(stats.pending_posts, 3);
    assert_int_equal(count, 0);
    xpr_loop_free(loop);
    assert_int_equal(count, 3);
}

static void test_bad_arguments(void **state)
{
    xpr_loop *loop = tloop_new();
    int count = 0;
    (void)state;

    assert_int_equal(xpr_loop_post(NULL, on_counted, &count), XPR_EINVAL);
    assert_int_equal(xpr_loop_post(loop, NULL, &count), XPR_EINVAL);
    assert_int_equal(xpr_loop_stop(NULL), XPR_EINVAL);
    assert_int_equal(count, 0);
    tloop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posts_from_four_threads),
        cmocka_unit_test(test_stop_from_another_thread),
        cmocka_unit_test(test_post_wakes_blocked_loop),
        cmocka_unit_test(test_posts_run_in_order_then_loop_returns),
        cmocka_unit_test(test_pending_posts_run_at_free),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("post", tests, NULL, NULL);
}
