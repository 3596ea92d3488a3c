/* SPDX-License-Identifier: MIT */
/*
 * select.c -- the selector language (core, no I/O).
 *
 * Owns parsing of selector values and matching sessions against them.  It
 * does not know where a session's values came from; a value that is not
 * known (NULL, -1, TIME_UNKNOWN) never matches, so an unclear session is
 * left alone rather than acted on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "pgevict/duration.h"
#include "pgevict/select.h"
#include "pgevict/strv.h"

static const char *const known_states[] = {
	"active", "idle", "idle in transaction", "idle in transaction (aborted)",
	"fastpath function call", "disabled", "starting",
};

void select_init(struct selector *s)
{
	memset(s, 0, sizeof(*s));
	s->older_than_ms = -1;
	s->idle_for_ms = -1;
	s->running_for_ms = -1;
}

void select_clear(struct selector *s)
{
	if (!s)
		return;
	free(s->pids);
	free(s->pid_ticks);
	strv_free(s->users, s->nusers);
	strv_free(s->dbs, s->ndbs);
	free(s->clients);
	strv_free(s->states, s->nstates);
	strv_free(s->apps, s->napps);
	select_init(s);
}

static int push_str(char ***v, size_t *n, const char *value)
{
	if (!value || !*value)
		return -EINVAL;
	return strv_push(v, n, value);
}

int cidr_parse(const char *text, struct cidr *ret)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long prefix;
	int max;

	memset(ret, 0, sizeof(*ret));
	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	if (strcmp(text, "local") == 0) {
		ret->family = AF_UNIX;
		return 0;
	}
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, ret->addr) == 1) {
		ret->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, ret->addr) == 1) {
		ret->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	ret->prefix = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || *end || prefix > max)
			return -EINVAL;
		ret->prefix = (int)prefix;
	}
	return 0;
}

/* Byte I of the netmask of a /PREFIX. */
static uint8_t mask_byte(int prefix, size_t i)
{
	int keep = prefix - (int)i * 8;

	return keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
}

/* True when ADDR (LEN bytes) has a bit set right of a /PREFIX mask. */
static bool host_bits(const uint8_t *addr, size_t len, int prefix)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (addr[i] & (uint8_t)~mask_byte(prefix, i))
			return true;
	return false;
}

int cidr_parse_net(const char *text, struct cidr *ret)
{
	int r = cidr_parse(text, ret);

	if (r < 0 || ret->family == AF_UNIX)
		return r;
	return host_bits(ret->addr, ret->family == AF_INET ? 4 : 16, ret->prefix) ? -EDOM : 0;
}

void cidr_explain_host_bits(const struct cidr *c, char *buf, size_t len)
{
	uint8_t net[16];
	char host[INET6_ADDRSTRLEN], masked[INET6_ADDRSTRLEN];
	size_t i, n = c->family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++)
		net[i] = c->addr[i] & mask_byte(c->prefix, i);
	if (!inet_ntop(c->family, c->addr, host, sizeof(host)) || !inet_ntop(c->family, net, masked, sizeof(masked))) {
		snprintf(buf, len, "bits set right of the /%d mask", c->prefix);
		return;
	}
	snprintf(buf, len, "bits set right of the /%d mask (write %s/%d for the network, %s for the host)",
		 c->prefix, masked, c->prefix, host);
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return false;
	if (rest && ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))))
		return false;
	return true;
}

bool cidr_contains(const struct cidr *c, const char *addr)
{
	uint8_t a[16];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!addr || !*addr || c->family == AF_UNIX)
		return false;
	if (inet_pton(AF_INET, addr, a) == 1) {
		if (c->family == AF_INET)
			return prefix_eq(a, c->addr, c->prefix);
		/* v4 address against a v4-mapped v6 range */
		return c->prefix >= 96 && memcmp(c->addr, mapped, 12) == 0 &&
		       prefix_eq(a, c->addr + 12, c->prefix - 96);
	}
	if (inet_pton(AF_INET6, addr, a) == 1) {
		if (c->family == AF_INET6)
			return prefix_eq(a, c->addr, c->prefix);
		return memcmp(a, mapped, 12) == 0 && prefix_eq(a + 12, c->addr, c->prefix);
	}
	return false;
}

const char *select_known_state(const char *state)
{
	size_t i;

	for (i = 0; state && i < sizeof(known_states) / sizeof(known_states[0]); i++)
		if (strcmp(state, known_states[i]) == 0)
			return known_states[i];
	return NULL;
}

int select_add(struct selector *s, const char *kind, const char *value)
{
	int r;

	if (strcmp(kind, "all") == 0) {
		s->all = true;
		return 0;
	}
	if (!value)
		return -EINVAL;
	if (strcmp(kind, "pid") == 0) {
		char *end;
		long v;
		pid_t *np;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || *end || end == value || v <= 0 || v > 0x3fffffff)
			return -EINVAL;
		np = realloc(s->pids, (s->npids + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pids = np;
		np[s->npids++] = (pid_t)v;
		if (s->pid_ticks) {
			unsigned long long *nt = realloc(s->pid_ticks, s->npids * sizeof(*nt));
			if (!nt) {
				s->npids--;
				return -ENOMEM;
			}
			s->pid_ticks = nt;
			nt[s->npids - 1] = 0;
		}
		return 0;
	}
	if (strcmp(kind, "user") == 0)
		return push_str(&s->users, &s->nusers, value);
	if (strcmp(kind, "db") == 0)
		return push_str(&s->dbs, &s->ndbs, value);
	if (strcmp(kind, "app") == 0)
		return push_str(&s->apps, &s->napps, value);
	if (strcmp(kind, "state") == 0)
		return select_known_state(value) ? push_str(&s->states, &s->nstates, value) : -EINVAL;
	if (strcmp(kind, "client") == 0) {
		struct cidr c, *nc;
		if ((r = cidr_parse_net(value, &c)) < 0)
			return r;
		nc = realloc(s->clients, (s->nclients + 1) * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		s->clients = nc;
		nc[s->nclients++] = c;
		return 0;
	}
	if (strcmp(kind, "older-than") == 0 || strcmp(kind, "idle-for") == 0 ||
	    strcmp(kind, "running-for") == 0) {
		int64_t ms;
		if (duration_parse(value, &ms) < 0)
			return -EINVAL;
		if (kind[0] == 'o')
			s->older_than_ms = ms;
		else if (kind[0] == 'i')
			s->idle_for_ms = ms;
		else
			s->running_for_ms = ms;
		return 0;
	}
	return -ENOENT;
}

int select_add_process(struct selector *s, pid_t pid, unsigned long long start_ticks)
{
	unsigned long long *nt;
	char num[24];
	int r;

	if (!s->pid_ticks && s->npids) {
		s->pid_ticks = calloc(s->npids, sizeof(*s->pid_ticks));
		if (!s->pid_ticks)
			return -ENOMEM;
	}
	snprintf(num, sizeof(num), "%d", (int)pid);
	if ((r = select_add(s, "pid", num)) < 0)
		return r;
	nt = realloc(s->pid_ticks, s->npids * sizeof(*nt));
	if (!nt) {
		s->npids--;
		return -ENOMEM;
	}
	s->pid_ticks = nt;
	nt[s->npids - 1] = start_ticks;
	return 0;
}

bool select_is_empty(const struct selector *s)
{
	return !s->all && !s->npids && !s->nusers && !s->ndbs && !s->nclients && !s->nstates &&
	       !s->napps && s->older_than_ms < 0 && s->idle_for_ms < 0 && s->running_for_ms < 0;
}

bool select_needs_sql(const struct selector *s)
{
	return s->napps > 0 || s->idle_for_ms >= 0 || s->running_for_ms >= 0;
}

bool select_match(const struct selector *s, const struct session *ses, int64_t now_us)
{
	size_t i;
	bool hit;

	if (s->npids) {
		for (hit = false, i = 0; i < s->npids && !hit; i++)
			hit = s->pids[i] == ses->pid &&
			      (!s->pid_ticks || !s->pid_ticks[i] || s->pid_ticks[i] == ses->start_ticks);
		if (!hit)
			return false;
	}
	if (s->nusers && !strv_contains(s->users, s->nusers, ses->user))
		return false;
	if (s->ndbs && !strv_contains(s->dbs, s->ndbs, ses->database))
		return false;
	if (s->napps && !strv_contains(s->apps, s->napps, ses->application_name))
		return false;
	if (s->nstates && !strv_contains(s->states, s->nstates, ses->state))
		return false;
	if (s->nclients) {
		for (hit = false, i = 0; i < s->nclients && !hit; i++) {
			if (s->clients[i].family == AF_UNIX)
				hit = ses->transport == TRANSPORT_UNIX;
			else
				hit = ses->transport == TRANSPORT_TCP &&
				      cidr_contains(&s->clients[i], ses->client_addr);
		}
		if (!hit)
			return false;
	}
	if (s->older_than_ms >= 0) {
		if (ses->start_us == TIME_UNKNOWN || (now_us - ses->start_us) / 1000 < s->older_than_ms)
			return false;
	}
	if (s->idle_for_ms >= 0) {
		/* idle-for: not running a query, and not since at least DUR */
		if (!ses->state || strcmp(ses->state, "active") == 0 ||
		    strcmp(ses->state, "starting") == 0 || ses->state_change_us == TIME_UNKNOWN ||
		    (now_us - ses->state_change_us) / 1000 < s->idle_for_ms)
			return false;
	}
	if (s->running_for_ms >= 0) {
		/* running-for: a query running, started at least DUR ago */
		if (!ses->state || (strcmp(ses->state, "active") != 0 &&
				    strcmp(ses->state, "fastpath function call") != 0) ||
		    ses->query_start_us == TIME_UNKNOWN ||
		    (now_us - ses->query_start_us) / 1000 < s->running_for_ms)
			return false;
	}
	return true;
}

/* Split TEXT like a shell: blanks separate words, '...' is literal, "..."
 * keeps blanks and takes \" and \\, a backslash outside quotes protects
 * the next character.  The words go into BUF (as long as TEXT, plus one),
 * NUL-separated; returns their number or -EINVAL (unterminated quote). */
static int split_words(const char *text, char *buf, const char **words, size_t max)
{
	const char *p = text;
	char *o = buf;
	size_t n = 0;

	for (;;) {
		char q = 0;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -E2BIG;
		words[n++] = o;
		for (; *p; p++) {
			if (q == '\'') {
				if (*p == '\'')
					q = 0;
				else
					*o++ = *p;
			} else if (q == '"') {
				if (*p == '"')
					q = 0;
				else if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					*o++ = *++p;
				else
					*o++ = *p;
			} else if (*p == '\'' || *p == '"') {
				q = *p;
			} else if (*p == '\\' && p[1]) {
				*o++ = *++p;
			} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
				break;
			} else {
				*o++ = *p;
			}
		}
		if (q)
			return -EINVAL;
		*o++ = '\0';
	}
	return (int)n;
}

/* "bad value 'TEXT' for --KIND: bits set right of the /N mask (...)". */
static void bad_net(const char *text, const char *kind, char *err, size_t errlen)
{
	struct cidr c;
	char why[160];

	cidr_parse(text, &c);
	cidr_explain_host_bits(&c, why, sizeof(why));
	snprintf(err, errlen, "bad value '%.60s' for --%s: %s", text, kind, why);
}

int select_parse_string(struct selector *s, const char *text, char *err, size_t errlen)
{
	const char *words[64];
	char *buf = NULL;
	int n, i, r = 0;

	buf = malloc(strlen(text) + 1 + sizeof(words) / sizeof(words[0]));
	if (!buf)
		return -ENOMEM;
	n = split_words(text, buf, words, sizeof(words) / sizeof(words[0]));
	if (n == -E2BIG) {
		snprintf(err, errlen, "too many words (at most %zu)", sizeof(words) / sizeof(words[0]));
		r = -EINVAL;
		goto out;
	}
	if (n < 0) {
		snprintf(err, errlen, "unterminated quote");
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *w = words[i], *eq, *value = NULL;
		char kind[32];
		size_t klen;

		if (strncmp(w, "--", 2) != 0) {
			snprintf(err, errlen, "expected a selector such as --user, not '%.60s'", w);
			r = -EINVAL;
			goto out;
		}
		w += 2;
		eq = strchr(w, '=');
		klen = eq ? (size_t)(eq - w) : strlen(w);
		if (klen == 0 || klen >= sizeof(kind)) {
			snprintf(err, errlen, "unknown selector '--%.60s'", w);
			r = -EINVAL;
			goto out;
		}
		memcpy(kind, w, klen);
		kind[klen] = '\0';
		if (strcmp(kind, "all") == 0) {
			if (eq) {
				snprintf(err, errlen, "--all takes no value");
				r = -EINVAL;
				goto out;
			}
		} else if (eq) {
			value = eq + 1;
		} else if (i + 1 < n) {
			value = words[++i];
		} else {
			snprintf(err, errlen, "--%s needs a value", kind);
			r = -EINVAL;
			goto out;
		}
		r = select_add(s, kind, value);
		if (r == -ENOENT)
			snprintf(err, errlen, "unknown selector '--%s'", kind);
		else if (r == -EDOM)
			bad_net(value, kind, err, errlen);
		else if (r == -EINVAL)
			snprintf(err, errlen, "bad value '%.60s' for --%s", value ? value : "", kind);
		else if (r < 0)
			snprintf(err, errlen, "%s", strerror(-r));
		if (r == -EDOM)
			r = -EINVAL;
		if (r < 0)
			goto out;
	}
out:
	free(buf);
	return r;
}
