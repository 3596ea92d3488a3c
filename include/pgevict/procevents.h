/* SPDX-License-Identifier: MIT */
/*
 * procevents.h -- the kernel's process events (adapter: the proc
 * connector, NETLINK_CONNECTOR / CN_IDX_PROC).
 *
 * A socket that hears of forks and exits as they happen, filtered in the
 * kernel (a classic BPF socket filter) to forks whose parent is one of the
 * given postmasters and exits of their children, so that a quiet host
 * never wakes the reader.  Pids are the host's (the initial pid
 * namespace's).  Needs CAP_NET_ADMIN in the initial user namespace; no
 * printing, -errno on failure.
 */
#ifndef PGEVICT_PROCEVENTS_H
#define PGEVICT_PROCEVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum procev_what { PROCEV_FORK = 1, PROCEV_EXIT = 2 };

struct procev {
	enum procev_what what;
	pid_t pid;                   /* the child (fork) or the process that exited */
	pid_t parent;                /* its parent's tgid */
};

/* Most postmasters the kernel filter names one by one; beyond, it passes
 * every fork and exit and procev_decode's caller filters. */
#define PROCEV_FILTER_MAX 64

/*
 * A non-blocking, close-on-exec socket subscribed to process events,
 * filtered to forks and exits of the children of no postmaster yet (see
 * procev_filter).  The fd, or -errno: -EPERM without CAP_NET_ADMIN,
 * -EPROTONOSUPPORT without the connector.
 */
int procev_open(void);

/* Let through only forks whose parent is one of PARENTS[N], and exits of
 * their children (N > PROCEV_FILTER_MAX: every fork and exit).  0 or
 * -errno. */
int procev_filter(int fd, const pid_t *parents, size_t n);

/*
 * Read what has come into RET[MAX]: *RET_N events.  0 (*RET_N may be 0:
 * nothing to read), -ENOBUFS when the kernel dropped events (the socket's
 * buffer was full: the caller must look for itself), other -errno.
 */
int procev_read(int fd, struct procev *ret, size_t max, size_t *ret_n);

/* Decode one datagram P[LEN] into RET[MAX]; the number of fork and exit
 * events decoded (others skipped). */
size_t procev_decode(const uint8_t *p, size_t len, struct procev *ret, size_t max);

/* Unsubscribe and close FD (-1: nothing). */
void procev_close(int fd);

#endif
