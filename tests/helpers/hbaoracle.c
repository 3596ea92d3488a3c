/* SPDX-License-Identifier: MIT */
/*
 * hbaoracle.c -- test helper: PostgreSQL's own verdict on pg_hba.conf
 * files, for the differential test (tests/integration/hba_diff.bats).
 *
 *   hbaoracle -c CONNINFO -t TARGET FILE...
 *
 * For each FILE: its bytes written over TARGET (the test cluster's own
 * pg_hba.conf, never another), then pg_hba_file_rules asked (it reads the
 * file on disk; nothing is reloaded).  Prints one line per FILE:
 * "FILE ok" or "FILE refused LINE: ERROR" -- refused when a row has an
 * error or a NULL type (PostgreSQL 15 shows some failed lines as rows of
 * NULLs, error included), or when there is no row at all (load_hba: "contains no
 * entries").  One connection for all files.  Exit 0, or 1 on a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

static int copy_over(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, r = -1;
	ssize_t n;

	if (in < 0)
		return -1;
	/* truncate in place: owner and mode stay the cluster's */
	if ((out = open(to, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
		goto done;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	r = n == 0 ? 0 : -1;
done:
	if (out >= 0 && close(out) < 0)
		r = -1;
	close(in);
	return r;
}

int main(int argc, char **argv)
{
	const char *conninfo = NULL, *target = NULL;
	PGconn *conn;
	int c, i, status = 0;

	while ((c = getopt(argc, argv, "c:t:")) != -1) {
		if (c == 'c')
			conninfo = optarg;
		else if (c == 't')
			target = optarg;
		else
			goto usage;
	}
	if (!conninfo || !target || optind >= argc)
		goto usage;
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "hbaoracle: cannot connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	for (i = optind; i < argc; i++) {
		PGresult *res;

		if (copy_over(argv[i], target) < 0) {
			fprintf(stderr, "hbaoracle: cannot copy '%s' over '%s': %s\n", argv[i], target, strerror(errno));
			status = 1;
			break;
		}
		res = PQexec(conn, "SELECT (SELECT count(*) FROM pg_hba_file_rules),"
				   " (SELECT coalesce(line_number::text, '?') || ': ' || coalesce(error, '(no message)')"
				   "  FROM pg_hba_file_rules WHERE error IS NOT NULL OR type IS NULL"
				   "  ORDER BY line_number LIMIT 1)");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "hbaoracle: '%s': %s", argv[i], PQerrorMessage(conn));
			PQclear(res);
			status = 1;
			break;
		}
		if (!PQgetisnull(res, 0, 1))
			printf("%s refused %s\n", argv[i], PQgetvalue(res, 0, 1));
		else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
			printf("%s refused 0: contains no entries\n", argv[i]);
		else
			printf("%s ok\n", argv[i]);
		PQclear(res);
	}
	PQfinish(conn);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
usage:
	fprintf(stderr, "usage: hbaoracle -c CONNINFO -t TARGET FILE...\n");
	return 2;
}
