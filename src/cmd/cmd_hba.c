/* SPDX-License-Identifier: MIT */
/*
 * cmd_hba.c -- `pgevict hba check` and `pgevict hba lockdown`: pg_hba.conf
 * judged and rewritten without a server.
 *
 * Owns reading the files named (and the @files they include), printing
 * PostgreSQL's verdict on each refused line as `FILE:LINE: message` (or
 * one JSON object per error), and printing the lockdown file that
 * `lockdown` would write for a given pg_hba.conf.  It does not judge (that
 * is hba.c, PostgreSQL 15's rules) and touches no cluster: without FILE,
 * `hba check` only reads the --cluster's own pg_hba.conf.
 *
 * Exit status: check: 0 every file would load, 1 one would not, 2 usage
 * or a file that cannot be read; lockdown: 0 printed, 2 usage or a FILE
 * that cannot be read or used, 1 an internal failure.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgevict/cmd.h"
#include "pgevict/discover.h"
#include "pgevict/escape.h"
#include "pgevict/fileio.h"
#include "pgevict/hba.h"
#include "pgevict/select.h"

/* S escaped for the terminal; "?" when out of memory.  Lives until the
 * next call with the same SLOT. */
static const char *T(int slot, const char *s)
{
	static char *last[3];

	free(last[slot]);
	last[slot] = escape_term(s ? s : "");
	return last[slot] ? last[slot] : "?";
}

/* hba_parse_opts.read_file: an @file, read like the file itself. */
static int read_included(void *ctx, const char *path, char **ret_text, size_t *ret_len)
{
	(void)ctx;
	return file_read_all(path, 0, ret_text, ret_len, NULL);
}

/* hba_parse_opts.resolve: a RADIUS server name, looked up as the server
 * does when it loads the file (parse_hba_auth_opt: SOCK_DGRAM, any
 * family), so on the cluster's own host the verdict is the server's. */
static int resolve_name(void *ctx, const char *name)
{
	struct addrinfo hints, *res = NULL;
	int r;

	(void)ctx;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_family = AF_UNSPEC;
	r = getaddrinfo(*name ? name : NULL, NULL, &hints, &res);
	if (r == 0 && !res)
		r = EAI_NONAME;
	if (res)
		freeaddrinfo(res);
	return r;
}

static const char *read_err(int r)
{
	if (r == -EINVAL)
		return "not a regular file";
	if (r == -ELOOP)
		return "a symbolic link (name the file itself)";
	if (r == -EFBIG)
		return "too large";
	return strerror(-r);
}

/* One file's verdict printed; 0 would load, 1 would not, 2 unreadable. */
static int check_one(const struct options *o, const char *path, const char *text, size_t len)
{
	struct hba_parse_opts po = { .version = 15, .path = path, .read_file = read_included,
				     .resolve = resolve_name };
	struct hba_file f = { 0 };
	struct hba_error *errs = NULL;
	size_t nerrs = 0, i;
	int r;

	r = hba_parse_ex(text, len, &po, &f, &errs, &nerrs);
	if (r < 0) {
		fprintf(stderr, "pgevict: cannot check '%s': %s\n", T(0, path), strerror(-r));
		return 2;
	}
	for (i = 0; i < nerrs; i++) {
		if (o->json) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "file", json_object_new_string(path));
			json_object_object_add(j, "line", errs[i].lineno > 0 ? json_object_new_int(errs[i].lineno) : NULL);
			json_object_object_add(j, "error", json_object_new_string(errs[i].what));
			out_json_line(j);
			json_object_put(j);
		} else if (errs[i].lineno > 0) {
			printf("%s:%d: %s\n", T(0, path), errs[i].lineno, T(1, errs[i].what));
		} else {
			printf("%s: %s\n", T(0, path), T(1, errs[i].what));
		}
	}
	free(errs);
	hba_file_free(&f);
	return nerrs ? 1 : 0;
}

/* The --cluster's own pg_hba.conf, read without following what another
 * account controls.  0, or the exit status. */
static int read_cluster_file(const struct options *o, char **ret_path, char **ret_text, size_t *ret_len)
{
	struct discovery d = { 0 };
	const struct pg_cluster *c;
	char *path = NULL, *name = NULL;
	int dirfd = -1, r, status = EXIT_USAGE;

	if (!o->cluster) {
		fprintf(stderr, "pgevict: 'hba check' needs a FILE, or --cluster SPEC for the cluster's own\n");
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pgevict: 'hba check' without FILE needs root (to find the cluster)\n");
		return EXIT_USAGE;
	}
	if ((r = cmd_discover(o, &d)) != 0)
		return r;
	if (d.clusters.n != 1) {
		fprintf(stderr, "pgevict: no running cluster matches '%s'\n", T(0, o->cluster));
		goto out;
	}
	c = d.clusters.v[0];
	if (c->hba_file)
		path = strdup(c->hba_file);
	else if (asprintf(&path, "%s/pg_hba.conf", c->data_dir) < 0)
		path = NULL;
	if (!path) {
		fprintf(stderr, "pgevict: out of memory\n");
		status = 1;
		goto out;
	}
	r = file_resolve(path, &dirfd, &name, NULL, NULL);
	if (r == 0)
		r = file_read_at(dirfd, name, 0, ret_text, ret_len, NULL);
	if (r < 0) {
		fprintf(stderr, "pgevict: cannot read '%s': %s\n", T(0, path), read_err(r));
		goto out;
	}
	*ret_path = path;
	path = NULL;
	status = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	free(path);
	discovery_clear(&d);
	return status;
}

static int hba_check(const struct options *o)
{
	int status = 0;
	size_t i;

	if (o->total || o->nallow_roles || o->nallow_hosts || o->owner) {
		fprintf(stderr, "pgevict: 'hba check' takes no lockdown options\n");
		return EXIT_USAGE;
	}
	if (o->nargs == 1) {
		char *path = NULL, *text = NULL;
		size_t len = 0;
		int r = read_cluster_file(o, &path, &text, &len);

		if (r != 0)
			return r;
		status = check_one(o, path, text, len);
		free(path);
		free(text);
		return status;
	}
	if (o->cluster) {
		fprintf(stderr, "pgevict: 'hba check' takes FILE or --cluster, not both\n");
		return EXIT_USAGE;
	}
	for (i = 1; i < o->nargs; i++) {
		char *text = NULL;
		size_t len = 0;
		int r = file_read_all(o->args[i], 0, &text, &len, NULL), s;

		if (r < 0) {
			fprintf(stderr, "pgevict: cannot read '%s': %s\n", T(0, o->args[i]), read_err(r));
			status = 2;
			continue;
		}
		s = check_one(o, o->args[i], text, len);
		free(text);
		if (s > status)
			status = s;
	}
	return status;
}

static int hba_lockdown_print(const struct options *o)
{
	struct hba_file orig = { 0 }, out = { 0 };
	struct hba_error e, *errs = NULL;
	struct hba_lockdown_opts lo = { 0 };
	struct hba_parse_opts po = { .version = 15 };
	struct cidr *nets = NULL;
	const char *path;
	char *text = NULL, *res = NULL, *notes = NULL, *hdr = NULL, *p, *nl;
	size_t len = 0, nerrs = 0, i;
	bool have_orig = false;
	int r, status = EXIT_USAGE;

	if (o->nargs != 2) {
		fprintf(stderr, "pgevict: 'hba lockdown' needs exactly one FILE (the cluster's pg_hba.conf)\n");
		return EXIT_USAGE;
	}
	if (o->kick || o->nlock_roles || o->nlock_dbs || o->cluster || o->json) {
		fprintf(stderr, "pgevict: 'hba lockdown' takes only --total, --allow-role, --allow-host and --owner\n");
		return EXIT_USAGE;
	}
	path = o->args[1];
	if ((r = file_read_all(path, 0, &text, &len, NULL)) < 0) {
		fprintf(stderr, "pgevict: cannot read '%s': %s\n", T(0, path), read_err(r));
		return EXIT_USAGE;
	}
	r = hba_parse(text, len, &orig, &e);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0) {
		if (o->nallow_roles || o->nallow_hosts) {
			fprintf(stderr, "pgevict: cannot read '%s' line %d: %s; --allow-* needs its rules\n",
				T(0, path), e.lineno, T(1, e.what));
			goto out;
		}
		if (!o->total)
			fprintf(stderr, "pgevict: note: '%s' line %d: %s; standbys' lines cannot be kept\n", T(0, path),
				e.lineno, T(1, e.what));
	} else {
		have_orig = true;
	}
	if (!(nets = calloc(o->nallow_hosts + 1, sizeof(*nets))))
		goto oom;
	for (i = 0; i < o->nallow_hosts; i++)
		cidr_parse(o->allow_hosts[i], &nets[i]);
	if (asprintf(&hdr, "# pg_hba.conf as pgevict lockdown would write it for %s\n", path) < 0 ||
	    strpbrk(path, "\n\r")) {
		hdr = NULL;
		if (strpbrk(path, "\n\r")) {
			fprintf(stderr, "pgevict: a FILE name on one line, please\n");
			goto out;
		}
		goto oom;
	}
	lo.owner = o->owner ? o->owner : "postgres";
	lo.total = o->total;
	lo.roles = o->allow_roles;
	lo.nroles = o->nallow_roles;
	lo.hosts = nets;
	lo.nhosts = o->nallow_hosts;
	lo.header = hdr;
	r = hba_lockdown(have_orig ? &orig : NULL, &lo, &res, &notes);
	if (r == -EINVAL) {
		fprintf(stderr, "pgevict: the owner '%s' or a role cannot be written into pg_hba.conf\n", T(0, lo.owner));
		goto out;
	}
	if (r < 0)
		goto oom;
	for (p = notes; p && *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n')))
			break;
		*nl = '\0';
		fprintf(stderr, "pgevict: note: %s\n", T(0, p));
	}
	/* Never print what PostgreSQL would not load. */
	if ((r = hba_parse_ex(res, strlen(res), &po, &out, &errs, &nerrs)) < 0)
		goto oom;
	if (nerrs) {
		fprintf(stderr, "pgevict: internal error: PostgreSQL would refuse the lockdown file (line %d: %s)\n",
			errs[0].lineno, T(0, errs[0].what));
		status = 1;
		goto out;
	}
	fputs(res, stdout);
	status = 0;
	goto out;
oom:
	fprintf(stderr, "pgevict: out of memory\n");
	status = 1;
out:
	hba_file_free(&orig);
	hba_file_free(&out);
	free(errs);
	free(nets);
	free(text);
	free(res);
	free(notes);
	free(hdr);
	return status;
}

int cmd_hba(const struct options *o)
{
	const char *sub = o->nargs ? o->args[0] : NULL;
	int status;

	if (!sub) {
		fprintf(stderr, "pgevict: 'hba' needs a subcommand: check or lockdown\n");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "check") == 0)
		status = hba_check(o);
	else if (strcmp(sub, "lockdown") == 0)
		status = hba_lockdown_print(o);
	else {
		fprintf(stderr, "pgevict: unknown 'hba' subcommand '%s' (check or lockdown)\n", T(0, sub));
		return EXIT_USAGE;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pgevict: cannot write the output: %s\n", strerror(errno));
		return status ? status : 1;
	}
	return status;
}
