/*
 * evict.h -- applying a ladder plan (command layer, cmd_evict.c).
 *
 * Owns running the steps of a plan against live processes and sockets and
 * verifying each one; shared by cancel/terminate/sever and the agent.  It
 * does not discover, plan or print: the caller does, from the results.
 * Every step and outcome goes to syslog (tagged with o->rule when set).
 */
#ifndef PGEVICT_EVICT_H
#define PGEVICT_EVICT_H

#include <stdbool.h>

#include "pgevict/cmd.h"
#include "pgevict/ladder.h"

struct evict_result {
	enum outcome outcome;
	int step;                  /* the step that decided, or -1 */
	long long elapsed_ms;
	char reason[200];          /* "" or why, one line */
};

/*
 * Apply PLAN (made by ladder_plan for ACTION with STEPS) and fill RET, one
 * result per plan item, in plan order.  O gives dsn, step_timeout_ms,
 * cancel_first and rule.  Needs root (pidfds, netlink, SQL as the owner).
 * Returns 0, or -ENOMEM with nothing done; *RET_DESTROY_UNSUPPORTED (may
 * be NULL) tells that the kernel refused SOCK_DESTROY.
 */
int evict_apply(const struct options *o, enum action action, unsigned steps, const struct plan *plan,
		struct evict_result *ret, bool *ret_destroy_unsupported);

#endif
