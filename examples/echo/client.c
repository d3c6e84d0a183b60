/*
 * xpr-echo client: the classic interactive echo client. Each line of stdin
 * is sent without its newline and its echo printed once all of it is back;
 * empty lines send nothing. At the end of stdin the client half-closes and
 * waits for the server to close. stdin is read on a thread of its own
 * (stdin_reader.c), so a server that goes away is reported at once, not at
 * the next line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "echo.h"
#include "stdin_reader.h"

struct client {
    xpr_loop *loop;
    xpr_conn *conn;
    const char *address;
    int open, closed, input_ended, status;
    unsigned char *echo; /* echoed bytes not yet printed */
    size_t echo_cap, echo_len;
    size_t *line_lens; /* FIFO of sent lines awaiting their echo */
    size_t lines_cap, lines_head, lines_count;
};

static void fail(struct client *c, const char *fmt, const char *detail)
{
    args_complain("client", fmt, c->address, detail);
    c->status = 1;
}

static int push_line_len(struct client *c, size_t len)
{
    if (c->lines_head + c->lines_count == c->lines_cap) {
        size_t cap = c->lines_cap ? c->lines_cap * 2 : 16;
        size_t *grown;

        memmove(c->line_lens, c->line_lens + c->lines_head,
                c->lines_count * sizeof *c->line_lens);
        c->lines_head = 0;
        if (c->lines_count < c->lines_cap / 2)
            cap = c->lines_cap;
        grown = realloc(c->line_lens, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        c->line_lens = grown;
        c->lines_cap = cap;
    }
    c->line_lens[c->lines_head + c->lines_count++] = len;
    return 0;
}

/* Prints every line whose echo is complete. */
static void print_echoed_lines(struct client *c)
{
    while (c->lines_count > 0 && c->echo_len >= c->line_lens[c->lines_head]) {
        size_t len = c->line_lens[c->lines_head];

        printf("Received [%zu bytes]: '", len);
        fwrite(c->echo, 1, len, stdout);
        printf("'\n");
        fflush(stdout);
        memmove(c->echo, c->echo + len, c->echo_len - len);
        c->echo_len -= len;
        c->lines_head++;
        c->lines_count--;
    }
}

static void on_line(struct stdin_line *line, void *arg);

static void on_open(xpr_conn *conn)
{
    struct client *c = xpr_conn_userdata(conn);

    c->open = 1;
    if (stdin_reader_start(c->loop, on_line, c) != 0) {
        fail(c, "%s: %s", "cannot start the stdin reader thread");
        xpr_conn_abort(conn);
    }
}

static void on_data(xpr_conn *conn, const void *p, size_t n)
{
    struct client *c = xpr_conn_userdata(conn);

    if (c->echo_len + n > c->echo_cap) {
        size_t cap = (c->echo_len + n) * 2;
        unsigned char *grown = realloc(c->echo, cap);

        if (grown == NULL) {
            fail(c, "%s: %s", "out of memory");
            xpr_conn_abort(conn);
            return;
        }
        c->echo = grown;
        c->echo_cap = cap;
    }
    memcpy(c->echo + c->echo_len, p, n);
    c->echo_len += n;
    print_echoed_lines(c);
}

static void on_close(xpr_conn *conn, int err)
{
    struct client *c = xpr_conn_userdata(conn);

    c->closed = 1;
    if (c->status != 0)
        return; /* already reported */
    if (!c->open)
        fail(c, "connect %s: %s", xpr_strerror(err));
    else if (err != 0)
        fail(c, "%s: %s", xpr_strerror(err));
    else if (!c->input_ended)
        fail(c, "%s: %s", "the server closed the connection");
    else if (c->lines_count > 0)
        fail(c, "%s: %s", "the server closed before echoing everything");
}

/* A line of stdin, on the loop's thread. */
static void on_line(struct stdin_line *line, void *arg)
{
    struct client *c = arg;
    int rc;

    if (c->closed || line->len == 0) {
        if (line->end == -1 && !c->closed) {
            fail(c, "%s: %s", "out of memory reading stdin");
            xpr_conn_abort(c->conn);
        } else if (line->end == 1 && !c->closed) {
            /* The server's default end-of-input handling flushes the
             * echoes and closes; so does ours. */
            c->input_ended = 1;
            xpr_conn_shutdown(c->conn);
        }
        free(line);
        return;
    }
    if (push_line_len(c, line->len) != 0) {
        fail(c, "%s: %s", "out of memory");
        xpr_conn_abort(c->conn);
    } else {
        rc = xpr_conn_write(c->conn, line->text, line->len);
        if (rc != 0) {
            fail(c, "send to %s: %s", xpr_strerror(rc));
            xpr_conn_abort(c->conn);
        }
    }
    free(line);
}

int client_main(int argc, char **argv)
{
    const char *backend = NULL;
    struct client c;
    const struct arg_option options[] = {
        {"--connect", NULL, ARG_STRING, &c.address, 0, 0, 0, "ADDR",
         "echo server to connect to (default " ECHO_DEFAULT_ADDRESS
         "; [::1]:5150)"},
        {"--backend", NULL, ARG_STRING, &backend, 0, 0, 0, "NAME",
         "xpr back end (default: XPR_BACKEND or the platform's)"},
    };
    const struct arg_command cmd = {
        "client",
        "Sends each line of stdin (without its newline) and prints the echo "
        "as\n'Received [N bytes]: ...'; empty lines send nothing; "
        "half-closes at the end of stdin.",
        options, sizeof options / sizeof options[0]};
    struct xpr_conn_callbacks callbacks = {on_open, on_data, NULL, NULL,
                                           on_close};
    struct xpr_loop_config loop_cfg;
    int rc, status;

    memset(&c, 0, sizeof c);
    c.address = ECHO_DEFAULT_ADDRESS;
    rc = args_parse(&cmd, argc, argv);
    if (rc != ARGS_OK)
        return rc;
    memset(&loop_cfg, 0, sizeof loop_cfg);
    loop_cfg.backend = backend;
    rc = echo_loop_new(cmd.name, &loop_cfg, &c.loop);
    if (rc != 0)
        return rc;
    rc = xpr_connect(c.loop, c.address, &callbacks, &c, &c.conn);
    if (rc != 0) {
        args_complain(cmd.name, "connect %s: %s", c.address, xpr_strerror(rc));
        xpr_loop_free(c.loop);
        return rc == XPR_EINVAL ? 2 : 1;
    }
    /* Runs until the connection has closed; stdin is read from on_open. */
    while (!c.closed) {
        rc = xpr_loop_run(c.loop);
        if (rc != 0) {
            args_complain(cmd.name, "loop: %s", xpr_strerror(rc));
            c.status = 1;
            break;
        }
    }
    stdin_reader_detach();
    xpr_loop_free(c.loop);
    free(c.echo);
    free(c.line_lens);
    status = c.status;
    if (stdin_reader_running()) {
        /* The reader is still blocked on stdin: leave without waiting for
         * it (exit would take the stdin lock it holds). */
        fflush(stdout);
        fflush(stderr);
        _Exit(status);
    }
    return status;
}
