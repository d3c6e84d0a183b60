/*
 * Monotonic microsecond clock: QueryPerformanceCounter on Windows,
 * clock_gettime(CLOCK_MONOTONIC) elsewhere. Wall-clock time would jump with
 * NTP adjustments and corrupt latency numbers.
 */
#include "clock.h"

#ifdef _WIN32
#include <windows.h>

uint64_t clock_now_us(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;

    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    /* Split to avoid overflowing counter * 1e6 on long uptimes. */
    return (uint64_t)(now.QuadPart / frequency.QuadPart) * 1000000u +
           (uint64_t)(now.QuadPart % frequency.QuadPart) * 1000000u /
               (uint64_t)frequency.QuadPart;
}

#else
#include <time.h>

uint64_t clock_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
#endif
