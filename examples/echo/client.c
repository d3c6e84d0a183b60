/*
 * xpr-echo client: the classic interactive echo client. Each line read from
 * stdin is sent without its newline; the loop then runs until as many bytes
 * have come back, and they are printed. At the end of stdin the client
 * half-closes and waits for the server to close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "echo.h"

struct client {
    xpr_loop *loop;
    int open;
    int closed;
    int close_err;
    unsigned char *echo;
    size_t echo_cap, echo_len, expected;
};

static void on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    c->open = 1;
    xpr_loop_stop(c->loop);
}

static void on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    if (c->echo_len + n > c->echo_cap) {
        size_t cap = (c->echo_len + n) * 2;
        unsigned char *grown = realloc(c->echo, cap);

        if (grown == NULL) {
            xpr_conn_abort(conn);
            return;
        }
        c->echo = grown;
        c->echo_cap = cap;
    }
    memcpy(c->echo + c->echo_len, p, n);
    c->echo_len += n;
    if (c->echo_len >= c->expected)
        xpr_loop_stop(c->loop);
}

static void on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    c->closed = 1;
    c->close_err = err;
    xpr_loop_stop(c->loop);
}

/* Reads one line of any length into *line (without the newline or CR).
 * Returns 1 for a line, 0 at the end of input, -1 when out of memory. */
static int read_line(char **line, size_t *cap, size_t *len)
{
    size_t used = 0;

    for (;;) {
        if (*cap - used < 2) {
            size_t grown_cap = *cap ? *cap * 2 : 256;
            char *grown = realloc(*line, grown_cap);

            if (grown == NULL)
                return -1;
            *line = grown;
            *cap = grown_cap;
        }
        if (fgets(*line + used, (int)(*cap - used), stdin) == NULL) {
            if (used == 0)
                return 0;
            break;
        }
        used += strlen(*line + used);
        if (used > 0 && (*line)[used - 1] == '\n')
            break;
    }
    if (used > 0 && (*line)[used - 1] == '\n')
        used--;
    if (used > 0 && (*line)[used - 1] == '\r')
        used--;
    (*line)[used] = '\0';
    *len = used;
    return 1;
}

/* Runs the loop until *done or the connection closed. */
static int run_until(struct client *c, const int *done)
{
    while (!*done && !c->closed) {
        int rc = xpr_loop_run(c->loop);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int echo_line(struct client *c, xpr_conn *conn, const char *line,
                     size_t len, const char *address)
{
    int rc;

    c->echo_len = 0;
    c->expected = len;
    if (len > 0) {
        rc = xpr_conn_write(conn, line, len);
        if (rc != 0) {
            args_complain("client", "send to %s: %s", address,
                          xpr_strerror(rc));
            return -1;
        }
        while (!c->closed && c->echo_len < c->expected) {
            rc = xpr_loop_run(c->loop);
            if (rc != 0) {
                args_complain("client", "loop: %s", xpr_strerror(rc));
                return -1;
            }
        }
        if (c->echo_len < c->expected) {
            args_complain("client", "%s closed the connection: %s", address,
                          c->close_err ? xpr_strerror(c->close_err)
                                       : "before echoing everything");
            return -1;
        }
    }
    printf("Received [%zu bytes]: '", c->echo_len);
    fwrite(c->echo, 1, c->echo_len, stdout);
    printf("'\n");
    fflush(stdout);
    return 0;
}

int client_main(int argc, char **argv)
{
    const char *address = NULL, *backend = NULL;
    const struct arg_option options[] = {
        {"--connect", NULL, ARG_STRING, &address, 0, 0, 1, "ADDR",
         "echo server to connect to: 127.0.0.1:5150, [::1]:5150"},
        {"--backend", NULL, ARG_STRING, &backend, 0, 0, 0, "NAME",
         "xpr back end (default: XPR_BACKEND or the platform's)"},
    };
    const struct arg_command cmd = {
        "client",
        "Sends each line of stdin (without its newline) and prints the echo "
        "as\n'Received [N bytes]: ...'; half-closes at the end of stdin.",
        options, sizeof options / sizeof options[0]};
    struct xpr_conn_callbacks callbacks = {on_open, on_data, NULL, NULL,
                                           on_close};
    struct client c;
    xpr_conn *conn;
    char *line = NULL;
    size_t line_cap = 0, line_len;
    int rc, status = 0;

    rc = args_parse(&cmd, argc, argv);
    if (rc != ARGS_OK)
        return rc;
    memset(&c, 0, sizeof c);
    rc = echo_loop_new(cmd.name, backend, &c.loop);
    if (rc != 0)
        return rc;

    rc = xpr_connect(c.loop, address, &callbacks, &c, &conn);
    if (rc != 0) {
        args_complain(cmd.name, "connect %s: %s", address, xpr_strerror(rc));
        xpr_loop_free(c.loop);
        return rc == XPR_EINVAL ? 2 : 1;
    }
    if (run_until(&c, &c.open) != 0 || !c.open) {
        args_complain(cmd.name, "connect %s: %s", address,
                      c.close_err ? xpr_strerror(c.close_err)
                                  : "connection closed");
        xpr_loop_free(c.loop);
        return 1;
    }

    while ((rc = read_line(&line, &line_cap, &line_len)) > 0) {
        if (echo_line(&c, conn, line, line_len, address) != 0) {
            status = 1;
            break;
        }
    }
    if (rc < 0) {
        args_complain(cmd.name, "out of memory reading stdin");
        status = 1;
    }
    if (status == 0 && !c.closed) {
        /* End of input: half-close, then the server's default EOF handling
         * flushes and closes, and so does ours. */
        xpr_conn_shutdown(conn);
        if (run_until(&c, &c.closed) != 0 || c.close_err != 0) {
            args_complain(cmd.name, "closing %s: %s", address,
                          xpr_strerror(c.close_err));
            status = 1;
        }
    }
    xpr_loop_free(c.loop);
    free(line);
    free(c.echo);
    return status;
}
