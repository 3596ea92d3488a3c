/* SPDX-License-Identifier: MIT */
/*
 * test_ladder.c -- the eviction ladder as data (ladder.h): --via parsing,
 * which sessions a plan takes and with which steps, the exit status.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pgevict/ladder.h"

static void test_parse_via(void **state)
{
	unsigned m;

	(void)state;
	assert_int_equal(ladder_parse_via("sql,signal,destroy", &m), 0);
	assert_int_equal(m, STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL) | STEP_BIT(STEP_DESTROY));
	assert_int_equal(ladder_parse_via("signal", &m), 0);
	assert_int_equal(m, STEP_BIT(STEP_SIGNAL));
	assert_int_equal(ladder_parse_via("rst", &m), 0);
	assert_int_equal(ladder_parse_via("", &m), -EINVAL);
	assert_int_equal(ladder_parse_via("sql,", &m), -EINVAL);
	assert_int_equal(ladder_parse_via(",sql", &m), -EINVAL);
	assert_int_equal(ladder_parse_via("sql,sql", &m), -EINVAL);
	assert_int_equal(ladder_parse_via("kill", &m), -EINVAL);
	assert_int_equal(ladder_parse_via("SIGNAL", &m), -EINVAL);
}

/* The text of a step mask reads back as the same mask. */
static void test_steps_text(void **state)
{
	const char *texts[] = { "sql", "signal,destroy", "sql,signal,destroy,rst", "rst" };
	char buf[64], tiny[5];
	unsigned m, back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(ladder_parse_via(texts[i], &m), 0);
		assert_string_equal(ladder_steps_text(m, buf, sizeof(buf)), texts[i]);
		assert_int_equal(ladder_parse_via(buf, &back), 0);
		assert_int_equal(back, m);
	}
	assert_string_equal(ladder_steps_text(0, buf, sizeof(buf)), "");
	/* a short buffer is cut, never overrun */
	ladder_steps_text(STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL), tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void test_allowed(void **state)
{
	(void)state;
	/* cancel never cuts a connection; sever never signals */
	assert_false(ladder_allowed(ACTION_CANCEL) & STEP_BIT(STEP_DESTROY));
	assert_false(ladder_allowed(ACTION_SEVER) & STEP_BIT(STEP_SIGNAL));
	assert_false(ladder_allowed(ACTION_SEVER) & STEP_BIT(STEP_SQL));
	assert_true(ladder_default(ACTION_TERMINATE) & STEP_BIT(STEP_DESTROY));
	assert_true(ladder_default(ACTION_TERMINATE) & STEP_BIT(STEP_RST));
	assert_true(ladder_default(ACTION_SEVER) & STEP_BIT(STEP_RST));
	assert_false(ladder_default(ACTION_CANCEL) & STEP_BIT(STEP_RST));
}

static struct session *add(struct session_list *l, pid_t pid, const char *type, bool client,
			   enum transport tr, const char *user)
{
	struct session *s = session_list_add(l);

	s->pid = pid;
	s->backend_type = type;
	s->is_client = client;
	s->transport = tr;
	s->user = user ? strdup(user) : NULL;
	return s;
}

static void test_plan(void **state)
{
	struct session_list l = { 0 };
	struct selector sel;
	struct plan p;
	unsigned all = ladder_default(ACTION_TERMINATE);

	(void)state;
	add(&l, 10, "client backend", true, TRANSPORT_TCP, "u1");
	add(&l, 11, "client backend", true, TRANSPORT_UNIX, "u1");
	add(&l, 12, "walsender", true, TRANSPORT_TCP, "u1");
	add(&l, 13, "checkpointer", false, TRANSPORT_NONE, NULL);
	add(&l, 14, "client backend", true, TRANSPORT_NONE, "u1");
	add(&l, 15, "client backend", true, TRANSPORT_TCP, "u2");

	select_init(&sel);
	assert_int_equal(select_add(&sel, "all", NULL), 0);
	assert_int_equal(ladder_plan(ACTION_TERMINATE, all, &sel, &l, 0, &p), 0);
	/* the checkpointer is never planned, even under --all */
	assert_int_equal(p.n, 5);
	assert_int_equal(p.v[0].s->pid, 10);
	assert_int_equal(p.v[0].steps, all);
	assert_null(p.v[0].skip);
	/* Unix socket: no network steps, noted */
	assert_int_equal(p.v[1].steps, STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL));
	assert_non_null(p.v[1].note);
	/* a walsender only when named by pid */
	assert_int_equal(p.v[2].steps, 0);
	assert_non_null(p.v[2].skip);
	/* no socket found: no network steps */
	assert_int_equal(p.v[3].s->pid, 14);
	assert_int_equal(p.v[3].steps, STEP_BIT(STEP_SQL) | STEP_BIT(STEP_SIGNAL));
	plan_clear(&p);

	/* sever of a Unix session: nothing applies, skipped with the reason */
	select_clear(&sel);
	assert_int_equal(select_add(&sel, "pid", "11"), 0);
	assert_int_equal(ladder_plan(ACTION_SEVER, ladder_default(ACTION_SEVER), &sel, &l, 0, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].steps, 0);
	assert_non_null(p.v[0].skip);
	plan_clear(&p);

	/* named by pid, a walsender is planned */
	select_clear(&sel);
	assert_int_equal(select_add(&sel, "pid", "12"), 0);
	assert_int_equal(ladder_plan(ACTION_TERMINATE, all, &sel, &l, 0, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].steps, all);
	plan_clear(&p);

	/* a user selector takes only that user's client sessions */
	select_clear(&sel);
	assert_int_equal(select_add(&sel, "user", "u2"), 0);
	assert_int_equal(ladder_plan(ACTION_TERMINATE, all, &sel, &l, 0, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].s->pid, 15);
	plan_clear(&p);

	select_clear(&sel);
	session_list_clear(&l);
}

static void test_exit_status(void **state)
{
	enum outcome gone[] = { OUTCOME_GONE, OUTCOME_GONE };
	enum outcome sev[] = { OUTCOME_GONE, OUTCOME_SEVERED, OUTCOME_SKIPPED };
	enum outcome surv[] = { OUTCOME_SEVERED, OUTCOME_SURVIVED, OUTCOME_GONE };
	enum outcome canc[] = { OUTCOME_CANCELLED, OUTCOME_IDLE, OUTCOME_PLANNED };

	(void)state;
	assert_int_equal(ladder_exit_status(gone, 2), 0);
	assert_int_equal(ladder_exit_status(NULL, 0), 0);
	assert_int_equal(ladder_exit_status(sev, 3), 3);
	assert_int_equal(ladder_exit_status(surv, 3), 1);
	assert_int_equal(ladder_exit_status(canc, 3), 0);
	assert_string_equal(outcome_name(OUTCOME_SEVERED), "severed");
	assert_string_equal(step_name(STEP_DESTROY), "destroy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_via),
		cmocka_unit_test(test_steps_text),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_exit_status),
	};

	return cmocka_run_group_tests_name("ladder", tests, NULL, NULL);
}
