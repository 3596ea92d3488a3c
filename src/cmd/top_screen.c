/* SPDX-License-Identifier: MIT */
/*
 * top_screen.c -- `pgevict top`'s full-screen view (command, ncurses).
 *
 * Owns the screen, the keys and the terminal's state: drawing the rows of
 * the snapshot the refresh thread (top_worker.c) handed over last, asking
 * it for the next one and taking it without ever waiting on it, the
 * filter prompt (the CLI's selector language), the sort keys, marks, the
 * ladder on keys (cancel, terminate, sever through evict.h, after a
 * confirmation that shows the plan; outcomes per row; the same syslog
 * trail as the CLI) and the L key (top_lock.c).  The terminal is given back on
 * every way out: q, SIGINT, SIGTERM (a flag, the loop ends), exit() (an
 * atexit handler) and a crash (a handler that restores the saved termios
 * and leaves the alternate screen, then dies of the same signal).
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/ladder.h"
#include "top_int.h"

static volatile sig_atomic_t stop_signal;
static struct termios saved_tio;
static bool have_tio, curses_on;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* A crash: only async-signal-safe calls. */
static void on_crash(int sig)
{
	static const char seq[] = "\033[?1049l\033[?25h\033[0m\r\n";

	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	if (write(STDOUT_FILENO, seq, sizeof(seq) - 1) < 0) {
		/* nothing more to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void restore_at_exit(void)
{
	if (curses_on && !isendwin())
		endwin();
	curses_on = false;
}

static void screen_start(void)
{
	struct sigaction sa;
	static const int crash[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	size_t i;

	setlocale(LC_ALL, "");
	have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	atexit(restore_at_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;          /* no SA_RESTART: getch returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		sigaction(crash[i], &sa, NULL);
	initscr();
	curses_on = true;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
}

/* The view's state beyond the rows. */
struct screen {
	struct top_view *v;
	size_t sel, top;             /* the selected row, the first shown */
	pid_t sel_pid;
	bool paused;
	char msg[512];               /* the status line, escaped */
	int64_t interval_ms;
	int64_t busy_ms;             /* the refresh in flight has run this long */
};

/* Copy S (escaped) into BUF cut to WIDTH columns, padded when PAD. */
static void fit(char *buf, size_t len, const char *s, int width, bool pad)
{
	size_t o = 0;
	int cols = 0;

	for (; *s && o + 4 < len; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80) {
			if (cols == width)
				break;
			cols++;
		}
		buf[o++] = *s;
	}
	while (pad && cols < width && o + 1 < len) {
		buf[o++] = ' ';
		cols++;
	}
	buf[o] = 0;
}

static const int col_width[TOP_NCOLS] = { 7, 10, 10, 22, 19, 9, 9, 6, 6, 7, 7, 2, 12, 0 };

/* One line of row R (or the column header when R is NULL), COLS wide. */
static void row_line(const struct top_row *r, char *line, size_t len, int cols)
{
	size_t o = 0;
	int c, used = 2;

	snprintf(line, len, "%s ", r && r->marked ? "*" : " ");
	o = strlen(line);
	for (c = 0; c < TOP_NCOLS && o + 8 < len; c++) {
		char cell[256], *e = NULL, piece[512];
		int w = col_width[c] ? col_width[c] : cols - used - 1;
		if (w <= 0)
			break;
		if (!r)
			snprintf(cell, sizeof(cell), "%s", top_col_name((enum top_col)c));
		else if (c == TOP_STATE && r->outcome)
			snprintf(cell, sizeof(cell), "[%s]", r->outcome);
		else
			top_cell(r, (enum top_col)c, cell, sizeof(cell));
		e = escape_term(cell);
		fit(piece, sizeof(piece), e ? e : "?", w, col_width[c] != 0);
		free(e);
		o += (size_t)snprintf(line + o, len - o, "%s ", piece);
		if (o >= len)
			o = len - 1;
		used += w + 1;
	}
}

static void draw(struct screen *sc)
{
	struct top_view *v = sc->v;
	char line[4096], when[16];
	time_t t = time(NULL);
	struct tm tm;
	int y = 0, rows_y, nshow, i;
	char *filt = escape_term(!v->own_used ? "(command line)" : v->filter_text[0] ? v->filter_text : "(none)");

	erase();
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "pgevict top  %s  every %lldms  %zu rows  sort %s%s  filter %s%s%s", when,
		 (long long)sc->interval_ms, v->nrows, top_col_name(v->sort), v->desc ? " desc" : " asc",
		 filt ? filt : "?", v->all ? "  [all processes]" : "", sc->paused ? "  [PAUSED]" : "");
	free(filt);
	/* a refresh that waits on a slow server: said, the keys still work */
	if (sc->busy_ms >= 1000)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "  [refreshing %llds]",
			 (long long)(sc->busy_ms / 1000));
	mvaddnstr(y++, 0, line, COLS);
	for (i = 0; i < (int)v->snap->nheaders && y < LINES - 4; i++)
		mvaddnstr(y++, 0, v->snap->headers[i], COLS);
	mvaddnstr(y++, 0, sc->msg, COLS);
	row_line(NULL, line, sizeof(line), COLS);
	attron(A_REVERSE);
	mvaddnstr(y++, 0, line, COLS);
	attroff(A_REVERSE);
	rows_y = y;
	nshow = LINES - 1 - rows_y;
	if (nshow < 1)
		nshow = 1;
	if (sc->sel >= v->nrows)
		sc->sel = v->nrows ? v->nrows - 1 : 0;
	if (sc->sel < sc->top)
		sc->top = sc->sel;
	if (sc->sel >= sc->top + (size_t)nshow)
		sc->top = sc->sel - (size_t)nshow + 1;
	for (i = 0; i < nshow && sc->top + (size_t)i < v->nrows; i++) {
		size_t k = sc->top + (size_t)i;
		row_line(&v->rows[k], line, sizeof(line), COLS);
		if (k == sc->sel)
			attron(A_BOLD | A_UNDERLINE);
		mvaddnstr(rows_y + i, 0, line, COLS);
		if (k == sc->sel)
			attroff(A_BOLD | A_UNDERLINE);
	}
	attron(A_REVERSE);
	mvaddnstr(LINES - 1, 0,
		  "q quit  / filter  < > sort  r reverse  a all  p pause  space mark  c cancel  t terminate  s sever  L lockdown/unlock",
		  COLS);
	attroff(A_REVERSE);
	refresh();
}

/* Keep the selection on the same pid across a refresh or a re-sort. */
static void reselect(struct screen *sc)
{
	size_t i;

	for (i = 0; i < sc->v->nrows; i++)
		if (sc->v->rows[i].s->pid == sc->sel_pid) {
			sc->sel = i;
			return;
		}
}

static void remember_sel(struct screen *sc)
{
	sc->sel_pid = sc->sel < sc->v->nrows ? sc->v->rows[sc->sel].s->pid : 0;
}

/* The filter prompt: read a line at the status line; Enter applies it
 * (an error is shown in place and the prompt stays), Escape leaves. */
static int prompt_filter(struct screen *sc)
{
	struct top_view *v = sc->v;
	char text[256], err[256] = "";
	size_t n;
	int ch;

	snprintf(text, sizeof(text), "%s", v->filter_text);
	n = strlen(text);
	timeout(-1);
	curs_set(1);
	for (;;) {
		char line[600];
		char *e = escape_term(text);
		snprintf(line, sizeof(line), "filter%s%s: %s", err[0] ? " - " : "", err, e ? e : "");
		free(e);
		move((int)v->snap->nheaders + 1, 0);
		clrtoeol();
		mvaddnstr((int)v->snap->nheaders + 1, 0, line, COLS);
		refresh();
		ch = getch();
		if (stop_signal || ch == 27)
			break;
		if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n)
				text[--n] = 0;
		} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			struct selector s;
			int r;
			select_init(&s);
			if ((r = select_parse_string(&s, text, err, sizeof(err))) == 0) {
				select_clear(&v->own);
				v->own = s;
				v->filter = &v->own;
				snprintf(v->filter_text, sizeof(v->filter_text), "%s", text);
				v->own_used = true;
				break;
			}
			select_clear(&s);
			if (r == -ENOMEM)
				snprintf(err, sizeof(err), "out of memory");
		} else if (ch >= 32 && ch < 256 && n + 1 < sizeof(text)) {
			text[n++] = (char)ch;
			text[n] = 0;
			err[0] = 0;
		}
	}
	curs_set(0);
	timeout(100);
	sc->msg[0] = 0;
	remember_sel(sc);
	return top_view_rows(v);
}

/* The sessions an action takes: the marked rows, else the selected one;
 * added to SEL by pid and start time.  Returns how many; -ENOMEM. */
static int targets(struct screen *sc, struct selector *sel)
{
	struct top_view *v = sc->v;
	size_t i;
	int n = 0, r;

	for (i = 0; i < v->nrows; i++)
		if (v->rows[i].marked) {
			if ((r = select_add_process(sel, v->rows[i].s->pid, v->rows[i].s->start_ticks)) < 0)
				return r;
			n++;
		}
	if (!n && sc->sel < v->nrows) {
		if ((r = select_add_process(sel, v->rows[sc->sel].s->pid, v->rows[sc->sel].s->start_ticks)) < 0)
			return r;
		n++;
	}
	return n;
}

/* Show PLAN full screen; true when the operator types y. */
static bool confirm(struct screen *sc, const struct plan *plan, enum action action)
{
	char line[1024];
	size_t i;
	int y = 0, ch;

	erase();
	snprintf(line, sizeof(line), "%s %zu session%s: the plan", action_name(action), plan->n, plan->n == 1 ? "" : "s");
	attron(A_BOLD);
	mvaddnstr(y++, 0, line, COLS);
	attroff(A_BOLD);
	for (i = 0; i < plan->n && y < LINES - 2; i++) {
		const struct plan_item *it = &plan->v[i];
		char steps[64], client[INET6_ADDRSTRLEN + 16], raw[600], *e;
		ladder_steps_text(it->steps, steps, sizeof(steps));
		session_client_text(it->s, client, sizeof(client));
		snprintf(raw, sizeof(raw), "  pid %d  %s@%s  %s  %s%s", (int)it->s->pid,
			 it->s->user ? it->s->user : "?", it->s->database ? it->s->database : "?", client,
			 it->skip ? "skipped: " : "steps ", it->skip ? it->skip : steps);
		e = escape_term(raw);
		mvaddnstr(y++, 0, e ? e : "?", COLS);
		free(e);
	}
	mvaddnstr(LINES - 1, 0, "y: go ahead   any other key: back", COLS);
	refresh();
	timeout(-1);
	ch = getch();
	timeout(100);
	(void)sc;
	return ch == 'y' || ch == 'Y';
}

/* Record each outcome on its row (kept across refreshes) and say the sum. */
static void record_outcomes(struct screen *sc, const struct plan *plan, const struct evict_result *res,
			    enum action action)
{
	size_t i, k[OUTCOME_SKIPPED + 1] = { 0 };

	for (i = 0; i < plan->n; i++) {
		struct top_mark *m = top_view_mark(sc->v, plan->v[i].s, true);
		if (res[i].outcome <= OUTCOME_SKIPPED)
			k[res[i].outcome]++;
		if (m) {
			m->outcome = outcome_name(res[i].outcome);
			m->marked = false;
		}
	}
	snprintf(sc->msg, sizeof(sc->msg), "%s: %zu gone, %zu severed, %zu survived, %zu cancelled, %zu skipped",
		 action_name(action), k[OUTCOME_GONE], k[OUTCOME_SEVERED], k[OUTCOME_SURVIVED],
		 k[OUTCOME_CANCELLED], k[OUTCOME_SKIPPED]);
}

/* Cancel, terminate or sever the marked sessions (or the selected one):
 * the plan, a confirmation, the engine, the outcomes.  0 or -ENOMEM. */
static int act(struct screen *sc, enum action action)
{
	struct top_view *v = sc->v;
	struct selector sel;
	struct plan plan = { 0 };
	struct evict_params p;
	struct evict_result *res = NULL;
	int r, n;

	select_init(&sel);
	if ((n = r = targets(sc, &sel)) <= 0)
		goto out;
	cmd_evict_params(v->o, action, &p);
	p.dry_run = false;
	if ((r = ladder_plan(action, p.steps, &sel, &v->snap->d.sessions, v->snap->d.now_us, &plan)) < 0)
		goto out;
	if (!plan.n || !confirm(sc, &plan, action)) {
		snprintf(sc->msg, sizeof(sc->msg), "%s: nothing done", action_name(action));
		goto out;
	}
	if (!(res = calloc(plan.n, sizeof(*res)))) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(sc->msg, sizeof(sc->msg), "%s: %zu session%s...", action_name(action), plan.n, plan.n == 1 ? "" : "s");
	draw(sc);
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	r = evict(&p, &plan, res, NULL);
	closelog();
	if (r == 0)
		record_outcomes(sc, &plan, res, action);
out:
	free(res);
	plan_clear(&plan);
	select_clear(&sel);
	return r < 0 ? r : 0;
}

static void lock_busy(void *arg, const char *msg)
{
	struct screen *sc = arg;

	snprintf(sc->msg, sizeof(sc->msg), "%s", msg);
	draw(sc);
}

/* L: lockdown or unlock of the selected row's cluster (or the only one). */
static int lock_key(struct screen *sc)
{
	struct top_view *v = sc->v;
	const struct pg_cluster *c = NULL;

	if (sc->sel < v->nrows)
		c = v->rows[sc->sel].s->cluster;
	else if (v->snap->d.clusters.n == 1)
		c = v->snap->d.clusters.v[0];
	if (!c) {
		snprintf(sc->msg, sizeof(sc->msg), "lockdown: select a session of the cluster first");
		return 0;
	}
	return top_lock_key(v->o, c, sc->msg, sizeof(sc->msg), lock_busy, sc);
}

static void sort_step(struct screen *sc, int d)
{
	struct top_view *v = sc->v;

	v->sort = (enum top_col)(((int)v->sort + d + TOP_NCOLS) % TOP_NCOLS);
	v->desc = v->sort >= TOP_STATE_AGE && v->sort <= TOP_WRITE;
}

/* One key.  Returns 1 to quit, 0 to go on, -ENOMEM; *REFRESH asks for a
 * new refresh now. */
static int key(struct screen *sc, int ch, bool *refresh_now)
{
	struct top_view *v = sc->v;

	remember_sel(sc);
	switch (ch) {
	case 'q': case 'Q':
		return 1;
	case KEY_UP: case 'k':
		if (sc->sel)
			sc->sel--;
		return 0;
	case KEY_DOWN: case 'j':
		if (sc->sel + 1 < v->nrows)
			sc->sel++;
		return 0;
	case KEY_PPAGE: sc->sel = sc->sel > 10 ? sc->sel - 10 : 0; return 0;
	case KEY_NPAGE: sc->sel = v->nrows && sc->sel + 10 >= v->nrows ? v->nrows - 1 : sc->sel + 10; return 0;
	case '<': sort_step(sc, -1); break;
	case '>': sort_step(sc, 1); break;
	case 'r': v->desc = !v->desc; break;
	case 'P': v->sort = TOP_CPU; v->desc = true; break;
	case 'M': v->sort = TOP_RSS; v->desc = true; break;
	case 'N': v->sort = TOP_PID; v->desc = false; break;
	case 'p': sc->paused = !sc->paused; return 0;
	case 'a': {
		int r;
		v->all = !v->all;
		if ((r = top_view_rows(v)) == 0)
			reselect(sc);
		return r;
	}
	case '/': return prompt_filter(sc);
	case ' ':
		if (sc->sel < v->nrows) {
			struct top_mark *m = top_view_mark(v, v->rows[sc->sel].s, true);
			if (!m)
				return -ENOMEM;
			m->marked = v->rows[sc->sel].marked = !v->rows[sc->sel].marked;
			if (sc->sel + 1 < v->nrows)
				sc->sel++;
		}
		return 0;
	case 'L':
		*refresh_now = true;
		return lock_key(sc);
	case 'c': case 't': case 's': {
		int r = act(sc, ch == 'c' ? ACTION_CANCEL : ch == 't' ? ACTION_TERMINATE : ACTION_SEVER);
		*refresh_now = true;
		return r;
	}
	case KEY_RESIZE:
		return 0;
	default:
		return 0;
	}
	/* a new order */
	top_rows_sort(v->rows, v->nrows, v->sort, v->desc);
	reselect(sc);
	return 0;
}

/* Take the worker's newest snapshot, if any, keeping the selection.
 * 0 or -ENOMEM. */
static int take(struct screen *sc, struct top_worker *w, bool *got)
{
	struct top_snap *snap;
	int err = 0;

	*got = false;
	snap = top_worker_take(w, &err, &sc->busy_ms);
	if (snap) {
		remember_sel(sc);
		if ((err = top_view_show(sc->v, snap)) == 0)
			reselect(sc);
		*got = true;
	}
	return err;
}

int top_screen_run(struct top_view *v, struct top_source *src)
{
	struct screen sc = { .v = v };
	struct top_worker *w = NULL;
	struct top_snap *snap = NULL;
	int64_t next = 0;
	bool asked = false;
	int r = 0;

	sc.interval_ms = v->o->interval_set ? v->o->interval_ms : 1000;
	/* the first refresh before the screen: what it reports stays readable */
	if ((r = top_refresh(src, true, &snap)) != 0 || (r = top_view_show(v, snap)) != 0 ||
	    (r = top_worker_start(src, &w)) < 0) {
		top_source_clear(src);
		return r;
	}
	next = clock_mono_us() / 1000 + sc.interval_ms;
	screen_start();
	while (!stop_signal) {
		bool now = false, got;
		int ch;

		if ((r = take(&sc, w, &got)) < 0)
			break;
		if (got) {
			asked = false;
			next = clock_mono_us() / 1000 + sc.interval_ms;
		}
		if (!sc.paused && !asked && clock_mono_us() / 1000 >= next) {
			top_worker_ask(w);
			asked = true;
		}
		draw(&sc);
		ch = getch();
		if (stop_signal || ch == ERR)
			continue;
		if ((r = key(&sc, ch, &now)) != 0)
			break;
		if (now) {
			/* after an action: a refresh that starts after it */
			top_worker_ask(w);
			asked = true;
		}
	}
	restore_at_exit();
	top_worker_stop(w, 300);
	if (stop_signal)
		return 128 + stop_signal;
	return r == 1 ? 0 : r;
}
