/* SPDX-License-Identifier: MIT */
/*
 * wire.h -- cut a TCP connection on the wire (libpcap adapter).
 *
 * Owns the I/O around cut.h's state machine: the capture (libpcap on the
 * interface that carries the connection, immediate mode, a BPF filter on
 * the exact 4-tuple), sending (pcap_inject with a link header taken from a
 * captured frame of the connection; toward a socket of this namespace
 * through a raw IP socket that the kernel routes to itself; toward a
 * remote end with no frame yet through the raw IP socket too, so that the
 * kernel routes it and resolves the neighbour), and checking local ends
 * with a sock_diag dump.  Works in the caller's network namespace: enter
 * the backend's first (netns.h).  Needs CAP_NET_RAW.
 */
#ifndef PGEVICT_WIRE_H
#define PGEVICT_WIRE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "pgevict/cut.h"

struct wire_result {
	bool cut;                    /* both ends gone, each verified */
	bool local[2];               /* the end's socket is in this namespace */
	enum cut_how how[2];         /* how each end was found gone */
	int probes, rounds;
	long long elapsed_ms;        /* start to verified (before cleanup) */
	char iface[IF_NAMESIZE];     /* where it captured */
	char reason[240];            /* why not cut, or why it could not start */
};

/*
 * Cut the TCP connection A:AP <-> B:BP of FAMILY (addresses in network
 * order, v4 in the first 4 bytes, v4-mapped IPv6 taken as IPv4; ports in
 * host order).  IFACE: where to capture, NULL to follow the route to the
 * first end that is not local (lo when both are).  TIMEOUT_MS bounds the
 * whole.  0 when it ran (ret->cut says whether the connection is gone,
 * ret->reason why not); -ENOENT when there is no such connection (a probe
 * toward an end drew a RST from its kernel); -ENODEV when IFACE names no
 * interface of this namespace;
 * -errno when it could not start (ret->reason says what failed).
 */
int wire_cut(int family, const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp,
	     const char *iface, long long timeout_ms, struct wire_result *ret);

#endif
