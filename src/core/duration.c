/* SPDX-License-Identifier: MIT */
/*
 * duration.c -- durations as PostgreSQL writes them (core, no I/O).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/duration.h"

/* A century: longer is a typo, and keeps every product in range. */
#define DURATION_MAX_MS (100LL * 366 * 86400000)

static const struct unit {
	const char *name;
	int64_t ms;
} units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 }, { "d", 86400000 },
};

int duration_parse(const char *s, int64_t *ret_ms)
{
	int64_t v = 0;
	const char *p = s;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (*p++ - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].name) == 0) {
			if (v > DURATION_MAX_MS / units[i].ms)
				return -ERANGE;
			*ret_ms = v * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

void duration_format(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}
