/* SPDX-License-Identifier: MIT */
/*
 * lockapply.c -- lockdown and unlock plans carried out (engine; see
 * lockapply.h).
 *
 * lockdown, in the plan's order (lockplan.c's lockdown_ops), survives a
 * kill -9 at any system call:
 *
 *   1. the original saved in the state directory (atomic), then the
 *      record saying "locking" (atomic): from here `unlock` can always
 *      restore;
 *   2. for --role/--database: the old value recorded, then the ALTER;
 *   3. pg_hba.conf replaced (atomic: PostgreSQL reads the old file or the
 *      whole new one, never half of one), checked with pg_hba_file_rules
 *      when SQL works;
 *   4. SIGHUP to the postmaster through a pidfd;
 *   5. the proof: a probe connection as a role the lockdown refuses must
 *      get "pg_hba.conf rejects connection" (and, unless --total, the
 *      owner must still get in over the Unix socket).  If the probe still
 *      gets through, what was there goes back and the command fails;
 *   6. the record "locked"; then --kick ends the sessions the new rules
 *      would refuse, through the caller's kick.
 *
 * unlock reverses it: the record "unlocking", the original written back (a
 * file someone else wrote meanwhile is kept aside, never lost), SIGHUP,
 * the probe must get what it got before the lockdown, the ALTERs undone,
 * the record removed last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/lockapply.h"
#include "pgevict/pgsql.h"
#include "pgevict/pidfd.h"
#include "pgevict/sha256.h"

#define PROOF_TIMEOUT_MS 5000

/* A step's end. */
enum { STEP_OK, STEP_FAIL, STEP_STOP };

/* One run of a plan. */
struct ax {
	const struct lockrun *run;
	struct lockplan *p;
	PGconn *conn;
	enum probe_result pr;        /* the proof's answer */
	long long ms;
	char *msg;                   /* PostgreSQL's words with it */
	const char *owner_access;
	int status;
};

/* A line to the caller's SAY or NOTE. */
static void vreport(const struct lockrun *run, void (*fn)(void *, const char *), const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vreport(const struct lockrun *run, void (*fn)(void *, const char *), const char *fmt, va_list ap)
{
	char *line = NULL;

	if (vasprintf(&line, fmt, ap) < 0) {
		fn(run->rep.ctx, "out of memory");
		return;
	}
	fn(run->rep.ctx, line);
	free(line);
}

static void say(const struct lockrun *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct lockrun *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(run, run->rep.say, fmt, ap);
	va_end(ap);
}

static void note(const struct lockrun *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const struct lockrun *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(run, run->rep.note, fmt, ap);
	va_end(ap);
}

static void result(struct ax *x, const char *action, bool ok, const char *proof)
{
	struct lockapply_result r = { action, ok, x->p->probe.host, proof, x->ms, x->owner_access, &x->p->rec };

	x->run->rep.result(x->run->rep.ctx, &r);
}

/* SIGHUP to the postmaster through a pidfd (no connection slot needed);
 * pg_reload_conf() when that is refused (a kernel without pidfd_open). */
static int reload(const struct lockrun *run)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, r;
	PGconn *conn = NULL;
	char *err = NULL;

	if (proc < 0)
		return -errno;
	fd = pidfd_open_verified(proc, run->c->pid, run->c->start_ticks);
	close(proc);
	if (fd == -ESRCH)
		return fd;           /* not the postmaster we found: never signal */
	if (fd >= 0) {
		r = pidfd_reload(fd);
		close(fd);
		if (r == 0)
			return 0;
	} else {
		r = fd;
	}
	if (pgsql_connect(run->c, run->dsn, &conn, &err) == 0 && pgsql_reload_conf(conn) == 0)
		r = 0;
	free(err);
	pgsql_close(conn);
	return r;
}

static bool wanted(const struct lockplan_probe *pp, enum probe_result r)
{
	switch (pp->expect) {
	case LKE_REFUSED:
		return r == PROBE_HBA_REJECT;
	case LKE_NOT_REFUSED:
		return r != PROBE_HBA_REJECT;
	case LKE_AS_BEFORE:
		return (int)r == pp->before;
	}
	return false;
}

/* Probe until the plan's expectation holds or the time is up (a full
 * cluster answers at once).  The last answer in x->pr, the time in x->ms,
 * PostgreSQL's words in x->msg. */
static void wait_probe(struct ax *x)
{
	const struct lockplan_probe *pp = &x->p->probe;
	long long t0 = clock_mono_ms(), deadline = t0 + PROOF_TIMEOUT_MS;

	for (;;) {
		free(x->msg);
		x->msg = NULL;
		x->pr = pgsql_probe(x->run->c, *pp->host ? pp->host : NULL, pp->user, pp->db, false, &x->msg);
		if (wanted(pp, x->pr) || x->pr == PROBE_SLOTS || clock_mono_ms() >= deadline)
			break;
		usleep(10000);
	}
	x->ms = clock_mono_ms() - t0;
}

/* The owner over the Unix socket (peer). */
static enum probe_result probe_owner(const struct lockrun *run)
{
	char *msg = NULL;
	enum probe_result r = pgsql_probe(run->c, NULL, run->c->owner_name ? run->c->owner_name : "postgres",
					  LOCKPLAN_PROBE_DB, true, &msg);

	free(msg);
	return r;
}

/* Write pg_hba.conf through the directory fd, as its owner. */
static int write_hba(const struct lockrun *run, const struct lockstate *rec, const char *data, size_t len)
{
	if (run->hba_dirfd < 0)
		return run->hba_err ? run->hba_err : -EBADF;
	return file_replace_at(run->hba_dirfd, run->hba_name, data, len, rec->mode, rec->uid, rec->gid);
}

/* Does PostgreSQL report an error in the file on disk?  1 with *RET_WHY. */
static int hba_errors(const struct lockrun *run, PGconn **conn, char **ret_why)
{
	char *err = NULL;
	int r = 0;

	*ret_why = NULL;
	if (*conn || pgsql_connect(run->c, run->dsn, conn, &err) == 0)
		r = pgsql_hba_errors(*conn, ret_why) == 1;
	free(err);
	return r;
}

/* ---- role and database locks ---- */

static struct lock_item *find_item(struct lock_item *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int add_item(struct lock_item **v, size_t *n, const char *name, bool was)
{
	struct lock_item *p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	*v = p;
	p[*n].name = strdup(name);
	if (!p[*n].name)
		return -ENOMEM;
	p[*n].was = was;
	p[*n].applied = false;
	(*n)++;
	return 0;
}

static int sql_lock(PGconn *conn, bool db, const char *name, bool on, bool apply, bool *was, char **err)
{
	return db ? pgsql_db_connections(conn, name, on, apply, was, err) : pgsql_role_login(conn, name, on, apply, was, err);
}

/* SQL works and every --role and --database exists: nothing changed yet. */
static int check_objects(struct ax *x)
{
	const struct lockplan_opts *o = x->run->opts;
	char *err = NULL;
	size_t i;
	bool was;
	int r;

	if (pgsql_connect(x->run->c, x->run->dsn, &x->conn, &err) < 0) {
		say(x->run, "--role and --database need SQL: %s", err ? err : "?");
		free(err);
		return 1;
	}
	for (i = 0; i < o->nlock_roles + o->nlock_dbs; i++) {
		bool db = i >= o->nlock_roles;
		const char *name = db ? o->lock_dbs[i - o->nlock_roles] : o->lock_roles[i];

		r = sql_lock(x->conn, db, name, false, false, &was, &err);
		if (r == -ENOENT)
			say(x->run, "there is no %s '%s'; nothing was changed", db ? "database" : "role", name);
		else if (r < 0)
			say(x->run, "cannot read %s '%s': %s", db ? "database" : "role", name, err ? err : "?");
		free(err);
		err = NULL;
		if (r < 0)
			return r == -ENOENT ? 2 : 1;
	}
	return 0;
}

/* Record, save, then ALTER: a crash between leaves a record unlock can
 * undo (setting a value to what it was is harmless). */
static int lock_objects(struct ax *x)
{
	const struct lockplan_opts *o = x->run->opts;
	struct lockstate *s = &x->p->rec;
	size_t i, n = o->nlock_roles + o->nlock_dbs;

	for (i = 0; i < n; i++) {
		bool db = i >= o->nlock_roles, was;
		const char *name = db ? o->lock_dbs[i - o->nlock_roles] : o->lock_roles[i], *what = db ? "database" : "role";
		struct lock_item **v = db ? &s->dbs : &s->roles;
		size_t *nv = db ? &s->ndbs : &s->nroles;
		char *err = NULL;
		int r;

		if (find_item(*v, *nv, name))
			continue;
		r = sql_lock(x->conn, db, name, false, false, &was, &err);
		if (r < 0) {
			if (r == -ENOENT)
				say(x->run, "there is no %s '%s'", what, name);
			else
				say(x->run, "cannot read %s '%s': %s", what, name, err ? err : strerror(-r));
			free(err);
			return r == -ENOENT ? 2 : 1;
		}
		if (add_item(v, nv, name, was) < 0 || lockstate_save(x->run->dir, s) < 0) {
			say(x->run, "cannot record the %s lock in '%s'", what, x->run->dir->path);
			return 1;
		}
		if ((r = sql_lock(x->conn, db, name, false, true, &was, &err)) < 0) {
			say(x->run, "cannot lock %s '%s': %s", what, name, err ? err : strerror(-r));
			free(err);
			return 1;
		}
		(*v)[*nv - 1].applied = true;
		syslog(LOG_NOTICE, "lockdown cluster=%s %s=%s %s", x->run->c->data_dir, what, name,
		       db ? "ALLOW_CONNECTIONS false" : "NOLOGIN");
		if (lockstate_save(x->run->dir, s) < 0) {
			say(x->run, "cannot record the %s lock in '%s'", what, x->run->dir->path);
			return 1;
		}
	}
	return 0;
}

/* Undo the ALTERs (only where the value was true before). */
static int unlock_objects(const struct lockrun *run, const struct lockstate *s)
{
	PGconn *conn = NULL;
	char *err = NULL;
	size_t i;
	int status = 0;

	if (s->nroles == 0 && s->ndbs == 0)
		return 0;
	if (pgsql_connect(run->c, run->dsn, &conn, &err) < 0) {
		say(run, "cannot connect to undo the role and database locks: %s", err ? err : "?");
		free(err);
		return 1;
	}
	for (i = 0; i < s->nroles + s->ndbs; i++) {
		bool db = i >= s->nroles, was;
		const struct lock_item *it = db ? &s->dbs[i - s->nroles] : &s->roles[i];
		const char *what = db ? "database" : "role";
		int r;

		if (!it->was)
			continue;        /* it was locked before us: leave it */
		r = sql_lock(conn, db, it->name, true, true, &was, &err);
		if (r == -ENOENT) {
			note(run, "%s '%s' no longer exists", what, it->name);
		} else if (r < 0) {
			say(run, "cannot unlock %s '%s': %s", what, it->name, err ? err : strerror(-r));
			status = 1;
		} else {
			syslog(LOG_NOTICE, "unlock cluster=%s %s=%s", run->c->data_dir, what, it->name);
		}
		free(err);
		err = NULL;
	}
	pgsql_close(conn);
	return status;
}

/* ---- lockdown ---- */

/* End the sessions the lockdown file refuses; 0 when all are gone. */
static int kick_refused(struct ax *x)
{
	const struct session **v = NULL;
	size_t unknown = 0;
	ssize_t n = lockplan_kick_list(&x->p->parsed, x->run->c, x->run->sessions, x->run->nsessions, &v, &unknown);
	int r = 0;

	if (n < 0) {
		say(x->run, "out of memory");
		return 1;
	}
	if (unknown)
		note(x->run, "%zu session(s) kept by --kick: whether the new rules refuse them depends on what pgevict "
		     "cannot see", unknown);
	if (n > 0)
		r = x->run->rep.kick(x->run->rep.ctx, (const struct session *const *)v, (size_t)n, NULL, NULL);
	free(v);
	return r;
}

/* The proof: the probe refused, the owner as planned.  STEP_*. */
static int prove(struct ax *x)
{
	const struct lockrun *run = x->run;
	struct lockstate *s = &x->p->rec;
	enum probe_result r;
	int w;

	wait_probe(x);
	if (x->pr == PROBE_SLOTS) {
		note(run, "every connection slot is taken: PostgreSQL answers that before it reads pg_hba.conf");
		if (x->p->kick_refused) {
			kick_refused(x);
			wait_probe(x);
		}
	}
	if (x->pr == PROBE_SLOTS) {
		say(run, "the lockdown is in place but NOT proven: no connection slot to probe with (use --kick)");
		snprintf(s->phase, sizeof(s->phase), "locked");
		if ((w = lockstate_save(run->dir, s)) < 0)
			say(run, "cannot write '%s/state.json': %s (the lockdown is in force)", run->dir->path, strerror(-w));
		result(x, "lockdown", false, probe_result_name(x->pr));
		return STEP_STOP;
	}
	if (x->pr != PROBE_HBA_REJECT) {
		say(run, "the probe was not refused after %lld ms (%s: %s): PostgreSQL did not load the new rules; "
		    "putting back what was there", x->ms, probe_result_name(x->pr), x->msg ? x->msg : "");
		return STEP_FAIL;
	}
	r = probe_owner(run);
	x->owner_access = probe_result_name(r);
	if (x->p->probe.owner == LKO_REFUSED && r != PROBE_HBA_REJECT) {
		say(run, "--total: the owner still got in over the Unix socket (%s); putting back what was there",
		    x->owner_access);
		return STEP_FAIL;
	}
	if (x->p->probe.owner == LKO_ADMITTED && (r == PROBE_HBA_REJECT || r == PROBE_NO_ENTRY)) {
		say(run, "the owner would be locked out (%s); putting back what was there", x->owner_access);
		return STEP_FAIL;
	}
	s->proven = true;
	return STEP_OK;
}

/* --kick and --role: the sessions to end.  0 when every one is gone. */
static int kick(struct ax *x)
{
	const struct lockplan_opts *o = x->run->opts;
	const struct lockapply_report *rep = &x->run->rep;
	size_t i;
	int status = 0;

	if (x->p->kick_refused && kick_refused(x) != 0)
		status = 1;
	for (i = 0; i < o->nlock_roles; i++)   /* NOLOGIN means out: end their sessions */
		if (rep->kick(rep->ctx, NULL, 0, o->lock_roles[i], NULL) != 0)
			status = 1;
	for (i = 0; x->p->kick_dbs && i < o->nlock_dbs; i++)
		if (rep->kick(rep->ctx, NULL, 0, NULL, o->lock_dbs[i]) != 0)
			status = 1;
	return status;
}

/* One step of lockdown: STEP_*, x->status set when not STEP_OK. */
static int lockdown_step(struct ax *x, enum lockplan_step step)
{
	const struct lockrun *run = x->run;
	struct lockplan *p = x->p;
	struct lockstate *s = &p->rec;
	char *why = NULL;
	int r;

	x->status = 1;
	switch (step) {
	case LKS_CHECK_OBJECTS:
		return (x->status = check_objects(x)) ? STEP_STOP : STEP_OK;
	case LKS_SAVE_ORIGINAL:
		if ((r = lockstate_save_original(run->dir, p->orig ? p->orig : "", p->orig_len)) < 0) {
			say(run, "cannot save the original in '%s': %s; nothing was changed", run->dir->path, strerror(-r));
			return STEP_FAIL;
		}
		return STEP_OK;
	case LKS_PROBE_BEFORE:
		/* the before-picture of the probe, for unlock's proof */
		s->probe_before = (int)pgsql_probe(run->c, *p->probe.host ? p->probe.host : NULL, p->probe.user,
						   p->probe.db, false, NULL);
		return STEP_OK;
	case LKS_SAVE_LOCKING:
		if ((r = lockstate_save(run->dir, s)) < 0) {
			say(run, "cannot write '%s/state.json': %s; nothing was changed", run->dir->path, strerror(-r));
			return STEP_FAIL;
		}
		return STEP_OK;
	case LKS_LOCK_OBJECTS:
		return (x->status = lock_objects(x)) ? STEP_FAIL : STEP_OK;
	case LKS_WRITE_FILE:
		if ((r = write_hba(run, s, p->text, strlen(p->text))) < 0) {
			say(run, "cannot write '%s': %s; the original is unchanged", run->hba_path, strerror(-r));
			return STEP_FAIL;
		}
		syslog(LOG_NOTICE, "lockdown cluster=%s file=%s sha256=%s original=%s/original", run->c->data_dir,
		       run->hba_path, s->lockdown_sha, run->dir->path);
		return STEP_OK;
	case LKS_CHECK_LOADABLE:
		if (hba_errors(run, &x->conn, &why) == 1) {
			say(run, "PostgreSQL would not load the lockdown file (%s); putting back what was there",
			    why ? why : "");
			free(why);
			return STEP_FAIL;
		}
		free(why);
		return STEP_OK;
	case LKS_RELOAD:
		pgsql_close(x->conn);
		x->conn = NULL;
		if ((r = reload(run)) < 0) {
			say(run, "cannot signal the postmaster (pid %d): %s", (int)run->c->pid, strerror(-r));
			return STEP_FAIL;
		}
		return STEP_OK;
	case LKS_PROVE:
		return prove(x);
	case LKS_SAVE_LOCKED:
		snprintf(s->phase, sizeof(s->phase), "locked");
		if ((r = lockstate_save(run->dir, s)) < 0)
			say(run, "cannot write '%s/state.json': %s (the lockdown is in force)", run->dir->path, strerror(-r));
		result(x, "lockdown", true, p->file_wanted ? probe_result_name(x->pr) : NULL);
		x->status = 0;
		return STEP_OK;
	case LKS_KICK:
		x->status = kick(x);
		return STEP_OK;
	default:
		return STEP_OK;
	}
}

/* Put back what was on disk before this run (the original, or the
 * previous lockdown file), reload, and the record as it was; say what
 * could not be undone. */
static void restore(struct ax *x)
{
	const struct lockrun *run = x->run;
	struct lockstate back = { 0 };
	int r, rec;

	x->status = 1;
	if ((r = write_hba(run, &x->p->rec, run->cur ? run->cur : "", run->cur_len)) < 0) {
		say(run, "cannot put back '%s' (%s): run `pgevict unlock`", run->hba_path, strerror(-r));
		return;
	}
	if ((r = reload(run)) < 0)
		say(run, "cannot signal the postmaster (pid %d) to reload what was there: %s; the rules it loaded last "
		    "stay in force until it reloads", (int)run->c->pid, strerror(-r));
	rec = lockplan_rollback_record(x->p, &x->p->rec, &back);
	r = rec < 0 ? rec : rec == 1 ? lockstate_remove(run->dir) : lockstate_save(run->dir, &back);
	if (r < 0)
		say(run, "cannot put back the record in '%s' (%s): `pgevict status` may not say what is in force; "
		    "run `pgevict unlock`", run->dir->path, strerror(-r));
	lockstate_clear(&back);
	say(run, "'%s' is back as it was before this run", run->hba_path);
	result(x, "lockdown", false, probe_result_name(x->pr));
}

static void undo(struct ax *x, enum lockplan_undo u)
{
	int r;

	if (u == LKU_RESTORE) {
		restore(x);
	} else if (u == LKU_FORGET || u == LKU_CLEAR) {
		/* nothing outside the state directory changed (FORGET), or
		 * the original is back (CLEAR): the record goes */
		if ((r = lockstate_remove(x->run->dir)) < 0)
			say(x->run, "cannot clear '%s': %s", x->run->dir->path, strerror(-r));
	}
}

/* The steps of P in order; the undo of the one that fails.  The exit
 * status. */
static int carry_out(const struct lockrun *run, struct lockplan *p, int (*step)(struct ax *, enum lockplan_step))
{
	struct ax x = { run, p, NULL, PROBE_OTHER, 0, NULL, NULL, 1 };
	size_t i;

	openlog("pgevict", LOG_PID, LOG_DAEMON);
	for (i = 0; i < p->nops; i++) {
		int r = step(&x, p->ops[i].step);

		if (r == STEP_FAIL)
			undo(&x, p->ops[i].undo);
		if (r != STEP_OK)
			break;
	}
	pgsql_close(x.conn);
	free(x.msg);
	return x.status;
}

int lockapply_lockdown(const struct lockrun *run, struct lockplan *p)
{
	return carry_out(run, p, lockdown_step);
}

/* ---- unlock ---- */

/* One step of unlock: STEP_*, x->status set when not STEP_OK. */
static int unlock_step(struct ax *x, enum lockplan_step step)
{
	const struct lockrun *run = x->run;
	struct lockplan *p = x->p;
	char *kept = NULL, *cur = NULL, *why = NULL, sha[SHA256_HEX_LEN];
	size_t len = 0;
	int r;

	x->status = 1;
	switch (step) {
	case ULS_SAVE_UNLOCKING:
		if ((r = lockstate_save(run->dir, &p->rec)) < 0) {
			say(run, "cannot write '%s/state.json': %s", run->dir->path, strerror(-r));
			return STEP_STOP;
		}
		return STEP_OK;
	case ULS_KEEP_DISPLACED:
		if ((r = lockstate_keep_displaced(run->dir, run->cur, run->cur_len, &kept)) < 0) {
			say(run, "'%s' was changed by someone else and cannot be kept aside: %s; left as it is",
			    run->hba_path, strerror(-r));
			return STEP_STOP;
		}
		note(run, "'%s' was changed by someone else during the lockdown; that version is kept in '%s'",
		     run->hba_path, kept);
		free(kept);
		return STEP_OK;
	case ULS_WRITE_ORIGINAL:
		if ((r = write_hba(run, &p->rec, p->orig, p->orig_len)) < 0) {
			say(run, "cannot write '%s': %s", run->hba_path, strerror(-r));
			return STEP_STOP;
		}
		syslog(LOG_NOTICE, "unlock cluster=%s file=%s sha256=%s", run->c->data_dir, run->hba_path,
		       p->rec.original_sha);
		return STEP_OK;
	case ULS_RELOAD:
		if ((r = reload(run)) < 0) {
			say(run, "cannot signal the postmaster (pid %d): %s", (int)run->c->pid, strerror(-r));
			return STEP_STOP;
		}
		return STEP_OK;
	case ULS_CHECK_LOADABLE:
		/* An original PostgreSQL cannot load (it was broken before the
		 * lockdown) is still the original: it is back byte for byte,
		 * the record is cleared so that nobody's fix is ever replaced
		 * by it again, and the operator hears why the lockdown rules
		 * stay in force. */
		r = hba_errors(run, &x->conn, &why);
		pgsql_close(x->conn);
		x->conn = NULL;
		if (r == 1)
			say(run, "the original '%s' is back byte for byte, but PostgreSQL cannot load it (%s): "
			    "the lockdown rules stay in force until you fix the file and reload", run->hba_path,
			    why ? why : "");
		free(why);
		return r == 1 ? STEP_FAIL : STEP_OK;
	case ULS_PROVE:
		wait_probe(x);
		if (x->pr == PROBE_HBA_REJECT) {
			say(run, "the original is on disk but PostgreSQL still refuses after %lld ms; see its log", x->ms);
			result(x, "unlock", false, probe_result_name(x->pr));
			return STEP_STOP;
		}
		return STEP_OK;
	case ULS_VERIFY:
		/* Byte for byte, as it was. */
		r = run->hba_dirfd < 0 ? -EBADF : file_read_at(run->hba_dirfd, run->hba_name, 0, &cur, &len, NULL);
		if (r == 0)
			sha256_hex(cur, len, sha);
		free(cur);
		if (r < 0 || strcmp(sha, p->rec.original_sha) != 0) {
			say(run, "'%s' changed again while unlocking; run `pgevict unlock` again", run->hba_path);
			return STEP_STOP;
		}
		return STEP_OK;
	case ULS_UNLOCK_OBJECTS:
		return (x->status = unlock_objects(run, &p->rec)) ? STEP_STOP : STEP_OK;
	case ULS_REMOVE_STATE:
		if ((r = lockstate_remove(run->dir)) < 0) {
			say(run, "cannot clear '%s': %s", run->dir->path, strerror(-r));
			return STEP_STOP;
		}
		x->owner_access = probe_result_name(probe_owner(run));
		result(x, "unlock", true, p->file_wanted ? probe_result_name(x->pr) : NULL);
		x->status = 0;
		return STEP_OK;
	default:
		return STEP_OK;
	}
}

int lockapply_unlock(const struct lockrun *run, struct lockplan *p)
{
	return carry_out(run, p, unlock_step);
}
