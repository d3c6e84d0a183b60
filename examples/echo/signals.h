/*
 * Termination requests (SIGINT and SIGTERM; on Windows Ctrl+C, Ctrl+Break
 * and closing the console) through xpr's signal watchers: the callback
 * runs on the loop's thread, like any other, so it may call xpr freely.
 */
#ifndef ECHO_SIGNALS_H
#define ECHO_SIGNALS_H

#include "xpr.h"

struct echo_signals {
    xpr_signal *watchers[2];
    void (*on_request)(void *arg);
    void *arg;
};

/* Watches both signals on loop; on_request(arg) runs for each request.
 * 0, or an XPR_E* code (nothing is watched then). */
int signals_watch(struct echo_signals *s, xpr_loop *loop,
                  void (*on_request)(void *arg), void *arg);
/* Stops watching; safe on a struct never watched (zeroed). */
void signals_unwatch(struct echo_signals *s);

#endif
