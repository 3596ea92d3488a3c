/* SPDX-License-Identifier: MIT */
/*
 * test_cut.c -- unit tests for cut.h, the RST state machine, fed by hand
 * with parsed segments and a clock (no I/O).
 *
 * Covers: probe toward the local end first, the two RSTs' numbers from
 * the answer (toward the answering end its ACK, toward the other its SEQ
 * plus length), live traffic used before any probe, our own segments
 * ignored when captured, other connections ignored, verification by dump
 * (local) and by a RST answer or silence (remote), the retry spacing of
 * tcp_invalid_ratelimit, the bound on probes, and both ends local.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "pgevict/cut.h"

static uint8_t srv[16], cli[16], other[16];

static void init_addrs(void)
{
	inet_pton(AF_INET, "10.9.0.1", srv);
	inet_pton(AF_INET, "10.9.0.2", cli);
	inet_pton(AF_INET, "10.9.0.3", other);
}

/* A segment from end FROM (0 server, 1 client) of the test connection. */
static struct pkt_tcp seg(int from, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
	struct pkt_tcp t;

	memset(&t, 0, sizeof(t));
	t.family = AF_INET;
	memcpy(t.src, from ? cli : srv, 16);
	memcpy(t.dst, from ? srv : cli, 16);
	t.sport = from ? 40000 : 5432;
	t.dport = from ? 5432 : 40000;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.payload_len = len;
	return t;
}

/* The segment OUT as it would be captured. */
static struct pkt_tcp as_captured(const struct cut_out *o)
{
	struct pkt_tcp t;

	memset(&t, 0, sizeof(t));
	t.family = o->seg.family;
	memcpy(t.src, o->seg.src, 16);
	memcpy(t.dst, o->seg.dst, 16);
	t.sport = o->seg.sport;
	t.dport = o->seg.dport;
	t.seq = o->seg.seq;
	t.ack = o->seg.ack;
	t.flags = o->seg.flags;
	return t;
}

static void start(struct cut *c, bool srv_local, bool cli_local)
{
	init_addrs();
	cut_init(c, AF_INET, srv, 5432, srv_local, cli, 40000, cli_local, 12345);
}

struct step {
	struct cut_out out[2];
	size_t n;
	bool check;
	int64_t wake;
	enum cut_state st;
};

static struct step next(struct cut *c, int64_t now)
{
	struct step s;

	memset(&s, 0, sizeof(s));
	s.st = cut_next(c, now, s.out, &s.n, &s.check, &s.wake);
	return s;
}

/* The whole cut of an idle session seen from the server's host. */
static void test_idle_local_server(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;
	int64_t now = 1000000;

	(void)state;
	start(&c, true, false);
	s = next(&c, now);
	assert_int_equal(s.st, CUT_RUNNING);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.out[0].to, 0);                /* the local end first */
	assert_int_equal(s.out[0].seg.flags, PKT_ACK);
	assert_int_equal(s.out[0].seg.sport, 40000);     /* spoofed from the client */
	assert_int_equal(s.wake, now + CUT_ANSWER_US);
	/* our probe, captured, is not an answer */
	t = as_captured(&s.out[0]);
	assert_int_equal(cut_feed(&c, &t, now), -1);
	s = next(&c, now + 10);
	assert_int_equal(s.n, 0);
	/* the server answers with SND.NXT=1000, RCV.NXT=7000 */
	t = seg(0, PKT_ACK, 1000, 7000, 0);
	assert_int_equal(cut_feed(&c, &t, now + 100), 0);
	s = next(&c, now + 100);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.out[0].to, 0);
	assert_int_equal(s.out[0].seg.flags, PKT_RST);
	assert_int_equal(s.out[0].seg.seq, 7000);
	assert_int_equal(s.out[0].seg.sport, 40000);
	assert_int_equal(s.out[1].to, 1);
	assert_int_equal(s.out[1].seg.seq, 1000);
	assert_int_equal(s.out[1].seg.sport, 5432);
	assert_int_equal(s.wake, now + 100 + CUT_SETTLE_US);
	/* settle, then the caller checks the local end */
	s = next(&c, now + 100 + CUT_SETTLE_US);
	assert_true(s.check);
	assert_int_equal(s.n, 0);
	cut_mark_gone(&c, 0, true);
	/* then a probe toward the client proves it gone by its RST */
	s = next(&c, now + 100 + CUT_SETTLE_US);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.out[0].to, 1);
	assert_int_equal(s.out[0].seg.flags, PKT_ACK);
	t = seg(1, PKT_RST, s.out[0].seg.ack, 0, 0);
	assert_int_equal(cut_feed(&c, &t, now + 5000), 1);
	s = next(&c, now + 5000);
	assert_int_equal(s.st, CUT_DONE);
	assert_int_equal(c.end[0].how, CUT_HOW_DUMP);
	assert_int_equal(c.end[1].how, CUT_HOW_RST);
	assert_int_equal(c.probes, 2);
	assert_int_equal(c.rounds, 1);
}

/* Live traffic before any probe: used at once.  A data segment's
 * length and a FIN count in the RST toward the other end. */
static void test_live_traffic(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;

	(void)state;
	start(&c, true, false);
	t = seg(0, PKT_ACK | PKT_PSH | PKT_FIN, 500, 900, 100);
	assert_int_equal(cut_feed(&c, &t, 0), 0);
	s = next(&c, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(c.probes, 0);
	assert_int_equal(s.out[0].seg.seq, 900);
	assert_int_equal(s.out[1].seg.seq, 500 + 100 + 1);
	/* from the client this time: toward it its ACK */
	start(&c, true, false);
	t = seg(1, PKT_ACK, 900, 600, 0);
	assert_int_equal(cut_feed(&c, &t, 0), 1);
	s = next(&c, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.out[0].to, 1);
	assert_int_equal(s.out[0].seg.seq, 600);
	assert_int_equal(s.out[1].to, 0);
	assert_int_equal(s.out[1].seg.seq, 900);
}

static void test_other_connections_ignored(void **state)
{
	struct cut c;
	struct pkt_tcp t;

	(void)state;
	start(&c, true, false);
	t = seg(0, PKT_ACK, 1, 2, 0);
	t.dport = 40001;                       /* another client port */
	assert_int_equal(cut_feed(&c, &t, 0), -1);
	t = seg(1, PKT_RST, 1, 2, 0);
	memcpy(t.src, other, 16);              /* another host */
	assert_int_equal(cut_feed(&c, &t, 0), -1);
	t = seg(0, PKT_ACK, 1, 2, 0);
	t.family = AF_INET6;
	assert_int_equal(cut_feed(&c, &t, 0), -1);
	assert_false(c.learned);
	assert_false(c.end[0].gone || c.end[1].gone);
}

/* No answer at all: probes spaced by the rate limit, then a failure. */
static void test_no_answer_bounded(void **state)
{
	struct cut c;
	struct step s;
	int64_t now = 0, last[2] = { INT64_MIN, INT64_MIN };
	int sent = 0, guard;

	(void)state;
	start(&c, true, false);
	for (guard = 0; guard < 1000; guard++) {
		s = next(&c, now);
		if (s.st != CUT_RUNNING)
			break;
		if (s.n) {
			int to = s.out[0].to;
			assert_int_equal(s.n, 1);
			assert_int_equal(s.out[0].seg.flags, PKT_ACK);
			if (last[to] != INT64_MIN)
				assert_true(now - last[to] >= CUT_RATE_US);
			last[to] = now;
			sent++;
		}
		assert_true(s.wake > now);
		now = s.wake;
	}
	assert_int_equal(s.st, CUT_FAILED);
	assert_int_equal(sent, CUT_MAX_PROBES);
	assert_non_null(c.reason);
	assert_false(c.end[1].gone);           /* silence before RSTs proves nothing */
}

/* After the RSTs the remote end stays silent: taken as gone. */
static void test_remote_silence(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;
	int64_t now = 0;

	(void)state;
	start(&c, true, false);
	t = seg(0, PKT_ACK, 1, 2, 0);
	cut_feed(&c, &t, now);
	s = next(&c, now);
	assert_int_equal(s.n, 2);
	s = next(&c, now + CUT_SETTLE_US);
	assert_true(s.check);
	cut_mark_gone(&c, 0, true);
	s = next(&c, now + CUT_SETTLE_US);
	assert_int_equal(s.n, 1);
	s = next(&c, s.wake);
	assert_int_equal(s.st, CUT_DONE);
	assert_int_equal(c.end[1].how, CUT_HOW_SILENCE);
}

/* The local socket survived the RSTs: probe again, no sooner than the
 * rate limit allows, and use the new answer. */
static void test_local_survives_retry(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;
	int64_t now = 0;

	(void)state;
	start(&c, true, false);
	s = next(&c, now);
	assert_int_equal(s.out[0].to, 0);
	t = seg(0, PKT_ACK, 1, 2, 0);
	cut_feed(&c, &t, now + 50);
	s = next(&c, now + 50);
	assert_int_equal(s.n, 2);
	s = next(&c, now + 50 + CUT_SETTLE_US);
	assert_true(s.check);
	cut_mark_gone(&c, 0, false);
	s = next(&c, now + 50 + CUT_SETTLE_US);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.wake, now + CUT_RATE_US);
	s = next(&c, now + CUT_RATE_US);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.out[0].to, 0);
	t = seg(0, PKT_ACK, 11, 22, 0);
	cut_feed(&c, &t, now + CUT_RATE_US + 10);
	s = next(&c, now + CUT_RATE_US + 10);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.out[0].seg.seq, 22);
	assert_int_equal(s.out[1].seg.seq, 11);
	assert_int_equal(c.rounds, 2);
}

/* Loopback: both ends local, both verified by the dump. */
static void test_both_local(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;

	(void)state;
	start(&c, true, true);
	s = next(&c, 0);
	assert_int_equal(s.n, 1);
	t = seg(s.out[0].to, PKT_ACK, 5, 6, 0);
	cut_feed(&c, &t, 1);
	s = next(&c, 1);
	assert_int_equal(s.n, 2);
	s = next(&c, 1 + CUT_SETTLE_US);
	assert_true(s.check);
	cut_mark_gone(&c, 0, true);
	cut_mark_gone(&c, 1, true);
	s = next(&c, 1 + CUT_SETTLE_US);
	assert_int_equal(s.st, CUT_DONE);
	assert_int_equal(c.end[0].how, CUT_HOW_DUMP);
	assert_int_equal(c.end[1].how, CUT_HOW_DUMP);
}

/* Neither end local (a router): the probe goes to end 0; a RST from
 * an end is proof for that end only. */
static void test_both_remote(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;

	(void)state;
	start(&c, false, false);
	s = next(&c, 0);
	assert_int_equal(s.n, 1);
	t = seg(s.out[0].to, PKT_ACK, 5, 6, 0);
	cut_feed(&c, &t, 1);
	s = next(&c, 1);
	assert_int_equal(s.n, 2);
	s = next(&c, 1 + CUT_SETTLE_US);
	assert_false(s.check);
	assert_int_equal(s.n, 1);              /* verification probe */
	t = seg(s.out[0].to, PKT_RST, s.out[0].seg.ack, 0, 0);   /* its kernel: seq = our ACK */
	cut_feed(&c, &t, 2 + CUT_SETTLE_US);
	assert_true(c.end[s.out[0].to].gone);
	assert_false(c.end[!s.out[0].to].gone);
	s = next(&c, 2 + CUT_SETTLE_US);
	assert_int_equal(s.st, CUT_RUNNING);
}

/* A remote end that answers the first probe with a RST has no such
 * connection: that is a failure, not a cut. */
static void test_no_such_connection(void **state)
{
	struct cut c;
	struct step s;
	struct pkt_tcp t;

	(void)state;
	start(&c, false, false);
	s = next(&c, 0);
	assert_int_equal(s.n, 1);
	t = seg(s.out[0].to, PKT_RST, s.out[0].seg.ack, 0, 0);
	assert_int_equal(cut_feed(&c, &t, 1), s.out[0].to);
	s = next(&c, 1);
	assert_int_equal(s.st, CUT_FAILED);
	assert_non_null(strstr(c.reason, "no such connection"));
	assert_int_equal(c.rounds, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_local_server),
		cmocka_unit_test(test_live_traffic),
		cmocka_unit_test(test_other_connections_ignored),
		cmocka_unit_test(test_no_answer_bounded),
		cmocka_unit_test(test_remote_silence),
		cmocka_unit_test(test_local_survives_retry),
		cmocka_unit_test(test_both_local),
		cmocka_unit_test(test_both_remote),
		cmocka_unit_test(test_no_such_connection),
	};

	return cmocka_run_group_tests_name("cut", tests, NULL, NULL);
}
