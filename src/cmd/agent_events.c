/* SPDX-License-Identifier: MIT */
/*
 * agent_events.c -- the agent's process events (engine layer).  See
 * agent.h.
 *
 * The kernel tells the agent of each fork of a known postmaster (the
 * proc connector, procevents.h, filtered in the kernel so that no other
 * fork wakes it).  A new backend first shows the postmaster's command
 * line, then, once the client's startup packet is read, a title that
 * names its user and database: it is read again 2, 5, 20, 50, 100, 200,
 * 500 and 1000 ms after the fork until it does.  Then, if some rule could
 * match it, the loop runs a pass at once (a cheap one, and a full one when
 * a rule may act), so `keep` and `match` rules act within milliseconds of
 * a connection.  The backend of the agent's own SQL is not judged (each
 * pass's connection would otherwise ask for the next pass).  An exit
 * forgets a child still waited for.  Lost events
 * (a full socket buffer) ask for a pass too.  The periodic passes stay as
 * the safety net.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/pgsql.h"
#include "pgevict/procevents.h"
#include "pgevict/procfs.h"
#include "pgevict/title.h"

static const int sched_ms[] = { 2, 5, 20, 50, 100, 200, 500, 1000 };
#define NSCHED ((int)(sizeof(sched_ms) / sizeof(sched_ms[0])))
#define EV_BATCH 256
#define EV_PEND_MAX 65536          /* beyond: the periodic passes */
#define EV_MIN_GAP_MS 5            /* passes that events ask for, at most this often */

void agent_events_open(struct agent *a)
{
	int fd = procev_open();

	if (fd < 0) {
		a->efd = -1;
		const char *why = fd == -EPERM ? ", CAP_NET_ADMIN is needed"
				  : fd == -ECONNREFUSED || fd == -EPROTONOSUPPORT
				  ? ", the kernel offers them in the host's network namespace only" : "";
		agent_say(LOG_WARNING, "no process events (%s%s): polling alone, a pass every %lldms", strerror(-fd),
			  why, (long long)a->p.interval_ms);
		return;
	}
	a->efd = fd;
	agent_say(LOG_NOTICE, "process events: new sessions are judged as they connect");
}

void agent_events_clear(struct agent *a)
{
	procev_close(a->efd);
	a->efd = -1;
	free(a->ev_pm);
	free(a->pend);
	a->ev_pm = NULL;
	a->pend = NULL;
	a->nev_pm = a->npend = a->cappend = 0;
}

static int pid_cmp(const void *pa, const void *pb)
{
	pid_t x = *(const pid_t *)pa, y = *(const pid_t *)pb;

	return x < y ? -1 : x > y;
}

void agent_events_sync(struct agent *a)
{
	size_t n = a->have_last ? a->last.clusters.n : 0, i;
	pid_t *v;

	if (a->efd < 0)
		return;
	if (!(v = calloc(n ? n : 1, sizeof(*v))))
		return;
	for (i = 0; i < n; i++)
		v[i] = a->last.clusters.v[i]->pid;
	qsort(v, n, sizeof(*v), pid_cmp);
	if (n == a->nev_pm && (!n || memcmp(v, a->ev_pm, n * sizeof(*v)) == 0)) {
		free(v);
		return;
	}
	if (procev_filter(a->efd, v, n) < 0) {
		free(v);
		return;   /* the old filter stays; the periodic passes remain */
	}
	free(a->ev_pm);
	a->ev_pm = v;
	a->nev_pm = n;
}

long long agent_events_next_ms(const struct agent *a)
{
	long long due = -1;
	size_t i;

	for (i = 0; i < a->npend; i++)
		if (due < 0 || a->pend[i].due_ms < due)
			due = a->pend[i].due_ms;
	if (due >= 0 && due < a->ev_last_ms + EV_MIN_GAP_MS)
		due = a->ev_last_ms + EV_MIN_GAP_MS;
	return due;
}

static void pend_add(struct agent *a, pid_t pid, pid_t pm, long long now)
{
	if (a->npend == a->cappend) {
		size_t cap = a->cappend ? a->cappend * 2 : 64;
		struct pend *nv;
		if (cap > EV_PEND_MAX || !(nv = realloc(a->pend, cap * sizeof(*nv))))
			return;
		a->pend = nv;
		a->cappend = cap;
	}
	a->pend[a->npend++] = (struct pend){ .pid = pid, .pm = pm, .born_ms = now, .due_ms = now + sched_ms[0] };
}

static void pend_drop(struct agent *a, size_t i)
{
	a->pend[i] = a->pend[--a->npend];
}

/* Read what the kernel sent.  1 when events were lost. */
static int events_read(struct agent *a, long long now)
{
	struct procev ev[EV_BATCH];
	size_t n, i, j;
	int r;

	do {
		r = procev_read(a->efd, ev, EV_BATCH, &n);
		if (r == -ENOBUFS) {
			a->ev_lost++;
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (!bsearch(&ev[i].parent, a->ev_pm, a->nev_pm, sizeof(pid_t), pid_cmp))
				continue;
			if (ev[i].what == PROCEV_FORK) {
				a->ev_forks++;
				pend_add(a, ev[i].pid, ev[i].parent, now);
				continue;
			}
			a->ev_exits++;
			for (j = 0; j < a->npend; j++)
				if (a->pend[j].pid == ev[i].pid) {
					pend_drop(a, j);
					break;
				}
		}
	} while (r == 0 && n == EV_BATCH);
	return 0;
}

/* The cluster of postmaster PM in the last full pass, or NULL. */
static struct pg_cluster *cluster_of(struct agent *a, pid_t pm)
{
	size_t i;

	for (i = 0; a->have_last && i < a->last.clusters.n; i++)
		if (a->last.clusters.v[i]->pid == pm)
			return a->last.clusters.v[i];
	return NULL;
}

/* Read P's title.  1 when it names its user and database and some rule
 * could match it (a pass is due), 0 when it is settled otherwise (gone,
 * not a client backend, no rule for it), -EAGAIN: read it again later;
 * 2: a pass is due, and the title is to be read again, for the session is
 * still starting (authentication): a rule on its state may match later. */
static int pend_check(struct agent *a, const struct pend *p, int64_t now_us)
{
	struct pg_cluster *c = cluster_of(a, p->pm);
	struct session s = { 0 };
	struct title tt;
	char *buf = NULL;
	size_t len = 0, k;
	pid_t inner;
	int r = 0;

	if (!c)
		return 0;
	/* our own SQL's backend is no client to judge */
	inner = p->pid;
	if ((c->ns_own & NS_PID) && procfs_inner_pid(a->pfd, p->pid, &inner) < 0)
		return 0;
	if (pgsql_own_backend(c->pid, inner, TIME_UNKNOWN))
		return 0;
	if (procfs_read(a->pfd, p->pid, "cmdline", TITLE_MAX, &buf, &len) < 0)
		return 0;
	title_clean(buf, len);
	if (title_parse(buf, c->cluster_name, NULL, &tt) < 0) {
		free(buf);
		return -EAGAIN;   /* still the postmaster's command line */
	}
	free(buf);
	if (!tt.is_client || !tt.backend_type || strcmp(tt.backend_type, "client backend") != 0)
		goto out;
	if (!tt.user || !tt.database) {
		r = -EAGAIN;
		goto out;
	}
	s.pid = p->pid;
	s.cluster = c;
	s.is_client = true;
	s.backend_type = tt.backend_type;
	s.user = tt.user;
	s.database = tt.database;
	s.state = title_state(tt.activity);
	s.state_change_us = s.query_start_us = TIME_UNKNOWN;
	for (k = 0; k < a->rules.n && !r; k++)
		if (rules_may_match(&a->rules.v[k].sel, &s, now_us, true))
			r = 1;
	if (s.state && strcmp(s.state, "starting") == 0)
		r = r == 1 && !p->judged ? 2 : -EAGAIN;
out:
	title_clear(&tt);
	return r;
}

int agent_events_handle(struct agent *a, bool readable)
{
	long long now = clock_mono_ms();
	int64_t now_us = clock_wall_us();
	int want = 0, r;
	size_t i;

	if (a->efd < 0)
		return 0;
	if (readable && events_read(a, now))
		want = 1;
	if (now < a->ev_last_ms + EV_MIN_GAP_MS)
		return want;    /* the due titles wait a moment: a storm costs few passes */
	for (i = 0; i < a->npend;) {
		struct pend *p = &a->pend[i];
		if (p->due_ms > now) {
			i++;
			continue;
		}
		r = pend_check(a, p, now_us);
		if (r == 2) {
			want = 1;
			p->judged = true;
			r = -EAGAIN;
		}
		if (r == -EAGAIN && ++p->tries < NSCHED) {
			p->due_ms = p->born_ms + sched_ms[p->tries];
			i++;
			continue;
		}
		if (r == 1)
			want = 1;
		pend_drop(a, i);
	}
	return want;
}
