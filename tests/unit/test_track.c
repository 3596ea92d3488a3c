/* SPDX-License-Identifier: MIT */
/*
 * test_track.c -- unit tests for track.h: timing session states across
 * passes without SQL.
 *
 * A state seen on several passes keeps the time of the first; a change of
 * state, of IO counters, or of the process behind a pid (new start time)
 * restarts the clock; sessions timed by SQL and non-client processes are
 * left alone; sessions gone are forgotten.  /proc/PID/io text parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/select.h"
#include "pgevict/session.h"
#include "pgevict/track.h"

static struct session *add(struct session_list *l, pid_t pid, unsigned long long ticks, const char *state)
{
	struct session *s = session_list_add(l);

	assert_non_null(s);
	s->pid = pid;
	s->start_ticks = ticks;
	s->is_client = true;
	s->state = select_known_state(state);
	return s;
}

static void pass(struct tracker *t, struct session_list *l, const uint64_t *io, int64_t now)
{
	assert_int_equal(track_update(t, l, io, now), 0);
}

static void test_track(void **state)
{
	struct tracker t = { 0 };
	struct session_list l = { 0 };
	uint64_t io[4] = { 10, 20, TRACK_IO_UNKNOWN, 0 };
	(void)state;

	/* pass 1 at t=1000: everything first seen now */
	add(&l, 100, 1, "idle in transaction");
	add(&l, 200, 1, "active");
	add(&l, 300, 1, "idle")->state_change_us = 5;   /* SQL timed it */
	add(&l, 400, 1, "idle")->is_client = false;
	pass(&t, &l, io, 1000);
	assert_int_equal(l.v[0].state_change_us, 1000);
	assert_int_equal(l.v[0].query_start_us, TIME_UNKNOWN);
	assert_int_equal(l.v[1].state_change_us, 1000);
	assert_int_equal(l.v[1].query_start_us, 1000);
	assert_int_equal(l.v[2].state_change_us, 5);
	assert_int_equal(l.v[3].state_change_us, TIME_UNKNOWN);
	assert_int_equal(t.n, 3);      /* SQL-timed ones are tracked, not set */
	/* the upper bound: new sessions' states began no earlier than their
	 * start (unknown here: 0) */
	assert_int_equal(track_find(&t, 100, 1)->since_lo_us, 0);
	assert_int_equal(track_find(&t, 300, 1)->since_lo_us, 5);   /* SQL's */
	assert_null(track_find(&t, 400, 1));
	session_list_clear(&l);

	/* pass 2 at t=2000: same states, same IO: the clocks keep 1000 */
	add(&l, 200, 1, "active");
	add(&l, 100, 1, "idle in transaction");
	io[0] = 20;
	io[1] = 10;
	pass(&t, &l, io, 2000);
	assert_int_equal(l.v[0].query_start_us, 1000);
	assert_int_equal(l.v[1].state_change_us, 1000);
	session_list_clear(&l);

	/* pass 3: 100 did IO (a query between passes), 200 changed state */
	add(&l, 100, 1, "idle in transaction");
	add(&l, 200, 1, "idle");
	io[0] = 11;
	io[1] = 20;
	pass(&t, &l, io, 3000);
	assert_int_equal(l.v[0].state_change_us, 3000);
	assert_int_equal(l.v[1].state_change_us, 3000);
	/* IO restarts the lower bound only; a new state began after the
	 * previous pass (2000) */
	assert_int_equal(track_find(&t, 100, 1)->since_lo_us, 0);
	assert_int_equal(track_find(&t, 200, 1)->since_lo_us, 2000);
	session_list_clear(&l);

	/* pass 4: IO unknown this time: no restart; pid 200 is now another
	 * process (start 2): a new clock, bounded by its start */
	add(&l, 100, 1, "idle in transaction");
	add(&l, 200, 2, "idle")->start_us = 3500;
	pass(&t, &l, NULL, 4000);
	assert_int_equal(l.v[0].state_change_us, 3000);
	assert_int_equal(l.v[1].state_change_us, 4000);
	assert_int_equal(track_find(&t, 200, 2)->since_lo_us, 3500);
	assert_null(track_find(&t, 200, 1));
	session_list_clear(&l);

	/* pass 5: 100 gone, forgotten; comes back (same identity): new clock */
	add(&l, 200, 2, "idle");
	pass(&t, &l, NULL, 5000);
	assert_int_equal(t.n, 1);
	session_list_clear(&l);
	add(&l, 100, 1, "idle in transaction");
	pass(&t, &l, NULL, 6000);
	assert_int_equal(l.v[0].state_change_us, 6000);
	session_list_clear(&l);

	/* an unknown state is never timed */
	add(&l, 100, 1, "bogus");
	pass(&t, &l, NULL, 7000);
	assert_int_equal(l.v[0].state_change_us, TIME_UNKNOWN);
	session_list_clear(&l);

	/* no sessions at all */
	pass(&t, &l, NULL, 8000);
	assert_int_equal(t.n, 0);
	track_clear(&t);
	track_clear(&t);
	track_clear(NULL);
}

static void test_parse_io(void **state)
{
	uint64_t v;
	(void)state;

	assert_int_equal(track_parse_io("rchar: 4096\nwchar: 100\nsyscr: 5\n", &v), 0);
	assert_int_equal(v, 4196);
	assert_int_equal(track_parse_io("syscr: 5\nwchar: 1\nrchar: 2", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(track_parse_io("rchar: 1\n", &v), -EINVAL);
	assert_int_equal(track_parse_io("rchar: x\nwchar: 1\n", &v), -EINVAL);
	assert_int_equal(track_parse_io("rchar: 99999999999999999999999\nwchar: 1\n", &v), -EINVAL);
	assert_int_equal(track_parse_io("xrchar: 1\nwchar: 1\n", &v), -EINVAL);
	assert_int_equal(track_parse_io("", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_parse_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
