/* SPDX-License-Identifier: MIT */
/*
 * join.h -- processes x sockets x pg_stat_activity into sessions (core).
 *
 * Owns discovery's decisions, on plain tables that discover.c fills from
 * /proc, sock_diag and SQL (and tests fill from tests/data/join/): which
 * child of which postmaster a session is, which of its sockets is its
 * client (a TCP socket the kernel lists with the cluster's port on our
 * side: an outbound dblink connection has that port on the far side; else
 * a Unix socket accepted on the cluster's .s.PGSQL.PORT), what its title
 * says once anchored on the kernel's client port (the user and database
 * come from the client and may look like "1.2.3.4(5) idle"; the address
 * is always the kernel's), and which pg_stat_activity row is which
 * process (pid, or the pid in the cluster's own pid namespace, and backend
 * start within 2 s).  No I/O, nothing printed; needs no privilege.
 */
#ifndef PGEVICT_JOIN_H
#define PGEVICT_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/session.h"
#include "pgevict/snapshot.h"
#include "pgevict/socktab.h"

/* A child of a postmaster as /proc showed it, and its socket fds. */
struct join_proc {
	pid_t pid;
	pid_t ppid;
	pid_t ns_pid;                     /* the pid its cluster's pid namespace
	                                     gives it; = pid on the host; 0 when
	                                     unknown (then no SQL row is it) */
	unsigned long long start_ticks;   /* stat field 22 */
	char state;
	unsigned long long cpu_ticks;     /* utime + stime, from the same read */
	long long rss_pages;
	const char *title;                /* cleaned cmdline; NULL: it vanished */
	int socks_err;                    /* 0: socks are its socket fds (all
	                                     of them, or the one its client was
	                                     found at); -errno: not readable */
	const struct proc_sock *socks;    /* fd order */
	size_t nsocks;
};

/* What the dumps of one network namespace gave. */
struct join_netns {
	unsigned long netns;              /* inode, as pg_cluster.netns */
	struct sockdiag_table t;          /* sorted (sockdiag_table_sort) */
	int err;                          /* the TCP dumps failed: -errno */
	bool unix_done;                   /* the Unix sockets are in t */
	int unix_err;                     /* the Unix dump failed: -errno */
};

struct join_input {
	struct pg_cluster *const *clusters; /* the clusters whose sessions
	                                       are wanted (verified, chosen) */
	size_t nclusters;
	const struct join_proc *procs;    /* their children, any order;
	                                     others are ignored */
	size_t nprocs;
	const struct join_netns *nss;     /* one per network namespace */
	size_t nns;
	int64_t boot_us;                  /* boot time, epoch microseconds */
	long hz;                          /* clock ticks per second */
};

/*
 * The sessions of IN appended to *RET, sorted by cluster (postmaster pid)
 * then pid: every child with a title, its client socket and what its
 * title says.  Titles are copied.  0 or -ENOMEM (*RET then holds what was
 * added so far; the caller clears it).
 */
int join_sessions(const struct join_input *in, struct session_list *ret);

/* The entry of NSS[0..N) for network namespace NETNS, or N. */
size_t join_netns_index(const struct join_netns *nss, size_t n, unsigned long netns);

/*
 * The TCP socket INODE in T when it is a client of a cluster on PORT (its
 * local port), else NULL.  Lets a reader stop at the first fd that
 * answers.
 */
const struct sockdiag_inet *join_client_inet(const struct sockdiag_table *t, unsigned long inode,
					     int port);

/*
 * cluster_name of each cluster as its running postmaster wrote it into its
 * children's titles, from its oldest child that carries one (the
 * checkpointer starts with the cluster; an autovacuum worker's title
 * holds a database name anyone with CREATEDB chooses, and comes later).
 * Replaces c->cluster_name when found.  0 or -ENOMEM.
 */
int join_cluster_names(struct pg_cluster *const *clusters, size_t nclusters, const struct join_proc *procs,
		       size_t nprocs);

/*
 * Merge C's pg_stat_activity rows ACT into the sessions of L (sorted as
 * join_sessions leaves them): a row is the session with its pid (its
 * ns_pid when C has its own pid namespace) whose start is within 2 s of
 * backend_start (the same pid with another start is another process).
 * SQL's user, database, state, type and times win; the address stays the
 * kernel's unless the kernel gave none.  0 or -ENOMEM.
 */
int join_activity(struct session_list *l, const struct pg_cluster *c, const struct pgsql_activity *act);

#endif
