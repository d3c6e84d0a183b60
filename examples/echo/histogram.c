#include <string.h>

#include "histogram.h"

static unsigned floor_log2(uint64_t v)
{
    unsigned e = 0;

    while (v >>= 1)
        e++;
    return e;
}

static unsigned bucket_of(uint64_t v)
{
    unsigned e;

    if (v < HISTOGRAM_SUB)
        return (unsigned)v;
    e = floor_log2(v);
    return (e - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB +
           (unsigned)((v >> (e - HISTOGRAM_SUB_BITS)) & (HISTOGRAM_SUB - 1));
}

/* The largest value that falls into bucket b. */
static uint64_t bucket_high(unsigned b)
{
    unsigned e, sub;
    uint64_t low;

    if (b < HISTOGRAM_SUB)
        return b;
    e = b / HISTOGRAM_SUB + HISTOGRAM_SUB_BITS - 1;
    sub = b % HISTOGRAM_SUB;
    low = (uint64_t)(HISTOGRAM_SUB + sub) << (e - HISTOGRAM_SUB_BITS);
    return low + ((uint64_t)1 << (e - HISTOGRAM_SUB_BITS)) - 1;
}

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

void histogram_add(struct histogram *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    h->total++;
    if (value > h->max)
        h->max = value;
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
    uint64_t rank, seen = 0;
    unsigned b;

    if (h->total == 0)
        return 0;
    if (q <= 0)
        q = 0;
    rank = (uint64_t)(q * (double)h->total + 0.999999);
    if (rank == 0)
        rank = 1;
    for (b = 0; b < HISTOGRAM_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t high = bucket_high(b);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}
