/* SPDX-License-Identifier: MIT */
/*
 * test_prockeep.c -- unit tests for prockeep.h and procfs_scan on a
 * fixture /proc (a scratch directory of PID/stat, cmdline and io files):
 * the table (sorted, children counted, a broken stat and a non-pid name
 * left out), a kept fd read again (a file replaced under its name is not
 * seen), a start time that is not the process's refused, the sweep, the
 * bound on fds, and a read by pid alone.  Needs no root.
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

#include "pgevict/prockeep.h"
#include "pgevict/procfs.h"
#include "scratch.h"

/* PID/stat with PPID, START, utime 5, stime 7, rss 9. */
static void proc(pid_t pid, pid_t ppid, unsigned long long start, const char *io)
{
	char dir[32], text[256];

	snprintf(dir, sizeof(dir), "%d", (int)pid);
	mkdir(at(dir), 0755);
	snprintf(text, sizeof(text),
		 "%d (postgres: x (y)) S %d 1 1 0 -1 0 0 0 0 0 5 7 0 0 20 0 1 0 %llu 100 9 0 0\n", (int)pid,
		 (int)ppid, start);
	snprintf(dir, sizeof(dir), "%d/stat", (int)pid);
	put(at(dir), text);
	snprintf(dir, sizeof(dir), "%d/cmdline", (int)pid);
	put(at(dir), "postgres: app db [local] idle");
	snprintf(dir, sizeof(dir), "%d/io", (int)pid);
	put(at(dir), io);
}

/* Each test's: the fixture /proc open, a keep of at most MAX_FDS fds. */
static int pfd = -1;
static struct prockeep k;

static int open_fixture(size_t max_fds)
{
	prockeep_init(&k, max_fds);
	pfd = open(at(""), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return pfd >= 0 ? 0 : -1;
}

static int fixture(void **state)
{
	(void)state;
	return open_fixture(100);
}

/* room for 4 entries' files and one more file */
static int small_fixture(void **state)
{
	(void)state;
	return open_fixture(4 * PROCKEEP_NFILES + 1);
}

static int fixture_end(void **state)
{
	(void)state;
	prockeep_clear(&k);
	assert_int_equal(k.fds, 0);
	close(pfd);
	pfd = -1;
	return 0;
}

static void test_scan(void **state)
{
	struct proc_table t = { 0 };
	struct proc_entry *e;
	(void)state;

	proc(100, 1, 1000, "rchar: 1\n");
	proc(120, 100, 2000, "rchar: 2\n");
	proc(110, 100, 3000, "rchar: 3\n");
	mkdir(at("130"), 0755);
	put(at("130/stat"), "130 (broken");
	mkdir(at("self"), 0755);
	assert_int_equal(procfs_scan(pfd, NULL, &t), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.v[0].pid, 100);
	assert_int_equal(t.v[1].pid, 110);
	assert_int_equal(t.v[2].pid, 120);
	assert_true(t.mono_us > 0);
	e = procfs_find(&t, 100);
	assert_non_null(e);
	assert_int_equal(e->nchildren, 2);
	e = procfs_find(&t, 110);
	assert_int_equal(e->ppid, 100);
	assert_int_equal(e->state, 'S');
	assert_int_equal(e->start_ticks, 3000);
	assert_int_equal(e->cpu_ticks, 12);
	assert_int_equal(e->rss_pages, 9);
	proc_table_clear(&t);
}

static void test_kept_fd_reads_its_own_file(void **state)
{
	char buf[64];
	(void)state;

	proc(200, 1, 500, "rchar: 10\n");
	assert_int_equal(prockeep_read(&k, pfd, 200, 500, PROCKEEP_IO, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "rchar: 10\n");
	assert_int_equal(k.fds, PROCKEEP_NFILES);
	/* a new file under the name: the kept fd still reads the one it
	 * opened (as a kept /proc fd reads its process, not the pid's next) */
	put(at("200/io.new"), "rchar: 99\n");
	assert_int_equal(rename(at("200/io.new"), at("200/io")), 0);
	assert_int_equal(prockeep_read(&k, pfd, 200, 500, PROCKEEP_IO, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "rchar: 10\n");
	assert_int_equal(prockeep_read(NULL, pfd, 200, 500, PROCKEEP_IO, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "rchar: 99\n");
	/* the title through the same entry, cut to the buffer */
	assert_int_equal(prockeep_read(&k, pfd, 200, 500, PROCKEEP_CMDLINE, buf, 9), 8);
	assert_string_equal(buf, "postgres");
	assert_int_equal(k.n, 1);
}

static void test_other_start_is_refused(void **state)
{
	char buf[64];
	(void)state;

	proc(300, 1, 700, "rchar: 1\n");
	assert_int_equal(prockeep_read(&k, pfd, 300, 701, PROCKEEP_IO, buf, sizeof(buf)), -ESRCH);
	assert_int_equal(k.fds, 0);
	assert_int_equal(prockeep_read(&k, pfd, 301, 700, PROCKEEP_IO, buf, sizeof(buf)), -ESRCH);
}

static void test_sweep_and_bound(void **state)
{
	char buf[64];
	pid_t pid;
	(void)state;

	for (pid = 400; pid < 440; pid++)
		proc(pid, 1, (unsigned long long)pid * 10, "rchar: 4\n");
	for (pid = 400; pid < 440; pid++)
		assert_int_equal(prockeep_read(&k, pfd, pid, (unsigned long long)pid * 10, PROCKEEP_IO, buf,
					       sizeof(buf)), 9);
	assert_int_equal(k.n, 40);
	assert_int_equal(k.fds, 4 * PROCKEEP_NFILES + 1);
	prockeep_sweep(&k);
	/* a pass that reads only two of them: the others go at its sweep */
	assert_int_equal(prockeep_read(&k, pfd, 400, 4000, PROCKEEP_IO, buf, sizeof(buf)), 9);
	assert_int_equal(prockeep_read(&k, pfd, 439, 4390, PROCKEEP_IO, buf, sizeof(buf)), 9);
	prockeep_sweep(&k);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.fds, PROCKEEP_NFILES);
	/* by pid alone: the kept stat */
	assert_true(prockeep_read_any(&k, pfd, 400, PROCKEEP_STAT, buf, sizeof(buf)) > 0);
	assert_int_equal(strncmp(buf, "400 (", 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scan, fixture, fixture_end),
		cmocka_unit_test_setup_teardown(test_kept_fd_reads_its_own_file, fixture, fixture_end),
		cmocka_unit_test_setup_teardown(test_other_start_is_refused, fixture, fixture_end),
		cmocka_unit_test_setup_teardown(test_sweep_and_bound, small_fixture, fixture_end),
	};
	return cmocka_run_group_tests_name("prockeep", tests, setup, teardown);
}
