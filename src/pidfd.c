/*
 * pidfd.c -- processes by pidfd (see pidfd.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/pidfd.h"
#include "pgevict/procfs.h"

int pidfd_open_verified(int proc_dirfd, pid_t pid, unsigned long long start_ticks)
{
	unsigned long long now_ticks;
	int fd, r;

	fd = pidfd_open(pid, 0);
	if (fd < 0)
		return -errno;
	/* The pidfd pins whatever process holds PID now; its start time says
	 * whether that is still the one we discovered. */
	r = procfs_start_ticks(proc_dirfd, pid, &now_ticks, NULL);
	if (r < 0 || now_ticks != start_ticks) {
		close(fd);
		return r < 0 && r != -ENOENT ? r : -ESRCH;
	}
	return fd;
}

int pidfd_signal(int fd, int sig)
{
	if (sig != SIGTERM && sig != SIGINT)
		return -EINVAL;
	return pidfd_send_signal(fd, sig, NULL, 0) < 0 ? -errno : 0;
}

int pidfd_reload(int fd)
{
	return pidfd_send_signal(fd, SIGHUP, NULL, 0) < 0 ? -errno : 0;
}

bool pidfd_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t pidfd_wait_all(const int *fds, const bool *want, bool *done, size_t n, int timeout_ms,
		      void (*progress)(size_t exited, size_t total, void *arg), void *arg)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	long long deadline = now_ms() + timeout_ms;
	size_t i, left = 0, total = 0;

	if (!p || !idx) {
		free(p);
		free(idx);
		for (i = 0; i < n; i++)
			if (want[i] && !done[i] && pidfd_exited(fds[i]))
				done[i] = true;
		for (i = 0; i < n; i++)
			left += want[i] && !done[i];
		return left;
	}
	for (i = 0; i < n; i++)
		if (want[i])
			total++;
	for (;;) {
		size_t k = 0;
		long long rest;
		for (i = 0; i < n; i++) {
			if (!want[i] || done[i] || fds[i] < 0)
				continue;
			p[k].fd = fds[i];
			p[k].events = POLLIN;
			p[k].revents = 0;
			idx[k++] = i;
		}
		if (progress)
			progress(total - k, total, arg);
		left = k;
		rest = deadline - now_ms();
		if (!k || rest <= 0)
			break;
		if (poll(p, (nfds_t)k, (int)(rest > 100 ? 100 : rest)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < k; i++)
			if (p[i].revents & (POLLIN | POLLHUP))
				done[idx[i]] = true;
	}
	free(p);
	free(idx);
	return left;
}
