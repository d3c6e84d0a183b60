#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stdin_reader.h"

#ifdef _WIN32
#include <windows.h>
static SRWLOCK lock = SRWLOCK_INIT;
#define LOCK() AcquireSRWLockExclusive(&lock)
#define UNLOCK() ReleaseSRWLockExclusive(&lock)
#else
#include <pthread.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCK() pthread_mutex_lock(&lock)
#define UNLOCK() pthread_mutex_unlock(&lock)
#endif

/* Set before the thread starts, read-only after; detached and running are
 * under the lock. */
static struct {
    xpr_loop *loop;
    stdin_line_cb cb;
    void *arg;
    int detached;
    int running;
} reader;

static void deliver(void *arg)
{
    reader.cb(arg, reader.arg);
}

/* Reads one line of any length (without the newline or CR). NULL at the end
 * of input; *end is -1 when out of memory. */
static struct stdin_line *read_line(int *end)
{
    struct stdin_line *line = NULL;
    size_t cap = 0, used = 0;

    *end = 0;
    for (;;) {
        if (cap - used < 2) {
            size_t grown_cap = cap ? cap * 2 : 256;
            struct stdin_line *grown =
                realloc(line, offsetof(struct stdin_line, text) + grown_cap);

            if (grown == NULL) {
                free(line);
                *end = -1;
                return NULL;
            }
            line = grown;
            cap = grown_cap;
        }
        if (fgets(line->text + used, (int)(cap - used), stdin) == NULL) {
            if (used == 0) {
                free(line);
                *end = 1;
                return NULL;
            }
            break;
        }
        used += strlen(line->text + used);
        if (used > 0 && line->text[used - 1] == '\n')
            break;
    }
    if (used > 0 && line->text[used - 1] == '\n')
        used--;
    if (used > 0 && line->text[used - 1] == '\r')
        used--;
    line->text[used] = '\0';
    line->len = used;
    line->end = 0;
    return line;
}

/* Posts line (or an end marker) unless detached; 0 to keep reading. */
static int post(struct stdin_line *line, int end)
{
    int posted = 0;

    if (line == NULL) {
        line = calloc(1, sizeof *line);
        if (line == NULL)
            return -1;
        line->end = end;
    }
    LOCK();
    if (!reader.detached)
        posted = xpr_loop_post(reader.loop, deliver, line) == 0;
    UNLOCK();
    if (!posted) {
        free(line);
        return -1;
    }
    return end != 0 ? -1 : 0;
}

static void reader_main(void)
{
    for (;;) {
        int end;
        struct stdin_line *line = read_line(&end);

        if (post(line, end) != 0)
            break;
    }
    LOCK();
    reader.running = 0;
    UNLOCK();
}

#ifdef _WIN32
static DWORD WINAPI thread_main(LPVOID unused)
{
    (void)unused;
    reader_main();
    return 0;
}

static int start_thread(void)
{
    HANDLE thread = CreateThread(NULL, 0, thread_main, NULL, 0, NULL);

    if (thread == NULL)
        return -1;
    CloseHandle(thread);
    return 0;
}
#else
static void *thread_main(void *unused)
{
    (void)unused;
    reader_main();
    return NULL;
}

static int start_thread(void)
{
    pthread_t thread;

    if (pthread_create(&thread, NULL, thread_main, NULL) != 0)
        return -1;
    pthread_detach(thread);
    return 0;
}
#endif

int stdin_reader_start(xpr_loop *loop, stdin_line_cb cb, void *arg)
{
    reader.loop = loop;
    reader.cb = cb;
    reader.arg = arg;
    reader.detached = 0;
    reader.running = 1;
    if (start_thread() != 0) {
        reader.running = 0;
        return -1;
    }
    return 0;
}

void stdin_reader_detach(void)
{
    LOCK();
    reader.detached = 1;
    UNLOCK();
}

int stdin_reader_running(void)
{
    int running;

    LOCK();
    running = reader.running;
    UNLOCK();
    return running;
}
