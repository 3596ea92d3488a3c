/* SPDX-License-Identifier: MIT */
/*
 * socktab.c -- sock_diag's tables, filter and messages as data (core; see
 * socktab.h; the netlink side is sockdiag.c): no socket, no I/O, so that
 * the join (join.c) and the tests use them without netlink.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>

#include "pgevict/socktab.h"

void sockdiag_table_clear(struct sockdiag_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nunix; i++)
		free(t->unx[i].name);
	free(t->inet);
	free(t->unx);
	memset(t, 0, sizeof(*t));
}

size_t sockdiag_port_filter(const int *ports, size_t n, uint8_t *buf, size_t len)
{
	/* One S_COND per port, OR'ed the way iproute2's ss does it:
	 *   COND(yes: next, no: skip COND+JMP)  JMP(always: to the end)  COND ...
	 * The last COND's "no" runs past the end: reject. */
	const size_t cond = sizeof(struct inet_diag_bc_op) + sizeof(struct inet_diag_hostcond);
	const size_t jmp = sizeof(struct inet_diag_bc_op);
	size_t total, off = 0, i;

	if (!n)
		return 0;
	total = n * cond + (n - 1) * jmp;
	if (total > len || total > 0xffff)
		return 0;
	memset(buf, 0, total);
	for (i = 0; i < n; i++) {
		struct inet_diag_bc_op op = { .code = INET_DIAG_BC_S_COND };
		struct inet_diag_hostcond hc = { .family = AF_UNSPEC, .prefix_len = 0, .port = ports[i] };

		op.yes = (unsigned char)cond;
		op.no = (unsigned short)(cond + (i + 1 < n ? jmp : 4));
		memcpy(buf + off, &op, sizeof(op));
		memcpy(buf + off + sizeof(op), &hc, sizeof(hc));
		off += cond;
		if (i + 1 < n) {
			struct inet_diag_bc_op j = { .code = INET_DIAG_BC_JMP, .yes = (unsigned char)jmp };
			j.no = (unsigned short)(total - off);   /* exactly the end: accept */
			memcpy(buf + off, &j, sizeof(j));
			off += jmp;
		}
	}
	return total;
}

int sockdiag_decode_inet(const void *payload, size_t len, struct sockdiag_inet *ret)
{
	struct inet_diag_msg m;

	if (len < sizeof(m))
		return -EINVAL;
	memcpy(&m, payload, sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->family = m.idiag_family;
	ret->state = m.idiag_state;
	ret->inode = m.idiag_inode;
	ret->uid = m.idiag_uid;
	ret->cookie[0] = m.id.idiag_cookie[0];
	ret->cookie[1] = m.id.idiag_cookie[1];
	ret->sport = ntohs(m.id.idiag_sport);
	ret->dport = ntohs(m.id.idiag_dport);
	memcpy(ret->src, m.id.idiag_src, m.idiag_family == AF_INET ? 4 : 16);
	memcpy(ret->dst, m.id.idiag_dst, m.idiag_family == AF_INET ? 4 : 16);
	return 0;
}

static int cmp_inet(const void *a, const void *b)
{
	unsigned long x = ((const struct sockdiag_inet *)a)->inode;
	unsigned long y = ((const struct sockdiag_inet *)b)->inode;

	return (x > y) - (x < y);
}

static int cmp_unix(const void *a, const void *b)
{
	unsigned long x = ((const struct sockdiag_unix *)a)->inode;
	unsigned long y = ((const struct sockdiag_unix *)b)->inode;

	return (x > y) - (x < y);
}

void sockdiag_table_sort(struct sockdiag_table *t)
{
	if (t->ninet)
		qsort(t->inet, t->ninet, sizeof(*t->inet), cmp_inet);
	if (t->nunix)
		qsort(t->unx, t->nunix, sizeof(*t->unx), cmp_unix);
}

const struct sockdiag_inet *sockdiag_find_inet(const struct sockdiag_table *t, unsigned long inode)
{
	struct sockdiag_inet key = { .inode = inode };

	if (!t->ninet || !inode)
		return NULL;
	return bsearch(&key, t->inet, t->ninet, sizeof(key), cmp_inet);
}

const struct sockdiag_unix *sockdiag_find_unix(const struct sockdiag_table *t, unsigned long inode)
{
	struct sockdiag_unix key = { .inode = inode };

	if (!t->nunix || !inode)
		return NULL;
	return bsearch(&key, t->unx, t->nunix, sizeof(key), cmp_unix);
}
