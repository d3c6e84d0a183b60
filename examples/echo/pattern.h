/*
 * The deterministic byte stream the load generator sends and verifies. The
 * stream is periodic with a prime period, so a message echoed twice, dropped,
 * or delivered to the wrong connection shows up as a mismatch whatever the
 * message size. Each connection starts at its own offset into the period.
 */
#ifndef ECHO_PATTERN_H
#define ECHO_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PATTERN_PERIOD 65521u /* largest prime below 2^16 */

struct pattern {
    unsigned char *bytes; /* PERIOD + span bytes */
    size_t span;          /* longest run pattern_at() may be read for */
};

/* Allocates a pattern readable for runs of up to span bytes. 0 or -1. */
int pattern_init(struct pattern *pat, size_t span);
void pattern_free(struct pattern *pat);

/* Stream start of connection index (distinct below PATTERN_PERIOD). */
uint64_t pattern_stream_base(uint32_t index);

/* The stream from offset on, readable for pat->span bytes. */
const unsigned char *pattern_at(const struct pattern *pat, uint64_t offset);

/* Compares p[0..n) with the stream from offset on. Returns n when all match,
 * else the index of the first differing byte. */
size_t pattern_verify(const struct pattern *pat, uint64_t offset,
                      const unsigned char *p, size_t n);

#endif
