/* SPDX-License-Identifier: MIT */
/*
 * output.c -- what commands share for talking to people and scripts.
 *
 * Owns the table printer (every cell from outside is escaped here, once),
 * JSON Lines output and address formatting (instants: timefmt.h).  No
 * I/O but writing stdout; commands decide what to show (running discovery
 * and reporting its failures is cmd_common.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"

struct table {
	int ncols;
	char **cells;        /* row-major, escaped */
	size_t nrows, cap;   /* rows including the header */
};

struct table *table_new(int ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (table_add(t, headers) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

int table_add(struct table *t, const char *const *cells)
{
	int i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **nc = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		char *e = escape_term(cells[i]);
		if (!e) {
			while (i-- > 0)
				free(t->cells[t->nrows * (size_t)t->ncols + (size_t)i]);
			return -ENOMEM;
		}
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = e;
	}
	t->nrows++;
	return 0;
}

void table_print(struct table *t)
{
	size_t *w = calloc((size_t)t->ncols, sizeof(*w)), r;
	int c;

	if (!w)
		return;
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t cw = escape_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
			if (cw > w[c])
				w[c] = cw;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
			if (c == t->ncols - 1)
				fputs(cell, stdout);
			else
				printf("%s%*s  ", cell, (int)(w[c] - escape_width(cell)), "");
		}
		putchar('\n');
	}
	free(w);
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void out_json_line(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *out_json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *out_action_json(const struct session *s, const char *action, const char *outcome,
				    const char *step, long long elapsed_ms, const char *note)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "cluster", out_json_str(s->cluster->data_dir));
	json_object_object_add(o, "user", out_json_str(s->user));
	json_object_object_add(o, "database", out_json_str(s->database));
	json_object_object_add(o, "client_addr", s->client_addr[0] ? json_object_new_string(s->client_addr) : NULL);
	json_object_object_add(o, "client_port", s->client_port >= 0 ? json_object_new_int(s->client_port) : NULL);
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "outcome", json_object_new_string(outcome));
	json_object_object_add(o, "step", out_json_str(step));
	json_object_object_add(o, "elapsed_ms", json_object_new_int64(elapsed_ms));
	json_object_object_add(o, "note", out_json_str(note));
	return o;
}
