/* SPDX-License-Identifier: MIT */
/*
 * hba_opts.c -- parse_hba_auth_opt() of PostgreSQL 15 (core; no I/O but
 * the getaddrinfo(AI_NUMERICHOST) the server calls on radiusservers, and
 * the caller's resolve for a name): which options each method takes,
 * their values (SplitGUCList lists, OpenLDAP's URL parser as far as a
 * person writes one), and the checks at the end of a line.  The build
 * assumptions are hba_parse.c's.  It does not tokenize or find the method.
 */
#include <netdb.h>
#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"
#include "hba_int.h"

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
		struct hba_buf item = { 0 };
		char **v;

		if (hba_buf_add(&item, "", 0) < 0)
			goto fail;
		if (*s == '"') {
			s++;
			for (;;) {
				const char *q = strchr(s, '"');

				if (!q) {
					free(item.p);
					goto fail;
				}
				if (hba_buf_add(&item, s, (size_t)(q - s)) < 0) {
					free(item.p);
					goto fail;
				}
				s = q + 1;
				if (*s != '"')
					break;
				if (hba_buf_add(&item, "\"", 1) < 0) {
					free(item.p);
					goto fail;
				}
				s++;
			}
		} else {
			const char *st = s;

			while (*s && *s != ',' && !is_space_guc(*s))
				s++;
			if (s == st || hba_buf_add(&item, st, (size_t)(s - st)) < 0) {
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

/* An LDAP URL's host[:port] or [v6]:port: a port of 0-65535 if any. */
static bool ldap_host_ok(const char *host)
{
	const char *port = NULL;
	char *end;
	long p;

	if (host[0] == '[') {
		const char *rb = strchr(host, ']');

		if (!rb)
			return false;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1])
			return false;
	} else if ((port = strchr(host, ':'))) {
		port++;
	}
	if (!port)
		return true;
	p = strtol(port, &end, 10);
	return !(end == port || *end || p < 0 || p > 65535);
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
	if (!ldap_host_ok(host)) {
		why = "Bad parameter to an ldap routine";
		goto out;
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

#define OPT_ERR(...)                                                                               \
	do {                                                                                       \
		hba_set_err(err, lineno, __VA_ARGS__);                                                 \
		return -EINVAL;                                                                    \
	} while (0)

static int only_for(const char *name, const char *methods_text, int lineno, struct hba_error *err)
{
	hba_set_err(err, lineno, "authentication option \"%s\" is only valid for authentication methods %s", name,
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
			hba_set_err(err, lineno, "invalid RADIUS port number: \"%s\"", val);
		else
			hba_set_err(err, lineno, "could not parse RADIUS %s list \"%s\"",
				strcmp(name, "radiusservers") == 0 ? "server" :
				strcmp(name, "radiussecrets") == 0 ? "secret" : "identifiers", val);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(name, "radiusports") == 0 && atoi(items[i]) == 0) {
			hba_set_err(err, lineno, "invalid RADIUS port number: \"%s\"", val);
			n = -1;
			break;
		}
		if (strcmp(name, "radiusservers") == 0) {
			int r = hba_numeric_addr(items[i], NULL);

			/* a name: the server resolves it when it loads the file */
			if (r != 0 && o->resolve)
				r = o->resolve(o->ctx, items[i]);
			else if (r != 0 && items[i][0])
				r = 0;
			if (r != 0) {
				hba_set_err(err, lineno, "could not translate RADIUS server name \"%s\" to address: %s",
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
int hba_auth_opt(const char *name, const char *val, enum hba_type type, enum hba_method m, struct hba_opts_seen *seen,
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
int hba_method_args(enum hba_method m, const struct hba_opts_seen *s, int lineno, struct hba_error *err)
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
