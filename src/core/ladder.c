/* SPDX-License-Identifier: MIT */
/*
 * ladder.c -- the eviction ladder as data (core, no I/O).  See ladder.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/ladder.h"

static const char *const step_names[STEP_COUNT] = { "sql", "signal", "destroy", "rst" };

char *ladder_steps_text(unsigned mask, char *buf, size_t len)
{
	size_t o = 0;
	int k;

	if (len)
		buf[0] = '\0';
	for (k = 0; k < STEP_COUNT; k++)
		if ((mask & STEP_BIT(k)) && o < len) {
			int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", step_name((enum step)k));
			if (n > 0)
				o += (size_t)n;
		}
	return buf;
}

const char *step_name(enum step s)
{
	return s < STEP_COUNT ? step_names[s] : "none";
}

const char *outcome_name(enum outcome o)
{
	static const char *const names[] = {
		"planned", "gone", "severed", "survived", "cancelled", "idle", "skipped",
	};

	return (size_t)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

const char *action_name(enum action a)
{
	return a == ACTION_CANCEL ? "cancel" : a == ACTION_TERMINATE ? "terminate" : "sever";
}

int ladder_parse_via(const char *text, unsigned *ret_mask)
{
	unsigned mask = 0;
	const char *p = text;

	if (!text || !*text)
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, ",");
		int s, found = -1;
		for (s = 0; s < STEP_COUNT; s++)
			if (strlen(step_names[s]) == n && strncmp(p, step_names[s], n) == 0)
				found = s;
		if (found < 0 || (mask & STEP_BIT(found)))
			return -EINVAL;
		mask |= STEP_BIT(found);
		p += n;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	*ret_mask = mask;
	return 0;
}

unsigned ladder_allowed(enum action a)
{
	switch (a) {
	case ACTION_CANCEL:
		return STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL);
	case ACTION_TERMINATE:
		return STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL) | STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST);
	case ACTION_SEVER:
		return STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST);
	}
	return 0;
}

unsigned ladder_default(enum action a)
{
	/* Every allowed step: each runs only for the sessions that the
	 * steps before it left, so rst is the last resort (no SOCK_DESTROY
	 * in this kernel, or a socket it could not reach). */
	return ladder_allowed(a);
}

void plan_clear(struct plan *p)
{
	if (!p)
		return;
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int ladder_plan(enum action a, unsigned steps, const struct selector *sel,
		struct session_list *sessions, int64_t now_us, struct plan *ret)
{
	size_t i;

	ret->action = a;
	ret->n = 0;
	ret->v = calloc(sessions->n ? sessions->n : 1, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	for (i = 0; i < sessions->n; i++) {
		struct session *s = &sessions->v[i];
		struct plan_item *it;
		if (!select_match(sel, s, now_us))
			continue;
		/* Only client backends: --all and the other selectors match any
		 * child, but pgevict never acts on the rest. */
		if (!s->is_client)
			continue;
		it = &ret->v[ret->n++];
		it->s = s;
		it->steps = steps;
		if (s->backend_type && strcmp(s->backend_type, "walsender") == 0 && !sel->npids) {
			it->steps = 0;
			it->skip = "a walsender is acted on only when named with --pid";
			continue;
		}
		if (s->transport == TRANSPORT_UNIX && (steps & (STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST)))) {
			it->steps &= ~(STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST));
			it->note = "a Unix-socket session cannot be cut on the network";
		} else if (s->transport == TRANSPORT_NONE &&
			   (steps & (STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST)))) {
			it->steps &= ~(STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST));
			it->note = "its client socket was not found";
		}
		if (!it->steps)
			it->skip = it->note ? it->note : "no step of the ladder applies";
	}
	return 0;
}

int ladder_exit_status(const enum outcome *o, size_t n)
{
	size_t i;
	bool severed = false;

	for (i = 0; i < n; i++) {
		if (o[i] == OUTCOME_SURVIVED)
			return 1;
		if (o[i] == OUTCOME_SEVERED)
			severed = true;
	}
	return severed ? 3 : 0;
}
