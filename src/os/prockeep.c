/* SPDX-License-Identifier: MIT */
/*
 * prockeep.c -- files of /proc/PID kept open from one pass to the next
 * (adapter; see prockeep.h).
 *
 * Entries sit in an array; an open-addressing table by pid (linear
 * probing, at most half full) finds them; it grows with them and is
 * filled again at every sweep.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pgevict/prockeep.h"
#include "pgevict/procfs.h"

#define FD_MARGIN 256

static const char *const file_name[PROCKEEP_NFILES] = { "stat", "cmdline", "io" };

void prockeep_init(struct prockeep *k, size_t max_fds)
{
	struct rlimit rl;

	memset(k, 0, sizeof(*k));
	k->pass = 1;
	if (!max_fds && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		max_fds = rl.rlim_cur == RLIM_INFINITY ? (size_t)1 << 20
			  : rl.rlim_cur > FD_MARGIN ? (size_t)(rl.rlim_cur - FD_MARGIN) : 0;
	k->max_fds = max_fds;
}

static size_t slot_of(const struct prockeep *k, pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (k->nslot - 1);
}

/* The table again for the first k->n entries. */
static void reindex(struct prockeep *k)
{
	size_t i, h;

	memset(k->slot, 0, k->nslot * sizeof(*k->slot));
	for (i = 0; i < k->n; i++) {
		for (h = slot_of(k, k->v[i].pid); k->slot[h]; h = (h + 1) & (k->nslot - 1))
			;
		k->slot[h] = (unsigned)i + 1;
	}
}

/* A table of NSLOT (a power of two) slots for the entries.  0 or
 * -ENOMEM (the old one kept). */
static int rehash(struct prockeep *k, size_t nslot)
{
	unsigned *slot = calloc(nslot, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	free(k->slot);
	k->slot = slot;
	k->nslot = nslot;
	reindex(k);
	return 0;
}

static struct prockeep_ent *find(const struct prockeep *k, pid_t pid, unsigned long long start_ticks)
{
	size_t h;

	if (!k->nslot)
		return NULL;
	for (h = slot_of(k, pid); k->slot[h]; h = (h + 1) & (k->nslot - 1)) {
		struct prockeep_ent *e = &k->v[k->slot[h] - 1];
		if (e->pid == pid && e->start_ticks == start_ticks)
			return e;
	}
	return NULL;
}

static struct prockeep_ent *add(struct prockeep *k, pid_t pid, unsigned long long start_ticks)
{
	struct prockeep_ent *e;
	size_t h, i;

	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		if (!(e = realloc(k->v, cap * sizeof(*e))))
			return NULL;
		k->v = e;
		k->cap = cap;
	}
	if ((k->n + 1) * 2 > k->nslot && rehash(k, k->nslot ? 2 * k->nslot : 128) < 0)
		return NULL;
	e = &k->v[k->n];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->start_ticks = start_ticks;
	for (i = 0; i < PROCKEEP_NFILES; i++)
		e->fd[i] = -1;
	for (h = slot_of(k, pid); k->slot[h]; h = (h + 1) & (k->nslot - 1))
		;
	k->slot[h] = (unsigned)++k->n;
	return e;
}

/* /proc/PID as a directory fd, when its stat says START_TICKS.  0,
 * -ESRCH (not that process), other -errno. */
static int open_dir_checked(int proc_dirfd, pid_t pid, unsigned long long start_ticks, int *ret_dfd)
{
	unsigned long long ticks = 0;
	char name[16];
	int dfd, r;

	snprintf(name, sizeof(name), "%d", (int)pid);
	if ((dfd = openat(proc_dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	r = procfs_start_ticks(dfd, 0, &ticks, NULL);
	if (r == 0 && ticks != start_ticks)
		r = -ESRCH;
	if (r < 0) {
		close(dfd);
		return r == -ENOENT ? -ESRCH : r;
	}
	*ret_dfd = dfd;
	return 0;
}

/* E's files, opened through its checked directory, as many as the bound
 * leaves room for.  0, -ESRCH, other -errno. */
static int open_all(struct prockeep *k, int proc_dirfd, struct prockeep_ent *e)
{
	size_t i;
	int dfd, fd, r;

	e->opened = true;
	if ((r = open_dir_checked(proc_dirfd, e->pid, e->start_ticks, &dfd)) < 0)
		return r;
	for (i = 0; i < PROCKEEP_NFILES && k->fds < k->max_fds; i++)
		if ((fd = openat(dfd, file_name[i], O_RDONLY | O_CLOEXEC)) >= 0) {
			e->fd[i] = fd;
			k->fds++;
		}
	close(dfd);
	return 0;
}

/* One pread from 0 (a /proc file this small comes whole). */
static ssize_t read_fd(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = pread(fd, buf, len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf[n] = '\0';
	return n;
}

/* /proc/PID/FILE (through DFD, or PROC_DIRFD when DFD < 0) opened, read
 * and closed. */
static ssize_t read_path(int proc_dirfd, int dfd, pid_t pid, const char *file, char *buf, size_t len)
{
	char path[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%d/%s", (int)pid, file);
	if ((fd = dfd >= 0 ? openat(dfd, file, O_RDONLY | O_CLOEXEC) : openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read_fd(fd, buf, len);
	close(fd);
	return n;
}

ssize_t prockeep_read(struct prockeep *k, int proc_dirfd, pid_t pid, unsigned long long start_ticks,
		      enum prockeep_file which, char *buf, size_t len)
{
	struct prockeep_ent *e;
	ssize_t n;
	int dfd, r;

	if (!len)
		return -EINVAL;
	if (!k)
		return read_path(proc_dirfd, -1, pid, file_name[which], buf, len);
	if (!(e = find(k, pid, start_ticks)) && !(e = add(k, pid, start_ticks)))
		return -ENOMEM;
	e->pass = k->pass;
	if (!e->opened && (r = open_all(k, proc_dirfd, e)) == -ESRCH)
		return r;
	if (e->fd[which] >= 0)
		return read_fd(e->fd[which], buf, len);
	/* past the bound: checked every time */
	if ((r = open_dir_checked(proc_dirfd, pid, start_ticks, &dfd)) < 0)
		return r;
	n = read_path(proc_dirfd, dfd, pid, file_name[which], buf, len);
	close(dfd);
	return n;
}

/* An entry of PID with WHICH kept, or NULL. */
static struct prockeep_ent *find_pid(const struct prockeep *k, pid_t pid, enum prockeep_file which)
{
	size_t h;

	if (!k->nslot)
		return NULL;
	for (h = slot_of(k, pid); k->slot[h]; h = (h + 1) & (k->nslot - 1)) {
		struct prockeep_ent *e = &k->v[k->slot[h] - 1];
		if (e->pid == pid && e->fd[which] >= 0)
			return e;
	}
	return NULL;
}

ssize_t prockeep_read_any(struct prockeep *k, int proc_dirfd, pid_t pid, enum prockeep_file which, char *buf,
			  size_t len)
{
	struct prockeep_ent *e;
	ssize_t n;

	if (!len)
		return -EINVAL;
	if (k && (e = find_pid(k, pid, which)) && (n = read_fd(e->fd[which], buf, len)) != -ESRCH)
		return n;
	return read_path(proc_dirfd, -1, pid, file_name[which], buf, len);
}

static void close_ent(struct prockeep *k, struct prockeep_ent *e)
{
	size_t i;

	for (i = 0; i < PROCKEEP_NFILES; i++)
		if (e->fd[i] >= 0) {
			close(e->fd[i]);
			e->fd[i] = -1;
			k->fds--;
		}
}

void prockeep_sweep(struct prockeep *k)
{
	size_t i, n = 0;

	for (i = 0; i < k->n; i++) {
		if (k->v[i].pass != k->pass)
			close_ent(k, &k->v[i]);
		else
			k->v[n++] = k->v[i];
	}
	k->n = n;
	k->pass++;
	if (k->nslot)
		reindex(k);
}

void prockeep_clear(struct prockeep *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		close_ent(k, &k->v[i]);
	free(k->v);
	free(k->slot);
	memset(k, 0, sizeof(*k));
}
