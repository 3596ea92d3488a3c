/* SPDX-License-Identifier: MIT */
/*
 * cmd_tree.c -- `pgevict tree`: each postmaster and its children, like
 * pstree, labelled with PostgreSQL's backend types.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"

static void put_escaped(const char *s)
{
	char *e = escape_term(s);

	fputs(e ? e : "?", stdout);
	free(e);
}

int cmd_tree(const struct options *o)
{
	struct discovery d;
	size_t i, j, last;
	int r;

	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	for (i = 0; i < d.clusters.n; i++) {
		const struct pg_cluster *c = d.clusters.v[i];
		printf("%d postmaster", c->pid);
		if (c->cluster_name) {
			fputs(" ", stdout);
			put_escaped(c->cluster_name);
		}
		printf(" (port %d, ", c->port);
		put_escaped(c->data_dir);
		fputs(", ", stdout);
		put_escaped(c->status ? c->status : "status unknown");
		fputs(")\n", stdout);
		for (last = 0, j = 0; j < d.sessions.n; j++)
			if (d.sessions.v[j].cluster == c)
				last = j;
		for (j = 0; j < d.sessions.n; j++) {
			const struct session *s = &d.sessions.v[j];
			char client[INET6_ADDRSTRLEN + 16];
			if (s->cluster != c)
				continue;
			printf("%s %d ", j == last ? "└─" : "├─", s->pid);
			put_escaped(s->backend_type ? s->backend_type : "?");
			if (s->is_client) {
				session_client_text(s, client, sizeof(client));
				fputs(" ", stdout);
				put_escaped(s->user);
				fputs("@", stdout);
				put_escaped(s->database);
				printf(" %s ", client);
				put_escaped(s->state);
			} else if (s->activity) {
				fputs(" ", stdout);
				put_escaped(s->activity);
			}
			if (s->proc_state == 'T' || s->proc_state == 'D' || s->proc_state == 'Z')
				printf(" [%c]", s->proc_state);
			putchar('\n');
		}
	}
	if (!d.clusters.n)
		printf("no PostgreSQL cluster is running on this host\n");
	discovery_clear(&d);
	return 0;
}
