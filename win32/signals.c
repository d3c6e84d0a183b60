/*
 * Windows console control events for the watchers of portable/signals.c.
 *
 * 1. Windows runs a console control handler on a new thread of its own,
 *    not inside the interrupted code, so the handler may lock and post:
 *    it calls xpr__signal_raised directly.
 * 2. Returning TRUE tells Windows the event was handled; FALSE passes it
 *    to the next handler, the last of which ends the process. The handler
 *    returns TRUE only when a watcher heard the event.
 * 3. For CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT
 *    Windows ends the process once the handler returns (or after a few
 *    seconds), whatever it returns: the watchers get what time is left.
 * 4. One handler is registered while any watcher exists; per-signal
 *    watching needs nothing more.
 */
#include "xpr_winsock.h"

#include "backend.h"
#include "signals.h"

BOOL WINAPI xpr__signal_console_handler(DWORD event);

BOOL WINAPI xpr__signal_console_handler(DWORD event)
{
    int signum;
    switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
        signum = XPR_SIGINT;
        break;
    case CTRL_CLOSE_EVENT:
        signum = XPR_SIGHUP;
        break;
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        signum = XPR_SIGTERM;
        break;
    default:
        return FALSE;
    }
    return xpr__signal_raised(signum) ? TRUE : FALSE; /* quirks 1, 2 */
}

int xpr__signal_platform_start(void)
{
    if (!SetConsoleCtrlHandler(xpr__signal_console_handler, TRUE))
        return xpr__error_from_os((int)GetLastError());
    return 0;
}

void xpr__signal_platform_stop(void)
{
    SetConsoleCtrlHandler(xpr__signal_console_handler, FALSE);
}

int xpr__signal_platform_watch(int signum)
{
    (void)signum;
    return 0;
}

void xpr__signal_platform_unwatch(int signum)
{
    (void)signum;
}
