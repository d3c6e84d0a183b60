/*
 * Deterministic test data: byte i of stream `seed` depends only on (seed,
 * i), so a receiver verifies what arrives without keeping a copy, and
 * streams with different seeds differ.
 */
#ifndef XPR_TESTS_PATTERN_H
#define XPR_TESTS_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Writes bytes offset .. offset+n-1 of stream seed into buf. */
void pattern_fill(uint32_t seed, uint64_t offset, void *buf, size_t n);
/* The index of the first byte of p that differs from stream seed at offset,
 * or n when all n bytes match. */
size_t pattern_mismatch(uint32_t seed, uint64_t offset, const void *p,
                        size_t n);
/* A new buffer holding bytes 0 .. n-1 of stream seed (free() it). */
unsigned char *pattern_alloc(uint32_t seed, size_t n);

#endif
