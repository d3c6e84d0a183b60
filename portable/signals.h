/* Signal watchers between the portable core (portable/signals.c) and the
 * platform (posix/signals.c, win32/signals.c). */
#ifndef XPR_SIGNALS_H
#define XPR_SIGNALS_H

#include "xpr.h"

/* The platform. start runs before the first watcher of any signal, stop
 * after the last one is gone; watch and unwatch around the first and last
 * watcher of one signum. Calls are serialised by the core and never made
 * while a thread may be inside xpr__signal_raised waiting for them. start
 * and watch return 0 or an XPR_E* code. */
int xpr__signal_platform_start(void);
void xpr__signal_platform_stop(void);
int xpr__signal_platform_watch(int signum);
void xpr__signal_platform_unwatch(int signum);

/* The platform heard signum, on a thread of its own (never inside an OS
 * signal handler): posts it to every watcher. Returns whether one heard
 * it. */
int xpr__signal_raised(int signum);

/* xpr_loop_free: the loop's watchers stop; their queued posts run (and
 * free them) with the loop's other posts. */
void xpr__signals_loop_free(xpr_loop *loop);

#endif
