/*
 * A storm of posts from four threads while the loop runs. Every post runs
 * once, in its thread's order. Two of the threads also call xpr_loop_stop,
 * so the loop's runs end and begin again under the storm, and probe the
 * thread check until the run they stopped has ended; the other two call what
 * must answer XPR_ETHREAD from a foreign thread, both while the loop is held
 * inside one of their posts (the answer is certain) and at any moment
 * (XPR_ETHREAD or, between two runs, the call's own error). The last posts
 * of every thread are queued after the last run and run inside
 * xpr_loop_free. ci/tsan.sh runs it under ThreadSanitizer, where a plain
 * read of the loop's running flag races with the end of a run.
 *
 * The threads share no state with the loop but their posts and the flags
 * of platform.h; failures on them are counted and asserted after the join
 * (CHECK is for callbacks).
 */
#include <stdlib.h>

#include "common.h"
#include "platform.h"

#define STORM_THREADS 4
#define STORM_CHECKERS 2  /* threads 0 and 1; the others stop the loop */
#define STORM_POSTS 20000 /* per thread while the loop runs */
#define STORM_TAIL 100    /* per thread after the last run */
#define STORM_ITEMS (STORM_POSTS + STORM_TAIL)
#define STOP_EVERY 500        /* a stopper's posts per xpr_loop_stop */
#define PROBE_EVERY 16        /* a checker's posts per burst of probes */
#define PROBE_BURST 64        /* unsynchronized calls, no post between them */
#define HOLD_EVERY 2000       /* a checker's posts per held round */
#define RUN_DEADLINE_MS 60000 /* one run; under the 120 s meson timeout */

struct storm;

struct storm_item {
    struct storm *storm;
    unsigned thread;
    unsigned seq;
};

/* The foreign calls, as a failure names them. */
enum storm_call {
    CALL_POST,
    CALL_STOP,
    CALL_TIMER_NEW,
    CALL_TIMER_START,
    CALL_TIMER_STOP,
    CALL_LISTEN,
    CALL_CONNECT,
    CALL_RUN,
    CALL_STATS,
    CALL_PROBE_LISTEN,
    CALL_PROBE_CONNECT
};

static const char *const call_names[] = {
    "xpr_loop_post",      "xpr_loop_stop",      "xpr_timer_new",
    "xpr_timer_start",    "xpr_timer_stop",     "xpr_listen",
    "xpr_connect",        "xpr_loop_run",       "xpr_loop_stats",
    "xpr_listen (probe)", "xpr_connect (probe)"};

struct storm_thread {
    struct storm *storm;
    unsigned index;
    struct test_thread *thread;
    /* Shared with the loop: a held round. */
    volatile long held;     /* the loop runs this thread's hold post */
    volatile long released; /* the thread is done with the held loop */
    /* This thread's own, read after the join. */
    unsigned failures;
    enum storm_call first_call;
    int first_rc;
    unsigned holds;
    unsigned probes_ethread; /* unsynchronized calls the run refused */
    unsigned probes_idle;    /* ... that came between two runs */
};

struct storm {
    xpr_loop *loop;
    xpr_timer *probe; /* never started: the foreign calls try to */
    struct storm_item items[STORM_THREADS][STORM_ITEMS];
    /* The loop's (callbacks, and xpr_loop_free for the tail). */
    unsigned char delivered[STORM_THREADS][STORM_ITEMS];
    unsigned next_seq[STORM_THREADS];
    unsigned total;
    int last_run; /* every post of the runs ran: the loop was stopped */
    int in_free;
    /* The main thread's: runs that returned, and whether the last did. */
    volatile long runs_done;
    volatile long over;
    struct storm_thread threads[STORM_THREADS];
};

static const struct xpr_conn_callbacks no_callbacks = {NULL, NULL, NULL, NULL,
                                                       NULL};

static void on_item(void *arg)
{
    struct storm_item *item = arg;
    struct storm *s = item->storm;

    if (!s->in_free) {
        CHECK(on_loop_thread(s->loop));
    }
    CHECK_EQ(s->delivered[item->thread][item->seq], 0);
    s->delivered[item->thread][item->seq]++;
    /* Posts from one thread run in the order posted, across runs too. */
    CHECK_EQ(item->seq, s->next_seq[item->thread]);
    s->next_seq[item->thread] = item->seq + 1;
    if (++s->total == STORM_THREADS * STORM_POSTS) {
        s->last_run = 1;
        CHECK_EQ(xpr_loop_stop(s->loop), 0);
    }
}

/* Keeps the loop inside a callback until the thread has made its calls:
 * the loop runs all the while. */
static void on_hold(void *arg)
{
    struct storm_thread *t = arg;

    test_atomic_store(&t->held, 1);
    while (!test_atomic_load(&t->released)) {
        test_yield();
    }
    test_atomic_store(&t->released, 0);
}

static void on_timer_never(xpr_timer *timer, void *arg)
{
    (void)timer;
    (void)arg;
    CHECK(!"a timer of the storm ran");
}

static void expect(struct storm_thread *t, enum storm_call call, int rc,
                   int want)
{
    if (rc != want) {
        if (t->failures++ == 0) {
            t->first_call = call;
            t->first_rc = rc;
        }
    }
}

/* Every call but xpr_loop_post and xpr_loop_stop answers XPR_ETHREAD; out
 * parameters stay untouched. */
static void held_round(struct storm_thread *t)
{
    struct storm *s = t->storm;
    struct xpr_loop_stats stats;
    xpr_timer *timer = NULL;
    xpr_listener *listener = NULL;
    xpr_conn *conn = NULL;

    expect(t, CALL_POST, xpr_loop_post(s->loop, on_hold, t), 0);
    while (!test_atomic_load(&t->held)) {
        test_yield();
    }
    test_atomic_store(&t->held, 0);
    expect(t, CALL_TIMER_NEW,
           xpr_timer_new(s->loop, on_timer_never, NULL, &timer), XPR_ETHREAD);
    expect(t, CALL_TIMER_NEW, timer == NULL, 1);
    expect(t, CALL_TIMER_START, xpr_timer_start(s->probe, 1, 0), XPR_ETHREAD);
    expect(t, CALL_TIMER_STOP, xpr_timer_stop(s->probe), XPR_ETHREAD);
    expect(t, CALL_LISTEN,
           xpr_listen(s->loop, "127.0.0.1:0", NULL, &no_callbacks, NULL,
                      &listener),
           XPR_ETHREAD);
    expect(t, CALL_LISTEN, listener == NULL, 1);
    expect(t, CALL_CONNECT,
           xpr_connect(s->loop, "127.0.0.1:9", &no_callbacks, NULL, &conn),
           XPR_ETHREAD);
    expect(t, CALL_CONNECT, conn == NULL, 1);
    expect(t, CALL_RUN, xpr_loop_run(s->loop), XPR_ETHREAD);
    expect(t, CALL_STATS, xpr_loop_stats(s->loop, &stats), XPR_ETHREAD);
    t->holds++;
    test_atomic_store(&t->released, 1);
}

/* At any moment: XPR_ETHREAD while a run is under way, else the text's own
 * XPR_EINVAL (it has no port). Neither touches the loop. */
static void probe(struct storm_thread *t)
{
    struct storm *s = t->storm;
    xpr_listener *listener = NULL;
    xpr_conn *conn = NULL;
    int rc;

    rc = xpr_listen(s->loop, "no-port", NULL, &no_callbacks, NULL, &listener);
    if (rc == XPR_ETHREAD) {
        t->probes_ethread++;
    } else {
        expect(t, CALL_PROBE_LISTEN, rc, XPR_EINVAL);
        t->probes_idle++;
    }
    rc = xpr_connect(s->loop, "no-port", &no_callbacks, NULL, &conn);
    if (rc != XPR_ETHREAD) {
        expect(t, CALL_PROBE_CONNECT, rc, XPR_EINVAL);
    }
}

static void post_item(struct storm_thread *t, unsigned seq)
{
    struct storm *s = t->storm;
    expect(t, CALL_POST,
           xpr_loop_post(s->loop, on_item, &s->items[t->index][seq]), 0);
}

/* Each stop ends a run of its own, and the thread probes until it has:
 * the probes meet the end of the run with nothing ordering them. */
static void stop_and_probe(struct storm_thread *t)
{
    struct storm *s = t->storm;
    long runs = test_atomic_load(&s->runs_done);

    expect(t, CALL_STOP, xpr_loop_stop(s->loop), 0);
    do {
        probe(t);
        test_yield();
    } while (test_atomic_load(&s->runs_done) == runs &&
             !test_atomic_load(&s->over));
}

static void storm_main(void *arg)
{
    struct storm_thread *t = arg;
    struct storm *s = t->storm;
    int checker = t->index < STORM_CHECKERS;
    unsigned i;

    for (i = 0; i < STORM_POSTS; i++) {
        /* Before the item: the run cannot end (on the last item of all)
         * while the hold waits for the loop. */
        if (checker && (i + 1) % HOLD_EVERY == 0) {
            held_round(t);
        }
        post_item(t, i);
        if (checker && i % PROBE_EVERY == 0) {
            unsigned k;
            for (k = 0; k < PROBE_BURST; k++) {
                probe(t);
            }
        }
        if (!checker && (i + 1) % STOP_EVERY == 0) {
            stop_and_probe(t);
        }
    }
    /* The tail: queued once no run is left, handed back by xpr_loop_free. */
    while (!test_atomic_load(&s->over)) {
        test_yield();
    }
    for (; i < STORM_ITEMS; i++) {
        post_item(t, i);
    }
}

/* The threads start once the loop runs. */
static void start_threads(void *arg)
{
    struct storm *s = arg;
    unsigned t;

    for (t = 0; t < STORM_THREADS; t++) {
        CHECK_EQ(test_thread_start(&s->threads[t].thread, storm_main,
                                   &s->threads[t]),
                 0);
    }
}

static void test_post_storm(void **state)
{
    struct storm *s = calloc(1, sizeof(*s));
    struct xpr_loop_stats stats;
    unsigned t, i, runs = 0, ethread = 0, idle = 0;
    (void)state;

    assert_non_null(s);
    s->loop = tloop_new();
    assert_int_equal(xpr_timer_new(s->loop, on_timer_never, s, &s->probe), 0);
    for (t = 0; t < STORM_THREADS; t++) {
        s->threads[t].storm = s;
        s->threads[t].index = t;
        for (i = 0; i < STORM_ITEMS; i++) {
            s->items[t][i].storm = s;
            s->items[t][i].thread = t;
            s->items[t][i].seq = i;
        }
    }
    assert_int_equal(xpr_loop_post(s->loop, start_threads, s), 0);
    /* A stop from a stopper ends a run; the next one goes on. */
    do {
        tloop_run(s->loop, RUN_DEADLINE_MS);
        test_atomic_store(&s->runs_done, (long)++runs);
    } while (!s->last_run);
    test_atomic_store(&s->over, 1);

    for (t = 0; t < STORM_THREADS; t++) {
        struct storm_thread *st = &s->threads[t];
        assert_non_null(st->thread);
        test_thread_join(st->thread);
        if (st->failures != 0) {
            fail_msg("thread %u: %u calls failed, the first %s: %s", t,
                     st->failures, call_names[st->first_call],
                     xpr_err_name(st->first_rc));
        }
        if (t < STORM_CHECKERS) {
            assert_int_equal(st->holds, STORM_POSTS / HOLD_EVERY);
        }
        ethread += st->probes_ethread;
        idle += st->probes_idle;
    }
    print_message("# %u runs; unsynchronized calls: %u refused, %u between "
                  "runs\n",
                  runs, ethread, idle);

    /* Only the tails are left, for xpr_loop_free to hand back. */
    assert_int_equal(xpr_loop_stats(s->loop, &stats), 0);
    assert_int_equal(stats.pending_posts, STORM_THREADS * STORM_TAIL);
    assert_int_equal(s->total, STORM_THREADS * STORM_POSTS);
    xpr_timer_free(s->probe);
    tloop_forget(s->loop);
    s->in_free = 1;
    xpr_loop_free(s->loop);
    check_no_failure();
    assert_int_equal(s->total, STORM_THREADS * STORM_ITEMS);
    for (t = 0; t < STORM_THREADS; t++) {
        assert_int_equal(s->next_seq[t], STORM_ITEMS);
        for (i = 0; i < STORM_ITEMS; i++) {
            assert_int_equal(s->delivered[t][i], 1);
        }
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_storm),
    };
    return cmocka_run_group_tests_name("storm", tests, NULL, NULL);
}
