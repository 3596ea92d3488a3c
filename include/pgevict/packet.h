/* SPDX-License-Identifier: MIT */
/*
 * packet.h -- TCP segments as bytes: parse a captured frame, build one to
 * inject (core, no I/O, no pcap.h).
 *
 * Owns the link layers pgevict meets on Linux (Ethernet, loopback
 * included, with up to two VLAN tags; LINUX_SLL; LINUX_SLL2; raw IP),
 * IPv4 (options, fragments refused) and IPv6 (hop-by-hop, routing,
 * destination options and AH headers skipped; fragments refused), the
 * TCP header and its options, and the Internet checksum with its IPv4
 * and IPv6 pseudo-headers.  Link types are pcap's DLT numbers, written
 * here so that core code does not include pcap.h.  It does not own
 * capturing or sending: that is wire.c.
 */
#ifndef PGEVICT_PACKET_H
#define PGEVICT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pcap's DLT_ numbers (Linux values). */
#define PKT_DLT_EN10MB      1
#define PKT_DLT_RAW         12
#define PKT_DLT_RAW_LT      101     /* LINKTYPE_RAW, as in pcap files */
#define PKT_DLT_LINUX_SLL   113
#define PKT_DLT_IPV4        228
#define PKT_DLT_IPV6        229
#define PKT_DLT_LINUX_SLL2  276

#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

/* The longest link header pgevict copies (Ethernet with two VLAN tags). */
#define PKT_LINK_MAX 22

/* One TCP segment, as parsed.  Addresses in network order, v4 in the
 * first 4 bytes; numbers in host order. */
struct pkt_tcp {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;               /* PKT_SYN | PKT_ACK ... */
	uint16_t window;
	uint32_t payload_len;        /* from the IP length, not what was captured */
	size_t link_len;             /* the link header: the frame's first bytes */
	bool has_ts;                 /* a TCP timestamp option */
	uint32_t ts_val, ts_ecr;
	uint16_t mss;                /* 0 if no MSS option */
	int csum;                    /* 1 TCP checksum right, 0 wrong, -1 not
	                                checkable (frame cut short) */
};

/*
 * Parse the frame P (LEN captured bytes) of link type DLT.  0; -EINVAL
 * for a malformed or truncated frame (the TCP header must be complete);
 * -EPROTONOSUPPORT for a link type, network protocol or transport other
 * than Ethernet/SLL/SLL2/raw, IPv4/IPv6 and TCP, or an IP fragment.
 */
int pkt_parse(int dlt, const uint8_t *p, size_t len, struct pkt_tcp *ret);

/* The sequence space a segment takes: payload, plus one for SYN and FIN. */
uint32_t pkt_seg_len(const struct pkt_tcp *t);

/* A segment to build.  Addresses as in struct pkt_tcp. */
struct pkt_seg {
	int family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
};

/*
 * Build SEG into BUF (CAP bytes): the link header LINK (LINK_LEN bytes,
 * copied from a captured frame of the same direction, see
 * pkt_link_reverse; its protocol field is set for SEG's family), then an
 * IPv4 or IPv6 header and a 20-byte TCP header, checksums filled.
 * Returns the frame's length, -EINVAL (bad family or link header for
 * DLT), -EPROTONOSUPPORT (link type), or -ENOSPC.
 */
ssize_t pkt_build(int dlt, const uint8_t *link, size_t link_len, const struct pkt_seg *seg,
		  uint8_t *buf, size_t cap);

/*
 * The link header of the other direction, from LINK (LEN bytes) of a
 * captured frame: Ethernet swaps the two MAC addresses, keeping VLAN
 * tags; raw IP has none.  LINUX_SLL and SLL2 are capture-only headers
 * and cannot be sent: -EPROTONOSUPPORT.  0 or -errno; OUT holds LEN bytes.
 */
int pkt_link_reverse(int dlt, const uint8_t *link, size_t len, uint8_t *out);

/* The Internet checksum (RFC 1071) of LEN bytes, continuing SUM (0 to
 * start); fold with pkt_csum_fold. */
uint32_t pkt_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);

/* The TCP checksum of SEGMENT (LEN bytes, header and payload, checksum
 * field as it is) under FAMILY's pseudo-header; 0 when SEGMENT carries a
 * right checksum. */
uint16_t pkt_tcp_csum(int family, const uint8_t *src, const uint8_t *dst, const uint8_t *segment,
		      size_t len);

#endif
