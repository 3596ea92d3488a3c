/* SPDX-License-Identifier: MIT */
/*
 * top.h -- the pure parts of `pgevict top` (core, no I/O).
 *
 * Owns what a refresh computes from two samples of /proc and the sessions
 * of a discovery: CPU % and I/O rates between two samples of one process
 * (pid and start time, never a bare pid), the header counts of a cluster,
 * the order of the rows by any column, and the text of each cell.  The
 * sampling (reading /proc) is the command's; printing and escaping too:
 * the cells hold the outside strings as they came.
 */
#ifndef PGEVICT_TOP_H
#define PGEVICT_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/session.h"

#define TOP_UNKNOWN (-1.0)

/* One process sampled from /proc at MONO_US (a monotonic clock). */
struct top_sample {
	pid_t pid;
	unsigned long long start_ticks;
	bool stat_ok;                /* cpu_ticks and rss_pages are known
	                                (procstat.h, read with the identity) */
	unsigned long long cpu_ticks; /* utime + stime */
	long long rss_pages;
	bool io_ok;                  /* /proc/PID/io could be read */
	unsigned long long read_bytes, write_bytes;
	int64_t mono_us;
};

/* The columns, in display order. */
enum top_col {
	TOP_PID, TOP_USER, TOP_DB, TOP_CLIENT, TOP_STATE, TOP_STATE_AGE, TOP_QUERY_AGE,
	TOP_CPU, TOP_RSS, TOP_READ, TOP_WRITE, TOP_PS, TOP_APP, TOP_QUERY,
	TOP_NCOLS
};

/* One row of the view: a session and what its samples say. */
struct top_row {
	const struct session *s;     /* not owned */
	double cpu_pct;              /* TOP_UNKNOWN before a second sample */
	long long rss_kb;            /* -1 unknown */
	double read_bps, write_bps;  /* bytes per second, TOP_UNKNOWN */
	int64_t state_age_ms;        /* -1 unknown */
	int64_t query_age_ms;        /* -1 unknown */
	bool marked;
	const char *outcome;         /* the last action's outcome, static, or NULL */
};

/* Column headers ("PID", "CPU%", ...) and the key that sorts by each. */
const char *top_col_name(enum top_col c);

/* The column named NAME (case-insensitive, "cpu" or "CPU%"), or -1. */
int top_col_parse(const char *name);

/* Parse /proc/PID/io: read_bytes and write_bytes (storage I/O).
 * 0 or -EINVAL. */
int top_parse_io(const char *text, struct top_sample *ret);

/* The sample of (PID, START_TICKS) in V (sorted by top_samples_sort),
 * or NULL. */
const struct top_sample *top_sample_find(const struct top_sample *v, size_t n, pid_t pid,
					 unsigned long long start_ticks);
void top_samples_sort(struct top_sample *v, size_t n);

/*
 * Fill R's numbers from CUR and PREV (the same process's previous sample,
 * or NULL): CPU % of one CPU (HZ ticks a second) and I/O rates between
 * the two, RSS (PAGE_KB kilobytes a page) from CUR; state and query ages
 * from S's times at NOW_US.  R->s must be set.
 */
void top_row_compute(struct top_row *r, const struct top_sample *prev, const struct top_sample *cur, long hz,
		     long page_kb, int64_t now_us);

/* Sort V by column COL, descending when DESC; ties by pid. */
void top_rows_sort(struct top_row *v, size_t n, enum top_col col, bool desc);

/* A cluster's header counts. */
struct top_counts {
	size_t sessions;             /* client backends and walsenders */
	size_t active, idle, idle_xact, other;
	size_t slots;                /* client backends: what max_connections counts */
};

/* Count the sessions of L under cluster C. */
void top_count(const struct session_list *l, const struct pg_cluster *c, struct top_counts *ret);

/*
 * The header line of cluster C (outside strings unescaped: the caller
 * escapes the line): "main (port 5432, /srv/pg): 5 sessions (2 active,
 * 3 idle, 0 idle in transaction, 0 other) | slots 5/100 | SQL ok |
 * lockdown: none".  LOCKDOWN is "none", "locked", "?", ...
 */
void top_header(const struct pg_cluster *c, const struct top_counts *k, const char *lockdown, char *buf,
		size_t len);

/* The text of cell COL of R (outside strings as they are; "" for
 * unknown values that have no "-"). */
void top_cell(const struct top_row *r, enum top_col col, char *buf, size_t len);

#endif
