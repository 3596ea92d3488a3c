/* SPDX-License-Identifier: MIT */
/*
 * cmd_common.c -- what the commands share beyond output (command layer).
 *
 * Owns running discovery for a command and reporting, once, on stderr,
 * what went wrong: a --cluster that matches nothing or several (with why
 * the one that looks right is not a verified cluster), a process table
 * that cannot be read, and per cluster the sockets or SQL it could not
 * have.  Output formatting is output.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/cmd.h"
#include "pgevict/escape.h"

int cmd_discover(const struct options *o, struct discovery *ret)
{
	struct discover_opts d = {
		.cluster_spec = o->cluster,
		.no_sql = o->no_sql,
		.dsn = o->dsn,
	};
	size_t i;
	int r;

	r = discover(&d, ret);
	if (r == -ENOENT || r == -ENOTUNIQ) {
		char *spec = escape_term(o->cluster);
		const struct cluster_list *l = r == -ENOENT ? &ret->unverified : &ret->clusters;
		size_t shown = 0;
		if (r == -ENOENT)
			fprintf(stderr, "pgevict: no running cluster matches '%s'", spec ? spec : "");
		else
			fprintf(stderr, "pgevict: --cluster '%s' matches %zu clusters: ", spec ? spec : "",
				ret->clusters.n);
		for (i = 0; i < l->n; i++) {
			const struct pg_cluster *c = l->v[i];
			char *dir, *why;
			if (r == -ENOENT && !discover_cluster_matches(c, o->cluster))
				continue;
			dir = escape_term(c->data_dir ? c->data_dir : "?");
			why = escape_term(c->unverified ? c->unverified : "");
			if (r == -ENOENT)   /* say why the one that looks right is not taken */
				fprintf(stderr, "%s process %d is not a verified cluster: %s",
					shown ? ";" : " (", (int)c->pid, why ? why : "");
			else
				fprintf(stderr, "%s%s (port %d)", shown ? ", " : "", dir ? dir : "", c->port);
			shown++;
			free(dir);
			free(why);
		}
		fprintf(stderr, "%s\n", r == -ENOENT && shown ? ")" : "");
		free(spec);
		discovery_clear(ret);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "pgevict: cannot read the process table: %s\n", strerror(-r));
		return 1;
	}
	for (i = 0; i < ret->clusters.n; i++) {
		const struct pg_cluster *c = ret->clusters.v[i];
		char label[32], *name, *why;
		if (c->net_error) {
			name = escape_term(cluster_label(c, label, sizeof(label)));
			fprintf(stderr, "pgevict: cluster '%s': %s; its clients are unknown\n", name ? name : "?",
				c->net_error);
			free(name);
		}
		if (!c->sql_error)
			continue;
		name = escape_term(cluster_label(c, label, sizeof(label)));
		why = escape_term(c->sql_error);
		fprintf(stderr, "pgevict: no SQL for cluster '%s': %s; going on from /proc and the kernel alone\n",
			name ? name : "?", why ? why : "");
		free(name);
		free(why);
	}
	return 0;
}
