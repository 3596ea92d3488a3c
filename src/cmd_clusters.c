/*
 * cmd_clusters.c -- `pgevict clusters`: the postmasters on this host.
 *
 * Verified clusters only; --all adds what looks like a postmaster but
 * failed verification (discover.c), marked UNVERIFIED with the reason.
 */
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"

/* The last column: why a cluster is not verified, or why its hba_file is
 * in doubt.  NULL: nothing to say. */
static const char *note_of(const struct pg_cluster *c)
{
	return c->unverified ? c->unverified : c->hba_conflict;
}

int cmd_clusters(const struct options *o)
{
	static const char *const hdr[] = { "PID", "PORT", "VERSION", "NAME", "STATUS", "SESSIONS", "DATA DIRECTORY",
					   "HBA FILE", "NOTE" };
	const struct cluster_list *lists[2];
	struct discovery d;
	struct table *t = NULL;
	size_t i, j, l, nshown = 0;
	int r, ncols = 8;

	/* SQL, when it works, gives the hba_file PostgreSQL really uses. */
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	lists[0] = &d.clusters;
	lists[1] = &d.unverified;
	for (l = 0; l < (o->all ? 2u : 1u); l++)
		for (i = 0; i < lists[l]->n; i++)
			if (note_of(lists[l]->v[i]))
				ncols = 9;
	if (!o->json && !(t = table_new(ncols, hdr)))
		goto nomem;
	for (l = 0; l < (o->all ? 2u : 1u); l++)
		for (i = 0; i < lists[l]->n; i++) {
			const struct pg_cluster *c = lists[l]->v[i];
			size_t nclient = 0;
			for (j = 0; j < d.sessions.n; j++)
				if (d.sessions.v[j].cluster == c && d.sessions.v[j].is_client)
					nclient++;
			nshown++;
			if (o->json) {
				json_object *obj = json_object_new_object();
				json_object_object_add(obj, "pid", json_object_new_int(c->pid));
				json_object_object_add(obj, "data_directory", out_json_str(c->data_dir));
				json_object_object_add(obj, "port", c->port > 0 ? json_object_new_int(c->port) : NULL);
				json_object_object_add(obj, "version", out_json_str(c->version));
				json_object_object_add(obj, "cluster_name", out_json_str(c->cluster_name));
				json_object_object_add(obj, "hba_file", out_json_str(c->hba_file));
				json_object_object_add(obj, "hba_conflict", out_json_str(c->hba_conflict));
				json_object_object_add(obj, "status", out_json_str(c->status));
				json_object_object_add(obj, "socket_directory", out_json_str(c->socket_dir));
				json_object_object_add(obj, "listen_address", out_json_str(c->listen_addr));
				json_object_object_add(obj, "owner", out_json_str(c->owner_name));
				json_object_object_add(obj, "client_sessions", json_object_new_int64((int64_t)nclient));
				json_object_object_add(obj, "verified", json_object_new_boolean(!c->unverified));
				json_object_object_add(obj, "unverified", out_json_str(c->unverified));
				out_json_line(obj);
				json_object_put(obj);
			} else {
				char pid[16], port[16], n[16];
				snprintf(pid, sizeof(pid), "%d", c->pid);
				snprintf(port, sizeof(port), "%d", c->port);
				snprintf(n, sizeof(n), "%zu", nclient);
				const char *row[] = { pid, port, c->version, c->cluster_name,
						      c->unverified ? "UNVERIFIED" : c->status, n, c->data_dir,
						      c->hba_file, note_of(c) ? note_of(c) : "" };
				if (table_add(t, row) < 0)
					goto nomem;
			}
		}
	if (t) {
		if (nshown)
			table_print(t);
		else
			printf("no PostgreSQL cluster is running on this host\n");
	}
	if (!o->all && d.unverified.n)
		fprintf(stderr, "pgevict: %zu process(es) look like a postmaster but are not verified (see clusters --all)\n",
			d.unverified.n);
	table_free(t);
	discovery_clear(&d);
	return 0;
nomem:
	table_free(t);
	discovery_clear(&d);
	fprintf(stderr, "pgevict: out of memory\n");
	return 1;
}
