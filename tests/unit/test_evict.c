/* SPDX-License-Identifier: MIT */
/*
 * test_evict.c -- the eviction engine's dry run (evict.h): it says what
 * the real run would decide before any step (skipped, idle) and `planned`
 * with the plan's note for the rest, touching nothing (no root needed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/evict.h"

static int audits;

static void count_audit(void *arg, enum action a, const struct session *s, const char *what)
{
	(void)arg;
	(void)a;
	(void)s;
	(void)what;
	audits++;
}

static void add(struct session_list *l, pid_t pid, const char *type, enum transport tr, const char *state)
{
	struct session *s = session_list_add(l);

	assert_non_null(s);
	s->pid = pid;
	s->backend_type = type;
	s->is_client = true;
	s->transport = tr;
	s->state = state;
}

static void dry(enum action a, struct session_list *l, struct plan *p, struct evict_result *res)
{
	struct evict_params ep;
	struct selector sel;

	select_init(&sel);
	assert_int_equal(select_add(&sel, "all", NULL), 0);
	evict_params_init(&ep, a);
	ep.dry_run = true;
	ep.audit = count_audit;
	assert_int_equal(ladder_plan(a, ep.steps, &sel, l, 0, p), 0);
	assert_int_equal(evict(&ep, p, res, NULL), 0);
	select_clear(&sel);
}

static void test_dry_terminate(void **state)
{
	struct session_list l = { 0 };
	struct evict_result res[3];
	struct plan p;

	(void)state;
	add(&l, 10, "client backend", TRANSPORT_TCP, "idle");
	add(&l, 11, "client backend", TRANSPORT_UNIX, "idle");
	add(&l, 12, "walsender", TRANSPORT_TCP, "idle");
	audits = 0;
	dry(ACTION_TERMINATE, &l, &p, res);
	assert_int_equal(p.n, 3);
	assert_int_equal(res[0].outcome, OUTCOME_PLANNED);
	assert_string_equal(res[0].note, "");
	/* the Unix-socket session: planned, with the plan's note */
	assert_int_equal(res[1].outcome, OUTCOME_PLANNED);
	assert_non_null(strstr(res[1].note, "cannot be cut on the network"));
	/* the walsender not named by --pid: skipped, as the real run says */
	assert_int_equal(res[2].outcome, OUTCOME_SKIPPED);
	assert_non_null(strstr(res[2].note, "walsender"));
	assert_int_equal(res[2].step, -1);
	assert_int_equal(audits, 0);   /* nothing done, nothing audited */
	plan_clear(&p);
	session_list_clear(&l);
}

static void test_dry_cancel(void **state)
{
	struct session_list l = { 0 };
	struct evict_result res[2];
	struct plan p;

	(void)state;
	add(&l, 20, "client backend", TRANSPORT_TCP, "active");
	add(&l, 21, "client backend", TRANSPORT_TCP, "idle in transaction");
	dry(ACTION_CANCEL, &l, &p, res);
	assert_int_equal(res[0].outcome, OUTCOME_PLANNED);
	/* no query running: idle, in the plan as in the real run */
	assert_int_equal(res[1].outcome, OUTCOME_IDLE);
	assert_non_null(strstr(res[1].note, "idle in transaction"));
	plan_clear(&p);
	session_list_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dry_terminate),
		cmocka_unit_test(test_dry_cancel),
	};

	return cmocka_run_group_tests_name("evict", tests, NULL, NULL);
}
