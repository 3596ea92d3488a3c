/* SPDX-License-Identifier: MIT */
/*
 * rules.h -- the agent's rule files (core, no I/O).
 *
 * Owns parsing one rule file's text (INI, read by inih) into rules, with
 * `file:line: what is wrong` errors, and choosing which of a rule's
 * matches it keeps (keep = N).  Reading the directory is the agent's job
 * (cmd_agent.c); so is acting.
 *
 *   [idle-in-transaction]                 one rule per section
 *   match  = --state 'idle in transaction' --idle-for 10min
 *   action = terminate                    cancel | terminate | sever
 *   keep   = 0                            keep the N oldest matches
 *   per    = user                         group for keep: user|db|client
 *   via    = sql,signal,destroy           ladder steps (default: the action's)
 *   step-timeout = 2s                     per step (default: --step-timeout)
 *
 * `match` is the command line's selector language (select_parse_string),
 * so `pgevict ls MATCH` shows what a rule would hit.
 *
 *   [headroom]                            a headroom rule: keep N slots free
 *   free   = 5                            1 to 10000 slots for new logins
 *   match  = --state idle                 who may be ended (this default)
 *   order  = idle-longest                 | oldest | newest
 *   action = terminate                    terminate (default) | sever
 *   lockdown-after = 10s                  if free stays below N that long
 *   lockdown-allow-role = dba,monitor     while the rule acts: lock down,
 *                                         letting these roles in
 *
 * A headroom rule never ends a walsender, nor a session whose role is a
 * superuser or not known not to be one, unless its match names the user
 * (--user).  keep and per do not go with free; cancel makes no room.
 */
#ifndef PGEVICT_RULES_H
#define PGEVICT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgevict/ladder.h"
#include "pgevict/select.h"
#include "pgevict/session.h"

#define RULE_NAME_MAX 48

enum rule_per { PER_NONE = 0, PER_USER, PER_DB, PER_CLIENT };

/* A headroom rule's order: whom it ends first. */
enum rule_order { ORDER_IDLE_LONGEST = 0, ORDER_OLDEST, ORDER_NEWEST };

#define RULE_FREE_MAX 10000
#define RULE_HEADROOM_MATCH "--state idle"

struct rule {
	char name[RULE_NAME_MAX + 1];  /* the section name */
	char *file;                  /* the file it came from (as given) */
	int line;                    /* the line of its [section] */
	char *match;                 /* the match text as written */
	struct selector sel;
	enum action action;
	unsigned via;                /* STEP_BIT mask; 0: the action's default */
	int64_t step_timeout_ms;     /* -1: the agent's default */
	long keep;                   /* 0: act on every match */
	enum rule_per per;
	long headroom;               /* free = N: a headroom rule; 0: not one */
	enum rule_order order;       /* a headroom rule's */
	int64_t lockdown_after_ms;   /* lockdown-after: lock the cluster down
	                                when the free slots stayed below N that
	                                long while the rule acted; 0: never */
	char **lockdown_allow;       /* lockdown-allow-role: whom it lets in */
	size_t nlockdown_allow;
	/* parse state: the line of each key, 0 when not given */
	int line_match, line_action, line_via, line_keep, line_per, line_step_timeout;
	int line_free, line_order, line_lockdown_after, line_lockdown_allow;
};

struct rule_set {
	struct rule *v;
	size_t n, cap;
};

struct rule_error {
	int line;                    /* 0: not about one line */
	char msg[256];
};

/*
 * Parse the rule file FILE (a name for messages; stored in each rule)
 * whose contents are TEXT (LEN bytes, no terminator needed) and append
 * its rules to SET.  Names must be unique across SET.  Returns 0;
 * -EINVAL with *ERR filled (the first error; SET keeps only what it had
 * before); -ENOMEM.
 */
int rules_parse(const char *file, const char *text, size_t len, struct rule_set *set,
		struct rule_error *err);

/* Free every rule; SET is empty and reusable.  NULL-safe. */
void rules_clear(struct rule_set *set);

/*
 * Which of the N sessions V (the matches of R, any order) R acts on: with
 * keep = 0 all of them; with keep = K all but the K oldest (backend start,
 * then pid) of each group (the cluster, and R's `per` value).  A session
 * whose start is unknown is kept: pgevict does not act on what it cannot
 * order.  RET_ACT[i] answers for V[i].  0 or -ENOMEM.
 */
int rules_keep(const struct rule *r, struct session *const *v, size_t n, bool *ret_act);

/* "idle-longest", "oldest", "newest". */
const char *rule_order_name(enum rule_order o);

/*
 * May headroom rule R end S (which its match selected)?  Only a client
 * backend (never a walsender) whose role is known not to be a superuser,
 * or any client backend when R's match names users (--user).
 */
bool rules_headroom_may_end(const struct rule *r, const struct session *s);

/*
 * Which of the N sessions V (R's candidates in one cluster, any order,
 * each allowed by rules_headroom_may_end) headroom rule R ends to free
 * NEED slots: the first NEED in R's order (idle-longest: the earliest
 * state change first; oldest/newest: by backend start; unknown times
 * last, then pid).  RET_ACT[i] answers for V[i].  0 or -ENOMEM.
 */
int rules_headroom(const struct rule *r, struct session *const *v, size_t n, size_t need, bool *ret_act);

/*
 * Could R match S once everything is known?  For the agent's cheap
 * passes, on sessions read from process titles alone: like select_match,
 * but a value that is not known (NULL user or database from an ambiguous
 * title, no client address, application_name) may match, and
 * state_change_us / query_start_us are taken as the earliest the state
 * can have begun, so --idle-for and --running-for compare an upper bound
 * of the duration.  IGNORE_TIME leaves those two out.  Never false when
 * select_match could be true on the full data.
 */
bool rules_may_match(const struct selector *sel, const struct session *s, int64_t now_us, bool ignore_time);

#endif
