/* SPDX-License-Identifier: MIT */
/*
 * metrics.c -- the agent's metrics and their text exposition (core).  See
 * metrics.h.
 *
 * Owns the counting and the rendering; not the file (the agent writes it)
 * nor what a pass is (the agent says when one ran and how long it took).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/metrics.h"

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->pass_seconds = -1;
}

static void clusters_free(struct metrics *m)
{
	size_t i;

	for (i = 0; i < m->nclusters; i++) {
		free(m->clusters[i].name);
		free(m->clusters[i].states);
	}
	free(m->clusters);
	m->clusters = NULL;
	m->nclusters = 0;
}

void metrics_clear(struct metrics *m)
{
	size_t i;

	if (!m)
		return;
	clusters_free(m);
	for (i = 0; i < m->nactions; i++) {
		free(m->actions[i].rule);
		free(m->actions[i].action);
		free(m->actions[i].outcome);
		free(m->actions[i].step);
	}
	free(m->actions);
	metrics_init(m);
}

/* The length of the valid UTF-8 sequence at P (N bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

char *metrics_label_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, k;
	char *out = malloc(n * 3 + 1);   /* U+FFFD is 3 bytes for 1 */

	if (!out)
		return NULL;
	while (i < n) {
		if (p[i] == '\\' || p[i] == '"' || p[i] == '\n') {
			out[o++] = '\\';
			out[o++] = p[i] == '\n' ? 'n' : (char)p[i];
			i++;
		} else if ((k = utf8_len(p + i, n - i)) > 0) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

/* The cluster's label, made unique among the first N of M's. */
static char *cluster_name(const struct metrics *m, size_t n, const struct pg_cluster *c)
{
	char buf[32], *name = NULL;
	const char *label = cluster_label(c, buf, sizeof(buf));
	int k = 1;
	size_t i;

	for (;;) {
		if (k == 1)
			name = strdup(label);
		else if (asprintf(&name, "%s#%d", label, k) < 0)
			name = NULL;
		if (!name)
			return NULL;
		for (i = 0; i < n && strcmp(m->clusters[i].name, name) != 0; i++)
			;
		if (i == n)
			return name;
		free(name);
		k++;
	}
}

static int state_add(struct metrics_cluster *mc, const char *state)
{
	struct metrics_state *nv;
	size_t i;

	for (i = 0; i < mc->nstates; i++)
		if (strcmp(mc->states[i].state, state) == 0) {
			mc->states[i].n++;
			return 0;
		}
	if (!(nv = realloc(mc->states, (mc->nstates + 1) * sizeof(*nv))))
		return -ENOMEM;
	mc->states = nv;
	mc->states[mc->nstates++] = (struct metrics_state){ state, 1 };
	return 0;
}

static int state_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct metrics_state *)pa)->state, ((const struct metrics_state *)pb)->state);
}

int metrics_set_clusters(struct metrics *m, const struct cluster_list *cl, const struct session_list *l)
{
	size_t i, k;

	clusters_free(m);
	if (cl->n && !(m->clusters = calloc(cl->n, sizeof(*m->clusters))))
		return -ENOMEM;
	for (i = 0; i < cl->n; i++) {
		const struct pg_cluster *c = cl->v[i];
		struct metrics_cluster *mc = &m->clusters[m->nclusters];
		if (c->unverified)
			continue;
		if (!(mc->name = cluster_name(m, m->nclusters, c)))
			goto nomem;
		mc->slots_max = c->max_connections;
		mc->sql_ok = c->sql_ok;
		m->nclusters++;
		for (k = 0; k < l->n; k++) {
			const struct session *s = &l->v[k];
			if (s->cluster != c || !s->is_client)
				continue;
			if (state_add(mc, s->state ? s->state : "unknown") < 0)
				goto nomem;
			if (!s->backend_type || strcmp(s->backend_type, "walsender") != 0)
				mc->slots_used++;
		}
		if (mc->nstates > 1)
			qsort(mc->states, mc->nstates, sizeof(*mc->states), state_cmp);
	}
	return 0;
nomem:
	clusters_free(m);
	return -ENOMEM;
}

static int str_or_empty(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

int metrics_count_action(struct metrics *m, const char *rule, const char *action, const char *outcome,
			 const char *step)
{
	struct metrics_action *e;
	size_t i;

	for (i = 0; i < m->nactions; i++) {
		e = &m->actions[i];
		if (!str_or_empty(e->rule, rule) && !str_or_empty(e->action, action) &&
		    !str_or_empty(e->outcome, outcome) && !str_or_empty(e->step, step)) {
			e->n++;
			return 0;
		}
	}
	if (m->nactions == m->capactions) {
		size_t cap = m->capactions ? m->capactions * 2 : 16;
		struct metrics_action *nv = realloc(m->actions, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		m->actions = nv;
		m->capactions = cap;
	}
	e = &m->actions[m->nactions];
	*e = (struct metrics_action){ strdup(rule ? rule : ""), strdup(action ? action : ""),
				      strdup(outcome ? outcome : ""), strdup(step ? step : ""), 1 };
	if (!e->rule || !e->action || !e->outcome || !e->step) {
		free(e->rule);
		free(e->action);
		free(e->outcome);
		free(e->step);
		return -ENOMEM;
	}
	m->nactions++;
	return 0;
}

static int cluster_cmp(const void *pa, const void *pb)
{
	return strcmp((*(const struct metrics_cluster *const *)pa)->name,
		      (*(const struct metrics_cluster *const *)pb)->name);
}

static int action_cmp(const void *pa, const void *pb)
{
	const struct metrics_action *a = *(const struct metrics_action *const *)pa;
	const struct metrics_action *b = *(const struct metrics_action *const *)pb;
	int r;

	if ((r = strcmp(a->rule, b->rule)) || (r = strcmp(a->action, b->action)) ||
	    (r = strcmp(a->outcome, b->outcome)))
		return r;
	return strcmp(a->step, b->step);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-cluster families, clusters in V (sorted). */
static int render_clusters(FILE *f, const struct metrics_cluster **v, size_t n)
{
	size_t i, k;
	bool any_max = false;
	char **esc = calloc(n ? n : 1, sizeof(*esc));

	if (!esc)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!(esc[i] = metrics_label_escape(v[i]->name)))
			goto nomem;
		any_max |= v[i]->slots_max > 0;
	}
	head(f, "pgevict_sessions", "gauge", "Client sessions (client backends and walsenders) by state.");
	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i]->nstates; k++)
			fprintf(f, "pgevict_sessions{cluster=\"%s\",state=\"%s\"} %llu\n", esc[i], v[i]->states[k].state,
				v[i]->states[k].n);
	}
	head(f, "pgevict_slots_used", "gauge", "Connection slots taken by client backends, starting ones included.");
	for (i = 0; i < n; i++)
		fprintf(f, "pgevict_slots_used{cluster=\"%s\"} %llu\n", esc[i], v[i]->slots_used);
	if (any_max)
		head(f, "pgevict_slots_max", "gauge", "The cluster's max_connections.");
	for (i = 0; i < n; i++)
		if (v[i]->slots_max > 0)
			fprintf(f, "pgevict_slots_max{cluster=\"%s\"} %d\n", esc[i], v[i]->slots_max);
	head(f, "pgevict_sql_ok", "gauge", "Whether SQL to the cluster worked on the last full pass (1) or not (0).");
	for (i = 0; i < n; i++)
		fprintf(f, "pgevict_sql_ok{cluster=\"%s\"} %d\n", esc[i], v[i]->sql_ok ? 1 : 0);
	for (i = 0; i < n; i++)
		free(esc[i]);
	free(esc);
	return 0;
nomem:
	for (i = 0; i < n; i++)
		free(esc[i]);
	free(esc);
	return -ENOMEM;
}

static int render_actions(FILE *f, const struct metrics_action **v, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	head(f, "pgevict_actions_total", "counter", "Sessions acted on by the agent, by rule, action, outcome and last step.");
	for (i = 0; i < n; i++) {
		char *r = metrics_label_escape(v[i]->rule), *a = metrics_label_escape(v[i]->action);
		char *o = metrics_label_escape(v[i]->outcome), *s = metrics_label_escape(v[i]->step);
		if (r && a && o && s)
			fprintf(f, "pgevict_actions_total{rule=\"%s\",action=\"%s\",outcome=\"%s\",step=\"%s\"} %llu\n", r,
				a, o, s, v[i]->n);
		free(r);
		free(a);
		free(o);
		free(s);
		if (!r || !a || !o || !s)
			return -ENOMEM;
	}
	return 0;
}

static void render_agent(FILE *f, const struct metrics *m)
{
	if (m->pass_seconds >= 0) {
		head(f, "pgevict_pass_seconds", "gauge", "How long the last pass took.");
		fprintf(f, "pgevict_pass_seconds %.6f\n", m->pass_seconds);
	}
	head(f, "pgevict_passes_total", "counter", "Passes over the process table: cheap ones and full ones.");
	fprintf(f, "pgevict_passes_total{kind=\"cheap\"} %llu\n", m->passes_cheap);
	fprintf(f, "pgevict_passes_total{kind=\"full\"} %llu\n", m->passes_full);
	head(f, "pgevict_events_total", "counter", "Process events seen for children of known postmasters.");
	fprintf(f, "pgevict_events_total{kind=\"exit\"} %llu\n", m->ev_exits);
	fprintf(f, "pgevict_events_total{kind=\"fork\"} %llu\n", m->ev_forks);
	head(f, "pgevict_up", "gauge", "1: the agent wrote this file.");
	fputs("pgevict_up 1\n", f);
}

int metrics_render(const struct metrics *m, char **ret, size_t *ret_len)
{
	const struct metrics_cluster **cv = calloc(m->nclusters ? m->nclusters : 1, sizeof(*cv));
	const struct metrics_action **av = calloc(m->nactions ? m->nactions : 1, sizeof(*av));
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = NULL;
	int r = -ENOMEM;

	*ret = NULL;
	*ret_len = 0;
	if (!cv || !av || !(f = open_memstream(&buf, &len)))
		goto out;
	for (i = 0; i < m->nclusters; i++)
		cv[i] = &m->clusters[i];
	for (i = 0; i < m->nactions; i++)
		av[i] = &m->actions[i];
	qsort(cv, m->nclusters, sizeof(*cv), cluster_cmp);
	qsort(av, m->nactions, sizeof(*av), action_cmp);
	if ((m->nclusters && (r = render_clusters(f, cv, m->nclusters)) < 0) ||
	    (r = render_actions(f, av, m->nactions)) < 0)
		goto out;
	render_agent(f, m);
	r = fclose(f) == 0 ? 0 : -ENOMEM;
	f = NULL;
	if (r == 0) {
		*ret = buf;
		*ret_len = len;
		buf = NULL;
	}
out:
	if (f)
		fclose(f);
	free(buf);
	free(cv);
	free(av);
	return r;
}
