/*
 * epoll-echo: the reference ("floor") echo server for ci/bench.sh and
 * ci/soak.sh on Linux. It uses epoll directly, no xpr and no libevent, and
 * does the least an honest echo server does:
 *
 * - one thread, level-triggered epoll, non-blocking sockets with
 *   TCP_NODELAY (as xpr-echo server sets it);
 * - one read per readiness report into a single 64 KiB buffer shared by all
 *   connections (xpr's default read size), and the bytes written back at
 *   once;
 * - a connection owns memory only while bytes it could not write are
 *   pending: then the rest is copied to a block of its own, reading stops
 *   and the descriptor waits for EPOLLOUT alone; once the block is written
 *   it is freed and the descriptor waits for EPOLLIN again. An idle
 *   connection is its descriptor and nothing else: the epoll data word holds
 *   the descriptor itself (odd: fd * 2 + 1) or the pending block (a pointer,
 *   even), 0 is the listener.
 *
 * Left out on purpose, as a floor is not a product: descriptor exhaustion
 * (EMFILE on accept leaves the listener readable, and the loop spins until
 * a descriptor frees), timeouts of silent peers, limits on connections,
 * an orderly shutdown (SIGINT and SIGTERM end the process, which closes
 * every socket), and anything but plain echo.
 *
 * Usage: epoll-echo [--listen ADDR] [--stats MS]
 *   ADDR is HOST:PORT or [HOST]:PORT with a numeric host (default
 *   127.0.0.1:7000; port 0 takes any). It prints "listening on ADDR
 *   (backend floor-epoll)" like xpr-echo server, and with --stats one line
 *   "stats: open=N peak=N accepted=N" every MS milliseconds (ci/soak.sh
 *   reads it).
 */
#define _GNU_SOURCE /* accept4 */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE 65536
#define MAX_EVENTS 256
#define LISTENER_DATA 0

/* The unwritten rest of one connection's echo. */
struct pending {
    int fd;
    size_t off;
    size_t len;
    char data[];
};

static volatile sig_atomic_t stop_requested;
static char read_buf[READ_SIZE];
static int epfd = -1;
static unsigned long open_conns, peak_conns, accepted_conns;

static void on_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static uint64_t idle_data(int fd)
{
    return (uint64_t)fd * 2 + 1;
}

static void close_conn(int fd)
{
    close(fd); /* also takes it out of the epoll set */
    open_conns--;
}

static void accept_all(int lfd)
{
    for (;;) {
        struct epoll_event ev;
        int one = 1;
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN: the backlog is empty; other errors: later */
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ev.events = EPOLLIN;
        ev.data.u64 = idle_data(fd);
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        accepted_conns++;
        if (++open_conns > peak_conns)
            peak_conns = open_conns;
    }
}

static void on_readable(int fd)
{
    struct pending *p;
    struct epoll_event ev;
    ssize_t n = read(fd, read_buf, sizeof read_buf);
    ssize_t w;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(fd);
        return;
    }
    if (n < 0)
        return;
    w = send(fd, read_buf, (size_t)n, MSG_NOSIGNAL);
    if (w == n)
        return;
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            close_conn(fd);
            return;
        }
        w = 0;
    }
    p = malloc(sizeof *p + (size_t)(n - w));
    if (p == NULL) {
        close_conn(fd);
        return;
    }
    p->fd = fd;
    p->off = 0;
    p->len = (size_t)(n - w);
    memcpy(p->data, read_buf + w, p->len);
    ev.events = EPOLLOUT;
    ev.data.ptr = p;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        free(p);
        close_conn(fd);
    }
}

static void on_writable(struct pending *p)
{
    struct epoll_event ev;
    int fd = p->fd;
    ssize_t w = send(fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);

    if (w < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        free(p);
        close_conn(fd);
        return;
    }
    p->off += (size_t)w;
    if (p->off < p->len)
        return;
    free(p);
    ev.events = EPOLLIN;
    ev.data.u64 = idle_data(fd);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
        close_conn(fd);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "HOST:PORT" or "[HOST]:PORT" -> a bound, listening, non-blocking socket;
 * the bound address goes to out as the same form. */
static int listen_on(const char *spec, char *out, size_t out_size)
{
    char host[256], port[16], hbuf[NI_MAXHOST], sbuf[NI_MAXSERV];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    size_t hlen;
    int fd, one = 1;

    if (colon == NULL || strlen(colon + 1) >= sizeof port)
        return -1;
    hlen = (size_t)(colon - spec);
    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        spec++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof host)
        return -1;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return -1;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, hbuf, sizeof hbuf, sbuf,
                    sizeof sbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    snprintf(out, out_size, strchr(hbuf, ':') ? "[%s]:%s" : "%s:%s", hbuf,
             sbuf);
    return fd;
}

int main(int argc, char **argv)
{
    static struct epoll_event events[MAX_EVENTS];
    const char *spec = "127.0.0.1:7000";
    char bound[NI_MAXHOST + NI_MAXSERV + 4];
    struct sigaction sa;
    struct epoll_event ev;
    sigset_t block, wait_mask;
    long stats_ms = 0;
    int64_t next_stats = 0;
    int i, lfd;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            spec = argv[++i];
        } else if (strcmp(argv[i], "--stats") == 0 && i + 1 < argc) {
            stats_ms = strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--listen ADDR] [--stats MS]\n",
                    argv[0]);
            return 2;
        }
    }

    /* SIGINT and SIGTERM are blocked except inside epoll_pwait, so a signal
     * either interrupts the wait or waits for the next one: none is lost
     * between the flag's check and the wait. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigprocmask(SIG_BLOCK, &block, &wait_mask) != 0) {
        perror("epoll-echo: signals");
        return 1;
    }
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);

    lfd = listen_on(spec, bound, sizeof bound);
    if (lfd < 0) {
        fprintf(stderr, "epoll-echo: cannot listen on %s\n", spec);
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    ev.events = EPOLLIN;
    ev.data.u64 = LISTENER_DATA;
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) {
        perror("epoll-echo: epoll");
        return 1;
    }
    printf("listening on %s (backend floor-epoll)\n", bound);
    fflush(stdout);
    if (stats_ms > 0)
        next_stats = now_ms() + stats_ms;

    while (!stop_requested) {
        int timeout = -1;
        int n;

        if (stats_ms > 0) {
            int64_t now = now_ms();

            if (now >= next_stats) {
                fprintf(stderr, "stats: open=%lu peak=%lu accepted=%lu\n",
                        open_conns, peak_conns, accepted_conns);
                fflush(stderr);
                next_stats = now + stats_ms;
            }
            timeout = (int)(next_stats - now);
        }
        n = epoll_pwait(epfd, events, MAX_EVENTS, timeout, &wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll-echo: epoll_pwait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            uint64_t data = events[i].data.u64;

            if (data == LISTENER_DATA)
                accept_all(lfd);
            else if (data & 1)
                on_readable((int)(data / 2));
            else
                on_writable(events[i].data.ptr);
        }
    }
    return 0;
}
