/* Scale (docs/design.md, contract "no hidden caps"): N concurrent connections
 * with both ends on one loop, N from XPR_TEST_CONNECTIONS (default 1000).
 *   - all N open (both ends) before any byte is sent, then each echoes its
 *     own verified data;
 *   - N connections stay idle while 10 others echo verified data: the idle
 *     ones must not delay or starve the active ones. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "pattern.h"
#include "platform.h"

#define DEFAULT_CONNECTIONS 1000u
#define MAX_CONNECTIONS 60000u

/* Idle test: ACTIVE_CONNS connections each do ACTIVE_ROUNDS round trips of
 * ACTIVE_CHUNK bytes while the idle ones sit silent. */
#define ACTIVE_CONNS 10u
#define ACTIVE_ROUNDS 50u
#define ACTIVE_CHUNK 4096u
/* The slowest round trip of an active connection may take this long
 * (measured: a few ms natively and under valgrind, 15-160 ms under Wine
 * with 1,000-4,000 idle); longer means it waited on the idle ones. */
#define ACTIVE_ROUND_LIMIT_MS 1000u
/* What each idle connection echoes once the active ones are done, to show
 * it sat through the active phase alive. */
#define PING_LEN 32u

/* A connect that found no free local port tries again after this. */
#define PORT_RETRY_MS 500u

static unsigned connections; /* from XPR_TEST_CONNECTIONS */

static size_t scale_size(unsigned index)
{
    /* 1 KiB .. 8 KiB, different per connection */
    return 1024 + (size_t)((index * 2654435761u) % 7169u);
}

static size_t ping_size(unsigned index)
{
    (void)index;
    return PING_LEN;
}

/* Time for the whole test: generous, growing with N. */
static uint64_t deadline_ms(void)
{
    return 30000u + 30u * (uint64_t)connections;
}

struct scale_run;

/* The server end of one connection, in accept order. */
struct peer {
    struct scale_run *run;
    unsigned index;
    unsigned opens;
    unsigned closes;
    int close_err;
    uint64_t echoed;
};

/* The client end of one connection. */
struct client {
    struct scale_run *run;
    xpr_conn *conn;
    unsigned index;
    uint32_t seed;
    size_t total; /* bytes it sends and expects back */
    size_t received;
    unsigned opens;
    unsigned closes;
    int close_err;
    const struct xpr_conn_callbacks *callbacks;
    struct client *next_retry; /* waiting for a free local port */
    /* active clients of the idle test */
    unsigned rounds;
    uint64_t round_started_ms;
    uint64_t slowest_round_ms;
};

enum phase {
    PHASE_OPENING, /* connecting; nobody sends */
    PHASE_ACTIVE,  /* idle test: the active ones echo */
    PHASE_SENDING, /* every connection sends (echo test: all; idle: pings) */
};

struct scale_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    enum phase phase;
    /* peers with an index below this must not receive data yet */
    unsigned quiet_peers;
    void (*on_peer_open)(struct scale_run *run);

    struct peer unaccounted; /* the listener's arg */
    struct peer *peers;
    unsigned peer_capacity;
    unsigned peers_opened;
    unsigned peers_closed;

    struct client *clients;
    unsigned client_count;
    unsigned clients_opened;
    unsigned clients_echoed;
    unsigned clients_closed;

    /* connects that found no free local port, and wait for one */
    xpr_timer *port_retry;
    struct client *retry_head;
    unsigned port_waits;

    /* connects that ended before on_open, counted by error */
    unsigned connect_failures;
    int failure_codes[8];
    unsigned failure_counts[8];
    int failures_reported;

    /* idle test */
    unsigned idle_count;
    unsigned active_closed;

    uint64_t started_ms;
    uint64_t all_open_ms;
    uint64_t active_done_ms;
    uint64_t all_echoed_ms;
};

/* ---- the server: echoes, tracks each accepted connection ---- */

/* Accepted conns start with &run->unaccounted as userdata; on_open gives
 * each its own struct peer. */
static void peer_on_open(xpr_conn *conn)
{
    struct peer *initial = xpr_conn_userdata(conn);
    struct scale_run *run = initial->run;
    struct peer *p;

    callback_enter();
    CHECK(initial == &run->unaccounted);
    if (CHECK(run->peers_opened < run->peer_capacity)) {
        p = &run->peers[run->peers_opened];
        p->run = run;
        p->index = run->peers_opened++;
        p->opens++;
        xpr_conn_set_userdata(conn, p);
        if (run->on_peer_open != NULL) {
            run->on_peer_open(run);
        }
    } else {
        CHECK_EQ(xpr_conn_abort(conn), 0);
    }
    callback_leave();
}

static void peer_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct peer *p = xpr_conn_userdata(conn);

    callback_enter();
    if (CHECK(p != &p->run->unaccounted)) {
        CHECK(p->index >= p->run->quiet_peers);
        CHECK_EQ(xpr_conn_write(conn, data, n), 0);
        p->echoed += n;
    }
    callback_leave();
}

static void peer_on_close(xpr_conn *conn, int err)
{
    struct peer *p = xpr_conn_userdata(conn);

    callback_enter();
    CHECK_EQ(err, 0);
    /* an accepted conn closed before on_open (say the back end could not
     * watch its socket: err says why), or one beyond the expected count */
    if (CHECK(p != &p->run->unaccounted)) {
        CHECK_EQ(p->closes, 0);
        p->closes++;
        p->close_err = err;
        p->run->peers_closed++;
    }
    callback_leave();
}

static const struct xpr_conn_callbacks peer_callbacks = {
    .on_open = peer_on_open,
    .on_data = peer_on_data,
    .on_close = peer_on_close,
};

/* Connects again the clients whose connect found every local port taken
 * (see client_connect_failed). */
static void retry_connects(xpr_timer *timer, void *arg)
{
    struct scale_run *run = arg;
    struct client *c = run->retry_head;
    (void)timer;

    run->retry_head = NULL;
    while (c != NULL) {
        struct client *next = c->next_retry;
        c->next_retry = NULL;
        CHECK_EQ(
            xpr_connect(run->loop, run->address, c->callbacks, c, &c->conn), 0);
        c = next;
    }
}

static void run_start(struct scale_run *run, unsigned peers, unsigned clients)
{
    struct xpr_listen_config cfg;

    memset(run, 0, sizeof(*run));
    run->loop = tloop_new();
    run->peers = calloc(peers, sizeof(*run->peers));
    run->clients = calloc(clients, sizeof(*run->clients));
    assert_non_null(run->peers);
    assert_non_null(run->clients);
    run->peer_capacity = peers;
    run->client_count = clients;
    run->quiet_peers = UINT_MAX;
    run->unaccounted.run = run;
    run->unaccounted.index = UINT_MAX;
    memset(&cfg, 0, sizeof(cfg));
    cfg.backlog = peers < INT_MAX ? (int)peers : INT_MAX;
    run->listener = tloop_listen(run->loop, &cfg, &peer_callbacks,
                                 &run->unaccounted, run->address);
    assert_int_equal(
        xpr_timer_new(run->loop, retry_connects, run, &run->port_retry), 0);
}

static void run_finish_listening(struct scale_run *run)
{
    if (run->listener != NULL) {
        CHECK_EQ(xpr_listener_close(run->listener), 0);
        run->listener = NULL;
    }
    tloop_stop_when_empty(run->loop);
}

static void client_init(struct scale_run *run, unsigned index, size_t total,
                        const struct xpr_conn_callbacks *callbacks)
{
    struct client *c = &run->clients[index];

    c->run = run;
    c->index = index;
    c->seed = 7000 + index;
    c->total = total;
    c->callbacks = callbacks;
    c->conn = tloop_connect(run->loop, run->address, callbacks, c);
}

/* Client i and peer i both opened once, closed once, cleanly, and client i
 * got all its bytes back; every peer echoed as much as it was sent. */
static void assert_run_clean(const struct scale_run *run)
{
    uint64_t sent = 0;
    uint64_t echoed = 0;
    unsigned i;

    for (i = 0; i < run->client_count; i++) {
        const struct client *c = &run->clients[i];
        assert_int_equal(c->opens, 1);
        assert_int_equal(c->closes, 1);
        assert_int_equal(c->close_err, 0);
        assert_int_equal(c->received, c->total);
        sent += c->total;
    }
    assert_int_equal(run->peers_opened, run->client_count);
    assert_int_equal(run->peers_closed, run->client_count);
    for (i = 0; i < run->peers_opened; i++) {
        const struct peer *p = &run->peers[i];
        assert_int_equal(p->opens, 1);
        assert_int_equal(p->closes, 1);
        assert_int_equal(p->close_err, 0);
        echoed += p->echoed;
    }
    assert_int_equal(echoed, sent);
}

static void run_report_port_waits(struct scale_run *run)
{
    if (run->port_waits != 0) {
        print_message("# %u connect attempts found no free local port "
                      "(retried every %u ms)\n",
                      run->port_waits, PORT_RETRY_MS);
    }
    xpr_timer_free(run->port_retry);
    run->port_retry = NULL;
}

static void run_free(struct scale_run *run)
{
    free(run->peers);
    free(run->clients);
    run->peers = NULL;
    run->clients = NULL;
}

/* Once every client of the phase has either opened or failed to connect,
 * fail if any failed, with a count per error. */
static void connects_settled_check(struct scale_run *run)
{
    unsigned want = run->phase == PHASE_OPENING && run->idle_count != 0
                        ? run->idle_count
                        : run->client_count;
    unsigned i;

    if (run->connect_failures == 0 || run->failures_reported ||
        run->clients_opened + run->connect_failures < want) {
        return;
    }
    run->failures_reported = 1;
    print_message("# %u of %u connects ended before on_open:\n",
                  run->connect_failures, want);
    for (i = 0; i < 8 && run->failure_counts[i] != 0; i++) {
        print_message("#   %u x %s (%d)\n", run->failure_counts[i],
                      xpr_strerror(run->failure_codes[i]),
                      run->failure_codes[i]);
    }
    CHECK_EQ(run->connect_failures, 0);
}

/* A connect that ended before on_open (refused, out of ports, or the back
 * end could not watch its socket): say why.
 * XPR_EADDRNOTAVAIL is the host out of ephemeral ports, not the back end:
 * under Wine the sockets are the host's, and loopback connections of
 * earlier tests (and of other test runs on the machine) hold their ports
 * in TIME_WAIT for a minute. Those of sockets bound before ConnectEx (the
 * completion back ends) block even connect()'s own port choice on Linux.
 * Such a client waits for a port and connects again (within the test's
 * deadline), so the test still has all N open at once. */
static void client_connect_failed(struct client *c, int err)
{
    struct scale_run *run = c->run;
    unsigned i;

    if (err == XPR_EADDRNOTAVAIL) {
        if (run->port_waits++ == 0) {
            print_message("# %s: out of local ports (%s): waiting for "
                          "TIME_WAIT ports to free up\n",
                          xpr_loop_backend(run->loop), xpr_strerror(err));
        }
        c->next_retry = run->retry_head;
        run->retry_head = c;
        if (c->next_retry == NULL) {
            CHECK_EQ(xpr_timer_start(run->port_retry, PORT_RETRY_MS, 0), 0);
        }
        return;
    }
    c->closes++;
    c->close_err = err;
    if (run->connect_failures++ < 5) {
        print_message("# client %u: connect ended before on_open: %s (%d)\n",
                      c->index, xpr_strerror(err), err);
    }
    for (i = 0; i < 8; i++) {
        if (run->failure_counts[i] == 0 || run->failure_codes[i] == err) {
            run->failure_codes[i] = err;
            run->failure_counts[i]++;
            break;
        }
    }
    connects_settled_check(run);
}

/* The checks of every client's on_close: 0 when the connect itself failed
 * (client_connect_failed has dealt with it), else 1 with the close counted. */
static int client_closed(struct client *c, xpr_conn *conn, int err)
{
    CHECK(conn == c->conn);
    if (c->opens == 0) {
        client_connect_failed(c, err);
        return 0;
    }
    CHECK_EQ(err, 0);
    CHECK_EQ(c->opens, 1); /* a connect that failed says why in err */
    CHECK_EQ(c->closes, 0);
    c->closes++;
    c->close_err = err;
    return 1;
}

/* Connects count clients from first on; says how many ended already inside
 * xpr_connect (their on_close, with the reason, comes from the loop). */
static void clients_connect(struct scale_run *run, unsigned first,
                            unsigned count,
                            const struct xpr_conn_callbacks *callbacks,
                            size_t (*size_of)(unsigned index))
{
    struct xpr_loop_stats before, after;
    unsigned i;

    assert_int_equal(xpr_loop_stats(run->loop, &before), 0);
    for (i = first; i < first + count; i++) {
        client_init(run, i, size_of(i), callbacks);
    }
    assert_int_equal(xpr_loop_stats(run->loop, &after), 0);
    if (after.live_connections != before.live_connections + count) {
        print_message("# %s: only %llu of %u connections live right after "
                      "xpr_connect\n",
                      xpr_loop_backend(run->loop),
                      (unsigned long long)(after.live_connections -
                                           before.live_connections),
                      count);
    }
}

/* ---- N connections open before any sends, then each echoes ---- */

/* Both ends of every connection are open: check the count, then send. */
static void echo_maybe_start(struct scale_run *run)
{
    struct xpr_loop_stats stats;
    unsigned i;

    if (run->phase != PHASE_OPENING ||
        run->clients_opened < run->client_count ||
        run->peers_opened < run->client_count) {
        return;
    }
    run->phase = PHASE_SENDING;
    run->quiet_peers = 0;
    run->all_open_ms = test_now_ms();
    if (CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0)) {
        CHECK_EQ(stats.live_connections, 2ull * run->client_count);
        CHECK_EQ(stats.accepted_connections, run->client_count);
        CHECK_EQ(stats.bytes_written, 0);
        CHECK_EQ(stats.bytes_read, 0);
    }
    for (i = 0; i < run->client_count; i++) {
        struct client *c = &run->clients[i];
        unsigned char *data = pattern_alloc(c->seed, c->total);
        if (!CHECK(data != NULL)) {
            return;
        }
        CHECK_EQ(xpr_conn_write(c->conn, data, c->total), 0);
        free(data);
    }
}

static void echo_client_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == c->conn);
    CHECK_EQ(c->opens, 0);
    c->opens++;
    c->run->clients_opened++;
    connects_settled_check(c->run);
    echo_maybe_start(c->run);
    callback_leave();
}

static void echo_client_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);
    struct scale_run *run = c->run;

    callback_enter();
    CHECK(run->phase == PHASE_SENDING);
    if (CHECK(c->received + n <= c->total)) {
        CHECK_EQ(pattern_mismatch(c->seed, c->received, data, n), n);
        c->received += n;
    }
    if (c->received == c->total) {
        if (++run->clients_echoed == run->client_count) {
            run->all_echoed_ms = test_now_ms();
        }
        CHECK_EQ(xpr_conn_close(conn), 0);
    }
    callback_leave();
}

static void echo_client_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);
    struct scale_run *run = c->run;

    callback_enter();
    if (!client_closed(c, conn, err)) {
        callback_leave();
        return;
    }
    if (++run->clients_closed == run->client_count) {
        run_finish_listening(run);
    }
    callback_leave();
}

static void test_connections_open_then_echo(void **state)
{
    static const struct xpr_conn_callbacks callbacks = {
        .on_open = echo_client_on_open,
        .on_data = echo_client_on_data,
        .on_close = echo_client_on_close,
    };
    struct scale_run run;
    struct xpr_loop_stats stats;
    uint64_t total = 0;
    uint64_t ended_ms;
    unsigned i;
    (void)state;

    run_start(&run, connections, connections);
    run.on_peer_open = echo_maybe_start;
    run.started_ms = test_now_ms();
    clients_connect(&run, 0, connections, &callbacks, scale_size);
    for (i = 0; i < connections; i++) {
        total += scale_size(i);
    }

    tloop_run(run.loop, deadline_ms());
    ended_ms = test_now_ms();

    assert_true(run.phase == PHASE_SENDING);
    assert_int_equal(run.clients_echoed, connections);
    assert_run_clean(&run);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.accepted_connections, connections);
    assert_int_equal(stats.refused_connections, 0);
    /* client and server share the loop: each byte went both ways */
    assert_int_equal(stats.bytes_written, 2 * total);
    assert_int_equal(stats.bytes_read, 2 * total);
    print_message("# scale %s: %u connections, %llu bytes each way: all open "
                  "after %llu ms, all echoed after %llu ms more, "
                  "all closed after %llu ms in all\n",
                  xpr_loop_backend(run.loop), connections,
                  (unsigned long long)total,
                  (unsigned long long)(run.all_open_ms - run.started_ms),
                  (unsigned long long)(run.all_echoed_ms - run.all_open_ms),
                  (unsigned long long)(ended_ms - run.started_ms));
    run_report_port_waits(&run);
    tloop_free(run.loop);
    run_free(&run);
}

/* ---- N idle connections do not hold up 10 active ones ---- */

static void active_send_round(struct client *c)
{
    unsigned char chunk[ACTIVE_CHUNK];

    pattern_fill(c->seed, (uint64_t)c->rounds * ACTIVE_CHUNK, chunk,
                 ACTIVE_CHUNK);
    c->round_started_ms = test_now_ms();
    CHECK_EQ(xpr_conn_write(c->conn, chunk, ACTIVE_CHUNK), 0);
}

static void active_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == c->conn);
    CHECK_EQ(c->opens, 0);
    CHECK(c->run->phase == PHASE_ACTIVE);
    c->opens++;
    c->run->clients_opened++;
    connects_settled_check(c->run);
    active_send_round(c);
    callback_leave();
}

static void active_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);
    size_t round_end = (size_t)(c->rounds + 1) * ACTIVE_CHUNK;

    callback_enter();
    CHECK(c->run->phase == PHASE_ACTIVE);
    /* one round at a time: nothing beyond the current round comes back */
    if (CHECK(c->received + n <= round_end)) {
        CHECK_EQ(pattern_mismatch(c->seed, c->received, data, n), n);
        c->received += n;
    }
    if (c->received == round_end) {
        uint64_t took = test_now_ms() - c->round_started_ms;
        if (took > c->slowest_round_ms) {
            c->slowest_round_ms = took;
        }
        if (++c->rounds < ACTIVE_ROUNDS) {
            active_send_round(c);
        } else {
            CHECK_EQ(xpr_conn_close(conn), 0);
        }
    }
    callback_leave();
}

/* The active ones are done: every idle connection must still be open at
 * both ends; now each sends a ping. */
static void idle_start_pings(struct scale_run *run)
{
    unsigned i;

    CHECK_EQ(run->clients_closed, 0);
    for (i = 0; i < run->idle_count; i++) {
        if (!CHECK_EQ(run->peers[i].closes, 0)) {
            break;
        }
    }
    run->phase = PHASE_SENDING;
    run->quiet_peers = 0;
    for (i = 0; i < run->idle_count; i++) {
        struct client *c = &run->clients[i];
        unsigned char ping[PING_LEN];
        pattern_fill(c->seed, 0, ping, PING_LEN);
        CHECK_EQ(xpr_conn_write(c->conn, ping, PING_LEN), 0);
    }
}

static void active_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);
    struct scale_run *run = c->run;

    callback_enter();
    CHECK(conn == c->conn);
    if (c->opens == 0) {
        client_connect_failed(c, err);
        callback_leave();
        return;
    }
    CHECK_EQ(err, 0);
    CHECK_EQ(c->opens, 1); /* a connect that failed says why in err */
    CHECK_EQ(c->closes, 0);
    CHECK(run->phase == PHASE_ACTIVE);
    c->closes++;
    c->close_err = err;
    if (++run->active_closed == ACTIVE_CONNS) {
        run->active_done_ms = test_now_ms();
        idle_start_pings(run);
    }
    callback_leave();
}

static const struct xpr_conn_callbacks active_callbacks = {
    .on_open = active_on_open,
    .on_data = active_on_data,
    .on_close = active_on_close,
};

/* All idle connections are open at both ends: start the active ones. They
 * come last, so in pollers that scan or group sockets by registration
 * order they sit behind every idle socket. */
static void idle_maybe_activate(struct scale_run *run)
{
    struct xpr_loop_stats stats;
    unsigned i;

    if (run->phase != PHASE_OPENING || run->clients_opened < run->idle_count ||
        run->peers_opened < run->idle_count) {
        return;
    }
    run->phase = PHASE_ACTIVE;
    run->all_open_ms = test_now_ms();
    if (CHECK_EQ(xpr_loop_stats(run->loop, &stats), 0)) {
        CHECK_EQ(stats.live_connections, 2ull * run->idle_count);
        CHECK_EQ(stats.bytes_read, 0);
    }
    for (i = run->idle_count; i < run->client_count; i++) {
        struct client *c = &run->clients[i];
        c->run = run;
        c->index = i;
        c->seed = 7000 + i;
        c->total = (size_t)ACTIVE_ROUNDS * ACTIVE_CHUNK;
        c->callbacks = &active_callbacks;
        if (!CHECK_EQ(xpr_connect(run->loop, run->address, &active_callbacks, c,
                                  &c->conn),
                      0)) {
            return;
        }
    }
}

static void idle_on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(conn == c->conn);
    CHECK_EQ(c->opens, 0);
    c->opens++;
    c->run->clients_opened++;
    connects_settled_check(c->run);
    idle_maybe_activate(c->run);
    callback_leave();
}

static void idle_on_data(xpr_conn *conn, const void *data, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    callback_enter();
    CHECK(c->run->phase == PHASE_SENDING);
    if (CHECK(c->received + n <= c->total)) {
        CHECK_EQ(pattern_mismatch(c->seed, c->received, data, n), n);
        c->received += n;
    }
    if (c->received == c->total) {
        CHECK_EQ(xpr_conn_close(conn), 0);
    }
    callback_leave();
}

static void idle_on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);
    struct scale_run *run = c->run;

    callback_enter();
    if (!client_closed(c, conn, err)) {
        callback_leave();
        return;
    }
    /* an idle connection ends only after its ping */
    CHECK(run->phase == PHASE_SENDING);
    if (++run->clients_closed == run->idle_count) {
        run_finish_listening(run);
    }
    callback_leave();
}

static void test_idle_connections_do_not_starve_active(void **state)
{
    static const struct xpr_conn_callbacks idle_callbacks = {
        .on_open = idle_on_open,
        .on_data = idle_on_data,
        .on_close = idle_on_close,
    };
    struct scale_run run;
    struct xpr_loop_stats stats;
    uint64_t slowest = 0;
    uint64_t total = 0;
    uint64_t ended_ms;
    unsigned i;
    (void)state;

    run_start(&run, connections + ACTIVE_CONNS, connections + ACTIVE_CONNS);
    run.idle_count = connections;
    run.quiet_peers = connections; /* the idle ones, accepted first */
    run.on_peer_open = idle_maybe_activate;
    run.started_ms = test_now_ms();
    clients_connect(&run, 0, connections, &idle_callbacks, ping_size);

    tloop_run(run.loop, deadline_ms());
    ended_ms = test_now_ms();

    assert_true(run.phase == PHASE_SENDING);
    assert_int_equal(run.active_closed, ACTIVE_CONNS);
    assert_int_equal(run.clients_closed, connections);
    for (i = connections; i < run.client_count; i++) {
        const struct client *c = &run.clients[i];
        assert_int_equal(c->rounds, ACTIVE_ROUNDS);
        if (c->slowest_round_ms > slowest) {
            slowest = c->slowest_round_ms;
        }
    }
    assert_run_clean(&run);
    for (i = 0; i < run.client_count; i++) {
        total += run.clients[i].total;
    }
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    assert_int_equal(stats.accepted_connections, connections + ACTIVE_CONNS);
    assert_int_equal(stats.bytes_written, 2 * total);
    assert_int_equal(stats.bytes_read, 2 * total);
    print_message("# scale %s: %u idle open after %llu ms; %u active x %u "
                  "round trips of %u bytes took %llu ms, slowest round trip "
                  "%llu ms; all closed after %llu ms in all\n",
                  xpr_loop_backend(run.loop), connections,
                  (unsigned long long)(run.all_open_ms - run.started_ms),
                  ACTIVE_CONNS, ACTIVE_ROUNDS, ACTIVE_CHUNK,
                  (unsigned long long)(run.active_done_ms - run.all_open_ms),
                  (unsigned long long)slowest,
                  (unsigned long long)(ended_ms - run.started_ms));
    run_report_port_waits(&run);
    assert_true(slowest < ACTIVE_ROUND_LIMIT_MS);
    tloop_free(run.loop);
    run_free(&run);
}

static int group_setup(void **state)
{
    const char *text = getenv("XPR_TEST_CONNECTIONS");
    char *end = NULL;
    unsigned long n = DEFAULT_CONNECTIONS;
    (void)state;

    if (text != NULL && text[0] != '\0') {
        n = strtoul(text, &end, 10);
        if (*end != '\0' || n == 0 || n > MAX_CONNECTIONS) {
            print_error("XPR_TEST_CONNECTIONS=\"%s\": want 1 .. %u\n", text,
                        MAX_CONNECTIONS);
            return -1;
        }
    }
    connections = (unsigned)n;
    /* Soft limit up to the hard limit; where the hard limit is unlimited,
     * at least what the test needs (both ends, plus the listener). */
    test_raise_socket_limit(ULONG_MAX);
    test_raise_socket_limit(2 * (n + ACTIVE_CONNS) + 64);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_open_then_echo),
        cmocka_unit_test(test_idle_connections_do_not_starve_active),
    };
    return cmocka_run_group_tests_name("scale", tests, group_setup, NULL);
}
