/* SPDX-License-Identifier: MIT */
/*
 * agent_pass.c -- one full pass of the agent (engine layer).  See agent.h.
 *
 * Discover, time the states SQL did not time (track.h), and for each rule
 * in order plan (ladder_plan), keep the oldest (rules_keep) and apply
 * (evict.h, its audit tagged with the rule), reporting every action
 * (agent_report).  A session acted on by one rule is left alone by the
 * later rules of the same pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/procfs.h"

static int dry_cmp(const void *pa, const void *pb)
{
	const struct dry_key *a = pa, *b = pb;

	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->start_ticks < b->start_ticks ? -1 : a->start_ticks > b->start_ticks;
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
		agent_say(LOG_WARNING, "no SQL for %s; timing states from the process titles", sql);
	else if (a->sql_note && a->sql_note[0] != '|')
		agent_say(LOG_NOTICE, "SQL works again on every cluster");
	if (net[0])
		agent_say(LOG_WARNING, "%s; the clients of its sessions are unknown, and --client matches none", net);
	free(a->sql_note);
	a->sql_note = key;
}

/* Does S's I/O matter: could a rule with --idle-for or --running-for
 * match it, time aside?  (Others need no clock of their own.) */
/* Is S in a cluster where a headroom rule may soon act? */
static bool near(const struct agent *a, const struct session *s)
{
	size_t i;

	for (i = 0; s->cluster && i < a->nnear; i++)
		if (a->near_pm[i] == s->cluster->pid)
			return true;
	return false;
}

bool agent_io_relevant(const struct agent *a, const struct session *s, int64_t now_us)
{
	size_t k;

	for (k = 0; k < a->rules.n; k++) {
		const struct selector *sel = &a->rules.v[k].sel;
		bool timed = sel->idle_for_ms >= 0 || sel->running_for_ms >= 0 ||
			     (a->rules.v[k].headroom && a->rules.v[k].order == ORDER_IDLE_LONGEST && near(a, s));
		if (timed && rules_may_match(sel, s, now_us, true))
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

	if (agent_headroom_near(a, &d->clusters, &d->sessions) < 0)
		return -ENOMEM;
	io = malloc((d->sessions.n ? d->sessions.n : 1) * sizeof(*io));
	if (!io)
		return -ENOMEM;
	for (i = 0; i < d->sessions.n; i++) {
		const struct session *s = &d->sessions.v[i];
		char *text = NULL;
		io[i] = TRACK_IO_UNKNOWN;
		if (!s->is_client || s->state_change_us != TIME_UNKNOWN || !agent_io_relevant(a, s, d->now_us))
			continue;
		if (procfs_read(a->pfd, s->pid, "io", 1024, &text, NULL) == 0 && track_parse_io(text, &io[i]) < 0)
			io[i] = TRACK_IO_UNKNOWN;
		free(text);
	}
	r = track_update(&a->track, &d->sessions, io, d->now_us);
	free(io);
	return r;
}

/* Into SUB (allocated for PLAN's size): the items of PLAN that RU acts
 * on: those that may be acted on, not yet acted on in this pass (ACTED,
 * by index in D's sessions), and not kept by RU.  0 or -ENOMEM. */
static int rule_targets(const struct rule *ru, const struct plan *plan, const struct discovery *d,
			const bool *acted, struct plan *sub)
{
	size_t n0 = plan->n ? plan->n : 1, *idx = calloc(n0, sizeof(*idx)), i, n = 0;
	struct session **v = calloc(n0, sizeof(*v));
	bool *act = calloc(n0, sizeof(*act));
	int r = -ENOMEM;

	sub->action = ru->action;
	sub->n = 0;
	if (!v || !idx || !act)
		goto out;
	for (i = 0; i < plan->n; i++) {
		if (plan->v[i].skip || acted[plan->v[i].s - d->sessions.v])
			continue;
		v[n] = plan->v[i].s;
		idx[n++] = i;
	}
	if ((r = rules_keep(ru, v, n, act)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (act[i])
			sub->v[sub->n++] = plan->v[idx[i]];
out:
	free(v);
	free(idx);
	free(act);
	return r;
}

/* --dry-run: remember that RU planned IT in this pass; true when the
 * previous pass planned it too (said already).  -ENOMEM. */
static int dry_seen(struct agent *a, const struct rule *ru, const struct plan_item *it)
{
	struct dry_key key = { (size_t)(ru - a->rules.v), it->s->pid, it->s->start_ticks };
	bool seen = a->ndry_prev && bsearch(&key, a->dry_prev, a->ndry_prev, sizeof(key), dry_cmp);

	if (a->ndry_cur == a->capdry) {
		size_t cap = a->capdry ? a->capdry * 2 : 64;
		struct dry_key *nv = realloc(a->dry_cur, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->dry_cur = nv;
		a->capdry = cap;
	}
	a->dry_cur[a->ndry_cur++] = key;
	return seen;
}

int agent_pass_report(struct agent *a, const struct rule *ru, const struct plan *sub,
		      const struct evict_result *res)
{
	size_t i;
	int r;

	for (i = 0; i < sub->n; i++) {
		if (a->p.dry_run && (r = dry_seen(a, ru, &sub->v[i])) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		agent_report(a, ru, &sub->v[i], &res[i]);
		agent_metrics_action(a, ru, &res[i]);
		a->actions++;
		if ((r = keep_outcome(a, res[i].outcome)) < 0)
			return r;
	}
	return 0;
}

/* The engine's parameters for RU. */
static void rule_params(const struct agent *a, const struct rule *ru, struct evict_params *p)
{
	evict_params_init(p, ru->action);
	p->steps = ru->via ? ru->via : ladder_default(ru->action);
	p->dry_run = a->p.dry_run;
	p->step_timeout_ms = ru->step_timeout_ms > 0 ? ru->step_timeout_ms : a->p.step_timeout_ms;
	p->dsn = a->p.dsn;
	p->iface = a->p.iface;
	p->audit = a->p.audit;
	p->audit_arg = (void *)ru->name;
}

/* One rule over one discovery.  ACTED marks sessions already acted on. */
static int run_rule(struct agent *a, const struct rule *ru, struct discovery *d, bool *acted)
{
	struct plan plan = { 0 }, sub = { 0 };
	struct evict_params p;
	struct evict_result *res = NULL;
	bool unsupported = false;
	size_t i;
	int r;

	rule_params(a, ru, &p);
	if (ru->headroom)
		return agent_run_headroom(a, ru, d, acted, &p);
	if ((r = ladder_plan(ru->action, p.steps, &ru->sel, &d->sessions, d->now_us, &plan)) < 0)
		goto out;
	sub.v = calloc(plan.n ? plan.n : 1, sizeof(*sub.v));
	res = calloc(plan.n ? plan.n : 1, sizeof(*res));
	r = -ENOMEM;
	if (!sub.v || !res || (r = rule_targets(ru, &plan, d, acted, &sub)) < 0 || !sub.n)
		goto out;
	for (i = 0; i < sub.n; i++)
		acted[sub.v[i].s - d->sessions.v] = true;
	if ((r = evict(&p, &sub, res, &unsupported)) < 0)
		goto out;
	if (unsupported)
		agent_say(LOG_WARNING, "this kernel refuses SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): no connection was cut that way");
	r = agent_pass_report(a, ru, &sub, res);
out:
	free(sub.v);
	free(res);
	plan_clear(&plan);
	return r;
}

/* --dry-run: this pass's plans are the next one's "already said". */
static void dry_turn(struct agent *a)
{
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

/* Discover for a pass.  0; 1 when --cluster names none running (now) or
 * more than one: act on none; -errno (reported). */
static int pass_discover(struct agent *a, struct discovery *d)
{
	struct discover_opts dopts = { .cluster_spec = a->p.cluster, .no_sql = a->p.no_sql, .dsn = a->p.dsn };
	int r = discover(&dopts, d);

	if (r == -ENOTUNIQ && !a->ambiguous)
		agent_say(LOG_WARNING, "--cluster '%s' matches %zu running clusters; acting on none until it names one",
			  a->p.cluster, d->clusters.n);
	if (r != -ENOTUNIQ && a->ambiguous && r != -ENOENT)
		agent_say(LOG_NOTICE, "--cluster '%s' names one running cluster again", a->p.cluster);
	a->ambiguous = r == -ENOTUNIQ;
	if (r == -ENOENT || r == -ENOTUNIQ || r < 0) {
		if (r != -ENOENT && r != -ENOTUNIQ)
			agent_say(LOG_ERR, "cannot read the process table: %s", strerror(-r));
		else
			track_clear(&a->track);
		discovery_clear(d);
		if (a->have_last)
			discovery_clear(&a->last);
		a->have_last = false;
		return r == -ENOENT || r == -ENOTUNIQ ? 1 : r;
	}
	return 0;
}

int agent_pass(struct agent *a)
{
	struct discovery d;
	bool *acted = NULL;
	size_t i;
	int r;

	if ((r = pass_discover(a, &d)) != 0)
		return r > 0 ? 0 : r;
	a->passes++;
	agent_metrics_sessions(a, &d.clusters, &d.sessions);
	if (!a->stop)
		note_sql(a, &d);
	if ((r = agent_su_remember(a, &d)) < 0 || (r = track_pass(a, &d)) < 0)
		goto out;
	if (!(acted = calloc(d.sessions.n ? d.sessions.n : 1, sizeof(*acted)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < a->rules.n && !a->stop; i++) {
		if ((r = run_rule(a, &a->rules.v[i], &d, acted)) < 0)
			goto out;
		agent_watchdog(a);
		agent_check_signals(a);
	}
out:
	if (r == -ENOMEM)
		agent_say(LOG_ERR, "out of memory");
	free(acted);
	if (a->p.dry_run)
		dry_turn(a);
	/* kept for the cheap passes: the clusters and their names */
	if (a->have_last)
		discovery_clear(&a->last);
	a->last = d;
	a->have_last = true;
	a->last_full_ms = clock_mono_ms();
	return r;
}
