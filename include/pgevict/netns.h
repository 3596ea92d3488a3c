/* SPDX-License-Identifier: MIT */
/*
 * netns.h -- run netlink work in another process's network namespace.
 *
 * sock_diag dumps and SOCK_DESTROY see the caller's network namespace
 * only; a containerised postmaster lives in its own.  Entering needs
 * CAP_SYS_ADMIN; leaving always returns to where we were, or aborts.
 */
#ifndef PGEVICT_NETNS_H
#define PGEVICT_NETNS_H

#include <sys/types.h>

/*
 * Enter the network namespace of PID unless it is the caller's (inode
 * SELF_NS).  *ret_saved gets an fd to return with (or -1 when nothing was
 * entered).  0 or -errno.
 */
int netns_enter(int proc_dirfd, pid_t pid, unsigned long pid_ns, unsigned long self_ns, int *ret_saved);

/* Go back (SAVED from netns_enter; -1 is a no-op).  Aborts on failure:
 * nothing may run on in someone else's namespace. */
void netns_leave(int saved);

#endif
