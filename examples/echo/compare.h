/*
 * xpr-echo compare: the settings of a run and what it measured per back
 * end, shared by the command (compare.c), the run of one back end
 * (compare_run.c) and the report (compare_report.c).
 */
#ifndef ECHO_COMPARE_H
#define ECHO_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "stats_file.h"

#define COMPARE_NAME_MAX 48

struct compare_settings {
    uint64_t target;     /* connections the ramp aims for */
    uint64_t batch;      /* connects started at once */
    uint64_t active;     /* active connections of the load phase */
    uint64_t size;       /* bytes per message */
    double duration;     /* seconds of the load phase */
    double ramp_limit;   /* seconds the ramp may take */
    double settle_limit; /* seconds to wait for the server to catch up */
    const char *client_backend;
    const char *out_dir;
    const char *label; /* platform named in the report's title */
    int quick;
};

struct compare_row {
    char backend[COMPARE_NAME_MAX];
    int started;      /* the server came up */
    char error[200];  /* empty when the back end ran without error */
    char note[200];   /* a remark that is no error: a server behind */
    char stopped[64]; /* why the ramp ended: "target", "ECONNREFUSED", ... */
    uint64_t attempted, held, failed, dropped;
    struct stats_record idle;   /* the server before the ramp */
    struct stats_record loaded; /* with the held connections open */
    struct stats_record before; /* just before the load phase */
    struct stats_record after;  /* just after it */
    struct bench_result load;
    double cpu_percent; /* server CPU over the load phase, % of one CPU */
    uint64_t threads, handles; /* the most seen in the run */
};

/* Measures one back end into row (row->backend set; the rest zero): starts
 * server_bin as its server, ramps, loads, stops the server. */
void compare_run_backend(const struct compare_settings *s,
                         const char *server_bin, int keep_logs,
                         struct compare_row *row);

/* A row's back end: "NAME", or "NAME:METHOD" for libevent's back ends on
 * POSIX with one of libevent's methods (poll, select: libevent's
 * EVENT_NOEPOLL / EVENT_NOPOLL in the server's environment). Returns the
 * back end's name in a static buffer; *method (if not NULL) gets the
 * method or NULL. */
const char *compare_backend_name(const char *row_backend, const char **method);

/* Memory per held connection from two figures, in bytes; NaN unknown. */
double compare_per_conn(const struct compare_row *row, uint64_t before,
                        uint64_t loaded);

/* Writes DIR/compare.md, DIR/throughput-cpu.svg and DIR/memory.svg, and the
 * table to stdout. 0, or -1 if a file could not be written. */
int compare_report(const struct compare_settings *s,
                   const struct compare_row *rows, size_t count);

#endif
