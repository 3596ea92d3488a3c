/* SPDX-License-Identifier: MIT */
/*
 * agent_lockdown.c -- a headroom rule's last step: locking a cluster down
 * when ending sessions does not keep its slots free (command layer).  See
 * agent.h and rules.h (lockdown-after, lockdown-allow-role).
 *
 * Owns the watch (per cluster and rule: since when the free slots have
 * been short, and whether the rule acted meanwhile) and the lockdown
 * itself, which is `pgevict lockdown --allow-role ...`'s own plan and
 * engine (cmd_lock_preview, cmd_lock_go): the same file, reload, proof,
 * record and syslog trail, never --kick.  Once per shortage; never an
 * unlock: that is the operator's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/cmd.h"
#include "pgevict/duration.h"
#include "pgevict/lockapply.h"

/* What the lockdown engine said: the last line, and its proof. */
struct said {
	char last[256];
	char proof[256];
};

static void said_line(void *ctx, const char *line)
{
	struct said *s = ctx;

	snprintf(s->last, sizeof(s->last), "%s", line);
}

static void said_result(void *ctx, const struct lockapply_result *r)
{
	struct said *s = ctx;

	if (r->proof)
		snprintf(s->proof, sizeof(s->proof), "%s%s%s", r->probe_host && *r->probe_host ? r->probe_host : "the Unix socket",
			 ": ", r->proof);
}

/* The roles of RU, "a, b", into BUF. */
static const char *roles_text(const struct rule *ru, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < ru->nlockdown_allow && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", ru->lockdown_allow[i]);
	return ru->nlockdown_allow ? buf : "no role";
}

/* Lock C down for RU, as `pgevict lockdown --allow-role ...` does. */
static void lock_down(struct agent *a, const struct rule *ru, const struct pg_cluster *c, size_t used, int fr)
{
	struct options o;
	struct said s = { "", "" };
	struct lockapply_report rep = { said_line, said_line, said_result, NULL, &s };
	struct lock_preview pv;
	char lbuf[32], roles[512], after[32];
	const char *label;
	int r;

	memset(&o, 0, sizeof(o));
	o.no_sql = a->p.no_sql;
	o.dsn = a->p.dsn;
	o.state_dir = a->p.state_dir;
	o.hba_file = a->p.hba_file;
	o.allow_roles = (const char **)ru->lockdown_allow;
	o.nallow_roles = ru->nlockdown_allow;
	label = cluster_label(c, lbuf, sizeof(lbuf));
	roles_text(ru, roles, sizeof(roles));
	duration_format(ru->lockdown_after_ms, after, sizeof(after));
	r = cmd_lock_preview(&o, c, &rep, &pv);
	if (r == 0 && pv.unlock) {
		agent_say(LOG_NOTICE, "rule [%s]: cluster '%s' is short of slots and already locked down", ru->name, label);
		goto out;
	}
	if (r != 0) {
		agent_say(LOG_ALERT, "rule [%s]: cluster '%s' cannot be locked down (exit %d): %s", ru->name, label, r,
			  s.last);
		goto out;
	}
	if (a->p.dry_run) {
		agent_say(LOG_WARNING, "rule [%s] (dry run): would lock cluster '%s' down (%s let in): fewer than %ld "
			  "slots free for %s (slots %zu/%d)", ru->name, label, roles, ru->headroom, after, used,
			  c->max_connections);
		goto out;
	}
	r = cmd_lock_go(&o, c, &pv, &rep);
	if (r == 0)
		agent_say(LOG_ALERT, "rule [%s]: cluster '%s' locked down: fewer than %ld slots free for %s while the rule "
			  "ended sessions (slots %zu/%d, %d free); let in: %s, and the owner over the Unix socket; proof: "
			  "%s; undo with `pgevict --cluster %d unlock`", ru->name, label, ru->headroom, after, used,
			  c->max_connections, fr < 0 ? 0 : fr, roles, s.proof[0] ? s.proof : s.last, c->port);
	else
		agent_say(LOG_ALERT, "rule [%s]: the lockdown of cluster '%s' failed (exit %d): %s", ru->name, label, r,
			  s.last);
	if (metrics_count_action(&a->m, ru->name, "lockdown", r == 0 ? "locked" : "failed", "hba") < 0)
		agent_say(LOG_ERR, "out of memory");
out:
	lock_preview_clear(&pv);
}

/* The watch of (C, RU), made when MAKE; NULL otherwise or on ENOMEM. */
static struct lock_watch *watch_of(struct agent *a, const struct rule *ru, const struct pg_cluster *c, bool make)
{
	struct lock_watch *w;
	size_t i;

	for (i = 0; i < a->nwatch; i++)
		if (a->watch[i].pm == c->pid && a->watch[i].start_ticks == c->start_ticks &&
		    strcmp(a->watch[i].rule, ru->name) == 0)
			return &a->watch[i];
	if (!make)
		return NULL;
	if (!(w = realloc(a->watch, (a->nwatch + 1) * sizeof(*w))))
		return NULL;
	a->watch = w;
	w = &a->watch[a->nwatch++];
	memset(w, 0, sizeof(*w));
	w->pm = c->pid;
	w->start_ticks = c->start_ticks;
	snprintf(w->rule, sizeof(w->rule), "%s", ru->name);
	w->since_ms = clock_mono_ms();
	return w;
}

void agent_lockdown_watch(struct agent *a, const struct rule *ru, const struct pg_cluster *c, size_t used, int fr,
			  bool acted)
{
	struct lock_watch *w;

	if (!ru->lockdown_after_ms)
		return;
	if (fr >= ru->headroom) {
		/* room again: the next shortage is a new one */
		if ((w = watch_of(a, ru, c, false)))
			*w = a->watch[--a->nwatch];
		return;
	}
	if (!(w = watch_of(a, ru, c, true))) {
		agent_say(LOG_ERR, "out of memory");
		return;
	}
	w->acted |= acted;
	if (w->done || !w->acted || clock_mono_ms() - w->since_ms < ru->lockdown_after_ms)
		return;
	w->done = true;
	lock_down(a, ru, c, used, fr);
}

void agent_lockdown_clear(struct agent *a)
{
	free(a->watch);
	a->watch = NULL;
	a->nwatch = 0;
}
