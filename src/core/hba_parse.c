/* SPDX-License-Identifier: MIT */
/*
 * hba_parse.c -- PostgreSQL 15's verdict on pg_hba.conf (core; no I/O but
 * the getaddrinfo(AI_NUMERICHOST) the server itself calls, and the
 * caller's read_file and resolve).
 *
 * parse_hba_line() field by field, in the server's order and with its
 * messages: the connection type, database and role, the address and mask,
 * the method; each option goes to hba_opts.c.  hba_parse_ex reads the
 * lines (hba_token.c) and keeps each one's raw bytes for the writer.
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
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"
#include "hba_int.h"

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

/* parse_hba_line's method names; SUPPORTED: compiled into Debian's build. */
static const struct {
	const char *name;
	enum hba_method m;
	bool supported;
} methods[] = {
	{ "trust", M_TRUST, true }, { "ident", M_IDENT, true }, { "peer", M_PEER, true },
	{ "password", M_PASSWORD, true }, { "gss", M_GSS, true }, { "sspi", M_SSPI, false },
	{ "reject", M_REJECT, true }, { "md5", M_MD5, true }, { "scram-sha-256", M_SCRAM, true },
	{ "pam", M_PAM, true }, { "bsd", M_BSD, false }, { "ldap", M_LDAP, true },
	{ "cert", M_CERT, true }, { "radius", M_RADIUS, true },
};

int hba_numeric_addr(const char *s, struct cidr *ret)
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

int hba_cidr_bits(const char *bits, int family)
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

/* An include directive (PG16+): PostgreSQL 15 knows no such connection
 * type; with version 0 it takes one file name. */
static int check_include(const struct hba_line *l, const struct hba_parse_opts *o, struct hba_error *err)
{
	if (o->version == 15) {
		hba_set_err(err, l->lineno, "invalid connection type \"%s\"", l->fields[0].v[0].text);
		return -EINVAL;
	}
	if (l->nfields != 2 || l->fields[1].n != 1) {
		hba_set_err(err, l->lineno, "include needs exactly one file name");
		return -EINVAL;
	}
	return 0;
}

/* Field I holds one value: "end-of-line before EOL" when there is no such
 * field, "multiple values specified for MULTI" when it is a list.  0 or
 * -EINVAL. */
static int one_value(const struct hba_line *l, size_t i, const char *eol, const char *multi,
		     struct hba_error *err)
{
	if (i >= l->nfields) {
		hba_set_err(err, l->lineno, "end-of-line before %s", eol);
		return -EINVAL;
	}
	if (l->fields[i].n != 1) {
		hba_set_err(err, l->lineno, "multiple values specified for %s", multi);
		return -EINVAL;
	}
	return 0;
}

/* The netmask field at *I after a numeric address of FAMILY; sets
 * L->mask and moves *I past it.  0 or -EINVAL. */
static int check_mask(struct hba_line *l, size_t *i, int family, struct hba_error *err)
{
	const struct hba_token *mt;
	struct cidr mk;
	int r;

	if ((r = one_value(l, *i, "netmask specification", "netmask", err)) < 0)
		return r;
	mt = &l->fields[*i].v[0];
	if ((r = hba_numeric_addr(mt->text, &mk)) != 0) {
		hba_set_err(err, l->lineno, "invalid IP mask \"%s\": %s", mt->text, gai_strerror(r));
		return -EINVAL;
	}
	if (mk.family != family) {
		hba_set_err(err, l->lineno, "IP address and mask do not match");
		return -EINVAL;
	}
	l->mask = (int)(*i)++;
	return 0;
}

/* The address field at *I of a host line (and the netmask after a bare
 * numeric address); sets L->addr (L->mask) and moves *I past them.
 * 0, -EINVAL or -ENOMEM. */
static int check_addr(struct hba_line *l, size_t *i, struct hba_error *err)
{
	const struct hba_token *a;
	struct cidr c;
	char *str, *slash;
	int r;

	if ((r = one_value(l, *i, "IP address specification", "host address", err)) < 0)
		return r;
	l->addr = (int)(*i)++;
	a = &l->fields[l->addr].v[0];
	/* an @file the caller did not read: what the server will find there
	 * is unknown; the evaluator calls it a host name it cannot judge */
	if (!a->quoted && a->text[0] == '@' && a->text[1])
		return 0;
	if (hba_is_keyword(a, "all") || hba_is_keyword(a, "samehost") || hba_is_keyword(a, "samenet"))
		return 0;
	if (!(str = strdup(a->text)))
		return -ENOMEM;
	slash = strchr(str, '/');
	if (slash)
		*slash = '\0';
	r = hba_numeric_addr(str, &c);
	if (r != 0 && r != EAI_NONAME) {
		hba_set_err(err, l->lineno, "invalid IP address \"%s\": %s", str, gai_strerror(r));
		free(str);
		return -EINVAL;
	}
	free(str);
	if (slash) {
		if (r == EAI_NONAME) {
			hba_set_err(err, l->lineno, "specifying both host name and CIDR mask is invalid: \"%s\"",
				    a->text);
			return -EINVAL;
		}
		if (hba_cidr_bits(strchr(a->text, '/') + 1, c.family) < 0) {
			hba_set_err(err, l->lineno, "invalid CIDR mask in address \"%s\"", a->text);
			return -EINVAL;
		}
		return 0;
	}
	if (r == 0)
		return check_mask(l, i, c.family, err);
	return 0;                    /* a host name */
}

/* The method field at I: known, in this build, and allowed on this
 * connection type.  Sets L->method and *RET_M.  0 or -EINVAL. */
static int check_method(struct hba_line *l, size_t i, enum hba_method *ret_m, struct hba_error *err)
{
	const char *mname;
	enum hba_method m = M_NONE;
	bool supported = false;
	size_t j;
	int lineno = l->lineno;

	if (one_value(l, i, "authentication method", "authentication type", err) < 0)
		return -EINVAL;
	mname = l->fields[i].v[0].text;
	for (j = 0; j < sizeof(methods) / sizeof(methods[0]); j++)
		if (strcmp(mname, methods[j].name) == 0) {
			m = methods[j].m;
			supported = methods[j].supported;
		}
	if (m == M_NONE) {
		hba_set_err(err, lineno, "invalid authentication method \"%s\"", mname);
		return -EINVAL;
	}
	if (!supported) {
		hba_set_err(err, lineno, "invalid authentication method \"%s\": not supported by this build", mname);
		return -EINVAL;
	}
	if (l->type == HBA_LOCAL && m == M_IDENT)
		m = M_PEER;              /* ident on local means peer */
	if (l->type == HBA_LOCAL && m == M_GSS) {
		hba_set_err(err, lineno, "gssapi authentication is not supported on local sockets");
		return -EINVAL;
	}
	if (l->type != HBA_LOCAL && m == M_PEER) {
		hba_set_err(err, lineno, "peer authentication is only supported on local sockets");
		return -EINVAL;
	}
	if (l->type != HBA_HOSTSSL && m == M_CERT) {
		hba_set_err(err, lineno, "cert authentication is only supported on hostssl connections");
		return -EINVAL;
	}
	l->method = (int)i;
	*ret_m = m;
	return 0;
}

/* The name=value options from field I on, for method M, then the checks
 * that need all of them.  0 or -EINVAL. */
static int check_options(const struct hba_line *l, size_t i, enum hba_method m, const struct hba_parse_opts *o,
			 struct hba_error *err)
{
	struct hba_opts_seen seen = { .radiusservers = -1, .radiussecrets = -1, .radiusports = -1,
				      .radiusidentifiers = -1 };
	int lineno = l->lineno;
	size_t j;

	for (; i < l->nfields; i++)
		for (j = 0; j < l->fields[i].n; j++) {
			const char *t = l->fields[i].v[j].text, *eq = strchr(t, '=');
			char name[64];
			int r;

			if (!eq) {
				hba_set_err(err, lineno, "authentication option not in name=value format: %s", t);
				return -EINVAL;
			}
			if ((size_t)(eq - t) >= sizeof(name)) {
				hba_set_err(err, lineno, "unrecognized authentication option name: \"%.*s\"", (int)(eq - t), t);
				return -EINVAL;
			}
			memcpy(name, t, (size_t)(eq - t));
			name[eq - t] = '\0';
			if ((r = hba_auth_opt(name, eq + 1, l->type, m, &seen, o, lineno, err)) < 0)
				return r;
		}
	return hba_method_args(m, &seen, lineno, err);
}

/*
 * parse_hba_line(): check a rule's fields as PostgreSQL does, in its
 * order, with its messages; set L's indexes.  0, -EINVAL or -ENOMEM.
 */
static int check_rule(struct hba_line *l, const struct hba_parse_opts *o, struct hba_error *err)
{
	enum hba_method m;
	size_t i = 1;
	int r;

	l->db = l->user = l->addr = l->mask = l->method = -1;
	if (l->type >= HBA_INCLUDE)
		return check_include(l, o, err);
	if (i >= l->nfields) {
		hba_set_err(err, l->lineno, "end-of-line before database specification");
		return -EINVAL;
	}
	l->db = (int)i++;
	if (i >= l->nfields) {
		hba_set_err(err, l->lineno, "end-of-line before role specification");
		return -EINVAL;
	}
	l->user = (int)i++;
	if (l->type != HBA_LOCAL && (r = check_addr(l, &i, err)) < 0)
		return r;
	if ((r = check_method(l, i, &m, err)) < 0)
		return r;
	return check_options(l, i + 1, m, o, err);
}

/* The connection type of a line (parse_hba_line's first field). */
static int line_type(struct hba_line *l, struct hba_error *err)
{
	size_t i;

	if (l->fields[0].n != 1) {
		hba_set_err(err, l->lineno, "multiple values specified for connection type");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(conn_types) / sizeof(conn_types[0]); i++)
		if (strcmp(l->fields[0].v[0].text, conn_types[i].name) == 0)
			l->type = conn_types[i].type;
	if (l->type == HBA_NONE) {
		hba_set_err(err, l->lineno, "invalid connection type \"%s\"", l->fields[0].v[0].text);
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
	struct hba_tokctx t = { o, o->path, 0, NULL };
	int r;

	if ((r = hba_tokenize_line(&t, content, false, &l->fields, &l->nfields)) < 0)
		goto out;
	if (!t.err && o->read_file && has_include_token(l)) {
		struct hba_line x = *l;

		x.fields = NULL;
		x.nfields = 0;
		if ((r = hba_tokenize_line(&t, content, true, &x.fields, &x.nfields)) < 0) {
			hba_line_clear(&x);
			goto out;
		}
		if (!t.err && x.nfields > 0 && (line_type(&x, err) < 0 || (r = check_rule(&x, o, err)) < 0)) {
			hba_line_clear(&x);
			if (r == -ENOMEM)
				goto out;
			l->refused = true;
			r = 0;
			goto out;
		}
		hba_line_clear(&x);
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
		hba_set_err(err, l->lineno, "%s", t.err);
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
	struct hba_reader rd = HBA_READER_INIT(text, len);
	struct hba_buf content = { 0 };
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

		if ((r = hba_next_logical(&rd, &content, &cont)) < 0)
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
