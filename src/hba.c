/*
 * hba.c -- pg_hba.conf tokenizer, parser, writer, evaluator and lockdown
 * generator (core, no I/O).
 *
 * The tokenizer follows PostgreSQL's next_token()/tokenize_auth_file()
 * (PG15/16): a logical line is physical lines joined where one ends in a
 * backslash (after trailing CR/LF are stripped); blanks are space, tab and
 * CR; leading blanks and commas before a token are skipped; a token ends at
 * an unquoted blank or comma; "" inside quotes is a literal quote; a quote
 * opening the token makes it "quoted" (never a keyword, never +role/@file).
 * Each line keeps its raw bytes, so writing an unchanged file back is the
 * input byte for byte.  Reading @files and include directives is not done
 * here: they stay tokens, and the evaluator calls them unknown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
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

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(struct buf *b, const char *fmt, ...)
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
		return buf_add(b, small, (size_t)n);
	{
		char *big = malloc((size_t)n + 1);
		int r;

		if (!big)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		r = buf_add(b, big, (size_t)n);
		free(big);
		return r;
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void field_clear(struct hba_field *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static void line_clear(struct hba_line *l)
{
	size_t i;

	for (i = 0; i < l->nfields; i++)
		field_clear(&l->fields[i]);
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
		line_clear(&f->lines[i]);
	free(f->lines);
	free(f->text);
	memset(f, 0, sizeof(*f));
}

static void set_err(struct hba_error *err, int lineno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(struct hba_error *err, int lineno, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->lineno = lineno;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof(err->what), fmt, ap);
	va_end(ap);
}

/*
 * One token from *P (a NUL-terminated logical line).  Returns 1 and the
 * token, 0 at the end of the line or a comment, -EINVAL for an unclosed
 * quote or an over-long token, -ENOMEM.  *COMMA: a comma ended the token.
 */
static int next_token(const char **p, struct hba_token *ret, bool *comma)
{
	const char *s = *p;
	struct buf b = { 0 };
	bool in_quote = false, was_quote = false, saw_quote = false, initial = false;
	int r = 0;

	*comma = false;
	while (*s && (is_blank(*s) || *s == ','))
		s++;
	while (*s && (!is_blank(*s) || in_quote)) {
		char c = *s;

		if (c == '#' && !in_quote) {
			s += strlen(s);
			break;
		}
		if (c == ',' && !in_quote) {
			*comma = true;
			s++;
			break;
		}
		if (c != '"' || was_quote) {
			if ((r = buf_add(&b, &c, 1)) < 0)
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
		if (b.len >= HBA_MAX_TOKEN) {
			r = -E2BIG;
			goto out;
		}
	}
	if (in_quote) {
		r = -EINVAL;
		goto out;
	}
	if (!saw_quote && b.len == 0) {
		r = 0;
		goto out;
	}
	if (!b.p && (r = buf_add(&b, "", 0)) < 0)
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

/* One field: a comma list.  1 with *RET, 0 at end of line, < 0 error. */
static int next_field(const char **p, struct hba_field *ret)
{
	struct hba_field f = { 0 };
	bool comma;
	int r;

	do {
		struct hba_token t;
		struct hba_token *v;

		r = next_token(p, &t, &comma);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		v = realloc(f.v, (f.n + 1) * sizeof(*v));
		if (!v) {
			free(t.text);
			r = -ENOMEM;
			goto fail;
		}
		f.v = v;
		f.v[f.n++] = t;
	} while (comma);
	if (f.n == 0)
		return 0;
	*ret = f;
	return 1;
fail:
	field_clear(&f);
	return r;
}

static const struct {
	const char *name;
	enum hba_type type;
} conn_types[] = {
	{ "local", HBA_LOCAL },
	{ "host", HBA_HOST },
	{ "hostssl", HBA_HOSTSSL },
	{ "hostnossl", HBA_HOSTNOSSL },
	{ "hostgssenc", HBA_HOSTGSSENC },
	{ "hostnogssenc", HBA_HOSTNOGSSENC },
	{ "include", HBA_INCLUDE },
	{ "include_if_exists", HBA_INCLUDE_IF_EXISTS },
	{ "include_dir", HBA_INCLUDE_DIR },
};

static const char *const methods[] = {
	"trust", "reject", "md5", "password", "scram-sha-256", "gss", "sspi", "ident", "peer",
	"pam", "ldap", "radius", "cert", "bsd",
};

static bool is_keyword(const struct hba_token *t, const char *kw)
{
	return !t->quoted && strcmp(t->text, kw) == 0;
}

/* A numeric address (no mask) into C with a full-length prefix. */
static bool parse_numeric(const char *s, struct cidr *c)
{
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, s, c->addr) == 1) {
		c->family = AF_INET;
		c->prefix = 32;
		return true;
	}
	if (inet_pton(AF_INET6, s, c->addr) == 1) {
		c->family = AF_INET6;
		c->prefix = 128;
		return true;
	}
	return false;
}

/* Prefix length of a contiguous netmask of FAMILY, or -1. */
static int mask_prefix(const char *s, int family)
{
	struct cidr m;
	int bits = 0, i, n;
	bool zero = false;

	if (!parse_numeric(s, &m) || m.family != family)
		return -1;
	n = family == AF_INET ? 4 : 16;
	for (i = 0; i < n * 8; i++) {
		bool set = m.addr[i / 8] & (0x80 >> (i % 8));
		if (set && zero)
			return -1;
		if (set)
			bits++;
		else
			zero = true;
	}
	return bits;
}

/* Check a rule's fields the way PostgreSQL's parse_hba_line does. */
static int check_rule(struct hba_line *l, struct hba_error *err)
{
	size_t i = 1, j;
	const struct hba_field *f;
	const char *m;
	bool found = false;

	l->db = l->user = l->addr = l->mask = l->method = -1;
	if (l->type >= HBA_INCLUDE) {
		if (l->nfields != 2 || l->fields[1].n != 1) {
			set_err(err, l->lineno, "include needs exactly one file name");
			return -EINVAL;
		}
		return 0;
	}
	if (i >= l->nfields) {
		set_err(err, l->lineno, "end of line before database specification");
		return -EINVAL;
	}
	l->db = (int)i++;
	if (i >= l->nfields) {
		set_err(err, l->lineno, "end of line before role specification");
		return -EINVAL;
	}
	l->user = (int)i++;
	if (l->type != HBA_LOCAL) {
		const struct hba_token *a;
		struct cidr c;

		if (i >= l->nfields) {
			set_err(err, l->lineno, "end of line before IP address specification");
			return -EINVAL;
		}
		if (l->fields[i].n != 1) {
			set_err(err, l->lineno, "multiple values specified for host address");
			return -EINVAL;
		}
		l->addr = (int)i++;
		a = &l->fields[l->addr].v[0];
		if (is_keyword(a, "all") || is_keyword(a, "samehost") || is_keyword(a, "samenet")) {
			/* a keyword */
		} else if (strchr(a->text, '/')) {
			if (cidr_parse(a->text, &c) < 0 || c.family == AF_UNIX) {
				set_err(err, l->lineno, "invalid IP address '%s'", a->text);
				return -EINVAL;
			}
		} else if (parse_numeric(a->text, &c)) {
			if (i >= l->nfields) {
				set_err(err, l->lineno, "end of line before netmask specification");
				return -EINVAL;
			}
			if (l->fields[i].n != 1 || !parse_numeric(l->fields[i].v[0].text, &(struct cidr){ 0 })) {
				set_err(err, l->lineno, "invalid IP mask '%s'", l->fields[i].v[0].text);
				return -EINVAL;
			}
			{
				struct cidr mk;
				parse_numeric(l->fields[i].v[0].text, &mk);
				if (mk.family != c.family) {
					set_err(err, l->lineno, "IP address and mask do not match");
					return -EINVAL;
				}
			}
			l->mask = (int)i++;
		}
		/* anything else is a host name */
	}
	if (i >= l->nfields) {
		set_err(err, l->lineno, "end of line before authentication method");
		return -EINVAL;
	}
	f = &l->fields[i];
	if (f->n != 1) {
		set_err(err, l->lineno, "multiple values specified for authentication type");
		return -EINVAL;
	}
	m = f->v[0].text;
	for (j = 0; j < sizeof(methods) / sizeof(methods[0]); j++)
		if (strcmp(m, methods[j]) == 0)
			found = true;
	if (!found) {
		set_err(err, l->lineno, "invalid authentication method '%s'", m);
		return -EINVAL;
	}
	if (strcmp(m, "peer") == 0 && l->type != HBA_LOCAL) {
		set_err(err, l->lineno, "peer authentication is only supported on local sockets");
		return -EINVAL;
	}
	l->method = (int)i++;
	for (; i < l->nfields; i++)
		for (j = 0; j < l->fields[i].n; j++)
			if (!strchr(l->fields[i].v[j].text, '=')) {
				set_err(err, l->lineno, "authentication option '%s' is not in name=value format",
					l->fields[i].v[j].text);
				return -EINVAL;
			}
	return 0;
}

static int parse_logical(struct hba_line *l, const char *content, struct hba_error *err)
{
	const char *p = content;
	size_t i;
	int r;

	for (;;) {
		struct hba_field f, *v;

		r = next_field(&p, &f);
		if (r == -EINVAL) {
			set_err(err, l->lineno, "unterminated quoted string");
			return r;
		}
		if (r == -E2BIG) {
			set_err(err, l->lineno, "token longer than %d bytes", HBA_MAX_TOKEN - 1);
			return -EINVAL;
		}
		if (r < 0)
			return r;
		if (r == 0) {
			if (*p == '\0')
				break;
			continue;
		}
		v = realloc(l->fields, (l->nfields + 1) * sizeof(*v));
		if (!v) {
			field_clear(&f);
			return -ENOMEM;
		}
		l->fields = v;
		l->fields[l->nfields++] = f;
	}
	if (l->nfields == 0)
		return 0;
	if (l->fields[0].n != 1) {
		set_err(err, l->lineno, "multiple values specified for connection type");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(conn_types) / sizeof(conn_types[0]); i++)
		if (strcmp(l->fields[0].v[0].text, conn_types[i].name) == 0)
			l->type = conn_types[i].type;
	if (l->type == HBA_NONE) {
		set_err(err, l->lineno, "invalid connection type '%s'", l->fields[0].v[0].text);
		return -EINVAL;
	}
	return check_rule(l, err);
}

int hba_parse(const char *text, size_t len, struct hba_file *ret, struct hba_error *err)
{
	struct hba_file f = { 0 };
	struct buf content = { 0 };
	size_t pos = 0;
	int lineno = 1, r = 0;

	if (err)
		memset(err, 0, sizeof(*err));
	f.text = malloc(len + 1);
	if (!f.text) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(f.text, text, len);
	f.text[len] = '\0';
	f.len = len;
	while (pos < len) {
		struct hba_line *v, *l;
		size_t start = pos, last_bs = 0;
		int first = lineno;

		content.len = 0;
		if (content.p)
			content.p[0] = '\0';
		for (;;) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t end = nl ? (size_t)(nl - text) + 1 : len;
			size_t clen;

			if (memchr(text + pos, '\0', end - pos)) {
				set_err(err, lineno, "line contains a NUL byte");
				r = -EINVAL;
				goto out;
			}
			if ((r = buf_add(&content, text + pos, end - pos)) < 0)
				goto out;
			pos = end;
			lineno++;
			clen = content.len;
			while (clen > 0 && (content.p[clen - 1] == '\n' || content.p[clen - 1] == '\r'))
				clen--;
			content.len = clen;
			content.p[clen] = '\0';
			if (clen > 0 && clen > last_bs && content.p[clen - 1] == '\\' && pos < len) {
				content.p[--content.len] = '\0';
				last_bs = content.len;
				continue;
			}
			if (clen > 0 && clen > last_bs && content.p[clen - 1] == '\\') {
				/* a continuation at the end of the file: PostgreSQL
				 * drops the backslash and ends the line */
				content.p[--content.len] = '\0';
			}
			break;
		}
		v = realloc(f.lines, (f.nlines + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		f.lines = v;
		l = &f.lines[f.nlines++];
		memset(l, 0, sizeof(*l));
		l->off = start;
		l->len = pos - start;
		l->lineno = first;
		l->db = l->user = l->addr = l->mask = l->method = -1;
		if ((r = parse_logical(l, content.p ? content.p : "", err)) < 0)
			goto out;
	}
	*ret = f;
	memset(&f, 0, sizeof(f));
out:
	free(content.p);
	hba_file_free(&f);
	return r;
}

int hba_write(const struct hba_file *f, char **ret, size_t *ret_len)
{
	struct buf b = { 0 };
	size_t i;
	int r;

	if ((r = buf_add(&b, "", 0)) < 0)
		return r;
	for (i = 0; i < f->nlines; i++)
		if ((r = buf_add(&b, f->text + f->lines[i].off, f->lines[i].len)) < 0) {
			free(b.p);
			return r;
		}
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}

char *hba_quote(const struct hba_token *t)
{
	struct buf b = { 0 };
	bool q = t->quoted || t->text[0] == '\0';
	const char *s;

	for (s = t->text; *s && !q; s++)
		if (is_blank(*s) || *s == ',' || *s == '#' || *s == '"' || *s == '\n' || *s == '\\')
			q = true;
	if (!q)
		return strdup(t->text);
	if (buf_add(&b, "\"", 1) < 0)
		goto fail;
	for (s = t->text; *s; s++) {
		if (*s == '"' && buf_add(&b, "\"", 1) < 0)
			goto fail;
		if (buf_add(&b, s, 1) < 0)
			goto fail;
	}
	if (buf_add(&b, "\"", 1) < 0)
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

enum tri { NO = 0, YES = 1, MAYBE = 2 };

static enum tri or3(enum tri a, enum tri b)
{
	if (a == YES || b == YES)
		return YES;
	if (a == MAYBE || b == MAYBE)
		return MAYBE;
	return NO;
}

static enum tri and3(enum tri a, enum tri b)
{
	if (a == NO || b == NO)
		return NO;
	if (a == MAYBE || b == MAYBE)
		return MAYBE;
	return YES;
}

/* Tokens pgevict cannot judge: @file lists, +role membership, regexes. */
static bool opaque(const struct hba_token *t)
{
	if (t->text[0] == '/')
		return true;
	return !t->quoted && (t->text[0] == '@' || t->text[0] == '+') && t->text[1];
}

static enum tri match_db(const struct hba_field *f, const struct hba_conn *c)
{
	enum tri r = NO;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct hba_token *t = &f->v[i];

		if (c->replication) {
			if (is_keyword(t, "replication"))
				r = or3(r, YES);
			else if (opaque(t))
				r = or3(r, MAYBE);
			continue;
		}
		if (is_keyword(t, "all"))
			r = or3(r, YES);
		else if (is_keyword(t, "sameuser"))
			r = or3(r, c->user && c->database && strcmp(c->user, c->database) == 0 ? YES : NO);
		else if (is_keyword(t, "samerole") || is_keyword(t, "samegroup") || opaque(t))
			r = or3(r, MAYBE);
		else if (is_keyword(t, "replication"))
			continue;
		else if (c->database && strcmp(t->text, c->database) == 0)
			r = or3(r, YES);
	}
	return r;
}

static enum tri match_user(const struct hba_field *f, const char *user)
{
	enum tri r = NO;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct hba_token *t = &f->v[i];

		if (is_keyword(t, "all"))
			r = or3(r, YES);
		else if (opaque(t))
			r = or3(r, MAYBE);
		else if (user && strcmp(t->text, user) == 0)
			r = or3(r, YES);
	}
	return r;
}

/* The line's address as a CIDR; false for keywords and host names. */
static bool line_cidr(const struct hba_line *l, struct cidr *ret)
{
	const struct hba_token *a = &l->fields[l->addr].v[0];

	if (!a->quoted && (strcmp(a->text, "all") == 0 || strcmp(a->text, "samehost") == 0 ||
			   strcmp(a->text, "samenet") == 0))
		return false;
	if (strchr(a->text, '/'))
		return cidr_parse(a->text, ret) == 0 && ret->family != AF_UNIX;
	if (l->mask >= 0 && parse_numeric(a->text, ret)) {
		ret->prefix = mask_prefix(l->fields[l->mask].v[0].text, ret->family);
		return ret->prefix >= 0;
	}
	return false;
}

static enum tri match_addr(const struct hba_line *l, const struct hba_conn *c)
{
	const struct hba_token *a = &l->fields[l->addr].v[0];
	struct cidr net;

	if (is_keyword(a, "all"))
		return YES;
	if (line_cidr(l, &net))
		return c->addr && cidr_contains(&net, c->addr) ? YES : NO;
	return MAYBE;                /* samehost, samenet, host names, odd masks */
}

static enum tri match_type(enum hba_type t, const struct hba_conn *c)
{
	if (t == HBA_LOCAL)
		return c->local ? YES : NO;
	if (c->local)
		return NO;
	switch (t) {
	case HBA_HOST:
		return YES;
	case HBA_HOSTSSL:
		return c->ssl < 0 ? MAYBE : c->ssl ? YES : NO;
	case HBA_HOSTNOSSL:
		return c->ssl < 0 ? MAYBE : c->ssl ? NO : YES;
	default:
		return MAYBE;        /* GSSAPI encryption: not visible here */
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
		enum tri m;
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
		m = and3(m, match_user(&l->fields[l->user], c->user));
		if (l->addr >= 0)
			m = and3(m, match_addr(l, c));
		if (m == NO)
			continue;
		reject = strcmp(l->fields[l->method].v[0].text, "reject") == 0;
		if (m == MAYBE) {
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

/* ---- the lockdown file ---- */

static const char *const keywords[] = { "all", "sameuser", "samerole", "samegroup", "replication",
					"samehost", "samenet" };

/* A name as a token that reads back as that name, never as a keyword;
 * NULL for a name no pg_hba.conf line can hold (or no memory). */
static char *quote_name(const char *name)
{
	struct hba_token t = { (char *)name, false };
	size_t i;

	if (!*name || strpbrk(name, "\n\r") || strlen(name) >= HBA_MAX_TOKEN - 2)
		return NULL;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(name, keywords[i]) == 0)
			t.quoted = true;
	if (name[0] == '+' || name[0] == '@' || name[0] == '/')
		t.quoted = true;
	return hba_quote(&t);
}

static int put_field(struct buf *b, const struct hba_field *f, int width)
{
	size_t i, start = b->len;
	int r;

	for (i = 0; i < f->n; i++) {
		char *q = hba_quote(&f->v[i]);

		if (!q)
			return -ENOMEM;
		r = buf_printf(b, "%s%s", i ? "," : "", q);
		free(q);
		if (r < 0)
			return r;
	}
	while ((int)(b->len - start) < width)
		if ((r = buf_add(b, " ", 1)) < 0)
			return r;
	return buf_add(b, " ", 1);
}

static void cidr_text(const struct cidr *c, char *out, size_t len)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];
	int i, n = c->family == AF_INET ? 4 : 16;

	memcpy(a, c->addr, sizeof(a));
	for (i = 0; i < n * 8; i++)
		if (i >= c->prefix)
			a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(c->family, a, s, sizeof(s));
	snprintf(out, len, "%s/%d", s, c->prefix);
}

/* Does A overlap B?  *RET gets the narrower. */
static bool cidr_overlap(const struct cidr *a, const struct cidr *b, struct cidr *ret)
{
	const struct cidr *wide = a->prefix <= b->prefix ? a : b;
	const struct cidr *narrow = wide == a ? b : a;
	int i;

	if (a->family != b->family)
		return false;
	for (i = 0; i < wide->prefix; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((wide->addr[i / 8] & m) != (narrow->addr[i / 8] & m))
			return false;
	}
	*ret = *narrow;
	return true;
}

/*
 * Write rule L with the user field replaced by USER and the address (and
 * mask) by NET where those are not NULL.  The database field keeps only
 * the replication keyword when REPL_ONLY, everything but it otherwise; a
 * database field left empty drops the line (0, nothing written; 1 when
 * written).
 */
static int put_line(struct buf *b, const struct hba_line *l, const char *user, const struct cidr *net,
		    bool repl_only)
{
	struct hba_field db = { 0 };
	struct hba_token *dv;
	size_t i;
	int r;

	dv = calloc(l->fields[l->db].n, sizeof(*dv));
	if (!dv)
		return -ENOMEM;
	db.v = dv;
	for (i = 0; i < l->fields[l->db].n; i++) {
		const struct hba_token *t = &l->fields[l->db].v[i];
		bool repl = is_keyword(t, "replication");

		if (repl == repl_only)
			db.v[db.n++] = *t;
	}
	if (db.n == 0) {
		free(dv);
		return 0;
	}
	r = buf_printf(b, "# kept from line %d of the original\n", l->lineno);
	for (i = 0; r >= 0 && i < l->nfields; i++) {
		int w = i == 0 ? 7 : 15;

		if ((int)i == l->db) {
			r = put_field(b, &db, w);
		} else if ((int)i == l->user && user) {
			char *q = quote_name(user);
			if (!q) {
				r = -EINVAL;
				break;
			}
			r = buf_printf(b, "%-15s ", q);
			free(q);
		} else if ((int)i == l->addr && net) {
			char t[INET6_ADDRSTRLEN + 8];
			cidr_text(net, t, sizeof(t));
			r = buf_printf(b, "%-23s ", t);
		} else if ((int)i == l->mask && net) {
			continue;
		} else {
			r = put_field(b, &l->fields[i], (int)i == l->addr ? 23 : w);
		}
	}
	free(dv);
	if (r < 0)
		return r;
	/* Trim the trailing blanks: a line must never end in a backslash
	 * followed by nothing (it would join the next one). */
	while (b->len > 0 && b->p[b->len - 1] == ' ')
		b->len--;
	if (b->len > 0 && b->p[b->len - 1] == '\\' && buf_add(b, " ", 1) < 0)
		return -ENOMEM;
	return buf_add(b, "\n", 1) < 0 ? -ENOMEM : 1;
}

static bool is_reject(const struct hba_line *l)
{
	return strcmp(l->fields[l->method].v[0].text, "reject") == 0;
}

static bool has_repl(const struct hba_line *l)
{
	size_t i;

	for (i = 0; i < l->fields[l->db].n; i++)
		if (is_keyword(&l->fields[l->db].v[i], "replication"))
			return true;
	return false;
}

static int note(struct buf *notes, const struct hba_line *l, const char *why, const char *who)
{
	return buf_printf(notes, "line %d not kept for %s: %s\n", l->lineno, who, why);
}

static int keep_for_role(struct buf *b, struct buf *notes, const struct hba_file *f, const char *role)
{
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < f->nlines; i++) {
		const struct hba_line *l = &f->lines[i];
		enum tri m;

		if (l->type == HBA_NONE)
			continue;
		if (l->type >= HBA_INCLUDE) {
			r = note(notes, l, "include directives are not followed", role);
			continue;
		}
		m = match_user(&l->fields[l->user], role);
		if (m == NO)
			continue;
		if (m == MAYBE && !is_reject(l)) {
			r = note(notes, l, "role membership or file list unknown", role);
			continue;
		}
		r = put_line(b, l, role, NULL, false);
	}
	return r < 0 ? r : 0;
}

static int keep_for_host(struct buf *b, struct buf *notes, const struct hba_file *f, const struct cidr *c)
{
	char who[INET6_ADDRSTRLEN + 8];
	size_t i;
	int r = 0;

	cidr_text(c, who, sizeof(who));
	for (i = 0; r >= 0 && i < f->nlines; i++) {
		const struct hba_line *l = &f->lines[i];
		const struct hba_token *a;
		struct cidr net, narrow;

		if (l->type == HBA_NONE || l->type == HBA_LOCAL)
			continue;
		if (l->type >= HBA_INCLUDE) {
			r = note(notes, l, "include directives are not followed", who);
			continue;
		}
		a = &l->fields[l->addr].v[0];
		if (is_keyword(a, "all")) {
			r = put_line(b, l, NULL, c, false);
		} else if (line_cidr(l, &net)) {
			if (cidr_overlap(&net, c, &narrow))
				r = put_line(b, l, NULL, &narrow, false);
		} else if (is_reject(l)) {
			r = put_line(b, l, NULL, c, false);
		} else {
			r = note(notes, l, "host name or samehost/samenet cannot be narrowed", who);
		}
	}
	return r < 0 ? r : 0;
}

static const char reject_block[] =
	"local   all             all                                     reject\n"
	"host    all             all             0.0.0.0/0               reject\n"
	"host    all             all             ::/0                    reject\n"
	"local   replication     all                                     reject\n"
	"host    replication     all             0.0.0.0/0               reject\n"
	"host    replication     all             ::/0                    reject\n";

int hba_lockdown(const struct hba_file *orig, const struct hba_lockdown_opts *o, char **ret,
		 char **ret_notes)
{
	struct buf b = { 0 }, notes = { 0 };
	size_t i;
	int r;

	if ((r = buf_add(&notes, "", 0)) < 0 || (r = buf_add(&b, "", 0)) < 0)
		goto out;
	if (o->header && (r = buf_str(&b, o->header)) < 0)
		goto out;
	if (!o->total) {
		char *q;

		if (!o->owner || !*o->owner) {
			r = -EINVAL;
			goto out;
		}
		q = quote_name(o->owner);
		if (!q) {
			r = -EINVAL;
			goto out;
		}
		r = buf_printf(&b, "# the cluster owner keeps a way in over the Unix socket\n"
				   "local   all             %-15s                         peer\n", q);
		free(q);
		if (r < 0)
			goto out;
	}
	if (!o->total && orig) {
		bool any = false;

		for (i = 0; i < orig->nlines; i++) {
			const struct hba_line *l = &orig->lines[i];

			if (l->type == HBA_NONE || l->type >= HBA_INCLUDE || !has_repl(l))
				continue;
			if (!any && (r = buf_str(&b, "# standbys keep streaming (use --total to cut them)\n")) < 0)
				goto out;
			any = true;
			if ((r = put_line(&b, l, NULL, NULL, true)) < 0)
				goto out;
		}
	}
	if ((o->nroles || o->nhosts) && !orig) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < o->nroles; i++) {
		char *q = quote_name(o->roles[i]);

		if (!q) {
			r = -EINVAL;
			goto out;
		}
		free(q);
		if ((r = buf_printf(&b, "# --allow-role %s\n", o->roles[i])) < 0 ||
		    (r = keep_for_role(&b, &notes, orig, o->roles[i])) < 0)
			goto out;
	}
	for (i = 0; i < o->nhosts; i++) {
		char t[INET6_ADDRSTRLEN + 8];

		cidr_text(&o->hosts[i], t, sizeof(t));
		if ((r = buf_printf(&b, "# --allow-host %s\n", t)) < 0 ||
		    (r = keep_for_host(&b, &notes, orig, &o->hosts[i])) < 0)
			goto out;
	}
	if ((r = buf_str(&b, "# everyone else is refused\n")) < 0 || (r = buf_str(&b, reject_block)) < 0)
		goto out;
	*ret = b.p;
	*ret_notes = notes.p;
	b.p = notes.p = NULL;
out:
	free(b.p);
	free(notes.p);
	return r < 0 ? r : 0;
}
