/*
 * The blocking back end: a thread per connection (docs/design.md,
 * "blocking: a thread per connection"). Files: loop.c (the hand-over,
 * run_once, the ops table), conn.c (the conn threads and operations),
 * listener.c (the accept thread), waiter.c (a thread blocked in a readiness
 * wait of one socket), watch.c (watchers of application sockets on it),
 * udp.c (UDP handles on it).
 */
#ifndef XPR_BLOCKING_H
#define XPR_BLOCKING_H

#include "backend.h"
#include "sock_models.h"

/* Every I/O thread's stack (docs/design.md, "Stacks"). */
#define XPR__BLOCKING_STACK (64u * 1024u)
/* A conn's buffers: what its reader hands over at once (one chunk waits
 * for the loop at most), and its send buffer, which the writer empties. */
#define XPR__BLOCKING_CHUNK (16u * 1024u)
#define XPR__BLOCKING_SEND_BUFFER (16u * 1024u)

/* A conn, listener or socket waiter with news for the loop thread. */
struct blocking_ready {
    struct xpr__link link; /* bl->ready while queued */
    unsigned char queued;
    unsigned char is_listener;
    unsigned char is_waiter; /* a struct blocking_waiter */
};

struct blocking_loop {
    /* Guards the ready list, woken, and the fields of every conn and
     * listener that their threads share with the loop thread. */
    xpr__mutex lock;
    xpr__cond cond; /* the loop thread waits on it */
    struct xpr__list ready;
    size_t ready_count;
    int woken;
    struct blocking_listener *closed_listeners; /* loop thread only */
};

/* With bl->lock held: queue r for the loop thread and wake it. */
void xpr__blocking_make_ready(struct blocking_loop *bl,
                              struct blocking_ready *r);
/* With bl->lock held: take r off the ready list. */
void xpr__blocking_unready(struct blocking_loop *bl, struct blocking_ready *r);

/* Bits of blocking_conn.news. */
enum {
    NEWS_CONNECTED = 1u << 0, /* the connect ended: connect_err */
    NEWS_WRITABLE = 1u << 1,  /* the send buffer emptied after a short take */
    NEWS_WRITE_ERR = 1u << 2, /* write_err */
    NEWS_DATA = 1u << 3,      /* chunk_len bytes in in_buf */
    NEWS_EOF = 1u << 4,
    NEWS_READ_ERR = 1u << 5, /* read_err */
    NEWS_FLUSHED = 1u << 6,  /* closing: the writer sent what it held */
    NEWS_EXITED = 1u << 7    /* closing, and both threads have returned */
};

struct blocking_conn {
    struct xpr_conn base; /* first: the core sees an xpr_conn */
    struct blocking_ready ready;
    struct blocking_loop *bl;
    xpr__cond cond; /* the conn's threads wait on it */
    xpr__thread reader, writer;
    unsigned char *in_buf;  /* the reader's */
    unsigned char *out_buf; /* the send buffer: out_len bytes */
    struct xpr__addr connect_to;
    unsigned char finished;  /* loop thread: joined, closed, reported */
    unsigned char cancelled; /* loop thread: blocking calls cancelled */
    unsigned char adopted;   /* xpr_conn_adopt: connected already */
    /* Under bl->lock from here on. */
    unsigned char connecting; /* the reader connects before it reads */
    unsigned char closing;    /* conn_close ran: the reader returns, the
                                 writer once its buffer is sent */
    unsigned char cut;        /* the writer returns at once too */
    unsigned char reading_on;
    unsigned char in_send;       /* the writer is in a send call */
    unsigned char want_writable; /* conn_send took less than offered */
    unsigned char fin_wanted;    /* xpr_conn_shutdown: FIN after out_buf */
    int threads_live;
    unsigned news; /* NEWS_* */
    int connect_err, read_err, write_err;
    size_t chunk_len;
    size_t out_len;
};

/* The accept thread's hand-over: sockets accepted and not yet taken. */
#define XPR__BLOCKING_ACCEPT_QUEUE 16

struct blocking_listener {
    struct xpr_listener base;
    struct blocking_ready ready;
    struct blocking_loop *bl;
    xpr__cond cond; /* the accept thread waits on it */
    xpr__thread thread;
    unsigned char closed; /* loop thread: listener_close ran */
    unsigned char armed;  /* loop thread: the loop has run a round */
    unsigned char paused; /* loop thread: the core paused accepting */
    struct blocking_listener *next_closed;
    /* Under bl->lock from here on. */
    unsigned char closing;
    unsigned char returned;       /* the accept thread is done */
    unsigned char accepting;      /* armed and not paused */
    unsigned char verdict_wanted; /* accept_err waits for the core */
    int accept_err;
    xpr_socket_t queue[XPR__BLOCKING_ACCEPT_QUEUE];
    unsigned queued;
};

/* conn.c */
void xpr__blocking_conn_news(struct blocking_conn *bc);
/* An accepted socket (blocking mode) becomes a conn with its threads, or
 * is closed and counted as refused when they cannot start. */
void xpr__blocking_conn_accepted(xpr_listener *l, xpr_socket_t s);
int xpr__blocking_conn_connect(xpr_conn *c, const struct xpr__addr *addr);
int xpr__blocking_conn_adopt(xpr_conn *c);
int xpr__blocking_conn_set_reading(xpr_conn *c, int on);
long xpr__blocking_conn_send(xpr_conn *c, const void *const *bases,
                             const size_t *lens, size_t runs);
int xpr__blocking_conn_shutdown(xpr_conn *c);
void xpr__blocking_conn_close(xpr_conn *c, int reset);
/* xpr_loop_free: graceful closes stop waiting for their peers. */
void xpr__blocking_cut_flushes(xpr_loop *loop);

/* A thread blocked in a readiness wait of one socket and a waker, handing
 * what it finds to the loop thread (waiter.c). */
struct blocking_waiter {
    struct blocking_ready ready;
    struct blocking_loop *bl;
    xpr_socket_t sock;
    /* Loop thread: the news of the thread, seen (XPR__IO_*). Returns 1 when
     * it freed the waiter's memory, else 0. */
    int (*news)(struct blocking_waiter *w, unsigned seen);
    xpr__cond cond; /* the thread waits on it for something to wait for */
    xpr__thread thread;
    struct xpr__waker waker;
    unsigned char running; /* loop thread: the thread is started */
    /* Under bl->lock from here on. */
    unsigned want;        /* XPR__IO_* the thread waits for; 0: none */
    unsigned seen;        /* what it found, handed to the loop */
    unsigned char handed; /* seen waits for the loop */
    unsigned char quit;
};

/* waiter.c, all on the loop thread. Starts w's thread on s, waiting for
 * nothing yet; news runs for each hand-over. 0 or an XPR_E* code (nothing
 * is left started). */
int xpr__blocking_waiter_start(struct blocking_waiter *w,
                               struct blocking_loop *bl, xpr_socket_t s,
                               int (*news)(struct blocking_waiter *w,
                                           unsigned seen));
/* The thread waits for want (XPR__IO_*; 0: nothing) from now on. */
void xpr__blocking_waiter_want(struct blocking_waiter *w, unsigned want);
/* The thread returns and is joined, its news dropped; nothing when it is
 * not running. */
void xpr__blocking_waiter_end(struct blocking_waiter *w);
/* run_once: the news of a waiter taken off the ready list. */
void xpr__blocking_waiter_news(struct blocking_ready *r);

/* A watcher of an application socket (watch.c). */
struct blocking_watch {
    struct xpr_watch base; /* first: the core sees an xpr_watch */
    struct blocking_waiter waiter;
    unsigned char firing;   /* loop thread: its callback runs */
    unsigned char released; /* loop thread: freed once firing ends */
};

/* watch.c: watchers of application sockets (backend.h). */
int xpr__blocking_watch_set(xpr_watch *w, unsigned events);
void xpr__blocking_watch_release(xpr_watch *w);

/* udp.c: UDP handles (portable/udp.h). */
extern const struct xpr__udp_ops xpr__blocking_udp_ops;

/* listener.c */
void xpr__blocking_listener_news(struct blocking_listener *sl);
int xpr__blocking_listen(xpr_loop *loop, const struct xpr__addr *addr,
                         int backlog, xpr_listener **out);
void xpr__blocking_listener_close(xpr_listener *l);
int xpr__blocking_listener_set_accepting(xpr_listener *l, int on);
void xpr__blocking_free_closed_listeners(struct blocking_loop *bl);
/* At the start of each round: listeners made since accept from now on. */
void xpr__blocking_arm_listeners(xpr_loop *loop);

#endif
