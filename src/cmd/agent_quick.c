/* SPDX-License-Identifier: MIT */
/*
 * agent_quick.c -- the agent's cheap passes (engine layer).  See agent.h.
 *
 * Between full passes: each postmaster's children (one read of
 * /proc/PID/task/PID/children, and only when the postmaster ran since:
 * only it forks them), each child's CPU time through a kept
 * /proc/PID/schedstat fd, and the title only of those that ran since; if
 * no rule could match any session once everything is known
 * (rules_may_match), the full pass is skipped.  A full pass runs at least
 * every AGENT_FULL_EVERY_MS, which also finds new clusters.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/procfs.h"
#include "pgevict/select.h"
#include "pgevict/title.h"

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


void agent_quick_clear(struct agent *a)
{
	quick_clear(a);
	pm_prune(a, true);
}

/* What a cheap pass gathers: the children found (the next a->q), and a
 * session each for the selectors (user and database borrowed). */
struct quick {
	struct agent *a;
	struct qent *nv;
	size_t nn, capn;
	struct session_list l;
};

/*
 * The pids of C's children as text into *RET_KIDS (malloc'd): the known
 * ones when the postmaster has not run since (*RET_CACHED), else read.
 * 0; 1 when only a full pass will do; -ENOMEM.
 */
static int quick_children(struct agent *a, const struct pg_cluster *c, char **ret_kids, bool *ret_cached)
{
	struct pmstate *ps;
	struct qent pmq = { .pid = c->pid, .fd = -1 };
	unsigned long long prt;
	char rel[64];
	size_t j, len = 0;

	/* the postmaster must still be the same process */
	if (!(ps = pm_get(a, c)))
		return 1;
	ps->used = true;
	pmq.fd = ps->fd;
	if (quick_runtime(a, &pmq, &prt) != 1)
		return 1;
	*ret_cached = ps->have && prt == ps->runtime;
	if (!*ret_cached) {
		snprintf(rel, sizeof(rel), "task/%d/children", (int)c->pid);
		if (procfs_read(a->pfd, c->pid, rel, 1 << 20, ret_kids, NULL) < 0)
			return 1;   /* no CONFIG_PROC_CHILDREN: full passes only */
		ps->runtime = prt;
		ps->have = true;
		return 0;
	}
	/* it has not run: no child was born; the known ones */
	if (!(*ret_kids = malloc(a->nq * 12 + 1)))
		return -ENOMEM;
	(*ret_kids)[0] = '\0';
	for (j = 0; j < a->nq; j++)
		if (a->q[j].pm == c->pid)
			len += (size_t)sprintf(*ret_kids + len, "%d ", (int)a->q[j].pid);
	return 0;
}

/*
 * The child PID of C: carried over from the last pass (or new), its CPU
 * time read, its title parsed again when it ran, a session added for the
 * selectors.  0; 1 when only a full pass will do; -ENOMEM.
 */
static int quick_child(struct quick *qk, struct pg_cluster *c, pid_t pid, bool cached)
{
	struct agent *a = qk->a;
	struct qent key = { .pid = pid }, *old, *e;
	unsigned long long rt = 0;
	int got;

	if (qk->nn == qk->capn) {
		size_t cap = qk->capn ? qk->capn * 2 : 256;
		struct qent *x = realloc(qk->nv, cap * sizeof(*x));
		if (!x)
			return -ENOMEM;
		qk->nv = x;
		qk->capn = cap;
	}
	old = a->nq ? bsearch(&key, a->q, a->nq, sizeof(*a->q), qent_cmp) : NULL;
	e = &qk->nv[qk->nn];
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
		return 0;
	}
	if (got == 0) {
		/* new, gone, or the pid is another process now */
		qent_drop(e);
		e->runtime = 0;
		if (procfs_start_ticks(a->pfd, e->pid, &e->start_ticks, NULL) < 0 ||
		    (got = quick_runtime(a, e, &rt)) == 0) {
			qent_drop(e);
			return 0;
		}
	}
	qk->nn++;
	if (got < 0)
		return 1;
	if (!e->parsed || rt != e->runtime) {
		e->runtime = rt;
		if (quick_parse(a, c, e) < 0)
			return -ENOMEM;
	}
	return quick_session(a, c, e, &qk->l) < 0 ? -ENOMEM : 0;
}

/* Time the sessions of L: /proc/PID/io of those a timed rule may match
 * (no SQL: the lower bound restarts on any IO), then the tracker.  0 or
 * -ENOMEM. */
static int quick_track(struct agent *a, struct session_list *l, int64_t now_us)
{
	uint64_t *io;
	size_t i;
	int r;

	if (agent_headroom_near(a, &a->last.clusters, l) < 0)
		return -ENOMEM;
	if (!(io = malloc((l->n ? l->n : 1) * sizeof(*io))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++) {
		char *text = NULL;
		io[i] = TRACK_IO_UNKNOWN;
		if (!agent_io_relevant(a, &l->v[i], now_us))
			continue;
		if (procfs_read(a->pfd, l->v[i].pid, "io", 1024, &text, NULL) == 0 && track_parse_io(text, &io[i]) < 0)
			io[i] = TRACK_IO_UNKNOWN;
		free(text);
	}
	r = track_update(&a->track, l, io, now_us);
	free(io);
	if (r < 0)
		return r;
	for (i = 0; i < l->n; i++) {
		const struct track_ent *te = track_find(&a->track, l->v[i].pid, l->v[i].start_ticks);
		l->v[i].state_change_us = te ? te->since_lo_us : TIME_UNKNOWN;
		l->v[i].query_start_us = l->v[i].state_change_us;
	}
	return 0;
}

/* Could a rule act: in some cluster, more candidates than it keeps, or
 * fewer free slots than a headroom rule keeps? */
static bool quick_may_act(const struct agent *a, const struct session_list *l, int64_t now_us)
{
	size_t k, ci, i;

	for (k = 0; k < a->rules.n; k++) {
		const struct rule *ru = &a->rules.v[k];
		for (ci = 0; ci < a->last.clusters.n; ci++) {
			size_t cand = 0;
			if (ru->headroom) {
				/* walsenders counted too: never fewer than there are */
				const struct pg_cluster *c = a->last.clusters.v[ci];
				int fr = cluster_slots_free(c, cluster_slots_used(c, l));
				if (fr != INT_MIN && fr < ru->headroom)
					return true;
				continue;
			}
			for (i = 0; i < l->n; i++)
				if (l->v[i].cluster == a->last.clusters.v[ci] &&
				    rules_may_match(&ru->sel, &l->v[i], now_us, false))
					cand++;
			if (cand > (size_t)ru->keep)
				return true;
		}
	}
	return false;
}

int agent_quick_pass(struct agent *a, int64_t now_us)
{
	struct quick qk = { .a = a };
	size_t i, k;
	int r = 1;

	if (!a->have_last || clock_mono_ms() - a->last_full_ms >= AGENT_FULL_EVERY_MS)
		return 1;
	for (k = 0; k < a->last.clusters.n; k++) {
		struct pg_cluster *c = a->last.clusters.v[k];
		char *kids = NULL, *p, *end;
		bool cached = false;

		if ((r = quick_children(a, c, &kids, &cached)) != 0)
			goto out;
		for (p = kids;; p = end) {
			long v;
			errno = 0;
			v = strtol(p, &end, 10);
			if (end == p || errno || v <= 0)
				break;
			if ((r = quick_child(&qk, c, (pid_t)v, cached)) != 0)
				break;
		}
		free(kids);
		if (r != 0)
			goto out;
	}
	if ((r = quick_track(a, &qk.l, now_us)) < 0)
		goto out;
	r = quick_may_act(a, &qk.l, now_us) ? 1 : 0;
	a->quick_passes++;
	agent_metrics_sessions(a, &a->last.clusters, &qk.l);
out:
	pm_prune(a, false);
	/* what was not carried over: closed */
	quick_clear(a);
	a->q = qk.nv;
	a->nq = qk.nn;
	if (qk.nv)
		qsort(a->q, a->nq, sizeof(*a->q), qent_cmp);
	for (i = 0; i < qk.l.n; i++)
		qk.l.v[i].user = qk.l.v[i].database = NULL;   /* borrowed */
	session_list_clear(&qk.l);
	return r;
}
