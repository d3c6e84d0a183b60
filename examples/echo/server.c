/*
 * xpr-echo server: writes back every byte it reads. A client that sends but
 * does not read would make the write queue grow without bound, so reading
 * that connection pauses while more than QUEUE_HIGH_WATER bytes wait and
 * resumes when on_drain says the queue is empty again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "echo.h"
#include "signals.h"
#include "stats_file.h"
#include "udp.h"

#define QUEUE_HIGH_WATER (1024u * 1024u)

/* Both structs start with the server pointer (the server's points to itself),
 * so on_close can tell whether on_open has replaced the listener's arg. */
struct server {
    struct server *server;
    xpr_loop *loop;
    int verbose;
    uint32_t idle_timeout_ms;
    uint64_t live_connections;
    uint64_t peak_connections;
    FILE *stats_file; /* --stats-file, or NULL */
    uint64_t stats_seq;
    char bound[XPR_ADDRSTRLEN];
};

struct server_conn {
    struct server *server;
    uint64_t echoed_bytes;
    int paused;
    /* The peer's address for the log, with --verbose only: an idle
     * connection costs the server as little as the library allows. */
    char peer[];
};

static void on_open(xpr_conn *conn)
{
    struct server *server = xpr_conn_userdata(conn);
    struct server_conn *sc =
        calloc(1, sizeof *sc + (server->verbose ? XPR_ADDRSTRLEN : 0));
    char peer[XPR_ADDRSTRLEN];
    int rc;

    if (sc == NULL) {
        xpr_conn_abort(conn);
        return;
    }
    sc->server = server;
    if (xpr_conn_peer_address(conn, peer, sizeof peer) != 0)
        strcpy(peer, "?");
    if (server->verbose)
        memcpy(sc->peer, peer, sizeof peer);
    xpr_conn_set_userdata(conn, sc);
    server->live_connections++;
    if (server->live_connections > server->peak_connections)
        server->peak_connections = server->live_connections;
    if (server->idle_timeout_ms > 0) {
        rc = xpr_conn_set_idle_timeout(conn, server->idle_timeout_ms);
        if (rc != 0)
            fprintf(stderr, "xpr-echo server: %s: idle timeout: %s\n", peer,
                    xpr_strerror(rc));
    }
    if (server->verbose)
        fprintf(stderr, "connect %s (%" PRIu64 " open)\n", peer,
                server->live_connections);
}

static void on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct server_conn *sc = xpr_conn_userdata(conn);
    int rc = xpr_conn_write(conn, p, n);

    if (rc != 0) {
        if (sc->server->verbose)
            fprintf(stderr, "write %s: %s\n", sc->peer, xpr_strerror(rc));
        xpr_conn_abort(conn);
        return;
    }
    sc->echoed_bytes += n;
    if (!sc->paused && xpr_conn_queued(conn) > QUEUE_HIGH_WATER) {
        if (xpr_conn_pause_reading(conn) == 0)
            sc->paused = 1;
    }
}

static void on_drain(xpr_conn *conn)
{
    struct server_conn *sc = xpr_conn_userdata(conn);

    if (sc->paused && xpr_conn_resume_reading(conn) == 0)
        sc->paused = 0;
}

static void on_close(xpr_conn *conn, int err)
{
    void *userdata = xpr_conn_userdata(conn);
    struct server *const *first = userdata;
    struct server_conn *sc = userdata;

    /* No on_open (or it failed): the userdata is still the listener's arg. */
    if (userdata == NULL || (void *)*first == userdata)
        return;
    sc->server->live_connections--;
    if (sc->server->verbose)
        fprintf(stderr,
                "close %s: %s (%" PRIu64 " bytes echoed, %" PRIu64 " open)\n",
                sc->peer, err == 0 ? "clean" : xpr_strerror(err),
                sc->echoed_bytes, sc->server->live_connections);
    free(sc);
}

static void log_stats(struct server *server)
{
    struct xpr_loop_stats st;

    if (xpr_loop_stats(server->loop, &st) != 0)
        return;
    fprintf(stderr,
            "stopping: %" PRIu64 " open, %" PRIu64 " accepted, %" PRIu64
            " refused, %" PRIu64 " timed out, %" PRIu64 " bytes read, %" PRIu64
            " written, %" PRIu64 " queued\n",
            server->live_connections, st.accepted_connections,
            st.refused_connections, st.timed_out_connections, st.bytes_read,
            st.bytes_written, st.queued_write_bytes);
}

/* --stats MS: one line of the loop's counters every MS (flushed, so a
 * script reading the log sees it at once). */
static void on_stats(xpr_timer *timer, void *arg)
{
    struct server *server = arg;
    struct xpr_loop_stats st;
    struct xpr_completion_stats cst;

    (void)timer;
    if (xpr_loop_stats(server->loop, &st) != 0)
        return;
    if (xpr_loop_completion_stats(server->loop, &cst) != 0)
        memset(&cst, 0, sizeof(cst)); /* not a completion back end */
    fprintf(stderr,
            "stats: open=%" PRIu64 " peak=%" PRIu64 " accepted=%" PRIu64
            " refused=%" PRIu64 " read=%" PRIu64 " written=%" PRIu64
            " queued=%" PRIu64 " pending=%" PRIu64 " pending_reads=%" PRIu64
            " pending_writes=%" PRIu64 " inline=%" PRIu64 " dequeues=%" PRIu64
            " dequeued=%" PRIu64 " pinned=%" PRIu64 "\n",
            server->live_connections, server->peak_connections,
            st.accepted_connections, st.refused_connections, st.bytes_read,
            st.bytes_written, st.queued_write_bytes, cst.pending_operations,
            cst.pending_reads, cst.pending_writes, cst.inline_completions,
            cst.dequeue_calls, cst.dequeued_completions,
            cst.pinned_buffer_bytes);
    fflush(stderr);
}

/* --stats-file: the process's own OS figures and the connection counts, one
 * line per --stats-interval. */
static void write_stats_line(struct server *server)
{
    struct stats_record rec;
    struct xpr_loop_stats st;

    memset(&rec, 0, sizeof rec);
    os_stats_self(&rec.os);
    rec.seq = ++server->stats_seq;
    rec.t_us = clock_now_us();
    rec.conns = server->live_connections;
    if (xpr_loop_stats(server->loop, &st) == 0) {
        rec.accepted = st.accepted_connections;
        rec.refused = st.refused_connections;
    }
    snprintf(rec.listen, sizeof rec.listen, "%s", server->bound);
    if (stats_file_append(server->stats_file, &rec) != 0)
        fprintf(stderr, "xpr-echo server: cannot write the stats file\n");
}

static void on_stats_file(xpr_timer *timer, void *arg)
{
    (void)timer;
    write_stats_line(arg);
}

static void on_termination(void *arg)
{
    struct server *server = arg;

    xpr_loop_stop(server->loop);
}

int server_main(int argc, char **argv)
{
    const char *listen_address = ECHO_DEFAULT_ADDRESS, *backend = NULL;
    const char *read_mode = NULL, *stats_path = NULL;
    uint64_t max_conn = 0, idle_timeout = 0, first_data_timeout = 0;
    uint64_t stats_ms = 0, workers = 0, preposted_reads = 0;
    uint64_t stats_file_ms = 500;
    int verbose = 0, udp = 0;
    const struct arg_option options[] = {
        {"--listen", NULL, ARG_STRING, &listen_address, 0, 0, 0, "ADDR",
         "address to listen on (default " ECHO_DEFAULT_ADDRESS
         "; [::1]:0 picks a port)"},
        {"--backend", NULL, ARG_STRING, &backend, 0, 0, 0, "NAME",
         "xpr back end (default: XPR_BACKEND or the platform's)"},
        {"--workers", NULL, ARG_UINT, &workers, 0, 64, 0, "N",
         "threads running the loop (iocp; default 0 = one per CPU)"},
        {"--read-mode", NULL, ARG_STRING, &read_mode, 0, 0, 0, "MODE",
         "zero-byte or preposted reads (completion back ends; default "
         "zero-byte)"},
        {"--preposted-reads", NULL, ARG_UINT, &preposted_reads, 0, 1023, 0, "N",
         "buffers posted per connection with --read-mode preposted "
         "(default 0 = 2)"},
        {"--max-conn", NULL, ARG_UINT, &max_conn, 0, 4294967295.0, 0, "N",
         "refuse connections beyond N open (0 = unlimited)"},
        {"--idle-timeout", NULL, ARG_UINT, &idle_timeout, 0, 4294967295.0, 0,
         "MS", "close connections silent for MS milliseconds (0 = off)"},
        {"--first-data-timeout", NULL, ARG_UINT, &first_data_timeout, 0,
         4294967295.0, 0, "MS",
         "close new connections that send nothing within MS (0 = off)"},
        {"--stats", NULL, ARG_UINT, &stats_ms, 0, 4294967295.0, 0, "MS",
         "print the loop's counters to stderr every MS (0 = off)"},
        {"--stats-file", NULL, ARG_STRING, &stats_path, 0, 0, 0, "PATH",
         "append a line of the process's own memory, CPU time, threads, "
         "handles and connection count to PATH"},
        {"--stats-interval", NULL, ARG_UINT, &stats_file_ms, 10, 3600000, 0,
         "MS", "how often --stats-file gets a line (default 500)"},
        {"--verbose", "-v", ARG_FLAG, &verbose, 0, 0, 0, NULL,
         "log connects and closes to stderr"},
        {"--udp", NULL, ARG_FLAG, &udp, 0, 0, 0, NULL,
         "echo UDP datagrams on the address instead of TCP"},
    };
    const struct arg_command cmd = {
        "server", "Echoes every byte back; stops cleanly on SIGINT/SIGTERM.",
        options, sizeof options / sizeof options[0]};
    struct xpr_conn_callbacks callbacks = {on_open, on_data, on_drain, NULL,
                                           on_close};
    struct xpr_loop_config loop_cfg;
    struct xpr_listen_config listen_cfg;
    struct server server;
    xpr_listener *listener;
    struct echo_signals signals; /* freed with the loop */
    xpr_timer *stats_timer, *stats_file_timer;
    int rc;

    rc = args_parse(&cmd, argc, argv);
    if (rc != ARGS_OK)
        return rc;
    memset(&loop_cfg, 0, sizeof loop_cfg);
    loop_cfg.backend = backend;
    loop_cfg.workers = (unsigned)workers;
    loop_cfg.preposted_reads = (unsigned)preposted_reads;
    if (read_mode == NULL || strcmp(read_mode, "zero-byte") == 0) {
        loop_cfg.read_mode = read_mode ? XPR_READ_ZERO_BYTE : XPR_READ_DEFAULT;
    } else if (strcmp(read_mode, "preposted") == 0) {
        loop_cfg.read_mode = XPR_READ_PREPOSTED;
    } else {
        args_complain(cmd.name, "--read-mode %s: not zero-byte or preposted",
                      read_mode);
        return 2;
    }
    memset(&server, 0, sizeof server);
    server.server = &server;
    server.verbose = verbose;
    server.idle_timeout_ms = (uint32_t)idle_timeout;
    rc = echo_loop_new(cmd.name, &loop_cfg, &server.loop);
    if (rc != 0)
        return rc;

    memset(&listen_cfg, 0, sizeof listen_cfg);
    listen_cfg.max_connections = (unsigned)max_conn;
    listen_cfg.first_data_timeout_ms = (uint32_t)first_data_timeout;
    listen_cfg.nodelay = 1;
    if (udp)
        rc = udp_echo_serve(server.loop, listen_address, verbose, server.bound);
    else
        rc = xpr_listen(server.loop, listen_address, &listen_cfg, &callbacks,
                        &server, &listener);
    if (rc != 0) {
        args_complain(cmd.name, "listen on %s: %s", listen_address,
                      xpr_strerror(rc));
        xpr_loop_free(server.loop);
        return rc == XPR_EINVAL ? 2 : 1;
    }
    if (!udp &&
        xpr_listener_address(listener, server.bound, sizeof server.bound) != 0)
        snprintf(server.bound, sizeof server.bound, "%s", listen_address);

    if (signals_watch(&signals, server.loop, on_termination, &server) != 0) {
        args_complain(cmd.name, "cannot set up signal handling");
        xpr_loop_free(server.loop);
        return 1;
    }

    if (stats_ms > 0 &&
        (xpr_timer_new(server.loop, on_stats, &server, &stats_timer) != 0 ||
         xpr_timer_start(stats_timer, stats_ms, stats_ms) != 0)) {
        args_complain(cmd.name, "cannot start the stats timer");
        xpr_loop_free(server.loop);
        return 1;
    }

    if (stats_path != NULL) {
        server.stats_file = fopen(stats_path, "w");
        if (server.stats_file == NULL ||
            xpr_timer_new(server.loop, on_stats_file, &server,
                          &stats_file_timer) != 0 ||
            xpr_timer_start(stats_file_timer, stats_file_ms, stats_file_ms) !=
                0) {
            args_complain(cmd.name, "cannot write the stats file %s",
                          stats_path);
            if (server.stats_file != NULL)
                fclose(server.stats_file);
            xpr_loop_free(server.loop);
            return 1;
        }
        write_stats_line(&server);
    }

    printf("listening on %s (backend %s)\n", server.bound,
           xpr_loop_backend(server.loop));
    fflush(stdout);

    rc = xpr_loop_run(server.loop);
    if (rc != 0)
        args_complain(cmd.name, "loop: %s", xpr_strerror(rc));
    if (verbose)
        log_stats(&server);
    xpr_loop_free(server.loop);
    if (server.stats_file != NULL)
        fclose(server.stats_file);
    return rc == 0 ? 0 : 1;
}
