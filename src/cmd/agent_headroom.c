/* SPDX-License-Identifier: MIT */
/*
 * agent_headroom.c -- the agent's headroom rules (engine layer).  See
 * agent.h and rules.h.
 *
 * Owns counting each cluster's connection slots in a pass (the client
 * backends /proc shows, against max_connections less the reserved ones),
 * choosing just enough sessions to end when fewer than a rule's free
 * slots are left (rules_headroom), and remembering what SQL last said of
 * each session's role, so that a superuser stays one when SQL stops
 * working (a full server is exactly when it does).  Acting goes through
 * the engine like every rule; reporting through agent_pass_report.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"

static int su_cmp(const void *pa, const void *pb)
{
	const struct su_mem *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->start_ticks < b->start_ticks ? -1 : a->start_ticks > b->start_ticks;
}

int agent_su_remember(struct agent *a, struct discovery *d)
{
	struct su_mem *nv = NULL, key, *old;
	size_t i, n = 0;

	for (i = 0; i < d->sessions.n; i++) {
		struct session *s = &d->sessions.v[i];
		if (s->su == SU_UNKNOWN && a->nsu) {
			key.pid = s->pid;
			key.start_ticks = s->start_ticks;
			old = bsearch(&key, a->su, a->nsu, sizeof(key), su_cmp);
			if (old)
				s->su = old->su;
		}
		if (s->su == SU_UNKNOWN)
			continue;
		if (!nv && !(nv = malloc(d->sessions.n * sizeof(*nv))))
			return -ENOMEM;
		nv[n++] = (struct su_mem){ s->pid, s->start_ticks, s->su };
	}
	if (n)
		qsort(nv, n, sizeof(*nv), su_cmp);
	/* only the sessions still there: a pid reused is a new session */
	free(a->su);
	a->su = nv;
	a->nsu = n;
	return 0;
}

void agent_headroom_clear(struct agent *a)
{
	free(a->su);
	a->su = NULL;
	a->nsu = 0;
}

/* Say once (until every cluster's slots are known again) that C's are not. */
static void slots_unknown(struct agent *a, const struct rule *ru, const struct pg_cluster *c)
{
	char label[32];

	if (a->slots_unknown_said)
		return;
	a->slots_unknown_said = true;
	agent_say(LOG_WARNING, "rule [%s]: the connection slots of cluster '%s' are unknown (max_connections "
		  "not read): it keeps no headroom there", ru->name, cluster_label(c, label, sizeof(label)));
}

/* Into SUB: the items of PLAN in cluster C that RU may end and no rule
 * acted on in this pass; of them, the NEED first in RU's order. */
static int pick(const struct rule *ru, const struct plan *plan, const struct discovery *d, const bool *acted,
		const struct pg_cluster *c, size_t need, struct plan *sub)
{
	size_t n0 = plan->n ? plan->n : 1, *idx = calloc(n0, sizeof(*idx)), i, n = 0;
	struct session **v = calloc(n0, sizeof(*v));
	bool *act = calloc(n0, sizeof(*act));
	int r = -ENOMEM;

	sub->n = 0;
	if (!v || !idx || !act)
		goto out;
	for (i = 0; i < plan->n; i++) {
		const struct session *s = plan->v[i].s;
		if (s->cluster != c || plan->v[i].skip || acted[s - d->sessions.v] || !rules_headroom_may_end(ru, s))
			continue;
		v[n] = plan->v[i].s;
		idx[n++] = i;
	}
	if ((r = rules_headroom(ru, v, n, need, act)) < 0)
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

/* End SUB in C for RU: the audit and every action line say the slots. */
static int apply(struct agent *a, const struct rule *ru, const struct pg_cluster *c, const struct evict_params *p0,
		 const struct plan *sub, size_t used, int free_slots)
{
	struct evict_params p = *p0;
	struct evict_result *res = calloc(sub->n, sizeof(*res));
	char tag[RULE_NAME_MAX + 64], note[96];
	bool unsupported = false;
	size_t i, len;
	int r;

	if (!res)
		return -ENOMEM;
	snprintf(tag, sizeof(tag), "%s slots=%zu/%d free=%d<%ld", ru->name, used, c->max_connections, free_slots,
		 ru->headroom);
	p.audit_arg = tag;
	if ((r = evict(&p, sub, res, &unsupported)) < 0)
		goto out;
	if (unsupported)
		agent_say(LOG_WARNING, "this kernel refuses SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): no connection was cut that way");
	snprintf(note, sizeof(note), "slots %zu/%d, %d free < %ld", used, c->max_connections, free_slots, ru->headroom);
	for (i = 0; i < sub->n; i++) {
		len = strlen(res[i].note);
		snprintf(res[i].note + len, sizeof(res[i].note) - len, "%s%s", len ? "; " : "", note);
	}
	r = agent_pass_report(a, ru, sub, res);
out:
	free(res);
	return r;
}

int agent_run_headroom(struct agent *a, const struct rule *ru, struct discovery *d, bool *acted,
		       const struct evict_params *p)
{
	struct plan plan = { 0 }, sub = { 0 };
	bool all_known = true;
	size_t k, i;
	int r = 0;

	for (k = 0; k < d->clusters.n && r == 0; k++) {
		const struct pg_cluster *c = d->clusters.v[k];
		size_t used = cluster_slots_used(c, &d->sessions);
		int fr = cluster_slots_free(c, used);
		if (fr == INT_MIN) {
			all_known = false;
			slots_unknown(a, ru, c);
			continue;
		}
		if (fr >= ru->headroom)
			continue;
		if (!plan.v && (r = ladder_plan(ru->action, p->steps, &ru->sel, &d->sessions, d->now_us, &plan)) < 0)
			break;
		if (!sub.v && !(sub.v = calloc(plan.n ? plan.n : 1, sizeof(*sub.v)))) {
			r = -ENOMEM;
			break;
		}
		sub.action = ru->action;
		if ((r = pick(ru, &plan, d, acted, c, (size_t)(ru->headroom - fr), &sub)) < 0 || !sub.n)
			continue;
		for (i = 0; i < sub.n; i++)
			acted[sub.v[i].s - d->sessions.v] = true;
		r = apply(a, ru, c, p, &sub, used, fr);
	}
	if (all_known)
		a->slots_unknown_said = false;
	free(sub.v);
	plan_clear(&plan);
	return r;
}
