/* Watchers of application sockets on the readiness engine
 * (portable/stream_watch.c, used by portable/stream.c). */
#ifndef XPR_STREAM_WATCH_H
#define XPR_STREAM_WATCH_H

#include "backend.h"
#include "poller.h"

struct xpr__stream_watch {
    struct xpr_watch base; /* first: the core sees an xpr_watch */
    struct xpr__io io;
    struct xpr__stream_watch *next_released;
};

/* The engine's part for watchers: the first member of its loop state
 * (loop->backend), so that a release finds it. */
struct xpr__stream_watches {
    struct xpr__stream_watch *released; /* freed once the round ends */
    struct xpr__fired_list probed;      /* what the last probe found */
    unsigned char probe_soon; /* it found some: the next wait does not block */
};

int xpr__stream_watch_set(xpr_watch *w, unsigned events);
void xpr__stream_watch_release(xpr_watch *w);
/* The wait's timeout, given the one the core asked for. */
int xpr__stream_watches_timeout(const struct xpr__stream_watches *all,
                                int timeout_ms);
/* After the poller's dispatch: probes the watchers where the poller asks
 * for it and runs what holds, then frees the released watchers. */
void xpr__stream_watches_round(xpr_loop *loop, struct xpr__stream_watches *all);
void xpr__stream_watches_free(struct xpr__stream_watches *all);

#endif
