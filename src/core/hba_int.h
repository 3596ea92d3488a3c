/* SPDX-License-Identifier: MIT */
/*
 * hba_int.h -- what the pg_hba.conf files share among themselves (core,
 * no I/O); not an API: callers include pgevict/hba.h.
 *
 *   hba.c           the model's lifetime, a growing buffer, the writer,
 *                   quoting and the first-match evaluator
 *   hba_token.c     physical and logical lines, next_token, @file lists
 *   hba_parse.c     parse_hba_line: connection types, fields, address and
 *                   mask, methods; hba_parse_ex
 *   hba_opts.c      parse_hba_auth_opt: each method's options and the
 *                   checks at the end of a line
 *   hba_lockdown.c  the lockdown file
 */
#ifndef PGEVICT_HBA_INT_H
#define PGEVICT_HBA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "pgevict/hba.h"
#include "pgevict/select.h"

/* ---- hba.c ---- */

/* A NUL-terminated byte string that grows; p is malloc'd (or NULL). */
struct hba_buf {
	char *p;
	size_t len, cap;
};

/* Append N bytes of S (or a string, or a format): 0 or -ENOMEM. */
int hba_buf_add(struct hba_buf *b, const char *s, size_t n);
int hba_buf_str(struct hba_buf *b, const char *s);
int hba_buf_printf(struct hba_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* *ERR (may be NULL) gets LINENO and the message. */
void hba_set_err(struct hba_error *err, int lineno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Free what a field or a line holds (not the struct itself). */
void hba_field_clear(struct hba_field *f);
void hba_line_clear(struct hba_line *l);

/* PostgreSQL's blanks between tokens: space, tab, CR. */
static inline bool hba_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* T is the keyword KW: unquoted and spelled so. */
static inline bool hba_is_keyword(const struct hba_token *t, const char *kw)
{
	return !t->quoted && strcmp(t->text, kw) == 0;
}

/* The evaluator's answers: a line matches, does not, or may. */
enum hba_tri { TRI_NO = 0, TRI_YES = 1, TRI_MAYBE = 2 };

/* Does the user field F name USER (TRI_MAYBE: +role, @file, regex)? */
enum hba_tri hba_match_user(const struct hba_field *f, const char *user);

/* Rule L's address as a CIDR, read as the server reads it; false for
 * keywords, host names and masks that are not a prefix. */
bool hba_line_cidr(const struct hba_line *l, struct cidr *ret);

/* ---- hba_token.c ---- */

/* The text being read, fgets-style (see hba_token.c). */
struct hba_reader {
	const char *text;
	size_t len, pos;
	size_t maxlen;               /* the StringInfo's maxlen: fgets reads in runs of it */
};

#define HBA_READER_INIT(text, len) { (text), (len), 0, 1024 }

/* The next logical line of RD into B, *RET_CONT its continuation lines:
 * 1, 0 at the end, -ENOMEM. */
int hba_next_logical(struct hba_reader *rd, struct hba_buf *b, int *ret_cont);

struct hba_tokctx {
	const struct hba_parse_opts *o;
	const char *path;            /* the file being read (for @names) */
	int depth;
	char *err;                   /* the line's error, malloc'd */
};

/* The fields of one logical line CONTENT into malloc'd *RET_FIELDS,
 * *RET_N (@names expanded when EXPAND and T->o->read_file); the line's
 * error in T->err.  0 or -ENOMEM. */
int hba_tokenize_line(struct hba_tokctx *t, const char *content, bool expand, struct hba_field **ret_fields,
		      size_t *ret_n);

/* ---- hba_parse.c ---- */

/* pg_getaddrinfo_all(s, NULL, AI_NUMERICHOST): 0 with the address in
 * *RET (may be NULL), or the getaddrinfo error (EAI_NONAME: a host name). */
int hba_numeric_addr(const char *s, struct cidr *ret);

/* pg_sockaddr_cidr_mask(): the prefix length BITS for FAMILY, or -1. */
int hba_cidr_bits(const char *bits, int family);

/* ---- hba_opts.c ---- */

enum hba_method {
	M_NONE, M_TRUST, M_IDENT, M_PEER, M_PASSWORD, M_GSS, M_SSPI, M_REJECT, M_MD5, M_SCRAM, M_PAM,
	M_BSD, M_LDAP, M_CERT, M_RADIUS,
};

/* What parse_hba_auth_opt() remembers across a line's options. */
struct hba_opts_seen {
	bool ldapserver, ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter,
		ldapprefix, ldapsuffix;
	int radiusservers, radiussecrets, radiusports, radiusidentifiers;   /* -1: unset */
};

/* parse_hba_auth_opt(): one NAME=VAL option of a line of TYPE and method
 * M.  0, or -EINVAL with *ERR set. */
int hba_auth_opt(const char *name, const char *val, enum hba_type type, enum hba_method m,
		 struct hba_opts_seen *seen, const struct hba_parse_opts *o, int lineno, struct hba_error *err);

/* The checks at the end of parse_hba_line() for ldap and radius: 0, or
 * -EINVAL with *ERR set. */
int hba_method_args(enum hba_method m, const struct hba_opts_seen *s, int lineno, struct hba_error *err);

#endif
