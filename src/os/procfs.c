/* SPDX-License-Identifier: MIT */
/*
 * procfs.c -- the /proc adapter (see procfs.h).
 *
 * The process table: pid, parent, state, start time, CPU time and
 * resident pages, from each process's stat alone.  The host's /proc is
 * read through libproc2 (procps-ng 4, the successor of libprocps), asking
 * only for stat's fields; a /proc tree of a test's own, and top's refresh,
 * whose stat files are kept open from one refresh to the next
 * (prockeep.h, which libproc2 cannot reuse), are read directly: one
 * readdir and one read of each stat, parsed by procstat.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <libproc2/pids.h>

#include "pgevict/clock.h"
#include "pgevict/fileio.h"
#include "pgevict/prockeep.h"
#include "pgevict/procfs.h"
#include "pgevict/procstat.h"
#include "pgevict/title.h"

void proc_table_clear(struct proc_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].cmdline);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
	pid_t x = ((const struct proc_entry *)a)->pid, y = ((const struct proc_entry *)b)->pid;

	return (x > y) - (x < y);
}

struct proc_entry *procfs_find(const struct proc_table *t, pid_t pid)
{
	struct proc_entry key = { .pid = pid };

	if (!t->n)
		return NULL;
	return bsearch(&key, t->v, t->n, sizeof(key), cmp_entry);
}

/* NAME as a pid: digits only, positive. */
static bool pid_name(const char *name, pid_t *ret)
{
	long long v = 0;

	if (!*name)
		return false;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || v > (1LL << 31))
			return false;
		v = v * 10 + (*name - '0');
	}
	*ret = (pid_t)v;
	return v > 0 && v <= (1LL << 31) - 1;
}

/* One more entry in *V (N used of *CAP).  0 or -ENOMEM. */
static int grow(struct proc_entry **v, size_t n, size_t *cap)
{
	struct proc_entry *nv;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? 2 * *cap : 1024;
	if (!(nv = realloc(*v, c * sizeof(*nv))))
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* Count each process's children in T (sorted). */
static void count_children(struct proc_table *t)
{
	size_t k;

	for (k = 0; k < t->n; k++) {
		struct proc_entry *p = procfs_find(t, t->v[k].ppid);
		if (p)
			p->nchildren++;
	}
}

/* Is FD the root of the procfs we run under (not a test's tree)? */
static bool host_proc(int fd)
{
	struct statfs sf;
	struct stat st, self;

	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC || fstat(fd, &st) < 0 ||
	    stat("/proc", &self) < 0)
		return false;
	return st.st_dev == self.st_dev && st.st_ino == self.st_ino;
}

/* The host's table through libproc2: only stat's fields are asked for, so
 * it reads /proc/PID/stat alone.  0 or -errno. */
static int scan_libproc2(struct proc_table *ret)
{
	enum pids_item items[] = { PIDS_ID_PID, PIDS_ID_PPID, PIDS_STATE, PIDS_TICS_BEGAN, PIDS_TICS_ALL, PIDS_RSS };
	enum { I_PID, I_PPID, I_STATE, I_BEGAN, I_TICS, I_RSS };
	struct pids_info *info = NULL;
	struct pids_fetch *f;
	struct proc_entry *v = NULL;
	int i, n, r;

	ret->mono_us = clock_mono_us();
	if ((r = procps_pids_new(&info, items, (int)(sizeof(items) / sizeof(items[0])))) < 0)
		return r;
	if (!(f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY))) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	n = f->counts->total;
	if (!(v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v)))) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct pids_stack *s = f->stacks[i];
		v[i].pid = PIDS_VAL(I_PID, s_int, s, info);
		v[i].ppid = PIDS_VAL(I_PPID, s_int, s, info);
		v[i].state = PIDS_VAL(I_STATE, s_ch, s, info);
		v[i].start_ticks = PIDS_VAL(I_BEGAN, ull_int, s, info);
		v[i].cpu_ticks = PIDS_VAL(I_TICS, ull_int, s, info);
		v[i].rss_pages = (long long)PIDS_VAL(I_RSS, ul_int, s, info);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_entry);
	ret->v = v;
	ret->n = (size_t)n;
	v = NULL;
	count_children(ret);
	r = 0;
out:
	free(v);
	procps_pids_unref(&info);
	return r;
}

int procfs_scan(int proc_dirfd, struct prockeep *keep, struct proc_table *ret)
{
	struct proc_entry *v = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd, r = 0;

	ret->v = NULL;
	ret->n = 0;
	if (!keep && host_proc(proc_dirfd))
		return scan_libproc2(ret);
	if ((fd = openat(proc_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		r = -errno;
		close(fd);
		return r;
	}
	ret->mono_us = clock_mono_us();
	for (errno = 0; (de = readdir(d)); errno = 0) {
		char buf[1024];
		struct procstat st;
		ssize_t len;
		pid_t pid;

		if (!pid_name(de->d_name, &pid))
			continue;
		len = prockeep_read_any(keep, proc_dirfd, pid, PROCKEEP_STAT, buf, sizeof(buf));
		if (len == -ENOMEM) {
			r = -ENOMEM;
			goto out;
		}
		if (len <= 0 || procstat_parse(buf, (size_t)len, &st) < 0)
			continue;      /* exited meanwhile */
		if ((r = grow(&v, n, &cap)) < 0)
			goto out;
		v[n++] = (struct proc_entry){ .pid = pid, .ppid = st.ppid, .state = st.state,
					      .start_ticks = st.start_ticks, .cpu_ticks = st.cpu_ticks,
					      .rss_pages = st.rss_pages };
	}
	if (errno) {
		r = -errno;
		goto out;
	}
	/* /proc lists pids in order already; cheap to make sure */
	qsort(v, n, sizeof(*v), cmp_entry);
	ret->v = v;
	ret->n = n;
	v = NULL;
	count_children(ret);
out:
	free(v);
	closedir(d);
	return r;
}

int procfs_fill_cmdlines(struct proc_table *t, int proc_dirfd, const pid_t *pids, size_t n,
			 struct prockeep *keep)
{
	char buf[TITLE_MAX + 1];
	size_t k;

	for (k = 0; k < n; k++) {
		struct proc_entry *p = procfs_find(t, pids[k]);
		char *line;
		ssize_t len;

		if (!p)
			continue;
		len = prockeep_read(keep, proc_dirfd, p->pid, p->start_ticks, PROCKEEP_CMDLINE, buf, sizeof(buf));
		if (len == -ENOMEM)
			return -ENOMEM;
		if (len <= 0)
			continue;          /* exited meanwhile; a zombie has no command line */
		/* argv is NUL-separated; a retitled process pads with NULs. */
		title_clean(buf, (size_t)len);
		line = strdup(buf);
		if (!line)
			return -ENOMEM;
		free(p->cmdline);
		p->cmdline = line;
	}
	return 0;
}

long procfs_hertz(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 ? hz : 100;
}

static int open_rel(int proc_dirfd, pid_t pid, const char *rel, int flags)
{
	char path[64 + 256];

	if (pid > 0)
		snprintf(path, sizeof(path), "%d/%s", (int)pid, rel);
	else
		snprintf(path, sizeof(path), "%s", rel);
	return openat(proc_dirfd, path, flags | O_CLOEXEC);
}

/* Read FD to its end, at most MAX bytes, into a malloc'd NUL-terminated
 * *RET_BUF.  0 or -errno. */
static int read_upto(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	char *buf = malloc(max + 1);
	size_t len = 0;
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	while (len < max) {
		got = read(fd, buf + len, max - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int procfs_read(int proc_dirfd, pid_t pid, const char *rel, size_t max, char **ret_buf,
		size_t *ret_len)
{
	int fd, r;

	fd = open_rel(proc_dirfd, pid, rel, O_RDONLY);
	if (fd < 0)
		return -errno;
	r = read_upto(fd, max, ret_buf, ret_len);
	close(fd);
	return r;
}

int procfs_read_file(int proc_dirfd, pid_t pid, const char *rel, size_t max, char **ret_buf,
		     size_t *ret_len, struct stat *ret_st)
{
	int fd, r;

	fd = open_rel(proc_dirfd, pid, rel, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = file_read_fd(fd, max, ret_buf, ret_len, ret_st);
	close(fd);
	return r;
}

int procfs_stat(int proc_dirfd, pid_t pid, const char *rel, struct stat *ret)
{
	char path[64 + 256];

	snprintf(path, sizeof(path), "%d/%s", (int)pid, rel);
	return fstatat(proc_dirfd, path, ret, 0) < 0 ? -errno : 0;
}

int procfs_start_ticks(int proc_dirfd, pid_t pid, unsigned long long *ret_ticks, char *ret_state)
{
	struct procstat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = procfs_read(proc_dirfd, pid, "stat", 4096, &buf, &len)) < 0)
		return r;
	r = procstat_parse(buf, len, &st);
	free(buf);
	if (r < 0)
		return r;
	*ret_ticks = st.start_ticks;
	if (ret_state)
		*ret_state = st.state;
	return 0;
}

int procfs_boot_time(int proc_dirfd, int64_t *ret_epoch)
{
	char *buf = NULL, *p;
	int r;

	r = procfs_read(proc_dirfd, 0, "stat", 1 << 20, &buf, NULL);
	if (r < 0)
		return r;
	p = strstr(buf, "\nbtime ");
	r = p ? 0 : -EINVAL;
	if (p)
		*ret_epoch = strtoll(p + 7, NULL, 10);
	free(buf);
	return r;
}

static int cmp_sock(const void *a, const void *b)
{
	int x = ((const struct proc_sock *)a)->fd, y = ((const struct proc_sock *)b)->fd;

	return (x > y) - (x < y);
}

/* "socket:[123]" -> 123; 0 when LINK is not a socket. */
static unsigned long socket_inode(const char *link)
{
	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	return strtoul(link + 8, NULL, 10);
}

int procfs_fd_socket(int proc_dirfd, pid_t pid, int fd, unsigned long *ret_inode)
{
	char path[64], link[64];
	ssize_t len;

	snprintf(path, sizeof(path), "%d/fd/%d", (int)pid, fd);
	len = readlinkat(proc_dirfd, path, link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	*ret_inode = socket_inode(link);
	return *ret_inode ? 0 : -ENOTSOCK;
}

int procfs_socket_fds(int proc_dirfd, pid_t pid, struct proc_sock **ret, size_t *ret_n)
{
	int dfd, r = 0;
	DIR *d = NULL;
	struct dirent *de;
	struct proc_sock *v = NULL, *nv;
	size_t n = 0, cap = 0;
	char link[64];
	ssize_t len;
	unsigned long ino;

	dfd = open_rel(proc_dirfd, pid, "fd", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (len < 0)
			continue;          /* closed meanwhile */
		link[len] = '\0';
		if (!(ino = socket_inode(link)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		v[n].fd = atoi(de->d_name);
		v[n++].inode = ino;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_sock);
	*ret = v;
	*ret_n = n;
	v = NULL;
out:
	free(v);
	closedir(d);
	return r;
}

int procfs_ns(int proc_dirfd, pid_t pid, const char *kind, unsigned long *ret_ino)
{
	struct stat st;
	char path[64];

	if (pid > 0)
		snprintf(path, sizeof(path), "%d/ns/%s", (int)pid, kind);
	else
		snprintf(path, sizeof(path), "self/ns/%s", kind);
	if (fstatat(proc_dirfd, path, &st, 0) < 0)
		return -errno;
	*ret_ino = (unsigned long)st.st_ino;
	return 0;
}

int procfs_netns(int proc_dirfd, pid_t pid, unsigned long *ret_ino)
{
	return procfs_ns(proc_dirfd, pid, "net", ret_ino);
}

int procfs_open_root(int proc_dirfd, pid_t pid, unsigned long long start_ticks, int *ret_fd)
{
	unsigned long long ticks;
	char path[32];
	int dfd, fd = -1, r;

	*ret_fd = -1;
	snprintf(path, sizeof(path), "%d", (int)pid);
	dfd = openat(proc_dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* The directory fd names this process for good (a reused pid gets
	 * another one): its start time, read through it, settles which. */
	r = procfs_start_ticks(dfd, 0, &ticks, NULL);
	if (r == 0 && ticks != start_ticks)
		r = -ESRCH;
	if (r == 0 && (fd = openat(dfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	close(dfd);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	*ret_fd = fd;
	return 0;
}

int procfs_inner_pid(int proc_dirfd, pid_t pid, pid_t *ret)
{
	char *buf = NULL, *p, *end;
	long v = -1;
	int r;

	r = procfs_read(proc_dirfd, pid, "status", 1 << 14, &buf, NULL);
	if (r < 0)
		return r;
	p = strstr(buf, "\nNSpid:");
	if (!p) {
		free(buf);
		return -ENOENT;
	}
	p += 7;
	end = strchr(p, '\n');
	if (end)
		*end = '\0';
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		v = strtol(p, &p, 10);
	}
	free(buf);
	if (v <= 0)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int procfs_ids(int proc_dirfd, pid_t pid, uid_t *ret_ruid, uid_t *ret_euid, gid_t *ret_rgid)
{
	char *buf = NULL, *u, *g;
	unsigned long ru, eu, rg, eg;
	int r;

	r = procfs_read(proc_dirfd, pid, "status", 1 << 14, &buf, NULL);
	if (r < 0)
		return r;
	u = strstr(buf, "\nUid:");
	g = strstr(buf, "\nGid:");
	if (!u || !g || sscanf(u + 5, "%lu %lu", &ru, &eu) != 2 || sscanf(g + 5, "%lu %lu", &rg, &eg) != 2) {
		free(buf);
		return -EINVAL;
	}
	free(buf);
	*ret_ruid = (uid_t)ru;
	*ret_euid = (uid_t)eu;
	*ret_rgid = (gid_t)rg;
	return 0;
}

/*
 * Map UID through PID's uid_map ("inside outside count" lines, outside as
 * our namespace sees it): to its inside value (INWARD), or from inside to
 * ours.  0 and *RET, -ENOENT when not mapped, other -errno.
 */
static int uid_map(int proc_dirfd, pid_t pid, uid_t uid, bool inward, uid_t *ret)
{
	char *buf = NULL, *p;
	unsigned long in, out, count;
	int r;

	r = procfs_read(proc_dirfd, pid, "uid_map", 1 << 14, &buf, NULL);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned long from, to;
		if (sscanf(p, "%lu %lu %lu", &in, &out, &count) != 3)
			continue;
		from = inward ? out : in;
		to = inward ? in : out;
		if (uid >= from && uid - from < count) {
			*ret = (uid_t)(to + (uid - from));
			r = 0;
			break;
		}
	}
	free(buf);
	return r;
}

int procfs_uid_inside(int proc_dirfd, pid_t pid, uid_t uid, uid_t *ret)
{
	return uid_map(proc_dirfd, pid, uid, true, ret);
}

int procfs_root_uid(int proc_dirfd, pid_t pid, uid_t *ret)
{
	return uid_map(proc_dirfd, pid, 0, false, ret);
}

int procfs_find_comm(int proc_dirfd, const char *const *names, size_t n, char *ret, size_t len)
{
	DIR *d;
	struct dirent *e;
	int fd, found = 0;

	fd = openat(proc_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!found && (e = readdir(d))) {
		char *comm = NULL;
		size_t clen, i;
		pid_t pid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid = (pid_t)strtol(e->d_name, NULL, 10);
		if (procfs_read(proc_dirfd, pid, "comm", 64, &comm, &clen) < 0)
			continue;
		while (clen > 0 && comm[clen - 1] == '\n')
			comm[--clen] = '\0';
		for (i = 0; i < n && !found; i++)
			if (strcmp(comm, names[i]) == 0) {
				snprintf(ret, len, "%s", comm);
				found = 1;
			}
		free(comm);
	}
	closedir(d);
	return found;
}
