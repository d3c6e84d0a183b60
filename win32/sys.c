/* Windows primitives for portable/: mutex, thread identity, clock. */
#include "xpr_winsock.h"

#include "xpr_sys.h"

/* xpr__mutex must be able to hold an SRWLOCK. */
typedef char
    xpr__mutex_holds_srwlock[sizeof(xpr__mutex) >= sizeof(SRWLOCK) ? 1 : -1];

int xpr__mutex_init(xpr__mutex *m)
{
    InitializeSRWLock((PSRWLOCK)m);
    return 0;
}

void xpr__mutex_destroy(xpr__mutex *m)
{
    (void)m; /* an SRWLOCK owns no resources */
}

void xpr__mutex_lock(xpr__mutex *m)
{
    AcquireSRWLockExclusive((PSRWLOCK)m);
}

void xpr__mutex_unlock(xpr__mutex *m)
{
    ReleaseSRWLockExclusive((PSRWLOCK)m);
}

static BOOL CALLBACK run_once(PINIT_ONCE once, PVOID fn, PVOID *ctx)
{
    (void)once;
    (void)ctx;
    ((void (*)(void))(uintptr_t)fn)();
    return TRUE;
}

void xpr__call_once(xpr__once_flag *flag, void (*fn)(void))
{
    InitOnceExecuteOnce((PINIT_ONCE)flag, run_once, (PVOID)(uintptr_t)fn, NULL);
}

xpr__thread_id xpr__thread_self(void)
{
    return GetCurrentThreadId();
}

int xpr__thread_equal(xpr__thread_id a, xpr__thread_id b)
{
    return a == b;
}

uint64_t xpr__now_ms(void)
{
    /* GetTickCount64 moves in ~15.6 ms ticks; QueryPerformanceCounter
     * gives the precision the timers promise. */
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (uint64_t)(now.QuadPart / (freq.QuadPart / 1000));
}
