/* struct xpr__addr <-> the OS's socket addresses. sockaddr_in and
 * sockaddr_in6 have the same fields under BSD sockets and Winsock, so one
 * file serves both; xpr_sockets.h is the platform's socket include point. */
#include <string.h>

#include "xpr_sockets.h"

#include "sock.h"
#include "xpr.h"

int xpr__sock_addr_to_os(const struct xpr__addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == XPR__AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a->port);
        memcpy(&sin->sin_addr, a->ip, 4);
        return (int)sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a->port);
        memcpy(&sin6->sin6_addr, a->ip, 16);
        sin6->sin6_scope_id = a->scope_id;
        return (int)sizeof(*sin6);
    }
}

int xpr__sock_addr_from_os(const struct sockaddr *sa, size_t len,
                           struct xpr__addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        a->family = XPR__AF_INET;
        a->port = ntohs(sin->sin_port);
        memcpy(a->ip, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        a->family = XPR__AF_INET6;
        a->port = ntohs(sin6->sin6_port);
        memcpy(a->ip, &sin6->sin6_addr, 16);
        a->scope_id = sin6->sin6_scope_id;
        return 0;
    }
    return XPR_EAFNOSUPPORT;
}
