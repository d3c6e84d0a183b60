/* POSIX primitives for portable/: mutex, condition, threads, clock. */
#include "xpr_sys.h"

#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "xpr.h"

int xpr__mutex_init(xpr__mutex *m)
{
    return pthread_mutex_init(m, NULL) == 0 ? 0 : -1;
}

void xpr__mutex_destroy(xpr__mutex *m)
{
    pthread_mutex_destroy(m);
}

void xpr__mutex_lock(xpr__mutex *m)
{
    pthread_mutex_lock(m);
}

void xpr__mutex_unlock(xpr__mutex *m)
{
    pthread_mutex_unlock(m);
}

int xpr__cond_init(xpr__cond *c)
{
    pthread_condattr_t attr;
    int rc;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

void xpr__cond_destroy(xpr__cond *c)
{
    pthread_cond_destroy(c);
}

void xpr__cond_wait(xpr__cond *c, xpr__mutex *m, int timeout_ms)
{
    struct timespec until;
    if (timeout_ms < 0) {
        pthread_cond_wait(c, m);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(c, m, &until);
}

void xpr__cond_signal(xpr__cond *c)
{
    pthread_cond_signal(c);
}

void xpr__cond_broadcast(xpr__cond *c)
{
    pthread_cond_broadcast(c);
}

void xpr__call_once(xpr__once_flag *flag, void (*fn)(void))
{
    pthread_once(flag, fn);
}

static void *thread_main(void *p)
{
    xpr__thread *t = p;
    t->fn(t->arg);
    return NULL;
}

/* A stack below what the C runtime needs (PTHREAD_STACK_MIN, plus the
 * static TLS that glibc carves from the stack, which sanitizer runtimes
 * make large) fails with EINVAL: the thread then gets the default stack. */
int xpr__thread_start_sized(xpr__thread *t, void (*fn)(void *arg), void *arg,
                            size_t stack_size)
{
    if (xpr__fault(XPR__FAULT_ALLOC)) /* a thread's stack is memory too */
        return XPR_ENOMEM;
    pthread_attr_t attr;
    int rc = EINVAL;
    t->fn = fn;
    t->arg = arg;
    if (stack_size > 0 && pthread_attr_init(&attr) == 0) {
        if (stack_size < (size_t)PTHREAD_STACK_MIN)
            stack_size = (size_t)PTHREAD_STACK_MIN;
        if (pthread_attr_setstacksize(&attr, stack_size) == 0)
            rc = pthread_create(&t->id, &attr, thread_main, t);
        pthread_attr_destroy(&attr);
    }
    if (rc == EINVAL)
        rc = pthread_create(&t->id, NULL, thread_main, t);
    return rc == 0 ? 0 : XPR_ENOMEM;
}

int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg)
{
    return xpr__thread_start_sized(t, fn, arg, 0);
}

void xpr__thread_join(xpr__thread *t)
{
    pthread_join(t->id, NULL);
}

unsigned xpr__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

uint64_t xpr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void xpr__sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}
