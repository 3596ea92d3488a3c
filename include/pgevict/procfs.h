/* SPDX-License-Identifier: MIT */
/*
 * procfs.h -- the /proc adapter.
 *
 * Owns reading processes: the whole table (each process's stat: the
 * host's through libproc2, a test's tree or top's kept files directly)
 * and the per-process files (titles, fd links, cwd files, namespaces),
 * through openat() on a /proc directory fd, so tests can aim the readers
 * at a fixture tree.  It decides
 * nothing about PostgreSQL.  Reading other users' fd and cwd needs root
 * (CAP_SYS_PTRACE / CAP_DAC_READ_SEARCH).
 */
#ifndef PGEVICT_PROCFS_H
#define PGEVICT_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pgevict/snapshot.h"

struct prockeep;

struct proc_entry {
	pid_t pid;
	pid_t ppid;
	char state;                       /* R S D T Z ... */
	unsigned long long start_ticks;   /* stat field 22 */
	unsigned long long cpu_ticks;     /* utime + stime (14, 15), as read */
	long long rss_pages;              /* resident pages (24), as read */
	unsigned nchildren;
	char *cmdline;                    /* argv joined by blanks; NULL until
	                                     procfs_fill_cmdlines */
};

struct proc_table {
	struct proc_entry *v;             /* sorted by pid */
	size_t n;
	int64_t mono_us;                  /* when it was read (clock_mono_us) */
};

/* Every process under PROC_DIRFD (not threads), each from one read of its
 * stat file: through libproc2 when PROC_DIRFD is the host's /proc and
 * KEEP is NULL, else directly (through KEEP's kept fd when it has one for
 * that pid: prockeep.h).  A process that exits meanwhile is left out.  0
 * or -errno. */
int procfs_scan(int proc_dirfd, struct prockeep *keep, struct proc_table *ret);

/* Read the command lines (titles) of the N processes PIDS, one read of at
 * most TITLE_MAX bytes each (through KEEP's fds when not NULL:
 * prockeep.h), cleaned by title_clean (title.h).
 * Processes that vanished keep cmdline NULL.  0 or -ENOMEM. */
int procfs_fill_cmdlines(struct proc_table *t, int proc_dirfd, const pid_t *pids, size_t n,
			 struct prockeep *keep);

/* The entry for PID, or NULL.  Binary search. */
struct proc_entry *procfs_find(const struct proc_table *t, pid_t pid);

void proc_table_clear(struct proc_table *t);

/* Clock ticks per second and the boot time (epoch seconds, /proc/stat). */
long procfs_hertz(void);
int procfs_boot_time(int proc_dirfd, int64_t *ret_epoch);

/*
 * Read the file REL under /proc/PID (e.g. "cwd/postmaster.pid"; PID 0:
 * REL under /proc itself), at most
 * MAX bytes, NUL-terminated.  0 and *ret_buf (caller frees), or -errno.
 */
int procfs_read(int proc_dirfd, pid_t pid, const char *rel, size_t max, char **ret_buf,
		size_t *ret_len);

/*
 * Read a file someone other than root can write (postmaster.pid,
 * PG_VERSION): REL under /proc/PID opened O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC
 * (a FIFO never blocks, a symlink as the last component is refused), then
 * fileio.h's file_read_fd.  Links before the last component, such as "cwd", are
 * followed.
 */
int procfs_read_file(int proc_dirfd, pid_t pid, const char *rel, size_t max, char **ret_buf,
		     size_t *ret_len, struct stat *ret_st);

/* stat() of /proc/PID/REL following links (e.g. "cwd"). 0 or -errno. */
int procfs_stat(int proc_dirfd, pid_t pid, const char *rel, struct stat *ret);

/*
 * Start time (stat field 22) and state of PID, read now.  Used to check a
 * pid still names the process that was discovered.  0, -ENOENT when gone,
 * -EINVAL when the stat line does not parse, other -errno.
 */
int procfs_start_ticks(int proc_dirfd, pid_t pid, unsigned long long *ret_ticks,
		       char *ret_state);

/* The sockets PID holds open ("socket:[N]" fd links; struct proc_sock is
 * snapshot.h's), in fd order.
 * 0 and a malloc'd array (possibly empty), or -errno. */
int procfs_socket_fds(int proc_dirfd, pid_t pid, struct proc_sock **ret, size_t *ret_n);

/* The socket inode behind fd FD of PID: 0 and *ret_inode, -ENOTSOCK when
 * that fd is something else, other -errno (-ENOENT: no such fd). */
int procfs_fd_socket(int proc_dirfd, pid_t pid, int fd, unsigned long *ret_inode);

/* Inode of /proc/PID/ns/net (PID 0: the caller's). 0 or -errno. */
int procfs_netns(int proc_dirfd, pid_t pid, unsigned long *ret_ino);
/* The same for namespace KIND ("net", "pid", "mnt", "user"). */
int procfs_ns(int proc_dirfd, pid_t pid, const char *kind, unsigned long *ret_ino);
/*
 * An O_PATH fd of PID's root directory (/proc/PID/root: a container's
 * own file tree, in its mount namespace), when PID is still the process
 * that started at START_TICKS (read through the /proc/PID directory fd
 * the root is then opened from, so a reused pid is never taken).  0 and
 * *ret_fd, -ESRCH when that process is gone, other -errno.  Walk it only
 * with openat2(RESOLVE_IN_ROOT): a plain path through it follows the
 * container's absolute symlinks out into ours.
 */
int procfs_open_root(int proc_dirfd, pid_t pid, unsigned long long start_ticks, int *ret_fd);

/* The innermost pid of PID ("NSpid:" in status), for postmasters in a pid
 * namespace whose postmaster.pid holds their own view.  0 or -errno. */
int procfs_inner_pid(int proc_dirfd, pid_t pid, pid_t *ret);

/* Real and effective uid and real gid of PID ("Uid:"/"Gid:" in status, as
 * seen from our user namespace).  0 or -errno. */
int procfs_ids(int proc_dirfd, pid_t pid, uid_t *ret_ruid, uid_t *ret_euid, gid_t *ret_rgid);

/* The uid that is root (uid 0) in PID's user namespace, as seen from ours
 * (/proc/PID/uid_map): 0 for a process of the host.  0, -ENOENT when 0 is
 * not mapped, other -errno. */
int procfs_root_uid(int proc_dirfd, pid_t pid, uid_t *ret);
/* Our UID as PID's user namespace sees it (uid_map): 0 and *RET, -ENOENT
 * when it is not mapped there, other -errno. */
int procfs_uid_inside(int proc_dirfd, pid_t pid, uid_t uid, uid_t *ret);

/* Is a process named (comm) one of NAMES[0..N) running?  1 and the name
 * in RET, 0, or -errno. */
int procfs_find_comm(int proc_dirfd, const char *const *names, size_t n, char *ret, size_t len);

#endif
