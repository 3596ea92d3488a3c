/* SPDX-License-Identifier: MIT */
/*
 * packet.c -- TCP segments as bytes (see packet.h).  Core: no I/O.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "pgevict/packet.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

#define IPPROTO_TCP_ 6

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t pkt_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += rd16(p + i);
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1) {
		sum += (uint32_t)p[len - 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t pkt_tcp_csum(int family, const uint8_t *src, const uint8_t *dst, const uint8_t *segment,
		      size_t len)
{
	uint8_t ph[8];
	uint32_t sum = 0;
	size_t alen = family == AF_INET6 ? 16 : 4;

	sum = pkt_csum_add(sum, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	if (family == AF_INET6) {
		wr32(ph, (uint32_t)len);          /* upper-layer length */
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = IPPROTO_TCP_;
		sum = pkt_csum_add(sum, ph, 8);
	} else {
		ph[0] = 0;
		ph[1] = IPPROTO_TCP_;
		wr16(ph + 2, (uint16_t)len);
		sum = pkt_csum_add(sum, ph, 4);
	}
	sum = pkt_csum_add(sum, segment, len);
	return pkt_csum_fold(sum);
}

/* Link layer: where the IP header starts and what it carries. */
static int parse_link(int dlt, const uint8_t *p, size_t len, size_t *ret_off, uint16_t *ret_proto)
{
	size_t off;
	uint16_t proto;
	int tags = 0;

	switch (dlt) {
	case PKT_DLT_EN10MB:
		if (len < 14)
			return -EINVAL;
		off = 12;
		proto = rd16(p + off);
		while ((proto == ETH_P_8021Q || proto == ETH_P_8021AD) && tags < 2) {
			off += 4;
			if (len < off + 2)
				return -EINVAL;
			proto = rd16(p + off);
			tags++;
		}
		off += 2;
		break;
	case PKT_DLT_LINUX_SLL:
		if (len < 16)
			return -EINVAL;
		proto = rd16(p + 14);
		off = 16;
		break;
	case PKT_DLT_LINUX_SLL2:
		if (len < 20)
			return -EINVAL;
		proto = rd16(p);
		off = 20;
		break;
	case PKT_DLT_RAW:
	case PKT_DLT_RAW_LT:
		if (len < 1)
			return -EINVAL;
		proto = (p[0] >> 4) == 4 ? ETH_P_IPV4 : (p[0] >> 4) == 6 ? ETH_P_IPV6 : 0;
		off = 0;
		break;
	case PKT_DLT_IPV4:
		proto = ETH_P_IPV4;
		off = 0;
		break;
	case PKT_DLT_IPV6:
		proto = ETH_P_IPV6;
		off = 0;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (proto != ETH_P_IPV4 && proto != ETH_P_IPV6)
		return -EPROTONOSUPPORT;
	*ret_off = off;
	*ret_proto = proto;
	return 0;
}

/* IPv4 header at P (LEN bytes): the TCP header's offset and length. */
static int parse_ipv4(const uint8_t *p, size_t len, struct pkt_tcp *t, size_t *ret_off, size_t *ret_tcplen)
{
	size_t ihl, total;
	uint16_t frag;

	if (len < 20 || (p[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = rd16(p + 2);
	if (ihl < 20 || total < ihl || len < ihl)
		return -EINVAL;
	frag = rd16(p + 6);
	if (frag & 0x3fff)               /* MF or an offset: a fragment */
		return -EPROTONOSUPPORT;
	if (p[9] != IPPROTO_TCP_)
		return -EPROTONOSUPPORT;
	t->family = AF_INET;
	memcpy(t->src, p + 12, 4);
	memcpy(t->dst, p + 16, 4);
	*ret_off = ihl;
	*ret_tcplen = total - ihl;
	return 0;
}

/* IPv6 header and extension headers at P (LEN bytes). */
static int parse_ipv6(const uint8_t *p, size_t len, struct pkt_tcp *t, size_t *ret_off, size_t *ret_tcplen)
{
	size_t off = 40, plen, hlen;
	uint8_t nh;
	int n;

	if (len < 40 || (p[0] >> 4) != 6)
		return -EINVAL;
	plen = rd16(p + 4);
	if (plen == 0)                   /* a jumbogram: not on our links */
		return -EPROTONOSUPPORT;
	nh = p[6];
	t->family = AF_INET6;
	memcpy(t->src, p + 8, 16);
	memcpy(t->dst, p + 24, 16);
	for (n = 0; nh != IPPROTO_TCP_; n++) {
		if (n >= 8 || off + 8 > len)
			return n >= 8 ? -EPROTONOSUPPORT : -EINVAL;
		switch (nh) {
		case 0:         /* hop-by-hop */
		case 43:        /* routing */
		case 60:        /* destination options */
			hlen = ((size_t)p[off + 1] + 1) * 8;
			break;
		case 51:        /* AH: length in 4-byte units, minus 2 */
			hlen = ((size_t)p[off + 1] + 2) * 4;
			break;
		case 44:        /* fragment */
			return -EPROTONOSUPPORT;
		default:        /* ESP, no next header, anything else */
			return -EPROTONOSUPPORT;
		}
		nh = p[off];
		off += hlen;
		if (off > 40 + plen)
			return -EINVAL;
	}
	if (off > 40 + plen)
		return -EINVAL;
	*ret_off = off;
	*ret_tcplen = 40 + plen - off;
	return 0;
}

/* TCP options (kind, length, value), checked and the known ones kept. */
static int parse_options(const uint8_t *o, size_t len, struct pkt_tcp *t)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;
		if (kind == 0)                  /* end of list */
			break;
		if (kind == 1) {                /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			return -EINVAL;
		if (kind == 2 && olen == 4)
			t->mss = rd16(o + i + 2);
		else if (kind == 8 && olen == 10) {
			t->has_ts = true;
			t->ts_val = rd32(o + i + 2);
			t->ts_ecr = rd32(o + i + 6);
		}
		i += olen;
	}
	return 0;
}

int pkt_parse(int dlt, const uint8_t *p, size_t len, struct pkt_tcp *ret)
{
	struct pkt_tcp t;
	size_t l3, l4, tcplen, doff;
	uint16_t proto;
	const uint8_t *ip, *tcp;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = parse_link(dlt, p, len, &l3, &proto)) < 0)
		return r;
	ip = p + l3;
	if (proto == ETH_P_IPV4)
		r = parse_ipv4(ip, len - l3, &t, &l4, &tcplen);
	else
		r = parse_ipv6(ip, len - l3, &t, &l4, &tcplen);
	if (r < 0)
		return r;
	if (tcplen < 20 || len - l3 < l4 + 20)
		return -EINVAL;
	tcp = ip + l4;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || doff > tcplen || len - l3 - l4 < doff)
		return -EINVAL;
	t.sport = rd16(tcp);
	t.dport = rd16(tcp + 2);
	t.seq = rd32(tcp + 4);
	t.ack = rd32(tcp + 8);
	t.flags = tcp[13];
	t.window = rd16(tcp + 14);
	t.payload_len = (uint32_t)(tcplen - doff);
	t.link_len = l3;
	if ((r = parse_options(tcp + 20, doff - 20, &t)) < 0)
		return r;
	if (len - l3 - l4 >= tcplen)
		t.csum = pkt_tcp_csum(t.family, t.src, t.dst, tcp, tcplen) == 0;
	else
		t.csum = -1;
	*ret = t;
	return 0;
}

uint32_t pkt_seg_len(const struct pkt_tcp *t)
{
	return t->payload_len + !!(t->flags & PKT_SYN) + !!(t->flags & PKT_FIN);
}

/* Where the link header's protocol field is, or -1 if it has none. */
static int link_proto_off(int dlt, const uint8_t *link, size_t len)
{
	switch (dlt) {
	case PKT_DLT_EN10MB:
		if (len != 14 && len != 18 && len != 22)
			return -2;
		return (int)len - 2;
	case PKT_DLT_LINUX_SLL:
		return len == 16 ? 14 : -2;
	case PKT_DLT_LINUX_SLL2:
		return len == 20 ? 0 : -2;
	case PKT_DLT_RAW:
	case PKT_DLT_RAW_LT:
	case PKT_DLT_IPV4:
	case PKT_DLT_IPV6:
		return len == 0 ? -1 : -2;
	}
	(void)link;
	return -3;
}

ssize_t pkt_build(int dlt, const uint8_t *link, size_t link_len, const struct pkt_seg *s,
		  uint8_t *buf, size_t cap)
{
	size_t iplen = s->family == AF_INET6 ? 40 : 20, total;
	int poff = link_proto_off(dlt, link, link_len);
	uint8_t *ip, *tcp;

	if (poff == -3)
		return -EPROTONOSUPPORT;
	if (poff == -2 || (s->family != AF_INET && s->family != AF_INET6) ||
	    (dlt == PKT_DLT_IPV4 && s->family != AF_INET) || (dlt == PKT_DLT_IPV6 && s->family != AF_INET6))
		return -EINVAL;
	total = link_len + iplen + 20;
	if (cap < total)
		return -ENOSPC;
	memset(buf, 0, total);
	if (link_len)
		memcpy(buf, link, link_len);
	if (poff >= 0)
		wr16(buf + poff, s->family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IPV4);
	ip = buf + link_len;
	tcp = ip + iplen;
	if (s->family == AF_INET) {
		ip[0] = 0x45;
		wr16(ip + 2, 40);
		wr16(ip + 6, 0x4000);            /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP_;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		wr16(ip + 10, pkt_csum_fold(pkt_csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		wr16(ip + 4, 20);
		ip[6] = IPPROTO_TCP_;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
	}
	wr16(tcp, s->sport);
	wr16(tcp + 2, s->dport);
	wr32(tcp + 4, s->seq);
	wr32(tcp + 8, s->ack);
	tcp[12] = 5 << 4;
	tcp[13] = s->flags;
	wr16(tcp + 14, s->window);
	wr16(tcp + 16, pkt_tcp_csum(s->family, s->src, s->dst, tcp, 20));
	return (ssize_t)total;
}

int pkt_link_reverse(int dlt, const uint8_t *link, size_t len, uint8_t *out)
{
	int poff = link_proto_off(dlt, link, len);

	if (poff == -3 || dlt == PKT_DLT_LINUX_SLL || dlt == PKT_DLT_LINUX_SLL2)
		return -EPROTONOSUPPORT;
	if (poff == -2)
		return -EINVAL;
	if (len)
		memcpy(out, link, len);
	if (dlt == PKT_DLT_EN10MB) {
		memcpy(out, link + 6, 6);
		memcpy(out + 6, link, 6);
	}
	return 0;
}
