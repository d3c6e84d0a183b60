/*
 * UDP socket options (xpr_udp_set_*): broadcast and multicast. The option
 * names and structs are the same under BSD sockets and Winsock; only the
 * level differs by the bound family (IPPROTO_IP or IPPROTO_IPV6).
 */
#include "xpr_sockets.h"

#include <string.h>

#include "loop_internal.h"
#include "sock.h"
#include "udp.h"

static int set_int(const xpr_udp *u, int level, int name, int value)
{
    if (setsockopt(u->sock, level, name, (const char *)&value, sizeof(value)) !=
        0)
        return xpr__sock_error();
    return 0;
}

int xpr_udp_set_broadcast(xpr_udp *udp, int on)
{
    int rc = xpr__udp_usable(udp);
    return rc != 0 ? rc : set_int(udp, SOL_SOCKET, SO_BROADCAST, on ? 1 : 0);
}

int xpr_udp_set_multicast_loop(xpr_udp *udp, int on)
{
    int rc = xpr__udp_usable(udp);
    if (rc != 0)
        return rc;
    if (udp->bound.family == XPR__AF_INET)
        return set_int(udp, IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0);
    return set_int(udp, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0);
}

int xpr_udp_set_multicast_ttl(xpr_udp *udp, int ttl)
{
    int rc = xpr__udp_usable(udp);
    if (rc != 0)
        return rc;
    if (ttl < 0 || ttl > 255)
        return XPR_EINVAL;
    if (udp->bound.family == XPR__AF_INET)
        return set_int(udp, IPPROTO_IP, IP_MULTICAST_TTL, ttl);
    return set_int(udp, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl);
}

/* An address without port ("239.1.2.3", "ff02::1"), parsed as the address
 * parser's "host:0" or "[host]:0". */
static int parse_host(const char *text, struct xpr__addr *a)
{
    char buf[XPR_ADDRSTRLEN];
    size_t len = strlen(text);
    int v6 = memchr(text, ':', len) != NULL;
    if (len == 0 || len + 5 > sizeof(buf))
        return XPR_EINVAL;
    buf[0] = '[';
    memcpy(buf + v6, text, len);
    memcpy(buf + v6 + len, v6 ? "]:0" : ":0", v6 ? 4 : 3);
    return xpr__addr_parse_numeric(buf, a);
}

int xpr_udp_set_membership(xpr_udp *udp, const char *group, const char *iface,
                           int join)
{
    struct xpr__addr g, i;
    int rc = xpr__udp_usable(udp);
    if (rc != 0)
        return rc;
    if (group == NULL || parse_host(group, &g) != 0 ||
        g.family != udp->bound.family)
        return XPR_EINVAL;
    if (g.family == XPR__AF_INET) {
        struct ip_mreq m;
        if ((g.ip[0] & 0xf0) != 0xe0) /* 224.0.0.0/4 */
            return XPR_EINVAL;
        memset(&m, 0, sizeof(m));
        memcpy(&m.imr_multiaddr, g.ip, 4);
        if (iface != NULL) {
            if (parse_host(iface, &i) != 0 || i.family != XPR__AF_INET)
                return XPR_EINVAL;
            memcpy(&m.imr_interface, i.ip, 4);
        }
        rc = setsockopt(udp->sock, IPPROTO_IP,
                        join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP,
                        (const char *)&m, sizeof(m));
    } else {
        struct ipv6_mreq m;
        if (g.ip[0] != 0xff || iface != NULL) /* ff00::/8 */
            return XPR_EINVAL;
        memset(&m, 0, sizeof(m));
        memcpy(&m.ipv6mr_multiaddr, g.ip, 16);
        m.ipv6mr_interface = g.scope_id;
        rc = setsockopt(udp->sock, IPPROTO_IPV6,
                        join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP,
                        (const char *)&m, sizeof(m));
    }
    return rc == 0 ? 0 : xpr__sock_error();
}
