/* SPDX-License-Identifier: MIT */
/*
 * pgconns -- test helper: open N real libpq sessions and hold them.
 *
 * Owns: connecting (in parallel batches, so thousands come up quickly),
 * putting each session in the asked-for state, and reporting each
 * session's backend pid and client port.  It does not judge anything: the
 * tests compare what it reports with what pgevict sees.
 *
 *   pgconns -n N [-m idle|active|xact] [-e SQL] -o OUTFILE CONNINFO
 *
 * -e runs SQL once on each session after connecting, before MODE (e.g. a
 * dblink_connect that leaves an outbound connection open).
 * OUTFILE gets one line "BACKEND_PID CLIENT_PORT" per session (port 0 for
 * a Unix socket), then OUTFILE.ready is written.  The sessions are held
 * until SIGTERM or SIGINT; a session the server ends is simply dropped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

/* Connect conns[from..to) concurrently; 0 when all are up. */
static int connect_batch(PGconn **conns, int from, int to, const char *conninfo)
{
	int i, pending = 0;
	struct pollfd *pfd = calloc((size_t)(to - from), sizeof(*pfd));
	PostgresPollingStatusType *st = calloc((size_t)(to - from), sizeof(*st));

	if (!pfd || !st)
		return -1;
	for (i = from; i < to; i++) {
		conns[i] = PQconnectStart(conninfo);
		if (!conns[i] || PQstatus(conns[i]) == CONNECTION_BAD) {
			fprintf(stderr, "pgconns: %s", conns[i] ? PQerrorMessage(conns[i]) : "out of memory\n");
			return -1;
		}
		st[i - from] = PGRES_POLLING_WRITING;
		pending++;
	}
	while (pending > 0) {
		int n = 0;
		for (i = from; i < to; i++) {
			PostgresPollingStatusType s = st[i - from];
			pfd[i - from].fd = -1;
			if (s == PGRES_POLLING_OK)
				continue;
			pfd[i - from].fd = PQsocket(conns[i]);
			pfd[i - from].events = s == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			n++;
		}
		if (poll(pfd, (nfds_t)(to - from), 30000) <= 0) {
			fprintf(stderr, "pgconns: connect timed out\n");
			return -1;
		}
		for (i = from; i < to; i++) {
			if (st[i - from] == PGRES_POLLING_OK || !pfd[i - from].revents)
				continue;
			st[i - from] = PQconnectPoll(conns[i]);
			if (st[i - from] == PGRES_POLLING_FAILED) {
				fprintf(stderr, "pgconns: %s", PQerrorMessage(conns[i]));
				return -1;
			}
			if (st[i - from] == PGRES_POLLING_OK)
				pending--;
		}
		(void)n;
	}
	free(pfd);
	free(st);
	return 0;
}

static int set_mode(PGconn *c, const char *mode)
{
	PGresult *r;

	if (strcmp(mode, "idle") == 0)
		return 0;
	if (strcmp(mode, "active") == 0)
		return PQsendQuery(c, "SELECT pg_sleep(3600)") ? 0 : -1;
	if (strcmp(mode, "xact") == 0) {
		r = PQexec(c, "BEGIN; SELECT 1");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			PQclear(r);
			return -1;
		}
		PQclear(r);
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	int n = 1, opt, i;
	const char *mode = "idle", *out = NULL, *sql = NULL;
	PGconn **conns;
	FILE *f;
	char ready[4096];
	struct rlimit rl;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "n:m:o:e:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'o': out = optarg; break;
		case 'e': sql = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !out || n < 1) {
		fprintf(stderr, "usage: pgconns -n N [-m idle|active|xact] [-e SQL] -o OUTFILE CONNINFO\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	conns = calloc((size_t)n, sizeof(*conns));
	if (!conns)
		return 1;
	for (i = 0; i < n; i += 100) {
		int to = i + 100 < n ? i + 100 : n;
		if (connect_batch(conns, i, to, argv[optind]) < 0)
			return 1;
	}
	f = fopen(out, "w");
	if (!f)
		return 1;
	for (i = 0; i < n; i++) {
		if (sql) {
			PGresult *r = PQexec(conns[i], sql);
			ExecStatusType st = PQresultStatus(r);
			PQclear(r);
			if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
				fprintf(stderr, "pgconns: %s", PQerrorMessage(conns[i]));
				return 1;
			}
		}
		if (set_mode(conns[i], mode) < 0) {
			fprintf(stderr, "pgconns: cannot set mode '%s': %s", mode, PQerrorMessage(conns[i]));
			return 1;
		}
		fprintf(f, "%d %d\n", PQbackendPID(conns[i]), client_port(conns[i]));
	}
	if (fclose(f) != 0)
		return 1;
	snprintf(ready, sizeof(ready), "%s.ready", out);
	f = fopen(ready, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", n);
	fclose(f);

	while (!stop)
		pause();
	for (i = 0; i < n; i++)
		PQfinish(conns[i]);
	free(conns);
	return 0;
}
