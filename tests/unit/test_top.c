/* SPDX-License-Identifier: MIT */
/*
 * test_top.c -- unit tests for top.h: /proc/PID/io parsed, CPU % and I/O
 * rates between two samples (none across a reused pid or before a second
 * sample), ages, header counts and line, order by column with unknowns
 * last, cell text.  (/proc/PID/stat: test_procstat.c.)
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
#include "pgevict/top.h"

static void test_parse_io(void **state)
{
	static const char io[] = "rchar: 1000\nwchar: 2000\nsyscr: 5\nsyscw: 6\n"
				 "read_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
	struct top_sample s = { 0 };
	(void)state;

	assert_int_equal(top_parse_io(io, &s), 0);
	assert_true(s.io_ok);
	assert_int_equal(s.read_bytes, 4096);
	assert_int_equal(s.write_bytes, 8192);
	s.io_ok = false;
	assert_int_equal(top_parse_io("rchar: 1\nwchar: 2\n", &s), -EINVAL);
	assert_false(s.io_ok);
}

static void test_rates(void **state)
{
	struct session ses = { .pid = 7, .start_ticks = 9, .state_change_us = 1000000,
			       .query_start_us = TIME_UNKNOWN };
	struct top_sample a = { .pid = 7, .start_ticks = 9, .stat_ok = true, .cpu_ticks = 100, .rss_pages = 10,
				.io_ok = true, .read_bytes = 0, .write_bytes = 1000, .mono_us = 5000000 };
	struct top_sample b = a, other;
	struct top_row r = { .s = &ses };
	(void)state;

	b.cpu_ticks = 150;           /* 50 ticks in 2 s at 100 Hz: 25 % */
	b.read_bytes = 4096;
	b.write_bytes = 3000;
	b.mono_us = 7000000;
	top_row_compute(&r, &a, &b, 100, 4, 3500000);
	assert_true(r.cpu_pct > 24.99 && r.cpu_pct < 25.01);
	assert_true(r.read_bps > 2047.9 && r.read_bps < 2048.1);
	assert_true(r.write_bps > 999.9 && r.write_bps < 1000.1);
	assert_int_equal(r.rss_kb, 40);
	assert_int_equal(r.state_age_ms, 2500);
	assert_int_equal(r.query_age_ms, -1);

	/* the first sample: nothing to compare with */
	top_row_compute(&r, NULL, &b, 100, 4, 3500000);
	assert_true(r.cpu_pct < 0 && r.read_bps < 0 && r.write_bps < 0);
	assert_int_equal(r.rss_kb, 40);

	/* another process behind the same pid: no rate */
	other = a;
	other.start_ticks = 10;
	top_row_compute(&r, &other, &b, 100, 4, 3500000);
	assert_true(r.cpu_pct < 0);

	/* counters that went back, /proc/PID/io unreadable: unknown */
	b.cpu_ticks = 10;
	b.io_ok = false;
	top_row_compute(&r, &a, &b, 100, 4, 3500000);
	assert_true(r.cpu_pct < 0 && r.read_bps < 0);
}

static void test_samples_find(void **state)
{
	struct top_sample v[4] = { { .pid = 30, .start_ticks = 1 }, { .pid = 10, .start_ticks = 5 },
				   { .pid = 20, .start_ticks = 2 }, { .pid = 10, .start_ticks = 3 } };
	(void)state;

	top_samples_sort(v, 4);
	assert_int_equal(v[0].pid, 10);
	assert_int_equal(v[0].start_ticks, 3);
	assert_ptr_equal(top_sample_find(v, 4, 10, 5), &v[1]);
	assert_ptr_equal(top_sample_find(v, 4, 30, 1), &v[3]);
	assert_null(top_sample_find(v, 4, 30, 2));
	assert_null(top_sample_find(v, 0, 30, 1));
}

static void test_sort(void **state)
{
	struct session s[4] = { { .pid = 4, .user = "bob" }, { .pid = 2, .user = NULL }, { .pid = 3, .user = "al" },
				{ .pid = 1, .user = "bob" } };
	struct top_row r[4];
	size_t i;
	(void)state;

	for (i = 0; i < 4; i++)
		r[i] = (struct top_row){ .s = &s[i], .cpu_pct = (double)i, .rss_kb = 10 - (long long)i };
	r[2].cpu_pct = TOP_UNKNOWN;
	top_rows_sort(r, 4, TOP_CPU, true);
	assert_int_equal(r[0].s->pid, 1);
	assert_int_equal(r[3].s->pid, 3);     /* unknown CPU last */
	top_rows_sort(r, 4, TOP_USER, false);
	assert_int_equal(r[0].s->pid, 3);     /* al */
	assert_int_equal(r[1].s->pid, 1);     /* bob, ties by pid */
	assert_int_equal(r[2].s->pid, 4);
	assert_int_equal(r[3].s->pid, 2);     /* unknown user last */
	top_rows_sort(r, 4, TOP_PID, false);
	for (i = 0; i < 4; i++)
		assert_int_equal(r[i].s->pid, (pid_t)i + 1);
	assert_int_equal(top_col_parse("cpu%"), TOP_CPU);
	assert_int_equal(top_col_parse("mem"), TOP_RSS);
	assert_int_equal(top_col_parse("nope"), -1);
}

static void test_counts_header(void **state)
{
	struct pg_cluster c = { .port = 5432, .data_dir = "/srv/pg", .cluster_name = "main", .max_connections = 10,
				.sql_error = "FATAL:  sorry, too many clients already" };
	struct pg_cluster other = { .port = 5433 };
	struct session_list l = { 0 };
	static const char *const states[] = { "active", "idle", "idle", "idle in transaction", NULL };
	struct top_counts k;
	char line[512];
	size_t i;
	(void)state;

	for (i = 0; i < 5; i++) {
		struct session *s = session_list_add(&l);
		assert_non_null(s);
		s->cluster = &c;
		s->is_client = true;
		s->backend_type = i == 4 ? "walsender" : "client backend";
		s->state = states[i] ? select_known_state(states[i]) : NULL;
	}
	session_list_add(&l)->cluster = &c;          /* a checkpointer: not counted */
	session_list_add(&l)->cluster = &other;
	l.v[6].is_client = true;
	top_count(&l, &c, &k);
	assert_int_equal(k.sessions, 5);
	assert_int_equal(k.slots, 4);
	assert_int_equal(k.active, 1);
	assert_int_equal(k.idle, 2);
	assert_int_equal(k.idle_xact, 1);
	assert_int_equal(k.other, 1);
	top_header(&c, &k, "none", line, sizeof(line));
	assert_string_equal(line, "main (port 5432, /srv/pg): 5 sessions (1 active, 2 idle, 1 idle in transaction, "
				  "1 other) | slots 4/10 | no SQL: FATAL:  sorry, too many clients already | lockdown: none");
	c.max_connections = -1;
	c.sql_ok = true;
	top_header(&c, &k, "locked", line, sizeof(line));
	assert_non_null(strstr(line, "| slots 4/? | SQL ok | lockdown: locked"));
	for (i = 0; i < l.n; i++)
		l.v[i].cluster = NULL;
	free(l.v);
}

static void test_cells(void **state)
{
	struct session s = { .pid = 42, .user = "app", .state = "active", .waiting = true, .is_client = true,
			     .proc_state = 'D', .client_port = -1 };
	struct top_row r = { .s = &s, .cpu_pct = 12.345, .rss_kb = 2048, .read_bps = 1536, .write_bps = TOP_UNKNOWN,
			     .state_age_ms = 61000, .query_age_ms = -1 };
	char b[64];
	(void)state;

	top_cell(&r, TOP_PID, b, sizeof(b));
	assert_string_equal(b, "42");
	top_cell(&r, TOP_STATE, b, sizeof(b));
	assert_string_equal(b, "active (waiting)");
	top_cell(&r, TOP_CPU, b, sizeof(b));
	assert_string_equal(b, "12.3");
	top_cell(&r, TOP_RSS, b, sizeof(b));
	assert_string_equal(b, "2.0M");
	top_cell(&r, TOP_READ, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	top_cell(&r, TOP_WRITE, b, sizeof(b));
	assert_string_equal(b, "-");
	top_cell(&r, TOP_QUERY_AGE, b, sizeof(b));
	assert_string_equal(b, "-");
	top_cell(&r, TOP_DB, b, sizeof(b));
	assert_string_equal(b, "-");
	top_cell(&r, TOP_PS, b, sizeof(b));
	assert_string_equal(b, "D");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_io),
		cmocka_unit_test(test_rates),       cmocka_unit_test(test_samples_find),
		cmocka_unit_test(test_sort),        cmocka_unit_test(test_counts_header),
		cmocka_unit_test(test_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
