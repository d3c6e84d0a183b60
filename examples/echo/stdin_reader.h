/*
 * Lines of stdin, read on a thread of their own and handed to the loop with
 * xpr_loop_post, so the loop keeps running (and sees a server that goes away)
 * while the user has not typed anything. One reader per process.
 */
#ifndef ECHO_STDIN_READER_H
#define ECHO_STDIN_READER_H

#include <stddef.h>

#include <xpr.h>

struct stdin_line {
    int end;      /* 1: end of input (len 0); -1: out of memory */
    size_t len;   /* bytes in text, without the newline or CR */
    char text[1]; /* len bytes and a NUL */
};

/* Runs on the loop's thread and owns line (free() it). It also runs from
 * xpr_loop_free for lines still queued then. */
typedef void (*stdin_line_cb)(struct stdin_line *line, void *arg);

/* Starts the reader thread. 0 on success, -1 if the thread cannot start. */
int stdin_reader_start(xpr_loop *loop, stdin_line_cb cb, void *arg);

/*
 * No line is posted after this returns, so the loop may be freed. The thread
 * itself may still be blocked reading stdin: stdin_reader_running() says so,
 * and then the process should leave with _Exit (exit would wait for the
 * stdin lock that thread holds on some C libraries).
 */
void stdin_reader_detach(void);
int stdin_reader_running(void);

#endif
