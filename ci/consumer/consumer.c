/*
 * The downstream program of ci/consumers.sh: built against an installed or
 * vendored xpr, it echoes one message through a listener and a connection of
 * its own on 127.0.0.1 and exits 0 when the bytes came back.
 */
#include <stdio.h>
#include <string.h>

#include <xpr.h>

static const char message[] = "hello from a consumer";

struct state {
    xpr_listener *listener;
    char echoed[sizeof message];
    size_t echoed_len;
    int ok;
};

static void server_data(xpr_conn *conn, const void *p, size_t n)
{
    xpr_conn_write(conn, p, n);
}

static void client_open(xpr_conn *conn)
{
    xpr_conn_write(conn, message, sizeof message - 1);
}

static void client_data(xpr_conn *conn, const void *p, size_t n)
{
    struct state *s = xpr_conn_userdata(conn);

    if (n > sizeof s->echoed - 1 - s->echoed_len)
        n = sizeof s->echoed - 1 - s->echoed_len;
    memcpy(s->echoed + s->echoed_len, p, n);
    s->echoed_len += n;
    if (s->echoed_len == sizeof message - 1) {
        s->ok = memcmp(s->echoed, message, s->echoed_len) == 0;
        xpr_conn_close(conn);
        xpr_listener_close(s->listener);
    }
}

int main(void)
{
    struct xpr_conn_callbacks server = {0}, client = {0};
    struct state s = {0};
    char address[64];
    xpr_loop *loop;
    xpr_conn *conn;
    int rc;

    server.on_data = server_data;
    client.on_open = client_open;
    client.on_data = client_data;
    rc = xpr_loop_new(&loop, NULL);
    if (rc == 0)
        rc = xpr_listen(loop, "127.0.0.1:0", NULL, &server, NULL, &s.listener);
    if (rc == 0)
        rc = xpr_listener_address(s.listener, address, sizeof address);
    if (rc == 0)
        rc = xpr_connect(loop, address, &client, &s, &conn);
    if (rc == 0)
        rc = xpr_loop_run(loop);
    if (rc != 0) {
        fprintf(stderr, "consumer: %s\n", xpr_strerror(rc));
        return 1;
    }
    printf("consumer: xpr %d, back end %s, echo %s\n", xpr_version(),
           xpr_loop_backend(loop), s.ok ? "ok" : "WRONG");
    xpr_loop_free(loop);
    return s.ok ? 0 : 1;
}
