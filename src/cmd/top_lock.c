/* SPDX-License-Identifier: MIT */
/*
 * top_lock.c -- `pgevict top`'s L key: lockdown of a cluster, or unlock
 * when it is locked, with the plan shown first (command, ncurses).
 *
 * Owns the key's screens and words: the plan (cmd_lock_preview: which
 * pg_hba.conf, the lockdown file that replaces it or the original that
 * goes back, what the engine then does), y to go (cmd_lock_go: the
 * facts read again under the lock, the same engine and syslog trail as
 * `pgevict lockdown` and `unlock`), and the outcome for the status line.
 * What the run says comes here through lockapply's report callbacks;
 * every line from outside is escaped before the terminal.  It does not
 * own the view nor the cluster (the caller's snapshot).
 */
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/escape.h"
#include "pgevict/lockapply.h"
#include "top_int.h"

/* What a run said: its notes, its last error, its proof. */
struct said {
	char notes[4][256];
	size_t nnotes;
	char last[512];              /* the last error or end line */
	char result[512];            /* the proof, when there was one */
};

static void said_say(void *ctx, const char *line)
{
	struct said *s = ctx;

	snprintf(s->last, sizeof(s->last), "%s", line);
}

static void said_note(void *ctx, const char *line)
{
	struct said *s = ctx;

	if (s->nnotes < sizeof(s->notes) / sizeof(s->notes[0]))
		snprintf(s->notes[s->nnotes++], sizeof(s->notes[0]), "%s", line);
}

static void said_result(void *ctx, const struct lockapply_result *r)
{
	struct said *s = ctx;

	if (!r->proof)
		return;
	snprintf(s->result, sizeof(s->result), "%s %s (probe as \"%s\" over %s%s: %s after %lld ms)", r->action,
		 r->ok ? "proven" : "NOT proven", LOCKPLAN_PROBE_USER, *r->probe_host ? "TCP " : "the Unix socket",
		 r->probe_host, r->proof, r->ms);
}

static int said_kick(void *ctx, const struct session *const *ses, size_t n, const char *user, const char *db)
{
	(void)ctx, (void)ses, (void)n, (void)user, (void)db;
	return 1;                    /* top has no --kick: never asked */
}

/* LINE (from outside) escaped at row Y, cut to the screen. */
static void put(int y, const char *line, attr_t attr)
{
	char *e = escape_term(line);

	attron(attr);
	mvaddnstr(y, 0, e ? e : "?", COLS);
	attroff(attr);
	free(e);
}

/* The lines of TEXT from row *Y, up to the last rows of the screen;
 * RULES_ONLY: no comment nor blank line. */
static void put_text(int *y, const char *text, bool rules_only)
{
	const char *p = text, *nl;
	size_t more = 0;

	while (p && *p) {
		char line[512];
		size_t n;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "    %.*s", (int)(n < 500 ? n : 500), p);
		p = nl ? nl + 1 : NULL;
		if (rules_only && (line[4 + strspn(line + 4, " \t")] == '#' || !line[4 + strspn(line + 4, " \t")]))
			continue;
		if (*y < LINES - 3)
			put((*y)++, line, 0);
		else
			more++;
	}
	if (more) {
		char line[64];
		snprintf(line, sizeof(line), "    ... %zu more line%s", more, more == 1 ? "" : "s");
		put((*y)++, line, 0);
	}
}

/* The plan of PV for cluster C, full screen; true when the operator
 * types y. */
static bool confirm(const struct pg_cluster *c, const struct lock_preview *pv, const struct said *s)
{
	const char *what = pv->unlock ? "unlock" : "lockdown";
	char line[1024];
	size_t i;
	int y = 0, ch;

	erase();
	snprintf(line, sizeof(line), "%s of cluster %s (port %d, %s): the plan", what,
		 c->cluster_name ? c->cluster_name : "-", c->port, c->data_dir ? c->data_dir : "?");
	put(y++, line, A_BOLD);
	if (pv->unlock && pv->file_locked) {
		snprintf(line, sizeof(line), "  '%s' goes back to the original, byte for byte; reload; the probe "
			 "must get what it got before the lockdown", pv->hba_path ? pv->hba_path : "?");
		put(y++, line, 0);
		if (pv->displaced)
			put(y++, "  the file on disk was changed by someone else since the lockdown: that version is kept aside",
			    0);
		put(y++, "  the original's rules, in force again:", 0);
	} else if (pv->unlock) {
		put(y++, "  the record goes; pg_hba.conf was not replaced by this lockdown", 0);
	} else {
		snprintf(line, sizeof(line), "  '%s' is replaced by the file below (the original is kept for unlock); "
			 "reload; a probe as \"%s\" must be refused", pv->hba_path ? pv->hba_path : "?",
			 LOCKPLAN_PROBE_USER);
		put(y++, line, 0);
		put(y++, "  sessions already connected stay (t terminates them); what stays allowed:", 0);
	}
	for (i = 0; i < s->nnotes && y < LINES - 3; i++) {
		snprintf(line, sizeof(line), "  note: %s", s->notes[i]);
		put(y++, line, 0);
	}
	put_text(&y, pv->text, pv->unlock);
	put(LINES - 1, pv->unlock ? "y: unlock   any other key: back" : "y: lock down   any other key: back", A_REVERSE);
	refresh();
	timeout(-1);
	ch = getch();
	timeout(100);
	return ch == 'y' || ch == 'Y';
}

/* The status line: FMT's words escaped (paths and PostgreSQL's words in
 * them come from outside). */
static void set_msg(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t len, const char *fmt, ...)
{
	char *e;
	va_list ap;

	va_start(ap, fmt);
	e = escape_term_vfmt(fmt, ap);
	va_end(ap);
	snprintf(msg, len, "%s", e ? e : "out of memory");
	free(e);
}

int top_lock_key(const struct options *o, const struct pg_cluster *c, char *msg, size_t len,
		 void (*busy)(void *arg, const char *msg), void *arg)
{
	struct said s;
	struct lockapply_report rep = { said_say, said_note, said_result, said_kick, &s };
	struct lock_preview pv;
	const char *what;
	int r;

	memset(&s, 0, sizeof(s));
	r = cmd_lock_preview(o, c, &rep, &pv);
	what = pv.unlock ? "unlock" : "lockdown";
	if (r != 0) {
		set_msg(msg, len, "%s: %s", what, s.last[0] ? s.last : "cannot plan it");
		goto out;
	}
	if (!confirm(c, &pv, &s)) {
		set_msg(msg, len, "%s: nothing done", what);
		goto out;
	}
	set_msg(msg, len, "%s of '%s'...", what, pv.hba_path ? pv.hba_path : c->data_dir);
	busy(arg, msg);
	memset(&s, 0, sizeof(s));
	r = cmd_lock_go(o, c, &pv, &rep);
	if (r == 0 && s.result[0])
		set_msg(msg, len, "%s", s.result);
	else if (r == 0)
		set_msg(msg, len, "%s: done", what);
	else
		set_msg(msg, len, "%s failed (exit %d): %s", what, r, s.last[0] ? s.last : s.result);
out:
	lock_preview_clear(&pv);
	return 0;
}
