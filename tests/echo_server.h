/*
 * An echo server on the test's loop: every byte received is written back.
 * It pauses reading while more than high_water bytes wait to be sent and
 * resumes on drain, so a client that stops reading cannot grow its memory.
 * Without on_eof it uses the default: flush, then close. It counts what a
 * test of a misbehaving peer asserts on: the most connections open at once,
 * the longest write queue of one connection, and each on_close (exactly
 * once per connection: a second one fails the test).
 */
#ifndef XPR_TESTS_ECHO_SERVER_H
#define XPR_TESTS_ECHO_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "xpr.h"

struct echo_server {
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    size_t high_water;        /* pause reading above this many queued bytes */
    uint32_t idle_timeout_ms; /* set on each accepted conn; 0 = none */
    unsigned opened;          /* on_open calls */
    unsigned closed;          /* on_close calls */
    unsigned closed_with_error;
    int last_error;  /* err of the last on_close with err != 0 */
    unsigned pauses; /* times reading was paused for backpressure */
    uint64_t echoed_bytes;
    unsigned write_errors; /* writes that failed at once (peer reset) */
    unsigned max_live;     /* most conns open at once (opened - closed) */
    size_t max_queued;     /* longest write queue of one conn after a write */
    /* Called from each on_close after the counts, NULL for none. */
    void (*on_close_hook)(struct echo_server *server, xpr_conn *conn, int err);
    void *user; /* for the hook */
};

/* Listens on 127.0.0.1:0 (asserts success). cfg may be NULL. */
void echo_server_start(struct echo_server *server, xpr_loop *loop,
                       const struct xpr_listen_config *cfg);
/* Closes the listener; accepted connections go on. */
void echo_server_stop_listening(struct echo_server *server);

#endif
