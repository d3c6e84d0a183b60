/*
 * One back end of xpr-echo compare: its server process, the ramp, the
 * settle and the load, each step waiting on the client's loop. Every error
 * is recorded in the row (the first one says why) and the steps after it
 * are skipped; the server is stopped and the client's connections reset
 * whatever happened.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "compare.h"
#include "files.h"
#include "os_stats.h"
#include "process.h"
#include "ramp.h"

#define STATS_INTERVAL_MS 250
/* A server whose loop is busy writes its line late (a select over
 * thousands of sockets under Wine on a loaded machine: seconds); one that
 * writes none for this long is not running its timers. */
#define STATS_WAIT_MS 30000
#define TICK_MS 20
#define SERVER_START_MS 30000
#define SERVER_STOP_MS 5000
#define RELEASE_WAIT_MS 5000
#define PROGRESS_EVERY_US 1000000u

struct compare {
    struct compare_settings s;
    const char *server_bin;
    int keep_logs;
    /* the back end being measured */
    struct compare_row *row;
    char stats_path[1024], log_path[1024];
    struct process server;
    char address[XPR_ADDRSTRLEN]; /* where the server listens */
    xpr_loop *loop;
    xpr_timer *tick;
    struct ramp *ramp;
    /* wait_until */
    int (*condition)(struct compare *c);
    uint64_t deadline_us;
    uint64_t want_seq; /* fresh_stats: a line after this one */
    struct stats_record latest;
    int stats_broken;
    int stats_errno; /* the last failed open of the stats file, or 0 */
};

static void progress(const struct compare *c, const char *fmt, ...)
    ECHO_PRINTF(2, 3);

static void progress(const struct compare *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "compare: %s: ", c->row->backend);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void fail(struct compare *c, const char *fmt, ...) ECHO_PRINTF(2, 3);

/* Records the back end's first error (later ones follow from it). */
static void fail(struct compare *c, const char *fmt, ...)
{
    va_list ap;

    if (c->row->error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(c->row->error, sizeof c->row->error, fmt, ap);
    va_end(ap);
    progress(c, "error: %s", c->row->error);
}

/* The most threads and handles seen in any stats line of the run. */
static void note_peaks(struct compare_row *row, const struct stats_record *r)
{
    if (r->os.threads != OS_STATS_UNKNOWN &&
        (row->threads == OS_STATS_UNKNOWN || r->os.threads > row->threads))
        row->threads = r->os.threads;
    if (r->os.handles != OS_STATS_UNKNOWN &&
        (row->handles == OS_STATS_UNKNOWN || r->os.handles > row->handles))
        row->handles = r->os.handles;
}

/* Reads the server's last stats line into c->latest. 1 if there is one. */
static int read_stats(struct compare *c)
{
    int rc = stats_file_latest(c->stats_path, &c->latest);

    c->stats_errno = rc == STATS_FILE_UNREADABLE ? errno : 0;
    if (rc == STATS_FILE_MALFORMED) {
        c->stats_broken = 1;
        return 0;
    }
    if (rc != STATS_FILE_OK)
        return 0;
    note_peaks(c->row, &c->latest);
    return 1;
}

static int server_gone(struct compare *c)
{
    return !process_running(&c->server);
}

static int wait_over(struct compare *c)
{
    return c->condition(c) || c->stats_broken || server_gone(c) ||
           clock_now_us() >= c->deadline_us;
}

static void on_tick(xpr_timer *timer, void *arg)
{
    struct compare *c = arg;

    if (wait_over(c)) {
        xpr_timer_stop(timer);
        xpr_loop_stop(c->loop);
    }
}

/* Runs the loop until condition holds, the server ends or timeout_ms pass.
 * A run that returns before (a stop left from an earlier round) is run
 * again. Returns condition's last answer. */
static int wait_until(struct compare *c, int (*condition)(struct compare *),
                      double timeout_ms)
{
    c->condition = condition;
    c->deadline_us = clock_now_us() + (uint64_t)timeout_ms * 1000u;
    while (!wait_over(c)) {
        xpr_timer_start(c->tick, TICK_MS, TICK_MS);
        if (xpr_loop_run(c->loop) != 0)
            break;
    }
    xpr_timer_stop(c->tick);
    return condition(c);
}

static int ramp_settled(struct compare *c)
{
    return ramp_pending(c->ramp) == 0;
}

static int fresh_stats(struct compare *c)
{
    return read_stats(c) && c->latest.seq > c->want_seq;
}

static int server_caught_up(struct compare *c)
{
    return read_stats(c) && c->latest.seq > c->want_seq &&
           c->latest.conns >= ramp_open(c->ramp);
}

static int all_released(struct compare *c)
{
    return ramp_open(c->ramp) == 0 && ramp_pending(c->ramp) == 0;
}

/* The last lines of the server's log, for an error message. */
static void log_tail(const struct compare *c, char *buf, size_t len)
{
    FILE *f = fopen(c->log_path, "rb");
    long size;
    size_t n, i;

    buf[0] = '\0';
    if (f == NULL)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
        long from = size > (long)len - 1 ? size - ((long)len - 1) : 0;

        fseek(f, from, SEEK_SET);
        n = fread(buf, 1, len - 1, f);
        buf[n] = '\0';
        for (i = 0; i < n; i++)
            if (buf[i] == '\n' || buf[i] == '\r')
                buf[i] = ' ';
    }
    fclose(f);
}

/* Records that the server ended before it was stopped. */
static void fail_server_ended(struct compare *c)
{
    char tail[160];

    log_tail(c, tail, sizeof tail);
    fail(c, "server ended during the run with status %d: %s",
         c->server.exit_status, tail);
}

/* A stats line written after now into *out. 0, or -1 (error recorded). */
static int take_stats(struct compare *c, struct stats_record *out)
{
    c->want_seq = c->latest.seq;
    if (!wait_until(c, fresh_stats, STATS_WAIT_MS)) {
        if (server_gone(c))
            fail_server_ended(c);
        if (c->stats_broken)
            fail(c, "malformed line in the stats file");
        else if (c->stats_errno != 0)
            fail(c, "this process could not open the stats file for %d s: %s",
                 STATS_WAIT_MS / 1000, strerror(c->stats_errno));
        else
            fail(c,
                 "the server wrote no stats line for %d s (its loop ran "
                 "no timer)",
                 STATS_WAIT_MS / 1000);
        return -1;
    }
    *out = c->latest;
    return 0;
}

const char *compare_backend_name(const char *row_backend, const char **method)
{
    static char name[COMPARE_NAME_MAX];
    size_t len = strcspn(row_backend, ":");
    snprintf(name, sizeof name, "%.*s", (int)len, row_backend);
    if (method != NULL)
        *method = row_backend[len] == ':' ? row_backend + len + 1 : NULL;
    return name;
}

/* libevent reads EVENT_NOEPOLL / EVENT_NOPOLL when it makes a base: the
 * server inherits them; this process makes no base meanwhile. */
static void set_method_env(const char *method, int on)
{
#ifdef _WIN32
    (void)method;
    (void)on;
#else
    int poll_too = method != NULL && strcmp(method, "select") == 0;
    if (method == NULL)
        return;
    if (on) {
        setenv("EVENT_NOEPOLL", "1", 1);
        setenv("EVENT_NOKQUEUE", "1", 1);
        setenv("EVENT_NODEVPOLL", "1", 1);
        setenv("EVENT_NOEVPORT", "1", 1);
        if (poll_too)
            setenv("EVENT_NOPOLL", "1", 1);
    } else {
        unsetenv("EVENT_NOEPOLL");
        unsetenv("EVENT_NOKQUEUE");
        unsetenv("EVENT_NODEVPOLL");
        unsetenv("EVENT_NOEVPORT");
        unsetenv("EVENT_NOPOLL");
    }
#endif
}

static int start_server(struct compare *c)
{
    char why[256], tail[160], backend[COMPARE_NAME_MAX];
    const char *method;
    const char *argv[] = {c->server_bin,  "server",      "--listen",
                          "127.0.0.1:0",  "--backend",   backend,
                          "--stats-file", c->stats_path, "--stats-interval",
                          NULL,           NULL};
    char interval[16];
    uint64_t waited;
    int rc;

    snprintf(backend, sizeof backend, "%s",
             compare_backend_name(c->row->backend, &method));
    snprintf(interval, sizeof interval, "%d", STATS_INTERVAL_MS);
    argv[9] = interval;
    remove(c->stats_path);
    set_method_env(method, 1);
    rc = process_spawn(&c->server, argv, c->log_path, why, sizeof why);
    set_method_env(method, 0);
    if (rc != 0) {
        fail(c, "cannot start the server: %s", why);
        return -1;
    }
    for (waited = 0; waited < SERVER_START_MS; waited += 50) {
        if (read_stats(c)) {
            c->row->started = 1;
            return 0;
        }
        if (c->stats_broken || server_gone(c))
            break;
        process_sleep_ms(50);
    }
    log_tail(c, tail, sizeof tail);
    if (c->stats_broken)
        fail(c, "malformed line in the stats file");
    else if (server_gone(c))
        fail(c, "server exited with status %d at start: %s",
             c->server.exit_status, tail);
    else
        fail(c, "server wrote no stats line within %d s: %s",
             SERVER_START_MS / 1000, tail);
    process_stop(&c->server, SERVER_STOP_MS);
    return -1;
}

static void stop_server(struct compare *c)
{
    int status;

    if (server_gone(c)) {
        fail_server_ended(c);
        return;
    }
    status = process_stop(&c->server, SERVER_STOP_MS);
    if (status != 0)
        fail(c, "server did not exit cleanly when stopped (status %d)", status);
}

static const char *error_name(int err)
{
    const char *name = xpr_err_name(err);

    return name != NULL ? name : "error";
}

/* Phase 1: batches of connects until the target, a failure or the limit. */
static void run_ramp(struct compare *c)
{
    struct compare_row *row = c->row;
    uint64_t start = clock_now_us(), last_progress = start;
    uint64_t limit_us = (uint64_t)(c->s.ramp_limit * 1e6);

    snprintf(row->stopped, sizeof row->stopped, "target");
    while (ramp_attempted(c->ramp) < c->s.target) {
        uint64_t now = clock_now_us(), left_us;

        if (now - start >= limit_us) {
            snprintf(row->stopped, sizeof row->stopped, "time limit");
            break;
        }
        left_us = limit_us - (now - start);
        ramp_start(c->ramp, (size_t)c->s.batch);
        wait_until(c, ramp_settled, (double)left_us / 1000.0);
        if (ramp_failed(c->ramp) > 0 || ramp_dropped(c->ramp) > 0) {
            snprintf(row->stopped, sizeof row->stopped, "%s",
                     error_name(ramp_first_error(c->ramp)));
            break;
        }
        if (server_gone(c) || c->stats_broken) {
            snprintf(row->stopped, sizeof row->stopped, "server ended");
            break;
        }
        if (clock_now_us() - last_progress >= PROGRESS_EVERY_US) {
            last_progress = clock_now_us();
            progress(c, "ramp %zu of %" PRIu64 " open", ramp_open(c->ramp),
                     c->s.target);
        }
    }
    if (ramp_pending(c->ramp) > 0 && strcmp(row->stopped, "target") == 0)
        snprintf(row->stopped, sizeof row->stopped, "time limit");
    row->attempted = ramp_attempted(c->ramp);
    row->failed = ramp_failed(c->ramp);
}

/* Waits for the server to hold what the client holds, as long as its count
 * still rises from one --settle period to the next (at most --ramp-limit),
 * then takes the loaded figures. 0 or -1. */
static int settle(struct compare *c)
{
    struct compare_row *row = c->row;
    uint64_t start = clock_now_us(), open, before;
    int taken;

    c->want_seq = c->latest.seq;
    do {
        before = c->latest.conns;
        if (wait_until(c, server_caught_up, c->s.settle_limit * 1000.0))
            break;
    } while (c->latest.conns > before && !server_gone(c) &&
             clock_now_us() - start < (uint64_t)(c->s.ramp_limit * 1e6));
    taken = take_stats(c, &row->loaded);
    if (taken != 0) {
        /* No fresh line (a server that stopped reporting, or a file this
         * process can no longer open): the row shows what the server last
         * reported, beside the error. */
        if (c->latest.seq <= row->idle.seq)
            return -1;
        row->loaded = c->latest;
    }
    open = ramp_open(c->ramp);
    row->held = open < row->loaded.conns ? open : row->loaded.conns;
    if (taken != 0)
        return -1;
    progress(c,
             "held %" PRIu64 " of %" PRIu64
             " attempted (%s); server RSS %.1f MiB",
             row->held, row->attempted, row->stopped,
             (double)row->loaded.os.rss_bytes / 1048576.0);
    return 0;
}

/* Phase 2: the bench's active connections beside the held ones. */
static void run_load(struct compare *c)
{
    struct compare_row *row = c->row;
    struct bench_options opt;
    struct bench *b;
    uint64_t expected = row->attempted - row->failed + c->s.active;
    double dt;

    if (strcmp(row->stopped, "target") != 0 && row->held > 0) {
        /* The server is at its limit: room for the active connections. */
        ramp_release(c->ramp, (size_t)(2 * c->s.active));
        wait_until(c, ramp_settled, 500);
    }
    memset(&opt, 0, sizeof opt);
    opt.address = c->address;
    opt.connections = c->s.active;
    opt.size = c->s.size;
    opt.pipeline = 1;
    opt.duration = c->s.duration;
    if (take_stats(c, &row->before) != 0)
        return;
    b = bench_new(c->loop, &opt);
    if (b == NULL) {
        fail(c, "out of memory");
        return;
    }
    progress(c, "load: %" PRIu64 " active x %" PRIu64 " B for %.1f s",
             c->s.active, c->s.size, c->s.duration);
    if (bench_run(b) != 0) {
        bench_get_result(b, &row->load);
        /* some of the bench's connections may be open: the loop goes
         * first (the caller frees it on this error) */
        fail(c, "the load generator could not run");
        xpr_loop_free(c->loop);
        c->loop = NULL;
        bench_free(b);
        return;
    }
    bench_get_result(b, &row->load);
    bench_free(b);
    if (take_stats(c, &row->after) != 0)
        return;
    dt = (double)(row->after.t_us - row->before.t_us);
    if (row->after.os.cpu_us != OS_STATS_UNKNOWN && dt > 0)
        row->cpu_percent =
            (double)(row->after.os.cpu_us - row->before.os.cpu_us) / dt * 100;
    else
        row->cpu_percent = -1;
    row->dropped = ramp_dropped(c->ramp);
    if (!row->load.measured)
        fail(c, "the %" PRIu64 " active connections did not all open",
             c->s.active);
    else if (row->load.mismatches == 0 && row->load.errors != 0 &&
             row->after.accepted < expected)
        /* the server is behind on its accepts, not failing: a figure */
        snprintf(row->note, sizeof row->note,
                 "load: %" PRIu64 " errors; the server had accepted %" PRIu64
                 " of %" PRIu64 " connections",
                 row->load.errors, row->after.accepted, expected);
    else if (row->load.errors != 0 || row->load.mismatches != 0)
        fail(c,
             "load: %" PRIu64 " errors, %" PRIu64
             " mismatches; the server had accepted %" PRIu64 " of %" PRIu64
             " connections",
             row->load.errors, row->load.mismatches, row->after.accepted,
             expected);
    if (row->note[0] != '\0')
        progress(c, "%s", row->note);
    progress(c, "load: %.0f msgs/s, p99 %" PRIu64 " us, server CPU %.0f%%",
             row->load.seconds > 0 ? (double)row->load.msgs / row->load.seconds
                                   : 0,
             row->load.p99_us, row->cpu_percent);
}

static void run_client(struct compare *c)
{
    struct xpr_loop_config cfg;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = c->s.client_backend;
    cfg.workers = 1; /* one client thread, whatever the back end */
    rc = xpr_loop_new(&c->loop, &cfg);
    if (rc != 0) {
        fail(c, "client loop on %s: %s", c->s.client_backend, xpr_strerror(rc));
        return;
    }
    snprintf(c->address, sizeof c->address, "%s", c->latest.listen);
    c->ramp = ramp_new(c->loop, c->address, (size_t)c->s.target);
    if (c->ramp == NULL || xpr_timer_new(c->loop, on_tick, c, &c->tick) != 0) {
        fail(c, "out of memory");
    } else {
        c->row->idle = c->latest;
        progress(c, "server on %s; ramp to %" PRIu64 " connections", c->address,
                 c->s.target);
        run_ramp(c);
        if (settle(c) == 0)
            run_load(c);
    }
    if (c->loop != NULL) {
        if (c->ramp != NULL) {
            ramp_release(c->ramp, (size_t)-1);
            wait_until(c, all_released, RELEASE_WAIT_MS);
        }
        xpr_loop_free(c->loop);
        c->loop = NULL;
    }
    ramp_free(c->ramp);
    c->ramp = NULL;
    c->tick = NULL;
}

void compare_run_backend(const struct compare_settings *s,
                         const char *server_bin, int keep_logs,
                         struct compare_row *row)
{
    struct compare run;
    struct compare *c = &run;

    memset(c, 0, sizeof *c);
    c->s = *s;
    c->server_bin = server_bin;
    c->keep_logs = keep_logs;
    c->row = row;
    row->threads = row->handles = OS_STATS_UNKNOWN;
    row->cpu_percent = -1;
    if (snprintf(c->stats_path, sizeof c->stats_path, "%s/server-%s.stats",
                 c->s.out_dir, row->backend) >= (int)sizeof c->stats_path ||
        snprintf(c->log_path, sizeof c->log_path, "%s/server-%s.log",
                 c->s.out_dir, row->backend) >= (int)sizeof c->log_path) {
        fail(c, "--out: path too long");
        return;
    }
    if (start_server(c) != 0)
        return;
    run_client(c);
    stop_server(c);
    if (c->stats_broken)
        fail(c, "malformed line in the stats file");
    if (row->error[0] == '\0' && !c->keep_logs) {
        files_remove(c->stats_path);
        files_remove(c->log_path);
    }
}
