#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <process.h>
#include <wchar.h>
#include <windows.h>
#include <tlhelp32.h>
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "xpr.h"

struct test_thread {
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t id;
#endif
    void (*fn)(void *arg);
    void *arg;
};

#ifdef _WIN32

static unsigned __stdcall thread_main(void *p)
{
    struct test_thread *t = p;
    t->fn(t->arg);
    return 0;
}

int test_thread_start(struct test_thread **out, void (*fn)(void *arg),
                      void *arg)
{
    struct test_thread *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return -1;
    }
    t->fn = fn;
    t->arg = arg;
    t->handle = (HANDLE)_beginthreadex(NULL, 0, thread_main, t, 0, NULL);
    if (t->handle == NULL) {
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void test_thread_join(struct test_thread *thread)
{
    WaitForSingleObject(thread->handle, INFINITE);
    CloseHandle(thread->handle);
    free(thread);
}

long test_atomic_load(volatile long *p)
{
    return InterlockedCompareExchange(p, 0, 0);
}

void test_atomic_store(volatile long *p, long v)
{
    InterlockedExchange(p, v);
}

void test_yield(void)
{
    Sleep(0);
}

static void sleep_ms(unsigned ms)
{
    Sleep(ms);
}

/* QueryPerformanceCounter, not GetTickCount64: the tick count moves in
 * ~15.6 ms steps, too coarse to check that a timer did not fire early. */
uint64_t test_now_ms(void)
{
    LARGE_INTEGER frequency;
    LARGE_INTEGER counter;
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&counter);
    return (uint64_t)(counter.QuadPart / (frequency.QuadPart / 1000));
}

/* Not clock(): the Microsoft C runtime's clock() is wall time. */
uint64_t test_cpu_ms(void)
{
    FILETIME created, exited, kernel, user;
    ULARGE_INTEGER k, u;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel,
                         &user)) {
        return 0;
    }
    k.LowPart = kernel.dwLowDateTime;
    k.HighPart = kernel.dwHighDateTime;
    u.LowPart = user.dwLowDateTime;
    u.HighPart = user.dwHighDateTime;
    return (k.QuadPart + u.QuadPart) / 10000u; /* 100 ns units */
}

void test_raise_socket_limit(unsigned long want)
{
    (void)want; /* Winsock has no per-process descriptor limit to raise */
}

/* What an application may do inside a callback on Windows: an alertable
 * wait (queued APCs, completion routines among them, run in it) and a pump
 * of the thread's messages (window procedures run in it). */
unsigned test_alertable_wait_and_pump(void)
{
    unsigned ran = 0;
    MSG m;
    if (SleepEx(0, TRUE) == WAIT_IO_COMPLETION) {
        ran++;
    }
    while (PeekMessageW(&m, NULL, 0, 0, PM_REMOVE)) {
        if (m.message == WM_QUIT) {
            PostQuitMessage((int)m.wParam);
            break;
        }
        TranslateMessage(&m);
        DispatchMessageW(&m);
        ran++;
    }
    return ran;
}

int test_has_alertable_waits(void)
{
    return 1;
}

int test_under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* Handles are counted in ntdll's list of every process's handles
 * (SystemExtendedHandleInformation, 64), which has each handle's type:
 * threads are left out, since the system's thread pool keeps threads of
 * its own that come and go by its own rules (test_open_threads counts
 * threads). The type of threads is that of a handle to this thread made
 * for the count. Wine fills the list from the wineserver, sockets
 * included; its GetProcessHandleCount succeeds and says 0. */
struct system_handle_entry {
    PVOID object;
    ULONG_PTR process_id;
    ULONG_PTR handle;
    ULONG access;
    USHORT creator_back_trace;
    USHORT type_index;
    ULONG attributes;
    ULONG reserved;
};

struct system_handle_list {
    ULONG_PTR count;
    ULONG_PTR reserved;
    struct system_handle_entry entries[1];
};

typedef LONG(NTAPI *query_system_information_fn)(ULONG, PVOID, ULONG, PULONG);

#define SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004L)

/* Every handle of the system, or NULL; free() it. */
static struct system_handle_list *system_handles(void)
{
    query_system_information_fn query =
        (query_system_information_fn)(void (*)(void))GetProcAddress(
            GetModuleHandleW(L"ntdll.dll"), "NtQuerySystemInformation");
    ULONG size = 256 * 1024, got = 0;
    struct system_handle_list *list;
    LONG status;
    if (query == NULL) {
        return NULL;
    }
    for (;;) {
        list = malloc(size);
        if (list == NULL) {
            return NULL;
        }
        status = query(SYSTEM_EXTENDED_HANDLE_INFORMATION, list, size, &got);
        if (status != STATUS_INFO_LENGTH_MISMATCH || size >= (1u << 30)) {
            break;
        }
        free(list);
        size *= 2;
    }
    if (status != 0) {
        free(list);
        return NULL;
    }
    return list;
}

long test_open_handles(void)
{
    ULONG_PTR me = GetCurrentProcessId(), i;
    struct system_handle_list *list;
    HANDLE thread;
    int thread_type = -1;
    long n = 0;
    if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(),
                         GetCurrentProcess(), &thread, 0, FALSE,
                         DUPLICATE_SAME_ACCESS)) {
        return -1;
    }
    list = system_handles();
    if (list != NULL) {
        for (i = 0; i < list->count; i++) {
            if (list->entries[i].process_id == me &&
                list->entries[i].handle == (ULONG_PTR)thread) {
                thread_type = list->entries[i].type_index;
            }
        }
        for (i = 0; i < list->count && thread_type >= 0; i++) {
            if (list->entries[i].process_id == me &&
                list->entries[i].type_index != thread_type) {
                n++;
            }
        }
        free(list);
    }
    CloseHandle(thread);
    return thread_type >= 0 ? n : -1;
}

long test_open_threads(void)
{
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    DWORD me = GetCurrentProcessId();
    THREADENTRY32 entry;
    long n = 0;
    if (snapshot == INVALID_HANDLE_VALUE) {
        return -1;
    }
    entry.dwSize = sizeof(entry);
    if (Thread32First(snapshot, &entry)) {
        do {
            if (entry.th32OwnerProcessID == me) {
                n++;
            }
        } while (Thread32Next(snapshot, &entry));
    }
    CloseHandle(snapshot);
    return n;
}

/* The exit code test_process_kill gives: tells a kill from an exit. */
#define KILLED_EXIT_CODE 0xdead

struct test_process {
    HANDLE handle;
    int killed;
};

/* Appends text to the command line cmd (len wide characters, NUL
 * included), quoted: the arguments here hold no quotes or backslashes
 * before quotes, so quoting them whole is exact. */
static int append_quoted(WCHAR *cmd, size_t len, size_t *at, const WCHAR *text)
{
    size_t n = wcslen(text);
    if (*at + n + 4 > len) {
        return -1;
    }
    if (*at > 0) {
        cmd[(*at)++] = L' ';
    }
    cmd[(*at)++] = L'"';
    memcpy(cmd + *at, text, n * sizeof(WCHAR));
    *at += n;
    cmd[(*at)++] = L'"';
    cmd[*at] = L'\0';
    return 0;
}

int test_process_spawn_self(const char *argv0, const char *const *args,
                            unsigned n, struct test_process **out)
{
    WCHAR path[MAX_PATH];
    WCHAR cmd[4096];
    WCHAR arg[512];
    size_t at = 0;
    unsigned i;
    DWORD got;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    struct test_process *p;
    (void)argv0; /* the module's own path is exact; argv[0] may not be */

    got = GetModuleFileNameW(NULL, path, MAX_PATH);
    if (got == 0 || got >= MAX_PATH ||
        append_quoted(cmd, sizeof(cmd) / sizeof(cmd[0]), &at, path) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (MultiByteToWideChar(CP_UTF8, 0, args[i], -1, arg,
                                (int)(sizeof(arg) / sizeof(arg[0]))) == 0 ||
            append_quoted(cmd, sizeof(cmd) / sizeof(cmd[0]), &at, arg) != 0) {
            return -1;
        }
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -1;
    }
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    /* No handle is inherited: the child's standard handles are not this
     * process's (its output, if any, goes nowhere). */
    if (!CreateProcessW(path, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL,
                        NULL, &si, &pi)) {
        free(p);
        return -1;
    }
    CloseHandle(pi.hThread);
    p->handle = pi.hProcess;
    *out = p;
    return 0;
}

int test_process_kill(struct test_process *process)
{
    if (!TerminateProcess(process->handle, KILLED_EXIT_CODE)) {
        return -1;
    }
    process->killed = 1;
    return 0;
}

int test_process_wait(struct test_process *process)
{
    DWORD code = 0;
    int result = -1;
    if (WaitForSingleObject(process->handle, INFINITE) == WAIT_OBJECT_0 &&
        GetExitCodeProcess(process->handle, &code)) {
        result = process->killed && code == KILLED_EXIT_CODE ? 1 : 0;
    }
    CloseHandle(process->handle);
    free(process);
    return result;
}

unsigned long test_exhaust_descriptors(void)
{
    return 0;
}

void test_restore_descriptor_limit(unsigned long previous)
{
    (void)previous;
}

int test_socket_connect(long port, test_socket *out)
{
    struct sockaddr_in sin;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        closesocket(s);
        return -1;
    }
    *out = (test_socket)s;
    return 0;
}

int test_socket_send_all(test_socket s, const void *p, size_t n)
{
    const char *at = p;
    while (n > 0) {
        int sent = send((SOCKET)s, at, n > 65536 ? 65536 : (int)n, 0);
        if (sent <= 0) {
            return -1;
        }
        at += sent;
        n -= (size_t)sent;
    }
    return 0;
}

int test_socket_wait_closed(test_socket s, unsigned ms, size_t *received)
{
    DWORD timeout = ms;
    char buf[4096];
    *received = 0;
    setsockopt((SOCKET)s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout,
               sizeof(timeout));
    for (;;) {
        int n = recv((SOCKET)s, buf, sizeof(buf), 0);
        if (n > 0) {
            *received += (size_t)n;
        } else if (n == 0) {
            return 1;
        } else {
            return WSAGetLastError() == WSAETIMEDOUT ? 0 : 1;
        }
    }
}

void test_socket_close(test_socket s)
{
    closesocket((SOCKET)s);
}

int test_socket_pair(test_socket out[2])
{
    struct sockaddr_in sin;
    int len = (int)sizeof(sin);
    u_long nonblocking = 1;
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), c, a;
    if (l == INVALID_SOCKET) {
        return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (c == INVALID_SOCKET || bind(l, (struct sockaddr *)&sin, len) != 0 ||
        listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0 ||
        connect(c, (struct sockaddr *)&sin, len) != 0 ||
        (a = accept(l, NULL, NULL)) == INVALID_SOCKET) {
        if (c != INVALID_SOCKET) {
            closesocket(c);
        }
        closesocket(l);
        return -1;
    }
    closesocket(l);
    ioctlsocket(c, FIONBIO, &nonblocking);
    ioctlsocket(a, FIONBIO, &nonblocking);
    out[0] = (test_socket)c;
    out[1] = (test_socket)a;
    return 0;
}

void test_socket_reset(test_socket s)
{
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof(lg));
    closesocket((SOCKET)s);
}

static long socket_result(int n)
{
    if (n >= 0) {
        return n;
    }
    return WSAGetLastError() == WSAEWOULDBLOCK ? -1 : -2;
}

long test_socket_send(test_socket s, const void *p, size_t n)
{
    return socket_result(send((SOCKET)s, p, n > 65536 ? 65536 : (int)n, 0));
}

long test_socket_recv(test_socket s, void *p, size_t n)
{
    return socket_result(recv((SOCKET)s, p, n > 65536 ? 65536 : (int)n, 0));
}

int test_pipe(test_socket out[2])
{
    (void)out;
    return -1;
}

long test_pipe_read(test_socket fd, void *p, size_t n)
{
    (void)fd, (void)p, (void)n;
    return -2;
}

long test_pipe_write(test_socket fd, const void *p, size_t n)
{
    (void)fd, (void)p, (void)n;
    return -2;
}

#else

static void *thread_main(void *p)
{
    struct test_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

int test_thread_start(struct test_thread **out, void (*fn)(void *arg),
                      void *arg)
{
    struct test_thread *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return -1;
    }
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->id, NULL, thread_main, t) != 0) {
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void test_thread_join(struct test_thread *thread)
{
    pthread_join(thread->id, NULL);
    free(thread);
}

long test_atomic_load(volatile long *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

void test_atomic_store(volatile long *p, long v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

void test_yield(void)
{
    sched_yield();
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t test_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void test_raise_socket_limit(unsigned long want)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= want) {
        return;
    }
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= want
                       ? (rlim_t)want
                       : lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
}

unsigned test_alertable_wait_and_pump(void)
{
    return 0;
}

int test_has_alertable_waits(void)
{
    return 0;
}

int test_under_wine(void)
{
    return 0;
}

/* Entries of a /proc directory, or -1. */
static long count_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *entry;
    long n = 0;
    if (dir == NULL) {
        return -1;
    }
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n;
}

long test_open_handles(void)
{
    long n = count_entries("/proc/self/fd");
    return n < 0 ? -1 : n - 1; /* the directory's own descriptor */
}

long test_open_threads(void)
{
    return count_entries("/proc/self/task");
}

extern char **environ;

struct test_process {
    pid_t pid;
    int killed;
};

int test_process_spawn_self(const char *argv0, const char *const *args,
                            unsigned n, struct test_process **out)
{
    posix_spawn_file_actions_t actions;
    struct test_process *p;
    char **argv;
    unsigned i;
    int rc;

    p = calloc(1, sizeof(*p));
    argv = calloc(n + 2, sizeof(*argv));
    if (p == NULL || argv == NULL ||
        posix_spawn_file_actions_init(&actions) != 0) {
        free(p);
        free(argv);
        return -1;
    }
    argv[0] = (char *)argv0;
    for (i = 0; i < n; i++) {
        argv[i + 1] = (char *)args[i];
    }
    /* Standard output is the test's TAP stream: the child stays off it. */
    rc =
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (rc == 0) {
        rc = strchr(argv0, '/') != NULL
                 ? posix_spawn(&p->pid, argv0, &actions, NULL, argv, environ)
                 : posix_spawnp(&p->pid, argv0, &actions, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&actions);
    free(argv);
    if (rc != 0) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int test_process_kill(struct test_process *process)
{
    if (kill(process->pid, SIGKILL) != 0) {
        return -1;
    }
    process->killed = 1;
    return 0;
}

int test_process_wait(struct test_process *process)
{
    int status = 0;
    int result = -1;
    pid_t got;

    do {
        got = waitpid(process->pid, &status, 0);
    } while (got < 0 && errno == EINTR);
    if (got == process->pid) {
        result = process->killed && WIFSIGNALED(status) &&
                         WTERMSIG(status) == SIGKILL
                     ? 1
                     : 0;
    }
    free(process);
    return result;
}

/* Descriptors that fill the holes below the highest one in use, so that
 * the lowered limit leaves no free number at all. */
static int fillers[1024];
static int filler_count;

unsigned long test_exhaust_descriptors(void)
{
    struct rlimit lim;
    int highest = -1;
    int fd;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return 0;
    }
    for (fd = 0; fd < 65536 && (rlim_t)fd < lim.rlim_cur; fd++) {
        if (fcntl(fd, F_GETFD) != -1) {
            highest = fd;
        }
    }
    filler_count = 0;
    while (filler_count < 1024) {
        int filler = dup(0);
        if (filler < 0) {
            break;
        }
        if (filler > highest) {
            close(filler);
            break;
        }
        fillers[filler_count++] = filler;
    }
    {
        rlim_t previous = lim.rlim_cur;
        lim.rlim_cur = (rlim_t)highest + 1;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            test_restore_descriptor_limit(0);
            return 0;
        }
        return (unsigned long)previous;
    }
}

void test_restore_descriptor_limit(unsigned long previous)
{
    struct rlimit lim;
    while (filler_count > 0) {
        close(fillers[--filler_count]);
    }
    if (previous == 0 || getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return;
    }
    lim.rlim_cur = (rlim_t)previous;
    setrlimit(RLIMIT_NOFILE, &lim);
}

int test_socket_connect(long port, test_socket *out)
{
    struct sockaddr_in sin;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(s);
        return -1;
    }
    *out = (test_socket)s;
    return 0;
}

int test_socket_send_all(test_socket s, const void *p, size_t n)
{
    const char *at = p;
    while (n > 0) {
        ssize_t sent = send((int)s, at, n, MSG_NOSIGNAL);
        if (sent <= 0) {
            return -1;
        }
        at += sent;
        n -= (size_t)sent;
    }
    return 0;
}

int test_socket_wait_closed(test_socket s, unsigned ms, size_t *received)
{
    struct timeval tv;
    char buf[4096];
    *received = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    setsockopt((int)s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t n = recv((int)s, buf, sizeof(buf), 0);
        if (n > 0) {
            *received += (size_t)n;
        } else if (n == 0) {
            return 1;
        } else {
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
        }
    }
}

void test_socket_close(test_socket s)
{
    close((int)s);
}

int test_socket_pair(test_socket out[2])
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int l = socket(AF_INET, SOCK_STREAM, 0), c = -1, a = -1, i;
    if (l < 0) {
        return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&sin, len) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0 ||
        (c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(c, (struct sockaddr *)&sin, len) != 0 ||
        (a = accept(l, NULL, NULL)) < 0) {
        if (c >= 0) {
            close(c);
        }
        close(l);
        return -1;
    }
    close(l);
    out[0] = c;
    out[1] = a;
    for (i = 0; i < 2; i++) {
        fcntl((int)out[i], F_SETFL, fcntl((int)out[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

void test_socket_reset(test_socket s)
{
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt((int)s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close((int)s);
}

static long io_result(ssize_t n)
{
    if (n >= 0) {
        return (long)n;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
}

long test_socket_send(test_socket s, const void *p, size_t n)
{
    return io_result(send((int)s, p, n, MSG_NOSIGNAL));
}

long test_socket_recv(test_socket s, void *p, size_t n)
{
    return io_result(recv((int)s, p, n, 0));
}

int test_pipe(test_socket out[2])
{
    int fds[2], i;
    if (pipe(fds) != 0) {
        return -1;
    }
    for (i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        out[i] = fds[i];
    }
    return 0;
}

long test_pipe_read(test_socket fd, void *p, size_t n)
{
    return io_result(read((int)fd, p, n));
}

long test_pipe_write(test_socket fd, const void *p, size_t n)
{
    return io_result(write((int)fd, p, n));
}

#endif

#ifdef _WIN32

/* win32/signals.c: the handler xpr registers with SetConsoleCtrlHandler. */
BOOL WINAPI xpr__signal_console_handler(DWORD event);

static unsigned __stdcall console_event_thread(void *arg)
{
    xpr__signal_console_handler((DWORD)(uintptr_t)arg);
    return 0;
}

int test_raise_signal(int signum)
{
    DWORD event = signum == XPR_SIGINT   ? CTRL_C_EVENT
                  : signum == XPR_SIGHUP ? CTRL_CLOSE_EVENT
                                         : CTRL_SHUTDOWN_EVENT;
    HANDLE t = (HANDLE)_beginthreadex(NULL, 0, console_event_thread,
                                      (void *)(uintptr_t)event, 0, NULL);
    if (t == NULL)
        return -1;
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    return 0;
}

void test_signal_record_initial(void)
{
}

int test_signal_is_initial(int signum)
{
    (void)signum;
    return -1;
}

#else

int test_raise_signal(int signum)
{
    return kill(getpid(), signum) == 0 ? 0 : -1;
}

#define RECORDED_SIGNALS 32
static void (*initial_handlers[RECORDED_SIGNALS])(int);

void test_signal_record_initial(void)
{
    int signum;
    for (signum = 1; signum < RECORDED_SIGNALS; signum++) {
        struct sigaction sa;
        initial_handlers[signum] =
            sigaction(signum, NULL, &sa) == 0 ? sa.sa_handler : SIG_DFL;
    }
}

int test_signal_is_initial(int signum)
{
    struct sigaction sa;
    return signum > 0 && signum < RECORDED_SIGNALS &&
           sigaction(signum, NULL, &sa) == 0 &&
           sa.sa_handler == initial_handlers[signum];
}

#endif

long test_count_settles(long (*count)(void), long limit, unsigned max_ms)
{
    uint64_t deadline = test_now_ms() + max_ms;
    long n = count();
    while (n > limit && test_now_ms() < deadline) {
        sleep_ms(100);
        n = count();
    }
    return n;
}
