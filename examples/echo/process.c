/*
 * Child processes for xpr-echo compare. The child is started while the
 * parent holds no sockets, so it inherits none on either platform.
 */
#include <stdio.h>
#include <string.h>

#include "process.h"

#ifdef _WIN32
#include <windows.h>

/* Appends arg to cmd[*len..] quoted as the C runtime's argv parser expects:
 * backslashes double only before a quote. -1 when cmd is too small. */
static int append_quoted(char *cmd, size_t size, size_t *len, const char *arg)
{
    size_t n = *len;
    const char *c;

#define PUT(ch)                                                                \
    do {                                                                       \
        if (n + 1 >= size)                                                     \
            return -1;                                                         \
        cmd[n++] = (ch);                                                       \
    } while (0)
    if (n > 0)
        PUT(' ');
    PUT('"');
    for (c = arg;; c++) {
        size_t backslashes = 0;

        while (*c == '\\') {
            backslashes++;
            c++;
        }
        if (*c == '\0') {
            while (backslashes--) {
                PUT('\\');
                PUT('\\');
            }
            break;
        }
        if (*c == '"') {
            while (backslashes--) {
                PUT('\\');
                PUT('\\');
            }
            PUT('\\');
        } else {
            while (backslashes--)
                PUT('\\');
        }
        PUT(*c);
    }
    PUT('"');
#undef PUT
    cmd[n] = '\0';
    *len = n;
    return 0;
}

int process_spawn(struct process *p, const char *const *argv,
                  const char *log_path, char *why, size_t why_len)
{
    char cmd[8192];
    size_t len = 0, i;
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE log;
    BOOL ok;

    memset(p, 0, sizeof *p);
    cmd[0] = '\0';
    for (i = 0; argv[i] != NULL; i++) {
        if (append_quoted(cmd, sizeof cmd, &len, argv[i]) != 0) {
            snprintf(why, why_len, "command line too long");
            return -1;
        }
    }
    memset(&sa, 0, sizeof sa);
    sa.nLength = sizeof sa;
    sa.bInheritHandle = TRUE;
    log =
        CreateFileA(log_path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &sa, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (log == INVALID_HANDLE_VALUE) {
        snprintf(why, why_len, "cannot create %s (error %lu)", log_path,
                 (unsigned long)GetLastError());
        return -1;
    }
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = log;
    si.hStdError = log;
    ok =
        CreateProcessA(argv[0], cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    CloseHandle(log);
    if (!ok) {
        snprintf(why, why_len, "CreateProcess %s: error %lu", argv[0],
                 (unsigned long)GetLastError());
        return -1;
    }
    CloseHandle(pi.hThread);
    p->handle = pi.hProcess;
    return 0;
}

static void reap(struct process *p)
{
    DWORD code = 1;

    GetExitCodeProcess(p->handle, &code);
    CloseHandle(p->handle);
    p->handle = NULL;
    p->exited = 1;
    p->exit_status = (int)code;
}

int process_running(struct process *p)
{
    if (p->exited)
        return 0;
    if (WaitForSingleObject(p->handle, 0) != WAIT_OBJECT_0)
        return 1;
    reap(p);
    return 0;
}

int process_stop(struct process *p, unsigned timeout_ms)
{
    if (!process_running(p))
        return p->exit_status;
    TerminateProcess(p->handle, 0);
    if (WaitForSingleObject(p->handle, timeout_ms) != WAIT_OBJECT_0)
        return -1;
    reap(p);
    return p->exit_status;
}

int process_self_path(char *buf, size_t len)
{
    DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)len);

    return n > 0 && n < len ? 0 : -1;
}

void process_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int process_spawn(struct process *p, const char *const *argv,
                  const char *log_path, char *why, size_t why_len)
{
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int rc;

    memset(p, 0, sizeof *p);
    if (posix_spawn_file_actions_init(&actions) != 0) {
        snprintf(why, why_len, "posix_spawn_file_actions_init failed");
        return -1;
    }
    rc = posix_spawn_file_actions_addopen(&actions, 1, log_path,
                                          O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (rc == 0)
        rc = posix_spawn(&pid, argv[0], &actions, NULL, (char *const *)argv,
                         environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        snprintf(why, why_len, "posix_spawn %s: %s", argv[0], strerror(rc));
        return -1;
    }
    p->pid = (long)pid;
    return 0;
}

static void record(struct process *p, int status)
{
    p->exited = 1;
    if (WIFEXITED(status))
        p->exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        p->exit_status = 128 + WTERMSIG(status);
    else
        p->exit_status = 255;
}

int process_running(struct process *p)
{
    int status;
    pid_t r;

    if (p->exited)
        return 0;
    do
        r = waitpid((pid_t)p->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 1;
    if (r < 0) {
        p->exited = 1;
        p->exit_status = 255;
        return 0;
    }
    record(p, status);
    return 0;
}

/* Waits up to timeout_ms for the process to end; 1 if it did. */
static int wait_for_exit(struct process *p, unsigned timeout_ms)
{
    unsigned waited;

    for (waited = 0; waited <= timeout_ms; waited += 10) {
        if (!process_running(p))
            return 1;
        process_sleep_ms(10);
    }
    return 0;
}

int process_stop(struct process *p, unsigned timeout_ms)
{
    if (!process_running(p))
        return p->exit_status;
    kill((pid_t)p->pid, SIGTERM);
    if (wait_for_exit(p, timeout_ms))
        return p->exit_status;
    kill((pid_t)p->pid, SIGKILL);
    if (wait_for_exit(p, 5000))
        return p->exit_status == 0 ? 128 + SIGKILL : p->exit_status;
    return -1;
}

int process_self_path(char *buf, size_t len)
{
#ifdef __linux__
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);

    if (n > 0 && (size_t)n < len - 1) {
        buf[n] = '\0';
        return 0;
    }
#else
    (void)buf;
    (void)len;
#endif
    return -1;
}

void process_sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
#endif
