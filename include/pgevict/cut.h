/* SPDX-License-Identifier: MIT */
/*
 * cut.h -- cutting one TCP connection with exact-sequence RSTs, as a state
 * machine (core, no I/O).
 *
 * Owns the algorithm of FACTS.md "Cutting a TCP connection": a spoofed
 * probe toward an end (an ACK with random numbers) draws its ACK with
 * SEQ=SND.NXT, ACK=RCV.NXT; from that answer, or from any live segment of
 * the connection that comes first, a RST toward the sender with seq = its
 * ACK and toward the other end with seq = its SEQ + length.  Then verify:
 * a local end by a socket dump (the caller's, cut_mark_gone), a remote end
 * by one more probe, whose RST answer is positive proof and whose silence
 * is accepted.  Probes toward one end are spaced beyond
 * net.ipv4.tcp_invalid_ratelimit (500 ms) and bounded.
 *
 * It does not own sending, capturing or dumping: wire.c feeds it parsed
 * segments (cut_feed), asks it what to do (cut_next) and does it.
 */
#ifndef PGEVICT_CUT_H
#define PGEVICT_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgevict/packet.h"

#define CUT_RATE_US    550000     /* one probe an end per tcp_invalid_ratelimit
                                     (500 ms by default), with a margin */
#define CUT_ANSWER_US  250000     /* how long a probe's answer may take */
#define CUT_SETTLE_US    3000     /* after the RSTs, before checking */
#define CUT_MAX_PROBES      6
#define CUT_MAX_ROUNDS      8     /* rounds of RSTs */

enum cut_state { CUT_RUNNING, CUT_DONE, CUT_FAILED };

/* How an end was found gone. */
enum cut_how { CUT_HOW_NONE = 0, CUT_HOW_DUMP, CUT_HOW_RST, CUT_HOW_SILENCE };

struct cut_end {
	uint8_t addr[16];
	uint16_t port;
	bool local;                  /* its socket is in this namespace */
	bool gone;
	enum cut_how how;
	int64_t last_probe_us;       /* INT64_MIN: never */
};

enum cut_phase { CUT_P_IDLE, CUT_P_ASKED, CUT_P_SENT, CUT_P_CHECKED };

struct cut {
	int family;
	struct cut_end end[2];
	enum cut_state state;
	enum cut_phase phase;
	int asked;                   /* the end the last probe went to */
	int64_t until_us;            /* end of the current wait */
	int64_t rate_us;             /* probe spacing toward one end; cut_init
	                                sets CUT_RATE_US, the caller may set
	                                the sysctl's value plus a margin */
	int probes, rounds;
	bool learned;                /* a live segment waits to be used */
	int learned_from;
	struct pkt_tcp seen;
	uint32_t rng;
	struct pkt_seg mine[16];     /* what we sent, to know it when captured */
	unsigned nmine;
	const char *reason;          /* why it failed; static */
	bool absent;                 /* failed: there is no such connection */
};

/* A segment to send toward end TO. */
struct cut_out {
	int to;
	struct pkt_seg seg;
};

/* Start cutting FAMILY's connection A:AP <-> B:BP; *_LOCAL: that end's
 * socket is in this namespace.  SEED varies the probes' numbers. */
void cut_init(struct cut *c, int family, const uint8_t *a, uint16_t ap, bool a_local,
	      const uint8_t *b, uint16_t bp, bool b_local, uint32_t seed);

/*
 * A captured segment.  Returns the end it came from (0 or 1), or -1 when
 * it is not of this connection or is one we sent.  A RST from an end
 * proves that end gone; before any RST of ours, it says there is no such
 * connection (CUT_FAILED, c->absent).  Anything else is used for
 * the next RSTs.
 */
int cut_feed(struct cut *c, const struct pkt_tcp *t, int64_t now_us);

/*
 * What to do at NOW_US: up to 2 segments into OUT (*ret_n), *ret_check
 * when the caller must check the local ends that are not gone (and call
 * cut_mark_gone, then cut_next again at once), *ret_wake_us when to call
 * again at the latest (sooner when a segment arrives).  Returns the state;
 * CUT_FAILED sets c->reason.
 */
enum cut_state cut_next(struct cut *c, int64_t now_us, struct cut_out *out, size_t *ret_n,
			bool *ret_check, int64_t *ret_wake_us);

/* The caller's dump found local end END's socket gone (GONE) or there. */
void cut_mark_gone(struct cut *c, int end, bool gone);

const char *cut_how_name(enum cut_how h);

/*
 * Parse a connection named by its ends, "ADDR:PORT,ADDR:PORT", IPv6
 * addresses in brackets ("[fd00::1]:5432"); both ends of one family,
 * ports 1-65535.  Addresses in network order (v4 in the first 4 bytes),
 * ports in host order.  0 or -EINVAL.
 */
int cut_parse_conn(const char *text, int *ret_family, uint8_t *ret_a, uint16_t *ret_ap,
		   uint8_t *ret_b, uint16_t *ret_bp);

#endif
