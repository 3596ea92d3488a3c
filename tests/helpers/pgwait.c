/* SPDX-License-Identifier: MIT */
/*
 * pgwait.c -- bench helper: connect over and over until PostgreSQL refuses
 * (or accepts) a connection, then print how many milliseconds passed since
 * a given CLOCK_REALTIME start.
 *
 *   pgwait refused|accepted START_NS CONNINFO
 *
 * "refused" waits for "pg_hba.conf rejects connection"; "accepted" for a
 * connection that passes pg_hba.conf (a session, or an error from after
 * it).  One attempt every 2 ms, for at most 20 s (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long start, deadline;
	int want_refused;

	if (argc != 4 || (strcmp(argv[1], "refused") != 0 && strcmp(argv[1], "accepted") != 0)) {
		fprintf(stderr, "usage: pgwait refused|accepted START_NS CONNINFO\n");
		return 2;
	}
	want_refused = strcmp(argv[1], "refused") == 0;
	start = atoll(argv[2]);
	deadline = now_ns() + 20000000000LL;
	while (now_ns() < deadline) {
		PGconn *c = PQconnectdb(argv[3]);
		const char *m = PQerrorMessage(c);
		int refused = PQstatus(c) != CONNECTION_OK && strstr(m, "pg_hba.conf rejects connection");
		int accepted = PQstatus(c) == CONNECTION_OK ||
			       (!refused && !strstr(m, "no pg_hba.conf entry") && strstr(m, "FATAL"));

		PQfinish(c);
		if ((want_refused && refused) || (!want_refused && accepted)) {
			printf("%.1f\n", (double)(now_ns() - start) / 1e6);
			return 0;
		}
		usleep(2000);
	}
	fprintf(stderr, "pgwait: not %s within 20 s\n", argv[1]);
	return 1;
}
