/* SPDX-License-Identifier: MIT */
/*
 * strv.c -- a growable array of owned strings (see strv.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/strv.h"

/* Take the malloc'd S (NULL: out of memory) as the next element. */
static int take(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

int strv_push(char ***v, size_t *n, const char *s)
{
	return take(v, n, strdup(s));
}

int strv_pushv(char ***v, size_t *n, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return -ENOMEM;
	return take(v, n, s);
}

int strv_pushf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strv_pushv(v, n, fmt, ap);
	va_end(ap);
	return r;
}

bool strv_contains(char *const *v, size_t n, const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
