/* SPDX-License-Identifier: MIT */
/*
 * pgsql.c -- the libpq adapter (see pgsql.h): connecting, the probe, and
 * the waits and deadlines every round trip shares (pgsql_int.h); the
 * statements are in pgsql_query.c.
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
#include <pthread.h>
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

#include "pgsql_int.h"

#define CONNECT_TIMEOUT_S "3"
#define CONNECT_DEADLINE_MS 3000     /* connection and authentication */
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

bool pgsql_interrupted(void)
{
	return irq.stop && irq.stop(irq.arg);
}

/* A malloc'd copy of libpq's message on one line. */
char *pgsql_one_line(const char *msg)
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
int pgsql_fail(char **ret_err, int r, const char *msg)
{
	if (ret_err && !*ret_err)
		*ret_err = pgsql_one_line(msg);
	return r;
}

/*
 * Wait until FD has EVENTS, or until DEADLINE (-ETIMEDOUT: "server did not
 * answer within LIMIT_MS"), or an interrupt (-EINTR).  A signal that
 * interrupts poll(2) only makes it look again.
 */
int pgsql_wait_sock(int fd, short events, long long deadline, int limit_ms, char **ret_err)
{
	bool use_wake = irq.wake_fd >= 0;
	char msg[64];

	if (fd < 0)
		return pgsql_fail(ret_err, -EIO, "no connection to the server");
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = irq.wake_fd, .events = POLLIN } };
		long long left = deadline - clock_mono_ms();
		int n;

		if (pgsql_interrupted())
			return pgsql_fail(ret_err, -EINTR, "interrupted");
		if (left <= 0) {
			snprintf(msg, sizeof(msg), "server did not answer within %d s", limit_ms / 1000);
			return pgsql_fail(ret_err, -ETIMEDOUT, msg);
		}
		if (irq.stop && left > POLL_SLICE_MS)
			left = POLL_SLICE_MS;
		n = poll(p, use_wake ? 2 : 1, (int)left);
		if (n < 0 && errno != EINTR)
			return pgsql_fail(ret_err, -errno, strerror(errno));
		if (n <= 0)
			continue;
		if (p[0].revents)
			return 0;
		/* the wake fd: asked now; if it stays readable without
		 * stopping us, the slices alone will do */
		if (p[1].revents && !pgsql_interrupted())
			use_wake = false;
	}
}

/*
 * Become UID/GID (effective ids) when root and UID is not root; *RET_WAS
 * keeps what to go back to.  0 or -errno.  Only the calling thread
 * changes: the raw setresuid/setresgid system calls (glibc's seteuid
 * changes every thread of the process, so `top`'s refresh thread
 * connecting as the cluster owner would turn the screen's thread, writing
 * pg_hba.conf or signalling at that moment, into the owner too).  Peer
 * authentication reads the credentials of the thread that connects.
 */
struct ident {
	bool switched;
	uid_t euid;
	gid_t egid;
};

static int thread_seteuid(uid_t uid)
{
	return syscall(SYS_setresuid, (uid_t)-1, uid, (uid_t)-1) < 0 ? -errno : 0;
}

static int thread_setegid(gid_t gid)
{
	return syscall(SYS_setresgid, (gid_t)-1, gid, (gid_t)-1) < 0 ? -errno : 0;
}

static int become(uid_t uid, gid_t gid, bool want, struct ident *ret_was)
{
	int r;

	ret_was->switched = false;
	ret_was->euid = geteuid();
	ret_was->egid = getegid();
	if (!want || ret_was->euid != 0 || uid == 0)
		return 0;
	if ((r = thread_setegid(gid)) < 0 || (r = thread_seteuid(uid)) < 0) {
		if (thread_setegid(ret_was->egid) < 0)
			abort();
		return r;
	}
	ret_was->switched = true;
	return 0;
}

static void unbecome(struct ident *was)
{
	if (was->switched && (thread_seteuid(was->euid) < 0 || thread_setegid(was->egid) < 0))
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
	if (pgsql_interrupted())
		return pgsql_fail(ret_err, -EINTR, "interrupted");
	if ((r = become(uid, gid, as_uid, &was)) < 0)
		return pgsql_fail(ret_err, r, strerror(-r));
	conn = PQconnectStartParams(keys, vals, expand);
	if (!conn) {
		r = -ENOMEM;
		goto out;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		r = pgsql_fail(ret_err, -ECONNREFUSED, PQerrorMessage(conn));
		goto out;
	}
	for (;;) {
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED) {
			r = pgsql_fail(ret_err, -ECONNREFUSED, PQerrorMessage(conn));
			goto out;
		}
		r = pgsql_wait_sock(PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline,
			      CONNECT_DEADLINE_MS, ret_err);
		if (r < 0)
			goto out;
		st = PQconnectPoll(conn);
	}
	/* from here on nothing waits without a deadline, PQfinish included */
	r = PQsetnonblocking(conn, 1) == 0 ? 0 : pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
out:
	unbecome(&was);
	*ret_conn = conn;
	return r;
}

/*
 * The socket directory of C, resolved inside the postmaster's own root (a
 * container's file tree, its absolute symlinks kept inside it; reached
 * through PROC_DIRFD, or /proc when it is -1) and opened O_PATH into
 * *RET_DIRFD; HOST gets "/proc/self/fd/N", the path libpq then connects
 * through (it names that very directory, whatever is renamed meanwhile;
 * our own fd, so always the real /proc).  SOCKET_DIR/.s.PGSQL.PORT must be a socket (not
 * a link) owned by the cluster's owner.  0, or -errno with *RET_ERR
 * saying why not (-ENOENT when there is no socket).
 */
static int socket_open(int proc_dirfd, const struct pg_cluster *c, int *ret_dirfd, char *host, size_t hostlen,
		       char **ret_err)
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
		return pgsql_fail(ret_err, -ENOENT, "no Unix socket directory in postmaster.pid");
	if (strlen(c->socket_dir) > 4096)
		return pgsql_fail(ret_err, -ENAMETOOLONG, "socket path too long");
	snprintf(name, sizeof(name), ".s.PGSQL.%d", c->port);
	pfd = proc_dirfd >= 0 ? proc_dirfd : open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = pfd < 0 ? -errno : procfs_open_root(pfd, c->pid, c->start_ticks, &rootfd);
	if (pfd >= 0 && pfd != proc_dirfd)
		close(pfd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot reach the postmaster's files: %s",
			 r == -ESRCH ? "it is gone" : strerror(-r));
		return pgsql_fail(ret_err, r, msg);
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
		return pgsql_fail(ret_err, r, msg);
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(msg, sizeof(msg), "socket '%s/%s' is not a socket", c->socket_dir, name);
		r = pgsql_fail(ret_err, -ENOTSOCK, msg);
	} else if (st.st_uid != c->owner_uid) {
		snprintf(msg, sizeof(msg), "socket '%s/%s' is owned by uid %u, not by the cluster's owner (uid %u)",
			 c->socket_dir, name, (unsigned)st.st_uid, (unsigned)c->owner_uid);
		r = pgsql_fail(ret_err, -EPERM, msg);
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

/* Our last connections' backends: a ring, newest overwriting oldest. */
#define OWN_MAX 32
#define OWN_AGE_MS 60000
#define OWN_START_SLACK_US 2000000   /* /proc's start time: clock ticks */
static struct own {
	pid_t pm, pid;
	long long at_ms;             /* monotonic, when we connected */
	int64_t at_us;               /* wall clock, the same */
} own[OWN_MAX];
static unsigned own_next;
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;  /* top connects from two threads */

static void own_add(pid_t pm, pid_t pid)
{
	if (pid <= 0)
		return;
	pthread_mutex_lock(&own_lock);
	own[own_next++ % OWN_MAX] = (struct own){ pm, pid, clock_mono_ms(), clock_wall_us() };
	pthread_mutex_unlock(&own_lock);
}

bool pgsql_own_backend(pid_t pm, pid_t pid, int64_t start_us)
{
	long long now = clock_mono_ms();
	bool found = false;
	size_t i;

	pthread_mutex_lock(&own_lock);
	for (i = 0; i < OWN_MAX && !found; i++)
		found = own[i].pid == pid && own[i].pm == pm && own[i].at_ms && now - own[i].at_ms < OWN_AGE_MS &&
			(start_us == TIME_UNKNOWN || start_us <= own[i].at_us + OWN_START_SLACK_US);
	pthread_mutex_unlock(&own_lock);
	return found;
}

int pgsql_connect(const struct pg_cluster *c, const char *dsn, PGconn **ret_conn, char **ret_err)
{
	return pgsql_connect_at(-1, c, dsn, ret_conn, ret_err);
}

int pgsql_connect_at(int proc_dirfd, const struct pg_cluster *c, const char *dsn, PGconn **ret_conn,
		     char **ret_err)
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
			return pgsql_fail(ret_err, -EPERM, "not a verified cluster");
		if ((r = socket_open(proc_dirfd, c, &dirfd, host, sizeof(host), ret_err)) < 0)
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
	own_add(c->pid, PQbackendPID(conn));
	*ret_conn = conn;
	return 0;
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
	if (!host && (r = socket_open(-1, c, &dirfd, sockhost, sizeof(sockhost), ret_msg)) < 0)
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
				*ret_msg = pgsql_one_line(r == -ESRCH ? "the postmaster is gone" : strerror(-r));
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
		*ret_msg = pgsql_one_line(r == 0 ? "connected" : msg);
		if (dirfd >= 0)
			name_socket_dir(ret_msg, sockhost, c->socket_dir);
	}
	free(err);
	PQfinish(conn);
	return res;
}
