/*
 * The load generator of xpr-echo bench, on a loop the caller owns: N active
 * connections each keep K messages in flight for a duration, M idle ones
 * connect and stay silent; every echoed byte is verified. xpr-echo compare
 * runs it on the loop that also holds its own idle connections.
 */
#ifndef ECHO_BENCH_H
#define ECHO_BENCH_H

#include <stdint.h>

#include <xpr.h>

struct bench_options {
    const char *address;
    const char *backend; /* xpr-echo bench only: its loop's back end */
    uint64_t connections, idle, size, pipeline;
    double duration; /* seconds */
};

struct bench_result {
    int measured;   /* every connection opened and the run was timed */
    double seconds; /* the measured window */
    uint64_t msgs, bytes;
    uint64_t p50_us, p99_us;
    uint64_t errors, mismatches;
};

struct bench;

/* NULL when out of memory. opt is copied (its strings are not). */
struct bench *bench_new(xpr_loop *loop, const struct bench_options *opt);

/*
 * Connects, runs for the duration, drains and closes every connection of the
 * bench, running the loop (other users of the loop go on meanwhile). Returns
 * 0, or 1 when the run could not take place (out of memory, a loop error).
 * After a return of 1 some connections may still be open: free the loop
 * before bench_free.
 */
int bench_run(struct bench *b);

void bench_get_result(const struct bench *b, struct bench_result *out);

void bench_free(struct bench *b);

#endif
