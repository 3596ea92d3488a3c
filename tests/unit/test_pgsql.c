/* SPDX-License-Identifier: MIT */
/*
 * test_pgsql.c -- pgsql_connect_at reaches the postmaster's socket
 * directory through the /proc directory fd it is given (discovery's
 * proc_root), no root and no server: a fixture /proc whose PID/stat has
 * the cluster's start time and whose PID/root holds the socket directory
 * with a regular file where .s.PGSQL.PORT should be: refused as "not a
 * socket", which only that fixture can say; with -1 (the real /proc) the
 * same cluster's postmaster, a pid whose start time does not match, is
 * "gone".  The connection itself is the integration tests'.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgevict/pgsql.h"

#include "scratch.h"

/* TOP/proc/PID/REL; valid until the eighth call after (at()'s). */
static char *in_pid(pid_t pid, const char *rel)
{
	char name[48];

	snprintf(name, sizeof(name), "proc/%d%s%s", (int)pid, *rel ? "/" : "", rel);
	return at(name);
}

static void test_connect_at_fixture(void **state)
{
	char socket_dir[] = "/run/pg";
	struct pg_cluster c = {
		.pid = getpid(), .start_ticks = 4242, .port = 5432, .socket_dir = socket_dir,
		.owner_uid = getuid(), .owner_gid = getgid(),
	};
	char *err = NULL;
	PGconn *conn = NULL;
	int pfd;

	(void)state;
	assert_int_equal(mkdir(at("proc"), 0700), 0);
	assert_int_equal(mkdir(in_pid(c.pid, ""), 0700), 0);
	/* fields 3 to 22: state S, then 18 zeros, start time 4242 */
	put(in_pid(c.pid, "stat"), "1 (postgres) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 4242 0 0\n");
	assert_int_equal(mkdir(in_pid(c.pid, "root"), 0700), 0);
	assert_int_equal(mkdir(in_pid(c.pid, "root/run"), 0700), 0);
	assert_int_equal(mkdir(in_pid(c.pid, "root/run/pg"), 0700), 0);
	put(in_pid(c.pid, "root/run/pg/.s.PGSQL.5432"), "");
	assert_true((pfd = open(at("proc"), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);

	assert_int_equal(pgsql_connect_at(pfd, &c, NULL, &conn, &err), -ENOTSOCK);
	assert_null(conn);
	assert_non_null(err);
	assert_string_equal(err, "socket '/run/pg/.s.PGSQL.5432' is not a socket");
	free(err);
	err = NULL;
	/* the fd is the caller's: still open */
	assert_int_equal(fcntl(pfd, F_GETFD), FD_CLOEXEC);
	close(pfd);

	/* the real /proc: this process started at another tick */
	assert_int_equal(pgsql_connect_at(-1, &c, NULL, &conn, &err), -ESRCH);
	assert_non_null(err);
	assert_string_equal(err, "cannot reach the postmaster's files: it is gone");
	free(err);
	err = NULL;
	assert_int_equal(pgsql_connect(&c, NULL, &conn, &err), -ESRCH);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_at_fixture),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
