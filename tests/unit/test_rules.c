/* SPDX-License-Identifier: MIT */
/*
 * test_rules.c -- unit tests for rules.h (rules_parse, rules_keep) and the
 * selector line it uses (select_parse_string, select.h).
 *
 * Good files: every key, quoting in match, comments, CRLF, a BOM, two
 * files into one set.  Bad files, table-driven: each must fail with the
 * line the user has to fix and a message naming the problem, and leave
 * the set as it was.  keep = N: the N oldest per cluster (and per user),
 * unknown start times kept, keep = 0 acts on all.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/rules.h"
#include "pgevict/select.h"
#include "pgevict/session.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse(const char *text, struct rule_set *set, struct rule_error *err)
{
	return rules_parse("t.conf", text, strlen(text), set, err);
}

static void test_good(void **state)
{
	struct rule_set set = { 0 };
	struct rule_error err;
	const char *text =
		"\xEF\xBB\xBF# idle in transaction\r\n"
		"[idle-xact]\r\n"
		"match = --state 'idle in transaction' --idle-for 10min\r\n"
		"action = terminate\r\n"
		"\n"
		"; one per role\n"
		"  [one_per.role]\n"
		"  match = --user=app --user \"we ird\"\n"
		"  action = terminate\n"
		"  keep = 1\n"
		"  per = user\n"
		"  via = signal,destroy\n"
		"  step-timeout = 500ms\n"
		"[nets]\n"
		"match = --client 10.0.0.0/8 --client local ; an inline comment\n"
		"action = sever\n"
		"[long]\n"
		"match = --running-for 5min\n"
		"action = cancel\n";
	(void)state;

	assert_int_equal(parse(text, &set, &err), 0);
	assert_int_equal(set.n, 4);
	assert_string_equal(set.v[0].name, "idle-xact");
	assert_int_equal(set.v[0].line, 2);
	assert_int_equal(set.v[0].action, ACTION_TERMINATE);
	assert_int_equal(set.v[0].sel.nstates, 1);
	assert_string_equal(set.v[0].sel.states[0], "idle in transaction");
	assert_int_equal(set.v[0].sel.idle_for_ms, 600000);
	assert_int_equal(set.v[0].keep, 0);
	assert_int_equal(set.v[0].via, 0);
	assert_int_equal(set.v[0].step_timeout_ms, -1);
	assert_string_equal(set.v[1].name, "one_per.role");
	assert_int_equal(set.v[1].line, 7);
	assert_int_equal(set.v[1].sel.nusers, 2);
	assert_string_equal(set.v[1].sel.users[0], "app");
	assert_string_equal(set.v[1].sel.users[1], "we ird");
	assert_int_equal(set.v[1].keep, 1);
	assert_int_equal(set.v[1].per, PER_USER);
	assert_int_equal(set.v[1].via, STEP_BIT(STEP_SIGNAL) | STEP_BIT(STEP_DESTROY));
	assert_int_equal(set.v[1].step_timeout_ms, 500);
	assert_int_equal(set.v[2].action, ACTION_SEVER);
	assert_int_equal(set.v[2].sel.nclients, 2);
	assert_int_equal(set.v[3].action, ACTION_CANCEL);
	assert_int_equal(set.v[3].sel.running_for_ms, 300000);
	assert_string_equal(set.v[3].file, "t.conf");

	/* a second file adds to the set; a name already used is refused */
	assert_int_equal(rules_parse("u.conf", "[x]\nmatch=--all\naction=terminate\n", 33, &set, &err), 0);
	assert_int_equal(set.n, 5);
	assert_int_equal(rules_parse("v.conf", "\n[nets]\nmatch=--all\naction=cancel\n", 34, &set, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "already defined at t.conf:14"));
	assert_int_equal(set.n, 5);
	rules_clear(&set);
	rules_clear(&set);
	rules_clear(NULL);

	/* an empty file, or only comments, is no rules and no error */
	assert_int_equal(parse("", &set, &err), 0);
	assert_int_equal(parse("# nothing\n; yet\n", &set, &err), 0);
	assert_int_equal(set.n, 0);
}

static const struct {
	const char *text;
	int line;
	const char *msg;
} bad[] = {
	{ "match = --all\n", 1, "outside a [rule] section" },
	{ "[a]\nmatch = --user\naction = terminate\n", 2, "--user needs a value" },
	{ "[a]\nmatch = --bogus x\naction = terminate\n", 2, "unknown selector '--bogus'" },
	{ "[a]\nmatch = user x\naction = terminate\n", 2, "expected a selector" },
	{ "[a]\nmatch = --state 'idle in\naction = terminate\n", 2, "unterminated quote" },
	{ "[a]\nmatch = --state sleeping\naction = terminate\n", 2, "bad value 'sleeping' for --state" },
	{ "[a]\nmatch = --idle-for 10\naction = terminate\n", 2, "bad value '10' for --idle-for" },
	{ "[a]\nmatch = --client 10.0.0.0/33\n", 2, "bad value" },
	{ "[a]\nmatch = --all=yes\n", 2, "--all takes no value" },
	{ "[a]\nmatch =\naction = terminate\n", 2, "match is empty" },
	{ "[a]\naction = terminate\n\n", 1, "has no match" },
	{ "\n[a]\nmatch = --all\n", 2, "has no action" },
	{ "[a]\nmatch = --all\naction = kill\n", 3, "bad action 'kill'" },
	{ "[a]\nmatch = --all\naction = terminate\nkeep = -1\n", 4, "bad keep" },
	{ "[a]\nmatch = --all\naction = terminate\nkeep = 1x\n", 4, "bad keep" },
	{ "[a]\nmatch = --all\naction = terminate\nkeep = \n", 4, "bad keep" },
	{ "[a]\nmatch = --all\naction = terminate\nper = role\n", 4, "bad per" },
	{ "[a]\nmatch = --all\naction = terminate\nper = user\n", 4, "per needs keep" },
	{ "[a]\nmatch = --all\naction = cancel\nvia = destroy\n", 4, "cancel cannot use that step" },
	{ "[a]\nmatch = --all\naction = terminate\nvia = sql,sql\n", 4, "bad via" },
	{ "[a]\nmatch = --all\naction = cancel\nvia = rst\n", 4, "cancel cannot use that step" },
	{ "[a]\nmatch = --all\naction = terminate\nstep-timeout = 2h\n", 4, "bad step-timeout" },
	{ "[a]\nmatch = --all\naction = terminate\nkill = yes\n", 4, "unknown key 'kill'" },
	{ "[a]\nmatch = --all\naction = terminate\naction = cancel\n", 4, "given twice" },
	{ "[a]\nmatch = --all\naction = terminate\n[a]\n", 4, "already defined at t.conf:1" },
	{ "[a b]\n", 1, "bad rule name" },
	{ "[]\n", 1, "bad rule name" },
	{ "[a\n", 1, "closing ']'" },
	{ "[a]\nmatch --all\n", 2, "syntax error" },
	{ "[a]\nmatch = --all\naction = terminate\n"
	  "# a very long line ......................................................................"
	  "............................................................................................"
	  "..........................................................................................\n",
	  4, "line too long" },
	/* headroom rules */
	{ "[a]\nmatch = --all\naction = terminate\nlockdown-after = 10s\n", 4, "lockdown-after needs free = N" },
	{ "[a]\nfree = 5\nlockdown-allow-role = dba\n", 3, "lockdown-allow-role needs lockdown-after" },
	{ "[a]\nfree = 5\nlockdown-after = 500ms\n", 3, "bad lockdown-after '500ms'" },
	{ "[a]\nfree = 5\nlockdown-after = 2h\n", 3, "bad lockdown-after '2h'" },
	{ "[a]\nfree = 5\nlockdown-after = 1s\nlockdown-allow-role = ,\n", 4, "lockdown-allow-role is empty" },
	{ "[a]\nfree = 5\nlockdown-after = 1s\nlockdown-allow-role = a\"b\n", 4, "is no role name" },
	{ "[a]\nfree = 5\nlockdown-after = 1s\nlockdown-after = 2s\n", 4, "given twice" },
	{ "[h]\nfree = 0\n", 2, "bad free '0'" },
	{ "[h]\nfree = 10001\n", 2, "bad free" },
	{ "[h]\nfree = -3\n", 2, "bad free" },
	{ "[h]\nfree = 3\nkeep = 1\n", 3, "keep does not go with free" },
	{ "[h]\nfree = 3\nmatch = --all\nkeep = 0\n", 4, "keep does not go with free" },
	{ "[h]\nfree = 3\nper = user\n", 3, "per does not go with free" },
	{ "[h]\nfree = 3\naction = cancel\n", 3, "cancel makes no room" },
	{ "[h]\nfree = 3\norder = random\n", 3, "bad order 'random'" },
	{ "[h]\nmatch = --all\naction = terminate\norder = oldest\n", 4, "order needs free" },
	{ "[h]\nfree = 3\nfree = 4\n", 3, "given twice" },
	/* continuation lines are off: an indented line is a line of its own */
	{ "[a]\nmatch = --all\n   --user x\naction = terminate\n", 3, "syntax error" },
};

static void test_bad(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct rule_set set = { 0 };
		struct rule_error err;
		int r = parse(bad[i].text, &set, &err);
		if (r != -EINVAL || err.line != bad[i].line || !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: r=%d line=%d msg='%s' (want line %d '%s')", i, r, err.line, err.msg,
				 bad[i].line, bad[i].msg);
		assert_int_equal(set.n, 0);
		rules_clear(&set);
	}
}

static void test_nul(void **state)
{
	struct rule_set set = { 0 };
	struct rule_error err;
	static const char text[] = "[a]\nmatch = --all\0x\naction = terminate\n";
	(void)state;

	assert_int_equal(rules_parse("t.conf", text, sizeof(text) - 1, &set, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_int_equal(set.n, 0);
	rules_clear(&set);
}

/* ---- rules_keep ---- */

static void test_keep(void **state)
{
	struct pg_cluster c1 = { 0 }, c2 = { 0 };
	struct session_list l = { 0 };
	struct session *v[7];
	struct rule r;
	bool act[7];
	const struct {
		struct pg_cluster *c;
		const char *user;
		int64_t start;
	} s[] = {
		{ &c1, "app", 300 },   /* 0 */
		{ &c1, "app", 100 },   /* 1 oldest app on c1 */
		{ &c1, "app", 200 },   /* 2 */
		{ &c1, "etl", 500 },   /* 3 only etl on c1 */
		{ &c2, "app", 400 },   /* 4 only app on c2 */
		{ &c1, "app", TIME_UNKNOWN }, /* 5 unknown start */
		{ &c1, "etl", 50 },    /* 6 oldest etl on c1 */
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(s); i++) {
		struct session *x = session_list_add(&l);
		assert_non_null(x);
		x->pid = (pid_t)(1000 + i);
		x->cluster = s[i].c;
		x->start_us = s[i].start;
		x->user = strdup(s[i].user);
	}
	for (i = 0; i < ARRAY_SIZE(s); i++)
		v[i] = &l.v[i];

	memset(&r, 0, sizeof(r));
	/* keep = 0: act on every match, even an unknown start */
	assert_int_equal(rules_keep(&r, v, 7, act), 0);
	for (i = 0; i < 7; i++)
		assert_true(act[i]);

	/* keep = 1 per user: the oldest app and etl of each cluster stay */
	r.keep = 1;
	r.per = PER_USER;
	assert_int_equal(rules_keep(&r, v, 7, act), 0);
	assert_true(act[0]);
	assert_false(act[1]);
	assert_true(act[2]);
	assert_true(act[3]);
	assert_false(act[4]);
	assert_false(act[5]);
	assert_false(act[6]);

	/* keep = 2 per cluster: c1's two oldest (6, 1) stay, c2's one stays */
	r.keep = 2;
	r.per = PER_NONE;
	assert_int_equal(rules_keep(&r, v, 7, act), 0);
	assert_true(act[0]);
	assert_false(act[1]);
	assert_true(act[2]);
	assert_true(act[3]);
	assert_false(act[4]);
	assert_false(act[5]);
	assert_false(act[6]);

	/* ties on start: the lower pid is the older */
	l.v[0].start_us = 100;
	r.keep = 1;
	r.per = PER_USER;
	assert_int_equal(rules_keep(&r, v, 3, act), 0);
	assert_false(act[0]);
	assert_true(act[1]);
	assert_true(act[2]);

	assert_int_equal(rules_keep(&r, v, 0, act), 0);
	session_list_clear(&l);
}

static void test_select_parse_string(void **state)
{
	struct selector s;
	char err[200];
	(void)state;

	select_init(&s);
	assert_int_equal(select_parse_string(&s, "  --db=a\\ b --db \"c\\\"d\" --older-than 1h --all ", err,
					     sizeof(err)), 0);
	assert_int_equal(s.ndbs, 2);
	assert_string_equal(s.dbs[0], "a b");
	assert_string_equal(s.dbs[1], "c\"d");
	assert_int_equal(s.older_than_ms, 3600000);
	assert_true(s.all);
	select_clear(&s);
	assert_int_equal(select_parse_string(&s, "", err, sizeof(err)), 0);
	assert_true(select_is_empty(&s));
	assert_int_equal(select_parse_string(&s, "--user ''", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad value '' for --user"));
	select_clear(&s);
	assert_int_equal(select_parse_string(&s, "--", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown selector"));
	select_clear(&s);
}

/* ---- rules_may_match: never false where select_match could be true ---- */

static void test_may_match(void **state)
{
	struct session_list l = { 0 };
	struct selector sel;
	struct session *s;
	char err[200];
	const int64_t now = INT64_C(10000000000);
	(void)state;

	s = session_list_add(&l);
	assert_non_null(s);
	s->pid = 42;
	s->is_client = true;
	s->state = select_known_state("idle in transaction");
	s->start_us = now - 3600 * INT64_C(1000000);
	s->state_change_us = now - 120 * INT64_C(1000000);   /* began no earlier */

	select_init(&sel);
	assert_int_equal(select_parse_string(&sel, "--user app --state 'idle in transaction' --idle-for 10min --client 10.0.0.0/8 --app web",
					     err, sizeof(err)), 0);
	/* user unknown (ambiguous title), no client known, app never known:
	 * all may match; but at most 2 minutes idle: not yet */
	assert_false(rules_may_match(&sel, s, now, false));
	assert_true(rules_may_match(&sel, s, now, true));
	s->state_change_us = now - 700 * INT64_C(1000000);
	assert_true(rules_may_match(&sel, s, now, false));
	/* an unknown start of the state may match */
	s->state_change_us = TIME_UNKNOWN;
	assert_true(rules_may_match(&sel, s, now, false));
	/* a known other user, state, or client: no */
	s->user = strdup("other");
	assert_false(rules_may_match(&sel, s, now, true));
	free(s->user);
	s->user = strdup("app");
	assert_true(rules_may_match(&sel, s, now, true));
	s->transport = TRANSPORT_TCP;
	strcpy(s->client_addr, "192.0.2.1");
	assert_false(rules_may_match(&sel, s, now, true));
	strcpy(s->client_addr, "10.1.2.3");
	assert_true(rules_may_match(&sel, s, now, true));
	s->transport = TRANSPORT_UNIX;
	assert_false(rules_may_match(&sel, s, now, true));
	s->transport = TRANSPORT_NONE;
	s->state = select_known_state("active");
	assert_false(rules_may_match(&sel, s, now, false));
	s->state = NULL;               /* unknown state: may */
	assert_true(rules_may_match(&sel, s, now, false));
	select_clear(&sel);

	/* running-for against the earliest query start; older-than, pid */
	assert_int_equal(select_parse_string(&sel, "--running-for 5min --older-than 30min --pid 42", err, sizeof(err)), 0);
	s->state = select_known_state("active");
	s->query_start_us = now - 200 * INT64_C(1000000);
	assert_false(rules_may_match(&sel, s, now, false));
	s->query_start_us = now - 400 * INT64_C(1000000);
	assert_true(rules_may_match(&sel, s, now, false));
	s->start_us = now - 60 * INT64_C(1000000);
	assert_false(rules_may_match(&sel, s, now, false));
	s->start_us = TIME_UNKNOWN;
	assert_true(rules_may_match(&sel, s, now, false));
	s->pid = 43;
	assert_false(rules_may_match(&sel, s, now, false));
	select_clear(&sel);
	session_list_clear(&l);
}

/* ---- headroom rules ---- */

static void test_headroom_parse(void **state)
{
	struct rule_set set = { 0 };
	struct rule_error err;
	(void)state;

	assert_int_equal(parse("[room]\nfree = 5\n[room2]\nfree = 2\nmatch = --user app\norder = newest\n"
			       "action = sever\n",
			       &set, &err),
			 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(set.v[0].headroom, 5);
	assert_int_equal(set.v[0].action, ACTION_TERMINATE);
	assert_int_equal(set.v[0].order, ORDER_IDLE_LONGEST);
	assert_string_equal(set.v[0].match, RULE_HEADROOM_MATCH);
	assert_int_equal(set.v[0].sel.nstates, 1);
	assert_int_equal(set.v[0].keep, 0);
	assert_int_equal(set.v[1].headroom, 2);
	assert_int_equal(set.v[1].order, ORDER_NEWEST);
	assert_int_equal(set.v[1].action, ACTION_SEVER);
	assert_int_equal(set.v[1].sel.nusers, 1);
	assert_string_equal(rule_order_name(ORDER_OLDEST), "oldest");
	/* no sql step unless named: it would take a slot to make one */
	assert_int_equal(set.v[0].via, STEP_BIT(STEP_SIGNAL) | STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST));
	assert_int_equal(set.v[1].via, STEP_BIT(STEP_DESTROY) | STEP_BIT(STEP_RST));
	rules_clear(&set);
	assert_int_equal(parse("[room]\nfree = 5\nvia = sql,signal\n", &set, &err), 0);
	assert_int_equal(set.v[0].via, STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL));
	rules_clear(&set);
	/* lockdown-after and lockdown-allow-role */
	assert_int_equal(parse("[room]\nfree = 5\nlockdown-after = 10s\nlockdown-allow-role = dba, mon,dba\n", &set,
			       &err),
			 0);
	assert_int_equal(set.v[0].lockdown_after_ms, 10000);
	assert_int_equal(set.v[0].nlockdown_allow, 2);
	assert_string_equal(set.v[0].lockdown_allow[0], "dba");
	assert_string_equal(set.v[0].lockdown_allow[1], "mon");
	rules_clear(&set);
	assert_int_equal(parse("[room]\nfree = 5\nlockdown-after = 10s\n", &set, &err), 0);
	assert_int_equal(set.v[0].nlockdown_allow, 0);
	rules_clear(&set);
	/* a rule that is not a headroom one keeps the action's whole ladder */
	assert_int_equal(parse("[a]\nmatch = --all\naction = terminate\n", &set, &err), 0);
	assert_int_equal(set.v[0].via, 0u);
	rules_clear(&set);
	/* not a headroom rule: still needs match and action */
	assert_int_equal(parse("[a]\nmatch = --all\n", &set, &err), -EINVAL);
	rules_clear(&set);
}

static void test_headroom_may_end(void **state)
{
	struct rule_set set = { 0 };
	struct rule_error err;
	struct session s = { .pid = 1, .backend_type = "client backend" };
	(void)state;

	assert_int_equal(parse("[d]\nfree = 1\n[u]\nfree = 1\nmatch = --user admin\n", &set, &err), 0);
	/* default: only a role known not to be a superuser */
	s.su = SU_UNKNOWN;
	assert_false(rules_headroom_may_end(&set.v[0], &s));
	s.su = SU_YES;
	assert_false(rules_headroom_may_end(&set.v[0], &s));
	s.su = SU_NO;
	assert_true(rules_headroom_may_end(&set.v[0], &s));
	s.backend_type = "walsender";
	assert_false(rules_headroom_may_end(&set.v[0], &s));
	assert_false(rules_headroom_may_end(&set.v[1], &s));
	/* a match that names users may end them, superusers too */
	s.backend_type = "client backend";
	s.su = SU_YES;
	assert_true(rules_headroom_may_end(&set.v[1], &s));
	s.su = SU_UNKNOWN;
	assert_true(rules_headroom_may_end(&set.v[1], &s));
	rules_clear(&set);
}

static void test_headroom_order(void **state)
{
	struct rule r = { .headroom = 3 };
	struct session s[5] = {
		{ .pid = 10, .start_us = 100, .state_change_us = 900 },
		{ .pid = 11, .start_us = 300, .state_change_us = 500 },
		{ .pid = 12, .start_us = 200, .state_change_us = TIME_UNKNOWN },
		{ .pid = 13, .start_us = TIME_UNKNOWN, .state_change_us = 700 },
		{ .pid = 14, .start_us = 400, .state_change_us = 500 },
	};
	struct session *v[5] = { &s[0], &s[1], &s[2], &s[3], &s[4] };
	bool act[5];
	(void)state;

	/* idle-longest: 11 and 14 (500, pid order), then 13 (700) */
	r.order = ORDER_IDLE_LONGEST;
	assert_int_equal(rules_headroom(&r, v, 5, 3, act), 0);
	assert_false(act[0]);
	assert_true(act[1]);
	assert_false(act[2]);
	assert_true(act[3]);
	assert_true(act[4]);
	/* oldest: 10 (100), 12 (200) */
	r.order = ORDER_OLDEST;
	assert_int_equal(rules_headroom(&r, v, 5, 2, act), 0);
	assert_true(act[0] && act[2]);
	assert_false(act[1] || act[3] || act[4]);
	/* newest: 14 (400); unknown starts last */
	r.order = ORDER_NEWEST;
	assert_int_equal(rules_headroom(&r, v, 5, 1, act), 0);
	assert_true(act[4]);
	assert_false(act[0] || act[1] || act[2] || act[3]);
	/* more needed than there are: all; none needed: none */
	assert_int_equal(rules_headroom(&r, v, 5, 9, act), 0);
	assert_true(act[0] && act[1] && act[2] && act[3] && act[4]);
	assert_int_equal(rules_headroom(&r, v, 5, 0, act), 0);
	assert_false(act[0] || act[1] || act[2] || act[3] || act[4]);
}

static void test_slots(void **state)
{
	struct pg_cluster c = { .max_connections = 12, .su_reserved = 2, .reserved = 0 }, o = { 0 };
	struct session_list l = { 0 };
	const char *types[] = { "client backend", "walsender", "client backend", "autovacuum launcher", NULL };
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		struct session *s = session_list_add(&l);
		assert_non_null(s);
		s->cluster = i == 4 ? &o : &c;
		s->backend_type = types[i];
	}
	l.v[4].backend_type = "client backend";   /* another cluster's */
	assert_int_equal(cluster_slots_used(&c, &l), 2);
	assert_int_equal(cluster_slots_free(&c, 2), 8);
	c.reserved = 3;
	assert_int_equal(cluster_slots_free(&c, 9), -2);
	c.su_reserved = -1;
	assert_int_equal(cluster_slots_free(&c, 2), INT_MIN);
	assert_int_equal(cluster_slots_free(&o, 0), INT_MIN);
	session_list_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_select_parse_string),
		cmocka_unit_test(test_may_match),
		cmocka_unit_test(test_headroom_parse),
		cmocka_unit_test(test_headroom_may_end),
		cmocka_unit_test(test_headroom_order),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
