/* SPDX-License-Identifier: MIT */
/*
 * title.h -- parse PostgreSQL process titles (core, no I/O).
 *
 * A title is what a postmaster child writes over its argv:
 *   postgres: [CLUSTER_NAME: ]USER DB HOST(PORT) ACTIVITY[ waiting]
 *   postgres: [CLUSTER_NAME: ]checkpointer
 * USER and DB come from the client's startup packet before authentication,
 * so they can contain anything, including text that looks like HOST(PORT).
 * The parser therefore takes a hint from the socket (what transport and
 * which client port the kernel says the process holds) and anchors on it;
 * what it cannot tell for sure it leaves NULL.  It does not decide what a
 * process is from the title alone when the socket says otherwise: callers
 * join the two (see join.c).
 */
#ifndef PGEVICT_TITLE_H
#define PGEVICT_TITLE_H

#include <stdbool.h>
#include <stddef.h>

/* The most of /proc/PID/cmdline a title is taken from: one page.  Every
 * reader (discovery, the ladder, the agent) reads at most this much and
 * cleans it with title_clean, so all three see the same title. */
#define TITLE_MAX 4096

enum title_transport {
	TITLE_HINT_NONE = 0,    /* no socket known: anchor on the title's own shape */
	TITLE_HINT_TCP,         /* the process holds a TCP client socket on port */
	TITLE_HINT_UNIX,        /* the process holds a Unix-socket client */
	TITLE_HINT_NOCLIENT,    /* the kernel was asked and the process holds
	                           no client socket: an auxiliary title wins
	                           over a host token a database name made */
};

struct title_hint {
	enum title_transport transport;
	int port;               /* client port for TITLE_HINT_TCP */
};

struct title {
	const char *backend_type;  /* PostgreSQL's name ("client backend",
	                              "checkpointer", ...), static; NULL if the
	                              title is not one PostgreSQL writes */
	bool is_client;            /* client backend or walsender */
	char *user;                /* NULL when absent or ambiguous */
	char *database;            /* NULL when absent or ambiguous */
	char *host;                /* HOST as written ("[local]" for Unix) */
	int port;                  /* -1 when none */
	char *activity;            /* ACTIVITY without " waiting"; NULL if none */
	bool waiting;              /* PG16+ " waiting" suffix */
	char *detail;              /* rest of an auxiliary title, e.g. the
	                              database of an autovacuum worker */
};

/*
 * Parse RAW (NUL-terminated, trailing blanks allowed).  CLUSTER_NAME is the
 * cluster's cluster_name or NULL; its "NAME: " prefix is skipped when
 * present.  HINT may be NULL.  Returns 0 and fills *ret (free with
 * title_clear), -EINVAL when RAW is not a PostgreSQL title (for instance a
 * freshly forked child still showing the postmaster's command line), or
 * -ENOMEM.
 */
int title_parse(const char *raw, const char *cluster_name,
		const struct title_hint *hint, struct title *ret);

/*
 * Turn BUF, the LEN bytes read from /proc/PID/cmdline, into a title, in
 * place: only the first TITLE_MAX bytes count, trailing NULs and blanks (a
 * retitled process pads with NULs) are cut, the NULs left (argv
 * separators) become blanks, and the title is NUL-terminated.  BUF must
 * hold LEN + 1 bytes (procfs_read gives that); nothing past BUF[LEN] is
 * read or written, whatever the bytes are.  Returns the title's length.
 */
size_t title_clean(char *buf, size_t len);

/* Free what title_parse allocated; NULL-safe, leaves *t zeroed. */
void title_clear(struct title *t);

/*
 * The cluster_name a checkpointer, background writer or walwriter title
 * carries: "postgres: 15/main: checkpointer" gives "15/main".  Returns 1 and
 * sets *ret_name (malloc'd; NULL when the title has no cluster_name) when
 * RAW is such a title, 0 when it is not, -ENOMEM.
 */
int title_cluster_name(const char *raw, char **ret_name);

/*
 * The pg_stat_activity-style state for a client ACTIVITY: "idle",
 * "idle in transaction", "idle in transaction (aborted)", "fastpath
 * function call", "starting" (authentication, startup, initializing) or
 * "active" (a command tag, upper case).  NULL for NULL and for anything
 * else (a truncated title).  Static string.
 */
const char *title_state(const char *activity);

#endif
