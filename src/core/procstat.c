/* SPDX-License-Identifier: MIT */
/*
 * procstat.c -- /proc/PID/stat parsed (core; see procstat.h).
 *
 * Fields after the command name are blank-separated numbers (a few may be
 * negative: priority, nice); each is read within LEN, never past it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pgevict/procstat.h"

#define LAST_FIELD 24

/* The number at *P (an optional '-', then digits) within END; *P moves
 * past it and the blanks after.  0 or -EINVAL. */
static int number(const char **p, const char *end, unsigned long long *ret, bool *neg)
{
	const char *q = *p;
	unsigned long long v = 0;

	*neg = q < end && *q == '-';
	if (*neg)
		q++;
	if (q >= end || *q < '0' || *q > '9')
		return -EINVAL;
	for (; q < end && *q >= '0' && *q <= '9'; q++)
		v = v * 10 + (unsigned long long)(*q - '0');   /* wraps on nonsense: harmless */
	if (q < end && *q != ' ' && *q != '\n')
		return -EINVAL;
	while (q < end && (*q == ' ' || *q == '\n'))
		q++;
	*p = q;
	*ret = v;
	return 0;
}

int procstat_parse(const char *text, size_t len, struct procstat *ret)
{
	const char *p = NULL, *end = text + len;
	unsigned long long v;
	bool neg;
	size_t i;
	int field;

	memset(ret, 0, sizeof(*ret));
	/* the command name may hold anything, ')' too: the last one ends it */
	for (i = len; i > 0; i--)
		if (text[i - 1] == ')') {
			p = text + i - 1;
			break;
		}
	if (!p || end - p < 4 || p[1] != ' ' || p[2] == ' ' || p[3] != ' ')
		return -EINVAL;
	ret->state = p[2];
	p += 4;
	for (field = 4; field <= LAST_FIELD; field++) {
		if (number(&p, end, &v, &neg) < 0) {
			memset(ret, 0, sizeof(*ret));
			return -EINVAL;
		}
		if (neg)
			v = 0;           /* priority and nice: not ours */
		switch (field) {
		case 4: ret->ppid = (pid_t)v; break;
		case 14: case 15: ret->cpu_ticks += v; break;
		case 22: ret->start_ticks = v; break;
		case 24: ret->rss_pages = (long long)v; break;
		default: break;
		}
	}
	return 0;
}
