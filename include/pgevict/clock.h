/* SPDX-License-Identifier: MIT */
/*
 * clock.h -- the program's one clock (adapter: it reads the kernel's).
 *
 * Deadlines and elapsed times use the monotonic clock (never the wall
 * clock, which can jump); timestamps that are shown or stored use the wall
 * clock, in microseconds since the epoch, like every *_us field of the
 * model.
 */
#ifndef PGEVICT_CLOCK_H
#define PGEVICT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds and in microseconds. */
long long clock_mono_ms(void);
int64_t clock_mono_us(void);

/* CLOCK_REALTIME in microseconds since the epoch. */
int64_t clock_wall_us(void);

#endif
