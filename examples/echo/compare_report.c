/*
 * The report of xpr-echo compare: a Markdown table in the classic layout
 * (per I/O model: connections attempted and held, memory, threads, handles,
 * CPU, throughput) to stdout and DIR/compare.md, and two SVG charts:
 * throughput and CPU per back end, memory per idle connection.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"
#include "svg.h"

#define PATH_MAX_LEN 1024

double compare_per_conn(const struct compare_row *row, uint64_t before,
                        uint64_t loaded)
{
    if (row->held == 0 || row->loaded.seq == 0 || before == OS_STATS_UNKNOWN ||
        loaded == OS_STATS_UNKNOWN)
        return NAN;
    return ((double)loaded - (double)before) / (double)row->held;
}

static double msgs_per_s(const struct compare_row *row)
{
    return row->load.measured && row->load.seconds > 0
               ? (double)row->load.msgs / row->load.seconds
               : NAN;
}

static void put_kib(FILE *f, uint64_t bytes)
{
    if (bytes == OS_STATS_UNKNOWN)
        fputs("?", f);
    else
        fprintf(f, "%" PRIu64, bytes / 1024u);
}

static void put_count(FILE *f, uint64_t n)
{
    if (n == OS_STATS_UNKNOWN)
        fputs("?", f);
    else
        fprintf(f, "%" PRIu64, n);
}

static void put_real(FILE *f, double v, int decimals, const char *suffix)
{
    if (isnan(v))
        fputs("?", f);
    else
        fprintf(f, "%.*f%s", decimals, v, suffix);
}

/* Text for a table cell: '|' and newlines would break the row. */
static void put_cell_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++)
        fputc(*s == '|' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void put_row(FILE *f, const struct compare_row *r)
{
    fprintf(f, "| %s | ", r->backend);
    if (!r->started) {
        fputs("| | | | | | | | | | | ", f);
        put_cell_text(f, r->error);
        fputs(" |\n", f);
        return;
    }
    fprintf(f, "%" PRIu64 " | %" PRIu64 " | %s | ", r->attempted, r->held,
            r->stopped[0] ? r->stopped : "?");
    put_kib(f, r->loaded.seq > 0 ? r->loaded.os.rss_bytes : OS_STATS_UNKNOWN);
    fputs(" / ", f);
    put_kib(f,
            r->loaded.seq > 0 ? r->loaded.os.private_bytes : OS_STATS_UNKNOWN);
    fputs(" | ", f);
    put_real(f,
             compare_per_conn(r, r->idle.os.rss_bytes, r->loaded.os.rss_bytes),
             0, "");
    fputs(" / ", f);
    put_real(f,
             compare_per_conn(r, r->idle.os.private_bytes,
                              r->loaded.os.private_bytes),
             0, "");
    fputs(" | ", f);
    put_count(f, r->threads);
    fputs(" | ", f);
    put_count(f, r->handles);
    fputs(" | ", f);
    put_real(f, r->cpu_percent >= 0 ? r->cpu_percent : NAN, 0, "%");
    fputs(" | ", f);
    put_real(f, msgs_per_s(r), 0, "");
    fputs(" | ", f);
    put_real(f,
             r->load.seconds > 0 ? (double)r->load.bytes / r->load.seconds / 1e6
                                 : NAN,
             2, "");
    if (r->load.measured)
        fprintf(f, " | %" PRIu64 " / %" PRIu64 " | ", r->load.p50_us,
                r->load.p99_us);
    else
        fputs(" | ? / ? | ", f);
    if (r->error[0] != '\0')
        put_cell_text(f, r->error);
    else if (r->note[0] != '\0')
        put_cell_text(f, r->note);
    else
        fprintf(f, "ok (%" PRIu64 " dropped)", r->dropped);
    fputs(" |\n", f);
}

static void put_table(FILE *f, const struct compare_settings *s,
                      const struct compare_row *rows, size_t count)
{
    size_t i;

    fprintf(f, "### xpr-echo compare: %s\n\n", s->label);
    fprintf(f,
            "`xpr-echo compare%s`: one server process per back end; the "
            "client is one xpr-echo process on the `%s` back end. Ramp: "
            "idle connections in batches of %" PRIu64 " up to %" PRIu64
            " (or a refusal, or %.0f s). Load: %" PRIu64
            " active connections x %" PRIu64
            " B ping-pong for %.1f s with the held connections open.\n\n",
            s->quick ? " --quick" : "", s->client_backend, s->batch, s->target,
            s->ramp_limit, s->active, s->size, s->duration);
    fputs("| back end | attempted | held | ramp ended by | server memory held "
          "(KiB, RSS / private) | per idle conn (B, RSS / private) | threads "
          "| handles | server CPU | msgs/s | MB/s | p50 / p99 µs | result |\n",
          f);
    fputs("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
          f);
    for (i = 0; i < count; i++)
        put_row(f, &rows[i]);
    fputs("\nheld: open on both sides once the server caught up; memory with "
          "them open, as the server reports itself (--stats-file); per idle "
          "conn: (memory held - memory before the ramp) / held; threads and "
          "handles: the most the server reported; server CPU: its CPU time "
          "over the load phase, % of one CPU.\n",
          f);
}

static int write_charts(const struct compare_settings *s,
                        const struct compare_row *rows, size_t count)
{
    const char *labels[64];
    double rate[64], cpu[64], rss[64], priv[64];
    char path[PATH_MAX_LEN], title[256], rate_title[128];
    struct svg_panel load[2], memory[2];
    size_t i, n = count < 64 ? count : 64;

    for (i = 0; i < n; i++) {
        const struct compare_row *r = &rows[i];

        labels[i] = r->backend;
        rate[i] = msgs_per_s(r);
        cpu[i] = r->cpu_percent;
        rss[i] =
            compare_per_conn(r, r->idle.os.rss_bytes, r->loaded.os.rss_bytes);
        priv[i] = compare_per_conn(r, r->idle.os.private_bytes,
                                   r->loaded.os.private_bytes);
    }
    snprintf(rate_title, sizeof rate_title,
             "msgs/s (%" PRIu64 " active x %" PRIu64
             " B, held connections open)",
             s->active, s->size);
    load[0].title = rate_title;
    load[0].values = rate;
    load[0].decimals = 0;
    load[1].title = "server CPU during the load (% of one CPU)";
    load[1].values = cpu;
    load[1].decimals = 0;
    memory[0].title = "RSS / working set per idle connection (bytes)";
    memory[0].values = rss;
    memory[0].decimals = 0;
    memory[1].title = "private bytes per idle connection (bytes)";
    memory[1].values = priv;
    memory[1].decimals = 0;
    for (i = 0; i < 2; i++) {
        load[i].labels = memory[i].labels = labels;
        load[i].count = memory[i].count = n;
    }
    snprintf(title, sizeof title, "xpr-echo compare, %s: throughput and CPU",
             s->label);
    snprintf(path, sizeof path, "%s/throughput-cpu.svg", s->out_dir);
    if (svg_write(path, title, load, 2) != 0)
        return -1;
    snprintf(title, sizeof title,
             "xpr-echo compare, %s: memory per idle connection", s->label);
    snprintf(path, sizeof path, "%s/memory.svg", s->out_dir);
    return svg_write(path, title, memory, 2);
}

int compare_report(const struct compare_settings *s,
                   const struct compare_row *rows, size_t count)
{
    char path[PATH_MAX_LEN];
    FILE *f;
    int rc;

    put_table(stdout, s, rows, count);
    fflush(stdout);
    snprintf(path, sizeof path, "%s/compare.md", s->out_dir);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    put_table(f, s, rows, count);
    rc = fclose(f) == 0 ? 0 : -1;
    if (write_charts(s, rows, count) != 0)
        rc = -1;
    return rc;
}
