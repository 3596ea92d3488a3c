/*
 * pgsql.c -- the libpq adapter (see pgsql.h).
 *
 * Every round trip has a client-side deadline: the connection through
 * PQconnectStartParams/PQconnectPoll, each statement through
 * PQsendQueryParams/PQconsumeInput, each waiting in poll(2) on the
 * socket.  A server that stops answering costs at most that deadline (the
 * connection is then given up), and an interrupt (pgsql_set_interrupt)
 * ends any wait within POLL_SLICE_MS.  No password source is ever read:
 * passfile=NO_PASSFILE comes before any --dsn, and main() clears the PG*
 * environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgevict/clock.h"
#include "pgevict/netns.h"
#include "pgevict/pgsql.h"
#include "pgevict/procfs.h"

#define CONNECT_TIMEOUT_S "3"
#define CONNECT_DEADLINE_MS 3000     /* connection and authentication */
#define STATEMENT_DEADLINE_MS 5000   /* each statement, client side */
#define POLL_SLICE_MS 100            /* an interrupt is seen this soon */
#define STATEMENT_TIMEOUT "-c statement_timeout=5000 -c lock_timeout=2000"
/* A password file that cannot exist (/dev/null is no directory), so that
 * libpq reads none and says nothing (of /dev/null itself it warns on
 * stderr that it is not a plain file). */
#define NO_PASSFILE "/dev/null/none"

/* What ends a wait early (pgsql_set_interrupt). */
static struct {
	int wake_fd;
	bool (*stop)(void *arg);
	void *arg;
} irq = { -1, NULL, NULL };

void pgsql_set_interrupt(int wake_fd, bool (*stop)(void *arg), void *arg)
{
	irq.wake_fd = stop ? wake_fd : -1;
	irq.stop = stop;
	irq.arg = arg;
}

static bool interrupted(void)
{
	return irq.stop && irq.stop(irq.arg);
}

/* A malloc'd copy of libpq's message on one line. */
static char *one_line(const char *msg)
{
	char *s = strdup(msg && *msg ? msg : "unknown error"), *p;

	if (!s)
		return NULL;
	for (p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (p > s && p[-1] == ' ')
		*--p = '\0';
	return s;
}

/* Set *RET_ERR (when it is not set yet) to MSG and return R. */
static int fail(char **ret_err, int r, const char *msg)
{
	if (ret_err && !*ret_err)
		*ret_err = one_line(msg);
	return r;
}

/*
 * Wait until FD has EVENTS, or until DEADLINE (-ETIMEDOUT: "server did not
 * answer within LIMIT_MS"), or an interrupt (-EINTR).  A signal that
 * interrupts poll(2) only makes it look again.
 */
static int wait_sock(int fd, short events, long long deadline, int limit_ms, char **ret_err)
{
	bool use_wake = irq.wake_fd >= 0;
	char msg[64];

	if (fd < 0)
		return fail(ret_err, -EIO, "no connection to the server");
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = irq.wake_fd, .events = POLLIN } };
		long long left = deadline - clock_mono_ms();
		int n;

		if (interrupted())
			return fail(ret_err, -EINTR, "interrupted");
		if (left <= 0) {
			snprintf(msg, sizeof(msg), "server did not answer within %d s", limit_ms / 1000);
			return fail(ret_err, -ETIMEDOUT, msg);
		}
		if (irq.stop && left > POLL_SLICE_MS)
			left = POLL_SLICE_MS;
		n = poll(p, use_wake ? 2 : 1, (int)left);
		if (n < 0 && errno != EINTR)
			return fail(ret_err, -errno, strerror(errno));
		if (n <= 0)
			continue;
		if (p[0].revents)
			return 0;
		/* the wake fd: asked now; if it stays readable without
		 * stopping us, the slices alone will do */
		if (p[1].revents && !interrupted())
			use_wake = false;
	}
}

/* Become UID/GID (effective ids) when root and UID is not root; *RET_WAS
 * keeps what to go back to.  0 or -errno. */
struct ident {
	bool switched;
	uid_t euid;
	gid_t egid;
};

static int become(uid_t uid, gid_t gid, bool want, struct ident *ret_was)
{
	ret_was->switched = false;
	ret_was->euid = geteuid();
	ret_was->egid = getegid();
	if (!want || ret_was->euid != 0 || uid == 0)
		return 0;
	if (setegid(gid) < 0 || seteuid(uid) < 0) {
		int e = errno;
		if (setegid(ret_was->egid) < 0)
			abort();
		return -e;
	}
	ret_was->switched = true;
	return 0;
}

static void unbecome(struct ident *was)
{
	if (was->switched && (seteuid(was->euid) < 0 || setegid(was->egid) < 0))
		abort();        /* never go on with the wrong identity */
	was->switched = false;
}

/*
 * Connect with KEYS/VALS, as ID (the effective uid peer authentication
 * reads at connect(), kept for the whole exchange, whichever way it ends).
 * 0 with a working *RET_CONN; else -ECONNREFUSED (libpq's message in
 * *RET_ERR), -ETIMEDOUT, -EINTR or -errno; *RET_CONN is then the failed
 * connection (for its message; NULL when there is none) to PQfinish.
 */
static int connect_poll(const char *const *keys, const char *const *vals, int expand, uid_t uid, gid_t gid,
			bool as_uid, PGconn **ret_conn, char **ret_err)
{
	long long deadline = clock_mono_ms() + CONNECT_DEADLINE_MS;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct ident was;
	PGconn *conn = NULL;
	int r;

	*ret_conn = NULL;
	if (interrupted())
		return fail(ret_err, -EINTR, "interrupted");
	if ((r = become(uid, gid, as_uid, &was)) < 0)
		return fail(ret_err, r, strerror(-r));
	conn = PQconnectStartParams(keys, vals, expand);
	if (!conn) {
		r = -ENOMEM;
		goto out;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		r = fail(ret_err, -ECONNREFUSED, PQerrorMessage(conn));
		goto out;
	}
	for (;;) {
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED) {
			r = fail(ret_err, -ECONNREFUSED, PQerrorMessage(conn));
			goto out;
		}
		r = wait_sock(PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline,
			      CONNECT_DEADLINE_MS, ret_err);
		if (r < 0)
			goto out;
		st = PQconnectPoll(conn);
	}
	/* from here on nothing waits without a deadline, PQfinish included */
	r = PQsetnonblocking(conn, 1) == 0 ? 0 : fail(ret_err, -EIO, PQerrorMessage(conn));
out:
	unbecome(&was);
	*ret_conn = conn;
	return r;
}

/*
 * The socket directory of C, resolved inside the postmaster's own root (a
 * container's file tree, its absolute symlinks kept inside it) and
 * opened O_PATH into *RET_DIRFD; HOST gets "/proc/self/fd/N", the path
 * libpq then connects through (it names that very directory, whatever
 * is renamed meanwhile).  SOCKET_DIR/.s.PGSQL.PORT must be a socket (not
 * a link) owned by the cluster's owner.  0, or -errno with *RET_ERR
 * saying why not (-ENOENT when there is no socket).
 */
static int socket_open(const struct pg_cluster *c, int *ret_dirfd, char *host, size_t hostlen, char **ret_err)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char name[32], msg[4200 + 64];
	struct stat st;
	int pfd, rootfd = -1, dfd, r;

	*ret_dirfd = -1;
	if (!c->socket_dir || c->port < 0)
		return fail(ret_err, -ENOENT, "no Unix socket directory in postmaster.pid");
	if (strlen(c->socket_dir) > 4096)
		return fail(ret_err, -ENAMETOOLONG, "socket path too long");
	snprintf(name, sizeof(name), ".s.PGSQL.%d", c->port);
	pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = pfd < 0 ? -errno : procfs_open_root(pfd, c->pid, c->start_ticks, &rootfd);
	if (pfd >= 0)
		close(pfd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot reach the postmaster's files: %s",
			 r == -ESRCH ? "it is gone" : strerror(-r));
		return fail(ret_err, r, msg);
	}
	dfd = (int)syscall(SYS_openat2, rootfd, c->socket_dir, &how, sizeof(how));
	r = dfd < 0 ? -errno : 0;
	close(rootfd);
	if (r == 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot use socket '%s/%s': %s", c->socket_dir, name, strerror(-r));
		if (dfd >= 0)
			close(dfd);
		return fail(ret_err, r, msg);
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(msg, sizeof(msg), "socket '%s/%s' is not a socket", c->socket_dir, name);
		r = fail(ret_err, -ENOTSOCK, msg);
	} else if (st.st_uid != c->owner_uid) {
		snprintf(msg, sizeof(msg), "socket '%s/%s' is owned by uid %u, not by the cluster's owner (uid %u)",
			 c->socket_dir, name, (unsigned)st.st_uid, (unsigned)c->owner_uid);
		r = fail(ret_err, -EPERM, msg);
	}
	if (r < 0) {
		close(dfd);
		return r;
	}
	snprintf(host, hostlen, "/proc/self/fd/%d", dfd);
	*ret_dirfd = dfd;
	return 0;
}

/* libpq names the socket by the path it was given: put the cluster's own
 * socket directory where HOST ("/proc/self/fd/N") stands in *ERR. */
static void name_socket_dir(char **err, const char *host, const char *socket_dir)
{
	char *at, *fixed;

	if (!*err || !(at = strstr(*err, host)))
		return;
	if (asprintf(&fixed, "%.*s%s%s", (int)(at - *err), *err, socket_dir, at + strlen(host)) < 0)
		return;
	free(*err);
	*err = fixed;
}

int pgsql_connect(const struct pg_cluster *c, const char *dsn, PGconn **ret_conn, char **ret_err)
{
	const char *keys[12], *vals[12];
	char port[16], host[32];
	PGconn *conn = NULL;
	int n = 0, dirfd = -1, r;

	*ret_conn = NULL;
	*ret_err = NULL;
	/* no password source, and no encryption to negotiate; a --dsn
	 * (expanded where it stands) may still name its own */
	keys[n] = "passfile"; vals[n++] = NO_PASSFILE;
	keys[n] = "gssencmode"; vals[n++] = "disable";
	if (dsn) {
		keys[n] = "dbname"; vals[n++] = dsn;   /* expanded as a conninfo */
	} else {
		if (c->unverified)
			return fail(ret_err, -EPERM, "not a verified cluster");
		if ((r = socket_open(c, &dirfd, host, sizeof(host), ret_err)) < 0)
			return r;
		snprintf(port, sizeof(port), "%d", c->port);
		keys[n] = "sslmode"; vals[n++] = "disable";
		keys[n] = "host"; vals[n++] = host;
		keys[n] = "port"; vals[n++] = port;
		keys[n] = "user"; vals[n++] = c->owner_name ? c->owner_name : "postgres";
		keys[n] = "dbname"; vals[n++] = "postgres";
	}
	keys[n] = "connect_timeout"; vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "options"; vals[n++] = STATEMENT_TIMEOUT;
	keys[n] = "application_name"; vals[n++] = "pgevict";
	keys[n] = NULL; vals[n] = NULL;

	/* Peer authentication reads the effective uid at connect(). */
	r = connect_poll(keys, vals, 1, c->owner_uid, c->owner_gid, !dsn, &conn, ret_err);
	if (dirfd >= 0) {
		close(dirfd);
		name_socket_dir(ret_err, host, c->socket_dir);
	}
	if (r < 0) {
		PQfinish(conn);
		return r;
	}
	*ret_conn = conn;
	return 0;
}

/* Give up CONN after a deadline or an interrupt: its socket is shut down
 * (the caller still owns and finishes it), so that nothing waits on it
 * again and a later statement on it fails at once. */
static void give_up(PGconn *conn)
{
	int fd = PQsocket(conn);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	(void)PQconsumeInput(conn);
}

/*
 * Run SQL with NPARAMS text PARAMS, within STATEMENT_DEADLINE_MS.  0 and
 * *RET_RES (its status may be an error: the caller checks it), or
 * -EIO/-ETIMEDOUT/-EINTR with *RET_ERR (one line).
 */
static int exec_sql(PGconn *conn, const char *sql, int nparams, const char *const *params, PGresult **ret_res,
		    char **ret_err)
{
	long long deadline = clock_mono_ms() + STATEMENT_DEADLINE_MS;
	PGresult *res = NULL, *r;
	int rc = 0, f;

	*ret_res = NULL;
	if (interrupted())
		return fail(ret_err, -EINTR, "interrupted");
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return fail(ret_err, -EIO, PQerrorMessage(conn));
	while ((f = PQflush(conn)) == 1) {
		if ((rc = wait_sock(PQsocket(conn), POLLIN | POLLOUT, deadline, STATEMENT_DEADLINE_MS, ret_err)) < 0)
			goto out;
		if (!PQconsumeInput(conn)) {
			rc = fail(ret_err, -EIO, PQerrorMessage(conn));
			goto out;
		}
	}
	if (f < 0) {
		rc = fail(ret_err, -EIO, PQerrorMessage(conn));
		goto out;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			if ((rc = wait_sock(PQsocket(conn), POLLIN, deadline, STATEMENT_DEADLINE_MS, ret_err)) < 0)
				goto out;
			if (!PQconsumeInput(conn)) {
				rc = fail(ret_err, -EIO, PQerrorMessage(conn));
				goto out;
			}
		}
		if (!(r = PQgetResult(conn)))
			break;
		/* one statement, one result; an error wins */
		if (!res || (PQresultStatus(r) == PGRES_FATAL_ERROR && PQresultStatus(res) != PGRES_FATAL_ERROR)) {
			PQclear(res);
			res = r;
		} else {
			PQclear(r);
		}
	}
	if (!res)
		rc = fail(ret_err, -EIO, PQerrorMessage(conn));
out:
	if (rc == -ETIMEDOUT || rc == -EINTR)
		give_up(conn);
	if (rc < 0) {
		PQclear(res);
		return rc;
	}
	*ret_res = res;
	return 0;
}

/* exec_sql that wants status WANT: 0 and *RET_RES, or -errno with the
 * result's message in *RET_ERR. */
static int run_sql(PGconn *conn, const char *sql, int nparams, const char *const *params, ExecStatusType want,
		   PGresult **ret_res, char **ret_err)
{
	int r = exec_sql(conn, sql, nparams, params, ret_res, ret_err);

	if (r < 0)
		return r;
	if (PQresultStatus(*ret_res) != want) {
		r = fail(ret_err, -EIO, PQresultErrorMessage(*ret_res));
		PQclear(*ret_res);
		*ret_res = NULL;
	}
	return r;
}

static char *dup_or_null(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

static int64_t us_or_unknown(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? TIME_UNKNOWN : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pgsql_activity_clear(struct pgsql_activity *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++) {
		struct pgsql_row *w = &a->v[i];
		free(w->usename);
		free(w->datname);
		free(w->application_name);
		free(w->state);
		free(w->backend_type);
		free(w->query);
		free(w->client_addr);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int pgsql_activity(PGconn *conn, struct pgsql_activity *ret, char **ret_err)
{
	static const char sql[] =
		"SELECT pid, usename, datname, application_name, state, backend_type, query,"
		" host(client_addr), client_port,"
		" (extract(epoch FROM backend_start) * 1000000)::bigint,"
		" (extract(epoch FROM state_change) * 1000000)::bigint,"
		" (extract(epoch FROM xact_start) * 1000000)::bigint,"
		" (extract(epoch FROM query_start) * 1000000)::bigint"
		" FROM pg_stat_activity WHERE pid <> pg_backend_pid()";
	PGresult *r;
	int i, n, rc;
	size_t k = 0;

	memset(ret, 0, sizeof(*ret));
	*ret_err = NULL;
	ret->self_pid = PQbackendPID(conn);
	if ((rc = run_sql(conn, sql, 0, NULL, PGRES_TUPLES_OK, &r, ret_err)) < 0)
		return rc;
	n = PQntuples(r);
	ret->v = calloc(n ? (size_t)n : 1, sizeof(*ret->v));
	if (!ret->v) {
		PQclear(r);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct pgsql_row *w = &ret->v[k++];
		w->pid = (pid_t)atoi(PQgetvalue(r, i, 0));
		w->usename = dup_or_null(r, i, 1);
		w->datname = dup_or_null(r, i, 2);
		w->application_name = dup_or_null(r, i, 3);
		w->state = dup_or_null(r, i, 4);
		w->backend_type = dup_or_null(r, i, 5);
		w->query = dup_or_null(r, i, 6);
		w->client_addr = dup_or_null(r, i, 7);
		w->client_port = PQgetisnull(r, i, 8) ? -1 : atoi(PQgetvalue(r, i, 8));
		w->backend_start_us = us_or_unknown(r, i, 9);
		w->state_change_us = us_or_unknown(r, i, 10);
		w->xact_start_us = us_or_unknown(r, i, 11);
		w->query_start_us = us_or_unknown(r, i, 12);
	}
	ret->n = k;
	PQclear(r);
	return 0;
}

int pgsql_hba_file(PGconn *conn, char **ret_path)
{
	PGresult *r = NULL;
	char *err = NULL;
	int ret = run_sql(conn, "SELECT current_setting('hba_file')", 0, NULL, PGRES_TUPLES_OK, &r, &err);

	free(err);
	if (ret < 0)
		return ret;
	ret = -EIO;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*ret_path = strdup(PQgetvalue(r, 0, 0));
		ret = *ret_path ? 0 : -ENOMEM;
	}
	PQclear(r);
	return ret;
}

void pgsql_close(PGconn *conn)
{
	if (conn)
		PQfinish(conn);
}

/* A PostgreSQL array literal of the N values: "{1,2,3}" of PIDS, or of
 * US as epoch seconds ("{1700000000.123456,...}") when PIDS is NULL. */
static char *pg_array(size_t n, const pid_t *pids, const int64_t *us)
{
	size_t cap = n * 24 + 3, len = 0, i;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[len++] = '{';
	for (i = 0; i < n; i++) {
		if (pids)
			len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", (int)pids[i]);
		else
			len += (size_t)snprintf(s + len, cap - len, "%s%lld.%06lld", i ? "," : "",
						(long long)(us[i] / 1000000), (long long)(us[i] % 1000000));
	}
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

int pgsql_signal_backends(PGconn *conn, bool cancel, const pid_t *pids, const int64_t *start_us,
			  size_t n, bool *ret_ok, char **ret_err)
{
	static const char term[] =
		"SELECT p.pid, pg_terminate_backend(p.pid)"
		" FROM unnest($1::int[], $2::float8[]) AS p(pid, start)"
		" JOIN pg_stat_activity a ON a.pid = p.pid"
		"  AND abs(extract(epoch FROM a.backend_start) - p.start) < 2"
		" WHERE a.pid <> pg_backend_pid()";
	static const char canc[] =
		"SELECT p.pid, pg_cancel_backend(p.pid)"
		" FROM unnest($1::int[], $2::float8[]) AS p(pid, start)"
		" JOIN pg_stat_activity a ON a.pid = p.pid"
		"  AND abs(extract(epoch FROM a.backend_start) - p.start) < 2"
		" WHERE a.pid <> pg_backend_pid()";
	const char *params[2];
	char *a = NULL, *b = NULL;
	PGresult *r = NULL;
	size_t i;
	int k, ret = 0;

	*ret_err = NULL;
	for (i = 0; i < n; i++)
		ret_ok[i] = false;
	a = pg_array(n, pids, NULL);
	b = pg_array(n, NULL, start_us);
	if (!a || !b) {
		ret = -ENOMEM;
		goto out;
	}
	params[0] = a;
	params[1] = b;
	if ((ret = run_sql(conn, cancel ? canc : term, 2, params, PGRES_TUPLES_OK, &r, ret_err)) < 0)
		goto out;
	for (k = 0; k < PQntuples(r); k++) {
		pid_t pid = (pid_t)atoi(PQgetvalue(r, k, 0));
		bool ok = strcmp(PQgetvalue(r, k, 1), "t") == 0;
		for (i = 0; i < n; i++)
			if (pids[i] == pid)
				ret_ok[i] = ok;
	}
out:
	PQclear(r);
	free(a);
	free(b);
	return ret;
}

int pgsql_backend_state(PGconn *conn, pid_t pid, char **ret_state)
{
	char p[16];
	const char *params[1] = { p };
	PGresult *r = NULL;
	char *err = NULL;
	int ret;

	snprintf(p, sizeof(p), "%d", (int)pid);
	*ret_state = NULL;
	ret = run_sql(conn, "SELECT state FROM pg_stat_activity WHERE pid = $1::int", 1, params, PGRES_TUPLES_OK,
		      &r, &err);
	free(err);
	if (ret < 0)
		return ret;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && !(*ret_state = strdup(PQgetvalue(r, 0, 0))))
		ret = -ENOMEM;
	PQclear(r);
	return ret;
}

const char *probe_result_name(enum probe_result r)
{
	switch (r) {
	case PROBE_PASSED: return "passed pg_hba.conf";
	case PROBE_HBA_REJECT: return "rejected by pg_hba.conf";
	case PROBE_NO_ENTRY: return "no pg_hba.conf entry";
	case PROBE_SLOTS: return "no connection slot";
	case PROBE_UNREACHABLE: return "unreachable";
	case PROBE_OTHER: return "other error";
	}
	return "?";
}

enum probe_result pgsql_probe(const struct pg_cluster *c, const char *host, const char *user,
			      const char *db, bool as_owner, char **ret_msg)
{
	const char *keys[11], *vals[11];
	char port[16], sockhost[32], *err = NULL;
	PGconn *conn = NULL;
	const char *msg;
	enum probe_result res;
	int n = 0, dirfd = -1, saved = -1, r;

	if (ret_msg)
		*ret_msg = NULL;
	if (!host && (r = socket_open(c, &dirfd, sockhost, sizeof(sockhost), ret_msg)) < 0)
		return r == -ENOENT ? PROBE_UNREACHABLE : PROBE_OTHER;
	snprintf(port, sizeof(port), "%d", c->port);
	keys[n] = "host"; vals[n++] = host ? host : sockhost;
	keys[n] = "port"; vals[n++] = port;
	keys[n] = "user"; vals[n++] = user;
	keys[n] = "dbname"; vals[n++] = db;
	keys[n] = "connect_timeout"; vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "sslmode"; vals[n++] = "disable";
	keys[n] = "gssencmode"; vals[n++] = "disable";
	keys[n] = "application_name"; vals[n++] = "pgevict-probe";
	keys[n] = "passfile"; vals[n++] = NO_PASSFILE;   /* never a password */
	keys[n] = NULL; vals[n] = NULL;
	/* Over TCP from inside the cluster's network namespace: its own
	 * loopback and addresses, never a server of ours on the same port. */
	if (host && (c->ns_own & NS_NET)) {
		int pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = pfd < 0 ? -errno : netns_enter(pfd, c->pid, c->netns, 0, &saved);
		if (pfd >= 0)
			close(pfd);
		if (r < 0) {
			if (ret_msg)
				*ret_msg = one_line(r == -ESRCH ? "the postmaster is gone" : strerror(-r));
			return PROBE_UNREACHABLE;
		}
	}
	r = connect_poll(keys, vals, 0, c->owner_uid, c->owner_gid, as_owner, &conn, &err);
	netns_leave(saved);
	if (dirfd >= 0)
		close(dirfd);
	if (r == -ENOMEM && !conn) {
		free(err);
		return PROBE_OTHER;
	}
	msg = r == -ETIMEDOUT || r == -EINTR || !conn ? (err ? err : strerror(-r)) : PQerrorMessage(conn);
	if (r == 0)
		res = PROBE_PASSED;
	else if (r == -ETIMEDOUT)
		res = PROBE_UNREACHABLE;
	else if (r == -EINTR)
		res = PROBE_OTHER;
	else if (strstr(msg, "pg_hba.conf rejects connection"))
		res = PROBE_HBA_REJECT;
	else if (strstr(msg, "no pg_hba.conf entry"))
		res = PROBE_NO_ENTRY;
	else if (strstr(msg, "too many clients") || strstr(msg, "connection slots are reserved") ||
		 strstr(msg, "too many connections for"))
		res = PROBE_SLOTS;
	else if (strstr(msg, "does not exist") || strstr(msg, "password") ||
		 strstr(msg, "authentication failed") || strstr(msg, "not permitted to log in") ||
		 strstr(msg, "is not currently accepting connections"))
		res = PROBE_PASSED;  /* PostgreSQL got past pg_hba.conf */
	else if (strstr(msg, "could not connect") || strstr(msg, "Connection refused") ||
		 strstr(msg, "timeout") || strstr(msg, "No such file"))
		res = PROBE_UNREACHABLE;
	else
		res = PROBE_OTHER;
	if (ret_msg) {
		*ret_msg = one_line(r == 0 ? "connected" : msg);
		if (dirfd >= 0)
			name_socket_dir(ret_msg, sockhost, c->socket_dir);
	}
	free(err);
	PQfinish(conn);
	return res;
}

int pgsql_hba_errors(PGconn *conn, char **ret_err)
{
	PGresult *r;
	int rc;

	*ret_err = NULL;
	/* PG15 shows some refused lines (clientcert=1, radiusports=x) as a
	 * row of NULLs, error included: a NULL type is a refusal too */
	rc = run_sql(conn, "SELECT coalesce(line_number::text, '?'), coalesce(error, 'line refused')"
			   " FROM pg_hba_file_rules WHERE error IS NOT NULL OR type IS NULL"
			   " ORDER BY line_number LIMIT 1", 0, NULL, PGRES_TUPLES_OK, &r, ret_err);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		if (asprintf(ret_err, "line %s: %s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)) < 0)
			*ret_err = NULL;
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/* Read a boolean with SELECT_SQL ($1 = NAME), then run "ALTER KIND
 * <NAME quoted> CLAUSE".  -ENOENT when SELECT finds no row. */
static int set_flag(PGconn *conn, const char *select_sql, const char *kind, const char *clause,
		    const char *name, bool apply, bool *ret_was, char **ret_err)
{
	const char *params[1] = { name };
	PGresult *r = NULL;
	char *ident = NULL, *sql = NULL;
	int rc = 0;

	*ret_err = NULL;
	if ((rc = run_sql(conn, select_sql, 1, params, PGRES_TUPLES_OK, &r, ret_err)) < 0)
		goto out;
	if (PQntuples(r) == 0) {
		rc = -ENOENT;
		goto out;
	}
	*ret_was = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	r = NULL;
	if (!apply)
		goto out;
	ident = PQescapeIdentifier(conn, name, strlen(name));
	if (!ident || asprintf(&sql, "ALTER %s %s %s", kind, ident, clause) < 0) {
		sql = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = run_sql(conn, sql, 0, NULL, PGRES_COMMAND_OK, &r, ret_err);
out:
	PQclear(r);
	PQfreemem(ident);
	free(sql);
	return rc;
}

int pgsql_role_login(PGconn *conn, const char *role, bool login, bool apply, bool *ret_was, char **ret_err)
{
	return set_flag(conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
			"ROLE", login ? "LOGIN" : "NOLOGIN", role, apply, ret_was, ret_err);
}

int pgsql_db_connections(PGconn *conn, const char *db, bool allow, bool apply, bool *ret_was, char **ret_err)
{
	return set_flag(conn, "SELECT datallowconn FROM pg_database WHERE datname = $1",
			"DATABASE", allow ? "ALLOW_CONNECTIONS true" : "ALLOW_CONNECTIONS false", db, apply,
			ret_was, ret_err);
}

int pgsql_hba_loaded(PGconn *conn, int64_t mtime_us, bool *ret_loaded, char **ret_err)
{
	PGresult *r;
	int rc;

	*ret_err = NULL;
	rc = run_sql(conn, "SELECT (extract(epoch FROM pg_conf_load_time()) * 1000000)::bigint,"
			   " (SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL OR type IS NULL)", 0, NULL,
			   PGRES_TUPLES_OK,
		     &r, ret_err);
	if (rc < 0)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fail(ret_err, -EIO, "no row from pg_conf_load_time()");
	}
	*ret_loaded = strtoll(PQgetvalue(r, 0, 0), NULL, 10) >= mtime_us && strcmp(PQgetvalue(r, 0, 1), "0") == 0;
	PQclear(r);
	return 0;
}

int pgsql_reload_conf(PGconn *conn)
{
	PGresult *r = NULL;
	char *err = NULL;
	int rc = run_sql(conn, "SELECT pg_reload_conf()", 0, NULL, PGRES_TUPLES_OK, &r, &err);

	free(err);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 0 : -EIO;
	PQclear(r);
	return rc;
}
