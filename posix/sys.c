/* POSIX primitives for portable/: mutex, thread identity, clock. */
#include "xpr_sys.h"

#include <time.h>

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

xpr__thread_id xpr__thread_self(void)
{
    return pthread_self();
}

int xpr__thread_equal(xpr__thread_id a, xpr__thread_id b)
{
    return pthread_equal(a, b);
}

uint64_t xpr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
