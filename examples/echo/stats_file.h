/*
 * The server's stats file (xpr-echo server --stats-file): one line per
 * interval with the server's own OS figures and connection counts, appended
 * and flushed, so another process reads the last complete line. A line:
 *
 *   seq=3 t_us=1200345 cpu_us=5120 rss=2097152 private=1048576 threads=1
 *   handles=9 conns=0 accepted=0 refused=0 listen=127.0.0.1:40417
 *
 * (one line in the file). A figure the OS does not tell is "?".
 */
#ifndef ECHO_STATS_FILE_H
#define ECHO_STATS_FILE_H

#include <stdint.h>
#include <stdio.h>

#include <xpr.h>

#include "os_stats.h"

struct stats_record {
    uint64_t seq;  /* 1, 2, ... in the order written */
    uint64_t t_us; /* the server's monotonic clock (clock_now_us) */
    struct os_stats os;
    uint64_t conns;    /* connections open in the server */
    uint64_t accepted; /* the loop's accepted_connections */
    uint64_t refused;  /* the loop's refused_connections */
    char listen[XPR_ADDRSTRLEN];
};

/* Appends rec as one line to f and flushes it. 0 or -1. */
int stats_file_append(FILE *f, const struct stats_record *rec);

enum {
    STATS_FILE_OK = 0,
    STATS_FILE_EMPTY = 1,
    STATS_FILE_UNREADABLE = 2,
    STATS_FILE_MALFORMED = -1
};

/*
 * Reads the last complete line of the file at path into out. Returns
 * STATS_FILE_OK, STATS_FILE_EMPTY when the file is missing or holds no
 * complete line yet, STATS_FILE_UNREADABLE when it cannot be opened for
 * another reason (errno says which), or STATS_FILE_MALFORMED when the last line
 * is not a stats line.
 */
int stats_file_latest(const char *path, struct stats_record *out);

#endif
