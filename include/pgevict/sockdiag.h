/* SPDX-License-Identifier: MIT */
/*
 * sockdiag.h -- the netlink sock_diag adapter (libnl-3 core).
 *
 * Owns talking NETLINK_SOCK_DIAG: the SOCK_DIAG_BY_FAMILY dumps of TCP
 * (inet_diag_req_v2, filtered on local ports in the kernel) and of Unix
 * stream sockets.  libnl's idiag module only speaks the legacy dump, so the
 * messages are built with libnl core.  Decoding takes bytes, so tests feed
 * it recorded messages (its tables, their lookups and the decoding are
 * socktab.h's, in core).  Works in the caller's network namespace only.
 */
#ifndef PGEVICT_SOCKDIAG_H
#define PGEVICT_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/socktab.h"

/*
 * Append to T every TCP socket of FAMILY whose local port is one of PORTS
 * (all sockets when NPORTS is 0), except listeners and TIME_WAIT.  Needs
 * no privilege; 0 or -errno.
 */
int sockdiag_dump_inet(struct sockdiag_table *t, int family, const int *ports, size_t nports);

/* Append every Unix stream socket with its name and peer.  0 or -errno
 * (-ENOENT when the kernel has no unix_diag). */
int sockdiag_dump_unix(struct sockdiag_table *t);

/*
 * Abort the TCP socket E names (family, both ends, cookie) with
 * SOCK_DESTROY: the kernel closes it, wakes its owner with ECONNABORTED and
 * sends the peer a RST.  Needs CAP_NET_ADMIN in the socket's network
 * namespace (the caller's).  0; -EOPNOTSUPP when the kernel lacks
 * CONFIG_INET_DIAG_DESTROY; -ENOENT when no such socket; -EPERM; -EIO.
 */
int sockdiag_destroy(const struct sockdiag_inet *e);

/* Is the TCP socket INODE with local port PORT still in the kernel's
 * tables?  1 yes, 0 no, -errno when the dump failed. */
int sockdiag_inet_alive(int family, int port, unsigned long inode);

#endif
