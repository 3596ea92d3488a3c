/*
 * cmd_lockdown.c -- `pgevict lockdown | unlock | status`.
 *
 * lockdown: collect (the cluster, its pg_hba.conf, the saved state), plan
 * (the lockdown file from hba.c, the probe that must be refused, the
 * sessions --kick would end: printed by --dry-run), apply in an order that
 * survives a kill -9 at any system call:
 *
 *   1. the original saved in the state directory (atomic), then state.json
 *      saying "locking" (atomic): from here `unlock` can always restore;
 *   2. for --role/--database: the old value recorded, then the ALTER;
 *   3. pg_hba.conf replaced (atomic: PostgreSQL reads the old file or the
 *      whole new one, never half of one), checked with pg_hba_file_rules
 *      when SQL works;
 *   4. SIGHUP to the postmaster through a pidfd;
 *   5. the proof: a probe connection as a role the lockdown refuses must get
 *      "pg_hba.conf rejects connection" (and, unless --total, the owner
 *      must still get in over the Unix socket).  If the probe still gets
 *      through, the original goes back and the command fails;
 *   6. state.json "locked"; then --kick ends the sessions the new rules
 *      would refuse, through the ladder.
 *
 * unlock reverses it: state "unlocking", the original written back (a file
 * someone else wrote meanwhile is kept aside, never lost), SIGHUP, the
 * probe must get what it got before the lockdown, the ALTERs undone, the
 * state removed last.  status reads the state, hashes the file on disk and
 * asks PostgreSQL (a probe) which rules are in force.
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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/hba.h"
#include "pgevict/lockstate.h"
#include "pgevict/pgsql.h"
#include "pgevict/pidfd.h"
#include "pgevict/procfs.h"
#include "pgevict/sha256.h"

#define PROBE_USER "pgevict_probe"
#define PROBE_DB "pgevict_probe"
#define PROOF_TIMEOUT_MS 5000

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* Words for the errors of file_read_at and file_resolve. */
static const char *file_err(int r)
{
	if (r == -EINVAL)
		return "not a regular file (a FIFO, directory, device or socket?)";
	if (r == -EFBIG)
		return "larger than pgevict reads";
	if (r == -ELOOP)
		return "a symbolic link";
	return strerror(-r);
}

/* Everything one run works on. */
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
	json_object_put(k->notes);
}

/* Discover, pick the one cluster, find its pg_hba.conf.  0 or an exit status. */
static int collect(struct lk *k, const struct options *o)
{
	int r;

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
	{
		int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = proc < 0 ? -errno : procfs_open_root(proc, k->c->pid, k->c->start_ticks, &k->rootfd);
		if (proc >= 0)
			close(proc);
		if (r < 0) {
			say("cannot reach the files of the postmaster (pid %d): %s", (int)k->c->pid,
			    r == -ESRCH ? "it has exited" : strerror(-r));
			return 1;
		}
	}
	if (!(k->key = cluster_state_key(k->c))) {
		say("out of memory");
		return 1;
	}
	/* The file as named (never through realpath: a link is followed only
	 * by resolve_hba, when nobody but root can change it). */
	if (o->hba_file)
		k->hba_path = strdup(o->hba_file);
	else if (k->c->hba_file)
		k->hba_path = strdup(k->c->hba_file);
	else if (asprintf(&k->hba_path, "%s/pg_hba.conf", k->c->data_dir) < 0)
		k->hba_path = NULL;
	if (!k->hba_path) {
		say("out of memory");
		return 1;
	}
	return 0;
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

	if (k->hba_dirfd >= 0)
		close(k->hba_dirfd);
	k->hba_dirfd = -1;
	free(k->hba_name);
	k->hba_name = NULL;
	r = file_resolve_in(k->rootfd, k->hba_path, &k->hba_dirfd, &k->hba_name, &bad, &bad_uid);
	if (r == 0 && fstat(k->hba_dirfd, &k->hba_dir_st) < 0)
		r = -errno;
	k->hba_err = r;
	if (r == -ELOOP && quiet_loop) {
		free(bad);
		return 0;            /* same_hba_dir says what happened */
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

/* Is the directory resolved now the one the lockdown wrote through?
 * Says what happened when not.  0 or 1. */
static int same_hba_dir(struct lk *k)
{
	if (!k->st.hba_dir_known)
		return 0;            /* a state from before 0.2: nothing to compare */
	if (k->hba_err == 0 && k->hba_dir_st.st_dev == k->st.hba_dir_dev && k->hba_dir_st.st_ino == k->st.hba_dir_ino)
		return 0;
	say("the directory of '%s' is not the one locked down (it was replaced): restore it, or put back the "
	    "saved original by hand from '%s/original'", k->hba_path, k->dir.path);
	return 1;
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

static int read_current(struct lk *k)
{
	free(k->cur);
	k->cur = NULL;
	k->cur_len = 0;
	k->cur_sha[0] = '\0';
	k->cur_err = k->hba_dirfd < 0 ? (k->hba_err ? k->hba_err : -EBADF)
				       : file_read_at(k->hba_dirfd, k->hba_name, 0, &k->cur, &k->cur_len, &k->cur_st);
	if (k->cur_err == 0)
		sha256_hex(k->cur, k->cur_len, k->cur_sha);
	return k->cur_err;
}

static int open_dir(struct lk *k, bool create, bool exclusive, bool *busy)
{
	const char *root = k->o->state_dir ? k->o->state_dir : LOCKSTATE_DEFAULT_DIR;
	int r = lockdir_open(root, k->key, create, exclusive, &k->dir, busy);

	if (r == -EAGAIN) {
		say("another pgevict lockdown or unlock is running for '%s'", k->key);
		return 1;
	}
	if (r == -ENOENT && !create)
		return 0;
	if (r < 0) {
		say("cannot use the state directory '%s': %s", root, strerror(-r));
		return 1;
	}
	r = lockstate_load(&k->dir, &k->st);
	if (r == 0) {
		k->have_state = true;
		/* state per cluster, never shared: a record of another data
		 * directory or another file is never used */
		if (strcmp(k->st.data_dir, k->key) != 0) {
			say("'%s/state.json' is the state of the data directory '%s', not of '%s'; it is left as it is",
			    k->dir.path, k->st.data_dir, k->key);
			return 1;
		}
		if (k->c->hba_conflict && !k->o->hba_file && *k->st.hba_file) {
			/* discovery cannot tell which file is in force: the
			 * one root recorded writing is the one to work on */
			free(k->hba_path);
			if (!(k->hba_path = strdup(k->st.hba_file))) {
				say("out of memory");
				return 1;
			}
		}
		if (*k->st.hba_file && strcmp(k->st.hba_file, k->hba_path) != 0) {
			say("the lockdown recorded in '%s' is of '%s', but this cluster's pg_hba.conf is '%s': "
			    "name the recorded one with --hba-file '%s' (or put the original back by hand from "
			    "'%s/original')", k->dir.path, k->st.hba_file, k->hba_path, k->st.hba_file, k->dir.path);
			return EXIT_USAGE;
		}
	} else if (r == -EINVAL) {
		say("'%s/state.json' is damaged; it is left as it is for you to read", k->dir.path);
		return 1;
	} else if (r != -ENOENT) {
		say("cannot read '%s/state.json': %s", k->dir.path, strerror(-r));
		return 1;
	}
	return 0;
}

/* Config managers rewrite pg_hba.conf behind our back. */
static void warn_managers(struct lk *k)
{
	static const char *const comms[] = { "patroni", "puppet", "chef-client", "salt-minion",
					     "ansible-pull", "cf-agent", "cf-execd", "confd" };
	static const char *const marks[] = { "patroni", "puppet", "ansible managed", "chef", "salt" };
	char name[64];
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t i;

	if (proc >= 0 && procfs_find_comm(proc, comms, sizeof(comms) / sizeof(comms[0]), name, sizeof(name)) == 1)
		note(k, "warning: '%s' is running: a configuration manager may rewrite '%s' and undo the lockdown",
		     name, k->hba_path);
	if (proc >= 0)
		close(proc);
	if (!k->cur)
		return;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t n = strlen(marks[i]), j;
		for (j = 0; j + n <= k->cur_len && j < 4096; j++)
			if (strncasecmp(k->cur + j, marks[i], n) == 0) {
				note(k, "warning: '%s' says it is managed by %s: it may be rewritten and undo the lockdown",
				     k->hba_path, marks[i]);
				return;
			}
	}
}

/* Where the probe connects: an address the cluster listens on ("" = the
 * Unix socket). */
static void probe_tcp_host(const struct pg_cluster *c, char *out, size_t len)
{
	const char *l = c->listen_addr;

	if (!l || !*l)
		snprintf(out, len, "%s", "");
	else if (strcmp(l, "*") == 0 || strcmp(l, "0.0.0.0") == 0 || strcmp(l, "localhost") == 0)
		snprintf(out, len, "127.0.0.1");
	else if (strcmp(l, "::") == 0)
		snprintf(out, len, "::1");
	else
		snprintf(out, len, "%s", l);
}

static enum hba_verdict judge(const struct hba_file *f, const char *host, const char *user, bool local)
{
	struct hba_conn c = { local, local ? NULL : host, user, PROBE_DB, false, 0 };

	return hba_eval(f, &c, NULL);
}

/* SIGHUP to the postmaster through a pidfd (no connection slot needed);
 * pg_reload_conf() when that is refused (a kernel without pidfd_open). */
static int reload(struct lk *k)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, r;
	PGconn *conn = NULL;
	char *err = NULL;

	if (proc < 0)
		return -errno;
	fd = pidfd_open_verified(proc, k->c->pid, k->c->start_ticks);
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
	if (pgsql_connect(k->c, k->o->dsn, &conn, &err) == 0 && pgsql_reload_conf(conn) == 0)
		r = 0;
	free(err);
	pgsql_close(conn);
	return r;
}

/*
 * Probe until WANT(result) holds or the time is up.  Returns the last
 * result; *RET_MS the time it took; *RET_MSG PostgreSQL's words.
 */
static enum probe_result wait_probe(struct lk *k, const char *host, const char *user, bool as_owner,
				    bool (*want)(enum probe_result, int), int arg, long long *ret_ms,
				    char **ret_msg)
{
	long long t0 = mono_ms(), deadline = t0 + PROOF_TIMEOUT_MS;
	enum probe_result r;

	for (;;) {
		free(*ret_msg);
		*ret_msg = NULL;
		r = pgsql_probe(k->c, *host ? host : NULL, user, PROBE_DB, as_owner, ret_msg);
		if (want(r, arg) || r == PROBE_SLOTS || mono_ms() >= deadline)
			break;
		usleep(10000);
	}
	*ret_ms = mono_ms() - t0;
	return r;
}

static bool want_reject(enum probe_result r, int arg)
{
	(void)arg;
	return r == PROBE_HBA_REJECT;
}

static bool want_not_reject(enum probe_result r, int arg)
{
	(void)arg;
	return r != PROBE_HBA_REJECT;
}

static bool want_same(enum probe_result r, int before)
{
	return (int)r == before;
}

/* Write pg_hba.conf through the directory fd, as its owner. */
static int write_hba(struct lk *k, const char *data, size_t len)
{
	if (k->hba_dirfd < 0)
		return k->hba_err ? k->hba_err : -EBADF;
	return file_replace_at(k->hba_dirfd, k->hba_name, data, len, k->st.mode, k->st.uid, k->st.gid);
}

static int restore_original(struct lk *k, const char *orig, size_t len)
{
	return write_hba(k, orig, len);
}

static char *header_text(const struct lk *k, const char *when)
{
	char *h;

	if (asprintf(&h,
		     "# pg_hba.conf written by pgevict lockdown at %s.\n"
		     "# The original is kept in %s/original; `pgevict unlock` puts it back.\n"
		     "# Do not edit: unlock restores the original, not this file.\n",
		     when, k->dir.path) < 0)
		return NULL;
	return h;
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

/* The lockdown file from the original and every --allow-* so far. */
static int make_lockdown(struct lk *k, const char *orig, size_t orig_len, char **ret, struct hba_file *ret_parsed)
{
	struct hba_file of = { 0 };
	struct hba_error e;
	struct cidr *nets = NULL;
	struct hba_lockdown_opts lo = { 0 };
	char when[64], *hdr = NULL, *text = NULL, *notes = NULL, *p, *nl;
	bool need_orig = k->st.nallow_roles || k->st.nallow_hosts || !k->st.total;
	size_t i;
	int r, status = 1;

	if (need_orig && hba_parse(orig, orig_len, &of, &e) < 0) {
		if (k->st.nallow_roles || k->st.nallow_hosts) {
			say("cannot read '%s' line %d: %s; --allow-* needs its rules", k->hba_path, e.lineno, e.what);
			status = EXIT_USAGE;
			goto out;
		}
		note(k, "'%s' line %d: %s; standbys' lines cannot be kept", k->hba_path, e.lineno, e.what);
		need_orig = false;
	}
	nets = calloc(k->st.nallow_hosts + 1, sizeof(*nets));
	if (!nets)
		goto oom;
	for (i = 0; i < k->st.nallow_hosts; i++)
		cidr_parse(k->st.allow_hosts[i], &nets[i]);
	out_time_rfc3339(k->st.since_us, when, sizeof(when));
	if (!(hdr = header_text(k, when)))
		goto oom;
	lo.owner = k->c->owner_name;
	lo.total = k->st.total;
	lo.roles = (const char *const *)k->st.allow_roles;
	lo.nroles = k->st.nallow_roles;
	lo.hosts = nets;
	lo.nhosts = k->st.nallow_hosts;
	lo.header = hdr;
	r = hba_lockdown(need_orig ? &of : NULL, &lo, &text, &notes);
	if (r == -EINVAL) {
		say("the cluster owner '%s' or a role cannot be written into pg_hba.conf",
		    k->c->owner_name ? k->c->owner_name : "?");
		status = EXIT_USAGE;
		goto out;
	}
	if (r < 0)
		goto oom;
	for (p = notes; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		note(k, "%s", p);
	}
	/* Never write what we could not read back. */
	if (hba_parse(text, strlen(text), ret_parsed, &e) < 0) {
		say("internal error: the lockdown file does not parse (line %d: %s); nothing was changed", e.lineno,
		    e.what);
		goto out;
	}
	*ret = text;
	text = NULL;
	status = 0;
	goto out;
oom:
	say("out of memory");
out:
	hba_file_free(&of);
	free(nets);
	free(hdr);
	free(text);
	free(notes);
	return status;
}

/* Sessions of the cluster the lockdown file refuses. */
static size_t kick_list(struct lk *k, const struct hba_file *f, const struct session ***ret)
{
	size_t i, n = 0, unknown = 0;
	const struct session **v = calloc(k->d.sessions.n + 1, sizeof(*v));

	*ret = v;
	if (!v)
		return 0;
	for (i = 0; i < k->d.sessions.n; i++) {
		const struct session *s = &k->d.sessions.v[i];
		struct hba_conn c = { 0 };
		enum hba_verdict verdict;

		if (s->cluster != k->c || !s->is_client || !s->backend_type ||
		    strcmp(s->backend_type, "client backend") != 0)
			continue;
		c.local = s->transport == TRANSPORT_UNIX;
		c.addr = s->client_addr[0] ? s->client_addr : NULL;
		c.user = s->user;
		c.database = s->database;
		c.ssl = -1;
		if (!s->user || !s->database || (!c.local && !c.addr)) {
			unknown++;
			continue;
		}
		verdict = hba_eval(f, &c, NULL);
		if (verdict == HBA_REJECT || verdict == HBA_NO_ENTRY)
			v[n++] = s;
		else if (verdict == HBA_UNKNOWN)
			unknown++;
	}
	if (unknown)
		note(k, "%zu session(s) kept by --kick: whether the new rules refuse them depends on what pgevict cannot see",
		     unknown);
	return n;
}

/* End sessions through the ladder (terminate, with the run's --via and
 * --step-timeout), found afresh in the cluster: those of SES (by pid and
 * start time), or USER's, or DB's.  The exit status of the outcomes. */
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

static const char *file_kind(const struct lk *k)
{
	if (k->cur_err == -ENOENT)
		return "missing";
	if (k->cur_err < 0)
		return "unreadable";
	if (!k->have_state)
		return "original";
	if (strcmp(k->cur_sha, k->st.original_sha) == 0)
		return "original";
	if (k->st.file_locked && strcmp(k->cur_sha, k->st.lockdown_sha) == 0)
		return "lockdown";
	return "other";
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

/* Record, save, then ALTER: a crash between leaves a record unlock can
 * undo (setting a value to what it was is harmless). */
static int lock_objects(struct lk *k, PGconn *conn)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		const char **names = pass ? k->o->lock_dbs : k->o->lock_roles;
		size_t n = pass ? k->o->nlock_dbs : k->o->nlock_roles;

		for (i = 0; i < n; i++) {
			struct lock_item **v = pass ? &k->st.dbs : &k->st.roles;
			size_t *nv = pass ? &k->st.ndbs : &k->st.nroles;
			const char *what = pass ? "database" : "role";
			struct lock_item *it;
			char *err = NULL;
			bool was;
			int r;

			if (find_item(*v, *nv, names[i]))
				continue;
			r = pass ? pgsql_db_connections(conn, names[i], false, false, &was, &err)
				 : pgsql_role_login(conn, names[i], false, false, &was, &err);
			if (r == -ENOENT) {
				say("there is no %s '%s'", what, names[i]);
				return EXIT_USAGE;
			}
			if (r < 0) {
				say("cannot read %s '%s': %s", what, names[i], err ? err : strerror(-r));
				free(err);
				return 1;
			}
			if (add_item(v, nv, names[i], was) < 0 || lockstate_save(&k->dir, &k->st) < 0) {
				say("cannot record the %s lock in '%s'", what, k->dir.path);
				return 1;
			}
			it = &(*v)[*nv - 1];
			r = pass ? pgsql_db_connections(conn, names[i], false, true, &was, &err)
				 : pgsql_role_login(conn, names[i], false, true, &was, &err);
			if (r < 0) {
				say("cannot lock %s '%s': %s", what, names[i], err ? err : strerror(-r));
				free(err);
				return 1;
			}
			it->applied = true;
			syslog(LOG_NOTICE, "lockdown cluster=%s %s=%s %s", k->c->data_dir, what, names[i],
			       pass ? "ALLOW_CONNECTIONS false" : "NOLOGIN");
			if (lockstate_save(&k->dir, &k->st) < 0) {
				say("cannot record the %s lock in '%s'", what, k->dir.path);
				return 1;
			}
		}
	}
	return 0;
}

/* Undo the ALTERs (only where the value was true before). */
static int unlock_objects(struct lk *k)
{
	PGconn *conn = NULL;
	char *err = NULL;
	size_t i;
	int pass, status = 0;

	if (k->st.nroles == 0 && k->st.ndbs == 0)
		return 0;
	if (pgsql_connect(k->c, k->o->dsn, &conn, &err) < 0) {
		say("cannot connect to undo the role and database locks: %s", err ? err : "?");
		free(err);
		return 1;
	}
	for (pass = 0; pass < 2; pass++) {
		struct lock_item *v = pass ? k->st.dbs : k->st.roles;
		size_t n = pass ? k->st.ndbs : k->st.nroles;

		for (i = 0; i < n; i++) {
			bool was;
			int r;

			if (!v[i].was)
				continue;        /* it was locked before us: leave it */
			r = pass ? pgsql_db_connections(conn, v[i].name, true, true, &was, &err)
				 : pgsql_role_login(conn, v[i].name, true, true, &was, &err);
			if (r == -ENOENT) {
				note(k, "%s '%s' no longer exists", pass ? "database" : "role", v[i].name);
				continue;
			}
			if (r < 0) {
				say("cannot unlock %s '%s': %s", pass ? "database" : "role", v[i].name,
				    err ? err : strerror(-r));
				free(err);
				err = NULL;
				status = 1;
				continue;
			}
			syslog(LOG_NOTICE, "unlock cluster=%s %s=%s", k->c->data_dir, pass ? "database" : "role",
			       v[i].name);
		}
	}
	pgsql_close(conn);
	return status;
}

/* ---- lockdown ---- */

static void print_result(struct lk *k, const char *action, bool ok, const char *proof_host, const char *proof,
			 long long ms, const char *owner_access)
{
	char when[64];

	out_time_rfc3339(k->st.since_us, when, sizeof(when));
	if (k->o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "action", json_object_new_string(action));
		json_object_object_add(j, "cluster", json_object_new_string(k->c->data_dir));
		json_object_object_add(j, "port", json_object_new_int(k->c->port));
		json_object_object_add(j, "hba_file", json_object_new_string(k->hba_path));
		json_object_object_add(j, "ok", json_object_new_boolean(ok));
		json_object_object_add(j, "options", lockstate_options_json(&k->st));
		json_object_object_add(j, "probe", out_json_str(proof));
		json_object_object_add(j, "probe_transport",
				       proof ? json_object_new_string(*proof_host ? "tcp" : "unix") : NULL);
		json_object_object_add(j, "proof_ms", proof ? json_object_new_int64(ms) : NULL);
		json_object_object_add(j, "owner_access", out_json_str(owner_access));
		json_object_object_add(j, "state_dir", out_json_str(k->dir.path));
		json_object_object_add(j, "notes", json_object_get(k->notes));
		out_json_line(j);
		json_object_put(j);
		return;
	}
	if (!proof)
		return;
	printf("%s %s: %s\n", action, ok ? "proven" : "NOT proven", T(k->hba_path));
	printf("  probe as \"%s\" over %s%s: %s after %lld ms\n", PROBE_USER, *proof_host ? "TCP " : "the Unix socket",
	       T(proof_host), proof, ms);
	if (owner_access)
		printf("  owner \"%s\" over the Unix socket: %s\n", T(k->c->owner_name ? k->c->owner_name : "?"),
		       owner_access);
}

static int do_lockdown(struct lk *k)
{
	const struct options *o = k->o;
	bool file_wanted = (!o->nlock_roles && !o->nlock_dbs) || o->total || o->nallow_roles || o->nallow_hosts;
	char *orig = NULL, *text = NULL, *msg = NULL, *err = NULL;
	size_t orig_len = 0;
	struct hba_file lf = { 0 };
	PGconn *conn = NULL;
	const struct session **kicks = NULL;
	size_t nkicks = 0;
	char host[64] = "", sha[SHA256_HEX_LEN];
	const char *owner_access = NULL;
	enum probe_result pr = PROBE_OTHER;
	long long ms = 0;
	struct lockstate prev = { 0 };
	bool fresh, changed = false, saved = false, prev_ok = false;
	int status = 1, r;

	if (o->total && (o->nallow_roles || o->nallow_hosts)) {
		say("--total refuses everyone; it cannot be combined with --allow-role or --allow-host");
		return EXIT_USAGE;
	}
	/* Without SQL the places that name hba_file disagree: which file
	 * PostgreSQL reads is not known, and one of them may be staged by
	 * someone who wants root to write elsewhere. */
	if (k->c->hba_conflict && !o->hba_file) {
		say("%s; name the file PostgreSQL reads with --hba-file PATH (or let pgevict ask it: drop --no-sql)",
		    k->c->hba_conflict);
		return EXIT_USAGE;
	}
	if ((status = open_dir(k, !o->dry_run, !o->dry_run, NULL)) != 0)
		return status;
	if ((status = resolve_hba(k, false)) != 0)
		return status;
	status = 1;
	fresh = !k->have_state;
	if (!fresh && k->st.file_locked && same_hba_dir(k) != 0)
		goto out;
	if (!fresh && !o->dry_run)
		prev_ok = lockstate_load(&k->dir, &prev) == 0;   /* the record to go back to */
	if (read_current(k) < 0 && (file_wanted || k->cur_err != -ENOENT)) {
		say("cannot read '%s': %s", k->hba_path, file_err(k->cur_err));
		goto out;
	}
	warn_managers(k);

	/* The original: the saved one when a lockdown is already in place. */
	if (!fresh && k->st.file_locked) {
		if ((r = lockstate_read_original(&k->dir, &orig, &orig_len)) < 0) {
			say("cannot read the saved original in '%s': %s", k->dir.path, strerror(-r));
			goto out;
		}
		sha256_hex(orig, orig_len, sha);
		if (strcmp(sha, k->st.original_sha) != 0) {
			say("the saved original in '%s' does not match its checksum; nothing was changed", k->dir.path);
			goto out;
		}
	} else if (k->cur) {
		orig = malloc(k->cur_len + 1);
		if (!orig)
			goto oom;
		memcpy(orig, k->cur, k->cur_len);
		orig_len = k->cur_len;
	}
	if (fresh) {
		k->st.since_us = now_us();
		k->st.data_dir = strdup(k->key);
		k->st.hba_file = strdup(k->hba_path);
		if (!k->st.data_dir || !k->st.hba_file)
			goto oom;
		k->st.mode = k->cur_st.st_mode & 07777;
		k->st.uid = k->cur_st.st_uid;
		k->st.gid = k->cur_st.st_gid;
		if (k->hba_dirfd >= 0) {
			k->st.hba_dir_known = true;
			k->st.hba_dir_dev = k->hba_dir_st.st_dev;
			k->st.hba_dir_ino = k->hba_dir_st.st_ino;
		}
		sha256_hex(orig ? orig : "", orig_len, k->st.original_sha);
		k->st.probe_before = -1;
	}
	if (file_wanted) {
		if (o->total)
			k->st.total = true;
		if (add_strs(&k->st.allow_roles, &k->st.nallow_roles, o->allow_roles, o->nallow_roles) < 0 ||
		    add_strs(&k->st.allow_hosts, &k->st.nallow_hosts, o->allow_hosts, o->nallow_hosts) < 0)
			goto oom;
		if ((status = make_lockdown(k, orig, orig_len, &text, &lf)) != 0)
			goto out;
		status = 1;
		/* The probe: TCP where the cluster listens, else (or when an
		 * --allow-host lets it in) the Unix socket. */
		probe_tcp_host(k->c, host, sizeof(host));
		if (*host && judge(&lf, host, PROBE_USER, false) != HBA_REJECT)
			host[0] = '\0';
		if (!*host && judge(&lf, NULL, PROBE_USER, true) != HBA_REJECT) {
			say("no probe can prove this lockdown (every way in is allowed); nothing was changed");
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (o->dry_run) {
		if (file_wanted && !o->json)
			print_lines(text);
		if (o->kick && file_wanted) {
			nkicks = kick_list(k, &lf, &kicks);
			if (!o->json)
				printf("# --kick would end %zu session(s)\n", nkicks);
		}
		if (o->json) {
			json_object *j = json_object_new_object();
			json_object_object_add(j, "action", json_object_new_string("lockdown"));
			json_object_object_add(j, "dry_run", json_object_new_boolean(true));
			json_object_object_add(j, "hba_file", json_object_new_string(k->hba_path));
			json_object_object_add(j, "content", out_json_str(text));
			json_object_object_add(j, "kick", json_object_new_int((int)nkicks));
			json_object_object_add(j, "notes", json_object_get(k->notes));
			out_json_line(j);
			json_object_put(j);
		}
		status = 0;
		goto out;
	}

	/* --role/--database: SQL must work and the names must exist before
	 * anything is changed. */
	if (o->nlock_roles || o->nlock_dbs) {
		size_t i;
		bool was;

		for (i = 0; i < o->nlock_roles; i++)
			if (k->c->owner_name && strcmp(o->lock_roles[i], k->c->owner_name) == 0) {
				say("refusing to lock out the cluster owner '%s'", o->lock_roles[i]);
				status = EXIT_USAGE;
				goto out;
			}
		if (pgsql_connect(k->c, o->dsn, &conn, &err) < 0) {
			say("--role and --database need SQL: %s", err ? err : "?");
			goto out;
		}
		for (i = 0; i < o->nlock_roles + o->nlock_dbs; i++) {
			bool db = i >= o->nlock_roles;
			const char *name = db ? o->lock_dbs[i - o->nlock_roles] : o->lock_roles[i];

			r = db ? pgsql_db_connections(conn, name, false, false, &was, &err)
			       : pgsql_role_login(conn, name, false, false, &was, &err);
			if (r == -ENOENT) {
				say("there is no %s '%s'; nothing was changed", db ? "database" : "role", name);
				status = EXIT_USAGE;
				goto out;
			}
			if (r < 0) {
				say("cannot read %s '%s': %s", db ? "database" : "role", name, err ? err : "?");
				goto out;
			}
		}
	}

	openlog("pgevict", LOG_PID, LOG_DAEMON);
	/* 1. the original, then the record */
	if (file_wanted) {
		if (fresh || !k->st.file_locked) {
			if ((r = lockstate_save_original(&k->dir, orig ? orig : "", orig_len)) < 0) {
				say("cannot save the original in '%s': %s; nothing was changed", k->dir.path, strerror(-r));
				goto out;
			}
			/* the before-picture of the probe, for unlock's proof */
			k->st.probe_before = (int)pgsql_probe(k->c, *host ? host : NULL, PROBE_USER, PROBE_DB, false, NULL);
		}
		snprintf(k->st.probe_host, sizeof(k->st.probe_host), "%s", host);
		sha256_hex(text, strlen(text), k->st.lockdown_sha);
		k->st.file_locked = true;
	}
	snprintf(k->st.phase, sizeof(k->st.phase), "locking");
	k->st.proven = false;
	if ((r = lockstate_save(&k->dir, &k->st)) < 0) {
		say("cannot write '%s/state.json': %s; nothing was changed", k->dir.path, strerror(-r));
		goto out;
	}

	saved = true;

	/* 2. roles and databases */
	if (conn) {
		changed = true;
		if ((status = lock_objects(k, conn)) != 0)
			goto out;
		status = 1;
	}

	/* 3. the file */
	if (file_wanted && strcmp(k->cur_sha, k->st.lockdown_sha) != 0) {
		r = write_hba(k, text, strlen(text));
		if (r == 0)
			changed = true;
		if (r < 0) {
			say("cannot write '%s': %s; the original is unchanged", k->hba_path, strerror(-r));
			goto out;
		}
		syslog(LOG_NOTICE, "lockdown cluster=%s file=%s sha256=%s original=%s/original", k->c->data_dir,
		       k->hba_path, k->st.lockdown_sha, k->dir.path);
		if (conn || pgsql_connect(k->c, o->dsn, &conn, &err) == 0) {
			char *why = NULL;
			if (pgsql_hba_errors(conn, &why) == 1) {
				say("PostgreSQL would not load the lockdown file (%s); putting back what was there",
				    why ? why : "");
				free(why);
				goto rollback;
			}
			free(why);
		}
	}
	pgsql_close(conn);
	conn = NULL;

	/* 4. reload, 5. prove */
	if (file_wanted) {
		if ((r = reload(k)) < 0) {
			say("cannot signal the postmaster (pid %d): %s", (int)k->c->pid, strerror(-r));
			goto rollback;
		}
		pr = wait_probe(k, host, PROBE_USER, false, want_reject, 0, &ms, &msg);
		if (pr == PROBE_SLOTS) {
			note(k, "every connection slot is taken: PostgreSQL answers that before it reads pg_hba.conf");
			if (o->kick) {
				nkicks = kick_list(k, &lf, &kicks);
				kick(k, kicks, nkicks, NULL, NULL);
				free(kicks);
				kicks = NULL;
				pr = wait_probe(k, host, PROBE_USER, false, want_reject, 0, &ms, &msg);
			}
		}
		if (pr == PROBE_SLOTS) {
			say("the lockdown is in place but NOT proven: no connection slot to probe with (use --kick)");
			snprintf(k->st.phase, sizeof(k->st.phase), "locked");
			lockstate_save(&k->dir, &k->st);
			print_result(k, "lockdown", false, host, probe_result_name(pr), ms, NULL);
			goto out;
		}
		if (pr != PROBE_HBA_REJECT) {
			say("the probe was not refused after %lld ms (%s: %s): PostgreSQL did not load the new rules; "
			    "putting back what was there", ms, probe_result_name(pr), msg ? msg : "");
			goto rollback;
		}
		if (k->st.total) {
			free(msg);
			msg = NULL;
			r = pgsql_probe(k->c, NULL, k->c->owner_name ? k->c->owner_name : "postgres", PROBE_DB, true, &msg);
			owner_access = probe_result_name(r);
			if (r != PROBE_HBA_REJECT) {
				say("--total: the owner still got in over the Unix socket (%s); putting back what was there",
				    owner_access);
				goto rollback;
			}
		} else {
			free(msg);
			msg = NULL;
			r = pgsql_probe(k->c, NULL, k->c->owner_name ? k->c->owner_name : "postgres", PROBE_DB, true, &msg);
			owner_access = probe_result_name(r);
			if (r == PROBE_HBA_REJECT || r == PROBE_NO_ENTRY) {
				say("the owner would be locked out (%s); putting back what was there", owner_access);
				goto rollback;
			}
		}
		k->st.proven = true;
	}

	/* 6. locked */
	snprintf(k->st.phase, sizeof(k->st.phase), "locked");
	if ((r = lockstate_save(&k->dir, &k->st)) < 0)
		say("cannot write '%s/state.json': %s (the lockdown is in force)", k->dir.path, strerror(-r));
	print_result(k, "lockdown", true, host, file_wanted ? probe_result_name(pr) : NULL, ms, owner_access);
	status = 0;
	if (o->kick && file_wanted) {
		free(kicks);
		nkicks = kick_list(k, &lf, &kicks);
		if (nkicks && kick(k, kicks, nkicks, NULL, NULL) != 0)
			status = 1;
	}
	if (o->kick) {
		size_t i;
		for (i = 0; i < o->nlock_roles; i++)
			if (kick(k, NULL, 0, o->lock_roles[i], NULL) != 0)
				status = 1;
		for (i = 0; i < o->nlock_dbs; i++)
			if (kick(k, NULL, 0, NULL, o->lock_dbs[i]) != 0)
				status = 1;
	} else {
		size_t i;
		for (i = 0; i < o->nlock_roles; i++)   /* NOLOGIN means out: end their sessions */
			if (kick(k, NULL, 0, o->lock_roles[i], NULL) != 0)
				status = 1;
	}
	goto out;

rollback:
	/* Put back what was on disk before this run (the original, or the
	 * previous lockdown file), reload, and the record as it was. */
	if ((r = write_hba(k, k->cur ? k->cur : "", k->cur_len)) < 0) {
		say("cannot put back '%s' (%s): run `pgevict unlock`", k->hba_path, strerror(-r));
		goto out;
	}
	reload(k);
	if (fresh && k->st.nroles == 0 && k->st.ndbs == 0) {
		lockstate_remove(&k->dir);
	} else if (fresh) {
		k->st.file_locked = false;
		snprintf(k->st.phase, sizeof(k->st.phase), "locked");
		lockstate_save(&k->dir, &k->st);
	} else if (prev_ok) {
		lockstate_save(&k->dir, &prev);
	}
	say("'%s' is back as it was before this run", k->hba_path);
	print_result(k, "lockdown", false, host, probe_result_name(pr), ms, owner_access);
	goto out;
oom:
	say("out of memory");
out:
	/* A first lockdown that failed before changing anything leaves no
	 * record behind. */
	if (status != 0 && fresh && saved && !changed && k->dir.lock_fd >= 0)
		lockstate_remove(&k->dir);
	pgsql_close(conn);
	free(err);
	free(msg);
	free(kicks);
	free(orig);
	free(text);
	hba_file_free(&lf);
	lockstate_clear(&prev);
	return status;
}

int cmd_lockdown(const struct options *o)
{
	return with_cluster(o, do_lockdown);
}

/* ---- unlock ---- */

/* Does PostgreSQL report an error in the file on disk?  Says so. */
static bool broken_original(struct lk *k)
{
	PGconn *conn = NULL;
	char *err = NULL;
	bool broken = false;

	if (pgsql_connect(k->c, k->o->dsn, &conn, &err) == 0 && pgsql_hba_errors(conn, &err) == 1) {
		say("the original '%s' is back byte for byte, but PostgreSQL cannot load it (%s): "
		    "the lockdown rules stay in force until you fix the file and reload", k->hba_path, err ? err : "");
		broken = true;
	}
	free(err);
	pgsql_close(conn);
	return broken;
}

static int do_unlock(struct lk *k)
{
	char *orig = NULL, *msg = NULL, *kept = NULL, sha[SHA256_HEX_LEN];
	size_t orig_len = 0;
	enum probe_result pr = PROBE_OTHER;
	long long ms = 0;
	int status = 1, r;

	if ((status = open_dir(k, false, true, NULL)) != 0)
		return status;
	status = 1;
	if (!k->have_state) {
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
		return 0;
	}
	/* the directory written through, before anything is changed */
	if (k->st.file_locked) {
		if ((status = resolve_hba(k, k->st.hba_dir_known)) != 0)
			return status;
		if (same_hba_dir(k) != 0)
			return 1;
		status = 1;
	}
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	snprintf(k->st.phase, sizeof(k->st.phase), "unlocking");
	if ((r = lockstate_save(&k->dir, &k->st)) < 0) {
		say("cannot write '%s/state.json': %s", k->dir.path, strerror(-r));
		return 1;
	}
	if (k->st.file_locked) {
		if ((r = lockstate_read_original(&k->dir, &orig, &orig_len)) < 0) {
			say("cannot read the saved original in '%s': %s", k->dir.path, strerror(-r));
			goto out;
		}
		sha256_hex(orig, orig_len, sha);
		if (strcmp(sha, k->st.original_sha) != 0) {
			say("the saved original in '%s' does not match its checksum; '%s' is left as it is",
			    k->dir.path, k->st.hba_file);
			goto out;
		}
		read_current(k);        /* where we wrote: open_dir checked it is the cluster's */
		if (k->cur_err == 0 && strcmp(k->cur_sha, k->st.original_sha) != 0 &&
		    strcmp(k->cur_sha, k->st.lockdown_sha) != 0) {
			if ((r = lockstate_keep_displaced(&k->dir, k->cur, k->cur_len, &kept)) < 0) {
				say("'%s' was changed by someone else and cannot be kept aside: %s; left as it is",
				    k->hba_path, strerror(-r));
				goto out;
			}
			note(k, "'%s' was changed by someone else during the lockdown; that version is kept in '%s'",
			     k->hba_path, kept);
		}
		if (k->cur_err != 0 || strcmp(k->cur_sha, k->st.original_sha) != 0) {
			if ((r = restore_original(k, orig, orig_len)) < 0) {
				say("cannot write '%s': %s", k->hba_path, strerror(-r));
				goto out;
			}
			syslog(LOG_NOTICE, "unlock cluster=%s file=%s sha256=%s", k->c->data_dir, k->hba_path,
			       k->st.original_sha);
		}
		if ((r = reload(k)) < 0) {
			say("cannot signal the postmaster (pid %d): %s", (int)k->c->pid, strerror(-r));
			goto out;
		}
		/* An original PostgreSQL cannot load (it was broken before the
		 * lockdown) is still the original: it is back byte for byte,
		 * the record is cleared so that nobody's fix is ever replaced
		 * by it again, and the operator hears why the lockdown rules
		 * stay in force. */
		if (broken_original(k)) {
			lockstate_remove(&k->dir);
			goto out;
		}
		/* The probe must get what it got before the lockdown. */
		if (k->st.probe_before >= 0 && k->st.probe_before != PROBE_HBA_REJECT &&
		    k->st.probe_before != PROBE_SLOTS && k->st.probe_before != PROBE_UNREACHABLE)
			pr = wait_probe(k, k->st.probe_host, PROBE_USER, false, want_same, k->st.probe_before, &ms, &msg);
		else
			pr = wait_probe(k, k->st.probe_host, PROBE_USER, false, want_not_reject, 0, &ms, &msg);
		if (pr == PROBE_HBA_REJECT) {
			say("the original is on disk but PostgreSQL still refuses after %lld ms; see its log", ms);
			print_result(k, "unlock", false, k->st.probe_host, probe_result_name(pr), ms, NULL);
			goto out;
		}
		/* Byte for byte, as it was. */
		read_current(k);
		if (k->cur_err != 0 || strcmp(k->cur_sha, k->st.original_sha) != 0) {
			say("'%s' changed again while unlocking; run `pgevict unlock` again", k->hba_path);
			goto out;
		}
	}
	if ((status = unlock_objects(k)) != 0)
		goto out;
	status = 1;
	if ((r = lockstate_remove(&k->dir)) < 0) {
		say("cannot clear '%s': %s", k->dir.path, strerror(-r));
		goto out;
	}
	{
		char *own = NULL;
		r = pgsql_probe(k->c, NULL, k->c->owner_name ? k->c->owner_name : "postgres", PROBE_DB, true, &own);
		free(own);
		print_result(k, "unlock", true, k->st.probe_host, k->st.file_locked ? probe_result_name(pr) : NULL, ms,
			     probe_result_name(r));
	}
	status = 0;
out:
	free(orig);
	free(msg);
	free(kept);
	return status;
}

int cmd_unlock(const struct options *o)
{
	return with_cluster(o, do_unlock);
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
		say("cannot read '%s': %s", k->hba_path, file_err(k->cur_err));
		return 1;
	}
	kind = file_kind(k);
	if (k->have_state) {
		snprintf(host, sizeof(host), "%s", k->st.probe_host);
		out_time_rfc3339(k->st.since_us, when, sizeof(when));
	} else {
		probe_tcp_host(k->c, host, sizeof(host));
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
