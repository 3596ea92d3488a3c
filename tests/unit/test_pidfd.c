/* SPDX-License-Identifier: MIT */
/*
 * test_pidfd.c -- a pid reused between discovery and action is never
 * signalled.  Uses a real child process (no root needed) and a fixture
 * /proc tree for the start-time reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgevict/pidfd.h"
#include "pgevict/procfs.h"

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void test_reused_pid_is_refused(void **state)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t pid = spawn_sleeper();
	unsigned long long ticks;
	int fd, status;

	(void)state;
	assert_true(proc >= 0 && pid > 0);
	assert_int_equal(procfs_start_ticks(proc, pid, &ticks, NULL), 0);
	/* Discovered with another start time: the pid names another process
	 * now, so no pidfd, no signal. */
	assert_int_equal(pidfd_open_verified(proc, pid, ticks + 1), -ESRCH);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);   /* still running */

	fd = pidfd_open_verified(proc, pid, ticks);
	assert_true(fd >= 0);
	assert_false(pidfd_exited(fd));
	/* the two signals that reset a cluster are refused outright */
	assert_int_equal(pidfd_signal(fd, SIGKILL), -EINVAL);
	assert_int_equal(pidfd_signal(fd, SIGQUIT), -EINVAL);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	assert_int_equal(pidfd_signal(fd, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_true(pidfd_exited(fd));
	/* a gone process: ESRCH, not an error to report */
	assert_int_equal(pidfd_signal(fd, SIGTERM), -ESRCH);
	assert_int_equal(pidfd_open_verified(proc, pid, ticks), -ESRCH);
	close(fd);
	close(proc);
}

static void test_wait_all(void **state)
{
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t a = spawn_sleeper(), b = spawn_sleeper();
	unsigned long long ta, tb;
	int fds[2];
	bool want[2] = { true, true }, done[2] = { false, false };

	(void)state;
	assert_int_equal(procfs_start_ticks(proc, a, &ta, NULL), 0);
	assert_int_equal(procfs_start_ticks(proc, b, &tb, NULL), 0);
	fds[0] = pidfd_open_verified(proc, a, ta);
	fds[1] = pidfd_open_verified(proc, b, tb);
	assert_int_equal(pidfd_signal(fds[0], SIGTERM), 0);
	/* b keeps running: one left after the timeout */
	assert_int_equal(pidfd_wait_all(fds, want, done, 2, 200, NULL, NULL), 1);
	assert_true(done[0]);
	assert_false(done[1]);
	assert_int_equal(pidfd_signal(fds[1], SIGTERM), 0);
	assert_int_equal(pidfd_wait_all(fds, want, done, 2, 2000, NULL, NULL), 0);
	assert_true(done[1]);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	close(proc);
}

static void count_progress(size_t exited, size_t total, void *arg)
{
	size_t *last = arg;

	assert_true(exited <= total);
	assert_true(exited >= *last);   /* never goes back */
	*last = exited;
}

/* More children than one epoll batch (256), all ending at once, and one
 * not wanted: every wanted one is seen exactly once. */
static void test_wait_many(void **state)
{
	enum { N = 300 };
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	static pid_t pids[N];
	static int fds[N];
	static bool want[N], done[N];
	size_t i, last = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		unsigned long long t;

		pids[i] = spawn_sleeper();
		assert_int_equal(procfs_start_ticks(proc, pids[i], &t, NULL), 0);
		fds[i] = pidfd_open_verified(proc, pids[i], t);
		assert_true(fds[i] >= 0);
		want[i] = i != 7;
		done[i] = false;
	}
	for (i = 0; i < N; i++)
		if (want[i])
			assert_int_equal(pidfd_signal(fds[i], SIGTERM), 0);
	assert_int_equal(pidfd_wait_all(fds, want, done, N, 10000, count_progress, &last), 0);
	assert_int_equal(last, N - 1);
	for (i = 0; i < N; i++)
		assert_true(done[i] == want[i]);
	assert_int_equal(pidfd_signal(fds[7], SIGTERM), 0);
	for (i = 0; i < N; i++) {
		waitpid(pids[i], NULL, 0);
		close(fds[i]);
	}
	close(proc);
}

/* A fixture /proc: comm with blanks and parentheses must not shift fields. */
static void test_start_ticks_fixture(void **state)
{
	char dir[] = "/tmp/pgevict-procfix.XXXXXX", path[256];
	unsigned long long ticks = 0;
	char st = 0;
	int proc;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/4242", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4242/stat", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "4242 (postgres: x) (y) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 "
		   "987654 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
	fclose(f);
	proc = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(procfs_start_ticks(proc, 4242, &ticks, &st), 0);
	assert_int_equal(ticks, 987654);
	assert_int_equal(st, 'S');
	assert_int_equal(procfs_start_ticks(proc, 4243, &ticks, &st), -ENOENT);
	close(proc);
	unlink(path);
	snprintf(path, sizeof(path), "%s/4242", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reused_pid_is_refused),
		cmocka_unit_test(test_wait_all),
		cmocka_unit_test(test_wait_many),
		cmocka_unit_test(test_start_ticks_fixture),
	};

	return cmocka_run_group_tests_name("pidfd", tests, NULL, NULL);
}
