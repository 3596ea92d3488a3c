/* SPDX-License-Identifier: MIT */
/*
 * top_int.h -- what the parts of `pgevict top` share (private to the
 * command layer): cmd_top.c makes refreshes (a source that carries the
 * samples and state timings from one to the next, each refresh a finished
 * snapshot) and keeps the view (the rows a snapshot shows under the
 * operator's filter, order and marks; --batch prints it); top_worker.c
 * runs the refreshes on a thread of their own; top_screen.c is the full
 * screen; top_lock.c the L key.
 */
#ifndef PGEVICT_TOP_INT_H
#define PGEVICT_TOP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgevict/cmd.h"
#include "pgevict/prockeep.h"
#include "pgevict/top.h"
#include "pgevict/track.h"

/* What makes refreshes: the state one refresh hands the next.  Used by one
 * thread at a time (the worker's, once it runs). */
struct top_source {
	const struct options *o;
	int pfd;                     /* /proc */
	long hz, page_kb;
	struct top_sample *prev;     /* the last refresh's samples, sorted */
	size_t nprev;
	struct tracker track;        /* state ages without SQL */
	struct prockeep keep;        /* each child's title and io, kept open */
};

/* One finished refresh: everything a screen shows of it. */
struct top_snap {
	struct discovery d;
	struct top_row *rows;        /* every child of every postmaster, its
	                                numbers computed; ->s points into d */
	size_t nrows;
	char **headers;              /* one line per cluster, escaped */
	size_t nheaders;
};

/* Set up SRC for O; 0 or an exit status (after a line on stderr). */
int top_source_init(struct top_source *src, const struct options *o);
void top_source_clear(struct top_source *src);

/*
 * One refresh: discovery (FIRST: reported on stderr, as the CLI does;
 * then quiet), the /proc samples, rows and headers into *RET (free with
 * top_snap_free).  0, -ENOMEM, or an exit status > 0 (FIRST only).  A
 * later refresh that cannot read the process table gives an empty
 * snapshot: the next one may.
 */
int top_refresh(struct top_source *src, bool first, struct top_snap **ret);
void top_snap_free(struct top_snap *snap);

/* What the operator sees of the snapshots: owned by the screen's thread. */
struct top_view {
	const struct options *o;
	struct top_snap *snap;       /* the one shown, owned */
	struct top_row *rows;        /* its rows under the filter, sorted */
	size_t nrows;
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

void top_view_init(struct top_view *v, const struct options *o);
void top_view_clear(struct top_view *v);

/* Show SNAP (taken: the one shown before is freed).  0 or -ENOMEM. */
int top_view_show(struct top_view *v, struct top_snap *snap);

/* Re-sort and re-filter the rows of the snapshot shown (keys). */
int top_view_rows(struct top_view *v);

/* The mark record of R's session, created when CREATE; NULL otherwise. */
struct top_mark *top_view_mark(struct top_view *v, const struct session *s, bool create);

/*
 * The refresh thread (top_worker.c).  top_worker_start moves SRC in: from
 * then on only the worker uses it.  Its signals are blocked (they are the
 * screen's), and an SQL wait of a refresh in flight gives up within
 * 100 ms once it is told to stop (pgsql_set_interrupt).
 */
struct top_worker;
int top_worker_start(struct top_source *src, struct top_worker **ret);
/* A refresh that starts after now (after the one running, if any). */
void top_worker_ask(struct top_worker *w);
/* The newest finished snapshot (the caller's now), or NULL; *RET_ERR gets
 * a refresh's failure (-ENOMEM), *RET_BUSY_MS how long the one in flight
 * has run (0: none). */
struct top_snap *top_worker_take(struct top_worker *w, int *ret_err, int64_t *ret_busy_ms);
/* Stop it: joined and freed when the thread ends within WAIT_MS; else
 * left to end with the process (a refresh stuck where nothing interrupts
 * it).  Call once, at the end. */
void top_worker_stop(struct top_worker *w, int wait_ms);

/*
 * The L key (top_lock.c): lockdown of cluster C, or unlock when it has a
 * lockdown record: the plan full screen, y to go (BUSY(ARG, MSG) is
 * called first: the run can take seconds), and the outcome (escaped) in
 * MSG.  Returns 0.
 */
int top_lock_key(const struct options *o, const struct pg_cluster *c, char *msg, size_t len,
		 void (*busy)(void *arg, const char *msg), void *arg);

/* The full-screen view (top_screen.c), from SRC (moved to its worker):
 * returns the exit status. */
int top_screen_run(struct top_view *v, struct top_source *src);

#endif
