/*
 * An echo server on the test's loop: every byte received is written back.
 * It pauses reading while more than high_water bytes wait to be sent and
 * resumes on drain, so a client that stops reading cannot grow its memory.
 * Without on_eof it uses the default: flush, then close.
 */
#ifndef XPR_TESTS_ECHO_SERVER_H
#define XPR_TESTS_ECHO_SERVER_H

#include <stdint.h>

#include "xpr.h"

struct echo_server {
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    size_t high_water; /* pause reading above this many queued bytes */
    unsigned opened;   /* on_open calls */
    unsigned closed;   /* on_close calls */
    unsigned closed_with_error;
    int last_error;  /* err of the last on_close with err != 0 */
    unsigned pauses; /* times reading was paused for backpressure */
    uint64_t echoed_bytes;
};

/* Listens on 127.0.0.1:0 (asserts success). cfg may be NULL. */
void echo_server_start(struct echo_server *server, xpr_loop *loop,
                       const struct xpr_listen_config *cfg);
/* Closes the listener; accepted connections go on. */
void echo_server_stop_listening(struct echo_server *server);

#endif
