/* POSIX platform layer: the types and primitives portable/ uses. */
#ifndef XPR_SYS_H
#define XPR_SYS_H

#include <pthread.h>
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

/* A joinable thread. */
typedef struct {
    pthread_t id;
} xpr__thread;
/* 0, or XPR_ENOMEM / a system error when no thread could be made. */
int xpr__thread_start(xpr__thread *t, void (*fn)(void *arg), void *arg);
void xpr__thread_join(xpr__thread *t);
/* Processors online (at least 1). */
unsigned xpr__cpu_count(void);

#define XPR__THREAD_LOCAL _Thread_local

/* Monotonic milliseconds. */
uint64_t xpr__now_ms(void);
/* Blocks the calling thread for about ms milliseconds. */
void xpr__sleep_ms(unsigned ms);

#endif
