/* SPDX-License-Identifier: MIT */
/*
 * pgstorm -- test and bench helper: a connection storm, or a login probe.
 *
 * Owns: the client side of the headroom tests and bench.  It judges
 * nothing; it counts what the server did and prints it.
 *
 *   pgstorm -s -c CLIENTS [-b BACKOFF_MS] [-1] -t SECONDS [-o OUTFILE] CONNINFO
 *   pgstorm -p INTERVAL_MS -t SECONDS [-o OUTFILE] CONNINFO
 *
 * -s (storm): CLIENTS clients, each opening one idle session as fast as it
 * can (non-blocking libpq, one poll loop) and opening another the moment
 * the server refuses it ("too many clients") or ends it.  With -b, a
 * client the server refused waits BACKOFF_MS before it tries again, as a
 * connection pool does (one the server cut reconnects at once).  With -1,
 * a client the server cut stays away (a burst of logins, not a storm).
 * At the end it writes "attempts A accepted B refused R cut C".
 *
 * -p (probe): one login every INTERVAL_MS (a login that takes longer
 * delays the next one), each a full connection (connect_timeout 2 s) and a
 * "select 1", then a disconnect.  At the end it writes "attempts A ok B
 * failed F" and, for every failed login, a line "fail MESSAGE" (the first
 * 5).
 *
 * Both stop after SECONDS, or at SIGTERM/SIGINT (and still write).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_CLIENTS 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct client {
	PGconn *conn;
	PostgresPollingStatusType poll;
	int up;                    /* 1: an idle session; 0: logging in */
	long long retry_ms;        /* refused: start again then (0: now) */
};

static int backoff_ms;
static int once;             /* -1: a client cut stays away */

static struct storm_count {
	unsigned long attempts, accepted, refused, cut;
} sc;

static void client_start(struct client *c, const char *conninfo)
{
	PQfinish(c->conn);
	sc.attempts++;
	c->up = 0;
	c->conn = PQconnectStart(conninfo);
	if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD || PQsetnonblocking(c->conn, 1) != 0) {
		c->poll = PGRES_POLLING_FAILED;
		return;
	}
	c->poll = PGRES_POLLING_WRITING;
}

/* One step of C after its socket said so (or it failed). */
static void client_step(struct client *c, const char *conninfo)
{
	if (c->up) {
		/* an idle session: readable means the server said something,
		 * or closed it */
		if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK) {
			sc.cut++;
			if (once) {
				PQfinish(c->conn);
				c->conn = NULL;
				c->up = 0;
				c->retry_ms = -1;
			} else {
				client_start(c, conninfo);
			}
		}
		return;
	}
	if (c->poll != PGRES_POLLING_FAILED)
		c->poll = PQconnectPoll(c->conn);
	if (c->poll == PGRES_POLLING_OK) {
		sc.accepted++;
		c->up = 1;
	} else if (c->poll == PGRES_POLLING_FAILED) {
		sc.refused++;
		PQfinish(c->conn);
		c->conn = NULL;
		c->retry_ms = now_ms() + backoff_ms;
	}
}

static int storm(int n, long long end, const char *conninfo, FILE *out)
{
	struct client *cl = calloc((size_t)n, sizeof(*cl));
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	int i;

	if (!cl || !pf)
		return 1;
	for (i = 0; i < n; i++)
		client_start(&cl[i], conninfo);
	while (!stop && now_ms() < end) {
		long long t = now_ms();
		for (i = 0; i < n; i++) {
			int fd;
			if (!cl[i].conn && cl[i].retry_ms >= 0 && t >= cl[i].retry_ms)
				client_start(&cl[i], conninfo);
			fd = cl[i].conn ? PQsocket(cl[i].conn) : -1;
			pf[i].fd = cl[i].poll == PGRES_POLLING_FAILED ? -1 : fd;
			pf[i].events = cl[i].up || cl[i].poll == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, backoff_ms ? 5 : 50) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++)
			if (cl[i].conn && (pf[i].revents || pf[i].fd < 0))
				client_step(&cl[i], conninfo);
	}
	fprintf(out, "attempts %lu accepted %lu refused %lu cut %lu\n", sc.attempts, sc.accepted, sc.refused,
		sc.cut);
	for (i = 0; i < n; i++)
		PQfinish(cl[i].conn);
	free(cl);
	free(pf);
	return 0;
}

static int probe(int interval, long long end, const char *conninfo, FILE *out)
{
	unsigned long attempts = 0, ok = 0;
	char fails[5][256];
	long long next = now_ms();

	while (!stop && now_ms() < end) {
		long long t = now_ms();
		PGconn *c;
		PGresult *res = NULL;
		if (t < next) {
			usleep((useconds_t)(next - t) * 1000);
			continue;
		}
		next += interval;
		if (next < t)
			next = t;
		attempts++;
		c = PQconnectdb(conninfo);
		if (PQstatus(c) == CONNECTION_OK && (res = PQexec(c, "select 1")) &&
		    PQresultStatus(res) == PGRES_TUPLES_OK) {
			ok++;
		} else if (attempts - ok <= 5) {
			const char *m = PQerrorMessage(c);
			snprintf(fails[attempts - ok - 1], sizeof(fails[0]), "%.*s", (int)strcspn(m, "\n"), m);
		}
		PQclear(res);
		PQfinish(c);
	}
	fprintf(out, "attempts %lu ok %lu failed %lu\n", attempts, ok, attempts - ok);
	for (unsigned long i = 0; i < attempts - ok && i < 5; i++)
		fprintf(out, "fail %s\n", fails[i]);
	return 0;
}

int main(int argc, char **argv)
{
	int opt, n = 0, interval = 0, secs = 0, r;
	const char *outfile = NULL;
	FILE *out = stdout;
	struct sigaction sa = { .sa_handler = on_signal };

	while ((opt = getopt(argc, argv, "sc:b:1p:t:o:")) != -1) {
		switch (opt) {
		case 's':
			break;
		case 'b':
			backoff_ms = atoi(optarg);
			break;
		case '1':
			once = 1;
			break;
		case 'c':
			n = atoi(optarg);
			break;
		case 'p':
			interval = atoi(optarg);
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || secs <= 0 || (n <= 0) == (interval <= 0) || n > MAX_CLIENTS)
		goto usage;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (outfile && !(out = fopen(outfile, "w"))) {
		fprintf(stderr, "pgstorm: %s: %s\n", outfile, strerror(errno));
		return 1;
	}
	if (n > 0)
		r = storm(n, now_ms() + secs * 1000LL, argv[optind], out);
	else
		r = probe(interval, now_ms() + secs * 1000LL, argv[optind], out);
	if (fclose(out) != 0)
		return 1;
	return r;
usage:
	fprintf(stderr, "usage: pgstorm -s -c CLIENTS [-b MS] [-1] -t SECONDS [-o OUT] CONNINFO | -p MS -t SECONDS [-o OUT] CONNINFO\n");
	return 2;
}
