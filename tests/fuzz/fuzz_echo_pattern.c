/*
 * libFuzzer target for the check xpr-echo's load generator runs on every
 * byte a server echoes (pattern_verify, examples/echo/pattern.c).
 *
 * The first 8 input bytes are the stream offset (the top bit dropped: a
 * stream never reaches 2^63 bytes, and offset + length must not wrap), the
 * rest is what the peer sent. pattern_verify must return the index of the
 * first byte that differs from the stream, or the length when none does;
 * the target recomputes that byte by byte. pattern_verify compares runs of
 * PATTERN_SPAN bytes; ci/fuzz.sh allows inputs of several spans.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define PATTERN_SPAN 4096
#define OFFSET_BYTES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct pattern pattern;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (pattern_init(&pattern, PATTERN_SPAN) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t offset = 0;
    size_t i, expected, got;

    if (size < OFFSET_BYTES)
        return 0;
    for (i = 0; i < OFFSET_BYTES; i++)
        offset = offset << 8 | data[i];
    offset &= UINT64_MAX >> 1;
    data += OFFSET_BYTES;
    size -= OFFSET_BYTES;

    for (expected = 0; expected < size; expected++) {
        uint64_t at = (offset + expected) % PATTERN_PERIOD;
        if (data[expected] != pattern.bytes[at])
            break;
    }
    got = pattern_verify(&pattern, offset, data, size);
    if (got != expected) {
        fprintf(stderr,
                "fuzz_echo_pattern: offset %llu, %zu bytes: got %zu, "
                "expected %zu\n",
                (unsigned long long)offset, size, got, expected);
        abort();
    }
    return 0;
}
