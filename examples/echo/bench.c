/*
 * xpr-echo bench: a load generator on xpr itself. N active connections each
 * keep K messages of BYTES in flight (a new message goes out when the oldest
 * one's echo is complete); M idle connections connect and stay silent. Every
 * echoed byte is checked against the connection's pattern stream, and each
 * message's latency runs from its send to its last echoed byte.
 *
 * Phases: connecting (all connections, active and idle, must open), running
 * (for the duration; only this window is counted), draining (no new
 * messages; each connection half-closes once its echoes are back and waits
 * for the server to close), done.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "bench.h"
#include "clock.h"
#include "echo.h"
#include "histogram.h"
#include "pattern.h"
#include "signals.h"
#include "udp.h"

#define CONNECT_TIMEOUT_MS 15000
#define DRAIN_TIMEOUT_MS 5000
#define MAX_REPORTED_ERRORS 10
#define MAX_BYTES_IN_FLIGHT (1024.0 * 1024.0 * 1024.0)

enum phase { PHASE_CONNECTING, PHASE_RUNNING, PHASE_DRAINING, PHASE_DONE };

enum conn_state {
    CONN_CONNECTING,
    CONN_OPEN,
    CONN_SHUT,    /* we half-closed; waiting for the server to close */
    CONN_CLOSING, /* we closed or aborted; waiting for on_close */
    CONN_CLOSED
};

struct bench_conn {
    struct bench *bench;
    xpr_conn *conn;
    uint32_t index;
    unsigned char state;
    unsigned char idle;
    unsigned char was_open;   /* on_open ran */
    unsigned head, in_flight; /* ring of send times, oldest at head */
    uint64_t *send_us;
    uint64_t base;      /* pattern offset where this stream starts */
    uint64_t sent;      /* stream bytes written */
    uint64_t received;  /* stream bytes echoed and verified */
    uint64_t completed; /* messages fully echoed */
};

struct bench {
    struct bench_options opt;
    xpr_loop *loop;
    struct pattern pattern;
    struct histogram latency;
    struct bench_conn *conns;
    uint64_t *send_times;
    size_t created, opened, closed;
    enum phase phase;
    uint64_t start_us, end_us;
    uint64_t msgs, bytes; /* completed within the measured window */
    uint64_t errors, mismatches;
    uint64_t progress_us, progress_msgs, progress_bytes;
    xpr_timer *deadline, *progress;
    struct echo_signals signals;
    int finished; /* the run ended by itself (finish), not by a loop error */
};

static void report(struct bench *b, const char *fmt, ...) ECHO_PRINTF(2, 3);

static void report(struct bench *b, const char *fmt, ...)
{
    va_list ap;
    uint64_t reported = b->errors + b->mismatches;

    if (reported > MAX_REPORTED_ERRORS + 1)
        return;
    if (reported == MAX_REPORTED_ERRORS + 1) {
        fprintf(stderr, "bench: further errors not shown\n");
        return;
    }
    fprintf(stderr, "bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *hint(int err)
{
    if (err == XPR_EMFILE)
        return " (raise ulimit -n)";
    if (err == XPR_ECONNREFUSED)
        return " (is `xpr-echo server` listening there?)";
    return "";
}

static void finish(struct bench *b)
{
    if (b->end_us == 0)
        b->end_us = clock_now_us();
    b->phase = PHASE_DONE;
    b->finished = 1;
    xpr_timer_free(b->deadline);
    xpr_timer_free(b->progress);
    signals_unwatch(&b->signals);
    b->deadline = b->progress = NULL;
    xpr_loop_stop(b->loop);
}

static void abort_conn(struct bench_conn *bc)
{
    if (bc->state == CONN_CLOSING || bc->state == CONN_CLOSED)
        return;
    bc->state = CONN_CLOSING;
    xpr_conn_abort(bc->conn);
}

/* Gives up on the whole run: every connection is reset. */
static void abort_all(struct bench *b)
{
    size_t i;

    if (b->end_us == 0)
        b->end_us = clock_now_us();
    b->phase = PHASE_DRAINING;
    for (i = 0; i < b->created; i++)
        abort_conn(&b->conns[i]);
    if (b->closed == b->created)
        finish(b);
}

static void send_message(struct bench_conn *bc)
{
    struct bench *b = bc->bench;
    size_t size = (size_t)b->opt.size;
    unsigned slot = (bc->head + bc->in_flight) % (unsigned)b->opt.pipeline;
    int rc;

    bc->send_us[slot] = clock_now_us();
    rc = xpr_conn_write(bc->conn, pattern_at(&b->pattern, bc->base + bc->sent),
                        size);
    if (rc != 0) {
        b->errors++;
        report(b, "conn %" PRIu32 ": write: %s", bc->index, xpr_strerror(rc));
        abort_conn(bc);
        return;
    }
    bc->sent += size;
    bc->in_flight++;
}

static void shut(struct bench_conn *bc)
{
    bc->state = CONN_SHUT;
    xpr_conn_shutdown(bc->conn);
}

static void arm_deadline(struct bench *b, double ms)
{
    if (b->deadline != NULL)
        xpr_timer_start(b->deadline, (uint64_t)ms, 0);
}

static void begin_run(struct bench *b)
{
    size_t i;
    unsigned k;

    b->phase = PHASE_RUNNING;
    b->start_us = b->progress_us = clock_now_us();
    arm_deadline(b, b->opt.duration * 1000.0);
    if (b->opt.duration > 3.0 && b->progress != NULL)
        xpr_timer_start(b->progress, 1000, 1000);
    for (i = 0; i < b->created; i++) {
        struct bench_conn *bc = &b->conns[i];

        for (k = 0; k < b->opt.pipeline && !bc->idle; k++)
            if (bc->state == CONN_OPEN)
                send_message(bc);
    }
}

static void begin_drain(struct bench *b)
{
    size_t i;

    b->phase = PHASE_DRAINING;
    b->end_us = clock_now_us();
    if (b->progress != NULL)
        xpr_timer_stop(b->progress);
    arm_deadline(b, DRAIN_TIMEOUT_MS);
    for (i = 0; i < b->created; i++) {
        struct bench_conn *bc = &b->conns[i];

        if (bc->state == CONN_OPEN && bc->in_flight == 0)
            shut(bc);
    }
}

static void on_open(xpr_conn *conn)
{
    struct bench_conn *bc = xpr_conn_userdata(conn);
    struct bench *b = bc->bench;

    if (bc->state != CONN_CONNECTING)
        return;
    bc->state = CONN_OPEN;
    bc->was_open = 1;
    xpr_conn_set_nodelay(conn, 1);
    b->opened++;
    if (b->phase == PHASE_CONNECTING && b->opened == b->created)
        begin_run(b);
    else if (b->phase == PHASE_DRAINING)
        shut(bc);
}

static int verify(struct bench_conn *bc, const unsigned char *p, size_t n)
{
    struct bench *b = bc->bench;
    size_t good;

    if (bc->received + n > bc->sent) {
        b->mismatches++;
        report(b,
               "conn %" PRIu32 ": %zu bytes echoed beyond the %" PRIu64 " sent",
               bc->index, (size_t)(bc->received + n - bc->sent), bc->sent);
        return -1;
    }
    good = pattern_verify(&b->pattern, bc->base + bc->received, p, n);
    if (good < n) {
        b->mismatches++;
        report(b,
               "conn %" PRIu32 ": echoed byte %" PRIu64
               " is 0x%02x, sent 0x%02x",
               bc->index, bc->received + good, p[good],
               *pattern_at(&b->pattern, bc->base + bc->received + good));
        return -1;
    }
    return 0;
}

static void on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct bench_conn *bc = xpr_conn_userdata(conn);
    struct bench *b = bc->bench;
    uint64_t now, size = b->opt.size;

    if (bc->state == CONN_CLOSING || bc->state == CONN_CLOSED)
        return;
    if (verify(bc, p, n) != 0) {
        abort_conn(bc);
        return;
    }
    bc->received += n;
    if (b->phase == PHASE_RUNNING)
        b->bytes += n;
    if (bc->received < (bc->completed + 1) * size)
        return;
    now = clock_now_us();
    while (bc->in_flight > 0 && bc->received >= (bc->completed + 1) * size) {
        uint64_t sent_at = bc->send_us[bc->head];

        bc->head = (bc->head + 1) % (unsigned)b->opt.pipeline;
        bc->in_flight--;
        bc->completed++;
        if (b->phase != PHASE_RUNNING)
            continue;
        histogram_add(&b->latency, now - sent_at);
        b->msgs++;
        send_message(bc);
        if (bc->state != CONN_OPEN)
            return;
    }
    if (b->phase == PHASE_DRAINING && bc->in_flight == 0 &&
        bc->state == CONN_OPEN)
        shut(bc);
}

static void on_eof(xpr_conn *conn)
{
    struct bench_conn *bc = xpr_conn_userdata(conn);
    struct bench *b = bc->bench;

    if (bc->state == CONN_CLOSING || bc->state == CONN_CLOSED)
        return;
    if (bc->state != CONN_SHUT) {
        b->errors++;
        report(b,
               "conn %" PRIu32 ": server closed the connection (%" PRIu64
               " of %" PRIu64 " bytes echoed)",
               bc->index, bc->received, bc->sent);
    }
    bc->state = CONN_CLOSING;
    xpr_conn_close(conn);
}

static void on_close(xpr_conn *conn, int err)
{
    struct bench_conn *bc = xpr_conn_userdata(conn);
    struct bench *b = bc->bench;

    bc->state = CONN_CLOSED;
    b->closed++;
    if (err != 0 && !bc->was_open) {
        /* A failed connect: the first one says why, the rest would repeat
         * it (the run needs every connection). */
        if (b->errors++ == 0)
            report(b, "connect %s: %s%s", b->opt.address, xpr_strerror(err),
                   hint(err));
    } else if (err != 0) {
        b->errors++;
        report(b, "conn %" PRIu32 ": %s%s", bc->index, xpr_strerror(err),
               hint(err));
    }
    if (b->phase == PHASE_DONE)
        return; /* inside xpr_loop_free, or after finish() */
    if (b->phase == PHASE_CONNECTING)
        abort_all(b); /* the run needs every connection */
    else if (b->closed == b->created && b->phase != PHASE_DONE)
        finish(b);
}

static void on_deadline(xpr_timer *timer, void *arg)
{
    struct bench *b = arg;

    (void)timer;
    switch (b->phase) {
    case PHASE_CONNECTING:
        b->errors++;
        report(b, "only %zu of %zu connections opened within %d ms", b->opened,
               b->created, CONNECT_TIMEOUT_MS);
        abort_all(b);
        break;
    case PHASE_RUNNING:
        begin_drain(b);
        break;
    case PHASE_DRAINING:
        b->errors++;
        report(b, "%zu connections still open %d ms after the run; reset",
               b->created - b->closed, DRAIN_TIMEOUT_MS);
        abort_all(b);
        break;
    case PHASE_DONE:
        break;
    }
}

static void on_progress(xpr_timer *timer, void *arg)
{
    struct bench *b = arg;
    uint64_t now = clock_now_us();
    double dt = (double)(now - b->progress_us) / 1e6;

    (void)timer;
    if (dt <= 0)
        return;
    fprintf(stderr,
            "bench: %3.0fs msgs/s=%.0f MB/s=%.1f open=%zu errors=%" PRIu64 "\n",
            (double)(now - b->start_us) / 1e6,
            (double)(b->msgs - b->progress_msgs) / dt,
            (double)(b->bytes - b->progress_bytes) / 1e6 / dt,
            b->created - b->closed, b->errors + b->mismatches);
    b->progress_us = now;
    b->progress_msgs = b->msgs;
    b->progress_bytes = b->bytes;
}

static void on_termination(void *arg)
{
    struct bench *b = arg;

    if (b->phase == PHASE_DONE)
        return;
    fprintf(stderr, "bench: interrupted\n");
    if (b->phase == PHASE_RUNNING)
        begin_drain(b);
    else
        abort_all(b);
}

static void print_summary(const struct bench_options *opt, const char *backend,
                          const struct bench_result *r)
{
    double rate = r->seconds > 0 ? (double)r->msgs / r->seconds : 0;
    double bytes_per_s = r->seconds > 0 ? (double)r->bytes / r->seconds : 0;

    printf("bench: backend=%s conns=%" PRIu64 " idle=%" PRIu64 " size=%" PRIu64
           " pipeline=%" PRIu64 " duration=%.1fs msgs=%" PRIu64
           " msgs/s=%.0f MB/s=%.1f p50_us=%" PRIu64 " p99_us=%" PRIu64
           " errors=%" PRIu64 " mismatches=%" PRIu64 "\n",
           backend, opt->connections, opt->idle, opt->size, opt->pipeline,
           r->seconds, r->msgs, rate, bytes_per_s / 1e6, r->p50_us, r->p99_us,
           r->errors, r->mismatches);
    /* libuv's benchmark names: ping_pongs is one message in flight per
     * connection, each waiting for the last one's echo. */
    if (opt->pipeline == 1)
        printf("ping_pongs: %.0f roundtrips/s\n", rate);
    else
        printf("pipelined: %.0f msgs/s (%" PRIu64
               " in flight per connection)\n",
               rate, opt->pipeline);
    printf("tcp_pump: %.3f gbit/s\n", bytes_per_s * 8 / 1e9);
    fflush(stdout);
}

static int start_connections(struct bench *b)
{
    struct xpr_conn_callbacks callbacks = {on_open, on_data, NULL, on_eof,
                                           on_close};
    size_t total = (size_t)(b->opt.connections + b->opt.idle), i;

    for (i = 0; i < total; i++) {
        struct bench_conn *bc = &b->conns[i];
        int rc;

        bc->bench = b;
        bc->index = (uint32_t)i;
        bc->idle = i >= b->opt.connections;
        bc->base = pattern_stream_base(bc->index);
        bc->send_us = b->send_times + i * b->opt.pipeline;
        bc->state = CONN_CONNECTING;
        rc = xpr_connect(b->loop, b->opt.address, &callbacks, bc, &bc->conn);
        if (rc != 0) {
            b->errors++;
            report(b, "connect %s (connection %zu): %s%s", b->opt.address, i,
                   xpr_strerror(rc), hint(rc));
            return rc;
        }
        b->created++;
    }
    return 0;
}

static int setup_timers(struct bench *b)
{
    if (xpr_timer_new(b->loop, on_deadline, b, &b->deadline) != 0 ||
        xpr_timer_new(b->loop, on_progress, b, &b->progress) != 0 ||
        xpr_timer_start(b->deadline, CONNECT_TIMEOUT_MS, 0) != 0)
        return -1;
    signals_watch(&b->signals, b->loop, on_termination, b);
    return 0;
}

struct bench *bench_new(xpr_loop *loop, const struct bench_options *opt)
{
    struct bench *b = calloc(1, sizeof *b);
    size_t total = (size_t)(opt->connections + opt->idle);
    size_t span = opt->size > 65536 ? (size_t)opt->size : 65536;

    if (b == NULL)
        return NULL;
    b->opt = *opt;
    b->loop = loop;
    b->conns = calloc(total, sizeof *b->conns);
    b->send_times = calloc(total * opt->pipeline, sizeof *b->send_times);
    if (b->conns == NULL || b->send_times == NULL ||
        pattern_init(&b->pattern, span) != 0) {
        bench_free(b);
        return NULL;
    }
    histogram_init(&b->latency);
    return b;
}

/* From here on on_close only counts: whatever is still open is closed by
 * xpr_loop_free. */
static void detach(struct bench *b)
{
    b->phase = PHASE_DONE;
    xpr_timer_free(b->deadline);
    xpr_timer_free(b->progress);
    signals_unwatch(&b->signals);
    b->deadline = b->progress = NULL;
}

int bench_run(struct bench *b)
{
    int rc;

    if (setup_timers(b) != 0) {
        args_complain("bench", "cannot create timers");
        detach(b);
        return 1;
    }
    if (start_connections(b) != 0) {
        if (b->created == 0) {
            finish(b);
            return 1;
        }
        abort_all(b);
    }
    while (b->phase != PHASE_DONE) {
        rc = xpr_loop_run(b->loop);
        if (rc != 0) {
            args_complain("bench", "loop: %s", xpr_strerror(rc));
            detach(b);
            return 1;
        }
    }
    return 0;
}

void bench_get_result(const struct bench *b, struct bench_result *out)
{
    memset(out, 0, sizeof *out);
    out->measured = b->finished && b->start_us != 0;
    out->seconds = out->measured ? (double)(b->end_us - b->start_us) / 1e6 : 0;
    out->msgs = b->msgs;
    out->bytes = b->bytes;
    out->p50_us = histogram_quantile(&b->latency, 0.50);
    out->p99_us = histogram_quantile(&b->latency, 0.99);
    out->errors = b->errors;
    out->mismatches = b->mismatches;
}

void bench_free(struct bench *b)
{
    if (b == NULL)
        return;
    pattern_free(&b->pattern);
    free(b->send_times);
    free(b->conns);
    free(b);
}

int bench_main(int argc, char **argv)
{
    struct bench_options opt;
    int udp = 0;
    const struct arg_option options[] = {
        {"--connect", NULL, ARG_STRING, &opt.address, 0, 0, 0, "ADDR",
         "echo server to load (default " ECHO_DEFAULT_ADDRESS "; [::1]:5150)"},
        {"--connections", NULL, ARG_UINT, &opt.connections, 1, 100000, 0, "N",
         "active connections (default 10)"},
        {"--size", NULL, ARG_UINT, &opt.size, 1, 16777216, 0, "BYTES",
         "bytes per message (default 64)"},
        {"--pipeline", NULL, ARG_UINT, &opt.pipeline, 1, 1024, 0, "K",
         "messages in flight per active connection (default 1: ping-pong)"},
        {"--duration", NULL, ARG_REAL, &opt.duration, 0.1, 86400, 0, "S",
         "seconds to measure (default 5; progress each second when over 3)"},
        {"--idle", NULL, ARG_UINT, &opt.idle, 0, 100000, 0, "M",
         "extra connections that connect and stay silent (default 0)"},
        {"--backend", NULL, ARG_STRING, &opt.backend, 0, 0, 0, "NAME",
         "xpr back end (default: XPR_BACKEND or the platform's)"},
        {"--udp", NULL, ARG_FLAG, &udp, 0, 0, 0, NULL,
         "datagrams to an 'xpr-echo server --udp': N handles, K in flight "
         "each; loss counted, corruption an error"},
    };
    const struct arg_command cmd = {
        "bench",
        "Load generator: N connections each keep K messages in flight for S\n"
        "seconds; every echoed byte is verified. Prints one summary line and\n"
        "libuv-style ping_pongs (pipeline 1) or pipelined, and tcp_pump\n"
        "lines; exits 1 on any error.",
        options, sizeof options / sizeof options[0]};
    struct xpr_loop_config loop_cfg;
    struct bench_result result;
    struct bench *b;
    xpr_loop *loop;
    int rc;

    memset(&opt, 0, sizeof opt);
    opt.address = ECHO_DEFAULT_ADDRESS;
    opt.connections = 10;
    opt.size = 64;
    opt.pipeline = 1;
    opt.duration = 5;
    rc = args_parse(&cmd, argc, argv);
    if (rc != ARGS_OK)
        return rc;
    if ((double)opt.connections * (double)opt.pipeline * (double)opt.size >
        MAX_BYTES_IN_FLIGHT) {
        args_complain(cmd.name, "connections x pipeline x size is over 1 GiB");
        return 2;
    }
    memset(&loop_cfg, 0, sizeof loop_cfg);
    loop_cfg.backend = opt.backend;
    rc = echo_loop_new(cmd.name, &loop_cfg, &loop);
    if (rc != 0)
        return rc;
    if (udp)
        return udp_bench_run(loop, &opt);
    b = bench_new(loop, &opt);
    if (b == NULL) {
        args_complain(cmd.name, "out of memory");
        xpr_loop_free(loop);
        return 1;
    }

    rc = bench_run(b);
    bench_get_result(b, &result);
    if (result.measured)
        print_summary(&opt, xpr_loop_backend(loop), &result);
    else if (rc == 0)
        fprintf(stderr,
                "bench: no measurement: the %" PRIu64
                " connections to %s did not all open\n",
                opt.connections + opt.idle, opt.address);
    xpr_loop_free(loop);
    bench_free(b);
    if (rc == 0 &&
        (result.errors != 0 || result.mismatches != 0 || result.msgs == 0))
        rc = 1;
    return rc;
}
