/* Windows primitives for portable/: mutex, condition, atomics, threads,
 * clock. */
#include "xpr_winsock.h"

#include <process.h>

#include "fault.h"
#include "xpr.h"
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

/* xpr__cond must be able to hold a CONDITION_VARIABLE. */
typedef char xpr__cond_holds_condition_variable
    [sizeof(xpr__cond) >= sizeof(CONDITION_VARIABLE) ? 1 : -1];

int xpr__cond_init(xpr__cond *c)
{
    InitializeConditionVariable((PCONDITION_VARIABLE)c);
    return 0;
}

void xpr__cond_destroy(xpr__cond *c)
{
    (void)c; /* a CONDITION_VARIABLE owns no resources */
}

void xpr__cond_wait(xpr__cond *c, xpr__mutex *m, int timeout_ms)
{
    SleepConditionVariableSRW((PCONDITION_VARIABLE)c, (PSRWLOCK)m,
                              timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, 0);
}

void xpr__cond_signal(xpr__cond *c)
{
    WakeConditionVariable((PCONDITION_VARIABLE)c);
}

void xpr__cond_broadcast(xpr__cond *c)
{
    WakeAllConditionVariable((PCONDITION_VARIABLE)c);
}

/* xpr__atomic_int must be a LONG for the Interlocked functions. */
typedef char xpr__atomic_is_long[sizeof(long) == sizeof(LONG) ? 1 : -1];

/* A plain aligned load, then a full barrier: no later access moves before
 * it (acquire on every architecture, not only x86's strong ordering). */
int xpr__atomic_load(const xpr__atomic_int *a)
{
    long v = a->v;
    MemoryBarrier();
    return (int)v;
}

/* InterlockedExchange is a full barrier: release and more. */
void xpr__atomic_store(xpr__atomic_int *a, int v)
{
    InterlockedExchange(&a->v, (LONG)v);
}

int xpr__atomic_cas(xpr__atomic_int *a, int expected, int desired)
{
    return InterlockedCompareExchange(&a->v, (LONG)desired, (LONG)expected) ==
           (LONG)expected;
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

/* _beginthreadex, not CreateThread: the thread may use the C runtime. */
static unsigned __stdcall thread_main(void *p)
{
    xpr__thread *t = p;
    t->fn(t->arg);
    return 0;
}

/* STACK_SIZE_PARAM_IS_A_RESERVATION: stack_size is the reserve (the
 * address space the stack may grow into), not the first commit. */
int xpr__thread_start_sized(xpr__thread *t, void (*fn)(void *arg), void *arg,
                            size_t stack_size)
{
    if (xpr__fault(XPR__FAULT_ALLOC)) /* a thread's stack is memory too */
        return XPR_ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->handle = (void *)_beginthreadex(
        NULL, (unsigned)stack_size, thread_main, t,
        stack_size > 0 ? STACK_SIZE_PARAM_IS_A_RESERVATION : 0, NULL);
    return t->handle != NULL ? 0 : XPR_ENOMEM;
}

int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg)
{
    return xpr__thread_start_sized(t, fn, arg, 0);
}

void xpr__thread_join(xpr__thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
    t->handle = NULL;
}

/* The CPUs this process may run on (its affinity mask, as `start
 * /affinity` or taskset under Wine leave it), else every active one: a
 * process spanning several processor groups reports no mask. */
unsigned xpr__cpu_count(void)
{
    DWORD_PTR mine = 0, system = 0;
    unsigned n = 0;
    if (GetProcessAffinityMask(GetCurrentProcess(), &mine, &system)) {
        for (; mine != 0; mine &= mine - 1)
            n++;
    }
    if (n == 0)
        n = (unsigned)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? n : 1;
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

void xpr__sleep_ms(unsigned ms)
{
    Sleep(ms);
}

int xpr__under_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}
