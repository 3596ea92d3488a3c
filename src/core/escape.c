/* SPDX-License-Identifier: MIT */
/*
 * escape.c -- terminal-safe text (core, no I/O).
 *
 * Owns the one rule for printing outside text to a person: valid printable
 * UTF-8 passes, everything else becomes a visible escape.  JSON output does
 * not come here; json-c escapes for its own grammar.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/escape.h"

/* Length of a valid UTF-8 sequence at P (up to END), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, i;
	uint32_t cp;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf) {
		n = 2;
		cp = *p & 0x1f;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		cp = *p & 0x0f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		cp = *p & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0x80 && cp <= 0x9f)       /* C1 controls */
		return 0;
	if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	    cp == 0x061c)  /* line breaks, bidi marks and overrides */
		return 0;
	return n;
}

char *escape_term(const char *s)
{
	const unsigned char *p, *end;
	char *out, *o;
	size_t n;

	if (!s)
		return strdup("-");
	end = (const unsigned char *)s + strlen(s);
	out = malloc((size_t)(end - (const unsigned char *)s) * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (p = (const unsigned char *)s; p < end;) {
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			p++;
		} else if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
			p++;
		} else if (*p == '\t') {
			*o++ = '\\';
			*o++ = 't';
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
			p++;
		} else if ((n = utf8_len(p, end)) == 0) {
			o += sprintf(o, "\\x%02x", *p);
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	return out;
}

/* East Asian wide and fullwidth ranges: two terminal columns. */
static int cp_width(uint32_t cp)
{
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

size_t escape_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		uint32_t cp = *p;
		int n = 1, i;
		if (*p >= 0xf0) {
			n = 4;
			cp = *p & 0x07;
		} else if (*p >= 0xe0) {
			n = 3;
			cp = *p & 0x0f;
		} else if (*p >= 0xc0) {
			n = 2;
			cp = *p & 0x1f;
		}
		for (i = 1; i < n && p[i]; i++)
			cp = (cp << 6) | (p[i] & 0x3f);
		w += (size_t)cp_width(cp);
		p += i;
	}
	return w;
}

char *escape_term_vfmt(const char *fmt, va_list ap)
{
	char *raw = NULL, *e;

	if (vasprintf(&raw, fmt, ap) < 0)
		return NULL;
	e = escape_term(raw);
	free(raw);
	return e;
}
