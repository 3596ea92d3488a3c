/* SPDX-License-Identifier: MIT */
/*
 * duration.h -- durations as PostgreSQL writes them (core, no I/O).
 *
 * "500ms", "2s", "10min", "1h", "1d": a whole number and a unit, which is
 * required (a bare "10" is refused: seconds or minutes is a guess too far
 * for a tool that ends sessions).  "m" is refused as well: PostgreSQL
 * writes minutes "min".  At most a century.
 */
#ifndef PGEVICT_DURATION_H
#define PGEVICT_DURATION_H

#include <stdint.h>
#include <stddef.h>

/* Returns 0 and sets *ret_ms, or -EINVAL (-ERANGE on overflow). */
int duration_parse(const char *s, int64_t *ret_ms);

/* Writes a short human form ("3h12m", "45s", "120ms") into BUF. */
void duration_format(int64_t ms, char *buf, size_t len);

#endif
