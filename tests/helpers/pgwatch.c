/* SPDX-License-Identifier: MIT */
/*
 * pgwatch -- test helper: one libpq session that reports how it ends.
 *
 * Owns: connecting, then either sitting idle with its socket watched
 * (idle) or streaming a large result row by row for as long as it lasts
 * (stream), and writing down what the client saw when the connection
 * went away.  It does not judge: the tests read its files.
 *
 *   pgwatch -m idle|stream -o OUTFILE CONNINFO
 *
 * OUTFILE gets "BACKEND_PID CLIENT_PORT" once the session is up (in
 * stream mode, once rows are flowing), then OUTFILE.ready is written.
 * When the connection fails, OUTFILE.err gets libpq's message (e.g.
 * "server closed the connection unexpectedly"), in idle mode after a
 * first line with what recv said ("recv: Connection reset by peer" for a
 * RST, "recv: end of stream" for a FIN) and a second with when
 * ("at_ns: " CLOCK_REALTIME in nanoseconds), and pgwatch exits 0.  SIGTERM or SIGINT: exit 1.  A session that
 * could not come up: exit 2.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int client_port(PGconn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(PQsocket(c), (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int report_ready(PGconn *c, const char *out)
{
	char line[64], ready[4096];

	snprintf(line, sizeof(line), "%d %d\n", PQbackendPID(c), client_port(c));
	snprintf(ready, sizeof(ready), "%s.ready", out);
	if (write_file(out, line) < 0 || write_file(ready, "1\n") < 0) {
		perror("pgwatch: cannot write");
		return -1;
	}
	return 0;
}

static int report_end(const char *out, const char *msg)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s.err", out);
	return write_file(path, msg && *msg ? msg : "connection lost\n") < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = "idle", *out = NULL;
	struct sigaction sa;
	PGconn *c;
	int opt;

	while ((opt = getopt(argc, argv, "m:o:")) != -1) {
		if (opt == 'm')
			mode = optarg;
		else if (opt == 'o')
			out = optarg;
		else
			break;
	}
	if (!out || optind != argc - 1 || (strcmp(mode, "idle") != 0 && strcmp(mode, "stream") != 0)) {
		fprintf(stderr, "usage: pgwatch -m idle|stream -o OUTFILE CONNINFO\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	c = PQconnectdb(argv[optind]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pgwatch: %s", PQerrorMessage(c));
		PQfinish(c);
		return 2;
	}
	if (strcmp(mode, "idle") == 0) {
		if (report_ready(c, out) < 0)
			return 2;
		while (!stop) {
			struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
			int r = poll(&p, 1, 1000);
			if (r < 0 && errno != EINTR)
				break;
			if (r > 0) {
				/* how the socket ended, before libpq words it */
				char b, msg[1024];
				ssize_t n = recv(PQsocket(c), &b, 1, MSG_PEEK | MSG_DONTWAIT);
				int rc, e = errno;
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				if (n > 0 && PQconsumeInput(c) && PQstatus(c) != CONNECTION_BAD)
					continue;
				snprintf(msg, sizeof(msg), "recv: %s\nat_ns: %lld\n%s", n < 0 ? strerror(e) : "end of stream",
					 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, PQerrorMessage(c));
				rc = report_end(out, msg);
				PQfinish(c);
				return rc;
			}
		}
	} else {
		long rows = 0;
		PGresult *res;
		/* in the target list, so rows stream (a FROM-clause function
		 * would be materialized first) */
		if (!PQsendQuery(c, "select repeat('x', 500), generate_series(1, 1000000000)") ||
		    !PQsetSingleRowMode(c)) {
			fprintf(stderr, "pgwatch: %s", PQerrorMessage(c));
			return 2;
		}
		while (!stop && (res = PQgetResult(c))) {
			ExecStatusType st = PQresultStatus(res);
			PQclear(res);
			if (st == PGRES_SINGLE_TUPLE) {
				if (++rows == 1000 && report_ready(c, out) < 0)
					return 2;
				if (rows % 1000 == 0)
					usleep(1000);     /* a client that keeps reading */
				continue;
			}
			if (st == PGRES_FATAL_ERROR || PQstatus(c) == CONNECTION_BAD) {
				int rc = report_end(out, PQerrorMessage(c));
				PQfinish(c);
				return rc;
			}
		}
	}
	PQfinish(c);
	return 1;
}
