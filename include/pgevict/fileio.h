/* SPDX-License-Identifier: MIT */
/*
 * fileio.h -- files pgevict reads whole or rewrites (adapter: the file
 * system).
 *
 * Owns the readers of whole files from outside (never blocking on a FIFO,
 * never following a final symlink, regular files only, always a size
 * limit), the resolution of a file's directory without following anything
 * a less-trusted account controls (file_resolve), and the one function
 * that rewrites a file the tool does not own (file_replace_at: a lock file
 * created O_EXCL as the file's owner, written, fsync'd, given the
 * original's owner and mode, renamed over the target, the directory
 * fsync'd, all through one directory fd): after a crash at any system call
 * a reader sees the old bytes or the new ones, never a mix.  Every fd is
 * O_CLOEXEC.
 */
#ifndef PGEVICT_FILEIO_H
#define PGEVICT_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The suffix of file_replace's lock file (never ends in ".conf", so an
 * include_dir never reads a half-written one). */
#define FILE_REPLACE_SUFFIX ".pgevict-lock"

/* The size limit of file_read_all and file_read_at when MAX is 0. */
#define FILE_READ_DEFAULT_MAX ((size_t)16 << 20)

/*
 * The whole of the regular file PATH (NUL-terminated, *RET_LEN bytes,
 * malloc'd), its stat in *RET_ST (may be NULL).  Opened with O_NONBLOCK
 * (a FIFO never blocks), O_NOFOLLOW (a final symlink is -ELOOP), O_NOCTTY.
 * MAX is the largest size accepted (0: FILE_READ_DEFAULT_MAX).  0,
 * -EINVAL (not a regular file: FIFO, directory, device, socket), -EFBIG,
 * -ELOOP, -errno.
 */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, struct stat *ret_st);

/* The same for the file open on FD (left open): the program's one
 * whole-file reader (also for /proc's files the caller opened safely). */
int file_read_fd(int fd, size_t max, char **ret, size_t *ret_len, struct stat *ret_st);

/* The same for NAME (one component) in the directory DIRFD. */
int file_read_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len, struct stat *ret_st);

/*
 * The directory holding the absolute PATH, opened O_RDONLY|O_DIRECTORY
 * into *RET_DIRFD, and the file's name in it (*RET_NAME, malloc'd), found
 * without following anything a less-trusted account controls:
 *
 *  - with no symlink anywhere on the path (openat2 with
 *    RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, and the last component not
 *    a link), whoever owns the directories;
 *  - through symlinks only when every component walked (each directory,
 *    each link, the final file, on both sides of each link) is owned by
 *    root and not writable by group or others (a sticky directory may be:
 *    nobody else can rename root's entries in it).
 *
 * The final file need not exist when no symlink is involved.  0, -ELOOP
 * (a symlink someone other than root can change: *RET_BAD, malloc'd, names
 * the first component that is not root's alone, *RET_BAD_UID its owner;
 * both may be NULL), -ENOENT, -ENOTDIR, -EINVAL (not absolute, or no file
 * name), -errno.  Needs no root (but to open other users' directories).
 */
int file_resolve(const char *path, int *ret_dirfd, char **ret_name, char **ret_bad, uid_t *ret_bad_uid);

/* The same with PATH inside the root directory ROOTFD (a container's,
 * procfs_open_root; -1: ours): "/" and ".." at the top, and every
 * absolute symlink, stay inside it. */
int file_resolve_in(int rootfd, const char *path, int *ret_dirfd, char **ret_name, char **ret_bad,
		    uid_t *ret_bad_uid);

/*
 * Replace NAME in the directory DIRFD with LEN bytes of DATA, mode MODE,
 * owner UID:GID, atomically (see above).  The lock file is created and
 * renamed with the file system ids UID:GID (setfsuid/setfsgid, restored
 * before returning), so root never creates a file where that owner could
 * not have (-EACCES then).  A lock file left by a crashed run is removed
 * first: the caller must make sure no other pgevict writes NAME
 * (lockstate's lock).  0 or -errno; on error NAME is untouched and the
 * lock file removed.
 */
int file_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

/* file_replace_at in the directory of PATH, opened as named (for root's
 * own files, e.g. the state directory).  0 or -errno. */
int file_replace(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

/* fsync the directory holding PATH.  0 or -errno. */
int fsync_dir_of(const char *path);

#endif
