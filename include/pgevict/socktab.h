/* SPDX-License-Identifier: MIT */
/*
 * socktab.h -- sock_diag's socket tables, port filter and messages as data
 * (core, no I/O; src/core/socktab.c).
 *
 * Owns what the join (join.h) and the tests need of sock_diag without a
 * netlink socket: the rows of a dump, sorting and looking them up, the
 * port filter's bytecode and decoding one inet_diag message.  Talking
 * netlink (the dumps, SOCK_DESTROY) is sockdiag.h's adapter.
 */
#ifndef PGEVICT_SOCKTAB_H
#define PGEVICT_SOCKTAB_H

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

/* Decode one inet_diag_msg payload (LEN bytes).  0 or -EINVAL. */
int sockdiag_decode_inet(const void *payload, size_t len, struct sockdiag_inet *ret);

#endif
