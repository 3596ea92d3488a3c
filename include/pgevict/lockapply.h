/* SPDX-License-Identifier: MIT */
/*
 * lockapply.h -- a lockdown or unlock plan carried out, proven, undone
 * (engine: uses the file, state, pidfd and libpq adapters).
 *
 * Takes a plan from lockplan.h and the run's handles (the directory fd
 * pg_hba.conf is written through, the locked state directory), carries
 * out its steps in order, checks the result of every write, and on a
 * failure runs the step's undo: what cannot be undone (a state write in
 * the rollback included) is said, never passed over.  It prints nothing
 * itself: every line goes to the caller's report callbacks (unescaped;
 * the caller escapes), and --kick's sessions are ended through the
 * caller's kick callback.  Needs root (SIGHUP, files as their owner, peer
 * connections as the cluster owner).
 */
#ifndef PGEVICT_LOCKAPPLY_H
#define PGEVICT_LOCKAPPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "pgevict/lockplan.h"
#include "pgevict/lockstate.h"
#include "pgevict/session.h"

/* What lockdown or unlock ended with, for the caller to print. */
struct lockapply_result {
	const char *action;          /* "lockdown", "unlock" */
	bool ok;
	const char *probe_host;      /* "" the Unix socket */
	const char *proof;           /* the probe's answer; NULL: no probe */
	long long ms;                /* how long the proof took */
	const char *owner_access;    /* the owner's probe's answer, NULL */
	const struct lockstate *rec; /* the record (its options) */
};

struct lockapply_report {
	void (*say)(void *ctx, const char *line);     /* an error or the end */
	void (*note)(void *ctx, const char *line);    /* a warning */
	void (*result)(void *ctx, const struct lockapply_result *r);
	/* End sessions: those of SES (N), or USER's, or DB's; 0 when every
	 * one is gone. */
	int (*kick)(void *ctx, const struct session *const *ses, size_t n, const char *user, const char *db);
	void *ctx;
};

/* One run's handles and facts. */
struct lockrun {
	const struct pg_cluster *c;
	const char *dsn;             /* --dsn, NULL */
	const char *hba_path;        /* as named, for messages */
	int hba_dirfd;               /* its directory, -1: hba_err says why */
	const char *hba_name;        /* its name in it */
	int hba_err;
	const struct lockdir *dir;   /* the cluster's state directory, locked */
	const char *cur;             /* the file before this run (lockdown's undo) */
	size_t cur_len;
	const struct lockplan_opts *opts;   /* --role, --database */
	const struct session *sessions;     /* every session found (--kick) */
	size_t nsessions;
	struct lockapply_report rep;
};

/* Carry out the lockdown plan P (P->status 0, steps planned): its record
 * P->rec is updated as the steps go.  Returns the exit status. */
int lockapply_lockdown(const struct lockrun *run, struct lockplan *p);

/* Carry out the unlock plan P.  Returns the exit status. */
int lockapply_unlock(const struct lockrun *run, struct lockplan *p);

#endif
