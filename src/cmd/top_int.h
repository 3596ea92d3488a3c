/* SPDX-License-Identifier: MIT */
/*
 * top_int.h -- what cmd_top.c (the refresh, --batch) shares with
 * top_screen.c (the full-screen view).  Private to the command layer.
 */
#ifndef PGEVICT_TOP_INT_H
#define PGEVICT_TOP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pgevict/cmd.h"
#include "pgevict/top.h"
#include "pgevict/track.h"

struct top_view {
	const struct options *o;
	int pfd;                     /* /proc */
	long hz, page_kb;
	struct discovery d;          /* this refresh's */
	bool have_d;
	struct top_sample *prev, *cur; /* samples of the last two refreshes, sorted */
	size_t nprev, ncur;
	struct tracker track;        /* state ages without SQL */
	struct top_row *rows;        /* the rows shown, sorted */
	size_t nrows;
	char **headers;              /* one line per cluster, escaped */
	size_t nheaders;
	const struct selector *filter; /* o->sel, or own */
	struct selector own;
	bool own_used;
	char filter_text[256];       /* what the prompt took, "" for the command line's */
	enum top_col sort;
	bool desc;
	bool all;                    /* every child, not only client sessions */
	/* the marks and outcomes survive refreshes: by (pid, start time) */
	struct top_mark { pid_t pid; unsigned long long start_ticks; bool marked; const char *outcome; } *marks;
	size_t nmarks;
};

/* Set up V for O; 0 or an exit status (after a line on stderr). */
int top_view_init(struct top_view *v, const struct options *o);
void top_view_clear(struct top_view *v);

/* One refresh: discovery (QUIET: nothing on stderr), samples, rows,
 * headers.  0, -ENOMEM, or an exit status > 0 (the first refresh only,
 * reported). */
int top_view_refresh(struct top_view *v, bool first);

/* Re-sort and re-filter the rows of the last refresh (keys). */
int top_view_rows(struct top_view *v);

/* The mark record of R's session, created when CREATE; NULL otherwise. */
struct top_mark *top_view_mark(struct top_view *v, const struct session *s, bool create);

/*
 * The L key (top_lock.c): lockdown of cluster C, or unlock when it has a
 * lockdown record: the plan full screen, y to go (BUSY(ARG, MSG) is
 * called first: the run can take seconds), and the outcome (escaped) in
 * MSG.  Returns 0.
 */
int top_lock_key(const struct options *o, const struct pg_cluster *c, char *msg, size_t len,
		 void (*busy)(void *arg, const char *msg), void *arg);

/* The full-screen view (top_screen.c): returns the exit status. */
int top_screen_run(struct top_view *v);

#endif
