/* SPDX-License-Identifier: MIT */
/*
 * metrics.h -- the agent's metrics in Prometheus' text exposition format
 * (core: pure, no I/O).
 *
 * Owns the counters and gauges the agent keeps for `agent --metrics FILE`
 * and their rendering as text (format 0.0.4: # HELP and # TYPE lines,
 * label values escaped: backslash, double quote, newline; bytes that are
 * not UTF-8 become U+FFFD).  The label sets are bounded: a cluster by its
 * label (cluster_name, else port), a session state, a rule's name and the
 * engine's names for actions, outcomes and steps; never a pid, a query, a
 * user or a client.  Writing the file is the agent's (a temp file renamed
 * over it); this module only counts and renders.
 */
#ifndef PGEVICT_METRICS_H
#define PGEVICT_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "pgevict/session.h"

struct metrics_state {
	const char *state;           /* static (session.state), or "unknown" */
	unsigned long long n;
};

/* One cluster's gauges, as of the last pass. */
struct metrics_cluster {
	char *name;                  /* the label: cluster_name, else port;
	                                a repeated one gets "#2", "#3" */
	struct metrics_state *states;
	size_t nstates;
	unsigned long long slots_used;  /* client backends, starting ones too
	                                   (walsenders have slots of their own) */
	int slots_max;               /* pg_cluster.max_connections; <= 0 unknown */
	bool sql_ok;
};

/* One series of pgevict_actions_total. */
struct metrics_action {
	char *rule;
	char *action, *outcome, *step;  /* step: "" when none */
	unsigned long long n;
};

struct metrics {
	struct metrics_cluster *clusters;
	size_t nclusters;
	struct metrics_action *actions;  /* kept across passes */
	size_t nactions, capactions;
	double pass_seconds;         /* the last pass; < 0: none yet */
	unsigned long long passes_cheap, passes_full;
	unsigned long long ev_forks, ev_exits;
};

/* An empty set (pass_seconds -1).  metrics_clear frees one. */
void metrics_init(struct metrics *m);
void metrics_clear(struct metrics *m);

/*
 * Replace the cluster gauges with those of the verified clusters in CL
 * and their sessions in L: client sessions (client backends and
 * walsenders) by state, slots used (client backends), max_connections,
 * whether SQL worked.  Sessions of clusters not in CL are not counted.
 * 0, or -ENOMEM (the old gauges are gone then).
 */
int metrics_set_clusters(struct metrics *m, const struct cluster_list *cl, const struct session_list *l);

/* Count one action: RULE, ACTION, OUTCOME, STEP (NULL: none).  0 or
 * -ENOMEM. */
int metrics_count_action(struct metrics *m, const char *rule, const char *action, const char *outcome,
			 const char *step);

/*
 * The text exposition of M, series sorted, NUL-terminated, in *RET
 * (malloc'd, the caller frees) and its length in *RET_LEN.  Families with
 * no series are left out; pgevict_up 1 is always there.  0 or -ENOMEM.
 */
int metrics_render(const struct metrics *m, char **ret, size_t *ret_len);

/* S as a label value: escaped for the exposition format and made UTF-8.
 * malloc'd, NULL on -ENOMEM. */
char *metrics_label_escape(const char *s);

#endif
