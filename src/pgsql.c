/*
 * pgsql.c -- the libpq adapter (see pgsql.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgevict/pgsql.h"

#define CONNECT_TIMEOUT_S "3"
#define STATEMENT_TIMEOUT "-c statement_timeout=5000 -c lock_timeout=2000"

/* A malloc'd copy of libpq's message on one line. */
static char *one_line(const char *msg)
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

int pgsql_connect(const struct pg_cluster *c, const char *dsn, PGconn **ret_conn, char **ret_err)
{
	const char *keys[9], *vals[9];
	char port[16];
	PGconn *conn;
	int n = 0, switched = 0;
	uid_t euid = geteuid();
	gid_t egid = getegid();

	*ret_conn = NULL;
	*ret_err = NULL;
	if (dsn) {
		keys[n] = "dbname"; vals[n++] = dsn;   /* expanded as a conninfo */
	} else {
		if (!c->socket_dir || c->port < 0) {
			*ret_err = strdup("no Unix socket directory in postmaster.pid");
			return -ENOENT;
		}
		snprintf(port, sizeof(port), "%d", c->port);
		keys[n] = "host"; vals[n++] = c->socket_dir;
		keys[n] = "port"; vals[n++] = port;
		keys[n] = "user"; vals[n++] = c->owner_name ? c->owner_name : "postgres";
		keys[n] = "dbname"; vals[n++] = "postgres";
	}
	keys[n] = "connect_timeout"; vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "options"; vals[n++] = STATEMENT_TIMEOUT;
	keys[n] = "application_name"; vals[n++] = "pgevict";
	keys[n] = NULL; vals[n] = NULL;

	/* Peer authentication reads the effective uid at connect(). */
	if (!dsn && euid == 0 && c->owner_uid != 0) {
		if (setegid(c->owner_gid) < 0 || seteuid(c->owner_uid) < 0) {
			int e = errno;
			if (setegid(egid) < 0)
				abort();
			*ret_err = strdup(strerror(e));
			return -e;
		}
		switched = 1;
	}
	conn = PQconnectdbParams(keys, vals, 1);
	if (switched && (seteuid(euid) < 0 || setegid(egid) < 0))
		abort();        /* never go on with the wrong identity */
	if (!conn)
		return -ENOMEM;
	if (PQstatus(conn) != CONNECTION_OK) {
		*ret_err = one_line(PQerrorMessage(conn));
		PQfinish(conn);
		return -ECONNREFUSED;
	}
	*ret_conn = conn;
	return 0;
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
		"SELECT pid, usename, datname, application_name, state, backend_type, query,"
		" host(client_addr), client_port,"
		" (extract(epoch FROM backend_start) * 1000000)::bigint,"
		" (extract(epoch FROM state_change) * 1000000)::bigint,"
		" (extract(epoch FROM xact_start) * 1000000)::bigint,"
		" (extract(epoch FROM query_start) * 1000000)::bigint"
		" FROM pg_stat_activity WHERE pid <> pg_backend_pid()";
	PGresult *r;
	int i, n;
	size_t k = 0;

	memset(ret, 0, sizeof(*ret));
	*ret_err = NULL;
	ret->self_pid = PQbackendPID(conn);
	r = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*ret_err = one_line(PQresultErrorMessage(r));
		PQclear(r);
		return -EIO;
	}
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
	}
	ret->n = k;
	PQclear(r);
	return 0;
}

int pgsql_hba_file(PGconn *conn, char **ret_path)
{
	PGresult *r = PQexecParams(conn, "SELECT current_setting('hba_file')", 0, NULL, NULL, NULL, NULL, 0);
	int ret = -EIO;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*ret_path = strdup(PQgetvalue(r, 0, 0));
		ret = *ret_path ? 0 : -ENOMEM;
	}
	PQclear(r);
	return ret;
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
	r = PQexecParams(conn, cancel ? canc : term, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*ret_err = one_line(PQresultErrorMessage(r));
		ret = -EIO;
		goto out;
	}
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
	PGresult *r;
	int ret = 0;

	snprintf(p, sizeof(p), "%d", (int)pid);
	*ret_state = NULL;
	r = PQexecParams(conn, "SELECT state FROM pg_stat_activity WHERE pid = $1::int", 1, NULL,
			 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = -EIO;
	else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && !(*ret_state = strdup(PQgetvalue(r, 0, 0))))
		ret = -ENOMEM;
	PQclear(r);
	return ret;
}

const char *probe_result_name(enum probe_result r)
{
	switch (r) {
	case PROBE_PASSED: return "passed pg_hba.conf";
	case PROBE_HBA_REJECT: return "rejected by pg_hba.conf";
	case PROBE_NO_ENTRY: return "no pg_hba.conf entry";
	case PROBE_SLOTS: return "no connection slot";
	case PROBE_UNREACHABLE: return "unreachable";
	case PROBE_OTHER: return "other error";
	}
	return "?";
}

enum probe_result pgsql_probe(const struct pg_cluster *c, const char *host, const char *user,
			      const char *db, bool as_owner, char **ret_msg)
{
	const char *keys[10], *vals[10];
	char port[16];
	PGconn *conn;
	const char *msg;
	enum probe_result res;
	int n = 0;
	bool switched = false;
	uid_t euid = geteuid();
	gid_t egid = getegid();

	if (ret_msg)
		*ret_msg = NULL;
	snprintf(port, sizeof(port), "%d", c->port);
	keys[n] = "host"; vals[n++] = host ? host : c->socket_dir;
	keys[n] = "port"; vals[n++] = port;
	keys[n] = "user"; vals[n++] = user;
	keys[n] = "dbname"; vals[n++] = db;
	keys[n] = "connect_timeout"; vals[n++] = CONNECT_TIMEOUT_S;
	keys[n] = "sslmode"; vals[n++] = "disable";
	keys[n] = "gssencmode"; vals[n++] = "disable";
	keys[n] = "application_name"; vals[n++] = "pgevict-probe";
	keys[n] = "password"; vals[n++] = "";   /* never a .pgpass entry */
	keys[n] = NULL; vals[n] = NULL;
	if (!vals[0])
		return PROBE_UNREACHABLE;
	if (as_owner && euid == 0 && c->owner_uid != 0) {
		if (setegid(c->owner_gid) < 0 || seteuid(c->owner_uid) < 0) {
			if (setegid(egid) < 0)
				abort();
			if (ret_msg)
				*ret_msg = strdup(strerror(errno));
			return PROBE_OTHER;
		}
		switched = true;
	}
	conn = PQconnectdbParams(keys, vals, 0);
	if (switched && (seteuid(euid) < 0 || setegid(egid) < 0))
		abort();
	if (!conn)
		return PROBE_OTHER;
	msg = PQerrorMessage(conn);
	if (PQstatus(conn) == CONNECTION_OK)
		res = PROBE_PASSED;
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
	if (ret_msg)
		*ret_msg = one_line(PQstatus(conn) == CONNECTION_OK ? "connected" : msg);
	PQfinish(conn);
	return res;
}

int pgsql_hba_errors(PGconn *conn, char **ret_err)
{
	PGresult *r;
	int rc;

	*ret_err = NULL;
	r = PQexec(conn, "SELECT line_number, error FROM pg_hba_file_rules"
			 " WHERE error IS NOT NULL ORDER BY line_number LIMIT 1");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*ret_err = one_line(PQresultErrorMessage(r));
		PQclear(r);
		return -EIO;
	}
	rc = 0;
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
	PGresult *r;
	char *ident = NULL, *sql = NULL;
	int rc = 0;

	*ret_err = NULL;
	r = PQexecParams(conn, select_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		*ret_err = one_line(PQresultErrorMessage(r));
		rc = -EIO;
		goto out;
	}
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
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*ret_err = one_line(PQresultErrorMessage(r));
		rc = -EIO;
	}
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

	*ret_err = NULL;
	r = PQexec(conn, "SELECT (extract(epoch FROM pg_conf_load_time()) * 1000000)::bigint,"
			 " (SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL)");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		*ret_err = one_line(PQresultErrorMessage(r));
		PQclear(r);
		return -EIO;
	}
	*ret_loaded = strtoll(PQgetvalue(r, 0, 0), NULL, 10) >= mtime_us && strcmp(PQgetvalue(r, 0, 1), "0") == 0;
	PQclear(r);
	return 0;
}

int pgsql_reload_conf(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT pg_reload_conf()");
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			 strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 0 : -EIO;

	PQclear(r);
	return rc;
}
