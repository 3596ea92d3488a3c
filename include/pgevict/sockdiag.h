/* SPDX-License-Identifier: MIT */
/*
 * sockdiag.h -- the netlink sock_diag adapter (libnl-3 core).
 *
 * Owns talking NETLINK_SOCK_DIAG: the SOCK_DIAG_BY_FAMILY dumps of TCP
 * (inet_diag_req_v2, filtered on local ports in the kernel) and of Unix
 * stream sockets.  libnl's idiag module only speaks the legacy dump, so the
 * messages are built with libnl core.  Decoding takes bytes, so tests feed
 * it recorded messages.  Works in the caller's network namespace only.
 */
#ifndef PGEVICT_SOCKDIAG_H
#define PGEVICT_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sockdiag_inet {
	int family;                  /* AF_INET or AF_INET6 */
	int state;                   /* TCP_ESTABLISHED ... */
	unsigned long inode;
	uint32_t cookie[2];
	uint8_t src[16], dst[16];    /* network order; v4 in the first 4 */
	uint16_t sport, dport;       /* host order */
	uid_t uid;
};

struct sockdiag_unix {
	unsigned long inode;
	unsigned long peer;          /* inode of the other end, 0 if none */
	int state;
	char *name;                  /* bound path ("@..." abstract); for an
	                                accepted socket its listener's; NULL */
};

struct sockdiag_table {
	struct sockdiag_inet *inet;  /* sorted by inode */
	size_t ninet;
	struct sockdiag_unix *unx;   /* sorted by inode */
	size_t nunix;
};

/*
 * Append to T every TCP socket of FAMILY whose local port is one of PORTS
 * (all sockets when NPORTS is 0), except listeners and TIME_WAIT.  Needs
 * no privilege; 0 or -errno.
 */
int sockdiag_dump_inet(struct sockdiag_table *t, int family, const int *ports, size_t nports);

/* Append every Unix stream socket with its name and peer.  0 or -errno
 * (-ENOENT when the kernel has no unix_diag). */
int sockdiag_dump_unix(struct sockdiag_table *t);

/* Sort both arrays by inode; call once after the dumps. */
void sockdiag_table_sort(struct sockdiag_table *t);

const struct sockdiag_inet *sockdiag_find_inet(const struct sockdiag_table *t, unsigned long inode);
const struct sockdiag_unix *sockdiag_find_unix(const struct sockdiag_table *t, unsigned long inode);

void sockdiag_table_clear(struct sockdiag_table *t);

/*
 * Build the inet_diag bytecode "local port is one of PORTS" into BUF (LEN
 * bytes).  Returns the bytes used, or 0 when it does not fit or N is 0.
 */
size_t sockdiag_port_filter(const int *ports, size_t n, uint8_t *buf, size_t len);

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

/* Decode one inet_diag_msg payload (LEN bytes).  0 or -EINVAL. */
int sockdiag_decode_inet(const void *payload, size_t len, struct sockdiag_inet *ret);

#endif
