/* Fairness between connections of one loop:
 *   - one connection streaming as fast as it can does not starve 100 others
 *     doing small round trips;
 *   - the "FD_WRITE trap" (docs/design.md, "WSAAsyncSelect"): a writer
 *     blocked by a paused reader resumes once the reader drains, cycle after
 *     cycle on the same connection, so the engine must remember a blocked
 *     writer every time, not only the first. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_server.h"
#include "pattern.h"
#include "platform.h"

/* ---- one busy connection, 100 small ones ---- */

#define SMALL_CONNS 100u
#define SMALL_ROUNDS 20u
#define BUSY_SEED 4242u
#define BUSY_CHUNK (256u * 1024)
/* The busy client writes while less than this is queued at its end. */
#define BUSY_QUEUE (1024u * 1024)
/* The small ones start once the busy stream has echoed this much. */
#define BUSY_WARMUP (4u * 1024 * 1024)
/* The small ones must all be done this long after they start. */
#define SMALL_DEADLINE_MS 60000u

struct fair_run;

struct small {
    struct fair_run *run;
    xpr_conn *conn;
    uint32_t seed;
    size_t len; /* bytes per round trip */
    size_t received;
    unsigned rounds;
    unsigned opens;
    unsigned closes;
    int close_err;
    uint64_t round_started_ms;
    uint64_t slowest_round_ms;
};

struct fair_run {
    xpr_loop *loop;
    struct echo_server server;
    xpr_timer *small_deadline;

    xpr_conn *busy;
    unsigned char *chunk;
    uint64_t busy_written;
    uint64_t busy_received;
    uint64_t busy_data_calls;
    unsigned busy_opens;
    unsigned busy_closes;
    int busy_close_err;
    int busy_stopping; /* the small ones are done: finish the stream */

    struct small smalls[SMALL_CONNS];
    int smalls_started;
    unsigned smalls_done;
    unsigned smalls_closed;
    uint64_t smalls_started_ms;
    uint64_t smalls_done_ms;
    /* the busy stream's progress when the small ones started / finished */
    uint64_t busy_received_at_start;
    uint64_t busy_received_at_done;
    uint64_t busy_data_calls_at_start;
    uint64_t busy_data_calls_at_done;
};

static void fair_maybe_end(struct fair_run *run)
{
    if (run->busy_closes == 1 && run->smalls_closed == SMALL_CONNS) {
        echo_server_stop_listening(&run->server);
        tloop_stop_when_empty(run->loop);
    }
}

/* Keeps the busy client's queue topped up: it writes as fast as the
 * connection takes it. */
static void busy_pump(struct fair_run *run)
{
    while (!run->busy_stopping && xpr_conn_queued(run->busy) < BUSY_QUEUE) {
        pattern_fill(BUSY_SEED, run->busy_written, run->chunk, BUSY_CHUNK);
        if (!CHECK_EQ(xpr_conn_write(run->busy, run->chunk, BUSY_CHUNK), 0)) {
            return;
        }
        run->busy_written += BUSY_CHUNK;
    }
}

static void small_send_round(struct small *s)
{
    unsigned char msg[256];

    pattern_fill(s->seed, (uint64_t)s->rounds * s->len, msg, s->len);
    s->round_started_ms = test_now_ms();
    CHECK_EQ(xpr_conn_write(s->conn, msg, s->len), 0);
}

static void small_on_open(xpr_conn *conn)
{
    struct small *s = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == s->conn);
    CHECK_EQ(s->opens, 0);
    s->opens++;
    small_send_round(s);
    callback_leave();
}

static void small_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct small *s = xpr_conn_userdata(conn);
    struct fair_run *run = s->run;
    size_t round_end = (size_t)(s->rounds + 1) * s->len;

    callback_enter();
    if (CHECK(s->received + n <= round_end)) {
        CHECK_EQ(pattern_mismatch(s->seed, s->received, data, n), n);
        s->received += n;
    }
    if (s->received == round_end) {
        uint64_t took = test_now_ms() - s->round_started_ms;
        if (took > s->slowest_round_ms) {
            s->slowest_round_ms = took;
        }
        if (++s->rounds < SMALL_ROUNDS) {
            small_send_round(s);
        } else {
            CHECK_EQ(xpr_conn_close(conn), 0);
            if (++run->smalls_done == SMALL_CONNS) {
                /* the busy one must still be streaming, untouched */
                CHECK_EQ(run->busy_closes, 0);
                CHECK(!run->busy_stopping);
                run->smalls_done_ms = test_now_ms();
                run->busy_received_at_done = run->busy_received;
                run->busy_data_calls_at_done = run->busy_data_calls;
                CHECK_EQ(xpr_timer_stop(run->small_deadline), 0);
                run->busy_stopping = 1;
                if (run->busy_received == run->busy_written) {
                    CHECK_EQ(xpr_conn_close(run->busy), 0);
                }
            }
        }
    }
    callback_leave();
}

static void small_on_close(xpr_conn *conn, int err)
{
    struct small *s = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == s->conn);
    CHECK_EQ(err, 0); /* a connect that failed says why */
    CHECK_EQ(s->opens, 1);
    CHECK_EQ(s->closes, 0);
    s->closes++;
    s->close_err = err;
    s->run->smalls_closed++;
    fair_maybe_end(s->run);
    callback_leave();
}

static void start_smalls(struct fair_run *run)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = small_on_open,
        .on_data = small_on_data,
        .on_close = small_on_close,
    };
    unsigned i;

    run->smalls_started = 1;
    run->smalls_started_ms = test_now_ms();
    run->busy_received_at_start = run->busy_received;
    run->busy_data_calls_at_start = run->busy_data_calls;
    CHECK_EQ(xpr_timer_start(run->small_deadline, SMALL_DEADLINE_MS, 0), 0);
    for (i = 0; i < SMALL_CONNS; i++) {
        struct small *s = &run->smalls[i];
        s->run = run;
        s->seed = 5000 + i;
        s->len = 16 + i; /* 16 .. 115 bytes */
        if (!CHECK_EQ(xpr_connect(run->loop, run->server.address, &callbacks, s,
                                  &s->conn),
                      0)) {
            return;
        }
    }
}

static void on_small_deadline(xpr_timer *timer, void *arg)
{
    struct fair_run *run = arg;
    unsigned fewest = SMALL_ROUNDS;
    unsigned i;
    (void)timer;

    for (i = 0; i < SMALL_CONNS; i++) {
        if (run->smalls[i].rounds < fewest) {
            fewest = run->smalls[i].rounds;
        }
    }
    print_error("after %u ms: %u of %u small connections done, the slowest "
                "at %u of %u round trips; the busy one echoed %llu MiB\n",
                SMALL_DEADLINE_MS, run->smalls_done, SMALL_CONNS, fewest,
                SMALL_ROUNDS,
                (unsigned long long)((run->busy_received -
                                      run->busy_received_at_start) >>
                                     20));
    /* fails: the timer is stopped once all are done */
    CHECK_EQ(run->smalls_done, SMALL_CONNS);
}

static void busy_on_open(xpr_conn *conn)
{
    struct fair_run *run = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == run->busy);
    CHECK_EQ(run->busy_opens, 0);
    run->busy_opens++;
    busy_pump(run);
    callback_leave();
}

static void busy_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct fair_run *run = xpr_conn_userdata(conn);

    callback_enter();
    if (CHECK(run->busy_received + n <= run->busy_written)) {
        CHECK_EQ(pattern_mismatch(BUSY_SEED, run->busy_received, data, n), n);
        run->busy_received += n;
    }
    run->busy_data_calls++;
    if (!run->smalls_started && run->busy_received >= BUSY_WARMUP) {
        start_smalls(run);
    }
    if (run->busy_stopping) {
        if (run->busy_received == run->busy_written) {
            CHECK_EQ(xpr_conn_close(conn), 0);
        }
    } else {
        busy_pump(run);
    }
    callback_leave();
}

static void busy_on_drain(xpr_conn *conn)
{
    struct fair_run *run = xpr_conn_userdata(conn);

    callback_enter();
    busy_pump(run);
    callback_leave();
}

static void busy_on_close(xpr_conn *conn, int err)
{
    struct fair_run *run = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == run->busy);
    CHECK_EQ(err, 0);
    CHECK(run->busy_stopping); /* not before the small ones are done */
    CHECK_EQ(run->busy_closes, 0);
    run->busy_closes++;
    run->busy_close_err = err;
    fair_maybe_end(run);
    callback_leave();
}

static void test_busy_connection_does_not_starve_others(void **state)
{
    static const struct xpr_conn_callbacks busy_callbacks = {
        .on_open = busy_on_open,
        .on_data = busy_on_data,
        .on_drain = busy_on_drain,
        .on_close = busy_on_close,
    };
    struct fair_run *run = calloc(1, sizeof(*run));
    uint64_t slowest = 0;
    uint64_t busy_bytes;
    uint64_t small_bytes = 0;
    unsigned i;
    (void)state;

    assert_non_null(run);
    run->chunk = malloc(BUSY_CHUNK);
    assert_non_null(run->chunk);
    run->loop = tloop_new();
    assert_int_equal(
        xpr_timer_new(run->loop, on_small_deadline, run, &run->small_deadline),
        0);
    echo_server_start(&run->server, run->loop, NULL);
    run->busy =
        tloop_connect(run->loop, run->server.address, &busy_callbacks, run);

    tloop_run(run->loop, 2 * SMALL_DEADLINE_MS);

    assert_true(run->smalls_started);
    assert_int_equal(run->smalls_done, SMALL_CONNS);
    for (i = 0; i < SMALL_CONNS; i++) {
        const struct small *s = &run->smalls[i];
        assert_int_equal(s->opens, 1);
        assert_int_equal(s->closes, 1);
        assert_int_equal(s->close_err, 0);
        assert_int_equal(s->rounds, SMALL_ROUNDS);
        assert_int_equal(s->received, SMALL_ROUNDS * s->len);
        small_bytes += s->received;
        if (s->slowest_round_ms > slowest) {
            slowest = s->slowest_round_ms;
        }
    }
    /* the busy stream moved data while the small ones ran, and all of it
     * came back */
    busy_bytes = run->busy_received_at_done - run->busy_received_at_start;
    assert_true(busy_bytes > 0);
    assert_true(run->busy_data_calls_at_done > run->busy_data_calls_at_start);
    assert_int_equal(run->busy_opens, 1);
    assert_int_equal(run->busy_closes, 1);
    assert_int_equal(run->busy_close_err, 0);
    assert_int_equal(run->busy_received, run->busy_written);
    assert_int_equal(run->server.opened, SMALL_CONNS + 1);
    assert_int_equal(run->server.closed, SMALL_CONNS + 1);
    assert_int_equal(run->server.closed_with_error, 0);
    assert_int_equal(run->server.echoed_bytes, run->busy_written + small_bytes);
    print_message(
        "# fairness %s: 100 x %u round trips done in %llu ms "
        "(slowest round trip %llu ms) while the busy connection "
        "echoed %llu KiB in %llu reads; it echoed %llu MiB in all\n",
        xpr_loop_backend(run->loop), SMALL_ROUNDS,
        (unsigned long long)(run->smalls_done_ms - run->smalls_started_ms),
        (unsigned long long)slowest, (unsigned long long)(busy_bytes / 1024),
        (unsigned long long)(run->busy_data_calls_at_done -
                             run->busy_data_calls_at_start),
        (unsigned long long)(run->busy_received >> 20));
    xpr_timer_free(run->small_deadline);
    tloop_free(run->loop);
    free(run->chunk);
    free(run);
}

/* ---- the FD_WRITE trap, five times on one connection ---- */

#define TRAP_SEED 31u
#define TRAP_CYCLES 5u
#define QUEUE_BOUND (1024u * 1024) /* the server writes while at or below */
#define TRAP_CHUNK (64u * 1024)
/* Far beyond what loopback socket buffers hold: reaching it in one cycle
 * means the paused client kept reading. */
#define CYCLE_WRITE_CAP (64ull * 1024 * 1024)
#define STUCK_TICKS 3
/* After the reader resumes, the cycle must end within this. */
#define CYCLE_DEADLINE_MS 30000u

struct trap {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    xpr_conn *server;
    xpr_conn *client;
    xpr_timer *tick;
    unsigned char chunk[TRAP_CHUNK];

    unsigned cycle; /* the cycle running, TRAP_CYCLES when all done */
    int filling;    /* the server writes into the paused client */
    int draining;   /* the client resumed; the cycle has not ended */
    int client_paused;
    uint64_t written;     /* by the server */
    uint64_t received;    /* by the client */
    uint64_t cycle_start; /* written when the cycle began */
    size_t last_queued;
    size_t max_queued;
    unsigned stuck_ticks;
    unsigned drains;           /* on_drain of the server */
    unsigned drains_at_resume; /* drains when the client resumed */
    uint64_t resumed_ms;

    size_t queued_at_block[TRAP_CYCLES];
    unsigned drains_after_resume[TRAP_CYCLES];
    uint64_t cycle_bytes[TRAP_CYCLES];

    unsigned closes;
    int client_close_err;
    int server_close_err;
};

static size_t trap_queue(struct trap *t)
{
    size_t queued = xpr_conn_queued(t->server);
    CHECK(queued <= t->written - t->received);
    if (queued > t->max_queued) {
        t->max_queued = queued;
    }
    return queued;
}

static void trap_fill(struct trap *t)
{
    while (trap_queue(t) <= QUEUE_BOUND) {
        if (!CHECK(t->written - t->cycle_start < CYCLE_WRITE_CAP)) {
            return; /* the paused client's side never pushed back */
        }
        pattern_fill(TRAP_SEED, t->written, t->chunk, TRAP_CHUNK);
        if (!CHECK_EQ(xpr_conn_write(t->server, t->chunk, TRAP_CHUNK), 0)) {
            return;
        }
        t->written += TRAP_CHUNK;
    }
}

static void trap_begin_cycle(struct trap *t)
{
    t->client_paused = 1;
    CHECK_EQ(xpr_conn_pause_reading(t->client), 0);
    t->filling = 1;
    t->stuck_ticks = 0;
    t->last_queued = 0;
    t->cycle_start = t->written;
    trap_fill(t);
}

/* The writer is blocked: let the reader drain. */
static void trap_resume_client(struct trap *t)
{
    size_t queued = trap_queue(t);

    CHECK(queued > QUEUE_BOUND);
    t->queued_at_block[t->cycle] = queued;
    t->filling = 0;
    t->draining = 1;
    t->drains_at_resume = t->drains;
    t->resumed_ms = test_now_ms();
    t->client_paused = 0;
    CHECK_EQ(xpr_conn_resume_reading(t->client), 0);
}

/* A cycle ends once the client got every byte and the server's on_drain
 * said its queue emptied (in either order). */
static void trap_maybe_end_cycle(struct trap *t)
{
    struct xpr_loop_stats stats;

    if (!t->draining || t->received != t->written ||
        t->drains == t->drains_at_resume) {
        return;
    }
    t->draining = 0;
    CHECK_EQ(xpr_conn_queued(t->server), 0);
    CHECK_EQ(xpr_conn_queued(t->client), 0);
    if (CHECK_EQ(xpr_loop_stats(t->loop, &stats), 0)) {
        CHECK_EQ(stats.queued_write_bytes, 0);
    }
    t->drains_after_resume[t->cycle] = t->drains - t->drains_at_resume;
    t->cycle_bytes[t->cycle] = t->written - t->cycle_start;
    if (++t->cycle < TRAP_CYCLES) {
        trap_begin_cycle(t);
    } else {
        CHECK_EQ(xpr_timer_stop(t->tick), 0);
        CHECK_EQ(xpr_conn_close(t->client), 0);
    }
}

/* The reader resumed long ago and the cycle has not ended: say where it
 * hangs, then fail. */
static void trap_check_cycle_deadline(struct trap *t)
{
    if (test_now_ms() - t->resumed_ms <= CYCLE_DEADLINE_MS) {
        return;
    }
    print_error("cycle %u of %u: %llu of %llu bytes received, %llu still "
                "queued at the writer, %u on_drain since the reader "
                "resumed\n",
                t->cycle + 1, TRAP_CYCLES,
                (unsigned long long)(t->received - t->cycle_start),
                (unsigned long long)(t->written - t->cycle_start),
                (unsigned long long)(t->server != NULL
                                         ? xpr_conn_queued(t->server)
                                         : 0),
                t->drains - t->drains_at_resume);
    CHECK(!"the blocked writer resumed once the reader drained");
    CHECK_EQ(xpr_timer_stop(t->tick), 0);
}

/* Every millisecond: while filling, top the server's queue up to the
 * bound; once the queue has stayed above the bound without shrinking for
 * a few ticks, the kernel buffers are full: the writer is blocked. After
 * the reader resumed, watch the cycle's deadline. */
static void trap_on_tick(xpr_timer *timer, void *arg)
{
    struct trap *t = arg;
    size_t queued;
    (void)timer;

    if (t->draining) {
        trap_check_cycle_deadline(t);
        return;
    }
    if (t->server == NULL || !t->filling || !t->client_paused) {
        return;
    }
    queued = trap_queue(t);
    if (queued > QUEUE_BOUND) {
        t->stuck_ticks = queued >= t->last_queued ? t->stuck_ticks + 1 : 0;
        t->last_queued = queued;
        if (t->stuck_ticks >= STUCK_TICKS) {
            trap_resume_client(t);
        }
        return;
    }
    t->stuck_ticks = 0;
    trap_fill(t);
    t->last_queued = trap_queue(t);
}

static void trap_server_on_open(xpr_conn *conn)
{
    struct trap *t = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(t->server == NULL);
    t->server = conn;
    if (t->client_paused) {
        trap_fill(t);
    }
    CHECK_EQ(xpr_timer_start(t->tick, 0, 1), 0);
    callback_leave();
}

static void trap_server_on_drain(xpr_conn *conn)
{
    struct trap *t = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == t->server);
    CHECK_EQ(xpr_conn_queued(conn), 0);
    t->drains++;
    if (t->filling) {
        /* the kernel took the whole queue: keep filling */
        trap_fill(t);
    }
    trap_maybe_end_cycle(t);
    callback_leave();
}

static void trap_server_on_data(xpr_conn *conn, const void *data, size_t n)
{
    (void)conn;
    (void)data;
    (void)n;
    callback_enter();
    CHECK(!"the client sends nothing");
    callback_leave();
}

static void trap_client_on_open(xpr_conn *conn)
{
    struct trap *t = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == t->client);
    CHECK_EQ(t->cycle, 0);
    t->filling = 1;
    t->client_paused = 1;
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    if (t->server != NULL) {
        trap_fill(t);
    }
    callback_leave();
}

static void trap_client_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct trap *t = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!t->client_paused);
    CHECK(!t->filling);
    if (CHECK(t->received + n <= t->written)) {
        CHECK_EQ(pattern_mismatch(TRAP_SEED, t->received, data, n), n);
        t->received += n;
    }
    trap_maybe_end_cycle(t);
    callback_leave();
}

static void trap_on_close(xpr_conn *conn, int err)
{
    struct trap *t = xpr_conn_userdata(conn);

    callback_enter();
    CHECK_EQ(err, 0);
    CHECK_EQ(t->cycle, TRAP_CYCLES); /* no end before the last cycle */
    if (conn == t->client) {
        t->client_close_err = err;
    } else {
        CHECK(conn == t->server);
        t->server_close_err = err;
        t->server = NULL;
    }
    if (++t->closes == 2) {
        CHECK_EQ(xpr_timer_stop(t->tick), 0);
        CHECK_EQ(xpr_listener_close(t->listener), 0);
        tloop_stop_when_empty(t->loop);
    }
    callback_leave();
}

static void test_blocked_writer_resumes_every_cycle(void **state)
{
    static const struct xpr_conn_callbacks server_callbacks = {
        .on_open = trap_server_on_open,
        .on_data = trap_server_on_data,
        .on_drain = trap_server_on_drain,
        .on_close = trap_on_close,
    };
    static const struct xpr_conn_callbacks client_callbacks = {
        .on_open = trap_client_on_open,
        .on_data = trap_client_on_data,
        .on_close = trap_on_close,
    };
    struct trap *t = calloc(1, sizeof(*t));
    uint64_t started_ms;
    unsigned i;
    (void)state;

    assert_non_null(t);
    t->loop = tloop_new();
    assert_int_equal(xpr_timer_new(t->loop, trap_on_tick, t, &t->tick), 0);
    t->listener = tloop_listen(t->loop, NULL, &server_callbacks, t, t->address);
    t->client = tloop_connect(t->loop, t->address, &client_callbacks, t);
    started_ms = test_now_ms();
    tloop_run(t->loop, 120000);

    assert_int_equal(t->cycle, TRAP_CYCLES);
    for (i = 0; i < TRAP_CYCLES; i++) {
        /* blocked with more than the bound queued, then drained: on_drain
         * fired after the client resumed */
        assert_true(t->queued_at_block[i] > QUEUE_BOUND);
        assert_true(t->drains_after_resume[i] >= 1);
        assert_true(t->cycle_bytes[i] > QUEUE_BOUND);
    }
    assert_true(t->max_queued <= QUEUE_BOUND + TRAP_CHUNK);
    assert_int_equal(t->received, t->written);
    assert_int_equal(t->closes, 2);
    assert_int_equal(t->client_close_err, 0);
    assert_int_equal(t->server_close_err, 0);
    print_message("# fairness %s: %u block/unblock cycles, %llu MiB in "
                  "%llu ms (queued at block: %llu KiB in cycle 1)\n",
                  xpr_loop_backend(t->loop), TRAP_CYCLES,
                  (unsigned long long)(t->written >> 20),
                  (unsigned long long)(test_now_ms() - started_ms),
                  (unsigned long long)(t->queued_at_block[0] / 1024));
    xpr_timer_free(t->tick);
    tloop_free(t->loop);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_connection_does_not_starve_others),
        cmocka_unit_test(test_blocked_writer_resumes_every_cycle),
    };
    return cmocka_run_group_tests_name("fairness", tests, NULL, NULL);
}
