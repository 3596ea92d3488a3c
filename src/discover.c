/*
 * discover.c -- from the host to clusters and sessions (see discover.h).
 *
 * Owns the joins: which process is a postmaster (its cwd holds a
 * postmaster.pid whose first line is its pid), which socket is a child's
 * client (an fd whose inode the kernel lists with the cluster's port as the
 * local port; an outbound dblink connection has its port on the far side),
 * and which pg_stat_activity row is which process (pid and backend start).
 * Policy about what to do with sessions lives in the commands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/discover.h"
#include "pgevict/netns.h"
#include "pgevict/pgconf.h"
#include "pgevict/pgsql.h"
#include "pgevict/pmpid.h"
#include "pgevict/procfs.h"
#include "pgevict/select.h"
#include "pgevict/sockdiag.h"
#include "pgevict/title.h"

#define PMPID_MAX 8192
#define CONF_MAX (4 << 20)

void discovery_clear(struct discovery *d)
{
	if (!d)
		return;
	session_list_clear(&d->sessions);
	cluster_list_clear(&d->clusters);
	cluster_list_clear(&d->unverified);
}

bool discover_cluster_matches(const struct pg_cluster *c, const char *spec)
{
	char *end, real[PATH_MAX];
	long port;

	if (!spec)
		return true;
	errno = 0;
	port = strtol(spec, &end, 10);
	if (*spec && !*end && !errno)
		return port == c->port;
	if (c->cluster_name && strcmp(spec, c->cluster_name) == 0)
		return true;
	if (c->data_dir) {
		if (strcmp(spec, c->data_dir) == 0)
			return true;
		if (realpath(spec, real) && strcmp(real, c->data_dir) == 0)
			return true;
	}
	return false;
}

static char *trim_dup(const char *s)
{
	const char *e;
	char *out;

	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	out = malloc((size_t)(e - s) + 1);
	if (out) {
		memcpy(out, s, (size_t)(e - s));
		out[e - s] = '\0';
	}
	return out;
}

/* A path as the postmaster sees it, absolute: relative ones are taken
 * against its data directory. malloc'd. */
static char *abs_path(const char *data_dir, const char *p)
{
	char *out;
	size_t n;

	if (p[0] == '/' || !data_dir)
		return strdup(p);
	n = strlen(data_dir) + strlen(p) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", data_dir, p);
	return out;
}

/* Read an absolute path in the postmaster's mount namespace. */
static int read_in_root(int pfd, pid_t pid, const char *path, char **ret, size_t *ret_len)
{
	char rel[PATH_MAX + 8];

	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "root%s", path);
	return procfs_read(pfd, pid, rel, CONF_MAX, ret, ret_len);
}

/*
 * A setting the postmaster was started with: its command line first, then
 * its configuration file and postgresql.auto.conf (the latter wins, as in
 * PostgreSQL).  1 and *ret, 0 when not set, -errno.
 */
static int postmaster_setting(int pfd, const struct pg_cluster *c, const char *argv, size_t argv_len,
			      const char *name, char **ret)
{
	char *conf_path = NULL, *buf = NULL, *v = NULL, *auto_path = NULL;
	size_t len;
	int r;

	*ret = NULL;
	r = pgconf_argv_get(argv, argv_len, name, ret);
	if (r != 0)
		return r;
	r = pgconf_argv_get(argv, argv_len, "config_file", &conf_path);
	if (r < 0)
		return r;
	if (r == 0)
		conf_path = abs_path(c->data_dir, "postgresql.conf");
	else {
		char *a = abs_path(c->data_dir, conf_path);
		free(conf_path);
		conf_path = a;
	}
	if (!conf_path)
		return -ENOMEM;
	if (read_in_root(pfd, c->pid, conf_path, &buf, &len) == 0) {
		r = pgconf_get(buf, len, name, &v);
		free(buf);
		buf = NULL;
		if (r < 0)
			goto out;
	}
	auto_path = abs_path(c->data_dir, "postgresql.auto.conf");
	if (auto_path && read_in_root(pfd, c->pid, auto_path, &buf, &len) == 0) {
		char *av = NULL;
		r = pgconf_get(buf, len, name, &av);
		if (r < 0)
			goto out;
		if (av) {
			free(v);
			v = av;
		}
	}
	*ret = v;
	v = NULL;
	r = *ret ? 1 : 0;
out:
	free(v);
	free(buf);
	free(conf_path);
	free(auto_path);
	return r;
}

/* Is E a postmaster?  1 and *ret when it is, 0 when not, -ENOMEM. */
static int load_cluster(int pfd, const struct proc_entry *e, struct pg_cluster **ret)
{
	struct pmpid pm;
	struct pg_cluster *c = NULL;
	char *buf = NULL, *argv = NULL, *v = NULL;
	size_t len, argv_len = 0;
	struct stat st;
	pid_t inner;
	int r;

	*ret = NULL;
	if (procfs_read(pfd, e->pid, "cwd/postmaster.pid", PMPID_MAX, &buf, &len) < 0)
		return 0;
	r = pmpid_parse(buf, len, &pm);
	free(buf);
	buf = NULL;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	/* Its own pid, or its own pid as seen inside a container. */
	if (pm.pid != e->pid &&
	    !(procfs_inner_pid(pfd, e->pid, &inner) == 0 && inner == pm.pid && inner != e->pid)) {
		pmpid_clear(&pm);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		pmpid_clear(&pm);
		return -ENOMEM;
	}
	c->pid = e->pid;
	c->start_ticks = e->start_ticks;
	c->data_dir = pm.data_dir;
	c->port = pm.port;
	c->socket_dir = pm.socket_dir;
	c->listen_addr = pm.listen_addr;
	c->status = pm.status;
	pm.data_dir = pm.socket_dir = pm.listen_addr = pm.status = NULL;
	c->owner_uid = (uid_t)-1;
	c->owner_gid = (gid_t)-1;
	if (procfs_stat(pfd, e->pid, "cwd", &st) == 0) {
		struct passwd pw, *pwp = NULL;
		char pwbuf[4096];
		c->owner_uid = st.st_uid;
		c->owner_gid = st.st_gid;
		if (getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp)
			c->owner_name = strdup(pw.pw_name);
	}
	if (procfs_read(pfd, e->pid, "cwd/PG_VERSION", 64, &buf, &len) == 0) {
		c->version = trim_dup(buf);
		free(buf);
		buf = NULL;
	}
	procfs_netns(pfd, e->pid, &c->netns);

	procfs_read(pfd, e->pid, "cmdline", 1 << 16, &argv, &argv_len);
	r = postmaster_setting(pfd, c, argv ? argv : "", argv ? argv_len : 0, "hba_file", &v);
	if (r < 0)
		goto fail;
	c->hba_file = abs_path(c->data_dir, v ? v : "pg_hba.conf");
	free(v);
	v = NULL;
	r = postmaster_setting(pfd, c, argv ? argv : "", argv ? argv_len : 0, "cluster_name", &v);
	if (r < 0)
		goto fail;
	if (v && *v)
		c->cluster_name = v;
	else
		free(v);
	free(argv);
	pmpid_clear(&pm);
	*ret = c;
	return 1;
fail:
	free(argv);
	cluster_free(c);
	pmpid_clear(&pm);
	return r;
}

/* One sock_diag table per network namespace. */
struct ns_table {
	unsigned long netns;
	struct sockdiag_table t;
	bool unix_done;
	bool unix_err;
	int err;
};

/* Run the dumps for the clusters of namespace NS->netns.  Enters the
 * namespace of PM_PID when it is not ours. */
static int dump_ns(int pfd, struct ns_table *ns, pid_t pm_pid, unsigned long self_ns,
		   const int *ports, size_t nports, bool want_unix)
{
	int saved, r;

	r = netns_enter(pfd, pm_pid, ns->netns, self_ns, &saved);
	if (r < 0)
		return r;
	if (!want_unix) {
		r = sockdiag_dump_inet(&ns->t, AF_INET, ports, nports);
		if (r == 0)
			r = sockdiag_dump_inet(&ns->t, AF_INET6, ports, nports);
		if (r == -EAFNOSUPPORT || r == -ENOENT)
			r = 0;      /* no IPv6 in this kernel */
	} else {
		r = sockdiag_dump_unix(&ns->t);
		ns->unix_done = true;
	}
	sockdiag_table_sort(&ns->t);
	netns_leave(saved);
	return r;
}

static bool unix_name_is_cluster(const char *name, int port)
{
	char suffix[32];
	size_t n, sl;

	if (!name)
		return false;
	snprintf(suffix, sizeof(suffix), "/.s.PGSQL.%d", port);
	n = strlen(name);
	sl = strlen(suffix);
	return n >= sl && strcmp(name + n - sl, suffix) == 0;
}

static void addr_text(int family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, (socklen_t)len))
		buf[0] = '\0';
	/* Show v4-mapped addresses the way PostgreSQL does: as v4. */
	if (family == AF_INET6 && strncmp(buf, "::ffff:", 7) == 0 && strchr(buf, '.'))
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

static void set_inet(struct session *s, const struct sockdiag_inet *e)
{
	s->transport = TRANSPORT_TCP;
	s->family = e->family;
	s->socket_inode = e->inode;
	s->tcp_state = e->state;
	s->cookie[0] = e->cookie[0];
	s->cookie[1] = e->cookie[1];
	memcpy(s->local_raw, e->src, sizeof(s->local_raw));
	memcpy(s->client_raw, e->dst, sizeof(s->client_raw));
	addr_text(e->family, e->dst, s->client_addr, sizeof(s->client_addr));
	addr_text(e->family, e->src, s->local_addr, sizeof(s->local_addr));
	s->client_port = e->dport;
	s->local_port = e->sport;
}

/*
 * Find S's client socket: an fd whose inode the dump lists with the
 * cluster's port on our side, else a Unix socket accepted on the cluster's
 * socket.  *HINT_FD is where the previous child had it (the postmaster
 * accepts into the same fd number most of the time): one readlink instead
 * of a directory walk when it is right.  Returns true when the kernel
 * could be asked everything (so no socket found means no client).
 */
static bool join_socket(int pfd, struct session *s, struct ns_table *ns, int *hint_fd,
			unsigned long self_ns)
{
	struct proc_sock *socks = NULL;
	size_t n = 0, i;
	const struct sockdiag_inet *e;
	const struct sockdiag_unix *u;
	unsigned long ino;

	if (*hint_fd >= 0 && procfs_fd_socket(pfd, s->pid, *hint_fd, &ino) == 0) {
		e = sockdiag_find_inet(&ns->t, ino);
		if (e && e->sport == s->cluster->port) {
			set_inet(s, e);
			return true;
		}
	}
	if (procfs_socket_fds(pfd, s->pid, &socks, &n) < 0)
		return false;
	for (i = 0; i < n; i++) {
		e = sockdiag_find_inet(&ns->t, socks[i].inode);
		if (e && e->sport == s->cluster->port) {
			set_inet(s, e);
			*hint_fd = socks[i].fd;
			free(socks);
			return true;
		}
	}
	/* No TCP client: a Unix-socket client?  Dumped once, when needed. */
	if (n && !ns->unix_done && dump_ns(pfd, ns, s->cluster->pid, self_ns, NULL, 0, true) < 0)
		ns->unix_err = true;
	for (i = 0; i < n; i++) {
		u = sockdiag_find_unix(&ns->t, socks[i].inode);
		if (u && unix_name_is_cluster(u->name, s->cluster->port)) {
			s->transport = TRANSPORT_UNIX;
			s->family = AF_UNIX;
			s->socket_inode = socks[i].inode;
			*hint_fd = socks[i].fd;
			break;
		}
	}
	free(socks);
	return !ns->unix_err;
}

static int cmp_session(const void *a, const void *b)
{
	const struct session *x = a, *y = b;

	if (x->cluster != y->cluster)
		return x->cluster->pid < y->cluster->pid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct session *find_session(struct discovery *d, const struct pg_cluster *c, pid_t pid)
{
	struct session key = { .pid = pid, .cluster = (struct pg_cluster *)c };

	if (!d->sessions.n)
		return NULL;
	return bsearch(&key, d->sessions.v, d->sessions.n, sizeof(key), cmp_session);
}

static int replace_str(char **dst, const char *src)
{
	char *n;

	if (!src)
		return 0;
	n = strdup(src);
	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static const char *static_type(const char *t)
{
	static const char *const known[] = {
		"client backend", "walsender", "autovacuum launcher", "autovacuum worker",
		"background writer", "checkpointer", "walwriter", "walreceiver", "walsummarizer",
		"startup", "archiver", "logger", "stats collector", "logical replication launcher",
		"logical replication worker", "logical replication apply worker",
		"logical replication tablesync worker", "logical replication parallel worker",
		"parallel worker", "slotsync worker", "io worker", "background worker",
	};
	size_t i;

	for (i = 0; t && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(t, known[i]) == 0)
			return known[i];
	return NULL;
}

/* Merge pg_stat_activity into the cluster's sessions. */
static int enrich(struct discovery *d, struct pg_cluster *c, const struct discover_opts *o)
{
	PGconn *conn = NULL;
	struct pgsql_activity act = { 0 };
	char *err = NULL, *hba = NULL;
	size_t i;
	int r;

	r = pgsql_connect(c, o->dsn, &conn, &err);
	if (r == 0)
		r = pgsql_activity(conn, &act, &err);
	if (r < 0) {
		c->sql_error = err ? err : strdup(strerror(-r));
		pgsql_close(conn);
		return r == -ENOMEM ? r : 0;
	}
	if (pgsql_hba_file(conn, &hba) == 0) {
		free(c->hba_file);
		c->hba_file = hba;
	}
	pgsql_close(conn);
	c->sql_ok = true;
	for (i = 0; i < act.n; i++) {
		struct pgsql_row *w = &act.v[i];
		struct session *s = find_session(d, c, w->pid);
		const char *t;
		if (!s)
			continue;
		/* The same pid with another start is another process. */
		if (s->start_us != TIME_UNKNOWN && w->backend_start_us != TIME_UNKNOWN &&
		    llabs(s->start_us - w->backend_start_us) > 2000000)
			continue;
		s->from_sql = true;
		if (replace_str(&s->user, w->usename) < 0 || replace_str(&s->database, w->datname) < 0 ||
		    replace_str(&s->application_name, w->application_name) < 0 ||
		    replace_str(&s->sql_state, w->state) < 0 || replace_str(&s->query, w->query) < 0) {
			pgsql_activity_clear(&act);
			return -ENOMEM;
		}
		if (w->state)
			s->state = select_known_state(w->state);
		if ((t = static_type(w->backend_type))) {
			s->backend_type = t;
			s->is_client = strcmp(t, "client backend") == 0 || strcmp(t, "walsender") == 0;
		}
		if (w->backend_start_us != TIME_UNKNOWN)
			s->start_us = w->backend_start_us;
		s->state_change_us = w->state_change_us;
		s->xact_start_us = w->xact_start_us;
		s->query_start_us = w->query_start_us;
		if (s->transport == TRANSPORT_NONE && w->client_addr && w->client_port >= 0) {
			/* The kernel's view was not reachable; PostgreSQL's is the
			 * address it accepted from, also not from the client. */
			snprintf(s->client_addr, sizeof(s->client_addr), "%s", w->client_addr);
			s->client_port = w->client_port;
		}
	}
	pgsql_activity_clear(&act);
	return 0;
}

int discover(const struct discover_opts *o, struct discovery *ret)
{
	struct proc_table procs = { 0 };
	struct ns_table *nss = NULL;
	size_t nns = 0, i, k;
	pid_t *kids = NULL;
	size_t nkids = 0;
	int pfd = -1, r;
	int64_t btime = 0;
	long hz = procfs_hertz();
	unsigned long self_ns = 0;
	struct timespec ts;

	memset(ret, 0, sizeof(*ret));
	clock_gettime(CLOCK_REALTIME, &ts);
	ret->now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	pfd = open(o->proc_root ? o->proc_root : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	procfs_boot_time(pfd, &btime);
	procfs_netns(pfd, 0, &self_ns);
	r = procfs_scan(&procs);
	if (r < 0)
		goto out;

	/* Postmasters: processes with children whose cwd names them. */
	for (i = 0; i < procs.n; i++) {
		struct pg_cluster *c;
		if (!procs.v[i].nchildren)
			continue;
		r = load_cluster(pfd, &procs.v[i], &c);
		if (r < 0)
			goto out;
		if (r == 0)
			continue;
		if ((r = cluster_list_add(&ret->clusters, c)) < 0) {
			cluster_free(c);
			goto out;
		}
	}

	/* Children of the postmasters, and their command lines. */
	kids = malloc((procs.n ? procs.n : 1) * sizeof(*kids));
	if (!kids) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < procs.n; i++)
		for (k = 0; k < ret->clusters.n; k++)
			if (procs.v[i].ppid == ret->clusters.v[k]->pid)
				kids[nkids++] = procs.v[i].pid;
	if ((r = procfs_fill_cmdlines(&procs, pfd, kids, nkids)) < 0)
		goto out;

	/* cluster_name as the running postmaster wrote it into titles, taken
	 * from its oldest child that carries one: the checkpointer starts with
	 * the cluster, while an autovacuum worker, whose title holds a database
	 * name anyone with CREATEDB chooses ("x: checkpointer"), comes later. */
	for (k = 0; k < ret->clusters.n; k++) {
		struct pg_cluster *c = ret->clusters.v[k];
		const struct proc_entry *best = NULL;
		char *name = NULL;
		for (i = 0; i < nkids; i++) {
			struct proc_entry *e = procfs_find(&procs, kids[i]);
			if (!e || !e->cmdline || e->ppid != c->pid ||
			    (best && best->start_ticks <= e->start_ticks))
				continue;
			r = title_cluster_name(e->cmdline, &name);
			if (r < 0)
				goto out;
			if (r == 1) {
				best = e;
				free(c->cluster_name);
				c->cluster_name = name;
			}
		}
	}
	if (o->cluster_spec) {
		for (i = 0, k = 0; i < ret->clusters.n; i++) {
			if (discover_cluster_matches(ret->clusters.v[i], o->cluster_spec))
				ret->clusters.v[k++] = ret->clusters.v[i];
			else
				cluster_free(ret->clusters.v[i]);
		}
		ret->clusters.n = k;
		if (!k) {
			r = -ENOENT;
			goto out;
		}
	}

	/* Sessions. */
	for (i = 0; i < nkids; i++) {
		struct proc_entry *e = procfs_find(&procs, kids[i]);
		struct session *s;
		struct pg_cluster *c = NULL;
		for (k = 0; e && k < ret->clusters.n; k++)
			if (ret->clusters.v[k]->pid == e->ppid)
				c = ret->clusters.v[k];
		if (!c || !e->cmdline)
			continue;   /* other cluster, or exited meanwhile */
		s = session_list_add(&ret->sessions);
		if (!s) {
			r = -ENOMEM;
			goto out;
		}
		s->pid = e->pid;
		s->ppid = e->ppid;
		s->start_ticks = e->start_ticks;
		s->start_us = (btime * 1000000) + (int64_t)(e->start_ticks * 1000000ULL / (unsigned long long)hz);
		s->proc_state = e->state;
		s->cluster = c;
		s->title = e->cmdline;
		e->cmdline = NULL;
	}
	qsort(ret->sessions.v, ret->sessions.n, sizeof(*ret->sessions.v), cmp_session);

	/* Sockets: one dump per family per network namespace. */
	for (k = 0; k < ret->clusters.n; k++) {
		struct pg_cluster *c = ret->clusters.v[k];
		struct ns_table *ns = NULL, *nv;
		int *ports;
		size_t np = 0, j;
		for (j = 0; j < nns; j++)
			if (nss[j].netns == c->netns)
				ns = &nss[j];
		if (ns)
			continue;
		nv = realloc(nss, (nns + 1) * sizeof(*nss));
		if (!nv) {
			r = -ENOMEM;
			goto out;
		}
		nss = nv;
		ns = &nss[nns++];
		memset(ns, 0, sizeof(*ns));
		ns->netns = c->netns;
		ports = malloc(ret->clusters.n * sizeof(*ports));
		if (!ports) {
			r = -ENOMEM;
			goto out;
		}
		for (j = 0; j < ret->clusters.n; j++)
			if (ret->clusters.v[j]->netns == c->netns && ret->clusters.v[j]->port > 0)
				ports[np++] = ret->clusters.v[j]->port;
		ns->err = np ? dump_ns(pfd, ns, c->pid, self_ns, ports, np, false) : 0;
		free(ports);
	}
	{
		int hint_fd = -1;
		struct pg_cluster *last = NULL;
		for (i = 0; i < ret->sessions.n; i++) {
			struct session *s = &ret->sessions.v[i];
			struct ns_table *ns = NULL;
			struct title t;
			struct title_hint hint = { 0 };
			size_t j;
			if (s->cluster != last) {
				hint_fd = -1;
				last = s->cluster;
			}
			for (j = 0; j < nns; j++)
				if (nss[j].netns == s->cluster->netns)
					ns = &nss[j];
			if (ns && !ns->err && join_socket(pfd, s, ns, &hint_fd, self_ns))
				hint.transport = TITLE_HINT_NOCLIENT;
			if (s->transport == TRANSPORT_TCP) {
				hint.transport = TITLE_HINT_TCP;
				hint.port = s->client_port;
			} else if (s->transport == TRANSPORT_UNIX) {
				hint.transport = TITLE_HINT_UNIX;
			}
			r = title_parse(s->title, s->cluster->cluster_name, &hint, &t);
			if (r == -ENOMEM)
				goto out;
			if (r == 0) {
				s->backend_type = t.backend_type;
				s->is_client = t.is_client;
				s->user = t.user;
				s->database = t.database;
				/* For an auxiliary process its detail ("recovering
				 * 0000...", an autovacuum worker's database). */
				s->activity = t.is_client ? t.activity : t.detail;
				s->waiting = t.waiting;
				s->state = s->is_client ? title_state(t.activity) : NULL;
				t.user = t.database = NULL;
				if (t.is_client)
					t.activity = NULL;
				else
					t.detail = NULL;
				title_clear(&t);
			} else if (s->transport != TRANSPORT_NONE) {
				/* Not retitled yet: a connection still starting. */
				s->backend_type = "client backend";
				s->is_client = true;
				s->state = "starting";
			}
		}
	}

	if (!o->no_sql)
		for (k = 0; k < ret->clusters.n; k++)
			if ((r = enrich(ret, ret->clusters.v[k], o)) < 0)
				goto out;
	r = 0;
out:
	for (i = 0; i < nns; i++)
		sockdiag_table_clear(&nss[i].t);
	free(nss);
	free(kids);
	proc_table_clear(&procs);
	if (pfd >= 0)
		close(pfd);
	if (r < 0 && r != -ENOENT)
		discovery_clear(ret);
	return r;
}
