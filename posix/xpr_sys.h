/* POSIX platform layer: the types and primitives portable/ uses. */
#ifndef XPR_SYS_H
#define XPR_SYS_H

#include <pthread.h>
#include <stdint.h>

typedef int xpr_socket_t;
#define XPR__INVALID_SOCKET (-1)

typedef pthread_mutex_t xpr__mutex;
typedef pthread_t xpr__thread_id;

int xpr__mutex_init(xpr__mutex *m);
void xpr__mutex_destroy(xpr__mutex *m);
void xpr__mutex_lock(xpr__mutex *m);
void xpr__mutex_unlock(xpr__mutex *m);

/* Runs fn exactly once per flag, whichever thread comes first; the others
 * wait until it has returned. */
typedef pthread_once_t xpr__once_flag;
#define XPR__ONCE_INIT PTHREAD_ONCE_INIT
void xpr__call_once(xpr__once_flag *flag, void (*fn)(void));

xpr__thread_id xpr__thread_self(void);
int xpr__thread_equal(xpr__thread_id a, xpr__thread_id b);

#define XPR__THREAD_LOCAL _Thread_local

/* Monotonic milliseconds. */
uint64_t xpr__now_ms(void);

#endif
