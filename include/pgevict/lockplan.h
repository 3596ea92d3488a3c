/* SPDX-License-Identifier: MIT */
/*
 * lockplan.h -- what a lockdown or an unlock will do, decided from facts
 * (core: pure, no I/O, no libpq).
 *
 * Owns the lockdown record (struct lockstate: what lockstate.c keeps on
 * disk as state.json) and every decision of `lockdown` and `unlock`: which
 * pg_hba.conf, the bytes of the lockdown file (hba.h's hba_lockdown), the
 * probe that must prove it (TCP address or Unix socket, as whom, expecting
 * what), the ordered steps and what undoes each, and the refusals (exit
 * status and one line).  The facts come from the command (discovery, the
 * state directory, the file as read through its directory fd); the steps
 * are carried out by lockapply.c.  It does not read files, connect, signal
 * or print: messages are returned unescaped, the caller escapes them.
 */
#ifndef PGEVICT_LOCKPLAN_H
#define PGEVICT_LOCKPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/hba.h"
#include "pgevict/probe.h"
#include "pgevict/session.h"
#include "pgevict/sha256.h"

#define LOCKPLAN_PROBE_USER "pgevict_probe"
#define LOCKPLAN_PROBE_DB "pgevict_probe"

/* ---- the record (state.json) ---- */

struct lock_item {
	char *name;
	bool was;                    /* LOGIN / ALLOW_CONNECTIONS before */
	bool applied;                /* the ALTER ran */
};

struct lockstate {
	char phase[16];              /* "locking", "locked", "unlocking" */
	int64_t since_us;
	char *data_dir;
	char *hba_file;
	bool file_locked;            /* pg_hba.conf was replaced */
	bool hba_dir_known;          /* the two below were recorded */
	dev_t hba_dir_dev;           /* the directory written through, */
	ino_t hba_dir_ino;           /* as resolved at lockdown */
	mode_t mode;                 /* the original's */
	uid_t uid;
	gid_t gid;
	char original_sha[SHA256_HEX_LEN];
	char lockdown_sha[SHA256_HEX_LEN];
	bool total;
	char **allow_roles;
	size_t nallow_roles;
	char **allow_hosts;
	size_t nallow_hosts;
	char probe_host[64];         /* "" = the Unix socket */
	int probe_before;            /* enum probe_result before the lockdown, -1 */
	bool proven;
	struct lock_item *roles;
	size_t nroles;
	struct lock_item *dbs;
	size_t ndbs;
};

/* Free what S holds and zero it (NULL-safe). */
void lockstate_clear(struct lockstate *s);

/* A deep copy of S into *RET.  0 or -ENOMEM (*RET then cleared). */
int lockstate_copy(const struct lockstate *s, struct lockstate *ret);

/* ---- facts ---- */

/* What the command line asked for. */
struct lockplan_opts {
	bool total, dry_run, kick;
	const char *hba_file;        /* --hba-file, NULL */
	const char **allow_roles;
	size_t nallow_roles;
	const char **allow_hosts;    /* checked CIDRs */
	size_t nallow_hosts;
	const char **lock_roles;     /* --role */
	size_t nlock_roles;
	const char **lock_dbs;       /* --database */
	size_t nlock_dbs;
};

/* The cluster, as discovery found it. */
struct lockplan_cluster {
	const char *key;             /* cluster_state_key: what the record names */
	const char *data_dir;
	const char *owner;           /* the data directory's owner, NULL */
	const char *listen_addr;     /* first listen address, NULL/"" none */
	const char *hba_file;        /* discovery's, NULL */
	const char *hba_conflict;    /* why discovery cannot tell, NULL */
};

/* pg_hba.conf as read through its directory now. */
struct lockplan_file {
	int err;                     /* -errno reading it (or resolving its
	                                directory); 0 */
	const char *data;            /* its bytes when err == 0 */
	size_t len;
	mode_t mode;                 /* its stat */
	uid_t uid;
	gid_t gid;
	bool dir_known;              /* its directory resolved: */
	dev_t dir_dev;
	ino_t dir_ino;
};

struct lockplan_facts {
	struct lockplan_cluster cluster;
	struct lockplan_opts opts;
	const char *hba_path;        /* the file (lockplan_target) */
	const char *state_dir;       /* the cluster's state directory */
	const struct lockstate *saved;   /* the record on disk, NULL: none */
	int saved_orig_err;          /* reading the saved original, when
	                                saved->file_locked: -errno, 0 */
	const char *saved_orig;      /* its bytes */
	size_t saved_orig_len;
	struct lockplan_file hba;
	const char *manager;         /* a configuration manager running, NULL */
	int64_t now_us;
};

/* ---- the plan ---- */

enum lockplan_step {
	/* lockdown */
	LKS_CHECK_OBJECTS,           /* SQL works and each --role/--database exists */
	LKS_SAVE_ORIGINAL,           /* plan->orig into the state directory */
	LKS_PROBE_BEFORE,            /* the probe's answer now, for unlock's proof */
	LKS_SAVE_LOCKING,            /* plan->rec, phase "locking" */
	LKS_LOCK_OBJECTS,            /* each recorded, then ALTERed */
	LKS_WRITE_FILE,              /* pg_hba.conf replaced by plan->text */
	LKS_CHECK_LOADABLE,          /* pg_hba_file_rules finds no error (when SQL works) */
	LKS_RELOAD,                  /* SIGHUP to the postmaster */
	LKS_PROVE,                   /* plan->probe gets what it expects */
	LKS_SAVE_LOCKED,             /* the record, phase "locked" */
	LKS_KICK,                    /* the sessions to end, ended */
	/* unlock */
	ULS_SAVE_UNLOCKING,          /* the record, phase "unlocking" */
	ULS_KEEP_DISPLACED,          /* a file someone else wrote, kept aside */
	ULS_WRITE_ORIGINAL,          /* pg_hba.conf replaced by plan->orig */
	ULS_RELOAD,
	ULS_CHECK_LOADABLE,          /* PostgreSQL can load the original */
	ULS_PROVE,                   /* the probe gets what it got before */
	ULS_VERIFY,                  /* the file on disk is the original still */
	ULS_UNLOCK_OBJECTS,          /* the ALTERs undone */
	ULS_REMOVE_STATE,            /* the record removed: unlocked */
};

/* What undoes a step that failed. */
enum lockplan_undo {
	LKU_NONE,                    /* nothing: the record says what was done */
	LKU_FORGET,                  /* a first lockdown that has changed nothing:
	                                its record goes */
	LKU_RESTORE,                 /* the file as it was before this run back,
	                                a reload, the record as it was
	                                (lockplan_rollback_record) */
	LKU_CLEAR,                   /* unlock: the original is back but
	                                PostgreSQL cannot load it: the record
	                                goes, the command fails */
};

struct lockplan_op {
	enum lockplan_step step;
	enum lockplan_undo undo;
};

enum lockplan_expect {
	LKE_REFUSED,                 /* "pg_hba.conf rejects connection" */
	LKE_NOT_REFUSED,             /* anything but that */
	LKE_AS_BEFORE,               /* what probe.before says it got */
};

enum lockplan_owner_check {
	LKO_NONE,
	LKO_REFUSED,                 /* --total: the owner is refused too */
	LKO_ADMITTED,                /* neither rejected nor without an entry */
};

struct lockplan_probe {
	char host[64];               /* TCP address; "" the Unix socket */
	const char *user;            /* LOCKPLAN_PROBE_USER */
	const char *db;              /* LOCKPLAN_PROBE_DB */
	enum lockplan_expect expect;
	int before;                  /* enum probe_result, for LKE_AS_BEFORE */
	enum lockplan_owner_check owner;
};

#define LOCKPLAN_MAX_OPS 16

struct lockplan {
	int status;                  /* 0, or the exit status of a refusal */
	char *msg;                   /* the refusal's line, malloc'd */
	char **notes;                /* lines to say before anything is done */
	size_t nnotes;
	bool fresh;                  /* no record before this run */
	bool file_wanted;            /* pg_hba.conf is (to be) locked down */
	char *orig;                  /* the original (saved one, else the file) */
	size_t orig_len;
	char *text;                  /* lockdown: the new pg_hba.conf, NULL */
	struct hba_file parsed;      /* text, parsed (--kick's judge) */
	struct lockstate rec;        /* the record this run writes */
	struct lockstate prev;       /* the record before this run (not fresh) */
	bool forget_on_restore;      /* LKU_RESTORE removes the record */
	struct lockplan_probe probe;
	bool kick_refused;           /* --kick: sessions the new file refuses */
	bool kick_dbs;               /* --kick: sessions of each --database */
	struct lockplan_op ops[LOCKPLAN_MAX_OPS];
	size_t nops;
};

void lockplan_free(struct lockplan *p);

/*
 * lockdown's refusals that need nothing but the options and discovery
 * (--total with --allow-*, an hba_file discovery cannot decide without
 * --hba-file).  0, or an exit status with *RET_MSG (malloc'd).
 */
int lockplan_check_opts(const struct lockplan_cluster *c, const struct lockplan_opts *o, char **ret_msg);

/*
 * Which pg_hba.conf: --hba-file, else discovery's, else DATA_DIR/pg_hba.conf;
 * with a record (SAVED, may be NULL) the one it names when discovery
 * cannot tell.  Refused: a record of another data directory (1), a record
 * of another file (2).  STATE_DIR names the state directory in messages.
 * 0 with *RET_PATH (malloc'd), or an exit status with *RET_MSG.
 */
int lockplan_target(const struct lockplan_cluster *c, const struct lockplan_opts *o, const struct lockstate *saved,
		    const char *state_dir, char **ret_path, char **ret_msg);

/* Is the directory resolved now the one the record wrote through?  0, or
 * 1 with *RET_MSG. */
int lockplan_same_dir(const struct lockplan_facts *f, char **ret_msg);

/*
 * The lockdown of F: *RET filled (free with lockplan_free); ret->status
 * is 0 for a plan to carry out, or the refusal.  With opts.dry_run the
 * plan has no steps.  0, or -ENOMEM.
 */
int lockplan_lockdown(const struct lockplan_facts *f, struct lockplan *ret);

/*
 * The unlock of F (F->saved must be set): the steps that bring the
 * original back, the probe that must get what it got before.  0, or
 * -ENOMEM.
 */
int lockplan_unlock(const struct lockplan_facts *f, struct lockplan *ret);

/*
 * The record to go back to when a lockdown is undone (LKU_RESTORE), LIVE
 * being the record as this run left it (with the role and database locks
 * it applied, which stay recorded).  1: no record (remove it); 0 with
 * *RET; -ENOMEM.
 */
int lockplan_rollback_record(const struct lockplan *p, const struct lockstate *live, struct lockstate *ret);

/*
 * The client backends of cluster C among SES (N of them) that the
 * lockdown file F refuses: *RET (malloc'd, pointers into SES), their
 * count returned; *RET_UNKNOWN counts those whose verdict depends on what
 * pgevict cannot see (kept).  -ENOMEM.
 */
ssize_t lockplan_kick_list(const struct hba_file *f, const struct pg_cluster *c, const struct session *ses,
			   size_t n, const struct session ***ret, size_t *ret_unknown);

/* Where a probe connects to a cluster listening on LISTEN (its first
 * listen address, may be NULL): an address, "" for the Unix socket. */
void lockplan_probe_host(const char *listen, char *out, size_t len);

/* Words for a -errno of reading a file from outside (fileio.h's readers). */
const char *lockplan_read_err(int r);

/* What the file on disk is to the record SAVED (may be NULL): "missing",
 * "unreadable", "original", "lockdown", "other". */
const char *lockplan_file_kind(const struct lockstate *saved, int err, const char *sha);

#endif
