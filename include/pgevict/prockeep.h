/* SPDX-License-Identifier: MIT */
/*
 * prockeep.h -- files of /proc/PID kept open from one pass to the next
 * (adapter: /proc).
 *
 * A program that reads the same few files of the same processes every
 * second (top: each backend's stat, title and I/O counters) pays for a
 * path walk, an open and a close per file per pass; kept open, a pass is
 * one pread each.  An entry is a process, by pid and start time: its
 * files are opened together, the first time one is read, through one
 * /proc/PID directory fd whose stat says that start time, so a kept fd
 * reads the process it was opened for, never one that took its pid later
 * (once that process is gone the fd reads nothing: -ESRCH).  The fds are bounded (RLIMIT_NOFILE less a margin): past that,
 * a file is opened, read and closed as without a keep.  Entries not read
 * during a pass are closed at its end (prockeep_sweep).  One thread at a
 * time.
 */
#ifndef PGEVICT_PROCKEEP_H
#define PGEVICT_PROCKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum prockeep_file {
	PROCKEEP_STAT,
	PROCKEEP_CMDLINE,
	PROCKEEP_IO,
	PROCKEEP_NFILES
};

struct prockeep_ent {
	pid_t pid;
	unsigned long long start_ticks;
	int fd[PROCKEEP_NFILES];     /* -1: not open (past the bound) */
	bool opened;                 /* its files were opened (or tried) */
	unsigned pass;               /* the last pass that read it */
};

struct prockeep {
	struct prockeep_ent *v;
	size_t n, cap;
	unsigned *slot;              /* open addressing by pid: index + 1, 0 empty */
	size_t nslot;
	unsigned pass;
	size_t fds, max_fds;
};

/* An empty keep that holds at most MAX_FDS fds (0: what RLIMIT_NOFILE
 * leaves after a margin of 256). */
void prockeep_init(struct prockeep *k, size_t max_fds);

/*
 * Read file WHICH of the process (PID, START_TICKS) into BUF (at most
 * LEN - 1 bytes, NUL-terminated) through PROC_DIRFD (/proc): through its
 * kept fd (pread from 0), opened the first time after checking that
 * /proc/PID is that process.  K NULL: opened, read and closed (unchecked,
 * as a plain read of /proc/PID/FILE).  Returns the bytes read, -ESRCH
 * when PID is not that process (any more), -ENOMEM, other -errno.
 */
ssize_t prockeep_read(struct prockeep *k, int proc_dirfd, pid_t pid, unsigned long long start_ticks,
		      enum prockeep_file which, char *buf, size_t len);

/*
 * Read file WHICH of whatever process PID is now: through a kept fd of an
 * entry with that pid when its process is still there (a live process
 * is its pid's only holder), else /proc/PID/FILE opened, read and closed.
 * Marks nothing as read in this pass.  K may be NULL.  Returns as
 * prockeep_read.
 */
ssize_t prockeep_read_any(struct prockeep *k, int proc_dirfd, pid_t pid, enum prockeep_file which, char *buf,
			  size_t len);

/* End a pass: the entries no read touched since the last sweep are
 * closed and dropped. */
void prockeep_sweep(struct prockeep *k);

/* Close everything (NULL-safe). */
void prockeep_clear(struct prockeep *k);

#endif
