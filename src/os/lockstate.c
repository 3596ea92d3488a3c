/* SPDX-License-Identifier: MIT */
/*
 * lockstate.c -- the state directory and the atomic file replace (see
 * lockstate.h).  state.json is written with json-c and replaced like any
 * other file; the lock is flock(2) on ROOT/NAME/lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgevict/lockstate.h"

/* The names of the state directory of a data directory: "/srv/pg-main"
 * -> "srv-pg_main" (the old name, before 0.2: '/' -> '-', other bytes but
 * [A-Za-z0-9._] -> '_', so /srv/pg-main and /srv/pg_main shared one), and
 * the name used now, that prefix (at most LOCKDIR_PREFIX_MAX bytes) plus
 * '.' and the first 16 hex digits of the SHA-256 of the whole path:
 * "srv-pg_main.3f2a9c1e5b7d4a60", one per path. */
#define LOCKDIR_PREFIX_MAX 64

static char *old_dir_name(const char *data_dir)
{
	char *s = malloc(strlen(data_dir) + 2), *o = s;
	const char *p;

	if (!s)
		return NULL;
	for (p = data_dir; *p; p++) {
		if (*p == '/') {
			if (o > s && o[-1] != '-')
				*o++ = '-';
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			   *p == '.' || *p == '_') {
			*o++ = *p;
		} else {
			*o++ = '_';
		}
	}
	while (o > s && o[-1] == '-')
		o--;
	if (o == s)
		*o++ = '_';
	*o = '\0';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

char *lockdir_name(const char *data_dir)
{
	char *prefix = old_dir_name(data_dir), *name = NULL, sha[SHA256_HEX_LEN];

	if (!prefix)
		return NULL;
	if (strlen(prefix) > LOCKDIR_PREFIX_MAX)
		prefix[LOCKDIR_PREFIX_MAX] = '\0';
	sha256_hex(data_dir, strlen(data_dir), sha);
	if (asprintf(&name, "%s.%.16s", prefix, sha) < 0)
		name = NULL;
	free(prefix);
	return name;
}

static int load_path(const char *path, struct lockstate *ret);

/* A state directory of the old naming ("ROOT/OLD") with a lockdown in
 * force for exactly DATA_DIR is moved to its new name (renameat2
 * RENAME_NOREPLACE: never over a directory made meanwhile), so that an
 * upgrade in the middle of a lockdown can still unlock it; its flock, if
 * a run holds one, moves with the inode.  An old directory whose
 * state.json names another data directory (two that shared the old name)
 * is never used.  0 (moved or nothing to move) or -errno. */
static int adopt_old(const char *root, const char *data_dir, const char *new_path)
{
	struct lockstate s;
	char *old = old_dir_name(data_dir), *old_path = NULL, *state = NULL;
	int r = 0;

	memset(&s, 0, sizeof(s));
	if (!old || asprintf(&old_path, "%s/%s", root, old) < 0 ||
	    asprintf(&state, "%s/%s/state.json", root, old) < 0) {
		old_path = state = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (load_path(state, &s) < 0 || !s.data_dir || strcmp(s.data_dir, data_dir) != 0)
		goto out;
	if (renameat2(AT_FDCWD, old_path, AT_FDCWD, new_path, RENAME_NOREPLACE) < 0 && errno != EEXIST &&
	    errno != ENOENT)
		r = -errno;
out:
	lockstate_clear(&s);
	free(old);
	free(old_path);
	free(state);
	return r;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *copy = strdup(path), *p;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return r;
}

int lockdir_open(const char *root, const char *data_dir, bool create, bool exclusive,
		 struct lockdir *ret, bool *ret_busy)
{
	struct lockdir d = { NULL, -1 };
	char *name = lockdir_name(data_dir), *lock = NULL;
	struct stat st;
	int r = 0, fd;

	if (ret_busy)
		*ret_busy = false;
	if (!name || asprintf(&d.path, "%s/%s", root, name) < 0) {
		d.path = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (stat(d.path, &st) < 0 && errno == ENOENT && (r = adopt_old(root, data_dir, d.path)) < 0)
		goto out;
	if (stat(d.path, &st) < 0) {
		if (errno != ENOENT || !create) {
			r = -errno;
			goto out;
		}
		if ((r = mkdir_p(d.path, 0700)) < 0)
			goto out;
	}
	if (asprintf(&lock, "%s/lock", d.path) < 0) {
		lock = NULL;
		r = -ENOMEM;
		goto out;
	}
	fd = open(lock, (exclusive ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == ENOENT && !exclusive) {
			/* nothing ever locked it */
			*ret = d;
			d.path = NULL;
			goto out;
		}
		r = -errno;
		goto out;
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		r = -errno;
		close(fd);
		if (r == -EWOULDBLOCK && !exclusive) {
			if (ret_busy)
				*ret_busy = true;
			r = 0;
			*ret = d;
			d.path = NULL;
		}
		goto out;
	}
	if (!exclusive) {
		close(fd);           /* only looked */
		fd = -1;
	}
	d.lock_fd = fd;
	*ret = d;
	d.path = NULL;
out:
	free(d.path);
	free(name);
	free(lock);
	return r == -EWOULDBLOCK ? -EAGAIN : r;
}

void lockdir_close(struct lockdir *d)
{
	if (!d)
		return;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->path);
	d->path = NULL;
	d->lock_fd = -1;
}

static char *in_dir(const struct lockdir *d, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", d->path, name) < 0 ? NULL : p;
}

static json_object *strs_json(char **v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *items_json(const struct lock_item *v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "was", json_object_new_boolean(v[i].was));
		json_object_object_add(o, "applied", json_object_new_boolean(v[i].applied));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *names_json(const struct lock_item *v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i].name));
	return a;
}

json_object *lockstate_options_json(const struct lockstate *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "total", json_object_new_boolean(s->total));
	json_object_object_add(o, "allow_role", strs_json(s->allow_roles, s->nallow_roles));
	json_object_object_add(o, "allow_host", strs_json(s->allow_hosts, s->nallow_hosts));
	json_object_object_add(o, "role", names_json(s->roles, s->nroles));
	json_object_object_add(o, "database", names_json(s->dbs, s->ndbs));
	return o;
}

int lockstate_save(const struct lockdir *d, const struct lockstate *s)
{
	json_object *o = json_object_new_object();
	const char *text;
	char *path = in_dir(d, "state.json");
	int r;

	if (!o || !path) {
		json_object_put(o);
		free(path);
		return -ENOMEM;
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "phase", json_object_new_string(s->phase));
	json_object_object_add(o, "since_us", json_object_new_int64(s->since_us));
	json_object_object_add(o, "data_dir", json_object_new_string(s->data_dir ? s->data_dir : ""));
	json_object_object_add(o, "hba_file", json_object_new_string(s->hba_file ? s->hba_file : ""));
	json_object_object_add(o, "file_locked", json_object_new_boolean(s->file_locked));
	if (s->hba_dir_known) {
		json_object_object_add(o, "hba_dir_dev", json_object_new_int64((int64_t)s->hba_dir_dev));
		json_object_object_add(o, "hba_dir_ino", json_object_new_int64((int64_t)s->hba_dir_ino));
	}
	json_object_object_add(o, "mode", json_object_new_int((int)s->mode));
	json_object_object_add(o, "uid", json_object_new_int64(s->uid));
	json_object_object_add(o, "gid", json_object_new_int64(s->gid));
	json_object_object_add(o, "original_sha256", json_object_new_string(s->original_sha));
	json_object_object_add(o, "lockdown_sha256", json_object_new_string(s->lockdown_sha));
	json_object_object_add(o, "total", json_object_new_boolean(s->total));
	json_object_object_add(o, "allow_role", strs_json(s->allow_roles, s->nallow_roles));
	json_object_object_add(o, "allow_host", strs_json(s->allow_hosts, s->nallow_hosts));
	json_object_object_add(o, "probe_host", json_object_new_string(s->probe_host));
	json_object_object_add(o, "probe_before", json_object_new_int(s->probe_before));
	json_object_object_add(o, "proven", json_object_new_boolean(s->proven));
	json_object_object_add(o, "roles", items_json(s->roles, s->nroles));
	json_object_object_add(o, "databases", items_json(s->dbs, s->ndbs));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = text ? file_replace(path, text, strlen(text), 0600, geteuid(), getegid()) : -ENOMEM;
	json_object_put(o);
	free(path);
	return r;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *key, bool *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = false;
		return 0;
	}
	return json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key, bool *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean)) {
		*ok = false;
		return false;
	}
	return json_object_get_boolean(v);
}

static int load_strs(json_object *o, const char *key, char ***ret, size_t *ret_n)
{
	json_object *a;
	size_t i, n;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	n = json_object_array_length(a);
	*ret = calloc(n ? n : 1, sizeof(char *));
	if (!*ret)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return -EINVAL;
		(*ret)[i] = strdup(json_object_get_string(v));
		if (!(*ret)[i])
			return -ENOMEM;
		(*ret_n)++;
	}
	return 0;
}

static int load_items(json_object *o, const char *key, struct lock_item **ret, size_t *ret_n)
{
	json_object *a;
	size_t i, n;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	n = json_object_array_length(a);
	*ret = calloc(n ? n : 1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		const char *name = jstr(v, "name");
		bool ok = true;

		if (!name)
			return -EINVAL;
		(*ret)[i].was = jbool(v, "was", &ok);
		(*ret)[i].applied = jbool(v, "applied", &ok);
		if (!ok)
			return -EINVAL;
		(*ret)[i].name = strdup(name);
		if (!(*ret)[i].name)
			return -ENOMEM;
		(*ret_n)++;
	}
	return 0;
}

int lockstate_load(const struct lockdir *d, struct lockstate *ret)
{
	char *path = in_dir(d, "state.json");
	int r;

	if (!path)
		return -ENOMEM;
	r = load_path(path, ret);
	free(path);
	return r;
}

static int load_path(const char *path, struct lockstate *ret)
{
	struct lockstate s;
	json_object *o = NULL;
	char *text = NULL;
	const char *v;
	size_t len;
	bool ok = true;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = file_read_all(path, 0, &text, &len, NULL)) < 0)
		goto out;
	o = json_tokener_parse(text);
	r = -EINVAL;
	if (!o || !json_object_is_type(o, json_type_object) || jint(o, "version", &ok) != 1)
		goto out;
	if (!(v = jstr(o, "phase")) || strlen(v) >= sizeof(s.phase))
		goto out;
	strcpy(s.phase, v);
	s.since_us = jint(o, "since_us", &ok);
	s.file_locked = jbool(o, "file_locked", &ok);
	s.mode = (mode_t)jint(o, "mode", &ok);
	s.uid = (uid_t)jint(o, "uid", &ok);
	s.gid = (gid_t)jint(o, "gid", &ok);
	s.total = jbool(o, "total", &ok);
	s.probe_before = (int)jint(o, "probe_before", &ok);
	s.proven = jbool(o, "proven", &ok);
	if (!ok)
		goto out;
	/* absent in a state written before 0.2 */
	if (json_object_object_get_ex(o, "hba_dir_dev", NULL) || json_object_object_get_ex(o, "hba_dir_ino", NULL)) {
		s.hba_dir_dev = (dev_t)jint(o, "hba_dir_dev", &ok);
		s.hba_dir_ino = (ino_t)jint(o, "hba_dir_ino", &ok);
		s.hba_dir_known = true;
		if (!ok)
			goto out;
	}
	if (!(v = jstr(o, "original_sha256")) || strlen(v) >= SHA256_HEX_LEN)
		goto out;
	strcpy(s.original_sha, v);
	if (!(v = jstr(o, "lockdown_sha256")) || strlen(v) >= SHA256_HEX_LEN)
		goto out;
	strcpy(s.lockdown_sha, v);
	if (!(v = jstr(o, "probe_host")) || strlen(v) >= sizeof(s.probe_host))
		goto out;
	strcpy(s.probe_host, v);
	if (!(v = jstr(o, "data_dir")) || !(s.data_dir = strdup(v)))
		goto out;
	if (!(v = jstr(o, "hba_file")) || !(s.hba_file = strdup(v)))
		goto out;
	if ((r = load_strs(o, "allow_role", &s.allow_roles, &s.nallow_roles)) < 0 ||
	    (r = load_strs(o, "allow_host", &s.allow_hosts, &s.nallow_hosts)) < 0 ||
	    (r = load_items(o, "roles", &s.roles, &s.nroles)) < 0 ||
	    (r = load_items(o, "databases", &s.dbs, &s.ndbs)) < 0)
		goto out;
	*ret = s;
	memset(&s, 0, sizeof(s));
	r = 0;
out:
	lockstate_clear(&s);
	json_object_put(o);
	free(text);
	return r;
}

int lockstate_remove(const struct lockdir *d)
{
	char *state = in_dir(d, "state.json"), *orig = in_dir(d, "original");
	int r = 0;

	if (!state || !orig) {
		r = -ENOMEM;
		goto out;
	}
	if (unlink(state) < 0 && errno != ENOENT) {
		r = -errno;
		goto out;
	}
	if ((r = fsync_dir_of(state)) < 0)
		goto out;
	if (unlink(orig) < 0 && errno != ENOENT)
		r = -errno;
out:
	free(state);
	free(orig);
	return r;
}

int lockstate_save_original(const struct lockdir *d, const void *data, size_t len)
{
	char *path = in_dir(d, "original");
	int r;

	if (!path)
		return -ENOMEM;
	r = file_replace(path, data, len, 0600, geteuid(), getegid());
	free(path);
	return r;
}

int lockstate_read_original(const struct lockdir *d, char **ret, size_t *ret_len)
{
	char *path = in_dir(d, "original");
	int r;

	if (!path)
		return -ENOMEM;
	r = file_read_all(path, 0, ret, ret_len, NULL);
	free(path);
	return r;
}

int lockstate_keep_displaced(const struct lockdir *d, const void *data, size_t len, char **ret_path)
{
	char name[64];
	char *path;
	struct timespec ts;
	int r;

	/* to the nanosecond: two in one second never overwrite each other */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), "displaced-%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
	path = in_dir(d, name);
	if (!path)
		return -ENOMEM;
	r = file_replace(path, data, len, 0600, geteuid(), getegid());
	if (r < 0) {
		free(path);
		return r;
	}
	*ret_path = path;
	return 0;
}
