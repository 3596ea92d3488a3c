/* SPDX-License-Identifier: MIT */
/*
 * cmd_lockdown.c -- `pgevict lockdown | unlock | status` (command).
 *
 * Each runs options -> facts -> plan -> apply -> output: the facts and
 * the plans are lockdown_facts.c's (the cluster from discovery, its state
 * directory locked and its record loaded, pg_hba.conf read through its
 * directory; lockplan.h decides, pure: which file, what bytes, which
 * probe, the steps and their undo, the refusals), the steps are carried
 * out by lockapply.h, and what they report is printed here, escaped.
 * status reads the record, hashes the file on disk and asks PostgreSQL (a
 * probe) which rules are in force.
 *
 * The same facts, plans and engine serve a front end that shows the plan
 * and asks before it goes (cmd_lock_preview, cmd_lock_go: top's L key):
 * its lines go to its callbacks instead of stdout and stderr, and what it
 * confirmed is checked against the facts read again under the lock.
 *
 * pg_hba.conf is the operator's --hba-file, else discovery's.  Its
 * directory is resolved once (fileio.h's file_resolve: no symlink anyone
 * but root can change) and every read and write goes through that fd, as
 * the file's owner; the directory's device and inode are recorded, and a
 * directory replaced since the lockdown is refused.  Without SQL, an
 * hba_file the configuration files disagree on is refused unless
 * --hba-file names it.  Every message escapes what came from outside.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/pgsql.h"
#include "pgevict/procfs.h"
#include "pgevict/sha256.h"
#include "pgevict/timefmt.h"
#include "lockdown_int.h"

#define PROBE_USER LOCKPLAN_PROBE_USER
#define PROBE_DB LOCKPLAN_PROBE_DB

/* S escaped for stdout; valid until the eighth call after (a ring, freed
 * by tfree). */
static char *tring[8];
static unsigned tnext;

static const char *T(const char *s)
{
	char **slot = &tring[tnext++ % 8];

	free(*slot);
	*slot = escape_term(s);
	return *slot ? *slot : "?";
}

static void tfree(void)
{
	size_t i;

	for (i = 0; i < 8; i++) {
		free(tring[i]);
		tring[i] = NULL;
	}
}

/* TEXT on stdout line by line, each line escaped (the lockdown file of
 * --dry-run keeps lines of the original). */
static void print_lines(const char *text)
{
	const char *p = text, *nl;

	while (p && *p) {
		char *line;

		nl = strchr(p, '\n');
		line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		printf("%s\n", line ? T(line) : "?");
		free(line);
		p = nl ? nl + 1 : NULL;
	}
}

/* ---- what lockapply reports ---- */

static void print_result(struct lk *k, const struct lockapply_result *r)
{
	if (k->o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "action", json_object_new_string(r->action));
		json_object_object_add(j, "cluster", json_object_new_string(k->c->data_dir));
		json_object_object_add(j, "port", json_object_new_int(k->c->port));
		json_object_object_add(j, "hba_file", json_object_new_string(k->hba_path));
		json_object_object_add(j, "ok", json_object_new_boolean(r->ok));
		json_object_object_add(j, "options", lockstate_options_json(r->rec));
		json_object_object_add(j, "probe", out_json_str(r->proof));
		json_object_object_add(j, "probe_transport",
				       r->proof ? json_object_new_string(*r->probe_host ? "tcp" : "unix") : NULL);
		json_object_object_add(j, "proof_ms", r->proof ? json_object_new_int64(r->ms) : NULL);
		json_object_object_add(j, "owner_access", out_json_str(r->owner_access));
		json_object_object_add(j, "state_dir", out_json_str(k->dir.path));
		json_object_object_add(j, "notes", json_object_get(k->notes));
		out_json_line(j);
		json_object_put(j);
		return;
	}
	if (!r->proof)
		return;
	printf("%s %s: %s\n", r->action, r->ok ? "proven" : "NOT proven", T(k->hba_path));
	printf("  probe as \"%s\" over %s%s: %s after %lld ms\n", PROBE_USER, *r->probe_host ? "TCP " : "the Unix socket",
	       T(r->probe_host), r->proof, r->ms);
	if (r->owner_access)
		printf("  owner \"%s\" over the Unix socket: %s\n", T(k->c->owner_name ? k->c->owner_name : "?"),
		       r->owner_access);
}

static void rep_say(void *ctx, const char *line)
{
	lk_say(ctx, "%s", line);
}

static void rep_note(void *ctx, const char *line)
{
	lk_note(ctx, "%s", line);
}

static void rep_result(void *ctx, const struct lockapply_result *r)
{
	struct lk *k = ctx;

	if (k->sink)
		k->sink->result(k->sink->ctx, r);
	else
		print_result(k, r);
}

static int kick(struct lk *k, const struct session *const *ses, size_t n, const char *user, const char *db);

static int rep_kick(void *ctx, const struct session *const *ses, size_t n, const char *user, const char *db)
{
	return kick(ctx, ses, n, user, db);
}

static struct lockrun lockrun_of(struct lk *k, const struct lockplan_opts *po)
{
	return (struct lockrun){ k->c, k->o->dsn, k->hba_path, k->hba_dirfd, k->hba_name, k->hba_err, &k->dir,
				 k->cur, k->cur_len, po, k->d.sessions.v, k->d.sessions.n,
				 { rep_say, rep_note, rep_result, rep_kick, k } };
}

/* Collect, run FN on the one cluster, clean up: every command here. */
static int with_cluster(const struct options *o, int (*fn)(struct lk *k))
{
	struct lk k;
	int r;

	lk_init(&k, o, NULL);
	if ((r = lk_collect(&k)) == 0)
		r = fn(&k);
	lk_clear(&k);
	tfree();
	return r;
}

/* ---- lockdown ---- */

/* --dry-run: the file and what --kick would do, nothing touched. */
static int print_dry_run(struct lk *k, const struct lockplan *p)
{
	const struct session **kicks = NULL;
	size_t unknown = 0;
	ssize_t nkicks = 0;

	if (p->file_wanted && !k->o->json)
		print_lines(p->text);
	if (k->o->kick && p->file_wanted) {
		nkicks = lockplan_kick_list(&p->parsed, k->c, k->d.sessions.v, k->d.sessions.n, &kicks, &unknown);
		free(kicks);
		if (nkicks < 0) {
			lk_say(k, "out of memory");
			return 1;
		}
		if (unknown)
			lk_note(k, "%zu session(s) kept by --kick: whether the new rules refuse them depends on what "
				"pgevict cannot see", unknown);
		if (!k->o->json)
			printf("# --kick would end %zd session(s)\n", nkicks);
	}
	if (k->o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "action", json_object_new_string("lockdown"));
		json_object_object_add(j, "dry_run", json_object_new_boolean(true));
		json_object_object_add(j, "hba_file", json_object_new_string(k->hba_path));
		json_object_object_add(j, "content", out_json_str(p->text));
		json_object_object_add(j, "kick", json_object_new_int((int)nkicks));
		json_object_object_add(j, "notes", json_object_get(k->notes));
		out_json_line(j);
		json_object_put(j);
	}
	return 0;
}

static int do_lockdown(struct lk *k)
{
	struct lockplan_opts po = lk_plan_opts(k);
	struct lockplan p;
	struct lockrun run;
	int status;

	if ((status = lk_plan_lockdown(k, &p)) == 0) {
		if (k->dry) {
			status = print_dry_run(k, &p);
		} else {
			run = lockrun_of(k, &po);
			status = lockapply_lockdown(&run, &p);
		}
	}
	lockplan_free(&p);
	return status;
}

int cmd_lockdown(const struct options *o)
{
	return with_cluster(o, do_lockdown);
}

/* ---- unlock ---- */

static void print_not_locked(struct lk *k)
{
	if (k->o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "action", json_object_new_string("unlock"));
		json_object_object_add(j, "cluster", json_object_new_string(k->c->data_dir));
		json_object_object_add(j, "ok", json_object_new_boolean(true));
		json_object_object_add(j, "locked", json_object_new_boolean(false));
		out_json_line(j);
		json_object_put(j);
	} else {
		printf("not locked: %s\n", T(k->c->data_dir));
	}
}

static int do_unlock(struct lk *k)
{
	struct lockplan_opts po = lk_plan_opts(k);
	struct lockplan p;
	struct lockrun run;
	int status;

	k->dry = false;              /* unlock has no --dry-run */
	if ((status = lk_plan_unlock(k, &p)) == 0) {
		if (!k->have_state) {
			print_not_locked(k);
		} else {
			run = lockrun_of(k, &po);
			status = lockapply_unlock(&run, &p);
		}
	}
	lockplan_free(&p);
	return status;
}

int cmd_unlock(const struct options *o)
{
	return with_cluster(o, do_unlock);
}

/* ---- a front end that shows the plan, then asks (top's L key) ---- */

void lock_preview_clear(struct lock_preview *pv)
{
	if (!pv)
		return;
	free(pv->hba_path);
	free(pv->text);
	memset(pv, 0, sizeof(*pv));
}

/* What PV shows of K and its plan P.  0 or -ENOMEM. */
static int keep_preview(const struct lk *k, const struct lockplan *p, struct lock_preview *pv)
{
	const char *text = pv->unlock ? p->orig : p->text;

	snprintf(pv->sha, sizeof(pv->sha), "%s", k->cur_sha);
	pv->file_locked = pv->unlock ? k->st.file_locked : p->file_wanted;
	pv->displaced = pv->unlock && k->cur_err == 0 && k->st.file_locked &&
			strcmp(k->cur_sha, k->st.lockdown_sha) != 0 && strcmp(k->cur_sha, k->st.original_sha) != 0;
	if ((k->hba_path && !(pv->hba_path = strdup(k->hba_path))) || (text && !(pv->text = strdup(text))))
		return -ENOMEM;
	return 0;
}

int cmd_lock_preview(const struct options *o, const struct pg_cluster *c, const struct lockapply_report *rep,
		     struct lock_preview *ret)
{
	struct lockplan p = { 0 };
	struct lk k;
	int status;

	memset(ret, 0, sizeof(*ret));
	lk_init(&k, o, rep);
	k.dry = true;
	if ((status = lk_attach(&k, c)) != 0)
		goto out;
	/* a record: the plan is unlock's; none: lockdown's */
	status = lk_plan_unlock(&k, &p);
	ret->unlock = k.have_state;
	if (status == 0 && !ret->unlock)
		status = lk_plan_lockdown(&k, &p);
	if (status == 0 && keep_preview(&k, &p, ret) < 0) {
		lk_say(&k, "out of memory");
		status = 1;
	}
out:
	ret->status = status;
	lockplan_free(&p);
	lk_clear(&k);
	return status;
}

int cmd_lock_go(const struct options *o, const struct pg_cluster *c, const struct lock_preview *shown,
		const struct lockapply_report *rep)
{
	struct lockplan p = { 0 };
	struct lockplan_opts po;
	struct lockrun run;
	struct lk k;
	int status;

	lk_init(&k, o, rep);
	k.dry = false;
	k.expect_sha = shown->sha;
	if ((status = lk_attach(&k, c)) != 0)
		goto out;
	po = lk_plan_opts(&k);
	status = shown->unlock ? lk_plan_unlock(&k, &p) : lk_plan_lockdown(&k, &p);
	if (status == 0 && shown->unlock != k.have_state) {
		lk_say(&k, "the cluster was %s since its plan was shown; nothing was done",
		       shown->unlock ? "unlocked" : "locked");
		status = 1;
	} else if (status == 0 && (!k.hba_path || !shown->hba_path || strcmp(k.hba_path, shown->hba_path) != 0)) {
		lk_say(&k, "the file to lock down is '%s' now, not the one shown; nothing was done",
		       k.hba_path ? k.hba_path : "?");
		status = 1;
	} else if (status == 0) {
		run = lockrun_of(&k, &po);
		status = shown->unlock ? lockapply_unlock(&run, &p) : lockapply_lockdown(&run, &p);
	}
out:
	lockplan_free(&p);
	lk_clear(&k);
	return status;
}

/* End sessions through the ladder (terminate, with the run's --via and
 * --step-timeout): those of SES (by pid and start time), or USER's, or
 * DB's. */
static int kick(struct lk *k, const struct session *const *ses, size_t n, const char *user, const char *db)
{
	/* the spec that picked this cluster (its data directory path may
	 * also be a host cluster's, or another container's) */
	struct discover_opts dopts = { .cluster_spec = k->o->cluster ? k->o->cluster : k->c->data_dir,
				       .no_sql = k->o->no_sql, .dsn = k->o->dsn };
	struct discovery d = { 0 };
	struct selector sel;
	struct plan plan = { 0 };
	struct evict_params p;
	struct evict_result *res = NULL;
	bool unsupported = false;
	size_t i;
	int r = 1;

	select_init(&sel);
	for (i = 0; i < n; i++)
		if (select_add_process(&sel, ses[i]->pid, ses[i]->start_ticks) < 0)
			goto oom;
	if ((user && select_add(&sel, "user", user) < 0) || (db && select_add(&sel, "db", db) < 0))
		goto oom;
	if (select_is_empty(&sel)) {
		r = 0;          /* none to end */
		goto out;
	}
	if (discover(&dopts, &d) < 0) {
		lk_say(k, "--kick: cannot find the sessions of the cluster again");
		goto out;
	}
	cmd_evict_params(k->o, ACTION_TERMINATE, &p);
	p.dry_run = false;
	if (ladder_plan(ACTION_TERMINATE, p.steps, &sel, &d.sessions, d.now_us, &plan) < 0 ||
	    !(res = calloc(plan.n ? plan.n : 1, sizeof(*res))) || evict(&p, &plan, res, &unsupported) < 0)
		goto oom;
	r = cmd_evict_report(k->o, ACTION_TERMINATE, &plan, res, unsupported);
	goto out;
oom:
	lk_say(k, "out of memory");
out:
	free(res);
	plan_clear(&plan);
	discovery_clear(&d);
	select_clear(&sel);
	return r;
}

/* ---- status ---- */

static int do_status(struct lk *k)
{
	char host[64] = "", *msg = NULL, when[64] = "";
	const char *kind, *repair = NULL;
	enum probe_result pr;
	bool busy = false, locked;
	int loaded = -1, status;

	if ((status = lk_open_dir(k, false, false, &busy)) != 0)
		return status;
	if ((status = lk_resolve_hba(k, false)) != 0)
		return status;
	if (k->c->hba_conflict && !k->o->hba_file && !k->have_state)
		lk_note(k, "warning: %s; showing '%s' (name the file with --hba-file PATH)", k->c->hba_conflict,
		     k->hba_path);
	lk_read_current(k);
	if (k->cur_err == -EINVAL || k->cur_err == -EFBIG || k->cur_err == -ELOOP) {
		lk_say(k, "cannot read '%s': %s", k->hba_path, lockplan_read_err(k->cur_err));
		return 1;
	}
	kind = lockplan_file_kind(k->have_state ? &k->st : NULL, k->cur_err, k->cur_sha);
	if (k->have_state) {
		snprintf(host, sizeof(host), "%s", k->st.probe_host);
		timefmt_rfc3339(k->st.since_us, when, sizeof(when));
	} else {
		lockplan_probe_host(k->c->listen_addr, host, sizeof(host));
	}
	pr = pgsql_probe(k->c, *host ? host : NULL, PROBE_USER, PROBE_DB, false, &msg);
	if (strcmp(kind, "lockdown") == 0)
		loaded = pr == PROBE_HBA_REJECT ? 1 : pr == PROBE_SLOTS || pr == PROBE_UNREACHABLE ? -1 : 0;
	else if (strcmp(kind, "original") == 0 && k->have_state && k->st.file_locked)
		loaded = pr == PROBE_HBA_REJECT && k->st.probe_before != PROBE_HBA_REJECT ? 0
			 : pr == PROBE_SLOTS || pr == PROBE_UNREACHABLE ? -1 : 1;
	if (loaded < 0 && k->cur_err == 0) {
		PGconn *conn = NULL;
		char *err = NULL;
		bool l;
		int64_t mt = (int64_t)k->cur_st.st_mtim.tv_sec * 1000000 + k->cur_st.st_mtim.tv_nsec / 1000;

		if (pgsql_connect(k->c, k->o->dsn, &conn, &err) == 0 && pgsql_hba_loaded(conn, mt, &l, &err) == 0)
			loaded = l;
		free(err);
		pgsql_close(conn);
	}
	locked = k->have_state && (strcmp(kind, "lockdown") == 0 || (loaded == 0 && strcmp(kind, "original") == 0) ||
				   k->st.nroles || k->st.ndbs);
	if (k->have_state && strcmp(k->st.phase, "locked") != 0)
		repair = "an interrupted lockdown or unlock: run `pgevict unlock`";
	else if (k->have_state && strcmp(kind, "other") == 0)
		repair = "pg_hba.conf was changed by someone else: `pgevict unlock` keeps that version aside and restores the original";
	else if (k->have_state && loaded == 0)
		repair = "the file on disk is not what PostgreSQL has loaded: run `pgevict unlock` (or lockdown again)";
	if (k->o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "cluster", json_object_new_string(k->c->data_dir));
		json_object_object_add(j, "port", json_object_new_int(k->c->port));
		json_object_object_add(j, "hba_file", json_object_new_string(k->hba_path));
		json_object_object_add(j, "locked", json_object_new_boolean(locked));
		json_object_object_add(j, "since", k->have_state ? json_object_new_string(when) : NULL);
		json_object_object_add(j, "phase", k->have_state ? json_object_new_string(k->st.phase) : NULL);
		json_object_object_add(j, "file", json_object_new_string(kind));
		json_object_object_add(j, "loaded", loaded < 0 ? NULL : json_object_new_boolean(loaded));
		json_object_object_add(j, "probe", json_object_new_string(probe_result_name(pr)));
		json_object_object_add(j, "options", lockstate_options_json(&k->st));
		json_object_object_add(j, "proven", json_object_new_boolean(k->have_state && k->st.proven));
		json_object_object_add(j, "busy", json_object_new_boolean(busy));
		json_object_object_add(j, "state_dir", out_json_str(k->dir.path));
		json_object_object_add(j, "repair", out_json_str(repair));
		out_json_line(j);
		json_object_put(j);
	} else {
		printf("%s: %s\n", T(k->c->data_dir), locked ? "LOCKED" : "not locked");
		if (k->have_state)
			printf("  since %s (%s)%s%s\n", when, k->st.phase, k->st.total ? ", --total" : "",
			       busy ? ", a pgevict run is working on it now" : "");
		printf("  %s: %s on disk, %s\n", T(k->hba_path), kind,
		       loaded < 0 ? "in force: cannot tell" : loaded ? "in force" : "NOT in force");
		printf("  probe as \"%s\" over %s%s: %s\n", PROBE_USER, *host ? "TCP " : "the Unix socket", T(host),
		       probe_result_name(pr));
		if (repair)
			printf("  %s\n", repair);
	}
	free(msg);
	return 0;
}

int cmd_status(const struct options *o)
{
	return with_cluster(o, do_status);
}
