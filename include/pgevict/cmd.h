/* SPDX-License-Identifier: MIT */
/*
 * cmd.h -- what main.c hands a command, and the commands.
 *
 * main.c parses every option once (global, selector, action) into struct
 * options, checks that the command accepts each one given, and calls the
 * command.  A command returns the process exit status of DESIGN.md:
 * 0 done, 1 some session survived (or a runtime failure), 2 usage or
 * configuration error, 3 some sessions only severed.
 */
#ifndef PGEVICT_CMD_H
#define PGEVICT_CMD_H

#include <stdbool.h>

#include "pgevict/discover.h"
#include "pgevict/ladder.h"
#include "pgevict/select.h"

#define EXIT_USAGE 2

struct options {
	bool json;
	bool no_sql;
	bool all;                    /* ls: every child; actions: select all */
	const char *cluster;
	const char *dsn;
	struct selector sel;
	/* actions */
	bool dry_run;
	bool cancel_first;
	unsigned via;                /* STEP_BIT mask; 0: the action's default */
	int64_t step_timeout_ms;
	/* lockdown, unlock, status */
	bool total;
	bool kick;
	const char **allow_roles;    /* --allow-role, in order given */
	size_t nallow_roles;
	const char **allow_hosts;    /* --allow-host, checked CIDRs */
	size_t nallow_hosts;
	const char **lock_roles;     /* --role: ALTER ROLE ... NOLOGIN */
	size_t nlock_roles;
	const char **lock_dbs;       /* --database: ALLOW_CONNECTIONS false */
	size_t nlock_dbs;
	const char *state_dir;       /* NULL: LOCKSTATE_DEFAULT_DIR */
	const char *hba_file;        /* --hba-file: the pg_hba.conf the operator
	                                names; overrides discovery's */
	/* agent */
	const char *rules_dir;       /* --rules DIR (or one file) */
	int64_t interval_ms;         /* --interval */
	bool once;                   /* --once: one pass */
	bool check;                  /* --check: validate the rules only */
	const char *metrics;         /* --metrics FILE: Prometheus text, every pass */
	bool interval_set;           /* --interval was given (top: 1 s without) */
	/* top */
	bool batch;                  /* --batch: plain text blocks */
	long iterations;             /* --iterations N; 0: until stopped */
	/* sever */
	const char *conn;            /* --conn A:P,B:Q: one connection, no selectors */
	const char *iface;           /* --iface: where rst captures; NULL: the route */
	/* hba */
	const char *owner;           /* hba lockdown --owner: the cluster's OS user */
	const char **args;           /* words after the command (hba's subcommand, FILEs) */
	size_t nargs;
};

int cmd_clusters(const struct options *o);
int cmd_ls(const struct options *o);
int cmd_tree(const struct options *o);
int cmd_cancel(const struct options *o);
int cmd_terminate(const struct options *o);
int cmd_sever(const struct options *o);
int cmd_lockdown(const struct options *o);
int cmd_unlock(const struct options *o);
int cmd_status(const struct options *o);
int cmd_agent(const struct options *o);
/* `top`: the live view (cmd_top.c, top_screen.c). */
int cmd_top(const struct options *o);
/* `hba check [FILE...]`, `hba lockdown [...] FILE` (cmd_hba.c). */
int cmd_hba(const struct options *o);

/* `sever --conn`: cut one TCP connection named by its ends (cmd_conn.c);
 * 0 cut and verified, 1 not cut, 2 usage. */
int cmd_sever_conn(const struct options *o);

/* Shared by cancel/terminate/sever, the agent and lockdown --kick
 * (cmd_evict.c). */
struct evict_params;
struct evict_result;

/* The engine's parameters from O for ACTION (--via, --cancel-first,
 * --dry-run, --step-timeout, --dsn, --iface), audited to syslog. */
void cmd_evict_params(const struct options *o, enum action action, struct evict_params *ret);

/* The engine's audit sink: one syslog line (the caller opened syslog);
 * RULE: the rule acting (a string), or NULL. */
void cmd_evict_syslog(void *rule, enum action action, const struct session *s, const char *what);

/* Print one row or JSON line per item of PLAN with its result (a CLUSTER
 * column when PLAN spans clusters), or that none matched; returns the exit
 * status of the outcomes. */
int cmd_evict_report(const struct options *o, enum action action, const struct plan *plan,
		     const struct evict_result *res, bool destroy_unsupported);

/*
 * lockdown and unlock for a front end that shows the plan and asks before
 * it goes (top's L key; cmd_lockdown.c): the same facts, plans, engine and
 * syslog trail as `pgevict lockdown` and `pgevict unlock`, with O's
 * --state-dir and --hba-file, on cluster C (borrowed from the front end's
 * discovery).  Every line goes to REP's say and note, the proof to its
 * result (unescaped: the front end escapes); nothing to stdout or stderr.
 * REP's kick is not called (no --kick).  Need root.
 */
struct lockapply_report;
struct lock_preview {
	bool unlock;                 /* the cluster has a lockdown record: the
	                                plan is unlock's */
	int status;                  /* 0; else the exit status of a refusal
	                                (said through REP) */
	char *hba_path;              /* the file */
	char *text;                  /* lockdown: the new pg_hba.conf; unlock:
	                                the original it puts back; NULL */
	bool file_locked;            /* the file is (to be) replaced */
	bool displaced;              /* unlock: someone else wrote the file since
	                                the lockdown (kept aside) */
	char sha[65];                /* sha256 of the file when planned, "" */
};
/* The plan for C, nothing touched (no state directory made, no lock
 * taken).  Returns *RET's status; lock_preview_clear(RET) in any case. */
int cmd_lock_preview(const struct options *o, const struct pg_cluster *c, const struct lockapply_report *rep,
		     struct lock_preview *ret);
/* Carry out what SHOWN planned: the facts read again under the lock,
 * refused when the file, its path or the record changed since.  The exit
 * status of `pgevict lockdown` or `unlock`. */
int cmd_lock_go(const struct options *o, const struct pg_cluster *c, const struct lock_preview *shown,
		const struct lockapply_report *rep);
void lock_preview_clear(struct lock_preview *pv);

/* Shared by the commands (cmd_common.c). */

/* Run discovery for O, reporting failures and SQL gaps on stderr once.
 * Returns 0, or the exit status to end with. */
int cmd_discover(const struct options *o, struct discovery *ret);

/* Output (output.c). */

/* Print one JSON object on its own line to stdout (json-c owns escaping). */
struct json_object;
void out_json_line(struct json_object *obj);

/* A JSON string, or JSON null for NULL. */
struct json_object *out_json_str(const char *s);

/* The JSON object of one action on one session (DESIGN.md's fields: pid,
 * cluster, user, database, client_addr, client_port, action, outcome,
 * step, elapsed_ms, note); STEP and NOTE may be NULL.  Caller puts it. */
struct json_object *out_action_json(const struct session *s, const char *action, const char *outcome,
				    const char *step, long long elapsed_ms, const char *note);


/* A table for people: rows of cells, escaped for the terminal on add. */
struct table;
struct table *table_new(int ncols, const char *const *headers);
int table_add(struct table *t, const char *const *cells);
void table_print(struct table *t);
void table_free(struct table *t);

#endif
