/* SPDX-License-Identifier: MIT */
/*
 * test_packet.c -- unit tests for packet.h (parse, build, checksums, link
 * headers) and cut_parse_conn, on bytes and on the pcap files of
 * tests/data (made once with tcpdump, see tests/data/README.md; read
 * here with pcap_open_offline, no root).
 *
 * Covers: Ethernet (loopback's zero MACs and a veth's real ones), LINUX_SLL,
 * LINUX_SLL2 and raw IP; IPv4 and IPv6, with hop-by-hop and destination
 * options headers skipped; TCP options (MSS, timestamps); checksums that
 * the kernel left partial (offload) and the ones pgevict wrote; every
 * truncation of a frame; fragments, other protocols and malformed headers
 * refused; build -> parse round trips on every link type pgevict sends on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "pgevict/cut.h"
#include "pgevict/packet.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct frame {
	uint8_t b[512];
	size_t len;
};

struct capture {
	int dlt;
	struct frame f[32];
	size_t n;
};

static const char *data_dir(void)
{
	const char *d = getenv("PGEVICT_TESTDATA");

	return d ? d : "tests/data";
}

static void load(const char *name, struct capture *c)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *bytes;
	pcap_t *p;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	p = pcap_open_offline(path, err);
	if (!p)
		fail_msg("cannot open '%s': %s", path, err);
	memset(c, 0, sizeof(*c));
	c->dlt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &bytes) == 1 && c->n < ARRAY_SIZE(c->f)) {
		assert_true(h->caplen <= sizeof(c->f[0].b));
		memcpy(c->f[c->n].b, bytes, h->caplen);
		c->f[c->n].len = h->caplen;
		c->n++;
	}
	pcap_close(p);
	assert_true(c->n > 0);
}

static void addr(int family, const char *text, uint8_t *out)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, text, out), 1);
}

/* --- pcap files ------------------------------------------------------ */

/* A whole connection on loopback: handshake with options, data both
 * ways, FINs.  Linux leaves TCP checksums partial on lo (offload). */
static void test_ipv4_lo(void **state)
{
	struct capture c;
	struct pkt_tcp t;
	uint8_t lo[16];
	size_t i, data = 0, fin = 0;

	(void)state;
	load("ipv4-lo.pcap", &c);
	assert_int_equal(c.dlt, PKT_DLT_EN10MB);
	assert_int_equal(c.n, 9);
	addr(AF_INET, "127.0.0.1", lo);
	for (i = 0; i < c.n; i++) {
		assert_int_equal(pkt_parse(c.dlt, c.f[i].b, c.f[i].len, &t), 0);
		assert_int_equal(t.family, AF_INET);
		assert_memory_equal(t.src, lo, 16);
		assert_memory_equal(t.dst, lo, 16);
		assert_true(t.sport == 47101 || t.dport == 47101);
		assert_int_equal(t.link_len, 14);
		assert_true(t.has_ts);
		assert_int_equal(t.csum, 0);    /* partial: offloaded */
		data += t.payload_len;
		fin += !!(t.flags & PKT_FIN);
	}
	assert_int_equal(pkt_parse(c.dlt, c.f[0].b, c.f[0].len, &t), 0);
	assert_int_equal(t.flags, PKT_SYN);
	assert_int_equal(t.dport, 47101);
	assert_int_equal(t.mss, 65495);
	assert_int_equal(t.ts_ecr, 0);
	assert_int_equal(pkt_seg_len(&t), 1);
	assert_int_equal(data, strlen("ping") + strlen("pong:ping"));
	assert_int_equal(fin, 1);          /* the server's; the capture ends before the client's */
}

/* IPv6 with a hop-by-hop and a destination options header on the
 * client's segments, on Ethernet (lo) and the same bytes as raw IP. */
static void check_exthdr(const char *file, int dlt, size_t link_len)
{
	struct capture c;
	struct pkt_tcp t;
	size_t i, from_client = 0, data = 0;

	load(file, &c);
	assert_int_equal(c.dlt, dlt);
	assert_int_equal(c.n, 9);
	for (i = 0; i < c.n; i++) {
		assert_int_equal(pkt_parse(c.dlt, c.f[i].b, c.f[i].len, &t), 0);
		assert_int_equal(t.family, AF_INET6);
		assert_int_equal(t.link_len, link_len);
		if (t.dport == 47102)
			from_client++;
		else
			assert_int_equal(t.sport, 47102);
		data += t.payload_len;
	}
	assert_true(from_client >= 4);
	assert_int_equal(data, 4 + 9);
	/* the first is the client's SYN, behind 16 bytes of options */
	assert_int_equal(pkt_parse(c.dlt, c.f[0].b, c.f[0].len, &t), 0);
	assert_int_equal(t.flags, PKT_SYN);
	assert_int_equal(t.mss, 65476);
	assert_int_equal(c.f[0].b[link_len + 6], 0);     /* next header: hop-by-hop */
}

static void test_ipv6_exthdr_lo(void **state)
{
	(void)state;
	check_exthdr("ipv6-lo-exthdr.pcap", PKT_DLT_EN10MB, 14);
}

static void test_ipv6_exthdr_raw(void **state)
{
	(void)state;
	/* LINKTYPE_RAW in the file; libpcap hands it over as DLT_RAW */
	check_exthdr("ipv6-raw-exthdr.pcap", PKT_DLT_RAW, 0);
	assert_int_equal(PKT_DLT_RAW_LT, 101);
}

static void check_any(const char *file, int dlt, int family, size_t link_len, size_t n)
{
	struct capture c;
	struct pkt_tcp t;
	size_t i;

	load(file, &c);
	assert_int_equal(c.dlt, dlt);
	assert_int_equal(c.n, n);
	for (i = 0; i < c.n; i++) {
		assert_int_equal(pkt_parse(c.dlt, c.f[i].b, c.f[i].len, &t), 0);
		assert_int_equal(t.family, family);
		assert_int_equal(t.link_len, link_len);
	}
	/* capture-only headers cannot be sent */
	assert_int_equal(pkt_link_reverse(dlt, c.f[0].b, link_len, c.f[1].b), -EPROTONOSUPPORT);
}

static void test_sll(void **state)
{
	(void)state;
	check_any("ipv4-any-sll.pcap", PKT_DLT_LINUX_SLL, AF_INET, 16, 9);
}

static void test_sll2(void **state)
{
	(void)state;
	check_any("ipv6-any-sll2.pcap", PKT_DLT_LINUX_SLL2, AF_INET6, 20, 9);
}

/* A cut on loopback by pgevict: handshake, the probe (ours: a right
 * checksum, 20-byte header), the answer, and the two RSTs, whose
 * numbers are the answer's. */
static void test_rst_cut_lo(void **state)
{
	struct capture c;
	struct pkt_tcp probe, answer, r1, r2;

	(void)state;
	load("rst-cut-lo.pcap", &c);
	assert_int_equal(c.n, 7);
	assert_int_equal(pkt_parse(c.dlt, c.f[3].b, c.f[3].len, &probe), 0);
	assert_int_equal(pkt_parse(c.dlt, c.f[4].b, c.f[4].len, &answer), 0);
	assert_int_equal(pkt_parse(c.dlt, c.f[5].b, c.f[5].len, &r1), 0);
	assert_int_equal(pkt_parse(c.dlt, c.f[6].b, c.f[6].len, &r2), 0);
	assert_int_equal(probe.flags, PKT_ACK);
	assert_int_equal(probe.csum, 1);
	assert_false(probe.has_ts);
	assert_int_equal(answer.flags, PKT_ACK);
	assert_int_equal(answer.sport, probe.dport);
	assert_int_equal(r1.flags, PKT_RST);
	assert_int_equal(r1.csum, 1);
	assert_int_equal(r2.csum, 1);
	/* toward the answering end: its ACK; toward the other: its SEQ */
	assert_int_equal(r1.dport, answer.sport);
	assert_int_equal(r1.seq, answer.ack);
	assert_int_equal(r2.dport, answer.dport);
	assert_int_equal(r2.seq, answer.seq);
}

/* A cut on a veth, seen from the server's side: real MACs.  The frame
 * pgevict sent toward the client carries the link header of a frame the
 * server sent; reversing a client frame gives the same header. */
static void check_veth(const char *file, int family)
{
	struct capture c;
	struct pkt_tcp t;
	uint8_t rev[PKT_LINK_MAX];
	size_t i, rst_out = 0, rst_in = 0;
	const struct frame *server = NULL, *client = NULL;

	load(file, &c);
	assert_int_equal(c.dlt, PKT_DLT_EN10MB);
	for (i = 0; i < c.n; i++) {
		assert_int_equal(pkt_parse(c.dlt, c.f[i].b, c.f[i].len, &t), 0);
		assert_int_equal(t.family, family);
		if (t.sport == 47002 && !server)
			server = &c.f[i];          /* the SYN-ACK */
		else if (t.dport == 47002 && !client)
			client = &c.f[i];          /* the SYN */
		if ((t.flags & PKT_RST) && t.sport == 47002) {
			rst_out++;
			assert_int_equal(t.csum, 1);
			assert_non_null(server);
			assert_memory_equal(c.f[i].b, server->b, 14);
		}
		if ((t.flags & PKT_RST) && t.dport == 47002)
			rst_in++;          /* the client's kernel: its socket is gone */
	}
	assert_int_equal(rst_out, 1);
	assert_int_equal(rst_in, 1);
	assert_non_null(server);
	assert_non_null(client);
	assert_int_equal(pkt_link_reverse(PKT_DLT_EN10MB, client->b, 14, rev), 0);
	assert_memory_equal(rev, server->b, 14);
}

static void test_veth_ipv4(void **state)
{
	(void)state;
	check_veth("rst-cut-veth-ipv4.pcap", AF_INET);
}

static void test_veth_ipv6(void **state)
{
	(void)state;
	check_veth("rst-cut-veth-ipv6.pcap", AF_INET6);
}

/* Every prefix of every frame of a file parses or is refused; none
 * shorter than its TCP header parses. */
static void test_truncations(void **state)
{
	static const char *const files[] = {
		"ipv4-lo.pcap", "ipv6-lo-exthdr.pcap", "ipv6-raw-exthdr.pcap", "ipv4-any-sll.pcap",
		"ipv6-any-sll2.pcap", "rst-cut-veth-ipv6.pcap",
	};
	struct capture c;
	struct pkt_tcp t;
	size_t i, k, len;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		load(files[i], &c);
		for (k = 0; k < c.n; k++) {
			size_t need;
			assert_int_equal(pkt_parse(c.dlt, c.f[k].b, c.f[k].len, &t), 0);
			need = c.f[k].len - t.payload_len;     /* up to the TCP options' end */
			for (len = 0; len < need; len++)
				assert_int_equal(pkt_parse(c.dlt, c.f[k].b, len, &t), -EINVAL);
		}
	}
}

/* --- bytes ----------------------------------------------------------- */

static void test_csum_rfc1071(void **state)
{
	/* RFC 1071's example: the sum is ddf2, the checksum its complement */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[] = { 0x01 };

	(void)state;
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, b, sizeof(b))), 0x220d);
	assert_int_equal(pkt_csum_fold(pkt_csum_add(0, odd, 1)), 0xfeff);
	assert_int_equal(pkt_csum_fold(0), 0xffff);
}

static void fill_seg(struct pkt_seg *s, int family)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	if (family == AF_INET) {
		addr(AF_INET, "10.1.2.3", s->src);
		addr(AF_INET, "192.168.200.1", s->dst);
	} else {
		addr(AF_INET6, "fd00::1", s->src);
		addr(AF_INET6, "2001:db8::ffff:1", s->dst);
	}
	s->sport = 5432;
	s->dport = 61000;
	s->seq = 0xfffffff0u;
	s->ack = 0x12345678u;
	s->flags = PKT_RST;
	s->window = 0;
}

static void roundtrip(int dlt, const uint8_t *link, size_t llen, int family)
{
	struct pkt_seg s;
	struct pkt_tcp t;
	uint8_t buf[128];
	ssize_t n;

	fill_seg(&s, family);
	n = pkt_build(dlt, link, llen, &s, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)(llen + (family == AF_INET6 ? 40 : 20) + 20));
	assert_int_equal(pkt_parse(dlt, buf, (size_t)n, &t), 0);
	assert_int_equal(t.family, family);
	assert_memory_equal(t.src, s.src, 16);
	assert_memory_equal(t.dst, s.dst, 16);
	assert_int_equal(t.sport, s.sport);
	assert_int_equal(t.dport, s.dport);
	assert_int_equal(t.seq, s.seq);
	assert_int_equal(t.ack, s.ack);
	assert_int_equal(t.flags, s.flags);
	assert_int_equal(t.payload_len, 0);
	assert_int_equal(t.csum, 1);
	assert_int_equal(t.link_len, llen);
	if (family == AF_INET)      /* the IPv4 header checksum too */
		assert_int_equal(pkt_csum_fold(pkt_csum_add(0, buf + llen, 20)), 0);
	assert_int_equal(pkt_build(dlt, link, llen, &s, buf, (size_t)n - 1), -ENOSPC);
}

static void test_build_roundtrip(void **state)
{
	uint8_t eth[14] = { 1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x86, 0xdd };
	uint8_t vlan[18] = { 1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00 };

	(void)state;
	roundtrip(PKT_DLT_EN10MB, eth, sizeof(eth), AF_INET);     /* ethertype rewritten */
	roundtrip(PKT_DLT_EN10MB, eth, sizeof(eth), AF_INET6);
	roundtrip(PKT_DLT_EN10MB, vlan, sizeof(vlan), AF_INET);
	roundtrip(PKT_DLT_EN10MB, vlan, sizeof(vlan), AF_INET6);
	roundtrip(PKT_DLT_RAW, NULL, 0, AF_INET);
	roundtrip(PKT_DLT_RAW, NULL, 0, AF_INET6);
	roundtrip(PKT_DLT_RAW_LT, NULL, 0, AF_INET6);
	roundtrip(PKT_DLT_IPV4, NULL, 0, AF_INET);
	roundtrip(PKT_DLT_IPV6, NULL, 0, AF_INET6);
}

static void test_build_refuses(void **state)
{
	struct pkt_seg s;
	uint8_t buf[128], eth[14] = { 0 };

	(void)state;
	fill_seg(&s, AF_INET);
	assert_int_equal(pkt_build(PKT_DLT_IPV6, NULL, 0, &s, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pkt_build(PKT_DLT_EN10MB, eth, 13, &s, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pkt_build(PKT_DLT_RAW, eth, 14, &s, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pkt_build(9999, NULL, 0, &s, buf, sizeof(buf)), -EPROTONOSUPPORT);
	s.family = AF_UNIX;
	assert_int_equal(pkt_build(PKT_DLT_RAW, NULL, 0, &s, buf, sizeof(buf)), -EINVAL);
}

/* A built IPv4 frame, to break in the tests below (raw IP). */
static size_t v4frame(uint8_t *buf)
{
	struct pkt_seg s;
	ssize_t n;

	fill_seg(&s, AF_INET);
	n = pkt_build(PKT_DLT_RAW, NULL, 0, &s, buf, 128);
	assert_true(n == 40);
	return (size_t)n;
}

static void test_refused(void **state)
{
	uint8_t b[128];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = v4frame(b);
	b[6] = 0x20;                            /* more fragments */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EPROTONOSUPPORT);
	n = v4frame(b);
	b[7] = 0x08;                            /* an offset */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EPROTONOSUPPORT);
	n = v4frame(b);
	b[9] = 17;                              /* UDP */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EPROTONOSUPPORT);
	n = v4frame(b);
	b[0] = 0x44;                            /* IHL 16 bytes */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EINVAL);
	n = v4frame(b);
	b[0] = 0x4f;                            /* IHL beyond the frame */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EINVAL);
	n = v4frame(b);
	b[3] = 39;                              /* total length cuts the TCP header */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EINVAL);
	n = v4frame(b);
	b[20 + 12] = 0x40;                      /* data offset 16 bytes */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EINVAL);
	n = v4frame(b);
	b[20 + 12] = 0x60;                      /* data offset past the segment */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EINVAL);
	n = v4frame(b);
	b[0] = 0x75;                            /* IP version 7 */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, n, &t), -EPROTONOSUPPORT);
	assert_int_equal(pkt_parse(PKT_DLT_IPV6, b, n, &t), -EINVAL);
	assert_int_equal(pkt_parse(147, b, n, &t), -EPROTONOSUPPORT);
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, 0, &t), -EINVAL);
}

/* TCP options: kept when well formed, refused when a length lies. */
static void test_tcp_options(void **state)
{
	uint8_t b[128];
	struct pkt_tcp t;
	size_t n = v4frame(b);
	static const uint8_t good[] = { 2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 0 };
	static const uint8_t zero_len[] = { 1, 1, 5, 0 };
	static const uint8_t long_len[] = { 1, 1, 8, 10 };
	static const uint8_t cut[] = { 1, 1, 1, 8 };

	(void)state;
	assert_int_equal(n, 40);
	memcpy(b + 40, good, sizeof(good));
	b[3] = 60;
	b[20 + 12] = 10 << 4;
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, 60, &t), 0);
	assert_int_equal(t.mss, 1460);
	assert_true(t.has_ts);
	assert_int_equal(t.ts_val, 7);
	assert_int_equal(t.ts_ecr, 9);
	assert_int_equal(t.payload_len, 0);
	assert_int_equal(t.csum, 0);        /* options changed, checksum not */

	b[3] = 44;
	b[20 + 12] = 6 << 4;
	memcpy(b + 40, zero_len, 4);
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, 44, &t), -EINVAL);
	memcpy(b + 40, long_len, 4);
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, 44, &t), -EINVAL);
	memcpy(b + 40, cut, 4);
	assert_int_equal(pkt_parse(PKT_DLT_RAW, b, 44, &t), -EINVAL);
}

/* IPv6 extension headers: a fragment header and ESP are refused; a
 * header that runs past the payload length is malformed. */
static void test_ipv6_ext_refused(void **state)
{
	struct pkt_seg s;
	struct pkt_tcp t;
	uint8_t b[160], f[160];
	ssize_t n;

	(void)state;
	fill_seg(&s, AF_INET6);
	n = pkt_build(PKT_DLT_RAW, NULL, 0, &s, b, sizeof(b));
	assert_int_equal(n, 60);
	/* insert an 8-byte header after the fixed one */
	memcpy(f, b, 40);
	memcpy(f + 48, b + 40, 20);
	f[4] = 0;
	f[5] = 28;
	f[40] = 6;          /* its next header: TCP */
	f[41] = 0;
	memset(f + 42, 0, 6);
	f[6] = 60;          /* destination options: skipped */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, f, 68, &t), 0);
	assert_int_equal(t.sport, 5432);
	assert_int_equal(t.csum, 1);
	f[6] = 44;          /* fragment */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, f, 68, &t), -EPROTONOSUPPORT);
	f[6] = 50;          /* ESP */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, f, 68, &t), -EPROTONOSUPPORT);
	f[6] = 0;
	f[41] = 3;          /* 32 bytes: past the payload */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, f, 68, &t), -EINVAL);
	f[41] = 0;
	f[40] = 17;         /* then UDP */
	assert_int_equal(pkt_parse(PKT_DLT_RAW, f, 68, &t), -EPROTONOSUPPORT);
}

static void test_link_reverse(void **state)
{
	uint8_t eth[18] = { 1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x81, 0, 0, 7, 8, 0 };
	uint8_t out[18];

	(void)state;
	assert_int_equal(pkt_link_reverse(PKT_DLT_EN10MB, eth, 18, out), 0);
	assert_memory_equal(out, eth + 6, 6);
	assert_memory_equal(out + 6, eth, 6);
	assert_memory_equal(out + 12, eth + 12, 6);
	assert_int_equal(pkt_link_reverse(PKT_DLT_EN10MB, eth, 15, out), -EINVAL);
	assert_int_equal(pkt_link_reverse(PKT_DLT_RAW, NULL, 0, out), 0);
	assert_int_equal(pkt_link_reverse(PKT_DLT_LINUX_SLL, eth, 16, out), -EPROTONOSUPPORT);
}

/* --- --conn ------------------------------------------------------------ */

struct conn_case {
	const char *text;
	int rc;
	int family;
	const char *a;
	int ap;
	const char *b;
	int bp;
};

static const struct conn_case conn_cases[] = {
	{ "10.0.0.1:5432,10.0.0.2:40000", 0, AF_INET, "10.0.0.1", 5432, "10.0.0.2", 40000 },
	{ "[fd00::1]:5432,[fd00::2]:1", 0, AF_INET6, "fd00::1", 5432, "fd00::2", 1 },
	{ "[::ffff:10.0.0.1]:5432,[::1]:65535", 0, AF_INET6, "::ffff:10.0.0.1", 5432, "::1", 65535 },
	{ "127.0.0.1:5432,127.0.0.1:5433", 0, AF_INET, "127.0.0.1", 5432, "127.0.0.1", 5433 },
	{ "127.0.0.1:5432,127.0.0.1:5432", -EINVAL, 0, NULL, 0, NULL, 0 },      /* one end twice */
	{ "10.0.0.1:5432,[fd00::2]:1", -EINVAL, 0, NULL, 0, NULL, 0 },          /* two families */
	{ "10.0.0.1:5432", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "10.0.0.1:5432,10.0.0.2:1,10.0.0.3:2", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "10.0.0.1:0,10.0.0.2:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "10.0.0.1:65536,10.0.0.2:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "10.0.0.1:+1,10.0.0.2:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "10.0.0.1:,10.0.0.2:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "fd00::1:5432,fd00::2:1", -EINVAL, 0, NULL, 0, NULL, 0 },              /* no brackets */
	{ "[fd00::1]5432,[fd00::2]:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "[10.0.0.1]:5432,[10.0.0.2]:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "host:5432,10.0.0.2:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "[]:5432,[::1]:1", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ ",", -EINVAL, 0, NULL, 0, NULL, 0 },
	{ "", -EINVAL, 0, NULL, 0, NULL, 0 },
};

static void test_parse_conn(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(conn_cases); i++) {
		const struct conn_case *c = &conn_cases[i];
		uint8_t a[16], b[16], wa[16], wb[16];
		uint16_t ap, bp;
		int family, r = cut_parse_conn(c->text, &family, a, &ap, b, &bp);
		if (r != c->rc)
			fail_msg("'%s': %d, expected %d", c->text, r, c->rc);
		if (r < 0)
			continue;
		addr(c->family, c->a, wa);
		addr(c->family, c->b, wb);
		assert_int_equal(family, c->family);
		assert_memory_equal(a, wa, 16);
		assert_memory_equal(b, wb, 16);
		assert_int_equal(ap, c->ap);
		assert_int_equal(bp, c->bp);
	}
	assert_int_equal(cut_parse_conn(NULL, NULL, NULL, NULL, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_lo),
		cmocka_unit_test(test_ipv6_exthdr_lo),
		cmocka_unit_test(test_ipv6_exthdr_raw),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_rst_cut_lo),
		cmocka_unit_test(test_veth_ipv4),
		cmocka_unit_test(test_veth_ipv6),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_ipv6_ext_refused),
		cmocka_unit_test(test_link_reverse),
		cmocka_unit_test(test_parse_conn),
	};

	return cmocka_run_group_tests_name("packet", tests, NULL, NULL);
}
