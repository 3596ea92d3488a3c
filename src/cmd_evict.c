/*
 * cmd_evict.c -- `pgevict cancel | terminate | sever SELECTORS`.
 *
 * Collect (discover), plan (ladder_plan: data, printed by --dry-run), apply:
 * each step of the ladder is sent to every session still there, then all
 * of them are waited on together (pidfds in one poll), and verified before
 * the next step: the process gone is `gone`; the socket gone with the
 * process alive is `severed`; neither goes on to the next step, and after
 * the last one it `survived`.  Every action goes to syslog.
 *
 * Processes are handled by pidfd, opened right after discovery and checked
 * against the discovered start time, so a pid reused meanwhile is never
 * signalled.  Only SIGTERM (terminate) and SIGINT (cancel) are ever sent.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/ladder.h"
#include "pgevict/netns.h"
#include "pgevict/pgsql.h"
#include "pgevict/pidfd.h"
#include "pgevict/procfs.h"
#include "pgevict/sockdiag.h"
#include "pgevict/title.h"
#include "pgevict/wire.h"

struct target {
	struct plan_item *it;
	int pidfd;
	enum outcome outcome;
	int step;                  /* the step that decided, or -1 */
	bool done;
	bool alive;                /* scratch for waits */
	bool signalled;            /* scratch: this step reached it */
	char reason[200];
	long long elapsed_ms;
};

struct run {
	const struct options *o;
	enum action action;
	struct target *t;
	size_t n;
	int pfd;
	unsigned long self_ns;
	long long t0;
	bool progress;
	bool destroy_unsupported;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) static void set_reason(struct target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

static void finish(struct run *run, struct target *t, enum outcome out, int step)
{
	t->outcome = out;
	t->step = step;
	t->done = true;
	t->elapsed_ms = mono_ms() - run->t0;
}

static void audit(const struct run *run, const struct target *t, const char *what)
{
	const struct session *s = t->it->s;
	char client[INET6_ADDRSTRLEN + 16];
	char *user = escape_term(s->user), *db = escape_term(s->database), *dir = escape_term(s->cluster->data_dir);

	out_client(s, client, sizeof(client));
	syslog(LOG_NOTICE, "%s%s%s%s pid=%d start=%llu cluster=%s user=%s database=%s client=%s %s",
	       run->o->rule ? "rule=" : "", run->o->rule ? run->o->rule : "", run->o->rule ? " " : "",
	       action_name(run->action), (int)s->pid, s->start_ticks,
	       dir ? dir : "?", user ? user : "?", db ? db : "?", client, what);
	free(dir);
	free(user);
	free(db);
}

static void progress_cb(size_t exited, size_t total, void *arg)
{
	struct run *run = arg;

	if (run->progress && mono_ms() - run->t0 > 1000)
		fprintf(stderr, "\rpgevict: %s: %zu/%zu gone ", action_name(run->action), exited, total);
}

/* Wait for the targets with ->signalled set; mark exited ones gone. */
static void wait_step(struct run *run, enum step step)
{
	int *fds = calloc(run->n ? run->n : 1, sizeof(*fds));
	bool *want = calloc(run->n ? run->n : 1, sizeof(*want));
	bool *done = calloc(run->n ? run->n : 1, sizeof(*done));
	size_t i;

	if (!fds || !want || !done)
		goto out;
	for (i = 0; i < run->n; i++) {
		fds[i] = run->t[i].pidfd;
		want[i] = !run->t[i].done && run->t[i].signalled && run->t[i].pidfd >= 0;
	}
	pidfd_wait_all(fds, want, done, run->n, (int)run->o->step_timeout_ms, progress_cb, run);
	for (i = 0; i < run->n; i++)
		if (want[i] && done[i]) {
			finish(run, &run->t[i], OUTCOME_GONE, (int)step);
			audit(run, &run->t[i], "outcome=gone");
		}
out:
	free(fds);
	free(want);
	free(done);
}

/* The targets of STEP: not done, and planned for it. */
static bool wants(const struct target *t, enum step step)
{
	return !t->done && (t->it->steps & STEP_BIT(step));
}

/* Drop targets that exited before anything was sent to them. */
static void reap_early(struct run *run, enum step step)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		if (wants(t, step) && pidfd_exited(t->pidfd)) {
			finish(run, t, OUTCOME_GONE, -1);
			set_reason(t, "exited before %s", step_name(step));
			audit(run, t, "outcome=gone (exited by itself)");
		}
	}
}

static void step_sql(struct run *run, bool cancel)
{
	size_t i, j, k;

	reap_early(run, STEP_SQL);
	for (i = 0; i < run->n; i++) {
		struct pg_cluster *c = run->t[i].it->s->cluster;
		PGconn *conn = NULL;
		char *err = NULL;
		pid_t *pids;
		int64_t *starts;
		bool *ok;
		size_t *idx, m = 0;
		bool first = true;

		/* One connection and one statement per cluster. */
		for (j = 0; j < i; j++)
			if (run->t[j].it->s->cluster == c)
				first = false;
		if (!first)
			continue;
		pids = calloc(run->n, sizeof(*pids));
		starts = calloc(run->n, sizeof(*starts));
		ok = calloc(run->n, sizeof(*ok));
		idx = calloc(run->n, sizeof(*idx));
		if (!pids || !starts || !ok || !idx)
			goto next;
		for (j = i; j < run->n; j++) {
			struct target *t = &run->t[j];
			if (t->it->s->cluster != c || !wants(t, STEP_SQL))
				continue;
			if (t->it->s->start_us == TIME_UNKNOWN) {
				set_reason(t, "sql: backend start unknown, not matched by pid alone");
				continue;
			}
			if (t->it->s->ns_pid <= 0) {
				set_reason(t, "sql: its pid in the cluster's pid namespace is unknown");
				continue;
			}
			pids[m] = t->it->s->ns_pid;   /* what the server calls it */
			starts[m] = t->it->s->start_us;
			idx[m++] = j;
		}
		if (!m)
			goto next;
		if (pgsql_connect(c, run->o->dsn, &conn, &err) < 0 ||
		    pgsql_signal_backends(conn, cancel, pids, starts, m, ok, &err) < 0) {
			for (k = 0; k < m; k++)
				set_reason(&run->t[idx[k]], "sql: %s", err ? err : "failed");
			goto next;
		}
		for (k = 0; k < m; k++) {
			struct target *t = &run->t[idx[k]];
			t->signalled = ok[k];
			audit(run, t, ok[k] ? "step=sql sent" : "step=sql refused");
			if (!ok[k])
				set_reason(t, "sql: %s returned false", cancel ? "pg_cancel_backend" : "pg_terminate_backend");
		}
next:
		free(err);
		pgsql_close(conn);
		free(pids);
		free(starts);
		free(ok);
		free(idx);
	}
}

static void step_signal(struct run *run, int sig)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		int r;
		if (!wants(t, STEP_SIGNAL))
			continue;
		r = pidfd_signal(t->pidfd, sig);
		if (r == -ESRCH) {
			finish(run, t, OUTCOME_GONE, STEP_SIGNAL);
			continue;
		}
		if (r < 0) {
			set_reason(t, "signal: %s", strerror(-r));
			continue;
		}
		t->signalled = true;
		audit(run, t, sig == SIGTERM ? "step=signal SIGTERM sent" : "step=signal SIGINT sent");
	}
}

static void session_inet(const struct session *s, struct sockdiag_inet *e)
{
	memset(e, 0, sizeof(*e));
	e->family = s->family;
	e->inode = s->socket_inode;
	e->cookie[0] = s->cookie[0];
	e->cookie[1] = s->cookie[1];
	memcpy(e->src, s->local_raw, sizeof(e->src));
	memcpy(e->dst, s->client_raw, sizeof(e->dst));
	e->sport = (uint16_t)s->local_port;
	e->dport = (uint16_t)s->client_port;
}

static void step_destroy(struct run *run)
{
	size_t i;

	reap_early(run, STEP_DESTROY);
	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		struct sockdiag_inet e;
		int saved, r;
		if (!wants(t, STEP_DESTROY))
			continue;
		if (run->destroy_unsupported) {
			set_reason(t, "destroy: this kernel has no SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY)");
			continue;
		}
		session_inet(s, &e);
		r = netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, &saved);
		if (r == 0) {
			r = sockdiag_destroy(&e);
			netns_leave(saved);
		}
		if (r == -EOPNOTSUPP) {
			run->destroy_unsupported = true;
			set_reason(t, "destroy: this kernel has no SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY)");
			continue;
		}
		if (r < 0 && r != -ENOENT) {
			set_reason(t, "destroy: %s", strerror(-r));
			continue;
		}
		t->signalled = true;
		audit(run, t, r == 0 ? "step=destroy done" : "step=destroy: socket already gone");
	}
}

/* RST injection (wire.h) in the backend's network namespace: probe for
 * the sequence numbers, RST both ends, verify. */
static void step_rst(struct run *run)
{
	size_t i;

	reap_early(run, STEP_RST);
	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		struct wire_result res;
		int saved, r;
		if (!wants(t, STEP_RST))
			continue;
		memset(&res, 0, sizeof(res));
		r = netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, &saved);
		if (r < 0) {
			set_reason(t, "rst: cannot enter the backend's network namespace: %s", strerror(-r));
			continue;
		}
		r = wire_cut(s->family, s->local_raw, (uint16_t)s->local_port, s->client_raw,
			     (uint16_t)s->client_port, run->o->iface, run->o->step_timeout_ms, &res);
		netns_leave(saved);
		if (r < 0 && r != -ENOENT) {
			set_reason(t, "rst: %s", res.reason);
			continue;
		}
		t->signalled = true;         /* -ENOENT: the socket is gone already */
		if (!res.cut)
			set_reason(t, "rst: %s", res.reason);
		audit(run, t, r == -ENOENT ? "step=rst: socket already gone"
			      : res.cut ? "step=rst done" : "step=rst: not verified");
	}
}

/* After destroy or rst: a process still there whose socket is gone is
 * severed. */
static void verify_severed(struct run *run, enum step step)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		int saved, alive = -1;
		char st = '?';
		unsigned long long ticks;
		if (t->done || !t->signalled)
			continue;
		if (netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, &saved) == 0) {
			alive = sockdiag_inet_alive(s->family, s->local_port, s->socket_inode);
			netns_leave(saved);
		}
		if (alive == 0) {
			procfs_start_ticks(run->pfd, s->pid, &ticks, &st);
			finish(run, t, OUTCOME_SEVERED, (int)step);
			set_reason(t, "connection cut; the backend is still there in state %c", st);
			audit(run, t, "outcome=severed");
		}
	}
}

/* Cancel: has the query stopped?  From the title, else from SQL. */
static bool query_stopped(struct run *run, struct target *t, PGconn **conn)
{
	const struct session *s = t->it->s;
	char *buf = NULL, *state = NULL, *err = NULL;
	struct title tt;
	const char *st = NULL;
	bool stopped = false;
	size_t len = 0;

	if (procfs_read(run->pfd, s->pid, "cmdline", TITLE_MAX, &buf, &len) == 0) {
		title_clean(buf, len);
		if (title_parse(buf, s->cluster->cluster_name, NULL, &tt) == 0) {
			st = title_state(tt.activity);
			title_clear(&tt);
		}
		free(buf);
	}
	if (st)
		return strcmp(st, "active") != 0;
	if (!*conn && pgsql_connect(s->cluster, run->o->dsn, conn, &err) < 0) {
		free(err);
		return false;
	}
	if (s->ns_pid > 0 && pgsql_backend_state(*conn, s->ns_pid, &state) == 0 && state)
		stopped = strcmp(state, "active") != 0;
	free(state);
	return stopped;
}

/* Wait for the queries of signalled targets to stop (cancel). */
static void wait_cancel(struct run *run, enum step step)
{
	long long deadline = mono_ms() + run->o->step_timeout_ms;
	PGconn *conn = NULL;
	size_t i, left;

	do {
		for (left = 0, i = 0; i < run->n; i++) {
			struct target *t = &run->t[i];
			if (t->done || !t->signalled)
				continue;
			if (pidfd_exited(t->pidfd)) {
				finish(run, t, OUTCOME_GONE, (int)step);
				set_reason(t, "the backend exited");
			} else if (query_stopped(run, t, &conn)) {
				finish(run, t, OUTCOME_CANCELLED, (int)step);
				audit(run, t, "outcome=cancelled");
			} else {
				left++;
			}
		}
		if (left)
			usleep(10000);
	} while (left && mono_ms() < deadline);
	pgsql_close(conn);
}

static void print_plan_or_result(const struct options *opts, enum action action, const struct plan *plan,
				 const struct evict_result *res)
{
	static const char *const hdr[] = { "PID", "USER", "DATABASE", "CLIENT", "OUTCOME", "STEP", "MS", "NOTE" };
	struct table *tb = NULL;
	size_t i;

	if (!opts->json && !(tb = table_new(8, hdr)))
		return;
	for (i = 0; i < plan->n; i++) {
		const struct evict_result *t = &res[i];
		const struct plan_item *it = &plan->v[i];
		const struct session *s = it->s;
		char client[INET6_ADDRSTRLEN + 16], ms[24], steps[64] = "";
		const char *step = t->step >= 0 ? step_name((enum step)t->step) : NULL;
		const char *note = t->reason[0] ? t->reason : it->skip ? it->skip : it->note;

		if (t->outcome == OUTCOME_PLANNED) {
			ladder_steps_text(it->steps, steps, sizeof(steps));
			step = steps[0] ? steps : NULL;
		}
		if (opts->json) {
			json_object *o = out_action_json(s, action_name(action), outcome_name(t->outcome), step,
							 t->elapsed_ms, note);
			out_json_line(o);
			json_object_put(o);
		} else {
			out_client(s, client, sizeof(client));
			snprintf(ms, sizeof(ms), "%lld", t->elapsed_ms);
			const char *row[] = { NULL, s->user, s->database, client, outcome_name(t->outcome),
					      step ? step : "-", ms, note ? note : "" };
			char pid[16];
			snprintf(pid, sizeof(pid), "%d", s->pid);
			row[0] = pid;
			table_add(tb, row);
		}
	}
	if (tb) {
		if (plan->n)
			table_print(tb);
		table_free(tb);
	}
}

int evict_apply(const struct options *o, enum action action, unsigned steps, const struct plan *plan,
		struct evict_result *ret, bool *ret_destroy_unsupported)
{
	struct run run = { .o = o, .action = action, .pfd = -1 };
	size_t i;

	run.n = plan->n;
	run.t = calloc(plan->n ? plan->n : 1, sizeof(*run.t));
	if (!run.t)
		return -ENOMEM;
	for (i = 0; i < plan->n; i++) {
		run.t[i].it = &plan->v[i];
		run.t[i].pidfd = -1;
		run.t[i].step = -1;
		run.t[i].outcome = OUTCOME_PLANNED;
	}
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	run.pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procfs_netns(run.pfd, 0, &run.self_ns);
	run.progress = isatty(STDERR_FILENO);
	run.t0 = mono_ms();
	for (i = 0; i < run.n; i++) {
		struct target *t = &run.t[i];
		const struct session *s = t->it->s;
		if (t->it->skip) {
			finish(&run, t, OUTCOME_SKIPPED, -1);
			continue;
		}
		t->pidfd = pidfd_open_verified(run.pfd, s->pid, s->start_ticks);
		if (t->pidfd == -ESRCH) {
			finish(&run, t, OUTCOME_GONE, -1);
			set_reason(t, "exited before any step");
		} else if (t->pidfd < 0) {
			finish(&run, t, OUTCOME_SURVIVED, -1);
			set_reason(t, "cannot open a pidfd: %s", strerror(-t->pidfd));
		}
		if (action == ACTION_CANCEL && !t->done && s->state && strcmp(s->state, "active") != 0 &&
		    strcmp(s->state, "fastpath function call") != 0) {
			finish(&run, t, OUTCOME_IDLE, -1);
			set_reason(t, "no query was running (%s)", s->state);
		}
	}

	if (action == ACTION_CANCEL || o->cancel_first) {
		/* cancel: sql then SIGINT, verified on the session's state; for
		 * --cancel-first the cancel steps of --via, else both */
		unsigned csteps = steps & ladder_allowed(ACTION_CANCEL);
		if (!csteps)
			csteps = ladder_allowed(ACTION_CANCEL);
		for (i = 0; i < STEP_DESTROY; i++) {
			enum step st = (enum step)i;
			size_t k;
			if (!(csteps & STEP_BIT(st)))
				continue;
			for (k = 0; k < run.n; k++)
				run.t[k].signalled = false;
			if (st == STEP_SQL)
				step_sql(&run, true);
			else
				step_signal(&run, SIGINT);
			wait_cancel(&run, st);
		}
		if (action == ACTION_TERMINATE) {
			/* --cancel-first: the queries had their chance; now end
			 * every session, cancelled or not. */
			for (i = 0; i < run.n; i++)
				if (run.t[i].outcome == OUTCOME_CANCELLED || run.t[i].outcome == OUTCOME_IDLE) {
					run.t[i].done = false;
					run.t[i].outcome = OUTCOME_PLANNED;
				}
		} else {
			for (i = 0; i < run.n; i++)
				if (!run.t[i].done) {
					finish(&run, &run.t[i], OUTCOME_SURVIVED, STEP_SIGNAL);
					audit(&run, &run.t[i], "outcome=survived");
				}
		}
	}
	if (action != ACTION_CANCEL) {
		for (i = 0; i < STEP_COUNT; i++) {
			enum step st = (enum step)i;
			size_t k;
			if (!(steps & STEP_BIT(st)))
				continue;
			for (k = 0; k < run.n; k++)
				run.t[k].signalled = false;
			if (st == STEP_SQL)
				step_sql(&run, false);
			else if (st == STEP_SIGNAL)
				step_signal(&run, SIGTERM);
			else if (st == STEP_DESTROY)
				step_destroy(&run);
			else
				step_rst(&run);
			wait_step(&run, st);
			if (st == STEP_DESTROY || st == STEP_RST)
				verify_severed(&run, st);
		}
		for (i = 0; i < run.n; i++)
			if (!run.t[i].done) {
				finish(&run, &run.t[i], OUTCOME_SURVIVED, -1);
				audit(&run, &run.t[i], "outcome=survived");
			}
	}
	if (run.progress && mono_ms() - run.t0 > 1000)
		fprintf(stderr, "\r\033[K");
	for (i = 0; i < run.n; i++) {
		ret[i].outcome = run.t[i].outcome;
		ret[i].step = run.t[i].step;
		ret[i].elapsed_ms = run.t[i].elapsed_ms;
		memcpy(ret[i].reason, run.t[i].reason, sizeof(ret[i].reason));
	}
	if (ret_destroy_unsupported)
		*ret_destroy_unsupported = run.destroy_unsupported;
	closelog();
	for (i = 0; i < run.n; i++)
		if (run.t[i].pidfd >= 0)
			close(run.t[i].pidfd);
	if (run.pfd >= 0)
		close(run.pfd);
	free(run.t);
	return 0;
}

static int evict(const struct options *o, enum action action)
{
	struct discovery d;
	struct plan plan = { 0 };
	struct evict_result *res = NULL;
	enum outcome *outs = NULL;
	bool destroy_unsupported = false;
	unsigned steps;
	size_t i;
	int r, status = 0;

	if (select_is_empty(&o->sel)) {
		fprintf(stderr, "pgevict: %s needs a selector (or --all for every session)\n", action_name(action));
		return EXIT_USAGE;
	}
	steps = o->via ? o->via : ladder_default(action);
	if (steps & ~ladder_allowed(action)) {
		fprintf(stderr, "pgevict: --via: %s cannot use that step\n", action_name(action));
		return EXIT_USAGE;
	}
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	if (ladder_plan(action, steps, &o->sel, &d.sessions, d.now_us, &plan) < 0)
		goto nomem;
	res = calloc(plan.n ? plan.n : 1, sizeof(*res));
	outs = calloc(plan.n ? plan.n : 1, sizeof(*outs));
	if (!res || !outs)
		goto nomem;
	for (i = 0; i < plan.n; i++) {
		res[i].step = -1;
		res[i].outcome = OUTCOME_PLANNED;
	}
	if (!plan.n) {
		if (!o->json)
			fprintf(stderr, "pgevict: no session matches; nothing to %s\n", action_name(action));
		goto out;
	}
	if (o->dry_run) {
		print_plan_or_result(o, action, &plan, res);
		goto out;
	}
	if (evict_apply(o, action, steps, &plan, res, &destroy_unsupported) < 0)
		goto nomem;
	print_plan_or_result(o, action, &plan, res);
	for (i = 0; i < plan.n; i++)
		outs[i] = res[i].outcome;
	status = ladder_exit_status(outs, plan.n);
	if (destroy_unsupported)
		fprintf(stderr, "pgevict: this kernel refuses SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): no connection was cut that way\n");
out:
	free(res);
	free(outs);
	plan_clear(&plan);
	discovery_clear(&d);
	return status;
nomem:
	fprintf(stderr, "pgevict: out of memory\n");
	status = 1;
	goto out;
}

int cmd_cancel(const struct options *o)
{
	return evict(o, ACTION_CANCEL);
}

int cmd_terminate(const struct options *o)
{
	return evict(o, ACTION_TERMINATE);
}

int cmd_sever(const struct options *o)
{
	if (o->conn)
		return cmd_sever_conn(o);
	return evict(o, ACTION_SEVER);
}
