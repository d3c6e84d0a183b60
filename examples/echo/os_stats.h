/*
 * What the OS says about the running process: memory, CPU time, threads and
 * handles. The server reports these about itself (xpr-echo server
 * --stats-file), so the figures mean the same whoever reads them.
 */
#ifndef ECHO_OS_STATS_H
#define ECHO_OS_STATS_H

#include <stdint.h>

/* A field the platform cannot tell is OS_STATS_UNKNOWN. */
#define OS_STATS_UNKNOWN UINT64_MAX

struct os_stats {
    uint64_t cpu_us;        /* user + system time of the whole process */
    uint64_t rss_bytes;     /* resident set (VmRSS; the working set) */
    uint64_t private_bytes; /* private memory (RssAnon; PrivateUsage) */
    uint64_t threads;
    uint64_t handles; /* open descriptors; handles on Windows */
};

/* Fills s with the calling process's figures. 0, or -1 when none could be
 * read (the fields that could not be read are OS_STATS_UNKNOWN). */
int os_stats_self(struct os_stats *s);

/* Raises the soft descriptor limit to the hard one where there is such a
 * limit (POSIX); a no-op elsewhere. Returns the limit now in force, or 0 when
 * there is none to tell. */
uint64_t os_raise_descriptor_limit(void);

#endif
