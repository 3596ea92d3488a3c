/* SPDX-License-Identifier: MIT */
/*
 * top.c -- the pure parts of `pgevict top`: /proc/PID/stat and io parsed,
 * rates between two samples, header counts, row order and cell text
 * (core, no I/O).  Reading /proc, the screen and the keys are the
 * command's (cmd_top.c, top_screen.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgevict/duration.h"
#include "pgevict/top.h"

static const char *const col_names[TOP_NCOLS] = {
	"PID", "USER", "DATABASE", "CLIENT", "STATE", "STATE_AGE", "QUERY_AGE",
	"CPU%", "RSS", "READ/s", "WRITE/s", "PS", "APP", "QUERY",
};

const char *top_col_name(enum top_col c)
{
	return c >= 0 && c < TOP_NCOLS ? col_names[c] : "?";
}

int top_col_parse(const char *name)
{
	static const struct { const char *alias; enum top_col c; } aliases[] = {
		{ "cpu", TOP_CPU }, { "mem", TOP_RSS }, { "db", TOP_DB }, { "read", TOP_READ },
		{ "write", TOP_WRITE }, { "age", TOP_STATE_AGE },
	};
	size_t i;

	for (i = 0; i < TOP_NCOLS; i++)
		if (strcasecmp(name, col_names[i]) == 0)
			return (int)i;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			return (int)aliases[i].c;
	return -1;
}

static int io_field(const char *text, const char *name, unsigned long long *ret)
{
	size_t n = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			char *e;
			*ret = strtoull(p + n + 1, &e, 10);
			return e == p + n + 1 ? -EINVAL : 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

int top_parse_io(const char *text, struct top_sample *ret)
{
	unsigned long long r, w;

	if (io_field(text, "read_bytes", &r) < 0 || io_field(text, "write_bytes", &w) < 0)
		return -EINVAL;
	ret->read_bytes = r;
	ret->write_bytes = w;
	ret->io_ok = true;
	return 0;
}

static int sample_cmp(const void *a, const void *b)
{
	const struct top_sample *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start_ticks < y->start_ticks ? -1 : x->start_ticks > y->start_ticks;
}

void top_samples_sort(struct top_sample *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), sample_cmp);
}

const struct top_sample *top_sample_find(const struct top_sample *v, size_t n, pid_t pid,
					 unsigned long long start_ticks)
{
	struct top_sample key = { .pid = pid, .start_ticks = start_ticks };

	return n ? bsearch(&key, v, n, sizeof(*v), sample_cmp) : NULL;
}

static double rate(unsigned long long prev, unsigned long long cur, int64_t dt_us)
{
	if (cur < prev || dt_us <= 0)
		return TOP_UNKNOWN;
	return (double)(cur - prev) * 1e6 / (double)dt_us;
}

void top_row_compute(struct top_row *r, const struct top_sample *prev, const struct top_sample *cur, long hz,
		     long page_kb, int64_t now_us)
{
	const struct session *s = r->s;
	int64_t dt = prev && cur ? cur->mono_us - prev->mono_us : 0;

	r->cpu_pct = r->read_bps = r->write_bps = TOP_UNKNOWN;
	r->rss_kb = -1;
	if (cur && cur->stat_ok)
		r->rss_kb = cur->rss_pages * page_kb;
	if (prev && cur && dt > 0 && prev->pid == cur->pid && prev->start_ticks == cur->start_ticks) {
		if (prev->stat_ok && cur->stat_ok && hz > 0) {
			double ticks = rate(prev->cpu_ticks, cur->cpu_ticks, dt);
			r->cpu_pct = ticks < 0 ? TOP_UNKNOWN : ticks * 100.0 / (double)hz;
		}
		if (prev->io_ok && cur->io_ok) {
			r->read_bps = rate(prev->read_bytes, cur->read_bytes, dt);
			r->write_bps = rate(prev->write_bytes, cur->write_bytes, dt);
		}
	}
	r->state_age_ms = s->state_change_us != TIME_UNKNOWN && now_us >= s->state_change_us
				  ? (now_us - s->state_change_us) / 1000 : -1;
	r->query_age_ms = s->query_start_us != TIME_UNKNOWN && now_us >= s->query_start_us
				  ? (now_us - s->query_start_us) / 1000 : -1;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return !a - !b;   /* unknown last */
	return strcmp(a, b);
}

static int cmp_num(double a, double b)
{
	return a < b ? -1 : a > b;
}

static int cmp_col(const struct top_row *x, const struct top_row *y, enum top_col col)
{
	char a[64], b[64];

	switch (col) {
	case TOP_PID:       return cmp_num(x->s->pid, y->s->pid);
	case TOP_USER:      return cmp_str(x->s->user, y->s->user);
	case TOP_DB:        return cmp_str(x->s->database, y->s->database);
	case TOP_CLIENT:
		session_client_text(x->s, a, sizeof(a));
		session_client_text(y->s, b, sizeof(b));
		return strcmp(a, b);
	case TOP_STATE:     return cmp_str(x->s->state, y->s->state);
	case TOP_STATE_AGE: return cmp_num((double)x->state_age_ms, (double)y->state_age_ms);
	case TOP_QUERY_AGE: return cmp_num((double)x->query_age_ms, (double)y->query_age_ms);
	case TOP_CPU:       return cmp_num(x->cpu_pct, y->cpu_pct);
	case TOP_RSS:       return cmp_num((double)x->rss_kb, (double)y->rss_kb);
	case TOP_READ:      return cmp_num(x->read_bps, y->read_bps);
	case TOP_WRITE:     return cmp_num(x->write_bps, y->write_bps);
	case TOP_PS:        return cmp_num(x->s->proc_state, y->s->proc_state);
	case TOP_APP:       return cmp_str(x->s->application_name, y->s->application_name);
	case TOP_QUERY:     return cmp_str(x->s->query, y->s->query);
	default:            return 0;
	}
}

struct order {
	enum top_col col;
	bool desc;
};

static int row_cmp(const void *a, const void *b, void *arg)
{
	const struct top_row *x = a, *y = b;
	const struct order *o = arg;
	int c = cmp_col(x, y, o->col);

	if (o->desc)
		c = -c;
	return c ? c : cmp_num(x->s->pid, y->s->pid);
}

void top_rows_sort(struct top_row *v, size_t n, enum top_col col, bool desc)
{
	struct order o = { col, desc };

	if (n)
		qsort_r(v, n, sizeof(*v), row_cmp, &o);
}

void top_count(const struct session_list *l, const struct pg_cluster *c, struct top_counts *ret)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		if (s->cluster != c || !s->is_client)
			continue;
		ret->sessions++;
		if (s->backend_type && strcmp(s->backend_type, "client backend") == 0)
			ret->slots++;
		if (s->state && strcmp(s->state, "active") == 0)
			ret->active++;
		else if (s->state && strcmp(s->state, "idle") == 0)
			ret->idle++;
		else if (s->state && strncmp(s->state, "idle in transaction", 19) == 0)
			ret->idle_xact++;
		else
			ret->other++;
	}
}

void top_header(const struct pg_cluster *c, const struct top_counts *k, const char *lockdown, char *buf,
		size_t len)
{
	char lbuf[32], slots[48], sql[160];
	const char *label = cluster_label(c, lbuf, sizeof(lbuf));

	if (c->sql_ok)
		snprintf(sql, sizeof(sql), "SQL ok");
	else if (c->sql_error)
		snprintf(sql, sizeof(sql), "no SQL: %.140s", c->sql_error);
	else
		snprintf(sql, sizeof(sql), "no SQL (not tried)");
	snprintf(buf, len,
		 "%s (port %d, %s): %zu sessions (%zu active, %zu idle, %zu idle in transaction, %zu other)"
		 " | slots %s | %s | lockdown: %s",
		 label, c->port, c->data_dir ? c->data_dir : "?", k->sessions, k->active, k->idle, k->idle_xact,
		 k->other, cluster_slots_text(c, k->slots, slots, sizeof(slots)), sql, lockdown ? lockdown : "?");
}

static void fmt_bytes(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "", "K", "M", "G", "T" };
	int u = 0;

	if (v < 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u && v < 10 ? "%.1f%s" : "%.0f%s", v, unit[u]);
}

static void fmt_age(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		duration_format(ms, buf, len);
}

void top_cell(const struct top_row *r, enum top_col col, char *buf, size_t len)
{
	const struct session *s = r->s;
	const char *t = NULL;

	buf[0] = 0;
	switch (col) {
	case TOP_PID:       snprintf(buf, len, "%d", s->pid); return;
	case TOP_USER:      t = s->user; break;
	case TOP_DB:        t = s->database; break;
	case TOP_CLIENT:    session_client_text(s, buf, len); return;
	case TOP_STATE:
		t = s->is_client ? s->state : s->backend_type;
		if (s->waiting && t && strcmp(t, "active") == 0)
			t = "active (waiting)";
		break;
	case TOP_STATE_AGE: fmt_age(r->state_age_ms, buf, len); return;
	case TOP_QUERY_AGE: fmt_age(r->query_age_ms, buf, len); return;
	case TOP_CPU:
		if (r->cpu_pct < 0)
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, "%.1f", r->cpu_pct);
		return;
	case TOP_RSS:       fmt_bytes(r->rss_kb < 0 ? -1 : (double)r->rss_kb * 1024, buf, len); return;
	case TOP_READ:      fmt_bytes(r->read_bps, buf, len); return;
	case TOP_WRITE:     fmt_bytes(r->write_bps, buf, len); return;
	case TOP_PS:        snprintf(buf, len, "%c", s->proc_state ? s->proc_state : '?'); return;
	case TOP_APP:       t = s->application_name; break;
	case TOP_QUERY:     t = s->query; break;
	default:            return;
	}
	snprintf(buf, len, "%s", t ? t : "-");
}
