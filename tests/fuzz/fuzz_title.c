/* SPDX-License-Identifier: MIT */
/*
 * fuzz_title.c -- libFuzzer target for title.h (titles are written by
 * clients: USER and DB come from the startup packet).
 *
 * The input, NUL-terminated, is parsed with no hint, with a {NONE} hint,
 * with a TCP hint whose port is the input's first two bytes, with a Unix
 * hint, and with the cluster_name that title_cluster_name finds in it.
 * Besides memory errors (ASan) it aborts on broken invariants: fields are
 * non-empty substrings of the title, a hinted parse is a client whose port
 * is the hint's, auxiliary processes carry no client fields, and a TCP or
 * Unix hint that agrees with the unhinted parse gives the same answer.
 * The raw bytes, NULs included, also go through title_clean, as a
 * /proc/PID/cmdline read would.
 * Built by `make fuzz` (libFuzzer) and replayed over the corpus by
 * tests/fuzz/replay.c in `make check`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/escape.h"
#include "pgevict/title.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known_types[] = {
	"client backend", "walsender", "background worker", "checkpointer", "background writer",
	"walwriter", "walreceiver", "walsummarizer", "startup", "archiver", "autovacuum launcher",
	"autovacuum worker", "logger", "stats collector", "logical replication launcher",
	"logical replication parallel worker", "logical replication apply worker",
	"logical replication tablesync worker", "logical replication worker", "parallel worker",
	"slotsync worker", "io worker",
};

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A field the parser returns is a non-empty piece of the title. */
static void check_field(const char *raw, const char *f)
{
	if (!f)
		return;
	CHECK(*f);
	CHECK(strstr(raw, f) != NULL);
}

static void check_title(const char *raw, const struct title_hint *hint, int r,
			const struct title *t)
{
	size_t i;
	bool known = false;

	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r < 0) {
		CHECK(!t->backend_type && !t->is_client && !t->user && !t->database && !t->host &&
		      !t->activity && !t->detail && !t->waiting && t->port == -1);
		return;
	}
	CHECK(t->backend_type);
	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		known |= strcmp(t->backend_type, known_types[i]) == 0;
	CHECK(known);
	CHECK(t->port >= -1 && t->port <= 65535);
	check_field(raw, t->user);
	check_field(raw, t->database);
	check_field(raw, t->host);
	check_field(raw, t->activity);
	check_field(raw, t->detail);
	/* with a database the user is one word */
	if (t->database)
		CHECK(t->user && !strchr(t->user, ' ') && !strchr(t->database, ' '));
	if (t->host)
		CHECK(t->is_client);
	if (t->is_client) {
		CHECK(!t->detail);
		CHECK(strcmp(t->backend_type, "client backend") == 0 ||
		      strcmp(t->backend_type, "walsender") == 0);
		/* "[local](5)" is read as HOST(PORT) with HOST "[local]": not
		 * a title PostgreSQL writes, and harmless; only a port-less
		 * host must be [local]. */
		if (t->host && t->port == -1)
			CHECK(strcmp(t->host, "[local]") == 0);
		if (t->host)
			CHECK(!strchr(t->host, ' '));
		else
			CHECK(t->port == -1);
	} else {
		CHECK(!t->user && !t->database && !t->host && !t->activity && !t->waiting &&
		      t->port == -1);
	}
	if (hint && (hint->transport == TITLE_HINT_TCP || hint->transport == TITLE_HINT_UNIX))
		CHECK(t->is_client);
	if (hint && hint->transport == TITLE_HINT_TCP && t->port >= 0)
		CHECK(t->port == hint->port);
	if (hint && hint->transport == TITLE_HINT_TCP && t->host)
		CHECK(t->port == hint->port);
	if (hint && hint->transport == TITLE_HINT_UNIX)
		CHECK(t->port == -1 && (!t->host || strcmp(t->host, "[local]") == 0));
	/* A state is one of pg_stat_activity's, or unknown (a truncated
	 * activity); never made up. */
	if (t->activity) {
		const char *st = title_state(t->activity);
		CHECK(!st || strcmp(st, "active") == 0 || strcmp(st, "idle") == 0 ||
		      strncmp(st, "idle in transaction", 19) == 0 || strcmp(st, "starting") == 0 ||
		      strcmp(st, "fastpath function call") == 0);
	} else {
		CHECK(title_state(NULL) == NULL);
	}
}

static void check_agrees(const struct title *a, const struct title *b)
{
	CHECK(same(a->user, b->user));
	CHECK(same(a->database, b->database));
	CHECK(same(a->host, b->host));
	CHECK(a->port == b->port);
	CHECK(same(a->activity, b->activity));
	CHECK(a->waiting == b->waiting);
	CHECK(a->is_client == b->is_client);
	CHECK(same(a->backend_type, b->backend_type));
}

static void parse_and_check(const char *raw, const char *cluster, const struct title_hint *hint,
			    struct title *t)
{
	int r = title_parse(raw, cluster, hint, t);

	check_title(raw, hint, r, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct title_hint none = { TITLE_HINT_NONE, 0 };
	struct title_hint tcp = { TITLE_HINT_TCP, size >= 2 ? (data[0] << 8) | data[1] : 0 };
	struct title_hint unx = { TITLE_HINT_UNIX, 0 };
	struct title t0, t1;
	char *raw, *name = NULL, *esc;
	int r;

	raw = malloc(size + 1);
	if (!raw)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';

	/* The input as /proc/PID/cmdline gives it (NULs and all), cleaned:
	 * a NUL-free title of at most TITLE_MAX bytes, no trailing blank,
	 * nothing touched past the input's LEN + 1 bytes, and it parses. */
	{
		char *cl = malloc(size + 1);
		size_t n;
		if (!cl) {
			free(raw);
			return 0;
		}
		memcpy(cl, data, size);
		n = title_clean(cl, size);
		CHECK(n <= TITLE_MAX && n <= size && strlen(cl) == n);
		CHECK(n == 0 || cl[n - 1] != ' ');
		parse_and_check(cl, NULL, NULL, &t0);
		title_clear(&t0);
		free(cl);
	}

	parse_and_check(raw, NULL, NULL, &t0);
	parse_and_check(raw, NULL, &none, &t1);
	check_agrees(&t0, &t1);
	CHECK(same(t0.detail, t1.detail));
	title_clear(&t1);

	/* A hint that agrees with the unhinted parse changes nothing. */
	if (t0.port >= 0) {
		struct title_hint h = { TITLE_HINT_TCP, t0.port };
		parse_and_check(raw, NULL, &h, &t1);
		check_agrees(&t0, &t1);
		title_clear(&t1);
	} else if (t0.host && strcmp(t0.host, "[local]") == 0) {
		parse_and_check(raw, NULL, &unx, &t1);
		check_agrees(&t0, &t1);
		title_clear(&t1);
	}
	title_clear(&t0);

	parse_and_check(raw, NULL, &tcp, &t0);
	title_clear(&t0);
	parse_and_check(raw, NULL, &unx, &t0);
	title_clear(&t0);
	{
		struct title_hint nocl = { TITLE_HINT_NOCLIENT, 0 };
		parse_and_check(raw, NULL, &nocl, &t0);
		title_clear(&t0);
	}
	parse_and_check(raw, "15/main", &tcp, &t0);
	title_clear(&t0);

	r = title_cluster_name(raw, &name);
	CHECK(r == 0 || r == 1 || r == -ENOMEM);
	if (r != 1)
		CHECK(!name);
	if (name) {
		CHECK(*name && strstr(raw, name));
		parse_and_check(raw, name, NULL, &t0);
		title_clear(&t0);
		parse_and_check(raw, name, &tcp, &t0);
		title_clear(&t0);
	}
	free(name);

	/* What reaches a terminal: no control byte survives. */
	esc = escape_term(raw);
	if (esc) {
		const unsigned char *p;
		for (p = (const unsigned char *)esc; *p; p++)
			CHECK(*p >= 0x20 && *p != 0x7f);
		(void)escape_width(esc);
		free(esc);
	}
	free(raw);
	return 0;
}
