/*
 * cmd_agent.c -- `pgevict agent --rules DIR`: the sidecar.
 *
 * Owns the loop: load the rule files (rules.h), then pass after pass
 * discover, time the states SQL did not time (track.h), and for each rule
 * in order plan (ladder_plan), keep the oldest (rules_keep) and apply
 * (evict_apply), reporting every action: syslog always (evict_apply's
 * step and outcome lines, tagged with the rule), and one line per session
 * on stdout, JSON Lines with --json.  A session acted on by one rule is
 * left alone by the later rules of the same pass.
 *
 * Between full passes, cheap ones: each postmaster's children (one read
 * of /proc/PID/task/PID/children, and only when the postmaster ran since:
 * only it forks them), each child's CPU time through a kept
 * /proc/PID/schedstat fd, and the title only of those that ran since; if
 * no rule could match any session once everything is known
 * (rules_may_match), the full pass is skipped.  A full pass runs at least
 * every FULL_EVERY_MS, which also finds new clusters.
 *
 * Signals are blocked and read from a signalfd between rules and between
 * passes, so nothing interrupts an action: SIGTERM and SIGINT stop after
 * the rule in flight (exit 0), SIGHUP reloads the rules (a bad file keeps
 * the old ones, and says so).  A wait on a server is no action: the
 * signalfd also wakes pgsql's waits (pgsql_set_interrupt), so SIGTERM or
 * SIGINT ends one at once, and a pass that was discovering acts no more.
 * Under systemd (NOTIFY_SOCKET) it sends READY, RELOADING, STOPPING,
 * STATUS and, when WatchdogSec= is set, WATCHDOG every half period.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/fileio.h"
#include "pgevict/pgsql.h"
#include "pgevict/procfs.h"
#include "pgevict/rules.h"
#include "pgevict/title.h"
#include "pgevict/track.h"

#define RULE_FILE_MAX (1 << 20)
#define FULL_EVERY_MS 60000      /* a full pass at least this often */

/* A child of a postmaster seen by the cheap passes.  Its CPU time is read
 * through an fd kept open on /proc/PID/schedstat, which also pins the
 * process (a pid reused by another process fails through the old fd);
 * the title is read again only when the process ran since: a backend
 * that did not run cannot have changed it.  What the title says is kept. */
/* A postmaster seen by the cheap passes: a child is born only when the
 * postmaster runs (it forks), so while its CPU time stands still the
 * children are the ones already known. */
struct pmstate {
	pid_t pid;
	unsigned long long start_ticks;
	int fd;                      /* its /proc/PID/schedstat, kept */
	unsigned long long runtime;
	bool have, used;
};

struct dry_key {
	size_t rule;                 /* index in the rules (forgotten on reload) */
	pid_t pid;
	unsigned long long start_ticks;
};

static int dry_cmp(const void *pa, const void *pb)
{
	const struct dry_key *a = pa, *b = pb;

	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->start_ticks < b->start_ticks ? -1 : a->start_ticks > b->start_ticks;
}

struct qent {
	pid_t pid;
	pid_t pm;                    /* its postmaster */
	unsigned long long start_ticks;
	int fd;                      /* /proc/PID/schedstat, or -1 */
	unsigned long long runtime;  /* ns on the CPU, schedstat field 1 */
	bool parsed, client;
	char *user, *database;       /* NULL: unknown (ambiguous title) */
	const char *state;           /* static, or NULL */
	enum transport transport;
	char client_addr[INET6_ADDRSTRLEN];
};

struct agent {
	const struct options *o;
	struct rule_set rules;
	size_t nfiles;
	struct tracker track;
	int pfd;                     /* /proc */
	int sfd;                     /* signalfd */
	bool stop, reload;
	uint64_t wd_usec;            /* 0: no watchdog */
	long long wd_last_ms;
	unsigned long long passes, actions;
	char *sql_note;              /* the last SQL gaps reported */
	bool ambiguous;              /* --cluster matched more than one, reported */
	/* cheap passes: the last full discovery, and a title fd per child */
	struct discovery last;
	bool have_last;
	long long last_full_ms;
	struct qent *q;
	size_t nq;
	int64_t btime;
	long hz;
	unsigned long long quick_passes;
	struct pmstate *pm;
	size_t npm;
	/* --dry-run: what the previous pass planned, so that a plan that
	 * stands is reported once, not every pass */
	struct dry_key *dry_prev, *dry_cur;
	size_t ndry_prev, ndry_cur, capdry, capprev;
	/* --once: every outcome, for the exit status */
	enum outcome *outs;
	size_t nouts, capouts;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One message for the operator: stderr, and syslog when running.  The
 * whole line is escaped here, once: callers pass outside text as it is. */
static void say(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int prio, const char *fmt, ...)
{
	char buf[512], *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e = escape_term(buf);
	fprintf(stderr, "pgevict: %s\n", e ? e : "out of memory");
	syslog(prio, "%s", e ? e : "out of memory");
	free(e);
}

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/*
 * Rule files are trusted like sudoers: the directory and every file must
 * be owned by root, writable by no one else, and no symlink.  Why the
 * file or directory of stat ST is not (with the fix), or NULL if it is.
 */
static const char *untrusted(const struct stat *st, bool dir, const char **ret_fix)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		*ret_fix = "make it a regular file";
		return dir ? "not a directory" : "not a regular file";
	}
	if (st->st_uid != 0) {
		*ret_fix = "chown root it";
		return "not owned by root";
	}
	*ret_fix = "chmod go-w it";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH))
		return "writable by group and others";
	if (st->st_mode & S_IWGRP)
		return "writable by group";
	if (st->st_mode & S_IWOTH)
		return "writable by others";
	return NULL;
}

/* WHAT is "rule file", "rules directory" or "rules". */
static void refuse(int prio, const char *what, const char *path, const char *why, const char *fix)
{
	say(prio, "refusing %s '%s': %s (%s; %s must be owned by root and writable only by root)", what, path,
	    why, fix, strcmp(what, "rule file") == 0 ? "rule files" : "the rules directory and its files");
}

/*
 * Open NAME (relative to DIRFD) without following a symlink and without
 * blocking on a FIFO; its stat in *RET_ST.  An fd, or -errno (-ELOOP: a
 * symlink).
 */
static int open_nofollow(int dirfd, const char *name, struct stat *ret_st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The whole of the regular file open on FD (ST_SIZE bytes, at most MAX),
 * NUL-terminated, malloc'd.  0 or -errno (-EFBIG: too large). */
static int read_fd_all(int fd, off_t st_size, size_t max, char **ret, size_t *ret_len)
{
	char *buf;
	size_t len = 0, want;

	if (st_size < 0 || (size_t)st_size > max)
		return -EFBIG;
	want = (size_t)st_size;
	if (!(buf = malloc(want + 1)))
		return -ENOMEM;
	while (len < want) {
		ssize_t n = read(fd, buf + len, want - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Check, read and parse the rule file open on FD (stat ST; FILE: its
 * path, for messages) into *SET.  0, or 1 when it is bad (said). */
static int load_fd(int fd, const struct stat *st, const char *file, int prio, struct rule_set *set)
{
	struct rule_error err;
	const char *why, *fix;
	char *text = NULL;
	size_t len = 0;
	int r;

	if ((why = untrusted(st, false, &fix))) {
		refuse(prio, "rule file", file, why, fix);
		return 1;
	}
	r = read_fd_all(fd, st->st_size, RULE_FILE_MAX, &text, &len);
	if (r < 0) {
		say(prio, "cannot read rule file '%s': %s", file, strerror(-r));
		return 1;
	}
	r = rules_parse(file, text, len, set, &err);
	free(text);
	if (r < 0) {
		if (err.line > 0)
			say(prio, "%s:%d: %s", file, err.line, err.msg);
		else
			say(prio, "%s: %s", file, err.msg);
		return 1;
	}
	return 0;
}

/* The same for NAME in the directory DIRFD, opened without following a
 * link. */
static int load_file(int dirfd, const char *name, const char *file, int prio, struct rule_set *set)
{
	struct stat st;
	int fd, r;

	fd = open_nofollow(dirfd, name, &st);
	if (fd == -ELOOP) {
		refuse(prio, "rule file", file, "a symlink", "replace the link with the file itself");
		return 1;
	}
	if (fd < 0) {
		say(prio, "cannot read rule file '%s': %s", file, strerror(-fd));
		return 1;
	}
	r = load_fd(fd, &st, file, prio, set);
	close(fd);
	return r;
}

/*
 * Load PATH (a directory: its *.conf files in name order; or one file)
 * into *RET.  PATH and every file are opened without following symlinks
 * and must be owned by root and writable only by root (see untrusted);
 * what is read is the file checked, through one fd.  Every bad file is
 * reported (`pgevict: FILE:LINE: what`); returns 0, or the number of bad
 * files, or -errno when PATH cannot be read or is refused (reported too).
 */
static int load_rules(const char *path, int prio, struct rule_set *ret, size_t *ret_nfiles)
{
	struct dirent **names = NULL;
	struct stat st;
	const char *why, *fix;
	char *top = NULL;
	size_t n0;
	int fd = -1, n = 0, i, r = 0;

	memset(ret, 0, sizeof(*ret));
	*ret_nfiles = 0;
	/* "dir/" would follow a symlink named dir: drop trailing slashes */
	if (!(top = strdup(path))) {
		say(prio, "out of memory");
		return -ENOMEM;
	}
	for (n0 = strlen(top); n0 > 1 && top[n0 - 1] == '/'; n0--)
		top[n0 - 1] = '\0';
	fd = open_nofollow(AT_FDCWD, top, &st);
	if (fd == -ELOOP) {
		refuse(prio, "rules", path, "a symlink", "name the directory or file itself");
		r = -ELOOP;
		goto out;
	}
	if (fd < 0) {
		say(prio, "cannot read rules '%s': %s", path, strerror(-fd));
		r = fd;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = load_fd(fd, &st, path, prio, ret);
		if (r == 0)
			*ret_nfiles = 1;
		goto out;
	}
	if ((why = untrusted(&st, true, &fix))) {
		refuse(prio, "rules directory", path, why, fix);
		r = -EPERM;
		goto out;
	}
	n = scandirat(fd, ".", &names, conf_filter, alphasort);
	if (n < 0) {
		r = -errno;
		say(prio, "cannot read rules '%s': %s", path, strerror(-r));
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/%s", top, names[i]->d_name);
		if (load_file(fd, names[i]->d_name, file, prio, ret) != 0)
			r++;
		else
			(*ret_nfiles)++;
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (fd >= 0)
		close(fd);
	free(top);
	return r;
}

static void watchdog(struct agent *a)
{
	long long now;

	if (!a->wd_usec)
		return;
	now = mono_ms();
	if (now - a->wd_last_ms >= (long long)(a->wd_usec / 2000)) {
		sd_notify(0, "WATCHDOG=1");
		a->wd_last_ms = now;
	}
}

/* Read the signals that came; set stop / reload. */
static void check_signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			a->reload = true;
		else
			a->stop = true;
	}
}

/* pgsql's interrupt: give up waiting on a server once SIGTERM or SIGINT
 * came (SIGHUP only marks the reload; the wait goes on). */
static bool sql_stop(void *arg)
{
	struct agent *a = arg;

	check_signals(a);
	return a->stop;
}

static void reload(struct agent *a)
{
	struct rule_set fresh;
	size_t nfiles;
	int bad;

	a->reload = false;
	sd_notify(0, "RELOADING=1");
	bad = load_rules(a->o->rules_dir, LOG_ERR, &fresh, &nfiles);
	if (bad != 0) {
		say(LOG_ERR, "reload: rules in '%s' have errors; keeping the %zu rules in force", a->o->rules_dir,
		    a->rules.n);
		rules_clear(&fresh);
	} else {
		rules_clear(&a->rules);
		a->rules = fresh;
		a->ndry_prev = 0;    /* rule indexes changed meaning */
		a->nfiles = nfiles;
		say(LOG_NOTICE, "reload: %zu rules from %zu files in '%s'", a->rules.n, a->nfiles, a->o->rules_dir);
	}
	sd_notify(0, "READY=1");
}

static int keep_outcome(struct agent *a, enum outcome out)
{
	if (a->nouts == a->capouts) {
		size_t cap = a->capouts ? a->capouts * 2 : 64;
		enum outcome *nv = realloc(a->outs, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->outs = nv;
		a->capouts = cap;
	}
	a->outs[a->nouts++] = out;
	return 0;
}

static void report(struct agent *a, const struct rule *ru, const struct plan_item *it,
		   const struct evict_result *res)
{
	const struct session *s = it->s;
	char client[INET6_ADDRSTRLEN + 16], steps[64] = "", now[40];
	const char *step = res->step >= 0 ? step_name((enum step)res->step) : NULL;
	const char *note = res->reason[0] ? res->reason : it->note;
	struct timespec ts;

	if (res->outcome == OUTCOME_PLANNED) {
		ladder_steps_text(it->steps, steps, sizeof(steps));
		step = steps[0] ? steps : NULL;
		/* a dry run touches nothing, but the log says what it would do */
		syslog(LOG_INFO, "rule=%s %s pid=%d start=%llu dry-run outcome=planned", ru->name,
		       action_name(ru->action), (int)s->pid, s->start_ticks);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	out_time_rfc3339((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now, sizeof(now));
	out_client(s, client, sizeof(client));
	if (a->o->json) {
		json_object *o = out_action_json(s, action_name(ru->action), outcome_name(res->outcome), step,
						 res->elapsed_ms, note);
		json_object_object_add(o, "time", json_object_new_string(now));
		json_object_object_add(o, "rule", json_object_new_string(ru->name));
		out_json_line(o);
		json_object_put(o);
	} else {
		char *user = escape_term(s->user), *db = escape_term(s->database), *n = note ? escape_term(note) : NULL;
		printf("%s rule=%s %s pid=%d user=%s db=%s client=%s outcome=%s step=%s ms=%lld%s%s\n", now, ru->name,
		       action_name(ru->action), (int)s->pid, user ? user : "-", db ? db : "-", client,
		       outcome_name(res->outcome), step ? step : "-", res->elapsed_ms, n ? " note=" : "", n ? n : "");
		free(user);
		free(db);
		free(n);
	}
	fflush(stdout);
}

/* Report clusters without SQL, or whose sockets could not be read, when
 * the set of gaps changes. */
static void note_sql(struct agent *a, const struct discovery *d)
{
	char sql[2048] = "", net[1024] = "", *key = NULL;
	size_t i;

	for (i = 0; i < d->clusters.n; i++) {
		const struct pg_cluster *c = d->clusters.v[i];
		char label[32];
		if (c->sql_error)
			snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "%scluster '%s': %s",
				 sql[0] ? "; " : "", cluster_label(c, label, sizeof(label)), c->sql_error);
		if (c->net_error)
			snprintf(net + strlen(net), sizeof(net) - strlen(net), "%scluster '%s': %s",
				 net[0] ? "; " : "", cluster_label(c, label, sizeof(label)), c->net_error);
	}
	if (asprintf(&key, "%s|%s", sql, net) < 0)
		return;
	if (strcmp(key, a->sql_note ? a->sql_note : "|") == 0) {
		free(key);
		return;
	}
	if (sql[0])
		say(LOG_WARNING, "no SQL for %s; timing states from the process titles", sql);
	else if (a->sql_note && a->sql_note[0] != '|')
		say(LOG_NOTICE, "SQL works again on every cluster");
	if (net[0])
		say(LOG_WARNING, "%s; the clients of its sessions are unknown, and --client matches none", net);
	free(a->sql_note);
	a->sql_note = key;
}

/* Does S's I/O matter: could a rule with --idle-for or --running-for
 * match it, time aside?  (Others need no clock of their own.) */
static bool io_relevant(const struct agent *a, const struct session *s, int64_t now_us)
{
	size_t k;

	for (k = 0; k < a->rules.n; k++) {
		const struct selector *sel = &a->rules.v[k].sel;
		if ((sel->idle_for_ms >= 0 || sel->running_for_ms >= 0) && rules_may_match(sel, s, now_us, true))
			return true;
	}
	return false;
}

/* Time the states SQL did not: /proc/PID/io of the sessions a timed rule
 * may match, then the tracker. */
static int track_pass(struct agent *a, struct discovery *d)
{
	uint64_t *io;
	size_t i;
	int r;

	io = malloc((d->sessions.n ? d->sessions.n : 1) * sizeof(*io));
	if (!io)
		return -ENOMEM;
	for (i = 0; i < d->sessions.n; i++) {
		const struct session *s = &d->sessions.v[i];
		char *text = NULL;
		io[i] = TRACK_IO_UNKNOWN;
		if (!s->is_client || s->state_change_us != TIME_UNKNOWN || !io_relevant(a, s, d->now_us))
			continue;
		if (procfs_read(a->pfd, s->pid, "io", 1024, &text, NULL) == 0 && track_parse_io(text, &io[i]) < 0)
			io[i] = TRACK_IO_UNKNOWN;
		free(text);
	}
	r = track_update(&a->track, &d->sessions, io, d->now_us);
	free(io);
	return r;
}


static int qent_cmp(const void *pa, const void *pb)
{
	const struct qent *a = pa, *b = pb;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static void qent_drop(struct qent *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	free(e->user);
	free(e->database);
	e->user = e->database = NULL;
	e->parsed = false;
}

static void quick_clear(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->nq; i++)
		qent_drop(&a->q[i]);
	free(a->q);
	a->q = NULL;
	a->nq = 0;
}

/* E's time on the CPU through its kept fd (opened here for a new child).
 * 1 read, 0 gone (or no longer E's process), -1 cannot tell (no fd
 * left, no schedstat): then only a full pass will do. */
static int quick_runtime(struct agent *a, struct qent *e, unsigned long long *ret)
{
	char buf[128], *end;
	ssize_t n;

	if (e->fd < 0) {
		char rel[32];
		snprintf(rel, sizeof(rel), "%d/schedstat", (int)e->pid);
		e->fd = openat(a->pfd, rel, O_RDONLY | O_CLOEXEC);
		if (e->fd < 0)
			return errno == ENOENT || errno == ESRCH ? 0 : -1;
	}
	n = pread(e->fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return errno == ESRCH ? 0 : -1;
	if (n == 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	*ret = strtoull(buf, &end, 10);
	return end == buf || errno ? -1 : 1;
}

/* Read E's title and keep what the selectors can judge.  0, or -ENOMEM;
 * a process gone meanwhile leaves E unparsed. */
static int quick_parse(struct agent *a, struct pg_cluster *c, struct qent *e)
{
	struct title tt;
	char *buf = NULL;
	size_t len = 0;

	free(e->user);
	free(e->database);
	e->user = e->database = NULL;
	e->parsed = e->client = false;
	if (procfs_read(a->pfd, e->pid, "cmdline", TITLE_MAX, &buf, &len) < 0)
		return 0;
	title_clean(buf, len);
	if (title_parse(buf, c->cluster_name, NULL, &tt) < 0) {
		free(buf);
		return 0;
	}
	free(buf);
	e->parsed = true;
	e->client = tt.is_client && tt.backend_type && strcmp(tt.backend_type, "client backend") == 0;
	e->user = tt.user;
	e->database = tt.database;
	tt.user = tt.database = NULL;
	e->state = title_state(tt.activity);
	e->transport = TRANSPORT_NONE;
	e->client_addr[0] = '\0';
	/* the title's host is a hint: trusted here only when the title
	 * parsed without doubt, and then only to rule a session out */
	if (tt.host && strcmp(tt.host, "[local]") == 0) {
		e->transport = TRANSPORT_UNIX;
	} else if (tt.host && e->user && e->database && strlen(tt.host) < sizeof(e->client_addr)) {
		struct cidr probe;
		if (cidr_parse(tt.host, &probe) == 0) {
			e->transport = TRANSPORT_TCP;
			snprintf(e->client_addr, sizeof(e->client_addr), "%s", tt.host);
		}
	}
	title_clear(&tt);
	return 0;
}

/* A session for the selectors from E (user and database borrowed). */
static int quick_session(struct agent *a, struct pg_cluster *c, const struct qent *e, struct session_list *l)
{
	struct session *s;

	if (!e->parsed || !e->client)
		return 0;
	if (!(s = session_list_add(l)))
		return -ENOMEM;
	s->pid = e->pid;
	s->ns_pid = e->pid;
	if ((c->ns_own & NS_PID) && procfs_inner_pid(a->pfd, e->pid, &s->ns_pid) < 0)
		s->ns_pid = 0;
	s->start_ticks = e->start_ticks;
	s->start_us = a->btime * 1000000 + (int64_t)(e->start_ticks * 1000000ULL / (unsigned long long)a->hz);
	s->cluster = c;
	s->is_client = true;
	s->backend_type = "client backend";
	s->user = e->user;
	s->database = e->database;
	s->state = e->state;
	s->transport = e->transport;
	memcpy(s->client_addr, e->client_addr, sizeof(s->client_addr));
	return 0;
}

/* The state of C's postmaster, opened (and its start checked) the first
 * time; NULL when it is not the process C was (then a full pass). */
static struct pmstate *pm_get(struct agent *a, const struct pg_cluster *c)
{
	struct pmstate *ps, *nv;
	unsigned long long ticks;
	char rel[32];
	size_t i;

	for (i = 0; i < a->npm; i++)
		if (a->pm[i].pid == c->pid && a->pm[i].start_ticks == c->start_ticks)
			return &a->pm[i];
	if (procfs_start_ticks(a->pfd, c->pid, &ticks, NULL) < 0 || ticks != c->start_ticks)
		return NULL;
	if (!(nv = realloc(a->pm, (a->npm + 1) * sizeof(*nv))))
		return NULL;
	a->pm = nv;
	ps = &a->pm[a->npm];
	memset(ps, 0, sizeof(*ps));
	ps->pid = c->pid;
	ps->start_ticks = c->start_ticks;
	snprintf(rel, sizeof(rel), "%d/schedstat", (int)c->pid);
	ps->fd = openat(a->pfd, rel, O_RDONLY | O_CLOEXEC);
	if (ps->fd < 0)
		return NULL;
	a->npm++;
	return ps;
}

/* Close the postmaster states no cluster used in this pass (all: ALL). */
static void pm_prune(struct agent *a, bool all)
{
	size_t i, k = 0;

	for (i = 0; i < a->npm; i++) {
		if (!all && a->pm[i].used) {
			a->pm[i].used = false;
			a->pm[k++] = a->pm[i];
			continue;
		}
		close(a->pm[i].fd);
	}
	a->npm = k;
	if (all) {
		free(a->pm);
		a->pm = NULL;
	}
}

/*
 * A cheap pass: the postmasters' children (one read each), their titles
 * (one pread each, through kept fds), the tracker, and for every rule the
 * question whether any session could match once everything is known
 * (rules_may_match).  Returns 1 when a full pass is needed, 0 when none
 * (nothing could match), -ENOMEM.
 */
static int quick_pass(struct agent *a, int64_t now_us)
{
	struct session_list l = { 0 };
	struct qent *nv = NULL;
	size_t nn = 0, capn = 0, i, k;
	uint64_t *io = NULL;
	int r = 1;

	if (!a->have_last || mono_ms() - a->last_full_ms >= FULL_EVERY_MS)
		return 1;
	for (k = 0; k < a->last.clusters.n; k++) {
		struct pg_cluster *c = a->last.clusters.v[k];
		struct pmstate *ps;
		struct qent pmq = { .pid = c->pid, .fd = -1 };
		unsigned long long prt;
		char rel[64], *kids = NULL, *p, *end;
		bool cached;

		/* the postmaster must still be the same process */
		if (!(ps = pm_get(a, c)))
			goto out;
		ps->used = true;
		pmq.fd = ps->fd;
		if (quick_runtime(a, &pmq, &prt) != 1)
			goto out;
		cached = ps->have && prt == ps->runtime;
		if (cached) {
			/* it has not run: no child was born; the known ones */
			size_t j, len = 0;
			if (!(kids = malloc(a->nq * 12 + 1))) {
				r = -ENOMEM;
				goto out;
			}
			kids[0] = '\0';
			for (j = 0; j < a->nq; j++)
				if (a->q[j].pm == c->pid)
					len += (size_t)sprintf(kids + len, "%d ", (int)a->q[j].pid);
		} else {
			snprintf(rel, sizeof(rel), "task/%d/children", (int)c->pid);
			if (procfs_read(a->pfd, c->pid, rel, 1 << 20, &kids, NULL) < 0)
				goto out;   /* no CONFIG_PROC_CHILDREN: full passes only */
			ps->runtime = prt;
			ps->have = true;
		}
		for (p = kids;; p = end) {
			struct qent key = { 0 }, *old, *e;
			unsigned long long rt = 0;
			int got;
			long v;
			errno = 0;
			v = strtol(p, &end, 10);
			if (end == p || errno || v <= 0)
				break;
			if (nn == capn) {
				size_t cap = capn ? capn * 2 : 256;
				struct qent *x = realloc(nv, cap * sizeof(*x));
				if (!x) {
					free(kids);
					r = -ENOMEM;
					goto out;
				}
				nv = x;
				capn = cap;
			}
			key.pid = (pid_t)v;
			old = a->nq ? bsearch(&key, a->q, a->nq, sizeof(*a->q), qent_cmp) : NULL;
			e = &nv[nn];
			if (old) {
				*e = *old;
				old->fd = -1;   /* moved */
				old->user = old->database = NULL;
			} else {
				*e = key;
				e->fd = -1;
			}
			e->pm = c->pid;
			got = old ? quick_runtime(a, e, &rt) : 0;
			if (got == 0 && cached) {
				qent_drop(e);   /* gone; nothing new was born */
				continue;
			}
			if (got == 0) {
				/* new, gone, or the pid is another process now */
				qent_drop(e);
				e->runtime = 0;
				if (procfs_start_ticks(a->pfd, e->pid, &e->start_ticks, NULL) < 0 ||
				    (got = quick_runtime(a, e, &rt)) == 0) {
					qent_drop(e);
					continue;
				}
			}
			nn++;
			if (got < 0) {
				free(kids);
				goto out;       /* r = 1: a full pass */
			}
			if (!e->parsed || rt != e->runtime) {
				e->runtime = rt;
				if (quick_parse(a, c, e) < 0) {
					free(kids);
					r = -ENOMEM;
					goto out;
				}
			}
			if (quick_session(a, c, e, &l) < 0) {
				free(kids);
				r = -ENOMEM;
				goto out;
			}
		}
		free(kids);
	}
	/* /proc/PID/io for the sessions a timed rule may match (no SQL: the
	 * lower bound restarts on any IO) */
	if (!(io = malloc((l.n ? l.n : 1) * sizeof(*io)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		char *text = NULL;
		io[i] = TRACK_IO_UNKNOWN;
		if (!io_relevant(a, &l.v[i], now_us))
			continue;
		if (procfs_read(a->pfd, l.v[i].pid, "io", 1024, &text, NULL) == 0 && track_parse_io(text, &io[i]) < 0)
			io[i] = TRACK_IO_UNKNOWN;
		free(text);
	}
	if ((r = track_update(&a->track, &l, io, now_us)) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		const struct track_ent *te = track_find(&a->track, l.v[i].pid, l.v[i].start_ticks);
		l.v[i].state_change_us = te ? te->since_lo_us : TIME_UNKNOWN;
		l.v[i].query_start_us = l.v[i].state_change_us;
	}
	r = 0;
	for (k = 0; k < a->rules.n && !r; k++) {
		const struct rule *ru = &a->rules.v[k];
		size_t ci;
		/* per cluster: more candidates than the rule keeps? */
		for (ci = 0; ci < a->last.clusters.n && !r; ci++) {
			size_t cand = 0;
			for (i = 0; i < l.n; i++)
				if (l.v[i].cluster == a->last.clusters.v[ci] &&
				    rules_may_match(&ru->sel, &l.v[i], now_us, false))
					cand++;
			if (cand > (size_t)ru->keep)
				r = 1;
		}
	}
	a->quick_passes++;
out:
	pm_prune(a, false);
	/* what was not carried over: closed */
	quick_clear(a);
	a->q = nv;
	a->nq = nn;
	if (nv)
		qsort(a->q, a->nq, sizeof(*a->q), qent_cmp);
	free(io);
	for (i = 0; i < l.n; i++)
		l.v[i].user = l.v[i].database = NULL;   /* borrowed */
	session_list_clear(&l);
	return r;
}

/* One rule over one discovery.  ACTED marks sessions already acted on. */
static int run_rule(struct agent *a, const struct rule *ru, struct discovery *d, bool *acted)
{
	struct plan plan = { 0 }, sub = { 0 };
	struct session **v = NULL;
	struct evict_result *res = NULL;
	bool *act = NULL;
	size_t *idx = NULL, i, n = 0;
	unsigned steps = ru->via ? ru->via : ladder_default(ru->action);
	int r;

	if ((r = ladder_plan(ru->action, steps, &ru->sel, &d->sessions, d->now_us, &plan)) < 0)
		goto out;
	v = calloc(plan.n ? plan.n : 1, sizeof(*v));
	idx = calloc(plan.n ? plan.n : 1, sizeof(*idx));
	act = calloc(plan.n ? plan.n : 1, sizeof(*act));
	sub.v = calloc(plan.n ? plan.n : 1, sizeof(*sub.v));
	res = calloc(plan.n ? plan.n : 1, sizeof(*res));
	if (!v || !idx || !act || !sub.v || !res) {
		r = -ENOMEM;
		goto out;
	}
	/* Only what may be acted on, and not yet acted on in this pass. */
	for (i = 0; i < plan.n; i++) {
		if (plan.v[i].skip || acted[plan.v[i].s - d->sessions.v])
			continue;
		v[n] = plan.v[i].s;
		idx[n++] = i;
	}
	if ((r = rules_keep(ru, v, n, act)) < 0)
		goto out;
	sub.action = ru->action;
	for (i = 0; i < n; i++)
		if (act[i])
			sub.v[sub.n++] = plan.v[idx[i]];
	if (!sub.n)
		goto out;
	for (i = 0; i < sub.n; i++) {
		res[i].step = -1;
		res[i].outcome = OUTCOME_PLANNED;
		acted[sub.v[i].s - d->sessions.v] = true;
	}
	if (!a->o->dry_run) {
		struct options oo = *a->o;
		bool unsupported = false;
		oo.rule = ru->name;
		oo.via = steps;
		oo.cancel_first = false;
		if (ru->step_timeout_ms > 0)
			oo.step_timeout_ms = ru->step_timeout_ms;
		if ((r = evict_apply(&oo, ru->action, steps, &sub, res, &unsupported)) < 0)
			goto out;
		if (unsupported)
			say(LOG_WARNING, "this kernel refuses SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): no connection was cut that way");
		openlog("pgevict", LOG_PID, LOG_DAEMON);   /* evict_apply closed it */
	}
	for (i = 0; i < sub.n; i++) {
		if (a->o->dry_run) {
			struct dry_key key = { (size_t)(ru - a->rules.v), sub.v[i].s->pid, sub.v[i].s->start_ticks };
			bool seen = a->ndry_prev &&
				    bsearch(&key, a->dry_prev, a->ndry_prev, sizeof(key), dry_cmp);
			if (a->ndry_cur == a->capdry) {
				size_t cap = a->capdry ? a->capdry * 2 : 64;
				struct dry_key *nv = realloc(a->dry_cur, cap * sizeof(*nv));
				if (!nv) {
					r = -ENOMEM;
					goto out;
				}
				a->dry_cur = nv;
				a->capdry = cap;
			}
			a->dry_cur[a->ndry_cur++] = key;
			if (seen)
				continue;
		}
		report(a, ru, &sub.v[i], &res[i]);
		a->actions++;
		if ((r = keep_outcome(a, res[i].outcome)) < 0)
			goto out;
	}
	r = 0;
out:
	free(v);
	free(idx);
	free(act);
	free(sub.v);
	free(res);
	plan_clear(&plan);
	return r;
}

/* One pass.  0, or -errno when discovery failed (reported). */
static int pass(struct agent *a)
{
	struct discover_opts dopts = {
		.cluster_spec = a->o->cluster,
		.no_sql = a->o->no_sql,
		.dsn = a->o->dsn,
	};
	struct discovery d;
	bool *acted = NULL;
	size_t i;
	int r;

	r = discover(&dopts, &d);
	if (r == -ENOTUNIQ && !a->ambiguous)
		say(LOG_WARNING, "--cluster '%s' matches %zu running clusters; acting on none until it names one",
		    a->o->cluster, d.clusters.n);
	if (r != -ENOTUNIQ && a->ambiguous && r != -ENOENT)
		say(LOG_NOTICE, "--cluster '%s' names one running cluster again", a->o->cluster);
	a->ambiguous = r == -ENOTUNIQ;
	if (r == -ENOENT || r == -ENOTUNIQ) {
		/* --cluster names none running (now), or more than one: act on none */
		discovery_clear(&d);
		track_clear(&a->track);
		if (a->have_last)
			discovery_clear(&a->last);
		a->have_last = false;
		return 0;
	}
	if (r < 0) {
		say(LOG_ERR, "cannot read the process table: %s", strerror(-r));
		discovery_clear(&d);
		if (a->have_last)
			discovery_clear(&a->last);
		a->have_last = false;
		return r;
	}
	a->passes++;
	if (!a->stop)
		note_sql(a, &d);
	if ((r = track_pass(a, &d)) < 0)
		goto out;
	if (!(acted = calloc(d.sessions.n ? d.sessions.n : 1, sizeof(*acted)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a->rules.n && !a->stop; i++) {
		if ((r = run_rule(a, &a->rules.v[i], &d, acted)) < 0)
			goto out;
		watchdog(a);
		check_signals(a);
		if (a->stop)
			break;
	}
out:
	if (r == -ENOMEM)
		say(LOG_ERR, "out of memory");
	free(acted);
	if (a->o->dry_run) {
		/* this pass's plans are the next one's "already said" */
		struct dry_key *t = a->dry_prev;
		size_t cap = a->capdry;
		if (a->ndry_cur)     /* dry_cur may still be NULL */
			qsort(a->dry_cur, a->ndry_cur, sizeof(*a->dry_cur), dry_cmp);
		a->dry_prev = a->dry_cur;
		a->ndry_prev = a->ndry_cur;
		a->dry_cur = t;
		a->ndry_cur = 0;
		a->capdry = a->capprev;
		a->capprev = cap;
	}
	/* kept for the cheap passes: the clusters and their names */
	if (a->have_last)
		discovery_clear(&a->last);
	a->last = d;
	a->have_last = true;
	a->last_full_ms = mono_ms();
	return r;
}

static int check_only(const struct options *o)
{
	struct rule_set set;
	size_t nfiles, i;
	int bad;

	bad = load_rules(o->rules_dir, LOG_ERR, &set, &nfiles);
	if (bad != 0) {
		rules_clear(&set);
		return EXIT_USAGE;
	}
	for (i = 0; i < set.n; i++) {
		const struct rule *r = &set.v[i];
		char *m = escape_term(r->match), *f = escape_term(r->file);
		printf("%s:%d: [%s] %s %s", f ? f : "?", r->line, r->name, action_name(r->action), m ? m : "");
		if (r->keep)
			printf(" (keeps the %ld oldest%s)", r->keep,
			       r->per == PER_USER ? " per user" : r->per == PER_DB ? " per database" :
			       r->per == PER_CLIENT ? " per client address" : "");
		putchar('\n');
		free(m);
		free(f);
	}
	printf("%zu rules in %zu files: ok\n", set.n, nfiles);
	rules_clear(&set);
	return 0;
}

int cmd_agent(const struct options *o)
{
	struct agent a = { .o = o, .pfd = -1, .sfd = -1 };
	sigset_t mask;
	int status = 0, r;

	if (!o->rules_dir) {
		fprintf(stderr, "pgevict: agent needs --rules DIR\n");
		return EXIT_USAGE;
	}
	if (o->check)
		return check_only(o);
	if (geteuid() != 0) {
		fprintf(stderr, "pgevict: 'agent' needs root (to read other users' /proc entries)\n");
		return EXIT_USAGE;
	}
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	if (load_rules(o->rules_dir, LOG_ERR, &a.rules, &a.nfiles) != 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (!a.rules.n)
		say(LOG_WARNING, "no rules in '%s' (*.conf): nothing to enforce", o->rules_dir);
	/* Signals wait in the signalfd until the action in flight is done. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (a.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (a.pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		say(LOG_ERR, "cannot set up: %s", strerror(errno));
		status = 1;
		goto out;
	}
	pgsql_set_interrupt(a.sfd, sql_stop, &a);
	a.hz = procfs_hertz();
	procfs_boot_time(a.pfd, &a.btime);
	{
		/* a title fd per backend for the cheap passes */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (sd_watchdog_enabled(0, &a.wd_usec) <= 0)
		a.wd_usec = 0;
	a.wd_last_ms = mono_ms();
	if (o->once) {
		r = pass(&a);
		status = r < 0 ? 1 : ladder_exit_status(a.outs, a.nouts);
		goto out;
	}
	say(LOG_NOTICE, "agent: %zu rules from %zu files in '%s', a pass every %lldms%s", a.rules.n, a.nfiles,
	    o->rules_dir, (long long)o->interval_ms, o->dry_run ? ", dry run" : "");
	sd_notify(0, "READY=1");
	while (!a.stop) {
		long long start = mono_ms(), wait;
		struct pollfd p;

		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (quick_pass(&a, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000) != 0)
			pass(&a);
		sd_notifyf(0, "STATUS=%zu rules; %llu passes, %llu actions", a.rules.n, a.passes, a.actions);
		watchdog(&a);
		/* Wait for the next pass, for a signal, or for the watchdog. */
		for (;;) {
			check_signals(&a);
			if (a.stop)
				break;
			if (a.reload)
				reload(&a);
			wait = start + o->interval_ms - mono_ms();
			if (wait <= 0)
				break;
			if (a.wd_usec && wait > (long long)(a.wd_usec / 2000))
				wait = (long long)(a.wd_usec / 2000);
			p.fd = a.sfd;
			p.events = POLLIN;
			poll(&p, 1, (int)wait);
			watchdog(&a);
		}
	}
	sd_notify(0, "STOPPING=1");
	say(LOG_NOTICE, "agent: stopping after %llu passes, %llu actions (and %llu cheap passes that found nothing to do)",
	    a.passes, a.actions, a.quick_passes);
out:
	pgsql_set_interrupt(-1, NULL, NULL);
	rules_clear(&a.rules);
	track_clear(&a.track);
	quick_clear(&a);
	pm_prune(&a, true);
	free(a.dry_prev);
	free(a.dry_cur);
	if (a.have_last)
		discovery_clear(&a.last);
	free(a.outs);
	free(a.sql_note);
	if (a.sfd >= 0)
		close(a.sfd);
	if (a.pfd >= 0)
		close(a.pfd);
	closelog();
	return status;
}
