/* SPDX-License-Identifier: MIT */
/*
 * test_escape.c -- unit tests for escape.h: escape_term, escape_term_vfmt
 * and escape_width.
 *
 * Outside text (titles, role and database names, queries) must reach the
 * terminal harmless: plain ASCII unchanged; C0 controls, ESC sequences,
 * DEL, C1 controls (U+0080..U+009F, encoded in UTF-8), invalid and
 * overlong UTF-8, surrogates, line separators and bidi overrides become
 * visible \xNN escapes; newline \n, tab \t, backslash \\; valid printable
 * multi-byte text (Japanese, accents, emoji) passes.  NULL gives "-".
 * escape_width counts code points of an escaped string.  escape_term_vfmt
 * escapes what its format made: the outside strings in it change, our
 * words do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/escape.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	const char *in;
	const char *out;
} cases[] = {
	{ "empty", "", "" },
	{ "plain ascii", "postgres: testa wiki 127.0.0.1(52402) idle",
	  "postgres: testa wiki 127.0.0.1(52402) idle" },
	{ "printable ascii range", " !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~",
	  " !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~" },
	{ "ESC clear screen", "\x1b[2J", "\\x1b[2J" },
	{ "ESC OSC title", "a\x1b]0;pwned\x07z", "a\\x1b]0;pwned\\x07z" },
	{ "newline", "a\nb", "a\\nb" },
	{ "carriage return", "a\rb", "a\\x0db" },
	{ "tab", "a\tb", "a\\tb" },
	{ "backslash doubled", "a\\b", "a\\\\b" },
	{ "backslash x is not an escape", "\\x1b", "\\\\x1b" },
	{ "other C0", "\x01\x08\x0b\x0c\x1f", "\\x01\\x08\\x0b\\x0c\\x1f" },
	{ "DEL", "a\x7f" "b", "a\\x7fb" },
	{ "C1 CSI in UTF-8", "\xc2\x9b" "2J", "\\xc2\\x9b2J" },
	{ "C1 NEL in UTF-8", "x\xc2\x85y", "x\\xc2\\x85y" },
	{ "C1 first and last", "\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f" },
	{ "U+00A0 kept", "a\xc2\xa0" "b", "a\xc2\xa0" "b" },
	{ "raw C1 byte (latin1)", "\x9b" "2J", "\\x9b2J" },
	{ "latin1 e-acute", "caf\xe9", "caf\\xe9" },
	{ "lone continuation", "\x80", "\\x80" },
	{ "truncated 2-byte", "a\xc3", "a\\xc3" },
	{ "truncated 3-byte", "\xe6\x9d", "\\xe6\\x9d" },
	{ "overlong slash 2-byte", "\xc0\xaf", "\\xc0\\xaf" },
	{ "overlong NUL 2-byte", "\xc0\x80", "\\xc0\\x80" },
	{ "overlong 3-byte", "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },
	{ "overlong ESC 3-byte", "\xe0\x80\x9b", "\\xe0\\x80\\x9b" },
	{ "overlong 4-byte", "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf" },
	{ "surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
	{ "F5 lead", "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
	{ "FF byte", "\xff", "\\xff" },
	{ "valid 2-byte accents", "caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9 na\xc3\xafve" },
	{ "valid Japanese", "\xe6\x9d\xb1\xe4\xba\xac", "\xe6\x9d\xb1\xe4\xba\xac" },
	{ "Japanese db in a title", "postgres: \xe5\xa4\xaa\xe9\x83\x8e \xe6\x9d\xb1\xe4\xba\xac [local] idle",
	  "postgres: \xe5\xa4\xaa\xe9\x83\x8e \xe6\x9d\xb1\xe4\xba\xac [local] idle" },
	{ "valid emoji (4-byte)", "\xf0\x9f\x90\x98", "\xf0\x9f\x90\x98" },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	{ "U+FFFD kept", "\xef\xbf\xbd", "\xef\xbf\xbd" },
	{ "bidi RLO U+202E", "abc\xe2\x80\xae" "fed", "abc\\xe2\\x80\\xae" "fed" },
	{ "bidi LRE U+202A", "\xe2\x80\xaa", "\\xe2\\x80\\xaa" },
	{ "bidi isolate U+2066", "\xe2\x81\xa6", "\\xe2\\x81\\xa6" },
	{ "bidi PDI U+2069", "\xe2\x81\xa9", "\\xe2\\x81\\xa9" },
	{ "line separator U+2028", "a\xe2\x80\xa8" "b", "a\\xe2\\x80\\xa8" "b" },
	{ "paragraph separator U+2029", "\xe2\x80\xa9", "\\xe2\\x80\\xa9" },
	{ "en dash U+2013 kept", "a\xe2\x80\x93" "b", "a\xe2\x80\x93" "b" },
	{ "valid then invalid then valid", "\xe6\x9d\xb1\xff\xe4\xba\xac",
	  "\xe6\x9d\xb1\\xff\xe4\xba\xac" },
	{ "a lead byte eats no escape", "\xe6\x9d\x1b[2J", "\\xe6\\x9d\\x1b[2J" },
	{ "a lead byte eats no newline", "\xc3\n", "\\xc3\\n" },
	{ "hostile data directory path", "/tmp/pg\x1b]0;pwned\x07\x1b[31mx/data",
	  "/tmp/pg\\x1b]0;pwned\\x07\\x1b[31mx/data" },
	{ "raw 0x9b in a startup packet user", "stall\x1b[2J\x9bx", "stall\\x1b[2J\\x9bx" },
};

static void test_escape_case(void **state)
{
	size_t i = (size_t)(uintptr_t)*state;
	char *got = escape_term(cases[i].in);

	assert_non_null(got);
	if (strcmp(got, cases[i].out) != 0) {
		char *g = escape_term(got);      /* show it safely */
		char *w = escape_term(cases[i].out);
		print_error("[%s] got \"%s\", want \"%s\" (both escaped once more)\n",
			    cases[i].name, g, w);
		free(g);
		free(w);
		free(got);
		fail();
	}
	free(got);
}

/* Whatever the input, the output has no byte a terminal acts on. */
static void test_escape_output_is_inert(void **state)
{
	char in[3], *out;
	unsigned a, b;

	(void)state;
	for (a = 1; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			const unsigned char *p;
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '\0';
			out = escape_term(in);
			assert_non_null(out);
			for (p = (const unsigned char *)out; *p; p++) {
				if (*p < 0x20 || *p == 0x7f)
					fail_msg("escape_term(%02x %02x) let %02x through", a, b, *p);
			}
			/* no C1 control as UTF-8 */
			if (strstr(out, "\xc2\x80") || strstr(out, "\xc2\x9b") ||
			    strstr(out, "\xc2\x9f"))
				fail_msg("escape_term(%02x %02x) let a C1 control through", a, b);
			free(out);
		}
	}
}

/* The worst case (every byte escaped as \xNN) fits. */
static void test_escape_worst_case(void **state)
{
	char in[1024], *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in) - 1; i++)
		in[i] = (char)(i % 2 ? 0x1b : 0xff);
	in[sizeof(in) - 1] = '\0';
	out = escape_term(in);
	assert_non_null(out);
	assert_int_equal(strlen(out), 4 * (sizeof(in) - 1));
	free(out);
}

static void test_escape_null(void **state)
{
	char *out;

	(void)state;
	out = escape_term(NULL);
	assert_non_null(out);
	assert_string_equal(out, "-");
	free(out);
}

static void test_escape_width(void **state)
{
	static const struct {
		const char *in;
		size_t width;
	} rows[] = {
		{ "", 0 },
		{ "idle", 4 },
		{ "caf\xc3\xa9", 4 },
		{ "\xe6\x9d\xb1\xe4\xba\xac", 4 },        /* wide: two columns each */
		{ "\xf0\x9f\x90\x98", 2 },
		{ "\\x1b[2J", 7 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		assert_int_equal(escape_width(rows[i].in), rows[i].width);
	/* The width of an escaped string is what it prints as. */
	{
		char *e = escape_term("\x1b[2J\xe6\x9d\xb1\n");
		assert_string_equal(e, "\\x1b[2J\xe6\x9d\xb1\\n");
		assert_int_equal(escape_width(e), 11);
		free(e);
	}
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *e;

	va_start(ap, f);
	e = escape_term_vfmt(f, ap);
	va_end(ap);
	return e;
}

static void test_escape_vfmt(void **state)
{
	char *e;

	(void)state;
	e = fmt("cannot read '%s': %s (%d)", "/etc/x\x1b[2J\x1b\n", "Permission denied", 13);
	assert_non_null(e);
	assert_string_equal(e, "cannot read '/etc/x\\x1b[2J\\x1b\\n': Permission denied (13)");
	free(e);
	e = fmt("%s|%s", "\x1b]0;owned\x07", "caf\xc3\xa9");
	assert_string_equal(e, "\\x1b]0;owned\\x07|caf\xc3\xa9");
	free(e);
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(cases) + 5];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_escape_case, NULL, NULL,
						  (void *)(uintptr_t)i };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escape_output_is_inert);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escape_worst_case);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escape_null);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escape_width);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_escape_vfmt);
	return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
