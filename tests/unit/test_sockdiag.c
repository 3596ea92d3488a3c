/* SPDX-License-Identifier: MIT */
/*
 * test_sockdiag.c -- unit tests for the byte-level parts of sockdiag.h:
 * sockdiag_port_filter (inet_diag bytecode) and sockdiag_decode_inet.
 *
 * The bytecode is checked three ways: its exact layout against the
 * <linux/inet_diag.h> structs (each S_COND: yes = 12, no = 16 so that a
 * miss skips the JMP after it; each JMP: yes = 4, no landing exactly at
 * the end of the program, which the kernel reads as "accept"; the last
 * S_COND's no 4 bytes past the end, "reject"), the kernel's own audit
 * (inet_diag_bc_audit, valid_cc, valid_hostcond: net/ipv4/inet_diag.c)
 * and a small interpreter that mimics inet_diag_bc_run for S_COND and JMP
 * so that every listed port is accepted and every other port refused.
 * Decoding: a hand-built struct inet_diag_msg, v4 and v6, ports from
 * network to host order, cookie, inode, uid; short buffers and unknown
 * families give -EINVAL.  No netlink socket is opened.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>

#include <cmocka.h>

#include "pgevict/sockdiag.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define OP_LEN ((int)sizeof(struct inet_diag_bc_op))
#define COND_LEN ((int)(sizeof(struct inet_diag_bc_op) + sizeof(struct inet_diag_hostcond)))

static struct inet_diag_bc_op op_at(const uint8_t *bc, int off)
{
	struct inet_diag_bc_op op;

	memcpy(&op, bc + off, sizeof(op));
	return op;
}

/* (By pointer: the struct ends in a zero-length array.) */
static void cond_at(const uint8_t *bc, int off, struct inet_diag_hostcond *hc)
{
	memcpy(hc, bc + off + OP_LEN, sizeof(*hc));
}

/* The kernel's valid_cc(): is CC bytes before the end an op boundary? */
static bool k_valid_cc(const uint8_t *bc, int len, int cc)
{
	while (len >= 0) {
		struct inet_diag_bc_op op;
		if (cc > len)
			return false;
		if (cc == len)
			return true;
		op = op_at(bc, 0);
		if (op.yes < 4 || op.yes & 3)
			return false;
		len -= op.yes;
		bc += op.yes;
	}
	return false;
}

/* The kernel's inet_diag_bc_audit() for the ops we use: 0 or -EINVAL. */
static int k_audit(const uint8_t *bytecode, int bc_len)
{
	const uint8_t *bc = bytecode;
	int len = bc_len;

	while (len > 0) {
		int min_len = OP_LEN;
		struct inet_diag_bc_op op;
		if (len < OP_LEN)
			return -EINVAL;
		op = op_at(bc, 0);
		switch (op.code) {
		case INET_DIAG_BC_S_COND:
		case INET_DIAG_BC_D_COND: {
			struct inet_diag_hostcond hc;
			int addr_len;
			min_len += (int)sizeof(struct inet_diag_hostcond);
			if (len < min_len)
				return -EINVAL;
			cond_at(bc, 0, &hc);
			if (hc.family == AF_UNSPEC)
				addr_len = 0;
			else if (hc.family == AF_INET)
				addr_len = 4;
			else if (hc.family == AF_INET6)
				addr_len = 16;
			else
				return -EINVAL;
			min_len += addr_len;
			if (len < min_len || hc.prefix_len > 8 * addr_len)
				return -EINVAL;
			break;
		}
		case INET_DIAG_BC_JMP:
		case INET_DIAG_BC_NOP:
			break;
		default:
			return -EINVAL;   /* not used by a port filter */
		}
		if (op.code != INET_DIAG_BC_NOP) {
			if (op.no < min_len || op.no > len + 4 || op.no & 3)
				return -EINVAL;
			if (op.no < len && !k_valid_cc(bytecode, bc_len, len - op.no))
				return -EINVAL;
		}
		if (op.yes < min_len || op.yes > len + 4 || op.yes & 3)
			return -EINVAL;
		bc += op.yes;
		len -= op.yes;
	}
	return len == 0 ? 0 : -EINVAL;
}

/* The kernel's inet_diag_bc_run() for a socket with local port SPORT
 * (family AF_INET, any address): true = the socket is dumped. */
static bool k_run(const uint8_t *bc, int len, int sport)
{
	while (len > 0) {
		struct inet_diag_bc_op op = op_at(bc, 0);
		bool yes = true;

		switch (op.code) {
		case INET_DIAG_BC_NOP:
			break;
		case INET_DIAG_BC_JMP:
			yes = false;
			break;
		case INET_DIAG_BC_S_COND: {
			struct inet_diag_hostcond hc;
			cond_at(bc, 0, &hc);
			if (hc.port != -1 && hc.port != sport) {
				yes = false;
				break;
			}
			/* a port filter carries no address */
			assert_int_equal(hc.family, AF_UNSPEC);
			assert_int_equal(hc.prefix_len, 0);
			break;
		}
		default:
			fail_msg("unexpected op code %d", op.code);
		}
		if (yes) {
			len -= op.yes;
			bc += op.yes;
		} else {
			len -= op.no;
			bc += op.no;
		}
	}
	return len == 0;
}

/* Print only the first few mismatches of a long program. */
#define REPORT(...)                                                                                \
	do {                                                                                       \
		if (bad++ < 3)                                                                     \
			print_error(__VA_ARGS__);                                                  \
	} while (0)

/* Check the exact layout of the filter for PORTS. */
static int check_layout(const int *ports, size_t n, const uint8_t *bc, size_t total)
{
	int bad = 0, off = 0, end = (int)total;
	size_t i;

	if ((int)total != (int)n * COND_LEN + ((int)n - 1) * OP_LEN) {
		print_error("%zu ports: %zu bytes, want %d\n", n, total,
			    (int)n * COND_LEN + ((int)n - 1) * OP_LEN);
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct inet_diag_bc_op op = op_at(bc, off);
		struct inet_diag_hostcond hc;

		cond_at(bc, off, &hc);
		if (op.code != INET_DIAG_BC_S_COND || op.yes != 12 || op.no != 16)
			REPORT("%zu ports: cond %zu at %d: code %d yes %d no %d, want %d 12 16\n", n,
			       i, off, op.code, op.yes, op.no, INET_DIAG_BC_S_COND);
		if (hc.family != AF_UNSPEC || hc.prefix_len != 0 || hc.port != ports[i])
			REPORT("%zu ports: cond %zu: family %d prefix %d port %d, want 0 0 %d\n", n, i,
			       hc.family, hc.prefix_len, hc.port, ports[i]);
		off += COND_LEN;
		if (i + 1 < n) {
			struct inet_diag_bc_op j = op_at(bc, off);
			if (j.code != INET_DIAG_BC_JMP || j.yes != 4 || off + j.no != end)
				REPORT("%zu ports: jmp after cond %zu at %d: code %d yes %d no %d "
				       "(lands at %d), want %d 4 %d (lands at the end, %d)\n",
				       n, i, off, j.code, j.yes, j.no, off + j.no, INET_DIAG_BC_JMP,
				       end - off, end);
			off += OP_LEN;
		} else if (off - COND_LEN + op.no != end + 4) {
			REPORT("%zu ports: last cond's no lands at %d, want %d\n", n,
			       off - COND_LEN + op.no, end + 4);
		}
	}
	if (bad > 3)
		print_error("%zu ports: ... %d mismatches in all\n", n, bad);
	return bad;
}

static const int port_sets[][3] = {
	{ 5432 },
	{ 5432, 5433 },
	{ 5432, 5433, 6432 },
};

static void test_port_filter_layout(void **state)
{
	size_t n, i;
	int bad = 0;

	(void)state;
	assert_int_equal(COND_LEN, 12);
	assert_int_equal(OP_LEN, 4);
	for (n = 1; n <= 3; n++) {
		uint8_t bc[256];
		size_t total;
		memset(bc, 0xaa, sizeof(bc));
		total = sockdiag_port_filter(port_sets[n - 1], n, bc, sizeof(bc));
		bad += check_layout(port_sets[n - 1], n, bc, total);
		for (i = total; i < sizeof(bc); i++)
			if (bc[i] != 0xaa)
				fail_msg("%zu ports: byte %zu past the program was written", n, i);
	}
	if (bad)
		fail_msg("%d layout mismatch(es)", bad);
}

static void test_port_filter_kernel_audit(void **state)
{
	size_t n;

	(void)state;
	for (n = 1; n <= 3; n++) {
		uint8_t bc[256];
		size_t total = sockdiag_port_filter(port_sets[n - 1], n, bc, sizeof(bc));
		assert_true(total > 0);
		if (k_audit(bc, (int)total) != 0)
			fail_msg("%zu ports: the kernel's audit would refuse the bytecode", n);
	}
}

/*
 * BUG (see the layout test): each JMP's "no" lands 4 bytes past the end
 * instead of exactly at it, so a socket on any port but the last is
 * rejected.  discover.c passes every cluster's port in a namespace: with
 * two clusters only the last one's sessions get a socket.
 */
static void test_port_filter_semantics(void **state)
{
	static const int probe[] = { 0, 1, 22, 5431, 5432, 5433, 5434, 6432, 65535 };
	size_t n, i, k;
	int bad = 0;

	(void)state;
	for (n = 1; n <= 3; n++) {
		uint8_t bc[256];
		size_t total = sockdiag_port_filter(port_sets[n - 1], n, bc, sizeof(bc));
		assert_true(total > 0);
		for (i = 0; i < ARRAY_SIZE(probe); i++) {
			bool listed = false, got;
			for (k = 0; k < n; k++)
				listed |= port_sets[n - 1][k] == probe[i];
			got = k_run(bc, (int)total, probe[i]);
			if (got != listed) {
				print_error("%zu ports: sport %d %s, want %s\n", n, probe[i],
					    got ? "accepted" : "rejected",
					    listed ? "accepted" : "rejected");
				bad++;
			}
		}
	}
	if (bad)
		fail_msg("%d port(s) judged wrongly", bad);
}

/* Many ports: still exact, still accepted by the audit. */
static void test_port_filter_many(void **state)
{
	int ports[200];
	uint8_t *bc;
	size_t n = ARRAY_SIZE(ports), total, i;
	int bad;

	(void)state;
	for (i = 0; i < n; i++)
		ports[i] = 5000 + (int)i * 3;
	bc = malloc(4096);
	assert_non_null(bc);
	total = sockdiag_port_filter(ports, n, bc, 4096);
	assert_int_equal(total, n * 12 + (n - 1) * 4);
	bad = check_layout(ports, n, bc, total);
	if (!bad) {
		assert_int_equal(k_audit(bc, (int)total), 0);
		assert_true(k_run(bc, (int)total, 5000 + 199 * 3));
		assert_false(k_run(bc, (int)total, 5001));
	}
	/* one byte short of the program: refused, nothing written past LEN */
	memset(bc, 0xaa, 4096);
	assert_int_equal(sockdiag_port_filter(ports, n, bc, total - 1), 0);
	free(bc);
	if (bad)
		fail_msg("%d layout mismatch(es) with %zu ports", bad, n);
}

static void test_port_filter_edges(void **state)
{
	static const int p3[] = { 5432, 5433, 5434 };
	uint8_t bc[64];

	(void)state;
	assert_int_equal(sockdiag_port_filter(p3, 0, bc, sizeof(bc)), 0);
	assert_int_equal(sockdiag_port_filter(NULL, 0, bc, sizeof(bc)), 0);
	assert_int_equal(sockdiag_port_filter(p3, 1, bc, 11), 0);
	assert_int_equal(sockdiag_port_filter(p3, 1, bc, 0), 0);
	assert_int_equal(sockdiag_port_filter(p3, 1, bc, 12), 12);
	assert_int_equal(sockdiag_port_filter(p3, 2, bc, 27), 0);
	assert_int_equal(sockdiag_port_filter(p3, 2, bc, 28), 28);
	assert_int_equal(sockdiag_port_filter(p3, 3, bc, 43), 0);
	assert_int_equal(sockdiag_port_filter(p3, 3, bc, 44), 44);
}

/* ---- sockdiag_decode_inet ---- */

static void fill_msg(struct inet_diag_msg *m, int family)
{
	memset(m, 0, sizeof(*m));
	m->idiag_family = (uint8_t)family;
	m->idiag_state = TCP_ESTABLISHED;
	m->idiag_uid = 116;
	m->idiag_inode = 4026532000u;
	m->id.idiag_sport = htons(5432);
	m->id.idiag_dport = htons(52402);
	m->id.idiag_cookie[0] = 0x11223344;
	m->id.idiag_cookie[1] = 0x55667788;
	if (family == AF_INET) {
		inet_pton(AF_INET, "127.0.0.1", m->id.idiag_src);
		inet_pton(AF_INET, "10.1.2.3", m->id.idiag_dst);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", m->id.idiag_src);
		inet_pton(AF_INET6, "2001:db8::beef", m->id.idiag_dst);
	}
}

static void test_decode_v4(void **state)
{
	struct inet_diag_msg m;
	struct sockdiag_inet e;
	uint8_t want[4];
	uint8_t zero[12] = { 0 };
	uint8_t *buf;

	(void)state;
	fill_msg(&m, AF_INET);
	/* exact-size heap copy so that ASan sees any over-read */
	buf = malloc(sizeof(m));
	assert_non_null(buf);
	memcpy(buf, &m, sizeof(m));
	memset(&e, 0xee, sizeof(e));
	assert_int_equal(sockdiag_decode_inet(buf, sizeof(m), &e), 0);
	free(buf);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.state, TCP_ESTABLISHED);
	assert_int_equal(e.inode, 4026532000ul);
	assert_int_equal(e.uid, 116);
	assert_int_equal(e.sport, 5432);
	assert_int_equal(e.dport, 52402);
	assert_int_equal(e.cookie[0], 0x11223344);
	assert_int_equal(e.cookie[1], 0x55667788);
	inet_pton(AF_INET, "127.0.0.1", want);
	assert_memory_equal(e.src, want, 4);
	inet_pton(AF_INET, "10.1.2.3", want);
	assert_memory_equal(e.dst, want, 4);
	/* the rest of a v4 address is zero, not left over */
	assert_memory_equal(e.src + 4, zero, 12);
	assert_memory_equal(e.dst + 4, zero, 12);
}

static void test_decode_v6(void **state)
{
	struct inet_diag_msg m;
	struct sockdiag_inet e;
	uint8_t want[16];

	(void)state;
	fill_msg(&m, AF_INET6);
	m.idiag_state = TCP_CLOSE_WAIT;
	m.id.idiag_sport = htons(6432);
	m.id.idiag_dport = htons(1);
	assert_int_equal(sockdiag_decode_inet(&m, sizeof(m), &e), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.state, TCP_CLOSE_WAIT);
	assert_int_equal(e.sport, 6432);
	assert_int_equal(e.dport, 1);
	inet_pton(AF_INET6, "2001:db8::1", want);
	assert_memory_equal(e.src, want, 16);
	inet_pton(AF_INET6, "2001:db8::beef", want);
	assert_memory_equal(e.dst, want, 16);
	assert_int_equal(e.cookie[0], 0x11223344);
	assert_int_equal(e.cookie[1], 0x55667788);
}

/* A message with trailing attributes (as the kernel sends) decodes the same. */
static void test_decode_longer(void **state)
{
	uint8_t buf[sizeof(struct inet_diag_msg) + 64];
	struct inet_diag_msg m;
	struct sockdiag_inet e;

	(void)state;
	fill_msg(&m, AF_INET);
	memset(buf, 0x5a, sizeof(buf));
	memcpy(buf, &m, sizeof(m));
	assert_int_equal(sockdiag_decode_inet(buf, sizeof(buf), &e), 0);
	assert_int_equal(e.sport, 5432);
	assert_int_equal(e.inode, 4026532000ul);
}

static void test_decode_bad(void **state)
{
	struct inet_diag_msg m;
	struct sockdiag_inet e;
	size_t len;

	(void)state;
	fill_msg(&m, AF_INET);
	for (len = 0; len < sizeof(m); len++) {
		uint8_t *buf = malloc(len ? len : 1);
		assert_non_null(buf);
		memcpy(buf, &m, len);
		assert_int_equal(sockdiag_decode_inet(buf, len, &e), -EINVAL);
		free(buf);
	}
	m.idiag_family = AF_UNIX;
	assert_int_equal(sockdiag_decode_inet(&m, sizeof(m), &e), -EINVAL);
	m.idiag_family = 0;
	assert_int_equal(sockdiag_decode_inet(&m, sizeof(m), &e), -EINVAL);
	m.idiag_family = 255;
	assert_int_equal(sockdiag_decode_inet(&m, sizeof(m), &e), -EINVAL);
}

/* ---- the in-memory table (no netlink) ---- */

static void test_table_find(void **state)
{
	struct sockdiag_table t = { 0 };
	size_t i;
	static const unsigned long inodes[] = { 900, 17, 4026532000ul, 300, 18 };

	(void)state;
	t.inet = calloc(ARRAY_SIZE(inodes), sizeof(*t.inet));
	t.unx = calloc(ARRAY_SIZE(inodes), sizeof(*t.unx));
	assert_non_null(t.inet);
	assert_non_null(t.unx);
	for (i = 0; i < ARRAY_SIZE(inodes); i++) {
		t.inet[i].inode = inodes[i];
		t.inet[i].sport = (uint16_t)i;
		t.unx[i].inode = inodes[i] + 1;
		t.unx[i].name = strdup("/var/run/postgresql/.s.PGSQL.5432");
	}
	t.ninet = t.nunix = ARRAY_SIZE(inodes);
	sockdiag_table_sort(&t);
	for (i = 0; i < ARRAY_SIZE(inodes); i++) {
		const struct sockdiag_inet *e = sockdiag_find_inet(&t, inodes[i]);
		const struct sockdiag_unix *u = sockdiag_find_unix(&t, inodes[i] + 1);
		assert_non_null(e);
		assert_int_equal(e->sport, i);
		assert_non_null(u);
	}
	assert_null(sockdiag_find_inet(&t, 0));
	assert_null(sockdiag_find_inet(&t, 1));
	assert_null(sockdiag_find_unix(&t, 0));
	assert_null(sockdiag_find_unix(&t, 17));
	sockdiag_table_clear(&t);
	assert_int_equal(t.ninet, 0);
	assert_null(sockdiag_find_inet(&t, 17));
	sockdiag_table_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_filter_layout),
		cmocka_unit_test(test_port_filter_kernel_audit),
		cmocka_unit_test(test_port_filter_semantics),
		cmocka_unit_test(test_port_filter_many),
		cmocka_unit_test(test_port_filter_edges),
		cmocka_unit_test(test_decode_v4),
		cmocka_unit_test(test_decode_v6),
		cmocka_unit_test(test_decode_longer),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_table_find),
	};

	return cmocka_run_group_tests_name("sockdiag", tests, NULL, NULL);
}
