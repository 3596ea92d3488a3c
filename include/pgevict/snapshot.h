/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h -- rows that discovery reads from the host, as plain data
 * (core, no I/O).
 *
 * The adapters fill them (a process's socket fds: procfs.h's
 * procfs_socket_fds; pg_stat_activity: pgsql.h's pgsql_activity, which
 * pgsql_activity_clear frees) and core reads them (join.h), as test_join
 * does from the recorded hosts in tests/data/join/.  sock_diag's socket
 * tables are socktab.h's.
 */
#ifndef PGEVICT_SNAPSHOT_H
#define PGEVICT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One socket fd of a process ("socket:[INODE]" at /proc/PID/fd/FD). */
struct proc_sock {
	int fd;
	unsigned long inode;
};

/* One pg_stat_activity row (strings NULL for SQL NULL, times
 * TIME_UNKNOWN). */
struct pgsql_row {
	pid_t pid;
	char *usename, *datname, *application_name, *state, *backend_type, *query;
	char *client_addr;
	int client_port;             /* -1 for Unix sockets / NULL */
	int64_t backend_start_us, state_change_us, xact_start_us, query_start_us;
	int rolsuper;                /* pg_roles.rolsuper: 1, 0, -1 unknown */
};

struct pgsql_activity {
	struct pgsql_row *v;
	size_t n;
	pid_t self_pid;              /* our own backend, excluded from v */
};

#endif
