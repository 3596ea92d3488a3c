/* SPDX-License-Identifier: MIT */
/*
 * test_probe.c -- probe.h, no root: every answer's number (state.json
 * keeps probe_before as one, so a record written by an older pgevict must
 * read the same) and its name, and "?" for a number that is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgevict/probe.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_values_and_names(void **state)
{
	static const struct {
		enum probe_result r;
		int value;
		const char *name;
	} rows[] = {
		{ PROBE_PASSED, 0, "passed pg_hba.conf" },
		{ PROBE_HBA_REJECT, 1, "rejected by pg_hba.conf" },
		{ PROBE_NO_ENTRY, 2, "no pg_hba.conf entry" },
		{ PROBE_SLOTS, 3, "no connection slot" },
		{ PROBE_UNREACHABLE, 4, "unreachable" },
		{ PROBE_OTHER, 5, "other error" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_int_equal((int)rows[i].r, rows[i].value);
		assert_string_equal(probe_result_name(rows[i].r), rows[i].name);
	}
	assert_string_equal(probe_result_name((enum probe_result)6), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
