/* SPDX-License-Identifier: MIT */
/*
 * discover.h -- from the host to clusters and sessions.
 *
 * Owns the data flow's first half: find postmasters in /proc (verified by
 * postmaster.h), enumerate their children, read their titles and socket
 * fds, dump the sockets of each network namespace, and read
 * pg_stat_activity when it can be had; join.h makes sessions of those
 * tables.  It combines adapters and core; it prints nothing: what went
 * wrong per cluster is left in pg_cluster.sql_error and net_error for the
 * command.  Needs root to see other users' fds and to connect as the
 * cluster owner.
 */
#ifndef PGEVICT_DISCOVER_H
#define PGEVICT_DISCOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "pgevict/session.h"

struct discover_opts {
	const char *cluster_spec;    /* data directory, port or cluster_name */
	bool no_sql;                 /* skip SQL enrichment */
	const char *dsn;             /* conninfo overriding the default */
	struct prockeep *keep;       /* titles read through fds kept from one
	                                discovery to the next (prockeep.h);
	                                NULL: opened and closed each time */
	const char *proc_root;       /* "/proc" unless a test says otherwise
	                                (the table, the per-process reads,
	                                the postmaster's root for its socket
	                                too; our own links, /proc/self/fd/N
	                                for libpq and /proc/thread-self/ns/net,
	                                are /proc's whatever it says) */
};

struct discovery {
	struct cluster_list clusters;   /* verified clusters only */
	struct cluster_list unverified; /* what looked like a postmaster and
	                                   failed verification (->unverified
	                                   says why); only `clusters --all`
	                                   shows them */
	struct session_list sessions;   /* every child of every postmaster,
	                                   grouped by cluster, by pid */
	int64_t now_us;                 /* when the scan started */
	int64_t mono_us;                /* when the process table was read
	                                   (clock_mono_us): the time of each
	                                   session's cpu_ticks */
};

/*
 * Fill *ret.  Returns 0; -ENOENT when a cluster_spec was given and no
 * running cluster matches it; -ENOTUNIQ when it matches more than one
 * (they are left in ret->clusters so that the command can list them);
 * other -errno when /proc cannot be read.
 * Free with discovery_clear.
 */
int discover(const struct discover_opts *o, struct discovery *ret);

void discovery_clear(struct discovery *d);

/* Does cluster C match SPEC (data directory, port or cluster_name)? */
bool discover_cluster_matches(const struct pg_cluster *c, const char *spec);

#endif
