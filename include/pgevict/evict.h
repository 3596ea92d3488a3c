/* SPDX-License-Identifier: MIT */
/*
 * evict.h -- the eviction engine (engine layer, src/engine/evict.c).
 *
 * Owns running a ladder plan (ladder.h) against live processes and sockets:
 * a table of steps (sql, signal, destroy, rst), each with its precondition,
 * its action and its verification, applied step by step to the sessions
 * still there, and the outcome of each.  Shared by cancel/terminate/sever,
 * the agent and lockdown --kick.  It does not discover, plan, print or log:
 * it takes its own parameters (never the command line's) and tells every
 * step and outcome to the caller's audit sink.
 */
#ifndef PGEVICT_EVICT_H
#define PGEVICT_EVICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgevict/ladder.h"

/* One line of the audit trail: ACTION on S, WHAT ("step=sql sent",
 * "outcome=gone", ...).  Called as it happens. */
typedef void (*evict_audit_fn)(void *arg, enum action action, const struct session *s, const char *what);

/* Progress while waiting: EXITED of TOTAL signalled processes are gone. */
typedef void (*evict_progress_fn)(void *arg, enum action action, size_t exited, size_t total);

struct evict_params {
	enum action action;
	unsigned steps;              /* STEP_BIT mask, within ladder_allowed */
	bool cancel_first;           /* terminate: cancel the queries first */
	bool dry_run;                /* touch nothing: say what would be done */
	int64_t step_timeout_ms;     /* the wait after each step */
	const char *dsn;             /* conninfo for the sql step, or NULL */
	const char *iface;           /* where rst captures; NULL: the route */
	evict_audit_fn audit;        /* may be NULL */
	void *audit_arg;
	evict_progress_fn progress;  /* may be NULL */
	void *progress_arg;
};

struct evict_result {
	enum outcome outcome;
	int step;                  /* the step that decided, or -1 */
	long long elapsed_ms;
	char note[200];            /* "" or why, one line: what the real run
	                              found, the plan's skip, or its note when
	                              it still matters for this outcome */
};

/* P with the defaults of ACTION: its default ladder, a 5 s step. */
void evict_params_init(struct evict_params *p, enum action action);

/*
 * Apply PLAN with P and fill RET, one result per plan item, in plan order.
 * A dry run fills what the real run would decide before any step (skipped,
 * idle) and `planned` for the rest, touching nothing.  Needs root (pidfds,
 * netlink, SQL as the owner) unless P->dry_run.  Returns 0, or -ENOMEM
 * with nothing done; *RET_DESTROY_UNSUPPORTED (may be NULL) tells that the
 * kernel refused SOCK_DESTROY.
 */
int evict(const struct evict_params *p, const struct plan *plan, struct evict_result *ret,
	  bool *ret_destroy_unsupported);

#endif
