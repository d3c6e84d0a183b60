/* POSIX primitives for portable/: mutex, threads, clock. */
#include "xpr_sys.h"

#include <time.h>
#include <unistd.h>

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

int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    return pthread_create(&t->id, NULL, thread_main, t) == 0 ? 0 : XPR_ENOMEM;
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
