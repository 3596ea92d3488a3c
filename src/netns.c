/*
 * netns.c -- enter and leave network namespaces (see netns.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pgevict/netns.h"

int netns_enter(int proc_dirfd, pid_t pid, unsigned long pid_ns, unsigned long self_ns, int *ret_saved)
{
	char path[64];
	int self_fd, fd, r = 0;

	*ret_saved = -1;
	if (pid_ns == self_ns)
		return 0;
	self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%d/ns/net", (int)pid);
	fd = openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
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
