/* SPDX-License-Identifier: MIT */
/*
 * procstat.h -- the text of /proc/PID/stat parsed (core, no I/O).
 *
 * Owns what pgevict takes from a process's stat line: its state, parent,
 * start time (with the pid, its identity), CPU time and resident pages.
 * The command name (field 2) is the process's own choice: it may hold
 * blanks and parentheses, so the fields are read after its last ')'.
 * Reading the file is procfs.h's.
 */
#ifndef PGEVICT_PROCSTAT_H
#define PGEVICT_PROCSTAT_H

#include <stddef.h>
#include <sys/types.h>

struct procstat {
	char state;                       /* field 3: R S D T Z ... */
	pid_t ppid;                       /* 4 */
	unsigned long long cpu_ticks;     /* utime + stime (14, 15) */
	unsigned long long start_ticks;   /* 22, clock ticks after boot */
	long long rss_pages;              /* 24 */
};

/* Parse the LEN bytes of TEXT (no terminator needed).  0, or -EINVAL
 * when a field up to 24 is missing or not a number (*RET then zeroed). */
int procstat_parse(const char *text, size_t len, struct procstat *ret);

#endif
