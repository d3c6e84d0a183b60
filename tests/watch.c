/* Watchers of sockets the application owns (xpr_watch_*): readable when
 * the peer writes (the test reads the bytes itself), writable on a fresh
 * socket, level-triggered, stop, a new set, the peer's close, free inside
 * the callback, ref / unref and xpr_loop_run, bad input, and the socket
 * left open and working after the watcher is freed; on POSIX a pipe;
 * every back end. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

#ifdef XPR_FAULT_INJECTION
#include "fault.h"
#endif

/* cmocka's skip() reads as a failure in meson's TAP parser: a case that
 * does not apply to this back end says why and passes. */
#define NOT_APPLICABLE(why)                                                    \
    do {                                                                       \
        print_message("# not applicable here: %s\n", why);                     \
        return;                                                                \
    } while (0)

struct watched {
    xpr_loop *loop;
    xpr_watch *watch;
    test_socket pair[2]; /* [0] watched, [1] the peer */
    unsigned calls;
    unsigned last_events;
    int last_status;
    char got[256];
    size_t got_len;
    int eof;        /* a read saw the end of the stream (or an error) */
    int stop_after; /* stop the loop once this many calls ran (0: never) */
    int read;       /* the callback reads what is there */
    int free_in_callback;
    int stop_watch;     /* stop the watcher once the data came */
    int stop_each;      /* stop the watcher in every callback */
    unsigned want_next; /* non-zero: the callback starts this set */
};

static void setup(struct watched *w)
{
    memset(w, 0, sizeof(*w));
    w->loop = tloop_new(); /* first: it starts Winsock */
    assert_int_equal(test_socket_pair(w->pair), 0);
}

static void teardown(struct watched *w)
{
    tloop_free(w->loop);
    test_socket_close(w->pair[0]);
    test_socket_close(w->pair[1]);
}

/* Reads what the watched socket holds into w->got. */
static void read_all(struct watched *w)
{
    for (;;) {
        long n = test_socket_recv(w->pair[0], w->got + w->got_len,
                                  sizeof(w->got) - w->got_len);
        if (n > 0) {
            w->got_len += (size_t)n;
            continue;
        }
        if (n == 0 || n == -2)
            w->eof = 1;
        return;
    }
}

static void on_event(xpr_watch *watch, unsigned events, int status, void *arg)
{
    struct watched *w = arg;
    callback_enter();
    CHECK(watch == w->watch);
    CHECK(on_loop_thread(w->loop));
    CHECK(events != 0);
    CHECK((events & ~(unsigned)(XPR_READABLE | XPR_WRITABLE)) == 0);
    w->calls++;
    w->last_events = events;
    w->last_status = status;
    if (w->read && (events & XPR_READABLE))
        read_all(w);
    if (w->stop_each || (w->stop_watch && w->got_len > 0))
        CHECK_EQ(xpr_watch_stop(watch), 0);
    if (w->want_next != 0) {
        CHECK_EQ(xpr_watch_start(watch, w->want_next), 0);
        w->want_next = 0;
    }
    if (w->free_in_callback) {
        xpr_watch_free(watch);
        w->watch = NULL;
    }
    if (w->stop_after > 0 && w->calls == (unsigned)w->stop_after)
        CHECK_EQ(xpr_loop_stop(w->loop), 0);
    callback_leave();
}

static void peer_writes(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    callback_enter();
    CHECK_EQ(test_socket_send(w->pair[1], "hello", 5), 5);
    callback_leave();
}

static void stop_loop(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    CHECK_EQ(xpr_loop_stop(w->loop), 0);
}

/* Runs the loop with a timer doing fn after ms. */
static void run_with_timer(struct watched *w, xpr_timer_cb fn, uint64_t ms)
{
    xpr_timer *t;
    assert_int_equal(xpr_timer_new(w->loop, fn, w, &t), 0);
    assert_int_equal(xpr_timer_start(t, ms, 0), 0);
    tloop_run(w->loop, 10000);
    xpr_timer_free(t);
}

/* The watched socket still works, both ways: the watcher left it open. */
static void check_socket_works(struct watched *w)
{
    char buf[8];
    long n = -1;
    uint64_t until = test_now_ms() + 5000;
    assert_int_equal(test_socket_send(w->pair[0], "ok", 2), 2);
    while (n == -1 && test_now_ms() < until) {
        n = test_socket_recv(w->pair[1], buf, sizeof(buf));
        if (n == -1)
            test_yield();
    }
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "ok", 2);
}

static void test_bad_input(void **state)
{
    struct watched w;
    (void)state;
    setup(&w);
    assert_int_equal(
        xpr_watch_new(NULL, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        XPR_EINVAL);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], NULL, &w, &w.watch),
        XPR_EINVAL);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, NULL),
        XPR_EINVAL);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)-1, on_event, &w, &w.watch),
        XPR_EINVAL);
    assert_int_equal(xpr_watch_start(NULL, XPR_READABLE), XPR_EINVAL);
    assert_int_equal(xpr_watch_stop(NULL), XPR_EINVAL);
    assert_int_equal(xpr_watch_unref(NULL), XPR_EINVAL);
    assert_int_equal(xpr_watch_ref(NULL), XPR_EINVAL);
    xpr_watch_free(NULL);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, 0), XPR_EINVAL);
    assert_int_equal(xpr_watch_start(w.watch, 4), XPR_EINVAL);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE | 8), XPR_EINVAL);
    /* nothing started: the loop has nothing to do */
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 0);
    xpr_watch_free(w.watch);
    teardown(&w);
    /* a socket closed is no socket any more */
    {
        test_socket pair[2];
        xpr_loop *loop = tloop_new();
        xpr_watch *watch;
        assert_int_equal(test_socket_pair(pair), 0);
        test_socket_close(pair[0]);
        test_socket_close(pair[1]);
        assert_int_equal(
            xpr_watch_new(loop, (xpr_os_socket)pair[0], on_event, NULL, &watch),
            XPR_EINVAL);
        tloop_free(loop);
    }
}

/* Readable when the peer writes; the callback reads the bytes, stops the
 * watcher; more data then runs no callback; a start runs it again; after
 * the free the socket still works. */
static void test_readable_stop_restart(void **state)
{
    struct watched w;
    (void)state;
    setup(&w);
    w.read = 1;
    w.stop_watch = 1;
    w.stop_after = 1;
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    run_with_timer(&w, peer_writes, 20);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.last_events, XPR_READABLE);
    assert_int_equal(w.last_status, 0);
    assert_int_equal(w.got_len, 5);
    assert_memory_equal(w.got, "hello", 5);

    /* stopped: the peer's next bytes run nothing */
    assert_int_equal(test_socket_send(w.pair[1], "again", 5), 5);
    run_with_timer(&w, stop_loop, 150);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.got_len, 5);

    /* started again: what waits is reported */
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    assert_int_equal(xpr_watch_stop(w.watch), 0);
    assert_int_equal(xpr_watch_stop(w.watch), 0); /* idempotent */
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    w.stop_after = 2;
    tloop_run(w.loop, 10000);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.got_len, 10);
    assert_memory_equal(w.got + 5, "again", 5);
    xpr_watch_free(w.watch);
    check_socket_works(&w);
    teardown(&w);
}

/* Level-triggered: unread data runs the callback again, round after
 * round, until read. */
static void test_level_triggered(void **state)
{
    struct watched w;
    (void)state;
    setup(&w);
    w.stop_after = 3;
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    run_with_timer(&w, peer_writes, 10);
    assert_true(w.calls >= 3); /* workers may run one more as the run ends */
    assert_int_equal(w.got_len, 0);
    read_all(&w);
    assert_int_equal(w.got_len, 5);
    xpr_watch_free(w.watch);
    teardown(&w);
}

/* A fresh connected socket is writable; a new set replaces the old one,
 * also on a started watcher: writable-only hears nothing of data waiting,
 * readable-only nothing of the room to write. */
static void test_writable_then_new_set(void **state)
{
    struct watched w;
    (void)state;
    setup(&w);
    assert_int_equal(test_socket_send(w.pair[1], "hello", 5), 5);
    w.stop_each = 1;
    w.stop_after = 1;
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_WRITABLE), 0);
    tloop_run(w.loop, 10000);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.last_events, XPR_WRITABLE);

    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    w.read = 1;
    w.stop_after = 2;
    tloop_run(w.loop, 10000);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.last_events, XPR_READABLE);
    assert_int_equal(w.got_len, 5);

    /* a started watcher's set changed before the loop runs */
    assert_int_equal(test_socket_send(w.pair[1], "more!", 5), 5);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_WRITABLE), 0);
    w.read = 0;
    w.stop_after = 3;
    tloop_run(w.loop, 10000);
    assert_int_equal(w.calls, 3);
    assert_int_equal(w.last_events, XPR_WRITABLE);

    /* both */
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE | XPR_WRITABLE), 0);
    w.read = 1;
    w.stop_after = 4;
    tloop_run(w.loop, 10000);
    assert_int_equal(w.calls, 4);
    assert_int_equal(w.got_len, 10);
    assert_memory_equal(w.got + 5, "more!", 5);

    /* a new set from inside the callback */
    w.stop_each = 0;
    w.want_next = XPR_READABLE;
    w.stop_after = 6;
    assert_int_equal(xpr_watch_start(w.watch, XPR_WRITABLE), 0);
    run_with_timer(&w, peer_writes, 20);
    assert_int_equal(w.calls, 6);
    assert_int_equal(w.last_events, XPR_READABLE);
    assert_int_equal(w.got_len, 15);
    xpr_watch_free(w.watch);
    check_socket_works(&w);
    teardown(&w);
}

/* The peer closes, or resets: the watcher hears it (readable with the
 * end of the stream or an error on read, or the error in status). */
static void peer_closes(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    if (w->stop_each) /* here: reset */
        test_socket_reset(w->pair[1]);
    else
        test_socket_close(w->pair[1]);
    w->pair[1] = (test_socket)-1;
}

static void on_close_event(xpr_watch *watch, unsigned events, int status,
                           void *arg)
{
    struct watched *w = arg;
    callback_enter();
    w->calls++;
    w->last_events = events;
    w->last_status = status;
    if (events & XPR_READABLE)
        read_all(w);
    if (w->eof || status != 0) {
        CHECK_EQ(xpr_watch_stop(watch), 0);
        CHECK_EQ(xpr_loop_stop(w->loop), 0);
    }
    callback_leave();
}

static void test_peer_close(void **state)
{
    int reset;
    (void)state;
    for (reset = 0; reset < 2; reset++) {
        struct watched w;
        setup(&w);
        w.stop_each = reset;
        assert_int_equal(xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0],
                                       on_close_event, &w, &w.watch),
                         0);
        assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
        run_with_timer(&w, peer_closes, 20);
        assert_true(w.calls >= 1);
        assert_true(w.eof || w.last_status != 0);
        print_message("# %s: status %s, end of stream or error on read %d\n",
                      reset ? "reset" : "close", xpr_err_name(w.last_status),
                      w.eof);
        if (w.last_status != 0)
            assert_int_equal(w.last_status, XPR_ECONNRESET);
        xpr_watch_free(w.watch);
        tloop_free(w.loop);
        test_socket_close(w.pair[0]);
    }
}

/* Freed inside its callback: no callback afterwards though data wait;
 * the socket is still open and works. */
static void test_free_in_callback(void **state)
{
    struct watched w;
    (void)state;
    setup(&w);
    w.free_in_callback = 1;
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE | XPR_WRITABLE), 0);
    assert_int_equal(test_socket_send(w.pair[1], "hello", 5), 5);
    run_with_timer(&w, stop_loop, 150);
    assert_int_equal(w.calls, 1);
    assert_null(w.watch);
    read_all(&w);
    assert_int_equal(w.got_len, 5);
    check_socket_works(&w);
    teardown(&w);
}

/* An unreferenced watcher does not keep xpr_loop_run running; a
 * referenced one does, until its callback frees it. */
static void let_idle(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    tloop_let_idle(w->loop);
}

static void send_later(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    tloop_let_idle(w->loop);
    CHECK_EQ(test_socket_send(w->pair[1], "hello", 5), 5);
}

static void test_ref_unref(void **state)
{
    struct watched w;
    xpr_timer *t;
    (void)state;
    setup(&w);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 1);
    assert_int_equal(xpr_watch_unref(w.watch), 0);
    assert_int_equal(xpr_watch_unref(w.watch), 0); /* idempotent */
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 0);
    /* unreferenced: the run returns once the harness's deadline stops */
    run_with_timer(&w, let_idle, 10);
    assert_int_equal(w.calls, 0);
    assert_int_equal(xpr_watch_ref(w.watch), 0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 1);
    assert_int_equal(xpr_watch_stop(w.watch), 0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);

    /* referenced: only the watcher keeps the run going until the bytes
     * an unreferenced timer sends arrive and the callback frees it */
    w.read = 1;
    w.free_in_callback = 1;
    assert_int_equal(xpr_timer_new(w.loop, send_later, &w, &t), 0);
    assert_int_equal(xpr_timer_start(t, 30, 0), 0);
    assert_int_equal(xpr_timer_unref(t), 0);
    tloop_run(w.loop, 10000);
    xpr_timer_free(t);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.got_len, 5);
    teardown(&w);
}

/* xpr_loop_free frees a started watcher and leaves the socket open. */
static void test_loop_free_frees_watchers(void **state)
{
    struct watched w;
    xpr_watch *other;
    (void)state;
    setup(&w);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[1], on_event, &w, &other),
        0);
    assert_int_equal(xpr_watch_start(other, XPR_WRITABLE), 0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 1);
    tloop_forget(w.loop);
    xpr_loop_free(w.loop);
    check_socket_works(&w);
    test_socket_close(w.pair[0]);
    test_socket_close(w.pair[1]);
}

/* POSIX: any descriptor; a pipe's read end is readable when written and
 * reports the writer's close as the end of the stream. */
static void pipe_writes(xpr_timer *t, void *arg)
{
    struct watched *w = arg;
    (void)t;
    CHECK_EQ(test_pipe_write(w->pair[1], "pipe!", 5), 5);
}

static void on_pipe(xpr_watch *watch, unsigned events, int status, void *arg)
{
    struct watched *w = arg;
    callback_enter();
    CHECK_EQ(status, 0);
    CHECK(events == XPR_READABLE);
    w->calls++;
    for (;;) {
        long n = test_pipe_read(w->pair[0], w->got + w->got_len,
                                sizeof(w->got) - w->got_len);
        if (n > 0) {
            w->got_len += (size_t)n;
            continue;
        }
        if (n == 0)
            w->eof = 1;
        break;
    }
    if (w->got_len == 5 && w->pair[1] != (test_socket)-1) {
        test_socket_close(w->pair[1]); /* the writer goes */
        w->pair[1] = (test_socket)-1;
    }
    if (w->eof) {
        xpr_watch_free(watch);
        w->watch = NULL;
    }
    callback_leave();
}

static void test_pipe_descriptor(void **state)
{
    struct watched w;
    (void)state;
    memset(&w, 0, sizeof(w));
    if (test_pipe(w.pair) != 0)
        NOT_APPLICABLE("no pipe a socket call takes (Windows)");
    w.loop = tloop_new();
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_pipe, &w, &w.watch),
        0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    /* the watcher alone keeps the run going; it frees itself at EOF */
    {
        xpr_timer *t;
        assert_int_equal(xpr_timer_new(w.loop, pipe_writes, &w, &t), 0);
        assert_int_equal(xpr_timer_start(t, 20, 0), 0);
        assert_int_equal(xpr_timer_unref(t), 0);
        run_with_timer(&w, let_idle, 10);
        xpr_timer_free(t);
    }
    assert_null(w.watch);
    assert_true(w.eof);
    assert_int_equal(w.got_len, 5);
    assert_memory_equal(w.got, "pipe!", 5);
    tloop_free(w.loop);
    test_socket_close(w.pair[0]);
}

/* Nothing leaks: descriptors or handles come back to their count. */
static void test_no_handle_leak(void **state)
{
    struct watched w;
    long before;
    int i;
    (void)state;
    setup(&w);
    tloop_free(w.loop);
    before = test_open_handles();
    for (i = 0; i < 3; i++) {
        w.loop = tloop_new();
        w.read = 1;
        w.stop_after = i + 1;
        assert_int_equal(xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0],
                                       on_event, &w, &w.watch),
                         0);
        assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
        run_with_timer(&w, peer_writes, 5);
        xpr_watch_free(w.watch);
        tloop_free(w.loop);
    }
    assert_int_equal(w.got_len, 15);
    if (before >= 0)
        assert_int_equal(test_open_handles(), before);
    test_socket_close(w.pair[0]);
    test_socket_close(w.pair[1]);
}

/* A registration that fails (-Dfault_injection=true: the poller's, the
 * libevent event's or the AFD request's) is xpr_watch_start's error: the
 * watcher stays stopped and keeps nothing running, and a later start
 * works. */
static void test_start_fails(void **state)
{
#ifdef XPR_FAULT_INJECTION
    struct watched w;
    int rc;
    (void)state;
    setup(&w);
    w.read = 1;
    w.stop_watch = 1;
    w.stop_after = 1;
    assert_int_equal(
        xpr_watch_new(w.loop, (xpr_os_socket)w.pair[0], on_event, &w, &w.watch),
        0);
    xpr__fault_configure(0.0, 0, 0.0, 1);
    xpr__fault_arm(XPR__FAULT_WATCH, 0, 1);
    rc = xpr_watch_start(w.watch, XPR_READABLE);
    if (xpr__fault_injected(XPR__FAULT_WATCH) == 0) {
        xpr__fault_configure(0.0, 0, 0.0, 1);
        xpr_watch_free(w.watch);
        teardown(&w);
        NOT_APPLICABLE("the poller's registration cannot fail here");
    }
    xpr__fault_configure(0.0, 0, 0.0, 1);
    assert_int_not_equal(rc, 0);
    assert_int_equal(xpr_loop_run_mode(w.loop, XPR_RUN_NOWAIT), 0);
    assert_int_equal(xpr_watch_start(w.watch, XPR_READABLE), 0);
    run_with_timer(&w, peer_writes, 10);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.got_len, 5);
    xpr_watch_free(w.watch);
    teardown(&w);
#else
    (void)state;
    NOT_APPLICABLE("needs -Dfault_injection=true");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_readable_stop_restart),
        cmocka_unit_test(test_level_triggered),
        cmocka_unit_test(test_writable_then_new_set),
        cmocka_unit_test(test_peer_close),
        cmocka_unit_test(test_free_in_callback),
        cmocka_unit_test(test_ref_unref),
        cmocka_unit_test(test_loop_free_frees_watchers),
        cmocka_unit_test(test_pipe_descriptor),
        cmocka_unit_test(test_no_handle_leak),
        cmocka_unit_test(test_start_fails),
    };
    return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
