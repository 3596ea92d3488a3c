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
 * Signals are blocked and read from a signalfd between rules and between
 * passes, so nothing interrupts an action: SIGTERM and SIGINT stop after
 * the rule in flight (exit 0), SIGHUP reloads the rules (a bad file keeps
 * the old ones, and says so).  Under systemd (NOTIFY_SOCKET) it sends
 * READY, RELOADING, STOPPING, STATUS and, when WatchdogSec= is set,
 * WATCHDOG every half period.
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
#include "pgevict/procfs.h"
#include "pgevict/rules.h"
#include "pgevict/track.h"

#define RULE_FILE_MAX (1 << 20)

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

/* One message for the operator: stderr, and syslog when running. */
static void say(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pgevict: %s\n", buf);
	syslog(prio, "%s", buf);
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (st.st_size > RULE_FILE_MAX) {
		r = -EFBIG;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		r = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/*
 * Load PATH (a directory: its *.conf files in name order; or one file)
 * into *RET.  Every bad file is reported (`pgevict: FILE:LINE: what`);
 * returns 0, or the number of bad files, or -errno when PATH cannot be
 * read at all (reported too).
 */
static int load_rules(const char *path, int prio, struct rule_set *ret, size_t *ret_nfiles)
{
	struct dirent **names = NULL;
	struct stat st;
	int n = 1, i, bad = 0;
	bool dir;

	memset(ret, 0, sizeof(*ret));
	*ret_nfiles = 0;
	if (stat(path, &st) < 0) {
		int e = errno;
		say(prio, "cannot read rules '%s': %s", path, strerror(e));
		return -e;
	}
	dir = S_ISDIR(st.st_mode);
	if (dir) {
		n = scandir(path, &names, conf_filter, alphasort);
		if (n < 0) {
			int e = errno;
			say(prio, "cannot read rules '%s': %s", path, strerror(e));
			return -e;
		}
	}
	for (i = 0; i < n; i++) {
		char file[4096];
		char *text = NULL;
		size_t len = 0;
		struct rule_error err;
		int r;

		if (dir)
			snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		else
			snprintf(file, sizeof(file), "%s", path);
		r = read_file(file, &text, &len);
		if (r < 0) {
			say(prio, "%s: cannot read: %s", file, strerror(-r));
			bad++;
			continue;
		}
		r = rules_parse(file, text, len, ret, &err);
		free(text);
		(*ret_nfiles)++;
		if (r < 0) {
			char *msg = escape_term(err.msg);
			if (err.line > 0)
				say(prio, "%s:%d: %s", file, err.line, msg ? msg : err.msg);
			else
				say(prio, "%s: %s", file, msg ? msg : err.msg);
			free(msg);
			bad++;
		}
	}
	for (i = 0; dir && i < n; i++)
		free(names[i]);
	free(names);
	return bad;
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
	int k;

	if (res->outcome == OUTCOME_PLANNED) {
		for (k = 0; k < STEP_COUNT; k++)
			if (it->steps & STEP_BIT(k))
				snprintf(steps + strlen(steps), sizeof(steps) - strlen(steps), "%s%s",
					 steps[0] ? "," : "", step_name((enum step)k));
		step = steps[0] ? steps : NULL;
		/* a dry run touches nothing, but the log says what it would do */
		syslog(LOG_INFO, "rule=%s %s pid=%d start=%llu dry-run outcome=planned", ru->name,
		       action_name(ru->action), (int)s->pid, s->start_ticks);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	out_time_rfc3339((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, now, sizeof(now));
	out_client(s, client, sizeof(client));
	if (a->o->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "time", json_object_new_string(now));
		json_object_object_add(o, "rule", json_object_new_string(ru->name));
		json_object_object_add(o, "pid", json_object_new_int(s->pid));
		json_object_object_add(o, "cluster", out_json_str(s->cluster->data_dir));
		json_object_object_add(o, "user", out_json_str(s->user));
		json_object_object_add(o, "database", out_json_str(s->database));
		json_object_object_add(o, "client_addr", s->client_addr[0] ? json_object_new_string(s->client_addr) : NULL);
		json_object_object_add(o, "client_port", s->client_port >= 0 ? json_object_new_int(s->client_port) : NULL);
		json_object_object_add(o, "action", json_object_new_string(action_name(ru->action)));
		json_object_object_add(o, "outcome", json_object_new_string(outcome_name(res->outcome)));
		json_object_object_add(o, "step", out_json_str(step));
		json_object_object_add(o, "elapsed_ms", json_object_new_int64(res->elapsed_ms));
		json_object_object_add(o, "note", out_json_str(note));
		out_json_line(o);
		json_object_put(o);
	} else {
		char *user = escape_term(s->user), *db = escape_term(s->database), *n = escape_term(note);
		printf("%s rule=%s %s pid=%d user=%s db=%s client=%s outcome=%s step=%s ms=%lld%s%s\n", now, ru->name,
		       action_name(ru->action), (int)s->pid, user ? user : "-", db ? db : "-", client,
		       outcome_name(res->outcome), step ? step : "-", res->elapsed_ms, n ? " note=" : "", n ? n : "");
		free(user);
		free(db);
		free(n);
	}
	fflush(stdout);
}

/* Report clusters without SQL when the set of gaps changes. */
static void note_sql(struct agent *a, const struct discovery *d)
{
	char buf[2048] = "";
	size_t i;

	for (i = 0; i < d->clusters.n; i++) {
		const struct pg_cluster *c = d->clusters.v[i];
		char label[32];
		if (c->sql_error)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%scluster '%s': %s",
				 buf[0] ? "; " : "", cluster_label(c, label, sizeof(label)), c->sql_error);
	}
	if (strcmp(buf, a->sql_note ? a->sql_note : "") == 0)
		return;
	if (buf[0]) {
		char *e = escape_term(buf);
		say(LOG_WARNING, "no SQL for %s; timing states from the process titles", e ? e : buf);
		free(e);
	} else if (a->sql_note) {
		say(LOG_NOTICE, "SQL works again on every cluster");
	}
	free(a->sql_note);
	a->sql_note = strdup(buf);
}

/* Time the states SQL did not: /proc/PID/io, then the tracker. */
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
		if (!s->is_client || s->state_change_us != TIME_UNKNOWN)
			continue;
		if (procfs_read(a->pfd, s->pid, "io", 1024, &text, NULL) == 0 && track_parse_io(text, &io[i]) < 0)
			io[i] = TRACK_IO_UNKNOWN;
		free(text);
	}
	r = track_update(&a->track, &d->sessions, io, d->now_us);
	free(io);
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
	if (r == -ENOENT) {
		/* --cluster names one that is not running (now): nothing to do */
		discovery_clear(&d);
		track_clear(&a->track);
		return 0;
	}
	if (r < 0) {
		say(LOG_ERR, "cannot read the process table: %s", strerror(-r));
		discovery_clear(&d);
		return r;
	}
	a->passes++;
	note_sql(a, &d);
	if ((r = track_pass(a, &d)) < 0)
		goto out;
	if (!(acted = calloc(d.sessions.n ? d.sessions.n : 1, sizeof(*acted)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a->rules.n; i++) {
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
	discovery_clear(&d);
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
		char *m = escape_term(r->match);
		printf("%s:%d: [%s] %s %s", r->file, r->line, r->name, action_name(r->action), m ? m : "");
		if (r->keep)
			printf(" (keeps the %ld oldest%s)", r->keep,
			       r->per == PER_USER ? " per user" : r->per == PER_DB ? " per database" :
			       r->per == PER_CLIENT ? " per client address" : "");
		putchar('\n');
		free(m);
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
	say(LOG_NOTICE, "agent: stopping after %llu passes, %llu actions", a.passes, a.actions);
out:
	rules_clear(&a.rules);
	track_clear(&a.track);
	free(a.outs);
	free(a.sql_note);
	if (a.sfd >= 0)
		close(a.sfd);
	if (a.pfd >= 0)
		close(a.pfd);
	closelog();
	return status;
}
