/* Writing and reading the lines of xpr-echo server --stats-file. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stats_file.h"

#define MAX_FILE_BYTES (64u * 1024u * 1024u)

static void put_figure(FILE *f, const char *name, uint64_t v)
{
    if (v == OS_STATS_UNKNOWN)
        fprintf(f, " %s=?", name);
    else
        fprintf(f, " %s=%" PRIu64, name, v);
}

int stats_file_append(FILE *f, const struct stats_record *rec)
{
    fprintf(f, "seq=%" PRIu64 " t_us=%" PRIu64, rec->seq, rec->t_us);
    put_figure(f, "cpu_us", rec->os.cpu_us);
    put_figure(f, "rss", rec->os.rss_bytes);
    put_figure(f, "private", rec->os.private_bytes);
    put_figure(f, "threads", rec->os.threads);
    put_figure(f, "handles", rec->os.handles);
    fprintf(f,
            " conns=%" PRIu64 " accepted=%" PRIu64 " refused=%" PRIu64
            " listen=%s\n",
            rec->conns, rec->accepted, rec->refused, rec->listen);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* "123" or "?" (OS_STATS_UNKNOWN). 0 or -1. */
static int parse_figure(const char *text, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 1 && text[0] == '?') {
        *out = OS_STATS_UNKNOWN;
        return 0;
    }
    if (len == 0 || len > 19)
        return -1;
    for (i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10u + (uint64_t)(text[i] - '0');
    }
    *out = v;
    return 0;
}

#define FIGURE_COUNT 10u
#define LISTEN_BIT (1u << FIGURE_COUNT)
#define ALL_FIELDS ((1u << (FIGURE_COUNT + 1)) - 1u)

/* The figure called name[0..len) and its index, or NULL. */
static uint64_t *figure_field(struct stats_record *r, const char *name,
                              size_t len, unsigned *index)
{
    static const char *const names[] = {
        "seq",     "t_us",    "cpu_us", "rss",      "private",
        "threads", "handles", "conns",  "accepted", "refused"};
    uint64_t *const fields[] = {&r->seq,
                                &r->t_us,
                                &r->os.cpu_us,
                                &r->os.rss_bytes,
                                &r->os.private_bytes,
                                &r->os.threads,
                                &r->os.handles,
                                &r->conns,
                                &r->accepted,
                                &r->refused};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) {
            *index = (unsigned)i;
            return fields[i];
        }
    return NULL;
}

/* Parses line[0..len) (no newline). 0, or -1 unless every field is there. */
static int parse_line(const char *line, size_t len, struct stats_record *out)
{
    unsigned seen = 0;
    size_t pos = 0;

    memset(out, 0, sizeof *out);
    while (pos < len) {
        size_t start, eq, end;
        uint64_t *field;
        unsigned index = 0;

        while (pos < len && (line[pos] == ' ' || line[pos] == '\r'))
            pos++;
        if (pos == len)
            break;
        start = pos;
        while (pos < len && line[pos] != ' ' && line[pos] != '\r')
            pos++;
        end = pos;
        for (eq = start; eq < end && line[eq] != '='; eq++)
            ;
        if (eq == end)
            return -1;
        if (eq - start == 6 && strncmp(line + start, "listen", 6) == 0) {
            size_t n = end - eq - 1;

            if (n == 0 || n >= sizeof out->listen)
                return -1;
            memcpy(out->listen, line + eq + 1, n);
            out->listen[n] = '\0';
            seen |= LISTEN_BIT;
            continue;
        }
        field = figure_field(out, line + start, eq - start, &index);
        if (field == NULL || parse_figure(line + eq + 1, end - eq - 1, field))
            return -1;
        seen |= 1u << index;
    }
    return seen == ALL_FIELDS && out->seq > 0 ? 0 : -1;
}

int stats_file_latest(const char *path, struct stats_record *out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    size_t n, end, start;
    int rc;

    if (f == NULL)
        return errno == ENOENT ? STATS_FILE_EMPTY : STATS_FILE_UNREADABLE;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        (unsigned long)size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return STATS_FILE_MALFORMED;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        fclose(f);
        return STATS_FILE_MALFORMED;
    }
    n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    end = n;
    while (end > 0 && buf[end - 1] != '\n')
        end--; /* a line still being written */
    if (end == 0) {
        free(buf);
        return STATS_FILE_EMPTY;
    }
    end--; /* the newline */
    start = end;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    rc = parse_line(buf + start, end - start, out) == 0 ? STATS_FILE_OK
                                                        : STATS_FILE_MALFORMED;
    free(buf);
    return rc;
}
