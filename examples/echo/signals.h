/*
 * Termination requests (SIGINT/SIGTERM, or console control events on
 * Windows). The handler only sets a flag; the event loop polls it from a
 * timer, so no xpr call ever runs in signal context.
 */
#ifndef ECHO_SIGNALS_H
#define ECHO_SIGNALS_H

/* Installs the handlers. 0 on success, -1 on failure. */
int signals_install(void);
/* Non-zero once a termination request has arrived. */
int signals_caught(void);

#endif
