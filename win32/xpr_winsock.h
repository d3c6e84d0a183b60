/* The single include point for Winsock and Win32 in xpr. */
#ifndef XPR_WINSOCK_H
#define XPR_WINSOCK_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: GetQueuedCompletionStatusEx, ... */
#endif

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>

#include "address.h"

/* The last Winsock error, translated (and remembered for
 * xpr_last_os_error). */
int xpr__wsa_error(void);

#endif
