/*
 * Fixed-bucket log-linear histogram of latencies in microseconds: values
 * below 16 are exact, above that each power of two is split into 16 linear
 * buckets, so a reported percentile is within ~6% of the true value.
 */
#ifndef ECHO_HISTOGRAM_H
#define ECHO_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_SUB_BITS 4
#define HISTOGRAM_SUB (1u << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB)

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t total;
    uint64_t max;
};

void histogram_init(struct histogram *h);
void histogram_add(struct histogram *h, uint64_t value);
/* The value at quantile q (0..1), as the upper bound of its bucket; 0 if
 * empty. */
uint64_t histogram_quantile(const struct histogram *h, double q);

#endif
