/* SPDX-License-Identifier: MIT */
/*
 * ladder.h -- the eviction ladder as data (core, no I/O).
 *
 * Owns the steps (sql, signal, destroy, rst), which of them an action may
 * use, which sessions may be acted on at all, the plan (one entry per
 * session: the steps it will get, or why it gets none), the outcomes and
 * the exit status they add up to.  Applying a plan is cmd_evict.c's job.
 */
#ifndef PGEVICT_LADDER_H
#define PGEVICT_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgevict/select.h"
#include "pgevict/session.h"

enum step {
	STEP_SQL = 0,       /* pg_terminate_backend / pg_cancel_backend */
	STEP_SIGNAL,        /* SIGTERM / SIGINT through a pidfd */
	STEP_DESTROY,       /* SOCK_DESTROY over netlink */
	STEP_RST,           /* RST injection on the wire (wire.h) */
	STEP_COUNT,
};

#define STEP_BIT(s) (1u << (s))

enum action { ACTION_CANCEL, ACTION_TERMINATE, ACTION_SEVER };

enum outcome {
	OUTCOME_PLANNED = 0,  /* dry run */
	OUTCOME_GONE,         /* the process exited */
	OUTCOME_SEVERED,      /* connection cut, process still there */
	OUTCOME_SURVIVED,     /* nothing worked */
	OUTCOME_CANCELLED,    /* cancel: the query stopped, session stays */
	OUTCOME_IDLE,         /* cancel: no query was running */
	OUTCOME_SKIPPED,      /* refused: not a session pgevict may act on */
};

const char *step_name(enum step s);

/* MASK as "sql,signal,destroy" into BUF; returns BUF ("" for none). */
char *ladder_steps_text(unsigned mask, char *buf, size_t len);
const char *outcome_name(enum outcome o);
const char *action_name(enum action a);

/*
 * Parse a --via list ("sql,signal,destroy") into a step mask.  Returns 0,
 * or -EINVAL for an unknown or repeated step (the caller names it).
 */
int ladder_parse_via(const char *text, unsigned *ret_mask);

/* The steps ACTION may use, in ladder order. */
unsigned ladder_allowed(enum action a);

/* The default ladder of ACTION. */
unsigned ladder_default(enum action a);

struct plan_item {
	struct session *s;           /* not owned */
	unsigned steps;              /* STEP_BIT mask to try, in order */
	const char *skip;            /* why nothing will be done, or NULL */
	const char *note;            /* a step it cannot get and why, or NULL */
};

struct plan {
	enum action action;
	struct plan_item *v;
	size_t n;
};

/*
 * Plan ACTION with STEPS for the sessions of SESSIONS that SEL matches.
 * Client backends only; a walsender only when named by --pid; never a
 * postmaster or an auxiliary process.  Unix-socket sessions cannot be
 * destroyed (noted).  0 or -ENOMEM; free with plan_clear.
 */
int ladder_plan(enum action a, unsigned steps, const struct selector *sel,
		struct session_list *sessions, int64_t now_us, struct plan *ret);

void plan_clear(struct plan *p);

/*
 * The exit status of DESIGN.md for a set of outcomes: 0 when every
 * targeted session is gone (or cancelled, idle, planned, or none matched),
 * 1 when at least one survived, 3 when none survived but some were only
 * severed.  Skipped sessions do not count.
 */
int ladder_exit_status(const enum outcome *o, size_t n);

#endif
