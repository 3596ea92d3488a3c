/* SPDX-License-Identifier: MIT */
/*
 * cmd_clusters.c -- `pgevict clusters`: the postmasters on this host.
 *
 * Verified clusters only; --all adds what looks like a postmaster but
 * failed verification (postmaster.c), marked UNVERIFIED with the reason.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"

/* The last column: why a cluster is not verified, or why its hba_file is
 * in doubt.  NULL: nothing to say. */
static const char *note_of(const struct pg_cluster *c)
{
	return c->unverified ? c->unverified : c->hba_conflict;
}

/* Where C runs: "-" on the host, its container ("docker:0123456789ab"),
 * or the namespaces it has of its own ("ns:net+pid+mnt"). */
static const char *where_of(const struct pg_cluster *c, char *buf, size_t len)
{
	char kinds[32];

	if (c->container)
		return c->container;
	if (!c->ns_own)
		return "-";
	snprintf(buf, len, "ns:%s", ns_own_label(c->ns_own, kinds, sizeof(kinds)));
	return buf;
}

static json_object *container_json(const struct pg_cluster *c)
{
	json_object *o, *kinds;
	static const struct {
		unsigned bit;
		const char *name;
	} k[] = { { NS_NET, "net" }, { NS_PID, "pid" }, { NS_MNT, "mnt" }, { NS_USER, "user" } };
	const char *colon;
	size_t i;

	if (!c->ns_own && !c->container)
		return NULL;
	o = json_object_new_object();
	kinds = json_object_new_array();
	colon = c->container ? strchr(c->container, ':') : NULL;
	json_object_object_add(o, "runtime", colon ? json_object_new_string_len(c->container, (int)(colon - c->container))
						   : NULL);
	json_object_object_add(o, "id", out_json_str(c->container_id));
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (c->ns_own & k[i].bit)
			json_object_array_add(kinds, json_object_new_string(k[i].name));
	json_object_object_add(o, "namespaces", kinds);
	return o;
}

static json_object *namespaces_json(const struct pg_cluster *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "net", c->netns ? json_object_new_int64((int64_t)c->netns) : NULL);
	json_object_object_add(o, "pid", c->pidns ? json_object_new_int64((int64_t)c->pidns) : NULL);
	json_object_object_add(o, "mnt", c->mntns ? json_object_new_int64((int64_t)c->mntns) : NULL);
	json_object_object_add(o, "user", c->userns ? json_object_new_int64((int64_t)c->userns) : NULL);
	return o;
}

static json_object *int_or_null(int v, int unknown_below)
{
	return v < unknown_below ? NULL : json_object_new_int(v);
}

/* {used, max, superuser_reserved, reserved, free}: the settings null when
 * unknown; free is what an ordinary role can still take (0 when
 * superusers hold reserved slots too). */
static json_object *slots_json(const struct pg_cluster *c, size_t used)
{
	json_object *o = json_object_new_object();
	int fr = cluster_slots_free(c, used);

	json_object_object_add(o, "used", json_object_new_int64((int64_t)used));
	json_object_object_add(o, "max", int_or_null(c->max_connections, 1));
	json_object_object_add(o, "superuser_reserved", int_or_null(c->su_reserved, 0));
	json_object_object_add(o, "reserved", int_or_null(c->reserved, 0));
	json_object_object_add(o, "free", fr == INT_MIN ? NULL : json_object_new_int(fr < 0 ? 0 : fr));
	return o;
}

int cmd_clusters(const struct options *o)
{
	const char *hdr[11] = { "PID", "PORT", "VERSION", "NAME", "STATUS", "SESSIONS", "SLOTS" };
	const struct cluster_list *lists[2];
	struct discovery d;
	struct table *t = NULL;
	size_t i, j, l, nshown = 0;
	bool with_note = false, with_where = false;
	int r, ncols = 7;

	/* SQL, when it works, gives the hba_file PostgreSQL really uses. */
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	lists[0] = &d.clusters;
	lists[1] = &d.unverified;
	for (l = 0; l < (o->all ? 2u : 1u); l++)
		for (i = 0; i < lists[l]->n; i++) {
			with_note |= note_of(lists[l]->v[i]) != NULL;
			with_where |= lists[l]->v[i]->ns_own || lists[l]->v[i]->container;
		}
	/* CONTAINER only where one runs, NOTE only when there is one */
	if (with_where)
		hdr[ncols++] = "CONTAINER";
	hdr[ncols++] = "DATA DIRECTORY";
	hdr[ncols++] = "HBA FILE";
	if (with_note)
		hdr[ncols++] = "NOTE";
	if (!o->json && !(t = table_new(ncols, hdr)))
		goto nomem;
	for (l = 0; l < (o->all ? 2u : 1u); l++)
		for (i = 0; i < lists[l]->n; i++) {
			const struct pg_cluster *c = lists[l]->v[i];
			size_t nclient = 0, used = cluster_slots_used(c, &d.sessions);
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
				json_object_object_add(obj, "slots", c->unverified ? NULL : slots_json(c, used));
				json_object_object_add(obj, "verified", json_object_new_boolean(!c->unverified));
				json_object_object_add(obj, "unverified", out_json_str(c->unverified));
				json_object_object_add(obj, "container", container_json(c));
				json_object_object_add(obj, "namespaces", namespaces_json(c));
				out_json_line(obj);
				json_object_put(obj);
			} else {
				char pid[16], port[16], n[16], where[48], slots[48];
				const char *row[11];
				int k = 0;
				snprintf(pid, sizeof(pid), "%d", c->pid);
				snprintf(port, sizeof(port), "%d", c->port);
				snprintf(n, sizeof(n), "%zu", nclient);
				row[k++] = pid;
				row[k++] = port;
				row[k++] = c->version;
				row[k++] = c->cluster_name;
				row[k++] = c->unverified ? "UNVERIFIED" : c->status;
				row[k++] = n;
				row[k++] = c->unverified ? "" : cluster_slots_text(c, used, slots, sizeof(slots));
				if (with_where)
					row[k++] = where_of(c, where, sizeof(where));
				row[k++] = c->data_dir;
				row[k++] = c->hba_file;
				if (with_note)
					row[k++] = note_of(c) ? note_of(c) : "";
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
