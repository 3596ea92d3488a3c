/* SPDX-License-Identifier: MIT */
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
 * pgconf_lookup over an in-memory file tree: include, include_if_exists and
 * include_dir (relative to the including file, .conf files only, no dot
 * files, strcmp order), later settings winning across files, missing files,
 * PostgreSQL's depth limit of 10, a self-include, an include_dir fan-out
 * that would take millions of reads, Debian's conf.d layout.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
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

/* An in-memory file tree: PATH -> contents; a directory is every prefix. */
struct memfile {
	const char *path;
	const char *text;
};

struct memfs {
	const struct memfile *v;
	size_t n;
	unsigned reads;
};

static int mem_read(void *ctx, const char *path, char **ret_buf, size_t *ret_len)
{
	struct memfs *fs = ctx;
	size_t i;

	fs->reads++;
	for (i = 0; i < fs->n; i++)
		if (strcmp(fs->v[i].path, path) == 0) {
			*ret_buf = strdup(fs->v[i].text);
			*ret_len = strlen(fs->v[i].text);
			return *ret_buf ? 0 : -ENOMEM;
		}
	return -ENOENT;
}

static int mem_list(void *ctx, const char *path, char ***ret_names, size_t *ret_n)
{
	struct memfs *fs = ctx;
	size_t i, n = 0, plen = strlen(path);
	char **v = calloc(fs->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	/* Listed in reverse so that the order must come from the sort. */
	for (i = fs->n; i-- > 0;) {
		const char *p = fs->v[i].path;
		if (strncmp(p, path, plen) == 0 && p[plen] == '/' && !strchr(p + plen + 1, '/'))
			v[n++] = strdup(p + plen + 1);
	}
	if (!n && plen) {
		bool any = false;
		for (i = 0; i < fs->n; i++)
			any |= strncmp(fs->v[i].path, path, plen) == 0 && fs->v[i].path[plen] == '/';
		if (!any) {
			free(v);
			return -ENOENT;
		}
	}
	*ret_names = v;
	*ret_n = n;
	return 0;
}

struct lookup_case {
	const char *name;
	struct memfile files[16];
	const char *top;
	const char *key;
	int rc;
	const char *value;      /* NULL: absent */
	const char *file;       /* the file that set it */
};

static const struct lookup_case lookup_cases[] = {
	{ "include: relative to the including file",
	  { { "/etc/pg/postgresql.conf", "include 'more.conf'\n" },
	    { "/etc/pg/more.conf", "hba_file = '/x/hba'\n" } },
	  "/etc/pg/postgresql.conf", "hba_file", 1, "/x/hba", "/etc/pg/more.conf" },
	{ "include: with = and absolute",
	  { { "/a/postgresql.conf", "include = '/b/c.conf'\n" }, { "/b/c.conf", "port = 7\n" } },
	  "/a/postgresql.conf", "port", 1, "7", "/b/c.conf" },
	{ "include: nested relative to each file",
	  { { "/a/postgresql.conf", "include 'sub/one.conf'\n" },
	    { "/a/sub/one.conf", "include 'two.conf'\n" },
	    { "/a/sub/two.conf", "port = 2\n" } },
	  "/a/postgresql.conf", "port", 1, "2", "/a/sub/two.conf" },
	{ "include: directive names are case-insensitive",
	  { { "/a/postgresql.conf", "INCLUDE 'b.conf'\n" }, { "/a/b.conf", "port = 3\n" } },
	  "/a/postgresql.conf", "port", 1, "3", "/a/b.conf" },
	{ "include: a setting after the include wins",
	  { { "/a/postgresql.conf", "include 'b.conf'\nport = 1\n" }, { "/a/b.conf", "port = 2\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "include: the include after a setting wins",
	  { { "/a/postgresql.conf", "port = 1\ninclude 'b.conf'\n" }, { "/a/b.conf", "port = 2\n" } },
	  "/a/postgresql.conf", "port", 1, "2", "/a/b.conf" },
	{ "include: commented out is not followed",
	  { { "/a/postgresql.conf", "#include 'b.conf'\n" }, { "/a/b.conf", "port = 2\n" } },
	  "/a/postgresql.conf", "port", 0, NULL, NULL },
	{ "include: a missing file is skipped",
	  { { "/a/postgresql.conf", "port = 1\ninclude 'gone.conf'\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "include_if_exists: missing is skipped",
	  { { "/a/postgresql.conf", "include_if_exists 'gone.conf'\nport = 1\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "include_if_exists: present is read",
	  { { "/a/postgresql.conf", "port = 1\ninclude_if_exists 'b.conf'\n" }, { "/a/b.conf", "port = 5\n" } },
	  "/a/postgresql.conf", "port", 1, "5", "/a/b.conf" },
	{ "include_dir: .conf files in strcmp order, the last wins",
	  { { "/a/postgresql.conf", "include_dir 'conf.d'\n" },
	    { "/a/conf.d/9-late.conf", "port = 9\n" },
	    { "/a/conf.d/10-early.conf", "port = 10\n" },
	    { "/a/conf.d/B.conf", "port = 66\n" },
	    { "/a/conf.d/a.conf", "port = 97\n" } },
	  "/a/postgresql.conf", "port", 1, "97", "/a/conf.d/a.conf" },
	{ "include_dir: dot files and other suffixes are not read",
	  { { "/a/postgresql.conf", "include_dir 'conf.d'\n" },
	    { "/a/conf.d/1.conf", "port = 1\n" },
	    { "/a/conf.d/.z.conf", "port = 2\n" },
	    { "/a/conf.d/z.conf.bak", "port = 3\n" },
	    { "/a/conf.d/z.txt", "port = 4\n" },
	    { "/a/conf.d/.conf", "port = 5\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/conf.d/1.conf" },
	{ "include_dir: a setting after it wins",
	  { { "/a/postgresql.conf", "include_dir 'conf.d'\nport = 1\n" }, { "/a/conf.d/x.conf", "port = 2\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "include_dir: missing directory is skipped",
	  { { "/a/postgresql.conf", "port = 1\ninclude_dir 'nothere'\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "include_dir: absolute",
	  { { "/a/postgresql.conf", "include_dir '/etc/x'\n" }, { "/etc/x/y.conf", "port = 4\n" } },
	  "/a/postgresql.conf", "port", 1, "4", "/etc/x/y.conf" },
	{ "debian: conf.d sets hba_file",
	  { { "/etc/postgresql/15/main/postgresql.conf",
	      "data_directory = '/var/lib/postgresql/15/main'\n"
	      "hba_file = '/etc/postgresql/15/main/pg_hba.conf'\n"
	      "include_dir = 'conf.d'\t\t\t# include files ending in '.conf' from\n" },
	    { "/etc/postgresql/15/main/conf.d/50-hba.conf", "hba_file = '/srv/hba/pg_hba.conf'\n" } },
	  "/etc/postgresql/15/main/postgresql.conf", "hba_file", 1, "/srv/hba/pg_hba.conf",
	  "/etc/postgresql/15/main/conf.d/50-hba.conf" },
	{ "depth: ten levels below the top are read",
	  { { "/d/0.conf", "include '1.conf'\n" }, { "/d/1.conf", "include '2.conf'\n" },
	    { "/d/2.conf", "include '3.conf'\n" }, { "/d/3.conf", "include '4.conf'\n" },
	    { "/d/4.conf", "include '5.conf'\n" }, { "/d/5.conf", "include '6.conf'\n" },
	    { "/d/6.conf", "include '7.conf'\n" }, { "/d/7.conf", "include '8.conf'\n" },
	    { "/d/8.conf", "include '9.conf'\n" }, { "/d/9.conf", "include '10.conf'\n" },
	    { "/d/10.conf", "port = 10\ninclude '11.conf'\n" }, { "/d/11.conf", "port = 11\n" } },
	  "/d/0.conf", "port", 1, "10", "/d/10.conf" },
	{ "depth: a file including itself ends",
	  { { "/a/postgresql.conf", "port = 1\ninclude 'postgresql.conf'\n" } },
	  "/a/postgresql.conf", "port", 1, "1", "/a/postgresql.conf" },
	{ "top file missing",
	  { { "/a/other.conf", "port = 1\n" } },
	  "/a/postgresql.conf", "port", -ENOENT, NULL, NULL },
};

static void test_lookup_case(void **state)
{
	const struct lookup_case *c = &lookup_cases[(uintptr_t)*state];
	struct memfs fs = { .v = c->files };
	struct pgconf_io io = { .read = mem_read, .list = mem_list, .ctx = &fs };
	char *v = NULL, *f = NULL;
	int r;

	while (fs.n < ARRAY_SIZE(c->files) && c->files[fs.n].path)
		fs.n++;
	r = pgconf_lookup(&io, c->top, c->key, &v, &f);
	if (r != c->rc || (c->value ? !v || strcmp(v, c->value) != 0 : v != NULL) ||
	    (c->file ? !f || strcmp(f, c->file) != 0 : f != NULL)) {
		print_error("[%s] got %d '%s' from '%s', want %d '%s' from '%s'\n", c->name, r, v ? v : "NULL",
			    f ? f : "NULL", c->rc, c->value ? c->value : "NULL", c->file ? c->file : "NULL");
		free(v);
		free(f);
		fail();
	}
	free(v);
	free(f);
}

/* Every file of a directory includes the directory again: 5^10 reads
 * under the depth limit alone.  The budget ends it. */
static void test_lookup_fanout(void **state)
{
	static const struct memfile files[] = {
		{ "/a/postgresql.conf", "include_dir '/a/d'\n" },
		{ "/a/d/1.conf", "include_dir '/a/d'\n" }, { "/a/d/2.conf", "include_dir '/a/d'\n" },
		{ "/a/d/3.conf", "include_dir '/a/d'\n" }, { "/a/d/4.conf", "include_dir '/a/d'\n" },
		{ "/a/d/5.conf", "include_dir '/a/d'\n" },
	};
	struct memfs fs = { .v = files, .n = ARRAY_SIZE(files) };
	struct pgconf_io io = { .read = mem_read, .list = mem_list, .ctx = &fs };
	char *v = (char *)"untouched";

	(void)state;
	assert_int_equal(pgconf_lookup(&io, "/a/postgresql.conf", "port", &v, NULL), -ELOOP);
	assert_null(v);
	assert_true(fs.reads <= PGCONF_MAX_FILES);
}

static void test_abs_path(void **state)
{
	char *p;

	(void)state;
	p = pgconf_abs_path("x.conf", "/etc/pg/postgresql.conf");
	assert_string_equal(p, "/etc/pg/x.conf");
	free(p);
	p = pgconf_abs_path("/abs/x.conf", "/etc/pg/postgresql.conf");
	assert_string_equal(p, "/abs/x.conf");
	free(p);
	p = pgconf_abs_path("../up.conf", "/etc/pg/postgresql.conf");
	assert_string_equal(p, "/etc/pg/../up.conf");
	free(p);
	assert_true(pgconf_dir_entry_wanted("a.conf"));
	assert_false(pgconf_dir_entry_wanted(".a.conf"));
	assert_false(pgconf_dir_entry_wanted(".conf"));
	assert_false(pgconf_dir_entry_wanted("a.conf~"));
	assert_false(pgconf_dir_entry_wanted("a.CONF"));
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(conf_cases) + ARRAY_SIZE(argv_cases) + ARRAY_SIZE(lookup_cases) + 3];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(conf_cases); i++)
		tests[n++] = (struct CMUnitTest){ conf_cases[i].name, test_conf_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	for (i = 0; i < ARRAY_SIZE(argv_cases); i++)
		tests[n++] = (struct CMUnitTest){ argv_cases[i].name, test_argv_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_empty_buffers);
	for (i = 0; i < ARRAY_SIZE(lookup_cases); i++)
		tests[n++] = (struct CMUnitTest){ lookup_cases[i].name, test_lookup_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lookup_fanout);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_abs_path);
	return cmocka_run_group_tests_name("pgconf", tests, NULL, NULL);
}
