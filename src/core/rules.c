/* SPDX-License-Identifier: MIT */
/*
 * rules.c -- the agent's rule files (core, no I/O).
 *
 * Owns turning one rule file's text into struct rules: inih reads the INI
 * syntax through a line reader of ours over the bytes, which counts lines
 * (so every error says file:line), sees each [section] header (so a rule
 * knows its line, and a repeated name is refused instead of merged), and
 * refuses over-long lines and NUL bytes.  Each value is checked by the
 * module that owns it: selectors by select_parse_string, steps by
 * ladder_parse_via, durations by duration_parse.  Also owns keep = N.
 * It does not read directories or act.
 */
#include <ctype.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "pgevict/duration.h"
#include "pgevict/rules.h"
#include "pgevict/strv.h"

struct pctx {
	const char *p, *end;
	int line;
	const char *file;
	struct rule_set *set;
	size_t first;                /* the first rule of this file in set */
	struct rule *cur;            /* the section being read, or NULL */
	struct rule_error *err;
	bool failed, nomem;
};

__attribute__((format(printf, 3, 4))) static void fail(struct pctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	c->err->line = line;
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
}

static void rule_free(struct rule *r)
{
	free(r->file);
	free(r->match);
	strv_free(r->lockdown_allow, r->nlockdown_allow);
	select_clear(&r->sel);
}

void rules_clear(struct rule_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		rule_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = set->cap = 0;
}

static bool name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RULE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A [section] header seen by the reader: a new rule. */
static void new_section(struct pctx *c, const char *s, size_t n)
{
	const char *close = memchr(s, ']', n);
	struct rule *r;
	size_t i, len;

	if (!close) {
		fail(c, c->line, "a section header needs a closing ']'");
		return;
	}
	len = (size_t)(close - s - 1);
	if (!name_ok(s + 1, len)) {
		fail(c, c->line, "bad rule name '[%.*s]' (1 to %d of A-Z a-z 0-9 . _ -)", (int)(len > 60 ? 60 : len),
		     s + 1, RULE_NAME_MAX);
		return;
	}
	for (i = 0; i < c->set->n; i++)
		if (strlen(c->set->v[i].name) == len && memcmp(c->set->v[i].name, s + 1, len) == 0) {
			fail(c, c->line, "rule '%.*s' is already defined at %s:%d", (int)len, s + 1,
			     c->set->v[i].file, c->set->v[i].line);
			return;
		}
	if (c->set->n == c->set->cap) {
		size_t cap = c->set->cap ? c->set->cap * 2 : 8;
		struct rule *nv = realloc(c->set->v, cap * sizeof(*nv));
		if (!nv) {
			c->nomem = c->failed = true;
			return;
		}
		c->set->v = nv;
		c->set->cap = cap;
	}
	r = &c->set->v[c->set->n];
	memset(r, 0, sizeof(*r));
	select_init(&r->sel);
	r->step_timeout_ms = -1;
	r->action = ACTION_TERMINATE;
	memcpy(r->name, s + 1, len);
	r->name[len] = '\0';
	r->line = c->line;
	if (!(r->file = strdup(c->file))) {
		c->nomem = c->failed = true;
		return;
	}
	c->set->n++;
	c->cur = r;
}

/* inih's line source: one line per call, counted and looked at first. */
static char *reader(char *str, int num, void *stream)
{
	struct pctx *c = stream;
	const char *nl, *s;
	size_t len, n;

	if (c->failed || c->p >= c->end)
		return NULL;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	len = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
	c->line++;
	if (memchr(c->p, '\0', len)) {
		fail(c, c->line, "a NUL byte");
		return NULL;
	}
	if (num < 4 || len > (size_t)num - 3) {
		fail(c, c->line, "line too long (at most %d bytes)", num - 3);
		return NULL;
	}
	memcpy(str, c->p, len);
	str[len] = '\0';
	c->p += len;
	s = str;
	n = len;
	if (c->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3, n -= 3;
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n && *s == '[')
		new_section(c, s, n);
	return c->failed ? NULL : str;
}

/* A key given once per rule. */
#define ONCE(field)                                                                                \
	do {                                                                                       \
		if (r->field) {                                                                    \
			fail(c, c->line, "'%s' given twice in [%s] (first at line %d)", name, r->name, \
			     r->field);                                                            \
			return 0;                                                                  \
		}                                                                                  \
		r->field = c->line;                                                                \
	} while (0)

/* lockdown-allow-role = NAME[,NAME...]: the roles a lockdown the rule
 * makes lets in (as lockdown's --allow-role).  1 or 0 (said). */
static int allow_roles(struct pctx *c, struct rule *r, const char *value)
{
	const char *p = value;

	while (*p) {
		size_t n = strcspn(p, ", \t");
		size_t k;
		if (n) {
			char name[64];
			if (n >= sizeof(name)) {
				fail(c, c->line, "lockdown-allow-role: a role name is at most %zu bytes", sizeof(name) - 1);
				return 0;
			}
			memcpy(name, p, n);
			name[n] = 0;
			for (k = 0; k < n; k++)
				if ((unsigned char)name[k] < 0x20 || name[k] == '"' || name[k] == 0x7f) {
					fail(c, c->line, "lockdown-allow-role: '%.60s' is no role name", name);
					return 0;
				}
			if (!strv_contains(r->lockdown_allow, r->nlockdown_allow, name) &&
			    strv_push(&r->lockdown_allow, &r->nlockdown_allow, name) < 0) {
				c->nomem = c->failed = true;
				return 0;
			}
		}
		p += n;
		p += strspn(p, ", \t");
	}
	if (!r->nlockdown_allow) {
		fail(c, c->line, "lockdown-allow-role is empty (name the roles a lockdown lets in)");
		return 0;
	}
	return 1;
}

/* The keys of headroom rules: 1, 0 (said), or -1: not one of them. */
static int headroom_key(struct pctx *c, struct rule *r, const char *name, const char *value)
{
	if (strcmp(name, "free") == 0) {
		char *end;
		long k;
		ONCE(line_free);
		errno = 0;
		k = strtol(value, &end, 10);
		if (errno || end == value || *end || k < 1 || k > RULE_FREE_MAX || !isdigit((unsigned char)value[0])) {
			fail(c, c->line, "bad free '%.60s' (a number of slots, 1 to %d)", value, RULE_FREE_MAX);
			return 0;
		}
		r->headroom = k;
	} else if (strcmp(name, "order") == 0) {
		ONCE(line_order);
		if (strcmp(value, "idle-longest") == 0)
			r->order = ORDER_IDLE_LONGEST;
		else if (strcmp(value, "oldest") == 0)
			r->order = ORDER_OLDEST;
		else if (strcmp(value, "newest") == 0)
			r->order = ORDER_NEWEST;
		else {
			fail(c, c->line, "bad order '%.60s' (idle-longest, oldest or newest)", value);
			return 0;
		}
	} else if (strcmp(name, "lockdown-after") == 0) {
		ONCE(line_lockdown_after);
		if (duration_parse(value, &r->lockdown_after_ms) < 0 || r->lockdown_after_ms < 1000 ||
		    r->lockdown_after_ms > 3600000) {
			fail(c, c->line, "bad lockdown-after '%.60s' (e.g. 10s, 1min; 1s to 1h)", value);
			return 0;
		}
	} else if (strcmp(name, "lockdown-allow-role") == 0) {
		ONCE(line_lockdown_allow);
		return allow_roles(c, r, value);
	} else {
		return -1;
	}
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct pctx *c = user;
	struct rule *r = c->cur;
	char msg[200];
	int rc;

	if (!r || strcmp(section, r->name) != 0) {
		fail(c, c->line, "'%s' is outside a [rule] section", name);
		return 0;
	}
	if (strcmp(name, "match") == 0) {
		ONCE(line_match);
		if (!(r->match = strdup(value))) {
			c->nomem = c->failed = true;
			return 0;
		}
		rc = select_parse_string(&r->sel, value, msg, sizeof(msg));
		if (rc == -ENOMEM) {
			c->nomem = c->failed = true;
			return 0;
		}
		if (rc < 0) {
			fail(c, c->line, "match: %s", msg);
			return 0;
		}
		if (select_is_empty(&r->sel)) {
			fail(c, c->line, "match is empty (name sessions with selectors, or --all)");
			return 0;
		}
	} else if (strcmp(name, "action") == 0) {
		ONCE(line_action);
		if (strcmp(value, "cancel") == 0)
			r->action = ACTION_CANCEL;
		else if (strcmp(value, "terminate") == 0)
			r->action = ACTION_TERMINATE;
		else if (strcmp(value, "sever") == 0)
			r->action = ACTION_SEVER;
		else {
			fail(c, c->line, "bad action '%.60s' (cancel, terminate or sever)", value);
			return 0;
		}
	} else if (strcmp(name, "via") == 0) {
		ONCE(line_via);
		if (ladder_parse_via(value, &r->via) < 0 || !r->via) {
			fail(c, c->line, "bad via '%.60s' (steps: sql,signal,destroy,rst)", value);
			return 0;
		}
	} else if (strcmp(name, "keep") == 0) {
		char *end;
		long k;
		ONCE(line_keep);
		errno = 0;
		k = strtol(value, &end, 10);
		if (errno || end == value || *end || k < 0 || k > 100000 || !isdigit((unsigned char)value[0])) {
			fail(c, c->line, "bad keep '%.60s' (a number of sessions, 0 to 100000)", value);
			return 0;
		}
		r->keep = k;
	} else if (strcmp(name, "per") == 0) {
		ONCE(line_per);
		if (strcmp(value, "user") == 0)
			r->per = PER_USER;
		else if (strcmp(value, "db") == 0)
			r->per = PER_DB;
		else if (strcmp(value, "client") == 0)
			r->per = PER_CLIENT;
		else {
			fail(c, c->line, "bad per '%.60s' (user, db or client)", value);
			return 0;
		}
	} else if (strcmp(name, "step-timeout") == 0) {
		ONCE(line_step_timeout);
		if (duration_parse(value, &r->step_timeout_ms) < 0 || r->step_timeout_ms <= 0 ||
		    r->step_timeout_ms > 3600000) {
			fail(c, c->line, "bad step-timeout '%.60s' (e.g. 500ms, 5s; at most 1h)", value);
			return 0;
		}
	} else if ((rc = headroom_key(c, r, name, value)) >= 0) {
		return rc;
	} else {
		fail(c, c->line, "unknown key '%.60s' (match, action, keep, per, free, order, lockdown-after, "
		     "lockdown-allow-role, via, step-timeout)", name);
		return 0;
	}
	return 1;
}

/* A headroom rule: its defaults filled, its keys consistent. */
static void check_headroom(struct pctx *c, struct rule *r)
{
	char msg[200];
	int rc;

	if (r->line_keep || r->line_per) {
		fail(c, r->line_keep ? r->line_keep : r->line_per,
		     "[%s]: %s does not go with free (a headroom rule ends what makes room)", r->name,
		     r->line_keep ? "keep" : "per");
		return;
	}
	if (r->action == ACTION_CANCEL) {
		fail(c, r->line_action, "[%s]: cancel makes no room (a headroom rule terminates or severs)", r->name);
		return;
	}
	if (!r->line_action)
		r->line_action = r->line;   /* terminate */
	/* Not the sql step unless named: pg_terminate_backend needs a
	 * connection, and so a slot (a superuser's reserved one) and a fork,
	 * exactly when slots are short; the signal step sends the SIGTERM it
	 * would, through a pidfd, and is verified the same way. */
	if (!r->via)
		r->via = ladder_default(r->action) & ~STEP_BIT(STEP_SQL);
	if (r->line_match)
		return;
	if (!(r->match = strdup(RULE_HEADROOM_MATCH))) {
		c->nomem = c->failed = true;
		return;
	}
	rc = select_parse_string(&r->sel, r->match, msg, sizeof(msg));
	if (rc < 0) {
		c->nomem = rc == -ENOMEM;
		fail(c, r->line, "default match: %s", msg);
		return;
	}
	r->line_match = r->line;
}

/* What inih cannot check: each rule is whole and consistent. */
static void check_rule(struct pctx *c, struct rule *r)
{
	unsigned steps;

	if ((r->line_order || r->line_lockdown_after) && !r->headroom) {
		fail(c, r->line_order ? r->line_order : r->line_lockdown_after, "%s needs free = N (a headroom rule)",
		     r->line_order ? "order" : "lockdown-after");
		return;
	}
	if (r->line_lockdown_allow && !r->line_lockdown_after) {
		fail(c, r->line_lockdown_allow, "lockdown-allow-role needs lockdown-after (when to lock down)");
		return;
	}
	if (r->headroom)
		check_headroom(c, r);
	if (c->failed)
		return;
	if (!r->line_match) {
		fail(c, r->line, "rule [%s] has no match", r->name);
		return;
	}
	if (!r->line_action) {
		fail(c, r->line, "rule [%s] has no action (cancel, terminate or sever)", r->name);
		return;
	}
	steps = r->via ? r->via : ladder_default(r->action);
	if (steps & ~ladder_allowed(r->action)) {
		fail(c, r->line_via, "via: %s cannot use that step", action_name(r->action));
		return;
	}
	if (r->line_per && !r->keep) {
		fail(c, r->line_per, "per needs keep = N (N at least 1)");
		return;
	}
}

int rules_parse(const char *file, const char *text, size_t len, struct rule_set *set,
		struct rule_error *err)
{
	struct pctx c = { .p = text, .end = text + len, .file = file, .set = set, .first = set->n, .err = err };
	size_t i;
	int r;

	memset(err, 0, sizeof(*err));
	/* inih's run-time switches (Debian builds them as variables) */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_allow_no_value = false;
	r = ini_parse_stream(reader, &c, handler, &c);
	if (r == -2)
		c.nomem = true;
	else if (r > 0 && !c.failed)
		fail(&c, r, "syntax error (expected [name] or key = value)");
	else if (r < 0 && !c.failed)
		fail(&c, 0, "cannot parse");
	for (i = c.first; i < set->n && !c.failed; i++)
		check_rule(&c, &set->v[i]);
	if (!c.failed)
		return 0;
	for (i = c.first; i < set->n; i++)
		rule_free(&set->v[i]);
	set->n = c.first;
	if (c.nomem) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	return -EINVAL;
}

struct keep_ent {
	struct session *s;
	size_t idx;
	const char *group;
};

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	return strcmp(a, b);
}

static int keep_cmp(const void *pa, const void *pb)
{
	const struct keep_ent *a = pa, *b = pb;
	int r;

	if (a->s->cluster != b->s->cluster)
		return a->s->cluster < b->s->cluster ? -1 : 1;
	if ((r = cmp_str(a->group, b->group)) != 0)
		return r;
	if (a->s->start_us != b->s->start_us)
		return a->s->start_us < b->s->start_us ? -1 : 1;
	return a->s->pid < b->s->pid ? -1 : a->s->pid > b->s->pid;
}

int rules_keep(const struct rule *r, struct session *const *v, size_t n, bool *ret_act)
{
	struct keep_ent *e;
	size_t i, in_group = 0;

	for (i = 0; i < n; i++)
		ret_act[i] = v[i]->start_us != TIME_UNKNOWN || r->keep == 0;
	if (r->keep == 0 || n == 0)
		return 0;
	if (!(e = calloc(n, sizeof(*e))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		e[i].s = v[i];
		e[i].idx = i;
		e[i].group = r->per == PER_USER ? v[i]->user : r->per == PER_DB ? v[i]->database :
			     r->per == PER_CLIENT ? v[i]->client_addr : "";
		if (r->per == PER_CLIENT && v[i]->transport == TRANSPORT_UNIX)
			e[i].group = "[local]";
	}
	qsort(e, n, sizeof(*e), keep_cmp);
	for (i = 0; i < n; i++) {
		if (i == 0 || e[i].s->cluster != e[i - 1].s->cluster || cmp_str(e[i].group, e[i - 1].group) != 0)
			in_group = 0;
		if (e[i].s->start_us == TIME_UNKNOWN)
			continue;   /* sorted first (INT64_MIN), already kept */
		if (in_group < (size_t)r->keep)
			ret_act[e[i].idx] = false;
		in_group++;
	}
	free(e);
	return 0;
}

const char *rule_order_name(enum rule_order o)
{
	return o == ORDER_OLDEST ? "oldest" : o == ORDER_NEWEST ? "newest" : "idle-longest";
}

bool rules_headroom_may_end(const struct rule *r, const struct session *s)
{
	if (!s->backend_type || strcmp(s->backend_type, "client backend") != 0)
		return false;
	return s->su == SU_NO || r->sel.nusers > 0;
}

struct room_ent {
	const struct session *s;
	size_t idx;
	int64_t key;                 /* TIME_UNKNOWN: last */
};

static int room_cmp(const void *pa, const void *pb)
{
	const struct room_ent *a = pa, *b = pb;

	if ((a->key == TIME_UNKNOWN) != (b->key == TIME_UNKNOWN))
		return a->key == TIME_UNKNOWN ? 1 : -1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->s->pid < b->s->pid ? -1 : a->s->pid > b->s->pid;
}

int rules_headroom(const struct rule *r, struct session *const *v, size_t n, size_t need, bool *ret_act)
{
	struct room_ent *e;
	size_t i;

	for (i = 0; i < n; i++)
		ret_act[i] = false;
	if (!n || !need)
		return 0;
	if (!(e = calloc(n, sizeof(*e))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		int64_t t = r->order == ORDER_IDLE_LONGEST ? v[i]->state_change_us : v[i]->start_us;
		e[i].s = v[i];
		e[i].idx = i;
		/* newest first: the latest start sorts first as the least key */
		e[i].key = r->order == ORDER_NEWEST && t != TIME_UNKNOWN ? -t : t;
	}
	qsort(e, n, sizeof(*e), room_cmp);
	for (i = 0; i < n && i < need; i++)
		ret_act[e[i].idx] = true;
	free(e);
	return 0;
}

static bool may_in(char *const *v, size_t n, const char *value)
{
	size_t i;

	if (!n || !value)
		return true;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], value) == 0)
			return true;
	return false;
}

bool rules_may_match(const struct selector *sel, const struct session *s, int64_t now_us, bool ignore_time)
{
	size_t i;
	bool hit;

	if (sel->npids) {
		for (hit = false, i = 0; i < sel->npids && !hit; i++)
			hit = sel->pids[i] == s->pid;
		if (!hit)
			return false;
	}
	if (!may_in(sel->users, sel->nusers, s->user) || !may_in(sel->dbs, sel->ndbs, s->database) ||
	    !may_in(sel->states, sel->nstates, s->state))
		return false;
	if (sel->nclients && s->transport != TRANSPORT_NONE) {
		for (hit = false, i = 0; i < sel->nclients && !hit; i++) {
			if (sel->clients[i].family == AF_UNIX)
				hit = s->transport == TRANSPORT_UNIX;
			else
				hit = s->transport == TRANSPORT_TCP &&
				      (!s->client_addr[0] || cidr_contains(&sel->clients[i], s->client_addr));
		}
		if (!hit)
			return false;
	}
	if (sel->older_than_ms >= 0 && s->start_us != TIME_UNKNOWN &&
	    (now_us - s->start_us) / 1000 < sel->older_than_ms)
		return false;
	if (ignore_time)
		return true;
	if (sel->idle_for_ms >= 0 && s->state) {
		if (strcmp(s->state, "active") == 0 || strcmp(s->state, "starting") == 0)
			return false;
		if (s->state_change_us != TIME_UNKNOWN && (now_us - s->state_change_us) / 1000 < sel->idle_for_ms)
			return false;
	}
	if (sel->running_for_ms >= 0 && s->state) {
		if (strcmp(s->state, "active") != 0 && strcmp(s->state, "fastpath function call") != 0)
			return false;
		if (s->query_start_us != TIME_UNKNOWN && (now_us - s->query_start_us) / 1000 < sel->running_for_ms)
			return false;
	}
	return true;
}
