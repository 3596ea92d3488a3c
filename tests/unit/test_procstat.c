/* SPDX-License-Identifier: MIT */
/*
 * test_procstat.c -- unit tests for procstat.h: /proc/PID/stat lines as
 * the kernel writes them (a command name with blanks and parentheses, a
 * title-like one, negative priority and nice), and damage (no ')', a
 * missing or non-numeric field, a line cut short): refused, never read
 * past its length.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/procstat.h"

/* fields: pid (comm) state ppid pgrp session tty tpgid flags minflt
 * cminflt majflt cmajflt utime(14) stime(15) cutime cstime priority(18)
 * nice(19) threads itreal starttime(22) vsize rss(24) ... */
static const char good[] =
	"4242 (postgres: app (x) ) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
	"250 50 0 0 20 -5 1 0 987654 123456789 2816 18446744073709551615 1 1 0 0 0\n";

static const struct {
	const char *name, *line;
	struct procstat want;
} goods[] = {
	{ "a title with blanks and parentheses, negative nice", good, { 'S', 1, 300, 987654, 2816 } },
	{ "a zombie, exactly 24 fields", "7 (a) Z 3 0 0 0 0 0 0 0 0 0 1 2 0 0 0 0 0 0 99 0 5", { 'Z', 3, 3, 99, 5 } },
	{ "a name that is only ')'", "9 ()) R 2 0 0 0 -1 0 0 0 0 0 10 10 0 0 -100 0 1 0 5 0 1\n", { 'R', 2, 20, 5, 1 } },
};

static void test_good(void **state)
{
	struct procstat s;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct procstat *w = &goods[i].want;
		print_message("%s\n", goods[i].name);
		assert_int_equal(procstat_parse(goods[i].line, strlen(goods[i].line), &s), 0);
		assert_int_equal(s.state, w->state);
		assert_int_equal(s.ppid, w->ppid);
		assert_int_equal(s.cpu_ticks, w->cpu_ticks);
		assert_int_equal(s.start_ticks, w->start_ticks);
		assert_int_equal(s.rss_pages, w->rss_pages);
		/* one byte short of field 24 is refused (a line cut short) */
		if (goods[i].line[strlen(goods[i].line) - 1] != '\n') {
			assert_int_equal(procstat_parse(goods[i].line, strlen(goods[i].line) - 1, &s), -EINVAL);
			assert_int_equal(s.start_ticks, 0);
		}
	}
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"", "4242 postgres S 1", "4242 (x) S 1 2 3", "4242 (x)", "4242 (x) ", "4242 (x)  S 1",
		"4242 (x) S x 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 -5 1 0 987654 1 2816",
		"4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 -5 1 0 98a654 1 2816",
		"4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 - 1 0 987654 1 2816",
	};
	struct procstat s;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(procstat_parse(bad[i], strlen(bad[i]), &s), -EINVAL);
		assert_int_equal(s.start_ticks, 0);
		assert_int_equal(s.ppid, 0);
	}
}

static void test_length_bounds_the_read(void **state)
{
	/* a copy with no terminator: a read past LEN would be seen by ASan */
	size_t n = strlen(good);
	char *c = malloc(n);
	struct procstat s;
	(void)state;

	assert_non_null(c);
	memcpy(c, good, n);
	assert_int_equal(procstat_parse(c, n, &s), 0);
	assert_int_equal(s.start_ticks, 987654);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_length_bounds_the_read),
	};
	return cmocka_run_group_tests_name("procstat", tests, NULL, NULL);
}
