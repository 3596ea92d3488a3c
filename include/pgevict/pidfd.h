/* SPDX-License-Identifier: MIT */
/*
 * pidfd.h -- processes by pidfd, not by number.
 *
 * Owns opening a pidfd for a discovered process and proving it is the same
 * process (the start time read after the open equals the one discovered,
 * so a pid reused in between is refused), sending it a signal, and waiting
 * for many of them to exit at once.  It never sends SIGKILL or SIGQUIT: to
 * a PostgreSQL backend either makes the postmaster reset the cluster.
 * Needs CAP_KILL for other users' processes.
 */
#ifndef PGEVICT_PIDFD_H
#define PGEVICT_PIDFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Open a pidfd for PID and check under PROC_DIRFD that its start time is
 * still START_TICKS.  Returns the fd (O_CLOEXEC), -ESRCH when the process
 * is gone or the pid now names another process, other -errno.
 */
int pidfd_open_verified(int proc_dirfd, pid_t pid, unsigned long long start_ticks);

/* Send SIG (SIGTERM or SIGINT only) through FD.  0 or -errno (-ESRCH:
 * already exited; -EINVAL: a signal this module refuses). */
int pidfd_signal(int fd, int sig);

/* Send SIGHUP through FD: a postmaster rereads its configuration files
 * (pg_ctl reload does the same).  0 or -errno. */
int pidfd_reload(int fd);

/* Has the process behind FD exited?  Never blocks. */
bool pidfd_exited(int fd);

/*
 * Wait until every fd of FDS[0..N) with WANT[i] set has exited, or until
 * TIMEOUT_MS passed; set DONE[i] for those that exited (DONE may alias
 * nothing else).  PROGRESS, when not NULL, is called now and then with the
 * count of exited ones.  Returns the number still running.
 */
size_t pidfd_wait_all(const int *fds, const bool *want, bool *done, size_t n, int timeout_ms,
		      void (*progress)(size_t exited, size_t total, void *arg), void *arg);

#endif
