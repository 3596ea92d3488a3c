/* SPDX-License-Identifier: MIT */
/*
 * test_procevents.c -- unit tests for procevents.h without the connector:
 * procev_decode on datagrams built here (a fork, a thread's clone that is
 * no new process, an exit, another event, two messages in one datagram, a
 * truncated one), and the kernel filter of procev_filter attached to one
 * end of an AF_UNIX datagram socketpair (a classic BPF filter reads a
 * Unix datagram from its first byte as it reads a netlink one): forks and
 * exits whose parent is named pass, the others and other events do not;
 * more parents than PROCEV_FILTER_MAX let every fork and exit through.
 * No root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
#include <linux/netlink.h>

#include <cmocka.h>

#include "pgevict/procevents.h"

struct dgram {
	struct nlmsghdr nh;
	struct cn_msg cn;
	struct proc_event ev;
} __attribute__((packed));

static void mk(struct dgram *d, unsigned what, pid_t a, pid_t b, pid_t c, pid_t e)
{
	memset(d, 0, sizeof(*d));
	d->nh.nlmsg_len = sizeof(*d);
	d->nh.nlmsg_type = NLMSG_DONE;
	d->cn.id.idx = CN_IDX_PROC;
	d->cn.id.val = CN_VAL_PROC;
	d->cn.len = sizeof(d->ev);
	d->ev.what = what;
	if (what == PROC_EVENT_FORK) {
		d->ev.event_data.fork.parent_pid = a;
		d->ev.event_data.fork.parent_tgid = a;
		d->ev.event_data.fork.child_pid = b;
		d->ev.event_data.fork.child_tgid = c;
	} else if (what == PROC_EVENT_EXIT) {
		d->ev.event_data.exit.process_pid = b;
		d->ev.event_data.exit.process_tgid = c;
		d->ev.event_data.exit.parent_pid = e;
		d->ev.event_data.exit.parent_tgid = a;
	}
}

static void test_decode(void **state)
{
	struct dgram d[2];
	struct procev ev[4];

	(void)state;
	mk(&d[0], PROC_EVENT_FORK, 100, 101, 101, 0);
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d[0]), ev, 4), 1);
	assert_int_equal(ev[0].what, PROCEV_FORK);
	assert_int_equal(ev[0].pid, 101);
	assert_int_equal(ev[0].parent, 100);
	/* a thread: no new process */
	mk(&d[0], PROC_EVENT_FORK, 100, 102, 101, 0);
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d[0]), ev, 4), 0);
	mk(&d[0], PROC_EVENT_EXIT, 100, 101, 101, 100);
	mk(&d[1], PROC_EVENT_FORK, 100, 103, 103, 0);
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d), ev, 4), 2);
	assert_int_equal(ev[0].what, PROCEV_EXIT);
	assert_int_equal(ev[0].pid, 101);
	assert_int_equal(ev[0].parent, 100);
	assert_int_equal(ev[1].pid, 103);
	/* room for one */
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d), ev, 1), 1);
	mk(&d[0], PROC_EVENT_EXEC, 100, 101, 101, 0);
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d[0]), ev, 4), 0);
	/* truncated, and a length that lies */
	mk(&d[0], PROC_EVENT_FORK, 100, 101, 101, 0);
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d[0]) - 8, ev, 4), 0);
	d[0].nh.nlmsg_len = 8;
	assert_int_equal(procev_decode((uint8_t *)d, sizeof(d[0]), ev, 4), 0);
}

/* Send D through a socketpair whose reader has FILTER; true when it came. */
static int passes(int sv[2], const struct dgram *d)
{
	char buf[256];

	assert_int_equal(send(sv[0], d, sizeof(*d), 0), (ssize_t)sizeof(*d));
	return recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0;
}

static void test_filter(void **state)
{
	pid_t pms[] = { 100, 300 }, many[PROCEV_FILTER_MAX + 1];
	struct dgram d;
	int sv[2];
	size_t i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(procev_filter(sv[1], NULL, 0), 0);
	mk(&d, PROC_EVENT_FORK, 100, 101, 101, 0);
	assert_false(passes(sv, &d));
	assert_int_equal(procev_filter(sv[1], pms, 2), 0);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_FORK, 300, 301, 301, 0);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_FORK, 200, 201, 201, 0);
	assert_false(passes(sv, &d));
	mk(&d, PROC_EVENT_EXIT, 300, 301, 301, 300);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_EXIT, 1, 100, 100, 1);   /* the postmaster itself */
	assert_false(passes(sv, &d));
	mk(&d, PROC_EVENT_EXEC, 100, 101, 101, 0);
	assert_false(passes(sv, &d));
	for (i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (pid_t)(1000 + i);
	assert_int_equal(procev_filter(sv[1], many, PROCEV_FILTER_MAX), 0);
	mk(&d, PROC_EVENT_FORK, 1000 + PROCEV_FILTER_MAX - 1, 5, 5, 0);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_FORK, 7, 8, 8, 0);
	assert_false(passes(sv, &d));
	assert_int_equal(procev_filter(sv[1], many, PROCEV_FILTER_MAX + 1), 0);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_EXIT, 7, 8, 8, 7);
	assert_true(passes(sv, &d));
	mk(&d, PROC_EVENT_EXEC, 7, 8, 8, 0);
	assert_false(passes(sv, &d));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
