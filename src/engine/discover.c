/* SPDX-License-Identifier: MIT */
/*
 * discover.c -- from the host to clusters and sessions (adapter side; see
 * discover.h).
 *
 * Owns the I/O of discovery, in order: the process table, the postmasters
 * (postmaster.c verifies and loads each), their children's titles, the
 * sock_diag dumps of each network namespace (entered when it is not
 * ours), each child's socket fds, and pg_stat_activity.  What those
 * tables mean together (which socket is a child's client, which row is
 * which process) is decided in join.c, which does no I/O.  Policy about
 * what to do with sessions lives in the commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
#include "pgevict/container.h"
#include "pgevict/discover.h"
#include "pgevict/join.h"
#include "pgevict/netns.h"
#include "pgevict/pgsql.h"
#include "pgevict/postmaster.h"
#include "pgevict/procfs.h"
#include "pgevict/sockdiag.h"

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
	if (c->container_id) {
		struct container_ref ref = { .runtime = (enum container_runtime)c->container_runtime };
		snprintf(ref.id, sizeof(ref.id), "%s", c->container_id);
		if (container_matches(&ref, spec))
			return true;
	}
	if (c->data_dir) {
		if (strcmp(spec, c->data_dir) == 0)
			return true;
		if (realpath(spec, real) && strcmp(real, c->data_dir) == 0)
			return true;
	}
	return false;
}

/*
 * What one discovery reads, in the order it reads it: the process table,
 * the postmasters' children (join_proc: their titles and socket fds), one
 * sock_diag table per network namespace.  Freed by scan_clear.
 */
struct scan {
	int pfd;                     /* /proc */
	unsigned long self_ns;       /* our network namespace */
	int64_t boot_us;
	long hz;
	struct proc_table procs;
	struct join_proc *kids;      /* children of verified postmasters */
	size_t nkids;
	struct join_netns *nss;
	size_t nns;
};

static void scan_clear(struct scan *x)
{
	size_t i;

	for (i = 0; i < x->nkids; i++)
		free((void *)x->kids[i].socks);
	free(x->kids);
	for (i = 0; i < x->nns; i++)
		sockdiag_table_clear(&x->nss[i].t);
	free(x->nss);
	proc_table_clear(&x->procs);
	if (x->pfd >= 0)
		close(x->pfd);
}

static int scan_open(const struct discover_opts *o, struct scan *x)
{
	int64_t btime = 0;

	memset(x, 0, sizeof(*x));
	x->pfd = open(o->proc_root ? o->proc_root : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->pfd < 0)
		return -errno;
	procfs_boot_time(x->pfd, &btime);
	x->boot_us = btime * 1000000;
	x->hz = procfs_hertz();
	procfs_netns(x->pfd, 0, &x->self_ns);
	return procfs_scan(x->pfd, o->keep, &x->procs);
}

/* Postmasters: processes with children whose cwd names them. */
static int find_clusters(struct scan *x, struct discovery *d)
{
	struct pg_cluster *c;
	size_t i;
	int r;

	for (i = 0; i < x->procs.n; i++) {
		if (!x->procs.v[i].nchildren)
			continue;
		if ((r = postmaster_load(x->pfd, &x->procs.v[i], &c)) < 0)
			return r;
		if (r == 0)
			continue;
		if ((r = cluster_list_add(r == 2 ? &d->unverified : &d->clusters, c)) < 0) {
			cluster_free(c);
			return r;
		}
	}
	return 0;
}

/* The children of the verified postmasters, and their titles. */
static int read_children(struct scan *x, const struct cluster_list *l, struct prockeep *keep)
{
	pid_t *pids;
	size_t i, k, n = 0;
	int r;

	if (!(pids = malloc((x->procs.n ? x->procs.n : 1) * sizeof(*pids))))
		return -ENOMEM;
	for (i = 0; i < x->procs.n; i++)
		for (k = 0; k < l->n; k++)
			if (x->procs.v[i].ppid == l->v[k]->pid)
				pids[n++] = x->procs.v[i].pid;
	if ((r = procfs_fill_cmdlines(&x->procs, x->pfd, pids, n, keep)) < 0)
		goto out;
	if (!(x->kids = calloc(n ? n : 1, sizeof(*x->kids)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct proc_entry *e = procfs_find(&x->procs, pids[i]);
		struct join_proc *p = &x->kids[x->nkids];
		if (!e)
			continue;
		p->pid = p->ns_pid = e->pid;
		p->ppid = e->ppid;
		p->start_ticks = e->start_ticks;
		p->state = e->state;
		p->cpu_ticks = e->cpu_ticks;
		p->rss_pages = e->rss_pages;
		p->title = e->cmdline;
		x->nkids++;
	}
out:
	free(pids);
	return r;
}

/* Keep only the cluster SPEC names: 0, -ENOENT (none) or -ENOTUNIQ. */
static int choose_cluster(struct cluster_list *l, const char *spec)
{
	size_t i, k;

	if (!spec)
		return 0;
	for (i = 0, k = 0; i < l->n; i++) {
		if (discover_cluster_matches(l->v[i], spec))
			l->v[k++] = l->v[i];
		else
			cluster_free(l->v[i]);
	}
	l->n = k;
	return !k ? -ENOENT : k > 1 ? -ENOTUNIQ : 0;
}

static const struct pg_cluster *parent_of(const struct cluster_list *l, const struct join_proc *p)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		if (l->v[k]->pid == p->ppid)
			return l->v[k];
	return NULL;
}

/* In a pid namespace, the pid pg_stat_activity shows (0 when it cannot be
 * read: then no SQL is ever about it). */
static void read_ns_pids(struct scan *x, const struct cluster_list *l)
{
	size_t i;

	for (i = 0; i < x->nkids; i++) {
		struct join_proc *p = &x->kids[i];
		const struct pg_cluster *c = parent_of(l, p);
		if (c && (c->ns_own & NS_PID) && procfs_inner_pid(x->pfd, p->pid, &p->ns_pid) < 0)
			p->ns_pid = 0;
	}
}

/* Run the dumps of namespace NS->netns (TCP on PORTS, or Unix).  Enters
 * the namespace of PM_PID when it is not ours. */
static int dump_ns(const struct scan *x, struct join_netns *ns, pid_t pm_pid, const int *ports, size_t nports,
		   bool want_unix)
{
	int saved, r;

	r = netns_enter(x->pfd, pm_pid, ns->netns, x->self_ns, &saved);
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
		ns->unix_done = r == 0;
	}
	sockdiag_table_sort(&ns->t);
	netns_leave(saved);
	return r;
}

static struct join_netns *find_ns(struct scan *x, unsigned long netns)
{
	size_t j = join_netns_index(x->nss, x->nns, netns);

	return j < x->nns ? &x->nss[j] : NULL;
}

/* C's namespace's table, its TCP sockets on the ports of every cluster
 * there dumped when it is new.  0 or -ENOMEM. */
static int dump_tcp(struct scan *x, const struct cluster_list *l, const struct pg_cluster *c)
{
	struct join_netns *ns, *nv;
	int *ports;
	size_t np = 0, j;

	if (find_ns(x, c->netns))
		return 0;
	if (!(nv = realloc(x->nss, (x->nns + 1) * sizeof(*nv))))
		return -ENOMEM;
	x->nss = nv;
	ns = &x->nss[x->nns++];
	memset(ns, 0, sizeof(*ns));
	ns->netns = c->netns;
	if (!(ports = malloc(l->n * sizeof(*ports))))
		return -ENOMEM;
	for (j = 0; j < l->n; j++)
		if (l->v[j]->netns == c->netns && l->v[j]->port > 0)
			ports[np++] = l->v[j]->port;
	ns->err = np ? dump_ns(x, ns, c->pid, ports, np, false) : 0;
	free(ports);
	return 0;
}

/* A namespace not entered (no CAP_SYS_ADMIN, say) is said, per cluster:
 * its clients stay unknown, and nothing is cut there.  0 or -ENOMEM. */
static int note_net_error(struct pg_cluster *c, int err)
{
	if (asprintf(&c->net_error, "cannot read its sockets%s: %s%s",
		     c->ns_own & NS_NET ? " in its network namespace" : "", strerror(-err),
		     err == -EPERM && (c->ns_own & NS_NET) ? " (entering it needs CAP_SYS_ADMIN)" : "") < 0) {
		c->net_error = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * P's socket fds.  *HINT_FD is where the previous child of the cluster had
 * its client (the postmaster accepts into the same fd number most of the
 * time): one readlink instead of a directory walk when it is right.
 * Returns true when P holds sockets but no TCP client: a Unix client?
 */
static bool read_socks(const struct scan *x, struct join_proc *p, const struct join_netns *ns, int port,
		       int *hint_fd)
{
	struct proc_sock *v = NULL;
	unsigned long ino;
	size_t n = 0, i;

	if (*hint_fd >= 0 && procfs_fd_socket(x->pfd, p->pid, *hint_fd, &ino) == 0 &&
	    join_client_inet(&ns->t, ino, port) && (v = malloc(sizeof(*v)))) {
		v->fd = *hint_fd;
		v->inode = ino;
		p->socks = v;
		p->nsocks = 1;
		return false;
	}
	if ((p->socks_err = procfs_socket_fds(x->pfd, p->pid, &v, &n)) < 0)
		return false;
	p->socks = v;
	p->nsocks = n;
	for (i = 0; i < n; i++)
		if (join_client_inet(&ns->t, v[i].inode, port)) {
			*hint_fd = v[i].fd;
			return false;
		}
	return n > 0;
}

/*
 * The sockets: one TCP dump per family per network namespace, then each
 * child's socket fds, then the Unix sockets of a namespace where a child
 * holds sockets but no TCP client.  0 or -ENOMEM.
 */
static int read_sockets(struct scan *x, const struct cluster_list *l)
{
	struct join_netns *ns;
	size_t i, k;
	int r;

	for (k = 0; k < l->n; k++)
		if ((r = dump_tcp(x, l, l->v[k])) < 0)
			return r;
	for (k = 0; k < l->n; k++) {
		struct pg_cluster *c = l->v[k];
		int hint_fd = -1;
		bool want_unix = false;
		ns = find_ns(x, c->netns);
		if (ns->err) {
			if ((r = note_net_error(c, ns->err)) < 0)
				return r;
			continue;
		}
		for (i = 0; i < x->nkids; i++)
			if (x->kids[i].ppid == c->pid && x->kids[i].title &&
			    read_socks(x, &x->kids[i], ns, c->port, &hint_fd))
				want_unix = true;
		if (want_unix && !ns->unix_done && !ns->unix_err)
			ns->unix_err = dump_ns(x, ns, c->pid, NULL, 0, true);
	}
	return 0;
}

/* Merge pg_stat_activity into the cluster's sessions (the postmaster's
 * socket directory reached through X's /proc).  0 or -ENOMEM; a failure
 * to connect or read is left in c->sql_error. */
static int enrich(const struct scan *x, struct discovery *d, struct pg_cluster *c, const struct discover_opts *o)
{
	PGconn *conn = NULL;
	struct pgsql_activity act = { 0 };
	char *err = NULL, *hba = NULL;
	int r;

	r = pgsql_connect_at(x->pfd, c, o->dsn, &conn, &err);
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
		/* What the server uses: the files no longer matter. */
		free(c->hba_conflict);
		c->hba_conflict = NULL;
	}
	pgsql_slot_settings(conn, &c->max_connections, &c->su_reserved, &c->reserved);
	pgsql_close(conn);
	c->sql_ok = true;
	r = join_activity(&d->sessions, c, &act);
	pgsql_activity_clear(&act);
	return r;
}

/* Leave out the backends of our own earlier connections still exiting
 * (an agent's last pass): not a client's, and no slot to count. */
static void drop_own(struct session_list *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++) {
		struct session *s = &l->v[i];
		if (s->cluster && s->is_client &&
		    pgsql_own_backend(s->cluster->pid, s->ns_pid > 0 ? s->ns_pid : s->pid, s->start_us)) {
			session_clear(s);
			continue;
		}
		if (n != i)
			l->v[n] = *s;
		n++;
	}
	l->n = n;
}

int discover(const struct discover_opts *o, struct discovery *ret)
{
	struct scan x;
	struct join_input in;
	size_t k;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->now_us = clock_wall_us();
	if ((r = scan_open(o, &x)) < 0 || (r = find_clusters(&x, ret)) < 0 ||
	    (r = read_children(&x, &ret->clusters, o->keep)) < 0 ||
	    (r = join_cluster_names(ret->clusters.v, ret->clusters.n, x.kids, x.nkids)) < 0 ||
	    (r = choose_cluster(&ret->clusters, o->cluster_spec)) < 0)
		goto out;
	ret->mono_us = x.procs.mono_us;
	read_ns_pids(&x, &ret->clusters);
	if ((r = read_sockets(&x, &ret->clusters)) < 0)
		goto out;
	in = (struct join_input){
		.clusters = ret->clusters.v, .nclusters = ret->clusters.n,
		.procs = x.kids, .nprocs = x.nkids,
		.nss = x.nss, .nns = x.nns,
		.boot_us = x.boot_us, .hz = x.hz,
	};
	if ((r = join_sessions(&in, &ret->sessions)) < 0)
		goto out;
	drop_own(&ret->sessions);
	if (!o->no_sql)
		for (k = 0; k < ret->clusters.n; k++)
			if ((r = enrich(&x, ret, ret->clusters.v[k], o)) < 0)
				goto out;
	r = 0;
out:
	scan_clear(&x);
	if (r < 0 && r != -ENOENT && r != -ENOTUNIQ)
		discovery_clear(ret);
	return r;
}
