/* SPDX-License-Identifier: MIT */
/*
 * procfs.c -- the /proc adapter (see procfs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <libproc2/misc.h>
#include <libproc2/pids.h>

#include "pgevict/fileio.h"
#include "pgevict/procfs.h"
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

int procfs_scan(struct proc_table *ret)
{
	enum pids_item items[] = { PIDS_ID_PID, PIDS_ID_PPID, PIDS_STATE, PIDS_TICS_BEGAN };
	enum { I_PID, I_PPID, I_STATE, I_BEGAN };
	struct pids_info *info = NULL;
	struct pids_fetch *f;
	struct proc_entry *v = NULL;
	int i, n, r;
	size_t k;

	ret->v = NULL;
	ret->n = 0;
	r = procps_pids_new(&info, items, (int)(sizeof(items) / sizeof(items[0])));
	if (r < 0)
		return r;
	f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY);
	if (!f) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	n = f->counts->total;
	v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct pids_stack *s = f->stacks[i];
		v[i].pid = PIDS_VAL(I_PID, s_int, s, info);
		v[i].ppid = PIDS_VAL(I_PPID, s_int, s, info);
		v[i].state = PIDS_VAL(I_STATE, s_ch, s, info);
		v[i].start_ticks = PIDS_VAL(I_BEGAN, ull_int, s, info);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_entry);
	ret->v = v;
	ret->n = (size_t)n;
	v = NULL;
	for (k = 0; k < ret->n; k++) {
		struct proc_entry *p = procfs_find(ret, ret->v[k].ppid);
		if (p)
			p->nchildren++;
	}
	r = 0;
out:
	free(v);
	procps_pids_unref(&info);
	return r;
}

int procfs_fill_cmdlines(struct proc_table *t, int proc_dirfd, const pid_t *pids, size_t n)
{
	char buf[TITLE_MAX + 1];
	size_t k;

	for (k = 0; k < n; k++) {
		struct proc_entry *p = procfs_find(t, pids[k]);
		char path[32], *line;
		ssize_t len;
		int fd;

		if (!p)
			continue;
		snprintf(path, sizeof(path), "%d/cmdline", (int)pids[k]);
		fd = openat(proc_dirfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;          /* exited meanwhile */
		len = read(fd, buf, TITLE_MAX);
		close(fd);
		if (len <= 0)
			continue;          /* a zombie has no command line */
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
	long hz = procps_hertz_get();

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
	char *buf = NULL, *p, *save = NULL, *tok;
	int r, field;

	r = procfs_read(proc_dirfd, pid, "stat", 4096, &buf, NULL);
	if (r < 0)
		return r;
	/* comm may hold blanks and parentheses: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ') {
		r = -EINVAL;
		goto out;
	}
	r = -EINVAL;
	for (field = 3, tok = strtok_r(p + 2, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3 && ret_state)
			*ret_state = tok[0];
		if (field == 22) {
			char *end;
			errno = 0;
			*ret_ticks = strtoull(tok, &end, 10);
			r = errno || *end ? -EINVAL : 0;
			break;
		}
	}
out:
	free(buf);
	return r;
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
