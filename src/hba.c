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
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
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

/* ---- reading a file as PostgreSQL 15 does ----
 *
 * Build assumptions (Debian 12's postgresql-15, `pg_config --configure`:
 * --with-gssapi --with-ldap --with-pam --with-openssl, OpenLDAP): gss,
 * pam, ldap (with ldapurl, OpenLDAP's ldap_url_parse, and ldap_initialize,
 * so ldapserver is optional), cert and hostssl/hostgssenc are compiled in;
 * sspi (Windows only) and bsd (OpenBSD only) are not.  The server is
 * assumed to run with ssl = on (with ssl = off PostgreSQL still loads a
 * hostssl line, only logging that it cannot match) and
 * db_user_namespace = off (with it, md5 lines are refused).  Addresses
 * and masks go through getaddrinfo(AI_NUMERICHOST) exactly as the server
 * calls it, so this host's libc decides what is numeric (inet_aton's
 * forms, IPv6 zone names of this host's interfaces).  radiusservers
 * names are not resolved here (the server resolves them at load), and
 * ldapurl is checked for what OpenLDAP's parser refuses that a person
 * writes (scheme, enclosure, port, scope, extra parts), not byte for byte.
 */

struct reader {
	const char *text;
	size_t len, pos;
	size_t maxlen;               /* the StringInfo's maxlen: fgets reads in runs of it */
};

/* enlargeStringInfo(buf, 128) */
static void reader_enlarge(struct reader *rd, size_t len)
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
static int get_line_append(struct reader *rd, struct buf *b, bool *ret_got)
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
		if ((r = buf_add(b, s, strnlen(s, k))) < 0)
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
static int next_logical(struct reader *rd, struct buf *b, int *ret_cont)
{
	size_t last_bs = 0;
	bool got, any = false;
	int r;

	b->len = 0;
	if ((r = buf_add(b, "", 0)) < 0)
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

struct tokctx {
	const struct hba_parse_opts *o;
	const char *path;            /* the file being read (for @names) */
	int depth;
	char *err;                   /* the line's error, malloc'd */
};

static void tok_err(struct tokctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tok_err(struct tokctx *t, const char *fmt, ...)
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

static int tokenize_text(struct tokctx *t, const char *text, size_t len, struct hba_field *into);

/*
 * tokenize_inc_file(): the tokens of every line of the @file NAME,
 * appended to INTO; the first error of one of its lines (or of reading
 * it) is the line's error.
 */
static int include_file(struct tokctx *t, const char *name, struct hba_field *into)
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
		struct tokctx sub = { t->o, full, t->depth + 1, NULL };

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
static int next_field(struct tokctx *t, const char **p, struct hba_field *ret, bool expand)
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
	field_clear(&f);
	return r;
}

/* The fields of one logical line CONTENT (tokenize_auth_file's field
 * loop): *RET_FIELDS, *RET_N; errors in T->err. */
static int tokenize_line(struct tokctx *t, const char *content, bool expand, struct hba_field **ret_fields,
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
			field_clear(&f);
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
		field_clear(&f[i]);
	free(f);
}

/* An included file: every token of every line, flattened into INTO. */
static int tokenize_text(struct tokctx *t, const char *text, size_t len, struct hba_field *into)
{
	struct reader rd = { text, len, 0, 1024 };
	struct buf b = { 0 };
	int cont, r;

	while ((r = next_logical(&rd, &b, &cont)) > 0) {
		struct hba_field *fields = NULL;
		size_t n = 0, i, j;

		r = tokenize_line(t, b.p, true, &fields, &n);
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

enum method {
	M_NONE, M_TRUST, M_IDENT, M_PEER, M_PASSWORD, M_GSS, M_SSPI, M_REJECT, M_MD5, M_SCRAM, M_PAM,
	M_BSD, M_LDAP, M_CERT, M_RADIUS,
};

/* parse_hba_line's method names; SUPPORTED: compiled into Debian's build. */
static const struct {
	const char *name;
	enum method m;
	bool supported;
} methods[] = {
	{ "trust", M_TRUST, true }, { "ident", M_IDENT, true }, { "peer", M_PEER, true },
	{ "password", M_PASSWORD, true }, { "gss", M_GSS, true }, { "sspi", M_SSPI, false },
	{ "reject", M_REJECT, true }, { "md5", M_MD5, true }, { "scram-sha-256", M_SCRAM, true },
	{ "pam", M_PAM, true }, { "bsd", M_BSD, false }, { "ldap", M_LDAP, true },
	{ "cert", M_CERT, true }, { "radius", M_RADIUS, true },
};

static bool is_keyword(const struct hba_token *t, const char *kw)
{
	return !t->quoted && strcmp(t->text, kw) == 0;
}

/* pg_getaddrinfo_all(s, NULL, AI_NUMERICHOST): the address's family and
 * bytes, or the getaddrinfo error (EAI_NONAME: a host name). */
static int numeric_addr(const char *s, struct cidr *ret)
{
	struct addrinfo hints, *res = NULL;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_family = AF_UNSPEC;
	r = getaddrinfo(*s ? s : NULL, NULL, &hints, &res);
	if (r != 0)
		return r;
	if (!res)
		return EAI_NONAME;
	if (ret) {
		memset(ret, 0, sizeof(*ret));
		ret->family = res->ai_family;
		if (res->ai_family == AF_INET) {
			memcpy(ret->addr, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
			ret->prefix = 32;
		} else if (res->ai_family == AF_INET6) {
			memcpy(ret->addr, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
			ret->prefix = 128;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* pg_sockaddr_cidr_mask(): the prefix length BITS, or -1. */
static int cidr_bits(const char *bits, int family)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(bits, &end, 10);
	if (!*bits || *end)
		return -1;
	if (family == AF_INET && (n < 0 || n > 32))
		return -1;
	if (family == AF_INET6 && (n < 0 || n > 128))
		return -1;
	if (family != AF_INET && family != AF_INET6)
		return -1;
	return (int)n;
}

static bool is_space_guc(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* SplitGUCList(val, ','): the number of items, or -1 for a syntax error. */
static int split_guc_list(const char *s, char ***ret_items)
{
	char **items = NULL;
	int n = 0;

	*ret_items = NULL;
	while (is_space_guc(*s))
		s++;
	if (!*s)
		return 0;
	for (;;) {
		struct buf item = { 0 };
		char **v;

		if (buf_add(&item, "", 0) < 0)
			goto fail;
		if (*s == '"') {
			s++;
			for (;;) {
				const char *q = strchr(s, '"');

				if (!q) {
					free(item.p);
					goto fail;
				}
				if (buf_add(&item, s, (size_t)(q - s)) < 0) {
					free(item.p);
					goto fail;
				}
				s = q + 1;
				if (*s != '"')
					break;
				if (buf_add(&item, "\"", 1) < 0) {
					free(item.p);
					goto fail;
				}
				s++;
			}
		} else {
			const char *st = s;

			while (*s && *s != ',' && !is_space_guc(*s))
				s++;
			if (s == st || buf_add(&item, st, (size_t)(s - st)) < 0) {
				free(item.p);
				goto fail;
			}
		}
		v = realloc(items, (size_t)(n + 2) * sizeof(*v));
		if (!v) {
			free(item.p);
			goto fail;
		}
		items = v;
		items[n++] = item.p;
		items[n] = NULL;
		while (is_space_guc(*s))
			s++;
		if (*s == ',') {
			s++;
			while (is_space_guc(*s))
				s++;
			continue;
		}
		if (*s == '\0')
			break;
		goto fail;
	}
	*ret_items = items;
	return n;
fail:
	while (n > 0)
		free(items[--n]);
	free(items);
	return -1;
}

static void free_items(char **items)
{
	size_t i;

	for (i = 0; items && items[i]; i++)
		free(items[i]);
	free(items);
}

/*
 * OpenLDAP's ldap_url_parse() as far as a person writes one: an optional
 * <...> and URL: prefix, the scheme (ldap, ldaps, ldapi, cldap; PostgreSQL
 * then takes only ldap and ldaps), host[:port] with a port of 0-65535
 * (url.c refuses only port < 0 || port > 65535; 0 means the default),
 * then at most dn?attrs?scope?filter?extensions with a known scope.
 * Returns NULL, or why it is refused.  *RET_DN, *RET_ATTRS, *RET_FILTER:
 * the parts given (lud_dn, lud_attrs, lud_filter set).
 */
static const char *ldap_url_check(const char *url, bool *ret_dn, bool *ret_attrs, bool *ret_filter)
{
	static const char *const schemes[] = { "ldap://", "ldaps://", "ldapi://", "cldap://" };
	char *u = strdup(url), *s, *host, *q, *parts[5] = { 0 };
	const char *why = NULL;
	bool enclosed = false;
	size_t i, n;

	*ret_dn = *ret_attrs = *ret_filter = false;
	if (!u)
		return "out of memory";
	s = u;
	if (*s == '<') {
		enclosed = true;
		s++;
	}
	if (strncasecmp(s, "URL:", 4) == 0)
		s += 4;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(s, schemes[i], strlen(schemes[i])) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		why = "Bad search filter";       /* LDAP_URL_ERR_BADSCHEME's ldap_err2string */
		goto out;
	}
	if (i >= 2) {
		why = "unsupported LDAP URL scheme";
		goto out;
	}
	s += strlen(schemes[i]);
	n = strlen(s);
	if (enclosed) {
		if (n == 0 || s[n - 1] != '>') {
			why = "Bad parameter to an ldap routine";
			goto out;
		}
		s[--n] = '\0';
	}
	host = s;
	q = strchr(host, '/');
	if (q) {
		*q++ = '\0';
		*ret_dn = true;
		for (i = 0; i < 5 && q; i++) {
			parts[i] = q;
			q = strchr(q, '?');
			if (q)
				*q++ = '\0';
		}
		if (q) {
			why = "Bad parameter to an ldap routine";
			goto out;
		}
	} else if ((q = strchr(host, '?'))) {
		why = "Bad parameter to an ldap routine";
		goto out;
	}
	{
		char *port = NULL;

		if (host[0] == '[') {
			char *rb = strchr(host, ']');
			if (!rb) {
				why = "Bad parameter to an ldap routine";
				goto out;
			}
			if (rb[1] == ':')
				port = rb + 2;
			else if (rb[1]) {
				why = "Bad parameter to an ldap routine";
				goto out;
			}
		} else if ((port = strchr(host, ':'))) {
			port++;
		}
		if (port) {
			char *end;
			long p;

			p = strtol(port, &end, 10);
			if (end == port || *end || p < 0 || p > 65535) {
				why = "Bad parameter to an ldap routine";
				goto out;
			}
		}
	}
	if (parts[1] && parts[1][0])
		*ret_attrs = true;
	if (parts[2] && parts[2][0] && strcasecmp(parts[2], "base") != 0 && strcasecmp(parts[2], "one") != 0 &&
	    strcasecmp(parts[2], "sub") != 0 && strcasecmp(parts[2], "subord") != 0 &&
	    strcasecmp(parts[2], "subordinate") != 0 && strcasecmp(parts[2], "children") != 0 &&
	    strcasecmp(parts[2], "onelevel") != 0 && strcasecmp(parts[2], "subtree") != 0 &&
	    strcasecmp(parts[2], "baseobject") != 0) {
		why = "Bad parameter to an ldap routine";
		goto out;
	}
	if (parts[3] && parts[3][0])
		*ret_filter = true;
out:
	free(u);
	return why;
}

/* What parse_hba_auth_opt() remembers across a line's options. */
struct opts_seen {
	bool ldapserver, ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter,
		ldapprefix, ldapsuffix;
	int radiusservers, radiussecrets, radiusports, radiusidentifiers;   /* -1: unset */
};

#define OPT_ERR(...)                                                                               \
	do {                                                                                       \
		set_err(err, lineno, __VA_ARGS__);                                                 \
		return -EINVAL;                                                                    \
	} while (0)

static int only_for(const char *name, const char *methods_text, int lineno, struct hba_error *err)
{
	set_err(err, lineno, "authentication option \"%s\" is only valid for authentication methods %s", name,
		methods_text);
	return -EINVAL;
}

/* RADIUS lists: the count, or -1 with the error set. */
static int radius_list(const char *name, const char *val, const struct hba_parse_opts *o, int lineno,
		       struct hba_error *err)
{
	char **items;
	int n = split_guc_list(val, &items), i;

	if (n < 0) {
		if (strcmp(name, "radiusports") == 0)
			set_err(err, lineno, "invalid RADIUS port number: \"%s\"", val);
		else
			set_err(err, lineno, "could not parse RADIUS %s list \"%s\"",
				strcmp(name, "radiusservers") == 0 ? "server" :
				strcmp(name, "radiussecrets") == 0 ? "secret" : "identifiers", val);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(name, "radiusports") == 0 && atoi(items[i]) == 0) {
			set_err(err, lineno, "invalid RADIUS port number: \"%s\"", val);
			n = -1;
			break;
		}
		if (strcmp(name, "radiusservers") == 0) {
			int r = numeric_addr(items[i], NULL);

			/* a name: the server resolves it when it loads the file */
			if (r != 0 && o->resolve)
				r = o->resolve(o->ctx, items[i]);
			else if (r != 0 && items[i][0])
				r = 0;
			if (r != 0) {
				set_err(err, lineno, "could not translate RADIUS server name \"%s\" to address: %s",
					items[i], gai_strerror(r));
				n = -1;
				break;
			}
		}
	}
	free_items(items);
	return n;
}

/* parse_hba_auth_opt(): one NAME=VAL option of line L (method M). */
static int auth_opt(const char *name, const char *val, enum hba_type type, enum method m, struct opts_seen *seen,
		    const struct hba_parse_opts *o, int lineno, struct hba_error *err)
{
	if (strcmp(name, "map") == 0) {
		if (m != M_IDENT && m != M_PEER && m != M_GSS && m != M_SSPI && m != M_CERT)
			return only_for("map", "ident, peer, gssapi, sspi, and cert", lineno, err);
	} else if (strcmp(name, "clientcert") == 0) {
		if (type != HBA_HOSTSSL)
			OPT_ERR("clientcert can only be configured for \"hostssl\" rows");
		if (strcmp(val, "verify-full") == 0)
			;
		else if (strcmp(val, "verify-ca") == 0) {
			if (m == M_CERT)
				OPT_ERR("clientcert can only be set to \"verify-full\" when using \"cert\" authentication");
		} else
			OPT_ERR("invalid value for clientcert: \"%s\"", val);
	} else if (strcmp(name, "clientname") == 0) {
		if (type != HBA_HOSTSSL)
			OPT_ERR("clientname can only be configured for \"hostssl\" rows");
		if (strcmp(val, "CN") != 0 && strcmp(val, "DN") != 0)
			OPT_ERR("invalid value for clientname: \"%s\"", val);
	} else if (strcmp(name, "pamservice") == 0 || strcmp(name, "pam_use_hostname") == 0) {
		if (m != M_PAM)
			return only_for(name, "pam", lineno, err);
	} else if (strcmp(name, "ldapurl") == 0) {
		bool dn, attrs, filter;
		const char *why;

		if (m != M_LDAP)
			return only_for(name, "ldap", lineno, err);
		why = ldap_url_check(val, &dn, &attrs, &filter);
		if (why && strcmp(why, "unsupported LDAP URL scheme") == 0)
			OPT_ERR("unsupported LDAP URL scheme: %.*s", (int)strcspn(val, ":"), val);
		if (why)
			OPT_ERR("could not parse LDAP URL \"%s\": %s", val, why);
		seen->ldapserver = true;
		if (dn)
			seen->ldapbasedn = true;
		if (attrs)
			seen->ldapsearchattribute = true;
		if (filter)
			seen->ldapsearchfilter = true;
	} else if (strcmp(name, "ldaptls") == 0 || strcmp(name, "ldapscheme") == 0) {
		/* an ldapscheme other than ldap or ldaps is only logged */
		if (m != M_LDAP)
			return only_for(name, "ldap", lineno, err);
	} else if (strcmp(name, "ldapport") == 0) {
		if (m != M_LDAP)
			return only_for(name, "ldap", lineno, err);
		if (atoi(val) == 0)
			OPT_ERR("invalid LDAP port number: \"%s\"", val);
	} else if (strncmp(name, "ldap", 4) == 0 &&
		   (strcmp(name, "ldapserver") == 0 || strcmp(name, "ldapbinddn") == 0 ||
		    strcmp(name, "ldapbindpasswd") == 0 || strcmp(name, "ldapsearchattribute") == 0 ||
		    strcmp(name, "ldapsearchfilter") == 0 || strcmp(name, "ldapbasedn") == 0 ||
		    strcmp(name, "ldapprefix") == 0 || strcmp(name, "ldapsuffix") == 0)) {
		if (m != M_LDAP)
			return only_for(name, "ldap", lineno, err);
		if (strcmp(name, "ldapserver") == 0) seen->ldapserver = true;
		if (strcmp(name, "ldapbinddn") == 0) seen->ldapbinddn = true;
		if (strcmp(name, "ldapbindpasswd") == 0) seen->ldapbindpasswd = true;
		if (strcmp(name, "ldapsearchattribute") == 0) seen->ldapsearchattribute = true;
		if (strcmp(name, "ldapsearchfilter") == 0) seen->ldapsearchfilter = true;
		if (strcmp(name, "ldapbasedn") == 0) seen->ldapbasedn = true;
		if (strcmp(name, "ldapprefix") == 0) seen->ldapprefix = true;
		if (strcmp(name, "ldapsuffix") == 0) seen->ldapsuffix = true;
	} else if (strcmp(name, "krb_realm") == 0 || strcmp(name, "include_realm") == 0) {
		if (m != M_GSS && m != M_SSPI)
			return only_for(name, "gssapi and sspi", lineno, err);
	} else if (strcmp(name, "compat_realm") == 0 || strcmp(name, "upn_username") == 0) {
		if (m != M_SSPI)
			return only_for(name, "sspi", lineno, err);
	} else if (strcmp(name, "radiusservers") == 0 || strcmp(name, "radiusports") == 0 ||
		   strcmp(name, "radiussecrets") == 0 || strcmp(name, "radiusidentifiers") == 0) {
		int n;

		if (m != M_RADIUS)
			return only_for(name, "radius", lineno, err);
		if ((n = radius_list(name, val, o, lineno, err)) < 0)
			return -EINVAL;
		if (strcmp(name, "radiusservers") == 0) seen->radiusservers = n;
		if (strcmp(name, "radiusports") == 0) seen->radiusports = n;
		if (strcmp(name, "radiussecrets") == 0) seen->radiussecrets = n;
		if (strcmp(name, "radiusidentifiers") == 0) seen->radiusidentifiers = n;
	} else {
		OPT_ERR("unrecognized authentication option name: \"%s\"", name);
	}
	return 0;
}

/* The checks at the end of parse_hba_line() for ldap and radius. */
static int method_args(enum method m, const struct opts_seen *s, int lineno, struct hba_error *err)
{
	if (m == M_LDAP) {
		if (s->ldapprefix || s->ldapsuffix) {
			if (s->ldapbasedn || s->ldapbinddn || s->ldapbindpasswd || s->ldapsearchattribute ||
			    s->ldapsearchfilter)
				OPT_ERR("cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, "
					"ldapsearchfilter, or ldapurl together with ldapprefix");
		} else if (!s->ldapbasedn) {
			OPT_ERR("authentication method \"ldap\" requires argument \"ldapbasedn\", \"ldapprefix\", or "
				"\"ldapsuffix\" to be set");
		}
		if (s->ldapsearchattribute && s->ldapsearchfilter)
			OPT_ERR("cannot use ldapsearchattribute together with ldapsearchfilter");
	}
	if (m == M_RADIUS) {
		if (s->radiusservers <= 0)   /* an empty list is no list (NIL) */
			OPT_ERR("authentication method \"radius\" requires argument \"radiusservers\" to be set");
		if (s->radiussecrets <= 0)
			OPT_ERR("authentication method \"radius\" requires argument \"radiussecrets\" to be set");
		if (!(s->radiussecrets == 1 || s->radiussecrets == s->radiusservers))
			OPT_ERR("the number of RADIUS secrets (%d) must be 1 or the same as the number of RADIUS "
				"servers (%d)", s->radiussecrets, s->radiusservers);
		if (!(s->radiusports <= 1 || s->radiusports == s->radiusservers))
			OPT_ERR("the number of RADIUS ports (%d) must be 1 or the same as the number of RADIUS "
				"servers (%d)", s->radiusports, s->radiusservers);
		if (!(s->radiusidentifiers <= 1 || s->radiusidentifiers == s->radiusservers))
			OPT_ERR("the number of RADIUS identifiers (%d) must be 1 or the same as the number of RADIUS "
				"servers (%d)", s->radiusidentifiers, s->radiusservers);
	}
	return 0;
}

/*
 * parse_hba_line(): check a rule's fields as PostgreSQL does, in its
 * order, with its messages; set L's indexes.  0 or -EINVAL.
 */
static int check_rule(struct hba_line *l, const struct hba_parse_opts *o, struct hba_error *err)
{
	size_t i = 1, j;
	const struct hba_field *f;
	const char *mname;
	enum method m = M_NONE;
	bool supported = false;
	struct opts_seen seen = { .radiusservers = -1, .radiussecrets = -1, .radiusports = -1,
				  .radiusidentifiers = -1 };
	int lineno = l->lineno;

	l->db = l->user = l->addr = l->mask = l->method = -1;
	if (l->type >= HBA_INCLUDE) {
		if (o->version == 15) {
			set_err(err, lineno, "invalid connection type \"%s\"", l->fields[0].v[0].text);
			return -EINVAL;
		}
		if (l->nfields != 2 || l->fields[1].n != 1) {
			set_err(err, lineno, "include needs exactly one file name");
			return -EINVAL;
		}
		return 0;
	}
	if (i >= l->nfields) {
		set_err(err, lineno, "end-of-line before database specification");
		return -EINVAL;
	}
	l->db = (int)i++;
	if (i >= l->nfields) {
		set_err(err, lineno, "end-of-line before role specification");
		return -EINVAL;
	}
	l->user = (int)i++;
	if (l->type != HBA_LOCAL) {
		const struct hba_token *a;
		struct cidr c;
		char *str, *slash;
		int r;

		if (i >= l->nfields) {
			set_err(err, lineno, "end-of-line before IP address specification");
			return -EINVAL;
		}
		if (l->fields[i].n != 1) {
			set_err(err, lineno, "multiple values specified for host address");
			return -EINVAL;
		}
		l->addr = (int)i++;
		a = &l->fields[l->addr].v[0];
		if (!a->quoted && a->text[0] == '@' && a->text[1]) {
			/* an @file the caller did not read: what the server
			 * will find there is unknown; the evaluator calls it
			 * a host name it cannot judge */
		} else if (!(is_keyword(a, "all") || is_keyword(a, "samehost") || is_keyword(a, "samenet"))) {
			if (!(str = strdup(a->text)))
				return -ENOMEM;
			slash = strchr(str, '/');
			if (slash)
				*slash = '\0';
			r = numeric_addr(str, &c);
			if (r != 0 && r != EAI_NONAME) {
				set_err(err, lineno, "invalid IP address \"%s\": %s", str, gai_strerror(r));
				free(str);
				return -EINVAL;
			}
			free(str);
			if (slash) {
				if (r == EAI_NONAME) {
					set_err(err, lineno, "specifying both host name and CIDR mask is invalid: \"%s\"",
						a->text);
					return -EINVAL;
				}
				if (cidr_bits(strchr(a->text, '/') + 1, c.family) < 0) {
					set_err(err, lineno, "invalid CIDR mask in address \"%s\"", a->text);
					return -EINVAL;
				}
			} else if (r == 0) {
				struct cidr mk;
				const struct hba_token *mt;

				if (i >= l->nfields) {
					set_err(err, lineno, "end-of-line before netmask specification");
					return -EINVAL;
				}
				if (l->fields[i].n != 1) {
					set_err(err, lineno, "multiple values specified for netmask");
					return -EINVAL;
				}
				mt = &l->fields[i].v[0];
				if ((r = numeric_addr(mt->text, &mk)) != 0) {
					set_err(err, lineno, "invalid IP mask \"%s\": %s", mt->text, gai_strerror(r));
					return -EINVAL;
				}
				if (mk.family != c.family) {
					set_err(err, lineno, "IP address and mask do not match");
					return -EINVAL;
				}
				l->mask = (int)i++;
			}
			/* else a host name */
		}
	}
	if (i >= l->nfields) {
		set_err(err, lineno, "end-of-line before authentication method");
		return -EINVAL;
	}
	f = &l->fields[i];
	if (f->n != 1) {
		set_err(err, lineno, "multiple values specified for authentication type");
		return -EINVAL;
	}
	mname = f->v[0].text;
	for (j = 0; j < sizeof(methods) / sizeof(methods[0]); j++)
		if (strcmp(mname, methods[j].name) == 0) {
			m = methods[j].m;
			supported = methods[j].supported;
		}
	if (m == M_NONE) {
		set_err(err, lineno, "invalid authentication method \"%s\"", mname);
		return -EINVAL;
	}
	if (!supported) {
		set_err(err, lineno, "invalid authentication method \"%s\": not supported by this build", mname);
		return -EINVAL;
	}
	if (l->type == HBA_LOCAL && m == M_IDENT)
		m = M_PEER;              /* ident on local means peer */
	if (l->type == HBA_LOCAL && m == M_GSS) {
		set_err(err, lineno, "gssapi authentication is not supported on local sockets");
		return -EINVAL;
	}
	if (l->type != HBA_LOCAL && m == M_PEER) {
		set_err(err, lineno, "peer authentication is only supported on local sockets");
		return -EINVAL;
	}
	if (l->type != HBA_HOSTSSL && m == M_CERT) {
		set_err(err, lineno, "cert authentication is only supported on hostssl connections");
		return -EINVAL;
	}
	l->method = (int)i++;
	for (; i < l->nfields; i++)
		for (j = 0; j < l->fields[i].n; j++) {
			const char *t = l->fields[i].v[j].text, *eq = strchr(t, '=');
			char name[64];
			int r;

			if (!eq) {
				set_err(err, lineno, "authentication option not in name=value format: %s", t);
				return -EINVAL;
			}
			if ((size_t)(eq - t) >= sizeof(name)) {
				set_err(err, lineno, "unrecognized authentication option name: \"%.*s\"", (int)(eq - t), t);
				return -EINVAL;
			}
			memcpy(name, t, (size_t)(eq - t));
			name[eq - t] = '\0';
			if ((r = auth_opt(name, eq + 1, l->type, m, &seen, o, lineno, err)) < 0)
				return r;
		}
	return method_args(m, &seen, lineno, err);
}

/* The connection type of a line (parse_hba_line's first field). */
static int line_type(struct hba_line *l, struct hba_error *err)
{
	size_t i;

	if (l->fields[0].n != 1) {
		set_err(err, l->lineno, "multiple values specified for connection type");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(conn_types) / sizeof(conn_types[0]); i++)
		if (strcmp(l->fields[0].v[0].text, conn_types[i].name) == 0)
			l->type = conn_types[i].type;
	if (l->type == HBA_NONE) {
		set_err(err, l->lineno, "invalid connection type \"%s\"", l->fields[0].v[0].text);
		return -EINVAL;
	}
	return 0;
}

static bool has_include_token(const struct hba_line *l)
{
	size_t i, j;

	for (i = 0; i < l->nfields; i++)
		for (j = 0; j < l->fields[i].n; j++)
			if (!l->fields[i].v[j].quoted && l->fields[i].v[j].text[0] == '@' && l->fields[i].v[j].text[1])
				return true;
	return false;
}

/*
 * One logical line: the fields as written into L, then PostgreSQL's
 * verdict.  With @file reading, the verdict is on the fields as the
 * server expands them (L keeps the fields as written).  0 (the verdict
 * in L->refused and *ERR) or -ENOMEM.
 */
static int parse_logical(struct hba_line *l, const char *content, const struct hba_parse_opts *o,
			 struct hba_error *err)
{
	struct tokctx t = { o, o->path, 0, NULL };
	int r;

	if ((r = tokenize_line(&t, content, false, &l->fields, &l->nfields)) < 0)
		goto out;
	if (!t.err && o->read_file && has_include_token(l)) {
		struct hba_line x = *l;

		x.fields = NULL;
		x.nfields = 0;
		if ((r = tokenize_line(&t, content, true, &x.fields, &x.nfields)) < 0) {
			line_clear(&x);
			goto out;
		}
		if (!t.err && x.nfields > 0 && (line_type(&x, err) < 0 || (r = check_rule(&x, o, err)) < 0)) {
			line_clear(&x);
			if (r == -ENOMEM)
				goto out;
			l->refused = true;
			r = 0;
			goto out;
		}
		line_clear(&x);
		if (!t.err) {
			/* the server's verdict is the expanded one; the line as
			 * written gets its indexes when it parses too, else it
			 * is no rule the evaluator can model */
			if (l->nfields > 0 && (line_type(l, NULL) < 0 || check_rule(l, o, NULL) < 0))
				l->type = HBA_NONE;
			goto out;
		}
	}
	if (t.err) {
		set_err(err, l->lineno, "%s", t.err);
		l->refused = true;
		goto out;
	}
	if (l->nfields == 0)
		goto out;
	r = line_type(l, err);
	if (r == 0)
		r = check_rule(l, o, err);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		l->refused = true;
		r = 0;
	}
out:
	if (l->refused)
		l->type = HBA_NONE;
	free(t.err);
	return r;
}

int hba_parse_ex(const char *text, size_t len, const struct hba_parse_opts *o, struct hba_file *ret,
		 struct hba_error **ret_errs, size_t *ret_nerrs)
{
	static const struct hba_parse_opts defaults = { 0 };
	struct hba_file f = { 0 };
	struct reader rd = { text, len, 0, 1024 };
	struct buf content = { 0 };
	struct hba_error *errs = NULL;
	size_t nerrs = 0, rules = 0;
	int lineno = 1, cont, r;

	if (!o)
		o = &defaults;
	if (ret_errs)
		*ret_errs = NULL;
	if (ret_nerrs)
		*ret_nerrs = 0;
	f.text = malloc(len + 1);
	if (!f.text)
		return -ENOMEM;
	memcpy(f.text, text, len);
	f.text[len] = '\0';
	f.len = len;
	for (;;) {
		size_t start = rd.pos;
		struct hba_line *v, *l;
		struct hba_error e = { 0 };

		if ((r = next_logical(&rd, &content, &cont)) < 0)
			goto out;
		if (r == 0)
			break;
		v = realloc(f.lines, (f.nlines + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		f.lines = v;
		l = &f.lines[f.nlines++];
		memset(l, 0, sizeof(*l));
		l->off = start;
		l->len = rd.pos - start;
		l->lineno = lineno;
		l->db = l->user = l->addr = l->mask = l->method = -1;
		lineno += cont + 1;
		if ((r = parse_logical(l, content.p, o, &e)) < 0)
			goto out;
		if (l->refused) {
			struct hba_error *ev = realloc(errs, (nerrs + 1) * sizeof(*ev));

			if (!ev) {
				r = -ENOMEM;
				goto out;
			}
			errs = ev;
			errs[nerrs++] = e;
		} else if (l->type != HBA_NONE) {
			rules++;
		}
		if (rd.pos >= rd.len)
			break;
	}
	/* load_hba(): a file without a rule lets nobody in */
	if (nerrs == 0 && rules == 0) {
		if (!(errs = calloc(1, sizeof(*errs)))) {
			r = -ENOMEM;
			goto out;
		}
		snprintf(errs[0].what, sizeof(errs[0].what), "configuration file contains no entries");
		nerrs = 1;
	}
	*ret = f;
	memset(&f, 0, sizeof(f));
	if (ret_errs) {
		*ret_errs = errs;
		errs = NULL;
	}
	if (ret_nerrs)
		*ret_nerrs = nerrs;
	r = 0;
out:
	free(errs);
	free(content.p);
	hba_file_free(&f);
	return r;
}

int hba_parse(const char *text, size_t len, struct hba_file *ret, struct hba_error *err)
{
	struct hba_error *errs = NULL;
	size_t nerrs = 0, i;
	int r;

	r = hba_parse_ex(text, len, NULL, ret, &errs, &nerrs);
	if (r < 0)
		return r;
	for (i = 0; i < nerrs; i++)
		if (errs[i].lineno > 0) {
			if (err)
				*err = errs[i];
			free(errs);
			hba_file_free(ret);
			return -EINVAL;
		}
	free(errs);
	return 0;
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

/* The line's address as a CIDR, read as the server reads it; false for
 * keywords, host names and masks that are not a prefix. */
static bool line_cidr(const struct hba_line *l, struct cidr *ret)
{
	const struct hba_token *a = &l->fields[l->addr].v[0];
	char *str;
	const char *slash;
	int r;

	if (is_keyword(a, "all") || is_keyword(a, "samehost") || is_keyword(a, "samenet"))
		return false;
	if (!(str = strdup(a->text)))
		return false;
	slash = strchr(a->text, '/');
	if (slash)
		str[slash - a->text] = '\0';
	r = numeric_addr(str, ret);
	free(str);
	if (r != 0)
		return false;
	if (slash) {
		ret->prefix = cidr_bits(slash + 1, ret->family);
		return ret->prefix >= 0;
	}
	if (l->mask >= 0) {
		struct cidr m;

		if (numeric_addr(l->fields[l->mask].v[0].text, &m) != 0 || m.family != ret->family)
			return false;
		ret->prefix = mask_prefix(&m);
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
/* Would PostgreSQL 15 load the one line TEXT[0..LEN)? */
static bool line_loads(const char *text, size_t len)
{
	static const struct hba_parse_opts o15 = { .version = 15 };
	struct hba_file f;
	size_t n = 0;
	int r = hba_parse_ex(text, len, &o15, &f, NULL, &n);

	if (r < 0)
		return false;
	hba_file_free(&f);
	return n == 0;
}

static int put_line(struct buf *b, const struct hba_line *l, const char *user, const struct cidr *net,
		    bool repl_only)
{
	struct hba_field db = { 0 };
	struct hba_token *dv;
	size_t i, start = b->len, rule;
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
	rule = b->len;
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
	if (buf_add(b, "\n", 1) < 0)
		return -ENOMEM;
	/* Never copy what the server would refuse as rewritten (a token
	 * quoted past the length limit, say): 2, nothing written. */
	if (!line_loads(b->p + rule, b->len - rule)) {
		b->len = start;
		b->p[b->len] = '\0';
		return 2;
	}
	return 1;
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
		if (r == 2)
			r = note(notes, l, "PostgreSQL would refuse it as rewritten", role);
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
		if (r == 2)
			r = note(notes, l, "PostgreSQL would refuse it as rewritten", who);
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
			if (r == 2 && (r = note(&notes, l, "PostgreSQL would refuse it as rewritten", "standbys")) < 0)
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
