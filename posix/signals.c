/*
 * POSIX signals for the watchers of portable/signals.c.
 *
 * 1. A signal handler may call only async-signal-safe functions: no lock,
 *    no allocation, no xpr_loop_post. The handler writes the signal's
 *    number to a pipe (write() is safe) and a thread of xpr's reads it and
 *    calls xpr__signal_raised, which posts to the loops.
 * 2. The pipe's write end is non-blocking: when the pipe is full, signals
 *    already queued make the watchers run, so dropping one loses nothing
 *    a watcher can tell apart. The handler saves and restores errno.
 * 3. The thread blocks every signal, so handlers run on other threads and
 *    its read() is never interrupted by one of ours.
 * 4. Each watched signal gets the handler with sigaction (SA_RESTART, so
 *    system calls of other threads resume); the previous action is kept
 *    and put back when the last watcher of that signal goes.
 * 5. Stopping closes the write end (the handler checks the descriptor
 *    first), which ends the thread's read(); the thread is joined and the
 *    read end closed, so no descriptor or thread outlives the watchers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "backend.h"
#include "signals.h"

static volatile sig_atomic_t write_fd = -1;
static int read_fd = -1;
static pthread_t reader;
static struct sigaction previous[16]; /* by signum: 1, 2, 15 */

static void on_signal(int signum)
{
    int saved = errno;
    int fd = write_fd;
    unsigned char byte = (unsigned char)signum;
    if (fd >= 0) {
        ssize_t rc = write(fd, &byte, 1); /* quirk 2: full means queued */
        (void)rc;
    }
    errno = saved;
}

static void *read_signals(void *arg)
{
    unsigned char bytes[64];
    sigset_t all;
    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* quirk 3 */
    for (;;) {
        ssize_t i, n = read(read_fd, bytes, sizeof(bytes));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL; /* the write end closed: stopping */
        for (i = 0; i < n; i++)
            xpr__signal_raised(bytes[i]);
    }
}

int xpr__signal_platform_start(void)
{
    int fds[2], rc;
    if (pipe(fds) != 0)
        return xpr__error_from_os(errno);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    read_fd = fds[0];
    rc = pthread_create(&reader, NULL, read_signals, NULL);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        read_fd = -1;
        return xpr__error_from_os(rc);
    }
    write_fd = fds[1];
    return 0;
}

void xpr__signal_platform_stop(void)
{
    int fd = write_fd;
    write_fd = -1;
    close(fd); /* quirk 5 */
    pthread_join(reader, NULL);
    close(read_fd);
    read_fd = -1;
}

int xpr__signal_platform_watch(int signum)
{
    struct sigaction sa;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(signum, &sa, &previous[signum]) != 0)
        return xpr__error_from_os(errno);
    return 0;
}

void xpr__signal_platform_unwatch(int signum)
{
    sigaction(signum, &previous[signum], NULL);
}
