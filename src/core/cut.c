/* SPDX-License-Identifier: MIT */
/*
 * cut.c -- cutting one TCP connection with exact-sequence RSTs (see cut.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "pgevict/cut.h"

const char *cut_how_name(enum cut_how h)
{
	switch (h) {
	case CUT_HOW_DUMP: return "socket dump";
	case CUT_HOW_RST: return "RST answer";
	case CUT_HOW_SILENCE: return "silence";
	case CUT_HOW_NONE: break;
	}
	return "not verified";
}

void cut_init(struct cut *c, int family, const uint8_t *a, uint16_t ap, bool a_local,
	      const uint8_t *b, uint16_t bp, bool b_local, uint32_t seed)
{
	size_t alen = family == AF_INET6 ? 16 : 4;

	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->end[0].addr, a, alen);
	memcpy(c->end[1].addr, b, alen);
	c->end[0].port = ap;
	c->end[1].port = bp;
	c->end[0].local = a_local;
	c->end[1].local = b_local;
	c->end[0].last_probe_us = c->end[1].last_probe_us = INT64_MIN;
	c->rng = seed ? seed : 0x9e3779b9u;
	c->rate_us = CUT_RATE_US;
	c->state = CUT_RUNNING;
	c->phase = CUT_P_IDLE;
}

static uint32_t next_rand(struct cut *c)
{
	/* xorshift32: the probes' numbers need only be unlikely in-window */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 17;
	c->rng ^= c->rng << 5;
	return c->rng;
}

static bool addr_eq(const struct cut *c, const uint8_t *x, int end)
{
	return memcmp(x, c->end[end].addr, c->family == AF_INET6 ? 16 : 4) == 0;
}

static bool seg_eq(const struct pkt_seg *s, const struct pkt_tcp *t)
{
	return s->sport == t->sport && s->dport == t->dport && s->seq == t->seq && s->ack == t->ack &&
	       s->flags == t->flags && memcmp(s->src, t->src, 16) == 0;
}

int cut_feed(struct cut *c, const struct pkt_tcp *t, int64_t now_us)
{
	int from;
	unsigned i;

	(void)now_us;
	if (t->family != c->family)
		return -1;
	if (addr_eq(c, t->src, 0) && t->sport == c->end[0].port && addr_eq(c, t->dst, 1) &&
	    t->dport == c->end[1].port)
		from = 0;
	else if (addr_eq(c, t->src, 1) && t->sport == c->end[1].port && addr_eq(c, t->dst, 0) &&
		 t->dport == c->end[0].port)
		from = 1;
	else
		return -1;
	for (i = 0; i < c->nmine && i < sizeof(c->mine) / sizeof(c->mine[0]); i++)
		if (seg_eq(&c->mine[i], t))
			return -1;
	if (t->flags & PKT_RST) {
		if (c->rounds == 0 && c->probes > 0) {
			/* a RST before any of ours: its kernel has no such
			 * connection */
			c->state = CUT_FAILED;
			c->absent = true;
			c->reason = "no such connection: an end answered the probe with a RST";
			return from;
		}
		if (!c->end[from].gone) {
			c->end[from].gone = true;
			c->end[from].how = CUT_HOW_RST;
		}
		if (c->learned && c->learned_from == from)
			c->learned = false;
		return from;
	}
	if (!c->end[from].gone || !c->end[!from].gone) {
		c->learned = true;
		c->learned_from = from;
		c->seen = *t;
	}
	return from;
}

void cut_mark_gone(struct cut *c, int end, bool gone)
{
	if (gone && !c->end[end].gone) {
		c->end[end].gone = true;
		c->end[end].how = CUT_HOW_DUMP;
	}
}

/* Fill a segment from end FROM to the other one. */
static void make_seg(struct cut *c, int from, uint8_t flags, uint32_t seq, uint32_t ack, struct cut_out *o)
{
	struct pkt_seg *s = &o->seg;

	memset(o, 0, sizeof(*o));
	o->to = !from;
	s->family = c->family;
	memcpy(s->src, c->end[from].addr, 16);
	memcpy(s->dst, c->end[!from].addr, 16);
	s->sport = c->end[from].port;
	s->dport = c->end[!from].port;
	s->seq = seq;
	s->ack = ack;
	s->flags = flags;
	s->window = flags & PKT_RST ? 0 : 502;
	c->mine[c->nmine++ % (sizeof(c->mine) / sizeof(c->mine[0]))] = *s;
	if (c->nmine >= 2 * (sizeof(c->mine) / sizeof(c->mine[0])))
		c->nmine -= sizeof(c->mine) / sizeof(c->mine[0]);
}

static enum cut_state fail(struct cut *c, const char *why)
{
	c->state = CUT_FAILED;
	c->reason = why;
	return c->state;
}

/* The end to probe: a local one first (its answer is certain to be
 * captured), then the one probed longest ago.  -1 if none is left. */
static int probe_target(const struct cut *c)
{
	int i, best = -1;

	for (i = 0; i < 2; i++) {
		if (c->end[i].gone)
			continue;
		if (best < 0 || (c->end[i].local && !c->end[best].local) ||
		    (c->end[i].local == c->end[best].local &&
		     c->end[i].last_probe_us < c->end[best].last_probe_us))
			best = i;
	}
	return best;
}

enum cut_state cut_next(struct cut *c, int64_t now_us, struct cut_out *out, size_t *ret_n,
			bool *ret_check, int64_t *ret_wake_us)
{
	size_t n = 0;
	int t;

	*ret_n = 0;
	*ret_check = false;
	*ret_wake_us = now_us;
	if (c->state != CUT_RUNNING)
		return c->state;
	if (c->end[0].gone && c->end[1].gone) {
		c->state = CUT_DONE;
		return c->state;
	}
	if (c->phase == CUT_P_SENT) {
		if (now_us < c->until_us) {
			*ret_wake_us = c->until_us;
			return c->state;
		}
		c->phase = CUT_P_CHECKED;
		if ((c->end[0].local && !c->end[0].gone) || (c->end[1].local && !c->end[1].gone)) {
			*ret_check = true;
			return c->state;
		}
	}
	if (c->learned) {
		/* From a segment of end X: toward X its ACK, toward the other
		 * end its SEQ plus what it occupies. */
		int x = c->learned_from;
		if (c->rounds >= CUT_MAX_ROUNDS)
			return fail(c, "the connection kept answering after every round of RSTs");
		c->learned = false;
		if (!c->end[x].gone)
			make_seg(c, !x, PKT_RST, c->seen.ack, 0, &out[n++]);
		if (!c->end[!x].gone)
			make_seg(c, x, PKT_RST, c->seen.seq + pkt_seg_len(&c->seen), 0, &out[n++]);
		c->rounds++;
		c->phase = CUT_P_SENT;
		c->until_us = now_us + CUT_SETTLE_US;
		*ret_n = n;
		*ret_wake_us = c->until_us;
		return c->state;
	}
	if (c->phase == CUT_P_ASKED) {
		if (now_us < c->until_us) {
			*ret_wake_us = c->until_us;
			return c->state;
		}
		/* No answer.  After RSTs, a remote end that stays silent is
		 * taken as gone (its kernel would have answered otherwise,
		 * unless something drops our probes). */
		if (c->rounds > 0 && !c->end[c->asked].local && !c->end[c->asked].gone) {
			c->end[c->asked].gone = true;
			c->end[c->asked].how = CUT_HOW_SILENCE;
			if (c->end[!c->asked].gone) {
				c->state = CUT_DONE;
				return c->state;
			}
		}
		c->phase = CUT_P_IDLE;
	}
	t = probe_target(c);
	if (t < 0) {
		c->state = CUT_DONE;
		return c->state;
	}
	if (c->probes >= CUT_MAX_PROBES)
		return fail(c, c->rounds ? "the connection was still there after every probe and RST"
					 : "no end answered a probe (the connection may be gone, or elsewhere)");
	if (c->end[t].last_probe_us != INT64_MIN && now_us < c->end[t].last_probe_us + c->rate_us) {
		*ret_wake_us = c->end[t].last_probe_us + c->rate_us;
		return c->state;
	}
	/* An ACK with random numbers: out of window (or acking unsent data)
	 * but for a chance of the window's size in 2^32, so the socket
	 * answers with its numbers.  Never a SYN: an end whose socket is
	 * gone but that listens on its port would answer it with a SYN-ACK
	 * and keep a half-open connection. */
	make_seg(c, !t, PKT_ACK, next_rand(c), next_rand(c), &out[n++]);
	c->probes++;
	c->asked = t;
	c->end[t].last_probe_us = now_us;
	c->phase = CUT_P_ASKED;
	c->until_us = now_us + CUT_ANSWER_US;
	*ret_n = n;
	*ret_wake_us = c->until_us;
	return c->state;
}

/* One end, TEXT of LEN bytes: "a.b.c.d:port" or "[v6]:port". */
static int parse_end(const char *text, size_t len, int *ret_family, uint8_t *ret_addr, uint16_t *ret_port)
{
	char host[INET6_ADDRSTRLEN + 1], port[8], *end;
	const char *colon;
	size_t hlen;
	unsigned long v;

	memset(ret_addr, 0, 16);
	if (len && text[0] == '[') {
		const char *rb = memchr(text, ']', len);
		if (!rb || (size_t)(rb - text) + 1 >= len || rb[1] != ':')
			return -EINVAL;
		hlen = (size_t)(rb - text) - 1;
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, ret_addr) != 1)
			return -EINVAL;
		*ret_family = AF_INET6;
		colon = rb + 1;
	} else {
		colon = memchr(text, ':', len);
		if (!colon || memchr(colon + 1, ':', len - (size_t)(colon + 1 - text)))
			return -EINVAL;
		hlen = (size_t)(colon - text);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, ret_addr) != 1)
			return -EINVAL;
		*ret_family = AF_INET;
	}
	len -= (size_t)(colon + 1 - text);
	if (len == 0 || len >= sizeof(port))
		return -EINVAL;
	memcpy(port, colon + 1, len);
	port[len] = '\0';
	if (port[0] < '0' || port[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(port, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)v;
	return 0;
}

int cut_parse_conn(const char *text, int *ret_family, uint8_t *ret_a, uint16_t *ret_ap,
		   uint8_t *ret_b, uint16_t *ret_bp)
{
	const char *comma;
	int fa, fb;

	if (!text)
		return -EINVAL;
	comma = strchr(text, ',');
	if (!comma || strchr(comma + 1, ','))
		return -EINVAL;
	if (parse_end(text, (size_t)(comma - text), &fa, ret_a, ret_ap) < 0 ||
	    parse_end(comma + 1, strlen(comma + 1), &fb, ret_b, ret_bp) < 0 || fa != fb)
		return -EINVAL;
	if (memcmp(ret_a, ret_b, 16) == 0 && *ret_ap == *ret_bp)
		return -EINVAL;
	*ret_family = fa;
	return 0;
}
