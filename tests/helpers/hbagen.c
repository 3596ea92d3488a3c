/* SPDX-License-Identifier: MIT */
/*
 * hbagen.c -- test helper: pg_hba.conf files for the differential test
 * (tests/integration/hba_diff.bats), seeded and deterministic.
 *
 *   hbagen -s SEED -n N -d DIR     writes DIR/f00000.conf ... and the
 *                                  @files they name, in DIR/inc
 *
 * Four families, in turn: realistic (a Debian-like file: comments, local
 * and host lines, methods with the options they take, lists, quoting,
 * continuations, now and then one wrong option or field), targeted (one
 * or two lines drawn from tables of awkward tokens for every field:
 * address forms inet_aton takes, masks, methods this build lacks,
 * options with the wrong method or value, ldap and radius rules),
 * boundary (tokens around the 10239-byte limit followed by a blank, a
 * comma, a quote or a '#'; long lines; CRLF; a backslash at the end of
 * the file; empty and comment-only files) and mutated (a realistic file
 * with bytes inserted, deleted or changed: NUL, quote, comma, '#',
 * backslash, newline, CR; or lines swapped, fields dropped).  ASCII only,
 * so the server can show every line as text.  @files are named by
 * absolute path, so the server and `pgevict hba check` read the same.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static size_t pick(size_t n)
{
	return rnd() % n;
}

static bool chance(int percent)
{
	return (int)(rnd() % 100) < percent;
}

#define PICK(a) (a[pick(sizeof(a) / sizeof(a[0]))])

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		if (!o->p) {
			perror("hbagen");
			exit(1);
		}
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static char inc[4096];          /* DIR/inc, absolute */

static const char *const types_ok[] = { "local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc" };
static const char *const types_odd[] = { "\"local\"", "\"host\"", "loc", "hostSSL", "include", "include_dir",
					 "include_if_exists", "local,host", "host,", "\"\"", "hostgss" };
static const char *const dbs[] = { "all", "sameuser", "samerole", "samegroup", "replication", "\"all\"",
				   "shop", "db1,db2", "\"a b\"", "\"replication\"", "all,replication", "+x",
				   "\"\"", "shop,", ",shop", "a\"b\"c", "@", "\"@dbs\"" };
static const char *const dbs_ok[] = { "all", "sameuser", "samerole", "replication", "shop", "db1,db2",
				      "\"a b\"", "all,replication", "\"all\"", "+x" };
static const char *const users_ok[] = { "all", "postgres", "app", "+admins", "\"x,y\"", "app,bob", "/^app" };
static const char *const users[] = { "all", "postgres", "app", "+admins", "\"+admins\"", "\"x,y\"", "app,bob",
				     "\"all\"", "/^app", "bob", "\"sameuser\"", "\"\"" };
static const char *const addrs_cidr[] = { "127.0.0.1/32", "10.0.0.0/8", "::1/128", "fe80::/10", "0.0.0.0/0",
					  "::/0", "192.168.0.0/16", "10.1.0.0/16", "fd00::/8" };
static const char *const addrs_odd[] = {
	"127.1/32", "0/0", "010.0.0.1/8", "0x0a000001/8", "10.0.0.0/+8", "\"10.0.0.0/ 8\"", "10.0.0.0/33",
	"::1/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x", "db.example.com", ".example.com",
	"db.example.com/8", "samehost", "samenet", "all", "\"all\"", "\"samehost\"", "fe80::1%lo/64",
	"fe80::1%nosuchif/64", "1.2.3.4.5/8", "256.1.1.1/8", "10.0.0.0/08", "10.0.0.0/8/8", "/8", "::ffff:1.2.3.4/96",
	"1.2.3.4,5.6.7.8", "\"\"", "::1/0128", "10.0.0.1/32 ", "0x7f.1/32", "017700000001/32", "1.2.3/24", "[::1]/128",
	"10.0.0.0/ 8", "fe80::1%1/64", "-1/8", "4294967295/32", "4294967296/32",
};
static const char *const addrs_masked[] = { "127.1", "1234", "10.0.0.1", "::1", "127.0.0.1", "0x7f000001",
					    "fe80::1%lo", "10.0.0.0", "0", "1.2.3.4.5" };
static const char *const masks[] = { "255.255.255.255", "255.255.255", "0xffffff00", "8", "255.0.255.0",
				      "ffff:ffff::", "255.255.255.0", "garbage", "0", "ffff:ffff:ffff:ffff::",
				      "255.255.255.0,255.0.0.0", "\"255.0.0.0\"", "-1", "4294967295" };
static const char *const methods_ok[] = { "trust", "reject", "md5", "password", "scram-sha-256", "ident" };
static const char *const methods_odd[] = { "gss", "sspi", "peer", "pam", "ldap", "radius", "cert", "bsd",
					   "\"trust\"", "trustt", "MD5", "trust,reject", "\"\"", "ident" };

/* Options, each with the methods and connection type it wants. */
static const char *const options[] = {
	"map=m", "clientcert=verify-full", "clientcert=verify-ca", "clientcert=1", "clientcert=no-verify",
	"clientname=CN", "clientname=DN", "clientname=cn", "pamservice=postgresql", "pam_use_hostname=1",
	"ldapserver=ldap.example.com", "ldapport=389", "ldapport=abc", "ldapport=0", "ldapport=12x",
	"ldapbasedn=dc=example,dc=net", "\"ldapbasedn=dc=example,dc=net\"", "ldapprefix=cn=", "\"ldapsuffix=, dc=x\"",
	"ldapbinddn=cn=admin", "ldapbindpasswd=secret", "ldapsearchattribute=uid",
	"\"ldapsearchfilter=(uid=$username)\"", "ldaptls=1", "ldapscheme=ldaps", "ldapscheme=foo",
	"ldapurl=ldap://ldap.example.com/dc=example?uid?sub", "ldapurl=ldaps://h:636/dc=x", "ldapurl=ldapi://x/",
	"ldapurl=http://x/", "ldapurl=ldap://h:abc/", "ldapurl=ldap://h", "ldapurl=ldap://h/", "ldapurl=LDAP://h/o=x",
	"\"ldapurl=ldap://h/dc=x??sub?(uid=$username)\"", "ldapurl=ldap://h:0/x", "ldapurl=ldap://h/x?a?bogus",
	"ldapurl=ldap://[::1]:389/x", "krb_realm=EXAMPLE.COM", "include_realm=0", "compat_realm=1",
	"upn_username=1", "radiusservers=127.0.0.1", "\"radiusservers=127.0.0.1,::1\"", "radiusservers=localhost",
	"radiusservers=", "\"radiusservers=127.0.0.1,,::1\"", "radiussecrets=s", "\"radiussecrets=a,b\"",
	"\"radiussecrets=\"\"q\"\"\"", "radiusports=1812", "radiusports=x", "\"radiusports=1812,1813\"",
	"radiusidentifiers=i", "\"radiusidentifiers=i,j,k\"", "unknownopt=1", "novalue", "map=", "=x",
	"\"radiussecrets=\"\"unterminated\"", "radiusports=0", "\"radiusservers= 127.0.0.1 \"",
};

/* A method with options that suit it (mostly). */
static void method_with_options(struct out *o, const char *type)
{
	bool local = strcmp(type, "local") == 0, ssl = strcmp(type, "hostssl") == 0;
	int k = (int)pick(10);

	switch (k) {
	case 0:
		puts_(o, local ? "peer" : "scram-sha-256");
		break;
	case 1:
		puts_(o, local ? "peer map=omicron" : "ident map=omicron");
		break;
	case 2:
		puts_(o, "ldap ldapserver=ldap.example.net ldapprefix=\"cn=\" ldapsuffix=\", dc=example, dc=net\"");
		break;
	case 3:
		puts_(o, "ldap ldapserver=ldap.example.net ldapbasedn=\"dc=example, dc=net\" ldapsearchattribute=uid");
		break;
	case 4:
		puts_(o, "ldap ldapurl=\"ldap://ldap.example.net/dc=example,dc=net?uid?sub\" ldaptls=1");
		break;
	case 5:
		puts_(o, "radius radiusservers=127.0.0.1 radiussecrets=s3cret radiusports=1812 radiusidentifiers=pg");
		break;
	case 6:
		puts_(o, "pam pamservice=postgresql");
		break;
	case 7:
		puts_(o, local ? "md5" : ssl ? "cert clientname=DN map=certmap" : "gss include_realm=0 krb_realm=EXAMPLE.COM");
		break;
	case 8:
		puts_(o, ssl ? "scram-sha-256 clientcert=verify-ca" : "password");
		break;
	default:
		puts_(o, PICK(methods_ok));
	}
	if (chance(2))
		putf(o, " %s", PICK(options));
}

static void realistic_line(struct out *o)
{
	const char *type = PICK(types_ok);

	if (chance(15)) {
		putf(o, "# %s\n", chance(50) ? "TYPE  DATABASE        USER            ADDRESS                 METHOD" :
					      "allow the application servers");
		return;
	}
	if (chance(5)) {
		puts_(o, "\n");
		return;
	}
	putf(o, "%-7s %-15s %-15s ", type, chance(70) ? "all" : PICK(dbs_ok), chance(60) ? "all" : PICK(users_ok));
	if (strcmp(type, "local") != 0) {
		if (chance(8))
			putf(o, "%s %s ", chance(50) ? "10.0.0.1" : "127.0.0.1", chance(80) ? "255.255.255.255" : "255.255.0.0");
		else if (chance(8))
			putf(o, "%-23s ", chance(50) ? "db.example.com" : "samenet");
		else
			putf(o, "%-23s ", PICK(addrs_cidr));
	}
	if (chance(5))
		puts_(o, "\\\n    ");
	method_with_options(o, type);
	if (chance(10))
		puts_(o, "   # a comment");
	if (chance(1))
		putf(o, " @%s/users.txt", inc);
	puts_(o, chance(5) ? "\r\n" : "\n");
}

static void realistic(struct out *o)
{
	int i, n = 3 + (int)pick(20);

	puts_(o, "# PostgreSQL Client Authentication Configuration File\n");
	puts_(o, "local   all             postgres                                peer\n");
	for (i = 0; i < n; i++)
		realistic_line(o);
	if (chance(10))
		putf(o, "host    all             @%s/%s  10.0.0.0/8  md5\n", inc,
		     PICK(((const char *const[]){ "users.txt", "empty.txt", "long.txt", "nosuch.txt", "two.txt" })));
}

static void targeted_line(struct out *o)
{
	bool odd_type = chance(10);
	const char *type = odd_type ? PICK(types_odd) : PICK(types_ok);
	bool local = strcmp(type, "local") == 0 || strcmp(type, "\"local\"") == 0;
	int nopt, i;

	puts_(o, type);
	if (chance(3)) {
		puts_(o, "\n");
		return;
	}
	if (chance(5)) {
		putf(o, " @%s/%s", inc, PICK(((const char *const[]){ "users.txt", "empty.txt", "long.txt",
								      "nosuch.txt", "two.txt", "dbs.txt" })));
	} else {
		putf(o, " %s", chance(50) ? "all" : PICK(dbs));
	}
	if (chance(3)) {
		puts_(o, "\n");
		return;
	}
	putf(o, " %s", chance(40) ? "all" : PICK(users));
	if (!local || chance(5)) {
		int k = (int)pick(4);

		if (k == 0)
			putf(o, " %s", PICK(addrs_cidr));
		else if (k == 1)
			putf(o, " %s", PICK(addrs_odd));
		else if (k == 2)
			putf(o, " %s %s", PICK(addrs_masked), chance(85) ? PICK(masks) : "");
		else if (chance(50))
			putf(o, " @%s/addr.txt", inc);
		else
			putf(o, " %s", PICK(addrs_cidr));
	}
	if (chance(3)) {
		puts_(o, "\n");
		return;
	}
	putf(o, " %s", chance(50) ? PICK(methods_ok) : PICK(methods_odd));
	nopt = chance(50) ? 0 : 1 + (int)pick(4);
	for (i = 0; i < nopt; i++)
		putf(o, "%s%s", chance(10) ? "," : " ", PICK(options));
	puts_(o, "\n");
}

static void targeted(struct out *o)
{
	if (chance(50))
		puts_(o, "local all postgres peer\n");
	targeted_line(o);
	if (chance(30))
		targeted_line(o);
}

/* A token of N bytes of 'a' (its first byte a letter). */
static void long_token(struct out *o, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, 'a', n);
	s[n] = '\0';
	put(o, s, n);
	free(s);
}

static void boundary(struct out *o)
{
	size_t n = 10236 + pick(6);           /* 10236 .. 10241 */
	int k = (int)pick(14);

	switch (k) {
	case 0:   /* unquoted, then a blank */
		puts_(o, "local ");
		long_token(o, n);
		puts_(o, " all peer\n");
		break;
	case 1:   /* unquoted, then a comma */
		puts_(o, "local ");
		long_token(o, n);
		puts_(o, ",db all peer\n");
		break;
	case 2:   /* quoted */
		puts_(o, "local \"");
		long_token(o, n);
		puts_(o, "\" all peer\n");
		break;
	case 3:   /* unquoted, then a comment */
		puts_(o, "local all all peer ");
		long_token(o, n);
		puts_(o, "#c\nlocal all all peer\n");
		break;
	case 4:   /* unquoted at the end of the line */
		puts_(o, "local all all peer map=");
		long_token(o, n - 4);
		puts_(o, "\n");
		break;
	case 5:   /* a quote inside, not opening */
		puts_(o, "local ");
		long_token(o, n - 2);
		puts_(o, "\"x\" all peer\n");
		break;
	case 6:   /* an unterminated quote to the end of the line */
		puts_(o, "local all \"");
		long_token(o, n);
		puts_(o, "\n");
		break;
	case 7: { /* a long line of short tokens, through continuations */
		int i;
		puts_(o, "local ");
		for (i = 0; i < 3000; i++)
			putf(o, "db%d,%s", i, i % 500 == 499 ? "\\\n" : "");
		puts_(o, "x all peer\n");
		break;
	}
	case 8:
		puts_(o, chance(50) ? "" : "# only a comment\n\n   \n");
		break;
	case 9:
		puts_(o, "local all all peer\\");
		break;
	case 10:
		puts_(o, "local all all peer\r\r\n\rhost all all ::1/128 trust\r\n");
		break;
	case 11:  /* doubled quotes at the limit */
		puts_(o, "local \"");
		long_token(o, n - 2);
		puts_(o, "\"\"\" all peer\n");
		break;
	case 12:  /* a backslash after a continuation */
		puts_(o, "local all \\\\\n\\\nall peer\n");
		break;
	default:  /* a long host name */
		puts_(o, "host all all ");
		long_token(o, n);
		puts_(o, " md5\n");
	}
}

static void mutate(struct out *o)
{
	static const char bytes[] = { '\0', '"', ',', '#', '\\', '\n', '\r', ' ', '\t', '/', '=', 'x', '@', '+' };
	int i, n = 1 + (int)pick(3);

	for (i = 0; i < n && o->len > 0; i++) {
		size_t at = pick(o->len);
		int k = (int)pick(5);

		if (k == 0 || k == 1) {                  /* insert */
			char c = bytes[pick(sizeof(bytes))];
			put(o, " ", 1);
			memmove(o->p + at + 1, o->p + at, o->len - at - 1);
			o->p[at] = c;
		} else if (k == 2) {                     /* delete */
			memmove(o->p + at, o->p + at + 1, o->len - at - 1);
			o->len--;
		} else if (k == 3) {                     /* replace */
			o->p[at] = bytes[pick(sizeof(bytes))];
		} else {                                 /* truncate */
			o->len = at;
		}
	}
	o->p[o->len] = '\0';
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "hbagen: cannot write '%s': %s\n", path, strerror(errno));
		exit(1);
	}
}

static void includes(const char *dir)
{
	char path[4200];
	struct out o = { 0 };

	snprintf(inc, sizeof(inc), "%s/inc", dir);
	if (mkdir(inc, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "hbagen: cannot create '%s': %s\n", inc, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/users.txt", inc);
	write_file(path, "app, bob\n# admins\n+admins \"x y\"\n", 32);
	snprintf(path, sizeof(path), "%s/empty.txt", inc);
	write_file(path, "# nothing\n", 10);
	snprintf(path, sizeof(path), "%s/two.txt", inc);
	write_file(path, "a b\n", 4);
	snprintf(path, sizeof(path), "%s/dbs.txt", inc);
	write_file(path, "shop\n", 5);
	snprintf(path, sizeof(path), "%s/addr.txt", inc);
	write_file(path, "10.0.0.0/8\n", 11);
	long_token(&o, 10300);
	snprintf(path, sizeof(path), "%s/long.txt", inc);
	write_file(path, o.p, o.len);
	free(o.p);
}

int main(int argc, char **argv)
{
	unsigned long long seed = 1;
	long n = 100, i;
	const char *dir = NULL;
	int c;

	while ((c = getopt(argc, argv, "s:n:d:")) != -1) {
		if (c == 's')
			seed = strtoull(optarg, NULL, 10);
		else if (c == 'n')
			n = strtol(optarg, NULL, 10);
		else if (c == 'd')
			dir = optarg;
		else
			goto usage;
	}
	if (!dir || dir[0] != '/' || n < 0)
		goto usage;
	rng = seed * 0x9E3779B97F4A7C15ull + 1;
	includes(dir);
	for (i = 0; i < n; i++) {
		struct out o = { 0 };
		char path[4200];

		put(&o, "", 0);
		switch (i % 4) {
		case 0: realistic(&o); break;
		case 1: targeted(&o); break;
		case 2: boundary(&o); break;
		default: realistic(&o); mutate(&o); break;
		}
		snprintf(path, sizeof(path), "%s/f%05ld.conf", dir, i);
		write_file(path, o.p, o.len);
		free(o.p);
	}
	return 0;
usage:
	fprintf(stderr, "usage: hbagen -s SEED -n N -d /ABSOLUTE/DIR\n");
	return 2;
}
