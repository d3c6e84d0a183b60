#include <stdlib.h>
#include <string.h>

#include "pattern.h"

int pattern_init(struct pattern *pat, size_t span)
{
    uint32_t state = 0x9e3779b9u;
    size_t i, len;

    if (span < 4096)
        span = 4096;
    len = PATTERN_PERIOD + span;
    pat->bytes = malloc(len);
    if (pat->bytes == NULL)
        return -1;
    pat->span = span;
    for (i = 0; i < PATTERN_PERIOD; i++) {
        /* xorshift32: cheap, and no short cycles within the period */
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        pat->bytes[i] = (unsigned char)(state >> 24);
    }
    for (; i < len; i++)
        pat->bytes[i] = pat->bytes[i % PATTERN_PERIOD];
    return 0;
}

void pattern_free(struct pattern *pat)
{
    free(pat->bytes);
    pat->bytes = NULL;
}

uint64_t pattern_stream_base(uint32_t index)
{
    return ((uint64_t)index * 7919u) % PATTERN_PERIOD;
}

const unsigned char *pattern_at(const struct pattern *pat, uint64_t offset)
{
    return pat->bytes + offset % PATTERN_PERIOD;
}

size_t pattern_verify(const struct pattern *pat, uint64_t offset,
                      const unsigned char *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        size_t run = n - done < pat->span ? n - done : pat->span;
        const unsigned char *want = pattern_at(pat, offset + done);

        if (memcmp(p + done, want, run) != 0) {
            size_t i = 0;
            while (p[done + i] == want[i])
                i++;
            return done + i;
        }
        done += run;
    }
    return n;
}
