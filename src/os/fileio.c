/* SPDX-License-Identifier: MIT */
/*
 * fileio.c -- reading a file whole, resolving a file's directory safely,
 * and replacing a file atomically (see fileio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pgevict/fileio.h"

#define READ_FLAGS (O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
#define MAX_LINKS 40

int file_read_fd(int fd, size_t max, char **ret, size_t *ret_len, struct stat *ret_st)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int r = 0;

	if (!max)
		max = FILE_READ_DEFAULT_MAX;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *p = realloc(buf, cap * 2);
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {                 /* it grew while we read */
			r = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	if (ret_st)
		*ret_st = st;
	buf = NULL;
out:
	free(buf);
	return r;
}

/* Read the open FD whole; closes it. */
static int read_fd(int fd, size_t max, char **ret, size_t *ret_len, struct stat *ret_st)
{
	int r = file_read_fd(fd, max, ret, ret_len, ret_st);

	close(fd);
	return r;
}

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, struct stat *ret_st)
{
	int fd = open(path, READ_FLAGS);

	if (fd < 0)
		return -errno;
	return read_fd(fd, max, ret, ret_len, ret_st);
}

int file_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len, struct stat *ret_st)
{
	int fd = openat(dirfd, name, READ_FLAGS);

	if (fd < 0)
		return -errno;
	return read_fd(fd, max, ret, ret_len, ret_st);
}

/* ---- resolving ---- */

/* Root's alone: owned by root, and (but for a sticky directory) writable
 * by nobody else. */
static bool root_only(const struct stat *st)
{
	if (st->st_uid != 0)
		return false;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return true;
	return !(st->st_mode & (S_IWGRP | S_IWOTH)) || S_ISLNK(st->st_mode);
}

static int set_bad(char **ret_bad, uid_t *ret_bad_uid, const char *dir, const char *comp, uid_t uid)
{
	if (ret_bad) {
		if (asprintf(ret_bad, "%s%s%s", dir, strcmp(dir, "/") == 0 || !*comp ? "" : "/", comp) < 0)
			*ret_bad = NULL;
	}
	if (ret_bad_uid)
		*ret_bad_uid = uid;
	return -ELOOP;
}

/*
 * The walk of file_resolve when a symlink is on the path: one component
 * at a time from "/", each checked to be root's alone (systemd's chase()
 * with CHASE_SAFE, stricter).  WHERE is the path walked so far, for
 * *RET_BAD.
 */
static int open_root(int rootfd)
{
	return rootfd >= 0 ? openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)
			   : open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The symlink COMP in *CUR: its target goes before the rest *P of *TODO
 * (an absolute one restarts at the root, *WHERE too).  0 or -errno. */
static int follow_link(int rootfd, int *cur, const char *comp, char **todo, char **p, char **where)
{
	char target[4096], *next;
	ssize_t n = readlinkat(*cur, comp, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (asprintf(&next, "%s/%s", target, *p) < 0)
		return -ENOMEM;
	free(*todo);
	*todo = next;
	*p = next;
	if (target[0] == '/') {
		int root = open_root(rootfd);

		if (root < 0)
			return -errno;
		close(*cur);
		*cur = root;
		free(*where);
		if (!(*where = strdup("/")))
			return -ENOMEM;
	}
	return 0;
}

/* Into the directory COMP of *CUR, the one checked as ST (not one swapped
 * in meanwhile); *WHERE names it.  0 or -errno. */
static int step_into(int *cur, const char *comp, const struct stat *st, char **where)
{
	int next = openat(*cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st2;
	char *w;

	if (next < 0)
		return -errno;
	if (fstat(next, &st2) < 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
		close(next);
		return -EAGAIN;
	}
	close(*cur);
	*cur = next;
	if (strcmp(comp, "..") == 0) {
		w = strdup(*where);
		if (w && strrchr(w, '/') && strrchr(w, '/') != w)
			*strrchr(w, '/') = '\0';
		else if (w)
			strcpy(w, "/");
	} else if (asprintf(&w, "%s%s%s", *where, strcmp(*where, "/") == 0 ? "" : "/", comp) < 0) {
		w = NULL;
	}
	if (!w)
		return -ENOMEM;
	free(*where);
	*where = w;
	return 0;
}

static int chase_trusted(int rootfd, const char *path, int *ret_dirfd, char **ret_name, char **ret_bad,
			 uid_t *ret_bad_uid)
{
	char *todo = NULL, *where = NULL, *p, *name = NULL;
	int cur = -1, links = 0, r;
	struct stat st, root_st;

	if (!(todo = strdup(path)) || !(where = strdup("/"))) {
		r = -ENOMEM;
		goto out;
	}
	cur = open_root(rootfd);
	if (cur < 0 || fstat(cur, &st) < 0) {
		r = -errno;
		goto out;
	}
	root_st = st;
	if (!root_only(&st)) {
		r = set_bad(ret_bad, ret_bad_uid, "/", "", st.st_uid);
		goto out;
	}
	p = todo;
	for (;;) {
		char *comp, *slash;
		bool last;

		while (*p == '/')
			p++;
		if (!*p) {                       /* ended in a directory */
			r = -EISDIR;
			goto out;
		}
		comp = p;
		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		p = slash ? slash + 1 : p + strlen(p);
		while (*p == '/')
			p++;
		last = !*p;
		if (strcmp(comp, ".") == 0 && !last)
			continue;
		if (strcmp(comp, "..") == 0 && !last && fstat(cur, &st) == 0 && st.st_dev == root_st.st_dev &&
		    st.st_ino == root_st.st_ino)
			continue;       /* ".." of the root is the root (never out of a container) */
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			goto out;
		}
		if (!root_only(&st)) {
			r = set_bad(ret_bad, ret_bad_uid, where, comp, st.st_uid);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			r = ++links > MAX_LINKS ? -ELOOP : follow_link(rootfd, &cur, comp, &todo, &p, &where);
			if (r < 0)
				goto out;
			continue;
		}
		if (last) {
			if (!S_ISREG(st.st_mode)) {
				r = -EINVAL;
				goto out;
			}
			if (!(name = strdup(comp))) {
				r = -ENOMEM;
				goto out;
			}
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			goto out;
		}
		if ((r = step_into(&cur, comp, &st, &where)) < 0)
			goto out;
	}
	{
		int dfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			r = -errno;
			goto out;
		}
		*ret_dirfd = dfd;
		*ret_name = name;
		name = NULL;
		r = 0;
	}
out:
	if (cur >= 0)
		close(cur);
	free(todo);
	free(where);
	free(name);
	return r;
}

int file_resolve(const char *path, int *ret_dirfd, char **ret_name, char **ret_bad, uid_t *ret_bad_uid)
{
	return file_resolve_in(-1, path, ret_dirfd, ret_name, ret_bad, ret_bad_uid);
}

int file_resolve_in(int rootfd, const char *path, int *ret_dirfd, char **ret_name, char **ret_bad,
		    uid_t *ret_bad_uid)
{
	struct open_how how;
	char *dir = NULL, *slash;
	const char *base;
	struct stat st;
	int fd = -1, r;

	if (ret_bad)
		*ret_bad = NULL;
	if (!path || path[0] != '/')
		return -EINVAL;
	slash = strrchr(path, '/');
	base = slash + 1;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (rootfd >= 0 ? RESOLVE_IN_ROOT : 0);
	fd = (int)syscall(SYS_openat2, rootfd >= 0 ? rootfd : AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			r = chase_trusted(rootfd, path, ret_dirfd, ret_name, ret_bad, ret_bad_uid);
		goto out;
	}
	if (fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		close(fd);
		fd = -1;
		r = chase_trusted(rootfd, path, ret_dirfd, ret_name, ret_bad, ret_bad_uid);
		goto out;
	}
	if (!(*ret_name = strdup(base))) {
		r = -ENOMEM;
		goto out;
	}
	*ret_dirfd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

/* ---- replacing ---- */

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Take the file system ids UID:GID (the man page: setfsuid returns the
 * previous id whatever happens; calling it again with -1, an id it
 * refuses, returns the one in force, which tells whether it worked).
 * *OLD_* get the ids to go back to.
 */
static int fsids_take(uid_t uid, gid_t gid, uid_t *old_uid, gid_t *old_gid)
{
	*old_gid = (gid_t)setfsgid(gid);
	if ((gid_t)setfsgid((gid_t)-1) != gid) {
		setfsgid(*old_gid);
		return -EPERM;
	}
	*old_uid = (uid_t)setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid) {
		setfsuid(*old_uid);
		setfsgid(*old_gid);
		return -EPERM;
	}
	return 0;
}

static void fsids_restore(uid_t old_uid, gid_t old_gid)
{
	setfsuid(old_uid);
	setfsgid(old_gid);
}

int file_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	char *tmp = NULL;
	uid_t ouid = 0;
	gid_t ogid = 0;
	int fd = -1, r;
	bool created = false;

	if (strchr(name, '/') || !*name)
		return -EINVAL;
	if (asprintf(&tmp, "%s%s", name, FILE_REPLACE_SUFFIX) < 0)
		return -ENOMEM;
	if ((r = fsids_take(uid, gid, &ouid, &ogid)) < 0) {
		free(tmp);
		return r;
	}
	/* From here to the rename, as the file's owner: the kernel refuses
	 * what the owner could not do.  The file is created with the
	 * owner's ids, so the fchown below changes nothing but a default
	 * ACL's or a setgid directory's group. */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* left by a run that crashed: we hold the cluster's lock */
		if (unlinkat(dirfd, tmp, 0) < 0) {
			r = -errno;
			goto out;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	created = true;
	if ((r = write_all(fd, data, len)) < 0)
		goto out;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0)
		goto out;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		goto out;
	}
	created = false;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlinkat(dirfd, tmp, 0);
	fsids_restore(ouid, ogid);
	if (r == 0 && fsync(dirfd) < 0)
		r = -errno;
	free(tmp);
	return r;
}

int file_replace(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	char *copy = strdup(path), *base;
	int dirfd, r;

	if (!copy)
		return -ENOMEM;
	base = strrchr(copy, '/');
	if (base == copy) {
		dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (base) {
		*base = '\0';
		dirfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dirfd < 0) {
		r = -errno;
		goto out;
	}
	r = file_replace_at(dirfd, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, data, len, mode, uid, gid);
	close(dirfd);
out:
	free(copy);
	return r;
}
