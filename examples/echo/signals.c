#include <string.h>

#include "signals.h"

static void on_signal(xpr_signal *signal, int signum, void *arg)
{
    struct echo_signals *s = arg;
    (void)signal;
    (void)signum;
    s->on_request(s->arg);
}

int signals_watch(struct echo_signals *s, xpr_loop *loop,
                  void (*on_request)(void *arg), void *arg)
{
    int rc;
    memset(s, 0, sizeof(*s));
    s->on_request = on_request;
    s->arg = arg;
    rc = xpr_signal_new(loop, XPR_SIGINT, on_signal, s, &s->watchers[0]);
    if (rc == 0)
        rc = xpr_signal_new(loop, XPR_SIGTERM, on_signal, s, &s->watchers[1]);
    if (rc != 0)
        signals_unwatch(s);
    return rc;
}

void signals_unwatch(struct echo_signals *s)
{
    xpr_signal_free(s->watchers[0]);
    xpr_signal_free(s->watchers[1]);
    s->watchers[0] = s->watchers[1] = NULL;
}
