/*
 * libFuzzer target for the write queue (portable/write_queue.c).
 *
 * The input is a program: each operation is an opcode byte and up to two
 * argument bytes. Pushes append the next bytes of a fixed periodic stream,
 * so whatever peek, peekv or consume sees can be checked against the
 * offsets the model expects: the queue holds stream bytes
 * consumed .. pushed-1, in order, and xpr__wq_bytes says how many.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "write_queue.h"
#include "xpr.h"

#define MAX_RUNS 8
/* Pushes take a 16-bit length, enough to span several CHUNK_MIN (16384)
 * chunks; the queue is kept under MAX_QUEUED bytes so inputs stay fast. */
#define MAX_PUSH 65535
#define MAX_QUEUED (1u << 20)
/* Byte o of the stream is stream[o % PERIOD]; the period is prime so it
 * lines up with no chunk or push size. stream[] repeats the period for
 * MAX_PUSH more bytes so every run a push or a peek covers is contiguous. */
#define PERIOD 251

enum {
    OP_PUSH,
    OP_PUSH_SMALL,
    OP_PEEK,
    OP_PEEKV,
    OP_CONSUME,
    OP_CONSUME_ALL,
    OP_CLEAR,
    OPS
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct model {
    struct xpr__write_queue q;
    uint64_t pushed;   /* stream offset of the next pushed byte */
    uint64_t consumed; /* stream offset of the first queued byte */
};

static unsigned char stream[PERIOD + MAX_PUSH];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_write_queue: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t i;
    (void)argc;
    (void)argv;
    for (i = 0; i < sizeof(stream); i++)
        stream[i] = (unsigned char)(i % PERIOD * 7 + 3);
    return 0;
}

/* Non-zero when p[0..n) is the stream from offset on. */
static int stream_matches(uint64_t offset, const void *p, size_t n)
{
    const unsigned char *bytes = p;
    while (n > 0) {
        size_t piece = n < MAX_PUSH ? n : MAX_PUSH;
        if (memcmp(bytes, stream + offset % PERIOD, piece) != 0)
            return 0;
        bytes += piece;
        offset += piece;
        n -= piece;
    }
    return 1;
}

static void check_count(const struct model *m)
{
    if (xpr__wq_bytes(&m->q) != m->pushed - m->consumed)
        fail("byte count differs from pushed - consumed");
}

static void do_push(struct model *m, size_t n)
{
    if (m->pushed - m->consumed + n > MAX_QUEUED)
        return;
    if (xpr__wq_push(&m->q, stream + m->pushed % PERIOD, n) != 0)
        abort(); /* out of memory: not a queue bug, but stop here */
    m->pushed += n;
}

static void do_peek(const struct model *m)
{
    size_t len = 12345;
    const void *p = xpr__wq_peek(&m->q, &len);
    if (m->pushed == m->consumed) {
        if (p != NULL || len != 0)
            fail("peek on an empty queue returned a run");
        return;
    }
    if (p == NULL || len == 0 || len > m->pushed - m->consumed)
        fail("peek returned no run or too long a run");
    if (!stream_matches(m->consumed, p, len))
        fail("peek run is not the front of the stream");
}

static void do_peekv(const struct model *m, size_t max_runs)
{
    const void *bases[MAX_RUNS];
    size_t lens[MAX_RUNS];
    uint64_t at = m->consumed;
    size_t n = xpr__wq_peekv(&m->q, 0, bases, lens, max_runs);
    size_t i;

    if (n > max_runs)
        fail("peekv returned more runs than asked for");
    for (i = 0; i < n; i++) {
        if (bases[i] == NULL || lens[i] == 0)
            fail("peekv returned an empty run");
        if (lens[i] > m->pushed - at)
            fail("peekv runs add up to more than is queued");
        if (!stream_matches(at, bases[i], lens[i]))
            fail("peekv runs are not the stream in order");
        at += lens[i];
    }
    if (n < max_runs && at != m->pushed)
        fail("peekv stopped short of the queued bytes");
    if (m->pushed == m->consumed && n != 0)
        fail("peekv on an empty queue returned a run");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model m;
    size_t i = 0;

    memset(&m, 0, sizeof(m));
    xpr__wq_init(&m.q);
    while (i < size) {
        unsigned op = data[i++] % OPS;
        size_t arg = 0;
        if (op == OP_PUSH || op == OP_CONSUME) {
            arg = i < size ? data[i++] : 0;
            arg = arg << 8 | (i < size ? data[i++] : 0);
        } else if (op == OP_PUSH_SMALL || op == OP_PEEKV) {
            arg = i < size ? data[i++] : 0;
        }
        switch (op) {
        case OP_PUSH:
            do_push(&m, arg);
            break;
        case OP_PUSH_SMALL:
            do_push(&m, arg);
            break;
        case OP_PEEK:
            do_peek(&m);
            break;
        case OP_PEEKV:
            do_peekv(&m, arg % (MAX_RUNS + 1));
            break;
        case OP_CONSUME: {
            /* within the contract: n <= queued bytes */
            uint64_t queued = m.pushed - m.consumed;
            size_t n = (size_t)(arg % (queued + 1));
            xpr__wq_consume(&m.q, n, NULL);
            m.consumed += n;
            break;
        }
        case OP_CONSUME_ALL:
            xpr__wq_consume(&m.q, (size_t)(m.pushed - m.consumed), NULL);
            m.consumed = m.pushed;
            break;
        case OP_CLEAR:
            xpr__wq_clear(&m.q, NULL);
            m.consumed = m.pushed;
            break;
        }
        check_count(&m);
    }
    do_peekv(&m, MAX_RUNS);
    xpr__wq_clear(&m.q, NULL);
    m.consumed = m.pushed;
    check_count(&m);
    return 0;
}
