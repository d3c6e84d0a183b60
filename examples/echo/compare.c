/*
 * xpr-echo compare: the classic comparison of the I/O models (Jones and
 * Ohlund, "Scalable Winsock Applications"). For every back end of the build
 * (or those of --backends) it starts one `xpr-echo server` process, then
 *
 *  1. ramps idle connections up to a target in batches, until the target,
 *     a refusal or failure, or a time limit: attempted vs held (held: open on
 *     both sides once the server has caught up);
 *  2. drives a fixed load with the bench's code (N active ping-pong
 *     connections) while the held connections stay open: msgs/s, MB/s,
 *     p50/p99, and the server's CPU share over the phase.
 *
 * The server reports its own memory, threads and handles through the OS
 * (--stats-file), so the figures mean the same on every platform. The client
 * is this process on one fixed back end, so only the server changes between
 * rows. Progress goes to stderr; the table to stdout and, with the charts,
 * to the output directory.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "compare.h"
#include "echo.h"
#include "files.h"
#include "os_stats.h"
#include "process.h"

#define MAX_BACKENDS 32

#ifdef _WIN32
#define PLATFORM_NAME "windows"
#elif defined(__linux__)
#define PLATFORM_NAME "linux"
#else
#define PLATFORM_NAME "posix"
#endif

/* --backends a,b,c into rows; every name must be in this build. */
static int parse_backends(const char *list, struct compare_row *rows,
                          size_t *count)
{
    const char *p = list;

    *count = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        struct compare_row *row = &rows[*count];

        if (len == 0 || len >= sizeof row->backend || *count == MAX_BACKENDS) {
            args_complain("compare", "--backends: bad list '%s'", list);
            return -1;
        }
        memcpy(row->backend, p, len);
        row->backend[len] = '\0';
        if (xpr_backend_supported(compare_backend_name(row->backend, NULL)) !=
            0) {
            args_complain("compare", "--backends: %s is not in this build",
                          row->backend);
            return -1;
        }
        (*count)++;
        p += len;
        if (*p == ',')
            p++;
    }
    return *count > 0 ? 0 : -1;
}

static void all_backends(struct compare_row *rows, size_t *count)
{
    size_t i;

    *count = 0;
    for (i = 0; i < xpr_backend_count() && *count < MAX_BACKENDS; i++) {
        const char *name = xpr_backend_name_at(i);
        snprintf(rows[(*count)++].backend, sizeof rows[0].backend, "%s", name);
#ifndef _WIN32
        /* The libevent poller once per method libevent has here. */
        if (strcmp(name, "libevent") == 0 && *count + 2 <= MAX_BACKENDS) {
            snprintf(rows[(*count)++].backend, sizeof rows[0].backend,
                     "libevent:poll");
            snprintf(rows[(*count)++].backend, sizeof rows[0].backend,
                     "libevent:select");
        }
#endif
    }
}

int compare_main(int argc, char **argv)
{
    static struct compare_row rows[MAX_BACKENDS];
    static char self_path[1024], default_out[64];
    struct compare_settings s;
    const char *backends = NULL, *server_bin = NULL;
    uint64_t target = 0, batch = 0, active = 10, size = 64;
    double duration = 0, ramp_limit = 0, settle_limit = 0;
    int quick = 0, keep_logs = 0, failures = 0;
    size_t count, i;
    const struct arg_option options[] = {
        {"--backends", NULL, ARG_STRING, &backends, 0, 0, 0, "A,B,...",
         "server back ends to compare (default: every one in this build)"},
        {"--connections", NULL, ARG_UINT, &target, 1, 1000000, 0, "N",
         "connections the ramp aims for (default 10000; --quick 200)"},
        {"--batch", NULL, ARG_UINT, &batch, 1, 100000, 0, "N",
         "connects started at once (default 500; --quick 50)"},
        {"--ramp-limit", NULL, ARG_REAL, &ramp_limit, 0.1, 86400, 0, "S",
         "seconds the ramp may take (default 120; --quick 30)"},
        {"--settle", NULL, ARG_REAL, &settle_limit, 0.1, 3600, 0, "S",
         "after the ramp, wait for the server to hold what the client holds "
         "while its count rises within S (default 10)"},
        {"--active", NULL, ARG_UINT, &active, 1, 10000, 0, "N",
         "active connections of the load phase (default 10)"},
        {"--size", NULL, ARG_UINT, &size, 1, 1048576, 0, "BYTES",
         "bytes per message (default 64)"},
        {"--duration", NULL, ARG_REAL, &duration, 0.1, 86400, 0, "S",
         "seconds of the load phase (default 5; --quick 1)"},
        {"--client-backend", NULL, ARG_STRING, &s.client_backend, 0, 0, 0,
         "NAME",
         "back end of this process, the client (default: the "
         "platform's)"},
        {"--out", NULL, ARG_STRING, &s.out_dir, 0, 0, 0, "DIR",
         "where compare.md and the charts go (default "
         "docs/compare/" PLATFORM_NAME ")"},
        {"--label", NULL, ARG_STRING, &s.label, 0, 0, 0, "TEXT",
         "platform named in the report (default " PLATFORM_NAME ")"},
        {"--server-bin", NULL, ARG_STRING, &server_bin, 0, 0, 0, "PATH",
         "xpr-echo to start as the server (default: this program)"},
        {"--keep-logs", NULL, ARG_FLAG, &keep_logs, 0, 0, 0, NULL,
         "keep each server's log and stats file in DIR"},
        {"--quick", NULL, ARG_FLAG, &quick, 0, 0, 0, NULL,
         "a short run for CI: 200 connections, 1 s of load"},
    };
    const struct arg_command cmd = {
        "compare",
        "The classic comparison: one server process per back end, ramped to\n"
        "N idle connections (attempted vs held), then a fixed load beside\n"
        "them: msgs/s, MB/s, p50/p99, and the server's CPU, memory, threads\n"
        "and handles as it reports them. Writes a Markdown table and SVG\n"
        "charts; exits 1 when a server fails, its stats are malformed or the\n"
        "load sees an error while the server is not behind on its accepts.",
        options, sizeof options / sizeof options[0]};
    int rc;

    memset(&s, 0, sizeof s);
    rc = args_parse(&cmd, argc, argv);
    if (rc != ARGS_OK)
        return rc;
    s.quick = quick;
    s.target = target ? target : quick ? 200 : 10000;
    s.batch = batch ? batch : quick ? 50 : 500;
    s.ramp_limit = ramp_limit > 0 ? ramp_limit : quick ? 30 : 120;
    s.settle_limit = settle_limit > 0 ? settle_limit : 10;
    s.duration = duration > 0 ? duration : quick ? 1 : 5;
    s.active = active;
    s.size = size;
    if (s.client_backend == NULL)
        s.client_backend = xpr_backend_default();
    if (xpr_backend_supported(s.client_backend) != 0) {
        args_complain(cmd.name, "--client-backend %s: not in this build",
                      s.client_backend);
        return 2;
    }
    if (s.label == NULL)
        s.label = PLATFORM_NAME;
    if (s.out_dir == NULL) {
        snprintf(default_out, sizeof default_out, "docs/compare/%s",
                 PLATFORM_NAME);
        s.out_dir = default_out;
    }
    if (backends != NULL) {
        if (parse_backends(backends, rows, &count) != 0)
            return 2;
    } else {
        all_backends(rows, &count);
    }
    if (server_bin == NULL) {
        if (process_self_path(self_path, sizeof self_path) != 0) {
            args_complain(cmd.name, "cannot tell this program's path; "
                                    "give --server-bin");
            return 2;
        }
        server_bin = self_path;
    }
    if (files_make_dirs(s.out_dir) != 0) {
        args_complain(cmd.name, "cannot create %s", s.out_dir);
        return 1;
    }
    {
        uint64_t limit = os_raise_descriptor_limit();

        if (limit != 0 && limit < s.target + s.active + 64)
            fprintf(stderr,
                    "compare: the descriptor limit (%" PRIu64
                    ") is below the target: the client's own limit may end "
                    "the ramp\n",
                    limit);
    }
    for (i = 0; i < count; i++) {
        fprintf(stderr, "compare: [%zu/%zu] %s\n", i + 1, count,
                rows[i].backend);
        compare_run_backend(&s, server_bin, keep_logs, &rows[i]);
        if (rows[i].error[0] != '\0')
            failures++;
    }
    if (compare_report(&s, rows, count) != 0) {
        args_complain(cmd.name, "cannot write the report to %s", s.out_dir);
        return 1;
    }
    if (failures > 0)
        fprintf(stderr, "compare: %d of %zu back ends failed\n", failures,
                count);
    return failures > 0 ? 1 : 0;
}
