/* Windows platform layer: the types and primitives portable/ uses. It does
 * not include <windows.h>, so the portable core compiles against plain C
 * types; win32/xpr_winsock.h is the one place Winsock comes in. */
#ifndef XPR_SYS_H
#define XPR_SYS_H

#include <stddef.h>
#include <stdint.h>

typedef uintptr_t xpr_socket_t; /* SOCKET */
#define XPR__INVALID_SOCKET (~(uintptr_t)0)

/* An SRWLOCK, which is one pointer and needs no destruction. */
typedef struct {
    void *opaque;
} xpr__mutex;

int xpr__mutex_init(xpr__mutex *m);
void xpr__mutex_destroy(xpr__mutex *m);
void xpr__mutex_lock(xpr__mutex *m);
void xpr__mutex_unlock(xpr__mutex *m);

/* Runs fn exactly once per flag (an INIT_ONCE), whichever thread comes
 * first; the others wait until it has returned. */
typedef struct {
    void *opaque;
} xpr__once_flag;
#define XPR__ONCE_INIT                                                         \
    {                                                                          \
        0                                                                      \
    }
void xpr__call_once(xpr__once_flag *flag, void (*fn)(void));

/* A CONDITION_VARIABLE (one pointer, no destruction), used with an
 * xpr__mutex (SleepConditionVariableSRW). */
typedef struct {
    void *opaque;
} xpr__cond;

int xpr__cond_init(xpr__cond *c);
void xpr__cond_destroy(xpr__cond *c);
/* Releases m, waits for a signal or timeout_ms (-1: no limit), takes m
 * again. May return early: callers check their condition in a loop. */
void xpr__cond_wait(xpr__cond *c, xpr__mutex *m, int timeout_ms);
void xpr__cond_signal(xpr__cond *c);
void xpr__cond_broadcast(xpr__cond *c);

/* A joinable thread (the HANDLE of _beginthreadex); it reads fn and arg
 * from the struct, which stays in place until joined. */
typedef struct {
    void *handle;
    void (*fn)(void *arg);
    void *arg;
} xpr__thread;
/* 0, or XPR_ENOMEM / a system error when no thread could be made. */
int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg);
/* The same with a stack of stack_size bytes reserved (0: the default). */
int xpr__thread_start_sized(xpr__thread *t, void (*fn)(void *arg), void *arg,
                            size_t stack_size);
void xpr__thread_join(xpr__thread *t);
/* Processors this process may run on (at least 1). */
unsigned xpr__cpu_count(void);
/* Whether this process runs under Wine (its ntdll exports
 * wine_get_version): Wine-only workarounds ask it, each at its place. */
int xpr__under_wine(void);

#if defined(_MSC_VER)
#define XPR__THREAD_LOCAL __declspec(thread)
#else
#define XPR__THREAD_LOCAL _Thread_local
#endif

/* An int that threads share without a lock (a LONG for the Interlocked
 * functions). Loads acquire, stores release, and a compare-and-swap is
 * sequentially consistent; the struct keeps plain reads and writes from
 * compiling. */
typedef struct {
    volatile long v;
} xpr__atomic_int;

int xpr__atomic_load(const xpr__atomic_int *a);
void xpr__atomic_store(xpr__atomic_int *a, int v);
/* Sets *a to desired if it holds expected; returns whether it did. */
int xpr__atomic_cas(xpr__atomic_int *a, int expected, int desired);

/* Monotonic milliseconds. */
uint64_t xpr__now_ms(void);
/* Blocks the calling thread for about ms milliseconds. */
void xpr__sleep_ms(unsigned ms);

#endif
