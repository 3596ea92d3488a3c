/* SPDX-License-Identifier: MIT */
/*
 * test_pmpid.c -- unit tests for pmpid.h: pmpid_parse and pmpid_clear.
 *
 * Covers the PG10+ postmaster.pid layout of the project's FACTS.md: a full
 * PG15 file (empty listen address on line 6, space-padded status), every
 * status (starting, stopping, ready, standby), a missing trailing newline,
 * files truncated after line 1 and line 4 (a postmaster still writing it),
 * CRLF line ends, garbage on line 1, out-of-range numbers, and embedded
 * NULs.  Table-driven: each row is its own cmocka test.
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

#include "pgevict/pmpid.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct pmpid_case {
	const char *name;
	const char *buf;
	size_t len;             /* 0: strlen(buf) */
	int rc;
	pid_t pid;
	const char *data_dir;
	int64_t start_time;
	int port;
	const char *socket_dir;
	const char *listen_addr;
	const char *status;
};

/* A PG15 file as Debian's 15/main writes it. */
#define PG15_READY                                                                                 \
	"12345\n"                                                                                  \
	"/var/lib/postgresql/15/main\n"                                                            \
	"1700000000\n"                                                                             \
	"5432\n"                                                                                   \
	"/var/run/postgresql\n"                                                                    \
	"localhost\n"                                                                              \
	"  5432001    819205\n"                                                                    \
	"ready   \n"

#define NOERR(nm, buf, pid, dd, st, port, sd, la, status)                                          \
	{ nm, buf, 0, 0, pid, dd, st, port, sd, la, status }
#define EINV(nm, buf) { nm, buf, 0, -EINVAL, 0, NULL, -1, -1, NULL, NULL, NULL }

static const char nul_in_line2[] = "12345\n/var/lib/post\0gresql/15/main\n1700000000\n5432\n";
static const char nul_at_end[] = PG15_READY "\0";

static const struct pmpid_case cases[] = {
	NOERR("PG15 ready", PG15_READY, 12345, "/var/lib/postgresql/15/main", 1700000000, 5432,
	      "/var/run/postgresql", "localhost", "ready"),
	NOERR("listen_addresses empty (line 6 empty)",
	      "4242\n/srv/pg/data\n1700000001\n5433\n/tmp\n\n  5433001    32769\nready   \n", 4242,
	      "/srv/pg/data", 1700000001, 5433, "/tmp", NULL, "ready"),
	NOERR("listen '*'",
	      "4242\n/srv/pg/data\n1700000001\n5433\n/tmp\n*\n  5433001    32769\nready   \n", 4242,
	      "/srv/pg/data", 1700000001, 5433, "/tmp", "*", "ready"),
	NOERR("unix_socket_directories empty (line 5 empty)",
	      "4242\n/srv/pg/data\n1700000001\n5433\n\n10.0.0.5\n  5433001    32769\nready   \n",
	      4242, "/srv/pg/data", 1700000001, 5433, NULL, "10.0.0.5", "ready"),
	NOERR("status starting",
	      "777\n/d\n1700000002\n5432\n/var/run/postgresql\nlocalhost\n  5432001    1\nstarting\n",
	      777, "/d", 1700000002, 5432, "/var/run/postgresql", "localhost", "starting"),
	NOERR("status stopping",
	      "777\n/d\n1700000002\n5432\n/var/run/postgresql\nlocalhost\n  5432001    1\nstopping\n",
	      777, "/d", 1700000002, 5432, "/var/run/postgresql", "localhost", "stopping"),
	NOERR("status standby",
	      "777\n/d\n1700000002\n5432\n/var/run/postgresql\nlocalhost\n  5432001    1\nstandby \n",
	      777, "/d", 1700000002, 5432, "/var/run/postgresql", "localhost", "standby"),
	NOERR("status all blanks", "777\n/d\n1\n5432\n/tmp\n\n  1    1\n        \n", 777, "/d", 1,
	      5432, "/tmp", NULL, NULL),
	NOERR("missing trailing newline",
	      "12345\n/var/lib/postgresql/15/main\n1700000000\n5432\n/var/run/postgresql\nlocalhost\n"
	      "  5432001    819205\nready   ",
	      12345, "/var/lib/postgresql/15/main", 1700000000, 5432, "/var/run/postgresql",
	      "localhost", "ready"),
	NOERR("truncated after line 1", "12345\n", 12345, NULL, -1, -1, NULL, NULL, NULL),
	NOERR("only a pid, no newline", "12345", 12345, NULL, -1, -1, NULL, NULL, NULL),
	NOERR("truncated after line 4", "12345\n/var/lib/postgresql/15/main\n1700000000\n5432\n",
	      12345, "/var/lib/postgresql/15/main", 1700000000, 5432, NULL, NULL, NULL),
	NOERR("truncated after line 7 (no status yet)",
	      "12345\n/d\n1700000000\n5432\n/tmp\nlocalhost\n  5432001    819205\n", 12345, "/d",
	      1700000000, 5432, "/tmp", "localhost", NULL),
	NOERR("CRLF",
	      "12345\r\n/var/lib/postgresql/15/main\r\n1700000000\r\n5432\r\n/var/run/postgresql\r\n"
	      "\r\n  5432001    819205\r\nready   \r\n",
	      12345, "/var/lib/postgresql/15/main", 1700000000, 5432, "/var/run/postgresql", NULL,
	      "ready"),
	NOERR("extra lines after status are ignored", PG15_READY "something\nelse\n", 12345,
	      "/var/lib/postgresql/15/main", 1700000000, 5432, "/var/run/postgresql", "localhost",
	      "ready"),
	NOERR("port out of range", "12345\n/d\n1700000000\n70000\n/tmp\n\n  1   1\nready   \n", 12345,
	      "/d", 1700000000, -1, "/tmp", NULL, "ready"),
	NOERR("port 0", "12345\n/d\n1700000000\n0\n/tmp\n\n  1   1\nready   \n", 12345, "/d",
	      1700000000, -1, "/tmp", NULL, "ready"),
	NOERR("port negative", "12345\n/d\n1700000000\n-5432\n/tmp\n\n  1   1\nready   \n", 12345,
	      "/d", 1700000000, -1, "/tmp", NULL, "ready"),
	NOERR("port garbage", "12345\n/d\n1700000000\n54x32\n/tmp\n\n  1   1\nready   \n", 12345,
	      "/d", 1700000000, -1, "/tmp", NULL, "ready"),
	NOERR("start time garbage", "12345\n/d\nyesterday\n5432\n", 12345, "/d", -1, 5432, NULL,
	      NULL, NULL),
	NOERR("start time overflow", "12345\n/d\n99999999999999999999\n5432\n", 12345, "/d", -1,
	      5432, NULL, NULL, NULL),
	NOERR("pid max int", "2147483647\n", 2147483647, NULL, -1, -1, NULL, NULL, NULL),
	EINV("line 1 abc", "abc\n/d\n1700000000\n5432\n"),
	/* A standalone backend (single-user mode) writes its pid negated. */
	EINV("line 1 -5", "-5\n/d\n1700000000\n5432\n"),
	EINV("line 1 empty", "\n/d\n1700000000\n5432\n"),
	EINV("line 1 12x", "12x\n/d\n1700000000\n5432\n"),
	EINV("line 1 zero", "0\n/d\n"),
	EINV("line 1 +5", "+5\n/d\n"),
	EINV("line 1 leading blank", " 5\n/d\n"),
	EINV("line 1 trailing blank", "5 \n/d\n"),
	EINV("line 1 pid overflow", "2147483648\n/d\n"),
	EINV("line 1 huge", "99999999999999999999999\n"),
	EINV("empty file", ""),
	EINV("only newline", "\n"),
	{ "embedded NUL in line 2", nul_in_line2, sizeof(nul_in_line2) - 1, -EINVAL, 0, NULL, -1,
	  -1, NULL, NULL, NULL },
	{ "trailing NUL", nul_at_end, sizeof(nul_at_end) - 1, -EINVAL, 0, NULL, -1, -1, NULL, NULL,
	  NULL },
	{ "NUL first", "\0" "12345\n", 7, -EINVAL, 0, NULL, -1, -1, NULL, NULL, NULL },
	/* LEN limits the parse: bytes past it are not read. */
	{ "len stops inside line 1", "12345\n/d\n", 3, 0, 123, NULL, -1, -1, NULL, NULL, NULL },
};

static int bad_str(const char *nm, const char *field, const char *got, const char *want)
{
	if ((!got && !want) || (got && want && strcmp(got, want) == 0))
		return 0;
	print_error("[%s] %s: got %s%s%s, want %s%s%s\n", nm, field, got ? "\"" : "",
		    got ? got : "NULL", got ? "\"" : "", want ? "\"" : "", want ? want : "NULL",
		    want ? "\"" : "");
	return 1;
}

static int bad_int(const char *nm, const char *field, long long got, long long want)
{
	if (got == want)
		return 0;
	print_error("[%s] %s: got %lld, want %lld\n", nm, field, got, want);
	return 1;
}

static void test_pmpid_case(void **state)
{
	const struct pmpid_case *c = *state;
	size_t len = c->len ? c->len : strlen(c->buf);
	struct pmpid p;
	char *copy;
	int bad = 0;

	/* An exact-size heap copy, so ASan sees a read past LEN. */
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, c->buf, len);
	bad += bad_int(c->name, "rc", pmpid_parse(copy, len, &p), c->rc);
	bad += bad_int(c->name, "pid", p.pid, c->pid);
	bad += bad_str(c->name, "data_dir", p.data_dir, c->data_dir);
	bad += bad_int(c->name, "start_time", p.start_time, c->start_time);
	bad += bad_int(c->name, "port", p.port, c->port);
	bad += bad_str(c->name, "socket_dir", p.socket_dir, c->socket_dir);
	bad += bad_str(c->name, "listen_addr", p.listen_addr, c->listen_addr);
	bad += bad_str(c->name, "status", p.status, c->status);
	pmpid_clear(&p);
	free(copy);
	bad += bad_int(c->name, "cleared port", p.port, -1);
	bad += bad_int(c->name, "cleared start_time", p.start_time, -1);
	if (bad)
		fail_msg("%d mismatch(es) in '%s'", bad, c->name);
}

static void test_pmpid_clear_null(void **state)
{
	(void)state;
	pmpid_clear(NULL);
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(cases) + 1];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_pmpid_case, NULL, NULL,
						  (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pmpid_clear_null);
	return cmocka_run_group_tests_name("pmpid", tests, NULL, NULL);
}
