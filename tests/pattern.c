#include <stdlib.h>

#include "pattern.h"

/* splitmix64: every 8-byte block of a stream is one output. */
static uint64_t block_of(uint32_t seed, uint64_t block)
{
    uint64_t z = ((uint64_t)seed << 40) ^ block;
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned char byte_at(uint32_t seed, uint64_t offset, uint64_t *cache,
                             uint64_t *cached_block)
{
    uint64_t block = offset >> 3;
    if (block != *cached_block) {
        *cached_block = block;
        *cache = block_of(seed, block);
    }
    return (unsigned char)(*cache >> ((offset & 7u) * 8u));
}

void pattern_fill(uint32_t seed, uint64_t offset, void *buf, size_t n)
{
    unsigned char *out = buf;
    uint64_t cache = 0;
    uint64_t cached_block = UINT64_MAX;
    size_t i;

    for (i = 0; i < n; i++) {
        out[i] = byte_at(seed, offset + i, &cache, &cached_block);
    }
}

size_t pattern_mismatch(uint32_t seed, uint64_t offset, const void *p, size_t n)
{
    const unsigned char *in = p;
    uint64_t cache = 0;
    uint64_t cached_block = UINT64_MAX;
    size_t i;

    for (i = 0; i < n; i++) {
        if (in[i] != byte_at(seed, offset + i, &cache, &cached_block)) {
            return i;
        }
    }
    return n;
}

unsigned char *pattern_alloc(uint32_t seed, size_t n)
{
    unsigned char *buf = malloc(n > 0 ? n : 1);
    if (buf != NULL) {
        pattern_fill(seed, 0, buf, n);
    }
    return buf;
}
