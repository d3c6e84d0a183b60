/* xpr-echo --udp: the UDP echo server and load generator (udp.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pattern.h"
#include "udp.h"

#define HEADER 12             /* sequence number (8), handle index (4) */
#define LOST_AFTER_US 1000000 /* an echo not back within it counts as lost */
#define SWEEP_MS 100

/* ---- server ---- */

struct udp_server {
    int verbose;
    uint64_t echoed, refused;
};

static void server_recv(xpr_udp *u, const void *p, size_t n, const char *peer,
                        unsigned flags)
{
    struct udp_server *s = xpr_udp_userdata(u);
    int rc =
        (flags & XPR_UDP_TRUNCATED) ? XPR_EINVAL : xpr_udp_send(u, peer, p, n);
    if (rc == 0) {
        s->echoed++;
        return;
    }
    s->refused++; /* the queue is full (XPR_EAGAIN) or a datagram was cut */
    if (s->verbose)
        fprintf(stderr, "udp: %s: %zu bytes not echoed: %s\n", peer, n,
                xpr_strerror(rc));
}

static void server_error(xpr_udp *u, int err)
{
    struct udp_server *s = xpr_udp_userdata(u);
    if (s->verbose)
        fprintf(stderr, "udp: %s\n", xpr_strerror(err));
}

static void server_close(xpr_udp *u, int err)
{
    struct udp_server *s = xpr_udp_userdata(u);
    if (s->verbose)
        fprintf(stderr,
                "udp: closed (%s): %" PRIu64 " echoed, %" PRIu64 " not\n",
                err ? xpr_strerror(err) : "clean", s->echoed, s->refused);
    free(s);
}

int udp_echo_serve(xpr_loop *loop, const char *address, int verbose,
                   char bound[XPR_ADDRSTRLEN])
{
    static const struct xpr_udp_callbacks cb = {server_recv, server_error,
                                                server_close};
    struct xpr_udp_config cfg;
    struct udp_server *s = calloc(1, sizeof(*s));
    xpr_udp *u;
    int rc;
    if (s == NULL)
        return XPR_ENOMEM;
    s->verbose = verbose;
    memset(&cfg, 0, sizeof(cfg));
    cfg.send_queue_max = 4u << 20;
    rc = xpr_udp_new(loop, address, &cfg, &cb, s, &u);
    if (rc != 0) {
        free(s);
        return rc;
    }
    return xpr_udp_address(u, bound, XPR_ADDRSTRLEN);
}

/* ---- bench ---- */

struct outstanding {
    uint64_t seq, sent_us;
};

struct bench_handle {
    struct udp_bench *b;
    xpr_udp *u;
    uint32_t index;
    uint64_t next_seq;
    unsigned count; /* entries of flight in use */
    struct outstanding *flight;
};

struct udp_bench {
    const struct bench_options *opt;
    xpr_loop *loop;
    struct pattern pattern;
    struct bench_handle *handles;
    unsigned char *buf;
    size_t size, open;
    int stopping;
    uint64_t start_us, end_us, msgs, bytes, lost, late, mismatches, errors;
    uint64_t latency_us;
    xpr_timer *sweep, *end;
};

static uint64_t offset_of(uint64_t seq, uint32_t index)
{
    return (pattern_stream_base(index) + seq * 31u) % PATTERN_PERIOD;
}

static void send_next(struct bench_handle *h)
{
    struct udp_bench *b = h->b;
    uint64_t seq = h->next_seq++;
    int k, rc;
    for (k = 0; k < 8; k++)
        b->buf[k] = (unsigned char)(seq >> (56 - 8 * k));
    for (k = 0; k < 4; k++)
        b->buf[8 + k] = (unsigned char)(h->index >> (24 - 8 * k));
    memcpy(b->buf + HEADER, pattern_at(&b->pattern, offset_of(seq, h->index)),
           b->size - HEADER);
    rc = xpr_udp_send(h->u, NULL, b->buf, b->size);
    if (rc != 0) {
        b->errors++;
        fprintf(stderr, "udp bench: send: %s\n", xpr_strerror(rc));
        return;
    }
    h->flight[h->count].seq = seq;
    h->flight[h->count].sent_us = clock_now_us();
    h->count++;
}

static void bench_recv(xpr_udp *u, const void *p, size_t n, const char *peer,
                       unsigned flags)
{
    struct bench_handle *h = xpr_udp_userdata(u);
    struct udp_bench *b = h->b;
    const unsigned char *d = p;
    uint64_t seq = 0;
    uint32_t index = 0;
    unsigned k;
    (void)peer;
    if (flags != 0 || n != b->size) {
        b->mismatches++;
        return;
    }
    for (k = 0; k < 8; k++)
        seq = seq << 8 | d[k];
    for (k = 8; k < HEADER; k++)
        index = index << 8 | d[k];
    if (index != h->index ||
        pattern_verify(&b->pattern, offset_of(seq, index), d + HEADER,
                       n - HEADER) != n - HEADER) {
        b->mismatches++;
        return;
    }
    for (k = 0; k < h->count && h->flight[k].seq != seq; k++)
        ;
    if (k == h->count) {
        b->late++; /* already counted lost, or echoed twice */
        return;
    }
    if (!b->stopping) {
        b->msgs++;
        b->bytes += n;
        b->latency_us += clock_now_us() - h->flight[k].sent_us;
    }
    h->flight[k] = h->flight[--h->count];
    if (!b->stopping)
        send_next(h);
    else if (h->count == 0)
        xpr_udp_close(u);
}

static void bench_error(xpr_udp *u, int err)
{
    struct bench_handle *h = xpr_udp_userdata(u);
    h->b->errors++;
    fprintf(stderr, "udp bench: %s\n", xpr_strerror(err));
}

static void bench_close(xpr_udp *u, int err)
{
    struct bench_handle *h = xpr_udp_userdata(u);
    struct udp_bench *b = h->b;
    (void)err;
    h->u = NULL;
    if (--b->open == 0) {
        xpr_timer_free(b->sweep);
        xpr_timer_free(b->end);
        b->sweep = b->end = NULL;
    }
}

/* Datagrams not back within LOST_AFTER_US are lost: another goes. */
static void on_sweep(xpr_timer *t, void *arg)
{
    struct udp_bench *b = arg;
    uint64_t now = clock_now_us();
    size_t i;
    (void)t;
    for (i = 0; i < b->opt->connections; i++) {
        struct bench_handle *h = &b->handles[i];
        unsigned k = 0;
        while (h->u != NULL && k < h->count) {
            /* replacements sent in this loop are younger than now */
            if (h->flight[k].sent_us + LOST_AFTER_US > now) {
                k++;
                continue;
            }
            b->lost++;
            h->flight[k] = h->flight[--h->count];
            if (!b->stopping)
                send_next(h);
        }
        if (b->stopping && h->u != NULL && h->count == 0)
            xpr_udp_close(h->u);
    }
}

static void on_end(xpr_timer *t, void *arg)
{
    struct udp_bench *b = arg;
    size_t i;
    (void)t;
    b->stopping = 1;
    b->end_us = clock_now_us();
    for (i = 0; i < b->opt->connections; i++)
        if (b->handles[i].u != NULL && b->handles[i].count == 0)
            xpr_udp_close(b->handles[i].u);
}

static int bench_start(struct udp_bench *b)
{
    static const struct xpr_udp_callbacks cb = {bench_recv, bench_error,
                                                bench_close};
    const char *bind_to = strchr(b->opt->address, '[') ? "[::]:0" : "0.0.0.0:0";
    size_t i, k;
    int rc;
    for (i = 0; i < b->opt->connections; i++) {
        struct bench_handle *h = &b->handles[i];
        h->b = b;
        h->index = (uint32_t)i;
        h->flight = calloc(b->opt->pipeline, sizeof(*h->flight));
        if (h->flight == NULL)
            return XPR_ENOMEM;
        rc = xpr_udp_new(b->loop, bind_to, NULL, &cb, h, &h->u);
        if (rc == 0)
            b->open++;
        if (rc == 0)
            rc = xpr_udp_connect(h->u, b->opt->address);
        if (rc != 0)
            return rc;
    }
    rc = xpr_timer_new(b->loop, on_sweep, b, &b->sweep);
    if (rc == 0)
        rc = xpr_timer_start(b->sweep, SWEEP_MS, SWEEP_MS);
    if (rc == 0)
        rc = xpr_timer_new(b->loop, on_end, b, &b->end);
    if (rc == 0)
        rc = xpr_timer_start(b->end, (uint64_t)(b->opt->duration * 1000), 0);
    if (rc != 0)
        return rc;
    b->start_us = clock_now_us();
    for (i = 0; i < b->opt->connections; i++)
        for (k = 0; k < b->opt->pipeline; k++)
            send_next(&b->handles[i]);
    return 0;
}

int udp_bench_run(xpr_loop *loop, const struct bench_options *opt)
{
    struct udp_bench b;
    double secs;
    size_t i;
    int rc;
    memset(&b, 0, sizeof(b));
    b.opt = opt;
    b.loop = loop;
    b.size = opt->size < HEADER ? HEADER : (size_t)opt->size;
    if (b.size > XPR_UDP_MAX_DATAGRAM_V4) {
        fprintf(stderr, "xpr-echo bench: --udp: --size is at most %d\n",
                XPR_UDP_MAX_DATAGRAM_V4);
        return 2;
    }
    b.handles = calloc((size_t)opt->connections, sizeof(*b.handles));
    b.buf = malloc(b.size);
    if (b.handles == NULL || b.buf == NULL ||
        pattern_init(&b.pattern, b.size) != 0) {
        fprintf(stderr, "xpr-echo bench: out of memory\n");
        free(b.handles);
        free(b.buf);
        return 1;
    }
    rc = bench_start(&b);
    if (rc != 0)
        fprintf(stderr, "xpr-echo bench: --udp %s: %s\n", opt->address,
                xpr_strerror(rc));
    else
        rc = xpr_loop_run(loop);
    xpr_loop_free(loop); /* closes what a failure left open */
    secs = b.end_us > b.start_us ? (double)(b.end_us - b.start_us) / 1e6 : 0;
    printf("udp: %s %" PRIu64 " handles x %" PRIu64 " in flight, %zu bytes: "
           "%.0f msgs/s, %.2f MB/s, mean latency %.0f us, %" PRIu64
           " lost, %" PRIu64 " late, %" PRIu64 " mismatches, %" PRIu64
           " errors\n",
           opt->address, opt->connections, opt->pipeline, b.size,
           secs > 0 ? (double)b.msgs / secs : 0.0,
           secs > 0 ? (double)b.bytes / secs / 1e6 : 0.0,
           b.msgs ? (double)b.latency_us / (double)b.msgs : 0.0, b.lost, b.late,
           b.mismatches, b.errors);
    for (i = 0; i < opt->connections; i++)
        free(b.handles[i].flight);
    free(b.handles);
    free(b.buf);
    pattern_free(&b.pattern);
    return rc != 0 || b.mismatches != 0 || b.errors != 0 || b.msgs == 0;
}
