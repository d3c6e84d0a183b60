#ifdef _WIN32
#include <process.h>
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#endif

#include <stdlib.h>

#include "platform.h"

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

#endif
