/* SPDX-License-Identifier: MIT */
/*
 * escape.h -- make outside text safe for a terminal (core, no I/O).
 *
 * Titles, role and database names and queries come from clients.  Printed
 * raw, an escape sequence in them could rewrite the operator's screen.
 */
#ifndef PGEVICT_ESCAPE_H
#define PGEVICT_ESCAPE_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A malloc'd copy of S where control characters (C0, DEL, C1), invalid
 * UTF-8 and backslash are written as \xNN (backslash as \\), newline as \n
 * and tab as \t.  Valid printable UTF-8 is kept.  NULL on allocation
 * failure; S NULL gives "-".
 */
char *escape_term(const char *s);

/* escape_term of the text FMT and AP make (outside strings in it as they
 * are; our own words have no control character nor backslash, so only
 * theirs change).  Malloc'd; NULL on allocation failure. */
char *escape_term_vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Terminal columns of an escape_term() result: one per code point, two
 * for East Asian wide ones. */
size_t escape_width(const char *s);

#endif
