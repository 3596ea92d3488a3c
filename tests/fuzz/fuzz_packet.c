/* SPDX-License-Identifier: MIT */
/*
 * fuzz_packet.c -- libFuzzer target for packet.h and cut.h (captured
 * frames come from the network: anyone on the path writes them).
 *
 * The first byte picks the link type (Ethernet, raw, IPv4, IPv6, SLL,
 * SLL2, or an unknown one), the rest is the frame.  Besides memory errors
 * it aborts on broken invariants: a parsed segment's link header and TCP
 * header lie inside the frame; rebuilding it as raw IP and parsing that
 * gives the same fields with a right checksum; an Ethernet header
 * reversed twice is itself; feeding it to a cut never makes the state
 * machine send more than two segments or wake in the past.  The input,
 * NUL-terminated, also goes to cut_parse_conn.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pgevict/cut.h"
#include "pgevict/packet.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = {
	PKT_DLT_EN10MB, PKT_DLT_RAW, PKT_DLT_RAW_LT, PKT_DLT_IPV4, PKT_DLT_IPV6,
	PKT_DLT_LINUX_SLL, PKT_DLT_LINUX_SLL2, 147,
};

static void check_rebuild(const struct pkt_tcp *t)
{
	struct pkt_seg s;
	struct pkt_tcp u;
	uint8_t buf[128];
	ssize_t n;

	memset(&s, 0, sizeof(s));
	s.family = t->family;
	memcpy(s.src, t->src, 16);
	memcpy(s.dst, t->dst, 16);
	s.sport = t->sport;
	s.dport = t->dport;
	s.seq = t->seq;
	s.ack = t->ack;
	s.flags = t->flags;
	s.window = t->window;
	n = pkt_build(PKT_DLT_RAW, NULL, 0, &s, buf, sizeof(buf));
	CHECK(n == (t->family == AF_INET6 ? 60 : 40));
	CHECK(pkt_parse(PKT_DLT_RAW, buf, (size_t)n, &u) == 0);
	CHECK(u.family == t->family && u.sport == t->sport && u.dport == t->dport);
	CHECK(u.seq == t->seq && u.ack == t->ack && u.flags == t->flags && u.window == t->window);
	CHECK(memcmp(u.src, t->src, 16) == 0 && memcmp(u.dst, t->dst, 16) == 0);
	CHECK(u.csum == 1 && u.payload_len == 0);
}

static void check_cut(const struct pkt_tcp *t)
{
	struct cut c;
	struct cut_out out[2];
	size_t n;
	bool check;
	int64_t wake, now = 1000;
	int i;

	cut_init(&c, t->family, t->src, t->sport, true, t->dst, t->dport, false, 1);
	for (i = 0; i < 4; i++) {
		enum cut_state st = cut_next(&c, now, out, &n, &check, &wake);
		CHECK(n <= 2 && wake >= now);
		if (st != CUT_RUNNING)
			break;
		CHECK(cut_feed(&c, t, now) <= 1);
		if (check)
			cut_mark_gone(&c, 0, true);
		now = wake;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_tcp t;
	uint8_t rev[PKT_LINK_MAX], rev2[PKT_LINK_MAX], a[16], b[16];
	uint16_t ap, bp;
	int family, dlt;
	char *text;

	if (size < 1)
		return 0;
	dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
	if (pkt_parse(dlt, data + 1, size - 1, &t) == 0) {
		CHECK(t.family == AF_INET || t.family == AF_INET6);
		CHECK(t.link_len + (t.family == AF_INET6 ? 40 : 20) + 20 <= size - 1);
		CHECK(t.csum >= -1 && t.csum <= 1);
		check_rebuild(&t);
		if (dlt == PKT_DLT_EN10MB && t.link_len <= PKT_LINK_MAX) {
			CHECK(pkt_link_reverse(dlt, data + 1, t.link_len, rev) == 0);
			CHECK(pkt_link_reverse(dlt, rev, t.link_len, rev2) == 0);
			CHECK(memcmp(rev2, data + 1, t.link_len) == 0);
		}
		check_cut(&t);
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cut_parse_conn(text, &family, a, &ap, b, &bp) == 0)
		CHECK((family == AF_INET || family == AF_INET6) && ap && bp);
	free(text);
	return 0;
}
