/*
 * pgconf.h -- read one setting from postgresql.conf text (core, no I/O).
 *
 * Enough of PostgreSQL's configuration grammar to find cluster_name,
 * hba_file and config_file when SQL is not available: "name = value",
 * "name value", single quotes with '' and \' escapes, # comments.  The
 * last assignment wins, as in PostgreSQL.  include directives are not
 * followed; SQL (SHOW) is the authority when it can be had.
 */
#ifndef PGEVICT_PGCONF_H
#define PGEVICT_PGCONF_H

#include <stddef.h>

/* 1 and a malloc'd *ret_value when NAME is set in BUF, 0 when not,
 * -ENOMEM. */
int pgconf_get(const char *buf, size_t len, const char *name, char **ret_value);

/*
 * The value of NAME in a postmaster's argument vector (NUL-separated, LEN
 * bytes): "-c name=value", "-cname=value", "--name=value" (dashes and
 * underscores alike).  Same returns as pgconf_get.
 */
int pgconf_argv_get(const char *argv, size_t len, const char *name, char **ret_value);

#endif
