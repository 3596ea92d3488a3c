/* SPDX-License-Identifier: MIT */
/*
 * select.h -- the selector language (core, no I/O).
 *
 *   --pid N  --user NAME  --db NAME  --client ADDR|CIDR|local
 *   --state STATE  --older-than DUR  --idle-for DUR  --running-for DUR
 *   --app NAME  --all
 *
 * Different kinds AND, repeats of one kind OR.  A session whose value for
 * a kind is unknown never matches that kind: pgevict does not act on what
 * it cannot see.  --idle-for, --running-for and --app need SQL
 * (select_needs_sql), or the agent's tracking of states across passes.
 */
#ifndef PGEVICT_SELECT_H
#define PGEVICT_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "pgevict/session.h"

struct cidr {
	int family;                  /* AF_INET, AF_INET6; AF_UNIX = "local" */
	uint8_t addr[16];
	int prefix;
};

struct selector {
	pid_t *pids;        size_t npids;
	unsigned long long *pid_ticks; /* NULL, or per pid: its start time (0: any) */
	char **users;       size_t nusers;
	char **dbs;         size_t ndbs;
	struct cidr *clients; size_t nclients;
	char **states;      size_t nstates;
	char **apps;        size_t napps;
	int64_t older_than_ms;       /* -1: not given */
	int64_t idle_for_ms;         /* -1: not given */
	int64_t running_for_ms;      /* -1: not given */
	bool all;
};

/* An empty selector (nothing given). */
void select_init(struct selector *s);
void select_clear(struct selector *s);

/*
 * Add one selector.  KIND is the option without dashes ("pid", "user",
 * "db", "client", "state", "older-than", "idle-for", "running-for", "app",
 * "all"); VALUE
 * is ignored for "all".  Returns 0, -EINVAL for a bad value (the caller
 * names it), -EDOM for a --client CIDR with host bits set (see
 * cidr_parse_net), -ENOENT for an unknown kind, -ENOMEM.
 */
int select_add(struct selector *s, const char *kind, const char *value);

/* Select one process by pid AND start time (not from the command line:
 * for commands that already discovered it, so that a pid reused in
 * between never matches).  0 or -ENOMEM. */
int select_add_process(struct selector *s, pid_t pid, unsigned long long start_ticks);
/*
 * Add the selectors written in TEXT the way the command line takes them,
 * split like a shell ("--user app --state 'idle in transaction'";
 * --kind=VALUE works too).  The same names and values as select_add.
 * Returns 0, -EINVAL with one line in ERR (unknown selector, missing or
 * bad value, unterminated quote), -ENOMEM.  On error S holds what was
 * added before; the caller clears it.
 */
int select_parse_string(struct selector *s, const char *text, char *err, size_t errlen);

/* True when no selector at all was given (not even --all). */
bool select_is_empty(const struct selector *s);

/* True when a given selector can only be judged with SQL data. */
bool select_needs_sql(const struct selector *s);

/* True when SES matches; NOW_US is the current epoch time. */
bool select_match(const struct selector *s, const struct session *ses, int64_t now_us);

/* The static copy of a pg_stat_activity state name ("idle", ...), or NULL
 * when STATE is not one. */
const char *select_known_state(const char *state);

/* Parse ADDR, ADDR/LEN or "local" (Unix-socket sessions). 0 or -EINVAL.
 * Bits right of the mask are kept as written (pg_hba.conf's reading:
 * PostgreSQL masks 10.1.2.3/8 to 10.0.0.0/8 without a word). */
int cidr_parse(const char *text, struct cidr *ret);

/* cidr_parse for a network the operator names (--client, --allow-host):
 * -EDOM when the address has bits set right of the mask ("10.1.2.3/8"),
 * refused as PostgreSQL's cidr type refuses it, since the operator meant
 * either the host or the network and pgevict does not guess which; RET is
 * filled as parsed.  0, -EINVAL, -EDOM. */
int cidr_parse_net(const char *text, struct cidr *ret);

/* One clause for the error about C's host bits: "bits set right of the /8
 * mask (write 10.0.0.0/8 for the network, 10.1.2.3 for the host)". */
void cidr_explain_host_bits(const struct cidr *c, char *buf, size_t len);

/* True when the textual address ADDR lies in C (v4-mapped v6 counts as v4). */
bool cidr_contains(const struct cidr *c, const char *addr);

#endif
