/* SPDX-License-Identifier: MIT */
/*
 * procevents.c -- the kernel's process events (adapter).  See
 * procevents.h.
 *
 * Owns the connector socket: subscribing (PROC_CN_MCAST_LISTEN), the
 * classic BPF filter that keeps a quiet host from waking the agent, and
 * decoding the datagrams.  It does not know what a postmaster is: the
 * caller names the parents.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include "pgevict/procevents.h"

/* Where the fields are in a datagram: netlink header, connector header,
 * then the event. */
#define EV_OFF (NLMSG_HDRLEN + offsetof(struct cn_msg, data))
#define OFF_WHAT (EV_OFF + offsetof(struct proc_event, what))
#define OFF_FORK_PARENT (EV_OFF + offsetof(struct proc_event, event_data.fork.parent_tgid))
#define OFF_EXIT_PARENT (EV_OFF + offsetof(struct proc_event, event_data.exit.parent_tgid))

/* Subscribe or not: a netlink header, a connector header and OP, in one
 * buffer (struct cn_msg ends in a flexible array: no struct can hold it
 * and what follows). */
static int mcast(int fd, enum proc_cn_mcast_op op)
{
	uint8_t m[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(op)] __attribute__((aligned(8)));
	struct nlmsghdr nh = { .nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_DONE };
	struct cn_msg cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .len = sizeof(op) };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	memset(m, 0, sizeof(m));
	memcpy(m, &nh, sizeof(nh));
	memcpy(m + NLMSG_HDRLEN, &cn, sizeof(cn));
	memcpy(m + NLMSG_HDRLEN + sizeof(cn), &op, sizeof(op));
	if (sendto(fd, m, sizeof(m), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int procev_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	int fd, r, buf = 1 << 20;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0)
		return -errno;
	/* a storm of forks must not overflow it at once (best effort) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* nothing passes until the caller names the postmasters */
	if ((r = procev_filter(fd, NULL, 0)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = mcast(fd, PROC_CN_MCAST_LISTEN)) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return r;
}

/* A jump to ACCEPT or REJECT needs an 8-bit offset: the program is at
 * most 2 * (PROCEV_FILTER_MAX + 3) + 2 instructions. */
int procev_filter(int fd, const pid_t *parents, size_t n)
{
	struct sock_filter f[2 * (PROCEV_FILTER_MAX + 3) + 2];
	struct sock_fprog prog;
	bool all = n > PROCEV_FILTER_MAX;
	size_t k = 0, i, m = all ? 0 : n, accept, reject;
	size_t exit_at;

	/* layout: what; fork? (parent ids) ; exit? (parent ids); reject; accept */
	exit_at = 2 + (all ? 0 : 1 + m + 1);
	reject = exit_at + 1 + (all ? 0 : 1 + m);
	accept = reject + 1;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_WHAT);
	f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_FORK), 0,
					      (uint8_t)(exit_at - k - 1));
	f[k].jt = all ? (uint8_t)(accept - k - 1) : 0;
	k++;
	if (!all) {
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_FORK_PARENT);
		for (i = 0; i < m; i++, k++)
			f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl((uint32_t)parents[i]),
							      (uint8_t)(accept - k - 1), 0);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	}
	/* k == exit_at */
	f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 0,
					      (uint8_t)(reject - k - 1));
	f[k].jt = all ? (uint8_t)(accept - k - 1) : 0;
	k++;
	if (!all) {
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_EXIT_PARENT);
		for (i = 0; i < m; i++, k++)
			f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl((uint32_t)parents[i]),
							      (uint8_t)(accept - k - 1), 0);
	}
	/* k == reject */
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

size_t procev_decode(const uint8_t *p, size_t len, struct procev *ret, size_t max)
{
	size_t n = 0;

	while (n < max && len >= NLMSG_HDRLEN) {
		struct nlmsghdr nh;
		struct cn_msg cn;
		struct proc_event ev;
		size_t mlen;

		memcpy(&nh, p, sizeof(nh));
		mlen = nh.nlmsg_len;
		if (mlen < NLMSG_HDRLEN || mlen > len)
			break;
		if (mlen >= EV_OFF + offsetof(struct proc_event, event_data) + sizeof(ev.event_data.exit)) {
			memcpy(&cn, p + NLMSG_HDRLEN, sizeof(cn));
			memset(&ev, 0, sizeof(ev));
			memcpy(&ev, p + EV_OFF, mlen - EV_OFF < sizeof(ev) ? mlen - EV_OFF : sizeof(ev));
			if (cn.id.idx == CN_IDX_PROC && cn.id.val == CN_VAL_PROC) {
				if (ev.what == PROC_EVENT_FORK && ev.event_data.fork.child_pid == ev.event_data.fork.child_tgid) {
					ret[n].what = PROCEV_FORK;
					ret[n].pid = ev.event_data.fork.child_tgid;
					ret[n++].parent = ev.event_data.fork.parent_tgid;
				} else if (ev.what == PROC_EVENT_EXIT &&
					   ev.event_data.exit.process_pid == ev.event_data.exit.process_tgid) {
					ret[n].what = PROCEV_EXIT;
					ret[n].pid = ev.event_data.exit.process_tgid;
					ret[n++].parent = ev.event_data.exit.parent_tgid;
				}
			}
		}
		mlen = NLMSG_ALIGN(mlen);
		if (mlen >= len)
			break;
		p += mlen;
		len -= mlen;
	}
	return n;
}

int procev_read(int fd, struct procev *ret, size_t max, size_t *ret_n)
{
	uint8_t buf[4096] __attribute__((aligned(8)));
	ssize_t got;

	*ret_n = 0;
	while (*ret_n < max) {
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return 0;
		*ret_n += procev_decode(buf, (size_t)got, ret + *ret_n, max - *ret_n);
	}
	return 0;
}

void procev_close(int fd)
{
	if (fd < 0)
		return;
	mcast(fd, PROC_CN_MCAST_IGNORE);
	close(fd);
}
