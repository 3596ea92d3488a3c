/* SPDX-License-Identifier: MIT */
/*
 * cmd_lockdown.c -- `pgevict lockdown | unlock | status` (command).
 *
 * Each runs options -> facts -> plan -> apply -> output: the facts are
 * gathered here (the cluster from discovery, its state directory locked
 * and its record loaded, pg_hba.conf read through its directory), the
 * plan is lockplan.h's (pure: which file, what bytes, which probe, the
 * steps and their undo, the refusals), the steps are carried out by
 * lockapply.h, and what they report is printed here, escaped.  status
 * reads the record, hashes the file on disk and asks PostgreSQL (a probe)
 * which rules are in force.
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
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgevict/clock.h"
#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/lockapply.h"
#include "pgevict/lockplan.h"
#include "pgevict/lockstate.h"
#include "pgevict/pgsql.h"
#include "pgevict/procfs.h"
#include "pgevict/sha256.h"
#include "pgevict/timefmt.h"

#define PROBE_USER LOCKPLAN_PROBE_USER
#define PROBE_DB LOCKPLAN_PROBE_DB

/* One line on stderr.  Paths, names and PostgreSQL's words in it come
 * from outside: the whole line goes through escape_term (our own text has
 * no control character nor backslash, so only theirs changes). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char *raw = NULL, *esc;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("pgevict: out of memory\n", stderr);
		return;
	}
	esc = escape_term(raw);
	fprintf(stderr, "pgevict: %s\n", esc ? esc : "out of memory");
	free(esc);
	free(raw);
}

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

/* Everything one run works on: the facts. */
struct lk {
	const struct options *o;
	struct discovery d;
	struct pg_cluster *c;
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

static void note(struct lk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct lk *k, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_array_add(k->notes, json_object_new_string(buf));   /* exact bytes */
	if (!k->o->json)
		say("%s", buf);                                            /* escaped */
}

static void lk_clear(struct lk *k)
{
	discovery_clear(&k->d);
	free(k->key);
	if (k->rootfd >= 0)
		close(k->rootfd);
	free(k->hba_path);
	if (k->hba_dirfd >= 0)
		close(k->hba_dirfd);
	free(k->hba_name);
	tfree();
	lockdir_close(&k->dir);
	lockstate_clear(&k->st);
	free(k->cur);
	free(k->orig);
	json_object_put(k->notes);
}

/* Discover, pick the one cluster, reach its files.  0 or an exit status. */
static int collect(struct lk *k, const struct options *o)
{
	int r, proc;

	k->o = o;
	k->dir.lock_fd = -1;
	k->hba_dirfd = -1;
	k->rootfd = -1;
	k->notes = json_object_new_array();
	if ((r = cmd_discover(o, &k->d)) != 0)
		return r;
	if (k->d.clusters.n == 0) {
		say("no running PostgreSQL cluster found");
		return 1;
	}
	if (k->d.clusters.n > 1 && !o->cluster) {
		say("%zu clusters run on this host; name one with --cluster (data directory, port or cluster_name)",
		    k->d.clusters.n);
		return EXIT_USAGE;
	}
	k->c = k->d.clusters.v[0];
	/* Its files are the ones its root reaches (a container's own, in
	 * its mount namespace), never ours at the same path. */
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = proc < 0 ? -errno : procfs_open_root(proc, k->c->pid, k->c->start_ticks, &k->rootfd);
	if (proc >= 0)
		close(proc);
	if (r < 0) {
		say("cannot reach the files of the postmaster (pid %d): %s", (int)k->c->pid,
		    r == -ESRCH ? "it has exited" : strerror(-r));
		return 1;
	}
	if (!(k->key = cluster_state_key(k->c))) {
		say("out of memory");
		return 1;
	}
	return 0;
}

static struct lockplan_cluster plan_cluster(const struct lk *k)
{
	return (struct lockplan_cluster){ k->key, k->c->data_dir, k->c->owner_name, k->c->listen_addr,
					  k->c->hba_file, k->c->hba_conflict };
}

static struct lockplan_opts plan_opts(const struct options *o)
{
	return (struct lockplan_opts){ o->total, o->dry_run, o->kick, o->hba_file,
				       o->allow_roles, o->nallow_roles, o->allow_hosts, o->nallow_hosts,
				       o->lock_roles, o->nlock_roles, o->lock_dbs, o->nlock_dbs };
}

/* The name of the owner of UID, or its number. */
static void user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

/*
 * The directory of k->hba_path, resolved without following anything a
 * less-trusted account controls (fileio.h's file_resolve), kept open for
 * every read and write.  A symlink someone other than root can change is
 * refused (exit 2, naming --hba-file); any other failure is left in
 * k->hba_err for the reader to report (with QUIET_LOOP, the symlink too:
 * unlock then says the directory was replaced).  0 or an exit status.
 */
static int resolve_hba(struct lk *k, bool quiet_loop)
{
	char *bad = NULL, who[64];
	uid_t bad_uid = 0;
	int r;

	r = file_resolve_in(k->rootfd, k->hba_path, &k->hba_dirfd, &k->hba_name, &bad, &bad_uid);
	if (r == 0 && fstat(k->hba_dirfd, &k->hba_dir_st) < 0)
		r = -errno;
	k->hba_err = r;
	if (r == -ELOOP && quiet_loop) {
		free(bad);
		return 0;            /* lockplan_same_dir says what happened */
	}
	if (r == -ELOOP) {
		if (bad && bad_uid != 0) {
			user_name(bad_uid, who, sizeof(who));
			say("'%s' is reached through a symlink that '%s' can change ('%s' is theirs); "
			    "name the real file with --hba-file PATH", k->hba_path, who, bad);
		} else {
			say("'%s' is reached through a symlink that someone other than root can change%s%s%s; "
			    "name the real file with --hba-file PATH", k->hba_path, bad ? " ('" : "", bad ? bad : "",
			    bad ? "' is writable by others)" : "");
		}
		free(bad);
		return EXIT_USAGE;
	}
	free(bad);
	if (r == -ENOMEM) {
		say("out of memory");
		return 1;
	}
	return 0;
}

/* Collect, run FN on the one cluster, clean up: every command here. */
static int with_cluster(const struct options *o, int (*fn)(struct lk *k))
{
	struct lk k = { 0 };
	int r;

	if ((r = collect(&k, o)) == 0)
		r = fn(&k);
	lk_clear(&k);
	return r;
}

static void read_current(struct lk *k)
{
	free(k->cur);
	k->cur = NULL;
	k->cur_len = 0;
	k->cur_sha[0] = '\0';
	k->cur_err = k->hba_dirfd < 0 ? (k->hba_err ? k->hba_err : -EBADF)
				       : file_read_at(k->hba_dirfd, k->hba_name, 0, &k->cur, &k->cur_len, &k->cur_st);
	if (k->cur_err == 0)
		sha256_hex(k->cur, k->cur_len, k->cur_sha);
}

/* The state directory (locked when EXCLUSIVE), its record, and which
 * pg_hba.conf (lockplan_target).  0 or an exit status. */
static int open_dir(struct lk *k, bool create, bool exclusive, bool *busy)
{
	const char *root = k->o->state_dir ? k->o->state_dir : LOCKSTATE_DEFAULT_DIR;
	struct lockplan_cluster pc = plan_cluster(k);
	struct lockplan_opts po = plan_opts(k->o);
	char *msg = NULL;
	int r = lockdir_open(root, k->key, create, exclusive, &k->dir, busy);

	if (r == -EAGAIN) {
		say("another pgevict lockdown or unlock is running for '%s'", k->key);
		return 1;
	}
	if (r < 0 && (r != -ENOENT || create)) {
		say("cannot use the state directory '%s': %s", root, strerror(-r));
		return 1;
	}
	if (r == 0 && (r = lockstate_load(&k->dir, &k->st)) == 0) {
		k->have_state = true;
	} else if (r == -EINVAL) {
		say("'%s/state.json' is damaged; it is left as it is for you to read", k->dir.path);
		return 1;
	} else if (r != -ENOENT) {
		say("cannot read '%s/state.json': %s", k->dir.path, strerror(-r));
		return 1;
	}
	r = lockplan_target(&pc, &po, k->have_state ? &k->st : NULL, k->dir.path, &k->hba_path, &msg);
	if (r > 0)
		say("%s", msg);
	else if (r < 0)
		say("out of memory");
	free(msg);
	return r < 0 ? 1 : r;
}

/* The facts the plan decides from (read_current done). */
static struct lockplan_facts facts(struct lk *k)
{
	struct lockplan_facts f = { 0 };

	f.cluster = plan_cluster(k);
	f.opts = plan_opts(k->o);
	f.hba_path = k->hba_path;
	f.state_dir = k->dir.path;
	f.saved = k->have_state ? &k->st : NULL;
	f.saved_orig_err = k->orig_err;
	f.saved_orig = k->orig;
	f.saved_orig_len = k->orig_len;
	f.hba.err = k->cur_err;
	f.hba.data = k->cur;
	f.hba.len = k->cur_len;
	f.hba.mode = k->cur_st.st_mode;
	f.hba.uid = k->cur_st.st_uid;
	f.hba.gid = k->cur_st.st_gid;
	f.hba.dir_known = k->hba_err == 0 && k->hba_dirfd >= 0;
	f.hba.dir_dev = k->hba_dir_st.st_dev;
	f.hba.dir_ino = k->hba_dir_st.st_ino;
	f.manager = *k->manager ? k->manager : NULL;
	f.now_us = clock_wall_us();
	return f;
}

/* The saved original, when the record says the file is locked down. */
static void read_saved_original(struct lk *k)
{
	if (k->have_state && k->st.file_locked)
		k->orig_err = lockstate_read_original(&k->dir, &k->orig, &k->orig_len);
}

/* A configuration manager in the process table (they rewrite pg_hba.conf
 * behind our back). */
static void find_manager(struct lk *k)
{
	static const char *const comms[] = { "patroni", "puppet", "chef-client", "salt-minion",
					     "ansible-pull", "cf-agent", "cf-execd", "confd" };
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (proc >= 0 && procfs_find_comm(proc, comms, sizeof(comms) / sizeof(comms[0]), k->manager,
					  sizeof(k->manager)) != 1)
		k->manager[0] = '\0';
	if (proc >= 0)
		close(proc);
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
	(void)ctx;
	say("%s", line);
}

static void rep_note(void *ctx, const char *line)
{
	note(ctx, "%s", line);
}

static void rep_result(void *ctx, const struct lockapply_result *r)
{
	print_result(ctx, r);
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

/* A refusal: its line, its status. */
static int refused(const struct lockplan *p)
{
	say("%s", p->msg ? p->msg : "out of memory");
	return p->status;
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
			say("out of memory");
			return 1;
		}
		if (unknown)
			note(k, "%zu session(s) kept by --kick: whether the new rules refuse them depends on what "
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
	const struct options *o = k->o;
	struct lockplan_cluster pc = plan_cluster(k);
	struct lockplan_opts po = plan_opts(o);
	struct lockplan p = { 0 };
	struct lockplan_facts f;
	struct lockrun run;
	char *msg = NULL;
	size_t i;
	int status;

	if ((status = lockplan_check_opts(&pc, &po, &msg)) != 0) {
		say("%s", msg ? msg : "out of memory");
		free(msg);
		return status;
	}
	if ((status = open_dir(k, !o->dry_run, !o->dry_run, NULL)) != 0)
		return status;
	if ((status = resolve_hba(k, false)) != 0)
		return status;
	read_current(k);
	read_saved_original(k);
	find_manager(k);
	f = facts(k);
	if (lockplan_lockdown(&f, &p) < 0) {
		say("out of memory");
		return 1;
	}
	for (i = 0; i < p.nnotes; i++)
		note(k, "%s", p.notes[i]);
	if (p.status != 0)
		status = refused(&p);
	else if (o->dry_run)
		status = print_dry_run(k, &p);
	else {
		run = lockrun_of(k, &po);
		status = lockapply_lockdown(&run, &p);
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
	struct lockplan_opts po = plan_opts(k->o);
	struct lockplan p = { 0 };
	struct lockplan_facts f;
	struct lockrun run;
	int status;

	if ((status = open_dir(k, false, true, NULL)) != 0)
		return status;
	if (!k->have_state) {
		print_not_locked(k);
		return 0;
	}
	/* the directory written through, before anything is changed */
	if (k->st.file_locked) {
		if ((status = resolve_hba(k, k->st.hba_dir_known)) != 0)
			return status;
		read_current(k);
		read_saved_original(k);
	}
	f = facts(k);
	if (lockplan_unlock(&f, &p) < 0) {
		say("out of memory");
		return 1;
	}
	if (p.status != 0) {
		status = refused(&p);
	} else {
		run = lockrun_of(k, &po);
		status = lockapply_unlock(&run, &p);
	}
	lockplan_free(&p);
	return status;
}

int cmd_unlock(const struct options *o)
{
	return with_cluster(o, do_unlock);
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
		say("--kick: cannot find the sessions of the cluster again");
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
	say("out of memory");
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

	if ((status = open_dir(k, false, false, &busy)) != 0)
		return status;
	if ((status = resolve_hba(k, false)) != 0)
		return status;
	if (k->c->hba_conflict && !k->o->hba_file && !k->have_state)
		note(k, "warning: %s; showing '%s' (name the file with --hba-file PATH)", k->c->hba_conflict,
		     k->hba_path);
	read_current(k);
	if (k->cur_err == -EINVAL || k->cur_err == -EFBIG || k->cur_err == -ELOOP) {
		say("cannot read '%s': %s", k->hba_path, lockplan_read_err(k->cur_err));
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
