/*
 * main.c -- pgevict's command line.
 *
 * Owns parsing options once, into struct options, and dispatching through
 * the command table; each command states which kinds of options it takes,
 * and an option it does not take is a usage error (exit 2, one line).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgevict/cmd.h"
#include "pgevict/duration.h"
#include "pgevict/escape.h"
#include "pgevict/ladder.h"
#include "pgevict/select.h"

#ifndef PGEVICT_VERSION
#define PGEVICT_VERSION "dev"
#endif

enum {
	K_GLOBAL = 1 << 0,   /* every command */
	K_SELECT = 1 << 1,   /* selectors */
	K_LS = 1 << 2,       /* --all on ls and clusters */
	K_ACTION = 1 << 3,   /* --dry-run, --via, --step-timeout */
	K_CANCEL_FIRST = 1 << 4,
	K_LOCK = 1 << 5,     /* lockdown's --total, --allow-*, --kick, --role, --database */
	K_STATE = 1 << 6,    /* --state-dir */
	K_AGENT = 1 << 7,    /* --rules, --interval, --once, --check */
	K_SEVER = 1 << 8,    /* --method, --conn, --iface */
	K_HBA = 1 << 9,      /* hba lockdown's --owner */
};

enum { NEED_ROOT = 1 << 0 };

struct command {
	const char *name;
	int (*fn)(const struct options *o);
	int kinds;
	int flags;
	const char *summary;
};

static const struct command commands[] = {
	{ "clusters", cmd_clusters, K_GLOBAL | K_LS, NEED_ROOT,
	  "list the PostgreSQL clusters on this host (--all: unverified too)" },
	{ "ls", cmd_ls, K_GLOBAL | K_SELECT | K_LS, NEED_ROOT, "list client backends (--all: every child)" },
	{ "tree", cmd_tree, K_GLOBAL, NEED_ROOT, "postmasters and their children, like pstree" },
	{ "cancel", cmd_cancel, K_GLOBAL | K_SELECT | K_ACTION, NEED_ROOT, "cancel the running query (sql, then SIGINT)" },
	{ "terminate", cmd_terminate, K_GLOBAL | K_SELECT | K_ACTION | K_CANCEL_FIRST, NEED_ROOT,
	  "end sessions, escalating sql -> SIGTERM -> socket destroy -> RST" },
	{ "sever", cmd_sever, K_GLOBAL | K_SELECT | K_ACTION | K_SEVER, NEED_ROOT,
	  "cut only the client connection (no signal); --conn: any TCP connection" },
	{ "lockdown", cmd_lockdown, K_GLOBAL | K_ACTION | K_LOCK | K_STATE, NEED_ROOT,
	  "refuse new connections: rewrite pg_hba.conf, reload, prove it" },
	{ "unlock", cmd_unlock, K_GLOBAL | K_STATE, NEED_ROOT, "undo a lockdown exactly, reload, prove it" },
	{ "status", cmd_status, K_GLOBAL | K_STATE, NEED_ROOT, "is the cluster locked down, and is that in force" },
	/* root is checked by the agent: --check needs none */
	{ "agent", cmd_agent, K_GLOBAL | K_AGENT, 0, "the sidecar: enforce the rules in --rules DIR" },
	/* no root: FILEs are the operator's; `hba check` without FILE checks */
	{ "hba", cmd_hba, K_GLOBAL | K_LOCK | K_HBA, 0,
	  "check [FILE...]: PostgreSQL's verdict; lockdown FILE: print the lockdown file" },
};

enum {
	O_JSON = 256, O_CLUSTER, O_NO_SQL, O_DSN, O_HELP, O_VERSION,
	O_PID, O_USER, O_DB, O_CLIENT, O_STATE, O_OLDER, O_IDLE, O_RUNNING, O_APP, O_ALL,
	O_DRY_RUN, O_VIA, O_STEP_TIMEOUT, O_CANCEL_FIRST,
	O_TOTAL, O_ALLOW_ROLE, O_ALLOW_HOST, O_KICK, O_ROLE, O_DATABASE, O_STATE_DIR,
	O_RULES, O_INTERVAL, O_ONCE, O_CHECK,
	O_METHOD, O_CONN, O_IFACE,
	O_HBA_FILE, O_OWNER,
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, O_JSON },
	{ "cluster", required_argument, NULL, O_CLUSTER },
	{ "no-sql", no_argument, NULL, O_NO_SQL },
	{ "dsn", required_argument, NULL, O_DSN },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "pid", required_argument, NULL, O_PID },
	{ "user", required_argument, NULL, O_USER },
	{ "db", required_argument, NULL, O_DB },
	{ "client", required_argument, NULL, O_CLIENT },
	{ "state", required_argument, NULL, O_STATE },
	{ "older-than", required_argument, NULL, O_OLDER },
	{ "idle-for", required_argument, NULL, O_IDLE },
	{ "running-for", required_argument, NULL, O_RUNNING },
	{ "app", required_argument, NULL, O_APP },
	{ "all", no_argument, NULL, O_ALL },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "via", required_argument, NULL, O_VIA },
	{ "step-timeout", required_argument, NULL, O_STEP_TIMEOUT },
	{ "cancel-first", no_argument, NULL, O_CANCEL_FIRST },
	{ "total", no_argument, NULL, O_TOTAL },
	{ "allow-role", required_argument, NULL, O_ALLOW_ROLE },
	{ "allow-host", required_argument, NULL, O_ALLOW_HOST },
	{ "kick", no_argument, NULL, O_KICK },
	{ "role", required_argument, NULL, O_ROLE },
	{ "database", required_argument, NULL, O_DATABASE },
	{ "state-dir", required_argument, NULL, O_STATE_DIR },
	{ "rules", required_argument, NULL, O_RULES },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "once", no_argument, NULL, O_ONCE },
	{ "check", no_argument, NULL, O_CHECK },
	{ "method", required_argument, NULL, O_METHOD },
	{ "conn", required_argument, NULL, O_CONN },
	{ "iface", required_argument, NULL, O_IFACE },
	{ "hba-file", required_argument, NULL, O_HBA_FILE },
	{ "owner", required_argument, NULL, O_OWNER },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: pgevict [--json] [--cluster SPEC] [--no-sql] [--dsn CONNINFO] COMMAND [OPTIONS]\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nselectors: --pid N --user NAME --db NAME --client ADDR|CIDR|local --state STATE\n"
		   "           --older-than DUR --idle-for DUR --running-for DUR --app NAME --all\n"
		   "           (DUR: 500ms 2s 10min 1h)\n"
		   "lockdown:  --total --allow-role R --allow-host CIDR --kick --role R --database D\n"
		   "           --dry-run --state-dir DIR --hba-file PATH (the last two also for unlock and status)\n"
		   "sever:     --method rst|destroy   --conn ADDR:PORT,ADDR:PORT [--iface IF]\n"
		   "hba:       hba check [FILE...] (no FILE: the --cluster's own; exit 0 loads, 1 refused, 2 unreadable)\n"
		   "           hba lockdown [--total] [--allow-role R]... [--allow-host CIDR]... [--owner NAME] FILE\n"
		   "see pgevict(8)\n");
}

static int option_kind(int c)
{
	if (c >= O_PID && c <= O_APP)
		return K_SELECT;
	if (c == O_ALL)
		return K_LS | K_SELECT;
	if (c == O_DRY_RUN || c == O_STEP_TIMEOUT)
		return K_ACTION | K_AGENT;
	if (c == O_VIA)
		return K_ACTION;
	if (c >= O_RULES && c <= O_CHECK)
		return K_AGENT;
	if (c == O_CANCEL_FIRST)
		return K_CANCEL_FIRST;
	if (c >= O_TOTAL && c <= O_DATABASE)
		return K_LOCK;
	if (c == O_STATE_DIR || c == O_HBA_FILE)
		return K_STATE;
	if (c == O_METHOD || c == O_CONN || c == O_IFACE)
		return K_SEVER;
	if (c == O_OWNER)
		return K_HBA;
	return K_GLOBAL;
}

/* Append ARG to a list option; -ENOMEM. */
static int push(const char ***v, size_t *n, const char *arg)
{
	const char **p = realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	p[(*n)++] = arg;
	*v = p;
	return 0;
}

/* S escaped for one error line (even the operator's own words are echoed
 * back escaped: cheap and uniform); the text lives until the next call. */
static const char *quoted(const char *s)
{
	static char *last;

	free(last);
	last = escape_term(s);
	return last ? last : "?";
}

static const char *option_name(int c)
{
	size_t i;

	for (i = 0; longopts[i].name; i++)
		if (longopts[i].val == c)
			return longopts[i].name;
	return "?";
}

/* Unset every environment variable whose name starts with "PG". */
static void clear_pg_environment(void)
{
	extern char **environ;
	size_t i;

	for (i = 0; environ && environ[i];) {
		const char *e = environ[i], *eq = strchr(e, '=');
		char *name;
		if (strncmp(e, "PG", 2) != 0 || !(name = strndup(e, eq ? (size_t)(eq - e) : strlen(e)))) {
			i++;
			continue;
		}
		if (unsetenv(name) < 0 || environ[i] == e)
			i++;        /* not removed: step over it */
		free(name);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	const struct command *cmd = NULL;
	const char *cmdname = NULL;
	int c, r, given[64];
	size_t i, ngiven = 0;
	bool via_given = false, method_given = false;

	/* No PG* variable reaches libpq: no PGPASSWORD, PGPASSFILE, PGSERVICE,
	 * PGHOST... from whoever started us (only --dsn names a connection). */
	clear_pg_environment();
	memset(&o, 0, sizeof(o));
	select_init(&o.sel);
	o.step_timeout_ms = 2000;   /* a backend obeys SIGTERM in milliseconds */
	o.interval_ms = 5000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
		const char *arg = optarg;
		if (c == 1) {           /* a non-option: the command, then its words */
			if (cmdname && strcmp(cmdname, "hba") == 0) {
				if ((r = push(&o.args, &o.nargs, arg)) < 0)
					goto out;
				continue;
			}
			if (cmdname) {
				fprintf(stderr, "pgevict: unexpected argument '%s'\n", quoted(arg));
				{ r = EXIT_USAGE; goto out; }
			}
			cmdname = arg;
			continue;
		}
		if (c == '?') {
			fprintf(stderr, "pgevict: unknown option '%s'\n", quoted(argv[optind - 1]));
			{ r = EXIT_USAGE; goto out; }
		}
		if (c == ':') {
			fprintf(stderr, "pgevict: option '%s' needs a value\n", quoted(argv[optind - 1]));
			{ r = EXIT_USAGE; goto out; }
		}
		if (option_kind(c) != K_GLOBAL && ngiven < sizeof(given) / sizeof(given[0]))
			given[ngiven++] = c;
		switch (c) {
		case 'h':
		case O_HELP:
			usage(stdout);
			r = 0;
			goto out;
		case O_VERSION:
			printf("pgevict %s\n", PGEVICT_VERSION);
			r = 0;
			goto out;
		case O_JSON: o.json = true; break;
		case O_CLUSTER: o.cluster = arg; break;
		case O_NO_SQL: o.no_sql = true; break;
		case O_DSN: o.dsn = arg; break;
		case O_ALL:
			o.all = true;
			select_add(&o.sel, "all", NULL);
			break;
		case O_DRY_RUN: o.dry_run = true; break;
		case O_TOTAL: o.total = true; break;
		case O_KICK: o.kick = true; break;
		case O_STATE_DIR: o.state_dir = arg; break;
		case O_HBA_FILE:
			if (arg[0] != '/' || strpbrk(arg, "\n\r")) {
				fprintf(stderr, "pgevict: bad value for --hba-file: an absolute path, on one line\n");
				r = EXIT_USAGE;
				goto out;
			}
			o.hba_file = arg;
			break;
		case O_ALLOW_HOST: {
			struct cidr net;
			if (cidr_parse(arg, &net) < 0 || net.family == AF_UNIX) {
				fprintf(stderr, "pgevict: bad value '%s' for --allow-host (an address or CIDR, e.g. 10.0.0.0/8)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			if ((r = push(&o.allow_hosts, &o.nallow_hosts, arg)) < 0)
				goto out;
			break;
		}
		case O_ALLOW_ROLE:
		case O_ROLE:
		case O_DATABASE:
			if (!*arg || strpbrk(arg, "\n\r")) {
				fprintf(stderr, "pgevict: bad value for --%s: a name, on one line\n", option_name(c));
				r = EXIT_USAGE;
				goto out;
			}
			r = c == O_ALLOW_ROLE ? push(&o.allow_roles, &o.nallow_roles, arg)
			  : c == O_ROLE ? push(&o.lock_roles, &o.nlock_roles, arg)
					: push(&o.lock_dbs, &o.nlock_dbs, arg);
			if (r < 0)
				goto out;
			break;
		case O_CANCEL_FIRST: o.cancel_first = true; break;
		case O_RULES: o.rules_dir = arg; break;
		case O_ONCE: o.once = true; break;
		case O_CHECK: o.check = true; break;
		case O_INTERVAL:
			if (duration_parse(arg, &o.interval_ms) < 0 || o.interval_ms < 100 ||
			    o.interval_ms > 86400000) {
				fprintf(stderr, "pgevict: bad value '%s' for --interval (e.g. 1s, 30s; 100ms to 1d)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			break;
		case O_METHOD:
			if ((strcmp(arg, "rst") != 0 && strcmp(arg, "destroy") != 0) ||
			    ladder_parse_via(arg, &o.via) < 0) {
				fprintf(stderr, "pgevict: bad value '%s' for --method (rst or destroy)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			method_given = true;
			break;
		case O_CONN: o.conn = arg; break;
		case O_OWNER:
			if (!*arg || strpbrk(arg, "\n\r")) {
				fprintf(stderr, "pgevict: bad value for --owner: a name, on one line\n");
				r = EXIT_USAGE;
				goto out;
			}
			o.owner = arg;
			break;
		case O_IFACE:
			if (!*arg || strlen(arg) >= 16 || strchr(arg, '/')) {
				fprintf(stderr, "pgevict: bad value '%s' for --iface (an interface name)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			o.iface = arg;
			break;
		case O_VIA:
			via_given = true;
			if (ladder_parse_via(arg, &o.via) < 0) {
				fprintf(stderr, "pgevict: bad value '%s' for --via (steps: sql,signal,destroy,rst)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			break;
		case O_STEP_TIMEOUT:
			if (duration_parse(arg, &o.step_timeout_ms) < 0 || o.step_timeout_ms <= 0 ||
			    o.step_timeout_ms > 3600000) {
				fprintf(stderr, "pgevict: bad value '%s' for --step-timeout (e.g. 500ms, 5s; at most 1h)\n", quoted(arg));
				r = EXIT_USAGE;
				goto out;
			}
			break;
		default:
			r = select_add(&o.sel, option_name(c), arg);
			if (r == -ENOMEM) {
				fprintf(stderr, "pgevict: out of memory\n");
				{ r = 1; goto out; }
			}
			if (r < 0) {
				fprintf(stderr, "pgevict: bad value '%s' for --%s\n", quoted(arg), option_name(c));
				{ r = EXIT_USAGE; goto out; }
			}
		}
	}
	if (!cmdname) {
		usage(stderr);
		{ r = EXIT_USAGE; goto out; }
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmdname) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "pgevict: unknown command '%s' (see pgevict --help)\n", quoted(cmdname));
		{ r = EXIT_USAGE; goto out; }
	}
	for (i = 0; i < ngiven; i++) {
		if (option_kind(given[i]) & cmd->kinds)
			continue;
		fprintf(stderr, "pgevict: '%s' does not take --%s\n", cmd->name, option_name(given[i]));
		r = EXIT_USAGE;
		goto out;
	}
	if (via_given && method_given) {
		fprintf(stderr, "pgevict: --method and --via both name steps; give one\n");
		{ r = EXIT_USAGE; goto out; }
	}
	if (o.conn && (!select_is_empty(&o.sel) || o.via || o.cancel_first)) {
		fprintf(stderr, "pgevict: --conn names one connection: it takes no selectors, --via or --method\n");
		{ r = EXIT_USAGE; goto out; }
	}
	if (o.no_sql && select_needs_sql(&o.sel)) {
		fprintf(stderr, "pgevict: --idle-for, --running-for and --app need SQL; drop --no-sql\n");
		{ r = EXIT_USAGE; goto out; }
	}
	if ((cmd->flags & NEED_ROOT) && geteuid() != 0) {
		fprintf(stderr, "pgevict: '%s' needs root (to read other users' /proc entries)\n", cmd->name);
		{ r = EXIT_USAGE; goto out; }
	}
	r = cmd->fn(&o);
	fflush(stdout);
out:
	if (r == -ENOMEM) {
		fprintf(stderr, "pgevict: out of memory\n");
		r = 1;
	}
	select_clear(&o.sel);
	free(o.allow_roles);
	free(o.allow_hosts);
	free(o.lock_roles);
	free(o.lock_dbs);
	free(o.args);
	return r;
}
