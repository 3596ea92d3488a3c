/* SPDX-License-Identifier: MIT */
/*
 * pmpid.c -- parse postmaster.pid (core, no I/O).
 *
 * Owns the line layout only.  Whether the pid is alive and really the
 * postmaster is postmaster.c's question.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/pmpid.h"

void pmpid_clear(struct pmpid *p)
{
	if (!p)
		return;
	free(p->data_dir);
	free(p->socket_dir);
	free(p->listen_addr);
	free(p->status);
	memset(p, 0, sizeof(*p));
	p->start_time = -1;
	p->port = -1;
}

/* Parse a decimal in [lo, hi]; whole string. */
static int parse_num(const char *s, long long lo, long long hi, long long *ret)
{
	char *end;
	long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

int pmpid_parse(const char *buf, size_t len, struct pmpid *ret)
{
	char *copy, *line, *lines[8] = { 0 };
	int n = 0, r = 0;
	long long v;

	memset(ret, 0, sizeof(*ret));
	ret->start_time = -1;
	ret->port = -1;
	if (memchr(buf, '\0', len))
		return -EINVAL;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* Split by hand: strtok would merge the empty line 6 away. */
	line = copy;
	while (n < 8) {
		char *nl = strchr(line, '\n');
		lines[n++] = line;
		if (!nl)
			break;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		line = nl + 1;
		if (!*line)
			break;
	}

	if (!lines[0] || parse_num(lines[0], 1, 0x7fffffff, &v) < 0) {
		r = -EINVAL;
		goto out;
	}
	ret->pid = (pid_t)v;
	if (n > 1 && *lines[1] && !(ret->data_dir = strdup(lines[1])))
		goto nomem;
	if (n > 2 && parse_num(lines[2], 0, INT64_MAX, &v) == 0)
		ret->start_time = v;
	if (n > 3 && parse_num(lines[3], 1, 65535, &v) == 0)
		ret->port = (int)v;
	if (n > 4 && *lines[4] && !(ret->socket_dir = strdup(lines[4])))
		goto nomem;
	if (n > 5 && *lines[5] && !(ret->listen_addr = strdup(lines[5])))
		goto nomem;
	if (n > 7) {
		char *s = lines[7], *e;
		while (*s == ' ')
			s++;
		e = s + strlen(s);
		while (e > s && e[-1] == ' ')
			e--;
		*e = '\0';
		if (*s && !(ret->status = strdup(s)))
			goto nomem;
	}
out:
	free(copy);
	if (r < 0)
		pmpid_clear(ret);
	return r;
nomem:
	r = -ENOMEM;
	goto out;
}
