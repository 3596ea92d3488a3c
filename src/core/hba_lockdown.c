/* SPDX-License-Identifier: MIT */
/*
 * hba_lockdown.c -- the lockdown file (core, no I/O): what hba_lockdown
 * writes for a parsed pg_hba.conf and the --allow-* it is given (see
 * pgevict/hba.h).  Every line it copies is parsed again as PostgreSQL 15
 * would and dropped, with a note, when it would be refused.  It does not
 * write the file, reload or prove it (lockplan.c, lockapply.c).
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"
#include "hba_int.h"

static const char *const keywords[] = { "all", "sameuser", "samerole", "samegroup", "replication",
					"samehost", "samenet" };

/* A name as a token that reads back as that name, never as a keyword;
 * NULL for a name no pg_hba.conf line can hold (or no memory). */
static char *quote_name(const char *name)
{
	struct hba_token t = { (char *)name, false };
	size_t i;

	if (!*name || strpbrk(name, "\n\r") || strlen(name) >= HBA_MAX_TOKEN - 2)
		return NULL;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(name, keywords[i]) == 0)
			t.quoted = true;
	if (name[0] == '+' || name[0] == '@' || name[0] == '/')
		t.quoted = true;
	return hba_quote(&t);
}

static int put_field(struct hba_buf *b, const struct hba_field *f, int width)
{
	size_t i, start = b->len;
	int r;

	for (i = 0; i < f->n; i++) {
		char *q = hba_quote(&f->v[i]);

		if (!q)
			return -ENOMEM;
		r = hba_buf_printf(b, "%s%s", i ? "," : "", q);
		free(q);
		if (r < 0)
			return r;
	}
	while ((int)(b->len - start) < width)
		if ((r = hba_buf_add(b, " ", 1)) < 0)
			return r;
	return hba_buf_add(b, " ", 1);
}

static void cidr_text(const struct cidr *c, char *out, size_t len)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];
	int i, n = c->family == AF_INET ? 4 : 16;

	memcpy(a, c->addr, sizeof(a));
	for (i = 0; i < n * 8; i++)
		if (i >= c->prefix)
			a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(c->family, a, s, sizeof(s));
	snprintf(out, len, "%s/%d", s, c->prefix);
}

/* Does A overlap B?  *RET gets the narrower. */
static bool cidr_overlap(const struct cidr *a, const struct cidr *b, struct cidr *ret)
{
	const struct cidr *wide = a->prefix <= b->prefix ? a : b;
	const struct cidr *narrow = wide == a ? b : a;
	int i;

	if (a->family != b->family)
		return false;
	for (i = 0; i < wide->prefix; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((wide->addr[i / 8] & m) != (narrow->addr[i / 8] & m))
			return false;
	}
	*ret = *narrow;
	return true;
}

/* Would PostgreSQL 15 load the one line TEXT[0..LEN)? */
static bool line_loads(const char *text, size_t len)
{
	static const struct hba_parse_opts o15 = { .version = 15 };
	struct hba_file f;
	size_t n = 0;
	int r = hba_parse_ex(text, len, &o15, &f, NULL, &n);

	if (r < 0)
		return false;
	hba_file_free(&f);
	return n == 0;
}

/*
 * Write rule L with the user field replaced by USER and the address (and
 * mask) by NET where those are not NULL.  The database field keeps only
 * the replication keyword when REPL_ONLY, everything but it otherwise; a
 * database field left empty drops the line (0, nothing written; 1 when
 * written).
 */
static int put_line(struct hba_buf *b, const struct hba_line *l, const char *user, const struct cidr *net,
		    bool repl_only)
{
	struct hba_field db = { 0 };
	struct hba_token *dv;
	size_t i, start = b->len, rule;
	int r;

	dv = calloc(l->fields[l->db].n, sizeof(*dv));
	if (!dv)
		return -ENOMEM;
	db.v = dv;
	for (i = 0; i < l->fields[l->db].n; i++) {
		const struct hba_token *t = &l->fields[l->db].v[i];
		bool repl = hba_is_keyword(t, "replication");

		if (repl == repl_only)
			db.v[db.n++] = *t;
	}
	if (db.n == 0) {
		free(dv);
		return 0;
	}
	r = hba_buf_printf(b, "# kept from line %d of the original\n", l->lineno);
	rule = b->len;
	for (i = 0; r >= 0 && i < l->nfields; i++) {
		int w = i == 0 ? 7 : 15;

		if ((int)i == l->db) {
			r = put_field(b, &db, w);
		} else if ((int)i == l->user && user) {
			char *q = quote_name(user);
			if (!q) {
				r = -EINVAL;
				break;
			}
			r = hba_buf_printf(b, "%-15s ", q);
			free(q);
		} else if ((int)i == l->addr && net) {
			char t[INET6_ADDRSTRLEN + 8];
			cidr_text(net, t, sizeof(t));
			r = hba_buf_printf(b, "%-23s ", t);
		} else if ((int)i == l->mask && net) {
			continue;
		} else {
			r = put_field(b, &l->fields[i], (int)i == l->addr ? 23 : w);
		}
	}
	free(dv);
	if (r < 0)
		return r;
	/* Trim the trailing blanks: a line must never end in a backslash
	 * followed by nothing (it would join the next one). */
	while (b->len > 0 && b->p[b->len - 1] == ' ')
		b->len--;
	if (b->len > 0 && b->p[b->len - 1] == '\\' && hba_buf_add(b, " ", 1) < 0)
		return -ENOMEM;
	if (hba_buf_add(b, "\n", 1) < 0)
		return -ENOMEM;
	/* Never copy what the server would refuse as rewritten (a token
	 * quoted past the length limit, say): 2, nothing written. */
	if (!line_loads(b->p + rule, b->len - rule)) {
		b->len = start;
		b->p[b->len] = '\0';
		return 2;
	}
	return 1;
}

static bool is_reject(const struct hba_line *l)
{
	return strcmp(l->fields[l->method].v[0].text, "reject") == 0;
}

static bool has_repl(const struct hba_line *l)
{
	size_t i;

	for (i = 0; i < l->fields[l->db].n; i++)
		if (hba_is_keyword(&l->fields[l->db].v[i], "replication"))
			return true;
	return false;
}

static int note(struct hba_buf *notes, const struct hba_line *l, const char *why, const char *who)
{
	return hba_buf_printf(notes, "line %d not kept for %s: %s\n", l->lineno, who, why);
}

static int keep_for_role(struct hba_buf *b, struct hba_buf *notes, const struct hba_file *f, const char *role)
{
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < f->nlines; i++) {
		const struct hba_line *l = &f->lines[i];
		enum hba_tri m;

		if (l->type == HBA_NONE)
			continue;
		if (l->type >= HBA_INCLUDE) {
			r = note(notes, l, "include directives are not followed", role);
			continue;
		}
		m = hba_match_user(&l->fields[l->user], role);
		if (m == TRI_NO)
			continue;
		if (m == TRI_MAYBE && !is_reject(l)) {
			r = note(notes, l, "role membership or file list unknown", role);
			continue;
		}
		r = put_line(b, l, role, NULL, false);
		if (r == 2)
			r = note(notes, l, "PostgreSQL would refuse it as rewritten", role);
	}
	return r < 0 ? r : 0;
}

static int keep_for_host(struct hba_buf *b, struct hba_buf *notes, const struct hba_file *f, const struct cidr *c)
{
	char who[INET6_ADDRSTRLEN + 8];
	size_t i;
	int r = 0;

	cidr_text(c, who, sizeof(who));
	for (i = 0; r >= 0 && i < f->nlines; i++) {
		const struct hba_line *l = &f->lines[i];
		const struct hba_token *a;
		struct cidr net, narrow;

		if (l->type == HBA_NONE || l->type == HBA_LOCAL)
			continue;
		if (l->type >= HBA_INCLUDE) {
			r = note(notes, l, "include directives are not followed", who);
			continue;
		}
		a = &l->fields[l->addr].v[0];
		if (hba_is_keyword(a, "all")) {
			r = put_line(b, l, NULL, c, false);
		} else if (hba_line_cidr(l, &net)) {
			if (cidr_overlap(&net, c, &narrow))
				r = put_line(b, l, NULL, &narrow, false);
		} else if (is_reject(l)) {
			r = put_line(b, l, NULL, c, false);
		} else {
			r = note(notes, l, "host name or samehost/samenet cannot be narrowed", who);
		}
		if (r == 2)
			r = note(notes, l, "PostgreSQL would refuse it as rewritten", who);
	}
	return r < 0 ? r : 0;
}

static const char reject_block[] =
	"local   all             all                                     reject\n"
	"host    all             all             0.0.0.0/0               reject\n"
	"host    all             all             ::/0                    reject\n"
	"local   replication     all                                     reject\n"
	"host    replication     all             0.0.0.0/0               reject\n"
	"host    replication     all             ::/0                    reject\n";

int hba_lockdown(const struct hba_file *orig, const struct hba_lockdown_opts *o, char **ret,
		 char **ret_notes)
{
	struct hba_buf b = { 0 }, notes = { 0 };
	size_t i;
	int r;

	if ((r = hba_buf_add(&notes, "", 0)) < 0 || (r = hba_buf_add(&b, "", 0)) < 0)
		goto out;
	if (o->header && (r = hba_buf_str(&b, o->header)) < 0)
		goto out;
	if (!o->total) {
		char *q;

		if (!o->owner || !*o->owner) {
			r = -EINVAL;
			goto out;
		}
		q = quote_name(o->owner);
		if (!q) {
			r = -EINVAL;
			goto out;
		}
		r = hba_buf_printf(&b, "# the cluster owner keeps a way in over the Unix socket\n"
				   "local   all             %-15s                         peer\n", q);
		free(q);
		if (r < 0)
			goto out;
	}
	if (!o->total && orig) {
		bool any = false;

		for (i = 0; i < orig->nlines; i++) {
			const struct hba_line *l = &orig->lines[i];

			if (l->type == HBA_NONE || l->type >= HBA_INCLUDE || !has_repl(l))
				continue;
			if (!any && (r = hba_buf_str(&b, "# standbys keep streaming (use --total to cut them)\n")) < 0)
				goto out;
			any = true;
			if ((r = put_line(&b, l, NULL, NULL, true)) < 0)
				goto out;
			if (r == 2 && (r = note(&notes, l, "PostgreSQL would refuse it as rewritten", "standbys")) < 0)
				goto out;
		}
	}
	if ((o->nroles || o->nhosts) && !orig) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < o->nroles; i++) {
		char *q = quote_name(o->roles[i]);

		if (!q) {
			r = -EINVAL;
			goto out;
		}
		free(q);
		if ((r = hba_buf_printf(&b, "# --allow-role %s\n", o->roles[i])) < 0 ||
		    (r = keep_for_role(&b, &notes, orig, o->roles[i])) < 0)
			goto out;
	}
	for (i = 0; i < o->nhosts; i++) {
		char t[INET6_ADDRSTRLEN + 8];

		cidr_text(&o->hosts[i], t, sizeof(t));
		if ((r = hba_buf_printf(&b, "# --allow-host %s\n", t)) < 0 ||
		    (r = keep_for_host(&b, &notes, orig, &o->hosts[i])) < 0)
			goto out;
	}
	if ((r = hba_buf_str(&b, "# everyone else is refused\n")) < 0 || (r = hba_buf_str(&b, reject_block)) < 0)
		goto out;
	*ret = b.p;
	*ret_notes = notes.p;
	b.p = notes.p = NULL;
out:
	free(b.p);
	free(notes.p);
	return r < 0 ? r : 0;
}
