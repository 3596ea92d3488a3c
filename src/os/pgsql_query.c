/* SPDX-License-Identifier: MIT */
/*
 * pgsql_query.c -- the libpq adapter's statements (see pgsql.h): each one
 * within STATEMENT_DEADLINE_MS, on a connection pgsql.c made, never
 * spliced: parameters go as parameters.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libpq-fe.h>

#include "pgevict/clock.h"
#include "pgevict/pgsql.h"

#include "pgsql_int.h"

#define STATEMENT_DEADLINE_MS 5000   /* each statement, client side */

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
	if (pgsql_interrupted())
		return pgsql_fail(ret_err, -EINTR, "interrupted");
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
	while ((f = PQflush(conn)) == 1) {
		if ((rc = pgsql_wait_sock(PQsocket(conn), POLLIN | POLLOUT, deadline, STATEMENT_DEADLINE_MS, ret_err)) < 0)
			goto out;
		if (!PQconsumeInput(conn)) {
			rc = pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
			goto out;
		}
	}
	if (f < 0) {
		rc = pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
		goto out;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			if ((rc = pgsql_wait_sock(PQsocket(conn), POLLIN, deadline, STATEMENT_DEADLINE_MS, ret_err)) < 0)
				goto out;
			if (!PQconsumeInput(conn)) {
				rc = pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
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
		rc = pgsql_fail(ret_err, -EIO, PQerrorMessage(conn));
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
		r = pgsql_fail(ret_err, -EIO, PQresultErrorMessage(*ret_res));
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
		"SELECT a.pid, a.usename, a.datname, a.application_name, a.state, a.backend_type, a.query,"
		" host(a.client_addr), a.client_port,"
		" (extract(epoch FROM a.backend_start) * 1000000)::bigint,"
		" (extract(epoch FROM a.state_change) * 1000000)::bigint,"
		" (extract(epoch FROM a.xact_start) * 1000000)::bigint,"
		" (extract(epoch FROM a.query_start) * 1000000)::bigint,"
		" r.rolsuper"
		" FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"
		" WHERE a.pid <> pg_backend_pid()";
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
		w->rolsuper = PQgetisnull(r, i, 13) ? -1 : PQgetvalue(r, i, 13)[0] == 't';
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

int pgsql_slot_settings(PGconn *conn, int *ret_max, int *ret_su_reserved, int *ret_reserved)
{
	PGresult *r = NULL;
	char *err = NULL, *e;
	int *out[3] = { ret_max, ret_su_reserved, ret_reserved }, v[3], k, ret_;
	long n;

	ret_ = run_sql(conn,
		       "SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'),"
		       " coalesce(current_setting('reserved_connections', true), '0')",
		       0, NULL, PGRES_TUPLES_OK, &r, &err);
	free(err);
	if (ret_ < 0)
		return ret_;
	ret_ = -EIO;
	if (PQntuples(r) == 1 && PQnfields(r) == 3) {
		for (k = 0; k < 3; k++) {
			if (PQgetisnull(r, 0, k))
				break;
			n = strtol(PQgetvalue(r, 0, k), &e, 10);
			if (*e || e == PQgetvalue(r, 0, k) || n < 0 || n >= 1 << 20)
				break;
			v[k] = (int)n;
		}
		if (k == 3 && v[0] > 0) {
			for (k = 0; k < 3; k++)
				*out[k] = v[k];
			ret_ = 0;
		}
	}
	PQclear(r);
	return ret_;
}

int pgsql_max_connections(PGconn *conn, int *ret)
{
	PGresult *r = NULL;
	char *err = NULL, *e;
	long n;
	int ret_ = run_sql(conn, "SELECT current_setting('max_connections')", 0, NULL, PGRES_TUPLES_OK, &r, &err);

	free(err);
	if (ret_ < 0)
		return ret_;
	ret_ = -EIO;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		n = strtol(PQgetvalue(r, 0, 0), &e, 10);
		if (*e == 0 && n > 0 && n < 1 << 20) {
			*ret = (int)n;
			ret_ = 0;
		}
	}
	PQclear(r);
	return ret_;
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
		return pgsql_fail(ret_err, -EIO, "no row from pg_conf_load_time()");
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
