/*
 * hba.h -- pg_hba.conf as text and as rules (core, no I/O).
 *
 * Owns the tokenizer and parser (PostgreSQL's rules, see FACTS.md: blanks
 * separate fields, unquoted commas separate list items, '#' starts a
 * comment unless quoted, "..." protects blanks, commas and '#' and makes a
 * keyword a plain name, a trailing backslash continues the line, CRLF is a
 * newline), the writer (a parsed file written back is byte for byte the
 * input; rendered lines quote what needs quoting), a first-match evaluator
 * that answers "unknown" rather than guess (+role, @file, regexes,
 * hostnames, SSL), and the lockdown generator.  It does not read files:
 * @file and include directives are kept as tokens, never followed.
 */
#ifndef PGEVICT_HBA_H
#define PGEVICT_HBA_H

#include <stdbool.h>
#include <stddef.h>

#include "pgevict/select.h"

#define HBA_MAX_TOKEN 10240          /* PostgreSQL skips longer tokens */

struct hba_token {
	char *text;                  /* unquoted, "" unescaped */
	bool quoted;                 /* began with a quote: never a keyword */
};

struct hba_field {
	struct hba_token *v;         /* comma list items */
	size_t n;
};

enum hba_type {
	HBA_NONE = 0,                /* blank or comment line */
	HBA_LOCAL, HBA_HOST, HBA_HOSTSSL, HBA_HOSTNOSSL, HBA_HOSTGSSENC, HBA_HOSTNOGSSENC,
	HBA_INCLUDE, HBA_INCLUDE_IF_EXISTS, HBA_INCLUDE_DIR,   /* PG16+ */
};

struct hba_line {
	size_t off, len;             /* raw bytes, continuation lines and newline included */
	int lineno;                  /* first physical line, from 1 */
	struct hba_field *fields;
	size_t nfields;
	enum hba_type type;
	/* Indexes into fields for a rule; -1 when absent. */
	int db, user, addr, mask, method;
};

struct hba_file {
	char *text;                  /* a copy of the input */
	size_t len;
	struct hba_line *lines;
	size_t nlines;
};

struct hba_error {
	int lineno;
	char what[160];
};

/*
 * Parse LEN bytes of TEXT.  Returns 0, -EINVAL with *ERR filled for a
 * file PostgreSQL would refuse (unterminated quote, unknown connection
 * type, missing fields, a bad address, an over-long token, a NUL byte),
 * or -ENOMEM.  Free with hba_file_free.
 */
int hba_parse(const char *text, size_t len, struct hba_file *ret, struct hba_error *err);
void hba_file_free(struct hba_file *f);

/* The file written back: malloc'd *RET of *RET_LEN bytes (identical to the
 * input of hba_parse).  0 or -ENOMEM. */
int hba_write(const struct hba_file *f, char **ret, size_t *ret_len);

/* TOKEN as it must be written so that it reads back the same (quoted when
 * it was, or when it holds blanks, commas, '#' or quotes).  Malloc'd. */
char *hba_quote(const struct hba_token *t);

/* Connections the evaluator judges. */
struct hba_conn {
	bool local;                  /* Unix socket */
	const char *addr;            /* numeric client address for TCP */
	const char *user;
	const char *database;
	bool replication;            /* a physical replication connection */
	int ssl;                     /* 1 yes, 0 no, -1 unknown */
};

enum hba_verdict {
	HBA_ALLOW,                   /* a line with a method other than reject */
	HBA_REJECT,                  /* an explicit reject line */
	HBA_NO_ENTRY,                /* no line matched: implicit reject */
	HBA_UNKNOWN,                 /* depends on what pgevict cannot see */
};

const char *hba_verdict_name(enum hba_verdict v);

/* First match of C in F; *RET_LINE (may be NULL) gets the index of the
 * deciding line, or -1. */
enum hba_verdict hba_eval(const struct hba_file *f, const struct hba_conn *c, int *ret_line);

struct hba_lockdown_opts {
	const char *owner;           /* the OS user owning the data directory */
	bool total;                  /* no way in, not even for the owner */
	const char *const *roles;    /* --allow-role */
	size_t nroles;
	const struct cidr *hosts;    /* --allow-host */
	size_t nhosts;
	const char *header;          /* comment lines to start with, or NULL */
};

/*
 * The lockdown file for ORIG (may be NULL when no --allow-* needs it):
 * the owner over the Unix socket by peer (unless total); the original's
 * replication lines (unless total: standbys keep streaming); for each
 * --allow-role and --allow-host the original lines that may apply to it,
 * narrowed to it (an allow line whose match pgevict cannot judge is
 * dropped, a reject line kept: when unsure, refuse); then reject lines for
 * local, host v4/v6, and replication.  Malloc'd text in *RET, and one
 * line per dropped original line in *RET_NOTES (malloc'd, may be "").
 * 0, -EINVAL (an owner or role that cannot be written), -ENOMEM.
 */
int hba_lockdown(const struct hba_file *orig, const struct hba_lockdown_opts *o, char **ret,
		 char **ret_notes);

#endif
