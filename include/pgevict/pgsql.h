/* SPDX-License-Identifier: MIT */
/*
 * pgsql.h -- the libpq adapter.
 *
 * Owns connecting to a cluster and reading pg_stat_activity.  By default it
 * connects over the cluster's Unix socket (which must be a socket owned by
 * the cluster's owner) as the data directory's owner with peer
 * authentication, which needs root (the effective uid is switched to the
 * owner for the connection and its authentication only).  No password
 * source is ever read (a passfile that cannot exist; main() clears the PG*
 * environment): a server that asks for a password gets none, unless a
 * --dsn names one.  Every round trip is bounded in time on the client
 * side: 3 s for the connection and its authentication, 5 s for each
 * statement (then the connection is given up: -ETIMEDOUT, "server did not
 * answer within N s"); pgsql_set_interrupt ends a wait sooner (-EINTR).
 * Parameters are never spliced into SQL.
 */
#ifndef PGEVICT_PGSQL_H
#define PGEVICT_PGSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/probe.h"
#include "pgevict/session.h"
#include "pgevict/snapshot.h"

typedef struct pg_conn PGconn;

/*
 * Every wait (the connection, each statement, the probe) also gives up
 * with -EINTR ("interrupted") once STOP(ARG) returns true: it is asked
 * before each wait, at least every 100 ms while waiting, and at once
 * when WAKE_FD (-1: none; a signalfd, say) becomes readable.  STOP may
 * read WAKE_FD (it should drain it).  STOP NULL removes the interrupt.
 * One per process; the adapter keeps the pointers.
 */
void pgsql_set_interrupt(int wake_fd, bool (*stop)(void *arg), void *arg);

/*
 * Open a connection to C (DSN overrides the default when non-NULL; it is
 * used as given, as root, and may name its own password or passfile).
 * Without DSN, only a verified cluster, over SOCKET_DIR/.s.PGSQL.PORT when
 * that is a socket (not a link) owned by the cluster's owner.  Returns 0
 * and *ret_conn, or -errno with *ret_err a malloc'd one-line reason
 * (PostgreSQL's message when it gave one; "server did not answer within
 * 3 s" with -ETIMEDOUT; "interrupted" with -EINTR).
 */
int pgsql_connect(const struct pg_cluster *c, const char *dsn, PGconn **ret_conn, char **ret_err);

/* pgsql_connect, the postmaster's root (where its socket directory is
 * resolved) reached through PROC_DIRFD, a /proc directory fd (-1: /proc,
 * as pgsql_connect does): discovery's, so that its proc_root holds for
 * this read too.  The fd is only used during the call. */
int pgsql_connect_at(int proc_dirfd, const struct pg_cluster *c, const char *dsn, PGconn **ret_conn,
		     char **ret_err);

/*
 * Whether PID (as the server of postmaster PM numbers it: its own pid
 * namespace's), a backend that started at START_US (wall clock;
 * TIME_UNKNOWN: not known), was the backend of one of our last
 * connections, made less than a minute ago (a process that started well
 * after that connection is another one with its pid).  The agent's
 * process events ask it, so that the backend of its own SQL is never
 * taken for a new client (each pass's connection would otherwise ask for
 * the next pass), and discovery, so that a backend of ours still exiting
 * is never counted or listed.
 */
bool pgsql_own_backend(pid_t pm, pid_t pid, int64_t start_us);

/* Read pg_stat_activity.  0 or -EIO (-ETIMEDOUT, -EINTR: the connection
 * is then given up, only pgsql_close is left to do) with *ret_err set.
 * The same holds for every statement below. */
int pgsql_activity(PGconn *conn, struct pgsql_activity *ret, char **ret_err);

/* SHOW hba_file; 0 and a malloc'd path, or -EIO. */
int pgsql_hba_file(PGconn *conn, char **ret_path);

/* max_connections, superuser_reserved_connections and
 * reserved_connections (0 before PostgreSQL 16): 0 and all three, or
 * -EIO and none. */
int pgsql_slot_settings(PGconn *conn, int *ret_max, int *ret_su_reserved, int *ret_reserved);

/* SHOW max_connections; 0 and *ret, or -EIO. */
int pgsql_max_connections(PGconn *conn, int *ret);

/*
 * pg_terminate_backend (CANCEL false) or pg_cancel_backend for each of the
 * N backends (PIDS[i], START_US[i]): only where pg_stat_activity still
 * shows that pid with that backend start (within 2 s: the /proc start
 * time has one-second precision), never our own backend.  RET_OK[i] is
 * set when the function returned true.  0, or -EIO with *ret_err (one
 * line, PostgreSQL's message: a permission error, say).
 */
int pgsql_signal_backends(PGconn *conn, bool cancel, const pid_t *pids, const int64_t *start_us,
			  size_t n, bool *ret_ok, char **ret_err);

/* pg_stat_activity.state of PID now: 0 and a malloc'd *ret_state (NULL
 * when the pid is not there), or -EIO. */
int pgsql_backend_state(PGconn *conn, pid_t pid, char **ret_state);

/*
 * Try a connection to C as USER to database DB: over TCP to HOST (an
 * address), or over the cluster's Unix socket when HOST is NULL, with the
 * effective uid of the data directory's owner when AS_OWNER (peer).  No
 * password is ever sent; SSL and GSSAPI encryption are off.  Returns the
 * classification; *RET_MSG (may be NULL) gets PostgreSQL's or libpq's
 * message on one line, malloc'd.
 */
enum probe_result pgsql_probe(const struct pg_cluster *c, const char *host, const char *user,
			      const char *db, bool as_owner, char **ret_msg);

/* The first line pg_hba_file_rules reports an error for (the file on
 * disk, as PostgreSQL would read it): 0 when none, 1 with *ret_err
 * ("line N: ..."), -EIO with *ret_err when the query failed. */
int pgsql_hba_errors(PGconn *conn, char **ret_err);

/* Is the pg_hba.conf last modified at MTIME_US what PostgreSQL has
 * loaded?  True when its last reload came after that and the file has no
 * errors (with one, PostgreSQL keeps the old rules).  0 or -EIO. */
int pgsql_hba_loaded(PGconn *conn, int64_t mtime_us, bool *ret_loaded, char **ret_err);

/* SELECT pg_reload_conf(): 0 or -EIO. */
int pgsql_reload_conf(PGconn *conn);

/* *RET_WAS gets ROLE's LOGIN attribute; then, when APPLY, it is set to
 * LOGIN.  -ENOENT when there is no such role; -EIO with *ret_err. */
int pgsql_role_login(PGconn *conn, const char *role, bool login, bool apply, bool *ret_was, char **ret_err);

/* The same for database DB's ALLOW_CONNECTIONS. */
int pgsql_db_connections(PGconn *conn, const char *db, bool allow, bool apply, bool *ret_was, char **ret_err);

void pgsql_activity_clear(struct pgsql_activity *a);
void pgsql_close(PGconn *conn);

#endif
