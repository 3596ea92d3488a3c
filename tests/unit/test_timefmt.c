/* SPDX-License-Identifier: MIT */
/*
 * test_timefmt.c -- timefmt_rfc3339 (timefmt.h), no root: six digits of
 * microseconds always (.000000, .000001, .999999 and the step to the next
 * second), the date across a leap day and a year's end, "Z" and the UTC
 * time whatever TZ says (zones east and west of UTC, with DST), "" for
 * TIME_UNKNOWN, and a short buffer cut like snprintf.  The lockdown
 * header's use of it is test_lockplan's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pgevict/session.h"
#include "pgevict/timefmt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	int64_t us;
	const char *text;
} rows[] = {
	{ 0, "1970-01-01T00:00:00.000000Z" },
	{ 1, "1970-01-01T00:00:00.000001Z" },
	{ 999999, "1970-01-01T00:00:00.999999Z" },
	{ 1700000000000001LL, "2023-11-14T22:13:20.000001Z" },
	{ 1700000000999999LL, "2023-11-14T22:13:20.999999Z" },
	{ 1700000001000000LL, "2023-11-14T22:13:21.000000Z" },
	{ 1709251199999999LL, "2024-02-29T23:59:59.999999Z" },
	{ 1735689599500000LL, "2024-12-31T23:59:59.500000Z" },
	{ 1796070569123456LL, "2026-11-30T20:29:29.123456Z" },
	{ 4102444800000000LL, "2100-01-01T00:00:00.000000Z" },
	{ TIME_UNKNOWN, "" },
};

static void check_rows(void)
{
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(buf, 'X', sizeof(buf));
		timefmt_rfc3339(rows[i].us, buf, sizeof(buf));
		assert_string_equal(buf, rows[i].text);
	}
}

static void test_utc(void **state)
{
	(void)state;
	assert_int_equal(setenv("TZ", "UTC0", 1), 0);
	tzset();
	check_rows();
}

/* POSIX zone strings, so that no tzdata is needed: the text is the same
 * in a zone west of UTC with DST (November and February are winter, the
 * summer rule is there), east of it by a half hour, and east across the
 * date line. */
static void test_tz_ignored(void **state)
{
	static const char *const zones[] = {
		"EST5EDT,M3.2.0,M11.1.0", "IST-5:30", "NZST-12NZDT,M9.5.0,M4.1.0/3", "<-0230>2:30",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(zones); i++) {
		assert_int_equal(setenv("TZ", zones[i], 1), 0);
		tzset();
		check_rows();
	}
	unsetenv("TZ");
	tzset();
}

static void test_short_buffer(void **state)
{
	char buf[11];
	char one[1] = { 'X' };

	(void)state;
	timefmt_rfc3339(1796070569123456LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-30");
	timefmt_rfc3339(1796070569123456LL, one, sizeof(one));
	assert_int_equal(one[0], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_tz_ignored),
		cmocka_unit_test(test_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
