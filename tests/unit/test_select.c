/* SPDX-License-Identifier: MIT */
/*
 * test_select.c -- unit tests for the selector language: duration.h
 * (duration_parse, duration_format) and select.h (select_add, cidr_parse,
 * cidr_parse_net, cidr_contains, select_match, select_is_empty, select_needs_sql).
 *
 * Durations: every unit, the refused forms (bare number, "m", fractions,
 * signs, blanks) and overflow.  Selectors: good and bad values for each
 * kind and an unknown kind.  CIDR: v4, v6, v4-mapped v6 both ways, prefix
 * 0, "local".  Matching, on sessions built with session_list_add (so the
 * unknowns are preset the way discover.c leaves them): kinds AND, repeats
 * OR, an unknown value never matches, --client local only for Unix
 * sockets, --older-than and --idle-for against start and state-change
 * times, including durations so long that microseconds overflow.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pgevict/duration.h"
#include "pgevict/select.h"
#include "pgevict/session.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- duration_parse ---- */

static const struct {
	const char *text;
	int rc;
	int64_t ms;
} dur_cases[] = {
	{ "500ms", 0, 500 },
	{ "0ms", 0, 0 },
	{ "0s", 0, 0 },
	{ "2s", 0, 2000 },
	{ "10min", 0, 600000 },
	{ "1h", 0, 3600000 },
	{ "1d", 0, 86400000 },
	{ "7d", 0, 604800000 },
	{ "007s", 0, 7000 },
	/* at most a century: longer is a typo, and keeps products in range */
	{ "36600d", 0, INT64_C(36600) * 86400000 },
	{ "36601d", -ERANGE, 0 },
	{ "9223372036854775ms", -ERANGE, 0 },
	{ "106751991167d", -ERANGE, 0 },
	{ "10", -EINVAL, 0 },        /* no unit: refused */
	{ "10m", -EINVAL, 0 },       /* PostgreSQL writes minutes "min" */
	{ "", -EINVAL, 0 },
	{ "-1s", -EINVAL, 0 },
	{ "+1s", -EINVAL, 0 },
	{ "1.5s", -EINVAL, 0 },
	{ " 1s", -EINVAL, 0 },
	{ "1 s", -EINVAL, 0 },
	{ "1s ", -EINVAL, 0 },
	{ "1S", -EINVAL, 0 },
	{ "1sec", -EINVAL, 0 },
	{ "s", -EINVAL, 0 },
	{ "1hh", -EINVAL, 0 },
	{ "1us", -EINVAL, 0 },
	{ "0x10s", -EINVAL, 0 },
	{ "106751991168d", -ERANGE, 0 },
	{ "9223372036854775808ms", -ERANGE, 0 },
	{ "99999999999999999999999s", -ERANGE, 0 },
	{ "99999999999999999999999", -ERANGE, 0 },
};

static void test_duration_parse(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(dur_cases); i++) {
		int64_t ms = -42;
		int r = duration_parse(dur_cases[i].text, &ms);
		if (r != dur_cases[i].rc || (r == 0 && ms != dur_cases[i].ms)) {
			print_error("duration_parse(\"%s\"): got %d/%lld, want %d/%lld\n",
				    dur_cases[i].text, r, (long long)ms, dur_cases[i].rc,
				    (long long)dur_cases[i].ms);
			bad++;
		}
		if (r < 0 && ms != -42) {
			print_error("duration_parse(\"%s\") failed but wrote *ret_ms\n",
				    dur_cases[i].text);
			bad++;
		}
	}
	assert_int_equal(duration_parse(NULL, &(int64_t){ 0 }), -EINVAL);
	if (bad)
		fail_msg("%d duration_parse mismatch(es)", bad);
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t ms;
		const char *text;
	} rows[] = {
		{ 0, "0ms" },
		{ 120, "120ms" },
		{ 999, "999ms" },
		{ 1000, "1s" },
		{ 45000, "45s" },
		{ 59999, "59s" },
		{ 60000, "1m00s" },
		{ 754000, "12m34s" },
		{ 3599999, "59m59s" },
		{ 3600000, "1h00m" },
		{ 11520000, "3h12m" },
		{ 86399999, "23h59m" },
		{ 86400000, "1d00h" },
		{ 90000000, "1d01h" },
		{ -1, "-" },
		{ INT64_MIN, "-" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(buf, 'X', sizeof(buf));
		duration_format(rows[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, rows[i].text);
	}
	/* A large value still fits a modest buffer and is NUL-terminated. */
	duration_format(INT64_MAX, buf, sizeof(buf));
	assert_true(strlen(buf) > 0 && strlen(buf) < sizeof(buf));
	/* A short buffer truncates, never overruns. */
	memset(buf, 'X', sizeof(buf));
	duration_format(754000, buf, 4);
	assert_string_equal(buf, "12m");
	assert_int_equal(buf[4], 'X');
}

/* Every format output of a whole-second value reads back with its units
 * (when it has one unit): "45s" -> 45000. */
static void test_duration_roundtrip(void **state)
{
	static const int64_t v[] = { 0, 1, 500, 999 };
	static const int64_t s[] = { 1000, 2000, 59000 };
	char buf[32];
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		duration_format(v[i], buf, sizeof(buf));
		assert_int_equal(duration_parse(buf, &ms), 0);
		assert_int_equal(ms, v[i]);
	}
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		duration_format(s[i], buf, sizeof(buf));
		assert_int_equal(duration_parse(buf, &ms), 0);
		assert_int_equal(ms, s[i]);
	}
}

/* ---- select_add ---- */

static const struct {
	const char *kind;
	const char *value;
	int rc;
} add_cases[] = {
	{ "pid", "1", 0 },
	{ "pid", "12345", 0 },
	{ "pid", "0", -EINVAL },
	{ "pid", "-1", -EINVAL },
	{ "pid", "abc", -EINVAL },
	{ "pid", "12x", -EINVAL },
	{ "pid", "", -EINVAL },
	{ "pid", "99999999999999999999", -EINVAL },
	{ "user", "alice", 0 },
	{ "user", "my user", 0 },
	{ "user", "", -EINVAL },
	{ "db", "wiki", 0 },
	{ "db", "", -EINVAL },
	{ "app", "psql", 0 },
	{ "app", "", -EINVAL },
	{ "state", "idle", 0 },
	{ "state", "active", 0 },
	{ "state", "idle in transaction", 0 },
	{ "state", "idle in transaction (aborted)", 0 },
	{ "state", "fastpath function call", 0 },
	{ "state", "disabled", 0 },
	{ "state", "starting", 0 },
	{ "state", "bogus", -EINVAL },
	{ "state", "IDLE", -EINVAL },
	{ "state", "idle ", -EINVAL },
	{ "client", "127.0.0.1", 0 },
	{ "client", "10.0.0.0/8", 0 },
	{ "client", "0.0.0.0/0", 0 },
	{ "client", "::1", 0 },
	{ "client", "2001:db8::/32", 0 },
	{ "client", "::ffff:10.0.0.0/104", 0 },
	{ "client", "local", 0 },
	{ "client", "300.1.1.1", -EINVAL },
	{ "client", "10.0.0.0/33", -EINVAL },
	{ "client", "::1/129", -EINVAL },
	{ "client", "10.0.0.0/", -EINVAL },
	{ "client", "10.0.0.0/-1", -EINVAL },
	{ "client", "10.0.0.0/8x", -EINVAL },
	{ "client", "10.0.0.0/ 8", -EINVAL },
	{ "client", "db.example.com", -EINVAL },
	{ "client", "", -EINVAL },
	{ "client", "LOCAL", -EINVAL },
	{ "older-than", "10min", 0 },
	{ "older-than", "10", -EINVAL },
	{ "older-than", "10m", -EINVAL },
	{ "older-than", "", -EINVAL },
	{ "older-than", "-1s", -EINVAL },
	{ "idle-for", "30s", 0 },
	{ "idle-for", "1.5s", -EINVAL },
	{ "all", NULL, 0 },
	{ "all", "ignored", 0 },
	{ "bogus", "x", -ENOENT },
	{ "pids", "1", -ENOENT },
	{ "--pid", "1", -ENOENT },
	{ "", "x", -ENOENT },
	{ "PID", "1", -ENOENT },
};

static void test_select_add(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(add_cases); i++) {
		struct selector s;
		int r;
		select_init(&s);
		r = select_add(&s, add_cases[i].kind, add_cases[i].value);
		if (r != add_cases[i].rc) {
			print_error("select_add(%s, %s): got %d, want %d\n", add_cases[i].kind,
				    add_cases[i].value ? add_cases[i].value : "NULL", r,
				    add_cases[i].rc);
			bad++;
		}
		/* A refused value leaves the selector empty. */
		if (r < 0 && !select_is_empty(&s)) {
			print_error("select_add(%s, %s) failed but changed the selector\n",
				    add_cases[i].kind, add_cases[i].value);
			bad++;
		}
		if (r == 0 && select_is_empty(&s)) {
			print_error("select_add(%s, %s) succeeded but selector is empty\n",
				    add_cases[i].kind, add_cases[i].value);
			bad++;
		}
		select_clear(&s);
		assert_true(select_is_empty(&s));
	}
	if (bad)
		fail_msg("%d select_add mismatch(es)", bad);
}

static void test_select_add_values(void **state)
{
	struct selector s;

	(void)state;
	select_init(&s);
	assert_true(select_is_empty(&s));
	assert_int_equal(s.older_than_ms, -1);
	assert_int_equal(s.idle_for_ms, -1);
	assert_int_equal(select_add(&s, "pid", "42"), 0);
	assert_int_equal(select_add(&s, "pid", "43"), 0);
	assert_int_equal(s.npids, 2);
	assert_int_equal(s.pids[0], 42);
	assert_int_equal(s.pids[1], 43);
	assert_int_equal(select_add(&s, "user", "alice"), 0);
	assert_string_equal(s.users[0], "alice");
	assert_int_equal(select_add(&s, "older-than", "10min"), 0);
	assert_int_equal(s.older_than_ms, 600000);
	assert_int_equal(select_add(&s, "idle-for", "2s"), 0);
	assert_int_equal(s.idle_for_ms, 2000);
	/* a later duration of the same kind replaces the earlier one */
	assert_int_equal(select_add(&s, "idle-for", "3s"), 0);
	assert_int_equal(s.idle_for_ms, 3000);
	assert_int_equal(select_add(&s, "client", "10.1.0.0/16"), 0);
	assert_int_equal(s.nclients, 1);
	assert_int_equal(s.clients[0].family, AF_INET);
	assert_int_equal(s.clients[0].prefix, 16);
	select_clear(&s);
	select_clear(NULL);
}

static void test_select_is_empty_needs_sql(void **state)
{
	static const struct {
		const char *kind, *value;
		bool sql;
	} rows[] = {
		{ "all", NULL, false },    { "pid", "1", false },      { "user", "u", false },
		{ "db", "d", false },      { "client", "local", false }, { "state", "idle", false },
		{ "older-than", "1s", false }, { "older-than", "0ms", false },
		{ "idle-for", "1s", true }, { "idle-for", "0ms", true }, { "app", "psql", true },
	};
	struct selector s;
	size_t i;

	(void)state;
	select_init(&s);
	assert_true(select_is_empty(&s));
	assert_false(select_needs_sql(&s));
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		select_init(&s);
		assert_int_equal(select_add(&s, rows[i].kind, rows[i].value), 0);
		assert_false(select_is_empty(&s));
		if (select_needs_sql(&s) != rows[i].sql)
			fail_msg("select_needs_sql after --%s: got %d", rows[i].kind, !rows[i].sql);
		select_clear(&s);
	}
}

/* ---- cidr ---- */

static const struct {
	const char *cidr;
	const char *addr;
	bool in;
} cidr_cases[] = {
	{ "127.0.0.1", "127.0.0.1", true },
	{ "127.0.0.1", "127.0.0.2", false },
	{ "127.0.0.1/32", "127.0.0.1", true },
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "10.1.2.3/8", "10.200.0.1", true },     /* host bits ignored */
	{ "192.168.0.0/23", "192.168.1.77", true },
	{ "192.168.0.0/23", "192.168.2.1", false },
	{ "192.168.128.0/17", "192.168.127.255", false },
	{ "192.168.128.0/17", "192.168.255.255", true },
	{ "0.0.0.0/0", "1.2.3.4", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::1", false },            /* v6 is not in a v4 range */
	{ "::1", "::1", true },
	{ "::1", "::2", false },
	{ "::1", "127.0.0.1", false },
	{ "2001:db8::/32", "2001:db8:1::5", true },
	{ "2001:db8::/32", "2001:db9::5", false },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "::/0", "2001:db8::1", true },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	/* v4-mapped v6 address against a v4 range, and the other way */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "127.0.0.1", "::ffff:127.0.0.1", true },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", true },
	{ "::ffff:10.0.0.0/104", "11.9.9.9", false },
	{ "::ffff:127.0.0.1", "127.0.0.1", true },
	{ "::ffff:0.0.0.0/96", "8.8.8.8", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true },
	/* garbage addresses never match */
	{ "0.0.0.0/0", "", false },
	{ "0.0.0.0/0", "[local]", false },
	{ "0.0.0.0/0", "host.example.com", false },
	{ "::/0", "", false },
	/* local matches no address */
	{ "local", "127.0.0.1", false },
	{ "local", "[local]", false },
	{ "local", "", false },
};

static void test_cidr(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cidr_cases); i++) {
		struct cidr c;
		bool in;
		assert_int_equal(cidr_parse(cidr_cases[i].cidr, &c), 0);
		in = cidr_contains(&c, cidr_cases[i].addr);
		if (in != cidr_cases[i].in) {
			print_error("cidr_contains(%s, %s): got %d, want %d\n", cidr_cases[i].cidr,
				    cidr_cases[i].addr, in, cidr_cases[i].in);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d cidr mismatch(es)", bad);
}

static void test_cidr_parse(void **state)
{
	struct cidr c;
	char longtext[200];

	(void)state;
	assert_int_equal(cidr_parse("local", &c), 0);
	assert_int_equal(c.family, AF_UNIX);
	assert_int_equal(cidr_parse("10.1.2.3", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	assert_memory_equal(c.addr, ((uint8_t[]){ 10, 1, 2, 3 }), 4);
	assert_int_equal(cidr_parse("10.0.0.0/0", &c), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr_parse("::/0", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr_parse("2001:db8::1", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("::1/128", &c), 0);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(cidr_parse("1.2.3.4/32", &c), 0);
	assert_int_equal(cidr_parse(NULL, &c), -EINVAL);
	assert_int_equal(cidr_parse("1.2.3", &c), -EINVAL);
	assert_int_equal(cidr_parse("1.2.3.4/8/8", &c), -EINVAL);
	assert_int_equal(cidr_parse("1.2.3.4/99999999999999999999", &c), -EINVAL);
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(cidr_parse(longtext, &c), -EINVAL);
}

/* A network the operator names: bits right of the mask are refused (as
 * PostgreSQL's cidr type refuses them), with the two readings spelled out. */
static const struct {
	const char *text;
	int want;
	const char *why;      /* cidr_explain_host_bits, for -EDOM */
} net_cases[] = {
	{ "10.0.0.0/8", 0, NULL },
	{ "10.1.2.3", 0, NULL },
	{ "10.1.2.3/32", 0, NULL },
	{ "0.0.0.0/0", 0, NULL },
	{ "10.1.2.3/0", -EDOM, "bits set right of the /0 mask (write 0.0.0.0/0 for the network, 10.1.2.3 for the host)" },
	{ "10.1.2.3/8", -EDOM, "bits set right of the /8 mask (write 10.0.0.0/8 for the network, 10.1.2.3 for the host)" },
	{ "192.168.1.128/25", 0, NULL },
	{ "192.168.1.129/25", -EDOM, "bits set right of the /25 mask (write 192.168.1.128/25 for the network, 192.168.1.129 for the host)" },
	{ "192.168.1.64/25", -EDOM, "bits set right of the /25 mask (write 192.168.1.0/25 for the network, 192.168.1.64 for the host)" },
	{ "10.0.0.1/31", -EDOM, "bits set right of the /31 mask (write 10.0.0.0/31 for the network, 10.0.0.1 for the host)" },
	{ "2001:db8::/32", 0, NULL },
	{ "2001:db8::1/32", -EDOM, "bits set right of the /32 mask (write 2001:db8::/32 for the network, 2001:db8::1 for the host)" },
	{ "2001:db8::1/128", 0, NULL },
	{ "::1/127", -EDOM, "bits set right of the /127 mask (write ::/127 for the network, ::1 for the host)" },
	{ "::ffff:10.1.2.3/104", -EDOM, "bits set right of the /104 mask (write ::ffff:10.0.0.0/104 for the network, ::ffff:10.1.2.3 for the host)" },
	{ "local", 0, NULL },
	{ "10.1.2/8", -EINVAL, NULL },
};

static void test_cidr_parse_net(void **state)
{
	struct cidr c;
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(net_cases) / sizeof(net_cases[0]); i++) {
		int r = cidr_parse_net(net_cases[i].text, &c);
		if (r != net_cases[i].want)
			print_error("cidr_parse_net(%s): got %d, want %d\n", net_cases[i].text, r, net_cases[i].want);
		assert_int_equal(r, net_cases[i].want);
		/* pg_hba.conf's reading is unchanged: masked, never refused */
		if (r == -EDOM) {
			assert_int_equal(cidr_parse(net_cases[i].text, &c), 0);
			cidr_explain_host_bits(&c, why, sizeof(why));
			assert_string_equal(why, net_cases[i].why);
		}
	}
}

/* --client with host bits: select_add says -EDOM, the rules' parser names it. */
static void test_select_client_host_bits(void **state)
{
	struct selector s;
	char err[256];

	(void)state;
	select_init(&s);
	assert_int_equal(select_add(&s, "client", "10.1.2.3/8"), -EDOM);
	assert_int_equal(s.nclients, 0);
	assert_int_equal(select_add(&s, "client", "10.0.0.0/8"), 0);
	assert_int_equal(s.nclients, 1);
	assert_int_equal(select_parse_string(&s, "--user app --client 10.1.2.3/8", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad value '10.1.2.3/8' for --client: bits set right of the /8 mask "
				 "(write 10.0.0.0/8 for the network, 10.1.2.3 for the host)");
	select_clear(&s);
}

/* ---- select_match ---- */

#define NOW_US INT64_C(1700000000000000)
#define SEC INT64_C(1000000)

/* A client session as discover.c fills it: user, db, TCP or Unix. */
static struct session *mk(struct session_list *l, pid_t pid, const char *user, const char *db,
			  enum transport tr, const char *addr, const char *state)
{
	struct session *s = session_list_add(l);

	assert_non_null(s);
	s->pid = pid;
	s->is_client = true;
	s->backend_type = "client backend";
	s->user = user ? strdup(user) : NULL;
	s->database = db ? strdup(db) : NULL;
	s->transport = tr;
	if (tr == TRANSPORT_TCP) {
		s->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
		snprintf(s->client_addr, sizeof(s->client_addr), "%s", addr);
		s->client_port = 40000 + pid % 1000;
	} else if (tr == TRANSPORT_UNIX) {
		s->family = AF_UNIX;
	}
	s->state = state;
	return s;
}

/* Build a selector from "kind=value" strings. */
static void sel(struct selector *s, const char *const *args)
{
	select_init(s);
	for (; *args; args++) {
		char kind[32];
		const char *eq = strchr(*args, '=');
		if (!eq) {
			assert_int_equal(select_add(s, *args, NULL), 0);
			continue;
		}
		assert_true((size_t)(eq - *args) < sizeof(kind));
		memcpy(kind, *args, (size_t)(eq - *args));
		kind[eq - *args] = '\0';
		if (select_add(s, kind, eq + 1) != 0)
			fail_msg("select_add(%s, %s) refused", kind, eq + 1);
	}
}

/* Which of the sessions in L match, as a string of '1' and '0'. */
static void expect_matches(const struct session_list *l, const char *const *args,
			   const char *want)
{
	struct selector s;
	char got[64];
	size_t i;

	sel(&s, args);
	for (i = 0; i < l->n && i < sizeof(got) - 1; i++)
		got[i] = select_match(&s, &l->v[i], NOW_US) ? '1' : '0';
	got[i] = '\0';
	select_clear(&s);
	if (strcmp(got, want) != 0) {
		char desc[256] = "";
		for (; *args; args++) {
			strncat(desc, " --", sizeof(desc) - strlen(desc) - 1);
			strncat(desc, *args, sizeof(desc) - strlen(desc) - 1);
		}
		fail_msg("selector%s: matched %s, want %s", desc, got, want);
	}
}

#define M(want, ...) expect_matches(&l, (const char *const[]){ __VA_ARGS__, NULL }, want)

static void test_select_match(void **state)
{
	struct session_list l = { 0 };
	struct session *s;

	(void)state;
	/* 0 */ mk(&l, 101, "alice", "wiki", TRANSPORT_TCP, "10.0.0.5", "idle");
	/* 1 */ mk(&l, 102, "bob", "wiki", TRANSPORT_TCP, "192.168.1.9", "active");
	/* 2 */ mk(&l, 103, "alice", "shop", TRANSPORT_UNIX, NULL, "idle in transaction");
	/* 3 */ mk(&l, 104, NULL, NULL, TRANSPORT_TCP, "10.0.0.6", "idle");    /* names unknown */
	/* 4 */ mk(&l, 105, "carol", "wiki", TRANSPORT_TCP, "::ffff:10.0.0.7", NULL); /* state unknown */
	/* 5 */ mk(&l, 106, "dave", "wiki", TRANSPORT_TCP, "2001:db8::9", "idle");
	/* 6 */ s = mk(&l, 107, NULL, NULL, TRANSPORT_NONE, NULL, NULL);      /* a checkpointer */
	s->is_client = false;
	s->backend_type = "checkpointer";
	/* 7 */ mk(&l, 108, "alice", "wiki", TRANSPORT_TCP, "", "idle");   /* address unknown */

	M("11111111", "all");
	M("10000000", "pid=101");
	M("10000001", "pid=101", "pid=108");                 /* repeats OR */
	M("00000000", "pid=999");
	M("10100001", "user=alice");
	M("11100001", "user=alice", "user=bob");
	M("10000001", "user=alice", "db=wiki");              /* kinds AND */
	M("00000000", "user=alice", "pid=102");
	M("11001101", "db=wiki");
	M("00100000", "db=shop");
	M("00000000", "user=nobody");
	M("10010101", "state=idle");
	M("01000000", "state=active");
	M("00100000", "state=idle in transaction");
	M("11010101", "state=idle", "state=active");
	/* --client */
	M("00100000", "client=local");
	M("10011000", "client=10.0.0.0/8");
	M("10000000", "client=10.0.0.5");
	M("00001000", "client=10.0.0.7");                    /* v4-mapped peer */
	M("00000100", "client=2001:db8::/32");
	M("10111000", "client=10.0.0.0/8", "client=local");
	M("11011100", "client=0.0.0.0/0", "client=::/0");
	M("00000000", "client=127.0.0.1");
	M("00100000", "client=local", "user=alice", "db=shop");
	M("00000000", "client=local", "user=bob");
	/* pid AND state */
	M("10000000", "pid=101", "pid=104", "state=idle", "user=alice");

	session_list_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

/* --older-than and --idle-for; "2h1s" (two units) is not a duration. */
static void test_select_match_times(void **state)
{
	struct session_list l = { 0 };
	struct session *s;
	struct selector sl;

	(void)state;
	select_init(&sl);
	assert_int_equal(select_add(&sl, "older-than", "2h1s"), -EINVAL);
	select_clear(&sl);

	s = mk(&l, 1, "u", "d", TRANSPORT_TCP, "10.0.0.1", "idle");
	s->start_us = NOW_US - 7200 * SEC;
	s->state_change_us = NOW_US - 1200 * SEC;
	s = mk(&l, 2, "u", "d", TRANSPORT_TCP, "10.0.0.1", "active");
	s->start_us = NOW_US - 300 * SEC;
	s->state_change_us = NOW_US - 300 * SEC;
	s = mk(&l, 3, "u", "d", TRANSPORT_TCP, "10.0.0.1", "idle in transaction");
	s->state_change_us = NOW_US - 3600 * SEC;
	s = mk(&l, 4, "u", "d", TRANSPORT_UNIX, NULL, "idle");
	s->start_us = NOW_US - 86400 * SEC;
	s = mk(&l, 5, "u", "d", TRANSPORT_TCP, "10.0.0.1", "starting");
	s->start_us = NOW_US - 3600 * SEC;
	s->state_change_us = NOW_US - 3600 * SEC;
	s = mk(&l, 6, "u", "d", TRANSPORT_TCP, "10.0.0.1", NULL);
	s->start_us = NOW_US - 600 * SEC;
	s->state_change_us = NOW_US - 600 * SEC;

	M("100111", "older-than=10min");
	M("110111", "older-than=5min");
	M("100100", "older-than=2h");
	M("000100", "older-than=3h");
	M("000000", "older-than=2d");
	M("110111", "older-than=0ms");   /* start unknown: no */
	M("000110", "older-than=1h", "client=local", "client=10.0.0.0/8", "pid=4", "pid=5",
	  "pid=6");
	/* idle-for: not active, not starting, state known, changed long enough ago */
	M("101000", "idle-for=10min");
	M("001000", "idle-for=30min");
	M("101000", "idle-for=0ms");
	M("000000", "idle-for=2h");
	M("001000", "idle-for=10min", "state=idle in transaction");
	M("100000", "idle-for=10min", "older-than=1h");
	session_list_clear(&l);
}

/*
 * BUG: a very long duration passes duration_parse but select_match
 * multiplies it by 1000 in int64_t: "--older-than 200000000d" is
 * 1.728e16 ms, 1.728e19 us, past INT64_MAX.  The product wraps negative
 * (signed overflow, undefined behaviour: UBSan aborts here) and every
 * session with a known start time is then "older" than 547,000 years.
 * Expected: nothing matches (or select_add refuses the value with
 * -ERANGE); got: the one-hour-old session matches.
 */
static void test_select_match_huge_duration(void **state)
{
	static const char *const durs[] = { "200000000d", "9300000000000000ms",
					    "106751991167d" };
	struct session_list l = { 0 };
	struct session *s;
	size_t i;
	int bad = 0;

	(void)state;
	s = mk(&l, 1, "u", "d", TRANSPORT_TCP, "10.0.0.1", "idle");
	s->start_us = NOW_US - 3600 * SEC;
	s->state_change_us = NOW_US - 3600 * SEC;
	for (i = 0; i < ARRAY_SIZE(durs); i++) {
		static const char *const kinds[] = { "older-than", "idle-for" };
		size_t k;
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			struct selector sl;
			int r;
			select_init(&sl);
			r = select_add(&sl, kinds[k], durs[i]);
			if (r == 0 && select_match(&sl, s, NOW_US)) {
				print_error("--%s %s matched a session 1 h old\n", kinds[k], durs[i]);
				bad++;
			} else if (r != 0 && r != -ERANGE && r != -EINVAL) {
				print_error("--%s %s: select_add gave %d\n", kinds[k], durs[i], r);
				bad++;
			}
			select_clear(&sl);
		}
	}
	session_list_clear(&l);
	if (bad)
		fail_msg("%d overflowing duration(s) matched", bad);
}

/* An unknown value never matches, even under a catch-all range. */
static void test_select_match_unknowns(void **state)
{
	struct session_list l = { 0 };
	struct session *s;

	(void)state;
	s = session_list_add(&l);     /* nothing known at all */
	assert_non_null(s);
	s->pid = 77;
	assert_int_equal(s->start_us, TIME_UNKNOWN);
	assert_int_equal(s->state_change_us, TIME_UNKNOWN);
	assert_int_equal(s->client_port, -1);
	assert_int_equal(s->proc_state, '?');

	M("1", "pid=77");
	M("1", "all");
	M("0", "user=u");
	M("0", "db=d");
	M("0", "app=psql");
	M("0", "state=idle");
	M("0", "client=0.0.0.0/0");
	M("0", "client=::/0");
	M("0", "client=local");
	M("0", "older-than=0ms");
	M("0", "idle-for=0ms");
	/* a Unix session with a stale address string is still only "local" */
	s->transport = TRANSPORT_UNIX;
	snprintf(s->client_addr, sizeof(s->client_addr), "10.0.0.1");
	M("1", "client=local");
	M("0", "client=10.0.0.0/8");
	/* TCP with the address known */
	s->transport = TRANSPORT_TCP;
	M("0", "client=local");
	M("1", "client=10.0.0.0/8");
	/* application_name from SQL */
	s->application_name = strdup("psql");
	M("1", "app=psql");
	M("0", "app=pgbench");
	M("1", "app=pgbench", "app=psql");
	session_list_clear(&l);
}

/* A process picked by pid and start time never matches a reused pid. */
static void test_select_process(void **state)
{
	struct session_list l = { 0 };
	struct session *a, *b, *c;
	struct selector s;

	(void)state;
	a = mk(&l, 100, "app", "db", TRANSPORT_TCP, "10.0.0.1", "idle");
	a->start_ticks = 5000;
	b = mk(&l, 200, "app", "db", TRANSPORT_TCP, "10.0.0.1", "idle");
	b->start_ticks = 6000;
	c = mk(&l, 300, "app", "db", TRANSPORT_TCP, "10.0.0.1", "idle");
	c->start_ticks = 7000;
	select_init(&s);
	assert_int_equal(select_add(&s, "pid", "300"), 0);         /* plain: any start */
	assert_int_equal(select_add_process(&s, 100, 5000), 0);
	assert_int_equal(select_add_process(&s, 200, 1234), 0);    /* pid 200 was reused */
	assert_true(select_match(&s, &l.v[0], NOW_US));
	assert_false(select_match(&s, &l.v[1], NOW_US));
	assert_true(select_match(&s, &l.v[2], NOW_US));
	select_clear(&s);
	session_list_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_roundtrip),
		cmocka_unit_test(test_select_add),
		cmocka_unit_test(test_select_add_values),
		cmocka_unit_test(test_select_is_empty_needs_sql),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_parse_net),
		cmocka_unit_test(test_select_client_host_bits),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_select_match),
		cmocka_unit_test(test_select_match_times),
		cmocka_unit_test(test_select_match_unknowns),
		cmocka_unit_test(test_select_match_huge_duration),
		cmocka_unit_test(test_select_process),
	};

	return cmocka_run_group_tests_name("select", tests, NULL, NULL);
}
