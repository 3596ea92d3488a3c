/* SPDX-License-Identifier: MIT */
/*
 * test_fileio.c -- fileio.h on a scratch directory: a FIFO, a directory or
 * a final symlink is refused at once (never a hang), the size limit holds,
 * file_resolve follows a symlink only through components root alone can
 * change, file_resolve_in keeps "..", "/" and absolute symlinks inside its
 * root, file_replace_at leaves the new bytes and no lock file,
 * file_replace and fsync_dir_of work on a path.  (lockstate.h's state
 * directory: test_lockstate.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgevict/fileio.h"

#include "scratch.h"

static void test_read_refuses(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int dfd;

	(void)state;
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(file_read_all(at("fifo"), 0, &buf, &len, NULL), -EINVAL);   /* no hang */
	assert_int_equal(mkdir(at("dir"), 0700), 0);
	assert_int_equal(file_read_all(at("dir"), 0, &buf, &len, NULL), -EINVAL);
	put(at("big"), "0123456789abcdef");
	assert_int_equal(file_read_all(at("big"), 10, &buf, &len, NULL), -EFBIG);
	assert_int_equal(file_read_all(at("big"), 0, &buf, &len, &st), 0);
	assert_int_equal(len, 16);
	assert_string_equal(buf, "0123456789abcdef");
	assert_true(S_ISREG(st.st_mode));
	free(buf);
	assert_int_equal(symlink(at("big"), at("link")), 0);
	assert_int_equal(file_read_all(at("link"), 0, &buf, &len, NULL), -ELOOP);
	dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(file_read_at(dfd, "fifo", 0, &buf, &len, NULL), -EINVAL);
	assert_int_equal(file_read_at(dfd, "link", 0, &buf, &len, NULL), -ELOOP);
	assert_int_equal(file_read_at(dfd, "big", 0, &buf, &len, NULL), 0);
	free(buf);
	close(dfd);
}

static void test_resolve(void **state)
{
	char *name = NULL, *bad = NULL;
	uid_t bad_uid = 12345;
	struct stat a, b;
	int dfd = -1;

	(void)state;
	assert_int_equal(mkdir(at("conf"), 0755), 0);
	assert_int_equal(mkdir(at("real"), 0755), 0);
	put(at("real/pg_hba.conf"), "local all all peer\n");
	/* no symlink: resolved, the file need not exist */
	assert_int_equal(file_resolve(at("conf/pg_hba.conf"), &dfd, &name, &bad, &bad_uid), 0);
	assert_string_equal(name, "pg_hba.conf");
	assert_int_equal(fstat(dfd, &a), 0);
	assert_int_equal(stat(at("conf"), &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(dfd);
	free(name);
	assert_int_equal(file_resolve("pg_hba.conf", &dfd, &name, NULL, NULL), -EINVAL);
	assert_int_equal(file_resolve(at("conf/"), &dfd, &name, NULL, NULL), -EINVAL);

	/* a symlink in a directory others may write: refused, named */
	assert_int_equal(symlink(at("real/pg_hba.conf"), at("conf/hba")), 0);
	assert_int_equal(chmod(at("conf"), 0777), 0);
	assert_int_equal(file_resolve(at("conf/hba"), &dfd, &name, &bad, &bad_uid), -ELOOP);
	assert_non_null(bad);
	/* the first not root's alone: as root, the directory others may
	 * write; else ours, top or above it (TMPDIR) */
	if (geteuid() == 0)
		assert_string_equal(bad, at("conf"));
	else
		assert_int_equal(strncmp(bad, top, strlen(bad)), 0);
	free(bad);
	bad = NULL;
	/* a directory on the path that is a link, same */
	assert_int_equal(symlink(at("real"), at("conf/dirlink")), 0);
	assert_int_equal(file_resolve(at("conf/dirlink/pg_hba.conf"), &dfd, &name, &bad, &bad_uid), -ELOOP);
	free(bad);
	bad = NULL;
	assert_int_equal(chmod(at("conf"), 0755), 0);
	if (geteuid() != 0) {
		/* not root: the link is someone else's than root's */
		assert_int_equal(file_resolve(at("conf/hba"), &dfd, &name, &bad, &bad_uid), -ELOOP);
		assert_int_equal(bad_uid, geteuid());
		free(bad);
		return;
	}
	/* root's alone everywhere (a sticky /tmp included): followed */
	assert_int_equal(file_resolve(at("conf/hba"), &dfd, &name, &bad, &bad_uid), 0);
	assert_string_equal(name, "pg_hba.conf");
	assert_int_equal(fstat(dfd, &a), 0);
	assert_int_equal(stat(at("real"), &b), 0);
	assert_true(a.st_ino == b.st_ino);
	close(dfd);
	free(name);
	assert_int_equal(file_resolve(at("conf/dirlink/pg_hba.conf"), &dfd, &name, &bad, &bad_uid), 0);
	close(dfd);
	free(name);
	/* the link's target belongs to someone else: refused */
	assert_int_equal(chown(at("real/pg_hba.conf"), 1, 1), 0);
	assert_int_equal(file_resolve(at("conf/hba"), &dfd, &name, &bad, &bad_uid), -ELOOP);
	assert_int_equal(bad_uid, 1);
	free(bad);
	assert_int_equal(chown(at("real/pg_hba.conf"), 0, 0), 0);
}

static void test_replace_at(void **state)
{
	char *buf = NULL;
	size_t len;
	struct stat st;
	int dfd;

	(void)state;
	assert_int_equal(mkdir(at("w"), 0755), 0);
	put(at("w/f"), "old\n");
	dfd = open(at("w"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	put(at("w/f" FILE_REPLACE_SUFFIX), "crashed run\n");   /* left behind */
	assert_int_equal(file_replace_at(dfd, "f", "new\n", 4, 0640, geteuid(), getegid()), 0);
	assert_int_equal(file_read_all(at("w/f"), 0, &buf, &len, &st), 0);
	assert_string_equal(buf, "new\n");
	assert_int_equal(st.st_mode & 07777, 0640);
	free(buf);
	assert_int_equal(access(at("w/f" FILE_REPLACE_SUFFIX), F_OK), -1);
	assert_int_equal(file_replace_at(dfd, "a/b", "x", 1, 0600, geteuid(), getegid()), -EINVAL);
	if (geteuid() == 0) {
		/* as an owner who cannot write the directory: refused, and
		 * nothing left behind */
		assert_int_equal(file_replace_at(dfd, "f", "x", 1, 0644, 65534, 65534), -EACCES);
		assert_int_equal(file_read_all(at("w/f"), 0, &buf, &len, NULL), 0);
		assert_string_equal(buf, "new\n");
		free(buf);
		assert_int_equal(access(at("w/f" FILE_REPLACE_SUFFIX), F_OK), -1);
		/* and root's ids are back */
		assert_int_equal(file_replace_at(dfd, "g", "y", 1, 0600, 0, 0), 0);
		assert_int_equal(stat(at("w/g"), &st), 0);
		assert_int_equal(st.st_uid, 0);
		/* a directory the owner can write: the file is theirs */
		assert_int_equal(chown(at("w"), 65534, 65534), 0);
		assert_int_equal(file_replace_at(dfd, "h", "z", 1, 0644, 65534, 65534), 0);
		assert_int_equal(stat(at("w/h"), &st), 0);
		assert_int_equal(st.st_uid, 65534);
		assert_int_equal(st.st_gid, 65534);
	}
	close(dfd);
}

static void test_resolve_in(void **state)
{
	char *name = NULL, *bad = NULL;
	struct stat a, b;
	int root, dfd = -1;

	(void)state;
	/* a root of its own (a container's): "/x", ".." at the top and an
	 * absolute symlink all stay inside it */
	assert_int_equal(mkdir(at("ctr"), 0755), 0);
	assert_int_equal(mkdir(at("ctr/etc"), 0755), 0);
	put(at("ctr/etc/pg_hba.conf"), "local all all peer\n");
	root = open(at("ctr"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(file_resolve_in(root, "/etc/pg_hba.conf", &dfd, &name, &bad, NULL), 0);
	assert_string_equal(name, "pg_hba.conf");
	assert_int_equal(fstat(dfd, &a), 0);
	assert_int_equal(stat(at("ctr/etc"), &b), 0);
	assert_true(a.st_ino == b.st_ino);
	close(dfd);
	free(name);
	assert_int_equal(file_resolve_in(root, "/../../etc/pg_hba.conf", &dfd, &name, &bad, NULL), 0);
	assert_int_equal(fstat(dfd, &a), 0);
	assert_true(a.st_ino == b.st_ino);     /* not the host's /etc */
	close(dfd);
	free(name);
	assert_int_equal(file_resolve_in(root, "/", &dfd, &name, NULL, NULL), -EINVAL);
	assert_int_equal(file_resolve_in(root, "/nodir/pg_hba.conf", &dfd, &name, NULL, NULL), -ENOENT);
	assert_int_equal(file_resolve_in(root, "/etc/pg_hba.conf/x", &dfd, &name, NULL, NULL), -ENOTDIR);
	if (geteuid() == 0) {
		/* root's own link, absolute: followed inside the root only */
		assert_int_equal(symlink("/etc", at("ctr/conf")), 0);
		assert_int_equal(file_resolve_in(root, "/conf/pg_hba.conf", &dfd, &name, &bad, NULL), 0);
		assert_int_equal(fstat(dfd, &a), 0);
		assert_true(a.st_ino == b.st_ino);
		close(dfd);
		free(name);
	}
	close(root);
}

static void test_replace_path(void **state)
{
	char *buf = NULL;
	size_t len;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(at("p"), 0700), 0);
	assert_int_equal(file_replace(at("p/state.json"), "{}\n", 3, 0600, geteuid(), getegid()), 0);
	assert_int_equal(file_read_all(at("p/state.json"), 0, &buf, &len, &st), 0);
	assert_string_equal(buf, "{}\n");
	assert_int_equal(st.st_mode & 07777, 0600);
	free(buf);
	/* replaced whole, with an empty file too */
	assert_int_equal(file_replace(at("p/state.json"), "", 0, 0600, geteuid(), getegid()), 0);
	assert_int_equal(file_read_all(at("p/state.json"), 0, &buf, &len, NULL), 0);
	assert_int_equal(len, 0);
	free(buf);
	assert_int_equal(access(at("p/state.json" FILE_REPLACE_SUFFIX), F_OK), -1);
	assert_int_equal(file_replace(at("nodir/f"), "x", 1, 0600, geteuid(), getegid()), -ENOENT);
	assert_int_equal(fsync_dir_of(at("p/state.json")), 0);
	assert_int_equal(fsync_dir_of(at("nodir/f")), -ENOENT);
	/* the default limit, and one byte over a given one */
	assert_int_equal(file_replace(at("p/ten"), "0123456789", 10, 0600, geteuid(), getegid()), 0);
	assert_int_equal(file_read_all(at("p/ten"), 10, &buf, &len, NULL), 0);
	free(buf);
	assert_int_equal(file_read_all(at("p/ten"), 9, &buf, &len, NULL), -EFBIG);
	assert_int_equal(file_read_all(at("p/none"), 0, &buf, &len, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_refuses),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_replace_at),
		cmocka_unit_test(test_resolve_in),
		cmocka_unit_test(test_replace_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
