/*
 * fileio.h -- files pgevict reads whole or rewrites (adapter: the file
 * system).
 *
 * Owns the one function that rewrites a file the tool does not own
 * (file_replace: a lock file created O_EXCL, written, fsync'd, given the
 * original's owner and mode, renamed over the target, the directory
 * fsync'd): after a crash at any system call a reader sees the old bytes
 * or the new ones, never a mix.  Every fd is O_CLOEXEC.
 */
#ifndef PGEVICT_FILEIO_H
#define PGEVICT_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The suffix of file_replace's lock file (never ends in ".conf", so an
 * include_dir never reads a half-written one). */
#define FILE_REPLACE_SUFFIX ".pgevict-lock"

/*
 * The whole of the regular file PATH (NUL-terminated, *RET_LEN bytes,
 * malloc'd), its stat in *RET_ST (may be NULL).  MAX, when not 0, is the
 * largest size accepted.  0, -EINVAL (not a regular file), -EFBIG, -errno.
 */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, struct stat *ret_st);

/*
 * Replace PATH with LEN bytes of DATA, mode MODE, owner UID:GID, atomically
 * (see above).  A lock file left by a crashed run is removed first: the
 * caller must make sure no other pgevict writes PATH (lockstate's lock).
 * 0 or -errno; on error PATH is untouched and the lock file removed.
 */
int file_replace(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

/* fsync the directory holding PATH.  0 or -errno. */
int fsync_dir_of(const char *path);

#endif
