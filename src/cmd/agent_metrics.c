/* SPDX-License-Identifier: MIT */
/*
 * agent_metrics.c -- `agent --metrics FILE` (engine layer).  See agent.h.
 *
 * Owns when the agent's metrics (metrics.h) are filled and written: the
 * gauges from each pass's clusters and sessions, the action counters from
 * each action reported, the file after each pass, in node_exporter's
 * textfile-collector convention (a temp file in the same directory,
 * fsync'd, renamed over FILE: file_replace; its temp name ends in
 * FILE_REPLACE_SUFFIX, never ".prom", so the collector never reads a
 * half-written one).  The file is left in place when the agent stops:
 * the collector then shows the last state, and pgevict_up with the
 * file's mtime (node_textfile_mtime_seconds) tells a stale one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/fileio.h"

#define METRICS_MIN_GAP_MS 1000

void agent_metrics_sessions(struct agent *a, const struct cluster_list *cl, const struct session_list *l)
{
	if (!a->p.metrics_path)
		return;
	if (metrics_set_clusters(&a->m, cl, l) < 0)
		agent_say(LOG_ERR, "out of memory");
}

void agent_metrics_action(struct agent *a, const struct rule *ru, const struct evict_result *res)
{
	const char *step = res->step >= 0 ? step_name((enum step)res->step) : NULL;

	if (!a->p.metrics_path)
		return;
	if (metrics_count_action(&a->m, ru->name, action_name(ru->action), outcome_name(res->outcome), step) < 0)
		agent_say(LOG_ERR, "out of memory");
}

void agent_metrics_write(struct agent *a, double pass_seconds, bool force)
{
	long long now = clock_mono_ms();
	char *text = NULL;
	size_t len;
	int r;

	if (!a->p.metrics_path || (!force && now - a->metrics_last_ms < METRICS_MIN_GAP_MS))
		return;
	a->m.pass_seconds = pass_seconds;
	a->m.passes_cheap = a->quick_passes;
	a->m.passes_full = a->passes;
	a->m.ev_forks = a->ev_forks;
	a->m.ev_exits = a->ev_exits;
	if ((r = metrics_render(&a->m, &text, &len)) == 0)
		r = file_replace(a->p.metrics_path, text, len, 0644, 0, 0);
	free(text);
	a->metrics_last_ms = now;
	if (r < 0 && !a->metrics_failed)
		agent_say(LOG_WARNING, "cannot write the metrics to '%s': %s; going on without them until it works",
			  a->p.metrics_path, strerror(-r));
	else if (r == 0 && a->metrics_failed)
		agent_say(LOG_NOTICE, "the metrics are written to '%s' again", a->p.metrics_path);
	a->metrics_failed = r < 0;
}
