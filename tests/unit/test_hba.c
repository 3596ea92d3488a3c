/* SPDX-License-Identifier: MIT */
/*
 * test_hba.c -- unit tests for hba.h.
 *
 * A table of tricky files (quoted "all", +group, @file, continuation,
 * include_dir, CRLF, comments after fields, long lines, blank fields,
 * doubled quotes) checked token by token and written back byte for byte;
 * files PostgreSQL refuses, each with its line number; the evaluator on
 * first-match order, keywords versus quoted names, replication, address
 * masks and what it must call unknown; the lockdown file: parsed back,
 * and judged for the connections a DBA cares about.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/hba.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fields of one rule written as "type|db|user|addr|method": tokens joined
 * by ',' within a field, quoted tokens as "q:TEXT". */
static const struct {
	const char *name;
	const char *text;
	size_t nrules;
	const char *first;           /* first rule's fields, as above */
} good[] = {
	{ "plain", "local all all peer\n", 1, "local|all|all|peer" },
	{ "quoted all is a name", "local \"all\" all trust\n", 1, "local|q:all|all|trust" },
	{ "+group and @file", "host db +admins,@users.txt 10.0.0.0/8 md5\n", 1,
	  "host|db|+admins,@users.txt|10.0.0.0/8|md5" },
	{ "continuation", "host all \\\n  all 127.0.0.1/32 \\\n trust\n", 1, "host|all|all|127.0.0.1/32|trust" },
	{ "include_dir", "include_dir conf.d\nlocal all all peer\n", 2, "include_dir|conf.d" },
	{ "CRLF", "local all all peer\r\nhost all all ::1/128 trust\r\n", 2, "local|all|all|peer" },
	{ "comment after fields", "local all all peer # the admin\n", 1, "local|all|all|peer" },
	{ "quoted hash and comma", "local \"a#b,c\" all peer\n", 1, "local|q:a#b,c|all|peer" },
	{ "doubled quote", "local \"say \"\"hi\"\"\" all peer\n", 1, "local|q:say \"hi\"|all|peer" },
	{ "list with blanks after commas", "host a, b all 10.0.0.1 255.255.255.255 md5\n", 1,
	  "host|a,b|all|10.0.0.1|255.255.255.255|md5" },
	{ "comments and blank lines only", "# nothing\n\n   \n\t# x\n", 0, NULL },
	{ "no final newline", "local all all peer", 1, "local|all|all|peer" },
	{ "options", "host all all all ldap ldapserver=x \"ldapprefix=cn=\" ldapsuffix=y\n", 1,
	  "host|all|all|all|ldap|ldapserver=x|q:ldapprefix=cn=|ldapsuffix=y" },
	{ "host name", "hostssl all all db.example.com scram-sha-256 clientcert=verify-full\n", 1,
	  "hostssl|all|all|db.example.com|scram-sha-256|clientcert=verify-full" },
	{ "regex user", "local all /^app_.*$ peer\n", 1, "local|all|/^app_.*$|peer" },
	{ "quoted keyword type", "\"local\" all all peer\n", 1, "q:local|all|all|peer" },
	{ "tabs", "local\tall\tall\t\tpeer\n", 1, "local|all|all|peer" },
	{ "backslash in a comment continues", "local all all peer # c \\\n more\n", 1, "local|all|all|peer" },
	{ "empty quoted", "local \"\" all peer\n", 1, "local|q:|all|peer" },
};

static void fields_text(const struct hba_line *l, char *out, size_t len)
{
	size_t i, j, o = 0;

	out[0] = '\0';
	for (i = 0; i < l->nfields; i++)
		for (j = 0; j < l->fields[i].n; j++) {
			const struct hba_token *t = &l->fields[i].v[j];
			o += (size_t)snprintf(out + o, len - o, "%s%s%s", i || j ? (j ? "," : "|") : "",
					      t->quoted ? "q:" : "", t->text);
		}
}

static void test_good(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		struct hba_file f;
		struct hba_error e;
		size_t k, rules = 0, wlen;
		char *w, got[512];
		const struct hba_line *first = NULL;

		if (hba_parse(good[i].text, strlen(good[i].text), &f, &e) != 0)
			fail_msg("%s: refused at line %d: %s", good[i].name, e.lineno, e.what);
		for (k = 0; k < f.nlines; k++)
			if (f.lines[k].type != HBA_NONE) {
				if (!first)
					first = &f.lines[k];
				rules++;
			}
		if (rules != good[i].nrules)
			fail_msg("%s: %zu rules, want %zu", good[i].name, rules, good[i].nrules);
		if (good[i].first) {
			fields_text(first, got, sizeof(got));
			if (strcmp(got, good[i].first) != 0)
				fail_msg("%s: got '%s', want '%s'", good[i].name, got, good[i].first);
		}
		assert_int_equal(hba_write(&f, &w, &wlen), 0);
		if (wlen != strlen(good[i].text) || memcmp(w, good[i].text, wlen) != 0)
			fail_msg("%s: not written back byte for byte", good[i].name);
		free(w);
		hba_file_free(&f);
	}
}

static void test_line_numbers(void **state)
{
	const char *text = "# c\nlocal all \\\nall peer\n\nhost all all ::1/128 trust\n";
	struct hba_file f;
	size_t k;
	int want[] = { 2, 5 }, n = 0;

	(void)state;
	assert_int_equal(hba_parse(text, strlen(text), &f, NULL), 0);
	for (k = 0; k < f.nlines; k++)
		if (f.lines[k].type != HBA_NONE)
			assert_int_equal(f.lines[k].lineno, want[n++]);
	assert_int_equal(n, 2);
	hba_file_free(&f);
}

static void test_long_line(void **state)
{
	size_t n = 200000, i, wlen;
	char *text = malloc(n + 64), *w;
	struct hba_file f;
	struct hba_error e;
	size_t o = 0;

	(void)state;
	o += (size_t)sprintf(text, "local ");
	for (i = 0; o < n; i++)
		o += (size_t)sprintf(text + o, "db%zu,", i);
	o += (size_t)sprintf(text + o, "x all peer\n");
	assert_int_equal(hba_parse(text, o, &f, &e), 0);
	assert_true(f.lines[0].fields[1].n > 10000);
	assert_int_equal(hba_write(&f, &w, &wlen), 0);
	assert_int_equal(wlen, o);
	assert_memory_equal(w, text, o);
	free(w);
	hba_file_free(&f);

	/* a single token past PostgreSQL's limit is refused, not truncated */
	o = (size_t)sprintf(text, "local ");
	memset(text + o, 'a', HBA_MAX_TOKEN + 10);
	o += HBA_MAX_TOKEN + 10;
	o += (size_t)sprintf(text + o, " all peer\n");
	assert_int_equal(hba_parse(text, o, &f, &e), -EINVAL);
	assert_int_equal(e.lineno, 1);
	free(text);
}

static const struct {
	const char *text;
	int lineno;
	const char *what;            /* a substring of the message */
} bad[] = {
	{ "local all all peer\nlocla all all peer\n", 2, "invalid connection type" },
	/* an unterminated quote runs to the end of the line */
	{ "local \"all all peer\n", 1, "end-of-line before role" },
	{ "local all\n", 1, "end-of-line before role" },
	{ "local\n", 1, "before database" },
	{ "host all all md5\n", 1, "before authentication method" },   /* md5 is read as a host name */
	{ "host all all 10.0.0.1 md5\n", 1, "invalid IP mask" },
	{ "host all all 10.0.0.0/33 md5\n", 1, "invalid CIDR mask in address" },
	{ "host all all 10.0.0.0/8\n", 1, "before authentication method" },
	{ "host all all 10.0.0.0/8 trust,reject\n", 1, "multiple values" },
	{ "local all all trustt\n", 1, "invalid authentication method" },
	{ "host all all 10.0.0.0/8 peer\n", 1, "only supported on local" },
	{ "local,host all all peer\n", 1, "multiple values specified for connection type" },
	{ "local all all ldap ldapserver\n", 1, "name=value" },
	{ "host all all 10.0.0.1 ffff:: md5\n", 1, "do not match" },
	{ "include\n", 1, "exactly one" },
	{ "\n\nlocal \\\n\"open all peer\n", 3, "end-of-line before role" },
};

static void test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hba_file f;
		struct hba_error e;

		if (hba_parse(bad[i].text, strlen(bad[i].text), &f, &e) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i].text);
		if (e.lineno != bad[i].lineno || !strstr(e.what, bad[i].what))
			fail_msg("case %zu: line %d '%s', want line %d '%s'", i, e.lineno, e.what,
				 bad[i].lineno, bad[i].what);
	}
	{
		struct hba_file f;
		struct hba_error e;
		const char nul[] = "local all all peer\nlocal a\0l all peer\n";
		assert_int_equal(hba_parse(nul, sizeof(nul) - 1, &f, &e), -EINVAL);
		assert_int_equal(e.lineno, 2);
	}
}

/* The kinds the differential test found where the old parser and
 * PostgreSQL 15 disagreed, each judged as PostgreSQL 15 does. */
static const struct {
	const char *text;
	const char *what;            /* NULL: loads; else a substring of the message */
} kinds[] = {
	/* accepted by the old parser, refused by the server */
	{ "host all all 10.0.0.0/8 bsd\n", "not supported by this build" },
	{ "host all all 10.0.0.0/8 sspi\n", "not supported by this build" },
	{ "local all all gss\n", "gssapi authentication is not supported on local sockets" },
	{ "host all all 10.0.0.0/8 cert\n", "only supported on hostssl" },
	{ "hostssl all all all cert clientcert=verify-ca\n", "verify-full" },
	{ "host all all all md5 frobnicate=1\n", "unrecognized authentication option name" },
	{ "host all all all md5 map=m\n", "\"map\" is only valid" },
	{ "host all all all ldap ldapserver=h\n", "requires argument \"ldapbasedn\"" },
	{ "host all all all radius radiussecrets=s\n", "requires argument \"radiusservers\"" },
	{ "host all all all radius radiusservers=127.0.0.1\n", "requires argument \"radiussecrets\"" },
	{ "host all all all ldap ldapbasedn=x ldapport=abc\n", "invalid LDAP port number" },
	{ "host all all all md5 clientcert=verify-full\n", "only be configured for \"hostssl\"" },
	{ "hostssl all all all md5 clientcert=1\n", "invalid value for clientcert" },
	{ "host all all all radius radiusservers=127.0.0.1 radiussecrets=s radiusports=x\n", "RADIUS port" },
	{ "host all all 127.1 md5\n", "invalid IP mask \"md5\"" },        /* 127.1 is an address */
	{ "host all all 1234 md5\n", "invalid IP mask" },
	{ "include conf.d/x.conf\n", "invalid connection type \"include\"" },
	{ "# nothing\n", "contains no entries" },
	{ "", "contains no entries" },
	{ "host all all all ldap ldapbasedn=x ldapprefix=y\n", "cannot use ldapbasedn" },
	{ "host all all all ldap ldapurl=ldapi://x/\n", "unsupported LDAP URL scheme" },
	{ "host all all db.example.com/8 md5\n", "both host name and CIDR mask" },
	/* refused by the old parser, loaded by the server */
	{ "local \"all all peer\nlocal all all peer\n", "end-of-line before role" },   /* line 1 only */
	{ "local all all peer # a\0b\nlocal all all peer\n", NULL },  /* NUL: the rest of the line is cut */
	{ "host all all 127.1/32 md5\n", NULL },
	{ "host all all 0/0 md5\n", NULL },
	{ "host all all 010.0.0.1/8 md5\n", NULL },
	{ "host all all 0x0a000001/8 md5\n", NULL },
	{ "host all all 10.0.0.0/+8 md5\n", NULL },
	{ "host all all 10.0.0.1 255.255.255 md5\n", NULL },
	{ "host all all 10.0.0.1 0xffffff00 md5\n", NULL },
	{ "host all all 10.0.0.1 8 md5\n", NULL },
	{ "host all all fe80::1%lo ffff:: md5\n", NULL },
	{ "host all all 10.0.0.1 255.0.255.0 md5\n", NULL },           /* any mask, contiguous or not */
	{ "host all all all ldap ldapprefix=cn= ldapsuffix=x\n", NULL },
	{ "host all all all ldap ldapurl=ldap://h/dc=x?uid?sub\n", NULL },
	/* OpenLDAP takes port 0 (the default port); only < 0 or > 65535 fail */
	{ "host all all all ldap ldapurl=ldap://h:0/x\n", NULL },
	{ "host all all all ldap ldapurl=ldap://h:65536/x\n", "Bad parameter to an ldap routine" },
	{ "host all all all radius \"radiusservers=127.0.0.1,::1\" radiussecrets=s radiusports=1812\n", NULL },
	{ "hostssl all all all scram-sha-256 clientcert=verify-ca clientname=DN\n", NULL },
	{ "local all all ident map=m\n", NULL },                        /* ident on local is peer */
	{ "hostgssenc all all all gss include_realm=0 krb_realm=X\n", NULL },
	{ "host all all all ldap ldapbasedn=x ldapscheme=nonsense\n", NULL },   /* only logged */
};

static void test_kinds(void **state)
{
	const struct hba_parse_opts o15 = { .version = 15 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t len = strlen(kinds[i].text);
		struct hba_file f;
		struct hba_error *errs = NULL;
		size_t n = 0;

		if (strstr(kinds[i].text, "# a"))
			len += strlen(kinds[i].text + len + 1) + 1;     /* past the NUL */
		assert_int_equal(hba_parse_ex(kinds[i].text, len, &o15, &f, &errs, &n), 0);
		if (!kinds[i].what && n)
			fail_msg("kind %zu refused: line %d: %s", i, errs[0].lineno, errs[0].what);
		if (kinds[i].what && (n != 1 || !strstr(errs[0].what, kinds[i].what)))
			fail_msg("kind %zu: %zu errors, first '%s', want '%s'", i, n, n ? errs[0].what : "",
				 kinds[i].what);
		free(errs);
		hba_file_free(&f);
	}
}

/* next_token's check: before every character it takes, fail when 10239
 * bytes are stored; a blank or the end of the line takes none. */
static void test_token_limit(void **state)
{
	const struct hba_parse_opts o15 = { .version = 15 };
	const struct {
		size_t n;
		const char *pre, *post;
		bool loads;
	} t[] = {
		{ 10239, "local ", " all peer\n", true },
		{ 10240, "local ", " all peer\n", false },
		{ 10239, "local ", ",x all peer\n", false },
		{ 10238, "local ", ",x all peer\n", true },
		{ 10238, "local \"", "\" all peer\n", true },
		{ 10239, "local \"", "\" all peer\n", false },
		{ 10239, "local all all peer ", "#c\n", false },   /* no limit, but not name=value */
		{ 10235, "local all all peer map=", "\n", true },      /* map= counts */
		{ 10236, "local all all peer map=", "\n", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t pl = strlen(t[i].pre), n = t[i].n, len = pl + n + strlen(t[i].post);
		char *text = malloc(len + 1);
		struct hba_file f;
		size_t nerr = 0;

		memcpy(text, t[i].pre, pl);
		memset(text + pl, 'a', n);
		strcpy(text + pl + n, t[i].post);
		assert_int_equal(hba_parse_ex(text, len, &o15, &f, NULL, &nerr), 0);
		if ((nerr == 0) != t[i].loads)
			fail_msg("case %zu: %s", i, nerr ? "refused" : "loaded");
		hba_file_free(&f);
		free(text);
	}
}

static enum hba_verdict eval(const char *text, const struct hba_conn *c, int *line)
{
	struct hba_file f;
	enum hba_verdict v;

	assert_int_equal(hba_parse(text, strlen(text), &f, NULL), 0);
	v = hba_eval(&f, c, line);
	hba_file_free(&f);
	return v;
}

static void test_eval(void **state)
{
	const struct hba_conn tcp_app = { false, "10.1.2.3", "app", "shop", false, 0 };
	const struct hba_conn tcp6 = { false, "fd00::5", "app", "shop", false, 0 };
	const struct hba_conn local_pg = { true, NULL, "postgres", "postgres", false, -1 };
	const struct hba_conn repl = { false, "10.1.2.3", "rep", "replication", true, 0 };
	int line;

	(void)state;
	assert_int_equal(eval("host all all 10.0.0.0/8 md5\n", &tcp_app, &line), HBA_ALLOW);
	assert_int_equal(line, 0);
	assert_int_equal(eval("host all all 11.0.0.0/8 md5\n", &tcp_app, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host all all 10.1.2.3 255.255.255.255 reject\nhost all all all trust\n",
			      &tcp_app, &line), HBA_REJECT);
	assert_int_equal(line, 0);
	/* first match wins: the reject below the trust never applies */
	assert_int_equal(eval("host all all all trust\nhost all all all reject\n", &tcp_app, NULL), HBA_ALLOW);
	/* "all" quoted is a database named all */
	assert_int_equal(eval("host \"all\" all all trust\n", &tcp_app, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host shop \"app\" all trust\n", &tcp_app, NULL), HBA_ALLOW);
	/* v4 rules do not match v6 clients */
	assert_int_equal(eval("host all all 0.0.0.0/0 trust\n", &tcp6, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host all all ::/0 trust\n", &tcp6, NULL), HBA_ALLOW);
	/* local lines are for Unix sockets only */
	assert_int_equal(eval("local all all peer\n", &tcp_app, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host all all all trust\nlocal all postgres peer\n", &local_pg, &line), HBA_ALLOW);
	assert_int_equal(line, 1);
	/* physical replication matches only the replication keyword */
	assert_int_equal(eval("host all all all trust\n", &repl, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host replication all all trust\n", &repl, NULL), HBA_ALLOW);
	assert_int_equal(eval("host replication all all trust\n", &tcp_app, NULL), HBA_NO_ENTRY);
	/* sameuser */
	{
		const struct hba_conn same = { false, "10.1.2.3", "shop", "shop", false, 0 };
		assert_int_equal(eval("host sameuser all all trust\n", &same, NULL), HBA_ALLOW);
		assert_int_equal(eval("host sameuser all all trust\n", &tcp_app, NULL), HBA_NO_ENTRY);
	}
	/* what pgevict cannot see: unknown, unless both sides agree */
	assert_int_equal(eval("host all +admins all trust\nhost all all all reject\n", &tcp_app, NULL),
			 HBA_UNKNOWN);
	assert_int_equal(eval("host all +admins all reject\nhost all all all reject\n", &tcp_app, NULL),
			 HBA_REJECT);
	assert_int_equal(eval("host all @users all trust\n", &tcp_app, NULL), HBA_UNKNOWN);
	assert_int_equal(eval("host all \"+admins\" all trust\n", &tcp_app, NULL), HBA_NO_ENTRY);
	assert_int_equal(eval("host all all db.example.com trust\nhost all all all reject\n", &tcp_app, NULL),
			 HBA_UNKNOWN);
	assert_int_equal(eval("hostssl all all all trust\nhost all all all reject\n", &tcp_app, NULL),
			 HBA_REJECT);    /* ssl = 0: hostssl does not match */
	assert_int_equal(eval("include_dir conf.d\nhost all all all reject\n", &tcp_app, NULL), HBA_UNKNOWN);
}

static struct hba_file *lockdown(const char *orig, struct hba_lockdown_opts *o, char **notes)
{
	struct hba_file f, *out = malloc(sizeof(*out));
	struct hba_error e;
	char *text;
	int r;

	assert_non_null(out);
	if (orig)
		assert_int_equal(hba_parse(orig, strlen(orig), &f, NULL), 0);
	r = hba_lockdown(orig ? &f : NULL, o, &text, notes);
	assert_int_equal(r, 0);
	if (hba_parse(text, strlen(text), out, &e) != 0)
		fail_msg("lockdown file does not parse: line %d: %s\n%s", e.lineno, e.what, text);
	free(text);
	if (orig)
		hba_file_free(&f);
	return out;
}

static void free_file(struct hba_file *f)
{
	hba_file_free(f);
	free(f);
}

static const char debian[] =
	"# Database administrative login by Unix domain socket\n"
	"local   all             postgres                                peer\n"
	"local   all             all                                     peer\n"
	"host    all             app             10.1.0.0/16             scram-sha-256\n"
	"host    all             app             10.9.0.0/16             reject\n"
	"host    all             all             10.0.0.0/8              scram-sha-256\n"
	"host    all             all             ::1/128                 scram-sha-256\n"
	"host    all             +admins         192.168.0.0/16          md5\n"
	"host    all             all             db.example.com          md5\n"
	"local   replication     all                                     peer\n"
	"host    replication     rep             10.2.0.0/16             scram-sha-256\n";

static void test_lockdown_default(void **state)
{
	struct hba_lockdown_opts o = { .owner = "postgres" };
	const struct hba_conn owner = { true, NULL, "postgres", "shop", false, -1 };
	const struct hba_conn other_local = { true, NULL, "app", "shop", false, -1 };
	const struct hba_conn tcp_pg = { false, "127.0.0.1", "postgres", "postgres", false, 0 };
	const struct hba_conn tcp6 = { false, "::1", "app", "shop", false, 0 };
	const struct hba_conn standby = { false, "10.2.0.9", "rep", "replication", true, 0 };
	const struct hba_conn standby_other = { false, "10.3.0.9", "rep", "replication", true, 0 };
	struct hba_file *f;
	char *notes;

	(void)state;
	f = lockdown(debian, &o, &notes);
	assert_int_equal(hba_eval(f, &owner, NULL), HBA_ALLOW);
	assert_int_equal(hba_eval(f, &other_local, NULL), HBA_REJECT);
	assert_int_equal(hba_eval(f, &tcp_pg, NULL), HBA_REJECT);
	assert_int_equal(hba_eval(f, &tcp6, NULL), HBA_REJECT);
	/* standbys keep streaming by default, and only where they could */
	assert_int_equal(hba_eval(f, &standby, NULL), HBA_ALLOW);
	assert_int_equal(hba_eval(f, &standby_other, NULL), HBA_REJECT);
	free(notes);
	free_file(f);

	o.total = true;
	f = lockdown(debian, &o, &notes);
	assert_int_equal(hba_eval(f, &owner, NULL), HBA_REJECT);
	assert_int_equal(hba_eval(f, &standby, NULL), HBA_REJECT);
	free(notes);
	free_file(f);

	/* no original needed without --allow-* */
	o.total = false;
	f = lockdown(NULL, &o, &notes);
	assert_int_equal(hba_eval(f, &owner, NULL), HBA_ALLOW);
	assert_int_equal(hba_eval(f, &tcp_pg, NULL), HBA_REJECT);
	free(notes);
	free_file(f);
}

static void test_lockdown_allow(void **state)
{
	const char *roles[] = { "app" };
	struct cidr nets[1];
	struct hba_lockdown_opts o = { .owner = "postgres", .roles = roles, .nroles = 1 };
	const struct hba_conn app_ok = { false, "10.1.2.3", "app", "shop", false, 0 };
	const struct hba_conn app_wide = { false, "10.200.0.1", "app", "shop", false, 0 };
	const struct hba_conn app_refused = { false, "10.9.0.1", "app", "shop", false, 0 };
	const struct hba_conn bob = { false, "10.1.2.3", "bob", "shop", false, 0 };
	const struct hba_conn bob_net = { false, "10.50.1.1", "bob", "shop", false, 0 };
	const struct hba_conn bob_out = { false, "10.51.1.1", "bob", "shop", false, 0 };
	struct hba_file *f;
	char *notes;

	(void)state;
	f = lockdown(debian, &o, &notes);
	assert_int_equal(hba_eval(f, &app_ok, NULL), HBA_ALLOW);
	assert_int_equal(hba_eval(f, &app_wide, NULL), HBA_ALLOW);     /* via the "all" line */
	assert_int_equal(hba_eval(f, &app_refused, NULL), HBA_REJECT); /* the original's reject kept */
	assert_int_equal(hba_eval(f, &bob, NULL), HBA_REJECT);
	/* +admins cannot be judged for app: dropped, and said so; the host
	 * name line is kept for app as it was */
	assert_non_null(strstr(notes, "line 8"));
	assert_null(strstr(notes, "line 9"));
	free(notes);
	free_file(f);

	assert_int_equal(cidr_parse("10.50.0.0/16", &nets[0]), 0);
	o.roles = NULL;
	o.nroles = 0;
	o.hosts = nets;
	o.nhosts = 1;
	f = lockdown(debian, &o, &notes);
	assert_int_equal(hba_eval(f, &bob_net, NULL), HBA_ALLOW);      /* 10.0.0.0/8 narrowed */
	assert_int_equal(hba_eval(f, &bob_out, NULL), HBA_REJECT);
	assert_int_equal(hba_eval(f, &app_ok, NULL), HBA_REJECT);
	free(notes);
	free_file(f);
}

static void test_lockdown_names(void **state)
{
	const char *roles[] = { "all" };
	struct hba_lockdown_opts o = { .owner = "all", .roles = roles, .nroles = 1 };
	const char *orig = "host all all 10.0.0.0/8 md5\n";
	const struct hba_conn named_all = { false, "10.0.0.1", "all", "x", false, 0 };
	const struct hba_conn other = { false, "10.0.0.1", "bob", "x", false, 0 };
	struct hba_file *f, src;
	char *text, *notes;

	(void)state;
	/* an owner or role literally named "all" is quoted, never a keyword */
	f = lockdown(orig, &o, &notes);
	assert_int_equal(hba_eval(f, &named_all, NULL), HBA_ALLOW);
	assert_int_equal(hba_eval(f, &other, NULL), HBA_REJECT);
	free(notes);
	free_file(f);

	/* a name no line can hold is refused */
	assert_int_equal(hba_parse(orig, strlen(orig), &src, NULL), 0);
	roles[0] = "evil\nhost all all all trust";
	assert_int_equal(hba_lockdown(&src, &o, &text, &notes), -EINVAL);
	o.owner = "";
	o.nroles = 0;
	assert_int_equal(hba_lockdown(&src, &o, &text, &notes), -EINVAL);
	hba_file_free(&src);
}

/* A kept line that PostgreSQL would refuse as rewritten (an option with a
 * backslash gets quoted, and the closing quote comes after 10239 bytes)
 * is dropped, with a note, not written. */
static void test_lockdown_drops_refused(void **state)
{
	const char *roles[] = { "app" };
	struct hba_lockdown_opts o = { .owner = "postgres", .roles = roles, .nroles = 1 };
	size_t n = 10239;
	char *orig = malloc(n + 64), *text, *notes;
	struct hba_file f, *out;
	const struct hba_conn app = { true, NULL, "app", "x", false, -1 };
	int k;

	(void)state;
	k = sprintf(orig, "local all all peer map=");
	memset(orig + k, 'a', n - 4);
	orig[k + 1] = '\\';
	strcpy(orig + k + n - 4, "\n");
	assert_int_equal(hba_parse(orig, strlen(orig), &f, NULL), 0);
	assert_int_equal(hba_lockdown(&f, &o, &text, &notes), 0);
	assert_non_null(strstr(notes, "line 1 not kept for app: PostgreSQL would refuse it as rewritten"));
	free(text);
	free(notes);
	hba_file_free(&f);
	out = lockdown(orig, &o, &notes);
	assert_int_equal(hba_eval(out, &app, NULL), HBA_REJECT);
	free(notes);
	free_file(out);
	free(orig);
}

static void test_quote_roundtrip(void **state)
{
	const char *names[] = { "plain", "with space", "a,b", "#x", "say \"hi\"", "", "tail\\", "+x" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct hba_token t = { (char *)names[i], true };
		char *q = hba_quote(&t), line[256];
		struct hba_file f;

		snprintf(line, sizeof(line), "local %s all peer\n", q);
		assert_int_equal(hba_parse(line, strlen(line), &f, NULL), 0);
		assert_string_equal(f.lines[0].fields[1].v[0].text, names[i]);
		assert_true(f.lines[0].fields[1].v[0].quoted);
		hba_file_free(&f);
		free(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_token_limit),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_lockdown_default),
		cmocka_unit_test(test_lockdown_allow),
		cmocka_unit_test(test_lockdown_names),
		cmocka_unit_test(test_lockdown_drops_refused),
		cmocka_unit_test(test_quote_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
