/*
 * cmd_clusters.c -- `pgevict clusters`: the postmasters on this host.
 */
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"

int cmd_clusters(const struct options *o)
{
	static const char *const hdr[] = { "PID", "PORT", "VERSION", "NAME", "STATUS", "SESSIONS", "DATA DIRECTORY", "HBA FILE" };
	struct discovery d;
	struct table *t = NULL;
	size_t i, j;
	int r;

	/* SQL, when it works, gives the hba_file PostgreSQL really uses. */
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	if (!o->json && !(t = table_new(8, hdr)))
		goto nomem;
	for (i = 0; i < d.clusters.n; i++) {
		const struct pg_cluster *c = d.clusters.v[i];
		size_t nclient = 0;
		for (j = 0; j < d.sessions.n; j++)
			if (d.sessions.v[j].cluster == c && d.sessions.v[j].is_client)
				nclient++;
		if (o->json) {
			json_object *obj = json_object_new_object();
			json_object_object_add(obj, "pid", json_object_new_int(c->pid));
			json_object_object_add(obj, "data_directory", out_json_str(c->data_dir));
			json_object_object_add(obj, "port", c->port > 0 ? json_object_new_int(c->port) : NULL);
			json_object_object_add(obj, "version", out_json_str(c->version));
			json_object_object_add(obj, "cluster_name", out_json_str(c->cluster_name));
			json_object_object_add(obj, "hba_file", out_json_str(c->hba_file));
			json_object_object_add(obj, "status", out_json_str(c->status));
			json_object_object_add(obj, "socket_directory", out_json_str(c->socket_dir));
			json_object_object_add(obj, "listen_address", out_json_str(c->listen_addr));
			json_object_object_add(obj, "owner", out_json_str(c->owner_name));
			json_object_object_add(obj, "client_sessions", json_object_new_int64((int64_t)nclient));
			out_json_line(obj);
			json_object_put(obj);
		} else {
			char pid[16], port[16], n[16];
			snprintf(pid, sizeof(pid), "%d", c->pid);
			snprintf(port, sizeof(port), "%d", c->port);
			snprintf(n, sizeof(n), "%zu", nclient);
			const char *row[] = { pid, port, c->version, c->cluster_name, c->status, n,
					      c->data_dir, c->hba_file };
			if (table_add(t, row) < 0)
				goto nomem;
		}
	}
	if (t) {
		if (d.clusters.n)
			table_print(t);
		else
			printf("no PostgreSQL cluster is running on this host\n");
	}
	table_free(t);
	discovery_clear(&d);
	return 0;
nomem:
	table_free(t);
	discovery_clear(&d);
	fprintf(stderr, "pgevict: out of memory\n");
	return 1;
}
