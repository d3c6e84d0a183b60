/*
 * A child process: started with its output going to a file, watched, and
 * stopped. posix_spawn on POSIX, CreateProcess on Windows.
 */
#ifndef ECHO_PROCESS_H
#define ECHO_PROCESS_H

#include <stddef.h>

struct process {
#ifdef _WIN32
    void *handle; /* HANDLE */
#else
    long pid;
#endif
    int exited;      /* reaped: exit_status holds how it ended */
    int exit_status; /* exit code, or 128 + signal number on POSIX */
};

/* Starts argv[0] with arguments argv[1..] (NULL-terminated), its stdout and
 * stderr written to log_path (truncated). 0, or -1 with a reason in
 * why[0..why_len). */
int process_spawn(struct process *p, const char *const *argv,
                  const char *log_path, char *why, size_t why_len);

/* 1 while the process runs; 0 once it has ended (p->exit_status says how). */
int process_running(struct process *p);

/*
 * Asks the process to end and waits up to timeout_ms for it: SIGTERM, then
 * SIGKILL, on POSIX; TerminateProcess with exit code 0 on Windows (a console
 * program under Wine has no console to send Ctrl-C to). Returns the exit
 * status (0: a clean exit), or -1 if it would not end.
 */
int process_stop(struct process *p, unsigned timeout_ms);

/* The path of the running program, for starting another copy of it. 0, or -1
 * when the platform does not tell (then use argv[0]). */
int process_self_path(char *buf, size_t len);

/* Sleeps ms milliseconds. */
void process_sleep_ms(unsigned ms);

#endif
