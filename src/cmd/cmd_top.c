/* SPDX-License-Identifier: MIT */
/*
 * cmd_top.c -- `pgevict top`: a live view of every session, from /proc and
 * the kernel, with SQL when it can be had (command).
 *
 * Owns the refresh (discovery, the /proc samples of each session, the
 * rows and the per-cluster headers: a snapshot, made from a source that
 * carries the last samples, the state timings and the kept /proc files to
 * the next), the view of a snapshot (the operator's filter, order and
 * marks), and --batch: the same header and rows as plain text, one block
 * per refresh.  The pure parts (rates, counts, order, cells) are core's
 * top.c; the refresh thread is top_worker.c, the full-screen view
 * top_screen.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/escape.h"
#include "pgevict/lockstate.h"
#include "pgevict/procfs.h"
#include "pgevict/timefmt.h"
#include "top_int.h"

/* Room for two kept fds per backend (prockeep.h): the soft limit on open
 * files raised towards the hard one (at most KEEP_FDS_WANTED).  Without
 * it, the reads past the limit open and close as before. */
#define KEEP_FDS_WANTED 65536

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= KEEP_FDS_WANTED || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max < KEEP_FDS_WANTED ? rl.rlim_max : KEEP_FDS_WANTED;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int top_source_init(struct top_source *src, const struct options *o)
{
	long ps;

	memset(src, 0, sizeof(*src));
	raise_nofile();
	prockeep_init(&src->keep, 0);
	src->o = o;
	src->hz = sysconf(_SC_CLK_TCK);
	ps = sysconf(_SC_PAGESIZE);
	src->page_kb = ps > 0 ? ps / 1024 : 4;
	if ((src->pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "pgevict: cannot open '/proc': %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

void top_source_clear(struct top_source *src)
{
	free(src->prev);
	src->prev = NULL;
	src->nprev = 0;
	track_clear(&src->track);
	prockeep_clear(&src->keep);
	if (src->pfd >= 0)
		close(src->pfd);
	src->pfd = -1;
}

void top_snap_free(struct top_snap *snap)
{
	size_t i;

	if (!snap)
		return;
	discovery_clear(&snap->d);
	free(snap->rows);
	for (i = 0; i < snap->nheaders; i++)
		free(snap->headers[i]);
	free(snap->headers);
	free(snap);
}

/*
 * Sample every child of the discovery D into *RET_CUR (sorted): CPU time
 * and RSS from discovery's own read of /proc/PID/stat (the one that gave
 * the identity: never read twice), storage I/O from /proc/PID/io; IO gets
 * rchar + wchar for the tracker.
 */
static int sample(struct top_source *src, const struct discovery *d, uint64_t *io, struct top_sample **ret_cur,
		  size_t *ret_n)
{
	const struct session_list *l = &d->sessions;
	struct top_sample *cur;
	size_t i;

	if (!(cur = calloc(l->n ? l->n : 1, sizeof(*cur))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		struct top_sample *t = &cur[i];
		char text[1024];

		io[i] = TRACK_IO_UNKNOWN;
		t->pid = s->pid;
		t->start_ticks = s->start_ticks;
		t->mono_us = d->mono_us;
		t->stat_ok = true;
		t->cpu_ticks = s->cpu_ticks;
		t->rss_pages = s->rss_pages;
		if (prockeep_read(&src->keep, src->pfd, s->pid, s->start_ticks, PROCKEEP_IO, text, sizeof(text)) > 0) {
			top_parse_io(text, t);
			if (track_parse_io(text, &io[i]) < 0)
				io[i] = TRACK_IO_UNKNOWN;
		}
	}
	top_samples_sort(cur, l->n);
	*ret_cur = cur;
	*ret_n = l->n;
	return 0;
}

/* "none", "locked (since ...)" or "?" for C, from the state directory. */
static void lockdown_status(const struct options *o, const struct pg_cluster *c, char *buf, size_t len)
{
	const char *root = o->state_dir ? o->state_dir : LOCKSTATE_DEFAULT_DIR;
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

static int make_headers(const struct options *o, struct top_snap *snap)
{
	size_t i;

	if (!(snap->headers = calloc(snap->d.clusters.n ? snap->d.clusters.n : 1, sizeof(char *))))
		return -ENOMEM;
	for (i = 0; i < snap->d.clusters.n; i++) {
		const struct pg_cluster *c = snap->d.clusters.v[i];
		struct top_counts k;
		char line[1024], lock[80];

		top_count(&snap->d.sessions, c, &k);
		lockdown_status(o, c, lock, sizeof(lock));
		top_header(c, &k, lock, line, sizeof(line));
		if (!(snap->headers[i] = escape_term(line)))
			return -ENOMEM;
		snap->nheaders++;
	}
	return 0;
}

/* A row per child of SNAP, from this refresh's samples CUR and the last
 * one's. */
static int make_rows(const struct top_source *src, struct top_snap *snap, const struct top_sample *cur, size_t ncur)
{
	const struct session_list *l = &snap->d.sessions;
	size_t i;

	if (!(snap->rows = calloc(l->n ? l->n : 1, sizeof(*snap->rows))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		struct top_row *r = &snap->rows[snap->nrows++];

		r->s = s;
		top_row_compute(r, top_sample_find(src->prev, src->nprev, s->pid, s->start_ticks),
				top_sample_find(cur, ncur, s->pid, s->start_ticks), src->hz, src->page_kb,
				snap->d.now_us);
	}
	return 0;
}

int top_refresh(struct top_source *src, bool first, struct top_snap **ret)
{
	const struct options *o = src->o;
	struct discover_opts dopts = { .cluster_spec = o->cluster, .no_sql = o->no_sql, .dsn = o->dsn,
				       .keep = &src->keep };
	struct top_snap *snap;
	struct top_sample *cur = NULL;
	size_t ncur = 0;
	uint64_t *io = NULL;
	int r;

	*ret = NULL;
	if (!(snap = calloc(1, sizeof(*snap))))
		return -ENOMEM;
	if (first) {
		if ((r = cmd_discover(o, &snap->d)) != 0)
			goto out;
	} else if ((r = discover(&dopts, &snap->d)) < 0) {
		discovery_clear(&snap->d);
		memset(&snap->d, 0, sizeof(snap->d));
		if (r == -ENOMEM)
			goto out;
		snap->d.now_us = clock_wall_us();   /* shown empty; the next may */
	}
	if (!(io = malloc((snap->d.sessions.n ? snap->d.sessions.n : 1) * sizeof(*io)))) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = sample(src, &snap->d, io, &cur, &ncur)) < 0 ||
	    (r = track_update(&src->track, &snap->d.sessions, io, snap->d.now_us)) < 0 ||
	    (r = make_headers(o, snap)) < 0 || (r = make_rows(src, snap, cur, ncur)) < 0)
		goto out;
	free(src->prev);
	src->prev = cur;
	src->nprev = ncur;
	cur = NULL;
	prockeep_sweep(&src->keep);   /* the files of processes gone closed */
	*ret = snap;
	snap = NULL;
	r = 0;
out:
	free(cur);
	free(io);
	top_snap_free(snap);
	return r;
}

void top_view_init(struct top_view *v, const struct options *o)
{
	memset(v, 0, sizeof(*v));
	v->o = o;
	v->filter = &o->sel;
	v->all = o->all;
	v->sort = TOP_CPU;
	v->desc = true;
	select_init(&v->own);
}

void top_view_clear(struct top_view *v)
{
	top_snap_free(v->snap);
	v->snap = NULL;
	free(v->rows);
	v->rows = NULL;
	v->nrows = 0;
	free(v->marks);
	v->marks = NULL;
	select_clear(&v->own);
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

int top_view_rows(struct top_view *v)
{
	const struct top_snap *snap = v->snap;
	int64_t now = snap ? snap->d.now_us : 0;
	size_t i;

	free(v->rows);
	v->rows = NULL;
	v->nrows = 0;
	if (!snap)
		return 0;
	if (!(v->rows = calloc(snap->nrows ? snap->nrows : 1, sizeof(*v->rows))))
		return -ENOMEM;
	for (i = 0; i < snap->nrows; i++) {
		const struct top_row *from = &snap->rows[i];
		const struct top_mark *m;

		if (!v->all && !from->s->is_client)
			continue;
		if (!select_is_empty(v->filter) && !select_match(v->filter, from->s, now))
			continue;
		v->rows[v->nrows] = *from;
		if ((m = top_view_mark(v, from->s, false))) {
			v->rows[v->nrows].marked = m->marked;
			v->rows[v->nrows].outcome = m->outcome;
		}
		v->nrows++;
	}
	top_rows_sort(v->rows, v->nrows, v->sort, v->desc);
	return 0;
}

int top_view_show(struct top_view *v, struct top_snap *snap)
{
	top_snap_free(v->snap);
	v->snap = snap;
	return top_view_rows(v);
}

/* One block of --batch: the time, the cluster headers, the rows. */
static int print_block(const struct top_view *v)
{
	const char *hdr[TOP_NCOLS];
	char cells[TOP_NCOLS][128], now[40];
	struct table *t;
	size_t i;
	int c;

	timefmt_rfc3339(v->snap->d.now_us, now, sizeof(now));
	printf("pgevict top %s, %zu rows, sorted by %s%s\n", now, v->nrows, top_col_name(v->sort),
	       v->desc ? " (descending)" : "");
	for (i = 0; i < v->snap->nheaders; i++)
		printf("%s\n", v->snap->headers[i]);
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

static int run_batch(struct top_view *v, struct top_source *src)
{
	long i, n = v->o->iterations > 0 ? v->o->iterations : LONG_MAX;
	struct top_snap *snap;
	int r = 0;

	for (i = 0; i < n; i++) {
		if (i)
			sleep_ms(v->o->interval_set ? v->o->interval_ms : 1000);
		if ((r = top_refresh(src, i == 0, &snap)) != 0 || (r = top_view_show(v, snap)) != 0 ||
		    (r = print_block(v)) != 0)
			break;
	}
	return r;
}

int cmd_top(const struct options *o)
{
	struct top_view v;
	struct top_source src;
	const char *term = getenv("TERM");
	bool batch = o->batch || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO) || !term || !*term ||
		     strcmp(term, "dumb") == 0;
	int r;

	if ((r = top_source_init(&src, o)) != 0)
		return r;
	top_view_init(&v, o);
	if (batch) {
		r = run_batch(&v, &src);
		top_source_clear(&src);
	} else {
		r = top_screen_run(&v, &src);   /* SRC is its worker's */
	}
	top_view_clear(&v);
	if (r == -ENOMEM)
		fprintf(stderr, "pgevict: out of memory\n");
	else if (r == -EIO)
		return 1;   /* main says the write error */
	return r < 0 ? 1 : r;
}
