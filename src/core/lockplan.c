/* SPDX-License-Identifier: MIT */
/*
 * lockplan.c -- the lockdown and unlock plans (core: pure, no I/O; see
 * lockplan.h).  Every refusal is decided here, in the order the command
 * met them before the plan was data, with the same words; lockapply.c
 * only carries out the steps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgevict/lockplan.h"
#include "pgevict/select.h"
#include "pgevict/strv.h"
#include "pgevict/timefmt.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* ---- the record ---- */

static void items_free(struct lock_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void lockstate_clear(struct lockstate *s)
{
	if (!s)
		return;
	free(s->data_dir);
	free(s->hba_file);
	strs_free(s->allow_roles, s->nallow_roles);
	strs_free(s->allow_hosts, s->nallow_hosts);
	items_free(s->roles, s->nroles);
	items_free(s->dbs, s->ndbs);
	memset(s, 0, sizeof(*s));
}

static int strs_copy(char **v, size_t n, char ***ret)
{
	size_t i;

	*ret = calloc(n + 1, sizeof(char *));
	if (!*ret)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!((*ret)[i] = strdup(v[i])))
			return -ENOMEM;
	return 0;
}

static int items_copy(const struct lock_item *v, size_t n, struct lock_item **ret)
{
	size_t i;

	*ret = calloc(n + 1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		(*ret)[i] = v[i];
		if (!((*ret)[i].name = strdup(v[i].name)))
			return -ENOMEM;
	}
	return 0;
}

int lockstate_copy(const struct lockstate *s, struct lockstate *ret)
{
	struct lockstate c = *s;

	c.data_dir = c.hba_file = NULL;
	c.allow_roles = c.allow_hosts = NULL;
	c.roles = c.dbs = NULL;
	if ((s->data_dir && !(c.data_dir = strdup(s->data_dir))) || (s->hba_file && !(c.hba_file = strdup(s->hba_file))) ||
	    strs_copy(s->allow_roles, s->nallow_roles, &c.allow_roles) < 0 ||
	    strs_copy(s->allow_hosts, s->nallow_hosts, &c.allow_hosts) < 0 ||
	    items_copy(s->roles, s->nroles, &c.roles) < 0 || items_copy(s->dbs, s->ndbs, &c.dbs) < 0) {
		/* what was not copied yet is NULL or zero-filled */
		lockstate_clear(&c);
		memset(ret, 0, sizeof(*ret));
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* ---- helpers ---- */

static int msgf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int msgf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	free(*ret);
	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The plan refuses: STATUS and one line.  0 or -ENOMEM. */
static int refuse(struct lockplan *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct lockplan *p, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	p->status = status;
	free(p->msg);
	va_start(ap, fmt);
	n = vasprintf(&p->msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->msg = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int add_note(struct lockplan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(struct lockplan *p, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strv_pushv(&p->notes, &p->nnotes, fmt, ap);
	va_end(ap);
	return r;
}

static void add_op(struct lockplan *p, enum lockplan_step step, enum lockplan_undo undo)
{
	if (p->nops < LOCKPLAN_MAX_OPS)
		p->ops[p->nops++] = (struct lockplan_op){ step, undo };
}

static int copy_bytes(const char *data, size_t len, char **ret, size_t *ret_len)
{
	*ret = malloc(len + 1);
	if (!*ret)
		return -ENOMEM;
	memcpy(*ret, data ? data : "", len);
	(*ret)[len] = '\0';
	*ret_len = len;
	return 0;
}

static int add_strs(char ***v, size_t *n, const char **add, size_t nadd)
{
	size_t i, j;

	for (i = 0; i < nadd; i++) {
		char **p;
		bool dup = false;

		for (j = 0; j < *n; j++)
			if (strcmp((*v)[j], add[i]) == 0)
				dup = true;
		if (dup)
			continue;
		p = realloc(*v, (*n + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		if (!(p[*n] = strdup(add[i])))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

const char *lockplan_read_err(int r)
{
	if (r == -EINVAL)
		return "not a regular file (a FIFO, directory, device or socket?)";
	if (r == -EFBIG)
		return "larger than pgevict reads";
	if (r == -ELOOP)
		return "a symbolic link";
	return strerror(-r);
}

void lockplan_free(struct lockplan *p)
{
	if (!p)
		return;
	free(p->msg);
	strv_free(p->notes, p->nnotes);
	free(p->orig);
	free(p->text);
	hba_file_free(&p->parsed);
	lockstate_clear(&p->rec);
	lockstate_clear(&p->prev);
	memset(p, 0, sizeof(*p));
}

/* ---- which file ---- */

int lockplan_check_opts(const struct lockplan_cluster *c, const struct lockplan_opts *o, char **ret_msg)
{
	*ret_msg = NULL;
	if (o->total && (o->nallow_roles || o->nallow_hosts)) {
		msgf(ret_msg, "--total refuses everyone; it cannot be combined with --allow-role or --allow-host");
		return EXIT_USAGE;
	}
	/* Without SQL the places that name hba_file disagree: which file
	 * PostgreSQL reads is not known, and one of them may be staged by
	 * someone who wants root to write elsewhere. */
	if (c->hba_conflict && !o->hba_file) {
		msgf(ret_msg, "%s; name the file PostgreSQL reads with --hba-file PATH (or let pgevict ask it: drop --no-sql)",
		     c->hba_conflict);
		return EXIT_USAGE;
	}
	return 0;
}

int lockplan_target(const struct lockplan_cluster *c, const struct lockplan_opts *o, const struct lockstate *saved,
		    const char *state_dir, char **ret_path, char **ret_msg)
{
	char *path = NULL;

	*ret_path = *ret_msg = NULL;
	/* state per cluster, never shared: a record of another data
	 * directory or another file is never used */
	if (saved && strcmp(saved->data_dir, c->key) != 0) {
		msgf(ret_msg, "'%s/state.json' is the state of the data directory '%s', not of '%s'; it is left as it is",
		     state_dir, saved->data_dir, c->key);
		return EXIT_RUNTIME;
	}
	/* The file as named (never through realpath: a link is followed
	 * only when nobody but root can change it).  When discovery cannot
	 * tell which file is in force, the one root recorded writing is the
	 * one to work on. */
	if (o->hba_file)
		path = strdup(o->hba_file);
	else if (c->hba_conflict && saved && *saved->hba_file)
		path = strdup(saved->hba_file);
	else if (c->hba_file)
		path = strdup(c->hba_file);
	else if (asprintf(&path, "%s/pg_hba.conf", c->data_dir) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;
	if (saved && *saved->hba_file && strcmp(saved->hba_file, path) != 0) {
		msgf(ret_msg, "the lockdown recorded in '%s' is of '%s', but this cluster's pg_hba.conf is '%s': "
		     "name the recorded one with --hba-file '%s' (or put the original back by hand from "
		     "'%s/original')", state_dir, saved->hba_file, path, saved->hba_file, state_dir);
		free(path);
		return EXIT_USAGE;
	}
	*ret_path = path;
	return 0;
}

int lockplan_same_dir(const struct lockplan_facts *f, char **ret_msg)
{
	const struct lockstate *s = f->saved;

	*ret_msg = NULL;
	if (!s || !s->hba_dir_known)
		return 0;            /* a state from before 0.2: nothing to compare */
	if (f->hba.dir_known && f->hba.dir_dev == s->hba_dir_dev && f->hba.dir_ino == s->hba_dir_ino)
		return 0;
	msgf(ret_msg, "the directory of '%s' is not the one locked down (it was replaced): restore it, or put back "
	     "the saved original by hand from '%s/original'", f->hba_path, f->state_dir);
	return EXIT_RUNTIME;
}

const char *lockplan_file_kind(const struct lockstate *saved, int err, const char *sha)
{
	if (err == -ENOENT)
		return "missing";
	if (err < 0)
		return "unreadable";
	if (!saved)
		return "original";
	if (strcmp(sha, saved->original_sha) == 0)
		return "original";
	if (saved->file_locked && strcmp(sha, saved->lockdown_sha) == 0)
		return "lockdown";
	return "other";
}

/* ---- lockdown ---- */

/* Config managers rewrite pg_hba.conf behind our back. */
static int manager_notes(const struct lockplan_facts *f, struct lockplan *p)
{
	static const char *const marks[] = { "patroni", "puppet", "ansible managed", "chef", "salt" };
	size_t i, j;

	if (f->manager && add_note(p, "warning: '%s' is running: a configuration manager may rewrite '%s' and undo "
				   "the lockdown", f->manager, f->hba_path) < 0)
		return -ENOMEM;
	if (f->hba.err != 0)
		return 0;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t n = strlen(marks[i]);
		for (j = 0; j + n <= f->hba.len && j < 4096; j++)
			if (strncasecmp(f->hba.data + j, marks[i], n) == 0)
				return add_note(p, "warning: '%s' says it is managed by %s: it may be rewritten and undo "
						"the lockdown", f->hba_path, marks[i]);
	}
	return 0;
}

/* The original: the saved one when a lockdown is already in place (it
 * must match its checksum), else the file on disk.  0, 1 refused, -ENOMEM. */
static int pick_original(const struct lockplan_facts *f, struct lockplan *p, const char *refused_tail)
{
	char sha[SHA256_HEX_LEN];

	if (f->saved && f->saved->file_locked) {
		if (f->saved_orig_err < 0)
			return refuse(p, EXIT_RUNTIME, "cannot read the saved original in '%s': %s", f->state_dir,
				      strerror(-f->saved_orig_err)) < 0 ? -ENOMEM : 1;
		sha256_hex(f->saved_orig, f->saved_orig_len, sha);
		if (strcmp(sha, f->saved->original_sha) != 0)
			return refuse(p, EXIT_RUNTIME, "the saved original in '%s' does not match its checksum; %s",
				      f->state_dir, refused_tail) < 0 ? -ENOMEM : 1;
		return copy_bytes(f->saved_orig, f->saved_orig_len, &p->orig, &p->orig_len);
	}
	if (f->hba.err == 0)
		return copy_bytes(f->hba.data, f->hba.len, &p->orig, &p->orig_len);
	return 0;
}

/* The record of a first lockdown. */
static int fresh_record(const struct lockplan_facts *f, struct lockplan *p)
{
	struct lockstate *s = &p->rec;

	s->since_us = f->now_us;
	s->data_dir = strdup(f->cluster.key);
	s->hba_file = strdup(f->hba_path);
	if (!s->data_dir || !s->hba_file)
		return -ENOMEM;
	s->mode = f->hba.mode & 07777;
	s->uid = f->hba.uid;
	s->gid = f->hba.gid;
	if (f->hba.dir_known) {
		s->hba_dir_known = true;
		s->hba_dir_dev = f->hba.dir_dev;
		s->hba_dir_ino = f->hba.dir_ino;
	}
	sha256_hex(p->orig ? p->orig : "", p->orig_len, s->original_sha);
	s->probe_before = -1;
	return 0;
}

/* hba_lockdown's notes, one line each. */
static int split_notes(struct lockplan *p, char *notes)
{
	char *l, *nl;

	for (l = notes; l && *l; l = nl + 1) {
		if (!(nl = strchr(l, '\n')))
			break;
		*nl = '\0';
		if (add_note(p, "%s", l) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The lockdown file from the original and every --allow-* so far.
 * 0, 1 refused, -ENOMEM. */
static int make_text(const struct lockplan_facts *f, struct lockplan *p)
{
	const struct lockstate *s = &p->rec;
	struct hba_file of = { 0 };
	struct hba_error e;
	struct hba_lockdown_opts lo = { 0 };
	struct cidr *nets = calloc(s->nallow_hosts + 1, sizeof(*nets));
	char when[64], *hdr = NULL, *notes = NULL;
	bool need_orig = s->nallow_roles || s->nallow_hosts || !s->total;
	size_t i;
	int r = -ENOMEM;

	if (!nets)
		goto out;
	if (need_orig && hba_parse(p->orig ? p->orig : "", p->orig_len, &of, &e) < 0) {
		if (s->nallow_roles || s->nallow_hosts) {
			r = refuse(p, EXIT_USAGE, "cannot read '%s' line %d: %s; --allow-* needs its rules", f->hba_path,
				   e.lineno, e.what) < 0 ? -ENOMEM : 1;
			goto out;
		}
		if (add_note(p, "'%s' line %d: %s; standbys' lines cannot be kept", f->hba_path, e.lineno, e.what) < 0)
			goto out;
		need_orig = false;
	}
	for (i = 0; i < s->nallow_hosts; i++)
		cidr_parse(s->allow_hosts[i], &nets[i]);
	timefmt_rfc3339(s->since_us, when, sizeof(when));
	if (asprintf(&hdr,
		     "# pg_hba.conf written by pgevict lockdown at %s.\n"
		     "# The original is kept in %s/original; `pgevict unlock` puts it back.\n"
		     "# Do not edit: unlock restores the original, not this file.\n",
		     when, f->state_dir) < 0) {
		hdr = NULL;
		goto out;
	}
	lo = (struct hba_lockdown_opts){ f->cluster.owner, s->total, (const char *const *)s->allow_roles,
					 s->nallow_roles, nets, s->nallow_hosts, hdr };
	r = hba_lockdown(need_orig ? &of : NULL, &lo, &p->text, &notes);
	if (r == -EINVAL) {
		r = refuse(p, EXIT_USAGE, "the cluster owner '%s' or a role cannot be written into pg_hba.conf",
			   f->cluster.owner ? f->cluster.owner : "?") < 0 ? -ENOMEM : 1;
		goto out;
	}
	if (r < 0 || (r = split_notes(p, notes)) < 0)
		goto out;
	/* Never write what we could not read back. */
	if (hba_parse(p->text, strlen(p->text), &p->parsed, &e) < 0) {
		r = refuse(p, EXIT_RUNTIME, "internal error: the lockdown file does not parse (line %d: %s); nothing "
			   "was changed", e.lineno, e.what) < 0 ? -ENOMEM : 1;
		goto out;
	}
	r = 0;
out:
	hba_file_free(&of);
	free(nets);
	free(hdr);
	free(notes);
	return r;
}

static enum hba_verdict judge(const struct hba_file *f, const char *host, bool local)
{
	struct hba_conn c = { local, local ? NULL : host, LOCKPLAN_PROBE_USER, LOCKPLAN_PROBE_DB, false, 0 };

	return hba_eval(f, &c, NULL);
}

void lockplan_probe_host(const char *l, char *out, size_t len)
{
	if (!l || !*l)
		snprintf(out, len, "%s", "");
	else if (strcmp(l, "*") == 0 || strcmp(l, "0.0.0.0") == 0 || strcmp(l, "localhost") == 0)
		snprintf(out, len, "127.0.0.1");
	else if (strcmp(l, "::") == 0)
		snprintf(out, len, "::1");
	else
		snprintf(out, len, "%s", l);
}

/* The probe: TCP where the cluster listens, else (or when an
 * --allow-host lets it in) the Unix socket.  0, 1 refused, -ENOMEM. */
static int pick_probe(const struct lockplan_facts *f, struct lockplan *p)
{
	char *host = p->probe.host;

	lockplan_probe_host(f->cluster.listen_addr, host, sizeof(p->probe.host));
	if (*host && judge(&p->parsed, host, false) != HBA_REJECT)
		host[0] = '\0';
	if (!*host && judge(&p->parsed, NULL, true) != HBA_REJECT)
		return refuse(p, EXIT_USAGE, "no probe can prove this lockdown (every way in is allowed); nothing was "
			      "changed") < 0 ? -ENOMEM : 1;
	p->probe.expect = LKE_REFUSED;
	p->probe.owner = p->rec.total ? LKO_REFUSED : LKO_ADMITTED;
	snprintf(p->rec.probe_host, sizeof(p->rec.probe_host), "%s", host);
	sha256_hex(p->text, strlen(p->text), p->rec.lockdown_sha);
	p->rec.file_locked = true;
	return 0;
}

/* The steps, in an order that survives a kill -9 at any system call. */
static void lockdown_ops(const struct lockplan_facts *f, struct lockplan *p)
{
	const struct lockplan_opts *o = &f->opts;
	bool objects = o->nlock_roles || o->nlock_dbs;
	char cur_sha[SHA256_HEX_LEN] = "";

	if (f->hba.err == 0)
		sha256_hex(f->hba.data, f->hba.len, cur_sha);
	if (objects)
		add_op(p, LKS_CHECK_OBJECTS, LKU_NONE);
	if (p->file_wanted && (p->fresh || !f->saved->file_locked)) {
		add_op(p, LKS_SAVE_ORIGINAL, LKU_NONE);
		add_op(p, LKS_PROBE_BEFORE, LKU_NONE);
	}
	add_op(p, LKS_SAVE_LOCKING, LKU_NONE);
	if (objects)
		add_op(p, LKS_LOCK_OBJECTS, LKU_NONE);
	if (p->file_wanted && strcmp(cur_sha, p->rec.lockdown_sha) != 0) {
		add_op(p, LKS_WRITE_FILE, p->fresh && !objects ? LKU_FORGET : LKU_NONE);
		add_op(p, LKS_CHECK_LOADABLE, LKU_RESTORE);
	}
	if (p->file_wanted) {
		add_op(p, LKS_RELOAD, LKU_RESTORE);
		add_op(p, LKS_PROVE, LKU_RESTORE);
	}
	add_op(p, LKS_SAVE_LOCKED, LKU_NONE);
	add_op(p, LKS_KICK, LKU_NONE);
	p->forget_on_restore = p->fresh && !objects;
	p->kick_refused = o->kick && p->file_wanted;
	p->kick_dbs = o->kick;
}

/* Everything after the file is chosen: 0 (refused or planned), -ENOMEM. */
static int plan_lockdown(const struct lockplan_facts *f, struct lockplan *p)
{
	const struct lockplan_opts *o = &f->opts;
	size_t i;
	int r;

	if (!p->fresh && f->saved->file_locked && lockplan_same_dir(f, &p->msg) != 0) {
		p->status = EXIT_RUNTIME;
		return p->msg ? 0 : -ENOMEM;
	}
	if (f->hba.err < 0 && (p->file_wanted || f->hba.err != -ENOENT))
		/* a file that is not there is the operator's to name */
		return refuse(p, f->hba.err == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME, "cannot read '%s': %s", f->hba_path,
			      lockplan_read_err(f->hba.err));
	if ((r = manager_notes(f, p)) < 0 || (r = pick_original(f, p, "nothing was changed")) != 0)
		return r < 0 ? r : 0;
	if (p->fresh ? (r = fresh_record(f, p)) < 0 : (r = lockstate_copy(f->saved, &p->rec)) < 0)
		return r;
	if (p->file_wanted) {
		if (o->total)
			p->rec.total = true;
		if (add_strs(&p->rec.allow_roles, &p->rec.nallow_roles, o->allow_roles, o->nallow_roles) < 0 ||
		    add_strs(&p->rec.allow_hosts, &p->rec.nallow_hosts, o->allow_hosts, o->nallow_hosts) < 0)
			return -ENOMEM;
		if ((r = make_text(f, p)) != 0 || (r = pick_probe(f, p)) != 0)
			return r < 0 ? r : 0;
	}
	if (o->dry_run)
		return 0;
	for (i = 0; i < o->nlock_roles; i++)
		if (f->cluster.owner && strcmp(o->lock_roles[i], f->cluster.owner) == 0)
			return refuse(p, EXIT_USAGE, "refusing to lock out the cluster owner '%s'", o->lock_roles[i]);
	snprintf(p->rec.phase, sizeof(p->rec.phase), "locking");
	p->rec.proven = false;
	lockdown_ops(f, p);
	return 0;
}

int lockplan_lockdown(const struct lockplan_facts *f, struct lockplan *ret)
{
	const struct lockplan_opts *o = &f->opts;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->fresh = !f->saved;
	ret->file_wanted = (!o->nlock_roles && !o->nlock_dbs) || o->total || o->nallow_roles || o->nallow_hosts;
	ret->probe.user = LOCKPLAN_PROBE_USER;
	ret->probe.db = LOCKPLAN_PROBE_DB;
	if (f->saved && (r = lockstate_copy(f->saved, &ret->prev)) < 0)
		goto fail;
	if ((r = plan_lockdown(f, ret)) < 0)
		goto fail;
	if (ret->status != 0)
		ret->nops = 0;
	return 0;
fail:
	lockplan_free(ret);
	return r;
}

int lockplan_rollback_record(const struct lockplan *p, const struct lockstate *live, struct lockstate *ret)
{
	struct lockstate s;

	if (p->forget_on_restore)
		return 1;
	if (p->fresh) {
		if (lockstate_copy(live, ret) < 0)
			return -ENOMEM;
		ret->file_locked = false;
		snprintf(ret->phase, sizeof(ret->phase), "locked");
		return 0;
	}
	/* the record as it was, with the role and database locks this run
	 * applied (an ALTER that ran stays recorded, so unlock undoes it) */
	if (lockstate_copy(&p->prev, &s) < 0)
		return -ENOMEM;
	for (size_t pass = 0; pass < 2; pass++) {
		struct lock_item **v = pass ? &s.dbs : &s.roles;
		size_t *n = pass ? &s.ndbs : &s.nroles;

		items_free(*v, *n);
		*v = NULL;
		*n = 0;
		if (items_copy(pass ? live->dbs : live->roles, pass ? live->ndbs : live->nroles, v) < 0) {
			lockstate_clear(&s);
			return -ENOMEM;
		}
		*n = pass ? live->ndbs : live->nroles;
	}
	*ret = s;
	return 0;
}

ssize_t lockplan_kick_list(const struct hba_file *f, const struct pg_cluster *c, const struct session *ses,
			   size_t n, const struct session ***ret, size_t *ret_unknown)
{
	size_t i, k = 0;
	const struct session **v = calloc(n + 1, sizeof(*v));

	*ret = v;
	*ret_unknown = 0;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct session *s = &ses[i];
		struct hba_conn hc = { 0 };
		enum hba_verdict verdict;

		if (s->cluster != c || !s->is_client || !s->backend_type || strcmp(s->backend_type, "client backend") != 0)
			continue;
		hc.local = s->transport == TRANSPORT_UNIX;
		hc.addr = s->client_addr[0] ? s->client_addr : NULL;
		hc.user = s->user;
		hc.database = s->database;
		hc.ssl = -1;
		if (!s->user || !s->database || (!hc.local && !hc.addr)) {
			(*ret_unknown)++;
			continue;
		}
		verdict = hba_eval(f, &hc, NULL);
		if (verdict == HBA_REJECT || verdict == HBA_NO_ENTRY)
			v[k++] = s;
		else if (verdict == HBA_UNKNOWN)
			(*ret_unknown)++;
	}
	return (ssize_t)k;
}

/* ---- unlock ---- */

/* The probe gets what it got before the lockdown, when that was one of
 * pg_hba's answers other than a reject; else anything but a reject. */
static void unlock_probe(const struct lockstate *s, struct lockplan_probe *pr)
{
	int b = s->probe_before;

	snprintf(pr->host, sizeof(pr->host), "%s", s->probe_host);
	pr->before = b;
	pr->expect = b >= 0 && b != PROBE_HBA_REJECT && b != PROBE_SLOTS && b != PROBE_UNREACHABLE ? LKE_AS_BEFORE
												   : LKE_NOT_REFUSED;
	pr->owner = LKO_NONE;
}

static int plan_unlock(const struct lockplan_facts *f, struct lockplan *p)
{
	const struct lockstate *s = f->saved;
	char cur_sha[SHA256_HEX_LEN] = "";
	int r;

	if ((r = lockstate_copy(s, &p->rec)) < 0 || (r = lockstate_copy(s, &p->prev)) < 0)
		return r;
	if (s->file_locked) {
		if (lockplan_same_dir(f, &p->msg) != 0) {
			p->status = EXIT_RUNTIME;
			return p->msg ? 0 : -ENOMEM;
		}
		char *tail = NULL;

		if (msgf(&tail, "'%s' is left as it is", s->hba_file) < 0)
			return -ENOMEM;
		r = pick_original(f, p, tail);
		free(tail);
		if (r != 0)
			return r < 0 ? r : 0;
		p->file_wanted = true;
	}
	snprintf(p->rec.phase, sizeof(p->rec.phase), "unlocking");
	add_op(p, ULS_SAVE_UNLOCKING, LKU_NONE);
	if (s->file_locked) {
		if (f->hba.err == 0)
			sha256_hex(f->hba.data, f->hba.len, cur_sha);
		if (f->hba.err == 0 && strcmp(cur_sha, s->original_sha) != 0 && strcmp(cur_sha, s->lockdown_sha) != 0)
			add_op(p, ULS_KEEP_DISPLACED, LKU_NONE);
		if (f->hba.err != 0 || strcmp(cur_sha, s->original_sha) != 0)
			add_op(p, ULS_WRITE_ORIGINAL, LKU_NONE);
		add_op(p, ULS_RELOAD, LKU_NONE);
		add_op(p, ULS_CHECK_LOADABLE, LKU_CLEAR);
		add_op(p, ULS_PROVE, LKU_NONE);
		add_op(p, ULS_VERIFY, LKU_NONE);
		unlock_probe(s, &p->probe);
	}
	add_op(p, ULS_UNLOCK_OBJECTS, LKU_NONE);
	add_op(p, ULS_REMOVE_STATE, LKU_NONE);
	return 0;
}

int lockplan_unlock(const struct lockplan_facts *f, struct lockplan *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->probe.user = LOCKPLAN_PROBE_USER;
	ret->probe.db = LOCKPLAN_PROBE_DB;
	if (!f->saved)
		return -EINVAL;
	if ((r = plan_unlock(f, ret)) < 0) {
		lockplan_free(ret);
		return r;
	}
	if (ret->status != 0)
		ret->nops = 0;
	return 0;
}
