/* SPDX-License-Identifier: MIT */
/*
 * hba_token.c -- pg_hba.conf's lines and tokens as PostgreSQL 15 reads
 * them (core, no I/O: @files come through the caller's read_file).
 *
 * The tokenizer follows PostgreSQL's next_token()/tokenize_auth_file()
 * (PG15/16): a logical line is physical lines joined where one ends in a
 * backslash (after trailing CR/LF are stripped); blanks are space, tab and
 * CR; leading blanks and commas before a token are skipped; a token ends at
 * an unquoted blank or comma; "" inside quotes is a literal quote; a quote
 * opening the token makes it "quoted" (never a keyword, never +role/@file).
 * A NUL ends what fgets gave (the rest of that run is lost), and a token
 * holds at most HBA_MAX_TOKEN - 1 bytes.  It does not judge the fields
 * (hba_parse.c) and keeps no raw bytes (hba_parse_ex does).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"
#include "hba_int.h"

/* enlargeStringInfo(buf, 128) */
static void reader_enlarge(struct hba_reader *rd, size_t len)
{
	size_t needed = 128 + len + 1, n;

	if (needed <= rd->maxlen)
		return;
	n = 2 * rd->maxlen;
	while (needed > n)
		n *= 2;
	rd->maxlen = n;
}

/*
 * pg_get_line_append(): fgets runs appended to B until one ends in a
 * newline.  fgets copies a NUL but strlen() stops at it, so the rest of
 * that run is lost and the next run (the next physical line, for a short
 * line) is joined on.  *RET_GOT: something was read.
 */
static int get_line_append(struct hba_reader *rd, struct hba_buf *b, bool *ret_got)
{
	size_t orig = b->len;
	int r;

	while (rd->pos < rd->len) {
		const char *s = rd->text + rd->pos, *nl;
		size_t k = rd->maxlen - b->len - 1;

		if (k > rd->len - rd->pos)
			k = rd->len - rd->pos;
		nl = memchr(s, '\n', k);
		if (nl)
			k = (size_t)(nl - s) + 1;
		rd->pos += k;
		if ((r = hba_buf_add(b, s, strnlen(s, k))) < 0)
			return r;
		if (b->len > orig && b->p[b->len - 1] == '\n') {
			*ret_got = true;
			return 0;
		}
		reader_enlarge(rd, b->len);
	}
	*ret_got = b->len > orig;
	return 0;
}

/*
 * The next logical line of RD into B (tokenize_auth_file's inner loop:
 * pg_strip_crlf, then a trailing backslash after the last continuation
 * joins the next line).  *RET_CONT: continuations.  1, 0 at the end.
 */
int hba_next_logical(struct hba_reader *rd, struct hba_buf *b, int *ret_cont)
{
	size_t last_bs = 0;
	bool got, any = false;
	int r;

	b->len = 0;
	if ((r = hba_buf_add(b, "", 0)) < 0)
		return r;
	*ret_cont = 0;
	if (rd->pos >= rd->len)
		return 0;
	for (;;) {
		if ((r = get_line_append(rd, b, &got)) < 0)
			return r;
		if (!got)
			break;
		any = true;
		while (b->len > 0 && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == '\r'))
			b->len--;
		b->p[b->len] = '\0';
		if (b->len > last_bs && b->p[b->len - 1] == '\\') {
			b->p[--b->len] = '\0';
			last_bs = b->len;
			(*ret_cont)++;
			continue;
		}
		break;
	}
	return any || rd->pos > 0 ? 1 : 0;
}

static void tok_err(struct hba_tokctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tok_err(struct hba_tokctx *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err)
		return;
	va_start(ap, fmt);
	if (vasprintf(&t->err, fmt, ap) < 0)
		t->err = NULL;
	va_end(ap);
	if (!t->err)
		t->err = strdup("out of memory");
}

/*
 * next_token(): one token from *P.  1 with *RET, 0 at the end of the line
 * (or a comment), -E2BIG for a token too long (the line is refused and the
 * rest of it discarded), -ENOMEM.  The length check comes before every
 * character the loop takes, the comma and the closing quote included,
 * and fails when HBA_MAX_TOKEN - 1 bytes are stored; a blank or the end
 * of the line ends the token without a check.  An unterminated quote runs
 * to the end of the line.
 */
static int next_token(const char **p, struct hba_token *ret, bool *comma)
{
	const char *s = *p;
	struct hba_buf b = { 0 };
	bool in_quote = false, was_quote = false, saw_quote = false, initial = false;
	int r = 0;

	*comma = false;
	while (*s && (hba_is_blank(*s) || *s == ','))
		s++;
	while (*s && (!hba_is_blank(*s) || in_quote)) {
		char c = *s;

		if (c == '#' && !in_quote) {
			s += strlen(s);
			break;
		}
		if (b.len >= HBA_MAX_TOKEN - 1) {
			s += strlen(s);
			r = -E2BIG;
			goto out;
		}
		if (c == ',' && !in_quote) {
			*comma = true;
			s++;
			break;
		}
		if (c != '"' || was_quote) {
			if ((r = hba_buf_add(&b, &c, 1)) < 0)
				goto out;
		}
		if (in_quote && c == '"')
			was_quote = !was_quote;
		else
			was_quote = false;
		if (c == '"') {
			in_quote = !in_quote;
			saw_quote = true;
			if (b.len == 0)
				initial = true;
		}
		s++;
	}
	if (!saw_quote && b.len == 0) {
		r = 0;
		goto out;
	}
	if (!b.p && (r = hba_buf_add(&b, "", 0)) < 0)
		goto out;
	ret->text = b.p;
	ret->quoted = initial;
	b.p = NULL;
	r = 1;
out:
	free(b.p);
	*p = s;
	return r;
}

static int field_push(struct hba_field *f, const char *text, bool quoted)
{
	struct hba_token *v = realloc(f->v, (f->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	f->v = v;
	if (!(v[f->n].text = strdup(text)))
		return -ENOMEM;
	v[f->n++].quoted = quoted;
	return 0;
}

static int tokenize_text(struct hba_tokctx *t, const char *text, size_t len, struct hba_field *into);

/*
 * tokenize_inc_file(): the tokens of every line of the @file NAME,
 * appended to INTO; the first error of one of its lines (or of reading
 * it) is the line's error.
 */
static int include_file(struct hba_tokctx *t, const char *name, struct hba_field *into)
{
	char *full = NULL, *text = NULL;
	size_t len = 0;
	int r;

	if (name[0] == '/') {
		full = strdup(name);
	} else {
		const char *slash = t->path ? strrchr(t->path, '/') : NULL;

		if (asprintf(&full, "%.*s%s%s", slash ? (int)(slash - t->path) : 0, slash ? t->path : "",
			     slash ? "/" : "", name) < 0)
			full = NULL;
	}
	if (!full)
		return -ENOMEM;
	if (t->depth >= 16) {
		tok_err(t, "could not open secondary authentication file \"@%s\" as \"%s\": %s", name, full,
			"too many levels of @file");
		r = 0;
		goto out;
	}
	r = t->o->read_file(t->o->ctx, full, &text, &len);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		tok_err(t, "could not open secondary authentication file \"@%s\" as \"%s\": %s", name, full,
			strerror(-r));
		r = 0;
		goto out;
	}
	{
		struct hba_tokctx sub = { t->o, full, t->depth + 1, NULL };

		r = tokenize_text(&sub, text, len, into);
		if (sub.err) {
			tok_err(t, "%s", sub.err);
			free(sub.err);
		}
	}
out:
	free(text);
	free(full);
	return r;
}

/*
 * next_field_expand(): one field (a comma list) from *P into *RET.
 * With T->o->read_file, an unquoted @name (not a bare "@") is replaced
 * by the tokens of that file, as the server does.  1, 0 at the end of
 * the line (nothing), < 0 -ENOMEM; errors go to T->err.
 */
static int next_field(struct hba_tokctx *t, const char **p, struct hba_field *ret, bool expand)
{
	struct hba_field f = { 0 };
	bool comma;
	int r;

	do {
		struct hba_token tk;

		r = next_token(p, &tk, &comma);
		if (r == -E2BIG) {
			tok_err(t, "authentication file token too long");
			break;
		}
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		if (expand && !tk.quoted && tk.text[0] == '@' && tk.text[1]) {
			r = include_file(t, tk.text + 1, &f);
			free(tk.text);
			if (r < 0)
				goto fail;
		} else {
			struct hba_token *v = realloc(f.v, (f.n + 1) * sizeof(*v));

			if (!v) {
				free(tk.text);
				r = -ENOMEM;
				goto fail;
			}
			f.v = v;
			f.v[f.n++] = tk;
		}
	} while (comma && !t->err);
	if (f.n == 0) {
		free(f.v);
		return 0;
	}
	*ret = f;
	return 1;
fail:
	hba_field_clear(&f);
	return r;
}

/* The fields of one logical line CONTENT (tokenize_auth_file's field
 * loop): *RET_FIELDS, *RET_N; errors in T->err. */
int hba_tokenize_line(struct hba_tokctx *t, const char *content, bool expand, struct hba_field **ret_fields,
		      size_t *ret_n)
{
	const char *p = content;
	struct hba_field *fields = NULL;
	size_t n = 0;
	int r = 0;

	while (*p && !t->err) {
		struct hba_field f, *v;

		r = next_field(t, &p, &f, expand);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		v = realloc(fields, (n + 1) * sizeof(*v));
		if (!v) {
			hba_field_clear(&f);
			r = -ENOMEM;
			break;
		}
		fields = v;
		fields[n++] = f;
	}
	*ret_fields = fields;
	*ret_n = n;
	return r < 0 ? r : 0;
}

static void fields_free(struct hba_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hba_field_clear(&f[i]);
	free(f);
}

/* An included file: every token of every line, flattened into INTO. */
static int tokenize_text(struct hba_tokctx *t, const char *text, size_t len, struct hba_field *into)
{
	struct hba_reader rd = HBA_READER_INIT(text, len);
	struct hba_buf b = { 0 };
	int cont, r;

	while ((r = hba_next_logical(&rd, &b, &cont)) > 0) {
		struct hba_field *fields = NULL;
		size_t n = 0, i, j;

		r = hba_tokenize_line(t, b.p, true, &fields, &n);
		for (i = 0; r >= 0 && !t->err && i < n; i++)
			for (j = 0; r >= 0 && j < fields[i].n; j++)
				r = field_push(into, fields[i].v[j].text, fields[i].v[j].quoted);
		fields_free(fields, n);
		if (r < 0 || t->err)
			break;
		if (rd.pos >= rd.len)
			break;
	}
	free(b.p);
	return r < 0 ? r : 0;
}
