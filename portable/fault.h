/*
 * The fault-injection seam. Built only with -Dfault_injection=true, which
 * defines XPR_FAULT_INJECTION; otherwise every check below is the constant
 * "no fault" and compiles away.
 *
 * Each call the library makes to the OS that can fail on a loaded machine
 * asks xpr__fault(site) first and, when told to, fails the way the OS
 * would (the call site picks the error: EMFILE from socket(), ENOBUFS from
 * send(), a failed wait without a packet...). recv and send may also be
 * made short: xpr__fault_short() lowers the length asked for.
 *
 * The environment drives it for whole programs (the suite, xpr-echo):
 *   XPR_FAULT_RATE    probability that a call of a chosen site fails (0..1)
 *   XPR_FAULT_SITES   comma-separated site names (below), or "all"
 *   XPR_FAULT_SHORT   probability that a recv or send is made short (0..1)
 *   XPR_FAULT_SEED    seed of the generator (default 1): runs repeat
 *   XPR_FAULT_REPORT  non-empty: per-site counts on stderr at exit
 * Tests drive it directly with xpr__fault_configure and xpr__fault_arm.
 */
#ifndef XPR_FAULT_H
#define XPR_FAULT_H

#include <stddef.h>
#include <stdint.h>

enum xpr__fault_site {
    XPR__FAULT_SOCKET,  /* socket, WSASocket */
    XPR__FAULT_BIND,    /* bind */
    XPR__FAULT_LISTEN,  /* listen */
    XPR__FAULT_ACCEPT,  /* accept, AcceptEx */
    XPR__FAULT_CONNECT, /* connect, ConnectEx */
    XPR__FAULT_RECV,    /* recv, WSARecv */
    XPR__FAULT_SEND,    /* send, sendmsg, WSASend */
    XPR__FAULT_SOCKOPT, /* setsockopt, fcntl, ioctlsocket */
    XPR__FAULT_ALLOC,   /* the library's own allocations, thread stacks */
    XPR__FAULT_WAIT,    /* poll, select, event_base_loop, WSAWait..., GQCSEx */
    XPR__FAULT_WATCH,   /* registering interest: event_add,
                           bufferevent_enable, WSAEventSelect,
                           WSAAsyncSelect, port association */
    XPR__FAULT_SITES
};

#ifdef XPR_FAULT_INJECTION

/* Non-zero: fail this call. Counts the call and the fault. Any thread. */
int xpr__fault(enum xpr__fault_site site);
/* len, or a length in [1, len) when a short transfer is drawn. */
size_t xpr__fault_short(enum xpr__fault_site site, size_t len);

/* Replaces the environment's settings: rate and short_rate are
 * probabilities, sites a bit set (1u << site; 0 = none). Resets counts and
 * armed faults. */
void xpr__fault_configure(double rate, unsigned sites, double short_rate,
                          uint64_t seed);
/* Deterministic faults: after `skip` more calls of site pass, the next
 * `count` fail, whatever the rate says. */
void xpr__fault_arm(enum xpr__fault_site site, unsigned skip, unsigned count);
/* Calls seen and faults injected at site since the last configure. */
uint64_t xpr__fault_calls(enum xpr__fault_site site);
uint64_t xpr__fault_injected(enum xpr__fault_site site);
/* The site's name as XPR_FAULT_SITES spells it. */
const char *xpr__fault_site_name(enum xpr__fault_site site);

#else

#define xpr__fault(site) 0
#define xpr__fault_short(site, len) (len)

#endif

#endif
