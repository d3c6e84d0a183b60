/*
 * xpr-echo over UDP (--udp): the server answers every datagram to its
 * sender; the bench keeps K numbered datagrams in flight per handle and
 * verifies every echoed byte. UDP may lose datagrams: the bench counts a
 * datagram not echoed within a second as lost and sends another; a
 * corrupted, misdirected or duplicated echo is an error.
 */
#ifndef ECHO_UDP_H
#define ECHO_UDP_H

#include <xpr.h>

#include "bench.h"

/* Binds address on loop and echoes from it; the bound address in bound.
 * 0 or the XPR_E* code of xpr_udp_new. The handle closes with the loop. */
int udp_echo_serve(xpr_loop *loop, const char *address, int verbose,
                   char bound[XPR_ADDRSTRLEN]);

/* Runs the UDP bench on loop with opt (connections = handles, size,
 * pipeline, duration, address), prints its summary line; returns the exit
 * status (1 on any error or no echo). */
int udp_bench_run(xpr_loop *loop, const struct bench_options *opt);

#endif
