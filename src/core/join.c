/* SPDX-License-Identifier: MIT */
/*
 * join.c -- processes x sockets x pg_stat_activity into sessions (core, no
 * I/O; see join.h).
 *
 * Owns which socket is a child's client, how its title is read given that
 * socket, and which pg_stat_activity row is which process.  It reads only
 * the tables it is handed: discover.c fills them from /proc, sock_diag and
 * SQL, tests/unit/test_join.c from recorded snapshots.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pgevict/join.h"
#include "pgevict/select.h"
#include "pgevict/title.h"

const struct sockdiag_inet *join_client_inet(const struct sockdiag_table *t, unsigned long inode, int port)
{
	const struct sockdiag_inet *e = sockdiag_find_inet(t, inode);

	return e && e->sport == port ? e : NULL;
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

size_t join_netns_index(const struct join_netns *nss, size_t n, unsigned long netns)
{
	size_t i;

	for (i = 0; i < n && nss[i].netns != netns; i++)
		;
	return i;
}

/*
 * Set S's client from P's sockets: one the dump lists with the cluster's
 * port on our side, else a Unix socket accepted on the cluster's socket.
 * Returns true when the kernel could be asked everything (so no socket
 * found means no client).
 */
static bool join_socket(struct session *s, const struct join_proc *p, const struct join_netns *ns)
{
	const struct sockdiag_inet *e;
	const struct sockdiag_unix *u;
	size_t i;

	if (!ns || ns->err || p->socks_err)
		return false;
	for (i = 0; i < p->nsocks; i++) {
		if ((e = join_client_inet(&ns->t, p->socks[i].inode, s->cluster->port))) {
			set_inet(s, e);
			return true;
		}
	}
	if (!p->nsocks)
		return true;
	if (!ns->unix_done || ns->unix_err)
		return false;
	for (i = 0; i < p->nsocks; i++) {
		u = sockdiag_find_unix(&ns->t, p->socks[i].inode);
		if (u && unix_name_is_cluster(u->name, s->cluster->port)) {
			s->transport = TRANSPORT_UNIX;
			s->family = AF_UNIX;
			s->socket_inode = p->socks[i].inode;
			break;
		}
	}
	return true;
}

/* What S's title says, read with what the kernel said of its socket
 * (KNOWN: the kernel was asked everything).  0 or -ENOMEM. */
static int read_title(struct session *s, bool known)
{
	struct title_hint hint = { .transport = known ? TITLE_HINT_NOCLIENT : TITLE_HINT_NONE };
	struct title t;
	int r;

	if (s->transport == TRANSPORT_TCP) {
		hint.transport = TITLE_HINT_TCP;
		hint.port = s->client_port;
	} else if (s->transport == TRANSPORT_UNIX) {
		hint.transport = TITLE_HINT_UNIX;
	}
	r = title_parse(s->title, s->cluster->cluster_name, &hint, &t);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		s->backend_type = t.backend_type;
		s->is_client = t.is_client;
		s->user = t.user;
		s->database = t.database;
		/* For an auxiliary process its detail ("recovering 0000...",
		 * an autovacuum worker's database). */
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
	return 0;
}

static struct pg_cluster *cluster_of(const struct join_input *in, pid_t ppid)
{
	size_t k;

	for (k = 0; k < in->nclusters; k++)
		if (in->clusters[k]->pid == ppid)
			return in->clusters[k];
	return NULL;
}

static int cmp_session(const void *a, const void *b)
{
	const struct session *x = a, *y = b;

	if (x->cluster != y->cluster)
		return x->cluster->pid < y->cluster->pid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int join_sessions(const struct join_input *in, struct session_list *ret)
{
	size_t i, ns, first = ret->n;

	for (i = 0; i < in->nprocs; i++) {
		const struct join_proc *p = &in->procs[i];
		struct pg_cluster *c = cluster_of(in, p->ppid);
		struct session *s;
		if (!c || !p->title)
			continue;   /* other cluster, or exited meanwhile */
		if (!(s = session_list_add(ret)))
			return -ENOMEM;
		s->pid = p->pid;
		s->ns_pid = p->ns_pid;
		s->ppid = p->ppid;
		s->start_ticks = p->start_ticks;
		s->start_us = in->boot_us +
			      (int64_t)(p->start_ticks * 1000000ULL / (unsigned long long)in->hz);
		s->proc_state = p->state;
		s->cpu_ticks = p->cpu_ticks;
		s->rss_pages = p->rss_pages;
		s->cluster = c;
		if (!(s->title = strdup(p->title)))
			return -ENOMEM;
		ns = join_netns_index(in->nss, in->nns, c->netns);
		if (read_title(s, join_socket(s, p, ns < in->nns ? &in->nss[ns] : NULL)) < 0)
			return -ENOMEM;
	}
	if (ret->n > first)      /* v is NULL while there are none */
		qsort(ret->v + first, ret->n - first, sizeof(*ret->v), cmp_session);
	return 0;
}

int join_cluster_names(struct pg_cluster *const *clusters, size_t nclusters, const struct join_proc *procs,
		       size_t nprocs)
{
	size_t i, k;
	int r;

	for (k = 0; k < nclusters; k++) {
		struct pg_cluster *c = clusters[k];
		const struct join_proc *best = NULL;
		char *name = NULL;
		for (i = 0; i < nprocs; i++) {
			const struct join_proc *p = &procs[i];
			if (!p->title || p->ppid != c->pid || (best && best->start_ticks <= p->start_ticks))
				continue;
			if ((r = title_cluster_name(p->title, &name)) < 0)
				return r;
			if (r == 1) {
				best = p;
				free(c->cluster_name);
				c->cluster_name = name;
			}
		}
	}
	return 0;
}

static struct session *find_session(const struct session_list *l, const struct pg_cluster *c, pid_t pid)
{
	struct session key = { .pid = pid, .cluster = (struct pg_cluster *)c };

	if (!l->n)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(key), cmp_session);
}

static int cmp_ns_pid(const void *a, const void *b)
{
	const struct session *x = *(struct session *const *)a, *y = *(struct session *const *)b;

	return (x->ns_pid > y->ns_pid) - (x->ns_pid < y->ns_pid);
}

/*
 * C's sessions by the pid its own pid namespace gives them (what
 * pg_stat_activity says), for a cluster in a pid namespace: a malloc'd
 * array sorted by ns_pid into *RET, *RET_N.  0 or -ENOMEM.
 */
static int index_ns_pids(const struct session_list *l, const struct pg_cluster *c, struct session ***ret,
			 size_t *ret_n)
{
	struct session **v;
	size_t i, n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!(v = malloc((l->n ? l->n : 1) * sizeof(*v))))
		return -ENOMEM;
	for (i = 0; i < l->n; i++)
		if (l->v[i].cluster == c && l->v[i].ns_pid > 0)
			v[n++] = &l->v[i];
	qsort(v, n, sizeof(*v), cmp_ns_pid);
	*ret = v;
	*ret_n = n;
	return 0;
}

static struct session *find_ns_session(struct session **v, size_t n, pid_t ns_pid)
{
	struct session key = { .ns_pid = ns_pid }, *kp = &key, **hit;

	if (!n)
		return NULL;
	hit = bsearch(&kp, v, n, sizeof(*v), cmp_ns_pid);
	return hit ? *hit : NULL;
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

/* Row W into session S.  0 or -ENOMEM. */
static int merge_row(struct session *s, const struct pgsql_row *w)
{
	const char *t;

	s->from_sql = true;
	s->su = w->rolsuper > 0 ? SU_YES : w->rolsuper == 0 ? SU_NO : SU_UNKNOWN;
	if (replace_str(&s->user, w->usename) < 0 || replace_str(&s->database, w->datname) < 0 ||
	    replace_str(&s->application_name, w->application_name) < 0 ||
	    replace_str(&s->sql_state, w->state) < 0 || replace_str(&s->query, w->query) < 0)
		return -ENOMEM;
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
	return 0;
}

int join_activity(struct session_list *l, const struct pg_cluster *c, const struct pgsql_activity *act)
{
	struct session **by_ns = NULL;
	size_t i, nby_ns = 0;
	int r = 0;

	if ((c->ns_own & NS_PID) && index_ns_pids(l, c, &by_ns, &nby_ns) < 0)
		return -ENOMEM;
	for (i = 0; i < act->n && r == 0; i++) {
		const struct pgsql_row *w = &act->v[i];
		struct session *s = c->ns_own & NS_PID ? find_ns_session(by_ns, nby_ns, w->pid)
						       : find_session(l, c, w->pid);
		if (!s)
			continue;
		/* The same pid with another start is another process. */
		if (s->start_us != TIME_UNKNOWN && w->backend_start_us != TIME_UNKNOWN &&
		    llabs(s->start_us - w->backend_start_us) > 2000000)
			continue;
		r = merge_row(s, w);
	}
	free(by_ns);
	return r;
}
