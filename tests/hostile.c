/* Hostile clients against an echo server that applies backpressure (it
 * pauses reading a conn whose write queue passes SERVER_HIGH_WATER and
 * resumes on drain), on the back end named by XPR_BACKEND, both ends on one
 * loop unless said otherwise:
 *   1. resets mid-stream: clients abort with data in flight both ways;
 *   2. half-close with multi-megabyte payloads, every byte checked;
 *   3. a slow reader: the loop's queued bytes stay bounded however much the
 *      client pushes, then every byte comes back;
 *   4. silent connections against first_data_timeout_ms beside a talker;
 *   5. a flood past max_connections;
 *   6. connect/close churn in waves;
 *   7. client processes killed while they write (the clients are this
 *      program again, started with WRITER_FLAG);
 *   8. the loop stopped and freed under load, posts arriving meanwhile.
 * Each case ends with no live connection, listener, timer or queued byte,
 * and with as many descriptors or handles as it started with. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echo_server.h"
#include "pattern.h"
#include "platform.h"

/* How long the system may take to give back what a case made it keep. */
#define SETTLE_MS 15000

#define CHUNK (64u * 1024)
/* Clients write while less than this waits in their own queue. */
#define CLIENT_QUEUE (256u * 1024)
#define SERVER_HIGH_WATER (1024u * 1024)
/* The server's queue of one conn: its high water plus what the on_data
 * that crossed it added (one read; some back ends read more at once). */
#define SERVER_QUEUE_BOUND (SERVER_HIGH_WATER + 1024u * 1024)
/* A connect that found no free local port tries again after this. */
#define PORT_RETRY_MS 500u
#define TICK_MS 5u

/* The argument that makes this program the writer of case 7. */
#define WRITER_FLAG "--hostile-writer"
/* A writer nobody kills ends after this. */
#define WRITER_LIFETIME_MS 120000u

struct run;

struct client {
    struct run *run;
    xpr_conn *conn;
    const struct xpr_conn_callbacks *callbacks;
    struct client *next_retry; /* waiting for a free local port */
    unsigned index;
    uint32_t seed;
    uint64_t budget; /* bytes it sends; UINT64_MAX: until the loop ends */
    uint64_t sent;
    uint64_t received;
    uint64_t abort_after; /* resets: abort once this much came back */
    uint64_t connect_ms;  /* xpr_connect called (the last time) */
    unsigned opens;
    unsigned closes;
    int close_err;
    int shutdown_at_end; /* xpr_conn_shutdown once the budget is sent */
    int shutdown_sent;
    int got_eof;
    int aborted;
    int served;         /* flood, churn: got its whole echo */
    int may_be_refused; /* flood: the server may close it at once */
    int paused;         /* slow reader: reading paused */
};

struct run {
    xpr_loop *loop;
    struct echo_server server;
    struct client *clients;
    unsigned client_count;
    unsigned clients_opened;
    unsigned clients_closed;
    unsigned started; /* clients connected so far (waves) */
    int phase;
    xpr_timer *tick;
    xpr_timer *port_retry;
    struct client *retry_head;
    unsigned port_waits;
    /* Runs after each server-side on_close (and its counts). */
    void (*on_server_close)(struct run *run);
    /* The server's on_close errors. */
    unsigned server_clean;     /* 0 */
    unsigned server_reset;     /* reset, broken pipe or aborted */
    unsigned server_timed_out; /* XPR_ETIMEDOUT */
    unsigned server_canceled;  /* XPR_ECANCELED */
    unsigned server_other;
    int server_other_err;
    long handles_at_start;
    uint64_t started_ms;
};

/* What clients write, refilled for each write (callbacks never overlap). */
static unsigned char chunk[CHUNK];

/* argv[0], to start the writer processes of case 7. */
static const char *self_argv0;

static int is_reset_error(int err)
{
    return err == XPR_ECONNRESET || err == XPR_EPIPE || err == XPR_ECONNABORTED;
}

/* ---- the run: loop, echo server, clients, port waits ---- */

static void server_closed(struct echo_server *server, xpr_conn *conn, int err)
{
    struct run *run = server->user;
    (void)conn;

    if (err == 0) {
        run->server_clean++;
    } else if (is_reset_error(err)) {
        run->server_reset++;
    } else if (err == XPR_ETIMEDOUT) {
        run->server_timed_out++;
    } else if (err == XPR_ECANCELED) {
        run->server_canceled++;
    } else {
        run->server_other++;
        run->server_other_err = err;
    }
    if (run->on_server_close != NULL) {
        run->on_server_close(run);
    }
}

/* Connects again the clients whose connect found every local port taken
 * (see client_needs_port). */
static void retry_connects(xpr_timer *timer, void *arg)
{
    struct run *run = arg;
    struct client *c = run->retry_head;
    (void)timer;

    run->retry_head = NULL;
    while (c != NULL) {
        struct client *next = c->next_retry;
        c->next_retry = NULL;
        c->connect_ms = test_now_ms();
        CHECK_EQ(xpr_connect(run->loop, run->server.address, c->callbacks, c,
                             &c->conn),
                 0);
        c = next;
    }
}

/* Whether a client's on_close is a connect that found no free local port
 * (XPR_EADDRNOTAVAIL): the host's, not the back end's (under Wine the
 * sockets are the host's, and loopback connections of earlier tests hold
 * their ports in TIME_WAIT). Such a client connects again after
 * PORT_RETRY_MS, within the case's deadline. */
static int client_needs_port(struct client *c, int err)
{
    struct run *run = c->run;

    if (c->opens != 0 || err != XPR_EADDRNOTAVAIL) {
        return 0;
    }
    if (run->port_waits++ == 0) {
        print_message("# %s: out of local ports: waiting for TIME_WAIT "
                      "ports to free up\n",
                      xpr_loop_backend(run->loop));
    }
    c->next_retry = run->retry_head;
    run->retry_head = c;
    if (c->next_retry == NULL) {
        CHECK_EQ(xpr_timer_start(run->port_retry, PORT_RETRY_MS, 0), 0);
    }
    return 1;
}

static void client_start(struct run *run, unsigned index,
                         const struct xpr_conn_callbacks *callbacks,
                         uint64_t budget)
{
    struct client *c = &run->clients[index];

    c->run = run;
    c->index = index;
    c->seed = 9000 + index;
    c->budget = budget;
    c->callbacks = callbacks;
    run->started++;
    c->connect_ms = test_now_ms();
    CHECK_EQ(
        xpr_connect(run->loop, run->server.address, callbacks, c, &c->conn), 0);
}

/* Writes the next pattern bytes while the client's queue is short. */
static void client_pump(struct client *c)
{
    int rc;

    while (c->sent < c->budget && xpr_conn_queued(c->conn) < CLIENT_QUEUE) {
        uint64_t left = c->budget - c->sent;
        size_t n = left < CHUNK ? (size_t)left : CHUNK;

        pattern_fill(c->seed, c->sent, chunk, n);
        rc = xpr_conn_write(c->conn, chunk, n);
        if (rc != 0) {
            /* A send that fails at once ends the conn with its error
             * (xpr.h): a refused client's peer may be gone already. */
            CHECK(c->may_be_refused && is_reset_error(rc));
            return;
        }
        c->sent += n;
    }
    if (c->sent == c->budget && c->shutdown_at_end && !c->shutdown_sent) {
        c->shutdown_sent = 1;
        CHECK_EQ(xpr_conn_shutdown(c->conn), 0);
    }
}

/* Checks echoed bytes against what the client sent. */
static void client_verify(struct client *c, const void *p, size_t n)
{
    if (CHECK(c->received + n <= c->sent)) {
        CHECK_EQ(pattern_mismatch(c->seed, c->received, p, n), n);
    }
    c->received += n;
}

static void client_opened(struct client *c, xpr_conn *conn)
{
    CHECK(conn == c->conn);
    CHECK_EQ(c->opens, 0);
    CHECK_EQ(c->closes, 0);
    c->opens++;
    c->run->clients_opened++;
}

/* The checks of every on_close of a client that opened: 0 when it is a
 * connect waiting for a port (client_needs_port), else 1, counted. */
static int client_closed(struct client *c, xpr_conn *conn, int err)
{
    CHECK(conn == c->conn);
    if (client_needs_port(c, err)) {
        return 0;
    }
    CHECK_EQ(c->closes, 0);
    c->closes++;
    c->close_err = err;
    c->run->clients_closed++;
    return 1;
}

static void run_start(struct run *run, unsigned clients,
                      const struct xpr_listen_config *cfg)
{
    memset(run, 0, sizeof(*run));
    run->handles_at_start = test_handles_baseline();
    run->started_ms = test_now_ms();
    run->loop = tloop_new();
    run->clients = calloc(clients, sizeof(*run->clients));
    assert_non_null(run->clients);
    run->client_count = clients;
    echo_server_start(&run->server, run->loop, cfg);
    run->server.high_water = SERVER_HIGH_WATER;
    run->server.on_close_hook = server_closed;
    run->server.user = run;
    assert_int_equal(
        xpr_timer_new(run->loop, retry_connects, run, &run->port_retry), 0);
}

/* Done: stop listening, end the loop once no conn is left. */
static void run_wind_down(struct run *run)
{
    if (run->tick != NULL) {
        xpr_timer_stop(run->tick);
    }
    echo_server_stop_listening(&run->server);
    tloop_stop_when_empty(run->loop);
}

static void run_report(const struct run *run, const char *what)
{
    print_message("# %s %s: %llu ms; server conns: %u opened, %u closed "
                  "(%u clean, %u reset, %u timed out, %u canceled), "
                  "%llu bytes echoed, most queued on one conn %llu\n",
                  what, xpr_loop_backend(run->loop),
                  (unsigned long long)(test_now_ms() - run->started_ms),
                  run->server.opened, run->server.closed, run->server_clean,
                  run->server_reset, run->server_timed_out,
                  run->server_canceled,
                  (unsigned long long)run->server.echoed_bytes,
                  (unsigned long long)run->server.max_queued);
    if (run->port_waits != 0) {
        print_message("# %u connects found no free local port (retried "
                      "every %u ms)\n",
                      run->port_waits, PORT_RETRY_MS);
    }
}

/* What the case made the system keep must go: the thread pool's idle
 * threads and their events are given a few seconds to retire. */
static void assert_handles_back(long at_start)
{
    long now = test_count_settles(test_open_handles, at_start, SETTLE_MS);
    if (at_start >= 0 && now > at_start) {
        fail_msg("%ld descriptors or handles open after the case, %ld "
                 "before",
                 now, at_start);
    }
}

/* Frees the loop (asserting nothing is left on it) and checks that the
 * descriptors or handles are back to the count before the case. */
static void run_finish(struct run *run)
{
    assert_int_equal(run->server_other, 0);
    if (run->tick != NULL) {
        xpr_timer_free(run->tick);
        run->tick = NULL;
    }
    xpr_timer_free(run->port_retry);
    run->port_retry = NULL;
    tloop_free(run->loop);
    free(run->clients);
    run->clients = NULL;
    assert_handles_back(run->handles_at_start);
}

/* ---- 1. resets mid-stream ---- */

#define RESET_CLIENTS 200u
#define RESET_BUDGET (256u * 1024)
/* Client i aborts once 1 + (i % 8) * RESET_STEP bytes came back. */
#define RESET_STEP (16u * 1024)

static void reset_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    client_pump(c);
    callback_leave();
}

static void reset_on_drain(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->aborted);
    client_pump(c);
    callback_leave();
}

static void reset_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->aborted); /* nothing is delivered after an abort */
    client_verify(c, p, n);
    if (c->received >= c->abort_after) {
        c->aborted = 1;
        CHECK_EQ(xpr_conn_abort(conn), 0);
    }
    callback_leave();
}

static void reset_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK_EQ(err, 0); /* the client aborted it */
        CHECK(c->aborted);
        if (c->run->clients_closed == c->run->client_count) {
            run_wind_down(c->run);
        }
    }
    callback_leave();
}

static void test_resets_mid_stream(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = reset_on_open,
        .on_data = reset_on_data,
        .on_drain = reset_on_drain,
        .on_close = reset_on_close,
    };
    struct run run;
    unsigned i;
    (void)state;

    run_start(&run, RESET_CLIENTS, NULL);
    for (i = 0; i < RESET_CLIENTS; i++) {
        run.clients[i].abort_after = 1 + (uint64_t)(i % 8) * RESET_STEP;
        client_start(&run, i, &callbacks, RESET_BUDGET);
    }
    tloop_run(run.loop, 60000);
    run_report(&run, "resets");
    for (i = 0; i < RESET_CLIENTS; i++) {
        const struct client *c = &run.clients[i];
        assert_int_equal(c->opens, 1);
        assert_int_equal(c->closes, 1);
        assert_int_equal(c->close_err, 0);
        assert_true(c->aborted);
        assert_true(c->received >= c->abort_after);
    }
    /* Every client was echoed to, so the server accepted each once. */
    assert_int_equal(run.server.opened, RESET_CLIENTS);
    assert_int_equal(run.server.closed, RESET_CLIENTS);
    assert_int_equal(run.server_clean + run.server_reset, RESET_CLIENTS);
    run_finish(&run);
}

/* ---- 2. half-close with multi-megabyte payloads ---- */

#define HALF_CLIENTS 4u
#define HALF_BUDGET (8ull * 1024 * 1024)

static void half_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    c->shutdown_at_end = 1;
    client_pump(c);
    callback_leave();
}

static void half_on_drain(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_pump(c);
    callback_leave();
}

static void half_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->got_eof);
    client_verify(c, p, n);
    callback_leave();
}

static void half_on_eof(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->got_eof);
    c->got_eof = 1;
    /* The server closes only after echoing everything. */
    CHECK(c->shutdown_sent);
    CHECK_EQ(c->received, c->budget);
    CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void half_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK_EQ(err, 0);
        CHECK(c->got_eof);
        if (c->run->clients_closed == c->run->client_count) {
            run_wind_down(c->run);
        }
    }
    callback_leave();
}

static void test_half_close_large(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = half_on_open,
        .on_data = half_on_data,
        .on_drain = half_on_drain,
        .on_eof = half_on_eof,
        .on_close = half_on_close,
    };
    struct run run;
    struct xpr_loop_stats stats;
    unsigned i;
    (void)state;

    run_start(&run, HALF_CLIENTS, NULL);
    for (i = 0; i < HALF_CLIENTS; i++) {
        client_start(&run, i, &callbacks, HALF_BUDGET);
    }
    tloop_run(run.loop, 120000);
    run_report(&run, "half-close");
    for (i = 0; i < HALF_CLIENTS; i++) {
        const struct client *c = &run.clients[i];
        assert_int_equal(c->opens, 1);
        assert_int_equal(c->closes, 1);
        assert_int_equal(c->close_err, 0);
        assert_true(c->got_eof);
        assert_int_equal(c->sent, HALF_BUDGET);
        assert_int_equal(c->received, HALF_BUDGET);
    }
    assert_int_equal(run.server.opened, HALF_CLIENTS);
    assert_int_equal(run.server.closed, HALF_CLIENTS);
    assert_int_equal(run.server_clean, HALF_CLIENTS);
    assert_int_equal(run.server.echoed_bytes, HALF_CLIENTS * HALF_BUDGET);
    assert_true(run.server.max_queued <= SERVER_QUEUE_BOUND);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    /* Both ends on the loop: every byte went both ways. */
    assert_int_equal(stats.bytes_read, 2 * HALF_CLIENTS * HALF_BUDGET);
    assert_int_equal(stats.bytes_written, 2 * HALF_CLIENTS * HALF_BUDGET);
    run_finish(&run);
}

/* ---- 3. slow reader ---- */

#define SLOW_BUDGET (64ull * 1024 * 1024)
/* The loop's queued bytes (the server's and the client's) stay below
 * this: the server's bound plus the client's queue and one chunk. */
#define SLOW_LOOP_BOUND (4u * 1024 * 1024)
/* The paused client is stuck once its sending made no progress for this
 * long: everything in between is full. */
#define SLOW_STUCK_MS 300u

enum slow_phase {
    SLOW_PAUSED,  /* the client does not read */
    SLOW_READING, /* it reads again */
    SLOW_DONE
};

struct slow_state {
    uint64_t max_loop_queued;
    uint64_t last_sent;
    uint64_t last_progress_ms;
    uint64_t sent_when_stuck;
    uint64_t queued_when_stuck;
    unsigned samples;
};

static struct slow_state slow;

static void slow_on_tick(xpr_timer *timer, void *arg)
{
    struct run *run = arg;
    struct client *c = &run->clients[0];
    struct xpr_loop_stats stats;
    uint64_t now = test_now_ms();
    (void)timer;

    if (!CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0)) {
        return;
    }
    slow.samples++;
    if (stats.queued_write_bytes > slow.max_loop_queued) {
        slow.max_loop_queued = stats.queued_write_bytes;
    }
    CHECK(stats.queued_write_bytes <= SLOW_LOOP_BOUND);
    CHECK(run->server.max_queued <= SERVER_QUEUE_BOUND);
    if (run->phase != SLOW_PAUSED || c->opens == 0) {
        return;
    }
    if (c->sent != slow.last_sent || slow.last_progress_ms == 0) {
        slow.last_sent = c->sent;
        slow.last_progress_ms = now;
        return;
    }
    if (now - slow.last_progress_ms < SLOW_STUCK_MS) {
        return;
    }
    /* Stuck: the server stopped taking more than it can hold. */
    slow.sent_when_stuck = c->sent;
    slow.queued_when_stuck = stats.queued_write_bytes;
    CHECK_EQ(c->received, 0);
    CHECK(c->sent < c->budget);
    run->phase = SLOW_READING;
    c->paused = 0;
    CHECK_EQ(xpr_conn_resume_reading(c->conn), 0);
}

static void slow_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    c->shutdown_at_end = 1;
    c->paused = 1;
    CHECK_EQ(xpr_conn_pause_reading(conn), 0);
    client_pump(c);
    callback_leave();
}

static void slow_on_drain(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_pump(c);
    callback_leave();
}

static void slow_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->paused);
    client_verify(c, p, n);
    callback_leave();
}

static void slow_on_eof(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!c->paused);
    c->got_eof = 1;
    CHECK_EQ(c->received, c->budget);
    CHECK_EQ(xpr_conn_close(conn), 0);
    callback_leave();
}

static void slow_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK_EQ(err, 0);
        c->run->phase = SLOW_DONE;
        run_wind_down(c->run);
    }
    callback_leave();
}

static void test_slow_reader(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = slow_on_open,
        .on_data = slow_on_data,
        .on_drain = slow_on_drain,
        .on_eof = slow_on_eof,
        .on_close = slow_on_close,
    };
    struct run run;
    const struct client *c;
    (void)state;

    memset(&slow, 0, sizeof(slow));
    run_start(&run, 1, NULL);
    run.phase = SLOW_PAUSED;
    assert_int_equal(xpr_timer_new(run.loop, slow_on_tick, &run, &run.tick), 0);
    assert_int_equal(xpr_timer_start(run.tick, TICK_MS, TICK_MS), 0);
    client_start(&run, 0, &callbacks, SLOW_BUDGET);
    tloop_run(run.loop, 180000);
    run_report(&run, "slow reader");
    print_message("# slow reader: stuck after sending %llu bytes (%llu "
                  "queued in the loop); most queued in the loop %llu in "
                  "%u samples; the server paused reading %u times\n",
                  (unsigned long long)slow.sent_when_stuck,
                  (unsigned long long)slow.queued_when_stuck,
                  (unsigned long long)slow.max_loop_queued, slow.samples,
                  run.server.pauses);
    c = &run.clients[0];
    assert_int_equal(run.phase, SLOW_DONE);
    assert_int_equal(c->opens, 1);
    assert_int_equal(c->closes, 1);
    assert_int_equal(c->close_err, 0);
    assert_true(c->got_eof);
    assert_int_equal(c->received, SLOW_BUDGET);
    /* The server pushed back: it held a bounded amount while the client
     * could not read, far from everything the client meant to send. */
    assert_true(slow.sent_when_stuck > 0);
    assert_true(slow.sent_when_stuck < SLOW_BUDGET / 2);
    assert_true(slow.max_loop_queued <= SLOW_LOOP_BOUND);
    assert_true(run.server.max_queued <= SERVER_QUEUE_BOUND);
    assert_true(run.server.pauses > 0);
    assert_int_equal(run.server_clean, 1);
    run_finish(&run);
}

/* ---- 4. silent connections against first_data_timeout_ms ---- */

#define SILENT_CLIENTS 100u
#define FIRST_DATA_MS 300u
/* A silent conn is closed no later than this after its connect started
 * (the server accepts after that, and the client's on_open may come later
 * than the server's, so the connect is the reference). */
#define SILENT_LATEST_MS (FIRST_DATA_MS + 5000u)
/* Slack for coarse clocks. */
#define SILENT_EARLY_SLACK_MS 20u
#define TALK_LEN 1024u
/* Round trips the talker makes after the last silent conn went. */
#define TALK_ROUNDS_AFTER 20u

struct silent_state {
    unsigned silent_closed;
    unsigned talker_rounds;
    unsigned rounds_at_last_silent;
    uint64_t latest_close_ms; /* longest open-to-close of a silent one */
};

static struct silent_state silent;

static void silent_maybe_done(struct run *run)
{
    if (run->clients_closed == run->client_count &&
        run->server.closed == run->server.opened) {
        run_wind_down(run);
    }
}

static void silent_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    callback_leave();
}

static void silent_on_data(xpr_conn *conn, const void *p, size_t n)
{
    (void)conn;
    (void)p;
    (void)n;
    callback_enter();
    CHECK(!"a silent client got data");
    callback_leave();
}

static void silent_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);
    uint64_t lived;

    callback_enter();
    if (client_closed(c, conn, err)) {
        /* The server closed it: EOF or a reset. */
        CHECK(err == 0 || is_reset_error(err));
        CHECK_EQ(c->opens, 1);
        lived = test_now_ms() - c->connect_ms;
        CHECK(lived + SILENT_EARLY_SLACK_MS >= FIRST_DATA_MS);
        CHECK(lived <= SILENT_LATEST_MS);
        if (lived > silent.latest_close_ms) {
            silent.latest_close_ms = lived;
        }
        if (++silent.silent_closed == SILENT_CLIENTS) {
            silent.rounds_at_last_silent = silent.talker_rounds;
        }
        silent_maybe_done(c->run);
    }
    callback_leave();
}

static void talker_send_round(struct client *c)
{
    c->budget += TALK_LEN;
    client_pump(c);
}

static void talker_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    talker_send_round(c);
    callback_leave();
}

static void talker_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_verify(c, p, n);
    if (c->received == c->sent) {
        silent.talker_rounds++;
        if (silent.silent_closed == SILENT_CLIENTS &&
            silent.talker_rounds >=
                silent.rounds_at_last_silent + TALK_ROUNDS_AFTER) {
            CHECK_EQ(xpr_conn_close(conn), 0);
        } else {
            talker_send_round(c);
        }
    }
    callback_leave();
}

static void talker_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK_EQ(err, 0);
        silent_maybe_done(c->run);
    }
    callback_leave();
}

static void test_silent_connections(void **state)
{
    static const struct xpr_conn_callbacks silent_callbacks = {
        .on_open = silent_on_open,
        .on_data = silent_on_data,
        .on_close = silent_on_close,
    };
    static const struct xpr_conn_callbacks talker_callbacks = {
        .on_open = talker_on_open,
        .on_data = talker_on_data,
        .on_close = talker_on_close,
    };
    struct xpr_listen_config cfg;
    struct xpr_loop_stats stats;
    struct run run;
    unsigned i;
    (void)state;

    memset(&silent, 0, sizeof(silent));
    memset(&cfg, 0, sizeof(cfg));
    cfg.first_data_timeout_ms = FIRST_DATA_MS;
    run_start(&run, SILENT_CLIENTS + 1, &cfg);
    run.on_server_close = silent_maybe_done;
    for (i = 0; i < SILENT_CLIENTS; i++) {
        client_start(&run, i, &silent_callbacks, 0);
    }
    client_start(&run, SILENT_CLIENTS, &talker_callbacks, 0);
    tloop_run(run.loop, 60000);
    run_report(&run, "silent");
    print_message("# silent: the last silent conn went %llu ms after it "
                  "opened; the talker made %u round trips (%u before)\n",
                  (unsigned long long)silent.latest_close_ms,
                  silent.talker_rounds, silent.rounds_at_last_silent);
    for (i = 0; i <= SILENT_CLIENTS; i++) {
        assert_int_equal(run.clients[i].opens, 1);
        assert_int_equal(run.clients[i].closes, 1);
    }
    assert_int_equal(run.clients[SILENT_CLIENTS].close_err, 0);
    assert_true(silent.talker_rounds >= TALK_ROUNDS_AFTER);
    assert_int_equal(run.server.opened, SILENT_CLIENTS + 1);
    assert_int_equal(run.server_timed_out, SILENT_CLIENTS);
    assert_int_equal(run.server_clean, 1); /* the talker */
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.timed_out_connections, SILENT_CLIENTS);
    run_finish(&run);
}

/* ---- 5. a flood past max_connections ---- */

#define FLOOD_MAX 50u
#define FLOOD_CLIENTS (3u * FLOOD_MAX) /* the first wave */
#define FLOOD_LEN 1024u

enum flood_phase {
    FLOOD_WAVE,    /* 3N clients at once: N served, the rest refused */
    FLOOD_LEAVING, /* the served ones leave */
    FLOOD_SECOND,  /* N new clients are served */
};

struct flood_state {
    unsigned served;
    unsigned refused_closed;
    unsigned refused_opened; /* refused, but saw the connect complete */
};

static struct flood_state flood;

static const struct xpr_conn_callbacks flood_callbacks;

static void flood_progress(struct run *run)
{
    struct xpr_loop_stats stats;
    unsigned i;

    if (run->phase == FLOOD_WAVE &&
        flood.served + flood.refused_closed == FLOOD_CLIENTS) {
        /* Everyone in the wave is served or refused: N live, no more. */
        CHECK_EQ(flood.served, FLOOD_MAX);
        CHECK_EQ(run->server.opened - run->server.closed, FLOOD_MAX);
        if (CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0)) {
            CHECK_EQ(stats.refused_connections, FLOOD_CLIENTS - FLOOD_MAX);
        }
        run->phase = FLOOD_LEAVING;
        for (i = 0; i < FLOOD_CLIENTS; i++) {
            if (run->clients[i].served) {
                CHECK_EQ(xpr_conn_close(run->clients[i].conn), 0);
            }
        }
    } else if (run->phase == FLOOD_LEAVING &&
               run->clients_closed == FLOOD_CLIENTS &&
               run->server.closed == run->server.opened) {
        run->phase = FLOOD_SECOND;
        for (i = FLOOD_CLIENTS; i < run->client_count; i++) {
            client_start(run, i, &flood_callbacks, FLOOD_LEN);
        }
    } else if (run->phase == FLOOD_SECOND &&
               run->clients_closed == run->client_count &&
               run->server.closed == run->server.opened) {
        run_wind_down(run);
    }
}

static void flood_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    c->may_be_refused = 1;
    client_opened(c, conn);
    client_pump(c);
    callback_leave();
}

static void flood_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);
    struct run *run = c->run;

    callback_enter();
    client_verify(c, p, n);
    if (c->received == c->budget) {
        c->served = 1;
        flood.served++;
        /* The server never holds more than N at once. */
        CHECK(run->server.opened - run->server.closed <= FLOOD_MAX);
        if (run->phase == FLOOD_SECOND) {
            CHECK_EQ(xpr_conn_close(conn), 0);
        } else {
            flood_progress(run);
        }
    }
    callback_leave();
}

static void flood_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        if (c->served) {
            CHECK_EQ(err, 0); /* closed by the client */
        } else {
            /* Refused: the server closed it, at once (EOF or reset). */
            CHECK(c->index < FLOOD_CLIENTS);
            CHECK(err == 0 || is_reset_error(err));
            flood.refused_closed++;
            flood.refused_opened += c->opens;
        }
        flood_progress(c->run);
    }
    callback_leave();
}

static const struct xpr_conn_callbacks flood_callbacks = {
    .on_open = flood_on_open,
    .on_data = flood_on_data,
    .on_close = flood_on_close,
};

static void test_flood_past_max_connections(void **state)
{
    struct xpr_listen_config cfg;
    struct xpr_loop_stats stats;
    struct run run;
    unsigned i;
    (void)state;

    memset(&flood, 0, sizeof(flood));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_connections = FLOOD_MAX;
    run_start(&run, FLOOD_CLIENTS + FLOOD_MAX, &cfg);
    run.on_server_close = flood_progress;
    run.phase = FLOOD_WAVE;
    for (i = 0; i < FLOOD_CLIENTS; i++) {
        client_start(&run, i, &flood_callbacks, FLOOD_LEN);
    }
    tloop_run(run.loop, 60000);
    run_report(&run, "flood");
    print_message("# flood: %u served, %u refused (%u of them saw the "
                  "connect complete), at most %u conns at once\n",
                  flood.served, flood.refused_closed, flood.refused_opened,
                  run.server.max_live);
    assert_int_equal(run.phase, FLOOD_SECOND);
    for (i = 0; i < run.client_count; i++) {
        assert_int_equal(run.clients[i].closes, 1);
    }
    for (i = FLOOD_CLIENTS; i < run.client_count; i++) {
        assert_true(run.clients[i].served); /* the second wave */
    }
    assert_int_equal(flood.served, 2 * FLOOD_MAX);
    assert_int_equal(flood.refused_closed, FLOOD_CLIENTS - FLOOD_MAX);
    assert_int_equal(run.server.max_live, FLOOD_MAX);
    assert_int_equal(run.server.opened, 2 * FLOOD_MAX);
    assert_int_equal(run.server_clean, 2 * FLOOD_MAX);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.refused_connections, FLOOD_CLIENTS - FLOOD_MAX);
    assert_int_equal(stats.accepted_connections, 2 * FLOOD_MAX);
    run_finish(&run);
}

/* ---- 6. connect/close churn ---- */

#define CHURN_TOTAL 2000u
#define CHURN_WAVE 100u
#define CHURN_LEN 256u

struct churn_state {
    unsigned waves;
    uint64_t max_live; /* live conns seen at the start of a wave */
};

static struct churn_state churn;

static const struct xpr_conn_callbacks churn_callbacks;

static void churn_progress(struct run *run)
{
    struct xpr_loop_stats stats;
    unsigned i;
    unsigned end;

    if (run->clients_closed != run->started ||
        run->server.closed != run->started) {
        return;
    }
    if (run->started == run->client_count) {
        run_wind_down(run);
        return;
    }
    /* Every conn of the last wave is gone at both ends: none lingers. */
    if (CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0)) {
        CHECK_EQ(stats.live_connections, 0);
        if (stats.live_connections > churn.max_live) {
            churn.max_live = stats.live_connections;
        }
    }
    churn.waves++;
    end = run->started + CHURN_WAVE;
    if (end > run->client_count) {
        end = run->client_count;
    }
    for (i = run->started; i < end; i++) {
        client_start(run, i, &churn_callbacks, CHURN_LEN);
    }
}

static void churn_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_opened(c, conn);
    client_pump(c);
    callback_leave();
}

static void churn_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    client_verify(c, p, n);
    if (c->received == c->budget) {
        c->served = 1;
        CHECK_EQ(xpr_conn_close(conn), 0);
    }
    callback_leave();
}

static void churn_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK_EQ(err, 0);
        CHECK(c->served);
        churn_progress(c->run);
    }
    callback_leave();
}

static const struct xpr_conn_callbacks churn_callbacks = {
    .on_open = churn_on_open,
    .on_data = churn_on_data,
    .on_close = churn_on_close,
};

static void test_connect_close_churn(void **state)
{
    struct xpr_loop_stats stats;
    struct run run;
    unsigned i;
    (void)state;

    memset(&churn, 0, sizeof(churn));
    run_start(&run, CHURN_TOTAL, NULL);
    run.on_server_close = churn_progress;
    churn_progress(&run); /* the first wave */
    tloop_run(run.loop, 120000);
    run_report(&run, "churn");
    print_message("# churn: %u connections in %u waves of %u\n",
                  run.client_count, churn.waves, CHURN_WAVE);
    for (i = 0; i < run.client_count; i++) {
        assert_int_equal(run.clients[i].opens, 1);
        assert_int_equal(run.clients[i].closes, 1);
        assert_int_equal(run.clients[i].received, CHURN_LEN);
    }
    assert_int_equal(churn.max_live, 0);
    assert_int_equal(run.server.opened, CHURN_TOTAL);
    assert_int_equal(run.server_clean, CHURN_TOTAL);
    assert_int_equal(run.server.max_live <= CHURN_WAVE, 1);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.accepted_connections, CHURN_TOTAL);
    run_finish(&run);
}

/* ---- 7. a client process killed with data in flight ---- */

#define KILL_CHILDREN 2u
/* Echoed to the children before they are killed. */
#define KILL_AFTER (4u * 1024 * 1024)
/* The server's idle timeout on the children's conns: the backstop for a
 * peer that vanishes without a FIN or a reset. Under Wine that happens:
 * the wineserver may keep a killed process's socket open (seen with the
 * select back end: the child's socket still ESTABLISHED in wineserver64,
 * unread bytes in its queue, the process gone), so there the conn may end
 * with XPR_ETIMEDOUT; elsewhere it must end by EOF or reset. */
#define KILL_IDLE_MS 3000u

struct kill_state {
    struct test_process *children[KILL_CHILDREN];
    int waited[KILL_CHILDREN]; /* test_process_wait's answer */
    int killed;
    int reported; /* the case runs long: said where it stands */
    uint64_t echoed_at_kill;
};

static struct kill_state killing;

static void kill_on_tick(xpr_timer *timer, void *arg)
{
    struct run *run = arg;
    struct xpr_loop_stats stats;
    struct xpr_completion_stats completion;
    unsigned i;
    (void)timer;

    if (!killing.reported && test_now_ms() - run->started_ms > 20000 &&
        CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0) &&
        CHECK_EQ(test_completion_stats(run->loop, &completion), 0)) {
        killing.reported = 1;
        print_message("# killed client: after 20 s: %u writers connected, "
                      "%u closed, %llu bytes echoed, killed: %d; %llu live, "
                      "%llu timed out, %llu operations pending (%llu "
                      "reads, %llu writes), %llu bytes queued\n",
                      run->server.opened, run->server.closed,
                      (unsigned long long)run->server.echoed_bytes,
                      killing.killed,
                      (unsigned long long)stats.live_connections,
                      (unsigned long long)stats.timed_out_connections,
                      (unsigned long long)completion.pending_operations,
                      (unsigned long long)completion.pending_reads,
                      (unsigned long long)completion.pending_writes,
                      (unsigned long long)stats.queued_write_bytes);
    }
    if (!killing.killed && run->server.opened == KILL_CHILDREN &&
        run->server.echoed_bytes >= KILL_AFTER) {
        /* Both still writing: nothing has closed yet. */
        CHECK_EQ(run->server.closed, 0);
        killing.echoed_at_kill = run->server.echoed_bytes;
        for (i = 0; i < KILL_CHILDREN; i++) {
            CHECK_EQ(test_process_kill(killing.children[i]), 0);
        }
        killing.killed = 1;
    } else if (killing.killed && run->server.closed == KILL_CHILDREN) {
        for (i = 0; i < KILL_CHILDREN; i++) {
            killing.waited[i] = test_process_wait(killing.children[i]);
            killing.children[i] = NULL;
        }
        run_wind_down(run);
    }
}

static void test_killed_client_process(void **state)
{
    struct run run;
    unsigned i;
    (void)state;

    memset(&killing, 0, sizeof(killing));
    run_start(&run, 1, NULL); /* no client of its own */
    run.server.idle_timeout_ms = KILL_IDLE_MS;
    assert_int_equal(xpr_timer_new(run.loop, kill_on_tick, &run, &run.tick), 0);
    assert_int_equal(xpr_timer_start(run.tick, 10, 10), 0);
    for (i = 0; i < KILL_CHILDREN; i++) {
        const char *args[2];
        args[0] = WRITER_FLAG;
        args[1] = run.server.address;
        assert_int_equal(
            test_process_spawn_self(self_argv0, args, 2, &killing.children[i]),
            0);
    }
    tloop_run(run.loop, 60000);
    run_report(&run, "killed client");
    print_message("# killed client: %llu bytes echoed when killed\n",
                  (unsigned long long)killing.echoed_at_kill);
    assert_true(killing.killed);
    for (i = 0; i < KILL_CHILDREN; i++) {
        assert_int_equal(killing.waited[i], 1); /* ended by the kill */
    }
    assert_int_equal(run.server.opened, KILL_CHILDREN);
    assert_int_equal(run.server.closed, KILL_CHILDREN);
    if (run.server_timed_out != 0) {
        print_message("# killed client: %u conns ended by the idle timeout "
                      "(the host kept the killed process's socket open)\n",
                      run.server_timed_out);
        assert_true(test_under_wine());
    }
    assert_int_equal(run.server_clean + run.server_reset + run.server_timed_out,
                     KILL_CHILDREN);
    run_finish(&run);
}

/* Kills and reaps writers a failed case left running. */
static int kill_teardown(void **state)
{
    unsigned i;
    (void)state;

    for (i = 0; i < KILL_CHILDREN; i++) {
        if (killing.children[i] != NULL) {
            test_process_kill(killing.children[i]);
            test_process_wait(killing.children[i]);
            killing.children[i] = NULL;
        }
    }
    return 0;
}

/* The writer process: connects, writes pattern bytes for as long as it
 * lives (reading and dropping the echo), and ends only if the connection
 * does or after WRITER_LIFETIME_MS. */
struct writer {
    xpr_loop *loop;
    const char *address;
    xpr_timer *retry;
    uint64_t sent;
    int opened;
};

static const struct xpr_conn_callbacks writer_callbacks;

static void writer_pump(xpr_conn *conn)
{
    struct writer *w = xpr_conn_userdata(conn);

    while (xpr_conn_queued(conn) < CLIENT_QUEUE) {
        pattern_fill(77, w->sent, chunk, CHUNK);
        if (xpr_conn_write(conn, chunk, CHUNK) != 0) {
            return;
        }
        w->sent += CHUNK;
    }
}

static void writer_on_data(xpr_conn *conn, const void *p, size_t n)
{
    (void)conn;
    (void)p;
    (void)n;
}

static void writer_on_open(xpr_conn *conn)
{
    struct writer *w = xpr_conn_userdata(conn);
    w->opened = 1;
    writer_pump(conn);
}

/* As the clients of the test do, a connect that found no free local port
 * tries again (see client_needs_port). */
static void writer_on_retry(xpr_timer *timer, void *arg)
{
    struct writer *w = arg;
    xpr_conn *conn = NULL;
    (void)timer;
    if (xpr_connect(w->loop, w->address, &writer_callbacks, w, &conn) != 0) {
        xpr_loop_stop(w->loop);
    }
}

static void writer_on_close(xpr_conn *conn, int err)
{
    struct writer *w = xpr_conn_userdata(conn);
    if (!w->opened && err == XPR_EADDRNOTAVAIL &&
        xpr_timer_start(w->retry, PORT_RETRY_MS, 0) == 0) {
        return;
    }
    xpr_loop_stop(w->loop);
}

static void writer_on_lifetime(xpr_timer *timer, void *arg)
{
    (void)timer;
    xpr_loop_stop(arg);
}

static const struct xpr_conn_callbacks writer_callbacks = {
    .on_open = writer_on_open,
    .on_data = writer_on_data,
    .on_drain = writer_pump,
    .on_close = writer_on_close,
};

static int writer_main(const char *address)
{
    struct writer w;
    xpr_conn *conn = NULL;
    xpr_timer *lifetime = NULL;

    memset(&w, 0, sizeof(w));
    w.address = address;
    if (test_loop_new(&w.loop, NULL) != 0) {
        return 2;
    }
    if (xpr_timer_new(w.loop, writer_on_lifetime, w.loop, &lifetime) != 0 ||
        xpr_timer_new(w.loop, writer_on_retry, &w, &w.retry) != 0 ||
        xpr_timer_start(lifetime, WRITER_LIFETIME_MS, 0) != 0 ||
        xpr_connect(w.loop, address, &writer_callbacks, &w, &conn) != 0) {
        xpr_loop_free(w.loop);
        return 2;
    }
    xpr_loop_run(w.loop);
    xpr_loop_free(w.loop);
    return 3; /* not killed */
}

/* ---- 8. the loop stopped and freed under load ---- */

#define STOP_CLIENTS 50u
/* Echoed before the stop (and every client got some). */
#define STOP_AFTER (16u * 1024 * 1024)
#define STOP_POSTS 2000u
/* Posted after the loop stopped: still queued when it is freed. */
#define STOP_LATE_POSTS 10u

struct stop_state {
    unsigned posts_run;
    unsigned posts_made; /* by the poster thread */
    unsigned post_failures;
    int stopped;
    int freeing;
    int freed;
    unsigned canceled_clients;
    unsigned clients_echoed; /* clients that got echoed bytes */
};

static struct stop_state stopping;

static void stop_on_post(void *arg)
{
    struct run *run = arg;
    (void)run;
    CHECK(!stopping.freed);
    stopping.posts_run++;
}

static void stop_poster(void *arg)
{
    struct run *run = arg;
    unsigned i;

    for (i = 0; i < STOP_POSTS; i++) {
        if (xpr_loop_post(run->loop, stop_on_post, run) == 0) {
            stopping.posts_made++;
        } else {
            stopping.post_failures++;
        }
    }
}

static void stop_on_tick(xpr_timer *timer, void *arg)
{
    struct run *run = arg;

    if (stopping.clients_echoed == STOP_CLIENTS &&
        run->server.opened == STOP_CLIENTS &&
        run->server.echoed_bytes >= STOP_AFTER) {
        xpr_timer_stop(timer);
        stopping.stopped = 1;
        CHECK_EQ(xpr_loop_stop(run->loop), 0);
    }
}

static void stop_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!stopping.freeing);
    client_opened(c, conn);
    client_pump(c);
    callback_leave();
}

static void stop_on_drain(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!stopping.freeing);
    client_pump(c);
    callback_leave();
}

static void stop_on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(!stopping.freeing);
    stopping.clients_echoed += c->received == 0;
    client_verify(c, p, n);
    callback_leave();
}

static void stop_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    if (client_closed(c, conn, err)) {
        CHECK(stopping.freeing);
        CHECK(!stopping.freed);
        CHECK_EQ(err, XPR_ECANCELED);
        stopping.canceled_clients += err == XPR_ECANCELED;
    }
    callback_leave();
}

static void test_stop_under_load(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = stop_on_open,
        .on_data = stop_on_data,
        .on_drain = stop_on_drain,
        .on_close = stop_on_close,
    };
    struct xpr_loop_stats stats;
    struct test_thread *poster = NULL;
    struct run run;
    unsigned i;
    (void)state;

    memset(&stopping, 0, sizeof(stopping));
    run_start(&run, STOP_CLIENTS, NULL);
    assert_int_equal(xpr_timer_new(run.loop, stop_on_tick, &run, &run.tick), 0);
    assert_int_equal(xpr_timer_start(run.tick, TICK_MS, TICK_MS), 0);
    for (i = 0; i < STOP_CLIENTS; i++) {
        client_start(&run, i, &callbacks, UINT64_MAX);
    }
    assert_int_equal(test_thread_start(&poster, stop_poster, &run), 0);
    tloop_run(run.loop, 120000);
    test_thread_join(poster);
    assert_true(stopping.stopped);
    assert_int_equal(stopping.post_failures, 0);
    for (i = 0; i < STOP_LATE_POSTS; i++) {
        assert_int_equal(xpr_loop_post(run.loop, stop_on_post, &run), 0);
    }
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.live_connections, 2 * STOP_CLIENTS);
    assert_true(stats.pending_posts >= STOP_LATE_POSTS);
    print_message("# stop under load %s: stopped with %llu bytes queued, "
                  "%llu posts pending, %llu bytes echoed\n",
                  xpr_loop_backend(run.loop),
                  (unsigned long long)stats.queued_write_bytes,
                  (unsigned long long)stats.pending_posts,
                  (unsigned long long)run.server.echoed_bytes);

    /* Everything still open goes with the loop. */
    xpr_timer_free(run.tick);
    run.tick = NULL;
    xpr_timer_free(run.port_retry);
    run.port_retry = NULL;
    tloop_forget(run.loop);
    stopping.freeing = 1;
    xpr_loop_free(run.loop);
    stopping.freed = 1;
    check_no_failure();
    assert_int_equal(run.port_waits, 0);
    for (i = 0; i < STOP_CLIENTS; i++) {
        const struct client *c = &run.clients[i];
        assert_int_equal(c->opens, 1);
        assert_int_equal(c->closes, 1);
        assert_int_equal(c->close_err, XPR_ECANCELED);
        assert_true(c->received > 0);
    }
    assert_int_equal(stopping.canceled_clients, STOP_CLIENTS);
    assert_int_equal(run.server.opened, STOP_CLIENTS);
    assert_int_equal(run.server.closed, STOP_CLIENTS);
    assert_int_equal(run.server_canceled, STOP_CLIENTS);
    assert_int_equal(run.server_other, 0);
    /* Every post ran: in the loop or handed back by xpr_loop_free. */
    assert_int_equal(stopping.posts_made, STOP_POSTS);
    assert_int_equal(stopping.posts_run, STOP_POSTS + STOP_LATE_POSTS);
    free(run.clients);
    assert_handles_back(run.handles_at_start);
}

/* ---- main ---- */

static int group_setup(void **state)
{
    (void)state;
    test_raise_socket_limit(4096);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resets_mid_stream),
        cmocka_unit_test(test_half_close_large),
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test(test_silent_connections),
        cmocka_unit_test(test_flood_past_max_connections),
        cmocka_unit_test(test_connect_close_churn),
        cmocka_unit_test_teardown(test_killed_client_process, kill_teardown),
        cmocka_unit_test(test_stop_under_load),
    };

    if (argc == 3 && strcmp(argv[1], WRITER_FLAG) == 0) {
        return writer_main(argv[2]);
    }
    self_argv0 = argv[0];
    return cmocka_run_group_tests_name("hostile", tests, group_setup, NULL);
}
