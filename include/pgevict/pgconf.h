/* SPDX-License-Identifier: MIT */
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

#include <stdbool.h>
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

/* PostgreSQL's CONF_FILE_MAX_DEPTH: the top file is depth 0. */
#define PGCONF_MAX_DEPTH 10
/* Files one lookup reads at most: include_dir fan-out under the depth
 * limit could otherwise make a few files cost millions of reads. */
#define PGCONF_MAX_FILES 1000

struct pgconf_io {
	/* The regular file at absolute PATH: 0 and a malloc'd, NUL-terminated
	 * *ret_buf of *ret_len bytes, or -errno. */
	int (*read)(void *ctx, const char *path, char **ret_buf, size_t *ret_len);
	/* The entry names of directory PATH (no "." or ".."), in any order: 0
	 * and a malloc'd array of malloc'd names, or -errno. */
	int (*list)(void *ctx, const char *path, char ***ret_names, size_t *ret_n);
	void *ctx;
};

/*
 * NAME as the configuration file PATH (absolute) and what it includes set
 * it, the way PostgreSQL reads them: `include 'f'`, `include_if_exists
 * 'f'` and `include_dir 'd'` (its files ending in ".conf" whose names do
 * not start with '.', in strcmp order), relative paths against the
 * including file's directory, at most PGCONF_MAX_DEPTH levels, the last
 * assignment winning.  A file below the top that cannot be read is
 * skipped.  1 with malloc'd *ret_value and *ret_file (the file that set it
 * last; RET_FILE may be NULL), 0 when not set, -errno when PATH cannot be
 * read, -ELOOP past PGCONF_MAX_FILES, -ENOMEM.
 */
int pgconf_lookup(const struct pgconf_io *io, const char *path, const char *name, char **ret_value,
		  char **ret_file);

/* PostgreSQL's AbsoluteConfigLocation: LOCATION as is when absolute, else
 * against CALLING_FILE's directory.  malloc'd, NULL when out of memory. */
char *pgconf_abs_path(const char *location, const char *calling_file);

/* Does include_dir read the file named NAME? */
bool pgconf_dir_entry_wanted(const char *name);

#endif
