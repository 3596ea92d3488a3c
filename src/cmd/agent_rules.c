/* SPDX-License-Identifier: MIT */
/*
 * agent_rules.c -- the agent's rule files: found, checked, read, parsed
 * (command layer: it reads files and reports).  See agent.h.
 *
 * Rule files are trusted like sudoers: the directory and every file must
 * be owned by root, writable by no one else, and no symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "pgevict/agent.h"
#include "pgevict/duration.h"
#include "pgevict/cmd.h"
#include "pgevict/escape.h"

#define RULE_FILE_MAX (1 << 20)

static int conf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/*
 * Rule files are trusted like sudoers: the directory and every file must
 * be owned by root, writable by no one else, and no symlink.  Why the
 * file or directory of stat ST is not (with the fix), or NULL if it is.
 */
static const char *untrusted(const struct stat *st, bool dir, const char **ret_fix)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		*ret_fix = "make it a regular file";
		return dir ? "not a directory" : "not a regular file";
	}
	if (st->st_uid != 0) {
		*ret_fix = "chown root it";
		return "not owned by root";
	}
	*ret_fix = "chmod go-w it";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH))
		return "writable by group and others";
	if (st->st_mode & S_IWGRP)
		return "writable by group";
	if (st->st_mode & S_IWOTH)
		return "writable by others";
	return NULL;
}

/* WHAT is "rule file", "rules directory" or "rules". */
static void refuse(int prio, const char *what, const char *path, const char *why, const char *fix)
{
	agent_say(prio, "refusing %s '%s': %s (%s; %s must be owned by root and writable only by root)", what, path,
	    why, fix, strcmp(what, "rule file") == 0 ? "rule files" : "the rules directory and its files");
}

/*
 * Open NAME (relative to DIRFD) without following a symlink and without
 * blocking on a FIFO; its stat in *RET_ST.  An fd, or -errno (-ELOOP: a
 * symlink).
 */
static int open_nofollow(int dirfd, const char *name, struct stat *ret_st)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The whole of the regular file open on FD (ST_SIZE bytes, at most MAX),
 * NUL-terminated, malloc'd.  0 or -errno (-EFBIG: too large). */
static int read_fd_all(int fd, off_t st_size, size_t max, char **ret, size_t *ret_len)
{
	char *buf;
	size_t len = 0, want;

	if (st_size < 0 || (size_t)st_size > max)
		return -EFBIG;
	want = (size_t)st_size;
	if (!(buf = malloc(want + 1)))
		return -ENOMEM;
	while (len < want) {
		ssize_t n = read(fd, buf + len, want - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Check, read and parse the rule file open on FD (stat ST; FILE: its
 * path, for messages) into *SET.  0, or 1 when it is bad (said). */
static int load_fd(int fd, const struct stat *st, const char *file, int prio, struct rule_set *set)
{
	struct rule_error err;
	const char *why, *fix;
	char *text = NULL;
	size_t len = 0;
	int r;

	if ((why = untrusted(st, false, &fix))) {
		refuse(prio, "rule file", file, why, fix);
		return 1;
	}
	r = read_fd_all(fd, st->st_size, RULE_FILE_MAX, &text, &len);
	if (r < 0) {
		agent_say(prio, "cannot read rule file '%s': %s", file, strerror(-r));
		return 1;
	}
	r = rules_parse(file, text, len, set, &err);
	free(text);
	if (r < 0) {
		if (err.line > 0)
			agent_say(prio, "%s:%d: %s", file, err.line, err.msg);
		else
			agent_say(prio, "%s: %s", file, err.msg);
		return 1;
	}
	return 0;
}

/* The same for NAME in the directory DIRFD, opened without following a
 * link. */
static int load_file(int dirfd, const char *name, const char *file, int prio, struct rule_set *set)
{
	struct stat st;
	int fd, r;

	fd = open_nofollow(dirfd, name, &st);
	if (fd == -ELOOP) {
		refuse(prio, "rule file", file, "a symlink", "replace the link with the file itself");
		return 1;
	}
	if (fd < 0) {
		agent_say(prio, "cannot read rule file '%s': %s", file, strerror(-fd));
		return 1;
	}
	r = load_fd(fd, &st, file, prio, set);
	close(fd);
	return r;
}

/*
 * Load PATH (a directory: its *.conf files in name order; or one file)
 * into *RET.  PATH and every file are opened without following symlinks
 * and must be owned by root and writable only by root (see untrusted);
 * what is read is the file checked, through one fd.  Every bad file is
 * reported (`pgevict: FILE:LINE: what`); returns 0, or the number of bad
 * files, or -errno when PATH cannot be read or is refused (reported too).
 */
int agent_load_rules(const char *path, int prio, struct rule_set *ret, size_t *ret_nfiles)
{
	struct dirent **names = NULL;
	struct stat st;
	const char *why, *fix;
	char *top = NULL;
	size_t n0;
	int fd = -1, n = 0, i, r = 0;

	memset(ret, 0, sizeof(*ret));
	*ret_nfiles = 0;
	/* "dir/" would follow a symlink named dir: drop trailing slashes */
	if (!(top = strdup(path))) {
		agent_say(prio, "out of memory");
		return -ENOMEM;
	}
	for (n0 = strlen(top); n0 > 1 && top[n0 - 1] == '/'; n0--)
		top[n0 - 1] = '\0';
	fd = open_nofollow(AT_FDCWD, top, &st);
	if (fd == -ELOOP) {
		refuse(prio, "rules", path, "a symlink", "name the directory or file itself");
		r = -ELOOP;
		goto out;
	}
	if (fd < 0) {
		agent_say(prio, "cannot read rules '%s': %s", path, strerror(-fd));
		r = fd;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = load_fd(fd, &st, path, prio, ret);
		if (r == 0)
			*ret_nfiles = 1;
		goto out;
	}
	if ((why = untrusted(&st, true, &fix))) {
		refuse(prio, "rules directory", path, why, fix);
		r = -EPERM;
		goto out;
	}
	n = scandirat(fd, ".", &names, conf_filter, alphasort);
	if (n < 0) {
		r = -errno;
		agent_say(prio, "cannot read rules '%s': %s", path, strerror(-r));
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/%s", top, names[i]->d_name);
		if (load_file(fd, names[i]->d_name, file, prio, ret) != 0)
			r++;
		else
			(*ret_nfiles)++;
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (fd >= 0)
		close(fd);
	free(top);
	return r;
}

int agent_check_rules(const char *path)
{
	struct rule_set set;
	size_t nfiles, i;
	int bad;

	bad = agent_load_rules(path, LOG_ERR, &set, &nfiles);
	if (bad != 0) {
		rules_clear(&set);
		return EXIT_USAGE;
	}
	for (i = 0; i < set.n; i++) {
		const struct rule *r = &set.v[i];
		char *m = escape_term(r->match), *f = escape_term(r->file);
		printf("%s:%d: [%s] %s %s", f ? f : "?", r->line, r->name, action_name(r->action), m ? m : "");
		if (r->keep)
			printf(" (keeps the %ld oldest%s)", r->keep,
			       r->per == PER_USER ? " per user" : r->per == PER_DB ? " per database" :
			       r->per == PER_CLIENT ? " per client address" : "");
		if (r->headroom)
			printf(" (keeps %ld slots free, ending the %s first)", r->headroom,
			       r->order == ORDER_OLDEST ? "oldest" : r->order == ORDER_NEWEST ? "newest" : "idle longest");
		if (r->lockdown_after_ms) {
			char after[32];
			size_t k;
			duration_format(r->lockdown_after_ms, after, sizeof(after));
			printf(" (locks the cluster down after %s short, letting in", after);
			for (k = 0; k < r->nlockdown_allow; k++) {
				char *e = escape_term(r->lockdown_allow[k]);
				printf("%s %s", k ? "," : "", e ? e : "?");
				free(e);
			}
			printf("%sthe owner over the Unix socket)", r->nlockdown_allow ? " and " : " ");
		}
		putchar('\n');
		free(m);
		free(f);
	}
	printf("%zu rules in %zu files: ok\n", set.n, nfiles);
	rules_clear(&set);
	return 0;
}
