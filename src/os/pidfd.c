/* SPDX-License-Identifier: MIT */
/*
 * pidfd.c -- processes by pidfd (see pidfd.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "pgevict/clock.h"
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

/* The poll(2) way: every round looks at every fd still running.  Used
 * when epoll cannot be had. */
static size_t wait_poll(const int *fds, const bool *want, bool *done, size_t n, long long deadline,
			size_t total, void (*progress)(size_t exited, size_t total, void *arg), void *arg)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	size_t i, left = 0;

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
		rest = deadline - clock_mono_ms();
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

size_t pidfd_wait_all(const int *fds, const bool *want, bool *done, size_t n, int timeout_ms,
		      void (*progress)(size_t exited, size_t total, void *arg), void *arg)
{
	long long deadline = clock_mono_ms() + timeout_ms;
	struct epoll_event ev[256];
	size_t i, left = 0, total = 0;
	int ep;

	for (i = 0; i < n; i++)
		if (want[i])
			total++;
	/* Each fd is registered once and each exit reported once: linear
	 * in the number of sessions, where re-polling the whole set after
	 * every exit is quadratic. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return wait_poll(fds, want, done, n, deadline, total, progress, arg);
	for (i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u64 = i };

		if (!want[i] || done[i] || fds[i] < 0)
			continue;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) < 0) {
			close(ep);
			return wait_poll(fds, want, done, n, deadline, total, progress, arg);
		}
		left++;
	}
	for (;;) {
		long long rest;
		int k, j;

		if (progress)
			progress(total - left, total, arg);
		rest = deadline - clock_mono_ms();
		if (!left || rest <= 0)
			break;
		k = epoll_wait(ep, ev, (int)(sizeof(ev) / sizeof(ev[0])), (int)(rest > 100 ? 100 : rest));
		if (k < 0 && errno != EINTR)
			break;
		for (j = 0; j < k; j++) {
			size_t at = (size_t)ev[j].data.u64;

			if (at < n && !done[at] && (ev[j].events & (EPOLLIN | EPOLLHUP))) {
				done[at] = true;
				left--;
				epoll_ctl(ep, EPOLL_CTL_DEL, fds[at], NULL);
			}
		}
	}
	close(ep);
	return left;
}
