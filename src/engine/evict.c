/* SPDX-License-Identifier: MIT */
/*
 * evict.c -- the eviction engine (engine layer).  See evict.h.
 *
 * Each step of the plan is sent to every session still there that may get
 * it (its precondition), then all of them are waited on together (pidfds in
 * one poll) and verified before the next step: the process gone is `gone`;
 * the socket gone with the process alive is `severed`; neither goes on to
 * the next step, and after the last one it `survived`.  A cancel verifies
 * on the session's state instead: the query stopped is `cancelled`.
 *
 * Processes are handled by pidfd, opened right after discovery and checked
 * against the discovered start time, so a pid reused meanwhile is never
 * signalled.  Only SIGTERM (terminate) and SIGINT (cancel) are ever sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/evict.h"
#include "pgevict/netns.h"
#include "pgevict/pgsql.h"
#include "pgevict/pidfd.h"
#include "pgevict/procfs.h"
#include "pgevict/sockdiag.h"
#include "pgevict/title.h"
#include "pgevict/wire.h"

#define NO_DESTROY "destroy: this kernel has no SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY)"

struct target {
	const struct plan_item *it;
	int pidfd;
	enum outcome outcome;
	int step;                  /* the step that decided, or -1 */
	bool done;
	bool ready;                /* scratch: passed this step's precondition */
	bool signalled;            /* scratch: this step reached it */
	char note[200];
	long long elapsed_ms;
};

struct run {
	const struct evict_params *p;
	struct target *t;
	size_t n;
	int pfd;
	unsigned long self_ns;
	long long t0;
	bool cancelling;           /* the cancel steps (cancel, --cancel-first) */
	bool destroy_unsupported;
};

/* One rung of the ladder: who may get it, what it does, how it is checked. */
struct step_def {
	bool network;              /* acts on the client's TCP connection */
	bool reap;                 /* first drop targets that exited by themselves */
	/* why T cannot get the step, or NULL */
	const char *(*pre)(struct run *run, const struct target *t);
	/* send it to the targets marked ready; mark those it reached signalled */
	void (*act)(struct run *run);
	/* wait for the signalled ones and decide (terminate and sever) */
	void (*verify)(struct run *run, enum step step);
};

static void set_note(struct target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(struct target *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->note, sizeof(t->note), fmt, ap);
	va_end(ap);
}

static void audit(const struct run *run, const struct target *t, const char *what)
{
	if (run->p->audit)
		run->p->audit(run->p->audit_arg, run->p->action, t->it->s, what);
}

static void finish(struct run *run, struct target *t, enum outcome out, int step)
{
	t->outcome = out;
	t->step = step;
	t->done = true;
	t->elapsed_ms = clock_mono_ms() - run->t0;
}

static void progress_cb(size_t exited, size_t total, void *arg)
{
	struct run *run = arg;

	if (run->p->progress)
		run->p->progress(run->p->progress_arg, run->p->action, exited, total);
}

/* The targets of STEP: not done, and planned for it. */
static bool wants(const struct target *t, enum step step)
{
	return !t->done && (t->it->steps & STEP_BIT(step));
}

static bool netns_in(struct run *run, const struct session *s, int *ret_saved)
{
	return netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, ret_saved) == 0;
}

/* --- verification --- */

/* Wait for the signalled targets; mark exited ones gone. */
static void verify_gone(struct run *run, enum step step)
{
	size_t n = run->n ? run->n : 1, i;
	int *fds = calloc(n, sizeof(*fds));
	bool *want = calloc(n, sizeof(*want)), *done = calloc(n, sizeof(*done));

	if (!fds || !want || !done)
		goto out;
	for (i = 0; i < run->n; i++) {
		fds[i] = run->t[i].pidfd;
		want[i] = !run->t[i].done && run->t[i].signalled && run->t[i].pidfd >= 0;
	}
	pidfd_wait_all(fds, want, done, run->n, (int)run->p->step_timeout_ms, progress_cb, run);
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

/* After destroy or rst: gone, or a process still there whose socket is
 * gone is severed. */
static void verify_cut(struct run *run, enum step step)
{
	size_t i;

	verify_gone(run, step);
	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		int saved, alive = -1;
		char st = '?';
		unsigned long long ticks;
		if (t->done || !t->signalled)
			continue;
		if (netns_in(run, s, &saved)) {
			alive = sockdiag_inet_alive(s->family, s->local_port, s->socket_inode);
			netns_leave(saved);
		}
		if (alive == 0) {
			procfs_start_ticks(run->pfd, s->pid, &ticks, &st);
			finish(run, t, OUTCOME_SEVERED, (int)step);
			set_note(t, "connection cut; the backend is still there in state %c", st);
			audit(run, t, "outcome=severed");
		}
	}
}

/* Cancel: has the query stopped?  From the title, else from SQL. */
static bool query_stopped(struct run *run, const struct target *t, PGconn **conn)
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
	if (!*conn && pgsql_connect(s->cluster, run->p->dsn, conn, &err) < 0) {
		free(err);
		return false;
	}
	if (s->ns_pid > 0 && pgsql_backend_state(*conn, s->ns_pid, &state) == 0 && state)
		stopped = strcmp(state, "active") != 0;
	free(state);
	return stopped;
}

/* Wait for the queries of signalled targets to stop (cancel). */
static void verify_cancel(struct run *run, enum step step)
{
	long long deadline = clock_mono_ms() + run->p->step_timeout_ms;
	PGconn *conn = NULL;
	size_t i, left;

	do {
		for (left = 0, i = 0; i < run->n; i++) {
			struct target *t = &run->t[i];
			if (t->done || !t->signalled)
				continue;
			if (pidfd_exited(t->pidfd)) {
				finish(run, t, OUTCOME_GONE, (int)step);
				set_note(t, "the backend exited");
			} else if (query_stopped(run, t, &conn)) {
				finish(run, t, OUTCOME_CANCELLED, (int)step);
				audit(run, t, "outcome=cancelled");
			} else {
				left++;
			}
		}
		if (left)
			usleep(10000);
	} while (left && clock_mono_ms() < deadline);
	pgsql_close(conn);
}

/* --- sql: pg_terminate_backend / pg_cancel_backend --- */

static const char *pre_sql(struct run *run, const struct target *t)
{
	(void)run;
	if (t->it->s->start_us == TIME_UNKNOWN)
		return "sql: backend start unknown, not matched by pid alone";
	if (t->it->s->ns_pid <= 0)
		return "sql: its pid in the cluster's pid namespace is unknown";
	return NULL;
}

/* One connection and one statement for the ready targets of the cluster
 * of target FIRST (the first ready one of it). */
static void sql_cluster(struct run *run, size_t first)
{
	struct pg_cluster *c = run->t[first].it->s->cluster;
	size_t n = run->n, j, k, m = 0;
	pid_t *pids = calloc(n, sizeof(*pids));
	int64_t *starts = calloc(n, sizeof(*starts));
	bool *ok = calloc(n, sizeof(*ok)), cancel = run->cancelling;
	size_t *idx = calloc(n, sizeof(*idx));
	PGconn *conn = NULL;
	char *err = NULL;

	if (!pids || !starts || !ok || !idx)
		goto out;
	for (j = first; j < n; j++)
		if (run->t[j].ready && run->t[j].it->s->cluster == c) {
			pids[m] = run->t[j].it->s->ns_pid;   /* what the server calls it */
			starts[m] = run->t[j].it->s->start_us;
			idx[m++] = j;
		}
	if (pgsql_connect(c, run->p->dsn, &conn, &err) < 0 ||
	    pgsql_signal_backends(conn, cancel, pids, starts, m, ok, &err) < 0) {
		for (k = 0; k < m; k++)
			set_note(&run->t[idx[k]], "sql: %s", err ? err : "failed");
		goto out;
	}
	for (k = 0; k < m; k++) {
		struct target *t = &run->t[idx[k]];
		t->signalled = ok[k];
		audit(run, t, ok[k] ? "step=sql sent" : "step=sql refused");
		if (!ok[k])
			set_note(t, "sql: %s returned false", cancel ? "pg_cancel_backend" : "pg_terminate_backend");
	}
out:
	free(err);
	pgsql_close(conn);
	free(pids);
	free(starts);
	free(ok);
	free(idx);
}

static void act_sql(struct run *run)
{
	size_t i, j;

	for (i = 0; i < run->n; i++) {
		bool first = run->t[i].ready;
		for (j = 0; j < i && first; j++)
			if (run->t[j].ready && run->t[j].it->s->cluster == run->t[i].it->s->cluster)
				first = false;
		if (first)
			sql_cluster(run, i);
	}
}

/* --- signal: SIGTERM / SIGINT through the pidfd --- */

static void act_signal(struct run *run)
{
	int sig = run->cancelling ? SIGINT : SIGTERM;
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		int r;
		if (!t->ready)
			continue;
		r = pidfd_signal(t->pidfd, sig);
		if (r == -ESRCH) {
			finish(run, t, OUTCOME_GONE, STEP_SIGNAL);
			continue;
		}
		if (r < 0) {
			set_note(t, "signal: %s", strerror(-r));
			continue;
		}
		t->signalled = true;
		audit(run, t, sig == SIGTERM ? "step=signal SIGTERM sent" : "step=signal SIGINT sent");
	}
}

/* --- destroy: SOCK_DESTROY in the backend's network namespace --- */

static const char *pre_destroy(struct run *run, const struct target *t)
{
	(void)t;
	return run->destroy_unsupported ? NO_DESTROY : NULL;
}

static void act_destroy(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		struct sockdiag_inet e = { .family = s->family, .inode = s->socket_inode,
					   .cookie = { s->cookie[0], s->cookie[1] },
					   .sport = (uint16_t)s->local_port, .dport = (uint16_t)s->client_port };
		int saved, r;
		if (!t->ready)
			continue;
		if (run->destroy_unsupported) {   /* found on an earlier target */
			set_note(t, NO_DESTROY);
			continue;
		}
		memcpy(e.src, s->local_raw, sizeof(e.src));
		memcpy(e.dst, s->client_raw, sizeof(e.dst));
		r = netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, &saved);
		if (r == 0) {
			r = sockdiag_destroy(&e);
			netns_leave(saved);
		}
		if (r == -EOPNOTSUPP) {
			run->destroy_unsupported = true;
			set_note(t, NO_DESTROY);
			continue;
		}
		if (r < 0 && r != -ENOENT) {
			set_note(t, "destroy: %s", strerror(-r));
			continue;
		}
		t->signalled = true;
		audit(run, t, r == 0 ? "step=destroy done" : "step=destroy: socket already gone");
	}
}

/* --- rst: RST injection (wire.h) in the backend's network namespace --- */

static void act_rst(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		struct wire_result res;
		int saved, r;
		if (!t->ready)
			continue;
		memset(&res, 0, sizeof(res));
		r = netns_enter(run->pfd, s->cluster->pid, s->cluster->netns, run->self_ns, &saved);
		if (r < 0) {
			set_note(t, "rst: cannot enter the backend's network namespace: %s", strerror(-r));
			continue;
		}
		r = wire_cut(s->family, s->local_raw, (uint16_t)s->local_port, s->client_raw,
			     (uint16_t)s->client_port, run->p->iface, run->p->step_timeout_ms, &res);
		netns_leave(saved);
		if (r < 0 && r != -ENOENT) {
			set_note(t, "rst: %s", res.reason);
			continue;
		}
		t->signalled = true;         /* -ENOENT: the socket is gone already */
		if (!res.cut)
			set_note(t, "rst: %s", res.reason);
		audit(run, t, r == -ENOENT ? "step=rst: socket already gone"
			      : res.cut ? "step=rst done" : "step=rst: not verified");
	}
}

static const struct step_def step_table[STEP_COUNT] = {
	[STEP_SQL] = { .network = false, .reap = true, .pre = pre_sql, .act = act_sql, .verify = verify_gone },
	[STEP_SIGNAL] = { .network = false, .reap = false, .pre = NULL, .act = act_signal, .verify = verify_gone },
	[STEP_DESTROY] = { .network = true, .reap = true, .pre = pre_destroy, .act = act_destroy,
			   .verify = verify_cut },
	[STEP_RST] = { .network = true, .reap = true, .pre = NULL, .act = act_rst, .verify = verify_cut },
};

/* Run STEP on every target that wants it: precondition, action, verification. */
static void run_step(struct run *run, enum step step)
{
	const struct step_def *d = &step_table[step];
	const char *why;
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		t->ready = t->signalled = false;
		if (!wants(t, step))
			continue;
		if (d->reap && pidfd_exited(t->pidfd)) {
			finish(run, t, OUTCOME_GONE, -1);
			set_note(t, "exited before %s", step_name(step));
			audit(run, t, "outcome=gone (exited by itself)");
		} else if (d->pre && (why = d->pre(run, t))) {
			set_note(t, "%s", why);
		} else {
			t->ready = true;
		}
	}
	d->act(run);
	if (run->cancelling)
		verify_cancel(run, step);
	else
		d->verify(run, step);
}

/* What is decided before any step, the same in a dry run: skipped, and
 * for cancel a session with no query running.  True when decided. */
static bool decide_early(struct run *run, struct target *t)
{
	const struct session *s = t->it->s;

	if (t->it->skip) {
		finish(run, t, OUTCOME_SKIPPED, -1);
		set_note(t, "%s", t->it->skip);
		return true;
	}
	if (run->p->action == ACTION_CANCEL && s->state && strcmp(s->state, "active") != 0 &&
	    strcmp(s->state, "fastpath function call") != 0) {
		finish(run, t, OUTCOME_IDLE, -1);
		set_note(t, "no query was running (%s)", s->state);
		return true;
	}
	return false;
}

/* Open a pidfd on every target still to act on.  */
static void open_targets(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		const struct session *s = t->it->s;
		if (t->done)
			continue;
		t->pidfd = pidfd_open_verified(run->pfd, s->pid, s->start_ticks);
		if (t->pidfd == -ESRCH) {
			finish(run, t, OUTCOME_GONE, -1);
			set_note(t, "exited before any step");
		} else if (t->pidfd < 0) {
			finish(run, t, OUTCOME_SURVIVED, -1);
			set_note(t, "cannot open a pidfd: %s", strerror(-t->pidfd));
		}
	}
}

/* The cancel steps: sql then SIGINT, verified on the session's state; for
 * --cancel-first the cancel steps of the ladder, else both. */
static void cancel_steps(struct run *run)
{
	unsigned csteps = run->p->steps & ladder_allowed(ACTION_CANCEL);
	size_t i;

	if (!csteps)
		csteps = ladder_allowed(ACTION_CANCEL);
	run->cancelling = true;
	for (i = 0; i < STEP_COUNT; i++)
		if (csteps & STEP_BIT(i))
			run_step(run, (enum step)i);
	run->cancelling = false;
	for (i = 0; i < run->n; i++) {
		struct target *t = &run->t[i];
		if (run->p->action == ACTION_TERMINATE) {
			/* --cancel-first: the queries had their chance; now end
			 * every session, cancelled or not. */
			if (t->outcome == OUTCOME_CANCELLED || t->outcome == OUTCOME_IDLE) {
				t->done = false;
				t->outcome = OUTCOME_PLANNED;
			}
		} else if (!t->done) {
			finish(run, t, OUTCOME_SURVIVED, STEP_SIGNAL);
			audit(run, t, "outcome=survived");
		}
	}
}

static void ladder_steps(struct run *run)
{
	size_t i;

	for (i = 0; i < STEP_COUNT; i++)
		if (run->p->steps & STEP_BIT(i))
			run_step(run, (enum step)i);
	for (i = 0; i < run->n; i++)
		if (!run->t[i].done) {
			finish(run, &run->t[i], OUTCOME_SURVIVED, -1);
			audit(run, &run->t[i], "outcome=survived");
		}
}

/* Into RET: the outcome, and the plan's note where the real run left none
 * and it still matters (not when a step that needs no network decided). */
static void fill_result(const struct target *t, struct evict_result *ret)
{
	const char *note = t->it->note;

	ret->outcome = t->outcome;
	ret->step = t->step;
	ret->elapsed_ms = t->elapsed_ms;
	if (t->note[0] || !note || (t->step >= 0 && !step_table[t->step].network))
		note = t->note;
	snprintf(ret->note, sizeof(ret->note), "%s", note);
}

void evict_params_init(struct evict_params *p, enum action action)
{
	memset(p, 0, sizeof(*p));
	p->action = action;
	p->steps = ladder_default(action);
	p->step_timeout_ms = 2000;
}

int evict(const struct evict_params *p, const struct plan *plan, struct evict_result *ret,
	  bool *ret_destroy_unsupported)
{
	struct run run = { .p = p, .pfd = -1, .n = plan->n };
	size_t i;

	run.t = calloc(plan->n ? plan->n : 1, sizeof(*run.t));
	if (!run.t)
		return -ENOMEM;
	run.t0 = clock_mono_ms();
	for (i = 0; i < run.n; i++) {
		run.t[i].it = &plan->v[i];
		run.t[i].pidfd = -1;
		run.t[i].step = -1;
		run.t[i].outcome = OUTCOME_PLANNED;
		if (decide_early(&run, &run.t[i]))
			run.t[i].elapsed_ms = 0;
	}
	if (!p->dry_run) {
		run.pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		procfs_netns(run.pfd, 0, &run.self_ns);
		open_targets(&run);
		if (p->action == ACTION_CANCEL || p->cancel_first)
			cancel_steps(&run);
		if (p->action != ACTION_CANCEL)
			ladder_steps(&run);
	}
	for (i = 0; i < run.n; i++)
		fill_result(&run.t[i], &ret[i]);
	if (ret_destroy_unsupported)
		*ret_destroy_unsupported = run.destroy_unsupported;
	for (i = 0; i < run.n; i++)
		if (run.t[i].pidfd >= 0)
			close(run.t[i].pidfd);
	if (run.pfd >= 0)
		close(run.pfd);
	free(run.t);
	return 0;
}
