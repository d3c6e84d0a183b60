/*
 * iocp-echo: the reference ("floor") echo server for ci/bench-wine.sh and
 * ci/soak.sh on Windows (run under Wine by those scripts). It uses an I/O
 * completion port directly, no xpr and no libevent, and does the least an
 * honest completion-port echo server does:
 *
 * - one thread calling GetQueuedCompletionStatus, one packet per call;
 * - ACCEPTS AcceptEx pre-posted on the listener, each without a receive
 *   buffer (it completes on connect, so a silent client is accepted too)
 *   and posted again as soon as it completes; accepted sockets get
 *   TCP_NODELAY (as xpr-echo server sets it);
 * - one operation in flight per connection: a WSARecv into the
 *   connection's own BUF_SIZE buffer, then a WSASend of the bytes it read
 *   from that same buffer, then the next WSARecv. A real buffer rather than
 *   zero-byte reads: a message then costs one WSARecv and one WSASend, the
 *   fewest calls an echo over a completion port makes, which is what a speed
 *   floor is for. The price is memory: every connection, idle or not, owns
 *   its buffer (a zero-byte read followed by a non-blocking recv pins none,
 *   at the cost of one more call per message). BUF_SIZE holds the 4 x 4 KiB
 *   a ci/bench.sh 100x4K connection has in flight at once.
 *
 * Left out on purpose, as a floor is not a product: skip-on-success
 * (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: every operation queues a packet,
 * even one that completed at once), GetQueuedCompletionStatusEx batches,
 * worker threads, running out of sockets or memory (the accept or the
 * connection it was for is dropped), timeouts of silent peers, limits on
 * connections, an orderly shutdown (Ctrl-C or a console close ends the
 * process, which closes every socket), and anything but plain echo.
 *
 * Usage: iocp-echo [--listen ADDR] [--stats MS]
 *   ADDR is HOST:PORT or [HOST]:PORT with a numeric host (default
 *   127.0.0.1:7000; port 0 takes any). It prints "listening on ADDR
 *   (backend floor-iocp)" like xpr-echo server, and with --stats one line
 *   "stats: open=N peak=N accepted=N" every MS milliseconds (ci/soak.sh
 *   reads it).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPTS 64
#define BUF_SIZE 16384
/* AcceptEx wants room for each address plus 16 bytes. */
#define ADDR_SLOT (sizeof(struct sockaddr_in6) + 16)

/* Completion keys: which kind of object the OVERLAPPED belongs to. */
#define KEY_ACCEPT 1
#define KEY_CONN 2
#define KEY_STOP 3

struct accept_slot {
    OVERLAPPED ov; /* first: the packet's OVERLAPPED is the slot */
    SOCKET sock;
    char addrs[2 * ADDR_SLOT];
};

struct conn {
    OVERLAPPED ov; /* first: the packet's OVERLAPPED is the conn */
    SOCKET sock;
    int sending; /* the operation in flight: 0 WSARecv, 1 WSASend */
    DWORD len;   /* bytes read into buf */
    DWORD sent;  /* of them, bytes sent */
    char buf[BUF_SIZE];
};

static HANDLE port;
static SOCKET listener = INVALID_SOCKET;
static int family;
static LPFN_ACCEPTEX accept_ex;
static struct accept_slot slots[ACCEPTS];
static volatile LONG stop_requested;
static unsigned long open_conns, peak_conns, accepted_conns;

static BOOL WINAPI on_console_event(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
        InterlockedExchange(&stop_requested, 1);
        PostQueuedCompletionStatus(port, 0, KEY_STOP, NULL);
        return TRUE;
    default:
        return FALSE;
    }
}

static void close_conn(struct conn *c)
{
    closesocket(c->sock);
    free(c);
    open_conns--;
}

static void post_recv(struct conn *c)
{
    WSABUF wb;
    DWORD flags = 0;

    memset(&c->ov, 0, sizeof c->ov);
    c->sending = 0;
    wb.buf = c->buf;
    wb.len = BUF_SIZE;
    if (WSARecv(c->sock, &wb, 1, NULL, &flags, &c->ov, NULL) != 0 &&
        WSAGetLastError() != WSA_IO_PENDING)
        close_conn(c);
}

static void post_send(struct conn *c)
{
    WSABUF wb;

    memset(&c->ov, 0, sizeof c->ov);
    c->sending = 1;
    wb.buf = c->buf + c->sent;
    wb.len = c->len - c->sent;
    if (WSASend(c->sock, &wb, 1, NULL, 0, &c->ov, NULL) != 0 &&
        WSAGetLastError() != WSA_IO_PENDING)
        close_conn(c);
}

/* An operation of c completed with n bytes (ok: it succeeded). */
static void on_conn_done(struct conn *c, BOOL ok, DWORD n)
{
    if (!ok || (!c->sending && n == 0)) { /* error, or the peer's FIN */
        close_conn(c);
        return;
    }
    if (!c->sending) {
        c->len = n;
        c->sent = 0;
        post_send(c);
        return;
    }
    c->sent += n;
    if (c->sent < c->len)
        post_send(c);
    else
        post_recv(c);
}

static void post_accept(struct accept_slot *s)
{
    DWORD n;

    s->sock = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                         WSA_FLAG_OVERLAPPED);
    if (s->sock == INVALID_SOCKET)
        return;
    memset(&s->ov, 0, sizeof s->ov);
    if (!accept_ex(listener, s->sock, s->addrs, 0, ADDR_SLOT, ADDR_SLOT, &n,
                   &s->ov) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
        closesocket(s->sock);
        s->sock = INVALID_SOCKET;
    }
}

/* The AcceptEx of s completed (ok: it succeeded): make its socket a
 * connection, reading at once, and post the slot again. */
static void on_accept_done(struct accept_slot *s, BOOL ok)
{
    SOCKET sock = s->sock;
    struct conn *c;
    BOOL one = TRUE;

    post_accept(s);
    if (!ok) { /* the client reset before the accept completed */
        closesocket(sock);
        return;
    }
    c = malloc(sizeof *c);
    if (c == NULL ||
        setsockopt(sock, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                   (const char *)&listener, sizeof listener) != 0 ||
        CreateIoCompletionPort((HANDLE)sock, port, KEY_CONN, 0) == NULL) {
        free(c);
        closesocket(sock);
        return;
    }
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    c->sock = sock;
    accepted_conns++;
    if (++open_conns > peak_conns)
        peak_conns = open_conns;
    post_recv(c);
}

/* "HOST:PORT" or "[HOST]:PORT" -> a bound, listening socket on the port;
 * the bound address goes to out as the same form. */
static int listen_on(const char *spec, char *out, size_t out_size)
{
    char host[256], portstr[16], hbuf[NI_MAXHOST], sbuf[NI_MAXSERV];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    size_t hlen;
    GUID guid = WSAID_ACCEPTEX;
    DWORD n;

    if (colon == NULL || strlen(colon + 1) >= sizeof portstr)
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
    memcpy(portstr, colon + 1, strlen(colon + 1) + 1);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    if (getaddrinfo(host, portstr, &hints, &ai) != 0)
        return -1;
    family = ai->ai_family;
    listener = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED);
    if (listener == INVALID_SOCKET ||
        bind(listener, ai->ai_addr, (int)ai->ai_addrlen) != 0 ||
        listen(listener, SOMAXCONN) != 0 ||
        getsockname(listener, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, (socklen_t)len, hbuf, sizeof hbuf,
                    sbuf, sizeof sbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
        WSAIoctl(listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
                 sizeof guid, &accept_ex, sizeof accept_ex, &n, NULL,
                 NULL) != 0) {
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    snprintf(out, out_size, strchr(hbuf, ':') ? "[%s]:%s" : "%s:%s", hbuf,
             sbuf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *spec = "127.0.0.1:7000";
    char bound[NI_MAXHOST + NI_MAXSERV + 4];
    WSADATA wsa;
    long stats_ms = 0;
    DWORD next_stats = 0;
    int i;

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

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "iocp-echo: WSAStartup failed\n");
        return 1;
    }
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (port == NULL || listen_on(spec, bound, sizeof bound) != 0 ||
        CreateIoCompletionPort((HANDLE)listener, port, KEY_ACCEPT, 0) == NULL) {
        fprintf(stderr, "iocp-echo: cannot listen on %s (error %d)\n", spec,
                WSAGetLastError());
        return 1;
    }
    for (i = 0; i < ACCEPTS; i++)
        post_accept(&slots[i]);
    SetConsoleCtrlHandler(on_console_event, TRUE);
    printf("listening on %s (backend floor-iocp)\n", bound);
    fflush(stdout);
    if (stats_ms > 0)
        next_stats = GetTickCount() + (DWORD)stats_ms;

    while (!stop_requested) {
        DWORD timeout = INFINITE, n = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        BOOL ok;

        if (stats_ms > 0) {
            DWORD now = GetTickCount();

            if ((LONG)(now - next_stats) >= 0) {
                fprintf(stderr, "stats: open=%lu peak=%lu accepted=%lu\n",
                        open_conns, peak_conns, accepted_conns);
                fflush(stderr);
                next_stats = now + (DWORD)stats_ms;
            }
            timeout = next_stats - now;
        }
        ok = GetQueuedCompletionStatus(port, &n, &key, &ov, timeout);
        if (ov == NULL)
            continue; /* timed out, or the stop packet */
        if (key == KEY_ACCEPT)
            on_accept_done((struct accept_slot *)ov, ok);
        else
            on_conn_done((struct conn *)ov, ok, n);
    }
    return 0;
}
