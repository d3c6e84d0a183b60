/* The loop's resolver pool (portable/resolve.c). */
#ifndef XPR_RESOLVE_H
#define XPR_RESOLVE_H

#include <stddef.h>

#include "address.h"
#include "xpr.h"

struct xpr__resolver;

/* xpr_loop_free: queued lookups are cancelled, running ones waited for;
 * their callbacks run (XPR_ECANCELED) here or with the loop's posts. */
void xpr__resolver_free(xpr_loop *loop);
/* The requester no longer wants the answer: its callback will not run
 * (the request is freed when the lookup ends). Loop thread. */
void xpr__resolve_abandon(xpr_resolve *req);
/* 0 when text is host:port as xpr_resolve_start takes it, else
 * XPR_EINVAL; touches nothing. */
int xpr__resolve_check(const char *host_port);
/* Looks host_port up on the calling thread (getaddrinfo blocks): 0 with
 * count >= 1 addresses in the system's order (the caller frees *addrs),
 * or the error of xpr_resolve_cb. */
int xpr__resolve_now(const char *host_port, struct xpr__addr **addrs,
                     size_t *count);

#endif
