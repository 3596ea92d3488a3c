/* SPDX-License-Identifier: MIT */
/*
 * timefmt.c -- instants as text (core, no I/O; see timefmt.h).  The
 * lockdown header (lockplan.c) and every command's output (ls, top, the
 * agent's action lines, lockdown status) write their instants here.
 */
#include <stdio.h>
#include <time.h>

#include "pgevict/session.h"
#include "pgevict/timefmt.h"

void timefmt_rfc3339(int64_t us, char *buf, size_t len)
{
	time_t sec;
	struct tm tm;
	char base[32];

	if (us == TIME_UNKNOWN) {
		buf[0] = '\0';
		return;
	}
	sec = (time_t)(us / 1000000);
	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06dZ", base, (int)(us % 1000000));
}
