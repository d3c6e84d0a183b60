/* The Winsock models' traps (docs/design.md, "The Winsock models") that the
 * rest of the suite does not reach directly; flow.c and fairness.c already
 * cover the blocked writer (FD_WRITE), pause/resume and starvation, scale.c the
 * groups of 63 sockets, post.c a post waking a loop on a far timer.
 * main() runs the tests that apply to the back end under test; when none
 * does, the whole binary is a TAP skip.
 *   - pending_reads_beyond_one_wait (section 6, `overlapped` trap 1):
 *     4 connections with 32 pre-posted reads at each end hold 256 reads
 *     pending, five groups of 63 events; a verified echo through all of
 *     them, every count back to zero. Completion back ends.
 *   - pending_writes_beyond_one_wait (section 6): 2 connections with a
 *     paused reader and 40 sends in flight each, 80 at once, until the
 *     reader resumes; every byte arrives once, in order. Completion back
 *     ends.
 *   - data_waiting_when_reads_post (section 6: a post that returns 0 has
 *     completed, `overlapped` trap 4, `completion-routine` trap 3; section
 *     4: FD_CLOSE only after all data were read): a paused reader whose
 *     peer sent everything and closed resumes, so its reads complete at
 *     once; each byte arrives once, then EOF. Every back end, both read
 *     modes.
 *   - callbacks_outside_alertable_waits (section 6: completion routines run
 *     in any alertable wait of the thread; section 4: the application's
 *     own message pump): each callback waits alertably and pumps the
 *     thread's messages; no callback may run inside another. Windows.
 *   - wake_loop_run_on_other_thread (`completion-routine` trap 6: the APC
 *     goes to one thread): a loop made on this thread and run on another
 *     is woken by posts from this one, 20 times. Every back end but
 *     asyncselect (its window belongs to the thread that made the loop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_server.h"
#include "pattern.h"
#include "platform.h"

#define DEADLINE_MS 60000u

static int backend_is(const char *name)
{
    const char *b = test_backend_env();
    return strcmp(b != NULL ? b : xpr_backend_default(), name) == 0;
}

static int completion_backend(void)
{
    return backend_is("iocp") || backend_is("overlapped") ||
           backend_is("completion-routine");
}

/* ---- 256 reads pending on 4 connections ---- */

#define FEW_CONNS 4u
#define MANY_READS 32u
#define SMALL_BUFFER 4096u
#define STREAM_LEN (256u * 1024)

struct reads_run {
    xpr_loop *loop;
    struct echo_server server;
    xpr_timer *watch;
    xpr_conn *clients[FEW_CONNS];
    size_t received[FEW_CONNS];
    unsigned opened, closed;
    uint64_t reads_when_open;
};

static unsigned client_index(struct reads_run *run, xpr_conn *conn)
{
    unsigned i = 0;
    while (i < FEW_CONNS && run->clients[i] != conn)
        i++;
    CHECK(i < FEW_CONNS);
    return i;
}

/* Both ends of every connection are open and nothing was sent: every read
 * the ends pre-posted is pending. Then the clients send. */
static void reads_watch(xpr_timer *timer, void *arg)
{
    struct reads_run *run = arg;
    struct xpr_completion_stats st;
    unsigned i;

    if (run->opened < FEW_CONNS || run->server.opened < FEW_CONNS)
        return;
    xpr_timer_stop(timer);
    if (CHECK_EQ(test_completion_stats(run->loop, &st), 0))
        run->reads_when_open = st.pending_reads;
    CHECK_EQ(run->reads_when_open, 2 * FEW_CONNS * MANY_READS);
    for (i = 0; i < FEW_CONNS; i++) {
        unsigned char *data = pattern_alloc(100 + i, STREAM_LEN);
        if (!CHECK(data != NULL))
            return;
        CHECK_EQ(xpr_conn_write(run->clients[i], data, STREAM_LEN), 0);
        free(data);
    }
}

static void reads_on_open(xpr_conn *conn)
{
    struct reads_run *run = xpr_conn_userdata(conn);
    callback_enter();
    run->opened++;
    callback_leave();
}

static void reads_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct reads_run *run = xpr_conn_userdata(conn);
    unsigned i = client_index(run, conn);
    callback_enter();
    if (CHECK(run->received[i] + n <= STREAM_LEN)) {
        CHECK_EQ(pattern_mismatch(100 + i, run->received[i], p, n), n);
        run->received[i] += n;
    }
    if (run->received[i] == STREAM_LEN)
        CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void reads_on_close(xpr_conn *conn, int err)
{
    struct reads_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(err, 0);
    if (++run->closed == FEW_CONNS) {
        echo_server_stop_listening(&run->server);
        tloop_stop_when_empty(run->loop);
    }
    callback_leave();
}

static void test_pending_reads_beyond_one_wait(void **state)
{
    static const struct xpr_conn_callbacks cb = {
        .on_open = reads_on_open,
        .on_data = reads_on_data,
        .on_close = reads_on_close,
    };
    struct xpr_loop_config cfg;
    struct xpr_completion_stats st;
    struct reads_run run;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.read_mode = XPR_READ_PREPOSTED;
    cfg.preposted_reads = MANY_READS;
    cfg.read_buffer_size = SMALL_BUFFER;
    run.loop = tloop_new_config(&cfg);
    echo_server_start(&run.server, run.loop, NULL);
    assert_int_equal(xpr_timer_new(run.loop, reads_watch, &run, &run.watch), 0);
    assert_int_equal(xpr_timer_start(run.watch, 1, 1), 0);
    for (i = 0; i < FEW_CONNS; i++)
        run.clients[i] = tloop_connect(run.loop, run.server.address, &cb, &run);
    tloop_run(run.loop, DEADLINE_MS);
    print_message("# %s: %llu reads pending on %u connections\n",
                  xpr_loop_backend(run.loop),
                  (unsigned long long)run.reads_when_open, FEW_CONNS);
    for (i = 0; i < FEW_CONNS; i++)
        assert_int_equal(run.received[i], STREAM_LEN);
    assert_int_equal(run.server.closed_with_error, 0);
    assert_int_equal(run.server.echoed_bytes, FEW_CONNS * STREAM_LEN);
    assert_int_equal(test_completion_stats(run.loop, &st), 0);
    assert_int_equal(st.pending_reads, 0);
    assert_int_equal(st.pinned_buffer_bytes, 0);
    xpr_timer_free(run.watch);
    tloop_free(run.loop);
}

/* ---- 80 sends in flight on 2 connections ---- */

#define WRITERS 2u
#define SENDS_IN_FLIGHT 40u
#define TOP_UP (1024u * 1024)
#define WRITE_SEED 777u

struct writes_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_timer *pump;
    xpr_conn *writers[WRITERS];
    uint64_t written[WRITERS];
    xpr_conn *readers[WRITERS];
    uint64_t received[WRITERS];
    unsigned readers_opened, writers_opened, closes, eofs;
    int resumed;
    uint64_t most_pending;
};

/* Every millisecond, until both writers have all their sends in flight:
 * keep each writer's queue topped up; then close the writers (they flush)
 * and let the readers read. */
static void writes_pump(xpr_timer *timer, void *arg)
{
    struct writes_run *run = arg;
    struct xpr_completion_stats st;
    unsigned i;

    if (!CHECK_EQ(test_completion_stats(run->loop, &st), 0))
        return;
    if (st.pending_writes > run->most_pending)
        run->most_pending = st.pending_writes;
    if (run->readers_opened == WRITERS && run->writers_opened == WRITERS &&
        st.pending_writes == WRITERS * SENDS_IN_FLIGHT) {
        xpr_timer_stop(timer);
        run->resumed = 1;
        for (i = 0; i < WRITERS; i++) {
            CHECK_EQ(xpr_conn_close(run->writers[i]), 0);
            CHECK_EQ(xpr_conn_resume_reading(run->readers[i]), 0);
        }
        return;
    }
    for (i = 0; i < WRITERS && run->writers_opened == WRITERS; i++) {
        unsigned char *chunk;
        if (xpr_conn_queued(run->writers[i]) >= 4 * TOP_UP)
            continue;
        chunk = malloc(TOP_UP);
        if (!CHECK(chunk != NULL))
            return;
        pattern_fill(WRITE_SEED, run->written[i], chunk, TOP_UP);
        CHECK_EQ(xpr_conn_write(run->writers[i], chunk, TOP_UP), 0);
        run->written[i] += TOP_UP;
        free(chunk);
    }
}

static unsigned reader_index(struct writes_run *run, xpr_conn *conn)
{
    unsigned i = 0;
    while (i < WRITERS && run->readers[i] != conn)
        i++;
    CHECK(i < WRITERS);
    return i;
}

static void reader_on_open(xpr_conn *conn)
{
    struct writes_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    if (CHECK(run->readers_opened < WRITERS))
        run->readers[run->readers_opened++] = conn;
    callback_leave();
}

static void reader_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct writes_run *run = xpr_conn_userdata(conn);
    unsigned i = reader_index(run, conn);
    callback_enter();
    CHECK(run->resumed);
    CHECK_EQ(pattern_mismatch(WRITE_SEED, run->received[i], p, n), n);
    run->received[i] += n;
    callback_leave();
}

static void reader_on_eof(xpr_conn *conn)
{
    struct writes_run *run = xpr_conn_userdata(conn);
    callback_enter();
    run->eofs++;
    CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void writes_on_close(xpr_conn *conn, int err)
{
    struct writes_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(err, 0);
    if (++run->closes == 2 * WRITERS) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
    callback_leave();
}

static void writer_on_open(xpr_conn *conn)
{
    struct writes_run *run = xpr_conn_userdata(conn);
    callback_enter();
    run->writers_opened++;
    callback_leave();
}

static void test_pending_writes_beyond_one_wait(void **state)
{
    static const struct xpr_conn_callbacks reader_cb = {
        .on_open = reader_on_open,
        .on_data = reader_on_data,
        .on_eof = reader_on_eof,
        .on_close = writes_on_close,
    };
    static const struct xpr_conn_callbacks writer_cb = {
        .on_open = writer_on_open,
        .on_close = writes_on_close,
    };
    struct xpr_loop_config cfg;
    struct writes_run run;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_sends_in_flight = SENDS_IN_FLIGHT;
    /* one worker: under Wine a loop with workers keeps one send in flight
     * per conn (win32/completion/engine.c, "Wine: pending transfers run in
     * the posting thread") */
    cfg.workers = 1;
    run.loop = tloop_new_config(&cfg);
    run.listener = tloop_listen(run.loop, NULL, &reader_cb, &run, run.address);
    assert_int_equal(xpr_timer_new(run.loop, writes_pump, &run, &run.pump), 0);
    assert_int_equal(xpr_timer_start(run.pump, 1, 1), 0);
    for (i = 0; i < WRITERS; i++)
        run.writers[i] = tloop_connect(run.loop, run.address, &writer_cb, &run);
    tloop_run(run.loop, DEADLINE_MS);
    print_message("# %s: %llu sends in flight on %u connections, %llu bytes "
                  "each\n",
                  xpr_loop_backend(run.loop),
                  (unsigned long long)run.most_pending, WRITERS,
                  (unsigned long long)run.written[0]);
    assert_true(run.resumed);
    assert_int_equal(run.most_pending, WRITERS * SENDS_IN_FLIGHT);
    assert_int_equal(run.eofs, WRITERS);
    for (i = 0; i < WRITERS; i++) {
        assert_true(run.written[i] > 0);
        assert_int_equal(run.received[i], run.written[i]);
    }
    xpr_timer_free(run.pump);
    tloop_free(run.loop);
}

/* ---- reads posted while the data and the FIN are waiting ---- */

#define WAITING_LEN (48u * 1024)
#define WAITING_SEED 4711u

struct waiting_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *client;
    int client_opened; /* its on_open ran (and paused it) */
    int resumed;
    uint64_t received;
    unsigned eofs, closes, server_closes;
    uint64_t inline_before, inline_after;
};

/* The server sends everything and closes (flush, then FIN). */
static void waiting_server_open(xpr_conn *conn)
{
    unsigned char *data = pattern_alloc(WAITING_SEED, WAITING_LEN);
    callback_enter();
    if (CHECK(data != NULL))
        CHECK_EQ(xpr_conn_write(conn, data, WAITING_LEN), 0);
    free(data);
    CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

/* The server is closed (its bytes and FIN are in the client's socket) and
 * the client's on_open has paused it: the client reads them now. With
 * several workers the server may close before the client's connect is
 * handled, so whichever of the two comes last resumes. */
static void waiting_resume(struct waiting_run *run)
{
    struct xpr_completion_stats st;
    CHECK(!run->resumed);
    CHECK_EQ(run->received, 0);
    if (CHECK_EQ(test_completion_stats(run->loop, &st), 0))
        run->inline_before = st.inline_completions;
    run->resumed = 1;
    CHECK_EQ(xpr_conn_resume_reading(run->client), 0);
}

static void waiting_on_close(xpr_conn *conn, int err)
{
    struct waiting_run *run = xpr_conn_userdata(conn);
    struct xpr_completion_stats st;
    callback_enter();
    CHECK_EQ(err, 0);
    if (conn != run->client) {
        run->server_closes++;
        if (run->client_opened)
            waiting_resume(run);
    }
    if (++run->closes == 2) {
        if (CHECK_EQ(test_completion_stats(run->loop, &st), 0))
            run->inline_after = st.inline_completions;
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        tloop_stop_when_empty(run->loop);
    }
    callback_leave();
}

static void waiting_client_open(xpr_conn *conn)
{
    struct waiting_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    run->client_opened = 1;
    if (run->server_closes == 1)
        waiting_resume(run);
    callback_leave();
}

static void waiting_client_data(xpr_conn *conn, const void *p, size_t n)
{
    struct waiting_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK(run->resumed);
    CHECK_EQ(run->eofs, 0);
    if (CHECK(run->received + n <= WAITING_LEN)) {
        CHECK_EQ(pattern_mismatch(WAITING_SEED, run->received, p, n), n);
        run->received += n;
    }
    callback_leave();
}

static void waiting_client_eof(xpr_conn *conn)
{
    struct waiting_run *run = xpr_conn_userdata(conn);
    callback_enter();
    CHECK_EQ(run->received, WAITING_LEN); /* EOF after all the data */
    run->eofs++;
    CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void data_waiting_run(enum xpr_read_mode mode)
{
    static const struct xpr_conn_callbacks server_cb = {
        .on_open = waiting_server_open,
        .on_close = waiting_on_close,
    };
    static const struct xpr_conn_callbacks client_cb = {
        .on_open = waiting_client_open,
        .on_data = waiting_client_data,
        .on_eof = waiting_client_eof,
        .on_close = waiting_on_close,
    };
    struct xpr_loop_config cfg;
    struct waiting_run run;

    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.read_mode = mode;
    cfg.preposted_reads = 4;
    cfg.read_buffer_size = SMALL_BUFFER; /* several reads complete at once */
    run.loop = tloop_new_config(&cfg);
    run.listener = tloop_listen(run.loop, NULL, &server_cb, &run, run.address);
    run.client = tloop_connect(run.loop, run.address, &client_cb, &run);
    tloop_run(run.loop, DEADLINE_MS);
    print_message("# %s, %s reads: %llu handled inline after the resume\n",
                  xpr_loop_backend(run.loop),
                  mode == XPR_READ_ZERO_BYTE ? "zero-byte" : "pre-posted",
                  (unsigned long long)(run.inline_after - run.inline_before));
    assert_int_equal(run.server_closes, 1);
    assert_int_equal(run.received, WAITING_LEN);
    assert_int_equal(run.eofs, 1);
    /* every byte was waiting: pre-posted reads complete at once (and are
     * handled inline), except that completion routines come in any case */
    if (backend_is("overlapped") && mode == XPR_READ_PREPOSTED)
        assert_true(run.inline_after > run.inline_before);
    if (backend_is("completion-routine"))
        assert_int_equal(run.inline_after, run.inline_before);
    tloop_free(run.loop);
}

static void test_data_waiting_when_reads_post(void **state)
{
    (void)state;
    data_waiting_run(XPR_READ_PREPOSTED);
    data_waiting_run(XPR_READ_ZERO_BYTE);
}

/* ---- alertable waits and message pumps inside callbacks ---- */

#define PINGERS 8u
#define PING_ROUNDS 50u
#define PING_LEN 1000u

struct alert_run {
    xpr_loop *loop;
    struct echo_server server;
    xpr_conn *clients[PINGERS];
    size_t received[PINGERS];
    unsigned rounds[PINGERS];
    unsigned closed;
    uint64_t ran_inside; /* APC batches and messages run by the callbacks */
};

/* What an application may do in any callback: an alertable wait and a
 * message pump. A routine or window procedure that ran callbacks there
 * would nest them: callback_enter fails the test. */
static void alert_enter(struct alert_run *run)
{
    callback_enter();
    run->ran_inside += test_alertable_wait_and_pump();
}

static void alert_leave(struct alert_run *run)
{
    run->ran_inside += test_alertable_wait_and_pump();
    callback_leave();
}

static unsigned pinger_index(struct alert_run *run, xpr_conn *conn)
{
    unsigned i = 0;
    while (i < PINGERS && run->clients[i] != conn)
        i++;
    CHECK(i < PINGERS);
    return i;
}

static void ping(struct alert_run *run, unsigned i)
{
    unsigned char chunk[PING_LEN];
    pattern_fill(300 + i, (uint64_t)run->rounds[i] * PING_LEN, chunk, PING_LEN);
    CHECK_EQ(xpr_conn_write(run->clients[i], chunk, PING_LEN), 0);
    /* the send may have completed already: its routine is queued now */
    run->ran_inside += test_alertable_wait_and_pump();
}

static void pinger_open(xpr_conn *conn)
{
    struct alert_run *run = xpr_conn_userdata(conn);
    alert_enter(run);
    ping(run, pinger_index(run, conn));
    alert_leave(run);
}

static void pinger_data(xpr_conn *conn, const void *p, size_t n)
{
    struct alert_run *run = xpr_conn_userdata(conn);
    unsigned i = pinger_index(run, conn);
    size_t round_end = (size_t)(run->rounds[i] + 1) * PING_LEN;
    alert_enter(run);
    if (CHECK(run->received[i] + n <= round_end)) {
        CHECK_EQ(pattern_mismatch(300 + i, run->received[i], p, n), n);
        run->received[i] += n;
    }
    if (run->received[i] == round_end) {
        if (++run->rounds[i] < PING_ROUNDS)
            ping(run, i);
        else
            CHECK_EQ(xpr_conn_close(conn), 0);
    }
    alert_leave(run);
}

static void pinger_close(xpr_conn *conn, int err)
{
    struct alert_run *run = xpr_conn_userdata(conn);
    alert_enter(run);
    CHECK_EQ(err, 0);
    if (++run->closed == PINGERS) {
        echo_server_stop_listening(&run->server);
        tloop_stop_when_empty(run->loop);
    }
    alert_leave(run);
}

static void test_callbacks_outside_alertable_waits(void **state)
{
    static const struct xpr_conn_callbacks cb = {
        .on_open = pinger_open,
        .on_data = pinger_data,
        .on_close = pinger_close,
    };
    struct alert_run run;
    unsigned i;
    (void)state;

    memset(&run, 0, sizeof(run));
    run.loop = tloop_new();
    echo_server_start(&run.server, run.loop, NULL);
    for (i = 0; i < PINGERS; i++)
        run.clients[i] = tloop_connect(run.loop, run.server.address, &cb, &run);
    tloop_run(run.loop, DEADLINE_MS);
    print_message("# %s: %llu APC batches and messages ran inside callbacks\n",
                  xpr_loop_backend(run.loop),
                  (unsigned long long)run.ran_inside);
    for (i = 0; i < PINGERS; i++) {
        assert_int_equal(run.rounds[i], PING_ROUNDS);
        assert_int_equal(run.received[i], PING_ROUNDS * PING_LEN);
    }
    assert_int_equal(run.server.closed_with_error, 0);
    assert_int_equal(run.server.echoed_bytes, PINGERS * PING_ROUNDS * PING_LEN);
    tloop_free(run.loop);
}

/* ---- a loop run on another thread than the one that made it ---- */

#define WAKE_ROUNDS 20u

struct wake_run {
    xpr_loop *loop;
    xpr_timer *far, *kick;
    struct test_thread *waker;
    int first_run; /* on this thread: the kick only ends it */
    int run_rc;
    int stopped_by_post;
    int timed_out;
};

static void wake_posted(void *arg)
{
    struct wake_run *w = arg;
    w->stopped_by_post = 1;
    xpr_timer_stop(w->far);
}

static void wake_poster(void *arg)
{
    struct wake_run *w = arg;
    if (xpr_loop_post(w->loop, wake_posted, w) != 0)
        w->run_rc = -200;
}

/* On the loop's second thread: start the thread that posts, then the loop
 * goes back to sleep on the far timer. */
static void wake_kick(xpr_timer *timer, void *arg)
{
    struct wake_run *w = arg;
    (void)timer;
    if (w->first_run)
        return;
    if (test_thread_start(&w->waker, wake_poster, w) != 0)
        w->run_rc = -300;
}

static void wake_runner(void *arg)
{
    struct wake_run *w = arg;
    int rc = xpr_loop_run(w->loop);
    if (w->run_rc == -100)
        w->run_rc = rc;
}

static void wake_far(xpr_timer *timer, void *arg)
{
    struct wake_run *w = arg;
    (void)timer;
    w->timed_out = 1;
}

/* The loop runs once on this thread, then on a new one, where it sleeps on
 * a far timer: a post from a third thread must wake it there (an APC aimed
 * at the first thread would be lost). The post stops the far timer, after
 * which the loop has nothing left and returns. */
static void test_wake_loop_run_on_other_thread(void **state)
{
    unsigned round;
    (void)state;

    for (round = 0; round < WAKE_ROUNDS; round++) {
        struct test_thread *runner = NULL;
        struct wake_run w;
        memset(&w, 0, sizeof(w));
        assert_int_equal(test_loop_new(&w.loop, NULL), 0);
        assert_int_equal(xpr_timer_new(w.loop, wake_far, &w, &w.far), 0);
        assert_int_equal(xpr_timer_new(w.loop, wake_kick, &w, &w.kick), 0);
        w.first_run = 1; /* the loop waits on this thread once */
        assert_int_equal(xpr_timer_start(w.kick, 1, 0), 0);
        assert_int_equal(xpr_loop_run(w.loop), 0);
        w.first_run = 0;
        w.run_rc = -100;
        assert_int_equal(xpr_timer_start(w.far, DEADLINE_MS / 4, 0), 0);
        assert_int_equal(xpr_timer_start(w.kick, 1, 0), 0);
        assert_int_equal(test_thread_start(&runner, wake_runner, &w), 0);
        test_thread_join(runner);
        if (w.waker != NULL)
            test_thread_join(w.waker);
        assert_int_equal(w.run_rc, 0);
        assert_true(w.stopped_by_post);
        assert_false(w.timed_out);
        xpr_timer_free(w.far);
        xpr_timer_free(w.kick);
        xpr_loop_free(w.loop);
    }
}

int main(void)
{
    struct CMUnitTest tests[5];
    size_t n = 0;

    tests[n++] =
        (struct CMUnitTest)cmocka_unit_test(test_data_waiting_when_reads_post);
    if (test_has_alertable_waits()) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(
            test_callbacks_outside_alertable_waits);
    }
    if (!backend_is("asyncselect")) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(
            test_wake_loop_run_on_other_thread);
    }
    if (completion_backend()) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(
            test_pending_reads_beyond_one_wait);
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(
            test_pending_writes_beyond_one_wait);
    }
    printf("# models: %u of 5 tests apply to this back end\n", (unsigned)n);
    return _cmocka_run_group_tests("models", tests, n, NULL, NULL);
}
