/*
 * test_pgconf.c -- unit tests for pgconf.h: pgconf_get on postgresql.conf
 * text and pgconf_argv_get on a postmaster's NUL-separated argv.
 *
 * postgresql.conf: "name = 'v'", "name='v'", "name v", bare values,
 * quotes with '' and \', comments after values, commented-out lines, the
 * last assignment winning, case-insensitive names, names that only share
 * a prefix, CRLF, a file without a final newline, absent settings.
 * argv: "-c" "name=v", "-cname=v", "--name=v", "--name-with-dashes=v",
 * the last one winning, absent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/pgconf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	const char *conf;
	const char *key;
	const char *value;      /* NULL: absent */
} conf_cases[] = {
	{ "conf: spaces around =", "cluster_name = '15/main'\n", "cluster_name", "15/main" },
	{ "conf: no spaces", "cluster_name='15/main'\n", "cluster_name", "15/main" },
	{ "conf: no =", "cluster_name '15/main'\n", "cluster_name", "15/main" },
	{ "conf: no = bare", "port 5433\n", "port", "5433" },
	{ "conf: bare value", "hba_file = /etc/pg/hba.conf\n", "hba_file", "/etc/pg/hba.conf" },
	{ "conf: tabs", "\tcluster_name\t=\t'x'\t\n", "cluster_name", "x" },
	{ "conf: leading blanks", "    cluster_name = 'x'\n", "cluster_name", "x" },
	{ "conf: doubled quote", "cluster_name = 'it''s'\n", "cluster_name", "it's" },
	{ "conf: backslash quote", "cluster_name = 'it\\'s'\n", "cluster_name", "it's" },
	{ "conf: backslash backslash", "cluster_name = 'a\\\\b'\n", "cluster_name", "a\\b" },
	{ "conf: quoted # is not a comment", "cluster_name = 'a#b'\n", "cluster_name", "a#b" },
	{ "conf: quoted blanks", "cluster_name = 'my cluster'\n", "cluster_name", "my cluster" },
	{ "conf: empty quoted", "cluster_name = ''\n", "cluster_name", "" },
	{ "conf: comment after quoted", "cluster_name = '15/main'\t\t\t# added in 9.5\n",
	  "cluster_name", "15/main" },
	{ "conf: comment after bare", "port = 5432 # (change requires restart)\n", "port", "5432" },
	{ "conf: comment glued to bare", "port = 5432#x\n", "port", "5432" },
	{ "conf: commented out", "#cluster_name = 'old'\n", "cluster_name", NULL },
	{ "conf: commented out with blank", "# cluster_name = 'old'\n", "cluster_name", NULL },
	{ "conf: commented out then set", "#cluster_name = ''\ncluster_name = 'new'\n", "cluster_name",
	  "new" },
	{ "conf: set then commented out", "cluster_name = 'new'\n#cluster_name = 'old'\n", "cluster_name",
	  "new" },
	{ "conf: last wins", "cluster_name = 'a'\nport = 1\ncluster_name = 'b'\n", "cluster_name", "b" },
	{ "conf: last wins, three", "port = 1\nport = 2\nport = 3\n", "port", "3" },
	{ "conf: case-insensitive name in file", "Cluster_Name = 'x'\n", "cluster_name", "x" },
	{ "conf: case-insensitive name asked", "cluster_name = 'x'\n", "CLUSTER_NAME", "x" },
	{ "conf: absent", "port = 5432\n", "cluster_name", NULL },
	{ "conf: empty file", "", "cluster_name", NULL },
	{ "conf: prefix of another name", "cluster_name_extra = 'x'\n", "cluster_name", NULL },
	{ "conf: longer asked than present", "cluster = 'x'\n", "cluster_name", NULL },
	{ "conf: name only in a value", "other = 'cluster_name = x'\n", "cluster_name", NULL },
	{ "conf: name only in a comment", "port = 1 # cluster_name = 'x'\n", "cluster_name", NULL },
	{ "conf: no final newline", "port = 1\ncluster_name = 'x'", "cluster_name", "x" },
	{ "conf: CRLF quoted", "cluster_name = 'x'\r\nport = 1\r\n", "cluster_name", "x" },
	{ "conf: CRLF bare", "port = 5433\r\n", "port", "5433" },
	{ "conf: hba_file path", "hba_file = '/etc/postgresql/15/main/pg_hba.conf'\t# host-based authentication file\n",
	  "hba_file", "/etc/postgresql/15/main/pg_hba.conf" },
	{ "conf: debian-like file",
	  "# -----------------------------\n"
	  "# PostgreSQL configuration file\n"
	  "# -----------------------------\n"
	  "\n"
	  "data_directory = '/var/lib/postgresql/15/main'\t\t# use data in another directory\n"
	  "hba_file = '/etc/postgresql/15/main/pg_hba.conf'\t# host-based authentication file\n"
	  "ident_file = '/etc/postgresql/15/main/pg_ident.conf'\t# ident configuration file\n"
	  "port = 5432\t\t\t\t# (change requires restart)\n"
	  "#cluster_name = ''\t\t\t# added to process titles if nonempty\n"
	  "cluster_name = '15/main'\t\t\t# added to process titles if nonempty\n"
	  "include_dir = 'conf.d'\t\t\t# include files ending in '.conf' from\n",
	  "cluster_name", "15/main" },
	{ "conf: unterminated quote", "cluster_name = 'abc\n", "cluster_name", "abc" },
};

static void test_conf_case(void **state)
{
	size_t i = (size_t)(uintptr_t)*state;
	size_t len = strlen(conf_cases[i].conf);
	char *buf = malloc(len ? len : 1), *v = (char *)"untouched";
	int r;

	/* exact-size, unterminated copy: the parser must honour LEN */
	assert_non_null(buf);
	memcpy(buf, conf_cases[i].conf, len);
	r = pgconf_get(buf, len, conf_cases[i].key, &v);
	free(buf);
	if (!conf_cases[i].value) {
		if (r != 0 || v)
			fail_msg("[%s] got %d '%s', want 0 NULL", conf_cases[i].name, r,
				 v ? v : "NULL");
		return;
	}
	if (r != 1 || !v || strcmp(v, conf_cases[i].value) != 0) {
		print_error("[%s] got %d '%s', want 1 '%s'\n", conf_cases[i].name, r,
			    v ? v : "NULL", conf_cases[i].value);
		free(v);
		fail();
	}
	free(v);
}

/* argv as /proc/PID/cmdline gives it: NUL-separated, NUL-terminated. */
static const struct {
	const char *name;
	const char *argv;
	size_t len;
	const char *key;
	const char *value;
} argv_cases[] = {
#define A(nm, lit, key, val) { nm, lit, sizeof(lit) - 1, key, val }
	A("argv: -c name=v", "/usr/lib/postgresql/15/bin/postgres\0-D\0/x\0-c\0hba_file=/x\0", "hba_file",
	  "/x"),
	A("argv: -cname=v", "postgres\0-D\0/x\0-chba_file=/x\0", "hba_file", "/x"),
	A("argv: --name=v", "postgres\0-D\0/x\0--hba_file=/x\0", "hba_file", "/x"),
	A("argv: --name-with-dashes=v", "postgres\0-D\0/x\0--hba-file=/x\0", "hba_file", "/x"),
	A("argv: asked with dashes", "postgres\0-c\0hba_file=/x\0", "hba-file", "/x"),
	A("argv: debian config_file",
	  "/usr/lib/postgresql/15/bin/postgres\0-D\0/var/lib/postgresql/15/main\0-c\0"
	  "config_file=/etc/postgresql/15/main/postgresql.conf\0",
	  "config_file", "/etc/postgresql/15/main/postgresql.conf"),
	A("argv: absent", "postgres\0-D\0/x\0-c\0port=5433\0", "hba_file", NULL),
	A("argv: absent, only argv0", "postgres\0", "hba_file", NULL),
	A("argv: last wins", "postgres\0-c\0cluster_name=a\0--cluster_name=b\0-ccluster_name=c\0",
	  "cluster_name", "c"),
	A("argv: value with =", "postgres\0-c\0cluster_name=a=b\0", "cluster_name", "a=b"),
	A("argv: empty value", "postgres\0-c\0cluster_name=\0", "cluster_name", ""),
	A("argv: value with blanks", "postgres\0-c\0cluster_name=my cluster\0", "cluster_name",
	  "my cluster"),
	A("argv: case-insensitive", "postgres\0-c\0Cluster_Name=x\0", "cluster_name", "x"),
	A("argv: prefix of another name", "postgres\0-c\0cluster_name_x=1\0", "cluster_name", NULL),
	A("argv: -c at the end", "postgres\0-c\0", "hba_file", NULL),
	A("argv: -c without =", "postgres\0-c\0hba_file\0", "hba_file", NULL),
	A("argv: no final NUL", "postgres\0-chba_file=/x", "hba_file", "/x"),
	A("argv: single dash long form is not -c", "postgres\0-hba_file=/x\0", "hba_file", NULL),
	A("argv: name=v without -c", "postgres\0hba_file=/x\0", "hba_file", NULL),
	A("argv: -c then bare name=v counts once", "postgres\0-c\0port=1\0hba_file=/x\0", "hba_file",
	  NULL),
#undef A
};

static void test_argv_case(void **state)
{
	size_t i = (size_t)(uintptr_t)*state;
	size_t len = argv_cases[i].len;
	char *buf = malloc(len ? len : 1), *v = (char *)"untouched";
	int r;

	assert_non_null(buf);
	memcpy(buf, argv_cases[i].argv, len);
	r = pgconf_argv_get(buf, len, argv_cases[i].key, &v);
	free(buf);
	if (!argv_cases[i].value) {
		if (r != 0 || v)
			fail_msg("[%s] got %d '%s', want 0 NULL", argv_cases[i].name, r,
				 v ? v : "NULL");
		return;
	}
	if (r != 1 || !v || strcmp(v, argv_cases[i].value) != 0) {
		print_error("[%s] got %d '%s', want 1 '%s'\n", argv_cases[i].name, r,
			    v ? v : "NULL", argv_cases[i].value);
		free(v);
		fail();
	}
	free(v);
}

static void test_empty_buffers(void **state)
{
	char *v = (char *)"untouched";

	(void)state;
	assert_int_equal(pgconf_get("", 0, "port", &v), 0);
	assert_null(v);
	v = (char *)"untouched";
	assert_int_equal(pgconf_argv_get("", 0, "port", &v), 0);
	assert_null(v);
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(conf_cases) + ARRAY_SIZE(argv_cases) + 1];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(conf_cases); i++)
		tests[n++] = (struct CMUnitTest){ conf_cases[i].name, test_conf_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	for (i = 0; i < ARRAY_SIZE(argv_cases); i++)
		tests[n++] = (struct CMUnitTest){ argv_cases[i].name, test_argv_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_empty_buffers);
	return cmocka_run_group_tests_name("pgconf", tests, NULL, NULL);
}
