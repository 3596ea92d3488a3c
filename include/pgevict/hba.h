/* SPDX-License-Identifier: MIT */
/*
 * hba.h -- pg_hba.conf as text and as rules (core, no I/O).
 *
 * Owns the tokenizer and parser, which give PostgreSQL's own verdict on a
 * file (src/backend/libpq/hba.c of PostgreSQL 15: tokenize_auth_file,
 * next_token, next_field_expand, parse_hba_line, parse_hba_auth_opt,
 * load_hba; see hba_parse.c for the build assumptions), the writer (a parsed file written back is byte for byte the
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

#define HBA_MAX_TOKEN 10240          /* PostgreSQL's MAX_TOKEN: a token holds at most
                                        HBA_MAX_TOKEN - 1 bytes when a character
                                        (comma, closing quote) follows them */

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
	enum hba_type type;          /* HBA_NONE for a refused line too */
	bool refused;                /* PostgreSQL would refuse this line */
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
	int lineno;                  /* PostgreSQL's line number; 0: the whole file */
	char what[512];              /* PostgreSQL's message (long tokens cut) */
};

/* How hba_parse_ex judges a file. */
struct hba_parse_opts {
	/* The PostgreSQL major version whose rules apply: 15 (Debian 12's)
	 * refuses include directives as unknown connection types; 0 takes
	 * PG15's rules but accepts PG16's include, include_if_exists and
	 * include_dir lines (without following them). */
	int version;
	/* @file lists: PATH is the file being parsed (relative @names are
	 * relative to its directory); READ_FILE reads one included file into
	 * a malloc'd *RET_TEXT (0 or -errno).  Without READ_FILE an @name
	 * stays one opaque token, as in the lockdown model. */
	const char *path;
	int (*read_file)(void *ctx, const char *path, char **ret_text, size_t *ret_len);
	/* radiusservers: the server resolves each name with getaddrinfo
	 * (DNS and all) when it loads the file; RESOLVE does the same here
	 * and returns 0 or the EAI_* error.  Without it a name that is not
	 * numeric is taken as one that resolves. */
	int (*resolve)(void *ctx, const char *name);
	void *ctx;
};

/*
 * Parse LEN bytes of TEXT as PostgreSQL would (O may be NULL: version 0,
 * no @file reading).  Every line is parsed; a refused line is kept, marked
 * refused, with HBA_NONE as its type.  *RET_ERRS (may be NULL) gets one
 * error per refused line, in order, malloc'd, *RET_NERRS their count; a
 * file with no rule and no error gets one error for line 0 ("contains no
 * entries": PostgreSQL refuses to load it).  Returns 0 (errors or not) or
 * -ENOMEM.  Free with hba_file_free and free().
 */
int hba_parse_ex(const char *text, size_t len, const struct hba_parse_opts *o, struct hba_file *ret,
		 struct hba_error **ret_errs, size_t *ret_nerrs);

/*
 * hba_parse_ex with version 0: 0 when PostgreSQL would load every line
 * (an empty file included), -EINVAL with the first refused line in *ERR
 * (may be NULL) and nothing in *RET, or -ENOMEM.  Free with hba_file_free.
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
 * A line PostgreSQL refuses is never copied, and a copied line that
 * PostgreSQL would refuse as rewritten (a name quoted past the token
 * limit) is dropped with a note: every line written parses.
 * 0, -EINVAL (an owner or role that cannot be written), -ENOMEM.
 */
int hba_lockdown(const struct hba_file *orig, const struct hba_lockdown_opts *o, char **ret,
		 char **ret_notes);

#endif
