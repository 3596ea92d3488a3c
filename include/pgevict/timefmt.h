/* SPDX-License-Identifier: MIT */
/*
 * timefmt.h -- instants as text (core, no I/O).
 *
 * Owns the one way pgevict writes a wall-clock instant for a machine to
 * read: RFC 3339, in UTC, to the microsecond.  Not durations (duration.h)
 * nor the clock itself (clock.h, an adapter).
 */
#ifndef PGEVICT_TIMEFMT_H
#define PGEVICT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes US (microseconds since the epoch) into BUF as
 * "2026-11-22T02:03:04.123456Z": always UTC ("Z", never an offset, whatever
 * TZ says), always six digits of fraction; "" for TIME_UNKNOWN (session.h).
 * Truncated to LEN - 1 bytes like snprintf (LEN > 0).  Needs no root. */
void timefmt_rfc3339(int64_t us, char *buf, size_t len);

#endif
