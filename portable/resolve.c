/*
 * Name resolution off the loop thread. getaddrinfo blocks, for as long as
 * the resolver takes, so xpr_resolve_start queues the lookup for a small
 * pool of threads of the loop (made as lookups wait, at most
 * RESOLVE_THREADS, joined by xpr_loop_free); a thread runs getaddrinfo and
 * posts the answer to the loop (xpr_loop_post), where the callback runs.
 *
 * A request is in the pool's queue, then with a thread, then posted; the
 * loop thread alone runs and frees it (deliver); a pending lookup keeps
 * xpr_loop_run running, as libuv's requests do. xpr_resolve_cancel
 * only marks it, and the callback then reports XPR_ECANCELED. A loop
 * being freed takes the queued requests back and waits for the running
 * lookups: their posts run inside xpr_loop_free, as XPR_ECANCELED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "loop_internal.h"
#include "resolve.h"
#include "sock.h"
#include "xpr_sockets.h"

#define RESOLVE_THREADS 4
#define HOST_MAX 256

struct xpr_resolve {
    xpr_loop *loop;
    xpr_resolve_cb cb;
    void *arg;
    char host[HOST_MAX];
    char port[6];
    int cancelled; /* loop thread */
    /* The answer, written by the pool's thread before it posts. */
    int err;
    struct xpr__addr *addrs;
    size_t count;
    struct xpr_resolve *next; /* in the queue */
};

struct xpr__resolver {
    xpr__mutex lock;
    xpr__cond work; /* a request queued, or stopping */
    struct xpr_resolve *head, *tail;
    struct xpr_resolve *undelivered; /* answers no post could carry */
    xpr__thread threads[RESOLVE_THREADS];
    unsigned started, idle;
    int stopping;
};

/* "host:port" into its parts; 0 or XPR_EINVAL. */
static int split(const char *text, char host[HOST_MAX], char port[6])
{
    const char *colon, *start = text, *end;
    size_t len, i;
    if (text[0] == '[') {
        end = strchr(text, ']');
        if (end == NULL || end[1] != ':')
            return XPR_EINVAL;
        start = text + 1;
        colon = end + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return XPR_EINVAL;
        end = colon;
    }
    len = (size_t)(end - start);
    if (len == 0 || len >= HOST_MAX || strlen(colon + 1) == 0 ||
        strlen(colon + 1) > 5)
        return XPR_EINVAL;
    for (i = 1; colon[i] != '\0'; i++)
        if (colon[i] < '0' || colon[i] > '9')
            return XPR_EINVAL;
    if (atol(colon + 1) > 65535)
        return XPR_EINVAL;
    memcpy(host, start, len);
    host[len] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int error_of(int gai)
{
    if (gai == EAI_NONAME || gai == EAI_FAIL)
        return XPR_ENOTFOUND;
#ifdef EAI_NODATA
    if (gai == EAI_NODATA)
        return XPR_ENOTFOUND;
#endif
    if (gai == EAI_AGAIN)
        return XPR_EAGAIN;
    if (gai == EAI_MEMORY)
        return XPR_ENOMEM;
    return XPR_EIO;
}

/* On a pool thread: the lookup, into r->err / r->addrs / r->count. */
static void look_up(struct xpr_resolve *r)
{
    struct addrinfo hints, *list = NULL, *ai;
    size_t n = 0;
    int gai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(r->host, r->port, &hints, &list);
    if (gai != 0) {
        r->err = error_of(gai);
        return;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next)
        n++;
    r->addrs = xpr__calloc(n, sizeof(*r->addrs));
    if (r->addrs == NULL) {
        r->err = XPR_ENOMEM;
    } else {
        for (ai = list; ai != NULL; ai = ai->ai_next)
            if (xpr__sock_addr_from_os(ai->ai_addr, (size_t)ai->ai_addrlen,
                                       &r->addrs[r->count]) == 0)
                r->count++;
        r->err = r->count > 0 ? 0 : XPR_ENOTFOUND;
    }
    freeaddrinfo(list);
}

/* On the loop thread: the callback, then the request is freed. */
static void deliver(void *arg)
{
    struct xpr_resolve *r = arg;
    char(*texts)[XPR_ADDRSTRLEN] = NULL;
    const char **list = NULL;
    size_t i, n = 0;
    int err = r->err;
    if (r->cancelled || xpr__atomic_load(&r->loop->freeing))
        err = XPR_ECANCELED;
    if (err == 0) {
        texts = xpr__malloc(r->count * sizeof(*texts));
        list = xpr__malloc(r->count * sizeof(*list));
        if (texts == NULL || list == NULL)
            err = XPR_ENOMEM;
        for (i = 0; err == 0 && i < r->count; i++) {
            if (xpr__addr_format(&r->addrs[i], texts[n], XPR_ADDRSTRLEN) != 0)
                continue;
            list[n] = texts[n];
            n++;
        }
    }
    r->loop->resolves_pending--;
    if (r->cb != NULL)
        r->cb(r, err, err == 0 ? list : NULL, err == 0 ? n : 0, r->arg);
    free(list);
    free(texts);
    free(r->addrs);
    free(r);
}

static void pool_main(void *arg)
{
    struct xpr__resolver *pool = arg;
    xpr__mutex_lock(&pool->lock);
    for (;;) {
        struct xpr_resolve *r;
        while (pool->head == NULL && !pool->stopping) {
            pool->idle++;
            xpr__cond_wait(&pool->work, &pool->lock, -1);
            pool->idle--;
        }
        if (pool->head == NULL)
            break; /* stopping, nothing left */
        r = pool->head;
        pool->head = r->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        xpr__mutex_unlock(&pool->lock);
        look_up(r);
        xpr__mutex_lock(&pool->lock);
        /* A post needs memory: without it the answer waits and is posted
         * again, or handed to xpr__resolver_free once the loop goes. */
        while (xpr_loop_post(r->loop, deliver, r) != 0) {
            if (pool->stopping) {
                r->next = pool->undelivered;
                pool->undelivered = r;
                break;
            }
            xpr__mutex_unlock(&pool->lock);
            xpr__sleep_ms(10);
            xpr__mutex_lock(&pool->lock);
        }
    }
    xpr__mutex_unlock(&pool->lock);
}

static struct xpr__resolver *pool_of(xpr_loop *loop)
{
    struct xpr__resolver *pool = loop->resolver;
    if (pool != NULL)
        return pool;
    pool = xpr__calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    if (xpr__mutex_init(&pool->lock) == 0) {
        if (xpr__cond_init(&pool->work) == 0) {
            loop->resolver = pool;
            return pool;
        }
        xpr__mutex_destroy(&pool->lock);
    }
    free(pool);
    return NULL;
}

int xpr__resolve_now(const char *host_port, struct xpr__addr **addrs,
                     size_t *count)
{
    struct xpr_resolve r;
    memset(&r, 0, sizeof(r));
    r.err = split(host_port, r.host, r.port);
    if (r.err == 0)
        look_up(&r);
    if (r.err != 0) {
        free(r.addrs);
        return r.err;
    }
    *addrs = r.addrs;
    *count = r.count;
    return 0;
}

int xpr__resolve_check(const char *host_port)
{
    char host[HOST_MAX], port[6];
    return host_port != NULL ? split(host_port, host, port) : XPR_EINVAL;
}

int xpr_resolve_start(xpr_loop *loop, const char *host_port, xpr_resolve_cb cb,
                      void *arg, xpr_resolve **out)
{
    struct xpr__resolver *pool;
    struct xpr_resolve *r;
    int rc = xpr__loop_check_new(loop, host_port != NULL && cb != NULL &&
                                           out != NULL);
    if (rc != 0)
        return rc;
    r = xpr__calloc(1, sizeof(*r));
    if (r == NULL)
        return XPR_ENOMEM;
    rc = split(host_port, r->host, r->port);
    if (rc == 0 && (pool = pool_of(loop)) == NULL)
        rc = XPR_ENOMEM;
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->loop = loop;
    r->cb = cb;
    r->arg = arg;
    xpr__mutex_lock(&pool->lock);
    if (pool->idle == 0 && pool->started < RESOLVE_THREADS &&
        xpr__thread_start(&pool->threads[pool->started], pool_main, pool) == 0)
        pool->started++;
    if (pool->started == 0) {
        xpr__mutex_unlock(&pool->lock);
        free(r);
        return XPR_ENOMEM; /* no thread to run it */
    }
    if (pool->tail != NULL)
        pool->tail->next = r;
    else
        pool->head = r;
    pool->tail = r;
    xpr__cond_signal(&pool->work);
    xpr__mutex_unlock(&pool->lock);
    loop->resolves_pending++;
    *out = r;
    return 0;
}

void xpr__resolve_abandon(xpr_resolve *req)
{
    req->cancelled = 1;
    req->cb = NULL; /* the answer is dropped unheard */
}

int xpr_resolve_cancel(xpr_resolve *req)
{
    int rc = req == NULL ? XPR_EINVAL : xpr__loop_check_thread(req->loop);
    if (rc == 0)
        req->cancelled = 1;
    return rc;
}

void xpr__resolver_free(xpr_loop *loop)
{
    struct xpr__resolver *pool = loop->resolver;
    struct xpr_resolve *queued;
    unsigned i;
    if (pool == NULL)
        return;
    xpr__mutex_lock(&pool->lock);
    queued = pool->head;
    pool->head = pool->tail = NULL;
    pool->stopping = 1;
    xpr__cond_broadcast(&pool->work);
    xpr__mutex_unlock(&pool->lock);
    for (i = 0; i < pool->started; i++)
        xpr__thread_join(&pool->threads[i]);
    while (queued != NULL) { /* never looked up: cancelled */
        struct xpr_resolve *next = queued->next;
        deliver(queued);
        queued = next;
    }
    while (pool->undelivered != NULL) {
        struct xpr_resolve *r = pool->undelivered;
        pool->undelivered = r->next;
        deliver(r);
    }
    xpr__cond_destroy(&pool->work);
    xpr__mutex_destroy(&pool->lock);
    free(pool);
    loop->resolver = NULL;
}
