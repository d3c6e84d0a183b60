/*
 * What a conn tells and what the application may set on it: userdata, its
 * loop, the peer's and its own address (asked of the socket, as libuv
 * does: a conn keeps no copy), its socket, TCP_NODELAY and keepalive. A conn
 * whose name is still being looked up has no socket yet: XPR_EAGAIN.
 */
#include "backend.h"
#include "loop_internal.h"
#include "sock.h"

void xpr_conn_set_userdata(xpr_conn *conn, void *userdata)
{
    if (conn != NULL)
        conn->userdata = userdata;
}

void *xpr_conn_userdata(const xpr_conn *conn)
{
    return conn ? conn->userdata : NULL;
}

xpr_loop *xpr_conn_loop(const xpr_conn *conn)
{
    return conn ? conn->loop : NULL;
}

/* One end of a connected conn's socket, as text: get is xpr__sock_peer
 * or xpr__sock_local. */
static int conn_address(const xpr_conn *conn, char *buf, size_t len,
                        int (*get)(xpr_socket_t s, struct xpr__addr *out))
{
    struct xpr__addr addr;
    int rc;
    if (conn == NULL || buf == NULL)
        return XPR_EINVAL;
    if (conn->state >= XPR__CONN_ENDING)
        return XPR_ECLOSED;
    if (!conn->connected)
        return XPR_EAGAIN;
    rc = get(conn->sock, &addr);
    return rc != 0 ? rc : xpr__addr_format(&addr, buf, len);
}

int xpr_conn_peer_address(const xpr_conn *conn, char *buf, size_t len)
{
    return conn_address(conn, buf, len, xpr__sock_peer);
}

int xpr_conn_local_address(const xpr_conn *conn, char *buf, size_t len)
{
    return conn_address(conn, buf, len, xpr__sock_local);
}

int xpr_conn_socket(const xpr_conn *conn, xpr_os_socket *out)
{
    if (conn == NULL || out == NULL)
        return XPR_EINVAL;
    if (conn->state >= XPR__CONN_ENDING)
        return XPR_ECLOSED;
    if (conn->sock == XPR__INVALID_SOCKET)
        return XPR_EAGAIN;
    *out = (xpr_os_socket)conn->sock;
    return 0;
}

int xpr_conn_set_nodelay(xpr_conn *conn, int enable)
{
    int rc = xpr__conn_usable(conn);
    if (rc == 0 && conn->sock == XPR__INVALID_SOCKET)
        rc = XPR_EAGAIN; /* its name is being looked up */
    if (rc != 0)
        return rc;
    return xpr__sock_set_nodelay(conn->sock, enable);
}

int xpr_conn_set_keepalive(xpr_conn *conn, uint32_t idle_ms,
                           uint32_t interval_ms)
{
    int rc = xpr__conn_usable(conn);
    if (rc == 0 && conn->sock == XPR__INVALID_SOCKET)
        rc = XPR_EAGAIN;
    if (rc != 0)
        return rc;
    return xpr__sock_set_keepalive(conn->sock, idle_ms, interval_ms);
}
