/* SPDX-License-Identifier: MIT */
/*
 * cmd_ls.c -- `pgevict ls`: client sessions, client backends and walsenders
 * (with --all every child of a postmaster), as a table for people or JSON
 * Lines for scripts.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/duration.h"
#include "pgevict/escape.h"
#include "pgevict/timefmt.h"

static json_object *time_or_null(int64_t us)
{
	char buf[40];

	if (us == TIME_UNKNOWN)
		return NULL;
	timefmt_rfc3339(us, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static const char *transport_name(enum transport t)
{
	return t == TRANSPORT_TCP ? "tcp" : t == TRANSPORT_UNIX ? "unix" : NULL;
}

static json_object *session_json(const struct session *s)
{
	json_object *o = json_object_new_object();
	char st[2] = { s->proc_state, 0 };

	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "ns_pid", s->ns_pid > 0 ? json_object_new_int(s->ns_pid) : NULL);
	json_object_object_add(o, "ppid", json_object_new_int(s->ppid));
	json_object_object_add(o, "cluster", out_json_str(s->cluster->data_dir));
	json_object_object_add(o, "cluster_name", out_json_str(s->cluster->cluster_name));
	json_object_object_add(o, "port", s->cluster->port > 0 ? json_object_new_int(s->cluster->port) : NULL);
	json_object_object_add(o, "backend_type", out_json_str(s->backend_type));
	json_object_object_add(o, "user", out_json_str(s->user));
	json_object_object_add(o, "database", out_json_str(s->database));
	json_object_object_add(o, "transport", out_json_str(transport_name(s->transport)));
	json_object_object_add(o, "client_addr", s->client_addr[0] ? json_object_new_string(s->client_addr) : NULL);
	json_object_object_add(o, "client_port", s->client_port >= 0 ? json_object_new_int(s->client_port) : NULL);
	json_object_object_add(o, "state", out_json_str(s->state));
	json_object_object_add(o, "waiting", s->is_client ? json_object_new_boolean(s->waiting) : NULL);
	json_object_object_add(o, "backend_start", time_or_null(s->start_us));
	json_object_object_add(o, "proc_state", s->proc_state != '?' ? json_object_new_string(st) : NULL);
	json_object_object_add(o, "socket_inode", s->socket_inode ? json_object_new_int64((int64_t)s->socket_inode) : NULL);
	json_object_object_add(o, "tcp_state", out_json_str(tcp_state_name(s->tcp_state)));
	json_object_object_add(o, "source", json_object_new_string(s->from_sql ? "proc+sql" : "proc"));
	if (s->from_sql) {
		json_object_object_add(o, "application_name", out_json_str(s->application_name));
		json_object_object_add(o, "state_change", time_or_null(s->state_change_us));
		json_object_object_add(o, "xact_start", time_or_null(s->xact_start_us));
		json_object_object_add(o, "query_start", time_or_null(s->query_start_us));
		json_object_object_add(o, "query", out_json_str(s->query));
	}
	return o;
}

/* Tell once per cluster when a selector needs SQL the cluster cannot give. */
static void warn_sql_gaps(const struct options *o, const struct discovery *d)
{
	size_t i;
	char label[32];

	if (!select_needs_sql(&o->sel))
		return;
	for (i = 0; i < d->clusters.n; i++) {
		char *e;
		if (d->clusters.v[i]->sql_ok)
			continue;
		e = escape_term(cluster_label(d->clusters.v[i], label, sizeof(label)));
		fprintf(stderr, "pgevict: --idle-for, --running-for and --app need SQL: no session of cluster '%s' can match them\n",
			e ? e : "?");
		free(e);
	}
}

/* Under the table, a line per cluster: its connection slots, what a
 * DBA asks first when logins fail. */
static void print_slots(const struct discovery *d)
{
	size_t i;
	char label[32], slots[48];

	for (i = 0; i < d->clusters.n; i++) {
		const struct pg_cluster *c = d->clusters.v[i];
		size_t used = cluster_slots_used(c, &d->sessions);
		int fr = cluster_slots_free(c, used);
		char *e = escape_term(cluster_label(c, label, sizeof(label)));
		printf("cluster %s (port %d): slots %s used", e ? e : "?", c->port,
		       cluster_slots_text(c, used, slots, sizeof(slots)));
		if (fr != INT_MIN && c->reserved > 0)
			printf(", %d free for ordinary roles (%d kept for superusers, %d for pg_use_reserved_connections)\n",
			       fr < 0 ? 0 : fr, c->su_reserved, c->reserved);
		else if (fr != INT_MIN)
			printf(", %d free for ordinary roles (%d kept for superusers)\n", fr < 0 ? 0 : fr, c->su_reserved);
		else
			printf(" (max_connections unknown)\n");
		free(e);
	}
}

int cmd_ls(const struct options *o)
{
	static const char *const hdr[] = { "PID", "CLUSTER", "TYPE", "USER", "DATABASE", "CLIENT",
					   "STATE", "AGE", "PS", "APP", "QUERY" };
	struct discovery d;
	struct table *t = NULL;
	size_t i, shown = 0;
	int r;

	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	warn_sql_gaps(o, &d);
	if (!o->json && !(t = table_new(11, hdr)))
		goto nomem;
	for (i = 0; i < d.sessions.n; i++) {
		const struct session *s = &d.sessions.v[i];
		if (!o->all && !s->is_client)
			continue;
		if (!select_match(&o->sel, s, d.now_us))
			continue;
		shown++;
		if (o->json) {
			json_object *obj = session_json(s);
			out_json_line(obj);
			json_object_put(obj);
		} else {
			char pid[16], client[INET6_ADDRSTRLEN + 16], age[32], ps[2] = { s->proc_state, 0 };
			char label[32], query[64] = "";
			const char *state = s->state;
			snprintf(pid, sizeof(pid), "%d", s->pid);
			session_client_text(s, client, sizeof(client));
			duration_format(s->start_us == TIME_UNKNOWN ? -1 : (d.now_us - s->start_us) / 1000, age, sizeof(age));
			if (s->query) {
				snprintf(query, sizeof(query), "%s", s->query);
				if (strlen(s->query) >= sizeof(query))
					memcpy(query + sizeof(query) - 4, "...", 4);
			}
			if (!s->is_client)
				state = s->activity;
			if (s->waiting && state)
				state = strcmp(state, "active") == 0 ? "active (waiting)" : state;
			const char *row[] = { pid, cluster_label(s->cluster, label, sizeof(label)),
					      s->backend_type ? s->backend_type : "?", s->user, s->database,
					      s->is_client ? client : "", state, age, ps,
					      s->application_name, s->query ? query : NULL };
			if (table_add(t, row) < 0)
				goto nomem;
		}
	}
	if (t) {
		table_print(t);
		print_slots(&d);
	}
	if (!o->json && !shown)
		fprintf(stderr, "pgevict: no session matches\n");
	table_free(t);
	discovery_clear(&d);
	return 0;
nomem:
	table_free(t);
	discovery_clear(&d);
	fprintf(stderr, "pgevict: out of memory\n");
	return 1;
}
