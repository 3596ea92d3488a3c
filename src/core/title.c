/* SPDX-License-Identifier: MIT */
/*
 * title.c -- parse PostgreSQL process titles (core, no I/O).
 *
 * Owns the grammar of the titles PostgreSQL 12 to 18 write on Linux and the
 * mapping to PostgreSQL's backend type names.  It does not read /proc and
 * does not decide which socket belongs to a process: the caller passes what
 * the kernel said as a hint, and the parser anchors HOST(PORT) on it.
 *
 * The anchor matters because USER and DB precede HOST(PORT) and come from
 * the client before authentication.  ACTIVITY follows it and is written by
 * the server (a command tag, idle, ...), and never contains "(DIGITS)" or
 * " [local]", so the rightmost such token is the server's, whatever the
 * client put in its names.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/title.h"

#define PREFIX "postgres: "

/* Auxiliary titles: the type is the title's first words. */
static const struct aux {
	const char *word;       /* what the title starts with */
	const char *type;       /* PostgreSQL's backend type name */
} aux_table[] = {
	{ "checkpointer", "checkpointer" },
	{ "background writer", "background writer" },
	{ "walwriter", "walwriter" },
	{ "walreceiver", "walreceiver" },
	{ "walsummarizer", "walsummarizer" },
	{ "startup", "startup" },
	{ "archiver", "archiver" },
	{ "autovacuum launcher", "autovacuum launcher" },
	{ "autovacuum worker", "autovacuum worker" },
	{ "logger", "logger" },
	{ "stats collector", "stats collector" },
	{ "logical replication launcher", "logical replication launcher" },
	{ "logical replication parallel apply worker", "logical replication parallel worker" },
	{ "logical replication apply worker", "logical replication apply worker" },
	{ "logical replication tablesync worker", "logical replication tablesync worker" },
	{ "logical replication worker", "logical replication worker" },
	{ "parallel worker", "parallel worker" },
	{ "slotsync worker", "slotsync worker" },
	{ "io worker", "io worker" },
};

size_t title_clean(char *buf, size_t len)
{
	size_t i;

	if (len > TITLE_MAX)
		len = TITLE_MAX;
	while (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == ' '))
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return len;
}

void title_clear(struct title *t)
{
	if (!t)
		return;
	free(t->user);
	free(t->database);
	free(t->host);
	free(t->activity);
	free(t->detail);
	memset(t, 0, sizeof(*t));
	t->port = -1;
}

static char *dup_range(const char *a, const char *b)
{
	size_t n = (size_t)(b - a);
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, a, n);
		s[n] = '\0';
	}
	return s;
}

/* [*ret_a, *ret_b): S without leading "postgres: ", cluster prefix and
 * trailing blanks.  -EINVAL if S is not a PostgreSQL title. */
static int title_body(const char *s, const char *cluster_name, const char **ret_a,
		      const char **ret_b)
{
	const char *a, *b;
	size_t cl;

	if (strncmp(s, PREFIX, strlen(PREFIX)) != 0)
		return -EINVAL;
	a = s + strlen(PREFIX);
	if (cluster_name && *cluster_name) {
		cl = strlen(cluster_name);
		if (strncmp(a, cluster_name, cl) == 0 && a[cl] == ':' && a[cl + 1] == ' ')
			a += cl + 2;
	}
	b = a + strlen(a);
	while (b > a && (b[-1] == ' ' || b[-1] == '\0'))
		b--;
	*ret_a = a;
	*ret_b = b;
	return 0;
}

/* Does [p, b) start with WORD followed by a blank or the end? */
static bool starts_word(const char *p, const char *b, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(b - p) >= n && memcmp(p, word, n) == 0 && (p + n == b || p[n] == ' ');
}

/*
 * Find the HOST(PORT) or [local] token in [a, b).  On success sets
 * *ret_host (start of HOST), *ret_end (one past ")" or "]"), *ret_port.
 * HINT narrows what counts; without one the rightmost candidate wins.
 */
static bool find_host(const char *a, const char *b, const struct title_hint *hint,
		      const char **ret_host, const char **ret_end, int *ret_port)
{
	const char *p;
	bool want_tcp = !hint || hint->transport == TITLE_HINT_NONE ||
			hint->transport == TITLE_HINT_TCP || hint->transport == TITLE_HINT_NOCLIENT;
	bool want_unix = !hint || hint->transport != TITLE_HINT_TCP;

	for (p = b; p > a; p--) {
		const char *end = p;    /* candidate token ends at p */
		if (end != b && *end != ' ')
			continue;
		if (want_unix && end - a >= 8 && memcmp(end - 7, "[local]", 7) == 0 &&
		    end[-8] == ' ') {
			*ret_host = end - 7;
			*ret_end = end;
			*ret_port = -1;
			return true;
		}
		if (want_tcp && end - a >= 4 && end[-1] == ')') {
			const char *q = end - 2;
			long port = 0, mul = 1;
			const char *h;
			if (!isdigit((unsigned char)*q))
				continue;
			while (q > a && isdigit((unsigned char)*q)) {
				port += (*q - '0') * mul;
				mul *= 10;
				if (mul > 100000)
					break;
				q--;
			}
			if (*q != '(' || mul > 100000 || port > 65535)
				continue;
			if (hint && hint->transport == TITLE_HINT_TCP && port != hint->port)
				continue;
			h = q;
			while (h > a && h[-1] != ' ')
				h--;
			if (h == q || h == a)   /* empty host, or nothing before it */
				continue;
			*ret_host = h;
			*ret_end = end;
			*ret_port = (int)port;
			return true;
		}
	}
	return false;
}

static bool strchr_range(const char *a, const char *b, char c)
{
	for (; a < b; a++)
		if (*a == c)
			return true;
	return false;
}

static int parse_client(const char *a, const char *b, const char *host, const char *end,
			int port, struct title *t)
{
	const char *left_b = host - 1;     /* the blank before HOST */
	const char *sp, *act;

	t->is_client = true;
	t->backend_type = "client backend";
	if (starts_word(a, left_b, "walsender")) {
		t->backend_type = "walsender";
		a += strlen("walsender");
		if (a < left_b)
			a++;
	}
	/* USER DB: unambiguous only with exactly one blank between them. */
	sp = a < left_b ? memchr(a, ' ', (size_t)(left_b - a)) : NULL;
	if (a < left_b && !sp) {
		t->user = dup_range(a, left_b);
		if (!t->user)
			return -ENOMEM;
	} else if (sp && sp > a && sp + 1 < left_b && !strchr_range(sp + 1, left_b, ' ')) {
		t->user = dup_range(a, sp);
		t->database = dup_range(sp + 1, left_b);
		if (!t->user || !t->database)
			return -ENOMEM;
	}
	if (port >= 0) {
		const char *paren = end - 1;
		while (*paren != '(')
			paren--;
		t->host = dup_range(host, paren);
	} else {
		t->host = dup_range(host, end);
	}
	if (!t->host)
		return -ENOMEM;
	t->port = port;
	act = end;
	while (act < b && *act == ' ')
		act++;
	if (act < b) {
		const char *ab = b;
		if (ab - act >= 8 && memcmp(ab - 8, " waiting", 8) == 0) {
			t->waiting = true;
			ab -= 8;
		} else if (ab - act == 7 && memcmp(act, "waiting", 7) == 0) {
			t->waiting = true;
			ab = act;
		}
		if (ab > act) {
			t->activity = dup_range(act, ab);
			if (!t->activity)
				return -ENOMEM;
		}
	}
	return 0;
}

int title_parse(const char *raw, const char *cluster_name, const struct title_hint *hint,
		struct title *ret)
{
	const char *a, *b, *host, *end;
	int port, r;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->port = -1;
	if (!raw)
		return -EINVAL;
	r = title_body(raw, cluster_name, &a, &b);
	if (r < 0)
		return r;

	/* Auxiliary processes carry no client, so a socket hint rules them out. */
	if (!hint || hint->transport == TITLE_HINT_NONE || hint->transport == TITLE_HINT_NOCLIENT) {
		for (i = 0; i < sizeof(aux_table) / sizeof(aux_table[0]); i++) {
			const char *w = aux_table[i].word;
			if (!starts_word(a, b, w))
				continue;
			/* "checkpointer DB h(1) idle" is a client whose user is
			 * named checkpointer: a host token means a client, unless
			 * the kernel says there is no client socket. */
			if ((!hint || hint->transport != TITLE_HINT_NOCLIENT) &&
			    find_host(a, b, NULL, &host, &end, &port))
				break;
			ret->backend_type = aux_table[i].type;
			a += strlen(w);
			while (a < b && *a == ' ')
				a++;
			if (a < b && !(ret->detail = dup_range(a, b)))
				return -ENOMEM;
			return 0;
		}
	}
	if (find_host(a, b, hint, &host, &end, &port)) {
		r = parse_client(a, b, host, end, port, ret);
		if (r < 0)
			title_clear(ret);
		return r;
	}
	if (hint && (hint->transport == TITLE_HINT_TCP || hint->transport == TITLE_HINT_UNIX)) {
		/* A client socket but no matching host token: the title is not
		 * written yet or was frozen before.  Report a client, no names. */
		ret->is_client = true;
		ret->backend_type = "client backend";
		return 0;
	}
	/* A postmaster child with a title of its own: a background worker,
	 * which PostgreSQL names after its bgw_type; we only have bgw_name. */
	ret->backend_type = "background worker";
	if (a < b && !(ret->detail = dup_range(a, b)))
		return -ENOMEM;
	return 0;
}

/* Does [a, b) start, or go on after ": ", with an auxiliary title? */
static bool holds_aux_word(const char *a, const char *b)
{
	const char *p;
	size_t i;

	for (p = a; p < b; p++) {
		if (p != a && !(p - a >= 2 && p[-1] == ' ' && p[-2] == ':'))
			continue;
		for (i = 0; i < sizeof(aux_table) / sizeof(aux_table[0]); i++)
			if (starts_word(p, b, aux_table[i].word))
				return true;
	}
	return false;
}

int title_cluster_name(const char *raw, char **ret_name)
{
	static const char *anchors[] = { "checkpointer", "background writer", "walwriter" };
	const char *a, *b, *p;
	size_t i;

	*ret_name = NULL;
	if (title_body(raw, NULL, &a, &b) < 0)
		return 0;
	for (i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++) {
		size_t n = strlen(anchors[i]);
		if ((size_t)(b - a) < n || memcmp(b - n, anchors[i], n) != 0)
			continue;
		p = b - n;
		if (p == a)
			return 1;        /* no cluster_name */
		if (p - a >= 3 && p[-1] == ' ' && p[-2] == ':') {
			/* "autovacuum worker evil: checkpointer" is a worker on a
			 * database someone named "evil: checkpointer". */
			if (holds_aux_word(a, p - 2))
				return 0;
			*ret_name = dup_range(a, p - 2);
			return *ret_name ? 1 : -ENOMEM;
		}
	}
	return 0;
}

const char *title_state(const char *activity)
{
	static const char *fixed[] = {
		"idle", "idle in transaction", "idle in transaction (aborted)",
		"fastpath function call",
	};
	static const char *walsender[] = { "streaming ", "catchup ", "backup", "stopping" };
	size_t i;

	if (!activity)
		return NULL;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(activity, fixed[i]) == 0)
			return fixed[i];
	if (strcmp(activity, "authentication") == 0 || strcmp(activity, "startup") == 0 ||
	    strcmp(activity, "initializing") == 0)
		return "starting";
	/* Command tags are upper case (SELECT, COPY, BIND); a walsender
	 * writes its phase; anything else is a truncated title ("idle in
	 * transa") and stays unknown. */
	if (*activity >= 'A' && *activity <= 'Z')
		return "active";
	for (i = 0; i < sizeof(walsender) / sizeof(walsender[0]); i++)
		if (strncmp(activity, walsender[i], strlen(walsender[i])) == 0)
			return "active";
	return NULL;
}
