/* SPDX-License-Identifier: MIT */
/*
 * pgconf.c -- one setting from postgresql.conf text, from a file and the
 * files it includes, or from a postmaster's command line (core: the files
 * come through the caller's pgconf_io).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
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

/*
 * The next "name [=] value" line of [*P, END): 1 with the name in
 * [*ret_k, *ret_k + *ret_klen) and the value's start and line end, 0 at the
 * end.  Blank, comment and unparsable lines give a zero-length name.
 */
static int next_line(const char **p, const char *end, const char **ret_k, size_t *ret_klen,
		     const char **ret_v, const char **ret_eol)
{
	const char *eol, *k, *ke, *v;

	if (*p >= end)
		return 0;
	eol = memchr(*p, '\n', (size_t)(end - *p));
	if (!eol)
		eol = end;
	k = *p;
	while (k < eol && isspace((unsigned char)*k))
		k++;
	ke = k;
	while (ke < eol && (isalnum((unsigned char)*ke) || *ke == '_' || *ke == '.' || *ke == '-'))
		ke++;
	v = ke;
	while (v < eol && isspace((unsigned char)*v))
		v++;
	if (v < eol && *v == '=')
		v++;
	while (v < eol && isspace((unsigned char)*v))
		v++;
	*ret_k = k;
	*ret_klen = (size_t)(ke - k);
	*ret_v = v;
	*ret_eol = eol;
	*p = eol + 1;
	return 1;
}

int pgconf_get(const char *buf, size_t len, const char *name, char **ret_value)
{
	const char *p = buf, *end = buf + len, *k, *v, *eol;
	char *found = NULL;
	size_t klen;

	*ret_value = NULL;
	while (next_line(&p, end, &k, &klen, &v, &eol)) {
		if (klen && name_eq(k, klen, name)) {
			free(found);
			found = parse_value(v, eol);
			if (!found)
				return -ENOMEM;
		}
	}
	*ret_value = found;
	return found ? 1 : 0;
}

char *pgconf_abs_path(const char *location, const char *calling_file)
{
	const char *slash;
	size_t dlen;
	char *out;

	if (location[0] == '/' || !calling_file || !(slash = strrchr(calling_file, '/')))
		return strdup(location);
	dlen = (size_t)(slash - calling_file);
	out = malloc(dlen + 1 + strlen(location) + 1);
	if (!out)
		return NULL;
	memcpy(out, calling_file, dlen);
	out[dlen] = '/';
	strcpy(out + dlen + 1, location);
	return out;
}

bool pgconf_dir_entry_wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

struct walk {
	const struct pgconf_io *io;
	const char *name;
	char *value, *file;
	unsigned files;          /* read so far: the budget */
};

static int walk_file(struct walk *w, const char *path, int depth);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *w, const char *dir, int depth)
{
	char **names = NULL, *path = NULL;
	size_t n = 0, i, dlen = strlen(dir);
	int r;

	r = w->io->list(w->io->ctx, dir, &names, &n);
	if (r < 0)
		return r == -ENOMEM ? r : 0;      /* as if empty; the server read it once */
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0, r = 0; i < n && r >= 0; i++) {
		if (!pgconf_dir_entry_wanted(names[i]))
			continue;
		path = malloc(dlen + 1 + strlen(names[i]) + 1);
		if (!path) {
			r = -ENOMEM;
			break;
		}
		snprintf(path, dlen + 1 + strlen(names[i]) + 1, "%s/%s", dir, names[i]);
		r = walk_file(w, path, depth);
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* Read PATH (absolute) at nesting DEPTH: 0, -ELOOP past the budget,
 * -ENOMEM; a file that cannot be read is skipped (0) below the top. */
static int walk_file(struct walk *w, const char *path, int depth)
{
	const char *p, *end, *k, *v, *eol;
	char *buf = NULL, *arg = NULL, *sub = NULL;
	size_t len, klen;
	int r;

	if (depth > PGCONF_MAX_DEPTH)
		return 0;       /* PostgreSQL refuses the whole file; it cannot be in force */
	if (++w->files > PGCONF_MAX_FILES)
		return -ELOOP;
	r = w->io->read(w->io->ctx, path, &buf, &len);
	if (r < 0)
		return depth == 0 || r == -ENOMEM ? r : 0;
	p = buf;
	end = buf + len;
	r = 0;
	while (r >= 0 && next_line(&p, end, &k, &klen, &v, &eol)) {
		bool inc = name_eq(k, klen, "include"), inc_if = name_eq(k, klen, "include_if_exists"),
		     inc_dir = name_eq(k, klen, "include_dir");
		if (!klen || (!inc && !inc_if && !inc_dir && !name_eq(k, klen, w->name)))
			continue;
		if (!(arg = parse_value(v, eol))) {
			r = -ENOMEM;
			break;
		}
		if (!inc && !inc_if && !inc_dir) {
			free(w->value);
			free(w->file);
			w->value = arg;
			arg = NULL;
			if (!(w->file = strdup(path)))
				r = -ENOMEM;
			continue;
		}
		if (!*arg) {
			free(arg);
			arg = NULL;
			continue;
		}
		if (!(sub = pgconf_abs_path(arg, path)))
			r = -ENOMEM;
		else if (inc_dir)
			r = walk_dir(w, sub, depth + 1);
		else
			r = walk_file(w, sub, depth + 1);
		free(sub);
		free(arg);
		sub = arg = NULL;
	}
	free(buf);
	return r;
}

int pgconf_lookup(const struct pgconf_io *io, const char *path, const char *name, char **ret_value,
		  char **ret_file)
{
	struct walk w = { .io = io, .name = name };
	int r;

	*ret_value = NULL;
	if (ret_file)
		*ret_file = NULL;
	r = walk_file(&w, path, 0);
	if (r < 0) {
		free(w.value);
		free(w.file);
		return r;
	}
	*ret_value = w.value;
	if (ret_file)
		*ret_file = w.file;
	else
		free(w.file);
	return w.value ? 1 : 0;
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
