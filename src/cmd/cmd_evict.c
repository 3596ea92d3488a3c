/* SPDX-License-Identifier: MIT */
/*
 * cmd_evict.c -- `pgevict cancel | terminate | sever SELECTORS` (command).
 *
 * Options, discovery, selection (ladder_plan: data, printed by --dry-run),
 * the eviction engine (evict.h), output: a table, or JSON Lines.  The
 * engine tells every step and outcome to cmd_evict_syslog, which this file
 * shares with the agent and lockdown --kick, as it does the output.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgevict/clock.h"
#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/evict.h"
#include "pgevict/ladder.h"
#include "pgevict/procfs.h"

/* The progress line on a terminal, after the first second. */
struct progress {
	long long t0;
	bool shown;
};

static void progress_line(void *arg, enum action action, size_t exited, size_t total)
{
	struct progress *pr = arg;

	if (clock_mono_ms() - pr->t0 > 1000) {
		fprintf(stderr, "\rpgevict: %s: %zu/%zu gone ", action_name(action), exited, total);
		pr->shown = true;
	}
}

void cmd_evict_syslog(void *rule, enum action action, const struct session *s, const char *what)
{
	char client[INET6_ADDRSTRLEN + 16];
	char *user = escape_term(s->user), *db = escape_term(s->database), *dir = escape_term(s->cluster->data_dir);
	const char *r = rule;

	session_client_text(s, client, sizeof(client));
	syslog(LOG_NOTICE, "%s%s%s%s pid=%d start=%llu cluster=%s user=%s database=%s client=%s %s",
	       r ? "rule=" : "", r ? r : "", r ? " " : "", action_name(action), (int)s->pid, s->start_ticks,
	       dir ? dir : "?", user ? user : "?", db ? db : "?", client, what);
	free(dir);
	free(user);
	free(db);
}

void cmd_evict_params(const struct options *o, enum action action, struct evict_params *ret)
{
	evict_params_init(ret, action);
	if (o->via)
		ret->steps = o->via;
	ret->cancel_first = o->cancel_first;
	ret->dry_run = o->dry_run;
	ret->step_timeout_ms = o->step_timeout_ms;
	ret->dsn = o->dsn;
	ret->iface = o->iface;
	ret->audit = cmd_evict_syslog;
	ret->audit_arg = NULL;
}

/* Does PLAN span more than one cluster? */
static bool several_clusters(const struct plan *plan)
{
	size_t i;

	for (i = 1; i < plan->n; i++)
		if (plan->v[i].s->cluster != plan->v[0].s->cluster)
			return true;
	return false;
}

static void print_row(struct table *tb, bool with_cluster, const struct session *s, const char *outcome,
		      const char *step, long long ms, const char *note)
{
	char client[INET6_ADDRSTRLEN + 16], msbuf[24], pid[16], label[32];
	const char *row[9];
	int k = 0;

	session_client_text(s, client, sizeof(client));
	snprintf(msbuf, sizeof(msbuf), "%lld", ms);
	snprintf(pid, sizeof(pid), "%d", s->pid);
	row[k++] = pid;
	if (with_cluster)
		row[k++] = cluster_label(s->cluster, label, sizeof(label));
	row[k++] = s->user;
	row[k++] = s->database;
	row[k++] = client;
	row[k++] = outcome;
	row[k++] = step ? step : "-";
	row[k++] = msbuf;
	row[k++] = note ? note : "";
	table_add(tb, row);
}

static void print_results(const struct options *o, enum action action, const struct plan *plan,
			  const struct evict_result *res)
{
	static const char *const hdr[] = { "PID", "USER", "DATABASE", "CLIENT", "OUTCOME", "STEP", "MS", "NOTE" };
	static const char *const hdr_c[] = { "PID", "CLUSTER", "USER", "DATABASE", "CLIENT", "OUTCOME", "STEP",
					     "MS", "NOTE" };
	bool with_cluster = several_clusters(plan);
	struct table *tb = NULL;
	size_t i;

	if (!o->json && !(tb = with_cluster ? table_new(9, hdr_c) : table_new(8, hdr)))
		return;
	for (i = 0; i < plan->n; i++) {
		const struct evict_result *t = &res[i];
		const struct session *s = plan->v[i].s;
		char steps[64] = "";
		const char *step = t->step >= 0 ? step_name((enum step)t->step) : NULL;
		const char *note = t->note[0] ? t->note : NULL;

		if (t->outcome == OUTCOME_PLANNED) {
			ladder_steps_text(plan->v[i].steps, steps, sizeof(steps));
			step = steps[0] ? steps : NULL;
		}
		if (o->json) {
			json_object *j = out_action_json(s, action_name(action), outcome_name(t->outcome), step,
							 t->elapsed_ms, note);
			out_json_line(j);
			json_object_put(j);
		} else {
			print_row(tb, with_cluster, s, outcome_name(t->outcome), step, t->elapsed_ms, note);
		}
	}
	if (tb) {
		if (plan->n)
			table_print(tb);
		table_free(tb);
	}
}

int cmd_evict_report(const struct options *o, enum action action, const struct plan *plan,
		     const struct evict_result *res, bool destroy_unsupported)
{
	enum outcome *outs;
	size_t i;
	int status;

	if (!plan->n) {
		if (!o->json)
			fprintf(stderr, "pgevict: no session matches; nothing to %s\n", action_name(action));
		return 0;
	}
	print_results(o, action, plan, res);
	if (destroy_unsupported)
		fprintf(stderr, "pgevict: this kernel refuses SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): no connection was cut that way\n");
	if (!(outs = calloc(plan->n, sizeof(*outs)))) {
		fprintf(stderr, "pgevict: out of memory\n");
		return 1;
	}
	for (i = 0; i < plan->n; i++)
		outs[i] = res[i].outcome;
	status = ladder_exit_status(outs, plan->n);
	free(outs);
	return status;
}

/* Does --iface name no interface where rst would capture?  Known only
 * when every cluster of PLAN is in this network namespace (the step
 * captures in the backend's). */
static bool iface_missing(const struct options *o, const struct evict_params *p, const struct plan *plan)
{
	unsigned long self = 0;
	size_t i;
	int pfd;

	if (!o->iface || !(p->steps & STEP_BIT(STEP_RST)) || if_nametoindex(o->iface) != 0)
		return false;
	if ((pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	procfs_netns(pfd, 0, &self);
	close(pfd);
	for (i = 0; i < plan->n; i++)
		if (plan->v[i].s->cluster->netns && plan->v[i].s->cluster->netns != self)
			return false;
	return true;
}

/* The engine on PLAN with P, a progress line on a terminal. */
static int run_engine(const struct evict_params *p, const struct plan *plan, struct evict_result *res,
		      bool *ret_destroy_unsupported)
{
	struct evict_params pp = *p;
	struct progress pr = { .t0 = clock_mono_ms() };
	int r;

	if (!p->dry_run && isatty(STDERR_FILENO)) {
		pp.progress = progress_line;
		pp.progress_arg = &pr;
	}
	if (!p->dry_run)
		openlog("pgevict", LOG_PID, LOG_DAEMON);
	r = evict(&pp, plan, res, ret_destroy_unsupported);
	if (!p->dry_run)
		closelog();
	if (pr.shown)
		fprintf(stderr, "\r\033[K");
	return r;
}

static int evict_cmd(const struct options *o, enum action action)
{
	struct discovery d;
	struct plan plan = { 0 };
	struct evict_params p;
	struct evict_result *res = NULL;
	bool destroy_unsupported = false;
	int r, status = 1;

	if (select_is_empty(&o->sel)) {
		fprintf(stderr, "pgevict: %s needs a selector (or --all for every session)\n", action_name(action));
		return EXIT_USAGE;
	}
	cmd_evict_params(o, action, &p);
	if (p.steps & ~ladder_allowed(action)) {
		fprintf(stderr, "pgevict: --via: %s cannot use that step\n", action_name(action));
		return EXIT_USAGE;
	}
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	if (ladder_plan(action, p.steps, &o->sel, &d.sessions, d.now_us, &plan) == 0 && iface_missing(o, &p, &plan)) {
		char *e = escape_term(o->iface);
		fprintf(stderr, "pgevict: --iface: no such interface '%s'\n", e ? e : "?");
		free(e);
		status = EXIT_USAGE;
	} else if (!plan.v || !(res = calloc(plan.n ? plan.n : 1, sizeof(*res))) ||
	    (plan.n && run_engine(&p, &plan, res, &destroy_unsupported) < 0))
		fprintf(stderr, "pgevict: out of memory\n");
	else
		status = cmd_evict_report(o, action, &plan, res, destroy_unsupported);
	free(res);
	plan_clear(&plan);
	discovery_clear(&d);
	return status;
}

int cmd_cancel(const struct options *o)
{
	return evict_cmd(o, ACTION_CANCEL);
}

int cmd_terminate(const struct options *o)
{
	return evict_cmd(o, ACTION_TERMINATE);
}

int cmd_sever(const struct options *o)
{
	if (o->conn)
		return cmd_sever_conn(o);
	return evict_cmd(o, ACTION_SEVER);
}
