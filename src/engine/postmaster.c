/* SPDX-License-Identifier: MIT */
/*
 * postmaster.c -- is this process a postmaster, and what do its files say
 * (adapter: /proc, the cluster's own files; see postmaster.h).
 *
 * Owns verification (its cwd holds a postmaster.pid whose first line is
 * its pid, and the evidence agrees: see verify_postmaster; one that fails
 * is only listed, as unverified) and what a cluster's configuration says
 * without SQL (read inside its root as its owner, includes followed): its
 * owner's name, version, hba_file and cluster_name, its namespaces and
 * container.  It does not look at the postmaster's children or sockets
 * (discover.c, join.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pgevict/container.h"
#include "pgevict/fileio.h"
#include "pgevict/pgconf.h"
#include "pgevict/pmpid.h"
#include "pgevict/postmaster.h"

#define PMPID_MAX 8192
#define CONF_MAX (4 << 20)

static char *trim_dup(const char *s)
{
	const char *e;
	char *out;

	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	out = malloc((size_t)(e - s) + 1);
	if (out) {
		memcpy(out, s, (size_t)(e - s));
		out[e - s] = '\0';
	}
	return out;
}

/* A path as the postmaster sees it, absolute: relative ones are taken
 * against its data directory. malloc'd. */
static char *abs_path(const char *data_dir, const char *p)
{
	char *out;
	size_t n;

	if (p[0] == '/' || !data_dir)
		return strdup(p);
	n = strlen(data_dir) + strlen(p) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", data_dir, p);
	return out;
}

/*
 * Reading a cluster's configuration: inside the postmaster's root (a
 * container's files through /proc/PID/root, never a symlink out of it, no
 * /proc magic link), with the cluster owner's file-system ids, so that
 * root reads nothing the owner could not; never a FIFO, never a link as the
 * last component, never more than CONF_MAX.
 */
struct conf_ctx {
	int rootfd;
	uid_t uid;
	gid_t gid;
};

static int conf_open(const struct conf_ctx *x, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int old_gid, old_uid, fd, err;

	old_gid = setfsgid(x->gid);
	old_uid = setfsuid(x->uid);
	/* Without CAP_SETUID/CAP_SETGID the switch fails silently; then read
	 * nothing rather than read as root.  (-1 only asks.) */
	if ((uid_t)setfsuid((uid_t)-1) != x->uid || (gid_t)setfsgid((gid_t)-1) != x->gid) {
		fd = -1;
		err = EPERM;
	} else {
		fd = (int)syscall(SYS_openat2, x->rootfd, path, &how, sizeof(how));
		err = errno;
	}
	setfsuid((uid_t)old_uid);
	setfsgid((gid_t)old_gid);
	return fd < 0 ? -err : fd;
}

static int conf_read(void *ctx, const char *path, char **ret_buf, size_t *ret_len)
{
	int fd, r;

	fd = conf_open(ctx, path, O_RDONLY);
	if (fd < 0)
		return fd;
	r = file_read_fd(fd, CONF_MAX, ret_buf, ret_len, NULL);
	close(fd);
	return r;
}

static int conf_list(void *ctx, const char *path, char ***ret_names, size_t *ret_n)
{
	char **v = NULL, **nv;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	fd = conf_open(ctx, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	if (!(d = fdopendir(fd))) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n >= 4096) {
			r = -EFBIG;
			goto out;
		}
		if (!(nv = realloc(v, (n + 1) * sizeof(*v))) || !(nv[n] = strdup(de->d_name))) {
			if (nv)
				v = nv;
			r = -ENOMEM;
			goto out;
		}
		v = nv;
		n++;
	}
	*ret_names = v;
	*ret_n = n;
	v = NULL;
	n = 0;
out:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	closedir(d);
	return r;
}

/* Where PostgreSQL takes a setting from, highest precedence first. */
struct setting {
	char *argv;          /* the command line */
	char *autoconf;      /* postgresql.auto.conf */
	char *conf;          /* postgresql.conf and its includes */
	char *conf_file;     /* the file of those that set it */
	char *autoconf_file;
};

static void setting_clear(struct setting *s)
{
	free(s->argv);
	free(s->autoconf);
	free(s->conf);
	free(s->conf_file);
	free(s->autoconf_file);
	memset(s, 0, sizeof(*s));
}

/*
 * NAME from the postmaster's command line, its configuration file (with
 * includes) and postgresql.auto.conf.  A file that cannot be read gives
 * nothing.  0 or -ENOMEM.
 */
static int postmaster_setting(const struct conf_ctx *x, const struct pg_cluster *c, const char *argv,
			      size_t argv_len, const char *name, struct setting *ret)
{
	struct pgconf_io io = { .read = conf_read, .list = conf_list, .ctx = (void *)x };
	char *conf_path = NULL, *auto_path = NULL, *v = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = pgconf_argv_get(argv, argv_len, name, &ret->argv)) < 0)
		goto out;
	if ((r = pgconf_argv_get(argv, argv_len, "config_file", &v)) < 0)
		goto out;
	conf_path = abs_path(c->data_dir, v ? v : "postgresql.conf");
	auto_path = abs_path(c->data_dir, "postgresql.auto.conf");
	if (!conf_path || !auto_path) {
		r = -ENOMEM;
		goto out;
	}
	r = pgconf_lookup(&io, conf_path, name, &ret->conf, &ret->conf_file);
	if (r == -ENOMEM)
		goto out;
	r = pgconf_lookup(&io, auto_path, name, &ret->autoconf, &ret->autoconf_file);
	if (r == -ENOMEM)
		goto out;
	r = 0;
out:
	free(v);
	free(conf_path);
	free(auto_path);
	if (r < 0)
		setting_clear(ret);
	return r;
}

/*
 * hba_file as PostgreSQL's precedence has it (command line, then
 * postgresql.auto.conf, then postgresql.conf, then the default), each
 * value made absolute; and when the places that name it disagree, one line
 * saying so in *ret_conflict.  Without SQL nobody can tell which one the
 * server read at its start: postgresql.auto.conf may hold a value staged by
 * ALTER SYSTEM and never in force.  0 or -ENOMEM.
 */
static int hba_from_settings(const struct pg_cluster *c, const struct setting *s, char **ret_hba,
			     char **ret_conflict)
{
	const char *where[3], *val[3];
	char *abs[3] = { NULL, NULL, NULL }, *dflt = NULL, *line = NULL, *where_conf = NULL,
	     *where_auto = NULL;
	size_t n = 0, i, len = 0;
	bool differ = false;
	FILE *f = NULL;
	int r = -ENOMEM;

	*ret_hba = *ret_conflict = NULL;
	if (!(dflt = abs_path(c->data_dir, "pg_hba.conf")))
		goto out;
	if (s->conf_file && asprintf(&where_conf, "in '%s'", s->conf_file) < 0)
		goto out;
	if (s->autoconf_file && asprintf(&where_auto, "in '%s'", s->autoconf_file) < 0)
		goto out;
	if (s->argv) {
		where[n] = "on the command line";
		val[n++] = s->argv;
	}
	if (s->conf) {
		where[n] = where_conf;
		val[n++] = s->conf;
	}
	if (s->autoconf) {
		if (!n) {
			where[n] = "by default";
			val[n++] = dflt;
		}
		where[n] = where_auto;
		val[n++] = s->autoconf;
	}
	for (i = 0; i < n; i++)
		if (!(abs[i] = abs_path(c->data_dir, val[i])))
			goto out;
	for (i = 1; i < n; i++)
		if (strcmp(abs[i], abs[0]) != 0)
			differ = true;
	if (differ) {
		if (!(f = open_memstream(&line, &len)))
			goto out;
		fprintf(f, "hba_file is");
		for (i = 0; i < n; i++)
			fprintf(f, "%s '%s' %s", i == 0 ? "" : i + 1 < n ? "," : n == 2 ? " but" : " and",
				abs[i], where[i]);
		if (fclose(f) != 0) {
			f = NULL;
			goto out;
		}
		f = NULL;
	}
	/* s->argv first, else the file that wins: auto.conf is read last. */
	*ret_hba = s->argv ? abs_path(c->data_dir, s->argv)
		 : s->autoconf ? abs_path(c->data_dir, s->autoconf)
		 : s->conf ? abs_path(c->data_dir, s->conf) : strdup(dflt);
	if (!*ret_hba)
		goto out;
	*ret_conflict = line;
	line = NULL;
	r = 0;
out:
	if (f)
		fclose(f);
	for (i = 0; i < 3; i++)
		free(abs[i]);
	free(dflt);
	free(line);
	free(where_conf);
	free(where_auto);
	return r;
}

static char *reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *reason(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out = NULL;
	va_end(ap);
	return out;
}

static void link_text(int pfd, pid_t pid, const char *rel, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%d/%s", (int)pid, rel);
	n = readlinkat(pfd, path, buf, len - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
}

/*
 * Is C (pid, data_dir from its postmaster.pid, whose fstat is PM_ST) a
 * PostgreSQL postmaster?  The evidence must agree: its executable is a
 * server binary only root can change, postmaster.pid's data directory is
 * the directory it runs in, and the process, that directory and
 * postmaster.pid share one uid that is not root.  0 with *ret_reason NULL
 * (verified; *ret_rootfd an O_PATH fd of its root and c->owner_* set), 0
 * with a malloc'd one-line *ret_reason, or -ENOMEM.
 */
static int verify_postmaster(int pfd, struct pg_cluster *c, const struct stat *pm_st, int *ret_rootfd,
			     char **ret_reason)
{
	char exe[PATH_MAX], cwd[PATH_MAX], path[64], *base, *why = NULL;
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct stat xst, cst, dst;
	uid_t ruid, euid, root_uid = 0;
	gid_t rgid;
	int rootfd = -1, dfd = -1;
	bool agree = false;
	size_t n;

	*ret_rootfd = -1;
	*ret_reason = NULL;
	/* Root of its user namespace: a container's root owns the server
	 * binary of the container's image (0 on the host). */
	if (procfs_root_uid(pfd, c->pid, &root_uid) < 0)
		root_uid = 0;

	link_text(pfd, c->pid, "exe", exe, sizeof(exe));
	n = strlen(exe);
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';     /* the package was upgraded under it */
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	snprintf(path, sizeof(path), "%d/exe", (int)c->pid);
	if (fstatat(pfd, path, &xst, 0) < 0 || !S_ISREG(xst.st_mode) ||
	    (xst.st_uid != 0 && xst.st_uid != root_uid) || (xst.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (strcmp(base, "postgres") != 0 && strcmp(base, "postmaster") != 0)) {
		why = reason("executable '%s' is not a root-owned PostgreSQL server binary", exe);
		goto out;
	}

	link_text(pfd, c->pid, "cwd", cwd, sizeof(cwd));
	if (procfs_stat(pfd, c->pid, "cwd", &cst) < 0) {
		why = reason("cannot see the directory it runs in");
		goto out;
	}
	if (!c->data_dir || c->data_dir[0] != '/') {
		why = reason("postmaster.pid names no data directory");
		goto out;
	}
	snprintf(path, sizeof(path), "%d/root", (int)c->pid);
	rootfd = openat(pfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0)
		dfd = (int)syscall(SYS_openat2, rootfd, c->data_dir, &how, sizeof(how));
	if (dfd < 0 || fstat(dfd, &dst) < 0 || dst.st_dev != cst.st_dev || dst.st_ino != cst.st_ino) {
		why = reason("postmaster.pid names '%s' but the process runs in '%s'", c->data_dir, cwd);
		goto out;
	}

	if (procfs_ids(pfd, c->pid, &ruid, &euid, &rgid) < 0) {
		why = reason("cannot read its user ids");
		goto out;
	}
	if (ruid != euid)
		why = reason("owner mismatch: process real uid %u, effective uid %u", (unsigned)ruid,
			     (unsigned)euid);
	else if (euid != cst.st_uid)
		why = reason("owner mismatch: process uid %u, data directory uid %u", (unsigned)euid,
			     (unsigned)cst.st_uid);
	else if (cst.st_uid != pm_st->st_uid)
		why = reason("owner mismatch: data directory uid %u, postmaster.pid uid %u",
			     (unsigned)cst.st_uid, (unsigned)pm_st->st_uid);
	else if (euid == 0 || euid == root_uid)
		why = reason("it runs as root (uid %u), which PostgreSQL never does", (unsigned)euid);
	else if (cst.st_mode & (S_IWGRP | S_IRWXO))
		why = reason("data directory '%s' has mode %04o (PostgreSQL requires 0700 or 0750)", cwd,
			     (unsigned)(cst.st_mode & 07777));
	else
		agree = true;
	if (!agree)
		goto out;       /* why is NULL only when out of memory */
	c->owner_uid = cst.st_uid;
	c->owner_gid = rgid;
	*ret_rootfd = rootfd;
	rootfd = -1;
	if (dfd >= 0)
		close(dfd);
	return 0;
out:
	if (dfd >= 0)
		close(dfd);
	if (rootfd >= 0)
		close(rootfd);
	if (!why)
		return -ENOMEM;
	*ret_reason = why;
	return 0;
}

static void set_owner_name(struct pg_cluster *c, uid_t uid)
{
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp)
		c->owner_name = strdup(pw.pw_name);
}

/*
 * The owner's name as the server itself would find it (peer
 * authentication asks getpwuid() inside the container): UID (as the
 * cluster's user namespace sees it) looked up in the etc/passwd of the
 * cluster's root.  The file is the container's: any name it gives is the
 * container's business, and only ever used as a role name to connect as
 * its owner.  Lines too long or malformed are skipped.
 */
static void set_owner_name_in(struct pg_cluster *c, const struct conf_ctx *x, uid_t uid)
{
	char *buf = NULL, *line, *next;
	size_t len;

	if (conf_read((void *)x, "/etc/passwd", &buf, &len) < 0)
		return;
	for (line = buf; line && *line; line = next) {
		char *f[4] = { 0 }, *p = line, *end;
		unsigned long v;
		int i;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (i < 4 || !f[0][0] || !f[2][0])
			continue;
		errno = 0;
		v = strtoul(f[2], &end, 10);
		if (errno || *end || v != (unsigned long)uid)
			continue;
		c->owner_name = strndup(f[0], 64);
		break;
	}
	free(buf);
}

/* Which container C runs in, from its cgroup path (container.h): only
 * for a process with namespaces of its own.  0 or -ENOMEM. */
static int set_container(int pfd, struct pg_cluster *c)
{
	struct container_ref ref;
	char *buf = NULL, label[CONTAINER_LABEL_MAX];
	size_t len;

	if (!c->ns_own || procfs_read(pfd, c->pid, "cgroup", 1 << 16, &buf, &len) < 0)
		return 0;
	if (container_from_cgroup(buf, len, &ref) == 0 && ref.runtime != CONTAINER_NONE) {
		container_label(&ref, label, sizeof(label));
		c->container_runtime = (int)ref.runtime;
		if (!(c->container = strdup(label)) || !(c->container_id = strdup(ref.id))) {
			free(buf);
			return -ENOMEM;
		}
	}
	free(buf);
	return 0;
}

/* Which of PID's namespaces differ from ours (pg_cluster.ns_own), their
 * inodes into C. */
static void set_namespaces(int pfd, struct pg_cluster *c)
{
	static const struct {
		const char *kind;
		unsigned bit;
		size_t off;
	} kinds[] = {
		{ "net", NS_NET, offsetof(struct pg_cluster, netns) },
		{ "pid", NS_PID, offsetof(struct pg_cluster, pidns) },
		{ "mnt", NS_MNT, offsetof(struct pg_cluster, mntns) },
		{ "user", NS_USER, offsetof(struct pg_cluster, userns) },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		unsigned long *ino = (unsigned long *)((char *)c + kinds[i].off), self = 0;
		if (procfs_ns(pfd, c->pid, kinds[i].kind, ino) < 0)
			*ino = 0;
		if (*ino && procfs_ns(pfd, 0, kinds[i].kind, &self) == 0 && self != *ino)
			c->ns_own |= kinds[i].bit;
	}
}

/* The integer setting NAME as the server would take it (command line,
 * then postgresql.auto.conf, then postgresql.conf), or DEF when none of
 * them names it, or -1 when what they name is not a number.  0 or
 * -ENOMEM. */
static int int_setting(const struct conf_ctx *x, const struct pg_cluster *c, const char *argv, size_t argv_len,
		       const char *name, int def, int *ret)
{
	struct setting st;
	const char *v;
	char *end;
	long n;
	int r;

	if ((r = postmaster_setting(x, c, argv, argv_len, name, &st)) < 0)
		return r;
	v = st.argv ? st.argv : st.autoconf ? st.autoconf : st.conf;
	n = v ? strtol(v, &end, 10) : 0;
	*ret = !v ? def : end != v && *end == 0 && n >= 0 && n < 1 << 20 ? (int)n : -1;
	setting_clear(&st);
	return 0;
}

/* The connection slots.  These take a restart: what the files say now is
 * what the server read at its start, unless they were edited since.
 * initdb writes max_connections; the reserved ones keep their defaults
 * (3; 0) unless set, which is trusted only when max_connections was
 * found (the files were read).  0 or -ENOMEM. */
static int read_slots(const struct conf_ctx *x, struct pg_cluster *c, const char *argv, size_t argv_len)
{
	int r, ver = c->version ? atoi(c->version) : 0;

	if ((r = int_setting(x, c, argv, argv_len, "max_connections", -1, &c->max_connections)) < 0)
		return r;
	if (c->max_connections <= 0) {
		c->max_connections = c->su_reserved = c->reserved = -1;
		return 0;
	}
	if ((r = int_setting(x, c, argv, argv_len, "superuser_reserved_connections", 3, &c->su_reserved)) < 0)
		return r;
	if (ver >= 16)
		return int_setting(x, c, argv, argv_len, "reserved_connections", 0, &c->reserved);
	c->reserved = ver > 0 ? 0 : -1;
	return 0;
}

/*
 * Is E a postmaster?  1 and *ret when it is a verified one, 2 and *ret
 * (->unverified says why) when it only looks like one, 0 when not,
 * -ENOMEM.  Nothing of an unverified one is read beyond its
 * postmaster.pid.
 */
int postmaster_load(int pfd, const struct proc_entry *e, struct pg_cluster **ret)
{
	struct pmpid pm;
	struct pg_cluster *c = NULL;
	struct conf_ctx x = { .rootfd = -1 };
	struct setting hba = { 0 }, name = { 0 };
	char *buf = NULL, *argv = NULL;
	size_t len, argv_len = 0;
	struct stat st;
	pid_t inner;
	int r;

	*ret = NULL;
	/* Anyone can put a file there: a FIFO, a link, a huge file is no
	 * postmaster.pid. */
	if (procfs_read_file(pfd, e->pid, "cwd/postmaster.pid", PMPID_MAX, &buf, &len, &st) < 0)
		return 0;
	r = pmpid_parse(buf, len, &pm);
	free(buf);
	buf = NULL;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	/* Its own pid, or its own pid as seen inside a container. */
	if (pm.pid != e->pid &&
	    !(procfs_inner_pid(pfd, e->pid, &inner) == 0 && inner == pm.pid && inner != e->pid)) {
		pmpid_clear(&pm);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		pmpid_clear(&pm);
		return -ENOMEM;
	}
	c->pid = e->pid;
	c->start_ticks = e->start_ticks;
	c->data_dir = pm.data_dir;
	c->port = pm.port;
	c->socket_dir = pm.socket_dir;
	c->listen_addr = pm.listen_addr;
	c->status = pm.status;
	pm.data_dir = pm.socket_dir = pm.listen_addr = pm.status = NULL;
	pmpid_clear(&pm);
	c->owner_uid = (uid_t)-1;
	c->owner_gid = (gid_t)-1;
	c->max_connections = c->su_reserved = c->reserved = -1;
	set_namespaces(pfd, c);
	if ((r = set_container(pfd, c)) < 0)
		goto fail;
	if ((r = verify_postmaster(pfd, c, &st, &x.rootfd, &c->unverified)) < 0)
		goto fail;
	if (c->unverified) {
		if (procfs_stat(pfd, e->pid, "cwd", &st) == 0)
			set_owner_name(c, st.st_uid);
		*ret = c;
		return 2;
	}
	x.uid = c->owner_uid;
	x.gid = c->owner_gid;
	if (c->ns_own & (NS_MNT | NS_USER)) {
		/* its own files, its own users: named as the server names them */
		uid_t in_uid = c->owner_uid;
		if (!(c->ns_own & NS_USER) || procfs_uid_inside(pfd, c->pid, c->owner_uid, &in_uid) == 0)
			set_owner_name_in(c, &x, in_uid);
	} else {
		set_owner_name(c, c->owner_uid);
	}
	if (procfs_read_file(pfd, e->pid, "cwd/PG_VERSION", 64, &buf, &len, NULL) == 0) {
		c->version = trim_dup(buf);
		free(buf);
		buf = NULL;
	}

	procfs_read(pfd, e->pid, "cmdline", 1 << 16, &argv, &argv_len);
	if ((r = postmaster_setting(&x, c, argv ? argv : "", argv ? argv_len : 0, "hba_file", &hba)) < 0 ||
	    (r = hba_from_settings(c, &hba, &c->hba_file, &c->hba_conflict)) < 0)
		goto fail;
	if ((r = postmaster_setting(&x, c, argv ? argv : "", argv ? argv_len : 0, "cluster_name", &name)) < 0)
		goto fail;
	{
		char **v = name.argv ? &name.argv : name.autoconf ? &name.autoconf : &name.conf;
		if (*v && **v) {
			c->cluster_name = *v;
			*v = NULL;
		}
	}
	if ((r = read_slots(&x, c, argv ? argv : "", argv ? argv_len : 0)) < 0)
		goto fail;
	setting_clear(&hba);
	setting_clear(&name);
	free(argv);
	close(x.rootfd);
	*ret = c;
	return 1;
fail:
	setting_clear(&hba);
	setting_clear(&name);
	free(argv);
	if (x.rootfd >= 0)
		close(x.rootfd);
	cluster_free(c);
	return r;
}
