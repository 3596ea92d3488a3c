/* SPDX-License-Identifier: MIT */
/*
 * agent_headroom.c -- the agent's headroom rules (engine layer).  See
 * agent.h and rules.h.
 *
 * Owns counting each cluster's connection slots in a pass (the client
 * backends /proc shows, against max_connections less the reserved ones),
 * choosing just enough sessions to end when fewer than a rule's free
 * slots are left (rules_headroom), and remembering what SQL last said of
 * each session's role, and of each role, so that a superuser stays one
 * when SQL stops working (a full server is exactly when it does) and the
 * new sessions of a known role can be judged without it.  Acting goes through
 * the engine like every rule; reporting through agent_pass_report.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"

/* How long what SQL said of a role stands without SQL saying it again. */
#define ROLE_MEM_MS (10LL * 60 * 1000)

static int su_cmp(const void *pa, const void *pb)
{
	const struct su_mem *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->start_ticks < b->start_ticks ? -1 : a->start_ticks > b->start_ticks;
}

/* The memory of role NAME in the cluster of postmaster PM, or NULL. */
static struct role_mem *role_find(struct agent *a, pid_t pm, const char *name)
{
	size_t i;

	for (i = 0; i < a->nroles; i++)
		if (a->roles[i].pm == pm && strcmp(a->roles[i].name, name) == 0)
			return &a->roles[i];
	return NULL;
}

/* Remember what SQL said of S's role now.  0 or -ENOMEM. */
static int role_learn(struct agent *a, const struct session *s, long long now)
{
	struct role_mem *m = role_find(a, s->cluster->pid, s->user);

	if (!m) {
		if (a->nroles == a->caproles) {
			size_t cap = a->caproles ? a->caproles * 2 : 16;
			struct role_mem *nv = realloc(a->roles, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			a->roles = nv;
			a->caproles = cap;
		}
		m = &a->roles[a->nroles];
		if (!(m->name = strdup(s->user)))
			return -ENOMEM;
		m->pm = s->cluster->pid;
		a->nroles++;
	}
	m->su = s->su;
	m->seen_ms = now;
	return 0;
}

/* Forget the roles SQL has not spoken of for ROLE_MEM_MS: a role made a
 * superuser since must not stay an ordinary one for long. */
static void roles_expire(struct agent *a, long long now)
{
	size_t i;

	for (i = 0; i < a->nroles;) {
		if (now - a->roles[i].seen_ms < ROLE_MEM_MS) {
			i++;
			continue;
		}
		free(a->roles[i].name);
		a->roles[i] = a->roles[--a->nroles];
	}
}

/*
 * A session SQL did not describe in this pass takes what SQL said of it
 * in an earlier one (by pid and start), else what SQL last said of its
 * role in its cluster: when every slot is taken SQL fails, and the
 * sessions of a storm are all new.
 */
int agent_su_remember(struct agent *a, struct discovery *d)
{
	struct su_mem *nv = NULL, key, *old;
	long long now = clock_mono_ms();
	size_t i, n = 0;

	for (i = 0; i < d->sessions.n; i++) {
		struct session *s = &d->sessions.v[i];
		if (s->su != SU_UNKNOWN && s->user && s->cluster && role_learn(a, s, now) < 0)
			goto nomem;
	}
	roles_expire(a, now);
	for (i = 0; i < d->sessions.n; i++) {
		struct session *s = &d->sessions.v[i];
		if (s->su == SU_UNKNOWN && a->nsu) {
			key.pid = s->pid;
			key.start_ticks = s->start_ticks;
			old = bsearch(&key, a->su, a->nsu, sizeof(key), su_cmp);
			if (old)
				s->su = old->su;
		}
		if (s->su == SU_UNKNOWN && s->user && s->cluster && s->is_client) {
			const struct role_mem *m = role_find(a, s->cluster->pid, s->user);
			if (m)
				s->su = m->su;
		}
		if (s->su == SU_UNKNOWN)
			continue;
		if (!nv && !(nv = malloc(d->sessions.n * sizeof(*nv))))
			goto nomem;
		nv[n++] = (struct su_mem){ s->pid, s->start_ticks, s->su };
	}
	if (n)
		qsort(nv, n, sizeof(*nv), su_cmp);
	/* only the sessions still there: a pid reused is a new session */
	free(a->su);
	a->su = nv;
	a->nsu = n;
	return 0;
nomem:
	free(nv);
	return -ENOMEM;
}

void agent_headroom_clear(struct agent *a)
{
	size_t i;

	free(a->su);
	a->su = NULL;
	a->nsu = 0;
	for (i = 0; i < a->nroles; i++)
		free(a->roles[i].name);
	free(a->roles);
	a->roles = NULL;
	a->nroles = a->caproles = 0;
	free(a->near_pm);
	a->near_pm = NULL;
	a->nnear = 0;
}

int agent_headroom_near(struct agent *a, const struct cluster_list *cl, const struct session_list *l)
{
	long want = 0;
	size_t i;

	a->nnear = 0;
	for (i = 0; i < a->rules.n; i++)
		if (a->rules.v[i].headroom && a->rules.v[i].order == ORDER_IDLE_LONGEST && a->rules.v[i].headroom > want)
			want = a->rules.v[i].headroom;
	if (!want || !cl->n)
		return 0;
	free(a->near_pm);
	if (!(a->near_pm = calloc(cl->n, sizeof(*a->near_pm))))
		return -ENOMEM;
	for (i = 0; i < cl->n; i++) {
		int fr = cluster_slots_free(cl->v[i], cluster_slots_used(cl->v[i], l));
		if (fr != INT_MIN && fr < 2 * want)
			a->near_pm[a->nnear++] = cl->v[i]->pid;
	}
	return 0;
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
		if (fr >= ru->headroom) {
			agent_lockdown_watch(a, ru, c, used, fr, false);
			continue;
		}
		if (!plan.v && (r = ladder_plan(ru->action, p->steps, &ru->sel, &d->sessions, d->now_us, &plan)) < 0)
			break;
		if (!sub.v && !(sub.v = calloc(plan.n ? plan.n : 1, sizeof(*sub.v)))) {
			r = -ENOMEM;
			break;
		}
		sub.action = ru->action;
		if ((r = pick(ru, &plan, d, acted, c, (size_t)(ru->headroom - fr), &sub)) < 0)
			break;
		for (i = 0; i < sub.n; i++)
			acted[sub.v[i].s - d->sessions.v] = true;
		if (sub.n)
			r = apply(a, ru, c, p, &sub, used, fr);
		agent_lockdown_watch(a, ru, c, used, fr, sub.n > 0);
	}
	if (all_known)
		a->slots_unknown_said = false;
	free(sub.v);
	plan_clear(&plan);
	return r;
}
