/* SPDX-License-Identifier: MIT */
/*
 * cmd_top.c -- `pgevict top`: a live view of every session, from /proc and
 * the kernel, with SQL when it can be had (command).
 *
 * Owns the refresh (discovery, the /proc samples of each session, the
 * rows and the per-cluster headers) and --batch: the same header and rows
 * as plain text, one block per refresh.  The pure parts (rates, counts,
 * order, cells) are core's top.c; the full-screen view is top_screen.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/escape.h"
#include "pgevict/lockstate.h"
#include "pgevict/procfs.h"
#include "pgevict/timefmt.h"
#include "top_int.h"

int top_view_init(struct top_view *v, const struct options *o)
{
	long ps;

	memset(v, 0, sizeof(*v));
	v->o = o;
	v->filter = &o->sel;
	v->all = o->all;
	v->sort = TOP_CPU;
	v->desc = true;
	select_init(&v->own);
	v->hz = sysconf(_SC_CLK_TCK);
	ps = sysconf(_SC_PAGESIZE);
	v->page_kb = ps > 0 ? ps / 1024 : 4;
	if ((v->pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "pgevict: cannot open '/proc': %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static void free_headers(struct top_view *v)
{
	size_t i;

	for (i = 0; i < v->nheaders; i++)
		free(v->headers[i]);
	free(v->headers);
	v->headers = NULL;
	v->nheaders = 0;
}

void top_view_clear(struct top_view *v)
{
	if (v->have_d)
		discovery_clear(&v->d);
	v->have_d = false;
	free(v->prev);
	free(v->cur);
	free(v->rows);
	free(v->marks);
	free_headers(v);
	track_clear(&v->track);
	select_clear(&v->own);
	if (v->pfd >= 0)
		close(v->pfd);
	v->pfd = -1;
}

struct top_mark *top_view_mark(struct top_view *v, const struct session *s, bool create)
{
	struct top_mark *m;
	size_t i;

	for (i = 0; i < v->nmarks; i++)
		if (v->marks[i].pid == s->pid && v->marks[i].start_ticks == s->start_ticks)
			return &v->marks[i];
	if (!create || !(m = realloc(v->marks, (v->nmarks + 1) * sizeof(*m))))
		return NULL;
	v->marks = m;
	m = &m[v->nmarks++];
	*m = (struct top_mark){ .pid = s->pid, .start_ticks = s->start_ticks };
	return m;
}

/* Sample every session of the discovery into v->cur (the last refresh's
 * samples move to v->prev); IO gets rchar + wchar for the tracker. */
static int sample(struct top_view *v, uint64_t *io)
{
	struct session_list *l = &v->d.sessions;
	size_t i;

	free(v->prev);
	v->prev = v->cur;
	v->nprev = v->ncur;
	v->cur = NULL;
	v->ncur = 0;
	if (!(v->cur = calloc(l->n ? l->n : 1, sizeof(*v->cur))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		struct top_sample *t = &v->cur[v->ncur];
		char *text = NULL;
		size_t len = 0;

		io[i] = TRACK_IO_UNKNOWN;
		if (!v->all && !s->is_client)
			continue;
		t->pid = s->pid;
		t->start_ticks = s->start_ticks;
		t->mono_us = clock_mono_us();
		if (procfs_read(v->pfd, s->pid, "stat", 4096, &text, &len) == 0 &&
		    (top_parse_stat(text, len, t) < 0 || t->start_ticks != s->start_ticks))
			t->stat_ok = false;   /* not ours: a pid reused in between */
		free(text);
		text = NULL;
		t->start_ticks = s->start_ticks;
		if (t->stat_ok && procfs_read(v->pfd, s->pid, "io", 1024, &text, NULL) == 0) {
			top_parse_io(text, t);
			if (track_parse_io(text, &io[i]) < 0)
				io[i] = TRACK_IO_UNKNOWN;
		}
		free(text);
		v->ncur++;
	}
	top_samples_sort(v->cur, v->ncur);
	return 0;
}

/* "none", "locked (since ...)" or "?" for C, from the state directory. */
static void lockdown_status(const struct top_view *v, const struct pg_cluster *c, char *buf, size_t len)
{
	const char *root = v->o->state_dir ? v->o->state_dir : LOCKSTATE_DEFAULT_DIR;
	struct lockdir dir = { .lock_fd = -1 };
	struct lockstate st;
	char *key = cluster_state_key(c);
	bool busy = false;
	int r;

	snprintf(buf, len, "?");
	if (!key)
		return;
	r = lockdir_open(root, key, false, false, &dir, &busy);
	free(key);
	if (r == -ENOENT) {
		snprintf(buf, len, "none");
		return;
	}
	if (r < 0)
		return;
	memset(&st, 0, sizeof(st));
	r = lockstate_load(&dir, &st);
	snprintf(buf, len, "%s%s", r == 0 ? "locked" : r == -ENOENT ? "none" : "? (state damaged)",
		 busy ? " (a lockdown or unlock is running)" : "");
	if (r == 0)
		lockstate_clear(&st);
	lockdir_close(&dir);
}

static int make_headers(struct top_view *v)
{
	size_t i;

	free_headers(v);
	if (!(v->headers = calloc(v->d.clusters.n ? v->d.clusters.n : 1, sizeof(char *))))
		return -ENOMEM;
	for (i = 0; i < v->d.clusters.n; i++) {
		const struct pg_cluster *c = v->d.clusters.v[i];
		struct top_counts k;
		char line[1024], lock[80];

		top_count(&v->d.sessions, c, &k);
		lockdown_status(v, c, lock, sizeof(lock));
		top_header(c, &k, lock, line, sizeof(line));
		if (!(v->headers[i] = escape_term(line)))
			return -ENOMEM;
		v->nheaders++;
	}
	return 0;
}

int top_view_rows(struct top_view *v)
{
	struct session_list *l = &v->d.sessions;
	int64_t now = v->d.now_us;
	size_t i;

	free(v->rows);
	v->nrows = 0;
	if (!(v->rows = calloc(l->n ? l->n : 1, sizeof(*v->rows))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		struct top_row *r = &v->rows[v->nrows];
		const struct top_mark *m;

		if (!v->all && !s->is_client)
			continue;
		if (!select_is_empty(v->filter) && !select_match(v->filter, s, now))
			continue;
		r->s = s;
		top_row_compute(r, top_sample_find(v->prev, v->nprev, s->pid, s->start_ticks),
				top_sample_find(v->cur, v->ncur, s->pid, s->start_ticks), v->hz, v->page_kb, now);
		if ((m = top_view_mark(v, s, false))) {
			r->marked = m->marked;
			r->outcome = m->outcome;
		}
		v->nrows++;
	}
	top_rows_sort(v->rows, v->nrows, v->sort, v->desc);
	return 0;
}

int top_view_refresh(struct top_view *v, bool first)
{
	struct discover_opts d = { .cluster_spec = v->o->cluster, .no_sql = v->o->no_sql, .dsn = v->o->dsn };
	uint64_t *io = NULL;
	int r;

	if (v->have_d)
		discovery_clear(&v->d);
	v->have_d = false;
	if (first) {
		if ((r = cmd_discover(v->o, &v->d)) != 0)
			return r;
	} else if ((r = discover(&d, &v->d)) < 0) {
		discovery_clear(&v->d);
		return r == -ENOMEM ? r : 0;  /* kept going: the next refresh may */
	}
	v->have_d = true;
	if (!(io = malloc((v->d.sessions.n ? v->d.sessions.n : 1) * sizeof(*io))))
		return -ENOMEM;
	if ((r = sample(v, io)) == 0 && (r = track_update(&v->track, &v->d.sessions, io, v->d.now_us)) == 0 &&
	    (r = make_headers(v)) == 0)
		r = top_view_rows(v);
	free(io);
	return r;
}

/* One block of --batch: the time, the cluster headers, the rows. */
static int print_block(const struct top_view *v)
{
	const char *hdr[TOP_NCOLS];
	char cells[TOP_NCOLS][128], now[40];
	struct table *t;
	size_t i;
	int c;

	timefmt_rfc3339(v->d.now_us, now, sizeof(now));
	printf("pgevict top %s, %zu rows, sorted by %s%s\n", now, v->nrows, top_col_name(v->sort),
	       v->desc ? " (descending)" : "");
	for (i = 0; i < v->nheaders; i++)
		printf("%s\n", v->headers[i]);
	for (c = 0; c < TOP_NCOLS; c++)
		hdr[c] = top_col_name((enum top_col)c);
	if (!(t = table_new(TOP_NCOLS, hdr)))
		return -ENOMEM;
	for (i = 0; i < v->nrows; i++) {
		const char *row[TOP_NCOLS];
		for (c = 0; c < TOP_NCOLS; c++) {
			top_cell(&v->rows[i], (enum top_col)c, cells[c], c == TOP_QUERY ? 64 : sizeof(cells[c]));
			row[c] = cells[c];
		}
		if (table_add(t, row) < 0) {
			table_free(t);
			return -ENOMEM;
		}
	}
	if (v->nrows)
		table_print(t);
	table_free(t);
	printf("\n");
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_batch(struct top_view *v)
{
	long i, n = v->o->iterations > 0 ? v->o->iterations : LONG_MAX;
	int r = 0;

	for (i = 0; i < n; i++) {
		if (i)
			sleep_ms(v->o->interval_set ? v->o->interval_ms : 1000);
		if ((r = top_view_refresh(v, i == 0)) != 0 || (r = print_block(v)) != 0)
			break;
	}
	return r;
}

int cmd_top(const struct options *o)
{
	struct top_view v;
	const char *term = getenv("TERM");
	bool batch = o->batch || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) || !term || !*term ||
		     strcmp(term, "dumb") == 0;
	int r;

	if ((r = top_view_init(&v, o)) != 0)
		return r;
	r = batch ? run_batch(&v) : top_screen_run(&v);
	top_view_clear(&v);
	if (r == -ENOMEM)
		fprintf(stderr, "pgevict: out of memory\n");
	else if (r == -EIO)
		return 1;   /* main says the write error */
	return r < 0 ? 1 : r;
}
