/*
 * Clients of the echo server: each sends `total` bytes of its own pattern
 * stream (queued before it is even connected), checks that exactly those
 * bytes come back, then closes. When every client has closed, the run's
 * on_all_closed hook runs (default: stop listening, stop the loop once
 * nothing is left).
 */
#ifndef XPR_TESTS_ECHO_CLIENTS_H
#define XPR_TESTS_ECHO_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "echo_server.h"
#include "xpr.h"

struct echo_run;

struct echo_client {
    struct echo_run *run;
    xpr_conn *conn;
    uint32_t seed;
    size_t total;
    size_t received;
    unsigned opens;
    unsigned closes;
    int close_err;
};

struct echo_run {
    xpr_loop *loop;
    struct echo_server server;
    struct echo_client *clients;
    unsigned client_count;
    unsigned clients_opened;
    unsigned clients_echoed; /* got all their bytes back */
    unsigned clients_closed;
    int hold_close; /* echoed clients wait for echo_clients_close_echoed */
    void (*on_all_closed)(struct echo_run *run); /* NULL = default */
};

/* Connects count clients to run->server; size_of(i) is client i's total. */
void echo_clients_start(struct echo_run *run, unsigned count,
                        size_t (*size_of)(unsigned index));
/* Closes the clients that got everything back and ends hold_close. */
void echo_clients_close_echoed(struct echo_run *run);
/* Each client opened and closed once with err 0 and got all its bytes;
 * the server opened and closed as many conns, without errors. */
void echo_clients_assert_all_echoed(const struct echo_run *run);
void echo_clients_free(struct echo_run *run);

#endif
