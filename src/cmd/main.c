/* SPDX-License-Identifier: MIT */
/*
 * main.c -- pgevict's command line (command layer).
 *
 * Three steps, like systemd's parse_argv and git's commands[]:
 *   parse_argv  every option once, through the option table, into struct
 *               options; a value is checked where it is read;
 *   validate    the command from the command table, each option given
 *               against the kinds that command takes, the rules that tie
 *               options together;
 *   dispatch    root when the command needs it, the command, then stdout
 *               flushed and closed: a write error is an error.
 * A usage error is one specific line on stderr and exit 2.  Nothing here
 * counts occurrences in a fixed-size array: which options were given is one
 * flag per row of the option table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
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

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Kinds of options; a command takes the kinds in its row. */
enum {
	K_GLOBAL = 1 << 0,   /* every command */
	K_SELECT = 1 << 1,   /* selectors */
	K_LS = 1 << 2,       /* --all on ls and clusters */
	K_ACTION = 1 << 3,   /* --dry-run, --via, --step-timeout */
	K_CANCEL_FIRST = 1 << 4,
	K_LOCK = 1 << 5,     /* lockdown's --total, --allow-*, --kick, --role, --database */
	K_STATE = 1 << 6,    /* --state-dir, --hba-file */
	K_AGENT = 1 << 7,    /* --rules, --interval, --once, --check */
	K_SEVER = 1 << 8,    /* --method, --conn, --iface */
	K_HBA = 1 << 9,      /* hba lockdown's --owner */
	K_TOP = 1 << 10,     /* top's --batch, --iterations (and --interval) */
};

enum {
	NEED_ROOT = 1 << 0,
	TAKES_ARGS = 1 << 1,  /* words after the command go to o->args */
};

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
	{ "ls", cmd_ls, K_GLOBAL | K_SELECT | K_LS, NEED_ROOT,
	  "list client sessions: client backends and walsenders (--all: every child)" },
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
	{ "agent", cmd_agent, K_GLOBAL | K_AGENT | K_STATE, 0, "the sidecar: enforce the rules in --rules DIR" },
	/* no root: FILEs are the operator's; `hba check` without FILE checks */
	{ "hba", cmd_hba, K_GLOBAL | K_LOCK | K_HBA, TAKES_ARGS,
	  "check [FILE...]: PostgreSQL's verdict; lockdown FILE: print the lockdown file" },
	{ "top", cmd_top, K_GLOBAL | K_SELECT | K_LS | K_TOP | K_STATE, NEED_ROOT,
	  "a live view of every session; --batch [--iterations N]: plain text" },
};

/* How an option's value is taken. */
enum opt_type {
	T_HELP,       /* print the usage, exit 0 */
	T_VERSION,    /* print the version, exit 0 */
	T_FLAG,       /* no value: sets the bool at .field */
	T_SWITCH,     /* no value: .set does it */
	T_VALUE,      /* a value: the const char * at .field; the last one given wins */
	T_LIST,       /* repeatable: appended to the const char ** at .field, count at .count */
	T_SELECTOR,   /* repeatable: select_add(&o->sel, name, value) */
	T_CUSTOM,     /* a value that .set converts and stores */
};

struct optdef {
	const char *name;
	enum opt_type type;
	int kinds;                    /* K_*: the commands that take it */
	size_t field, count;          /* offsetof(struct options, ...) */
	int (*check)(const char *arg);  /* T_VALUE, T_LIST: 0, -EINVAL, -EDOM */
	int (*set)(struct options *o, const char *arg);  /* T_SWITCH, T_CUSTOM: 0, -EINVAL, -ENOMEM */
	bool echo;                    /* a bad value is quoted back in the error */
	const char *hint;             /* after "bad value ... for --NAME" */
};

static int check_hba_file(const char *arg)
{
	return arg[0] == '/' && !strpbrk(arg, "\n\r") ? 0 : -EINVAL;
}

static int check_name(const char *arg)
{
	return *arg && !strpbrk(arg, "\n\r") ? 0 : -EINVAL;
}

static int check_host(const char *arg)
{
	struct cidr net;
	int r = cidr_parse_net(arg, &net);

	return r < 0 ? r : net.family == AF_UNIX ? -EINVAL : 0;
}

static int check_iface(const char *arg)
{
	return *arg && strlen(arg) < 16 && !strchr(arg, '/') ? 0 : -EINVAL;
}

static int set_all(struct options *o, const char *arg)
{
	(void)arg;
	o->all = true;
	return select_add(&o->sel, "all", NULL);
}

static int set_interval(struct options *o, const char *arg)
{
	if (duration_parse(arg, &o->interval_ms) < 0 || o->interval_ms < 100 || o->interval_ms > 86400000)
		return -EINVAL;
	o->interval_set = true;
	return 0;
}

static int set_iterations(struct options *o, const char *arg)
{
	char *e;

	errno = 0;
	o->iterations = strtol(arg, &e, 10);
	return errno || e == arg || *e || o->iterations < 1 ? -EINVAL : 0;
}

static int set_step_timeout(struct options *o, const char *arg)
{
	if (duration_parse(arg, &o->step_timeout_ms) < 0 || o->step_timeout_ms <= 0 ||
	    o->step_timeout_ms > 3600000)
		return -EINVAL;
	return 0;
}

static int set_via(struct options *o, const char *arg)
{
	return ladder_parse_via(arg, &o->via) < 0 ? -EINVAL : 0;
}

/* --method: one of the steps that cut only the connection. */
static int set_method(struct options *o, const char *arg)
{
	if (strcmp(arg, "rst") != 0 && strcmp(arg, "destroy") != 0)
		return -EINVAL;
	return set_via(o, arg);
}

#define OFF(f) offsetof(struct options, f)
#define GLOBAL(n, t, f) { n, t, K_GLOBAL, OFF(f), 0, NULL, NULL, false, NULL }
#define FLAG(n, k, f) { n, T_FLAG, k, OFF(f), 0, NULL, NULL, false, NULL }
#define VALUE(n, k, f, chk, echo, hint) { n, T_VALUE, k, OFF(f), 0, chk, NULL, echo, hint }
#define LIST(n, k, f, cnt, chk, echo, hint) { n, T_LIST, k, OFF(f), OFF(cnt), chk, NULL, echo, hint }
#define SELECTOR(n) { n, T_SELECTOR, K_SELECT, 0, 0, NULL, NULL, true, NULL }
#define CUSTOM(n, k, fn, hint) { n, T_CUSTOM, k, 0, 0, NULL, fn, true, hint }

static const struct optdef optdefs[] = {
	GLOBAL("json", T_FLAG, json),
	GLOBAL("cluster", T_VALUE, cluster),
	GLOBAL("no-sql", T_FLAG, no_sql),
	GLOBAL("dsn", T_VALUE, dsn),
	{ "help", T_HELP, K_GLOBAL, 0, 0, NULL, NULL, false, NULL },
	{ "version", T_VERSION, K_GLOBAL, 0, 0, NULL, NULL, false, NULL },
	SELECTOR("pid"), SELECTOR("user"), SELECTOR("db"), SELECTOR("client"), SELECTOR("state"),
	SELECTOR("older-than"), SELECTOR("idle-for"), SELECTOR("running-for"), SELECTOR("app"),
	{ "all", T_SWITCH, K_LS | K_SELECT, 0, 0, NULL, set_all, false, NULL },
	FLAG("dry-run", K_ACTION | K_AGENT, dry_run),
	CUSTOM("via", K_ACTION, set_via, " (steps: sql,signal,destroy,rst)"),
	CUSTOM("step-timeout", K_ACTION | K_AGENT, set_step_timeout, " (e.g. 500ms, 5s; at most 1h)"),
	FLAG("cancel-first", K_CANCEL_FIRST, cancel_first),
	FLAG("total", K_LOCK, total),
	LIST("allow-role", K_LOCK, allow_roles, nallow_roles, check_name, false, ": a name, on one line"),
	LIST("allow-host", K_LOCK, allow_hosts, nallow_hosts, check_host, true,
	     " (an address or CIDR, e.g. 10.0.0.0/8)"),
	FLAG("kick", K_LOCK, kick),
	LIST("role", K_LOCK, lock_roles, nlock_roles, check_name, false, ": a name, on one line"),
	LIST("database", K_LOCK, lock_dbs, nlock_dbs, check_name, false, ": a name, on one line"),
	VALUE("state-dir", K_STATE, state_dir, NULL, false, NULL),
	VALUE("hba-file", K_STATE, hba_file, check_hba_file, false, ": an absolute path, on one line"),
	VALUE("rules", K_AGENT, rules_dir, NULL, false, NULL),
	CUSTOM("interval", K_AGENT | K_TOP, set_interval, " (e.g. 1s, 30s; 100ms to 1d)"),
	FLAG("once", K_AGENT, once),
	FLAG("batch", K_TOP, batch),
	CUSTOM("iterations", K_TOP, set_iterations, " (a count, 1 or more)"),
	FLAG("check", K_AGENT, check),
	VALUE("metrics", K_AGENT, metrics, check_hba_file, false, ": an absolute path, on one line"),
	CUSTOM("method", K_SEVER, set_method, " (rst or destroy)"),
	VALUE("conn", K_SEVER, conn, NULL, false, NULL),
	VALUE("iface", K_SEVER, iface, check_iface, true, " (an interface name)"),
	VALUE("owner", K_HBA, owner, check_name, false, ": a name, on one line"),
};

/* The command line as parsed: the options, the command's name, and which
 * rows of optdefs were given (any number of times). */
struct cli {
	struct options o;
	const char *cmdname;
	bool seen[ELEMENTSOF(optdefs)];
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: pgevict [--json] [--cluster SPEC] [--no-sql] [--dsn CONNINFO] COMMAND [OPTIONS]\n\n");
	for (i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nwithout --cluster: every cluster on this host (lockdown, unlock, status: the only one)\n"
		   "selectors: --pid N --user NAME --db NAME --client ADDR|CIDR|local --state STATE\n"
		   "           --older-than DUR --idle-for DUR --running-for DUR --app NAME --all\n"
		   "           (DUR: 500ms 2s 10min 1h; CIDR: no host bits set, 10.0.0.0/8 not 10.1.2.3/8)\n"
		   "lockdown:  --total --allow-role R --allow-host CIDR --kick --role R --database D\n"
		   "           --dry-run --state-dir DIR --hba-file PATH (the last two also for unlock, status, top\n"
		   "           and agent: where a headroom rule's lockdown-after keeps its state)\n"
		   "sever:     --method rst|destroy   --conn ADDR:PORT,ADDR:PORT [--iface IF]\n"
		   "top:       --interval DUR --batch --iterations N (and selectors, --all)\n"
		   "hba:       hba check [FILE...] (no FILE: the --cluster's own; exit 0 loads, 1 refused, 2 unreadable)\n"
		   "           hba lockdown [--total] [--allow-role R]... [--allow-host CIDR]... [--owner NAME] FILE\n"
		   "see pgevict(8)\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
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

/* Store ARG for option D in O: 0, -EINVAL (a bad value), -EDOM (a CIDR
 * with host bits set), -ENOMEM. */
static int store(struct options *o, const struct optdef *d, const char *arg)
{
	char *base = (char *)o;
	int r;

	if ((d->type == T_VALUE || d->type == T_LIST) && d->check && (r = d->check(arg)) < 0)
		return r;
	switch (d->type) {
	case T_FLAG:
		*(bool *)(base + d->field) = true;
		return 0;
	case T_VALUE:
		*(const char **)(base + d->field) = arg;
		return 0;
	case T_LIST:
		return push((const char ***)(base + d->field), (size_t *)(base + d->count), arg);
	case T_SELECTOR:
		r = select_add(&o->sel, d->name, arg);
		return r == -ENOMEM || r == -EDOM ? r : r < 0 ? -EINVAL : 0;
	case T_SWITCH:
	case T_CUSTOM:
		return d->set(o, arg);
	default:
		return 0;
	}
}

/* One line for a bad value: R is -EINVAL, or -EDOM for host bits. */
static void bad_value(const struct optdef *d, const char *arg, int r)
{
	if (r == -EDOM) {
		struct cidr c;
		char why[160];
		cidr_parse(arg, &c);
		cidr_explain_host_bits(&c, why, sizeof(why));
		fprintf(stderr, "pgevict: bad value '%s' for --%s: %s\n", quoted(arg), d->name, why);
	} else if (d->echo)
		fprintf(stderr, "pgevict: bad value '%s' for --%s%s\n", quoted(arg), d->name, d->hint ? d->hint : "");
	else
		fprintf(stderr, "pgevict: bad value for --%s%s\n", d->name, d->hint ? d->hint : "");
}

/* getopt_long's table, built from optdefs: val is 256 + the row. */
static void build_longopts(struct option *lo)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(optdefs); i++) {
		enum opt_type t = optdefs[i].type;
		bool value = t == T_VALUE || t == T_LIST || t == T_SELECTOR || t == T_CUSTOM;
		lo[i] = (struct option){ optdefs[i].name, value ? required_argument : no_argument, NULL, 256 + (int)i };
	}
	lo[i] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * Parse ARGV into C.  Returns 1 to go on to the command, 0 when done (help
 * or version printed), -EINVAL after one usage line on stderr, -ENOMEM.
 */
static int parse_argv(int argc, char **argv, struct cli *c)
{
	struct option lo[ELEMENTSOF(optdefs) + 1];
	int ch, r;

	build_longopts(lo);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
		const struct optdef *d;
		if (ch == 1) {          /* a non-option: the command, then its words */
			const struct command *cmd = c->cmdname ? find_command(c->cmdname) : NULL;
			if (cmd && (cmd->flags & TAKES_ARGS)) {
				if ((r = push(&c->o.args, &c->o.nargs, optarg)) < 0)
					return r;
				continue;
			}
			if (c->cmdname) {
				fprintf(stderr, "pgevict: unexpected argument '%s'\n", quoted(optarg));
				return -EINVAL;
			}
			c->cmdname = optarg;
			continue;
		}
		if (ch == '?' || ch == ':') {
			fprintf(stderr, ch == '?' ? "pgevict: unknown option '%s'\n" : "pgevict: option '%s' needs a value\n",
				quoted(argv[optind - 1]));
			return -EINVAL;
		}
		d = ch == 'h' ? NULL : &optdefs[ch - 256];
		if (!d || d->type == T_HELP) {
			usage(stdout);
			return 0;
		}
		if (d->type == T_VERSION) {
			printf("pgevict %s\n", PGEVICT_VERSION);
			return 0;
		}
		c->seen[d - optdefs] = true;
		if ((r = store(&c->o, d, optarg)) == -EINVAL || r == -EDOM) {
			bad_value(d, optarg, r);
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	return 1;
}

static bool given(const struct cli *c, const char *name)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(optdefs); i++)
		if (c->seen[i] && strcmp(optdefs[i].name, name) == 0)
			return true;
	return false;
}

/* The command C names, each option given against it, the rules that tie
 * options together.  Returns the command, or NULL after one usage line. */
static const struct command *validate(const struct cli *c)
{
	const struct command *cmd;
	const struct options *o = &c->o;
	size_t i;

	if (!c->cmdname) {
		usage(stderr);
		return NULL;
	}
	if (!(cmd = find_command(c->cmdname))) {
		fprintf(stderr, "pgevict: unknown command '%s' (see pgevict --help)\n", quoted(c->cmdname));
		return NULL;
	}
	for (i = 0; i < ELEMENTSOF(optdefs); i++) {
		if (!c->seen[i] || (optdefs[i].kinds & cmd->kinds))
			continue;
		fprintf(stderr, "pgevict: '%s' does not take --%s\n", cmd->name, optdefs[i].name);
		return NULL;
	}
	if (given(c, "via") && given(c, "method")) {
		fprintf(stderr, "pgevict: --method and --via both name steps; give one\n");
		return NULL;
	}
	if (o->conn && (!select_is_empty(&o->sel) || o->via || o->cancel_first)) {
		fprintf(stderr, "pgevict: --conn names one connection: it takes no selectors, --via or --method\n");
		return NULL;
	}
	if (o->no_sql && select_needs_sql(&o->sel)) {
		fprintf(stderr, "pgevict: --idle-for, --running-for and --app need SQL; drop --no-sql\n");
		return NULL;
	}
	return cmd;
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

/* Flush and close stdout (git's habit: a full disk is an error, not a
 * success).  Returns R, or 1 after one line when R was 0 and a write to
 * stdout failed, now or earlier.  A stdout that was never open (>&-) and
 * got nothing is no error. */
static int close_stdout(int r)
{
	int e = 0;

	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		e = errno ? errno : EIO;
	else if (fclose(stdout) != 0 && errno != EBADF)
		e = errno;
	if (!e)
		return r;
	fprintf(stderr, "pgevict: cannot write to standard output: %s\n", strerror(e));
	return r ? r : 1;
}

int main(int argc, char **argv)
{
	struct cli c;
	const struct command *cmd;
	int r;

	/* No PG* variable reaches libpq: no PGPASSWORD, PGPASSFILE, PGSERVICE,
	 * PGHOST... from whoever started us (only --dsn names a connection). */
	clear_pg_environment();
	memset(&c, 0, sizeof(c));
	select_init(&c.o.sel);
	c.o.step_timeout_ms = 2000;   /* a backend obeys SIGTERM in milliseconds */
	c.o.interval_ms = 5000;
	r = parse_argv(argc, argv, &c);
	if (r == 1) {
		if (!(cmd = validate(&c)))
			r = -EINVAL;
		else if ((cmd->flags & NEED_ROOT) && geteuid() != 0) {
			fprintf(stderr, "pgevict: '%s' needs root (to read other users' /proc entries)\n", cmd->name);
			r = -EINVAL;
		} else
			r = cmd->fn(&c.o);
	}
	if (r == -ENOMEM)
		fprintf(stderr, "pgevict: out of memory\n");
	r = r == -EINVAL ? EXIT_USAGE : r == -ENOMEM ? 1 : r;
	select_clear(&c.o.sel);
	free(c.o.allow_roles);
	free(c.o.allow_hosts);
	free(c.o.lock_roles);
	free(c.o.lock_dbs);
	free(c.o.args);
	return close_stdout(r);
}
