/*
 * pgconf.c -- one setting from postgresql.conf text or a postmaster's
 * command line (core, no I/O).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgevict/pgconf.h"

/* Compare setting names: case-insensitive, '-' equals '_'. */
static bool name_eq(const char *a, size_t alen, const char *name)
{
	size_t i;

	if (alen != strlen(name))
		return false;
	for (i = 0; i < alen; i++) {
		char x = (char)tolower((unsigned char)a[i]), y = (char)tolower((unsigned char)name[i]);
		if (x == '-')
			x = '_';
		if (y == '-')
			y = '_';
		if (x != y)
			return false;
	}
	return true;
}

/* Parse a value starting at P (to END): quoted or bare.  malloc'd. */
static char *parse_value(const char *p, const char *end)
{
	char *out = malloc((size_t)(end - p) + 1), *o = out;

	if (!out)
		return NULL;
	if (p < end && *p == '\'') {
		for (p++; p < end; p++) {
			if (*p == '\'' && p + 1 < end && p[1] == '\'') {
				*o++ = '\'';
				p++;
			} else if (*p == '\\' && p + 1 < end) {
				*o++ = *++p;
			} else if (*p == '\'') {
				break;
			} else {
				*o++ = *p;
			}
		}
	} else {
		while (p < end && !isspace((unsigned char)*p) && *p != '#')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

int pgconf_get(const char *buf, size_t len, const char *name, char **ret_value)
{
	const char *p = buf, *end = buf + len;
	char *found = NULL;

	*ret_value = NULL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *k, *ke;
		if (!eol)
			eol = end;
		k = p;
		while (k < eol && isspace((unsigned char)*k))
			k++;
		ke = k;
		while (ke < eol && (isalnum((unsigned char)*ke) || *ke == '_' || *ke == '.' || *ke == '-'))
			ke++;
		if (ke > k && name_eq(k, (size_t)(ke - k), name)) {
			const char *v = ke;
			while (v < eol && isspace((unsigned char)*v))
				v++;
			if (v < eol && *v == '=')
				v++;
			while (v < eol && isspace((unsigned char)*v))
				v++;
			free(found);
			found = parse_value(v, eol);
			if (!found)
				return -ENOMEM;
		}
		p = eol + 1;
	}
	*ret_value = found;
	return found ? 1 : 0;
}

int pgconf_argv_get(const char *argv, size_t len, const char *name, char **ret_value)
{
	const char *p = argv, *end = argv + len;
	bool next_is_c = false;
	char *found = NULL;

	*ret_value = NULL;
	while (p < end) {
		const char *a = p, *ae = memchr(p, '\0', (size_t)(end - p)), *eq;
		if (!ae)
			ae = end;
		p = ae + 1;
		if (next_is_c) {
			next_is_c = false;
		} else if (ae - a == 2 && memcmp(a, "-c", 2) == 0) {
			next_is_c = true;
			continue;
		} else if (ae - a > 2 && memcmp(a, "-c", 2) == 0) {
			a += 2;
		} else if (ae - a > 2 && memcmp(a, "--", 2) == 0) {
			a += 2;
		} else {
			continue;
		}
		eq = memchr(a, '=', (size_t)(ae - a));
		if (!eq || !name_eq(a, (size_t)(eq - a), name))
			continue;
		free(found);
		found = malloc((size_t)(ae - eq));
		if (!found)
			return -ENOMEM;
		memcpy(found, eq + 1, (size_t)(ae - eq - 1));
		found[ae - eq - 1] = '\0';
	}
	*ret_value = found;
	return found ? 1 : 0;
}
