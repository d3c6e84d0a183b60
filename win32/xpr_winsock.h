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

/* struct xpr__addr <-> SOCKADDR (win32/sock.c). */
int xpr__win_to_sockaddr(const struct xpr__addr *a,
                         struct sockaddr_storage *ss);
int xpr__win_from_sockaddr(const struct sockaddr *sa, struct xpr__addr *a);
/* The last Winsock error, translated (and remembered for
 * xpr_last_os_error). */
int xpr__wsa_error(void);

#endif
