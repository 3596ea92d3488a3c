/* SPDX-License-Identifier: MIT */
/*
 * lockdown_int.h -- what lockdown_facts.c (the facts of one lockdown,
 * unlock or status run, and its plans) shares with cmd_lockdown.c (the
 * commands and top's L key: printing, applying).  Private to the command
 * layer.
 *
 * Every line a run says goes through lk_say and lk_note: to stderr
 * (escaped) for the command line, or to a front end's report callbacks
 * (unescaped: the front end escapes) when the run has a sink (top).
 */
#ifndef PGEVICT_LOCKDOWN_INT_H
#define PGEVICT_LOCKDOWN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/lockapply.h"
#include "pgevict/lockplan.h"
#include "pgevict/lockstate.h"
#include "pgevict/sha256.h"

/* Everything one run works on: the facts. */
struct lk {
	const struct options *o;
	const struct lockapply_report *sink; /* a front end's callbacks; NULL:
	                                        stdout and stderr */
	bool dry;                    /* plan only: nothing is created or locked */
	const char *expect_sha;      /* the file must still be this (what the
	                                front end showed), NULL */
	struct discovery d;          /* the command line's; empty for a front
	                                end's cluster */
	const struct pg_cluster *c;
	char *key;                   /* the cluster's state key (cluster_state_key) */
	int rootfd;                  /* the postmaster's root: its files, even
	                                in a container (procfs_open_root) */
	char *hba_path;              /* as named: --hba-file, discovery, the
	                                state; a path inside rootfd */
	int hba_dirfd;               /* its directory (file_resolve), -1 */
	char *hba_name;              /* the file's name in it */
	int hba_err;                 /* -errno of file_resolve, 0 */
	struct stat hba_dir_st;
	struct lockdir dir;
	struct lockstate st;
	bool have_state;
	char *cur;                   /* pg_hba.conf on disk now */
	size_t cur_len;
	struct stat cur_st;
	int cur_err;                 /* -errno reading it, 0 */
	char cur_sha[SHA256_HEX_LEN];
	char *orig;                  /* the saved original (a record with file_locked) */
	size_t orig_len;
	int orig_err;
	char manager[64];            /* a configuration manager running, "" */
	json_object *notes;          /* array of strings */
};

/* An error or the end, and a warning (also kept in k->notes). */
void lk_say(const struct lk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lk_note(struct lk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* K ready for a run of O (SINK NULL: the command line's).  Then either
 * lk_collect (discovery picks the one cluster) or lk_attach (the front
 * end's cluster C, borrowed: it must outlive K).  0 or an exit status. */
void lk_init(struct lk *k, const struct options *o, const struct lockapply_report *sink);
int lk_collect(struct lk *k);
int lk_attach(struct lk *k, const struct pg_cluster *c);
void lk_clear(struct lk *k);

/* The plan's view of the cluster and the options (dry_run: k->dry). */
struct lockplan_cluster lk_plan_cluster(const struct lk *k);
struct lockplan_opts lk_plan_opts(const struct lk *k);

/* The state directory (created when CREATE, locked when EXCLUSIVE), its
 * record, and which pg_hba.conf (lockplan_target).  0 or an exit status. */
int lk_open_dir(struct lk *k, bool create, bool exclusive, bool *busy);
/* The directory of k->hba_path (fileio.h's file_resolve_in); a symlink
 * someone other than root can change is refused (exit 2) unless
 * QUIET_LOOP.  0 or an exit status. */
int lk_resolve_hba(struct lk *k, bool quiet_loop);
/* pg_hba.conf now into k->cur (k->cur_err), its sha256 into k->cur_sha;
 * with k->expect_sha, a file that changed is refused: 0 or 1. */
int lk_read_current(struct lk *k);
/* The facts the plan decides from (lk_read_current done). */
struct lockplan_facts lk_facts(struct lk *k);

/*
 * The lockdown plan, from the facts (read under the state directory's
 * lock, created, unless k->dry): 0 with *P (its notes said), or an exit
 * status (said; *P may hold a refusal to free).  lockplan_free(P).
 */
int lk_plan_lockdown(struct lk *k, struct lockplan *p);
/* The unlock plan likewise (the directory locked unless k->dry); 0 with
 * k->have_state false when the cluster is not locked (*P empty). */
int lk_plan_unlock(struct lk *k, struct lockplan *p);

/* The owner of UID by name, or its number. */
void lk_user_name(uid_t uid, char *buf, size_t len);

#endif
