/* SPDX-License-Identifier: MIT */
/*
 * scratch.h -- a scratch directory for the unit tests of file code
 * (test_fileio.c, test_lockstate.c, test_pgsql.c): made under $TMPDIR
 * (else /tmp) by the group setup, removed by the group teardown; at()
 * names a file in it, put() writes one.  Needs no root.
 */
#ifndef PGEVICT_TEST_SCRATCH_H
#define PGEVICT_TEST_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>

static char top[200];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(top, sizeof(top), "%s/pgevict-unit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* TOP/NAME; valid until the eighth call after. */
static char *at(const char *name)
{
	static char buf[8][256];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, 256, "%s/%s", top, name);
	return b;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

#endif
