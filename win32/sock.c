/*
 * What the Winsock socket layer does its own way (xpr_sockets.h); the rest
 * is portable/sock.c.
 *
 * 1. WSAStartup runs once per process (InitOnceExecuteOnce); xpr never calls
 *    WSACleanup, as other code in the process may still use Winsock.
 * 2. An accepted socket inherits the listener's non-blocking mode and its
 *    WSAEventSelect/WSAAsyncSelect registration, but not
 *    WSA_FLAG_NO_HANDLE_INHERIT; back ends re-register it.
 * 3. Keepalive timings go through SIO_KEEPALIVE_VALS (milliseconds).
 */
#include "xpr_sockets.h"

#include <mstcpip.h>
#include <stdint.h>

#include "backend.h"
#include "sock.h"

static xpr__once_flag wsa_once = XPR__ONCE_INIT;
static int wsa_startup_result;

static void wsa_startup(void)
{
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    wsa_startup_result = rc == 0 ? 0 : xpr__error_from_os(rc);
}

int xpr__sock_global_init(void)
{
    xpr__call_once(&wsa_once, wsa_startup);
    return wsa_startup_result;
}

int xpr__wsa_error(void)
{
    return xpr__error_from_os(WSAGetLastError());
}

int xpr__sock_os_own(xpr_socket_t s)
{
    u_long nonblocking = 1;
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    return ioctlsocket(s, FIONBIO, &nonblocking);
}

long xpr__sock_os_sendv(xpr_socket_t s, const void *const *bases,
                        const size_t *lens, size_t count)
{
    WSABUF bufs[XPR__SEND_RUNS];
    DWORD sent = 0;
    size_t i;
    for (i = 0; i < count; i++) {
        bufs[i].buf = (char *)(uintptr_t)bases[i];
        bufs[i].len = lens[i] > 0x7fffffff ? 0x7fffffff : (ULONG)lens[i];
        if (bufs[i].len < lens[i])
            count = i + 1; /* nothing after a run cut short */
    }
    if (WSASend(s, bufs, (DWORD)count, &sent, 0, NULL, NULL) != 0)
        return -1;
    return (long)sent;
}

int xpr__sock_os_keepalive(xpr_socket_t s, uint32_t idle_ms,
                           uint32_t interval_ms)
{
    struct tcp_keepalive ka;
    DWORD returned = 0;
    ka.onoff = idle_ms ? 1 : 0;
    ka.keepalivetime = idle_ms;
    ka.keepaliveinterval = interval_ms;
    return WSAIoctl(s, SIO_KEEPALIVE_VALS, &ka, sizeof(ka), NULL, 0, &returned,
                    NULL, NULL);
}
