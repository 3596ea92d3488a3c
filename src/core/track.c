/* SPDX-License-Identifier: MIT */
/*
 * track.c -- session states timed across the agent's passes (core).
 *
 * Owns the table of (pid, start) -> state, IO count and since-when, kept
 * sorted so that a pass over 2000 sessions is a sort and a binary search
 * each.  It reads nothing itself: the agent passes the sessions and the
 * IO counters it read.  See track.h for why the result is a lower bound.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/track.h"

static int ent_cmp(const void *pa, const void *pb)
{
	const struct track_ent *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->start_ticks < b->start_ticks ? -1 : a->start_ticks > b->start_ticks;
}

static bool tracked(const struct session *s)
{
	return s->is_client;
}

int track_update(struct tracker *t, struct session_list *l, const uint64_t *io, int64_t now_us)
{
	struct track_ent *nv, key;
	size_t i, n = 0, k;

	for (i = 0; i < l->n; i++)
		n += tracked(&l->v[i]);
	nv = calloc(n ? n : 1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (k = 0, i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		const struct track_ent *old;
		struct track_ent *e;
		if (!tracked(s))
			continue;
		e = &nv[k++];
		memset(&key, 0, sizeof(key));
		key.pid = s->pid;
		key.start_ticks = s->start_ticks;
		old = t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), ent_cmp) : NULL;
		*e = key;
		e->state = s->state;
		e->io = io ? io[i] : TRACK_IO_UNKNOWN;
		if (old && old->state && s->state && strcmp(old->state, s->state) == 0 &&
		    (old->io == e->io || e->io == TRACK_IO_UNKNOWN))
			e->since_us = old->since_us;
		else
			e->since_us = now_us;
		if (s->state_change_us != TIME_UNKNOWN)
			e->since_lo_us = s->state_change_us;   /* SQL knows it exactly */
		else if (!old)
			e->since_lo_us = s->start_us != TIME_UNKNOWN ? s->start_us : 0;
		else if (old->state && s->state && strcmp(old->state, s->state) == 0)
			e->since_lo_us = old->since_lo_us;
		else
			e->since_lo_us = t->last_us;
		if (e->io == TRACK_IO_UNKNOWN && old)
			e->io = old->io;
	}
	qsort(nv, n, sizeof(*nv), ent_cmp);
	/* only now touch the sessions: nothing can fail any more */
	for (i = 0; i < l->n; i++) {
		struct session *s = &l->v[i];
		const struct track_ent *e;
		if (!tracked(s))
			continue;
		key.pid = s->pid;
		key.start_ticks = s->start_ticks;
		e = bsearch(&key, nv, n, sizeof(*nv), ent_cmp);
		if (!e || !s->state || s->state_change_us != TIME_UNKNOWN)
			continue;
		s->state_change_us = e->since_us;
		if (strcmp(s->state, "active") == 0 || strcmp(s->state, "fastpath function call") == 0)
			s->query_start_us = e->since_us;
	}
	free(t->v);
	t->v = nv;
	t->n = n;
	t->last_us = now_us;
	return 0;
}

const struct track_ent *track_find(const struct tracker *t, pid_t pid, unsigned long long start_ticks)
{
	struct track_ent key;

	if (!t->n)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.pid = pid;
	key.start_ticks = start_ticks;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), ent_cmp);
}

void track_clear(struct tracker *t)
{
	if (!t)
		return;
	free(t->v);
	t->v = NULL;
	t->n = 0;
	t->last_us = 0;
}

static int field(const char *text, const char *name, uint64_t *ret)
{
	const char *p = text;
	size_t len = strlen(name);
	char *end;

	while (p) {
		if (strncmp(p, name, len) == 0 && p[len] == ':') {
			p += len + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			*ret = strtoull(p, &end, 10);
			if (errno || (*end && *end != '\n'))
				return -EINVAL;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

int track_parse_io(const char *text, uint64_t *ret)
{
	uint64_t r, w;

	if (field(text, "rchar", &r) < 0 || field(text, "wchar", &w) < 0)
		return -EINVAL;
	*ret = r + w;
	if (*ret == TRACK_IO_UNKNOWN)
		(*ret)--;
	return 0;
}
