/* The loop: creation, the run cycle, stop, free, stats. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "poller.h"
#include "resolve.h"
#include "signals.h"
#include "sock.h"
#include "udp.h"

#define DEFAULT_READ_BUFFER 65536

static const char *chosen_backend_name(const struct xpr_loop_config *cfg)
{
    const char *env;
    if (cfg->backend != NULL)
        return cfg->backend;
    env = getenv("XPR_BACKEND");
    if (env != NULL && env[0] != '\0')
        return env;
    return xpr_backend_default();
}

/* cfg.workers 0 means one per CPU where the back end supports workers
 * (docs/design.md, "Workers"), else 1. */
static unsigned resolve_workers(const struct xpr_backend_entry *entry,
                                unsigned asked)
{
    unsigned n;
    if (!(entry->flags & XPR__BACKEND_WORKERS))
        return 1;
    if (asked > 0)
        return asked;
    n = xpr__cpu_count();
    return n > XPR__MAX_WORKERS ? XPR__MAX_WORKERS : n;
}

int xpr_loop_new(xpr_loop **loop_out, const struct xpr_loop_config *cfg)
{
    struct xpr_loop_config config;
    const struct xpr_backend_entry *entry;
    xpr_loop *loop;
    int rc;

    if (loop_out == NULL)
        return XPR_EINVAL;
    if (cfg != NULL)
        config = *cfg;
    else
        memset(&config, 0, sizeof(config));
    if (config.read_mode > XPR_READ_PREPOSTED)
        return XPR_EINVAL;
    rc = xpr_backend_supported(chosen_backend_name(&config));
    if (rc != 0)
        return rc;
    entry = xpr__backend_find(chosen_backend_name(&config));
    if (config.workers > XPR__MAX_WORKERS)
        return XPR_EINVAL;
    if (config.workers > 1 && !(entry->flags & XPR__BACKEND_WORKERS))
        return XPR_ENOTSUP;
    rc = xpr__sock_global_init();
    if (rc != 0)
        return rc;

    loop = xpr__calloc(1, sizeof(*loop));
    if (loop == NULL)
        return XPR_ENOMEM;
    loop->entry = entry;
    loop->ops = entry->ops;
    loop->conn_flags = entry->ops->conn_flags;
    loop->poller = entry->poller;
    loop->cfg = config;
    loop->cfg.backend = entry->name;
    loop->read_buf_size =
        config.read_buffer_size ? config.read_buffer_size : DEFAULT_READ_BUFFER;
    loop->read_buf = xpr__malloc(loop->read_buf_size);
    xpr__heap_init(&loop->timer_heap);
    xpr__list_init(&loop->timers);
    xpr__list_init(&loop->conns);
    xpr__list_init(&loop->finished);
    xpr__list_init(&loop->listeners);
    xpr__list_init(&loop->watchers);
    xpr__list_init(&loop->udps);
    xpr__list_init(&loop->udp_finished);
    loop->workers = resolve_workers(entry, config.workers);
    loop->reserve_sock = XPR__INVALID_SOCKET;
    loop->now_ms = xpr__now_ms();
    rc = XPR_ENOMEM;
    if (loop->read_buf == NULL || xpr__mutex_init(&loop->post_lock) != 0)
        goto no_locks;
    if (xpr__mutex_init(&loop->run_lock) != 0) {
        xpr__mutex_destroy(&loop->post_lock);
        goto no_locks;
    }
    rc = loop->poller ? loop->poller->init(loop, &loop->poller_state) : 0;
    if (rc != 0)
        goto fail;
    rc = loop->ops->loop_init(loop);
    if (rc == 0) {
        *loop_out = loop;
        return 0;
    }
    if (loop->poller != NULL)
        loop->poller->free(loop->poller_state);
fail:
    xpr__mutex_destroy(&loop->run_lock);
    xpr__mutex_destroy(&loop->post_lock);
no_locks:
    free(loop->read_buf);
    free(loop);
    return rc;
}

/* The loop this thread is running (any worker of it), for thread checks. */
static XPR__THREAD_LOCAL xpr_loop *running_here;

/* A foreign thread that sees the run over (0) also sees everything the run
 * did: the run ends with a releasing store. */
int xpr__loop_check_thread(const xpr_loop *loop)
{
    if (xpr__atomic_load(&loop->running) && running_here != loop)
        return XPR_ETHREAD;
    return 0;
}

int xpr__loop_check_new(const xpr_loop *loop, int args_ok)
{
    if (loop == NULL || !args_ok || xpr__atomic_load(&loop->freeing))
        return XPR_EINVAL;
    return xpr__loop_check_thread(loop);
}

/* Runs the release callbacks of lent writes given back, then on_close for
 * every finished conn, then lets the back end free it. */
void xpr__loop_deliver_closes(xpr_loop *loop)
{
    struct xpr__link *link;
    xpr__wq_run_released(&loop->released);
    xpr__udp_deliver_closes(loop);
    while ((link = xpr__list_first(&loop->finished)) != NULL) {
        xpr_conn *c = XPR__CONTAINER(link, xpr_conn, link);
        xpr__list_remove(link);
        if (xpr__connect_retrying(c)) {
            xpr__connect_retry(c);
            continue;
        }
        if (c->cb->on_close != NULL)
            c->cb->on_close(c, c->close_err);
        xpr__conn_free(c);
    }
}

static int loop_alive(const xpr_loop *loop)
{
    return !xpr__list_empty(&loop->conns) ||
           !xpr__list_empty(&loop->listeners) ||
           !xpr__list_empty(&loop->finished) || loop->released.head != NULL ||
           loop->resolves_pending > 0 || loop->referenced_timers > 0 ||
           loop->referenced_watchers > 0 || loop->referenced_signals > 0 ||
           xpr__udp_alive(loop);
}

void xpr__loop_wait_begin(xpr_loop *loop)
{
    if (loop->locked_run)
        xpr__mutex_unlock(&loop->run_lock);
}

void xpr__loop_wait_end(xpr_loop *loop)
{
    if (loop->locked_run)
        xpr__mutex_lock(&loop->run_lock);
}

/* A failed wait (out of memory, out of buffers, a signal...) is retried
 * after a pause that doubles from 1 ms up to WAIT_BACKOFF_MAX_MS, and
 * counted. Only a wait that keeps failing for WAIT_FAILURE_LIMIT_MS ends the
 * run with its error: then the poller itself is broken, not the machine
 * loaded. Returns 0 to go on, or the error that ends the run. */
#define WAIT_BACKOFF_MAX_MS 100
#define WAIT_FAILURE_LIMIT_MS 30000

static int wait_failed(xpr_loop *loop, int rc)
{
    uint64_t now = xpr__now_ms();
    unsigned pause;
    loop->stats.wait_failures++;
    if (loop->wait_failures_in_row++ == 0)
        loop->wait_failing_since_ms = now;
    else if (now - loop->wait_failing_since_ms >= WAIT_FAILURE_LIMIT_MS)
        return rc;
    pause = loop->wait_failures_in_row < 8
                ? 1u << (loop->wait_failures_in_row - 1)
                : WAIT_BACKOFF_MAX_MS;
    if (pause > WAIT_BACKOFF_MAX_MS)
        pause = WAIT_BACKOFF_MAX_MS;
    xpr__loop_wait_begin(loop);
    xpr__sleep_ms(pause);
    xpr__loop_wait_end(loop);
    return 0;
}

/* Ends the run for every worker; each sees `leaving` at its next round. */
static void leave(xpr_loop *loop, int rc)
{
    if (loop->leaving)
        return;
    loop->leaving = 1;
    loop->run_rc = rc;
}

/* The run cycle, on every worker; with workers > 1 under run_lock except
 * inside the back end's wait. */
static void run_cycle(xpr_loop *loop, enum xpr_run_mode mode)
{
    xpr_loop *outer = running_here; /* a loop run from a callback of another */
    running_here = loop;
    while (!loop->leaving) {
        int timeout, more_posts, rc, stop;
        loop->now_ms = xpr__now_ms();
        stop = xpr__loop_run_posts(loop, &more_posts);
        xpr__loop_deliver_closes(loop);
        if (stop || (!loop_alive(loop) && !more_posts)) {
            leave(loop, 0);
            break;
        }
        timeout = xpr__timers_timeout(loop);
        if (more_posts || mode == XPR_RUN_NOWAIT)
            timeout = 0;
        rc = loop->ops->run_once(loop, timeout);
        if (rc == 0)
            loop->wait_failures_in_row = 0;
        else if ((rc = wait_failed(loop, rc)) != 0) {
            leave(loop, rc);
            break;
        }
        loop->now_ms = xpr__now_ms();
        xpr__timers_run(loop);
        xpr__loop_deliver_closes(loop);
        if (mode != XPR_RUN_DEFAULT) {
            leave(loop, 0);
            break;
        }
    }
    /* An exit packet for the next worker, which may be blocked in its wait.
     * One per worker, passed on as each leaves: a wait that takes a batch
     * may swallow several packets at once, so a round of them sent by the
     * first to leave could miss a worker. */
    if (--loop->workers_running > 0)
        loop->ops->wake(loop);
    running_here = outer;
}

static void worker_main(void *arg)
{
    xpr_loop *loop = arg;
    xpr__mutex_lock(&loop->run_lock);
    run_cycle(loop, XPR_RUN_DEFAULT);
    xpr__mutex_unlock(&loop->run_lock);
}

/* Workers beyond the caller's thread; the run holds run_lock meanwhile. */
static int run_workers(xpr_loop *loop)
{
    xpr__thread threads[XPR__MAX_WORKERS];
    unsigned started = 0, i;
    int rc = 0;
    loop->locked_run = 1;
    xpr__mutex_lock(&loop->run_lock);
    while (started + 1 < loop->workers) {
        rc = xpr__thread_start(&threads[started], worker_main, loop);
        if (rc != 0)
            break;
        started++;
        loop->workers_running++;
    }
    if (rc != 0)
        leave(loop, rc); /* the started ones see it and leave at once */
    run_cycle(loop, XPR_RUN_DEFAULT);
    xpr__mutex_unlock(&loop->run_lock);
    for (i = 0; i < started; i++)
        xpr__thread_join(&threads[i]);
    loop->locked_run = 0;
    return loop->run_rc;
}

int xpr_loop_run(xpr_loop *loop)
{
    return xpr_loop_run_mode(loop, XPR_RUN_DEFAULT);
}

int xpr_loop_run_mode(xpr_loop *loop, enum xpr_run_mode mode)
{
    int rc;
    if (loop == NULL || xpr__atomic_load(&loop->freeing) ||
        (mode != XPR_RUN_DEFAULT && mode != XPR_RUN_ONCE &&
         mode != XPR_RUN_NOWAIT))
        return XPR_EINVAL;
    /* Of two threads that call it at once on an idle loop, one runs it and
     * the other gets XPR_ETHREAD. */
    if (!xpr__atomic_cas(&loop->running, 0, 1))
        return running_here == loop ? XPR_EBUSY : XPR_ETHREAD;
    loop->leaving = 0;
    loop->run_rc = 0;
    loop->workers_running = 1;
    if (loop->workers > 1 && mode == XPR_RUN_DEFAULT) {
        rc = run_workers(loop);
    } else {
        run_cycle(loop, mode);
        rc = loop->run_rc;
    }
    xpr__atomic_store(&loop->running, 0);
    if (rc == 0 && mode != XPR_RUN_DEFAULT)
        rc = loop_alive(loop);
    return rc;
}

uint64_t xpr_loop_now(const xpr_loop *loop)
{
    return loop != NULL ? loop->now_ms : 0;
}

void xpr_loop_update_time(xpr_loop *loop)
{
    if (loop != NULL && xpr__loop_check_thread(loop) == 0)
        loop->now_ms = xpr__now_ms();
}

int xpr_loop_stop(xpr_loop *loop)
{
    if (loop == NULL)
        return XPR_EINVAL;
    xpr__mutex_lock(&loop->post_lock);
    loop->stop_requested = 1;
    xpr__mutex_unlock(&loop->post_lock);
    loop->ops->wake(loop);
    return 0;
}

/* A back end that needs the loop to run after everything was closed (to
 * reap completions) gets up to this many rounds of run_once. */
#define FREE_REAP_ROUNDS 1000

void xpr_loop_free(xpr_loop *loop)
{
    struct xpr__link *link;
    int rounds;
    if (loop == NULL || xpr__atomic_load(&loop->running))
        return;
    xpr__atomic_store(&loop->freeing, 1);
    xpr__signals_loop_free(loop);
    xpr__watchers_loop_free(loop);
    xpr__resolver_free(loop);
    while ((link = xpr__list_first(&loop->listeners)) != NULL)
        xpr_listener_close(XPR__CONTAINER(link, xpr_listener, link));
    link = xpr__list_first(&loop->conns);
    while (link != NULL && link != &loop->conns.head) {
        struct xpr__link *next = link->next; /* cancel may unlink it */
        xpr__conn_end(XPR__CONTAINER(link, xpr_conn, link), XPR_ECANCELED);
        link = next;
    }
    xpr__udp_cancel_all(loop);
    /* completion back ends finish a conn or a UDP handle only once its I/O
     * is reaped */
    for (rounds = 0;
         (!xpr__list_empty(&loop->conns) || xpr__udp_closing(loop)) &&
         rounds < FREE_REAP_ROUNDS;
         rounds++)
        loop->ops->run_once(loop, 10);
    xpr__loop_deliver_closes(loop);
    {
        int more;
        do {
            xpr__loop_run_posts(loop, &more);
        } while (more);
    }
    while ((link = xpr__list_first(&loop->timers)) != NULL)
        xpr_timer_free(XPR__CONTAINER(link, xpr_timer, link));
    loop->ops->loop_free(loop);
    if (loop->reserve_sock != XPR__INVALID_SOCKET)
        xpr__sock_close(loop->reserve_sock, 0);
    if (loop->poller != NULL)
        loop->poller->free(loop->poller_state);
    xpr__heap_free(&loop->timer_heap);
    xpr__mutex_destroy(&loop->run_lock);
    xpr__mutex_destroy(&loop->post_lock);
    free(loop->read_buf);
    free(loop);
}

const char *xpr_loop_backend(const xpr_loop *loop)
{
    return loop ? loop->entry->name : NULL;
}

int xpr_loop_stats(xpr_loop *loop, struct xpr_loop_stats *stats)
{
    int rc =
        loop == NULL || stats == NULL
            ? XPR_EINVAL
            : xpr__loop_check_thread(loop); /* the counters are the run's */
    if (rc != 0)
        return rc;
    *stats = loop->stats;
    xpr__mutex_lock(&loop->post_lock);
    stats->pending_posts = loop->posts_queued;
    xpr__mutex_unlock(&loop->post_lock);
    return 0;
}

int xpr_loop_completion_stats(xpr_loop *loop,
                              struct xpr_completion_stats *stats)
{
    int rc = loop == NULL || stats == NULL ? XPR_EINVAL
                                           : xpr__loop_check_thread(loop);
    if (rc != 0)
        return rc;
    if (loop->ops->completion_stats == NULL)
        return XPR_ENOTSUP;
    loop->ops->completion_stats(loop, stats);
    return 0;
}
