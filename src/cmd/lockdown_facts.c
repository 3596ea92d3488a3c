/* SPDX-License-Identifier: MIT */
/*
 * lockdown_facts.c -- the facts of one lockdown, unlock or status run, and
 * the lockdown and unlock plans made from them (command; see
 * lockdown_int.h).
 *
 * Owns gathering: the cluster (from discovery, or the one a front end
 * names), its files through its root, its state directory locked and its
 * record loaded, pg_hba.conf read through its directory (fileio.h's
 * file_resolve_in: no symlink anyone but root can change), a
 * configuration manager in the process table; and lockplan.h's plans from
 * those facts.  It carries nothing out and prints nothing but the lines it
 * says (lk_say, lk_note): what the plans mean on a terminal and what
 * lockapply reports are cmd_lockdown.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/escape.h"
#include "pgevict/fileio.h"
#include "pgevict/procfs.h"
#include "lockdown_int.h"

/* One line: to the sink (unescaped), or on stderr, escaped (paths, names
 * and PostgreSQL's words in it come from outside; our own text has no
 * control character nor backslash, so only theirs changes). */
static void vsay(const struct lk *k, bool warning, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vsay(const struct lk *k, bool warning, const char *fmt, va_list ap)
{
	char *raw = NULL, *esc;

	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	if (k->sink) {
		(warning ? k->sink->note : k->sink->say)(k->sink->ctx, raw ? raw : "out of memory");
	} else {
		esc = raw ? escape_term(raw) : NULL;
		fprintf(stderr, "pgevict: %s\n", esc ? esc : "out of memory");
		free(esc);
	}
	free(raw);
}

void lk_say(const struct lk *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(k, false, fmt, ap);
	va_end(ap);
}

void lk_note(struct lk *k, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_array_add(k->notes, json_object_new_string(buf));   /* exact bytes */
	if (k->sink)
		k->sink->note(k->sink->ctx, buf);
	else if (!k->o->json)
		lk_say(k, "%s", buf);                                      /* escaped */
}

void lk_init(struct lk *k, const struct options *o, const struct lockapply_report *sink)
{
	memset(k, 0, sizeof(*k));
	k->o = o;
	k->sink = sink;
	k->dry = o->dry_run;
	k->dir.lock_fd = -1;
	k->hba_dirfd = -1;
	k->rootfd = -1;
	k->notes = json_object_new_array();
}

void lk_clear(struct lk *k)
{
	discovery_clear(&k->d);
	free(k->key);
	if (k->rootfd >= 0)
		close(k->rootfd);
	free(k->hba_path);
	if (k->hba_dirfd >= 0)
		close(k->hba_dirfd);
	free(k->hba_name);
	lockdir_close(&k->dir);
	lockstate_clear(&k->st);
	free(k->cur);
	free(k->orig);
	json_object_put(k->notes);
}

int lk_attach(struct lk *k, const struct pg_cluster *c)
{
	int r, proc;

	k->c = c;
	/* Its files are the ones its root reaches (a container's own, in
	 * its mount namespace), never ours at the same path. */
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = proc < 0 ? -errno : procfs_open_root(proc, c->pid, c->start_ticks, &k->rootfd);
	if (proc >= 0)
		close(proc);
	if (r < 0) {
		lk_say(k, "cannot reach the files of the postmaster (pid %d): %s", (int)c->pid,
		       r == -ESRCH ? "it has exited" : strerror(-r));
		return 1;
	}
	if (!(k->key = cluster_state_key(c))) {
		lk_say(k, "out of memory");
		return 1;
	}
	return 0;
}

int lk_collect(struct lk *k)
{
	int r;

	if ((r = cmd_discover(k->o, &k->d)) != 0)
		return r;
	if (k->d.clusters.n == 0) {
		lk_say(k, "no running PostgreSQL cluster found");
		return 1;
	}
	if (k->d.clusters.n > 1 && !k->o->cluster) {
		lk_say(k, "%zu clusters run on this host; name one with --cluster (data directory, port or "
		       "cluster_name)", k->d.clusters.n);
		return EXIT_USAGE;
	}
	return lk_attach(k, k->d.clusters.v[0]);
}

struct lockplan_cluster lk_plan_cluster(const struct lk *k)
{
	return (struct lockplan_cluster){ k->key, k->c->data_dir, k->c->owner_name, k->c->listen_addr,
					  k->c->hba_file, k->c->hba_conflict };
}

struct lockplan_opts lk_plan_opts(const struct lk *k)
{
	const struct options *o = k->o;

	return (struct lockplan_opts){ o->total, k->dry, o->kick, o->hba_file,
				       o->allow_roles, o->nallow_roles, o->allow_hosts, o->nallow_hosts,
				       o->lock_roles, o->nlock_roles, o->lock_dbs, o->nlock_dbs };
}

void lk_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp && pwp->pw_name)
		snprintf(buf, len, "%s", pwp->pw_name);
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
int lk_resolve_hba(struct lk *k, bool quiet_loop)
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
			lk_user_name(bad_uid, who, sizeof(who));
			lk_say(k, "'%s' is reached through a symlink that '%s' can change ('%s' is theirs); "
			       "name the real file with --hba-file PATH", k->hba_path, who, bad);
		} else {
			lk_say(k, "'%s' is reached through a symlink that someone other than root can change%s%s%s; "
			       "name the real file with --hba-file PATH", k->hba_path, bad ? " ('" : "", bad ? bad : "",
			       bad ? "' is writable by others)" : "");
		}
		free(bad);
		return EXIT_USAGE;
	}
	free(bad);
	if (r == -ENOMEM) {
		lk_say(k, "out of memory");
		return 1;
	}
	return 0;
}

int lk_read_current(struct lk *k)
{
	free(k->cur);
	k->cur = NULL;
	k->cur_len = 0;
	k->cur_sha[0] = '\0';
	k->cur_err = k->hba_dirfd < 0 ? (k->hba_err ? k->hba_err : -EBADF)
				       : file_read_at(k->hba_dirfd, k->hba_name, 0, &k->cur, &k->cur_len, &k->cur_st);
	if (k->cur_err == 0)
		sha256_hex(k->cur, k->cur_len, k->cur_sha);
	if (k->expect_sha && strcmp(k->expect_sha, k->cur_sha) != 0) {
		lk_say(k, "'%s' changed since its plan was shown; nothing was done", k->hba_path);
		return 1;
	}
	return 0;
}

int lk_open_dir(struct lk *k, bool create, bool exclusive, bool *busy)
{
	const char *root = k->o->state_dir ? k->o->state_dir : LOCKSTATE_DEFAULT_DIR;
	struct lockplan_cluster pc = lk_plan_cluster(k);
	struct lockplan_opts po = lk_plan_opts(k);
	char *msg = NULL, *name;
	int r;

	/* a second look (lockdown's after unlock's) starts afresh */
	lockdir_close(&k->dir);
	lockstate_clear(&k->st);
	k->have_state = false;
	free(k->hba_path);
	k->hba_path = NULL;
	r = lockdir_open(root, k->key, create, exclusive, &k->dir, busy);
	if (r == -EAGAIN) {
		lk_say(k, "another pgevict lockdown or unlock is running for '%s'", k->key);
		return 1;
	}
	if (r < 0 && (r != -ENOENT || create)) {
		lk_say(k, "cannot use the state directory '%s': %s", root, strerror(-r));
		return 1;
	}
	if (r == 0 && (r = lockstate_load(&k->dir, &k->st)) == 0) {
		k->have_state = true;
	} else if (r == -EINVAL) {
		lk_say(k, "'%s/state.json' is damaged; it is left as it is for you to read", k->dir.path);
		return 1;
	} else if (r != -ENOENT) {
		lk_say(k, "cannot read '%s/state.json': %s", k->dir.path, strerror(-r));
		return 1;
	}
	/* not there yet (a dry run): its name, for the plan's words */
	if (!k->dir.path && (name = lockdir_name(k->key))) {
		if (asprintf(&k->dir.path, "%s/%s", root, name) < 0)
			k->dir.path = NULL;
		free(name);
	}
	r = lockplan_target(&pc, &po, k->have_state ? &k->st : NULL, k->dir.path, &k->hba_path, &msg);
	if (r > 0)
		lk_say(k, "%s", msg);
	else if (r < 0)
		lk_say(k, "out of memory");
	free(msg);
	return r < 0 ? 1 : r;
}

struct lockplan_facts lk_facts(struct lk *k)
{
	struct lockplan_facts f = { 0 };

	f.cluster = lk_plan_cluster(k);
	f.opts = lk_plan_opts(k);
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

/* The plan's refusal: its line, its status. */
static int refused(const struct lk *k, const struct lockplan *p)
{
	lk_say(k, "%s", p->msg ? p->msg : "out of memory");
	return p->status;
}

int lk_plan_lockdown(struct lk *k, struct lockplan *p)
{
	struct lockplan_cluster pc = lk_plan_cluster(k);
	struct lockplan_opts po = lk_plan_opts(k);
	struct lockplan_facts f;
	char *msg = NULL;
	size_t i;
	int status;

	memset(p, 0, sizeof(*p));
	if ((status = lockplan_check_opts(&pc, &po, &msg)) != 0) {
		lk_say(k, "%s", msg ? msg : "out of memory");
		free(msg);
		return status;
	}
	if ((status = lk_open_dir(k, !k->dry, !k->dry, NULL)) != 0 || (status = lk_resolve_hba(k, false)) != 0 ||
	    (status = lk_read_current(k)) != 0)
		return status;
	read_saved_original(k);
	find_manager(k);
	f = lk_facts(k);
	if (lockplan_lockdown(&f, p) < 0) {
		lk_say(k, "out of memory");
		return 1;
	}
	for (i = 0; i < p->nnotes; i++)
		lk_note(k, "%s", p->notes[i]);
	return p->status ? refused(k, p) : 0;
}

int lk_plan_unlock(struct lk *k, struct lockplan *p)
{
	struct lockplan_facts f;
	int status;

	memset(p, 0, sizeof(*p));
	if ((status = lk_open_dir(k, false, !k->dry, NULL)) != 0 || !k->have_state)
		return status;
	/* the directory written through, before anything is changed */
	if (k->st.file_locked) {
		if ((status = lk_resolve_hba(k, k->st.hba_dir_known)) != 0 || (status = lk_read_current(k)) != 0)
			return status;
		read_saved_original(k);
	}
	f = lk_facts(k);
	if (lockplan_unlock(&f, p) < 0) {
		lk_say(k, "out of memory");
		return 1;
	}
	return p->status ? refused(k, p) : 0;
}
