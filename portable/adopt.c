/*
 * xpr_conn_adopt: a conn for a socket the application connected itself.
 * The socket is checked (a connected stream socket) and made non-blocking
 * here; the transport takes it as it takes a socket it connected, and
 * reports it connected from the loop, so on_open never runs inside the
 * call. Until the transport took it the socket is the application's: on
 * any error it is left open.
 */
#include "backend.h"
#include "loop_internal.h"
#include "sock.h"

int xpr_conn_adopt(xpr_loop *loop, xpr_os_socket sock,
                   const struct xpr_conn_callbacks *callbacks, void *arg,
                   xpr_conn **out)
{
    struct xpr__shared_callbacks *shared;
    xpr_conn *c = NULL;
    int rc = xpr__loop_check_new(loop,
                                 callbacks != NULL && out != NULL &&
                                     (xpr_socket_t)sock != XPR__INVALID_SOCKET);
    if (rc != 0)
        return rc;
    if (loop->ops->conn_adopt == NULL)
        return XPR_ENOTSUP;
    rc = xpr__sock_take((xpr_socket_t)sock);
    if (rc != 0)
        return rc;
    shared = xpr__callbacks_new(callbacks);
    if (shared != NULL)
        c = xpr__conn_new(loop, shared, arg, (xpr_socket_t)sock);
    xpr__callbacks_release(shared); /* the conn holds its own reference */
    if (c == NULL)
        return XPR_ENOMEM;
    c->adopted = 1;
    rc = loop->ops->conn_adopt(c);
    if (rc != 0) {
        c->sock = XPR__INVALID_SOCKET;
        xpr__conn_discard(c);
        return rc;
    }
    *out = c;
    return 0;
}
