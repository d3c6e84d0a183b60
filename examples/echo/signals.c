/*
 * The handlers set a volatile sig_atomic_t and nothing else: that is all a
 * signal handler may portably do. On Windows, Ctrl-C arrives as a console
 * control event on a thread of its own; setting the same flag is still all we
 * do there.
 */
#include <signal.h>
#include <stddef.h>

#include "signals.h"

static volatile sig_atomic_t termination_requested;

#ifdef _WIN32
#include <windows.h>

static BOOL WINAPI on_console_event(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
        termination_requested = 1;
        return TRUE;
    default:
        return FALSE;
    }
}

int signals_install(void)
{
    return SetConsoleCtrlHandler(on_console_event, TRUE) ? 0 : -1;
}

#else

static void on_signal(int signo)
{
    (void)signo;
    termination_requested = 1;
}

int signals_install(void)
{
    struct sigaction sa;

    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return 0;
}
#endif

int signals_caught(void)
{
    return termination_requested != 0;
}
