/* SPDX-License-Identifier: MIT */
/*
 * hba.c -- pg_hba.conf as a model (core, no I/O): its lifetime, the
 * buffer and error helpers the other hba files share, the writer (a
 * parsed file written back is the input byte for byte), quoting, and the
 * first-match evaluator, which answers "unknown" rather than guess.
 *
 * Reading a file is hba_token.c (lines and tokens) and hba_parse.c
 * (PostgreSQL 15's verdict, with hba_opts.c for each method's options);
 * the lockdown file is hba_lockdown.c.  hba_int.h is what they share.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"
#include "hba_int.h"

int hba_buf_add(struct hba_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int hba_buf_str(struct hba_buf *b, const char *s)
{
	return hba_buf_add(b, s, strlen(s));
}

int hba_buf_printf(struct hba_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return hba_buf_add(b, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int r;

		if (!big)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		r = hba_buf_add(b, big, (size_t)n);
		free(big);
		return r;
	}
}

void hba_field_clear(struct hba_field *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

void hba_line_clear(struct hba_line *l)
{
	size_t i;

	for (i = 0; i < l->nfields; i++)
		hba_field_clear(&l->fields[i]);
	free(l->fields);
	l->fields = NULL;
	l->nfields = 0;
}

void hba_file_free(struct hba_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nlines; i++)
		hba_line_clear(&f->lines[i]);
	free(f->lines);
	free(f->text);
	memset(f, 0, sizeof(*f));
}

void hba_set_err(struct hba_error *err, int lineno, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->lineno = lineno;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof(err->what), fmt, ap);
	va_end(ap);
}

int hba_write(const struct hba_file *f, char **ret, size_t *ret_len)
{
	struct hba_buf b = { 0 };
	size_t i;
	int r;

	if ((r = hba_buf_add(&b, "", 0)) < 0)
		return r;
	for (i = 0; i < f->nlines; i++)
		if ((r = hba_buf_add(&b, f->text + f->lines[i].off, f->lines[i].len)) < 0) {
			free(b.p);
			return r;
		}
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}

char *hba_quote(const struct hba_token *t)
{
	struct hba_buf b = { 0 };
	bool q = t->quoted || t->text[0] == '\0';
	const char *s;

	for (s = t->text; *s && !q; s++)
		if (hba_is_blank(*s) || *s == ',' || *s == '#' || *s == '"' || *s == '\n' || *s == '\\')
			q = true;
	if (!q)
		return strdup(t->text);
	if (hba_buf_add(&b, "\"", 1) < 0)
		goto fail;
	for (s = t->text; *s; s++) {
		if (*s == '"' && hba_buf_add(&b, "\"", 1) < 0)
			goto fail;
		if (hba_buf_add(&b, s, 1) < 0)
			goto fail;
	}
	if (hba_buf_add(&b, "\"", 1) < 0)
		goto fail;
	return b.p;
fail:
	free(b.p);
	return NULL;
}

const char *hba_verdict_name(enum hba_verdict v)
{
	switch (v) {
	case HBA_ALLOW: return "allow";
	case HBA_REJECT: return "reject";
	case HBA_NO_ENTRY: return "no entry";
	case HBA_UNKNOWN: return "unknown";
	}
	return "?";
}

static enum hba_tri or3(enum hba_tri a, enum hba_tri b)
{
	if (a == TRI_YES || b == TRI_YES)
		return TRI_YES;
	if (a == TRI_MAYBE || b == TRI_MAYBE)
		return TRI_MAYBE;
	return TRI_NO;
}

static enum hba_tri and3(enum hba_tri a, enum hba_tri b)
{
	if (a == TRI_NO || b == TRI_NO)
		return TRI_NO;
	if (a == TRI_MAYBE || b == TRI_MAYBE)
		return TRI_MAYBE;
	return TRI_YES;
}

/* Tokens pgevict cannot judge: @file lists, +role membership, regexes. */
static bool opaque(const struct hba_token *t)
{
	if (t->text[0] == '/')
		return true;
	return !t->quoted && (t->text[0] == '@' || t->text[0] == '+') && t->text[1];
}

static enum hba_tri match_db(const struct hba_field *f, const struct hba_conn *c)
{
	enum hba_tri r = TRI_NO;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct hba_token *t = &f->v[i];

		if (c->replication) {
			if (hba_is_keyword(t, "replication"))
				r = or3(r, TRI_YES);
			else if (opaque(t))
				r = or3(r, TRI_MAYBE);
			continue;
		}
		if (hba_is_keyword(t, "all"))
			r = or3(r, TRI_YES);
		else if (hba_is_keyword(t, "sameuser"))
			r = or3(r, c->user && c->database && strcmp(c->user, c->database) == 0 ? TRI_YES : TRI_NO);
		else if (hba_is_keyword(t, "samerole") || hba_is_keyword(t, "samegroup") || opaque(t))
			r = or3(r, TRI_MAYBE);
		else if (hba_is_keyword(t, "replication"))
			continue;
		else if (c->database && strcmp(t->text, c->database) == 0)
			r = or3(r, TRI_YES);
	}
	return r;
}

enum hba_tri hba_match_user(const struct hba_field *f, const char *user)
{
	enum hba_tri r = TRI_NO;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct hba_token *t = &f->v[i];

		if (hba_is_keyword(t, "all"))
			r = or3(r, TRI_YES);
		else if (opaque(t))
			r = or3(r, TRI_MAYBE);
		else if (user && strcmp(t->text, user) == 0)
			r = or3(r, TRI_YES);
	}
	return r;
}

/* Prefix length of a contiguous netmask M, or -1 (PostgreSQL takes any
 * mask; the evaluator judges only contiguous ones). */
static int mask_prefix(const struct cidr *m)
{
	int bits = 0, i, n = m->family == AF_INET ? 4 : 16;
	bool zero = false;

	for (i = 0; i < n * 8; i++) {
		bool set = m->addr[i / 8] & (0x80 >> (i % 8));
		if (set && zero)
			return -1;
		if (set)
			bits++;
		else
			zero = true;
	}
	return bits;
}

bool hba_line_cidr(const struct hba_line *l, struct cidr *ret)
{
	const struct hba_token *a = &l->fields[l->addr].v[0];
	char *str;
	const char *slash;
	int r;

	if (hba_is_keyword(a, "all") || hba_is_keyword(a, "samehost") || hba_is_keyword(a, "samenet"))
		return false;
	if (!(str = strdup(a->text)))
		return false;
	slash = strchr(a->text, '/');
	if (slash)
		str[slash - a->text] = '\0';
	r = hba_numeric_addr(str, ret);
	free(str);
	if (r != 0)
		return false;
	if (slash) {
		ret->prefix = hba_cidr_bits(slash + 1, ret->family);
		return ret->prefix >= 0;
	}
	if (l->mask >= 0) {
		struct cidr m;

		if (hba_numeric_addr(l->fields[l->mask].v[0].text, &m) != 0 || m.family != ret->family)
			return false;
		ret->prefix = mask_prefix(&m);
		return ret->prefix >= 0;
	}
	return false;
}

static enum hba_tri match_addr(const struct hba_line *l, const struct hba_conn *c)
{
	const struct hba_token *a = &l->fields[l->addr].v[0];
	struct cidr net;

	if (hba_is_keyword(a, "all"))
		return TRI_YES;
	if (hba_line_cidr(l, &net))
		return c->addr && cidr_contains(&net, c->addr) ? TRI_YES : TRI_NO;
	return TRI_MAYBE;                /* samehost, samenet, host names, odd masks */
}

static enum hba_tri match_type(enum hba_type t, const struct hba_conn *c)
{
	if (t == HBA_LOCAL)
		return c->local ? TRI_YES : TRI_NO;
	if (c->local)
		return TRI_NO;
	switch (t) {
	case HBA_HOST:
		return TRI_YES;
	case HBA_HOSTSSL:
		return c->ssl < 0 ? TRI_MAYBE : c->ssl ? TRI_YES : TRI_NO;
	case HBA_HOSTNOSSL:
		return c->ssl < 0 ? TRI_MAYBE : c->ssl ? TRI_NO : TRI_YES;
	default:
		return TRI_MAYBE;        /* GSSAPI encryption: not visible here */
	}
}

enum hba_verdict hba_eval(const struct hba_file *f, const struct hba_conn *c, int *ret_line)
{
	bool maybe_allow = false, maybe_reject = false;
	size_t i;

	if (ret_line)
		*ret_line = -1;
	for (i = 0; i < f->nlines; i++) {
		const struct hba_line *l = &f->lines[i];
		enum hba_tri m;
		bool reject;

		if (l->type == HBA_NONE)
			continue;
		if (l->type >= HBA_INCLUDE) {
			/* rules we did not read: anything may follow */
			maybe_allow = maybe_reject = true;
			continue;
		}
		m = match_type(l->type, c);
		m = and3(m, match_db(&l->fields[l->db], c));
		m = and3(m, hba_match_user(&l->fields[l->user], c->user));
		if (l->addr >= 0)
			m = and3(m, match_addr(l, c));
		if (m == TRI_NO)
			continue;
		reject = strcmp(l->fields[l->method].v[0].text, "reject") == 0;
		if (m == TRI_MAYBE) {
			if (reject)
				maybe_reject = true;
			else
				maybe_allow = true;
			continue;
		}
		if (ret_line)
			*ret_line = (int)i;
		if (reject)
			return maybe_allow ? HBA_UNKNOWN : HBA_REJECT;
		return maybe_reject ? HBA_UNKNOWN : HBA_ALLOW;
	}
	return maybe_allow ? HBA_UNKNOWN : HBA_NO_ENTRY;
}
