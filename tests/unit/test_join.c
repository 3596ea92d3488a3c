/* SPDX-License-Identifier: MIT */
/*
 * test_join.c -- unit tests for join.h over recorded snapshots, no root.
 *
 * Each directory under tests/data/join/ is one host at one moment, in the
 * text format of tests/data/join/README.md: the clusters, their children
 * (/proc), each child's socket fds, the sock_diag dumps per network
 * namespace, pg_stat_activity, and the sessions discovery must make of
 * them.  The test runs what discover() runs on those tables
 * (join_cluster_names, join_sessions, join_activity) and compares every
 * session, field by field, with `expect`; a session expected and not made,
 * or made and not expected, fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pgevict/join.h"

#define MAXN 64

struct snap {
	struct pg_cluster clusters[8];
	struct pg_cluster *cptr[8];
	size_t nclusters;
	struct join_proc procs[MAXN];
	char *titles[MAXN];
	struct proc_sock socks[MAXN][8];
	size_t nprocs;
	struct join_netns nss[4];
	struct sockdiag_inet inet[4][MAXN];
	struct sockdiag_unix unx[4][MAXN];
	size_t nns;
	struct pgsql_activity act[8];     /* per cluster, same index */
	struct pgsql_row rows[8][MAXN];
	int64_t boot_us;
	long hz;
};

static const char *data_dir(void)
{
	const char *d = getenv("PGEVICT_TESTDATA");

	return d ? d : "tests/data";
}

static FILE *open_file(const char *snap, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/join/%s/%s", data_dir(), snap, name);
	return fopen(path, "r");
}

/* Next line of F without its newline, skipping blanks and # comments. */
static bool next_line(FILE *f, char *buf, size_t len)
{
	while (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] && buf[0] != '#')
			return true;
	}
	return false;
}

/* Split LINE at tabs into at most N fields; "\N" is NULL. */
static size_t split_tabs(char *line, char **v, size_t n)
{
	size_t i = 0;
	char *p = line;

	while (p && i < n) {
		v[i] = p;
		p = strchr(p, '\t');
		if (p)
			*p++ = '\0';
		if (strcmp(v[i], "\\N") == 0)
			v[i] = NULL;
		i++;
	}
	return i;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct pg_cluster *cluster_by_pid(struct snap *s, pid_t pid)
{
	size_t k;

	for (k = 0; k < s->nclusters; k++)
		if (s->clusters[k].pid == pid)
			return &s->clusters[k];
	return NULL;
}

static struct join_netns *netns_of(struct snap *s, unsigned long ino, size_t *ret_i)
{
	size_t i;

	for (i = 0; i < s->nns; i++)
		if (s->nss[i].netns == ino)
			break;
	if (i == s->nns) {
		assert_true(s->nns < 4);
		memset(&s->nss[i], 0, sizeof(s->nss[i]));
		s->nss[i].netns = ino;
		s->nss[i].t.inet = s->inet[i];
		s->nss[i].t.unx = s->unx[i];
		s->nns++;
	}
	*ret_i = i;
	return &s->nss[i];
}

/* host: "boot SECONDS", "hz N".  clusters: "PID PORT NETNS OWN NAME". */
static void read_clusters(struct snap *s, const char *name)
{
	char line[512], own[64], cname[128];
	FILE *f = open_file(name, "host");
	long long boot = 0;

	assert_non_null(f);
	while (next_line(f, line, sizeof(line)))
		if (sscanf(line, "boot %lld", &boot) != 1)
			assert_int_equal(sscanf(line, "hz %ld", &s->hz), 1);
	fclose(f);
	s->boot_us = boot * 1000000;
	assert_non_null(f = open_file(name, "clusters"));
	while (next_line(f, line, sizeof(line))) {
		struct pg_cluster *c = &s->clusters[s->nclusters];
		assert_true(s->nclusters < 8);
		assert_int_equal(sscanf(line, "%d %d %lu %63s %127s", &c->pid, &c->port, &c->netns, own, cname), 5);
		c->ns_own = (strstr(own, "net") ? NS_NET : 0) | (strstr(own, "pid") ? NS_PID : 0);
		c->cluster_name = strcmp(cname, "-") ? strdup(cname) : NULL;
		s->cptr[s->nclusters++] = c;
	}
	fclose(f);
}

/* procs: "PID PPID NSPID START STATE TITLE..." (no title: vanished).
 * fds: "PID FD:INODE..." or "PID error"; no line: no sockets. */
static void read_procs(struct snap *s, const char *name)
{
	char line[4096];
	FILE *f = open_file(name, "procs");
	int off;

	assert_non_null(f);
	while (next_line(f, line, sizeof(line))) {
		struct join_proc *p = &s->procs[s->nprocs];
		assert_true(s->nprocs < MAXN);
		off = 0;
		assert_int_equal(sscanf(line, "%d %d %d %llu %c%n", &p->pid, &p->ppid, &p->ns_pid, &p->start_ticks,
					&p->state, &off), 5);
		while (line[off] == ' ')
			off++;
		s->titles[s->nprocs] = line[off] ? strdup(line + off) : NULL;
		p->title = s->titles[s->nprocs];
		p->socks = s->socks[s->nprocs];
		s->nprocs++;
	}
	fclose(f);
	if (!(f = open_file(name, "fds")))
		return;
	while (next_line(f, line, sizeof(line))) {
		char *tok = strtok(line, " ");
		pid_t pid = atoi(tok);
		size_t i;
		for (i = 0; i < s->nprocs && s->procs[i].pid != pid; i++)
			;
		assert_true(i < s->nprocs);
		while ((tok = strtok(NULL, " "))) {
			struct proc_sock *ps = &s->socks[i][s->procs[i].nsocks];
			if (strcmp(tok, "error") == 0) {
				s->procs[i].socks_err = -ENOENT;
				continue;
			}
			assert_int_equal(sscanf(tok, "%d:%lu", &ps->fd, &ps->inode), 2);
			s->procs[i].nsocks++;
		}
	}
	fclose(f);
}

/* sockets, per line: "NETNS tcp4|tcp6 STATE INODE SRC SPORT DST DPORT",
 * "NETNS unix INODE PEER NAME|-", "NETNS tcp-error ERRNO",
 * "NETNS unix-done", "NETNS unix-error". */
static void read_sockets(struct snap *s, const char *name)
{
	char line[512], kind[16], a[64], b[64];
	FILE *f = open_file(name, "sockets");
	unsigned long ino;
	size_t i;
	int n, off = 0;

	assert_non_null(f);
	while (next_line(f, line, sizeof(line))) {
		struct join_netns *ns;
		assert_int_equal(sscanf(line, "%lu %15s%n", &ino, kind, &off), 2);
		ns = netns_of(s, ino, &i);
		if (strncmp(kind, "tcp", 3) == 0 && kind[3] != '-') {
			struct sockdiag_inet *e = &s->inet[i][ns->t.ninet++];
			int sport, dport;
			e->family = kind[3] == '6' ? AF_INET6 : AF_INET;
			n = sscanf(line + off, "%d %lu %63s %d %63s %d", &e->state, &e->inode, a, &sport, b, &dport);
			assert_int_equal(n, 6);
			assert_int_equal(inet_pton(e->family, a, e->src), 1);
			assert_int_equal(inet_pton(e->family, b, e->dst), 1);
			e->sport = (uint16_t)sport;
			e->dport = (uint16_t)dport;
			e->cookie[0] = (uint32_t)e->inode;
		} else if (strcmp(kind, "unix") == 0) {
			struct sockdiag_unix *u = &s->unx[i][ns->t.nunix++];
			assert_int_equal(sscanf(line + off, "%lu %lu %63s", &u->inode, &u->peer, a), 3);
			u->name = strcmp(a, "-") ? strdup(a) : NULL;
		} else if (strcmp(kind, "tcp-error") == 0) {
			assert_int_equal(sscanf(line + off, "%d", &ns->err), 1);
			ns->err = -ns->err;
		} else if (strcmp(kind, "unix-done") == 0) {
			ns->unix_done = true;
		} else {
			assert_string_equal(kind, "unix-error");
			ns->unix_err = -EPERM;
		}
	}
	fclose(f);
	for (i = 0; i < s->nns; i++)
		sockdiag_table_sort(&s->nss[i].t);
}

/* activity, tab-separated: CLUSTER PID BACKEND_START_US USENAME DATNAME
 * APPLICATION_NAME STATE BACKEND_TYPE CLIENT_ADDR CLIENT_PORT QUERY. */
static void read_activity(struct snap *s, const char *name)
{
	char line[4096], *v[11];
	FILE *f = open_file(name, "activity");

	if (!f)
		return;
	while (next_line(f, line, sizeof(line))) {
		struct pg_cluster *c;
		struct pgsql_row *w;
		size_t k;
		assert_int_equal(split_tabs(line, v, 11), 11);
		assert_non_null(c = cluster_by_pid(s, atoi(v[0])));
		k = (size_t)(c - s->clusters);
		w = &s->rows[k][s->act[k].n++];
		s->act[k].v = s->rows[k];
		w->pid = atoi(v[1]);
		w->backend_start_us = v[2] ? strtoll(v[2], NULL, 10) : TIME_UNKNOWN;
		w->usename = dup_or_null(v[3]);
		w->datname = dup_or_null(v[4]);
		w->application_name = dup_or_null(v[5]);
		w->state = dup_or_null(v[6]);
		w->backend_type = dup_or_null(v[7]);
		w->client_addr = dup_or_null(v[8]);
		w->client_port = v[9] ? atoi(v[9]) : -1;
		w->query = dup_or_null(v[10]);
		w->state_change_us = w->xact_start_us = w->query_start_us = TIME_UNKNOWN;
	}
	fclose(f);
}

static void snap_free(struct snap *s)
{
	size_t i, k;

	for (i = 0; i < s->nclusters; i++)
		free(s->clusters[i].cluster_name);
	for (i = 0; i < s->nprocs; i++)
		free(s->titles[i]);
	for (i = 0; i < s->nns; i++)
		for (k = 0; k < s->nss[i].t.nunix; k++)
			free(s->unx[i][k].name);
	for (i = 0; i < 8; i++)
		for (k = 0; k < s->act[i].n; k++) {
			struct pgsql_row *w = &s->rows[i][k];
			free(w->usename);
			free(w->datname);
			free(w->application_name);
			free(w->state);
			free(w->backend_type);
			free(w->client_addr);
			free(w->query);
		}
}

/* Run discovery's join on snapshot NAME into *L. */
static void run_join(struct snap *s, const char *name, struct session_list *l)
{
	struct join_input in;
	size_t k;

	memset(s, 0, sizeof(*s));
	read_clusters(s, name);
	read_procs(s, name);
	read_sockets(s, name);
	read_activity(s, name);
	assert_int_equal(join_cluster_names(s->cptr, s->nclusters, s->procs, s->nprocs), 0);
	in = (struct join_input){
		.clusters = s->cptr, .nclusters = s->nclusters,
		.procs = s->procs, .nprocs = s->nprocs,
		.nss = s->nss, .nns = s->nns,
		.boot_us = s->boot_us, .hz = s->hz,
	};
	memset(l, 0, sizeof(*l));
	assert_int_equal(join_sessions(&in, l), 0);
	for (k = 0; k < s->nclusters; k++)
		if (s->act[k].n)
			assert_int_equal(join_activity(l, &s->clusters[k], &s->act[k]), 0);
}

static void expect_str(pid_t pid, const char *field, const char *want, const char *got)
{
	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
		fail_msg("pid %d %s: want '%s', got '%s'", (int)pid, field, want ? want : "\\N",
			 got ? got : "\\N");
}

/* expect, tab-separated: PID TRANSPORT CLIENT USER DATABASE BACKEND_TYPE
 * STATE SOURCE (sql: merged with pg_stat_activity; proc: not). */
static void check_snapshot(const char *name)
{
	static const char *const transports[] = { "none", "tcp", "unix" };
	struct snap s;
	struct session_list l;
	char line[1024], *v[8], client[128];
	bool seen[MAXN * 2] = { false };
	FILE *f;
	size_t i;

	run_join(&s, name, &l);
	assert_non_null(f = open_file(name, "expect"));
	while (next_line(f, line, sizeof(line))) {
		struct session *x = NULL;
		pid_t pid;
		assert_int_equal(split_tabs(line, v, 8), 8);
		pid = atoi(v[0]);
		for (i = 0; i < l.n; i++)
			if (l.v[i].pid == pid)
				x = &l.v[i];
		if (!x)
			fail_msg("%s: pid %d expected, not a session", name, (int)pid);
		seen[x - l.v] = true;
		session_client_text(x, client, sizeof(client));
		expect_str(pid, "transport", v[1], transports[x->transport]);
		expect_str(pid, "client", v[2], client);
		expect_str(pid, "user", v[3], x->user);
		expect_str(pid, "database", v[4], x->database);
		expect_str(pid, "backend_type", v[5], x->backend_type);
		expect_str(pid, "state", v[6], x->state);
		expect_str(pid, "source", v[7], x->from_sql ? "sql" : "proc");
	}
	fclose(f);
	for (i = 0; i < l.n; i++)
		if (!seen[i])
			fail_msg("%s: pid %d is a session, not expected", name, (int)l.v[i].pid);
	for (i = 1; i < l.n; i++)
		assert_true(l.v[i - 1].cluster->pid < l.v[i].cluster->pid ||
			    (l.v[i - 1].cluster == l.v[i].cluster && l.v[i - 1].pid < l.v[i].pid));
	session_list_clear(&l);
	snap_free(&s);
}

static void test_snapshot(void **state)
{
	check_snapshot(*state);
}

/* Named by the snapshot, so that a failure says which. */
#define SNAP(name) { name, test_snapshot, NULL, NULL, (void *)(name) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		SNAP("recorded-pg15"),
		SNAP("tcp-unix-aux"),
		SNAP("forged-title"),
		SNAP("activity-start"),
		SNAP("pid-namespace"),
		SNAP("netns-error"),
		SNAP("two-netns"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
