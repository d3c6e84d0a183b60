/* POSIX platform layer: the types and primitives portable/ uses. */
#ifndef XPR_SYS_H
#define XPR_SYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef int xpr_socket_t;
#define XPR__INVALID_SOCKET (-1)

typedef pthread_mutex_t xpr__mutex;

int xpr__mutex_init(xpr__mutex *m);
void xpr__mutex_destroy(xpr__mutex *m);
void xpr__mutex_lock(xpr__mutex *m);
void xpr__mutex_unlock(xpr__mutex *m);

/* Runs fn exactly once per flag, whichever thread comes first; the others
 * wait until it has returned. */
typedef pthread_once_t xpr__once_flag;
#define XPR__ONCE_INIT PTHREAD_ONCE_INIT
void xpr__call_once(xpr__once_flag *flag, void (*fn)(void));

/* A condition variable on the monotonic clock, used with an xpr__mutex. */
typedef pthread_cond_t xpr__cond;

int xpr__cond_init(xpr__cond *c);
void xpr__cond_destroy(xpr__cond *c);
/* Releases m, waits for a signal or timeout_ms (-1: no limit), takes m
 * again. May return early: callers check their condition in a loop. */
void xpr__cond_wait(xpr__cond *c, xpr__mutex *m, int timeout_ms);
void xpr__cond_signal(xpr__cond *c);
void xpr__cond_broadcast(xpr__cond *c);

/* A joinable thread; it reads fn and arg from the struct, which stays in
 * place until joined. */
typedef struct {
    pthread_t id;
    void (*fn)(void *arg);
    void *arg;
} xpr__thread;
/* 0, or XPR_ENOMEM / a system error when no thread could be made. */
int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg);
/* The same with a stack of stack_size bytes (0: the system's default). */
int xpr__thread_start_sized(xpr__thread *t, void (*fn)(void *arg), void *arg,
                            size_t stack_size);
void xpr__thread_join(xpr__thread *t);
/* Processors online (at least 1). */
unsigned xpr__cpu_count(void);

#define XPR__THREAD_LOCAL _Thread_local

/* An int that threads share without a lock. Loads acquire, stores release,
 * and a compare-and-swap is sequentially consistent; the struct keeps plain
 * reads and writes from compiling. */
typedef struct {
    int v;
} xpr__atomic_int;

static inline int xpr__atomic_load(const xpr__atomic_int *a)
{
    return __atomic_load_n(&a->v, __ATOMIC_ACQUIRE);
}

static inline void xpr__atomic_store(xpr__atomic_int *a, int v)
{
    __atomic_store_n(&a->v, v, __ATOMIC_RELEASE);
}

/* Sets *a to desired if it holds expected; returns whether it did. */
static inline int xpr__atomic_cas(xpr__atomic_int *a, int expected, int desired)
{
    return __atomic_compare_exchange_n(&a->v, &expected, desired, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Monotonic milliseconds. */
uint64_t xpr__now_ms(void);
/* Blocks the calling thread for about ms milliseconds. */
void xpr__sleep_ms(unsigned ms);

#endif
