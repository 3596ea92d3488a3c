/* SPDX-License-Identifier: MIT */
/*
 * test_output.c -- unit tests for output.c's pure parts (cmd.h), no root.
 *
 * The table printer: columns padded to the widest cell (counted in
 * terminal columns, two for a wide character), the last column never
 * padded, every cell escaped once on table_add (an ESC sequence, a
 * newline or a C1 control in a user name is printed as \xNN, \n; a NULL
 * cell is "-"); JSON lines: one object a line, strings exact (escapes
 * are json-c's), unknown values null; session_client_text ("127.0.0.1:5432",
 * "[::1]:5432", "[local]", "-").  stdout is redirected to a temporary
 * file and read back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "pgevict/cmd.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int saved_stdout = -1;
static FILE *capture;

static void capture_start(void)
{
	fflush(stdout);
	assert_non_null(capture = tmpfile());
	assert_true((saved_stdout = dup(STDOUT_FILENO)) >= 0);
	assert_true(dup2(fileno(capture), STDOUT_FILENO) >= 0);
}

/* What was printed since capture_start; malloc'd. */
static char *capture_end(void)
{
	char *buf;
	long n;

	fflush(stdout);
	assert_true(dup2(saved_stdout, STDOUT_FILENO) >= 0);
	close(saved_stdout);
	n = ftell(capture);
	assert_true(n >= 0);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	rewind(capture);
	assert_int_equal(fread(buf, 1, (size_t)n, capture), (size_t)n);
	fclose(capture);
	return buf;
}

static char *print_table(int ncols, const char *const *headers, const char *const *rows, size_t nrows)
{
	struct table *t = table_new(ncols, headers);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < nrows; i++)
		assert_int_equal(table_add(t, rows + i * (size_t)ncols), 0);
	capture_start();
	table_print(t);
	table_free(t);
	return capture_end();
}

static void test_table_widths(void **state)
{
	static const char *const headers[] = { "PID", "USER", "CLIENT" };
	static const char *const rows[] = {
		"101", "alice", "127.0.0.1:40001",
		"20002", "bob", "[local]",
		"3", NULL, "-",
	};
	char *out;

	(void)state;
	out = print_table(3, headers, rows, 3);
	assert_string_equal(out, "PID    USER   CLIENT\n"
				 "101    alice  127.0.0.1:40001\n"
				 "20002  bob    [local]\n"
				 "3      -      -\n");
	free(out);
}

/* A cell from outside is escaped, and the padding counts the escaped
 * text's columns: the row stays aligned. */
static void test_table_escapes(void **state)
{
	static const char *const headers[] = { "USER", "DB" };
	static const char *const rows[] = {
		"\x1b[2Jevil", "db",
		"two\nlines", "tab\there",
		"\xc2\x9b" "c1", "x",
		"\xe6\x97\xa5\xe6\x9c\xac", "wide",
	};
	char *out;

	(void)state;
	out = print_table(2, headers, rows, 4);
	assert_string_equal(out, "USER         DB\n"
				 "\\x1b[2Jevil  db\n"
				 "two\\nlines   tab\\there\n"
				 "\\xc2\\x9bc1   x\n"
				 "\xe6\x97\xa5\xe6\x9c\xac         wide\n");
	assert_null(strchr(out, '\x1b'));
	free(out);
}

static void test_table_header_only(void **state)
{
	static const char *const headers[] = { "A", "LONGER" };
	char *out;

	(void)state;
	out = print_table(2, headers, NULL, 0);
	assert_string_equal(out, "A  LONGER\n");
	free(out);
	table_free(NULL);
}

static void test_client(void **state)
{
	struct session s = { .transport = TRANSPORT_TCP, .client_port = 40001 };
	char buf[80];

	(void)state;
	snprintf(s.client_addr, sizeof(s.client_addr), "127.0.0.1");
	session_client_text(&s, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:40001");
	snprintf(s.client_addr, sizeof(s.client_addr), "::1");
	session_client_text(&s, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:40001");
	s.transport = TRANSPORT_UNIX;
	session_client_text(&s, buf, sizeof(buf));
	assert_string_equal(buf, "[local]");
	s.transport = TRANSPORT_NONE;
	s.client_addr[0] = '\0';
	s.client_port = -1;
	session_client_text(&s, buf, sizeof(buf));
	assert_string_equal(buf, "-");
}

/* The action object: DESIGN.md's fields, strings exact, unknowns null. */
static void test_action_json(void **state)
{
	struct pg_cluster c = { .data_dir = "/var/lib/postgresql/15/main" };
	struct session s = { .pid = 4242, .cluster = &c, .user = "x\x1b[2J\"y", .client_port = -1 };
	json_object *o, *back, *v;
	char *out;

	(void)state;
	o = out_action_json(&s, "terminate", "ended", "sql", 12, NULL);
	capture_start();
	out_json_line(o);
	out = capture_end();
	json_object_put(o);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_null(strchr(out, '\x1b'));
	assert_non_null(back = json_tokener_parse(out));
	assert_true(json_object_object_get_ex(back, "user", &v));
	assert_string_equal(json_object_get_string(v), "x\x1b[2J\"y");
	assert_true(json_object_object_get_ex(back, "pid", &v));
	assert_int_equal(json_object_get_int(v), 4242);
	assert_true(json_object_object_get_ex(back, "cluster", &v));
	assert_string_equal(json_object_get_string(v), "/var/lib/postgresql/15/main");
	static const char *const nulls[] = { "database", "client_addr", "client_port", "note" };
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
		assert_true(json_object_object_get_ex(back, nulls[i], &v));
		assert_null(v);
	}
	assert_true(json_object_object_get_ex(back, "elapsed_ms", &v));
	assert_int_equal(json_object_get_int64(v), 12);
	json_object_put(back);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_widths),
		cmocka_unit_test(test_table_escapes),
		cmocka_unit_test(test_table_header_only),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_action_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
