/* SPDX-License-Identifier: MIT */
/*
 * netns.c -- enter and leave network namespaces (see netns.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgevict/netns.h"

int netns_enter(int proc_dirfd, pid_t pid, unsigned long pid_ns, unsigned long self_ns, int *ret_saved)
{
	char path[64];
	struct stat st;
	int self_fd, fd, r = 0;

	*ret_saved = -1;
	if (pid_ns == self_ns)
		return 0;
	self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%d/ns/net", (int)pid);
	fd = openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	else if (fstat(fd, &st) < 0)
		r = -errno;
	else if ((unsigned long)st.st_ino != pid_ns)
		r = -ESRCH;     /* not the namespace discovered: a reused pid */
	else if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	if (r < 0) {
		close(self_fd);
	} else {
		*ret_saved = self_fd;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

void netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0)
		abort();
	close(saved);
}
