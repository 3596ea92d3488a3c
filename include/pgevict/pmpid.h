/* SPDX-License-Identifier: MIT */
/*
 * pmpid.h -- parse postmaster.pid (core, no I/O).
 *
 * PG10+ layout: 1 pid, 2 data directory, 3 start time (epoch), 4 port,
 * 5 first socket directory, 6 first listen address, 7 shared memory key,
 * 8 status (space-padded).  Older or partly written files give what they
 * have; the caller decides whether that is enough.
 */
#ifndef PGEVICT_PMPID_H
#define PGEVICT_PMPID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pmpid {
	pid_t pid;              /* > 0 */
	char *data_dir;         /* NULL if missing */
	int64_t start_time;     /* epoch seconds, -1 if missing */
	int port;               /* -1 if missing */
	char *socket_dir;       /* NULL if missing or empty */
	char *listen_addr;      /* NULL if missing or empty */
	char *status;           /* trimmed; NULL if missing */
};

/*
 * Parse LEN bytes at BUF.  Returns 0 and fills *ret (free with
 * pmpid_clear), -EINVAL when line 1 is not a pid, -ENOMEM.
 */
int pmpid_parse(const char *buf, size_t len, struct pmpid *ret);

void pmpid_clear(struct pmpid *p);

#endif
