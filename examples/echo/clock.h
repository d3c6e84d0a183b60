/* Monotonic time for latency measurements. */
#ifndef ECHO_CLOCK_H
#define ECHO_CLOCK_H

#include <stdint.h>

/* Microseconds since an arbitrary fixed point; never goes backwards. */
uint64_t clock_now_us(void);

#endif
